//! `/metrics`: Prometheus' text exposition format (version 0.0.4). Metrics
//! that mean what ha_cluster_exporter's mean carry its names and labels
//! (`ha_cluster_pacemaker_*`, `ha_cluster_corosync_*`), so its dashboards
//! and alert rules work; paceline's own are `paceline_*`. Rendered on the
//! HTTP thread from a snapshot; the event loop only counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::snapshot::Snapshot;
use crate::membership::PeerState;

/// Upper bounds (seconds) of the action latency buckets.
const ACTION_BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Upper bounds (seconds) of the failover duration buckets.
const FAILOVER_BUCKETS: [f64; 12] = [
    1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

/// Operations kept apart in the action histogram; others count as `other`
/// (a label's values stay bounded whatever agents are asked).
const OPERATIONS: [&str; 8] = [
    "start",
    "stop",
    "monitor",
    "promote",
    "demote",
    "notify",
    "migrate_to",
    "migrate_from",
];

/// A cumulative histogram with fixed buckets.
#[derive(Debug, Clone, Default, PartialEq)]
pub(in crate::daemon) struct Histogram {
    /// Observations at or below each bound (not yet cumulative).
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], seconds: f64) {
        if self.counts.len() != bounds.len() {
            self.counts = vec![0; bounds.len()];
        }
        if let Some(i) = bounds.iter().position(|b| seconds <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// What the event loop counts for the metrics (cloned into each snapshot).
#[derive(Debug, Clone, Default, PartialEq)]
pub(in crate::daemon) struct Counters {
    pub view_changes: u64,
    /// Agents' actions run on this node, by operation.
    pub actions: BTreeMap<&'static str, Histogram>,
    /// From a node's loss to its resources running again (seen here).
    pub failovers: Histogram,
    /// Fencing outcomes this node saw, by (action, result).
    pub fences: BTreeMap<(String, &'static str), u64>,
    /// Alert agents run, by result (ok, failed, timeout).
    pub alerts: BTreeMap<&'static str, u64>,
}

impl Counters {
    pub fn action(&mut self, operation: &str, took: Duration) {
        let op = OPERATIONS
            .iter()
            .find(|o| **o == operation)
            .copied()
            .unwrap_or("other");
        let h = self.actions.entry(op).or_default();
        h.observe(&ACTION_BUCKETS, took.as_secs_f64());
    }

    pub fn failover(&mut self, took: Duration) {
        self.failovers
            .observe(&FAILOVER_BUCKETS, took.as_secs_f64());
    }

    pub fn fence(&mut self, action: &str, ok: bool) {
        let action = match action {
            "off" | "on" | "reboot" => action,
            _ => "other",
        };
        let key = (action.to_string(), if ok { "ok" } else { "failed" });
        *self.fences.entry(key).or_default() += 1;
    }
}

/// Writes one metric family: its HELP and TYPE, then its samples.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out, name }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.sample_named("", labels, value);
    }

    fn sample_named(
        &mut self,
        suffix: &str,
        labels: &[(&str, &str)],
        value: impl std::fmt::Display,
    ) {
        let _ = write!(self.out, "{}{suffix}", self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    fn histogram(&mut self, labels: &[(&str, &str)], bounds: &[f64], h: &Histogram) {
        let mut cumulative = 0;
        for (i, bound) in bounds.iter().enumerate() {
            cumulative += h.counts.get(i).copied().unwrap_or(0);
            let le = bound.to_string();
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample_named("_bucket", &with_le, cumulative);
        }
        let mut with_le = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample_named("_bucket", &with_le, h.count);
        self.sample_named("_sum", labels, h.sum);
        self.sample_named("_count", labels, h.count);
    }
}

/// A label value as the exposition format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// What the exposition is made of.
struct View<'a> {
    report: crate::api::StatusReport,
    facts: &'a super::snapshot::Facts,
    counters: &'a Counters,
}

/// The whole exposition.
pub(in crate::daemon) fn render(snapshot: &Snapshot) -> String {
    let s = &View {
        report: snapshot.report(),
        facts: &snapshot.computed().facts,
        counters: &snapshot.counters,
    };
    let mut out = String::new();
    pacemaker_nodes(&mut out, s);
    pacemaker_resources(&mut out, s);
    pacemaker_config(&mut out, s);
    corosync(&mut out, s);
    paceline_own(&mut out, s);
    out
}

fn pacemaker_nodes(out: &mut String, s: &View) {
    let r = &s.report;
    let mut f = Family::new(
        out,
        "ha_cluster_pacemaker_nodes",
        "gauge",
        "The status of each node in the cluster (1 means the node is in the status of the label).",
    );
    for n in &r.membership.nodes {
        let statuses = [
            ("online", n.state == PeerState::Online),
            ("standby", r.standby.contains(&n.name)),
            ("maintenance", r.maintenance.contains(&n.name)),
            ("shutdown", n.state == PeerState::Left),
            ("dc", r.dc.as_deref() == Some(n.name.as_str())),
        ];
        for (status, on) in statuses {
            f.sample(
                &[("node", &n.name), ("status", status), ("type", "member")],
                flag(on),
            );
        }
    }
    let mut f = Family::new(
        out,
        "ha_cluster_pacemaker_node_attributes",
        "gauge",
        "The nodes' transient attributes (the value is in the labels; always 1).",
    );
    for (node, attrs) in &r.node_attributes {
        for (name, value) in attrs {
            f.sample(&[("node", node), ("name", name), ("value", value)], 1);
        }
    }
}

fn pacemaker_resources(out: &mut String, s: &View) {
    let r = &s.report;
    let mut f = Family::new(
        out,
        "ha_cluster_pacemaker_resources",
        "gauge",
        "The resources and the role they have on each node (1 per line).",
    );
    for v in &r.resources {
        let (clone, group) = s.facts.parents.get(&v.id).cloned().unwrap_or_default();
        let managed = s
            .facts
            .managed
            .get(&v.id)
            .copied()
            .unwrap_or(true)
            .to_string();
        let role = v.role.to_lowercase();
        // A failure recovered from in place is history, not the state.
        let failed = r
            .failed_actions
            .iter()
            .any(|a| a.resource == v.id && !a.recovered);
        let status = if failed { "failed" } else { "active" };
        for node in &v.nodes {
            let labels = [
                ("agent", v.agent.as_str()),
                ("clone", clone.as_str()),
                ("group", group.as_str()),
                ("managed", managed.as_str()),
                ("node", node.as_str()),
                ("resource", v.id.as_str()),
                ("role", role.as_str()),
                ("status", status),
            ];
            f.sample(&labels, 1);
        }
    }
    // ha_cluster_exporter's `ha_cluster_pacemaker_fail_count`: promtool's
    // lint keeps the `_count` suffix for histograms and summaries.
    let mut f = Family::new(
        out,
        "ha_cluster_pacemaker_failcount",
        "gauge",
        "The fail count of a resource on a node.",
    );
    for ((node, resource), count) in &s.facts.fail_counts {
        f.sample(&[("node", node), ("resource", resource)], count);
    }
    let mut f = Family::new(
        out,
        "ha_cluster_pacemaker_migration_threshold",
        "gauge",
        "The migration threshold of a resource on a node (1000000 is INFINITY).",
    );
    for (resource, threshold) in &s.facts.migration_threshold {
        for node in s.facts.votes.keys() {
            f.sample(&[("node", node), ("resource", resource)], threshold);
        }
    }
}

fn pacemaker_config(out: &mut String, s: &View) {
    let mut f = Family::new(
        out,
        "ha_cluster_pacemaker_stonith_enabled",
        "gauge",
        "Whether fencing is enabled (1) or not (0).",
    );
    f.sample(&[], flag(s.facts.stonith_enabled));
    let mut f = Family::new(
        out,
        "ha_cluster_pacemaker_location_constraints",
        "gauge",
        "The score of the location constraints that resource move and ban left.",
    );
    for c in &s.report.cli_constraints {
        let score = match c.score.as_str() {
            "INFINITY" | "+INFINITY" => "1000000".to_string(),
            "-INFINITY" => "-1000000".to_string(),
            other => other.to_string(),
        };
        if score.parse::<i64>().is_ok() {
            let labels = [
                ("constraint", c.id.as_str()),
                ("node", c.node.as_str()),
                ("resource", c.resource.as_str()),
                ("role", ""),
            ];
            f.sample(&labels, score);
        }
    }
}

fn corosync(out: &mut String, s: &View) {
    let m = &s.report.membership;
    let mut f = Family::new(
        out,
        "ha_cluster_corosync_quorate",
        "gauge",
        "Whether this node's partition is quorate (1) or not (0).",
    );
    f.sample(&[], flag(m.quorum.quorate));
    let mut f = Family::new(
        out,
        "ha_cluster_corosync_quorum_votes",
        "gauge",
        "Cluster quorum votes; one line per type.",
    );
    f.sample(&[("type", "expected_votes")], m.quorum.expected_votes);
    f.sample(&[("type", "highest_expected")], m.quorum.expected_votes);
    f.sample(&[("type", "total_votes")], m.quorum.total_votes);
    f.sample(&[("type", "quorum")], m.quorum.quorum);
    let mut f = Family::new(
        out,
        "ha_cluster_corosync_member_votes",
        "gauge",
        "The votes each member of this node's view contributes.",
    );
    for name in &m.members {
        let (id, votes) = s.facts.votes.get(name).copied().unwrap_or((0, 0));
        let id = id.to_string();
        let local = (name == &m.node).to_string();
        f.sample(
            &[("node_id", &id), ("node", name), ("local", &local)],
            votes,
        );
    }
    let mut f = Family::new(
        out,
        "ha_cluster_corosync_ring_errors",
        "gauge",
        "The number of this node's links that are down towards some online peer.",
    );
    let links = m.nodes.iter().map(|n| n.links.len()).max().unwrap_or(0);
    let faulty = (0..links)
        .filter(|&i| {
            m.nodes.iter().any(|n| {
                n.state == PeerState::Online && n.links.get(i).is_some_and(|l| l == "down")
            })
        })
        .count();
    f.sample(&[], faulty);
    let mut f = Family::new(
        out,
        "paceline_link_up",
        "gauge",
        "Whether a link to a peer is up (1) or down (0).",
    );
    for n in m.nodes.iter().filter(|n| !n.local) {
        for (i, l) in n.links.iter().enumerate() {
            let link = i.to_string();
            f.sample(&[("peer", &n.name), ("link", &link)], flag(l == "up"));
        }
    }
}

fn paceline_own(out: &mut String, s: &View) {
    let m = &s.report.membership;
    let c = &s.counters;
    let mut f = Family::new(
        out,
        "paceline_view_id",
        "gauge",
        "The id of the membership view this node is in.",
    );
    f.sample(&[], m.view_id);
    let mut f = Family::new(
        out,
        "paceline_view_changes_total",
        "counter",
        "Membership views installed on this node since it started.",
    );
    f.sample(&[], c.view_changes);
    let mut f = Family::new(
        out,
        "paceline_packets_dropped_total",
        "counter",
        "Datagrams this node dropped, by cause.",
    );
    let w = &m.wire;
    for (cause, n) in [
        ("malformed", w.malformed),
        ("other_cluster", w.other_cluster),
        ("incompatible_version", w.incompatible_version),
        ("forged", w.forged),
        ("replayed", w.replayed),
    ] {
        f.sample(&[("cause", cause)], n);
    }
    let mut f = Family::new(
        out,
        "paceline_packets_accepted_total",
        "counter",
        "Authentic, fresh datagrams this node accepted.",
    );
    f.sample(&[], w.accepted);
    let mut f = Family::new(
        out,
        "paceline_action_duration_seconds",
        "histogram",
        "How long the agents' actions run on this node took, by operation.",
    );
    for (op, h) in &c.actions {
        f.histogram(&[("operation", op)], &ACTION_BUCKETS, h);
    }
    let mut f = Family::new(
        out,
        "paceline_failover_duration_seconds",
        "histogram",
        "From a node's loss to every resource it ran being active again, as this node saw it.",
    );
    f.histogram(&[], &FAILOVER_BUCKETS, &c.failovers);
    let mut f = Family::new(
        out,
        "paceline_fence_operations_total",
        "counter",
        "Fencing outcomes this node saw, by action and result.",
    );
    for ((action, result), n) in &c.fences {
        f.sample(&[("action", action), ("result", result)], n);
    }
    let mut f = Family::new(
        out,
        "paceline_alerts_total",
        "counter",
        "Alert agents run by this node, by result.",
    );
    for (result, n) in &c.alerts {
        f.sample(&[("result", result)], n);
    }
    let mut f = Family::new(
        out,
        "paceline_warnings",
        "gauge",
        "How many warnings paceline status shows on this node.",
    );
    f.sample(&[], m.warnings.len());
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::snapshot::{Computed, Facts, Inputs, Snapshot};
    use crate::daemon::report::Derived;

    /// promtool's lint: a gauge or counter named like a histogram's series
    /// (`_count`, `_sum`, `_bucket`) or a gauge ending in `_total` is a
    /// problem; every family with samples here must pass it.
    #[test]
    fn no_gauge_or_counter_takes_a_reserved_suffix() {
        let report = serde_json::json!({
            "cluster": "c", "node": "n1", "node_id": 1, "view_id": 1, "members": ["n1"],
            "nodes": [], "incompatible": [], "pauses": 0,
            "quorum": {"quorate": true, "total_votes": 1, "expected_votes": 1, "quorum": 1,
                       "waiting_for_all": false, "unblocked": null, "reason": ""},
            "wire": {"accepted": 0, "malformed": 0, "other_cluster": 0,
                     "incompatible_version": 0, "forged": 0, "replayed": 0}
        });
        let facts = Facts {
            fail_counts: [(("n1".to_string(), "db".to_string()), 3)].into(),
            migration_threshold: [("db".to_string(), 3)].into(),
            votes: [("n1".to_string(), (1, 1))].into(),
            ..Facts::default()
        };
        let mut counters = super::Counters::default();
        counters.action("start", std::time::Duration::from_millis(30));
        counters.fence("reboot", true);
        counters.failover(std::time::Duration::from_secs(4));
        counters.alerts.insert("ok", 1);
        let snapshot = Snapshot {
            taken: std::time::Instant::now(),
            base: serde_json::from_value(report).unwrap(),
            inputs: Arc::new(Inputs::made(Computed {
                derived: Derived::default(),
                names: Default::default(),
                facts,
            })),
            counters,
        };
        let text = super::render(&snapshot);
        assert!(
            text.contains("ha_cluster_pacemaker_failcount{node=\"n1\",resource=\"db\"} 3"),
            "{text}"
        );
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let mut words = line.split(' ').skip(2);
            let (name, kind) = (words.next().unwrap(), words.next().unwrap());
            if kind == "histogram" {
                continue;
            }
            for suffix in ["_count", "_sum", "_bucket"] {
                assert!(!name.ends_with(suffix), "{line}");
            }
            assert_eq!(name.ends_with("_total"), kind == "counter", "{line}");
        }
    }
}
