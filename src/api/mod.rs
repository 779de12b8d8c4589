//! The local API of `pacelined`: one JSON request per line on a unix socket,
//! one JSON answer per line. Access is checked with the peer's credentials:
//! root may do everything, members of `haclient` read the status (`Role`).

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::controller::{ActionRequest, ActionResult, FenceOutcome, TicketChange};
use crate::membership::{PeerState, QuorumStatus};
use crate::store::Version;
use crate::wire::{ChannelCounters, NodeId, WireCounters};

/// Group whose members may use the API besides root (Pacemaker's name).
pub const CLIENT_GROUP: &str = "haclient";

/// Where pacelined serves this API unless `[cluster] socket` says otherwise
/// (and where the CLI and the shims look for it).
pub const DEFAULT_SOCKET: &str = "/run/paceline/paceline.sock";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    Status,
    /// Membership and resources: answered with `Response::Report`.
    Report,
    /// Override wait_for_all; the daemon records who asked (from peer credentials).
    Unblock,
    /// The cluster's configuration (the TOML text) and its version.
    ConfigShow,
    /// Run one action on a node (chosen in the request) through the same
    /// path the DC's actions take, and wait for its result. For operators
    /// and tests; the controller does not see these results.
    Dispatch {
        action: ActionRequest,
    },
    /// Fence a node through its topology from this daemon (its fencing
    /// service, as the DC's controller does), waiting for the outcome.
    Fence {
        target: String,
        action: String,
    },
    /// Forget the failures of a resource (a status patch through the DC).
    Cleanup {
        resource: String,
        node: Option<String>,
    },
    /// Replace the configuration, if it is still at `based_on` (the version
    /// the client read): a concurrent change is refused, not overwritten.
    ConfigLoad {
        text: String,
        /// Shown in diagnostics (the client's file name).
        file_name: String,
        based_on: Version,
    },
    /// An operator confirms that `target` is off (`paceline fence
    /// confirm`): taken as a successful fence of it, recorded with who
    /// asked (from the peer credentials). Refused for a member of the view;
    /// a member that is not the DC forwards it to the DC.
    FenceConfirm {
        target: String,
    },
    /// Whether the DC's controller has settled (nothing in flight, nothing
    /// left to do): answered by the DC itself, or by a member after asking
    /// the DC (`--wait` run on any node). Answered with `Response::Settled`.
    Settled,
    /// Change the daemon's log level at run time (`paceline cluster
    /// log-level`): error, warning, notice, info (the default) or debug.
    /// Answered with `Response::Accepted`.
    LogLevel {
        level: String,
    },
    /// Change a ticket's state here (`paceline ticket grant|revoke|standby|
    /// activate`, crm_ticket): a status patch through the DC, answered once
    /// a quorum committed it.
    Ticket {
        ticket: String,
        change: TicketChange,
    },
    /// Set (`Some`) or delete (`None`) a permanent node attribute
    /// (`crm_attribute -l forever`, Pacemaker's CIB `<nodes>` section): a
    /// status patch through the DC that a fence or a restart keeps,
    /// answered once a quorum committed it. Refused while a member speaks
    /// only protocol version 4 (`PERMANENT_NEEDS_VERSION_5` in the
    /// message): the shim then keeps it as a transient attribute.
    NodeAttribute {
        node: String,
        name: String,
        value: Option<String>,
    },
}

/// Part of the refusal of `Request::NodeAttribute` while a member of the
/// view runs release 0.1.0 (protocol version 4), which the shim recognises.
pub const PERMANENT_NEEDS_VERSION_5: &str = "permanent node attributes need protocol version 5";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    Status(Box<ClusterStatusView>),
    Report(Box<StatusReport>),
    Unblocked {
        by: String,
    },
    Config {
        text: String,
        version: Version,
    },
    ConfigApplied {
        version: Version,
        /// Why this acknowledgement is not the usual guarantee (a lone
        /// node of two without fencing: see `ClusterStore::unguaranteed`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
    },
    ActionDone(Box<ActionResult>),
    Accepted {
        what: String,
    },
    Fenced(Box<FenceOutcome>),
    Settled {
        idle: bool,
    },
    Error {
        message: String,
    },
}

