//! The daemon's transport: datagrams in (membership's heartbeats and
//! leaves, the channel's frames), membership's outputs out on the links,
//! views handed to the node core, the reliable channel's sends, ticks and
//! deliveries, and what each channel message means here.

use std::collections::BTreeMap;
use std::time::Instant;

use super::logging::{Fields, Priority};
use super::{CONFIG_REQUEST_TIMEOUT, Daemon, ReplyTo, driver, identity, log, log_about};
use crate::api::Response;
use crate::controller::Input;
use crate::membership::{Notice, Output};
use crate::node::protocol::ClusterMessage;
use crate::wire::{DropReason, Frame, Message, NodeId};

impl Daemon {
    pub(super) async fn on_packet(&mut self, packet: &[u8]) {
        match self.decoder.open(packet) {
            Ok(d) => {
                let (from, incarnation) = (d.header.sender, d.header.incarnation);
                let configured = self.settings.nodes.iter().any(|n| n.id == from);
                if configured {
                    self.keyring.observe(from, d.key_id, &d.message);
                }
                match d.message {
                    // Channel traffic is taken only from a configured
                    // node's incarnation that proved liveness: a recording
                    // replayed after a restart (or an older process) gets
                    // no channel state.
                    Message::Channel(frame)
                        if configured && self.machine.incarnation_of(from) == Some(incarnation) =>
                    {
                        self.on_frame(from, incarnation, frame).await;
                    }
                    Message::Channel(_) => {}
                    message => {
                        let now = self.start.elapsed();
                        let out = self.machine.receive(now, from, incarnation, message);
                        // Before the view reaches the store: what it sends
                        // a restarted peer must go to the new process, not be
                        // queued for the old one and dropped.
                        self.follow_incarnation(from);
                        self.apply(out).await;
                    }
                }
            }
            Err(DropReason::IncompatibleVersion { sender, version }) => {
                if self.incompatible.insert(sender, version).is_none() {
                    log(&format!(
                        "node {} speaks protocol version {version}, which this node cannot understand; it is refused",
                        self.settings.node_name(sender)
                    ));
                }
            }
            Err(_) => {}
        }
    }

    /// The channel follows the incarnation membership proved: a new one
    /// means the peer restarted.
    pub(super) fn follow_incarnation(&mut self, from: NodeId) {
        let Some(incarnation) = self.machine.incarnation_of(from) else {
            return;
        };
        if self.channel.observe(from, incarnation) {
            log(&format!(
                "node {} restarted: messages queued for it are dropped",
                self.settings.node_name(from)
            ));
        }
    }

    pub(super) async fn apply(&mut self, outputs: Vec<Output>) {
        let mut changed = false;
        for output in outputs {
            match output {
                Output::Send {
                    to,
                    link,
                    mut message,
                } => {
                    self.keyring.advertise(&mut message);
                    let Some(peer) = self.settings.nodes.iter().find(|n| n.id == to) else {
                        continue;
                    };
                    let Some(addr) = peer.links.get(usize::from(link)) else {
                        continue;
                    };
                    let Some(socket) = self.sockets.get(usize::from(link)) else {
                        continue;
                    };
                    let bytes = self.encoder.seal(&message);
                    // A link that is down fails sends; liveness comes from receipts.
                    let _ = socket.send_to(&bytes, addr).await;
                }
                Output::Witness(command) => self.witness_command(command),
                Output::Notice(Notice::UnknownNode(n)) => {
                    let line = format!("heartbeat from node id {n}, which is not configured");
                    self.log_limited(identity::Topic::UnknownNode(n), line);
                }
                Output::Notice(Notice::Refused { node, why }) => {
                    let topic = identity::Topic::Refused(node, why.into());
                    let line = self.describe(&Notice::Refused { node, why });
                    self.log_limited(topic, line);
                }
                Output::Notice(notice) => {
                    changed = true;
                    match notice {
                        Notice::Paused { .. } => self.pauses += 1,
                        Notice::NodeLost(n) => {
                            self.channel.abandon(n);
                            self.on_node_lost_for_metrics(self.settings.node_name(n));
                        }
                        Notice::NodeLeft(n) => self.channel.abandon(n),
                        Notice::ViewInstalled(_) => self.counters.view_changes += 1,
                        _ => {}
                    }
                    log(&self.describe(&notice));
                }
            }
        }
        self.settle_keys();
        if changed {
            self.note_quorum_for_watchdog();
            self.sync_view().await;
            self.write_state();
            self.alert_view();
        }
    }

