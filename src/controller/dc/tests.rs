//! The DC's unit tests: one controller with a perfect store and obedient
//! (or scripted) agents, inputs in, commands and notices out.

use std::collections::VecDeque;

use std::collections::{BTreeMap, BTreeSet};

use super::join::REPORT_WAIT_MS;
use super::*;
use crate::controller::patch::op_status;
use crate::controller::{
    ActionRequest, ActionResult, FenceOutcome, FenceRequest, Ledger, Notice, PlanRequest,
    apply_patch,
};
use crate::model::{Role, rc};
use crate::scheduler::observe;
use crate::scheduler::transition::primitive_of;

const RESOURCES: &str = r#"[[primitive]]
id = "fs"
agent = "ocf:heartbeat:Dummy"
ops = [{ name = "monitor", interval = "10s", timeout = "5s" }]

[[primitive]]
id = "vip"
agent = "ocf:heartbeat:Dummy"
ops = [{ name = "monitor", interval = "5s" }]

[[group]]
id = "app"
members = ["fs", "vip"]

[[location]]
id = "prefer-node2"
resource = "app"
node = "node2"
score = 50
"#;

/// node1 and node2, fenced, an app group (fs, vip) preferring node2.
pub(crate) fn config() -> String {
    crate::config::fixtures::two_nodes(true, "[rsc_defaults]\nmigration-threshold = 2\n", RESOURCES)
}

fn settings(own: &str) -> ControllerSettings {
    ControllerSettings {
        own: own.into(),
        nodes: vec![("node1".into(), 1), ("node2".into(), 2)],
        result_grace_ms: 1_000,
        fence_retry_ms: 1_000,
        fence_retry_max_ms: 8_000,
        require_fencing_ready: false,
    }
}

type Answer = dyn Fn(&ActionRequest) -> Option<Option<i32>>;

/// The controller of node1 with a perfect store and obedient agents:
/// every recorded patch comes back as a document, every action answers
/// (unless `answer` says otherwise), resources' real state is `truth`.
struct Harness {
    ctl: Controller,
    config: ClusterConfig,
    store: ClusterStatus,
    now: u64,
    queue: VecDeque<Input>,
    log: Vec<Command>,
    truth: BTreeMap<(NodeId, String), Role>,
    /// rc to answer instead of the natural one; `None` in the outer
    /// option = never answer.
    answer: Box<Answer>,
    fence_ok: bool,
    held_fences: Vec<FenceRequest>,
    /// The store drops every patch (it has no quorum yet).
    store_drops: bool,
    /// Each node's executor ledger (one DC: the harness's node1).
    ledgers: BTreeMap<NodeId, Ledger<u8>>,
    /// Report requests go unanswered.
    silent_reports: bool,
    /// Plans are kept in `held_plans` instead of answered at once (a
    /// daemon's blocking thread still at work).
    hold_plans: bool,
    held_plans: Vec<PlanRequest>,
    /// The most one-shot requests one input dispatched.
    most_dispatched: usize,
}

impl Harness {
    fn new(config_text: &str) -> Self {
        let config = crate::config::load_config_str(config_text, "t.toml").unwrap();
        Harness {
            ctl: Controller::new(settings("node1")),
            config,
            store: ClusterStatus::default(),
            now: 0,
            queue: VecDeque::new(),
            log: Vec::new(),
            truth: BTreeMap::new(),
            answer: Box::new(|_| Some(None)),
            fence_ok: true,
            held_fences: Vec::new(),
            store_drops: false,
            ledgers: BTreeMap::new(),
            silent_reports: false,
            hold_plans: false,
            held_plans: Vec::new(),
            most_dispatched: 0,
        }
    }

    fn document(&self) -> Input {
        Input::Document {
            config: std::sync::Arc::new(self.config.clone()),
            status: crate::controller::DocumentStatus::Whole(Box::new(self.store.clone())),
        }
    }

    fn view(&mut self, members: &[&str], quorate: bool) {
        let members = members.iter().map(|m| m.to_string()).collect();
        self.queue.push_back(Input::View { members, quorate });
        // The store syncs in the new view and hands over its document.
        self.queue.push_back(self.document());
        self.queue.push_back(Input::Synced);
        self.run();
    }

    fn execute(&mut self, q: &ActionRequest) -> Option<ActionResult> {
        let key = (q.node.clone(), primitive_of(&q.instance).to_string());
        let natural = match (q.operation.as_str(), q.interval_ms) {
            ("monitor", 0) => match self.truth.get(&key) {
                Some(Role::Promoted) => rc::RUNNING_PROMOTED,
                Some(_) => rc::OK,
                None => rc::NOT_RUNNING,
            },
            // Recurring monitors report only changes.
            ("monitor", _) => return None,
            ("start", _) => {
                self.truth.insert(key.clone(), Role::Started);
                rc::OK
            }
            ("stop", _) => {
                self.truth.remove(&key);
                rc::OK
            }
            _ => rc::OK,
        };
        let rc = (self.answer)(q)?.unwrap_or(natural);
        Some(ActionResult {
            id: q.id,
            node: q.node.clone(),
            resource: q.resource.clone(),
            instance: q.instance.clone(),
            operation: q.operation.clone(),
            interval_ms: q.interval_ms,
            rc,
            op_status: 0,
            output: String::new(),
            at: (self.now / 1000) as i64,
            exec_ms: 1,
        })
    }

