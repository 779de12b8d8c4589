//! Pacemaker's join: who is DC of a view, the members' `NodeReport`s of
//! what their executors did (asked once the document is synced; a member
//! that does not answer in time is probed instead), joins and departures
//! recorded as status facts, and the view overlaid on the status the DC
//! plans on.

use std::collections::{BTreeMap, BTreeSet};

use super::Controller;
use super::SYNC_WAIT_MS;
use super::dispatch::{IN_FLIGHT_MAX, InFlight, StepState};
use super::fencing::primitives_with_priority;
use crate::controller::patch::op_status;
use crate::controller::{ActionRequest, Command, NodeReport, Notice, StatusPatch};
use crate::model::{ClusterConfig, ClusterStatus, NodeId, Primitive, ResourceClass, Role, rc};
use crate::scheduler::observe;
use crate::scheduler::transition::{self, primitive_of};

/// How long a DC waits for a member's `NodeReport` before it probes the
/// member's resources instead (a member that cannot answer, e.g. one that
/// speaks an older protocol).
pub(super) const REPORT_WAIT_MS: u64 = 3_000;

/// What this DC knows of its members' executors (Pacemaker's join).
#[derive(Debug, Clone, Default)]
pub(super) struct Join {
    /// Members asked for their `NodeReport` (they joined this DC's view, or
    /// this node became DC), with the time this DC stops waiting.
    pub(super) asked: BTreeMap<NodeId, u64>,
    /// Members whose report (or, failing that, probes) this DC has.
    pub(super) reported: BTreeSet<NodeId>,
    /// Members to probe for every resource: they did not report in time.
    pub(super) to_probe: BTreeSet<NodeId>,
    /// One-shot operations a previous DC dispatched whose results are still
    /// to come (pending records on members), with the time this DC stops
    /// waiting for them: (node, instance, operation) -> deadline.
    pub(super) foreign_pending: BTreeMap<(NodeId, String, String), u64>,
    /// Expected members that vanished without a clean leave (not fenced yet).
    pub(super) lost: BTreeSet<NodeId>,
    /// Members whose fence was confirmed while they were in the view (a
    /// daemon paused past the token, back before its fence): the fence cut
    /// that incarnation off, and the view shows it until its silence is
    /// noticed. Offline meanwhile, and its departure is no new loss, as
    /// Pacemaker takes a fenced node as down until its controller joins
    /// again. Left when it leaves the view or answers a report (a daemon
    /// still runs there: the fence did not cut it off).
    pub(super) fenced_in_view: BTreeSet<NodeId>,
}

impl Join {
    /// The incarnation of `node` in the view was just fenced: what it
    /// reported is void, and a daemon there must report anew.
    pub(super) fn fenced_while_member(&mut self, node: &NodeId) {
        self.fenced_in_view.insert(node.clone());
        self.reported.remove(node);
        self.asked.remove(node);
        self.to_probe.remove(node);
    }

    /// Whether the DC waits for a member's report: not for a fenced
    /// incarnation's, which never comes.
    pub(super) fn awaiting_reports(&self) -> bool {
        self.asked.keys().any(|n| !self.fenced_in_view.contains(n))
    }
}

