//! Real `pacelined` processes, each in its own network namespace with two
//! links over two bridges (the bridges live in a namespace of their own).
//! Needs root and iproute2; skipped with a message otherwise.

use std::fs::File;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use paceline::api::{self, ClusterStatusView, Request, Response};
use paceline::wire::{ClusterKey, Encoder, Heartbeat, Message, PROTOCOL_VERSION, ViewSummary};

#[path = "../fencing/tests/support/mod.rs"]
mod peers;

static NEXT: AtomicU32 = AtomicU32::new(0);

fn can_run() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    let ip = Command::new("ip").arg("-V").output().is_ok();
    if !root || !ip {
        eprintln!("skipping: network namespace tests need root and iproute2");
    }
    root && ip
}

fn sh(args: &[&str]) {
    let status = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(status.success(), "command failed: {args:?}");
}

/// Owns namespaces, daemons and files; removes them all when dropped,
/// also when the test panics.
struct Cluster {
    prefix: String,
    dir: PathBuf,
    children: Vec<Option<Child>>,
    namespaces: Vec<String>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    fn new(nodes: u8, timers: (&str, &str)) -> Self {
        let prefix = format!(
            "plm{}{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = Cluster {
            prefix,
            dir,
            children: Vec::new(),
            namespaces: Vec::new(),
        };
        let br = c.ns("br");
        c.add_ns(&br);
        for l in 0..2 {
            sh(&[
                "ip",
                "-n",
                &br,
                "link",
                "add",
                &format!("br{l}"),
                "type",
                "bridge",
            ]);
            sh(&["ip", "-n", &br, "link", "set", &format!("br{l}"), "up"]);
        }
        for i in 1..=nodes {
            let ns = c.ns(&format!("n{i}"));
            c.add_ns(&ns);
            c.attach(&ns, i, &[0, 1]);
        }
        let key = c.dir.join("authkey");
        sh(&[
            env!("CARGO_BIN_EXE_paceline"),
            "cluster",
            "keygen",
            "--file",
            key.to_str().unwrap(),
        ]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "authkey must be private");
        let mut toml = format!(
            "[cluster]\nname = \"t{0}\"\nauthkey = \"{1}\"\n[membership]\nheartbeat = \"{2}\"\ntoken_timeout = \"{3}\"\n",
            c.prefix,
            key.display(),
            timers.0,
            timers.1
        );
        for i in 1..=nodes {
            toml.push_str(&format!(
                "[[node]]\nname = \"node{i}\"\nid = {i}\nlinks = [\"198.18.0.{i}\", \"198.18.1.{i}\"]\n"
            ));
        }
        for i in 1..=nodes {
            let state = c.dir.join(format!("state{i}"));
            let text = toml.replacen(
                "[membership]",
                &format!("state_dir = \"{}\"\n[membership]", state.display()),
                1,
            );
            std::fs::write(c.dir.join(format!("node{i}.toml")), text).unwrap();
            c.children.push(None);
        }
        c
    }

    fn ns(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn add_ns(&mut self, ns: &str) {
        sh(&["ip", "netns", "add", ns]);
        self.namespaces.push(ns.to_string());
        sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    /// Connects namespace `ns` to the bridges with address 198.18.<link>.<host>.
    fn attach(&self, ns: &str, host: u8, links: &[u8]) {
        let br = self.ns("br");
        for &l in links {
            let inner = format!("{}a{host}{l}", self.prefix);
            let outer = format!("{}b{host}{l}", self.prefix);
            sh(&[
                "ip", "link", "add", &inner, "type", "veth", "peer", "name", &outer,
            ]);
            sh(&[
                "ip",
                "link",
                "set",
                &inner,
                "netns",
                ns,
                "name",
                &format!("eth{l}"),
            ]);
            sh(&["ip", "link", "set", &outer, "netns", &br]);
            sh(&[
                "ip",
                "-n",
                &br,
                "link",
                "set",
                &outer,
                "master",
                &format!("br{l}"),
                "up",
            ]);
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("198.18.{l}.{host}/24"),
                "dev",
                &format!("eth{l}"),
            ]);
            sh(&["ip", "-n", ns, "link", "set", &format!("eth{l}"), "up"]);
        }
    }

