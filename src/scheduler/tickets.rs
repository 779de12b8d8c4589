//! Tickets (Pacemaker's `rsc_ticket`): a resource tied to a ticket runs
//! only while the ticket is granted here and not in standby. Applied
//! before anything else is planned, as constraints and node conditions the
//! other rules already understand, so that the rest of the scheduler knows
//! nothing of tickets.
//!
//! Pacemaker's rules (pcmk_sched_tickets.c, 2.1.5), per primitive under
//! the constrained resource:
//! - ticket revoked (not granted) while the primitive is active: the
//!   loss-policy. `stop` bans it from every node; `demote` bans it unless
//!   the constraint is on the promoted role (then only promotion is
//!   banned); `fence` bans it and fences the nodes it is active on
//!   ("deadman ticket was lost"); `freeze` leaves it where it is,
//!   unmanaged. `fence` and `freeze` apply only when the primitive's
//!   current role is the constraint's `rsc-role` (when one is named).
//! - ticket revoked while inactive, or granted but in standby: banned,
//!   unless the constraint is on the promoted role with a policy other
//!   than stop (then only promotion is banned).
//! - a constraint on the promoted role with the ticket not usable bans
//!   promotion (pcmk__require_promotion_tickets).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::history::observe;
use super::transition::primitive_of;
use crate::model::*;

/// What the unusable tickets do to this run.
#[derive(Debug, Default, PartialEq, Eq)]
struct Effects {
    /// Constrained resources banned from every node.
    banned: BTreeSet<ResourceId>,
    /// Constrained resources that may not be promoted anywhere.
    unpromotable: BTreeSet<ResourceId>,
    /// Primitives left unmanaged where they are (loss-policy freeze).
    frozen: BTreeSet<ResourceId>,
    /// Nodes to fence (loss-policy fence).
    fenced: BTreeSet<NodeId>,
}

/// The configuration and status the rest of the scheduler plans from:
/// `config` and `status` themselves unless some ticket is not usable.
pub(super) fn apply<'a>(
    config: &'a ClusterConfig,
    status: &'a ClusterStatus,
) -> (Cow<'a, ClusterConfig>, Cow<'a, ClusterStatus>) {
    let effects = effects(config, status);
    if effects == Effects::default() {
        return (Cow::Borrowed(config), Cow::Borrowed(status));
    }
    let mut config = config.clone();
    ban(&mut config, status, &effects);
    freeze(&mut config, &effects.frozen);
    if effects.fenced.is_empty() {
        return (Cow::Owned(config), Cow::Borrowed(status));
    }
    let mut status = status.clone();
    for node in &effects.fenced {
        if let Some(st) = status.nodes.get_mut(node) {
            st.unclean = true;
        }
    }
    (Cow::Owned(config), Cow::Owned(status))
}

fn effects(config: &ClusterConfig, status: &ClusterStatus) -> Effects {
    let mut out = Effects::default();
    if config.tickets.is_empty() {
        return out;
    }
    let active = active_roles(status);
    for t in &config.tickets {
        let state = status.tickets.get(&t.ticket).cloned().unwrap_or_default();
        if state.granted && !state.standby {
            continue;
        }
        if t.role == Some(Role::Promoted) {
            out.unpromotable.insert(t.resource.clone());
        }
        for leaf in leaves(config, &t.resource) {
            let here = active.get(leaf.as_str());
            constrain_leaf(t, &state, here, &mut out);
        }
    }
    out
}

