//! A virtual etcd for the witness (issue 19): one key, one lease per
//! node process, etcd's clock the simulator's. It carries out the
//! membership's `WitnessCommand`s as the daemon's etcd task does (claim:
//! create the key under this node's lease when absent, rewrite it when
//! this node's lease holds it; renew; release: revoke) and answers with
//! `WitnessEvent`s. Tests cut nodes off from it or take it down.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::membership::witness::may_take;
use crate::membership::{WitnessCommand, WitnessEvent};
use crate::wire::NodeId;

/// The key as etcd holds it: under `lease` of `holder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub holder: NodeId,
    lease: u64,
    pub members: BTreeSet<NodeId>,
}

#[derive(Debug, Clone)]
pub struct VirtualWitness {
    pub ttl: Duration,
    key: Option<Key>,
    /// The members the key last named (`<prefix>/last`, without a lease).
    last: Option<BTreeSet<NodeId>>,
    /// Every lease granted, by id: when etcd expires it.
    leases: BTreeMap<u64, Duration>,
    /// The lease of each node's current process.
    own: BTreeMap<NodeId, u64>,
    next_lease: u64,
    /// What each node's task claims, and the generation of its rounds
    /// (a new claim starts a new series; older rounds are dropped).
    claims: BTreeMap<NodeId, (BTreeSet<NodeId>, u64)>,
    /// Nodes whose claim lifts the last-partition rule (`cluster unblock`).
    unblocked: BTreeSet<NodeId>,
    /// Nodes that cannot reach etcd.
    pub cut_off: BTreeSet<NodeId>,
    /// etcd answers nobody.
    pub down: bool,
}

impl VirtualWitness {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            key: None,
            last: None,
            leases: BTreeMap::new(),
            own: BTreeMap::new(),
            next_lease: 1,
            claims: BTreeMap::new(),
            unblocked: BTreeSet::new(),
            cut_off: BTreeSet::new(),
            down: false,
        }
    }

    /// The key at `now` (gone once its lease expired).
    pub fn key(&self, now: Duration) -> Option<&Key> {
        self.key.as_ref().filter(|k| self.lease_alive(k.lease, now))
    }

    fn lease_alive(&self, id: u64, now: Duration) -> bool {
        self.leases.get(&id).is_some_and(|&expires| now < expires)
    }

    /// A command from `node`; the generation of the round to run now, if one.
    pub fn command(&mut self, node: NodeId, command: WitnessCommand) -> Option<u64> {
        match command {
            WitnessCommand::Claim {
                members, unblocked, ..
            } => {
                let generation = self.claims.get(&node).map_or(0, |(_, g)| g + 1);
                self.claims.insert(node, (members, generation));
                if unblocked {
                    self.unblocked.insert(node);
                } else {
                    self.unblocked.remove(&node);
                }
                Some(generation)
            }
            WitnessCommand::Release => {
                self.claims.remove(&node);
                if let Some(lease) = self.own.remove(&node)
                    && self.leases.remove(&lease).is_some()
                    && self.key.as_ref().is_some_and(|k| k.lease == lease)
                {
                    self.key = None;
                }
                None
            }
        }
    }

    /// The node's process is gone: its task stops; its lease stays in
    /// etcd until it expires.
    pub fn crashed(&mut self, node: NodeId) {
        self.claims.remove(&node);
        self.own.remove(&node);
    }

    /// Whether round `generation` of `node` is the current one.
    pub fn current(&self, node: NodeId, generation: u64) -> bool {
        self.claims
            .get(&node)
            .is_some_and(|(_, g)| *g == generation)
    }

    /// One round of `node`'s claim at `now`: renew or grant its lease,
    /// then the transaction on the key.
    pub fn round(&mut self, node: NodeId, now: Duration) -> Option<WitnessEvent> {
        let members = self.claims.get(&node)?.0.clone();
        if self.down || self.cut_off.contains(&node) {
            return Some(WitnessEvent::Unreachable {
                why: "no answer (simulated)".into(),
            });
        }
        if self.key(now).is_none() {
            self.key = None;
        }
        let lease = match self.own.get(&node) {
            Some(&id) if self.lease_alive(id, now) => id,
            _ => {
                self.next_lease += 1;
                self.next_lease
            }
        };
        self.leases.insert(lease, now + self.ttl);
        self.own.insert(node, lease);
        match &mut self.key {
            None if !self.unblocked.contains(&node) && !may_take(self.last.as_ref(), &members) => {
                return Some(WitnessEvent::LastServedOthers {
                    last: self.last.clone().unwrap_or_default(),
                });
            }
            None => {
                self.key = Some(Key {
                    holder: node,
                    lease,
                    members: members.clone(),
                });
                self.last = Some(members.clone());
            }
            Some(k) if k.lease == lease => {
                k.members = members.clone();
                self.last = Some(members.clone());
            }
            Some(k) => {
                return Some(WitnessEvent::HeldElsewhere {
                    holder: format!("node {}", k.holder),
                });
            }
        }
        Some(WitnessEvent::Granted {
            members,
            sent_at: now,
            ttl: self.ttl,
        })
    }
}
