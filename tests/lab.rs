//! The namespace lab (`src/lab/`) that the demo, the end-to-end tests and
//! bench/failover build clusters in: its network, its power cut, and its
//! fence agent run by paceline as an ordinary `type = "agent"` device.
//! Needs root and iproute2.

use std::path::Path;
use std::process::Command;

use paceline::lab::{self, Lab, LabOptions};

#[path = "../fencing/tests/support/mod.rs"]
mod peers;

fn can_run() -> bool {
    let ok =
        nix::unistd::Uid::effective().is_root() && Command::new("ip").arg("-V").output().is_ok();
    if !ok {
        eprintln!("skipping: the lab needs root and iproute2");
    }
    ok
}

fn ping(lab: &Lab, from_ns: &str, addr: &str) -> bool {
    lab.exec_in(
        from_ns,
        &[
            env!("CARGO_BIN_EXE_paceline"),
            "lab",
            "ping",
            addr,
            "--timeout-ms",
            "1000",
        ],
    )
    .map_err(|e| eprintln!("ping {addr} from {from_ns}: {e}"))
    .is_ok()
}

fn pid_alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; a killed child we have not reaped
    // shows state Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn power_cut_through_the_lab_fence_agent() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new(&LabOptions {
        tag: "plab".into(),
        nodes: 2,
        links: 2,
        client: true,
    })
    .expect("lab");
    let client = lab.client_ns();
    assert!(
        ping(&lab, &client, &lab::node_addr(2, 0)),
        "node2 answers before the cut"
    );
    assert!(
        ping(&lab, &lab.node_ns(1), &lab::node_addr(2, 1)),
        "link 1 works too"
    );

    let log = lab.dir().join("sleep.log");
    let pid = lab
        .spawn_on_node(2, Path::new("/bin/sleep"), &["1000"], &log)
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(pid_alive(pid), "the node's process runs");

    let socket = lab.serve_power().expect("power board");
    let agent = lab::fence_agent::install(lab.dir(), Path::new(env!("CARGO_BIN_EXE_paceline")))
        .expect("agent");
    let config = lab.dir().join("cluster.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[cluster]
name = "lab"
[[node]]
name = "node1"
[[node]]
name = "node2"
[fencing]
enabled = true
action = "off"
[[fencing.device]]
id = "power-node2"
type = "agent"
agent = "{agent}"
params = {{ plug = "node2", socket = "{socket}" }}
[[fencing.level]]
target = "node2"
index = 1
devices = ["power-node2"]
"#,
            agent = agent.display(),
            socket = socket.display()
        ),
    )
    .expect("config");
    let fence = |action: &str| {
        Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(["fence", "test", "--config"])
            .arg(&config)
            .args([
                "--device",
                "power-node2",
                "--action",
                action,
                "--output",
                "json",
            ])
            .output()
            .expect("paceline fence test")
    };
    let monitor = fence("monitor");
    assert!(monitor.status.success(), "monitor: {monitor:?}");
    let status = fence("status");
    assert!(status.status.success(), "status: {status:?}");
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .to_lowercase()
            .contains("\"on\""),
        "{status:?}"
    );
    assert!(lab.powered(2));

    let off = fence("off");
    assert!(off.status.success(), "off: {off:?}");
    assert!(!lab.powered(2), "the board recorded the cut");
    assert!(!pid_alive(pid), "every process of node2 is dead");
    assert!(
        !ping(&lab, &client, &lab::node_addr(2, 0)),
        "node2 is silent after the cut"
    );
    assert!(
        ping(&lab, &client, &lab::node_addr(1, 0)),
        "node1 still answers"
    );
    let status = fence("status");
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .to_lowercase()
            .contains("\"off\""),
        "{status:?}"
    );

    lab.power_on(2).expect("power on");
    assert!(
        ping(&lab, &client, &lab::node_addr(2, 0)),
        "node2 answers after power on"
    );
    let namespaces = [lab.node_ns(1), lab.node_ns(2), client.clone()];
    let dir = lab.dir().to_path_buf();
    drop(lab);
    let listed = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip")
            .stdout,
    )
    .into_owned();
    for ns in namespaces {
        assert!(!listed.contains(&ns), "{ns} removed: {listed}");
    }
    assert!(!dir.exists(), "lab directory removed");
}

/// The end-to-end tests' fencing path: a daemon inside node1's namespace
/// reaches the Redfish emulator on this machine's loopback through the
/// lab's bridge, and the emulator's ForceOff of node2's system cuts node2.
#[test]
fn redfish_emulator_resets_cut_lab_power_through_the_bridge() {
    if !can_run() {
        return;
    }
    let bmc = peers::redfish(&["--tls", "--systems", "2", "--power-delay", "0"]);
    let mut lab = Lab::new(&LabOptions {
        tag: "plrf".into(),
        nodes: 2,
        links: 1,
        client: true,
    })
    .expect("lab");
    let base = bmc.get("BASE_URL").to_string();
    let port: u16 = base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let upstream = format!("127.0.0.1:{port}").parse().expect("addr");
    lab.bridge_to_host(1, "127.0.0.1:18443".parse().expect("addr"), upstream)
        .expect("bridge");
    let system2 = bmc.get("SYSTEM_2").to_string();
    lab.link_redfish_power(
        Path::new(bmc.get("REQUEST_LOG")),
        vec![(bmc.get("SYSTEM_1").to_string(), 1), (system2.clone(), 2)],
    )
    .expect("link");
    let log = lab.dir().join("sleep.log");
    let pid = lab
        .spawn_on_node(2, Path::new("/bin/sleep"), &["1000"], &log)
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(pid_alive(pid));

    let config = lab.dir().join("cluster.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[cluster]
name = "lab"
[[node]]
name = "node1"
[[node]]
name = "node2"
[fencing]
enabled = true
action = "off"
[[fencing.device]]
id = "bmc-node2"
type = "redfish"
url = "https://127.0.0.1:18443"
ca_file = "{ca}"
system = "{system2}"
username = "admin"
password = "secret"
[[fencing.level]]
target = "node2"
index = 1
devices = ["bmc-node2"]
"#,
            ca = bmc.get("CA_CERT"),
        ),
    )
    .expect("config");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = lab
        .exec_in(
            &lab.node_ns(1),
            &[
                env!("CARGO_BIN_EXE_paceline"),
                "fence",
                "test",
                "--config",
                config.to_str().expect("path"),
                "--device",
                "bmc-node2",
                "--action",
                "off",
            ],
        )
        .expect("fence test from inside node1");
    assert!(out.status.success(), "{out:?}");
    assert!(!lab.powered(2), "the reset cut node2's power");
    assert!(!pid_alive(pid), "node2's processes are dead");
    assert!(
        bmc.state(&[]).contains("Off"),
        "the emulator shows the system off: {}",
        bmc.state(&[])
    );
    assert!(
        !ping(&lab, &lab.client_ns(), &lab::node_addr(2, 0)),
        "node2 is silent"
    );
}
