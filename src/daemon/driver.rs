//! The controller driver: feeds the local `Controller` (view, document,
//! action results, fence outcomes, ticks) and carries out its commands —
//! actions to the local executor or over the channel to their node, fencing
//! on a blocking thread, status records to the store, notices to the log.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use paceline_fencing::topology::FenceAction;

use super::attributes::Snapshot;
use super::cluster::StoreEffect;
use super::executor_service::{self, Finished};
use super::logging::{Fields, Priority};
use super::{Daemon, log, log_about};
use crate::api::Response;
use crate::controller::{
    ActionRequest, ActionResult, Command, FenceOutcome, FenceRequest, Input, Notice, PlanRequest,
    StatusPatch,
};
use crate::node::executor::result_recipients;
use crate::node::protocol::ClusterMessage;
use crate::wire::NodeId;

/// Request ids of `Request::Dispatch` (operator-sent actions).
pub use crate::node::executor::DISPATCH_ID_BASE;

/// A plan that takes longer than this is logged with its time.
const PLANNING_NOTED: std::time::Duration = std::time::Duration::from_millis(100);

/// A result's journal priority: a failed operation is a warning; a
/// monitor's "not running" (7) or "promoted" (8) is an answer, not a
/// failure, and a monitor that finds what it expects is routine (info).
fn result_priority(result: &ActionResult) -> Priority {
    let monitor = result.operation == "monitor";
    let answer = monitor && matches!(result.rc, 7 | 8);
    match (result.op_status == 0 && (result.rc == 0 || answer), monitor) {
        (false, _) => Priority::Warning,
        (true, true) => Priority::Info,
        (true, false) => Priority::Notice,
    }
}

