//! The designated controller's rules, sans-IO: `Controller::handle(now_ms,
//! wall, Input) -> Vec<Command>`. Without quorum every node is its own DC
//! and acts only on itself. The duties live one per file:
//! `join.rs` (views, members' reports, probes), `plan.rs` (when and what
//! to plan), `fencing.rs` (fencing the unclean, suicide), `dispatch.rs`
//! (the transition's steps in graph order, timeouts, aborts), `record.rs`
//! (the working status and every result) and `describe.rs` (the words of
//! notices).

mod describe;
mod dispatch;
mod fencing;
mod join;
mod plan;
mod record;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::{Command, ControllerSettings, Input, StatusPatch};
use crate::model::{ClusterConfig, ClusterStatus, NodeId};
pub(super) use describe::plan_changes;
use dispatch::Running;
use fencing::Fencing;
use join::Join;
use plan::Asked;
use record::{SeenResults, max_call_id};

/// Each DC incarnation takes its action (and call) ids from a fresh block
/// above every call id in the status, so ids never repeat across DCs and
/// the history stays ordered by call id.
const ID_BLOCK: u64 = 1 << 20;

/// How long a quorate DC waits for `Input::Synced` before it plans on the
/// document it has anyway (a driver that never sends it still works).
pub(super) const SYNC_WAIT_MS: u64 = 30_000;

/// The per-node controller. Only acts while this node is the DC.
#[derive(Debug, Clone)]
pub struct Controller {
    settings: ControllerSettings,
    view: View,
    config: Option<Arc<ClusterConfig>>,
    /// The status of the last replicated document.
    doc_status: ClusterStatus,
    /// `doc_status` plus this DC's patches the document does not show yet.
    working: ClusterStatus,
    /// This DC's patches the document does not show yet, in order.
    pending: VecDeque<StatusPatch>,
    next_id: u64,
    join: Join,
    fencing: Fencing,
    running: Running,
    seen: SeenResults,
    /// Something changed: plan again once nothing is awaited.
    replan: bool,
    /// When to plan again without a change (expiring failures, a retry,
    /// a wait that ends).
    recheck_at_ms: Option<u64>,
    /// The version of what a plan is made of (configuration, working
    /// status, view): bumped on every change of one, so that a plan made
    /// for an older version is discarded (`Input::Planned`).
    generation: u64,
    /// The plan asked of the driver and not answered yet (at most one).
    asked: Option<Asked>,
    now_ms: u64,
    wall: i64,
}

/// The membership this controller last heard of, and its place in it.
#[derive(Debug, Clone, Default)]
struct View {
    members: BTreeSet<NodeId>,
    quorate: bool,
    /// Quorum was held once (no-quorum-policy=suicide acts on its loss).
    was_quorate: bool,
    is_dc: bool,
    /// When this controller got its first view (startup).
    first_view_ms: Option<u64>,
    /// After a view change a quorate DC plans only once the store says it
    /// synced (`Input::Synced`), or after `SYNC_WAIT_MS` without that.
    awaiting_document_until: Option<u64>,
}

impl Controller {
    pub fn new(settings: ControllerSettings) -> Self {
        Controller {
            settings,
            view: View::default(),
            config: None,
            doc_status: ClusterStatus::default(),
            working: ClusterStatus::default(),
            pending: VecDeque::new(),
            next_id: ID_BLOCK,
            join: Join::default(),
            fencing: Fencing::default(),
            running: Running::default(),
            seen: SeenResults::default(),
            replan: false,
            recheck_at_ms: None,
            generation: 0,
            asked: None,
            now_ms: 0,
            wall: 0,
        }
    }

    pub fn settings(&self) -> &ControllerSettings {
        &self.settings
    }

    /// Whether this node is the DC of its current view.
    pub fn is_dc(&self) -> bool {
        self.view.is_dc
    }

    /// The status this controller plans on (the document plus its own
    /// patches not replicated yet).
    pub fn working_status(&self) -> &ClusterStatus {
        &self.working
    }

    /// Whether the DC has nothing in flight and nothing left to do.
    pub fn is_idle(&self) -> bool {
        self.running.active.is_none()
            && self.running.in_flight.is_empty()
            && self.fencing.targets.is_empty()
            && self.asked.is_none()
            && !self.replan
    }

    /// Feeds one input at `now_ms` (milliseconds of a monotonic clock) and
    /// `wall` (seconds since the epoch, for failure expiry and history).
    pub fn handle(&mut self, now_ms: u64, wall: i64, input: Input) -> Vec<Command> {
        self.now_ms = now_ms;
        self.wall = wall;
        let mut out = Vec::new();
        match input {
            Input::View { members, quorate } => self.on_view(members, quorate, &mut out),
            Input::Document { config, status } => self.on_document(config, status, &mut out),
            Input::ActionResult(r) => self.on_result(r, &mut out),
            Input::FenceOutcome(o) => self.on_fence(o, None, &mut out),
            Input::FenceConfirmed { target, by } => self.on_fence_confirmed(target, by, &mut out),
            Input::FencingReady { ready, blockers } => self.on_fencing_ready(ready, blockers),
            Input::Synced => {
                if self.view.awaiting_document_until.take().is_some() {
                    self.replan = true;
                }
            }
            Input::NodeReport(r) => self.on_report(r, &mut out),
            Input::Planned(p) => self.on_planned(*p, &mut out),
            Input::Tick => {}
            Input::Withdrawn(ids) => self.on_withdrawn(&ids, &mut out),
        }
        self.suicide(&mut out);
        if self.view.is_dc {
            self.report_timeouts(&mut out);
            self.action_timeouts(&mut out);
            self.step(&mut out);
        }
        out
    }

    fn dc_of(&self, members: &BTreeSet<NodeId>) -> Option<&NodeId> {
        self.settings
            .nodes
            .iter()
            .filter(|(name, _)| members.contains(name))
            .min_by_key(|(_, id)| *id)
            .map(|(name, _)| name)
    }

    /// What a plan is made of changed: a plan asked before is outdated.
    fn inputs_changed(&mut self) {
        self.generation += 1;
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn bump_ids(&mut self) {
        let seen = self.next_id.max(max_call_id(&self.working));
        if seen >= self.next_id || self.next_id % ID_BLOCK == 0 {
            self.next_id = (seen / ID_BLOCK + 1) * ID_BLOCK;
        }
    }
}