    /// Hands a witness command to the etcd task (a daemon without a
    /// witness gets none).
    pub(super) fn witness_command(&mut self, command: crate::membership::WitnessCommand) {
        if let Some(tx) = &self.witness {
            let _ = tx.send(command);
        }
    }

    /// Hands membership's current view and quorum to the store (which
    /// ignores repeats).
    pub(super) async fn sync_view(&mut self) {
        let status = self.machine.status();
        let members: Vec<NodeId> = status.view.members.iter().copied().collect();
        let effects = self.store.on_view(
            self.now_ms(),
            status.view.id,
            &members,
            status.quorum.quorate,
        );
        self.apply_store(effects).await;
        // Requests forwarded to a DC that is gone get no answer from it.
        let gone: Vec<u64> = self
            .replies
            .iter()
            .filter(|(_, r)| {
                matches!(r, ReplyTo::Client { forwarded_to: Some(dc), .. } if !status.view.members.contains(dc))
            })
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            if let Some(ReplyTo::Client { reply, .. }) = self.replies.remove(&id) {
                let _ = reply.send(Response::Error {
                    message: "the view changed before the change was durable (the DC left); check `paceline configure show` and retry".into(),
                });
            }
        }
    }

    /// The link to send channel frames to `peer` on: the first one up.
    pub(super) fn link_to(&self, peer: NodeId) -> usize {
        self.machine
            .status()
            .peers
            .iter()
            .find(|p| p.id == peer)
            .and_then(|p| p.links_up.iter().position(|&up| up))
            .unwrap_or(0)
    }

    pub(super) async fn send_frames(&mut self, frames: Vec<(NodeId, Frame)>) {
        // One look at the links and the version per batch: a large
        // message is many frames.
        let mut links: BTreeMap<NodeId, (usize, u8)> = BTreeMap::new();
        for (to, frame) in frames {
            let (link, speaking) = match links.get(&to) {
                Some(&l) => l,
                None => {
                    let l = (self.link_to(to), self.machine.version_with(to));
                    links.insert(to, l);
                    l
                }
            };
            let Some(addr) = self
                .settings
                .nodes
                .iter()
                .find(|n| n.id == to)
                .and_then(|n| n.links.get(link).copied())
            else {
                continue;
            };
            let Some(socket) = self.sockets.get(link) else {
                continue;
            };
            // Sealed with the view's version (at most the peer's): a node
            // of the previous release opens only the versions it speaks.
            let bytes = self
                .encoder
                .seal_speaking(&Message::Channel(frame), speaking);
            let _ = socket.send_to(&bytes, addr).await;
        }
    }

    /// Sends a message over the reliable channel.
    pub(super) async fn send_cluster(&mut self, to: NodeId, message: &ClusterMessage) {
        if to == self.own.id {
            return;
        }
        let speaking = self.machine.version_with(to);
        if message.version_needed() > speaking {
            // A feature of a newer version must be gated on the view's
            // version by its caller; this only keeps a missed gate from
            // reaching a member that cannot read it.
            log(&format!(
                "ERROR: a message of protocol version {} not sent to node {}: the view speaks {speaking}",
                message.version_needed(),
                self.settings.node_name(to)
            ));
            return;
        }
        let now = self.now_ms();
        match self.channel.send(now, to, message.encode()) {
            Ok(frames) => self.send_frames(frames).await,
            Err(e @ crate::wire::ChannelError::TooLarge { .. }) => {
                // The configuration's size is checked when it is loaded,
                // the status's growth only here: said loudly, since a peer
                // that cannot get the document cannot sync.
                let what = match message {
                    ClusterMessage::Store(m) if m.is_whole_document() => {
                        "the cluster document (configuration and status): it cannot sync until the status shrinks (`paceline resource cleanup` forgets old failures) or resources are removed"
                    }
                    _ => "a message",
                };
                let name = self.settings.node_name(to);
                let fields = Fields {
                    node: Some(&name),
                    ..Fields::default()
                };
                let line = format!("ERROR: node {name} cannot be sent {what}: {e}");
                log_about(Priority::Error, &fields, &line);
            }
            Err(e) => log(&format!("cannot queue a message: {e}")),
        }
    }

    pub(super) async fn on_channel_tick(&mut self) {
        let now = self.now_ms();
        let frames = self.channel.tick(now);
        self.send_frames(frames).await;
        self.ticks += 1;
        if self.ticks % 2 == 0 {
            self.controller_input(Input::Tick);
        }
        if self.ticks % 20 == 0 {
            self.expire_constraints().await;
        }
        self.publish_http();
        self.alert_fence_history();
        let now_instant = Instant::now();
        let late: Vec<u64> = self
            .dispatch_waiters
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now_instant)
            .map(|(&id, _)| id)
            .collect();
        for id in late {
            if let Some((reply, _)) = self.dispatch_waiters.remove(&id) {
                let _ = reply.send(Response::Error {
                    message: "no result from the node in time (is it reachable? see `paceline status`); the action may still have run".into(),
                });
            }
        }
        let expired: Vec<u64> = self
            .replies
            .iter()
            .filter(|(_, r)| match r {
                ReplyTo::Client { deadline, .. } | ReplyTo::Settled { deadline, .. } => {
                    *deadline <= Instant::now()
                }
                _ => false,
            })
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.loads_by.remove(&id);
            match self.replies.remove(&id) {
                Some(ReplyTo::Settled { reply, .. }) => {
                    let _ = reply.send(Response::Settled { idle: false });
                }
                Some(ReplyTo::Client { reply, .. }) => {
                    let _ = reply.send(Response::Error {
                        message: format!(
                            "no answer from the DC within {CONFIG_REQUEST_TIMEOUT:?}; the change may or may not be applied: check `paceline configure show`"
                        ),
                    });
                }
                _ => {}
            }
        }
    }

    pub(super) async fn on_frame(&mut self, from: NodeId, incarnation: u64, frame: Frame) {
        let now = self.now_ms();
        let received = self.channel.receive(now, from, incarnation, frame);
        self.send_frames(received.send).await;
        for payload in received.delivered {
            match ClusterMessage::decode(&payload) {
                Some(message) => self.on_cluster_message(from, incarnation, message).await,
                None => log(&format!(
                    "undecodable channel message from node {}",
                    self.settings.node_name(from)
                )),
            }
        }
    }

    pub(super) async fn on_cluster_message(
        &mut self,
        from: NodeId,
        incarnation: u64,
        message: ClusterMessage,
    ) {
        match message {
            ClusterMessage::Store(m) => {
                let effects = self.store.on_message(self.now_ms(), from, m);
                self.apply_store(effects).await;
            }
            ClusterMessage::ConfigRequest {
                request,
                based_on,
                config,
            } => {
                let checked = crate::config::load_node_str(&config, "the submitted configuration")
                    .map_err(|e| e.to_string())
                    .and_then(|_| self.readable_by_every_member(&config));
                if let Err(e) = checked {
                    let reply = ClusterMessage::ConfigReply {
                        request,
                        result: Err(e),
                    };
                    self.send_cluster(from, &reply).await;
                    return;
                }
                let id = self.new_request(ReplyTo::Member {
                    node: from,
                    request,
                });
                let effects = self
                    .store
                    .request_config(self.now_ms(), id, based_on, config);
                self.apply_store(effects).await;
            }
            ClusterMessage::StatusRequest { request, patch } => {
                let id = self.new_request(ReplyTo::Member {
                    node: from,
                    request,
                });
                let effects = self.store.request_status(self.now_ms(), id, patch);
                self.apply_store(effects).await;
            }
            ClusterMessage::FenceConfirm {
                request,
                target,
                by,
            } => {
                let result = self
                    .confirm_on_dc(target, by)
                    .map(|_| self.store.doc().version);
                let reply = ClusterMessage::ConfigReply { request, result };
                self.send_cluster(from, &reply).await;
            }
            ClusterMessage::SettledQuery { request } => {
                let result = if self.store.dc_idle() {
                    Ok(self.store.doc().version)
                } else {
                    Err("not settled".to_string())
                };
                let reply = ClusterMessage::ConfigReply { request, result };
                self.send_cluster(from, &reply).await;
            }
            ClusterMessage::ConfigReply { request, result } => {
                self.finish_request(request, result).await;
            }
            ClusterMessage::ActionRequest(req) => {
                self.on_action_request(from, incarnation, req).await;
            }
            ClusterMessage::ActionResult(result) => {
                // Sent to a DC that is no longer one: pass it on.
                match self.store.dc() {
                    Some(dc)
                        if dc != self.own.id
                            && result.id < driver::DISPATCH_ID_BASE
                            && !self.store.is_dc() =>
                    {
                        self.send_cluster(dc, &ClusterMessage::ActionResult(result))
                            .await;
                    }
                    _ => self.deliver_result(result).await,
                }
            }
            ClusterMessage::StatusPatch(patch) => self.record_status(patch).await,
            ClusterMessage::ReportRequest => {
                let report = self.executor.report((from, incarnation));
                log(&format!(
                    "reporting {} results and {} pending operations to node {} (now this node's DC)",
                    report.results.len(),
                    report.pending.len(),
                    self.settings.node_name(from)
                ));
                self.send_cluster(from, &ClusterMessage::Report(report))
                    .await;
            }
            ClusterMessage::Report(report) => {
                if report.node == self.settings.node_name(from) {
                    self.controller_input(Input::NodeReport(report));
                }
            }
            ClusterMessage::CancelRecurring {
                instance,
                interval_ms,
            } => self.executor.cancel(&instance, interval_ms),
        }
    }

    pub(super) fn channel_pending(&self) -> bool {
        let members = self.machine.status().view.members;
        members
            .iter()
            .any(|&m| m != self.own.id && self.channel.unacked(m) > 0)
    }

    pub(super) fn describe(&self, notice: &Notice) -> String {
        let name = |id: NodeId| self.settings.node_name(id);
        match notice {
            Notice::ViewInstalled(v) => format!(
                "view {} members [{}]",
                v.id,
                v.members
                    .iter()
                    .map(|&m| name(m))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Notice::NodeLost(n) => format!("node {} lost (silent for token_timeout)", name(*n)),
            Notice::NodeLeft(n) => format!("node {} left cleanly", name(*n)),
            Notice::LinkUp { node, link } => format!("link {link} to {} up", name(*node)),
            Notice::LinkDown { node, link } => format!("link {link} to {} down", name(*node)),
            Notice::Paused { gap } => format!(
                "this node was not scheduled for {gap:?} (> token_timeout): dropping its stale view and rejoining"
            ),
            Notice::QuorumChanged(q) => format!(
                "partition is {}",
                if *q { "quorate" } else { "NOT quorate" }
            ),
            Notice::UnknownNode(n) => {
                format!("heartbeat from node id {n}, which is not configured")
            }
            Notice::Refused { node, why } => identity::describe_refusal(&name(*node), *why),
            Notice::ProtocolVersion(v) => format!(
                "the view speaks protocol version {v} (this node speaks {})",
                crate::wire::VersionRange::SPOKEN
            ),
        }
    }
}
