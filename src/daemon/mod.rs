//! `pacelined`: the tokio runtime that drives the sans-IO machines
//! (membership, the reliable channel, the replicated store, the controller)
//! with real UDP links, a real clock, blocking threads for agents and fence
//! devices, and the local API socket.
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "Daemon, channel, API and CLI (area: daemon)")
//!
//! `pacelined --config FILE` runs one node: a current-thread tokio runtime that
//! drives the sans-IO machines (membership, the reliable channel, the store
//! `Node`, the `Controller`) with real sockets and clocks; agents and fence
//! devices run on blocking threads and report back through channels into the
//! one event loop, so no machine is ever touched from two threads.
//!
//! ```text
//!  UDP links ──► Decoder ──► Heartbeat/Leave ──► Membership ──► view/quorum ──┐
//!                   │                                                          ▼
//!                   └──► Channel (frames) ──► ClusterMessage ──► Store glue ◄──┤ Input::View
//!                           ▲                     │   (cluster.rs)   │ doc     ▼
//!                           │   ActionRequest/    │                  └──► Controller (DC)
//!                           │   Result/StatusPatch▼                         │ Command
//!                           └────────────── driver.rs ◄─────────────────────┘
//!                                   │ Execute            │ Fence            │ RecordStatus
//!                            executor_service.rs   fence_with_topology   store (DC)
//! ```
//!
//! - `src/wire/channel.rs` — sans-IO reliable channel per peer: sequence numbers,
//!   cumulative + selective acks, retransmission of the window every 200 ms on
//!   `tick`, fragmentation into 1200-byte fragments and reassembly, in-order
//!   delivery; `first_unacked` in every data frame lets a receiver skip messages
//!   the sender abandoned; a peer's new incarnation drops what was queued for
//!   it and resets what came from it; frames addressed to an earlier
//!   incarnation of this node are refused; bounded (window 32, 512 messages /
//!   16 MiB unacked per peer, 4 MiB per message). Unit tests run it over
//!   `sim::net` with 20% loss, duplication and reordering on 40 seeds.
//! - `src/daemon/mod.rs` — entry point: the file is read and checked once by
//!   `config::load_node_file` (the checks of `config check`, file:line:col;
//!   a file without `[fencing]` runs as fencing disabled with a warning, as
//!   before) into the model, the typed `[fencing]` and the `config::Runtime`
//!   (cluster name, timers, quorum, nodes and links, watchdogs) the daemon
//!   runs by; it has no reader of its own. The node core takes that load
//!   for the document holding the same text (`Node::preload`) and loads a
//!   document again only when its text changes.
//!   `run` is startup, event loop, shutdown. `startup.rs`: own node,
//!   authkey, links bound, document opened, watchdog armed, event sources
//!   started. `event_loop.rs`: `Events` (every source of the loop) yields one
//!   `Event` at a time, `Daemon::handle` carries it out; `shut_down` is the
//!   clean shutdown below. `transport.rs`: datagrams, membership's outputs, the channel and what its messages mean here; `requests.rs`: the API's answers and configuration changes followed until durable; `status.rs`: status, report, warnings, the state file, the watchdog's health. `api_server.rs`: the local API socket (one task
//!   per client). The event loop: membership ticks (heartbeat/4), a 50 ms channel
//!   tick (retransmissions; controller `Input::Tick` every 100 ms; expired `--lifetime` constraints removed
//!   by the DC every second), packets, API calls, executor results, fence
//!   outcomes, the shims' attribute file as read every 500 ms by a thread
//!   of its own (`attributes.rs`: no disk read on the loop), signals. Config requests from clients: parsed and validated
//!   again by the API server on a blocking thread (the runtime has one
//!   thread, which the heartbeats share), then run on the DC
//!   (`store.request_config`) or forwarded to it (`ConfigRequest`/
//!   `ConfigReply`; the DC validates a member's request again on the loop,
//!   bounded by the 1 MiB cap), answered when durable or after 15 s. An
//!   event that holds the loop over 100 ms is logged with what it was
//!   ("the event loop was held …"): the controller's planning still runs
//!   on the loop and grows with the number of resources (a 200 kB file of
//!   2,000 Dummies held a debug build's DC 6.9 s and its peer declared it
//!   lost), so it is to move off it. The document's writes left it
//!   (`writer.rs`: a writer thread, `Event::Written` back).
//!   SIGHUP (`reload.rs`): reads the cluster file again and says whether it
//!   differs from the cluster's configuration (apply with `configure load`)
//!   or changes what needs a restart; checks fencing readiness again; nothing
//!   else is reloaded. Logging never stops the daemon: a closed stderr loses
//!   the line (no `eprintln!`, which panics on EPIPE). At start the soft
//!   RLIMIT_NOFILE is raised to the hard limit.
//!   SIGTERM: sets the `shutdown` attribute, keeps serving until the executor
//!   runs nothing (bounded 60 s; a second signal leaves at once), flushes the
//!   channel (2 s), then leaves. sd_notify (`notify.rs`, the `sd-notify`
//!   crate): READY=1 once serving, STOPPING=1 on shutdown, WATCHDOG=1 from
//!   the event loop every WATCHDOG_USEC/2 (its own timer, an `Event`, so a
//!   hung loop stops the pings). Logging (`logging.rs`): journal entries
//!   with priorities and NODE/RESOURCE/OPERATION fields when stderr is the
//!   journal stream (`systemd-journal-logger`), else timestamped stderr. Timers not written out come from
//!   `config::Document::timers` (failover_budget), as `config check` sees them. Every log line has a UTC timestamp: membership
//!   notices, controller notices, action results and fencing form the failover
//!   timeline.
//! - `src/daemon/cluster.rs` — the daemon's node core (`node::Node`, which
//!   holds the store and the controller and the glue between them): wire
//!   form of its messages, persistence of the document in
//!   `<state_dir>/cluster.json` (`store::persist`), client requests, status
//!   patches. The document is `Document<String, ClusterStatus>`: config = the
//!   TOML text as loaded. On start the persisted document is used (a note is
//!   logged if the file differs) or the file's text at version 0; the newest of
//!   disk and peers wins through the store's Offer/Replicate. Two documents at
//!   one version (nodes started from different files): the DC's is adopted.
//!   A member whose document is newer than the DC's Replicate offers it again
//!   (its first Offer may have reached the DC before the DC installed the
//!   view and been dropped; without this the newer document was never seen).
//!   Writes go to the writer thread (`writer.rs`); the commands after a
//!   Persist wait in the store's backlog until it is durable, and the
//!   next write takes the newest document waiting (coalesced); a write
//!   whose configuration is the one last written writes the status alone
//!   (`cluster-status.json`, applied on load over the `cluster.json` whose
//!   version it names). A write
//!   over 500 ms is logged and a status warning for 10 minutes; one in
//!   progress that long is a warning too.
//!   A failed persist stops the store (`StoreEffect::Fatal`: nothing queued
//!   after the Persist is sent, every later input is refused) and the daemon
//!   exits 1 without leaving, so its peers treat it as lost (and fence it):
//!   a Send after a Persist that is not durable would break the store's rule.
//!   `cluster.json` (inline fence passwords included) is written 0600 and
//!   the state directory made 0700, both fixed at start when found looser.
//!   Two nodes without fencing: invariant 4 needs fencing. A node whose peer
//!   is not in its view (and was not confirmed fenced or cleanly gone) cannot
//!   tell a dead peer from a split, and both halves of a split acknowledge
//!   changes, one of which the heal loses. As in Pacemaker (whose partitions
//!   both write, and which calls clusters without fencing unsupported), the
//!   lone survivor still takes changes, but the answer says plainly that it
//!   is not guaranteed (`ClusterStore::unguaranteed`: `configure load` and
//!   every edit print a WARNING, the daemon logs it).
//!   Status patches (`record_status`, DC only) are applied with
//!   `apply_status_patch` (a stand-in for `controller::apply_patch`, one
//!   function to swap) and the whole document is replicated (until the store
//!   has a status-patch message).
//! - `src/daemon/driver.rs` — the controller driver: `Input::View` (names,
//!   quorate) on every view change, `Input::Document` on every document change
//!   (the config parsed once per change), `ActionResult`, `FenceOutcome`,
//!   `Tick`; carries out `Execute` (local executor or `ActionRequest` over the
//!   channel), `CancelRecurring`, `Fence` (`paceline_fencing::service::fence_with_topology` on
//!   a blocking thread: static/random/priority delays, levels, per-device
//!   delays, history), `RecordStatus` (store on the DC, else `StatusPatch` to
//!   the DC; kept while no DC), `Notice` (log). Results go to the DC.
//! - `src/daemon/executor_service.rs` — `ActionRequest`s of this node through
//!   `src/executor` (`OcfRunner`: ocf, builtin, systemd) for the configured
//!   `[[primitive]]` (from the replicated config), on blocking threads under a
//!   semaphore of `node-action-limit` (default 2 × cores); a repeated id from the
//!   same sender incarnation gets the cached result (1024 kept); interval > 0:
//!   the first run is reported, then a `RecurringMonitor` reports only rc
//!   changes; stop/demote/`CancelRecurring` stop monitors. One resource's
//!   requests (its clone instances count as one) run one at a time, queued in
//!   arrival order (as Pacemaker's executor does): a probe a new DC sends
//!   during a start waits for the start's outcome. An anonymous clone's
//!   agent gets the primitive's id as OCF_RESOURCE_INSTANCE (as Pacemaker
//!   since 1.1.8; the instance number is meta `clone`), and its recurring
//!   monitors are kept per primitive and interval: a new DC that renumbers
//!   the instance on this node (db:1 → db:0) replaces the monitor, and its
//!   cancels reach it. Primitives of a
//!   clone get its meta attributes (clone-max, clone-node-max, notify,
//!   globally-unique, promoted-max and master-max…, the instance number as
//!   `clone`). HA_RSCTMP from the environment (default /run/resource-agents),
//!   shims in `<state_dir>/shims`.
//! - `src/daemon/report.rs` — status beyond membership: resources (role and
//!   nodes from the replicated op history; an operation in flight as
//!   Starting/Stopping/Promoting/Demoting), failed actions (with the agent's
//!   exit reason), node attributes,
//!   the fencing history: the replicated one, newest first, plus the records
//!   of this node's fencing log whose requester is not `pacelined@…`
//!   (`paceline fence NODE` run without the daemon, which the cluster never
//!   saw; the daemon's own records would repeat replicated events).
//! - `src/api/` — newline-delimited JSON over the unix socket (`api::DEFAULT_SOCKET`
//!   unless `[cluster] socket` is set), SO_PEERCRED checked on accept (roles:
//!   see "The local API: who may do what" below). Requests: `status` (membership, used by the
//!   crm_node shim), `report` (what `paceline status` shows), `unblock`,
//!   `config_show`, `config_load` (text, file name, version read), `dispatch`
//!   (run one action on a node through the DC's path and wait: operators and
//!   tests), `fence` (the daemon's fencing service), `cleanup`. `api::call`
//!   never waits past `Request::answer_timeout` (status 10 s, config load
//!   30 s, dispatch the action's timeout + 30 s, fence 10 min), connect
//!   included (non-blocking, so a full backlog cannot hang it).
//! - CLI (all with `--output json`): `status` (crm_mon -1 like: DC, config
//!   version, nodes, quorum, resources, node attributes, failed actions,
//!   fencing history (crm_mon's lines: "reboot of node2 successful:
//!   delegate=…, client=…, origin=…, completed='…'", failures with
//!   last-failed and their count), channel counters, warnings: no quorum, configuration
//!   that does not load, membership settings that need a restart);
//!   `configure show | load FILE | edit` (validated before sending; retried
//!   when a view change left the outcome open; `edit` reopens an invalid edit);
//!   `resource move|ban RES NODE [--lifetime D] [--promoted] | clear RES | cleanup RES
//!   [--node N] | start|stop RES (target-role) | restart RES (stop, wait until
//!   stopped everywhere, restore the target-role) | show RES (its table,
//!   placement, failures, constraints)`; `node standby|online NODE`,
//!   `node maintenance NODE [--off]`; `property set NAME VALUE`;
//!   `status --watch [--interval-ms]` (redrawn text, or a JSON line per change).
//!   `status` also lists the constraints move/ban left (with their expiry) and
//!   when each failed action clears (failure-timeout).
//!   `config/edit.rs` makes the edits with toml_edit (comments kept);
//!   `configure::edit_cluster` reads, edits, validates and submits them with
//!   the version read, and edits again on a concurrent change. A lifetime is
//!   written into the constraint id (`cli-prefer-db-until-<unix s>`).
//!   `--promoted` (a switchover) constrains only the Promoted role
//!   (`role = "Promoted"`) of the promotable clone RES names, itself or
//!   through its primitive; anything else is refused.
//!   `fence NODE` fences through pacelined (`--direct`: from the CLI
//!   process alone); `fence confirm NODE` (`Request::FenceConfirm`) is
//!   taken by the DC alone, for a configured node outside its view (a
//!   member forwards it, `ClusterMessage::FenceConfirm`), and becomes the
//!   controller's `Input::FenceConfirmed` with the caller's user as the
//!   client. `--wait` asks `Request::Settled`: the DC answers from its
//!   controller, a member asks the DC (`ClusterMessage::SettledQuery`).
//! - Tests: `tests/netns_cluster.rs` (real daemons, harness shared with
//!   `netns_membership.rs` in `tests/netns/mod.rs`): one config on both nodes,
//!   good/broken/stale `configure load`, a Dummy start dispatched to the peer
//!   runs there, crm-like edits and an expiring ban, an agent's attribute
//!   reaching the replicated status, a promotable Stateful instance promoted
//!   on the peer, fencing with the real `fence_dummy`, a clean shutdown
//!   waiting for a running monitor, a 60 kB configuration, restarts of a
//!   member and of the DC catching up with newer documents.
//!   `bench/cluster-ops` (python3, root): latency of configure load (small and
//!   60 kB) and of a probe dispatched to the peer.
//! - Store glue (`cluster.rs`): `StoreMessage` mirrors `store::machine::Msg`
//!   one to one; status patches go through `Node::on_status_patch` (the DC
//!   applies and sends each patch, members forward theirs); a confirmed fence
//!   or a clean leave calls `on_peer_settled`, so a lone two_node DC may write.
//!   The daemon sends the controller `Input::Synced` when its store becomes a
//!   ready DC. Before any result leaves the node, the shims' attribute file is
//!   polled and its changes sent (as attrd's updates precede results in
//!   Pacemaker; read on the agent's thread, carried by `Finished`), so the DC never plans on a result with the attributes of
//!   before. Action results go to the node's current DC and also to the DC
//!   that asked when they differ. A node shutting down leaves only once both
//!   its executor and the replicated document show nothing active on it.
//! - The local API: who may do what (threat model of the local side).
//!   Who can connect: the socket is `root:haclient` 0660 (0600 when the group
//!   does not exist); the daemon checks the peer's SO_PEERCRED on accept,
//!   before reading a byte, and closes other peers with one error line.
//!   Roles: root (uid 0) may send every request; members of `haclient`
//!   (primary group, or listed in it) may send `status` and `report` only
//!   (crm_node/crm_mon shims, `paceline status`); `config_show` is root's,
//!   since the configuration can hold inline fence passwords. Everything
//!   else is refused with "needs root". Limits (`daemon/api_server.rs`):
//!   request line 2 MiB + 64 KiB for root (a 1 MiB configuration with its
//!   JSON escapes), 4 KiB for the read role (longer: refused,
//!   the excess never read); 10 s to send the request line, and 10 s for a
//!   client to take its answer; 128 connections for root, 32 per other uid,
//!   256 for all other uids together (beyond: refused at accept); the
//!   daemon raises its own RLIMIT_NOFILE soft limit to the hard one, so API
//!   clients can never take the descriptors the executor, fencing and
//!   `cluster.json` need. What is trusted: root's requests (root owns the
//!   node anyway); the agents run as root and write attributes through the
//!   shims' file in the 0700 state directory. Tests: `tests/api_local.rs`
//!   (real daemons on loopback: `nobody` refused, `haclient` read-only, a
//!   64 MiB line refused without growth, 1,100 idle connections leave root's
//!   status, a Dummy probe and a `configure load` working, clients give up
//!   on a daemon that never answers, SIGHUP and a closed stderr survived).
//! - `src/daemon/http/`: the read-only HTTP endpoint (`[http]`): health
//!   checks by resource and role, `/status`, `/metrics`, served on a thread
//!   of its own from a snapshot the event loop publishes every 250 ms (see
//!   its module documentation); a changed `[http]` in the cluster's
//!   configuration is served without a restart (`apply_http_section`).
//!   Tests: `tests/http_endpoint.rs`, and
//!   `tests/netns_http.rs` (Debian's haproxy routes by `/primary/RES` and
//!   follows a failover).
//! - `src/daemon/alerts.rs`: alert agents (`[[alert]]`, Pacemaker's
//!   alerts) for the node, fencing, resource and attribute events this
//!   node sees (fencing events from the replicated history, so on every
//!   node, each once), with Pacemaker's `CRM_alert_*` environment, run on a
//!   thread of their own (bounded, killed after their timeout). Tests:
//!   `tests/alerts.rs` (Pacemaker's `alert_file.sh.sample` unmodified),
//!   `tests/netns_alerts.rs` (fencing alerts on every node, across DC
//!   changes).
//! - Not yet: status shows a pending operation's resource in
//!   its previous role (crm_mon would say "Starting").

