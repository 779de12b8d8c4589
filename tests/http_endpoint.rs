//! The read-only HTTP endpoint of a real `pacelined` on loopback (no root
//! needed): the health checks by resource and role, `/status` as
//! `paceline status --output json` prints it, `/metrics` as `promtool check
//! metrics` accepts it, TLS, and the bounds (connections, request size,
//! slow clients, methods).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "local/mod.rs"]
mod local;

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

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const RESOURCES: &str = r#"
[[primitive]]
id = "dummy"
agent = "ocf:pacemaker:Dummy"
[[primitive]]
id = "state"
agent = "ocf:pacemaker:Stateful"
ops = [
  { name = "monitor", interval = "1s", role = "Promoted" },
  { name = "monitor", interval = "2s", role = "Unpromoted" },
]
[[clone]]
id = "state-clone"
resource = "state"
promotable = true
"#;

/// Starts node1 with `[http]` (plus `http_extra` lines) and these nodes.
fn start(tag: &str, nodes: &str, http_extra: &str) -> Daemon {
    let dir = std::env::temp_dir().join(format!("plhttp{}{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
    let key = dir.join("authkey");
    local::keygen(&key);
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    let config = format!(
        "[cluster]\nname = \"{tag}\"\nauthkey = \"{}\"\nstate_dir = \"{}\"\n\
         [membership]\nheartbeat = \"100ms\"\ntoken_timeout = \"1s\"\n{nodes}\n\
         [fencing]\nenabled = false\n\
         [http]\nlisten = [\"{http}\"]\n{http_extra}\n{RESOURCES}",
        key.display(),
        dir.join("state").display()
    );
    let child = local::start_node1(&dir, &config, true, Stdio::null());
    Daemon { dir, child, http }
}

fn one_node() -> String {
    format!(
        "[[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n",
        local::free_udp_port()
    )
}

/// `GET path` over a fresh connection: (status, body).
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    )
}

