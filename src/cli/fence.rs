//! `paceline fence`: fence (or unfence) a node through the local pacelined
//! (or from this process alone, `--direct`), confirm by hand that a node
//! is off, test one device by hand, check that every node can be fenced,
//! or show the fencing history.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use paceline_fencing::config::FencingSection;
use paceline_fencing::device::{self, InvalidDevice};
use paceline_fencing::history::{self, FenceResult};
use paceline_fencing::readiness::FENCING_DISABLED_WARNING;
use paceline_fencing::secret::check_private;
use paceline_fencing::service::{FenceJob, fence_with_topology, fencing_readiness, power_text};
use paceline_fencing::topology::FenceAction;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct FenceArgs {
    #[command(subcommand)]
    command: Option<FenceCommand>,
    /// The node to fence.
    #[arg(required = true)]
    node: Option<String>,
    /// off or reboot fence the node; on unfences it (powers it back on).
    #[arg(long, value_enum)]
    action: Option<NodeAction>,
    /// Fence from this process alone, with the topology of a config file,
    /// instead of asking the local pacelined (whose fencing service applies
    /// the cluster's configuration and delays, keeps the cluster's history
    /// and tells the controller). For a node without a running daemon.
    #[arg(long)]
    direct: bool,
    /// With --direct: the cluster file whose [fencing] is used
    /// (default: /etc/paceline/cluster.toml).
    #[arg(long, requires = "direct")]
    config: Option<PathBuf>,
    /// With --direct: the fencing history file to append to
    /// (default: /var/lib/paceline/fencing-history.jsonl).
    #[arg(long, requires = "direct")]
    history: Option<PathBuf>,
    /// With --direct: skip the configured fencing delays (for an operator at the console).
    #[arg(long, requires = "direct")]
    no_delay: bool,
    /// Fence through the local pacelined (the default; kept for scripts).
    #[arg(long, hide = true, conflicts_with = "direct")]
    via_daemon: bool,
    /// The local pacelined's API socket.
    #[arg(long, default_value = crate::api::DEFAULT_SOCKET)]
    socket: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NodeAction {
    Off,
    Reboot,
    On,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DeviceAction {
    Status,
    Off,
    On,
    Reboot,
    Monitor,
}

impl DeviceAction {
    fn fence_action(self) -> FenceAction {
        match self {
            DeviceAction::Status => FenceAction::Status,
            DeviceAction::Off => FenceAction::Off,
            DeviceAction::On => FenceAction::On,
            DeviceAction::Reboot => FenceAction::Reboot,
            DeviceAction::Monitor => FenceAction::Monitor,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum FenceCommand {
    /// Run one device directly, like running a fence agent by hand.
    Test {
        /// The cluster file whose [[fencing.device]] is used.
        #[arg(long)]
        config: PathBuf,
        /// The id of the [[fencing.device]] to run.
        #[arg(long)]
        device: String,
        /// What to ask the device.
        #[arg(long, value_enum)]
        action: DeviceAction,
        /// How to print the result.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Monitor the first fencing level of every node: can each be fenced?
    Check {
        /// The cluster file whose [fencing] is checked.
        #[arg(long, default_value = "/etc/paceline/cluster.toml")]
        config: PathBuf,
        /// How to print the result.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Show the fencing history: the cluster's, newest first, with when,
    /// who asked and who confirmed by hand (from the local pacelined), or
    /// with --history this node's own fencing log.
    History {
        /// Read this node's fencing log file instead of asking pacelined
        /// (its default place: /var/lib/paceline/fencing-history.jsonl).
        #[arg(long)]
        history: Option<PathBuf>,
        /// How to print the history.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
        /// The local pacelined's API socket.
        #[arg(long, default_value = crate::api::DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Tell the cluster that NODE is off: for a node that died together with
    /// its fence device (its BMC lost power too), after you have made sure it
    /// is off. The DC takes it as a successful fence of NODE and recovers
    /// what it ran (pcs stonith confirm, stonith_admin --confirm). Refused
    /// for a member of the current view; recorded in the fencing history
    /// with who confirmed it and when. Run it on the DC.
    Confirm {
        /// The node that is off.
        node: String,
        /// Do not ask for confirmation on the terminal.
        #[arg(long, short)]
        yes: bool,
        /// The local pacelined's API socket.
        #[arg(long, default_value = crate::api::DEFAULT_SOCKET)]
        socket: PathBuf,
    },
}

const DEFAULT_HISTORY: &str = "/var/lib/paceline/fencing-history.jsonl";
const DEFAULT_CONFIG: &str = "/etc/paceline/cluster.toml";

/// `[fencing]` of the file, typed by the config module (a device without
/// its own `timeout` gets the one `failover_budget` derives, as `paceline
/// config check` shows).
fn load(config: &Path) -> anyhow::Result<FencingSection> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read config {}", config.display()))?;
    let section = crate::config::load_fencing_str(&text, &config.display().to_string())?
        .section
        .ok_or_else(|| missing_fencing(config))?;
    let inline_password = section.devices.iter().any(|d| {
        d.settings.contains_key("password")
            || d.settings
                .get("params")
                .and_then(|p| p.as_table())
                .is_some_and(|t| t.contains_key("password") || t.contains_key("passwd"))
    });
    if inline_password {
        check_private(config).context(
            "a password is written in the config itself; make the file 0600 or use password_file",
        )?;
    }
    Ok(section)
}

/// The node names of the cluster config (`[[node]] name = ...`), read
/// leniently so that `fence` works with a config the rest of paceline would
/// refuse for unrelated reasons.
fn node_names(config: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read config {}", config.display()))?;
    Ok(crate::config::load_fencing_str(&text, &config.display().to_string())?.node_names)
}

/// A file without `[fencing]`: a configuration error (exit 2).
fn missing_fencing(config: &Path) -> crate::config::ConfigError {
    crate::config::ConfigError::Invalid(vec![crate::config::Diagnostic {
        file: config.display().to_string(),
        line: 1,
        column: 1,
        message: "[fencing] is missing".into(),
        help: Some(
            "add `[fencing]` with `enabled = true` (or `enabled = false` to run without fencing)"
                .into(),
        ),
        source_line: String::new(),
        span_len: 0,
    }])
}

fn test_device(
    config: &Path,
    device: &str,
    action: DeviceAction,
    output: Output,
) -> anyhow::Result<ExitCode> {
    let section = load(config)?;
    let dev = section.device(device).with_context(|| {
        format!(
            "no [[fencing.device]] with id {device:?} in {}; defined: {}",
            config.display(),
            section
                .devices
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let mut opened = match device::open(dev) {
        Ok(d) => d,
        Err(e) => return Err(InvalidDevice(e).into()),
    };
    let started = Instant::now();
    let result = opened.execute(action.fence_action());
    let elapsed_ms = started.elapsed().as_millis();
    let name = action.fence_action().as_str();
    if output == Output::Json {
        let json = match &result {
            Ok(r) => serde_json::json!({"device": device, "action": name, "ok": true,
                "elapsed_ms": elapsed_ms, "power": r.power, "transcript": r.transcript}),
            Err(e) => serde_json::json!({"device": device, "action": name, "ok": false,
                "elapsed_ms": elapsed_ms, "error": e.message, "output": e.output}),
        };
        println!("{json}");
    } else {
        match &result {
            Ok(r) => println!(
                "OK {name} on {device} in {elapsed_ms} ms\n{}",
                power_text(r)
            ),
            Err(e) => println!(
                "FAILED {name} on {device} in {elapsed_ms} ms\n{}\n{}",
                e.message, e.output
            ),
        }
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check(config: &Path, output: Output) -> anyhow::Result<ExitCode> {
    let section = load(config)?;
    if !section.enabled {
        if output == Output::Json {
            println!(
                "{}",
                serde_json::json!({"fencing": "disabled", "warning": FENCING_DISABLED_WARNING, "ok": true})
            );
        } else {
            println!("WARNING: {FENCING_DISABLED_WARNING}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let nodes = node_names(config)?;
    let readiness = fencing_readiness(&section, &nodes);
    let verdict = readiness.verdict();
    if output == Output::Json {
        let per_node: serde_json::Map<String, serde_json::Value> = readiness
            .per_node()
            .into_iter()
            .map(|(n, b)| {
                let reasons: Vec<String> = b.iter().map(|b| b.to_string()).collect();
                (
                    n,
                    serde_json::json!({"ok": reasons.is_empty(), "problems": reasons}),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"fencing": "enabled", "ok": verdict.is_ok(), "nodes": per_node})
        );
    } else {
        for (node, blockers) in readiness.per_node() {
            if blockers.is_empty() {
                println!("{node}: can be fenced");
            } else {
                for b in blockers {
                    println!("{node}: CANNOT be fenced: {b}");
                }
            }
        }
        if verdict.is_err() {
            println!("resources will not start until every node can be fenced");
        }
    }
    Ok(if verdict.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn fence_via_daemon(args: &FenceArgs, node: &str) -> anyhow::Result<ExitCode> {
    use crate::api::{Request, Response};
    let action = match args.action {
        Some(NodeAction::Off) => "off",
        Some(NodeAction::On) => "on",
        Some(NodeAction::Reboot) => "reboot",
        None => "",
    };
    let request = Request::Fence {
        target: node.to_string(),
        action: action.to_string(),
    };
    match crate::api::call(&args.socket, &request)? {
        Response::Fenced(o) if o.ok => {
            println!("fenced {node}: {}", o.detail);
            Ok(ExitCode::SUCCESS)
        }
        Response::Fenced(o) => {
            eprintln!("error: fencing {node} failed: {}", o.detail);
            Ok(ExitCode::from(1))
        }
        Response::Error { message } => bail!("pacelined refused: {message}"),
        other => bail!("unexpected answer from pacelined: {other:?}"),
    }
}

fn fence_node(args: FenceArgs, node: String) -> anyhow::Result<ExitCode> {
    if !args.direct {
        return fence_via_daemon(&args, &node);
    }
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let section = load(&config)?;
    let action = match args.action {
        Some(NodeAction::Off) => FenceAction::Off,
        Some(NodeAction::Reboot) => FenceAction::Reboot,
        Some(NodeAction::On) => FenceAction::On,
        None if section.action == "off" => FenceAction::Off,
        None => FenceAction::Reboot,
    };
    if !section.enabled {
        eprintln!("warning: {FENCING_DISABLED_WARNING}");
    }
    let history = args
        .history
        .unwrap_or_else(|| PathBuf::from(DEFAULT_HISTORY));
    let requester = format!(
        "{}@{}",
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "cli".into()),
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into())
    );
    let job = FenceJob {
        target: node.clone(),
        action,
        requester,
        history,
        no_delay: args.no_delay,
        // Where resources run is known only to the controller; from the
        // command line the priority delay is not applied.
        target_has_priority: false,
    };
    let outcome = fence_with_topology(&section, &job, &mut |line| println!("{line}"));
    let verb = if action == FenceAction::On {
        "unfenced"
    } else {
        "fenced"
    };
    match outcome {
        Ok(o) => {
            for (level, device, reason) in &o.earlier_failures {
                println!("level {level} device {device} failed: {reason}");
            }
            println!("{verb} {node} ({}) at level {}", action.as_str(), o.level);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `fence history`: the cluster's fencing history as the local pacelined
/// reports it (the replicated events and this node's fences run by hand).
fn cluster_history(socket: &Path, output: Output) -> anyhow::Result<ExitCode> {
    use crate::api::{Request, Response};
    let answer = crate::api::call(socket, &Request::Report).with_context(|| {
        format!(
            "no fencing history from pacelined (this node's own log: `--history {DEFAULT_HISTORY}`)"
        )
    })?;
    let report = match answer {
        Response::Report(r) => r,
        Response::Error { message } => bail!("pacelined refused: {message}"),
        other => bail!("unexpected answer from pacelined: {other:?}"),
    };
    if output == Output::Json {
        println!("{}", serde_json::to_string(&report.fencing_history)?);
    } else if report.fencing_history.is_empty() && report.fencing_pending.is_empty() {
        println!("no fencing recorded");
    } else {
        print!("{}", super::status::render_pending(&report.fencing_pending));
        for f in &report.fencing_history {
            print!("{}", super::status::render_fence(f));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal; anything but y/yes is a no.
fn operator_agrees(node: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to confirm {node} off without a terminal to ask on; add --yes once you are sure"
        );
    }
    eprint!(
        "WARNING: if {node} is not really off, its resources will run twice and data can be lost.\n\
         Is {node} powered off (checked by hand, not only unreachable)? [y/N] "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// `fence confirm NODE`: the DC takes NODE as fenced.
fn confirm(node: &str, yes: bool, socket: &Path) -> anyhow::Result<ExitCode> {
    use crate::api::{Request, Response};
    if !yes && !operator_agrees(node)? {
        eprintln!("not confirmed; nothing was changed");
        return Ok(ExitCode::from(1));
    }
    let request = Request::FenceConfirm {
        target: node.to_string(),
    };
    match crate::api::call(socket, &request)? {
        Response::Fenced(o) => {
            println!("{node} confirmed off: {}", o.detail);
            Ok(ExitCode::SUCCESS)
        }
        // Confirmed on a member, which forwarded it to the DC.
        Response::Accepted { what } => {
            println!("{node} {what}");
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { message } => bail!("pacelined refused: {message}"),
        other => bail!("unexpected answer from pacelined: {other:?}"),
    }
}

pub fn run(args: FenceArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(FenceCommand::Test {
            config,
            device,
            action,
            output,
        }) => test_device(&config, &device, action, output),
        Some(FenceCommand::Check { config, output }) => check(&config, output),
        Some(FenceCommand::Confirm { node, yes, socket }) => confirm(&node, yes, &socket),
        Some(FenceCommand::History {
            history: None,
            output,
            socket,
        }) => cluster_history(&socket, output),
        Some(FenceCommand::History {
            history: Some(path),
            output,
            ..
        }) => {
            let records = history::read_all(&path)?;
            if output == Output::Json {
                println!("{}", serde_json::to_string(&records)?);
            } else {
                for r in &records {
                    println!(
                        "{} {} via {} by {}: {:?} in {} ms",
                        r.action,
                        r.target,
                        r.device,
                        r.requester,
                        r.result,
                        r.end_ms.saturating_sub(r.start_ms)
                    );
                    if r.result == FenceResult::Failed {
                        for line in r.output.lines().take(5) {
                            println!("    {line}");
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            // clap requires NODE without a subcommand.
            let node = args.node.clone().unwrap_or_default();
            fence_node(args, node)
        }
    }
}
