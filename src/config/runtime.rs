//! What a node runs by, typed: `[cluster]`, `[membership]`, `[quorum]`, the
//! nodes' ids, votes and links, and the watchdogs of self-fencing levels.
//! The model (`ClusterConfig`) is what the scheduler plans on; this is what
//! `pacelined` binds, derives its keys from and arms. The daemon takes it
//! from the one load of the file (it has no reader of its own), and
//! `config check` refuses what the daemon would refuse to start with, at
//! file:line:column.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use paceline_fencing::config::FencingSection;

use super::document::{Document, NodeDoc};
use super::error::{Diagnostic, SourceMap};

/// The membership port of a link written without one (corosync's).
pub const DEFAULT_PORT: u16 = 5405;
/// `[cluster] authkey` when not written.
pub const DEFAULT_AUTHKEY: &str = "/etc/paceline/authkey";
/// `[cluster] state_dir` when not written.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/paceline";
/// The watchdog device of a `watchdog` fence device without `device`.
pub const DEFAULT_WATCHDOG: &str = "/dev/watchdog";
/// Links per node (the membership's limit).
pub const MAX_LINKS: usize = 8;

/// One `[[node]]` as the membership sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub name: String,
    pub id: u16,
    pub votes: u32,
    pub links: Vec<SocketAddr>,
}

/// `[quorum]` as written; what is not written is the membership's default
/// (votequorum's: two_node and wait_for_all for two nodes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quorum {
    pub two_node: Option<bool>,
    pub wait_for_all: Option<bool>,
    pub last_man_standing: bool,
    pub auto_tie_breaker: bool,
    pub expected_votes: Option<u32>,
    /// `[quorum] witness`: an etcd cluster's vote (`config::witness`).
    pub witness: Option<super::witness::Witness>,
}

/// Whether the file fences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FencingMode {
    /// No `[fencing]` section: `config check` refuses such a file; the
    /// daemon runs it with fencing off and says so in status.
    NotConfigured,
    Disabled,
    Enabled,
}

/// A watchdog this node arms when a level targeting it uses one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfFenceWatchdog {
    pub target: String,
    pub device: PathBuf,
    pub timeout: Duration,
}

/// Everything a node runs by besides the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub cluster_name: String,
    pub authkey: PathBuf,
    pub state_dir: PathBuf,
    /// `[cluster] socket`; `None`: the API's default path.
    pub socket: Option<PathBuf>,
    pub heartbeat: Duration,
    pub token_timeout: Duration,
    pub quorum: Quorum,
    pub nodes: Vec<ClusterNode>,
    pub fencing: FencingMode,
    pub watchdogs: Vec<SelfFenceWatchdog>,
    /// `[http]`: the read-only endpoint (None: off).
    pub http: Option<super::http::Http>,
    /// `[site]`: the tickets this site claims through etcd (`config::site`).
    pub site: Option<super::site::Site>,
}

impl Runtime {
    /// Whether `other` configures the same cluster membership (name,
    /// timers, quorum, nodes and links): what a running daemon cannot
    /// change without a restart.
    pub fn same_membership(&self, other: &Runtime) -> bool {
        self.cluster_name == other.cluster_name
            && self.heartbeat == other.heartbeat
            && self.token_timeout == other.token_timeout
            && self.quorum == other.quorum
            && self.nodes == other.nodes
    }

    pub fn node_name(&self, id: u16) -> String {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .map_or_else(|| format!("#{id}"), |n| n.name.clone())
    }
}

