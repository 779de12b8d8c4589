//! Sealing and opening datagrams.

use std::collections::HashMap;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::message::{Message, NodeId};
use super::replay::ReplayWindow;

/// Version this build speaks. Bump when the payload format changes.
/// 2: `Message::Channel` (the reliable channel); heartbeats and leaves are
/// still sealed as version 1 (see `Message::version_needed`).
/// 3: the channel's cluster messages changed form (members' reports,
/// notifications' meta, exit reasons, the fencing history): a version-2
/// channel frame is refused by name, not misread.
/// 4: heartbeats echo each peer's incarnation and stamp (proof of liveness a
/// recording cannot give) and advertise the keys their sender accepts. An
/// older build's heartbeat is still decoded, to be refused by name.
/// Release 0.1.0 (commit 348a1ca, `RELEASES`) speaks 4.
/// 5: heartbeats advertise the versions their sender speaks (in their tail,
/// which version 4 ignores); a view speaks the highest version all its
/// members speak (`version.rs`), 4 while a node of release 0.1.0 is in it.
/// Channel frames are sealed with the view's version.
pub const PROTOCOL_VERSION: u8 = 5;
/// Oldest version still opened: an older build's heartbeats and leaves are
/// read so that it is named in the log (membership refuses its heartbeats).
/// The oldest version still *spoken* is `VersionRange::SPOKEN.min`.
pub const MIN_COMPATIBLE_VERSION: u8 = 1;
/// The first version with the reliable channel: a channel frame sealed
/// with an older version is a forgery's claim, one sealed with a newer
/// one than the frame needs an older build's.
const FIRST_CHANNEL_VERSION: u8 = 2;

const MAGIC: &[u8; 2] = b"PL";
/// Bytes of the clear-text header.
pub const HEADER_LEN: usize = 2 + 1 + 8 + 2 + 8 + 8;
const TAG_LEN: usize = 16;
/// Shortest key file accepted: 256 bits of entropy.
const MIN_KEY_LEN: usize = 32;
/// Longest key file accepted: corosync-keygen's upper bound (it writes
/// 128 to 4096 bytes); a longer file is a mistake, not a key.
pub const MAX_KEY_LEN: usize = 4096;

/// Errors while loading the cluster key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "authkey is {0} bytes, at least {MIN_KEY_LEN} are needed; create one with `paceline cluster keygen`"
    )]
    TooShort(usize),
    #[error(
        "authkey is {0} bytes, at most {MAX_KEY_LEN} are accepted; create one with `paceline cluster keygen`"
    )]
    TooLong(usize),
}

/// Short fingerprint of the cluster name, so a packet of another cluster is
/// recognized (and counted as such) before authentication fails.
pub fn cluster_tag(cluster: &str) -> u64 {
    let digest = Sha256::digest(cluster.as_bytes());
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(tag)
}

/// Key material derived from the authkey file and the cluster name.
#[derive(Clone)]
pub struct ClusterKey {
    cipher: XChaCha20Poly1305,
    tag: u64,
    id: u64,
}

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterKey")
            .field("tag", &self.tag)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ClusterKey {
    /// Binding the cluster name into the key makes clusters that share an
    /// authkey by mistake still unable to talk to each other.
    pub fn derive(authkey: &[u8], cluster: &str) -> Result<Self, KeyError> {
        if authkey.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort(authkey.len()));
        }
        if authkey.len() > MAX_KEY_LEN {
            return Err(KeyError::TooLong(authkey.len()));
        }
        let hk = Hkdf::<Sha256>::new(Some(b"paceline-authkey-v1"), authkey);
        let mut okm = [0u8; 32];
        let mut info = b"paceline datagram key:".to_vec();
        info.extend_from_slice(cluster.as_bytes());
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so this cannot fail.
        hk.expand(&info, &mut okm)
            .map_err(|_| KeyError::TooShort(0))?;
        // A separate expansion: the id travels in heartbeats and says
        // nothing about the cipher key.
        let mut id = [0u8; 8];
        hk.expand(b"paceline key id", &mut id)
            .map_err(|_| KeyError::TooShort(0))?;
        Ok(Self {
            cipher: XChaCha20Poly1305::new((&okm).into()),
            tag: cluster_tag(cluster),
            id: u64::from_be_bytes(id),
        })
    }

    /// A public fingerprint of the key, to agree on a rotation.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// The clear-text, authenticated part of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub cluster_tag: u64,
    pub sender: NodeId,
    pub incarnation: u64,
    pub sequence: u64,
}

