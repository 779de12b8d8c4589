//! Stack 2: RabbitMQ, three brokers with quorum queues behind HAProxy and
//! a VIP (`policies/rabbitmq-3node.toml` adapted to the lab: its addresses,
//! the lab's power board as the fence device). Each node runs a broker
//! (`lab::rabbitmq`: resource-agents' `rabbitmq-cluster`, an ordered
//! clone: the first bootstraps, the next ones join) and its `[http]`
//! endpoint; the frontend group (the VIP and HAProxy, run by
//! `ocf:heartbeat:anything`) follows a broker, and HAProxy sends clients
//! to the brokers whose node answers 200 at `/resource/rabbitmq-clone`.
//! The client (`amqp_client.py`, Debian's python3-pika) publishes
//! persistent messages with publisher confirms to the quorum queue
//! `acked` through the VIP, and reads them back at the end. The node cut
//! is the VIP's (`Cut::Vip`), or a broker's away from the VIP, the queue's
//! leader when it is there (`Cut::Broker`); "two primaries" is the VIP
//! held by two nodes at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::super::cluster::{LabCluster, placements, write_authkey};
use super::super::{Lab, LabError, LabOptions, fence_agent, io_err, node_addr, rabbitmq};
use super::Stack;
use super::haproxy::{HTTP_PORT, HTTP_SECTION};

/// The VIP clients publish to, and HAProxy's port there (the brokers
/// listen on 5672 on every address of their node).
pub const VIP: &str = "198.18.0.120";
pub const FRONTEND_PORT: u16 = 5670;
const HAPROXY: &str = "/usr/sbin/haproxy";
const PIKA: &str = "/usr/lib/python3/dist-packages/pika";
const NODES: u8 = 3;

/// Whose node loses its power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The VIP's (and so HAProxy's): the frontend moves.
    Vip,
    /// A node without the VIP, the quorum queue's leader's when it is one:
    /// the queue elects a new leader while the frontend stays.
    Broker,
}

pub struct RabbitStack {
    pub cluster: LabCluster,
    cut: Cut,
    /// Each node's daemon (index node - 1): its mount namespace holds the
    /// node's broker paths.
    pids: Vec<u32>,
    client: PathBuf,
}

pub fn installed() -> bool {
    rabbitmq::installed() && Path::new(HAPROXY).exists() && Path::new(PIKA).exists()
}

/// HAProxy where the VIP is: the brokers whose node runs one.
fn haproxy_config() -> String {
    let mut cfg = format!(
        "global\n  maxconn 256\n\
         defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n  timeout check 1s\n\
         \x20 option redispatch\n  retries 2\n\
         frontend amqp\n  bind {VIP}:{FRONTEND_PORT}\n  default_backend brokers\n\
         backend brokers\n  option httpchk GET /resource/rabbitmq-clone\n  http-check expect status 200\n\
         \x20 default-server inter 200ms fall 2 rise 1 on-marked-down shutdown-sessions\n"
    );
    for i in 1..=NODES {
        cfg.push_str(&format!(
            "  server node{i} {}:{} check port {HTTP_PORT}\n",
            node_addr(i, 0),
            rabbitmq::PORT
        ));
    }
    cfg
}

