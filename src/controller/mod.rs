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
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "controller (`src/controller/`, `src/scheduler/transition.rs`, `src/sim/cluster.rs`, `src/sim/scenario.rs`)")
//!
//! The designated controller, sans-IO: `Controller::handle(now_ms, wall,
//! Input) -> Vec<Command>`; the daemon and the simulator drive the same code.
//! - `mod.rs`: the contract types (`Input`, `Command`, `ActionRequest`/
//!   `ActionResult`, `FenceRequest`/`FenceOutcome`, `StatusPatch`, `Notice`,
//!   `ControllerSettings`). `patch.rs`: `apply_patch(&mut ClusterStatus,
//!   &StatusPatch) -> bool` (used by the store, the daemon, the simulator and
//!   the controller's own working copy). Results replace the record of the
//!   same op+interval only with a higher call id (idempotent: replaying a
//!   patch changes nothing); failures bump `fail-count-<rsc>#<op>_<interval>`
//!   and set `last-failure-…`; a probe recorded under the primitive id and the
//!   clone instance started later share one history; a fence or clean leave
//!   erases the node's history and its transient attributes (never the
//!   fencing history); a failure keeps the agent's words in the record's
//!   `exit_reason`, which `status` prints under the failed action. `FenceEvent` appends to the fencing history:
//!   identity (origin, id), ids increasing per origin (`next_fence_id`: above
//!   the origin's ids in the status and at least wall s × 1000, so a
//!   restarted DC keeps increasing), an event not above its origin's ids is a
//!   replay and changes nothing; consecutive failures of one origin on one
//!   target and action are one entry (`attempts`, first/last completion,
//!   the last words), moved to the end; the list is cut to
//!   `FENCE_HISTORY_MAX` (50) from the oldest.
//! - `dc.rs`: the rules. DC = lowest configured id of the view; without quorum
//!   every node is its own DC and acts only on itself (no-quorum-policy stops
//!   what runs there; suicide fences itself). The DC overlays the view on its
//!   working status (document + its own patches not replicated yet; resent on
//!   every view change): members online, expected members that vanished
//!   unclean, and a member whose fence was confirmed while it was still in
//!   the view (a daemon paused past the token, back before its fence) down
//!   until it leaves the view or answers a report: its departure is no new
//!   loss (chaos seed 38, fault 20: three fences in 2.3 s before this rule).
//!   Before planning: joins recorded (`NodeJoined`), a departed node
//!   with `shutdown` set and nothing active recorded as `NodeLeftCleanly`,
//!   every member this DC has no report of asked for one
//!   (`Command::RequestReport`, once the document is synced, so that the
//!   report's call ids are above every one the document holds). This is
//!   Pacemaker's join: `ledger.rs` (`Ledger`, kept by the daemon's executor
//!   service and by each simulated node) holds the latest result of each
//!   operation per primitive and the one-shot operations accepted and not
//!   answered; its `NodeReport` becomes a `StatusPatch::NodeHistory` that
//!   replaces the node's records older than the report (results re-stamped
//!   with this DC's call ids in the order the node obtained them, running
//!   starts/stops/promotes/demotes as pending, fail counts untouched). Once a
//!   node has reported it accepts requests only from that DC (and operator
//!   dispatches), so nothing the old DC sends afterwards runs unknown to the
//!   new one; results also go to the DC it follows. A member that does not
//!   answer within 3 s (`Notice::NoReport`, e.g. an older version) is
//!   probed for every primitive instead, and primitives missing from a
//!   report (added to the config, never run there) are probed. Nothing but
//!   fencing is planned while reports are outstanding. After a fence, a
//!   promotable clone with nothing promoted and nothing about to be has its
//!   running instances probed once beside the transition
//!   (`refresh_promotion_scores`): pgsql computes a standby's score in its
//!   monitor, and the next recurring one may be seconds away. After a
//!   quorate view change it waits for `Input::Synced` before anything but
//!   fencing. Then the plan, which the DC never makes inside `handle`
//!   (it grows faster than the number of resources: 9,000 primitives
//!   held the daemon's event loop 5 s): it asks with `Command::Plan`
//!   (`PlanRequest`: the configuration, its working status with the view
//!   overlaid, and the generation of those inputs, bumped by every
//!   recorded patch, document, config and view change), at most one at a
//!   time, and carries out `Input::Planned` only when its generation is
//!   still current; an outdated one is discarded and asked again
//!   (Pacemaker's controller drops a scheduler reply that is not the one it
//!   waits for). A change of transient attributes only under a running
//!   transition asks for a recheck plan the same way; meanwhile the
//!   transition dispatches nothing new (`plan_still_holds` then decides
//!   between going on and aborting). `PlanRequest::run` is `schedule` →
//!   `transition::build`: if the plan fences anyone only the fences are
//!   dispatched (none before dc-deadtime has passed since startup; failures
//!   reported `FenceFailed` + `Blocked`, retried with doubling back-off);
//!   confirmed → `NodeFenced` → re-plan. Every outcome, confirmed or failed,
//!   is also recorded as `StatusPatch::FenceEvent` (delegate and origin =
//!   this node, client `controller` when it asked, `pacelined` for an
//!   outcome it did not ask for, e.g. an operator's `paceline fence NODE`,
//!   the operator's user for `Input::FenceConfirmed`, `fence confirm`, a
//!   manual acknowledgement taken as a success; elapsed from its request). Otherwise steps go out in graph
//!   order, only to members (starts and promotes held back for
//!   quorum or fencing readiness take every step ordered after them along,
//!   `drop_with_dependents`); a start/promote is first recorded as pending (a
//!   successor DC treats it as active); recurring monitors are fire-and-forget
//!   (cancelled before a stop/demote/promote); results become `OpResult`
//!   patches (start failures also set fail-count INFINITY with
//!   start-failure-is-fatal). Any change (view, config, status, failure)
//!   aborts: nothing new is dispatched, in-flight steps are awaited or timed
//!   out (timeout + `result_grace_ms`, recorded as op-status 2), then
//!   re-plan. Late answers are recorded only when they complete a pending
//!   record; while a member still has a pending one-shot operation a previous
//!   DC dispatched, the new DC fences if it must but starts nothing else until
//!   the answer comes (at most that operation's timeout + grace): a pending
//!   start counts as started, and what is ordered after it must not start on
//!   its half. Monitors this DC already started are not dispatched again
//!   while their first result is not in the history; a member's report
//!   forgets what this DC started there (its own DC may have stopped it in a
//!   partition), so the report's history decides. The scheduler honours the
//!   `shutdown` attribute itself.
//! - `Notice::TransitionStarted` carries the plan's changes with their
//!   reasons; the daemon logs them under "transition N started" ("plan:
//!   Promote db:0 on node2 (Unpromoted) -> Promoted").
//! - `transition.rs`: `build(config, status, plan)` expands Start/Stop/Move/
//!   Recover/Restart/Promote/Demote (and the plan's extra `stop` actions) into
//!   steps: per instance demote < stop < start < promote; recurring monitors
//!   of the final role after every change of the instance on their node (its
//!   start, promote, or the demote after which the Unpromoted ones run:
//!   dispatched before it, the demote would cancel them) (Promoted-role ops
//!   only on the promoted instance); group members in order, stopped in reverse; order
//!   constraints (and sets) first-action < then-action, the inverse for
//!   symmetrical mandatory ones; a fence before every step of what the node
//!   hosted and before every start/promote; no stop/demote on a node being
//!   fenced. An instance that stays where it runs (no step of its own) gets
//!   each recurring monitor of its role that its history lacks, as Pacemaker
//!   schedules them (a transition aborted between a start and its monitor, a
//!   new DC, a monitor added to the config); a monitor record older than the
//!   instance's latest start/stop/promote/demote is of a cancelled monitor and
//!   does not count; not in maintenance, not for an instance active on several
//!   nodes (except an anonymous clone's, whose instance numbers are labels
//!   two nodes may share). A clone with `notify = true` gets
//!   `notify` steps (`notifications`): per kind of action it takes on the
//!   clone's instances (demote, stop, start, promote) a pre notification to
//!   the instances active before, a post one to those active after, with
//!   Pacemaker's `notify_*` variables in the step's `meta` (the transition's
//!   start/stop/promote/demote lists, the clone's active/promoted/unpromoted
//!   instances before it, available and all nodes); pre before every action
//!   of the kind, post after them, one kind's post before the next kind's
//!   pre; none to nodes being fenced or offline. The DC sends `meta` in the
//!   `ActionRequest` (the executor passes it as `OCF_RESKEY_CRM_meta_*`),
//!   keeps notifications out of the history, reports a failed one and goes
//!   on, and still sends the post notifications of completed actions when a
//!   transition aborts; builtin and systemd agents answer them at once. Edges that would close a cycle are
//!   dropped. Timeouts from the op, else op_defaults, else 20 s.
//! - `sim/cluster.rs`: N nodes, each the real membership machine (through
//!   `MembershipSim`), store node and controller; store and controller traffic
//!   is reliable while connected (the network's delays); simulated agents
//!   (ground truth per node and primitive, random durations, failing starts,
//!   resources that die, recurring monitors reporting changes, promotion
//!   scores for promotable clones) and fence devices (delays from the TOML's
//!   level-1 devices, failure injection; success powers the target off, reboot
//!   brings it back). Invariants on ground truth: no non-clone resource active
//!   twice, no promotable clone promoted beyond promoted-max, nothing started
//!   while a copy runs on a lost node, no start dispatched without quorum, no
//!   ready DC behind an acknowledged config, no group member started before
//!   the member before it has started on that node; and once the repaired
//!   cluster has settled, every active resource has each recurring monitor of
//!   its role running (`unmonitored`; a demote cancels an instance's monitors,
//!   as the executor does). Each simulated node runs
//!   one resource's one-shot operations one at a time (as the executor does)
//!   and answers repeated requests per sender (ids are unique per DC
//!   incarnation); it keeps a `Ledger` like the daemon's executor (reset when
//!   the node dies or leaves), answers report requests from it and refuses
//!   requests of DCs it no longer follows. `PACELINE_SIM_TRACE=1` adds dispatches and answers to the
//!   log (for debugging; the compared logs are made without it).
//!   `sim/scenario.rs`: the `faults.txt` format (documented there) and its
//!   runner.
//! - Tests: unit tests in each file; `tests/cluster_sim.rs` (cold start,
//!   power loss and rejoin, chaos with power losses/partitions/deaths/broken
//!   fences and starts/shutdowns/config changes on 150 two-node and 80
//!   three-node seeds (half with lossy membership), 40 seeds of the reference
//!   policy `policies/two-node-active-standby.toml` and 25 of
//!   `policies/postgresql-ha.toml`; `PACELINE_SIM_LOG=1` prints a run's log),
//!   liveness after a single loss, promotion of the standby after the
//!   primary's fence, and every `tests/scenarios/<name>/` compared with its
//!   `expected.log` (power loss, split settled by fence delays, failing fence
//!   device, resource failure then migration-threshold, clean shutdown, a
//!   monitor failure after a DC change); `PACELINE_SIM_SEED=N` replays a
//!   seed, `PACELINE_REWRITE=1` regenerates the logs.
//! - Driving it (daemon): feed `View` on every membership change, `Document`
//!   on every change of the store's document, `Synced` when the local store
//!   becomes a ready DC, results and fence outcomes as they come, `Tick`
//!   periodically; run `Plan` where it holds nothing up (the daemon on a
//!   blocking thread, the simulator and the unit tests at once) and feed
//!   back `Planned`; apply `RecordStatus` through the local store's
//!   `on_status_patch`, and call the store's `on_peer_settled` when the
//!   controller records `NodeFenced` (ok) or `NodeLeftCleanly` for a peer.
//!   Results go back to the DC that asked and to the node's current DC.
//! - Not done: live migration (a Move is
//!   stop + start), unfencing on rejoin, recovery on a watchdog deadline (the
//!   DC waits for a `FenceOutcome` whatever the device); recurring monitors'
//!   own runs are not serialized with one-shot operations (only their first
//!   run is); notifications of clones of groups.

