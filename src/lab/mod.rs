//! A throwaway cluster of Linux network namespaces on this machine, for
//! `paceline demo`, the end-to-end tests and `bench/failover`.
//!
//! Layout (addresses in 198.18.0.0/15, never routed anywhere): a "switch"
//! namespace holds one bridge per link; node `i` has interface `eth<l>` with
//! 198.18.<l>.<i>/24 on bridge `l`; the client namespace has 198.18.0.250/24
//! on link 0. Everything the lab creates (namespaces, processes, its
//! directory) is removed when the `Lab` is dropped, also on a panic.
//!
//! Power: `power_off(node)` is a power cut as the node would feel it: every
//! process in its namespace is SIGKILLed and its links go down. A fence
//! device reaches the lab's power board through a unix socket (filesystem
//! sockets cross network namespaces), see `fence_agent` and `PowerBoard`.
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "lab (`src/lab/`, `src/cli/lab.rs`)")
//!
//! Throwaway clusters of network namespaces on this machine for `paceline demo`,
//! the end-to-end tests and `bench/failover`; needs root and iproute2, nothing else.
//! `Lab::new` builds a switch namespace with one bridge per link, node namespaces
//! (`eth<l>` = 198.18.<l>.<i>/24) and a client namespace (198.18.0.250); `Drop`
//! kills every process in them and deletes them, also on a panic. `power_off`
//! is a power cut: every process whose network namespace is the node's is
//! SIGKILLed (found through /proc/*/ns/net) and its links go down; `power_on`
//! restores the links with boot-time addresses (a VIP is gone).
//! `set_interconnect(a, b, up)` is a failed interconnect: each node drops what
//! it sends to the other's addresses (blackhole routes) while both still reach
//! the client, the VIP and their BMCs. The power board
//! is served on a unix socket (`power.rs`; filesystem sockets cross network
//! namespaces), and `fence_agent.rs` is a fence agent speaking the fence-agents
//! stdin protocol over it (`paceline lab fence-agent`, installed as a
//! `fence_paceline_lab` script), so daemons fence lab nodes through the ordinary
//! `type = "agent"` device path. `probe.rs`: ICMP echo (`paceline lab ping`), so
//! no `ping` binary is needed. `cluster.rs`: `LabCluster` runs one `pacelined` per
//! node (own HA_RSCTMP, state dir, socket, log), reads each node's status report,
//! `reference_config` is `policies/two-node-active-standby.toml` adapted to the
//! lab (tmpfs for the shared mount; the database a `Database`: a promotable
//! stand-in, or real PostgreSQL through resource-agents' `pgsql` in streaming
//! replication with the VIP as `master_ip`, whose queue worker is then real:
//! `postgres::queue_worker`, run by `ocf:heartbeat:anything`, takes jobs from
//! table `jobs` through the VIP and marks them done by its namespace;
//! `worker_pids` finds it for the invariant checker). Fencing uses
//! `priority_delay` 2s with db-ha's priority 10 (no static delay). `LabCluster::with_private_path`
//! gives every node its own directory at one path (a bind mount made in the
//! node's mount namespace, which `ip netns exec` creates and whose mounts do not
//! propagate out), so agent parameters naming one path on every node work as on
//! real machines; `postgres.rs` creates the data directories (one `initdb`,
//! copied to the other nodes before anything runs, so both start as standbys of
//! one history), runs `psql` from a namespace, and `rebuild_standby` is the
//! operator's way back for a failed primary (`pg_basebackup` from the new
//! primary, pgsql's `PGSQL.lock` removed; then `resource cleanup`);
//! a power cut empties the node's HA_RSCTMP and HA_VARRUN (`volatile_dirs`,
//! its tmpfs),
//! `redfish_fencing` makes the emulator every node's BMC, `Prober` pings the VIP
//! from the client namespace, and `watch_failover` timestamps detection, fence,
//! each start and the VIP answering. `paceline demo` (`src/cli/demo.rs`),
//! `tests/e2e_cluster.rs` and `bench/failover` are built on it. For Redfish fencing through the emulator of
//! `../shared/peers` (which listens on the host's loopback and only flips a
//! flag): `bridge.rs` forwards TCP from inside a node namespace to the host
//! (network namespaces are per thread: the listener thread enters the node's,
//! each connecting thread the host's), and `redfish.rs` follows the emulator's
//! request log and cuts (or restores) a node's power when a reset of its system
//! is accepted, before the client can read PowerState back. `PowerHandle` is the
//! clonable power switch these threads share. Tested by `tests/lab.rs`.
//! `stacks/`: the seeds' stacks (real servers behind HAProxy, which routes
//! by the nodes' `[http]` endpoint) and the power-loss scenario they share,
//! for `tests/netns_stacks.rs` and `bench/failover STACK=...`; `mariadb.rs`
//! and `rabbitmq.rs` set their servers up (RabbitMQ's paths, hard-coded by
//! its agent, are private paths of every node: `with_private_path` may be
//! given several).

