//! `paceline config ...`: check and import configurations.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config::agents::AgentCatalog;
use crate::config::cib::import_cib;
use crate::config::{cib_to_toml, load_config_str, load_runnable_file};
use crate::executor::installed::InstalledAgents;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a cluster TOML file as pacelined would start with it, and
    /// each resource and fence device (stonith: primitives, type = "agent"
    /// devices) against its agent's meta-data on this machine; print every
    /// problem with file:line:column.
    Check {
        /// The cluster file.
        file: PathBuf,
        /// The agents are not installed on this machine (a workstation):
        /// skip the agent checks (existence, required and unknown
        /// parameters). Without it, a class or provider with no agent here
        /// is skipped with a note.
        #[arg(long)]
        without_agents: bool,
    },
    /// Convert a Pacemaker CIB XML file into the paceline TOML format:
    /// resources (templates expanded), constraints (tags expanded), fence
    /// devices and the fencing topology, alerts, tickets, utilization;
    /// whatever is not imported is listed on stderr and atop the TOML.
    ImportCib {
        /// The CIB XML file (e.g. from `cibadmin -Q`).
        file: PathBuf,
        /// Write the TOML here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check {
            file,
            without_agents,
        } => check(&file, without_agents),
        ConfigCommand::ImportCib { file, output } => import_cib_file(&file, output),
    }
}

/// `config check`: exit 2 with every problem, else a summary.
fn check(file: &Path, without_agents: bool) -> anyhow::Result<ExitCode> {
    let agents = InstalledAgents::default();
    let catalog: Option<&dyn AgentCatalog> = (!without_agents).then_some(&agents);
    match load_runnable_file(file, catalog) {
        Ok(cluster) => {
            for why in &cluster.unchecked_agents {
                eprintln!("note: {why}: those resources' agents and parameters were not checked");
            }
            let cfg = &cluster.model;
            println!(
                "ok: {} nodes, {} resources, {} location, {} colocation, {} order constraints",
                cfg.nodes.len(),
                cfg.resources.len(),
                cfg.locations.len(),
                cfg.colocations.len(),
                cfg.orders.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `config import-cib`: the CIB as paceline TOML.
fn import_cib_file(file: &Path, output: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let cib = match import_cib(&text) {
        Ok(cib) => cib,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let (toml, not_imported) = cib_to_toml(&cib);
    if !not_imported.is_empty() {
        eprintln!("not imported ({}):", not_imported.len());
        for line in &not_imported {
            eprintln!("  - {line}");
        }
    }
    // Say so now rather than at the first `config check`; the TOML is
    // still written (the edits are the operator's), and the exit code says
    // it is not ready (2: a configuration to fix).
    let valid = match load_config_str(&toml, "imported.toml") {
        Ok(_) => true,
        Err(e) => {
            eprintln!("error: the imported configuration needs edits before use:\n{e}");
            false
        }
    };
    match output {
        // Owner-only: it may hold the fence devices' passwords.
        Some(out) => std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&out)
            .and_then(|mut f| f.write_all(toml.as_bytes()))
            .with_context(|| format!("cannot write {}", out.display()))?,
        None => print!("{toml}"),
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_USAGE)
    })
}