    fn run(&mut self) {
        for _ in 0..10_000 {
            let Some(input) = self.queue.pop_front() else {
                return;
            };
            let out = self.ctl.handle(self.now, (self.now / 1000) as i64, input);
            let one_shots = out
                .iter()
                .filter(|c| matches!(c, Command::Execute(q) if q.interval_ms == 0))
                .count();
            self.most_dispatched = self.most_dispatched.max(one_shots);
            let mut changed = false;
            for c in out {
                match &c {
                    Command::Execute(q) => {
                        let ledger = self.ledgers.entry(q.node.clone()).or_default();
                        ledger.accepted(0, q);
                        if let Some(r) = self.execute(q) {
                            if let Some(l) = self.ledgers.get_mut(&q.node) {
                                l.finished(0, &r);
                            }
                            self.queue.push_back(Input::ActionResult(r));
                        }
                    }
                    Command::Plan(request) if self.hold_plans => {
                        self.held_plans.push(request.as_ref().clone());
                    }
                    // Planned at once, as the simulator does.
                    Command::Plan(request) => {
                        let planned = request.as_ref().clone().run();
                        self.queue.push_front(Input::Planned(Box::new(planned)));
                    }
                    Command::RequestReport { node } if !self.silent_reports => {
                        let ledger = self.ledgers.entry(node.clone()).or_default();
                        let report = ledger.report(node, 0);
                        self.queue.push_back(Input::NodeReport(report));
                    }
                    Command::RecordStatus(p) if !self.store_drops => {
                        apply_patch(&mut self.store, p);
                        changed = true;
                    }
                    Command::Fence(f) => {
                        if self.fence_ok {
                            self.truth.retain(|(n, _), _| *n != f.target);
                            self.queue.push_back(Input::FenceOutcome(FenceOutcome {
                                target: f.target.clone(),
                                ok: true,
                                detail: "bmc: off".into(),
                                at: 0,
                                action: f.action.clone(),
                                devices: vec!["bmc".into()],
                            }));
                        } else {
                            self.held_fences.push(f.clone());
                        }
                    }
                    _ => {}
                }
                self.log.push(c);
            }
            if changed {
                self.queue.push_back(self.document());
            }
        }
        panic!("the controller never settles: {:#?}", self.log);
    }

    fn tick(&mut self, ms: u64) {
        self.now += ms;
        self.queue.push_back(Input::Tick);
        self.run();
    }

