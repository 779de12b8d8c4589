//! Quorum as corosync's votequorum computes it: votes, expected votes,
//! two_node, wait_for_all, last_man_standing and auto_tie_breaker, and a
//! witness's vote (a quorum device, `witness.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::wire::NodeId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumConfig {
    /// Votes of every configured node.
    pub votes: BTreeMap<NodeId, u32>,
    /// Configured expected votes; `None` means the sum of all votes.
    pub expected_votes: Option<u32>,
    pub two_node: bool,
    pub wait_for_all: bool,
    pub last_man_standing: bool,
    pub auto_tie_breaker: bool,
    /// A witness (`[quorum] witness`) adds one vote, held by at most one
    /// partition at a time (as a corosync qdevice with one vote).
    #[serde(default)]
    pub witness: bool,
}

impl QuorumConfig {
    /// Defaults of the config contract: two_node iff exactly two nodes,
    /// wait_for_all defaults to two_node.
    pub fn with_defaults(votes: BTreeMap<NodeId, u32>) -> Self {
        let two_node = votes.len() == 2;
        Self {
            votes,
            expected_votes: None,
            two_node,
            wait_for_all: two_node,
            last_man_standing: false,
            auto_tie_breaker: false,
            witness: false,
        }
    }

    fn configured_expected(&self) -> u32 {
        self.expected_votes
            .unwrap_or_else(|| self.votes.values().sum())
            .saturating_add(self.witness_votes())
    }

    fn witness_votes(&self) -> u32 {
        u32::from(self.witness)
    }
}

/// An operator's override of wait_for_all (`paceline cluster unblock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unblock {
    pub by: String,
    pub at_unix_ms: u64,
}

/// What status shows about quorum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumStatus {
    pub quorate: bool,
    pub total_votes: u32,
    pub expected_votes: u32,
    pub quorum: u32,
    /// wait_for_all is on and not every node has been seen since the cold start.
    pub waiting_for_all: bool,
    pub unblocked: Option<Unblock>,
    /// The witness's vote counts in this partition (`[quorum] witness`).
    #[serde(default)]
    pub witness_vote: bool,
    /// One sentence saying why the partition is (not) quorate.
    pub reason: String,
}

/// Quorum state kept across views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumState {
    config: QuorumConfig,
    all_seen: bool,
    /// Expected votes lowered by last_man_standing.
    lms_expected: Option<u32>,
    unblocked: Option<Unblock>,
    last_members: BTreeSet<NodeId>,
    /// This partition holds the witness's vote now (the membership keeps
    /// it current with the time: `Membership::witness`).
    witness_vote: bool,
}

impl QuorumState {
    pub fn new(config: QuorumConfig) -> Self {
        Self {
            config,
            all_seen: false,
            lms_expected: None,
            unblocked: None,
            last_members: BTreeSet::new(),
            witness_vote: false,
        }
    }

    pub fn config(&self) -> &QuorumConfig {
        &self.config
    }

    pub fn unblock(&mut self, unblock: Unblock) {
        self.unblocked = Some(unblock);
    }

    /// Whether the witness's vote counts in this partition now.
    pub fn set_witness_vote(&mut self, held: bool) {
        self.witness_vote = held && self.config.witness;
    }

    /// `two_node` turns `wait_for_all` on unless the file turns it off
    /// (votequorum(5)); that default is the config's (`with_defaults`,
    /// `node::settings::quorum_config`), so a written `wait_for_all =
    /// false` is obeyed here rather than ignored.
    fn waits_for_all(&self) -> bool {
        self.config.wait_for_all && !self.all_seen
    }

    /// Records a new view. With last_man_standing, a quorate view that has
    /// lasted the window lowers expected votes to its own votes; the caller
    /// (which knows the time) calls `apply_last_man_standing` for that.
    pub fn view_changed(&mut self, members: &BTreeSet<NodeId>) {
        if self.config.votes.keys().all(|n| members.contains(n)) {
            self.all_seen = true;
        }
        self.last_members = members.clone();
    }

    /// The view has been stable for the last_man_standing window.
    pub fn apply_last_man_standing(&mut self) {
        if !self.config.last_man_standing || !self.status().quorate {
            return;
        }
        let total = self.total_votes();
        // Like votequorum, never go below 2 unless auto_tie_breaker can break the tie.
        let floor = if self.config.auto_tie_breaker { 1 } else { 2 };
        let lowered = total.max(floor);
        if lowered < self.expected_votes() {
            self.lms_expected = Some(lowered);
        }
    }

    fn total_votes(&self) -> u32 {
        let nodes: u32 = self
            .last_members
            .iter()
            .map(|n| self.config.votes.get(n).copied().unwrap_or(0))
            .sum();
        if self.witness_vote {
            nodes.saturating_add(self.config.witness_votes())
        } else {
            nodes
        }
    }

    fn expected_votes(&self) -> u32 {
        let configured = self.config.configured_expected();
        let expected = self.lms_expected.map_or(configured, |l| l.min(configured));
        // A partition holding more votes than expected raises expectations.
        expected.max(self.total_votes())
    }

    pub fn status(&self) -> QuorumStatus {
        let total = self.total_votes();
        let expected = self.expected_votes();
        let quorum = expected / 2 + 1;
        let two_node = self.config.two_node && expected == 2;
        let lowest = self.config.votes.keys().next().copied();
        let (by_votes, mut reason) = if two_node && total >= 1 {
            (true, format!("two_node: {total} of 2 votes suffice"))
        } else if total >= quorum {
            let witness = if self.witness_vote {
                " (the witness's included)"
            } else {
                ""
            };
            (
                true,
                format!("{total} votes{witness} reach quorum {quorum} of {expected} expected"),
            )
        } else if self.config.auto_tie_breaker
            && total * 2 == expected
            && lowest.is_some_and(|l| self.last_members.contains(&l))
        {
            (
                true,
                format!(
                    "auto_tie_breaker: exactly half the votes and node {} is here",
                    lowest.unwrap_or(0)
                ),
            )
        } else {
            (
                false,
                format!("{total} votes are below quorum {quorum} of {expected} expected"),
            )
        };
        let waiting = self.waits_for_all();
        let quorate = by_votes && (!waiting || self.unblocked.is_some());
        if by_votes && waiting {
            reason = match &self.unblocked {
                Some(u) => format!(
                    "{reason}; wait_for_all overridden by {} (cluster unblock)",
                    u.by
                ),
                None => "wait_for_all: waiting for all nodes to be seen once since the cold start \
                         (`paceline cluster unblock` overrides)"
                    .to_string(),
            };
        }
        QuorumStatus {
            quorate,
            total_votes: total,
            expected_votes: expected,
            quorum: if two_node { 1 } else { quorum },
            waiting_for_all: waiting,
            unblocked: self.unblocked.clone(),
            witness_vote: self.witness_vote,
            reason,
        }
    }
}
