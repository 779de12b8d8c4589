//! `Node`: one node's replicated store and controller, and the glue between
//! them, sans-IO. Events in (views, messages from peers, persisted
//! versions, config requests, status patches, the controller's inputs),
//! commands out (messages to peers, documents to persist, replies,
//! the controller's commands for the driver), time passed in.
//!
//! The glue's rules, each once for the daemon and the simulator:
//! - The store gets every new view, then the controller gets it by name
//!   (repeats dropped); the controller gets the document whenever its
//!   version changes, as the status patches applied since when that is
//!   all that changed (work per patch, not per status), and
//!   `Input::Synced` once per view when the store is a ready DC in it.
//! - A new configuration is loaded once, by the driver (`Command::Load`,
//!   off its event loop), and handed back with `on_loaded`; meanwhile the
//!   controller gets no document (it would pair the new status with the
//!   old configuration).
//! - A status patch (the controller's `RecordStatus`, a member's forwarded
//!   patch, an agent's attribute) is applied by the DC's store, sent to the
//!   DC by a member, and kept while no DC is known.
//! - Settling: a confirmed fence or a clean leave of a peer settles it for
//!   the store (a lone two_node DC may then write); without fencing
//!   (`stonith-enabled = false`) a peer missing from the view counts as
//!   settled at once.
//! - Output commit (issue 21): a status patch counts once a quorum made it
//!   durable (`store::machine`, "Commit"). The DC acts on a patch when it
//!   sends an agent action planned on a status holding it: so while the
//!   DC's store holds uncommitted changes, every action (`Execute`,
//!   `CancelRecurring`, and their messages to other nodes) waits here, in
//!   order, until the version current when it was planned is committed.
//!   Fences never wait: they follow from membership, not from a patch, and
//!   a lone two_node survivor commits nothing before its fence. A DC that
//!   loses its role or its quorum with actions still held withdraws them
//!   (`Input::Withdrawn`): they were never sent.
//! - A failed persist stops the node: nothing queued after it is sent and
//!   every later input answers `Fatal` (the store's contract).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use crate::controller::{self, Controller, DocumentStatus, Input, StatusPatch};
use crate::model::{ClusterConfig, ClusterStatus};
use crate::store::machine::{self, Msg, Node as StoreNode};
use crate::store::{Document, Version, choose_dc};
use crate::wire::NodeId;

/// The configuration a node's document holds: the daemon keeps the TOML
/// text as loaded, the simulator the model itself.
pub trait NodeConfig: Clone + PartialEq {
    /// What loading the configuration gives the driver (the daemon: the
    /// model and the `[fencing]` section).
    type Loaded;
    fn load(&self) -> Result<Self::Loaded, String>;
    fn model(loaded: &Self::Loaded) -> &ClusterConfig;
}

impl NodeConfig for String {
    type Loaded = crate::config::Cluster;

    /// A file without `[fencing]` runs as fencing disabled (the daemon has
    /// always accepted that; `paceline config check` refuses it).
    fn load(&self) -> Result<Self::Loaded, String> {
        crate::config::load_cluster_str_fencing_optional(self, "the cluster configuration")
            .map_err(|e| e.to_string())
    }

    fn model(loaded: &Self::Loaded) -> &ClusterConfig {
        &loaded.model
    }
}

impl NodeConfig for ClusterConfig {
    type Loaded = ClusterConfig;

    fn load(&self) -> Result<Self::Loaded, String> {
        Ok(self.clone())
    }

    fn model(loaded: &Self::Loaded) -> &ClusterConfig {
        loaded
    }
}

