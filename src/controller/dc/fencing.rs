//! Fencing: the DC fences the nodes the plan marks unclean (none before
//! dc-deadtime has passed since startup), retries failures with doubling
//! back-off, records every outcome in the fencing history, tells the
//! fencing service which target runs the higher priority, and fences this
//! node itself when quorum is lost under no-quorum-policy=suicide.

use std::collections::BTreeMap;

use super::Controller;
use crate::controller::patch::next_fence_id;
use crate::controller::{Command, FenceOutcome, FenceRequest, Notice, StatusPatch};
use crate::model::{
    CloneChild, ClusterConfig, FenceEvent, NoQuorumPolicy, NodeId, Primitive, Resource, Role,
};
use crate::scheduler::observe;
use crate::scheduler::transition::{self};

/// Pacemaker's default dc-deadtime: after startup, how long the membership
/// may take to settle before a node missing from it is fenced.
const DC_DEADTIME_MS: u64 = 20_000;

/// The DC's fencing: targets in progress, suicide, readiness.
#[derive(Debug, Clone, Default)]
pub(super) struct Fencing {
    /// Nodes being fenced (an attempt in flight, or a retry pending).
    pub(super) targets: BTreeMap<NodeId, FenceState>,
    /// This node asked to fence itself (no-quorum-policy=suicide).
    pub(super) suicide_requested: bool,
    /// Every node's first fencing level passed a monitor (see
    /// `ControllerSettings::require_fencing_ready`).
    pub(super) ready: bool,
    /// Why not, per blocking node and device.
    pub(super) blockers: Vec<String>,
    /// A fence was confirmed since promotion scores were last refreshed
    /// (`refresh_promotion_scores`).
    pub(super) refresh_scores: bool,
    /// Instances a node ran (or was starting) when its fence was
    /// confirmed, and that node: their next start says so
    /// (`FENCED_HOLDER_META`). Forgotten when the node is a member again
    /// or this node stops being DC (a new DC does not know it, and its
    /// starts then carry nothing: an agent checks as usual).
    pub(super) held_by_fenced: BTreeMap<String, NodeId>,
}

#[derive(Debug, Clone)]
pub(super) struct FenceState {
    pub(super) in_flight: bool,
    pub(super) retry_at_ms: u64,
    pub(super) backoff_ms: u64,
    pub(super) action: String,
    /// When the attempt in flight was dispatched (for the history).
    pub(super) requested_ms: u64,
}

