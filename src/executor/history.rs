//! Operation history: the result of every action, as the controller will
//! publish it (Pacemaker's lrm_rsc_op: call id, rc, last-rc-change, exec time).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
}

/// Thread-safe history shared by the executor, its monitors and readers.
#[derive(Debug, Default)]
pub struct OpHistory {
    inner: Mutex<Inner>,
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
}
