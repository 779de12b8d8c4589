//! `paceline cluster ...`.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {}

pub fn run(cmd: ClusterCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
