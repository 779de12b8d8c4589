//! on-fail=fence and on-fail=standby: what a failure escalates to.

use crate::model::{ClusterConfig, ClusterStatus, ResourceHistory, Role};
use crate::scheduler::transition::tests::{online, op, running};
use crate::scheduler::{Verb, schedule};

fn config(on_fail: &str, stonith: bool) -> ClusterConfig {
    let resources = format!(
        r#"[[primitive]]
id = "db"
agent = "ocf:heartbeat:Dummy"
ops = [{{ name = "monitor", interval = "10s", on_fail = "{on_fail}" }}]

[[primitive]]
id = "web"
agent = "ocf:heartbeat:Dummy"

[[location]]
id = "db-prefers-node1"
resource = "db"
node = "node1"
score = 100

[[location]]
id = "web-prefers-node1"
resource = "web"
node = "node1"
score = 100
"#
    );
    let text = crate::config::fixtures::two_nodes(stonith, "", &resources);
    crate::config::load_config_str(&text, "t.toml").unwrap()
}

/// Both nodes up, db and web on node1, db's monitor failed there.
fn failed_monitor() -> ClusterStatus {
    let mut status = ClusterStatus {
        have_quorum: true,
        ..ClusterStatus::default()
    };
    online(&mut status, "node1");
    online(&mut status, "node2");
    running(&mut status, "node1", "web", Role::Started);
    let st = status.nodes.get_mut("node1").unwrap();
    st.resources.push(ResourceHistory {
        id: "db".into(),
        class: None,
        provider: None,
        agent: None,
        container: None,
        ops: vec![op("start", 0, 1, 0), op("monitor", 10_000, 2, 7)],
    });
    st.transient_attributes
        .insert("fail-count-db#monitor_10000".into(), "1".into());
    status
}

fn changes(config: &ClusterConfig, status: &ClusterStatus) -> Vec<(Verb, String, Option<String>)> {
    schedule(config, status, 2_000)
        .changes
        .into_iter()
        .filter(|c| !c.blocked)
        .map(|c| (c.verb, c.subject, c.to))
        .collect()
}

#[test]
fn on_fail_fence_fences_the_node_where_the_monitor_failed() {
    let plan = schedule(&config("fence", true), &failed_monitor(), 2_000);
    let fence = plan
        .changes
        .iter()
        .find(|c| c.verb == Verb::Fence)
        .unwrap_or_else(|| panic!("{:?}", plan.changes));
    assert_eq!(fence.subject, "node1");
    assert!(
        fence
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("on-fail=fence"),
        "{fence:?}"
    );
}

#[test]
fn on_fail_standby_moves_everything_off_the_node() {
    let got = changes(&config("standby", false), &failed_monitor());
    for rsc in ["db", "web"] {
        assert!(
            got.iter()
                .any(|(_, s, to)| s == rsc && to.as_deref() == Some("node2")),
            "{rsc} moves to node2: {got:?}"
        );
    }
    assert!(!got.iter().any(|(v, ..)| *v == Verb::Fence), "{got:?}");
}

#[test]
fn on_fail_fence_without_fencing_leaves_the_resource_where_it_failed() {
    let got = changes(&config("fence", false), &failed_monitor());
    assert!(
        !got.iter().any(|(_, s, _)| s == "db"),
        "db is neither recovered nor moved: {got:?}"
    );
}

#[test]
fn on_fail_restart_recovers_in_place() {
    let got = changes(&config("restart", true), &failed_monitor());
    assert!(
        got.iter()
            .any(|(_, s, to)| s == "db" && to.as_deref() == Some("node1")),
        "{got:?}"
    );
    assert!(!got.iter().any(|(v, ..)| *v == Verb::Fence), "{got:?}");
}

/// Two nodes, only node1 left (no quorum); db's stop failed with `rc`
/// on node2, which was lost (unclean, and nobody can fence it without
/// quorum).
fn stop_failed_on_lost_node(rc: i32) -> ClusterStatus {
    use crate::scheduler::transition::tests::lost;
    let mut status = ClusterStatus::default();
    online(&mut status, "node1");
    lost(&mut status, "node2");
    let st = status.nodes.get_mut("node2").unwrap();
    st.resources.push(ResourceHistory {
        id: "db".into(),
        class: None,
        provider: None,
        agent: None,
        container: None,
        ops: vec![op("start", 0, 1, 0), op("stop", 0, 2, rc)],
    });
    st.transient_attributes
        .insert("fail-count-db#stop_0".into(), "INFINITY".into());
    status
}

fn all_changes(config: &ClusterConfig, status: &ClusterStatus) -> Vec<(Verb, String, bool)> {
    schedule(config, status, 2_000)
        .changes
        .into_iter()
        .map(|c| (c.verb, c.subject, c.blocked))
        .collect()
}

#[test]
fn a_stop_failed_beyond_recovery_where_nobody_can_fence_is_left_alone() {
    // rc 5 (not installed): Pacemaker's check_recoverable unmanages db, so
    // not even a blocked stop is scheduled for it.
    let got = all_changes(&config("restart", true), &stop_failed_on_lost_node(5));
    assert!(!got.iter().any(|(_, s, _)| s == "db"), "{got:?}");
    // A generic error (rc 1) leaves db to the fencing nobody can do yet:
    // its stop waits, blocked.
    let got = all_changes(&config("restart", true), &stop_failed_on_lost_node(1));
    assert!(
        got.iter()
            .any(|(v, s, blocked)| *v == Verb::Stop && s == "db" && *blocked),
        "{got:?}"
    );
}

#[test]
fn fencing_enabled_without_a_device_manages_nothing() {
    // A Pacemaker CIB with stonith-enabled and no stonith resource: every
    // resource is unmanaged ("Resource start-up disabled").
    let mut config = config("restart", true);
    let status = failed_monitor();
    assert!(
        all_changes(&config, &status)
            .iter()
            .any(|(_, s, _)| s == "db")
    );
    config.properties.no_fence_device = true;
    assert_eq!(all_changes(&config, &status), vec![]);
}