impl Header {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(MAGIC);
        out.push(self.version);
        out.extend_from_slice(&self.cluster_tag.to_be_bytes());
        out.extend_from_slice(&self.sender.to_be_bytes());
        out.extend_from_slice(&self.incarnation.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
    }

    /// Parses the header; `None` if the datagram is too short or not ours.
    pub fn parse(datagram: &[u8]) -> Option<Self> {
        let h = datagram.get(..HEADER_LEN)?;
        if &h[..2] != MAGIC {
            return None;
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[at..at + 8]);
            u64::from_be_bytes(b)
        };
        Some(Self {
            version: h[2],
            cluster_tag: u64_at(3),
            sender: u16::from_be_bytes([h[11], h[12]]),
            incarnation: u64_at(13),
            sequence: u64_at(21),
        })
    }

    fn nonce(&self) -> XNonce {
        let mut n = [0u8; 24];
        n[..2].copy_from_slice(&self.sender.to_be_bytes());
        n[2..10].copy_from_slice(&self.incarnation.to_be_bytes());
        n[10..18].copy_from_slice(&self.sequence.to_be_bytes());
        n.into()
    }
}

/// Seals this node's outgoing messages, numbering them.
#[derive(Debug)]
pub struct Encoder {
    key: ClusterKey,
    sender: NodeId,
    incarnation: u64,
    next_sequence: u64,
}

impl Encoder {
    /// `incarnation` must be new on every start of the node (e.g. its start
    /// time in milliseconds), otherwise nonces would repeat and peers would
    /// take the new packets for replays.
    pub fn new(key: ClusterKey, sender: NodeId, incarnation: u64) -> Self {
        Self {
            key,
            sender,
            incarnation,
            next_sequence: 1,
        }
    }

    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// Seals from now on with `key` (a key rotation, see `KeyRing`).
    pub fn set_key(&mut self, key: ClusterKey) {
        self.key = key;
    }

    /// The id of the key this encoder seals with.
    pub fn key_id(&self) -> u64 {
        self.key.id
    }

    /// Seals with the oldest version that can carry `message`.
    pub fn seal(&mut self, message: &Message) -> Vec<u8> {
        self.seal_version(message, message.version_needed())
    }

    /// Seals with `speaking` (the view's version, for channel frames), or
    /// the version `message` needs if that is newer.
    pub fn seal_speaking(&mut self, message: &Message, speaking: u8) -> Vec<u8> {
        self.seal_version(message, speaking.max(message.version_needed()))
    }

    /// Seals with an explicit version byte; tests use it to play an old or future node.
    pub fn seal_version(&mut self, message: &Message, version: u8) -> Vec<u8> {
        let payload = super::message::encode_payload(message);
        self.seal_bytes(&payload, version)
    }

    /// Seals arbitrary payload bytes; used by tests and the fuzz corpus.
    pub fn seal_bytes(&mut self, payload: &[u8], version: u8) -> Vec<u8> {
        let header = Header {
            version,
            cluster_tag: self.key.tag,
            sender: self.sender,
            incarnation: self.incarnation,
            sequence: self.next_sequence,
        };
        self.next_sequence = self.next_sequence.saturating_add(1);
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + TAG_LEN);
        header.write(&mut out);
        let sealed = self.key.cipher.encrypt(
            &header.nonce(),
            Payload {
                msg: payload,
                aad: &out,
            },
        );
        // XChaCha20Poly1305 only fails on plaintexts beyond 256 GiB.
        if let Ok(sealed) = sealed {
            out.extend_from_slice(&sealed);
        }
        out
    }
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Too short or without our magic: not a paceline packet.
    Malformed,
    /// Sent by a node of another cluster (another cluster name).
    OtherCluster,
    /// Speaks a protocol version this build cannot understand.
    IncompatibleVersion { sender: NodeId, version: u8 },
    /// Failed authentication: forged, corrupted, or encrypted with another key.
    Forged,
    /// Authentic, but already received (or too old to tell).
    Replayed,
    /// Sent by this node itself (looped back).
    FromSelf,
}

