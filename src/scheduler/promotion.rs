//! Promotion of promotable clones: each placed instance's promotion score
//! (its `master-<rsc>` node attribute, role=Promoted locations,
//! resources colocated with the Promoted role, role colocations), which
//! instances run Promoted (promoted-max, promoted-node-max), and how a
//! promotable instance's summary line shows its roles.

use std::cmp::Reverse;
use std::collections::HashMap;

use super::Verb;
use super::outcome::Outcome;
use super::plan::Ctx;
use super::units::{Member, Unit};
use crate::model::*;

/// Resource id (unit and member ids) -> the nodes its runnable units are
/// placed on.
type Placed = HashMap<String, Vec<NodeId>>;

fn add_to(score: &mut Option<Score>, add: Score) {
    *score = Some(score.unwrap_or(Score::ZERO) + add);
}

/// A candidate for promotion: (score, promoted now, instance number, unit,
/// node index).
type Candidate = (Score, bool, u32, usize, usize);

impl<'a> Ctx<'a> {
    /// The promotion score of a promotable clone instance placed on node
    /// `i`: its `master-<resource>` node attribute (per instance for unique
    /// clones) plus role=Promoted location constraints. `None` when nothing
    /// gives it a score: such an instance is never promoted.
    fn promotion_score(
        &self,
        c: &Clone,
        ui: usize,
        i: usize,
        placed: &Placed,
        units: &[Unit<'a>],
    ) -> Option<Score> {
        let unit = &units[ui];
        let m = unit.members.first()?;
        // The attribute counts only where it applies, as for placement
        // (Pacemaker's promotion_score asks promotion_score_applies too).
        let mut score = self
            .attribute_promotion_score(c, m, i)
            .filter(|_| self.promotion_applies(c, unit, i));
        let ids = [c.id.as_str(), m.prim.id.as_str()];
        self.promoted_locations(&ids, i, &mut score);
        // Resources colocated with the Promoted role bring their own node
        // preferences, as Pacemaker adds them to the clone's scores before
        // choosing what to promote; those against the node come last.
        let (against, for_): (Vec<Score>, Vec<Score>) = self
            .dependents_pulls(unit, &ids, i, units, true)
            .into_iter()
            .partition(|p| p.value() < 0);
        for p in for_ {
            add_to(&mut score, p);
        }
        self.role_colocations((c, ui, units), &ids, i, placed, &mut score);
        // A score that counts (not negative) becomes the clone's own weight
        // of the node plus the score: its locations and what its
        // dependents (whatever their role) bring, as at its placement
        // (Pacemaker's set_sort_index_to_node_weight).
        let Some(s) = score.filter(|s| s.value() >= 0) else {
            return score;
        };
        let mut weight = vec![Score::ZERO; self.nodes.len()];
        self.location_scores(unit, &[c.id.as_str()], &mut weight, &mut Vec::new());
        let weight = self
            .dependents_pulls(unit, &ids, i, units, false)
            .into_iter()
            .fold(weight[i], nonnegative_merge);
        // A dependent that cannot run here does not demote an instance
        // no other may replace: a VIP banned by a failure on the
        // primary's node leaves its db promoted while the standby's
        // promotion score is -INFINITY (chaos seed 9, fault 1).
        Some(against.into_iter().fold(s + weight, nonnegative_merge))
    }

    /// Pacemaker adds each promotable instance's promotion score (the
    /// node attribute only) to its node scores before placing the clone,
    /// on available nodes where the score applies and the instance is
    /// allowed, when positive (pcmk__add_promotion_scores): an instance
    /// starts where it would be promoted. Returns the highest such score,
    /// which becomes the instance's priority among its siblings.
    pub(super) fn add_promotion_preference(&self, unit: &Unit<'a>, scores: &mut [Score]) -> i64 {
        let Some(c) = unit.clone.filter(|c| c.promotable) else {
            return 0;
        };
        let mut highest = 0;
        for (i, nd) in self.nodes.iter().enumerate() {
            if !nd.can_host() || scores[i].value() < 0 || !self.promotion_applies(c, unit, i) {
                continue;
            }
            let score: i64 = unit
                .members
                .iter()
                .filter_map(|m| self.attribute_promotion_score(c, m, i))
                .map(Score::value)
                .sum();
            if score > 0 {
                scores[i] += Score::new(score);
                highest = highest.max(score);
            }
        }
        highest
    }

    /// Whether an instance's promotion score on node `i` counts
    /// (promotion_score_applies): where it is active; for an anonymous
    /// clone also where no instance is active but the clone's history is
    /// known; where the instance's own history is known; everywhere if it
    /// has no history at all.
    fn promotion_applies(&self, c: &Clone, unit: &Unit<'a>, i: usize) -> bool {
        let uname = &self.nodes[i].uname;
        let m = &unit.members[0];
        if m.current.iter().any(|(n, _)| n == uname) {
            return true;
        }
        let entries = self
            .history
            .get(&m.prim.id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let known: Vec<&NodeId> = if c.globally_unique {
            entries
                .iter()
                .filter(|(_, _, o)| o.known)
                .filter(|(_, rid, _)| super::units::instance_of(rid) == unit.instance)
                .map(|(n, _, _)| n)
                .collect()
        } else {
            let here: Vec<_> = entries
                .iter()
                .filter(|(n, _, o)| n == uname && o.known)
                .collect();
            if !here.is_empty() && here.iter().all(|(_, _, o)| o.role < Role::Started) {
                return true;
            }
            self.anonymous_known_on(entries, unit.instance.unwrap_or(0))
        };
        (known.is_empty() && m.current.is_empty()) || known.contains(&uname)
    }

    /// The nodes whose history Pacemaker files under anonymous instance
    /// `n`: going through the status in order, history where the resource
    /// is active goes to the lowest instance not active yet, and so does
    /// history where it is stopped (without making that instance active).
    fn anonymous_known_on<'h>(
        &self,
        entries: &'h [(NodeId, String, super::history::Observed)],
        n: u32,
    ) -> Vec<&'h NodeId> {
        let mut next = 0u32;
        let mut known = Vec::new();
        // History whose every operation is an expired failure tells
        // Pacemaker nothing (the resource is not known there).
        for (node, _, obs) in entries.iter().filter(|(_, _, o)| o.known) {
            let counts = self
                .node_index
                .get(node)
                .is_some_and(|&k| self.nodes[k].history_counts());
            if !counts {
                continue;
            }
            if next == n {
                known.push(node);
            }
            if obs.role >= Role::Started {
                next += 1;
            }
        }
        known
    }

