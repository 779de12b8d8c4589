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
    /// What the agent said when the operation failed (its exit reason or
    /// the tail of its output), for `status`.
    #[serde(default)]
    pub exit_reason: Option<String>,
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

/// The status section of the cluster. Serialized by hand (`wire_form`):
/// the binary form between nodes is frozen at protocol version 4, which
/// has no tickets and no permanent attributes (version 5 sends them
/// beside it, [`StatusBeyondV4`]); JSON (persistence, the API) has every
/// field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterStatus {
    pub have_quorum: bool,
    pub dc_uuid: Option<String>,
    /// The CIB's execution-date, if recorded (seconds since the epoch).
    pub execution_date: Option<i64>,
    /// The CIB's no-quorum-panic flag: with no-quorum-policy=suicide, the
    /// partition had quorum once (or is told to panic anyway).
    pub no_quorum_panic: bool,
    pub nodes: BTreeMap<NodeId, NodeState>,
    /// Node names in the order the status section lists them (Pacemaker
    /// numbers anonymous clone instances in this order).
    pub node_order: Vec<NodeId>,
    /// The cluster's fencing history, oldest first, at most
    /// `FENCE_HISTORY_MAX` entries (changed only by
    /// `controller::apply_patch`). Absent in documents written before it
    /// existed: they load with an empty history.
    pub fencing_history: Vec<FenceEvent>,
    /// Tickets this cluster knows of, by name (the CIB's `<tickets>`
    /// `ticket_state`): a ticket not listed is not granted. Persisted, but
    /// not in version 4's binary form: a member receives them through
    /// `StatusPatch::Ticket` and, with a document synced whole, in
    /// [`StatusBeyondV4`], both sent only to a view speaking version 5.
    pub tickets: BTreeMap<String, TicketState>,
    /// Permanent node attributes agents set (`crm_attribute -l forever`,
    /// resource-agents' pgsql `*-data-status`), by node: Pacemaker keeps
    /// them in the CIB's `<nodes>` section, so a fence or a restart keeps
    /// them, where it erases `transient_attributes`. Changed only by
    /// `StatusPatch::PermanentAttribute` (protocol version 5). Like
    /// `tickets`, outside version 4's binary form ([`StatusBeyondV4`]).
    pub permanent_attributes: BTreeMap<NodeId, Attributes>,
}

/// The status's fields that version 4's binary form lacks: they travel
/// beside it, in the whole-document messages of protocol version 5
/// (`node::protocol::StoreMessage::OfferWhole`, `ReplicateWhole`). A field
/// added to the status after version 4 is added here too (the whole
/// document a peer syncs must carry it), and appended last: this form is
/// frozen once a release speaks version 5.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusBeyondV4 {
    pub tickets: BTreeMap<String, TicketState>,
    pub permanent_attributes: BTreeMap<NodeId, Attributes>,
}

impl ClusterStatus {
    /// Takes out what version 4's binary form of this status leaves out.
    pub fn take_beyond_v4(&mut self) -> StatusBeyondV4 {
        StatusBeyondV4 {
            tickets: std::mem::take(&mut self.tickets),
            permanent_attributes: std::mem::take(&mut self.permanent_attributes),
        }
    }

    /// Completes a status read in version 4's binary form.
    pub fn set_beyond_v4(&mut self, beyond: StatusBeyondV4) {
        self.tickets = beyond.tickets;
        self.permanent_attributes = beyond.permanent_attributes;
    }
}

mod wire_form {
    //! `ClusterStatus` as JSON (every field) and as the binary form
    //! between nodes (version 4's fields only, in their order).
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{ClusterStatus, FenceEvent, NodeState, TicketState};
    use crate::model::{Attributes, NodeId};

