//! Node availability: what each node is (online, offline, unclean,
//! pending; standby, maintenance, shutting down), its attributes as rules
//! see them, and whether an unclean node can be fenced now.

use super::plan::Ctx;
use super::rules;
use crate::model::*;

/// Node usability as the scheduler sees it.
#[derive(Debug, Clone)]
pub(super) struct NodeView {
    pub(super) uname: NodeId,
    pub(super) condition: NodeCondition,
    pub(super) standby: bool,
    pub(super) maintenance: bool,
    pub(super) shutdown: bool,
    pub(super) attrs: Attributes,
    pub(super) unclean_reason: String,
    /// In our membership (corosync and controller up): such a node can be
    /// fenced even without quorum.
    pub(super) in_membership: bool,
    /// Unclean before any failure was looked at (as the status says, or
    /// thought to hold an active resource): the fencing clears what failed
    /// there, so those failures are not recovered.
    pub(super) unclean_as_found: bool,
}

impl NodeView {
    pub(super) fn can_host(&self) -> bool {
        self.condition == NodeCondition::Online
            && !self.standby
            && !self.shutdown
            && !self.maintenance
    }
    /// Whether history on this node still counts as something running.
    pub(super) fn history_counts(&self) -> bool {
        matches!(
            self.condition,
            NodeCondition::Online | NodeCondition::Unclean | NodeCondition::Pending
        )
    }
}

/// Every node of the configuration, then any only the status knows, as the
/// scheduler sees it at `now`.
pub(super) fn node_views(
    config: &ClusterConfig,
    status: &ClusterStatus,
    now: i64,
) -> Vec<NodeView> {
    let mut names: Vec<&str> = config.nodes.iter().map(|n| n.uname.as_str()).collect();
    for k in status.nodes.keys() {
        if !names.contains(&k.as_str()) {
            names.push(k);
        }
    }
    names
        .into_iter()
        .map(|name| node_view(config, status, name, now))
        .collect()
}

fn node_view(config: &ClusterConfig, status: &ClusterStatus, name: &str, now: i64) -> NodeView {
    let cfg = config.node(name);
    let st = status.nodes.get(name);
    let attrs = node_attributes(config, status, name, now);
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
    NodeView {
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
        unclean_as_found: condition == NodeCondition::Unclean,
    }
}