/// What one node sends another (the driver's transport carries it).
#[derive(Debug, Clone, PartialEq)]
pub enum Message<C> {
    Store(Msg<C, ClusterStatus>),
    /// Member -> DC: record this status change.
    StatusPatch(StatusPatch),
    /// DC -> node: run this.
    ActionRequest(controller::ActionRequest),
    /// DC -> node: stop a recurring monitor.
    CancelRecurring {
        instance: String,
        interval_ms: u64,
    },
    /// A new DC -> member: report what your executor did (the join).
    ReportRequest,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event<C> {
    /// Membership's view and quorum (a repeat changes nothing).
    View {
        id: u64,
        members: Vec<NodeId>,
        quorate: bool,
    },
    Message {
        from: NodeId,
        message: Message<C>,
    },
    /// The driver made this version durable (after `Command::Persist`).
    Persisted(Version),
    /// A configuration change, answered by a `Reply` with `request`.
    ConfigRequest {
        request: u64,
        based_on: Version,
        config: C,
    },
    /// A status change made on this node (agents' attributes, a cleanup,
    /// the shutdown request).
    StatusPatch(StatusPatch),
    /// A status change a client waits for (`resource cleanup`): the DC
    /// answers with a `Reply` once it is committed; another node answers
    /// at once that it is not the DC (the driver forwards to the DC).
    StatusRequest {
        request: u64,
        patch: StatusPatch,
    },
    /// Everything else the controller takes (results, fence outcomes,
    /// reports, fencing readiness, ticks).
    Controller(Input),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command<C> {
    Send {
        to: NodeId,
        message: Message<C>,
    },
    /// Make the document (`Node::doc`, as it is when written: a newer one
    /// covers this version) durable, then report `Event::Persisted` with
    /// this version (or `Node::persist_failed`); nothing after it may be
    /// sent before.
    Persist(Version),
    Reply {
        request: u64,
        result: Result<Version, String>,
    },
    /// The controller's commands other than `RecordStatus` (which the
    /// node carries out itself); `Execute`, `CancelRecurring` and
    /// `RequestReport` only for this node (another node's go as messages).
    Controller(controller::Command),
    /// Load this configuration (`NodeConfig::load`, off the event loop)
    /// and hand the result to `Node::on_loaded` with `generation`.
    Load {
        generation: u64,
        config: C,
    },
    /// The configuration changed (see `Node::loaded`).
    ConfigChanged,
    Log(String),
    /// The node stopped (a failed persist); the driver must stop too.
    Fatal(String),
}

/// Who this node is among the configured ones.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub own: NodeId,
    pub two_node: bool,
    /// This node's name and every configured node's (name, id) are the
    /// controller's.
    pub controller: controller::ControllerSettings,
}

pub struct Node<C: NodeConfig> {
    settings: NodeSettings,
    store: StoreNode<C, ClusterStatus>,
    controller: Controller,
    view: Option<(u64, Vec<u32>, bool)>,
    /// Whether the cluster fences (`stonith-enabled`).
    fencing: bool,
    /// Peers a confirmed fence or a clean leave settled (until they rejoin).
    confirmed_gone: BTreeSet<u32>,
    /// Why the node stopped (a failed persist).
    failed: Option<String>,
    fed_view: Option<(BTreeSet<String>, bool)>,
    fed_version: Option<Version>,
    applied: Option<C>,
    loaded: Option<Box<C::Loaded>>,
    /// The model of `loaded`, shared with the controller: one copy per
    /// configuration change, not one per document version.
    model: Option<Arc<ClusterConfig>>,
    /// The status patches the store applied since the document the
    /// controller got last, in order; None when the document changed
    /// otherwise too (then the controller gets the whole status).
    patched: Option<Vec<StatusPatch>>,
    /// A configuration the driver already loaded (see `preload`).
    preloaded: Option<(C, Box<C::Loaded>)>,
    /// The `Command::Load` awaited (the controller gets no document
    /// meanwhile), and the last number given to one.
    loading: Option<u64>,
    load_generation: u64,
    /// The store was a ready DC after the last event (`Input::Synced`).
    synced: bool,
    /// Status patches made while no DC was known.
    unsent: Vec<StatusPatch>,
    /// Actions (and answers to status requests) waiting for the version
    /// they were planned on to be committed (see "Output commit").
    held: VecDeque<(Version, Command<C>)>,
    /// The newest version an action sent so far was planned on.
    acted_on: Version,
    now_ms: u64,
    wall: i64,
}

/// The answer to a status request whose DC stopped being one first.
const NOT_COMMITTED: &str = "the DC changed before the change was committed (a quorum did not hold it yet); check `paceline status` and retry";

/// How many rounds of feeding the controller one event may take (each
/// round: the document changed or the store became ready).
const FEED_ROUNDS_MAX: usize = 64;

impl<C: NodeConfig> Node<C> {
    /// A node starting from `doc` (the persisted one, or the config file's
    /// at version 0: any peer's newer document wins on the first view).
    pub fn new(settings: NodeSettings, doc: Document<C, ClusterStatus>) -> Self {
        let size = settings.controller.nodes.len();
        Node {
            store: StoreNode::new(u32::from(settings.own), size, settings.two_node, doc),
            controller: Controller::new(settings.controller.clone()),
            settings,
            view: None,
            fencing: true,
            confirmed_gone: BTreeSet::new(),
            failed: None,
            fed_view: None,
            fed_version: None,
            applied: None,
            loaded: None,
            model: None,
            patched: None,
            preloaded: None,
            loading: None,
            load_generation: 0,
            synced: false,
            unsent: Vec::new(),
            held: VecDeque::new(),
            acted_on: Version::default(),
            now_ms: 0,
            wall: 0,
        }
    }

