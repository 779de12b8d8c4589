//! `paceline status`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::OutputFormat;
use crate::api::DEFAULT_SOCKET;
use crate::api::{self, Request, Response, StatusReport};
use crate::membership::PeerState;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Local API socket of pacelined.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Keep watching (like `crm_mon`): the text view is redrawn every
    /// interval; JSON prints one line whenever the status changes.
    #[arg(long)]
    pub watch: bool,
    /// Refresh interval of --watch, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    if !args.watch {
        return once(&args);
    }
    let mut last: Option<String> = None;
    loop {
        match fetch(&args) {
            Ok(report) => match args.output {
                OutputFormat::Json => {
                    let line = serde_json::to_string(&report)?;
                    if last.as_ref() != Some(&line) {
                        println!("{line}");
                        last = Some(line);
                    }
                }
                OutputFormat::Text => {
                    // Clear the screen and home the cursor, as crm_mon does.
                    print!("\x1b[2J\x1b[H{}", render(&report));
                }
            },
            Err(e) => {
                if args.output == OutputFormat::Text {
                    print!("\x1b[2J\x1b[H");
                }
                println!("paceline: {e:#} (still watching)");
            }
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::thread::sleep(std::time::Duration::from_millis(args.interval_ms.max(100)));
    }
}

fn once(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let status = fetch(args)?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&status)?),
        OutputFormat::Text => print!("{}", render(&status)),
    }
    Ok(ExitCode::SUCCESS)
}

fn fetch(args: &StatusArgs) -> anyhow::Result<StatusReport> {
    let answer = match api::call(&args.socket, &Request::Report)? {
        // A daemon of the previous release knows only the membership status.
        Response::Error { message } if message.starts_with("bad request") => {
            match api::call(&args.socket, &Request::Status)? {
                Response::Status(membership) => Response::Report(Box::new(StatusReport {
                    membership: *membership,
                    dc: None,
                    dc_idle: None,
                    config_version: Default::default(),
                    resources: Vec::new(),
                    failed_actions: Vec::new(),
                    cli_constraints: Vec::new(),
                    node_attributes: Default::default(),
                    permanent_attributes: Default::default(),
                    standby: Vec::new(),
                    maintenance: Vec::new(),
                    fencing_history: Vec::new(),
                    fencing_pending: Vec::new(),
                    tickets: Vec::new(),
                    channel: Default::default(),
                    instances: Default::default(),
                    last_change: None,
                })),
                other => other,
            }
        }
        other => other,
    };
    match answer {
        Response::Report(status) => Ok(*status),
        Response::Error { message } => anyhow::bail!("pacelined refused: {message}"),
        other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
    }
}

