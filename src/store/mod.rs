//! The replicated cluster document (config + status), versioned like the CIB.
//!
//! Sans-IO: this module only holds data and pure transitions; `persist` is the
//! one part that touches the disk.
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "store (`src/store/`)")
//!
//! The replicated cluster document, generic over its config `C` and status `S`
//! (`S: Patchable`: changed by patches; `ClusterStatus` with `StatusPatch`
//! through `controller::apply_patch`, implemented in `controller/patch.rs`, so
//! the store knows neither). `ClusterStatus` holds each node's
//! membership, transient attributes (fail counts) and operation history, and
//! the cluster's fencing history (`fencing_history`: `FenceEvent`s, oldest
//! first, the newest 50 kept; `#[serde(default)]`, so a `cluster.json` from
//! before it loads with an empty one). `Version` = (admin_epoch, term, dc,
//! epoch, num_updates), compared in that order (the term is the field `view`):
//! config replacement bumps epoch (resetting num_updates), status patches bump
//! num_updates, admin_epoch is operator-only. `replace_config` takes the version
//! the client read and refuses with `Conflict` if the config or its lineage
//! (term, DC) changed since (optimistic concurrency for `configure load/edit`).
//! The DC is the lowest member id of a quorate view (`choose_dc`). `persist.rs`
//! is the only I/O: temp file in the same dir, fsync, rename, fsync dir; a
//! corrupt file is renamed to `*.corrupt` and reported.
//!
//! `machine.rs` is the per-node sans-IO machine (`Node`): view change, peer
//! message, client config request, status patch, persisted-ack and
//! peer-settled in; Send/Persist/Reply out, executed in order (a Persist is
//! durable before the Sends after it).
//! - Sync: after a view change the DC picks a term above every term it knows
//!   and `Solicit`s the members; a member promises the term (kept in
//!   `Document::promised`, persisted before it answers) and `Offer`s its
//!   document, or answers `Promised` with a higher promise (the DC retries
//!   above it). The DC adopts the newest offer and is *ready* once it holds as
//!   many documents as an acknowledgement needs (itself included), then stamps
//!   the document with (term, its id), persists and `Replicate`s it. Members
//!   refuse writes stamped with a term older than their promise. Hence a later
//!   term's document holds every acknowledged change, an unacknowledged change
//!   of an older term never wins over it, and no two documents share a version
//!   (tests: the known gap scenario, view ids restarting after a full reboot).
//! - Config: the ready DC answers a change Ok once it is persisted on a
//!   majority of configured nodes, or (two_node) on every member of the view.
//!   Not ready: `Syncing`; not DC or no quorum: `NotDc`; a view change
//!   interrupts a pending change (`Interrupted`, outcome unknown).
//! - two_node: both halves of a split keep quorum, so a lone DC becomes ready
//!   only after `on_peer_settled(peer)` (the driver calls it when the
//!   controller records the peer fenced or cleanly gone): the loser of the
//!   fence race never writes.
//! - Status: `on_status_patch` — the ready DC applies it and sends `Patch`
//!   (base version, new version) to the members; members `Forward` theirs to
//!   the DC; a DC still syncing queues them (kept if it stays DC across a view
//!   change, forwarded to the new DC otherwise); without quorum they are
//!   dropped (the controller keeps its own). A member that misses a patch
//!   offers its document and gets a `Replicate` back.
//! - Drivers: the simulator (`sim/cluster.rs`) today; the daemon sends the
//!   controller `Input::Synced` when `is_ready_dc()` becomes true.
//! - Commit (issue 21): a status patch is committed once `required_acks`
//!   members (the DC included) made a version holding it durable, the same
//!   rule as a configuration change (`machine::Node::committed`). The node
//!   core sends no action planned on an uncommitted status (see
//!   `node/core.rs`, "Output commit"), so a DC crash loses only patches
//!   nobody acted on.

pub mod machine;
pub mod persist;

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Orders every change of the document: compared lexicographically as
/// (admin_epoch, view, dc, epoch, num_updates). Config changes bump `epoch`
/// (and reset `num_updates`), status changes bump `num_updates`, only an
/// operator bumps `admin_epoch` (to force their copy to win a sync).
///
/// `view` (the term) and `dc` stamp the DC that last wrote the document.
/// A DC picks a term above every term its quorum has promised and writes
/// only once that quorum has offered it their documents (see
/// `machine.rs`), so a later term's document already holds everything
/// acknowledged before it: it wins over anything an earlier term wrote
/// without acknowledgement, and no two DCs ever stamp with the same term
/// and id, so two different documents never carry one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Version {
    pub admin_epoch: u64,
    pub epoch: u64,
    pub num_updates: u64,
    #[serde(default)]
    pub view: u64,
    #[serde(default)]
    pub dc: u32,
}

