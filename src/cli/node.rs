//! `paceline node standby|online NODE` and `paceline property set NAME VALUE`:
//! validated edits of the cluster's configuration.

use std::process::ExitCode;

use clap::Subcommand;

use super::configure::{edit_cluster, print_applied};
use super::resource::Client;
use crate::config::edit;

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Move every resource off NODE and keep them off (`standby = true`).
    Standby {
        node: String,
        #[command(flatten)]
        client: Client,
    },
    /// Let NODE run resources again.
    Online {
        node: String,
        #[command(flatten)]
        client: Client,
    },
    /// Leave NODE's resources alone: neither started, stopped nor
    /// monitored (`maintenance = true`); `--off` ends it.
    Maintenance {
        node: String,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        client: Client,
    },
}

#[derive(Debug, Subcommand)]
pub enum PropertyCommand {
    /// Set a cluster property (`[properties]`), e.g. no-quorum-policy.
    Set {
        name: String,
        value: String,
        #[command(flatten)]
        client: Client,
    },
}

pub fn run_node(cmd: NodeCommand) -> anyhow::Result<ExitCode> {
    let (node, standby, client) = match cmd {
        NodeCommand::Standby { node, client } => (node, true, client),
        NodeCommand::Online { node, client } => (node, false, client),
        NodeCommand::Maintenance { node, off, client } => {
            let what = format!("node {node} maintenance {}", if off { "off" } else { "on" });
            let v = edit_cluster(&client.socket, &what, |t| {
                edit::set_maintenance(t, &node, !off)
            })?;
            print_applied(&what, v, client.output)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let what = format!("node {node} {}", if standby { "standby" } else { "online" });
    let v = edit_cluster(&client.socket, &what, |t| {
        edit::set_standby(t, &node, standby)
    })?;
    print_applied(&what, v, client.output)?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_property(cmd: PropertyCommand) -> anyhow::Result<ExitCode> {
    let PropertyCommand::Set {
        name,
        value,
        client,
    } = cmd;
    let what = format!("property {name} = {value}");
    let v = edit_cluster(&client.socket, &what, |t| {
        edit::set_property(t, &name, &value)
    })?;
    print_applied(&what, v, client.output)?;
    Ok(ExitCode::SUCCESS)
}
