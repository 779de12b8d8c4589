//! The executable form of a plan: elementary steps (start, stop, promote,
//! demote, recurring monitor, fence) on nodes, and the "a before b" edges
//! between them that the controller dispatches in order. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::{Change, Plan, Verb};
use crate::model::{
    Action, CloneChild, ClusterConfig, ClusterStatus, Group, NodeId, Operation, OrderKind,
    Primitive, Resource, ResourceId, Role,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StepKind {
    Resource {
        /// The configured primitive the agent runs for (`pgsql`).
        resource: ResourceId,
        /// The placed instance (`pgsql:0`; equal to `resource` when not cloned).
        instance: String,
        /// start, stop, promote, demote, monitor, notify.
        operation: String,
        interval_ms: u64,
        timeout_ms: u64,
        /// A notification's variables (`ActionRequest::meta`); empty otherwise.
        meta: BTreeMap<String, String>,
    },
    Fence {
        /// off or reboot.
        action: String,
    },
}

/// One step on one node (for a fence: the node to be fenced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub node: NodeId,
    pub kind: StepKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub steps: Vec<Step>,
    /// (a, b): step `a` must complete before step `b` is dispatched.
    pub edges: Vec<(usize, usize)>,
}

/// Default operation timeout when neither the op nor op_defaults set one.
pub const DEFAULT_TIMEOUT_MS: u64 = 20_000;

/// Where a configured primitive sits: its enclosing group (with the
/// member's position) and clone, so orders naming either reach it.
#[derive(Debug, Clone)]
struct PrimitiveInfo<'a> {
    prim: &'a Primitive,
    group: Option<(&'a str, usize)>,
    clone: Option<&'a str>,
}

fn add_group<'a>(
    out: &mut HashMap<&'a str, PrimitiveInfo<'a>>,
    g: &'a Group,
    clone: Option<&'a str>,
) {
    for (i, p) in g.members.iter().enumerate() {
        out.insert(
            p.id.as_str(),
            PrimitiveInfo {
                prim: p,
                group: Some((g.id.as_str(), i)),
                clone,
            },
        );
    }
}

fn primitives(config: &ClusterConfig) -> HashMap<&str, PrimitiveInfo<'_>> {
    let mut out = HashMap::new();
    for r in &config.resources {
        match r {
            Resource::Primitive(p) => {
                out.insert(
                    p.id.as_str(),
                    PrimitiveInfo {
                        prim: p,
                        group: None,
                        clone: None,
                    },
                );
            }
            Resource::Group(g) => add_group(&mut out, g, None),
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) => {
                    out.insert(
                        p.id.as_str(),
                        PrimitiveInfo {
                            prim: p,
                            group: None,
                            clone: Some(c.id.as_str()),
                        },
                    );
                }
                CloneChild::Group(g) => add_group(&mut out, g, Some(c.id.as_str())),
            },
        }
    }
    out
}

/// The node's membership layer and controller are up.
fn is_online(st: &crate::model::NodeState) -> bool {
    st.in_ccm == Some(true) && st.crmd.as_deref() == Some("online")
}

