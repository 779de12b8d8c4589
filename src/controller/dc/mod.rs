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

use std::collections::{BTreeMap, BTreeSet};

use super::{Command, ControllerSettings, Input, StatusPatch};
use crate::model::{ClusterConfig, ClusterStatus, NodeId};
use crate::scheduler::transition::Step;
use dispatch::{Active, InFlight};
use fencing::FenceState;
use record::max_call_id;

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
    members: BTreeSet<NodeId>,
    quorate: bool,
    was_quorate: bool,
    is_dc: bool,
    config: Option<Box<ClusterConfig>>,
    /// The status of the last replicated document.
    doc_status: ClusterStatus,
    /// `doc_status` plus this DC's patches the document does not show yet.
    working: ClusterStatus,
    pending: Vec<StatusPatch>,
    next_id: u64,
    transition_seq: u64,
    active: Option<Active>,
    in_flight: BTreeMap<u64, InFlight>,
    fences: BTreeMap<NodeId, FenceState>,
    replan: bool,
    /// Steps of the transition that just completed: the same plan again
    /// right after it, with nothing new in between, would loop.
    last_completed: Option<Vec<Step>>,
    recurring: BTreeSet<(NodeId, String, u64)>,
    /// Results already recorded (node, request id, rc), oldest first, so a
    /// repeated answer is recorded once; bounded.
    recorded: BTreeSet<(NodeId, u64, i32)>,
    recorded_order: std::collections::VecDeque<(NodeId, u64, i32)>,
    lost: BTreeSet<NodeId>,
    suicide_requested: bool,
    recheck_at_ms: Option<u64>,
    /// One-shot operations a previous DC dispatched whose results are still
    /// to come (pending records on members), with the time this DC stops
    /// waiting for them: (node, instance, operation) -> deadline.
    foreign_pending: BTreeMap<(NodeId, String, String), u64>,
    /// After a view change a quorate DC plans only once the store says it
    /// synced (`Input::Synced`), or after `SYNC_WAIT_MS` without that.
    awaiting_document_until: Option<u64>,
    /// When this controller got its first view (startup).
    first_view_ms: Option<u64>,
    /// Members asked for their `NodeReport` (they joined this DC's view, or
    /// this node became DC), with the time this DC stops waiting.
    reports: BTreeMap<NodeId, u64>,
    /// Members whose report (or, failing that, probes) this DC has.
    reported: BTreeSet<NodeId>,
    /// Members to probe for every resource: they did not report in time.
    to_probe: BTreeSet<NodeId>,
    /// A fence was confirmed since promotion scores were last refreshed
    /// (`refresh_promotion_scores`).
    refresh_scores: bool,
    now_ms: u64,
    wall: i64,
    /// Every node's first fencing level passed a monitor (see
    /// `ControllerSettings::require_fencing_ready`).
    fencing_ready: bool,
    fencing_blockers: Vec<String>,
}

impl Controller {
    pub fn new(settings: ControllerSettings) -> Self {
        Controller {
            settings,
            members: BTreeSet::new(),
            quorate: false,
            was_quorate: false,
            is_dc: false,
            config: None,
            doc_status: ClusterStatus::default(),
            working: ClusterStatus::default(),
            pending: Vec::new(),
            next_id: ID_BLOCK,
            transition_seq: 0,
            active: None,
            in_flight: BTreeMap::new(),
            fences: BTreeMap::new(),
            replan: false,
            last_completed: None,
            recurring: BTreeSet::new(),
            recorded: BTreeSet::new(),
            recorded_order: std::collections::VecDeque::new(),
            lost: BTreeSet::new(),
            suicide_requested: false,
            recheck_at_ms: None,
            foreign_pending: BTreeMap::new(),
            awaiting_document_until: None,
            first_view_ms: None,
            reports: BTreeMap::new(),
            reported: BTreeSet::new(),
            refresh_scores: false,
            to_probe: BTreeSet::new(),
            now_ms: 0,
            wall: 0,
            fencing_ready: false,
            fencing_blockers: Vec::new(),
        }
    }

    pub fn settings(&self) -> &ControllerSettings {
        &self.settings
    }

    /// Whether this node is the DC of its current view.
    pub fn is_dc(&self) -> bool {
        self.is_dc
    }

    /// The status this controller plans on (the document plus its own
    /// patches not replicated yet).
    pub fn working_status(&self) -> &ClusterStatus {
        &self.working
    }

    /// Whether the DC has nothing in flight and nothing left to do.
    pub fn is_idle(&self) -> bool {
        self.active.is_none() && self.in_flight.is_empty() && self.fences.is_empty() && !self.replan
    }

    /// Feeds one input at `now_ms` (milliseconds of a monotonic clock) and
    /// `wall` (seconds since the epoch, for failure expiry and history).
    pub fn handle(&mut self, now_ms: u64, wall: i64, input: Input) -> Vec<Command> {
        self.now_ms = now_ms;
        self.wall = wall;
        let mut out = Vec::new();
        match input {
            Input::View { members, quorate } => self.on_view(members, quorate, &mut out),
            Input::Document { config, status } => self.on_document(config, *status, &mut out),
            Input::ActionResult(r) => self.on_result(r, &mut out),
            Input::FenceOutcome(o) => self.on_fence(o, &mut out),
            Input::FencingReady { ready, blockers } => {
                let was = self.fencing_ready;
                self.fencing_ready = ready;
                self.fencing_blockers = blockers;
                if ready && !was {
                    self.replan = true;
                }
            }
            Input::Synced => {
                if self.awaiting_document_until.take().is_some() {
                    self.replan = true;
                }
            }
            Input::NodeReport(r) => self.on_report(r, &mut out),
            Input::Tick => {}
        }
        self.suicide(&mut out);
        if self.is_dc {
            self.timeouts(&mut out);
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