/// One primitive under a constraint whose ticket is not usable.
fn constrain_leaf(
    t: &TicketConstraint,
    state: &TicketState,
    active: Option<&Vec<(NodeId, Role)>>,
    out: &mut Effects,
) {
    let on_promoted = t.role == Some(Role::Promoted);
    let role_matches = |roles: &Vec<(NodeId, Role)>| {
        t.role
            .is_none_or(|want| roles.iter().any(|(_, r)| *r == want))
    };
    // Clone instances are judged one by one: those in another role keep
    // running (only the nodes of matching ones are fenced).
    let matching = |roles: &Vec<(NodeId, Role)>| -> Vec<NodeId> {
        let m = roles.iter().filter(|(_, r)| t.role.is_none_or(|w| *r == w));
        m.map(|(n, _)| n.clone()).collect()
    };
    match (state.granted, active) {
        (false, Some(roles)) => match t.loss_policy {
            LossPolicy::Stop => {
                out.banned.insert(t.resource.clone());
            }
            LossPolicy::Demote if !on_promoted => {
                out.banned.insert(t.resource.clone());
            }
            LossPolicy::Demote => {}
            LossPolicy::Fence if role_matches(roles) => {
                let nodes = matching(roles);
                if nodes.len() == roles.len() {
                    out.banned.insert(t.resource.clone());
                }
                out.fenced.extend(nodes);
            }
            LossPolicy::Freeze if role_matches(roles) => {
                out.frozen.insert(t.resource.clone());
            }
            LossPolicy::Fence | LossPolicy::Freeze => {}
        },
        _ => {
            if !on_promoted || t.loss_policy == LossPolicy::Stop {
                out.banned.insert(t.resource.clone());
            }
        }
    }
}

/// Every primitive's active nodes and roles, by primitive id (clone
/// instances under their primitive's id).
fn active_roles(status: &ClusterStatus) -> BTreeMap<&str, Vec<(NodeId, Role)>> {
    let mut out: BTreeMap<&str, Vec<(NodeId, Role)>> = BTreeMap::new();
    for (node, st) in &status.nodes {
        for h in &st.resources {
            let role = observe(h).role;
            if !matches!(role, Role::Stopped | Role::Unknown) {
                out.entry(primitive_of(&h.id))
                    .or_default()
                    .push((node.clone(), role));
            }
        }
    }
    out
}

/// The primitives under resource `id` (itself when it is one).
fn leaves(config: &ClusterConfig, id: &str) -> Vec<ResourceId> {
    let group = |g: &Group| g.members.iter().map(|p| p.id.clone()).collect();
    let child = |c: &CloneChild| match c {
        CloneChild::Primitive(p) => vec![p.id.clone()],
        CloneChild::Group(g) => group(g),
    };
    for r in &config.resources {
        match r {
            Resource::Group(g) if g.id == id => return group(g),
            Resource::Clone(c) if c.id == id || c.child.id() == id => return child(&c.child),
            _ => {}
        }
    }
    vec![id.to_string()]
}

/// Every node the configuration or the status knows.
fn all_nodes(config: &ClusterConfig, status: &ClusterStatus) -> BTreeSet<NodeId> {
    let mut nodes: BTreeSet<NodeId> = config.nodes.iter().map(|n| n.uname.clone()).collect();
    nodes.extend(status.nodes.keys().cloned());
    nodes
}

/// Bans as -INFINITY locations on every node (Pacemaker's
/// `__no_ticket__`, `__loss_of_ticket__`, `__ticket_standby__`,
/// `__stateful_without_ticket__`).
fn ban(config: &mut ClusterConfig, status: &ClusterStatus, effects: &Effects) {
    let nodes = all_nodes(config, status);
    let bans = effects.banned.iter().map(|r| (r, None, "__no_ticket__"));
    let promotions = effects
        .unpromotable
        .iter()
        .map(|r| (r, Some(Role::Promoted), "__stateful_without_ticket__"));
    for (rsc, role, why) in bans.chain(promotions) {
        for node in &nodes {
            config.locations.push(Location {
                id: format!("{why}{rsc}-{node}"),
                target: LocationTarget::Resource(rsc.clone()),
                placement: LocationPlacement::Node {
                    node: node.clone(),
                    score: Score::MINUS_INFINITY,
                },
                role,
                resource_discovery: None,
            });
        }
    }
}

