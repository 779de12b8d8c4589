//! The daemon's node core (`node::Node`) on disk: the document persisted
//! in the state directory, each `Persist` made durable before anything
//! after it is sent, the store's messages in their wire form. Everything
//! the daemon does with the store and the controller goes through here.
//!
//! Writes run on the writer thread (`writer.rs`) once the daemon starts
//! it (`start_writer`; before, and in tests, inline): the node core's
//! commands after a Persist wait in `backlog` until the write is done
//! (`on_written`), in order, while the event loop serves heartbeats. When
//! a write finishes, the next one takes the newest document waiting
//! (coalescing: one write per fsync, however many patches came meanwhile);
//! every Persist up to it counts as durable, since each is a snapshot of
//! the same document, the newest holding the older ones.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::controller::{self, Controller, Input, StatusPatch};
use crate::model::ClusterStatus;
use crate::node::protocol::{self, ClusterDocument, ClusterMessage, StoreMessage};
use crate::node::{self, Event, Message, Node, NodeSettings};
use crate::store::{Document, Version, persist};
use crate::wire::NodeId;

/// File of the persisted document in the state directory.
pub const DOCUMENT_FILE: &str = "cluster.json";

/// The status written alone while the configuration stays the same (the
/// writer's `save_to`): the configuration text is not rewritten and
/// fsynced on every status patch.
pub const STATUS_FILE: &str = "cluster-status.json";

/// What `STATUS_FILE` holds: the document's status, version and promise,
/// on top of the `DOCUMENT_FILE` written at `base` (a status file whose
/// base is not the document file's version belongs to an older document
/// file and is ignored).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusFile {
    pub base: Version,
    pub version: Version,
    pub promised: u64,
    pub status: ClusterStatus,
}

impl StatusFile {
    /// The document this status file completes, if it completes `doc`.
    fn complete(self, mut doc: ClusterDocument) -> ClusterDocument {
        if self.base == doc.version && self.version >= doc.version {
            doc.version = self.version;
            doc.status = self.status;
            doc.promised = doc.promised.max(self.promised);
        }
        doc
    }
}

/// What the node core asks the daemon to do.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreEffect {
    Send {
        to: NodeId,
        message: ClusterMessage,
    },
    /// The outcome of a config request (`request` as given to `request_config`).
    Reply {
        request: u64,
        result: Result<Version, String>,
    },
    /// A controller command for the daemon to carry out.
    Controller(controller::Command),
    /// The configuration changed (`ClusterStore::loaded`).
    ConfigChanged,
    Log(String),
    /// The document could not be made durable: the store has stopped (it
    /// sends nothing after a failed Persist, as the store's contract
    /// requires) and the daemon must stop too.
    Fatal(String),
}

pub struct ClusterStore {
    node: Node<String>,
    path: PathBuf,
    /// The store stopped (a failed persist); it then does nothing.
    failed: bool,
    /// The writer thread (None: writes inline, on the caller's thread).
    writer: Option<super::writer::WriterHandle>,
    /// The node core's commands not carried out yet: from the first
    /// Persist not durable on, in order.
    backlog: VecDeque<Pending>,
    /// Numbers of Persists: the last given, the last durable.
    persist_seq: u64,
    durable_seq: u64,
    /// The write in progress (its Persist number) and when it began.
    writing: Option<(u64, Instant)>,
    /// The slowest write and when it happened, for status.
    pub(super) slow_write: Option<(Duration, std::time::SystemTime)>,
    /// Where configurations loaded on a blocking thread go (None: loaded
    /// inline, on the caller's thread, as before the daemon starts and in
    /// tests).
    loader: Option<tokio::sync::mpsc::UnboundedSender<Loaded>>,
}

/// A configuration loaded off the event loop: the node core's
/// `Command::Load` generation and what loading gave.
pub type Loaded = Box<(u64, Result<crate::config::Cluster, String>)>;

/// A command of the node core waiting for an earlier write.
enum Pending {
    /// `written`: a write of the document (as it was then, this version or
    /// newer) was started for it; a later one covers it too.
    Persist {
        seq: u64,
        version: Version,
        written: bool,
    },
    Command(Box<node::Command<String>>),
}

impl ClusterStore {
    /// Loads the persisted document, or starts one from the config file's
    /// text at version 0 (any peer's newer document wins on the first view).
    /// Returns a note for the log when the file and the cluster disagree.
    pub fn open(
        state_dir: &Path,
        settings: NodeSettings,
        config_text: &str,
    ) -> Result<(Self, Option<String>), persist::PersistError> {
        let path = state_dir.join(DOCUMENT_FILE);
        let secured = secure_state_dir(state_dir, &path);
        let stored: Option<ClusterDocument> = persist::load(&path)?;
        let status_file: Option<StatusFile> = persist::load(&state_dir.join(STATUS_FILE))?;
        let stored = match (stored, status_file) {
            (Some(doc), Some(status)) => Some(status.complete(doc)),
            (stored, _) => stored,
        };
        let mut note = None;
        let doc = match stored {
            Some(doc) => {
                if doc.config != config_text {
                    note = Some(format!(
                        "the cluster's configuration (epoch {}) differs from the config file; the cluster's wins (see `paceline configure show`; apply file changes with `paceline configure load`)",
                        doc.version.epoch
                    ));
                }
                doc
            }
            None => Document::new(config_text.to_string(), ClusterStatus::default()),
        };
        let note = match (secured, note) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        let store = ClusterStore {
            node: Node::new(settings, doc),
            path,
            failed: false,
            writer: None,
            backlog: VecDeque::new(),
            persist_seq: 0,
            durable_seq: 0,
            writing: None,
            slow_write: None,
            loader: None,
        };
        Ok((store, note))
    }

    pub fn doc(&self) -> &ClusterDocument {
        self.node.doc()
    }

    pub fn dc(&self) -> Option<NodeId> {
        self.node.dc()
    }

    /// This node is the DC and holds a quorum of the members' documents,
    /// so it takes config changes.
    pub fn ready(&self) -> bool {
        self.node.ready()
    }

