//! How a `StatusPatch` changes the replicated status. The store, the daemon,
//! the simulator and the controller's own working copy all apply patches
//! through `apply_patch`, so every copy of the status evolves the same way.
//!
//! Patches are idempotent: an operation result is applied only if it is
//! newer (higher call id) than what the history holds for that operation,
//! so replaying a patch the document already reflects changes nothing (the
//! controller relies on that to keep its own not-yet-replicated patches).
//! A fencing event is applied only if its id is above every id its origin
//! has in the fencing history (ids increase per origin), for the same reason.

use crate::model::{
    ClusterStatus, FENCE_HISTORY_MAX, FenceEvent, NodeState, OpRecord, ResourceHistory, rc,
};

use super::{ActionResult, StatusPatch, TicketChange};

/// The store replicates the cluster status by these patches.
impl crate::store::Patchable for ClusterStatus {
    type Patch = StatusPatch;
    fn apply(&mut self, patch: &Self::Patch) {
        apply_patch(self, patch);
    }
}

/// Pacemaker's op-status values used here.
pub mod op_status {
    pub const DONE: i32 = 0;
    pub const CANCELLED: i32 = 1;
    pub const TIMED_OUT: i32 = 2;
    pub const ERROR: i32 = 4;
    pub const PENDING: i32 = -1;
}

/// The fail-count attribute of one operation, as Pacemaker names it.
pub fn fail_count_name(resource: &str, operation: &str, interval_ms: u64) -> String {
    format!("fail-count-{resource}#{operation}_{interval_ms}")
}

pub fn last_failure_name(resource: &str, operation: &str, interval_ms: u64) -> String {
    format!("last-failure-{resource}#{operation}_{interval_ms}")
}

fn base_of(id: &str) -> &str {
    crate::scheduler::transition::primitive_of(id)
}

/// Whether a result is still in flight (recorded so that a new DC knows an
/// operation may have happened).
pub fn is_pending(r: &ActionResult) -> bool {
    r.op_status == op_status::PENDING || r.rc == rc::PENDING
}

/// Whether a result is a failure: it counts towards the fail count and the
/// scheduler recovers from it. Probes may find any state (0, 7, 8);
/// recurring monitors may report running or running promoted.
pub fn is_failure(r: &ActionResult) -> bool {
    if is_pending(r) || r.op_status == op_status::CANCELLED {
        return false;
    }
    if r.op_status != op_status::DONE {
        return true;
    }
    match (r.operation.as_str(), r.interval_ms) {
        ("monitor", 0) => !matches!(r.rc, rc::OK | rc::NOT_RUNNING | rc::RUNNING_PROMOTED),
        ("monitor", _) => !matches!(r.rc, rc::OK | rc::RUNNING_PROMOTED),
        _ => r.rc != rc::OK,
    }
}

/// crm_ticket's changes of one ticket's state; a ticket first named is
/// created revoked.
fn change_ticket(status: &mut ClusterStatus, ticket: &str, change: TicketChange) -> bool {
    let t = status.tickets.entry(ticket.to_string()).or_default();
    let before = t.clone();
    match change {
        TicketChange::Grant { at } => {
            if !t.granted {
                t.last_granted = Some(at);
            }
            t.granted = true;
        }
        TicketChange::Revoke => t.granted = false,
        TicketChange::Standby => t.standby = true,
        TicketChange::Activate => t.standby = false,
    }
    *t != before
}

fn node_entry<'a>(status: &'a mut ClusterStatus, node: &str) -> &'a mut NodeState {
    if !status.node_order.iter().any(|n| n == node) {
        status.node_order.push(node.to_string());
    }
    let st = status.nodes.entry(node.to_string()).or_default();
    if st.uname.is_empty() {
        st.uname = node.to_string();
    }
    st
}

fn set<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        false
    } else {
        *slot = value;
        true
    }
}

fn membership(st: &mut NodeState, member: bool) -> bool {
    let mut changed = set(&mut st.has_state, true);
    changed |= set(&mut st.in_ccm, Some(member));
    let state = if member { "online" } else { "offline" };
    changed |= set(&mut st.crmd, Some(state.to_string()));
    let join = if member { "member" } else { "down" };
    changed |= set(&mut st.join, Some(join.to_string()));
    changed |= set(&mut st.expected, Some(join.to_string()));
    changed |= set(&mut st.unclean, false);
    changed
}

