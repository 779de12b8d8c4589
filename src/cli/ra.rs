//! `paceline ra ...`: list and describe resource agents.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::{EXIT_FAILED, EXIT_USAGE, OutputFormat};
use crate::executor::catalog;
use crate::executor::ocf::{AgentId, DEFAULT_OCF_ROOT, OcfRunner};

#[derive(Debug, Subcommand)]
pub enum RaCommand {
    /// List installed agents of every class, or of one.
    List {
        /// Only this class (ocf, builtin, systemd, stonith).
        class: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Show an agent's description, parameters and actions.
    Info {
        /// CLASS:PROVIDER:TYPE or CLASS:TYPE, e.g. ocf:heartbeat:IPaddr2,
        /// builtin:ipaddr, systemd:nginx.service, stonith:fence_ipmilan.
        agent: String,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
}

pub(super) fn runner() -> OcfRunner {
    let root = std::env::var("OCF_ROOT").unwrap_or_else(|_| DEFAULT_OCF_ROOT.into());
    OcfRunner::new(root, std::env::temp_dir().join("paceline-rsctmp"))
}

pub fn run(cmd: RaCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RaCommand::List { class, output } => {
            let agents = match catalog::list(&runner(), class.as_deref()) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("paceline: {e}");
                    return Ok(ExitCode::from(EXIT_USAGE));
                }
            };
            match output {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&agents)?),
                OutputFormat::Text => agents.iter().for_each(|a| println!("{a}")),
            }
            Ok(ExitCode::SUCCESS)
        }
        RaCommand::Info { agent, output } => {
            let id = AgentId::parse(&agent).context("paceline ra info")?;
            let meta = match catalog::describe(&runner(), &id) {
                Ok(m) => m,
                Err(e @ catalog::CatalogError::UnknownClass(_)) => {
                    eprintln!("paceline: {e}");
                    return Ok(ExitCode::from(EXIT_USAGE));
                }
                Err(e) => {
                    eprintln!("paceline: {e}");
                    return Ok(ExitCode::from(EXIT_FAILED));
                }
            };
            match output {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&meta)?),
                OutputFormat::Text => {
                    println!("{id} - {}\n", meta.shortdesc);
                    if !meta.longdesc.is_empty() {
                        println!("{}\n", meta.longdesc);
                    }
                    println!("Parameters (* required):");
                    for p in &meta.parameters {
                        let req = if p.required { "*" } else { " " };
                        let def = p
                            .default
                            .as_deref()
                            .filter(|d| !d.is_empty())
                            .map(|d| format!(" [{d}]"))
                            .unwrap_or_default();
                        println!(
                            " {req} {} ({}{def}): {}",
                            p.name, p.content_type, p.shortdesc
                        );
                    }
                    println!("\nActions:");
                    for a in &meta.actions {
                        let mut extra = String::new();
                        if let Some(t) = &a.timeout {
                            extra.push_str(&format!(" timeout={t}"));
                        }
                        if let Some(i) = &a.interval {
                            extra.push_str(&format!(" interval={i}"));
                        }
                        if let Some(r) = &a.role {
                            extra.push_str(&format!(" role={r}"));
                        }
                        println!("   {}{extra}", a.name);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
