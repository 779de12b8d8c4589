//! Failures and on-fail: which failures still count (failure-timeout,
//! on-fail=ignore, on-fail=block), fail counts against
//! migration-threshold, hard errors, and what a failure escalates to
//! (a failed stop or on-fail=fence makes its node unclean, on-fail=standby
//! puts it in standby; on-fail=block and on-fail=demote leave it in place).

use std::collections::{BTreeSet, HashMap};

use super::history;
use super::nodes::NodeView;
use super::plan::{Ctx, History};
use super::units::{Member, Unit, base_id};
use crate::model::*;

/// The operations of primitive `p` whose failures are ignored
/// (`on-fail=ignore`), as (name, interval).
pub(super) fn ignored_failures(p: Option<&&Primitive>) -> Vec<(String, u64)> {
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
pub(super) fn op_blocks(p: Option<&&Primitive>, op: &str) -> bool {
    p.is_some_and(|p| {
        p.operations
            .iter()
            .any(|o| o.name == op && o.on_fail == Some(OnFail::Block))
    })
}

/// failure-timeout in seconds: the resource's own, else rsc_defaults.
pub(super) fn failure_timeout_of(config: &ClusterConfig, meta: &ResourceMeta) -> Option<u64> {
    meta.failure_timeout
        .or(config.rsc_defaults_meta.failure_timeout)
        .map(|d| d.as_secs())
}

/// Whether the history records a failure of an operation that `p`
/// configures with on-fail=block (Pacemaker then ignores failure-timeout
/// for the resource, since expiring would unblock it).
pub(super) fn block_failure_recorded(p: &Primitive, h: &ResourceHistory) -> bool {
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

/// Resources whose failure-timeout Pacemaker disregards: a failure of an
/// operation configured with on-fail=block never expires.
pub(super) fn timeout_ignored(
    status: &ClusterStatus,
    prims: &HashMap<&str, &Primitive>,
) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for st in status.nodes.values() {
        for h in &st.resources {
            let id = base_id(&h.id);
            if let Some(p) = prims.get(id)
                && block_failure_recorded(p, h)
            {
                out.insert(id.to_string());
            }
        }
    }
    out
}

/// Every resource's history replayed, per resource id (instance suffix
/// stripped), walking nodes in status order: anonymous clone numbering
/// depends on it. Failed operations older than failure-timeout are
/// ignored, unless the fail count has not expired (recurring ones only on
/// the nodes `up_and_clean`).
pub(super) fn observed_history(
    config: &ClusterConfig,
    status: &ClusterStatus,
    prims: &HashMap<&str, &Primitive>,
    timeout_ignored: &BTreeSet<String>,
    up_and_clean: &BTreeSet<&str>,
    now: i64,
) -> History {
    let mut history: History = HashMap::new();
    let parents = super::units::parents_by_id(config);
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
    for uname in order {
        let st = &status.nodes[uname];
        for h in &st.resources {
            let id = base_id(&h.id);
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
                .map(|t| history::Expiry {
                    before: now - t as i64,
                    recurring_too: up_and_clean.contains(uname.as_str()),
                });
            let obs = history::observe_configured(
                h,
                &ignored_failures(prims.get(id)),
                op_blocks(prims.get(id), "demote"),
                expiry,
                // A monitor finding an unmanaged resource stopped is no
                // failure (unpack.c's PCMK_OCF_NOT_RUNNING), whether the
                // resource or a parent (group, clone) is unmanaged.
                prims.get(id).is_some_and(|p| {
                    let up = parents.get(id).copied().unwrap_or_default();
                    !super::units::configured_managed(config, &p.meta, &up)
                }) || config.properties.maintenance_mode
                    || config.properties.no_fence_device,
            );
            history
                .entry(base_id(&h.id).to_string())
                .or_default()
                .push((uname.clone(), h.id.clone(), obs));
        }
    }
    history
}

/// Whether observed failure `obs` of primitive `p` makes its node unclean
/// (with fencing enabled): a failed stop without on-fail=block, or a
/// failure of an operation with on-fail=fence.
pub(super) fn fences_its_node(
    config: &ClusterConfig,
    p: Option<&&Primitive>,
    obs: &history::Observed,
) -> bool {
    let Some(op) = obs.failed_op.as_deref().filter(|_| obs.failed) else {
        return false;
    };
    let on_fail = p.and_then(|p| {
        p.operations
            .iter()
            .find(|o| o.name == op && o.interval_ms == obs.failed_interval_ms)
            .and_then(|o| o.on_fail)
    });
    config.properties.stonith_enabled
        && ((op == "stop" && !op_blocks(p, "stop")) || on_fail == Some(OnFail::Fence))
}

/// A stop that failed where fencing can clean up: the node is fenced
/// (the stop's default on-fail with stonith enabled), so it hosts nothing.
pub(super) fn fence_failed_stops(
    config: &ClusterConfig,
    history: &History,
    prims: &HashMap<&str, &Primitive>,
    nodes: &mut [NodeView],
) {
    if !config.properties.stonith_enabled {
        return;
    }
    let mut failed_stops: Vec<(String, NodeId)> = Vec::new();
    for (rsc, list) in history {
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

/// on-fail=fence and on-fail=standby, while the failure stands (until it
/// expires or is cleaned up): the failure's node is fenced (its history,
/// the failure with it, goes with the fence), or everything moves off it.
/// Without fencing, on-fail=fence leaves the resource where it failed, as
/// block does (`blocked_by_failure`).
pub(super) fn escalate_on_fail(
    config: &ClusterConfig,
    history: &History,
    prims: &HashMap<&str, &Primitive>,
    nodes: &mut [NodeView],
) {
    let mut escalated: Vec<(NodeId, String, OnFail)> = Vec::new();
    for (rsc, list) in history {
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
}

impl<'a> Ctx<'a> {
    pub(super) fn failure_timeout(&self, meta: &ResourceMeta) -> Option<u64> {
        failure_timeout_of(self.config, meta)
    }

    /// The fail count that still counts (failure-timeout expiry applied).
    /// For an instance of an anonymous clone, the fail counts recorded
    /// under any instance number count (Pacemaker matches them all).
    pub(super) fn fail_count(
        &self,
        rsc: &str,
        node: &str,
        meta: &ResourceMeta,
        anonymous: bool,
    ) -> i64 {
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

    /// Bans from member `mi`'s failures: a hard error bans its node, a fail
    /// count at migration-threshold too (all instance numbers for an
    /// anonymous clone; never after an on-fail=ignore failure). The first
    /// member's bans go into `scores`; a later member's are returned, to
    /// be merged like a colocation (`apply_later_bans`). `first_banned`
    /// records per node the first member banned there.
    pub(super) fn failure_bans(
        &self,
        unit: &Unit<'a>,
        mi: usize,
        scores: &mut [Score],
        first_banned: &mut [usize],
        why: &mut Vec<String>,
    ) -> Vec<usize> {
        let m = &unit.members[mi];
        let mut bans_here: Vec<usize> = Vec::new();
        let anonymous = unit.clone.is_some_and(|c| !c.globally_unique);
        // Pacemaker bans a failed anonymous clone member's whole clone
        // (its uber-parent: unpack_rsc_op_failure's hard errors,
        // pcmk__threshold_reached's migration-threshold), so a later
        // member's failure bans its instance as the first member's would;
        // elsewhere only the member itself is banned, a later group
        // member's ban merging into its group's scores later.
        let whole_unit = mi == 0 || anonymous;
        // A failed stop bans the member itself (the instance, not its
        // clone) from its node: unpack_rsc_op_failure's __stop_fail__
        // location.
        for (node, obs) in &m.current {
            if obs.failed && obs.failed_op.as_deref() == Some("stop") {
                if let Some(&i) = self.node_index.get(node) {
                    if mi == 0 {
                        scores[i] = Score::MINUS_INFINITY;
                    } else {
                        bans_here.push(i);
                    }
                    why.push(format!(
                        "{}: its failed stop bans it from {}",
                        m.display, node
                    ));
                }
            }
        }
        if let Some(list) = self.history.get(&m.prim.id) {
            for (node, _, obs) in list {
                if obs.hard_ban {
                    if let Some(&i) = self.node_index.get(node) {
                        if whole_unit {
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
        let thr = self.threshold_of(m);
        for (i, nd) in self.nodes.iter().enumerate() {
            let fc = self.fail_count(&m.display, &nd.uname, &m.prim.meta, anonymous);
            // A fail count about to be cleared bans nothing (an anonymous
            // instance's other numbers would still ban the node there).
            // Looked up only for a count that would ban: the lookup walks
            // the node's history, and every unit asks for every node.
            let bans = fc > 0 && fc >= thr;
            if bans
                && (anonymous
                    || !fail_count_cleared(self.config, self.status, m.prim, &m.display, &nd.uname))
            {
                if whole_unit {
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
        bans_here
    }

    /// The member's migration-threshold: its own, its parent's, else the
    /// defaults. A resource with an ignored failure (on-fail=ignore) is
    /// never moved by migration-threshold.
    fn threshold_of(&self, m: &Member<'a>) -> i64 {
        let ignores_failures = self
            .history
            .get(&m.prim.id)
            .is_some_and(|l| l.iter().any(|(_, _, o)| o.failure_ignored));
        if ignores_failures {
            INFINITY + 1
        } else {
            m.prim
                .meta
                .migration_threshold
                .or(m.parent_threshold)
                .unwrap_or_else(|| self.migration_threshold(&m.prim.meta))
        }
    }

    /// Whether the member's failure is one configured with on-fail=demote.
    pub(super) fn demote_on_failure(&self, m: &Member<'a>) -> bool {
        m.current.iter().any(|(_, o)| {
            o.failed
                && m.prim.operations.iter().any(|op| {
                    Some(op.name.as_str()) == o.failed_op.as_deref()
                        && op.interval_ms == o.failed_interval_ms
                        && op.on_fail == Some(OnFail::Demote)
                })
        })
    }

    /// Whether a stop failed beyond recovery (not installed, invalid
    /// parameters...) where its node cannot be fenced: Pacemaker's
    /// check_recoverable then unmanages the resource, before on-fail and
    /// even on an unclean node, so nothing is scheduled for it.
    pub(super) fn stop_unrecoverable(&self, m: &Member<'a>) -> bool {
        m.current.iter().any(|(node, o)| {
            o.failed
                && o.failed_unrecoverable
                && o.failed_op.as_deref() == Some("stop")
                && !self.can_fence_named(node)
        })
    }

    /// Whether a failure left the member blocked (on-fail=block, or
    /// on-fail=fence without fencing).
    pub(super) fn blocked_by_failure(&self, m: &Member<'a>) -> bool {
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
}

/// The parameter digest Pacemaker expects in the history of operation
/// `op` of `p` (`op-digest`): the MD5 of the parameters as XML, the
/// resource's instance attributes plus, for a recurring operation, its
/// timeout. Computed only for a primitive without instance attributes
/// (their XML form, ordering and escaping, is not modelled here): `None`
/// means "not compared".
fn expected_digest(config: &ClusterConfig, p: &Primitive, op: &OpRecord) -> Option<String> {
    use md5::{Digest, Md5};
    if !p.params.is_empty() {
        return None;
    }
    let xml = if op.interval_ms == 0 {
        "<parameters/>".to_string()
    } else {
        let timeout_ms =
            super::transition::op_timeout_ms(config, Some(p), &op.operation, op.interval_ms);
        format!("<parameters CRM_meta_timeout=\"{timeout_ms}\"/>")
    };
    let sum = Md5::digest(format!(" {xml}\n").as_bytes());
    Some(sum.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether Pacemaker clears the fail count of resource `rsc` (as recorded)
/// on `node` before it checks migration-threshold: the last failure of a
/// start or monitor was recorded with other parameters than the resource
/// has now ("resource parameters have changed"), so it no longer bans the
/// node.
pub(super) fn fail_count_cleared(
    config: &ClusterConfig,
    status: &ClusterStatus,
    p: &Primitive,
    rsc: &str,
    node: &str,
) -> bool {
    let Some(st) = status.nodes.get(node) else {
        return false;
    };
    st.resources
        .iter()
        .filter(|h| h.id == rsc)
        .flat_map(|h| &h.ops)
        .filter(|o| o.id.ends_with("_last_failure_0"))
        .filter(|o| matches!(o.operation.as_str(), "start" | "monitor"))
        .any(|o| {
            let (Some(recorded), Some(expected)) =
                (o.digest.as_deref(), expected_digest(config, p, o))
            else {
                return false;
            };
            recorded != expected
        })
}

#[cfg(test)]
mod digest_tests {
    use super::*;
    use crate::scheduler::transition::tests::op;

    fn dummy() -> Primitive {
        let text = crate::config::fixtures::two_nodes(
            false,
            "",
            "[[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\n",
        );
        let config = crate::config::load_config_str(&text, "t.toml").unwrap();
        let Some(Resource::Primitive(p)) = config.resources.first() else {
            panic!("no primitive");
        };
        p.clone()
    }

    /// The digests Pacemaker 2.1.5 records for a Dummy without parameters:
    /// a start, and a 10 s monitor with the default 20 s timeout.
    #[test]
    fn digests_of_a_resource_without_parameters_are_pacemakers() {
        let config = ClusterConfig::default();
        let p = dummy();
        assert_eq!(
            expected_digest(&config, &p, &op("start", 0, 1, 0)).as_deref(),
            Some("f2317cad3d54cec5d7d7aa7d0bf35cf8")
        );
        assert_eq!(
            expected_digest(&config, &p, &op("monitor", 10_000, 2, 7)).as_deref(),
            Some("4811cef7f7f94e3a35a70be7916cb2fd")
        );
    }

    #[test]
    fn a_last_failure_recorded_with_other_parameters_clears_the_fail_count() {
        let config = ClusterConfig::default();
        let p = dummy();
        let mut status = ClusterStatus::default();
        crate::scheduler::transition::tests::online(&mut status, "node1");
        let mut failure = op("monitor", 10_000, 2, 7);
        failure.id = "db_last_failure_0".into();
        failure.digest = Some("f2317cad3d54cec5d7d7aa7d0bf35cf8".into());
        let history = ResourceHistory {
            id: "db".into(),
            class: None,
            provider: None,
            agent: None,
            container: None,
            ops: vec![failure.clone()],
        };
        status
            .nodes
            .get_mut("node1")
            .unwrap()
            .resources
            .push(history);
        assert!(fail_count_cleared(&config, &status, &p, "db", "node1"));
        failure.digest = Some("4811cef7f7f94e3a35a70be7916cb2fd".into());
        status.nodes.get_mut("node1").unwrap().resources[0].ops = vec![failure];
        assert!(!fail_count_cleared(&config, &status, &p, "db", "node1"));
    }
}
