//! `pacelined`: the tokio runtime that drives the membership machine with real
//! UDP links, a real clock and the local API socket.

pub mod settings;

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UdpSocket, UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::api::{self, ClusterStatusView, IncompatibleNode, NodeView, Request, Response};
use crate::membership::{Membership, MembershipConfig, Notice, Output, PeerState, Unblock};
use crate::wire::{ClusterKey, Decoder, DropReason, Encoder, NodeId};
use paceline_fencing::watchdog::{FeedOutcome, Feeder, Watchdog};
use paceline_fencing::watchdog_policy::NodeHealth;
use settings::Settings;

#[derive(Debug, Parser)]
#[command(name = "pacelined", version, about = "paceline cluster node daemon")]
struct Args {
    /// Cluster configuration file.
    #[arg(long, default_value = "/etc/paceline/cluster.toml")]
    config: PathBuf,
    /// Which `[[node]]` this is; by default the node owning a local address.
    #[arg(long)]
    node: Option<String>,
    /// Local API socket (overrides `[cluster] socket`).
    #[arg(long)]
    socket: Option<PathBuf>,
}

/// Entry point of `pacelined`.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let settings = match Settings::load(&args.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pacelined: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pacelined: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pacelined: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The node whose first link address can be bound here.
fn find_local_node(settings: &Settings) -> Option<String> {
    settings
        .nodes
        .iter()
        .find(|n| {
            n.links.iter().any(|a| {
                StdUdpSocket::bind(SocketAddr::new(a.ip(), 0)).is_ok() && !a.ip().is_unspecified()
            })
        })
        .map(|n| n.name.clone())
}

struct Daemon {
    settings: Settings,
    own: settings::NodeSettings,
    machine: Membership,
    encoder: Encoder,
    decoder: Decoder,
    sockets: Vec<Arc<UdpSocket>>,
    start: Instant,
    incompatible: BTreeMap<NodeId, u8>,
    pauses: u64,
    /// This node's self-fencing watchdog, fed while the policy allows.
    watchdog: Option<WatchdogState>,
}

struct WatchdogState {
    feeder: Feeder,
    device: PathBuf,
    last_tick: Instant,
}

async fn run(args: Args, settings: Settings) -> anyhow::Result<()> {
    let name = match args.node.clone() {
        Some(n) => n,
        None => find_local_node(&settings)
            .context("no [[node]] has a link address on this machine; pass --node NAME")?,
    };
    let own = settings
        .nodes
        .iter()
        .find(|n| n.name == name)
        .cloned()
        .with_context(|| format!("node `{name}` is not in {}", args.config.display()))?;
    let authkey = std::fs::read(&settings.authkey).with_context(|| {
        format!(
            "cannot read the authkey {}; create it with `paceline cluster keygen`",
            settings.authkey.display()
        )
    })?;
    let key = ClusterKey::derive(&authkey, &settings.cluster_name)?;
    let mut sockets = Vec::new();
    for addr in &own.links {
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("cannot bind link {addr} of node `{}`", own.name))?;
        sockets.push(Arc::new(socket));
    }
    let incarnation = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_micros() as u64);
    let config = MembershipConfig {
        own_id: own.id,
        nodes: settings.nodes.iter().map(|n| n.id).collect(),
        links: own.links.len() as u8,
        heartbeat: settings.heartbeat,
        token_timeout: settings.token_timeout,
        last_man_standing_window: Duration::from_secs(10),
        quorum: settings.quorum.clone(),
    };
    let start = Instant::now();
    let socket_path = args
        .socket
        .clone()
        .unwrap_or_else(|| settings.socket.clone());
    let listener = bind_api(&socket_path)?;
    let mut daemon = Daemon {
        machine: Membership::new(config, Duration::ZERO),
        encoder: Encoder::new(key.clone(), own.id, incarnation),
        decoder: Decoder::new(key, own.id),
        sockets: sockets.clone(),
        start,
        incompatible: BTreeMap::new(),
        pauses: 0,
        watchdog: None,
        own,
        settings,
    };
    if let Some(wd) = daemon
        .settings
        .watchdogs
        .iter()
        .find(|w| w.target == daemon.own.name)
    {
        // Arming happens before anything else can run: a node that cannot
        // arm its watchdog must not join as if it could self-fence.
        let armed = Watchdog::arm(&wd.device, wd.timeout)
            .with_context(|| format!("node `{}` self-fences by watchdog", daemon.own.name))?;
        eprintln!(
            "pacelined: watchdog {} armed with a {:?} timeout",
            wd.device.display(),
            armed.timeout()
        );
        daemon.watchdog = Some(WatchdogState {
            feeder: Feeder::new(armed),
            device: wd.device.clone(),
            last_tick: Instant::now(),
        });
    }
    if daemon.settings.fencing != settings::FencingMode::Enabled {
        eprintln!(
            "pacelined: WARNING: {}",
            paceline_fencing::readiness::FENCING_DISABLED_WARNING
        );
    }
    eprintln!(
        "pacelined: node {} (id {}) of cluster {} up on {:?}, API at {}",
        daemon.own.name,
        daemon.own.id,
        daemon.settings.cluster_name,
        daemon.own.links,
        socket_path.display()
    );
    let (packets_tx, mut packets) = mpsc::channel::<Vec<u8>>(1024);
    for socket in sockets {
        let tx = packets_tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                match socket.recv_from(&mut buf).await {
                    Ok((len, _)) => {
                        if tx.send(buf[..len].to_vec()).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => eprintln!("pacelined: receive error: {e}"),
                }
            }
        });
    }
    let (api_tx, mut api_rx) =
        mpsc::channel::<(Request, u32, tokio::sync::oneshot::Sender<Response>)>(16);
    tokio::spawn(serve_api(listener, api_tx));
    let mut signals_term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut signals_int =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut ticker = tokio::time::interval(daemon.settings.heartbeat / 4);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = daemon.start.elapsed();
                let out = daemon.machine.tick(now);
                daemon.apply(out).await;
                daemon.feed_watchdog();
            }
            Some(packet) = packets.recv() => daemon.on_packet(&packet).await,
            Some((request, uid, reply)) = api_rx.recv() => {
                let response = daemon.answer(request, uid).await;
                let _ = reply.send(response);
            }
            _ = signals_term.recv() => break,
            _ = signals_int.recv() => break,
        }
    }
    let out = daemon.machine.leave();
    daemon.apply(out).await;
    if let Some(wd) = daemon.watchdog.take() {
        // A clean leave: the peers know we are gone, so nobody will wait
        // for our watchdog; disarm it with the magic close.
        match wd.feeder.disarm() {
            Ok(()) => eprintln!("pacelined: watchdog {} disarmed", wd.device.display()),
            Err(e) => eprintln!("pacelined: {e}"),
        }
    }
    let _ = std::fs::remove_file(&socket_path);
    eprintln!("pacelined: left the cluster cleanly");
    Ok(())
}