fn request(addr: SocketAddr, head: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(head.as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    parse(&text)
}

fn parse(text: &str) -> Option<(u16, String)> {
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Waits up to `within` until `GET path` answers `status`; the last answer.
fn wait_status(d: &mut Daemon, path: &str, status: u16, within: Duration) -> Option<(u16, String)> {
    let deadline = Instant::now() + within;
    let mut last = None;
    while Instant::now() < deadline {
        assert!(matches!(d.child.try_wait(), Ok(None)), "pacelined exited");
        last = get(d.http, path);
        if last.as_ref().is_some_and(|(s, _)| *s == status) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

fn status_json(socket: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["status", "--output", "json", "--socket"])
        .arg(socket)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn health_checks_answer_by_resource_and_role_and_status_is_the_clis_json() {
    let mut d = start("roles", &one_node(), "");
    let primary = wait_status(&mut d, "/primary/state-clone", 200, Duration::from_secs(40));
    assert_eq!(primary.as_ref().map(|a| a.0), Some(200), "{primary:?}");
    let body: serde_json::Value = serde_json::from_str(&primary.unwrap().1).unwrap();
    assert_eq!(body["node"], "node1");
    // The clone, its primitive, a plain primitive; 503 for what is not here.
    for (path, status) in [
        ("/health", 200),
        ("/primary/state", 200),
        ("/replica/state-clone", 503),
        ("/resource/state-clone", 200),
        ("/primary/dummy", 503),
        ("/nothing/dummy", 404),
        ("/resource/nothing", 404),
        ("/", 404),
    ] {
        let got = get(d.http, path).map(|a| a.0);
        assert_eq!(got, Some(status), "{path}");
    }
    let dummy = wait_status(&mut d, "/resource/dummy", 200, Duration::from_secs(20));
    assert_eq!(dummy.map(|a| a.0), Some(200));
    // /status is what `paceline status --output json` prints, field for field.
    let (code, text) = get(d.http, "/status").unwrap();
    assert_eq!(code, 200);
    let http: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cli = status_json(&d.dir.join("api.sock"));
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&http), keys(&cli));
    for field in ["cluster", "node", "dc", "resources", "members"] {
        assert_eq!(http[field], cli[field], "{field}");
    }
}

#[test]
fn metrics_pass_promtool_and_name_the_cluster_as_ha_cluster_exporter_does() {
    let mut d = start("metrics", &one_node(), "");
    wait_status(&mut d, "/primary/state-clone", 200, Duration::from_secs(40));
    let (code, metrics) = get(d.http, "/metrics").unwrap();
    assert_eq!(code, 200);
    for line in [
        "ha_cluster_pacemaker_nodes{node=\"node1\",status=\"online\",type=\"member\"} 1",
        "ha_cluster_pacemaker_nodes{node=\"node1\",status=\"dc\",type=\"member\"} 1",
        "ha_cluster_corosync_quorate 1",
        "ha_cluster_pacemaker_stonith_enabled 0",
        "ha_cluster_corosync_member_votes{node_id=\"1\",node=\"node1\",local=\"true\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }
    let promoted = "ha_cluster_pacemaker_resources{agent=\"ocf:pacemaker:Stateful\",clone=\"state-clone\",group=\"\",managed=\"true\",node=\"node1\",resource=\"state\",role=\"promoted\",status=\"active\"} 1";
    assert!(metrics.contains(promoted), "{metrics}");
    assert!(
        metrics
            .contains("paceline_action_duration_seconds_bucket{operation=\"monitor\",le=\"+Inf\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("paceline_view_changes_total "),
        "{metrics}"
    );
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/install-test-deps installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {said}\n{metrics}"
    );
}

#[test]
fn a_node_without_quorum_passes_no_health_check() {
    // node2 never comes and wait_for_all keeps node1 without quorum.
    let nodes = format!(
        "[quorum]\ntwo_node = true\nwait_for_all = true\n{}\
         [[node]]\nname = \"node2\"\nid = 2\nlinks = [\"127.0.0.1:{}\"]\n",
        one_node(),
        local::free_udp_port()
    );
    let mut d = start("noquorum", &nodes, "");
    // The first view answers too (before it: 503 "starting", not JSON).
    let mut body = serde_json::Value::Null;
    let deadline = Instant::now() + Duration::from_secs(10);
    while body.is_null() && Instant::now() < deadline {
        let health = wait_status(&mut d, "/health", 503, Duration::from_secs(10));
        assert_eq!(health.as_ref().map(|a| a.0), Some(503), "{health:?}");
        body = serde_json::from_str(&health.unwrap().1).unwrap_or_default();
    }
    assert_eq!(body["quorate"], false, "{body}");
    std::thread::sleep(Duration::from_secs(2));
    for path in ["/health", "/resource/dummy", "/primary/state-clone"] {
        assert_eq!(get(d.http, path).map(|a| a.0), Some(503), "{path}");
    }
}

#[test]
fn the_endpoint_bounds_connections_requests_and_slow_clients_and_is_read_only() {
    let mut d = start("bounds", &one_node(), "");
    wait_status(&mut d, "/health", 200, Duration::from_secs(20));
    // Not a GET: refused.
    let post = request(
        d.http,
        "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(post.map(|a| a.0), Some(405));
    // A request head over 16 KiB is refused without being read whole.
    let huge = format!(
        "GET /health HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    assert!(
        request(d.http, &huge).is_none_or(|a| a.0 == 431),
        "a 64 KiB head was answered"
    );
    // 64 idle connections take every place; the next is closed at once,
    // and a place frees when one goes.
    let idle: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(d.http).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(d.http, "/health"), None, "a 65th connection was served");
    drop(idle);
    let again = wait_status(&mut d, "/health", 200, Duration::from_secs(5));
    assert_eq!(again.map(|a| a.0), Some(200));
    // A client that sends nothing is closed after the head timeout (5 s).
    let mut slow = TcpStream::connect(d.http).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let _ = slow.read(&mut buf);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(12),
        "a silent client was kept {waited:?}"
    );
}

#[test]
fn with_cert_and_key_the_endpoint_speaks_tls() {
    let dir = std::env::temp_dir().join(format!("plhttptls{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{made:?}");
    let extra = format!(
        "cert = \"{}\"\nkey = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let mut d = start("tls", &one_node(), &extra);
    let url = format!("https://{}/health", d.http);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut code = String::new();
    while Instant::now() < deadline && code != "200" {
        assert!(matches!(d.child.try_wait(), Ok(None)), "pacelined exited");
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&cert)
            .arg(&url)
            .output()
            .unwrap();
        code = String::from_utf8_lossy(&out.stdout).to_string();
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, "200", "curl over TLS");
    // Plain HTTP on the TLS port is not answered as HTTP.
    assert!(get(d.http, "/health").is_none_or(|a| a.0 != 200));
}

/// Loads the daemon's file with its `[http]` address replaced by `to`.
fn load_http_at(d: &Daemon, from: SocketAddr, to: &str) {
    let text = std::fs::read_to_string(d.dir.join("cluster.toml")).unwrap();
    let file = d.dir.join("moved.toml");
    std::fs::write(&file, text.replace(&from.to_string(), to)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["configure", "load", "--socket"])
        .arg(d.dir.join("api.sock"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Waits until `ok` holds, for up to 10 s.
fn within_10s(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `configure load` that moves `[http]` takes effect without a restart:
/// the new address answers, the old one is closed; an address that
/// cannot be bound is said in the status, and the next change serves again.
#[test]
fn a_changed_http_section_is_applied_without_a_restart() {
    let mut d = start("changed", &one_node(), "");
    wait_status(&mut d, "/health", 200, Duration::from_secs(20));
    let first = d.http;
    let moved: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    load_http_at(&d, first, &moved.to_string());
    within_10s("the new address answers", || {
        get(moved, "/health").is_some_and(|a| a.0 == 200)
    });
    within_10s("the old address is closed", || {
        TcpStream::connect_timeout(&first, Duration::from_secs(1)).is_err()
    });
    // An address in use: not served, and the status says why.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap();
    d.http = moved;
    load_http_at(&d, first, &busy.to_string());
    let socket = d.dir.join("api.sock");
    within_10s("the status says [http] is not served", || {
        status_json(&socket)["warnings"]
            .to_string()
            .contains("[http] is not served")
    });
    assert!(
        get(moved, "/health").is_none(),
        "the previous address closed"
    );
    drop(taken);
    let again: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    load_http_at(&d, first, &again.to_string());
    within_10s("served again", || {
        get(again, "/health").is_some_and(|a| a.0 == 200)
    });
    let warnings = status_json(&socket)["warnings"].to_string();
    assert!(!warnings.contains("[http]"), "{warnings}");
    d.http = again;
}
