//! Compat shims so Pacemaker-aware agents run unmodified: `crm_attribute`,
//! `crm_master`, `attrd_updater`, `crm_node`, `crm_mon`, `cibadmin` (the
//! one query rabbitmq-cluster makes, see `cibadmin`) and `pacemakerd`
//! (which only tells its version: resource-agents' `ocf_local_nodename`
//! asks `crm_node -n` only when `pacemakerd -$` names a Pacemaker newer
//! than 1.1.8, and takes the host name otherwise) are symlinks to
//! the paceline binary (dispatched on argv[0]) in a directory put first on
//! the agents' PATH. Transient attributes an agent sets go to a local file
//! under the state directory, which pacelined polls and replicates through
//! the DC; a query answers from that file first (what this node's agents
//! wrote most recently), then from the replicated status (what other nodes
//! wrote), then from the permanent node attributes. Permanent ones
//! (`crm_attribute -l forever`, or `--node` without a lifetime: Pacemaker's
//! CIB `<nodes>`) go through pacelined to the DC (`set_permanent`,
//! answered once a quorum committed them) and a fence keeps them; a
//! `-l forever` query reads them first. A `crm_attribute --type
//! crm_config` option is cluster-wide: the newest any node set
//! (`cluster_option`).

pub mod cibadmin;
pub mod crm_mon;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::executor::agent_env::{
    ATTR_FILE_ENV, Attributes, DEFAULT_ATTR_FILE, NODE_ENV, PACEMAKER_COMPAT_VERSION, SHIM_NAMES,
    SOCKET_ENV, read_attributes, update_attributes,
};

/// Pacemaker's CRM_EX_NOSUCH, which agents test for "attribute not set".
const EXIT_NO_SUCH: u8 = 105;
const EXIT_USAGE: u8 = 64;
/// Pacemaker's CRM_EX_DISCONNECT: the cluster could not be reached.
const EXIT_DISCONNECT: u8 = 102;

fn daemon_socket() -> PathBuf {
    std::env::var_os(SOCKET_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::api::DEFAULT_SOCKET))
}

/// The membership as pacelined sees it, if it runs.
fn cluster_status() -> Option<crate::api::ClusterStatusView> {
    match crate::api::call(&daemon_socket(), &crate::api::Request::Status) {
        Ok(crate::api::Response::Status(s)) => Some(*s),
        _ => None,
    }
}

/// The whole status (resources, replicated node attributes), if pacelined
/// runs.
fn cluster_report() -> Option<crate::api::StatusReport> {
    match crate::api::call(&daemon_socket(), &crate::api::Request::Report) {
        Ok(crate::api::Response::Report(r)) => Some(*r),
        _ => None,
    }
}

/// `crm_node` as Pacemaker's agents call it: `-n` name, `-i` id, `-q`
/// quorum (1/0), `-l` "ID NAME STATE" per node, `-p` the partition's member
/// names on one line. With pacelined running the answers are the cluster's
/// membership; without it (an agent run by hand through `resource exec`)
/// this node answers its own name and id alone, but never "quorate": `-q`
/// fails (exit 102) when no daemon answers.
fn crm_node(
    args: &[String],
    local: &str,
    status: Option<&crate::api::ClusterStatusView>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    use crate::membership::PeerState;
    let option = args.first().map(String::as_str);
    let text = match (option, status) {
        (Some("-n" | "--name") | None, Some(s)) => s.node.clone(),
        (Some("-n" | "--name") | None, None) => local.to_string(),
        (Some("-i" | "--cluster-id"), Some(s)) => s.node_id.to_string(),
        (Some("-i" | "--cluster-id"), None) => "1".to_string(),
        (Some("-q" | "--quorum"), Some(s)) => if s.quorum.quorate { "1" } else { "0" }.to_string(),
        (Some("-q" | "--quorum"), None) => {
            // Fail closed: an agent asking whether it may act must never
            // hear "quorate" from a daemon that did not answer (stopped,
            // hung or not running). Pacemaker's crm_node fails the same way.
            let _ = writeln!(
                err,
                "crm_node: no answer from pacelined (is it running?): quorum unknown"
            );
            return EXIT_DISCONNECT;
        }
        (Some("-l" | "--list"), Some(s)) => s
            .nodes
            .iter()
            .map(|n| {
                let state = match n.state {
                    PeerState::Online => "member",
                    PeerState::Offline | PeerState::Left => "lost",
                };
                format!("{} {} {state}", n.id, n.name)
            })
            .collect::<Vec<_>>()
            .join("\n"),
        (Some("-l" | "--list"), None) => format!("1 {local} member"),
        (Some("-p" | "--partition"), Some(s)) => s.members.join(" "),
        (Some("-p" | "--partition"), None) => local.to_string(),
        (Some(o), _) => {
            let _ = writeln!(
                err,
                "crm_node: unsupported option {o} (supported: -n, -i, -q, -l, -p)"
            );
            return EXIT_USAGE;
        }
    };
    let _ = writeln!(out, "{text}");
    0
}

