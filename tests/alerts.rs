//! Alert agents of a real `pacelined` on loopback (no root needed):
//! Debian pacemaker's own `alert_file.sh.sample`, unmodified, writes its
//! file for node, resource and attribute events; every agent gets
//! Pacemaker's `CRM_alert_*` variables; a hanging agent is killed after its
//! timeout and a missing one is counted, neither delaying the resources.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

#[path = "local/mod.rs"]
mod local;

/// Where Debian's pacemaker-common installs the sample agents.
const SAMPLE: &str = "/usr/share/pacemaker/alerts/alert_file.sh.sample";

struct Daemon {
    dir: PathBuf,
    child: Child,
    http: SocketAddr,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn start(tag: &str) -> Daemon {
    let dir = std::env::temp_dir().join(format!("plalerts{}{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
    let key = dir.join("authkey");
    local::keygen(&key);
    script(
        &dir.join("env.sh"),
        "env | grep '^CRM_alert_' | sort > \"$CRM_alert_recipient.$CRM_alert_node_sequence.$CRM_alert_kind\"",
    );
    script(
        &dir.join("hang.sh"),
        "echo $$ >> \"$CRM_alert_recipient\"\nexec sleep 300",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let d = dir.display();
    let config = format!(
        r#"[cluster]
name = "alerts"
authkey = "{d}/authkey"
state_dir = "{d}/state"
[membership]
heartbeat = "100ms"
token_timeout = "1s"
[[node]]
name = "node1"
id = 1
links = ["127.0.0.1:{udp}"]
[fencing]
enabled = false
[http]
listen = ["{http}"]
[[primitive]]
id = "dummy"
agent = "ocf:pacemaker:Dummy"
params = {{ state = "{d}/dummy.state" }}
[[primitive]]
id = "state"
agent = "ocf:pacemaker:Stateful"
params = {{ state = "{d}/stateful.state" }}
[[clone]]
id = "state-clone"
resource = "state"
promotable = true
[[alert]]
id = "file"
path = "{SAMPLE}"
[[alert.recipient]]
id = "file-log"
value = "{d}/alerts.log"
[[alert]]
id = "env"
path = "{d}/env.sh"
select = ["resource", "node"]
[[alert.recipient]]
id = "env-dump"
value = "{d}/env"
[[alert]]
id = "hang"
path = "{d}/hang.sh"
timeout = "1s"
select = ["resource"]
[[alert.recipient]]
id = "hang-pids"
value = "{d}/hang.pids"
[[alert]]
id = "missing"
path = "{d}/no-such-agent"
select = ["node"]
"#,
        udp = local::free_udp_port(),
    );
    let child = local::start_node1(
        &dir,
        &config,
        true,
        std::fs::File::create(dir.join("daemon.log")).unwrap(),
    );
    Daemon { dir, child, http }
}

fn get(addr: SocketAddr, path: &str) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}

/// Waits up to `within` for `done` on the file at `path`.
fn wait_file(d: &mut Daemon, path: &Path, within: Duration, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + within;
    loop {
        assert!(matches!(d.child.try_wait(), Ok(None)), "pacelined exited");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if done(&text) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn pacemakers_sample_agent_writes_its_file_and_bad_agents_delay_nothing() {
    assert!(
        Path::new(SAMPLE).exists(),
        "{SAMPLE} (Debian's pacemaker-common; scripts/install-test-deps installs it)"
    );
    let mut d = start("file");
    let log = d.dir.join("alerts.log");
    let want = [
        "Node 'node1' is now 'member'",
        "Resource operation 'monitor' for 'dummy' on 'node1': not running (target: 7)",
        "Resource operation 'start' for 'dummy' on 'node1': ok",
        "Resource operation 'promote' for 'state' on 'node1': ok",
        "Attribute 'master-state' on node 'node1' was updated to",
    ];
    let text = wait_file(&mut d, &log, Duration::from_secs(40), |t| {
        want.iter().all(|w| t.contains(w))
    });
    let daemon_log = std::fs::read_to_string(d.dir.join("daemon.log")).unwrap_or_default();
    for w in want {
        assert!(
            text.contains(w),
            "no `{w}` in the sample agent's file:\n{text}\n--- daemon log:\n{daemon_log}"
        );
    }
    // Pacemaker's default timestamp-format: %H:%M:%S.%06N, then ": ".
    let first = text.lines().next().unwrap_or("");
    let stamp = first.split(": ").next().unwrap_or("");
    assert_eq!(stamp.len(), "12:00:00.123456".len(), "{first}");
    // The hanging agent ran (it wrote its pid) and was killed after 1 s.
    let pids_file = d.dir.join("hang.pids");
    let pids = wait_file(&mut d, &pids_file, Duration::from_secs(5), |t| {
        !t.is_empty()
    });
    std::thread::sleep(Duration::from_secs(3));
    for pid in pids.lines() {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "the hanging agent {pid} still runs"
        );
    }
    let metrics = get(d.http, "/metrics");
    let count = |result: &str| {
        let line = format!("paceline_alerts_total{{result=\"{result}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(count("timeout") >= 1, "{metrics}");
    assert!(count("failed") >= 1, "the missing agent: {metrics}");
    assert!(count("ok") >= 5, "{metrics}");
    let daemon_log = std::fs::read_to_string(d.dir.join("daemon.log")).unwrap_or_default();
    assert!(
        daemon_log.contains("alert hang") && daemon_log.contains("killed after its timeout"),
        "{daemon_log}"
    );
}

#[test]
fn agents_get_pacemakers_crm_alert_variables() {
    let mut d = start("env");
    let dir = d.dir.clone();
    let dumps = || -> Vec<String> {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("env.") && n.ends_with(".resource"))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while dumps().is_empty() && Instant::now() < deadline {
        assert!(matches!(d.child.try_wait(), Ok(None)), "pacelined exited");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let name = dumps()
        .into_iter()
        .next()
        .expect("no resource alert ran the env agent");
    let env = std::fs::read_to_string(dir.join(&name)).unwrap();
    let keys: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    for key in [
        "CRM_alert_kind",
        "CRM_alert_version",
        "CRM_alert_recipient",
        "CRM_alert_node_sequence",
        "CRM_alert_timestamp",
        "CRM_alert_timestamp_epoch",
        "CRM_alert_timestamp_usec",
        "CRM_alert_node",
        "CRM_alert_rsc",
        "CRM_alert_task",
        "CRM_alert_interval",
        "CRM_alert_rc",
        "CRM_alert_target_rc",
        "CRM_alert_status",
        "CRM_alert_desc",
    ] {
        assert!(keys.contains(&key), "{key} missing from\n{env}");
    }
    assert!(env.contains("CRM_alert_kind=resource\n"), "{env}");
    assert!(
        env.contains(&format!("CRM_alert_recipient={}/env\n", dir.display())),
        "{env}"
    );
    let _ = &mut d;
}