    pub fn doc(&self) -> &Document<C, ClusterStatus> {
        &self.store.doc
    }

    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// What `config` loads to, loaded by the driver already (the daemon
    /// reads its file once at start): taken instead of loading again when
    /// the document first holds that configuration.
    pub fn preload(&mut self, config: C, loaded: C::Loaded) {
        self.preloaded = Some((config, Box::new(loaded)));
    }

    /// The configuration as last loaded (None: it does not load).
    pub fn loaded(&self) -> Option<&C::Loaded> {
        self.loaded.as_deref()
    }

    /// The model of the configuration as last loaded.
    pub fn config(&self) -> Option<&ClusterConfig> {
        self.model.as_deref()
    }

    fn members(&self) -> &[u32] {
        self.view.as_ref().map_or(&[], |(_, m, _)| m.as_slice())
    }

    /// The DC of the current view (quorate or not).
    pub fn dc(&self) -> Option<NodeId> {
        choose_dc(self.members()).and_then(|d| NodeId::try_from(d).ok())
    }

    pub fn is_dc(&self) -> bool {
        self.view.as_ref().is_some_and(|(_, _, q)| *q) && self.dc() == Some(self.settings.own)
    }

    /// Whether this node is the DC and its controller has nothing in
    /// flight and nothing left to do (`--wait` of the CLI's changes).
    pub fn dc_idle(&self) -> bool {
        self.is_dc() && self.controller.is_idle()
    }

    /// This node is the DC and holds a quorum of the members' documents,
    /// so it takes config changes.
    pub fn ready(&self) -> bool {
        self.store.is_ready_dc()
    }

    /// Carries out one event at `now_ms` (a monotonic clock) and `wall`
    /// (seconds since the epoch).
    pub fn handle(&mut self, now_ms: u64, wall: i64, event: Event<C>) -> Vec<Command<C>> {
        self.now_ms = now_ms;
        self.wall = wall;
        if let Some(why) = &self.failed {
            return vec![Command::Fatal(why.clone())];
        }
        let mut out = Vec::new();
        match event {
            Event::View {
                id,
                members,
                quorate,
            } => self.on_view(id, &members, quorate, &mut out),
            Event::Message {
                from,
                message: Message::Store(msg),
            } => {
                let patch = match &msg {
                    Msg::Forward { patch, .. } | Msg::Patch { patch, .. } => Some(patch.clone()),
                    _ => None,
                };
                let before = self.store.doc.version;
                let commands = self.store.on_message(u32::from(from), msg);
                self.note_patched(before, patch);
                self.store_commands(commands, &mut out);
            }
            Event::Message {
                message: Message::StatusPatch(patch),
                ..
            }
            | Event::StatusPatch(patch) => self.record_status(patch, &mut out),
            Event::Message {
                message:
                    Message::ActionRequest(_) | Message::CancelRecurring { .. } | Message::ReportRequest,
                ..
            } => out.push(Command::Log(
                "internal: requests for the executor are the driver's, not the node core's".into(),
            )),
            Event::Persisted(version) => {
                let before = self.store.doc.version;
                let commands = self.store.on_persisted(version);
                self.note_patched(before, None);
                self.store_commands(commands, &mut out);
            }
            Event::ConfigRequest {
                request,
                based_on,
                config,
            } => {
                let before = self.store.doc.version;
                let commands = self.store.on_config_request(request, based_on, config);
                self.note_patched(before, None);
                self.store_commands(commands, &mut out);
            }
            Event::StatusRequest { request, patch } => {
                self.status_request(request, patch, &mut out)
            }
            Event::Controller(input) => self.controller_input(input, &mut out),
        }
        self.feed_controller(&mut out);
        self.release_held(&mut out);
        out
    }

