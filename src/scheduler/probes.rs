//! Probes that cannot run. With fencing enabled a pending node (up, not
//! yet joined) counts as online, so Pacemaker schedules there a probe of
//! every resource it has no history of; the probe cannot run on a pending
//! node, and what waits for it does not start (pcmk__probe_rsc_on_node).
//! Resource-discovery settings, which can skip the probe, are left to the
//! unblocked default.

use super::outcome::Outcome;
use super::plan::Ctx;
use super::units::{Member, Unit};
use crate::model::*;

impl<'a> Ctx<'a> {
    /// The pending nodes that probes are scheduled on (none without
    /// fencing: then a pending node is not online).
    fn probe_pending_nodes(&self) -> impl Iterator<Item = &NodeId> {
        self.nodes
            .iter()
            .filter(|nd| {
                self.config.properties.stonith_enabled && nd.condition == NodeCondition::Pending
            })
            .map(|nd| &nd.uname)
    }

    /// Whether a location constraint on one of `ids` sets resource-discovery.
    fn discovery_set(&self, ids: &[&str]) -> bool {
        self.config.locations.iter().any(|l| {
            l.resource_discovery.is_some()
                && matches!(&l.target, LocationTarget::Resource(r) if ids.contains(&r.as_str()))
        })
    }

    /// Whether the history of `m` holds a record on `node` (for a unique
    /// clone instance, a record of that very instance).
    fn known_on(&self, m: &Member<'a>, node: &str, unique: bool) -> bool {
        self.history.get(&m.prim.id).is_some_and(|l| {
            l.iter()
                .any(|(n, rid, _)| *n == node && (!unique || *rid == m.display))
        })
    }

    /// A primitive or group member active nowhere waits for its own
    /// probes: one that cannot run blocks its start.
    pub(super) fn probe_unrunnable(&self, m: &Member<'a>) -> bool {
        m.current.is_empty()
            && !self.discovery_set(&[m.prim.id.as_str()])
            && self
                .probe_pending_nodes()
                .any(|node| !self.known_on(m, node, false))
    }

    /// Pacemaker orders the probes of a clone's instances before the
    /// clone's own start (pcmk__probe_rsc_on_node: the top resource when it
    /// is a clone), unrunnable when one that cannot run probes an instance
    /// member active nowhere. Then no instance starts, and every running
    /// one stops: its start, unrunnable, still needs its stop
    /// (handle_restart_ordering). A unique clone probes every instance, an
    /// anonymous one the instance known on the node, else its first
    /// (probe_anonymous_clone).
    pub(super) fn clone_probe_blocked(&self, c: &Clone, units: &[Unit<'a>]) -> bool {
        let instances: Vec<&Unit<'a>> = units
            .iter()
            .filter(|u| u.clone.is_some_and(|uc| uc.id == c.id))
            .collect();
        let mut ids: Vec<&str> = vec![c.id.as_str()];
        if let Some(u) = instances.first() {
            ids.extend(u.members.iter().map(|m| m.prim.id.as_str()));
        }
        if self.discovery_set(&ids) {
            return false;
        }
        let unique = c.globally_unique;
        self.probe_pending_nodes().any(|node| {
            let known = |u: &&&Unit<'a>| u.members.iter().any(|m| self.known_on(m, node, unique));
            let probed: Vec<&Unit<'a>> = if unique {
                instances.clone()
            } else {
                let first = instances.iter().min_by_key(|u| u.instance);
                instances
                    .iter()
                    .find(known)
                    .or(first)
                    .into_iter()
                    .copied()
                    .collect()
            };
            probed
                .iter()
                .flat_map(|u| &u.members)
                .any(|m| m.current.is_empty() && !self.known_on(m, node, unique))
        })
    }
}

/// An instance of a clone whose start cannot run: a start is listed
/// blocked, a running instance stops.
pub(super) fn clone_start_unrunnable(o: &mut Outcome, reason: &str) {
    if !o.managed {
        return;
    }
    o.runnable = false;
    if o.current.is_empty() {
        if o.target.is_some() {
            o.blocked = true;
            o.reason = Some(reason.to_string());
        }
    } else if o.target.is_some() {
        o.target = None;
        o.decide(false);
        o.from_role = None;
        o.to_role = None;
        o.reason = Some(reason.to_string());
    }
}
