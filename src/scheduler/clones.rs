//! Clones: numbering the instances (anonymous instances renumbered in
//! status order, surplus copies as orphans), the order instances are
//! placed in (those that can stay first), and the rules placing an
//! instance: clone-node-max, anonymous instances that stay put,
//! clone-max.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::history::Observed;
use super::plan::Ctx;
use super::units::{Unit, instance_of};
use crate::model::*;

/// An anonymous instance active on a node that already has one.
type Surplus<'a> = (&'a Primitive, NodeId, Observed);

fn clone_prims(c: &Clone) -> Vec<&Primitive> {
    match &c.child {
        CloneChild::Primitive(p) => vec![p],
        CloneChild::Group(g) => g.members.iter().collect(),
    }
}

/// A clone's instances in assignment order (`arrange_instances`): those
/// pre-assigned to their node, the cloned-group instances tried in place
/// and not counted, and those whose pre-assignment was tried and failed.
pub(super) struct Arranged {
    pub(super) stay: Vec<usize>,
    pub(super) uncounted: Vec<usize>,
    pub(super) retried: Vec<usize>,
    /// Every instance in the order of the assignment sort, which stays the
    /// order of the clone's instance list (`child_rank`).
    pub(super) sorted: Vec<usize>,
}

impl<'a> Ctx<'a> {
    /// The clone's instance units: one per instance number (those running
    /// first), then the surplus copies, which stop.
    pub(super) fn clone_units(&self, c: &'a Clone) -> Vec<Unit<'a>> {
        // A clone of an empty group has no instance to place.
        if clone_prims(c).is_empty() {
            return Vec::new();
        }
        let max = c.clone_max.unwrap_or(self.nodes.len() as u32) as usize;
        let (taken, surplus) = self.running_instances(c);
        // An instance numbered clone-max or above is an orphan (the clone
        // shrank, or defaults to fewer nodes now): it stops. Anonymous
        // instances active on more nodes than clone-max are numbered in
        // status order, so the last ones found are the orphans.
        let orphan = |n: u32| n as usize >= max;
        let count = max;
        let mut numbers: Vec<u32> = taken.keys().copied().filter(|&n| !orphan(n)).collect();
        let mut next = 0u32;
        while numbers.len() < count {
            if !taken.contains_key(&next) {
                numbers.push(next);
            }
            next += 1;
        }
        numbers.extend(taken.keys().copied().filter(|&n| orphan(n)));
        let mut units: Vec<Unit<'a>> = numbers
            .into_iter()
            .map(|n| {
                let mut u = self.instance_unit(c, n, taken.get(&n));
                if orphan(n) {
                    for m in &mut u.members {
                        m.target_role = Some(Role::Stopped);
                    }
                }
                u
            })
            .collect();
        // Surplus instances are numbered after every regular one and stop.
        let next_number = units
            .iter()
            .filter_map(|u| u.instance)
            .max()
            .map_or(0, |n| n + 1)
            .max(max as u32);
        for (k, (prim, node, obs)) in surplus.into_iter().enumerate() {
            let number = next_number + k as u32;
            let display = format!("{}:{}", prim.id, number);
            let mut m = self.member(prim, Some(&c.meta), display, vec![(node, obs)]);
            m.target_role = Some(Role::Stopped);
            units.push(Unit::new(
                c.id.clone(),
                c.meta.priority.unwrap_or(0),
                Score::ZERO,
                vec![m],
                Some(c),
                Some(number),
            ));
        }
        // Instances that run keep priority over new ones.
        units.sort_by_key(|u| u.members.iter().all(|m| m.current.is_empty()));
        units
    }

    /// Which instance runs where now, (instance -> node), and the surplus
    /// copies of anonymous instances (crm_mon shows them as ORPHANED).
    fn running_instances(&self, c: &'a Clone) -> (BTreeMap<u32, NodeId>, Vec<Surplus<'a>>) {
        let prims = clone_prims(c);
        let mut seen_nodes: BTreeSet<NodeId> = BTreeSet::new();
        // Any member active on a node means the instance is there.
        let mut node_order: Vec<(NodeId, Option<u32>)> = Vec::new();
        let mut surplus: Vec<Surplus<'a>> = Vec::new();
        // Group members seen active per node: a member active twice on one
        // node is a surplus copy too.
        let mut seen_members: BTreeSet<(&str, NodeId)> = BTreeSet::new();
        // Pacemaker reads the status node by node: a cloned group's
        // instances are numbered in node order, whichever member runs.
        let rank = |node: &NodeId| {
            let order = &self.status.node_order;
            order.iter().position(|n| n == node).unwrap_or(order.len())
        };
        let mut entries: Vec<(usize, usize, &'a Primitive, &NodeId, &String, &Observed)> = prims
            .iter()
            .enumerate()
            .flat_map(|(pi, &p)| {
                let list = self.history.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
                list.iter()
                    .map(move |(node, rid, obs)| (rank(node), pi, p, node, rid, obs))
            })
            .collect();
        entries.sort_by_key(|&(r, pi, ..)| (r, pi));
        for (_, _, p, node, rid, obs) in entries {
            let counts = self
                .node_index
                .get(node)
                .is_some_and(|&i| self.nodes[i].history_counts());
            if !counts || obs.role < Role::Started {
                continue;
            }
            let inst = instance_of(rid);
            let first_copy = seen_members.insert((p.id.as_str(), node.clone()));
            if c.globally_unique || seen_nodes.insert(node.clone()) {
                node_order.push((node.clone(), inst));
            } else if c.clone_node_max <= 1 && (prims.len() == 1 || !first_copy) {
                surplus.push((p, node.clone(), obs.clone()));
            }
        }
        (number_instances(c, node_order), surplus)
    }

    /// The unit of instance `n`, running on `node` if any.
    fn instance_unit(&self, c: &'a Clone, n: u32, node: Option<&NodeId>) -> Unit<'a> {
        let child_meta = match &c.child {
            CloneChild::Primitive(p) => &p.meta,
            CloneChild::Group(g) => &g.meta,
        };
        let prims = clone_prims(c);
        let first = prims[0];
        let members = prims
            .iter()
            .map(|p| {
                let display = format!("{}:{}", p.id, n);
                let current: Vec<(NodeId, Observed)> = match node {
                    None => Vec::new(),
                    Some(nd) => self
                        .history
                        .get(&p.id)
                        .into_iter()
                        .flatten()
                        .filter(|(hn, rid, obs)| {
                            hn == nd
                                && obs.role >= Role::Started
                                && (!c.globally_unique || instance_of(rid) == Some(n))
                        })
                        .map(|(hn, _, obs)| (hn.clone(), obs.clone()))
                        .take(1)
                        .collect(),
                };
                let mut m = self.member(p, Some(&c.meta), display, current);
                if m.target_role.is_none() {
                    m.target_role = child_meta.target_role;
                }
                if m.parent_threshold.is_none() {
                    m.parent_threshold = child_meta.migration_threshold;
                }
                m
            })
            .collect();
        let stickiness = self.stickiness_of(
            if c.meta.stickiness.is_some() {
                &c.meta
            } else {
                &first.meta
            },
            true,
        );
        Unit::new(
            c.id.clone(),
            c.meta.priority.unwrap_or(0),
            stickiness,
            members,
            Some(c),
            Some(n),
        )
    }

    /// Pacemaker assigns a clone's instances together, once the clone's
    /// primaries are placed: it sorts them (pcmk__cmp_instance), first
    /// gives each instance that can stay where it is active its current
    /// node, and only then places the others in that order: an instance
    /// that has to leave its node never takes the node of one that can
    /// stay. `slots` is what is left of the placement order when the
    /// clone's first instance comes up; the clone's instances are
    /// rearranged within their own slots. Returns the instances
    /// pre-assigned to their current node, and those of them that will not
    /// count (`tried_in_place`).
    pub(super) fn arrange_instances(
        &self,
        units: &[Unit<'a>],
        slots: &mut [usize],
        c: &Clone,
    ) -> Arranged {
        let positions: Vec<usize> = (0..slots.len())
            .filter(|&p| units[slots[p]].clone.is_some_and(|x| std::ptr::eq(x, c)))
            .collect();
        let mut sorted: Vec<usize> = positions.iter().map(|&p| slots[p]).collect();
        sorted.sort_by_cached_key(|&ui| self.assignment_rank(units, ui));
        let in_order = sorted.clone();
        // At most clone-max instances are pre-assigned, and no more than
        // clone-max / available nodes (at least 1) on one node.
        let available = self.nodes.iter().filter(|nd| nd.can_host()).count().max(1);
        let max = c.clone_max.unwrap_or(self.nodes.len() as u32) as usize;
        let per_node = (max / available).max(1);
        let mut here = vec![0usize; self.nodes.len()];
        let (mut stay, mut leave, mut counted) = (Vec::new(), Vec::new(), 0);
        let (mut uncounted, mut retried) = (Vec::new(), Vec::new());
        for ui in sorted {
            let tried = self
                .tried_in_place(units, ui)
                .filter(|&i| here[i] < per_node);
            match self.can_stay(units, ui) {
                Some(i) if counted < max && here[i] < per_node => {
                    here[i] += 1;
                    counted += 1;
                    stay.push(ui);
                }
                _ if counted < max && tried.is_some() && self.is_cloned_group(c) => {
                    uncounted.push(ui);
                    stay.push(ui);
                }
                _ => {
                    if counted < max && tried.is_some() {
                        retried.push(ui);
                    }
                    leave.push(ui)
                }
            }
        }
        for (&p, &ui) in positions.iter().zip(stay.iter().chain(&leave)) {
            slots[p] = ui;
        }
        Arranged {
            stay,
            uncounted,
            retried,
            sorted: in_order,
        }
    }

    /// How many times 2.1.5 appends the clone's colocations to instance
    /// `ui` (append_parent_colocation, on every allocate_instance call
    /// that finds it unassigned): twice when its pre-assignment failed,
    /// else once. A role colocation counts that many times towards the
    /// instance's promotion priority.
    pub(super) fn parent_colocations_appended(&self, ui: usize) -> i64 {
        if self.retried.contains(&ui) { 2 } else { 1 }
    }

    fn is_cloned_group(&self, c: &Clone) -> bool {
        matches!(c.child, CloneChild::Group(_))
    }

    /// The node Pacemaker 2.1.5 tries to pre-assign an active cloned
    /// group's instance to (distribute_children): its node can run
    /// resources and the instance's own score there is not negative (a
    /// member's failure does not mark the group failed). When its members
    /// then go elsewhere, they stay where they went, but the failed
    /// pre-assignment "unassigns" only the group, which has no node of its
    /// own: the instance is neither counted on that node nor against
    /// clone-max, nor placed again (2.1.6 rewrote instance assignment,
    /// pcmk__assign_instances).
    fn tried_in_place(&self, units: &[Unit<'a>], ui: usize) -> Option<usize> {
        let unit = &units[ui];
        let &i = self.node_index.get(unit.current_node()?)?;
        let own = self.allowed_scores(unit);
        (self.nodes[i].can_host() && own[i].value() >= 0).then_some(i)
    }

    /// The current node of a pre-assigned instance: Pacemaker assigns it
    /// there, preferring it to any node of equal score.
    pub(super) fn staying_node(&self, units: &[Unit<'a>], ui: usize) -> Option<usize> {
        if !self.staying.contains(&ui) {
            return None;
        }
        let node = units[ui].current_node()?;
        self.node_index.get(node).copied()
    }

    /// Where an instance comes in Pacemaker's assignment order of a clone's
    /// instances (pcmk__cmp_instance, 2.1.5): an instance active on a node
    /// its scores no longer allow (or where its stop failed) comes after
    /// the others; then higher priority (a promotable instance's is its
    /// highest promotion score); then active
    /// before inactive; among active ones, those whose node can still run
    /// resources, those that have not failed, those whose colocations
    /// score their node higher; last the instance number (inactive
    /// instances keep their order, which is the number).
    fn assignment_rank(
        &self,
        units: &[Unit<'a>],
        ui: usize,
    ) -> (bool, Reverse<i64>, bool, bool, bool, Reverse<Score>, u32) {
        let unit = &units[ui];
        let number = unit.instance.unwrap_or(0);
        // An instance's priority is raised to its highest promotion score
        // (`own` has that score added already; the copy is thrown away).
        let own = self.allowed_scores(unit);
        let promotion = self.add_promotion_preference(unit, &mut own.clone());
        let priority = Reverse(unit.priority.max(promotion));
        let Some(i) = unit
            .current_node()
            .and_then(|node| self.node_index.get(node).copied())
        else {
            return (
                false,
                priority,
                true,
                false,
                false,
                Reverse(Score::ZERO),
                number,
            );
        };
        // A failed stop bans the resource from its node (Pacemaker's
        // "__stop_fail__" location, unpack.c): a primitive instance's own
        // table; a cloned group's is not its members' (node_is_allowed
        // reads the group's).
        let grouped = unit
            .clone
            .is_some_and(|c| matches!(c.child, CloneChild::Group(_)));
        let stop_failed = !grouped
            && unit.members.iter().any(|m| {
                m.current
                    .iter()
                    .any(|(_, o)| o.failed && o.failed_op.as_deref() == Some("stop"))
            });
        let disallowed = stop_failed || own[i].value() < 0;
        let failed = unit
            .members
            .iter()
            .any(|m| m.current.iter().any(|(_, o)| o.failed));
        // From the node's own weight: its `score` attribute, -INFINITY
        // where it is not online or shutting down (unpack_node_state; a
        // standby node keeps its weight).
        let mut colocated: Vec<Score> = self
            .nodes
            .iter()
            .map(|nd| {
                if nd.condition != NodeCondition::Online || nd.shutdown {
                    Score::MINUS_INFINITY
                } else {
                    self.config.node(&nd.uname).map_or(Score::ZERO, |n| n.score)
                }
            })
            .collect();
        self.apply_colocations(units, ui, &mut colocated, &mut Vec::new());
        // Higher colocation scores first.
        let colocated = Reverse(colocated[i]);
        (
            disallowed,
            priority,
            false,
            !self.nodes[i].can_host(),
            failed,
            colocated,
            number,
        )
    }

    /// Whether a clone instance is active, not failed, and would be placed
    /// on its current node anyway (its own scores and its colocations with
    /// placed primaries): Pacemaker pre-assigns an instance to its node
    /// only when that node is (one of) its best. Its node, if so.
    fn can_stay(&self, units: &[Unit<'a>], ui: usize) -> Option<usize> {
        let unit = &units[ui];
        let node = unit.current_node()?;
        if unit
            .members
            .iter()
            .any(|m| m.current.iter().any(|(_, o)| o.failed))
        {
            return None;
        }
        let &i = self.node_index.get(node)?;
        let mut ignored = Vec::new();
        let (mut scores, _, later) = self.own_scores(unit, &mut ignored);
        self.apply_colocations(units, ui, &mut scores, &mut ignored);
        self.apply_later_bans(&mut scores, later);
        // A node without the capacity for it is banned when it is
        // assigned, so the pre-assignment there fails (2.1.5's
        // assign_best_node bans nodes short of capacity first).
        self.capacity_bans(units, ui, &mut scores, &mut ignored);
        let best = scores
            .iter()
            .copied()
            .max()
            .unwrap_or(Score::MINUS_INFINITY);
        (scores[i].value() >= 0 && scores[i] >= best).then_some(i)
    }

    /// The clone rule for placing an instance: no more than clone-node-max
    /// instances of the clone per node, none where the clone's own weight
    /// is negative. An instance that cannot stay moves
    /// to its best node like any resource (Pacemaker's second assignment
    /// pass); which instance stops is decided by the assignment order.
    pub(super) fn clone_bans(&self, unit: &Unit<'a>, scores: &mut [Score]) {
        let Some(c) = unit.clone else {
            return;
        };
        // Nor may an instance run where its clone's own weight is
        // negative, whatever the instance's stickiness there: 2.1.5's
        // can_run_instance bans it from such a node (-INFINITY).
        let mut top = vec![Score::ZERO; self.nodes.len()];
        self.location_scores(unit, &[c.id.as_str()], &mut top, &mut Vec::new());
        for (s, t) in scores.iter_mut().zip(&top) {
            if t.value() < 0 {
                *s = Score::MINUS_INFINITY;
            }
        }
        for (i, _) in self.nodes.iter().enumerate() {
            let here = self
                .clone_here
                .get(&(c.id.clone(), i))
                .copied()
                .unwrap_or(0);
            if here >= c.clone_node_max {
                scores[i] = Score::MINUS_INFINITY;
            }
        }
    }

    /// Whether clone-max is at least the number of nodes that can run
    /// resources (Pacemaker's "all_coloc" is the opposite).
    pub(super) fn every_node_gets_an_instance(&self, c: &Clone) -> bool {
        let available = self.nodes.iter().filter(|nd| nd.can_host()).count();
        c.clone_max.unwrap_or(self.nodes.len() as u32) as usize >= available
    }

    /// Whether clone-max instances of the unit's clone are placed already.
    pub(super) fn clone_max_reached(&self, unit: &Unit<'a>, why: &mut Vec<String>) -> bool {
        let Some(c) = unit.clone else {
            return false;
        };
        let max = c.clone_max.unwrap_or(self.nodes.len() as u32);
        if self.clone_placed.get(&c.id).copied().unwrap_or(0) >= max {
            why.push(format!("{}: clone-max {max} instances are placed", c.id));
            return true;
        }
        false
    }
}

/// Instance numbers for what runs: unique instances keep their recorded
/// numbers; anonymous instances are renumbered in status order: this
/// matches more corpus cases than keeping the recorded numbers
/// (bug-lf-2574 is one that keeps them; the exact rule is still open).
fn number_instances(c: &Clone, node_order: Vec<(NodeId, Option<u32>)>) -> BTreeMap<u32, NodeId> {
    let mut taken: BTreeMap<u32, NodeId> = BTreeMap::new();
    let mut unnumbered: Vec<NodeId> = Vec::new();
    for (node, inst) in node_order {
        let inst = if c.globally_unique { inst } else { None };
        match inst {
            Some(n) if !taken.contains_key(&n) => {
                taken.insert(n, node);
            }
            // Another member of the same (group) instance on that node.
            Some(n) if taken.get(&n) == Some(&node) => {}
            _ => unnumbered.push(node),
        }
    }
    for node in unnumbered {
        let n = (0..).find(|n| !taken.contains_key(n)).unwrap_or(0);
        taken.insert(n, node);
    }
    taken
}

#[cfg(test)]
pub(super) mod tests {
    use crate::config::cib::import_cib;
    use crate::scheduler::schedule;

    /// A running (or failed, rc 1) recurring monitor of `rsc` on `node`.
    pub(in crate::scheduler) fn monitor(rsc: &str, node: &str, rc: i32) -> String {
        format!(
            r#"<lrm_resource id="{rsc}" class="ocf" provider="pacemaker" type="Dummy">
<lrm_rsc_op id="{rsc}_start_0" operation="start" call-id="2" rc-code="0" op-status="0" interval="0" on_node="{node}"/>
<lrm_rsc_op id="{rsc}_monitor_10000" operation="monitor" call-id="3" rc-code="{rc}" op-status="0" interval="10000" on_node="{node}"/>
</lrm_resource>"#
        )
    }

    /// The plan of two nodes running `resources`, node1 with `attrs1`
    /// (transient attributes) and the histories `lrm1`/`lrm2`.
    pub(in crate::scheduler) fn two_node_plan(
        resources: &str,
        constraints: &str,
        attrs1: &str,
        lrm: [&str; 2],
    ) -> crate::scheduler::Plan {
        let state = |id: u32, attrs: &str, lrm: &str| {
            format!(
                r#"<node_state id="{id}" uname="node{id}" in_ccm="true" crmd="online" join="member" expected="member">
<transient_attributes id="{id}"><instance_attributes id="st-{id}">{attrs}</instance_attributes></transient_attributes>
<lrm id="{id}"><lrm_resources>{lrm}</lrm_resources></lrm></node_state>"#
            )
        };
        let cib = format!(
            r#"<cib have-quorum="1" execution-date="1790000000"><configuration>
<crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
<resources>{resources}</resources><constraints>{constraints}</constraints></configuration>
<status>{}{}</status></cib>"#,
            state(1, attrs1, lrm[0]),
            state(2, "", lrm[1])
        );
        let cib = import_cib(&cib).unwrap();
        schedule(&cib.config, &cib.status, 1_790_000_000)
    }

    /// The summary lines ("Verb subject from to") of `plan` (see
    /// `two_node_plan`).
    pub(in crate::scheduler) fn summary(
        resources: &str,
        constraints: &str,
        attrs1: &str,
        lrm: [&str; 2],
    ) -> Vec<String> {
        let plan = two_node_plan(resources, constraints, attrs1, lrm);
        let or_dash = |n: &Option<String>| n.clone().unwrap_or_else(|| "-".into());
        plan.changes
            .iter()
            .map(|c| {
                let (from, to) = (or_dash(&c.from), or_dash(&c.to));
                format!("{} {} {from} {to}", c.verb.name(), c.subject)
            })
            .collect()
    }

    const CLONE: &str = r#"<clone id="c"><primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>"#;

    #[test]
    fn a_full_node_is_banned_before_an_instances_colocations_apply() {
        // d:1 has only node2 left once d:0 takes node1; the -500 against
        // e's instance there would leave it no node with a non-negative
        // score, so it is rolled back and d:1 starts (seed 20582,
        // minimised; checked against crm_simulate).
        let resources = r#"<clone id="c"><primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>
<clone id="k"><primitive id="e" class="ocf" provider="pacemaker" type="Dummy"/></clone>"#;
        let cons = r#"<rsc_colocation id="c-k" rsc="c" with-rsc="k" score="-500"/>"#;
        let s = summary(resources, cons, "", ["", &monitor("e", "node2", 0)]);
        assert_eq!(
            s,
            [
                "Start d:0 - node1",
                "Start d:1 - node2",
                "Start e:1 - node1"
            ]
        );
    }

    #[test]
    fn a_cloned_group_is_active_where_a_later_member_is() {
        // b's stop failed on node1 (no fencing: blocked there), a never ran:
        // instance :0 is active on node1, which its fail count bans, so it
        // is assigned after :1, which takes node2 (seed 20379, minimised;
        // checked against crm_simulate).
        let resources = r#"<clone id="c"><group id="g"><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>
<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/></group></clone>"#;
        let fail = r#"<nvpair id="fc" name="fail-count-b#stop_0" value="INFINITY"/>"#;
        let lrm1 = r#"<lrm_resource id="b" class="ocf" provider="pacemaker" type="Dummy">
<lrm_rsc_op id="b_last_failure_0" operation="stop" call-id="4" rc-code="1" op-status="0" interval="0" on_node="node1"/>
</lrm_resource>"#;
        let s = summary(resources, "", fail, [lrm1, ""]);
        assert_eq!(s, ["Start a:1 - node2", "Start b:1 - node2"]);
    }

    #[test]
    fn an_instance_whose_node_shuts_down_moves_to_a_free_node() {
        let shutdown = r#"<nvpair id="sd" name="shutdown" value="1789999940"/>"#;
        let s = summary(CLONE, "", shutdown, [&monitor("d", "node1", 0), ""]);
        assert_eq!(s, ["Move d:0 node1 node2"]);
    }

    #[test]
    fn an_instance_that_can_stay_keeps_its_node_on_equal_scores() {
        // Stickiness 0: both nodes score 0, node2 runs more already.
        let resources = r#"<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>
<clone id="c"><meta_attributes id="cm"><nvpair id="cm-s" name="resource-stickiness" value="0"/></meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>"#;
        let loc = r#"<rsc_location id="p-2" rsc="p" node="node2" score="100"/>"#;
        let lrm2 = monitor("d", "node2", 0) + &monitor("p", "node2", 0);
        let s = summary(resources, loc, "", ["", &lrm2]);
        assert_eq!(s, ["Start d:1 - node1"]);
    }

    #[test]
    fn a_failed_instance_is_recovered_where_it_runs() {
        // Stickiness counts for a failed instance too: node1 runs more,
        // yet the failed instance stays and the new one takes node2.
        let resources =
            format!(r#"<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>{CLONE}"#);
        let loc = r#"<rsc_location id="p-1" rsc="p" node="node1" score="100"/>"#;
        let lrm1 = monitor("d", "node1", 1) + &monitor("p", "node1", 0);
        let s = summary(&resources, loc, "", [&lrm1, ""]);
        assert_eq!(s, ["Recover d:0 node1 node1", "Start d:1 - node2"]);
    }

    #[test]
    fn an_instance_its_node_bans_comes_after_a_new_one() {
        // Banned where it runs (migration-threshold reached): the inactive
        // instance takes the free node first, the banned one stops.
        let resources = r#"<clone id="c"><meta_attributes id="cm"><nvpair id="cm-m" name="migration-threshold" value="1"/></meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>"#;
        let fc = r#"<nvpair id="fc" name="fail-count-d#monitor_10000" value="1"/>"#;
        let s = summary(resources, "", fc, [&monitor("d", "node1", 1), ""]);
        assert_eq!(s, ["Stop d:0 node1 -", "Start d:1 - node2"]);
    }

    #[test]
    fn an_anonymous_instance_above_clone_max_is_an_orphan() {
        // clone-max 1, active on both nodes: the instance found second
        // (d:1) is an orphan and stops even though it could stay; d:0,
        // banned where it runs, takes node2.
        let resources = r#"<clone id="c"><meta_attributes id="cm"><nvpair id="cm-m" name="clone-max" value="1"/></meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>"#;
        let ban = r#"<rsc_location id="no-1" rsc="c" node="node1" score="-INFINITY"/>"#;
        let lrm = [monitor("d", "node1", 0), monitor("d", "node2", 0)];
        let s = summary(resources, ban, "", [&lrm[0], &lrm[1]]);
        assert_eq!(s, ["Move d:0 node1 node2", "Stop d:1 node2 -"]);
    }

    #[test]
    fn a_cloned_group_numbers_its_instances_in_node_order() {
        // b runs on node1, a on node2: node1 comes first in the status,
        // so its instance is :0 whichever member runs there.
        let resources = r#"<clone id="c"><group id="g"><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>
<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/></group></clone>"#;
        let s = summary(
            resources,
            "",
            "",
            [&monitor("b", "node1", 0), &monitor("a", "node2", 0)],
        );
        assert_eq!(
            s,
            [
                "Start a:0 - node1",
                "Restart b:0 node1 node1",
                "Start b:1 - node2"
            ]
        );
    }

    #[test]
    fn a_clone_on_every_node_ignores_its_optional_positive_colocations() {
        // Two instances for two nodes: the +50 colocation with p does not
        // draw d:0 to p's node (checked against crm_simulate).
        let resources =
            format!(r#"<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>{CLONE}"#);
        let cons = r#"<rsc_location id="p-2" rsc="p" node="node2" score="100"/>
<rsc_colocation id="c-p" rsc="c" with-rsc="p" score="50"/>"#;
        let s = summary(&resources, cons, "", ["", ""]);
        assert_eq!(
            s,
            ["Start p - node2", "Start d:0 - node1", "Start d:1 - node2"]
        );
    }
}