/// If the program was invoked under a shim's name, runs that shim.
pub fn dispatch(argv0: &str, args: &[String]) -> Option<u8> {
    let name = Path::new(argv0).file_name()?.to_str()?;
    if !SHIM_NAMES.contains(&name) {
        return None;
    }
    let file = std::env::var_os(ATTR_FILE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ATTR_FILE));
    let node = std::env::var(NODE_ENV).unwrap_or_else(|_| crate::executor::ocf::local_node_name());
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    Some(run_shim(name, args, &file, &node, &mut out, &mut err))
}

/// `pacemakerd -$`: the version line agents parse; anything else is
/// refused (pacelined is the cluster daemon here).
fn pacemakerd(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match args.first().map(String::as_str) {
        Some("-$" | "--version") => {
            let _ = writeln!(
                out,
                "Pacemaker {PACEMAKER_COMPAT_VERSION} (agent interface of paceline {})",
                env!("CARGO_PKG_VERSION")
            );
            0
        }
        _ => {
            let _ = writeln!(
                err,
                "pacemakerd: this is paceline's compatibility shim; it only answers -$ (run pacelined for the cluster)"
            );
            EXIT_USAGE
        }
    }
}

#[derive(Debug, Default)]
struct Request {
    name: Option<String>,
    value: Option<String>,
    node: Option<String>,
    query: bool,
    delete: bool,
    quiet: bool,
    default: Option<String>,
    promotion: Option<String>,
    /// `--type crm_config`: a cluster-wide option, not a node's attribute.
    cluster_wide: bool,
    /// `-l`/`--lifetime` (`forever`, `reboot`), or what `--type nodes`
    /// (forever) and `--type status` (reboot) say.
    lifetime: Option<String>,
}

impl Request {
    /// Whether this is a permanent node attribute, Pacemaker's `<nodes>`
    /// section: `crm_attribute -l forever` (or `--type nodes`), and
    /// `crm_attribute --node N` without a lifetime (its default there).
    /// Promotion scores (`crm_master`, `--promotion`) default to reboot;
    /// `attrd_updater`'s are transient.
    fn permanent(&self, shim: &str) -> bool {
        if shim != "crm_attribute" || self.promotion.is_some() || self.cluster_wide {
            return false;
        }
        match self.lifetime.as_deref() {
            Some(l) => l == "forever",
            None => self.node.is_some(),
        }
    }
}

/// Strips a clone instance suffix ("db:1" -> "db"), as promotion scores
/// belong to the clone, not to one instance.
fn base_instance(rsc: &str) -> &str {
    rsc.split(':').next().unwrap_or(rsc)
}

fn parse(shim: &str, args: &[String]) -> Result<Request, String> {
    let mut r = Request::default();
    let mut i = 0;
    while i < args.len() {
        let raw = args[i].as_str();
        let (opt, inline) = match raw.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (raw, None),
        };
        let value = |i: &mut usize| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            *i += 1;
            args.get(*i)
                .cloned()
                .ok_or_else(|| format!("{shim}: option {opt} needs a value"))
        };
        match opt {
            "-n" | "--name" if shim != "crm_node" => r.name = Some(value(&mut i)?),
            "-v" | "--value" | "-U" | "--update" | "-B" | "--update-both" => {
                r.value = Some(value(&mut i)?)
            }
            "-N" | "--node" => r.node = Some(value(&mut i)?),
            "-G" | "--query" | "-Q" => r.query = true,
            "-D" | "--delete" => r.delete = true,
            "-q" | "--quiet" => r.quiet = true,
            "-d" | "--default" => r.default = Some(value(&mut i)?),
            "-p" | "--promotion" if shim == "crm_attribute" => {
                r.promotion = Some(inline.clone().unwrap_or_default())
            }
            "-t" | "--type" if shim == "crm_attribute" => match value(&mut i)?.as_str() {
                "crm_config" => r.cluster_wide = true,
                "nodes" => r.lifetime = Some("forever".into()),
                "status" => r.lifetime = Some("reboot".into()),
                _ => {}
            },
            "-l" | "--lifetime" => r.lifetime = Some(value(&mut i)?),
            // Delay, scope: not kept.
            "-t" | "--type" | "-d_" | "--delay" | "-i" | "--id" | "-s" | "--set-name" | "-z"
            | "--utilization" => {
                value(&mut i)?;
            }
            "-r" | "--resource" if shim == "crm_attribute" => {
                r.promotion = Some(value(&mut i)?);
            }
            "-A" | "--all" | "-P" | "--private" | "-W" | "--wait" => {}
            other => return Err(format!("{shim}: unsupported option {other}")),
        }
        i += 1;
    }
    Ok(r)
}

