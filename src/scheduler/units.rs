//! What gets placed: units (a primitive, a group, one clone instance) and
//! their members (primitives) with the meta attributes that govern them,
//! resolved through parent, rsc_defaults (with rules) and cluster options.

use std::collections::HashMap;

use super::history::Observed;
use super::plan::Ctx;
use super::rules;
use crate::model::*;

/// One primitive as it will be scheduled (a clone instance has its own).
#[derive(Debug, Clone)]
pub(super) struct Member<'a> {
    pub(super) display: String,
    pub(super) prim: &'a Primitive,
    /// Nodes where it is active now, with what the history says.
    pub(super) current: Vec<(NodeId, Observed)>,
    pub(super) target_role: Option<Role>,
    pub(super) managed: bool,
    /// What to do when it is found active on several nodes (its own
    /// setting, else its parent's, else rsc_defaults).
    pub(super) multiple_active: MultipleActive,
    /// The parent group says multiple-active=block: one multiply active
    /// member blocks the whole group.
    pub(super) parent_blocks: bool,
    /// migration-threshold inherited from its group or clone.
    pub(super) parent_threshold: Option<i64>,
}

/// What gets placed as a whole: a primitive, a group, or a clone instance.
#[derive(Debug, Clone)]
pub(super) struct Unit<'a> {
    /// Constraint id (primitive, group or clone id).
    pub(super) id: String,
    pub(super) members: Vec<Member<'a>>,
    pub(super) priority: i64,
    pub(super) stickiness: Score,
    pub(super) clone: Option<&'a Clone>,
    #[allow(dead_code)]
    pub(super) instance: Option<u32>,
    pub(super) placed: Option<NodeId>,
    /// Members that can run (prefix of the group).
    pub(super) runnable: usize,
    /// Placed, but the partition lacks quorum to act on it.
    pub(super) no_quorum: bool,
    /// Its placement has been decided (placed or not).
    pub(super) done: bool,
    /// A promotable clone instance chosen to run Promoted.
    pub(super) promote: bool,
    /// Its node scores when it was placed (Pacemaker's allowed-node
    /// scores after its assignment), which a chain of colocations still
    /// merges.
    pub(super) placed_scores: Vec<Score>,
}

impl<'a> Unit<'a> {
    /// A unit not placed yet.
    pub(super) fn new(
        id: String,
        priority: i64,
        stickiness: Score,
        members: Vec<Member<'a>>,
        clone: Option<&'a Clone>,
        instance: Option<u32>,
    ) -> Self {
        Unit {
            id,
            members,
            priority,
            stickiness,
            clone,
            instance,
            placed: None,
            runnable: 0,
            no_quorum: false,
            done: false,
            promote: false,
            placed_scores: Vec::new(),
        }
    }
}

impl Unit<'_> {
    /// Where the unit is active: its first active member's node. A group
    /// is active where any member is (Pacemaker adds each member's node to
    /// its parent's running_on), also when its first member is stopped.
    pub(super) fn current_node(&self) -> Option<&NodeId> {
        self.members
            .iter()
            .find_map(|m| m.current.first().map(|(n, _)| n))
    }
}

/// A failure of `prim` found in `current` whose operation is configured
/// with on-fail=stop.
pub(super) fn stopped_by_failure(prim: &Primitive, current: &[(NodeId, Observed)]) -> bool {
    current.iter().any(|(_, ob)| {
        ob.failed
            && prim.operations.iter().any(|op| {
                Some(op.name.as_str()) == ob.failed_op.as_deref()
                    && op.interval_ms == ob.failed_interval_ms
                    && op.on_fail == Some(OnFail::Stop)
            })
    })
}

/// Strips a clone instance suffix ("rsc:2" -> "rsc").
pub(super) fn base_id(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((b, n)) if n.chars().all(|c| c.is_ascii_digit()) => b,
        _ => id,
    }
}

pub(super) fn instance_of(id: &str) -> Option<u32> {
    id.rsplit_once(':').and_then(|(_, n)| n.parse().ok())
}

