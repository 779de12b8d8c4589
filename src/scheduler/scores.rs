//! A unit's own node scores, before any colocation: the symmetric or
//! opt-in default, locations, nodes that cannot host, stickiness, and
//! failure bans (`failures`); and the choice of node from the final scores.

use std::cmp::Ordering;

use super::hash_order::glib_sort;
use super::plan::Ctx;
use super::units::{Member, Unit};
use crate::model::*;

/// A unit's own scores: per node the score, per node the index of the
/// first member that cannot run there (a failure bans it, or its own
/// locations sum below 0: the group runs up to it), and what each later
/// member of a group adds (its locations, -INFINITY where a failure bans
/// it), merged like a colocation with rollback (`apply_later_bans`).
pub(super) type OwnScores = (Vec<Score>, Vec<usize>, Vec<Vec<(usize, Score)>>);

impl<'a> Ctx<'a> {
    /// A unit's own node scores, before any colocation: the symmetric or
    /// opt-in default, locations, nodes that cannot host, stickiness, hard
    /// errors and migration-threshold bans. Also, per node, the index of the
    /// first member a failure bans there (the group runs up to it).
    pub(super) fn own_scores(&self, unit: &Unit<'a>, why: &mut Vec<String>) -> OwnScores {
        self.scores_before_colocation(unit, true, true, why)
    }

    /// The node scores of a clone itself, from one of its instances: what
    /// Pacemaker's allowed-node table of the clone holds when a colocation
    /// merges it into a primary's scores. The instance's own scores
    /// without what Pacemaker gives the instance alone (stickiness where it
    /// runs, its promotion score); failure bans stay (an anonymous clone's
    /// are the clone's).
    pub(super) fn clone_scores(&self, unit: &Unit<'a>) -> OwnScores {
        self.scores_before_colocation(unit, true, false, &mut Vec::new())
    }

    /// The unit's scores as Pacemaker's allowed-node table holds them:
    /// `own_scores` without the bans of nodes that cannot host resources
    /// now (their availability is checked apart from their scores).
    pub(super) fn allowed_scores(&self, unit: &Unit<'a>) -> Vec<Score> {
        self.scores_before_colocation(unit, false, true, &mut Vec::new())
            .0
    }

    pub(super) fn scores_before_colocation(
        &self,
        unit: &Unit<'a>,
        hostable_only: bool,
        instance_parts: bool,
        why: &mut Vec<String>,
    ) -> OwnScores {
        let n = self.nodes.len();
        let mut scores = vec![Score::ZERO; n];
        let mut ids: Vec<&str> = vec![unit.id.as_str()];
        for m in &unit.members {
            ids.push(&m.prim.id);
        }
        if !self.config.properties.symmetric_cluster {
            self.opt_in_bans(&ids, &mut scores);
        }
        // A plain group's later members' locations are their own (the
        // group's apply to its first member): Pacemaker merges each later
        // member's scores into the first's like a colocation, rolled back
        // (with those after it) where it would leave no node.
        let later_own = unit.clone.is_none() && unit.members.len() > 1;
        let direct = if later_own { &ids[..2] } else { &ids[..] };
        self.location_scores(unit, direct, &mut scores, why);
        if hostable_only {
            self.unhostable_bans(unit, &mut scores, why);
        }
        let mut first_banned = vec![unit.members.len(); n];
        let mut later_bans: Vec<Vec<(usize, Score)>> = Vec::new();
        for (mi, m) in unit.members.iter().enumerate() {
            let mut delta: Vec<(usize, Score)> = Vec::new();
            if later_own && mi > 0 {
                let mut own = vec![Score::ZERO; n];
                self.location_scores(unit, &[m.prim.id.as_str()], &mut own, why);
                let mut with_stickiness = own.clone();
                self.stickiness(unit, m, &mut with_stickiness, &mut Vec::new());
                for i in 0..n {
                    if with_stickiness[i].value() < 0 {
                        first_banned[i] = first_banned[i].min(mi);
                    }
                    if own[i] != Score::ZERO {
                        delta.push((i, own[i]));
                    }
                }
            }
            if instance_parts {
                self.stickiness(unit, m, &mut scores, why);
                self.unmanaged_here(m, &mut scores, why);
            }
            // A unique clone's failure bans are its instance's, not in the
            // clone's own table.
            if instance_parts || !unit.clone.is_some_and(|c| c.globally_unique) {
                let bans_here = self.failure_bans(unit, mi, &mut scores, &mut first_banned, why);
                delta.extend(bans_here.into_iter().map(|i| (i, Score::MINUS_INFINITY)));
            }
            if !delta.is_empty() {
                later_bans.push(delta);
            }
        }
        if instance_parts {
            self.add_promotion_preference(unit, &mut scores);
        }
        (scores, first_banned, later_bans)
    }

    /// Nodes that cannot host resources (not online, standby, shutting
    /// down, maintenance) get -INFINITY.
    fn unhostable_bans(&self, unit: &Unit<'a>, scores: &mut [Score], why: &mut Vec<String>) {
        for (i, nd) in self.nodes.iter().enumerate() {
            if !nd.can_host() {
                scores[i] = Score::MINUS_INFINITY;
                why.push(format!(
                    "{}: node {} cannot host resources ({:?}{}{})",
                    unit.id,
                    nd.uname,
                    nd.condition,
                    if nd.standby { ", standby" } else { "" },
                    if nd.shutdown { ", shutting down" } else { "" }
                ));
            }
        }
    }

