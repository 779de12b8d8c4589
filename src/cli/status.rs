//! `paceline status`.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct StatusArgs {}

pub fn run(_args: StatusArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("status is not implemented yet")
}
