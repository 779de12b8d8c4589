//! The per-node membership state machine.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::quorum::{QuorumConfig, QuorumState, QuorumStatus, Unblock};
use crate::wire::{Heartbeat, Message, NodeId, ViewSummary};

/// Most links a node may have (as corosync's knet).
pub const MAX_LINKS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipConfig {
    pub own_id: NodeId,
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
    /// A heartbeat from a node that is not in the configuration.
    UnknownNode(NodeId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send {
        to: NodeId,
        link: u8,
        message: Message,
    },
    Notice(Notice),
}

#[derive(Debug, Clone, Default)]
struct Peer {
    incarnation: Option<u64>,
    last_heard: [Option<Duration>; MAX_LINKS],
    link_up: [bool; MAX_LINKS],
    /// Their latest heartbeat says they hear us.
    hears_us: bool,
    view: Option<ViewSummary>,
    left: bool,
    /// Restarted since we last counted it as a member: needs a new view.
    bounced: bool,
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
    lms_applied: bool,
    last_quorate: bool,
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
            last_quorate: quorum.status().quorate,
            quorum,
            lms_applied: false,
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
        if self.stale_until.is_some() {
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
        }
    }

    /// Records an operator's override of wait_for_all.
    pub fn unblock(&mut self, unblock: Unblock) -> Vec<Output> {
        self.quorum.unblock(unblock);
        let mut out = Vec::new();
        self.check_quorum(&mut out);
        out
    }

    fn alive(&self, peer: &Peer, now: Duration) -> bool {
        !peer.left
            && peer
                .last_heard
                .iter()
                .flatten()
                .any(|&t| now.saturating_sub(t) < self.config.token_timeout)
    }

    /// Drives timers: heartbeats, loss detection, pause detection.
    pub fn tick(&mut self, now: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        self.observe_time(now, &mut out);
        self.expire_links(now, &mut out);
        self.recompute(now, &mut out);
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
            peer.hears_us = false;
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

    fn send_heartbeats(&self, now: Duration, out: &mut Vec<Output>) {
        let heard: Vec<NodeId> = self
            .peers
            .iter()
            .filter(|(_, p)| self.alive(p, now))
            .map(|(&id, _)| id)
            .collect();
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
                        heard: heard.clone(),
                        view: view.clone(),
                    }),
                });
            }
        }
    }

    /// Tells every peer on every link that this node leaves cleanly.
    pub fn leave(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
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
        let own = self.config.own_id;
        let links = usize::from(self.config.links);
        let Some(peer) = self.peers.get_mut(&from) else {
            out.push(Output::Notice(Notice::UnknownNode(from)));
            return out;
        };
        match peer.incarnation {
            Some(known) if incarnation < known => return out,
            Some(known) if incarnation > known => {
                peer.bounced = true;
                peer.hears_us = false;
                peer.view = None;
            }
            _ => {}
        }
        peer.incarnation = Some(incarnation);
        match message {
            Message::Heartbeat(hb) => {
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
                peer.hears_us = hb.heard.contains(&own);
                self.max_seen_view = self.max_seen_view.max(hb.view.id);
                peer.view = Some(hb.view);
            }
            Message::Leave => {
                peer.left = true;
                peer.last_heard = [None; MAX_LINKS];
                peer.hears_us = false;
            }
            // Channel traffic names no link, so it proves no link alive;
            // the daemon hands it to the channel, not here.
            Message::Channel(_) => {}
        }
        self.recompute(now, &mut out);
        self.adopt_higher_id(now, from, &mut out);
        self.check_quorum(&mut out);
        out
    }

    fn recompute(&mut self, now: Duration, out: &mut Vec<Output>) {
        let mut members: BTreeSet<NodeId> = [self.config.own_id].into();
        let mut bounced = false;
        for (&id, peer) in &self.peers {
            if self.alive(peer, now) && peer.hears_us {
                members.insert(id);
                bounced |= peer.bounced;
            }
        }
        if members != self.view.members || bounced {
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
        let id = self.view.id.max(self.max_seen_view) + 1;
        self.max_seen_view = id;
        self.view = View { id, members };
        self.view_since = now;
        self.lms_applied = false;
        self.quorum.view_changed(&self.view.members);
        out.push(Output::Notice(Notice::ViewInstalled(self.view.clone())));
    }

    fn check_quorum(&mut self, out: &mut Vec<Output>) {
        let quorate = self.quorum_status().quorate;
        if quorate != self.last_quorate {
            self.last_quorate = quorate;
            out.push(Output::Notice(Notice::QuorumChanged(quorate)));
        }
    }
}
