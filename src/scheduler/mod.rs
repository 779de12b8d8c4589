//! The policy engine: a pure function from configuration, status and the
//! current time to a plan (summary changes, actions and their ordering
//! graph) plus the scores and reasons that explain it. No I/O, no clock.
//!
//! One rule per file, in the order a run goes through them:
//! `plan` (the entry `schedule` and the placement loop), `nodes` (node
//! availability and conditions), `failures` (failure expiry, fail counts,
//! on-fail), `units` (what gets placed), `scores` (a unit's own node
//! scores and the choice of node), `locations`, `colocations`, `orders`
//! (constraints, resource sets expanded), `clones` (instances), `promotion`,
//! `outcome` (placements into summary decisions) and `output` (summary lines,
//! actions, orphans).

mod clones;
mod colocations;
mod failures;
mod history;
mod locations;
mod nodes;
#[cfg(test)]
mod on_fail_tests;
mod orders;
mod outcome;
mod output;
mod plan;
mod promotion;
mod rules;
mod scores;
pub mod transition;
mod units;

use std::collections::BTreeMap;

use petgraph::graph::DiGraph;
use serde::Serialize;

use crate::model::*;
pub use history::{Observed, observe};
pub use output::{format_change, format_summary};
pub use plan::schedule;

/// One line of the transition summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub verb: Verb,
    /// Resource (or instance) id, or the node for Fence.
    pub subject: String,
    pub from: Option<NodeId>,
    pub to: Option<NodeId>,
    pub from_role: Option<Role>,
    pub to_role: Option<Role>,
    pub reason: Option<String>,
    pub blocked: bool,
    /// Fence action (reboot/off).
    pub fence_action: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verb {
    Start,
    Stop,
    Move,
    Recover,
    Restart,
    Promote,
    Demote,
    Fence,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Start => "Start",
            Verb::Stop => "Stop",
            Verb::Move => "Move",
            Verb::Recover => "Recover",
            Verb::Restart => "Restart",
            Verb::Promote => "Promote",
            Verb::Demote => "Demote",
            Verb::Fence => "Fence",
        }
    }
}

/// An executable step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanAction {
    pub resource: String,
    pub action: String,
    pub node: NodeId,
}

/// The scheduler's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub actions: Vec<PlanAction>,
    /// Edges "a before b" between indices of `actions`.
    #[serde(skip)]
    pub graph: DiGraph<usize, ()>,
    /// Allocation scores: (resource, node, score).
    pub scores: Vec<(String, NodeId, Score)>,
    /// Promotion scores of promotable clone instances where they are
    /// placed: (instance, node, score).
    pub promotion_scores: Vec<(String, NodeId, Score)>,
    /// Why each resource (or node) ended where it did.
    pub reasons: BTreeMap<String, Vec<String>>,
}
