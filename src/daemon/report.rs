//! What `paceline status` shows beyond membership: resources with their
//! role and nodes, failed actions (from the replicated status), and the
//! fencing history this node keeps.

use std::path::Path;

use crate::api::{FailedActionView, FenceView, ResourceView};
use crate::model::{
    CloneChild, ClusterConfig, ClusterStatus, Primitive, Resource, ResourceHistory, Role,
};

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

/// Every primitive, and whether it is in a promotable clone (whose
/// started instances are Unpromoted, as crm_mon shows them).
fn primitives(config: &ClusterConfig) -> Vec<(&Primitive, bool)> {
    let mut out = Vec::new();
    for r in &config.resources {
        match r {
            Resource::Primitive(p) => out.push((p, false)),
            Resource::Group(g) => out.extend(g.members.iter().map(|p| (p, false))),
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) => out.push((p, c.promotable)),
                CloneChild::Group(g) => out.extend(g.members.iter().map(|p| (p, c.promotable))),
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
    let mut out = Vec::new();
    for (p, promotable) in primitives(config) {
        let mut by_role: Vec<(Role, Vec<String>)> = Vec::new();
        for (node, state) in &status.nodes {
            for h in state
                .resources
                .iter()
                .filter(|h| is_instance_of(&h.id, &p.id))
            {
                let role = match current_role(h) {
                    Role::Started if promotable => Role::Unpromoted,
                    r => r,
                };
                if matches!(role, Role::Stopped | Role::Unknown) {
                    continue;
                }
                match by_role.iter_mut().find(|(r, _)| *r == role) {
                    Some((_, nodes)) => nodes.push(node.clone()),
                    None => by_role.push((role, vec![node.clone()])),
                }
            }
        }
        if by_role.is_empty() {
            out.push(ResourceView {
                id: p.id.clone(),
                agent: p.agent_spec(),
                role: "Stopped".into(),
                nodes: Vec::new(),
            });
        }
        for (role, nodes) in by_role {
            out.push(ResourceView {
                id: p.id.clone(),
                agent: p.agent_spec(),
                role: format!("{role:?}"),
                nodes,
            });
        }
    }
    out
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
        .find(|(p, _)| p.id == base)
        .and_then(|(p, _)| p.meta.failure_timeout_s);
    own.or_else(|| {
        config
            .rsc_defaults
            .get("failure-timeout")
            .and_then(|v| crate::config::parse_duration_ms(v).map(|ms| ms / 1000))
    })
    .filter(|s| *s > 0)
}

/// Failed operations, each with when its failure expires.
pub fn failed_actions_in(
    config: Option<&ClusterConfig>,
    status: &ClusterStatus,
) -> Vec<FailedActionView> {
    let mut out = failed_actions(status);
    if let Some(config) = config {
        for f in &mut out {
            f.clears_at = match (f.at, failure_timeout_s(config, &f.resource)) {
                (Some(at), Some(t)) => Some(at + t as i64),
                _ => None,
            };
        }
    }
    out
}

pub fn failed_actions(status: &ClusterStatus) -> Vec<FailedActionView> {
    let mut out = Vec::new();
    for (node, state) in &status.nodes {
        for h in &state.resources {
            for op in &h.ops {
                let expected = op.target_rc.unwrap_or(0);
                let probe_not_running = op.operation == "monitor" && op.rc_code == 7;
                let promoted_monitor = op.operation == "monitor" && op.rc_code == 8;
                // Still running: not a failure (yet).
                let pending = op.rc_code == crate::model::rc::PENDING;
                if op.rc_code == expected
                    || pending
                    || probe_not_running && op.interval_ms == 0
                    || promoted_monitor
                {
                    continue;
                }
                out.push(FailedActionView {
                    resource: h.id.clone(),
                    node: node.clone(),
                    operation: op.operation.clone(),
                    interval_ms: op.interval_ms,
                    rc: op.rc_code,
                    at: op.last_rc_change,
                    clears_at: None,
                });
            }
        }
    }
    out
}

/// The last `limit` records of this node's fencing history.
pub fn fencing_history(path: &Path, limit: usize) -> Vec<FenceView> {
    let records = paceline_fencing::history::read_all(path).unwrap_or_default();
    let skip = records.len().saturating_sub(limit);
    records
        .into_iter()
        .skip(skip)
        .map(|r| FenceView {
            target: r.target,
            action: r.action,
            device: r.device,
            result: format!("{:?}", r.result).to_lowercase(),
            at: format!("{} ms since the epoch", r.end_ms),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::apply_patch as apply_status_patch;
    use crate::controller::{ActionResult, StatusPatch};

    #[test]
    fn resources_show_role_and_node_and_failures_are_listed() {
        let config = crate::config::load_config_str(
            "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[primitive]]\nid = \"d\"\nagent = \"ocf:heartbeat:Dummy\"\n[[primitive]]\nid = \"e\"\nagent = \"ocf:heartbeat:Dummy\"\n",
            "t.toml",
        )
        .unwrap();
        let mut status = ClusterStatus::default();
        let result = |instance: &str, op: &str, interval_ms, rc| {
            StatusPatch::OpResult(ActionResult {
                id: 1,
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
        };
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
    }
}
