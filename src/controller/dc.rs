//! The DC's rules: overlay the view on the status, probe joining nodes,
//! schedule, fence first, dispatch the transition in graph order, record
//! every result, abort and re-plan when the world changes.

use std::collections::{BTreeMap, BTreeSet};

use super::patch::next_fence_id;
use super::patch::{is_failure, op_status};
use super::{
    ActionRequest, ActionResult, Command, ControllerSettings, FenceOutcome, FenceRequest, Input,
    NodeReport, Notice, StatusPatch, apply_patch,
};
use crate::model::FenceEvent;
use crate::model::{
    CloneChild, ClusterConfig, ClusterStatus, NoQuorumPolicy, NodeId, Primitive, Resource,
    ResourceClass, Role, rc,
};
use crate::scheduler::transition::{self, Step, StepKind, Transition, primitive_of};
use crate::scheduler::{observe, schedule};

/// Each DC incarnation takes its action (and call) ids from a fresh block
/// above every call id in the status, so ids never repeat across DCs and
/// the history stays ordered by call id.
const ID_BLOCK: u64 = 1 << 20;

/// How often an idle DC re-plans while failures may expire (failure-timeout).
const RECHECK_MS: u64 = 15_000;

/// How many answered results the DC remembers to drop repeats.
const RECORDED_MAX: usize = 4_096;

/// How long a quorate DC waits for `Input::Synced` before it plans on the
/// document it has anyway (a driver that never sends it still works).
const SYNC_WAIT_MS: u64 = 30_000;

/// How long a DC waits for a member's `NodeReport` before it probes the
/// member's resources instead (a member that cannot answer, e.g. one that
/// speaks an older protocol).
const REPORT_WAIT_MS: u64 = 3_000;

/// Pacemaker's default dc-deadtime: after startup, how long the membership
/// may take to settle before a node missing from it is fenced.
const DC_DEADTIME_MS: u64 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepState {
    Waiting,
    InFlight,
    Done,
    Failed,
}

#[derive(Debug, Clone)]
struct Active {
    id: u64,
    transition: Transition,
    state: Vec<StepState>,
    aborted: Option<String>,
}

#[derive(Debug, Clone)]
struct InFlight {
    request: ActionRequest,
    /// The transition step, or `None` for a probe.
    step: Option<usize>,
    deadline_ms: u64,
}

#[derive(Debug, Clone)]
struct FenceState {
    in_flight: bool,
    retry_at_ms: u64,
    backoff_ms: u64,
    action: String,
    /// When the attempt in flight was dispatched (for the history).
    requested_ms: u64,
}

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

/// One decision of the plan, as the log shows it.
fn describe_change(c: &crate::scheduler::Change) -> String {
    let role = |r: Option<crate::model::Role>| r.map(|r| format!(" ({r:?})")).unwrap_or_default();
    let place = match (&c.from, &c.to) {
        (Some(a), Some(b)) if a != b => {
            format!("{a}{} -> {b}{}", role(c.from_role), role(c.to_role))
        }
        (Some(a), _) | (None, Some(a)) => format!(
            "on {a}{}{}",
            role(c.from_role),
            match (c.from_role, c.to_role) {
                (Some(x), Some(y)) if x != y => format!(" -> {y:?}"),
                (None, Some(y)) => format!(" -> {y:?}"),
                _ => String::new(),
            }
        ),
        (None, None) => String::new(),
    };
    let mut s = format!("{} {} {place}", c.verb.name(), c.subject);
    if let Some(why) = &c.reason {
        s.push_str(": ");
        s.push_str(why);
    }
    s.trim_end().to_string()
}

fn failure_text(r: &ActionResult) -> String {
    let what = if r.op_status == op_status::TIMED_OUT {
        "timed out".to_string()
    } else {
        format!("rc {}", r.rc)
    };
    let mut s = format!(
        "{} of {} on {} failed ({what})",
        op_label(&r.operation, r.interval_ms),
        r.instance,
        r.node
    );
    if !r.output.is_empty() {
        s.push_str(": ");
        s.push_str(&r.output);
    }
    s
}

fn op_label(operation: &str, interval_ms: u64) -> String {
    match (operation, interval_ms) {
        ("monitor", 0) => "probe".to_string(),
        (op, 0) => op.to_string(),
        (op, i) => format!("{op} (every {i} ms)"),
    }
}

fn all_primitives(config: &ClusterConfig) -> Vec<&Primitive> {
    primitives_with_priority(config)
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// Every configured primitive with its `priority` meta attribute, or else
/// its group's, or else its clone's (Pacemaker's inheritance of meta
/// attributes).
fn primitives_with_priority(config: &ClusterConfig) -> Vec<(&Primitive, i64)> {
    let of = |p: &Primitive, parents: &[Option<i64>]| {
        p.meta
            .priority
            .or(parents.iter().flatten().next().copied())
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    for r in &config.resources {
        match r {
            Resource::Primitive(p) => out.push((p, of(p, &[]))),
            Resource::Group(g) => {
                out.extend(g.members.iter().map(|p| (p, of(p, &[g.meta.priority]))))
            }
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) => out.push((p, of(p, &[c.meta.priority]))),
                CloneChild::Group(g) => out.extend(
                    g.members
                        .iter()
                        .map(|p| (p, of(p, &[g.meta.priority, c.meta.priority]))),
                ),
            },
        }
    }
    out
}

fn max_call_id(status: &ClusterStatus) -> u64 {
    status
        .nodes
        .values()
        .flat_map(|n| n.resources.iter())
        .flat_map(|h| h.ops.iter())
        .map(|o| u64::try_from(o.call_id).unwrap_or(0))
        .max()
        .unwrap_or(0)
}

fn starts_or_promotes(s: &Step) -> bool {
    matches!(&s.kind, StepKind::Resource { operation, .. } if operation == "start" || operation == "promote")
}

fn is_post_notification(s: &Step) -> bool {
    matches!(&s.kind, StepKind::Resource { operation, meta, .. }
        if operation == "notify" && meta.get("notify_type").map(String::as_str) == Some("post"))
}

/// Drops the steps `drop` names and every step ordered after one of them
/// (a monitor after a start that may not run must not run either: it
/// would find the resource stopped and count a failure), with their edges.
fn drop_with_dependents(t: Transition, drop: impl Fn(&Step) -> bool) -> Transition {
    let mut dropped: Vec<bool> = t.steps.iter().map(&drop).collect();
    let mut stack: Vec<usize> = (0..t.steps.len()).filter(|&i| dropped[i]).collect();
    while let Some(a) = stack.pop() {
        for &(x, b) in &t.edges {
            if x == a && !dropped[b] {
                dropped[b] = true;
                stack.push(b);
            }
        }
    }
    retain_indices(t, |i| !dropped[i])
}

/// Keeps the steps `keep` accepts, with the edges between them.
fn retain_steps(t: Transition, keep: impl Fn(&Step) -> bool) -> Transition {
    let kept: Vec<bool> = t.steps.iter().map(keep).collect();
    retain_indices(t, |i| kept[i])
}

/// Keeps the steps whose index `keep` accepts, with the edges between them.
fn retain_indices(t: Transition, keep: impl Fn(usize) -> bool) -> Transition {
    let mut map = vec![None; t.steps.len()];
    let mut out = Transition::default();
    for (i, s) in t.steps.into_iter().enumerate() {
        if keep(i) {
            map[i] = Some(out.steps.len());
            out.steps.push(s);
        }
    }
    out.edges = t
        .edges
        .iter()
        .filter_map(|&(a, b)| Some((map[a]?, map[b]?)))
        .collect();
    out
}

