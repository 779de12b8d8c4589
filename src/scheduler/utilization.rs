//! Utilization and placement-strategy, as Pacemaker's "Utilization and
//! Placement Strategy": nodes offer capacities and resources need amounts
//! of them (`utilization` attributes, integers by name). With any strategy
//! but `default`:
//! - a unit may only go where the free capacity covers what it needs and
//!   what the not yet placed resources colocated with it (INFINITY, both
//!   ways) need; if no node covers all of that, only nodes lacking what the
//!   unit itself needs are banned, and the node with the most free capacity
//!   is preferred when its score is as good as the best;
//! - every placed member takes its amounts from its node's free capacity,
//!   and so does a member left alone (unmanaged, or blocked by a failure)
//!   on the node it is active on, even after a member that stops the group
//!   (what runs before the transition takes nothing: capacity is counted
//!   from the configuration on every run, as Pacemaker does);
//! - `balanced` puts, among equal scores, the node with more free capacity
//!   first (before fewer assigned resources), `minimal` the first by name;
//! - units are placed by priority, then by their score where they run, then
//!   by their scores on the nodes (cmp_resources): the scores of Pacemaker's
//!   allowed-node table (a node that cannot run resources keeps its score,
//!   a clone's has no instance stickiness) with the unit's colocations with
//!   its primaries merged by their factor, and the nodes in Pacemaker's
//!   order (those that cannot run resources last).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use super::plan::Ctx;
use super::units::Unit;
use crate::model::*;

/// Integer amounts by utilization name (a node's free capacity, a need).
pub(super) type Amounts = BTreeMap<String, i64>;

/// A utilization value; anything but an integer counts 0, as Pacemaker
/// uses 0 (with a configuration warning) for an invalid value.
fn amount(v: &str) -> i64 {
    v.trim().parse().unwrap_or(0)
}

pub(super) fn amounts(attrs: &Attributes) -> Amounts {
    attrs.iter().map(|(k, v)| (k.clone(), amount(v))).collect()
}

/// Whether `free` covers every amount `need` names (a name the node does
/// not offer counts 0).
pub(super) fn fits(free: &Amounts, need: &Amounts) -> bool {
    need.iter()
        .all(|(k, n)| *n <= free.get(k).copied().unwrap_or(0))
}

fn add(total: &mut Amounts, need: &Amounts) {
    for (k, n) in need {
        let t = total.entry(k.clone()).or_insert(0);
        *t = t.saturating_add(*n);
    }
}

/// Takes `need` from `free`. A name the node does not offer becomes 0, as
/// in Pacemaker.
fn take(free: &mut Amounts, need: &Amounts) {
    for (k, n) in need {
        let f = free.entry(k.clone()).or_insert(*n);
        *f = f.saturating_sub(*n);
    }
}

/// Pacemaker's comparison of free capacities: each name either node
/// offers counts one for the node with more of it. `Less` when `a` has
/// more free capacity (it comes first), `Greater` when `b` has.
pub(super) fn compare_free(a: &Amounts, b: &Amounts) -> Ordering {
    let mut result: i64 = 0;
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in names {
        let x = a.get(k).copied().unwrap_or(0);
        let y = b.get(k).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Greater => result -= 1,
            Ordering::Less => result += 1,
            Ordering::Equal => {}
        }
    }
    result.cmp(&0)
}

/// Every node's capacity from the configuration (a node the configuration
/// does not know offers nothing).
pub(super) fn capacities(config: &ClusterConfig, nodes: &[super::nodes::NodeView]) -> Vec<Amounts> {
    nodes
        .iter()
        .map(|nd| {
            config
                .node(&nd.uname)
                .map(|n| amounts(&n.utilization))
                .unwrap_or_default()
        })
        .collect()
}

impl<'a> Ctx<'a> {
    fn uses_utilization(&self) -> bool {
        self.config.properties.placement_strategy != PlacementStrategy::Default
    }

