//! N membership machines over the virtual network, talking through the real
//! wire codec (so duplicates are dropped by the replay window, as in production).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::Duration;

use super::net::{NetFaults, Network};
use super::rng::SimRng;
use super::witness::VirtualWitness;
use crate::membership::{Membership, MembershipConfig, Notice, Output, QuorumConfig, View};
use crate::wire::{ClusterKey, Decoder, Encoder, KeyRing, Message, NodeId};

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub nodes: u16,
    pub links: u8,
    pub heartbeat: Duration,
    pub token_timeout: Duration,
    pub faults: NetFaults,
    /// Quorum options; `None` gives the config contract's defaults.
    pub quorum: Option<QuorumConfig>,
    /// The TTL etcd grants the witness's leases (with `quorum.witness`).
    pub witness_ttl: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            nodes: 3,
            links: 2,
            heartbeat: Duration::from_millis(200),
            token_timeout: Duration::from_secs(1),
            faults: NetFaults {
                min_delay: Duration::from_micros(100),
                max_delay: Duration::from_millis(5),
                ..NetFaults::default()
            },
            quorum: None,
            witness_ttl: Duration::from_secs(2),
        }
    }
}

struct SimNode {
    machine: Membership,
    encoder: Encoder,
    decoder: Decoder,
    keyring: KeyRing,
    /// Not scheduled before this time (SIGSTOP-like pause).
    paused_until: Duration,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Tick(NodeId),
    Deliver {
        to: NodeId,
        bytes: Vec<u8>,
    },
    /// A round of the node's witness task (a claim's renewal or retry),
    /// of one series of rounds (`VirtualWitness::current`).
    WitnessRound(NodeId, u64),
}

/// One notice as it happened, for invariant checks.
#[derive(Debug, Clone)]
pub struct Record {
    pub at: Duration,
    pub node: NodeId,
    pub notice: Notice,
}

pub struct MembershipSim {
    pub options: SimOptions,
    pub net: Network,
    rng: SimRng,
    now: Duration,
    seq: u64,
    queue: BinaryHeap<Reverse<(Duration, u64, Event)>>,
    nodes: BTreeMap<NodeId, Option<SimNode>>,
    key: ClusterKey,
    /// Per node, the authkey file it (re)loads, when not the initial key.
    key_files: BTreeMap<NodeId, ClusterKey>,
    incarnations: u64,
    pub log: Vec<Record>,
    /// Datagrams sent by the node being recorded, with their receiver and
    /// time: what an attacker on the network captures (no key needed).
    recording: Option<NodeId>,
    pub recorded: Vec<(Duration, NodeId, Vec<u8>)>,
    /// The virtual etcd, when the quorum has a witness.
    pub witness: Option<VirtualWitness>,
}

impl MembershipSim {
    pub fn new(seed: u64, options: SimOptions) -> Self {
        let key = ClusterKey::derive(&[42u8; 32], "sim").unwrap_or_else(|_| unreachable!());
        let mut sim = Self {
            net: Network::new(options.faults.clone()),
            rng: SimRng::new(seed),
            now: Duration::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes: BTreeMap::new(),
            key,
            key_files: BTreeMap::new(),
            incarnations: 0,
            log: Vec::new(),
            recording: None,
            recorded: Vec::new(),
            witness: options
                .quorum
                .as_ref()
                .is_some_and(|q| q.witness)
                .then(|| VirtualWitness::new(options.witness_ttl)),
            options,
        };
        for id in 1..=sim.options.nodes {
            sim.start(id);
        }
        sim
    }

    pub fn now(&self) -> Duration {
        self.now
    }

    fn config(&self, own_id: NodeId, incarnation: u64) -> MembershipConfig {
        let nodes: BTreeSet<NodeId> = (1..=self.options.nodes).collect();
        let quorum = self.options.quorum.clone().unwrap_or_else(|| {
            QuorumConfig::with_defaults(nodes.iter().map(|&n| (n, 1)).collect())
        });
        MembershipConfig {
            own_id,
            incarnation,
            nodes,
            links: self.options.links,
            heartbeat: self.options.heartbeat,
            token_timeout: self.options.token_timeout,
            last_man_standing_window: Duration::from_secs(10),
            quorum,
        }
    }