    /// This node's store is a ready DC with changes a quorum does not hold
    /// yet (see "Output commit").
    pub fn uncommitted(&self) -> bool {
        self.store.uncommitted()
    }

    /// Actions held for a commit (see "Output commit").
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The newest document version an action sent so far was planned on
    /// (committed by then; the simulator checks it is on a quorum).
    pub fn acted_on(&self) -> Version {
        self.acted_on
    }

    /// Sends a controller command on, or holds an action while the
    /// status it was planned on may still be lost with this DC.
    fn dispatch(&mut self, command: Command<C>, out: &mut Vec<Command<C>>) {
        if !is_action(&command) {
            out.push(command);
        } else if !self.held.is_empty() || self.store.uncommitted() {
            self.held.push_back((self.store.doc.version, command));
        } else {
            self.acted_on = self.acted_on.max(self.store.doc.version);
            out.push(command);
        }
    }

    /// A status change a client waits for: the DC answers once a quorum
    /// holds it (`resource cleanup` then reports done only what a DC
    /// crash cannot undo).
    fn status_request(&mut self, request: u64, patch: StatusPatch, out: &mut Vec<Command<C>>) {
        if !self.store.is_ready_dc() {
            out.push(Command::Reply {
                request,
                result: Err(machine::ReplyError::NotDc.to_string()),
            });
            return;
        }
        self.record_status(patch, out);
        let reply = Command::Reply {
            request,
            result: Ok(self.store.doc.version),
        };
        if self.held.is_empty() && !self.store.uncommitted() {
            out.push(reply);
        } else {
            self.held.push_back((self.store.doc.version, reply));
        }
    }

    /// Sends the held actions whose version is committed, in order; a node
    /// that is no longer a quorate DC withdraws them all.
    fn release_held(&mut self, out: &mut Vec<Command<C>>) {
        if self.held.is_empty() {
            return;
        }
        if !self.is_dc() {
            self.withdraw_held(out);
            return;
        }
        let committed = self.store.committed();
        while let Some((version, _)) = self.held.front()
            && *version <= committed
        {
            if let Some((version, command)) = self.held.pop_front() {
                if is_action(&command) {
                    self.acted_on = self.acted_on.max(version);
                }
                out.push(command);
            }
        }
    }

    /// This node stopped being the DC with commands held: the actions are
    /// withdrawn (the controller forgets them), the answers say the
    /// outcome is unknown.
    fn withdraw_held(&mut self, out: &mut Vec<Command<C>>) {
        let mut ids = Vec::new();
        for (_, command) in std::mem::take(&mut self.held) {
            match command {
                Command::Reply { request, .. } => out.push(Command::Reply {
                    request,
                    result: Err(NOT_COMMITTED.to_string()),
                }),
                other => ids.extend(request_id(&other)),
            }
        }
        if !ids.is_empty() {
            out.push(Command::Log(format!(
                "{} action(s) withdrawn unsent: this node stopped being the DC before the status they were planned on was committed",
                ids.len()
            )));
            self.controller_input(Input::Withdrawn(ids), out);
        }
    }

    /// The driver could not make a document durable: the node stops.
    pub fn persist_failed(&mut self, why: String) -> Vec<Command<C>> {
        self.failed = Some(why.clone());
        vec![Command::Fatal(why)]
    }