    /// What members `..upto` of a unit need together.
    fn need_of(unit: &Unit<'a>, upto: usize) -> Amounts {
        let mut total = Amounts::new();
        for m in unit.members.iter().take(upto) {
            add(&mut total, &amounts(&m.prim.utilization));
        }
        total
    }

    /// The units not placed yet that INFINITY colocations tie to unit `ui`
    /// (following primaries, and dependents unless a clone would lead to a
    /// non-clone: where that dependent goes is not known), a clone counted
    /// by one instance.
    fn colocated_chain(&self, units: &[Unit<'a>], ui: usize) -> Vec<usize> {
        let mut seen: BTreeSet<usize> = BTreeSet::from([ui]);
        let mut clones_seen: BTreeSet<&str> = BTreeSet::new();
        let mut queue = vec![ui];
        let mut out = Vec::new();
        while let Some(u) = queue.pop() {
            let unit = &units[u];
            let mine = |id: &str| unit.id == id || unit.members.iter().any(|m| m.prim.id == id);
            for ci in self.candidate_colocations(unit) {
                let c = &self.colocations[ci];
                let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                    continue;
                };
                let started = |role: Option<Role>| role.is_none_or(|x| x == Role::Started);
                if !c.score.is_plus_infinity() || !started(c.rsc_role) || !started(c.with_rsc_role)
                {
                    continue;
                }
                let other = if mine(r) && !mine(w) {
                    w
                } else if mine(w) && !mine(r) {
                    r
                } else {
                    continue;
                };
                for &j in self.units_named(other) {
                    let to_dependent = other == r;
                    // The instance being placed has its clone's INFINITY
                    // dependents among its colocated resources only when
                    // some node gets no instance (append_parent_colocation's
                    // "all"); further along the chain a clone leads to no
                    // dependent that is not a clone.
                    if let Some(c) = unit.clone.filter(|_| to_dependent) {
                        let skip = if u == ui {
                            self.every_node_gets_an_instance(c)
                        } else {
                            units[j].clone.is_none()
                        };
                        if skip {
                            continue;
                        }
                    }
                    if let Some(cl) = units[j].clone
                        && !clones_seen.insert(cl.id.as_str())
                    {
                        continue;
                    }
                    if seen.insert(j) {
                        queue.push(j);
                        if !units[j].done {
                            out.push(j);
                        }
                    }
                }
            }
        }
        out
    }