/// Node `node`'s file: the policy with the lab's nodes, paths and fencing.
fn config(dir: &Path, agent: &Path, socket: &Path, node: u8) -> String {
    let node_dir = dir.join(format!("node{node}"));
    let mut nodes = String::new();
    let mut fencing = String::new();
    for i in 1..=NODES {
        nodes.push_str(&format!(
            "[[node]]\nname = \"node{i}\"\nid = {i}\nlinks = [\"{}\", \"{}\"]\n\n",
            node_addr(i, 0),
            node_addr(i, 1)
        ));
        fencing.push_str(&format!(
            "[[fencing.device]]\nid = \"power-node{i}\"\ntype = \"agent\"\nagent = \"{}\"\nparams = {{ plug = \"node{i}\", socket = \"{}\" }}\n\n\
             [[fencing.level]]\ntarget = \"node{i}\"\nindex = 1\ndevices = [\"power-node{i}\"]\n\n",
            agent.display(),
            socket.display()
        ));
    }
    format!(
        r#"# policies/rabbitmq-3node.toml in paceline's namespace lab.
[cluster]
name = "mq"
authkey = "{authkey}"
state_dir = "{state}"
socket = "{sock}"

{nodes}
[properties]
stonith-enabled = true
no-quorum-policy = "stop"
dc-deadtime = "2s"
{HTTP_SECTION}
[rsc_defaults]
resource-stickiness = 50

[fencing]
enabled = true
action = "off"

{fencing}
[[primitive]]
id = "rabbitmq"
agent = "ocf:heartbeat:rabbitmq-cluster"
ops = [
  {{ name = "start", timeout = "100s" }},
  {{ name = "stop", timeout = "90s" }},
  {{ name = "monitor", interval = "10s", timeout = "40s" }},
]

[[clone]]
id = "rabbitmq-clone"
resource = "rabbitmq"
clone_max = 3
ordered = true
interleave = true

[[primitive]]
id = "vip"
agent = "builtin:ipaddr"
params = {{ ip = "{VIP}", cidr_netmask = 24, nic = "eth0" }}
ops = [{{ name = "monitor", interval = "5s" }}]

[[primitive]]
id = "haproxy"
agent = "ocf:heartbeat:anything"
params = {{ binfile = "{HAPROXY}", cmdline_options = "-db -f {haproxy_cfg}", logfile = "{haproxy_log}" }}
ops = [{{ name = "monitor", interval = "10s" }}, {{ name = "stop", timeout = "15s" }}]

[[group]]
id = "frontend"
members = ["vip", "haproxy"]

[[location]]
id = "frontend-needs-broker"
resource = "frontend"
rules = [
  {{ score = "-INFINITY", op = "or", expressions = [
      {{ attribute = "mq-maintenance", op = "eq", value = "yes" }},
  ] }},
]

[[colocation]]
id = "frontend-with-broker"
resource = "frontend"
with = "rabbitmq-clone"

[[order]]
id = "broker-then-frontend"
first = "rabbitmq-clone"
then = "frontend"
"#,
        authkey = dir.join("authkey").display(),
        state = node_dir.join("state").display(),
        sock = node_dir.join("paceline.sock").display(),
        haproxy_cfg = dir.join("haproxy-mq.cfg").display(),
        haproxy_log = node_dir.join("haproxy.log").display(),
    )
}

/// Builds the three nodes and starts their daemons; the VIP's node is cut.
pub fn start(tag: &str, pacelined: &Path, paceline: &Path) -> Result<RabbitStack, LabError> {
    start_cutting(tag, pacelined, paceline, Cut::Vip)
}

/// Builds the three nodes and starts their daemons; `cut` says whose
/// power is cut.
pub fn start_cutting(
    tag: &str,
    pacelined: &Path,
    paceline: &Path,
    cut: Cut,
) -> Result<RabbitStack, LabError> {
    let mut lab = Lab::new(&LabOptions {
        tag: tag.into(),
        nodes: NODES,
        links: 2,
        client: true,
    })?;
    let socket = lab.serve_power()?;
    let dir = lab.dir().to_path_buf();
    let agent = fence_agent::install(&dir, paceline).map_err(io_err("install the fence agent"))?;
    write_authkey(&dir.join("authkey"))?;
    std::fs::write(dir.join("haproxy-mq.cfg"), haproxy_config())
        .map_err(io_err("write haproxy-mq.cfg"))?;
    let client = dir.join("amqp_client.py");
    std::fs::write(&client, include_str!("amqp_client.py"))
        .map_err(io_err("write amqp_client.py"))?;
    let cluster = LabCluster::new(lab, NODES, pacelined, |i| config(&dir, &agent, &socket, i))?;
    let cluster = rabbitmq::provision(cluster)?;
    let pids = (1..=NODES)
        .map(|i| cluster.start(i))
        .collect::<Result<Vec<u32>, LabError>>()?;
    Ok(RabbitStack {
        cluster,
        cut,
        pids,
        client,
    })
}

