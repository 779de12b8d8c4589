//! Changing the cluster key without partitioning the cluster (sans-IO), as
//! corosync/knet do it: for a while two keys are accepted.
//!
//! 1. The operator installs the new authkey file on every node and has
//!    each node reload it (in any order, one at a time). A node that loads
//!    a new key accepts both keys and keeps sending with the old one; its
//!    heartbeats advertise the ids of the keys it accepts.
//! 2. Once every member of its view advertises the new key, it sends with
//!    the new key (every member can open it).
//! 3. Once every member's latest datagram was sealed with the new key, it
//!    forgets the old one.
//!
//! A node that was down during the rotation comes back with the new file
//! and speaks the new key only; one that kept the old file can no longer
//! join (its datagrams count as forged) until it gets the new one.

use std::collections::{BTreeMap, BTreeSet};

use super::codec::{ClusterKey, Decoder, Encoder};
use super::message::{Message, NodeId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// One key.
    Stable,
    /// `other` is the new key: accepted, not yet sent with.
    Introducing,
    /// `other` is the old key: accepted until every member sends with the new.
    Retiring,
}

/// What a peer told us about its keys.
#[derive(Debug, Clone, Default)]
struct PeerKeys {
    /// The ids its latest heartbeat advertised.
    accepts: Vec<u64>,
    /// The id of the key its latest datagram was sealed with.
    sends: Option<u64>,
}

/// The keys this node accepts and sends with.
#[derive(Debug, Clone)]
pub struct KeyRing {
    sending: ClusterKey,
    other: Option<ClusterKey>,
    phase: Phase,
    peers: BTreeMap<NodeId, PeerKeys>,
}

/// Where a rotation stands, for `paceline status`: key ids as the log
/// writes them (16 hex digits).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyStatus {
    /// The key this node seals its datagrams with.
    pub sending: String,
    /// The keys it opens datagrams with, the one sent with first.
    pub accepted: Vec<String>,
    /// `stable`, `introducing` (the new key is accepted; it is sent with
    /// once every member accepts it) or `retiring` (the old key is
    /// accepted until every member sends with the new one).
    pub step: String,
    /// The members the next step waits for.
    pub waiting_for: Vec<NodeId>,
}

/// A key id as the log and the status write it.
pub fn key_id(id: u64) -> String {
    format!("{id:016x}")
}

/// What a step of the rotation changed; the driver then calls [`KeyRing::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChange {
    /// A new key is accepted besides the one sent with.
    Introduced { id: u64 },
    /// A reload gave back the key in use: the new one is no longer accepted.
    Withdrawn { id: u64 },
    /// Every member accepts the new key: it is sent with now.
    Switched { id: u64 },
    /// Every member sends with the new key: the old one is refused now.
    Retired { id: u64 },
}

impl KeyRing {
    pub fn new(key: ClusterKey) -> Self {
        Self {
            sending: key,
            other: None,
            phase: Phase::Stable,
            peers: BTreeMap::new(),
        }
    }

    /// The ids of the accepted keys, the one sent with first.
    pub fn accepted_ids(&self) -> Vec<u64> {
        self.accepted().iter().map(ClusterKey::id).collect()
    }

    fn accepted(&self) -> Vec<ClusterKey> {
        let mut keys = vec![self.sending.clone()];
        keys.extend(self.other.clone());
        keys
    }

    /// The id of the key sent with.
    pub fn sending_id(&self) -> u64 {
        self.sending.id()
    }

    /// A key file (re)loaded by the operator.
    pub fn load(&mut self, key: ClusterKey) -> Option<KeyChange> {
        if key.id() == self.sending.id() {
            if self.phase == Phase::Introducing {
                let withdrawn = self.other.take().map(|k| k.id());
                self.phase = Phase::Stable;
                return withdrawn.map(|id| KeyChange::Withdrawn { id });
            }
            return None;
        }
        if self.phase == Phase::Introducing
            && self.other.as_ref().map(ClusterKey::id) == Some(key.id())
        {
            return None;
        }
        let id = key.id();
        self.other = Some(key);
        self.phase = Phase::Introducing;
        Some(KeyChange::Introduced { id })
    }

    /// Every authentic datagram of a configured peer: the key that opened
    /// it and, for a heartbeat, the keys it advertises.
    pub fn observe(&mut self, from: NodeId, opened_with: u64, message: &Message) {
        let peer = self.peers.entry(from).or_default();
        peer.sends = Some(opened_with);
        if let Message::Heartbeat(hb) = message {
            peer.accepts.clone_from(&hb.keys);
        }
    }

    /// Fills in the keys a heartbeat advertises.
    pub fn advertise(&self, message: &mut Message) {
        if let Message::Heartbeat(hb) = message {
            hb.keys = self.accepted_ids();
        }
    }

