//! `paceline constraint add|remove|list`: location (node and score, or a
//! rule), colocation and order constraints, as validated edits of the
//! cluster's configuration.

use std::process::ExitCode;

use clap::Subcommand;

use super::OutputFormat;
use super::resource::{Client, Wait};
use super::resource_edit::apply;
use crate::config::edit;

#[derive(Debug, Subcommand)]
pub enum ConstraintCommand {
    /// Add a constraint.
    #[command(subcommand)]
    Add(AddCommand),
    /// Remove the constraint with this id (any kind).
    Remove {
        /// The constraint's id.
        id: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// List the configured constraints.
    List {
        #[command(flatten)]
        client: Client,
    },
}

#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// Where RES may or prefers to run: on NODE with SCORE, or where a rule
    /// holds (pcs constraint location, crm configure location).
    Location {
        /// The new constraint's id.
        id: String,
        /// The resource it places.
        resource: String,
        /// The node it is about.
        #[arg(long, required_unless_present = "rule", conflicts_with = "rule")]
        node: Option<String>,
        /// A rule instead of a node: "ATTR OP VALUE [and|or ATTR OP VALUE]...",
        /// OP one of eq ne lt gt lte gte, or "defined ATTR" (node attributes,
        /// #uname the node's name).
        #[arg(long)]
        rule: Option<String>,
        /// The score: an integer, INFINITY (must) or -INFINITY (must not).
        #[arg(long, default_value = "INFINITY", allow_hyphen_values = true)]
        score: String,
        /// Only this role of a promotable clone (Promoted, Unpromoted).
        #[arg(long)]
        role: Option<String>,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Place RES where WITH runs (pcs constraint colocation add RES with WITH).
    Colocation {
        /// The new constraint's id.
        id: String,
        /// The resource placed.
        resource: String,
        /// The resource it is placed with.
        with: String,
        /// INFINITY (must), -INFINITY (must not) or a preference.
        #[arg(long, default_value = "INFINITY", allow_hyphen_values = true)]
        score: String,
        /// Only this role of RES.
        #[arg(long)]
        role: Option<String>,
        /// Only where WITH runs in this role.
        #[arg(long)]
        with_role: Option<String>,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Start THEN after FIRST (and stop it before, unless --asymmetrical).
    Order {
        /// The new constraint's id.
        id: String,
        /// The resource acted on first.
        first: String,
        /// The resource acted on after it.
        then: String,
        /// FIRST's action (start, stop, promote, demote; default start).
        #[arg(long)]
        first_action: Option<String>,
        /// THEN's action (default: FIRST's).
        #[arg(long)]
        then_action: Option<String>,
        /// Mandatory (the default), Optional or Serialize.
        #[arg(long)]
        kind: Option<String>,
        /// Only this direction: stops are not ordered in reverse.
        #[arg(long)]
        asymmetrical: bool,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
}

pub fn run(cmd: ConstraintCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConstraintCommand::Add(add) => run_add(add),
        ConstraintCommand::Remove { id, wait, client } => {
            apply(&client, &wait, &format!("remove constraint {id}"), |t| {
                edit::remove_constraint(t, &id)
            })
        }
        ConstraintCommand::List { client } => {
            let (text, _) = super::configure::show(&client.socket)?;
            let listed = edit::list_constraints(&text)?;
            match client.output {
                OutputFormat::Json => {
                    let rows: Vec<_> = listed
                        .iter()
                        .map(|(kind, id, fields)| {
                            serde_json::json!({"kind": kind, "id": id, "fields": fields})
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                }
                OutputFormat::Text if listed.is_empty() => println!("no constraints"),
                OutputFormat::Text => {
                    for (kind, id, fields) in &listed {
                        println!("{kind} {id}: {fields}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_add(add: AddCommand) -> anyhow::Result<ExitCode> {
    match add {
        AddCommand::Location {
            id,
            resource,
            node,
            rule,
            score,
            role,
            wait,
            client,
        } => {
            let what = format!("add location {id}");
            apply(&client, &wait, &what, |t| match (&node, &rule) {
                (_, Some(rule)) => {
                    edit::add_location_rule(t, &id, &resource, rule, &score, role.as_deref())
                }
                (Some(node), None) => {
                    edit::add_location_node(t, &id, &resource, node, &score, role.as_deref())
                }
                // clap requires one of them.
                (None, None) => Err(edit::EditError::Invalid("give --node or --rule".into())),
            })
        }
        AddCommand::Colocation {
            id,
            resource,
            with,
            score,
            role,
            with_role,
            wait,
            client,
        } => {
            let spec = edit::ColocationSpec {
                id: &id,
                resource: &resource,
                with: &with,
                score: &score,
                role: role.as_deref(),
                with_role: with_role.as_deref(),
            };
            apply(&client, &wait, &format!("add colocation {id}"), |t| {
                edit::add_colocation(t, &spec)
            })
        }
        AddCommand::Order {
            id,
            first,
            then,
            first_action,
            then_action,
            kind,
            asymmetrical,
            wait,
            client,
        } => {
            let spec = edit::OrderSpec {
                id: &id,
                first: &first,
                then: &then,
                first_action: first_action.as_deref(),
                then_action: then_action.as_deref(),
                kind: kind.as_deref(),
                symmetrical: asymmetrical.then_some(false),
            };
            apply(&client, &wait, &format!("add order {id}"), |t| {
                edit::add_order(t, &spec)
            })
        }
    }
}