/// The runtime of a document the converter has checked; `diags` gets what
/// a node could not start with (the model's problems are the converter's).
/// `None` when anything is missing.
pub(crate) fn runtime(
    doc: &Document,
    fencing: Option<&FencingSection>,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<Runtime> {
    let before = diags.len();
    let Some(cluster) = &doc.cluster else {
        diags.push(src.diag(
            0..0,
            "no [cluster] section",
            Some("add `[cluster]` with `name = \"...\"` (the cluster's name; the nodes derive their keys from it)".into()),
        ));
        return None;
    };
    if cluster.name.get_ref().trim().is_empty() {
        diags.push(src.diag(
            cluster.name.span(),
            "[cluster] name is empty",
            Some("name the cluster, e.g. `name = \"prod\"`".into()),
        ));
    }
    if let Some(f) = doc.fencing.as_ref().filter(|f| f.enabled.is_none()) {
        let at = f.device.first().map_or(0..0, |d| d.id.span());
        diags.push(src.diag(
            at,
            "[fencing] does not say whether fencing is on",
            Some("write `enabled = true` under [fencing] (or `enabled = false` to run without fencing, unsafe for shared data)".into()),
        ));
    }
    let (heartbeat, token_timeout) = timers(doc, src, diags);
    let nodes = nodes(doc, src, diags);
    let watchdogs = fencing.map_or_else(Vec::new, |f| watchdogs(doc, f, src, diags));
    let http = super::http::http(doc, src, diags);
    let witness = super::witness::witness(doc, cluster.name.get_ref(), src, diags);
    let site = super::site::site(doc, token_timeout, src, diags);
    if diags.len() > before {
        return None;
    }
    let path = |p: &Option<toml::Spanned<String>>, default: &str| {
        PathBuf::from(p.as_ref().map_or(default, |p| p.get_ref().as_str()))
    };
    let q = doc.quorum.as_ref();
    Some(Runtime {
        cluster_name: cluster.name.get_ref().clone(),
        authkey: path(&cluster.authkey, DEFAULT_AUTHKEY),
        state_dir: path(&cluster.state_dir, DEFAULT_STATE_DIR),
        socket: cluster.socket.as_ref().map(|s| s.get_ref().into()),
        heartbeat,
        token_timeout,
        quorum: Quorum {
            two_node: q.and_then(|q| q.two_node),
            wait_for_all: q.and_then(|q| q.wait_for_all),
            last_man_standing: q.and_then(|q| q.last_man_standing).unwrap_or(false),
            auto_tie_breaker: q.and_then(|q| q.auto_tie_breaker).unwrap_or(false),
            expected_votes: q.and_then(|q| q.expected_votes.as_ref().map(|v| *v.get_ref())),
            witness,
        },
        nodes,
        fencing: match fencing {
            None => FencingMode::NotConfigured,
            Some(f) if f.enabled => FencingMode::Enabled,
            Some(_) => FencingMode::Disabled,
        },
        watchdogs,
        http,
        site,
    })
}

/// What keeps a runnable file with fencing on from starting anything,
/// refused where it is written by `config check` (the daemon still starts
/// such a file and its status says why nothing starts): the fencing readiness gate starts no
/// resource until every node's first level passed a monitor, so a node
/// without a `[[fencing.level]]` would leave the whole cluster stopped
/// with `config check` saying ok; and a `stonith:` primitive (as crm and
/// pcs write fence devices) is no fence device here.
pub(crate) fn fencing_runs(
    doc: &Document,
    fencing: Option<&FencingSection>,
    src: &SourceMap,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for p in doc
        .primitive
        .iter()
        .filter(|p| p.agent.get_ref().starts_with("stonith:"))
    {
        let agent = p.agent.get_ref().trim_start_matches("stonith:");
        diags.push(src.diag(
            p.agent.span(),
            format!("`{}` is a stonith: primitive, which fences nothing here", p.id.get_ref()),
            Some(format!(
                "declare it under [[fencing.device]] with `type = \"agent\"`, `agent = \"{agent}\"` and its params, and name it in a [[fencing.level]] per node"
            )),
        ));
    }
    let Some(f) = fencing.filter(|f| f.enabled) else {
        return diags;
    };
    for n in &doc.node {
        let name = n.name.get_ref();
        // The readiness gate's rule: the node's first (lowest index) level
        // has devices to monitor.
        let first = f.levels_for(name).into_iter().min_by_key(|l| l.index);
        if first.is_none_or(|l| l.devices.is_empty()) {
            diags.push(src.diag(
                n.name.span(),
                format!("node `{name}` has no fencing level: with fencing on, no resource starts until every node can be fenced"),
                Some(format!(
                    "add a [[fencing.level]] with `target = \"{name}\"`, `index = 1` and the devices that fence it (or set `enabled = false` under [fencing], unsafe for shared data)"
                )),
            ));
        }
    }
    diags
}

/// The membership timers (`Document::timers`: written, else derived from
/// the budget). The converter checks written ones against each other; a
/// heartbeat of 0, or one too slow for the default token timeout, is
/// refused here.
fn timers(doc: &Document, src: &SourceMap, diags: &mut Vec<Diagnostic>) -> (Duration, Duration) {
    let t = doc.timers();
    let (heartbeat, token_timeout) = (t.heartbeat, t.token_timeout);
    let m = doc.membership.as_ref();
    let written_heartbeat = m.and_then(|m| m.heartbeat.as_ref());
    let token_derived = m.is_none_or(|m| m.token_timeout.is_none());
    if let Some(h) = written_heartbeat {
        if heartbeat.is_zero() {
            diags.push(src.diag(
                h.span(),
                "heartbeat is 0",
                Some("write a heartbeat such as \"200ms\", or leave it out to derive it".into()),
            ));
        } else if token_derived && doc.failover_budget.is_none() && token_timeout < heartbeat * 2 {
            diags.push(src.diag(
                h.span(),
                format!(
                    "heartbeat ({}ms) is too slow for the default token_timeout ({}ms), which must be at least twice the heartbeat",
                    heartbeat.as_millis(),
                    token_timeout.as_millis()
                ),
                Some("lower heartbeat, or write token_timeout (or failover_budget) too".into()),
            ));
        }
    }
    (heartbeat, token_timeout)
}

/// The nodes with their links resolved (a link without a port gets
/// `[membership] port`); every node needs the same number of links, since
/// link N of each node is one network.
fn nodes(doc: &Document, src: &SourceMap, diags: &mut Vec<Diagnostic>) -> Vec<ClusterNode> {
    let Some(first) = doc.node.first() else {
        diags.push(src.diag(
            0..0,
            "no [[node]] is configured",
            Some("add one [[node]] (name, id, links) per cluster node".into()),
        ));
        return Vec::new();
    };
    let port = doc
        .membership
        .as_ref()
        .and_then(|m| m.port.as_ref())
        .map_or(DEFAULT_PORT, |p| *p.get_ref());
    let mut out = Vec::new();
    for n in &doc.node {
        if n.links.is_empty() {
            diags.push(src.diag(
                n.name.span(),
                format!("node `{}` has no links", n.name.get_ref()),
                Some("add `links = [\"198.18.0.1\"]`: the node's address on each cluster network".into()),
            ));
        } else if n.links.len() != first.links.len() && !first.links.is_empty() {
            diags.push(src.diag(
                n.name.span(),
                format!(
                    "node `{}` has {} links but node `{}` has {}",
                    n.name.get_ref(),
                    n.links.len(),
                    first.name.get_ref(),
                    first.links.len()
                ),
                Some("give every node one address per cluster network, in the same order".into()),
            ));
        }
        out.push(node(n, port));
    }
    out
}

/// One node; its id and addresses were checked by the converter (an
/// address that does not parse is left out here).
fn node(n: &NodeDoc, port: u16) -> ClusterNode {
    let links = n
        .links
        .iter()
        .filter_map(|l| {
            let l = l.get_ref();
            l.parse::<SocketAddr>()
                .ok()
                .or_else(|| l.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, port)))
        })
        .collect();
    ClusterNode {
        name: n.name.get_ref().clone(),
        id: u16::try_from(*n.id.get_ref()).unwrap_or(0),
        votes: n.votes.unwrap_or(1),
        links,
    }
}