fn bind_api(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove stale {}", path.display())),
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("cannot bind API socket {}", path.display()))?;
    // Access is decided by peer credentials; the mode only lets clients connect.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    Ok(listener)
}

type ApiCall = (Request, u32, tokio::sync::oneshot::Sender<Response>);

async fn serve_api(listener: UnixListener, calls: mpsc::Sender<ApiCall>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // E.g. out of file descriptors: don't spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            let _ = serve_client(stream, calls).await;
        });
    }
}

async fn serve_client(stream: UnixStream, calls: mpsc::Sender<ApiCall>) -> std::io::Result<()> {
    let cred = stream.peer_cred()?;
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let response = if !api::peer_allowed(cred.uid(), cred.gid()) {
        Response::Error {
            message: format!(
                "permission denied: only root and members of group `{}` may use the API",
                api::CLIENT_GROUP
            ),
        }
    } else {
        match serde_json::from_str::<Request>(&line) {
            Err(e) => Response::Error {
                message: format!("bad request: {e}"),
            },
            Ok(request) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                if calls.send((request, cred.uid(), tx)).await.is_err() {
                    return Ok(());
                }
                match rx.await {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            }
        }
    };
    let mut text = serde_json::to_string(&response).unwrap_or_default();
    text.push('\n');
    write.write_all(text.as_bytes()).await
}

impl Daemon {
    async fn on_packet(&mut self, packet: &[u8]) {
        match self.decoder.open(packet) {
            Ok(d) => {
                let now = self.start.elapsed();
                let out =
                    self.machine
                        .receive(now, d.header.sender, d.header.incarnation, d.message);
                self.apply(out).await;
            }
            Err(DropReason::IncompatibleVersion { sender, version }) => {
                if self.incompatible.insert(sender, version).is_none() {
                    eprintln!(
                        "pacelined: node {} speaks protocol version {version}, which this node cannot understand; it is refused",
                        self.settings.node_name(sender)
                    );
                }
            }
            Err(_) => {}
        }
    }

    async fn apply(&mut self, outputs: Vec<Output>) {
        let mut changed = false;
        for output in outputs {
            match output {
                Output::Send { to, link, message } => {
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
                Output::Notice(notice) => {
                    changed = true;
                    if let Notice::Paused { .. } = notice {
                        self.pauses += 1;
                    }
                    eprintln!("pacelined: {}", self.describe(&notice));
                }
            }
        }
        if changed {
            self.write_state();
        }
    }

    fn describe(&self, notice: &Notice) -> String {
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
        }
    }