/// An attribute as the replicated status holds it (set by another node's
/// agents, or by this node's before the local file was last replaced),
/// else as the configuration does (`[[node]] attributes`: Pacemaker's
/// permanent, `-l forever`, attributes, which an administrator sets).
/// Tests set PACELINE_SOCKET to a path where nothing listens.
fn replicated(node: &str, name: &str) -> Option<String> {
    let report = cluster_report()?;
    let of = |attrs: &std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, String>,
    >| { attrs.get(node).and_then(|a| a.get(name)).cloned() };
    of(&report.node_attributes).or_else(|| of(&report.permanent_attributes))
}

/// Beside a cluster-wide option, the wall-clock time (ms) it was set.
const SET_AT: &str = ".set-at";

/// `crm_attribute --type crm_config`: a cluster-wide option, as
/// resource-agents' mysql keeps its replication source (`NAME_REPL_INFO`)
/// for every node to read. Pacemaker writes it to the CIB's crm_config;
/// here it is a transient attribute of the node that set it, with the
/// time it did (`NAME.set-at`), and a query answers the newest any node
/// set (this node's file first: its newest write may not be replicated
/// yet). Nodes' clocks must agree within the time between two settings.
fn cluster_option(req: &Request, name: &str, file: &Path, local: &str, out: &mut dyn Write) -> u8 {
    let stamp = format!("{name}{SET_AT}");
    if req.delete || req.value.is_some() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let change = |attrs: &mut Attributes| {
            let mine = attrs.entry(local.to_string()).or_default();
            match &req.value {
                Some(v) if !req.delete => {
                    mine.insert(name.to_string(), v.clone());
                    mine.insert(stamp.clone(), now.to_string());
                }
                _ => {
                    mine.remove(name);
                    mine.remove(&stamp);
                }
            }
        };
        return match update_attributes(file, change) {
            Ok(()) => 0,
            Err(_) => 1,
        };
    }
    let newest = |attrs: &Attributes| -> Option<(u128, String)> {
        attrs
            .values()
            .filter_map(|a| {
                let at = a.get(&stamp)?.parse::<u128>().ok()?;
                Some((at, a.get(name)?.clone()))
            })
            .max()
    };
    let here = newest(&read_attributes(file));
    let there = cluster_report().and_then(|r| newest(&r.node_attributes));
    match here.max(there).map(|(_, v)| v).or(req.default.clone()) {
        Some(v) if req.quiet => {
            let _ = writeln!(out, "{v}");
            0
        }
        Some(v) => {
            let _ = writeln!(out, "scope=crm_config  name={name} value={v}");
            0
        }
        None => EXIT_NO_SUCH,
    }
}

/// What became of a permanent attribute's change.
enum Permanent {
    /// Committed by a quorum.
    Done,
    /// Refused or not known to be done: the agent retries (Pacemaker's
    /// crm_attribute fails the same way when the CIB does not answer).
    Failed,
    /// No daemon runs (an agent run by hand), or the view speaks protocol
    /// version 4 (a member of release 0.1.0, which knows no permanent
    /// attributes): kept as a transient attribute, as 0.1.0 did.
    Unavailable,
}

