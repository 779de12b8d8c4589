//! `paceline simulate` and `paceline explain`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::OutputFormat;
use crate::config::cib::{import_cib, parse_datetime};
use crate::model::{ClusterConfig, ClusterStatus};
use crate::scheduler::{Plan, format_summary, schedule};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// A Pacemaker CIB (XML) holding configuration and status.
    #[arg(long, conflicts_with = "config")]
    pub cib: Option<PathBuf>,
    /// A paceline cluster definition (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A status file to combine with --config.
    #[arg(long, requires = "config")]
    pub status: Option<PathBuf>,
    /// Also print the allocation scores.
    #[arg(long)]
    pub scores: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Evaluate time-dependent rules and failure expiry at this instant (RFC 3339).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The resource to explain.
    pub resource: String,
    #[arg(long)]
    pub cib: PathBuf,
    #[arg(long)]
    pub now: Option<String>,
}

/// Options of one simulation.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Seconds since the epoch.
    pub now: i64,
    pub scores: bool,
}

/// What a simulation produced.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    pub plan: Plan,
}

/// Runs the scheduler on a model; everything `--config` needs once wired.
pub fn simulate(config: &ClusterConfig, status: &ClusterStatus, opts: &SimOptions) -> SimReport {
    SimReport {
        plan: schedule(config, status, opts.now),
    }
}

/// Prints a report in crm_simulate's text style.
pub fn format_report(report: &SimReport, opts: &SimOptions) -> String {
    let mut out = String::new();
    if opts.scores {
        out.push_str("Allocation scores:\n");
        for (rsc, node, score) in &report.plan.scores {
            out.push_str(&format!(
                "  pcmk__primitive_assign: {rsc} allocation score on {node}: {score}\n"
            ));
        }
        out.push('\n');
    }
    out.push_str(&format_summary(&report.plan));
    out
}

fn resolve_now(now: Option<&str>, cib_date: Option<i64>) -> anyhow::Result<i64> {
    match now {
        Some(s) => parse_datetime(s)
            .with_context(|| format!("--now {s:?} is not a date such as 2030-12-31T23:59:59Z")),
        None => Ok(cib_date.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })),
    }
}

/// Without a status file, `simulate --config` plans a cold start: every
/// configured node online, the partition quorate, nothing running yet.
fn all_nodes_online(config: &ClusterConfig) -> anyhow::Result<ClusterStatus> {
    let mut text = String::from("quorum = true\n");
    for node in &config.nodes {
        text.push_str(&format!(
            "[[node]]\nname = {:?}\nstate = \"online\"\n",
            node.uname.to_string()
        ));
    }
    crate::config::status::parse_status(&text, "(all nodes online)")
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn load_cib(path: &PathBuf) -> anyhow::Result<crate::config::cib::ImportedCib> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    import_cib(&text).with_context(|| format!("{}", path.display()))
}

pub fn run_simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let (config, status) = match (&args.cib, &args.config) {
        (Some(cib), _) => {
            let imported = load_cib(cib)?;
            (imported.config, imported.status)
        }
        (None, Some(path)) => {
            let config = match crate::config::load_config_file(path) {
                Ok(config) => config,
                Err(err) => {
                    eprintln!("{err}");
                    return Ok(ExitCode::from(super::EXIT_USAGE));
                }
            };
            let status = match &args.status {
                Some(status_path) => match crate::config::load_status_file(status_path) {
                    Ok(status) => status,
                    Err(err) => {
                        eprintln!("{err}");
                        return Ok(ExitCode::from(super::EXIT_USAGE));
                    }
                },
                None => all_nodes_online(&config)?,
            };
            (config, status)
        }
        (None, None) => {
            eprintln!("paceline simulate: give --cib FILE.xml or --config FILE.toml");
            return Ok(ExitCode::from(super::EXIT_USAGE));
        }
    };
    let opts = SimOptions {
        now: resolve_now(args.now.as_deref(), status.execution_date)?,
        scores: args.scores,
    };
    let report = simulate(&config, &status, &opts);
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Text => print!("{}", format_report(&report, &opts)),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_explain(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let imported = load_cib(&args.cib)?;
    let now = resolve_now(args.now.as_deref(), imported.status.execution_date)?;
    let plan = schedule(&imported.config, &imported.status, now);
    let mut found = false;
    for (id, reasons) in &plan.reasons {
        if *id == args.resource
            || reasons
                .iter()
                .any(|r| r.starts_with(&format!("{}:", args.resource)))
        {
            found = true;
            println!("{id}:");
            for r in reasons {
                println!("  - {r}");
            }
        }
    }
    for c in plan.changes.iter().filter(|c| {
        c.subject == args.resource || c.subject.starts_with(&format!("{}:", args.resource))
    }) {
        println!("planned: {}", crate::scheduler::format_change(c).trim());
    }
    if !found {
        anyhow::bail!("no resource {:?} in {}", args.resource, args.cib.display());
    }
    Ok(ExitCode::SUCCESS)
}
