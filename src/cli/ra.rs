//! `paceline ra ...`.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RaCommand {}

pub fn run(cmd: RaCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