/// Loss-policy freeze: the resource stays as it is, unmanaged.
fn freeze(config: &mut ClusterConfig, frozen: &BTreeSet<ResourceId>) {
    for r in config.resources.iter_mut() {
        let meta = match r {
            Resource::Primitive(p) if frozen.contains(&p.id) => &mut p.meta,
            Resource::Group(g) if frozen.contains(&g.id) => &mut g.meta,
            Resource::Clone(c) if frozen.contains(&c.id) => &mut c.meta,
            _ => continue,
        };
        meta.is_managed = Some(false);
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{ClusterStatus, LossPolicy, Role, TicketState};
    use crate::scheduler::transition::tests::{online, running};
    use crate::scheduler::{Verb, schedule};

    /// `db` tied to ticket `east` with `policy`, running on node1 when
    /// `running_on_node1`; the plan's (verb, subject) under `state`.
    fn plan(
        policy: &str,
        state: Option<TicketState>,
        running_on_node1: bool,
    ) -> Vec<(Verb, String)> {
        let resources = format!(
            "[[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\n\n\
             [[ticket]]\nid = \"db-east\"\nticket = \"east\"\nresources = [\"db\"]\nloss_policy = \"{policy}\"\n"
        );
        let text = crate::config::fixtures::two_nodes(true, "", &resources);
        let config = crate::config::load_config_str(&text, "t.toml").unwrap();
        let mut status = ClusterStatus {
            have_quorum: true,
            ..ClusterStatus::default()
        };
        online(&mut status, "node1");
        online(&mut status, "node2");
        if running_on_node1 {
            running(&mut status, "node1", "db", Role::Started);
        }
        if let Some(s) = state {
            status.tickets.insert("east".into(), s);
        }
        let p = schedule(&config, &status, 2_000);
        p.changes.into_iter().map(|c| (c.verb, c.subject)).collect()
    }

    fn granted() -> Option<TicketState> {
        Some(TicketState {
            granted: true,
            ..TicketState::default()
        })
    }

    fn standby() -> Option<TicketState> {
        Some(TicketState {
            granted: true,
            standby: true,
            last_granted: None,
        })
    }

    fn revoked() -> Option<TicketState> {
        Some(TicketState::default())
    }

    fn stop_db() -> Vec<(Verb, String)> {
        vec![(Verb::Stop, "db".to_string())]
    }

    #[test]
    fn a_granted_ticket_lets_its_resource_start() {
        assert_eq!(
            plan("stop", granted(), false),
            vec![(Verb::Start, "db".to_string())]
        );
        assert_eq!(plan("stop", granted(), true), vec![]);
    }

    #[test]
    fn a_ticket_never_granted_keeps_its_resource_stopped() {
        for policy in ["stop", "demote", "fence", "freeze"] {
            assert_eq!(plan(policy, None, false), vec![], "{policy}");
        }
    }

    #[test]
    fn a_revoked_ticket_applies_the_loss_policy() {
        assert_eq!(plan("stop", revoked(), true), stop_db());
        assert_eq!(plan("demote", revoked(), true), stop_db());
        let fenced = plan("fence", revoked(), true);
        assert_eq!(
            fenced,
            vec![(Verb::Fence, "node1".into()), (Verb::Stop, "db".into())]
        );
        assert_eq!(plan("freeze", revoked(), true), vec![]);
    }

    #[test]
    fn standby_stops_gracefully_whatever_the_loss_policy() {
        for policy in ["stop", "fence", "freeze"] {
            assert_eq!(plan(policy, standby(), true), stop_db(), "{policy}");
        }
    }

    #[test]
    fn the_promoted_role_defaults_to_demote() {
        assert_eq!(
            LossPolicy::default_for(Some(Role::Promoted)),
            LossPolicy::Demote
        );
        assert_eq!(LossPolicy::default_for(None), LossPolicy::Stop);
    }
}