/// Records `r` in its node's history; a failure also counts towards the
/// fail count when `count_failure` says so.
fn record(status: &mut ClusterStatus, r: &ActionResult, count_failure: bool) -> bool {
    if r.op_status == op_status::CANCELLED {
        return false;
    }
    let st = node_entry(status, &r.node);
    let base = base_of(&r.instance);
    // One history per primitive and node: a probe recorded under the
    // primitive's id is the same resource as the clone instance started later.
    let pos = st
        .resources
        .iter()
        .position(|h| h.id == r.instance)
        .or_else(|| st.resources.iter().position(|h| base_of(&h.id) == base));
    let history = match pos {
        Some(i) => &mut st.resources[i],
        None => {
            st.resources.push(ResourceHistory {
                id: r.instance.clone(),
                class: None,
                provider: None,
                agent: None,
                container: None,
                ops: Vec::new(),
            });
            let last = st.resources.len() - 1;
            &mut st.resources[last]
        }
    };
    let call_id = i64::try_from(r.id).unwrap_or(i64::MAX);
    let existing = history
        .ops
        .iter()
        .position(|o| o.operation == r.operation && o.interval_ms == r.interval_ms);
    if let Some(i) = existing
        && history.ops[i].call_id >= call_id
    {
        return false;
    }
    if history.id != r.instance && r.instance != base {
        history.id = r.instance.clone();
    }
    let op = OpRecord {
        id: format!("{}_{}_{}", r.instance, r.operation, r.interval_ms),
        operation: r.operation.clone(),
        interval_ms: r.interval_ms,
        call_id,
        rc_code: r.rc,
        op_status: r.op_status,
        target_rc: None,
        last_rc_change: Some(r.at),
        last_run: Some(r.at),
        exec_time_ms: Some(r.exec_ms),
        queue_time_ms: None,
        on_node: Some(r.node.clone()),
        migrate_source: None,
        migrate_target: None,
        digest: None,
        exit_reason: (is_failure(r) && !r.output.trim().is_empty())
            .then(|| r.output.trim().to_string()),
    };
    match existing {
        Some(i) => history.ops[i] = op,
        None => history.ops.push(op),
    }
    if count_failure && is_failure(r) {
        let count = fail_count_name(&r.resource, &r.operation, r.interval_ms);
        let attrs = &mut st.transient_attributes;
        let next = match attrs.get(&count).map(String::as_str) {
            Some("INFINITY" | "+INFINITY") => "INFINITY".to_string(),
            Some(v) => (v.trim().parse::<i64>().unwrap_or(0).max(0) + 1).to_string(),
            None => "1".to_string(),
        };
        attrs.insert(count, next);
        attrs.insert(
            last_failure_name(&r.resource, &r.operation, r.interval_ms),
            r.at.to_string(),
        );
    }
    true
}

/// The id the node `origin` gives its next fencing event: above every id it
/// has in `status`'s history, and at least `wall` × 1000 (wall seconds),
/// so that a restarted controller whose document is not synced yet still
/// numbers above what it recorded before (unless the clock went back).
pub fn next_fence_id(status: &ClusterStatus, origin: &str, wall: i64) -> u64 {
    let seen = status
        .fencing_history
        .iter()
        .filter(|e| e.origin == origin)
        .map(|e| e.id)
        .max()
        .unwrap_or(0);
    let floor = u64::try_from(wall).unwrap_or(0).saturating_mul(1000);
    seen.saturating_add(1).max(floor)
}