    fn socket(&self, i: u8) -> PathBuf {
        self.dir.join(format!("node{i}.sock"))
    }

    fn start(&mut self, i: u8) {
        let log = File::create(self.dir.join(format!("node{i}.log"))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(&format!("n{i}"))])
            .arg(Path::new(env!("CARGO_BIN_EXE_pacelined")))
            .arg("--config")
            .arg(self.dir.join(format!("node{i}.toml")))
            .arg("--socket")
            .arg(self.socket(i))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[usize::from(i - 1)] = Some(child);
    }

    fn kill(&mut self, i: u8) {
        if let Some(mut child) = self.children[usize::from(i - 1)].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Clean shutdown (SIGTERM), waiting for the daemon to exit.
    fn terminate(&mut self, i: u8) {
        if let Some(mut child) = self.children[usize::from(i - 1)].take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
            child.wait().unwrap();
        }
    }

    /// Appends TOML to every node's config (before the daemons start).
    fn append_config(&self, text: &str) {
        for i in 1..=self.children.len() {
            let path = self.dir.join(format!("node{i}.toml"));
            let mut cfg = std::fs::read_to_string(&path).unwrap();
            cfg.push_str(text);
            std::fs::write(&path, cfg).unwrap();
        }
    }

    /// Waits up to `limit` for node `i`'s daemon to exit on its own.
    fn exited_within(&mut self, i: u8, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(child) = self.children[usize::from(i - 1)].as_mut()
                && child.try_wait().unwrap().is_some()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn set_link(&self, i: u8, link: u8, up: bool) {
        let ns = self.ns(&format!("n{i}"));
        sh(&[
            "ip",
            "-n",
            &ns,
            "link",
            "set",
            &format!("eth{link}"),
            if up { "up" } else { "down" },
        ]);
    }

    fn status(&self, i: u8) -> Option<ClusterStatusView> {
        match api::call(&self.socket(i), &Request::Status) {
            Ok(Response::Status(s)) => Some(*s),
            _ => None,
        }
    }

    /// Polls node `i` until `ok` holds; panics with its last status and log.
    fn wait(
        &self,
        i: u8,
        what: &str,
        ok: impl Fn(&ClusterStatusView) -> bool,
    ) -> ClusterStatusView {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(s) = self.status(i) {
                if ok(&s) {
                    return s;
                }
                last = Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log =
            std::fs::read_to_string(self.dir.join(format!("node{i}.log"))).unwrap_or_default();
        panic!("node{i}: timed out waiting for {what}; last status {last:#?}\nlog:\n{log}");
    }

    /// Waits until `nodes` hold the same view (members and id).
    fn agree(&self, nodes: &[u8], expected: &[&str]) -> ClusterStatusView {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got: Vec<_> = nodes.iter().filter_map(|&i| self.status(i)).collect();
            if got.len() == nodes.len()
                && got
                    .iter()
                    .all(|s| s.members == expected && s.view_id == got[0].view_id)
            {
                return got[0].clone();
            }
            assert!(
                Instant::now() < deadline,
                "nodes {nodes:?} never agreed on {expected:?}: {got:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn members(&self, i: u8, expected: &[&str]) -> ClusterStatusView {
        self.wait(i, &format!("members {expected:?}"), |s| {
            s.members == expected
        })
    }

    /// Sends datagrams from a namespace the test creates (not a cluster node).
    fn send_from_outsider(&mut self, datagrams: Vec<Vec<u8>>) {
        let ns = self.ns("x");
        self.add_ns(&ns);
        self.attach(&ns, 99, &[0]);
        let path = format!("/run/netns/{ns}");
        std::thread::spawn(move || {
            let fd = File::open(path).unwrap();
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let socket = UdpSocket::bind("198.18.0.99:0").unwrap();
            for d in datagrams {
                socket.send_to(&d, "198.18.0.1:5405").unwrap();
            }
        })
        .join()
        .unwrap();
    }
}

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
        heard: vec![],
        view: ViewSummary {
            id: 999,
            members: vec![2],
        },
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
    assert!(err.contains("permission denied"), "{err}");
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