    /// Where the rotation stands, given the view's other `members`.
    pub fn status(&self, members: &BTreeSet<NodeId>) -> KeyStatus {
        let other = self.other.as_ref().map(ClusterKey::id);
        let lacking = |ok: &dyn Fn(&PeerKeys) -> bool| {
            members
                .iter()
                .copied()
                .filter(|m| !self.peers.get(m).is_some_and(ok))
                .collect()
        };
        let (step, waiting_for) = match (self.phase, other) {
            (Phase::Introducing, Some(new)) => {
                ("introducing", lacking(&|p| p.accepts.contains(&new)))
            }
            (Phase::Retiring, Some(_)) => {
                ("retiring", lacking(&|p| p.sends == Some(self.sending.id())))
            }
            _ => ("stable", Vec::new()),
        };
        KeyStatus {
            sending: key_id(self.sending.id()),
            accepted: self.accepted_ids().into_iter().map(key_id).collect(),
            step: step.into(),
            waiting_for,
        }
    }

    /// Moves the rotation on given the view's other `members`.
    pub fn settle(&mut self, members: &BTreeSet<NodeId>) -> Option<KeyChange> {
        let other_id = self.other.as_ref()?.id();
        let everyone = |ok: &dyn Fn(&PeerKeys) -> bool| {
            members.iter().all(|m| self.peers.get(m).is_some_and(ok))
        };
        match self.phase {
            Phase::Introducing if everyone(&|p| p.accepts.contains(&other_id)) => {
                let new = self.other.take()?;
                self.other = Some(std::mem::replace(&mut self.sending, new));
                self.phase = Phase::Retiring;
                Some(KeyChange::Switched { id: other_id })
            }
            Phase::Retiring if everyone(&|p| p.sends == Some(self.sending.id())) => {
                self.other = None;
                self.phase = Phase::Stable;
                Some(KeyChange::Retired { id: other_id })
            }
            _ => None,
        }
    }

    /// Gives the encoder and the decoder the keys of the current step.
    pub fn apply(&self, encoder: &mut Encoder, decoder: &mut Decoder) {
        encoder.set_key(self.sending.clone());
        decoder.set_keys(self.accepted());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Heartbeat, ViewSummary};

    fn key(byte: u8) -> ClusterKey {
        ClusterKey::derive(&[byte; 32], "c").unwrap()
    }

    fn hb(keys: Vec<u64>) -> Message {
        Message::Heartbeat(Heartbeat {
            link: 0,
            stamp: 1,
            heard: vec![],
            view: ViewSummary {
                id: 1,
                members: vec![1, 2],
            },
            keys,
            speaks: crate::wire::VersionRange::SPOKEN,
        })
    }

    #[test]
    fn a_new_key_is_sent_with_once_every_member_accepts_it_and_the_old_one_retired_after() {
        let (old, new) = (key(1), key(2));
        let mut ring = KeyRing::new(old.clone());
        let members: BTreeSet<NodeId> = [2, 3].into();
        assert_eq!(ring.load(old.clone()), None);
        assert_eq!(
            ring.load(new.clone()),
            Some(KeyChange::Introduced { id: new.id() })
        );
        assert_eq!(ring.accepted_ids(), vec![old.id(), new.id()]);
        ring.observe(2, old.id(), &hb(vec![old.id(), new.id()]));
        ring.observe(3, old.id(), &hb(vec![old.id()]));
        assert_eq!(ring.settle(&members), None, "node 3 lacks the new key");
        let status = ring.status(&members);
        assert_eq!(status.step, "introducing");
        assert_eq!(status.sending, key_id(old.id()));
        assert_eq!(status.accepted, vec![key_id(old.id()), key_id(new.id())]);
        assert_eq!(status.waiting_for, vec![3]);
        ring.observe(3, old.id(), &hb(vec![old.id(), new.id()]));
        assert_eq!(
            ring.settle(&members),
            Some(KeyChange::Switched { id: new.id() })
        );
        assert_eq!(ring.sending_id(), new.id());
        ring.observe(2, new.id(), &hb(vec![new.id(), old.id()]));
        assert_eq!(ring.settle(&members), None, "node 3 still sends the old");
        let status = ring.status(&members);
        assert_eq!(
            (status.step.as_str(), status.sending, status.waiting_for),
            ("retiring", key_id(new.id()), vec![3])
        );
        ring.observe(3, new.id(), &Message::Leave);
        assert_eq!(
            ring.settle(&members),
            Some(KeyChange::Retired { id: old.id() })
        );
        assert_eq!(ring.accepted_ids(), vec![new.id()]);
        let status = ring.status(&members);
        assert_eq!(
            (status.step.as_str(), status.accepted),
            ("stable", vec![key_id(new.id())])
        );
    }

    #[test]
    fn reloading_the_key_in_use_withdraws_a_new_one_not_yet_sent_with() {
        let (old, new) = (key(1), key(2));
        let mut ring = KeyRing::new(old.clone());
        ring.load(new.clone());
        assert_eq!(
            ring.load(old.clone()),
            Some(KeyChange::Withdrawn { id: new.id() })
        );
        assert_eq!(ring.accepted_ids(), vec![old.id()]);
    }
}
