//! Planning: when the DC re-plans (a change, a recheck for expiring
//! failures), what it waits for first (outcomes in flight, the synced
//! document, members' reports, a previous DC's pending operations), then
//! `schedule` and `transition::build`, fences before anything else, and
//! what of the transition it may dispatch now (members only, quorum,
//! fencing readiness).

use std::collections::{BTreeMap, BTreeSet};

use super::Controller;
use super::SYNC_WAIT_MS;
use super::dispatch::{Active, StepState};
use crate::controller::{Command, Notice, PlanRequest, Planned};
use crate::model::{
    CloneChild, ClusterConfig, ClusterStatus, NoQuorumPolicy, NodeId, NodeState, Resource, Role,
};
use crate::scheduler::observe;
use crate::scheduler::transition::{self, Step, StepKind, Transition, primitive_of};

/// How often an idle DC re-plans while failures may expire (failure-timeout).
const RECHECK_MS: u64 = 15_000;

/// The nodes the transition fences, with the action.
fn fence_targets(t: &Transition) -> BTreeMap<NodeId, String> {
    t.steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Fence { action } => Some((s.node.clone(), action.clone())),
            StepKind::Resource { .. } => None,
        })
        .collect()
}

/// Whether two statuses differ in nothing but nodes' attributes (transient
/// or permanent; compared in place: the statuses may be large).
pub(super) fn same_but_attributes(a: &ClusterStatus, b: &ClusterStatus) -> bool {
    let ClusterStatus {
        have_quorum,
        dc_uuid,
        execution_date,
        no_quorum_panic,
        nodes,
        node_order,
        fencing_history,
        tickets,
        permanent_attributes: _,
    } = a;
    let same_node = |x: &NodeState, y: &NodeState| {
        let NodeState {
            uname,
            id,
            in_ccm,
            crmd,
            join,
            expected,
            unclean,
            has_state,
            transient_attributes: _,
            resources,
        } = x;
        (
            uname, id, in_ccm, crmd, join, expected, unclean, has_state, resources,
        ) == (
            &y.uname,
            &y.id,
            &y.in_ccm,
            &y.crmd,
            &y.join,
            &y.expected,
            &y.unclean,
            &y.has_state,
            &y.resources,
        )
    };
    (
        have_quorum,
        dc_uuid,
        execution_date,
        no_quorum_panic,
        node_order,
        fencing_history,
        tickets,
    ) == (
        &b.have_quorum,
        &b.dc_uuid,
        &b.execution_date,
        &b.no_quorum_panic,
        &b.node_order,
        &b.fencing_history,
        &b.tickets,
    ) && nodes.len() == b.nodes.len()
        && nodes
            .iter()
            .zip(&b.nodes)
            .all(|((n, x), (m, y))| n == m && same_node(x, y))
}

pub(super) fn starts_or_promotes(s: &Step) -> bool {
    matches!(&s.kind, StepKind::Resource { operation, .. } if operation == "start" || operation == "promote")
}

/// Drops the steps `drop` names and every step ordered after one of them
/// (a monitor after a start that may not run must not run either: it
/// would find the resource stopped and count a failure), with their edges.
pub(super) fn drop_with_dependents(t: Transition, drop: impl Fn(&Step) -> bool) -> Transition {
    let mut dropped: Vec<bool> = t.steps.iter().map(&drop).collect();
    // Each step's successors, once: scanning every edge per dropped step
    // was quadratic in a transition of thousands of steps.
    let mut after = vec![Vec::new(); t.steps.len()];
    for &(a, b) in &t.edges {
        if let Some(list) = after.get_mut(a) {
            list.push(b);
        }
    }
    let mut stack: Vec<usize> = (0..t.steps.len()).filter(|&i| dropped[i]).collect();
    while let Some(a) = stack.pop() {
        for &b in &after[a] {
            if !dropped[b] {
                dropped[b] = true;
                stack.push(b);
            }
        }
    }
    retain_indices(t, |i| !dropped[i])
}

/// Keeps the steps `keep` accepts, with the edges between them.
pub(super) fn retain_steps(t: Transition, keep: impl Fn(&Step) -> bool) -> Transition {
    let kept: Vec<bool> = t.steps.iter().map(keep).collect();
    retain_indices(t, |i| kept[i])
}

