//! The policy engine: a pure function from configuration, status and the
//! current time to a plan (summary changes, actions and their ordering
//! graph) plus the scores and reasons that explain it. No I/O, no clock.

mod history;
#[cfg(test)]
mod on_fail_tests;
mod rules;
pub mod transition;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::DiGraph;
use serde::Serialize;

use crate::model::*;
pub use history::{Observed, observe};

/// One line of the transition summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub verb: Verb,
    /// Resource (or instance) id, or the node for Fence.
    pub subject: String,
    pub from: Option<NodeId>,
    pub to: Option<NodeId>,
    pub from_role: Option<Role>,
    pub to_role: Option<Role>,
    pub reason: Option<String>,
    pub blocked: bool,
    /// Fence action (reboot/off).
    pub fence_action: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verb {
    Start,
    Stop,
    Move,
    Recover,
    Restart,
    Promote,
    Demote,
    Fence,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Start => "Start",
            Verb::Stop => "Stop",
            Verb::Move => "Move",
            Verb::Recover => "Recover",
            Verb::Restart => "Restart",
            Verb::Promote => "Promote",
            Verb::Demote => "Demote",
            Verb::Fence => "Fence",
        }
    }
}

/// An executable step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanAction {
    pub resource: String,
    pub action: String,
    pub node: NodeId,
}

/// The scheduler's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub actions: Vec<PlanAction>,
    /// Edges "a before b" between indices of `actions`.
    #[serde(skip)]
    pub graph: DiGraph<usize, ()>,
    /// Allocation scores: (resource, node, score).
    pub scores: Vec<(String, NodeId, Score)>,
    /// Promotion scores of promotable clone instances where they are
    /// placed: (instance, node, score).
    pub promotion_scores: Vec<(String, NodeId, Score)>,
    /// Why each resource (or node) ended where it did.
    pub reasons: BTreeMap<String, Vec<String>>,
}

/// The decision about one member before it becomes a summary line.
#[derive(Debug, Clone)]
struct Outcome {
    display: String,
    current: Vec<NodeId>,
    failed: bool,
    target: Option<NodeId>,
    managed: bool,
    runnable: bool,
    extra_stops: Vec<NodeId>,
    verb: Option<Verb>,
    blocked: bool,
    reason: Option<String>,
    /// Where a blocked start would have gone.
    blocked_target: Option<NodeId>,
    /// An instance of an anonymous clone: crm_simulate lists no blocked
    /// starts for those.
    anonymous_instance: bool,
    /// Roles shown in the summary line (promotable clones).
    from_role: Option<Role>,
    to_role: Option<Role>,
    /// The role of an active promotable clone instance (crm_simulate shows
    /// it on stops decided late, e.g. by an order).
    role_now: Option<Role>,
    /// A resource outside promotable clones found Promoted (e.g. a former
    /// promotable resource): crm_simulate shows its move as Promoted ->
    /// Started.
    promoted_outside_clone: bool,
}

impl Outcome {
    fn starts(&self) -> bool {
        matches!(
            self.verb,
            Some(Verb::Start | Verb::Move | Verb::Recover | Verb::Restart)
        ) && !self.blocked
    }

    fn start_node(&self) -> Option<NodeId> {
        self.target.clone().or_else(|| self.blocked_target.clone())
    }

    fn decide(&mut self, upstream_restart: bool) {
        self.extra_stops.clear();
        self.verb = match (self.current.as_slice(), &self.target) {
            ([], None) => None,
            ([], Some(_)) => Some(Verb::Start),
            ([_], None) => Some(Verb::Stop),
            ([c], Some(t)) if c == t => {
                if self.failed {
                    Some(Verb::Recover)
                } else if upstream_restart {
                    Some(Verb::Restart)
                } else {
                    None
                }
            }
            ([_], Some(_)) => Some(if self.failed {
                Verb::Recover
            } else {
                Verb::Move
            }),
            (many, t) => {
                let keep = t.as_ref().filter(|t| many.contains(t));
                self.extra_stops = many.iter().filter(|c| Some(*c) != keep).cloned().collect();
                match (keep, t) {
                    (Some(_), _) if self.failed => Some(Verb::Recover),
                    // Shown from the first node it was found on: staying
                    // there is a restart, surviving elsewhere a move.
                    (Some(k), _) if *k == many[0] => Some(Verb::Restart),
                    (Some(_), _) => Some(Verb::Move),
                    (None, Some(_)) => Some(Verb::Start),
                    (None, None) => None,
                }
            }
        };
    }
}

/// Node usability as the scheduler sees it.
#[derive(Debug, Clone)]
struct NodeView {
    uname: NodeId,
    condition: NodeCondition,
    standby: bool,
    maintenance: bool,
    shutdown: bool,
    attrs: Attributes,
    unclean_reason: String,
    /// In our membership (corosync and controller up): such a node can be
    /// fenced even without quorum.
    in_membership: bool,
}

impl NodeView {
    fn can_host(&self) -> bool {
        self.condition == NodeCondition::Online
            && !self.standby
            && !self.shutdown
            && !self.maintenance
    }
    /// Whether history on this node still counts as something running.
    fn history_counts(&self) -> bool {
        matches!(
            self.condition,
            NodeCondition::Online | NodeCondition::Unclean | NodeCondition::Pending
        )
    }
}

fn node_views(config: &ClusterConfig, status: &ClusterStatus, now: i64) -> Vec<NodeView> {
    let mut names: Vec<&str> = config.nodes.iter().map(|n| n.uname.as_str()).collect();
    for k in status.nodes.keys() {
        if !names.contains(&k.as_str()) {
            names.push(k);
        }
    }
    let mut out = Vec::new();
    for name in names {
        let cfg = config.node(name);
        let st = status.nodes.get(name);
        let mut attrs = cfg.map(|n| n.attributes.clone()).unwrap_or_default();
        if let Some(sets) = config.node_attribute_sets.get(name) {
            // Sets with rules: the highest score first, then document
            // order; the first set that holds and has a value wins.
            let mut sorted: Vec<&NvSet> = sets.iter().collect();
            sorted.sort_by_key(|s| std::cmp::Reverse(s.score));
            attrs.clear();
            for set in sorted {
                let holds = set
                    .rule
                    .as_ref()
                    .is_none_or(|r| rules::eval(r, &attrs, name, now));
                if holds {
                    for (k, v) in &set.values {
                        attrs.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
        if let Some(n) = cfg {
            attrs.insert("#id".to_string(), n.id.clone());
            let is_dc = status.dc_uuid.as_deref() == Some(n.id.as_str());
            attrs.insert("#is_dc".to_string(), is_dc.to_string());
        }
        if let Some(st) = st {
            for (k, v) in &st.transient_attributes {
                attrs.insert(k.clone(), v.clone());
            }
        }
        let flag = |k: &str| {
            attrs
                .get(k)
                .is_some_and(|v| matches!(v.as_str(), "true" | "on" | "yes" | "1"))
        };
        let (condition, unclean_reason) = condition_of(
            st,
            config.properties.startup_fencing,
            config.properties.stonith_enabled,
        );
        out.push(NodeView {
            uname: name.to_string(),
            condition,
            standby: flag("standby") || cfg.is_some_and(|n| n.standby),
            maintenance: flag("maintenance") || cfg.is_some_and(|n| n.maintenance),
            shutdown: attrs
                .get("shutdown")
                .is_some_and(|v| v != "0" && !v.is_empty()),
            attrs,
            unclean_reason: unclean_reason.to_string(),
            in_membership: st
                .is_some_and(|s| s.in_ccm.unwrap_or(false) && s.crmd.as_deref() == Some("online")),
        });
    }
    out
}

fn condition_of(
    st: Option<&NodeState>,
    startup_fencing: bool,
    stonith_enabled: bool,
) -> (NodeCondition, &'static str) {
    let (condition, reason) = condition_with_fencing(st, startup_fencing);
    // Without fencing nothing can be made clean: Pacemaker then judges a
    // node only as up or down, and a node that is not up is offline.
    if !stonith_enabled && condition == NodeCondition::Unclean && !st.is_some_and(|s| s.unclean) {
        return (NodeCondition::Offline, "");
    }
    (condition, reason)
}

fn condition_with_fencing(
    st: Option<&NodeState>,
    startup_fencing: bool,
) -> (NodeCondition, &'static str) {
    let Some(st) = st else {
        // Never seen: Pacemaker assumes the worst unless startup-fencing is off.
        return if startup_fencing {
            (NodeCondition::Unclean, "node is unclean")
        } else {
            (NodeCondition::Offline, "")
        };
    };
    if st.unclean {
        return (NodeCondition::Unclean, "node is unclean");
    }
    let in_ccm = st.in_ccm.unwrap_or(false);
    let crmd_online = st.crmd.as_deref() == Some("online");
    let join = st.join.as_deref();
    let expected = st.expected.as_deref();
    if in_ccm && crmd_online {
        return match join {
            Some("member") | None => (NodeCondition::Online, ""),
            Some("down") if expected == Some("member") => (
                NodeCondition::Unclean,
                "peer is no longer part of the cluster",
            ),
            _ => (NodeCondition::Pending, ""),
        };
    }
    if !in_ccm {
        // Expected as a member but out of the membership: unclean.
        if expected == Some("member") {
            return (
                NodeCondition::Unclean,
                "peer is no longer part of the cluster",
            );
        }
        return (NodeCondition::Offline, "");
    }
    // In the membership but the controller is gone.
    if expected == Some("member") || join == Some("member") {
        (
            NodeCondition::Unclean,
            "peer process is no longer available",
        )
    } else {
        (NodeCondition::Offline, "")
    }
}

/// One primitive as it will be scheduled (a clone instance has its own).
#[derive(Debug, Clone)]
struct Member<'a> {
    display: String,
    prim: &'a Primitive,
    /// Nodes where it is active now, with what the history says.
    current: Vec<(NodeId, Observed)>,
    target_role: Option<Role>,
    managed: bool,
    /// What to do when it is found active on several nodes (its own
    /// setting, else its parent's, else rsc_defaults).
    multiple_active: MultipleActive,
    /// The parent group says multiple-active=block: one multiply active
    /// member blocks the whole group.
    parent_blocks: bool,
    /// migration-threshold inherited from its group or clone.
    parent_threshold: Option<i64>,
}

/// What gets placed as a whole: a primitive, a group, or a clone instance.
#[derive(Debug, Clone)]
struct Unit<'a> {
    /// Constraint id (primitive, group or clone id).
    id: String,
    members: Vec<Member<'a>>,
    priority: i64,
    stickiness: Score,
    clone: Option<&'a Clone>,
    #[allow(dead_code)]
    instance: Option<u32>,
    placed: Option<NodeId>,
    /// Members that can run (prefix of the group).
    runnable: usize,
    /// Placed, but the partition lacks quorum to act on it.
    no_quorum: bool,
    /// Its placement has been decided (placed or not).
    done: bool,
    /// A promotable clone instance chosen to run Promoted.
    promote: bool,
}

struct Ctx<'a> {
    config: &'a ClusterConfig,
    status: &'a ClusterStatus,
    now: i64,
    nodes: Vec<NodeView>,
    node_index: HashMap<String, usize>,
    /// History per resource id (instance suffix stripped) -> (node, id as recorded, observed).
    history: HashMap<String, Vec<(NodeId, String, Observed)>>,
    plan: Plan,
    assigned: Vec<u32>,
    /// Indices so each constraint is looked at only by the resources it names.
    unit_of: HashMap<String, Vec<usize>>,
    loc_idx: HashMap<String, Vec<usize>>,
    generic_locs: Vec<usize>,
    coloc_idx: HashMap<String, Vec<usize>>,
    clone_here: HashMap<(String, usize), u32>,
    /// Instances of each clone placed so far (at most clone-max).
    clone_placed: HashMap<String, u32>,
    /// Promotable clones whose promotion is decided.
    promoted_done: BTreeSet<String>,
    /// Resources whose failure-timeout is disregarded (on-fail=block failures).
    timeout_ignored: BTreeSet<String>,
    /// Colocations with resource sets expanded into two-resource ones.
    colocations: Vec<Colocation>,
}

/// Strips a clone instance suffix ("rsc:2" -> "rsc").
fn base_id(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((b, n)) if n.chars().all(|c| c.is_ascii_digit()) => b,
        _ => id,
    }
}

