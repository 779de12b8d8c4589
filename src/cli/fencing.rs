//! `paceline fencing device add|update|remove`, `fencing level add|remove`: the fencing topology of the
//! cluster's configuration, as validated edits (`paceline fence` acts on
//! nodes and devices; this group configures them).

use std::process::ExitCode;

use clap::Subcommand;

use super::resource::{Client, Wait};
use super::resource_edit::{apply, parse_kv};
use crate::config::edit;

#[derive(Debug, Subcommand)]
pub enum FencingCommand {
    /// Fence devices (`[[fencing.device]]`).
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Fencing levels (`[[fencing.level]]`): which devices fence a node, in
    /// which order.
    #[command(subcommand)]
    Level(LevelCommand),
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Add a fence device (pcs stonith create).
    Add {
        /// The new device's id.
        id: String,
        /// Its type: redfish, ipmi, agent (a fence_* agent), watchdog.
        #[arg(long = "type")]
        kind: String,
        /// A setting of the device, NAME=VALUE (repeatable): url, host,
        /// port, username, password_file, system, agent, timeout, delay, ….
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_kv)]
        settings: Vec<(String, String)>,
        /// A fence agent's parameter, NAME=VALUE (repeatable; type agent).
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_kv)]
        params: Vec<(String, String)>,
        #[command(flatten)]
        client: Client,
    },
    /// Change a fence device's settings or agent parameters (pcs stonith
    /// update); an empty VALUE removes the setting.
    Update {
        /// The device's id.
        id: String,
        /// A setting of the device, NAME=VALUE (repeatable; NAME= removes it).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_kv)]
        settings: Vec<(String, String)>,
        /// A fence agent's parameter, NAME=VALUE (repeatable; NAME= removes it).
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_kv)]
        params: Vec<(String, String)>,
        #[command(flatten)]
        client: Client,
    },
    /// Remove a fence device (refused while a level uses it).
    Remove {
        /// The device's id.
        id: String,
        #[command(flatten)]
        client: Client,
    },
}

#[derive(Debug, Subcommand)]
pub enum LevelCommand {
    /// Add a level: NODE is fenced by every DEVICE of it (pcs stonith level add).
    Add {
        /// The node this level fences.
        node: String,
        /// Its index: 1 is tried first, then 2, ….
        index: i64,
        /// The devices that must all succeed.
        #[arg(required = true)]
        devices: Vec<String>,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Remove NODE's level INDEX.
    Remove {
        /// The node.
        node: String,
        /// The level's index.
        index: i64,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
}

pub fn run(cmd: FencingCommand) -> anyhow::Result<ExitCode> {
    let none = Wait::default();
    match cmd {
        FencingCommand::Device(DeviceCommand::Add {
            id,
            kind,
            settings,
            params,
            client,
        }) => apply(&client, &none, &format!("add fence device {id}"), |t| {
            edit::add_device(t, &id, &kind, &settings, &params)
        }),
        FencingCommand::Device(DeviceCommand::Update {
            id,
            settings,
            params,
            client,
        }) => apply(&client, &none, &format!("update fence device {id}"), |t| {
            edit::update_device(t, &id, &settings, &params)
        }),
        FencingCommand::Device(DeviceCommand::Remove { id, client }) => {
            apply(&client, &none, &format!("remove fence device {id}"), |t| {
                edit::remove_device(t, &id)
            })
        }
        FencingCommand::Level(LevelCommand::Add {
            node,
            index,
            devices,
            wait,
            client,
        }) => {
            let what = format!("add fencing level {index} of {node}");
            apply(&client, &wait, &what, |t| {
                edit::add_level(t, &node, index, &devices)
            })
        }
        FencingCommand::Level(LevelCommand::Remove {
            node,
            index,
            wait,
            client,
        }) => {
            let what = format!("remove fencing level {index} of {node}");
            apply(&client, &wait, &what, |t| {
                edit::remove_level(t, &node, index)
            })
        }
    }
}
