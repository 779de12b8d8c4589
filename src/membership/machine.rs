//! The per-node membership state machine.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::quorum::{QuorumConfig, QuorumState, QuorumStatus, Unblock};
use super::witness::{Witness, WitnessCommand, WitnessEvent, WitnessStatus};
use crate::wire::{Echo, Heartbeat, Message, NodeId, VersionRange, ViewSummary, negotiate};

/// Most links a node may have (as corosync's knet).
pub const MAX_LINKS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipConfig {
    pub own_id: NodeId,
    /// This node's incarnation (new on every start, never reused): a peer
    /// counts as hearing this node only once it echoes this one.
    pub incarnation: u64,
    /// Every configured node, this one included.
    pub nodes: BTreeSet<NodeId>,
    /// Number of links (1..=8); link i of every node talks to link i of the others.
    pub links: u8,
    pub heartbeat: Duration,
    pub token_timeout: Duration,
    /// How long a view must last before last_man_standing lowers expected votes.
    pub last_man_standing_window: Duration,
    pub quorum: QuorumConfig,
}

/// A membership view: every member of a partition converges on the same one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub id: u64,
    pub members: BTreeSet<NodeId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerState {
    Online,
    Offline,
    Left,
}

/// What happened, for logs and the daemon's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    ViewInstalled(View),
    NodeLost(NodeId),
    NodeLeft(NodeId),
    LinkUp {
        node: NodeId,
        link: u8,
    },
    LinkDown {
        node: NodeId,
        link: u8,
    },
    /// This node was not scheduled for `gap`: its view was stale and it rejoins.
    Paused {
        gap: Duration,
    },
    QuorumChanged(bool),
    /// The view speaks another protocol version (`protocol_version`): a
    /// node of the previous release joined, or the last one left.
    ProtocolVersion(u8),
    /// A heartbeat from a node that is not in the configuration.
    UnknownNode(NodeId),
    /// A configured node's heartbeat was refused (the daemon logs it,
    /// rate-limited): a refusal is never silent.
    Refused {
        node: NodeId,
        why: Refusal,
    },
}

/// Why a configured node's heartbeat was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A heartbeat of protocol versions 1-3: it proves no liveness.
    OlderBuild,
    /// It proves liveness under an incarnation lower than the one the node
    /// has proven and still speaks with: two processes claim the node id
    /// (or its state directory was reset while the old one still runs).
    OlderIncarnation { theirs: u64, known: u64 },
    /// Its view id is beyond `MAX_VIEW_ID`.
    ViewIdOutOfRange(u64),
    /// It speaks no protocol version this node speaks (more than one
    /// release apart).
    NoCommonVersion(VersionRange),
}

/// View ids above this are refused: they grow by one per membership change,
/// so only a bug or a forgery gets near it, and `+ 1` never overflows.
pub const MAX_VIEW_ID: u64 = u64::MAX / 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send {
        to: NodeId,
        link: u8,
        message: Message,
    },
    Notice(Notice),
    /// For the witness's I/O (only with `[quorum] witness`).
    Witness(WitnessCommand),
}

#[derive(Debug, Clone, Default)]
struct Peer {
    /// The incarnation that last proved liveness (its heartbeat echoed our
    /// current incarnation with a fresh stamp); only its heartbeats count.
    incarnation: Option<u64>,
    /// The latest stamp of that incarnation, echoed back to it.
    stamp: u64,
    /// Another incarnation heard but not (yet) proven: (incarnation, its
    /// latest stamp, when). Echoed too, so that a restarted peer can prove
    /// itself; a replayed recording lands here and goes no further.
    candidate: Option<(u64, u64, Duration)>,
    last_heard: [Option<Duration>; MAX_LINKS],
    link_up: [bool; MAX_LINKS],
    /// Our stamp their latest heartbeat echoes with our incarnation.
    echoed: Option<Duration>,
    view: Option<ViewSummary>,
    left: bool,
    /// Restarted since we last counted it as a member: needs a new view.
    bounced: bool,
    /// The protocol versions its proven incarnation advertises.
    speaks: VersionRange,
}

