//! The entry `schedule`: reads the history and node conditions, indexes
//! the constraints, then places every unit (primitive, group, clone
//! instance) in priority and colocation order, promotes, and hands the
//! placements to `output`.

use std::collections::{BTreeSet, HashMap};

use super::Plan;
use super::colocations::flat_colocations;
use super::failures;
use super::hash_order::{numeric_name_cmp, table_order};
use super::history::Observed;
use super::nodes::{NodeView, apply_suicide, node_views};
use super::units::{Member, Unit, primitives_by_id};
use super::utilization::{Amounts, capacities};
use crate::model::*;

/// History per resource id (instance suffix stripped) -> (node, id as
/// recorded, observed).
pub(super) type History = HashMap<String, Vec<(NodeId, String, Observed)>>;

pub(super) struct Ctx<'a> {
    pub(super) config: &'a ClusterConfig,
    pub(super) status: &'a ClusterStatus,
    pub(super) now: i64,
    pub(super) nodes: Vec<NodeView>,
    pub(super) node_index: HashMap<String, usize>,
    /// History per resource id (instance suffix stripped) -> (node, id as recorded, observed).
    pub(super) history: History,
    pub(super) plan: Plan,
    pub(super) assigned: Vec<u32>,
    /// Indices so each constraint is looked at only by the resources it names.
    pub(super) unit_of: HashMap<String, Vec<usize>>,
    pub(super) loc_idx: HashMap<String, Vec<usize>>,
    pub(super) generic_locs: Vec<usize>,
    pub(super) coloc_idx: HashMap<String, Vec<usize>>,
    pub(super) clone_here: HashMap<(String, usize), u32>,
    /// Instances of each clone placed so far (at most clone-max).
    pub(super) clone_placed: HashMap<String, u32>,
    /// Clone instances pre-assigned to the node they are active on.
    pub(super) staying: BTreeSet<usize>,
    /// Cloned-group instances whose pre-assignment is tried: placed
    /// elsewhere, they are not counted against clone-node-max or
    /// clone-max (`tried_in_place`).
    pub(super) uncounted: BTreeSet<usize>,
    /// Clone instances whose pre-assignment was tried and failed.
    pub(super) retried: BTreeSet<usize>,
    /// Each arranged clone instance's place in its clone's instance list,
    /// which Pacemaker 2.1.5 leaves in assignment order
    /// (`pcmk__clone_allocate` sorts it): the order a colocation with the
    /// clone meets its instances.
    pub(super) child_rank: HashMap<usize, usize>,
    /// Each clone's own allowed-node scores once its assignment began:
    /// its own scores with its dependents' pull merged, as Pacemaker's
    /// `pcmk__clone_allocate` leaves the clone's table
    /// (`clone_table`); a colocation chain reaching the clone merges these.
    pub(super) clone_tables: HashMap<String, Vec<Score>>,
    /// Promotable clones whose promotion is decided.
    pub(super) promoted_done: BTreeSet<String>,
    /// Resources whose failure-timeout is disregarded (on-fail=block failures).
    pub(super) timeout_ignored: BTreeSet<String>,
    /// Colocations with resource sets expanded into two-resource ones.
    pub(super) colocations: Vec<Colocation>,
    /// Every clone by id.
    pub(super) clones: HashMap<&'a str, &'a Clone>,
    /// Each node's free capacity (utilization), less what is placed so far.
    pub(super) free: Vec<Amounts>,
    /// Node indices in the order Pacemaker's allowed-node tables iterate
    /// (`hash_order`).
    pub(super) table_order: Vec<usize>,
}

/// Computes the plan for `config` in `status` at time `now` (seconds since the epoch).
pub fn schedule(config: &ClusterConfig, status: &ClusterStatus, now: i64) -> Plan {
    let (config, status) = super::tickets::apply(config, status);
    let (config, status) = (config.as_ref(), status.as_ref());
    let mut nodes = node_views(config, status, now);
    let prims = primitives_by_id(config);
    let timeout_ignored = failures::timeout_ignored(status, &prims);
    let up_and_clean: BTreeSet<&str> = nodes
        .iter()
        .filter(|n| n.condition == NodeCondition::Online)
        .map(|n| n.uname.as_str())
        .collect();
    let history =
        failures::observed_history(config, status, &prims, &timeout_ignored, &up_and_clean, now);
    failures::fence_failed_stops(config, &history, &prims, &mut nodes);
    failures::escalate_on_fail(config, &history, &prims, &mut nodes);
    apply_suicide(config, status, &mut nodes);
    let mut cx = Ctx::new(config, status, now, nodes, history, timeout_ignored);
    cx.run();
    cx.plan
}

