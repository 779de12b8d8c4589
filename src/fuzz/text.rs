//! Harnesses of the text inputs: configuration files, CIB XML, status and
//! state files, the local API's request line, agents' meta-data.

use std::sync::OnceLock;

use crate::api::{Request, Response};
use crate::config::{self, cib};
use crate::model::{ClusterConfig, ClusterStatus, Resource};
use crate::node::protocol::{ClusterDocument, ClusterMessage};
use crate::store::machine::Node;

/// A fixed time for the scheduler (2026-01-01), so a run is reproducible.
const NOW: i64 = 1_767_225_600;
/// Above this many resources, nodes or clone instances a CIB is only
/// imported, not scheduled: the fuzzer looks for crashes, not for the
/// scheduler's cost on large clusters (`bench/scheduler` measures that).
/// The range checks of settings such as `clone-max` belong to the config
/// loader (issue 15): `tests/fuzz.rs` keeps the input that shows them missing.
const SCHEDULE_MAX: usize = 64;

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The configuration a fuzzed status is scheduled against.
fn reference_config() -> &'static ClusterConfig {
    static CONFIG: OnceLock<ClusterConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let text = include_str!("../../policies/postgresql-ha.toml");
        match config::load_config_str(text, "postgresql-ha.toml") {
            Ok(c) => c,
            Err(e) => panic!("the reference policy must load: {e}"),
        }
    })
}

/// The most instances any resource asks for (a clone's clone-max,
/// clone-node-max, promoted-max).
fn widest(config: &ClusterConfig) -> usize {
    config
        .resources
        .iter()
        .map(|r| match r {
            Resource::Clone(c) => [c.clone_max.unwrap_or(0), c.clone_node_max, c.promoted_max]
                .into_iter()
                .max()
                .map_or(0, |n| n as usize),
            _ => 1,
        })
        .max()
        .unwrap_or(0)
}

fn schedule_small(config: &ClusterConfig, status: &ClusterStatus) {
    if config.resources.len() <= SCHEDULE_MAX
        && config.nodes.len() <= SCHEDULE_MAX
        && status.nodes.len() <= SCHEDULE_MAX
        && widest(config) <= SCHEDULE_MAX
    {
        // What `simulate` does: the plan, then its transition.
        let plan = crate::scheduler::schedule(config, status, NOW);
        let _ = crate::scheduler::transition::build(config, status, &plan);
    }
}

