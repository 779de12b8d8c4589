//! Real `pacelined` daemons on the lab's nodes, and what the demo, the
//! end-to-end tests and `bench/failover` observe of them: each node's
//! status report over its API socket, and whether the VIP answers from the
//! client namespace.

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

use super::{Lab, LabError};
use crate::api::{self, Request, Response, StatusReport};

/// The daemons of a lab, one per node.
#[derive(Debug)]
pub struct LabCluster {
    pub lab: Lab,
    nodes: u8,
    pacelined: PathBuf,
    /// Paths each node's daemon (and so its agents) sees as directories of
    /// its own: `node_dir(i)/private` (the first; `private-K` for the K-th
    /// after it) bind-mounted there in the node's mount namespace. For
    /// agents whose parameters name one path on every node (PostgreSQL's
    /// data directory) or that hard-code theirs (rabbitmq-cluster's), as
    /// on real machines.
    private_paths: Vec<PathBuf>,
    /// Extra environment of every daemon (`with_env`).
    env: Vec<(String, String)>,
}

impl LabCluster {
    /// `config_for(node)` is the TOML file of that node (it differs only in
    /// the node's own paths). The files go into the lab directory.
    pub fn new(
        lab: Lab,
        nodes: u8,
        pacelined: &Path,
        config_for: impl Fn(u8) -> String,
    ) -> Result<LabCluster, LabError> {
        for i in 1..=nodes {
            for dir in super::volatile_dirs(lab.dir(), i) {
                std::fs::create_dir_all(&dir)
                    .map_err(super::io_err(format!("create {}", dir.display())))?;
            }
            let file = lab.dir().join(format!("node{i}.toml"));
            write_private(&file, &config_for(i))?;
        }
        Ok(LabCluster {
            lab,
            nodes,
            pacelined: pacelined.to_path_buf(),
            private_paths: Vec::new(),
            env: Vec::new(),
        })
    }

