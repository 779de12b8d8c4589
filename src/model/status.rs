//! What the cluster looks like now: node membership, node attributes and the
//! operation history of each resource on each node, plus what is derived
//! from that history (current role and location, failures, fail counts).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Attributes, NodeId, ResourceId, Role};

/// OCF exit codes the scheduler interprets.
pub mod rc {
    pub const OK: i32 = 0;
    pub const ERR_GENERIC: i32 = 1;
    pub const NOT_RUNNING: i32 = 7;
    pub const RUNNING_PROMOTED: i32 = 8;
    pub const FAILED_PROMOTED: i32 = 9;
    /// Pending (in flight) operation.
    pub const PENDING: i32 = 193;
}

/// One recorded resource operation (an `lrm_rsc_op`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRecord {
    pub id: String,
    pub operation: String,
    pub interval_ms: u64,
    pub call_id: i64,
    pub rc_code: i32,
    pub op_status: i32,
    pub target_rc: Option<i32>,
    /// Seconds since the epoch.
    pub last_rc_change: Option<i64>,
    pub last_run: Option<i64>,
    pub exec_time_ms: Option<u64>,
    pub queue_time_ms: Option<u64>,
    pub on_node: Option<NodeId>,
    pub migrate_source: Option<NodeId>,
    pub migrate_target: Option<NodeId>,
    pub digest: Option<String>,
}

/// History of one resource on one node (an `lrm_resource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceHistory {
    pub id: ResourceId,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub agent: Option<String>,
    pub container: Option<String>,
    pub ops: Vec<OpRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodeState {
    pub uname: NodeId,
    pub id: Option<String>,
    /// Membership layer sees the node.
    pub in_ccm: Option<bool>,
    /// Controller process state ("online"/"offline").
    pub crmd: Option<String>,
    pub join: Option<String>,
    pub expected: Option<String>,
    /// The node was explicitly marked unclean.
    pub unclean: bool,
    /// A node_state element existed for this node.
    pub has_state: bool,
    pub transient_attributes: Attributes,
    pub resources: Vec<ResourceHistory>,
}

/// How the scheduler sees a node's membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeCondition {
    Online,
    Offline,
    /// Lost without a clean shutdown: must be fenced.
    Unclean,
    Pending,
}

/// The status section of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub have_quorum: bool,
    pub dc_uuid: Option<String>,
    /// The CIB's execution-date, if recorded (seconds since the epoch).
    pub execution_date: Option<i64>,
    /// The CIB's no-quorum-panic flag: with no-quorum-policy=suicide, the
    /// partition had quorum once (or is told to panic anyway).
    #[serde(default)]
    pub no_quorum_panic: bool,
    pub nodes: BTreeMap<NodeId, NodeState>,
    /// Node names in the order the status section lists them (Pacemaker
    /// numbers anonymous clone instances in this order).
    #[serde(default)]
    pub node_order: Vec<NodeId>,
}

/// A failure found in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub resource: ResourceId,
    pub node: NodeId,
    pub operation: String,
    pub interval_ms: u64,
    pub rc_code: i32,
    pub last_rc_change: Option<i64>,
}

/// What the history says about one resource on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceNodeState {
    pub role: Role,
    /// The last relevant operation failed and left the resource in doubt.
    pub failed: bool,
    /// The last failed operation's name and rc.
    pub failure: Option<Failure>,
    /// An operation is still in flight.
    pub pending: Option<String>,
}

impl NodeState {
    /// Fail count of a resource on this node: the sum of all
    /// `fail-count-<rsc>` and `fail-count-<rsc>#<op>_<interval>` attributes.
    pub fn fail_count(&self, rsc: &str) -> i64 {
        let exact = format!("fail-count-{rsc}");
        let prefix = format!("fail-count-{rsc}#");
        let mut total: i64 = 0;
        for (k, v) in &self.transient_attributes {
            if *k == exact || k.starts_with(&prefix) {
                let n = parse_count(v);
                total = total.saturating_add(n);
            }
        }
        total.min(super::INFINITY)
    }

    /// Latest `last-failure-<rsc>*` time on this node.
    pub fn last_failure(&self, rsc: &str) -> Option<i64> {
        let exact = format!("last-failure-{rsc}");
        let prefix = format!("last-failure-{rsc}#");
        self.transient_attributes
            .iter()
            .filter(|(k, _)| **k == exact || k.starts_with(&prefix))
            .filter_map(|(_, v)| v.trim().parse::<i64>().ok())
            .max()
    }
}

fn parse_count(v: &str) -> i64 {
    match v.trim() {
        "INFINITY" | "+INFINITY" => super::INFINITY,
        t => t.parse::<i64>().unwrap_or(0).max(0),
    }
}
