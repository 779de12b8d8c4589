//! What the HTTP endpoint serves, taken by the event loop: an immutable
//! view (`Snapshot`) published through a `watch` channel every
//! `PUBLISH_EVERY`, so that no request ever touches the daemon's machines
//! or waits for the loop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::metrics::Counters;
use crate::api::StatusReport;
use crate::config::runtime::FencingMode;
use crate::daemon::report::{self, Derived};
use crate::model::{CloneChild, ClusterConfig, ClusterStatus, Primitive, Resource};

/// How often the event loop publishes a new view while HTTP is on: a
/// health check sees a promotion at most this late (HAProxy checks every
/// 2 s by default).
pub(in crate::daemon) const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// A view older than this is not answered from: the loop that publishes it
/// is held or hung, and what it says may no longer be true.
pub(in crate::daemon) const STALE_AFTER: Duration = Duration::from_secs(5);

/// One node's view of the cluster at one instant. What grows with the
/// number of resources (`report::derived`, the names, the metrics' facts)
/// is made on the HTTP thread, once per version of the replicated
/// document (`Inputs::computed`), never on the event loop.
#[derive(Debug, Clone)]
pub(in crate::daemon) struct Snapshot {
    pub taken: Instant,
    /// The report without its derived part: membership, quorum, DC,
    /// version, warnings.
    pub base: StatusReport,
    pub inputs: Arc<Inputs>,
    pub counters: Counters,
}

/// What the derived part is made of, shared by the snapshots of one
/// version of the replicated document.
#[derive(Debug)]
pub(in crate::daemon) struct Inputs {
    pub config: Option<Arc<ClusterConfig>>,
    pub status: ClusterStatus,
    /// This node's own fencing log (fences run without the daemon).
    pub fence_log: PathBuf,
    pub stonith_enabled: bool,
    /// node name -> (id, votes) from the node's own settings.
    pub votes: BTreeMap<String, (u16, u32)>,
    computed: OnceLock<Computed>,
}

/// The derived part, made once per `Inputs`.
#[derive(Debug)]
pub(in crate::daemon) struct Computed {
    pub derived: Derived,
    /// The resources an endpoint may name: a primitive, group or clone id
    /// -> the primitives it stands for.
    pub names: BTreeMap<String, Vec<String>>,
    /// What the metrics need beyond the report.
    pub facts: Facts,
}

impl Inputs {
    pub fn new(
        config: Option<Arc<ClusterConfig>>,
        status: ClusterStatus,
        fence_log: PathBuf,
        settings: &crate::config::Runtime,
    ) -> Self {
        Inputs {
            config,
            status,
            fence_log,
            stonith_enabled: settings.fencing == FencingMode::Enabled,
            votes: settings
                .nodes
                .iter()
                .map(|n| (n.name.clone(), (n.id, n.votes)))
                .collect(),
            computed: OnceLock::new(),
        }
    }

    /// Inputs whose derived part is already made (tests).
    #[cfg(test)]
    pub fn made(computed: Computed) -> Self {
        Inputs {
            config: None,
            status: ClusterStatus::default(),
            fence_log: PathBuf::new(),
            stonith_enabled: false,
            votes: BTreeMap::new(),
            computed: OnceLock::from(computed),
        }
    }

    pub fn computed(&self) -> &Computed {
        self.computed.get_or_init(|| {
            let config = self.config.as_deref();
            Computed {
                derived: report::derived(config, &self.status, &self.fence_log),
                names: config.map(names).unwrap_or_default(),
                facts: facts(config, &self.status, self.stonith_enabled, &self.votes),
            }
        })
    }
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
    pub fn computed(&self) -> &Computed {
        self.inputs.computed()
    }

    /// The whole report, as `paceline status --output json` prints it.
    pub fn report(&self) -> StatusReport {
        let d = self.computed().derived.clone();
        StatusReport {
            resources: d.resources,
            failed_actions: d.failed_actions,
            cli_constraints: d.cli_constraints,
            standby: d.standby,
            maintenance: d.maintenance,
            node_attributes: d.node_attributes,
            permanent_attributes: d.permanent_attributes,
            fencing_history: d.fencing_history,
            tickets: d.tickets,
            instances: d.instances,
            ..self.base.clone()
        }
    }

    /// Whether this node is a member of a quorate partition (what
    /// `/health` answers, and what every other endpoint requires).
    pub fn quorate_member(&self) -> bool {
        let m = &self.base.membership;
        m.quorum.quorate && m.members.contains(&m.node)
    }

    /// The nodes where the primitives RES stands for have one of `roles`
    /// (as `paceline status` names roles), or None when RES is unknown.
    pub fn nodes_with_role(&self, res: &str, roles: &[&str]) -> Option<Vec<String>> {
        let computed = self.computed();
        let primitives = computed.names.get(res)?;
        Some(
            computed
                .derived
                .resources
                .iter()
                .filter(|r| primitives.contains(&r.id) && roles.contains(&r.role.as_str()))
                .flat_map(|r| r.nodes.iter().cloned())
                .collect(),
        )
    }
}

/// The event loop's end of the channel.
pub(in crate::daemon) struct Publisher {
    tx: watch::Sender<Option<Arc<Snapshot>>>,
    last: Option<Instant>,
    /// The inputs of the document version last published.
    pub inputs: Option<(crate::store::Version, Arc<Inputs>)>,
    /// The configuration of the last (admin_epoch, epoch) published: it is
    /// copied only when it changes.
    pub config: Option<(ConfigKey, Option<Arc<ClusterConfig>>)>,
}

/// (admin_epoch, epoch) of the document: a configuration's identity.
pub(in crate::daemon) type ConfigKey = (u64, u64);

impl Publisher {
    pub fn new() -> (Self, watch::Receiver<Option<Arc<Snapshot>>>) {
        let (tx, rx) = watch::channel(None);
        let publisher = Publisher {
            tx,
            last: None,
            inputs: None,
            config: None,
        };
        (publisher, rx)
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
    status: &ClusterStatus,
    stonith_enabled: bool,
    votes: &BTreeMap<String, (u16, u32)>,
) -> Facts {
    let mut facts = Facts {
        stonith_enabled,
        votes: votes.clone(),
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