pub fn wall_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Daemon {
    pub(super) fn node_id(&self, name: &str) -> Option<NodeId> {
        self.settings
            .nodes
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.id)
    }

    /// Feeds one input to the node core; what it asks for is carried out
    /// by `drain`.
    pub(super) fn controller_input(&mut self, input: Input) {
        let effects = self.store.input(self.now_ms(), input);
        self.effects.extend(effects);
    }

    /// The configuration changed: the executor, fencing and the HTTP
    /// endpoint read it.
    pub(super) fn on_config_changed(&mut self) {
        let version = self.store.doc().version;
        log(&format!(
            "configuration now at epoch {} (version {}.{}.{})",
            version.epoch, version.admin_epoch, version.epoch, version.num_updates
        ));
        if self
            .last_change
            .as_ref()
            .is_none_or(|c| c.epoch != version.epoch)
        {
            self.last_change = Some(crate::api::LastChange {
                at: wall_now(),
                epoch: version.epoch,
                by: None,
            });
        }
        self.fencing = match self.store.loaded() {
            Some(cluster) => cluster.fencing.clone(),
            // An operator's fence request is still served if `[fencing]`
            // itself reads.
            None => crate::config::load_fencing_str(
                &self.store.doc().config,
                "the cluster configuration",
            )
            .ok()
            .and_then(|f| f.section),
        };
        let config = self.store.loaded().map(|c| &c.model);
        self.executor.set_config(config);
        self.check_fencing_readiness();
        self.apply_http_section();
    }

    /// The model of the cluster's configuration (None: it does not load).
    pub(super) fn parsed_config(&self) -> Option<&crate::model::ClusterConfig> {
        self.store.loaded().map(|c| &c.model)
    }

    /// Carries out the controller's commands until none are left (carrying
    /// one out may feed the controller again).
    pub(super) async fn drain(&mut self) {
        while let Some(effect) = self.effects.pop_front() {
            let StoreEffect::Controller(command) = effect else {
                self.apply_effect(effect).await;
                continue;
            };
            match command {
                Command::Execute(req) => self.execute(req).await,
                // The node core sends another node's commands itself:
                // these are this node's.
                Command::CancelRecurring {
                    node,
                    instance,
                    interval_ms,
                } if node == self.own.name => self.executor.cancel(&instance, interval_ms),
                Command::RequestReport { node } if node == self.own.name => {
                    let origin = (self.own.id, self.encoder.incarnation());
                    let report = self.executor.report(origin);
                    self.controller_input(Input::NodeReport(report));
                }
                Command::CancelRecurring { node, .. } | Command::RequestReport { node } => {
                    log(&format!("controller: no configured node {node}"));
                }
                Command::Fence(req) => self.fence(req),
                Command::Plan(req) => self.plan(*req),
                Command::RecordStatus(patch) => self.record_status(patch).await,
                Command::Notice(notice) => log(&self.describe_controller(&notice)),
            }
        }
    }

    /// Plans on a blocking thread: the policy engine's time grows faster
    /// than the number of resources (9,000 held this loop 5 s, and the
    /// peer declared this node lost), and the loop must keep serving
    /// heartbeats meanwhile. The controller asks for one plan at a time
    /// and discards an answer made for inputs that changed since.
    fn plan(&mut self, request: PlanRequest) {
        let tx = self.planned_tx.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let planned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| request.run()));
            let took = started.elapsed();
            if took > PLANNING_NOTED {
                log(&format!(
                    "the policy engine took {took:?} (on a blocking thread; the event loop went on)"
                ));
            }
            let _ = tx.send(planned.map(Box::new).map_err(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                format!("the policy engine panicked: {what}")
            }));
        });
    }

    /// A plan came back from its thread. A policy engine that panicked
    /// stops the daemon, as it did when it ran on the loop: this DC can no
    /// longer plan, and a successor may.
    pub(super) fn on_planned(&mut self, outcome: super::event_loop::PlanOutcome) {
        match outcome {
            Ok(planned) => self.controller_input(Input::Planned(planned)),
            Err(why) => {
                log(&format!("FATAL: {why}"));
                self.fatal = Some(why);
            }
        }
    }

    /// Runs `req` here or sends it to its node.
    pub(super) async fn execute(&mut self, req: ActionRequest) {
        if req.node == self.own.name {
            let origin = (self.own.id, self.encoder.incarnation());
            if let Some(result) = self.executor.handle(origin, req) {
                self.deliver_result(result).await;
            }
        } else if let Some(to) = self.node_id(&req.node) {
            self.send_cluster(to, &ClusterMessage::ActionRequest(req))
                .await;
        } else {
            log(&format!(
                "action {} {} for unknown node {}",
                req.instance, req.operation, req.node
            ));
        }
    }

    /// An ActionRequest from the DC (or whoever dispatched it).
    pub(super) async fn on_action_request(
        &mut self,
        from: NodeId,
        incarnation: u64,
        req: ActionRequest,
    ) {
        if req.node != self.own.name {
            log(&format!(
                "ignoring action {} {} meant for {}, sent here by {}",
                req.instance,
                req.operation,
                req.node,
                self.settings.node_name(from)
            ));
            return;
        }
        if let Some(result) = self.executor.handle((from, incarnation), req) {
            self.send_result_to(from, result).await;
        }
    }

    pub(super) async fn on_exec_finished(&mut self, finished: Finished) {
        if !self.executor.on_finished(&finished) {
            return;
        }
        let took = std::time::Duration::from_millis(finished.result.exec_ms);
        self.counters.action(&finished.result.operation, took);
        self.alert_result(&finished.result, finished.from_monitor);
        // What the agent wrote through the shims before it exited reaches
        // the DC before its result (as attrd's updates do in Pacemaker): a
        // DC must not plan on the result with the attributes of before
        // (pgsql's probe resets its promotion score; planning on the old
        // score promoted, then demoted, a standby).
        if let Some(snapshot) = finished.attributes {
            self.apply_attributes(snapshot).await;
        }
        let (origin, _) = finished.origin;
        self.send_result_to(origin, finished.result).await;
    }

    /// Sends a result to the DC (`node::executor::result_recipients`,
    /// the simulator's rule too); to this node's own controller when it is
    /// the DC.
    async fn send_result_to(&mut self, to: NodeId, result: ActionResult) {
        let follows = self.executor.follows().map(|(id, _)| id);
        let recipients = result_recipients(&result, to, self.own.id, follows, self.store.dc());
        for dc in recipients {
            if dc == self.own.id {
                self.deliver_result(result.clone()).await;
            } else {
                self.send_cluster(dc, &ClusterMessage::ActionResult(result.clone()))
                    .await;
            }
        }
    }

    /// A result reached this node as the DC (or the dispatcher).
    pub(super) async fn deliver_result(&mut self, result: ActionResult) {
        let fields = Fields {
            node: Some(&result.node),
            resource: Some(&result.resource),
            operation: Some(&result.operation),
        };
        log_about(
            result_priority(&result),
            &fields,
            &format!(
                "result {} {} (interval {} ms) on {}: rc {} op-status {} in {} ms{}",
                result.instance,
                result.operation,
                result.interval_ms,
                result.node,
                result.rc,
                result.op_status,
                result.exec_ms,
                if result.output.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", result.output)
                }
            ),
        );
        if let Some((reply, _)) = self.dispatch_waiters.remove(&result.id) {
            let _ = reply.send(Response::ActionDone(Box::new(result.clone())));
        }
        if result.id < DISPATCH_ID_BASE {
            self.controller_input(Input::ActionResult(result));
        }
    }

    pub(super) async fn record_status(&mut self, patch: StatusPatch) {
        let effects = self.store.record_status(self.now_ms(), patch);
        self.apply_store(effects).await;
    }

    /// Attributes the agents wrote through the shims go to the DC, from a
    /// read of their file made off the loop (`daemon::attributes`); one
    /// older than what was applied is dropped.
    pub(super) async fn apply_attributes(&mut self, snapshot: Snapshot) {
        if !self.attributes_applied.take(&snapshot) {
            return;
        }
        for node in &snapshot.forgotten {
            self.attributes.remove(node);
        }
        // Agents may set attributes of other nodes too (`crm_attribute -N`).
        let now = snapshot.attributes;
        let empty = BTreeMap::new();
        let mut patches = Vec::new();
        let nodes: BTreeSet<&String> = now.keys().chain(self.attributes.keys()).collect();
        for node in nodes {
            patches.extend(executor_service::attribute_changes(
                node,
                self.attributes.get(node).unwrap_or(&empty),
                now.get(node).unwrap_or(&empty),
            ));
        }
        if patches.is_empty() {
            return;
        }
        let before = std::mem::replace(&mut self.attributes, now);
        let now = self.attributes.clone();
        self.alert_attributes(&before, &now);
        for patch in patches {
            self.record_status(patch).await;
        }
    }

    /// Nodes the status shows fenced or gone cleanly since the last look
    /// (a member before, not now: `StatusPatch::NodeFenced` and
    /// `NodeLeftCleanly` erased their transient attributes): what this
    /// node's agents set for them leaves the attribute file too (off the
    /// loop), as attrd forgets a lost peer's values. Otherwise pgsql's
    /// primary, asking for its standby's promotion score after the
    /// standby's fence, found its own old write in the file and never set
    /// it again: the standby stayed unpromotable (bench/chaos --stack
    /// pgsql, seed 7, fault 43).
    pub(super) fn forget_erased_attributes(&mut self) {
        let mut gone = Vec::new();
        for (name, st) in &self.store.doc().status.nodes {
            let member = st.in_ccm == Some(true);
            let before = self.status_members.insert(name.clone(), member);
            if before == Some(true) && !member && *name != self.own.name {
                gone.push(name.clone());
            }
        }
        let Some(reader) = self.executor.attribute_reader() else {
            return;
        };
        if gone.is_empty() {
            return;
        }
        log(&format!(
            "forgetting what this node's agents set for {} (fenced or gone: the status erased its transient attributes)",
            gone.join(", ")
        ));
        let to_loop = self.attributes_tx.clone();
        tokio::task::spawn_blocking(move || match reader.forget(&gone) {
            Ok(snapshot) => {
                let _ = to_loop.send(snapshot);
            }
            Err(e) => log(&format!(
                "cannot forget the attributes of {}: {e}",
                gone.join(", ")
            )),
        });
    }

    /// Runs `monitor` on every node's first fencing level in the background
    /// and tells the controller (`Input::FencingReady`); while a level
    /// fails, checks again every 5 s. A config change replaces the check.
    pub(super) fn check_fencing_readiness(&mut self) {
        self.readiness_generation += 1;
        let generation = self.readiness_generation;
        let enabled = self
            .parsed_config()
            .is_some_and(|c| c.properties.stonith_enabled);
        let (Some(section), true) = (self.fencing.clone(), enabled) else {
            self.readiness_poller.stop();
            self.controller_input(Input::FencingReady {
                ready: true,
                blockers: Vec::new(),
            });
            return;
        };
        let nodes: Vec<String> = self.settings.nodes.iter().map(|n| n.name.clone()).collect();
        let check = move || match paceline_fencing::service::fencing_readiness(&section, &nodes)
            .verdict()
        {
            Ok(()) => (true, Vec::new()),
            Err(b) => (false, b.iter().map(|b| b.to_string()).collect()),
        };
        self.readiness_poller.replace(
            generation,
            super::readiness::RECHECK_INTERVAL,
            check,
            self.readiness_tx.clone(),
        );
    }

    pub(super) fn on_readiness(&mut self, generation: u64, ready: bool, blockers: Vec<String>) {
        if generation != self.readiness_generation {
            return;
        }
        if ready {
            log("fencing ready: every node's first fencing level passed a monitor");
        } else {
            log(&format!(
                "fencing not ready, no resource starts until it is: {}",
                blockers.join("; ")
            ));
        }
        self.fencing_ready = Some(ready);
        self.fencing_blockers = blockers.clone();
        self.controller_input(Input::FencingReady { ready, blockers });
    }

    pub(super) fn fence(&mut self, req: FenceRequest) {
        let fields = Fields {
            node: Some(&req.target),
            operation: Some("fence"),
            ..Fields::default()
        };
        log_about(
            Priority::Warning,
            &fields,
            &format!("fencing {} ({})", req.target, req.action),
        );
        // A user's `paceline fence NODE` waits for this target.
        let client = if self.fence_waiters.contains_key(&req.target) {
            "pacelined"
        } else {
            "controller"
        };
        self.fencing_now.insert(
            req.target.clone(),
            crate::api::PendingFenceView {
                target: req.target.clone(),
                action: req.action.clone(),
                client: client.into(),
                delegate: self.own.name.clone(),
                since: crate::api::utc_seconds(wall_now()),
            },
        );
        let Some(section) = self.fencing.clone() else {
            let outcome = FenceOutcome {
                target: req.target.clone(),
                ok: false,
                detail: "no usable [fencing] section in the configuration".into(),
                at: wall_now(),
                action: req.action.clone(),
                devices: Vec::new(),
            };
            let _ = self.fence_tx.send(outcome);
            return;
        };
        let action = match req.action.as_str() {
            "off" => FenceAction::Off,
            "on" => FenceAction::On,
            "reboot" => FenceAction::Reboot,
            // Not given: the configured `[fencing] action`.
            _ if section.action == "off" => FenceAction::Off,
            _ => FenceAction::Reboot,
        };
        let job = paceline_fencing::service::FenceJob {
            target: req.target.clone(),
            action,
            requester: format!("pacelined@{}", self.own.name),
            history: self.fence_history_path(),
            no_delay: false,
            target_has_priority: req.target_has_priority,
        };
        let tx = self.fence_tx.clone();
        tokio::task::spawn_blocking(move || {
            let mut steps = Vec::new();
            let ran = paceline_fencing::service::fence_with_topology(&section, &job, &mut |l| {
                steps.push(l)
            });
            let (ok, detail, devices) = match ran {
                Ok(o) => (
                    true,
                    format!("fenced at level {}", o.level),
                    section
                        .levels_for(&job.target)
                        .into_iter()
                        .find(|l| l.index == o.level)
                        .map(|l| l.devices)
                        .unwrap_or_default(),
                ),
                Err(e) => (false, e.to_string(), Vec::new()),
            };
            for step in steps {
                log(&format!("fencing {}: {step}", job.target));
            }
            let _ = tx.send(FenceOutcome {
                target: job.target.clone(),
                ok,
                detail,
                at: wall_now(),
                action: job.action.as_str().to_string(),
                devices,
            });
        });
    }

    pub(super) fn fence_history_path(&self) -> std::path::PathBuf {
        paceline_fencing::history::default_history_path(&self.settings.state_dir)
    }

    pub(super) fn on_fence_outcome(&mut self, outcome: FenceOutcome) {
        self.fencing_now.remove(&outcome.target);
        // Its alert comes from the replicated history, as on every node
        // (`alert_fence_history`).
        self.counters.fence(&outcome.action, outcome.ok);
        let fields = Fields {
            node: Some(&outcome.target),
            operation: Some("fence"),
            ..Fields::default()
        };
        log_about(
            if outcome.ok {
                Priority::Notice
            } else {
                Priority::Error
            },
            &fields,
            &format!(
                "fencing of {} {}: {}",
                outcome.target,
                if outcome.ok { "succeeded" } else { "FAILED" },
                outcome.detail
            ),
        );
        for reply in self
            .fence_waiters
            .remove(&outcome.target)
            .unwrap_or_default()
        {
            let _ = reply.send(Response::Fenced(Box::new(outcome.clone())));
        }
        self.controller_input(Input::FenceOutcome(outcome));
    }

    fn describe_controller(&self, notice: &Notice) -> String {
        match notice {
            Notice::BecameDc => "controller: this node is the DC".into(),
            Notice::NodeLost(n) => format!("controller: node {n} lost"),
            Notice::FenceRequested(n) => format!("controller: fencing of {n} requested"),
            Notice::FenceConfirmed(n) => format!("controller: fencing of {n} confirmed"),
            Notice::FenceFailed { target, detail } => {
                format!("controller: fencing of {target} failed: {detail}")
            }
            Notice::Dispatched(r) => format!(
                "controller: dispatched {} {} (interval {} ms) to {}",
                r.instance, r.operation, r.interval_ms, r.node
            ),
            Notice::Completed(r) => format!(
                "controller: {} {} on {} completed with rc {}",
                r.instance, r.operation, r.node, r.rc
            ),
            Notice::TransitionStarted { id, steps, changes } => {
                let mut line = format!("controller: transition {id} started ({steps} steps)");
                for c in changes {
                    line.push_str("\n  plan: ");
                    line.push_str(c);
                }
                line
            }
            Notice::TransitionComplete { id } => format!("controller: transition {id} complete"),
            Notice::TransitionAborted { id, why } => {
                format!("controller: transition {id} aborted: {why}")
            }
            Notice::Blocked { why } => format!("controller: blocked: {why}"),
            Notice::NodeReported {
                node,
                results,
                pending,
            } => format!(
                "controller: {node} reported {results} results and {pending} pending operations"
            ),
            Notice::NoReport { node, waited_ms } => format!(
                "controller: no report from {node} within {waited_ms} ms; probing its resources"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(operation: &str, rc: i32, op_status: i32) -> ActionResult {
        ActionResult {
            id: 1,
            node: "node1".into(),
            resource: "db".into(),
            instance: "db".into(),
            operation: operation.into(),
            interval_ms: 0,
            rc,
            op_status,
            output: String::new(),
            at: 0,
            exec_ms: 1,
        }
    }

    #[test]
    fn failed_operations_are_warnings_and_a_probes_answer_is_not() {
        assert_eq!(result_priority(&result("start", 0, 0)), Priority::Notice);
        assert_eq!(result_priority(&result("monitor", 7, 0)), Priority::Info);
        assert_eq!(result_priority(&result("monitor", 8, 0)), Priority::Info);
        assert_eq!(result_priority(&result("monitor", 1, 0)), Priority::Warning);
        assert_eq!(result_priority(&result("start", 1, 0)), Priority::Warning);
        assert_eq!(result_priority(&result("stop", 0, 2)), Priority::Warning);
        assert_eq!(result_priority(&result("start", 7, 0)), Priority::Warning);
    }
}