/// Strips a clone instance suffix (`pgsql:0` -> `pgsql`).
pub fn primitive_of(instance: &str) -> &str {
    match instance.rsplit_once(':') {
        Some((base, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => base,
        _ => instance,
    }
}

fn instance_suffix(instance: &str) -> Option<&str> {
    let base = primitive_of(instance);
    (base.len() < instance.len()).then(|| &instance[base.len() + 1..])
}

/// The timeout of operation `name` at `interval_ms` of a primitive: its op
/// definition, else op_defaults `timeout`, else 20 s.
pub fn op_timeout_ms(
    config: &ClusterConfig,
    prim: Option<&Primitive>,
    name: &str,
    interval_ms: u64,
) -> u64 {
    let defined = prim.and_then(|p| {
        p.operations
            .iter()
            .find(|o| o.name == name && o.interval_ms == interval_ms)
            .or_else(|| {
                // A probe uses the timeout of the first monitor when it has none.
                (name == "monitor" && interval_ms == 0)
                    .then(|| p.operations.iter().find(|o| o.name == "monitor"))
                    .flatten()
            })
            .and_then(|o| o.timeout_ms)
    });
    defined
        .or(config.op_defaults_timeout.map(crate::config::as_ms))
        .unwrap_or(DEFAULT_TIMEOUT_MS)
}

/// The recurring monitors of a primitive for a role (Promoted ops only on
/// the promoted instance, ops without a role on any other active one).
pub fn recurring_monitors(prim: &Primitive, promoted: bool) -> Vec<&Operation> {
    prim.operations
        .iter()
        .filter(|o| o.name == "monitor" && o.interval_ms > 0 && o.enabled)
        .filter(|o| match o.role {
            Some(Role::Promoted) => promoted,
            Some(Role::Stopped) => false,
            Some(Role::Unpromoted) => !promoted,
            _ => !promoted,
        })
        .collect()
}

fn rank(operation: &str) -> Option<u8> {
    match operation {
        "demote" => Some(0),
        "stop" => Some(1),
        "start" => Some(2),
        "promote" => Some(3),
        _ => None,
    }
}

/// (group, operation, node, instance suffix) of a group member's step.
type GroupSlot<'s> = (&'s str, &'s str, &'s str, Option<&'s str>);

struct Builder<'a> {
    config: &'a ClusterConfig,
    status: &'a ClusterStatus,
    prims: HashMap<&'a str, PrimitiveInfo<'a>>,
    fenced: BTreeSet<NodeId>,
    out: Transition,
    index: HashMap<(String, NodeId, String, u64), usize>,
    edges: BTreeSet<(usize, usize)>,
    /// The edges as successor lists, for the cycle check.
    successors: Vec<Vec<usize>>,
    /// (configured id, operation) -> the steps it covers (`index_names`).
    named: HashMap<(String, String), Vec<usize>>,
}

impl<'a> Builder<'a> {
    fn resource_step(
        &mut self,
        instance: &str,
        node: &str,
        operation: &str,
        interval_ms: u64,
    ) -> Option<usize> {
        if matches!(operation, "stop" | "demote") && self.fenced.contains(node) {
            // The fence stops it (and its history is erased with the node's).
            return None;
        }
        let key = (
            instance.to_string(),
            node.to_string(),
            operation.to_string(),
            interval_ms,
        );
        if let Some(&i) = self.index.get(&key) {
            return Some(i);
        }
        let resource = primitive_of(instance).to_string();
        let prim = self.prims.get(resource.as_str()).map(|i| i.prim);
        let timeout_ms = op_timeout_ms(self.config, prim, operation, interval_ms);
        let i = self.out.steps.len();
        self.out.steps.push(Step {
            node: node.to_string(),
            kind: StepKind::Resource {
                resource,
                instance: instance.to_string(),
                operation: operation.to_string(),
                interval_ms,
                timeout_ms,
                meta: BTreeMap::new(),
            },
        });
        self.index.insert(key, i);
        Some(i)
    }

    fn demote_failed(&self, instance: &str, node: &str) -> bool {
        let base = primitive_of(instance);
        self.status.nodes.get(node).is_some_and(|st| {
            st.resources
                .iter()
                .filter(|h| primitive_of(&h.id) == base)
                .map(super::observe)
                .any(|o| o.failed && o.failed_op.as_deref() == Some("demote"))
        })
    }

    /// Adds the recurring monitors of the role an instance ends in.
    fn monitors(&mut self, instance: &str, node: &str, promoted: bool) {
        let Some(info) = self.prims.get(primitive_of(instance)) else {
            return;
        };
        let intervals: Vec<u64> = recurring_monitors(info.prim, promoted)
            .iter()
            .map(|o| o.interval_ms)
            .collect();
        for interval in intervals {
            self.resource_step(instance, node, "monitor", interval);
        }
    }

    /// Recurring monitors an instance that stays where it runs lacks (as
    /// Pacemaker schedules every configured monitor absent from the
    /// history): a transition aborted between a start and its monitor, or
    /// a monitor added to the configuration, would otherwise never run.
    fn missing_monitors(&mut self) {
        if self.config.properties.maintenance_mode {
            return;
        }
        let mut wanted: Vec<(String, String, u64)> = Vec::new();
        let observed: Vec<(
            &String,
            &crate::model::NodeState,
            &crate::model::ResourceHistory,
            super::Observed,
        )> = self
            .status
            .nodes
            .iter()
            .flat_map(|(node, st)| {
                st.resources
                    .iter()
                    .map(move |h| (node, st, h, super::observe(h)))
            })
            .collect();
        // An instance active on several nodes is being recovered (or
        // blocked): its copies get no new monitors. Not so an anonymous
        // clone's: its instance numbers are labels, and two nodes may
        // record the same one.
        let anonymous_clones: HashSet<&str> = self
            .config
            .resources
            .iter()
            .filter_map(|r| match r {
                Resource::Clone(cl) if !cl.globally_unique => Some(cl.id.as_str()),
                _ => None,
            })
            .collect();
        let anonymous = |id: &str| {
            self.prims
                .get(primitive_of(id))
                .and_then(|info| info.clone)
                .is_some_and(|c| anonymous_clones.contains(c))
        };
        // Instances (on a node) the transition already changes.
        let touched: HashSet<(&str, &str)> = self
            .index
            .keys()
            .map(|(instance, n, _, _)| (instance.as_str(), n.as_str()))
            .collect();
        let mut active_on: HashMap<&str, usize> = HashMap::new();
        for (_, _, h, seen) in &observed {
            if !matches!(seen.role, Role::Stopped | Role::Unknown) && !anonymous(&h.id) {
                *active_on.entry(h.id.as_str()).or_default() += 1;
            }
        }
        for (node, st, h, seen) in &observed {
            let member = is_online(st);
            let node_maintenance = self.config.node(node).is_some_and(|n| n.maintenance)
                || st
                    .transient_attributes
                    .get("maintenance")
                    .is_some_and(|v| matches!(v.as_str(), "true" | "on" | "yes" | "1"));
            if !member || node_maintenance || self.fenced.contains(node.as_str()) {
                continue;
            }
            let Some(info) = self.prims.get(primitive_of(&h.id)) else {
                continue;
            };
            if info.prim.meta.maintenance == Some(true)
                || active_on.get(h.id.as_str()).is_some_and(|&n| n > 1)
                || seen.failed
                || seen.pending
                || matches!(seen.role, Role::Stopped | Role::Unknown)
            {
                continue;
            }
            if touched.contains(&(h.id.as_str(), node.as_str())) {
                continue;
            }
            // A stop, demote or promote cancels the instance's recurring
            // monitors: a record older than the latest change is of a
            // monitor that no longer runs.
            let last_change = h
                .ops
                .iter()
                .filter(|r| rank(&r.operation).is_some())
                .map(|r| r.call_id)
                .max();
            for op in recurring_monitors(info.prim, seen.role == Role::Promoted) {
                let recorded = h.ops.iter().any(|r| {
                    r.operation == "monitor"
                        && r.interval_ms == op.interval_ms
                        && last_change.is_none_or(|c| r.call_id > c)
                });
                if !recorded {
                    wanted.push((h.id.clone(), (*node).clone(), op.interval_ms));
                }
            }
        }
        for (instance, node, interval) in wanted {
            self.resource_step(&instance, &node, "monitor", interval);
        }
    }

    fn change(&mut self, c: &Change) {
        let active = |r: Option<Role>| r.unwrap_or(Role::Started);
        let from = c.from.as_deref();
        let to = c.to.as_deref();
        let instance = c.subject.as_str();
        let leave = |b: &mut Self, node: &str, role: Role| {
            // A demote that failed there is not retried: the stop ends it
            // (retrying would loop on an agent that cannot demote).
            if role == Role::Promoted && !b.demote_failed(instance, node) {
                b.resource_step(instance, node, "demote", 0);
            }
            b.resource_step(instance, node, "stop", 0);
        };
        let arrive = |b: &mut Self, node: &str, role: Role| {
            b.resource_step(instance, node, "start", 0);
            if role == Role::Promoted {
                b.resource_step(instance, node, "promote", 0);
            }
            b.monitors(instance, node, role == Role::Promoted);
        };
        match c.verb {
            Verb::Fence => {}
            Verb::Start => {
                if let Some(n) = to.or(from) {
                    arrive(self, n, active(c.to_role));
                }
            }
            Verb::Stop => {
                if let Some(n) = from.or(to) {
                    leave(self, n, active(c.from_role));
                }
            }
            Verb::Move | Verb::Recover | Verb::Restart => {
                let old = from.or(to);
                let new = to.or(from);
                if let Some(n) = old {
                    leave(self, n, active(c.from_role));
                }
                if let Some(n) = new {
                    arrive(self, n, active(c.to_role.or(c.from_role)));
                }
            }
            // "Stopped -> Promoted": a start, then the promotion.
            Verb::Promote if c.from_role == Some(Role::Stopped) => {
                if let Some(n) = to.or(from) {
                    arrive(self, n, Role::Promoted);
                }
            }
            Verb::Demote if c.to_role == Some(Role::Stopped) => {
                if let Some(n) = from.or(to) {
                    leave(self, n, Role::Promoted);
                }
            }
            Verb::Promote => {
                if let Some(n) = to.or(from) {
                    self.resource_step(instance, n, "promote", 0);
                    self.monitors(instance, n, true);
                }
            }
            Verb::Demote => {
                if let Some(n) = to.or(from) {
                    self.resource_step(instance, n, "demote", 0);
                    self.monitors(instance, n, false);
                }
            }
        }
    }

    fn resource_of(&self, i: usize) -> Option<(&str, &str, &str, u64)> {
        match &self.out.steps[i].kind {
            StepKind::Resource {
                instance,
                operation,
                interval_ms,
                ..
            } => Some((
                instance.as_str(),
                operation.as_str(),
                self.out.steps[i].node.as_str(),
                *interval_ms,
            )),
            StepKind::Fence { .. } => None,
        }
    }

    /// The steps (interval 0) each configured id covers, by operation:
    /// a primitive's own, a group's members', a clone's instances', in
    /// step order.
    fn index_names(&mut self) {
        let mut named: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for i in 0..self.out.steps.len() {
            let Some((instance, op, _, 0)) = self.resource_of(i) else {
                continue;
            };
            let base = primitive_of(instance);
            let info = self.prims.get(base);
            let group = info.and_then(|info| info.group).map(|(g, _)| g);
            let clone = info.and_then(|info| info.clone);
            for id in [Some(base), group, clone].into_iter().flatten() {
                let steps = named.entry((id.to_string(), op.to_string())).or_default();
                if steps.last() != Some(&i) {
                    steps.push(i);
                }
            }
        }
        self.named = named;
    }

    /// The steps of `operation` (interval 0) that configured id `id`
    /// (primitive, group or clone) covers.
    fn steps_of(&self, id: &str, operation: &str) -> Vec<usize> {
        self.named
            .get(&(id.to_string(), operation.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether step `to` is reachable from step `from` along the edges.
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack = vec![from];
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            if !seen.insert(x) {
                continue;
            }
            if let Some(next) = self.successors.get(x) {
                stack.extend(next);
            }
        }
        false
    }

    fn add_edge(&mut self, a: usize, b: usize) {
        if self.edges.insert((a, b)) {
            if self.successors.len() <= a {
                self.successors.resize_with(a + 1, Vec::new);
            }
            self.successors[a].push(b);
        }
    }

    /// Adds an edge unless it would close a cycle (a contradictory
    /// configuration must not deadlock the controller).
    fn order(&mut self, a: usize, b: usize) {
        if a != b && !self.edges.contains(&(a, b)) && !self.reaches(b, a) {
            self.add_edge(a, b);
        }
    }

    /// The resource steps of each instance, in step order.
    fn steps_by_instance(&self) -> HashMap<&str, Vec<usize>> {
        let mut out: HashMap<&str, Vec<usize>> = HashMap::new();
        for i in 0..self.out.steps.len() {
            if let Some((instance, ..)) = self.resource_of(i) {
                out.entry(instance).or_default().push(i);
            }
        }
        out
    }

    fn per_instance(&mut self) {
        let mut edges: Vec<(usize, usize)> = Vec::new();
        let by_instance = self.steps_by_instance();
        for a in 0..self.out.steps.len() {
            let Some((ia, oa, na, va)) = self.resource_of(a) else {
                continue;
            };
            for &b in &by_instance[ia] {
                let Some((_, ob, nb, vb)) = self.resource_of(b) else {
                    continue;
                };
                let edge = match (rank(oa), rank(ob)) {
                    // demote < stop < start < promote, wherever they run.
                    (Some(x), Some(y)) => x < y && va == 0 && vb == 0,
                    // A monitor follows every change of its instance on
                    // its node: the start or promote it watches, and the
                    // demote after which it watches the Unpromoted role
                    // (dispatched before, the demote would cancel it).
                    (Some(_), None) => na == nb && vb > 0,
                    _ => false,
                };
                if edge {
                    edges.push((a, b));
                }
            }
        }
        for (a, b) in edges {
            self.order(a, b);
        }
    }

    /// A promotable clone promotes an instance only once every demote and
    /// stop of its other instances in the transition is done: Pacemaker's
    /// clone-level orderings (demote, demoted, stop, stopped, start,
    /// running, promote: `pcmk__clone_internal_constraints` and the
    /// promotable ones) put them all before any promote. Without them a
    /// switchover promoted the new primary while the old one was still
    /// promoted (two primaries for ~100 ms, found by the chaos lab on a
    /// clean stop of the primary's node).
    fn promotable_clones(&mut self) {
        let mut edges: Vec<(usize, usize)> = Vec::new();
        let promotable = |b: &Self, instance: &str| {
            b.prims
                .get(primitive_of(instance))
                .and_then(|p| p.clone)
                .is_some_and(|id| {
                    b.config
                        .resources
                        .iter()
                        .any(|r| matches!(r, Resource::Clone(c) if c.id == id && c.promotable))
                })
        };
        for b in 0..self.out.steps.len() {
            let Some((ib, "promote", _, 0)) = self.resource_of(b) else {
                continue;
            };
            if !promotable(self, ib) {
                continue;
            }
            for a in 0..self.out.steps.len() {
                if let Some((ia, "demote" | "stop", _, 0)) = self.resource_of(a)
                    && ia != ib
                    && primitive_of(ia) == primitive_of(ib)
                {
                    edges.push((a, b));
                }
            }
        }
        for (a, b) in edges {
            self.order(a, b);
        }
    }

    /// An `ordered` clone's instances start one after the other (instance
    /// n's start before instance n+1's) and stop in the reverse order,
    /// where both take that action in this transition: Pacemaker's
    /// optional start-start and stop-stop orders between consecutive
    /// instances (`pcmk__clone_internal_constraints`). resource-agents'
    /// rabbitmq-cluster relies on it: the first instance bootstraps the
    /// broker cluster and each next one joins the instances already up.
    fn ordered_clones(&mut self) {
        let mut by_clone: BTreeMap<(&str, &str), BTreeMap<u32, Vec<usize>>> = BTreeMap::new();
        for i in 0..self.out.steps.len() {
            let Some((instance, op @ ("start" | "stop"), _, 0)) = self.resource_of(i) else {
                continue;
            };
            let Some(clone) = self.ordered_clone_of(instance) else {
                continue;
            };
            let Some(n) = instance_suffix(instance).and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let instances = by_clone.entry((clone, op)).or_default();
            instances.entry(n).or_default().push(i);
        }
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for ((_, op), instances) in &by_clone {
            let listed: Vec<(&u32, &Vec<usize>)> = instances.iter().collect();
            for w in listed.windows(2) {
                let [(n, lower), (m, upper)] = w else {
                    continue;
                };
                if n.checked_add(1) != Some(**m) {
                    continue;
                }
                let (earlier, later) = if *op == "start" {
                    (lower, upper)
                } else {
                    (upper, lower)
                };
                edges.extend(
                    earlier
                        .iter()
                        .flat_map(|&a| later.iter().map(move |&b| (a, b))),
                );
            }
        }
        for (a, b) in edges {
            self.order(a, b);
        }
    }

    /// The clone of `instance`, when it is `ordered`.
    fn ordered_clone_of(&self, instance: &str) -> Option<&'a str> {
        let clone = self.prims.get(primitive_of(instance))?.clone?;
        self.config
            .resources
            .iter()
            .any(|r| matches!(r, Resource::Clone(c) if c.id == clone && c.ordered))
            .then_some(clone)
    }

    /// A group member's position, for its step `i` (interval 0): the
    /// steps that may be ordered with it (same group, operation, node and
    /// instance suffix), and the member's index.
    fn group_slot(&self, i: usize) -> Option<(GroupSlot<'_>, usize)> {
        let (instance, op, node, 0) = self.resource_of(i)? else {
            return None;
        };
        let (group, index) = self.prims.get(primitive_of(instance))?.group?;
        Some(((group, op, node, instance_suffix(instance)), index))
    }

    /// Group members start (and promote) in order and stop (and demote) in
    /// reverse, on the same node and, in a cloned group, the same instance.
    fn groups(&mut self) {
        let mut by_slot: HashMap<GroupSlot<'_>, Vec<(usize, usize)>> = HashMap::new();
        for i in 0..self.out.steps.len() {
            if let Some((slot, index)) = self.group_slot(i) {
                by_slot.entry(slot).or_default().push((i, index));
            }
        }
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for a in 0..self.out.steps.len() {
            let Some((slot, xa)) = self.group_slot(a) else {
                continue;
            };
            for &(b, xb) in &by_slot[&slot] {
                let before = match slot.1 {
                    "start" | "promote" => xa < xb,
                    "stop" | "demote" => xa > xb,
                    _ => false,
                };
                if before {
                    edges.push((a, b));
                }
            }
        }
        for (a, b) in edges {
            self.order(a, b);
        }
    }

    fn constraints(&mut self) {
        self.index_names();
        let config = self.config;
        for o in &config.orders {
            if o.kind == OrderKind::Serialize {
                continue;
            }
            let mut pairs: Vec<(String, Action, String, Action)> = Vec::new();
            if let (Some(first), Some(then)) = (&o.first, &o.then) {
                pairs.push((first.clone(), o.first_action, then.clone(), o.then_action));
            }
            // Sequential sets: each member before the next; each set before the next.
            let mut previous: Vec<(String, Action)> = Vec::new();
            for set in &o.sets {
                let action = set.action.unwrap_or(o.first_action);
                let members: Vec<(String, Action)> =
                    set.resources.iter().map(|r| (r.clone(), action)).collect();
                for p in &previous {
                    for m in &members {
                        pairs.push((p.0.clone(), p.1, m.0.clone(), m.1));
                    }
                }
                if set.sequential {
                    for w in members.windows(2) {
                        pairs.push((w[0].0.clone(), w[0].1, w[1].0.clone(), w[1].1));
                    }
                    previous = members.last().cloned().into_iter().collect();
                } else {
                    previous = members;
                }
            }
            let symmetrical = o.symmetrical.unwrap_or(true) && o.kind == OrderKind::Mandatory;
            for (first, fa, then, ta) in pairs {
                self.order_between(&first, fa, &then, ta);
                if symmetrical {
                    self.order_between(&then, ta.inverse(), &first, fa.inverse());
                }
            }
        }
    }

    fn order_between(&mut self, first: &str, fa: Action, then: &str, ta: Action) {
        if fa == Action::Monitor || ta == Action::Monitor {
            return;
        }
        let a = self.steps_of(first, fa.name());
        let b = self.steps_of(then, ta.name());
        for &x in &a {
            for &y in &b {
                self.order(x, y);
            }
        }
    }

    /// Clone notifications (`notify = true`), as Pacemaker sends them:
    /// around each kind of action the transition takes on the clone's
    /// instances (demote, stop, start, promote, in that order), a `pre`
    /// notification to every instance active before it and a `post` one to
    /// every instance active after it, each with the whole transition's
    /// lists (`notify_start_uname`…) and the clone's state before it
    /// (`notify_active_uname`, `notify_promoted_uname`…). Pre before every
    /// action of the kind, post after them all, and one kind's post before
    /// the next kind's pre. Nodes being fenced, and nodes not online, get
    /// none.
    fn notifications(&mut self) {
        for r in &self.config.resources {
            let Resource::Clone(c) = r else { continue };
            let CloneChild::Primitive(p) = &c.child else {
                continue;
            };
            if c.notify {
                self.notify_clone(&p.id);
            }
        }
    }

    fn notify_clone(&mut self, primitive: &str) {
        const PHASES: [&str; 4] = ["demote", "stop", "start", "promote"];
        let mut actions: BTreeMap<&str, Vec<(usize, String, NodeId)>> = BTreeMap::new();
        for i in 0..self.out.steps.len() {
            // Keyed by the phase's own name: the step's borrows `self`.
            if let Some((instance, op, node, 0)) = self.resource_of(i)
                && primitive_of(instance) == primitive
                && let Some(&phase) = PHASES.iter().find(|p| **p == op)
            {
                actions
                    .entry(phase)
                    .or_default()
                    .push((i, instance.to_string(), node.to_string()));
            }
        }
        if actions.is_empty() {
            return;
        }
        // The clone's state before the transition: (instance, node) -> role.
        let mut active: BTreeMap<(String, NodeId), Role> = BTreeMap::new();
        for (node, st) in &self.status.nodes {
            if self.fenced.contains(node) {
                continue;
            }
            for h in st
                .resources
                .iter()
                .filter(|h| primitive_of(&h.id) == primitive)
            {
                let role = super::observe(h).role;
                if role != Role::Stopped && role != Role::Unknown {
                    active.insert((h.id.clone(), node.clone()), role);
                }
            }
        }
        let online: Vec<NodeId> = self
            .status
            .nodes
            .iter()
            .filter(|(n, st)| is_online(st) && !st.unclean && !self.fenced.contains(*n))
            .map(|(n, _)| n.clone())
            .collect();
        let list = |v: Vec<&str>| v.join(" ");
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for phase in PHASES {
            let of = actions.get(phase).map(Vec::as_slice).unwrap_or(&[]);
            vars.insert(
                format!("notify_{phase}_resource"),
                list(of.iter().map(|(_, i, _)| i.as_str()).collect()),
            );
            vars.insert(
                format!("notify_{phase}_uname"),
                list(of.iter().map(|(_, _, n)| n.as_str()).collect()),
            );
        }
        let with_role = |roles: &[Role], pick: fn(&(String, NodeId)) -> &str| {
            list(
                active
                    .iter()
                    .filter(|(_, r)| roles.contains(r))
                    .map(|(k, _)| pick(k))
                    .collect(),
            )
        };
        let all_active = [Role::Started, Role::Unpromoted, Role::Promoted];
        let unpromoted = [Role::Started, Role::Unpromoted];
        for (name, roles) in [
            ("active", &all_active[..]),
            ("promoted", &[Role::Promoted][..]),
            ("master", &[Role::Promoted][..]),
            ("unpromoted", &unpromoted[..]),
            ("slave", &unpromoted[..]),
        ] {
            vars.insert(
                format!("notify_{name}_resource"),
                with_role(roles, |k| &k.0),
            );
            vars.insert(format!("notify_{name}_uname"), with_role(roles, |k| &k.1));
        }
        vars.insert("notify_inactive_resource".into(), String::new());
        vars.insert(
            "notify_available_uname".into(),
            list(online.iter().map(String::as_str).collect()),
        );
        let all: Vec<&str> = self.config.nodes.iter().map(|n| n.uname.as_str()).collect();
        vars.insert("notify_all_uname".into(), list(all.clone()));
        vars.insert("notify_all_hosts".into(), list(all));
        // Who is active as the transition goes: notified before and after
        // each kind of action.
        let mut now: BTreeSet<(String, NodeId)> = active.keys().cloned().collect();
        let mut last_post: Vec<usize> = Vec::new();
        for phase in PHASES {
            let Some(of) = actions.get(phase) else {
                continue;
            };
            let mut pre = Vec::new();
            for (instance, node) in now.iter().filter(|(_, n)| online.contains(n)) {
                pre.push(self.notify_step(instance, node, "pre", phase, &vars));
            }
            // (One instance of an anonymous clone per node.)
            for (_, instance, node) in of {
                match phase {
                    "stop" => now.retain(|(_, n)| n != node),
                    "start" => {
                        now.insert((instance.clone(), node.clone()));
                    }
                    _ => {}
                }
            }
            let mut post = Vec::new();
            for (instance, node) in now.iter().filter(|(_, n)| online.contains(n)) {
                post.push(self.notify_step(instance, node, "post", phase, &vars));
            }
            for &(a, ..) in of {
                for &n in &pre {
                    self.order(n, a);
                }
                for &n in &post {
                    self.order(a, n);
                }
            }
            for &l in &last_post {
                for &n in &pre {
                    self.order(l, n);
                }
                if pre.is_empty() {
                    for &(a, ..) in of {
                        self.order(l, a);
                    }
                }
            }
            last_post = post;
        }
    }

    fn notify_step(
        &mut self,
        instance: &str,
        node: &str,
        kind: &str,
        operation: &str,
        vars: &BTreeMap<String, String>,
    ) -> usize {
        let resource = primitive_of(instance).to_string();
        let prim = self.prims.get(resource.as_str()).map(|i| i.prim);
        let mut meta = vars.clone();
        meta.insert("notify_type".into(), kind.into());
        meta.insert("notify_operation".into(), operation.into());
        let i = self.out.steps.len();
        self.out.steps.push(Step {
            node: node.to_string(),
            kind: StepKind::Resource {
                resource,
                instance: instance.to_string(),
                operation: "notify".into(),
                interval_ms: 0,
                timeout_ms: op_timeout_ms(self.config, prim, "notify", 0),
                meta,
            },
        });
        i
    }

    fn fencing(&mut self, status: &ClusterStatus, fences: &[(NodeId, String)]) {
        for (node, action) in fences {
            let f = self.out.steps.len();
            self.out.steps.push(Step {
                node: node.clone(),
                kind: StepKind::Fence {
                    action: action.clone(),
                },
            });
            let hosted: BTreeSet<&str> = status
                .nodes
                .get(node)
                .map(|st| {
                    st.resources
                        .iter()
                        .filter(|h| super::observe(h).role != Role::Stopped)
                        .map(|h| primitive_of(&h.id))
                        .collect()
                })
                .unwrap_or_default();
            for i in 0..f {
                let Some((instance, op, ..)) = self.resource_of(i) else {
                    continue;
                };
                if hosted.contains(primitive_of(instance)) || matches!(op, "start" | "promote") {
                    // Edges from a fence never close a cycle: nothing precedes it.
                    self.add_edge(f, i);
                }
            }
        }
    }
}

/// Expands a plan into steps and orders them (within a resource: demote,
/// stop, start, promote, then its recurring monitors; group members in
/// order, stopped in reverse; order constraints and their symmetrical
/// reverse for stops; fencing of a node before anything that depends on it).
pub fn build(config: &ClusterConfig, status: &ClusterStatus, plan: &Plan) -> Transition {
    let fences: Vec<(NodeId, String)> = plan
        .changes
        .iter()
        .filter(|c| c.verb == Verb::Fence && !c.blocked)
        .map(|c| {
            let action = c
                .fence_action
                .clone()
                .unwrap_or_else(|| config.properties.stonith_action.clone());
            (c.subject.clone(), action)
        })
        .collect();
    let mut b = Builder {
        config,
        status,
        prims: primitives(config),
        fenced: fences.iter().map(|(n, _)| n.clone()).collect(),
        out: Transition::default(),
        index: HashMap::new(),
        edges: BTreeSet::new(),
        successors: Vec::new(),
        named: HashMap::new(),
    };
    for c in plan.changes.iter().filter(|c| !c.blocked) {
        b.change(c);
    }
    for a in plan.actions.iter().filter(|a| a.action == "stop") {
        b.resource_step(&a.resource, &a.node, "stop", 0);
    }
    b.missing_monitors();
    b.per_instance();
    b.promotable_clones();
    b.groups();
    b.ordered_clones();
    b.fencing(status, &fences);
    b.constraints();
    b.notifications();
    let mut out = b.out;
    out.edges = b.edges.into_iter().collect();
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{NodeState, OpRecord, ResourceHistory};
    use crate::scheduler::schedule;

    pub(crate) fn online(status: &mut ClusterStatus, node: &str) {
        let st = status.nodes.entry(node.to_string()).or_default();
        st.uname = node.to_string();
        st.has_state = true;
        st.in_ccm = Some(true);
        st.crmd = Some("online".into());
        st.join = Some("member".into());
        st.expected = Some("member".into());
        if !status.node_order.iter().any(|n| n == node) {
            status.node_order.push(node.to_string());
        }
    }

    /// A node that was a member and vanished without a clean leave.
    pub(crate) fn lost(status: &mut ClusterStatus, node: &str) {
        online(status, node);
        let st = status.nodes.get_mut(node).unwrap();
        st.in_ccm = Some(false);
        st.crmd = Some("offline".into());
    }

    pub(crate) fn op(name: &str, interval_ms: u64, call_id: i64, rc_code: i32) -> OpRecord {
        OpRecord {
            id: format!("{name}_{interval_ms}"),
            operation: name.into(),
            interval_ms,
            call_id,
            rc_code,
            op_status: 0,
            target_rc: None,
            last_rc_change: Some(1_000),
            last_run: Some(1_000),
            exec_time_ms: None,
            queue_time_ms: None,
            on_node: None,
            migrate_source: None,
            migrate_target: None,
            digest: None,
            exit_reason: None,
        }
    }

    /// A quorate status with `nodes` online and nothing run yet.
    fn quorate_with(nodes: &[&str]) -> ClusterStatus {
        let mut status = ClusterStatus {
            have_quorum: true,
            ..Default::default()
        };
        for n in nodes {
            online(&mut status, n);
        }
        status
    }

    /// The one change of a plan: pgsql:0, promoted on node1, is demoted
    /// there (`to_role` Unpromoted) or stopped (None).
    fn pgsql0_on_node1_leaves_promoted(
        verb: Verb,
        to_role: Option<Role>,
    ) -> Vec<crate::scheduler::Change> {
        vec![crate::scheduler::Change {
            verb,
            subject: "pgsql:0".into(),
            from: Some("node1".into()),
            to: to_role.map(|_| "node1".into()),
            from_role: Some(Role::Promoted),
            to_role,
            reason: None,
            blocked: false,
            fence_action: None,
        }]
    }

    pub(crate) fn running(status: &mut ClusterStatus, node: &str, instance: &str, role: Role) {
        let st: &mut NodeState = status.nodes.get_mut(node).unwrap();
        let mut ops = vec![op("start", 0, 1, 0)];
        if role == Role::Promoted {
            ops.push(op("promote", 0, 2, 0));
        }
        st.resources.push(ResourceHistory {
            id: instance.into(),
            class: None,
            provider: None,
            agent: None,
            container: None,
            ops,
        });
    }

    fn policy(name: &str) -> ClusterConfig {
        let path = format!("{}/policies/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        crate::config::load_config_str(&text, &path).unwrap()
    }

    fn find(t: &Transition, node: &str, rsc: &str, op: &str, interval: u64) -> Option<usize> {
        t.steps.iter().position(|s| {
            s.node == node
                && matches!(&s.kind, StepKind::Resource { resource, operation, interval_ms, .. }
                    if resource == rsc && operation == op && *interval_ms == interval)
        })
    }

    fn fence_step(t: &Transition, node: &str) -> Option<usize> {
        t.steps
            .iter()
            .position(|s| s.node == node && matches!(s.kind, StepKind::Fence { .. }))
    }

    /// Whether `a` precedes `b` through the edges.
    pub(crate) fn before(t: &Transition, a: usize, b: usize) -> bool {
        let mut stack = vec![a];
        let mut seen = BTreeSet::new();
        while let Some(x) = stack.pop() {
            if !seen.insert(x) {
                continue;
            }
            for &(p, q) in &t.edges {
                if p == x {
                    if q == b {
                        return true;
                    }
                    stack.push(q);
                }
            }
        }
        false
    }

    fn instance_on(t: &Transition, rsc: &str, op: &str) -> Option<(String, String)> {
        t.steps.iter().find_map(|s| match &s.kind {
            StepKind::Resource {
                resource,
                instance,
                operation,
                ..
            } if resource == rsc && operation == op => Some((instance.clone(), s.node.clone())),
            _ => None,
        })
    }

    /// Both nodes of the reference two-node policy up, nothing running yet.
    fn cold_start_of_the_reference_policy() -> Transition {
        let config = policy("two-node-active-standby.toml");
        let status = quorate_with(&["node1", "node2"]);
        let plan = schedule(&config, &status, 10_000);
        build(&config, &status, &plan)
    }

    /// The starts of one clone's instances on a cold start of the
    /// RabbitMQ policy, by instance number.
    fn broker_starts(config: &ClusterConfig) -> (Transition, Vec<usize>) {
        let status = quorate_with(&["mq1", "mq2", "mq3"]);
        let plan = schedule(config, &status, 10_000);
        let t = build(config, &status, &plan);
        let mut starts: Vec<(String, usize)> = t
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.kind {
                StepKind::Resource {
                    resource,
                    instance,
                    operation,
                    ..
                } if resource == "rabbitmq" && operation == "start" => Some((instance.clone(), i)),
                _ => None,
            })
            .collect();
        starts.sort();
        (t, starts.into_iter().map(|(_, i)| i).collect())
    }

    /// `ordered = true` (rabbitmq-cluster: the first broker bootstraps,
    /// the next ones join it): each instance starts once the one before
    /// it has started; without it they all start at once.
    #[test]
    fn an_ordered_clone_starts_its_instances_one_after_the_other() {
        let mut config = policy("rabbitmq-3node.toml");
        let (t, starts) = broker_starts(&config);
        assert_eq!(starts.len(), 3, "{t:#?}");
        assert!(before(&t, starts[0], starts[1]), "{t:#?}");
        assert!(before(&t, starts[1], starts[2]), "{t:#?}");
        for r in &mut config.resources {
            if let Resource::Clone(c) = r {
                c.ordered = false;
            }
        }
        let (t, starts) = broker_starts(&config);
        assert_eq!(starts.len(), 3, "{t:#?}");
        for (a, b) in [(0, 1), (1, 2), (0, 2)] {
            assert!(!before(&t, starts[a], starts[b]), "{t:#?}");
            assert!(!before(&t, starts[b], starts[a]), "{t:#?}");
        }
    }

    #[test]
    fn cold_start_of_the_two_node_policy_follows_every_order() {
        let t = cold_start_of_the_reference_policy();
        let (pg_instance, primary) = instance_on(&t, "pgsql", "promote").expect("a promotion");
        assert_eq!(primary, "node1", "the location prefers node1: {t:#?}");
        assert!(pg_instance.starts_with("pgsql:"), "{pg_instance}");
        let fs = find(&t, "node1", "fs", "start", 0).unwrap();
        let promote = find(&t, "node1", "pgsql", "promote", 0).unwrap();
        let pg_start = find(&t, "node1", "pgsql", "start", 0).unwrap();
        let vip = find(&t, "node1", "vip", "start", 0).unwrap();
        let worker = find(&t, "node1", "worker", "start", 0).unwrap();
        assert!(before(&t, fs, promote));
        assert!(before(&t, pg_start, promote));
        assert!(before(&t, promote, vip));
        assert!(before(&t, vip, worker));
        assert!(!before(&t, worker, fs));
        // Monitors of the role each instance ends in, after its start/promote.
        let promoted_mon = find(&t, "node1", "pgsql", "monitor", 5_000).unwrap();
        assert!(before(&t, promote, promoted_mon));
        assert!(find(&t, "node1", "pgsql", "monitor", 10_000).is_none());
        let standby_mon = find(&t, "node2", "pgsql", "monitor", 10_000).unwrap();
        assert!(find(&t, "node2", "pgsql", "monitor", 5_000).is_none());
        let standby_start = find(&t, "node2", "pgsql", "start", 0).unwrap();
        assert!(before(&t, standby_start, standby_mon));
        let vip_mon = find(&t, "node1", "vip", "monitor", 5_000).unwrap();
        assert!(before(&t, vip, vip_mon));
        // Timeouts: the op's own (promote 60 s), else the 20 s default.
        let timeout = |i: usize| match &t.steps[i].kind {
            StepKind::Resource { timeout_ms, .. } => *timeout_ms,
            StepKind::Fence { .. } => 0,
        };
        assert_eq!(timeout(promote), 60_000);
        assert_eq!(timeout(fs), DEFAULT_TIMEOUT_MS);
        assert_eq!(timeout(vip_mon), 10_000);
        assert!(
            t.steps
                .iter()
                .all(|s| !matches!(s.kind, StepKind::Fence { .. }))
        );
    }

    #[test]
    fn a_lost_primary_is_fenced_before_anything_is_recovered_and_its_stops_are_implied() {
        let config = policy("two-node-active-standby.toml");
        let mut status = quorate_with(&["node1", "node2"]);
        running(&mut status, "node1", "fs", Role::Started);
        running(&mut status, "node1", "pgsql:0", Role::Promoted);
        running(&mut status, "node2", "pgsql:1", Role::Unpromoted);
        for node in ["node1", "node2"] {
            let attrs = &mut status.nodes.get_mut(node).unwrap().transient_attributes;
            attrs.insert("master-pgsql".into(), "1000".into());
        }
        running(&mut status, "node1", "vip", Role::Started);
        running(&mut status, "node1", "worker", Role::Started);
        lost(&mut status, "node1");
        let plan = schedule(&config, &status, 10_000);
        let t = build(&config, &status, &plan);
        let fence = fence_step(&t, "node1").expect("node1 is fenced");
        assert!(matches!(&t.steps[fence].kind, StepKind::Fence { action } if action == "reboot"));
        assert!(
            t.steps
                .iter()
                .all(|s| s.node != "node1" || matches!(s.kind, StepKind::Fence { .. })),
            "nothing is run on a node being fenced: {t:#?}"
        );
        let promote = find(&t, "node2", "pgsql", "promote", 0).unwrap();
        let fs = find(&t, "node2", "fs", "start", 0).unwrap();
        let vip = find(&t, "node2", "vip", "start", 0).unwrap();
        for step in [promote, fs, vip] {
            assert!(before(&t, fence, step), "fence before {:?}", t.steps[step]);
        }
        assert!(before(&t, fs, promote) && before(&t, promote, vip));
    }

    /// The notification of `operation` of type `kind` ("pre"/"post") on `node`.
    fn notification(t: &Transition, node: &str, kind: &str, operation: &str) -> Option<usize> {
        t.steps.iter().position(|s| {
            s.node == node
                && matches!(&s.kind, StepKind::Resource { operation: op, meta, .. }
                    if op == "notify"
                        && meta.get("notify_type").map(String::as_str) == Some(kind)
                        && meta.get("notify_operation").map(String::as_str) == Some(operation))
        })
    }

    fn meta_of<'t>(t: &'t Transition, i: usize, key: &str) -> &'t str {
        match &t.steps[i].kind {
            StepKind::Resource { meta, .. } => meta.get(key).map_or("", String::as_str),
            StepKind::Fence { .. } => "",
        }
    }

    #[test]
    fn a_notify_clone_hears_of_its_starts_and_promotion_before_and_after_them() {
        let t = cold_start_of_the_reference_policy();
        // Nothing runs yet: nobody to tell before the starts.
        assert!(notification(&t, "node1", "pre", "start").is_none());
        let starts = [
            find(&t, "node1", "pgsql", "start", 0).unwrap(),
            find(&t, "node2", "pgsql", "start", 0).unwrap(),
        ];
        let promote = find(&t, "node1", "pgsql", "promote", 0).unwrap();
        for node in ["node1", "node2"] {
            let post_start = notification(&t, node, "post", "start").expect("post-start");
            let pre_promote = notification(&t, node, "pre", "promote").expect("pre-promote");
            let post_promote = notification(&t, node, "post", "promote").expect("post-promote");
            for s in starts {
                assert!(before(&t, s, post_start), "{node}: starts, then post-start");
            }
            assert!(before(&t, post_start, pre_promote));
            assert!(before(&t, pre_promote, promote));
            assert!(before(&t, promote, post_promote));
            assert_eq!(
                meta_of(&t, post_start, "notify_start_uname")
                    .split(' ')
                    .count(),
                2
            );
            assert_eq!(meta_of(&t, pre_promote, "notify_promote_uname"), "node1");
            assert_eq!(meta_of(&t, pre_promote, "notify_all_uname"), "node1 node2");
        }
        // fs, a primitive, hears nothing.
        assert!(t.steps.iter().all(|s| !matches!(&s.kind,
            StepKind::Resource { resource, operation, .. } if resource == "fs" && operation == "notify")));
    }

    #[test]
    fn after_a_fence_only_the_survivor_hears_of_its_promotion() {
        let config = policy("two-node-active-standby.toml");
        let mut status = quorate_with(&["node2"]);
        running(&mut status, "node2", "pgsql:1", Role::Unpromoted);
        status
            .nodes
            .get_mut("node2")
            .unwrap()
            .transient_attributes
            .insert("master-pgsql".into(), "100".into());
        // node1 was fenced: offline, nothing of it left in the status.
        let st1 = crate::model::NodeState {
            uname: "node1".into(),
            has_state: true,
            in_ccm: Some(false),
            crmd: Some("offline".into()),
            join: Some("down".into()),
            expected: Some("down".into()),
            ..Default::default()
        };
        status.nodes.insert("node1".into(), st1);
        status.node_order = vec!["node1".into(), "node2".into()];
        let plan = schedule(&config, &status, 10_000);
        let t = build(&config, &status, &plan);
        let promote = find(&t, "node2", "pgsql", "promote", 0).expect("the standby is promoted");
        let pre = notification(&t, "node2", "pre", "promote").expect("pre-promote on node2");
        let post = notification(&t, "node2", "post", "promote").expect("post-promote on node2");
        assert!(before(&t, pre, promote) && before(&t, promote, post));
        assert!(t.steps.iter().all(|s| s.node != "node1"), "{t:#?}");
        assert_eq!(meta_of(&t, pre, "notify_unpromoted_uname"), "node2");
        assert_eq!(meta_of(&t, pre, "notify_promoted_uname"), "");
        assert_eq!(meta_of(&t, pre, "notify_available_uname"), "node2");
    }

    #[test]
    fn group_members_start_in_order_and_stop_in_reverse() {
        let text = r#"
[cluster]
name = "t"

[[node]]
name = "node1"
id = 1

[[node]]
name = "node2"
id = 2

[fencing]
enabled = false

[[primitive]]
id = "a"
agent = "ocf:heartbeat:Dummy"

[[primitive]]
id = "b"
agent = "ocf:heartbeat:Dummy"

[[primitive]]
id = "c"
agent = "ocf:heartbeat:Dummy"

[[group]]
id = "g"
members = ["a", "b", "c"]

[[location]]
id = "ban"
resource = "g"
node = "node1"
score = "-INFINITY"
"#;
        let config = crate::config::load_config_str(text, "t.toml").unwrap();
        let mut status = quorate_with(&["node1", "node2"]);
        for r in ["a", "b", "c"] {
            running(&mut status, "node1", r, Role::Started);
        }
        let plan = schedule(&config, &status, 10_000);
        let t = build(&config, &status, &plan);
        let s = |r| find(&t, "node1", r, "stop", 0).unwrap();
        let g = |r| find(&t, "node2", r, "start", 0).unwrap();
        assert!(before(&t, s("c"), s("b")) && before(&t, s("b"), s("a")));
        assert!(before(&t, g("a"), g("b")) && before(&t, g("b"), g("c")));
        assert!(before(&t, s("a"), g("a")));
        assert!(!before(&t, s("a"), s("c")));
    }

    fn conformance(name: &str) -> (ClusterConfig, ClusterStatus, Transition) {
        let path = format!(
            "{}/../shared/conformance/pacemaker-scheduler/{name}.xml",
            env!("CARGO_MANIFEST_DIR")
        );
        let cib = crate::config::cib::import_cib(&std::fs::read_to_string(path).unwrap()).unwrap();
        let plan = schedule(
            &cib.config,
            &cib.status,
            cib.status.execution_date.unwrap_or(0),
        );
        let t = build(&cib.config, &cib.status, &plan);
        (cib.config, cib.status, t)
    }

    #[test]
    fn conformance_cib_fences_then_moves_and_never_touches_the_lost_node() {
        let (_, _, t) = conformance("rec-node-4");
        let fence = fence_step(&t, "node1").unwrap();
        for r in ["rsc1", "rsc2", "stonith-1"] {
            let start = find(&t, "node2", r, "start", 0).unwrap();
            assert!(before(&t, fence, start), "{r}");
        }
        assert_eq!(t.steps.iter().filter(|s| s.node == "node1").count(), 1);
    }

    #[test]
    fn blocked_changes_are_not_steps_and_extra_stops_are() {
        let config = policy("two-node-active-standby.toml");
        let mut status = quorate_with(&["node1", "node2"]);
        // vip is active on both nodes: one copy must be stopped.
        running(&mut status, "node1", "vip", Role::Started);
        running(&mut status, "node2", "vip", Role::Started);
        let plan = schedule(&config, &status, 10_000);
        let t = build(&config, &status, &plan);
        let stops = t
            .steps
            .iter()
            .filter(|s| matches!(&s.kind, StepKind::Resource { resource, operation, .. } if resource == "vip" && operation == "stop"))
            .count();
        assert!(stops >= 1, "{:#?} {t:#?}", plan.changes);
        let mut plan = plan;
        for c in &mut plan.changes {
            c.blocked = true;
        }
        plan.actions.clear();
        assert!(build(&config, &status, &plan).steps.is_empty());
    }

    /// Every reference policy, cold started on all its nodes: the graph is
    /// acyclic, and every start is followed by the monitors its role needs.
    #[test]
    fn every_reference_policy_cold_starts_into_an_ordered_graph() {
        let dir = format!("{}/policies", env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let config = policy(&name);
            let mut status = ClusterStatus {
                have_quorum: true,
                ..Default::default()
            };
            for n in &config.nodes {
                online(&mut status, &n.uname);
                for r in ["master-pgsql", "master-rabbitmq"] {
                    let attrs = &mut status.nodes.get_mut(&n.uname).unwrap().transient_attributes;
                    attrs.insert(r.into(), "100".into());
                }
            }
            // A site's policy starts once its site holds the ticket.
            for t in &config.tickets {
                let granted = crate::model::TicketState {
                    granted: true,
                    ..Default::default()
                };
                status.tickets.insert(t.ticket.clone(), granted);
            }
            let plan = schedule(&config, &status, 10_000);
            let t = build(&config, &status, &plan);
            assert!(!t.steps.is_empty(), "{name}");
            // Kahn: every step gets an order.
            let mut indegree = vec![0; t.steps.len()];
            for &(_, b) in &t.edges {
                indegree[b] += 1;
            }
            let mut ready: Vec<usize> = (0..t.steps.len()).filter(|&i| indegree[i] == 0).collect();
            let mut done = 0;
            while let Some(i) = ready.pop() {
                done += 1;
                for &(a, b) in &t.edges {
                    if a == i {
                        indegree[b] -= 1;
                        if indegree[b] == 0 {
                            ready.push(b);
                        }
                    }
                }
            }
            assert_eq!(done, t.steps.len(), "{name}: the graph has a cycle");
            for (i, step) in t.steps.iter().enumerate() {
                let StepKind::Resource {
                    resource,
                    operation,
                    ..
                } = &step.kind
                else {
                    continue;
                };
                if operation != "start" {
                    continue;
                }
                let prims = primitives(&config);
                let prim = prims[resource.as_str()].prim;
                let wants =
                    recurring_monitors(prim, false).len() + recurring_monitors(prim, true).len();
                let follows = t.steps.iter().enumerate().any(|(m, s)| {
                    s.node == step.node
                        && matches!(&s.kind, StepKind::Resource { resource: r, operation, interval_ms, .. }
                            if r == resource && operation == "monitor" && *interval_ms > 0)
                        && before(&t, i, m)
                });
                assert!(
                    wants == 0 || follows,
                    "{name}: {resource} start on {} has no monitor after it",
                    step.node
                );
            }
            seen += 1;
        }
        assert!(seen >= 3);
    }

    #[test]
    fn a_demote_that_failed_is_not_retried_the_stop_ends_it() {
        let config = policy("two-node-active-standby.toml");
        let mut status = quorate_with(&["node1", "node2"]);
        running(&mut status, "node1", "pgsql:0", Role::Promoted);
        status.nodes.get_mut("node1").unwrap().resources[0]
            .ops
            .push(op("demote", 0, 3, 7));
        // Within failure-timeout (10m in the policy) of the failure at 1000:
        // an expired failure is ignored, as in Pacemaker.
        let plan = schedule(&config, &status, 1_100);
        let t = build(&config, &status, &plan);
        assert!(find(&t, "node1", "pgsql", "demote", 0).is_none(), "{t:#?}");
        assert!(
            find(&t, "node1", "pgsql", "stop", 0).is_some(),
            "the failed instance is recovered: {t:#?}"
        );
        // Without the failure a promoted instance is demoted before it stops.
        let mut clean = quorate_with(&["node1", "node2"]);
        running(&mut clean, "node1", "pgsql:0", Role::Promoted);
        let mut plan = schedule(&config, &clean, 10_000);
        plan.changes = pgsql0_on_node1_leaves_promoted(Verb::Stop, None);
        plan.actions.clear();
        let t = build(&config, &clean, &plan);
        let demote = find(&t, "node1", "pgsql", "demote", 0).unwrap();
        let stop = find(&t, "node1", "pgsql", "stop", 0).unwrap();
        assert!(before(&t, demote, stop));
    }

    #[test]
    fn a_running_instance_without_its_recurring_monitor_gets_one() {
        let text = r#"
[cluster]
name = "t"
[[node]]
name = "node1"
id = 1
[fencing]
enabled = false
[[primitive]]
id = "web"
agent = "builtin:dummy"
ops = [{ name = "monitor", interval = "5s" }, { name = "monitor", interval = "1s", role = "Promoted" }]
"#;
        let config = crate::config::load_config_str(text, "t.toml").unwrap();
        let mut status = quorate_with(&["node1"]);
        // Started, and the transition that would have added its monitor
        // was aborted.
        running(&mut status, "node1", "web", Role::Started);
        let plan = schedule(&config, &status, 10_000);
        let t = build(&config, &status, &plan);
        assert!(
            find(&t, "node1", "web", "monitor", 5_000).is_some(),
            "{t:#?}"
        );
        assert!(
            find(&t, "node1", "web", "monitor", 1_000).is_none(),
            "{t:#?}"
        );
        assert_eq!(t.steps.len(), 1, "nothing else: {t:#?}");
        // Once the monitor runs (its result is in the history) nothing is
        // added again.
        status.nodes.get_mut("node1").unwrap().resources[0]
            .ops
            .push(op("monitor", 5_000, 2, 0));
        let plan = schedule(&config, &status, 10_000);
        assert!(build(&config, &status, &plan).steps.is_empty());
    }

    #[test]
    fn a_switchover_promotes_the_new_primary_only_after_the_old_one_is_demoted() {
        // No constraint orders them: the clone alone must.
        let text = "[fencing]\nenabled = false\n[[node]]\nname = \"node1\"\nid = 1\n[[node]]\nname = \"node2\"\nid = 2\n[[primitive]]\nid = \"pgsql\"\nagent = \"builtin:dummy\"\n[[clone]]\nid = \"pgsql-ha\"\nresource = \"pgsql\"\npromotable = true\npromoted_max = 1\n";
        let config = crate::config::load_config_str(text, "switchover.toml").unwrap();
        let mut status = quorate_with(&["node1", "node2"]);
        running(&mut status, "node1", "pgsql:0", Role::Promoted);
        running(&mut status, "node2", "pgsql:1", Role::Unpromoted);
        let mut plan = schedule(&config, &status, 10_000);
        plan.changes = pgsql0_on_node1_leaves_promoted(Verb::Stop, None);
        plan.changes.push(crate::scheduler::Change {
            verb: Verb::Promote,
            subject: "pgsql:1".into(),
            from: Some("node2".into()),
            to: Some("node2".into()),
            from_role: Some(Role::Unpromoted),
            to_role: Some(Role::Promoted),
            reason: None,
            blocked: false,
            fence_action: None,
        });
        plan.actions.clear();
        let t = build(&config, &status, &plan);
        let demote = find(&t, "node1", "pgsql", "demote", 0).unwrap();
        let stop = find(&t, "node1", "pgsql", "stop", 0).unwrap();
        let promote = find(&t, "node2", "pgsql", "promote", 0).unwrap();
        // Promoted before, node2 would be a second primary until node1's
        // demote is done.
        assert!(before(&t, demote, promote), "{t:#?}");
        assert!(before(&t, stop, promote), "{t:#?}");
    }

    #[test]
    fn the_unpromoted_monitor_of_a_demote_waits_for_it() {
        let config = policy("two-node-active-standby.toml");
        let mut status = quorate_with(&["node1", "node2"]);
        running(&mut status, "node1", "pgsql:0", Role::Promoted);
        let mut plan = schedule(&config, &status, 10_000);
        plan.changes = pgsql0_on_node1_leaves_promoted(Verb::Demote, Some(Role::Unpromoted));
        plan.actions.clear();
        let t = build(&config, &status, &plan);
        let demote = find(&t, "node1", "pgsql", "demote", 0).unwrap();
        let monitor = find(&t, "node1", "pgsql", "monitor", 10_000).unwrap();
        // Dispatched first, the monitor would be cancelled by the demote
        // and never run again.
        assert!(before(&t, demote, monitor), "{t:#?}");
    }

    #[test]
    fn a_monitor_cancelled_by_a_later_change_is_scheduled_again() {
        let config = policy("two-node-active-standby.toml");
        let mut status = quorate_with(&["node1", "node2"]);
        // Unpromoted with its 10s monitor, promoted (which cancelled it),
        // then demoted: the 10s record is of a monitor that stopped.
        running(&mut status, "node1", "pgsql:0", Role::Promoted);
        let ops = &mut status.nodes.get_mut("node1").unwrap().resources[0].ops;
        ops.insert(1, op("monitor", 10_000, 2, 0));
        ops[2].call_id = 3;
        ops.push(op("monitor", 5_000, 4, 8));
        ops.push(op("demote", 0, 5, 0));
        let t = missing_monitor_steps(&config, &status);
        assert!(
            t.iter().any(|(n, iv)| n == "node1" && *iv == 10_000),
            "{t:?}"
        );
        // Once it runs again, it is not added twice.
        let ops = &mut status.nodes.get_mut("node1").unwrap().resources[0].ops;
        ops.push(op("monitor", 10_000, 6, 0));
        assert!(
            !missing_monitor_steps(&config, &status)
                .iter()
                .any(|(n, iv)| n == "node1" && *iv == 10_000)
        );
    }

    /// The (node, interval) of each pgsql monitor a transition adds.
    fn missing_monitor_steps(config: &ClusterConfig, status: &ClusterStatus) -> Vec<(String, u64)> {
        let mut plan = schedule(config, status, 10_000);
        plan.changes.clear();
        plan.actions.clear();
        build(config, status, &plan)
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Resource {
                    resource,
                    operation,
                    interval_ms,
                    ..
                } if resource == "pgsql" && operation == "monitor" => {
                    Some((s.node.clone(), *interval_ms))
                }
                _ => None,
            })
            .collect()
    }
}
