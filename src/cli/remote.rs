//! Acting on every node of the cluster from one (`cluster start|stop
//! --all`, `cluster sync`, `cluster node add|remove`, `report --all`): the
//! nodes are the `[[node]]`s of the cluster's configuration, each reached
//! at its first link's address over ssh, as crmsh does; the node this
//! runs on is reached directly.
//!
//! Why ssh and not the cluster's own channel: the channel is open only
//! between running daemons that already hold the authkey, and these
//! commands are about nodes where neither is true (a stopped daemon to
//! start, a new node without the key). ssh reaches them, authenticates the
//! operator (root's keys, as crmsh sets up) and encrypts what travels, so
//! the key is never sent in clear; no second daemon listens on the nodes
//! (pcs needs pcsd with its own tokens for this). The remote shell is
//! `--ssh` (or `$PACELINE_SSH`), split at spaces, given the host and one
//! shell command line.

use std::io::Write;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::Context;
use clap::Args;

use crate::api::{self, DEFAULT_SOCKET, Request, Response};
use crate::config::Runtime;

/// The remote shell when neither `--ssh` nor `$PACELINE_SSH` says one.
pub const DEFAULT_SSH: &str = "ssh -o BatchMode=yes -o ConnectTimeout=10";
/// The environment variable naming the remote shell.
pub const SSH_ENV: &str = "PACELINE_SSH";

/// Where the nodes are listed and how they are reached.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// The cluster file: its `[[node]]`s when pacelined does not answer
    /// (else the cluster's running configuration), its key, and the path
    /// both are written to on the other nodes.
    #[arg(long, default_value = "/etc/paceline/cluster.toml")]
    pub config: PathBuf,
    /// The remote shell, split at spaces (default: $PACELINE_SSH, else
    /// `ssh -o BatchMode=yes -o ConnectTimeout=10`); it is given each
    /// node's first link address and one command line.
    #[arg(long)]
    pub ssh: Option<String>,
}

/// One node to act on.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// Its first link's address.
    pub host: String,
    /// The node this command runs on (one of its addresses is local).
    pub local: bool,
}

/// The cluster as these commands see it: the configuration text, what a
/// node runs by, and the nodes.
#[derive(Debug)]
pub struct ClusterNodes {
    pub text: String,
    pub runtime: Runtime,
    pub targets: Vec<Target>,
}

impl ClusterNodes {
    /// The nodes of `text`.
    pub fn from_text(text: String, what: &str) -> anyhow::Result<ClusterNodes> {
        let cluster = crate::config::load_node_str(&text, what)?;
        let runtime = cluster
            .runtime
            .ok_or_else(|| anyhow::anyhow!("{what} names no nodes"))?;
        let targets = runtime
            .nodes
            .iter()
            .filter_map(|n| {
                let addr = n.links.first()?.ip();
                Some(Target {
                    name: n.name.clone(),
                    host: addr.to_string(),
                    // Binding succeeds only on an address of this host.
                    local: UdpSocket::bind((addr, 0)).is_ok(),
                })
            })
            .collect();
        Ok(ClusterNodes {
            text,
            runtime,
            targets,
        })
    }

    /// The cluster's running configuration when the local pacelined
    /// answers (the file may be older), else the file's.
    pub fn read(args: &RemoteArgs) -> anyhow::Result<ClusterNodes> {
        let what = args.config.display().to_string();
        let file = crate::config::read_bounded(&args.config)?;
        let from_file = ClusterNodes::from_text(file, &what)?;
        match api::call(&from_file.socket(), &Request::ConfigShow) {
            Ok(Response::Config { text, .. }) if text != from_file.text => {
                ClusterNodes::from_text(text, "the cluster's configuration")
            }
            _ => Ok(from_file),
        }
    }

    /// The local API socket the configuration names.
    pub fn socket(&self) -> PathBuf {
        self.runtime
            .socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
    }