/// Counts of dropped datagrams, per reason, exported in status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WireCounters {
    pub accepted: u64,
    pub malformed: u64,
    pub other_cluster: u64,
    pub incompatible_version: u64,
    pub forged: u64,
    pub replayed: u64,
}

/// An authentic, fresh message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub header: Header,
    pub message: Message,
    /// The id of the key that opened it.
    pub key_id: u64,
}

/// Incarnations of one sender whose replay windows are kept. The decoder
/// only removes duplicates: which incarnation is the live one is decided by
/// membership, on proof of liveness, so that one authentic packet with a
/// huge incarnation can no longer make every later one look replayed.
const INCARNATIONS_KEPT: usize = 4;

#[derive(Debug, Clone, Default)]
struct SenderState {
    /// (incarnation, its window, when it was last used), at most
    /// `INCARNATIONS_KEPT`; the least recently used is forgotten first.
    windows: Vec<(u64, ReplayWindow, u64)>,
    uses: u64,
}

impl SenderState {
    fn accept(&mut self, incarnation: u64, sequence: u64) -> bool {
        self.uses = self.uses.saturating_add(1);
        let uses = self.uses;
        if let Some(entry) = self.windows.iter_mut().find(|w| w.0 == incarnation) {
            entry.2 = uses;
            return entry.1.accept(sequence);
        }
        if self.windows.len() >= INCARNATIONS_KEPT {
            if let Some(lru) = (0..self.windows.len()).min_by_key(|&i| self.windows[i].2) {
                self.windows.swap_remove(lru);
            }
        }
        let mut window = ReplayWindow::default();
        let fresh = window.accept(sequence);
        self.windows.push((incarnation, window, uses));
        fresh
    }
}

/// Opens incoming datagrams, keeping per-sender replay state and counters.
#[derive(Debug)]
pub struct Decoder {
    /// Accepted keys, the one sent with first (two during a rotation).
    keys: Vec<ClusterKey>,
    own_id: NodeId,
    senders: HashMap<NodeId, SenderState>,
    counters: WireCounters,
}

impl Decoder {
    pub fn new(key: ClusterKey, own_id: NodeId) -> Self {
        Self {
            keys: vec![key],
            own_id,
            senders: HashMap::new(),
            counters: WireCounters::default(),
        }
    }

    /// Accepts datagrams sealed with any of `keys` from now on (an empty
    /// list is ignored: a node must accept at least the key it sends with).
    pub fn set_keys(&mut self, keys: Vec<ClusterKey>) {
        if !keys.is_empty() {
            self.keys = keys;
        }
    }

    pub fn counters(&self) -> &WireCounters {
        &self.counters
    }

    /// Opens `datagram`; every drop is counted.
    pub fn open(&mut self, datagram: &[u8]) -> Result<Decoded, DropReason> {
        let result = self.open_uncounted(datagram);
        let c = &mut self.counters;
        match result {
            Ok(_) => c.accepted += 1,
            Err(DropReason::Malformed) => c.malformed += 1,
            Err(DropReason::OtherCluster) => c.other_cluster += 1,
            Err(DropReason::IncompatibleVersion { .. }) => c.incompatible_version += 1,
            Err(DropReason::Forged) => c.forged += 1,
            Err(DropReason::Replayed) | Err(DropReason::FromSelf) => c.replayed += 1,
        }
        result
    }

