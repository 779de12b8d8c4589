//! The designated controller (DC): sans-IO. Events in, commands out, time
//! passed in. The daemon (`src/daemon/`) and the whole-cluster simulator
//! (`src/sim/`) drive the same `Controller`.
//!
//! Every node runs a `Controller`; only the one whose `Input::View` makes it
//! the DC (lowest member id of a view, see `store::choose_dc`) decides. On
//! every input the DC overlays the membership it sees on the replicated
//! status, runs `scheduler::schedule`, expands the plan into a
//! `scheduler::transition::Transition` and dispatches its steps in graph
//! order: `Command::Execute` to the node that must run a step,
//! `Command::Fence` for a node that must be fenced, `Command::RecordStatus`
//! for every result that changes the replicated status.
//!
//! Safety rules the controller owns (checked by the simulator):
//! - a node that was an expected member and is gone without a clean leave is
//!   unclean; while any node is unclean the DC dispatches fencing only, and
//!   re-plans once the fence is confirmed (its resources are then known
//!   stopped) — so nothing of a lost node is recovered before its fence;
//! - a failed fence is retried with a back-off and reported (`Notice::Blocked`);
//! - a partition without quorum starts nothing (the scheduler's
//!   no-quorum-policy; `suicide` fences this node itself);
//! - when the world changes under a running transition (view, config,
//!   failure) the DC dispatches nothing new, waits for in-flight steps and
//!   re-plans.
//!
//! The types below are the contract between the controller, the store, the
//! daemon and the simulator; the DC's rules are in `dc.rs`, how a patch
//! changes the status in `patch.rs`.

mod dc;
pub mod ledger;
pub mod patch;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{ClusterConfig, ClusterStatus, FenceEvent, NodeId, ResourceId};

pub use dc::Controller;
pub use ledger::{Ledger, NodeReport};
pub use patch::apply_patch;

/// What the controller needs to know about the cluster that is not in the
/// scheduler's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerSettings {
    /// This node's name (`[[node]] name`).
    pub own: NodeId,
    /// Every configured node, by name, with its numeric membership id.
    pub nodes: Vec<(NodeId, u32)>,
    /// How long the DC waits for a dispatched step beyond the step's own
    /// timeout before it counts the step as timed out.
    pub result_grace_ms: u64,
    /// First retry delay of a failed fence; doubles up to `fence_retry_max_ms`.
    pub fence_retry_ms: u64,
    pub fence_retry_max_ms: u64,
    /// With fencing enabled, start and promote nothing until the driver
    /// reports (`Input::FencingReady`) that every node's first fencing level
    /// passed a `monitor`. The daemon sets it; the simulator's fence devices
    /// are always ready.
    pub require_fencing_ready: bool,
}

/// One operation on one resource instance on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// Unique per DC incarnation and step: results are matched by it, and a
    /// node that gets the same id twice runs it once and answers again.
    pub id: u64,
    pub node: NodeId,
    /// The configured primitive (what the agent is run for), e.g. `pgsql`.
    pub resource: ResourceId,
    /// The instance the scheduler placed, e.g. `pgsql:0` (same as
    /// `resource` for a primitive that is not cloned).
    pub instance: String,
    /// start, stop, monitor, promote, demote, notify.
    pub operation: String,
    /// 0 for one-shot actions and probes; a recurring monitor keeps running
    /// on the node until the resource is stopped or demoted, and only its
    /// changes of rc are reported back (as `Input::ActionResult`).
    pub interval_ms: u64,
    pub timeout_ms: u64,
    /// Meta attributes for this run only, by Pacemaker's names without the
    /// `OCF_RESKEY_CRM_meta_` prefix: a clone notification's `notify_type`,
    /// `notify_operation` and instance lists.
    #[serde(default)]
    pub meta: std::collections::BTreeMap<String, String>,
}

/// The outcome of an `ActionRequest` (or a change of a recurring monitor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    pub id: u64,
    pub node: NodeId,
    pub resource: ResourceId,
    pub instance: String,
    pub operation: String,
    pub interval_ms: u64,
    /// OCF exit code (0 ok, 7 not running, 8 running promoted, …).
    pub rc: i32,
    /// Pacemaker's op-status: 0 done, 2 timed out, 4 error, 1 cancelled.
    pub op_status: i32,
    /// The agent's exit reason or the tail of its output.
    pub output: String,
    /// Seconds since the epoch when the result was obtained.
    pub at: i64,
    pub exec_ms: u64,
}

