//! The network namespace harness shared by the namespace tests: real
//! `pacelined` processes, each in its own namespace with two links over two
//! bridges (the bridges live in a namespace of their own). `Cluster` owns
//! namespaces, daemons and files and removes them all when dropped, also
//! when the test panics.
#![allow(dead_code)]

use std::fs::File;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use paceline::api::{self, ClusterStatusView, Request, Response, StatusReport};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Runs the `paceline` CLI against the daemon behind `socket`.
pub fn paceline(args: &[&str], socket: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .unwrap()
}

/// Node `i`'s full status report, or None while it does not answer.
pub fn report(c: &Cluster, i: u8) -> Option<StatusReport> {
    match api::call(&c.socket(i), &Request::Report) {
        Ok(Response::Report(r)) => Some(*r),
        _ => None,
    }
}

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
        File::create(self.dir.join(format!("node{i}.log"))).unwrap();
        self.start_exe(i, Path::new(env!("CARGO_BIN_EXE_pacelined")), env);
    }

    /// Starts node `i` running the daemon `exe` (another build's, for an
    /// upgrade); its log is appended to the node's log.
    pub fn start_exe(&mut self, i: u8, exe: &Path, env: &[(&str, &Path)]) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node{i}.log")))
            .unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(&format!("n{i}"))])
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .arg(exe)
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

impl Cluster {
    /// Captures, in node `at`'s namespace, the cluster datagrams node
    /// `from` sends it, for `duration`, with their times: what anyone on the
    /// network can record (no key needed). Runs on its own thread.
    pub fn capture(
        &self,
        at: u8,
        from: u8,
        duration: Duration,
    ) -> std::thread::JoinHandle<Vec<(Duration, Vec<u8>)>> {
        let path = format!("/run/netns/{}", self.ns(&format!("n{at}")));
        std::thread::spawn(move || {
            let fd = File::open(path).unwrap();
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            capture_udp(from, 5405, duration)
        })
    }

    /// Sends `datagrams` to node 1's first link from a namespace of its
    /// own, each at its time offset (as they were captured).
    pub fn replay_from_outsider(&mut self, datagrams: Vec<(Duration, Vec<u8>)>) {
        let ns = self.ns("x");
        self.add_ns(&ns);
        self.attach(&ns, 99, &[0]);
        let path = format!("/run/netns/{ns}");
        std::thread::spawn(move || {
            let fd = File::open(path).unwrap();
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let socket = UdpSocket::bind("198.18.0.99:0").unwrap();
            let start = Instant::now();
            let first = datagrams.first().map(|d| d.0).unwrap_or_default();
            for (at, d) in datagrams {
                let due = at - first;
                std::thread::sleep(due.saturating_sub(start.elapsed()));
                // The test may be over (its namespaces gone): nothing to report.
                let _ = socket.send_to(&d, "198.18.0.1:5405");
            }
        });
    }
}

/// UDP payloads to `port` from hosts 198.18.*.`from`, read from an
/// AF_PACKET socket of the current namespace (IPv4 without options only).
fn capture_udp(from: u8, port: u16, duration: Duration) -> Vec<(Duration, Vec<u8>)> {
    // SAFETY: plain socket calls on a descriptor owned by this function.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM,
            i32::from((libc::ETH_P_IP as u16).to_be()),
        )
    };
    assert!(
        fd >= 0,
        "AF_PACKET socket: {}",
        std::io::Error::last_os_error()
    );
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    // SAFETY: `timeout` outlives the call; the size is its own.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while start.elapsed() < duration {
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        let Ok(n) = usize::try_from(n) else {
            continue;
        };
        let p = &buf[..n];
        let from_node = p.len() >= 20 && p[12] == 198 && p[13] == 18 && p[15] == from;
        if n < 28 || p[0] != 0x45 || p[9] != 17 || !from_node {
            continue;
        }
        if u16::from_be_bytes([p[22], p[23]]) != port {
            continue;
        }
        out.push((start.elapsed(), p[28..].to_vec()));
    }
    // SAFETY: closing the descriptor opened above, once.
    unsafe { libc::close(fd) };
    out
}

impl Cluster {
    /// Sends SIGHUP (reload) to node `i`'s daemon.
    pub fn hangup(&self, i: u8) {
        if let Some(child) = self.children[usize::from(i - 1)].as_ref() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
        }
    }

    /// Node `i`'s daemon log so far.
    pub fn log(&self, i: u8) -> String {
        std::fs::read_to_string(self.dir.join(format!("node{i}.log"))).unwrap_or_default()
    }

    /// Polls until `ok` holds; after `within` fails with node1's and
    /// node2's logs (the bound only ends a hung test: assertions are on
    /// the order of events, timing belongs in bench/).
    pub fn until(&self, what: &str, within: Duration, ok: impl Fn() -> bool) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "timed out waiting for {what}\n--- node1\n{}\n--- node2\n{}",
            self.log(1),
            self.log(2)
        );
    }
}
