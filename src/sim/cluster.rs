//! The whole cluster in one process: per node the real membership machine
//! (through `MembershipSim`, over the faulty virtual network) and the node
//! core the daemon runs (`node::Node`: store, controller and the glue
//! between them), plus simulated resource agents
//! (ground truth of what runs where, action delays, failures) and simulated
//! fence devices (delay, failure; a successful fence powers the target
//! off, so whatever ran there really stops). Virtual time, seeded RNG.
//!
//! Store and controller traffic (documents, patches, action requests and
//! results) is delivered reliably while two nodes are connected (the
//! daemon's transport retransmits), with the network's delays; membership
//! heartbeats see the network's loss and duplication too.
//!
//! The invariant checker watches the ground truth: a non-clone resource is
//! never active on two nodes; nothing is started on a node while a copy
//! still runs on a node that was lost (not yet powered off); a partition
//! without quorum starts nothing; an acknowledged config is never lost.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

use super::acknowledged::Acknowledged;
use super::membership::{MembershipSim, SimOptions};
use super::net::NetFaults;
use super::rng::SimRng;
use crate::config::runtime::ClusterNode;
use crate::config::{ConfigError, Runtime, as_ms, load_node_str};
use crate::controller::{
    ActionRequest, ActionResult, Command as Ctl, Controller, FenceOutcome, FenceRequest, Input,
    NodeReport, Notice, StatusPatch,
};
use crate::model::{CloneChild, ClusterConfig, ClusterStatus, NoQuorumPolicy, Resource, Role, rc};
use crate::node::executor::{Admission, Intake, result_recipients};
use crate::node::settings::quorum_config;
use crate::node::shutdown;
use crate::node::{self, Event, Message, Node, NodeConfig, NodeSettings};
use crate::scheduler::transition::primitive_of;
use crate::store::{Document, Version};
use paceline_fencing::config::FencingSection;

type Doc = Document<ClusterConfig, ClusterStatus>;
type NodeMsg = Message<ClusterConfig>;

/// Seconds since the epoch at virtual time zero (for histories).
const WALL_BASE: i64 = 1_700_000_000;
const TICK: Duration = Duration::from_millis(100);
const SLICE: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub seed: u64,
    /// Faults of the membership network (also the delay range of the
    /// reliable store/controller traffic).
    pub faults: NetFaults,
    /// Range of an agent action's duration, in ms.
    pub action_ms: (u64, u64),
    /// Time a fence device takes once its delay has passed.
    pub fence_ms: u64,
    /// How long a rebooted node stays down.
    pub reboot_ms: u64,
    pub result_grace_ms: u64,
    pub fence_retry_ms: u64,
    pub fence_retry_max_ms: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            seed: 0,
            faults: NetFaults {
                min_delay: Duration::from_micros(200),
                max_delay: Duration::from_millis(3),
                ..NetFaults::default()
            },
            action_ms: (20, 300),
            fence_ms: 500,
            reboot_ms: 8_000,
            result_grace_ms: 2_000,
            fence_retry_ms: 2_000,
            fence_retry_max_ms: 16_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the simulator needs node ids 1..=N in order; {0}")]
    NodeIds(String),
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub at: Duration,
    pub text: String,
}

#[derive(Debug)]
enum Ev {
    /// A node core's message to another (store traffic, status patches).
    Message {
        from: u16,
        to: u16,
        message: Box<NodeMsg>,
    },
    Persisted {
        node: u16,
        incarnation: u64,
        version: Version,
    },
    ActionArrives {
        node: u16,
        from: u16,
        request: ActionRequest,
    },
    ActionDone {
        node: u16,
        from: u16,
        incarnation: u64,
        request: ActionRequest,
    },
    ResultArrives {
        from: u16,
        to: u16,
        result: ActionResult,
    },
    Cancel {
        node: u16,
        instance: String,
        interval_ms: u64,
    },
    MonitorDue {
        node: u16,
        incarnation: u64,
        instance: String,
        interval_ms: u64,
        id: u64,
    },
    FenceDone {
        requester: u16,
        incarnation: u64,
        request: FenceRequest,
    },
    ReportRequested {
        node: u16,
        from: u16,
    },
    ReportArrives {
        from: u16,
        to: u16,
        report: NodeReport,
    },
    PowerOn(u16),
}

#[derive(Debug, Clone)]
struct Monitor {
    id: u64,
    resource: String,
    last_rc: i32,
}

struct SimNode {
    name: String,
    up: bool,
    incarnation: u64,
    /// The node core the daemon runs: store, controller and their glue.
    node: Node<ClusterConfig>,
    settings: NodeSettings,
    /// What survives a reboot: the last persisted document.
    disk: Doc,
    view: Option<(u64, BTreeSet<u16>, bool)>,
    /// What the executor does around running the DC's requests, as the
    /// daemon's does: each once, one resource's one-shots one at a time,
    /// from the DC it follows only, and what it did for a DC's report.
    intake: Intake<u16>,
    /// Who asked for each recurring monitor.
    monitor_owner: BTreeMap<u64, u16>,
    monitors: BTreeMap<(String, u64), Monitor>,
    leaving: bool,
}

enum Work {
    Ctl(u16, Input),
    Node(u16, Vec<node::Command<ClusterConfig>>),
}

pub struct ClusterSim {
    pub options: ClusterOptions,
    pub config: ClusterConfig,
    pub membership: MembershipSim,
    rng: SimRng,
    now: Duration,
    seq: u64,
    queue: BinaryHeap<Reverse<(Duration, u64, usize)>>,
    events: BTreeMap<usize, Ev>,
    next_event: usize,
    nodes: BTreeMap<u16, SimNode>,
    names: BTreeMap<String, u16>,
    /// Ground truth: (node, primitive) -> role while active.
    truth: BTreeMap<(u16, String), Role>,
    clones: BTreeSet<String>,
    promotable: BTreeSet<String>,
    /// Each member of a (not cloned) group after the first: the member
    /// before it, whose start must be complete when it starts.
    group_predecessor: BTreeMap<String, String>,
    /// Starts begun and not yet answered: (node, primitive).
    starting: BTreeSet<(u16, String)>,
    /// promoted-max of each promotable clone's primitive.
    promoted_max: BTreeMap<String, u32>,
    fence_delay_ms: BTreeMap<String, u64>,
    fence_broken: BTreeSet<String>,
    start_broken: BTreeSet<(String, String)>,
    next_tick: Duration,
    work: VecDeque<Work>,
    /// Config generations acknowledged to a client, and requests in flight.
    acked: Vec<u64>,
    requests: BTreeMap<u64, u64>,
    next_request: u64,
    /// Status requests (cleanups) in flight: what each asked.
    status_requests: BTreeMap<u64, String>,
    /// The documents each node persisted, to check what a DC acts on.
    acknowledged: Acknowledged,
    pub violations: Vec<String>,
    pub log: Vec<LogLine>,
}

