//! Real PostgreSQL on the lab's nodes, run by resource-agents' `pgsql` in
//! streaming replication (`rep_mode = async`): one data directory per node
//! at the same path (the cluster's private path, see
//! `LabCluster::with_private_path`), cloned from one `initdb` so both start
//! as standbys of the same history; the agent promotes one and the other
//! streams from the VIP (`master_ip`), which follows the promoted instance.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::cluster::LabCluster;
use super::{LabError, io_err, run};
use crate::api::StatusReport;

pub const PORT: u16 = 5432;

/// Where PostgreSQL's programs are, if it is installed.
pub fn bindir() -> Option<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The `pgsql` primitive's parameters, for a node whose private path is
/// `shared` (the same on every node).
pub fn agent_params(bindir: &Path, shared: &Path, master_ip: &str) -> Vec<(String, String)> {
    let at = |p: &str| shared.join(p).display().to_string();
    [
        ("pgctl", bindir.join("pg_ctl").display().to_string()),
        ("psql", bindir.join("psql").display().to_string()),
        ("pgdata", at("data")),
        ("config", at("data/postgresql.conf")),
        ("tmpdir", at("tmp")),
        ("socketdir", at("sock")),
        ("logfile", at("postgres.log")),
        ("pgport", PORT.to_string()),
        ("rep_mode", "async".into()),
        ("node_list", "node1 node2".into()),
        ("master_ip", master_ip.into()),
        ("repuser", "postgres".into()),
        ("restart_on_promote", "false".into()),
        // A standby notices a vanished primary in seconds, not the kernel's
        // two hours.
        (
            "primary_conninfo_opt",
            "connect_timeout=2 keepalives_idle=5 keepalives_interval=1 keepalives_count=3".into(),
        ),
        ("stop_escalate", "5".into()),
        // A standby whose score a probe reset takes the promotion right
        // after one monitor that sees its WAL position is the newest
        // (pgsql's default waits for three), as two nodes can compare.
        ("xlog_check_count", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The queue worker's table: jobs waiting for a worker have no `done_by`.
pub const JOBS_TABLE: &str = "create table jobs (id serial primary key, done_by text)";

/// Writes the lab's queue worker to `dir` and returns the parameters of
/// the `ocf:heartbeat:anything` primitive that runs it. The worker takes
/// the oldest open job of table `jobs` from the primary through `vip` and
/// marks it done by its node (its namespace's name, as `LabCluster`'s
/// nodes have no host names of their own), five times a second; a missing
/// table or an unreachable primary is logged and retried. `shared` is the
/// cluster's private path: each node keeps its own log there.
pub fn queue_worker(
    bindir: &Path,
    dir: &Path,
    shared: &Path,
    vip: &str,
) -> Result<Vec<(String, String)>, LabError> {
    let script = dir.join("queue-worker");
    let text = format!(
        r#"#!/bin/sh
# paceline lab: a queue worker on the PostgreSQL primary behind the VIP.
node=$(ip netns identify $$)
echo "queue worker on ${{node:-an unknown namespace}}, pid $$"
while :; do
    PGCONNECT_TIMEOUT=2 "{psql}" -h {vip} -p {port} -U postgres -d postgres -Atqc         "update jobs set done_by = '$node' where id = (select id from jobs where done_by is null order by id limit 1 for update skip locked) returning id"         || echo "no job taken: the primary did not answer"
    sleep 0.2
done
"#,
        psql = bindir.join("psql").display(),
        port = PORT,
    );
    std::fs::write(&script, text).map_err(io_err(format!("write {}", script.display())))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .map_err(io_err(format!("chmod {}", script.display())))?;
    Ok(vec![
        ("binfile".into(), script.display().to_string()),
        (
            "logfile".into(),
            shared.join("worker.log").display().to_string(),
        ),
    ])
}

/// The pids of the queue worker (`binfile`, from `queue_worker`'s
/// parameters) running in namespace `ns`.
pub fn worker_pids(ns: &str, binfile: &str) -> Vec<i32> {
    let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(binfile))
        })
        .collect()
}

fn as_postgres(args: &[&str]) -> Result<Output, LabError> {
    let mut full = vec!["runuser", "-u", "postgres", "--"];
    full.extend_from_slice(args);
    run(&full)
}

