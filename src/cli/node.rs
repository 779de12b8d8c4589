//! `paceline node standby|online|maintenance|attribute` and `paceline
//! property set|unset|list|describe`: validated edits of the cluster's
//! configuration (and what each property means).

use std::process::ExitCode;

use clap::Subcommand;

use super::OutputFormat;
use super::resource::{Client, Wait};
use super::resource_edit::apply;
use crate::config::edit;
use crate::config::values::{describe_property, property_names};

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Move every resource off NODE and keep them off (`standby = true`).
    Standby {
        /// The node.
        node: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Let NODE run resources again.
    Online {
        /// The node.
        node: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Leave NODE's resources alone: neither started, stopped nor
    /// monitored (`maintenance = true`); `--off` ends it.
    Maintenance {
        /// The node.
        node: String,
        /// End the maintenance.
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        client: Client,
    },
    /// Permanent node attributes (lifetime forever, kept over restarts and
    /// fences; read by location rules): `set` writes `[[node]] attributes`
    /// in the configuration, as `crm_attribute --node N --name X --update
    /// V` sets them; `delete` also deletes one an agent set with
    /// `crm_attribute -l forever`. Transient ones (lifetime reboot:
    /// `attrd_updater`, `crm_attribute -l reboot`) are agents', erased when
    /// their node restarts or is fenced.
    #[command(subcommand)]
    Attribute(AttributeCommand),
    /// Node capacities (`[[node]] utilization`, what placement-strategy
    /// weighs resources' utilization against; pcs node utilization).
    #[command(subcommand)]
    Utilization(AttributeCommand),
}

#[derive(Debug, Subcommand)]
pub enum AttributeCommand {
    /// Set NODE's NAME to VALUE.
    Set {
        /// The node.
        node: String,
        /// The attribute's (or capacity's) name.
        name: String,
        /// Its value.
        value: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Delete NODE's NAME.
    Delete {
        /// The node.
        node: String,
        /// The attribute's (or capacity's) name.
        name: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
}

#[derive(Debug, Subcommand)]
pub enum PropertyCommand {
    /// Set a cluster property (`[properties]`), e.g. no-quorum-policy.
    Set {
        /// The property's name (see `property list`).
        name: String,
        /// Its value.
        value: String,
        #[command(flatten)]
        client: Client,
    },
    /// Remove a property from the configuration: it takes its default.
    Unset {
        /// The property's name.
        name: String,
        #[command(flatten)]
        client: Client,
    },
    /// Every property paceline acts on: its value in the cluster's
    /// configuration, or its default.
    List {
        #[command(flatten)]
        client: Client,
    },
    /// What a property is: its type, default and meaning (offline).
    Describe {
        /// The property's name (omitted: every one).
        name: Option<String>,
        /// How to print it.
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
}

pub fn run_node(cmd: NodeCommand) -> anyhow::Result<ExitCode> {
    let none = Wait::default();
    match cmd {
        NodeCommand::Standby { node, wait, client } => {
            apply(&client, &wait, &format!("node {node} standby"), |t| {
                edit::set_standby(t, &node, true)
            })
        }
        NodeCommand::Online { node, wait, client } => {
            apply(&client, &wait, &format!("node {node} online"), |t| {
                edit::set_standby(t, &node, false)
            })
        }
        NodeCommand::Maintenance { node, off, client } => {
            let what = format!("node {node} maintenance {}", if off { "off" } else { "on" });
            apply(&client, &none, &what, |t| {
                edit::set_maintenance(t, &node, !off)
            })
        }
        NodeCommand::Attribute(AttributeCommand::Set {
            node,
            name,
            value,
            wait,
            client,
        }) => apply(
            &client,
            &wait,
            &format!("node {node} {name} = {value} (lifetime forever: in the configuration)"),
            |t| edit::set_node_attribute(t, &node, &name, Some(&value)),
        ),
        NodeCommand::Attribute(AttributeCommand::Delete {
            node,
            name,
            wait,
            client,
        }) => delete_attribute(&node, &name, &wait, &client),
        NodeCommand::Utilization(AttributeCommand::Set {
            node,
            name,
            value,
            wait,
            client,
        }) => apply(
            &client,
            &wait,
            &format!("node {node} utilization {name} = {value}"),
            |t| edit::set_node_utilization(t, &node, &name, Some(&value)),
        ),
        NodeCommand::Utilization(AttributeCommand::Delete {
            node,
            name,
            wait,
            client,
        }) => apply(
            &client,
            &wait,
            &format!("node {node} utilization delete {name}"),
            |t| edit::set_node_utilization(t, &node, &name, None),
        ),
    }
}

/// `node attribute delete`: NODE's permanent NAME goes wherever it is
/// kept, as `crm_attribute -l forever -D` deletes it from the CIB's
/// `<nodes>`: the configuration's `[[node]] attributes` (what `node
/// attribute set` writes) and the status's (what agents write with
/// `crm_attribute -l forever`, pgsql's data status say). Before, only the
/// configuration's could be deleted.
fn delete_attribute(
    node: &str,
    name: &str,
    wait: &Wait,
    client: &Client,
) -> anyhow::Result<ExitCode> {
    let (text, _) = super::configure::show(&client.socket)?;
    let config = crate::config::load_config_str(&text, "the cluster configuration")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let in_config = config
        .node(node)
        .is_some_and(|n| n.attributes.contains_key(name));
    if in_config {
        let what = format!("node {node} delete {name} (lifetime forever: from the configuration)");
        apply(client, &Wait::default(), &what, |t| {
            edit::set_node_attribute(t, node, name, None)
        })?;
    }
    // What the report still shows after the configuration's is gone is the
    // status's (the report lays the status's over the configuration's).
    let in_status = super::resource::report(client)?
        .permanent_attributes
        .get(node)
        .is_some_and(|a| a.contains_key(name));
    if in_status {
        delete_from_status(node, name, client)?;
    }
    if !in_config && !in_status {
        anyhow::bail!(
            "{node} has no permanent attribute {name} (`paceline status` lists them under Node Attributes)"
        );
    }
    super::resource_edit::wait_settled(client, wait)
}

/// Deletes a permanent attribute agents set (a status patch through the
/// DC, answered once a quorum committed it).
fn delete_from_status(node: &str, name: &str, client: &Client) -> anyhow::Result<()> {
    let request = crate::api::Request::NodeAttribute {
        node: node.to_string(),
        name: name.to_string(),
        value: None,
    };
    match crate::api::call(&client.socket, &request)? {
        crate::api::Response::Accepted { what } => {
            match client.output {
                OutputFormat::Json => println!("{}", serde_json::json!({ "accepted": what })),
                OutputFormat::Text => println!("{what}"),
            }
            Ok(())
        }
        crate::api::Response::Error { message } => {
            anyhow::bail!("{name} of {node} not deleted: {message}")
        }
        other => anyhow::bail!("unexpected answer: {other:?}"),
    }
}

pub fn run_property(cmd: PropertyCommand) -> anyhow::Result<ExitCode> {
    let none = Wait::default();
    match cmd {
        PropertyCommand::Set {
            name,
            value,
            client,
        } => apply(&client, &none, &format!("property {name} = {value}"), |t| {
            edit::set_property(t, &name, &value)
        }),
        PropertyCommand::Unset { name, client } => {
            apply(&client, &none, &format!("property {name} unset"), |t| {
                edit::unset_property(t, &name)
            })
        }
        PropertyCommand::List { client } => list(&client),
        PropertyCommand::Describe { name, output } => describe(name.as_deref(), output),
    }
}

fn list(client: &Client) -> anyhow::Result<ExitCode> {
    let (text, _) = super::configure::show(&client.socket)?;
    let config = crate::config::load_config_str(&text, "the cluster configuration")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rows: Vec<(&str, String, bool)> = property_names()
        .map(|n| match config.properties.raw.get(n) {
            Some(v) => (n, v.clone(), true),
            None => (
                n,
                describe_property(n).map(|d| d.1).unwrap_or("").to_string(),
                false,
            ),
        })
        .collect();
    match client.output {
        OutputFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(n, v, set)| (n.to_string(), serde_json::json!({"value": v, "set": set})))
                .collect();
            println!("{}", serde_json::to_string_pretty(&map)?);
        }
        OutputFormat::Text => {
            for (n, v, set) in rows {
                let note = if set { "" } else { " (default)" };
                println!("{n} = {v}{note}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(name: Option<&str>, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let names: Vec<&str> = match name {
        Some(n) => vec![n],
        None => property_names().collect(),
    };
    let mut rows = Vec::new();
    for n in names {
        let Some((kind, default, meaning)) = describe_property(n) else {
            return Err(edit::EditError::Invalid(format!(
                "`{n}` is not a property paceline acts on; `paceline property describe` lists them"
            ))
            .into());
        };
        rows.push((n, kind, default, meaning));
    }
    match output {
        OutputFormat::Json => {
            let rows: Vec<_> = rows
                .iter()
                .map(|(n, k, d, m)| serde_json::json!({"name": n, "type": k, "default": d, "meaning": m}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        OutputFormat::Text => {
            for (n, kind, default, meaning) in rows {
                println!("{n}\n  type: {kind}\n  default: {default}\n  {meaning}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
