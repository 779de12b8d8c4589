//! `paceline cluster ...`.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::api::DEFAULT_SOCKET;
use crate::api::{self, Request, Response};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Create the cluster authentication key (mode 0600); copy it to every node.
    Keygen {
        /// Where to write the key.
        #[arg(long, default_value = "/etc/paceline/authkey")]
        file: PathBuf,
        /// Replace an existing key (every node then needs the new one).
        #[arg(long)]
        force: bool,
    },
    /// Let this node's partition be quorate without waiting for all nodes
    /// (overrides wait_for_all after a cold start; recorded with who and when).
    Unblock {
        /// Local API socket of pacelined.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Write a new cluster's configuration and key (pcs cluster setup, crm
    /// cluster init): NODE=ADDR[,ADDR2] per node, one address per link.
    /// Copy both files to every node (`cluster sync`), add fencing, then
    /// start pacelined (`cluster start --all`).
    Setup {
        /// The cluster's name.
        name: String,
        /// Each node as NAME=ADDR[,ADDR2] (ids follow the order given).
        #[arg(required = true, value_name = "NODE=ADDR[,ADDR2]")]
        nodes: Vec<String>,
        /// Where to write cluster.toml and authkey.
        #[arg(long, default_value = "/etc/paceline")]
        dir: PathBuf,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Start pacelined (systemctl) on this node, on the nodes named, or on
    /// every node with --all, over ssh (pcs cluster start --all).
    Start {
        /// Every node of the configuration.
        #[arg(long, conflicts_with = "nodes")]
        all: bool,
        /// The nodes to start (default: this one).
        nodes: Vec<String>,
        #[command(flatten)]
        remote: super::remote::RemoteArgs,
    },
    /// Stop pacelined (systemctl, a clean shutdown) on this node, on the
    /// nodes named, or on every node at once with --all (pcs cluster stop --all).
    Stop {
        /// Every node of the configuration.
        #[arg(long, conflicts_with = "nodes")]
        all: bool,
        /// The nodes to stop (default: this one).
        nodes: Vec<String>,
        #[command(flatten)]
        remote: super::remote::RemoteArgs,
    },
    /// Let pacelined start at boot (systemctl enable) on this node, the
    /// nodes named, or every node with --all (pcs cluster enable --all).
    Enable {
        /// Every node of the configuration.
        #[arg(long, conflicts_with = "nodes")]
        all: bool,
        /// The nodes (default: this one).
        nodes: Vec<String>,
        #[command(flatten)]
        remote: super::remote::RemoteArgs,
    },
    /// Keep pacelined from starting at boot (systemctl disable) on this
    /// node, the nodes named, or every node with --all (pcs cluster disable).
    Disable {
        /// Every node of the configuration.
        #[arg(long, conflicts_with = "nodes")]
        all: bool,
        /// The nodes (default: this one).
        nodes: Vec<String>,
        #[command(flatten)]
        remote: super::remote::RemoteArgs,
    },
    /// Write the cluster's configuration (the running one) and this node's
    /// key on every node, mode 0600, over ssh (pcs cluster sync).
    Sync {
        #[command(flatten)]
        remote: super::remote::RemoteArgs,
    },
    /// Add or remove a node (pcs cluster node add|remove).
    #[command(subcommand)]
    Node(NodeCommand),
    /// Change this node's daemon log level without a restart: error,
    /// warning, notice, info (the default) or debug (every API request).
    LogLevel {
        /// error, warning, notice, info or debug.
        level: String,
        /// Local API socket of pacelined.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
    },
}

/// `cluster node ...`.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Add NAME=ADDR[,ADDR2] to the configuration and put the configuration
    /// and key on every node, the new one included; the running nodes
    /// learn it when they restart (--restart: all together, now).
    Add {
        /// The new node as NAME=ADDR[,ADDR2] (one address per link).
        #[arg(value_name = "NODE=ADDR[,ADDR2]")]
        node: String,
        /// Restart every node together (a full restart: resources stop).
        #[arg(long)]
        restart: bool,
        #[command(flatten)]
        remote: super::remote::RemoteArgs,
    },
    /// Stop NODE, remove it from the configuration, delete its copy of the
    /// configuration and key, and update the others; they count it out
    /// when they restart (--restart: one at a time, now).
    Remove {
        /// The node to remove (not this one).
        node: String,
        /// Restart the other nodes one at a time.
        #[arg(long)]
        restart: bool,
        #[command(flatten)]
        remote: super::remote::RemoteArgs,
    },
}

