//! `paceline cluster ...`.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
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

pub fn run(cmd: ClusterCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ClusterCommand::Keygen { file, force } => keygen(&file, force),
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
