//! The executor service: runs the `ActionRequest`s sent to this node through
//! `src/executor` on blocking threads (at most `node-action-limit` at once),
//! answers a repeated request id with the cached result, keeps recurring
//! monitors running and reports only their changes of rc.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, mpsc};

use super::attributes::{AttributeReader, Snapshot};
use crate::controller::{ActionRequest, ActionResult, NodeReport};
use crate::executor::agent_env;
use crate::executor::monitor::RecurringMonitor;
use crate::executor::ocf::{self, OcfAction, OcfRunner};
use crate::node::executor::{Admission, Intake};
use crate::wire::NodeId;

/// Who sent a request: results are cached per sender incarnation, because
/// request ids are unique only per DC incarnation.
pub type Origin = (NodeId, u64);

/// A result on its way back, with the request's origin.
#[derive(Debug, Clone)]
pub struct Finished {
    pub origin: Origin,
    pub result: ActionResult,
    /// A change reported by a running recurring monitor (not cached).
    pub from_monitor: bool,
    /// The agents' attribute file as read on the agent's thread after it
    /// exited (None when no agent ran or there is no file): what it wrote
    /// reaches the DC before its result, and the loop reads no file.
    pub attributes: Option<Snapshot>,
}

enum MonitorState {
    /// The first run of the recurring monitor is going on.
    Starting(u64),
    /// Running, started by request `id`.
    Running(u64, RecurringMonitor),
}

pub struct ExecutorService {
    node_name: String,
    runner: Arc<OcfRunner>,
    limit: Arc<Semaphore>,
    /// The cluster's configuration as loaded (its primitives are what
    /// this node can run); `None` while it does not load.
    config: Option<crate::model::ClusterConfig>,
    /// Meta attributes agents of cloned primitives get (clone-max,
    /// promoted-max, notify…), by primitive id.
    clone_meta: BTreeMap<String, BTreeMap<String, String>>,
    /// Primitives a configuration change removed, as last configured: a
    /// removed resource that still runs is an orphan the DC stops (and
    /// probes), and its agent must still be known for that, as Pacemaker's
    /// executor keeps a resource's agent registered. At most
    /// `REMOVED_MAX`; gone when a configuration has them again, and lost
    /// with the daemon (the status does not carry agents).
    removed: BTreeMap<String, (crate::model::Primitive, Option<BTreeMap<String, String>>)>,
    results: mpsc::UnboundedSender<Finished>,
    /// Reads the agents' attribute file off the loop (`daemon::attributes`).
    attributes: Option<Arc<AttributeReader>>,
    /// Requests launched and not yet finished.
    running: BTreeMap<(Origin, u64), ActionRequest>,
    monitors: BTreeMap<(String, u64), MonitorState>,
    /// Each request once, one resource's at a time, from the DC this node
    /// follows; what it did for the DC's report (`node::executor`, the
    /// simulator's too).
    intake: Intake<Origin>,
}

/// The resource an instance belongs to ("db:1" -> "db"): the unit whose
/// operations are serialized.
fn resource_key(instance: &str) -> &str {
    instance.split(':').next().unwrap_or(instance)
}

/// How many removed primitives the executor remembers (`removed`).
const REMOVED_MAX: usize = 1024;