fn instance_of(id: &str) -> Option<u32> {
    id.rsplit_once(':').and_then(|(_, n)| n.parse().ok())
}

/// The operations of primitive `p` whose failures are ignored
/// (`on-fail=ignore`), as (name, interval).
fn ignored_failures(p: Option<&&Primitive>) -> Vec<(String, u64)> {
    p.map(|p| {
        p.operations
            .iter()
            .filter(|o| o.on_fail == Some(OnFail::Ignore))
            .map(|o| (o.name.clone(), o.interval_ms))
            .collect()
    })
    .unwrap_or_default()
}

/// Whether operation `op` of primitive `p` has on-fail=block (for a stop:
/// a failed stop blocks it rather than fencing its node).
fn op_blocks(p: Option<&&Primitive>, op: &str) -> bool {
    p.is_some_and(|p| {
        p.operations
            .iter()
            .any(|o| o.name == op && o.on_fail == Some(OnFail::Block))
    })
}

/// One "first then" relation, with resource sets expanded as Pacemaker
/// does: members of a sequential set follow each other; between two
/// consecutive sets the last member of a sequential first set (every member
/// of an unordered one) comes before the first member of a sequential next
/// set (every member of an unordered one). A set with require-all=false lets
/// the next set start once any one of its members can (Pacemaker's
/// "one-or-more" pseudo action).
#[derive(Debug, Clone)]
struct FlatOrder {
    /// What the reasons name: the resource, or the set's pseudo action.
    first_name: String,
    /// The resources `then` waits for (any one of them is enough when there
    /// are several).
    firsts: Vec<String>,
    then: String,
    kind: OrderKind,
    first_action: Action,
    then_action: Action,
    symmetrical: Option<bool>,
    require_all: Option<bool>,
}

fn flat_orders(orders: &[Order]) -> Vec<FlatOrder> {
    let mut out = Vec::new();
    for ord in orders {
        if let (Some(f), Some(t)) = (&ord.first, &ord.then) {
            out.push(FlatOrder {
                first_name: f.clone(),
                firsts: vec![f.clone()],
                then: t.clone(),
                kind: ord.kind,
                first_action: ord.first_action,
                then_action: ord.then_action,
                symmetrical: ord.symmetrical,
                require_all: ord.require_all,
            });
            continue;
        }
        let pair = |out: &mut Vec<FlatOrder>,
                    name: &str,
                    firsts: Vec<String>,
                    then: &str,
                    fa: Option<Action>,
                    ta: Option<Action>| {
            out.push(FlatOrder {
                first_name: name.to_string(),
                firsts,
                then: then.to_string(),
                kind: ord.kind,
                first_action: fa.unwrap_or(ord.first_action),
                then_action: ta.or(fa).unwrap_or(ord.then_action),
                symmetrical: ord.symmetrical,
                require_all: None,
            });
        };
        for set in &ord.sets {
            if set.sequential {
                for w in set.resources.windows(2) {
                    pair(
                        &mut out,
                        &w[0],
                        vec![w[0].clone()],
                        &w[1],
                        set.action,
                        set.action,
                    );
                }
            }
        }
        for w in ord.sets.windows(2) {
            let (s1, s2) = (&w[0], &w[1]);
            let thens: Vec<&String> = if s2.sequential {
                s2.resources.first().into_iter().collect()
            } else {
                s2.resources.iter().collect()
            };
            if !s1.require_all {
                let name = format!("one-or-more:{}", s1.id);
                for t in thens {
                    pair(
                        &mut out,
                        &name,
                        s1.resources.clone(),
                        t,
                        s1.action,
                        s2.action,
                    );
                }
                continue;
            }
            let firsts: Vec<&String> = if s1.sequential {
                s1.resources.last().into_iter().collect()
            } else {
                s1.resources.iter().collect()
            };
            for f in &firsts {
                for t in &thens {
                    pair(&mut out, f, vec![(*f).clone()], t, s1.action, s2.action);
                }
            }
        }
    }
    out
}

/// Every primitive (also inside groups and clones) by id.
fn primitives_by_id(config: &ClusterConfig) -> HashMap<&str, &Primitive> {
    let mut out = HashMap::new();
    for r in &config.resources {
        let members: Vec<&Primitive> = match r {
            Resource::Primitive(p) => vec![p],
            Resource::Group(g) => g.members.iter().collect(),
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) => vec![p],
                CloneChild::Group(g) => g.members.iter().collect(),
            },
        };
        for p in members {
            out.insert(p.id.as_str(), p);
        }
    }
    out
}

/// failure-timeout in seconds: the resource's own, else rsc_defaults.
fn failure_timeout_of(config: &ClusterConfig, meta: &ResourceMeta) -> Option<u64> {
    meta.failure_timeout_s.or_else(|| {
        config
            .rsc_defaults
            .get("failure-timeout")
            .and_then(|v| crate::config::cib::parse_duration_ms(v))
            .map(|ms| ms / 1000)
    })
}

/// Whether the history records a failure of an operation that `p`
/// configures with on-fail=block (Pacemaker then ignores failure-timeout
/// for the resource, since expiring would unblock it).
fn block_failure_recorded(p: &Primitive, h: &ResourceHistory) -> bool {
    p.operations
        .iter()
        .filter(|o| o.on_fail == Some(OnFail::Block))
        .any(|o| {
            h.ops.iter().any(|r| {
                r.operation == o.name
                    && r.interval_ms == o.interval_ms
                    && r.call_id >= 0
                    && r.rc_code != r.target_rc.unwrap_or(rc::OK)
            })
        })
}

/// Colocation constraints with resource sets expanded, in place, into
/// two-resource colocations as Pacemaker does: in a sequential set each
/// member is placed with the one before it; a set with a negative score
/// (sequential or not) keeps each member away from every earlier one; between
/// consecutive sets the first member of the earlier set (every member if
/// it is unordered) is placed with the last member of the later set
/// (every member if unordered). A set's own score and role apply to it.
fn flat_colocations(colocations: &[Colocation]) -> Vec<Colocation> {
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
            if set.sequential && score.value() >= 0 {
                for w in set.resources.windows(2) {
                    pair(&mut out, &w[1], &w[0], score, set.role, set.role);
                }
            } else if score.value() < 0 {
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

/// Whether no-quorum-policy=suicide makes the partition fence itself.
fn suicide_due(config: &ClusterConfig, status: &ClusterStatus) -> bool {
    config.properties.no_quorum_policy == NoQuorumPolicy::Suicide
        && config.properties.stonith_enabled
        && !status.have_quorum
        && status.no_quorum_panic
}

/// Computes the plan for `config` in `status` at time `now` (seconds since the epoch).
pub fn schedule(config: &ClusterConfig, status: &ClusterStatus, now: i64) -> Plan {
    let mut nodes = node_views(config, status, now);
    let node_index = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.uname.clone(), i))
        .collect();
    let mut history: HashMap<String, Vec<(NodeId, String, Observed)>> = HashMap::new();
    // Walk nodes in status order: anonymous clone numbering depends on it.
    let mut order: Vec<&NodeId> = status
        .node_order
        .iter()
        .filter(|n| status.nodes.contains_key(*n))
        .collect();
    for k in status.nodes.keys() {
        if !order.contains(&k) {
            order.push(k);
        }
    }
    let prims = primitives_by_id(config);
    // Resources whose failure-timeout Pacemaker disregards: a failure of
    // an operation configured with on-fail=block never expires.
    let mut timeout_ignored: BTreeSet<String> = BTreeSet::new();
    for st in status.nodes.values() {
        for h in &st.resources {
            let id = base_id(&h.id);
            if let Some(p) = prims.get(id)
                && block_failure_recorded(p, h)
            {
                timeout_ignored.insert(id.to_string());
            }
        }
    }
    for uname in order {
        let st = &status.nodes[uname];
        for h in &st.resources {
            let id = base_id(&h.id);
            // Failed operations older than failure-timeout are ignored,
            // unless the fail count has not expired.
            let expiry = prims
                .get(id)
                .filter(|_| !timeout_ignored.contains(id))
                .and_then(|p| failure_timeout_of(config, &p.meta))
                .filter(|&t| t > 0)
                .filter(|&t| {
                    let fc = st.fail_count(&h.id).max(st.fail_count(id));
                    let last = st.last_failure(&h.id).or_else(|| st.last_failure(id));
                    fc == 0 || last.is_some_and(|l| l + t as i64 <= now)
                })
                .map(|t| now - t as i64);
            let obs = history::observe_configured(
                h,
                &ignored_failures(prims.get(id)),
                op_blocks(prims.get(id), "demote"),
                expiry,
                config.properties.maintenance_mode
                    || prims
                        .get(id)
                        .is_some_and(|p| p.meta.is_managed == Some(false)),
            );
            history
                .entry(base_id(&h.id).to_string())
                .or_default()
                .push((uname.clone(), h.id.clone(), obs));
        }
    }
    // A stop that failed where fencing can clean up: the node is fenced
    // (the stop's default on-fail with stonith enabled), so it hosts nothing.
    if config.properties.stonith_enabled {
        let mut failed_stops: Vec<(String, NodeId)> = Vec::new();
        for (rsc, list) in &history {
            for (node, _, obs) in list {
                if obs.failed
                    && obs.failed_op.as_deref() == Some("stop")
                    && !op_blocks(prims.get(rsc.as_str()), "stop")
                {
                    failed_stops.push((rsc.clone(), node.clone()));
                }
            }
        }
        failed_stops.sort();
        for (rsc, node) in failed_stops {
            if let Some(nd) = nodes
                .iter_mut()
                .find(|n| n.uname == node && n.condition == NodeCondition::Online)
            {
                nd.condition = NodeCondition::Unclean;
                nd.unclean_reason = format!("{rsc} failed there");
            }
        }
    }
    // on-fail=fence and on-fail=standby, while the failure stands (until
    // it expires or is cleaned up): the failure's node is fenced (its
    // history, the failure with it, goes with the fence), or everything
    // moves off it. Without fencing, on-fail=fence leaves the resource
    // where it failed, as block does (`blocked_by_failure`).
    let mut escalated: Vec<(NodeId, String, OnFail)> = Vec::new();
    for (rsc, list) in &history {
        for (node, _, obs) in list {
            let Some(op) = obs.failed_op.as_deref().filter(|_| obs.failed) else {
                continue;
            };
            let on_fail = prims.get(rsc.as_str()).and_then(|p| {
                p.operations
                    .iter()
                    .find(|o| o.name == op && o.interval_ms == obs.failed_interval_ms)
                    .and_then(|o| o.on_fail)
            });
            if let Some(f @ (OnFail::Fence | OnFail::Standby)) = on_fail {
                escalated.push((node.clone(), format!("{rsc} {op} failed there"), f));
            }
        }
    }
    escalated.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    for (node, why, on_fail) in escalated {
        let Some(nd) = nodes
            .iter_mut()
            .find(|n| n.uname == node && n.condition == NodeCondition::Online)
        else {
            continue;
        };
        match on_fail {
            OnFail::Fence if config.properties.stonith_enabled => {
                nd.condition = NodeCondition::Unclean;
                nd.unclean_reason = format!("{why} (on-fail=fence)");
            }
            OnFail::Standby => nd.standby = true,
            _ => {}
        }
    }
    // no-quorum-policy=suicide without quorum: every node of the partition
    // fences itself. Pacemaker applies it only if the cluster ever had
    // quorum (no-quorum-panic), else it falls back to "stop".
    if suicide_due(config, status) {
        for nd in nodes.iter_mut() {
            if nd.condition == NodeCondition::Online {
                nd.condition = NodeCondition::Unclean;
                nd.unclean_reason = "cluster does not have quorum".to_string();
            }
        }
    }
    let assigned = vec![0; nodes.len()];
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
    let mut cx = Ctx {
        config,
        status,
        now,
        nodes,
        node_index,
        history,
        plan: Plan::default(),
        assigned,
        unit_of: HashMap::new(),
        loc_idx,
        generic_locs,
        coloc_idx,
        clone_here: HashMap::new(),
        clone_placed: HashMap::new(),
        promoted_done: BTreeSet::new(),
        timeout_ignored,
        colocations,
    };
    cx.run();
    cx.plan
}