    fn executed(&self) -> Vec<(String, String, String)> {
        self.log
            .iter()
            .filter_map(|c| match c {
                Command::Execute(q) if q.interval_ms == 0 => {
                    Some((q.operation.clone(), q.instance.clone(), q.node.clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn position(&self, op: &str, rsc: &str, node: &str) -> Option<usize> {
        self.executed()
            .iter()
            .position(|(o, r, n)| o == op && r == rsc && n == node)
    }

    /// Whether `op` went to `node` for any instance.
    fn dispatched(&self, op: &str, node: &str) -> bool {
        self.executed().iter().any(|(o, _, n)| o == op && n == node)
    }

    /// node2 is lost while its fence cannot succeed: the request
    /// node1's DC holds for it.
    fn lose_node2(&mut self) -> FenceRequest {
        self.fence_ok = false;
        self.view(&["node1"], true);
        assert_eq!(self.held_fences.len(), 1, "{:?}", self.log);
        self.held_fences[0].clone()
    }

    /// `target`'s fence is confirmed (its power was cut: nothing runs there).
    fn fence_confirmed(&mut self, target: &str) {
        self.truth.retain(|(n, _), _| n != target);
        self.queue.push_back(Input::FenceOutcome(FenceOutcome {
            target: target.into(),
            ok: true,
            detail: "off".into(),
            at: 0,
            action: "off".into(),
            devices: vec!["bmc".into()],
        }));
        self.run();
    }

    fn running(&self, node: &str, rsc: &str) -> bool {
        self.truth
            .contains_key(&(node.to_string(), rsc.to_string()))
    }

    /// Both nodes up, everything started on node2 (the location).
    fn started() -> Self {
        let mut h = Harness::new(&config());
        h.queue.push_back(h.document());
        h.view(&["node1", "node2"], true);
        assert!(h.running("node2", "fs") && h.running("node2", "vip"));
        h.log.clear();
        h
    }
}

fn notices(log: &[Command]) -> Vec<&Notice> {
    log.iter()
        .filter_map(|c| match c {
            Command::Notice(n) => Some(n),
            _ => None,
        })
        .collect()
}

#[test]
fn only_the_lowest_configured_id_is_dc() {
    let config = crate::config::load_config_str(&config(), "t.toml").unwrap();
    let mut other = Controller::new(settings("node2"));
    let doc = Input::Document {
        config: std::sync::Arc::new(config),
        status: crate::controller::DocumentStatus::Whole(Box::default()),
    };
    assert!(other.handle(0, 0, doc).is_empty());
    let members: BTreeSet<NodeId> = ["node1".to_string(), "node2".to_string()].into();
    let out = other.handle(
        0,
        0,
        Input::View {
            members,
            quorate: true,
        },
    );
    assert!(out.is_empty() && !other.is_dc(), "{out:?}");
    let alone: BTreeSet<NodeId> = ["node2".to_string()].into();
    let out = other.handle(
        1,
        0,
        Input::View {
            members: alone,
            quorate: true,
        },
    );
    assert!(other.is_dc());
    assert!(matches!(out[0], Command::Notice(Notice::BecameDc)));
}

#[test]
fn while_fencing_is_not_ready_nothing_ordered_after_a_start_runs_either() {
    let mut h = Harness::new(&config());
    h.ctl = Controller::new(ControllerSettings {
        require_fencing_ready: true,
        ..settings("node1")
    });
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    let recurring = |h: &Harness| {
        h.log
            .iter()
            .filter(|c| matches!(c, Command::Execute(q) if q.interval_ms > 0))
            .count()
    };
    assert!(
        !h.executed().iter().any(|(o, ..)| o == "start"),
        "{:?}",
        h.executed()
    );
    assert_eq!(
        recurring(&h),
        0,
        "no monitor of a resource that was not started: {:?}",
        h.log
    );
    h.queue.push_back(Input::FencingReady {
        ready: true,
        blockers: Vec::new(),
    });
    h.run();
    assert!(h.running("node2", "fs") && h.running("node2", "vip"));
    assert!(recurring(&h) >= 2);
}

#[test]
fn a_new_dc_learns_what_runs_from_the_members_reports_not_from_probes() {
    let mut h = Harness::started();
    // The document loses the last results (the old DC died before
    // replicating them): only the members' executors still know.
    h.store.nodes.get_mut("node2").unwrap().resources.clear();
    h.ctl = Controller::new(settings("node1"));
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    let ex = h.executed();
    assert!(ex.is_empty(), "no probe, no restart: {ex:?}");
    let reported: Vec<&NodeId> = notices(&h.log)
        .iter()
        .filter_map(|n| match n {
            Notice::NodeReported { node, .. } => Some(node),
            _ => None,
        })
        .collect();
    assert_eq!(reported, vec!["node1", "node2"]);
    let st = &h.store.nodes["node2"];
    for rsc in ["fs", "vip"] {
        assert!(
            st.resources
                .iter()
                .any(|r| r.id == rsc && observe(r).role == Role::Started),
            "{rsc} known started from the report: {:?}",
            st.resources
        );
    }
    assert!(h.ctl.is_idle());
}

#[test]
fn a_member_that_does_not_report_is_probed_after_the_wait() {
    let mut h = Harness::started();
    h.ctl = Controller::new(settings("node1"));
    h.silent_reports = true;
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    assert!(
        h.executed().is_empty(),
        "nothing before the reports or their deadline"
    );
    h.tick(REPORT_WAIT_MS);
    let ex = h.executed();
    let probes = ex.iter().filter(|(o, ..)| o == "monitor").count();
    assert_eq!(probes, 4, "both nodes probed for both primitives: {ex:?}");
    assert!(
        !ex.iter().any(|(o, ..)| o == "start" || o == "stop"),
        "{ex:?}"
    );
    assert!(
        notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::NoReport { node, .. } if node == "node2"))
    );
}

#[test]
fn a_start_still_running_on_a_member_is_awaited_by_the_new_dc() {
    let mut h = Harness::started();
    // The old DC had asked node2 to restart vip; the stop is done and the
    // start still runs when node1 takes over with a document that never
    // heard of either.
    let l = h.ledgers.get_mut("node2").unwrap();
    let stop = ActionRequest {
        id: 900,
        node: "node2".into(),
        resource: "vip".into(),
        instance: "vip".into(),
        operation: "stop".into(),
        interval_ms: 0,
        timeout_ms: 20_000,
        meta: Default::default(),
    };
    let start = ActionRequest {
        id: 901,
        operation: "start".into(),
        ..stop.clone()
    };
    l.accepted(0, &stop);
    l.finished(
        0,
        &ActionResult {
            id: 900,
            node: "node2".into(),
            resource: "vip".into(),
            instance: "vip".into(),
            operation: "stop".into(),
            interval_ms: 0,
            rc: 0,
            op_status: 0,
            output: String::new(),
            at: 0,
            exec_ms: 1,
        },
    );
    l.accepted(0, &start);
    h.ctl = Controller::new(settings("node1"));
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    assert!(
        h.executed().is_empty(),
        "the pending start counts as started: {:?}",
        h.executed()
    );
    let vip = h.store.nodes["node2"]
        .resources
        .iter()
        .find(|r| r.id == "vip")
        .unwrap();
    assert!(observe(vip).pending);
}

/// Thousands of primitives are probed and started a bounded number at a
/// time (`IN_FLIGHT_MAX`), all of them in the end.
#[test]
fn probes_and_starts_go_out_a_bounded_number_at_a_time() {
    let n = super::dispatch::IN_FLIGHT_MAX + 10;
    let resources: String = (0..n)
        .map(|i| format!("[[primitive]]\nid = \"d{i}\"\nagent = \"ocf:heartbeat:Dummy\"\n"))
        .collect();
    let mut h = Harness::new(&crate::config::fixtures::two_nodes(true, "", &resources));
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    let ex = h.executed();
    let count = |op: &str| ex.iter().filter(|(o, ..)| o == op).count();
    assert_eq!(
        count("monitor"),
        2 * n,
        "every primitive probed on both nodes"
    );
    assert_eq!(count("start"), n, "every primitive started");
    assert!(
        h.most_dispatched <= super::dispatch::IN_FLIGHT_MAX,
        "{} requests went out for one input",
        h.most_dispatched
    );
    assert!(h.ctl.is_idle());
}

#[test]
fn joining_nodes_are_probed_before_anything_starts_then_the_graph_runs_in_order() {
    let mut h = Harness::new(&config());
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    let ex = h.executed();
    let first_start = ex.iter().position(|(o, ..)| o == "start").unwrap();
    let probes: Vec<_> = ex.iter().filter(|(o, ..)| o == "monitor").collect();
    assert_eq!(probes.len(), 4, "two primitives on two nodes: {ex:?}");
    assert!(ex[..first_start].iter().all(|(o, ..)| o == "monitor"));
    let fs = h.position("start", "fs", "node2").unwrap();
    let vip = h.position("start", "vip", "node2").unwrap();
    assert!(fs < vip, "group order: {ex:?}");
    // Recurring monitors follow the starts; everything is recorded.
    assert!(h.log.iter().any(
        |c| matches!(c, Command::Execute(q) if q.instance == "vip" && q.interval_ms == 5_000)
    ));
    let st = &h.store.nodes["node2"];
    assert_eq!(st.expected.as_deref(), Some("member"));
    assert!(
        st.resources
            .iter()
            .any(|r| r.id == "fs" && observe(r).role == Role::Started)
    );
    assert!(h.ctl.is_idle());
    assert!(
        notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::TransitionComplete { .. }))
    );
    // Nothing more to do: a tick changes nothing.
    h.log.clear();
    h.tick(100);
    assert!(h.executed().is_empty());
}

#[test]
fn nothing_starts_until_every_first_fencing_level_passed_a_monitor() {
    let mut h = Harness::new(&config());
    h.ctl.settings.require_fencing_ready = true;
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    let ex = h.executed();
    assert!(!ex.iter().any(|(o, ..)| o == "start"), "{ex:?}");
    assert!(
        ex.iter().any(|(o, ..)| o == "monitor"),
        "probes run: {ex:?}"
    );
    assert!(
        notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::Blocked { why }
            if why.contains("first fencing level") && why.contains("still running"))),
        "says why"
    );
    h.queue.push_back(Input::FencingReady {
        ready: false,
        blockers: vec!["node2: device bmc-node2 failed its monitor".into()],
    });
    h.tick(100);
    assert!(!h.executed().iter().any(|(o, ..)| o == "start"));
    h.queue.push_back(Input::FencingReady {
        ready: true,
        blockers: Vec::new(),
    });
    h.tick(100);
    assert!(
        h.executed().iter().any(|(o, ..)| o == "start"),
        "starts once fencing is ready: {:?}",
        h.executed()
    );
}