mod dc;
pub mod ledger;
pub mod patch;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{ClusterConfig, ClusterStatus, FenceEvent, NodeId, ResourceId};
use crate::scheduler::transition::{self, Transition};

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
    /// A ticket's state here changes (`paceline ticket`, crm_ticket; or
    /// the site's grant through etcd).
    Ticket {
        ticket: String,
        change: TicketChange,
    },
    /// A permanent node attribute (`crm_attribute -l forever`; Pacemaker's
    /// CIB `<nodes>` section): kept when its node is fenced, leaves or
    /// restarts, where `Attribute`'s transient ones are erased. Protocol
    /// version 5 (`version_needed`).
    PermanentAttribute {
        node: NodeId,
        name: String,
        value: Option<String>,
    },
}

impl StatusPatch {
    /// The oldest protocol version whose members read this patch: release
    /// 0.1.0 (version 4) knows neither tickets nor permanent attributes,
    /// so a message carrying one is sent only to a view that speaks 5.
    pub fn version_needed(&self) -> u8 {
        match self {
            StatusPatch::Ticket { .. } | StatusPatch::PermanentAttribute { .. } => 5,
            _ => 4,
        }
    }
}

/// What `StatusPatch::Ticket` does, as crm_ticket's `--grant`, `--revoke`,
/// `--standby` and `--activate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketChange {
    /// Granted here, at `at` (seconds since the epoch).
    Grant { at: i64 },
    /// Not granted here: running resources get their loss-policy.
    Revoke,
    /// Still granted, but its resources stop (gracefully, no loss-policy).
    Standby,
    /// Out of standby.
    Activate,
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

