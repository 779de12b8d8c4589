//! The chaos lab's cluster: two nodes of the namespace lab fenced through
//! the lab's power board, and the reference policy's shape with
//! resources whose ground truth the sampler can read: `db`, a promotable
//! `builtin:dummy` (its state file says `promoted`) or, with the pgsql
//! stack, real PostgreSQL (`pgsql.rs`), the VIP on eth0, and `worker`, an
//! OCF agent whose failures files decide (`ocf:chaos:worker`).

use std::path::{Path, PathBuf};

use super::super::cluster::{LabCluster, VIP, write_authkey};
use super::super::{Lab, LabError, LabOptions, fence_agent, io_err, postgres};
use super::{ChaosStack, pgsql};

/// The worker's agent. Its state lives under HA_RSCTMP (emptied by a power
/// cut); its failures are files in `<node dir>/faults`: `crash` (consumed
/// by the next monitor, which then finds the worker dead), `start` and
/// `stop` (those operations fail while the file is there).
const WORKER_AGENT: &str = r#"#!/bin/sh
state="${HA_RSCTMP:?}/chaos-worker.state"
faults="${HA_RSCTMP%/rsctmp}/faults"
case "$1" in
start)
    [ -e "$faults/start" ] && { echo "chaos: start fails" >&2; exit 1; }
    : > "$state"; exit 0 ;;
stop)
    [ -e "$faults/stop" ] && { echo "chaos: stop fails" >&2; exit 1; }
    rm -f "$state"; exit 0 ;;
monitor)
    [ -e "$faults/crash" ] && rm -f "$faults/crash" "$state"
    [ -e "$state" ] && exit 0
    exit 7 ;;
validate-all) exit 0 ;;
meta-data)
    cat <<'XML'
<?xml version="1.0"?>
<resource-agent name="worker" version="1.0">
<version>1.1</version>
<shortdesc lang="en">The chaos lab's worker</shortdesc>
<parameters/>
<actions>
<action name="start" timeout="10s"/>
<action name="stop" timeout="10s"/>
<action name="monitor" timeout="10s" interval="2s"/>
<action name="validate-all" timeout="10s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
XML
    exit 0 ;;
*) exit 3 ;;
esac
"#;

/// The first `node-action-limit`; each configuration change sets another.
pub const FIRST_LIMIT: u64 = 100;

/// Where a node's agent failures are switched on (see `WORKER_AGENT`).
pub fn faults_dir(c: &LabCluster, node: u8) -> PathBuf {
    c.node_dir(node).join("faults")
}

/// Where a node's worker keeps its state (it runs there while it exists).
pub fn worker_state(lab_dir: &Path, node: u8) -> PathBuf {
    lab_dir.join(format!("node{node}/rsctmp/chaos-worker.state"))
}

/// Where a node's `db` instances keep their state.
pub fn dummy_dir(lab_dir: &Path, node: u8) -> PathBuf {
    lab_dir.join(format!("node{node}/rsctmp/dummy"))
}

/// An OCF root with the worker's agent (and resource-agents' own, so that
/// nothing else changes).
fn ocf_root(dir: &Path) -> Result<PathBuf, LabError> {
    use std::os::unix::fs::PermissionsExt;
    let root = dir.join("ocf");
    let agent = root.join("resource.d/chaos/worker");
    let made = std::fs::create_dir_all(root.join("resource.d/chaos"))
        .and_then(|()| std::fs::write(&agent, WORKER_AGENT))
        .and_then(|()| std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)));
    made.map_err(io_err(format!("write {}", agent.display())))?;
    let lib = Path::new("/usr/lib/ocf/lib");
    if lib.exists() {
        std::os::unix::fs::symlink(lib, root.join("lib"))
            .map_err(io_err("link the OCF library"))?;
    }
    let heartbeat = Path::new("/usr/lib/ocf/resource.d/heartbeat");
    if heartbeat.exists() {
        std::os::unix::fs::symlink(heartbeat, root.join("resource.d/heartbeat"))
            .map_err(io_err("link resource-agents' heartbeat agents"))?;
    }
    Ok(root)
}

