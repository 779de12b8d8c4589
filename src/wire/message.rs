//! The messages nodes exchange; serialized with postcard inside the AEAD envelope.

use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Heartbeat(Heartbeat),
    /// Clean shutdown: peers record the sender as "left", not "lost".
    Leave,
}
