//! The reliable cluster channel, sans-IO: ordered, acknowledged delivery of
//! payloads of any size (up to a bound) to each peer over the lossy sealed
//! datagrams.
//!
//! - Every payload gets the next per-peer sequence number and is cut into
//!   fragments of at most [`FRAGMENT_BYTES`], so each datagram stays below
//!   the IPv6 minimum MTU.
//! - The receiver reassembles, delivers in sequence order, and acknowledges
//!   cumulatively (`through`) plus the complete messages it holds beyond a
//!   gap (`also`), so the sender retransmits only what is missing.
//! - The sender retransmits every unacknowledged message of its window on
//!   `tick` once `retransmit_ms` has passed since it last sent it, doubled
//!   for each time it was sent already, up to [`RETRANSMIT_BACKOFF_MAX`]
//!   doublings (as TCP backs off its RTO): a peer whose event loop is busy
//!   acknowledges late, and resending the whole window every 200 ms to it
//!   (megabytes of sealing per tick) kept both loops busier still.
//! - Every data frame carries the lowest sequence number the sender still
//!   holds (`first_unacked`): when the sender abandoned messages (the peer
//!   restarted, or it was reset after a loss), the receiver skips the gap
//!   instead of waiting forever.
//! - A new incarnation of the peer (it restarted) drops what was addressed to
//!   the old one and resets what was received from it; frames addressed to
//!   an earlier incarnation of this node are ignored.
//! - Everything is bounded: unacknowledged messages and bytes per peer, the
//!   size of one message, the receive window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::message::NodeId;

/// Payload bytes per fragment: with the sealed header, the AEAD tag and the
/// frame's own fields a datagram stays below 1280 bytes.
pub const FRAGMENT_BYTES: usize = 1200;

/// One datagram's worth of channel traffic (inside `Message::Channel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    Data {
        /// The receiver's incarnation as the sender knows it (0: not yet heard).
        to_incarnation: u64,
        seq: u64,
        /// The lowest sequence number the sender still holds.
        first_unacked: u64,
        index: u32,
        count: u32,
        bytes: Vec<u8>,
    },
    Ack {
        /// The incarnation of the data's sender this acknowledges.
        to_incarnation: u64,
        /// Every message up to this sequence number was delivered.
        through: u64,
        /// Further complete messages held beyond a gap.
        also: Vec<u64>,
    },
}

/// How many times the retransmission interval of one message doubles at
/// most (200 ms, then 400 ms, ... up to 3.2 s).
pub const RETRANSMIT_BACKOFF_MAX: u32 = 4;

/// Bounds and timers of the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Messages in flight (and accepted beyond a gap) per peer.
    pub window: u64,
    pub max_unacked_messages: usize,
    pub max_unacked_bytes: usize,
    pub max_message_bytes: usize,
    pub retransmit_ms: u64,
}

impl Default for ChannelLimits {
    fn default() -> Self {
        ChannelLimits {
            window: 32,
            max_unacked_messages: 512,
            max_unacked_bytes: 16 << 20,
            max_message_bytes: 4 << 20,
            retransmit_ms: 200,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("message of {size} bytes exceeds the channel limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "{messages} messages ({bytes} bytes) to node {peer} are still unacknowledged; is it reachable?"
    )]
    Full {
        peer: NodeId,
        messages: usize,
        bytes: usize,
    },
}

/// Counters exported in status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCounters {
    pub sent_messages: u64,
    pub delivered_messages: u64,
    pub retransmitted_fragments: u64,
    pub duplicate_fragments: u64,
    /// Messages dropped unacknowledged because the peer restarted or was reset.
    pub abandoned_messages: u64,
    /// Frames refused: outside the window, malformed, or for an old incarnation.
    pub refused_frames: u64,
}

/// What a received frame produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Complete payloads, in the sender's order.
    pub delivered: Vec<Vec<u8>>,
    /// Frames to send back (acknowledgements, freed window).
    pub send: Vec<(NodeId, Frame)>,
}

#[derive(Debug)]
struct Outgoing {
    payload: Vec<u8>,
    last_sent_ms: Option<u64>,
    /// How many times it was sent (the retransmission backs off).
    sends: u32,
}

#[derive(Debug, Default)]
struct Partial {
    count: u32,
    fragments: BTreeMap<u32, Vec<u8>>,
}

