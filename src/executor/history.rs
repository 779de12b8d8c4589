//! Operation history: the result of every action, as the controller will
//! publish it (Pacemaker's lrm_rsc_op: call id, rc, last-rc-change, exec time).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
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
    /// Records made, and how many of them a finished save covered.
    recorded: u64,
    saved: u64,
    /// A thread is saving (outside the lock) what was recorded then.
    saving: bool,
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
/// Saves are grouped: one caller saves, outside the lock, everything
/// recorded so far while the others wait for a save that covers theirs.
/// Saving the whole history once per record (thousands of probes at once,
/// each serialising thousands of records) kept a core busy and starved the
/// event loop of a two-core node (issue 15).
#[derive(Debug, Default)]
pub struct OpHistory {
    inner: Mutex<Inner>,
    /// Signalled when a save finishes.
    saved: Condvar,
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
            saved: Condvar::new(),
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
        inner.recorded += 1;
        if let Some(file) = &self.file {
            let mine = inner.recorded;
            self.save_through(file, inner, mine);
        }
        rec
    }

    /// Returns once a save covering record number `mine` is done: saves
    /// itself when no other caller is saving, else waits for that save
    /// (and saves next if it did not cover `mine`).
    fn save_through<'a>(&'a self, file: &Path, mut inner: MutexGuard<'a, Inner>, mine: u64) {
        while inner.saved < mine {
            if inner.saving {
                inner = self.saved.wait(inner).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            inner.saving = true;
            let covers = inner.recorded;
            let snapshot = Saved {
                next_call_id: inner.next_call_id,
                records: inner.latest.values().cloned().collect(),
            };
            drop(inner);
            let result = persist::save(file, &snapshot).err().map(|e| e.to_string());
            inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.saving = false;
            inner.saved = covers;
            inner.last_save_error = result;
            self.saved.notify_all();
        }
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

    /// Records made at once from many threads are all saved, each before
    /// its `record` returns.
    #[test]
    fn concurrent_records_are_all_saved() {
        let dir = std::env::temp_dir().join(format!("plhistc{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("op-history.json");
        let h = std::sync::Arc::new(OpHistory::open(&file).unwrap());
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let h = h.clone();
                let file = file.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let resource = format!("r{t}-{i}");
                        let rec = h.record(OpResult {
                            resource: &resource,
                            action: "monitor",
                            interval: Duration::ZERO,
                            rc: 7,
                            timed_out: false,
                            exec_time: Duration::ZERO,
                            exit_reason: None,
                        });
                        let saved: Saved = persist::load(&file).unwrap().unwrap();
                        assert!(saved.records.contains(&rec), "{resource} not saved yet");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(h.last_save_error().is_none());
        let saved: Saved = persist::load(&file).unwrap().unwrap();
        assert_eq!(saved.records.len(), 160);
        assert_eq!(saved.next_call_id, 160);
        let _ = std::fs::remove_dir_all(&dir);
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
