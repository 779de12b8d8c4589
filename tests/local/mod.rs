//! What the tests that run lone `pacelined` processes on loopback share:
//! a cluster key, free ports for their links, and a lone daemon driven
//! through the CLI (`Lone`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use paceline::api::{self, Request, Response, StatusReport};

/// Writes a new cluster key at `key` with `paceline cluster keygen`.
pub fn keygen(key: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["cluster", "keygen", "--file"])
        .arg(key)
        .status()
        .unwrap();
    assert!(status.success(), "paceline cluster keygen: {status}");
}

/// A UDP port on loopback that was free a moment ago.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A started `pacelined` and the directory of its files: killed and
/// removed when dropped. Tests add their own `impl` for what they ask it.
#[allow(dead_code)]
pub struct Running {
    pub dir: PathBuf,
    pub child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A lone `pacelined` (node1 of a one-node cluster, fencing off) on
/// loopback with the Dummy agent, its files in a directory of its own;
/// killed and removed when dropped.
#[allow(dead_code)]
pub struct Lone {
    pub dir: PathBuf,
    child: Child,
}

impl Drop for Lone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `config` to DIR/cluster.toml, checks it with `paceline config
/// check --without-agents` when `check` (the daemon must run what the check
/// accepts), and starts pacelined on it as node1: API socket DIR/api.sock,
/// agents' state in DIR/rsctmp, its stderr to `stderr`.
#[allow(dead_code)]
pub fn start_node1(dir: &Path, config: &str, check: bool, stderr: impl Into<Stdio>) -> Child {
    let path = dir.join("cluster.toml");
    std::fs::write(&path, config).unwrap();
    if check {
        let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(["config", "check", "--without-agents"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "config check: {out:?}");
    }
    Command::new(env!("CARGO_BIN_EXE_pacelined"))
        .arg("--config")
        .arg(&path)
        .arg("--socket")
        .arg(dir.join("api.sock"))
        .args(["--node", "node1"])
        .env("HA_RSCTMP", dir.join("rsctmp"))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

#[allow(dead_code)]
impl Lone {
    pub fn socket(&self) -> PathBuf {
        self.dir.join("api.sock")
    }

    /// Runs `paceline ARGS --socket SOCKET`.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(args)
            .arg("--socket")
            .arg(self.socket())
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn config(&self) -> String {
        self.ok(&["configure", "show"])
    }

    pub fn report(&self) -> StatusReport {
        match api::call(&self.socket(), &Request::Report) {
            Ok(Response::Report(r)) => *r,
            other => panic!("no report: {other:?}"),
        }
    }

    /// The role and nodes the status shows for primitive `id`.
    pub fn placed(&self, id: &str) -> Option<(String, Vec<String>)> {
        self.report()
            .resources
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| (r.role, r.nodes))
    }

    pub fn until(&self, what: &str, ok: impl Fn(&StatusReport) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Response::Report(r)) = api::call(&self.socket(), &Request::Report)
                && ok(&r)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}: {:#?}", self.report());
    }
}

/// A command's stdout and stderr.
#[allow(dead_code)]
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[allow(dead_code)]
impl Lone {
    /// Starts it in a directory named after `tag`, and waits for its DC.
    pub fn start(tag: &str) -> Lone {
        let dir = std::env::temp_dir().join(format!("{tag}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
        let key = dir.join("authkey");
        keygen(&key);
        let config = format!(
            "# operator's note: keep me\n[cluster]\nname = \"edits\"\nauthkey = \"{}\"\nstate_dir = \"{}\"\n\
         [membership]\nheartbeat = \"100ms\"\ntoken_timeout = \"1s\"\n\
         [[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n\
         [fencing]\nenabled = false\n",
            key.display(),
            dir.join("state").display(),
            free_udp_port()
        );
        let child = start_node1(&dir, &config, false, Stdio::null());
        let d = Lone { dir, child };
        d.until("a DC", |r| r.dc.as_deref() == Some("node1"));
        d
    }
}
