//! paceline: a cluster resource manager with fencing.
//!
//! See ARCHITECTURE.md for the map of the code.

pub mod api;
pub mod cli;
pub mod config;
pub mod controller;
pub mod daemon;
pub mod executor;
#[doc(hidden)]
pub mod fuzz;
pub mod lab;
pub mod membership;
pub mod model;
pub mod node;
pub mod scheduler;
pub mod shims;
pub mod sim;
pub mod store;
pub mod wire;
