//! The imperative edits of `paceline resource` (create, update, delete,
//! move away, cleanup/refresh of everything) and what every change shares:
//! read the configuration, edit it keeping comments, validate, submit with
//! the version read (`configure::edit_cluster`), then optionally `--wait`
//! until the cluster has settled.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::configure::{edit_cluster, print_applied};
use super::resource::{Client, Wait, primitives_of, report};
use super::{EXIT_FAILED, OutputFormat};
use crate::config::edit::{self, EditError};

/// Operation given on the command line: its name and attributes.
pub type OpSpec = (String, Vec<(String, String)>);

/// `NAME=VALUE` (VALUE may be empty: update removes the key).
pub fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// `"NAME [ATTR=VALUE]..."`, e.g. `"monitor interval=10s timeout=20s"`.
pub fn parse_op(s: &str) -> Result<OpSpec, String> {
    let mut words = s.split_whitespace();
    let name = words.next().filter(|n| !n.contains('=')).ok_or_else(|| {
        format!("`{s}`: an operation starts with its name, e.g. \"monitor interval=10s\"")
    })?;
    let attrs = words.map(parse_kv).collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), attrs))
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The new primitive's id.
    resource: String,
    /// Its agent: class:provider:type (ocf:heartbeat:IPaddr2) or
    /// class:type (systemd:nginx.service, builtin:ipaddr).
    agent: String,
    /// An agent parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// A meta attribute, NAME=VALUE (repeatable), e.g. resource-stickiness=100.
    #[arg(long = "meta", value_name = "NAME=VALUE", value_parser = parse_kv)]
    meta: Vec<(String, String)>,
    /// An operation, "NAME [ATTR=VALUE]..." (repeatable), e.g.
    /// "monitor interval=10s timeout=20s".
    #[arg(long = "op", value_name = "OP", value_parser = parse_op)]
    ops: Vec<OpSpec>,
    /// Append it to this group (created if missing).
    #[arg(long)]
    group: Option<String>,
    /// Clone it (its group, with --group) as ID-clone.
    #[arg(long)]
    clone: bool,
    /// Make the clone promotable (implies --clone).
    #[arg(long)]
    promotable: bool,
    #[command(flatten)]
    wait: Wait,
    #[command(flatten)]
    client: Client,
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The resource to change.
    resource: String,
    /// An agent parameter, NAME=VALUE (repeatable; NAME= removes it).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// A meta attribute, NAME=VALUE (repeatable; NAME= removes it).
    #[arg(long = "meta", value_name = "NAME=VALUE", value_parser = parse_kv)]
    meta: Vec<(String, String)>,
    /// An operation, "NAME [ATTR=VALUE]..." (repeatable): replaces the one
    /// of the same name and interval, or is added.
    #[arg(long = "op", value_name = "OP", value_parser = parse_op)]
    ops: Vec<OpSpec>,
    #[command(flatten)]
    wait: Wait,
    #[command(flatten)]
    client: Client,
}

/// One change: edited, validated, submitted on the version read, printed;
/// then `--wait`.
pub fn apply(
    client: &Client,
    wait: &Wait,
    what: &str,
    change: impl Fn(&str) -> Result<String, EditError>,
) -> anyhow::Result<ExitCode> {
    let version = edit_cluster(&client.socket, what, change)?;
    print_applied(what, version, client.output)?;
    wait_settled(client, wait)
}

pub fn create(a: CreateArgs) -> anyhow::Result<ExitCode> {
    let new = edit::NewResource {
        id: &a.resource,
        agent: &a.agent,
        params: &a.params,
        meta: &a.meta,
        ops: &a.ops,
        wrap: edit::Wrap {
            group: a.group.as_deref(),
            clone: (a.clone || a.promotable).then_some(a.promotable),
        },
    };
    let what = format!("create {} ({})", a.resource, a.agent);
    apply(&a.client, &a.wait, &what, |t| {
        edit::create_resource(t, &new)
    })
}

pub fn update(a: UpdateArgs) -> anyhow::Result<ExitCode> {
    if a.params.is_empty() && a.meta.is_empty() && a.ops.is_empty() {
        return Err(
            EditError::Invalid("nothing to update: give --param, --meta or --op".into()).into(),
        );
    }
    let what = format!("update {}", a.resource);
    apply(&a.client, &a.wait, &what, |t| {
        edit::update_resource(t, &a.resource, &a.params, &a.meta, &a.ops)
    })
}

/// `resource move RES` without a node: banned from the one node it runs
/// on (crm_resource --move without --node).
pub fn move_away(
    resource: &str,
    until: Option<i64>,
    wait: &Wait,
    client: &Client,
) -> anyhow::Result<ExitCode> {
    let (text, _) = super::configure::show(&client.socket)?;
    let config = crate::config::load_config_str(&text, "the cluster configuration")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let members = primitives_of(&config, resource);
    let mut nodes = super::resource::active_nodes(&report(client)?, &members);
    nodes.sort();
    nodes.dedup();
    let node = match nodes.as_slice() {
        [one] => one.clone(),
        [] => bail!("{resource} runs nowhere: name the node to move it to"),
        many => bail!(
            "{resource} runs on {}: name the node to move it to, or ban it from one",
            many.join(", ")
        ),
    };
    let what = format!("move {resource} away from {node}");
    apply(client, wait, &what, |t| {
        edit::ban_resource(t, resource, &node, until, edit::Placement::Anywhere)
    })
}

