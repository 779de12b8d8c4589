//! The event loop's side: what it counts for the metrics, and the snapshot
//! it publishes every `PUBLISH_EVERY` while HTTP is on.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::snapshot::{self, Snapshot};
use crate::daemon::{Daemon, report};

/// A lost node's resources are given this long to be active elsewhere;
/// past it the failover is not measured (nothing could take them).
const FAILOVER_GIVE_UP: Duration = Duration::from_secs(600);

/// The resources of a lost node that must become active elsewhere.
#[derive(Debug, Clone)]
pub(in crate::daemon) struct PendingFailover {
    lost_at: Instant,
    node: String,
    /// (primitive, role) that ran on the lost node and can run on one node
    /// only: primitives outside clones, and promoted instances.
    waiting: BTreeSet<(String, String)>,
}

impl Daemon {
    /// A node was lost: its unique resources' failover is measured from now.
    pub(in crate::daemon) fn on_node_lost_for_metrics(&mut self, node: String) {
        if self.http.is_none() {
            return;
        }
        let Some(config) = self.parsed_config() else {
            return;
        };
        let facts = snapshot::facts(Some(config), &self.store.doc().status, &self.settings);
        let waiting: BTreeSet<(String, String)> =
            report::resources(config, &self.store.doc().status)
                .into_iter()
                .filter(|r| r.nodes.contains(&node))
                .filter(|r| {
                    let in_clone = facts.parents.get(&r.id).is_some_and(|(c, _)| !c.is_empty());
                    r.role == "Promoted" || (!in_clone && r.role == "Started")
                })
                .map(|r| (r.id, r.role))
                .collect();
        if !waiting.is_empty() {
            self.failovers.push(PendingFailover {
                lost_at: Instant::now(),
                node,
                waiting,
            });
        }
    }

    /// Publishes a new snapshot when one is due.
    pub(in crate::daemon) fn publish_http(&mut self) {
        let now = Instant::now();
        if !self.http.as_ref().is_some_and(|p| p.due(now)) {
            return;
        }
        let report = self.report();
        self.settle_failovers(&report, now);
        let config = self.parsed_config();
        let snapshot = Snapshot {
            taken: now,
            names: config.map(snapshot::names).unwrap_or_default(),
            facts: snapshot::facts(config, &self.store.doc().status, &self.settings),
            counters: self.counters_now(),
            report,
        };
        if let Some(publisher) = self.http.as_mut() {
            publisher.publish(snapshot);
        }
    }

    /// The counters, with the alert agents' tally.
    fn counters_now(&self) -> super::metrics::Counters {
        use std::sync::atomic::Ordering::Relaxed;
        let mut counters = self.counters.clone();
        if let Some(alerts) = &self.alerts {
            let t = &alerts.tally;
            for (result, n) in [
                ("ok", &t.ok),
                ("failed", &t.failed),
                ("timeout", &t.timeout),
                ("dropped", &t.dropped),
            ] {
                counters.alerts.insert(result, n.load(Relaxed));
            }
        }
        counters
    }

    /// Observes the failovers whose resources are all active elsewhere now.
    fn settle_failovers(&mut self, report: &crate::api::StatusReport, now: Instant) {
        let mut done = Vec::new();
        self.failovers.retain(|f| {
            let elsewhere = f.waiting.iter().all(|(id, role)| {
                report
                    .resources
                    .iter()
                    .any(|r| &r.id == id && &r.role == role && r.nodes.iter().any(|n| *n != f.node))
            });
            let took = now.duration_since(f.lost_at);
            if elsewhere {
                done.push(took);
            }
            !elsewhere && took < FAILOVER_GIVE_UP
        });
        for took in done {
            super::super::log(&format!(
                "failover measured: {took:?} from the node's loss to its resources active elsewhere"
            ));
            self.counters.failover(took);
        }
    }
}