impl RabbitStack {
    /// The client program in the client namespace: its output if it
    /// succeeded within `limit`.
    fn client(&self, args: &[&str], limit: Duration) -> Option<String> {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.cluster.lab.client_ns(),
            "/usr/bin/python3",
        ])
        .arg(&self.client)
        .args(args);
        super::super::output_within(cmd, limit)
    }

    /// The nodes holding the VIP (ground truth: their interfaces).
    fn vip_holders(&self) -> Vec<u8> {
        let power = self.cluster.lab.power();
        (1..=NODES)
            .filter(|&i| power.powered(i))
            .filter(|&i| {
                let ns = self.cluster.lab.node_ns(i);
                Command::new("ip")
                    .args(["-n", &ns, "-o", "-4", "addr", "show", "dev", "eth0"])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(" {VIP}/")))
            })
            .collect()
    }

    /// A TCP connection to HAProxy on the VIP from the client namespace.
    fn frontend_accepts(&self) -> bool {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.cluster.lab.client_ns(), "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/{VIP}/{FRONTEND_PORT}"));
        super::super::output_within(cmd, Duration::from_secs(1)).is_some()
    }

    /// The node of the quorum queue's leader, as the broker on `node` sees it.
    pub fn queue_leader(&self, node: u8) -> Option<u8> {
        let pid = *self.pids.get(usize::from(node).checked_sub(1)?)?;
        let out = rabbitmq::ctl(
            pid,
            &["list_queues", "--no-table-headers", "name", "leader"],
            Duration::from_secs(10),
        )?;
        let leader = out
            .lines()
            .find_map(|l| l.strip_prefix("acked\t"))?
            .trim()
            .to_string();
        (1..=NODES).find(|&i| leader == rabbitmq::broker_name(i))
    }

    /// With `Cut::Broker`, the queue is declared (and a message confirmed)
    /// on a broker away from the VIP first, straight to it: its leader is
    /// where it is declared (RabbitMQ's default, client-local), so the cut
    /// takes the leader while the frontend stays.
    fn declared_away_from(&self, vip: u8) -> bool {
        let Some(other) = (1..=NODES).find(|&i| i != vip) else {
            return false;
        };
        let (addr, port) = (node_addr(other, 0), rabbitmq::PORT.to_string());
        self.cut == Cut::Vip
            || self
                .client(&["publish", &addr, &port, "0"], Duration::from_secs(3))
                .is_some()
    }

    /// The node to cut, once the VIP is on `vip`.
    fn victim(&self, vip: u8) -> Option<u8> {
        match self.cut {
            Cut::Vip => Some(vip),
            Cut::Broker => {
                let leader = self.queue_leader(vip);
                let victim = leader
                    .filter(|&l| l != vip)
                    .or_else(|| (1..=NODES).find(|&i| i != vip));
                eprintln!(
                    "rabbitmq: the queue's leader on {leader:?}, the VIP on node{vip}: cutting {victim:?}"
                );
                victim
            }
        }
    }

    /// The brokers the broker on `node` sees running with it.
    pub fn running_brokers(&self, node: u8) -> Option<usize> {
        let pid = *self.pids.get(usize::from(node).checked_sub(1)?)?;
        rabbitmq::running_brokers(pid)
    }
}

impl Stack for RabbitStack {
    fn cluster(&self) -> &LabCluster {
        &self.cluster
    }

    /// The node to cut (`Cut`) once the three brokers run as one cluster
    /// and a message was confirmed through the VIP (which declares the
    /// queue on all three).
    fn ready(&self) -> Option<u8> {
        let r = (1..=NODES).find_map(|i| self.cluster.report(i))?;
        if placements(&r, "rabbitmq").len() != usize::from(NODES) {
            return None;
        }
        let at = |res: &str| -> Option<u8> {
            let (node, _) = placements(&r, res).into_iter().next()?;
            node.strip_prefix("node")?.parse().ok()
        };
        let vip = at("vip")?;
        let ready = at("haproxy")? == vip
            && self.running_brokers(vip)? == usize::from(NODES)
            && self.declared_away_from(vip)
            && self.write(0);
        if ready { self.victim(vip) } else { None }
    }

    fn write(&self, seq: u64) -> bool {
        let seq = seq.to_string();
        let port = FRONTEND_PORT.to_string();
        self.client(&["publish", VIP, &port, &seq], Duration::from_secs(3))
            .is_some()
    }

    fn read_back(&self) -> Option<BTreeSet<u64>> {
        let port = FRONTEND_PORT.to_string();
        let bodies = self.client(&["read", VIP, &port], Duration::from_secs(10))?;
        Some(bodies.lines().filter_map(|l| l.parse().ok()).collect())
    }

    fn is_primary(&self, node: u8) -> bool {
        self.vip_holders().contains(&node)
    }

    fn served_by(&self) -> Option<u8> {
        match self.vip_holders().as_slice() {
            [one] if self.frontend_accepts() => Some(*one),
            _ => None,
        }
    }
}