    #[derive(Serialize)]
    struct V4Ref<'a> {
        have_quorum: &'a bool,
        dc_uuid: &'a Option<String>,
        execution_date: &'a Option<i64>,
        no_quorum_panic: &'a bool,
        nodes: &'a BTreeMap<NodeId, NodeState>,
        node_order: &'a Vec<NodeId>,
        fencing_history: &'a Vec<FenceEvent>,
    }

    #[derive(Serialize)]
    struct FullRef<'a> {
        #[serde(flatten)]
        v4: V4Ref<'a>,
        tickets: &'a BTreeMap<String, TicketState>,
        permanent_attributes: &'a BTreeMap<NodeId, Attributes>,
    }

    #[derive(Deserialize)]
    struct V4 {
        have_quorum: bool,
        dc_uuid: Option<String>,
        execution_date: Option<i64>,
        #[serde(default)]
        no_quorum_panic: bool,
        nodes: BTreeMap<NodeId, NodeState>,
        #[serde(default)]
        node_order: Vec<NodeId>,
        #[serde(default)]
        fencing_history: Vec<FenceEvent>,
    }

    #[derive(Deserialize)]
    struct Full {
        have_quorum: bool,
        dc_uuid: Option<String>,
        execution_date: Option<i64>,
        #[serde(default)]
        no_quorum_panic: bool,
        nodes: BTreeMap<NodeId, NodeState>,
        #[serde(default)]
        node_order: Vec<NodeId>,
        #[serde(default)]
        fencing_history: Vec<FenceEvent>,
        #[serde(default)]
        tickets: BTreeMap<String, TicketState>,
        #[serde(default)]
        permanent_attributes: BTreeMap<NodeId, Attributes>,
    }

    impl Serialize for ClusterStatus {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let v4 = V4Ref {
                have_quorum: &self.have_quorum,
                dc_uuid: &self.dc_uuid,
                execution_date: &self.execution_date,
                no_quorum_panic: &self.no_quorum_panic,
                nodes: &self.nodes,
                node_order: &self.node_order,
                fencing_history: &self.fencing_history,
            };
            if s.is_human_readable() {
                FullRef {
                    v4,
                    tickets: &self.tickets,
                    permanent_attributes: &self.permanent_attributes,
                }
                .serialize(s)
            } else {
                v4.serialize(s)
            }
        }
    }

    impl<'de> Deserialize<'de> for ClusterStatus {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            if d.is_human_readable() {
                let f = Full::deserialize(d)?;
                Ok(ClusterStatus {
                    have_quorum: f.have_quorum,
                    dc_uuid: f.dc_uuid,
                    execution_date: f.execution_date,
                    no_quorum_panic: f.no_quorum_panic,
                    nodes: f.nodes,
                    node_order: f.node_order,
                    fencing_history: f.fencing_history,
                    tickets: f.tickets,
                    permanent_attributes: f.permanent_attributes,
                })
            } else {
                let v = V4::deserialize(d)?;
                Ok(ClusterStatus {
                    have_quorum: v.have_quorum,
                    dc_uuid: v.dc_uuid,
                    execution_date: v.execution_date,
                    no_quorum_panic: v.no_quorum_panic,
                    nodes: v.nodes,
                    node_order: v.node_order,
                    fencing_history: v.fencing_history,
                    tickets: BTreeMap::new(),
                    permanent_attributes: BTreeMap::new(),
                })
            }
        }
    }
}

/// One ticket's state here (crm_ticket's view: granted or revoked, and
/// standby, where resources give the ticket up gracefully).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketState {
    pub granted: bool,
    pub standby: bool,
    /// When it was last granted (seconds since the epoch).
    pub last_granted: Option<i64>,
}

impl ClusterStatus {
    /// Whether resources needing `ticket` may run: granted and not in standby.
    pub fn ticket_usable(&self, ticket: &str) -> bool {
        self.tickets
            .get(ticket)
            .is_some_and(|t| t.granted && !t.standby)
    }
}

/// How many fencing events the replicated status keeps (the newest).
/// Pacemaker's fencer bounds its history too. The whole document is
/// persisted (fsync) and, until the store has a status-patch message,
/// replicated on every change, so the list must stay small: 50 events of a
/// few hundred bytes are ~15 kB, and since consecutive failed attempts on
/// one target share one entry (see `FenceEvent::attempts`), 50 entries
/// span many incidents, not one device retried all night.
pub const FENCE_HISTORY_MAX: usize = 50;

/// One fencing operation as the whole cluster sees it (Pacemaker's
/// `stonith_admin --history '*'`, crm_mon's "Fencing History"): recorded
/// by the node whose controller got the outcome, replicated with the
/// status, so every node shows it, also after the fencer itself was lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceEvent {
    /// Identity, with `origin`: the origin gives its events increasing ids
    /// (see `controller::patch::next_fence_id`), so an event whose id is
    /// not above every id of its origin in the history is a replay (or was
    /// folded into a coalesced entry, or pushed out of the bound).
    pub id: u64,
    pub target: NodeId,
    /// off, reboot or on; empty when the origin did not know it.
    pub action: String,
    pub ok: bool,
    /// The devices of the level that did it (empty when it failed).
    pub devices: Vec<String>,
    /// The fencing service's words: the level that did it, or why each
    /// level failed.
    pub detail: String,
    /// The node whose fencing service ran the devices (crm_mon's delegate).
    pub delegate: NodeId,
    /// The node that asked for it (the DC; crm_mon's origin).
    pub origin: NodeId,
    /// Who asked on the origin: `controller` (the DC's own decision) or
    /// `pacelined` (its fencing service on someone else's behalf, e.g.
    /// `paceline fence NODE`), or the user who confirmed the target off by
    /// hand (`paceline fence confirm`, e.g. `root (uid 0)`).
    pub client: String,
    /// Seconds since the epoch when the (last) attempt completed.
    pub completed: i64,
    /// From the request to the outcome of the (last) attempt, when the
    /// origin requested it itself.
    pub elapsed_ms: Option<u64>,
    /// Consecutive failed attempts of one origin on one target (the DC
    /// retries with back-off) share one entry: how many it stands for,
    /// with the first one's completion. 1 for everything else.
    pub attempts: u32,
    pub first_completed: i64,
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
