//! `paceline config ...`: check and import configurations.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::{ConfigError, load_config_file};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a cluster TOML file; print every problem with file:line:column.
    Check {
        /// The cluster file.
        file: PathBuf,
    },
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check { file } => match load_config_file(&file) {
            Ok(cfg) => {
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
            Err(e @ ConfigError::Invalid(_)) | Err(e @ ConfigError::Io { .. }) => {
                eprintln!("{e}");
                Ok(ExitCode::from(2))
            }
        },
    }
}
