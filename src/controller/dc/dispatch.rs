//! Dispatch: the running transition's steps go out in graph order once
//! everything before them is done; recurring monitors are fire-and-forget
//! (cancelled before a stop, demote or promote); steps that do not answer
//! within timeout + grace are recorded as timed out; a change aborts (in
//! flight steps are awaited, nothing new goes out but post notifications).

use std::collections::{BTreeMap, BTreeSet};

use super::Controller;
use crate::controller::patch::op_status;
use crate::controller::{ActionRequest, ActionResult, Command, Notice, StatusPatch};
use crate::model::{FENCED_HOLDER_META, NodeId, rc};
use crate::scheduler::transition::{Step, StepKind, Transition};

/// The running transition and the requests awaiting an answer.
#[derive(Debug, Clone, Default)]
pub(super) struct Running {
    pub(super) transition_seq: u64,
    pub(super) active: Option<Active>,
    /// Requests (steps and probes) awaiting their result, by request id.
    pub(super) in_flight: BTreeMap<u64, InFlight>,
    /// Recurring monitors this DC started: (node, instance, interval).
    pub(super) recurring: BTreeSet<(NodeId, String, u64)>,
    /// Steps of the transition that just completed: the same plan again
    /// right after it, with nothing new in between, would loop.
    pub(super) last_completed: Option<Vec<Step>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StepState {
    Waiting,
    InFlight,
    Done,
    Failed,
}

/// How many requests (steps and probes) the DC keeps in flight at most;
/// the rest go out as answers come back (Pacemaker bounds the same with
/// `batch-limit`). Thousands at once held the event loop for seconds (each
/// one logged, sent, taken in by its executor) and their results came back
/// in one burst.
pub(super) const IN_FLIGHT_MAX: usize = 256;

#[derive(Debug, Clone)]
pub(super) struct Active {
    pub(super) id: u64,
    pub(super) transition: Transition,
    pub(super) state: Vec<StepState>,
    /// The steps each step waits for (from `transition.edges`, once).
    pub(super) before: Vec<Vec<usize>>,
    pub(super) aborted: Option<String>,
    /// Dispatches nothing new until a recheck says it still holds
    /// (`Controller::recheck`).
    pub(super) checking: bool,
}

impl Active {
    pub(super) fn new(id: u64, transition: Transition) -> Self {
        let mut before = vec![Vec::new(); transition.steps.len()];
        for &(a, b) in &transition.edges {
            if let Some(list) = before.get_mut(b) {
                list.push(a);
            }
        }
        Active {
            id,
            state: vec![StepState::Waiting; transition.steps.len()],
            transition,
            before,
            aborted: None,
            checking: false,
        }
    }

