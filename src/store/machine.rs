//! Per-node sans-IO replication machine: events in, commands out, no clock.
//! Commands are executed in order: a `Persist` is durable before any
//! `Send` that follows it.
//!
//! Durability rule: the DC acknowledges a config change once it is persisted
//! on `required_acks` members: a majority of the configured nodes, or in a
//! two_node cluster every member of the current view (both if both are up,
//! the survivor alone otherwise).
//!
//! Terms: after a view change the DC picks a term above every term it
//! knows and solicits the members' documents with it. A member promises
//! the term (persisted before it answers) and offers its document, or says
//! it already promised a higher one (the DC then retries above it). The
//! DC accepts changes only once it holds as many documents as an
//! acknowledgement needs (its own included): every acknowledged document
//! was persisted on at least one of them, so the newest it adopts contains
//! all of them. It stamps its writes with the term (`Version::view`) and
//! members refuse writes of a term older than their promise, so a DC that
//! lost its quorum gets nothing acknowledged any more, and what an older
//! term wrote without acknowledgement never wins over a newer term.
//!
//! In a two_node cluster both halves of a split keep quorum, and each
//! would become a DC alone. A lone DC therefore becomes ready only once the
//! peer is settled (`on_peer_settled`: its fence was confirmed or it left
//! cleanly): the half that loses the fence race never writes, so its
//! document cannot later win over the survivor's.
//!
//! Status patches go through the DC: a member forwards them, the DC applies
//! them in arrival order and sends each patch (with the version it applies
//! on) to the members; a member whose document is not at that version asks
//! for the whole document by offering its own.
//!
//! Commit: status patches follow the durability rule of configurations.
//! Every member acknowledges each version it made durable; the ready DC
//! keeps the highest version each member acknowledged in its term and calls
//! *committed* the newest version that `required_acks` of them (itself
//! included) hold (`committed()`). Within a term only the DC writes and a
//! member takes a patch only on the version it was made on, so a member
//! holding version V of the term holds every change up to V. A committed
//! version is on a quorum of disks, and the next DC adopts the newest
//! document of a quorum, so it survives a DC crash; a version not yet
//! committed may be lost with the DC, so nobody acts on it or reports it
//! done (the node core holds back what depends on it).

use super::{Document, Patchable, UpdateError, Version, choose_dc};
use std::collections::{BTreeMap, BTreeSet};