/// Appends a fencing event. Consecutive failures of one origin on one
/// target with the same action are coalesced into the entry of the first
/// (attempts counted, the last one's time and words kept), which moves to
/// the end: the DC retries a failing device with back-off for as long as
/// it fails, and one entry per retry would push every other event out.
fn record_fence(status: &mut ClusterStatus, ev: &FenceEvent) -> bool {
    let history = &mut status.fencing_history;
    // Recorded already (alone or folded into a coalesced entry), or older
    // than what its origin recorded since.
    if history
        .iter()
        .any(|e| e.origin == ev.origin && e.id >= ev.id)
    {
        return false;
    }
    let last_for_target = history.iter().rposition(|e| e.target == ev.target);
    let entry = match last_for_target {
        Some(i)
            if !ev.ok
                && !history[i].ok
                && history[i].origin == ev.origin
                && history[i].action == ev.action =>
        {
            let mut e = history.remove(i);
            e.id = ev.id;
            e.attempts = e.attempts.saturating_add(ev.attempts.max(1));
            e.detail = ev.detail.clone();
            e.devices = ev.devices.clone();
            e.delegate = ev.delegate.clone();
            e.client = ev.client.clone();
            e.completed = ev.completed;
            e.elapsed_ms = ev.elapsed_ms;
            e
        }
        _ => ev.clone(),
    };
    history.push(entry);
    if history.len() > FENCE_HISTORY_MAX {
        let excess = history.len() - FENCE_HISTORY_MAX;
        history.drain(..excess);
    }
    true
}

/// Sets (`Some`) or removes (`None`) one attribute; whether it changed.
fn set_attribute(attrs: &mut crate::model::Attributes, name: &str, value: Option<&String>) -> bool {
    match value {
        Some(v) => attrs.insert(name.to_string(), v.clone()).as_ref() != Some(v),
        None => attrs.remove(name).is_some(),
    }
}

