//! Debian's IPaddr2 in a network namespace pair the test creates, and
//! Filesystem in a private mount namespace, both run through the executor.
//! The agents are reached through wrapper scripts in a private OCF_ROOT that
//! enter the namespace (`ip netns exec` / `nsenter`) and exec the real agent.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use paceline::executor::ocf::{AgentId, OcfAction, OcfRunner};

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn capture(args: &[&str]) -> String {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

struct Cleanup {
    tmp: PathBuf,
    netns: Vec<String>,
    holder: Option<Child>,
}
impl Drop for Cleanup {
    fn drop(&mut self) {
        for ns in &self.netns {
            sh(&["ip", "netns", "del", ns]);
        }
        if let Some(c) = &mut self.holder {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

fn tmpdir(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("plx{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A private OCF_ROOT whose `heartbeat/<agent>` runs the real one via `prefix`.
fn wrapped_root(tmp: &Path, agent: &str, prefix: &str) -> PathBuf {
    let root = tmp.join("ocf");
    let dir = root.join("resource.d/heartbeat");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join(agent);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nOCF_ROOT=/usr/lib/ocf; export OCF_ROOT\nexec {prefix} /usr/lib/ocf/resource.d/heartbeat/{agent} \"$@\"\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}

fn usable(agent: &str) -> bool {
    let ok = Path::new(&format!("/usr/lib/ocf/resource.d/heartbeat/{agent}")).is_file()
        && capture(&["id", "-u"]).trim() == "0";
    if !ok {
        eprintln!("SKIP: needs root and resource-agents ({agent})");
    }
    ok
}

/// Two namespaces joined by a veth pair: `a` (198.18.5.1/24) runs the agent,
/// `b` (198.18.5.2/24) is the other host on the segment.
fn netns_pair(tag: &str, tmp: PathBuf) -> (Cleanup, String, String, String) {
    let pid = std::process::id();
    let (a, b) = (format!("plx{pid}{tag}a"), format!("plx{pid}{tag}b"));
    let (va, vb) = (format!("plx{pid}{tag}0"), format!("plx{pid}{tag}1"));
    let c = Cleanup {
        tmp,
        netns: vec![a.clone(), b.clone()],
        holder: None,
    };
    assert!(sh(&["ip", "netns", "add", &a]));
    assert!(sh(&["ip", "netns", "add", &b]));
    assert!(sh(&[
        "ip", "link", "add", &va, "netns", &a, "type", "veth", "peer", "name", &vb, "netns", &b
    ]));
    for (ns, dev, addr) in [(&a, &va, "198.18.5.1/24"), (&b, &vb, "198.18.5.2/24")] {
        assert!(sh(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]));
        assert!(sh(&["ip", "-n", ns, "link", "set", dev, "up"]));
        assert!(sh(&["ip", "-n", ns, "link", "set", "lo", "up"]));
    }
    (c, a, b, va)
}

/// Whether `ip` answers a TCP connect from namespace `ns` (a refused
/// connection is an answer; silence is not). Needs no ping binary.
fn answers(ns: &str, ip: &str) -> bool {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "timeout", "2", "bash", "-c"])
        .arg(format!("exec 3<>/dev/tcp/{ip}/9"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).contains("refused")
}

#[test]
fn ipaddr2_in_a_network_namespace() {
    if !usable("IPaddr2") {
        return;
    }
    let tmp = tmpdir("ipaddr2");
    let (_c, a, b, dev) = netns_pair("i", tmp.clone());
    let root = wrapped_root(&tmp, "IPaddr2", &format!("ip netns exec {a}"));
    let r = OcfRunner::new(root, tmp.join("rsctmp"));
    let act = |name: &str| {
        let mut x = OcfAction::new(
            "vip",
            AgentId::parse("ocf:heartbeat:IPaddr2").unwrap(),
            name,
        );
        x.params.insert("ip".into(), "198.18.5.100".into());
        x.params.insert("cidr_netmask".into(), "24".into());
        x.params.insert("nic".into(), dev.clone());
        x.params.insert("arp_count".into(), "1".into());
        x.timeout = Duration::from_secs(20);
        x
    };
    assert_eq!(r.run(&act("monitor")).rc.0, 7);
    let s = r.run(&act("start"));
    assert_eq!(s.rc.0, 0, "{s:?}");
    assert!(
        capture(&["ip", "-n", &a, "-4", "addr", "show", "dev", &dev]).contains("198.18.5.100/24")
    );
    assert!(answers(&b, "198.18.5.100"), "VIP answers from the peer");
    assert!(
        capture(&["ip", "-n", &b, "neigh", "show", "198.18.5.100"]).contains("lladdr"),
        "ARP seen in the peer"
    );
    assert_eq!(r.run(&act("monitor")).rc.0, 0);
    assert_eq!(r.run(&act("stop")).rc.0, 0);
    assert!(
        !capture(&["ip", "-n", &a, "-4", "addr", "show", "dev", &dev]).contains("198.18.5.100")
    );
    assert_eq!(r.run(&act("monitor")).rc.0, 7);
    sh(&["ip", "-n", &b, "neigh", "flush", "all"]);
    assert!(!answers(&b, "198.18.5.100"), "VIP gone after stop");

    let mut bad = act("start");
    bad.params.insert("ip".into(), "not-an-address".into());
    let res = r.run(&bad);
    assert_ne!(res.rc.0, 0, "{res:?}");
    assert!(res.exit_reason.is_some(), "agent explains: {res:?}");
}

#[test]
fn filesystem_tmpfs_in_a_private_mount_namespace() {
    if !usable("Filesystem") {
        return;
    }
    let tmp = tmpdir("fs");
    let mnt = tmp.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let holder = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sleep", "600"])
        .spawn()
        .unwrap();
    let hpid = holder.id();
    let _c = Cleanup {
        tmp: tmp.clone(),
        netns: vec![],
        holder: Some(holder),
    };
    // Wait until the holder has its own mount namespace.
    let own = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    for _ in 0..100 {
        if std::fs::read_link(format!("/proc/{hpid}/ns/mnt"))
            .ok()
            .is_some_and(|n| n != own)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let root = wrapped_root(&tmp, "Filesystem", &format!("nsenter -t {hpid} -m --"));
    let r = OcfRunner::new(root, tmp.join("rsctmp"));
    let act = |name: &str| {
        let mut x = OcfAction::new(
            "fs",
            AgentId::parse("ocf:heartbeat:Filesystem").unwrap(),
            name,
        );
        x.params.insert("device".into(), "tmpfs".into());
        x.params
            .insert("directory".into(), mnt.display().to_string());
        x.params.insert("fstype".into(), "tmpfs".into());
        x.params.insert("options".into(), "size=4m".into());
        x
    };
    let probe = r.run(&act("monitor"));
    assert_eq!(probe.rc.0, 7, "{probe:?}");
    let s = r.run(&act("start"));
    assert_eq!(s.rc.0, 0, "{s:?}");
    let mounts = std::fs::read_to_string(format!("/proc/{hpid}/mounts")).unwrap();
    assert!(
        mounts.contains(&mnt.display().to_string()),
        "mounted in the namespace"
    );
    let host = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !host.contains(&mnt.display().to_string()),
        "not visible outside"
    );
    assert_eq!(r.run(&act("monitor")).rc.0, 0);
    assert_eq!(r.run(&act("stop")).rc.0, 0);
    assert_eq!(r.run(&act("monitor")).rc.0, 7);
}

/// Runs `paceline resource exec` for `rsc` inside network namespace `ns`.
fn exec_in(ns: &str, cfg: &Path, rsc: &str, action: &str) -> serde_json::Value {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            env!("CARGO_BIN_EXE_paceline"),
            "resource",
            "exec",
            "--config",
        ])
        .arg(cfg)
        .args([rsc, action, "--output", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn builtin_ipaddr_answers_after_start_not_after_stop() {
    if capture(&["id", "-u"]).trim() != "0" {
        eprintln!("SKIP: needs root");
        return;
    }
    let tmp = tmpdir("vip");
    let (_c, a, b, dev) = netns_pair("v", tmp.clone());
    let cfg = tmp.join("cluster.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cluster]\nname = \"t\"\nstate_dir = \"{}\"\n[[primitive]]\nid = \"vip\"\nagent = \"builtin:ipaddr\"\nparams = {{ ip = \"198.18.5.100\", cidr_netmask = 24, nic = \"{dev}\", arp_count = 3, arp_interval = 100, label = \"{dev}:vip\" }}\n[[primitive]]\nid = \"taken\"\nagent = \"builtin:ipaddr\"\nparams = {{ ip = \"198.18.5.2\", cidr_netmask = 24, nic = \"{dev}\" }}\n[[primitive]]\nid = \"badip\"\nagent = \"builtin:ipaddr\"\nparams = {{ ip = \"198.18.5.300\", nic = \"{dev}\" }}\n",
            tmp.display()
        ),
    )
    .unwrap();
    assert_eq!(exec_in(&a, &cfg, "vip", "monitor")["rc"], 7);
    let s = exec_in(&a, &cfg, "vip", "start");
    assert_eq!(s["rc"], 0, "{s}");
    let addrs = capture(&["ip", "-n", &a, "-4", "addr", "show", "dev", &dev]);
    assert!(
        addrs.contains("198.18.5.100/24") && addrs.contains(&format!("{dev}:vip")),
        "{addrs}"
    );
    assert_eq!(exec_in(&a, &cfg, "vip", "monitor")["rc"], 0);
    assert!(answers(&b, "198.18.5.100"), "VIP answers from the peer");
    assert!(capture(&["ip", "-n", &b, "neigh", "show", "198.18.5.100"]).contains("lladdr"));
    assert_eq!(exec_in(&a, &cfg, "vip", "stop")["rc"], 0);
    assert_eq!(exec_in(&a, &cfg, "vip", "monitor")["rc"], 7);
    sh(&["ip", "-n", &b, "neigh", "flush", "all"]);
    assert!(!answers(&b, "198.18.5.100"), "VIP gone after stop");
    assert_eq!(
        exec_in(&a, &cfg, "vip", "stop")["rc"],
        0,
        "stop is idempotent"
    );

    let dup = exec_in(&a, &cfg, "taken", "start");
    assert_eq!(dup["rc"], 1, "{dup}");
    assert!(
        dup["exit_reason"]
            .as_str()
            .unwrap()
            .contains("already in use"),
        "{dup}"
    );
    assert!(!capture(&["ip", "-n", &a, "-4", "addr"]).contains("198.18.5.2/"));
    let bad = exec_in(&a, &cfg, "badip", "start");
    assert_eq!(bad["rc"], 6, "{bad}");
}

/// A process that keeps its own private mount namespace alive.
fn mount_namespace(tmp: &Path) -> (Cleanup, u32) {
    let holder = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sleep", "600"])
        .spawn()
        .unwrap();
    let hpid = holder.id();
    let own = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    for _ in 0..100 {
        if std::fs::read_link(format!("/proc/{hpid}/ns/mnt"))
            .ok()
            .is_some_and(|n| n != own)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (
        Cleanup {
            tmp: tmp.to_path_buf(),
            netns: vec![],
            holder: Some(holder),
        },
        hpid,
    )
}

#[test]
fn builtin_filesystem_mount_monitor_forced_unmount() {
    if capture(&["id", "-u"]).trim() != "0" {
        eprintln!("SKIP: needs root");
        return;
    }
    let tmp = tmpdir("bfs");
    let mnt = tmp.join("data");
    let (_c, hpid) = mount_namespace(&tmp);
    let cfg = tmp.join("cluster.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cluster]\nname = \"t\"\nstate_dir = \"{}\"\n[[primitive]]\nid = \"fs\"\nagent = \"builtin:filesystem\"\nparams = {{ device = \"tmpfs\", directory = \"{}\", fstype = \"tmpfs\", options = \"size=4m,noatime\", write_probe = true, check_timeout = \"2s\" }}\n",
            tmp.display(),
            mnt.display()
        ),
    )
    .unwrap();
    let exec = |action: &str| -> serde_json::Value {
        let out = Command::new("nsenter")
            .args([
                "-t",
                &hpid.to_string(),
                "-m",
                "--",
                env!("CARGO_BIN_EXE_paceline"),
                "resource",
                "exec",
                "--config",
            ])
            .arg(&cfg)
            .args(["fs", action, "--output", "json"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    assert_eq!(exec("monitor")["rc"], 7);
    let s = exec("start");
    assert_eq!(s["rc"], 0, "{s}");
    let in_ns = || {
        std::fs::read_to_string(format!("/proc/{hpid}/mounts"))
            .unwrap()
            .contains(&mnt.display().to_string())
    };
    assert!(in_ns());
    let m = exec("monitor");
    assert_eq!(m["rc"], 0, "{m}");
    // A process inside the mount keeps it busy; stop must still unmount.
    let mut busy = Command::new("nsenter")
        .args(["-t", &hpid.to_string(), "-m", "--", "sh", "-c"])
        .arg(format!("cd {} && exec sleep 600", mnt.display()))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let st = exec("stop");
    assert_eq!(st["rc"], 0, "{st}");
    assert!(!in_ns(), "unmounted");
    let status = busy.wait().unwrap();
    assert!(!status.success(), "the holder was signalled: {status:?}");
    assert_eq!(exec("monitor")["rc"], 7);
}

/// IPv6 VIP: the kernel's duplicate address detection is waited for, an
/// unsolicited neighbour advertisement overrides a stale neighbour entry on
/// the peer, the VIP answers from the peer after start and not after stop,
/// and an address another host holds makes start fail.
#[test]
fn builtin_ipaddr_ipv6_dad_and_neighbour_advertisement() {
    if capture(&["id", "-u"]).trim() != "0" {
        eprintln!("SKIP: needs root");
        return;
    }
    let tmp = tmpdir("vip6");
    let (_c, a, b, dev) = netns_pair("w", tmp.clone());
    let peer_dev = format!("plx{}w1", std::process::id());
    for (ns, d, addr) in [
        (&a, &dev, "2001:db8:5::1/64"),
        (&b, &peer_dev, "2001:db8:5::2/64"),
    ] {
        assert!(sh(&[
            "ip", "-n", ns, "-6", "addr", "add", addr, "dev", d, "nodad"
        ]));
    }
    let cfg = tmp.join("cluster.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cluster]\nname = \"t\"\nstate_dir = \"{}\"\n[[primitive]]\nid = \"vip6\"\nagent = \"builtin:ipaddr\"\nparams = {{ ip = \"2001:db8:5::100\", cidr_netmask = 64, nic = \"{dev}\", arp_count = 2, arp_interval = 100 }}\n[[primitive]]\nid = \"taken6\"\nagent = \"builtin:ipaddr\"\nparams = {{ ip = \"2001:db8:5::2\", cidr_netmask = 64, nic = \"{dev}\" }}\n",
            tmp.display()
        ),
    )
    .unwrap();
    // The peer believes the VIP lives at another MAC (a failed-over VIP).
    assert!(sh(&[
        "ip",
        "-n",
        &b,
        "-6",
        "neigh",
        "replace",
        "2001:db8:5::100",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        &peer_dev,
        "nud",
        "stale"
    ]));
    let started = std::time::Instant::now();
    let s = exec_in(&a, &cfg, "vip6", "start");
    eprintln!("IPv6 VIP start with DAD took {:?}", started.elapsed());
    assert_eq!(s["rc"], 0, "{s}");
    let addrs = capture(&["ip", "-n", &a, "-6", "addr", "show", "dev", &dev]);
    assert!(addrs.contains("2001:db8:5::100/64"), "{addrs}");
    let vip_line = addrs
        .lines()
        .find(|l| l.contains("2001:db8:5::100/64"))
        .unwrap_or_default();
    assert!(
        !vip_line.contains("tentative"),
        "start returned before DAD: {addrs}"
    );
    assert_eq!(exec_in(&a, &cfg, "vip6", "monitor")["rc"], 0);
    let own_mac = capture(&["ip", "-n", &a, "link", "show", "dev", &dev]);
    let own_mac = own_mac
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap()
        .to_string();
    let neigh = capture(&["ip", "-n", &b, "-6", "neigh", "show", "2001:db8:5::100"]);
    assert!(
        neigh.contains(&own_mac),
        "NA did not override the stale entry: {neigh}"
    );
    assert!(
        answers(&b, "2001:db8:5::100"),
        "IPv6 VIP answers from the peer"
    );
    assert_eq!(exec_in(&a, &cfg, "vip6", "stop")["rc"], 0);
    assert_eq!(exec_in(&a, &cfg, "vip6", "monitor")["rc"], 7);
    sh(&["ip", "-n", &b, "-6", "neigh", "flush", "all"]);
    assert!(!answers(&b, "2001:db8:5::100"), "IPv6 VIP gone after stop");

    let dup = exec_in(&a, &cfg, "taken6", "start");
    assert_eq!(dup["rc"], 1, "{dup}");
    assert!(
        dup["exit_reason"]
            .as_str()
            .unwrap()
            .contains("already in use"),
        "{dup}"
    );
    let addrs = capture(&["ip", "-n", &a, "-6", "addr", "show", "dev", &dev]);
    assert!(
        !addrs.contains("2001:db8:5::2/"),
        "duplicate left behind: {addrs}"
    );
}

/// Stops (SIGCONT + kill) a FUSE server the test started, also on panic.
struct FuseServer(std::process::Child);
impl Drop for FuseServer {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A network-style filesystem whose server stops answering: a FUSE mount
/// (bindfs) whose daemon is SIGSTOPped hangs every access, as a stale NFS
/// mount does. The monitor must fail within check_timeout, not hang. (This
/// kernel has no NFS client, see ARCHITECTURE.md; FUSE stands in for it.)
#[test]
fn builtin_filesystem_monitor_fails_fast_on_a_hung_mount() {
    if capture(&["id", "-u"]).trim() != "0" || !Path::new("/usr/bin/bindfs").exists() {
        eprintln!("SKIP: needs root and bindfs");
        return;
    }
    let tmp = tmpdir("hung");
    let (src, mnt) = (tmp.join("export"), tmp.join("mnt"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::write(src.join("file"), "data").unwrap();
    let (_c, hpid) = mount_namespace(&tmp);
    let server = FuseServer(
        Command::new("nsenter")
            .args(["-t", &hpid.to_string(), "-m", "--", "bindfs", "-f"])
            .arg(&src)
            .arg(&mnt)
            .spawn()
            .unwrap(),
    );
    let mounted = || {
        std::fs::read_to_string(format!("/proc/{hpid}/mounts"))
            .unwrap_or_default()
            .contains(&mnt.display().to_string())
    };
    for _ in 0..100 {
        if mounted() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(mounted(), "bindfs did not mount");
    let cfg = tmp.join("cluster.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cluster]\nname = \"t\"\nstate_dir = \"{}\"\n[[primitive]]\nid = \"share\"\nagent = \"builtin:filesystem\"\nparams = {{ device = \"{}\", directory = \"{}\", fstype = \"fuse.bindfs\", check_timeout = \"1s\" }}\n",
            tmp.display(),
            src.display(),
            mnt.display()
        ),
    )
    .unwrap();
    let monitor = || -> (serde_json::Value, Duration) {
        let t = std::time::Instant::now();
        let out = Command::new("nsenter")
            .args(["-t", &hpid.to_string(), "-m", "--"])
            .arg(env!("CARGO_BIN_EXE_paceline"))
            .args(["resource", "exec", "--config"])
            .arg(&cfg)
            .args(["share", "monitor", "--output", "json"])
            .output()
            .unwrap();
        let v = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (v, t.elapsed())
    };
    let (ok, _) = monitor();
    assert_eq!(ok["rc"], 0, "{ok}");
    let pid = nix::unistd::Pid::from_raw(server.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let (hung, took) = monitor();
    assert_eq!(hung["rc"], 1, "{hung}");
    assert!(
        hung["exit_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("did not answer"),
        "{hung}"
    );
    assert!(took < Duration::from_secs(5), "monitor took {took:?}");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    let (back, _) = monitor();
    assert_eq!(
        back["rc"], 0,
        "recovers when the server answers again: {back}"
    );
}

/// A network filesystem this node cannot mount is "not installed" (rc 5,
/// so the resource is kept off the node), with the package to install.
#[test]
fn builtin_filesystem_without_a_mount_helper_is_not_installed() {
    if Path::new("/sbin/mount.glusterfs").exists()
        || Path::new("/usr/sbin/mount.glusterfs").exists()
    {
        eprintln!("SKIP: glusterfs-client is installed here");
        return;
    }
    let tmp = tmpdir("gl");
    let _c = Cleanup {
        tmp: tmp.clone(),
        netns: vec![],
        holder: None,
    };
    let cfg = tmp.join("cluster.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cluster]\nname = \"t\"\nstate_dir = \"{0}\"\n[[primitive]]\nid = \"g\"\nagent = \"builtin:filesystem\"\nparams = {{ device = \"server1:/vol0\", directory = \"{0}/m\", fstype = \"glusterfs\", options = \"backup-volfile-servers=server2\" }}\n",
            tmp.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["resource", "exec", "--config"])
        .arg(&cfg)
        .args(["g", "start", "--output", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rc"], 5, "{v}");
    assert!(
        v["exit_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("glusterfs-client"),
        "{v}"
    );
}