fn primitives_of(config: &ClusterConfig) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut clones = BTreeSet::new();
    let mut promotable = BTreeSet::new();
    for r in &config.resources {
        if let Resource::Clone(c) = r {
            let ids: Vec<String> = match &c.child {
                CloneChild::Primitive(p) => vec![p.id.clone()],
                CloneChild::Group(g) => g.members.iter().map(|m| m.id.clone()).collect(),
            };
            for id in ids {
                if c.promotable {
                    promotable.insert(id.clone());
                }
                clones.insert(id);
            }
        }
    }
    (clones, promotable)
}

fn group_predecessors(config: &ClusterConfig) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in &config.resources {
        if let Resource::Group(g) = r {
            for pair in g.members.windows(2) {
                out.insert(pair[1].id.clone(), pair[0].id.clone());
            }
        }
    }
    out
}

/// Generation of a simulated config change (an rsc_defaults entry the
/// scheduler ignores).
const GENERATION: &str = "sim-generation";

fn generation(config: &ClusterConfig) -> u64 {
    config
        .rsc_defaults
        .get(GENERATION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The node core's settings as the daemon builds them, with the
/// simulator's controller timers (`ClusterOptions`); its fence devices are
/// always ready, so the controller does not wait for a readiness report.
fn sim_settings(runtime: &Runtime, own: &ClusterNode, options: &ClusterOptions) -> NodeSettings {
    let mut settings = NodeSettings::from_runtime(runtime, own);
    settings.controller.result_grace_ms = options.result_grace_ms;
    settings.controller.fence_retry_ms = options.fence_retry_ms;
    settings.controller.fence_retry_max_ms = options.fence_retry_max_ms;
    settings.controller.require_fencing_ready = false;
    settings
}

/// The delay a simulated fence of each target waits: the largest of its
/// first level's devices' delays plus `[fencing] delay`.
fn fence_delays(fencing: &FencingSection) -> BTreeMap<String, u64> {
    let device_delay: BTreeMap<&str, u64> = fencing
        .devices
        .iter()
        .map(|d| (d.id.as_str(), d.delay.map_or(0, as_ms)))
        .collect();
    let global = fencing.delay.map_or(0, as_ms);
    let mut out = BTreeMap::new();
    for level in fencing.levels.iter().filter(|l| l.index == 1) {
        let ms = level
            .devices
            .iter()
            .filter_map(|d| device_delay.get(d.as_str()))
            .max()
            .copied()
            .unwrap_or(0);
        out.insert(level.target.clone(), ms + global);
    }
    out
}

impl ClusterSim {
    /// Builds the cluster of a TOML configuration; every node boots at 0.
    pub fn new(config_text: &str, options: ClusterOptions) -> Result<Self, SimError> {
        // The daemon's loader: the nodes, their votes, `[quorum]` and the
        // membership timers reach the simulated nodes as they reach
        // `pacelined` (links are read and checked, the network is virtual).
        let crate::config::Cluster {
            model: config,
            fencing,
            runtime,
            ..
        } = load_node_str(config_text, "cluster.toml")?;
        let runtime = runtime.ok_or_else(|| SimError::NodeIds("the file has no nodes".into()))?;
        let mut names = BTreeMap::new();
        for (i, n) in runtime.nodes.iter().enumerate() {
            if usize::from(n.id) != i + 1 {
                return Err(SimError::NodeIds(format!(
                    "node {} has id {}",
                    n.name, n.id
                )));
            }
            names.insert(n.name.clone(), n.id);
        }
        let fence_delay_ms = fencing.as_ref().map(fence_delays).unwrap_or_default();
        let membership = MembershipSim::new(
            options.seed,
            SimOptions {
                nodes: names.len() as u16,
                links: 1,
                heartbeat: runtime.heartbeat,
                token_timeout: runtime.token_timeout,
                faults: options.faults.clone(),
                quorum: Some(quorum_config(&runtime)),
                witness_ttl: runtime
                    .quorum
                    .witness
                    .as_ref()
                    .map_or(crate::config::witness::DEFAULT_TTL, |w| w.ttl),
            },
        );
        let mut nodes = BTreeMap::new();
        let initial: Doc = Document::new(config.clone(), ClusterStatus::default());
        for own in &runtime.nodes {
            let settings = sim_settings(&runtime, own, &options);
            nodes.insert(
                own.id,
                SimNode {
                    name: own.name.clone(),
                    up: true,
                    incarnation: 1,
                    node: Node::new(settings.clone(), initial.clone()),
                    settings,
                    disk: initial.clone(),
                    view: None,
                    intake: Intake::new(),
                    monitor_owner: BTreeMap::new(),
                    monitors: BTreeMap::new(),
                    leaving: false,
                },
            );
        }
        let (clones, promotable) = primitives_of(&config);
        let group_predecessor = group_predecessors(&config);
        let mut promoted_max = BTreeMap::new();
        for r in &config.resources {
            if let Resource::Clone(c) = r
                && c.promotable
                && let CloneChild::Primitive(p) = &c.child
            {
                promoted_max.insert(p.id.clone(), c.promoted_max);
            }
        }
        Ok(ClusterSim {
            rng: SimRng::new(options.seed ^ 0x005e_edc1_u64),
            options,
            config,
            membership,
            now: Duration::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            next_event: 0,
            nodes,
            names,
            truth: BTreeMap::new(),
            clones,
            promotable,
            group_predecessor,
            starting: BTreeSet::new(),
            promoted_max,
            fence_delay_ms,
            fence_broken: BTreeSet::new(),
            start_broken: BTreeSet::new(),
            next_tick: Duration::ZERO,
            work: VecDeque::new(),
            acked: Vec::new(),
            requests: BTreeMap::new(),
            next_request: 0,
            status_requests: BTreeMap::new(),
            acknowledged: Acknowledged::default(),
            violations: Vec::new(),
            log: Vec::new(),
        })
    }

    pub fn now(&self) -> Duration {
        self.now
    }

    /// The virtual etcd of a cluster with `[quorum] witness`: tests cut
    /// nodes off from it or take it down.
    pub fn witness(&mut self) -> Option<&mut super::witness::VirtualWitness> {
        self.membership.witness.as_mut()
    }

    fn id(&self, name: &str) -> u16 {
        self.names.get(name).copied().unwrap_or(0)
    }

    fn name(&self, id: u16) -> String {
        self.nodes
            .get(&id)
            .map(|n| n.name.clone())
            .unwrap_or_else(|| format!("node#{id}"))
    }

    fn note(&mut self, text: String) {
        self.log.push(LogLine { at: self.now, text });
    }

    fn push(&mut self, at: Duration, ev: Ev) {
        self.seq += 1;
        let key = self.next_event;
        self.next_event += 1;
        self.events.insert(key, ev);
        self.queue.push(Reverse((at, self.seq, key)));
    }

    fn delay(&mut self) -> Duration {
        let lo = self.options.faults.min_delay.as_micros() as u64;
        let hi = self.options.faults.max_delay.as_micros() as u64;
        Duration::from_micros(self.rng.between(lo, hi.max(lo)))
    }

    fn connected(&self, a: u16, b: u16) -> bool {
        a == b
            || (self.membership.net.connected(a, b)
                && self.nodes.get(&b).is_some_and(|n| n.up)
                && self.nodes.get(&a).is_some_and(|n| n.up))
    }

    fn wall(&self) -> i64 {
        WALL_BASE + self.now.as_secs() as i64
    }

    // ----- faults -----

    /// Power loss: the node and everything it runs stop at once.
    pub fn power_off(&mut self, name: &str) {
        let id = self.id(name);
        self.note(format!("power off {name}"));
        self.kill(id);
    }

    fn kill(&mut self, id: u16) {
        self.membership.crash(id);
        self.truth.retain(|(n, _), _| *n != id);
        self.starting.retain(|(n, _)| *n != id);
        // A sender's next incarnation numbers its requests afresh.
        for n in self.nodes.values_mut() {
            n.intake.forget(&id);
        }
        if let Some(n) = self.nodes.get_mut(&id) {
            n.up = false;
            n.incarnation += 1;
            n.monitors.clear();
            n.monitor_owner.clear();
            n.intake = Intake::new();
            n.view = None;
        }
    }

    pub fn power_on(&mut self, name: &str) {
        let id = self.id(name);
        self.boot(id);
    }

    fn boot(&mut self, id: u16) {
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if n.up {
            return;
        }
        n.up = true;
        n.leaving = false;
        n.node = Node::new(n.settings.clone(), n.disk.clone());
        let name = n.name.clone();
        self.membership.start(id);
        self.note(format!("power on {name}"));
    }

    pub fn partition(&mut self, groups: &[Vec<String>]) {
        let ids: Vec<Vec<u16>> = groups
            .iter()
            .map(|g| g.iter().map(|n| self.id(n)).collect())
            .collect();
        let refs: Vec<&[u16]> = ids.iter().map(|g| g.as_slice()).collect();
        self.membership.net.partition(&refs);
        let text: Vec<String> = groups
            .iter()
            .map(|g| format!("[{}]", g.join(" ")))
            .collect();
        self.note(format!("partition {}", text.join(" ")));
    }

    pub fn heal(&mut self) {
        self.membership.net.heal();
        self.note("heal the network".to_string());
    }

    /// The resource dies on that node (its monitor will notice).
    pub fn fail_resource(&mut self, node: &str, rsc: &str) {
        let id = self.id(node);
        self.note(format!("{rsc} dies on {node}"));
        self.truth.remove(&(id, rsc.to_string()));
    }

    pub fn break_start(&mut self, node: &str, rsc: &str, broken: bool) {
        let key = (node.to_string(), rsc.to_string());
        if broken {
            self.start_broken.insert(key);
        } else {
            self.start_broken.remove(&key);
        }
    }

    /// The fence device of `target` fails every attempt (or works again).
    pub fn break_fence_device(&mut self, target: &str, broken: bool) {
        self.note(format!(
            "fence device of {target} {}",
            if broken { "fails" } else { "works again" }
        ));
        if broken {
            self.fence_broken.insert(target.to_string());
        } else {
            self.fence_broken.remove(target);
        }
    }

    /// Clean shutdown: the node asks to leave, waits until nothing runs
    /// there, then leaves the membership.
    pub fn shutdown(&mut self, name: &str) {
        let id = self.id(name);
        // A node that is down has no daemon to ask: what is left of its
        // node core is the state it died with, not a running controller.
        if !self.nodes.get(&id).is_some_and(|n| n.up) {
            return;
        }
        self.note(format!("{name} shuts down"));
        if let Some(n) = self.nodes.get_mut(&id) {
            n.leaving = true;
        }
        let patch = shutdown::request(name, self.wall());
        let (now_ms, wall) = (self.now_ms(), self.wall());
        if let Some(n) = self.nodes.get_mut(&id) {
            let cmds = n.node.handle(now_ms, wall, Event::StatusPatch(patch));
            self.work.push_back(Work::Node(id, cmds));
        }
        self.drain();
    }

    /// An operator changes the configuration through the store DC; returns
    /// whether a DC accepted the request (its ack comes later).
    pub fn change_config(&mut self) -> bool {
        let Some(dc) = self.ready_dc() else {
            return false;
        };
        self.next_request += 1;
        let (now_ms, wall) = (self.now_ms(), self.wall());
        let request = self.next_request;
        let Some(n) = self.nodes.get_mut(&dc) else {
            return false;
        };
        let mut config = n.node.doc().config.clone();
        let g = generation(&config) + 1;
        config
            .rsc_defaults
            .insert(GENERATION.to_string(), g.to_string());
        let based_on = n.node.doc().version;
        let event = Event::ConfigRequest {
            request,
            based_on,
            config,
        };
        let cmds = n.node.handle(now_ms, wall, event);
        self.requests.insert(request, g);
        self.work.push_back(Work::Node(dc, cmds));
        self.drain();
        true
    }

    /// The node whose store is the ready DC (the one an operator's
    /// request reaches), if any.
    fn ready_dc(&self) -> Option<u16> {
        self.nodes
            .iter()
            .find(|(_, n)| n.up && n.node.ready())
            .map(|(&id, _)| id)
    }

    /// `paceline resource move RSC NODE` through the ready DC: a location
    /// constraint of INFINITY, as the CLI writes it (`cli-prefer-RSC`);
    /// returns whether a DC took the request.
    pub fn move_resource(&mut self, rsc: &str, node: &str) -> bool {
        use crate::model::{Location, LocationPlacement, LocationTarget, Score};
        let Some(dc) = self.ready_dc() else {
            return false;
        };
        self.note(format!("move {rsc} to {node}"));
        self.next_request += 1;
        let (request, now_ms, wall) = (self.next_request, self.now_ms(), self.wall());
        let Some(n) = self.nodes.get_mut(&dc) else {
            return false;
        };
        let mut config = n.node.doc().config.clone();
        let id = format!("cli-prefer-{rsc}");
        config.locations.retain(|l| l.id != id);
        config.locations.push(Location {
            id,
            target: LocationTarget::Resource(rsc.to_string()),
            placement: LocationPlacement::Node {
                node: node.to_string(),
                score: Score::INFINITY,
            },
            role: None,
            resource_discovery: None,
        });
        let based_on = n.node.doc().version;
        let event = Event::ConfigRequest {
            request,
            based_on,
            config,
        };
        let cmds = n.node.handle(now_ms, wall, event);
        self.work.push_back(Work::Node(dc, cmds));
        self.drain();
        true
    }

    // ----- the loop -----

    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            let next_event = self.queue.peek().map(|Reverse((at, _, _))| *at);
            let mut next = (self.now + SLICE).min(end);
            if let Some(at) = next_event
                && at < next
            {
                next = at.max(self.now);
            }
            if next > self.now {
                self.membership.run_for(next - self.now);
                self.now = next;
            }
            self.views();
            while let Some(Reverse((at, _, key))) = self.queue.peek().copied() {
                if at > self.now {
                    break;
                }
                self.queue.pop();
                if let Some(ev) = self.events.remove(&key) {
                    self.event(ev);
                }
                self.drain();
            }
            if self.now >= self.next_tick {
                self.next_tick = self.now + TICK;
                let up: Vec<u16> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.up)
                    .map(|(id, _)| *id)
                    .collect();
                for id in up {
                    self.work.push_back(Work::Ctl(id, Input::Tick));
                }
                self.drain();
                self.leavers();
            }
            self.check_config();
        }
    }

    fn views(&mut self) {
        let ids: Vec<u16> = self.nodes.keys().copied().collect();
        for id in ids {
            let Some(machine) = self.membership.machine(id) else {
                continue;
            };
            let view = machine.view().clone();
            let quorate = machine.quorum_status().quorate;
            let current = Some((view.id, view.members.clone(), quorate));
            let Some(n) = self.nodes.get_mut(&id) else {
                continue;
            };
            if !n.up || n.view == current {
                continue;
            }
            n.view = current;
            let event = Event::View {
                id: view.id,
                members: view.members.iter().copied().collect(),
                quorate,
            };
            let (now_ms, wall) = (
                self.now.as_millis() as u64,
                WALL_BASE + self.now.as_secs() as i64,
            );
            let cmds = n.node.handle(now_ms, wall, event);
            self.work.push_back(Work::Node(id, cmds));
            self.drain();
        }
    }

    fn leavers(&mut self) {
        let leaving: Vec<u16> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.up && n.leaving)
            .map(|(id, _)| *id)
            .collect();
        for id in leaving {
            let name = self.name(id);
            let Some(n) = self.nodes.get(&id) else {
                continue;
            };
            // It may go once the replicated status shows nothing of it
            // running (and its agents really run nothing: the simulated
            // executor's idle, as the daemon waits for its executor).
            let status = &n.node.doc().status;
            let asked = status
                .nodes
                .get(&name)
                .is_some_and(|s| s.transient_attributes.contains_key(shutdown::ATTRIBUTE));
            let truth_idle = !self.truth.keys().any(|(n, _)| *n == id);
            let left =
                crate::scheduler::left_as_is(&n.node.doc().config, status, &name, self.wall());
            if asked && shutdown::runs_nothing(status, &name, &left) && truth_idle {
                self.note(format!("{name} leaves the cluster"));
                self.membership.leave(id);
                if let Some(n) = self.nodes.get_mut(&id) {
                    // The daemon exits: what its executor knew goes with it.
                    n.up = false;
                    n.incarnation += 1;
                    n.leaving = false;
                    n.view = None;
                    n.monitors.clear();
                    n.monitor_owner.clear();
                    n.intake = Intake::new();
                }
            }
        }
    }

    fn drain(&mut self) {
        for _ in 0..1_000_000 {
            let Some(w) = self.work.pop_front() else {
                return;
            };
            match w {
                Work::Ctl(id, input) => self.controller_input(id, input),
                Work::Node(id, cmds) => self.node_commands(id, cmds),
            }
        }
        self.violations
            .push("the simulator's work queue never drained".to_string());
    }

    fn controller_input(&mut self, id: u16, input: Input) {
        let (now_ms, wall) = (self.now.as_millis() as u64, self.wall());
        let Some(n) = self.nodes.get_mut(&id) else {
            return;
        };
        if !n.up {
            return;
        }
        let out = n.node.handle(now_ms, wall, Event::Controller(input));
        self.node_commands(id, out);
    }

    fn quorate(&self, id: u16) -> bool {
        self.nodes
            .get(&id)
            .and_then(|n| n.view.as_ref())
            .is_some_and(|(_, _, q)| *q)
    }

    fn controller_command(&mut self, id: u16, c: Ctl) {
        let me = self.name(id);
        match c {
            // This node's own (the node core sends another's as a message).
            Ctl::Execute(request) => {
                self.check_dispatch(id, &request);
                let to = self.id(&request.node);
                if self.connected(id, to) {
                    let at = self.now + self.delay();
                    self.push(
                        at,
                        Ev::ActionArrives {
                            node: to,
                            from: id,
                            request,
                        },
                    );
                }
            }
            Ctl::CancelRecurring {
                node,
                instance,
                interval_ms,
            } => {
                let to = self.id(&node);
                if self.connected(id, to) {
                    let at = self.now + self.delay();
                    self.push(
                        at,
                        Ev::Cancel {
                            node: to,
                            instance,
                            interval_ms,
                        },
                    );
                }
            }
            Ctl::Fence(request) => {
                let delay = self
                    .fence_delay_ms
                    .get(&request.target)
                    .copied()
                    .unwrap_or(0);
                self.note(format!(
                    "{me} fences {} ({}), device delay {} ms",
                    request.target, request.action, delay
                ));
                let incarnation = self.nodes.get(&id).map_or(0, |n| n.incarnation);
                let at = self.now + Duration::from_millis(delay + self.options.fence_ms);
                self.push(
                    at,
                    Ev::FenceDone {
                        requester: id,
                        incarnation,
                        request,
                    },
                );
            }
            Ctl::RecordStatus(patch) => {
                if std::env::var_os("PACELINE_SIM_TRACE").is_some()
                    && let StatusPatch::NodeHistory {
                        node,
                        from_call_id,
                        results,
                    } = &patch
                {
                    let what: Vec<String> = results
                        .iter()
                        .map(|r| format!("{} {} {} rc {}", r.id, r.operation, r.instance, r.rc))
                        .collect();
                    self.note(format!(
                        "trace: {me} records {node}'s report from call {from_call_id}: {}",
                        what.join(", ")
                    ));
                }
                // The node core records its controller's patches itself.
                let (now_ms, wall) = (self.now_ms(), self.wall());
                if let Some(n) = self.nodes.get_mut(&id) {
                    let cmds = n.node.handle(now_ms, wall, Event::StatusPatch(patch));
                    self.work.push_back(Work::Node(id, cmds));
                }
            }
            Ctl::RequestReport { node } => {
                let to = self.id(&node);
                if self.connected(id, to) {
                    let at = if to == id {
                        self.now
                    } else {
                        self.now + self.delay()
                    };
                    self.push(at, Ev::ReportRequested { node: to, from: id });
                }
            }
            // The daemon plans on a blocking thread; the simulator
            // answers at once, so its runs stay reproducible.
            Ctl::Plan(request) => {
                self.controller_input(id, Input::Planned(Box::new(request.run())))
            }
            Ctl::Notice(notice) => match notice {
                Notice::BecameDc => self.note(format!("{me} is DC")),
                Notice::Blocked { why } => self.note(format!("{me}: blocked: {why}")),
                Notice::NodeLost(n) => self.note(format!("{me}: {n} lost")),
                Notice::NoReport { node, .. } => {
                    self.note(format!("{me}: no report from {node}; probing it"))
                }
                _ => {}
            },
        }
    }

    /// Carries out a node core's commands: its messages over the
    /// network (reliable while connected), its documents to the simulated
    /// disk, its controller's commands to the simulated executor and
    /// fence devices.
    fn node_commands(&mut self, id: u16, cmds: Vec<node::Command<ClusterConfig>>) {
        for c in cmds {
            let acts = matches!(
                &c,
                node::Command::Send {
                    message: Message::ActionRequest(_),
                    ..
                } | node::Command::Controller(Ctl::Execute(_))
            );
            if acts {
                self.check_acknowledged(id, None, "an action");
            }
            match c {
                node::Command::Send { to, message } => {
                    if let Message::ActionRequest(request) = &message {
                        self.check_dispatch(id, request);
                    }
                    if self.connected(id, to) {
                        let at = self.now + self.delay();
                        let message = Box::new(message);
                        self.push(
                            at,
                            Ev::Message {
                                from: id,
                                to,
                                message,
                            },
                        );
                    }
                }
                node::Command::Persist(version) => {
                    let Some(n) = self.nodes.get_mut(&id) else {
                        continue;
                    };
                    // The document as it is now (it may be newer than
                    // `version` already, as the daemon's coalesced write).
                    let doc = n.node.doc().clone();
                    self.acknowledged.persisted(id, doc.version, &doc.status);
                    let Some(n) = self.nodes.get_mut(&id) else {
                        continue;
                    };
                    n.disk = doc;
                    let incarnation = n.incarnation;
                    let at = self.now + Duration::from_millis(1);
                    self.push(
                        at,
                        Ev::Persisted {
                            node: id,
                            incarnation,
                            version,
                        },
                    );
                }
                node::Command::Reply { request, result } => {
                    if let Some(what) = self.status_requests.remove(&request) {
                        self.status_reply(id, what, result);
                        continue;
                    }
                    if let (Some(g), Ok(v)) = (self.requests.remove(&request), &result) {
                        self.acked.push(g);
                        self.note(format!("config generation {g} acknowledged at {v:?}"));
                    }
                }
                node::Command::Controller(c) => self.controller_command(id, c),
                node::Command::ConfigChanged | node::Command::Log(_) => {}
                // Loaded at once: the simulator's configuration is the model.
                node::Command::Load { generation, config } => {
                    let (now_ms, wall) = (self.now_ms(), self.wall());
                    let Some(n) = self.nodes.get_mut(&id) else {
                        continue;
                    };
                    let out = n
                        .node
                        .on_loaded(now_ms, wall, generation, NodeConfig::load(&config));
                    self.work.push_back(Work::Node(id, out));
                }
                node::Command::Fatal(why) => {
                    let me = self.name(id);
                    self.violations
                        .push(format!("{:?}: {me} stopped: {why}", self.now));
                }
            }
        }
    }

    /// Nothing acknowledged is lost: when `id`, a DC, acts on its status
    /// (or answers a status request at `version`), the document it acted
    /// on is on a quorum of disks (see `acknowledged.rs`).
    fn check_acknowledged(&mut self, id: u16, version: Option<Version>, what: &str) {
        let Some(n) = self.nodes.get(&id) else {
            return;
        };
        if !n.node.is_dc() {
            return;
        }
        let version = version.unwrap_or_else(|| n.node.acted_on());
        let need = match (&n.view, n.settings.two_node) {
            (Some((_, members, _)), true) => members.len(),
            _ => self.nodes.len() / 2 + 1,
        };
        let disks: Vec<(Version, &ClusterStatus)> = self
            .nodes
            .values()
            .map(|n| (n.disk.version, &n.disk.status))
            .collect();
        if let Some(v) = self.acknowledged.check(id, version, &disks, need) {
            let me = self.name(id);
            self.violations
                .push(format!("{:?}: {me} {what}: {v}", self.now));
        }
    }

    fn status_reply(&mut self, id: u16, what: String, result: Result<Version, String>) {
        match result {
            Ok(version) => {
                self.note(format!("{what} acknowledged"));
                self.check_acknowledged(id, Some(version), &what);
            }
            Err(e) => self.note(format!("{what} not acknowledged: {e}")),
        }
    }

    /// `paceline resource cleanup RSC` through the ready DC; returns
    /// whether a DC took the request (its answer comes once committed).
    pub fn cleanup(&mut self, rsc: &str) -> bool {
        let Some(dc) = self.ready_dc() else {
            return false;
        };
        self.note(format!("cleanup {rsc}"));
        self.next_request += 1;
        let (request, now_ms, wall) = (self.next_request, self.now_ms(), self.wall());
        let patch = StatusPatch::Cleanup {
            resource: rsc.to_string(),
            node: None,
        };
        let Some(n) = self.nodes.get_mut(&dc) else {
            return false;
        };
        let cmds = n
            .node
            .handle(now_ms, wall, Event::StatusRequest { request, patch });
        self.status_requests
            .insert(request, format!("cleanup of {rsc}"));
        self.work.push_back(Work::Node(dc, cmds));
        self.drain();
        true
    }

    /// An agent on `node` sets its attribute `name` (`None` deletes it):
    /// transient (`attrd_updater`, `crm_attribute -l reboot`) goes through
    /// the node as the daemon's attribute file does; permanent
    /// (`crm_attribute -l forever`) is a status request to the ready DC,
    /// acknowledged once committed. Returns whether it was handed on.
    pub fn set_attribute(
        &mut self,
        node: &str,
        name: &str,
        value: Option<&str>,
        permanent: bool,
    ) -> bool {
        let (now_ms, wall) = (self.now_ms(), self.wall());
        let (target, name, value) = (node.to_string(), name.to_string(), value.map(String::from));
        let (at, event) = if permanent {
            let Some(dc) = self.ready_dc() else {
                return false;
            };
            self.next_request += 1;
            let request = self.next_request;
            self.status_requests
                .insert(request, format!("permanent attribute {name} of {target}"));
            let patch = StatusPatch::PermanentAttribute {
                node: target,
                name,
                value,
            };
            (dc, Event::StatusRequest { request, patch })
        } else {
            let patch = StatusPatch::Attribute {
                node: target,
                name,
                value,
            };
            (self.id(node), Event::StatusPatch(patch))
        };
        let Some(n) = self.nodes.get_mut(&at) else {
            return false;
        };
        let cmds = n.node.handle(now_ms, wall, event);
        self.work.push_back(Work::Node(at, cmds));
        self.drain();
        true
    }

    /// Whether `node`'s document holds a fail count of `rsc` (on any node).
    pub fn has_fail_count(&self, node: &str, rsc: &str) -> bool {
        let prefix = format!("fail-count-{rsc}#");
        self.document(node).is_some_and(|d| {
            d.status.nodes.values().any(|st| {
                st.transient_attributes
                    .keys()
                    .any(|k| k.starts_with(&prefix))
            })
        })
    }

    /// The invariant checked where the DC dispatches: no start or promote
    /// without quorum (unless no-quorum-policy=ignore).
    fn check_dispatch(&mut self, id: u16, request: &ActionRequest) {
        let me = self.name(id);
        if matches!(request.operation.as_str(), "start" | "promote")
            && !self.quorate(id)
            && self.config.properties.no_quorum_policy != NoQuorumPolicy::Ignore
        {
            self.violations.push(format!(
                "{:?}: {me} without quorum dispatched {} of {} on {}",
                self.now, request.operation, request.instance, request.node
            ));
        }
        if std::env::var_os("PACELINE_SIM_TRACE").is_some() {
            // Debugging aid; kept out of the compared event logs.
            self.note(format!(
                "trace: {me} dispatches {} {} ({} ms) on {}",
                request.operation, request.instance, request.interval_ms, request.node
            ));
        }
    }

    fn now_ms(&self) -> u64 {
        self.now.as_millis() as u64
    }

    fn check_config(&mut self) {
        let Some(&need) = self.acked.iter().max() else {
            return;
        };
        for n in self.nodes.values() {
            if n.up && n.node.ready() && generation(&n.node.doc().config) < need {
                let text = format!(
                    "{:?}: DC {} holds config generation {} (version {:?}) after generation {need} was acknowledged",
                    self.now,
                    n.name,
                    generation(&n.node.doc().config),
                    n.node.doc().version
                );
                if !self.violations.contains(&text) {
                    self.violations.push(text);
                }
            }
        }
    }

    fn event(&mut self, ev: Ev) {
        match ev {
            Ev::Message { from, to, message } => {
                if !self.connected(from, to) {
                    return;
                }
                let message = match *message {
                    // The executor's requests go to the simulated executor.
                    Message::ActionRequest(request) => {
                        return self.action_arrives(to, from, request);
                    }
                    Message::CancelRecurring {
                        instance,
                        interval_ms,
                    } => {
                        if let Some(n) = self.nodes.get_mut(&to) {
                            n.monitors.remove(&(instance, interval_ms));
                        }
                        return;
                    }
                    Message::ReportRequest => {
                        return self.event(Ev::ReportRequested { node: to, from });
                    }
                    message => message,
                };
                let (now_ms, wall) = (self.now_ms(), self.wall());
                if let Some(n) = self.nodes.get_mut(&to) {
                    let event = Event::Message { from, message };
                    let cmds = n.node.handle(now_ms, wall, event);
                    self.work.push_back(Work::Node(to, cmds));
                }
            }
            Ev::Persisted {
                node,
                incarnation,
                version,
            } => {
                let (now_ms, wall) = (self.now_ms(), self.wall());
                if let Some(n) = self.nodes.get_mut(&node)
                    && n.up
                    && n.incarnation == incarnation
                {
                    let cmds = n.node.handle(now_ms, wall, Event::Persisted(version));
                    self.work.push_back(Work::Node(node, cmds));
                }
            }
            Ev::ActionArrives {
                node,
                from,
                request,
            } => self.action_arrives(node, from, request),
            Ev::ActionDone {
                node,
                from,
                incarnation,
                request,
            } => self.action_done(node, from, incarnation, request),
            Ev::ResultArrives { from, to, result } => {
                if self.connected(from, to) {
                    self.work
                        .push_back(Work::Ctl(to, Input::ActionResult(result)));
                }
            }
            Ev::Cancel {
                node,
                instance,
                interval_ms,
            } => {
                if let Some(n) = self.nodes.get_mut(&node) {
                    n.monitors.remove(&(instance, interval_ms));
                }
            }
            Ev::MonitorDue {
                node,
                incarnation,
                instance,
                interval_ms,
                id,
            } => self.monitor_due(node, incarnation, instance, interval_ms, id),
            Ev::FenceDone {
                requester,
                incarnation,
                request,
            } => self.fence_done(requester, incarnation, request),
            Ev::ReportRequested { node, from } => {
                if !self.connected(from, node) {
                    return;
                }
                let name = self.name(node);
                let Some(n) = self.nodes.get_mut(&node).filter(|n| n.up) else {
                    return;
                };
                let report = n.intake.report(&name, from);
                let at = if node == from {
                    self.now
                } else {
                    self.now + self.delay()
                };
                self.push(
                    at,
                    Ev::ReportArrives {
                        from: node,
                        to: from,
                        report,
                    },
                );
            }
            Ev::ReportArrives { from, to, report } => {
                if self.connected(from, to) {
                    self.work
                        .push_back(Work::Ctl(to, Input::NodeReport(report)));
                }
            }
            Ev::PowerOn(id) => self.boot(id),
        }
    }

    /// The DC this node reports results to: the lowest id of its view.
    fn dc_of(&self, id: u16) -> Option<u16> {
        self.nodes
            .get(&id)
            .and_then(|n| n.view.as_ref())
            .and_then(|(_, members, _)| members.iter().min().copied())
    }

    /// A result goes back to the DC that asked and, if the node now
    /// follows another DC, to that one too (it may have taken over).
    fn send_result(&mut self, from: u16, requester: u16, result: ActionResult) {
        if std::env::var_os("PACELINE_SIM_TRACE").is_some() {
            let me = self.name(from);
            self.note(format!(
                "trace: {me} answers {} {} ({} ms): rc {}",
                result.operation, result.instance, result.interval_ms, result.rc
            ));
        }
        let follows = self
            .nodes
            .get(&from)
            .and_then(|n| n.intake.follows().copied());
        let to = result_recipients(&result, requester, from, follows, self.dc_of(from));
        for dc in to {
            if self.connected(from, dc) {
                let at = self.now + self.delay();
                self.push(
                    at,
                    Ev::ResultArrives {
                        from,
                        to: dc,
                        result: result.clone(),
                    },
                );
            }
        }
    }

    fn active_elsewhere(&self, id: u16, rsc: &str) -> Vec<u16> {
        self.truth
            .keys()
            .filter(|(n, r)| *n != id && r == rsc)
            .map(|(n, _)| *n)
            .collect()
    }

    fn action_arrives(&mut self, node: u16, from: u16, request: ActionRequest) {
        let Some(n) = self.nodes.get_mut(&node) else {
            return;
        };
        if !n.up {
            return;
        }
        // A recurring monitor starts at once here (the simulated agent
        // takes no time for its first run): it does not wait its turn.
        let serial = request.interval_ms == 0;
        match n.intake.admit(from, &request, serial) {
            Admission::Run => {}
            // Run once, answer again.
            Admission::Answer(result) => return self.send_result(node, from, result),
            // Its answer will come (a probe during a start waits for it).
            Admission::InFlight | Admission::Queued => return,
            Admission::Refused { .. } => {
                // It reported to another DC since: only that one commands it.
                if std::env::var_os("PACELINE_SIM_TRACE").is_some() {
                    let (me, them) = (self.name(node), self.name(from));
                    self.note(format!(
                        "trace: {me} refuses {} {} from {them}",
                        request.operation, request.instance
                    ));
                }
                return;
            }
        }
        let rsc = primitive_of(&request.instance).to_string();
        if request.interval_ms > 0 {
            let running = self.truth.get(&(node, rsc.clone())).copied();
            let last_rc = match running {
                Some(Role::Promoted) => rc::RUNNING_PROMOTED,
                Some(_) => rc::OK,
                None => rc::NOT_RUNNING,
            };
            let incarnation = n.incarnation;
            n.monitor_owner.insert(request.id, from);
            n.monitors.insert(
                (request.instance.clone(), request.interval_ms),
                Monitor {
                    id: request.id,
                    resource: request.resource.clone(),
                    last_rc,
                },
            );
            let at = self.now + Duration::from_millis(request.interval_ms);
            self.push(
                at,
                Ev::MonitorDue {
                    node,
                    incarnation,
                    instance: request.instance,
                    interval_ms: request.interval_ms,
                    id: request.id,
                },
            );
            return;
        }
        self.begin_action(node, from, request);
    }

    /// Runs a one-shot operation (its resource's turn has come).
    fn begin_action(&mut self, node: u16, from: u16, request: ActionRequest) {
        let Some(n) = self.nodes.get(&node) else {
            return;
        };
        let rsc = primitive_of(&request.instance).to_string();
        let incarnation = n.incarnation;
        if request.operation == "start" {
            let here = self.name(node);
            if !self.clones.contains(&rsc) {
                for other in self.active_elsewhere(node, &rsc) {
                    let lost = !self
                        .nodes
                        .get(&node)
                        .and_then(|n| n.view.as_ref())
                        .is_some_and(|(_, m, _)| m.contains(&other));
                    let other = self.name(other);
                    self.violations.push(if lost {
                        format!(
                            "{:?}: {rsc} started on {here} while it still runs on {other}, which was lost and not powered off",
                            self.now
                        )
                    } else {
                        format!("{:?}: {rsc} active on {here} and {other} at once", self.now)
                    });
                }
            }
            if let Some(before) = self.group_predecessor.get(&rsc) {
                let key = (node, before.clone());
                if !self.truth.contains_key(&key) || self.starting.contains(&key) {
                    self.violations.push(format!(
                        "{:?}: {rsc} started on {here} before its group's {before} was started there",
                        self.now
                    ));
                }
            }
            self.starting.insert((node, rsc.clone()));
            // Active (as far as safety goes) from the moment the start begins.
            self.truth.entry((node, rsc)).or_insert(Role::Started);
        }
        let (lo, hi) = self.options.action_ms;
        let ms = if request.operation == "monitor" {
            self.rng.between(1, lo.max(2))
        } else {
            self.rng.between(lo, hi.max(lo))
        };
        let at = self.now + Duration::from_millis(ms);
        self.push(
            at,
            Ev::ActionDone {
                node,
                from,
                incarnation,
                request,
            },
        );
    }

    fn action_done(&mut self, node: u16, from: u16, incarnation: u64, request: ActionRequest) {
        let here = self.name(node);
        let Some(n) = self.nodes.get(&node) else {
            return;
        };
        if !n.up || n.incarnation != incarnation {
            return;
        }
        let rsc = primitive_of(&request.instance).to_string();
        let key = (node, rsc.clone());
        if request.operation == "start" {
            self.starting.remove(&key);
        }
        let running = self.truth.get(&key).copied();
        if matches!(request.operation.as_str(), "stop" | "demote")
            && let Some(n) = self.nodes.get_mut(&node)
        {
            // As the daemon's executor: a stop or demote cancels the
            // instance's recurring monitors (after a demote the DC asks for
            // the Unpromoted ones).
            n.monitors.retain(|(i, _), _| *i != request.instance);
        }
        let code = match request.operation.as_str() {
            "monitor" => match running {
                Some(Role::Promoted) => rc::RUNNING_PROMOTED,
                Some(_) => rc::OK,
                None => rc::NOT_RUNNING,
            },
            "start" => {
                if self.start_broken.contains(&(here.clone(), rsc.clone())) {
                    self.truth.remove(&key);
                    rc::ERR_GENERIC
                } else {
                    self.truth.insert(key.clone(), Role::Started);
                    rc::OK
                }
            }
            "stop" => {
                self.truth.remove(&key);
                rc::OK
            }
            "promote" => {
                if running.is_some() {
                    self.truth.insert(key.clone(), Role::Promoted);
                    rc::OK
                } else {
                    rc::NOT_RUNNING
                }
            }
            "demote" => {
                if running.is_some() {
                    self.truth.insert(key.clone(), Role::Started);
                    rc::OK
                } else {
                    rc::NOT_RUNNING
                }
            }
            _ => rc::OK,
        };
        if !matches!(request.operation.as_str(), "monitor" | "notify") {
            let outcome = if code == rc::OK {
                "ok".to_string()
            } else {
                format!("rc {code}")
            };
            self.note(format!(
                "{} {} on {here}: {outcome}",
                request.operation, request.instance
            ));
        }
        // A promotable resource's agent publishes its promotion score.
        if self.promotable.contains(&rsc) && matches!(request.operation.as_str(), "start" | "stop")
        {
            let value = (request.operation == "start" && code == rc::OK).then(|| "100".to_string());
            let patch = StatusPatch::Attribute {
                node: here.clone(),
                name: format!("master-{rsc}"),
                value,
            };
            let (now_ms, wall) = (self.now_ms(), self.wall());
            if let Some(n) = self.nodes.get_mut(&node) {
                let cmds = n.node.handle(now_ms, wall, Event::StatusPatch(patch));
                self.work.push_back(Work::Node(node, cmds));
            }
        }
        let (lo, _) = self.options.action_ms;
        let result = ActionResult {
            id: request.id,
            node: here,
            resource: request.resource.clone(),
            instance: request.instance.clone(),
            operation: request.operation.clone(),
            interval_ms: request.interval_ms,
            rc: code,
            op_status: 0,
            output: String::new(),
            at: self.wall(),
            exec_ms: lo,
        };
        let next = self
            .nodes
            .get_mut(&node)
            .and_then(|n| n.intake.finished(from, &result, true));
        self.send_result(node, from, result);
        if let Some((from, request)) = next {
            self.begin_action(node, from, request);
        }
    }

    fn monitor_due(
        &mut self,
        node: u16,
        incarnation: u64,
        instance: String,
        interval_ms: u64,
        id: u64,
    ) {
        let here = self.name(node);
        let rsc = primitive_of(&instance).to_string();
        let running = self.truth.get(&(node, rsc)).copied();
        let Some(n) = self.nodes.get_mut(&node) else {
            return;
        };
        if !n.up || n.incarnation != incarnation {
            return;
        }
        let Some(m) = n.monitors.get_mut(&(instance.clone(), interval_ms)) else {
            return;
        };
        if m.id != id {
            return;
        }
        let code = match running {
            Some(Role::Promoted) => rc::RUNNING_PROMOTED,
            Some(_) => rc::OK,
            None => rc::NOT_RUNNING,
        };
        let changed = code != m.last_rc;
        m.last_rc = code;
        let resource = m.resource.clone();
        let owner = n.monitor_owner.get(&id).copied().unwrap_or(node);
        let at = self.now + Duration::from_millis(interval_ms);
        self.push(
            at,
            Ev::MonitorDue {
                node,
                incarnation,
                instance: instance.clone(),
                interval_ms,
                id,
            },
        );
        if changed {
            self.note(format!("monitor of {instance} on {here} reports rc {code}"));
            let result = ActionResult {
                id,
                node: here,
                resource,
                instance,
                operation: "monitor".into(),
                interval_ms,
                rc: code,
                op_status: 0,
                output: String::new(),
                at: self.wall(),
                exec_ms: 1,
            };
            if let Some(n) = self.nodes.get_mut(&node) {
                n.intake.monitor_changed(owner, &result);
            }
            self.send_result(node, owner, result);
        }
    }

    fn fence_done(&mut self, requester: u16, incarnation: u64, request: FenceRequest) {
        let me = self.name(requester);
        let alive = self
            .nodes
            .get(&requester)
            .is_some_and(|n| n.up && n.incarnation == incarnation);
        if !alive {
            self.note(format!(
                "fence of {} by {me} never ran: {me} is down",
                request.target
            ));
            return;
        }
        let target = self.id(&request.target);
        let outcome = if self.fence_broken.contains(&request.target) {
            self.note(format!("fence of {} by {me} failed", request.target));
            FenceOutcome {
                target: request.target.clone(),
                ok: false,
                detail: "device did not answer".to_string(),
                at: self.wall(),
                action: request.action.clone(),
                devices: Vec::new(),
            }
        } else {
            self.note(format!("{} powered off by {me}'s fence", request.target));
            if self.nodes.get(&target).is_some_and(|n| n.up) {
                self.kill(target);
            }
            if request.action == "reboot" {
                let at = self.now + Duration::from_millis(self.options.reboot_ms);
                self.push(at, Ev::PowerOn(target));
            }
            FenceOutcome {
                target: request.target.clone(),
                ok: true,
                detail: format!("{} by the simulated device", request.action),
                at: self.wall(),
                action: request.action.clone(),
                devices: Vec::new(),
            }
        };
        if target != requester {
            self.work
                .push_back(Work::Ctl(requester, Input::FenceOutcome(outcome)));
        }
    }

    // ----- observation -----

    /// Where each resource runs (ground truth): primitive -> nodes.
    pub fn running(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (n, r) in self.truth.keys() {
            out.entry(r.clone()).or_default().push(self.name(*n));
        }
        out
    }

    pub fn role(&self, node: &str, rsc: &str) -> Option<Role> {
        self.truth.get(&(self.id(node), rsc.to_string())).copied()
    }

    pub fn is_up(&self, node: &str) -> bool {
        self.nodes.get(&self.id(node)).is_some_and(|n| n.up)
    }

    /// Every configured primitive, with whether it is cloned.
    pub fn primitives(&self) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for r in &self.config.resources {
            match r {
                Resource::Primitive(p) => out.push((p.id.clone(), false)),
                Resource::Group(g) => out.extend(g.members.iter().map(|m| (m.id.clone(), false))),
                Resource::Clone(c) => match &c.child {
                    CloneChild::Primitive(p) => out.push((p.id.clone(), true)),
                    CloneChild::Group(g) => {
                        out.extend(g.members.iter().map(|m| (m.id.clone(), true)))
                    }
                },
            }
        }
        out
    }

    /// The continuous invariant: no non-clone resource active twice, no
    /// promotable clone promoted on more nodes than promoted-max.
    pub fn check_exclusive(&mut self) {
        let mut by_rsc: BTreeMap<&String, Vec<u16>> = BTreeMap::new();
        for (n, r) in self.truth.keys() {
            if !self.clones.contains(r) {
                by_rsc.entry(r).or_default().push(*n);
            }
        }
        let mut doubles: Vec<String> = by_rsc
            .iter()
            .filter(|(_, ns)| ns.len() > 1)
            .map(|(r, ns)| format!("{:?}: {r} active on nodes {ns:?}", self.now))
            .collect();
        for (rsc, max) in &self.promoted_max {
            let promoted: Vec<u16> = self
                .truth
                .iter()
                .filter(|((_, r), role)| r == rsc && **role == Role::Promoted)
                .map(|((n, _), _)| *n)
                .collect();
            if promoted.len() > *max as usize {
                doubles.push(format!(
                    "{:?}: {rsc} promoted on nodes {promoted:?} (promoted-max {max})",
                    self.now
                ));
            }
        }
        self.violations.extend(doubles);
    }

    /// The settled-state invariant: every resource active on an up node
    /// has each recurring monitor its configuration gives its role running
    /// in that node's executor (a monitor cancelled and never asked for
    /// again leaves a failure unnoticed). One line per missing monitor.
    pub fn unmonitored(&self) -> Vec<String> {
        let mut missing = Vec::new();
        for ((id, rsc), role) in &self.truth {
            let Some(n) = self.nodes.get(id).filter(|n| n.up) else {
                continue;
            };
            let Some(prim) = self.config.primitive(rsc) else {
                continue;
            };
            if prim.meta.maintenance == Some(true) || prim.meta.is_managed == Some(false) {
                continue;
            }
            for op in
                crate::scheduler::transition::recurring_monitors(prim, *role == Role::Promoted)
            {
                let running = n
                    .monitors
                    .keys()
                    .any(|(i, iv)| primitive_of(i) == rsc && *iv == op.interval_ms);
                if !running {
                    missing.push(format!(
                        "{rsc} ({role:?}) on {} has no {} ms monitor running; the DC's history of it: {}",
                        n.name,
                        op.interval_ms,
                        self.dc_history(&n.name, rsc)
                    ));
                }
            }
        }
        missing
    }

    /// The operations an up DC's document records for `rsc`'s instances
    /// on `node`, as `instance op/interval call N rc R` items.
    fn dc_history(&self, node: &str, rsc: &str) -> String {
        let Some(dc) = self
            .nodes
            .values()
            .find(|n| n.up && n.node.controller().is_dc())
        else {
            return "no DC".into();
        };
        let Some(st) = dc.node.doc().status.nodes.get(node) else {
            return "none".into();
        };
        st.resources
            .iter()
            .filter(|h| primitive_of(&h.id) == rsc)
            .flat_map(|h| {
                h.ops.iter().map(move |o| {
                    format!(
                        "{} {}/{} call {} rc {}",
                        h.id, o.operation, o.interval_ms, o.call_id, o.rc_code
                    )
                })
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The event log as text, one `   12.345s what` line each.
    pub fn log_text(&self) -> String {
        let mut s = String::new();
        for l in &self.log {
            let _ = writeln!(s, "{:>9.3}s {}", l.at.as_secs_f64(), l.text);
        }
        s
    }

    pub fn assert_safe(&self) {
        assert!(
            self.violations.is_empty(),
            "invariants violated:\n{}\nlog:\n{}",
            self.violations.join("\n"),
            self.log_text()
        );
    }
}

impl ClusterSim {
    /// The replicated document as one node holds it.
    pub fn document(&self, node: &str) -> Option<&Doc> {
        self.nodes.get(&self.id(node)).map(|n| n.node.doc())
    }

    /// The controller of one node.
    pub fn controller(&self, node: &str) -> Option<&Controller> {
        self.nodes.get(&self.id(node)).map(|n| n.node.controller())
    }
}
