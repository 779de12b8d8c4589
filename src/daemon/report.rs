//! What `paceline status` shows beyond membership: resources with their
//! role and nodes, failed actions and the fencing history (from the
//! replicated status; fences run by hand on this node from its own log).

use std::collections::BTreeMap;
use std::path::Path;

use crate::api::{FailedActionView, FenceView, InstanceCounts, ResourceView, TicketView};
use crate::model::{
    Clone, CloneChild, ClusterConfig, ClusterStatus, Group, OpRecord, Primitive, Resource,
    ResourceHistory, ResourceMeta, Role,
};

/// What the report shows of the configuration and the replicated status
/// alone (and of this node's own fencing log): the part that grows with
/// the number of resources.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    pub resources: Vec<ResourceView>,
    pub failed_actions: Vec<FailedActionView>,
    pub cli_constraints: Vec<crate::api::CliConstraintView>,
    pub standby: Vec<String>,
    pub maintenance: Vec<String>,
    pub node_attributes: std::collections::BTreeMap<String, crate::model::Attributes>,
    /// `[[node]] attributes` of the configuration.
    pub permanent_attributes: std::collections::BTreeMap<String, crate::model::Attributes>,
    pub fencing_history: Vec<FenceView>,
    pub tickets: Vec<crate::api::TicketView>,
    pub instances: InstanceCounts,
}

/// [`Derived`] of a configuration (None: it does not load) and a status.
pub fn derived(
    config: Option<&ClusterConfig>,
    status: &ClusterStatus,
    fence_log: &Path,
) -> Derived {
    let nodes_where = |flag: fn(&crate::model::Node) -> bool| -> Vec<String> {
        config
            .into_iter()
            .flat_map(|c| c.nodes.iter().filter(|n| flag(n)))
            .map(|n| n.uname.clone())
            .collect()
    };
    let resources = config.map(|c| resources(c, status)).unwrap_or_default();
    Derived {
        instances: config
            .map(|c| instance_counts(c, &resources))
            .unwrap_or_default(),
        resources,
        failed_actions: failed_actions_in(config, status),
        cli_constraints: config.map(cli_constraints).unwrap_or_default(),
        standby: nodes_where(|n| n.standby),
        maintenance: nodes_where(|n| n.maintenance),
        node_attributes: status
            .nodes
            .iter()
            .filter(|(_, n)| !n.transient_attributes.is_empty())
            .map(|(name, n)| (name.clone(), n.transient_attributes.clone()))
            .collect(),
        permanent_attributes: permanent_attributes(config, status),
        fencing_history: fencing_history(status, fence_log, crate::model::FENCE_HISTORY_MAX),
        tickets: tickets(config, status),
    }
}

/// Every ticket the configuration or the status names, by name.
pub fn tickets(config: Option<&ClusterConfig>, status: &ClusterStatus) -> Vec<TicketView> {
    let mut out: std::collections::BTreeMap<&str, TicketView> = std::collections::BTreeMap::new();
    let view = |name: &str| {
        let st = status.tickets.get(name).cloned().unwrap_or_default();
        TicketView {
            ticket: name.to_string(),
            granted: st.granted,
            standby: st.standby,
            last_granted: st.last_granted,
            resources: Vec::new(),
            etcd: None,
            counts_until: None,
        }
    };
    for name in status.tickets.keys() {
        out.insert(name, view(name));
    }
    for t in config.into_iter().flat_map(|c| c.tickets.iter()) {
        let v = out.entry(&t.ticket).or_insert_with(|| view(&t.ticket));
        v.resources
            .push(format!("{} ({})", t.resource, t.loss_policy.name()));
    }
    out.into_values().collect()
}

/// The role a node's history leaves a resource in: the operations
/// replayed in call order. (The scheduler has the full replay, with
/// failures and on-fail, in its private `history` module.)
fn current_role(h: &ResourceHistory) -> Role {
    let mut ops: Vec<_> = h.ops.iter().collect();
    ops.sort_by_key(|o| o.call_id);
    let mut role = Role::Stopped;
    // An operation still in flight (recorded pending by the DC) has not
    // changed anything yet.
    for op in ops
        .into_iter()
        .filter(|o| o.rc_code != crate::model::rc::PENDING)
    {
        role = match (op.operation.as_str(), op.rc_code) {
            ("start", 0) => Role::Started,
            ("stop", 0) => Role::Stopped,
            ("promote", 0) => Role::Promoted,
            ("demote", 0) => Role::Unpromoted,
            ("monitor", 0) if matches!(role, Role::Stopped | Role::Unknown) => Role::Started,
            ("monitor", 7) => Role::Stopped,
            ("monitor", 8) => Role::Promoted,
            // A failed start or stop may have left it (half) up: count it
            // active until a stop succeeds.
            ("start", _) | ("stop", _) if matches!(role, Role::Stopped | Role::Unknown) => {
                Role::Started
            }
            _ => role,
        };
    }
    role
}