pub(super) fn render(report: &StatusReport) -> String {
    let s = &report.membership;
    let mut out = String::new();
    out.push_str(&format!("Cluster: {}\n", s.cluster));
    out.push_str(&format!(
        "Current DC: {}\n",
        report.dc.as_deref().unwrap_or("NONE")
    ));
    let v = report.config_version;
    out.push_str(&format!(
        "Configuration: epoch {} (version {}.{}.{})\n",
        v.epoch, v.admin_epoch, v.epoch, v.num_updates
    ));
    out.push_str(&summary(report, now()));
    out.push_str(&format!("This node: {} (id {})\n", s.node, s.node_id));
    out.push_str(&format!(
        "View {}: members [{}]{}\n",
        s.view_id,
        s.members.join(", "),
        speaks(s.protocol_version)
    ));
    let q = &s.quorum;
    out.push_str(&format!(
        "Quorum: {} (votes {}, expected {}, needed {})\n  {}\n",
        if q.quorate { "quorate" } else { "NOT quorate" },
        q.total_votes,
        q.expected_votes,
        q.quorum,
        q.reason
    ));
    if let Some(w) = &s.witness {
        out.push_str(&format!(
            "  Witness: {} here ({})\n",
            if w.held { "vote held" } else { "vote NOT held" },
            w.last
        ));
    }
    if q.waiting_for_all && q.unblocked.is_none() {
        out.push_str("  This node waits for its peer(s) (wait_for_all); `paceline cluster unblock` overrides.\n");
    }
    if let Some(u) = &q.unblocked {
        out.push_str(&format!(
            "  wait_for_all overridden by {} at {} ms since the epoch\n",
            u.by, u.at_unix_ms
        ));
    }
    out.push_str("Nodes:\n");
    for n in &s.nodes {
        let state = match n.state {
            PeerState::Online => "online",
            PeerState::Offline => "offline",
            PeerState::Left => "left",
        };
        let links = if n.local {
            "(this node)".to_string()
        } else {
            n.links
                .iter()
                .enumerate()
                .map(|(i, l)| format!("link{i} {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut state = state.to_string();
        if report.standby.contains(&n.name) {
            state.push_str(" (standby)");
        }
        if report.maintenance.contains(&n.name) {
            state.push_str(" (maintenance)");
        }
        out.push_str(&format!(
            "  {:<12} id {:<5} {:<8} {links}\n",
            n.name, n.id, state
        ));
    }
    for i in &s.incompatible {
        out.push_str(&format!(
            "  REFUSED: node {} speaks incompatible protocol version {}\n",
            i.node, i.version
        ));
    }
    for warning in &s.warnings {
        out.push_str(&format!("WARNING: {warning}\n"));
    }
    out.push_str(&render_keys(s));
    out.push_str(&render_resources(report));
    let ch = &report.channel;
    out.push_str(&format!(
        "Cluster channel: sent {}, delivered {}, retransmitted fragments {}, abandoned {}\n",
        ch.sent_messages, ch.delivered_messages, ch.retransmitted_fragments, ch.abandoned_messages
    ));
    let w = &s.wire;
    out.push_str(&format!(
        "Dropped packets: forged {}, replayed {}, other cluster {}, malformed {}, incompatible {}\n",
        w.forged, w.replayed, w.other_cluster, w.malformed, w.incompatible_version
    ));
    out
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// crm_mon's "Last updated", "Last change" and counts.
fn summary(report: &StatusReport, now: i64) -> String {
    let s = &report.membership;
    let mut out = format!("Last updated: {} on {}\n", api::utc_seconds(now), s.node);
    if let Some(c) = &report.last_change {
        let by = match &c.by {
            Some(user) => format!("by {user} via paceline on {}", s.node),
            None => "(seen by this node; made on another node or before it started)".into(),
        };
        out.push_str(&format!(
            "Last change: {} (epoch {}) {by}\n",
            api::utc_seconds(c.at),
            c.epoch
        ));
    }
    let n = s.nodes.len();
    let i = &report.instances;
    let mut marks = Vec::new();
    if i.disabled > 0 {
        marks.push(format!("{} DISABLED", i.disabled));
    }
    if i.blocked > 0 {
        marks.push(format!(
            "{} BLOCKED from further action due to failure",
            i.blocked
        ));
    }
    out.push_str(&format!(
        "{n} node{} configured, {} resource instance{} configured{}\n",
        if n == 1 { "" } else { "s" },
        i.configured,
        if i.configured == 1 { "" } else { "s" },
        if marks.is_empty() {
            String::new()
        } else {
            format!(" ({})", marks.join(", "))
        }
    ));
    out
}

/// The authkeys and a rotation's progress (`wire::KeyRing`), by node name.
fn render_keys(s: &api::ClusterStatusView) -> String {
    let k = &s.keys;
    if k.sending.is_empty() {
        return String::new(); // an older daemon
    }
    let name = |id: &crate::wire::NodeId| {
        s.nodes
            .iter()
            .find(|n| n.id == *id)
            .map_or_else(|| format!("node id {id}"), |n| n.name.clone())
    };
    let waiting: Vec<String> = k.waiting_for.iter().map(name).collect();
    let progress = match k.step.as_str() {
        "introducing" => format!(
            "; rotation: the new key is sent with once every member accepts it (waiting for {})",
            waiting.join(", ")
        ),
        "retiring" => format!(
            "; rotation: the old key is refused once every member sends with the new one (waiting for {})",
            waiting.join(", ")
        ),
        _ => String::new(),
    };
    format!(
        "Authkey: sending with {}, accepting {}{progress}\n",
        k.sending,
        k.accepted.join(", ")
    )
}

/// Every node's attributes, as crm_mon -A shows them: transient ones
/// (promotion scores, agents' `-l reboot`) and permanent ones (the
/// configuration's `[[node]] attributes` and agents' `-l forever`, such as
/// pgsql's data status), a transient value over a permanent one of the same
/// name (as rules read them), the permanent marked so.
fn node_attributes(report: &StatusReport) -> String {
    use std::collections::BTreeMap;
    let mut nodes: BTreeMap<&str, BTreeMap<&str, (&str, bool)>> = BTreeMap::new();
    for (node, attrs) in &report.permanent_attributes {
        let here = nodes.entry(node.as_str()).or_default();
        for (k, v) in attrs {
            here.insert(k.as_str(), (v.as_str(), true));
        }
    }
    for (node, attrs) in &report.node_attributes {
        let here = nodes.entry(node.as_str()).or_default();
        for (k, v) in attrs {
            here.insert(k.as_str(), (v.as_str(), false));
        }
    }
    nodes.retain(|_, attrs| !attrs.is_empty());
    if nodes.is_empty() {
        return String::new();
    }
    let mut out = String::from("Node Attributes:\n");
    for (node, attrs) in nodes {
        out.push_str(&format!("  * Node {node}:\n"));
        for (k, (v, permanent)) in attrs {
            let mark = if permanent { " (permanent)" } else { "" };
            out.push_str(&format!("    * {k:<30}: {v}{mark}\n"));
        }
    }
    out
}

fn render_resources(report: &StatusReport) -> String {
    let mut out = super::status_tree::render(report);
    out.push_str(&node_attributes(report));
    let now = now();
    out.push_str(&super::status_tree::failed_actions(report, now));
    if !report.cli_constraints.is_empty() {
        out.push_str("Constraints left by move/ban:\n");
        for c in &report.cli_constraints {
            let until = match c.expires_at {
                Some(t) if t > now => format!("expires in {}s", t - now),
                Some(_) => "expired, removed shortly".to_string(),
                None => format!("until `paceline resource clear {}`", c.resource),
            };
            out.push_str(&format!(
                "  * {}: {} on {} score {} ({until})\n",
                c.id, c.resource, c.node, c.score
            ));
        }
    }
    if !report.tickets.is_empty() {
        out.push_str("Tickets:\n");
        for t in &report.tickets {
            out.push_str(&format!("  * {}\n", super::ticket::line(t)));
        }
    }
    if !report.fencing_history.is_empty() || !report.fencing_pending.is_empty() {
        out.push_str("Fencing History:\n");
        out.push_str(&render_pending(&report.fencing_pending));
        for f in &report.fencing_history {
            out.push_str(&render_fence(f));
        }
    }
    out
}

/// The fencing running now, as crm_mon words it first in its history:
/// "reboot of node2 pending: client=controller, origin=node1".
pub(super) fn render_pending(pending: &[api::PendingFenceView]) -> String {
    pending
        .iter()
        .map(|p| {
            let action = if p.action.is_empty() {
                "fencing"
            } else {
                p.action.as_str()
            };
            format!(
                "  * {action} of {} pending: delegate={}, client={}, origin={}, started='{}'\n",
                p.target, p.delegate, p.client, p.delegate, p.since
            )
        })
        .collect()
}

/// One line of the fencing history, as crm_mon words it: "reboot of node2
/// successful: delegate=node1, client=controller, origin=node1,
/// completed='…'", "… failed: …, last-failed='…'".
pub(super) fn render_fence(f: &api::FenceView) -> String {
    let action = if f.action.is_empty() {
        "fencing"
    } else {
        f.action.as_str()
    };
    let outcome = match f.result.as_str() {
        "ok" => "successful".to_string(),
        "failed" if f.attempts > 1 => format!("failed {} times", f.attempts),
        other => other.to_string(),
    };
    let mut parts = Vec::new();
    if let Some(d) = &f.delegate {
        parts.push(format!("delegate={d}"));
    }
    if !f.device.is_empty() {
        parts.push(format!("device={}", f.device));
    }
    if let Some(c) = &f.client {
        parts.push(format!("client={c}"));
    }
    if let Some(o) = &f.origin {
        parts.push(format!("origin={o}"));
    }
    if f.result == "ok" {
        parts.push(format!("completed='{}'", f.at));
    } else {
        if f.attempts > 1 {
            parts.push(format!("first-failed='{}'", f.first_at));
        }
        parts.push(format!("last-failed='{}'", f.at));
    }
    if f.source == "local" {
        parts.push("run by hand on this node, not through the cluster".to_string());
    }
    let mut line = format!(
        "  * {action} of {} {outcome}: {}",
        f.target,
        parts.join(", ")
    );
    if f.result != "ok" && !f.detail.is_empty() {
        line.push_str(&format!(" ({})", f.detail));
    }
    line.push('\n');
    line
}

/// The view's protocol version while it is older than this build's: the
/// cluster runs two releases (an upgrade in progress).
fn speaks(version: u8) -> String {
    if version != 0 && version < crate::wire::PROTOCOL_VERSION {
        format!(
            ", speaking protocol version {version} (a node runs the previous release; this one speaks {})",
            crate::wire::PROTOCOL_VERSION
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{FenceView, fixtures};

    fn report(history: Vec<FenceView>) -> StatusReport {
        StatusReport {
            fencing_history: history,
            tickets: Vec::new(),
            ..fixtures::report(fixtures::membership(
                3,
                &[],
                &["node2"],
                fixtures::quorum(true, 1, 2, 1),
            ))
        }
    }

    #[test]
    fn the_witness_is_shown_with_what_etcd_last_said() {
        let mut r = report(Vec::new());
        assert!(!render(&r).contains("Witness"));
        r.membership.witness = Some(crate::membership::WitnessStatus {
            held: false,
            claiming: true,
            last: "held by another partition (node1)".into(),
        });
        assert!(
            render(&r)
                .contains("  Witness: vote NOT held here (held by another partition (node1))\n"),
            "{}",
            render(&r)
        );
    }

    fn view(result: &str, attempts: u32, source: &str) -> FenceView {
        FenceView {
            target: "node1".into(),
            action: "reboot".into(),
            device: if result == "ok" {
                "ipmi".into()
            } else {
                String::new()
            },
            result: result.into(),
            at: "2026-12-01 18:40:05Z".into(),
            completed: Some(1),
            delegate: (source == "cluster").then(|| "node2".to_string()),
            origin: (source == "cluster").then(|| "node2".to_string()),
            client: Some(
                if source == "cluster" {
                    "controller"
                } else {
                    "root@node2"
                }
                .into(),
            ),
            detail: if result == "ok" {
                "fenced at level 1"
            } else {
                "ipmi: timed out"
            }
            .into(),
            attempts,
            first_at: "2026-12-01 18:39:00Z".into(),
            elapsed_ms: None,
            source: source.into(),
        }
    }

    #[test]
    fn a_key_rotation_shows_its_keys_and_whom_it_waits_for() {
        let mut r = report(Vec::new());
        r.membership = fixtures::membership(
            3,
            &[
                (1, "node1", PeerState::Online),
                (2, "node2", PeerState::Online),
            ],
            &["node1", "node2"],
            fixtures::quorum(true, 2, 2, 2),
        );
        r.membership.keys = crate::wire::KeyStatus {
            sending: "00000000000000aa".into(),
            accepted: vec!["00000000000000aa".into(), "00000000000000bb".into()],
            step: "introducing".into(),
            waiting_for: vec![1],
        };
        let text = render(&r);
        assert!(
            text.contains(
                "Authkey: sending with 00000000000000aa, accepting 00000000000000aa, 00000000000000bb; rotation: the new key is sent with once every member accepts it (waiting for node1)"
            ),
            "{text}"
        );
    }

    /// Issue 19: each ticket's state here and, with `[site]`, etcd's.
    /// pgsql's data status is a permanent attribute (`crm_attribute -l
    /// forever`): crm_mon -A shows it, and so does the status now.
    #[test]
    fn node_attributes_show_permanent_ones_beside_transient_ones() {
        let mut r = report(Vec::new());
        assert!(!render(&r).contains("Node Attributes:"));
        let attrs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        r.permanent_attributes.insert(
            "node2".into(),
            attrs(&[("db-data-status", "STREAMING|SYNC"), ("rack", "a")]),
        );
        r.node_attributes.insert(
            "node2".into(),
            attrs(&[("master-db", "100"), ("rack", "b")]),
        );
        let text = render(&r);
        assert!(
            text.contains("Node Attributes:\n  * Node node2:\n"),
            "{text}"
        );
        assert!(
            text.contains("db-data-status                : STREAMING|SYNC (permanent)\n"),
            "{text}"
        );
        assert!(
            text.contains("master-db                     : 100\n"),
            "{text}"
        );
        assert!(
            text.contains("rack                          : b\n"),
            "the transient value wins: {text}"
        );
    }

    #[test]
    fn tickets_are_listed_with_what_etcd_says() {
        let mut r = report(Vec::new());
        assert!(!render(&r).contains("Tickets:"));
        r.tickets = vec![crate::api::TicketView {
            ticket: "primary".into(),
            granted: false,
            standby: false,
            last_granted: None,
            resources: vec!["db (stop)".into()],
            etcd: Some("held by site west".into()),
            counts_until: None,
        }];
        assert!(
            render(&r).contains(
                "Tickets:\n  * primary\trevoked\tneeded by: db (stop)\tetcd: held by site west\n"
            ),
            "{}",
            render(&r)
        );
    }

    #[test]
    fn the_fencing_history_reads_like_crm_mon() {
        let text = render(&report(vec![
            view("ok", 1, "cluster"),
            view("failed", 3, "cluster"),
            view("ok", 1, "local"),
        ]));
        let at = text.find("Fencing History:\n").expect(&text);
        let lines: Vec<&str> = text[at..].lines().skip(1).take(3).collect();
        assert_eq!(
            lines,
            [
                "  * reboot of node1 successful: delegate=node2, device=ipmi, client=controller, origin=node2, completed='2026-12-01 18:40:05Z'",
                "  * reboot of node1 failed 3 times: delegate=node2, client=controller, origin=node2, first-failed='2026-12-01 18:39:00Z', last-failed='2026-12-01 18:40:05Z' (ipmi: timed out)",
                "  * reboot of node1 successful: device=ipmi, client=root@node2, completed='2026-12-01 18:40:05Z', run by hand on this node, not through the cluster",
            ],
            "{text}"
        );
        assert!(!render(&report(Vec::new())).contains("Fencing History"));
    }

    #[test]
    fn the_json_report_carries_the_history_and_reads_an_older_daemons() {
        let r = report(vec![view("failed", 2, "cluster")]);
        let json = serde_json::to_value(&r).unwrap();
        let f = &json["fencing_history"][0];
        assert_eq!(f["result"], "failed");
        assert_eq!(f["attempts"], 2);
        assert_eq!(f["delegate"], "node2");
        assert_eq!(f["source"], "cluster");
        // A record as a daemon before the replicated history sent it.
        let old: FenceView = serde_json::from_str(
            r#"{"target":"node1","action":"off","device":"ipmi","result":"ok","at":"5 ms since the epoch"}"#,
        )
        .unwrap();
        assert_eq!((old.attempts, old.delegate), (1, None));
    }
}
