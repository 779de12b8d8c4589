//! The sections of the cluster file the daemon needs (`[cluster]`,
//! `[membership]`, `[quorum]`, `[[node]]`), read leniently: other sections and
//! unknown keys belong to the config module and are ignored here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::api::DEFAULT_SOCKET;
use crate::membership::{MAX_LINKS, QuorumConfig};
use crate::wire::NodeId;

pub const DEFAULT_PORT: u16 = 5405;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Deserialize)]
struct RawFile {
    cluster: RawCluster,
    #[serde(default)]
    membership: RawMembership,
    #[serde(default)]
    quorum: RawQuorum,
    #[serde(default)]
    node: Vec<RawNode>,
    fencing: Option<RawFencing>,
}

/// The parts of `[fencing]` the daemon itself acts on: whether fencing is
/// on, and the watchdog devices of levels that target this node (which the
/// daemon arms and feeds for self-fencing). Devices are run by the CLI and,
/// later, the controller through the fencing crate.
#[derive(Debug, Deserialize)]
struct RawFencing {
    enabled: bool,
    #[serde(default)]
    device: Vec<RawFenceDevice>,
    #[serde(default)]
    level: Vec<RawFenceLevel>,
}

#[derive(Debug, Deserialize)]
struct RawFenceDevice {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    device: Option<PathBuf>,
    watchdog_timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawFenceLevel {
    target: String,
    devices: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawCluster {
    name: String,
    authkey: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    socket: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct RawMembership {
    heartbeat: Option<String>,
    token_timeout: Option<String>,
    port: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
struct RawQuorum {
    two_node: Option<bool>,
    wait_for_all: Option<bool>,
    #[serde(default)]
    last_man_standing: bool,
    #[serde(default)]
    auto_tie_breaker: bool,
    expected_votes: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct RawNode {
    name: String,
    id: u32,
    votes: Option<u32>,
    links: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSettings {
    pub name: String,
    pub id: NodeId,
    pub votes: u32,
    pub links: Vec<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FencingMode {
    /// No `[fencing]` section: the config module refuses such a cluster
    /// file; the daemon treats it as disabled and says so.
    NotConfigured,
    Disabled,
    Enabled,
}

/// A watchdog this node arms for self-fencing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfFenceWatchdog {
    pub target: String,
    pub device: PathBuf,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub fencing: FencingMode,
    pub watchdogs: Vec<SelfFenceWatchdog>,
    pub cluster_name: String,
    pub authkey: PathBuf,
    pub state_dir: PathBuf,
    pub socket: PathBuf,
    pub heartbeat: Duration,
    pub token_timeout: Duration,
    pub quorum: QuorumConfig,
    pub nodes: Vec<NodeSettings>,
}

impl Settings {
    /// Whether `other` configures the same cluster membership (name,
    /// timers, quorum, nodes and links): what a running daemon cannot
    /// change without a restart.
    pub fn same_membership(&self, other: &Settings) -> bool {
        self.cluster_name == other.cluster_name
            && self.heartbeat == other.heartbeat
            && self.token_timeout == other.token_timeout
            && self.quorum == other.quorum
            && self.nodes == other.nodes
    }

    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SettingsError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| SettingsError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| SettingsError::Invalid {
            path: path.to_owned(),
            message,
        };
        if raw.cluster.name.trim().is_empty() {
            return Err(invalid("[cluster] name must not be empty".into()));
        }
        let duration = |key: &str, value: &Option<String>, default: Duration| match value {
            Some(v) => crate::config::parse_duration(v)
                .map_err(|e| invalid(format!("[membership] {key}: {e}"))),
            None => Ok(default),
        };
        // Timers not written out come from the config module, which derives
        // them from `failover_budget` (the same numbers `config check` and
        // the scheduler see).
        let derived = crate::config::parse_document(text, &path.display().to_string())
            .ok()
            .map(|d| d.timers());
        let heartbeat = duration(
            "heartbeat",
            &raw.membership.heartbeat,
            derived.map_or(Duration::from_millis(200), |t| {
                Duration::from_millis(t.heartbeat_ms)
            }),
        )?;
        let token_timeout = duration(
            "token_timeout",
            &raw.membership.token_timeout,
            derived.map_or(Duration::from_secs(1), |t| {
                Duration::from_millis(t.token_timeout_ms)
            }),
        )?;
        if heartbeat.is_zero() || token_timeout < heartbeat * 2 {
            return Err(invalid(format!(
                "[membership] token_timeout ({token_timeout:?}) must be at least twice heartbeat ({heartbeat:?}) and heartbeat above 0"
            )));
        }
        let port = raw.membership.port.unwrap_or(DEFAULT_PORT);
        if raw.node.is_empty() {
            return Err(invalid(
                "no [[node]] is configured; add one per cluster node".into(),
            ));
        }
        let mut nodes = Vec::new();
        let mut ids = BTreeSet::new();
        let mut names = BTreeSet::new();
        for n in &raw.node {
            let id = NodeId::try_from(n.id)
                .ok()
                .filter(|&id| id >= 1)
                .ok_or_else(|| {
                    invalid(format!(
                        "node `{}`: id {} is outside 1..=65535",
                        n.name, n.id
                    ))
                })?;
            if !ids.insert(id) {
                return Err(invalid(format!("node `{}`: id {id} is used twice", n.name)));
            }
            if !names.insert(n.name.clone()) {
                return Err(invalid(format!("node name `{}` is used twice", n.name)));
            }
            if n.links.is_empty() || n.links.len() > MAX_LINKS {
                return Err(invalid(format!(
                    "node `{}`: {} links given, 1 to {MAX_LINKS} are needed",
                    n.name,
                    n.links.len()
                )));
            }
            let mut links = Vec::new();
            for link in &n.links {
                let addr = match link.parse::<SocketAddr>() {
                    Ok(a) => a,
                    Err(_) => SocketAddr::new(
                        link.parse::<IpAddr>().map_err(|_| {
                            invalid(format!(
                                "node `{}`: link `{link}` is not an IP address or address:port",
                                n.name
                            ))
                        })?,
                        port,
                    ),
                };
                links.push(addr);
            }
            nodes.push(NodeSettings {
                name: n.name.clone(),
                id,
                votes: n.votes.unwrap_or(1),
                links,
            });
        }
        let link_count = nodes[0].links.len();
        if let Some(n) = nodes.iter().find(|n| n.links.len() != link_count) {
            return Err(invalid(format!(
                "node `{}` has {} links but node `{}` has {link_count}; every node needs the same links",
                n.name,
                n.links.len(),
                nodes[0].name
            )));
        }
        let votes: BTreeMap<NodeId, u32> = nodes.iter().map(|n| (n.id, n.votes)).collect();
        let mut quorum = QuorumConfig::with_defaults(votes);
        if let Some(t) = raw.quorum.two_node {
            quorum.two_node = t;
            quorum.wait_for_all = t;
        }
        if let Some(w) = raw.quorum.wait_for_all {
            quorum.wait_for_all = w;
        }
        if quorum.two_node && nodes.len() != 2 {
            return Err(invalid(format!(
                "[quorum] two_node = true needs exactly 2 nodes, {} are configured",
                nodes.len()
            )));
        }
        quorum.last_man_standing = raw.quorum.last_man_standing;
        quorum.auto_tie_breaker = raw.quorum.auto_tie_breaker;
        quorum.expected_votes = raw.quorum.expected_votes;
        let fencing = match &raw.fencing {
            None => FencingMode::NotConfigured,
            Some(f) if f.enabled => FencingMode::Enabled,
            Some(_) => FencingMode::Disabled,
        };
        let mut watchdogs = Vec::new();
        if let Some(f) = raw.fencing.as_ref().filter(|f| f.enabled) {
            for level in &f.level {
                for id in &level.devices {
                    let Some(dev) = f
                        .device
                        .iter()
                        .find(|d| &d.id == id && d.kind == "watchdog")
                    else {
                        continue;
                    };
                    let timeout = match &dev.watchdog_timeout {
                        Some(t) => crate::config::parse_duration(t).map_err(|e| {
                            invalid(format!("[[fencing.device]] {id}: watchdog_timeout: {e}"))
                        })?,
                        None => {
                            return Err(invalid(format!(
                                "[[fencing.device]] {id}: set watchdog_timeout (e.g. \"5s\")"
                            )));
                        }
                    };
                    watchdogs.push(SelfFenceWatchdog {
                        target: level.target.clone(),
                        device: dev.device.clone().unwrap_or_else(|| "/dev/watchdog".into()),
                        timeout,
                    });
                }
            }
        }
        if !watchdogs.is_empty() && raw.node.len() == 2 {
            return Err(invalid(
                "watchdog fencing is unsafe in a two-node cluster: both halves of a split keep quorum (two_node) and neither would reset; fence through a BMC (redfish or ipmi), or add a third node".into(),
            ));
        }
        Ok(Self {
            fencing,
            watchdogs,
            cluster_name: raw.cluster.name,
            authkey: raw
                .cluster
                .authkey
                .unwrap_or_else(|| "/etc/paceline/authkey".into()),
            state_dir: raw
                .cluster
                .state_dir
                .unwrap_or_else(|| "/var/lib/paceline".into()),
            socket: raw.cluster.socket.unwrap_or_else(|| DEFAULT_SOCKET.into()),
            heartbeat,
            token_timeout,
            quorum,
            nodes,
        })
    }

    pub fn node_name(&self, id: NodeId) -> String {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .map_or_else(|| format!("#{id}"), |n| n.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[cluster]
name = "c"
[membership]
heartbeat = "50ms"
token_timeout = "250ms"
[[node]]
name = "a"
id = 1
links = ["198.18.0.1", "198.18.1.1:6000"]
[[node]]
name = "b"
id = 2
links = ["198.18.0.2", "198.18.1.2"]
[[primitive]]
id = "ignored"
"#;

    #[test]
    fn reads_contract_sections_and_defaults() {
        let s = Settings::parse(Path::new("c.toml"), GOOD).unwrap();
        assert_eq!(s.heartbeat, Duration::from_millis(50));
        assert!(s.quorum.two_node && s.quorum.wait_for_all);
        assert_eq!(s.nodes[0].links[1].port(), 6000);
        assert_eq!(s.nodes[1].links[0].port(), DEFAULT_PORT);
    }

    #[test]
    fn timers_not_written_come_from_the_failover_budget() {
        let text = "failover_budget = \"4s\"\n[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"a\"\nid = 1\nlinks = [\"198.18.0.1\"]\n";
        let s = Settings::parse(Path::new("c.toml"), text).unwrap();
        assert_eq!(s.token_timeout, Duration::from_secs(2));
        assert_eq!(s.heartbeat, Duration::from_millis(400));
        let explicit = text.replace(
            "[fencing]",
            "[membership]\nheartbeat = \"100ms\"\n[fencing]",
        );
        let s = Settings::parse(Path::new("c.toml"), &explicit).unwrap();
        assert_eq!(s.heartbeat, Duration::from_millis(100));
    }

    #[test]
    fn bad_values_are_named() {
        let bad = GOOD.replace("\"50ms\"", "\"50 parsecs\"");
        let e = Settings::parse(Path::new("c.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("heartbeat") && e.contains("parsecs"), "{e}");
        let bad = GOOD.replace("id = 2", "id = 1");
        assert!(
            Settings::parse(Path::new("c.toml"), &bad)
                .unwrap_err()
                .to_string()
                .contains("used twice")
        );
        let bad = GOOD.replace("\"198.18.0.2\", ", "");
        assert!(
            Settings::parse(Path::new("c.toml"), &bad)
                .unwrap_err()
                .to_string()
                .contains("same links")
        );
    }
}