fn wall_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Pacemaker's node-action-limit: from the properties (the loader bounds
/// it), else twice the cores.
fn action_limit(model: Option<&crate::model::ClusterConfig>) -> usize {
    let from_config = model
        .and_then(|m| m.properties.node_action_limit)
        .filter(|&n| n > 0)
        .map(|n| n.min(crate::config::values::MAX_NODE_ACTION_LIMIT as u32) as usize);
    from_config.unwrap_or_else(|| 2 * std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// What the agents' shims (crm_attribute, crm_master, ...) link to: the
/// `paceline` CLI beside `pacelined` (a build tree) or in the `bin`
/// directory beside its `sbin` (the packages: /usr/sbin/pacelined and
/// /usr/bin/paceline), else `pacelined` itself, which runs the shims too.
fn shim_target(daemon: &Path) -> PathBuf {
    let beside = daemon.with_file_name("paceline");
    let fhs = daemon
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("bin").join("paceline"));
    [Some(beside), fhs]
        .into_iter()
        .flatten()
        .find(|cli| cli.is_file())
        .unwrap_or_else(|| daemon.to_path_buf())
}

impl ExecutorService {
    pub fn new(
        node_name: &str,
        state_dir: &Path,
        rsctmp: &Path,
        results: mpsc::UnboundedSender<Finished>,
    ) -> Self {
        let root = std::env::var("OCF_ROOT").unwrap_or_else(|_| ocf::DEFAULT_OCF_ROOT.into());
        let mut runner = OcfRunner::new(root, rsctmp);
        runner.node_name = node_name.to_string();
        let shim_dir = state_dir.join("shims");
        if let Ok(exe) = std::env::current_exe() {
            let exe = shim_target(&exe);
            match agent_env::install_shims(&shim_dir, &exe) {
                Ok(()) => runner.shim_dir = Some(shim_dir),
                Err(e) => super::log(&format!("agents get no crm_attribute shims: {e}")),
            }
        }
        let attr_file = state_dir.join("attributes.json");
        // Agents' attributes live as long as this daemon (Pacemaker's
        // transient attributes): a master score or replication state from
        // before a restart or a reboot would describe a node that is gone.
        if let Err(e) = std::fs::remove_file(&attr_file)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            super::log(&format!(
                "cannot clear the agents' attributes of a previous run in {}: {e}",
                attr_file.display()
            ));
        }
        runner.attr_file = Some(attr_file.clone());
        let attributes = Some(AttributeReader::new(attr_file));
        match crate::executor::OpHistory::open(&state_dir.join("op-history.json")) {
            Ok(h) => runner.history = Arc::new(h),
            Err(e) => super::log(&format!("operation history not kept: {e}")),
        }
        ExecutorService {
            node_name: node_name.to_string(),
            runner: Arc::new(runner),
            limit: Arc::new(Semaphore::new(action_limit(None))),
            config: None,
            clone_meta: BTreeMap::new(),
            removed: BTreeMap::new(),
            results,
            attributes,
            running: BTreeMap::new(),
            monitors: BTreeMap::new(),
            intake: Intake::new(),
        }
    }

    /// The primitives, the clones they belong to and the limit of the
    /// cluster's configuration as loaded (the operations the loader made of
    /// their ops, derived monitors included); `None` when it does not load.
    pub fn set_config(&mut self, model: Option<&crate::model::ClusterConfig>) {
        if let (Some(old), Some(new)) = (self.config.take(), model) {
            self.remember_removed(&old, new);
        }
        self.clone_meta = model.map(clone_meta).unwrap_or_default();
        self.config = model.cloned();
        let limit = action_limit(model);
        if limit != self.limit.available_permits() && self.running.is_empty() {
            self.limit = Arc::new(Semaphore::new(limit));
        }
    }

    /// Actions running plus recurring monitors: zero when this node runs nothing.
    pub fn busy(&self) -> usize {
        self.busy_but(&crate::scheduler::LeftAsIs::default())
    }

    /// `busy`, without the recurring monitors of what the cluster leaves
    /// as it is here (`left`: unmanaged, in maintenance), which run as long
    /// as the resource does.
    pub fn busy_but(&self, left: &crate::scheduler::LeftAsIs) -> usize {
        let monitors = self
            .monitors
            .keys()
            .filter(|(slot, _)| !left.covers(slot))
            .count();
        self.running.len() + monitors + self.intake.waiting()
    }

    /// The reader of the file where this node's agents write node
    /// attributes (the shims' file), for the poller.
    pub fn attribute_reader(&self) -> Option<Arc<AttributeReader>> {
        self.attributes.clone()
    }

    fn failed(&self, req: &ActionRequest, rc: i32, why: String) -> ActionResult {
        ActionResult {
            id: req.id,
            node: self.node_name.clone(),
            resource: req.resource.clone(),
            instance: req.instance.clone(),
            operation: req.operation.clone(),
            interval_ms: req.interval_ms,
            rc,
            op_status: 4,
            output: why,
            at: wall_now(),
            exec_ms: 0,
        }
    }

    /// What `old` had and `new` has not joins `removed`; what `new` has
    /// leaves it.
    fn remember_removed(
        &mut self,
        old: &crate::model::ClusterConfig,
        new: &crate::model::ClusterConfig,
    ) {
        self.removed.retain(|id, _| new.primitive(id).is_none());
        for id in primitive_ids(old) {
            if new.primitive(&id).is_none()
                && let Some(p) = old.primitive(&id)
            {
                let meta = self.clone_meta.get(&id).cloned();
                self.removed.insert(id, (p.clone(), meta));
            }
        }
        while self.removed.len() > REMOVED_MAX {
            self.removed.pop_first();
        }
    }

    /// The primitive `req` runs: the configured one, or for a stop or a
    /// monitor of an orphan the one removed from the configuration.
    fn primitive_for(
        &self,
        req: &ActionRequest,
    ) -> Option<(&crate::model::Primitive, Option<&BTreeMap<String, String>>)> {
        if let Some(p) = self
            .config
            .as_ref()
            .and_then(|c| c.primitive(&req.resource))
        {
            return Some((p, self.clone_meta.get(&req.resource)));
        }
        if !matches!(req.operation.as_str(), "stop" | "monitor") {
            return None;
        }
        self.removed
            .get(&req.resource)
            .map(|(p, meta)| (p, meta.as_ref()))
    }

    fn action_for(&self, req: &ActionRequest) -> Result<OcfAction, String> {
        let (prim, clone_meta) = self
            .primitive_for(req)
            .ok_or_else(|| format!("no [[primitive]] `{}` in the configuration", req.resource))?;
        let name = match req.operation.as_str() {
            "monitor" if req.interval_ms == 0 => "probe",
            op => op,
        };
        let mut action =
            crate::executor::primitive::action(prim, name).map_err(|e| e.to_string())?;
        action.resource = req.instance.clone();
        if let Some(meta) = clone_meta {
            action.meta.extend(meta.clone());
            // "db:1" is instance 1 of the clone of db.
            if let Some((_, n)) = req.instance.rsplit_once(':') {
                action.meta.insert("clone".into(), n.to_string());
            }
            // As Pacemaker (since 1.1.8) runs them: an anonymous clone's
            // agent is told the primitive's id, not the instance's (its
            // number depends on placement; agents such as pgsql that find
            // a ':' in it set promotion scores per numbered instance, which
            // the scheduler does not read).
            if meta.get("globally-unique").map(String::as_str) != Some("true") {
                action.resource = req.resource.clone();
            }
        }
        // A notification's variables, for this run only.
        action.meta.extend(req.meta.clone());
        action.interval = Duration::from_millis(req.interval_ms);
        if req.timeout_ms > 0 {
            action.timeout = Duration::from_millis(req.timeout_ms);
        }
        Ok(action)
    }

    /// Starts `req` (or answers it again). A result already known is
    /// returned at once; others arrive later as `Finished`.
    pub fn handle(&mut self, origin: Origin, req: ActionRequest) -> Option<ActionResult> {
        match self.intake.admit(origin, &req, true) {
            Admission::Run => {}
            Admission::Answer(result) => return Some(result),
            Admission::InFlight | Admission::Queued => return None,
            Admission::Refused { follows } => {
                // Reported to another DC since: that one decides what runs here.
                super::log(&format!(
                    "refusing {} {} from node {} (incarnation {}): this node reported to node {} as its DC",
                    req.instance,
                    req.operation,
                    origin.0,
                    origin.1,
                    follows.map_or(0, |f| f.0)
                ));
                return None;
            }
        }
        match self.action_for(&req) {
            Ok(action) => {
                self.launch(origin, req, action);
                None
            }
            Err(why) => {
                let result = self.failed(&req, 5, why);
                if let Some((next_origin, next)) = self.intake.finished(origin, &result, true) {
                    self.launch_next(next_origin, next);
                }
                Some(result)
            }
        }
    }

    /// Starts a request whose resource has nothing else running.
    fn launch(&mut self, origin: Origin, req: ActionRequest, action: OcfAction) {
        let key = (origin, req.id);
        if matches!(req.operation.as_str(), "stop" | "demote") {
            // A stopping resource is not monitored any more (nor a
            // demoted one in its promoted role).
            self.cancel_instance(&req.instance);
        }
        if req.interval_ms > 0
            && let Some(old) = self.monitors.insert(
                (self.slot_name(&req.instance), req.interval_ms),
                MonitorState::Starting(req.id),
            )
        {
            // The same monitor asked for again replaces the running one.
            stop_monitor(old);
        }
        self.running.insert(key, req.clone());
        let runner = self.runner.clone();
        let limit = self.limit.clone();
        let results = self.results.clone();
        let node = self.node_name.clone();
        let reader = self.attributes.clone();
        tokio::spawn(async move {
            // Closed only if the service is gone; then run unlimited.
            let _permit = limit.acquire_owned().await.ok();
            let ran = tokio::task::spawn_blocking(move || {
                let r = runner.run(&action);
                (to_result(&node, &req, &r), reader.map(|a| a.read()))
            })
            .await;
            if let Ok((result, attributes)) = ran {
                let _ = results.send(Finished {
                    origin,
                    result,
                    from_monitor: false,
                    attributes,
                });
            }
        });
    }

    /// The next request waiting for its resource, started now that its
    /// turn has come (one whose action cannot be built any more is
    /// answered as failed through the results channel, as every queued
    /// answer is).
    fn launch_next(&mut self, origin: Origin, req: ActionRequest) {
        match self.action_for(&req) {
            Ok(action) => self.launch(origin, req, action),
            Err(why) => {
                let result = self.failed(&req, 5, why);
                self.running.insert((origin, req.id), req);
                let _ = self.results.send(Finished {
                    origin,
                    result,
                    from_monitor: false,
                    attributes: None,
                });
            }
        }
    }

    /// A one-shot result came back from its thread: cache it, and start the
    /// recurring monitor whose first run it was. Returns whether to report it.
    pub fn on_finished(&mut self, finished: &Finished) -> bool {
        if finished.from_monitor {
            // A monitor that was cancelled meanwhile reports nothing more.
            let r = &finished.result;
            // (A replaced one, whose request id differs, neither.)
            let current = matches!(
                self.monitors.get(&(self.slot_name(&r.instance), r.interval_ms)),
                Some(MonitorState::Running(id, _)) if *id == r.id
            );
            if current {
                self.intake.monitor_changed(finished.origin, r);
            }
            return current;
        }
        let key = (finished.origin, finished.result.id);
        let Some(req) = self.running.remove(&key) else {
            return false;
        };
        if let Some((next_origin, next)) =
            self.intake
                .finished(finished.origin, &finished.result, true)
        {
            self.launch_next(next_origin, next);
        }
        let slot = (self.slot_name(&req.instance), req.interval_ms);
        if req.interval_ms > 0
            && matches!(self.monitors.get(&slot), Some(MonitorState::Starting(id)) if *id == req.id)
        {
            match self.action_for(&req) {
                Ok(action) => {
                    let req_id = req.id;
                    let results = self.results.clone();
                    let node = self.node_name.clone();
                    let origin = finished.origin;
                    let mut last_rc = finished.result.rc;
                    let reader = self.attributes.clone();
                    let monitor = RecurringMonitor::start(self.runner.clone(), action, move |r| {
                        let result = to_result(&node, &req, &r);
                        if result.rc != last_rc {
                            last_rc = result.rc;
                            let _ = results.send(Finished {
                                origin,
                                result,
                                from_monitor: true,
                                attributes: reader.as_ref().map(|a| a.read()),
                            });
                        }
                    });
                    if let Some(old) = self
                        .monitors
                        .insert(slot, MonitorState::Running(req_id, monitor))
                    {
                        stop_monitor(old);
                    }
                }
                Err(_) => {
                    self.monitors.remove(&slot);
                }
            }
        }
        true
    }

    /// What this node did, for the DC `to`, which this node follows from
    /// now on (`Ledger::report`).
    pub fn report(&mut self, to: Origin) -> NodeReport {
        self.intake.report(&self.node_name, to)
    }

    /// The DC this node reported to last.
    pub fn follows(&self) -> Option<Origin> {
        self.intake.follows().copied()
    }

    /// Stops one recurring monitor (`CancelRecurring`).
    pub fn cancel(&mut self, instance: &str, interval_ms: u64) {
        if let Some(state) = self
            .monitors
            .remove(&(self.slot_name(instance), interval_ms))
        {
            stop_monitor(state);
        }
    }

    /// The name an instance's recurring monitors are kept under: an
    /// anonymous clone's instances are one resource on a node (their
    /// number changes with placement; a monitor started as "db:1" must be
    /// replaced, and cancelled, by requests for "db:0").
    fn slot_name(&self, instance: &str) -> String {
        let base = resource_key(instance);
        let anonymous = self
            .clone_meta
            .get(base)
            .is_some_and(|m| m.get("globally-unique").map(String::as_str) != Some("true"));
        if anonymous {
            base.to_string()
        } else {
            instance.to_string()
        }
    }

    fn cancel_instance(&mut self, instance: &str) {
        let name = self.slot_name(instance);
        let slots: Vec<(String, u64)> = self
            .monitors
            .keys()
            .filter(|(i, _)| *i == name)
            .cloned()
            .collect();
        for slot in slots {
            if let Some(state) = self.monitors.remove(&slot) {
                stop_monitor(state);
            }
        }
    }

    /// Stops every recurring monitor (the daemon is leaving).
    pub fn stop_all(&mut self) {
        for (_, state) in std::mem::take(&mut self.monitors) {
            stop_monitor(state);
        }
    }
}

