//! Real `pacelined` daemons in network namespaces running the whole stack:
//! the replicated document over the reliable channel, configuration
//! changes through the DC, and actions dispatched to the node that runs
//! them. Needs root and iproute2; skipped with a message otherwise.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use paceline::api::{self, Request, Response};
use paceline::controller::{ActionRequest, ActionResult};
use paceline::store::Version;

#[path = "netns/mod.rs"]
mod netns;
use netns::{Cluster, can_run, paceline, report};

const BASE: &str = "[quorum]\ntwo_node = true\n[fencing]\nenabled = false\n";

/// The node's configuration, or None while its daemon does not answer.
fn try_config(c: &Cluster, i: u8) -> Option<(String, Version)> {
    match api::call(&c.socket(i), &Request::ConfigShow) {
        Ok(Response::Config { text, version }) => Some((text, version)),
        _ => None,
    }
}

fn config(c: &Cluster, i: u8) -> (String, Version) {
    match api::call(&c.socket(i), &Request::ConfigShow).unwrap() {
        Response::Config { text, version } => (text, version),
        other => panic!("{other:?}"),
    }
}

/// Polls until `ok` holds on every node of `nodes`.
fn until(c: &Cluster, nodes: &[u8], what: &str, ok: impl Fn(u8) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if nodes.iter().all(|&i| ok(i)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs: Vec<String> = nodes
        .iter()
        .map(|&i| format!("--- node{i}\n{}", c.log(i)))
        .collect();
    panic!("timed out waiting for {what}\n{}", logs.join("\n"));
}

/// Each node's HA_RSCTMP (agents' state files), so that two nodes on one
/// machine do not share Dummy's state.
fn rsctmp(c: &Cluster, i: u8) -> std::path::PathBuf {
    c.dir.join(format!("rsctmp{i}"))
}

/// An OCF root with resource-agents' heartbeat agents and a test agent
/// whose start sets a node attribute through `crm_attribute` (the shim).
fn ocf_root(c: &Cluster) -> std::path::PathBuf {
    let root = c.dir.join("ocf");
    if root.exists() {
        return root;
    }
    std::fs::create_dir_all(root.join("resource.d/test")).unwrap();
    std::os::unix::fs::symlink("/usr/lib/ocf/lib", root.join("lib")).unwrap();
    for provider in ["heartbeat", "pacemaker"] {
        let real = Path::new("/usr/lib/ocf/resource.d").join(provider);
        if real.exists() {
            std::os::unix::fs::symlink(real, root.join("resource.d").join(provider)).unwrap();
        }
    }
    let agent = root.join("resource.d/test/attr");
    std::fs::write(
        &agent,
        "#!/bin/sh\ncase \"$1\" in\n  start) crm_attribute -l reboot -n test-score -v 42; crm_attribute -l forever -n test-forever -v 7 2> \"$HA_RSCTMP/forever.err\" || exit 1; crm_attribute -l reboot -N node1 -n peer-score -v 5; crm_node -p > \"$HA_RSCTMP/partition\"; touch \"$HA_RSCTMP/attr.on\" ;;\n  stop) rm -f \"$HA_RSCTMP/attr.on\" ;;\n  monitor) [ -e \"$HA_RSCTMP/attr.on\" ] || exit 7 ;;\n  meta-data) echo '<resource-agent name=\"attr\"><parameters/><actions><action name=\"start\"/><action name=\"stop\"/><action name=\"monitor\"/><action name=\"meta-data\"/></actions></resource-agent>' ;;\nesac\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}

fn formed_cluster() -> Cluster {
    formed_cluster_with(BASE)
}

fn formed_cluster_with(base: &str) -> Cluster {
    let mut c = Cluster::new(2, ("200ms", "1s"));
    c.append_config(base);
    let root = ocf_root(&c);
    for i in [1, 2] {
        let dir = rsctmp(&c, i);
        std::fs::create_dir_all(&dir).unwrap();
        c.start_with_env(i, &[("HA_RSCTMP", &dir), ("OCF_ROOT", &root)]);
    }
    // One view on both (members adopt the highest view id, so a first
    // view may still be replaced), node1 its DC ...
    until(&c, &[1, 2], "two members in one view, node1 DC", |i| {
        let (Some(r), Some(other)) = (report(&c, i), report(&c, 3 - i)) else {
            return false;
        };
        r.membership.members.len() == 2
            && r.dc.as_deref() == Some("node1")
            && r.membership.view_id == other.membership.view_id
            && r.membership.quorum.quorate
    });
    // ... and one document (node2's file differs in its state_dir; the
    // DC's wins).
    until(&c, &[1, 2], "one document on both", |_| {
        try_config(&c, 1).is_some_and(|a| try_config(&c, 2).is_some_and(|b| a.0 == b.0))
    });
    c
}

#[test]
fn two_nodes_share_one_configuration_and_apply_a_good_file_but_not_a_broken_one() {
    if !can_run() {
        return;
    }
    let c = formed_cluster();
    // Both hold the DC's document (node2's file differs in its state_dir).
    until(&c, &[1, 2], "the same document", |_| {
        config(&c, 1) == config(&c, 2)
    });
    let (before, v0) = config(&c, 1);
    assert!(before.contains("name = \"node1\""));

    // A good file loaded on the member (forwarded to the DC) reaches both.
    let good = c.dir.join("good.toml");
    let good_text =
        format!("{before}\n[[primitive]]\nid = \"dummy\"\nagent = \"ocf:heartbeat:Dummy\"\n");
    std::fs::write(&good, &good_text).unwrap();
    let out = paceline(&["configure", "load", good.to_str().unwrap()], &c.socket(2));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        c.log(1)
    );
    until(&c, &[1, 2], "the new configuration on both", |i| {
        let (text, v) = config(&c, i);
        text == good_text && v.epoch == v0.epoch + 1
    });
    let shown = paceline(&["configure", "show"], &c.socket(2));
    assert_eq!(String::from_utf8_lossy(&shown.stdout), good_text);

    // A broken file is rejected with its line and column; nothing changes.
    let broken = c.dir.join("broken.toml");
    let broken_text = format!("{good_text}bogus_key = 1\n");
    let line = broken_text.lines().count();
    std::fs::write(&broken, &broken_text).unwrap();
    let out = paceline(
        &["configure", "load", broken.to_str().unwrap()],
        &c.socket(1),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:{line}:1", broken.display())),
        "{err}"
    );
    assert!(err.contains("keeps its configuration"), "{err}");
    for i in [1, 2] {
        let (text, v) = config(&c, i);
        assert_eq!(text, good_text);
        assert_eq!(v.epoch, v0.epoch + 1);
    }

    // A change based on a version that is no longer current is refused.
    match api::call(
        &c.socket(2),
        &Request::ConfigLoad {
            text: before.clone(),
            file_name: "stale.toml".into(),
            based_on: v0,
        },
    )
    .unwrap()
    {
        Response::Error { message } => assert!(message.contains("changed since"), "{message}"),
        other => panic!("stale change accepted: {other:?}"),
    }
    assert_eq!(config(&c, 1).0, good_text);

    // Membership settings are applied, but only take effect on restart: said so.
    let slower = c.dir.join("slower.toml");
    std::fs::write(&slower, good_text.replace("\"200ms\"", "\"300ms\"")).unwrap();
    let out = paceline(
        &["configure", "load", slower.to_str().unwrap()],
        &c.socket(1),
    );
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("restart the nodes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until(&c, &[1, 2], "the restart warning in status", |i| {
        report(&c, i).is_some_and(|r| {
            r.membership
                .warnings
                .iter()
                .any(|w| w.contains("differ from what this daemon runs"))
        })
    });
}

fn dispatch(c: &Cluster, via: u8, node: &str, operation: &str, interval_ms: u64) -> ActionResult {
    dispatch_to(c, via, node, "dummy", operation, interval_ms)
}

fn dispatch_to(
    c: &Cluster,
    via: u8,
    node: &str,
    resource: &str,
    operation: &str,
    interval_ms: u64,
) -> ActionResult {
    let action = ActionRequest {
        id: 0,
        node: node.into(),
        resource: resource.into(),
        instance: resource.into(),
        operation: operation.into(),
        interval_ms,
        timeout_ms: 20_000,
        meta: Default::default(),
    };
    // The document's text (what `until` on `config` sees) changes before
    // the node has loaded it, off its loop: until then its executor knows
    // no new primitive and answers so, running nothing (CI, once).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let request = Request::Dispatch {
            action: action.clone(),
        };
        let r = match api::call(&c.socket(via), &request).unwrap() {
            Response::ActionDone(r) => *r,
            other => panic!("{other:?}\n{}\n{}", c.log(1), c.log(2)),
        };
        let unknown = r.rc == 5 && r.output.starts_with("no [[primitive]]");
        if !unknown || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_dummy_action_dispatched_to_the_peer_runs_there() {
    if !can_run() {
        return;
    }
    let c = formed_cluster();
    let (before, _) = config(&c, 1);
    let with_dummy = c.dir.join("dummy.toml");
    std::fs::write(
        &with_dummy,
        // Unmanaged: the DC neither starts nor stops it (a probe that
        // finds it running changes nothing); the test dispatches.
        format!(
            "{before}\n[[primitive]]\nid = \"dummy\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = {{ is-managed = false }}\n"
        ),
    )
    .unwrap();
    let out = paceline(
        &["configure", "load", with_dummy.to_str().unwrap()],
        &c.socket(1),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until(&c, &[1, 2], "the primitive on both", |i| {
        config(&c, i).0.contains("ocf:heartbeat:Dummy")
    });
    let state = |i: u8| rsctmp(&c, i).join("Dummy-dummy.state");
    // Dispatched on node1 (the DC) to node2: it runs on node2, not here.
    let started = dispatch(&c, 1, "node2", "start", 0);
    assert_eq!(
        (started.rc, started.node.as_str()),
        (0, "node2"),
        "{started:?}"
    );
    assert!(state(2).exists(), "Dummy did not run on node2");
    assert!(!state(1).exists(), "Dummy ran on node1");
    let probe = dispatch(&c, 1, "node2", "monitor", 0);
    assert_eq!(probe.rc, 0);
    let probe_here = dispatch(&c, 2, "node1", "monitor", 0);
    assert_eq!(probe_here.rc, 7, "not running on node1");
    let stopped = dispatch(&c, 1, "node2", "stop", 0);
    assert_eq!(stopped.rc, 0);
    assert!(!state(2).exists());
    assert!(c.log(1).contains("result dummy start"));
}

#[test]
fn crm_like_edits_reach_both_nodes_and_a_lifetime_expires() {
    if !can_run() {
        return;
    }
    let c = formed_cluster();
    let (before, _) = config(&c, 1);
    let with_dummy = c.dir.join("dummy.toml");
    std::fs::write(
        &with_dummy,
        // target-role Stopped: the DC leaves it alone, the test dispatches.
        format!(
            "{before}\n[[primitive]]\nid = \"dummy\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = {{ target-role = \"Stopped\" }}\n"
        ),
    )
    .unwrap();
    let ok = |args: &[&str], via: u8| {
        let out = paceline(args, &c.socket(via));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    ok(&["configure", "load", with_dummy.to_str().unwrap()], 1);
    ok(&["resource", "move", "dummy", "node2"], 2);
    ok(
        &["resource", "ban", "dummy", "node1", "--lifetime", "2s"],
        1,
    );
    ok(&["node", "standby", "node1"], 2);
    let json = ok(
        &[
            "property",
            "set",
            "no-quorum-policy",
            "ignore",
            "--output",
            "json",
        ],
        1,
    );
    assert!(json.contains("\"applied\""), "{json}");
    until(&c, &[2], "node1 shown in standby", |i| {
        report(&c, i).is_some_and(|r| r.standby == ["node1"])
    });
    until(&c, &[1, 2], "every edit on both nodes", |i| {
        let (text, _) = config(&c, i);
        text.contains("id = \"cli-prefer-dummy\"")
            && text.contains("standby = true")
            && text.contains("no-quorum-policy = \"ignore\"")
    });
    // An edit that would break the configuration is refused before sending.
    let out = paceline(&["node", "standby", "node9"], &c.socket(1));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("node9"));
    // The DC removes the ban when its lifetime is over.
    until(&c, &[1, 2], "the ban's lifetime to end", |i| {
        let (text, _) = config(&c, i);
        !text.contains("cli-ban-dummy-on-node1") && text.contains("cli-prefer-dummy")
    });
    ok(&["resource", "clear", "dummy"], 1);
    ok(&["node", "online", "node1"], 1);
    until(&c, &[1, 2], "clear and online on both", |i| {
        let (text, _) = config(&c, i);
        !text.contains("cli-prefer") && !text.contains("standby")
    });
    let cleanup = ok(&["resource", "cleanup", "dummy"], 2);
    assert!(cleanup.contains("committed by a quorum"), "{cleanup}");
    let status = ok(&["status"], 2);
    assert!(status.contains("Current DC: node1"), "{status}");
    assert!(status.contains("dummy"), "{status}");
}

/// Node `i`'s view of node2's attributes `test-score` (transient, `-l
/// reboot`) and `test-forever` (permanent, `-l forever`).
fn node2_attributes(c: &Cluster, i: u8) -> Option<(Option<String>, Option<String>)> {
    let r = report(c, i)?;
    let transient = r
        .node_attributes
        .get("node2")
        .and_then(|a| a.get("test-score"));
    let permanent = r
        .permanent_attributes
        .get("node2")
        .and_then(|a| a.get("test-forever"));
    Some((transient.cloned(), permanent.cloned()))
}

/// `crm_attribute ARGS` as node `i`'s agents run it (the shim, with node
/// `i`'s attribute file and socket): its exit code and output.
fn shim_query(c: &Cluster, i: u8, args: &[&str]) -> (Option<i32>, String) {
    let bin = c.dir.join("shim-bin");
    let shim = bin.join("crm_attribute");
    if !shim.exists() {
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_paceline"), &shim).unwrap();
    }
    let out = Command::new(&shim)
        .args(args)
        .env(
            "PACELINE_ATTR_FILE",
            c.dir.join(format!("state{i}/attributes.json")),
        )
        .env("PACELINE_SOCKET", c.socket(i))
        .env("PACELINE_NODE", format!("node{i}"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Also: the agent's `crm_attribute -l forever` is committed through the
/// DC before it returns, and kept when node2's daemon stops and starts
/// again, where its transient attribute is erased (Pacemaker's lifetimes).
#[test]
fn an_attribute_set_by_an_agent_on_the_peer_reaches_the_replicated_status() {
    if !can_run() {
        return;
    }
    let mut c = formed_cluster();
    let (before, _) = config(&c, 1);
    let file = c.dir.join("attr.toml");
    std::fs::write(
        &file,
        // Stopped: started here by hand only (a start by the cluster
        // after a restart would set the attributes this test watches
        // being erased).
        format!(
            "{before}\n[[primitive]]\nid = \"scorer\"\nagent = \"ocf:test:attr\"\nmeta = {{ target-role = \"Stopped\" }}\n"
        ),
    )
    .unwrap();
    let out = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(1));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until(&c, &[1, 2], "the primitive on both", |i| {
        config(&c, i).0.contains("ocf:test:attr")
    });
    let started = dispatch_to(&c, 1, "node2", "scorer", "start", 0);
    assert_eq!(started.rc, 0, "{started:?}");
    // The agent's crm_node reached node2's daemon (its API socket is passed on).
    let partition = std::fs::read_to_string(rsctmp(&c, 2).join("partition")).unwrap_or_default();
    assert_eq!(partition.trim(), "node1 node2");
    until(
        &c,
        &[1, 2],
        "node2's attribute in the status on both",
        |i| {
            report(&c, i).is_some_and(|r| {
                r.node_attributes
                    .get("node2")
                    .and_then(|a| a.get("test-score"))
                    .map(String::as_str)
                    == Some("42")
            })
        },
    );
    let set = Some((Some("42".to_string()), Some("7".to_string())));
    until(&c, &[1, 2], "both attributes on both", |i| {
        node2_attributes(&c, i) == set
    });
    // node1 leaves: the transient attribute node2's agent set for it is
    // erased, and node2's agents no longer find it (as attrd forgets a
    // lost peer's values): before, their query answered the old value
    // from node2's attribute file, so pgsql never set it again.
    let peer_score =
        |c: &Cluster| report(c, 2).map(|r| r.node_attribute("node1", "peer-score").cloned());
    until(&c, &[2], "node2's agent's attribute of node1", |_| {
        peer_score(&c) == Some(Some("5".to_string()))
    });
    c.terminate(1);
    until(&c, &[2], "node1's transient attributes erased", |_| {
        peer_score(&c) == Some(None)
            && shim_query(
                &c,
                2,
                &[
                    "-l",
                    "reboot",
                    "-N",
                    "node1",
                    "-n",
                    "peer-score",
                    "-G",
                    "-q",
                ],
            )
            .0 == Some(105)
    });
    c.start(1);
    until(&c, &[1, 2], "node1 back", |i| {
        report(&c, i).is_some_and(|r| r.membership.members.len() == 2)
    });
    c.terminate(2);
    let kept = Some((None, Some("7".to_string())));
    until(&c, &[1], "node2's transient attribute erased", |i| {
        node2_attributes(&c, i) == kept
    });
    c.start(2);
    until(
        &c,
        &[1, 2],
        "the permanent one kept over the restart",
        |i| {
            report(&c, i).is_some_and(|r| r.membership.members.len() == 2)
                && node2_attributes(&c, i) == kept
        },
    );
}

#[test]
fn the_daemon_fences_through_the_topology_with_a_real_fence_agent() {
    if !can_run() || !Path::new("/usr/sbin/fence_dummy").exists() {
        return;
    }
    let power = std::env::temp_dir().join(format!("plfence{}", std::process::id()));
    std::fs::write(&power, "on").unwrap();
    let base = format!(
        "[quorum]\ntwo_node = true\n[fencing]\nenabled = true\naction = \"off\"\n[[fencing.device]]\nid = \"dummy\"\ntype = \"agent\"\nagent = \"fence_dummy\"\nparams = {{ type = \"file\", status_file = \"{}\" }}\n[[fencing.level]]\ntarget = \"node1\"\nindex = 1\ndevices = [\"dummy\"]\n[[fencing.level]]\ntarget = \"node2\"\nindex = 1\ndevices = [\"dummy\"]\n",
        power.display()
    );
    let c = formed_cluster_with(&base);
    let out = paceline(&["fence", "node2"], &c.socket(1));
    let state = std::fs::read_to_string(&power).unwrap_or_default();
    let _ = std::fs::remove_file(&power);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        c.log(1)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("fenced node2"));
    assert_eq!(state.trim(), "off", "the agent powered the target off");
    let r = report(&c, 1).unwrap();
    // Newest first: the replicated event the DC recorded for it.
    let last = r.fencing_history.first().expect("a fencing history record");
    assert_eq!(
        (
            last.target.as_str(),
            last.action.as_str(),
            last.device.as_str(),
            last.result.as_str()
        ),
        ("node2", "off", "dummy", "ok")
    );
    assert!(c.log(1).contains("fencing of node2 succeeded"));
}

#[test]
fn a_clean_shutdown_leaves_an_unmanaged_resource_running_and_rejoins() {
    if !can_run() {
        return;
    }
    let mut c = formed_cluster();
    let (before, _) = config(&c, 1);
    let file = c.dir.join("dummy.toml");
    std::fs::write(
        &file,
        // Unmanaged: the DC neither starts nor stops it, and the node
        // leaves it running with its monitor.
        format!(
            "{before}\n[[primitive]]\nid = \"dummy\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = {{ is-managed = false }}\n"
        ),
    )
    .unwrap();
    let out = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(1));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until(&c, &[2], "the primitive on node2", |i| {
        config(&c, i).0.contains("ocf:heartbeat:Dummy")
    });
    assert_eq!(dispatch(&c, 1, "node2", "start", 0).rc, 0);
    assert_eq!(dispatch(&c, 1, "node2", "monitor", 500).rc, 0);
    // SIGTERM: node2 asks to be emptied and keeps running its monitor.
    let pid = nix::unistd::Pid::from_raw(c.children[1].as_ref().unwrap().id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    until(&c, &[1], "node2's shutdown attribute on the DC", |i| {
        report(&c, i).is_some_and(|r| {
            r.node_attributes
                .get("node2")
                .is_some_and(|a| a.contains_key("shutdown"))
        })
    });
    // An unmanaged resource is left as it is (d2a4e86, as Pacemaker):
    // its monitor does not hold the shutdown, node2 leaves at once.
    assert!(c.exited_within(2, Duration::from_secs(10)), "{}", c.log(2));
    let code = c.children[1].take().unwrap().wait().unwrap();
    assert!(code.success());
    assert!(c.log(2).contains("left the cluster cleanly"));
    until(&c, &[1], "node2 left", |i| {
        report(&c, i).is_some_and(|r| r.membership.members == ["node1"])
    });
    // Back again, node2 is no longer shutting down.
    let (dir, root) = (rsctmp(&c, 2), c.dir.join("ocf"));
    c.start_with_env(2, &[("HA_RSCTMP", &dir), ("OCF_ROOT", &root)]);
    until(&c, &[1], "node2's shutdown attribute cleared", |i| {
        report(&c, i).is_some_and(|r| {
            r.membership.members.len() == 2
                && !r
                    .node_attributes
                    .get("node2")
                    .is_some_and(|a| a.contains_key("shutdown"))
        })
    });
}

#[test]
fn a_configuration_of_many_fragments_reaches_both_nodes() {
    if !can_run() {
        return;
    }
    let c = formed_cluster();
    let (before, v0) = config(&c, 1);
    let mut big = before.clone();
    for i in 0..400 {
        big.push_str(&format!(
            "\n# primitive {i} of many, to make the document span dozens of datagrams\n[[primitive]]\nid = \"dummy{i}\"\nagent = \"ocf:heartbeat:Dummy\"\nparams = {{ fake = \"{}\" }}\n",
            "x".repeat(64)
        ));
    }
    assert!(big.len() > 60_000, "{}", big.len());
    let file = c.dir.join("big.toml");
    std::fs::write(&file, &big).unwrap();
    let out = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(2));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until(&c, &[1, 2], "the big configuration on both", |i| {
        let (text, v) = config(&c, i);
        text == big && v.epoch == v0.epoch + 1
    });
    // The report's resources are derived from the configuration once it
    // is loaded, a moment after its text is there: waited for, not raced
    // (failed once at load 12).
    until(&c, &[2], "the report's 400 resources", |i| {
        report(&c, i).is_some_and(|r| r.resources.len() == 400)
    });
    let r = report(&c, 2).unwrap();
    assert!(r.channel.delivered_messages > 0);
}

#[test]
fn a_promotable_stateful_instance_on_the_peer_is_promoted_and_scores_itself() {
    if !can_run() || !Path::new("/usr/lib/ocf/resource.d/pacemaker/Stateful").exists() {
        return;
    }
    let c = formed_cluster();
    let (before, _) = config(&c, 1);
    let file = c.dir.join("stateful.toml");
    std::fs::write(
        &file,
        format!(
            // Unmanaged: the DC leaves the clone to the test's dispatches.
            // Its state file in this run's directory: under the shared
            // HA_VARRUN a previous run's "promoted" would be found again.
            "{before}\n[[primitive]]\nid = \"st\"\nagent = \"ocf:pacemaker:Stateful\"\nparams = {{ state = \"{}\" }}\nmeta = {{ is-managed = false }}\n[[clone]]\nid = \"st-clone\"\nresource = \"st\"\npromotable = true\n",
            c.dir.join("Stateful-st.state").display()
        ),
    )
    .unwrap();
    let out = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(1));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until(&c, &[1, 2], "the clone on both", |i| {
        config(&c, i).0.contains("st-clone")
    });
    let run = |op: &str| {
        let action = ActionRequest {
            id: 0,
            node: "node2".into(),
            resource: "st".into(),
            instance: "st:0".into(),
            operation: op.into(),
            interval_ms: 0,
            timeout_ms: 20_000,
            meta: Default::default(),
        };
        match api::call(&c.socket(1), &Request::Dispatch { action }).unwrap() {
            Response::ActionDone(r) => *r,
            other => panic!("{other:?}"),
        }
    };
    let started = run("start");
    assert_eq!(started.rc, 0, "{started:?}");
    assert_eq!(run("monitor").rc, 0, "started unpromoted");
    let promoted = run("promote");
    assert_eq!(promoted.rc, 0, "{promoted:?}\n{}", c.log(2));
    assert_eq!(run("monitor").rc, 8, "running promoted");
    until(
        &c,
        &[1, 2],
        "Stateful's promotion score in the status",
        |i| {
            report(&c, i).is_some_and(|r| {
                r.node_attributes
                    .get("node2")
                    .is_some_and(|a| a.contains_key("master-st"))
            })
        },
    );
    assert_eq!(run("demote").rc, 0);
    assert_eq!(run("stop").rc, 0);
}

#[test]
fn a_restarted_node_catches_up_with_a_change_made_while_it_was_down() {
    if !can_run() {
        return;
    }
    let mut c = formed_cluster();
    let (before, v0) = config(&c, 1);
    // node2 crashes; the survivor (two_node) changes the configuration alone.
    c.kill(2);
    until(&c, &[1], "node1 alone and quorate", |i| {
        report(&c, i)
            .is_some_and(|r| r.membership.members == ["node1"] && r.membership.quorum.quorate)
    });
    let newer = c.dir.join("newer.toml");
    let newer_text = format!("{before}\n# changed while node2 was down\n");
    std::fs::write(&newer, &newer_text).unwrap();
    let out = paceline(
        &["configure", "load", newer.to_str().unwrap()],
        &c.socket(1),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // node2 comes back with its older document on disk: the newer one wins.
    let dir = rsctmp(&c, 2);
    let root = c.dir.join("ocf");
    c.start_with_env(2, &[("HA_RSCTMP", &dir), ("OCF_ROOT", &root)]);
    until(&c, &[1, 2], "the newer document on both", |i| {
        try_config(&c, i).is_some_and(|(text, v)| text == newer_text && v.epoch == v0.epoch + 1)
    });

    // The same the other way round: the DC restarts older than its peer,
    // and adopts the peer's newer document.
    until(&c, &[1, 2], "both members again", |i| {
        report(&c, i).is_some_and(|r| r.membership.members.len() == 2)
    });
    c.kill(1);
    until(&c, &[2], "node2 alone and quorate", |i| {
        report(&c, i)
            .is_some_and(|r| r.membership.members == ["node2"] && r.membership.quorum.quorate)
    });
    let newest_text = format!("{newer_text}# changed while node1 was down\n");
    std::fs::write(&newer, &newest_text).unwrap();
    let out = paceline(
        &["configure", "load", newer.to_str().unwrap()],
        &c.socket(2),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = rsctmp(&c, 1);
    c.start_with_env(1, &[("HA_RSCTMP", &dir), ("OCF_ROOT", &root)]);
    until(&c, &[1, 2], "the newest document on both, node1 DC", |i| {
        try_config(&c, i).is_some_and(|(text, v)| text == newest_text && v.epoch == v0.epoch + 2)
            && report(&c, i).is_some_and(|r| r.dc.as_deref() == Some("node1"))
    });
}

#[test]
fn three_nodes_a_cut_off_minority_cannot_change_the_configuration_and_catches_up() {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(3, ("200ms", "1s"));
    c.append_config("[fencing]\nenabled = false\n");
    for i in 1..=3 {
        c.start(i);
    }
    until(&c, &[1, 2, 3], "three members in one view", |i| {
        let all: Vec<_> = (1..=3).filter_map(|j| report(&c, j)).collect();
        all.len() == 3
            && all.iter().all(|r| {
                r.membership.members.len() == 3
                    && r.membership.view_id == all[0].membership.view_id
                    && r.dc.as_deref() == Some("node1")
            })
            && report(&c, i).is_some()
    });
    let (before, v0) = config(&c, 1);
    // node3 loses both links: a minority of one, without quorum.
    c.set_link(3, 0, false);
    c.set_link(3, 1, false);
    until(&c, &[3], "node3 alone without quorum", |i| {
        report(&c, i).is_some_and(|r| !r.membership.quorum.quorate)
    });
    until(&c, &[1, 2], "node1 and node2 without node3", |i| {
        report(&c, i).is_some_and(|r| r.membership.members == ["node1", "node2"])
    });
    let file = c.dir.join("change.toml");
    let changed = format!("{before}\n# changed by the majority\n");
    std::fs::write(&file, &changed).unwrap();
    let refused = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(3));
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("quorum"), "{err}");
    // The configuration's epoch: status patches (probe results) may still
    // have been on their way to node3 when it was cut off.
    let (text3, v3) = config(&c, 3);
    assert_eq!(
        (text3.as_str(), v3.epoch),
        (before.as_str(), v0.epoch),
        "the minority kept its configuration"
    );
    // The majority changes it (durable on 2 of 3), node3 gets it on rejoining.
    let out = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(2));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.set_link(3, 0, true);
    c.set_link(3, 1, true);
    until(&c, &[1, 2, 3], "the change on all three", |i| {
        try_config(&c, i).is_some_and(|(text, v)| text == changed && v.epoch == v0.epoch + 1)
    });
}