    /// The promotion score an agent set as a node attribute.
    fn attribute_promotion_score(&self, c: &Clone, m: &Member<'a>, i: usize) -> Option<Score> {
        let nd = &self.nodes[i];
        let attr_names = [
            format!("master-{}", m.display),
            format!("master-{}", m.prim.id),
            format!("promotion-{}", m.prim.id),
        ];
        let score: Option<Score> = attr_names
            .iter()
            .filter(|n| c.globally_unique || !n.contains(':'))
            .find_map(|n| nd.attrs.get(n))
            .and_then(|v| v.parse::<Score>().ok());
        // Only an instance active there knows its old instance name.
        let active_here = m.current.iter().any(|(n, _)| *n == nd.uname);
        if score.is_none() && !c.globally_unique && active_here {
            // Older clusters kept per-instance names for anonymous clones:
            // Pacemaker reads the attribute under the name the history
            // here knows the instance by (its clone_name).
            let known_as = self.history.get(&m.prim.id).and_then(|l| {
                l.iter()
                    .find(|(n, _, o)| *n == nd.uname && o.role >= Role::Started)
                    .map(|(_, rid, _)| format!("master-{rid}"))
            });
            if let Some(v) = known_as.and_then(|k| nd.attrs.get(&k)) {
                return v.parse::<Score>().ok();
            }
            // Instance numbers are not stable, but a node runs one instance.
            let prefix = format!("master-{}:", m.prim.id);
            return nd
                .attrs
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .filter_map(|(_, v)| v.parse::<Score>().ok())
                .max();
        }
        score
    }