mod alerts;
mod api_server;
mod attributes;
pub mod cluster;
mod driver;
mod event_loop;
pub mod executor_service;
mod http;
mod identity;
mod keys;
mod logging;
mod notify;
mod readiness;
mod realtime;
mod reload;
mod report;
mod requests;
mod site_tickets;
mod startup;
mod status;
mod transport;
mod witness;
mod writer;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::api::{self, Response};
use crate::config::Runtime as Settings;
use crate::config::runtime::ClusterNode;
use crate::controller::FenceOutcome;
use crate::membership::Membership;
use crate::wire::{Channel, Decoder, Encoder, KeyRing, NodeId};
use cluster::{ClusterStore, StoreEffect};
use executor_service::ExecutorService;
use paceline_fencing::watchdog::Feeder;

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
    /// The least important lines logged: error, warning, notice, info or
    /// debug (every API request); `paceline cluster log-level` changes it
    /// while running.
    #[arg(long, default_value = "info", value_parser = clap::value_parser!(logging::Priority))]
    log_level: logging::Priority,
}

/// The command line of `pacelined`, for its man page and completions.
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Entry point of `pacelined`.
pub fn main() -> ExitCode {
    let args = Args::parse();
    logging::set_threshold(args.log_level);
    let file = match load_cluster_file(&args.config) {
        Ok(file) => file,
        Err(e) => {
            say(&format!("pacelined: {e}"));
            return ExitCode::from(2);
        }
    };
    // Agents' `crm_node` shim asks this daemon over its API: tell the
    // agents (children inherit the environment) where it listens.
    let socket = api_socket(&args, &file.settings);
    // SAFETY: no other thread exists yet (the runtime is built below), so
    // nothing can read the environment concurrently.
    unsafe {
        std::env::set_var(crate::executor::agent_env::SOCKET_ENV, &socket);
    }
    raise_descriptor_limit();
    // This thread becomes the event loop's (a current-thread runtime).
    log(&realtime::raise_loop_priority());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            say(&format!("pacelined: cannot start the runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args, file)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("pacelined: {e:#}"));
            ExitCode::from(1)
        }
    }
}

/// Raises the soft limit of open descriptors to the hard one: systemd's
/// default soft limit (1,024) is what a few idle API clients, agents' pipes
/// and the state files share, and running out fails monitors, stops and
/// `cluster.json` writes (EMFILE). The API's own connection caps keep it
/// far below.
fn raise_descriptor_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        say(&format!(
            "pacelined: cannot raise the open files limit from {soft} to {hard}: {e}"
        ));
    }
}

