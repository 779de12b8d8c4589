//! Ground truth, sampled every 20 ms the whole run: on every powered node,
//! whether it holds the VIP (a bind to it succeeds only where it is a local
//! address), runs the worker (its state file) and runs a promoted `db` (a
//! dummy state file that says so; with the pgsql stack, a running
//! PostgreSQL that is no standby, confirmed over SQL). Any of the three on
//! two nodes at once is a violation. A paused or cut-off node keeps what it ran, so a
//! recovery made before its fence shows here as two holders.

use std::fs::File;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

use super::super::cluster::{LabCluster, VIP};
use super::super::{LabError, PowerHandle, io_err};
use super::pgsql;
use super::stack::{dummy_dir, worker_state};

const EVERY: Duration = Duration::from_millis(20);

/// The sampling thread; violations pile up until taken.
#[derive(Debug)]
pub struct Sampler {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

struct Watched {
    power: PowerHandle,
    namespaces: Vec<File>,
    lab_dir: PathBuf,
    vip: Ipv4Addr,
    start: Instant,
    /// The pgsql stack: PostgreSQL's programs and the client namespace,
    /// to confirm two primaries over SQL.
    pg: Option<(PathBuf, String)>,
}

impl Sampler {
    pub fn start(
        c: &LabCluster,
        start: Instant,
        pg_bindir: Option<&Path>,
    ) -> Result<Sampler, LabError> {
        let mut namespaces = Vec::new();
        for i in 1..=c.nodes() {
            let path = Path::new("/run/netns").join(c.lab.node_ns(i));
            namespaces.push(File::open(&path).map_err(io_err(path.display().to_string()))?);
        }
        let watched = Watched {
            power: c.lab.power(),
            namespaces,
            lab_dir: c.lab.dir().to_path_buf(),
            vip: VIP.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
            start,
            pg: pg_bindir.map(|b| (b.to_path_buf(), c.lab.client_ns())),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stopping, out) = (Arc::clone(&stop), Arc::clone(&seen));
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                for v in watched.sample() {
                    if let Ok(mut all) = out.lock() {
                        all.push(v);
                    }
                }
                std::thread::sleep(EVERY);
            }
        });
        Ok(Sampler {
            stop,
            seen,
            thread: Some(thread),
        })
    }

    /// The violations seen since the last call.
    pub fn take(&self) -> Vec<String> {
        self.seen
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Watched {
    /// One round: what is active on two nodes at once.
    fn sample(&self) -> Vec<String> {
        let mut vip = Vec::new();
        let mut worker = Vec::new();
        let mut primary = Vec::new();
        for (k, ns) in self.namespaces.iter().enumerate() {
            let node = k as u8 + 1;
            if !self.power.powered(node) {
                continue;
            }
            if self.holds_vip(ns) {
                vip.push(node);
            }
            if worker_state(&self.lab_dir, node).exists() {
                worker.push(node);
            }
            if self.primary(node, ns) {
                primary.push(node);
            }
        }
        if primary.len() > 1 && !self.confirmed(&primary) {
            primary.clear();
        }
        let at = self.start.elapsed().as_millis();
        [
            ("the VIP", vip),
            ("the worker", worker),
            ("a primary", primary),
        ]
        .into_iter()
        .filter(|(_, nodes)| nodes.len() > 1)
        .map(|(what, nodes)| format!("{what} active on nodes {nodes:?} at {at} ms"))
        .collect()
    }

    fn primary(&self, node: u8, ns: &File) -> bool {
        use std::os::unix::fs::MetadataExt;
        match &self.pg {
            Some(_) => ns
                .metadata()
                .is_ok_and(|m| pgsql::looks_primary(&self.lab_dir, node, m.ino())),
            None => promoted(&dummy_dir(&self.lab_dir, node)),
        }
    }

    /// PostgreSQL's files said primary on every node of `nodes`: none of
    /// them says otherwise over SQL (one that does not answer cannot
    /// refute it). A dummy's state file is the truth itself.
    fn confirmed(&self, nodes: &[u8]) -> bool {
        let Some((bindir, client)) = &self.pg else {
            return true;
        };
        nodes
            .iter()
            .all(|&n| pgsql::is_primary(bindir, client, n) != Some(false))
    }

    fn holds_vip(&self, ns: &File) -> bool {
        // Namespaces are per thread: this thread moves between the nodes'.
        setns(ns, CloneFlags::CLONE_NEWNET).is_ok() && UdpSocket::bind((self.vip, 0)).is_ok()
    }
}

/// A `db` instance's state file in `dir` says promoted.
fn promoted(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        e.file_name().to_string_lossy().starts_with("db")
            && std::fs::read_to_string(e.path()).is_ok_and(|s| s.trim() == "promoted")
    })
}
