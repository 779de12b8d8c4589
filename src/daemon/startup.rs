//! Startup: from the checked cluster file (read once, by the config
//! module) to a `Daemon` with its links bound, its document loaded, its
//! watchdog armed and its event sources running.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::UdpSocket;

use super::cluster::ClusterStore;
use super::event_loop::{EventSenders, Events};
use super::executor_service::ExecutorService;
use super::{
    Args, Daemon, Settings, StartFile, WatchdogState, api_server, api_socket, driver,
    find_local_node, identity, log, notify,
};
use crate::config::runtime::{ClusterNode as NodeSettings, FencingMode};
use crate::controller::Input;
use crate::membership::{Membership, MembershipConfig};
use crate::wire::{Channel, ChannelLimits, ClusterKey, Decoder, Encoder, KeyRing};
use paceline_fencing::watchdog::{Feeder, Watchdog};

/// Everything `run` needs: the daemon and the sources of its events.
pub(super) async fn start(args: &Args, file: StartFile) -> anyhow::Result<(Daemon, Events)> {
    let StartFile {
        text: config_text,
        cluster,
        settings,
    } = file;
    let own = own_node(args, &settings)?;
    let key = cluster_key(&settings)?;
    let mut sockets = Vec::new();
    for addr in &own.links {
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("cannot bind link {addr} of node `{}`", own.name))?;
        sockets.push(Arc::new(socket));
    }
    let socket_path = api_socket(args, &settings);
    let listener = api_server::bind_api(&socket_path)?;
    let mut store = open_store(&settings, &own, &config_text)?;
    // The file was read and checked once; the document (most often the
    // file's text) is not parsed again for what it holds.
    store.preload(config_text, cluster);
    // Durable before any packet goes out (the state directory exists now).
    let incarnation = identity::take_incarnation(&settings.state_dir)?;
    let (senders, events) = Events::new(settings.heartbeat, socket_path)?;
    // Writes and fsyncs of the document leave the event loop (issue 21).
    store
        .start_writer(senders.written.clone())
        .context("cannot start the document writer thread")?;
    // So are the parses of new configurations.
    store.start_loader(senders.loaded.clone());
    let witness_tx = senders.witness.clone();
    let site_tx = senders.site.clone();
    let mut daemon = new_daemon(
        settings,
        own,
        key,
        sockets.clone(),
        store,
        senders,
        incarnation,
    );
    if let Some(witness) = daemon.settings.quorum.witness.clone() {
        daemon.witness = Some(super::witness::spawn(
            witness,
            daemon.settings.cluster_name.clone(),
            daemon.own.name.clone(),
            daemon.settings.token_timeout,
            daemon.start,
            witness_tx,
        ));
    }
    if let Some(site) = daemon.settings.site.clone() {
        daemon.site = Some(super::site_tickets::spawn(site, daemon.start, site_tx));
    }
    daemon.config_path = args.config.clone();
    if let Some(http) = daemon.settings.http.clone() {
        let (publisher, snapshots) = super::http::snapshot::Publisher::new();
        daemon.http_thread = Some(super::http::start(&http, snapshots)?);
        daemon.http = Some(publisher);
    }
    daemon.arm_watchdog()?;
    daemon.announce(&events.socket_path);
    events.receive_packets(sockets);
    events.serve_api(listener);
    Ok((daemon, events))
}

/// The `[[node]]` this daemon runs as: `--node`, or the one whose link
/// address is on this machine.
fn own_node(args: &Args, settings: &Settings) -> anyhow::Result<NodeSettings> {
    let name = match args.node.clone() {
        Some(n) => n,
        None => find_local_node(settings)
            .context("no [[node]] has a link address on this machine; pass --node NAME")?,
    };
    settings
        .nodes
        .iter()
        .find(|n| n.name == name)
        .cloned()
        .with_context(|| format!("node `{name}` is not in {}", args.config.display()))
}

