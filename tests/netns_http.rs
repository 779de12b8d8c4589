//! HAProxy routes by the HTTP endpoint: two `pacelined` in network
//! namespaces run a promotable clone; Debian's real `haproxy`, in a third
//! namespace, checks each node with `option httpchk GET /primary/db-clone`
//! and sends its clients to the node that answers 200, and follows the
//! promotion when that node dies. The proxied requests go to the nodes'
//! own endpoint (`/health`, whose answer names the node), so the test sees
//! which node each client request reached.

mod netns;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use netns::{Cluster, can_run, report, sh};

const PORT: u16 = 8008;
const LB: &str = "198.18.0.100:8000";

/// The HTTP endpoint on both nodes, a promotable clone, no fencing (the
/// killed node is gone for good here).
const CONFIG: &str = r#"
[quorum]
two_node = true
[fencing]
enabled = false
[http]
listen = ["0.0.0.0:8008"]
[[primitive]]
id = "db"
agent = "ocf:test:stateful"
ops = [
  { name = "monitor", interval = "1s", role = "Promoted" },
  { name = "monitor", interval = "2s", role = "Unpromoted" },
]
[[clone]]
id = "db-clone"
resource = "db"
promotable = true
"#;

/// haproxy's configuration: the primary by the endpoint's health check.
fn haproxy_cfg() -> String {
    format!(
        "global\n  maxconn 64\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend fe\n  bind {LB}\n  default_backend primary\n\
         backend primary\n  option httpchk GET /primary/db-clone\n  http-check expect status 200\n\
         \x20 default-server inter 300ms fall 2 rise 1\n\
         \x20 server node1 198.18.0.1:{PORT} check\n  server node2 198.18.0.2:{PORT} check\n"
    )
}

/// Kills haproxy when the test ends (before the namespaces go).
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An OCF root whose `test:stateful` is Pacemaker's Stateful with its state
/// file in the node's own HA_RSCTMP (its default, under HA_VARRUN, would be
/// one file for both nodes on this machine).
fn ocf_root(dir: &Path) -> PathBuf {
    let root = dir.join("ocf");
    std::fs::create_dir_all(root.join("resource.d/test")).unwrap();
    std::os::unix::fs::symlink("/usr/lib/ocf/lib", root.join("lib")).unwrap();
    // Stateful sources the shell functions through resource.d/heartbeat.
    for provider in ["heartbeat", "pacemaker"] {
        let real = Path::new("/usr/lib/ocf/resource.d").join(provider);
        std::os::unix::fs::symlink(real, root.join("resource.d").join(provider)).unwrap();
    }
    let agent = root.join("resource.d/test/stateful");
    std::fs::write(
        &agent,
        "#!/bin/sh\nexport OCF_RESKEY_state=\"$HA_RSCTMP/stateful.state\"\nexec /usr/lib/ocf/resource.d/pacemaker/Stateful \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}

/// Which node answered a client's request through haproxy (None: no answer).
fn routed(c: &Cluster) -> Option<String> {
    let out = Command::new("ip")
        .args(["netns", "exec", &c.ns("lb"), "curl", "-s", "-m", "2"])
        .arg(format!("http://{LB}/health"))
        .output()
        .ok()?;
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    body["node"].as_str().map(str::to_string)
}

/// The nodes where db is Promoted, as node `i` reports them (a node lost
/// without fencing keeps its last recorded role in the status).
fn promoted(c: &Cluster, i: u8) -> Vec<String> {
    let Some(r) = report(c, i) else {
        return Vec::new();
    };
    r.resources
        .iter()
        .filter(|v| v.id == "db" && v.role == "Promoted")
        .flat_map(|v| v.nodes.clone())
        .collect()
}

#[test]
fn haproxy_sends_clients_to_the_promoted_node_and_follows_a_failover() {
    let haproxy = Path::new("/usr/sbin/haproxy");
    if !can_run()
        || !haproxy.exists()
        || !Path::new("/usr/lib/ocf/resource.d/pacemaker/Stateful").exists()
    {
        eprintln!("skipping: needs root, iproute2, haproxy and pacemaker's Stateful agent");
        return;
    }
    let mut c = Cluster::new(2, ("200ms", "1s"));
    c.append_config(CONFIG);
    let root = ocf_root(&c.dir);
    for i in [1u8, 2] {
        let tmp = c.dir.join(format!("rsctmp{i}"));
        std::fs::create_dir_all(&tmp).unwrap();
        c.start_with_env(i, &[("HA_RSCTMP", &tmp), ("OCF_ROOT", &root)]);
    }
    let lb = c.ns("lb");
    c.add_ns(&lb);
    c.attach(&lb, 100, &[0]);
    let cfg = c.dir.join("haproxy.cfg");
    std::fs::write(&cfg, haproxy_cfg()).unwrap();
    sh(&[
        haproxy.to_str().unwrap(),
        "-c",
        "-q",
        "-f",
        cfg.to_str().unwrap(),
    ]);
    let _proxy = Proxy(
        Command::new("ip")
            .args(["netns", "exec", &lb, "haproxy", "-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    c.until(
        "db promoted on one node, as both see it",
        Duration::from_secs(60),
        || promoted(&c, 1).len() == 1 && promoted(&c, 1) == promoted(&c, 2),
    );
    let primary = promoted(&c, 1).remove(0);
    c.until(
        "haproxy routing to the promoted node",
        Duration::from_secs(20),
        || routed(&c).as_deref() == Some(primary.as_str()),
    );
    // Every client request goes to the primary, none to the replica.
    for _ in 0..10 {
        assert_eq!(routed(&c).as_deref(), Some(primary.as_str()));
    }
    // The primary dies; the survivor promotes its instance and haproxy
    // follows it.
    let (dead, survivor) = if primary == "node1" {
        (1u8, 2u8)
    } else {
        (2, 1)
    };
    c.kill(dead);
    let survivor_name = format!("node{survivor}");
    c.until("the survivor promoted", Duration::from_secs(60), || {
        promoted(&c, survivor).contains(&survivor_name)
    });
    c.until(
        "haproxy routing to the new primary",
        Duration::from_secs(20),
        || routed(&c).as_deref() == Some(survivor_name.as_str()),
    );
    for _ in 0..10 {
        assert_eq!(routed(&c).as_deref(), Some(survivor_name.as_str()));
    }
}
