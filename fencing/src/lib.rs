//! Fence devices for paceline: Redfish, IPMI over LAN (RMCP+), watchdog and
//! external `fence_*` agents, plus fencing topology levels.

pub mod agent;
pub mod config;
pub mod device;
#[doc(hidden)]
pub mod fuzz;
pub mod history;
pub mod ipmi;
pub mod readiness;
pub mod redfish;
pub mod secret;
pub mod service;
pub mod topology;
pub mod watchdog;
pub mod watchdog_policy;
