//! The node core: what one cluster node does between its membership and
//! its resources, sans-IO, shared by the daemon (`pacelined`, real sockets,
//! disk and clocks) and the simulator (virtual network and time), so the
//! simulator runs the code the daemon runs.
//!
//! `core.rs` is the `Node`: the replicated store and the controller of one
//! node with the glue between them (views, documents, `Synced`, status
//! patches, settling of peers), events in and commands out. `protocol.rs`
//! is what travels over the reliable channel between nodes (the wire codec
//! only carries it as bytes in channel frames). `settings.rs` turns the
//! loaded `config::Runtime` into the membership's quorum rules and the
//! node's settings, once for both drivers.
//!
//! The controller's commands for another node leave the core as messages
//! (`ActionRequest`, `CancelRecurring`, `ReportRequest`); the drivers hand
//! those that arrive to their executor (the daemon's real one, the
//! simulator's simulated agents).
//!
//! Not here yet (still written in both drivers): routing of action results
//! to the DC (the daemon's `send_result_to`, the simulator's `send_result`),
//! the executor's duplicate and ledger checks, the channel (the simulator
//! delivers reliably while connected instead), and the clean shutdown
//! sequence (the daemon's `shut_down`, the simulator's `leavers`).

mod core;
pub mod protocol;
pub mod settings;

pub use core::{Command, Event, Message, Node, NodeConfig, NodeSettings};