fn cluster_key(settings: &Settings) -> anyhow::Result<ClusterKey> {
    super::keys::read_key(&settings.authkey, &settings.cluster_name)
}

/// The replicated document as persisted in the state directory (or the
/// file's text at version 0).
fn open_store(
    settings: &Settings,
    own: &NodeSettings,
    config_text: &str,
) -> anyhow::Result<ClusterStore> {
    std::fs::create_dir_all(&settings.state_dir)
        .with_context(|| format!("cannot create {}", settings.state_dir.display()))?;
    let node = crate::node::NodeSettings::from_runtime(settings, own);
    let (store, note) = ClusterStore::open(&settings.state_dir, node, config_text)?;
    if let Some(note) = note {
        log(&note);
    }
    Ok(store)
}

fn new_daemon(
    settings: Settings,
    own: NodeSettings,
    key: ClusterKey,
    sockets: Vec<Arc<UdpSocket>>,
    store: ClusterStore,
    senders: EventSenders,
    incarnation: u64,
) -> Daemon {
    let membership = MembershipConfig {
        own_id: own.id,
        incarnation,
        nodes: settings.nodes.iter().map(|n| n.id).collect(),
        links: own.links.len() as u8,
        heartbeat: settings.heartbeat,
        token_timeout: settings.token_timeout,
        last_man_standing_window: Duration::from_secs(10),
        quorum: crate::node::settings::quorum_config(&settings),
    };
    let rsctmp = std::env::var_os("HA_RSCTMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/resource-agents"));
    let executor = ExecutorService::new(&own.name, &settings.state_dir, &rsctmp, senders.exec);
    let attributes_tx = senders.attributes.clone();
    if let Some(reader) = executor.attribute_reader()
        && let Err(e) = super::attributes::spawn_poller(reader, senders.attributes)
    {
        super::log(&format!(
            "agents' attributes set outside an action are not forwarded: {e}"
        ));
    }
    Daemon {
        effects: VecDeque::new(),
        fencing_ready: None,
        fencing_blockers: Vec::new(),
        executor,
        fencing: None,
        fence_tx: senders.fence,
        readiness_tx: senders.readiness,
        planned_tx: senders.planned,
        readiness_generation: 0,
        readiness_poller: Default::default(),
        dispatch_waiters: HashMap::new(),
        fence_waiters: HashMap::new(),
        next_dispatch: driver::DISPATCH_ID_BASE,
        attributes: BTreeMap::new(),
        attributes_applied: Default::default(),
        attributes_tx,
        status_members: BTreeMap::new(),
        ticks: 0,
        http: None,
        http_thread: None,
        http_failed: Default::default(),
        counters: Default::default(),
        failovers: Vec::new(),
        alerts: None,
        alert_members: Default::default(),
        fence_alerts: super::alerts::FenceAlerts::new(super::driver::wall_now()),
        last_change: None,
        fencing_now: Default::default(),
        loads_by: HashMap::new(),
        channel: Channel::new(incarnation, ChannelLimits::default()),
        store,
        replies: HashMap::new(),
        next_request: 1,
        machine: Membership::new(membership, Duration::ZERO),
        encoder: Encoder::new(key.clone(), own.id, incarnation),
        decoder: Decoder::new(key.clone(), own.id),
        keyring: KeyRing::new(key),
        peer_log: identity::RateLimitedLog::new(super::PEER_LOG_EVERY),
        sockets,
        start: Instant::now(),
        incompatible: BTreeMap::new(),
        pauses: 0,
        watchdog: None,
        witness: None,
        site: None,
        own,
        settings,
        config_path: PathBuf::new(),
        fatal: None,
    }
}