impl<'a> Ctx<'a> {
    /// Whether an unclean node can be fenced now: with quorum (or told to
    /// ignore it, or to commit suicide), or when it is in our membership.
    fn can_fence(&self, nd: &NodeView) -> bool {
        self.config.properties.stonith_enabled
            && (self.quorum_ok() || suicide_due(self.config, self.status) || nd.in_membership)
    }

    fn quorum_ok(&self) -> bool {
        self.status.have_quorum || self.config.properties.no_quorum_policy == NoQuorumPolicy::Ignore
    }

    fn stickiness_of(&self, meta: &ResourceMeta, clone: bool) -> Score {
        meta.stickiness
            .or_else(|| {
                self.config
                    .rsc_defaults
                    .get("resource-stickiness")
                    .and_then(|v| v.parse().ok())
            })
            .or(self.config.properties.default_resource_stickiness)
            .unwrap_or(if clone { Score::new(1) } else { Score::ZERO })
    }

    fn managed(&self, meta: &ResourceMeta, parent: Option<&ResourceMeta>) -> bool {
        if self.config.properties.maintenance_mode {
            return false;
        }
        let m = meta
            .maintenance
            .or(parent.and_then(|p| p.maintenance))
            .unwrap_or(false);
        if m {
            return false;
        }
        meta.is_managed
            .or(parent.and_then(|p| p.is_managed))
            .or_else(|| {
                self.config
                    .rsc_defaults
                    .get("is-managed")
                    .map(|v| v == "true")
            })
            .or(self.config.properties.is_managed_default)
            .unwrap_or(true)
    }

    fn migration_threshold(&self, meta: &ResourceMeta) -> i64 {
        meta.migration_threshold
            .or_else(|| {
                self.config
                    .rsc_defaults
                    .get("migration-threshold")
                    .and_then(|v| v.parse::<Score>().ok())
                    .map(|s| s.value())
            })
            .unwrap_or(INFINITY)
    }

    fn failure_timeout(&self, meta: &ResourceMeta) -> Option<u64> {
        failure_timeout_of(self.config, meta)
    }

    /// The fail count that still counts (failure-timeout expiry applied).
    /// For an instance of an anonymous clone, the fail counts recorded
    /// under any instance number count (Pacemaker matches them all).
    fn fail_count(&self, rsc: &str, node: &str, meta: &ResourceMeta, anonymous: bool) -> i64 {
        let Some(st) = self.status.nodes.get(node) else {
            return 0;
        };
        if st.transient_attributes.is_empty() {
            return 0;
        }
        let names: Vec<String> = if anonymous {
            let base = base_id(rsc);
            let mut found: BTreeSet<String> = BTreeSet::new();
            for k in st.transient_attributes.keys() {
                let Some(rest) = k.strip_prefix("fail-count-") else {
                    continue;
                };
                let name = rest.split('#').next().unwrap_or(rest);
                if base_id(name) == base {
                    found.insert(name.to_string());
                }
            }
            found.into_iter().collect()
        } else {
            vec![rsc.to_string()]
        };
        let mut n: i64 = names
            .iter()
            .map(|x| st.fail_count(x))
            .fold(0, i64::saturating_add)
            .min(INFINITY);
        if n == 0 && rsc.contains(':') {
            n = st.fail_count(base_id(rsc));
        }
        if n > 0 && !self.timeout_ignored.contains(base_id(rsc)) {
            let last = names
                .iter()
                .filter_map(|x| st.last_failure(x))
                .max()
                .or_else(|| st.last_failure(rsc))
                .or_else(|| st.last_failure(base_id(rsc)));
            if let (Some(t), Some(last)) = (self.failure_timeout(meta), last) {
                if t > 0 && last + t as i64 <= self.now {
                    return 0;
                }
            }
        }
        n
    }

