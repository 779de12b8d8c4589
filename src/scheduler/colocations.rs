//! Colocation constraints: resource sets expanded into two-resource
//! colocations, the placement order they impose (primaries before
//! dependents), a dependent's pull on its primary's scores, the
//! dependent's scores from its placed primaries, and the late rule that a
//! mandatory dependent cannot stay where its primary no longer runs.

use std::collections::HashMap;

use super::Verb;
use super::outcome::{Outcome, Outcomes};
use super::plan::Ctx;
use super::units::Unit;
use crate::model::*;

/// Colocation constraints with resource sets expanded, in place, into
/// two-resource colocations as Pacemaker does: in a sequential set each
/// member is placed with the one before it; a sequential set with a negative
/// score keeps each member away from every earlier one; an unordered set
/// colocates nothing within itself; between
/// consecutive sets the first member of the earlier set (every member if
/// it is unordered) is placed with the last member of the later set
/// (every member if unordered). A set's own score and role apply to it.
pub(super) fn flat_colocations(colocations: &[Colocation]) -> Vec<Colocation> {
    let mut out = Vec::new();
    for c in colocations {
        if c.sets.is_empty() {
            out.push(c.clone());
            continue;
        }
        let pair = |out: &mut Vec<Colocation>,
                    r: &str,
                    w: &str,
                    score: Score,
                    rr: Option<Role>,
                    wr: Option<Role>| {
            out.push(Colocation {
                id: c.id.clone(),
                score,
                rsc: Some(r.to_string()),
                with_rsc: Some(w.to_string()),
                rsc_role: rr,
                with_rsc_role: wr,
                node_attribute: c.node_attribute.clone(),
                influence: c.influence,
                sets: Vec::new(),
            });
        };
        for set in &c.sets {
            let score = set.score.unwrap_or(c.score);
            // An unordered set (sequential=false) colocates its members
            // with nothing inside it, whatever its score.
            if !set.sequential {
                continue;
            }
            if score.value() >= 0 {
                for w in set.resources.windows(2) {
                    pair(&mut out, &w[1], &w[0], score, set.role, set.role);
                }
            } else {
                for (i, r) in set.resources.iter().enumerate() {
                    for w in &set.resources[..i] {
                        pair(&mut out, r, w, score, set.role, set.role);
                    }
                }
            }
        }
        for w in c.sets.windows(2) {
            let (s1, s2) = (&w[0], &w[1]);
            let deps: Vec<&String> = if s1.sequential {
                s1.resources.first().into_iter().collect()
            } else {
                s1.resources.iter().collect()
            };
            let primaries: Vec<&String> = if s2.sequential {
                s2.resources.last().into_iter().collect()
            } else {
                s2.resources.iter().collect()
            };
            for r in &deps {
                for p in &primaries {
                    pair(&mut out, r, p, c.score, s1.role, s2.role);
                }
            }
        }
    }
    out
}