    /// Starts (or restarts) a node with a fresh incarnation.
    pub fn start(&mut self, id: NodeId) {
        self.incarnations += 1;
        self.start_as(id, self.incarnations);
    }

    /// Starts (or restarts) a node with the given incarnation (e.g. a lower
    /// one than before: its state directory was reset).
    pub fn start_as(&mut self, id: NodeId, incarnation: u64) {
        let key = self.current_key(id);
        let node = SimNode {
            machine: Membership::new(self.config(id, incarnation), self.now),
            encoder: Encoder::new(key.clone(), id, incarnation),
            decoder: Decoder::new(key.clone(), id),
            keyring: KeyRing::new(key),
            paused_until: Duration::ZERO,
        };
        self.nodes.insert(id, Some(node));
        let jitter = Duration::from_micros(self.rng.between(0, 1000));
        self.push(self.now + jitter, Event::Tick(id));
    }

    /// The key a (re)started node reads from its authkey file.
    fn current_key(&self, id: NodeId) -> ClusterKey {
        self.key_files
            .get(&id)
            .cloned()
            .unwrap_or_else(|| self.key.clone())
    }

    /// The operator writes a new authkey file on `id` and reloads it.
    pub fn reload_key(&mut self, id: NodeId, key: ClusterKey) {
        self.key_files.insert(id, key.clone());
        if let Some(Some(node)) = self.nodes.get_mut(&id) {
            if node.keyring.load(key).is_some() {
                node.keyring.apply(&mut node.encoder, &mut node.decoder);
            }
        }
    }

    /// The ids of the keys `id` accepts, the one it sends with first.
    pub fn key_ids(&self, id: NodeId) -> Vec<u64> {
        match self.nodes.get(&id) {
            Some(Some(node)) => node.keyring.accepted_ids(),
            _ => Vec::new(),
        }
    }

    /// Captures every datagram `id` sends from now on into `recorded`.
    pub fn record(&mut self, id: NodeId) {
        self.recording = Some(id);
    }

    /// Delivers `bytes` to `to` after `after`, as an attacker injecting a
    /// captured datagram would.
    pub fn inject(&mut self, after: Duration, to: NodeId, bytes: Vec<u8>) {
        self.push(self.now + after, Event::Deliver { to, bytes });
    }

    /// A datagram sealed with the cluster key as `from` with `incarnation`
    /// (what only a key holder can make).
    pub fn seal_as(&self, from: NodeId, incarnation: u64, message: &Message) -> Vec<u8> {
        Encoder::new(self.current_key(from), from, incarnation).seal(message)
    }

    pub fn crash(&mut self, id: NodeId) {
        self.nodes.insert(id, None);
        if let Some(w) = &mut self.witness {
            w.crashed(id);
        }
    }

    /// Clean shutdown: the node says goodbye, then stops.
    pub fn leave(&mut self, id: NodeId) {
        let outputs = match self.nodes.get_mut(&id) {
            Some(Some(node)) => node.machine.leave(),
            _ => return,
        };
        self.dispatch(id, outputs);
        self.crash(id);
    }

    /// The node gets no CPU for `duration` (its timers fire late, packets queue).
    pub fn pause(&mut self, id: NodeId, duration: Duration) {
        if let Some(Some(node)) = self.nodes.get_mut(&id) {
            node.paused_until = self.now + duration;
        }
    }

    /// The node gets no CPU now (its state is as it left it).
    pub fn paused(&self, id: NodeId) -> bool {
        matches!(self.nodes.get(&id), Some(Some(n)) if n.paused_until > self.now)
    }

    pub fn machine(&self, id: NodeId) -> Option<&Membership> {
        self.nodes
            .get(&id)
            .and_then(|n| n.as_ref())
            .map(|n| &n.machine)
    }

    pub fn view(&self, id: NodeId) -> Option<View> {
        self.machine(id).map(|m| m.view().clone())
    }

