//! The local API of `pacelined`: one JSON request per line on a unix socket,
//! one JSON answer per line. Access is checked with the peer's credentials.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::controller::{ActionRequest, ActionResult, FenceOutcome};
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    Status(Box<ClusterStatusView>),
    Report(Box<StatusReport>),
    Unblocked { by: String },
    Config { text: String, version: Version },
    ConfigApplied { version: Version },
    ActionDone(Box<ActionResult>),
    Accepted { what: String },
    Fenced(Box<FenceOutcome>),
    Error { message: String },
}

/// A resource as the status shows it (`crm_mon`'s resource list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceView {
    pub id: String,
    /// `class:provider:type`.
    pub agent: String,
    /// Started, Promoted, Unpromoted, Stopped…, per node where active.
    pub role: String,
    pub nodes: Vec<String>,
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
    #[serde(default)]
    pub fencing_history: Vec<FenceView>,
    #[serde(default)]
    pub channel: ChannelCounters,
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

/// Sends one request and waits for its answer.
pub fn call(socket: &Path, request: &Request) -> Result<Response, ClientError> {
    let path = socket.display().to_string();
    let mut stream = UnixStream::connect(socket).map_err(|source| ClientError::Connect {
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
    stream.write_all(line.as_bytes()).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).map_err(io)?;
    serde_json::from_str(&answer).map_err(|e| ClientError::Decode(format!("{e}: {answer}")))
}

/// Whether a peer with these credentials may use the API.
pub fn peer_allowed(uid: u32, gid: u32) -> bool {
    if uid == 0 {
        return true;
    }
    let Ok(Some(group)) = nix::unistd::Group::from_name(CLIENT_GROUP) else {
        return false;
    };
    if gid == group.gid.as_raw() {
        return true;
    }
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => group.mem.contains(&user.name),
        _ => false,
    }
}

/// Name of the user behind `uid`, for the records of overrides.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
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
            reason: String::new(),
        }
    }

    /// The report of `membership` with node2 as DC and nothing else known.
    pub fn report(membership: ClusterStatusView) -> StatusReport {
        StatusReport {
            membership,
            dc: Some("node2".into()),
            config_version: Default::default(),
            resources: Vec::new(),
            failed_actions: Vec::new(),
            cli_constraints: Vec::new(),
            standby: Vec::new(),
            maintenance: Vec::new(),
            node_attributes: Default::default(),
            fencing_history: Vec::new(),
            channel: Default::default(),
        }
    }
}
