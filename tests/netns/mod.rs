//! The network namespace harness shared by the namespace tests: real
//! `pacelined` processes, each in its own namespace with two links over two
//! bridges (the bridges live in a namespace of their own). `Cluster` owns
//! namespaces, daemons and files and removes them all when dropped, also
//! when the test panics.
#![allow(dead_code)]

use std::fs::File;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use paceline::api::{self, ClusterStatusView, Request, Response};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn can_run() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    let ip = Command::new("ip").arg("-V").output().is_ok();
    if !root || !ip {
        eprintln!("skipping: network namespace tests need root and iproute2");
    }
    root && ip
}

pub fn sh(args: &[&str]) {
    let status = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(status.success(), "command failed: {args:?}");
}

/// Owns namespaces, daemons and files; removes them all when dropped,
/// also when the test panics.
pub struct Cluster {
    pub prefix: String,
    pub dir: PathBuf,
    pub children: Vec<Option<Child>>,
    pub namespaces: Vec<String>,
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
    pub fn new(nodes: u8, timers: (&str, &str)) -> Self {
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

    pub fn ns(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn add_ns(&mut self, ns: &str) {
        sh(&["ip", "netns", "add", ns]);
        self.namespaces.push(ns.to_string());
        sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    /// Connects namespace `ns` to the bridges with address 198.18.<link>.<host>.
    pub fn attach(&self, ns: &str, host: u8, links: &[u8]) {
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

    pub fn socket(&self, i: u8) -> PathBuf {
        self.dir.join(format!("node{i}.sock"))
    }

    pub fn start(&mut self, i: u8) {
        self.start_with_env(i, &[]);
    }

    /// Starts node `i` with extra environment variables.
    pub fn start_with_env(&mut self, i: u8, env: &[(&str, &Path)]) {
        let log = File::create(self.dir.join(format!("node{i}.log"))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(&format!("n{i}"))])
            .envs(env.iter().map(|(k, v)| (*k, *v)))
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

    pub fn kill(&mut self, i: u8) {
        if let Some(mut child) = self.children[usize::from(i - 1)].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Clean shutdown (SIGTERM), waiting for the daemon to exit.
    pub fn terminate(&mut self, i: u8) {
        if let Some(mut child) = self.children[usize::from(i - 1)].take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
            child.wait().unwrap();
        }
    }

    /// Appends TOML to every node's config (before the daemons start).
    pub fn append_config(&self, text: &str) {
        for i in 1..=self.children.len() {
            let path = self.dir.join(format!("node{i}.toml"));
            let mut cfg = std::fs::read_to_string(&path).unwrap();
            cfg.push_str(text);
            std::fs::write(&path, cfg).unwrap();
        }
    }

    /// Waits up to `limit` for node `i`'s daemon to exit on its own.
    pub fn exited_within(&mut self, i: u8, limit: Duration) -> bool {
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

    pub fn set_link(&self, i: u8, link: u8, up: bool) {
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

    pub fn status(&self, i: u8) -> Option<ClusterStatusView> {
        match api::call(&self.socket(i), &Request::Status) {
            Ok(Response::Status(s)) => Some(*s),
            _ => None,
        }
    }

    /// Polls node `i` until `ok` holds; panics with its last status and log.
    pub fn wait(
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
    pub fn agree(&self, nodes: &[u8], expected: &[&str]) -> ClusterStatusView {
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

    pub fn members(&self, i: u8, expected: &[&str]) -> ClusterStatusView {
        self.wait(i, &format!("members {expected:?}"), |s| {
            s.members == expected
        })
    }

    /// Sends datagrams from a namespace the test creates (not a cluster node).
    pub fn send_from_outsider(&mut self, datagrams: Vec<Vec<u8>>) {
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
