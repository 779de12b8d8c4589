//! The executable form of a plan: elementary steps (start, stop, promote,
//! demote, recurring monitor, fence) on nodes, and the "a before b" edges
//! between them that the controller dispatches in order. Pure.
//!
//! CONTRACT STATUS: the types are the contract used by the controller;
//! `build` is not implemented yet (it returns an empty transition).

use serde::Serialize;

use super::Plan;
use crate::model::{ClusterConfig, ClusterStatus, NodeId, ResourceId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StepKind {
    Resource {
        /// The configured primitive the agent runs for (`pgsql`).
        resource: ResourceId,
        /// The placed instance (`pgsql:0`; equal to `resource` when not cloned).
        instance: String,
        /// start, stop, promote, demote, monitor.
        operation: String,
        interval_ms: u64,
        timeout_ms: u64,
    },
    Fence {
        /// off or reboot.
        action: String,
    },
}

/// One step on one node (for a fence: the node to be fenced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub node: NodeId,
    pub kind: StepKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub steps: Vec<Step>,
    /// (a, b): step `a` must complete before step `b` is dispatched.
    pub edges: Vec<(usize, usize)>,
}

/// Expands a plan into steps and orders them (within a resource: demote,
/// stop, start, promote, then its recurring monitors; group members in
/// order, stopped in reverse; order constraints and their symmetrical
/// reverse for stops; fencing of a node before anything that depends on it).
pub fn build(_config: &ClusterConfig, _status: &ClusterStatus, _plan: &Plan) -> Transition {
    Transition::default()
}
