//! How a `StatusPatch` changes the replicated status. The store, the daemon,
//! the simulator and the controller's own working copy all apply patches
//! through `apply_patch`, so every copy of the status evolves the same way.
//!
//! Patches are idempotent: an operation result is applied only if it is
//! newer (higher call id) than what the history holds for that operation,
//! so replaying a patch the document already reflects changes nothing (the
//! controller relies on that to keep its own not-yet-replicated patches).

use crate::model::{ClusterStatus, NodeState, OpRecord, ResourceHistory, rc};

use super::{ActionResult, StatusPatch};

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
            changed |= st.transient_attributes.remove("shutdown").is_some();
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
        StatusPatch::Attribute { node, name, value } => {
            let attrs = &mut node_entry(status, node).transient_attributes;
            match value {
                Some(v) => attrs.insert(name.clone(), v.clone()).as_ref() != Some(v),
                None => attrs.remove(name).is_some(),
            }
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
}