/// What the newest operation of `h` is doing, if it is still in flight
/// (recorded pending by the DC): "Starting", "Stopping", "Promoting",
/// "Demoting". Probes and monitors in flight change nothing shown.
fn pending_action(h: &ResourceHistory) -> Option<&'static str> {
    let newest = h.ops.iter().max_by_key(|o| o.call_id)?;
    let pending = newest.rc_code == crate::model::rc::PENDING
        || newest.op_status == crate::controller::patch::op_status::PENDING;
    if !pending {
        return None;
    }
    match newest.operation.as_str() {
        "start" => Some("Starting"),
        "stop" => Some("Stopping"),
        "promote" => Some("Promoting"),
        "demote" => Some("Demoting"),
        _ => None,
    }
}

/// A primitive and where it sits: its group and its clone (crm_mon's tree).
#[derive(Clone, Copy)]
struct Placed<'a> {
    p: &'a Primitive,
    group: Option<&'a Group>,
    clone: Option<&'a Clone>,
}

impl Placed<'_> {
    fn promotable(&self) -> bool {
        self.clone.is_some_and(|c| c.promotable)
    }

    /// The metas that apply, the primitive's own first.
    fn metas(&self) -> impl Iterator<Item = &ResourceMeta> {
        [
            Some(&self.p.meta),
            self.group.map(|g| &g.meta),
            self.clone.map(|c| &c.meta),
        ]
        .into_iter()
        .flatten()
    }

    /// crm_mon's marks from the metas: a parent's target-role Stopped or
    /// is-managed false holds for its members, as in Pacemaker.
    fn flags(&self, defaults: &ResourceMeta) -> Vec<String> {
        let mut flags = Vec::new();
        if self.metas().any(|m| m.target_role == Some(Role::Stopped)) {
            flags.push("disabled".to_string());
        }
        let set_or_default = |get: fn(&ResourceMeta) -> Option<bool>, value: bool| {
            self.metas().any(|m| get(m) == Some(value))
                || (self.metas().all(|m| get(m).is_none()) && get(defaults) == Some(value))
        };
        if set_or_default(|m| m.is_managed, false) {
            flags.push("unmanaged".to_string());
        }
        if set_or_default(|m| m.maintenance, true) {
            flags.push("maintenance".to_string());
        }
        flags
    }
}

/// Every primitive with its group and clone, in configuration order.
fn primitives(config: &ClusterConfig) -> Vec<Placed<'_>> {
    fn members<'a>(g: &'a Group, clone: Option<&'a Clone>) -> impl Iterator<Item = Placed<'a>> {
        g.members.iter().map(move |p| Placed {
            p,
            group: Some(g),
            clone,
        })
    }
    let mut out = Vec::new();
    for r in &config.resources {
        match r {
            Resource::Primitive(p) => out.push(Placed {
                p,
                group: None,
                clone: None,
            }),
            Resource::Group(g) => out.extend(members(g, None)),
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) => out.push(Placed {
                    p,
                    group: None,
                    clone: Some(c),
                }),
                CloneChild::Group(g) => out.extend(members(g, Some(c))),
            },
        }
    }
    out
}

/// Whether a history entry's id is this primitive (or one of its clone instances).
fn is_instance_of(history_id: &str, primitive: &str) -> bool {
    history_id == primitive
        || history_id
            .strip_prefix(primitive)
            .is_some_and(|rest| rest.starts_with(':'))
}

pub fn resources(config: &ClusterConfig, status: &ClusterStatus) -> Vec<ResourceView> {
    resources_where(config, status, |_| true)
}

/// [`resources`] of the primitives among `ids` only (what a check of a
/// few resources needs, without the cost of all).
pub fn resources_named(
    config: &ClusterConfig,
    status: &ClusterStatus,
    ids: &std::collections::BTreeSet<String>,
) -> Vec<ResourceView> {
    resources_where(config, status, |p| ids.contains(&p.id))
}

