//! Real RabbitMQ brokers on the lab's nodes, run by resource-agents'
//! `rabbitmq-cluster` as an ordered clone. The agent hard-codes where a
//! broker keeps its state (`/var/lib/rabbitmq`, `/var/log/rabbitmq`,
//! `/run/rabbitmq`) and the broker reads `/etc/rabbitmq`, so each of those
//! is a private path of every node (`LabCluster::with_private_path`): a
//! node sees its own, as a machine would. Each broker is named after its
//! node's address (`rabbit@198.18.0.N`, Erlang long names: no host names
//! to resolve), the brokers share one Erlang cookie, and `net_ticktime` is
//! 10 s so that a lost broker leaves the others' view within seconds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::cluster::LabCluster;
use super::{LabError, io_err, node_addr, run};

/// The brokers' AMQP port.
pub const PORT: u16 = 5672;
const SERVER: &str = "/usr/sbin/rabbitmq-server";
const CTL: &str = "/usr/sbin/rabbitmqctl";
const AGENT: &str = "/usr/lib/ocf/resource.d/heartbeat/rabbitmq-cluster";

/// Where the agent and the broker keep their state, one per node.
const PRIVATE: [&str; 4] = [
    "/etc/rabbitmq",
    "/var/lib/rabbitmq",
    "/var/log/rabbitmq",
    "/run/rabbitmq",
];

pub fn installed() -> bool {
    [SERVER, CTL, AGENT].iter().all(|p| Path::new(p).exists())
}

/// The broker's name on node `node`.
pub fn broker_name(node: u8) -> String {
    format!("rabbit@{}", node_addr(node, 0))
}

/// rabbitmq-env.conf: the broker's name, and an Erlang VM that does not
/// spin on the lab's shared CPUs.
fn env_conf(node: u8) -> String {
    format!(
        "# paceline lab\nNODENAME={}\nUSE_LONGNAME=true\n\
         SERVER_ADDITIONAL_ERL_ARGS=\"+sbwt none +sbwtdcpu none +sbwtdio none\"\n",
        broker_name(node)
    )
}

const RABBITMQ_CONF: &str = "# paceline lab\n\
    listeners.tcp.default = 5672\n\
    loopback_users.guest = false\n\
    net_ticktime = 10\n\
    disk_free_limit.absolute = 10MB\n";

/// Gives every node of `cluster` its own RabbitMQ paths and writes each
/// broker's configuration and the shared cookie there, before any daemon
/// starts.
pub fn provision(mut cluster: LabCluster) -> Result<LabCluster, LabError> {
    for path in PRIVATE {
        cluster = cluster.with_private_path(Path::new(path))?;
    }
    let cookie = cookie()?;
    for node in 1..=cluster.nodes() {
        let at = |path: &str| -> Result<PathBuf, LabError> {
            cluster.node_private(node, Path::new(path)).ok_or_else(|| {
                io_err(format!("the private path {path}"))(std::io::Error::other("none"))
            })
        };
        let (etc, lib) = (at(PRIVATE[0])?, at(PRIVATE[1])?);
        write(&etc.join("rabbitmq-env.conf"), &env_conf(node))?;
        write(&etc.join("rabbitmq.conf"), RABBITMQ_CONF)?;
        let cookie_file = lib.join(".erlang.cookie");
        write(&cookie_file, &cookie)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cookie_file, std::fs::Permissions::from_mode(0o400))
            .map_err(io_err("chmod the cookie"))?;
        for path in PRIVATE {
            run(&[
                "chown",
                "-R",
                "rabbitmq:rabbitmq",
                &at(path)?.display().to_string(),
            ])?;
        }
    }
    Ok(cluster)
}

fn write(path: &Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(io_err(format!("write {}", path.display())))
}

/// A new Erlang cookie: 20 capital letters, as the broker makes one.
fn cookie() -> Result<String, LabError> {
    use std::io::Read;
    let mut bytes = [0u8; 20];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(io_err("read /dev/urandom"))?;
    Ok(bytes.iter().map(|b| char::from(b'A' + b % 26)).collect())
}

/// `rabbitmqctl ARGS` on a node, as its agent runs it: in the mount and
/// network namespaces of the node's daemon `pid` (its private paths, its
/// broker). Its output (trimmed) if it succeeds within `timeout`.
pub fn ctl(pid: u32, args: &[&str], timeout: Duration) -> Option<String> {
    let mut cmd = Command::new("nsenter");
    cmd.args(["-t", &pid.to_string(), "-m", "-n", CTL, "-q"])
        .args(args);
    super::output_within(cmd, timeout)
}

/// The brokers running in the cluster of the broker on the node of
/// daemon `pid`, as it sees them.
pub fn running_brokers(pid: u32) -> Option<usize> {
    ctl(
        pid,
        &["eval", "length(rabbit_mnesia:cluster_nodes(running))."],
        Duration::from_secs(10),
    )?
    .trim()
    .parse()
    .ok()
}
