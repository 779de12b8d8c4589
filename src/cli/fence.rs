//! `paceline fence`: fence (or unfence) a node through the configured
//! topology (locally, for now), test one device by hand, check that every
//! node can be fenced, or show the fencing history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use paceline_fencing::config::{DeviceConfig, FencingSection, parse_duration};
use paceline_fencing::device::{self, ActionReport, DeviceError, InvalidDevice};
use paceline_fencing::history::{self, FenceResult, HistoryRecord};
use paceline_fencing::readiness::{FENCING_DISABLED_WARNING, Readiness};
use paceline_fencing::secret::check_private;
use paceline_fencing::topology::{
    FenceAction, TopologyError, TopologyOutcome, fencing_delay, run_levels,
};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FenceArgs {
    #[command(subcommand)]
    command: Option<FenceCommand>,
    /// The node to fence.
    node: Option<String>,
    /// off or reboot fence the node; on unfences it (powers it back on).
    #[arg(long, value_enum)]
    action: Option<NodeAction>,
    #[arg(long, default_value = "/etc/paceline/cluster.toml")]
    config: PathBuf,
    /// Fencing history file (default: /var/lib/paceline/fencing-history.jsonl).
    #[arg(long)]
    history: Option<PathBuf>,
    /// Skip the configured fencing delays (for an operator at the console).
    #[arg(long)]
    no_delay: bool,
    /// Ask the local pacelined to fence (its fencing service runs the
    /// topology with the cluster's configuration, keeps the history and
    /// tells the controller), instead of fencing from this process.
    #[arg(long, conflicts_with_all = ["no_delay", "history"])]
    via_daemon: bool,
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
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        device: String,
        #[arg(long, value_enum)]
        action: DeviceAction,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Monitor the first fencing level of every node: can each be fenced?
    Check {
        #[arg(long, default_value = "/etc/paceline/cluster.toml")]
        config: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Show the fencing history.
    History {
        #[arg(long)]
        history: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

const DEFAULT_HISTORY: &str = "/var/lib/paceline/fencing-history.jsonl";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A device without its own `timeout` gets the one `failover_budget`
/// derives (`config::Document::timers`), as `paceline config check` shows.
pub fn apply_derived_timeouts(section: &mut FencingSection, text: &str) {
    if let Ok(doc) = crate::config::parse_document(text, "the cluster configuration") {
        let ms = doc.timers().fence_timeout_ms;
        for dev in section.devices.iter_mut().filter(|d| d.timeout.is_none()) {
            dev.timeout = Some(format!("{ms}ms"));
        }
    }
}

fn load(config: &Path) -> anyhow::Result<FencingSection> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read config {}", config.display()))?;
    let mut section =
        FencingSection::parse(&text).with_context(|| format!("in {}", config.display()))?;
    apply_derived_timeouts(&mut section, &text);
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
    let value: toml::Value = toml::from_str(&text)
        .map_err(paceline_fencing::config::ConfigError::Toml)
        .with_context(|| format!("in {}", config.display()))?;
    Ok(value
        .get("node")
        .and_then(|n| n.as_array())
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| n.get("name").and_then(|v| v.as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

/// Opens and runs one device; a device table that cannot be opened is a
/// configuration error, a device that fails is a failed operation.
fn run_device(dev: &DeviceConfig, action: FenceAction) -> anyhow::Result<ActionReport> {
    let mut device = device::open(dev).map_err(InvalidDevice)?;
    device.execute(action).map_err(device_failure)
}

fn device_failure(e: DeviceError) -> anyhow::Error {
    if e.output.is_empty() {
        anyhow::Error::new(e)
    } else {
        anyhow::anyhow!("{}\n{}", e.message, e.output)
    }
}

fn power_text(report: &ActionReport) -> String {
    let mut out = report.transcript.join("\n");
    if let Some(power) = report.power {
        out.push_str(&format!("\npower: {power:?}"));
    }
    out
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

/// Runs `monitor` on every device of every node's first fencing level
/// (the nodes given, plus any a level targets): the gate "no resource starts
/// until each node's first level has passed a monitor".
pub fn fencing_readiness(section: &FencingSection, node_names: &[String]) -> Readiness {
    let mut nodes = node_names.to_vec();
    for l in &section.levels {
        if !nodes.contains(&l.target) {
            nodes.push(l.target.clone());
        }
    }
    let mut first_levels = BTreeMap::new();
    for node in &nodes {
        let mut levels = section.levels_for(node);
        levels.sort_by_key(|l| l.index);
        first_levels.insert(
            node.clone(),
            levels
                .first()
                .map(|l| l.devices.clone())
                .unwrap_or_default(),
        );
    }
    let mut readiness = Readiness::new(first_levels.clone());
    for (node, devices) in &first_levels {
        for id in devices {
            let res = match section.device(id) {
                Some(dev) => run_device(dev, FenceAction::Monitor)
                    .map(|_| ())
                    .map_err(|e| format!("{e:#}")),
                None => Err(format!("device {id:?} is not defined")),
            };
            readiness.record(node, id, res);
        }
    }
    readiness
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

/// A draw in [0, 1) for the random fencing delay; no RNG dependency needed
/// for one number per run.
fn random_unit() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed =
        (nanos as u64 ^ (std::process::id() as u64) << 32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// A device's own `delay`, waited before it fences (not before unfencing).
/// Every device of the target's first level answers `status` with power
/// off. Any error or any other answer is "not known to be off".
fn first_level_reports_off(section: &FencingSection, target: &str) -> bool {
    let levels = section.levels_for(target);
    let Some(first) = levels.iter().min_by_key(|l| l.index) else {
        return false;
    };
    !first.devices.is_empty()
        && first.devices.iter().all(|id| {
            section.device(id).is_some_and(|dev| {
                run_device(dev, FenceAction::Status)
                    .is_ok_and(|r| r.power == Some(paceline_fencing::device::PowerState::Off))
            })
        })
}

fn device_delay(
    dev: &DeviceConfig,
    action: FenceAction,
    no_delay: bool,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    if action == FenceAction::On || no_delay {
        return Ok(());
    }
    if let Some(d) = &dev.delay {
        let d = parse_duration("delay", d)?;
        if !d.is_zero() {
            progress(format!(
                "waiting {} ms (delay of device {})",
                d.as_millis(),
                dev.id
            ));
            std::thread::sleep(d);
        }
    }
    Ok(())
}

/// One fencing of one node through its topology, as `paceline fence NODE`
/// and pacelined's fencing service run it.
#[derive(Debug, Clone)]
pub struct FenceJob {
    pub target: String,
    pub action: FenceAction,
    /// Who asked, for the history (`user@host`, `pacelined@node`).
    pub requester: String,
    pub history: PathBuf,
    /// Skip the delays (an operator's --no-delay, and unfencing).
    pub no_delay: bool,
    /// The target runs the resources that matter more: it gets the
    /// priority delay (known only to the controller).
    pub target_has_priority: bool,
}

/// Waits the configured delays (static + random, priority), then runs the
/// target's levels in order, one history record per device attempt.
/// `progress` gets each step for the operator. Errors outside the topology
/// (a delay that does not parse) are `Err`; the topology's outcome is the
/// inner result.
pub fn fence_with_topology(
    section: &FencingSection,
    job: &FenceJob,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<Result<TopologyOutcome, TopologyError>> {
    let action = job.action;
    // The delays settle a race between two live nodes that each want the
    // other off. A target whose first level already reports it off (a node
    // that lost power, or lost the race) cannot race: fence it at once.
    let already_off =
        action != FenceAction::On && !job.no_delay && first_level_reports_off(section, &job.target);
    if already_off {
        progress(format!(
            "{} already reports power off: no race to settle, no fencing delay",
            job.target
        ));
    }
    let no_delay = job.no_delay || already_off;
    // Unfencing and an operator's --no-delay skip the delays, which exist
    // to settle a race between two nodes, not to slow a human down.
    if action != FenceAction::On && !no_delay {
        let dur = |key: &str, v: &Option<String>| -> anyhow::Result<Duration> {
            Ok(match v {
                Some(v) => parse_duration(key, v)?,
                None => Duration::ZERO,
            })
        };
        let delay = fencing_delay(
            dur("delay", &section.delay)?,
            dur("delay_max", &section.delay_max)?,
            dur("priority_delay", &section.priority_delay)?,
            job.target_has_priority,
            random_unit(),
        );
        if !delay.is_zero() {
            progress(format!("waiting {} ms (fencing delay)", delay.as_millis()));
            std::thread::sleep(delay);
        }
    }
    let node = &job.target;
    let levels = section.levels_for(node);
    let mut history_error = None;
    let outcome = run_levels(node, &levels, |device_id| {
        let start_ms = now_ms();
        let res = match section.device(device_id) {
            Some(dev) => device_delay(dev, action, no_delay, progress)
                .and_then(|()| run_device(dev, action))
                .map_err(|e| format!("{e:#}")),
            None => Err(format!("device {device_id:?} is not defined")),
        };
        let record = HistoryRecord {
            target: node.clone(),
            device: device_id.to_string(),
            action: action.as_str().to_string(),
            requester: job.requester.clone(),
            start_ms,
            end_ms: now_ms(),
            result: if res.is_ok() {
                FenceResult::Ok
            } else {
                FenceResult::Failed
            },
            output: match &res {
                Ok(r) => power_text(r),
                Err(e) => e.clone(),
            },
        };
        if let Err(e) = history::append(&job.history, &record) {
            history_error = Some(e);
        }
        res.map(|_| ())
    });
    if let Some(e) = history_error {
        progress(format!("warning: the fencing history was not written: {e}"));
    }
    Ok(outcome)
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
    if args.via_daemon {
        return fence_via_daemon(&args, &node);
    }
    let section = load(&args.config)?;
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
    let outcome = fence_with_topology(&section, &job, &mut |line| println!("{line}"))?;
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

pub fn run(args: FenceArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(FenceCommand::Test {
            config,
            device,
            action,
            output,
        }) => test_device(&config, &device, action, output),
        Some(FenceCommand::Check { config, output }) => check(&config, output),
        Some(FenceCommand::History { history, output }) => {
            let path = history.unwrap_or_else(|| PathBuf::from(DEFAULT_HISTORY));
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
            let Some(node) = args.node.clone() else {
                bail!(
                    "name the node to fence: `paceline fence NODE`, or use `fence test` / `fence check` / `fence history`"
                );
            };
            fence_node(args, node)
        }
    }
}