/// The policy engine's work for one plan: `scheduler::schedule` and
/// `transition::build` on the configuration and the status as the DC sees
/// them. It grows faster than the number of resources (9,000 primitives
/// took 5 s in a release build), so the DC never does it inside `handle`:
/// it asks with `Command::Plan`, and the driver runs `run` where it holds
/// nothing up (the daemon on a blocking thread, away from the event loop
/// and its heartbeats; the simulator and the unit tests at once) and
/// feeds the answer back as `Input::Planned`. Pacemaker's controller
/// likewise asks its scheduler (a separate daemon until 2.1) and drops a
/// reply that is not the one it waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    /// Which state of the DC's inputs this plan is for: an answer made
    /// for an older one is discarded (`Input::Planned`).
    pub generation: u64,
    pub config: Arc<ClusterConfig>,
    /// The DC's working status with its view overlaid.
    pub status: ClusterStatus,
    /// Seconds since the epoch (failure expiry).
    pub wall: i64,
}

/// The answer to a `PlanRequest`.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub generation: u64,
    /// The status it planned on (handed back, so the DC need not keep a
    /// copy meanwhile).
    pub status: ClusterStatus,
    pub transition: Transition,
    /// The plan's decisions, one line each with the reason.
    pub changes: Vec<String>,
}

