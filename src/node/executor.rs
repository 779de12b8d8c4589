//! What every node's executor does with the DC's requests around running
//! them, sans-IO, for the daemon's executor service and the simulator's
//! simulated agents alike:
//! - a request runs once: a repeat (the channel retransmits, a new DC
//!   asks again) is answered from the cache, or not at all while it runs;
//!   request ids are unique per DC incarnation only, so answers are kept
//!   per origin;
//! - a node that reported to a DC (the join) takes requests from that DC
//!   only (`controller::Ledger`): an old DC still dispatching in a view
//!   this node has left is refused;
//! - one resource's one-shot operations run one at a time (as Pacemaker's
//!   executor runs them), so a probe during a start sees its outcome;
//! - a result goes to the DC (see [`result_recipients`]).
//!
//! Operator requests (`paceline resource exec`, ids from
//! [`DISPATCH_ID_BASE`]) are run once too but are not the DC's: the ledger
//! neither checks nor records them.

use std::collections::{BTreeMap, VecDeque};

use crate::controller::{ActionRequest, ActionResult, Ledger, NodeReport};
use crate::scheduler::transition::primitive_of;

/// Request ids of operator-sent actions live above the controller's, so
/// the two never collide.
pub const DISPATCH_ID_BASE: u64 = 1 << 62;

/// Answers kept for repeated requests.
pub const ANSWERS_KEPT: usize = 1024;

/// What to do with an arriving request.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission<O> {
    /// Run it now.
    Run,
    /// Its resource is busy: it runs when [`Intake::finished`] hands it out.
    Queued,
    /// Ran already: answer this again.
    Answer(ActionResult),
    /// Running or queued already: its answer will come.
    InFlight,
    /// This node reported to another DC since (`follows`).
    Refused { follows: Option<O> },
}

/// The requests of one node's executor, keyed by origin `O` (the daemon:
/// sender and its incarnation; the simulator: the sender).
#[derive(Debug, Clone)]
pub struct Intake<O> {
    /// By (origin, request id): the answer, `None` while running or queued.
    answers: BTreeMap<(O, u64), Option<ActionResult>>,
    answered: VecDeque<(O, u64)>,
    /// Resources with a one-shot operation running, and what waits for it.
    busy: BTreeMap<String, VecDeque<(O, ActionRequest)>>,
    ledger: Ledger<O>,
}

impl<O: Ord + Clone> Default for Intake<O> {
    fn default() -> Self {
        Intake {
            answers: BTreeMap::new(),
            answered: VecDeque::new(),
            busy: BTreeMap::new(),
            ledger: Ledger::new(),
        }
    }
}

fn is_operator(req: &ActionRequest) -> bool {
    req.id >= DISPATCH_ID_BASE
}

impl<O: Ord + Clone> Intake<O> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a request from `origin`. `serial`: it occupies its resource
    /// until it finishes (the daemon runs every request so, the first run
    /// of a recurring monitor included; the simulator's monitors take no
    /// time to start).
    pub fn admit(&mut self, origin: O, req: &ActionRequest, serial: bool) -> Admission<O> {
        let key = (origin.clone(), req.id);
        match self.answers.get(&key) {
            Some(Some(answer)) => return Admission::Answer(answer.clone()),
            Some(None) => return Admission::InFlight,
            None => {}
        }
        let operator = is_operator(req);
        if !operator && !self.ledger.accepts(&origin) {
            let follows = self.ledger.follows().cloned();
            return Admission::Refused { follows };
        }
        if !operator {
            self.ledger.accepted(origin.clone(), req);
        }
        self.answers.insert(key, None);
        if !serial {
            return Admission::Run;
        }
        let resource = primitive_of(&req.instance).to_string();
        match self.busy.get_mut(&resource) {
            Some(waiting) => {
                waiting.push_back((origin, req.clone()));
                Admission::Queued
            }
            None => {
                self.busy.insert(resource, VecDeque::new());
                Admission::Run
            }
        }
    }

    /// A request's result: kept for repeats and recorded for the DC's
    /// report. Returns the next request waiting for its resource, which
    /// is its turn now (`serial` as given to `admit`).
    pub fn finished(
        &mut self,
        origin: O,
        result: &ActionResult,
        serial: bool,
    ) -> Option<(O, ActionRequest)> {
        if result.id < DISPATCH_ID_BASE {
            self.ledger.finished(origin.clone(), result);
        }
        let key = (origin, result.id);
        let before = self.answers.insert(key.clone(), Some(result.clone()));
        if !matches!(before, Some(Some(_))) {
            self.answered.push_back(key);
        }
        while self.answered.len() > ANSWERS_KEPT {
            if let Some(old) = self.answered.pop_front() {
                self.answers.remove(&old);
            }
        }
        if !serial {
            return None;
        }
        let resource = primitive_of(&result.instance);
        let waiting = self.busy.get_mut(resource)?;
        let next = waiting.pop_front();
        if next.is_none() {
            self.busy.remove(resource);
        }
        next
    }

    /// A running recurring monitor found another rc: the DC's report tells
    /// the latest.
    pub fn monitor_changed(&mut self, origin: O, result: &ActionResult) {
        self.ledger.finished(origin, result);
    }

    /// What this node did, for the DC `to`, which it follows from now on.
    pub fn report(&mut self, node: &str, to: O) -> NodeReport {
        self.ledger.report(node, to)
    }

    /// The DC this node reported to last.
    pub fn follows(&self) -> Option<&O> {
        self.ledger.follows()
    }

    /// Forgets what one origin asked (it restarted: its next incarnation
    /// numbers its requests afresh).
    pub fn forget(&mut self, origin: &O) {
        self.answers.retain(|(o, _), _| o != origin);
        self.answered.retain(|(o, _)| o != origin);
    }

    /// Resources with an operation running (or waiting).
    pub fn busy(&self) -> usize {
        self.busy.len()
    }

    /// Requests waiting for their resource's turn.
    pub fn waiting(&self) -> usize {
        self.busy.values().map(VecDeque::len).sum()
    }
}