    pub fn is_dc(&self) -> bool {
        self.node.is_dc()
    }

    /// See `node::Node::dc_idle`.
    pub fn dc_idle(&self) -> bool {
        self.node.dc_idle()
    }

    /// See `node::Node::preload`.
    pub fn preload(&mut self, text: String, cluster: crate::config::Cluster) {
        self.node.preload(text, cluster);
    }

    /// The configuration as last loaded (None: it does not load).
    pub fn loaded(&self) -> Option<&crate::config::Cluster> {
        self.node.loaded()
    }

    pub fn controller(&self) -> &Controller {
        self.node.controller()
    }

    /// See `node::Node::unguaranteed`.
    pub fn unguaranteed(&self) -> Option<String> {
        self.node.unguaranteed()
    }

    /// A new view or quorum state from membership; a repeat is ignored.
    pub fn on_view(
        &mut self,
        now_ms: u64,
        id: u64,
        members: &[NodeId],
        quorate: bool,
    ) -> Vec<StoreEffect> {
        let members = members.to_vec();
        let event = Event::View {
            id,
            members,
            quorate,
        };
        self.handle(now_ms, event)
    }

    pub fn on_message(
        &mut self,
        now_ms: u64,
        from: NodeId,
        message: StoreMessage,
    ) -> Vec<StoreEffect> {
        let message = Message::Store(message.into_store());
        self.handle(now_ms, Event::Message { from, message })
    }

    /// A config change; answered by a `Reply` with the same `request`. A
    /// configuration whose document would not leave room in one channel
    /// message for the status to grow is refused here
    /// (`protocol::check_document_size`): applied, it could never be
    /// replicated.
    pub fn request_config(
        &mut self,
        now_ms: u64,
        request: u64,
        based_on: Version,
        config: String,
    ) -> Vec<StoreEffect> {
        if let Err(why) = protocol::check_document_size(&config, &self.doc().status) {
            return vec![StoreEffect::Reply {
                request,
                result: Err(why),
            }];
        }
        let event = Event::ConfigRequest {
            request,
            based_on,
            config,
        };
        self.handle(now_ms, event)
    }

    /// A status patch: the DC applies it and sends it to the members, a
    /// member forwards it to the DC (see `node::Node`).
    pub fn record_status(&mut self, now_ms: u64, patch: StatusPatch) -> Vec<StoreEffect> {
        self.handle(now_ms, Event::StatusPatch(patch))
    }

    /// A status change a client waits for (cleanup): answered by a
    /// `Reply` with `request` once a quorum holds it (see `node::Node`).
    pub fn request_status(
        &mut self,
        now_ms: u64,
        request: u64,
        patch: StatusPatch,
    ) -> Vec<StoreEffect> {
        self.handle(now_ms, Event::StatusRequest { request, patch })
    }

    /// An input of the controller.
    pub fn input(&mut self, now_ms: u64, input: Input) -> Vec<StoreEffect> {
        self.handle(now_ms, Event::Controller(input))
    }

    fn handle(&mut self, now_ms: u64, event: Event<String>) -> Vec<StoreEffect> {
        let commands = self.node.handle(now_ms, super::driver::wall_now(), event);
        self.run(now_ms, commands)
    }

    /// From now on the document is written on a writer thread whose
    /// completions the daemon hands to `on_written`.
    pub fn start_writer(
        &mut self,
        done: tokio::sync::mpsc::UnboundedSender<super::writer::Written>,
    ) -> std::io::Result<()> {
        let save = super::writer::save_to(self.path.clone());
        self.start_writer_with(save, done)
    }

    /// `start_writer` with another way to write (tests: a slow disk).
    pub fn start_writer_with(
        &mut self,
        save: super::writer::SaveFn,
        done: tokio::sync::mpsc::UnboundedSender<super::writer::Written>,
    ) -> std::io::Result<()> {
        self.writer = Some(super::writer::spawn(save, done)?);
        Ok(())
    }

    /// From now on a new configuration is loaded on a blocking thread
    /// (a megabyte of TOML held the event loop for seconds and the peers
    /// declared this node lost); the daemon hands the results to
    /// `on_loaded`.
    pub fn start_loader(&mut self, done: tokio::sync::mpsc::UnboundedSender<Loaded>) {
        self.loader = Some(done);
    }

    /// A configuration loaded on its blocking thread.
    pub fn on_loaded(&mut self, now_ms: u64, loaded: Loaded) -> Vec<StoreEffect> {
        let (generation, loaded) = *loaded;
        let wall = super::driver::wall_now();
        let commands = self.node.on_loaded(now_ms, wall, generation, loaded);
        self.run(now_ms, commands)
    }