#[derive(Debug)]
struct Peer {
    /// 0 until heard.
    incarnation: u64,
    next_seq: u64,
    unacked: BTreeMap<u64, Outgoing>,
    unacked_bytes: usize,
    delivered_through: u64,
    partial: BTreeMap<u64, Partial>,
    /// Bytes held in `partial`, bounded by `max_unacked_bytes`.
    partial_bytes: usize,
    complete: BTreeMap<u64, Vec<u8>>,
}

impl Default for Peer {
    fn default() -> Self {
        Peer {
            incarnation: 0,
            next_seq: 1,
            unacked: BTreeMap::new(),
            unacked_bytes: 0,
            delivered_through: 0,
            partial: BTreeMap::new(),
            partial_bytes: 0,
            complete: BTreeMap::new(),
        }
    }
}

impl Peer {
    fn first_unacked(&self) -> u64 {
        self.unacked.keys().next().copied().unwrap_or(self.next_seq)
    }

    fn reset_receive(&mut self) {
        self.delivered_through = 0;
        self.partial.clear();
        self.partial_bytes = 0;
        self.complete.clear();
    }

    fn recount_partial(&mut self) {
        self.partial_bytes = self
            .partial
            .values()
            .flat_map(|p| p.fragments.values())
            .map(Vec::len)
            .sum();
    }

    /// Moves the complete messages that are next in order to `out`.
    fn drain_in_order(&mut self, out: &mut Vec<Vec<u8>>) {
        while let Some(next) = self.delivered_through.checked_add(1) {
            let Some(payload) = self.complete.remove(&next) else {
                break;
            };
            self.delivered_through = next;
            out.push(payload);
        }
    }

    fn abandon_sends(&mut self) -> u64 {
        let n = self.unacked.len() as u64;
        self.unacked.clear();
        self.unacked_bytes = 0;
        n
    }

    fn ack(&self) -> Frame {
        Frame::Ack {
            to_incarnation: self.incarnation,
            through: self.delivered_through,
            also: self.complete.keys().copied().collect(),
        }
    }
}

/// The channel of one node to all its peers.
#[derive(Debug)]
pub struct Channel {
    own_incarnation: u64,
    limits: ChannelLimits,
    peers: BTreeMap<NodeId, Peer>,
    counters: ChannelCounters,
}

fn fragments(payload: &[u8]) -> impl Iterator<Item = (u32, u32, &[u8])> {
    let count = payload.len().div_ceil(FRAGMENT_BYTES).max(1) as u32;
    (0..count).map(move |i| {
        let start = i as usize * FRAGMENT_BYTES;
        let end = (start + FRAGMENT_BYTES).min(payload.len());
        (i, count, &payload[start..end])
    })
}

impl Channel {
    pub fn new(own_incarnation: u64, limits: ChannelLimits) -> Self {
        Channel {
            own_incarnation,
            limits,
            peers: BTreeMap::new(),
            counters: ChannelCounters::default(),
        }
    }

    pub fn counters(&self) -> &ChannelCounters {
        &self.counters
    }

    /// Messages to `peer` not yet acknowledged.
    pub fn unacked(&self, peer: NodeId) -> usize {
        self.peers.get(&peer).map_or(0, |p| p.unacked.len())
    }

    /// The peer's incarnation as its driver knows it (the daemon: the one
    /// membership proved live); another one than before means the peer
    /// restarted, also a lower one (its clock or state directory went back).
    /// Returns whether state was reset.
    pub fn observe(&mut self, peer: NodeId, incarnation: u64) -> bool {
        let p = self.peers.entry(peer).or_default();
        if incarnation == p.incarnation {
            return false;
        }
        let restarted = p.incarnation != 0;
        p.incarnation = incarnation;
        if restarted {
            // What the old process did not acknowledge died with it; what
            // it sent us belongs to a stream that no longer exists.
            self.counters.abandoned_messages += p.abandon_sends();
            p.reset_receive();
        }
        restarted
    }