/// Status of one peer as `paceline status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub id: NodeId,
    pub state: PeerState,
    pub links_up: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipStatus {
    pub own_id: NodeId,
    pub view: View,
    pub peers: Vec<PeerStatus>,
    pub quorum: QuorumStatus,
    /// The protocol version the view speaks (`Membership::protocol_version`).
    #[serde(default)]
    pub protocol_version: u8,
    /// The witness, when `[quorum] witness` names one.
    #[serde(default)]
    pub witness: Option<WitnessStatus>,
}

#[derive(Debug, Clone)]
pub struct Membership {
    config: MembershipConfig,
    peers: BTreeMap<NodeId, Peer>,
    view: View,
    view_since: Duration,
    max_seen_view: u64,
    next_heartbeat: Duration,
    last_tick: Option<Duration>,
    /// After a pause the view is stale: no quorum until this time.
    stale_until: Option<Duration>,
    quorum: QuorumState,
    witness: Witness,
    lms_applied: bool,
    last_quorate: bool,
    /// The view's protocol version when last announced.
    last_version: u8,
}

impl Membership {
    pub fn new(config: MembershipConfig, now: Duration) -> Self {
        let peers = config
            .nodes
            .iter()
            .filter(|&&n| n != config.own_id)
            .map(|&n| (n, Peer::default()))
            .collect();
        let members: BTreeSet<NodeId> = [config.own_id].into();
        let mut quorum = QuorumState::new(config.quorum.clone());
        quorum.view_changed(&members);
        Self {
            view: View { id: 0, members },
            view_since: now,
            max_seen_view: 0,
            next_heartbeat: now,
            last_tick: None,
            stale_until: None,
            // View 0 is never quorate (see `quorum_status`).
            last_quorate: false,
            quorum,
            witness: Witness::new(config.own_id),
            lms_applied: false,
            last_version: VersionRange::SPOKEN.max,
            peers,
            config,
        }
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    pub fn config(&self) -> &MembershipConfig {
        &self.config
    }

    pub fn quorum_status(&self) -> QuorumStatus {
        let mut status = self.quorum.status();
        if self.view.id == 0 {
            status.quorate = false;
            status.reason = "membership is still gathering its first view".to_string();
        } else if self.stale_until.is_some() {
            status.quorate = false;
            status.reason = "this node was paused longer than token_timeout; \
                             it rejoins before acting on quorum"
                .to_string();
        }
        status
    }

    pub fn status(&self) -> MembershipStatus {
        let links = usize::from(self.config.links);
        MembershipStatus {
            own_id: self.config.own_id,
            view: self.view.clone(),
            peers: self
                .peers
                .iter()
                .map(|(&id, p)| PeerStatus {
                    id,
                    state: if self.view.members.contains(&id) {
                        PeerState::Online
                    } else if p.left {
                        PeerState::Left
                    } else {
                        PeerState::Offline
                    },
                    links_up: p.link_up[..links].to_vec(),
                })
                .collect(),
            quorum: self.quorum_status(),
            protocol_version: self.protocol_version(),
            witness: self
                .config
                .quorum
                .witness
                .then(|| self.witness.status(self.last_tick.unwrap_or_default())),
        }
    }

    /// The protocol version this view speaks: the highest every member
    /// speaks (`wire::negotiate`). Channel frames are sealed with it and
    /// nothing newer is sent to any member. Members all share a version
    /// with this node (others are refused), so only three releases mixed
    /// share none; then this node's oldest is spoken, which its newest
    /// peers do not read (a cluster mixes at most two releases).
    pub fn protocol_version(&self) -> u8 {
        let ranges = self
            .peers
            .iter()
            .filter(|(id, _)| self.view.members.contains(id))
            .map(|(_, p)| p.speaks);
        negotiate(std::iter::once(VersionRange::SPOKEN).chain(ranges))
            .unwrap_or(VersionRange::SPOKEN.min)
    }

    /// The version to speak to `peer`: the view's, and never above what
    /// `peer` last advertised, so that frames still queued for a peer of
    /// the previous release that dropped out of the view (whose view then
    /// speaks newer) reach it in a version it opens.
    pub fn version_with(&self, peer: NodeId) -> u8 {
        let view = self.protocol_version();
        self.peers
            .get(&peer)
            .map_or(view, |p| view.min(p.speaks.max))
            .max(VersionRange::SPOKEN.min)
    }

    /// The members of the view whose release speaks no protocol version
    /// as new as `version` (a rolling upgrade not finished on them).
    pub fn members_below(&self, version: u8) -> Vec<NodeId> {
        self.peers
            .iter()
            .filter(|(id, p)| self.view.members.contains(id) && p.speaks.max < version)
            .map(|(&id, _)| id)
            .collect()
    }

    /// What the witness's I/O reports (ARCHITECTURE.md, "The witness").
    pub fn witness(&mut self, now: Duration, event: WitnessEvent) -> Vec<Output> {
        let mut out = Vec::new();
        self.observe_time(now, &mut out);
        self.witness.on_event(event);
        self.check_quorum(&mut out);
        out
    }

    /// Records an operator's override of wait_for_all; with a witness,
    /// also of the witness's own (`Witness::unblock`), and refused (Err,
    /// why) where it would let this partition run beside the one holding
    /// the witness's vote.
    pub fn unblock(&mut self, unblock: Unblock) -> Result<Vec<Output>, String> {
        let mut out = Vec::new();
        if self.config.quorum.witness {
            let members = self.view.members.clone();
            if let Some(claim) = self.witness.unblock(self.view.id, &members)? {
                out.push(Output::Witness(claim));
            }
        }
        self.quorum.unblock(unblock);
        self.check_quorum(&mut out);
        Ok(out)
    }

    fn alive(&self, peer: &Peer, now: Duration) -> bool {
        !peer.left && self.heard_within(peer, now)
    }

    fn heard_within(&self, peer: &Peer, now: Duration) -> bool {
        peer.last_heard
            .iter()
            .flatten()
            .any(|&t| now.saturating_sub(t) < self.config.token_timeout)
    }

    /// Their latest heartbeat echoes a stamp of ours recent enough. The
    /// echo is a round trip old, so it may be up to two token timeouts
    /// (a held-back heartbeat keeps a peer no longer than that).
    fn hears_us(&self, peer: &Peer, now: Duration) -> bool {
        let max_age = self.config.token_timeout.saturating_mul(2);
        peer.echoed
            .is_some_and(|at| at <= now && now.saturating_sub(at) < max_age)
    }

    /// The stamp of ours `hb` echoes for our current incarnation, if any.
    fn echo_of_us(&self, hb: &Heartbeat) -> Option<Duration> {
        hb.heard
            .iter()
            .filter(|e| e.node == self.config.own_id && e.incarnation == self.config.incarnation)
            .map(|e| Duration::from_millis(e.stamp))
            .max()
    }

    /// Drives timers: heartbeats, loss detection, pause detection.
    pub fn tick(&mut self, now: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        self.observe_time(now, &mut out);
        self.expire_links(now, &mut out);
        self.recompute(now, &mut out);
        self.form_first_view(now, &mut out);
        if !self.lms_applied
            && now.saturating_sub(self.view_since) >= self.config.last_man_standing_window
        {
            self.lms_applied = true;
            self.quorum.apply_last_man_standing();
        }
        self.check_quorum(&mut out);
        if now >= self.next_heartbeat {
            self.send_heartbeats(now, &mut out);
            self.next_heartbeat = now + self.config.heartbeat;
        }
        out
    }

    /// Any call is proof this node was scheduled; a gap above token_timeout
    /// between two calls is a pause, noticed before anything acts on old state.
    fn observe_time(&mut self, now: Duration, out: &mut Vec<Output>) {
        if let Some(last) = self.last_tick {
            let gap = now.saturating_sub(last);
            if gap > self.config.token_timeout {
                self.on_pause(now, gap, out);
            }
        }
        self.last_tick = Some(now.max(self.last_tick.unwrap_or_default()));
        if self.stale_until.is_some_and(|t| now >= t) {
            self.stale_until = None;
        }
    }

    /// When the next `tick` is due at the latest.
    pub fn next_deadline(&self) -> Duration {
        self.next_heartbeat
    }

    fn on_pause(&mut self, now: Duration, gap: Duration, out: &mut Vec<Output>) {
        out.push(Output::Notice(Notice::Paused { gap }));
        // Whatever we heard before the pause says nothing about now; peers
        // may have declared us lost (and fenced us) in the meantime.
        for peer in self.peers.values_mut() {
            peer.last_heard = [None; MAX_LINKS];
            peer.echoed = None;
            peer.candidate = None;
            peer.view = None;
        }
        self.stale_until = Some(now + self.config.token_timeout);
        let members: BTreeSet<NodeId> = [self.config.own_id].into();
        self.install(now, members, out);
    }

    fn expire_links(&mut self, now: Duration, out: &mut Vec<Output>) {
        let timeout = self.config.token_timeout;
        for (&id, peer) in &mut self.peers {
            for link in 0..usize::from(self.config.links) {
                let up = peer.last_heard[link].is_some_and(|t| now.saturating_sub(t) < timeout);
                if peer.link_up[link] && !up {
                    peer.link_up[link] = false;
                    out.push(Output::Notice(Notice::LinkDown {
                        node: id,
                        link: link as u8,
                    }));
                }
            }
        }
    }

    /// What we echo: per peer heard within token_timeout, its proven
    /// incarnation's latest stamp and any candidate's.
    fn echoes(&self, now: Duration) -> Vec<Echo> {
        let timeout = self.config.token_timeout;
        let mut heard = Vec::new();
        for (&node, p) in &self.peers {
            if let Some(incarnation) = p.incarnation.filter(|_| self.alive(p, now)) {
                heard.push(Echo {
                    node,
                    incarnation,
                    stamp: p.stamp,
                });
            }
            if let Some((incarnation, stamp, at)) = p.candidate {
                if now.saturating_sub(at) < timeout {
                    heard.push(Echo {
                        node,
                        incarnation,
                        stamp,
                    });
                }
            }
        }
        heard
    }

    fn send_heartbeats(&self, now: Duration, out: &mut Vec<Output>) {
        let heard = self.echoes(now);
        let stamp = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        let view = ViewSummary {
            id: self.view.id,
            members: self.view.members.iter().copied().collect(),
        };
        for &to in self.peers.keys() {
            for link in 0..self.config.links {
                out.push(Output::Send {
                    to,
                    link,
                    message: Message::Heartbeat(Heartbeat {
                        link,
                        stamp,
                        heard: heard.clone(),
                        view: view.clone(),
                        // The driver fills in the keys (`wire::KeyRing`).
                        keys: Vec::new(),
                        speaks: crate::wire::VersionRange::SPOKEN,
                    }),
                });
            }
        }
    }

    /// Tells every peer on every link that this node leaves cleanly.
    pub fn leave(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(release) = self.witness.leave() {
            out.push(Output::Witness(release));
        }
        for &to in self.peers.keys() {
            for link in 0..self.config.links {
                out.push(Output::Send {
                    to,
                    link,
                    message: Message::Leave,
                });
            }
        }
        out
    }

    /// Handles an authentic, fresh message from `from`.
    pub fn receive(
        &mut self,
        now: Duration,
        from: NodeId,
        incarnation: u64,
        message: Message,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        self.observe_time(now, &mut out);
        if !self.peers.contains_key(&from) {
            out.push(Output::Notice(Notice::UnknownNode(from)));
            return out;
        }
        match message {
            Message::Heartbeat(hb) => self.on_heartbeat(now, from, incarnation, hb, &mut out),
            Message::LegacyHeartbeat(_) => {
                out.push(Output::Notice(Notice::Refused {
                    node: from,
                    why: Refusal::OlderBuild,
                }));
                return out;
            }
            Message::Leave => {
                let Some(peer) = self.peers.get_mut(&from) else {
                    return out;
                };
                // Only the proven incarnation may leave: a recording of an
                // older one's goodbye says nothing about the live process.
                if peer.incarnation != Some(incarnation) {
                    return out;
                }
                peer.left = true;
                peer.last_heard = [None; MAX_LINKS];
                peer.echoed = None;
            }
            // Channel traffic names no link, so it proves no link alive;
            // the daemon hands it to the channel, not here.
            Message::Channel(_) => return out,
        }
        self.recompute(now, &mut out);
        self.adopt_higher_id(now, from, &mut out);
        self.check_quorum(&mut out);
        out
    }

    /// The incarnation of `node` that last proved liveness: the daemon
    /// takes channel traffic from that one only.
    pub fn incarnation_of(&self, node: NodeId) -> Option<u64> {
        self.peers.get(&node).and_then(|p| p.incarnation)
    }

    fn on_heartbeat(
        &mut self,
        now: Duration,
        from: NodeId,
        incarnation: u64,
        hb: Heartbeat,
        out: &mut Vec<Output>,
    ) {
        if hb.view.id > MAX_VIEW_ID {
            let why = Refusal::ViewIdOutOfRange(hb.view.id);
            out.push(Output::Notice(Notice::Refused { node: from, why }));
            return;
        }
        if VersionRange::SPOKEN.common(hb.speaks).is_none() {
            let why = Refusal::NoCommonVersion(hb.speaks);
            out.push(Output::Notice(Notice::Refused { node: from, why }));
            return;
        }
        let echoed = self.echo_of_us(&hb).filter(|&at| at <= now);
        let Some(peer) = self.peers.get(&from) else {
            return;
        };
        let known = peer.incarnation;
        let known_alive = self.heard_within(peer, now);
        if known != Some(incarnation) {
            let proven = echoed.is_some_and(|at| {
                now.saturating_sub(at) < self.config.token_timeout.saturating_mul(2)
            });
            match known {
                // A lower incarnation still speaking while the proven one
                // is alive: two processes claim the id; keep the proven one.
                Some(k) if proven && incarnation < k && known_alive => {
                    let why = Refusal::OlderIncarnation {
                        theirs: incarnation,
                        known: k,
                    };
                    out.push(Output::Notice(Notice::Refused { node: from, why }));
                    return;
                }
                _ if proven => self.adopt(from, incarnation),
                _ => {
                    self.note_candidate(now, from, incarnation, hb.stamp);
                    return;
                }
            }
        }
        self.take_heartbeat(now, from, hb, echoed, out);
    }

    /// A heartbeat of an incarnation not proven: only echoed back.
    fn note_candidate(&mut self, now: Duration, from: NodeId, incarnation: u64, stamp: u64) {
        let timeout = self.config.token_timeout;
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        // The highest recent candidate wins, so replays of older
        // incarnations cannot push out a restarted peer's.
        let replace = match peer.candidate {
            Some((c, s, at)) if now.saturating_sub(at) < timeout => {
                incarnation > c || (incarnation == c && stamp >= s)
            }
            _ => true,
        };
        if replace {
            peer.candidate = Some((incarnation, stamp, now));
        }
    }

    fn adopt(&mut self, from: NodeId, incarnation: u64) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        if peer.incarnation.is_some() {
            // It restarted: whatever we knew of the old process is void.
            peer.bounced = true;
            peer.view = None;
        }
        peer.incarnation = Some(incarnation);
        peer.stamp = 0;
        if peer.candidate.is_some_and(|(c, _, _)| c == incarnation) {
            peer.candidate = None;
        }
    }