    /// Starts every daemon with these environment variables too (such as
    /// an `OCF_ROOT` holding a lab-made agent).
    pub fn with_env(mut self, env: &[(&str, &str)]) -> LabCluster {
        self.env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Gives every node its own directory at `path` (see `private_paths`;
    /// once per path); `node_private_dir(i)` is what node i sees at the
    /// first, `node_private(i, path)` at any.
    pub fn with_private_path(mut self, path: &Path) -> Result<LabCluster, LabError> {
        std::fs::create_dir_all(path)
            .map_err(super::io_err(format!("create {}", path.display())))?;
        self.private_paths.push(path.to_path_buf());
        for i in 1..=self.nodes {
            let dir = self.private_dir_at(i, self.private_paths.len() - 1);
            std::fs::create_dir_all(&dir)
                .map_err(super::io_err(format!("create {}", dir.display())))?;
        }
        Ok(self)
    }

    pub fn node_private_dir(&self, node: u8) -> PathBuf {
        self.private_dir_at(node, 0)
    }

    /// What node `node` sees at `path`, one of its private paths.
    pub fn node_private(&self, node: u8, path: &Path) -> Option<PathBuf> {
        let k = self.private_paths.iter().position(|p| p == path)?;
        Some(self.private_dir_at(node, k))
    }

    fn private_dir_at(&self, node: u8, k: usize) -> PathBuf {
        match k {
            0 => self.node_dir(node).join("private"),
            k => self.node_dir(node).join(format!("private-{k}")),
        }
    }

    pub fn nodes(&self) -> u8 {
        self.nodes
    }

    pub fn node_dir(&self, node: u8) -> PathBuf {
        self.lab.dir().join(format!("node{node}"))
    }

    pub fn socket(&self, node: u8) -> PathBuf {
        self.node_dir(node).join("paceline.sock")
    }

    pub fn log_path(&self, node: u8) -> PathBuf {
        self.lab.dir().join(format!("node{node}.log"))
    }

    pub fn log(&self, node: u8) -> String {
        std::fs::read_to_string(self.log_path(node)).unwrap_or_default()
    }

    pub fn config_path(&self, node: u8) -> PathBuf {
        self.lab.dir().join(format!("node{node}.toml"))
    }

    /// Starts the node's daemon (again after a power cycle: its log is
    /// appended to).
    pub fn start(&self, node: u8) -> Result<u32, LabError> {
        // What a real node keeps on tmpfs; its power cut empties it
        // (`PowerHandle::power_off`).
        let [rsctmp, varrun] = super::volatile_dirs(self.lab.dir(), node);
        let config = self.config_path(node);
        let socket = self.socket(node);
        let log = self.log_path(node);
        // `ip netns exec` runs the program in a mount namespace of its own
        // whose mounts do not propagate back: the bind mounts are this node's.
        let binds: Vec<String> = (0..self.private_paths.len())
            .flat_map(|k| {
                [
                    self.private_dir_at(node, k).display().to_string(),
                    self.private_paths[k].display().to_string(),
                ]
            })
            .collect();
        let mut prefix: Vec<&str> = Vec::new();
        if !binds.is_empty() {
            prefix.extend([
                "-c",
                r#"while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 1; shift 2; done; shift; exec "$@""#,
                "lab-node",
            ]);
            prefix.extend(binds.iter().map(String::as_str));
            prefix.extend(["--", "/usr/bin/env"]);
        }
        let extra: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let program = if !binds.is_empty() {
            Path::new("/bin/sh")
        } else {
            Path::new("/usr/bin/env")
        };
        let pid = self.lab.spawn_on_node(
            node,
            program,
            &[
                prefix.as_slice(),
                &[
                    &format!("HA_RSCTMP={}", rsctmp.display()),
                    // Agents such as Stateful keep state under HA_VARRUN; the lab's
                    // nodes share one filesystem, so each gets its own.
                    &format!("HA_VARRUN={}", varrun.display()),
                    "RUST_BACKTRACE=1",
                ],
                extra.as_slice(),
                &[
                    &self.pacelined.display().to_string(),
                    "--config",
                    &config.display().to_string(),
                    "--node",
                    &format!("node{node}"),
                    "--socket",
                    &socket.display().to_string(),
                ],
            ]
            .concat(),
            &log,
        )?;
        Ok(pid)
    }

    /// This node's status report, if its daemon answers.
    pub fn report(&self, node: u8) -> Option<StatusReport> {
        match api::call(&self.socket(node), &Request::Report) {
            Ok(Response::Report(r)) => Some(*r),
            _ => None,
        }
    }

    /// Polls every 20 ms until `ok` holds; the error names `what` and holds
    /// every node's log tail, so a failing test says what happened.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        ok: impl Fn(&LabCluster) -> bool,
    ) -> Result<Duration, LabError> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if ok(self) {
                return Ok(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut logs = String::new();
        for i in 1..=self.nodes {
            let log = self.log(i);
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            logs.push_str(&format!("\n--- node{i} (last lines)\n"));
            for line in tail.into_iter().rev() {
                logs.push_str(line);
                logs.push('\n');
            }
        }
        Err(LabError::Io {
            what: format!("waiting {:?} for {what}{logs}", timeout),
            source: std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"),
        })
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).map_err(super::io_err(format!("write {}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(super::io_err(format!("chmod {}", path.display())))
}

/// Where `resource` (a primitive id; clone instances count) is active in a
/// report, with its role: (node, role).
pub fn placements(report: &StatusReport, resource: &str) -> Vec<(String, String)> {
    report
        .resources
        .iter()
        .filter(|r| r.id == resource && r.role != "Stopped")
        .flat_map(|r| r.nodes.iter().map(|n| (n.clone(), r.role.clone())))
        .collect()
}

/// The report's node runs `resource` (in `role`, if given).
pub fn runs_on(report: &StatusReport, resource: &str, node: &str, role: Option<&str>) -> bool {
    placements(report, resource)
        .iter()
        .any(|(n, r)| n == node && role.is_none_or(|want| r == want))
}

/// A fence of `target` that succeeded is in the report's fencing history.
pub fn fenced(report: &StatusReport, target: &str) -> bool {
    report
        .fencing_history
        .iter()
        .any(|f| f.target == target && f.result == "ok" && f.action != "on")
}

/// Sends an ICMP echo to an address from inside a namespace, every
/// `interval`, and keeps when it answered and when it stopped answering.
#[derive(Debug)]
pub struct Prober {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<ProbeState>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default, Clone)]
pub struct ProbeState {
    pub answering: bool,
    /// The first answer after the last silence.
    pub answering_since: Option<Instant>,
    pub silent_since: Option<Instant>,
}

impl Prober {
    pub fn start(ns: &str, addr: Ipv4Addr, interval: Duration) -> Result<Prober, LabError> {
        let netns = File::open(Path::new("/run/netns").join(ns))
            .map_err(super::io_err(format!("namespace {ns}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(ProbeState::default()));
        let (stopping, shared) = (Arc::clone(&stop), Arc::clone(&state));
        let thread = std::thread::spawn(move || {
            if setns(&netns, CloneFlags::CLONE_NEWNET).is_err() {
                return;
            }
            while !stopping.load(Ordering::SeqCst) {
                let answered = super::probe::icmp_echo(addr, interval).is_ok();
                let now = Instant::now();
                if let Ok(mut s) = shared.lock() {
                    if answered && !s.answering {
                        s.answering_since = Some(now);
                    }
                    if !answered && s.answering {
                        s.silent_since = Some(now);
                    }
                    s.answering = answered;
                }
                if answered {
                    std::thread::sleep(interval);
                }
            }
        });
        Ok(Prober {
            stop,
            state,
            thread: Some(thread),
        })
    }

    pub fn state(&self) -> ProbeState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How the lab's nodes are fenced.
#[derive(Debug, Clone)]
pub enum LabFencing {
    /// The lab's own power board (`fence_paceline_lab`): needs nothing but
    /// paceline.
    PowerBoard { agent: PathBuf, socket: PathBuf },
    /// A Redfish BMC per node, reached at `url` from inside every node (a
    /// bridge to the emulator), with these systems.
    Redfish {
        url: String,
        ca_file: PathBuf,
        systems: [String; 2],
        password_file: PathBuf,
    },
}

/// The lab's VIP, on link 0 where the client is.
pub const VIP: &str = "198.18.0.100";

/// Options of the reference two-node active/standby policy in the lab.
#[derive(Debug, Clone)]
pub struct ReferenceOptions {
    pub cluster: String,
    pub dir: PathBuf,
    pub authkey: PathBuf,
    pub fencing: LabFencing,
    /// `[membership] token_timeout` (the heartbeat is a fifth); None keeps
    /// the defaults (1s / 200ms).
    pub token_timeout_ms: Option<u64>,
    pub db: Database,
}

/// What plays the reference policy's database.
#[derive(Debug, Clone)]
pub enum Database {
    /// A promotable stand-in without replication state: `builtin:dummy`
    /// (nothing to install) or an OCF agent spec such as
    /// `ocf:pacemaker:Stateful`. Both nodes may be promoted, node1 first.
    StandIn { agent: String },
    /// PostgreSQL through resource-agents' `pgsql` in streaming
    /// replication (see `lab::postgres`): the agent sets the promotion
    /// scores from the replication state. The worker is then a real queue
    /// worker on that database (`postgres::queue_worker`), run by
    /// `ocf:heartbeat:anything` with these parameters.
    Postgres {
        params: Vec<(String, String)>,
        worker: Vec<(String, String)>,
    },
    /// MariaDB through resource-agents' `mysql` in replication (see
    /// `lab::mariadb`), the worker a dummy. Each node's address is its
    /// permanent attribute `db_mysql_master_IP`, which the agent gives
    /// the other node as its replication source.
    Mariadb { params: Vec<(String, String)> },
}

impl Database {
    pub fn stand_in(agent: &str) -> Database {
        Database::StandIn {
            agent: agent.into(),
        }
    }
}

/// The `[[primitive]] db` and what depends on the kind of database.
fn db_primitive(db: &Database) -> String {
    match db {
        Database::StandIn { agent } => format!(
            r#"[[primitive]]
id = "db"
agent = "{agent}"
ops = [
  {{ name = "monitor", interval = "2s", timeout = "10s" }},
  {{ name = "monitor", interval = "1s", timeout = "10s", role = "Promoted" }},
]

[[clone]]
id = "db-ha"
resource = "db"
promotable = true
promoted_max = 1
meta = {{ priority = 10 }}

# The stand-in database reports no replication state (PostgreSQL's agent
# sets promotion scores through crm_master): both nodes may be promoted,
# node1 first.
[[location]]
id = "promote-node2-too"
resource = "db-ha"
role = "Promoted"
node = "node2"
score = 10
"#
        ),
        Database::Postgres { params, .. } => replicated_db("ocf:heartbeat:pgsql", params),
        Database::Mariadb { params } => replicated_db("ocf:heartbeat:mysql", params),
    }
}

/// A real database whose agent sets the promotion scores from its
/// replication state, with notifications (pgsql and mysql ask for them).
pub(crate) fn replicated_db(agent: &str, params: &[(String, String)]) -> String {
    let params = inline_table(params);
    format!(
        r#"[[primitive]]
id = "db"
agent = "{agent}"
params = {{ {params} }}
ops = [
  {{ name = "start", timeout = "60s" }},
  {{ name = "stop", timeout = "60s" }},
  {{ name = "promote", timeout = "60s" }},
  {{ name = "demote", timeout = "60s" }},
  {{ name = "monitor", interval = "2s", timeout = "10s" }},
  {{ name = "monitor", interval = "1s", timeout = "10s", role = "Promoted" }},
  {{ name = "notify", timeout = "60s" }},
]

[[clone]]
id = "db-ha"
resource = "db"
promotable = true
promoted_max = 1
notify = true
meta = {{ priority = 10 }}
"#
    )
}

/// A node's permanent attributes the database's agent reads.
fn node_attributes(db: &Database, node: u8) -> String {
    match db {
        Database::Mariadb { .. } => format!(
            "attributes = {{ db_mysql_master_IP = \"{}\" }}\n",
            super::node_addr(node, 0)
        ),
        _ => String::new(),
    }
}

/// The queue worker: a dummy beside a stand-in database, a real worker
/// taking jobs from PostgreSQL beside PostgreSQL.
fn worker_primitive(db: &Database) -> String {
    match db {
        Database::StandIn { .. } | Database::Mariadb { .. } => r#"[[primitive]]
id = "worker"
agent = "builtin:dummy"
ops = [{ name = "monitor", interval = "2s", timeout = "10s" }]
"#
        .into(),
        Database::Postgres { worker, .. } => format!(
            r#"[[primitive]]
id = "worker"
agent = "ocf:heartbeat:anything"
params = {{ {params} }}
ops = [
  {{ name = "monitor", interval = "2s", timeout = "10s" }},
  {{ name = "stop", timeout = "15s" }},
]
"#,
            params = inline_table(worker)
        ),
    }
}

/// `k = "v", ...`: the inside of a TOML inline table.
fn inline_table(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} = {v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `policies/two-node-active-standby.toml` adapted to the lab: the shared
/// filesystem is a tmpfs (each node mounts its own: the lab has no shared
/// disk), the database a promotable stand-in or real PostgreSQL, the VIP on
/// the client's link, the queue worker a dummy or (with PostgreSQL) a real
/// one; the node running the primary wins a fence race (priority_delay
/// 2s with db-ha's priority).
pub fn reference_config(o: &ReferenceOptions, node: u8) -> String {
    let node_dir = o.dir.join(format!("node{node}"));
    let membership = match o.token_timeout_ms {
        Some(t) => format!(
            "[membership]\nheartbeat = \"{}ms\"\ntoken_timeout = \"{t}ms\"\n",
            (t / 5).max(10)
        ),
        None => String::new(),
    };
    let devices = match &o.fencing {
        LabFencing::PowerBoard { agent, socket } => (1..=2)
            .map(|i| {
                format!(
                    "[[fencing.device]]\nid = \"power-node{i}\"\ntype = \"agent\"\nagent = \"{agent}\"\nparams = {{ plug = \"node{i}\", socket = \"{socket}\" }}\n\n",
                    agent = agent.display(),
                    socket = socket.display(),
                )
            })
            .collect::<String>(),
        LabFencing::Redfish {
            url,
            ca_file,
            systems,
            password_file,
        } => (1..=2)
            .map(|i| {
                format!(
                    "[[fencing.device]]\nid = \"power-node{i}\"\ntype = \"redfish\"\nurl = \"{url}\"\nca_file = \"{ca}\"\nsystem = \"{system}\"\nusername = \"admin\"\npassword_file = \"{pw}\"\n\n",
                    ca = ca_file.display(),
                    system = systems[i - 1],
                    pw = password_file.display(),
                )
            })
            .collect::<String>(),
    };
    format!(
        r#"# The reference two-node active/standby policy in paceline's namespace lab.
[cluster]
name = "{cluster}"
authkey = "{authkey}"
state_dir = "{state}"
socket = "{socket}"

{membership}
[quorum]
two_node = true
wait_for_all = true

[[node]]
name = "node1"
id = 1
links = ["198.18.0.1", "198.18.1.1"]
{attributes1}
[[node]]
name = "node2"
id = 2
links = ["198.18.0.2", "198.18.1.2"]
{attributes2}
[properties]
stonith-enabled = true
no-quorum-policy = "stop"
# The lab's views settle within a second of starting; the 20s default only
# delays the first fence of a demo.
dc-deadtime = "2s"

[rsc_defaults]
resource-stickiness = 100
migration-threshold = 3

# The node running the primary wins a split: its own fence waits 2s
# (db-ha's priority, +1 for the promoted instance).
[fencing]
enabled = true
action = "off"
priority_delay = "2s"

{devices}
[[fencing.level]]
target = "node1"
index = 1
devices = ["power-node1"]

[[fencing.level]]
target = "node2"
index = 1
devices = ["power-node2"]

[[primitive]]
id = "fs"
agent = "builtin:filesystem"
params = {{ device = "tmpfs", directory = "{srv}", fstype = "tmpfs" }}
ops = [{{ name = "monitor", interval = "2s", timeout = "10s" }}]

{db}
[[primitive]]
id = "vip"
agent = "builtin:ipaddr"
params = {{ ip = "{vip}", cidr_netmask = 24, nic = "eth0" }}
ops = [{{ name = "monitor", interval = "2s", timeout = "10s" }}]

{worker}
[[location]]
id = "prefer-node1"
resource = "db-ha"
role = "Promoted"
node = "node1"
score = 50

[[colocation]]
id = "fs-with-primary"
resource = "fs"
with = "db-ha"
with_role = "Promoted"

[[colocation]]
id = "vip-with-primary"
resource = "vip"
with = "db-ha"
with_role = "Promoted"

[[colocation]]
id = "worker-with-vip"
resource = "worker"
with = "vip"

[[order]]
id = "fs-then-promote"
first = "fs"
then = "db-ha"
then_action = "promote"

[[order]]
id = "promote-then-vip"
first = "db-ha"
first_action = "promote"
then = "vip"
then_action = "start"

[[order]]
id = "vip-then-worker"
first = "vip"
then = "worker"
"#,
        cluster = o.cluster,
        authkey = o.authkey.display(),
        state = node_dir.join("state").display(),
        socket = node_dir.join("paceline.sock").display(),
        srv = o.dir.join("srv").display(),
        vip = VIP,
        db = db_primitive(&o.db),
        worker = worker_primitive(&o.db),
        attributes1 = node_attributes(&o.db, 1),
        attributes2 = node_attributes(&o.db, 2),
    )
}

/// A new cluster key (mode 0600), as `paceline cluster keygen` writes one.
pub fn write_authkey(path: &Path) -> Result<(), LabError> {
    use std::io::Read;
    let mut key = [0u8; 64];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(super::io_err("read /dev/urandom"))?;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(&key))
        .map_err(super::io_err(format!("write {}", path.display())))
}

/// What the lab needs to know of a Redfish BMC emulator running on this
/// machine's loopback (`../shared/peers/redfish-bmc`).
#[derive(Debug, Clone)]
pub struct RedfishEmulator {
    /// 127.0.0.1:PORT where it listens.
    pub address: std::net::SocketAddr,
    pub ca_file: PathBuf,
    /// Its system paths for node1 and node2.
    pub systems: [String; 2],
    pub request_log: PathBuf,
    pub password: String,
}

impl RedfishEmulator {
    /// From the `KEY=VALUE` lines `../shared/peers/redfish-bmc/start` prints
    /// (BASE_URL, CA_CERT, SYSTEM_1, SYSTEM_2, REQUEST_LOG), read through
    /// `get`; `password` is the one the emulator was started with.
    pub fn from_start_output(get: impl Fn(&str) -> String, password: &str) -> Option<Self> {
        let base = get("BASE_URL");
        let port: u16 = base.rsplit(':').next()?.parse().ok()?;
        Some(RedfishEmulator {
            address: ([127, 0, 0, 1], port).into(),
            ca_file: PathBuf::from(get("CA_CERT")),
            systems: [get("SYSTEM_1"), get("SYSTEM_2")],
            request_log: PathBuf::from(get("REQUEST_LOG")),
            password: password.to_string(),
        })
    }
}

/// Makes the emulator every node's BMC: reachable at
/// https://127.0.0.1:18443 inside each node, its resets cutting the power
/// of the node whose system they name. Returns the fencing for
/// `reference_config`.
pub fn redfish_fencing(lab: &mut Lab, bmc: &RedfishEmulator) -> Result<LabFencing, LabError> {
    let inside: std::net::SocketAddr = ([127, 0, 0, 1], 18443).into();
    for node in 1..=2 {
        lab.bridge_to_host(node, inside, bmc.address)?;
    }
    lab.link_redfish_power(
        &bmc.request_log,
        vec![(bmc.systems[0].clone(), 1), (bmc.systems[1].clone(), 2)],
    )?;
    let password_file = lab.dir().join("bmc.pass");
    write_private(&password_file, &bmc.password)?;
    Ok(LabFencing::Redfish {
        url: format!("https://{inside}"),
        ca_file: bmc.ca_file.clone(),
        systems: bmc.systems.clone(),
        password_file,
    })
}

/// When each step of a failover was seen, in milliseconds after the cut.
#[derive(Debug, Clone, Default)]
pub struct FailoverTimeline {
    pub loss_detected_ms: Option<u64>,
    pub fence_confirmed_ms: Option<u64>,
    /// (resource, role, ms) in the order they were seen running.
    pub started: Vec<(String, String, u64)>,
    pub vip_answers_ms: Option<u64>,
}

impl FailoverTimeline {
    pub fn complete(&self, resources: usize) -> bool {
        self.loss_detected_ms.is_some()
            && self.fence_confirmed_ms.is_some()
            && self.vip_answers_ms.is_some()
            && self.started.len() == resources
    }
}

/// A failover to watch: `lost`'s resources (with the role each must have)
/// must all come to run on `survivor` after `cut`, within `timeout`.
#[derive(Debug, Clone)]
pub struct Failover<'a> {
    pub survivor: u8,
    pub lost: u8,
    pub resources: &'a [(&'a str, &'a str)],
    pub cut: Instant,
    pub timeout: Duration,
}

/// Watches the survivor until the failover is complete (every resource runs
/// there and the prober hears the VIP) or its timeout; `seen` is told of
/// every step as it happens.
pub fn watch_failover(
    cluster: &LabCluster,
    f: &Failover<'_>,
    prober: &Prober,
    seen: &mut dyn FnMut(&str, u64),
) -> FailoverTimeline {
    let (survivor, lost, resources, cut, timeout) =
        (f.survivor, f.lost, f.resources, f.cut, f.timeout);
    let (survivor_name, lost_name) = (format!("node{survivor}"), format!("node{lost}"));
    let ms = |t: Instant| t.saturating_duration_since(cut).as_millis() as u64;
    let mut t = FailoverTimeline::default();
    while cut.elapsed() < timeout && !t.complete(resources.len()) {
        if let Some(r) = cluster.report(survivor) {
            if t.loss_detected_ms.is_none() && !r.membership.members.contains(&lost_name) {
                let at = ms(Instant::now());
                t.loss_detected_ms = Some(at);
                seen(
                    &format!(
                        "{survivor_name} lost {lost_name} (no heartbeat for the token timeout)"
                    ),
                    at,
                );
            }
            if t.fence_confirmed_ms.is_none() && fenced(&r, &lost_name) {
                let at = ms(Instant::now());
                t.fence_confirmed_ms = Some(at);
                seen(
                    &format!("{survivor_name} fenced {lost_name}: power off confirmed"),
                    at,
                );
            }
            for (res, role) in resources {
                if !t.started.iter().any(|(r, _, _)| r == res)
                    && runs_on(&r, res, &survivor_name, Some(role))
                {
                    let at = ms(Instant::now());
                    t.started.push((res.to_string(), role.to_string(), at));
                    seen(&format!("{res} {role} on {survivor_name}"), at);
                }
            }
        }
        if t.vip_answers_ms.is_none()
            && let Some(since) = prober.state().answering_since.filter(|s| *s > cut)
        {
            let at = ms(since);
            t.vip_answers_ms = Some(at);
            seen(&format!("VIP {VIP} answers the client again"), at);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    t
}