/// The node indices in the order a resource's allowed-node table
/// iterates in Pacemaker: keyed by node id, filled in node name order.
fn allowed_table_order(config: &ClusterConfig, nodes: &[NodeView]) -> Vec<usize> {
    let mut by_name: Vec<usize> = (0..nodes.len()).collect();
    by_name.sort_by(|&a, &b| numeric_name_cmp(&nodes[a].uname, &nodes[b].uname));
    let ids: Vec<&str> = by_name
        .iter()
        .map(|&i| {
            let name = nodes[i].uname.as_str();
            config.node(name).map_or(name, |n| n.id.as_str())
        })
        .collect();
    table_order(&ids).into_iter().map(|k| by_name[k]).collect()
}

impl<'a> Ctx<'a> {
    fn new(
        config: &'a ClusterConfig,
        status: &'a ClusterStatus,
        now: i64,
        nodes: Vec<NodeView>,
        history: History,
        timeout_ignored: BTreeSet<String>,
    ) -> Self {
        let node_index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.uname.clone(), i))
            .collect();
        let mut loc_idx: HashMap<String, Vec<usize>> = HashMap::new();
        let mut generic_locs = Vec::new();
        for (i, l) in config.locations.iter().enumerate() {
            match &l.target {
                LocationTarget::Resource(r) => loc_idx.entry(r.clone()).or_default().push(i),
                _ => generic_locs.push(i),
            }
        }
        let mut coloc_idx: HashMap<String, Vec<usize>> = HashMap::new();
        let colocations = flat_colocations(&config.colocations);
        for (i, c) in colocations.iter().enumerate() {
            for name in [&c.rsc, &c.with_rsc].into_iter().flatten() {
                coloc_idx.entry(name.clone()).or_default().push(i);
            }
        }
        let table_order = allowed_table_order(config, &nodes);
        Ctx {
            config,
            status,
            now,
            table_order,
            assigned: vec![0; nodes.len()],
            free: capacities(config, &nodes),
            nodes,
            node_index,
            history,
            plan: Plan::default(),
            unit_of: HashMap::new(),
            loc_idx,
            generic_locs,
            coloc_idx,
            clone_here: HashMap::new(),
            clone_placed: HashMap::new(),
            staying: BTreeSet::new(),
            uncounted: BTreeSet::new(),
            retried: BTreeSet::new(),
            child_rank: HashMap::new(),
            clone_tables: HashMap::new(),
            promoted_done: BTreeSet::new(),
            timeout_ignored,
            colocations,
            clones: config
                .resources
                .iter()
                .filter_map(|r| match r {
                    Resource::Clone(c) => Some((c.id.as_str(), c)),
                    _ => None,
                })
                .collect(),
        }
    }

    fn run(&mut self) {
        self.fence_nodes_thought_active();
        self.forget_failures_on_unclean();
        let mut units = self.build_units();
        self.index_units(&units);
        // Colocation: dependents are placed after their primaries.
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.sort_by_key(|&i| (-units[i].priority, 0));
        self.utilization_order(&units, &mut order);
        let mut order = self.colocation_order(&units, order);
        let mut arranged: BTreeSet<&str> = BTreeSet::new();
        for pos in 0..order.len() {
            if let Some(c) = units[order[pos]].clone
                && arranged.insert(c.id.as_str())
            {
                let table = self.clone_table(&units, order[pos]);
                self.clone_tables.insert(c.id.clone(), table);
                let arranged = self.arrange_instances(&units, &mut order[pos..], c);
                self.staying.extend(arranged.stay);
                self.uncounted.extend(arranged.uncounted);
                self.retried.extend(arranged.retried);
                self.child_rank
                    .extend(arranged.sorted.iter().enumerate().map(|(k, &ui)| (ui, k)));
            }
            self.place(&mut units, order[pos]);
        }
        self.promote(&mut units);
        self.emit(&units);
    }

    /// Which units each resource id (unit or member) names.
    fn index_units(&mut self, units: &[Unit<'a>]) {
        for (i, u) in units.iter().enumerate() {
            let mut names: Vec<&str> = vec![u.id.as_str()];
            names.extend(u.members.iter().map(|m| m.prim.id.as_str()));
            names.dedup();
            for name in names {
                let e = self.unit_of.entry(name.to_string()).or_default();
                if e.last() != Some(&i) {
                    e.push(i);
                }
            }
        }
    }

    /// Places unit `ui` on its best node (or nowhere); once a promotable
    /// clone's instances are all placed, decides its promotion.
    fn place(&mut self, units: &mut [Unit<'a>], ui: usize) {
        let mut why = Vec::new();
        let (mut scores, mut first_banned, later_bans) = self.own_scores(&units[ui], &mut why);
        // A clone instance is banned from nodes full of its clone's
        // instances before its colocations apply, so a colocation that
        // would leave it only those is rolled back (Pacemaker's
        // allocate_instance runs can_run_instance before assigning).
        self.clone_bans(&units[ui], &mut scores);
        // Colocation with already placed primaries.
        self.apply_colocations(units, ui, &mut scores, &mut why);
        self.dependent_influence(units, ui, &mut scores, &mut why);
        self.later_member_pull(units, ui, &mut scores, &mut why);
        self.first_left_alone_bans(&units[ui], &scores, &mut first_banned);
        self.apply_later_bans(&mut scores, later_bans);
        let prefer = self.capacity_bans(units, ui, &mut scores, &mut why);
        // Group members Pacemaker assigns only after this unit do not
        // count yet where the group runs.
        let deferred = self.members_not_yet_assigned(units, ui);
        for &(i, n) in &deferred {
            self.assigned[i] = self.assigned[i].saturating_sub(n);
        }
        let best = self.best_node(&units[ui], &scores);
        for &(i, n) in &deferred {
            self.assigned[i] = self.assigned[i].saturating_add(n);
        }
        let best = self.preferred(prefer, best, &scores);
        let best = self.preferred(self.staying_node(units, ui), best, &scores);
        for (i, nd) in self.nodes.iter().enumerate() {
            self.plan.scores.push((
                units[ui].members[0].display.clone(),
                nd.uname.clone(),
                scores[i],
            ));
        }
        units[ui].placed_scores = scores.clone();
        let best = self.vetoed(&units[ui], best, &mut why);
        // A cloned group's pre-assignment that ends elsewhere is not
        // counted (`tried_in_place`).
        let current = units[ui]
            .current_node()
            .and_then(|n| self.node_index.get(n));
        let counts = !self.uncounted.contains(&ui) || best.as_ref() == current;
        self.commit(
            &mut units[ui],
            (best, counts),
            &scores,
            &first_banned,
            &mut why,
        );
        self.plan
            .reasons
            .entry(units[ui].id.clone())
            .or_default()
            .extend(why);
        self.cut_later_members(units, ui);
        if let Some(c) = units[ui].clone.filter(|c| c.promotable) {
            let all_done = units
                .iter()
                .filter(|u| u.clone.is_some_and(|x| std::ptr::eq(x, c)))
                .all(|u| u.done);
            if all_done && !self.promoted_done.contains(&c.id) {
                self.promote_clone(c, units);
            }
        }
    }

    /// The best node, unless clone-max instances are placed, target-role
    /// is Stopped, stop-all-resources is set, or the unit is unmanaged and stopped (nothing starts
    /// it, so it takes no place on any node).
    fn vetoed(&self, unit: &Unit<'a>, best: Option<usize>, why: &mut Vec<String>) -> Option<usize> {
        let mut best = best;
        if best.is_some() && self.clone_max_reached(unit, why) {
            best = None;
        }
        // A group whose first member is unmanaged (or blocked by a
        // failure) goes with it: Pacemaker assigns the members in order,
        // each colocated with the one before, the unmanaged one to its
        // node; a later member that cannot run there stops.
        if self.first_left_alone(unit)
            && let Some((node, _)) = unit.members[0].current.first()
            && let Some(&i) = self.node_index.get(node)
        {
            best = Some(i);
        }
        // An unmanaged member stays where it is whatever its target-role
        // (Pacemaker sets its next role to its current one).
        if unit
            .members
            .first()
            .is_some_and(|m| m.target_role == Some(Role::Stopped) && m.managed)
        {
            why.push(format!("{}: target-role is Stopped", unit.id));
            best = None;
        }
        // stop-all-resources: Pacemaker assigns no resource a node, fencing
        // devices included.
        if self.config.properties.stop_all_resources {
            why.push(format!("{}: stop-all-resources is set", unit.id));
            best = None;
        }
        if unit
            .members
            .iter()
            .all(|m| !m.managed && m.current.is_empty())
        {
            best = None;
            why.push(format!("{}: unmanaged and stopped, stays stopped", unit.id));
        }
        // An unmanaged active resource (every member unmanaged, or blocked
        // by a failure, which unmanages it) stays where it is, whatever its
        // scores, and counts there: Pacemaker assigns it to its node.
        // Pacemaker assigns each member to its own node: a stopped first
        // member does not keep the active ones from counting.
        if self.left_alone(unit)
            && let Some((node, _)) = unit.members.iter().find_map(|m| m.current.first())
            && let Some(&i) = self.node_index.get(node)
        {
            why.push(format!("{}: unmanaged, stays on {node}", unit.id));
            best = Some(i);
        }
        best
    }

    /// Every member is unmanaged, or blocked by a failure (which unmanages
    /// it): Pacemaker assigns each to the node it is active on.
    pub(super) fn left_alone(&self, unit: &Unit<'a>) -> bool {
        unit.members
            .iter()
            .all(|m| !m.managed || self.blocked_by_failure(m))
    }

    /// The group's first member is unmanaged, or blocked by a failure.
    pub(super) fn first_left_alone(&self, unit: &Unit<'a>) -> bool {
        unit.members
            .first()
            .is_some_and(|m| !m.managed || self.blocked_by_failure(m))
    }

    /// A group kept on its node by its unmanaged first member (`vetoed`):
    /// the members after it cannot run there when the group's scores,
    /// its later members' own bans aside, ban the node (it cannot host, a
    /// mandatory colocation fails: Pacemaker blocks their starts).
    fn first_left_alone_bans(&self, unit: &Unit<'a>, scores: &[Score], first_banned: &mut [usize]) {
        if !self.first_left_alone(unit) {
            return;
        }
        let node = unit.members[0].current.first().map(|(n, _)| n);
        if let Some(&i) = node.and_then(|n| self.node_index.get(n))
            && scores[i] == Score::MINUS_INFINITY
        {
            first_banned[i] = first_banned[i].min(1);
        }
    }

    /// A plain group kept on node `i` by its first member, left alone there
    /// though the group's scores or its own failure ban the node (so the
    /// members after it do not count as runnable there): those members
    /// are still assigned there, each
    /// colocated with the one before (their starts blocked), up to the
    /// first that cannot run there, and count there. How many.
    fn followers_of_first_left_alone(&self, unit: &Unit<'a>, i: usize) -> u32 {
        // (A cloned group's member failure bans its whole instance: no
        // member follows there.)
        if unit.clone.is_some() || self.left_alone(unit) || !self.first_left_alone(unit) {
            return 0;
        }
        if unit.members[0]
            .current
            .first()
            .and_then(|(n, _)| self.node_index.get(n))
            != Some(&i)
        {
            return 0;
        }
        // Those within `runnable` are counted already.
        (unit.runnable.max(1)..unit.members.len())
            .take_while(|&j| {
                let m = &unit.members[j];
                m.managed
                    && !self.blocked_by_failure(m)
                    && m.target_role != Some(Role::Stopped)
                    && !self.member_banned_on(unit, j, i)
            })
            .count() as u32
    }

    /// A member left alone where it is active (unmanaged, or blocked by a
    /// failure): Pacemaker assigns each member apart, such a one to its
    /// node, where it counts for the node comparison.
    fn left_alone_on(&self, m: &Member<'a>) -> Option<usize> {
        if m.managed && !self.blocked_by_failure(m) {
            return None;
        }
        let (node, _) = m.current.first()?;
        self.node_index.get(node).copied()
    }

    /// Counts the members left alone on another node than `placed` (all
    /// when the unit is placed nowhere), or past the `runnable` ones, on
    /// their own node. Returns how many of the runnable ones were so
    /// counted elsewhere.
    fn count_members_left_alone(
        &mut self,
        unit: &Unit<'a>,
        placed: Option<usize>,
        runnable: usize,
        why: &mut Vec<String>,
    ) -> u32 {
        let mut moved_out = 0;
        for (k, m) in unit.members.iter().enumerate() {
            let Some(i) = self.left_alone_on(m) else {
                continue;
            };
            if k < runnable && placed == Some(i) {
                continue;
            }
            if k < runnable {
                moved_out += 1;
            }
            self.assigned[i] += 1;
            why.push(format!(
                "{}: {} is left alone on {} and counts there",
                unit.id, m.prim.id, self.nodes[i].uname
            ));
        }
        moved_out
    }

    /// Records the unit's placement on node `best`: how many members run
    /// there, what it takes of the node, and whether quorum lets it act.
    fn commit(
        &mut self,
        unit: &mut Unit<'a>,
        (best, counts): (Option<usize>, bool),
        scores: &[Score],
        first_banned: &[usize],
        why: &mut Vec<String>,
    ) {
        // Only requires=nothing resources start without quorum (fencing
        // devices too need it: their default is requires=quorum).
        let needs_quorum = unit
            .members
            .iter()
            .any(|m| m.prim.meta.requires != Some(Requires::Nothing));
        let no_quorum = !self.quorum_ok() && needs_quorum;
        if no_quorum {
            why.push(format!("{}: the partition has no quorum", unit.id));
        }
        unit.placed = best.map(|i| self.nodes[i].uname.clone());
        unit.no_quorum = no_quorum;
        unit.done = true;
        unit.runnable = best.map_or(0, |i| first_banned[i]);
        // Members with target-role Stopped, and unmanaged members that
        // are stopped (nothing will start them), cut the group short.
        if let Some(p) = unit.members.iter().position(|m| {
            (m.target_role == Some(Role::Stopped) && m.managed)
                || (!m.managed && m.current.is_empty())
        }) {
            unit.runnable = unit.runnable.min(p);
        }
        let Some(i) = best else {
            // An instance beyond clone-max is never assigned, nor are its
            // members (distribute_children's "limit reached").
            if !self.clone_max_reached(unit, &mut Vec::new()) {
                self.count_members_left_alone(unit, None, 0, why);
            }
            why.push(format!("{}: no node can run it", unit.id));
            return;
        };
        unit.runnable = self.members_fitting(unit, i, unit.runnable);
        self.consume(unit, i);
        // What is left alone counts where it is active, banned there or not.
        let counted = if self.left_alone(unit) {
            unit.members
                .iter()
                .filter(|m| !m.current.is_empty())
                .count()
        } else {
            unit.runnable
        };
        let moved_out = if self.left_alone(unit) {
            0
        } else {
            self.count_members_left_alone(unit, Some(i), unit.runnable, why)
        };
        let followers = self.followers_of_first_left_alone(unit, i);
        self.assigned[i] += (counted as u32).saturating_sub(moved_out) + followers;
        if let Some(c) = unit.clone.filter(|_| counts) {
            *self.clone_here.entry((c.id.clone(), i)).or_default() += 1;
            *self.clone_placed.entry(c.id.clone()).or_default() += 1;
        }
        why.push(format!(
            "{}: placed on {} with score {}",
            unit.id, self.nodes[i].uname, scores[i]
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{ClusterStatus, Role};
    use crate::scheduler::clones::tests::summary;
    use crate::scheduler::transition::tests::{online, running};
    use crate::scheduler::{Verb, schedule};

    #[test]
    fn a_resource_blocked_by_a_failed_stop_counts_on_its_node() {
        // Without fencing, b's failed stop blocks it on node1 (banned there
        // by its fail count), where Pacemaker assigns it all the same: r
        // goes to node2, the node with fewer resources (checked against
        // crm_simulate).
        let resources = r#"<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/>
<primitive id="r" class="ocf" provider="pacemaker" type="Dummy"/>"#;
        let failed_stop = r#"<lrm_resource id="b" class="ocf" provider="pacemaker" type="Dummy">
<lrm_rsc_op id="b_last_failure_0" operation="stop" call-id="3" rc-code="1" op-status="0" interval="0" on_node="node1"/>
</lrm_resource>"#;
        let fail_count = r#"<nvpair id="f" name="fail-count-b#stop_0" value="INFINITY"/>"#;
        let s = summary(resources, "", fail_count, [failed_stop, ""]);
        assert_eq!(s, ["Start r - node2"]);
    }

    #[test]
    fn stop_all_resources_stops_everything() {
        let resources = "[[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\n\n\
                         [[primitive]]\nid = \"web\"\nagent = \"ocf:heartbeat:Dummy\"\n";
        let text =
            crate::config::fixtures::two_nodes(false, "stop-all-resources = true\n", resources);
        let config = crate::config::load_config_str(&text, "t.toml").unwrap();
        let mut status = ClusterStatus {
            have_quorum: true,
            ..ClusterStatus::default()
        };
        online(&mut status, "node1");
        online(&mut status, "node2");
        running(&mut status, "node1", "db", Role::Started);
        let got: Vec<(Verb, String)> = schedule(&config, &status, 2_000)
            .changes
            .into_iter()
            .map(|c| (c.verb, c.subject))
            .collect();
        assert_eq!(got, vec![(Verb::Stop, "db".to_string())]);
    }
}