/// Planning runs outside `handle` (the daemon plans on a blocking thread,
/// so that 9,000 resources no longer hold its event loop for seconds): a
/// plan that comes back after what it was made of changed is discarded and
/// asked again, and only the fresh one is carried out.
#[test]
fn a_plan_made_for_inputs_that_changed_since_is_discarded_and_asked_again() {
    let mut h = Harness::new(&config());
    h.hold_plans = true;
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    // Plans are answered until the members have reported and been probed:
    // the next one starts the app on node2.
    let probed = |h: &Harness| h.executed().iter().filter(|(o, ..)| o == "monitor").count() == 4;
    let stale = loop {
        let asked = h.held_plans.pop().expect("the DC asked for a plan");
        assert!(h.held_plans.is_empty(), "one plan at a time");
        if probed(&h) {
            break asked;
        }
        h.queue.push_back(Input::Planned(Box::new(asked.run())));
        h.run();
    };
    assert!(!h.dispatched("start", "node2"), "{:?}", h.log);
    // Meanwhile the operator moves the app to node1.
    let moved = config().replace("node = \"node2\"", "node = \"node1\"");
    h.config = crate::config::load_config_str(&moved, "t.toml").unwrap();
    h.queue.push_back(h.document());
    h.run();
    assert!(h.held_plans.is_empty(), "still one plan at a time");
    // The plan made before the move comes back: discarded, asked again.
    h.queue
        .push_back(Input::Planned(Box::new(stale.clone().run())));
    h.run();
    assert!(
        h.executed().iter().all(|(o, ..)| o == "monitor"),
        "{:?}",
        h.executed()
    );
    assert!(
        !notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::TransitionStarted { .. })),
        "the outdated plan was carried out: {:?}",
        notices(&h.log)
    );
    let fresh = h.held_plans.pop().expect("asked again");
    assert!(fresh.generation > stale.generation);
    // The fresh plan is carried out; the outdated one, late again, is not.
    h.hold_plans = false;
    h.queue.push_back(Input::Planned(Box::new(fresh.run())));
    h.queue.push_back(Input::Planned(Box::new(stale.run())));
    h.run();
    assert!(
        h.running("node1", "fs") && h.running("node1", "vip"),
        "{:?}",
        h.executed()
    );
    assert!(!h.dispatched("start", "node2"), "{:?}", h.executed());
}

#[test]
fn a_fence_request_says_whether_the_target_runs_the_higher_priority() {
    // app runs on node2 (prefer-node2); with a priority on its members
    // node2 outranks node1, so node1's request for node2 carries it.
    let config = config().replace(
        "[[primitive]]\nid = \"fs\"\nagent = \"ocf:heartbeat:Dummy\"",
        "[[primitive]]\nid = \"fs\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = { priority = 10 }",
    );
    let mut h = Harness::new(&config);
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    assert!(h.running("node2", "fs"));
    let fence = h.lose_node2();
    assert!(fence.target_has_priority, "{fence:?}");

    // Without priorities nobody has it.
    let mut plain = Harness::started();
    assert!(!plain.lose_node2().target_has_priority);
}

#[test]
fn the_node_with_the_promoted_instance_of_a_prioritised_clone_outranks_the_other() {
    // Both nodes run db-ha (priority 10 on the clone): only the
    // promoted instance's +1 tells them apart.
    let mut h = promoting("meta = { priority = 10 }", Box::new(|_| Some(None)));
    assert!(h.dispatched("promote", "node2"), "{:?}", h.log);
    assert_eq!(
        (h.ctl.priority_on("node1"), h.ctl.priority_on("node2")),
        (10, 11)
    );
    let fence = h.lose_node2();
    assert!(fence.target_has_priority, "{fence:?}");
}

/// A promotable clone db-ha of Stateful on both nodes, fenced.
fn promotable() -> String {
    crate::config::fixtures::two_nodes(true, "", PROMOTABLE_RESOURCES)
}

const PROMOTABLE_RESOURCES: &str = r#"[[primitive]]
id = "db"
agent = "ocf:pacemaker:Stateful"
ops = [
  { name = "monitor", interval = "10s" },
  { name = "monitor", interval = "5s", role = "Promoted" },
]

[[clone]]
id = "db-ha"
resource = "db"
promotable = true
promoted_max = 1
"#;

/// Both nodes up with the promotable clone, notify = true, node2's
/// agent scoring itself for promotion; agents answer as `answer` says.
fn promoting_with_notifications(answer: Box<Answer>) -> Harness {
    promoting("notify = true", answer)
}

/// Both nodes up with the promotable clone (`clone_extra` added to
/// its table), node2's agent scoring itself for promotion; agents
/// answer as `answer` says.
fn promoting(clone_extra: &str, answer: Box<Answer>) -> Harness {
    let text = promotable().replace(
        "promoted_max = 1",
        &format!("promoted_max = 1\n{clone_extra}"),
    );
    let mut h = Harness::new(&text);
    h.answer = answer;
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    let st = h.store.nodes.get_mut("node2").unwrap();
    st.transient_attributes
        .insert("master-db".into(), "100".into());
    h.queue.push_back(h.document());
    h.run();
    h
}

