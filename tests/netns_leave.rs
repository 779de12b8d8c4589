//! A clean leave in the middle of a transition (issue 21 item 2): two real
//! daemons in network namespaces, a group moving towards node2 (`resource
//! move`), then node2 stopped cleanly once the group's first member runs
//! there. The survivor must hand over at once, not after the controller's
//! 30 s fallback for a store that never said it synced (which happened
//! without fencing: the lone survivor's store was ready on the view itself
//! and never said so). The assertions are on the order of the survivor's
//! log; timing belongs in bench/. Needs root, iproute2 and resource-agents'
//! Dummy (and `fence_dummy` with fencing); skipped with a message otherwise.

use std::path::Path;
use std::time::Duration;

#[path = "netns/mod.rs"]
mod netns;
use netns::{Cluster, can_run, paceline, report};

/// How long a wait may take before the test fails (it only ends a hung test).
const WAIT: Duration = Duration::from_secs(60);

/// Where the replicated status shows `rsc` running (node1's view).
fn runs_on(c: &Cluster, rsc: &str) -> Vec<String> {
    report(c, 1)
        .and_then(|r| r.resources.into_iter().find(|x| x.id == rsc))
        .map(|x| x.nodes)
        .unwrap_or_default()
}

/// Two nodes, a group of three Dummies preferring node1; fencing by
/// `fence_dummy` (its power state in `power`) or none.
fn group_on_node1(c: &Cluster) -> bool {
    ["first", "second", "third"]
        .iter()
        .all(|r| runs_on(c, r) == ["node1"])
}

fn config(power: Option<&Path>) -> String {
    let mut text = String::from("[quorum]\ntwo_node = true\n");
    match power {
        None => text.push_str("[fencing]\nenabled = false\n"),
        Some(power) => {
            text.push_str("[fencing]\nenabled = true\naction = \"off\"\n[[fencing.device]]\nid = \"dummy\"\ntype = \"agent\"\nagent = \"fence_dummy\"\n");
            text.push_str(&format!(
                "params = {{ type = \"file\", status_file = \"{}\" }}\n",
                power.display()
            ));
            for n in ["node1", "node2"] {
                text.push_str(&format!(
                    "[[fencing.level]]\ntarget = \"{n}\"\nindex = 1\ndevices = [\"dummy\"]\n"
                ));
            }
        }
    }
    for id in ["first", "second", "third"] {
        text.push_str(&format!(
            "[[primitive]]\nid = \"{id}\"\nagent = \"ocf:heartbeat:Dummy\"\nparams = {{ fake = \"{id}\" }}\nops = [{{ name = \"monitor\", interval = \"2s\" }}]\n"
        ));
    }
    text.push_str("[[group]]\nid = \"service\"\nmembers = [\"first\", \"second\", \"third\"]\n");
    text.push_str("[[location]]\nid = \"prefer-node1\"\nresource = \"service\"\nnode = \"node1\"\nscore = 50\n");
    text
}

#[test]
fn without_fencing_a_clean_leave_during_a_move_hands_over_at_once() {
    if !can_run() || !Path::new("/usr/lib/ocf/resource.d/heartbeat/Dummy").exists() {
        eprintln!("skipping: needs root, iproute2 and resource-agents' Dummy");
        return;
    }
    leave_during_a_move(false);
}

#[test]
fn with_fencing_a_clean_leave_during_a_move_hands_over_without_a_fence() {
    if !can_run()
        || !Path::new("/usr/sbin/fence_dummy").exists()
        || !Path::new("/usr/lib/ocf/resource.d/heartbeat/Dummy").exists()
    {
        eprintln!("skipping: needs root, iproute2, fence_dummy and resource-agents' Dummy");
        return;
    }
    leave_during_a_move(true);
}

fn leave_during_a_move(fencing: bool) {
    let mut c = Cluster::new(2, ("200ms", "1s"));
    let power = c.dir.join("power");
    std::fs::write(&power, "on").unwrap();
    c.append_config(&config(fencing.then_some(power.as_path())));
    for i in [1, 2] {
        let tmp = c.dir.join(format!("rsctmp{i}"));
        std::fs::create_dir_all(&tmp).unwrap();
        c.start_with_env(i, &[("HA_RSCTMP", &tmp)]);
    }
    c.until("the group running on node1", WAIT, || group_on_node1(&c));
    let out = paceline(&["resource", "move", "service", "node2"], &c.socket(1));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Once the group's first member runs on node2, node2 is stopped cleanly.
    c.until("the move's first start on node2", WAIT, || {
        c.log(1)
            .contains("result first start (interval 0 ms) on node2: rc 0")
    });
    c.terminate(2);
    c.until("node2 gone and the group back on node1", WAIT, || {
        c.log(1).contains("node node2 left cleanly") && group_on_node1(&c)
    });
    // Whether or not the group was back before node2 left, the survivor
    // must plan right after the leave: it is asked to stop a member.
    let out = paceline(&["resource", "stop", "third"], &c.socket(1));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.until("third stopped", WAIT, || runs_on(&c, "third").is_empty());
    let log = c.log(1);
    let left = log
        .find("node node2 left cleanly")
        .expect("the leave is logged");
    let after = &log[left..];
    assert!(
        after.contains("controller: dispatched third stop"),
        "no stop of third after the leave:\n{log}"
    );
    assert!(
        !after.contains("did not report a synced document"),
        "the survivor waited for the sync fallback:\n{log}"
    );
    assert!(
        !log.contains("fencing node2") && !log.contains("fencing of node2"),
        "a clean leave is not fenced:\n{log}"
    );
}
