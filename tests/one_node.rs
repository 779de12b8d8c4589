//! Clusters that begin with one node: the only node configured, and a node
//! of two that boots while its peer is away. Real `pacelined` processes on
//! loopback with the Dummy agent; no root needed.
//!
//! A node used to stay in the view it starts in (view 0) until it heard a
//! peer, so a one-node cluster that `config check` accepted never elected a
//! DC nor started anything.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[path = "local/mod.rs"]
mod local;

use paceline::api::{self, Request, Response, StatusReport};

/// pacelined as node1, killed and its directory removed when dropped.
use local::Running as Daemon;

/// Starts node1 of a cluster with these `[[node]]`/`[quorum]` lines.
fn start(tag: &str, nodes_and_quorum: &str) -> Daemon {
    let dir = std::env::temp_dir().join(format!("pl1n{}{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
    let key = dir.join("authkey");
    local::keygen(&key);
    let config = format!(
        "[cluster]\nname = \"{tag}\"\nauthkey = \"{}\"\nstate_dir = \"{}\"\n\
         [membership]\nheartbeat = \"100ms\"\ntoken_timeout = \"1s\"\n\
         {nodes_and_quorum}\n\
         [fencing]\nenabled = false\n\
         [[primitive]]\nid = \"dummy\"\nagent = \"ocf:heartbeat:Dummy\"\n",
        key.display(),
        dir.join("state").display()
    );
    let child = local::start_node1(&dir, &config, true, Stdio::null());
    Daemon { dir, child }
}

fn report(socket: &Path) -> Option<StatusReport> {
    match api::call(socket, &Request::Report) {
        Ok(Response::Report(r)) => Some(*r),
        _ => None,
    }
}

fn dummy_started(report: &StatusReport) -> bool {
    report
        .resources
        .iter()
        .any(|r| r.id == "dummy" && r.role == "Started" && r.nodes == ["node1"])
}

/// Waits up to `within` for `done`; returns the last report seen.
fn wait_for(
    daemon: &mut Daemon,
    within: Duration,
    done: impl Fn(&StatusReport) -> bool,
) -> Option<StatusReport> {
    let deadline = Instant::now() + within;
    let mut last = None;
    while Instant::now() < deadline {
        assert!(
            matches!(daemon.child.try_wait(), Ok(None)),
            "pacelined exited"
        );
        last = report(&daemon.dir.join("api.sock"));
        if last.as_ref().is_some_and(&done) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

#[test]
fn the_only_node_configured_becomes_the_dc_and_starts_its_resources() {
    let nodes = format!(
        "[[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n",
        local::free_udp_port()
    );
    let mut daemon = start("solo", &nodes);
    let last = wait_for(&mut daemon, Duration::from_secs(30), dummy_started);
    let last = last.expect("pacelined never answered");
    assert_eq!(last.dc.as_deref(), Some("node1"), "{last:?}");
    assert!(last.membership.quorum.quorate, "{last:?}");
    assert!(dummy_started(&last), "{:?}", last.resources);
}

#[test]
fn a_two_node_member_booting_alone_waits_for_its_peer_only_with_wait_for_all() {
    let nodes = |wait_for_all: bool| {
        format!(
            "[quorum]\ntwo_node = true\nwait_for_all = {wait_for_all}\n\
             [[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n\
             [[node]]\nname = \"node2\"\nid = 2\nlinks = [\"127.0.0.1:{}\"]\n",
            local::free_udp_port(),
            local::free_udp_port()
        )
    };
    // Without wait_for_all the lone node is quorate once it has gathered
    // (fencing is off here, so nothing waits for node2 to be fenced).
    let mut daemon = start("alone", &nodes(false));
    let last = wait_for(&mut daemon, Duration::from_secs(30), dummy_started).unwrap();
    assert_eq!(last.dc.as_deref(), Some("node1"), "{last:?}");
    assert!(dummy_started(&last), "{:?}", last.resources);
    drop(daemon);
    // With it, the same node stays without quorum and starts nothing.
    let mut daemon = start("waits", &nodes(true));
    let last = wait_for(&mut daemon, Duration::from_secs(4), |_| false).unwrap();
    assert!(last.membership.view_id > 0, "it gathered a view: {last:?}");
    assert!(!last.membership.quorum.quorate, "{last:?}");
    assert!(!dummy_started(&last), "{:?}", last.resources);
}

/// A clean shutdown stops what the cluster manages and leaves what it does
/// not (is-managed=false) running, without waiting for it: Pacemaker's
/// "detach" (unmanage or maintenance-mode, then stop the cluster on a node,
/// say to upgrade it). Before, the unmanaged resource, never stopped, held
/// the shutdown for its whole bound (60 s) and the daemon then left "anyway".
#[test]
fn a_clean_shutdown_leaves_an_unmanaged_resource_running_without_waiting_for_it() {
    let dir = std::env::temp_dir().join(format!("pl1n{}detach", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
    let key = dir.join("authkey");
    local::keygen(&key);
    let config = format!(
        "[cluster]\nname = \"detach\"\nauthkey = \"{}\"\nstate_dir = \"{}\"\n\
         [membership]\nheartbeat = \"100ms\"\ntoken_timeout = \"1s\"\n\
         [[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n\
         [fencing]\nenabled = false\n\
         [[primitive]]\nid = \"dummy\"\nagent = \"ocf:heartbeat:Dummy\"\n\
         [[primitive]]\nid = \"other\"\nagent = \"ocf:heartbeat:Dummy\"\n\
         ops = [{{ name = \"monitor\", interval = \"1s\" }}]\n",
        key.display(),
        dir.join("state").display(),
        local::free_udp_port()
    );
    let log = std::fs::File::create(dir.join("log")).unwrap();
    let child = local::start_node1(&dir, &config, true, log);
    let mut daemon = Daemon { dir, child };
    let both = |r: &StatusReport| {
        ["dummy", "other"].iter().all(|id| {
            r.resources
                .iter()
                .any(|v| v.id == *id && v.role == "Started" && v.nodes == ["node1"])
        })
    };
    assert!(wait_for(&mut daemon, Duration::from_secs(30), both).is_some_and(|r| both(&r)));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["resource", "unmanage", "other", "--socket"])
        .arg(daemon.dir.join("api.sock"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let unmanaged = |r: &StatusReport| {
        r.resources
            .iter()
            .any(|v| v.id == "other" && v.flags.iter().any(|f| f == "unmanaged"))
    };
    assert!(
        wait_for(&mut daemon, Duration::from_secs(10), unmanaged).is_some_and(|r| unmanaged(&r))
    );
    let pid = nix::unistd::Pid::from_raw(daemon.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    // The bound only ends a hung test: the daemon's own bound is 60 s.
    let deadline = Instant::now() + Duration::from_secs(90);
    while matches!(daemon.child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(daemon.dir.join("log")).unwrap();
    assert!(log.contains("left the cluster cleanly"), "{log}");
    assert!(
        !log.contains("leaving anyway"),
        "waited for the unmanaged resource:\n{log}"
    );
    let rsctmp = daemon.dir.join("rsctmp");
    assert!(
        rsctmp.join("Dummy-other.state").exists(),
        "the unmanaged resource runs on:\n{log}"
    );
    assert!(
        !rsctmp.join("Dummy-dummy.state").exists(),
        "the managed one was stopped:\n{log}"
    );
}