pub fn run(cmd: ClusterCommand) -> anyhow::Result<ExitCode> {
    use super::lifecycle;
    match cmd {
        ClusterCommand::Start { all, nodes, remote } => {
            lifecycle::service_on(&remote, all, &nodes, lifecycle::Service::Start)
        }
        ClusterCommand::Stop { all, nodes, remote } => {
            lifecycle::service_on(&remote, all, &nodes, lifecycle::Service::Stop)
        }
        ClusterCommand::Enable { all, nodes, remote } => {
            lifecycle::service_on(&remote, all, &nodes, lifecycle::Service::Enable)
        }
        ClusterCommand::Disable { all, nodes, remote } => {
            lifecycle::service_on(&remote, all, &nodes, lifecycle::Service::Disable)
        }
        ClusterCommand::Sync { remote } => lifecycle::sync(&remote),
        ClusterCommand::Node(NodeCommand::Add {
            node,
            restart,
            remote,
        }) => lifecycle::node_add(&remote, &node, restart),
        ClusterCommand::Node(NodeCommand::Remove {
            node,
            restart,
            remote,
        }) => lifecycle::node_remove(&remote, &node, restart),
        ClusterCommand::Keygen { file, force } => keygen(&file, force),
        ClusterCommand::Setup {
            name,
            nodes,
            dir,
            force,
        } => setup(&name, &nodes, &dir, force),
        ClusterCommand::LogLevel { level, socket } => {
            match api::call(&socket, &Request::LogLevel { level })? {
                Response::Accepted { what } => {
                    println!("{what}");
                    Ok(ExitCode::SUCCESS)
                }
                Response::Error { message } => anyhow::bail!("pacelined refused: {message}"),
                other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
            }
        }
        ClusterCommand::Unblock { socket } => match api::call(&socket, &Request::Unblock)? {
            Response::Unblocked { by } => {
                println!("wait_for_all overridden by {by}; this partition may now become quorate");
                Ok(ExitCode::SUCCESS)
            }
            Response::Error { message } => anyhow::bail!("pacelined refused: {message}"),
            other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
        },
    }
}

/// The configuration `cluster setup` writes: the nodes with their links,
/// two_node quorum for two, and fencing off with a comment saying what to
/// add (a cluster without fencing may run a resource twice; `paceline
/// status` warns until it is on).
pub fn setup_config(name: &str, nodes: &[String], authkey: &Path) -> anyhow::Result<String> {
    let mut out = format!(
        "# Written by `paceline cluster setup`. Copy this file and the key to\n# every node, add fencing, then `systemctl start pacelined` on each.\n[cluster]\nname = {name:?}\nauthkey = {:?}\n",
        authkey.display().to_string()
    );
    if nodes.len() == 2 {
        out.push_str("\n[quorum]\ntwo_node = true\n");
    }
    for (i, node) in nodes.iter().enumerate() {
        let (node_name, addrs) = node
            .split_once('=')
            .filter(|(n, a)| !n.is_empty() && !a.is_empty())
            .ok_or_else(|| {
                crate::config::edit::EditError::Invalid(format!(
                    "`{node}` is not NODE=ADDR[,ADDR2]"
                ))
            })?;
        let links: Vec<String> = addrs.split(',').map(|a| format!("{a:?}")).collect();
        out.push_str(&format!(
            "\n[[node]]\nname = {node_name:?}\nid = {}\nlinks = [{}]\n",
            i + 1,
            links.join(", ")
        ));
    }
    out.push_str("\n# Fencing is off until a device and a level per node are added:\n#   paceline fencing device add bmc-NODE --type ipmi --set host=ADDR ...\n#   paceline fencing level add NODE 1 bmc-NODE\n[fencing]\nenabled = false\n");
    crate::config::load_config_str(&out, "the new configuration")?;
    Ok(out)
}

fn setup(name: &str, nodes: &[String], dir: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let config = dir.join("cluster.toml");
    let key = dir.join("authkey");
    let text = setup_config(name, nodes, &key)?;
    if !force && (config.exists() || key.exists()) {
        anyhow::bail!(
            "{} or {} exists already (use --force to replace them)",
            config.display(),
            key.display()
        );
    }
    keygen(&key, force)?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&config)
        .with_context(|| format!("cannot create {}", config.display()))?;
    out.write_all(text.as_bytes())?;
    println!(
        "wrote {}: put it and {} on every node (`paceline cluster sync --config FILE`), add fencing, then `paceline cluster start --all`",
        config.display(),
        key.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn keygen(file: &PathBuf, force: bool) -> anyhow::Result<ExitCode> {
    let mut key = [0u8; 64];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .context("cannot read random bytes from /dev/urandom")?;
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut out = options.open(file).with_context(|| {
        format!(
            "cannot create {} (use --force to replace an existing key)",
            file.display()
        )
    })?;
    // An existing file keeps its old mode with --force; the key must not be readable by others.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    out.write_all(&key)?;
    println!(
        "wrote a new cluster key to {} (mode 0600); copy it to every node",
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}
