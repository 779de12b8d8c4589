//! Real `pacelined` processes, each in its own network namespace with two
//! links over two bridges (the bridges live in a namespace of their own).
//! Needs root and iproute2; skipped with a message otherwise.

use std::process::Command;
use std::time::Duration;

use paceline::api::{self, Request, Response};
use paceline::wire::{ClusterKey, Encoder, Heartbeat, Message, PROTOCOL_VERSION, ViewSummary};

#[path = "../fencing/tests/support/mod.rs"]
mod peers;

#[path = "netns/mod.rs"]
mod netns;
use netns::{Cluster, can_run};

fn names(n: &[u8]) -> Vec<String> {
    n.iter().map(|i| format!("node{i}")).collect()
}

#[test]
fn three_nodes_form_detect_partition_rejoin_and_count_forgeries() {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(3, ("200ms", "1s"));
    for i in 1..=3 {
        c.start(i);
    }
    let all = names(&[1, 2, 3]);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    for i in 1..=3 {
        c.members(i, &all);
    }
    let formed = c.agree(&[1, 2, 3], &all);
    assert!(formed.quorum.quorate);

    // A forged heartbeat (wrong key) and garbage from a third namespace.
    let wrong = ClusterKey::derive(&[9u8; 32], &formed.cluster).unwrap();
    let mut forger = Encoder::new(wrong, 2, 1);
    let hb = Message::Heartbeat(Heartbeat {
        link: 0,
        stamp: 1,
        heard: vec![],
        view: ViewSummary {
            id: 999,
            members: vec![2],
        },
        keys: vec![],
        speaks: paceline::wire::VersionRange::SPOKEN,
    });
    // And an authentic packet of a future protocol version, as from an upgraded node2.
    let real = ClusterKey::derive(
        &std::fs::read(c.dir.join("authkey")).unwrap(),
        &formed.cluster,
    )
    .unwrap();
    let mut future = Encoder::new(real, 2, 1);
    let upgraded = future.seal_version(&hb, PROTOCOL_VERSION + 1);
    c.send_from_outsider(vec![
        forger.seal(&hb),
        forger.seal(&hb),
        b"garbage".to_vec(),
        upgraded,
    ]);
    let after = c.wait(1, "forged packets counted", |s| {
        s.wire.forged >= 2 && s.wire.malformed >= 1 && !s.incompatible.is_empty()
    });
    assert_eq!(
        after.view_id, formed.view_id,
        "a forged packet changed the view"
    );

    // One link of node3 cut: it stays a member over the other one.
    c.set_link(3, 0, false);
    c.wait(1, "link0 of node3 down", |s| {
        s.nodes[2].links == ["down", "up"]
    });
    assert_eq!(c.status(1).unwrap().members, all);

    // Both links cut: partition 2+1.
    c.set_link(3, 1, false);
    let majority = c.members(1, &["node1", "node2"]);
    assert!(majority.quorum.quorate);
    let minority = c.members(3, &["node3"]);
    assert!(!minority.quorum.quorate);
    c.set_link(3, 0, true);
    c.set_link(3, 1, true);
    for i in 1..=3 {
        c.members(i, &all);
    }

    // SIGKILL of node2, then its restart: it rejoins through a newer view.
    c.kill(2);
    let without = c.members(1, &["node1", "node3"]);
    assert!(without.quorum.quorate);
    assert_eq!(
        without.nodes[1].state,
        paceline::membership::PeerState::Offline
    );
    c.start(2);
    let rejoined = c.members(1, &all);
    assert!(rejoined.view_id > without.view_id);
    c.members(2, &all);
}

#[test]
fn two_nodes_wait_for_all_unblock_and_survive_a_loss() {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(2, ("200ms", "1s"));
    c.start(1);
    let waiting = c.wait(1, "answering", |_| true);
    assert!(!waiting.quorum.quorate && waiting.quorum.waiting_for_all);
    match api::call(&c.socket(1), &Request::Unblock).unwrap() {
        Response::Unblocked { by } => assert_eq!(by, "root"),
        other => panic!("{other:?}"),
    }
    // Neither root nor in haclient: refused by peer credentials.
    use std::os::unix::process::CommandExt;
    let denied = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["status", "--socket"])
        .arg(c.socket(1))
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert!(!denied.status.success());
    let err = String::from_utf8_lossy(&denied.stderr);
    // Refused at connect (the socket is no longer open to all) or by the
    // daemon's credential check: either way, no answer.
    assert!(err.to_lowercase().contains("permission denied"), "{err}");
    let unblocked = c.wait(1, "unblocked quorum", |s| s.quorum.quorate);
    assert_eq!(unblocked.quorum.unblocked.as_ref().unwrap().by, "root");
    c.start(2);
    c.members(1, &["node1", "node2"]);
    c.wait(2, "quorum on node2", |s| {
        s.quorum.quorate && s.members.len() == 2
    });
    c.kill(2);
    let alone = c.members(1, &["node1"]);
    assert!(
        alone.quorum.quorate,
        "two_node keeps quorum with one of two"
    );
}