/// The newest finished operation of `h`, if it failed: the resource is
/// FAILED there until recovered (crm_mon), and blocked when it was a
/// stop (Pacemaker does nothing more with it until it is fenced or
/// cleaned up).
fn failed_now(h: &ResourceHistory) -> Option<&OpRecord> {
    h.ops
        .iter()
        .filter(|o| o.rc_code != crate::model::rc::PENDING)
        .max_by_key(|o| o.call_id)
        .filter(|o| is_failure(o))
}

/// How `h` shows on its node.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Label {
    /// In flight ("Starting"), FAILED, or its role.
    shown: String,
    /// A failed stop: blocked.
    blocked: bool,
    /// FAILED: the role it has all the same (crm_mon's `FAILED Promoted`).
    failed_role: Option<String>,
}

/// How `h` shows on its node; None when it is stopped there.
fn label_of(h: &ResourceHistory, promotable: bool) -> Option<Label> {
    let role = match current_role(h) {
        Role::Stopped | Role::Unknown => None,
        Role::Started if promotable => Some(format!("{:?}", Role::Unpromoted)),
        r => Some(format!("{r:?}")),
    };
    if let Some(doing) = pending_action(h) {
        return Some(Label {
            shown: doing.to_string(),
            blocked: false,
            failed_role: None,
        });
    }
    if let Some(op) = failed_now(h) {
        // Pacemaker keeps the role of an instance whose monitor failed: a
        // promoted one stays role="Promoted" with failed="true" in
        // crm_mon's XML, and pgsql's standby reads that as "a primary
        // exists". Shown as role="FAILED", the standby's probe found no
        // primary and set its own promotion score, over its primary's
        // (bench/chaos --stack pgsql, seed 98 at start).
        return Some(Label {
            shown: "FAILED".to_string(),
            blocked: op.operation == "stop",
            failed_role: Some(role.unwrap_or_else(|| format!("{:?}", Role::Stopped))),
        });
    }
    role.map(|shown| Label {
        shown,
        blocked: false,
        failed_role: None,
    })
}

fn resources_where(
    config: &ClusterConfig,
    status: &ClusterStatus,
    wanted: impl Fn(&Primitive) -> bool,
) -> Vec<ResourceView> {
    let mut out = Vec::new();
    for placed in primitives(config).into_iter().filter(|x| wanted(x.p)) {
        let p = placed.p;
        // label -> nodes, in the order first seen.
        let mut by_role: Vec<(Label, Vec<String>)> = Vec::new();
        for (node, state) in &status.nodes {
            for h in state
                .resources
                .iter()
                .filter(|h| is_instance_of(&h.id, &p.id))
            {
                let Some(label) = label_of(h, placed.promotable()) else {
                    continue;
                };
                match by_role.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, nodes)) => nodes.push(node.clone()),
                    None => by_role.push((label, vec![node.clone()])),
                }
            }
        }
        if by_role.is_empty() {
            let stopped = Label {
                shown: "Stopped".to_string(),
                blocked: false,
                failed_role: None,
            };
            by_role.push((stopped, Vec::new()));
        }
        let flags = placed.flags(&config.rsc_defaults_meta);
        for (label, nodes) in by_role {
            let mut flags = flags.clone();
            if label.blocked {
                flags.push("blocked".to_string());
            }
            out.push(ResourceView {
                id: p.id.clone(),
                agent: p.agent_spec(),
                role: label.shown,
                failed_role: label.failed_role,
                nodes,
                group: placed.group.map(|g| g.id.clone()),
                clone: placed.clone.map(|c| c.id.clone()),
                promotable: placed.promotable(),
                flags,
            });
        }
    }
    out
}

/// crm_mon's counts: a clone's primitive counts once per instance
/// (clone-max, else one per node).
pub fn instance_counts(config: &ClusterConfig, views: &[ResourceView]) -> InstanceCounts {
    let nodes = u32::try_from(config.nodes.len()).unwrap_or(u32::MAX);
    let mut counts = InstanceCounts::default();
    for placed in primitives(config) {
        let n = placed
            .clone
            .map_or(1, |c| c.clone_max.unwrap_or(nodes).max(1));
        counts.configured = counts.configured.saturating_add(n);
        if placed
            .flags(&config.rsc_defaults_meta)
            .iter()
            .any(|f| f == "disabled")
        {
            counts.disabled = counts.disabled.saturating_add(n);
        }
    }
    counts.blocked = views
        .iter()
        .filter(|v| v.flags.iter().any(|f| f == "blocked"))
        .map(|v| u32::try_from(v.nodes.len()).unwrap_or(u32::MAX))
        .sum();
    counts
}