#[test]
fn channel_traffic_moves_to_the_second_link_when_the_first_is_down() {
    if !can_run() {
        return;
    }
    let c = formed_cluster();
    let (before, v0) = config(&c, 1);
    c.set_link(2, 0, false);
    until(&c, &[1], "link 0 to node2 down", |i| {
        report(&c, i).is_some_and(|r| {
            r.membership
                .nodes
                .iter()
                .any(|n| n.name == "node2" && n.links.first().map(String::as_str) == Some("down"))
        })
    });
    let file = c.dir.join("link1.toml");
    let changed = format!("{before}\n# over the second link\n");
    std::fs::write(&file, &changed).unwrap();
    let out = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(2));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until(&c, &[1, 2], "the change on both", |i| {
        try_config(&c, i).is_some_and(|(text, v)| text == changed && v.epoch == v0.epoch + 1)
    });
}

#[test]
fn configure_edit_reopens_an_invalid_edit_then_applies_the_fixed_one() {
    if !can_run() {
        return;
    }
    let c = formed_cluster();
    let (before, v0) = config(&c, 1);
    // An "editor" that first writes a broken key, then fixes it.
    let editor = c.dir.join("editor.sh");
    let rounds = c.dir.join("rounds");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\necho x >> {rounds}\nif [ $(wc -l < {rounds}) -eq 1 ]; then echo 'bogus_key = 1' >> \"$1\"; else sed -i 's/^bogus_key = 1$/# fixed by the second round/' \"$1\"; fi\n",
            rounds = rounds.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["configure", "edit", "--socket"])
        .arg(c.socket(2))
        .env("VISUAL", &editor)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("unknown field") && err.contains("opening it again"),
        "{err}"
    );
    let want = format!("{before}# fixed by the second round\n");
    until(&c, &[1, 2], "the edited configuration on both", |i| {
        try_config(&c, i).is_some_and(|(text, v)| text == want && v.epoch == v0.epoch + 1)
    });
}

