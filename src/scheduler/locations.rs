//! Location constraints: node preferences by node name or rule
//! (`rsc`, `rsc-pattern` and resource sets), the opt-in cluster
//! (symmetric-cluster=false: only nodes a location not limited to the
//! Promoted role allows), and
//! role=Promoted locations, which count towards promotion scores only.

use super::plan::Ctx;
use super::rules;
use super::units::Unit;
use crate::model::*;

/// Whether a location's target names one of `ids`.
fn names_any(target: &LocationTarget, ids: &[&str]) -> bool {
    match target {
        LocationTarget::Resource(r) => ids.contains(&r.as_str()),
        LocationTarget::Pattern(p) => ids.iter().any(|id| rules::pattern_matches(p, id)),
        LocationTarget::Sets(sets) => sets
            .iter()
            .any(|s| s.resources.iter().any(|r| ids.contains(&r.as_str()))),
    }
}

fn add_to(score: &mut Option<Score>, add: Score) {
    *score = Some(score.unwrap_or(Score::ZERO) + add);
}

impl<'a> Ctx<'a> {
    /// Location constraints that may name one of `ids`.
    pub(super) fn candidate_locations(&self, ids: &[&str]) -> Vec<usize> {
        let mut v: Vec<usize> = self.generic_locs.clone();
        for id in ids {
            if let Some(l) = self.loc_idx.get(*id) {
                v.extend(l);
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The scores the (not role=Promoted) locations naming one of `ids`
    /// give on each node.
    pub(super) fn location_scores(
        &self,
        unit: &Unit<'a>,
        ids: &[&str],
        scores: &mut [Score],
        why: &mut Vec<String>,
    ) {
        for li in self.candidate_locations(ids) {
            let loc = &self.config.locations[li];
            if !names_any(&loc.target, ids) {
                continue;
            }
            match &loc.placement {
                LocationPlacement::Node { .. } if loc.role == Some(Role::Promoted) => {}
                LocationPlacement::Node { node, score } => {
                    if let Some(&i) = self.node_index.get(node) {
                        scores[i] += *score;
                        why.push(format!(
                            "{}: location {} gives {} on {}",
                            unit.id, loc.id, score, node
                        ));
                    }
                }
                LocationPlacement::Rules(rs) => {
                    for (i, n) in self.nodes.iter().enumerate() {
                        for r in rs {
                            if r.role.is_some_and(|x| x == Role::Promoted) {
                                continue;
                            }
                            if rules::eval(r, &n.attrs, &n.uname, self.now) {
                                let s = rules::rule_score(r, &n.attrs);
                                scores[i] += s;
                                why.push(format!(
                                    "{}: location {} rule {} gives {} on {}",
                                    unit.id, loc.id, r.id, s, n.uname
                                ));
                            }
                        }
                    }
                }
            }
        }
    }

    /// An opt-in cluster (symmetric-cluster=false): a resource may run
    /// only where a location naming it gives a score above -INFINITY. A
    /// role=Promoted location allows no node: Pacemaker applies it only to
    /// a resource whose next role is Promoted, which none has yet when
    /// nodes are chosen.
    pub(super) fn opt_in_bans(&self, ids: &[&str], scores: &mut [Score]) {
        let mut allowed = vec![false; self.nodes.len()];
        let promoted = |r: Option<Role>| r == Some(Role::Promoted);
        for li in self.candidate_locations(ids) {
            let loc = &self.config.locations[li];
            if !names_any(&loc.target, ids) {
                continue;
            }
            match &loc.placement {
                LocationPlacement::Node { node, score }
                    if !score.is_minus_infinity() && !promoted(loc.role) =>
                {
                    if let Some(&i) = self.node_index.get(node) {
                        allowed[i] = true;
                    }
                }
                LocationPlacement::Rules(rs) => {
                    for (i, nd) in self.nodes.iter().enumerate() {
                        if rs.iter().any(|r| {
                            !promoted(r.role)
                                && rules::eval(r, &nd.attrs, &nd.uname, self.now)
                                && !rules::rule_score(r, &nd.attrs).is_minus_infinity()
                        }) {
                            allowed[i] = true;
                        }
                    }
                }
                _ => {}
            }
        }
        for (score, allowed) in scores.iter_mut().zip(allowed) {
            if !allowed {
                *score = Score::MINUS_INFINITY;
            }
        }
    }

    /// role=Promoted locations (and rules with role=Promoted) naming
    /// `ids` directly add to the promotion score on node `i`. A location
    /// with rules takes its role from each rule: Pacemaker ignores the
    /// constraint's own role there (it sets it on the node form only).
    pub(super) fn promoted_locations(&self, ids: &[&str], i: usize, score: &mut Option<Score>) {
        let nd = &self.nodes[i];
        for li in self.candidate_locations(ids) {
            let loc = &self.config.locations[li];
            let applies = match &loc.target {
                LocationTarget::Resource(r) => ids.contains(&r.as_str()),
                _ => false,
            };
            if !applies {
                continue;
            }
            match &loc.placement {
                LocationPlacement::Node { node, score: s }
                    if loc.role == Some(Role::Promoted) && *node == nd.uname =>
                {
                    add_to(score, *s);
                }
                LocationPlacement::Rules(rs) => {
                    for r in rs {
                        let promoted_rule = r.role == Some(Role::Promoted);
                        if promoted_rule && rules::eval(r, &nd.attrs, &nd.uname, self.now) {
                            add_to(score, rules::rule_score(r, &nd.attrs));
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
