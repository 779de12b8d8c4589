//! `paceline ra ...`: list and describe resource agents.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::{EXIT_FAILED, EXIT_USAGE, OutputFormat};
use crate::executor::ocf::{AgentId, DEFAULT_OCF_ROOT, OcfRunner};

#[derive(Debug, Subcommand)]
pub enum RaCommand {
    /// List installed agents (class: ocf; builtin and systemd are named as such).
    List {
        /// Only this class (ocf, builtin).
        class: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Show an agent's description, parameters and actions.
    Info {
        /// CLASS:PROVIDER:TYPE, e.g. ocf:heartbeat:IPaddr2.
        agent: String,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
}

fn runner() -> OcfRunner {
    let root = std::env::var("OCF_ROOT").unwrap_or_else(|_| DEFAULT_OCF_ROOT.into());
    OcfRunner::new(root, std::env::temp_dir().join("paceline-rsctmp"))
}

pub fn run(cmd: RaCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RaCommand::List { class, output } => {
            if let Some(c) = class.as_deref()
                && c != "ocf"
            {
                eprintln!("paceline: class {c:?} has no listable agents here; known classes: ocf");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            let agents: Vec<String> = runner().list().iter().map(|a| a.to_string()).collect();
            match output {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&agents)?),
                OutputFormat::Text => agents.iter().for_each(|a| println!("{a}")),
            }
            Ok(ExitCode::SUCCESS)
        }
        RaCommand::Info { agent, output } => {
            let id = AgentId::parse(&agent).context("paceline ra info")?;
            let r = runner();
            if id.class != "ocf" {
                eprintln!("paceline: only ocf agents can be described so far");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            if !r.agent_path(&id).is_file() {
                eprintln!(
                    "paceline: agent {id} is not installed ({} does not exist)",
                    r.agent_path(&id).display()
                );
                return Ok(ExitCode::from(EXIT_FAILED));
            }
            let Some(meta) = r.metadata(&id) else {
                eprintln!("paceline: {id} did not print valid meta-data");
                return Ok(ExitCode::from(EXIT_FAILED));
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