pub mod bridge;
pub mod chaos;
pub mod cluster;
pub mod fence_agent;
pub mod mariadb;
pub mod postgres;
pub mod power;
pub mod probe;
pub mod rabbitmq;
pub mod redfish;
pub mod stacks;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

pub use power::{PowerBoard, PowerServer};

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab needs root (network namespaces); run it as root")]
    NotRoot,
    #[error("`{command}` failed: {detail}; is iproute2 installed (`ip`)?")]
    Command { command: String, detail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
    let what = what.into();
    move |source| LabError::Io { what, source }
}

/// Runs a command to completion; a non-zero exit is an error with its stderr.
pub fn run(args: &[&str]) -> Result<Output, LabError> {
    let command = args.join(" ");
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::Command {
            command: command.clone(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(LabError::Command {
            command,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

/// Runs `cmd` with its output piped; its standard output (trimmed) if it
/// exits successfully within `limit`, else None (killed at the limit: a
/// client waiting on a server that died may wait forever).
pub fn output_within(mut cmd: Command, limit: std::time::Duration) -> Option<String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Short tag in every namespace name (keep it under 8 characters).
    pub tag: String,
    pub nodes: u8,
    pub links: u8,
    pub client: bool,
}

/// The address of node `node` (1-based) on link `link`.
pub fn node_addr(node: u8, link: u8) -> String {
    format!("198.18.{link}.{node}")
}

pub const CLIENT_ADDR: &str = "198.18.0.250";

#[derive(Debug)]
struct NodeState {
    powered: bool,
    /// A power cut is under way: nothing may start there.
    cutting: bool,
    children: Vec<Child>,
}

/// Cuts and restores lab nodes' power; cheap to clone into the threads that
/// act for a fence device (the power board, the Redfish link).
#[derive(Debug, Clone)]
pub struct PowerHandle {
    prefix: String,
    links: u8,
    nodes: Arc<Mutex<Vec<NodeState>>>,
    dir: PathBuf,
}

/// What a lab node keeps on tmpfs (a real machine's /run): agents' state
/// (HA_RSCTMP, HA_VARRUN). A power cut empties them.
pub fn volatile_dirs(lab_dir: &Path, node: u8) -> [PathBuf; 2] {
    let dir = lab_dir.join(format!("node{node}"));
    [dir.join("rsctmp"), dir.join("run")]
}

impl PowerHandle {
    pub fn node_count(&self) -> usize {
        self.nodes.lock().map(|n| n.len()).unwrap_or(0)
    }

    pub fn powered(&self, node: u8) -> bool {
        self.nodes
            .lock()
            .ok()
            .and_then(|n| n.get(usize::from(node).wrapping_sub(1)).map(|s| s.powered))
            .unwrap_or(false)
    }

    /// A power cut: every process in the node's namespace is killed and its
    /// links go down. Idempotent. No process may start on the node from
    /// its beginning (`spawn_on_node` checks under the same lock), and the
    /// children waited for are those it killed: waiting under the lock for
    /// a daemon started after the kill hung the chaos lab. The node reads
    /// as off only once all of it is done (a fence device's status must
    /// not say off while its processes still run).
    pub fn power_off(&self, node: u8) -> Result<(), LabError> {
        let k = usize::from(node).wrapping_sub(1);
        let children = match self.nodes.lock() {
            Ok(mut nodes) => match nodes.get_mut(k) {
                Some(state) => {
                    state.cutting = true;
                    std::mem::take(&mut state.children)
                }
                None => Vec::new(),
            },
            Err(_) => Vec::new(),
        };
        let ns = format!("{}n{node}", self.prefix);
        let cut = self.cut(&ns, node, children);
        if let Ok(mut nodes) = self.nodes.lock()
            && let Some(state) = nodes.get_mut(k)
        {
            state.cutting = false;
            if cut.is_ok() {
                state.powered = false;
            }
        }
        cut
    }

    fn cut(&self, ns: &str, node: u8, children: Vec<Child>) -> Result<(), LabError> {
        kill_namespace_processes(ns)?;
        for mut child in children {
            let _ = child.wait();
        }
        for l in 0..self.links {
            let eth = format!("eth{l}");
            run(&["ip", "-n", ns, "link", "set", &eth, "down"])?;
        }
        for dir in volatile_dirs(&self.dir, node) {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .and_then(|()| std::fs::create_dir_all(&dir))
                    .map_err(io_err(format!("empty {}", dir.display())))?;
            }
        }
        Ok(())
    }

    /// Power back: links up, addresses as after a boot (a VIP the node held
    /// is gone). Processes are the caller's to start again.
    pub fn power_on(&self, node: u8) -> Result<(), LabError> {
        let ns = format!("{}n{node}", self.prefix);
        for l in 0..self.links {
            let eth = format!("eth{l}");
            run(&["ip", "-n", &ns, "addr", "flush", "dev", &eth])?;
            run(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", node_addr(node, l)),
                "dev",
                &eth,
            ])?;
            run(&["ip", "-n", &ns, "link", "set", &eth, "up"])?;
        }
        if let Ok(mut nodes) = self.nodes.lock()
            && let Some(state) = nodes.get_mut(usize::from(node).wrapping_sub(1))
        {
            state.powered = true;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct Lab {
    prefix: String,
    dir: PathBuf,
    links: u8,
    namespaces: Vec<String>,
    nodes: Arc<Mutex<Vec<NodeState>>>,
    client_children: Vec<Child>,
    power_server: Option<PowerServer>,
    bridges: Vec<bridge::TcpBridge>,
    redfish_links: Vec<redfish::RedfishPowerLink>,
}

impl Lab {
    pub fn new(options: &LabOptions) -> Result<Lab, LabError> {
        if !nix::unistd::Uid::effective().is_root() {
            return Err(LabError::NotRoot);
        }
        let prefix = format!("{}{}", options.tag, std::process::id() % 100_000);
        let dir = std::env::temp_dir().join(format!("paceline-lab-{prefix}"));
        std::fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
        let mut lab = Lab {
            prefix,
            dir,
            links: options.links,
            namespaces: Vec::new(),
            nodes: Arc::new(Mutex::new(Vec::new())),
            client_children: Vec::new(),
            power_server: None,
            bridges: Vec::new(),
            redfish_links: Vec::new(),
        };
        let switch = lab.ns("sw");
        lab.add_ns(&switch)?;
        for l in 0..options.links {
            let br = format!("br{l}");
            run(&["ip", "-n", &switch, "link", "add", &br, "type", "bridge"])?;
            run(&["ip", "-n", &switch, "link", "set", &br, "up"])?;
        }
        for i in 1..=options.nodes {
            let ns = lab.node_ns(i);
            lab.add_ns(&ns)?;
            for l in 0..options.links {
                lab.attach(
                    &ns,
                    &format!("n{i}l{l}"),
                    l,
                    &format!("{}/24", node_addr(i, l)),
                )?;
            }
            if let Ok(mut nodes) = lab.nodes.lock() {
                nodes.push(NodeState {
                    powered: true,
                    cutting: false,
                    children: Vec::new(),
                });
            }
        }
        if options.client {
            let ns = lab.client_ns();
            lab.add_ns(&ns)?;
            lab.attach(&ns, "cl0", 0, &format!("{CLIENT_ADDR}/24"))?;
        }
        Ok(lab)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn ns(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn node_ns(&self, node: u8) -> String {
        self.ns(&format!("n{node}"))
    }

    pub fn client_ns(&self) -> String {
        self.ns("cl")
    }

    fn add_ns(&mut self, ns: &str) -> Result<(), LabError> {
        run(&["ip", "netns", "add", ns])?;
        self.namespaces.push(ns.to_string());
        run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// A veth from `ns` (as `eth<link>`) to bridge `link` in the switch.
    fn attach(&self, ns: &str, peer: &str, link: u8, cidr: &str) -> Result<(), LabError> {
        let switch = self.ns("sw");
        let eth = format!("eth{link}");
        run(&[
            "ip", "-n", &switch, "link", "add", peer, "type", "veth", "peer", "name", &eth,
            "netns", ns,
        ])?;
        run(&[
            "ip",
            "-n",
            &switch,
            "link",
            "set",
            peer,
            "master",
            &format!("br{link}"),
            "up",
        ])?;
        run(&["ip", "-n", ns, "addr", "add", cidr, "dev", &eth])?;
        run(&["ip", "-n", ns, "link", "set", &eth, "up"])?;
        Ok(())
    }

    /// Starts `program args` inside node `node`'s namespace, in a process
    /// group of its own; it dies with the node's power.
    pub fn spawn_on_node(
        &self,
        node: u8,
        program: &Path,
        args: &[&str],
        log: &Path,
    ) -> Result<u32, LabError> {
        // Held while spawning: a power cut (`PowerHandle::power_off`)
        // comes before (refused here) or after (killed with the rest).
        let mut nodes = self.nodes.lock().map_err(|_| LabError::Io {
            what: "lab state".into(),
            source: std::io::Error::other("poisoned"),
        })?;
        let state = nodes
            .get_mut(usize::from(node).wrapping_sub(1))
            .filter(|s| s.powered && !s.cutting)
            .ok_or_else(|| LabError::Io {
                what: format!("start {} on node{node}", program.display()),
                source: std::io::Error::other("the node is powered off"),
            })?;
        let child = self.spawn_in(&self.node_ns(node), program, args, log)?;
        let pid = child.id();
        state.children.push(child);
        Ok(pid)
    }

    /// Starts a program in the client namespace (killed when the lab ends).
    pub fn spawn_on_client(
        &mut self,
        program: &Path,
        args: &[&str],
        log: &Path,
    ) -> Result<u32, LabError> {
        let child = self.spawn_in(&self.client_ns(), program, args, log)?;
        let pid = child.id();
        self.client_children.push(child);
        Ok(pid)
    }

    fn spawn_in(
        &self,
        ns: &str,
        program: &Path,
        args: &[&str],
        log: &Path,
    ) -> Result<Child, LabError> {
        use std::os::unix::process::CommandExt;
        // Appended to: a node started again after a power cycle keeps the
        // earlier life's lines.
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io_err(format!("open {}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(io_err(format!("clone {}", log.display())))?;
        Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(io_err(format!("start {} in {ns}", program.display())))
    }

    /// Runs a command inside a namespace and returns its output.
    pub fn exec_in(&self, ns: &str, args: &[&str]) -> Result<Output, LabError> {
        let mut full = vec!["ip", "netns", "exec", ns];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Cuts (or restores) one link of a node, as a pulled cable.
    pub fn set_link(&self, node: u8, link: u8, up: bool) -> Result<(), LabError> {
        let ns = self.node_ns(node);
        let eth = format!("eth{link}");
        let state = if up { "up" } else { "down" };
        run(&["ip", "-n", &ns, "link", "set", &eth, state])?;
        Ok(())
    }

    /// Cuts (or restores) the traffic between nodes `a` and `b` on every
    /// link, as a failed interconnect does, while both still reach the
    /// client, the VIP and their BMCs: each drops what it would send to
    /// the other's own addresses (a blackhole route per address).
    pub fn set_interconnect(&self, a: u8, b: u8, up: bool) -> Result<(), LabError> {
        for (from, to) in [(a, b), (b, a)] {
            let ns = self.node_ns(from);
            for l in 0..self.links {
                let dest = format!("{}/32", node_addr(to, l));
                if up {
                    // Absent already is fine: restoring is idempotent.
                    let _ = run(&["ip", "-n", &ns, "route", "del", "blackhole", &dest]);
                } else {
                    run(&["ip", "-n", &ns, "route", "replace", "blackhole", &dest])?;
                }
            }
        }
        Ok(())
    }

    pub fn power(&self) -> PowerHandle {
        PowerHandle {
            prefix: self.prefix.clone(),
            links: self.links,
            nodes: Arc::clone(&self.nodes),
            dir: self.dir.clone(),
        }
    }

    pub fn powered(&self, node: u8) -> bool {
        self.power().powered(node)
    }

    /// A power cut (see `PowerHandle::power_off`).
    pub fn power_off(&self, node: u8) -> Result<(), LabError> {
        self.power().power_off(node)
    }

    /// Power back (see `PowerHandle::power_on`).
    pub fn power_on(&self, node: u8) -> Result<(), LabError> {
        self.power().power_on(node)
    }

    /// Makes `upstream` (a service on this machine's loopback, such as a BMC
    /// emulator) reachable at `listen` inside node `node`'s namespace, for
    /// as long as the lab lives.
    pub fn bridge_to_host(
        &mut self,
        node: u8,
        listen: std::net::SocketAddr,
        upstream: std::net::SocketAddr,
    ) -> Result<(), LabError> {
        let ns = self.node_ns(node);
        let bridge = bridge::TcpBridge::start(&ns, listen, upstream)
            .map_err(io_err(format!("bridge {listen} in {ns} to {upstream}")))?;
        self.bridges.push(bridge);
        Ok(())
    }

    /// Lets a Redfish emulator's resets cut and restore the power of the lab
    /// nodes: `systems` maps the emulator's system ids to lab nodes.
    pub fn link_redfish_power(
        &mut self,
        request_log: &Path,
        systems: Vec<(String, u8)>,
    ) -> Result<(), LabError> {
        let link = redfish::RedfishPowerLink::start(self.power(), request_log, systems)
            .map_err(io_err(format!("follow {}", request_log.display())))?;
        self.redfish_links.push(link);
        Ok(())
    }

    /// Serves the lab's power board on a unix socket for `fence_agent`
    /// (node names `node<i>`). Returns the socket path.
    pub fn serve_power(&mut self) -> Result<PathBuf, LabError> {
        if let Some(server) = &self.power_server {
            return Ok(server.path().to_path_buf());
        }
        let path = self.dir.join("power.sock");
        let power = self.power();
        let board = PowerBoard::new(move |name, on| {
            let node = name
                .strip_prefix("node")
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| usize::from(*n) >= 1 && usize::from(*n) <= power.node_count())
                .ok_or_else(|| format!("no node {name:?} in this lab"))?;
            match on {
                None => Ok(power.powered(node)),
                Some(false) => {
                    power.power_off(node).map_err(|e| e.to_string())?;
                    Ok(false)
                }
                Some(true) => Err("this lab powers nodes on only from the test".to_string()),
            }
        });
        let server = PowerServer::start(&path, board).map_err(io_err(format!(
            "serve the power board on {}",
            path.display()
        )))?;
        self.power_server = Some(server);
        Ok(path)
    }
}

/// SIGKILLs every process whose network namespace is `ns` (what a power
/// cut does to a machine), until none is left.
pub fn kill_namespace_processes(ns: &str) -> Result<(), LabError> {
    let target = std::fs::metadata(Path::new("/run/netns").join(ns))
        .map_err(io_err(format!("namespace {ns}")))?
        .ino();
    let own = std::process::id();
    for _round in 0..50 {
        let mut found = false;
        let entries = std::fs::read_dir("/proc").map_err(io_err("read /proc"))?;
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if pid as u32 == own {
                continue;
            }
            let Ok(meta) = std::fs::metadata(entry.path().join("ns/net")) else {
                continue;
            };
            if meta.ino() == target {
                found = true;
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        if !found {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(LabError::Io {
        what: format!("processes in {ns} survive SIGKILL"),
        source: std::io::Error::other("still running after 50 rounds"),
    })
}

impl Drop for Lab {
    fn drop(&mut self) {
        // The threads acting for fence devices go first: they reach into
        // the namespaces that are deleted below.
        self.redfish_links.clear();
        self.bridges.clear();
        self.power_server = None;
        for child in &mut self.client_children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.namespaces.iter().rev() {
            let _ = kill_namespace_processes(ns);
        }
        if let Ok(mut nodes) = self.nodes.lock() {
            for state in nodes.iter_mut() {
                for child in &mut state.children {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