    pub fn alive_nodes(&self) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.is_some())
            .map(|(&id, _)| id)
            .collect()
    }

    fn push(&mut self, at: Duration, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, event)));
    }

    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > end {
                break;
            }
            let Some(Reverse((at, _, event))) = self.queue.pop() else {
                break;
            };
            self.now = at;
            self.step(event);
        }
        self.now = end;
    }

    fn step(&mut self, event: Event) {
        let id = match &event {
            Event::Tick(id) | Event::WitnessRound(id, _) => *id,
            Event::Deliver { to, .. } => *to,
        };
        let now = self.now;
        let tick_every = self.options.heartbeat / 4;
        let Some(Some(node)) = self.nodes.get_mut(&id) else {
            return;
        };
        if node.paused_until > now {
            let resume = node.paused_until;
            self.push(resume, event);
            return;
        }
        let outputs = match event {
            Event::Tick(_) => {
                let out = node.machine.tick(now);
                self.push(now + tick_every, Event::Tick(id));
                out
            }
            Event::WitnessRound(_, generation) => {
                let Some(witness) = self.witness.as_mut() else {
                    return;
                };
                if !witness.current(id, generation) {
                    return;
                }
                let answer = witness.round(id, now);
                let every = crate::membership::witness::renew_every(
                    witness.ttl,
                    self.options.token_timeout,
                );
                self.push(now + every, Event::WitnessRound(id, generation));
                let Some(Some(node)) = self.nodes.get_mut(&id) else {
                    return;
                };
                match answer {
                    Some(event) => node.machine.witness(now, event),
                    None => Vec::new(),
                }
            }
            Event::Deliver { bytes, .. } => match node.decoder.open(&bytes) {
                Ok(d) => {
                    node.keyring.observe(d.header.sender, d.key_id, &d.message);
                    node.machine
                        .receive(now, d.header.sender, d.header.incarnation, d.message)
                }
                Err(_) => Vec::new(),
            },
        };
        self.dispatch(id, outputs);
        self.settle_keys(id);
    }

    /// The driver's side of a key rotation, as the daemon's.
    fn settle_keys(&mut self, id: NodeId) {
        let Some(Some(node)) = self.nodes.get_mut(&id) else {
            return;
        };
        let mut members = node.machine.view().members.clone();
        members.remove(&id);
        if node.keyring.settle(&members).is_some() {
            node.keyring.apply(&mut node.encoder, &mut node.decoder);
        }
    }

    fn dispatch(&mut self, from: NodeId, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send {
                    to,
                    link,
                    mut message,
                } => {
                    let Some(Some(node)) = self.nodes.get_mut(&from) else {
                        continue;
                    };
                    node.keyring.advertise(&mut message);
                    let bytes = node.encoder.seal(&message);
                    if self.recording == Some(from) {
                        self.recorded.push((self.now, to, bytes.clone()));
                    }
                    for delay in self.net.route(&mut self.rng, from, to, link) {
                        self.push(
                            self.now + delay,
                            Event::Deliver {
                                to,
                                bytes: bytes.clone(),
                            },
                        );
                    }
                }
                Output::Witness(command) => {
                    let round = self.witness.as_mut().and_then(|w| w.command(from, command));
                    if let Some(generation) = round {
                        self.push(self.now, Event::WitnessRound(from, generation));
                    }
                }
                Output::Notice(notice) => {
                    self.log.push(Record {
                        at: self.now,
                        node: from,
                        notice,
                    });
                }
            }
        }
    }

    /// Checks that the live nodes of each group agree on one view whose
    /// members are exactly the group's live nodes.
    pub fn assert_groups_agree(&self, groups: &[&[NodeId]]) {
        for group in groups {
            let live: BTreeSet<NodeId> = group
                .iter()
                .copied()
                .filter(|n| self.machine(*n).is_some())
                .collect();
            let views: Vec<(NodeId, View)> = live
                .iter()
                .filter_map(|&n| self.view(n).map(|v| (n, v)))
                .collect();
            for (n, v) in &views {
                assert_eq!(
                    v.members, live,
                    "node {n} view {v:?} should hold exactly {live:?} at {:?}",
                    self.now
                );
                assert_eq!(
                    v.id, views[0].1.id,
                    "node {n} disagrees on the view id: {views:?}"
                );
            }
        }
    }
}