/// Issue 19: the status's binary form is version 4's, without tickets, so
/// a node synced whole from its peers lost a manual grant and, once DC,
/// stopped the ticket's resources. Three nodes: node2 and node3 form the
/// cluster, the ticket is granted and its Dummy starts; node1 (nothing on
/// its disk) joins, gets the document whole and, the lowest id, becomes
/// DC: it knows the ticket granted, and the Dummy runs on (its state file
/// keeps a line written after its start; a stop removes the file).
#[test]
fn a_node_synced_whole_keeps_a_granted_ticket_as_dc() {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(3, ("200ms", "1s"));
    c.append_config(
        "[fencing]\nenabled = false\n\
         [[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\n\
         [[ticket]]\nid = \"db-east\"\nticket = \"east\"\nresources = [\"db\"]\n",
    );
    for i in 1..=3 {
        std::fs::create_dir_all(rsctmp(&c, i)).unwrap();
    }
    for i in [2, 3] {
        c.start_with_env(i, &[("HA_RSCTMP", &rsctmp(&c, i))]);
    }
    until(&c, &[2, 3], "node2 and node3 quorate, node2 DC", |i| {
        report(&c, i).is_some_and(|r| {
            r.membership.members == ["node2", "node3"]
                && r.membership.quorum.quorate
                && r.dc.as_deref() == Some("node2")
                && r.dc_idle != Some(false)
        })
    });
    // A DC still syncing after the view change asks to retry.
    until(&c, &[2], "the grant taken", |i| {
        let out = paceline(&["ticket", "grant", "east", "--force"], &c.socket(i));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() || said.contains("retry"), "{said}");
        out.status.success()
    });
    let state = |i: u8| rsctmp(&c, i).join("Dummy-db.state");
    until(&c, &[2], "db started with the ticket", |_| {
        [2, 3].iter().any(|&n| state(n).exists())
    });
    let runs = state(if state(2).exists() { 2 } else { 3 });
    let mut text = std::fs::read_to_string(&runs).unwrap();
    text.push_str("still the first start\n");
    std::fs::write(&runs, text).unwrap();

    c.start_with_env(1, &[("HA_RSCTMP", &rsctmp(&c, 1))]);
    until(
        &c,
        &[1],
        "node1 the DC, idle, knowing the ticket granted",
        |i| {
            report(&c, i).is_some_and(|r| {
                r.membership.members.len() == 3
                    && r.dc.as_deref() == Some("node1")
                    && r.dc_idle == Some(true)
                    && r.tickets.iter().any(|t| t.ticket == "east" && t.granted)
            })
        },
    );
    let after = std::fs::read_to_string(&runs).unwrap_or_default();
    assert!(
        after.contains("still the first start"),
        "db was stopped (and started again?)\n{}",
        c.log(1)
    );
}