/// The meta attributes Pacemaker gives the agents of a clone's primitives
/// (both the current and the legacy names of the promotion limits, which
/// agents such as Stateful test).
/// Every primitive id of `config`.
fn primitive_ids(config: &crate::model::ClusterConfig) -> Vec<String> {
    use crate::model::{CloneChild, Resource};
    let mut out = Vec::new();
    for r in &config.resources {
        match r {
            Resource::Primitive(p) => out.push(p.id.clone()),
            Resource::Group(g) => out.extend(g.members.iter().map(|p| p.id.clone())),
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) => out.push(p.id.clone()),
                CloneChild::Group(g) => out.extend(g.members.iter().map(|p| p.id.clone())),
            },
        }
    }
    out
}

fn clone_meta(config: &crate::model::ClusterConfig) -> BTreeMap<String, BTreeMap<String, String>> {
    use crate::model::{CloneChild, Resource};
    let mut out = BTreeMap::new();
    for r in &config.resources {
        let Resource::Clone(c) = r else { continue };
        let mut meta = BTreeMap::new();
        let clone_max = c.clone_max.unwrap_or(config.nodes.len() as u32);
        meta.insert("clone-max".to_string(), clone_max.to_string());
        meta.insert("clone-node-max".into(), c.clone_node_max.to_string());
        meta.insert("globally-unique".into(), c.globally_unique.to_string());
        meta.insert("notify".into(), c.notify.to_string());
        if c.promotable {
            meta.insert("promotable".into(), "true".into());
            for (now, legacy, v) in [
                ("promoted-max", "master-max", c.promoted_max),
                ("promoted-node-max", "master-node-max", c.promoted_node_max),
            ] {
                meta.insert(now.into(), v.to_string());
                meta.insert(legacy.into(), v.to_string());
            }
        }
        let members: Vec<&str> = match &c.child {
            CloneChild::Primitive(p) => vec![p.id.as_str()],
            CloneChild::Group(g) => g.members.iter().map(|m| m.id.as_str()).collect(),
        };
        for m in members {
            out.insert(m.to_string(), meta.clone());
        }
    }
    out
}

