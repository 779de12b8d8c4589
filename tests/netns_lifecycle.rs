//! The cluster's life across its nodes from one node (issue 17): `cluster
//! sync`, `cluster start|stop|enable|disable --all`, `cluster node add|remove --restart`
//! and `report --all`, on real daemons in network namespaces reached over
//! real ssh (an sshd in each namespace). Each node sees a directory of its
//! own at one path (a bind mount in the namespace's mount namespace), so
//! every node's configuration is the same file at the same path, as on
//! real machines. systemd is not in the namespaces: a `systemctl` on the
//! sessions' PATH starts and stops the node's pacelined the way the unit
//! does (`--config`, SIGTERM, waiting for the exit). Needs root, iproute2,
//! openssh-server and resource-agents' Dummy; skipped with a message
//! otherwise.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "netns/mod.rs"]
mod netns;
use netns::{Cluster, can_run};

use paceline::api::{self, Request, Response};

const SSHD: &str = "/usr/sbin/sshd";
const DUMMY: &str = "/usr/lib/ocf/resource.d/heartbeat/Dummy";

/// The lab: namespaces (from `netns::Cluster`), each node's directory, the
/// sshds; the daemons the stand-in systemctl started are killed by
/// namespace when it is dropped (before the namespaces go).
struct Lab {
    dir: PathBuf,
    /// What every node sees as its own: `/…/etc` (empty outside).
    shared: PathBuf,
    namespaces: Vec<String>,
    sshds: Vec<Child>,
    ssh: String,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let pids = Command::new("ip").args(["netns", "pids", ns]).output();
            for pid in pids
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        for child in &mut self.sshds {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Lab {
    fn node_dir(&self, i: u8) -> PathBuf {
        self.dir.join(format!("node{i}"))
    }

    fn config(&self) -> PathBuf {
        self.shared.join("cluster.toml")
    }

    /// `paceline ARGS` on node `i`, as an operator logged in there.
    fn paceline(&self, i: u8, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("ip")
            .args(["netns", "exec", &self.namespaces[usize::from(i - 1)]])
            .args([
                "sh",
                "-c",
                r#"mount --bind "$1" "$2" && shift 2 && exec "$@""#,
                "on-node",
            ])
            .arg(self.node_dir(i))
            .arg(&self.shared)
            .arg(env!("CARGO_BIN_EXE_paceline"))
            .args(args)
            .args(["--config", &self.config().display().to_string()])
            .args(["--ssh", &self.ssh])
            .env("PATH", path)
            .output()
            .unwrap()
    }

    fn ok(&self, i: u8, args: &[&str]) -> String {
        let out = self.paceline(i, args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "paceline {args:?} on node{i}:\n{text}"
        );
        text
    }

    /// Node `i`'s view (members), if its daemon answers.
    fn members(&self, i: u8) -> Option<Vec<String>> {
        match api::call(&self.node_dir(i).join("paceline.sock"), &Request::Status) {
            Ok(Response::Status(s)) => Some(s.members),
            _ => None,
        }
    }

    fn until(&self, what: &str, ok: impl Fn() -> bool) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut logs = String::new();
        for i in 1..=3 {
            let log =
                std::fs::read_to_string(self.node_dir(i).join("pacelined.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            logs.push_str(&format!(
                "\n--- node{i}\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        panic!("timed out waiting for {what}{logs}");
    }

    fn running(&self, i: u8) -> bool {
        std::fs::read_to_string(self.node_dir(i).join("pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .is_some_and(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .is_ok_and(|s| !s.contains("State:\tZ"))
            })
    }
}

/// The stand-in for systemd's unit (packaging/pacelined.service): start
/// runs pacelined with the node's configuration in a session of its own;
/// stop sends SIGTERM and waits for the exit.
fn systemctl(shared: &Path) -> String {
    let s = shared.display();
    let daemon = env!("CARGO_BIN_EXE_pacelined");
    format!(
        r#"#!/bin/sh
pid() {{ p=$(cat {s}/pid 2>/dev/null) && [ -e /proc/$p ] && ! grep -qs 'State:.Z' /proc/$p/status && echo $p; }}
case "$1 $2" in
"start pacelined")
    pid >/dev/null && exit 0
    sh -c 'echo $$ > "$1"; shift; exec setsid "$@"' x {s}/pid {daemon} --config {s}/cluster.toml >>{s}/pacelined.log 2>&1 </dev/null &
    ;;
"stop pacelined")
    p=$(pid) || exit 0
    kill -TERM $p
    while pid >/dev/null; do sleep 0.1; done
    ;;
"restart pacelined")
    "$0" stop pacelined && "$0" start pacelined
    ;;
"enable pacelined") touch {s}/enabled ;;
"disable pacelined") rm -f {s}/enabled ;;
*) echo "systemctl stand-in: $*" >&2; exit 2 ;;
esac
"#
    )
}

fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
}

/// The configuration every node gets: two nodes, one Dummy.
fn cluster_toml(name: &str, shared: &Path) -> String {
    let s = shared.display();
    let mut text = format!(
        "# the operator's note\n[cluster]\nname = \"{name}\"\nauthkey = \"{s}/authkey\"\nstate_dir = \"{s}/state\"\nsocket = \"{s}/paceline.sock\"\n[membership]\nheartbeat = \"200ms\"\ntoken_timeout = \"1s\"\n"
    );
    for i in 1..=2 {
        text.push_str(&format!(
            "[[node]]\nname = \"node{i}\"\nid = {i}\nlinks = [\"198.18.0.{i}\", \"198.18.1.{i}\"]\n"
        ));
    }
    text.push_str(&format!(
        "[fencing]\nenabled = false\n[[primitive]]\nid = \"probe-me\"\nagent = \"ocf:heartbeat:Dummy\"\nparams = {{ state = \"{s}/dummy.state\" }}\n"
    ));
    text
}

fn lab(c: &Cluster) -> Lab {
    let dir = c.dir.clone();
    let shared = dir.join("etc");
    let keys = dir.join("ssh");
    for d in [&shared, &keys, &dir.join("bin")] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::create_dir_all("/run/sshd").unwrap();
    for (file, kind) in [("host", "ed25519"), ("id", "ed25519")] {
        run(&[
            "ssh-keygen",
            "-q",
            "-t",
            kind,
            "-N",
            "",
            "-f",
            keys.join(file).to_str().unwrap(),
        ]);
    }
    write_exec(&dir.join("bin/systemctl"), &systemctl(&shared));
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_paceline"), dir.join("bin/paceline")).unwrap();
    let sshd_config = dir.join("sshd_config");
    std::fs::write(
        &sshd_config,
        format!(
            "ListenAddress 0.0.0.0:22\nHostKey {k}/host\nPidFile none\nAuthorizedKeysFile {k}/id.pub\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nSetEnv PATH={b}:/usr/sbin:/usr/bin:/sbin:/bin\n",
            k = keys.display(),
            b = dir.join("bin").display()
        ),
    )
    .unwrap();
    let namespaces: Vec<String> = (1..=3).map(|i| c.ns(&format!("n{i}"))).collect();
    let mut l = Lab {
        dir: dir.clone(),
        shared: shared.clone(),
        namespaces,
        sshds: Vec::new(),
        ssh: format!(
            "ssh -i {}/id -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5",
            keys.display()
        ),
    };
    for i in 1..=3u8 {
        let node = l.node_dir(i);
        std::fs::create_dir_all(&node).unwrap();
        let log = std::fs::File::create(dir.join(format!("sshd{i}.log"))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &l.namespaces[usize::from(i - 1)]])
            .args([
                "sh",
                "-c",
                r#"mount --bind "$1" "$2" && exec /usr/sbin/sshd -D -e -f "$3""#,
                "sshd",
            ])
            .arg(&node)
            .arg(&shared)
            .arg(&sshd_config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        l.sshds.push(child);
    }
    // Every sshd answers before the test goes on.
    for i in 1..=3u8 {
        let host = format!("198.18.0.{i}");
        l.until(&format!("sshd on node{i}"), || {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &l.namespaces[0]]);
            cmd.args(l.ssh.split_whitespace())
                .args([host.as_str(), "true"]);
            cmd.output().is_ok_and(|o| o.status.success())
        });
    }
    l
}

fn archive_files(path: &Path) -> Vec<(String, String)> {
    let file = std::fs::File::open(path).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut text = String::new();
        let _ = entry.read_to_string(&mut text);
        out.push((name, text));
    }
    out
}