#[test]
fn notifications_run_around_the_clones_actions_stay_out_of_its_history_and_may_fail() {
    // Every notification fails: reported, and ignored.
    let h =
        promoting_with_notifications(Box::new(|q| Some((q.operation == "notify").then_some(1))));
    let notified: Vec<(String, String)> = h
        .log
        .iter()
        .filter_map(|c| match c {
            Command::Execute(q) if q.operation == "notify" => Some((
                q.node.clone(),
                format!(
                    "{}-{}",
                    q.meta.get("notify_type").cloned().unwrap_or_default(),
                    q.meta.get("notify_operation").cloned().unwrap_or_default()
                ),
            )),
            _ => None,
        })
        .collect();
    for node in ["node1", "node2"] {
        for what in ["post-start", "pre-promote", "post-promote"] {
            assert!(
                notified.contains(&(node.to_string(), what.to_string())),
                "{what} on {node}: {notified:?}"
            );
        }
    }
    assert!(
        h.position("promote", "db:0", "node2").is_some()
            || h.position("promote", "db:1", "node2").is_some(),
        "{:?}",
        h.executed()
    );
    assert!(
        h.store
            .nodes
            .values()
            .flat_map(|n| n.resources.iter())
            .flat_map(|r| r.ops.iter())
            .all(|o| o.operation != "notify"),
        "no notification in the history"
    );
    assert!(
        h.store
            .nodes
            .values()
            .all(|n| !n.transient_attributes.keys().any(|k| k.contains("notify"))),
        "a failed notification counts no failure"
    );
    assert!(
        notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::Blocked { why } if why.contains("ignored")))
    );
    assert!(h.ctl.is_idle());
}

#[test]
fn an_agent_updating_its_attributes_during_its_promote_does_not_abort_the_transition() {
    let mut h =
        promoting_with_notifications(Box::new(|q| (q.operation != "promote").then_some(None)));
    assert!(h.dispatched("promote", "node2"), "{:?}", h.log);
    // pgsql's promote records its replication state and score.
    let st = h.store.nodes.get_mut("node2").unwrap();
    st.transient_attributes
        .insert("db-status".into(), "PRI".into());
    st.transient_attributes
        .insert("master-db".into(), "1000".into());
    h.queue.push_back(h.document());
    h.run();
    assert!(
        !notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::TransitionAborted { .. })),
        "{:?}",
        notices(&h.log)
    );
}