/// Keeps the steps whose index `keep` accepts, with the edges between them.
pub(super) fn retain_indices(t: Transition, keep: impl Fn(usize) -> bool) -> Transition {
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

/// The plan asked of the driver (`Command::Plan`) and what it is for.
#[derive(Debug, Clone)]
pub(super) struct Asked {
    generation: u64,
    purpose: Purpose,
}

#[derive(Debug, Clone, Copy)]
enum Purpose {
    /// The next transition; whether the DC still waited for the synced
    /// document and for members' reports when it asked.
    Transition { awaiting: bool, reporting: bool },
    /// Whether the running transition still holds after a change of
    /// transient attributes only (`plan_still_holds`); it dispatches
    /// nothing new meanwhile (`Active::checking`).
    Recheck,
    /// The fences of a plan made while steps are still in flight; the
    /// rest waits for their outcomes.
    Fences,
}

impl Controller {
    /// Advances the running transition, or (when something changed, or a
    /// recheck is due) asks for a new plan: fences first, then, once
    /// nothing is awaited, the feasible part of the new transition
    /// (`carry_out`, when the plan comes back).
    pub(super) fn step(&mut self, out: &mut Vec<Command>) {
        let busy = self.advance(out);
        if self.asked.is_some() || !self.plan_due() {
            return;
        }
        if busy || !self.running.in_flight.is_empty() {
            // Outcomes still to come: plan once they are known.
            self.fence_lost_meanwhile(out);
            return;
        }
        let awaiting = self.awaiting_synced_document(out);
        self.recheck_at_ms = None;
        if self.fencing.targets.values().any(|f| f.in_flight) || self.config.is_none() {
            return;
        }
        self.replan = false;
        self.membership_facts(out);
        if !awaiting {
            self.ask_for_reports(out);
        }
        let reporting = self.join.awaiting_reports();
        if !awaiting && !reporting && self.probes(out) {
            return;
        }
        self.ask_plan(
            Purpose::Transition {
                awaiting,
                reporting,
            },
            out,
        );
    }

    /// Asks the driver for a plan of the current inputs.
    fn ask_plan(&mut self, purpose: Purpose, out: &mut Vec<Command>) {
        let Some(config) = self.config.clone() else {
            return;
        };
        let generation = self.generation;
        self.asked = Some(Asked {
            generation,
            purpose,
        });
        out.push(Command::Plan(Box::new(PlanRequest {
            generation,
            config,
            status: self.overlay(),
            wall: self.wall,
        })));
    }

    /// A plan came back: carried out when it is the one asked for and
    /// nothing it was made of has changed since; otherwise discarded (and
    /// asked again), as Pacemaker's controller ignores a scheduler reply
    /// that is not the one it waits for.
    pub(super) fn on_planned(&mut self, p: Planned, out: &mut Vec<Command>) {
        let Some(asked) = self.asked.take_if(|a| a.generation == p.generation) else {
            // Asked before this node resigned, or never.
            return;
        };
        let fresh = p.generation == self.generation && self.view.is_dc;
        match asked.purpose {
            Purpose::Transition { .. } if !fresh => self.replan = true,
            Purpose::Transition {
                awaiting,
                reporting,
            } => self.carry_out(p, awaiting, reporting, out),
            Purpose::Recheck => self.rechecked(p, fresh, out),
            Purpose::Fences if !fresh => self.replan = true,
            Purpose::Fences => {
                let targets = fence_targets(&p.transition);
                if !targets.is_empty() {
                    self.fence(targets, out);
                }
            }
        }
    }

    /// Fences a lost member while steps are still in flight, without
    /// waiting for their outcomes: a step here may wait for the store,
    /// which commits nothing alone before that fence (chaos seed 11,
    /// fault 22: pgsql's notify retried `crm_attribute -l forever`, and
    /// the fence waited for the notify, 24 s).
    fn fence_lost_meanwhile(&mut self, out: &mut Vec<Command>) {
        if self.config.is_none()
            || self.fencing.targets.values().any(|f| f.in_flight)
            || !self.lost_unfenced()
        {
            return;
        }
        self.recheck_at_ms = None;
        self.replan = false;
        self.membership_facts(out);
        self.ask_plan(Purpose::Fences, out);
    }

    /// A configured node out of the view that was a member and is neither
    /// fenced nor gone cleanly yet.
    fn lost_unfenced(&self) -> bool {
        self.settings.nodes.iter().any(|(n, _)| {
            !self.view.members.contains(n)
                && self
                    .working
                    .nodes
                    .get(n)
                    .is_some_and(|st| st.expected.as_deref() == Some("member"))
        })
    }

    /// Fences first; then, once nothing is awaited, starts the feasible
    /// part of the planned transition.
    fn carry_out(&mut self, p: Planned, awaiting: bool, reporting: bool, out: &mut Vec<Command>) {
        let Some(config) = self.config.clone() else {
            return;
        };
        let Planned {
            status,
            transition: t,
            changes,
            ..
        } = p;
        let targets = fence_targets(&t);
        self.fencing
            .targets
            .retain(|n, f| f.in_flight || targets.contains_key(n));
        if !targets.is_empty() {
            // While a node is unclean only fencing runs: what it ran is
            // recovered by the next plan, once its fence is confirmed.
            self.fence(targets, out);
            return;
        }
        if let Some(until) = self.wait_before_dispatch(awaiting, reporting, &config) {
            self.recheck_at_ms = until;
            return;
        }
        let (t, held_for_fencing) = self.feasible(&config, t);
        if held_for_fencing {
            out.push(self.held_for_fencing_notice());
        }
        self.refresh_promotion_scores(&config, &status, &t, out);
        self.recheck_idle();
        self.start_transition(t, changes, out);
    }

    /// Transient attributes changed under the running transition: it
    /// dispatches nothing new until a plan of the new status says whether
    /// it still holds (`rechecked`).
    pub(super) fn recheck(&mut self, out: &mut Vec<Command>) {
        if let Some(active) = self.running.active.as_mut() {
            active.checking = true;
        }
        if self.asked.is_none() {
            self.ask_plan(Purpose::Recheck, out);
        }
        // Else the recheck in flight comes back outdated and is asked again.
    }

    fn rechecked(&mut self, p: Planned, fresh: bool, out: &mut Vec<Command>) {
        let checking = self
            .running
            .active
            .as_ref()
            .is_some_and(|a| a.checking && a.aborted.is_none());
        if !checking {
            // Completed or aborted meanwhile.
            return;
        }
        if !fresh {
            self.ask_plan(Purpose::Recheck, out);
            return;
        }
        if self.plan_still_holds(p.transition) {
            if let Some(active) = self.running.active.as_mut() {
                active.checking = false;
            }
        } else {
            self.abort("the status changed", out);
        }
    }

    /// Whether to plan now: something changed, or a recheck is due.
    fn plan_due(&mut self) -> bool {
        if !self.replan {
            match self.recheck_at_ms {
                Some(t) if t <= self.now_ms => self.replan = true,
                _ => return false,
            }
        }
        true
    }

    /// Whether the DC still waits for `Input::Synced` after a view change;
    /// past `SYNC_WAIT_MS` it says so and plans on its own copy.
    fn awaiting_synced_document(&mut self, out: &mut Vec<Command>) -> bool {
        match self.view.awaiting_document_until {
            Some(until) if until > self.now_ms => true,
            Some(_) => {
                self.view.awaiting_document_until = None;
                out.push(Command::Notice(Notice::Blocked {
                    why: format!(
                        "the store did not report a synced document within {SYNC_WAIT_MS} ms of the view change; planning on this node's copy, which may be stale (check the store's quorum and peers)"
                    ),
                }));
                false
            }
            None => false,
        }
    }

    /// What the DC waits for before dispatching anything but fences, as
    /// the time to look again (`Some(None)`: until an input comes).
    fn wait_before_dispatch(
        &mut self,
        awaiting: bool,
        reporting: bool,
        config: &ClusterConfig,
    ) -> Option<Option<u64>> {
        if awaiting {
            // Fencing needs no synced document (a lost node is lost); the
            // rest waits for `Input::Synced` (or the fallback).
            return Some(self.view.awaiting_document_until);
        }
        if reporting {
            // Nor members' reports; the rest waits for them (or their
            // deadline, after which they are probed).
            return Some(self.join.asked.values().copied().min());
        }
        // What depends on an operation a previous DC started waits for
        // its result (a pending start counts as started, and a group's
        // next member would start on an unmounted filesystem).
        self.foreign_pending_until(config).map(Some)
    }

    fn held_for_fencing_notice(&self) -> Command {
        Command::Notice(Notice::Blocked {
            why: format!(
                "no resource starts until every node's first fencing level has passed a monitor: {}",
                if self.fencing.blockers.is_empty() {
                    "the first check is still running".to_string()
                } else {
                    self.fencing.blockers.join("; ")
                }
            ),
        })
    }

    /// Starts `t` as the next transition, unless it is empty or repeats
    /// the one just completed (which would loop).
    fn start_transition(&mut self, t: Transition, changes: Vec<String>, out: &mut Vec<Command>) {
        if t.steps.is_empty() {
            return;
        }
        if self.running.last_completed.as_ref() == Some(&t.steps) {
            out.push(Command::Notice(Notice::Blocked {
                why: "the plan asks for the same actions it just completed; waiting for a change (check the resource agents' results)".to_string(),
            }));
            return;
        }
        self.running.transition_seq += 1;
        let id = self.running.transition_seq;
        out.push(Command::Notice(Notice::TransitionStarted {
            id,
            steps: t.steps.len(),
            changes,
        }));
        self.running.active = Some(Active::new(id, t));
        self.advance(out);
    }

    /// The steps of `t` this DC may dispatch now, and whether starts were
    /// held back because fencing is not ready yet. Pure: the plan of a
    /// transition and the check of whether it still holds
    /// (`plan_still_holds`) filter alike.
    pub(super) fn feasible(&self, config: &ClusterConfig, mut t: Transition) -> (Transition, bool) {
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
        let running = &self.running.recurring;
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
        let (own, quorate) = (&self.settings.own, self.view.quorate);
        t = retain_steps(t, |s| {
            self.is_member(&s.node) && (quorate || s.node == *own)
        });
        let quorum_ok =
            self.view.quorate || config.properties.no_quorum_policy == NoQuorumPolicy::Ignore;
        if !quorum_ok {
            t = drop_with_dependents(t, starts_or_promotes);
        }
        let fencing_on = config.properties.stonith_enabled;
        let mut held = false;
        if fencing_on && self.settings.require_fencing_ready && !self.fencing.ready {
            let before = t.steps.len();
            t = drop_with_dependents(t, starts_or_promotes);
            held = t.steps.len() < before;
        }
        (t, held)
    }

    /// Whether a change of transient attributes only (an agent's promote
    /// updates its scores and replication state) leaves a running
    /// transition that may go on after a `recheck`.
    pub(super) fn recheck_may_keep_transition(&self) -> bool {
        let Some(active) = self.running.active.as_ref() else {
            return false;
        };
        active.aborted.is_none()
            && self.join.asked.is_empty()
            && !self.fencing.targets.values().any(|f| f.in_flight)
    }

    /// Whether the running transition is still what this DC would plan now
    /// (`wanted`, planned on the changed status): the steps it has yet to
    /// dispatch are exactly the ones the new plan would dispatch, except
    /// for recurring monitors that follow one of its steps still in flight
    /// (the new plan does not see that step done yet). Notifications are
    /// left out: they follow the actions. Pacemaker aborts on every such
    /// change, and the promote's post-notification then delays the start
    /// of what is ordered after the promote.
    fn plan_still_holds(&self, wanted: Transition) -> bool {
        let (Some(config), Some(active)) = (self.config.as_deref(), self.running.active.as_ref())
        else {
            return false;
        };
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
        let (wanted, _) = self.feasible(config, wanted);
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
    pub(super) fn refresh_promotion_scores(
        &mut self,
        config: &ClusterConfig,
        status: &ClusterStatus,
        t: &Transition,
        out: &mut Vec<Command>,
    ) {
        if !std::mem::take(&mut self.fencing.refresh_scores) || !self.view.quorate {
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
            if self.view.members.iter().any(|n| touched(n, &["promote"])) {
                continue;
            }
            let mut running = Vec::new();
            let mut promoted = false;
            for node in &self.view.members {
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

    pub(super) fn recheck_idle(&mut self) {
        let failures = self.working.nodes.values().any(|st| {
            st.transient_attributes
                .keys()
                .any(|k| k.starts_with("fail-count-"))
        });
        if failures {
            self.recheck_at_ms = Some(self.now_ms + RECHECK_MS);
        }
    }
}