    /// What each (non-clone) resource colocated with `ids` (with its
    /// Promoted role if `promoted`, else with any other) brings on node
    /// `i`: its node preference scaled by the colocation score, never
    /// zero, one per colocation, in order.
    fn dependents_pulls(
        &self,
        unit: &Unit<'a>,
        ids: &[&str],
        i: usize,
        units: &[Unit<'a>],
        promoted: bool,
    ) -> Vec<Score> {
        let mut pulls = Vec::new();
        for ci in self.candidate_colocations(unit) {
            let col = &self.colocations[ci];
            let (Some(r), Some(w)) = (&col.rsc, &col.with_rsc) else {
                continue;
            };
            if !ids.contains(&w.as_str())
                || (promoted && col.with_rsc_role != Some(Role::Promoted))
                || col.score.value() <= 0
                || col.influence == Some(false)
            {
                continue;
            }
            let Some(&j) = self.units_named(r).first() else {
                continue;
            };
            if units[j].clone.is_some() {
                continue;
            }
            let mut ignored = Vec::new();
            let (mut dep, _, later) = self.own_scores(&units[j], &mut ignored);
            self.apply_later_bans(&mut dep, later);
            // A dependent that can run nowhere is left out (Pacemaker drops
            // a merge that would leave no node).
            if !self.any_runnable(&dep) {
                continue;
            }
            let d = dep[i];
            let add = if d.is_infinite() && col.score.is_plus_infinity() {
                d
            } else {
                Score::new((d.value() as f64 * col.score.value() as f64 / INFINITY as f64) as i64)
            };
            if add.value() != 0 {
                pulls.push(add);
            }
        }
        pulls
    }

    /// Colocations of the Promoted role with another resource: with
    /// INFINITY it may be promoted only where that resource runs; the
    /// Unpromoted role colocated with a resource at INFINITY forbids promotion
    /// where that resource runs.
    fn role_colocations(
        &self,
        (c, ui, units): (&Clone, usize, &[Unit<'_>]),
        ids: &[&str],
        i: usize,
        placed: &Placed,
        score: &mut Option<Score>,
    ) {
        let nd = &self.nodes[i];
        for col in &self.colocations {
            let (Some(r), Some(w)) = (&col.rsc, &col.with_rsc) else {
                continue;
            };
            if !ids.contains(&r.as_str()) {
                continue;
            }
            let there = placed
                .get(w.as_str())
                .is_some_and(|ns| ns.contains(&nd.uname));
            if col.rsc_role == Some(Role::Unpromoted) {
                if col.with_rsc_role.is_none_or(|x| x == Role::Started) {
                    self.unpromoted_colocation(c, ui, col, placed, &nd.uname, score);
                }
                continue;
            }
            if col.rsc_role != Some(Role::Promoted) {
                continue;
            }
            if col.with_rsc_role.is_some_and(|x| x != Role::Started) {
                continue;
            }
            if col.score.is_plus_infinity() {
                *score = Some(if there {
                    score.unwrap_or(Score::ZERO) + col.score
                } else {
                    Score::MINUS_INFINITY
                });
            } else {
                if there
                    && (score.is_some() || col.score.is_minus_infinity())
                    && self.appended_to_instances(c, col)
                {
                    // A finite score adds to a promotion score (it gives
                    // none by itself); -INFINITY bans only where it runs.
                    add_to(score, col.score);
                }
                if let Some(s) = score.as_mut() {
                    *s += self.promoted_colocation_share(units, col, w, i);
                }
            }
        }
    }

    /// Chooses which placed instances of each promotable clone run
    /// Promoted: the highest promotion scores, at most promoted-max in all
    /// and promoted-node-max per node; a negative or missing score never.
    pub(super) fn promote(&mut self, units: &mut [Unit<'a>]) {
        let clones: Vec<&'a Clone> = self
            .config
            .resources
            .iter()
            .filter_map(|r| match r {
                Resource::Clone(c) if c.promotable && !self.promoted_done.contains(&c.id) => {
                    Some(c)
                }
                _ => None,
            })
            .collect();
        for c in clones {
            self.promote_clone(c, units);
        }
    }

    /// Promotion of one promotable clone, run as soon as all its instances
    /// are placed so that resources colocated with its Promoted role can
    /// follow.
    pub(super) fn promote_clone(&mut self, c: &'a Clone, units: &mut [Unit<'a>]) {
        self.promoted_done.insert(c.id.clone());
        let placed = placed_nodes(units);
        let stuck = self.stuck_promoted(c, units);
        let mut candidates = self.promotion_candidates(c, units, &placed);
        self.sort_promotable_list(c, units, &candidates);
        // Highest score first; on a tie the instance already promoted,
        // then the lower instance number.
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut per_node: HashMap<usize, u32> = HashMap::new();
        let mut chosen = stuck;
        // Without quorum under freeze, an instance chosen that is not
        // Promoted now is skipped without taking a slot: the next one down
        // may be (Pacemaker's "cannot be elevated: no-quorum-policy=freeze").
        let freeze =
            !self.quorum_ok() && self.config.properties.no_quorum_policy == NoQuorumPolicy::Freeze;
        for (score, _, _, ui, i) in candidates {
            if chosen >= c.promoted_max || score.value() < 0 {
                break;
            }
            let here = per_node.entry(i).or_default();
            if *here >= c.promoted_node_max {
                continue;
            }
            let current = &units[ui].members[0].current;
            if freeze && !current.iter().any(|(_, o)| o.role == Role::Promoted) {
                continue;
            }
            *here += 1;
            chosen += 1;
            units[ui].promote = true;
            self.plan
                .reasons
                .entry(c.id.clone())
                .or_default()
                .push(format!(
                    "{}: promoted on {} with promotion score {}",
                    units[ui].members[0].display, self.nodes[i].uname, score
                ));
        }
    }

    /// Re-sorts the clone's instance list as 2.1.5 does once it sets the
    /// instances' promotion priorities (sort_promotable_instances,
    /// cmp_promotable_instance): the higher sort index first (the promotion
    /// score of a candidate, -1 for another placed instance that may be
    /// promoted, -INFINITY for one that may not, 0 for one placed nowhere),
    /// then the higher current role, then the assignment order. Later
    /// colocations with the clone meet its instances in this order.
    fn sort_promotable_list(&mut self, c: &Clone, units: &[Unit<'a>], candidates: &[Candidate]) {
        let mut list: Vec<usize> = (0..units.len())
            .filter(|&ui| units[ui].clone.is_some_and(|x| std::ptr::eq(x, c)))
            .collect();
        let sort_index = |ui: usize| {
            let u = &units[ui];
            if let Some(&(score, ..)) = candidates.iter().find(|cand| cand.3 == ui) {
                score
            } else if u.placed.is_none() || u.runnable == 0 {
                Score::ZERO
            } else if self.may_promote(u) {
                Score::new(-1)
            } else {
                Score::MINUS_INFINITY
            }
        };
        let current_role = |ui: usize| {
            let m = &units[ui].members[0];
            match m.current.first().map(|(_, o)| o.role) {
                Some(Role::Promoted) => 3,
                Some(Role::Unpromoted) => 2,
                Some(_) => 1,
                None => 0,
            }
        };
        list.sort_by_cached_key(|&ui| {
            let rank = self.child_rank.get(&ui).copied().unwrap_or(usize::MAX);
            (Reverse(sort_index(ui)), Reverse(current_role(ui)), rank)
        });
        for (k, ui) in list.into_iter().enumerate() {
            self.child_rank.insert(ui, k);
        }
    }

    /// A promoted instance that cannot be changed (failed and blocked, or
    /// unmanaged) keeps its promoted slot.
    fn stuck_promoted(&self, c: &Clone, units: &[Unit<'a>]) -> u32 {
        let mut stuck = 0u32;
        for u in units.iter() {
            if !u.clone.is_some_and(|x| std::ptr::eq(x, c)) {
                continue;
            }
            let m = &u.members[0];
            let promoted = m.current.iter().any(|(_, o)| o.role == Role::Promoted);
            if promoted && (!m.managed || self.blocked_by_failure(m)) {
                stuck += 1;
            }
        }
        stuck
    }

    /// The placed instances of `c` that may be promoted, with their
    /// promotion scores (recorded in the plan), negative ones too.
    fn promotion_candidates(
        &mut self,
        c: &Clone,
        units: &[Unit<'a>],
        placed: &Placed,
    ) -> Vec<Candidate> {
        let mut candidates: Vec<Candidate> = Vec::new();
        for (ui, u) in units.iter().enumerate() {
            if !u.clone.is_some_and(|x| std::ptr::eq(x, c)) || u.runnable == 0 {
                continue;
            }
            let Some(node) = &u.placed else { continue };
            let Some(&i) = self.node_index.get(node) else {
                continue;
            };
            if !self.may_promote(u) {
                continue;
            }
            let Some(score) = self.promotion_score(c, ui, i, placed, units) else {
                continue;
            };
            self.plan
                .promotion_scores
                .push((u.members[0].display.clone(), node.clone(), score));
            // Promoted now, wherever it goes (cmp_promotable_instance reads
            // the current role).
            let promoted_now = u.members[0]
                .current
                .iter()
                .any(|(_, o)| o.role == Role::Promoted);
            candidates.push((score, promoted_now, u.instance.unwrap_or(0), ui, i));
        }
        candidates
    }

    /// Neither target-role=Unpromoted, nor a group instance that cannot
    /// run all its members, nor an instance whose failure asks for a
    /// demotion (it is not promoted again where it failed), nor one whose
    /// promote failed: a failed promote's role after failure is
    /// Unpromoted (pe_actions.c's default fail_role), which Pacemaker
    /// makes the instance's next role, so another instance is promoted.
    fn may_promote(&self, u: &Unit<'a>) -> bool {
        !u.members
            .iter()
            .any(|m| m.target_role == Some(Role::Unpromoted))
            && u.runnable >= u.members.len()
            && !self.demote_on_failure(&u.members[0])
            && !u.members.iter().any(promote_failed)
    }
}

impl Ctx<'_> {
    /// A finite colocation of the Promoted role with `primary` merges the
    /// primary's score on node `i` into the clone's weight there at its
    /// factor (apply_coloc_to_dependent, sort_promotable_instances): what
    /// the primary has where it can run, -INFINITY where the node cannot
    /// run resources.
    fn promoted_colocation_share(
        &self,
        units: &[Unit<'_>],
        col: &Colocation,
        primary: &str,
        i: usize,
    ) -> Score {
        let Some(&pj) = self.units_named(primary).first() else {
            return Score::ZERO;
        };
        let theirs = if self.nodes[i].can_host() {
            let parts = units[pj].clone.is_none();
            let own = self.scores_before_colocation(&units[pj], false, parts, &mut Vec::new());
            own.0[i].value()
        } else {
            -INFINITY
        };
        super::scores::colocation_share(theirs, col.score.value()).map_or(Score::ZERO, Score::new)
    }

    /// Whether 2.1.5 appends clone colocation `col` to the clone's
    /// instances (append_parent_colocation), where it then weighs on their
    /// promotion priority: negative and INFINITY ones, and all of them
    /// when some node gets no instance.
    fn appended_to_instances(&self, c: &Clone, col: &Colocation) -> bool {
        !self.every_node_gets_an_instance(c)
            || col.score.value() < 0
            || col.score.is_plus_infinity()
    }

    /// The Unpromoted role of the clone colocated with a resource: each
    /// instance of the resource on the instance's node lowers its
    /// promotion priority by the score, from Pacemaker's default of -1 when
    /// nothing else gave one (pcmk__apply_coloc_to_priority: minus the
    /// score for the Unpromoted role; INFINITY forbids promotion). 2.1.5
    /// applies it only where the clone's colocation was appended to the
    /// instance, each time it was (`parent_colocations_appended`): all of
    /// them when some node gets no instance, else only negative and
    /// INFINITY ones (append_parent_colocation).
    fn unpromoted_colocation(
        &self,
        c: &Clone,
        ui: usize,
        col: &Colocation,
        placed: &Placed,
        uname: &NodeId,
        score: &mut Option<Score>,
    ) {
        let appended = self.appended_to_instances(c, col);
        let Some(w) = col.with_rsc.as_deref() else {
            return;
        };
        let here = placed
            .get(w)
            .map_or(0, |ns| ns.iter().filter(|n| *n == uname).count()) as i64;
        if !appended || here == 0 {
            return;
        }
        if col.score.is_plus_infinity() {
            *score = Some(Score::MINUS_INFINITY);
            return;
        }
        let times = here * self.parent_colocations_appended(ui);
        let against = Score::new(col.score.value().saturating_mul(-times));
        *score = Some(score.unwrap_or(Score::new(-1)) + against);
    }
}

/// Whether a member's promote failed and that failure still stands.
/// `score` plus a dependent's `pull`, never taken below zero by it: a
/// positive score that would go negative becomes 1, zero stays zero
/// (add_node_scores_matching_attr with only_positive).
fn nonnegative_merge(score: Score, pull: Score) -> Score {
    let merged = score + pull;
    match (merged.value() < 0, score.value() > 0) {
        (false, _) => merged,
        (true, true) => Score::new(1),
        (true, false) => score,
    }
}

fn promote_failed(m: &Member<'_>) -> bool {
    m.current
        .iter()
        .any(|(_, o)| o.failed && o.failed_op.as_deref() == Some("promote"))
}

fn placed_nodes(units: &[Unit<'_>]) -> Placed {
    let mut placed: Placed = HashMap::new();
    for u in units.iter() {
        if u.runnable == 0 {
            continue;
        }
        if let Some(n) = &u.placed {
            placed.entry(u.id.clone()).or_default().push(n.clone());
            for m in &u.members {
                placed.entry(m.prim.id.clone()).or_default().push(n.clone());
            }
        }
    }
    placed
}

/// How a managed promotable instance's line shows its roles: a start of
/// an instance chosen for promotion is a promotion from Stopped, staying
/// put is a promotion or demotion, a stop, move or recovery shows the role
/// it had (and the one it gets). `promote`: whether it ends Promoted.
pub(super) fn show_roles(m: &Member<'_>, o: &mut Outcome, promote: bool) {
    let promoted_now = m.current.iter().any(|(_, ob)| ob.role == Role::Promoted);
    let stays = o.current.len() == 1 && o.target.as_ref() == o.current.first();
    let gets = |promote: bool| {
        Some(if promote {
            Role::Promoted
        } else {
            Role::Unpromoted
        })
    };
    match (o.verb, promoted_now, promote) {
        (Some(Verb::Start), _, true) => {
            o.verb = Some(Verb::Promote);
            o.from_role = Some(Role::Stopped);
            o.to_role = Some(Role::Promoted);
        }
        (None, false, true) if stays => {
            o.verb = Some(Verb::Promote);
            o.from_role = Some(Role::Unpromoted);
            o.to_role = Some(Role::Promoted);
        }
        (None, true, false) if stays => {
            o.verb = Some(Verb::Demote);
            o.from_role = Some(Role::Promoted);
            o.to_role = Some(Role::Unpromoted);
        }
        (Some(Verb::Stop), true, _) => {
            o.from_role = Some(Role::Promoted);
        }
        (Some(Verb::Stop), false, _) => {
            o.from_role = Some(Role::Unpromoted);
        }
        // A move, a recovery or a restart (in place or elsewhere) shows the
        // role it had and, if different, the one it gets.
        (Some(Verb::Move | Verb::Recover | Verb::Restart), _, promote) => {
            o.from_role = o.role_now;
            o.to_role = gets(promote);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Role;
    use crate::scheduler::clones::tests::summary;

    const PROMOTABLE: &str = r#"<clone id="c"><meta_attributes id="cm"><nvpair id="cm-p" name="promotable" value="true"/></meta_attributes>
<primitive id="s" class="ocf" provider="pacemaker" type="Stateful"/></clone>"#;

    /// A probe of `s` on `node` that found it stopped.
    fn probe(node: &str) -> String {
        format!(
            r#"<lrm_resource id="s" class="ocf" provider="pacemaker" type="Stateful">
<lrm_rsc_op id="s_monitor_0" operation="monitor" call-id="1" rc-code="7" op-status="0" interval="0" on_node="{node}"/>
</lrm_resource>"#
        )
    }

    #[test]
    fn the_promotion_score_places_the_first_instance() {
        // node1 already runs p (more assigned), yet s:0 starts there: its
        // promotion score counts in placement, not only in promotion.
        let resources = format!(
            r#"<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>{PROMOTABLE}"#
        );
        let loc = r#"<rsc_location id="p-1" rsc="p" node="node1" score="100"/>"#;
        let attr = r#"<nvpair id="m" name="master-s" value="100"/>"#;
        let p1 = crate::scheduler::clones::tests::monitor("p", "node1", 0);
        let s = summary(&resources, loc, attr, [&p1, ""]);
        assert_eq!(s, ["Promote s:0 - node1", "Start s:1 - node2"]);
    }

    #[test]
    fn a_probed_instance_scores_only_where_its_history_is() {
        // The probe on node2 belongs to s:0, so node1's score counts for
        // s:1 only: s:1 goes first, takes node1 and is promoted.
        let attr = r#"<nvpair id="m" name="master-s" value="1000"/>"#;
        let s = summary(PROMOTABLE, "", attr, ["", &probe("node2")]);
        assert_eq!(s, ["Start s:0 - node2", "Promote s:1 - node1"]);
    }

    #[test]
    fn a_recovery_elsewhere_shows_the_instances_role() {
        // crm_simulate: "Recover d:0 ( node1 -> node2 Unpromoted )".
        let resources = r#"<clone id="c"><meta_attributes id="c-m"><nvpair id="c-m-1" name="promotable" value="true"/>
<nvpair id="c-m-2" name="clone-max" value="1"/><nvpair id="c-m-3" name="migration-threshold" value="1"/></meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Stateful"/></clone>"#;
        let fail = r#"<nvpair id="fc" name="fail-count-d#monitor_10000" value="1"/>"#;
        let lrm1 = crate::scheduler::clones::tests::monitor("d", "node1", 1)
            .replace(r#"type="Dummy""#, r#"type="Stateful""#);
        let plan = crate::scheduler::clones::tests::two_node_plan(resources, "", fail, [&lrm1, ""]);
        let c = &plan.changes[0];
        assert_eq!((c.verb.name(), c.subject.as_str()), ("Recover", "d:0"));
        assert_eq!(
            (c.from_role, c.to_role),
            (Some(Role::Unpromoted), Some(Role::Unpromoted))
        );
    }
}