/// A resource as the status shows it (`crm_mon`'s resource list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceView {
    pub id: String,
    /// `class:provider:type`.
    pub agent: String,
    /// Started, Promoted, Unpromoted, Stopped, FAILED, Starting…, per
    /// node where active.
    pub role: String,
    /// A FAILED instance's role (crm_mon's `FAILED Promoted`; its XML's
    /// `role="Promoted" failed="true"`, which agents grep for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_role: Option<String>,
    pub nodes: Vec<String>,
    /// The group it is a member of (crm_mon's "Resource Group: NAME").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The clone it is an instance of (crm_mon's "Clone Set: NAME").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone: Option<String>,
    /// That clone is promotable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promotable: bool,
    /// crm_mon's marks, from the resource's meta or its parent's:
    /// `disabled` (target-role Stopped), `unmanaged` (is-managed false),
    /// `maintenance`, `blocked` (a stop failed: nothing more is done with
    /// it until cleanup or fencing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// crm_mon's counts: resource instances configured (a clone's primitive
/// counts once per instance), how many are disabled and blocked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCounts {
    pub configured: u32,
    pub disabled: u32,
    pub blocked: u32,
}

/// When this node saw the configuration change last, and who changed it
/// when the change came through this node's API (crm_mon's "Last change").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastChange {
    /// Seconds since the epoch.
    pub at: i64,
    pub epoch: u64,
    /// `user` of the client that loaded it through this node; None: it
    /// came from another node (or before this daemon started).
    #[serde(default)]
    pub by: Option<String>,
}

/// A failed operation (`crm_mon`'s "Failed Resource Actions").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedActionView {
    pub resource: String,
    pub node: String,
    pub operation: String,
    pub interval_ms: u64,
    pub rc: i32,
    pub at: Option<i64>,
    /// When the failure expires (failure-timeout after `at`); None: it
    /// stays until `paceline resource cleanup`.
    #[serde(default)]
    pub clears_at: Option<i64>,
    /// What the agent said (its exit reason or the tail of its output).
    #[serde(default)]
    pub exit_reason: Option<String>,
    /// The operation succeeded since (the resource recovered in place), so
    /// only its fail count remembers the failure: listed, as crm_mon lists
    /// it, until cleanup or failure-timeout. The history keeps one record
    /// per operation, so `rc` is then -1 and `exit_reason` None (not kept).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
    /// The fail count of this operation on this node (0: not known).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fail_count: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A location constraint that `paceline resource move|ban` left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliConstraintView {
    pub id: String,
    pub resource: String,
    pub node: String,
    pub score: String,
    /// Unix time it is removed at (`--lifetime`); None: until
    /// `paceline resource clear`.
    pub expires_at: Option<i64>,
}

/// One ticket here: its state and the resources that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketView {
    pub ticket: String,
    pub granted: bool,
    pub standby: bool,
    /// When it was last granted (seconds since the epoch).
    #[serde(default)]
    pub last_granted: Option<i64>,
    /// The resources tied to it, with their loss-policy (`db (demote)`).
    #[serde(default)]
    pub resources: Vec<String>,
    /// With `[site]`, for a ticket the site manages: what etcd last said
    /// of it to this node (`held by this site (east)`, `held by site
    /// west`, `held by no site`, `etcd unreachable: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<String>,
    /// With `[site]`: until when the ticket counts here by this node's
    /// last answer from etcd (Unix seconds; the lease itself lasts half a
    /// TTL longer), while it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts_until: Option<i64>,
}

