//! The imperative edits of the CLI on a live daemon (issue 17): a lone
//! `pacelined` on loopback with the Dummy agent (no root needed), driven
//! only through `paceline` commands: resource create/update/delete in a
//! group, enable/disable with `--wait`, manage/unmanage, constraints,
//! node attributes, properties, fencing devices and levels, move away and
//! clear --node, cleanup of everything and refresh. Every change keeps the
//! operator's comment and goes through the version it read.

use std::path::Path;

#[path = "local/mod.rs"]
mod local;

use local::text;

fn started(p: Option<(String, Vec<String>)>) -> bool {
    p.is_some_and(|(role, nodes)| role == "Started" && nodes == ["node1"])
}

fn stopped(p: Option<(String, Vec<String>)>) -> bool {
    p.is_none_or(|(role, nodes)| role == "Stopped" || nodes.is_empty())
}

#[test]
fn resources_constraints_properties_and_fencing_are_edited_from_the_command_line() {
    if !Path::new("/usr/lib/ocf/resource.d/heartbeat/Dummy").exists() {
        eprintln!("skipping: needs resource-agents' Dummy");
        return;
    }
    let d = local::Lone::start("plcli");
    // create, in a group, --wait returns once it runs.
    d.ok(&[
        "resource",
        "create",
        "web",
        "ocf:heartbeat:Dummy",
        "--param",
        "fake=w",
        "--op",
        "monitor interval=2s",
        "--group",
        "app",
        "--wait=30s",
    ]);
    assert!(started(d.placed("web")), "{:?}", d.placed("web"));
    d.ok(&[
        "resource",
        "create",
        "ip",
        "ocf:heartbeat:Dummy",
        "--group",
        "app",
        "--wait",
    ]);
    assert!(started(d.placed("ip")));
    d.ok(&[
        "resource",
        "create",
        "solo",
        "ocf:heartbeat:Dummy",
        "--wait",
    ]);
    let cfg = d.config();
    assert!(cfg.contains("# operator's note: keep me"), "{cfg}");
    assert!(cfg.contains("members = [\"web\", \"ip\"]"), "{cfg}");
    // An id that exists, a missing agent: usage errors, nothing changed.
    let out = d.cli(&["resource", "create", "web", "ocf:heartbeat:Dummy"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = d.cli(&["resource", "create", "nothing"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // update, disable/enable (pcs names) with --wait, unmanage/manage.
    d.ok(&[
        "resource",
        "update",
        "web",
        "--meta",
        "resource-stickiness=100",
        "--param",
        "fake=x",
    ]);
    let cfg = d.config();
    assert!(
        cfg.contains("resource-stickiness = 100") && cfg.contains("fake = \"x\""),
        "{cfg}"
    );
    d.ok(&["resource", "disable", "app", "--wait=30s"]);
    assert!(
        stopped(d.placed("web")) && stopped(d.placed("ip")),
        "{:?}",
        d.report().resources
    );
    d.ok(&["resource", "enable", "app", "--wait=30s"]);
    assert!(started(d.placed("web")) && started(d.placed("ip")));
    d.ok(&["resource", "unmanage", "solo"]);
    assert!(d.config().contains("is-managed = false"));
    d.ok(&["resource", "manage", "solo"]);
    assert!(!d.config().contains("is-managed"));

    // constraints.
    d.ok(&[
        "constraint",
        "add",
        "location",
        "app-here",
        "app",
        "--rule",
        "#uname eq node1",
        "--score",
        "100",
    ]);
    d.ok(&[
        "constraint",
        "add",
        "colocation",
        "solo-with-app",
        "solo",
        "app",
        "--score",
        "50",
    ]);
    d.ok(&[
        "constraint",
        "add",
        "order",
        "app-then-solo",
        "app",
        "solo",
        "--kind",
        "Optional",
    ]);
    let listed = d.ok(&["constraint", "list"]);
    for id in [
        "location app-here",
        "colocation solo-with-app",
        "order app-then-solo",
    ] {
        assert!(listed.contains(id), "{listed}");
    }
    d.ok(&["constraint", "remove", "app-then-solo"]);
    assert!(!d.ok(&["constraint", "list"]).contains("app-then-solo"));
    let out = d.cli(&["constraint", "remove", "app-then-solo"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // node attributes, properties.
    d.ok(&["node", "attribute", "set", "node1", "rack", "a"]);
    assert!(d.config().contains("rack = \"a\""));
    d.ok(&["node", "attribute", "delete", "node1", "rack"]);
    assert!(!d.config().contains("rack"));
    d.ok(&["property", "set", "no-quorum-policy", "ignore"]);
    assert!(
        d.ok(&["property", "list"])
            .contains("no-quorum-policy = ignore\n")
    );
    d.ok(&["property", "unset", "no-quorum-policy"]);
    assert!(
        d.ok(&["property", "list"])
            .contains("no-quorum-policy = stop (default)")
    );

    // fencing devices and levels (fencing stays off here).
    d.ok(&[
        "fencing",
        "device",
        "add",
        "bmc1",
        "--type",
        "agent",
        "--set",
        "agent=fence_dummy",
        "--param",
        "type=file",
    ]);
    d.ok(&[
        "fencing",
        "device",
        "update",
        "bmc1",
        "--set",
        "timeout=9s",
        "--param",
        "type=",
    ]);
    let cfg = d.config();
    assert!(
        cfg.contains("timeout = \"9s\"") && !cfg.contains("type = \"file\""),
        "{cfg}"
    );
    d.ok(&["fencing", "level", "add", "node1", "1", "bmc1"]);
    let out = d.cli(&["fencing", "device", "remove", "bmc1"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "in use by a level: {}",
        text(&out)
    );
    d.ok(&["fencing", "level", "remove", "node1", "1"]);
    d.ok(&["fencing", "device", "remove", "bmc1"]);
    assert!(!d.config().contains("bmc1"));

    // move away from the only node: stopped; clear --node: back.
    d.ok(&["resource", "move", "solo", "--wait=30s"]);
    assert!(d.config().contains("cli-ban-solo-on-node1"));
    assert!(stopped(d.placed("solo")), "{:?}", d.placed("solo"));
    d.ok(&["resource", "clear", "solo", "--node", "node1", "--wait=30s"]);
    assert!(!d.config().contains("cli-ban-solo"));
    assert!(started(d.placed("solo")));

    // A failure (the Dummy's state file gone), then cleanup of everything.
    // With migration-threshold=1 the failed monitor stays listed (web is
    // banned from the only node, so no later monitor replaces it) until the
    // cleanup: a failure recovered in place vanished within a second, and
    // polling for it raced the recovery.
    d.ok(&[
        "resource",
        "update",
        "web",
        "--meta",
        "migration-threshold=1",
    ]);
    let state = std::fs::read_dir(d.dir.join("rsctmp"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("Dummy-web"))
        .expect("web's state file");
    std::fs::remove_file(state).unwrap();
    d.until("web's monitor failure", |r| {
        r.failed_actions.iter().any(|f| f.resource == "web")
    });
    let out = d.ok(&["resource", "cleanup"]);
    assert!(out.contains("web"), "{out}");
    d.until("no failure", |r| r.failed_actions.is_empty());
    let out = d.ok(&["resource", "refresh"]);
    for id in ["web", "ip", "solo"] {
        assert!(out.contains(id), "{out}");
    }

    // delete the group: its members and the constraints naming it go.
    d.ok(&["resource", "delete", "app", "--wait=30s"]);
    let cfg = d.config();
    assert!(
        !cfg.contains("web") && !cfg.contains("app-here") && !cfg.contains("solo-with-app"),
        "{cfg}"
    );
    assert!(cfg.contains("# operator's note: keep me"), "{cfg}");
    assert!(stopped(d.placed("web")));
}

/// `resource defaults set|unset [--op]` (pcs resource [op] defaults,
/// crm configure rsc_defaults|op_defaults) edit `[rsc_defaults]` and
/// `[op_defaults]` of the running configuration; an unknown meta
/// attribute is refused before anything is sent.
#[test]
fn resource_and_operation_defaults_are_set_and_unset() {
    let d = local::Lone::start("pldefaults");
    d.ok(&["resource", "defaults", "set", "resource-stickiness", "50"]);
    d.ok(&["resource", "defaults", "set", "timeout", "45s", "--op"]);
    let cfg = d.config();
    assert!(
        cfg.contains("[rsc_defaults]\nresource-stickiness = 50"),
        "{cfg}"
    );
    assert!(cfg.contains("[op_defaults]\ntimeout = \"45s\""), "{cfg}");
    assert!(cfg.contains("# operator's note: keep me"), "{cfg}");
    let out = d.cli(&["resource", "defaults", "set", "stickyness", "5"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    d.ok(&["resource", "defaults", "unset", "resource-stickiness"]);
    d.ok(&["resource", "defaults", "unset", "timeout", "--op"]);
    let cfg = d.config();
    assert!(
        !cfg.contains("rsc_defaults") && !cfg.contains("op_defaults"),
        "{cfg}"
    );
}

/// `node utilization set|delete` (pcs node utilization) edits the node's
/// capacities in the running configuration; an unknown node is refused.
#[test]
fn node_capacities_are_set_and_deleted() {
    let d = local::Lone::start("plutil");
    d.ok(&["node", "utilization", "set", "node1", "cpu", "8"]);
    d.ok(&["node", "utilization", "set", "node1", "memory", "16384"]);
    let utilization = |cfg: &str| {
        let doc: toml::Value = toml::from_str(cfg).unwrap();
        doc["node"][0]["utilization"].clone()
    };
    let cfg = d.config();
    assert_eq!(
        utilization(&cfg),
        toml::Value::Table(toml::toml! { cpu = 8
        memory = 16384 }),
        "{cfg}"
    );
    let out = d.cli(&["node", "utilization", "set", "node9", "cpu", "8"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    d.ok(&["node", "utilization", "delete", "node1", "cpu"]);
    let cfg = d.config();
    assert_eq!(
        utilization(&cfg),
        toml::Value::Table(toml::toml! { memory = 16384 }),
        "{cfg}"
    );
}

/// `node attribute delete` deletes a permanent attribute wherever it is
/// kept, as `crm_attribute -l forever -D` does: one the operator set (the
/// configuration's) and one an agent set with `crm_attribute -l forever`
/// (the status's, pgsql's data status say), which it could not delete
/// before.
#[test]
fn permanent_attributes_are_deleted_whoever_set_them() {
    let d = local::Lone::start("plattr");
    let agents = paceline::api::Request::NodeAttribute {
        node: "node1".into(),
        name: "db-data-status".into(),
        value: Some("LATEST".into()),
    };
    let answer = paceline::api::call(&d.socket(), &agents).unwrap();
    assert!(
        matches!(answer, paceline::api::Response::Accepted { .. }),
        "{answer:?}"
    );
    d.ok(&["node", "attribute", "set", "node1", "rack", "a"]);
    let permanent = |name: &str| {
        d.report()
            .permanent_attributes
            .get("node1")
            .and_then(|a| a.get(name).cloned())
    };
    assert_eq!(permanent("db-data-status").as_deref(), Some("LATEST"));
    assert_eq!(permanent("rack").as_deref(), Some("a"));
    d.ok(&["node", "attribute", "delete", "node1", "db-data-status"]);
    assert_eq!(permanent("db-data-status"), None);
    d.ok(&["node", "attribute", "delete", "node1", "rack"]);
    assert_eq!(permanent("rack"), None);
    assert!(!d.config().contains("rack"), "{}", d.config());
    let out = d.cli(&["node", "attribute", "delete", "node1", "rack"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("node1 has no permanent attribute rack"),
        "{}",
        text(&out)
    );
}
