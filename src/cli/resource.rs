//! `paceline resource ...`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::configure::{edit_cluster, print_applied};
use super::edit;
use super::{EXIT_FAILED, EXIT_USAGE, OutputFormat};
use crate::api::{self, Request, Response};
use crate::executor::ocf::{DEFAULT_OCF_ROOT, OcfRunner};
use crate::executor::primitive::load_primitives;
use crate::executor::shims::install_shims;

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Run one action of a configured resource on this node, directly (like
    /// `crm_resource --force-start`), and print its result.
    Exec {
        #[arg(long, default_value = "/etc/paceline/cluster.toml")]
        config: PathBuf,
        /// The primitive's id.
        resource: String,
        /// start, stop, monitor, probe, promote, demote, notify, validate-all, meta-data.
        action: String,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Make RES run on NODE (a location constraint `cli-prefer-RES` with
    /// INFINITY; `resource clear` removes it).
    Move {
        resource: String,
        node: String,
        /// Remove the constraint after this long (e.g. "30m", "2h").
        #[arg(long)]
        lifetime: Option<String>,
        #[command(flatten)]
        client: Client,
    },
    /// Keep RES off NODE (`cli-ban-RES-on-NODE`, -INFINITY).
    Ban {
        resource: String,
        node: String,
        #[arg(long)]
        lifetime: Option<String>,
        #[command(flatten)]
        client: Client,
    },
    /// Remove what move and ban made for RES.
    Clear {
        resource: String,
        #[command(flatten)]
        client: Client,
    },
    /// Forget the failures of RES (on NODE, or everywhere).
    Cleanup {
        resource: String,
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        client: Client,
    },
}

/// Where pacelined is and how to print.
#[derive(Debug, clap::Args)]
pub struct Client {
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    #[arg(long, default_value = crate::daemon::settings::DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// `--lifetime` as the unix time the constraint expires at.
fn expiry(lifetime: &Option<String>) -> anyhow::Result<Option<i64>> {
    match lifetime {
        None => Ok(None),
        Some(l) => {
            let d = crate::daemon::settings::parse_duration(l)
                .map_err(|e| anyhow::anyhow!("--lifetime: {e}"))?;
            Ok(Some(edit::unix_now() + d.as_secs().max(1) as i64))
        }
    }
}

pub fn run(cmd: ResourceCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ResourceCommand::Exec {
            config,
            resource,
            action,
            output,
        } => exec(&config, &resource, &action, output),
        ResourceCommand::Move {
            resource,
            node,
            lifetime,
            client,
        } => {
            let until = expiry(&lifetime)?;
            let what = format!("move {resource} to {node}");
            let v = edit_cluster(&client.socket, &what, |t| {
                edit::move_resource(t, &resource, &node, until)
            })?;
            print_applied(&what, v, client.output)?;
            Ok(ExitCode::SUCCESS)
        }
        ResourceCommand::Ban {
            resource,
            node,
            lifetime,
            client,
        } => {
            let until = expiry(&lifetime)?;
            let what = format!("ban {resource} from {node}");
            let v = edit_cluster(&client.socket, &what, |t| {
                edit::ban_resource(t, &resource, &node, until)
            })?;
            print_applied(&what, v, client.output)?;
            Ok(ExitCode::SUCCESS)
        }
        ResourceCommand::Clear { resource, client } => {
            let what = format!("clear the moves and bans of {resource}");
            let v = edit_cluster(&client.socket, &what, |t| {
                edit::clear_resource(t, &resource, true, true)
            })?;
            print_applied(&what, v, client.output)?;
            Ok(ExitCode::SUCCESS)
        }
        ResourceCommand::Cleanup {
            resource,
            node,
            client,
        } => match api::call(&client.socket, &Request::Cleanup { resource, node })? {
            Response::Accepted { what } => {
                match client.output {
                    OutputFormat::Json => {
                        println!("{}", serde_json::json!({ "accepted": what }))
                    }
                    OutputFormat::Text => println!("{what}"),
                }
                Ok(ExitCode::SUCCESS)
            }
            Response::Error { message } => anyhow::bail!("pacelined refused: {message}"),
            other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
        },
    }
}

fn exec(
    config: &Path,
    resource: &str,
    action: &str,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let cfg = match load_primitives(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("paceline: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let Some(prim) = cfg.primitive.iter().find(|p| p.id == resource) else {
        let ids: Vec<&str> = cfg.primitive.iter().map(|p| p.id.as_str()).collect();
        eprintln!(
            "paceline: {}: no [[primitive]] with id {resource:?}; configured: {}",
            config.display(),
            if ids.is_empty() {
                "none".into()
            } else {
                ids.join(", ")
            }
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let a = match prim.action(action) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("paceline: {}: primitive {resource}: {e}", config.display());
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let state_dir = PathBuf::from(
        cfg.cluster
            .state_dir
            .as_deref()
            .unwrap_or("/var/lib/paceline"),
    );
    let root = std::env::var("OCF_ROOT").unwrap_or_else(|_| DEFAULT_OCF_ROOT.into());
    let rsctmp = std::env::var("HA_RSCTMP").unwrap_or_else(|_| "/run/resource-agents".into());
    let mut runner = OcfRunner::new(root, rsctmp);
    let shim_dir = state_dir.join("shims");
    if let Ok(exe) = std::env::current_exe()
        && install_shims(&shim_dir, &exe).is_ok()
    {
        runner.shim_dir = Some(shim_dir);
    }
    runner.attr_file = Some(state_dir.join("attributes.json"));
    let history_file = state_dir.join("op-history.json");
    match crate::executor::OpHistory::open(&history_file) {
        Ok(h) => runner.history = std::sync::Arc::new(h),
        Err(e) => eprintln!("paceline: warning: operation history not kept: {e}"),
    }
    let r = runner.run(&a);
    if let Some(e) = runner.history.last_save_error() {
        eprintln!("paceline: warning: {e}");
    }
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
        OutputFormat::Text => {
            println!(
                "{resource} {action}: rc={} ({}) in {}ms",
                r.rc.0, r.meaning, r.duration_ms
            );
            if let Some(reason) = &r.exit_reason {
                println!("exit reason: {reason}");
            }
            if !r.stdout.trim().is_empty() {
                println!("--- stdout\n{}", r.stdout.trim_end());
            }
            if !r.stderr.trim().is_empty() {
                println!("--- stderr\n{}", r.stderr.trim_end());
            }
        }
    }
    let ok = r.rc.0 == 0 || (action == "monitor" || action == "probe") && matches!(r.rc.0, 7 | 8);
    Ok(if ok && !r.timed_out {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