/// One fencing history record: an event of the replicated history
/// (`source` "cluster"), or a record of this node's own fencing log that
/// the cluster never saw (`source` "local": `paceline fence NODE` run
/// without the daemon).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceView {
    pub target: String,
    /// off, reboot, on (empty: not known to the node that recorded it).
    pub action: String,
    /// The device(s) that did it, comma-separated (empty when it failed).
    pub device: String,
    /// ok, failed (or timeout, in a local record).
    pub result: String,
    /// When it completed (the last attempt), UTC: `2026-12-01 18:40:00Z`.
    pub at: String,
    /// The same, in seconds since the epoch.
    #[serde(default)]
    pub completed: Option<i64>,
    /// The node that ran the devices (crm_mon's delegate).
    #[serde(default)]
    pub delegate: Option<String>,
    /// The node that asked (crm_mon's origin).
    #[serde(default)]
    pub origin: Option<String>,
    /// Who asked there: controller, pacelined, or `user@host`.
    #[serde(default)]
    pub client: Option<String>,
    /// The fencing service's words (why it failed).
    #[serde(default)]
    pub detail: String,
    /// Consecutive failed attempts this record stands for.
    #[serde(default = "one")]
    pub attempts: u32,
    /// When the first of them completed, UTC (same as `at` for one attempt).
    #[serde(default)]
    pub first_at: String,
    #[serde(default)]
    pub elapsed_ms: Option<u64>,
    /// cluster or local (see above).
    #[serde(default)]
    pub source: String,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    pub name: String,
    pub id: NodeId,
    pub state: PeerState,
    /// "up"/"down" per link; empty for this node.
    pub links: Vec<String>,
    /// This node is the one answering.
    pub local: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompatibleNode {
    pub node: String,
    pub version: u8,
}

/// What `paceline status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatusView {
    pub cluster: String,
    pub node: String,
    pub node_id: NodeId,
    pub view_id: u64,
    pub members: Vec<String>,
    pub nodes: Vec<NodeView>,
    pub quorum: QuorumStatus,
    pub wire: WireCounters,
    pub incompatible: Vec<IncompatibleNode>,
    pub pauses: u64,
    /// Things the operator must know (fencing disabled, watchdog starving).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The authkeys accepted and sent with, and a rotation's progress.
    #[serde(default)]
    pub keys: crate::wire::KeyStatus,
    /// The protocol version the view speaks (0: a daemon of release 0.1.0,
    /// which does not say).
    #[serde(default)]
    pub protocol_version: u8,
    /// The witness (`[quorum] witness`): held here or not, and what etcd
    /// last said.
    #[serde(default)]
    pub witness: Option<crate::membership::WitnessStatus>,
}

/// A fencing operation this node's fencing service is running now
/// (crm_mon's "pending" line of the fencing history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFenceView {
    pub target: String,
    /// off, reboot, on (empty: the configured `[fencing] action`).
    pub action: String,
    /// Who asked: `controller` (the DC's decision) or `pacelined` (for
    /// `paceline fence NODE`).
    pub client: String,
    /// The node whose fencing service runs it (crm_mon's delegate).
    pub delegate: String,
    /// When it began, UTC.
    pub since: String,
}

/// The whole status (`paceline status`): membership plus what the
/// replicated document and the controller know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    #[serde(flatten)]
    pub membership: ClusterStatusView,
    /// The designated controller of this view.
    #[serde(default)]
    pub dc: Option<String>,
    /// On the DC: whether its controller has nothing in flight and nothing
    /// left to do (the cluster settled; `--wait`). None on other nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc_idle: Option<bool>,
    /// Version of the replicated document this node holds.
    #[serde(default)]
    pub config_version: Version,
    #[serde(default)]
    pub resources: Vec<ResourceView>,
    #[serde(default)]
    pub failed_actions: Vec<FailedActionView>,
    /// What `resource move|ban` left in the configuration.
    #[serde(default)]
    pub cli_constraints: Vec<CliConstraintView>,
    /// Nodes the configuration puts in standby or maintenance.
    #[serde(default)]
    pub standby: Vec<String>,
    #[serde(default)]
    pub maintenance: Vec<String>,
    /// Transient node attributes (promotion scores, fail counts, shutdown).
    #[serde(default)]
    pub node_attributes:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// Permanent node attributes (`[[node]] attributes` in the
    /// configuration; Pacemaker's `-l forever`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub permanent_attributes:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub fencing_history: Vec<FenceView>,
    /// Fencing running now on this node (the DC runs the cluster's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fencing_pending: Vec<PendingFenceView>,
    /// Tickets the configuration or the status names (crm_ticket --info).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<TicketView>,
    #[serde(default)]
    pub channel: ChannelCounters,
    /// crm_mon's counts of resource instances.
    #[serde(default)]
    pub instances: InstanceCounts,
    /// When the configuration last changed, as this node saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<LastChange>,
}

