//! The cluster's life across its nodes (pcs cluster start|stop|enable|disable --all,
//! pcs cluster sync, pcs cluster node add|remove; crm cluster
//! start|stop --all, crm cluster add|remove): pacelined is started and
//! stopped through systemd on each node, the configuration and the key are
//! written on the others, all through `cli::remote` (ssh).
//!
//! What restarts on a node change: the membership reads the `[[node]]`s at
//! start (`config::Runtime`), and a running node ignores a node it does
//! not know ("heartbeat from node id N, which is not configured"). Adding
//! a node therefore restarts every node, together (`--restart`: stop all,
//! then start all with the new node): one at a time would run nodes with
//! different node lists side by side (each side quorate by its own count,
//! views that disagree), and the node list's new expected votes leave a
//! two- or three-node cluster without quorum while one of its nodes
//! restarts. Removing a node stops it first; the others then restart one
//! at a time (`--restart`), which is safe because the removed node is
//! gone and every node counts it out once restarted.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::EXIT_FAILED;
use super::remote::{ClusterNodes, Remote, RemoteArgs, Target, on_each, quote};
use crate::api::{self, Request, Response};
use crate::config::edit::{self, EditError};

/// How long a restarted cluster may take to show every node in one view.
const JOIN_WAIT: Duration = Duration::from_secs(120);

/// What `cluster start|stop|enable|disable` asks systemd for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Start,
    Stop,
    /// Start at boot.
    Enable,
    Disable,
}

impl Service {
    fn verb(self) -> &'static str {
        match self {
            Service::Start => "start",
            Service::Stop => "stop",
            Service::Enable => "enable",
            Service::Disable => "disable",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Service::Start => "started",
            Service::Stop => "stopped",
            Service::Enable => "enabled (starts at boot)",
            Service::Disable => "disabled (does not start at boot)",
        }
    }
}

/// `cluster start|stop|enable|disable [--all | NODE...]`: `systemctl VERB
/// pacelined` on each node named (here when none), all at once (as pcs
/// does, so a stopping node's resources do not move to one stopping next).
pub fn service_on(
    args: &RemoteArgs,
    all: bool,
    names: &[String],
    what: Service,
) -> anyhow::Result<ExitCode> {
    let nodes = ClusterNodes::read(args)?;
    let targets = nodes.pick(all, names)?;
    let remote = Remote::new(args.ssh.as_deref());
    let ok = report_each(
        &targets,
        what.done(),
        on_each(&targets, |t| service(&remote, t, what.verb())),
    );
    Ok(exit(ok))
}

/// `systemctl VERB pacelined` on `target`.
fn service(remote: &Remote, target: &Target, verb: &str) -> anyhow::Result<()> {
    remote
        .check(target, &format!("systemctl {verb} pacelined"), None)
        .map(|_| ())
}