/// `resource cleanup|refresh [RES]`: one resource, or (cleanup) every one
/// with a failure, (refresh) every configured primitive. Both forget the
/// history, so what is cleaned is probed again.
pub fn cleanup(
    resource: Option<String>,
    node: Option<String>,
    every_primitive: bool,
    client: &Client,
) -> anyhow::Result<ExitCode> {
    let one = resource.is_some();
    let resources = match resource {
        Some(r) => vec![r],
        None if every_primitive => {
            let (text, _) = super::configure::show(&client.socket)?;
            let config = crate::config::load_config_str(&text, "the cluster configuration")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut all: Vec<String> = config
                .resources
                .iter()
                .flat_map(|r| primitives_of(&config, r.id()))
                .collect();
            all.dedup();
            all
        }
        None => failed_resources(&report(client)?),
    };
    let mut done = Vec::new();
    for r in resources {
        done.push(super::resource::cleanup_one(client, r, node.clone())?);
    }
    match client.output {
        // One resource: its answer, as before; several: the list.
        OutputFormat::Json if one => {
            println!("{}", serde_json::json!({ "accepted": done.first() }))
        }
        OutputFormat::Json => println!("{}", serde_json::json!({ "accepted": done })),
        OutputFormat::Text if done.is_empty() => println!("no resource has a failure"),
        OutputFormat::Text => done.iter().for_each(|w| println!("{w}")),
    }
    Ok(ExitCode::SUCCESS)
}

/// Resources with a failed action or a fail count (as primitive ids).
fn failed_resources(r: &crate::api::StatusReport) -> Vec<String> {
    let base = |id: &str| id.split(':').next().unwrap_or(id).to_string();
    let mut out: Vec<String> = r.failed_actions.iter().map(|f| base(&f.resource)).collect();
    for attrs in r.node_attributes.values() {
        out.extend(
            attrs
                .keys()
                .filter_map(|k| k.strip_prefix("fail-count-"))
                .map(|k| base(k.split('#').next().unwrap_or(k))),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// How often `--wait` looks.
const WAIT_POLL: Duration = Duration::from_millis(250);
/// On a node that is not the DC, how long nothing may change before the
/// cluster counts as settled (it cannot see the DC's controller).
const QUIET_FOR: Duration = Duration::from_secs(3);

/// `--wait`: until the DC says it has nothing in flight or left to do
/// (twice in a row; a member asks the DC, `api::Request::Settled`), or,
/// with a daemon of the previous release off the DC, until the resources
/// have not changed for `QUIET_FOR`; exit 1 after TIMEOUT.
pub fn wait_settled(client: &Client, wait: &Wait) -> anyhow::Result<ExitCode> {
    let Some(limit) = &wait.wait else {
        return Ok(ExitCode::SUCCESS);
    };
    let limit = crate::config::parse_duration(limit).context("--wait")?;
    let deadline = Instant::now() + limit;
    let mut idle_seen = 0;
    let mut last = None;
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        std::thread::sleep(WAIT_POLL);
        let idle = match crate::api::call(&client.socket, &crate::api::Request::Settled)? {
            crate::api::Response::Settled { idle } => Some(idle),
            _ => None,
        };
        let settled = match idle {
            Some(idle) => {
                idle_seen = if idle { idle_seen + 1 } else { 0 };
                idle_seen >= 2
            }
            None => {
                let r = report(client)?;
                let shown = serde_json::to_string(&(&r.resources, &r.failed_actions))?;
                if last.as_ref() != Some(&shown) {
                    last = Some(shown);
                    quiet_since = Instant::now();
                }
                quiet_since.elapsed() >= QUIET_FOR
            }
        };
        if settled {
            return Ok(ExitCode::SUCCESS);
        }
    }
    eprintln!(
        "paceline: the cluster has not settled within {}; check `paceline status`",
        wait.wait.as_deref().unwrap_or_default()
    );
    Ok(ExitCode::from(EXIT_FAILED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_pairs_read_from_the_command_line() {
        assert_eq!(parse_kv("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_kv("a="), Ok(("a".into(), String::new())));
        assert!(parse_kv("=b").is_err() && parse_kv("ab").is_err());
        let (name, attrs) = parse_op("monitor interval=10s timeout=20s").unwrap();
        assert_eq!(name, "monitor");
        assert_eq!(attrs.len(), 2);
        assert!(parse_op("interval=10s").is_err());
        assert!(parse_op("").is_err());
    }
}