impl StatusReport {
    /// Node `node`'s attribute `name`, transient or permanent (a transient
    /// value first, as a rule reads them).
    pub fn node_attribute(&self, node: &str, name: &str) -> Option<&String> {
        self.node_attributes
            .get(node)
            .and_then(|a| a.get(name))
            .or_else(|| self.permanent_attributes.get(node)?.get(name))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot connect to {path}: {source} (is pacelined running? are you root or in group `haclient`?)"
    )]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("talking to pacelined at {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("pacelined sent an answer that is not understood: {0}")]
    Decode(String),
}

/// Sends one request and waits for its answer, at most
/// `request.answer_timeout()`: a daemon that is stopped (SIGSTOP), hung or
/// gone never hangs a client (or an agent calling a shim).
pub fn call(socket: &Path, request: &Request) -> Result<Response, ClientError> {
    let path = socket.display().to_string();
    let deadline = Instant::now() + request.answer_timeout();
    let stream = connect(socket, deadline).map_err(|source| ClientError::Connect {
        path: path.clone(),
        source,
    })?;
    let io = |source| ClientError::Io {
        path: path.clone(),
        source,
    };
    let mut line =
        serde_json::to_string(request).map_err(|e| ClientError::Decode(e.to_string()))?;
    line.push('\n');
    write_until(&stream, line.as_bytes(), deadline).map_err(io)?;
    let answer = read_line_until(&stream, deadline).map_err(io)?;
    serde_json::from_str(&answer).map_err(|e| ClientError::Decode(format!("{e}: {answer}")))
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "no answer in time (is pacelined stopped or hung?)",
    )
}

fn remaining(deadline: Instant) -> std::io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timed_out());
    }
    Ok(left)
}

/// Connects without blocking past `deadline`: a listener whose backlog is
/// full (a daemon that stopped accepting) makes a blocking connect wait
/// forever.
fn connect(socket: &Path, deadline: Instant) -> std::io::Result<UnixStream> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr};
    let addr = UnixAddr::new(socket).map_err(std::io::Error::from)?;
    let fd = nix::sys::socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(std::io::Error::from)?;
    loop {
        match nix::sys::socket::connect(fd.as_raw_fd(), &addr) {
            Ok(()) => break,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {
                remaining(deadline)?;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let stream = UnixStream::from(fd);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

fn write_until(
    mut stream: &UnixStream,
    mut bytes: &[u8],
    deadline: Instant,
) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.set_write_timeout(Some(remaining(deadline)?))?;
        match stream.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if is_timeout(&e) => return Err(timed_out()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One line (without its newline), or what came before the daemon closed.
fn read_line_until(mut stream: &UnixStream, deadline: Instant) -> std::io::Result<String> {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&chunk[..n]);
                if chunk[..n].contains(&b'\n') {
                    break;
                }
            }
            Err(e) if is_timeout(&e) => return Err(timed_out()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(end) = answer.iter().position(|&b| b == b'\n') {
        answer.truncate(end);
    }
    String::from_utf8(answer).map_err(std::io::Error::other)
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Who may send a request (see ARCHITECTURE.md, "The local API").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Members of `haclient`: the status only.
    Read,
    /// root: everything.
    Write,
}

/// The role of a peer with these credentials, or None: not let in.
pub fn role_of(uid: u32, gid: u32) -> Option<Role> {
    if uid == 0 {
        return Some(Role::Write);
    }
    let Ok(Some(group)) = nix::unistd::Group::from_name(CLIENT_GROUP) else {
        return None;
    };
    if gid == group.gid.as_raw() {
        return Some(Role::Read);
    }
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) if group.mem.contains(&user.name) => Some(Role::Read),
        _ => None,
    }
}

/// How long a client waits for the answer to a status query.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

impl Request {
    /// The role that may send it: the status is readable by `haclient`,
    /// everything else changes the cluster (or, `config_show`, shows its
    /// secrets: inline fence passwords) and needs root.
    pub fn role(&self) -> Role {
        match self {
            Request::Status | Request::Report | Request::Settled => Role::Read,
            _ => Role::Write,
        }
    }

    /// The request's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Report => "report",
            Request::Unblock => "unblock",
            Request::ConfigShow => "config_show",
            Request::Dispatch { .. } => "dispatch",
            Request::Fence { .. } => "fence",
            Request::Cleanup { .. } => "cleanup",
            Request::ConfigLoad { .. } => "config_load",
            Request::FenceConfirm { .. } => "fence_confirm",
            Request::Settled => "settled",
            Request::LogLevel { .. } => "log_level",
            Request::Ticket { .. } => "ticket",
            Request::NodeAttribute { .. } => "node_attribute",
        }
    }

    /// How long a client waits for the answer: what the daemon itself
    /// waits (a config change 15 s for the DC, a dispatched action its own
    /// timeout plus 10 s), with room for the trip.
    pub fn answer_timeout(&self) -> Duration {
        match self {
            Request::ConfigLoad { .. } => Duration::from_secs(30),
            Request::Dispatch { action } => {
                Duration::from_millis(action.timeout_ms.max(20_000)) + Duration::from_secs(30)
            }
            // Delays, every level and every device's retries.
            Request::Fence { .. } => Duration::from_secs(600),
            _ => STATUS_TIMEOUT,
        }
    }
}