/// Prints each node's outcome; whether all succeeded.
fn report_each(targets: &[Target], done: &str, outcomes: Vec<anyhow::Result<()>>) -> bool {
    let mut ok = true;
    for (t, outcome) in targets.iter().zip(outcomes) {
        match outcome {
            Ok(()) => println!("{}: {done}", t.name),
            Err(e) => {
                ok = false;
                println!("{}: FAILED: {e:#}", t.name);
            }
        }
    }
    ok
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// `cluster sync`: the cluster's configuration (the running one when
/// pacelined answers) and this node's key, written on every node at the
/// same paths (0600).
pub fn sync(args: &RemoteArgs) -> anyhow::Result<ExitCode> {
    let nodes = ClusterNodes::read(args)?;
    let remote = Remote::new(args.ssh.as_deref());
    Ok(exit(distribute(&remote, &nodes, &args.config)?))
}

/// Writes `nodes.text` to `config` and the key to its path on every node
/// of `nodes`; whether all succeeded.
fn distribute(remote: &Remote, nodes: &ClusterNodes, config: &Path) -> anyhow::Result<bool> {
    let key_path = &nodes.runtime.authkey;
    let key = std::fs::read(key_path)
        .map_err(|e| anyhow::anyhow!("cannot read the key {}: {e}", key_path.display()))?;
    let outcomes = on_each(&nodes.targets, |t| {
        remote.put_file(t, config, nodes.text.as_bytes())?;
        remote.put_file(t, key_path, &key)
    });
    Ok(report_each(
        &nodes.targets,
        &format!("{} and {} written", config.display(), key_path.display()),
        outcomes,
    ))
}

/// `NAME=ADDR[,ADDR2]` as the name and its links.
fn parse_node(spec: &str) -> Result<(String, Vec<String>), EditError> {
    spec.split_once('=')
        .filter(|(n, a)| !n.is_empty() && !a.is_empty())
        .map(|(n, a)| (n.to_string(), a.split(',').map(str::to_string).collect()))
        .ok_or_else(|| EditError::Invalid(format!("`{spec}` is not NODE=ADDR[,ADDR2]")))
}

/// `cluster node add NAME=ADDR[,ADDR2] [--restart]`: the node goes into
/// the cluster's configuration (submitted on the version read), the
/// configuration and key onto every node, the new one included; with
/// `--restart` every node restarts together so that all know it.
pub fn node_add(args: &RemoteArgs, spec: &str, restart: bool) -> anyhow::Result<ExitCode> {
    let (name, links) = parse_node(spec)?;
    let before = ClusterNodes::read(args)?;
    let socket = before.socket();
    let what = format!("node add {name}");
    let version =
        super::configure::edit_cluster(&socket, &what, |t| edit::add_node(t, &name, &links))?;
    println!("{what}: applied (configuration epoch {})", version.epoch);
    let (text, _) = super::configure::show(&socket)?;
    let after = ClusterNodes::from_text(text, "the cluster's configuration")?;
    let remote = Remote::new(args.ssh.as_deref());
    if !distribute(&remote, &after, &args.config)? {
        anyhow::bail!(
            "the configuration is changed but not on every node: fix the above, then `paceline cluster sync`"
        );
    }
    if !restart {
        println!(
            "the running nodes learn {name} when they restart: `paceline cluster stop --all && paceline cluster start --all` (or run this with --restart)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let stopped = on_each(&before.targets, |t| service(&remote, t, "stop"));
    if !report_each(&before.targets, "stopped", stopped) {
        anyhow::bail!("not every node stopped; nothing was started");
    }
    let started = on_each(&after.targets, |t| service(&remote, t, "start"));
    if !report_each(&after.targets, "started", started) {
        return Ok(ExitCode::from(EXIT_FAILED));
    }
    wait_for_members(&after, None)?;
    Ok(ExitCode::SUCCESS)
}

/// `cluster node remove NAME [--restart]`: the node is stopped, leaves
/// the cluster's configuration, its copy of the configuration and key is
/// deleted, the others get the new configuration; with `--restart` they
/// restart one at a time to count it out.
pub fn node_remove(args: &RemoteArgs, name: &str, restart: bool) -> anyhow::Result<ExitCode> {
    let before = ClusterNodes::read(args)?;
    let gone = before.pick(false, &[name.to_string()])?.remove(0);
    if gone.local {
        anyhow::bail!("{name} is this node: remove it from another node");
    }
    let socket = before.socket();
    let remote = Remote::new(args.ssh.as_deref());
    if let Err(e) = service(&remote, &gone, "stop") {
        if members(&socket).is_some_and(|m| m.contains(name)) {
            return Err(e.context(format!("{name} is a member and could not be stopped")));
        }
        println!("{name}: not reached ({e:#}); it is not a member, going on");
    }
    let what = format!("node remove {name}");
    let version = super::configure::edit_cluster(&socket, &what, |t| edit::remove_node(t, name))?;
    println!("{what}: applied (configuration epoch {})", version.epoch);
    let rm = format!(
        "rm -f {} {}",
        quote(&args.config.display().to_string()),
        quote(&before.runtime.authkey.display().to_string())
    );
    match remote.check(&gone, &rm, None) {
        Ok(_) => println!("{name}: its configuration and key deleted"),
        Err(e) => println!("{name}: its configuration and key NOT deleted: {e:#}"),
    }
    let (text, _) = super::configure::show(&socket)?;
    let after = ClusterNodes::from_text(text, "the cluster's configuration")?;
    if !distribute(&remote, &after, &args.config)? {
        anyhow::bail!(
            "the configuration is changed but not on every node: fix the above, then `paceline cluster sync`"
        );
    }
    if !restart {
        println!(
            "the other nodes count {name} out when they restart, one at a time: `paceline cluster stop NODE && paceline cluster start NODE` (or run this with --restart)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    rolling_restart(&remote, &after)
}

/// Restarts the nodes one at a time, this one last, each time waiting
/// until every node is back in this node's view.
fn rolling_restart(remote: &Remote, nodes: &ClusterNodes) -> anyhow::Result<ExitCode> {
    let mut order: Vec<&Target> = nodes.targets.iter().filter(|t| !t.local).collect();
    order.extend(nodes.targets.iter().filter(|t| t.local));
    for t in order {
        let view = view_id(&nodes.socket());
        service(remote, t, "restart")?;
        println!("{}: restarted", t.name);
        wait_for_members(nodes, view)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// This node's view: its id and members, if pacelined answers.
fn status(socket: &Path) -> Option<(u64, BTreeSet<String>)> {
    match api::call(socket, &Request::Status) {
        Ok(Response::Status(s)) => Some((s.view_id, s.members.into_iter().collect())),
        _ => None,
    }
}

fn members(socket: &Path) -> Option<BTreeSet<String>> {
    status(socket).map(|(_, m)| m)
}

fn view_id(socket: &Path) -> Option<u64> {
    status(socket).map(|(v, _)| v)
}

/// Waits until this node's view (newer than `after_view`) holds every
/// node of `nodes`.
fn wait_for_members(nodes: &ClusterNodes, after_view: Option<u64>) -> anyhow::Result<()> {
    let want: BTreeSet<String> = nodes.targets.iter().map(|t| t.name.clone()).collect();
    let socket = nodes.socket();
    let start = Instant::now();
    while start.elapsed() < JOIN_WAIT {
        if let Some((view, members)) = status(&socket)
            && members == want
            && after_view.is_none_or(|v| view > v)
        {
            println!("view {view}: members {want:?}");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    anyhow::bail!(
        "the nodes {want:?} were not all in one view after {} s (this node sees {:?})",
        JOIN_WAIT.as_secs(),
        members(&socket)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_name_equals_addresses() {
        assert_eq!(
            parse_node("node3=198.18.0.3,198.18.1.3").unwrap(),
            (
                "node3".into(),
                vec!["198.18.0.3".into(), "198.18.1.3".into()]
            )
        );
        assert!(parse_node("node3").is_err());
        assert!(parse_node("=198.18.0.3").is_err());
    }
}