fn stop_monitor(state: MonitorState) {
    if let MonitorState::Running(_, monitor) = state {
        // Joining waits for a check in progress: not on the event loop.
        tokio::task::spawn_blocking(move || monitor.stop());
    }
}

fn to_result(node: &str, req: &ActionRequest, r: &ocf::ActionResult) -> ActionResult {
    let output = r.exit_reason.clone().unwrap_or_else(|| {
        let tail: String = r.stderr.trim_end().chars().rev().take(200).collect();
        tail.chars().rev().collect()
    });
    ActionResult {
        id: req.id,
        node: node.to_string(),
        resource: req.resource.clone(),
        instance: req.instance.clone(),
        operation: req.operation.clone(),
        interval_ms: req.interval_ms,
        rc: r.rc.0,
        op_status: if r.timed_out { 2 } else { 0 },
        output,
        at: wall_now(),
        exec_ms: r.duration_ms,
    }
}

/// Attributes of `node` the agents changed since `before`, as patches.
pub fn attribute_changes(
    node: &str,
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<crate::controller::StatusPatch> {
    let mut patches = Vec::new();
    for (name, value) in now {
        if before.get(name) != Some(value) {
            patches.push(crate::controller::StatusPatch::Attribute {
                node: node.to_string(),
                name: name.clone(),
                value: Some(value.clone()),
            });
        }
    }
    for name in before.keys().filter(|k| !now.contains_key(*k)) {
        patches.push(crate::controller::StatusPatch::Attribute {
            node: node.to_string(),
            name: name.clone(),
            value: None,
        });
    }
    patches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::StatusPatch;

    /// The model of a one-node cluster with these primitives.
    fn test_model(primitives: &str) -> crate::model::ClusterConfig {
        let base = "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\n";
        crate::config::load_config_str(&format!("{base}{primitives}"), "c.toml").unwrap()
    }

    /// The packages install /usr/sbin/pacelined and /usr/bin/paceline: the
    /// shims linked to pacelined (which had no shim dispatch) made every
    /// crm_master call of a packaged node fail, so no promotion score was
    /// ever set (the VM lab's PostgreSQL was never promoted after a fence).
    #[test]
    fn the_shims_link_to_the_cli_beside_the_daemon_or_in_the_packages_bin() {
        let root = std::env::temp_dir().join(format!("pl-shim-target-{}", std::process::id()));
        let (sbin, bin) = (root.join("usr/sbin"), root.join("usr/bin"));
        std::fs::create_dir_all(&sbin).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let daemon = sbin.join("pacelined");
        std::fs::write(&daemon, "").unwrap();
        assert_eq!(
            shim_target(&daemon),
            daemon,
            "no CLI anywhere: the daemon itself"
        );
        std::fs::write(bin.join("paceline"), "").unwrap();
        assert_eq!(
            shim_target(&daemon),
            bin.join("paceline"),
            "the packages' layout"
        );
        std::fs::write(sbin.join("paceline"), "").unwrap();
        assert_eq!(shim_target(&daemon), sbin.join("paceline"), "a build tree");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn attribute_changes_are_sets_and_removals() {
        let before = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "2".into())]);
        let now = BTreeMap::from([("a".to_string(), "1".to_string()), ("c".into(), "3".into())]);
        let p = attribute_changes("n1", &before, &now);
        assert_eq!(
            p,
            vec![
                StatusPatch::Attribute {
                    node: "n1".into(),
                    name: "c".into(),
                    value: Some("3".into())
                },
                StatusPatch::Attribute {
                    node: "n1".into(),
                    name: "b".into(),
                    value: None
                },
            ]
        );
    }

    #[test]
    fn primitives_of_a_promotable_clone_get_its_meta_attributes() {
        let config = crate::config::load_config_str(
            "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[node]]\nname = \"n2\"\nid = 2\nlinks = [\"198.18.0.2\"]\n[[primitive]]\nid = \"s\"\nagent = \"ocf:pacemaker:Stateful\"\n[[clone]]\nid = \"s-clone\"\nresource = \"s\"\npromotable = true\n",
            "t.toml",
        )
        .unwrap();
        let meta = clone_meta(&config);
        let s = &meta["s"];
        assert_eq!(s["clone-max"], "2");
        assert_eq!(s["promoted-max"], "1");
        assert_eq!(s["master-max"], "1");
    }

    #[test]
    fn node_action_limit_comes_from_the_properties() {
        let limit = |text: &str| {
            let base = "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n";
            let model = crate::config::load_config_str(&format!("{base}{text}"), "c.toml").ok();
            action_limit(model.as_ref())
        };
        assert_eq!(limit("[properties]\nnode-action-limit = 3\n"), 3);
        assert_eq!(limit("[properties]\nnode-action-limit = \"5\"\n"), 5);
        assert!(limit("") >= 2);
        // Refused by the loader (it panicked tokio's semaphore on every
        // node at every restart), so the default applies.
        assert!(limit("[properties]\nnode-action-limit = 2305843009213693952\n") <= 1024);
    }

    /// Real agents on real threads: Dummy start, a repeated id answered from
    /// the cache without running again, a recurring monitor reporting its
    /// first result and then only a change, stopped by the stop.
    #[test]
    fn runs_dedups_and_monitors_a_real_dummy() {
        let dummy = Path::new("/usr/lib/ocf/resource.d/heartbeat/Dummy");
        if !dummy.is_file() {
            eprintln!("skipping: resource-agents' Dummy is not installed");
            return;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = std::env::temp_dir().join(format!("pl-exec-{}", std::process::id()));
            let rsctmp = dir.join("rsctmp");
            std::fs::create_dir_all(&rsctmp).unwrap();
            let (tx, mut rx) = mpsc::unbounded_channel();
            let mut svc = ExecutorService::new("n1", &dir, &rsctmp, tx);
            svc.set_config(Some(&test_model(
                "[[primitive]]\nid = \"d\"\nagent = \"ocf:heartbeat:Dummy\"\n",
            )));
            let origin = (1, 7);
            let req = |id, op: &str, interval_ms| ActionRequest {
                id,
                node: "n1".into(),
                resource: "d".into(),
                instance: "d".into(),
                operation: op.into(),
                interval_ms,
                timeout_ms: 20_000,
                meta: Default::default(),
            };
            let mut next = async || {
                let f = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                    .await
                    .unwrap()
                    .unwrap();
                (svc_report(&f), f)
            };
            fn svc_report(f: &Finished) -> (u64, String, i32) {
                (f.result.id, f.result.operation.clone(), f.result.rc)
            }
            assert!(svc.handle(origin, req(1, "start", 0)).is_none());
            let (got, f) = next().await;
            assert_eq!(got, (1, "start".into(), 0));
            assert!(svc.on_finished(&f));
            assert!(rsctmp.join("Dummy-d.state").exists());
            // The same id again: the cached result, nothing runs.
            assert_eq!(svc.handle(origin, req(1, "start", 0)).unwrap().rc, 0);
            assert_eq!(svc.busy(), 0);
            // A recurring monitor: first result reported, then only changes.
            assert!(svc.handle(origin, req(2, "monitor", 300)).is_none());
            let (got, f) = next().await;
            assert_eq!(got, (2, "monitor".into(), 0));
            assert!(svc.on_finished(&f));
            assert_eq!(svc.busy(), 1, "the monitor keeps running");
            std::fs::remove_file(rsctmp.join("Dummy-d.state")).unwrap();
            let (got, f) = next().await;
            assert_eq!(got, (2, "monitor".into(), 7), "the change is reported");
            assert!(f.from_monitor && svc.on_finished(&f));
            // A stop cancels the monitor.
            assert!(svc.handle(origin, req(3, "stop", 0)).is_none());
            let (got, f) = next().await;
            assert_eq!(got, (3, "stop".into(), 0));
            svc.on_finished(&f);
            assert_eq!(svc.busy(), 0);
            let _ = std::fs::remove_dir_all(&dir);
        });
    }

    /// Pacemaker's Dummy sleeping 1s in its start: a probe sent meanwhile
    /// waits for the start and reports it running, never "not running"
    /// from the middle of the start.
    #[test]
    fn a_probe_waits_for_the_start_of_its_resource() {
        let dummy = Path::new("/usr/lib/ocf/resource.d/pacemaker/Dummy");
        if !dummy.is_file() {
            eprintln!("skipping: pacemaker's Dummy is not installed");
            return;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = std::env::temp_dir().join(format!("pl-exec-q-{}", std::process::id()));
            let rsctmp = dir.join("rsctmp");
            std::fs::create_dir_all(&rsctmp).unwrap();
            let (tx, mut rx) = mpsc::unbounded_channel();
            let mut svc = ExecutorService::new("n1", &dir, &rsctmp, tx);
            let state = dir.join("d.state");
            svc.set_config(Some(&test_model(&format!(
                "[[primitive]]\nid = \"d\"\nagent = \"ocf:pacemaker:Dummy\"\nparams = {{ op_sleep = \"1\", state = \"{}\" }}\n",
                state.display()
            ))));
            let req = |id, op: &str| ActionRequest {
                id,
                node: "n1".into(),
                resource: "d".into(),
                instance: "d".into(),
                operation: op.into(),
                interval_ms: 0,
                timeout_ms: 20_000,
                meta: Default::default(),
            };
            assert!(svc.handle((1, 1), req(1, "start")).is_none());
            // From another DC incarnation, while the start sleeps.
            assert!(svc.handle((2, 1), req(2, "monitor")).is_none());
            assert_eq!(svc.busy(), 2, "one running, one waiting");
            let mut order = Vec::new();
            for _ in 0..2 {
                let f = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                    .await
                    .unwrap()
                    .unwrap();
                order.push((f.result.operation.clone(), f.result.rc));
                assert!(svc.on_finished(&f));
            }
            assert_eq!(order, vec![("start".to_string(), 0), ("monitor".to_string(), 0)]);
            assert_eq!(svc.busy(), 0);
            let _ = std::fs::remove_dir_all(&dir);
        });
    }

    /// An anonymous clone's instance renumbered by a new DC ("d:1" is now
    /// "d:0" on this node): its recurring monitor is replaced, not doubled,
    /// and a cancel under the new number stops it.
    #[test]
    fn a_renumbered_clone_instance_keeps_one_monitor() {
        let dummy = Path::new("/usr/lib/ocf/resource.d/heartbeat/Dummy");
        if !dummy.is_file() {
            eprintln!("skipping: resource-agents' Dummy is not installed");
            return;
        }
        let text = "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[primitive]]\nid = \"d\"\nagent = \"ocf:heartbeat:Dummy\"\n[[clone]]\nid = \"d-clone\"\nresource = \"d\"\n";
        let model = crate::config::load_config_str(text, "t.toml").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = std::env::temp_dir().join(format!("pl-exec-r-{}", std::process::id()));
            let rsctmp = dir.join("rsctmp");
            std::fs::create_dir_all(&rsctmp).unwrap();
            let (tx, mut rx) = mpsc::unbounded_channel();
            let mut svc = ExecutorService::new("n1", &dir, &rsctmp, tx);
            svc.set_config(Some(&model));
            let req = |id, instance: &str, op: &str, interval_ms| ActionRequest {
                id,
                node: "n1".into(),
                resource: "d".into(),
                instance: instance.into(),
                operation: op.into(),
                interval_ms,
                timeout_ms: 20_000,
                meta: Default::default(),
            };
            let mut next = async || {
                tokio::time::timeout(Duration::from_secs(30), rx.recv())
                    .await
                    .unwrap()
                    .unwrap()
            };
            for r in [req(1, "d:1", "start", 0), req(2, "d:1", "monitor", 500)] {
                assert!(svc.handle((1, 1), r).is_none());
                let f = next().await;
                assert_eq!(f.result.rc, 0);
                assert!(svc.on_finished(&f));
            }
            assert_eq!(svc.busy(), 1);
            // A new DC calls the same instance d:0.
            assert!(svc.handle((2, 1), req(1, "d:0", "monitor", 500)).is_none());
            let f = next().await;
            assert!(svc.on_finished(&f));
            assert_eq!(svc.busy(), 1, "replaced, not doubled");
            svc.cancel("d:0", 500);
            assert_eq!(svc.busy(), 0, "cancelled under the new number");
            let _ = std::fs::remove_dir_all(&dir);
        });
    }
}
