//! `paceline fence`: fence a node through the configured topology (locally,
//! for now), test one device by hand, or show the fencing history.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use paceline_fencing::agent::{AgentOutcome, AgentParams, run_agent};
use paceline_fencing::config::{DeviceConfig, FencingSection, parse_duration};
use paceline_fencing::history::{self, FenceResult, HistoryRecord};
use paceline_fencing::secret::{Secret, check_private, read_secret_file};
use paceline_fencing::topology::{FenceAction, run_levels};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FenceArgs {
    #[command(subcommand)]
    command: Option<FenceCommand>,
    /// The node to fence.
    node: Option<String>,
    #[arg(long, value_enum, default_value = "reboot")]
    action: NodeAction,
    #[arg(long, default_value = "/etc/paceline/cluster.toml")]
    config: PathBuf,
    /// Fencing history file (default: <state_dir>/fencing-history.jsonl).
    #[arg(long)]
    history: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NodeAction {
    Off,
    Reboot,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DeviceAction {
    Status,
    Off,
    On,
    Reboot,
    Monitor,
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

fn load(config: &Path) -> anyhow::Result<FencingSection> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read config {}", config.display()))?;
    let section =
        FencingSection::parse(&text).with_context(|| format!("in {}", config.display()))?;
    let inline_password = section.devices.iter().any(|d| {
        d.settings.contains_key("password")
            || d.settings
                .get("params")
                .and_then(|p| p.as_table())
                .is_some_and(|t| t.contains_key("password"))
    });
    if inline_password {
        check_private(config).context(
            "a password is written in the config itself; make the file 0600 or use password_file",
        )?;
    }
    Ok(section)
}

fn action_name(a: DeviceAction) -> &'static str {
    match a {
        DeviceAction::Status => "status",
        DeviceAction::Off => "off",
        DeviceAction::On => "on",
        DeviceAction::Reboot => "reboot",
        DeviceAction::Monitor => "monitor",
    }
}

/// Runs one device action; returns the device's output.
fn run_device(dev: &DeviceConfig, action: &str) -> anyhow::Result<String> {
    let timeout = match &dev.timeout {
        Some(t) => parse_duration("timeout", t)?,
        None => Duration::from_secs(20),
    };
    match dev.kind.as_str() {
        "agent" => {
            let agent = dev
                .settings
                .get("agent")
                .and_then(|v| v.as_str())
                .with_context(|| format!("device {:?}: set `agent = \"fence_...\"`", dev.id))?;
            let agent_path = if agent.contains('/') {
                PathBuf::from(agent)
            } else {
                PathBuf::from("/usr/sbin").join(agent)
            };
            let mut params = AgentParams::default();
            if let Some(table) = dev.settings.get("params").and_then(|v| v.as_table()) {
                for (k, v) in table {
                    let value = match v {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if k == "password" {
                        params.secret.push((k.clone(), Secret::new(value)));
                    } else {
                        params.plain.push((k.clone(), value));
                    }
                }
            }
            if let Some(file) = dev.settings.get("password_file").and_then(|v| v.as_str()) {
                let secret = read_secret_file(Path::new(file))?;
                params.secret.push(("password".into(), secret));
            }
            let run = run_agent(&agent_path, action, &params, timeout)?;
            let mut out = run.output;
            if run.outcome == AgentOutcome::PoweredOff {
                out.push_str("(power is off)\n");
            }
            Ok(out)
        }
        "redfish" | "ipmi" | "watchdog" => {
            let action = match action {
                "off" => FenceAction::Off,
                "on" => FenceAction::On,
                "reboot" => FenceAction::Reboot,
                "status" => FenceAction::Status,
                _ => FenceAction::Monitor,
            };
            let mut device = paceline_fencing::device::open(dev)?;
            match device.execute(action) {
                Ok(report) => {
                    let mut out = report.transcript.join("\n");
                    if let Some(power) = report.power {
                        out.push_str(&format!("\npower: {power:?}"));
                    }
                    Ok(out)
                }
                Err(e) if e.output.is_empty() => Err(e.into()),
                Err(e) => Err(anyhow::anyhow!("{}\n{}", e.message, e.output)),
            }
        }
        other => bail!(
            "device {:?}: unknown type {other:?}; use redfish, ipmi, watchdog or agent",
            dev.id
        ),
    }
}

pub fn run(args: FenceArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(FenceCommand::Test {
            config,
            device,
            action,
            output,
        }) => {
            let section = load(&config)?;
            let dev = section.device(&device).with_context(|| {
                format!(
                    "no [[fencing.device]] with id {device:?} in {}",
                    config.display()
                )
            })?;
            let started = Instant::now();
            let result = run_device(dev, action_name(action));
            let elapsed_ms = started.elapsed().as_millis();
            let ok = result.is_ok();
            let detail = match &result {
                Ok(out) => out.clone(),
                Err(e) => format!("{e:#}"),
            };
            if output == Output::Json {
                println!(
                    "{}",
                    serde_json::json!({"device": device, "action": action_name(action),
                        "ok": ok, "elapsed_ms": elapsed_ms, "output": detail})
                );
            } else {
                println!(
                    "{} {} on {device} in {elapsed_ms} ms\n{detail}",
                    if ok { "OK" } else { "FAILED" },
                    action_name(action)
                );
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
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
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let Some(node) = args.node else {
                bail!(
                    "name the node to fence: `paceline fence NODE`, or use `fence test` / `fence history`"
                );
            };
            let section = load(&args.config)?;
            let action = match args.action {
                NodeAction::Off => "off",
                NodeAction::Reboot => "reboot",
            };
            let path = args
                .history
                .unwrap_or_else(|| PathBuf::from(DEFAULT_HISTORY));
            let requester = std::env::var("HOSTNAME").unwrap_or_else(|_| "cli".into());
            let levels = section.levels_for(&node);
            let mut history_error = None;
            let outcome = run_levels(&node, &levels, |device_id| {
                let start_ms = now_ms();
                let res = match section.device(device_id) {
                    Some(dev) => run_device(dev, action).map_err(|e| format!("{e:#}")),
                    None => Err(format!("device {device_id:?} is not defined")),
                };
                let record = HistoryRecord {
                    target: node.clone(),
                    device: device_id.to_string(),
                    action: action.to_string(),
                    requester: requester.clone(),
                    start_ms,
                    end_ms: now_ms(),
                    result: if res.is_ok() {
                        FenceResult::Ok
                    } else {
                        FenceResult::Failed
                    },
                    output: match &res {
                        Ok(o) => o.clone(),
                        Err(e) => e.clone(),
                    },
                };
                if let Err(e) = history::append(&path, &record) {
                    history_error = Some(e);
                }
                res.map(|_| ())
            });
            if let Some(e) = history_error {
                eprintln!("warning: {e}");
            }
            match outcome {
                Ok(o) => {
                    println!("fenced {node} ({action}) at level {}", o.level);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
