//! What one node's executor knows it did, for the DC (Pacemaker's join: a
//! new DC learns what runs on each member from the member's own executor,
//! instead of probing resources the member already reported).
//!
//! Sans-IO and generic over who sent a request (`O`: the daemon's channel
//! origin, the simulator's node number). The daemon's executor service and
//! the simulator's nodes keep one each, so both answer a DC the same way.
//!
//! Once a node has reported to a DC it accepts requests only from that DC:
//! a request of the previous DC that arrives after the report would run
//! something the new DC does not know about. Everything accepted before the
//! report is in it, done or pending.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ActionRequest, ActionResult};
use crate::model::NodeId;
use crate::scheduler::transition::primitive_of;

/// A node's answer to `Command::RequestReport`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    pub node: NodeId,
    /// The latest result of each operation (per primitive, operation and
    /// interval), oldest first: the order the node obtained them.
    pub results: Vec<ActionResult>,
    /// One-shot operations accepted and not answered yet (running or
    /// waiting for their resource), in the order they were accepted.
    pub pending: Vec<ActionRequest>,
}

#[derive(Debug, Clone)]
pub struct Ledger<O> {
    seq: u64,
    latest: BTreeMap<(String, String, u64), (u64, ActionResult)>,
    pending: BTreeMap<(O, u64), (u64, ActionRequest)>,
    follows: Option<O>,
}

impl<O: Ord + Clone> Default for Ledger<O> {
    fn default() -> Self {
        Ledger {
            seq: 0,
            latest: BTreeMap::new(),
            pending: BTreeMap::new(),
            follows: None,
        }
    }
}

impl<O: Ord + Clone> Ledger<O> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The DC this node last reported to.
    pub fn follows(&self) -> Option<&O> {
        self.follows.as_ref()
    }

    /// Whether a request from `from` may run here: before any report,
    /// anyone's; after one, only the DC that got it.
    pub fn accepts(&self, from: &O) -> bool {
        self.follows.as_ref().is_none_or(|dc| dc == from)
    }

    /// A one-shot request was accepted (it runs, or waits for its turn).
    pub fn accepted(&mut self, from: O, req: &ActionRequest) {
        if req.interval_ms > 0 {
            return;
        }
        self.seq += 1;
        self.pending
            .entry((from, req.id))
            .or_insert((self.seq, req.clone()));
    }

    /// A result was obtained: the answer to `from`'s request `result.id`,
    /// or a change a recurring monitor found.
    pub fn finished(&mut self, from: O, result: &ActionResult) {
        if result.interval_ms == 0 {
            self.pending.remove(&(from, result.id));
        }
        if result.operation == "notify" {
            // Tells the resource nothing about its state.
            return;
        }
        let primitive = primitive_of(&result.instance).to_string();
        if result.operation == "monitor" && result.interval_ms == 0 {
            // A probe is the whole truth about the resource here (it follows
            // a cleanup, which made the DC forget everything before it).
            self.latest.retain(|(p, _, _), _| *p != primitive);
        }
        self.seq += 1;
        self.latest.insert(
            (primitive, result.operation.clone(), result.interval_ms),
            (self.seq, result.clone()),
        );
    }

    /// What this node did, for the DC `to`; from now on only `to`'s
    /// requests are accepted.
    pub fn report(&mut self, node: &str, to: O) -> NodeReport {
        self.follows = Some(to);
        let mut results: Vec<&(u64, ActionResult)> = self.latest.values().collect();
        results.sort_by_key(|(seq, _)| *seq);
        let mut pending: Vec<&(u64, ActionRequest)> = self.pending.values().collect();
        pending.sort_by_key(|(seq, _)| *seq);
        NodeReport {
            node: node.to_string(),
            results: results.into_iter().map(|(_, r)| r.clone()).collect(),
            pending: pending.into_iter().map(|(_, r)| r.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: u64, instance: &str, op: &str, interval_ms: u64) -> ActionRequest {
        ActionRequest {
            id,
            node: "n1".into(),
            resource: primitive_of(instance).into(),
            instance: instance.into(),
            operation: op.into(),
            interval_ms,
            timeout_ms: 20_000,
            meta: Default::default(),
        }
    }

    fn done(r: &ActionRequest, rc: i32) -> ActionResult {
        ActionResult {
            id: r.id,
            node: r.node.clone(),
            resource: r.resource.clone(),
            instance: r.instance.clone(),
            operation: r.operation.clone(),
            interval_ms: r.interval_ms,
            rc,
            op_status: 0,
            output: String::new(),
            at: 0,
            exec_ms: 1,
        }
    }

    #[test]
    fn a_report_lists_the_latest_result_of_each_operation_in_order_and_what_is_pending() {
        let mut l: Ledger<u16> = Ledger::new();
        let probe = req(1, "vip", "monitor", 0);
        let start = req(2, "vip", "start", 0);
        let again = req(7, "vip", "start", 0);
        let fs = req(3, "fs", "start", 0);
        for r in [&probe, &start, &fs] {
            l.accepted(1, r);
        }
        l.finished(1, &done(&probe, 7));
        l.finished(1, &done(&start, 1));
        l.accepted(1, &again);
        l.finished(1, &done(&again, 0));
        let report = l.report("n1", 1);
        let got: Vec<(u64, i32)> = report.results.iter().map(|r| (r.id, r.rc)).collect();
        assert_eq!(
            got,
            vec![(1, 7), (7, 0)],
            "the first failed start was replaced"
        );
        assert_eq!(report.pending, vec![fs]);
    }

    #[test]
    fn after_a_report_only_that_dc_is_followed() {
        let mut l: Ledger<u16> = Ledger::new();
        assert!(l.accepts(&1) && l.accepts(&2));
        l.report("n1", 2);
        assert!(!l.accepts(&1));
        assert!(l.accepts(&2));
        assert_eq!(l.follows(), Some(&2));
    }

    #[test]
    fn a_probe_replaces_everything_known_of_its_primitive() {
        let mut l: Ledger<u16> = Ledger::new();
        let start = req(1, "db:1", "start", 0);
        let mon = req(2, "db:1", "monitor", 10_000);
        l.finished(1, &done(&start, 0));
        l.finished(1, &done(&mon, 0));
        let probe = req(3, "db", "monitor", 0);
        l.finished(1, &done(&probe, 7));
        let report = l.report("n1", 1);
        assert_eq!(report.results.len(), 1);
        assert_eq!(report.results[0].id, 3);
    }

    #[test]
    fn recurring_monitors_are_never_pending() {
        let mut l: Ledger<u16> = Ledger::new();
        l.accepted(1, &req(1, "vip", "monitor", 5_000));
        assert!(l.report("n1", 1).pending.is_empty());
    }
}