    /// Stickiness where the member runs, failed or not, when it runs on
    /// one node only (Pacemaker 2.1.5's apply_stickiness: a failed instance
    /// is recovered in place rather than where a new one would start). A
    /// member's own stickiness overrides what it inherits from its group
    /// or clone.
    fn stickiness(
        &self,
        unit: &Unit<'a>,
        m: &Member<'a>,
        scores: &mut [Score],
        why: &mut Vec<String>,
    ) {
        let [(node, _)] = m.current.as_slice() else {
            return;
        };
        if let Some(&i) = self.node_index.get(node) {
            let sticky = m.prim.meta.stickiness.unwrap_or(unit.stickiness);
            scores[i] += sticky;
            if sticky.value() != 0 {
                why.push(format!("{}: stickiness {} on {}", m.display, sticky, node));
            }
        }
    }

    /// An unmanaged member scores INFINITY where it is active (Pacemaker's
    /// not_managed_default location when it reads the status), which its
    /// group and the resources colocated with it feel.
    fn unmanaged_here(&self, m: &Member<'a>, scores: &mut [Score], why: &mut Vec<String>) {
        if m.managed {
            return;
        }
        for (node, _) in &m.current {
            if let Some(&i) = self.node_index.get(node) {
                scores[i] += Score::INFINITY;
                why.push(format!("{}: unmanaged, INFINITY on {}", m.display, node));
            }
        }
    }

    /// A group's later members' scores (their locations and bans) move
    /// the whole group, each only if some node can still run it; one that
    /// would leave no node is rolled back, and so are those after it (each
    /// is colocated with the one before: Pacemaker merges it inside that
    /// one's merge). A member left out just cannot run where the group
    /// goes (`first_banned`).
    pub(super) fn apply_later_bans(
        &self,
        scores: &mut Vec<Score>,
        later_bans: Vec<Vec<(usize, Score)>>,
    ) {
        for delta in later_bans {
            let mut trial = scores.clone();
            for (i, s) in delta {
                trial[i] += s;
            }
            if !self.any_runnable(&trial) {
                break;
            }
            *scores = trial;
        }
    }

    /// The node with the best non-negative score. Pacemaker's node order
    /// (compare_nodes): score (a node that cannot host weighs -INFINITY),
    /// then (placement-strategy minimal) the name, or (balanced) more free
    /// capacity, then fewer resources assigned so far, then the node the
    /// resource is active on, then the name. The nodes are sorted as
    /// Pacemaker sorts them, from the order its allowed-node table lists
    /// them (`hash_order`): balanced's comparison is not transitive.
    pub(super) fn best_node(&self, unit: &Unit<'a>, scores: &[Score]) -> Option<usize> {
        // An empty group is a unit without members: it runs nowhere.
        let current_node = unit
            .members
            .first()
            .and_then(|m| m.current.first())
            .map(|(nd, _)| nd.as_str());
        let on_current = |k: usize| current_node == Some(self.nodes[k].uname.as_str());
        let weight = |k: usize| {
            if self.nodes[k].can_host() {
                scores[k]
            } else {
                Score::MINUS_INFINITY
            }
        };
        let cmp = |a: usize, b: usize| {
            weight(b)
                .cmp(&weight(a))
                .then_with(|| match self.strategy_prefers(a, b) {
                    Some(true) => Ordering::Less,
                    Some(false) => Ordering::Greater,
                    None => self.assigned[a]
                        .cmp(&self.assigned[b])
                        .then_with(|| on_current(b).cmp(&on_current(a)))
                        .then_with(|| self.nodes[a].uname.cmp(&self.nodes[b].uname)),
                })
        };
        // GLib's get_values lists the table's last bucket first.
        let listed: Vec<usize> = self.table_order.iter().rev().copied().collect();
        let first = glib_sort(listed, &cmp).into_iter().next()?;
        if scores[first].value() < 0 {
            return None;
        }
        // Among nodes of the same positive score, the node it is active
        // on, whatever is assigned there (assign_best_node; not for a
        // unique clone's instances, which the clone placed already).
        let current = current_node.and_then(|n| self.node_index.get(n).copied());
        if let Some(k) = current
            && scores[first].value() > 0
            && self.nodes[first].can_host()
            && self.nodes[k].can_host()
            && scores[k] == scores[first]
            && !unit.clone.is_some_and(|c| c.globally_unique)
        {
            return Some(k);
        }
        Some(first)
    }
}

/// What a colocation of `score` adds of a primary's node score `theirs`
/// (Pacemaker's add_node_scores_matching_attr): `theirs * score /
/// INFINITY`, rounded half away from zero, at least ±1 when `theirs` is
/// not zero; `None` for a negative score through a negative colocation
/// (a dislike of a dislike is no preference).
pub(super) fn colocation_share(theirs: i64, score: i64) -> Option<i64> {
    let factor = score as f64 / INFINITY as f64;
    if factor < 0.0 && theirs < 0 {
        return None;
    }
    let f = factor * theirs as f64;
    let add = if f < 0.0 { f - 0.5 } else { f + 0.5 } as i64;
    if add == 0 && theirs != 0 {
        return Some(if factor > 0.0 { 1 } else { -1 });
    }
    Some(add)
}