/// Fence request for the node that runs this DC (the daemon runs the
/// topology, with its delays, on a blocking thread).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceRequest {
    pub target: NodeId,
    /// off or reboot, from `[fencing] action`.
    pub action: String,
    /// The target runs resources of a higher total `priority` than this
    /// node: its fencing waits `[fencing] priority_delay`, so that in a
    /// split the node with the more important resources wins.
    #[serde(default)]
    pub target_has_priority: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceOutcome {
    pub target: NodeId,
    pub ok: bool,
    /// The device's words: which level/device did it, or why each failed.
    pub detail: String,
    pub at: i64,
    /// What was done (off, reboot, on), as the fencing service resolved it.
    #[serde(default)]
    pub action: String,
    /// The devices of the level that did it (empty when it failed).
    #[serde(default)]
    pub devices: Vec<String>,
}

/// A change of the replicated status, made by the DC (applied by the store,
/// replicated to every member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusPatch {
    /// An operation result becomes part of the node's history (and updates
    /// fail-count / last-failure attributes when it is a failure).
    OpResult(ActionResult),
    /// The node is a member and expected to stay one (joined).
    NodeJoined(NodeId),
    /// The node left cleanly: its history says nothing runs there.
    NodeLeftCleanly(NodeId),
    /// The node was fenced: its resources are stopped, its history erased.
    /// (The fencing history gets a `FenceEvent` of its own.)
    NodeFenced(FenceOutcome),
    /// A transient node attribute (promotion scores via crm_master…).
    Attribute {
        node: NodeId,
        name: String,
        value: Option<String>,
    },
    /// `paceline resource cleanup`: forget failures of a resource.
    Cleanup {
        resource: ResourceId,
        node: Option<NodeId>,
    },
    /// A fence outcome, confirmed or failed, joins the cluster's fencing
    /// history (`ClusterStatus::fencing_history`): idempotent by
    /// (origin, id), consecutive failures on one target coalesced, the
    /// newest `FENCE_HISTORY_MAX` kept. (Variants are only ever appended:
    /// postcard numbers them on the wire.)
    FenceEvent(Box<FenceEvent>),
    /// A member's own account of its resources (its `NodeReport`) replaces
    /// what the status knew of them: records with a call id below
    /// `from_call_id` go, `results` (call ids from the DC, at least
    /// `from_call_id`, in the order the node obtained them; pending ones
    /// last) are recorded. Fail counts are not touched (they are in the
    /// status already).
    NodeHistory {
        node: NodeId,
        from_call_id: u64,
        results: Vec<ActionResult>,
    },
}

/// Why the controller is not (yet) doing what the plan wants, for status
/// and logs; every one names what the operator can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    BecameDc,
    NodeLost(NodeId),
    FenceRequested(NodeId),
    FenceConfirmed(NodeId),
    FenceFailed {
        target: NodeId,
        detail: String,
    },
    Dispatched(ActionRequest),
    Completed(ActionResult),
    /// `changes`: the plan's decisions behind the steps, one line each
    /// ("Promote db:0 on node2: …"), so the log says why.
    TransitionStarted {
        id: u64,
        steps: usize,
        changes: Vec<String>,
    },
    TransitionComplete {
        id: u64,
    },
    TransitionAborted {
        id: u64,
        why: String,
    },
    Blocked {
        why: String,
    },
    /// A member told this DC what its executor did (`NodeReport`).
    NodeReported {
        node: NodeId,
        results: usize,
        pending: usize,
    },
    /// A member did not report within the wait: its resources are probed.
    NoReport {
        node: NodeId,
        waited_ms: u64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The membership view this node holds.
    View {
        members: BTreeSet<NodeId>,
        quorate: bool,
    },
    /// The replicated document changed (a new config epoch or status update).
    Document {
        config: Box<ClusterConfig>,
        status: Box<ClusterStatus>,
    },
    ActionResult(ActionResult),
    FenceOutcome(FenceOutcome),
    /// This node's store is the DC of the current view and holds the
    /// documents of a quorum (`store::machine::Node::is_ready_dc` became
    /// true); send it after the `Document` it synced. Until then a quorate
    /// DC only fences: the document it has may be stale.
    Synced,
    /// Whether every node's first fencing level passed a `monitor`; while
    /// not, `blockers` say which node cannot be fenced and why.
    FencingReady {
        ready: bool,
        blockers: Vec<String>,
    },
    /// A member's answer to `Command::RequestReport`.
    NodeReport(NodeReport),
    /// Time passed (timeouts, fence retries, failure-timeout expiry).
    Tick,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Execute(ActionRequest),
    /// Stop a recurring monitor (the resource is being stopped elsewhere).
    CancelRecurring {
        node: NodeId,
        instance: String,
        interval_ms: u64,
    },
    Fence(FenceRequest),
    RecordStatus(StatusPatch),
    Notice(Notice),
    /// Ask `node` (this one too) what its executor did: the answer comes
    /// back as `Input::NodeReport`. A node that answered follows this DC
    /// only (`Ledger`).
    RequestReport {
        node: NodeId,
    },
}