    /// Whether step `i` waits and everything ordered before it is done.
    fn ready(&self, i: usize) -> bool {
        self.state[i] == StepState::Waiting
            && self.before[i]
                .iter()
                .all(|&a| self.state.get(a) == Some(&StepState::Done))
    }
}

#[derive(Debug, Clone)]
pub(super) struct InFlight {
    pub(super) request: ActionRequest,
    /// The transition step, or `None` for a probe.
    pub(super) step: Option<usize>,
    pub(super) deadline_ms: u64,
}

pub(super) fn is_post_notification(s: &Step) -> bool {
    matches!(&s.kind, StepKind::Resource { operation, meta, .. }
        if operation == "notify" && meta.get("notify_type").map(String::as_str) == Some("post"))
}

impl Controller {
    /// Steps and probes that did not answer within timeout + grace are
    /// recorded as timed out (op-status 2), as their agent's would be.
    pub(super) fn action_timeouts(&mut self, out: &mut Vec<Command>) {
        let now = self.now_ms;
        let expired: Vec<u64> = self
            .running
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline_ms <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let Some(f) = self.running.in_flight.get(&id) else {
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

    pub(super) fn dispatch(&mut self, step: usize, out: &mut Vec<Command>) {
        let Some(active) = self.running.active.as_ref() else {
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
            if let Some(active) = self.running.active.as_mut() {
                active.state[step] = StepState::Done;
            }
            return;
        };
        if matches!(operation.as_str(), "stop" | "demote" | "promote") {
            self.cancel_recurring(&s.node, &instance, out);
        }
        let mut meta = meta;
        if operation == "start"
            && interval_ms == 0
            && let Some(holder) = self.fencing.held_by_fenced.remove(&instance)
        {
            meta.insert(FENCED_HOLDER_META.into(), holder);
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
            self.running
                .recurring
                .insert((s.node.clone(), instance, interval_ms));
            StepState::Done
        } else {
            if matches!(operation.as_str(), "start" | "promote") {
                // A successor DC must know this may have happened.
                let pending = self.pending_result(&request);
                self.record(StatusPatch::OpResult(pending), out);
            }
            let deadline_ms = self.now_ms + timeout_ms + self.settings.result_grace_ms;
            self.running.in_flight.insert(
                id,
                InFlight {
                    request,
                    step: Some(step),
                    deadline_ms,
                },
            );
            StepState::InFlight
        };
        if let Some(active) = self.running.active.as_mut() {
            active.state[step] = state;
        }
    }

    pub(super) fn cancel_recurring(&mut self, node: &str, instance: &str, out: &mut Vec<Command>) {
        let mut intervals: BTreeSet<u64> = self
            .running
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
            self.running
                .recurring
                .remove(&(node.to_string(), instance.to_string(), interval_ms));
            out.push(Command::CancelRecurring {
                node: node.to_string(),
                instance: instance.to_string(),
                interval_ms,
            });
        }
    }

    /// Advances the running transition; returns whether it still runs.
    pub(super) fn advance(&mut self, out: &mut Vec<Command>) -> bool {
        let Some(active) = self.running.active.as_ref() else {
            return false;
        };
        let aborted = active.aborted.is_some();
        let checking = active.checking && !aborted;
        let room = IN_FLIGHT_MAX.saturating_sub(self.running.in_flight.len());
        let ready: Vec<usize> = (0..active.state.len())
            .filter(|_| !checking)
            .filter(|&i| active.ready(i))
            // An aborted transition starts nothing new, except the
            // notifications of actions that are done: they tell the
            // clone's agents what happened, which the next plan will not.
            .filter(|&i| !aborted || is_post_notification(&active.transition.steps[i]))
            .take(room)
            .collect();
        for i in ready {
            self.dispatch(i, out);
        }
        let Some(active) = self.running.active.as_ref() else {
            return false;
        };
        if aborted {
            if self.running.in_flight.values().any(|f| f.step.is_some()) {
                return true;
            }
            self.running.active = None;
            self.replan = true;
            return false;
        }
        if active.state.iter().all(|s| *s == StepState::Done) {
            out.push(Command::Notice(Notice::TransitionComplete {
                id: active.id,
            }));
            self.running.last_completed = Some(active.transition.steps.clone());
            self.running.active = None;
            self.replan = true;
            return false;
        }
        true
    }

    /// Requests that never left this node (see `Input::Withdrawn`): no
    /// agent ran them, so nothing is recorded; their steps fail and the
    /// transition is planned again from the status.
    pub(super) fn on_withdrawn(&mut self, ids: &[u64], out: &mut Vec<Command>) {
        let mut any = false;
        for id in ids {
            let Some(f) = self.running.in_flight.remove(id) else {
                continue;
            };
            any = true;
            if let (Some(step), Some(active)) = (f.step, self.running.active.as_mut()) {
                active.state[step] = StepState::Failed;
            }
        }
        if any {
            self.abort(
                "actions were withdrawn: the status they were planned on was not committed",
                out,
            );
        }
    }

    pub(super) fn abort(&mut self, why: &str, out: &mut Vec<Command>) {
        self.replan = true;
        self.running.last_completed = None;
        if let Some(active) = self.running.active.as_mut()
            && active.aborted.is_none()
        {
            active.aborted = Some(why.to_string());
            out.push(Command::Notice(Notice::TransitionAborted {
                id: active.id,
                why: why.to_string(),
            }));
        }
    }
}