#[test]
fn the_cluster_is_synced_started_grown_reported_shrunk_and_stopped_from_one_node() {
    if !can_run() || !Path::new(SSHD).exists() || !Path::new(DUMMY).exists() {
        eprintln!("skipping: needs root, iproute2, openssh-server and resource-agents' Dummy");
        return;
    }
    let c = Cluster::new(3, ("200ms", "1s"));
    let l = lab(&c);
    // node1 alone has the configuration and the key (`cluster setup`'s).
    std::fs::write(
        l.node_dir(1).join("cluster.toml"),
        cluster_toml(&format!("lc{}", c.prefix), &l.shared),
    )
    .unwrap();
    let key = std::fs::read(c.dir.join("authkey")).unwrap();
    std::fs::write(l.node_dir(1).join("authkey"), &key).unwrap();
    std::fs::set_permissions(
        l.node_dir(1).join("authkey"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    // sync: node2 gets both, private.
    l.ok(1, &["cluster", "sync"]);
    for file in ["cluster.toml", "authkey"] {
        let got = l.node_dir(2).join(file);
        assert_eq!(
            std::fs::read(&got).unwrap(),
            std::fs::read(l.node_dir(1).join(file)).unwrap(),
            "{file}"
        );
        let mode = std::fs::metadata(&got).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    assert!(!l.node_dir(3).join("authkey").exists());

    // start --all: both daemons, one view.
    let out = l.ok(1, &["cluster", "start", "--all"]);
    assert!(
        out.contains("node1: started") && out.contains("node2: started"),
        "{out}"
    );
    l.until("node1 and node2 in one view", || {
        l.members(1).is_some_and(|m| m == ["node1", "node2"])
    });
    // enable --all: both start at boot.
    let out = l.ok(1, &["cluster", "enable", "--all"]);
    assert!(out.contains("node2: enabled"), "{out}");
    assert!(l.node_dir(1).join("enabled").exists() && l.node_dir(2).join("enabled").exists());

    // node add --restart: node3 gets the key and the configuration, every
    // node restarts, all three in one view.
    let out = l.ok(
        1,
        &[
            "cluster",
            "node",
            "add",
            "node3=198.18.0.3,198.18.1.3",
            "--restart",
        ],
    );
    assert!(out.contains("node3: started"), "{out}");
    assert_eq!(std::fs::read(l.node_dir(3).join("authkey")).unwrap(), key);
    let cfg = std::fs::read_to_string(l.node_dir(2).join("cluster.toml")).unwrap();
    assert!(
        cfg.contains("name = \"node3\"") && cfg.contains("# the operator's note"),
        "{cfg}"
    );
    l.until("three nodes in one view on node1 and node3", || {
        let all = ["node1", "node2", "node3"];
        l.members(1).is_some_and(|m| m == all) && l.members(3).is_some_and(|m| m == all)
    });

    // report --all: one archive, a directory per node with its own log.
    let dest = l.dir.join("report.tar.gz");
    let log = l.shared.join("pacelined.log");
    l.ok(
        1,
        &[
            "report",
            "--all",
            "--dest",
            dest.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ],
    );
    let files = archive_files(&dest);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for node in ["node1", "node2", "node3"] {
        for file in [
            "status.txt",
            "cluster.toml",
            "journal.txt",
            "op-history.json",
            "agents.json",
            "versions.txt",
        ] {
            assert!(
                names
                    .iter()
                    .any(|n| n.ends_with(&format!("/{node}/{file}"))),
                "{node}/{file} missing: {names:?}"
            );
        }
        let journal = files
            .iter()
            .find(|(n, _)| n.ends_with(&format!("/{node}/journal.txt")))
            .map(|(_, t)| t.clone())
            .unwrap();
        // Each node's own log: the daemon names its node when it starts.
        assert!(journal.contains(node), "{node}'s journal:\n{journal}");
        let ops = files
            .iter()
            .find(|(n, _)| n.ends_with(&format!("/{node}/op-history.json")))
            .map(|(_, t)| t.clone())
            .unwrap();
        assert!(ops.contains("probe-me"), "{node}'s op history:\n{ops}");
        let agents = files
            .iter()
            .find(|(n, _)| n.ends_with(&format!("/{node}/agents.json")))
            .map(|(_, t)| t.clone())
            .unwrap();
        assert!(
            agents.contains("\"ocf:heartbeat:Dummy\"") && agents.contains("shortdesc"),
            "{node}'s agents:\n{agents}"
        );
    }
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // node remove --restart: node3 stopped and forgotten, its key deleted,
    // node1 and node2 restarted one at a time.
    let out = l.ok(1, &["cluster", "node", "remove", "node3", "--restart"]);
    assert!(
        out.contains("node2: restarted") && out.contains("node1: restarted"),
        "{out}"
    );
    assert!(!l.running(3));
    assert!(!l.node_dir(3).join("authkey").exists());
    let cfg = std::fs::read_to_string(l.node_dir(2).join("cluster.toml")).unwrap();
    assert!(!cfg.contains("node3"), "{cfg}");
    l.until("node1 and node2 in one view again", || {
        l.members(1).is_some_and(|m| m == ["node1", "node2"])
            && l.members(2).is_some_and(|m| m == ["node1", "node2"])
    });

    // stop --all: both daemons exit cleanly.
    let out = l.ok(1, &["cluster", "stop", "--all"]);
    assert!(
        out.contains("node1: stopped") && out.contains("node2: stopped"),
        "{out}"
    );
    assert!(!l.running(1) && !l.running(2));
    l.ok(1, &["cluster", "disable", "node2"]);
    assert!(l.node_dir(1).join("enabled").exists() && !l.node_dir(2).join("enabled").exists());
    for i in [1, 2] {
        let log = std::fs::read_to_string(l.node_dir(i).join("pacelined.log")).unwrap();
        assert!(!log.contains("panicked"), "node{i}:\n{log}");
    }
}