/// Name of the user behind `uid`, for the records of overrides.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

/// `2026-12-01 18:40:00Z`: how the status shows a time (crm_mon's
/// `completed=` style, in UTC, without a date library).
pub fn utc_seconds(secs: i64) -> String {
    let (year, month, day, h, m, s) = civil_utc(u64::try_from(secs).unwrap_or(0));
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}Z")
}

/// (year, month, day, hour, minute, second) in UTC of seconds since the epoch.
pub fn civil_utc(secs: u64) -> (i64, i64, i64, u64, u64, u64) {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, h, m, s)
}

/// Status reports for the tests of what reads them (`paceline status`, the
/// crm_mon and crm_node shims).
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// node2's view `view_id` of `nodes` (id, name, state), `members` in it.
    pub fn membership(
        view_id: u64,
        nodes: &[(NodeId, &str, PeerState)],
        members: &[&str],
        quorum: QuorumStatus,
    ) -> ClusterStatusView {
        ClusterStatusView {
            cluster: "c".into(),
            node: "node2".into(),
            node_id: 2,
            view_id,
            members: members.iter().map(|m| m.to_string()).collect(),
            nodes: nodes
                .iter()
                .map(|&(id, name, state)| NodeView {
                    name: name.into(),
                    id,
                    state,
                    links: Vec::new(),
                    local: id == 2,
                })
                .collect(),
            quorum,
            wire: Default::default(),
            incompatible: Vec::new(),
            pauses: 0,
            warnings: Vec::new(),
            keys: Default::default(),
            protocol_version: crate::wire::PROTOCOL_VERSION,
            witness: None,
        }
    }

    /// Quorum with these votes, without wait_for_all or an override.
    pub fn quorum(
        quorate: bool,
        total_votes: u32,
        expected_votes: u32,
        quorum: u32,
    ) -> QuorumStatus {
        QuorumStatus {
            quorate,
            total_votes,
            expected_votes,
            quorum,
            waiting_for_all: false,
            unblocked: None,
            witness_vote: false,
            reason: String::new(),
        }
    }

    /// The report of `membership` with node2 as DC and nothing else known.
    pub fn report(membership: ClusterStatusView) -> StatusReport {
        StatusReport {
            membership,
            dc: Some("node2".into()),
            dc_idle: None,
            config_version: Default::default(),
            resources: Vec::new(),
            failed_actions: Vec::new(),
            cli_constraints: Vec::new(),
            standby: Vec::new(),
            maintenance: Vec::new(),
            node_attributes: Default::default(),
            permanent_attributes: Default::default(),
            fencing_history: Vec::new(),
            fencing_pending: Vec::new(),
            tickets: Vec::new(),
            channel: Default::default(),
            instances: Default::default(),
            last_change: None,
        }
    }
}