/// Applies one patch; returns whether the status changed.
pub fn apply_patch(status: &mut ClusterStatus, patch: &StatusPatch) -> bool {
    match patch {
        StatusPatch::OpResult(r) => record(status, r, true),
        StatusPatch::NodeJoined(node) => membership(node_entry(status, node), true),
        StatusPatch::NodeLeftCleanly(node) => {
            let st = node_entry(status, node);
            let mut changed = membership(st, false);
            if !st.resources.is_empty() {
                st.resources.clear();
                changed = true;
            }
            // Its daemon is gone, and what its agents and failures said with
            // it (Pacemaker erases a leaving node's transient attributes).
            if !st.transient_attributes.is_empty() {
                st.transient_attributes.clear();
                changed = true;
            }
            changed
        }
        StatusPatch::NodeFenced(outcome) => {
            if !outcome.ok {
                return false;
            }
            // Power was cut: nothing runs there and its transient state
            // (attributes, fail counts) went with it, as on a reboot.
            let st = node_entry(status, &outcome.target);
            let mut changed = membership(st, false);
            if !st.resources.is_empty() || !st.transient_attributes.is_empty() {
                st.resources.clear();
                st.transient_attributes.clear();
                changed = true;
            }
            changed
        }
        StatusPatch::FenceEvent(ev) => record_fence(status, ev),
        StatusPatch::Ticket { ticket, change } => change_ticket(status, ticket, *change),
        StatusPatch::Attribute { node, name, value } => {
            let attrs = &mut node_entry(status, node).transient_attributes;
            set_attribute(attrs, name, value.as_ref())
        }
        StatusPatch::PermanentAttribute { node, name, value } => {
            let attrs = status.permanent_attributes.entry(node.clone()).or_default();
            let changed = set_attribute(attrs, name, value.as_ref());
            if attrs.is_empty() {
                status.permanent_attributes.remove(node);
            }
            changed
        }
        StatusPatch::Cleanup { resource, node } => {
            let mut changed = false;
            let fail = format!("fail-count-{resource}");
            let last = format!("last-failure-{resource}");
            for (name, st) in status.nodes.iter_mut() {
                if node.as_ref().is_some_and(|n| n != name) {
                    continue;
                }
                let before = st.transient_attributes.len();
                st.transient_attributes.retain(|k, _| {
                    let named = |p: &str| k == p || k.starts_with(&format!("{p}#"));
                    !named(&fail) && !named(&last)
                });
                changed |= st.transient_attributes.len() != before;
                // Pacemaker forgets the history too, so the node is probed again.
                let before = st.resources.len();
                st.resources
                    .retain(|h| h.id != *resource && base_of(&h.id) != resource);
                changed |= st.resources.len() != before;
            }
            changed
        }
        StatusPatch::NodeHistory {
            node,
            from_call_id,
            results,
        } => {
            let from = i64::try_from(*from_call_id).unwrap_or(i64::MAX);
            let st = node_entry(status, node);
            let mut changed = false;
            for h in &mut st.resources {
                let before = h.ops.len();
                h.ops.retain(|o| o.call_id >= from);
                changed |= h.ops.len() != before;
            }
            let before = st.resources.len();
            st.resources.retain(|h| !h.ops.is_empty());
            changed |= st.resources.len() != before;
            for r in results.iter().filter(|r| r.node == *node) {
                changed |= record(status, r, false);
            }
            changed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::FenceOutcome;

    fn result(id: u64, op: &str, interval_ms: u64, rc: i32) -> ActionResult {
        ActionResult {
            id,
            node: "node1".into(),
            resource: "pgsql".into(),
            instance: "pgsql:0".into(),
            operation: op.into(),
            interval_ms,
            rc,
            op_status: 0,
            output: String::new(),
            at: 1_000,
            exec_ms: 5,
        }
    }

    #[test]
    fn a_node_history_replaces_older_records_keeps_fail_counts_and_replays_as_a_no_op() {
        let mut s = ClusterStatus::default();
        apply_patch(&mut s, &StatusPatch::OpResult(result(10, "start", 0, 1)));
        apply_patch(
            &mut s,
            &StatusPatch::OpResult(result(11, "start", 0, rc::PENDING)),
        );
        let count = fail_count_name("pgsql", "start", 0);
        assert_eq!(s.nodes["node1"].transient_attributes[&count], "1");
        // The node ran the start (ok) and a monitor; the pending record of a
        // start it never got is gone with the rest before call id 20.
        let report = StatusPatch::NodeHistory {
            node: "node1".into(),
            from_call_id: 20,
            results: vec![result(20, "start", 0, 0), result(21, "monitor", 10_000, 1)],
        };
        assert!(apply_patch(&mut s, &report));
        let ops = &s.nodes["node1"].resources[0].ops;
        let got: Vec<(i64, &str, i32)> = ops
            .iter()
            .map(|o| (o.call_id, o.operation.as_str(), o.rc_code))
            .collect();
        assert_eq!(got, vec![(20, "start", 0), (21, "monitor", 1)]);
        assert_eq!(
            s.nodes["node1"].transient_attributes[&count], "1",
            "reported failures are not counted again"
        );
        assert!(
            !s.nodes["node1"]
                .transient_attributes
                .contains_key(&fail_count_name("pgsql", "monitor", 10_000))
        );
        // Later results survive a replay of the report.
        apply_patch(&mut s, &StatusPatch::OpResult(result(30, "stop", 0, 0)));
        assert!(!apply_patch(&mut s, &report));
        assert_eq!(s.nodes["node1"].resources[0].ops.len(), 3);
    }

    #[test]
    fn a_failure_keeps_what_the_agent_said_a_success_does_not() {
        let mut s = ClusterStatus::default();
        let mut failed = result(10, "start", 0, 1);
        failed.output = "My data may be inconsistent.\n".into();
        apply_patch(&mut s, &StatusPatch::OpResult(failed));
        let op = &s.nodes["node1"].resources[0].ops[0];
        assert_eq!(
            op.exit_reason.as_deref(),
            Some("My data may be inconsistent.")
        );
        let mut ok = result(11, "start", 0, 0);
        ok.output = "started".into();
        apply_patch(&mut s, &StatusPatch::OpResult(ok));
        assert_eq!(s.nodes["node1"].resources[0].ops[0].exit_reason, None);
    }

    #[test]
    fn an_empty_node_history_forgets_the_nodes_resources() {
        let mut s = ClusterStatus::default();
        apply_patch(&mut s, &StatusPatch::OpResult(result(10, "start", 0, 0)));
        let report = StatusPatch::NodeHistory {
            node: "node1".into(),
            from_call_id: 20,
            results: Vec::new(),
        };
        assert!(apply_patch(&mut s, &report));
        assert!(s.nodes["node1"].resources.is_empty());
    }

    #[test]
    fn results_are_idempotent_and_failures_count_once() {
        let mut s = ClusterStatus::default();
        assert!(apply_patch(
            &mut s,
            &StatusPatch::OpResult(result(1, "start", 0, 0))
        ));
        let fail = StatusPatch::OpResult(result(2, "monitor", 10_000, 7));
        assert!(apply_patch(&mut s, &fail));
        assert!(
            !apply_patch(&mut s, &fail),
            "a replayed result changes nothing"
        );
        let st = &s.nodes["node1"];
        assert_eq!(st.fail_count("pgsql"), 1);
        assert_eq!(
            st.transient_attributes["fail-count-pgsql#monitor_10000"],
            "1"
        );
        assert_eq!(st.last_failure("pgsql"), Some(1_000));
        // An older record never replaces a newer one.
        assert!(!apply_patch(
            &mut s,
            &StatusPatch::OpResult(result(0, "start", 0, 1))
        ));
        assert!(apply_patch(
            &mut s,
            &StatusPatch::OpResult(result(3, "monitor", 10_000, 7))
        ));
        assert_eq!(s.nodes["node1"].fail_count("pgsql"), 2);
    }

    #[test]
    fn a_probe_and_the_later_instance_share_one_history() {
        let mut s = ClusterStatus::default();
        let mut probe = result(1, "monitor", 0, 7);
        probe.instance = "pgsql".into();
        apply_patch(&mut s, &StatusPatch::OpResult(probe));
        apply_patch(&mut s, &StatusPatch::OpResult(result(2, "start", 0, 0)));
        let st = &s.nodes["node1"];
        assert_eq!(st.resources.len(), 1);
        assert_eq!(st.resources[0].id, "pgsql:0");
        assert_eq!(st.resources[0].ops.len(), 2);
        assert_eq!(
            st.fail_count("pgsql"),
            0,
            "a probe finding nothing is no failure"
        );
    }

    #[test]
    fn fencing_and_clean_leave_erase_what_ran_there() {
        let mut s = ClusterStatus::default();
        apply_patch(&mut s, &StatusPatch::NodeJoined("node1".into()));
        assert_eq!(s.nodes["node1"].expected.as_deref(), Some("member"));
        apply_patch(&mut s, &StatusPatch::OpResult(result(1, "start", 0, 1)));
        let fenced = StatusPatch::NodeFenced(FenceOutcome {
            target: "node1".into(),
            ok: true,
            detail: String::new(),
            at: 5,
            action: "off".into(),
            devices: Vec::new(),
        });
        assert!(apply_patch(&mut s, &fenced));
        let st = &s.nodes["node1"];
        assert!(st.resources.is_empty() && st.transient_attributes.is_empty());
        assert_eq!(st.in_ccm, Some(false));
        assert_eq!(st.expected.as_deref(), Some("down"));
        assert!(!apply_patch(&mut s, &fenced));
        let failed = StatusPatch::NodeFenced(FenceOutcome {
            target: "node2".into(),
            ok: false,
            detail: String::new(),
            at: 5,
            action: "off".into(),
            devices: Vec::new(),
        });
        assert!(
            !apply_patch(&mut s, &failed),
            "a failed fence proves nothing"
        );
        apply_patch(&mut s, &StatusPatch::NodeJoined("node1".into()));
        apply_patch(&mut s, &StatusPatch::OpResult(result(2, "start", 0, 0)));
        let shutdown = StatusPatch::Attribute {
            node: "node1".into(),
            name: "shutdown".into(),
            value: Some("1".into()),
        };
        assert!(apply_patch(&mut s, &shutdown));
        assert!(!apply_patch(&mut s, &shutdown));
        assert!(apply_patch(
            &mut s,
            &StatusPatch::NodeLeftCleanly("node1".into())
        ));
        let st = &s.nodes["node1"];
        assert!(st.resources.is_empty() && !st.transient_attributes.contains_key("shutdown"));
    }

    /// Pacemaker erases a node's transient attributes when it is fenced or
    /// leaves, and keeps its permanent ones (the CIB's `<nodes>`): pgsql's
    /// `db-data-status` is read with `-l forever` by the standby's monitor.
    #[test]
    fn a_fence_and_a_clean_leave_keep_permanent_attributes() {
        let mut s = ClusterStatus::default();
        let attr = |name: &str, value: Option<&str>, permanent: bool| {
            let (node, name, value) = ("node2".into(), name.into(), value.map(Into::into));
            if permanent {
                StatusPatch::PermanentAttribute { node, name, value }
            } else {
                StatusPatch::Attribute { node, name, value }
            }
        };
        let data = attr("db-data-status", Some("STREAMING|SYNC"), true);
        assert_eq!(data.version_needed(), 5);
        assert!(apply_patch(&mut s, &data));
        assert!(!apply_patch(&mut s, &data), "idempotent");
        assert!(apply_patch(&mut s, &attr("master-db", Some("100"), false)));
        let fenced = StatusPatch::NodeFenced(FenceOutcome {
            target: "node2".into(),
            ok: true,
            detail: String::new(),
            at: 5,
            action: "reboot".into(),
            devices: Vec::new(),
        });
        assert!(apply_patch(&mut s, &fenced));
        assert!(s.nodes["node2"].transient_attributes.is_empty());
        assert_eq!(
            s.permanent_attributes["node2"]["db-data-status"],
            "STREAMING|SYNC"
        );
        apply_patch(&mut s, &StatusPatch::NodeLeftCleanly("node2".into()));
        assert_eq!(s.permanent_attributes["node2"].len(), 1);
        assert!(apply_patch(&mut s, &attr("db-data-status", None, true)));
        assert!(s.permanent_attributes.is_empty(), "no empty map left");
    }

    fn fence_event(origin: &str, id: u64, target: &str, ok: bool, at: i64) -> FenceEvent {
        FenceEvent {
            id,
            target: target.into(),
            action: "reboot".into(),
            ok,
            devices: if ok { vec!["bmc".into()] } else { Vec::new() },
            detail: format!("attempt {id}"),
            delegate: origin.into(),
            origin: origin.into(),
            client: "controller".into(),
            completed: at,
            elapsed_ms: Some(10),
            attempts: 1,
            first_completed: at,
        }
    }

    #[test]
    fn a_fence_event_replayed_is_recorded_once() {
        let mut s = ClusterStatus::default();
        let ok = StatusPatch::FenceEvent(Box::new(fence_event("node1", 7, "node2", true, 100)));
        assert!(apply_patch(&mut s, &ok));
        assert!(!apply_patch(&mut s, &ok), "a replay changes nothing");
        assert_eq!(s.fencing_history.len(), 1);
        // Another origin numbers its own events: same id, different event.
        let other = StatusPatch::FenceEvent(Box::new(fence_event("node3", 7, "node2", true, 101)));
        assert!(apply_patch(&mut s, &other));
        // An older event of an origin (replayed after newer ones) is not
        // appended again behind them.
        let older = StatusPatch::FenceEvent(Box::new(fence_event("node1", 3, "node4", true, 90)));
        assert!(!apply_patch(&mut s, &older));
        assert_eq!(s.fencing_history.len(), 2);
        // Fencing erases the target's state, never the cluster's history.
        let fenced = StatusPatch::NodeFenced(FenceOutcome {
            target: "node2".into(),
            ok: true,
            detail: String::new(),
            at: 102,
            action: "reboot".into(),
            devices: Vec::new(),
        });
        apply_patch(&mut s, &fenced);
        assert_eq!(s.fencing_history.len(), 2);
    }

    #[test]
    fn consecutive_failures_on_a_target_share_one_entry() {
        let mut s = ClusterStatus::default();
        let f = |id, target, at| {
            StatusPatch::FenceEvent(Box::new(fence_event("node1", id, target, false, at)))
        };
        assert!(apply_patch(&mut s, &f(1, "node2", 10)));
        assert!(apply_patch(&mut s, &f(2, "node3", 11)));
        assert!(apply_patch(&mut s, &f(3, "node2", 12)));
        assert!(!apply_patch(&mut s, &f(3, "node2", 12)), "replayed");
        assert!(
            !apply_patch(&mut s, &f(1, "node2", 10)),
            "folded in already"
        );
        assert!(apply_patch(&mut s, &f(4, "node2", 14)));
        let h = &s.fencing_history;
        assert_eq!(h.len(), 2, "{h:#?}");
        // The coalesced entry is the newest: it moved behind node3's.
        assert_eq!(h[0].target, "node3");
        let e = &h[1];
        assert_eq!((e.target.as_str(), e.attempts, e.id), ("node2", 3, 4));
        assert_eq!((e.first_completed, e.completed), (10, 14));
        assert_eq!(e.detail, "attempt 4", "the last attempt's words");
        // The success that ends them is an entry of its own, and a failure
        // after it starts a new one.
        let ok = StatusPatch::FenceEvent(Box::new(fence_event("node1", 5, "node2", true, 15)));
        assert!(apply_patch(&mut s, &ok));
        assert!(apply_patch(&mut s, &f(6, "node2", 16)));
        let h = &s.fencing_history;
        assert_eq!(h.len(), 4);
        assert!(h[2].ok && !h[3].ok && h[3].attempts == 1);
        // Another DC's failures on the same target are its own entry.
        let other = StatusPatch::FenceEvent(Box::new(fence_event("node9", 1, "node2", false, 17)));
        assert!(apply_patch(&mut s, &other));
        assert_eq!(s.fencing_history.len(), 5);
    }

    #[test]
    fn the_fencing_history_keeps_the_newest_events() {
        let mut s = ClusterStatus::default();
        let n = FENCE_HISTORY_MAX as u64 + 10;
        for id in 1..=n {
            let target = format!("node{}", id % 2);
            let ev = fence_event("node1", id, &target, true, id as i64);
            assert!(apply_patch(&mut s, &StatusPatch::FenceEvent(Box::new(ev))));
        }
        let h = &s.fencing_history;
        assert_eq!(h.len(), FENCE_HISTORY_MAX);
        assert_eq!(h.first().map(|e| e.id), Some(11), "the oldest went");
        assert_eq!(h.last().map(|e| e.id), Some(n));
        // One pushed out is not appended again when replayed.
        let gone = fence_event("node1", 3, "node1", true, 3);
        assert!(!apply_patch(
            &mut s,
            &StatusPatch::FenceEvent(Box::new(gone))
        ));
        assert_eq!(s.fencing_history.len(), FENCE_HISTORY_MAX);
    }

    #[test]
    fn fence_ids_increase_per_origin_and_start_above_the_wall_clock() {
        let mut s = ClusterStatus::default();
        assert_eq!(next_fence_id(&s, "node1", 5), 5_000);
        s.fencing_history
            .push(fence_event("node1", 9_000, "node2", true, 9));
        assert_eq!(next_fence_id(&s, "node1", 5), 9_001);
        assert_eq!(next_fence_id(&s, "node2", 5), 5_000);
        assert_eq!(next_fence_id(&s, "node1", 20), 20_000);
    }

    #[test]
    fn cleanup_forgets_failures_and_history() {
        let mut s = ClusterStatus::default();
        apply_patch(&mut s, &StatusPatch::OpResult(result(1, "start", 0, 1)));
        assert_eq!(s.nodes["node1"].fail_count("pgsql"), 1);
        let cleanup = StatusPatch::Cleanup {
            resource: "pgsql".into(),
            node: None,
        };
        assert!(apply_patch(&mut s, &cleanup));
        assert_eq!(s.nodes["node1"].fail_count("pgsql"), 0);
        assert!(s.nodes["node1"].resources.is_empty());
    }

    #[test]
    fn ticket_changes_are_crm_tickets_and_idempotent() {
        use crate::controller::TicketChange;
        let mut s = ClusterStatus::default();
        let change = |change| StatusPatch::Ticket {
            ticket: "east".into(),
            change,
        };
        assert!(apply_patch(&mut s, &change(TicketChange::Grant { at: 10 })));
        // Granted again later: still granted since 10, nothing changes.
        assert!(!apply_patch(
            &mut s,
            &change(TicketChange::Grant { at: 20 })
        ));
        assert!(s.ticket_usable("east"));
        assert!(apply_patch(&mut s, &change(TicketChange::Standby)));
        assert!(!s.ticket_usable("east"));
        assert!(apply_patch(&mut s, &change(TicketChange::Activate)));
        assert!(apply_patch(&mut s, &change(TicketChange::Revoke)));
        assert!(!apply_patch(&mut s, &change(TicketChange::Revoke)));
        assert_eq!(s.tickets["east"].last_granted, Some(10));
        assert!(!s.ticket_usable("east") && !s.ticket_usable("west"));
    }
}