    /// The health the watchdog policy judges: this loop is running (it
    /// would not get here otherwise), the partition is quorate, or a peer
    /// is still seen (two-node clusters).
    fn health(&self) -> NodeHealth {
        let status = self.machine.status();
        NodeHealth {
            healthy: true,
            quorate: status.quorum.quorate,
            // Seeing one peer proves nothing in a larger cluster (a 2 of 5
            // minority sees a peer); the policy counts it for two nodes only,
            // where watchdog fencing is refused at load anyway.
            sees_peer: self.settings.nodes.len() == 2
                && status.peers.iter().any(|p| p.state == PeerState::Online),
        }
    }

    fn feed_watchdog(&mut self) {
        let health = self.health();
        let Some(wd) = self.watchdog.as_mut() else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(wd.last_tick) < wd.feeder.tick_interval() {
            return;
        }
        wd.last_tick = now;
        let was_starving = wd.feeder.starving_since().is_some();
        match wd.feeder.tick(health, now) {
            Ok(FeedOutcome::Fed) if was_starving => {
                eprintln!("pacelined: quorum regained; feeding the watchdog again");
            }
            Ok(FeedOutcome::Starved) if !was_starving => eprintln!(
                "pacelined: no quorum and no peer: no longer feeding the watchdog; this node resets within {:?}",
                wd.feeder.watchdog().timeout()
            ),
            Ok(_) => {}
            Err(e) => eprintln!("pacelined: {e}"),
        }
    }

    fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        match self.settings.fencing {
            settings::FencingMode::Enabled => {}
            settings::FencingMode::Disabled => {
                w.push(paceline_fencing::readiness::FENCING_DISABLED_WARNING.to_string());
            }
            settings::FencingMode::NotConfigured => w.push(
                "no [fencing] section: fencing is off; add one with enabled = true (or spell out enabled = false)".to_string(),
            ),
        }
        if let Some(wd) = &self.watchdog
            && wd.feeder.starving_since().is_some()
        {
            w.push(format!(
                "the watchdog {} is not being fed (no quorum, no peer): this node is about to reset",
                wd.device.display()
            ));
        }
        w
    }

    fn status_view(&self) -> ClusterStatusView {
        let status = self.machine.status();
        let mut nodes = vec![NodeView {
            name: self.own.name.clone(),
            id: self.own.id,
            state: PeerState::Online,
            links: Vec::new(),
            local: true,
        }];
        for p in &status.peers {
            nodes.push(NodeView {
                name: self.settings.node_name(p.id),
                id: p.id,
                state: p.state,
                links: p
                    .links_up
                    .iter()
                    .map(|&u| if u { "up" } else { "down" }.to_string())
                    .collect(),
                local: false,
            });
        }
        nodes.sort_by_key(|n| n.id);
        ClusterStatusView {
            cluster: self.settings.cluster_name.clone(),
            node: self.own.name.clone(),
            node_id: self.own.id,
            view_id: status.view.id,
            members: status
                .view
                .members
                .iter()
                .map(|&m| self.settings.node_name(m))
                .collect(),
            nodes,
            quorum: status.quorum,
            wire: self.decoder.counters().clone(),
            incompatible: self
                .incompatible
                .iter()
                .map(|(&n, &version)| IncompatibleNode {
                    node: self.settings.node_name(n),
                    version,
                })
                .collect(),
            pauses: self.pauses,
            warnings: self.warnings(),
        }
    }

    async fn answer(&mut self, request: Request, uid: u32) -> Response {
        match request {
            Request::Status => Response::Status(Box::new(self.status_view())),
            Request::Unblock => {
                let by = api::user_name(uid);
                let at_unix_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                eprintln!("pacelined: wait_for_all overridden by {by} (cluster unblock)");
                let out = self.machine.unblock(Unblock {
                    by: by.clone(),
                    at_unix_ms,
                });
                self.apply(out).await;
                self.write_state();
                Response::Unblocked { by }
            }
        }
    }

    /// Writes the state atomically so readers never see half a file.
    fn write_state(&self) {
        let dir = &self.settings.state_dir;
        let result = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!("membership.json.{}.tmp", std::process::id()));
            let text =
                serde_json::to_vec_pretty(&self.status_view()).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, dir.join("membership.json"))
        })();
        if let Err(e) = result {
            eprintln!("pacelined: cannot write state to {}: {e}", dir.display());
        }
    }
}
