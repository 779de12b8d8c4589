//! The chaos lab's PostgreSQL stack (`--stack pgsql`): `db` is real
//! PostgreSQL run by resource-agents' `pgsql` in synchronous replication
//! (`lab::postgres`, as `lab::stacks::pgsql` runs it), so that a commit is
//! acknowledged once the standby has it. What it adds to the checks:
//! - a client in the client namespace writes numbered rows through the
//!   VIP the whole run (`Writer`), and after every fault each acknowledged
//!   row must be readable on the primary;
//! - ground truth for "two primaries": a node's server runs (its
//!   postmaster's pid is alive) without `standby.signal`, confirmed over
//!   SQL (`pg_is_in_recovery()`) before it counts;
//! - settled includes the standby streaming in sync;
//! - the operator's way back for a primary that lost its node (pgsql
//!   refuses to start over its `PGSQL.lock`): its data is copied afresh
//!   from the primary (`postgres::rebuild_standby`) before the cleanup.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::super::cluster::{LabCluster, VIP};
use super::super::{LabError, node_addr, postgres};

/// Where each node's PostgreSQL lives: the cluster's private path.
pub fn shared_dir(lab_dir: &Path) -> PathBuf {
    lab_dir.join("pg")
}

/// The `db` primitive and its promotable clone for pgsql, its monitors
/// with the 30 s timeout pgsql's metadata advises: the primary's monitor
/// reloads the server and sets attributes (2-10 s on this shared 2-core
/// machine), and with 10 s, at load 25, it timed out again and again: a
/// timed-out monitor of the primary is a failure, recovered by a stop
/// that leaves pgsql's lock with no other primary to rebuild from (seeds
/// 9 fault 31, 10 fault 11, 13 fault 20 on 5bf80f1, unsettled).
pub fn db_section(bindir: &Path, lab_dir: &Path) -> String {
    let mut params = postgres::agent_params(bindir, &shared_dir(lab_dir), VIP);
    for (k, v) in &mut params {
        if k == "rep_mode" {
            *v = "sync".into();
        }
    }
    super::super::cluster::replicated_db("ocf:heartbeat:pgsql", &params)
        .replace(
            r#"name = "monitor", interval = "2s", timeout = "10s""#,
            r#"name = "monitor", interval = "2s", timeout = "30s""#,
        )
        .replace(
            r#"name = "monitor", interval = "1s", timeout = "10s""#,
            r#"name = "monitor", interval = "1s", timeout = "30s""#,
        )
}

/// A node's data directory, as the host sees it.
fn data_dir(c: &LabCluster, node: u8) -> PathBuf {
    c.node_private_dir(node).join("data")
}

/// pgsql's lock: its node ran the primary and did not stop it cleanly.
pub fn lock_file(c: &LabCluster, node: u8) -> PathBuf {
    c.node_private_dir(node).join("tmp").join("PGSQL.lock")
}

/// Whether the postmaster of the data directory `data` runs, in the
/// network namespace whose inode is `netns` when given. The pid file
/// outlives a power cut, and this 2-core machine's pids wrap within
/// minutes: a stale pid named another node's postgres backend once (seed
/// 8, fault 24, two primaries seen for 0.5 s while node1 ran no server).
fn server_runs(data: &Path, netns: Option<u64>) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
        .is_some_and(|pid| {
            let postgres = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim().starts_with("postgres"));
            let here = netns.is_none_or(|ino| {
                std::fs::metadata(format!("/proc/{pid}/ns/net")).is_ok_and(|m| m.ino() == ino)
            });
            postgres && here
        })
}

/// From the files alone (cheap enough for every sample): the server runs
/// in the node's namespace (inode `netns`) and is no standby.
pub fn looks_primary(lab_dir: &Path, node: u8, netns: u64) -> bool {
    let data = lab_dir.join(format!("node{node}/private/data"));
    server_runs(&data, Some(netns)) && !data.join("standby.signal").exists()
}

/// Asked over SQL from the client namespace: Some(true) when the server
/// on `node` takes writes, None when it does not answer.
pub fn is_primary(bindir: &Path, client_ns: &str, node: u8) -> Option<bool> {
    let answer = postgres::query(
        bindir,
        client_ns,
        &node_addr(node, 0),
        "select pg_is_in_recovery()",
        Duration::from_secs(1),
    )?;
    Some(answer == "f")
}