#[test]
fn an_aborted_transition_still_sends_the_post_notifications_of_what_it_did() {
    // The promote's answer is held back.
    let mut h =
        promoting_with_notifications(Box::new(|q| (q.operation != "promote").then_some(None)));
    let promote = h
        .log
        .iter()
        .find_map(|c| match c {
            Command::Execute(q) if q.operation == "promote" => Some(q.clone()),
            _ => None,
        })
        .expect("a promote is dispatched");
    // The promoted node is put in standby meanwhile: the transition
    // aborts.
    let st = h.store.nodes.get_mut("node1").unwrap();
    st.transient_attributes
        .insert("standby".into(), "on".into());
    h.queue.push_back(h.document());
    h.run();
    assert!(
        notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::TransitionAborted { .. }))
    );
    h.log.clear();
    h.queue.push_back(Input::ActionResult(ActionResult {
        id: promote.id,
        node: promote.node.clone(),
        resource: promote.resource.clone(),
        instance: promote.instance.clone(),
        operation: "promote".into(),
        interval_ms: 0,
        rc: rc::OK,
        op_status: 0,
        output: String::new(),
        at: 0,
        exec_ms: 1,
    }));
    h.run();
    let posts: Vec<&str> = h
        .log
        .iter()
        .filter_map(|c| match c {
            Command::Execute(q)
                if q.operation == "notify"
                    && q.meta.get("notify_type").map(String::as_str) == Some("post") =>
            {
                Some(q.node.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(
        posts.contains(&"node1") && posts.contains(&"node2"),
        "post-promote to both: {:?}",
        h.log
    );
}

#[test]
fn after_a_fence_a_standby_without_a_promotion_score_is_probed_once_for_a_fresh_one() {
    let mut h = Harness::new(&promotable());
    let score = |h: &mut Harness, node: &str, v: Option<&str>| {
        let st = h.store.nodes.get_mut(node).unwrap();
        match v {
            Some(v) => st.transient_attributes.insert("master-db".into(), v.into()),
            None => st.transient_attributes.remove("master-db"),
        };
        h.queue.push_back(h.document());
        h.run();
    };
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    // The agent on node2 says it is the better primary.
    score(&mut h, "node2", Some("100"));
    score(&mut h, "node1", Some("5"));
    assert!(
        h.position("promote", "db:0", "node2").is_some()
            || h.position("promote", "db:1", "node2").is_some(),
        "{:?}",
        h.executed()
    );
    // node2 loses power; like pgsql, node1's agent has withdrawn its
    // score while a primary was running.
    score(&mut h, "node1", None);
    h.log.clear();
    h.view(&["node1"], true);
    let probes: Vec<_> = h
        .executed()
        .into_iter()
        .filter(|(o, _, n)| o == "monitor" && n == "node1")
        .collect();
    assert_eq!(
        probes,
        vec![("monitor".to_string(), "db".to_string(), "node1".to_string())],
        "{:?}",
        h.log
    );
    assert!(!h.executed().iter().any(|(o, ..)| o == "promote"));
    // The probe's monitor sets a score: the standby is promoted. No
    // further probe: one refresh per fence.
    h.log.clear();
    score(&mut h, "node1", Some("1000"));
    let ex = h.executed();
    assert!(
        ex.iter().any(|(o, _, n)| o == "promote" && n == "node1"),
        "{ex:?}"
    );
    assert!(!ex.iter().any(|(o, ..)| o == "monitor"), "{ex:?}");
}

#[test]
fn a_lost_node_is_fenced_before_its_resources_are_recovered() {
    let mut h = Harness::started();
    h.fence_ok = false;
    h.view(&["node1"], true);
    assert!(
        h.executed().is_empty(),
        "nothing before the fence: {:?}",
        h.log
    );
    assert_eq!(h.held_fences.len(), 1);
    assert_eq!(h.held_fences[0].target, "node2");
    // The device fails: reported, retried with back-off, nothing recovered.
    let fail = |h: &mut Harness| {
        h.queue.push_back(Input::FenceOutcome(FenceOutcome {
            target: "node2".into(),
            ok: false,
            detail: "bmc unreachable".into(),
            at: 0,
            action: String::new(),
            devices: Vec::new(),
        }));
        h.run();
    };
    fail(&mut h);
    let n = notices(&h.log);
    assert!(
        n.iter()
            .any(|n| matches!(n, Notice::FenceFailed { target, .. } if target == "node2"))
    );
    assert!(n.iter().any(|n| matches!(n, Notice::Blocked { .. })));
    h.tick(500);
    assert_eq!(h.held_fences.len(), 1, "no retry before the back-off");
    h.tick(600);
    assert_eq!(h.held_fences.len(), 2, "retried after 1 s");
    fail(&mut h);
    h.tick(1_100);
    assert_eq!(h.held_fences.len(), 2, "the back-off doubled");
    h.tick(1_000);
    assert_eq!(h.held_fences.len(), 3);
    assert!(h.executed().is_empty());
    // Confirmed: recorded, then recovery on the survivor.
    h.fence_confirmed("node2");
    assert!(h.log.iter().any(
        |c| matches!(c, Command::RecordStatus(StatusPatch::NodeFenced(o)) if o.target == "node2")
    ));
    // Both failed attempts and the confirmation are in the replicated
    // fencing history: the failures as one entry, asked by this DC.
    let history = &h.store.fencing_history;
    assert_eq!(history.len(), 2, "{history:#?}");
    let (failed, ok) = (&history[0], &history[1]);
    assert!(!failed.ok && failed.attempts == 2, "{failed:?}");
    assert_eq!(failed.detail, "bmc unreachable");
    assert!(ok.ok && ok.target == "node2" && ok.devices == ["bmc"]);
    for e in history {
        assert_eq!((e.origin.as_str(), e.delegate.as_str()), ("node1", "node1"));
        assert_eq!(e.client, "controller");
        assert!(!e.action.is_empty(), "the action of the request: {e:?}");
        assert!(e.elapsed_ms.is_some());
    }
    assert!(ok.id > failed.id);
    assert!(h.running("node1", "fs") && h.running("node1", "vip"));
    let ex = h.executed();
    assert!(ex.iter().all(|(_, _, n)| n == "node1"), "{ex:?}");
}

/// A step on the survivor may wait for the store, which commits nothing
/// alone before the lost peer's fence (chaos seed 11, fault 22: pgsql's
/// notify retried `crm_attribute -l forever`): the fence goes out while
/// that step is still in flight.
#[test]
fn a_node_lost_while_a_step_runs_on_the_survivor_is_fenced_at_once() {
    let mut h = Harness::started();
    // fs's start on node1 never answers.
    h.answer = Box::new(|q| {
        (q.operation != "start" || q.instance != "fs" || q.node != "node1").then_some(None)
    });
    apply_patch(
        &mut h.store,
        &StatusPatch::Attribute {
            node: "node2".into(),
            name: "standby".into(),
            value: Some("on".into()),
        },
    );
    h.queue.push_back(h.document());
    h.run();
    assert!(
        h.position("start", "fs", "node1").is_some(),
        "{:?}",
        h.executed()
    );
    let fence = h.lose_node2();
    assert_eq!(fence.target, "node2");
    // Confirmed: nothing else is dispatched until the start's outcome.
    let before = h.executed().len();
    h.fence_confirmed("node2");
    assert!(h.log.iter().any(
        |c| matches!(c, Command::RecordStatus(StatusPatch::NodeFenced(o)) if o.target == "node2")
    ));
    assert_eq!(h.executed().len(), before, "{:?}", h.executed());
}

#[test]
fn an_operators_confirmation_completes_a_fence_that_hangs_and_recovery_follows() {
    let mut h = Harness::started();
    // node2 died with its BMC: the fence never answers.
    h.lose_node2();
    h.tick(30_000);
    assert!(
        h.executed().is_empty(),
        "nothing before the fence: {:?}",
        h.log
    );
    // Refused for a member (node1 is one).
    h.queue.push_back(Input::FenceConfirmed {
        target: "node1".into(),
        by: "root".into(),
    });
    h.run();
    assert!(h.store.fencing_history.is_empty());
    assert!(h.executed().is_empty());
    h.queue.push_back(Input::FenceConfirmed {
        target: "node2".into(),
        by: "root".into(),
    });
    h.truth.retain(|(n, _), _| n != "node2");
    h.run();
    assert!(h.log.iter().any(
        |c| matches!(c, Command::RecordStatus(StatusPatch::NodeFenced(o)) if o.target == "node2" && o.ok)
    ));
    let history = &h.store.fencing_history;
    assert_eq!(history.len(), 1, "{history:#?}");
    let e = &history[0];
    assert!(e.ok && e.target == "node2" && e.devices.is_empty(), "{e:?}");
    assert_eq!(e.client, "root", "who confirmed it");
    assert!(e.detail.contains("by hand"), "{e:?}");
    assert!(h.running("node1", "fs") && h.running("node1", "vip"));
    // The device's attempt ends later, failed: recorded, not retried.
    h.queue.push_back(Input::FenceOutcome(FenceOutcome {
        target: "node2".into(),
        ok: false,
        detail: "bmc unreachable".into(),
        at: 0,
        action: String::new(),
        devices: Vec::new(),
    }));
    h.run();
    let fences = h.held_fences.len();
    h.tick(60_000);
    assert_eq!(
        h.held_fences.len(),
        fences,
        "no retry after the confirmation"
    );
    assert!(h.running("node1", "fs"));
}

#[test]
fn a_change_aborts_the_transition_and_in_flight_steps_are_awaited() {
    let mut h = Harness::new(&config());
    // fs's start never answers.
    h.answer = Box::new(|q| (q.operation != "start" || q.instance != "fs").then_some(None));
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    assert!(h.position("start", "fs", "node2").is_some());
    let before = h.executed().len();
    // An attribute that changes nothing in the plan changes (a
    // node-side patch through the store): the transition goes on.
    let attribute = |h: &mut Harness, node: &str, name: &str, value: &str| {
        apply_patch(
            &mut h.store,
            &StatusPatch::Attribute {
                node: node.into(),
                name: name.into(),
                value: Some(value.into()),
            },
        );
        h.queue.push_back(h.document());
        h.run();
    };
    attribute(&mut h, "node1", "color", "blue");
    assert!(
        !notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::TransitionAborted { .. })),
        "the plan still holds"
    );
    // One that changes the plan aborts it: node2, where fs starts, is
    // put in standby.
    attribute(&mut h, "node2", "standby", "on");
    assert!(
        notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::TransitionAborted { .. }))
    );
    assert_eq!(
        h.executed().len(),
        before,
        "nothing new while fs's start is in flight"
    );
    // The start times out after its timeout (20 s default) + grace.
    h.tick(20_500);
    assert_eq!(h.executed().len(), before);
    h.tick(1_000);
    let st = &h.store.nodes["node2"];
    let fs = st.resources.iter().find(|r| r.id == "fs").unwrap();
    assert!(
        fs.ops
            .iter()
            .any(|o| o.operation == "start" && o.op_status == op_status::TIMED_OUT)
    );
    // start-failure-is-fatal: fs and its group go to node1.
    assert_eq!(st.transient_attributes["fail-count-fs#start_0"], "INFINITY");
    assert!(
        h.position("start", "fs", "node1").is_some(),
        "{:?}",
        h.executed()
    );
}