/// Where a result goes, in order: the DC this node follows (it reported
/// to it; the store may not know it yet), else the view's DC, else the
/// asker; and first the asker too when it differs and is another node (it
/// may still be the DC in a view this node has left, and the new DC must
/// learn what runs). An operator's request is answered to its sender only.
pub fn result_recipients<N: Copy + PartialEq>(
    result: &ActionResult,
    asker: N,
    own: N,
    follows: Option<N>,
    view_dc: Option<N>,
) -> Vec<N> {
    if result.id >= DISPATCH_ID_BASE {
        return vec![asker];
    }
    let dc = follows.or(view_dc).unwrap_or(asker);
    if dc != asker && asker != own {
        vec![asker, dc]
    } else {
        vec![dc]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: u64, instance: &str, operation: &str) -> ActionRequest {
        ActionRequest {
            id,
            node: "n1".into(),
            resource: primitive_of(instance).into(),
            instance: instance.into(),
            operation: operation.into(),
            interval_ms: 0,
            timeout_ms: 20_000,
            meta: Default::default(),
        }
    }

    fn result(req: &ActionRequest) -> ActionResult {
        ActionResult {
            id: req.id,
            node: req.node.clone(),
            resource: req.resource.clone(),
            instance: req.instance.clone(),
            operation: req.operation.clone(),
            interval_ms: req.interval_ms,
            rc: 0,
            op_status: 0,
            output: String::new(),
            at: 0,
            exec_ms: 1,
        }
    }

    /// A request runs once; a repeat waits or is answered again; a probe
    /// waits for the start of its resource; after the report to DC 2, DC 1
    /// is refused.
    #[test]
    fn requests_run_once_one_per_resource_and_from_the_followed_dc_only() {
        let mut intake: Intake<u16> = Intake::new();
        let start = request(1, "db:0", "start");
        let probe = request(2, "db:1", "monitor");
        assert_eq!(intake.admit(1, &start, true), Admission::Run);
        assert_eq!(intake.admit(1, &start, true), Admission::InFlight);
        assert_eq!(intake.admit(1, &probe, true), Admission::Queued);
        assert_eq!(intake.busy(), 1);
        let next = intake.finished(1, &result(&start), true);
        assert_eq!(next, Some((1, probe.clone())));
        assert_eq!(
            intake.admit(1, &start, true),
            Admission::Answer(result(&start))
        );
        assert_eq!(intake.finished(1, &result(&probe), true), None);
        assert_eq!(intake.busy(), 0);
        let _ = intake.report("n1", 2);
        assert_eq!(
            intake.admit(1, &request(3, "ip", "start"), true),
            Admission::Refused { follows: Some(2) }
        );
        assert_eq!(
            intake.admit(2, &request(3, "ip", "start"), true),
            Admission::Run
        );
    }

    #[test]
    fn results_go_to_the_followed_dc_and_to_an_asker_it_replaced() {
        let r = result(&request(1, "ip", "start"));
        assert_eq!(result_recipients(&r, 1u16, 2, None, Some(1)), [1]);
        assert_eq!(result_recipients(&r, 1u16, 2, Some(3), Some(1)), [1, 3]);
        assert_eq!(result_recipients(&r, 2u16, 2, Some(3), None), [3]);
        let operator = result(&request(DISPATCH_ID_BASE + 1, "ip", "start"));
        assert_eq!(result_recipients(&operator, 1u16, 2, Some(3), None), [1]);
    }
}
