//! Sans-IO membership: failure detection per link, membership views and quorum.
//!
//! The daemon (and the simulator) feed it ticks and received messages with the
//! current time; it answers with messages to send and notifications. It never
//! reads a clock, owns a socket or draws a random number.

mod machine;
pub mod quorum;

pub use machine::{
    MAX_LINKS, MAX_VIEW_ID, Membership, MembershipConfig, MembershipStatus, Notice, Output,
    PeerState, PeerStatus, Refusal, View,
};
pub use quorum::{QuorumConfig, QuorumState, QuorumStatus, Unblock};