impl PlanRequest {
    /// Plans: pure, on any thread.
    pub fn run(self) -> Planned {
        let plan = crate::scheduler::schedule(&self.config, &self.status, self.wall);
        let transition = transition::build(&self.config, &self.status, &plan);
        Planned {
            generation: self.generation,
            changes: dc::plan_changes(&plan),
            status: self.status,
            transition,
        }
    }
}

/// The status of a changed document: whole, or as the patches applied
/// to the one given before, in order (the common case, a patch per result:
/// nothing of the size of the whole status is copied or compared).
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentStatus {
    Whole(Box<ClusterStatus>),
    Patched(Vec<StatusPatch>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The membership view this node holds.
    View {
        members: BTreeSet<NodeId>,
        quorate: bool,
    },
    /// The replicated document changed (a new config epoch or status
    /// update). The configuration is shared: the same `Arc` as before
    /// means it did not change (compared without reading it).
    Document {
        config: Arc<ClusterConfig>,
        status: DocumentStatus,
    },
    ActionResult(ActionResult),
    FenceOutcome(FenceOutcome),
    /// An operator confirmed that `target` is off (`paceline fence confirm`,
    /// Pacemaker's `stonith_admin --confirm`): a node that died together
    /// with its fence device. Taken as a successful fence of it, recorded
    /// with `by` as the client; refused while `target` is a member.
    FenceConfirmed {
        target: NodeId,
        by: String,
    },
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
    /// The answer to `Command::Plan`.
    Planned(Box<Planned>),
    /// Time passed (timeouts, fence retries, failure-timeout expiry).
    Tick,
    /// These requests (by id) were never sent: the node core held them
    /// until the status they were planned on was committed, and this node
    /// stopped being the DC that could commit it (issue 21). They are
    /// forgotten like steps on a node that left, and the transition aborts.
    Withdrawn(Vec<u64>),
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
    /// Run this plan where it holds nothing up and answer with
    /// `Input::Planned` (see `PlanRequest`). At most one is outstanding.
    Plan(Box<PlanRequest>),
}
