//! `paceline resource ...`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::configure::{edit_cluster, print_applied};
use super::{EXIT_FAILED, EXIT_USAGE, OutputFormat};
use crate::api::{self, Request, Response};
use crate::config::edit;
use crate::executor::agent_env::install_shims;
use crate::executor::ocf::{DEFAULT_OCF_ROOT, OcfRunner};

#[derive(Debug, Subcommand)]
pub enum DefaultsCommand {
    /// Set a default meta attribute of every resource (or, with --op, of
    /// every operation), e.g. resource-stickiness, migration-threshold.
    Set {
        /// The meta attribute (with --op: an operation attribute such as timeout).
        name: String,
        /// Its value.
        value: String,
        /// An operation default (`[op_defaults]`).
        #[arg(long)]
        op: bool,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Remove a default: the built-in one applies again.
    Unset {
        /// The meta attribute.
        name: String,
        /// An operation default (`[op_defaults]`).
        #[arg(long)]
        op: bool,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Resource and operation defaults (`[rsc_defaults]`, `[op_defaults]`;
    /// pcs resource [op] defaults, crm configure rsc_defaults|op_defaults).
    #[command(subcommand)]
    Defaults(DefaultsCommand),
    /// Run one action of a configured resource on this node, directly (like
    /// `crm_resource --force-start`), and print its result.
    Exec {
        /// The cluster file the primitive is read from.
        #[arg(long, default_value = "/etc/paceline/cluster.toml")]
        config: PathBuf,
        /// The primitive's id.
        resource: String,
        /// start, stop, monitor, probe, promote, demote, notify, validate-all, meta-data.
        action: String,
        /// How to print the result.
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Make RES run on NODE (a location constraint `cli-prefer-RES` with
    /// INFINITY; `resource clear` removes it). Without NODE, move RES away
    /// from the node it runs on (a ban there, `cli-ban-RES-on-NODE`, as
    /// crm_resource --move without --node).
    Move {
        /// The resource to move.
        resource: String,
        /// Where it must run (omitted: anywhere but where it runs now).
        #[arg(required_if_eq("promoted", "true"))]
        node: Option<String>,
        /// Remove the constraint after this long (e.g. "30m", "2h").
        #[arg(long)]
        lifetime: Option<String>,
        /// Move only the Promoted role of a promotable clone (a
        /// switchover): RES is the clone or its primitive.
        #[arg(long)]
        promoted: bool,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Keep RES off NODE (`cli-ban-RES-on-NODE`, -INFINITY).
    Ban {
        /// The resource to keep off NODE.
        resource: String,
        /// The node it may not run on.
        node: String,
        /// Remove the constraint after this long (e.g. "30m", "2h").
        #[arg(long)]
        lifetime: Option<String>,
        /// Ban only the Promoted role of a promotable clone from NODE.
        #[arg(long)]
        promoted: bool,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Remove what move and ban made for RES (with --node, only those
    /// naming NODE).
    Clear {
        /// The resource whose moves and bans go.
        resource: String,
        /// Only the move to or the ban from this node.
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Let RES run (removes its `target-role`).
    #[command(visible_alias = "enable")]
    Start {
        /// The resource to let run.
        resource: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Stop RES and keep it stopped (`target-role = "Stopped"`).
    #[command(visible_alias = "disable")]
    Stop {
        /// The resource to stop.
        resource: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Create a primitive (pcs resource create, crm configure primitive),
    /// optionally in a group and/or a clone; validated before it is sent.
    Create(super::resource_edit::CreateArgs),
    /// Delete RES: a primitive (out of its group; an emptied group and its
    /// clone go too), a group with its members or a clone with what it
    /// clones, and the constraints that name what goes.
    Delete {
        /// The resource to delete.
        resource: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Change RES's params, meta attributes or operations (an empty VALUE
    /// removes the key; an operation replaces the one of the same name and
    /// interval).
    Update(super::resource_edit::UpdateArgs),
    /// Let the cluster manage RES again (removes `is-managed`).
    Manage {
        /// The resource to manage.
        resource: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Leave RES as it is: neither started, stopped nor recovered, still
    /// monitored (`is-managed = false`).
    Unmanage {
        /// The resource to leave alone.
        resource: String,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Put RES in maintenance: not started, stopped or monitored
    /// (`maintenance = true`); --off ends it.
    Maintenance {
        /// The resource.
        resource: String,
        /// End the maintenance.
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        client: Client,
    },
    /// Forget RES's history (or every resource's) so that it is probed
    /// again on every node (or NODE), failures included (crm_resource
    /// --refresh).
    Refresh {
        /// The resource (omitted: every configured resource).
        resource: Option<String>,
        /// Only on this node.
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        client: Client,
    },
    /// Stop RES, wait until it is stopped everywhere, then let it run again
    /// with the target-role it had.
    Restart {
        /// The resource to restart.
        resource: String,
        /// How long to wait for the stop.
        #[arg(long, default_value = "60s")]
        timeout: String,
        #[command(flatten)]
        client: Client,
    },
    /// RES as configured, where it runs, its failures and the constraints
    /// that name it.
    Show {
        /// The resource to show.
        resource: String,
        #[command(flatten)]
        client: Client,
    },
    /// Forget the failures of RES (on NODE, or everywhere); without RES,
    /// of every resource that has failures. Its history goes too, so it is
    /// probed again.
    Cleanup {
        /// The resource (omitted: every resource with a failure).
        resource: Option<String>,
        /// Only on this node.
        #[arg(long)]
        node: Option<String>,
        #[command(flatten)]
        client: Client,
    },
}

/// Where pacelined is and how to print.
#[derive(Debug, clap::Args)]
pub struct Client {
    /// How to print the result.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// The local pacelined's API socket.
    #[arg(long, default_value = crate::api::DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// `--wait[=TIMEOUT]` of a change that starts or stops things.
#[derive(Debug, Default, clap::Args)]
pub struct Wait {
    /// After the change, wait until the cluster has settled (the DC has
    /// nothing in flight or left to do), at most TIMEOUT (default 60s);
    /// exit 1 if it has not by then.
    #[arg(long, num_args = 0..=1, default_missing_value = "60s", value_name = "TIMEOUT")]
    pub wait: Option<String>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `--lifetime` as the unix time the constraint expires at.
fn expiry(lifetime: &Option<String>) -> anyhow::Result<Option<i64>> {
    match lifetime {
        None => Ok(None),
        Some(l) => {
            let d = crate::config::parse_duration(l).context("--lifetime")?;
            let secs = i64::try_from(d.as_secs().max(1)).unwrap_or(i64::MAX);
            Ok(Some(unix_now().saturating_add(secs)))
        }
    }
}

/// `--promoted`: the edit's placement and how the command names it.
fn placement(promoted: bool) -> (edit::Placement, &'static str) {
    if promoted {
        (edit::Placement::Promoted, "'s Promoted role")
    } else {
        (edit::Placement::Anywhere, "")
    }
}

pub fn run(cmd: ResourceCommand) -> anyhow::Result<ExitCode> {
    use super::resource_edit::{self as re, apply};
    match cmd {
        ResourceCommand::Exec {
            config,
            resource,
            action,
            output,
        } => exec(&config, &resource, &action, output),
        ResourceCommand::Move {
            resource,
            node: None,
            lifetime,
            wait,
            client,
            ..
        } => re::move_away(&resource, expiry(&lifetime)?, &wait, &client),
        ResourceCommand::Move {
            resource,
            node: Some(node),
            lifetime,
            promoted,
            wait,
            client,
        } => {
            let until = expiry(&lifetime)?;
            let (placement, role) = placement(promoted);
            let what = format!("move {resource}{role} to {node}");
            apply(&client, &wait, &what, |t| {
                edit::move_resource(t, &resource, &node, until, placement)
            })
        }
        ResourceCommand::Ban {
            resource,
            node,
            lifetime,
            promoted,
            wait,
            client,
        } => {
            let until = expiry(&lifetime)?;
            let (placement, role) = placement(promoted);
            let what = format!("ban {resource}{role} from {node}");
            apply(&client, &wait, &what, |t| {
                edit::ban_resource(t, &resource, &node, until, placement)
            })
        }
        ResourceCommand::Clear {
            resource,
            node: None,
            wait,
            client,
        } => {
            let what = format!("clear the moves and bans of {resource}");
            apply(&client, &wait, &what, |t| {
                edit::clear_resource_and_its_promoted_role(t, &resource)
            })
        }
        ResourceCommand::Clear {
            resource,
            node: Some(node),
            wait,
            client,
        } => {
            let what = format!("clear the move and ban of {resource} on {node}");
            apply(&client, &wait, &what, |t| {
                edit::clear_resource_on(t, &resource, &node)
            })
        }
        ResourceCommand::Start {
            resource,
            wait,
            client,
        } => apply(&client, &wait, &format!("start {resource}"), |t| {
            edit::set_target_role(t, &resource, None)
        }),
        ResourceCommand::Stop {
            resource,
            wait,
            client,
        } => apply(&client, &wait, &format!("stop {resource}"), |t| {
            edit::set_target_role(t, &resource, Some("Stopped"))
        }),
        ResourceCommand::Create(args) => re::create(args),
        ResourceCommand::Update(args) => re::update(args),
        ResourceCommand::Delete {
            resource,
            wait,
            client,
        } => apply(&client, &wait, &format!("delete {resource}"), |t| {
            edit::delete_resource(t, &resource)
        }),
        ResourceCommand::Manage {
            resource,
            wait,
            client,
        } => apply(&client, &wait, &format!("manage {resource}"), |t| {
            edit::set_meta(t, &resource, "is-managed", None)
        }),
        ResourceCommand::Unmanage {
            resource,
            wait,
            client,
        } => apply(&client, &wait, &format!("unmanage {resource}"), |t| {
            edit::set_meta(t, &resource, "is-managed", Some("false"))
        }),
        ResourceCommand::Maintenance {
            resource,
            off,
            wait,
            client,
        } => {
            let what = format!("{resource} maintenance {}", if off { "off" } else { "on" });
            apply(&client, &wait, &what, |t| {
                edit::set_meta(t, &resource, "maintenance", (!off).then_some("true"))
            })
        }
        ResourceCommand::Restart {
            resource,
            timeout,
            client,
        } => restart(&resource, &timeout, &client),
        ResourceCommand::Show { resource, client } => show(&resource, &client),
        ResourceCommand::Defaults(DefaultsCommand::Set {
            name,
            value,
            op,
            wait,
            client,
        }) => {
            let table = if op { "op_defaults" } else { "rsc_defaults" };
            apply(&client, &wait, &format!("{table} {name} = {value}"), |t| {
                edit::set_default(t, table, &name, Some(&value))
            })
        }
        ResourceCommand::Defaults(DefaultsCommand::Unset {
            name,
            op,
            wait,
            client,
        }) => {
            let table = if op { "op_defaults" } else { "rsc_defaults" };
            apply(&client, &wait, &format!("{table} {name} unset"), |t| {
                edit::set_default(t, table, &name, None)
            })
        }
        ResourceCommand::Cleanup {
            resource,
            node,
            client,
        } => re::cleanup(resource, node, false, &client),
        ResourceCommand::Refresh {
            resource,
            node,
            client,
        } => re::cleanup(resource, node, true, &client),
    }
}

/// `resource cleanup RES`: one request, answered once the DC committed it.
pub(super) fn cleanup_one(
    client: &Client,
    resource: String,
    node: Option<String>,
) -> anyhow::Result<String> {
    match api::call(&client.socket, &Request::Cleanup { resource, node })? {
        Response::Accepted { what } => Ok(what),
        Response::Error { message } => anyhow::bail!("pacelined refused: {message}"),
        other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
    }
}

pub(super) fn report(client: &Client) -> anyhow::Result<crate::api::StatusReport> {
    match api::call(&client.socket, &Request::Report)? {
        Response::Report(r) => Ok(*r),
        Response::Error { message } => anyhow::bail!("pacelined refused: {message}"),
        other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
    }
}

/// Whether a primitive (or a member of the group/clone `resource`) is active.
pub(super) fn active_nodes(report: &crate::api::StatusReport, members: &[String]) -> Vec<String> {
    report
        .resources
        .iter()
        .filter(|r| members.contains(&r.id) && r.role != "Stopped")
        .flat_map(|r| r.nodes.iter().cloned())
        .collect()
}

/// The primitives `resource` stands for (itself, a group's members, a
/// clone's primitive or group members).
pub(super) fn primitives_of(config: &crate::model::ClusterConfig, resource: &str) -> Vec<String> {
    use crate::model::{CloneChild, Resource};
    for r in &config.resources {
        match r {
            Resource::Primitive(p) if p.id == resource => return vec![p.id.clone()],
            Resource::Group(g)
                if g.id == resource || g.members.iter().any(|m| m.id == resource) =>
            {
                return if g.id == resource {
                    g.members.iter().map(|m| m.id.clone()).collect()
                } else {
                    vec![resource.to_string()]
                };
            }
            Resource::Clone(c) if c.id == resource || c.child.id() == resource => {
                return match &c.child {
                    CloneChild::Primitive(p) => vec![p.id.clone()],
                    CloneChild::Group(g) => g.members.iter().map(|m| m.id.clone()).collect(),
                };
            }
            _ => {}
        }
    }
    vec![resource.to_string()]
}

fn restart(resource: &str, timeout: &str, client: &Client) -> anyhow::Result<ExitCode> {
    let limit = crate::config::parse_duration(timeout).context("--timeout")?;
    let (text, _) = super::configure::show(&client.socket)?;
    let previous = edit::target_role(&text, resource)?;
    let config = crate::config::load_config_str(&text, "the cluster configuration")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let members = primitives_of(&config, resource);
    let what = format!("restart {resource}: stop");
    edit_cluster(&client.socket, &what, |t| {
        edit::set_target_role(t, resource, Some("Stopped"))
    })?;
    let deadline = std::time::Instant::now() + limit;
    let stopped = loop {
        let active = active_nodes(&report(client)?, &members);
        if active.is_empty() {
            break true;
        }
        if std::time::Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let what = format!("restart {resource}: start");
    let v = edit_cluster(&client.socket, &what, |t| {
        edit::set_target_role(t, resource, previous.as_deref())
    })?;
    if !stopped {
        eprintln!(
            "paceline: {resource} was not stopped everywhere within {timeout}; its target-role is restored, check `paceline status`"
        );
        return Ok(ExitCode::from(super::EXIT_FAILED));
    }
    print_applied(&format!("restart {resource}"), v, client.output)?;
    Ok(ExitCode::SUCCESS)
}

fn show(resource: &str, client: &Client) -> anyhow::Result<ExitCode> {
    let (text, _) = super::configure::show(&client.socket)?;
    let table = edit::resource_text(&text, resource)?;
    let config = crate::config::load_config_str(&text, "the cluster configuration")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let members = primitives_of(&config, resource);
    let r = report(client)?;
    let placed: Vec<&crate::api::ResourceView> = r
        .resources
        .iter()
        .filter(|v| members.contains(&v.id))
        .collect();
    let failures: Vec<&crate::api::FailedActionView> = r
        .failed_actions
        .iter()
        .filter(|f| {
            members
                .iter()
                .any(|m| f.resource == *m || f.resource.starts_with(&format!("{m}:")))
        })
        .collect();
    let names = |id: &str| id == resource || members.iter().any(|m| m == id);
    let mut constraints: Vec<String> = Vec::new();
    for l in &config.locations {
        if let crate::model::LocationTarget::Resource(id) = &l.target
            && names(id)
        {
            constraints.push(format!("location {}", l.id));
        }
    }
    let named = |id: &Option<String>| id.as_deref().is_some_and(names);
    for c in &config.colocations {
        if named(&c.rsc) || named(&c.with_rsc) {
            constraints.push(format!(
                "colocation {} ({} with {}, score {})",
                c.id,
                c.rsc.as_deref().unwrap_or("?"),
                c.with_rsc.as_deref().unwrap_or("?"),
                c.score
            ));
        }
    }
    for o in &config.orders {
        if named(&o.first) || named(&o.then) {
            constraints.push(format!(
                "order {} ({} then {})",
                o.id,
                o.first.as_deref().unwrap_or("?"),
                o.then.as_deref().unwrap_or("?")
            ));
        }
    }
    match client.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "resource": resource,
                "config": table,
                "placement": placed,
                "failed_actions": failures,
                "constraints": constraints,
            }))?
        ),
        OutputFormat::Text => {
            print!("{table}");
            println!("Placement:");
            for p in &placed {
                let on = if p.nodes.is_empty() {
                    String::new()
                } else {
                    format!(" {}", p.nodes.join(" "))
                };
                println!("  * {} ({}): {}{on}", p.id, p.agent, p.role);
            }
            if !failures.is_empty() {
                println!("Failed actions:");
                for f in &failures {
                    println!(
                        "  * {} {} on {}: rc {}",
                        f.resource, f.operation, f.node, f.rc
                    );
                }
            }
            println!("Constraints:");
            if constraints.is_empty() {
                println!("  (none)");
            }
            for c in &constraints {
                println!("  * {c}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn exec(
    config: &Path,
    resource: &str,
    action: &str,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let loaded = std::fs::read_to_string(config)
        .map_err(|e| format!("cannot read {}: {e}", config.display()))
        .and_then(|text| {
            crate::config::load_cluster_str_fencing_optional(&text, &config.display().to_string())
                .map_err(|e| e.to_string())
        });
    let cfg = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("paceline: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let Some(prim) = cfg.model.primitive(resource) else {
        let ids: Vec<String> = (cfg.model.resources.iter())
            .flat_map(|r| primitives_of(&cfg.model, r.id()))
            .collect();
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
    let a = match crate::executor::primitive::action(prim, action) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("paceline: {}: primitive {resource}: {e}", config.display());
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let state_dir = cfg
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("/var/lib/paceline"));
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
