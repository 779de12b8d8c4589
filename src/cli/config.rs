//! `paceline config ...`: check and import configurations.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config::cib::import_cib;
use crate::config::{load_config_str, load_runnable_file, to_toml};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a cluster TOML file as pacelined would start with it; print
    /// every problem with file:line:column.
    Check {
        /// The cluster file.
        file: PathBuf,
    },
    /// Convert a Pacemaker CIB XML file into the paceline TOML format.
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
        ConfigCommand::Check { file } => match load_runnable_file(&file) {
            Ok(cluster) => {
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
        },
        ConfigCommand::ImportCib { file, output } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let cib = match import_cib(&text) {
                Ok(cib) => cib,
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let toml = to_toml(&cib.config);
            // Say so now rather than at the first `config check`.
            if let Err(e) = load_config_str(&toml, "imported.toml") {
                eprintln!("warning: the imported configuration needs edits before use:\n{e}");
            }
            match output {
                Some(out) => std::fs::write(&out, toml)
                    .with_context(|| format!("cannot write {}", out.display()))?,
                None => print!("{toml}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