/// `crm_attribute -l forever`: through pacelined and the DC, answered
/// once a quorum committed it.
fn set_permanent(node: &str, name: &str, value: Option<String>, err: &mut dyn Write) -> Permanent {
    let request = crate::api::Request::NodeAttribute {
        node: node.to_string(),
        name: name.to_string(),
        value,
    };
    match crate::api::call(&daemon_socket(), &request) {
        Ok(crate::api::Response::Accepted { .. }) => Permanent::Done,
        Ok(crate::api::Response::Error { message })
            if message.contains(crate::api::PERMANENT_NEEDS_VERSION_5)
                || message.contains("unknown variant") =>
        {
            let _ = writeln!(
                err,
                "crm_attribute: {message}; {name} of {node} is kept as a transient attribute (erased if {node} restarts or is fenced) until every member is upgraded"
            );
            Permanent::Unavailable
        }
        Ok(crate::api::Response::Error { message }) => {
            let _ = writeln!(err, "crm_attribute: {name} of {node} not set: {message}");
            Permanent::Failed
        }
        Ok(other) => {
            let _ = writeln!(err, "crm_attribute: unexpected answer {other:?}");
            Permanent::Failed
        }
        Err(crate::api::ClientError::Connect { source, .. })
            if matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Permanent::Unavailable
        }
        Err(e) => {
            let _ = writeln!(err, "crm_attribute: {name} of {node} not set: {e}");
            Permanent::Failed
        }
    }
}