    fn on_view(&mut self, id: u64, members: &[NodeId], quorate: bool, out: &mut Vec<Command<C>>) {
        if id == 0 {
            // Membership has gathered nothing yet (see
            // `Membership::form_first_view`): no store election, no quorum.
            return;
        }
        let members: Vec<u32> = members.iter().map(|&m| u32::from(m)).collect();
        self.confirmed_gone.retain(|p| !members.contains(p));
        let current = (id, members.clone(), quorate);
        if self.view.as_ref() != Some(&current) {
            self.view = Some(current);
            let before = self.store.doc.version;
            let mut commands = self.store.on_view(id, members.clone(), quorate);
            self.note_patched(before, None);
            if !self.fencing {
                // Without fencing nothing confirms a lost peer is down: it
                // counts as down at once (the operator chose this, and
                // `status` warns). A two_node survivor then writes alone.
                for peer in self.configured_ids().filter(|p| !members.contains(p)) {
                    let before = self.store.doc.version;
                    commands.extend(self.store.on_peer_settled(peer));
                    self.note_patched(before, None);
                }
            }
            self.store_commands(commands, out);
            // `Synced` is per view: a store that is ready again within the
            // view change itself (a two_node survivor whose peer left and
            // counts as gone at once) must say so in the new view, and
            // after the controller has it. Before, the ready flag never
            // dropped, so no `Synced` came and the controller waited
            // `SYNC_WAIT_MS` after a clean leave (issue 21).
            self.synced = false;
        }
        self.feed_view(out);
        self.feed_controller(out);
        self.flush_unsent(out);
    }

    fn configured_ids(&self) -> impl Iterator<Item = u32> + use<C> {
        let ids: Vec<u32> = self
            .settings
            .controller
            .nodes
            .iter()
            .map(|(_, id)| *id)
            .collect();
        ids.into_iter()
    }

    /// Tells the controller about a changed view (membership by name).
    fn feed_view(&mut self, out: &mut Vec<Command<C>>) {
        let members = self.members().to_vec();
        let names: BTreeSet<String> = self
            .settings
            .controller
            .nodes
            .iter()
            .filter(|(_, id)| members.contains(id))
            .map(|(name, _)| name.clone())
            .collect();
        let quorate = self.view.as_ref().is_some_and(|(_, _, q)| *q);
        if self.fed_view.as_ref() == Some(&(names.clone(), quorate)) {
            return;
        }
        self.fed_view = Some((names.clone(), quorate));
        self.controller_input(
            Input::View {
                members: names,
                quorate,
            },
            out,
        );
    }

    /// Feeds one input; `RecordStatus` is carried out here, the rest goes
    /// to the driver in order.
    fn controller_input(&mut self, input: Input, out: &mut Vec<Command<C>>) {
        for command in self.controller.handle(self.now_ms, self.wall, input) {
            match command {
                controller::Command::RecordStatus(patch) => self.record_status(patch, out),
                other => {
                    let command = self.route(other);
                    self.dispatch(command, out);
                }
            }
        }
    }

    /// A controller command for another node becomes a message to it; one
    /// for this node (or a node that is not configured, which the driver
    /// reports) stays the driver's.
    fn route(&self, command: controller::Command) -> Command<C> {
        let (node, message) = match command {
            controller::Command::Execute(request) => {
                (request.node.clone(), Message::ActionRequest(request))
            }
            controller::Command::CancelRecurring {
                node,
                instance,
                interval_ms,
            } => (
                node,
                Message::CancelRecurring {
                    instance,
                    interval_ms,
                },
            ),
            controller::Command::RequestReport { node } => (node, Message::ReportRequest),
            other => return Command::Controller(other),
        };
        match self.node_id(&node).filter(|&id| id != self.settings.own) {
            Some(to) => Command::Send { to, message },
            None => Command::Controller(match message {
                Message::ActionRequest(request) => controller::Command::Execute(request),
                Message::CancelRecurring {
                    instance,
                    interval_ms,
                } => controller::Command::CancelRecurring {
                    node,
                    instance,
                    interval_ms,
                },
                _ => controller::Command::RequestReport { node },
            }),
        }
    }