    /// Drops what is queued for `peer` (it left or was lost: what was queued
    /// belongs to a view that is gone). Sequence numbers go on, so the peer
    /// skips the gap if it comes back without a restart.
    pub fn abandon(&mut self, peer: NodeId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            self.counters.abandoned_messages += p.abandon_sends();
        }
    }

    /// Queues `payload` for `to`; returns the frames to send now.
    pub fn send(
        &mut self,
        now_ms: u64,
        to: NodeId,
        payload: Vec<u8>,
    ) -> Result<Vec<(NodeId, Frame)>, ChannelError> {
        if payload.len() > self.limits.max_message_bytes {
            return Err(ChannelError::TooLarge {
                size: payload.len(),
                limit: self.limits.max_message_bytes,
            });
        }
        let limits = self.limits;
        let p = self.peers.entry(to).or_default();
        if p.unacked.len() >= limits.max_unacked_messages
            || p.unacked_bytes + payload.len() > limits.max_unacked_bytes
        {
            return Err(ChannelError::Full {
                peer: to,
                messages: p.unacked.len(),
                bytes: p.unacked_bytes,
            });
        }
        let seq = p.next_seq;
        p.next_seq += 1;
        p.unacked_bytes += payload.len();
        p.unacked.insert(
            seq,
            Outgoing {
                payload,
                last_sent_ms: None,
                sends: 0,
            },
        );
        self.counters.sent_messages += 1;
        Ok(self.transmit_due(now_ms, to, false))
    }

    /// Retransmissions (and sends the window now allows).
    pub fn tick(&mut self, now_ms: u64) -> Vec<(NodeId, Frame)> {
        let peers: Vec<NodeId> = self.peers.keys().copied().collect();
        peers
            .into_iter()
            .flat_map(|peer| self.transmit_due(now_ms, peer, true))
            .collect()
    }

    /// Frames of the messages in the window that were never sent or (when
    /// `retransmit`) whose retransmission time has come.
    fn transmit_due(&mut self, now_ms: u64, to: NodeId, retransmit: bool) -> Vec<(NodeId, Frame)> {
        let limits = self.limits;
        let Some(p) = self.peers.get_mut(&to) else {
            return Vec::new();
        };
        let first_unacked = p.first_unacked();
        let to_incarnation = p.incarnation;
        let mut out = Vec::new();
        for (&seq, msg) in p.unacked.range_mut(..first_unacked + limits.window) {
            let backoff = msg.sends.saturating_sub(1).min(RETRANSMIT_BACKOFF_MAX);
            let due = match msg.last_sent_ms {
                None => true,
                Some(at) => {
                    retransmit && now_ms.saturating_sub(at) >= limits.retransmit_ms << backoff
                }
            };
            if !due {
                continue;
            }
            let again = msg.last_sent_ms.is_some();
            msg.last_sent_ms = Some(now_ms);
            msg.sends = msg.sends.saturating_add(1);
            for (index, count, bytes) in fragments(&msg.payload) {
                if again {
                    self.counters.retransmitted_fragments += 1;
                }
                out.push((
                    to,
                    Frame::Data {
                        to_incarnation,
                        seq,
                        first_unacked,
                        index,
                        count,
                        bytes: bytes.to_vec(),
                    },
                ));
            }
        }
        out
    }

    /// Handles a frame from `from` (whose datagram carried `incarnation`).
    pub fn receive(
        &mut self,
        now_ms: u64,
        from: NodeId,
        incarnation: u64,
        frame: Frame,
    ) -> Received {
        let known = self.peers.get(&from).map_or(0, |p| p.incarnation);
        if incarnation < known {
            // A stray frame of the peer's previous process.
            self.counters.refused_frames += 1;
            return Received::default();
        }
        self.observe(from, incarnation);
        match frame {
            Frame::Ack {
                to_incarnation,
                through,
                also,
            } => {
                if to_incarnation != self.own_incarnation {
                    self.counters.refused_frames += 1;
                    return Received::default();
                }
                let Some(p) = self.peers.get_mut(&from) else {
                    return Received::default();
                };
                let acked: Vec<u64> = p
                    .unacked
                    .range(..=through)
                    .map(|(&s, _)| s)
                    .chain(also.into_iter().filter(|s| p.unacked.contains_key(s)))
                    .collect();
                for seq in acked {
                    if let Some(m) = p.unacked.remove(&seq) {
                        p.unacked_bytes -= m.payload.len();
                    }
                }
                // The window may have moved: send what it now admits.
                Received {
                    delivered: Vec::new(),
                    send: self.transmit_due(now_ms, from, false),
                }
            }
            Frame::Data {
                to_incarnation,
                seq,
                first_unacked,
                index,
                count,
                bytes,
            } => self.receive_data(
                from,
                to_incarnation,
                seq,
                first_unacked,
                index,
                count,
                bytes,
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn receive_data(
        &mut self,
        from: NodeId,
        to_incarnation: u64,
        seq: u64,
        first_unacked: u64,
        index: u32,
        count: u32,
        bytes: Vec<u8>,
    ) -> Received {
        let limits = self.limits;
        let own = self.own_incarnation;
        let max_fragments = limits.max_message_bytes.div_ceil(FRAGMENT_BYTES) as u32;
        if (to_incarnation != 0 && to_incarnation != own)
            || count == 0
            || count > max_fragments.max(1)
            || index >= count
            || bytes.len() > FRAGMENT_BYTES
            || first_unacked > seq
        {
            self.counters.refused_frames += 1;
            return Received::default();
        }
        let p = self.peers.entry(from).or_default();
        let mut delivered = Vec::new();
        // Saturating: sequence numbers are the sender's to choose, up to u64::MAX.
        if first_unacked > p.delivered_through.saturating_add(1) {
            // The sender gave up on what lies before: what is missing is
            // lost, what arrived whole (and was acknowledged) is delivered,
            // in order, and so is what follows without a gap.
            let skip_to = first_unacked - 1;
            let kept = p.complete.split_off(&(skip_to + 1));
            delivered.extend(std::mem::replace(&mut p.complete, kept).into_values());
            p.partial.retain(|&s, _| s > skip_to);
            p.recount_partial();
            p.delivered_through = skip_to;
            p.drain_in_order(&mut delivered);
        }
        let outcome = |this: &mut ChannelCounters, delivered: Vec<Vec<u8>>, ack: Option<Frame>| {
            this.delivered_messages += delivered.len() as u64;
            Received {
                delivered,
                send: ack.map(|a| vec![(from, a)]).unwrap_or_default(),
            }
        };
        if seq <= p.delivered_through || p.complete.contains_key(&seq) {
            // Our ack was lost: say it again.
            self.counters.duplicate_fragments += 1;
            let ack = p.ack();
            return outcome(&mut self.counters, delivered, Some(ack));
        }
        if seq > p.delivered_through.saturating_add(limits.window) {
            self.counters.refused_frames += 1;
            return outcome(&mut self.counters, delivered, None);
        }
        let partial = p.partial.entry(seq).or_default();
        if partial.count == 0 {
            partial.count = count;
        }
        if partial.count != count {
            self.counters.refused_frames += 1;
            return outcome(&mut self.counters, delivered, None);
        }
        let already = p.partial_bytes;
        match partial.fragments.entry(index) {
            std::collections::btree_map::Entry::Occupied(_) => {
                self.counters.duplicate_fragments += 1;
            }
            std::collections::btree_map::Entry::Vacant(_)
                if already + bytes.len() > limits.max_unacked_bytes =>
            {
                // A sender flooding partial messages does not get more memory.
                self.counters.refused_frames += 1;
                return outcome(&mut self.counters, delivered, None);
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                p.partial_bytes += bytes.len();
                slot.insert(bytes);
            }
        }
        if partial.fragments.len() as u32 == count {
            if let Some(done) = p.partial.remove(&seq) {
                let payload: Vec<u8> = done.fragments.into_values().flatten().collect();
                p.partial_bytes -= payload.len();
                p.complete.insert(seq, payload);
            }
            p.drain_in_order(&mut delivered);
            let ack = p.ack();
            return outcome(&mut self.counters, delivered, Some(ack));
        }
        outcome(&mut self.counters, delivered, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::net::{NetFaults, Network};
    use crate::sim::rng::SimRng;
    use std::collections::BinaryHeap;
    use std::time::Duration;

    /// Two channels over the simulated network; returns what node 2 got
    /// from node 1, in order, after `ms` of virtual time.
    struct Pair {
        a: Channel,
        b: Channel,
        net: Network,
        rng: SimRng,
        /// (reverse time, tiebreak, to, frame)
        queue: BinaryHeap<(std::cmp::Reverse<u64>, u64, NodeId, FrameBox)>,
        counter: u64,
        now: u64,
        got_b: Vec<Vec<u8>>,
        got_a: Vec<Vec<u8>>,
    }

    #[derive(Debug, PartialEq, Eq)]
    struct FrameBox(Frame);
    impl PartialOrd for FrameBox {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for FrameBox {
        fn cmp(&self, _: &Self) -> std::cmp::Ordering {
            std::cmp::Ordering::Equal
        }
    }

    const INC_A: u64 = 100;
    const INC_B: u64 = 200;

    impl Pair {
        fn new(seed: u64, faults: NetFaults) -> Self {
            Pair {
                a: Channel::new(INC_A, ChannelLimits::default()),
                b: Channel::new(INC_B, ChannelLimits::default()),
                net: Network::new(faults),
                rng: SimRng::new(seed),
                queue: BinaryHeap::new(),
                counter: 0,
                now: 0,
                got_b: Vec::new(),
                got_a: Vec::new(),
            }
        }

        fn post(&mut self, from: NodeId, frames: Vec<(NodeId, Frame)>) {
            for (to, frame) in frames {
                for delay in self.net.route(&mut self.rng, from, to, 0) {
                    self.counter += 1;
                    let at = self.now + delay.as_millis() as u64;
                    self.queue.push((
                        std::cmp::Reverse(at),
                        self.counter,
                        to,
                        FrameBox(frame.clone()),
                    ));
                }
            }
        }

        fn run_until(&mut self, end: u64) {
            while self.now < end {
                let next_tick = (self.now / 50 + 1) * 50;
                while let Some((std::cmp::Reverse(at), _, _, _)) = self.queue.peek() {
                    if *at > next_tick {
                        break;
                    }
                    let Some((std::cmp::Reverse(at), _, to, FrameBox(frame))) = self.queue.pop()
                    else {
                        break;
                    };
                    self.now = self.now.max(at);
                    if to == 2 {
                        let r = self.b.receive(self.now, 1, INC_A, frame);
                        self.got_b.extend(r.delivered);
                        self.post(2, r.send);
                    } else {
                        let r = self.a.receive(self.now, 2, INC_B, frame);
                        self.got_a.extend(r.delivered);
                        self.post(1, r.send);
                    }
                }
                self.now = next_tick;
                let out = self.a.tick(self.now);
                self.post(1, out);
                let out = self.b.tick(self.now);
                self.post(2, out);
            }
        }
    }

    fn payload(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i * 31 + j) as u8).collect()
    }

    #[test]
    fn lossy_duplicating_reordering_network_delivers_everything_once_in_order() {
        for seed in 0..40 {
            let faults = NetFaults {
                loss: 0.2,
                duplicate: 0.1,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(80),
            };
            let mut pair = Pair::new(seed, faults);
            let sizes = [10, 1200, 1201, 5000, 0, 30_000, 77, 2400];
            let mut want = Vec::new();
            for (i, &len) in sizes.iter().enumerate() {
                let p = payload(i, len);
                want.push(p.clone());
                let frames = pair.a.send(pair.now, 2, p).unwrap();
                pair.post(1, frames);
                let back = pair.b.send(pair.now, 1, payload(i + 100, len / 3)).unwrap();
                pair.post(2, back);
            }
            pair.run_until(60_000);
            assert_eq!(pair.got_b, want, "seed {seed}");
            assert_eq!(pair.got_a.len(), sizes.len(), "seed {seed}");
            assert_eq!(pair.a.unacked(2), 0, "seed {seed}: all acknowledged");
            assert_eq!(pair.b.unacked(1), 0, "seed {seed}: all acknowledged");
        }
    }

    /// A peer that does not acknowledge (its loop is busy) is sent a
    /// message again after 200, 400, 800, 1600 ms, then every 3.2 s: not
    /// every 200 ms, which kept both loops sealing megabytes per tick.
    #[test]
    fn retransmissions_to_a_silent_peer_back_off() {
        let mut a = Channel::new(INC_A, ChannelLimits::default());
        a.observe(2, INC_B);
        assert_eq!(a.send(0, 2, payload(0, 50)).unwrap().len(), 1);
        let mut sent_at = Vec::new();
        for now in (50..=12_000).step_by(50) {
            if !a.tick(now).is_empty() {
                sent_at.push(now);
            }
        }
        assert_eq!(sent_at, vec![200, 600, 1400, 3000, 6200, 9400]);
    }

    #[test]
    fn more_messages_than_the_window_all_arrive() {
        let mut pair = Pair::new(
            7,
            NetFaults {
                loss: 0.05,
                duplicate: 0.0,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(20),
            },
        );
        let n = ChannelLimits::default().window as usize * 3;
        for i in 0..n {
            let frames = pair.a.send(0, 2, payload(i, 50)).unwrap();
            pair.post(1, frames);
        }
        pair.run_until(30_000);
        let want: Vec<Vec<u8>> = (0..n).map(|i| payload(i, 50)).collect();
        assert_eq!(pair.got_b.len(), want.len());
        assert!(pair.got_b == want, "out of order");
    }

    #[test]
    fn peer_restart_abandons_old_sends_and_resets_receipts() {
        let mut a = Channel::new(INC_A, ChannelLimits::default());
        let mut b = Channel::new(INC_B, ChannelLimits::default());
        a.observe(2, INC_B);
        // a sends 2 messages b never gets, then b restarts.
        a.send(0, 2, vec![1]).unwrap();
        a.send(0, 2, vec![2]).unwrap();
        assert_eq!(a.unacked(2), 2);
        assert!(a.observe(2, INC_B + 1));
        assert_eq!(a.unacked(2), 0);
        assert_eq!(a.counters().abandoned_messages, 2);
        // A frame addressed to b's old incarnation is refused by b's new self.
        let mut b2 = Channel::new(INC_B + 1, ChannelLimits::default());
        let stale = Frame::Data {
            to_incarnation: INC_B,
            seq: 1,
            first_unacked: 1,
            index: 0,
            count: 1,
            bytes: vec![1],
        };
        assert_eq!(b2.receive(0, 1, INC_A, stale).delivered.len(), 0);
        // The next message (seq 3) reaches the new incarnation: it skips the gap.
        let frames = a.send(0, 2, vec![3]).unwrap();
        let mut got = Vec::new();
        for (_, f) in frames {
            got.extend(b2.receive(0, 1, INC_A, f).delivered);
        }
        assert_eq!(got, vec![vec![3]]);
        // And the sender restarting resets what b had received from it.
        let f = |seq| Frame::Data {
            to_incarnation: INC_B,
            seq,
            first_unacked: 1,
            index: 0,
            count: 1,
            bytes: vec![seq as u8],
        };
        assert_eq!(b.receive(0, 1, INC_A, f(1)).delivered, vec![vec![1]]);
        assert!(b.receive(0, 1, INC_A, f(1)).delivered.is_empty(), "dup");
        assert_eq!(b.receive(0, 1, INC_A + 1, f(1)).delivered, vec![vec![1]]);
        // A stray frame of the sender's previous process is refused.
        assert!(b.receive(0, 1, INC_A, f(2)).delivered.is_empty());
        // A lower incarnation its driver proved live is a restart too.
        assert!(b.observe(1, INC_A - 1));
        assert_eq!(b.receive(0, 1, INC_A - 1, f(1)).delivered, vec![vec![1]]);
    }

    #[test]
    fn buffers_are_bounded_and_hostile_frames_refused() {
        let limits = ChannelLimits {
            max_unacked_messages: 3,
            max_message_bytes: 10_000,
            ..ChannelLimits::default()
        };
        let mut a = Channel::new(INC_A, limits);
        assert!(matches!(
            a.send(0, 2, vec![0; 10_001]),
            Err(ChannelError::TooLarge { .. })
        ));
        for _ in 0..3 {
            a.send(0, 2, vec![0; 10]).unwrap();
        }
        assert!(matches!(
            a.send(0, 2, vec![0; 10]),
            Err(ChannelError::Full { .. })
        ));
        let mut b = Channel::new(INC_B, limits);
        let bad = [
            (0, 0, 5, vec![0u8; 1]),                  // count 0
            (3, 3, 5, vec![0u8; 1]),                  // index >= count
            (0, 1_000_000, 5, vec![0u8; 1]),          // too many fragments
            (0, 2, 5, vec![0u8; FRAGMENT_BYTES + 1]), // oversized fragment
            (0, 1, 1000, vec![0u8; 1]),               // beyond the window
        ];
        for (index, count, seq, bytes) in bad {
            let r = b.receive(
                0,
                1,
                INC_A,
                Frame::Data {
                    to_incarnation: INC_B,
                    seq,
                    first_unacked: 1,
                    index,
                    count,
                    bytes,
                },
            );
            assert_eq!(r, Received::default(), "{index} {count} {seq}");
        }
        assert_eq!(b.counters().refused_frames, 5);
    }

    #[test]
    fn messages_received_beyond_an_abandoned_gap_are_still_delivered() {
        let mut a = Channel::new(INC_A, ChannelLimits::default());
        let mut b = Channel::new(INC_B, ChannelLimits::default());
        a.observe(2, INC_B);
        let _lost = a.send(0, 2, vec![1]).unwrap();
        let mut got = Vec::new();
        for payload in [vec![2], vec![3]] {
            for (_, f) in a.send(0, 2, payload).unwrap() {
                let r = b.receive(0, 1, INC_A, f);
                got.extend(r.delivered);
                for (_, ack) in r.send {
                    a.receive(0, 2, INC_B, ack);
                }
            }
        }
        assert!(got.is_empty(), "held back behind the gap");
        assert_eq!(a.unacked(2), 1, "2 and 3 selectively acknowledged");
        a.abandon(2);
        for (_, f) in a.send(0, 2, vec![4]).unwrap() {
            got.extend(b.receive(0, 1, INC_A, f).delivered);
        }
        assert_eq!(got, vec![vec![2], vec![3], vec![4]]);
    }

    /// Sequence numbers are the sender's to choose: frames at the top of
    /// the range (an authentic but broken or hostile peer) must not
    /// overflow the receiver's window arithmetic.
    #[test]
    fn frames_at_the_last_sequence_numbers_never_overflow() {
        let mut b = Channel::new(INC_B, ChannelLimits::default());
        for (seq, first_unacked) in [
            (u64::MAX, u64::MAX),
            (u64::MAX, u64::MAX),
            (u64::MAX - 1, u64::MAX - 1),
            (u64::MAX, 1),
            (u64::MAX - 40, u64::MAX - 40),
        ] {
            let data = Frame::Data {
                to_incarnation: INC_B,
                seq,
                first_unacked,
                index: 0,
                count: 1,
                bytes: vec![1],
            };
            let _ = b.receive(0, 1, INC_A, data);
            let ack = Frame::Ack {
                to_incarnation: INC_B,
                through: u64::MAX,
                also: vec![u64::MAX],
            };
            let _ = b.receive(0, 1, INC_A, ack);
        }
        let _ = b.tick(1_000);
    }

    #[test]
    fn random_frames_never_panic_and_stay_within_the_bounds() {
        let limits = ChannelLimits {
            max_unacked_bytes: 200_000,
            ..ChannelLimits::default()
        };
        let mut b = Channel::new(INC_B, limits);
        let mut rng = SimRng::new(99);
        for _ in 0..20_000 {
            let frame = if rng.chance(0.1) {
                Frame::Ack {
                    to_incarnation: if rng.chance(0.5) {
                        INC_B
                    } else {
                        rng.next_u64()
                    },
                    through: rng.between(0, 100),
                    also: (0..rng.between(0, 5)).map(|_| rng.next_u64()).collect(),
                }
            } else {
                let seq = rng.between(0, 80);
                Frame::Data {
                    to_incarnation: [0, INC_B, 7][rng.between(0, 2) as usize],
                    seq,
                    first_unacked: rng.between(0, seq + 1),
                    index: rng.between(0, 4000) as u32,
                    count: rng.between(0, 4000) as u32,
                    bytes: vec![0; rng.between(0, FRAGMENT_BYTES as u64 + 10) as usize],
                }
            };
            let _ = b.receive(0, 1, INC_A, frame);
            let p = &b.peers[&1];
            assert!(p.partial_bytes <= limits.max_unacked_bytes);
            assert!(p.partial.len() as u64 <= limits.window);
            let held: usize = p
                .partial
                .values()
                .flat_map(|x| x.fragments.values())
                .map(Vec::len)
                .sum();
            assert_eq!(held, p.partial_bytes);
        }
    }

    #[test]
    fn abandoned_messages_are_skipped_by_the_receiver() {
        let mut a = Channel::new(INC_A, ChannelLimits::default());
        let mut b = Channel::new(INC_B, ChannelLimits::default());
        a.observe(2, INC_B);
        let _lost = a.send(0, 2, vec![1]).unwrap();
        a.abandon(2);
        let frames = a.send(0, 2, vec![2]).unwrap();
        let mut got = Vec::new();
        for (_, f) in frames {
            let r = b.receive(0, 1, INC_A, f);
            got.extend(r.delivered);
            for (_, ack) in r.send {
                a.receive(0, 2, INC_B, ack);
            }
        }
        assert_eq!(got, vec![vec![2]]);
        assert_eq!(a.unacked(2), 0);
    }
}