fn all_primitives(config: &ClusterConfig) -> Vec<&Primitive> {
    primitives_with_priority(config)
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

impl Controller {
    /// Whether `node` is a member the DC plans with: in the view, and not
    /// an incarnation its fence cut off.
    pub(super) fn is_member(&self, node: &NodeId) -> bool {
        self.view.members.contains(node) && !self.join.fenced_in_view.contains(node)
    }

    pub(super) fn on_view(
        &mut self,
        members: BTreeSet<NodeId>,
        quorate: bool,
        out: &mut Vec<Command>,
    ) {
        let changed = members != self.view.members || quorate != self.view.quorate;
        if changed {
            self.inputs_changed();
        }
        let was_dc = self.view.is_dc;
        self.view.first_view_ms.get_or_insert(self.now_ms);
        // Without quorum every node looks after itself (no-quorum-policy
        // stops what runs here); nobody decides for others on a status the
        // store cannot sync.
        self.view.is_dc = !quorate || self.dc_of(&members) == Some(&self.settings.own);
        self.view.members = members;
        self.view.quorate = quorate;
        if quorate {
            self.view.was_quorate = true;
            self.fencing.suicide_requested = false;
        }
        if self.view.is_dc && !was_dc {
            self.become_dc(out);
        } else if was_dc && !self.view.is_dc {
            self.resign();
        } else if changed && self.view.is_dc {
            // Steps on nodes that left will never answer: the fence (or
            // their clean leave) settles them.
            let gone: Vec<u64> = self
                .running
                .in_flight
                .iter()
                .filter(|(_, f)| !self.view.members.contains(&f.request.node))
                .map(|(id, _)| *id)
                .collect();
            for id in gone {
                if let Some(f) = self.running.in_flight.remove(&id)
                    && let (Some(step), Some(active)) = (f.step, self.running.active.as_mut())
                {
                    active.state[step] = StepState::Failed;
                }
            }
            self.abort("the membership changed", out);
        }
        if self.view.is_dc && changed && quorate {
            self.view.awaiting_document_until = Some(self.now_ms + SYNC_WAIT_MS);
        }
        if self.view.is_dc {
            // A member that left must report again when it is back.
            let members = &self.view.members;
            self.join.reported.retain(|n| members.contains(n));
            self.join.asked.retain(|n, _| members.contains(n));
            self.join.to_probe.retain(|n| members.contains(n));
            self.join.fenced_in_view.retain(|n| members.contains(n));
            // A fenced node back in the view may hold things again.
            let fenced = &self.join.fenced_in_view;
            self.fencing
                .held_by_fenced
                .retain(|_, n| !members.contains(n) || fenced.contains(n));
        }
        if self.view.is_dc {
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
    pub(super) fn ask_for_reports(&mut self, out: &mut Vec<Command>) {
        let ask: Vec<NodeId> = self
            .settings
            .nodes
            .iter()
            .map(|(n, _)| n)
            .filter(|n| self.view.members.contains(*n))
            .filter(|n| self.view.quorate || **n == self.settings.own)
            .filter(|n| !self.join.reported.contains(*n) && !self.join.asked.contains_key(*n))
            .cloned()
            .collect();
        for node in ask {
            self.join
                .asked
                .insert(node.clone(), self.now_ms + REPORT_WAIT_MS);
            out.push(Command::RequestReport { node });
        }
    }

    /// A member's report replaces what the status knew of its resources;
    /// what it lacks (a primitive it never ran) is probed next.
    pub(super) fn on_report(&mut self, r: NodeReport, out: &mut Vec<Command>) {
        if !self.view.is_dc || self.join.asked.remove(&r.node).is_none() {
            // Not asked, or asked by this node as an earlier DC: stale.
            return;
        }
        self.join.reported.insert(r.node.clone());
        // A daemon answers there: the fence did not cut it off.
        self.join.fenced_in_view.remove(&r.node);
        // What this DC once asked of the node may have been stopped since
        // (by the node's own DC in a partition): the report's history says
        // which monitors still run, and the plan asks for the others.
        self.running.recurring.retain(|(n, _, _)| *n != r.node);
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

    pub(super) fn become_dc(&mut self, out: &mut Vec<Command>) {
        out.push(Command::Notice(Notice::BecameDc));
        self.join.asked.clear();
        self.join.reported.clear();
        self.join.to_probe.clear();
        self.running.active = None;
        self.running.in_flight.clear();
        self.fencing.targets.clear();
        self.join.lost.clear();
        self.join.fenced_in_view.clear();
        self.running.last_completed = None;
        self.fencing.held_by_fenced.clear();
        self.asked = None;
        self.inputs_changed();
        self.bump_ids();
        self.replan = true;
    }

    pub(super) fn resign(&mut self) {
        self.join.asked.clear();
        self.join.reported.clear();
        self.join.to_probe.clear();
        self.join.fenced_in_view.clear();
        self.running.active = None;
        self.running.in_flight.clear();
        self.fencing.targets.clear();
        self.fencing.held_by_fenced.clear();
        self.pending.clear();
        self.working = self.doc_status.clone();
        self.asked = None;
        self.inputs_changed();
        self.replan = false;
    }

    /// Joins and departures become status facts before planning.
    pub(super) fn membership_facts(&mut self, out: &mut Vec<Command>) {
        let configured: Vec<NodeId> = self.settings.nodes.iter().map(|(n, _)| n.clone()).collect();
        for name in configured {
            let st = self.working.nodes.get(&name);
            if self.view.members.contains(&name) {
                self.join.lost.remove(&name);
                if self.join.fenced_in_view.contains(&name) {
                    // Down since its fence, whatever the view still says.
                    continue;
                }
                let joined = st.is_some_and(|st| {
                    st.in_ccm == Some(true)
                        && st.expected.as_deref() == Some("member")
                        && st.join.as_deref() == Some("member")
                });
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
            } else if self.join.lost.insert(name.clone()) {
                out.push(Command::Notice(Notice::NodeLost(name)));
            }
        }
    }

    pub(super) fn overlay(&self) -> ClusterStatus {
        let mut s = self.working.clone();
        s.have_quorum = self.view.quorate;
        for (name, _) in &self.settings.nodes {
            if self.is_member(name) {
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

    /// Probes every configured primitive without history on a member node;
    /// returns whether any probe is outstanding.
    pub(super) fn probes(&mut self, out: &mut Vec<Command>) -> bool {
        let Some(config) = self.config.clone() else {
            return false;
        };
        let mut wanted = Vec::new();
        // Looked up, not searched: with thousands of primitives a search
        // per primitive held the event loop for seconds.
        let probing: BTreeSet<(&str, &str)> = self
            .running
            .in_flight
            .values()
            .filter(|f| f.step.is_none())
            .map(|f| (f.request.node.as_str(), f.request.resource.as_str()))
            .collect();
        for node in &self.view.members {
            if !self.settings.nodes.iter().any(|(n, _)| n == node)
                || self.join.fenced_in_view.contains(node)
            {
                continue;
            }
            let known: BTreeSet<&str> = match self.working.nodes.get(node) {
                Some(st) if !self.join.to_probe.contains(node) => {
                    st.resources.iter().map(|h| primitive_of(&h.id)).collect()
                }
                _ => BTreeSet::new(),
            };
            for p in all_primitives(&config) {
                if p.class == ResourceClass::Stonith {
                    continue;
                }
                let known = known.contains(p.id.as_str());
                let probing = probing.contains(&(node.as_str(), p.id.as_str()));
                if !known && !probing {
                    let timeout_ms = transition::op_timeout_ms(&config, Some(p), "monitor", 0);
                    wanted.push((node.clone(), p.id.clone(), timeout_ms));
                }
            }
        }
        // At most `IN_FLIGHT_MAX` in flight: the rest go once these are
        // answered (each answer asks to plan again, which probes on). A
        // node to probe whole stays one until all of it went out.
        let room = IN_FLIGHT_MAX.saturating_sub(self.running.in_flight.len());
        let left: BTreeSet<NodeId> = wanted.iter().skip(room).map(|w| w.0.clone()).collect();
        let members = self.view.members.clone();
        self.join
            .to_probe
            .retain(|n| !members.contains(n) || left.contains(n));
        for (node, resource, timeout_ms) in wanted.into_iter().take(room) {
            self.probe(node, resource, timeout_ms, out);
        }
        self.running.in_flight.values().any(|f| f.step.is_none())
    }

    /// Dispatches a probe (a one-shot monitor) outside any transition.
    pub(super) fn probe(
        &mut self,
        node: NodeId,
        resource: String,
        timeout_ms: u64,
        out: &mut Vec<Command>,
    ) {
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
        self.running.in_flight.insert(
            id,
            InFlight {
                request,
                step: None,
                deadline_ms,
            },
        );
    }

    /// The earliest deadline of the operations a previous DC dispatched to
    /// members that have not answered yet; None when there are none (or
    /// their time, the operation's timeout plus the grace, is up: then
    /// the plan takes them as the history shows them).
    pub(super) fn foreign_pending_until(&mut self, config: &ClusterConfig) -> Option<u64> {
        let mut now_pending = BTreeSet::new();
        for (node, st) in &self.working.nodes {
            if !self.view.members.contains(node) {
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
        self.join
            .foreign_pending
            .retain(|k, _| now_pending.contains(k));
        for key in now_pending {
            let (now, grace) = (self.now_ms, self.settings.result_grace_ms);
            self.join
                .foreign_pending
                .entry(key.clone())
                .or_insert_with(|| {
                    let prim = config.primitive(primitive_of(&key.1));
                    now + transition::op_timeout_ms(config, prim, &key.2, 0) + grace
                });
        }
        self.join
            .foreign_pending
            .values()
            .copied()
            .filter(|&d| d > self.now_ms)
            .min()
    }

    /// Members that did not report within `REPORT_WAIT_MS` are probed
    /// instead.
    pub(super) fn report_timeouts(&mut self, out: &mut Vec<Command>) {
        let now = self.now_ms;
        let silent: Vec<NodeId> = self
            .join
            .asked
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for node in silent {
            self.join.asked.remove(&node);
            if self.join.fenced_in_view.contains(&node) {
                // Silent as a fenced node is: asked again, never probed.
                continue;
            }
            self.join.reported.insert(node.clone());
            out.push(Command::Notice(Notice::NoReport {
                node: node.clone(),
                waited_ms: REPORT_WAIT_MS,
            }));
            self.join.to_probe.insert(node);
            self.replan = true;
        }
    }
}
