//! The node core: what one cluster node does between its membership and
//! its resources, sans-IO, shared by the daemon (`pacelined`, real sockets,
//! disk and clocks) and the simulator (virtual network and time), so the
//! simulator runs the code the daemon runs.
//!
//! `protocol.rs` is what travels over the reliable channel between nodes
//! (the wire codec only carries it as bytes in channel frames).

pub mod protocol;
