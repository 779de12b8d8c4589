//! The event loop's side: what it counts for the metrics, and the snapshot
//! it publishes every `PUBLISH_EVERY` while HTTP is on.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::snapshot::{self, Inputs, Snapshot};
use crate::daemon::{Daemon, log, report};

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
    /// A node was lost: its unique resources' failover is measured from
    /// now (only the lost node's resources are looked at).
    pub(in crate::daemon) fn on_node_lost_for_metrics(&mut self, node: String) {
        if self.http.is_none() {
            return;
        }
        let Some(config) = self.parsed_config() else {
            return;
        };
        let status = &self.store.doc().status;
        let ids: BTreeSet<String> = status
            .nodes
            .get(&node)
            .into_iter()
            .flat_map(|n| n.resources.iter())
            .map(|h| h.id.split(':').next().unwrap_or(&h.id).to_string())
            .collect();
        let in_clone: BTreeSet<String> = snapshot::names(config)
            .into_iter()
            .filter(|(name, members)| members.len() > 1 || !members.contains(name))
            .flat_map(|(_, members)| members)
            .collect();
        let waiting: BTreeSet<(String, String)> = report::resources_named(config, status, &ids)
            .into_iter()
            .filter(|r| r.nodes.contains(&node))
            .filter(|r| r.role == "Promoted" || (r.role == "Started" && !in_clone.contains(&r.id)))
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

    /// The cluster configuration's `[http]`, applied when it differs from
    /// what this node serves (a `configure load` changed it, or the
    /// cluster's differs from this node's file): the endpoint's publisher
    /// is dropped, which ends its thread, and `http::restart` serves the
    /// new section once that thread is gone. Nothing waits on the loop.
    pub(in crate::daemon) fn apply_http_section(&mut self) {
        let Some(wanted) = self
            .store
            .loaded()
            .and_then(|c| c.runtime.as_ref())
            .map(|r| r.http.clone())
        else {
            return;
        };
        if wanted == self.settings.http {
            return;
        }
        log(&format!(
            "[http] changed: now serving {}",
            wanted
                .as_ref()
                .map_or("nothing".to_string(), |h| format!("{:?}", h.listen))
        ));
        self.settings.http = wanted.clone();
        self.http = None;
        let snapshots = wanted.as_ref().map(|_| {
            let (publisher, snapshots) = snapshot::Publisher::new();
            self.http = Some(publisher);
            snapshots
        });
        let old = self.http_thread.take();
        match super::restart(wanted, snapshots, old, self.http_failed.clone()) {
            Ok(thread) => self.http_thread = Some(thread),
            Err(e) => log(&format!("ERROR: cannot start the HTTP thread: {e}")),
        }
    }

    /// Publishes a new snapshot when one is due. What the event loop does
    /// here is bounded by the membership's size, not the resources': the
    /// replicated status is copied once per document version and the
    /// configuration once per configuration; the rest is made on the
    /// HTTP thread.
    pub(in crate::daemon) fn publish_http(&mut self) {
        let now = Instant::now();
        let Some(mut publisher) = self.http.take() else {
            return;
        };
        if publisher.due(now) {
            let inputs = self.http_inputs(&mut publisher);
            self.settle_failovers(now);
            let snapshot = Snapshot {
                taken: now,
                base: self.report_with(report::Derived::default()),
                inputs,
                counters: self.counters_now(),
            };
            publisher.publish(snapshot);
        }
        self.http = Some(publisher);
    }

    /// The inputs of the document's version (the last ones when it did not change).
    fn http_inputs(&self, p: &mut snapshot::Publisher) -> Arc<Inputs> {
        let version = self.store.doc().version;
        if let Some((v, inputs)) = &p.inputs
            && *v == version
        {
            return inputs.clone();
        }
        let key = (version.admin_epoch, version.epoch);
        let loads = self.parsed_config().is_some();
        let config = match &p.config {
            Some((k, c)) if *k == key && c.is_some() == loads => c.clone(),
            _ => {
                let c = self.parsed_config().cloned().map(Arc::new);
                p.config = Some((key, c.clone()));
                c
            }
        };
        let status = self.store.doc().status.clone();
        let inputs = Arc::new(Inputs::new(
            config,
            status,
            self.fence_history_path(),
            &self.settings,
        ));
        p.inputs = Some((version, inputs.clone()));
        inputs
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
    fn settle_failovers(&mut self, now: Instant) {
        if self.failovers.is_empty() {
            return;
        }
        let Some(config) = self.store.loaded().map(|c| &c.model) else {
            return;
        };
        let status = &self.store.doc().status;
        let mut done = Vec::new();
        self.failovers.retain(|f| {
            let ids: BTreeSet<String> = f.waiting.iter().map(|(id, _)| id.clone()).collect();
            let views = report::resources_named(config, status, &ids);
            let elsewhere = f.waiting.iter().all(|(id, role)| {
                views
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
            crate::daemon::log(&format!(
                "failover measured: {took:?} from the node's loss to its resources active elsewhere"
            ));
            self.counters.failover(took);
        }
    }
}
