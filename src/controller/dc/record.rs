//! Recording: the document's status and this DC's own patches not yet
//! replicated (the working copy), every action result as an `OpResult`
//! patch (repeats dropped, late answers only when they complete a pending
//! record), start-failure-is-fatal.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::Controller;
use super::describe::failure_text;
use super::dispatch::StepState;
use super::plan::same_but_attributes;
use crate::controller::patch::{is_failure, op_status};
use crate::controller::{
    ActionRequest, ActionResult, Command, DocumentStatus, Notice, StatusPatch, apply_patch,
};
use crate::model::{ClusterConfig, ClusterStatus, NodeId, rc};
use crate::scheduler::transition::primitive_of;

/// How many answered results the DC remembers to drop repeats.
const RECORDED_MAX: usize = 4_096;

/// Results already recorded (node, request id, rc), oldest first, so a
/// repeated answer is recorded once; bounded by `RECORDED_MAX`.
#[derive(Debug, Clone, Default)]
pub(super) struct SeenResults {
    set: BTreeSet<(NodeId, u64, i32)>,
    order: VecDeque<(NodeId, u64, i32)>,
}

impl SeenResults {
    fn insert(&mut self, key: (NodeId, u64, i32)) {
        if self.set.insert(key.clone()) {
            self.order.push_back(key);
            while self.order.len() > RECORDED_MAX {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    fn contains(&self, key: &(NodeId, u64, i32)) -> bool {
        self.set.contains(key)
    }
}

/// What a document's new status changed, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum StatusChange {
    None,
    /// Nodes' transient attributes only (a recheck may keep the transition).
    AttributesOnly,
    Other,
}

impl StatusChange {
    /// What applying `patch` changed, when it changed something.
    fn of(patch: &StatusPatch) -> Self {
        match patch {
            StatusPatch::Attribute { .. } | StatusPatch::PermanentAttribute { .. } => {
                StatusChange::AttributesOnly
            }
            _ => StatusChange::Other,
        }
    }
}

pub(super) fn node_of(patch: &StatusPatch) -> Option<&str> {
    match patch {
        StatusPatch::OpResult(r) => Some(&r.node),
        StatusPatch::NodeJoined(n) | StatusPatch::NodeLeftCleanly(n) => Some(n),
        StatusPatch::NodeFenced(o) => Some(&o.target),
        StatusPatch::Attribute { node, .. } => Some(node),
        StatusPatch::NodeHistory { node, .. } => Some(node),
        // The fencing history is the cluster's, not the target's: a fence
        // that erases the target's patches must not take it along; nor
        // the node's permanent attributes, which a fence keeps.
        StatusPatch::Cleanup { .. }
        | StatusPatch::FenceEvent(_)
        | StatusPatch::Ticket { .. }
        | StatusPatch::PermanentAttribute { .. } => None,
    }
}

pub(super) fn max_call_id(status: &ClusterStatus) -> u64 {
    status
        .nodes
        .values()
        .flat_map(|n| n.resources.iter())
        .flat_map(|h| h.ops.iter())
        .map(|o| u64::try_from(o.call_id).unwrap_or(0))
        .max()
        .unwrap_or(0)
}

impl Controller {
    pub(super) fn on_document(
        &mut self,
        config: Arc<ClusterConfig>,
        status: DocumentStatus,
        out: &mut Vec<Command>,
    ) {
        let config_changed = match &self.config {
            Some(old) => !Arc::ptr_eq(old, &config) && **old != *config,
            None => true,
        };
        if config_changed || self.config.is_none() {
            self.config = Some(config);
        }
        let change = match status {
            DocumentStatus::Patched(patches) => self.follow_patches(&patches),
            DocumentStatus::Whole(status) => self.take_whole_status(*status),
        };
        if config_changed || change != StatusChange::None {
            self.inputs_changed();
        }
        if !self.view.is_dc {
            return;
        }
        if config_changed {
            self.abort("the configuration changed", out);
        } else if change == StatusChange::AttributesOnly && self.recheck_may_keep_transition() {
            self.recheck(out);
        } else if change != StatusChange::None {
            self.abort("the status changed", out);
        }
    }

    /// A whole new status: the working copy is rebuilt from it and the
    /// patches it does not show yet, and compared with the one before.
    fn take_whole_status(&mut self, status: ClusterStatus) -> StatusChange {
        self.doc_status = status;
        let before = std::mem::take(&mut self.working);
        self.working = self.doc_status.clone();
        let working = &mut self.working;
        // Patches the document already reflects change nothing: drop them.
        self.pending.retain(|p| apply_patch(working, p));
        if max_call_id(&self.working) >= self.next_id {
            self.bump_ids();
        }
        if self.working == before {
            StatusChange::None
        } else if same_but_attributes(&before, &self.working) {
            StatusChange::AttributesOnly
        } else {
            StatusChange::Other
        }
    }

    /// The document moved on by `patches`: this DC's own (the oldest of
    /// `pending`, in order) are in the working copy already; another's
    /// goes on top of it when nothing of this DC's waits. Anything else
    /// (a patch this DC dropped, another's between its own) rebuilds the
    /// working copy from the whole status. Work per patch, not per status.
    fn follow_patches(&mut self, patches: &[StatusPatch]) -> StatusChange {
        let mut change = StatusChange::None;
        let mut rebuild = false;
        for patch in patches {
            apply_patch(&mut self.doc_status, patch);
            if rebuild {
                continue;
            }
            if self.pending.front() == Some(patch) {
                self.pending.pop_front();
            } else if self.pending.is_empty() {
                if apply_patch(&mut self.working, patch) {
                    change = change.max(StatusChange::of(patch));
                }
                if let StatusPatch::OpResult(r) = patch
                    && r.id >= self.next_id
                {
                    self.bump_ids();
                }
            } else {
                rebuild = true;
            }
        }
        if rebuild {
            let status = std::mem::take(&mut self.doc_status);
            return self.take_whole_status(status).max(change);
        }
        change
    }

    /// Records a status change: applied to the working copy at once, sent
    /// to the store, kept until the document shows it.
    pub(super) fn record(&mut self, patch: StatusPatch, out: &mut Vec<Command>) {
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
        self.inputs_changed();
        self.pending.push_back(patch.clone());
        out.push(Command::RecordStatus(patch));
    }

    pub(super) fn record_result(&mut self, r: &ActionResult, out: &mut Vec<Command>) {
        let key = (r.node.clone(), r.id, r.rc);
        self.seen.insert(key);
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
                    name: crate::controller::patch::fail_count_name(&r.resource, "start", 0),
                    value: Some("INFINITY".to_string()),
                },
                out,
            );
        }
    }

    pub(super) fn on_result(&mut self, r: ActionResult, out: &mut Vec<Command>) {
        if !self.view.is_dc || crate::controller::patch::is_pending(&r) {
            return;
        }
        let known = self
            .running
            .in_flight
            .get(&r.id)
            .is_some_and(|f| f.request.node == r.node);
        if known {
            let Some(f) = self.running.in_flight.remove(&r.id) else {
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
                if let (Some(step), Some(active)) = (f.step, self.running.active.as_mut()) {
                    active.state[step] = StepState::Done;
                }
                return;
            }
            self.record_result(&r, out);
            let failed = is_failure(&r);
            if let (Some(step), Some(active)) = (f.step, self.running.active.as_mut()) {
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
        if self.seen.contains(&(r.node.clone(), r.id, r.rc)) {
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

    pub(super) fn completes_pending(&self, r: &ActionResult) -> bool {
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

    /// The record of `q` still running (a fresh call id, so the newest).
    pub(super) fn pending_result(&mut self, q: &ActionRequest) -> ActionResult {
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
}