/// Permanent node attributes: the configuration's (`[[node]]
/// attributes`, an administrator's) with those agents set (`crm_attribute
/// -l forever`, in the status) over them, as Pacemaker's `<nodes>` section
/// holds both.
fn permanent_attributes(
    config: Option<&ClusterConfig>,
    status: &ClusterStatus,
) -> BTreeMap<String, crate::model::Attributes> {
    let mut all: BTreeMap<String, crate::model::Attributes> = config
        .into_iter()
        .flat_map(|c| c.nodes.iter())
        .filter(|n| !n.attributes.is_empty())
        .map(|n| (n.uname.clone(), n.attributes.clone()))
        .collect();
    for (node, attrs) in &status.permanent_attributes {
        let mine = all.entry(node.clone()).or_default();
        mine.extend(attrs.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    all
}

/// The location constraints `resource move|ban` made (ids `cli-prefer-…`,
/// `cli-ban-…`, with `-until-<unix time>` for a lifetime).
pub fn cli_constraints(config: &ClusterConfig) -> Vec<crate::api::CliConstraintView> {
    use crate::model::{LocationPlacement, LocationTarget};
    config
        .locations
        .iter()
        .filter(|l| l.id.starts_with("cli-prefer-") || l.id.starts_with("cli-ban-"))
        .filter_map(|l| {
            let LocationTarget::Resource(resource) = &l.target else {
                return None;
            };
            let LocationPlacement::Node { node, score } = &l.placement else {
                return None;
            };
            let expires_at =
                l.id.rsplit_once("-until-")
                    .and_then(|(_, t)| t.parse::<i64>().ok());
            Some(crate::api::CliConstraintView {
                id: l.id.clone(),
                resource: resource.clone(),
                node: node.clone(),
                score: score.to_string(),
                expires_at,
            })
        })
        .collect()
}

/// Seconds after which failures of `resource` expire: its meta
/// failure-timeout, else rsc_defaults'; 0 or none = never.
fn failure_timeout_s(config: &ClusterConfig, resource: &str) -> Option<u64> {
    let base = resource.split(':').next().unwrap_or(resource);
    let own = primitives(config)
        .into_iter()
        .find(|x| x.p.id == base)
        .and_then(|x| x.p.meta.failure_timeout);
    own.or(config.rsc_defaults_meta.failure_timeout)
        .map(|d| d.as_secs())
        .filter(|s| *s > 0)
}

/// Failed operations, each with when its failure expires. A failure the
/// resource recovered from in place is dropped once it expired: only its
/// fail count remembered it, and the scheduler no longer counts it.
pub fn failed_actions_in(
    config: Option<&ClusterConfig>,
    status: &ClusterStatus,
) -> Vec<FailedActionView> {
    let mut out = failed_actions(status);
    if let Some(config) = config {
        for f in &mut out {
            f.clears_at = match (f.at, failure_timeout_s(config, &f.resource)) {
                (Some(at), Some(t)) => {
                    Some(at.saturating_add(i64::try_from(t).unwrap_or(i64::MAX)))
                }
                _ => None,
            };
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    out.retain(|f| !(f.recovered && f.clears_at.is_some_and(|t| t <= now)));
    out
}

/// Whether a finished operation failed: it did not return what was
/// expected, a probe finding the resource stopped and a monitor finding
/// it promoted excepted.
fn is_failure(op: &OpRecord) -> bool {
    let expected = op.target_rc.unwrap_or(0);
    let probe_not_running = op.operation == "monitor" && op.rc_code == 7 && op.interval_ms == 0;
    let promoted_monitor = op.operation == "monitor" && op.rc_code == 8;
    // Still running: not a failure (yet).
    let pending = op.rc_code == crate::model::rc::PENDING;
    !(op.rc_code == expected || pending || probe_not_running || promoted_monitor)
}

/// Failed operations: those the history still shows failed, and those a
/// fail count remembers after the operation succeeded again (crm_mon keeps
/// listing them until cleanup or failure-timeout).
pub fn failed_actions(status: &ClusterStatus) -> Vec<FailedActionView> {
    let mut out = Vec::new();
    for (node, state) in &status.nodes {
        let start = out.len();
        for h in &state.resources {
            for op in h.ops.iter().filter(|op| is_failure(op)) {
                out.push(FailedActionView {
                    resource: h.id.clone(),
                    node: node.clone(),
                    operation: op.operation.clone(),
                    interval_ms: op.interval_ms,
                    rc: op.rc_code,
                    at: op.last_rc_change,
                    clears_at: None,
                    exit_reason: op.exit_reason.clone(),
                    recovered: false,
                    fail_count: 0,
                });
            }
        }
        add_fail_counts(node, state, &mut out, start);
    }
    out
}

/// Gives the failures of `node` (from `start` in `out`) their fail count,
/// and adds those only a fail count remembers (`fail-count-RES#OP_INTERVAL`,
/// the controller's name: `controller::patch::fail_count_name`).
fn add_fail_counts(
    node: &str,
    state: &crate::model::NodeState,
    out: &mut Vec<FailedActionView>,
    start: usize,
) {
    for (name, value) in &state.transient_attributes {
        let Some((resource, op)) = name
            .strip_prefix("fail-count-")
            .and_then(|rest| rest.rsplit_once('#'))
        else {
            continue;
        };
        let Some((operation, interval)) = op.rsplit_once('_') else {
            continue;
        };
        let Ok(interval_ms) = interval.parse::<u64>() else {
            continue;
        };
        let count = match value.trim() {
            "INFINITY" | "+INFINITY" => u32::MAX,
            v => v.parse::<u32>().unwrap_or(0),
        };
        if count == 0 {
            continue;
        }
        let same = |f: &FailedActionView| {
            crate::scheduler::transition::primitive_of(&f.resource) == resource
                && f.operation == operation
                && f.interval_ms == interval_ms
        };
        if let Some(f) = out[start..].iter_mut().find(|f| same(f)) {
            f.fail_count = count;
            continue;
        }
        let at = state
            .transient_attributes
            .get(&crate::controller::patch::last_failure_name(
                resource,
                operation,
                interval_ms,
            ))
            .and_then(|t| t.trim().parse::<i64>().ok());
        out.push(FailedActionView {
            resource: resource.to_string(),
            node: node.to_string(),
            operation: operation.to_string(),
            interval_ms,
            rc: -1,
            at,
            clears_at: None,
            exit_reason: None,
            recovered: true,
            fail_count: count,
        });
    }
}

/// The cluster's fencing history, newest first (as crm_mon lists it): the
/// replicated events, and the records of this node's own fencing log that
/// the cluster never saw — fences an operator ran with `paceline fence
/// NODE` without the daemon (requester `user@host`). What pacelined's
/// fencing service ran (requester `pacelined@…`) reached the controller,
/// which recorded it in the replicated history; its local records (one per
/// device attempt) would only repeat it. At most `limit` records.
pub fn fencing_history(status: &ClusterStatus, local: &Path, limit: usize) -> Vec<FenceView> {
    let mut out: Vec<FenceView> = status
        .fencing_history
        .iter()
        .map(|e| FenceView {
            target: e.target.clone(),
            action: e.action.clone(),
            device: e.devices.join(","),
            result: if e.ok { "ok" } else { "failed" }.to_string(),
            at: super::format_utc_seconds(e.completed),
            completed: Some(e.completed),
            delegate: Some(e.delegate.clone()),
            origin: Some(e.origin.clone()),
            client: Some(e.client.clone()),
            detail: e.detail.clone(),
            attempts: e.attempts.max(1),
            first_at: super::format_utc_seconds(e.first_completed),
            elapsed_ms: e.elapsed_ms,
            source: "cluster".to_string(),
        })
        .collect();
    let records = paceline_fencing::history::read_all(local).unwrap_or_default();
    out.extend(
        records
            .into_iter()
            .filter(|r| !r.requester.starts_with("pacelined@"))
            .map(|r| {
                let completed = i64::try_from(r.end_ms / 1000).unwrap_or(i64::MAX);
                let at = super::format_utc_seconds(completed);
                FenceView {
                    target: r.target,
                    action: r.action,
                    device: r.device,
                    result: format!("{:?}", r.result).to_lowercase(),
                    first_at: at.clone(),
                    at,
                    completed: Some(completed),
                    delegate: None,
                    origin: None,
                    client: Some(r.requester),
                    detail: r.output,
                    attempts: 1,
                    elapsed_ms: Some(r.end_ms.saturating_sub(r.start_ms)),
                    source: "local".to_string(),
                }
            }),
    );
    // Newest first; stable, so events of one second keep their order
    // (reversed: the later recorded first).
    out.reverse();
    out.sort_by_key(|f| std::cmp::Reverse(f.completed));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::apply_patch as apply_status_patch;
    use crate::controller::{ActionResult, StatusPatch};

    #[test]
    fn the_fencing_history_is_the_replicated_one_plus_fences_run_by_hand() {
        use crate::model::FenceEvent;
        use paceline_fencing::history::{FenceResult, HistoryRecord, append};
        let event = |id, ok, at, attempts| FenceEvent {
            id,
            target: "node2".into(),
            action: "reboot".into(),
            ok,
            devices: if ok {
                vec!["ipmi".into(), "pdu".into()]
            } else {
                Vec::new()
            },
            detail: if ok {
                "fenced at level 2"
            } else {
                "ipmi: timed out"
            }
            .into(),
            delegate: "node1".into(),
            origin: "node1".into(),
            client: "controller".into(),
            completed: at,
            elapsed_ms: Some(900),
            attempts,
            first_completed: at - 10,
        };
        let mut status = ClusterStatus::default();
        for e in [event(1, false, 1_000, 3), event(2, true, 1_020, 1)] {
            apply_status_patch(&mut status, &StatusPatch::FenceEvent(Box::new(e)));
        }
        let dir = std::env::temp_dir().join(format!("paceline-report-{}", std::process::id()));
        let file = dir.join("fencing-history.jsonl");
        let _ = std::fs::remove_file(&file);
        let record = |requester: &str, end_ms| HistoryRecord {
            target: "node2".into(),
            device: "ipmi".into(),
            action: "off".into(),
            requester: requester.into(),
            start_ms: end_ms - 500,
            end_ms,
            result: FenceResult::Ok,
            output: "power off".into(),
        };
        // The daemon's own run of the DC's fence: in the replicated history.
        append(&file, &record("pacelined@node1", 1_020_000)).unwrap();
        // An operator's `paceline fence node2` on this node, between.
        append(&file, &record("root@node1", 1_010_000)).unwrap();
        let views = fencing_history(&status, &file, 50);
        assert_eq!(fencing_history(&status, &file, 1).len(), 1, "bounded");
        let _ = std::fs::remove_dir_all(&dir);
        let seen: Vec<_> = views
            .iter()
            .map(|v| (v.source.as_str(), v.result.as_str(), v.completed))
            .collect();
        assert_eq!(
            seen,
            [
                ("cluster", "ok", Some(1_020)),
                ("local", "ok", Some(1_010)),
                ("cluster", "failed", Some(1_000)),
            ],
            "newest first: {views:#?}"
        );
        let ok = &views[0];
        assert_eq!(ok.device, "ipmi,pdu");
        assert_eq!(ok.delegate.as_deref(), Some("node1"));
        assert_eq!(ok.at, "1970-01-01 00:17:00Z");
        assert_eq!(views[1].client.as_deref(), Some("root@node1"));
        assert_eq!(
            (views[2].attempts, views[2].first_at.as_str()),
            (3, "1970-01-01 00:16:30Z")
        );
    }

    /// An operation's result on node n1, as the executor reports it.
    fn op_result(id: u64, instance: &str, op: &str, interval_ms: u64, rc: i32) -> StatusPatch {
        StatusPatch::OpResult(ActionResult {
            id,
            node: "n1".into(),
            resource: instance.into(),
            instance: instance.into(),
            operation: op.into(),
            interval_ms,
            rc,
            op_status: 0,
            output: String::new(),
            at: 10,
            exec_ms: 1,
        })
    }

    #[test]
    fn resources_show_role_and_node_and_failures_are_listed() {
        let config = crate::config::load_config_str(
            "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[primitive]]\nid = \"d\"\nagent = \"ocf:heartbeat:Dummy\"\n[[primitive]]\nid = \"e\"\nagent = \"ocf:heartbeat:Dummy\"\n",
            "t.toml",
        )
        .unwrap();
        let mut status = ClusterStatus::default();
        let result =
            |instance: &str, op: &str, interval_ms, rc| op_result(1, instance, op, interval_ms, rc);
        apply_status_patch(&mut status, &result("d", "start", 0, 0));
        apply_status_patch(&mut status, &result("e", "monitor", 0, 7));
        apply_status_patch(&mut status, &result("e", "start", 0, 1));
        let views = resources(&config, &status);
        assert_eq!(views[0].id, "d");
        assert_eq!(
            (views[0].role.as_str(), views[0].nodes.clone()),
            ("Started", vec!["n1".to_string()])
        );
        let failed = failed_actions(&status);
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(
            (
                failed[0].resource.as_str(),
                failed[0].operation.as_str(),
                failed[0].rc
            ),
            ("e", "start", 1)
        );
        // A start in flight (recorded pending by the DC) shows as crm_mon's
        // "Starting" on its node; once done, as Started.
        let mut pending = result("e", "start", 0, crate::model::rc::PENDING);
        if let StatusPatch::OpResult(r) = &mut pending {
            r.id = 5;
            r.op_status = crate::controller::patch::op_status::PENDING;
        }
        apply_status_patch(&mut status, &pending);
        let views = resources(&config, &status);
        assert_eq!(
            (views[1].role.as_str(), views[1].nodes.clone()),
            ("Starting", vec!["n1".to_string()])
        );
    }

    /// A promoted instance whose monitor failed is FAILED and still
    /// Promoted, which crm_mon's XML shows as role="Promoted"
    /// failed="true" (shims::crm_mon's test), so
    /// pgsql's standby, grepping for it on a probe, knows a primary exists
    /// and does not claim the promotion for itself (before: role="FAILED",
    /// and the standby set its own promotion score over its primary's;
    /// bench/chaos --stack pgsql, seed 98 at start, under load).
    #[test]
    fn a_failed_promoted_instance_keeps_its_role() {
        let config = crate::config::load_config_str(
            "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:pgsql\"\n[[clone]]\nid = \"db-ha\"\nresource = \"db\"\npromotable = true\npromoted_max = 1\n",
            "t.toml",
        )
        .unwrap();
        let mut status = ClusterStatus::default();
        for patch in [
            op_result(1, "db:0", "start", 0, 0),
            op_result(2, "db:0", "promote", 0, 0),
            op_result(3, "db:0", "monitor", 1_000, 1),
        ] {
            apply_status_patch(&mut status, &patch);
        }
        let views = resources(&config, &status);
        assert_eq!(
            (views[0].role.as_str(), views[0].failed_role.as_deref()),
            ("FAILED", Some("Promoted")),
            "{views:?}"
        );
    }

    #[test]
    fn a_failed_stop_is_failed_and_blocked_and_a_recovered_failure_is_kept() {
        let config = crate::config::load_config_str(
            "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[primitive]]\nid = \"d\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = { target-role = \"Stopped\" }\n[[primitive]]\nid = \"e\"\nagent = \"ocf:heartbeat:Dummy\"\n",
            "t.toml",
        )
        .unwrap();
        let mut status = ClusterStatus::default();
        let result = op_result;
        for patch in [
            result(1, "d", "start", 0, 0),
            result(2, "d", "stop", 0, 1),
            result(3, "e", "start", 0, 0),
            result(4, "e", "monitor", 10_000, 7),
            result(5, "e", "stop", 0, 0),
            result(6, "e", "start", 0, 0),
            result(7, "e", "monitor", 10_000, 0),
        ] {
            apply_status_patch(&mut status, &patch);
        }
        let views = resources(&config, &status);
        assert_eq!(
            (views[0].role.as_str(), views[0].flags.clone()),
            (
                "FAILED",
                vec!["disabled".to_string(), "blocked".to_string()]
            )
        );
        assert_eq!(views[1].role, "Started");
        let counts = instance_counts(&config, &views);
        assert_eq!(
            (counts.configured, counts.disabled, counts.blocked),
            (2, 1, 1)
        );
        let failed = failed_actions(&status);
        let e = failed.iter().find(|f| f.resource == "e").expect("kept");
        assert_eq!(
            (
                e.operation.as_str(),
                e.interval_ms,
                e.recovered,
                e.fail_count,
                e.at
            ),
            ("monitor", 10_000, true, 1, Some(10))
        );
        let d = failed.iter().find(|f| f.resource == "d").unwrap();
        assert_eq!((d.rc, d.recovered, d.fail_count), (1, false, 1));
    }
}