/// Watchdog self-fencing with the FUSE fake of /dev/watchdog (its expiry
/// SIGKILLs the opener, standing in for a hardware reset): node3 arms it,
/// feeds it while quorate, and is "reset" once cut off from the others; a
/// clean shutdown disarms it instead.
#[test]
fn a_node_cut_off_from_quorum_is_reset_by_its_watchdog() {
    if !can_run() {
        return;
    }
    let wd = peers::watchdog(&format!("plwdm{}", std::process::id()), &[]);
    let events = || std::fs::read_to_string(wd.get("EVENTS_LOG")).unwrap_or_default();
    let mut c = Cluster::new(3, ("50ms", "250ms"));
    c.append_config(&format!(
        "[fencing]\nenabled = true\n[[fencing.device]]\nid = \"wd\"\ntype = \"watchdog\"\ndevice = \"{}\"\nwatchdog_timeout = \"2s\"\n[[fencing.level]]\ntarget = \"node3\"\nindex = 1\ndevices = [\"wd\"]\n",
        wd.get("DEVICE")
    ));
    for i in 1..=3 {
        c.start(i);
    }
    c.agree(&[1, 2, 3], &["node1", "node2", "node3"]);
    let s3 = c.wait(3, "quorate with no warning", |s| {
        s.quorum.quorate && s.warnings.is_empty()
    });
    assert!(s3.warnings.is_empty(), "{:?}", s3.warnings);
    std::thread::sleep(Duration::from_millis(2500));
    let log = events();
    assert!(log.contains("WDIOC_SETTIMEOUT 2"), "{log}");
    assert!(!log.contains("FIRED"), "fired while quorate: {log}");

    c.set_link(3, 0, false);
    c.set_link(3, 1, false);
    assert!(
        c.exited_within(3, Duration::from_secs(8)),
        "node3 was not reset; events:\n{}",
        events()
    );
    let log = events();
    assert!(log.contains("FIRED") && log.contains("killed"), "{log}");
    c.members(1, &["node1", "node2"]);
}

/// The watchdog configuration of these tests: node3 self-fences through
/// the FUSE fake with a `secs` timeout.
fn watchdog_fencing(device: &str, secs: u32) -> String {
    format!(
        "[fencing]\nenabled = true\n[[fencing.device]]\nid = \"wd\"\ntype = \"watchdog\"\ndevice = \"{device}\"\nwatchdog_timeout = \"{secs}s\"\n[[fencing.level]]\ntarget = \"node3\"\nindex = 1\ndevices = [\"wd\"]\n"
    )
}

/// Found in the VM lab (lab/vm/three-node): a node that boots while its
/// peers are not up yet has no quorum within the watchdog's timeout, and
/// was reset, booted, reset again. Before its first quorum it has started
/// nothing, so it keeps feeding (sbd's rule); once it has been quorate,
/// losing quorum resets it as before.
#[test]
fn a_node_started_alone_keeps_its_watchdog_fed_until_it_has_been_quorate() {
    if !can_run() {
        return;
    }
    let wd = peers::watchdog(&format!("plwdo{}", std::process::id()), &[]);
    let events = || std::fs::read_to_string(wd.get("EVENTS_LOG")).unwrap_or_default();
    let mut c = Cluster::new(3, ("50ms", "250ms"));
    c.append_config(&watchdog_fencing(wd.get("DEVICE"), 1));
    c.start(3);
    assert!(
        !c.exited_within(3, Duration::from_millis(3500)),
        "node3 was reset before it ever had quorum; events:\n{}",
        events()
    );
    assert!(!events().contains("FIRED"), "{}", events());
    c.start(1);
    c.start(2);
    c.agree(&[1, 2, 3], &["node1", "node2", "node3"]);
    c.wait(3, "quorate", |s| s.quorum.quorate);
    std::thread::sleep(Duration::from_millis(500));
    c.set_link(3, 0, false);
    c.set_link(3, 1, false);
    assert!(
        c.exited_within(3, Duration::from_secs(8)),
        "node3 lost quorum and was not reset; events:\n{}",
        events()
    );
}

/// A daemon that crashed after it had quorum may still hold what it ran
/// (a VIP stays on the interface): restarted by systemd in the same boot
/// and cut off, it gets no grace and its watchdog resets the node.
#[test]
fn a_daemon_restarted_in_the_same_boot_without_quorum_is_reset() {
    if !can_run() {
        return;
    }
    let wd = peers::watchdog(&format!("plwdr{}", std::process::id()), &[]);
    let events = || std::fs::read_to_string(wd.get("EVENTS_LOG")).unwrap_or_default();
    let mut c = Cluster::new(3, ("50ms", "250ms"));
    c.append_config(&watchdog_fencing(wd.get("DEVICE"), 2));
    for i in 1..=3 {
        c.start(i);
    }
    c.agree(&[1, 2, 3], &["node1", "node2", "node3"]);
    c.wait(3, "quorate", |s| s.quorum.quorate);
    std::thread::sleep(Duration::from_millis(500));
    c.kill(3);
    c.set_link(3, 0, false);
    c.set_link(3, 1, false);
    c.start(3);
    assert!(
        c.exited_within(3, Duration::from_secs(8)),
        "the restarted node3 kept feeding without quorum; events:\n{}\nnode3's log:\n{}",
        events(),
        c.log(3)
    );
    assert!(events().matches("open by pid").count() >= 2, "{}", events());
}