#[test]
fn monitor_failures_restart_in_place_then_move_after_migration_threshold() {
    let mut h = Harness::started();
    let monitor_fails = |h: &mut Harness, id: u64| {
        h.truth.remove(&("node2".to_string(), "vip".to_string()));
        h.queue.push_back(Input::ActionResult(ActionResult {
            id,
            node: "node2".into(),
            resource: "vip".into(),
            instance: "vip".into(),
            operation: "monitor".into(),
            interval_ms: 5_000,
            rc: rc::NOT_RUNNING,
            op_status: 0,
            output: "gone".into(),
            at: 10,
            exec_ms: 1,
        }));
        h.run();
    };
    monitor_fails(&mut h, 999_000_001);
    assert_eq!(h.store.nodes["node2"].fail_count("vip"), 1);
    assert!(h.position("stop", "vip", "node2").is_some());
    assert!(
        h.position("start", "vip", "node2").is_some(),
        "{:?}",
        h.executed()
    );
    assert!(h.running("node2", "vip"));
    h.log.clear();
    monitor_fails(&mut h, 999_000_002);
    assert_eq!(h.store.nodes["node2"].fail_count("vip"), 2);
    // migration-threshold 2: the group leaves node2.
    assert!(
        h.running("node1", "vip") && h.running("node1", "fs"),
        "{:?}",
        h.executed()
    );
    assert!(!h.running("node2", "vip"));
}

#[test]
fn a_clean_shutdown_moves_resources_away_and_is_not_fenced() {
    let mut h = Harness::started();
    apply_patch(
        &mut h.store,
        &StatusPatch::Attribute {
            node: "node2".into(),
            name: "shutdown".into(),
            value: Some("1".into()),
        },
    );
    h.queue.push_back(h.document());
    h.run();
    assert!(h.running("node1", "fs") && h.running("node1", "vip"));
    assert!(!h.running("node2", "fs"));
    h.log.clear();
    h.view(&["node1"], true);
    assert!(h.log.iter().any(
        |c| matches!(c, Command::RecordStatus(StatusPatch::NodeLeftCleanly(n)) if n == "node2")
    ));
    assert!(!h.log.iter().any(|c| matches!(c, Command::Fence(_))));
    assert!(h.executed().is_empty());
}

#[test]
fn without_quorum_nothing_starts_and_suicide_fences_self() {
    let text = config().replace("node = \"node2\"", "node = \"node1\"");
    let mut h = Harness::new(&text);
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    assert!(h.running("node1", "fs"));
    h.truth
        .insert(("node2".into(), "other".into()), Role::Started);
    h.log.clear();
    h.view(&["node1", "node2"], false);
    // no-quorum-policy=stop: each node stops what runs on it, nothing starts.
    assert!(!h.running("node1", "fs") && !h.running("node1", "vip"));
    let ex = h.executed();
    assert!(
        ex.iter().all(|(o, _, n)| o == "stop" && n == "node1"),
        "{ex:?}"
    );
    // A node alone without quorum is its own DC.
    let mut other = Controller::new(settings("node2"));
    let members: BTreeSet<NodeId> = ["node1".to_string(), "node2".to_string()].into();
    other.handle(
        0,
        0,
        Input::View {
            members,
            quorate: false,
        },
    );
    assert!(other.is_dc());
    let text = config().replace(
        "stonith-enabled = true",
        "stonith-enabled = true\nno-quorum-policy = \"suicide\"",
    );
    let mut h = Harness::new(&text);
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    h.fence_ok = false;
    h.log.clear();
    h.view(&["node1"], false);
    assert_eq!(
        h.held_fences.first().map(|f| f.target.as_str()),
        Some("node1")
    );
}

#[test]
fn right_after_startup_a_missing_node_is_fenced_only_after_dc_deadtime() {
    let mut h = Harness::new(&config().replace("dc-deadtime = \"0s\"", "dc-deadtime = \"5s\""));
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    h.fence_ok = false;
    h.log.clear();
    h.view(&["node1"], true);
    assert!(h.held_fences.is_empty());
    assert!(h.executed().is_empty(), "nothing recovered meanwhile");
    assert!(
        notices(&h.log)
            .iter()
            .any(|n| matches!(n, Notice::Blocked { why } if why.contains("dc-deadtime")))
    );
    h.tick(4_000);
    assert!(h.held_fences.is_empty());
    h.tick(1_100);
    assert_eq!(h.held_fences.len(), 1);
}

#[test]
fn a_quorate_dc_waits_for_the_synced_document_and_resends_what_it_lacks() {
    let mut h = Harness::new(&config());
    h.queue.push_back(h.document());
    h.store_drops = true;
    // The view arrives, the store has not synced yet: nothing but facts.
    h.queue.push_back(Input::View {
        members: ["node1".to_string(), "node2".to_string()].into(),
        quorate: true,
    });
    h.run();
    assert!(h.executed().is_empty(), "no probe or start before Synced");
    let joined = |log: &[Command]| {
        log.iter()
            .filter(|c| matches!(c, Command::RecordStatus(StatusPatch::NodeJoined(_))))
            .count()
    };
    assert_eq!(joined(&h.log), 2);
    // The store dropped those (it had no quorum yet): a new view makes
    // the DC send them again.
    h.store_drops = false;
    h.log.clear();
    h.queue.push_back(Input::View {
        members: ["node1".to_string(), "node2".to_string()].into(),
        quorate: true,
    });
    h.run();
    assert_eq!(joined(&h.log), 2, "resent: {:?}", h.log);
    h.queue.push_back(Input::Synced);
    h.run();
    assert!(h.running("node2", "fs"), "{:?}", h.executed());
}

