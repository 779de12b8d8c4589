//! `paceline fence`.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct FenceArgs {}

pub fn run(_args: FenceArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("fence is not implemented yet")
}