    /// A value from the rsc_defaults sets whose rules hold for `prim`
    /// (resource and date expressions), the highest-scored set first.
    /// Rule-less sets are already in `rsc_defaults` and used elsewhere.
    fn rsc_default_for(&self, prim: &Primitive, name: &str) -> Option<&'a str> {
        let config: &'a ClusterConfig = self.config;
        let agent = rules::AgentOf {
            class: prim.class.name(),
            provider: prim.provider.as_deref(),
            agent: &prim.agent,
        };
        let mut sets: Vec<&'a NvSet> = config
            .rsc_defaults_sets
            .iter()
            .filter(|s| s.rule.is_some())
            .collect();
        sets.sort_by_key(|s| std::cmp::Reverse(s.score));
        sets.into_iter()
            .filter(|s| {
                s.rule
                    .as_ref()
                    .is_some_and(|r| rules::eval_for_resource(r, &agent, self.now))
            })
            .find_map(|s| s.values.get(name).map(String::as_str))
    }

    fn member(
        &self,
        prim: &'a Primitive,
        parent: Option<&ResourceMeta>,
        display: String,
        current: Vec<(NodeId, Observed)>,
    ) -> Member<'a> {
        let target_role = prim
            .meta
            .target_role
            .or(parent.and_then(|p| p.target_role))
            .or_else(|| {
                self.rsc_default_for(prim, "target-role")
                    .and_then(Role::parse)
            });
        // Whatever runs on a node in maintenance is left alone.
        let on_maintenance_node = current.iter().any(|(n, _)| {
            self.node_index
                .get(n)
                .is_some_and(|&i| self.nodes[i].maintenance)
        });
        let parent_setting = parent.and_then(|p| p.multiple_active);
        let multiple_active = prim
            .meta
            .multiple_active
            .or(parent_setting)
            .or_else(
                || match self.config.rsc_defaults.get("multiple-active")?.as_str() {
                    "stop_only" => Some(MultipleActive::StopOnly),
                    "block" => Some(MultipleActive::Block),
                    "stop_unexpected" => Some(MultipleActive::StopUnexpected),
                    _ => None,
                },
            )
            .unwrap_or(MultipleActive::StopStart);
        Member {
            display,
            prim,
            current,
            target_role,
            managed: self.managed(&prim.meta, parent)
                && !on_maintenance_node
                && self
                    .rsc_default_for(prim, "is-managed")
                    .is_none_or(|v| matches!(v, "true" | "yes" | "on" | "1")),
            multiple_active,
            parent_blocks: parent_setting == Some(MultipleActive::Block),
            parent_threshold: parent.and_then(|p| p.migration_threshold),
        }
    }

    fn active_history(&self, id: &str, exact: Option<&str>) -> Vec<(NodeId, Observed)> {
        let mut out = Vec::new();
        if let Some(list) = self.history.get(base_id(id)) {
            for (node, rid, obs) in list {
                if let Some(e) = exact {
                    if rid != e {
                        continue;
                    }
                }
                let counts = self
                    .node_index
                    .get(node)
                    .is_some_and(|&i| self.nodes[i].history_counts());
                if counts && obs.role >= Role::Started {
                    out.push((node.clone(), obs.clone()));
                }
            }
        }
        out
    }

    fn build_units(&mut self) -> Vec<Unit<'a>> {
        let mut units = Vec::new();
        for res in &self.config.resources {
            match res {
                Resource::Primitive(p) => {
                    let m = self.member(
                        p,
                        None,
                        p.id.clone(),
                        self.active_history(&p.id, Some(&p.id)),
                    );
                    units.push(Unit {
                        id: p.id.clone(),
                        priority: p.meta.priority.unwrap_or(0),
                        stickiness: self.stickiness_of(&p.meta, false),
                        members: vec![m],
                        clone: None,
                        instance: None,
                        placed: None,
                        runnable: 0,
                        no_quorum: false,
                        done: false,
                        promote: false,
                    });
                }
                Resource::Group(g) => {
                    let members = g
                        .members
                        .iter()
                        .map(|p| {
                            self.member(
                                p,
                                Some(&g.meta),
                                p.id.clone(),
                                self.active_history(&p.id, Some(&p.id)),
                            )
                        })
                        .collect();
                    units.push(Unit {
                        id: g.id.clone(),
                        priority: g.meta.priority.unwrap_or(0),
                        stickiness: self.stickiness_of(&g.meta, false),
                        members,
                        clone: None,
                        instance: None,
                        placed: None,
                        runnable: 0,
                        no_quorum: false,
                        done: false,
                        promote: false,
                    });
                }
                Resource::Clone(c) => units.extend(self.clone_units(c)),
            }
        }
        units
    }

    fn clone_units(&self, c: &'a Clone) -> Vec<Unit<'a>> {
        let prims: Vec<&'a Primitive> = match &c.child {
            CloneChild::Primitive(p) => vec![p],
            CloneChild::Group(g) => g.members.iter().collect(),
        };
        let child_meta = match &c.child {
            CloneChild::Primitive(p) => &p.meta,
            CloneChild::Group(g) => &g.meta,
        };
        let max = c.clone_max.unwrap_or(self.nodes.len() as u32) as usize;
        // Which instance runs where now: (instance, node).
        let mut taken: BTreeMap<u32, NodeId> = BTreeMap::new();
        let mut unnumbered: Vec<NodeId> = Vec::new();
        let first = prims[0];
        let mut seen_nodes: BTreeSet<NodeId> = BTreeSet::new();
        // Any member active on a node means the instance is there.
        let mut node_order: Vec<(NodeId, Option<u32>)> = Vec::new();
        // Anonymous instances active on a node that already has one: orphans
        // that must stop (crm_mon shows them as ORPHANED).
        let mut surplus: Vec<(&'a Primitive, NodeId, Observed)> = Vec::new();
        // Group members seen active per node: a member active twice on one
        // node is a surplus copy too.
        let mut seen_members: BTreeSet<(&str, NodeId)> = BTreeSet::new();
        for p in &prims {
            if let Some(list) = self.history.get(&p.id) {
                for (node, rid, obs) in list {
                    let counts = self
                        .node_index
                        .get(node)
                        .is_some_and(|&i| self.nodes[i].history_counts());
                    if !counts || obs.role < Role::Started {
                        continue;
                    }
                    let inst = instance_of(rid);
                    let first_copy = seen_members.insert((p.id.as_str(), node.clone()));
                    if c.globally_unique || seen_nodes.insert(node.clone()) {
                        node_order.push((node.clone(), inst));
                    } else if c.clone_node_max <= 1 && (prims.len() == 1 || !first_copy) {
                        surplus.push((p, node.clone(), obs.clone()));
                    }
                }
            }
        }
        for (node, inst) in node_order {
            // Anonymous instances are renumbered in status order: this matches
            // more corpus cases than keeping the recorded numbers (bug-lf-2574
            // is one that keeps them; the exact rule is still open).
            let inst = if c.globally_unique { inst } else { None };
            match inst {
                Some(n) if !taken.contains_key(&n) => {
                    taken.insert(n, node);
                }
                // Another member of the same (group) instance on that node.
                Some(n) if taken.get(&n) == Some(&node) => {}
                _ => unnumbered.push(node),
            }
        }
        for node in unnumbered {
            let n = (0..).find(|n| !taken.contains_key(n)).unwrap_or(0);
            taken.insert(n, node);
        }
        let count = max.max(taken.len());
        let mut units = Vec::new();
        let mut numbers: Vec<u32> = taken.keys().copied().collect();
        let mut next = 0u32;
        while numbers.len() < count {
            if !taken.contains_key(&next) {
                numbers.push(next);
            }
            next += 1;
        }
        for n in numbers {
            let node = taken.get(&n).cloned();
            let members = prims
                .iter()
                .map(|p| {
                    let display = format!("{}:{}", p.id, n);
                    let current: Vec<(NodeId, Observed)> = match &node {
                        None => Vec::new(),
                        Some(nd) => self
                            .history
                            .get(&p.id)
                            .into_iter()
                            .flatten()
                            .filter(|(hn, rid, obs)| {
                                hn == nd
                                    && obs.role >= Role::Started
                                    && (!c.globally_unique || instance_of(rid) == Some(n))
                            })
                            .map(|(hn, _, obs)| (hn.clone(), obs.clone()))
                            .take(1)
                            .collect(),
                    };
                    let mut m = self.member(p, Some(&c.meta), display, current);
                    if m.target_role.is_none() {
                        m.target_role = child_meta.target_role;
                    }
                    if m.parent_threshold.is_none() {
                        m.parent_threshold = child_meta.migration_threshold;
                    }
                    m
                })
                .collect();
            units.push(Unit {
                id: c.id.clone(),
                priority: c.meta.priority.unwrap_or(0),
                stickiness: self.stickiness_of(
                    if c.meta.stickiness.is_some() {
                        &c.meta
                    } else {
                        &first.meta
                    },
                    true,
                ),
                members,
                clone: Some(c),
                instance: Some(n),
                placed: None,
                runnable: 0,
                no_quorum: false,
                done: false,
                promote: false,
            });
        }
        // Surplus instances are numbered after every regular one and stop.
        let next_number = units
            .iter()
            .filter_map(|u| u.instance)
            .max()
            .map_or(0, |n| n + 1)
            .max(max as u32);
        for (k, (prim, node, obs)) in surplus.into_iter().enumerate() {
            let number = next_number + k as u32;
            let display = format!("{}:{}", prim.id, number);
            let mut m = self.member(prim, Some(&c.meta), display, vec![(node, obs)]);
            m.target_role = Some(Role::Stopped);
            units.push(Unit {
                id: c.id.clone(),
                priority: c.meta.priority.unwrap_or(0),
                stickiness: Score::ZERO,
                members: vec![m],
                clone: Some(c),
                instance: Some(number),
                placed: None,
                runnable: 0,
                no_quorum: false,
                done: false,
                promote: false,
            });
        }
        // Instances that run keep priority over new ones.
        units.sort_by_key(|u| u.members.iter().all(|m| m.current.is_empty()));
        units
    }

    /// Location constraints that may name one of `ids`.
    fn candidate_locations(&self, ids: &[&str]) -> Vec<usize> {
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

    /// Colocations naming this unit or one of its members.
    fn candidate_colocations(&self, unit: &Unit<'a>) -> Vec<usize> {
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

    fn units_named(&self, name: &str) -> &[usize] {
        self.unit_of.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    fn location_scores(
        &self,
        unit: &Unit<'a>,
        ids: &[&str],
        scores: &mut [Score],
        why: &mut Vec<String>,
    ) {
        for li in self.candidate_locations(ids) {
            let loc = &self.config.locations[li];
            if loc.role.is_some_and(|r| r == Role::Promoted) {
                continue;
            }
            let applies = match &loc.target {
                LocationTarget::Resource(r) => ids.contains(&r.as_str()),
                LocationTarget::Pattern(p) => ids.iter().any(|id| rules::pattern_matches(p, id)),
                LocationTarget::Sets(sets) => sets
                    .iter()
                    .any(|s| s.resources.iter().any(|r| ids.contains(&r.as_str()))),
            };
            if !applies {
                continue;
            }
            match &loc.placement {
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

    fn run(&mut self) {
        let mut units = self.build_units();
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
        let n = self.nodes.len();
        // Colocation: dependents are placed after their primaries.
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.sort_by_key(|&i| (-units[i].priority, 0));
        let order = self.colocation_order(&units, order);
        let order = self.staying_instances_first(&units, order);
        let fencing = self.config.properties.stonith_enabled;
        for &ui in &order {
            let mut why = Vec::new();
            let unit = &units[ui];
            let (mut scores, first_banned, later_bans) = self.own_scores(unit, &mut why);
            // Colocation with already placed primaries.
            self.apply_colocations(&units, ui, &mut scores, &mut why);
            self.dependent_influence(&units, ui, &mut scores, &mut why);
            self.apply_later_bans(&mut scores, later_bans);
            // Anti-collocate anonymous instances of the same clone.
            if let Some(c) = unit.clone {
                for (i, _) in self.nodes.iter().enumerate() {
                    let here = self
                        .clone_here
                        .get(&(c.id.clone(), i))
                        .copied()
                        .unwrap_or(0);
                    if here >= c.clone_node_max {
                        scores[i] = Score::MINUS_INFINITY;
                    }
                }
                // Anonymous instances do not move while there are instances
                // enough for every node (a stopped node's instance just
                // stops); with fewer instances than nodes, one may move.
                let scarce = (c.clone_max.unwrap_or(u32::MAX) as usize)
                    < self.nodes.iter().filter(|nd| nd.can_host()).count();
                if !c.globally_unique && !scarce {
                    if let Some((cur, _)) = unit.members[0].current.first() {
                        for (i, nd) in self.nodes.iter().enumerate() {
                            if nd.uname != *cur {
                                scores[i] = Score::MINUS_INFINITY;
                            }
                        }
                    }
                }
            }
            let want_stopped =
                unit.members.first().and_then(|m| m.target_role) == Some(Role::Stopped);
            let quorum_blocks = !self.quorum_ok();
            let current_node = unit.members[0].current.first().map(|(nd, _)| nd.clone());
            let mut best: Option<usize> = None;
            for i in 0..n {
                let s = scores[i];
                if s.value() < 0 {
                    continue;
                }
                best = match best {
                    None => Some(i),
                    Some(b) => {
                        // Pacemaker's node order: score, then fewer
                        // resources assigned so far (balance), then the
                        // node the resource is active on, then the name.
                        let on_current = |k: usize| {
                            current_node.as_deref() == Some(self.nodes[k].uname.as_str())
                        };
                        let tie = s == scores[b] && self.assigned[i] == self.assigned[b];
                        let better = s > scores[b]
                            || (s == scores[b] && self.assigned[i] < self.assigned[b])
                            || (tie && on_current(i) && !on_current(b))
                            // Last resort, as Pacemaker: the node name.
                            || (tie
                                && on_current(i) == on_current(b)
                                && self.nodes[i].uname < self.nodes[b].uname);
                        if better { Some(i) } else { Some(b) }
                    }
                };
            }
            for (i, nd) in self.nodes.iter().enumerate() {
                self.plan.scores.push((
                    units[ui].members[0].display.clone(),
                    nd.uname.clone(),
                    scores[i],
                ));
            }
            let unit = &mut units[ui];
            if let Some(c) = unit.clone {
                let max = c.clone_max.unwrap_or(self.nodes.len() as u32);
                if best.is_some() && self.clone_placed.get(&c.id).copied().unwrap_or(0) >= max {
                    why.push(format!("{}: clone-max {max} instances are placed", c.id));
                    best = None;
                }
            }
            if want_stopped {
                why.push(format!("{}: target-role is Stopped", unit.id));
                best = None;
            }
            // An unmanaged resource that is not active is not started, so
            // it takes no place on any node.
            if unit
                .members
                .iter()
                .all(|m| !m.managed && m.current.is_empty())
            {
                best = None;
                why.push(format!("{}: unmanaged and stopped, stays stopped", unit.id));
            }
            // Only requires=nothing resources start without quorum (fencing
            // devices too need it: their default is requires=quorum).
            let needs_quorum = unit
                .members
                .iter()
                .any(|m| m.prim.meta.requires != Some(Requires::Nothing));
            let no_quorum = quorum_blocks && needs_quorum;
            if no_quorum {
                why.push(format!("{}: the partition has no quorum", unit.id));
            }
            unit.placed = best.map(|i| self.nodes[i].uname.clone());
            unit.no_quorum = no_quorum;
            unit.done = true;
            let finished_clone = unit.clone.filter(|c| c.promotable);
            unit.runnable = best.map_or(0, |i| first_banned[i]);
            // Members with target-role Stopped, and unmanaged members that
            // are stopped (nothing will start them), cut the group short.
            if let Some(p) = unit.members.iter().position(|m| {
                m.target_role == Some(Role::Stopped) || (!m.managed && m.current.is_empty())
            }) {
                unit.runnable = unit.runnable.min(p);
            }
            if let Some(i) = best {
                self.assigned[i] += unit.runnable as u32;
                if let Some(c) = unit.clone {
                    *self.clone_here.entry((c.id.clone(), i)).or_default() += 1;
                    *self.clone_placed.entry(c.id.clone()).or_default() += 1;
                }
                why.push(format!(
                    "{}: placed on {} with score {}",
                    unit.id, self.nodes[i].uname, scores[i]
                ));
            } else {
                why.push(format!("{}: no node can run it", unit.id));
            }
            let _ = fencing;
            self.plan
                .reasons
                .entry(unit.id.clone())
                .or_default()
                .extend(why);
            if let Some(c) = finished_clone {
                let all_done = units
                    .iter()
                    .filter(|u| u.clone.is_some_and(|x| std::ptr::eq(x, c)))
                    .all(|u| u.done);
                if all_done && !self.promoted_done.contains(&c.id) {
                    self.promote_clone(c, &mut units);
                }
            }
        }
        self.promote(&mut units);
        self.emit(&units);
    }

    /// The promotion score of a promotable clone instance placed on node
    /// `i`: its `master-<resource>` node attribute (per instance for unique
    /// clones) plus role=Promoted location constraints. `None` when nothing
    /// gives it a score: such an instance is never promoted.
    fn promotion_score(
        &self,
        c: &Clone,
        unit: &Unit<'a>,
        i: usize,
        placed: &HashMap<String, Vec<NodeId>>,
        units: &[Unit<'a>],
    ) -> Option<Score> {
        let nd = &self.nodes[i];
        let m = unit.members.first()?;
        let attr_names = [
            format!("master-{}", m.display),
            format!("master-{}", m.prim.id),
            format!("promotion-{}", m.prim.id),
        ];
        let mut score: Option<Score> = attr_names
            .iter()
            .filter(|n| c.globally_unique || !n.contains(':'))
            .find_map(|n| nd.attrs.get(n))
            .and_then(|v| v.parse::<Score>().ok());
        // Only an instance active there knows its old instance name.
        let active_here = m.current.iter().any(|(n, _)| *n == nd.uname);
        if score.is_none() && !c.globally_unique && active_here {
            // Older clusters kept per-instance names for anonymous clones;
            // instance numbers are not stable, but a node runs one instance.
            let prefix = format!("master-{}:", m.prim.id);
            score = nd
                .attrs
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .filter_map(|(_, v)| v.parse::<Score>().ok())
                .max();
        }
        let ids = [c.id.as_str(), m.prim.id.as_str()];
        for li in self.candidate_locations(&ids) {
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
                    score = Some(score.unwrap_or(Score::ZERO) + *s);
                }
                LocationPlacement::Rules(rs) => {
                    for r in rs {
                        let promoted_rule =
                            r.role == Some(Role::Promoted) || loc.role == Some(Role::Promoted);
                        if promoted_rule && rules::eval(r, &nd.attrs, &nd.uname, self.now) {
                            let add = rules::rule_score(r, &nd.attrs);
                            score = Some(score.unwrap_or(Score::ZERO) + add);
                        }
                    }
                }
                _ => {}
            }
        }
        // Resources colocated with the Promoted role bring their own node
        // preferences (scaled by the colocation score), as Pacemaker adds
        // them to the clone's scores before choosing what to promote.
        for ci in self.candidate_colocations(unit) {
            let col = &self.colocations[ci];
            let (Some(r), Some(w)) = (&col.rsc, &col.with_rsc) else {
                continue;
            };
            if !ids.contains(&w.as_str())
                || col.with_rsc_role != Some(Role::Promoted)
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
            if !dep
                .iter()
                .zip(&self.nodes)
                .any(|(s, nd)| s.value() >= 0 && nd.can_host())
            {
                continue;
            }
            let d = dep[i];
            let add = if d.is_infinite() && col.score.is_plus_infinity() {
                d
            } else {
                Score::new((d.value() as f64 * col.score.value() as f64 / INFINITY as f64) as i64)
            };
            if add.value() != 0 {
                score = Some(score.unwrap_or(Score::ZERO) + add);
            }
        }
        // Colocations of the Promoted role with another resource: with
        // INFINITY it may be promoted only where that resource runs.
        for col in &self.colocations {
            let (Some(r), Some(w)) = (&col.rsc, &col.with_rsc) else {
                continue;
            };
            if !ids.contains(&r.as_str()) {
                continue;
            }
            // The Unpromoted role colocated with a resource: where that
            // resource runs, promotion is discouraged by the score.
            if col.rsc_role == Some(Role::Unpromoted) {
                if col.with_rsc_role.is_none_or(|x| x == Role::Started)
                    && placed
                        .get(w.as_str())
                        .is_some_and(|ns| ns.contains(&nd.uname))
                {
                    let against = if col.score.is_plus_infinity() {
                        Score::MINUS_INFINITY
                    } else {
                        Score::new(-col.score.value())
                    };
                    score = Some(score.unwrap_or(Score::ZERO) + against);
                }
                continue;
            }
            if col.rsc_role != Some(Role::Promoted) {
                continue;
            }
            if col.with_rsc_role.is_some_and(|x| x != Role::Started) {
                continue;
            }
            let there = placed
                .get(w.as_str())
                .is_some_and(|ns| ns.contains(&nd.uname));
            if col.score.is_plus_infinity() {
                score = Some(if there {
                    score.unwrap_or(Score::ZERO) + col.score
                } else {
                    Score::MINUS_INFINITY
                });
            } else if there && (score.is_some() || col.score.is_minus_infinity()) {
                // A finite score adds to a promotion score (it gives none
                // by itself); -INFINITY bans only where it runs.
                score = Some(score.unwrap_or(Score::ZERO) + col.score);
            }
        }
        score
    }

    /// Chooses which placed instances of each promotable clone run
    /// Promoted: the highest promotion scores, at most promoted-max in all
    /// and promoted-node-max per node; a negative or missing score never.
    fn promote(&mut self, units: &mut [Unit<'a>]) {
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
    fn promote_clone(&mut self, c: &'a Clone, units: &mut [Unit<'a>]) {
        self.promoted_done.insert(c.id.clone());
        let mut placed: HashMap<String, Vec<NodeId>> = HashMap::new();
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
        {
            let mut candidates: Vec<(Score, bool, u32, usize, usize)> = Vec::new();
            // A promoted instance that cannot be changed (failed and
            // blocked, or unmanaged) keeps its promoted slot.
            let mut stuck_promoted = 0u32;
            for u in units.iter() {
                if !u.clone.is_some_and(|x| std::ptr::eq(x, c)) {
                    continue;
                }
                let m = &u.members[0];
                let promoted = m.current.iter().any(|(_, o)| o.role == Role::Promoted);
                if promoted && (!m.managed || self.blocked_by_failure(m)) {
                    stuck_promoted += 1;
                }
            }
            for (ui, u) in units.iter().enumerate() {
                if !u.clone.is_some_and(|x| std::ptr::eq(x, c)) || u.runnable == 0 {
                    continue;
                }
                let Some(node) = &u.placed else { continue };
                let Some(&i) = self.node_index.get(node) else {
                    continue;
                };
                if u.members
                    .iter()
                    .any(|m| m.target_role == Some(Role::Unpromoted))
                {
                    continue;
                }
                // A group instance that cannot run all its members is not
                // promoted.
                if u.runnable < u.members.len() {
                    continue;
                }
                // An instance whose failure asks for a demotion is not
                // promoted again where it failed.
                if self.demote_on_failure(&u.members[0]) {
                    continue;
                }
                let Some(score) = self.promotion_score(c, u, i, &placed, units) else {
                    continue;
                };
                self.plan.promotion_scores.push((
                    u.members[0].display.clone(),
                    node.clone(),
                    score,
                ));
                if score.value() < 0 {
                    continue;
                }
                let promoted_now = u.members[0]
                    .current
                    .iter()
                    .any(|(n, o)| n == node && o.role == Role::Promoted);
                candidates.push((score, promoted_now, u.instance.unwrap_or(0), ui, i));
            }
            // Highest score first; on a tie the instance already promoted,
            // then the lower instance number.
            candidates.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            let mut per_node: HashMap<usize, u32> = HashMap::new();
            let mut chosen = stuck_promoted;
            for (score, _, _, ui, i) in candidates {
                if chosen >= c.promoted_max {
                    break;
                }
                let here = per_node.entry(i).or_default();
                if *here >= c.promoted_node_max {
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
    }

    /// A unit's own node scores, before any colocation: the symmetric or
    /// opt-in default, locations, nodes that cannot host, stickiness, hard
    /// errors and migration-threshold bans. Also, per node, the index of the
    /// first member a failure bans there (the group runs up to it).
    #[allow(clippy::type_complexity)]
    fn own_scores(
        &self,
        unit: &Unit<'a>,
        why: &mut Vec<String>,
    ) -> (Vec<Score>, Vec<usize>, Vec<Vec<usize>>) {
        let n = self.nodes.len();
        let mut scores = vec![Score::ZERO; n];
        let mut ids: Vec<&str> = vec![unit.id.as_str()];
        for m in &unit.members {
            ids.push(&m.prim.id);
        }
        if !self.config.properties.symmetric_cluster {
            let mut allowed = vec![false; n];
            for li in self.candidate_locations(&ids) {
                let loc = &self.config.locations[li];
                let hit = match &loc.target {
                    LocationTarget::Resource(r) => ids.contains(&r.as_str()),
                    LocationTarget::Pattern(p) => {
                        ids.iter().any(|id| rules::pattern_matches(p, id))
                    }
                    LocationTarget::Sets(sets) => sets
                        .iter()
                        .any(|s| s.resources.iter().any(|r| ids.contains(&r.as_str()))),
                };
                if !hit {
                    continue;
                }
                match &loc.placement {
                    LocationPlacement::Node { node, score } if !score.is_minus_infinity() => {
                        if let Some(&i) = self.node_index.get(node) {
                            allowed[i] = true;
                        }
                    }
                    LocationPlacement::Rules(rs) => {
                        for (i, nd) in self.nodes.iter().enumerate() {
                            if rs.iter().any(|r| {
                                rules::eval(r, &nd.attrs, &nd.uname, self.now)
                                    && !rules::rule_score(r, &nd.attrs).is_minus_infinity()
                            }) {
                                allowed[i] = true;
                            }
                        }
                    }
                    _ => {}
                }
            }
            for i in 0..n {
                if !allowed[i] {
                    scores[i] = Score::MINUS_INFINITY;
                }
            }
        }
        self.location_scores(unit, &ids, &mut scores, why);
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
        // Stickiness and failures of every member.
        // Per node: the first member a failure bans there (the group runs
        // up to it on that node).
        let mut first_banned = vec![unit.members.len(); n];
        // Later members' bans, merged after the loop like a colocation with
        // rollback (a group follows all its members if some node allows it).
        let mut later_bans: Vec<Vec<usize>> = Vec::new();
        for (mi, m) in unit.members.iter().enumerate() {
            let mut bans_here: Vec<usize> = Vec::new();
            for (node, obs) in &m.current {
                if let Some(&i) = self.node_index.get(node) {
                    if !obs.failed {
                        // A member's own stickiness overrides what it
                        // inherits from its group or clone.
                        let sticky = m.prim.meta.stickiness.unwrap_or(unit.stickiness);
                        scores[i] += sticky;
                        if sticky.value() != 0 {
                            why.push(format!("{}: stickiness {} on {}", m.display, sticky, node));
                        }
                    }
                }
            }
            if let Some(list) = self.history.get(&m.prim.id) {
                for (node, _, obs) in list {
                    if obs.hard_ban {
                        if let Some(&i) = self.node_index.get(node) {
                            if mi == 0 {
                                scores[i] = Score::MINUS_INFINITY;
                            } else {
                                bans_here.push(i);
                            }
                            why.push(format!(
                                "{}: a hard error on {} bans it there",
                                m.display, node
                            ));
                        }
                    }
                }
            }
            // A resource with an ignored failure (on-fail=ignore) is never
            // moved by migration-threshold.
            let ignores_failures = self
                .history
                .get(&m.prim.id)
                .is_some_and(|l| l.iter().any(|(_, _, o)| o.failure_ignored));
            let anonymous = unit.clone.is_some_and(|c| !c.globally_unique);
            let thr = if ignores_failures {
                INFINITY + 1
            } else {
                m.prim
                    .meta
                    .migration_threshold
                    .or(m.parent_threshold)
                    .unwrap_or_else(|| self.migration_threshold(&m.prim.meta))
            };
            for (i, nd) in self.nodes.iter().enumerate() {
                let fc = self.fail_count(&m.display, &nd.uname, &m.prim.meta, anonymous);
                if fc > 0 && fc >= thr {
                    if mi == 0 {
                        scores[i] = Score::MINUS_INFINITY;
                    } else {
                        bans_here.push(i);
                    }
                    why.push(format!(
                        "{}: fail count {} reached migration-threshold {} on {}",
                        m.display, fc, thr, nd.uname
                    ));
                    first_banned[i] = first_banned[i].min(mi);
                }
            }
            if !bans_here.is_empty() {
                later_bans.push(bans_here);
            }
        }
        (scores, first_banned, later_bans)
    }

    /// Bans of a group's later members move the whole group, each only if
    /// some node can still run it (otherwise that member just stops there).
    fn apply_later_bans(&self, scores: &mut Vec<Score>, later_bans: Vec<Vec<usize>>) {
        for bans in later_bans {
            let mut trial = scores.clone();
            for i in bans {
                trial[i] = Score::MINUS_INFINITY;
            }
            if trial
                .iter()
                .zip(&self.nodes)
                .any(|(s, nd)| s.value() >= 0 && nd.can_host())
            {
                *scores = trial;
            }
        }
    }

    /// Pacemaker first gives each clone instance that can stay where it is
    /// active its current node, and only then places the other instances:
    /// an instance that has to leave its node never takes the node of one
    /// that can stay. Within each clone the instances that can stay are
    /// moved ahead of the others (the clone keeps its slots in `order`).
    fn staying_instances_first(&self, units: &[Unit<'a>], order: Vec<usize>) -> Vec<usize> {
        let mut by_clone: HashMap<&str, Vec<usize>> = HashMap::new();
        for (pos, &ui) in order.iter().enumerate() {
            if let Some(c) = units[ui].clone {
                by_clone.entry(c.id.as_str()).or_default().push(pos);
            }
        }
        let mut out = order.clone();
        for positions in by_clone.values() {
            let (stay, leave): (Vec<usize>, Vec<usize>) = positions
                .iter()
                .map(|&pos| order[pos])
                .partition(|&ui| self.can_stay(&units[ui]));
            for (&pos, ui) in positions.iter().zip(stay.into_iter().chain(leave)) {
                out[pos] = ui;
            }
        }
        out
    }

    /// Whether a clone instance is active, not failed, and its own scores
    /// still allow its current node.
    fn can_stay(&self, unit: &Unit<'a>) -> bool {
        let Some((node, _)) = unit.members[0].current.first() else {
            return false;
        };
        if unit
            .members
            .iter()
            .any(|m| m.current.iter().any(|(_, o)| o.failed))
        {
            return false;
        }
        let Some(&i) = self.node_index.get(node) else {
            return false;
        };
        let mut ignored = Vec::new();
        let (scores, _, _) = self.own_scores(unit, &mut ignored);
        // Pacemaker pre-assigns an instance to its node only when that node
        // is (one of) its best; otherwise it is placed with the others.
        let best = scores
            .iter()
            .copied()
            .max()
            .unwrap_or(Score::MINUS_INFINITY);
        scores[i].value() >= 0 && scores[i] >= best
    }

    /// Orders units so that colocation primaries come before dependents.
    fn colocation_order(&self, units: &[Unit<'a>], order: Vec<usize>) -> Vec<usize> {
        let mut deps: HashMap<&str, Vec<&str>> = HashMap::new();
        for c in &self.colocations {
            if let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) {
                deps.entry(r.as_str()).or_default().push(w.as_str());
            }
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
            done[i] = true;
            out.push(i);
        }
        for i in order {
            visit(
                i,
                units,
                &self.unit_of,
                &deps,
                &mut done,
                &mut visiting,
                &mut out,
            );
        }
        out
    }

    /// Dependents colocated with this unit pull it towards their preferred
    /// nodes, as Pacemaker merges node scores along colocation chains: each
    /// dependent's own scores (and, recursively, its own dependents')
    /// scaled by colocation score / INFINITY. A merge that would leave no
    /// node able to run the unit is rolled back (that dependent then just
    /// cannot follow).
    fn dependent_influence(
        &self,
        units: &[Unit<'a>],
        ui: usize,
        scores: &mut Vec<Score>,
        why: &mut Vec<String>,
    ) {
        if units[ui].clone.is_some() {
            return;
        }
        let mut visiting = vec![false; units.len()];
        visiting[ui] = true;
        self.merge_dependents(units, ui, 1.0, scores, &mut visiting, why);
    }

    fn merge_dependents(
        &self,
        units: &[Unit<'a>],
        ui: usize,
        factor: f64,
        work: &mut Vec<Score>,
        visiting: &mut [bool],
        why: &mut Vec<String>,
    ) {
        let unit = &units[ui];
        let mine = |id: &str| unit.id == id || unit.members.iter().any(|m| m.prim.id == id);
        let mut deps: Vec<(i64, usize, usize)> = Vec::new();
        for ci in self.candidate_colocations(unit) {
            let c = &self.colocations[ci];
            let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                continue;
            };
            if !mine(w) || mine(r) || c.score.value() == 0 || c.influence == Some(false) {
                continue;
            }
            if c.rsc_role.is_some_and(|x| x == Role::Promoted)
                || c.with_rsc_role.is_some_and(|x| x == Role::Promoted)
            {
                continue;
            }
            let Some(&j) = self.units_named(r).first() else {
                continue;
            };
            let dep = &units[j];
            if visiting[j] || dep.placed.is_some() || dep.clone.is_some() {
                continue;
            }
            deps.push((dep.priority, ci, j));
        }
        // Higher-priority dependents first; ties keep configuration order.
        deps.sort_by_key(|&(prio, ci, _)| (-prio, ci));
        for (_, ci, j) in deps {
            let c = &self.colocations[ci];
            let f = factor * c.score.value() as f64 / INFINITY as f64;
            let mut ignored = Vec::new();
            let (mut dep_scores, _, later) = self.own_scores(&units[j], &mut ignored);
            self.apply_later_bans(&mut dep_scores, later);
            let mut trial = work.clone();
            for (t, d) in trial.iter_mut().zip(&dep_scores) {
                // A dependent's dislike scaled by an anti-colocation would
                // turn into a liking; Pacemaker skips those.
                if f < 0.0 && d.value() < 0 {
                    continue;
                }
                let add = if d.is_infinite() && f.abs() >= 1.0 {
                    if (d.value() > 0) == (f > 0.0) {
                        Score::INFINITY
                    } else {
                        Score::MINUS_INFINITY
                    }
                } else {
                    Score::new((d.value() as f64 * f) as i64)
                };
                *t += add;
            }
            visiting[j] = true;
            self.merge_dependents(units, j, f, &mut trial, visiting, why);
            visiting[j] = false;
            let runnable = trial
                .iter()
                .zip(&self.nodes)
                .any(|(s, nd)| s.value() >= 0 && nd.can_host());
            if runnable {
                why.push(format!(
                    "{}: dependent {} (colocation {}, factor {f:.2}) merged into its scores",
                    unit.id, units[j].id, c.id
                ));
                *work = trial;
            } else {
                why.push(format!(
                    "{}: dependent {} (colocation {}) ignored: following it would leave no node",
                    unit.id, units[j].id, c.id
                ));
            }
        }
    }

    fn apply_colocations(
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
            if !mine(r) || mine(w) {
                continue;
            }
            if c.rsc_role.is_some_and(|x| x == Role::Promoted) {
                continue;
            }
            // The Unpromoted role of a promotable clone with another
            // resource decides roles, not placement (see promotion_score).
            if c.rsc_role == Some(Role::Unpromoted) && unit.clone.is_some_and(|x| x.promotable) {
                continue;
            }
            // The Promoted role only means something for a promotable clone
            // (Pacemaker treats it as Started elsewhere).
            let promotable_primary = self
                .units_named(w)
                .iter()
                .any(|&j| units[j].clone.is_some_and(|x| x.promotable));
            let with_promoted = c.with_rsc_role == Some(Role::Promoted) && promotable_primary;
            let with_unpromoted = c.with_rsc_role == Some(Role::Unpromoted) && promotable_primary;
            // A colocation loop (A with B with ... with A) reaches a primary
            // not placed yet: Pacemaker breaks the loop by skipping it.
            if !self.units_named(w).iter().any(|&j| units[j].done) {
                why.push(format!(
                    "{}: colocation {} skipped: {} is not placed yet (colocation loop)",
                    unit.id, c.id, w
                ));
                continue;
            }
            let prim_nodes: Vec<&str> = self
                .units_named(w)
                .iter()
                .map(|&j| &units[j])
                .filter(|u| u.runnable > 0)
                .filter(|u| !with_promoted || u.promote)
                .filter(|u| !with_unpromoted || !u.promote)
                // A clone instance blocked by a failure (on-fail=block)
                // is no place to colocate with.
                .filter(|u| {
                    u.clone.is_none() || !u.members.iter().any(|m| self.blocked_by_failure(m))
                })
                .filter_map(|u| u.placed.as_deref())
                .collect();
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
            } else {
                for (i, nd) in self.nodes.iter().enumerate() {
                    if prim_nodes.contains(&nd.uname.as_str()) {
                        scores[i] += c.score;
                    }
                }
                why.push(format!(
                    "{}: colocation {} adds {} where {} runs",
                    unit.id, c.id, c.score, w
                ));
            }
        }
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

    /// Whether the member's failure is one configured with on-fail=demote.
    fn demote_on_failure(&self, m: &Member<'a>) -> bool {
        m.current.iter().any(|(_, o)| {
            o.failed
                && m.prim.operations.iter().any(|op| {
                    Some(op.name.as_str()) == o.failed_op.as_deref()
                        && op.interval_ms == o.failed_interval_ms
                        && op.on_fail == Some(OnFail::Demote)
                })
        })
    }

    /// Whether a failure left the member blocked (on-fail=block, or
    /// on-fail=fence without fencing).
    fn blocked_by_failure(&self, m: &Member<'a>) -> bool {
        m.current.iter().any(|(_, o)| {
            // A stop that failed without fencing to clean up leaves it blocked.
            let stuck_stop =
                o.failed_op.as_deref() == Some("stop") && !self.config.properties.stonith_enabled;
            o.failed
                && (stuck_stop
                    || m.prim.operations.iter().any(|op| {
                        Some(op.name.as_str()) == o.failed_op.as_deref()
                            && op.interval_ms == o.failed_interval_ms
                            && (op.on_fail == Some(OnFail::Block)
                                // Nobody to fence the node: it stays where it failed.
                                || (op.on_fail == Some(OnFail::Fence)
                                    && !self.config.properties.stonith_enabled))
                    }))
        })
    }

    fn emit(&mut self, units: &[Unit<'a>]) {
        // A partition without quorum fences nobody (unless told to ignore
        // quorum): the other side may be the one that holds it.
        if self.config.properties.stonith_enabled {
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
        let mut outs: Vec<Outcome> = Vec::new();
        let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
        // Group/clone id -> the member outcomes of each of its units.
        let mut unit_outs: HashMap<String, Vec<Vec<usize>>> = HashMap::new();
        for unit in units {
            let unit_start = outs.len();
            let mut upstream_restart = false;
            // A member active on several nodes with multiple-active=block is
            // left alone (unmanaged); with the group's own setting block,
            // the whole group is.
            let multiply_blocked = |m: &Member<'a>| {
                unit.clone.is_none()
                    && m.current.len() > 1
                    && m.multiple_active == MultipleActive::Block
            };
            let group_blocked = unit
                .members
                .iter()
                .any(|m| multiply_blocked(m) && m.parent_blocks);
            for (mi, m) in unit.members.iter().enumerate() {
                // Fencing its node cleans up whatever failed there: the
                // resource is then simply moved.
                let fenced_away = self.config.properties.stonith_enabled
                    && !m.current.is_empty()
                    && m.current.iter().all(|(n, _)| {
                        self.node_index
                            .get(n)
                            .is_some_and(|&i| self.nodes[i].condition == NodeCondition::Unclean)
                    });
                let blocking_failure = self.blocked_by_failure(m);
                let blocked_fail = !fenced_away && blocking_failure;
                let managed = m.managed && !blocked_fail && !group_blocked && !multiply_blocked(m);
                // multiple-active=stop_only: stopped everywhere, started nowhere.
                let stop_only = unit.clone.is_none()
                    && m.current.len() > 1
                    && m.multiple_active == MultipleActive::StopOnly;
                // A failure whose operation says on-fail=stop leaves it stopped.
                let fail_stops = m.current.iter().any(|(_, ob)| {
                    ob.failed
                        && m.prim.operations.iter().any(|op| {
                            Some(op.name.as_str()) == ob.failed_op.as_deref()
                                && op.interval_ms == ob.failed_interval_ms
                                && op.on_fail == Some(OnFail::Stop)
                        })
                });
                let target = if mi < unit.runnable && !fail_stops && !stop_only {
                    unit.placed.clone()
                } else {
                    None
                };
                // Copies on nodes about to be fenced are stopped by the
                // fencing: a resource also active elsewhere just stays there.
                let mut current: Vec<NodeId> = m.current.iter().map(|(n, _)| n.clone()).collect();
                if current.len() > 1 {
                    let clean: Vec<NodeId> = current
                        .iter()
                        .filter(|n| {
                            self.node_index
                                .get(*n)
                                .is_none_or(|&i| self.nodes[i].condition != NodeCondition::Unclean)
                        })
                        .cloned()
                        .collect();
                    if !clean.is_empty() {
                        current = clean;
                    }
                }
                let mut o = Outcome {
                    display: m.display.clone(),
                    current,
                    // A blocking failure (on-fail=block) the fencing clears
                    // is shown as a move; other failures stay recoveries.
                    // A failure with on-fail=demote is handled by demoting,
                    // not by a recovery.
                    failed: !(self.demote_on_failure(m) || (fenced_away && blocking_failure))
                        && m.current.iter().any(|(_, ob)| ob.failed),
                    target: if managed {
                        target
                    } else {
                        m.current.first().map(|(n, _)| n.clone())
                    },
                    managed,
                    // A failed, blocked resource cannot be started anywhere.
                    runnable: !blocked_fail,
                    extra_stops: Vec::new(),
                    verb: None,
                    blocked: false,
                    reason: None,
                    blocked_target: None,
                    anonymous_instance: unit.clone.is_some_and(|c| !c.globally_unique),
                    from_role: None,
                    to_role: None,
                    promoted_outside_clone: !unit.clone.is_some_and(|c| c.promotable)
                        && m.current
                            .first()
                            .is_some_and(|(_, ob)| ob.role == Role::Promoted),
                    role_now: unit
                        .clone
                        .filter(|c| c.promotable)
                        .and_then(|_| m.current.first())
                        .map(|(_, ob)| {
                            if ob.role == Role::Promoted {
                                Role::Promoted
                            } else {
                                Role::Unpromoted
                            }
                        }),
                };
                let quorum_demotes = self.config.properties.no_quorum_policy
                    == NoQuorumPolicy::Demote
                    && unit.clone.is_some_and(|c| c.promotable);
                if managed && unit.no_quorum && quorum_demotes {
                    // no-quorum-policy=demote: promoted instances are
                    // demoted, the others keep running where they are.
                    if let Some(cur) = o.current.first().cloned() {
                        o.target = Some(cur);
                        if m.current.iter().any(|(_, ob)| ob.role == Role::Promoted) {
                            o.verb = Some(Verb::Demote);
                            o.from_role = Some(Role::Promoted);
                            o.to_role = Some(Role::Unpromoted);
                        }
                    } else {
                        o.target = None;
                        o.runnable = false;
                    }
                } else if managed && unit.no_quorum {
                    let freeze = self.config.properties.no_quorum_policy == NoQuorumPolicy::Freeze;
                    if o.current.is_empty() {
                        if o.target.is_some() {
                            o.verb = Some(Verb::Start);
                            o.blocked = true;
                            o.blocked_target = o.target.take();
                            o.runnable = false;
                            o.reason = Some(if freeze {
                                "due to quorum freeze".into()
                            } else {
                                "due to no quorum".into()
                            });
                            // An instance chosen for promotion shows the
                            // blocked promotion instead.
                            if unit.promote && unit.clone.is_some_and(|c| c.promotable) {
                                o.verb = Some(Verb::Promote);
                                o.from_role = Some(Role::Stopped);
                                o.to_role = Some(Role::Promoted);
                                o.reason = None;
                            }
                        }
                    } else if !freeze {
                        o.target = None;
                        o.decide(false);
                        o.reason = Some("due to no quorum".into());
                    } else {
                        // Freeze blocks only starts of resources active
                        // nowhere: an active one may still move.
                        o.decide(upstream_restart);
                    }
                } else if managed {
                    o.decide(upstream_restart);
                    if o.verb.is_some_and(|v| v != Verb::Stop) {
                        upstream_restart = true;
                    }
                }
                if unit.clone.is_some_and(|c| c.promotable) && managed && !unit.no_quorum {
                    let promoted_now = m.current.iter().any(|(_, ob)| ob.role == Role::Promoted);
                    let stays = o.current.len() == 1 && o.target.as_ref() == o.current.first();
                    match (o.verb, promoted_now, unit.promote) {
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
                        // A move shows the role it had and the one it gets.
                        (Some(Verb::Move), _, promote) => {
                            o.from_role = o.role_now;
                            o.to_role = Some(if promote {
                                Role::Promoted
                            } else {
                                Role::Unpromoted
                            });
                        }
                        // Recovery in place shows the role it had and, if
                        // different, the role it gets.
                        (Some(Verb::Recover | Verb::Restart), _, promote) if stays => {
                            o.from_role = o.role_now;
                            o.to_role = Some(if promote {
                                Role::Promoted
                            } else {
                                Role::Unpromoted
                            });
                        }
                        _ => {}
                    }
                }
                // On an unclean node that cannot be fenced now (no quorum),
                // nothing can be stopped: the stop waits, blocked.
                let stuck_on_unclean = o.current.iter().any(|n| {
                    self.node_index.get(n).is_some_and(|&i| {
                        self.nodes[i].condition == NodeCondition::Unclean
                            && !self.can_fence(&self.nodes[i])
                    })
                }) && !self.quorum_ok();
                if stuck_on_unclean
                    && matches!(
                        o.verb,
                        Some(Verb::Stop | Verb::Move | Verb::Recover | Verb::Restart)
                    )
                {
                    o.verb = Some(Verb::Stop);
                    o.target = None;
                    o.blocked = true;
                    o.reason = None;
                }
                let idx = outs.len();
                by_id.entry(m.prim.id.clone()).or_default().push(idx);
                by_id.entry(unit.id.clone()).or_default().push(idx);
                outs.push(o);
            }
            unit_outs
                .entry(unit.id.clone())
                .or_default()
                .push((unit_start..outs.len()).collect());
            // Group members stop in reverse order: a later member that cannot
            // stop (blocked, unmanaged) blocks the stops of those before it.
            if unit.clone.is_none() && unit.members.len() > 1 {
                let mut later_stuck = false;
                for o in outs[unit_start..].iter_mut().rev() {
                    if later_stuck
                        && matches!(
                            o.verb,
                            Some(Verb::Stop | Verb::Move | Verb::Recover | Verb::Restart)
                        )
                    {
                        o.blocked = true;
                        // The start half of a restart or move waits for a
                        // stop that cannot happen: what remains is a blocked
                        // stop.
                        if matches!(o.verb, Some(Verb::Restart | Verb::Move)) {
                            o.verb = Some(Verb::Stop);
                            o.target = None;
                        }
                    }
                    if !o.managed && !o.current.is_empty() {
                        later_stuck = true;
                    }
                }
            }
        }
        // Mandatory start orders: an unrunnable first blocks then; a
        // (re)start of first restarts then where it stays.
        let flat = flat_orders(&self.config.orders);
        for _ in 0..8 {
            let mut changed = false;
            for ord in &flat {
                let (f, t) = (&ord.first_name, &ord.then);
                // Instances of every resource `then` waits for.
                let fi_all: Vec<usize> = ord
                    .firsts
                    .iter()
                    .filter_map(|n| by_id.get(n))
                    .flatten()
                    .copied()
                    .collect();
                let fi_opt = (!fi_all.is_empty()).then_some(&fi_all);
                // "first stop, then stop": a first that cannot stop (failed,
                // blocked) blocks the stop of then.
                if ord.kind == OrderKind::Mandatory
                    && ord.first_action == Action::Stop
                    && ord.then_action == Action::Stop
                    && let (Some(fi), Some(ti)) = (fi_opt, by_id.get(t))
                {
                    let first_stuck = fi
                        .iter()
                        .any(|&i| !outs[i].managed && !outs[i].current.is_empty());
                    if first_stuck {
                        for &i in ti {
                            let o = &mut outs[i];
                            if matches!(
                                o.verb,
                                Some(Verb::Stop | Verb::Move | Verb::Recover | Verb::Restart)
                            ) && !o.blocked
                            {
                                o.blocked = true;
                                changed = true;
                            }
                        }
                    }
                    continue;
                }
                if ord.kind != OrderKind::Mandatory
                    || ord.first_action != Action::Start
                    || ord.then_action != Action::Start
                {
                    continue;
                }
                let (Some(fi), Some(ti)) = (fi_opt, by_id.get(t)) else {
                    continue;
                };
                // A group (or a clone of groups) has started only when all
                // members of one of its units run.
                // A clone with clone-min counts as started only with that
                // many instances running.
                let clone_min = self
                    .config
                    .resources
                    .iter()
                    .find_map(|r| match r {
                        Resource::Clone(c) if &c.id == f => Some(c.clone_min),
                        _ => None,
                    })
                    .unwrap_or(0)
                    .max(1) as usize;
                let first_runnable = match unit_outs.get(f) {
                    Some(us) if clone_min > 1 || us.iter().any(|u| u.len() > 1) => {
                        us.iter()
                            .filter(|u| {
                                u.iter()
                                    .all(|&i| outs[i].runnable && outs[i].target.is_some())
                            })
                            .count()
                            >= clone_min
                    }
                    _ => fi
                        .iter()
                        .any(|&i| outs[i].runnable && outs[i].target.is_some()),
                };
                let first_starting = fi.iter().any(|&i| outs[i].starts());
                // A `first` that is active but unmanaged keeps running where
                // it is, and a running `then` stays with it. A `first` that
                // is stopping takes a running `then` down with it, unless
                // the order is not symmetrical (then only starts wait).
                let symmetrical = ord.symmetrical.unwrap_or(true);
                let first_active = fi
                    .iter()
                    .any(|&i| !outs[i].current.is_empty() && (!outs[i].managed || !symmetrical));
                // New instances of a cloned `first` do not restart `then`.
                let first_is_clone = fi.iter().any(|&i| outs[i].display.contains(':'));
                let first_restarts: Vec<(Option<NodeId>, String)> = fi
                    .iter()
                    .filter(|&&j| matches!(outs[j].verb, Some(Verb::Recover | Verb::Restart)))
                    .map(|&j| (outs[j].target.clone(), outs[j].display.clone()))
                    .collect();
                // An instance of a cloned `first` that stops on the node of
                // a primitive `then` restarts it.
                let first_stops_on: Vec<NodeId> = fi
                    .iter()
                    .filter(|&&j| {
                        outs[j].verb == Some(Verb::Stop) && !outs[j].blocked && outs[j].managed
                    })
                    .filter_map(|&j| outs[j].current.first().cloned())
                    .collect();
                // New instances of `first` matter only to the interleaved
                // instance of `then` already running on the same node.
                let first_new: Vec<(Option<NodeId>, String)> = fi
                    .iter()
                    .filter(|&&j| outs[j].verb == Some(Verb::Start) && !outs[j].blocked)
                    .map(|&j| (outs[j].start_node(), outs[j].display.clone()))
                    .collect();
                let first_listed_blocked = fi
                    .iter()
                    .any(|&j| outs[j].verb == Some(Verb::Start) && outs[j].blocked);
                let then_interleave = self
                    .config
                    .resources
                    .iter()
                    .any(|r| matches!(r, Resource::Clone(c) if &c.id == t && c.interleave));
                // Nodes where an instance of `first` will run: with
                // interleave, an instance of `then` needs one on its node.
                let first_nodes: Vec<NodeId> = fi
                    .iter()
                    .filter(|&&j| outs[j].runnable)
                    .filter_map(|&j| outs[j].target.clone())
                    .collect();
                for &i in ti {
                    let o = &mut outs[i];
                    if !o.managed {
                        continue;
                    }
                    // (require-all=false and clone-min relax this: any
                    // instances anywhere will do.)
                    if first_runnable
                        && then_interleave
                        && first_is_clone
                        && ord.require_all != Some(false)
                        && clone_min <= 1
                        && o.display.contains(':')
                        && let Some(node) = o.target.clone()
                        && !first_nodes.contains(&node)
                    {
                        o.runnable = false;
                        o.target = None;
                        if o.current.is_empty() {
                            if o.anonymous_instance {
                                o.verb = None;
                            } else {
                                o.verb = Some(Verb::Start);
                                o.blocked = true;
                                o.blocked_target = Some(node);
                            }
                        } else {
                            o.decide(false);
                        }
                        o.reason = Some(format!("due to unrunnable {f} start"));
                        changed = true;
                        continue;
                    }
                    if !first_runnable {
                        if o.runnable {
                            o.runnable = false;
                            changed = true;
                        }
                        if o.target.is_some() && (!first_active || o.current.is_empty()) {
                            // crm_simulate lists a blocked start of an anonymous
                            // instance only when what blocks it is listed as a
                            // blocked start itself, or behind a require-all=false
                            // or clone-min order.
                            if o.current.is_empty()
                                && o.anonymous_instance
                                && ord.require_all != Some(false)
                                && clone_min <= 1
                                && !first_listed_blocked
                            {
                                o.target = None;
                                o.verb = None;
                            } else if o.current.is_empty() {
                                o.verb = Some(Verb::Start);
                                o.blocked = true;
                                o.blocked_target = o.target.take();
                            } else {
                                o.target = None;
                                o.decide(false);
                            }
                            o.reason = Some(format!("due to unrunnable {f} start"));
                            changed = true;
                        }
                    } else if first_is_clone
                        && o.verb.is_none()
                        && o.display.contains(':')
                        && o.current.len() == 1
                        && o.target.as_ref() == o.current.first()
                    {
                        // Clone then clone: an instance of `first` that
                        // restarts restarts the instance of `then` on its
                        // node (interleave), or every instance (without).
                        let node = o.current[0].clone();
                        let restarting = first_restarts
                            .iter()
                            .find(|(target, _)| !then_interleave || target.as_ref() == Some(&node))
                            .or_else(|| {
                                first_new.iter().find(|(target, _)| {
                                    then_interleave && target.as_ref() == Some(&node)
                                })
                            });
                        if let Some((_, display)) = restarting {
                            o.verb = Some(Verb::Restart);
                            o.reason = Some(format!("due to required {display} start"));
                            changed = true;
                        }
                    } else if first_is_clone
                        && (!first_restarts.is_empty()
                            || o.current
                                .first()
                                .is_some_and(|n| first_stops_on.contains(n)))
                        && o.verb.is_none()
                        && !o.display.contains(':')
                        && !o.current.is_empty()
                        && o.target.as_ref() == o.current.first()
                    {
                        // A primitive after a clone restarts when an instance
                        // of the clone restarts (new instances do not count).
                        o.verb = Some(Verb::Restart);
                        o.reason = Some(format!("due to required {f} running"));
                        changed = true;
                    } else if first_starting
                        && !first_is_clone
                        // A promotion in place becomes a restart into the
                        // Promoted role (its roles stay on the line).
                        && (o.verb.is_none()
                            || (o.verb == Some(Verb::Promote) && !o.current.is_empty()))
                        && !o.current.is_empty()
                        && o.target.as_ref() == o.current.first()
                    {
                        o.verb = Some(Verb::Restart);
                        o.reason = Some(format!("due to required {f} start"));
                        changed = true;
                    }
                }
                // Stopping first needs then stopped first: a blocked then blocks it.
                let then_stuck = ti
                    .iter()
                    .any(|&i| !outs[i].managed && !outs[i].current.is_empty());
                if then_stuck && ord.symmetrical.unwrap_or(true) {
                    for &i in fi {
                        if matches!(outs[i].verb, Some(Verb::Stop | Verb::Move)) && !outs[i].blocked
                        {
                            outs[i].blocked = true;
                            changed = true;
                        }
                    }
                }
            }
            // A mandatory colocation's dependent cannot stay where its
            // primary will no longer run (e.g. stopped by an order).
            for c in &self.colocations {
                let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
                    continue;
                };
                // The Promoted role of a clone with a primary that cannot
                // start: the promotion is blocked.
                if c.score.is_plus_infinity()
                    && c.rsc_role == Some(Role::Promoted)
                    && c.with_rsc_role.is_none_or(|x| x == Role::Started)
                    && let (Some(ri), Some(wi)) = (by_id.get(r), by_id.get(w))
                {
                    let primary_nodes: Vec<NodeId> =
                        wi.iter().filter_map(|&i| outs[i].target.clone()).collect();
                    for &i in ri {
                        let o = &mut outs[i];
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
                    continue;
                }
                if !c.score.is_plus_infinity() || c.rsc_role.is_some() || c.with_rsc_role.is_some()
                {
                    continue;
                }
                let (Some(ri), Some(wi)) = (by_id.get(r), by_id.get(w)) else {
                    continue;
                };
                let primary_nodes: Vec<NodeId> =
                    wi.iter().filter_map(|&i| outs[i].target.clone()).collect();
                for &i in ri {
                    let o = &mut outs[i];
                    if !o.managed {
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
            }
            if !changed {
                break;
            }
        }
        let quorum_ok = self.quorum_ok();
        for o in outs {
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
            let Some(v) = o.verb else { continue };
            let (from, to) = match v {
                Verb::Start => (None, o.start_node()),
                Verb::Promote if o.current.is_empty() => (None, o.start_node()),
                Verb::Stop => (o.current.first().cloned(), None),
                _ => (o.current.first().cloned(), o.target.clone()),
            };
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
                last.from_role = o
                    .from_role
                    .or(if v == Verb::Stop { o.role_now } else { None });
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
        self.orphans();
        for i in 0..self.plan.actions.len() {
            self.plan.graph.add_node(i);
        }
    }

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
    if c.blocked
        && !c
            .reason
            .as_deref()
            .is_some_and(|r| r.ends_with("(blocked)"))
    {
        line.push_str(" (blocked)");
    }
    line
}