/// The cluster file the daemon starts with, read and checked once: the
/// model and fencing it hands to the node core, the executor and the
/// fencing service, and what the node runs by.
struct StartFile {
    text: String,
    cluster: crate::config::Cluster,
    settings: Settings,
}

/// Reads the file (bounded) with the config module's node loader: the
/// checks of `paceline config check`, a missing `[fencing]` meaning
/// fencing off.
fn load_cluster_file(path: &Path) -> Result<StartFile, String> {
    let text = crate::config::read_bounded(path).map_err(|e| e.to_string())?;
    let cluster = crate::config::load_node_file(path, &text).map_err(|e| e.to_string())?;
    let settings = cluster
        .runtime
        .clone()
        .ok_or_else(|| format!("{}: not a file a node runs", path.display()))?;
    Ok(StartFile {
        text,
        cluster,
        settings,
    })
}

/// The local API socket: `--socket`, else `[cluster] socket`, else the
/// default path.
fn api_socket(args: &Args, settings: &Settings) -> PathBuf {
    args.socket
        .clone()
        .or_else(|| settings.socket.clone())
        .unwrap_or_else(|| api::DEFAULT_SOCKET.into())
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
    /// The cluster file this daemon was started from (read again on SIGHUP).
    config_path: PathBuf,
    /// Why the daemon must stop at once (its store could not persist).
    fatal: Option<String>,
    own: ClusterNode,
    machine: Membership,
    encoder: Encoder,
    decoder: Decoder,
    /// The keys accepted and sent with (two during a rotation).
    keyring: KeyRing,
    /// Refusals of peers' traffic, logged at most once a minute each.
    peer_log: identity::RateLimitedLog,
    sockets: Vec<Arc<UdpSocket>>,
    start: Instant,
    incompatible: BTreeMap<NodeId, u8>,
    pauses: u64,
    /// This node's self-fencing watchdog, fed while the policy allows.
    watchdog: Option<WatchdogState>,
    /// The witness's etcd task (`[quorum] witness`), fed the membership's
    /// commands (`witness.rs`).
    witness: Option<mpsc::UnboundedSender<crate::membership::WitnessCommand>>,
    /// The site tickets' rules and etcd task (`[site]`, `site_tickets.rs`).
    site: Option<site_tickets::SiteState>,
    channel: Channel,
    store: ClusterStore,
    /// Who waits for the outcome of a config request, by request id.
    replies: HashMap<u64, ReplyTo>,
    next_request: u64,
    /// What the node core asked for, not yet carried out (see `driver::drain`).
    effects: VecDeque<StoreEffect>,
    /// The last fencing readiness verdict (None: first check still running)
    /// and what blocks it.
    fencing_ready: Option<bool>,
    fencing_blockers: Vec<String>,
    executor: ExecutorService,
    /// `[fencing]` of the cluster's configuration.
    fencing: Option<paceline_fencing::config::FencingSection>,
    fence_tx: mpsc::UnboundedSender<FenceOutcome>,
    /// Results of the fencing readiness check: (generation, ready, blockers).
    readiness_tx: mpsc::UnboundedSender<(u64, bool, Vec<String>)>,
    /// Plans made on blocking threads come back here (`driver::plan`).
    planned_tx: mpsc::UnboundedSender<event_loop::PlanOutcome>,
    /// Bumped on every config change: an older check's result is dropped.
    readiness_generation: u64,
    /// The one fencing readiness check running.
    readiness_poller: readiness::ReadinessPoller,
    /// Operators' fence requests waiting for the outcome, by target.
    fence_waiters: HashMap<String, Vec<tokio::sync::oneshot::Sender<Response>>>,
    /// Operators' dispatched actions waiting for their result.
    dispatch_waiters: HashMap<u64, (tokio::sync::oneshot::Sender<Response>, Instant)>,
    next_dispatch: u64,
    /// The agents' node attributes (node -> name -> value) as last forwarded.
    attributes: crate::executor::agent_env::Attributes,
    /// Which read of their file that was (`daemon::attributes`).
    attributes_applied: attributes::Applied,
    /// Where a read of that file goes to the loop (`forget_erased_attributes`).
    attributes_tx: tokio::sync::mpsc::UnboundedSender<attributes::Snapshot>,
    /// Whether the status showed each node a member, at the last look
    /// (`forget_erased_attributes`).
    status_members: BTreeMap<String, bool>,
    ticks: u64,
    /// The HTTP endpoint's snapshots (None: `[http]` is off).
    http: Option<http::snapshot::Publisher>,
    /// The HTTP endpoint's thread (it ends when `http` is dropped).
    http_thread: Option<std::thread::JoinHandle<()>>,
    /// Why the endpoint does not serve its `[http]` section (its addresses
    /// could not be bound after a change), for the status.
    http_failed: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// What the metrics count.
    counters: http::metrics::Counters,
    /// Lost nodes' resources not yet active elsewhere (metrics).
    failovers: Vec<http::PendingFailover>,
    /// The alert agents' runner (started with the first alert).
    alerts: Option<alerts::Alerts>,
    /// The members of the view node alerts were last sent for.
    alert_members: std::collections::BTreeSet<NodeId>,
    /// The fencing events alerted (`alerts::FenceAlerts`).
    fence_alerts: alerts::FenceAlerts,
    /// When this node saw the configuration change last, and who loaded it
    /// when that was through this node (status' "Last change").
    last_change: Option<crate::api::LastChange>,
    /// The fencing this node's fencing service runs now, by target
    /// (status' "pending" lines; removed with the outcome).
    fencing_now: std::collections::BTreeMap<String, crate::api::PendingFenceView>,
    /// Who sent the configuration loads this node forwarded or applied and
    /// that are not committed yet, by request id.
    loads_by: HashMap<u64, String>,
}