pub fn run_shim(
    shim: &str,
    args: &[String],
    file: &Path,
    local: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    if shim == "crm_node" {
        let status = cluster_status();
        return crm_node(args, local, status.as_ref(), out, err);
    }
    if shim == "crm_mon" {
        let report = cluster_report();
        return crm_mon::run(args, report.as_ref(), out, err);
    }
    if shim == "pacemakerd" {
        return pacemakerd(args, out, err);
    }
    if shim == "cibadmin" {
        let report = cluster_report();
        let mine = read_attributes(file);
        return cibadmin::run(args, report.as_ref(), local, &mine, out, err);
    }
    let mut req = match parse(shim, args) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return EXIT_USAGE;
        }
    };
    let instance = std::env::var("OCF_RESOURCE_INSTANCE").unwrap_or_default();
    if shim == "crm_master" || req.promotion.is_some() {
        let rsc = match req.promotion.as_deref() {
            Some(r) if !r.is_empty() => r.to_string(),
            _ => instance,
        };
        if rsc.is_empty() {
            let _ = writeln!(
                err,
                "{shim}: no resource: set OCF_RESOURCE_INSTANCE or give --promotion=RSC"
            );
            return EXIT_USAGE;
        }
        req.name = Some(format!("master-{}", base_instance(&rsc)));
    }
    let Some(name) = req.name.clone() else {
        let _ = writeln!(err, "{shim}: which attribute? give -n NAME");
        return EXIT_USAGE;
    };
    if req.cluster_wide && req.node.is_none() {
        return cluster_option(&req, &name, file, local, out);
    }
    let node = req.node.clone().unwrap_or_else(|| local.to_string());
    if let Some(status) = cluster_status()
        && !status.nodes.iter().any(|n| n.name == node)
    {
        // As Pacemaker's crm_attribute: an attribute of a node the cluster
        // does not have is an error, not a new entry (an agent that took
        // the host name for the node name finds out here).
        let known: Vec<&str> = status.nodes.iter().map(|n| n.name.as_str()).collect();
        let _ = writeln!(
            err,
            "{shim}: no node named {node} in the cluster (its nodes: {})",
            known.join(", ")
        );
        return EXIT_NO_SUCH;
    }
    let (delete, value) = (req.delete, req.value.clone());
    let (at, named) = (node.clone(), name.clone());
    let change = move |attrs: &mut Attributes| {
        if delete {
            if let Some(m) = attrs.get_mut(&at) {
                m.remove(&named);
            }
        } else if let Some(v) = value {
            attrs.entry(at).or_default().insert(named, v);
        }
    };
    if !req.delete && req.value.is_none() {
        req.query = true;
    }
    let permanent = req.permanent(shim);
    if permanent && !req.query {
        let value = if req.delete { None } else { req.value.clone() };
        match set_permanent(&node, &name, value, err) {
            Permanent::Done => return 0,
            Permanent::Failed => return 1,
            // Kept as a transient attribute in the local file, below.
            Permanent::Unavailable => {}
        }
    }
    if req.query {
        let mut attrs = read_attributes(file);
        change(&mut attrs);
        let local = attrs.get(&node).and_then(|m| m.get(&name)).cloned();
        let found = if permanent {
            // Pacemaker's `-l forever` query reads `<nodes>`; a value kept
            // transient (no daemon, or a member of the previous release)
            // is the one there is otherwise.
            let report = cluster_report();
            let of = |attrs: Option<&Attributes>| attrs?.get(&node)?.get(&name).cloned();
            of(report.as_ref().map(|r| &r.permanent_attributes))
                .or(local)
                .or_else(|| of(report.as_ref().map(|r| &r.node_attributes)))
        } else {
            local.or_else(|| replicated(&node, &name))
        };
        return match found.or(req.default.clone()) {
            Some(v) if req.quiet => {
                let _ = writeln!(out, "{v}");
                0
            }
            Some(v) => {
                let _ = writeln!(out, "scope=nodes  name={name} value={v}");
                0
            }
            None => {
                let _ = writeln!(err, "{shim}: attribute {name} of node {node} is not set");
                EXIT_NO_SUCH
            }
        };
    }
    match update_attributes(file, change) {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "{shim}: cannot write {}: {e}", file.display());
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(shim: &str, args: &[&str], file: &Path) -> (u8, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let rc = run_shim(shim, &args, file, "n1", &mut o, &mut e);
        (rc, String::from_utf8_lossy(&o).into_owned())
    }

    #[test]
    fn attribute_roundtrip() {
        let dir = std::env::temp_dir().join(format!("plxshim{}", std::process::id()));
        let f = dir.join("attrs.json");
        assert_eq!(
            call("crm_attribute", &["-n", "x", "-v", "5", "-l", "reboot"], &f).0,
            0
        );
        assert_eq!(
            call("crm_attribute", &["-n", "x", "-G", "-q"], &f),
            (0, "5\n".into())
        );
        assert_eq!(call("attrd_updater", &["-n", "x", "-D"], &f).0, 0);
        assert_eq!(
            call("crm_attribute", &["-n", "x", "-G", "-q"], &f).0,
            EXIT_NO_SUCH
        );
        assert_eq!(
            call("crm_attribute", &["--promotion=db", "-v", "10"], &f).0,
            0
        );
        assert_eq!(read_attributes(&f)["n1"]["master-db"], "10");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Pacemaker's lifetimes: `-l forever`, `--type nodes` and `--node`
    /// without a lifetime are permanent (the CIB's `<nodes>`); `-l
    /// reboot`, `--type status`, promotion scores and `attrd_updater` are
    /// transient.
    #[test]
    fn which_attributes_are_permanent() {
        let permanent = |shim: &str, args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            parse(shim, &args).unwrap().permanent(shim)
        };
        assert!(permanent(
            "crm_attribute",
            &["-l", "forever", "-n", "x", "-G"]
        ));
        assert!(permanent(
            "crm_attribute",
            &["--lifetime=forever", "-n", "x"]
        ));
        assert!(permanent(
            "crm_attribute",
            &["-N", "n2", "-n", "x", "-v", "1"]
        ));
        assert!(permanent(
            "crm_attribute",
            &["-t", "nodes", "-n", "x", "-v", "1"]
        ));
        assert!(!permanent(
            "crm_attribute",
            &["-N", "n2", "-l", "reboot", "-n", "x"]
        ));
        assert!(!permanent(
            "crm_attribute",
            &["-t", "status", "-N", "n2", "-n", "x"]
        ));
        assert!(!permanent("crm_attribute", &["-n", "x", "-v", "1"]));
        assert!(!permanent(
            "crm_attribute",
            &["-N", "n2", "--promotion=db", "-v", "1"]
        ));
        assert!(!permanent(
            "crm_attribute",
            &["-t", "crm_config", "-n", "x"]
        ));
        assert!(!permanent(
            "attrd_updater",
            &["-l", "forever", "-n", "x", "-U", "1"]
        ));
        assert!(!permanent("crm_master", &["-l", "forever", "-v", "1"]));
    }

    /// Without pacelined (an agent run by hand) a permanent attribute is
    /// kept in the local file, and a `-l forever` query finds it there.
    #[test]
    fn a_permanent_attribute_without_a_daemon_stays_local() {
        let dir = std::env::temp_dir().join(format!("plxshim-perm{}", std::process::id()));
        let f = dir.join("attrs.json");
        let set = ["-l", "forever", "-N", "n1", "-n", "db-data-status", "-v"];
        assert_eq!(
            call("crm_attribute", &[&set[..], &["LATEST"]].concat(), &f).0,
            0
        );
        assert_eq!(
            call(
                "crm_attribute",
                &[
                    "-l",
                    "forever",
                    "-N",
                    "n1",
                    "-n",
                    "db-data-status",
                    "-G",
                    "-q"
                ],
                &f
            ),
            (0, "LATEST\n".into())
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// resource-agents' mysql keeps its replication source with
    /// `crm_attribute --type crm_config` for every node to read: a query
    /// answers the newest setting of any node, not a node attribute.
    #[test]
    fn a_crm_config_option_is_the_newest_any_node_set() {
        let dir = std::env::temp_dir().join(format!("plxshim-cfg{}", std::process::id()));
        let f = dir.join("attrs.json");
        let repl = [
            "--type",
            "crm_config",
            "--name",
            "db_REPL_INFO",
            "-s",
            "mysql_replication",
        ];
        let set = |v: &str| call("crm_attribute", &[&repl[..], &["-v", v]].concat(), &f).0;
        let get = || {
            call(
                "crm_attribute",
                &[&repl[..], &["--query", "-q"]].concat(),
                &f,
            )
        };
        assert_eq!(get().0, EXIT_NO_SUCH);
        assert_eq!(set("198.18.0.1|mysql-bin.000001|328"), 0);
        assert_eq!(get(), (0, "198.18.0.1|mysql-bin.000001|328\n".into()));
        // Another node promoted later: its setting, replicated, is newer.
        update_attributes(&f, |a| {
            let n2 = a.entry("n2".into()).or_default();
            n2.insert(
                "db_REPL_INFO".into(),
                "198.18.0.2|mysql-bin.000002|42".into(),
            );
            n2.insert(format!("db_REPL_INFO{SET_AT}"), u64::MAX.to_string());
        })
        .unwrap();
        assert_eq!(get(), (0, "198.18.0.2|mysql-bin.000002|42\n".into()));
        // A node attribute query still reads this node's own.
        assert_eq!(
            call("crm_attribute", &["-n", "db_REPL_INFO", "-G", "-q"], &f).1,
            "198.18.0.1|mysql-bin.000001|328\n"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    fn node_call(args: &[&str], status: Option<&crate::api::ClusterStatusView>) -> (u8, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let rc = crm_node(&args, "n1", status, &mut out, &mut err);
        (rc, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn crm_node_answers_from_the_membership_or_alone() {
        use crate::api::fixtures;
        use crate::membership::PeerState;
        assert_eq!(node_call(&["-n"], None), (0, "n1\n".into()));
        // No daemon answered: quorum is unknown, never "1".
        assert_eq!(node_call(&["-q"], None), (EXIT_DISCONNECT, String::new()));
        assert_eq!(node_call(&["-l"], None), (0, "1 n1 member\n".into()));
        let status = fixtures::membership(
            7,
            &[
                (1, "node1", PeerState::Offline),
                (2, "node2", PeerState::Online),
                (3, "node3", PeerState::Online),
            ],
            &["node2", "node3"],
            fixtures::quorum(false, 2, 3, 2),
        );
        assert_eq!(node_call(&["-n"], Some(&status)).1, "node2\n");
        assert_eq!(node_call(&["-i"], Some(&status)).1, "2\n");
        assert_eq!(node_call(&["-q"], Some(&status)).1, "0\n");
        assert_eq!(node_call(&["-p"], Some(&status)).1, "node2 node3\n");
        assert_eq!(
            node_call(&["-l"], Some(&status)).1,
            "1 node1 lost\n2 node2 member\n3 node3 member\n"
        );
        assert_eq!(node_call(&["--bogus"], None).0, EXIT_USAGE);
    }

    #[test]
    fn pacemakerd_tells_a_version_ocf_local_nodename_accepts() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(pacemakerd(&["-$".into()], &mut out, &mut err), 0);
        let text = String::from_utf8_lossy(&out);
        // ocf-shellfuncs: grep "Pacemaker .*" | awk '{ print $2 }'
        let version = text
            .lines()
            .find(|l| l.contains("Pacemaker "))
            .and_then(|l| l.split_whitespace().nth(1));
        assert_eq!(version, Some(PACEMAKER_COMPAT_VERSION));
        assert_eq!(pacemakerd(&[], &mut out, &mut err), EXIT_USAGE);
    }

    /// Issue 15: concurrent `crm_attribute` updates lost 95 of 300 (each
    /// read the file, changed it and wrote it back unlocked). Now none.
    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = std::env::temp_dir().join(format!("plxshim-conc{}", std::process::id()));
        let f = dir.join("attrs.json");
        let threads: Vec<_> = (0..300)
            .map(|i| {
                let f = f.clone();
                std::thread::spawn(move || {
                    let value = i.to_string();
                    let name = format!("a{i}");
                    call("crm_attribute", &["-n", &name, "-v", &value], &f).0
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 0);
        }
        let attrs = read_attributes(&f);
        assert_eq!(attrs["n1"].len(), 300, "updates lost");
        let _ = std::fs::remove_dir_all(dir);
    }
}
