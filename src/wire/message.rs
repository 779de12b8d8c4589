//! The datagrams' messages, serialized with postcard inside the AEAD
//! envelope: membership's own payloads (heartbeat, leave) and the reliable
//! channel's frames. What a channel frame carries is bytes to the wire; the
//! node core defines what travels in them (`node/protocol.rs`).

use serde::{Deserialize, Serialize};

use super::channel::Frame;
use super::version::VersionRange;

/// Node id as configured (`[[node]] id`), 1..=65535.
pub type NodeId = u16;

/// The view a sender currently holds, so that members of a partition converge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewSummary {
    pub id: u64,
    pub members: Vec<NodeId>,
}

/// The heartbeat of protocol versions 1 to 3: it names the nodes the sender
/// hears but proves nothing about when, so a recording of it replayed after
/// a restart passed for a live peer. Still decoded, so that a node of an
/// older build is refused by name instead of counted as malformed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyHeartbeat {
    pub link: u8,
    pub heard: Vec<NodeId>,
    pub view: ViewSummary,
}

/// What a heartbeat's sender last received from one node: that node's
/// incarnation and the stamp of its latest heartbeat. A node counts a peer
/// as hearing it only when the peer echoes its *current* incarnation and a
/// recent stamp, which no recording made before can contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Echo {
    pub node: NodeId,
    pub incarnation: u64,
    pub stamp: u64,
}

/// Periodic liveness probe, sent per peer per link (since protocol version
/// 4, in the same form since: later fields go in its tail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Index of the link (0..8) the heartbeat was sent on.
    pub link: u8,
    /// The sender's clock (milliseconds of its membership machine) when it
    /// sent this; receivers echo the latest one back.
    pub stamp: u64,
    /// The nodes the sender currently hears, with what it last heard from
    /// each; liveness needs both directions.
    pub heard: Vec<Echo>,
    pub view: ViewSummary,
    /// Ids of the cluster keys the sender accepts (`ClusterKey::id`): a
    /// node sends with a new key only once every member accepts it.
    pub keys: Vec<u64>,
    /// The protocol versions the sender speaks (since this build; release
    /// 0.1.0 advertises none). It travels in the heartbeat's tail, after
    /// the fields release 0.1.0 decodes, which ignores trailing bytes
    /// (`encode_payload`).
    #[serde(skip)]
    pub speaks: VersionRange,
}

/// The fields a heartbeat carries after release 0.1.0's form, each decoded
/// if present, in order; a field is added at the end, and an absent one
/// means what the release before meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct HeartbeatTail {
    speaks: VersionRange,
}

/// A message's payload bytes: its postcard form, then a heartbeat's tail.
pub fn encode_payload(message: &Message) -> Vec<u8> {
    // Serializing our own plain types into a Vec cannot fail.
    let mut bytes = postcard::to_allocvec(message).unwrap_or_default();
    if let Message::Heartbeat(hb) = message {
        let tail = HeartbeatTail { speaks: hb.speaks };
        bytes.extend(postcard::to_allocvec(&tail).unwrap_or_default());
    }
    bytes
}

/// Decodes `encode_payload`'s bytes, or those of an older or newer build:
/// bytes after what this build knows are ignored (a newer build's fields).
pub fn decode_payload(bytes: &[u8]) -> Result<Message, postcard::Error> {
    let (mut message, rest) = postcard::take_from_bytes::<Message>(bytes)?;
    if let Message::Heartbeat(hb) = &mut message
        && !rest.is_empty()
    {
        let (tail, _newer) = postcard::take_from_bytes::<HeartbeatTail>(rest)?;
        hb.speaks = tail.speaks;
    }
    Ok(message)
}

/// One datagram's message. Variants are only ever appended (postcard numbers
/// them), so an older node still decodes the ones it knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// An older build's heartbeat (protocol versions 1 to 3); refused.
    LegacyHeartbeat(LegacyHeartbeat),
    /// Clean shutdown: peers record the sender as "left", not "lost".
    Leave,
    /// A fragment or an acknowledgement of the reliable channel
    /// (`channel.rs`); reassembled payloads are the daemon's cluster messages.
    /// Since protocol version 2.
    Channel(Frame),
    /// Since protocol version 4.
    Heartbeat(Heartbeat),
}

impl Message {
    /// The oldest protocol version that can express this message: it is
    /// sealed with at least that version, so an older build names what it
    /// refuses instead of misreading it. A heartbeat and a channel frame
    /// have kept version 4's form (a heartbeat's newer fields are in its
    /// tail, a channel frame's content is gated on the view's version), so
    /// release 0.1.0 reads them.
    pub fn version_needed(&self) -> u8 {
        match self {
            Message::LegacyHeartbeat(_) | Message::Leave => 1,
            Message::Channel(_) | Message::Heartbeat(_) => 4,
        }
    }
}
