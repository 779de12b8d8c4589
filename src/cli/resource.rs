//! `paceline resource ...`.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {}

pub fn run(cmd: ResourceCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
