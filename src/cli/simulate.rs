//! `paceline simulate` and `paceline explain`.

use std::collections::BTreeMap;
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
    /// Also print the transition: each step and the steps it waits for.
    #[arg(long)]
    pub steps: bool,
    /// Text, or one JSON object.
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
    /// A Pacemaker CIB (XML) holding configuration and status.
    #[arg(long, conflicts_with = "config")]
    pub cib: Option<PathBuf>,
    /// A paceline cluster definition (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A status file to combine with --config.
    #[arg(long, requires = "config")]
    pub status: Option<PathBuf>,
    /// Text, or one JSON object.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Evaluate time-dependent rules and failure expiry at this instant (RFC 3339).
    #[arg(long)]
    pub now: Option<String>,
}

/// Options of one simulation.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Seconds since the epoch.
    pub now: i64,
    pub scores: bool,
    pub steps: bool,
    /// Build the transition (implied by `steps` and by JSON output).
    pub transition: bool,
}

/// What a simulation produced.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    pub plan: Plan,
    /// The plan as the controller would run it: elementary steps (start,
    /// stop, promote, demote, recurring monitors, fencing) and their
    /// "a before b" edges. Built only when asked for (`--steps`, JSON):
    /// its ordering pass grows faster than the scheduler's on very large
    /// plans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transition: Option<crate::scheduler::transition::Transition>,
}

/// Runs the scheduler on a model and, if asked, expands its plan into the
/// transition.
pub fn simulate(config: &ClusterConfig, status: &ClusterStatus, opts: &SimOptions) -> SimReport {
    let plan = schedule(config, status, opts.now);
    let transition = opts
        .transition
        .then(|| crate::scheduler::transition::build(config, status, &plan));
    SimReport { plan, transition }
}

/// The transition as numbered steps, each with the steps it waits for.
pub fn format_transition(t: &crate::scheduler::transition::Transition) -> String {
    use crate::scheduler::transition::StepKind;
    let mut out = String::from("\nTransition:\n");
    if t.steps.is_empty() {
        out.push_str("  (nothing to do)\n");
    }
    // Each step's predecessors, gathered in one pass over the edges.
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); t.steps.len()];
    for &(a, b) in &t.edges {
        if let Some(list) = after.get_mut(b) {
            list.push(a + 1);
        }
    }
    for (i, step) in t.steps.iter().enumerate() {
        let what = match &step.kind {
            StepKind::Resource {
                instance,
                operation,
                interval_ms,
                ..
            } if *interval_ms > 0 => format!(
                "{operation} {instance} every {interval_ms} ms on {}",
                step.node
            ),
            StepKind::Resource {
                instance,
                operation,
                ..
            } => format!("{operation} {instance} on {}", step.node),
            StepKind::Fence { action } => format!("fence {} ({action})", step.node),
        };
        let after = &mut after[i];
        after.sort_unstable();
        if after.is_empty() {
            out.push_str(&format!("  {:>3}. {what}\n", i + 1));
        } else {
            let list: Vec<String> = after.iter().map(|a| a.to_string()).collect();
            out.push_str(&format!(
                "  {:>3}. {what}  (after {})\n",
                i + 1,
                list.join(", ")
            ));
        }
    }
    out
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
        if !report.plan.promotion_scores.is_empty() {
            out.push_str("\nPromotion scores:\n");
            for (instance, node, score) in &report.plan.promotion_scores {
                out.push_str(&format!(
                    "  {instance} promotion score on {node}: {score}\n"
                ));
            }
        }
        out.push('\n');
    }
    out.push_str(&format_summary(&report.plan));
    if let (true, Some(t)) = (opts.steps, &report.transition) {
        out.push_str(&format_transition(t));
    }
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

/// The configuration and status to plan from, or the exit code of a
/// configuration error already reported on stderr.
fn load_inputs(
    cib: Option<&PathBuf>,
    config: Option<&PathBuf>,
    status: Option<&PathBuf>,
) -> anyhow::Result<Result<(ClusterConfig, ClusterStatus), ExitCode>> {
    match (cib, config) {
        (Some(cib), _) => {
            let imported = load_cib(cib)?;
            Ok(Ok((imported.config, imported.status)))
        }
        (None, Some(path)) => {
            let config = match crate::config::load_config_file(path) {
                Ok(config) => config,
                Err(err) => {
                    eprintln!("{err}");
                    return Ok(Err(ExitCode::from(super::EXIT_USAGE)));
                }
            };
            let status = match status {
                Some(status_path) => match crate::config::load_status_file(status_path) {
                    Ok(status) => status,
                    Err(err) => {
                        eprintln!("{err}");
                        return Ok(Err(ExitCode::from(super::EXIT_USAGE)));
                    }
                },
                None => all_nodes_online(&config)?,
            };
            Ok(Ok((config, status)))
        }
        (None, None) => {
            eprintln!("paceline: give --cib FILE.xml or --config FILE.toml");
            Ok(Err(ExitCode::from(super::EXIT_USAGE)))
        }
    }
}