impl Version {
    fn key(&self) -> (u64, u64, u32, u64, u64) {
        (
            self.admin_epoch,
            self.view,
            self.dc,
            self.epoch,
            self.num_updates,
        )
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The designated controller of a view: the lowest node id among the members,
/// so every member of the same view picks the same DC without a message.
pub fn choose_dc(members: &[u32]) -> Option<u32> {
    members.iter().copied().min()
}

/// A status that changes by patches (the store replicates patches, not
/// whole documents, between full syncs). The cluster's status implements it
/// beside `controller::apply_patch`, which the store does not know.
pub trait Patchable {
    type Patch: Clone + std::fmt::Debug + PartialEq;
    fn apply(&mut self, patch: &Self::Patch);
}

/// A versioned document; `C` is the configuration, `S` the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document<C, S> {
    pub version: Version,
    pub config: C,
    pub status: S,
    /// The highest term (`Version::view`) this node has offered its
    /// document to: it accepts no write stamped with an older term, so a
    /// DC that lost its quorum can no longer get anything acknowledged.
    /// Per node (never copied from another node's document).
    #[serde(default)]
    pub promised: u64,
}

/// Why an update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error(
        "the configuration changed since you read it (based on epoch {based_on:?}, now {current:?}); reload it and apply your change again"
    )]
    Conflict { based_on: Version, current: Version },
    /// Only a corrupt or forged document reaches the last epoch.
    #[error(
        "the document's epoch is at its maximum ({0:?}); it is corrupt: restore the state file from a good copy"
    )]
    Exhausted(Version),
}

impl<C, S> Document<C, S> {
    pub fn new(config: C, status: S) -> Self {
        Document {
            version: Version::default(),
            config,
            status,
            promised: 0,
        }
    }

    /// Marks the document as written by `dc` in `view`.
    pub fn stamp(&mut self, view: u64, dc: u32) {
        self.version.view = view;
        self.version.dc = dc;
    }

    /// Replaces the configuration if it is still the one the client read
    /// (optimistic concurrency for `configure load/edit`). A read from
    /// before a new DC took over conflicts too: the epoch may have been
    /// reused by a lineage that was never acknowledged.
    pub fn replace_config(&mut self, based_on: Version, config: C) -> Result<Version, UpdateError> {
        let lineage = |v: &Version| (v.admin_epoch, v.epoch, v.view, v.dc);
        if lineage(&based_on) != lineage(&self.version) {
            return Err(UpdateError::Conflict {
                based_on,
                current: self.version,
            });
        }
        let epoch = self
            .version
            .epoch
            .checked_add(1)
            .ok_or(UpdateError::Exhausted(self.version))?;
        self.config = config;
        self.version.epoch = epoch;
        self.version.num_updates = 0;
        Ok(self.version)
    }

    /// Applies a status patch; status never conflicts, it only advances.
    pub fn patch_status(&mut self, patch: impl FnOnce(&mut S)) -> Version {
        patch(&mut self.status);
        // Saturating: only a corrupt or forged document holds the last
        // count; its patches then stop ordering until the next config
        // change resets it, instead of the version wrapping to an old one.
        self.version.num_updates = self.version.num_updates.saturating_add(1);
        self.version
    }

    /// Sync after a view change: the newest version wins.
    pub fn adopt_if_newer(&mut self, other: &Document<C, S>) -> bool
    where
        C: Clone,
        S: Clone,
    {
        if other.version > self.version {
            let promised = self.promised;
            *self = other.clone();
            self.promised = promised;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_orders_lexicographically() {
        let v = |a, e, n| Version {
            admin_epoch: a,
            epoch: e,
            num_updates: n,
            ..Version::default()
        };
        assert!(v(0, 2, 0) > v(0, 1, 99));
        assert!(v(1, 0, 0) > v(0, 9, 9));
        assert!(v(0, 1, 2) > v(0, 1, 1));
        // A later view's write wins over more changes made in an earlier one.
        let mut later = v(0, 1, 0);
        later.view = 5;
        let mut earlier = v(0, 7, 3);
        earlier.view = 4;
        assert!(later > earlier);
        let mut other_dc = later;
        other_dc.dc = 2;
        assert_ne!(other_dc, later);
    }

    #[test]
    fn stale_config_edit_is_rejected() {
        let mut d = Document::new(1u32, 0u32);
        let read = d.version;
        d.replace_config(read, 2).unwrap();
        assert!(matches!(
            d.replace_config(read, 3),
            Err(UpdateError::Conflict { .. })
        ));
        assert_eq!(d.config, 2);
        let v = d.patch_status(|s| *s += 1);
        assert_eq!(v.num_updates, 1);
        d.replace_config(v, 4).unwrap();
    }

    /// Found by reading after the `state_files` fuzz target's store
    /// overflow: a persisted document at the last epoch or count must not
    /// wrap (in release) or panic (in debug) on the next change.
    #[test]
    fn counters_at_their_maximum_never_wrap() {
        let mut d = Document::new(1u32, 0u32);
        d.version.epoch = u64::MAX;
        d.version.num_updates = u64::MAX;
        let read = d.version;
        assert!(matches!(
            d.replace_config(read, 2),
            Err(UpdateError::Exhausted(_))
        ));
        assert_eq!(d.config, 1);
        assert_eq!(d.patch_status(|s| *s += 1).num_updates, u64::MAX);
    }

    #[test]
    fn newest_wins_and_dc_is_lowest() {
        let mut a = Document::new(1u32, 0u32);
        let mut b = a.clone();
        b.replace_config(b.version, 7).unwrap();
        assert!(a.adopt_if_newer(&b));
        assert_eq!(a.config, 7);
        assert!(!b.adopt_if_newer(&Document::new(0, 0)));
        assert_eq!(choose_dc(&[3, 1, 2]), Some(1));
        assert_eq!(choose_dc(&[]), None);
    }
}