/// Answer of a request sent to the DC, or of a request on the DC.
enum ReplyTo {
    Client {
        reply: tokio::sync::oneshot::Sender<Response>,
        deadline: Instant,
        /// The DC the request was forwarded to (None: this node is the DC).
        forwarded_to: Option<NodeId>,
        /// A status request (cleanup): what the client is told once it is
        /// committed (None: a configuration change).
        accepted: Option<String>,
    },
    /// A member forwarded its client's request to this DC.
    Member { node: NodeId, request: u64 },
    /// The DC's own change (expiring constraints): the outcome is logged.
    Log(String),
    /// A client's `Request::Settled` asked of the DC: `Ok` is settled.
    Settled {
        reply: tokio::sync::oneshot::Sender<Response>,
        deadline: Instant,
    },
}

/// How often one kind of refusal of one node is logged at most.
const PEER_LOG_EVERY: Duration = Duration::from_secs(60);

/// How long a client waits for the DC to make its config change durable.
const CONFIG_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

struct WatchdogState {
    feeder: Feeder,
    device: PathBuf,
    last_tick: Instant,
    /// This node has been in a quorate partition since the watchdog was
    /// armed in this boot (see `status::WATCHDOG_MARKER`): from then on,
    /// losing quorum starves the watchdog.
    ever_quorate: bool,
    /// The state directory's marker that says so, for a restart of the
    /// daemon within the same boot.
    marker: PathBuf,
}