#[test]
fn a_cleanup_forgets_failures_and_the_resource_is_probed_again() {
    let mut h = Harness::started();
    h.truth.remove(&("node2".to_string(), "vip".to_string()));
    h.queue.push_back(Input::ActionResult(ActionResult {
        id: 999_000_001,
        node: "node2".into(),
        resource: "vip".into(),
        instance: "vip".into(),
        operation: "monitor".into(),
        interval_ms: 5_000,
        rc: rc::NOT_RUNNING,
        op_status: 0,
        output: String::new(),
        at: 10,
        exec_ms: 1,
    }));
    h.run();
    assert_eq!(h.store.nodes["node2"].fail_count("vip"), 1);
    h.log.clear();
    apply_patch(
        &mut h.store,
        &StatusPatch::Cleanup {
            resource: "vip".into(),
            node: None,
        },
    );
    h.queue.push_back(h.document());
    h.run();
    assert_eq!(h.store.nodes["node2"].fail_count("vip"), 0);
    let probes: Vec<_> = h
        .executed()
        .into_iter()
        .filter(|(o, r, _)| o == "monitor" && r == "vip")
        .collect();
    assert_eq!(
        probes.len(),
        2,
        "vip probed on both nodes: {:?}",
        h.executed()
    );
    assert!(h.running("node2", "vip"));
}

/// The starts of `rsc` the DC sent, with the fenced holder each named.
fn starts_of(log: &[Command], rsc: &str) -> Vec<(NodeId, Option<String>)> {
    log.iter()
        .filter_map(|c| match c {
            Command::Execute(q) if q.operation == "start" && q.instance == rsc => Some((
                q.node.clone(),
                q.meta.get(crate::model::FENCED_HOLDER_META).cloned(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_start_after_the_previous_holder_was_fenced_names_that_node_until_it_is_back() {
    let mut h = Harness::new(&config());
    h.queue.push_back(h.document());
    h.view(&["node1", "node2"], true);
    assert_eq!(starts_of(&h.log, "vip"), [("node2".to_string(), None)]);
    h.log.clear();
    // node2 is lost and fenced: its VIP's next start says so.
    h.view(&["node1"], true);
    assert!(h.running("node1", "vip"), "{:?}", h.executed());
    assert_eq!(
        starts_of(&h.log, "vip"),
        [("node1".to_string(), Some("node2".to_string()))]
    );
    assert_eq!(
        starts_of(&h.log, "fs"),
        [("node1".to_string(), Some("node2".to_string()))]
    );
    // node2 is back: the group moves home, an ordinary start (node1 ran it
    // last and was never fenced).
    h.log.clear();
    h.view(&["node1", "node2"], true);
    assert_eq!(starts_of(&h.log, "vip"), [("node2".to_string(), None)]);
}

fn losses_of(log: &[Command], node: &str) -> usize {
    notices(log)
        .iter()
        .filter(|n| matches!(n, Notice::NodeLost(x) if x == node))
        .count()
}

/// A daemon paused past the token is lost, and back in the view before
/// its fence is confirmed. The fence cuts that incarnation off: until it
/// leaves the view it is offline (nothing is placed on it, nobody waits
/// for its report), and its departure is not a new loss. Chaos seed 38,
/// fault 20: fenced three times in 2.3 s, the second fence cutting off
/// the node's next incarnation. A new incarnation that joins afterwards
/// is a member like any, and fenced when it is lost.
#[test]
fn a_node_fenced_while_back_in_the_view_is_not_fenced_again_when_it_leaves() {
    let mut h = Harness::started();
    h.lose_node2();
    h.view(&["node1", "node2"], true);
    assert_eq!(h.held_fences.len(), 1, "the fence goes on: {:?}", h.log);
    // Powered off: that incarnation answers nothing any more.
    h.silent_reports = true;
    h.ledgers.remove("node2");
    h.log.clear();
    h.fence_confirmed("node2");
    assert!(
        h.executed().iter().all(|(_, _, n)| n == "node1"),
        "nothing goes to the fenced incarnation: {:?}",
        h.executed()
    );
    assert!(
        h.running("node1", "fs") && h.running("node1", "vip"),
        "recovered at once, without waiting for a report: {:?}",
        h.log
    );
    // Its silence is noticed: it leaves the view.
    h.view(&["node1"], true);
    assert_eq!(losses_of(&h.log, "node2"), 0, "{:?}", notices(&h.log));
    assert_eq!(h.held_fences.len(), 1, "not fenced again: {:?}", h.log);
    // The node boots and joins: a member again, fenced when lost.
    h.silent_reports = false;
    h.view(&["node1", "node2"], true);
    assert!(
        h.log.iter().any(
            |c| matches!(c, Command::RecordStatus(StatusPatch::NodeJoined(n)) if n == "node2")
        )
    );
    h.view(&["node1"], true);
    assert_eq!(losses_of(&h.log, "node2"), 1, "{:?}", notices(&h.log));
    assert_eq!(h.held_fences.len(), 2);
}

/// A fence that says it succeeded while the node's daemon still answers
/// (a device that did not cut the power): the node reports what it runs
/// and is a member again, as before.
#[test]
fn a_node_still_answering_after_its_fence_reports_and_is_a_member_again() {
    let mut h = Harness::started();
    h.lose_node2();
    h.view(&["node1", "node2"], true);
    h.log.clear();
    h.fence_confirmed("node2");
    h.tick(REPORT_WAIT_MS);
    assert!(
        h.log
            .iter()
            .any(|c| matches!(c, Command::RequestReport { node } if node == "node2")),
        "{:?}",
        h.log
    );
    assert!(
        h.log.iter().any(
            |c| matches!(c, Command::RecordStatus(StatusPatch::NodeJoined(n)) if n == "node2")
        )
    );
}