/// Builds the lab (with PostgreSQL's directories for the pgsql stack,
/// whose programs' directory comes back too); the daemons are the
/// caller's to start.
pub fn build(
    tag: &str,
    pacelined: &Path,
    paceline: &Path,
    stack: ChaosStack,
) -> Result<(LabCluster, Option<PathBuf>), LabError> {
    let bindir = match stack {
        ChaosStack::Dummy => None,
        ChaosStack::Pgsql => Some(postgres::bindir().ok_or_else(|| LabError::Io {
            what: "PostgreSQL".into(),
            source: std::io::Error::other("not installed (/usr/lib/postgresql/*/bin)"),
        })?),
    };
    let mut lab = Lab::new(&LabOptions {
        tag: tag.into(),
        nodes: 2,
        links: 2,
        // The pgsql stack's client writes through the VIP from there.
        client: bindir.is_some(),
    })?;
    let board = lab.serve_power()?;
    let dir = lab.dir().to_path_buf();
    let agent = fence_agent::install(&dir, paceline).map_err(io_err("install the fence agent"))?;
    let authkey = dir.join("authkey");
    write_authkey(&authkey)?;
    let root = ocf_root(&dir)?;
    let db = match &bindir {
        Some(b) => pgsql::db_section(b, &dir),
        None => DUMMY_DB.to_string(),
    };
    let config = |i: u8| config_text(&dir, i, &authkey, &agent, &board, &db);
    let mut cluster = LabCluster::new(lab, 2, pacelined, config)?
        .with_env(&[("OCF_ROOT", &root.display().to_string())]);
    if let Some(b) = &bindir {
        cluster = postgres::provision(cluster, b, &pgsql::shared_dir(&dir))?;
    }
    for i in 1..=2 {
        std::fs::create_dir_all(faults_dir(&cluster, i)).map_err(io_err("faults dir"))?;
    }
    Ok((cluster, bindir))
}

/// The Dummy stack's `db`: a promotable `builtin:dummy` both nodes may
/// promote, node1 first (`prefer-node1`).
const DUMMY_DB: &str = r#"[[primitive]]
id = "db"
agent = "builtin:dummy"
ops = [
  { name = "monitor", interval = "2s", timeout = "10s" },
  { name = "monitor", interval = "1s", timeout = "10s", role = "Promoted" },
]

[[clone]]
id = "db-ha"
resource = "db"
promotable = true
promoted_max = 1
meta = { priority = 10 }

[[location]]
id = "promote-node2-too"
resource = "db-ha"
role = "Promoted"
node = "node2"
score = 10
"#;

fn config_text(
    dir: &Path,
    node: u8,
    authkey: &Path,
    agent: &Path,
    board: &Path,
    db: &str,
) -> String {
    let node_dir = dir.join(format!("node{node}"));
    let devices: String = (1..=2)
        .map(|i| {
            format!(
                "[[fencing.device]]\nid = \"power-node{i}\"\ntype = \"agent\"\nagent = \"{}\"\nparams = {{ plug = \"node{i}\", socket = \"{}\" }}\n[[fencing.level]]\ntarget = \"node{i}\"\nindex = 1\ndevices = [\"power-node{i}\"]\n",
                agent.display(),
                board.display()
            )
        })
        .collect();
    format!(
        r#"# The chaos lab's cluster (src/lab/chaos/stack.rs).
[cluster]
name = "chaos"
authkey = "{authkey}"
state_dir = "{state}"
socket = "{socket}"

[quorum]
two_node = true
wait_for_all = true

[[node]]
name = "node1"
id = 1
links = ["198.18.0.1", "198.18.1.1"]

[[node]]
name = "node2"
id = 2
links = ["198.18.0.2", "198.18.1.2"]

[properties]
stonith-enabled = true
no-quorum-policy = "stop"
dc-deadtime = "2s"
node-action-limit = {FIRST_LIMIT}

[rsc_defaults]
resource-stickiness = 100
migration-threshold = 3

# The node running the primary wins a split (db-ha's priority).
[fencing]
enabled = true
action = "off"
priority_delay = "2s"

{devices}
{db}
[[location]]
id = "prefer-node1"
resource = "db-ha"
role = "Promoted"
node = "node1"
score = 50

[[primitive]]
id = "vip"
agent = "builtin:ipaddr"
params = {{ ip = "{VIP}", cidr_netmask = 24, nic = "eth0" }}
ops = [{{ name = "monitor", interval = "2s", timeout = "10s" }}]

[[primitive]]
id = "worker"
agent = "ocf:chaos:worker"
ops = [{{ name = "monitor", interval = "2s", timeout = "10s" }}]

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
        authkey = authkey.display(),
        state = node_dir.join("state").display(),
        socket = node_dir.join("paceline.sock").display(),
    )
}