/// Every configured primitive with its `priority` meta attribute, or else
/// its group's, or else its clone's (Pacemaker's inheritance of meta
/// attributes).
pub(super) fn primitives_with_priority(config: &ClusterConfig) -> Vec<(&Primitive, i64)> {
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

impl Controller {
    /// The readiness gate's verdict: starts wait until every node's first
    /// fencing level has passed a monitor; passing it is a reason to plan.
    pub(super) fn on_fencing_ready(&mut self, ready: bool, blockers: Vec<String>) {
        let was = self.fencing.ready;
        self.fencing.ready = ready;
        self.fencing.blockers = blockers;
        if ready && !was {
            self.replan = true;
        }
    }

    /// The fencing history's record of an outcome (this node's fencing
    /// service ran it; this controller asked for it if it has it in flight;
    /// `confirmed_by`: an operator confirmed it by hand, who is the client).
    pub(super) fn fence_event(&self, o: &FenceOutcome, confirmed_by: Option<&str>) -> FenceEvent {
        let own = &self.settings.own;
        let asked = self
            .fencing
            .targets
            .get(&o.target)
            .filter(|st| st.in_flight);
        let suicide = o.target == *own && self.fencing.suicide_requested;
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
            client: match confirmed_by {
                Some(by) => by.to_string(),
                None if asked.is_some() || suicide => "controller".to_string(),
                None => "pacelined".to_string(),
            },
            completed,
            elapsed_ms: asked.map(|st| self.now_ms.saturating_sub(st.requested_ms)),
            attempts: 1,
            first_completed: completed,
        }
    }

    /// An operator's confirmation that `target` is off (Pacemaker's manual
    /// fencing acknowledgement, `stonith_admin --confirm`): it completes the
    /// fence this DC waits for as a success, as if a device had done it.
    /// A member is running, so its confirmation is refused (the daemon
    /// refuses it first; this guards the rule where it is enforced).
    pub(super) fn on_fence_confirmed(
        &mut self,
        target: NodeId,
        by: String,
        out: &mut Vec<Command>,
    ) {
        if self.view.members.contains(&target) {
            out.push(Command::Notice(Notice::Blocked {
                why: format!(
                    "{by} confirmed {target} off, but it is a member of the current view: refused"
                ),
            }));
            return;
        }
        let outcome = FenceOutcome {
            target,
            ok: true,
            detail: format!("confirmed off by hand by {by} (paceline fence confirm)"),
            at: self.wall,
            action: "off".to_string(),
            devices: Vec::new(),
        };
        self.on_fence(outcome, Some(&by), out);
    }

    /// Remembers what `target`, just confirmed fenced, ran or was starting
    /// (its history in the working status, which the fence's patch erases).
    fn note_held_by_fenced(&mut self, target: &NodeId) {
        let Some(state) = self.working.nodes.get(target) else {
            return;
        };
        for h in &state.resources {
            let seen = observe(h);
            if seen.pending || !matches!(seen.role, Role::Stopped | Role::Unknown) {
                self.fencing
                    .held_by_fenced
                    .insert(h.id.clone(), target.clone());
            }
        }
    }

    pub(super) fn on_fence(
        &mut self,
        o: FenceOutcome,
        confirmed_by: Option<&str>,
        out: &mut Vec<Command>,
    ) {
        let event = StatusPatch::FenceEvent(Box::new(self.fence_event(&o, confirmed_by)));
        if o.ok {
            out.push(Command::Notice(Notice::FenceConfirmed(o.target.clone())));
            self.fencing.targets.remove(&o.target);
            self.join.lost.remove(&o.target);
            self.running.recurring.retain(|(n, _, _)| *n != o.target);
            self.fencing.refresh_scores = true;
            let target = o.target.clone();
            if self.view.members.contains(&target) {
                self.join.fenced_while_member(&target);
            }
            // Before the patch erases what it ran.
            self.note_held_by_fenced(&target);
            self.record(StatusPatch::NodeFenced(o), out);
            self.record(event, out);
            if self.view.is_dc {
                let stale: Vec<u64> = self
                    .running
                    .in_flight
                    .iter()
                    .filter(|(_, f)| f.request.node == target)
                    .map(|(id, _)| *id)
                    .collect();
                for id in stale {
                    self.running.in_flight.remove(&id);
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
        if let Some(st) = self.fencing.targets.get_mut(&o.target) {
            st.in_flight = false;
            st.retry_at_ms = now + st.backoff_ms;
            let retry = st.retry_at_ms;
            self.recheck_at_ms = Some(self.recheck_at_ms.map_or(retry, |t| t.min(retry)));
            out.push(Command::Notice(Notice::Blocked {
                why: format!(
                    "fencing {} failed ({}); nothing it ran is recovered until it is fenced; retrying in {} ms (check its fence device, or power it off and confirm with `paceline fence confirm {}`)",
                    o.target, o.detail, st.backoff_ms, o.target
                ),
            }));
            st.backoff_ms = (st.backoff_ms.saturating_mul(2)).min(max);
        }
    }

    pub(super) fn suicide(&mut self, out: &mut Vec<Command>) {
        let policy = self.config.as_ref().map(|c| c.properties.no_quorum_policy);
        if policy == Some(NoQuorumPolicy::Suicide)
            && self.view.was_quorate
            && !self.view.quorate
            && !self.fencing.suicide_requested
            && !self.view.members.is_empty()
        {
            self.fencing.suicide_requested = true;
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

    pub(super) fn dc_deadtime_ms(&self) -> u64 {
        self.config
            .as_ref()
            .and_then(|c| c.properties.dc_deadtime)
            .map(crate::config::as_ms)
            .unwrap_or(DC_DEADTIME_MS)
    }

    /// Total `priority` meta of the primitives active on `node`, per the
    /// status this DC plans on (Pacemaker's priority-fencing-delay rule).
    /// The total `priority` of what runs on `node`, as Pacemaker counts it
    /// for priority-fencing-delay: each active primitive's priority (its
    /// own, else its group's or clone's), plus one for a promoted instance
    /// of a resource whose priority is not 0, so that of two nodes running
    /// the same clone the one with the primary counts more.
    pub(super) fn priority_on(&self, node: &str) -> i64 {
        let Some(config) = self.config.as_deref() else {
            return 0;
        };
        let Some(state) = self.working_status().nodes.get(node) else {
            return 0;
        };
        // The highest role of each primitive here, looked up once: a search
        // of the node's histories per primitive was quadratic (thousands of
        // primitives held the event loop at every fence).
        let mut roles: BTreeMap<&str, crate::model::Role> = BTreeMap::new();
        for h in &state.resources {
            let role = crate::scheduler::observe(h).role;
            let slot = roles.entry(transition::primitive_of(&h.id)).or_insert(role);
            *slot = (*slot).max(role);
        }
        let mut total = 0;
        for (p, priority) in primitives_with_priority(config) {
            let Some(&role) = roles
                .get(p.id.as_str())
                .filter(|r| **r >= crate::model::Role::Started)
            else {
                continue;
            };
            total += priority;
            if priority != 0 && role == crate::model::Role::Promoted {
                total += 1;
            }
        }
        total
    }

    pub(super) fn fence(&mut self, targets: BTreeMap<NodeId, String>, out: &mut Vec<Command>) {
        let now = self.now_ms;
        // Right after startup views still form: a node missing from the
        // first ones is not lost yet (nothing of it is recovered either).
        let settle_until = self.view.first_view_ms.unwrap_or(now) + self.dc_deadtime_ms();
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
            let st = self
                .fencing
                .targets
                .entry(target.clone())
                .or_insert(FenceState {
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