    /// Loads `config` for the node core: on a blocking thread once the
    /// daemon runs, else here (then the node core's answer is queued).
    fn load(&mut self, now_ms: u64, generation: u64, config: String) {
        use crate::node::NodeConfig;
        match &self.loader {
            Some(done) => {
                let done = done.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = done.send(Box::new((generation, config.load())));
                });
            }
            None => {
                let wall = super::driver::wall_now();
                let loaded = config.load();
                let commands = self.node.on_loaded(now_ms, wall, generation, loaded);
                commands.into_iter().for_each(|c| self.enqueue(c));
            }
        }
    }

    /// How long the write in progress has taken so far.
    pub fn writing_for(&self) -> Option<Duration> {
        self.writing.map(|(_, since)| since.elapsed())
    }

    /// Whether everything this node wrote or sent has left it: no write in
    /// progress, nothing waiting for one (replication, acknowledgements
    /// and results go out only after the write before them), nothing a
    /// quorum does not hold yet. A node leaves only then: its leave
    /// datagrams do not wait for the writer, so leaving earlier let them
    /// overtake the status that shows it stopped, and the survivor counted
    /// it lost (fenced it, or waited for an action timeout).
    pub fn quiescent(&self) -> bool {
        self.backlog.is_empty()
            && self.writing.is_none()
            && self.node.held() == 0
            && !self.node.uncommitted()
    }

    /// Commands waiting for a write (for status and tests).
    pub fn waiting(&self) -> usize {
        self.backlog.len()
    }

    /// Carries out the node's commands in order. A Persist is durable
    /// before any Send after it (the store acknowledges only what is on
    /// disk); when it fails, nothing after it is sent and the store stops.
    fn run(&mut self, now_ms: u64, commands: Vec<node::Command<String>>) -> Vec<StoreEffect> {
        if self.failed {
            // The node answers every input with `Fatal` once stopped.
            return commands.into_iter().map(effect).collect();
        }
        for command in commands {
            match command {
                // Not output: it need not wait for a write before it.
                node::Command::Load { generation, config } => {
                    self.load(now_ms, generation, config);
                }
                other => self.enqueue(other),
            }
        }
        self.process(now_ms)
    }

    fn enqueue(&mut self, command: node::Command<String>) {
        self.backlog.push_back(match command {
            node::Command::Persist(version) => {
                self.persist_seq += 1;
                Pending::Persist {
                    seq: self.persist_seq,
                    version,
                    written: false,
                }
            }
            other => Pending::Command(Box::new(other)),
        });
    }

    /// Carries out the backlog up to the first Persist not durable yet
    /// (starting its write if none is in progress).
    fn process(&mut self, now_ms: u64) -> Vec<StoreEffect> {
        let mut effects = Vec::new();
        while !self.failed {
            match self.backlog.front() {
                None => break,
                Some(Pending::Persist { seq, .. }) if *seq <= self.durable_seq => {
                    if let Some(Pending::Persist { version, .. }) = self.backlog.pop_front() {
                        let wall = super::driver::wall_now();
                        let commands = self.node.handle(now_ms, wall, Event::Persisted(version));
                        commands.into_iter().for_each(|c| self.enqueue(c));
                    }
                }
                Some(Pending::Persist { .. }) => {
                    if self.writing.is_none() {
                        self.write_newest(now_ms, &mut effects);
                    }
                    if self.writing.is_some() {
                        break;
                    }
                }
                Some(Pending::Command(_)) => {
                    if let Some(Pending::Command(command)) = self.backlog.pop_front() {
                        match *command {
                            node::Command::Load { generation, config } => {
                                self.load(now_ms, generation, config);
                            }
                            command => effects.push(effect(command)),
                        }
                    }
                }
            }
        }
        effects
    }

    /// Writes the document as it is now for the newest Persist waiting:
    /// on the writer thread, or here. One copy of the document per write
    /// (the node core holds the newest; every Persist before it is a
    /// snapshot it covers), not one per Persist.
    fn write_newest(&mut self, now_ms: u64, effects: &mut Vec<StoreEffect>) {
        let newest = self.backlog.iter_mut().rev().find_map(|p| match p {
            Pending::Persist { seq, written, .. } if !*written => {
                *written = true;
                Some(*seq)
            }
            _ => None,
        });
        let Some(seq) = newest else {
            return;
        };
        let doc = self.node.doc().clone();
        match &self.writer {
            Some(writer) => {
                if writer.submit(seq, doc) {
                    self.writing = Some((seq, Instant::now()));
                } else {
                    let why = "the document writer thread is gone".to_string();
                    effects.extend(self.fail(why));
                }
            }
            None => {
                let result = persist::save_counted(&self.path, &doc)
                    .map(|bytes| super::writer::WriteStats {
                        bytes,
                        took: Duration::ZERO,
                    })
                    .map_err(|e| super::writer::explain(&self.path, &e));
                let written = super::writer::Written { seq, result };
                effects.extend(self.finish_write(written));
                let _ = now_ms;
            }
        }
    }

    /// A write is done (the writer thread's report, through the loop).
    pub fn on_written(&mut self, now_ms: u64, written: super::writer::Written) -> Vec<StoreEffect> {
        let mut effects = self.finish_write(written);
        effects.extend(self.process(now_ms));
        effects
    }

    fn finish_write(&mut self, written: super::writer::Written) -> Vec<StoreEffect> {
        self.writing = None;
        match written.result {
            Ok(stats) => {
                self.durable_seq = self.durable_seq.max(written.seq);
                if stats.took < super::writer::SLOW_WRITE {
                    return Vec::new();
                }
                if self.slow_write.is_none_or(|(took, _)| stats.took >= took) {
                    self.slow_write = Some((stats.took, std::time::SystemTime::now()));
                }
                vec![StoreEffect::Log(format!(
                    "writing the cluster's document ({} bytes) to {} took {:?}: the disk is slow; replies, acknowledgements and actions wait for it, heartbeats do not",
                    stats.bytes,
                    self.path.display(),
                    stats.took
                ))]
            }
            Err(e) => self.fail(e),
        }
    }

    /// The document could not be made durable: nothing waiting is sent,
    /// and the store stops.
    fn fail(&mut self, e: String) -> Vec<StoreEffect> {
        let why = format!(
            "{e}; this node can no longer keep the cluster's document durable, so its store stops (nothing queued after the write is sent) and the daemon exits"
        );
        self.failed = true;
        self.backlog.clear();
        self.node
            .persist_failed(why)
            .into_iter()
            .map(effect)
            .collect()
    }
}

/// A command of the node as the daemon's effect (the store's messages in
/// their wire form).
fn effect(command: node::Command<String>) -> StoreEffect {
    match command {
        node::Command::Send { to, message } => StoreEffect::Send {
            to,
            message: match message {
                Message::Store(msg) => ClusterMessage::Store(StoreMessage::from_store(msg)),
                Message::StatusPatch(patch) => ClusterMessage::StatusPatch(patch),
                Message::ActionRequest(request) => ClusterMessage::ActionRequest(request),
                Message::CancelRecurring {
                    instance,
                    interval_ms,
                } => ClusterMessage::CancelRecurring {
                    instance,
                    interval_ms,
                },
                Message::ReportRequest => ClusterMessage::ReportRequest,
            },
        },
        node::Command::Reply { request, result } => StoreEffect::Reply { request, result },
        node::Command::Controller(c) => StoreEffect::Controller(c),
        node::Command::ConfigChanged => StoreEffect::ConfigChanged,
        node::Command::Log(line) => StoreEffect::Log(line),
        node::Command::Fatal(why) => StoreEffect::Fatal(why),
        // Carried out by `run`.
        node::Command::Persist(_) | node::Command::Load { .. } => {
            StoreEffect::Log("internal: a Persist or Load escaped".into())
        }
    }
}