pub fn run_simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let (config, status) = match load_inputs(
        args.cib.as_ref(),
        args.config.as_ref(),
        args.status.as_ref(),
    )? {
        Ok(inputs) => inputs,
        Err(code) => return Ok(code),
    };
    let opts = SimOptions {
        now: resolve_now(args.now.as_deref(), status.execution_date)?,
        scores: args.scores,
        steps: args.steps,
        transition: args.steps || args.output == OutputFormat::Json,
    };
    let report = simulate(&config, &status, &opts);
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Text => print!("{}", format_report(&report, &opts)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The chain of reasons behind one resource's placement.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub resource: String,
    /// Per placed unit (the resource, its clone instances or group members):
    /// every decision in the order the scheduler took it.
    pub reasons: BTreeMap<String, Vec<String>>,
    /// The summary lines the plan has for it.
    pub planned: Vec<String>,
}

/// Collects what the plan says about `resource` (also its instances
/// `resource:N`, and for a clone those of the cloned resource), or None when
/// the plan never mentions it.
pub fn explain(config: &ClusterConfig, plan: &Plan, resource: &str) -> Option<Explanation> {
    let mut names = vec![resource.to_string()];
    for r in &config.resources {
        if let crate::model::Resource::Clone(c) = r
            && c.id == resource
        {
            names.push(c.child.id().to_string());
        }
    }
    let prefixes: Vec<String> = names.iter().map(|n| format!("{n}:")).collect();
    let mentions = |id: &str| {
        names.iter().any(|n| n == id) || prefixes.iter().any(|p| id.starts_with(p.as_str()))
    };
    let reasons: BTreeMap<String, Vec<String>> = plan
        .reasons
        .iter()
        .filter(|(id, reasons)| {
            mentions(id)
                || reasons
                    .iter()
                    .any(|r| prefixes.iter().any(|p| r.starts_with(p.as_str())))
        })
        .map(|(id, reasons)| (id.clone(), reasons.clone()))
        .collect();
    let planned: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| mentions(&c.subject))
        .map(|c| crate::scheduler::format_change(c).trim().to_string())
        .collect();
    (!reasons.is_empty() || !planned.is_empty()).then(|| Explanation {
        resource: resource.to_string(),
        reasons,
        planned,
    })
}

fn known_resource_ids(config: &ClusterConfig) -> Vec<String> {
    let mut ids = Vec::new();
    for r in &config.resources {
        ids.push(r.id().to_string());
        match r {
            crate::model::Resource::Primitive(_) => {}
            crate::model::Resource::Group(g) => ids.extend(g.members.iter().map(|p| p.id.clone())),
            crate::model::Resource::Clone(c) => match &c.child {
                crate::model::CloneChild::Primitive(p) => ids.push(p.id.clone()),
                crate::model::CloneChild::Group(g) => {
                    ids.push(g.id.clone());
                    ids.extend(g.members.iter().map(|p| p.id.clone()));
                }
            },
        }
    }
    ids
}

pub fn run_explain(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let (config, status) = match load_inputs(
        args.cib.as_ref(),
        args.config.as_ref(),
        args.status.as_ref(),
    )? {
        Ok(inputs) => inputs,
        Err(code) => return Ok(code),
    };
    let now = resolve_now(args.now.as_deref(), status.execution_date)?;
    let plan = schedule(&config, &status, now);
    let Some(explanation) = explain(&config, &plan, &args.resource) else {
        let known = known_resource_ids(&config);
        eprintln!(
            "paceline explain: no resource {:?} in this configuration; known resources: {}",
            args.resource,
            known.join(", ")
        );
        return Ok(ExitCode::from(super::EXIT_USAGE));
    };
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&explanation)?),
        OutputFormat::Text => {
            for (id, reasons) in &explanation.reasons {
                println!("{id}:");
                for r in reasons {
                    println!("  - {r}");
                }
            }
            for line in &explanation.planned {
                println!("planned: {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