/// A node's attributes as rules see them: its configured ones (or, with
/// rule-bearing sets, those of the sets that hold at `now`), `#id`,
/// `#is_dc`, then the permanent ones agents set, then its transient
/// attributes.
fn node_attributes(
    config: &ClusterConfig,
    status: &ClusterStatus,
    name: &str,
    now: i64,
) -> Attributes {
    let cfg = config.node(name);
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
    // Permanent attributes agents set (`crm_attribute -l forever`) are in
    // Pacemaker's `<nodes>` beside the administrator's; transient ones
    // (the status section's) are applied last, over both.
    if let Some(permanent) = status.permanent_attributes.get(name) {
        attrs.extend(permanent.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(st) = status.nodes.get(name) {
        for (k, v) in &st.transient_attributes {
            attrs.insert(k.clone(), v.clone());
        }
    }
    attrs
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

/// Whether no-quorum-policy=suicide makes the partition fence itself.
pub(super) fn suicide_due(config: &ClusterConfig, status: &ClusterStatus) -> bool {
    config.properties.no_quorum_policy == NoQuorumPolicy::Suicide
        && config.properties.stonith_enabled
        && !status.have_quorum
        && status.no_quorum_panic
}

/// no-quorum-policy=suicide without quorum: every node of the partition
/// fences itself. Pacemaker applies it only if the cluster ever had
/// quorum (no-quorum-panic), else it falls back to "stop".
pub(super) fn apply_suicide(
    config: &ClusterConfig,
    status: &ClusterStatus,
    nodes: &mut [NodeView],
) {
    if !suicide_due(config, status) {
        return;
    }
    for nd in nodes.iter_mut() {
        if nd.condition == NodeCondition::Online {
            nd.condition = NodeCondition::Unclean;
            nd.unclean_reason = "cluster does not have quorum".to_string();
        }
    }
}

impl Ctx<'_> {
    /// Whether node `nd` can be fenced (Pacemaker's pe_can_fence): fencing
    /// is on and has a device, and the cluster has quorum (or its policy
    /// is to ignore it, or to commit suicide), or the node is in our
    /// membership.
    pub(super) fn can_fence(&self, nd: &NodeView) -> bool {
        self.config.properties.stonith_enabled
            && !self.config.properties.no_fence_device
            && (self.quorum_ok() || suicide_due(self.config, self.status) || nd.in_membership)
    }

    /// `can_fence` by name; an unknown node cannot be fenced.
    pub(super) fn can_fence_named(&self, node: &str) -> bool {
        self.node_index
            .get(node)
            .is_some_and(|&i| self.can_fence(&self.nodes[i]))
    }

    pub(super) fn quorum_ok(&self) -> bool {
        self.status.have_quorum || self.config.properties.no_quorum_policy == NoQuorumPolicy::Ignore
    }
}

impl Ctx<'_> {
    /// A managed resource the history shows active on a cleanly offline
    /// node (say a failed monitor with no stop after it): Pacemaker cannot
    /// know it stopped, so the node is fenced ("thought to be active
    /// there") before the resource is recovered elsewhere. Nodes in
    /// maintenance and unmanaged resources are left alone.
    pub(super) fn fence_nodes_thought_active(&mut self) {
        if !self.config.properties.stonith_enabled {
            return;
        }
        let mut owners: Vec<(&Primitive, Option<&ResourceMeta>, Option<&Clone>)> = Vec::new();
        for r in &self.config.resources {
            match r {
                Resource::Primitive(p) => owners.push((p, None, None)),
                Resource::Group(g) => {
                    owners.extend(g.members.iter().map(|p| (p, Some(&g.meta), None)))
                }
                Resource::Clone(c) => match &c.child {
                    CloneChild::Primitive(p) => owners.push((p, Some(&c.meta), Some(c))),
                    CloneChild::Group(g) => {
                        owners.extend(g.members.iter().map(|p| (p, Some(&g.meta), Some(c))))
                    }
                },
            }
        }
        for (prim, parent, clone) in owners {
            if !self.managed(&prim.meta, parent) {
                continue;
            }
            let Some(list) = self.history.get(prim.id.as_str()) else {
                continue;
            };
            for (node, rid, obs) in list {
                let Some(&i) = self.node_index.get(node) else {
                    continue;
                };
                let nd = &self.nodes[i];
                if obs.role < Role::Started
                    || nd.condition != NodeCondition::Offline
                    || nd.maintenance
                {
                    continue;
                }
                // An anonymous instance is known by the instance it maps to.
                let shown = match clone {
                    Some(c) if !c.globally_unique => format!("{}:0", prim.id),
                    _ => rid.clone(),
                };
                let nd = &mut self.nodes[i];
                nd.condition = NodeCondition::Unclean;
                nd.unclean_as_found = true;
                nd.unclean_reason = format!("{shown} is thought to be active there");
            }
        }
    }

    /// Failures on a node that was unclean as found are ignored (Pacemaker
    /// treats them as on-fail=ignore: the fencing cleans them up), so the
    /// resource is moved, not recovered. A failure that itself makes its
    /// node unclean (a failed stop, on-fail=fence) still counts, and so
    /// does a stop that failed where nobody can fence: Pacemaker's
    /// check_recoverable blocks the resource before on-fail is looked at.
    pub(super) fn forget_failures_on_unclean(&mut self) {
        let unfenceable: Vec<bool> = self.nodes.iter().map(|nd| !self.can_fence(nd)).collect();
        let unclean_from = self.unclean_from();
        for list in self.history.values_mut() {
            for (node, rid, obs) in list.iter_mut() {
                let Some(&i) = self.node_index.get(node) else {
                    continue;
                };
                let stuck_stop = obs.failed_op.as_deref() == Some("stop")
                    && obs.failed_unrecoverable
                    && unfenceable[i];
                // Pacemaker reads a node's history in order: once a
                // failure there has made it unclean, later resources'
                // failures are ignored as well.
                let after = unclean_from[i].is_some_and(|from| {
                    lrm_position(self.status, node, rid).is_some_and(|at| at > from)
                });
                if (self.nodes[i].unclean_as_found || after) && !stuck_stop {
                    obs.failed = false;
                }
            }
        }
    }
}

/// Where resource history `rid` comes in `node`'s status (the order
/// Pacemaker unpacks it in).
fn lrm_position(status: &ClusterStatus, node: &str, rid: &str) -> Option<usize> {
    status
        .nodes
        .get(node)?
        .resources
        .iter()
        .position(|h| h.id == rid)
}

impl Ctx<'_> {
    /// For each node a failure made unclean: the status position of the
    /// first resource whose failure did.
    fn unclean_from(&self) -> Vec<Option<usize>> {
        let prims = super::units::primitives_by_id(self.config);
        let mut from: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for (rsc, list) in &self.history {
            for (node, rid, obs) in list {
                let Some(&i) = self.node_index.get(node) else {
                    continue;
                };
                if self.nodes[i].unclean_as_found
                    || self.nodes[i].condition != NodeCondition::Unclean
                    || !super::failures::fences_its_node(self.config, prims.get(rsc.as_str()), obs)
                {
                    continue;
                }
                if let Some(at) = lrm_position(self.status, node, rid) {
                    from[i] = Some(from[i].map_or(at, |f| f.min(at)));
                }
            }
        }
        from
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{ClusterStatus, ResourceHistory, rc};
    use crate::scheduler::transition::tests::{lost, online, op};
    use crate::scheduler::{Verb, schedule};

    fn config(managed: bool) -> crate::model::ClusterConfig {
        let resources = format!(
            "[[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = {{ is-managed = {managed} }}\n"
        );
        let text = crate::config::fixtures::two_nodes(true, "", &resources);
        crate::config::load_config_str(&text, "t.toml").unwrap()
    }

    /// node2 left cleanly (expected down), but its history still shows db
    /// active there: a failed monitor and no stop after it.
    fn status() -> ClusterStatus {
        let mut status = ClusterStatus {
            have_quorum: true,
            ..ClusterStatus::default()
        };
        online(&mut status, "node1");
        lost(&mut status, "node2");
        let st = status.nodes.get_mut("node2").unwrap();
        st.expected = Some("down".into());
        st.join = Some("down".into());
        st.resources.push(ResourceHistory {
            id: "db".into(),
            class: None,
            provider: None,
            agent: None,
            container: None,
            ops: vec![op("monitor", 10_000, 3, rc::NOT_RUNNING)],
        });
        status
    }

    fn verbs(managed: bool) -> Vec<(Verb, String)> {
        schedule(&config(managed), &status(), 2_000)
            .changes
            .into_iter()
            .map(|c| (c.verb, c.subject))
            .collect()
    }

    #[test]
    fn an_offline_node_with_a_managed_resource_thought_active_is_fenced() {
        let got = verbs(true);
        assert!(got.contains(&(Verb::Fence, "node2".into())), "{got:?}");
        // The fencing clears the failure: db moves, it is not recovered.
        assert_eq!(
            got,
            vec![(Verb::Fence, "node2".into()), (Verb::Move, "db".into())]
        );
    }

    #[test]
    fn an_unmanaged_resource_thought_active_fences_nobody() {
        let got = verbs(false);
        assert!(!got.iter().any(|(v, _)| *v == Verb::Fence), "{got:?}");
    }
}