fn node_of(patch: &StatusPatch) -> Option<&str> {
    match patch {
        StatusPatch::OpResult(r) => Some(&r.node),
        StatusPatch::NodeJoined(n) | StatusPatch::NodeLeftCleanly(n) => Some(n),
        StatusPatch::NodeFenced(o) => Some(&o.target),
        StatusPatch::Attribute { node, .. } => Some(node),
        StatusPatch::NodeHistory { node, .. } => Some(node),
        // The fencing history is the cluster's, not the target's: a fence
        // that erases the target's patches must not take it along.
        StatusPatch::Cleanup { .. } | StatusPatch::FenceEvent(_) => None,
    }
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

    fn on_view(&mut self, members: BTreeSet<NodeId>, quorate: bool, out: &mut Vec<Command>) {
        let changed = members != self.members || quorate != self.quorate;
        let was_dc = self.is_dc;
        self.first_view_ms.get_or_insert(self.now_ms);
        // Without quorum every node looks after itself (no-quorum-policy
        // stops what runs here); nobody decides for others on a status the
        // store cannot sync.
        self.is_dc = !quorate || self.dc_of(&members) == Some(&self.settings.own);
        self.members = members;
        self.quorate = quorate;
        if quorate {
            self.was_quorate = true;
            self.suicide_requested = false;
        }
        if self.is_dc && !was_dc {
            self.become_dc(out);
        } else if was_dc && !self.is_dc {
            self.resign();
        } else if changed && self.is_dc {
            // Steps on nodes that left will never answer: the fence (or
            // their clean leave) settles them.
            let gone: Vec<u64> = self
                .in_flight
                .iter()
                .filter(|(_, f)| !self.members.contains(&f.request.node))
                .map(|(id, _)| *id)
                .collect();
            for id in gone {
                if let Some(f) = self.in_flight.remove(&id)
                    && let (Some(step), Some(active)) = (f.step, self.active.as_mut())
                {
                    active.state[step] = StepState::Failed;
                }
            }
            self.abort("the membership changed", out);
        }
        if self.is_dc && changed && quorate {
            self.awaiting_document_until = Some(self.now_ms + SYNC_WAIT_MS);
        }
        if self.is_dc {
            // A member that left must report again when it is back.
            let members = &self.members;
            self.reported.retain(|n| members.contains(n));
            self.reports.retain(|n, _| members.contains(n));
            self.to_probe.retain(|n| members.contains(n));
        }
        if self.is_dc {
            // The store drops patches while it has no quorum and queues
            // them while it syncs: send again what the document lacks
            // (patches are idempotent).
            for p in &self.pending {
                out.push(Command::RecordStatus(p.clone()));
            }
        }
    }

    /// Asks each member this DC has no report of what its executor did
    /// (Pacemaker's join): the answers, not probes, tell this DC what runs
    /// on them. Without quorum this node only looks after itself. Only
    /// once synced: the report's results are stamped with call ids above
    /// every one in the document, which a stale document cannot promise.
    fn ask_for_reports(&mut self, out: &mut Vec<Command>) {
        let ask: Vec<NodeId> = self
            .settings
            .nodes
            .iter()
            .map(|(n, _)| n)
            .filter(|n| self.members.contains(*n))
            .filter(|n| self.quorate || **n == self.settings.own)
            .filter(|n| !self.reported.contains(*n) && !self.reports.contains_key(*n))
            .cloned()
            .collect();
        for node in ask {
            self.reports
                .insert(node.clone(), self.now_ms + REPORT_WAIT_MS);
            out.push(Command::RequestReport { node });
        }
    }

    /// A member's report replaces what the status knew of its resources;
    /// what it lacks (a primitive it never ran) is probed next.
    fn on_report(&mut self, r: NodeReport, out: &mut Vec<Command>) {
        if !self.is_dc || self.reports.remove(&r.node).is_none() {
            // Not asked, or asked by this node as an earlier DC: stale.
            return;
        }
        self.reported.insert(r.node.clone());
        // What this DC once asked of the node may have been stopped since
        // (by the node's own DC in a partition): the report's history says
        // which monitors still run, and the plan asks for the others.
        self.recurring.retain(|(n, _, _)| *n != r.node);
        out.push(Command::Notice(Notice::NodeReported {
            node: r.node.clone(),
            results: r.results.len(),
            pending: r.pending.len(),
        }));
        let from_call_id = self.next_id + 1;
        let mut results = Vec::new();
        for mut x in r.results.into_iter().filter(|x| x.node == r.node) {
            // Stamped in the order the node obtained them: the history
            // replays them in that order.
            x.id = self.fresh_id();
            results.push(x);
        }
        for q in r.pending.into_iter().filter(|q| q.node == r.node) {
            // A start or stop still running is recorded as such: this DC
            // waits for its answer (which the node sends here too) before
            // planning what depends on it.
            if !matches!(
                q.operation.as_str(),
                "start" | "stop" | "promote" | "demote"
            ) {
                continue;
            }
            let pending = self.pending_result(&q);
            results.push(pending);
        }
        self.record(
            StatusPatch::NodeHistory {
                node: r.node,
                from_call_id,
                results,
            },
            out,
        );
        self.replan = true;
    }

    /// The record of `q` still running (a fresh call id, so the newest).
    fn pending_result(&mut self, q: &ActionRequest) -> ActionResult {
        ActionResult {
            id: self.fresh_id(),
            node: q.node.clone(),
            resource: q.resource.clone(),
            instance: q.instance.clone(),
            operation: q.operation.clone(),
            interval_ms: 0,
            rc: rc::PENDING,
            op_status: op_status::PENDING,
            output: String::new(),
            at: self.wall,
            exec_ms: 0,
        }
    }

    fn become_dc(&mut self, out: &mut Vec<Command>) {
        out.push(Command::Notice(Notice::BecameDc));
        self.reports.clear();
        self.reported.clear();
        self.to_probe.clear();
        self.active = None;
        self.in_flight.clear();
        self.fences.clear();
        self.lost.clear();
        self.last_completed = None;
        self.bump_ids();
        self.replan = true;
    }

    fn resign(&mut self) {
        self.reports.clear();
        self.reported.clear();
        self.to_probe.clear();
        self.active = None;
        self.in_flight.clear();
        self.fences.clear();
        self.pending.clear();
        self.working = self.doc_status.clone();
        self.replan = false;
    }

    fn bump_ids(&mut self) {
        let seen = self.next_id.max(max_call_id(&self.working));
        if seen >= self.next_id || self.next_id % ID_BLOCK == 0 {
            self.next_id = (seen / ID_BLOCK + 1) * ID_BLOCK;
        }
    }

    fn on_document(
        &mut self,
        config: Box<ClusterConfig>,
        status: ClusterStatus,
        out: &mut Vec<Command>,
    ) {
        let config_changed = self.config.as_deref() != Some(&*config);
        self.config = Some(config);
        self.doc_status = status;
        let before = std::mem::take(&mut self.working);
        self.working = self.doc_status.clone();
        let working = &mut self.working;
        // Patches the document already reflects change nothing: drop them.
        self.pending.retain(|p| apply_patch(working, p));
        if max_call_id(&self.working) >= self.next_id {
            self.bump_ids();
        }
        if !self.is_dc {
            return;
        }
        if config_changed {
            self.abort("the configuration changed", out);
        } else if self.working != before && !self.plan_still_holds(&before) {
            self.abort("the status changed", out);
        }
    }

    /// Records a status change: applied to the working copy at once, sent
    /// to the store, kept until the document shows it.
    fn record(&mut self, patch: StatusPatch, out: &mut Vec<Command>) {
        if let Some(node) = node_of(&patch).map(str::to_string) {
            match &patch {
                // A fence or clean leave erases the node: older patches about it are moot.
                StatusPatch::NodeFenced(_) | StatusPatch::NodeLeftCleanly(_) => {
                    self.pending.retain(|p| node_of(p) != Some(node.as_str()));
                }
                StatusPatch::NodeJoined(_) => self.pending.retain(|p| {
                    !(node_of(p) == Some(node.as_str())
                        && matches!(
                            p,
                            StatusPatch::NodeFenced(_)
                                | StatusPatch::NodeLeftCleanly(_)
                                | StatusPatch::NodeJoined(_)
                        ))
                }),
                _ => {}
            }
        }
        apply_patch(&mut self.working, &patch);
        self.pending.push(patch.clone());
        out.push(Command::RecordStatus(patch));
    }

    fn abort(&mut self, why: &str, out: &mut Vec<Command>) {
        self.replan = true;
        self.last_completed = None;
        if let Some(active) = self.active.as_mut()
            && active.aborted.is_none()
        {
            active.aborted = Some(why.to_string());
            out.push(Command::Notice(Notice::TransitionAborted {
                id: active.id,
                why: why.to_string(),
            }));
        }
    }

    fn record_result(&mut self, r: &ActionResult, out: &mut Vec<Command>) {
        let key = (r.node.clone(), r.id, r.rc);
        if self.recorded.insert(key.clone()) {
            self.recorded_order.push_back(key);
            while self.recorded_order.len() > RECORDED_MAX {
                if let Some(old) = self.recorded_order.pop_front() {
                    self.recorded.remove(&old);
                }
            }
        }
        out.push(Command::Notice(Notice::Completed(r.clone())));
        let mut rec = r.clone();
        rec.id = self.fresh_id();
        self.record(StatusPatch::OpResult(rec), out);
        let fatal = self
            .config
            .as_ref()
            .is_some_and(|c| c.properties.start_failure_is_fatal);
        if fatal && r.operation == "start" && is_failure(r) {
            // A start that fails bans the node for that resource (Pacemaker's
            // start-failure-is-fatal), until the failure expires or is cleaned.
            self.record(
                StatusPatch::Attribute {
                    node: r.node.clone(),
                    name: super::patch::fail_count_name(&r.resource, "start", 0),
                    value: Some("INFINITY".to_string()),
                },
                out,
            );
        }
    }

    fn on_result(&mut self, r: ActionResult, out: &mut Vec<Command>) {
        if !self.is_dc || super::patch::is_pending(&r) {
            return;
        }
        let known = self
            .in_flight
            .get(&r.id)
            .is_some_and(|f| f.request.node == r.node);
        if known {
            let Some(f) = self.in_flight.remove(&r.id) else {
                return;
            };
            if r.operation == "notify" {
                // Not part of the resource's history; a failed one is
                // reported and the transition goes on (as Pacemaker
                // ignores notification failures).
                out.push(Command::Notice(Notice::Completed(r.clone())));
                if r.rc != rc::OK || r.op_status != op_status::DONE {
                    out.push(Command::Notice(Notice::Blocked {
                        why: format!(
                            "{} (ignored: notifications do not fail a resource)",
                            failure_text(&r)
                        ),
                    }));
                }
                if let (Some(step), Some(active)) = (f.step, self.active.as_mut()) {
                    active.state[step] = StepState::Done;
                }
                return;
            }
            self.record_result(&r, out);
            let failed = is_failure(&r);
            if let (Some(step), Some(active)) = (f.step, self.active.as_mut()) {
                active.state[step] = if failed {
                    StepState::Failed
                } else {
                    StepState::Done
                };
            }
            if failed {
                self.abort(&failure_text(&r), out);
            } else if f.step.is_none() {
                // A probe answered: planning may proceed once all have.
                self.replan = true;
            }
            return;
        }
        // A recurring monitor's change, or the answer to a previous DC.
        if self.recorded.contains(&(r.node.clone(), r.id, r.rc)) {
            return;
        }
        // Recurring monitors' changes are always recorded, also those of
        // monitors another DC started (a report from a monitor cancelled
        // just before a stop lands after the stop and changes nothing).
        // A late one-shot answer is recorded (with a fresh call id, so as
        // the newest operation) only when it completes the newest record
        // of that resource there, a pending one: anything else since then
        // (a probe, a stop) would be overtaken by an older fact.
        if r.interval_ms == 0 && !self.completes_pending(&r) {
            return;
        }
        self.record_result(&r, out);
        if is_failure(&r) {
            self.abort(&failure_text(&r), out);
        } else {
            self.replan = true;
        }
    }

    /// The earliest deadline of the operations a previous DC dispatched to
    /// members that have not answered yet; None when there are none (or
    /// their time, the operation's timeout plus the grace, is up: then
    /// the plan takes them as the history shows them).
    fn foreign_pending_until(&mut self, config: &ClusterConfig) -> Option<u64> {
        let mut now_pending = BTreeSet::new();
        for (node, st) in &self.working.nodes {
            if !self.members.contains(node) {
                continue;
            }
            for h in &st.resources {
                if let Some(o) = h.ops.iter().max_by_key(|o| o.call_id)
                    && o.interval_ms == 0
                    && (o.rc_code == rc::PENDING || o.op_status == op_status::PENDING)
                {
                    now_pending.insert((node.clone(), h.id.clone(), o.operation.clone()));
                }
            }
        }
        self.foreign_pending.retain(|k, _| now_pending.contains(k));
        for key in now_pending {
            let (now, grace) = (self.now_ms, self.settings.result_grace_ms);
            self.foreign_pending.entry(key.clone()).or_insert_with(|| {
                let prim = config.primitive(primitive_of(&key.1));
                now + transition::op_timeout_ms(config, prim, &key.2, 0) + grace
            });
        }
        self.foreign_pending
            .values()
            .copied()
            .filter(|&d| d > self.now_ms)
            .min()
    }

    fn completes_pending(&self, r: &ActionResult) -> bool {
        self.working.nodes.get(&r.node).is_some_and(|st| {
            st.resources
                .iter()
                .filter(|h| primitive_of(&h.id) == r.resource)
                .filter_map(|h| h.ops.iter().max_by_key(|o| o.call_id))
                .any(|o| {
                    o.operation == r.operation
                        && (o.rc_code == rc::PENDING || o.op_status == op_status::PENDING)
                })
        })
    }

    /// The fencing history's record of an outcome (this node's fencing
    /// service ran it; this controller asked for it if it has it in flight).
    fn fence_event(&self, o: &FenceOutcome) -> FenceEvent {
        let own = &self.settings.own;
        let asked = self.fences.get(&o.target).filter(|st| st.in_flight);
        let suicide = o.target == *own && self.suicide_requested;
        let action = match (o.action.is_empty(), asked) {
            (false, _) => o.action.clone(),
            (true, Some(st)) => st.action.clone(),
            (true, None) => String::new(),
        };
        let completed = if o.at > 0 { o.at } else { self.wall };
        FenceEvent {
            id: next_fence_id(&self.working, own, self.wall),
            target: o.target.clone(),
            action,
            ok: o.ok,
            devices: o.devices.clone(),
            detail: o.detail.clone(),
            delegate: own.clone(),
            origin: own.clone(),
            client: if asked.is_some() || suicide {
                "controller"
            } else {
                "pacelined"
            }
            .to_string(),
            completed,
            elapsed_ms: asked.map(|st| self.now_ms.saturating_sub(st.requested_ms)),
            attempts: 1,
            first_completed: completed,
        }
    }

    fn on_fence(&mut self, o: FenceOutcome, out: &mut Vec<Command>) {
        let event = StatusPatch::FenceEvent(Box::new(self.fence_event(&o)));
        if o.ok {
            out.push(Command::Notice(Notice::FenceConfirmed(o.target.clone())));
            self.fences.remove(&o.target);
            self.lost.remove(&o.target);
            self.recurring.retain(|(n, _, _)| *n != o.target);
            self.refresh_scores = true;
            let target = o.target.clone();
            self.record(StatusPatch::NodeFenced(o), out);
            self.record(event, out);
            if self.is_dc {
                let stale: Vec<u64> = self
                    .in_flight
                    .iter()
                    .filter(|(_, f)| f.request.node == target)
                    .map(|(id, _)| *id)
                    .collect();
                for id in stale {
                    self.in_flight.remove(&id);
                }
                self.abort(&format!("{target} was fenced"), out);
            }
            return;
        }
        out.push(Command::Notice(Notice::FenceFailed {
            target: o.target.clone(),
            detail: o.detail.clone(),
        }));
        self.record(event, out);
        let now = self.now_ms;
        let max = self.settings.fence_retry_max_ms.max(1);
        if let Some(st) = self.fences.get_mut(&o.target) {
            st.in_flight = false;
            st.retry_at_ms = now + st.backoff_ms;
            let retry = st.retry_at_ms;
            self.recheck_at_ms = Some(self.recheck_at_ms.map_or(retry, |t| t.min(retry)));
            out.push(Command::Notice(Notice::Blocked {
                why: format!(
                    "fencing {} failed ({}); nothing it ran is recovered until it is fenced; retrying in {} ms (check its fence device, or power it off and confirm with `paceline fence {}`)",
                    o.target, o.detail, st.backoff_ms, o.target
                ),
            }));
            st.backoff_ms = (st.backoff_ms.saturating_mul(2)).min(max);
        }
    }

    fn suicide(&mut self, out: &mut Vec<Command>) {
        let policy = self.config.as_ref().map(|c| c.properties.no_quorum_policy);
        if policy == Some(NoQuorumPolicy::Suicide)
            && self.was_quorate
            && !self.quorate
            && !self.suicide_requested
            && !self.members.is_empty()
        {
            self.suicide_requested = true;
            let action = self
                .config
                .as_ref()
                .map(|c| c.properties.stonith_action.clone())
                .unwrap_or_else(|| "off".to_string());
            out.push(Command::Notice(Notice::Blocked {
                why: "quorum lost with no-quorum-policy=suicide: fencing this node".to_string(),
            }));
            out.push(Command::Fence(FenceRequest {
                target: self.settings.own.clone(),
                action,
                target_has_priority: false,
            }));
        }
    }

    fn timeouts(&mut self, out: &mut Vec<Command>) {
        let now = self.now_ms;
        let silent: Vec<NodeId> = self
            .reports
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for node in silent {
            self.reports.remove(&node);
            self.reported.insert(node.clone());
            out.push(Command::Notice(Notice::NoReport {
                node: node.clone(),
                waited_ms: REPORT_WAIT_MS,
            }));
            self.to_probe.insert(node);
            self.replan = true;
        }
        let expired: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline_ms <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let Some(f) = self.in_flight.get(&id) else {
                continue;
            };
            let q = &f.request;
            let r = ActionResult {
                id,
                node: q.node.clone(),
                resource: q.resource.clone(),
                instance: q.instance.clone(),
                operation: q.operation.clone(),
                interval_ms: q.interval_ms,
                rc: rc::ERR_GENERIC,
                op_status: op_status::TIMED_OUT,
                output: format!(
                    "no result within {} ms (timeout + grace)",
                    q.timeout_ms + self.settings.result_grace_ms
                ),
                at: self.wall,
                exec_ms: q.timeout_ms,
            };
            self.on_result(r, out);
        }
    }

    fn dispatch(&mut self, step: usize, out: &mut Vec<Command>) {
        let Some(active) = self.active.as_ref() else {
            return;
        };
        let s = active.transition.steps[step].clone();
        let StepKind::Resource {
            resource,
            instance,
            operation,
            interval_ms,
            timeout_ms,
            meta,
        } = s.kind
        else {
            // Fences are dispatched before any transition is started.
            if let Some(active) = self.active.as_mut() {
                active.state[step] = StepState::Done;
            }
            return;
        };
        if matches!(operation.as_str(), "stop" | "demote" | "promote") {
            self.cancel_recurring(&s.node, &instance, out);
        }
        let id = self.fresh_id();
        let request = ActionRequest {
            id,
            node: s.node.clone(),
            resource: resource.clone(),
            instance: instance.clone(),
            operation: operation.clone(),
            interval_ms,
            timeout_ms,
            meta,
        };
        out.push(Command::Notice(Notice::Dispatched(request.clone())));
        out.push(Command::Execute(request.clone()));
        let state = if interval_ms > 0 {
            // A recurring monitor keeps running; only its changes come back.
            self.recurring
                .insert((s.node.clone(), instance, interval_ms));
            StepState::Done
        } else {
            if matches!(operation.as_str(), "start" | "promote") {
                // A successor DC must know this may have happened.
                let pending = self.pending_result(&request);
                self.record(StatusPatch::OpResult(pending), out);
            }
            let deadline_ms = self.now_ms + timeout_ms + self.settings.result_grace_ms;
            self.in_flight.insert(
                id,
                InFlight {
                    request,
                    step: Some(step),
                    deadline_ms,
                },
            );
            StepState::InFlight
        };
        if let Some(active) = self.active.as_mut() {
            active.state[step] = state;
        }
    }

    fn cancel_recurring(&mut self, node: &str, instance: &str, out: &mut Vec<Command>) {
        let mut intervals: BTreeSet<u64> = self
            .recurring
            .iter()
            .filter(|(n, i, _)| n == node && i == instance)
            .map(|(_, _, iv)| *iv)
            .collect();
        if let Some(st) = self.working.nodes.get(node) {
            for h in st.resources.iter().filter(|h| h.id == instance) {
                intervals.extend(
                    h.ops
                        .iter()
                        .filter(|o| o.operation == "monitor" && o.interval_ms > 0)
                        .map(|o| o.interval_ms),
                );
            }
        }
        for interval_ms in intervals {
            self.recurring
                .remove(&(node.to_string(), instance.to_string(), interval_ms));
            out.push(Command::CancelRecurring {
                node: node.to_string(),
                instance: instance.to_string(),
                interval_ms,
            });
        }
    }

    /// Advances the running transition; returns whether it still runs.
    fn advance(&mut self, out: &mut Vec<Command>) -> bool {
        let Some(active) = self.active.as_ref() else {
            return false;
        };
        let aborted = active.aborted.is_some();
        let ready: Vec<usize> = (0..active.state.len())
            .filter(|&i| active.state[i] == StepState::Waiting)
            .filter(|&i| {
                active
                    .transition
                    .edges
                    .iter()
                    .filter(|(_, b)| *b == i)
                    .all(|(a, _)| active.state[*a] == StepState::Done)
            })
            // An aborted transition starts nothing new, except the
            // notifications of actions that are done: they tell the
            // clone's agents what happened, which the next plan will not.
            .filter(|&i| !aborted || is_post_notification(&active.transition.steps[i]))
            .collect();
        for i in ready {
            self.dispatch(i, out);
        }
        let Some(active) = self.active.as_ref() else {
            return false;
        };
        if aborted {
            if self.in_flight.values().any(|f| f.step.is_some()) {
                return true;
            }
            self.active = None;
            self.replan = true;
            return false;
        }
        if active.state.iter().all(|s| *s == StepState::Done) {
            out.push(Command::Notice(Notice::TransitionComplete {
                id: active.id,
            }));
            self.last_completed = Some(active.transition.steps.clone());
            self.active = None;
            self.replan = true;
            return false;
        }
        true
    }

    fn overlay(&self) -> ClusterStatus {
        let mut s = self.working.clone();
        s.have_quorum = self.quorate;
        for (name, _) in &self.settings.nodes {
            if self.members.contains(name) {
                let st = s.nodes.entry(name.clone()).or_default();
                st.uname = name.clone();
                st.has_state = true;
                st.in_ccm = Some(true);
                st.crmd = Some("online".into());
                st.join = Some("member".into());
                st.expected = Some("member".into());
                if !s.node_order.contains(name) {
                    s.node_order.push(name.clone());
                }
            } else if let Some(st) = s.nodes.get_mut(name) {
                st.in_ccm = Some(false);
                st.crmd = Some("offline".into());
            }
        }
        s
    }

    /// Joins and departures become status facts before planning.
    fn membership_facts(&mut self, out: &mut Vec<Command>) {
        let configured: Vec<NodeId> = self.settings.nodes.iter().map(|(n, _)| n.clone()).collect();
        for name in configured {
            let st = self.working.nodes.get(&name);
            if self.members.contains(&name) {
                let joined = st.is_some_and(|st| {
                    st.in_ccm == Some(true)
                        && st.expected.as_deref() == Some("member")
                        && st.join.as_deref() == Some("member")
                });
                self.lost.remove(&name);
                if !joined {
                    self.record(StatusPatch::NodeJoined(name), out);
                }
                continue;
            }
            let Some(st) = st else { continue };
            if st.expected.as_deref() != Some("member") {
                continue;
            }
            let shutting_down = st
                .transient_attributes
                .get("shutdown")
                .is_some_and(|v| !v.is_empty() && v != "0");
            let active = st
                .resources
                .iter()
                .any(|h| observe(h).role != Role::Stopped);
            if shutting_down && !active {
                self.record(StatusPatch::NodeLeftCleanly(name), out);
            } else if self.lost.insert(name.clone()) {
                out.push(Command::Notice(Notice::NodeLost(name)));
            }
        }
    }

    /// Probes every configured primitive without history on a member node;
    /// returns whether any probe is outstanding.
    fn probes(&mut self, out: &mut Vec<Command>) -> bool {
        let Some(config) = self.config.clone() else {
            return false;
        };
        let mut wanted = Vec::new();
        for node in &self.members {
            if !self.settings.nodes.iter().any(|(n, _)| n == node) {
                continue;
            }
            let st = self.working.nodes.get(node);
            for p in all_primitives(&config) {
                if p.class == ResourceClass::Stonith {
                    continue;
                }
                let known = !self.to_probe.contains(node)
                    && st
                        .is_some_and(|st| st.resources.iter().any(|h| primitive_of(&h.id) == p.id));
                let probing = self.in_flight.values().any(|f| {
                    f.step.is_none() && f.request.node == *node && f.request.resource == p.id
                });
                if !known && !probing {
                    let timeout_ms = transition::op_timeout_ms(&config, Some(p), "monitor", 0);
                    wanted.push((node.clone(), p.id.clone(), timeout_ms));
                }
            }
        }
        let members = self.members.clone();
        self.to_probe.retain(|n| !members.contains(n));
        for (node, resource, timeout_ms) in wanted {
            self.probe(node, resource, timeout_ms, out);
        }
        self.in_flight.values().any(|f| f.step.is_none())
    }

    fn step(&mut self, out: &mut Vec<Command>) {
        if self.advance(out) {
            return;
        }
        if !self.replan {
            match self.recheck_at_ms {
                Some(t) if t <= self.now_ms => self.replan = true,
                _ => return,
            }
        }
        let awaiting = match self.awaiting_document_until {
            Some(until) if until > self.now_ms => true,
            Some(_) => {
                self.awaiting_document_until = None;
                out.push(Command::Notice(Notice::Blocked {
                    why: format!(
                        "the store did not report a synced document within {SYNC_WAIT_MS} ms of the view change; planning on this node's copy, which may be stale (check the store's quorum and peers)"
                    ),
                }));
                false
            }
            None => false,
        };
        self.recheck_at_ms = None;
        if self.fences.values().any(|f| f.in_flight) || !self.in_flight.is_empty() {
            // Outcomes still to come: plan once they are known.
            return;
        }
        let Some(config) = self.config.clone() else {
            return;
        };
        self.replan = false;
        self.membership_facts(out);
        if !awaiting {
            self.ask_for_reports(out);
        }
        let reporting = !self.reports.is_empty();
        if !awaiting && !reporting && self.probes(out) {
            return;
        }
        let status = self.overlay();
        let plan = schedule(&config, &status, self.wall);
        let t = transition::build(&config, &status, &plan);
        let targets: BTreeMap<NodeId, String> = t
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Fence { action } => Some((s.node.clone(), action.clone())),
                StepKind::Resource { .. } => None,
            })
            .collect();
        self.fences
            .retain(|n, f| f.in_flight || targets.contains_key(n));
        if !targets.is_empty() {
            // While a node is unclean only fencing runs: what it ran is
            // recovered by the next plan, once its fence is confirmed.
            self.fence(targets, out);
            return;
        }
        if awaiting {
            // Fencing needs no synced document (a lost node is lost); the
            // rest waits for `Input::Synced` (or the fallback).
            self.recheck_at_ms = self.awaiting_document_until;
            return;
        }
        if reporting {
            // Nor members' reports; the rest waits for them (or their
            // deadline, after which they are probed).
            self.recheck_at_ms = self.reports.values().copied().min();
            return;
        }
        if let Some(until) = self.foreign_pending_until(&config) {
            // What depends on an operation a previous DC started waits for
            // its result (a pending start counts as started, and a group's
            // next member would start on an unmounted filesystem).
            self.recheck_at_ms = Some(until);
            return;
        }
        let (t, held_for_fencing) = self.feasible(&config, t);
        if held_for_fencing {
            out.push(Command::Notice(Notice::Blocked {
                why: format!(
                    "no resource starts until every node's first fencing level has passed a monitor: {}",
                    if self.fencing_blockers.is_empty() {
                        "the first check is still running".to_string()
                    } else {
                        self.fencing_blockers.join("; ")
                    }
                ),
            }));
        }
        self.refresh_promotion_scores(&config, &status, &t, out);
        self.recheck_idle();
        if t.steps.is_empty() {
            return;
        }
        if self.last_completed.as_ref() == Some(&t.steps) {
            out.push(Command::Notice(Notice::Blocked {
                why: "the plan asks for the same actions it just completed; waiting for a change (check the resource agents' results)".to_string(),
            }));
            return;
        }
        self.transition_seq += 1;
        let id = self.transition_seq;
        out.push(Command::Notice(Notice::TransitionStarted {
            id,
            steps: t.steps.len(),
            changes: plan
                .changes
                .iter()
                .filter(|c| !c.blocked)
                .map(describe_change)
                .chain((!plan.promotion_scores.is_empty()).then(|| {
                    let scores: Vec<String> = plan
                        .promotion_scores
                        .iter()
                        .map(|(i, n, s)| format!("{i} on {n} {s:?}"))
                        .collect();
                    format!("promotion scores: {}", scores.join(", "))
                }))
                .collect(),
        }));
        self.active = Some(Active {
            id,
            state: vec![StepState::Waiting; t.steps.len()],
            transition: t,
            aborted: None,
        });
        self.advance(out);
    }

    /// The steps of `t` this DC may dispatch now, and whether starts were
    /// held back because fencing is not ready yet. Pure: the plan of a
    /// transition and the check of whether it still holds
    /// (`plan_still_holds`) filter alike.
    fn feasible(&self, config: &ClusterConfig, mut t: Transition) -> (Transition, bool) {
        // Only members hear this DC: a step elsewhere would be lost (or,
        // worse, run by a node another DC also commands). Without quorum
        // the store does not sync, so what this DC knows of the others may
        // be stale: it stops only what runs here.
        // A recurring monitor this DC started keeps running; until its first
        // result lands in the history the plan asks for it again (unless the
        // instance changes in this transition, which restarts its monitors).
        let touched: BTreeSet<(NodeId, String)> = t
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Resource {
                    instance,
                    interval_ms: 0,
                    operation,
                    ..
                } if operation != "notify" => Some((s.node.clone(), instance.clone())),
                _ => None,
            })
            .collect();
        let running = &self.recurring;
        t = retain_steps(t, |s| match &s.kind {
            StepKind::Resource {
                instance,
                interval_ms,
                ..
            } if *interval_ms > 0 => {
                touched.contains(&(s.node.clone(), instance.clone()))
                    || !running.contains(&(s.node.clone(), instance.clone(), *interval_ms))
            }
            _ => true,
        });
        let (members, own, quorate) = (&self.members, &self.settings.own, self.quorate);
        t = retain_steps(t, |s| {
            members.contains(&s.node) && (quorate || s.node == *own)
        });
        let quorum_ok =
            self.quorate || config.properties.no_quorum_policy == NoQuorumPolicy::Ignore;
        if !quorum_ok {
            t = drop_with_dependents(t, starts_or_promotes);
        }
        let fencing_on = config.properties.stonith_enabled;
        let mut held = false;
        if fencing_on && self.settings.require_fencing_ready && !self.fencing_ready {
            let before = t.steps.len();
            t = drop_with_dependents(t, starts_or_promotes);
            held = t.steps.len() < before;
        }
        (t, held)
    }

    /// Whether the running transition is still what this DC would plan now,
    /// after a change of transient attributes only (an agent's promote
    /// updates its scores and replication state): the steps it has yet to
    /// dispatch are exactly the ones a new plan would dispatch, except for
    /// recurring monitors that follow one of its steps still in flight (the
    /// new plan does not see that step done yet). Notifications are left
    /// out: they follow the actions. Pacemaker aborts on every such change,
    /// and the promote's post-notification then delays the start of what
    /// is ordered after the promote.
    fn plan_still_holds(&self, before: &ClusterStatus) -> bool {
        let (Some(config), Some(active)) = (self.config.as_deref(), self.active.as_ref()) else {
            return false;
        };
        let without_attributes = |s: &ClusterStatus| {
            let mut s = s.clone();
            for n in s.nodes.values_mut() {
                n.transient_attributes.clear();
            }
            s
        };
        if active.aborted.is_some()
            || !self.reports.is_empty()
            || self.fences.values().any(|f| f.in_flight)
            || without_attributes(before) != without_attributes(&self.working)
        {
            return false;
        }
        let key = |s: &transition::Step| match &s.kind {
            StepKind::Resource {
                instance,
                operation,
                interval_ms,
                ..
            } if operation != "notify" => Some((
                s.node.clone(),
                instance.clone(),
                operation.clone(),
                *interval_ms,
            )),
            StepKind::Resource { .. } => None,
            StepKind::Fence { action } => Some((s.node.clone(), String::new(), action.clone(), 0)),
        };
        let status = self.overlay();
        let plan = schedule(config, &status, self.wall);
        let (wanted, _) = self.feasible(config, transition::build(config, &status, &plan));
        let wanted: BTreeSet<_> = wanted.steps.iter().filter_map(key).collect();
        let steps = &active.transition.steps;
        let in_flight: Vec<usize> = (0..steps.len())
            .filter(|&i| active.state[i] == StepState::InFlight)
            .collect();
        let mut waiting = BTreeSet::new();
        for (i, s) in steps.iter().enumerate() {
            if active.state[i] != StepState::Waiting {
                continue;
            }
            let Some(k) = key(s) else { continue };
            let follows_in_flight = k.3 > 0
                && in_flight.iter().any(|&f| {
                    active.transition.edges.contains(&(f, i))
                        && key(&steps[f]).is_some_and(|fk| fk.1 == k.1)
                });
            if wanted.contains(&k) || !follows_in_flight {
                waiting.insert(k);
            }
        }
        wanted == waiting
    }

    /// After a fence, a promotable clone left with no promoted instance and
    /// none about to be promoted gets its running instances probed once,
    /// beside the transition: agents such as pgsql compute a standby's
    /// promotion score in their monitor, and with the primary gone the
    /// next recurring one may be seconds away (Pacemaker waits for it).
    /// The result changes the status, so the DC re-plans with the fresh
    /// scores as soon as the transition allows.
    fn refresh_promotion_scores(
        &mut self,
        config: &ClusterConfig,
        status: &ClusterStatus,
        t: &Transition,
        out: &mut Vec<Command>,
    ) {
        if !std::mem::take(&mut self.refresh_scores) || !self.quorate {
            return;
        }
        let mut wanted = Vec::new();
        for r in &config.resources {
            let Resource::Clone(c) = r else { continue };
            let CloneChild::Primitive(p) = &c.child else {
                continue;
            };
            if !c.promotable {
                continue;
            }
            let touched = |node: &str, ops: &[&str]| {
                t.steps.iter().any(|s| {
                    s.node == node
                        && matches!(&s.kind, StepKind::Resource { resource, operation, .. }
                            if *resource == p.id && ops.contains(&operation.as_str()))
                })
            };
            if self.members.iter().any(|n| touched(n, &["promote"])) {
                continue;
            }
            let mut running = Vec::new();
            let mut promoted = false;
            for node in &self.members {
                let Some(st) = status.nodes.get(node) else {
                    continue;
                };
                for h in st.resources.iter().filter(|h| primitive_of(&h.id) == p.id) {
                    match observe(h).role {
                        Role::Promoted => promoted = true,
                        Role::Started | Role::Unpromoted => running.push(node.clone()),
                        _ => {}
                    }
                }
            }
            if promoted {
                continue;
            }
            for node in running {
                if !touched(&node, &["stop", "demote"]) {
                    wanted.push((node, p));
                }
            }
        }
        for (node, p) in wanted {
            let timeout_ms = transition::op_timeout_ms(config, Some(p), "monitor", 0);
            self.probe(node, p.id.clone(), timeout_ms, out);
        }
    }

    /// Dispatches a probe (a one-shot monitor) outside any transition.
    fn probe(&mut self, node: NodeId, resource: String, timeout_ms: u64, out: &mut Vec<Command>) {
        let id = self.fresh_id();
        let request = ActionRequest {
            id,
            node,
            resource: resource.clone(),
            instance: resource,
            operation: "monitor".into(),
            interval_ms: 0,
            timeout_ms,
            meta: Default::default(),
        };
        out.push(Command::Notice(Notice::Dispatched(request.clone())));
        out.push(Command::Execute(request.clone()));
        let deadline_ms = self.now_ms + timeout_ms + self.settings.result_grace_ms;
        self.in_flight.insert(
            id,
            InFlight {
                request,
                step: None,
                deadline_ms,
            },
        );
    }

    fn recheck_idle(&mut self) {
        let failures = self.working.nodes.values().any(|st| {
            st.transient_attributes
                .keys()
                .any(|k| k.starts_with("fail-count-"))
        });
        if failures {
            self.recheck_at_ms = Some(self.now_ms + RECHECK_MS);
        }
    }

    fn dc_deadtime_ms(&self) -> u64 {
        self.config
            .as_ref()
            .and_then(|c| c.properties.raw.get("dc-deadtime"))
            .and_then(|v| crate::config::cib::parse_duration_ms(v))
            .unwrap_or(DC_DEADTIME_MS)
    }

    /// Total `priority` meta of the primitives active on `node`, per the
    /// status this DC plans on (Pacemaker's priority-fencing-delay rule).
    /// The total `priority` of what runs on `node`, as Pacemaker counts it
    /// for priority-fencing-delay: each active primitive's priority (its
    /// own, else its group's or clone's), plus one for a promoted instance
    /// of a resource whose priority is not 0, so that of two nodes running
    /// the same clone the one with the primary counts more.
    fn priority_on(&self, node: &str) -> i64 {
        let Some(config) = self.config.as_deref() else {
            return 0;
        };
        let Some(state) = self.working_status().nodes.get(node) else {
            return 0;
        };
        let mut total = 0;
        for (p, priority) in primitives_with_priority(config) {
            let roles = state
                .resources
                .iter()
                .filter(|h| transition::primitive_of(&h.id) == p.id)
                .map(|h| crate::scheduler::observe(h).role);
            let Some(role) = roles.filter(|r| *r >= crate::model::Role::Started).max() else {
                continue;
            };
            total += priority;
            if priority != 0 && role == crate::model::Role::Promoted {
                total += 1;
            }
        }
        total
    }

    fn fence(&mut self, targets: BTreeMap<NodeId, String>, out: &mut Vec<Command>) {
        let now = self.now_ms;
        // Right after startup views still form: a node missing from the
        // first ones is not lost yet (nothing of it is recovered either).
        let settle_until = self.first_view_ms.unwrap_or(now) + self.dc_deadtime_ms();
        if now < settle_until {
            if self.recheck_at_ms.is_none_or(|t| t > settle_until) {
                out.push(Command::Notice(Notice::Blocked {
                    why: format!(
                        "not fencing {} before dc-deadtime ({} ms) has passed since startup",
                        targets.keys().cloned().collect::<Vec<_>>().join(", "),
                        self.dc_deadtime_ms()
                    ),
                }));
            }
            self.recheck_at_ms = Some(settle_until);
            return;
        }
        let first = self.settings.fence_retry_ms.max(1);
        let mut next_retry: Option<u64> = None;
        for (target, action) in targets {
            let st = self.fences.entry(target.clone()).or_insert(FenceState {
                in_flight: false,
                retry_at_ms: now,
                backoff_ms: first,
                action,
                requested_ms: now,
            });
            if st.in_flight {
                continue;
            }
            if st.retry_at_ms > now {
                next_retry = Some(next_retry.map_or(st.retry_at_ms, |t| t.min(st.retry_at_ms)));
                continue;
            }
            st.in_flight = true;
            st.requested_ms = now;
            let action = st.action.clone();
            out.push(Command::Notice(Notice::FenceRequested(target.clone())));
            let target_has_priority =
                self.priority_on(&target) > self.priority_on(&self.settings.own);
            out.push(Command::Fence(FenceRequest {
                target,
                action,
                target_has_priority,
            }));
        }
        if next_retry.is_some() {
            self.recheck_at_ms = next_retry;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::controller::Ledger;

    const RESOURCES: &str = r#"[[primitive]]
id = "fs"
agent = "ocf:heartbeat:Dummy"
ops = [{ name = "monitor", interval = "10s", timeout = "5s" }]

[[primitive]]
id = "vip"
agent = "ocf:heartbeat:Dummy"
ops = [{ name = "monitor", interval = "5s" }]

[[group]]
id = "app"
members = ["fs", "vip"]

[[location]]
id = "prefer-node2"
resource = "app"
node = "node2"
score = 50
"#;

    /// node1 and node2, fenced, an app group (fs, vip) preferring node2.
    pub(crate) fn config() -> String {
        crate::config::fixtures::two_nodes(
            true,
            "[rsc_defaults]\nmigration-threshold = 2\n",
            RESOURCES,
        )
    }

    fn settings(own: &str) -> ControllerSettings {
        ControllerSettings {
            own: own.into(),
            nodes: vec![("node1".into(), 1), ("node2".into(), 2)],
            result_grace_ms: 1_000,
            fence_retry_ms: 1_000,
            fence_retry_max_ms: 8_000,
            require_fencing_ready: false,
        }
    }

    type Answer = dyn Fn(&ActionRequest) -> Option<Option<i32>>;

    /// The controller of node1 with a perfect store and obedient agents:
    /// every recorded patch comes back as a document, every action answers
    /// (unless `answer` says otherwise), resources' real state is `truth`.
    struct Harness {
        ctl: Controller,
        config: ClusterConfig,
        store: ClusterStatus,
        now: u64,
        queue: VecDeque<Input>,
        log: Vec<Command>,
        truth: BTreeMap<(NodeId, String), Role>,
        /// rc to answer instead of the natural one; `None` in the outer
        /// option = never answer.
        answer: Box<Answer>,
        fence_ok: bool,
        held_fences: Vec<FenceRequest>,
        /// The store drops every patch (it has no quorum yet).
        store_drops: bool,
        /// Each node's executor ledger (one DC: the harness's node1).
        ledgers: BTreeMap<NodeId, Ledger<u8>>,
        /// Report requests go unanswered.
        silent_reports: bool,
    }

    impl Harness {
        fn new(config_text: &str) -> Self {
            let config = crate::config::load_config_str(config_text, "t.toml").unwrap();
            Harness {
                ctl: Controller::new(settings("node1")),
                config,
                store: ClusterStatus::default(),
                now: 0,
                queue: VecDeque::new(),
                log: Vec::new(),
                truth: BTreeMap::new(),
                answer: Box::new(|_| Some(None)),
                fence_ok: true,
                held_fences: Vec::new(),
                store_drops: false,
                ledgers: BTreeMap::new(),
                silent_reports: false,
            }
        }

        fn document(&self) -> Input {
            Input::Document {
                config: Box::new(self.config.clone()),
                status: Box::new(self.store.clone()),
            }
        }

        fn view(&mut self, members: &[&str], quorate: bool) {
            let members = members.iter().map(|m| m.to_string()).collect();
            self.queue.push_back(Input::View { members, quorate });
            // The store syncs in the new view and hands over its document.
            self.queue.push_back(self.document());
            self.queue.push_back(Input::Synced);
            self.run();
        }

        fn execute(&mut self, q: &ActionRequest) -> Option<ActionResult> {
            let key = (q.node.clone(), primitive_of(&q.instance).to_string());
            let natural = match (q.operation.as_str(), q.interval_ms) {
                ("monitor", 0) => match self.truth.get(&key) {
                    Some(Role::Promoted) => rc::RUNNING_PROMOTED,
                    Some(_) => rc::OK,
                    None => rc::NOT_RUNNING,
                },
                // Recurring monitors report only changes.
                ("monitor", _) => return None,
                ("start", _) => {
                    self.truth.insert(key.clone(), Role::Started);
                    rc::OK
                }
                ("stop", _) => {
                    self.truth.remove(&key);
                    rc::OK
                }
                _ => rc::OK,
            };
            let rc = (self.answer)(q)?.unwrap_or(natural);
            Some(ActionResult {
                id: q.id,
                node: q.node.clone(),
                resource: q.resource.clone(),
                instance: q.instance.clone(),
                operation: q.operation.clone(),
                interval_ms: q.interval_ms,
                rc,
                op_status: 0,
                output: String::new(),
                at: (self.now / 1000) as i64,
                exec_ms: 1,
            })
        }

        fn run(&mut self) {
            for _ in 0..10_000 {
                let Some(input) = self.queue.pop_front() else {
                    return;
                };
                let out = self.ctl.handle(self.now, (self.now / 1000) as i64, input);
                let mut changed = false;
                for c in out {
                    match &c {
                        Command::Execute(q) => {
                            let ledger = self.ledgers.entry(q.node.clone()).or_default();
                            ledger.accepted(0, q);
                            if let Some(r) = self.execute(q) {
                                if let Some(l) = self.ledgers.get_mut(&q.node) {
                                    l.finished(0, &r);
                                }
                                self.queue.push_back(Input::ActionResult(r));
                            }
                        }
                        Command::RequestReport { node } if !self.silent_reports => {
                            let ledger = self.ledgers.entry(node.clone()).or_default();
                            let report = ledger.report(node, 0);
                            self.queue.push_back(Input::NodeReport(report));
                        }
                        Command::RecordStatus(p) if !self.store_drops => {
                            apply_patch(&mut self.store, p);
                            changed = true;
                        }
                        Command::Fence(f) => {
                            if self.fence_ok {
                                self.truth.retain(|(n, _), _| *n != f.target);
                                self.queue.push_back(Input::FenceOutcome(FenceOutcome {
                                    target: f.target.clone(),
                                    ok: true,
                                    detail: "bmc: off".into(),
                                    at: 0,
                                    action: f.action.clone(),
                                    devices: vec!["bmc".into()],
                                }));
                            } else {
                                self.held_fences.push(f.clone());
                            }
                        }
                        _ => {}
                    }
                    self.log.push(c);
                }
                if changed {
                    self.queue.push_back(self.document());
                }
            }
            panic!("the controller never settles: {:#?}", self.log);
        }

        fn tick(&mut self, ms: u64) {
            self.now += ms;
            self.queue.push_back(Input::Tick);
            self.run();
        }

        fn executed(&self) -> Vec<(String, String, String)> {
            self.log
                .iter()
                .filter_map(|c| match c {
                    Command::Execute(q) if q.interval_ms == 0 => {
                        Some((q.operation.clone(), q.instance.clone(), q.node.clone()))
                    }
                    _ => None,
                })
                .collect()
        }

        fn position(&self, op: &str, rsc: &str, node: &str) -> Option<usize> {
            self.executed()
                .iter()
                .position(|(o, r, n)| o == op && r == rsc && n == node)
        }

        /// Whether `op` went to `node` for any instance.
        fn dispatched(&self, op: &str, node: &str) -> bool {
            self.executed().iter().any(|(o, _, n)| o == op && n == node)
        }

        /// node2 is lost while its fence cannot succeed: the request
        /// node1's DC holds for it.
        fn lose_node2(&mut self) -> FenceRequest {
            self.fence_ok = false;
            self.view(&["node1"], true);
            assert_eq!(self.held_fences.len(), 1, "{:?}", self.log);
            self.held_fences[0].clone()
        }

        fn running(&self, node: &str, rsc: &str) -> bool {
            self.truth
                .contains_key(&(node.to_string(), rsc.to_string()))
        }

        /// Both nodes up, everything started on node2 (the location).
        fn started() -> Self {
            let mut h = Harness::new(&config());
            h.queue.push_back(h.document());
            h.view(&["node1", "node2"], true);
            assert!(h.running("node2", "fs") && h.running("node2", "vip"));
            h.log.clear();
            h
        }
    }

    fn notices(log: &[Command]) -> Vec<&Notice> {
        log.iter()
            .filter_map(|c| match c {
                Command::Notice(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn only_the_lowest_configured_id_is_dc() {
        let config = crate::config::load_config_str(&config(), "t.toml").unwrap();
        let mut other = Controller::new(settings("node2"));
        let doc = Input::Document {
            config: Box::new(config),
            status: Box::default(),
        };
        assert!(other.handle(0, 0, doc).is_empty());
        let members: BTreeSet<NodeId> = ["node1".to_string(), "node2".to_string()].into();
        let out = other.handle(
            0,
            0,
            Input::View {
                members,
                quorate: true,
            },
        );
        assert!(out.is_empty() && !other.is_dc(), "{out:?}");
        let alone: BTreeSet<NodeId> = ["node2".to_string()].into();
        let out = other.handle(
            1,
            0,
            Input::View {
                members: alone,
                quorate: true,
            },
        );
        assert!(other.is_dc());
        assert!(matches!(out[0], Command::Notice(Notice::BecameDc)));
    }

    #[test]
    fn while_fencing_is_not_ready_nothing_ordered_after_a_start_runs_either() {
        let mut h = Harness::new(&config());
        h.ctl = Controller::new(ControllerSettings {
            require_fencing_ready: true,
            ..settings("node1")
        });
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        let recurring = |h: &Harness| {
            h.log
                .iter()
                .filter(|c| matches!(c, Command::Execute(q) if q.interval_ms > 0))
                .count()
        };
        assert!(
            !h.executed().iter().any(|(o, ..)| o == "start"),
            "{:?}",
            h.executed()
        );
        assert_eq!(
            recurring(&h),
            0,
            "no monitor of a resource that was not started: {:?}",
            h.log
        );
        h.queue.push_back(Input::FencingReady {
            ready: true,
            blockers: Vec::new(),
        });
        h.run();
        assert!(h.running("node2", "fs") && h.running("node2", "vip"));
        assert!(recurring(&h) >= 2);
    }

    #[test]
    fn a_new_dc_learns_what_runs_from_the_members_reports_not_from_probes() {
        let mut h = Harness::started();
        // The document loses the last results (the old DC died before
        // replicating them): only the members' executors still know.
        h.store.nodes.get_mut("node2").unwrap().resources.clear();
        h.ctl = Controller::new(settings("node1"));
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        let ex = h.executed();
        assert!(ex.is_empty(), "no probe, no restart: {ex:?}");
        let reported: Vec<&NodeId> = notices(&h.log)
            .iter()
            .filter_map(|n| match n {
                Notice::NodeReported { node, .. } => Some(node),
                _ => None,
            })
            .collect();
        assert_eq!(reported, vec!["node1", "node2"]);
        let st = &h.store.nodes["node2"];
        for rsc in ["fs", "vip"] {
            assert!(
                st.resources
                    .iter()
                    .any(|r| r.id == rsc && observe(r).role == Role::Started),
                "{rsc} known started from the report: {:?}",
                st.resources
            );
        }
        assert!(h.ctl.is_idle());
    }

    #[test]
    fn a_member_that_does_not_report_is_probed_after_the_wait() {
        let mut h = Harness::started();
        h.ctl = Controller::new(settings("node1"));
        h.silent_reports = true;
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        assert!(
            h.executed().is_empty(),
            "nothing before the reports or their deadline"
        );
        h.tick(REPORT_WAIT_MS);
        let ex = h.executed();
        let probes = ex.iter().filter(|(o, ..)| o == "monitor").count();
        assert_eq!(probes, 4, "both nodes probed for both primitives: {ex:?}");
        assert!(
            !ex.iter().any(|(o, ..)| o == "start" || o == "stop"),
            "{ex:?}"
        );
        assert!(
            notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::NoReport { node, .. } if node == "node2"))
        );
    }

    #[test]
    fn a_start_still_running_on_a_member_is_awaited_by_the_new_dc() {
        let mut h = Harness::started();
        // The old DC had asked node2 to restart vip; the stop is done and the
        // start still runs when node1 takes over with a document that never
        // heard of either.
        let l = h.ledgers.get_mut("node2").unwrap();
        let stop = ActionRequest {
            id: 900,
            node: "node2".into(),
            resource: "vip".into(),
            instance: "vip".into(),
            operation: "stop".into(),
            interval_ms: 0,
            timeout_ms: 20_000,
            meta: Default::default(),
        };
        let start = ActionRequest {
            id: 901,
            operation: "start".into(),
            ..stop.clone()
        };
        l.accepted(0, &stop);
        l.finished(
            0,
            &ActionResult {
                id: 900,
                node: "node2".into(),
                resource: "vip".into(),
                instance: "vip".into(),
                operation: "stop".into(),
                interval_ms: 0,
                rc: 0,
                op_status: 0,
                output: String::new(),
                at: 0,
                exec_ms: 1,
            },
        );
        l.accepted(0, &start);
        h.ctl = Controller::new(settings("node1"));
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        assert!(
            h.executed().is_empty(),
            "the pending start counts as started: {:?}",
            h.executed()
        );
        let vip = h.store.nodes["node2"]
            .resources
            .iter()
            .find(|r| r.id == "vip")
            .unwrap();
        assert!(observe(vip).pending);
    }

    #[test]
    fn joining_nodes_are_probed_before_anything_starts_then_the_graph_runs_in_order() {
        let mut h = Harness::new(&config());
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        let ex = h.executed();
        let first_start = ex.iter().position(|(o, ..)| o == "start").unwrap();
        let probes: Vec<_> = ex.iter().filter(|(o, ..)| o == "monitor").collect();
        assert_eq!(probes.len(), 4, "two primitives on two nodes: {ex:?}");
        assert!(ex[..first_start].iter().all(|(o, ..)| o == "monitor"));
        let fs = h.position("start", "fs", "node2").unwrap();
        let vip = h.position("start", "vip", "node2").unwrap();
        assert!(fs < vip, "group order: {ex:?}");
        // Recurring monitors follow the starts; everything is recorded.
        assert!(h.log.iter().any(
            |c| matches!(c, Command::Execute(q) if q.instance == "vip" && q.interval_ms == 5_000)
        ));
        let st = &h.store.nodes["node2"];
        assert_eq!(st.expected.as_deref(), Some("member"));
        assert!(
            st.resources
                .iter()
                .any(|r| r.id == "fs" && observe(r).role == Role::Started)
        );
        assert!(h.ctl.is_idle());
        assert!(
            notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::TransitionComplete { .. }))
        );
        // Nothing more to do: a tick changes nothing.
        h.log.clear();
        h.tick(100);
        assert!(h.executed().is_empty());
    }

    #[test]
    fn nothing_starts_until_every_first_fencing_level_passed_a_monitor() {
        let mut h = Harness::new(&config());
        h.ctl.settings.require_fencing_ready = true;
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        let ex = h.executed();
        assert!(!ex.iter().any(|(o, ..)| o == "start"), "{ex:?}");
        assert!(
            ex.iter().any(|(o, ..)| o == "monitor"),
            "probes run: {ex:?}"
        );
        assert!(
            notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::Blocked { why }
                if why.contains("first fencing level") && why.contains("still running"))),
            "says why"
        );
        h.queue.push_back(Input::FencingReady {
            ready: false,
            blockers: vec!["node2: device bmc-node2 failed its monitor".into()],
        });
        h.tick(100);
        assert!(!h.executed().iter().any(|(o, ..)| o == "start"));
        h.queue.push_back(Input::FencingReady {
            ready: true,
            blockers: Vec::new(),
        });
        h.tick(100);
        assert!(
            h.executed().iter().any(|(o, ..)| o == "start"),
            "starts once fencing is ready: {:?}",
            h.executed()
        );
    }

    #[test]
    fn a_fence_request_says_whether_the_target_runs_the_higher_priority() {
        // app runs on node2 (prefer-node2); with a priority on its members
        // node2 outranks node1, so node1's request for node2 carries it.
        let config = config().replace(
            "[[primitive]]\nid = \"fs\"\nagent = \"ocf:heartbeat:Dummy\"",
            "[[primitive]]\nid = \"fs\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = { priority = 10 }",
        );
        let mut h = Harness::new(&config);
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        assert!(h.running("node2", "fs"));
        let fence = h.lose_node2();
        assert!(fence.target_has_priority, "{fence:?}");

        // Without priorities nobody has it.
        let mut plain = Harness::started();
        assert!(!plain.lose_node2().target_has_priority);
    }

    #[test]
    fn the_node_with_the_promoted_instance_of_a_prioritised_clone_outranks_the_other() {
        // Both nodes run db-ha (priority 10 on the clone): only the
        // promoted instance's +1 tells them apart.
        let mut h = promoting("meta = { priority = 10 }", Box::new(|_| Some(None)));
        assert!(h.dispatched("promote", "node2"), "{:?}", h.log);
        assert_eq!(
            (h.ctl.priority_on("node1"), h.ctl.priority_on("node2")),
            (10, 11)
        );
        let fence = h.lose_node2();
        assert!(fence.target_has_priority, "{fence:?}");
    }

    /// A promotable clone db-ha of Stateful on both nodes, fenced.
    fn promotable() -> String {
        crate::config::fixtures::two_nodes(true, "", PROMOTABLE_RESOURCES)
    }

    const PROMOTABLE_RESOURCES: &str = r#"[[primitive]]