async fn run(args: Args, file: StartFile) -> anyhow::Result<()> {
    let (mut daemon, mut events) = startup::start(&args, file).await?;
    daemon.serve(&mut events).await;
    if daemon.fatal.is_none() {
        daemon.shut_down(&mut events).await;
    }
    match daemon.fatal.take() {
        // No clean leave: the peers must treat this node as lost (and
        // fence it) since what it runs is no longer recorded durably.
        Some(why) => anyhow::bail!("stopped without leaving the cluster: {why}"),
        None => Ok(()),
    }
}

impl Daemon {
    pub(super) fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub(super) async fn apply_store(&mut self, effects: Vec<StoreEffect>) {
        for effect in effects {
            self.apply_effect(effect).await;
        }
        self.forget_erased_attributes();
    }

    /// Carries out one effect of the node core; the controller's commands
    /// wait for `drain`.
    pub(super) async fn apply_effect(&mut self, effect: StoreEffect) {
        match effect {
            StoreEffect::Send { to, message } => {
                // The whole document travels with its tickets to a peer
                // speaking version 5, without them to release 0.1.0.
                let message = message.for_version(self.machine.version_with(to));
                self.send_cluster(to, &message).await;
            }
            StoreEffect::Reply { request, result } => {
                Box::pin(self.finish_request(request, result)).await;
            }
            StoreEffect::Controller(command) => {
                self.effects.push_back(StoreEffect::Controller(command));
            }
            StoreEffect::ConfigChanged => self.on_config_changed(),
            StoreEffect::Log(line) => log(&line),
            StoreEffect::Fatal(why) => {
                if self.fatal.is_none() {
                    log(&format!("FATAL: {why}"));
                }
                self.fatal = Some(why);
            }
        }
    }
}