impl<'a> Ctx<'a> {
    /// Colocations naming this unit or one of its members.
    pub(super) fn candidate_colocations(&self, unit: &Unit<'a>) -> Vec<usize> {
        let mut v = Vec::new();
        for id in
            std::iter::once(unit.id.as_str()).chain(unit.members.iter().map(|m| m.prim.id.as_str()))
        {
            if let Some(l) = self.coloc_idx.get(id) {
                v.extend(l);
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    pub(super) fn units_named(&self, name: &str) -> &[usize] {
        self.unit_of.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Orders units so that colocation primaries come before dependents.
    /// A finite colocation of a group's later member is no such edge:
    /// Pacemaker assigns that primary while it assigns the member, after
    /// the group's first member chose the group's node, so here the
    /// primary comes right after the group.
    pub(super) fn colocation_order(&self, units: &[Unit<'a>], order: Vec<usize>) -> Vec<usize> {
        let later = later_members(units);
        let mut deps: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut after: HashMap<&str, Vec<&str>> = HashMap::new();
        for c in &self.colocations {
            if let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) {
                if !c.score.is_minus_infinity() && later.contains_key(r.as_str()) {
                    after.entry(r.as_str()).or_default().push(w.as_str());
                } else {
                    deps.entry(r.as_str()).or_default().push(w.as_str());
                }
            }
        }
        // Each resource's primaries are assigned in the order of its
        // colocation list (cmp_primary_priority): priority, clones before
        // groups before primitives, promotable clones first, then id.
        for ws in deps.values_mut() {
            ws.sort_by_cached_key(|w| {
                let (priority, variant, promotable) = self.primary_rank(w);
                (
                    std::cmp::Reverse(priority),
                    std::cmp::Reverse(variant),
                    !promotable,
                    w.to_string(),
                )
            });
        }
        let mut out = Vec::new();
        let mut done = vec![false; units.len()];
        let mut visiting = vec![false; units.len()];
        fn visit<'b>(
            i: usize,
            units: &[Unit<'b>],
            unit_of: &HashMap<String, Vec<usize>>,
            deps: &HashMap<&str, Vec<&str>>,
            done: &mut [bool],
            visiting: &mut [bool],
            out: &mut Vec<usize>,
        ) {
            if done[i] || visiting[i] {
                return;
            }
            // A clone is one resource to Pacemaker: a colocation loop
            // back to it stops at any of its instances.
            let siblings: &[usize] = match units[i].clone {
                Some(_) => unit_of.get(&units[i].id).map_or(&[], Vec::as_slice),
                None => &[],
            };
            let entered: Vec<usize> = siblings.iter().copied().filter(|&j| !visiting[j]).collect();
            for &j in &entered {
                visiting[j] = true;
            }
            visiting[i] = true;
            let mut names: Vec<&str> = vec![units[i].id.as_str()];
            names.extend(units[i].members.iter().map(|m| m.prim.id.as_str()));
            for name in names {
                if let Some(ws) = deps.get(name) {
                    for w in ws {
                        for &j in unit_of.get(*w).map(Vec::as_slice).unwrap_or(&[]) {
                            visit(j, units, unit_of, deps, done, visiting, out);
                        }
                    }
                }
            }
            for j in entered {
                visiting[j] = false;
            }
            done[i] = true;
            out.push(i);
        }
        for i in order {
            let mut stack = vec![i];
            while let Some(k) = stack.pop() {
                if done[k] {
                    continue;
                }
                let before = out.len();
                visit(
                    k,
                    units,
                    &self.unit_of,
                    &deps,
                    &mut done,
                    &mut visiting,
                    &mut out,
                );
                // The primaries of later members' finite colocations of the
                // groups just placed follow them (first one first).
                for &g in out[before..].iter().rev() {
                    for m in units[g].members.iter().rev() {
                        for w in after.get(m.prim.id.as_str()).into_iter().flatten().rev() {
                            stack.extend(self.units_named(w).iter().rev());
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether colocation `c` is a finite or INFINITY one whose dependent
    /// is a later member of group unit `unit`: Pacemaker applies it to that
    /// member only, once the group's node is chosen (its first member's,
    /// whose scores merge the later members' own tables but not their
    /// colocations), where the member's INFINITY colocation with the
    /// previous member dominates a finite one (or a rollback undoes it) and
    /// an INFINITY one elsewhere leaves the member no node
    /// (`cut_later_members`): it does not move the group.
    fn later_member_finite(&self, unit: &Unit<'a>, c: &Colocation) -> bool {
        !c.score.is_minus_infinity()
            && unit.clone.is_none()
            && c.rsc
                .as_deref()
                .is_some_and(|r| unit.members.iter().skip(1).any(|m| m.prim.id == r))
    }

    /// Members a placed group counts on its node that Pacemaker has not
    /// assigned yet when it assigns unit `ui`: `ui` is the primary of a
    /// finite colocation of the group's member k, so it is assigned while
    /// member k is (its colocations' primaries first), before k and the
    /// members after it. As (node, members) for the node comparison.
    pub(super) fn members_not_yet_assigned(
        &self,
        units: &[Unit<'a>],
        ui: usize,
    ) -> Vec<(usize, u32)> {
        let unit = &units[ui];
        let mine = |id: &str| unit.id == id || unit.members.iter().any(|m| m.prim.id == id);
        let mut out = Vec::new();
        for ci in self.candidate_colocations(unit) {
            let c = &self.colocations[ci];
            let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                continue;
            };
            if !mine(w) || c.influence == Some(false) {
                continue;
            }
            let Some(&g) = self.units_named(r).first() else {
                continue;
            };
            let group = &units[g];
            if g == ui || !self.later_member_finite(group, c) || self.left_alone(group) {
                continue;
            }
            let Some(k) = group.members.iter().position(|m| &m.prim.id == r) else {
                continue;
            };
            let Some(&i) = group.placed.as_deref().and_then(|n| self.node_index.get(n)) else {
                continue;
            };
            if group.runnable > k {
                out.push((i, (group.runnable - k) as u32));
            }
        }
        out
    }

    /// A primary placed after a group one of whose later members has a
    /// positive finite colocation with it: Pacemaker assigns the primary
    /// while assigning that member, whose scores are -INFINITY off the
    /// group's node by then (its colocation with the previous member), and
    /// merges them at colocation score / INFINITY: every node but the
    /// group's loses the colocation's score. Only when the previous member
    /// is applied first (Pacemaker orders a member's colocations by their
    /// primary: priority, clones and groups before primitives, then id).
    pub(super) fn later_member_pull(
        &self,
        units: &[Unit<'a>],
        ui: usize,
        scores: &mut [Score],
        why: &mut Vec<String>,
    ) {
        let unit = &units[ui];
        let mine = |id: &str| unit.id == id || unit.members.iter().any(|m| m.prim.id == id);
        for ci in self.candidate_colocations(unit) {
            let c = &self.colocations[ci];
            let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                continue;
            };
            if !mine(w) || c.score.value() <= 0 || c.rsc_role.is_some() || c.with_rsc_role.is_some()
            {
                continue;
            }
            let Some(&g) = self.units_named(r).first() else {
                continue;
            };
            let group = &units[g];
            if !self.later_member_finite(group, c) {
                continue;
            }
            let Some(k) = group.members.iter().position(|m| &m.prim.id == r) else {
                continue;
            };
            let Some(node) = group.placed.as_deref().filter(|_| group.runnable >= k) else {
                continue;
            };
            let previous = group.members[k - 1].prim;
            let previous_first = match unit.members.first() {
                // The primary is a primitive or a group's first member
                // (assigned with its group).
                Some(m) if unit.clone.is_none() && (m.prim.id == unit.id || m.prim.id == *w) => {
                    (-previous.meta.priority.unwrap_or(0), previous.id.as_str())
                        < (-unit.priority, w.as_str())
                }
                _ => false,
            };
            if !previous_first {
                continue;
            }
            let mut trial = scores.to_vec();
            for (i, nd) in self.nodes.iter().enumerate() {
                if nd.uname != node {
                    trial[i] += Score::new(-c.score.value());
                }
            }
            // Merged with rollback (apply_with_this): not when it would
            // leave the primary no node.
            if !self.any_runnable(&trial) && self.any_runnable(scores) {
                why.push(format!(
                    "{}: {} (colocation {}) is placed on {node} with its group: ignored, it would leave no node",
                    unit.id, r, c.id
                ));
                continue;
            }
            scores.copy_from_slice(&trial);
            why.push(format!(
                "{}: {} (colocation {}) is placed on {node} with its group: {} off every other node",
                unit.id,
                r,
                c.id,
                c.score
            ));
        }
    }

    /// A later group member's INFINITY colocation whose primary does not
    /// run where the group is placed: Pacemaker assigns the member after
    /// the group's first member chose the node, so it gets none, nor do
    /// the members after it (each colocated with the one before). Checked
    /// once both the group and the primary are placed (`ui` is either).
    pub(super) fn cut_later_members(&mut self, units: &mut [Unit<'a>], ui: usize) {
        let mut cuts: Vec<(usize, usize)> = Vec::new();
        for ci in self.candidate_colocations(&units[ui]) {
            let c = &self.colocations[ci];
            let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                continue;
            };
            if !c.score.is_plus_infinity() || c.rsc_role.is_some() || c.with_rsc_role.is_some() {
                continue;
            }
            let Some(&g) = self.units_named(r).first() else {
                continue;
            };
            let group = &units[g];
            if !group.done || !self.later_member_finite(group, c) || self.left_alone(group) {
                continue;
            }
            if !self.units_named(w).iter().all(|&j| units[j].done) {
                continue;
            }
            let Some(k) = group.members.iter().position(|m| &m.prim.id == r) else {
                continue;
            };
            let Some(node) = group.placed.as_deref().filter(|_| group.runnable > k) else {
                continue;
            };
            if !self.primary_nodes(units, c, w).contains(&node) {
                cuts.push((g, k));
            }
        }
        for (g, k) in cuts {
            let group = &mut units[g];
            if group.runnable <= k {
                continue;
            }
            if let Some(&i) = group.placed.as_deref().and_then(|n| self.node_index.get(n)) {
                let removed = (group.runnable - k) as u32;
                self.assigned[i] = self.assigned[i].saturating_sub(removed);
            }
            group.runnable = k;
            self.plan
                .reasons
                .entry(group.id.clone())
                .or_default()
                .push(format!(
                    "{}: {} cannot run with its INFINITY primary, nor the members after it",
                    group.id, group.members[k].prim.id
                ));
        }
    }

    /// Dependents colocated with this unit pull it towards their preferred
    /// nodes, as Pacemaker merges node scores along colocation chains: each
    /// dependent's own scores (and, recursively, its own dependents')
    /// scaled by colocation score / INFINITY. A merge that would leave no
    /// node able to run the unit is rolled back (that dependent then just
    /// cannot follow).
    pub(super) fn dependent_influence(
        &self,
        units: &[Unit<'a>],
        ui: usize,
        scores: &mut Vec<Score>,
        why: &mut Vec<String>,
    ) {
        // A clone instance takes in the dependents of its clone whose
        // colocation is negative, or all of them when clone-max leaves some
        // node without an instance (Pacemaker's append_parent_colocation
        // gives the instance those "with this" colocations; its assignment
        // merges them, apply_with_this).
        let negative_only = units[ui]
            .clone
            .is_some_and(|c| self.every_node_gets_an_instance(c));
        let mut visiting = vec![false; units.len()];
        // A unit being placed is not marked as merging (Pacemaker marks
        // only the resources whose scores it merges): a chain that comes
        // back to a primitive or group merges its own scores as they were
        // before that dependent's merge began; one that comes back to a
        // clone instance's clone merges the clone's table.
        // (A cloned group's instance stops such a loop: see
        // `pulling_dependents`.)
        visiting[ui] = self.grouped_instance(&units[ui]);
        let first = (ui, negative_only);
        self.merge_dependents(units, first, (1.0, None, false), scores, &mut visiting, why);
    }

    /// The allowed-node scores of the clone of instance `ui` as Pacemaker's
    /// `pcmk__clone_allocate` leaves them before assigning its instances:
    /// the clone's own scores, with every dependent's pull merged (only
    /// where it leaves a score nonnegative, `pcmk__coloc_select_nonnegative`).
    pub(super) fn clone_table(&self, units: &[Unit<'a>], ui: usize) -> Vec<Score> {
        let (mut table, _, later) = self.clone_scores(&units[ui]);
        self.apply_later_bans(&mut table, later);
        let mut visiting = vec![false; units.len()];
        visiting[self.clone_index(units, ui)] = true;
        let mut ignored = Vec::new();
        self.merge_dependents(
            units,
            (ui, false),
            (1.0, None, true),
            &mut table,
            &mut visiting,
            &mut ignored,
        );
        table
    }

    /// Whether the unit is an instance of a cloned group.
    fn grouped_instance(&self, unit: &Unit<'a>) -> bool {
        unit.clone
            .is_some_and(|c| matches!(c.child, CloneChild::Group(_)))
    }

    /// The unit that stands for instance `ui`'s clone along a chain (its
    /// first instance).
    fn clone_index(&self, units: &[Unit<'a>], ui: usize) -> usize {
        self.units_named(&units[ui].id)
            .first()
            .copied()
            .unwrap_or(ui)
    }

    /// The dependents of unit `ui` not placed yet that may pull it
    /// (influence not false; whatever the colocation's roles: 2.1.5's
    /// merge of a dependent's scores checks none), as (priority,
    /// colocation, unit) in Pacemaker's order (cmp_dependent_priority): the
    /// higher priority first, clones (promotable first) before groups
    /// before primitives, then by id, and among
    /// colocations of one dependent the later configured first (Pacemaker
    /// inserts each before its equals).
    fn pulling_dependents(
        &self,
        units: &[Unit<'a>],
        ui: usize,
        visiting: &[bool],
        root: Option<usize>,
    ) -> Vec<(i64, usize, usize)> {
        let unit = &units[ui];
        let mine = |id: &str| unit.id == id || unit.members.iter().any(|m| m.prim.id == id);
        // Along a chain, a group whose assignment has not begun still
        // holds its "R with group" colocations itself: Pacemaker follows
        // only its last member's (expand_group_colocations moves them
        // there when the group's assignment begins). It has begun when
        // the group is placed, is the unit being placed, or is the first
        // unit not placed in Pacemaker's order (by priority, then
        // configuration order): the unit being placed is then assigned
        // for it.
        let begun = |r: usize| {
            let rank = |k: usize| (std::cmp::Reverse(units[k].priority), k);
            let first_open = (0..units.len())
                .filter(|&k| !units[k].done)
                .min_by_key(|&k| rank(k));
            unit.done || r == ui || first_open == Some(ui)
        };
        let unexpanded_group = unit.clone.is_none()
            && unit.members.first().is_some_and(|m| m.prim.id != unit.id)
            && root.is_some_and(|r| !begun(r));
        let mut deps: Vec<(i64, usize, usize)> = Vec::new();
        for ci in self.candidate_colocations(unit) {
            let c = &self.colocations[ci];
            let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                continue;
            };
            if !mine(w) || mine(r) || c.score.value() == 0 || c.influence == Some(false) {
                continue;
            }
            if unexpanded_group && *w == unit.id {
                continue;
            }
            let Some(&j) = self.units_named(r).first() else {
                continue;
            };
            let dep = &units[j];
            // A dependent placed already still pulls with its scores as
            // they were at its placement (Pacemaker merges its allowed
            // nodes whether assigned or not; a clone's, its clone table),
            // unless it is a later group member: Pacemaker assigns that
            // one only after this unit.
            let later_member = dep.members.first().is_some_and(|m| m.prim.id != *r) && dep.id != *r;
            // (Not modelled for a cloned group's instance, whose members
            // 2.1.5 assigns one by one, each merging its own "with this"
            // colocations: a placed clone is left out there, as before.)
            let root_grouped = self.grouped_instance(&units[root.unwrap_or(ui)]);
            if visiting[j]
                || (dep.placed.is_some() && dep.clone.is_none() && later_member)
                || (dep.placed.is_some() && dep.clone.is_some() && root_grouped)
            {
                continue;
            }
            deps.push((dep.priority, ci, j));
        }
        deps.sort_by(|a, b| {
            let (da, db) = (&units[a.2], &units[b.2]);
            (-a.0, kind_rank(da), da.id.as_str(), std::cmp::Reverse(a.1)).cmp(&(
                -b.0,
                kind_rank(db),
                db.id.as_str(),
                std::cmp::Reverse(b.1),
            ))
        });
        deps
    }

    /// `(ui, negative_only)`: the unit, and whether only its dependents
    /// through a negative colocation pull it (see `dependent_influence`);
    /// `(factor, root, nonnegative)`: the chain's factor so far, the unit
    /// being placed with its scores when this chain began (None at the
    /// top), and whether a merge may not take a node's score below 0
    /// (`clone_table`).
    fn merge_dependents(
        &self,
        units: &[Unit<'a>],
        (ui, negative_only): (usize, bool),
        (factor, root, nonnegative): (f64, Option<(usize, &[Score])>, bool),
        work: &mut Vec<Score>,
        visiting: &mut [bool],
        why: &mut Vec<String>,
    ) {
        let unit = &units[ui];
        for (_, ci, j) in self.pulling_dependents(units, ui, visiting, root.map(|r| r.0)) {
            // The unit being placed, as its scores were when the merge of
            // this dependent of it began.
            let snapshot = work.clone();
            let root = root.unwrap_or((ui, &snapshot));
            let c = &self.colocations[ci];
            if negative_only && c.score.value() >= 0 {
                continue;
            }
            // Pacemaker scales each link by its own score, only the sign
            // of the factor so far carries down the chain.
            let f = factor.signum() * c.score.value() as f64 / INFINITY as f64;
            let mut ignored = Vec::new();
            let clone_table = units[j]
                .clone
                .filter(|_| !self.grouped_instance(&units[root.0]))
                .and_then(|cl| self.clone_tables.get(&cl.id));
            let dep_scores = if let Some(table) = clone_table {
                table.clone()
            } else if j == root.0 && units[j].clone.is_none() {
                root.1.to_vec()
            } else if units[j].placed.is_some() {
                units[j].placed_scores.clone()
            } else {
                let (mut dep_scores, _, later) = if units[j].clone.is_some() {
                    self.clone_scores(&units[j])
                } else {
                    self.own_scores(&units[j], &mut ignored)
                };
                self.apply_later_bans(&mut dep_scores, later);
                dep_scores
            };
            let mut trial = work.clone();
            for (t, d) in trial.iter_mut().zip(&dep_scores) {
                // A dependent's dislike scaled by an anti-colocation would
                // turn into a liking; Pacemaker skips those.
                if f < 0.0 && d.value() < 0 {
                    continue;
                }
                let merged = *t + scaled(*d, f);
                if nonnegative && merged.value() < 0 {
                    // Pacemaker marks a positive node unusable for the
                    // rest of the merge and gives it 1 at the end; a node
                    // at 0 keeps it.
                    if t.value() > 0 {
                        *t = Score::new(1);
                    }
                    continue;
                }
                *t = merged;
            }
            // Checked before the dependent's own dependents join in.
            if !self.any_runnable(&trial) {
                why.push(format!(
                    "{}: dependent {} (colocation {}) ignored: following it would leave no node",
                    unit.id, units[j].id, c.id
                ));
                continue;
            }
            visiting[j] = true;
            self.merge_dependents(
                units,
                (j, false),
                (f, Some(root), nonnegative),
                &mut trial,
                visiting,
                why,
            );
            visiting[j] = false;
            why.push(format!(
                "{}: dependent {} (colocation {}, factor {f:.6}) merged into its scores",
                unit.id, units[j].id, c.id
            ));
            *work = trial;
        }
    }

    /// Whether some node that can host has a score that allows running.
    pub(super) fn any_runnable(&self, scores: &[Score]) -> bool {
        scores
            .iter()
            .zip(&self.nodes)
            .any(|(s, nd)| s.value() >= 0 && nd.can_host())
    }

    /// The dependent's scores from its placed primaries: INFINITY allows
    /// only the primary's nodes, a finite score adds where it runs.
    pub(super) fn apply_colocations(
        &self,
        units: &[Unit<'a>],
        ui: usize,
        scores: &mut [Score],
        why: &mut Vec<String>,
    ) {
        let unit = &units[ui];
        let mine = |id: &str| unit.id == id || unit.members.iter().any(|m| m.prim.id == id);
        let mut candidates = self.candidate_colocations(unit);
        // Pacemaker applies a dependent's colocations in its list's order
        // (`sort_like_pacemaker`). A clone instance keeps the constraints'
        // order: its clone's colocations reach it by another way.
        if unit.clone.is_none() {
            self.sort_like_pacemaker(&mut candidates);
        }
        for ci in candidates {
            let c = &self.colocations[ci];
            let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                continue;
            };
            if !mine(r) || mine(w) || self.later_member_finite(unit, c) {
                continue;
            }
            if c.rsc_role.is_some_and(|x| x == Role::Promoted) {
                continue;
            }
            // A clone whose instances go to every available node takes
            // only its negative and INFINITY colocations into its
            // instances' placement (append_parent_colocation, 2.1.5).
            if unit
                .clone
                .is_some_and(|cl| self.every_node_gets_an_instance(cl))
                && c.score.value() > 0
                && !c.score.is_plus_infinity()
            {
                continue;
            }
            // The Unpromoted role of a promotable clone's instances: while
            // they are placed their next role is not decided, so a
            // positive colocation of that role is skipped and a negative
            // one applies (pcmk__colocation_affects, 2.1.5), unless
            // target-role already makes it their next role.
            if c.rsc_role == Some(Role::Unpromoted) && unit.clone.is_some_and(|x| x.promotable) {
                let next_unpromoted = unit
                    .members
                    .first()
                    .is_some_and(|m| m.target_role == Some(Role::Unpromoted));
                if (c.score.value() > 0) != next_unpromoted {
                    continue;
                }
            }
            // A colocation loop (A with B with ... with A) reaches a primary
            // not placed yet: Pacemaker breaks the loop by skipping it.
            if !self.units_named(w).iter().any(|&j| units[j].done) {
                why.push(format!(
                    "{}: colocation {} skipped: {} is not placed yet (colocation loop)",
                    unit.id, c.id, w
                ));
                continue;
            }
            let prim_nodes = self.primary_nodes(units, c, w);
            if c.score.is_plus_infinity() {
                for (i, nd) in self.nodes.iter().enumerate() {
                    if !prim_nodes.contains(&nd.uname.as_str()) {
                        scores[i] = Score::MINUS_INFINITY;
                    }
                }
                why.push(format!(
                    "{}: colocation {} requires it with {} (on {:?})",
                    unit.id, c.id, w, prim_nodes
                ));
            } else if matches!(c.with_rsc_role, Some(Role::Promoted | Role::Unpromoted))
                && self.promotable_primary(units, w)
            {
                // A role's colocation adds where that role runs; like any
                // optional colocation it is ignored when it would leave the
                // dependent no node.
                let mut trial = scores.to_vec();
                for (i, nd) in self.nodes.iter().enumerate() {
                    if prim_nodes.contains(&nd.uname.as_str()) {
                        trial[i] += c.score;
                    }
                }
                if self.any_runnable(&trial) || !self.any_runnable(scores) {
                    scores.copy_from_slice(&trial);
                    why.push(format!(
                        "{}: colocation {} adds {} where {} runs",
                        unit.id, c.id, c.score, w
                    ));
                } else {
                    why.push(format!(
                        "{}: colocation {} ignored, it would leave no node",
                        unit.id, c.id
                    ));
                }
            } else {
                self.apply_finite_colocation(units, &unit.id, c, w, scores, why);
            }
        }
    }

    /// Orders a dependent's colocations as Pacemaker's list of them
    /// (cmp_primary_priority): the primary's priority, clones first,
    /// promotable ones first, the primary's id; on a tie a later
    /// constraint before an earlier one (g_list_insert_sorted puts a new
    /// element before its equals). It matters where a finite colocation is
    /// rolled back for leaving no node.
    pub(super) fn sort_like_pacemaker(&self, candidates: &mut [usize]) {
        candidates.sort_by_cached_key(|&ci| {
            let w = self.colocations[ci].with_rsc.as_deref().unwrap_or("");
            let (priority, variant, promotable) = self.primary_rank(w);
            (
                std::cmp::Reverse(priority),
                std::cmp::Reverse(variant),
                !promotable,
                w.to_string(),
                std::cmp::Reverse(ci),
            )
        });
    }

    /// How Pacemaker ranks primary `id` among a dependent's colocations:
    /// its priority, its variant (primitive 0, group 1, clone 2), whether
    /// it is a promotable clone.
    fn primary_rank(&self, id: &str) -> (i64, u8, bool) {
        for r in &self.config.resources {
            match r {
                Resource::Primitive(p) if p.id == id => {
                    return (p.meta.priority.unwrap_or(0), 0, false);
                }
                Resource::Group(g) if g.id == id => {
                    return (g.meta.priority.unwrap_or(0), 1, false);
                }
                Resource::Group(g) => {
                    if let Some(p) = g.members.iter().find(|p| p.id == id) {
                        let priority = p.meta.priority.or(g.meta.priority).unwrap_or(0);
                        return (priority, 0, false);
                    }
                }
                Resource::Clone(c) if c.id == id => {
                    return (c.meta.priority.unwrap_or(0), 2, c.promotable);
                }
                _ => {}
            }
        }
        (0, 0, false)
    }

    /// A colocation of finite score (or -INFINITY), as Pacemaker applies
    /// it: once per instance of the primary (each instance of a clone, else
    /// the resource itself), adding the score where that instance is
    /// placed; an instance placed nowhere takes a positive score off every
    /// node (a negative one does nothing). A step that would leave the
    /// dependent no available node is rolled back unless the score is
    /// -INFINITY: an optional colocation never keeps a resource stopped.
    fn apply_finite_colocation(
        &self,
        units: &[Unit<'a>],
        dependent: &str,
        c: &Colocation,
        w: &str,
        scores: &mut [Score],
        why: &mut Vec<String>,
    ) {
        for j in self.instances_in_list_order(w) {
            let u = &units[j];
            let node = u
                .placed
                .as_deref()
                // What is left alone (unmanaged, or blocked by a failure),
                // a clone instance too, is assigned to its node even where
                // it is banned; a group's first member so left decides
                // (Pacemaker colocates with a group's first member unless
                // the colocation is mandatory).
                .filter(|_| {
                    u.runnable > 0
                        || self.left_alone(u)
                        || (self.first_left_alone(u) && !u.members[0].current.is_empty())
                })
                .and_then(|n| self.node_index.get(n).copied());
            let mut trial = scores.to_vec();
            match node {
                Some(i) => trial[i] += c.score,
                None if c.score.value() > 0 => {
                    for t in trial.iter_mut() {
                        *t += Score::new(-c.score.value());
                    }
                }
                None => continue,
            }
            if c.score.is_infinite() || self.any_runnable(&trial) {
                scores.copy_from_slice(&trial);
                why.push(format!(
                    "{dependent}: colocation {} adds {} for {} ({})",
                    c.id,
                    c.score,
                    u.members[0].display,
                    node.map_or("placed nowhere", |i| self.nodes[i].uname.as_str())
                ));
            } else {
                why.push(format!(
                    "{dependent}: colocation {} with {} rolled back: it would leave no node",
                    c.id, u.members[0].display
                ));
            }
        }
    }

    /// The units `w` names, a clone's instances in the order of its
    /// instance list (`child_rank`), which decides which of them a finite
    /// colocation rolls back for leaving no node.
    fn instances_in_list_order(&self, w: &str) -> Vec<usize> {
        let mut named = self.units_named(w).to_vec();
        named.sort_by_key(|j| self.child_rank.get(j).copied().unwrap_or(usize::MAX));
        named
    }

    /// Whether `w` names a promotable clone (or one of its members).
    fn promotable_primary(&self, units: &[Unit<'a>], w: &str) -> bool {
        self.units_named(w)
            .iter()
            .any(|&j| units[j].clone.is_some_and(|x| x.promotable))
    }

    /// Where the primary `w` of colocation `c` runs, in the role the
    /// colocation asks for.
    fn primary_nodes<'u>(&self, units: &'u [Unit<'a>], c: &Colocation, w: &str) -> Vec<&'u str> {
        // The Promoted role only means something for a promotable clone
        // (Pacemaker treats it as Started elsewhere).
        let promotable_primary = self
            .units_named(w)
            .iter()
            .any(|&j| units[j].clone.is_some_and(|x| x.promotable));
        let with_promoted = c.with_rsc_role == Some(Role::Promoted) && promotable_primary;
        let with_unpromoted = c.with_rsc_role == Some(Role::Unpromoted) && promotable_primary;
        self.units_named(w)
            .iter()
            .map(|&j| &units[j])
            .filter(|u| u.runnable > 0)
            .filter(|u| !with_promoted || u.promote)
            .filter(|u| !with_unpromoted || !u.promote)
            // A clone instance blocked by a failure (on-fail=block)
            // is no place to colocate with.
            .filter(|u| u.clone.is_none() || !u.members.iter().any(|m| self.blocked_by_failure(m)))
            .filter_map(|u| u.placed.as_deref())
            .collect()
    }

    /// A mandatory colocation's dependent cannot stay where its primary
    /// will no longer run (e.g. stopped by an order); the Promoted role
    /// of a clone with a primary that cannot start: the promotion is
    /// blocked. Returns whether anything changed.
    pub(super) fn colocation_pass(&self, o: &mut Outcomes) -> bool {
        let mut changed = false;
        for c in &self.colocations {
            let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                continue;
            };
            if c.score.is_plus_infinity()
                && c.rsc_role == Some(Role::Promoted)
                && c.with_rsc_role.is_none_or(|x| x == Role::Started)
            {
                changed |= block_promotion_without_primary(o, r, w);
                continue;
            }
            if !c.score.is_plus_infinity() || c.rsc_role.is_some() || c.with_rsc_role.is_some() {
                continue;
            }
            changed |= stop_dependent_without_primary(o, r, w);
        }
        changed
    }
}

/// The later members of groups (not cloned), each with its group's unit.
fn later_members<'u>(units: &'u [Unit<'_>]) -> HashMap<&'u str, usize> {
    let mut out = HashMap::new();
    for (i, u) in units.iter().enumerate() {
        if u.clone.is_none() {
            for m in u.members.iter().skip(1) {
                out.insert(m.prim.id.as_str(), i);
            }
        }
    }
    out
}

/// Pacemaker's order of resource kinds among colocations of equal
/// priority: promotable clones, clones, groups, primitives.
fn kind_rank(u: &Unit<'_>) -> u8 {
    match u.clone {
        Some(c) if c.promotable => 0,
        Some(_) => 1,
        // A group unit is named after the group, a primitive after itself.
        None if u.members.first().is_none_or(|m| m.prim.id != u.id) => 2,
        None => 3,
    }
}

/// A dependent's score scaled by factor `f` (colocation score / INFINITY
/// along the chain); INFINITY stays infinite at a full factor. As
/// Pacemaker, the product is rounded to the nearest integer, and a
/// nonzero score never vanishes: a product that rounds to 0 counts as 1
/// with the factor's sign (so a small colocation still breaks a tie).
fn scaled(d: Score, f: f64) -> Score {
    if d.is_infinite() && f.abs() >= 1.0 {
        if (d.value() > 0) == (f > 0.0) {
            Score::INFINITY
        } else {
            Score::MINUS_INFINITY
        }
    } else {
        let v = (d.value() as f64 * f).round() as i64;
        if v == 0 && d.value() != 0 && f != 0.0 {
            Score::new(if f > 0.0 { 1 } else { -1 })
        } else {
            Score::new(v)
        }
    }
}

/// The nodes the outcomes `indices` (a primary's instances) end up on.
fn targets_of(oc: &Outcomes, indices: &[usize]) -> Vec<NodeId> {
    indices
        .iter()
        .filter_map(|&i| oc.outs[i].target.clone())
        .collect()
}

fn block_promotion_without_primary(oc: &mut Outcomes, r: &str, w: &str) -> bool {
    let (Some(ri), Some(wi)) = (oc.by_id.get(r), oc.by_id.get(w)) else {
        return false;
    };
    let mut changed = false;
    let primary_nodes = targets_of(oc, wi);
    for &i in ri {
        let o = &mut oc.outs[i];
        if o.verb == Some(Verb::Promote)
            && !o.blocked
            && o.start_node().is_some_and(|n| !primary_nodes.contains(&n))
        {
            o.blocked = true;
            if o.target.is_some() && o.current.is_empty() {
                o.blocked_target = o.target.take();
            }
            o.reason = Some(format!("due to colocation with {w}"));
            changed = true;
        }
    }
    changed
}

fn stop_dependent_without_primary(oc: &mut Outcomes, r: &str, w: &str) -> bool {
    let (Some(ri), Some(wi)) = (oc.by_id.get(r), oc.by_id.get(w)) else {
        return false;
    };
    let mut changed = false;
    let primary_nodes = targets_of(oc, wi);
    // Nodes the primary is placed on but cannot start on: a stopped
    // dependent placed there is listed as a blocked start (Pacemaker's
    // pcmk__block_colocation_dependents, once the primary's start is
    // unrunnable everywhere); an active one stops, as where the primary
    // is not placed (enforce-colo1).
    let unrunnable_nodes: Vec<NodeId> = if primary_nodes.is_empty() {
        wi.iter()
            .map(|&i| &oc.outs[i])
            .filter(|o| !o.runnable)
            .filter_map(|o| o.blocked_target.clone())
            .collect()
    } else {
        Vec::new()
    };
    for &i in ri {
        let o = &mut oc.outs[i];
        if !o.managed {
            continue;
        }
        if let Some(t) = o.target.clone()
            && unrunnable_nodes.contains(&t)
            && o.current.is_empty()
        {
            changed |= start_blocked_by_colocation(o, w);
            continue;
        }
        if let Some(t) = &o.target
            && !primary_nodes.contains(t)
        {
            o.target = None;
            if o.current.is_empty() {
                o.verb = None;
            } else {
                o.decide(false);
                o.reason = Some(format!("due to colocation with {w}"));
            }
            changed = true;
        }
    }
    changed
}

/// A stopped dependent whose start the primary's unrunnable start blocks
/// (see `stop_dependent_without_primary`); whether anything changed.
fn start_blocked_by_colocation(o: &mut Outcome, w: &str) -> bool {
    if o.verb != Some(Verb::Start) || o.blocked {
        return false;
    }
    o.blocked = true;
    o.blocked_target = o.target.take();
    o.runnable = false;
    o.reason = Some(format!("due to colocation with {w}"));
    true
}

#[cfg(test)]
mod tests {
    use crate::scheduler::clones::tests::{monitor, summary};

    #[test]
    fn a_negative_dependent_pushes_each_clone_instance_away() {
        // p's +10 on node2, scaled by -500/INFINITY, gives each instance of
        // c -1 there: both instances (clone-node-max 2) start on node1 and
        // p takes node2 (seed 20463, minimised; checked against
        // crm_simulate).
        let resources = r#"<clone id="c"><meta_attributes id="c-m"><nvpair id="c-m-1" name="globally-unique" value="true"/>
<nvpair id="c-m-2" name="clone-node-max" value="2"/></meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>
<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>"#;
        let cons = r#"<rsc_colocation id="p-c" rsc="p" with-rsc="c" score="-500"/>
<rsc_location id="p-2" rsc="p" node="node2" score="10"/>"#;
        let s = summary(resources, cons, "", ["", ""]);
        assert_eq!(
            s,
            ["Start d:0 - node1", "Start d:1 - node1", "Start p - node2"]
        );
    }

    #[test]
    fn a_clone_colocated_with_a_resource_pulls_it_to_the_clones_preferred_node() {
        // c's +50 on node1, at 1000/INFINITY, gives p +1 there (a nonzero
        // product never vanishes): p, without stickiness, moves to node1
        // (checked against crm_simulate; case clone-dependent-pulls-its-primary).
        let resources = r#"<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>
<clone id="c"><primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>"#;
        let cons = r#"<rsc_colocation id="c-p" rsc="c" with-rsc="p" score="1000"/>
<rsc_location id="c-1" rsc="c" node="node1" score="50"/>"#;
        let s = summary(resources, cons, "", ["", &monitor("p", "node2", 0)]);
        assert_eq!(
            s,
            [
                "Move p node2 node1",
                "Start d:0 - node1",
                "Start d:1 - node2"
            ]
        );
    }

    #[test]
    fn an_unmanaged_active_resource_pulls_what_it_is_colocated_with() {
        // u, unmanaged and active on node2, scores INFINITY there: at
        // 500/INFINITY p gets +500 on node2 (checked against crm_simulate).
        let resources = r#"<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>
<primitive id="u" class="ocf" provider="pacemaker" type="Dummy">
<meta_attributes id="u-m"><nvpair id="u-m-1" name="is-managed" value="false"/></meta_attributes></primitive>"#;
        let cons = r#"<rsc_colocation id="u-p" rsc="u" with-rsc="p" score="500"/>"#;
        let s = summary(resources, cons, "", ["", &monitor("u", "node2", 0)]);
        assert_eq!(s, ["Start p - node2"]);
    }

    const GROUP_AND_X: &str = r#"<group id="g"><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>
<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/></group>
<primitive id="x" class="ocf" provider="pacemaker" type="Dummy"/>"#;

    #[test]
    fn a_later_group_members_finite_colocation_does_not_move_its_group() {
        // The group's node is its first member's: b's -1000 with x only
        // sends x away (placed after the group, on the emptier node).
        // Checked against crm_simulate.
        let cons = r#"<rsc_colocation id="b-x" rsc="b" with-rsc="x" score="-1000"/>"#;
        let s = summary(GROUP_AND_X, cons, "", ["", ""]);
        assert_eq!(s, ["Start a - node1", "Start b - node1", "Start x - node2"]);
    }

    #[test]
    fn a_later_group_members_positive_colocation_pulls_its_primary_to_the_group() {
        // x, assigned while b is, feels b's -INFINITY off the group's node
        // at 1000/INFINITY: -1000 on node2 outweighs x's own +500 there.
        // Checked against crm_simulate.
        let cons = r#"<rsc_colocation id="b-x" rsc="b" with-rsc="x" score="1000"/>
<rsc_location id="x-2" rsc="x" node="node2" score="500"/>"#;
        let s = summary(GROUP_AND_X, cons, "", ["", ""]);
        assert_eq!(s, ["Start a - node1", "Start b - node1", "Start x - node1"]);
    }

    #[test]
    fn a_colocation_loop_through_a_clone_stops_at_the_clone() {
        // c with x and x with c: Pacemaker assigns c's primary x first and
        // breaks the loop at c as a whole, so x takes its own +10 on node2
        // (one of c's instances was placed before x when each instance
        // was its own stop). Checked against crm_simulate.
        let resources = r#"<clone id="c"><primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>
<primitive id="x" class="ocf" provider="pacemaker" type="Dummy"/>"#;
        let cons = r#"<rsc_colocation id="c-x" rsc="c" with-rsc="x" score="500"/>
<rsc_colocation id="x-c" rsc="x" with-rsc="c" score="50"/>
<rsc_location id="x-2" rsc="x" node="node2" score="10"/>"#;
        let s = summary(resources, cons, "", ["", ""]);
        assert_eq!(
            s,
            ["Start d:0 - node1", "Start d:1 - node2", "Start x - node2"]
        );
    }
}
