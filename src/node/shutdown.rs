//! A node's clean shutdown, as Pacemaker's: it sets its `shutdown`
//! attribute (the DC then moves everything away and starts nothing
//! there), waits until the cluster's document shows nothing of it active,
//! and leaves the membership. The daemon (`daemon::event_loop`) and the
//! simulator (`sim::cluster`) both run this sequence with these rules.

use crate::controller::StatusPatch;
use crate::model::{ClusterStatus, Role};
use crate::scheduler::{LeftAsIs, observe};

/// The attribute Pacemaker's controller sets on a node that is leaving.
pub const ATTRIBUTE: &str = "shutdown";

/// The request to leave, with the time it was made (seconds since the
/// epoch), as Pacemaker records it.
pub fn request(node: &str, wall: i64) -> StatusPatch {
    StatusPatch::Attribute {
        node: node.to_string(),
        name: ATTRIBUTE.to_string(),
        value: Some(wall.to_string()),
    }
}

/// A node starting: the shutdown of its last run is over.
pub fn cleared(node: &str) -> StatusPatch {
    StatusPatch::Attribute {
        node: node.to_string(),
        name: ATTRIBUTE.to_string(),
        value: None,
    }
}

/// Whether the document shows nothing of `node` active, read as the
/// scheduler reads a history (a start or promote in flight counts as
/// active, a stop in flight as still running), but for what the cluster
/// leaves as it is there (`left`: unmanaged, in maintenance), which is
/// never stopped and keeps running after the node leaves. A node leaves
/// only then: if a stop's result had not reached the DC, the DC would
/// count the resource as possibly active and fence the node.
pub fn runs_nothing(status: &ClusterStatus, node: &str, left: &LeftAsIs) -> bool {
    status.nodes.get(node).is_none_or(|s| {
        s.resources
            .iter()
            .all(|h| left.covers(&h.id) || observe(h).role == Role::Stopped)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeState, OpRecord, ResourceHistory};

    fn op(operation: &str, rc_code: i32, call_id: i64) -> OpRecord {
        OpRecord {
            id: format!("ip_{operation}_0"),
            operation: operation.into(),
            interval_ms: 0,
            call_id,
            rc_code,
            op_status: if rc_code == crate::model::rc::PENDING {
                -1
            } else {
                0
            },
            target_rc: None,
            last_rc_change: None,
            last_run: None,
            exec_time_ms: None,
            queue_time_ms: None,
            on_node: None,
            migrate_source: None,
            migrate_target: None,
            digest: None,
            exit_reason: None,
        }
    }

    /// A status where n1 has this history of `ip`.
    fn with(ops: Vec<OpRecord>) -> ClusterStatus {
        let mut status = ClusterStatus::default();
        let mut state = NodeState::default();
        state.resources.push(ResourceHistory {
            id: "ip".into(),
            class: None,
            provider: None,
            agent: None,
            container: None,
            ops,
        });
        status.nodes.insert("n1".into(), state);
        status
    }

    #[test]
    fn a_started_or_starting_resource_keeps_the_node() {
        let none = LeftAsIs::default();
        assert!(runs_nothing(&ClusterStatus::default(), "n1", &none));
        assert!(!runs_nothing(&with(vec![op("start", 0, 1)]), "n1", &none));
        assert!(!runs_nothing(
            &with(vec![op("start", crate::model::rc::PENDING, -1)]),
            "n1",
            &none
        ));
        assert!(runs_nothing(
            &with(vec![op("start", 0, 1), op("stop", 0, 2)]),
            "n1",
            &none
        ));
        assert!(runs_nothing(&with(vec![op("start", 0, 1)]), "n2", &none));
    }

    /// An unmanaged resource is never stopped: waiting for it held a clean
    /// shutdown for its whole bound (60 s), then left anyway.
    #[test]
    fn what_the_cluster_leaves_as_it_is_does_not_keep_the_node() {
        let config = crate::config::load_config_str(
            "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\n\
             [[primitive]]\nid = \"ip\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = { is-managed = false }\n",
            "c.toml",
        )
        .unwrap();
        let status = with(vec![op("start", 0, 1)]);
        let left = crate::scheduler::left_as_is(&config, &status, "n1", 0);
        assert!(runs_nothing(&status, "n1", &left));
        assert!(!runs_nothing(&status, "n1", &LeftAsIs::default()));
    }
}