/// One log line with a UTC timestamp (the failover timeline reads these).
/// Logging never stops the daemon: a closed or full stderr (the journal
/// restarted, a pipe whose reader died) loses the line, nothing else
/// (`eprintln!` panics on EPIPE).
pub fn log(line: &str) {
    logging::write(
        logging::Priority::of_line(line),
        &logging::Fields::default(),
        line,
    );
}

/// Logs a line about a node, resource or operation, with its priority
/// (journal fields under systemd: `logging.rs`).
fn log_about(priority: logging::Priority, fields: &logging::Fields, line: &str) {
    logging::write(priority, fields, line);
}

/// Writes one line to stderr, ignoring a failure to.
fn say(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// `2026-12-01T18:40:00.123Z`, computed without a date library.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_timestamp(now.as_secs(), now.subsec_millis())
}

fn format_timestamp(secs: u64, millis: u32) -> String {
    let (year, month, day, h, m, s) = civil_utc(secs);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
}

/// `2026-12-01 18:40:00Z`: how the status shows when a fence completed
/// (crm_mon's `completed=` style, in UTC).
pub(crate) fn format_utc_seconds(secs: i64) -> String {
    crate::api::utc_seconds(secs)
}

use crate::api::civil_utc;

#[cfg(test)]
mod tests {
    use super::{format_timestamp, format_utc_seconds};

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(format_timestamp(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(
            format_timestamp(1_796_083_199, 999),
            "2026-11-30T23:59:59.999Z"
        );
        assert_eq!(
            format_timestamp(4_107_542_400, 0),
            "2100-03-01T00:00:00.000Z"
        );
        assert_eq!(format_utc_seconds(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(format_utc_seconds(-5), "1970-01-01 00:00:00Z");
    }
}
