//! The node core: what one cluster node does between its membership and
//! its resources, sans-IO, shared by the daemon (`pacelined`, real sockets,
//! disk and clocks) and the simulator (virtual network and time), so the
//! simulator runs the code the daemon runs.
//!
//! `core.rs` is the `Node`: the replicated store and the controller of one
//! node with the glue between them (views, documents, `Synced`, status
//! patches, settling of peers), events in and commands out. `protocol.rs`
//! is what travels over the reliable channel between nodes (the wire codec
//! only carries it as bytes in channel frames).
//!
//! Not here yet (still written in both drivers): routing of action results
//! to the DC, the executor's request/report handling, the channel's
//! incarnation following, and the shutdown sequence.

mod core;
pub mod protocol;

pub use core::{Command, Event, Message, Node, NodeConfig, NodeSettings};