/// Creates the database of every node: one `initdb` in node 1's private
/// directory, configured for streaming replication over the lab's
/// addresses, copied to the other nodes before anything runs.
pub fn init_data(bindir: &Path, shared: &Path, private_dirs: &[PathBuf]) -> Result<(), LabError> {
    let Some(first) = private_dirs.first() else {
        return Ok(());
    };
    for dir in private_dirs {
        for sub in ["tmp", "sock"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(io_err(format!("create {}", dir.join(sub).display())))?;
        }
        run(&[
            "chown",
            "-R",
            "postgres:postgres",
            &dir.display().to_string(),
        ])?;
    }
    let data = first.join("data");
    as_postgres(&[
        &bindir.join("initdb").display().to_string(),
        "-D",
        &data.display().to_string(),
        "-A",
        "trust",
        "-U",
        "postgres",
        "--no-sync",
    ])?;
    let conf = format!(
        "\n# paceline lab: streaming replication between the namespace nodes\n\
         listen_addresses = '*'\n\
         port = {PORT}\n\
         unix_socket_directories = '{sock}'\n\
         wal_level = replica\n\
         wal_keep_size = '64MB'\n\
         hot_standby = on\n\
         wal_receiver_status_interval = 1s\n\
         wal_retrieve_retry_interval = 500ms\n\
         fsync = off\n",
        sock = shared.join("sock").display()
    );
    append(&data.join("postgresql.conf"), &conf)?;
    append(
        &data.join("pg_hba.conf"),
        "host all all 198.18.0.0/15 trust\nhost replication all 198.18.0.0/15 trust\n",
    )?;
    for dir in &private_dirs[1..] {
        run(&[
            "cp",
            "-a",
            &data.display().to_string(),
            &dir.join("data").display().to_string(),
        ])?;
    }
    Ok(())
}

/// Gives every node of `cluster` its own directory at `shared` and creates
/// the databases there (`init_data`), before any daemon starts.
pub fn provision(
    cluster: LabCluster,
    bindir: &Path,
    shared: &Path,
) -> Result<LabCluster, LabError> {
    let cluster = cluster.with_private_path(shared)?;
    let dirs: Vec<PathBuf> = (1..=cluster.nodes())
        .map(|i| cluster.node_private_dir(i))
        .collect();
    init_data(bindir, shared, &dirs)?;
    Ok(cluster)
}

/// The operator's way back for a primary that lost its node (as with
/// Pacemaker and pgsql): its data may have diverged from the new
/// primary's, and pgsql refuses to start it while its `PGSQL.lock` is
/// there. The data is copied afresh from the primary at `primary` (with
/// `pg_basebackup`, run in namespace `ns`, which reaches it) into the
/// node's `private_dir`, and the lock is removed; a `resource cleanup`
/// then lets the agent start it as a standby.
pub fn rebuild_standby(
    bindir: &Path,
    ns: &str,
    primary: &str,
    private_dir: &Path,
) -> Result<(), LabError> {
    let data = private_dir.join("data");
    if data.exists() {
        std::fs::remove_dir_all(&data).map_err(io_err(format!("remove {}", data.display())))?;
    }
    run(&[
        "ip",
        "netns",
        "exec",
        ns,
        "runuser",
        "-u",
        "postgres",
        "--",
        &bindir.join("pg_basebackup").display().to_string(),
        "-h",
        primary,
        "-p",
        &PORT.to_string(),
        "-U",
        "postgres",
        "-D",
        &data.display().to_string(),
        "-X",
        "stream",
        "--no-sync",
    ])?;
    let lock = private_dir.join("tmp").join("PGSQL.lock");
    if lock.exists() {
        std::fs::remove_file(&lock).map_err(io_err(format!("remove {}", lock.display())))?;
    }
    Ok(())
}

/// Whether `report` (the primary's) shows `standby` streaming and made
/// promotable by the primary's monitor (pgsql's score 100 for it).
pub fn standby_promotable(report: &StatusReport, standby: &str) -> bool {
    report
        .node_attribute(standby, "db-data-status")
        .is_some_and(|v| v.starts_with("STREAMING"))
        && report
            .node_attribute(standby, "master-db")
            .is_some_and(|v| v == "100")
}

fn append(path: &Path, text: &str) -> Result<(), LabError> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(io_err(format!("append to {}", path.display())))
}

/// Runs one SQL statement with `psql` inside namespace `ns` against
/// `host`; the unaligned, tuples-only output, or None when the server
/// does not answer within `timeout`.
pub fn query(bindir: &Path, ns: &str, host: &str, sql: &str, timeout: Duration) -> Option<String> {
    query_at(bindir, ns, (host, PORT), sql, timeout)
}

/// As `query`, against `host:port` (such as HAProxy's frontend), and
/// killed when it has no answer within `timeout` plus a second (a commit
/// waiting for a synchronous standby that died waits forever).
pub fn query_at(
    bindir: &Path,
    ns: &str,
    (host, port): (&str, u16),
    sql: &str,
    timeout: Duration,
) -> Option<String> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .arg(bindir.join("psql"))
        .args(["-h", host, "-p", &port.to_string(), "-U", "postgres"])
        .args(["-d", "postgres", "-Atqc", sql])
        .env("PGCONNECT_TIMEOUT", timeout.as_secs().max(1).to_string());
    super::output_within(cmd, timeout + Duration::from_secs(1))
}
