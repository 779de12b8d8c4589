//! The datagrams' messages, serialized with postcard inside the AEAD
//! envelope: membership's own payloads (heartbeat, leave) and the reliable
//! channel's frames. What a channel frame carries is bytes to the wire; the
//! daemon defines what travels in them (`daemon/protocol.rs`).

use serde::{Deserialize, Serialize};

use super::channel::Frame;

/// Node id as configured (`[[node]] id`), 1..=65535.
pub type NodeId = u16;

/// The view a sender currently holds, so that members of a partition converge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewSummary {
    pub id: u64,
    pub members: Vec<NodeId>,
}

/// Periodic liveness probe, sent per peer per link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Index of the link (0..8) the heartbeat was sent on.
    pub link: u8,
    /// Nodes the sender currently hears; liveness needs both directions.
    pub heard: Vec<NodeId>,
    pub view: ViewSummary,
}

/// One datagram's message. Variants are only ever appended (postcard numbers
/// them), so an older node still decodes the ones it knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Heartbeat(Heartbeat),
    /// Clean shutdown: peers record the sender as "left", not "lost".
    Leave,
    /// A fragment or an acknowledgement of the reliable channel
    /// (`channel.rs`); reassembled payloads are the daemon's cluster messages.
    /// Since protocol version 2.
    Channel(Frame),
}

impl Message {
    /// The oldest protocol version that can express this message: it is
    /// sealed with that version, so nodes one version behind keep hearing
    /// heartbeats during a rolling upgrade.
    pub fn version_needed(&self) -> u8 {
        match self {
            Message::Heartbeat(_) | Message::Leave => 1,
            Message::Channel(_) => super::codec::PROTOCOL_VERSION,
        }
    }
}
