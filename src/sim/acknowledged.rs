//! Checker: nothing acknowledged is lost from the status (issue 21).
//!
//! The DC acknowledges a status when it acts on it (sends an agent action
//! planned on it) or answers a client's status request (`resource
//! cleanup`). At that moment the document it acted on must be on a quorum
//! of disks (the simulator's ground truth, not the store's own count), so
//! that the next DC, which adopts the newest document of a quorum, holds
//! it: its fail counts, its fencing history, and what a cleanup removed.
//! A disk holds the document of version V when it holds a later version
//! of the same term (only the term's DC writes, each version on the one
//! before), or the same fail counts and every fence event of V.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::model::ClusterStatus;
use crate::store::Version;

/// The documents remembered per node (the newest ones; an action is
/// planned on one of the last few).
const REMEMBERED_MAX: usize = 256;

/// What of a status must survive: fail counts and the fencing history.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct StatusFacts {
    fail_counts: BTreeMap<(String, String), String>,
    fences: BTreeSet<(String, u64)>,
}

impl StatusFacts {
    pub(super) fn of(status: &ClusterStatus) -> Self {
        let fail_counts = status
            .nodes
            .iter()
            .flat_map(|(node, st)| {
                st.transient_attributes
                    .iter()
                    .filter(|(name, _)| name.starts_with("fail-count-"))
                    .map(move |(name, value)| ((node.clone(), name.clone()), value.clone()))
            })
            .collect();
        let fences = status
            .fencing_history
            .iter()
            .map(|e| (e.origin.clone(), e.id))
            .collect();
        StatusFacts {
            fail_counts,
            fences,
        }
    }

    /// Whether a disk whose document is at `version` with `facts` holds
    /// the document of `acked` (with `self`'s facts).
    fn held_by(&self, acked: Version, version: Version, facts: &StatusFacts) -> bool {
        let same_term = (version.view, version.dc) == (acked.view, acked.dc);
        (same_term && version >= acked)
            || (facts.fail_counts == self.fail_counts && facts.fences.is_superset(&self.fences))
    }
}

/// Each node's persisted documents by version (what it could act on).
#[derive(Debug, Default)]
pub(super) struct Acknowledged {
    persisted: BTreeMap<u16, VecDeque<(Version, StatusFacts)>>,
}

impl Acknowledged {
    pub(super) fn persisted(&mut self, node: u16, version: Version, status: &ClusterStatus) {
        let docs = self.persisted.entry(node).or_default();
        docs.push_back((version, StatusFacts::of(status)));
        while docs.len() > REMEMBERED_MAX {
            docs.pop_front();
        }
    }

    /// `node` acknowledged its document of `version` (`what` says how);
    /// `disks` are every node's persisted document (version, status), and
    /// `need` how many must hold it. Returns the violation, if any.
    pub(super) fn check(
        &self,
        node: u16,
        version: Version,
        disks: &[(Version, &ClusterStatus)],
        need: usize,
    ) -> Option<String> {
        let (_, facts) = self
            .persisted
            .get(&node)?
            .iter()
            .rev()
            .find(|(v, _)| *v == version)?;
        let holding = disks
            .iter()
            .filter(|(v, status)| facts.held_by(version, *v, &StatusFacts::of(status)))
            .count();
        (holding < need).then(|| {
            format!(
                "acted on the status of version {version:?} held by {holding} disk(s) of the {need} a commit needs ({facts:?})"
            )
        })
    }
}