/// One statement on the primary through the VIP.
fn through_vip(bindir: &Path, client_ns: &str, sql: &str) -> Option<String> {
    postgres::query(bindir, client_ns, VIP, sql, Duration::from_secs(2))
}

/// The client: numbered rows written through the VIP, one after the
/// other, 100 ms apart; the acknowledged ones kept.
pub struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<BTreeSet<u64>>>,
    thread: Option<JoinHandle<()>>,
    bindir: PathBuf,
    client_ns: String,
    /// Acknowledged rows already reported missing.
    reported: BTreeSet<u64>,
}

impl Writer {
    /// Creates the table and starts writing.
    pub fn start(bindir: &Path, client_ns: &str) -> Result<Writer, LabError> {
        let table = "create table if not exists acked (n bigint primary key)";
        through_vip(bindir, client_ns, table).ok_or_else(|| LabError::Io {
            what: "create the client's table through the VIP".into(),
            source: std::io::Error::other("PostgreSQL did not answer"),
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(BTreeSet::new()));
        let (stopping, out) = (Arc::clone(&stop), Arc::clone(&acked));
        let (bin, ns) = (bindir.to_path_buf(), client_ns.to_string());
        let thread = std::thread::spawn(move || {
            let mut seq = 0u64;
            while !stopping.load(Ordering::SeqCst) {
                seq += 1;
                let sql = format!("insert into acked values ({seq})");
                if through_vip(&bin, &ns, &sql).is_some()
                    && let Ok(mut a) = out.lock()
                {
                    a.insert(seq);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Ok(Writer {
            stop,
            acked,
            thread: Some(thread),
            bindir: bindir.to_path_buf(),
            client_ns: client_ns.to_string(),
            reported: BTreeSet::new(),
        })
    }

    pub fn acked(&self) -> usize {
        self.acked.lock().map(|a| a.len()).unwrap_or(0)
    }

    /// Acknowledged rows the primary does not have (each reported once),
    /// or why the primary could not be read.
    pub fn lost(&mut self) -> Result<Vec<u64>, String> {
        let acked = self.acked.lock().map(|a| a.clone()).unwrap_or_default();
        let mut rows = None;
        for _ in 0..5 {
            rows = through_vip(&self.bindir, &self.client_ns, "select n from acked");
            if rows.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let rows = rows.ok_or("the primary did not answer through the VIP")?;
        let present: BTreeSet<u64> = rows.lines().filter_map(|l| l.parse().ok()).collect();
        let lost: Vec<u64> = acked
            .difference(&present)
            .filter(|n| !self.reported.contains(n))
            .copied()
            .collect();
        self.reported.extend(&lost);
        Ok(lost)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether `node`'s server is down with pgsql's lock left: pgsql starts
/// it only once an operator rebuilt it (`rebuild_locked`).
pub fn awaits_rebuild(c: &LabCluster, node: u8) -> bool {
    lock_file(c, node).exists() && !server_runs(&data_dir(c, node), None)
}

/// The operator's way back: a node whose server is down with pgsql's lock
/// left (it ran the primary when it lost power or was fenced), while the
/// other node runs the primary, gets a fresh copy of the primary's data.
/// Returns the node rebuilt, or why it could not be.
pub fn rebuild_locked(c: &LabCluster, bindir: &Path, primary: u8) -> Option<Result<u8, String>> {
    let node = 3 - primary;
    if !awaits_rebuild(c, node) {
        return None;
    }
    let done = postgres::rebuild_standby(
        bindir,
        &c.lab.client_ns(),
        &node_addr(primary, 0),
        &c.node_private_dir(node),
    );
    Some(done.map(|()| node).map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_monitors_have_the_timeout_pgsql_advises() {
        let db = db_section(
            Path::new("/usr/lib/postgresql/15/bin"),
            Path::new("/tmp/lab"),
        );
        assert_eq!(db.matches(r#"name = "monitor""#).count(), 2, "{db}");
        assert_eq!(db.matches(r#"timeout = "30s""#).count(), 2, "{db}");
        assert!(!db.contains(r#"timeout = "10s""#), "{db}");
    }
}