    fn open_uncounted(&mut self, datagram: &[u8]) -> Result<Decoded, DropReason> {
        let header = Header::parse(datagram).ok_or(DropReason::Malformed)?;
        if datagram.len() < HEADER_LEN + TAG_LEN {
            return Err(DropReason::Malformed);
        }
        if self.keys.iter().all(|k| header.cluster_tag != k.tag) {
            return Err(DropReason::OtherCluster);
        }
        let (plaintext, key_id) = self
            .keys
            .iter()
            .find_map(|key| {
                let payload = Payload {
                    msg: &datagram[HEADER_LEN..],
                    aad: &datagram[..HEADER_LEN],
                };
                let opened = key.cipher.decrypt(&header.nonce(), payload).ok()?;
                Some((opened, key.id))
            })
            .ok_or(DropReason::Forged)?;
        // Version is checked after authentication so that an attacker cannot
        // get a node named "incompatible" in status with a forged header.
        if !(MIN_COMPATIBLE_VERSION..=PROTOCOL_VERSION).contains(&header.version) {
            return Err(DropReason::IncompatibleVersion {
                sender: header.sender,
                version: header.version,
            });
        }
        if header.sender == self.own_id {
            return Err(DropReason::FromSelf);
        }
        let older_build = DropReason::IncompatibleVersion {
            sender: header.sender,
            version: header.version,
        };
        let message: Message = match super::message::decode_payload(&plaintext) {
            Ok(m) => m,
            Err(_) if header.version < PROTOCOL_VERSION => return Err(older_build),
            Err(_) => return Err(DropReason::Malformed),
        };
        if message.version_needed() > header.version {
            // A version-1 header cannot announce a message version 1 lacks;
            // a later one is an older build's form of the message.
            return Err(if header.version >= FIRST_CHANNEL_VERSION {
                older_build
            } else {
                DropReason::Malformed
            });
        }
        let state = self.senders.entry(header.sender).or_default();
        if !state.accept(header.incarnation, header.sequence) {
            return Err(DropReason::Replayed);
        }
        Ok(Decoded {
            header,
            message,
            key_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Echo, Heartbeat, LegacyHeartbeat, ViewSummary};

    fn key(cluster: &str) -> ClusterKey {
        ClusterKey::derive(&[7u8; 32], cluster).unwrap()
    }

    fn hb() -> Message {
        Message::Heartbeat(Heartbeat {
            link: 1,
            stamp: 5,
            heard: vec![Echo {
                node: 1,
                incarnation: 9,
                stamp: 4,
            }],
            view: ViewSummary {
                id: 3,
                members: vec![1, 2],
            },
            keys: vec![],
            speaks: crate::wire::VersionRange::SPOKEN,
        })
    }

    #[test]
    fn roundtrip_and_replay_is_counted() {
        let mut enc = Encoder::new(key("c"), 2, 100);
        let mut dec = Decoder::new(key("c"), 1);
        let d = enc.seal(&hb());
        let got = dec.open(&d).unwrap();
        assert_eq!(got.message, hb());
        assert_eq!(got.header.sender, 2);
        assert_eq!(dec.open(&d), Err(DropReason::Replayed));
        assert_eq!(dec.counters().replayed, 1);
        assert_eq!(dec.counters().accepted, 1);
    }

    fn legacy_hb() -> Message {
        Message::LegacyHeartbeat(LegacyHeartbeat {
            link: 0,
            heard: vec![1],
            view: ViewSummary {
                id: 3,
                members: vec![1, 2],
            },
        })
    }

    #[test]
    fn a_huge_incarnation_no_longer_makes_every_later_packet_a_replay() {
        // Before: one authentic packet with incarnation u64::MAX made the
        // decoder refuse the sender's real packets for good. Which
        // incarnation is live is membership's call (on proof of liveness);
        // the decoder only removes duplicates, per incarnation.
        let mut huge = Encoder::new(key("c"), 2, u64::MAX);
        let mut real = Encoder::new(key("c"), 2, 100);
        let mut dec = Decoder::new(key("c"), 1);
        dec.open(&huge.seal(&hb())).unwrap();
        let d = real.seal(&hb());
        assert_eq!(dec.open(&d).unwrap().header.incarnation, 100);
        assert_eq!(dec.open(&d), Err(DropReason::Replayed));
        // Four more incarnations push out the least recently used window.
        for inc in 200..204 {
            dec.open(&Encoder::new(key("c"), 2, inc).seal(&hb()))
                .unwrap();
        }
        assert!(dec.open(&real.seal(&hb())).is_ok());
    }

    #[test]
    fn two_keys_are_accepted_during_a_rotation_and_the_opening_one_is_named() {
        let old = key("c");
        let new = ClusterKey::derive(&[9u8; 32], "c").unwrap();
        assert_ne!(old.id(), new.id());
        let mut dec = Decoder::new(old.clone(), 1);
        let mut enc = Encoder::new(new.clone(), 2, 1);
        assert_eq!(dec.open(&enc.seal(&hb())), Err(DropReason::Forged));
        dec.set_keys(vec![old.clone(), new.clone()]);
        assert_eq!(dec.open(&enc.seal(&hb())).unwrap().key_id, new.id());
        enc.set_key(old.clone());
        assert_eq!(dec.open(&enc.seal(&hb())).unwrap().key_id, old.id());
        dec.set_keys(vec![new]);
        assert_eq!(dec.open(&enc.seal(&hb())), Err(DropReason::Forged));
    }

    #[test]
    fn forged_tampered_and_cross_cluster_packets_are_dropped_and_counted() {
        let mut enc = Encoder::new(key("c"), 2, 1);
        let mut dec = Decoder::new(key("c"), 1);
        let mut d = enc.seal(&hb());
        let last = d.len() - 1;
        d[last] ^= 1;
        assert_eq!(dec.open(&d), Err(DropReason::Forged));
        let mut d = enc.seal(&hb());
        d[12] ^= 1; // sender id in the header
        assert_eq!(dec.open(&d), Err(DropReason::Forged));
        let mut wrong_key = Encoder::new(ClusterKey::derive(&[8u8; 32], "c").unwrap(), 2, 1);
        assert_eq!(dec.open(&wrong_key.seal(&hb())), Err(DropReason::Forged));
        let mut other = Encoder::new(key("other"), 2, 1);
        assert_eq!(dec.open(&other.seal(&hb())), Err(DropReason::OtherCluster));
        assert_eq!(dec.open(b"hello"), Err(DropReason::Malformed));
        let c = dec.counters();
        assert_eq!((c.forged, c.other_cluster, c.malformed), (3, 1, 1));
    }

    #[test]
    fn previous_version_is_understood_future_one_is_named() {
        let mut enc = Encoder::new(key("c"), 2, 1);
        let mut dec = Decoder::new(key("c"), 1);
        assert!(
            dec.open(&enc.seal_version(&legacy_hb(), MIN_COMPATIBLE_VERSION))
                .is_ok()
        );
        assert_eq!(
            dec.open(&enc.seal_version(&hb(), PROTOCOL_VERSION + 1)),
            Err(DropReason::IncompatibleVersion {
                sender: 2,
                version: PROTOCOL_VERSION + 1
            })
        );
    }

    #[test]
    fn an_older_builds_heartbeat_is_read_to_be_named_a_new_one_needs_version_4() {
        let mut enc = Encoder::new(key("c"), 2, 1);
        let mut dec = Decoder::new(key("c"), 1);
        let legacy = enc.seal(&legacy_hb());
        assert_eq!(Header::parse(&legacy).unwrap().version, 1);
        assert_eq!(dec.open(&legacy).unwrap().message, legacy_hb());
        let hb_datagram = enc.seal(&hb());
        assert_eq!(Header::parse(&hb_datagram).unwrap().version, 4);
        assert_eq!(dec.open(&hb_datagram).unwrap().message, hb());
        // The new form cannot hide behind an old version byte.
        assert_eq!(
            dec.open(&enc.seal_version(&hb(), 1)),
            Err(DropReason::Malformed)
        );
        assert_eq!(
            dec.open(&enc.seal_version(&hb(), 3)),
            Err(DropReason::IncompatibleVersion {
                sender: 2,
                version: 3
            })
        );
    }

    #[test]
    fn channel_frames_are_sealed_with_the_views_version_and_version_3_is_refused_by_name() {
        let mut enc = Encoder::new(key("c"), 2, 1);
        let frame = Message::Channel(crate::wire::Frame::Ack {
            to_incarnation: 1,
            through: 0,
            also: vec![],
        });
        let mut dec = Decoder::new(key("c"), 1);
        // Release 0.1.0 seals and reads channel frames as version 4.
        let ch = enc.seal(&frame);
        assert_eq!(Header::parse(&ch).unwrap().version, 4);
        assert_eq!(dec.open(&ch).unwrap().message, frame);
        let ch = enc.seal_speaking(&frame, PROTOCOL_VERSION);
        assert_eq!(Header::parse(&ch).unwrap().version, PROTOCOL_VERSION);
        assert_eq!(dec.open(&ch).unwrap().message, frame);
        // A channel frame claiming version 1 is not believed.
        assert_eq!(
            dec.open(&enc.seal_version(&frame, 1)),
            Err(DropReason::Malformed)
        );
        // One of a version-3 build's channel is refused by name: its
        // cluster messages have another form.
        assert_eq!(
            dec.open(&enc.seal_version(&frame, 3)),
            Err(DropReason::IncompatibleVersion {
                sender: 2,
                version: 3
            })
        );
    }

    #[test]
    fn a_heartbeats_tail_is_read_here_and_ignored_by_release_0_1() {
        let mut enc = Encoder::new(key("c"), 2, 1);
        let mut dec = Decoder::new(key("c"), 1);
        let Message::Heartbeat(mut h) = hb() else {
            unreachable!()
        };
        h.speaks = crate::wire::VersionRange { min: 4, max: 9 };
        let beat = Message::Heartbeat(h.clone());
        let sealed = enc.seal(&beat);
        // Sealed as version 4: release 0.1.0 opens versions up to 4 only.
        assert_eq!(Header::parse(&sealed).unwrap().version, 4);
        assert_eq!(dec.open(&sealed).unwrap().message, beat);
        // Release 0.1.0 decodes the payload with `postcard::from_bytes`,
        // which stops after its fields: it reads the same heartbeat.
        let payload = crate::wire::encode_payload(&beat);
        let read_by_0_1: Message = postcard::from_bytes(&payload).unwrap();
        let Message::Heartbeat(old) = read_by_0_1 else {
            panic!("not a heartbeat")
        };
        assert_eq!(
            (old.stamp, &old.heard, &old.keys),
            (h.stamp, &h.heard, &h.keys)
        );
        // Without a tail (release 0.1.0's heartbeat) it speaks 4 only.
        let no_tail = postcard::to_allocvec(&beat).unwrap();
        let Message::Heartbeat(read) = crate::wire::decode_payload(&no_tail).unwrap() else {
            panic!("not a heartbeat")
        };
        assert_eq!(read.speaks, crate::wire::VersionRange::RELEASE_0_1);
        // A newer build's longer tail: the fields known here are read.
        let mut longer = payload.clone();
        longer.extend([1, 2, 3]);
        assert_eq!(crate::wire::decode_payload(&longer).unwrap(), beat);
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(ClusterKey::derive(&[1u8; 8], "c").is_err());
    }

    #[test]
    fn random_and_truncated_datagrams_never_panic() {
        let mut enc = Encoder::new(key("c"), 2, 1);
        let mut dec = Decoder::new(key("c"), 1);
        let good = enc.seal(&hb());
        for len in 0..good.len() {
            let _ = dec.open(&good[..len]);
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..5000 {
            let len = (round % 120) as usize;
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(x as u8);
            }
            if round % 3 == 0 && buf.len() >= HEADER_LEN {
                buf[..HEADER_LEN].copy_from_slice(&good[..HEADER_LEN]);
            }
            let _ = dec.open(&buf);
        }
        // Authentic but garbage payload must be refused cleanly too.
        for len in 0..40 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            let _ = dec.open(&enc.seal_bytes(&junk, PROTOCOL_VERSION));
        }
    }
}
