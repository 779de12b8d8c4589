//! Output: fencing lines, the outcomes after orders and colocations have
//! settled as summary changes and actions, orphans, and the text of
//! crm_simulate's Transition Summary.

use std::collections::BTreeSet;

use super::orders::flat_orders;
use super::outcome::Outcome;
use super::plan::Ctx;
use super::units::Unit;
use super::{Change, Plan, PlanAction, Verb};
use crate::model::*;

/// Passes of the order and colocation rules over the outcomes: each may
/// change what the next sees, until nothing changes.
const SETTLE_PASSES_MAX: usize = 8;

impl<'a> Ctx<'a> {
    /// Turns the placements into the plan's changes and actions.
    pub(super) fn emit(&mut self, units: &[Unit<'a>]) {
        self.fence_changes(units);
        let mut oc = self.outcomes(units);
        // Mandatory start orders: an unrunnable first blocks then; a
        // (re)start of first restarts then where it stays.
        let flat = flat_orders(&self.config.orders);
        for _ in 0..SETTLE_PASSES_MAX {
            let mut changed = self.order_pass(&flat, &mut oc);
            changed |= self.colocation_pass(&mut oc);
            if !changed {
                break;
            }
        }
        for o in oc.outs {
            self.write_outcome(o);
        }
        self.orphans();
        for i in 0..self.plan.actions.len() {
            self.plan.graph.add_node(i);
        }
    }

    /// Unclean nodes that can be fenced. A partition without quorum fences
    /// nobody (unless told to ignore quorum): the other side may be the
    /// one that holds it. Nor does a cluster with no managed resource
    /// (maintenance-mode, everything is-managed=false, or no resources):
    /// Pacemaker fences only once it has resources to manage.
    fn fence_changes(&mut self, units: &[Unit<'a>]) {
        if !self.config.properties.stonith_enabled {
            return;
        }
        if !units.iter().any(|u| u.members.iter().any(|m| m.managed)) {
            return;
        }
        for nd in &self.nodes {
            // Nodes that never reported count as unclean too
            // (startup-fencing) and are fenced like the others.
            if nd.condition == NodeCondition::Unclean && self.can_fence(nd) {
                let action = self.config.properties.stonith_action.clone();
                self.plan.changes.push(Change {
                    verb: Verb::Fence,
                    subject: nd.uname.clone(),
                    from: None,
                    to: None,
                    from_role: None,
                    to_role: None,
                    reason: Some(nd.unclean_reason.clone()),
                    blocked: false,
                    fence_action: Some(action),
                });
            }
        }
    }

    /// One outcome as a summary line and its action.
    fn write_outcome(&mut self, o: Outcome) {
        // crm_simulate lists a multiply-active resource only by its
        // surviving instance; the other stops are actions, not lines.
        for n in &o.extra_stops {
            if o.verb.is_none() {
                let reason = Some("due to node availability".to_string());
                self.change(Verb::Stop, &o.display, Some(n), None, reason);
            }
            self.plan.actions.push(PlanAction {
                resource: o.display.clone(),
                action: "stop".into(),
                node: n.clone(),
            });
        }
        let Some(v) = o.verb else { return };
        let (from, to) = match v {
            Verb::Start => (None, o.start_node()),
            Verb::Promote if o.current.is_empty() => (None, o.start_node()),
            Verb::Stop => (o.current.first().cloned(), None),
            _ => (o.current.first().cloned(), o.target.clone()),
        };
        let quorum_ok = self.quorum_ok();
        let reason = o.reason.clone().or_else(|| {
            (v == Verb::Stop).then(|| {
                if quorum_ok {
                    "due to node availability".to_string()
                } else {
                    "due to no quorum".to_string()
                }
            })
        });
        self.change(v, &o.display, from.as_deref(), to.as_deref(), reason);
        if let Some(last) = self.plan.changes.last_mut() {
            last.blocked = o.blocked;
            // A stop or restart decided late (by an order) shows the role
            // the promotable instance has now.
            last.from_role = o.from_role.or(if matches!(v, Verb::Stop | Verb::Restart) {
                o.role_now
            } else {
                None
            });
            last.to_role = o.to_role;
            if v == Verb::Move && o.promoted_outside_clone && o.from_role.is_none() {
                last.from_role = Some(Role::Promoted);
                last.to_role = Some(Role::Started);
            }
        }
        let node = to.or(from).unwrap_or_default();
        self.plan.actions.push(PlanAction {
            resource: o.display.clone(),
            action: v.name().to_ascii_lowercase(),
            node,
        });
    }

    fn change(
        &mut self,
        verb: Verb,
        subject: &str,
        from: Option<&str>,
        to: Option<&str>,
        reason: Option<String>,
    ) {
        self.plan.changes.push(Change {
            verb,
            subject: subject.to_string(),
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            from_role: None,
            to_role: None,
            reason,
            blocked: false,
            fence_action: None,
        });
    }

    /// Resources the configuration no longer has, still active: they stop
    /// (stop-orphan-resources).
    fn orphans(&mut self) {
        if !self.config.properties.stop_orphan_resources {
            return;
        }
        let mut known: BTreeSet<&str> = BTreeSet::new();
        for r in &self.config.resources {
            known.insert(r.id());
            match r {
                Resource::Primitive(_) => {}
                Resource::Group(g) => known.extend(g.members.iter().map(|p| p.id.as_str())),
                Resource::Clone(c) => match &c.child {
                    CloneChild::Primitive(p) => {
                        known.insert(&p.id);
                    }
                    CloneChild::Group(g) => known.extend(g.members.iter().map(|p| p.id.as_str())),
                },
            }
        }
        let mut out = Vec::new();
        let mut keys: Vec<&String> = self.history.keys().collect();
        keys.sort();
        for k in keys {
            if known.contains(k.as_str()) {
                continue;
            }
            for (node, rid, obs) in &self.history[k] {
                let counts = self
                    .node_index
                    .get(node)
                    .is_some_and(|&i| self.nodes[i].history_counts());
                if counts && obs.role >= Role::Started {
                    out.push((rid.clone(), node.clone()));
                }
            }
        }
        for (rid, node) in out {
            self.change(
                Verb::Stop,
                &rid,
                Some(&node),
                None,
                Some("due to node availability".into()),
            );
        }
    }
}

/// Formats the plan as crm_simulate's `Transition Summary:` block.
pub fn format_summary(plan: &Plan) -> String {
    let mut s = String::from("Transition Summary:\n");
    for c in &plan.changes {
        s.push_str(&format_change(c));
        s.push('\n');
    }
    s
}

fn role_name(r: Role) -> &'static str {
    r.name()
}

pub fn format_change(c: &Change) -> String {
    if c.verb == Verb::Fence {
        return format!(
            "  * Fence ({}) {} '{}'",
            c.fence_action.as_deref().unwrap_or("reboot"),
            c.subject,
            c.reason.as_deref().unwrap_or("")
        );
    }
    let from = c.from.as_deref().unwrap_or("");
    let to = c.to.as_deref().unwrap_or("");
    let details = match c.verb {
        Verb::Start => match c.to_role {
            Some(r) => format!(
                "{} -> {} {}",
                role_name(c.from_role.unwrap_or(Role::Stopped)),
                role_name(r),
                to
            ),
            None => to.to_string(),
        },
        Verb::Stop => match c.from_role {
            Some(r) => format!("{} {}", role_name(r), from),
            None => from.to_string(),
        },
        Verb::Move | Verb::Recover | Verb::Restart if from != to => {
            match (c.from_role, c.to_role) {
                (Some(a), Some(b)) if a != b => {
                    format!("{} {from} -> {} {to}", role_name(a), role_name(b))
                }
                (Some(a), _) => format!("{from} -> {to} {}", role_name(a)),
                _ => format!("{from} -> {to}"),
            }
        }
        Verb::Move | Verb::Recover | Verb::Restart => match (c.from_role, c.to_role) {
            (Some(a), Some(b)) if a != b => {
                format!("{} -> {} {to}", role_name(a), role_name(b))
            }
            (Some(a), _) => format!("{} {from}", role_name(a)),
            _ => from.to_string(),
        },
        Verb::Promote | Verb::Demote => format!(
            "{} -> {} {}",
            role_name(c.from_role.unwrap_or(Role::Unpromoted)),
            role_name(c.to_role.unwrap_or(Role::Promoted)),
            to
        ),
        _ => match c.from_role {
            Some(r) => format!("{} {}", role_name(r), from),
            None => from.to_string(),
        },
    };
    let mut line = format!("  * {:<10} {:<8} ( {} )", c.verb.name(), c.subject, details);
    if let Some(r) = &c.reason {
        line.push_str("  ");
        line.push_str(r);
    }
    // crm_simulate: "blocked" alone, or after a reason in parentheses.
    match c.reason.as_deref() {
        _ if !c.blocked => {}
        None => line.push_str("  blocked"),
        Some(r) if !r.ends_with("(blocked)") => line.push_str(" (blocked)"),
        Some(_) => {}
    }
    line
}
