//! `paceline config ...`: check and import configurations.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