    /// The nodes named, or all with `all`, or this node alone.
    pub fn pick(&self, all: bool, names: &[String]) -> anyhow::Result<Vec<Target>> {
        if all {
            return Ok(self.targets.clone());
        }
        if names.is_empty() {
            return self
                .targets
                .iter()
                .find(|t| t.local)
                .cloned()
                .map(|t| vec![t])
                .ok_or_else(|| {
                    anyhow::anyhow!("no node of the configuration has an address on this host")
                });
        }
        names
            .iter()
            .map(|n| {
                self.targets
                    .iter()
                    .find(|t| &t.name == n)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("no [[node]] named `{n}` in the configuration"))
            })
            .collect()
    }
}

/// The remote shell.
#[derive(Debug, Clone)]
pub struct Remote {
    argv: Vec<String>,
}

impl Remote {
    pub fn new(spec: Option<&str>) -> Remote {
        let spec = spec
            .map(str::to_string)
            .or_else(|| std::env::var(SSH_ENV).ok())
            .unwrap_or_else(|| DEFAULT_SSH.to_string());
        Remote {
            argv: spec.split_whitespace().map(str::to_string).collect(),
        }
    }

    /// Runs the shell command line `command` on `target` (here with `sh
    /// -c`, elsewhere through the remote shell), `input` on its stdin.
    pub fn run(
        &self,
        target: &Target,
        command: &str,
        input: Option<&[u8]>,
    ) -> anyhow::Result<Output> {
        let mut cmd = if target.local {
            let mut c = Command::new("sh");
            c.args(["-c", command]);
            c
        } else {
            let (program, args) = self
                .argv
                .split_first()
                .ok_or_else(|| anyhow::anyhow!("the remote shell (--ssh) is empty"))?;
            let mut c = Command::new(program);
            c.args(args).arg(&target.host).arg("--").arg(command);
            c
        };
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot run the remote shell for {}", target.name))?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(bytes)
                .with_context(|| format!("cannot send to {}", target.name))?;
        }
        Ok(child.wait_with_output()?)
    }

    /// `run`, failing with the command's stderr when it fails; its stdout.
    pub fn check(
        &self,
        target: &Target,
        command: &str,
        input: Option<&[u8]>,
    ) -> anyhow::Result<Vec<u8>> {
        let out = self.run(target, command, input)?;
        if !out.status.success() {
            anyhow::bail!(
                "{} ({}): `{command}` failed ({}): {}",
                target.name,
                target.host,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }

    /// Writes `bytes` to `path` on `target`, mode 0600, atomically (a
    /// temporary file renamed over it); the bytes travel on the remote
    /// shell's stdin, encrypted by ssh.
    pub fn put_file(&self, target: &Target, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        let p = quote(&path.display().to_string());
        let tmp = quote(&format!("{}.paceline-new", path.display()));
        let dir = quote(
            &path
                .parent()
                .map_or_else(|| ".".into(), |d| d.display().to_string()),
        );
        let command = format!(
            "umask 077 && mkdir -p {dir} && cat > {tmp} && chmod 600 {tmp} && mv -f {tmp} {p}"
        );
        self.check(target, &command, Some(bytes)).map(|_| ())
    }
}

/// `s` as one word of a POSIX shell command line.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `f` on every target at once (each on a thread); the outcomes in
/// the targets' order.
pub fn on_each<T: Send>(
    targets: &[Target],
    f: impl Fn(&Target) -> anyhow::Result<T> + Sync,
) -> Vec<anyhow::Result<T>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = targets.iter().map(|t| s.spawn(|| f(t))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the worker thread panicked")))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_quoted_for_the_remote_shell() {
        assert_eq!(quote("/etc/paceline/authkey"), "'/etc/paceline/authkey'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_nodes_are_reached_at_their_first_link() {
        let text = crate::cli::cluster::setup_config(
            "c",
            &["node1=127.0.0.1".into(), "node2=198.18.0.2".into()],
            Path::new("/etc/paceline/authkey"),
        )
        .unwrap();
        let nodes = ClusterNodes::from_text(text, "t").unwrap();
        let t: Vec<_> = nodes
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.host.as_str(), t.local))
            .collect();
        // 127.0.0.1 is on every host; 198.18.0.2 is not here.
        assert_eq!(
            t,
            [("node1", "127.0.0.1", true), ("node2", "198.18.0.2", false)]
        );
        assert_eq!(nodes.pick(false, &[]).unwrap()[0].name, "node1");
        assert!(nodes.pick(false, &["node9".into()]).is_err());
    }
}