    /// A heartbeat of the proven incarnation.
    fn take_heartbeat(
        &mut self,
        now: Duration,
        from: NodeId,
        hb: Heartbeat,
        echoed: Option<Duration>,
        out: &mut Vec<Output>,
    ) {
        let links = usize::from(self.config.links);
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let link = usize::from(hb.link);
        if link < links {
            peer.last_heard[link] = Some(now);
            if !peer.link_up[link] {
                peer.link_up[link] = true;
                out.push(Output::Notice(Notice::LinkUp {
                    node: from,
                    link: hb.link,
                }));
            }
        }
        peer.left = false;
        peer.speaks = hb.speaks;
        peer.stamp = peer.stamp.max(hb.stamp);
        // Heartbeats overtake each other: keep the freshest echo.
        peer.echoed = match (peer.echoed, echoed) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (_, e) => e,
        };
        self.max_seen_view = self.max_seen_view.max(hb.view.id);
        peer.view = Some(hb.view);
    }

    fn recompute(&mut self, now: Duration, out: &mut Vec<Output>) {
        let mut members: BTreeSet<NodeId> = [self.config.own_id].into();
        let mut bounced = false;
        for (&id, peer) in &self.peers {
            if self.alive(peer, now) && self.hears_us(peer, now) {
                members.insert(id);
                bounced |= peer.bounced;
            }
        }
        if members != self.view.members || bounced {
            self.install(now, members, out);
        }
    }

    /// View 0 is the one a node starts in: nothing has been gathered yet,
    /// and the node core does not act on it. A node heard by nobody forms
    /// a view of itself once peers had a token timeout to be heard (as
    /// corosync forms a ring of one after its join and consensus timeouts),
    /// at once when it is the only node configured: a node that boots
    /// alone then reports, and acts on, the quorum it really has.
    fn form_first_view(&mut self, now: Duration, out: &mut Vec<Output>) {
        let gathered = self.peers.is_empty()
            || now.saturating_sub(self.view_since) >= self.config.token_timeout;
        if self.view.id == 0 && gathered {
            let members = self.view.members.clone();
            self.install(now, members, out);
        }
    }

    /// Members that agree on the member list converge on the highest id among them.
    fn adopt_higher_id(&mut self, now: Duration, from: NodeId, out: &mut Vec<Output>) {
        if !self.view.members.contains(&from) {
            return;
        }
        let Some(theirs) = self.peers.get(&from).and_then(|p| p.view.clone()) else {
            return;
        };
        if theirs.id > self.view.id
            && theirs
                .members
                .iter()
                .copied()
                .eq(self.view.members.iter().copied())
        {
            self.view.id = theirs.id;
            self.view_since = now;
            out.push(Output::Notice(Notice::ViewInstalled(self.view.clone())));
        }
    }

    fn install(&mut self, now: Duration, members: BTreeSet<NodeId>, out: &mut Vec<Output>) {
        for (&id, peer) in &mut self.peers {
            if self.view.members.contains(&id) && !members.contains(&id) {
                let notice = if peer.left {
                    Notice::NodeLeft(id)
                } else {
                    Notice::NodeLost(id)
                };
                out.push(Output::Notice(notice));
            }
            if members.contains(&id) {
                peer.bounced = false;
            }
        }
        // Peers' view ids are at most MAX_VIEW_ID, ours grow by one from
        // them: this cannot overflow (saturating for the sake of the rule).
        let id = self.view.id.max(self.max_seen_view).saturating_add(1);
        self.max_seen_view = id;
        self.view = View { id, members };
        self.view_since = now;
        self.lms_applied = false;
        self.quorum.view_changed(&self.view.members);
        out.push(Output::Notice(Notice::ViewInstalled(self.view.clone())));
        let version = self.protocol_version();
        if version != self.last_version {
            self.last_version = version;
            out.push(Output::Notice(Notice::ProtocolVersion(version)));
        }
    }

    /// Brings the witness up to the time and the view: a lapsed grant
    /// goes, the DC (or the holder) claims for the view's members, a node
    /// that neither is nor holds stops claiming; then the vote counts for
    /// the quorum only while it is held for exactly this view's members.
    fn sync_witness(&mut self, out: &mut Vec<Output>) {
        if !self.config.quorum.witness {
            return;
        }
        let now = self.last_tick.unwrap_or_default();
        if let Some(command) = self.witness.on_view(now, self.view.id, &self.view.members) {
            out.push(Output::Witness(command));
        }
        let held = self.witness.counts(now, &self.view.members);
        self.quorum.set_witness_vote(held);
    }

    fn check_quorum(&mut self, out: &mut Vec<Output>) {
        self.sync_witness(out);
        let quorate = self.quorum_status().quorate;
        if quorate != self.last_quorate {
            self.last_quorate = quorate;
            out.push(Output::Notice(Notice::QuorumChanged(quorate)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_nodes(own_id: NodeId, incarnation: u64) -> Membership {
        let nodes: BTreeSet<NodeId> = [1, 2].into();
        let quorum = QuorumConfig::with_defaults(nodes.iter().map(|&n| (n, 1)).collect());
        let config = MembershipConfig {
            own_id,
            incarnation,
            nodes,
            links: 1,
            heartbeat: Duration::from_millis(200),
            token_timeout: Duration::from_secs(1),
            last_man_standing_window: Duration::from_secs(10),
            quorum,
        };
        Membership::new(config, Duration::ZERO)
    }

    fn heartbeat(view_id: u64, echo: Option<Echo>) -> Message {
        Message::Heartbeat(Heartbeat {
            link: 0,
            stamp: 100,
            heard: echo.into_iter().collect(),
            view: ViewSummary {
                id: view_id,
                members: vec![1, 2],
            },
            keys: vec![],
            speaks: crate::wire::VersionRange::SPOKEN,
        })
    }

    const ECHO_OF_1: Echo = Echo {
        node: 1,
        incarnation: 7,
        stamp: 0,
    };

    #[test]
    fn a_view_id_at_the_top_of_the_range_is_refused_not_wrapped() {
        // Before: a peer's view id of 2^64-1 became the node's next view
        // id + 1, which wrapped to 0 (or panicked in a debug build).
        let mut m = two_nodes(1, 7);
        let now = Duration::from_millis(10);
        let out = m.receive(now, 2, 3, heartbeat(u64::MAX, Some(ECHO_OF_1)));
        assert!(out.contains(&Output::Notice(Notice::Refused {
            node: 2,
            why: Refusal::ViewIdOutOfRange(u64::MAX)
        })));
        assert_eq!(m.view().members, [1].into());
        let out = m.receive(now, 2, 3, heartbeat(MAX_VIEW_ID, Some(ECHO_OF_1)));
        assert!(
            !out.iter()
                .any(|o| matches!(o, Output::Notice(Notice::Refused { .. })))
        );
        assert_eq!(m.view().members, [1, 2].into());
        assert_eq!(m.view().id, MAX_VIEW_ID + 1);
    }

    #[test]
    fn a_peer_counts_only_once_it_echoes_our_current_incarnation_recently() {
        let mut m = two_nodes(1, 7);
        let now = Duration::from_millis(10);
        let stale = Echo {
            incarnation: 6,
            ..ECHO_OF_1
        };
        m.receive(now, 2, 3, heartbeat(1, Some(stale)));
        m.receive(now, 2, 3, heartbeat(1, None));
        assert_eq!(m.view().members, [1].into());
        assert_eq!(m.incarnation_of(2), None);
        m.receive(now, 2, 3, heartbeat(1, Some(ECHO_OF_1)));
        assert_eq!(m.view().members, [1, 2].into());
        assert_eq!(m.incarnation_of(2), Some(3));
        // An echo of our stamp older than two token timeouts proves nothing.
        let late = Duration::from_millis(2_500);
        m.tick(late);
        assert_eq!(m.view().members, [1].into());
        let out = m.receive(late, 2, 3, heartbeat(1, Some(ECHO_OF_1)));
        assert!(!out.iter().any(
            |o| matches!(o, Output::Notice(Notice::ViewInstalled(v)) if v.members.len() == 2)
        ));
    }

    #[test]
    fn an_older_builds_heartbeat_is_refused_by_name() {
        let mut m = two_nodes(1, 7);
        let legacy = Message::LegacyHeartbeat(crate::wire::LegacyHeartbeat {
            link: 0,
            heard: vec![1],
            view: ViewSummary {
                id: 1,
                members: vec![1, 2],
            },
        });
        let out = m.receive(Duration::from_millis(10), 2, 3, legacy);
        assert_eq!(
            out,
            vec![Output::Notice(Notice::Refused {
                node: 2,
                why: Refusal::OlderBuild
            })]
        );
        assert_eq!(m.view().members, [1].into());
    }

    fn speaking(range: VersionRange, echo: Option<Echo>) -> Message {
        let Message::Heartbeat(mut hb) = heartbeat(1, echo) else {
            unreachable!()
        };
        hb.speaks = range;
        Message::Heartbeat(hb)
    }

    fn versions_announced(out: &[Output]) -> Vec<u8> {
        out.iter()
            .filter_map(|o| match o {
                Output::Notice(Notice::ProtocolVersion(v)) => Some(*v),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_view_with_a_node_of_the_previous_release_speaks_its_version() {
        let mut m = two_nodes(1, 7);
        let now = Duration::from_millis(10);
        assert_eq!(m.protocol_version(), VersionRange::SPOKEN.max);
        // Release 0.1.0's heartbeat advertises nothing: it speaks 4 only.
        let out = m.receive(
            now,
            2,
            3,
            speaking(VersionRange::RELEASE_0_1, Some(ECHO_OF_1)),
        );
        assert_eq!(m.view().members, [1, 2].into());
        assert_eq!(versions_announced(&out), [4]);
        assert_eq!((m.protocol_version(), m.status().protocol_version), (4, 4));
        assert_eq!(m.members_below(5), [2]);
        assert!(m.members_below(4).is_empty());
        // It leaves; the view of this node alone speaks this build's newest,
        // but what is still sent to node 2 stays in the version it reads.
        let out = m.receive(now, 2, 3, Message::Leave);
        assert_eq!(m.view().members, [1].into());
        assert_eq!(versions_announced(&out), [VersionRange::SPOKEN.max]);
        assert_eq!(m.version_with(2), 4);
        // Upgraded, it restarts (a new incarnation) and advertises its range.
        let later = Duration::from_millis(20);
        let out = m.receive(later, 2, 4, speaking(VersionRange::SPOKEN, Some(ECHO_OF_1)));
        assert_eq!(m.view().members, [1, 2].into());
        assert!(
            versions_announced(&out).is_empty(),
            "still {}",
            m.protocol_version()
        );
        assert_eq!(m.protocol_version(), VersionRange::SPOKEN.max);
        assert_eq!(m.version_with(2), VersionRange::SPOKEN.max);
        assert!(m.members_below(VersionRange::SPOKEN.max).is_empty());
    }

    #[test]
    fn a_node_sharing_no_version_is_refused_by_name() {
        let mut m = two_nodes(1, 7);
        let future = VersionRange {
            min: VersionRange::SPOKEN.max + 1,
            max: VersionRange::SPOKEN.max + 2,
        };
        let out = m.receive(
            Duration::from_millis(10),
            2,
            3,
            speaking(future, Some(ECHO_OF_1)),
        );
        assert_eq!(
            out,
            vec![Output::Notice(Notice::Refused {
                node: 2,
                why: Refusal::NoCommonVersion(future)
            })]
        );
        assert_eq!(m.view().members, [1].into());
        assert_eq!(m.protocol_version(), VersionRange::SPOKEN.max);
    }

    fn views_installed(out: &[Output]) -> Vec<View> {
        out.iter()
            .filter_map(|o| match o {
                Output::Notice(Notice::ViewInstalled(v)) => Some(v.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_only_node_configured_forms_its_view_on_the_first_tick() {
        let config = MembershipConfig {
            nodes: [1].into(),
            quorum: QuorumConfig::with_defaults([(1, 1)].into()),
            ..two_nodes(1, 7).config().clone()
        };
        let mut m = Membership::new(config, Duration::ZERO);
        let views = views_installed(&m.tick(Duration::ZERO));
        assert_eq!(views.len(), 1);
        assert_eq!((views[0].id, &views[0].members), (1, &[1].into()));
        assert!(m.quorum_status().quorate);
        assert!(views_installed(&m.tick(Duration::from_millis(500))).is_empty());
    }

    #[test]
    fn a_node_heard_by_nobody_forms_a_view_of_itself_after_a_token_timeout() {
        let mut m = two_nodes(1, 7);
        assert!(views_installed(&m.tick(Duration::ZERO)).is_empty());
        assert!(views_installed(&m.tick(Duration::from_millis(999))).is_empty());
        assert_eq!(m.view().id, 0, "still gathering");
        let views = views_installed(&m.tick(Duration::from_millis(1_000)));
        assert_eq!(views.len(), 1);
        assert_eq!((views[0].id, &views[0].members), (1, &[1].into()));
        // A peer heard while gathering makes the first view at once, with it.
        let mut m = two_nodes(1, 7);
        m.receive(
            Duration::from_millis(10),
            2,
            3,
            heartbeat(0, Some(ECHO_OF_1)),
        );
        assert_eq!((m.view().id, &m.view().members), (1, &[1, 2].into()));
        assert!(views_installed(&m.tick(Duration::from_millis(1_000))).is_empty());
    }
}