/// The watchdogs of enabled fencing's levels: the node a level targets
/// arms the level's `watchdog` devices, which need a `watchdog_timeout`.
fn watchdogs(
    doc: &Document,
    f: &FencingSection,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Vec<SelfFenceWatchdog> {
    let mut out = Vec::new();
    if !f.enabled {
        return out;
    }
    for level in &f.levels {
        for id in &level.devices {
            let Some(dev) = f.device(id).filter(|d| d.kind == "watchdog") else {
                continue;
            };
            let Some(&timeout) = dev.durations.get("watchdog_timeout") else {
                let at = doc
                    .fencing
                    .iter()
                    .flat_map(|f| &f.device)
                    .find(|d| d.id.get_ref() == id)
                    .map_or(0..0, |d| d.id.span());
                diags.push(src.diag(
                    at,
                    format!("watchdog device `{id}` has no watchdog_timeout"),
                    Some("set watchdog_timeout (e.g. \"5s\"): the node resets that long after it stops feeding".into()),
                ));
                continue;
            };
            let device = dev
                .settings
                .get("device")
                .and_then(|v| v.as_str())
                .unwrap_or(DEFAULT_WATCHDOG);
            out.push(SelfFenceWatchdog {
                target: level.target.clone(),
                device: device.into(),
                timeout,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_node_str, load_runnable_str};

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
[fencing]
enabled = false
"#;

    fn runtime(text: &str) -> Runtime {
        load_node_str(text, "c.toml").unwrap().runtime.unwrap()
    }

    fn refusal(text: &str) -> String {
        load_node_str(text, "c.toml").unwrap_err().to_string()
    }

    #[test]
    fn reads_the_sections_a_node_runs_by() {
        let s = runtime(GOOD);
        assert_eq!(s.heartbeat, Duration::from_millis(50));
        assert_eq!(s.quorum, Quorum::default());
        assert_eq!(s.nodes[0].links[1].port(), 6000);
        assert_eq!(s.nodes[1].links[0].port(), DEFAULT_PORT);
        assert_eq!(s.fencing, FencingMode::Disabled);
        assert_eq!(s.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        let off = runtime(&GOOD.replace("[fencing]\nenabled = false\n", ""));
        assert_eq!(off.fencing, FencingMode::NotConfigured);
    }

    #[test]
    fn timers_not_written_come_from_the_failover_budget() {
        let text = "failover_budget = \"4s\"\n[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"a\"\nid = 1\nlinks = [\"198.18.0.1\"]\n";
        let s = runtime(text);
        assert_eq!(s.token_timeout, Duration::from_secs(2));
        assert_eq!(s.heartbeat, Duration::from_millis(400));
        let explicit = text.replace(
            "[fencing]",
            "[membership]\nheartbeat = \"100ms\"\n[fencing]",
        );
        assert_eq!(runtime(&explicit).heartbeat, Duration::from_millis(100));
    }

    /// Issue 16: `config check` said "ok: 0 nodes" to files pacelined then
    /// refused. What a node cannot start with is refused at its place.
    #[test]
    fn what_a_node_cannot_start_with_is_refused_where_it_is_written() {
        let e = refusal(&GOOD.replace("[cluster]\nname = \"c\"\n", ""));
        assert!(e.contains("no [cluster] section"), "{e}");
        let e = refusal(&GOOD.replace("links = [\"198.18.0.2\", \"198.18.1.2\"]\n", ""));
        assert!(
            e.contains("c.toml:12:8") && e.contains("node `b` has no links"),
            "{e}"
        );
        let e = refusal(&GOOD.replace(", \"198.18.1.2\"", ""));
        assert!(e.contains("node `b` has 1 links but node `a` has 2"), "{e}");
        let e = refusal(&GOOD.replace("\"50ms\"", "\"0ms\""));
        assert!(e.contains("heartbeat is 0"), "{e}");
        let e = refusal(&GOOD.replace("id = 2", "id = 1"));
        assert!(e.contains("duplicate node id"), "{e}");
        let e = refusal(&GOOD.replace("\"50ms\"", "\"50 parsecs\""));
        assert!(e.contains("heartbeat") && e.contains("parsecs"), "{e}");
        let e = refusal("[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n");
        assert!(e.contains("no [[node]]"), "{e}");
        // `config check` requires [fencing] spelled out as well.
        let e = load_runnable_str(&GOOD.replace("[fencing]\nenabled = false\n", ""), "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no [fencing] section"), "{e}");
    }

    #[test]
    fn fencing_must_say_whether_it_is_on() {
        let text = GOOD.replace(
            "[fencing]\nenabled = false\n",
            "[fencing]\n[[fencing.device]]\nid = \"bmc\"\ntype = \"redfish\"\nurl = \"https://198.18.2.1\"\nusername = \"u\"\npassword_file = \"/p\"\n\
             [[fencing.level]]\ntarget = \"a\"\nindex = 1\ndevices = [\"bmc\"]\n\
             [[fencing.level]]\ntarget = \"b\"\nindex = 1\ndevices = [\"bmc\"]\n",
        );
        let e = refusal(&text);
        assert!(e.contains("does not say whether fencing is on"), "{e}");
        assert_eq!(
            runtime(&text.replace("[fencing]\n", "[fencing]\nenabled = true\n")).fencing,
            FencingMode::Enabled
        );
    }

    #[test]
    fn fencing_that_would_start_nothing_is_refused_where_it_is_written() {
        let device = "[fencing]\nenabled = true\n[[fencing.device]]\nid = \"bmc\"\ntype = \"redfish\"\nurl = \"https://198.18.2.1\"\nusername = \"u\"\npassword_file = \"/p\"\n";
        let check_refusal = |t: &str| load_runnable_str(t, "c.toml").unwrap_err().to_string();
        let level = |n: &str| {
            format!("[[fencing.level]]\ntarget = \"{n}\"\nindex = 1\ndevices = [\"bmc\"]\n")
        };
        // A node without a level: the readiness gate would start nothing.
        let text = GOOD.replace(
            "[fencing]\nenabled = false\n",
            &format!("{device}{}", level("a")),
        );
        let e = check_refusal(&text);
        assert!(e.contains("node `b` has no fencing level"), "{e}");
        assert!(e.contains("c.toml:12:8"), "points at node b's name: {e}");
        assert!(!e.contains("node `a`"), "{e}");
        let both = format!("{text}{}", level("b"));
        assert!(load_runnable_str(&both, "c.toml").is_ok());
        // A stonith: primitive fences nothing: said so, with the form that does.
        let e = check_refusal(&format!(
            "{both}[[primitive]]\nid = \"f\"\nagent = \"stonith:fence_ipmilan\"\n"
        ));
        assert!(
            e.contains("`f` is a stonith: primitive, which fences nothing here"),
            "{e}"
        );
        assert!(e.contains("agent = \"fence_ipmilan\""), "{e}");
        // Only `config check` refuses them: the daemon's loads still take
        // such a file (and the replicated document of an older one).
        assert!(load_node_str(&text, "c.toml").is_ok());
        assert!(crate::config::load_cluster_str_fencing_optional(&text, "c.toml").is_ok());
    }

    #[test]
    fn self_fencing_watchdogs_are_the_levels_watchdog_devices() {
        let third = "[[node]]\nname = \"c\"\nid = 3\nlinks = [\"198.18.0.3\", \"198.18.1.3\"]\n";
        let fencing = "[fencing]\nenabled = true\n[[fencing.device]]\nid = \"wd\"\ntype = \"watchdog\"\nwatchdog_timeout = \"3s\"\n[[fencing.level]]\ntarget = \"c\"\nindex = 1\ndevices = [\"wd\"]\n\
             [[fencing.device]]\nid = \"bmc\"\ntype = \"redfish\"\nurl = \"https://198.18.2.1\"\nusername = \"u\"\npassword_file = \"/p\"\n\
             [[fencing.level]]\ntarget = \"a\"\nindex = 1\ndevices = [\"bmc\"]\n\
             [[fencing.level]]\ntarget = \"b\"\nindex = 1\ndevices = [\"bmc\"]\n";
        let text = GOOD.replace("[fencing]\nenabled = false\n", &format!("{third}{fencing}"));
        let s = runtime(&text);
        assert_eq!(
            s.watchdogs,
            vec![SelfFenceWatchdog {
                target: "c".into(),
                device: DEFAULT_WATCHDOG.into(),
                timeout: Duration::from_secs(3),
            }]
        );
        let e = refusal(&text.replace("watchdog_timeout = \"3s\"\n", ""));
        assert!(
            e.contains("watchdog device `wd` has no watchdog_timeout"),
            "{e}"
        );
    }
}
