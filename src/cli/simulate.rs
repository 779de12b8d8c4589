//! `paceline simulate` and `paceline explain`.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct SimulateArgs {}

#[derive(Debug, Args)]
pub struct ExplainArgs {}

pub fn run_simulate(_args: SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("simulate is not implemented yet")
}

pub fn run_explain(_args: ExplainArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("explain is not implemented yet")
}
