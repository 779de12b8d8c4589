//! Operation history: the result of every action, as the controller will
//! publish it (Pacemaker's lrm_rsc_op: call id, rc, last-rc-change, exec time).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::store::persist::{self, PersistError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpRecord {
    pub call_id: u64,
    pub resource: String,
    pub action: String,
    pub interval_ms: u64,
    pub rc: i32,
    pub timed_out: bool,
    /// Unix seconds of the run.
    pub last_run: u64,
    /// Unix seconds when this operation's rc last differed from the previous run.
    pub last_rc_change: u64,
    pub exec_time_ms: u64,
    pub exit_reason: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    next_call_id: u64,
    /// Latest record per (resource, action, interval), as Pacemaker keeps it.
    latest: BTreeMap<(String, String, u64), OpRecord>,
    last_save_error: Option<String>,
}

/// What is kept on disk: the records and the call-id counter, so call ids
/// keep increasing across restarts (the controller orders results by them).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Saved {
    pub(crate) next_call_id: u64,
    pub(crate) records: Vec<OpRecord>,
}

/// Thread-safe history shared by the executor, its monitors and readers.
/// With a file, every new record is saved atomically (write, fsync, rename)
/// before `record` returns, so a restarted node still knows what ran.
#[derive(Debug, Default)]
pub struct OpHistory {
    inner: Mutex<Inner>,
    file: Option<PathBuf>,
}

pub struct OpResult<'a> {
    pub resource: &'a str,
    pub action: &'a str,
    pub interval: Duration,
    pub rc: i32,
    pub timed_out: bool,
    pub exec_time: Duration,
    pub exit_reason: Option<String>,
}

impl OpHistory {
    pub fn new() -> Self {
        Self::default()
    }

    /// A history persisted in `file`, loaded if it exists. A corrupt file
    /// is an error (it is kept aside by the loader), never silently reset.
    pub fn open(file: &Path) -> Result<Self, PersistError> {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| PersistError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut inner = Inner::default();
        if let Some(saved) = persist::load::<Saved>(file)? {
            inner.next_call_id = saved.next_call_id;
            for r in saved.records {
                inner
                    .latest
                    .insert((r.resource.clone(), r.action.clone(), r.interval_ms), r);
            }
        }
        Ok(Self {
            inner: Mutex::new(inner),
            file: Some(file.to_path_buf()),
        })
    }

    /// Why the last save failed, if it did (the record itself is kept in
    /// memory and the next save retries).
    pub fn last_save_error(&self) -> Option<String> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.last_save_error.clone()
    }

    /// Records a result and returns it with its call id.
    pub fn record(&self, r: OpResult<'_>) -> OpRecord {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.next_call_id += 1;
        let key = (
            r.resource.to_string(),
            r.action.to_string(),
            r.interval.as_millis() as u64,
        );
        let last_rc_change = match inner.latest.get(&key) {
            Some(prev) if prev.rc == r.rc && prev.timed_out == r.timed_out => prev.last_rc_change,
            _ => now,
        };
        let rec = OpRecord {
            call_id: inner.next_call_id,
            resource: key.0.clone(),
            action: key.1.clone(),
            interval_ms: key.2,
            rc: r.rc,
            timed_out: r.timed_out,
            last_run: now,
            last_rc_change,
            exec_time_ms: r.exec_time.as_millis() as u64,
            exit_reason: r.exit_reason,
        };
        inner.latest.insert(key, rec.clone());
        if let Some(file) = &self.file {
            let saved = Saved {
                next_call_id: inner.next_call_id,
                records: inner.latest.values().cloned().collect(),
            };
            inner.last_save_error = persist::save(file, &saved).err().map(|e| e.to_string());
        }
        rec
    }

    /// Every latest record, ordered by resource, action and interval.
    pub fn records(&self) -> Vec<OpRecord> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.latest.values().cloned().collect()
    }

    pub fn for_resource(&self, resource: &str) -> Vec<OpRecord> {
        self.records()
            .into_iter()
            .filter(|r| r.resource == resource)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_increase_and_rc_change_is_kept() {
        let h = OpHistory::new();
        let op = |rc| OpResult {
            resource: "r",
            action: "monitor",
            interval: Duration::from_secs(10),
            rc,
            timed_out: false,
            exec_time: Duration::from_millis(3),
            exit_reason: None,
        };
        let a = h.record(op(0));
        let b = h.record(op(0));
        assert!(b.call_id > a.call_id);
        assert_eq!(b.last_rc_change, a.last_rc_change);
        assert_eq!(h.records().len(), 1);
    }

    #[test]
    fn a_persisted_history_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("plhist{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("op-history.json");
        let op = |rc| OpResult {
            resource: "db",
            action: "monitor",
            interval: Duration::from_secs(10),
            rc,
            timed_out: false,
            exec_time: Duration::from_millis(3),
            exit_reason: Some("why".into()),
        };
        let first = {
            let h = OpHistory::open(&file).unwrap();
            h.record(op(7));
            let r = h.record(op(0));
            assert!(h.last_save_error().is_none(), "{:?}", h.last_save_error());
            r
        };
        let h = OpHistory::open(&file).unwrap();
        assert_eq!(h.records(), vec![first.clone()]);
        let next = h.record(op(0));
        assert!(
            next.call_id > first.call_id,
            "call ids continue after a restart"
        );
        assert_eq!(next.last_rc_change, first.last_rc_change);
        assert!(h.last_save_error().is_none());
        std::fs::write(&file, "{ not json").unwrap();
        assert!(OpHistory::open(&file).is_err(), "corruption is reported");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
