//! `pacelined` under a double of systemd's notify socket and journal
//! stream (issue 20, "The unit"): READY=1 once it serves, WATCHDOG=1 sent
//! at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM; with `$JOURNAL_STREAM`
//! naming its stderr but no journald to take the entries, every line still
//! reaches stderr and the daemon lives. One node of two on loopback (its
//! peer never starts); no root needed.

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "local/mod.rs"]
mod local;

/// A node's directory, removed (and its daemon killed) when dropped.
struct Node {
    dir: PathBuf,
    child: Option<Child>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Node {
    fn new(tag: &str) -> Node {
        let dir = std::env::temp_dir().join(format!("pl-sd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
        let key = dir.join("authkey");
        local::keygen(&key);
        let port = local::free_udp_port;
        let config = format!(
            "[cluster]\nname = \"sd{tag}\"\nauthkey = \"{}\"\nstate_dir = \"{}\"\n\
             [quorum]\ntwo_node = true\n\
             [membership]\nheartbeat = \"100ms\"\ntoken_timeout = \"1s\"\n\
             [[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n\
             [[node]]\nname = \"node2\"\nid = 2\nlinks = [\"127.0.0.1:{}\"]\n\
             [fencing]\nenabled = false\n",
            key.display(),
            dir.join("state").display(),
            port(),
            port()
        );
        std::fs::write(dir.join("cluster.toml"), config).unwrap();
        Node { dir, child: None }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pacelined"));
        command
            .arg("--config")
            .arg(self.dir.join("cluster.toml"))
            .arg("--socket")
            .arg(self.dir.join("api.sock"))
            .args(["--node", "node1"])
            .env("HA_RSCTMP", self.dir.join("rsctmp"))
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null());
        command
    }

    fn terminate(&self) {
        let pid = self.child.as_ref().unwrap().id();
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    }
}

/// The states of one datagram (`READY=1`, `STATUS=…`), or None after `wait`.
fn next_states(socket: &UnixDatagram, until: Instant) -> Option<Vec<String>> {
    let left = until.checked_duration_since(Instant::now())?;
    socket
        .set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    Some(text.lines().map(str::to_string).collect())
}

fn wait_for(socket: &UnixDatagram, state: &str, within: Duration) -> Vec<Vec<String>> {
    let until = Instant::now() + within;
    let mut seen = Vec::new();
    while let Some(states) = next_states(socket, until) {
        let found = states.iter().any(|s| s == state);
        seen.push(states);
        if found {
            return seen;
        }
    }
    panic!("no {state} within {within:?}; received {seen:?}");
}

#[test]
fn the_daemon_sends_ready_watchdog_pings_and_stopping() {
    let mut node = Node::new("notify");
    let path = node.dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let mut command = node.command();
    // WatchdogSec=1s: a ping every 500 ms.
    command
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "1000000")
        .stderr(Stdio::null());
    node.child = Some(command.spawn().unwrap());

    let before_ready = wait_for(&socket, "READY=1", Duration::from_secs(30));
    let ready = before_ready.last().unwrap();
    assert!(
        ready.iter().any(|s| s.starts_with("STATUS=node node1")),
        "{ready:?}"
    );
    // At least three pings within 2.5 s (one per 500 ms), and nothing else.
    let until = Instant::now() + Duration::from_millis(2500);
    let mut pings = 0;
    while let Some(states) = next_states(&socket, until) {
        assert_eq!(states, ["WATCHDOG=1"]);
        pings += 1;
    }
    assert!(pings >= 3, "only {pings} WATCHDOG=1 in 2.5 s");

    node.terminate();
    let stopping = wait_for(&socket, "STOPPING=1", Duration::from_secs(10));
    assert!(
        stopping
            .last()
            .unwrap()
            .iter()
            .any(|s| s.starts_with("STATUS="))
    );
    let status = node.child.as_mut().unwrap().wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn without_systemd_the_daemon_logs_to_stderr_and_serves() {
    let mut node = Node::new("plain");
    let log = node.dir.join("stderr.log");
    let mut command = node.command();
    command.stderr(std::fs::File::create(&log).unwrap());
    node.child = Some(command.spawn().unwrap());
    wait_for_line(&log, "API at", Duration::from_secs(30));
}

/// Under a journal stream whose journald is absent (as here) the entries
/// cannot be sent: the lines fall back to stderr and the daemon lives.
#[test]
fn a_journal_that_refuses_entries_falls_back_to_stderr() {
    if Path::new("/run/systemd/journal/socket").exists() {
        eprintln!(
            "skipping: journald runs here, so the entries would go to the real journal \
             (the fallback to stderr cannot be seen)"
        );
        return;
    }
    let mut node = Node::new("journal");
    let log = node.dir.join("stderr.log");
    let file = std::fs::File::create(&log).unwrap();
    let meta = file.metadata().unwrap();
    let mut command = node.command();
    command
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stderr(file);
    node.child = Some(command.spawn().unwrap());
    wait_for_line(&log, "API at", Duration::from_secs(30));
    node.terminate();
    wait_for_line(&log, "left the cluster cleanly", Duration::from_secs(20));
    let status = node.child.as_mut().unwrap().wait().unwrap();
    assert!(status.success(), "{status:?}");
}

fn wait_for_line(log: &Path, needle: &str, within: Duration) {
    let until = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < until,
            "no {needle:?} in {within:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
