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
//! What every node's executor does around running a request
//! (`executor.rs`: each request once, one resource's operations one at a
//! time, from the DC it follows only, and where its result goes) and the
//! clean shutdown's rules (`shutdown.rs`) are here too, so the daemon's
//! executor service and the simulator's agents follow the same ones.
//!
//! Not here (each driver's own): running the agents and monitors, the
//! channel (the simulator delivers reliably while connected instead), and
//! the waits of the shutdown (the daemon's event loop, the simulator's
//! ticks).

mod core;
pub mod executor;
pub mod protocol;
pub mod settings;
pub mod shutdown;
pub mod site_tickets;

pub use core::{Command, Event, Message, Node, NodeConfig, NodeSettings};