/// Whether a resource with `meta` under `parents` (nearest first) is
/// managed as configured: its own setting, else the nearest parent's, else
/// rsc_defaults and the cluster options.
pub(super) fn configured_managed(
    config: &ClusterConfig,
    meta: &ResourceMeta,
    parents: &[Option<&ResourceMeta>],
) -> bool {
    // Pacemaker unmanages every resource while fencing is enabled
    // without a device to fence with ("Resource start-up disabled").
    if config.properties.maintenance_mode || config.properties.no_fence_device {
        return false;
    }
    let inherited = |get: fn(&ResourceMeta) -> Option<bool>| {
        get(meta).or_else(|| parents.iter().flatten().find_map(|p| get(p)))
    };
    if inherited(|m| m.maintenance).unwrap_or(false) {
        return false;
    }
    inherited(|m| m.is_managed)
        .or(config.rsc_defaults_meta.is_managed)
        .or(config.properties.is_managed_default)
        .unwrap_or(true)
}

/// Every primitive (also inside groups and clones) by id, with its
/// parents' meta (nearest first: group, clone).
pub(super) fn parents_by_id(config: &ClusterConfig) -> HashMap<&str, [Option<&ResourceMeta>; 2]> {
    let mut out = HashMap::new();
    for r in &config.resources {
        match r {
            Resource::Primitive(p) => {
                out.insert(p.id.as_str(), [None, None]);
            }
            Resource::Group(g) => {
                for p in &g.members {
                    out.insert(p.id.as_str(), [Some(&g.meta), None]);
                }
            }
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) => {
                    out.insert(p.id.as_str(), [Some(&c.meta), None]);
                }
                CloneChild::Group(g) => {
                    for p in &g.members {
                        out.insert(p.id.as_str(), [Some(&g.meta), Some(&c.meta)]);
                    }
                }
            },
        }
    }
    out
}

/// Every primitive (also inside groups and clones) by id.
pub(super) fn primitives_by_id(config: &ClusterConfig) -> HashMap<&str, &Primitive> {
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

impl<'a> Ctx<'a> {
    pub(super) fn stickiness_of(&self, meta: &ResourceMeta, clone: bool) -> Score {
        meta.stickiness
            .or(self.config.rsc_defaults_meta.stickiness)
            .or(self.config.properties.default_resource_stickiness)
            .unwrap_or(if clone { Score::new(1) } else { Score::ZERO })
    }

    pub(super) fn managed(&self, meta: &ResourceMeta, parent: Option<&ResourceMeta>) -> bool {
        configured_managed(self.config, meta, &[parent])
    }

    pub(super) fn migration_threshold(&self, meta: &ResourceMeta) -> i64 {
        meta.migration_threshold
            .or(self.config.rsc_defaults_meta.migration_threshold)
            .unwrap_or(INFINITY)
    }

    /// A value from the rsc_defaults sets whose rules hold for `prim`
    /// (resource and date expressions), the highest-scored set first.
    /// Rule-less sets are already in `rsc_defaults` and used elsewhere.
    pub(super) fn rsc_default_for(&self, prim: &Primitive, name: &str) -> Option<&'a str> {
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

    pub(super) fn member(
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
        // A failure whose operation says on-fail=stop sets the next role
        // to Stopped when Pacemaker reads the history (unpack's
        // action_fail_stop): it is placed nowhere, so it neither counts on
        // a node nor pulls what is colocated with it.
        let target_role = if stopped_by_failure(prim, &current) {
            Some(Role::Stopped)
        } else {
            target_role
        };
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
            .or(self.config.rsc_defaults_meta.multiple_active)
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

    pub(super) fn active_history(&self, id: &str, exact: Option<&str>) -> Vec<(NodeId, Observed)> {
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

    /// One unit per primitive and group, the instances of each clone.
    pub(super) fn build_units(&mut self) -> Vec<Unit<'a>> {
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
                    units.push(Unit::new(
                        p.id.clone(),
                        p.meta.priority.unwrap_or(0),
                        self.stickiness_of(&p.meta, false),
                        vec![m],
                        None,
                        None,
                    ));
                }
                // An empty group places nothing (Pacemaker ignores it); a
                // unit without members would have no first member to read.
                Resource::Group(g) if g.members.is_empty() => {}
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
                    units.push(Unit::new(
                        g.id.clone(),
                        g.meta.priority.unwrap_or(0),
                        self.stickiness_of(&g.meta, false),
                        members,
                        None,
                        None,
                    ));
                }
                Resource::Clone(c) => units.extend(self.clone_units(c)),
            }
        }
        units
    }
}