#[test]
fn a_clean_shutdown_disarms_the_watchdog() {
    if !can_run() {
        return;
    }
    let wd = peers::watchdog(&format!("plwdn{}", std::process::id()), &[]);
    let mut c = Cluster::new(3, ("50ms", "250ms"));
    c.append_config(&format!(
        "[fencing]\nenabled = true\n[[fencing.device]]\nid = \"wd\"\ntype = \"watchdog\"\ndevice = \"{}\"\nwatchdog_timeout = \"1s\"\n[[fencing.level]]\ntarget = \"node3\"\nindex = 1\ndevices = [\"wd\"]\n",
        wd.get("DEVICE")
    ));
    for i in 1..=3 {
        c.start(i);
    }
    c.agree(&[1, 2, 3], &["node1", "node2", "node3"]);
    c.terminate(3);
    std::thread::sleep(Duration::from_millis(1800));
    let log = std::fs::read_to_string(wd.get("EVENTS_LOG")).unwrap_or_default();
    assert!(log.contains("disarmed"), "{log}");
    assert!(!log.contains("FIRED"), "{log}");
    // Fencing is configured, so the survivor has nothing to warn about.
    let s1 = c.wait(1, "answering", |_| true);
    assert!(s1.warnings.is_empty(), "{:?}", s1.warnings);
}

#[test]
fn status_warns_when_fencing_is_not_configured() {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(2, ("50ms", "250ms"));
    c.start(1);
    let s = c.wait(1, "answering", |_| true);
    assert!(
        s.warnings.iter().any(|w| w.contains("fencing is off")),
        "{:?}",
        s.warnings
    );
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["status", "--socket"])
        .arg(c.socket(1))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("WARNING: no [fencing] section"));
}

/// Issue 15 on real daemons: node2's datagrams, captured on the network (no
/// key needed) while the two-node cluster ran, are replayed to node1 after
/// both went down and node1 alone started again. Before, node1 took the
/// recording for node2, met wait_for_all and became quorate (a DC of a
/// cluster whose other half was dead). Now node2 never becomes a member:
/// its recorded heartbeats echo node1's previous incarnation.
#[test]
fn replayed_datagrams_of_a_dead_peer_do_not_make_a_cold_started_node_quorate() {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(2, ("200ms", "1s"));
    c.start(1);
    c.start(2);
    let both = c.agree(&[1, 2], &["node1", "node2"]);
    assert!(both.quorum.quorate);
    let recorded = c.capture(1, 2, Duration::from_secs(4)).join().unwrap();
    assert!(recorded.len() > 20, "captured {} datagrams", recorded.len());
    c.kill(2);
    c.kill(1);
    c.start(1);
    c.wait(1, "node1 back alone, waiting for all", |s| {
        s.quorum.waiting_for_all && !s.quorum.quorate
    });
    c.replay_from_outsider(recorded);
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < until {
        let s = c.status(1).unwrap();
        assert_eq!(s.members, ["node1"], "the replayed node2 became a member");
        assert!(!s.quorum.quorate, "node1 became quorate on a recording");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 15: changing the authkey partitioned the cluster. The new key file
/// is written, then each daemon reloads it (SIGHUP) in turn: both keys are
/// accepted meanwhile, each sends with the new one once its peer has it,
/// and the old one is refused at the end; the view never changes.
#[test]
fn a_two_node_cluster_stays_up_through_a_key_rotation_by_sighup() {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(2, ("200ms", "1s"));
    c.start(1);
    c.start(2);
    c.agree(&[1, 2], &["node1", "node2"]);
    // Formation may take a second view right after the first.
    std::thread::sleep(Duration::from_secs(1));
    let formed = c.agree(&[1, 2], &["node1", "node2"]);
    let key = c.dir.join("authkey");
    netns::sh(&[
        env!("CARGO_BIN_EXE_paceline"),
        "cluster",
        "keygen",
        "--file",
        key.to_str().unwrap(),
        "--force",
    ]);
    c.hangup(1);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !c.log(1).contains("accepted besides the one in use") {
        assert!(std::time::Instant::now() < deadline, "{}", c.log(1));
        std::thread::sleep(Duration::from_millis(100));
    }
    c.hangup(2);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(1..=2).all(|i| c.log(i).contains("is refused from now on")) {
        assert!(
            std::time::Instant::now() < deadline,
            "{}\n{}",
            c.log(1),
            c.log(2)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for i in 1..=2 {
        let s = c.status(i).unwrap();
        assert_eq!(s.view_id, formed.view_id, "node{i}: the view changed");
        assert!(!c.log(i).contains("lost (silent"), "{}", c.log(i));
    }
    // A node restarted afterwards reads the new file and rejoins.
    c.kill(2);
    c.start(2);
    c.agree(&[1, 2], &["node1", "node2"]);
}