    /// The id of a configured node.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.settings
            .controller
            .nodes
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, id)| NodeId::try_from(*id).ok())
    }

    /// The document changed: the controller gets it (the configuration
    /// loaded once per change); the store became a ready DC: the
    /// controller may plan on the document (`Input::Synced`).
    fn feed_controller(&mut self, out: &mut Vec<Command<C>>) {
        for _ in 0..FEED_ROUNDS_MAX {
            let version = self.store.doc.version;
            let fed_document = self.fed_version != Some(version);
            if fed_document {
                self.fed_version = Some(version);
                self.feed_document(out);
            }
            let synced = self.store.is_ready_dc();
            let newly_synced = synced && !self.synced;
            self.synced = synced;
            if newly_synced {
                self.controller_input(Input::Synced, out);
            }
            if !fed_document && !newly_synced {
                return;
            }
        }
    }

    fn feed_document(&mut self, out: &mut Vec<Command<C>>) {
        let config = &self.store.doc.config;
        if self.applied.as_ref() != Some(config) {
            self.applied = Some(config.clone());
            self.patched = None;
            match self.preloaded.take() {
                Some((preloaded, loaded)) if &preloaded == config => {
                    self.loading = None;
                    self.take_loaded(Ok(loaded), out);
                }
                _ => {
                    self.load_generation += 1;
                    self.loading = Some(self.load_generation);
                    out.push(Command::Load {
                        generation: self.load_generation,
                        config: config.clone(),
                    });
                }
            }
        }
        if self.loading.is_some() {
            // The controller gets the whole document once it loads.
            self.patched = None;
            return;
        }
        let patched = self.patched.replace(Vec::new());
        let Some(model) = self.model.clone() else {
            return;
        };
        let status = match patched {
            Some(patches) => DocumentStatus::Patched(patches),
            None => DocumentStatus::Whole(Box::new(self.store.doc.status.clone())),
        };
        self.controller_input(
            Input::Document {
                config: model,
                status,
            },
            out,
        );
    }

    /// The configuration asked for by `Command::Load` with `generation`,
    /// loaded (off the driver's event loop: a megabyte of TOML is parsed
    /// in seconds, not milliseconds). One for a configuration replaced
    /// since is dropped.
    pub fn on_loaded(
        &mut self,
        now_ms: u64,
        wall: i64,
        generation: u64,
        loaded: Result<C::Loaded, String>,
    ) -> Vec<Command<C>> {
        self.now_ms = now_ms;
        self.wall = wall;
        if let Some(why) = &self.failed {
            return vec![Command::Fatal(why.clone())];
        }
        let mut out = Vec::new();
        if self.loading != Some(generation) {
            return out;
        }
        self.loading = None;
        self.take_loaded(loaded.map(Box::new), &mut out);
        self.feed_document(&mut out);
        self.feed_controller(&mut out);
        self.release_held(&mut out);
        out
    }

    /// The configuration the document holds, loaded (or why it does not).
    fn take_loaded(&mut self, loaded: Result<Box<C::Loaded>, String>, out: &mut Vec<Command<C>>) {
        match loaded {
            Ok(loaded) => {
                let model = C::model(&loaded);
                self.fencing = model.properties.stonith_enabled;
                self.model = Some(Arc::new(model.clone()));
                self.loaded = Some(loaded);
            }
            Err(e) => {
                // Acting on the previous configuration would be acting
                // on one the cluster no longer has.
                out.push(Command::Log(format!(
                    "the cluster configuration does not load: {e}"
                )));
                self.loaded = None;
                self.model = None;
            }
        }
        out.push(Command::ConfigChanged);
    }

    /// Notes how the store's document moved from `before`: by `patch`
    /// alone (one update further, nothing else changed), or otherwise (the
    /// controller then gets the whole status).
    fn note_patched(&mut self, before: Version, patch: Option<StatusPatch>) {
        let after = self.store.doc.version;
        if after == before {
            return;
        }
        let one_update = Version {
            num_updates: before.num_updates.saturating_add(1),
            ..before
        };
        match (patch, self.patched.as_mut()) {
            (Some(patch), Some(patches)) if after == one_update => patches.push(patch),
            _ => self.patched = None,
        }
    }

    /// A status patch: the DC's store applies it and sends it to the
    /// members, a member sends it to the DC, and without a DC it waits for
    /// the next one. A fence confirmed or a clean leave settles that peer
    /// for the store (a lone two_node DC may then write).
    fn record_status(&mut self, patch: StatusPatch, out: &mut Vec<Command<C>>) {
        if self.is_dc() {
            let settled = self.settled_by(&patch);
            let before = self.store.doc.version;
            let mut commands = self.store.on_status_patch(patch.clone());
            self.note_patched(before, Some(patch));
            if let Some(peer) = settled {
                self.confirmed_gone.insert(peer);
                let before = self.store.doc.version;
                commands.extend(self.store.on_peer_settled(peer));
                self.note_patched(before, None);
            }
            self.store_commands(commands, out);
        } else if let Some(dc) = self.dc().filter(|&d| d != self.settings.own) {
            out.push(Command::Send {
                to: dc,
                message: Message::StatusPatch(patch),
            });
        } else {
            // No DC (this node alone without quorum): kept for the next one.
            self.unsent.push(patch);
        }
    }

    /// The peer a patch settles: its fence was confirmed, or it left cleanly.
    fn settled_by(&self, patch: &StatusPatch) -> Option<u32> {
        let name = match patch {
            StatusPatch::NodeFenced(outcome) if outcome.ok => outcome.target.as_str(),
            StatusPatch::NodeLeftCleanly(node) => node.as_str(),
            _ => return None,
        };
        self.settings
            .controller
            .nodes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }

    /// Patches kept while no DC was known go once there is one.
    fn flush_unsent(&mut self, out: &mut Vec<Command<C>>) {
        if !self.is_dc() && self.dc().is_none_or(|d| d == self.settings.own) {
            return;
        }
        for patch in std::mem::take(&mut self.unsent) {
            self.record_status(patch, out);
        }
    }

    fn store_commands(
        &mut self,
        commands: Vec<machine::Command<C, ClusterStatus>>,
        out: &mut Vec<Command<C>>,
    ) {
        for command in commands {
            out.push(match command {
                machine::Command::Send { to, msg } => {
                    let Ok(to) = NodeId::try_from(to) else {
                        continue;
                    };
                    Command::Send {
                        to,
                        message: Message::Store(msg),
                    }
                }
                machine::Command::Persist(version) => Command::Persist(version),
                machine::Command::Reply { request, result } => Command::Reply {
                    request,
                    result: result.map_err(|e| e.to_string()),
                },
            });
        }
    }

    /// Why a configuration change acknowledged now is not guaranteed to
    /// survive: in a two-node cluster without fencing, a node alone cannot
    /// tell a dead peer from a split, and both halves of a split each
    /// acknowledge changes, one of which the heal loses (invariant 4 needs
    /// fencing). Pacemaker behaves the same and calls clusters without
    /// fencing unsupported; an operator of one expects a lone survivor to
    /// take changes, so they are taken, and the client is told plainly.
    pub fn unguaranteed(&self) -> Option<String> {
        if self.fencing || !self.settings.two_node {
            return None;
        }
        let members = self.members();
        let missing: Vec<&str> = self
            .settings
            .controller
            .nodes
            .iter()
            .filter(|(_, id)| !members.contains(id) && !self.confirmed_gone.contains(id))
            .map(|(name, _)| name.as_str())
            .collect();
        if missing.is_empty() {
            return None;
        }
        Some(format!(
            "applied by this node alone and NOT guaranteed: fencing is disabled (stonith-enabled = false) and {} is not in this partition, so this node cannot tell a dead peer from a split; if this is a split, the other half may take changes too and one side's are lost when it heals. Enable fencing to make changes safe",
            missing.join(", ")
        ))
    }
}

/// An agent action (here or on another node): what the DC does on the
/// status it planned on.
fn is_action<C>(command: &Command<C>) -> bool {
    matches!(
        command,
        Command::Controller(
            controller::Command::Execute(_) | controller::Command::CancelRecurring { .. }
        ) | Command::Send {
            message: Message::ActionRequest(_) | Message::CancelRecurring { .. },
            ..
        }
    )
}

/// The request id of an action the controller waits for.
fn request_id<C>(command: &Command<C>) -> Option<u64> {
    match command {
        Command::Controller(controller::Command::Execute(request))
        | Command::Send {
            message: Message::ActionRequest(request),
            ..
        } => Some(request.id),
        _ => None,
    }
}
