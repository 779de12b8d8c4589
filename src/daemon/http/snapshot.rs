//! What the HTTP endpoint serves, taken by the event loop: an immutable
//! view (`Snapshot`) published through a `watch` channel every
//! `PUBLISH_EVERY`, so that no request ever touches the daemon's machines
//! or waits for the loop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::metrics::Counters;
use crate::api::StatusReport;
use crate::config::runtime::FencingMode;
use crate::model::{CloneChild, ClusterConfig, Primitive, Resource};

/// How often the event loop publishes a new view while HTTP is on: a
/// health check sees a promotion at most this late (HAProxy checks every
/// 2 s by default).
pub(in crate::daemon) const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// A view older than this is not answered from: the loop that publishes it
/// is held or hung, and what it says may no longer be true.
pub(in crate::daemon) const STALE_AFTER: Duration = Duration::from_secs(5);

/// One node's view of the cluster at one instant.
#[derive(Debug, Clone)]
pub(in crate::daemon) struct Snapshot {
    pub taken: Instant,
    /// What `paceline status --output json` prints.
    pub report: StatusReport,
    /// The resources an endpoint may name: a primitive, group or clone id
    /// -> the primitives it stands for.
    pub names: BTreeMap<String, Vec<String>>,
    /// What the metrics need beyond the report.
    pub facts: Facts,
    pub counters: Counters,
}

/// Configuration and status facts of the metrics, per primitive and node.
#[derive(Debug, Clone, Default)]
pub(in crate::daemon) struct Facts {
    pub stonith_enabled: bool,
    /// primitive -> (clone, group) it belongs to ("" when none).
    pub parents: BTreeMap<String, (String, String)>,
    /// primitive -> migration-threshold (Pacemaker's default: INFINITY).
    pub migration_threshold: BTreeMap<String, i64>,
    /// (node, primitive) -> fail count, where not 0.
    pub fail_counts: BTreeMap<(String, String), i64>,
    /// primitive -> is-managed.
    pub managed: BTreeMap<String, bool>,
    /// node name -> (id, votes) from the node's own settings.
    pub votes: BTreeMap<String, (u16, u32)>,
}

impl Snapshot {
    /// Whether this node is a member of a quorate partition (what
    /// `/health` answers, and what every other endpoint requires).
    pub fn quorate_member(&self) -> bool {
        let m = &self.report.membership;
        m.quorum.quorate && m.members.contains(&m.node)
    }

    /// The nodes where the primitives RES stands for have `role` (as
    /// `paceline status` names roles), or None when RES is unknown.
    pub fn nodes_with_role(&self, res: &str, roles: &[&str]) -> Option<Vec<&str>> {
        let primitives = self.names.get(res)?;
        Some(
            self.report
                .resources
                .iter()
                .filter(|r| primitives.contains(&r.id) && roles.contains(&r.role.as_str()))
                .flat_map(|r| r.nodes.iter().map(String::as_str))
                .collect(),
        )
    }
}

/// The event loop's end of the channel.
pub(in crate::daemon) struct Publisher {
    tx: watch::Sender<Option<Arc<Snapshot>>>,
    last: Option<Instant>,
}

impl Publisher {
    pub fn new() -> (Self, watch::Receiver<Option<Arc<Snapshot>>>) {
        let (tx, rx) = watch::channel(None);
        (Publisher { tx, last: None }, rx)
    }

    /// Whether a new view is due.
    pub fn due(&self, now: Instant) -> bool {
        self.last
            .is_none_or(|last| now.duration_since(last) >= PUBLISH_EVERY)
    }

    pub fn publish(&mut self, snapshot: Snapshot) {
        self.last = Some(snapshot.taken);
        self.tx.send_replace(Some(Arc::new(snapshot)));
    }
}

/// The names an endpoint takes: every primitive, group and clone id.
pub(in crate::daemon) fn names(config: &ClusterConfig) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let ids = |ps: &[Primitive]| ps.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    for r in &config.resources {
        match r {
            Resource::Primitive(p) => {
                out.insert(p.id.clone(), vec![p.id.clone()]);
            }
            Resource::Group(g) => {
                out.insert(g.id.clone(), ids(&g.members));
                out.extend(g.members.iter().map(|p| (p.id.clone(), vec![p.id.clone()])));
            }
            Resource::Clone(c) => {
                let members = match &c.child {
                    CloneChild::Primitive(p) => vec![p.clone()],
                    CloneChild::Group(g) => {
                        out.insert(g.id.clone(), ids(&g.members));
                        g.members.clone()
                    }
                };
                out.insert(c.id.clone(), ids(&members));
                out.extend(members.iter().map(|p| (p.id.clone(), vec![p.id.clone()])));
            }
        }
    }
    out
}

/// The facts of the metrics from the configuration and the replicated status.
pub(in crate::daemon) fn facts(
    config: Option<&ClusterConfig>,
    status: &crate::model::ClusterStatus,
    settings: &crate::config::Runtime,
) -> Facts {
    let mut facts = Facts {
        stonith_enabled: settings.fencing == FencingMode::Enabled,
        votes: settings
            .nodes
            .iter()
            .map(|n| (n.name.clone(), (n.id, n.votes)))
            .collect(),
        ..Facts::default()
    };
    let Some(config) = config else {
        return facts;
    };
    let defaults = &config.rsc_defaults_meta;
    for (p, clone, group) in primitives_with_parents(config) {
        let threshold = p
            .meta
            .migration_threshold
            .or(defaults.migration_threshold)
            .unwrap_or(crate::model::score::INFINITY);
        facts.migration_threshold.insert(p.id.clone(), threshold);
        let managed = p.meta.is_managed.or(defaults.is_managed).unwrap_or(true);
        facts.managed.insert(p.id.clone(), managed);
        facts
            .parents
            .insert(p.id.clone(), (clone.to_string(), group.to_string()));
        for (node, state) in &status.nodes {
            let count = state.fail_count(&p.id);
            if count != 0 {
                facts
                    .fail_counts
                    .insert((node.clone(), p.id.clone()), count);
            }
        }
    }
    facts
}

/// Every primitive with the clone and the group it is in ("" for none).
fn primitives_with_parents(config: &ClusterConfig) -> Vec<(&Primitive, &str, &str)> {
    let mut out = Vec::new();
    for r in &config.resources {
        match r {
            Resource::Primitive(p) => out.push((p, "", "")),
            Resource::Group(g) => out.extend(g.members.iter().map(|p| (p, "", g.id.as_str()))),
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) => out.push((p, c.id.as_str(), "")),
                CloneChild::Group(g) => {
                    out.extend(g.members.iter().map(|p| (p, c.id.as_str(), g.id.as_str())))
                }
            },
        }
    }
    out
}