/// The state directory holds the configuration, inline fence passwords
/// included: 0700, and the files holding the configuration 0600 (fixed
/// here when found looser, as `config check` refuses a readable file with
/// passwords). Returns a note for the log of what was fixed.
fn secure_state_dir(state_dir: &Path, document: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut fixed = Vec::new();
    let mut tighten = |path: &Path, mode: u32| {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
            return;
        }
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            Ok(()) => fixed.push(format!("{} to {mode:o}", path.display())),
            Err(e) => fixed.push(format!("NOT {} ({e})", path.display())),
        }
    };
    tighten(state_dir, 0o700);
    for suffix in ["", ".tmp", ".corrupt"] {
        let mut name = document.as_os_str().to_os_string();
        name.push(suffix);
        tighten(Path::new(&name), 0o600);
    }
    (!fixed.is_empty()).then(|| {
        format!(
            "the state directory holds the configuration (fence passwords too): tightened {}",
            fixed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration of `nodes` nodes that loads, told apart by `tag`;
    /// with fencing by a `fence_dummy` device, or fencing disabled.
    fn cfg_with(tag: &str, nodes: u16, fencing: bool) -> String {
        let mut text = format!("# {tag}\n[cluster]\nname = \"t\"\n");
        for i in 1..=nodes {
            text.push_str(&format!(
                "[[node]]\nname = \"node{i}\"\nid = {i}\nlinks = [\"198.18.0.{i}\"]\n"
            ));
        }
        text.push_str(&format!("[quorum]\ntwo_node = {}\n", nodes == 2));
        if fencing {
            text.push_str("[fencing]\nenabled = true\n[[fencing.device]]\nid = \"d\"\ntype = \"agent\"\nagent = \"fence_dummy\"\n");
            for i in 1..=nodes {
                text.push_str(&format!(
                    "[[fencing.level]]\ntarget = \"node{i}\"\nindex = 1\ndevices = [\"d\"]\n"
                ));
            }
        } else {
            text.push_str("[fencing]\nenabled = false\n");
        }
        text
    }

    fn cfg(tag: &str) -> String {
        cfg_with(tag, 2, false)
    }

    fn open_as(dir: &Path, id: u16, nodes: u16, text: &str) -> (ClusterStore, Option<String>) {
        let settings = NodeSettings {
            own: id,
            two_node: nodes == 2,
            controller: controller::ControllerSettings {
                own: format!("node{id}"),
                nodes: (1..=nodes)
                    .map(|i| (format!("node{i}"), u32::from(i)))
                    .collect(),
                result_grace_ms: 5_000,
                fence_retry_ms: 1_000,
                fence_retry_max_ms: 30_000,
                require_fencing_ready: false,
            },
        };
        ClusterStore::open(dir, settings, text).unwrap()
    }

    type Queue = Vec<(NodeId, NodeId, ClusterMessage)>;
    type Take<'a> = dyn FnMut(NodeId, Vec<StoreEffect>, &mut Queue) + 'a;

    /// A status of `resources` probed Dummies on two nodes, each started
    /// on one of them: about 200 bytes a resource as it travels.
    fn grown_status(resources: usize) -> ClusterStatus {
        use crate::model::{NodeState, OpRecord, ResourceHistory};
        let mut status = ClusterStatus::default();
        for (k, name) in ["node1", "node2"].into_iter().enumerate() {
            let mut node = NodeState {
                uname: name.into(),
                in_ccm: Some(true),
                ..NodeState::default()
            };
            for i in 0..resources {
                let op = |operation: &str, rc| OpRecord {
                    id: format!("d{i}_{operation}_0"),
                    operation: operation.into(),
                    interval_ms: 0,
                    call_id: 1_796_000_000_000 + i as i64,
                    rc_code: rc,
                    op_status: 0,
                    target_rc: None,
                    last_rc_change: Some(1_796_000_000),
                    last_run: Some(1_796_000_000),
                    exec_time_ms: Some(3),
                    queue_time_ms: None,
                    on_node: Some(name.into()),
                    migrate_source: None,
                    migrate_target: None,
                    digest: None,
                    exit_reason: None,
                };
                let mut ops = vec![op("monitor", 7)];
                if i % 2 == k {
                    ops.push(op("start", 0));
                }
                node.resources.push(ResourceHistory {
                    id: format!("d{i}"),
                    class: None,
                    provider: None,
                    agent: None,
                    container: None,
                    ops,
                });
            }
            status.nodes.insert(name.into(), node);
        }
        status
    }

    /// A configuration change whose document, with the status as it is,
    /// would not leave the status room to grow in one channel message is
    /// refused where it arrives, saying the limit and what to do, and
    /// nothing of it is applied (issue 15: a document over the message
    /// limit was applied and persisted by the DC but never replicated).
    #[test]
    fn a_change_the_document_could_not_carry_is_refused_whole() {
        let dir = std::env::temp_dir().join(format!("pl-store-big-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let doc: ClusterDocument = Document::new(cfg("old"), grown_status(12_000));
        persist::save(&dir.join(DOCUMENT_FILE), &doc).unwrap();
        let (mut store, _) = open_as(&dir, 1, 2, &cfg("old"));
        let before = store.doc().clone();
        // Under the configuration's own 1 MiB, over the document's 3 MiB
        // with this status.
        let big = format!("{}# {}\n", cfg("new"), "x".repeat(900_000));
        assert!(big.len() < crate::config::MAX_CONFIG_BYTES);
        let effects = store.request_config(0, 7, before.version, big);
        let [
            StoreEffect::Reply {
                request: 7,
                result: Err(why),
            },
        ] = effects.as_slice()
        else {
            panic!("{effects:?}");
        };
        let max = protocol::max_document_bytes().to_string();
        assert!(
            why.contains(&format!("over {max} bytes")) && why.contains("Shrink the configuration"),
            "{why}"
        );
        assert_eq!(store.doc(), &before, "nothing of the change was applied");
        let on_disk: ClusterDocument = persist::load(&dir.join(DOCUMENT_FILE)).unwrap().unwrap();
        assert_eq!(on_disk.config, cfg("old"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn two_stores_replicate_a_config_change_through_their_messages() {
        let dir = std::env::temp_dir().join(format!("pl-store-{}", std::process::id()));
        let (d1, d2) = (dir.join("1"), dir.join("2"));
        std::fs::create_dir_all(&d1).unwrap();
        std::fs::create_dir_all(&d2).unwrap();
        let (mut a, _) = open_as(&d1, 1, 2, &cfg("old"));
        // node 2 was started from another file: the DC's document wins.
        let (mut b, _) = open_as(&d2, 2, 2, &cfg("edited"));
        let mut queue: Queue = Vec::new();
        let mut replies = Vec::new();
        let mut logs = Vec::new();
        let mut take = |from: NodeId, effects: Vec<StoreEffect>, queue: &mut Vec<_>| {
            for e in effects {
                match e {
                    StoreEffect::Send { to, message } => queue.push((from, to, message)),
                    StoreEffect::Reply { request, result } => replies.push((request, result)),
                    StoreEffect::Log(l) | StoreEffect::Fatal(l) => logs.push(l),
                    StoreEffect::Controller(_) | StoreEffect::ConfigChanged => {}
                }
            }
        };
        let deliver =
            |a: &mut ClusterStore, b: &mut ClusterStore, take: &mut Take<'_>, queue: &mut Queue| {
                // In order, as the channel delivers.
                while !queue.is_empty() {
                    let (from, to, m) = queue.remove(0);
                    // The controllers' requests (reports) are not the store's.
                    let ClusterMessage::Store(m) = m else {
                        continue;
                    };
                    let store = if to == 1 { &mut *a } else { &mut *b };
                    let effects = store.on_message(0, from, m);
                    take(to, effects, queue);
                }
            };
        take(1, a.on_view(0, 5, &[1, 2], true), &mut queue);
        take(2, b.on_view(0, 5, &[1, 2], true), &mut queue);
        deliver(&mut a, &mut b, &mut take, &mut queue);
        assert_eq!(b.doc().config, cfg("old"));
        let based_on = a.doc().version;
        take(1, a.request_config(0, 42, based_on, cfg("new")), &mut queue);
        deliver(&mut a, &mut b, &mut take, &mut queue);
        // A second change based on the old version is a conflict.
        take(
            1,
            a.request_config(0, 43, based_on, cfg("lost")),
            &mut queue,
        );
        assert_eq!(replies.len(), 2, "{replies:?}");
        assert_eq!(replies[0].0, 42);
        assert!(replies[0].1.is_ok());
        assert!(
            replies[1]
                .1
                .as_ref()
                .is_err_and(|e| e.contains("changed since you read it"))
        );
        assert_eq!(b.doc().config, cfg("new"));
        assert!(logs.is_empty(), "{logs:?}");
        // Persisted: a reopened store starts from the new config and notes the file differs.
        let (reopened, note) = open_as(&d2, 2, 2, &cfg("old"));
        assert_eq!(reopened.doc().config, cfg("new"));
        assert!(note.is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Three stores talking through real channels over a lossy, duplicating,
    /// reordering network: a config change answered Ok is on disk on a
    /// majority at that moment, and reaches every node in the end.
    #[test]
    fn an_acknowledged_change_over_lossy_channels_is_durable_on_a_majority() {
        use crate::sim::net::{NetFaults, Network};
        use crate::sim::rng::SimRng;
        use crate::wire::{Channel, ChannelLimits};
        use std::time::Duration;

        for seed in 0..10u64 {
            let dir = std::env::temp_dir().join(format!("pl-lossy-{}-{seed}", std::process::id()));
            let mut stores = Vec::new();
            let mut channels = Vec::new();
            for id in 1..=3u16 {
                let d = dir.join(id.to_string());
                std::fs::create_dir_all(&d).unwrap();
                stores.push(open_as(&d, id, 3, &cfg_with("v0", 3, false)).0);
                channels.push(Channel::new(1000 + u64::from(id), ChannelLimits::default()));
            }
            let net = Network::new(NetFaults {
                loss: 0.3,
                duplicate: 0.1,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(40),
            });
            let mut rng = SimRng::new(seed);
            // (deliver at ms, from, to, frame)
            let mut wire: Vec<(u64, u16, u16, crate::wire::Frame)> = Vec::new();
            let mut now = 0u64;
            let mut reply = None;
            let post = |now: u64,
                        from: u16,
                        frames: Vec<(u16, crate::wire::Frame)>,
                        wire: &mut Vec<_>,
                        rng: &mut SimRng| {
                for (to, f) in frames {
                    for delay in net.route(rng, from, to, 0) {
                        wire.push((now + delay.as_millis() as u64, from, to, f.clone()));
                    }
                }
            };
            let effects_of =
                |from: u16,
                 effects: Vec<StoreEffect>,
                 channels: &mut Vec<Channel>,
                 wire: &mut Vec<_>,
                 rng: &mut SimRng,
                 now: u64,
                 reply: &mut Option<Result<Version, String>>| {
                    for e in effects {
                        match e {
                            StoreEffect::Send { to, message } => {
                                let frames = channels[usize::from(from - 1)]
                                    .send(now, to, message.encode())
                                    .unwrap();
                                post(now, from, frames, wire, rng);
                            }
                            StoreEffect::Reply { result, .. } => *reply = Some(result),
                            _ => {}
                        }
                    }
                };
            for id in 1..=3u16 {
                let e = stores[usize::from(id - 1)].on_view(0, 1, &[1, 2, 3], true);
                effects_of(id, e, &mut channels, &mut wire, &mut rng, now, &mut reply);
            }
            let mut requested = false;
            let mut durable_at_reply = None;
            while now < 60_000 {
                now += 10;
                // A DC takes changes once it holds a quorum of the members'
                // documents.
                if !requested && stores[0].ready() {
                    requested = true;
                    let based_on = stores[0].doc().version;
                    let e = stores[0].request_config(now, 1, based_on, cfg_with("v1", 3, false));
                    effects_of(1, e, &mut channels, &mut wire, &mut rng, now, &mut reply);
                }
                wire.sort_by_key(|w| w.0);
                let due: Vec<_> = wire.iter().take_while(|w| w.0 <= now).cloned().collect();
                wire.drain(..due.len());
                for (_, from, to, frame) in due {
                    let ti = usize::from(to - 1);
                    let r = channels[ti].receive(now, from, 1000 + u64::from(from), frame);
                    post(now, to, r.send, &mut wire, &mut rng);
                    for payload in r.delivered {
                        let m = match ClusterMessage::decode(&payload) {
                            Some(ClusterMessage::Store(m)) => m,
                            // The controllers' requests are not the store's.
                            Some(_) => continue,
                            None => panic!("undecodable"),
                        };
                        let e = stores[ti].on_message(now, from, m);
                        effects_of(to, e, &mut channels, &mut wire, &mut rng, now, &mut reply);
                    }
                }
                if reply.is_some() && durable_at_reply.is_none() {
                    let on_disk = (1..=3)
                        .filter(|id| {
                            let path = dir.join(id.to_string()).join(DOCUMENT_FILE);
                            persist::load::<ClusterDocument>(&path)
                                .ok()
                                .flatten()
                                .is_some_and(|d| d.config == cfg_with("v1", 3, false))
                        })
                        .count();
                    durable_at_reply = Some(on_disk);
                }
                for id in 1..=3u16 {
                    let frames = channels[usize::from(id - 1)].tick(now);
                    post(now, id, frames, &mut wire, &mut rng);
                }
                if reply.is_some()
                    && stores
                        .iter()
                        .all(|s| s.doc().config == cfg_with("v1", 3, false))
                {
                    break;
                }
            }
            assert!(matches!(reply, Some(Ok(_))), "seed {seed}: {reply:?}");
            assert!(
                durable_at_reply.unwrap() >= 2,
                "seed {seed}: acked before a majority had it"
            );
            assert!(
                stores
                    .iter()
                    .all(|s| s.doc().config == cfg_with("v1", 3, false)),
                "seed {seed}: not everywhere"
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("1")).unwrap();
        std::fs::create_dir_all(dir.join("2")).unwrap();
        dir
    }

    /// Two synced stores of a two_node cluster (node1 the DC), as the
    /// daemon configures them.
    fn synced_pair(dir: &Path, fencing: bool) -> (ClusterStore, ClusterStore) {
        let text = cfg_with("v0", 2, fencing);
        let (mut a, _) = open_as(&dir.join("1"), 1, 2, &text);
        let (mut b, _) = open_as(&dir.join("2"), 2, 2, &text);
        let mut queue = Vec::new();
        let push = |from: NodeId, effects: Vec<StoreEffect>, queue: &mut Queue| {
            for e in effects {
                if let StoreEffect::Send { to, message } = e {
                    queue.push((from, to, message));
                }
            }
        };
        push(1, a.on_view(0, 5, &[1, 2], true), &mut queue);
        push(2, b.on_view(0, 5, &[1, 2], true), &mut queue);
        while !queue.is_empty() {
            let (from, to, m) = queue.remove(0);
            // The controllers' requests (reports) are not the store's.
            let ClusterMessage::Store(m) = m else {
                continue;
            };
            let store = if to == 1 { &mut a } else { &mut b };
            let effects = store.on_message(0, from, m);
            push(to, effects, &mut queue);
        }
        assert!(a.ready(), "node1 is the ready DC");
        (a, b)
    }

    /// Delivers the queued messages through their bytes at `version`, as
    /// the daemon sends them (`Daemon::apply_effect`: `for_version`, then
    /// the channel), until none is left.
    fn deliver_as_bytes(stores: &mut [&mut ClusterStore], version: u8, mut queue: Queue) {
        while !queue.is_empty() {
            let (from, to, m) = queue.remove(0);
            let bytes = m.for_version(version).encode();
            let Some(ClusterMessage::Store(m)) = ClusterMessage::decode(&bytes) else {
                continue;
            };
            let store = &mut stores[usize::from(to - 1)];
            for e in store.on_message(0, from, m) {
                if let StoreEffect::Send { to: next, message } = e {
                    queue.push((to, next, message));
                }
            }
        }
    }

    /// Issue 19: the status's binary form is version 4's, which has no
    /// tickets, so a node synced whole from its peer lost a manual grant
    /// and, once DC, stopped the ticket's resources. A peer speaking 5
    /// gets the tickets with the document; one speaking 4 (release 0.1.0,
    /// which knows no tickets) gets the bytes it reads, without them.
    #[test]
    fn a_node_synced_whole_gets_the_tickets_when_the_view_speaks_version_5() {
        for (version, granted) in [(5u8, true), (4, false)] {
            let dir = temp_dir(&format!("whole-tickets-{version}"));
            let (mut a, _) = synced_pair(&dir, false);
            let grant = StatusPatch::Ticket {
                ticket: "east".into(),
                change: controller::TicketChange::Grant { at: 7 },
            };
            let _ = a.record_status(0, grant);
            assert!(a.doc().status.ticket_usable("east"), "granted on node1");
            // node2 comes back with nothing on its disk: node1's document
            // wins, sent whole.
            let empty = dir.join("2-replaced");
            std::fs::create_dir_all(&empty).unwrap();
            let (mut b, _) = open_as(&empty, 2, 2, &cfg_with("v0", 2, false));
            let mut queue: Queue = Vec::new();
            for (id, store) in [(1, &mut a), (2, &mut b)] {
                for e in store.on_view(0, 6, &[1, 2], true) {
                    if let StoreEffect::Send { to, message } = e {
                        queue.push((id, to, message));
                    }
                }
            }
            deliver_as_bytes(&mut [&mut a, &mut b], version, queue);
            assert_eq!(b.doc().version, a.doc().version, "synced at {version}");
            assert_eq!(
                b.doc().status.ticket_usable("east"),
                granted,
                "version {version}: {:?}",
                b.doc().status.tickets
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    fn reply_of(effects: &[StoreEffect]) -> Option<&Result<Version, String>> {
        effects.iter().find_map(|e| match e {
            StoreEffect::Reply { result, .. } => Some(result),
            _ => None,
        })
    }

    /// Issue 15: a failed persist was only logged while the Replicate
    /// queued after it still went out, so a peer could hold (and a client
    /// be told of) a change this node never made durable. Now nothing
    /// after the failed Persist is sent, and the store stops for good.
    #[test]
    fn a_failed_persist_sends_nothing_after_it_and_stops_the_store() {
        let dir = temp_dir("persist-fails");
        let (mut a, _b) = synced_pair(&dir, true);
        // The temp file persist writes first cannot be created.
        std::fs::create_dir_all(dir.join("1").join("cluster.json.tmp")).unwrap();
        let based_on = a.doc().version;
        let effects = a.request_config(0, 7, based_on, cfg("v1"));
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, StoreEffect::Send { .. })),
            "sent after a failed persist: {effects:?}"
        );
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, StoreEffect::Fatal(why) if why.contains("cluster.json"))),
            "{effects:?}"
        );
        assert!(matches!(
            a.on_view(0, 6, &[1], true)[..],
            [StoreEffect::Fatal(_)]
        ));
        let patch = StatusPatch::NodeLeftCleanly("node2".into());
        assert!(matches!(
            a.record_status(0, patch)[..],
            [StoreEffect::Fatal(_)]
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 15: a configuration over the channel's 4 MiB message limit was
    /// applied and persisted by the DC and never replicated (later changes
    /// failed with a wrong "not the DC"). The DC now refuses, with a clear
    /// error, a configuration whose document with the status as it is
    /// would leave less than a quarter of one message for the status to
    /// grow; a smaller one is still taken.
    #[test]
    fn a_configuration_whose_document_would_not_fit_one_channel_message_is_refused() {
        let dir = temp_dir("too-big");
        let (mut a, _b) = synced_pair(&dir, false);
        // The status has grown: 2.5 MB of attributes.
        for i in 0..25 {
            let _ = a.record_status(
                0,
                StatusPatch::Attribute {
                    node: "node1".into(),
                    name: format!("big{i}"),
                    value: Some("x".repeat(100_000)),
                },
            );
        }
        let big = format!("{}# {}\n", cfg("big"), "y".repeat(700_000));
        assert!(big.len() < crate::config::MAX_CONFIG_BYTES);
        let based_on = a.doc().version;
        let effects = a.request_config(0, 9, based_on, big);
        let refused = reply_of(&effects).expect("answered at once");
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("one channel message") && e.contains("status")),
            "{refused:?}"
        );
        assert_eq!(a.doc().config, cfg_with("v0", 2, false));
        // A small one fits: replicated (answered once the peer has it).
        let effects = a.request_config(0, 10, based_on, cfg("small"));
        assert!(reply_of(&effects).is_none(), "{effects:?}");
        assert!(effects.iter().any(|e| matches!(
            e,
            StoreEffect::Send {
                message: ClusterMessage::Store(StoreMessage::ReplicateWhole { .. }),
                ..
            }
        )));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 15: with fencing disabled both halves of a two-node split
    /// acknowledged a change, and the heal lost one. Both still take it
    /// (as Pacemaker's partitions do), and each says it is not guaranteed,
    /// until its peer is back (or confirmed gone).
    #[test]
    fn without_fencing_a_lone_two_node_member_says_its_changes_are_not_guaranteed() {
        let dir = temp_dir("nofence-split");
        let (mut a, mut b) = synced_pair(&dir, false);
        assert_eq!(a.unguaranteed(), None, "both members: guaranteed");
        let _ = a.on_view(0, 6, &[1], true);
        let _ = b.on_view(0, 6, &[2], true);
        for store in [&mut a, &mut b] {
            let based_on = store.doc().version;
            let effects = store.request_config(0, 8, based_on, cfg("half"));
            assert!(matches!(reply_of(&effects), Some(Ok(_))), "{effects:?}");
            let warning = store.unguaranteed().expect("said plainly");
            assert!(
                warning.contains("NOT guaranteed") && warning.contains("not in this partition"),
                "{warning}"
            );
        }
        // node2 left cleanly: node1 alone holds every change.
        let _ = a.record_status(0, StatusPatch::NodeLeftCleanly("node2".into()));
        assert_eq!(a.unguaranteed(), None);
        // With fencing, the split is settled by fencing instead.
        let (mut c, _d) = synced_pair(&temp_dir("fenced-split"), true);
        let _ = c.on_view(0, 6, &[1], true);
        assert_eq!(c.unguaranteed(), None);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(temp_dir("fenced-split"));
    }

    /// Issue 15: inline fence passwords ended up in a 0644 `cluster.json`
    /// in a 0755 directory. Opening the store tightens both, and what it
    /// writes is private.
    #[test]
    fn the_state_directory_and_the_document_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = temp_dir("private");
        let state = dir.join("1");
        let doc = state.join(DOCUMENT_FILE);
        persist::save(
            &doc,
            &Document::new("password = \"x\"".to_string(), ClusterStatus::default()),
        )
        .unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&doc, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (_store, note) = open_as(&state, 1, 2, "x");
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&doc), 0o600);
        assert!(note.is_some_and(|n| n.contains("tightened")));
        std::fs::remove_file(&doc).unwrap();
        let (mut a, _b) = synced_pair(&dir, true);
        let based_on = a.doc().version;
        let _ = a.request_config(0, 1, based_on, cfg("v1"));
        assert_eq!(mode(&doc), 0o600, "a new document is written private");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn attribute(value: &str) -> StatusPatch {
        StatusPatch::Attribute {
            node: "node1".into(),
            name: "a".into(),
            value: Some(value.into()),
        }
    }

    fn sends(effects: &[StoreEffect]) -> usize {
        effects
            .iter()
            .filter(|e| matches!(e, StoreEffect::Send { .. }))
            .count()
    }

    /// Issue 21 item 6: the document was written and fsynced on the event
    /// loop, so a disk that took a second held heartbeats a second. Now a
    /// write runs on the writer thread: the loop gets its effects back at
    /// once while the disk is stuck (the writer here blocks until the test
    /// lets it go), what follows a Persist waits for it, in order, and the
    /// patches that came meanwhile are written together.
    #[test]
    fn a_slow_disk_holds_what_follows_a_write_and_not_the_loop() {
        let dir = temp_dir("slow-disk");
        let (mut a, _b) = synced_pair(&dir, true);
        let (gate_tx, gate) = std::sync::mpsc::channel::<()>();
        let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = writes.clone();
        let path = dir.join("1").join(DOCUMENT_FILE);
        let slow: super::super::writer::SaveFn = Box::new(move |doc| {
            gate.recv().map_err(|e| e.to_string())?;
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            persist::save_counted(&path, doc).map_err(|e| e.to_string())
        });
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        a.start_writer_with(slow, done_tx).unwrap();
        // Three patches while the disk is stuck: nothing is sent, and the
        // calls return (the event loop would go on with heartbeats).
        for v in ["1", "2", "3"] {
            let effects = a.record_status(0, attribute(v));
            assert_eq!(sends(&effects), 0, "sent before durable: {effects:?}");
        }
        assert!(a.waiting() > 0);
        assert!(a.writing_for().is_some());
        // The first write lands: its patch goes out; the next write takes
        // the newest document (patches 2 and 3 at once).
        gate_tx.send(()).unwrap();
        let effects = a.on_written(0, done.blocking_recv().unwrap());
        assert_eq!(sends(&effects), 1, "patch 1 to node2: {effects:?}");
        assert!(a.writing_for().is_some(), "the second write started");
        gate_tx.send(()).unwrap();
        let effects = a.on_written(0, done.blocking_recv().unwrap());
        assert_eq!(sends(&effects), 2, "patches 2 and 3: {effects:?}");
        assert_eq!(a.waiting(), 0);
        assert_eq!(
            writes.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "coalesced"
        );
        let on_disk: ClusterDocument = persist::load(&dir.join("1").join(DOCUMENT_FILE))
            .unwrap()
            .unwrap();
        assert_eq!(on_disk.version, a.doc().version);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 21 item 6: a full state directory is said plainly (ENOSPC),
    /// nothing written after it is sent, and the store stops.
    #[test]
    fn a_full_state_directory_is_reported_and_nothing_after_it_is_sent() {
        let dir = temp_dir("full-disk");
        let (mut a, _b) = synced_pair(&dir, true);
        let path = dir.join("1").join(DOCUMENT_FILE);
        let full: super::super::writer::SaveFn = Box::new(move |_| {
            let source = std::io::Error::from(std::io::ErrorKind::StorageFull);
            let e = persist::PersistError::Write {
                path: path.clone(),
                source,
            };
            Err(super::super::writer::explain(&path, &e))
        });
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        a.start_writer_with(full, done_tx).unwrap();
        assert_eq!(sends(&a.record_status(0, attribute("1"))), 0);
        let effects = a.on_written(0, done.blocking_recv().unwrap());
        assert_eq!(sends(&effects), 0, "{effects:?}");
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, StoreEffect::Fatal(why) if why.contains("is full: ENOSPC"))),
            "{effects:?}"
        );
        assert!(matches!(
            a.record_status(0, attribute("2"))[..],
            [StoreEffect::Fatal(_)]
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 21 item 6: every status patch rewrote the whole document,
    /// configuration included. Now the configuration is written when it
    /// changes and a patch writes the status alone (`STATUS_FILE`); a
    /// store opened again holds the newest of both, and a status file of
    /// an older document file is ignored.
    #[test]
    fn a_status_patch_writes_the_status_alone_and_a_reopened_store_has_it() {
        let dir = temp_dir("status-alone");
        let (mut a, _b) = synced_pair(&dir, true);
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        a.start_writer(done_tx).unwrap();
        let state = dir.join("1");
        let mut write = |a: &mut ClusterStore, effects: Vec<StoreEffect>| {
            let mut effects = effects;
            while a.writing_for().is_some() {
                effects = a.on_written(0, done.blocking_recv().unwrap());
            }
            effects
        };
        // The first write of a writer is whole; the next ones status only.
        for v in ["1", "2"] {
            let effects = a.record_status(0, attribute(v));
            write(&mut a, effects);
        }
        let document: ClusterDocument = persist::load(&state.join(DOCUMENT_FILE)).unwrap().unwrap();
        let status: StatusFile = persist::load(&state.join(STATUS_FILE)).unwrap().unwrap();
        assert!(document.version < a.doc().version, "not rewritten");
        assert_eq!(
            (status.base, status.version),
            (document.version, a.doc().version)
        );
        let text = cfg_with("v0", 2, true);
        let (reopened, _) = open_as(&state, 1, 2, &text);
        assert_eq!(reopened.doc().version, a.doc().version);
        assert_eq!(reopened.doc().status, a.doc().status);
        // A configuration change writes the whole document again; the
        // status file before it no longer applies.
        let based_on = a.doc().version;
        let effects = a.request_config(0, 9, based_on, cfg_with("v1", 2, true));
        write(&mut a, effects);
        let document: ClusterDocument = persist::load(&state.join(DOCUMENT_FILE)).unwrap().unwrap();
        assert_eq!(document.version, a.doc().version);
        let (reopened, _) = open_as(&state, 1, 2, &text);
        assert_eq!(reopened.doc().version, a.doc().version);
        assert_eq!(reopened.doc().config, a.doc().config);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