impl Daemon {
    /// Arms the watchdog of a level that targets this node. Arming happens
    /// before anything else can run: a node that cannot arm its watchdog
    /// must not join as if it could self-fence.
    fn arm_watchdog(&mut self) -> anyhow::Result<()> {
        let Some(wd) = self
            .settings
            .watchdogs
            .iter()
            .find(|w| w.target == self.own.name)
        else {
            return Ok(());
        };
        let armed = Watchdog::arm(&wd.device, wd.timeout)
            .with_context(|| format!("node `{}` self-fences by watchdog", self.own.name))?;
        log(&format!(
            "watchdog {} armed with a {:?} timeout",
            wd.device.display(),
            armed.timeout()
        ));
        let marker = self.settings.state_dir.join(super::status::WATCHDOG_MARKER);
        let ever_quorate = super::status::quorate_earlier_in_this_boot(&marker);
        if ever_quorate {
            log(
                "this daemon had quorum earlier in this boot and did not leave cleanly: without quorum again, its watchdog resets the node",
            );
        }
        self.watchdog = Some(WatchdogState {
            feeder: Feeder::new(armed),
            device: wd.device.clone(),
            last_tick: Instant::now(),
            ever_quorate,
            marker,
        });
        Ok(())
    }

    /// Logs what runs, hands the document to the controller and tells
    /// systemd the node is up.
    fn announce(&mut self, socket_path: &Path) {
        if self.settings.fencing != FencingMode::Enabled {
            log(&format!(
                "WARNING: {}",
                paceline_fencing::readiness::FENCING_DISABLED_WARNING
            ));
        }
        log(&format!(
            "node {} (id {}) of cluster {} up on {:?}, API at {}",
            self.own.name,
            self.own.id,
            self.settings.cluster_name,
            self.own.links,
            socket_path.display()
        ));
        // The document's configuration reaches the executor and the
        // controller before the first view.
        self.controller_input(Input::Tick);
        // A `shutdown` attribute left by this node's last clean stop is
        // over (kept by the node core until there is a DC).
        let cleared = crate::node::shutdown::cleared(&self.own.name);
        let effects = self.store.record_status(self.now_ms(), cleared);
        self.effects.extend(effects);
        notify::ready(&format!(
            "node {} of cluster {}",
            self.own.name, self.settings.cluster_name
        ));
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = r#"
[cluster]
name = "t"
authkey = "{dir}/authkey"
state_dir = "{dir}/state"
socket = "{dir}/api.sock"
[membership]
heartbeat = "100ms"
token_timeout = "1s"
[[node]]
name = "node1"
id = 1
links = ["127.0.0.1:0"]
[[node]]
name = "node2"
id = 2
links = ["127.0.0.2:0"]
[fencing]
enabled = false
[[primitive]]
id = "dummy"
agent = "ocf:pacemaker:Dummy"
"#;

    /// Issue 16: the daemon parsed its cluster file about a dozen times
    /// before its first heartbeat, with a lenient reader of its own beside
    /// the config module. Now it is read once, up to the running daemon
    /// (store opened, document handed to the controller, executor and
    /// fencing).
    #[tokio::test(flavor = "current_thread")]
    async fn the_cluster_file_is_parsed_once_at_start() {
        let dir = std::env::temp_dir().join(format!("paceline-start-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("authkey"), [7u8; 64]).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("authkey"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let config = dir.join("cluster.toml");
        let text = CLUSTER.replace("{dir}", &dir.display().to_string());
        std::fs::write(&config, &text).unwrap();
        let args = Args {
            config: config.clone(),
            node: Some("node1".into()),
            socket: None,
            log_level: super::super::logging::Priority::Info,
        };
        let before = crate::config::documents_parsed();
        let file = super::super::load_cluster_file(&config).unwrap();
        let started = start(&args, file).await;
        let parsed = crate::config::documents_parsed() - before;
        let _ = std::fs::remove_dir_all(&dir);
        let (daemon, _events) = started.unwrap();
        assert!(daemon.parsed_config().is_some());
        assert_eq!(parsed, 1, "the cluster file was parsed {parsed} times");
    }
}