id = "db"
agent = "ocf:pacemaker:Stateful"
ops = [
  { name = "monitor", interval = "10s" },
  { name = "monitor", interval = "5s", role = "Promoted" },
]

[[clone]]
id = "db-ha"
resource = "db"
promotable = true
promoted_max = 1
"#;

    /// Both nodes up with the promotable clone, notify = true, node2's
    /// agent scoring itself for promotion; agents answer as `answer` says.
    fn promoting_with_notifications(answer: Box<Answer>) -> Harness {
        promoting("notify = true", answer)
    }

    /// Both nodes up with the promotable clone (`clone_extra` added to
    /// its table), node2's agent scoring itself for promotion; agents
    /// answer as `answer` says.
    fn promoting(clone_extra: &str, answer: Box<Answer>) -> Harness {
        let text = promotable().replace(
            "promoted_max = 1",
            &format!("promoted_max = 1\n{clone_extra}"),
        );
        let mut h = Harness::new(&text);
        h.answer = answer;
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        let st = h.store.nodes.get_mut("node2").unwrap();
        st.transient_attributes
            .insert("master-db".into(), "100".into());
        h.queue.push_back(h.document());
        h.run();
        h
    }

    #[test]
    fn notifications_run_around_the_clones_actions_stay_out_of_its_history_and_may_fail() {
        // Every notification fails: reported, and ignored.
        let h = promoting_with_notifications(Box::new(|q| {
            Some((q.operation == "notify").then_some(1))
        }));
        let notified: Vec<(String, String)> = h
            .log
            .iter()
            .filter_map(|c| match c {
                Command::Execute(q) if q.operation == "notify" => Some((
                    q.node.clone(),
                    format!(
                        "{}-{}",
                        q.meta.get("notify_type").cloned().unwrap_or_default(),
                        q.meta.get("notify_operation").cloned().unwrap_or_default()
                    ),
                )),
                _ => None,
            })
            .collect();
        for node in ["node1", "node2"] {
            for what in ["post-start", "pre-promote", "post-promote"] {
                assert!(
                    notified.contains(&(node.to_string(), what.to_string())),
                    "{what} on {node}: {notified:?}"
                );
            }
        }
        assert!(
            h.position("promote", "db:0", "node2").is_some()
                || h.position("promote", "db:1", "node2").is_some(),
            "{:?}",
            h.executed()
        );
        assert!(
            h.store
                .nodes
                .values()
                .flat_map(|n| n.resources.iter())
                .flat_map(|r| r.ops.iter())
                .all(|o| o.operation != "notify"),
            "no notification in the history"
        );
        assert!(
            h.store
                .nodes
                .values()
                .all(|n| !n.transient_attributes.keys().any(|k| k.contains("notify"))),
            "a failed notification counts no failure"
        );
        assert!(
            notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::Blocked { why } if why.contains("ignored")))
        );
        assert!(h.ctl.is_idle());
    }

    #[test]
    fn an_agent_updating_its_attributes_during_its_promote_does_not_abort_the_transition() {
        let mut h =
            promoting_with_notifications(Box::new(|q| (q.operation != "promote").then_some(None)));
        assert!(h.dispatched("promote", "node2"), "{:?}", h.log);
        // pgsql's promote records its replication state and score.
        let st = h.store.nodes.get_mut("node2").unwrap();
        st.transient_attributes
            .insert("db-status".into(), "PRI".into());
        st.transient_attributes
            .insert("master-db".into(), "1000".into());
        h.queue.push_back(h.document());
        h.run();
        assert!(
            !notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::TransitionAborted { .. })),
            "{:?}",
            notices(&h.log)
        );
    }

    #[test]
    fn an_aborted_transition_still_sends_the_post_notifications_of_what_it_did() {
        // The promote's answer is held back.
        let mut h =
            promoting_with_notifications(Box::new(|q| (q.operation != "promote").then_some(None)));
        let promote = h
            .log
            .iter()
            .find_map(|c| match c {
                Command::Execute(q) if q.operation == "promote" => Some(q.clone()),
                _ => None,
            })
            .expect("a promote is dispatched");
        // The promoted node is put in standby meanwhile: the transition
        // aborts.
        let st = h.store.nodes.get_mut("node1").unwrap();
        st.transient_attributes
            .insert("standby".into(), "on".into());
        h.queue.push_back(h.document());
        h.run();
        assert!(
            notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::TransitionAborted { .. }))
        );
        h.log.clear();
        h.queue.push_back(Input::ActionResult(ActionResult {
            id: promote.id,
            node: promote.node.clone(),
            resource: promote.resource.clone(),
            instance: promote.instance.clone(),
            operation: "promote".into(),
            interval_ms: 0,
            rc: rc::OK,
            op_status: 0,
            output: String::new(),
            at: 0,
            exec_ms: 1,
        }));
        h.run();
        let posts: Vec<&str> = h
            .log
            .iter()
            .filter_map(|c| match c {
                Command::Execute(q)
                    if q.operation == "notify"
                        && q.meta.get("notify_type").map(String::as_str) == Some("post") =>
                {
                    Some(q.node.as_str())
                }
                _ => None,
            })
            .collect();
        assert!(
            posts.contains(&"node1") && posts.contains(&"node2"),
            "post-promote to both: {:?}",
            h.log
        );
    }

    #[test]
    fn after_a_fence_a_standby_without_a_promotion_score_is_probed_once_for_a_fresh_one() {
        let mut h = Harness::new(&promotable());
        let score = |h: &mut Harness, node: &str, v: Option<&str>| {
            let st = h.store.nodes.get_mut(node).unwrap();
            match v {
                Some(v) => st.transient_attributes.insert("master-db".into(), v.into()),
                None => st.transient_attributes.remove("master-db"),
            };
            h.queue.push_back(h.document());
            h.run();
        };
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        // The agent on node2 says it is the better primary.
        score(&mut h, "node2", Some("100"));
        score(&mut h, "node1", Some("5"));
        assert!(
            h.position("promote", "db:0", "node2").is_some()
                || h.position("promote", "db:1", "node2").is_some(),
            "{:?}",
            h.executed()
        );
        // node2 loses power; like pgsql, node1's agent has withdrawn its
        // score while a primary was running.
        score(&mut h, "node1", None);
        h.log.clear();
        h.view(&["node1"], true);
        let probes: Vec<_> = h
            .executed()
            .into_iter()
            .filter(|(o, _, n)| o == "monitor" && n == "node1")
            .collect();
        assert_eq!(
            probes,
            vec![("monitor".to_string(), "db".to_string(), "node1".to_string())],
            "{:?}",
            h.log
        );
        assert!(!h.executed().iter().any(|(o, ..)| o == "promote"));
        // The probe's monitor sets a score: the standby is promoted. No
        // further probe: one refresh per fence.
        h.log.clear();
        score(&mut h, "node1", Some("1000"));
        let ex = h.executed();
        assert!(
            ex.iter().any(|(o, _, n)| o == "promote" && n == "node1"),
            "{ex:?}"
        );
        assert!(!ex.iter().any(|(o, ..)| o == "monitor"), "{ex:?}");
    }

    #[test]
    fn a_lost_node_is_fenced_before_its_resources_are_recovered() {
        let mut h = Harness::started();
        h.fence_ok = false;
        h.view(&["node1"], true);
        assert!(
            h.executed().is_empty(),
            "nothing before the fence: {:?}",
            h.log
        );
        assert_eq!(h.held_fences.len(), 1);
        assert_eq!(h.held_fences[0].target, "node2");
        // The device fails: reported, retried with back-off, nothing recovered.
        let fail = |h: &mut Harness| {
            h.queue.push_back(Input::FenceOutcome(FenceOutcome {
                target: "node2".into(),
                ok: false,
                detail: "bmc unreachable".into(),
                at: 0,
                action: String::new(),
                devices: Vec::new(),
            }));
            h.run();
        };
        fail(&mut h);
        let n = notices(&h.log);
        assert!(
            n.iter()
                .any(|n| matches!(n, Notice::FenceFailed { target, .. } if target == "node2"))
        );
        assert!(n.iter().any(|n| matches!(n, Notice::Blocked { .. })));
        h.tick(500);
        assert_eq!(h.held_fences.len(), 1, "no retry before the back-off");
        h.tick(600);
        assert_eq!(h.held_fences.len(), 2, "retried after 1 s");
        fail(&mut h);
        h.tick(1_100);
        assert_eq!(h.held_fences.len(), 2, "the back-off doubled");
        h.tick(1_000);
        assert_eq!(h.held_fences.len(), 3);
        assert!(h.executed().is_empty());
        // Confirmed: recorded, then recovery on the survivor.
        h.queue.push_back(Input::FenceOutcome(FenceOutcome {
            target: "node2".into(),
            ok: true,
            detail: "off".into(),
            at: 0,
            action: "off".into(),
            devices: vec!["bmc".into()],
        }));
        h.truth.retain(|(n, _), _| n != "node2");
        h.run();
        assert!(h.log.iter().any(|c| matches!(c, Command::RecordStatus(StatusPatch::NodeFenced(o)) if o.target == "node2")));
        // Both failed attempts and the confirmation are in the replicated
        // fencing history: the failures as one entry, asked by this DC.
        let history = &h.store.fencing_history;
        assert_eq!(history.len(), 2, "{history:#?}");
        let (failed, ok) = (&history[0], &history[1]);
        assert!(!failed.ok && failed.attempts == 2, "{failed:?}");
        assert_eq!(failed.detail, "bmc unreachable");
        assert!(ok.ok && ok.target == "node2" && ok.devices == ["bmc"]);
        for e in history {
            assert_eq!((e.origin.as_str(), e.delegate.as_str()), ("node1", "node1"));
            assert_eq!(e.client, "controller");
            assert!(!e.action.is_empty(), "the action of the request: {e:?}");
            assert!(e.elapsed_ms.is_some());
        }
        assert!(ok.id > failed.id);
        assert!(h.running("node1", "fs") && h.running("node1", "vip"));
        let ex = h.executed();
        assert!(ex.iter().all(|(_, _, n)| n == "node1"), "{ex:?}");
    }

    #[test]
    fn a_change_aborts_the_transition_and_in_flight_steps_are_awaited() {
        let mut h = Harness::new(&config());
        // fs's start never answers.
        h.answer = Box::new(|q| (q.operation != "start" || q.instance != "fs").then_some(None));
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        assert!(h.position("start", "fs", "node2").is_some());
        let before = h.executed().len();
        // An attribute that changes nothing in the plan changes (a
        // node-side patch through the store): the transition goes on.
        let attribute = |h: &mut Harness, node: &str, name: &str, value: &str| {
            apply_patch(
                &mut h.store,
                &StatusPatch::Attribute {
                    node: node.into(),
                    name: name.into(),
                    value: Some(value.into()),
                },
            );
            h.queue.push_back(h.document());
            h.run();
        };
        attribute(&mut h, "node1", "color", "blue");
        assert!(
            !notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::TransitionAborted { .. })),
            "the plan still holds"
        );
        // One that changes the plan aborts it: node2, where fs starts, is
        // put in standby.
        attribute(&mut h, "node2", "standby", "on");
        assert!(
            notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::TransitionAborted { .. }))
        );
        assert_eq!(
            h.executed().len(),
            before,
            "nothing new while fs's start is in flight"
        );
        // The start times out after its timeout (20 s default) + grace.
        h.tick(20_500);
        assert_eq!(h.executed().len(), before);
        h.tick(1_000);
        let st = &h.store.nodes["node2"];
        let fs = st.resources.iter().find(|r| r.id == "fs").unwrap();
        assert!(
            fs.ops
                .iter()
                .any(|o| o.operation == "start" && o.op_status == op_status::TIMED_OUT)
        );
        // start-failure-is-fatal: fs and its group go to node1.
        assert_eq!(st.transient_attributes["fail-count-fs#start_0"], "INFINITY");
        assert!(
            h.position("start", "fs", "node1").is_some(),
            "{:?}",
            h.executed()
        );
    }

    #[test]
    fn monitor_failures_restart_in_place_then_move_after_migration_threshold() {
        let mut h = Harness::started();
        let monitor_fails = |h: &mut Harness, id: u64| {
            h.truth.remove(&("node2".to_string(), "vip".to_string()));
            h.queue.push_back(Input::ActionResult(ActionResult {
                id,
                node: "node2".into(),
                resource: "vip".into(),
                instance: "vip".into(),
                operation: "monitor".into(),
                interval_ms: 5_000,
                rc: rc::NOT_RUNNING,
                op_status: 0,
                output: "gone".into(),
                at: 10,
                exec_ms: 1,
            }));
            h.run();
        };
        monitor_fails(&mut h, 999_000_001);
        assert_eq!(h.store.nodes["node2"].fail_count("vip"), 1);
        assert!(h.position("stop", "vip", "node2").is_some());
        assert!(
            h.position("start", "vip", "node2").is_some(),
            "{:?}",
            h.executed()
        );
        assert!(h.running("node2", "vip"));
        h.log.clear();
        monitor_fails(&mut h, 999_000_002);
        assert_eq!(h.store.nodes["node2"].fail_count("vip"), 2);
        // migration-threshold 2: the group leaves node2.
        assert!(
            h.running("node1", "vip") && h.running("node1", "fs"),
            "{:?}",
            h.executed()
        );
        assert!(!h.running("node2", "vip"));
    }

    #[test]
    fn a_clean_shutdown_moves_resources_away_and_is_not_fenced() {
        let mut h = Harness::started();
        apply_patch(
            &mut h.store,
            &StatusPatch::Attribute {
                node: "node2".into(),
                name: "shutdown".into(),
                value: Some("1".into()),
            },
        );
        h.queue.push_back(h.document());
        h.run();
        assert!(h.running("node1", "fs") && h.running("node1", "vip"));
        assert!(!h.running("node2", "fs"));
        h.log.clear();
        h.view(&["node1"], true);
        assert!(h.log.iter().any(
            |c| matches!(c, Command::RecordStatus(StatusPatch::NodeLeftCleanly(n)) if n == "node2")
        ));
        assert!(!h.log.iter().any(|c| matches!(c, Command::Fence(_))));
        assert!(h.executed().is_empty());
    }

    #[test]
    fn without_quorum_nothing_starts_and_suicide_fences_self() {
        let text = config().replace("node = \"node2\"", "node = \"node1\"");
        let mut h = Harness::new(&text);
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        assert!(h.running("node1", "fs"));
        h.truth
            .insert(("node2".into(), "other".into()), Role::Started);
        h.log.clear();
        h.view(&["node1", "node2"], false);
        // no-quorum-policy=stop: each node stops what runs on it, nothing starts.
        assert!(!h.running("node1", "fs") && !h.running("node1", "vip"));
        let ex = h.executed();
        assert!(
            ex.iter().all(|(o, _, n)| o == "stop" && n == "node1"),
            "{ex:?}"
        );
        // A node alone without quorum is its own DC.
        let mut other = Controller::new(settings("node2"));
        let members: BTreeSet<NodeId> = ["node1".to_string(), "node2".to_string()].into();
        other.handle(
            0,
            0,
            Input::View {
                members,
                quorate: false,
            },
        );
        assert!(other.is_dc());
        let text = config().replace(
            "stonith-enabled = true",
            "stonith-enabled = true\nno-quorum-policy = \"suicide\"",
        );
        let mut h = Harness::new(&text);
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        h.fence_ok = false;
        h.log.clear();
        h.view(&["node1"], false);
        assert_eq!(
            h.held_fences.first().map(|f| f.target.as_str()),
            Some("node1")
        );
    }

    #[test]
    fn right_after_startup_a_missing_node_is_fenced_only_after_dc_deadtime() {
        let mut h = Harness::new(&config().replace("dc-deadtime = \"0s\"", "dc-deadtime = \"5s\""));
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        h.fence_ok = false;
        h.log.clear();
        h.view(&["node1"], true);
        assert!(h.held_fences.is_empty());
        assert!(h.executed().is_empty(), "nothing recovered meanwhile");
        assert!(
            notices(&h.log)
                .iter()
                .any(|n| matches!(n, Notice::Blocked { why } if why.contains("dc-deadtime")))
        );
        h.tick(4_000);
        assert!(h.held_fences.is_empty());
        h.tick(1_100);
        assert_eq!(h.held_fences.len(), 1);
    }

    #[test]
    fn a_quorate_dc_waits_for_the_synced_document_and_resends_what_it_lacks() {
        let mut h = Harness::new(&config());
        h.queue.push_back(h.document());
        h.store_drops = true;
        // The view arrives, the store has not synced yet: nothing but facts.
        h.queue.push_back(Input::View {
            members: ["node1".to_string(), "node2".to_string()].into(),
            quorate: true,
        });
        h.run();
        assert!(h.executed().is_empty(), "no probe or start before Synced");
        let joined = |log: &[Command]| {
            log.iter()
                .filter(|c| matches!(c, Command::RecordStatus(StatusPatch::NodeJoined(_))))
                .count()
        };
        assert_eq!(joined(&h.log), 2);
        // The store dropped those (it had no quorum yet): a new view makes
        // the DC send them again.
        h.store_drops = false;
        h.log.clear();
        h.queue.push_back(Input::View {
            members: ["node1".to_string(), "node2".to_string()].into(),
            quorate: true,
        });
        h.run();
        assert_eq!(joined(&h.log), 2, "resent: {:?}", h.log);
        h.queue.push_back(Input::Synced);
        h.run();
        assert!(h.running("node2", "fs"), "{:?}", h.executed());
    }

    #[test]
    fn a_cleanup_forgets_failures_and_the_resource_is_probed_again() {
        let mut h = Harness::started();
        h.truth.remove(&("node2".to_string(), "vip".to_string()));
        h.queue.push_back(Input::ActionResult(ActionResult {
            id: 999_000_001,
            node: "node2".into(),
            resource: "vip".into(),
            instance: "vip".into(),
            operation: "monitor".into(),
            interval_ms: 5_000,
            rc: rc::NOT_RUNNING,
            op_status: 0,
            output: String::new(),
            at: 10,
            exec_ms: 1,
        }));
        h.run();
        assert_eq!(h.store.nodes["node2"].fail_count("vip"), 1);
        h.log.clear();
        apply_patch(
            &mut h.store,
            &StatusPatch::Cleanup {
                resource: "vip".into(),
                node: None,
            },
        );
        h.queue.push_back(h.document());
        h.run();
        assert_eq!(h.store.nodes["node2"].fail_count("vip"), 0);
        let probes: Vec<_> = h
            .executed()
            .into_iter()
            .filter(|(o, r, _)| o == "monitor" && r == "vip")
            .collect();
        assert_eq!(
            probes.len(),
            2,
            "vip probed on both nodes: {:?}",
            h.executed()
        );
        assert!(h.running("node2", "vip"));
    }
}