/// The cluster file, through every reader the daemon and the CLI have of
/// it: the validating loader (and its error rendering), the daemon's
/// settings, the fencing section, the executor's primitives; a file that
/// loads is written back as `import-cib` would.
pub fn config_toml(data: &[u8]) {
    let text = text(data);
    match config::load_config_str(&text, "cluster.toml") {
        Ok(cfg) => {
            let _ = config::to_toml(&cfg);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(doc) = config::parse_document(&text, "cluster.toml") {
        let _ = doc.timers();
    }
    if let Err(e) = config::load_node_str(&text, "cluster.toml") {
        let _ = e.to_string();
    }
    let _ = config::load_fencing_str(&text, "cluster.toml");
}

/// A CIB as `config import-cib` and `simulate --cib` read it: imported,
/// written as TOML, and (when small) scheduled with its own status.
pub fn cib_xml(data: &[u8]) {
    match cib::import_cib(&text(data)) {
        Ok(imported) => {
            let _ = config::cib_to_toml(&imported);
            schedule_small(&imported.config, &imported.status);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The status file of `simulate --status`: the TOML form and the JSON of
/// `ClusterStatus`, each scheduled against the reference policy.
pub fn status_file(data: &[u8]) {
    let text = text(data);
    match config::status::parse_status(&text, "status.toml") {
        Ok(status) => schedule_small(reference_config(), &status),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(status) = serde_json::from_str::<ClusterStatus>(&text) {
        schedule_small(reference_config(), &status);
    }
}

/// The state directory's JSON files as the daemon reloads them after a
/// restart: `cluster.json` (whose document then drives the store and the
/// scheduler), `op-history.json`, the shims' `attributes.json`, and the
/// fencing history's JSON lines.
pub fn state_files(data: &[u8]) {
    let text = text(data);
    if let Ok(doc) = serde_json::from_slice::<ClusterDocument>(data) {
        schedule_small(reference_config(), &doc.status);
        let mut copy = doc.clone();
        let _ = copy.replace_config(copy.version, "[cluster]\nname = \"c\"\n".into());
        let _ = copy.patch_status(|_| ());
        let mut node = Node::new(1, 3, false, doc);
        let _ = node.on_view(7, vec![1, 2], true);
    }
    let _ = serde_json::from_slice::<crate::daemon::cluster::StatusFile>(data);
    let _ = serde_json::from_slice::<crate::executor::history::Saved>(data);
    let _ = serde_json::from_slice::<crate::executor::agent_env::Attributes>(data);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let _ = serde_json::from_str::<paceline_fencing::history::HistoryRecord>(line);
    }
}

/// A line on the local API socket, as the daemon reads it, and an answer
/// line as the client reads it: what parses serializes again.
pub fn api_request(data: &[u8]) {
    let text = text(data);
    let line = text.lines().next().unwrap_or_default();
    if let Ok(request) = serde_json::from_str::<Request>(line) {
        let again = serde_json::to_string(&request).unwrap_or_default();
        assert_eq!(
            serde_json::from_str::<Request>(&again).ok().as_ref(),
            Some(&request)
        );
    }
    if let Ok(response) = serde_json::from_str::<Response>(line) {
        let _ = serde_json::to_string(&response);
    }
}

/// An agent's `meta-data` output: the OCF reader (validation of
/// parameters, `ra info`) and the fence agents' reader.
pub fn agent_metadata(data: &[u8]) {
    let text = text(data);
    let _ = crate::executor::metadata::AgentMetadata::parse(&text);
    if let Ok(spec) = paceline_fencing::agent::parse_metadata(&text) {
        let _ = paceline_fencing::agent::check_params(&spec, &["ip", "username", "password"]);
    }
}

/// Requests of every kind.
pub(super) fn api_seeds() -> Vec<Vec<u8>> {
    let action = super::wire::messages().into_iter().find_map(|m| match m {
        ClusterMessage::ActionRequest(a) => Some(a),
        _ => None,
    });
    let mut requests = vec![
        Request::Status,
        Request::Report,
        Request::Unblock,
        Request::ConfigShow,
        Request::Fence {
            target: "node2".into(),
            action: "reboot".into(),
        },
        Request::FenceConfirm {
            target: "node2".into(),
        },
        Request::Cleanup {
            resource: "db".into(),
            node: Some("node1".into()),
        },
        Request::Ticket {
            ticket: "east".into(),
            change: crate::controller::TicketChange::Grant { at: 1 },
        },
        Request::NodeAttribute {
            node: "node2".into(),
            name: "db-data-status".into(),
            value: Some("STREAMING|SYNC".into()),
        },
        Request::ConfigLoad {
            text: "[cluster]\nname = \"c\"\n".into(),
            file_name: "cluster.toml".into(),
            based_on: Default::default(),
        },
    ];
    requests.extend(action.map(|action| Request::Dispatch { action }));
    requests
        .iter()
        .filter_map(|r| serde_json::to_vec(r).ok())
        .map(|mut line| {
            line.push(b'\n');
            line
        })
        .collect()
}

/// The status file's JSON form (the TOML form is a seed file).
pub(super) fn status_seeds() -> Vec<Vec<u8>> {
    let toml = include_str!("../../tests/config/two-node-status.toml");
    config::status::parse_status(toml, "status.toml")
        .ok()
        .and_then(|s| serde_json::to_vec_pretty(&s).ok())
        .into_iter()
        .collect()
}

/// A state directory's files as the daemon writes them.
pub(super) fn state_seeds() -> Vec<Vec<u8>> {
    use crate::executor::OpRecord;
    use crate::executor::history::Saved;
    let toml = include_str!("../../tests/config/two-node-status.toml");
    let status = config::status::parse_status(toml, "status.toml").unwrap_or_default();
    let mut doc = ClusterDocument::new(
        include_str!("../../policies/postgresql-ha.toml").into(),
        status,
    );
    doc.version.epoch = 3;
    doc.version.view = 2;
    let record = OpRecord {
        call_id: 4,
        resource: "pgsql".into(),
        action: "monitor".into(),
        interval_ms: 10_000,
        rc: 8,
        timed_out: false,
        last_run: 1_764_032_400,
        last_rc_change: 1_764_032_000,
        exec_time_ms: 40,
        exit_reason: Some("promoted".into()),
    };
    let history = Saved {
        next_call_id: 5,
        records: vec![record],
    };
    let fence = paceline_fencing::history::HistoryRecord {
        target: "node2".into(),
        device: "ipmi-pg2".into(),
        action: "reboot".into(),
        requester: "pacelined@node1".into(),
        start_ms: 1_764_032_400_000,
        end_ms: 1_764_032_403_000,
        result: paceline_fencing::history::FenceResult::Ok,
        output: "chassis power is Off".into(),
    };
    let mut fence_lines = serde_json::to_vec(&fence).unwrap_or_default();
    fence_lines.push(b'\n');
    fence_lines.extend(fence_lines.clone());
    vec![
        serde_json::to_vec_pretty(&doc).unwrap_or_default(),
        serde_json::to_vec_pretty(&history).unwrap_or_default(),
        br#"{"node1":{"master-pgsql":"1000","shutdown":"0"},"node2":{}}"#.to_vec(),
        fence_lines,
    ]
}