    /// Pacemaker's capacity check before a unit is placed: bans the nodes
    /// that lack the capacity (see the module comment) and returns the node
    /// to prefer, if any.
    pub(super) fn capacity_bans(
        &self,
        units: &[Unit<'a>],
        ui: usize,
        scores: &mut [Score],
        why: &mut Vec<String>,
    ) -> Option<usize> {
        if !self.uses_utilization() {
            return None;
        }
        let unit = &units[ui];
        // A group's first member is placed first and the others follow it:
        // on its own, it is the first member that must fit.
        let own = Self::need_of(unit, 1);
        let mut total = Self::need_of(unit, unit.members.len());
        for j in self.colocated_chain(units, ui) {
            add(
                &mut total,
                &Self::need_of(&units[j], units[j].members.len()),
            );
        }
        // In the order Pacemaker meets the nodes: among nodes with equally
        // much free capacity, the first met is preferred.
        let available: Vec<usize> = self
            .table_order
            .iter()
            .copied()
            .filter(|&i| self.nodes[i].can_host() && scores[i].value() >= 0)
            .collect();
        let any_fits = available.iter().any(|&i| fits(&self.free[i], &total));
        let mut most_free: Option<usize> = None;
        for &i in &available {
            if most_free
                .is_none_or(|m| compare_free(&self.free[i], &self.free[m]) == Ordering::Less)
            {
                most_free = Some(i);
            }
        }
        let need = if any_fits { &total } else { &own };
        for &i in &available {
            if !fits(&self.free[i], need) {
                scores[i] = Score::MINUS_INFINITY;
                why.push(format!(
                    "{}: node {} lacks the capacity it needs ({})",
                    unit.id,
                    self.nodes[i].uname,
                    if any_fits {
                        "with its colocated resources"
                    } else {
                        "alone"
                    }
                ));
            }
        }
        if any_fits { None } else { most_free }
    }

    /// The preferred node (`capacity_bans`) instead of the best one when
    /// its score is as good and it can run the unit.
    pub(super) fn preferred(
        &self,
        prefer: Option<usize>,
        best: Option<usize>,
        scores: &[Score],
    ) -> Option<usize> {
        match (prefer, best) {
            (Some(p), Some(b))
                if scores[p] >= scores[b] && scores[p].value() >= 0 && self.nodes[p].can_host() =>
            {
                Some(p)
            }
            _ => best,
        }
    }

    /// How many members of a unit placed on node `i` fit there, one after
    /// the other (a group member that does not fit stops the group).
    pub(super) fn members_fitting(&self, unit: &Unit<'a>, i: usize, runnable: usize) -> usize {
        if !self.uses_utilization() {
            return runnable;
        }
        let mut free = self.free[i].clone();
        for (k, m) in unit.members.iter().take(runnable).enumerate() {
            let need = amounts(&m.prim.utilization);
            if !fits(&free, &need) {
                return k;
            }
            take(&mut free, &need);
        }
        runnable
    }

    /// Placed members take their amounts from the node's free capacity.
    pub(super) fn consume(&mut self, unit: &Unit<'a>, i: usize) {
        if !self.uses_utilization() {
            return;
        }
        let mut need = Self::need_of(unit, unit.runnable);
        // A later member left alone (unmanaged, or blocked by a failure)
        // is assigned to the node it is active on whatever stops the
        // group before it, and takes its amounts there (Pacemaker assigns
        // each member on its own).
        let uname = &self.nodes[i].uname;
        for m in unit.members.iter().skip(unit.runnable) {
            let here = m.current.iter().any(|(n, _)| n == uname);
            if here && (!m.managed || self.blocked_by_failure(m)) {
                add(&mut need, &amounts(&m.prim.utilization));
            }
        }
        take(&mut self.free[i], &need);
    }

    /// Among equal scores (and before the other tie-breaks), how the
    /// placement strategy orders nodes `i` and `b`: `Some(true)` when `i`
    /// goes first, `Some(false)` when `b` does, `None` to look further.
    pub(super) fn strategy_prefers(&self, i: usize, b: usize) -> Option<bool> {
        match self.config.properties.placement_strategy {
            PlacementStrategy::Minimal => Some(self.nodes[i].uname < self.nodes[b].uname),
            PlacementStrategy::Balanced => match compare_free(&self.free[i], &self.free[b]) {
                Ordering::Less => Some(true),
                Ordering::Greater => Some(false),
                Ordering::Equal => None,
            },
            _ => None,
        }
    }

    /// With a strategy other than default, Pacemaker places resources by
    /// priority, then by their score on the node they run on, then by
    /// their scores on the nodes (in node order: by free capacity for
    /// balanced, then by name). A clone's instances keep together.
    pub(super) fn utilization_order(&self, units: &[Unit<'a>], order: &mut [usize]) {
        if !self.uses_utilization() {
            return;
        }
        let mut node_order: Vec<usize> = (0..self.nodes.len()).collect();
        node_order.sort_by(|&a, &b| {
            // Pacemaker sorts the cluster's nodes as it sorts a resource's:
            // a node that cannot run resources weighs -INFINITY, so last.
            let by_availability = self.nodes[b].can_host().cmp(&self.nodes[a].can_host());
            let by_capacity =
                if self.config.properties.placement_strategy == PlacementStrategy::Balanced {
                    compare_free(&self.free[a], &self.free[b])
                } else {
                    Ordering::Equal
                };
            by_availability
                .then(by_capacity)
                .then_with(|| self.nodes[a].uname.cmp(&self.nodes[b].uname))
        });
        let mut keys: BTreeMap<&str, (Score, Vec<Score>)> = BTreeMap::new();
        for &ui in order.iter() {
            let unit = &units[ui];
            if keys.contains_key(unit.id.as_str()) {
                continue;
            }
            let scores = self.sort_scores(units, unit);
            let current = unit.members[0]
                .current
                .first()
                .and_then(|(n, _)| self.node_index.get(n))
                .map_or(Score::MINUS_INFINITY, |&i| scores[i]);
            let by_node = node_order.iter().map(|&i| scores[i]).collect();
            keys.insert(unit.id.as_str(), (current, by_node));
        }
        order.sort_by(|&a, &b| {
            let (ua, ub) = (&units[a], &units[b]);
            let (ca, na) = &keys[ua.id.as_str()];
            let (cb, nb) = &keys[ub.id.as_str()];
            ub.priority
                .cmp(&ua.priority)
                .then_with(|| cb.cmp(ca))
                .then_with(|| nb.cmp(na))
        });
    }
}

impl<'a> Ctx<'a> {
    /// A unit's node scores as 2.1.5's cmp_resources sees them (through
    /// pcmk__add_colocated_node_scores): the allowed-node table, where a
    /// node that cannot run resources now keeps its score (so a resource
    /// active on a lost node sorts by its score there), a clone's own
    /// table (no instance stickiness), and the unit's colocations with
    /// its primaries merged by their factor. Later group members' bans
    /// count as Pacemaker merges the members' scores into the group's
    /// (rolled back if no node would be left); a group of several members
    /// is merged along its internal colocations, which a node that cannot
    /// run resources ends at -INFINITY.
    fn sort_scores(&self, units: &[Unit<'a>], unit: &Unit<'a>) -> Vec<Score> {
        let instance_parts = unit.clone.is_none();
        let (mut scores, _, later_bans) =
            self.scores_before_colocation(unit, false, instance_parts, &mut Vec::new());
        self.apply_later_bans(&mut scores, later_bans);
        if unit.members.len() > 1 {
            for (i, nd) in self.nodes.iter().enumerate() {
                if !nd.can_host() {
                    scores[i] = Score::MINUS_INFINITY;
                }
            }
        }
        let mine = |id: &str| unit.id == id || unit.members.iter().any(|m| m.prim.id == id);
        let mut path = vec![unit.id.as_str()];
        self.merge_primaries(units, &mine, 1.0, &mut path, &mut scores);
        scores
    }

    /// Merges into `scores` the tables of the primaries of the resource
    /// `is_dependent` recognises (its colocations with them, role
    /// colocations left out), each at its colocation's score / INFINITY
    /// with the sign of the chain so far, then along each primary's own
    /// colocations in turn, as 2.1.5's pcmk__add_colocated_node_scores
    /// recurses; a primary already on the chain (`path`) is skipped, and
    /// a merge that would leave no node is rolled back with all it would
    /// have brought along.
    fn merge_primaries<'p>(
        &'p self,
        units: &[Unit<'a>],
        is_dependent: &dyn Fn(&str) -> bool,
        sign: f64,
        path: &mut Vec<&'p str>,
        scores: &mut Vec<Score>,
    ) {
        for ci in self.colocations_of(is_dependent) {
            let c = &self.colocations[ci];
            let Some(w) = c.with_rsc.as_deref() else {
                continue;
            };
            if path.contains(&w) {
                continue;
            }
            let Some(&pj) = self.units_named(w).first() else {
                continue;
            };
            // A clone primary merges its own table (no instance stickiness).
            let primary_parts = units[pj].clone.is_none();
            let primary =
                self.scores_before_colocation(&units[pj], false, primary_parts, &mut Vec::new());
            let score = (sign * c.score.value() as f64) as i64;
            let mut work = scores.clone();
            if !self.merge_by_factor(&mut work, &primary.0, score) {
                continue;
            }
            // A group is followed along its first member's colocations and
            // its own.
            let first = units[pj].members.first().map(|m| m.prim.id.as_str());
            let group = (units[pj].clone.is_none() && units[pj].id == w).then_some(first);
            let is_primary = |id: &str| id == w || group.flatten() == Some(id);
            path.push(w);
            let sign = if score < 0 { -1.0 } else { 1.0 };
            self.merge_primaries(units, &is_primary, sign, path, &mut work);
            path.pop();
            *scores = work;
        }
    }

    /// The colocations whose dependent `is_dependent` recognises, not
    /// role colocations, in the order of Pacemaker's list of them.
    fn colocations_of(&self, is_dependent: &dyn Fn(&str) -> bool) -> Vec<usize> {
        let mut found: Vec<usize> = (0..self.colocations.len())
            .filter(|&ci| {
                let c = &self.colocations[ci];
                c.rsc.as_deref().is_some_and(is_dependent)
                    && c.with_rsc.as_deref().is_some_and(|w| !is_dependent(w))
                    && c.rsc_role.is_none()
                    && c.with_rsc_role.is_none()
                    && !self
                        .units_named(c.with_rsc.as_deref().unwrap_or(""))
                        .is_empty()
            })
            .collect();
        self.sort_like_pacemaker(&mut found);
        found
    }

    /// Adds a primary's scores at `score / INFINITY` (Pacemaker's
    /// add_node_scores_matching_attr): on each node the primary's score
    /// there if the node can run resources, else -INFINITY; rounded, at
    /// least ±1 when not zero; a negative score through a negative
    /// factor is left out. Rolled back when no node would be left.
    fn merge_by_factor(&self, scores: &mut Vec<Score>, primary: &[Score], score: i64) -> bool {
        let mut work = scores.clone();
        for (i, nd) in self.nodes.iter().enumerate() {
            let theirs = if nd.can_host() {
                primary[i].value()
            } else {
                -INFINITY
            };
            if let Some(add) = super::scores::colocation_share(theirs, score) {
                work[i] += Score::new(add);
            }
        }
        if !self.any_runnable(&work) {
            return false;
        }
        *scores = work;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amts(pairs: &[(&str, i64)]) -> Amounts {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn a_need_fits_only_where_every_amount_is_free() {
        let free = amts(&[("cpu", 2), ("mem", 100)]);
        assert!(fits(&free, &amts(&[("cpu", 2)])));
        assert!(fits(&free, &amts(&[("cpu", 1), ("mem", 100)])));
        assert!(!fits(&free, &amts(&[("cpu", 3)])));
        // A name the node does not offer counts 0.
        assert!(!fits(&free, &amts(&[("disk", 1)])));
        assert!(fits(&free, &amts(&[("disk", 0)])));
    }

    #[test]
    fn free_capacities_compare_name_by_name() {
        let a = amts(&[("cpu", 8), ("mem", 100)]);
        let b = amts(&[("cpu", 4), ("mem", 100)]);
        let c = amts(&[("cpu", 2), ("mem", 200)]);
        assert_eq!(compare_free(&a, &b), Ordering::Less);
        assert_eq!(compare_free(&b, &a), Ordering::Greater);
        // More cpu on one side, more memory on the other: equal.
        assert_eq!(compare_free(&b, &c), Ordering::Equal);
        // A name only one node offers counts for it.
        assert_eq!(
            compare_free(&amts(&[("gpu", 1)]), &amts(&[])),
            Ordering::Less
        );
    }

    #[test]
    fn taking_a_need_lowers_the_free_amounts() {
        let mut free = amts(&[("cpu", 2)]);
        take(&mut free, &amts(&[("cpu", 1), ("mem", 5)]));
        assert_eq!(free, amts(&[("cpu", 1), ("mem", 0)]));
        assert_eq!(amount("x"), 0);
        assert_eq!(amount(" 7 "), 7);
    }
}