/// Serializable so a driver can put it on the wire (the store's own
/// transport is the driver's business).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "C: serde::Serialize, S: serde::Serialize, S::Patch: serde::Serialize",
    deserialize = "C: serde::Deserialize<'de>, S: serde::Deserialize<'de>, S::Patch: serde::Deserialize<'de>"
))]
pub enum Msg<C, S: Patchable> {
    /// DC -> members after a view change: promise `term` and offer me
    /// your document.
    Solicit { view: u64, term: u64 },
    /// Member -> DC: my document (for `term`: promised; or, once the DC is
    /// ready, a member that found a gap asks for the whole document).
    Offer {
        view: u64,
        term: u64,
        doc: Document<C, S>,
    },
    /// Member -> DC: I already promised `promised` >= your term.
    Promised { view: u64, promised: u64 },
    /// DC -> members: adopt this document.
    Replicate { view: u64, doc: Document<C, S> },
    /// Member -> DC: this version is durable here.
    Ack { view: u64, version: Version },
    /// Member -> DC: apply this status patch.
    Forward { view: u64, patch: S::Patch },
    /// DC -> members: the DC applied `patch` on `base`, giving `version`.
    Patch {
        view: u64,
        base: Version,
        version: Version,
        patch: S::Patch,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command<C, S: Patchable> {
    Send {
        to: u32,
        msg: Msg<C, S>,
    },
    /// Make the document durable as it is now (or newer: a driver that
    /// coalesces writes takes the newest when it writes), then report
    /// `on_persisted(version)`. Only the version travels: copying the whole
    /// document for every status patch cost the driver's loop a copy of
    /// the status per patch.
    Persist(Version),
    Reply {
        request: u64,
        result: Result<Version, ReplyError>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error("this node is not the DC or has no quorum; retry on the DC")]
    NotDc,
    #[error("the view changed before the change was durable; check the config and retry")]
    Interrupted,
    #[error("the DC is still collecting the members' documents after a view change; retry shortly")]
    Syncing,
}

pub struct Node<C, S: Patchable> {
    pub id: u32,
    pub cluster_size: usize,
    pub two_node: bool,
    pub doc: Document<C, S>,
    view: u64,
    members: Vec<u32>,
    quorate: bool,
    pending: Option<(u64, Version, BTreeSet<u32>)>,
    /// The term this DC solicits (or writes with, once ready).
    term: u64,
    /// Members whose documents the DC holds for `term` (itself included).
    offers: BTreeSet<u32>,
    ready: bool,
    /// Status patches that reached the DC before it was ready.
    queued: Vec<S::Patch>,
    /// Peers out of the view known to be fenced or cleanly gone.
    settled: BTreeSet<u32>,
    /// The highest version of this DC's term each member (itself
    /// included) made durable; reset with every new term.
    durable_at: BTreeMap<u32, Version>,
    /// The newest version of this term held by `required_acks` members.
    committed: Version,
    /// A solicitation for a view this member has not installed yet.
    early_solicit: Option<(u32, u64, u64)>,
}

impl<C: Clone, S: Clone + Patchable> Node<C, S> {
    pub fn new(id: u32, cluster_size: usize, two_node: bool, doc: Document<C, S>) -> Self {
        Node {
            id,
            cluster_size,
            two_node,
            doc,
            view: 0,
            members: vec![],
            quorate: false,
            pending: None,
            term: 0,
            offers: BTreeSet::new(),
            ready: false,
            queued: Vec::new(),
            settled: BTreeSet::new(),
            durable_at: BTreeMap::new(),
            committed: Version::default(),
            early_solicit: None,
        }
    }

    fn is_dc(&self) -> bool {
        self.quorate && choose_dc(&self.members) == Some(self.id)
    }

    /// Whether this node is the DC and holds a quorum of documents.
    pub fn is_ready_dc(&self) -> bool {
        self.is_dc() && self.ready
    }

    /// The newest version a quorum holds durably (see "Commit" above);
    /// `Version::default()` until this node is a ready DC that committed
    /// something in its term.
    pub fn committed(&self) -> Version {
        self.committed
    }

    /// This node is a ready DC whose document holds changes that may still
    /// be lost with it (not on a quorum of disks yet).
    pub fn uncommitted(&self) -> bool {
        self.is_ready_dc() && self.committed < self.doc.version
    }

    fn required_acks(&self) -> usize {
        if self.two_node {
            self.members.len()
        } else {
            self.cluster_size / 2 + 1
        }
    }

    pub fn on_view(&mut self, view: u64, members: Vec<u32>, quorate: bool) -> Vec<Command<C, S>> {
        let mut out = vec![];
        if let Some((req, _, _)) = self.pending.take() {
            out.push(Command::Reply {
                request: req,
                result: Err(ReplyError::Interrupted),
            });
        }
        self.view = view;
        self.members = members;
        self.quorate = quorate;
        self.ready = false;
        self.durable_at.clear();
        self.committed = Version::default();
        let members = &self.members;
        self.settled.retain(|p| !members.contains(p));
        if !self.is_dc() {
            // Patches that waited here belong to the new DC now.
            let queued = std::mem::take(&mut self.queued);
            for patch in queued {
                out.extend(self.on_status_patch(patch));
            }
        }
        if self.is_dc() {
            let above = self.doc.promised.max(self.doc.version.view).max(self.term);
            // Only a corrupt or forged document holds the last term: this
            // DC then stays unready (it writes nothing), never reusing a term.
            if let Some(term) = above.checked_add(1) {
                out.extend(self.solicit(term));
            }
        } else if let Some((from, v, term)) = self.early_solicit.take()
            && v == view
            && choose_dc(&self.members) == Some(from)
        {
            out.extend(self.promise(from, term));
        }
        out
    }

    fn solicit(&mut self, term: u64) -> Vec<Command<C, S>> {
        self.term = term;
        self.durable_at.clear();
        self.committed = Version::default();
        self.doc.promised = self.doc.promised.max(term);
        self.offers = BTreeSet::from([self.id]);
        let mut out = vec![];
        for m in self.members.iter().filter(|m| **m != self.id) {
            out.push(Command::Send {
                to: *m,
                msg: Msg::Solicit {
                    view: self.view,
                    term,
                },
            });
        }
        out.extend(self.check_ready());
        out
    }

    /// Member side of a solicitation: promise (durably) and offer, or say
    /// what was promised already.
    fn promise(&mut self, dc: u32, term: u64) -> Vec<Command<C, S>> {
        if term <= self.doc.promised {
            return vec![Command::Send {
                to: dc,
                msg: Msg::Promised {
                    view: self.view,
                    promised: self.doc.promised,
                },
            }];
        }
        self.doc.promised = term;
        vec![
            Command::Persist(self.doc.version),
            Command::Send {
                to: dc,
                msg: Msg::Offer {
                    view: self.view,
                    term,
                    doc: self.doc.clone(),
                },
            },
        ]
    }

    /// Once a quorum of documents is in: stamp, persist, replicate, and
    /// apply the status patches that waited.
    fn check_ready(&mut self) -> Vec<Command<C, S>> {
        if self.ready || self.offers.len() < self.required_acks() {
            return vec![];
        }
        let absent = self.cluster_size.saturating_sub(self.members.len());
        if self.two_node && self.settled.len() < absent {
            return vec![];
        }
        self.ready = true;
        self.doc.stamp(self.term, self.id);
        for patch in std::mem::take(&mut self.queued) {
            self.doc.patch_status(|s| s.apply(&patch));
        }
        let mut out = vec![Command::Persist(self.doc.version)];
        out.extend(self.push_all());
        out
    }

    fn push_all(&self) -> Vec<Command<C, S>> {
        self.members
            .iter()
            .filter(|m| **m != self.id)
            .map(|m| Command::Send {
                to: *m,
                msg: Msg::Replicate {
                    view: self.view,
                    doc: self.doc.clone(),
                },
            })
            .collect()
    }

    pub fn on_config_request(
        &mut self,
        request: u64,
        based_on: Version,
        config: C,
    ) -> Vec<Command<C, S>> {
        if !self.is_dc() || self.pending.is_some() {
            return vec![Command::Reply {
                request,
                result: Err(ReplyError::NotDc),
            }];
        }
        if !self.ready {
            return vec![Command::Reply {
                request,
                result: Err(ReplyError::Syncing),
            }];
        }
        match self.doc.replace_config(based_on, config) {
            Err(e) => vec![Command::Reply {
                request,
                result: Err(e.into()),
            }],
            Ok(v) => {
                self.pending = Some((request, v, BTreeSet::new()));
                let mut out = vec![Command::Persist(self.doc.version)];
                out.extend(self.push_all());
                out
            }
        }
    }

    /// A peer out of the view is fenced (confirmed) or left cleanly: a
    /// two_node survivor may now act alone.
    pub fn on_peer_settled(&mut self, peer: u32) -> Vec<Command<C, S>> {
        if self.members.contains(&peer) {
            return vec![];
        }
        self.settled.insert(peer);
        if self.is_dc() {
            self.check_ready()
        } else {
            vec![]
        }
    }

    /// A status change made on this node (by its controller or a local
    /// agent). The DC applies it; a member forwards it to the DC; without
    /// a DC it is dropped (the controller that made it keeps it).
    pub fn on_status_patch(&mut self, patch: S::Patch) -> Vec<Command<C, S>> {
        if self.is_dc() {
            return self.apply_as_dc(patch);
        }
        match choose_dc(&self.members) {
            Some(dc) if self.quorate && dc != self.id => vec![Command::Send {
                to: dc,
                msg: Msg::Forward {
                    view: self.view,
                    patch,
                },
            }],
            _ => vec![],
        }
    }

    fn apply_as_dc(&mut self, patch: S::Patch) -> Vec<Command<C, S>> {
        if !self.ready {
            self.queued.push(patch);
            return vec![];
        }
        let base = self.doc.version;
        let version = self.doc.patch_status(|s| s.apply(&patch));
        let mut out = vec![Command::Persist(self.doc.version)];
        for m in self.members.iter().filter(|m| **m != self.id) {
            out.push(Command::Send {
                to: *m,
                msg: Msg::Patch {
                    view: self.view,
                    base,
                    version,
                    patch: patch.clone(),
                },
            });
        }
        out
    }

    pub fn on_persisted(&mut self, version: Version) -> Vec<Command<C, S>> {
        if self.is_dc() {
            self.ack(self.id, version)
        } else if let Some(dc) = choose_dc(&self.members) {
            vec![Command::Send {
                to: dc,
                msg: Msg::Ack {
                    view: self.view,
                    version,
                },
            }]
        } else {
            vec![]
        }
    }

    fn ack(&mut self, from: u32, version: Version) -> Vec<Command<C, S>> {
        let need = self.required_acks();
        self.note_durable(from, version, need);
        if let Some((req, v, acks)) = &mut self.pending
            && version >= *v
        {
            acks.insert(from);
            if acks.len() >= need {
                let (req, v) = (*req, *v);
                self.pending = None;
                return vec![Command::Reply {
                    request: req,
                    result: Ok(v),
                }];
            }
        }
        vec![]
    }

    /// A member (or this DC) holds `version` durably: the committed version
    /// is the newest one `need` current members hold, counting only
    /// versions this DC stamped in its term (an older term's version says
    /// nothing of what this term wrote).
    fn note_durable(&mut self, from: u32, version: Version, need: usize) {
        if !self.is_ready_dc() || (version.view, version.dc) != (self.term, self.id) {
            return;
        }
        let slot = self.durable_at.entry(from).or_default();
        *slot = (*slot).max(version);
        let mut held: Vec<Version> = self
            .durable_at
            .iter()
            .filter(|(m, _)| self.members.contains(m))
            .map(|(_, v)| *v)
            .collect();
        held.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(v) = need.checked_sub(1).and_then(|i| held.get(i)) {
            self.committed = self.committed.max(*v);
        }
    }

    /// Whether a write stamped `version` may be accepted: not from a term
    /// older than this node's promise.
    fn current(&self, version: &Version) -> bool {
        version.view >= self.doc.promised
    }

    pub fn on_message(&mut self, from: u32, msg: Msg<C, S>) -> Vec<Command<C, S>> {
        let from_dc = choose_dc(&self.members) == Some(from);
        match msg {
            Msg::Solicit { view, term } => {
                if view == self.view && from_dc {
                    self.promise(from, term)
                } else if view > self.view {
                    self.early_solicit = Some((from, view, term));
                    vec![]
                } else {
                    vec![]
                }
            }
            Msg::Promised { view, promised }
                if view == self.view && self.is_dc() && !self.ready && promised >= self.term =>
            {
                promised
                    .checked_add(1)
                    .map(|term| self.solicit(term))
                    .unwrap_or_default()
            }
            Msg::Offer { view, term, doc } if view == self.view && self.is_dc() => {
                let adopted = self.doc.adopt_if_newer(&doc);
                if !self.ready {
                    if term != self.term {
                        return vec![];
                    }
                    self.offers.insert(from);
                    let mut out = if adopted {
                        vec![Command::Persist(self.doc.version)]
                    } else {
                        vec![]
                    };
                    out.extend(self.check_ready());
                    return out;
                }
                if adopted {
                    // A late offer that is newer: written in an earlier term
                    // by a DC that held a quorum; this term supersedes it.
                    self.doc.stamp(self.term, self.id);
                    let mut out = vec![Command::Persist(self.doc.version)];
                    out.extend(self.push_all());
                    out
                } else {
                    vec![Command::Send {
                        to: from,
                        msg: Msg::Replicate {
                            view,
                            doc: self.doc.clone(),
                        },
                    }]
                }
            }
            Msg::Replicate { view, doc } if view == self.view && from_dc => {
                if !self.current(&doc.version) {
                    vec![]
                } else if self.doc.adopt_if_newer(&doc) {
                    vec![Command::Persist(self.doc.version)]
                } else {
                    vec![Command::Send {
                        to: from,
                        msg: Msg::Ack {
                            view,
                            version: self.doc.version,
                        },
                    }]
                }
            }
            Msg::Ack { view, version } if view == self.view => self.ack(from, version),
            Msg::Forward { view, patch } if view == self.view && self.is_dc() => {
                self.apply_as_dc(patch)
            }
            Msg::Patch {
                view,
                base,
                version,
                patch,
            } if view == self.view && from_dc && self.current(&version) => {
                if self.doc.version == base {
                    self.doc.status.apply(&patch);
                    self.doc.version = version;
                    vec![Command::Persist(self.doc.version)]
                } else if self.doc.version >= version {
                    vec![]
                } else {
                    // A gap (a lost patch): get the whole document.
                    vec![Command::Send {
                        to: from,
                        msg: Msg::Offer {
                            view,
                            term: self.doc.promised,
                            doc: self.doc.clone(),
                        },
                    }]
                }
            }
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status that is a counter; a patch adds to it.
    impl Patchable for u32 {
        type Patch = u32;
        fn apply(&mut self, patch: &u32) {
            *self += patch;
        }
    }

    type N = Node<u32, u32>;

    fn node(id: u32) -> N {
        Node::new(id, 3, false, Document::new(0u32, 0u32))
    }

    /// Found by the `state_files` fuzz target: a cluster.json whose
    /// promise (or a peer's `Promised`) is the last term overflowed the
    /// next term. Such a DC now stays unready: it neither wraps to term 0
    /// nor reuses the term.
    #[test]
    fn the_last_term_is_never_exceeded_nor_reused() {
        let mut doc = Document::new(0u32, 0u32);
        doc.promised = u64::MAX;
        let mut dc = Node::new(1, 3, false, doc);
        assert!(dc.on_view(7, vec![1, 2], true).is_empty());
        assert!(!dc.is_ready_dc());
        let mut dc = node(1);
        let out = dc.on_view(7, vec![1, 2], true);
        assert!(matches!(
            out[..],
            [Command::Send {
                msg: Msg::Solicit { .. },
                ..
            }]
        ));
        let promised = Msg::Promised {
            view: 7,
            promised: u64::MAX,
        };
        assert!(dc.on_message(2, promised).is_empty());
        assert!(!dc.is_ready_dc());
    }

    /// Delivers every Send among `nodes` (and every Persist as persisted)
    /// until quiet; `drop` says which (from, to) messages are lost.
    fn settle(
        nodes: &mut [&mut N],
        mut out: Vec<(u32, Command<u32, u32>)>,
        drop: &dyn Fn(u32, u32) -> bool,
    ) -> Vec<Command<u32, u32>> {
        let mut replies = Vec::new();
        for _ in 0..1000 {
            let Some((at, cmd)) = out.pop() else {
                return replies;
            };
            match cmd {
                Command::Send { to, msg } => {
                    if drop(at, to) {
                        continue;
                    }
                    if let Some(n) = nodes.iter_mut().find(|n| n.id == to) {
                        out.extend(n.on_message(at, msg).into_iter().map(|c| (to, c)));
                    }
                }
                Command::Persist(version) => {
                    if let Some(n) = nodes.iter_mut().find(|n| n.id == at) {
                        out.extend(n.on_persisted(version).into_iter().map(|c| (at, c)));
                    }
                }
                reply @ Command::Reply { .. } => replies.push(reply),
            }
        }
        panic!("no quiescence");
    }

    fn view(nodes: &mut [&mut N], view: u64, members: &[u32], drop: &dyn Fn(u32, u32) -> bool) {
        let mut out = Vec::new();
        for n in nodes.iter_mut().filter(|n| members.contains(&n.id)) {
            let quorate = members.len() * 2 > n.cluster_size;
            out.extend(
                n.on_view(view, members.to_vec(), quorate)
                    .into_iter()
                    .map(|c| (n.id, c)),
            );
        }
        settle(nodes, out, drop);
    }

    #[test]
    fn config_acked_only_after_quorum_persisted() {
        let mut dc = node(1);
        let out = dc.on_view(1, vec![1, 2, 3], true);
        assert!(
            out.iter().all(|c| matches!(
                c,
                Command::Send {
                    msg: Msg::Solicit { view: 1, .. },
                    ..
                }
            )),
            "not ready before a quorum of offers: {out:?}"
        );
        let out = dc.on_config_request(6, Version::default(), 5);
        assert_eq!(
            out,
            vec![Command::Reply {
                request: 6,
                result: Err(ReplyError::Syncing)
            }]
        );
        let out = dc.on_message(
            2,
            Msg::Offer {
                view: 1,
                term: 1,
                doc: Document::new(0, 0),
            },
        );
        assert!(dc.is_ready_dc());
        assert!(matches!(out[0], Command::Persist(_)));
        assert_eq!(
            (dc.doc.version.view, dc.doc.version.dc),
            (1, 1),
            "stamped with its term"
        );
        let out = dc.on_config_request(7, dc.doc.version, 5);
        assert!(matches!(out[0], Command::Persist(_)));
        let v = dc.doc.version;
        assert!(dc.on_persisted(v).is_empty());
        let out = dc.on_message(
            2,
            Msg::Ack {
                view: 1,
                version: v,
            },
        );
        assert_eq!(
            out,
            vec![Command::Reply {
                request: 7,
                result: Ok(v)
            }]
        );
        let mut lone = node(3);
        lone.on_view(2, vec![3], false);
        let out = lone.on_config_request(8, Version::default(), 5);
        assert_eq!(
            out,
            vec![Command::Reply {
                request: 8,
                result: Err(ReplyError::NotDc)
            }]
        );
    }

    /// The known gap: a DC applies a change nobody else gets, loses its
    /// view, and the next DC makes a different change at the same epoch.
    /// The two must never carry one version, and the acknowledged one wins.
    #[test]
    fn an_unacknowledged_change_never_shares_a_version_with_the_acknowledged_one() {
        let (mut a, mut b, mut c) = (node(1), node(2), node(3));
        let none = |_, _| false;
        view(&mut [&mut a, &mut b, &mut c], 1, &[1, 2, 3], &none);
        assert!(a.is_ready_dc());
        // node1 changes the config; every message from it is lost.
        let out = a.on_config_request(1, a.doc.version, 10);
        let from_a = |f: u32, _| f == 1;
        let replies = settle(
            &mut [&mut a, &mut b, &mut c],
            out.into_iter().map(|c| (1, c)).collect(),
            &from_a,
        );
        assert!(replies.is_empty(), "never acknowledged");
        let lost = a.doc.clone();
        // node2 and node3 go on without node1 and change the config too.
        view(&mut [&mut a, &mut b, &mut c], 2, &[2, 3], &none);
        assert!(b.is_ready_dc());
        assert_eq!(b.doc.config, 0, "node1's change never reached them");
        let out = b.on_config_request(2, b.doc.version, 20);
        let replies = settle(
            &mut [&mut a, &mut b, &mut c],
            out.into_iter().map(|c| (2, c)).collect(),
            &none,
        );
        assert!(matches!(
            replies[..],
            [Command::Reply {
                request: 2,
                result: Ok(_)
            }]
        ));
        assert_eq!(
            b.doc.version.epoch, lost.version.epoch,
            "the same epoch number"
        );
        assert_ne!(b.doc.version, lost.version, "but not the same version");
        // All three again: node1 is DC, and the acknowledged change survives.
        view(&mut [&mut a, &mut b, &mut c], 3, &[1, 2, 3], &none);
        for n in [&a, &b, &c] {
            assert_eq!(n.doc.config, 20, "node {}", n.id);
        }
    }

    #[test]
    fn status_patches_go_through_the_dc_and_a_gap_is_repaired() {
        let (mut a, mut b, mut c) = (node(1), node(2), node(3));
        let none = |_, _| false;
        view(&mut [&mut a, &mut b, &mut c], 1, &[1, 2, 3], &none);
        // A member's patch is forwarded to the DC and reaches everyone.
        let out = c.on_status_patch(5);
        settle(
            &mut [&mut a, &mut b, &mut c],
            out.into_iter().map(|x| (3, x)).collect(),
            &none,
        );
        assert_eq!((a.doc.status, b.doc.status, c.doc.status), (5, 5, 5));
        assert_eq!(a.doc.version, c.doc.version);
        // node3 misses one patch; the next one finds the gap and it resyncs.
        let out = a.on_status_patch(1);
        settle(
            &mut [&mut a, &mut b, &mut c],
            out.into_iter().map(|x| (1, x)).collect(),
            &|f, t| f == 1 && t == 3,
        );
        assert_eq!(c.doc.status, 5);
        let out = a.on_status_patch(1);
        settle(
            &mut [&mut a, &mut b, &mut c],
            out.into_iter().map(|x| (1, x)).collect(),
            &none,
        );
        assert_eq!((a.doc.status, b.doc.status, c.doc.status), (7, 7, 7));
        assert_eq!(b.doc.version, c.doc.version);
        // Without quorum nothing is applied.
        let mut lone = node(3);
        lone.on_view(9, vec![3], false);
        assert!(lone.on_status_patch(1).is_empty());
        assert_eq!(lone.doc.status, 0);
    }

    /// Issue 21: a status patch is committed only once a quorum made it
    /// durable; what is committed survives the DC, what is not may not.
    #[test]
    fn a_status_patch_is_committed_by_a_quorum_and_survives_the_dc() {
        let (mut a, mut b, mut c) = (node(1), node(2), node(3));
        let none = |_, _| false;
        view(&mut [&mut a, &mut b, &mut c], 1, &[1, 2, 3], &none);
        assert!(!a.uncommitted(), "the synced document is committed");
        // The members' acknowledgements are lost: only the DC holds it.
        let out = a.on_status_patch(5);
        assert!(a.uncommitted());
        let to_a = |_, t: u32| t == 1;
        settle(
            &mut [&mut a, &mut b, &mut c],
            out.into_iter().map(|x| (1, x)).collect(),
            &to_a,
        );
        assert_eq!((b.doc.status, c.doc.status), (5, 5));
        assert!(
            a.uncommitted(),
            "durable on the DC alone: {:?}",
            a.committed()
        );
        assert!(a.committed() < a.doc.version);
        // One member's acknowledgement makes a quorum of three.
        let v = a.doc.version;
        assert!(
            a.on_message(
                3,
                Msg::Ack {
                    view: 1,
                    version: v
                }
            )
            .is_empty()
        );
        assert_eq!(a.committed(), v);
        assert!(!a.uncommitted());
        // An acknowledgement of another term counts for nothing.
        let mut other = v;
        other.view += 1;
        other.num_updates += 9;
        a.on_message(
            2,
            Msg::Ack {
                view: 1,
                version: other,
            },
        );
        assert_eq!(a.committed(), v);
        // The DC dies: the next DC holds the committed patch.
        view(&mut [&mut a, &mut b, &mut c], 2, &[2, 3], &none);
        assert!(b.is_ready_dc());
        assert_eq!(b.doc.status, 5);
        assert!(!b.uncommitted());
        // A patch only its DC made durable is lost with it (it was never
        // committed, so nobody acted on it).
        let out = b.on_status_patch(1);
        settle(
            &mut [&mut a, &mut b, &mut c],
            out.into_iter().map(|x| (2, x)).collect(),
            &|f, _| f == 2,
        );
        assert!(b.uncommitted());
        view(&mut [&mut a, &mut b, &mut c], 3, &[1, 3], &none);
        assert!(a.is_ready_dc());
        assert_eq!((a.doc.status, c.doc.status), (5, 5));
    }

    #[test]
    fn patches_reaching_a_syncing_dc_wait_for_it() {
        let mut dc = node(1);
        dc.on_view(1, vec![1, 2, 3], true);
        assert!(dc.on_status_patch(4).is_empty());
        assert_eq!(dc.doc.status, 0);
        dc.on_message(
            3,
            Msg::Offer {
                view: 1,
                term: 1,
                doc: Document::new(0, 0),
            },
        );
        assert_eq!(dc.doc.status, 4);
        // two_node: the lone survivor is ready once its peer is fenced.
        let mut survivor: N = Node::new(1, 2, true, Document::new(0, 0));
        survivor.on_view(3, vec![1], true);
        assert!(!survivor.is_ready_dc());
        assert!(survivor.on_status_patch(2).is_empty());
        let out = survivor.on_peer_settled(2);
        assert!(survivor.is_ready_dc());
        assert!(matches!(out[0], Command::Persist(_)));
        assert_eq!(survivor.doc.status, 2);
    }

    /// View ids restart when the membership restarts (a whole-cluster
    /// reboot); terms do not, so what a new DC writes still wins.
    #[test]
    fn terms_grow_even_when_view_ids_restart() {
        let (mut a, mut b, mut c) = (node(1), node(2), node(3));
        let none = |_, _| false;
        view(&mut [&mut a, &mut b, &mut c], 7, &[1, 2, 3], &none);
        let first = a.doc.version.view;
        // Everyone reboots: view ids start over.
        view(&mut [&mut a, &mut b, &mut c], 1, &[2, 3], &none);
        assert!(b.is_ready_dc());
        assert!(
            b.doc.version.view > first,
            "{:?} after {first}",
            b.doc.version
        );
        let out = b.on_config_request(1, b.doc.version, 30);
        let replies = settle(
            &mut [&mut a, &mut b, &mut c],
            out.into_iter().map(|x| (2, x)).collect(),
            &none,
        );
        assert!(matches!(
            replies[..],
            [Command::Reply { result: Ok(_), .. }]
        ));
        view(&mut [&mut a, &mut b, &mut c], 2, &[1, 2, 3], &none);
        for n in [&a, &b, &c] {
            assert_eq!(n.doc.config, 30, "node {}", n.id);
        }
    }

    /// A DC whose members promised a newer term gets nothing acknowledged.
    #[test]
    fn a_member_refuses_writes_of_an_older_term() {
        let (mut a, mut b, mut c) = (node(1), node(2), node(3));
        let none = |_, _| false;
        view(&mut [&mut a, &mut b, &mut c], 1, &[1, 2, 3], &none);
        let old_term = a.doc.version.view;
        // node3 promises a newer term to node2 (node2's view, where node1 is gone).
        c.on_view(2, vec![2, 3], true);
        let out = c.on_message(
            2,
            Msg::Solicit {
                view: 2,
                term: old_term + 5,
            },
        );
        assert!(matches!(
            out[..],
            [
                Command::Persist(_),
                Command::Send {
                    msg: Msg::Offer { .. },
                    ..
                }
            ]
        ));
        // node1 still thinks it leads view 1 and writes: node3 must not take it.
        c.on_view(1, vec![1, 2, 3], true);
        let mut doc = a.doc.clone();
        doc.config = 99;
        doc.version.epoch += 1;
        assert!(c.on_message(1, Msg::Replicate { view: 1, doc }).is_empty());
        assert_ne!(c.doc.config, 99);
        // And a solicitation with an older term gets the promise back.
        let out = c.on_message(
            1,
            Msg::Solicit {
                view: 1,
                term: old_term + 1,
            },
        );
        assert!(
            matches!(out[..], [Command::Send { msg: Msg::Promised { promised, .. }, .. }] if promised == old_term + 5)
        );
    }

    #[test]
    fn cluster_messages_go_on_the_wire() {
        use crate::controller::StatusPatch;
        use crate::model::{ClusterConfig, ClusterStatus};
        let msgs: Vec<Msg<ClusterConfig, ClusterStatus>> = vec![
            Msg::Patch {
                view: 3,
                base: Version::default(),
                version: Version::default(),
                patch: StatusPatch::NodeJoined("node1".into()),
            },
            Msg::Offer {
                view: 3,
                term: 4,
                doc: Document::new(ClusterConfig::default(), ClusterStatus::default()),
            },
        ];
        for m in msgs {
            let text = serde_json::to_string(&m).unwrap();
            let back: Msg<ClusterConfig, ClusterStatus> = serde_json::from_str(&text).unwrap();
            assert_eq!(back, m);
        }
    }
}
