//! The seeds' stacks end to end on the lab (issue 18): real servers behind
//! Debian's HAProxy, which finds the primary through each node's `[http]`
//! endpoint (`haproxy`), and the power-loss scenario every stack shares
//! (`power_loss`): a client writes numbered rows through HAProxy the whole
//! time, the primary's node loses its power, the survivor fences it through
//! the lab's power board and takes over. What comes out (`PowerLoss`) is
//! behaviour for the tests (acknowledged writes missing afterwards, two
//! primaries seen at once, whether the client was served again) and the
//! times `bench/failover` reports (power cut to the first acknowledged
//! write through HAProxy). Each stack (`pgsql`, ...) sets up its cluster
//! and says how to write, read back and ask a node whether it is primary
//! (`pgsql`, `mariadb`: two nodes; `rabbitmq`: three, where the node cut
//! is the VIP's).

pub mod haproxy;
pub mod mariadb;
pub mod pgsql;
pub mod rabbitmq;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::cluster::{
    Database, LabCluster, LabFencing, ReferenceOptions, fenced, reference_config, write_authkey,
};
use super::{Lab, LabError, LabOptions, fence_agent, io_err};
use haproxy::HTTP_SECTION;

/// The reference two-node policy (`lab::cluster::reference_config`) with
/// the database `db(lab directory)` gives, the nodes' `[http]` endpoint
/// on and the lab's power board as the fence device; not started.
pub fn reference_stack(
    tag: &str,
    pacelined: &Path,
    paceline: &Path,
    db: impl FnOnce(&Path) -> Result<Database, LabError>,
) -> Result<(LabCluster, PathBuf), LabError> {
    let mut lab = Lab::new(&LabOptions {
        tag: tag.into(),
        nodes: 2,
        links: 2,
        client: true,
    })?;
    let socket = lab.serve_power()?;
    let dir = lab.dir().to_path_buf();
    let agent = fence_agent::install(&dir, paceline).map_err(io_err("install the fence agent"))?;
    write_authkey(&dir.join("authkey"))?;
    std::fs::create_dir_all(dir.join("srv")).map_err(io_err("create srv"))?;
    let options = ReferenceOptions {
        cluster: tag.into(),
        dir: dir.clone(),
        authkey: dir.join("authkey"),
        fencing: LabFencing::PowerBoard { agent, socket },
        token_timeout_ms: None,
        db: db(&dir)?,
    };
    let cluster = LabCluster::new(lab, 2, pacelined, |i| {
        format!("{}{HTTP_SECTION}", reference_config(&options, i))
    })?;
    Ok((cluster, dir))
}

/// The promoted node of `db` and the other one, as a node reports them.
fn promoted_db(cluster: &LabCluster) -> Option<(u8, u8)> {
    let r = (1..=cluster.nodes()).find_map(|i| cluster.report(i))?;
    let promoted = super::cluster::placements(&r, "db")
        .into_iter()
        .find(|(_, role)| role == "Promoted")?
        .0;
    let primary = promoted.strip_prefix("node")?.parse::<u8>().ok()?;
    Some((primary, 3 - primary))
}

/// What a stack gives the power-loss scenario. Every call may block for
/// a while (a client program in the client namespace) and must give up
/// by itself within a few seconds.
pub trait Stack: Sync {
    fn cluster(&self) -> &LabCluster;
    /// The node running the primary once the stack is ready for a power
    /// loss (the standby in sync, HAProxy routing), else None.
    fn ready(&self) -> Option<u8>;
    /// Writes row `seq` through HAProxy: true once acknowledged.
    fn write(&self, seq: u64) -> bool;
    /// The rows readable through HAProxy, None while it serves nothing.
    fn read_back(&self) -> Option<BTreeSet<u64>>;
    /// Whether the server on `node` (asked directly) takes writes.
    fn is_primary(&self, node: u8) -> bool;
    /// The node HAProxy sends the writing clients to, if it can tell.
    fn served_by(&self) -> Option<u8>;
}

/// One write the client tried.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub seq: u64,
    pub started: Instant,
    pub acked: Option<Instant>,
}

/// What a power loss of the primary's node did, as the client and the
/// ground truth saw it.
#[derive(Debug, Clone, Default)]
pub struct PowerLoss {
    pub lost: u8,
    pub survivor: u8,
    pub acked_before_cut: usize,
    pub acked_after_cut: usize,
    /// Acknowledged writes not readable after the failover.
    pub missing: Vec<u64>,
    /// Two servers taking writes at once, when it was seen.
    pub two_primaries: Vec<String>,
    /// The survivor's report shows the lost node fenced.
    pub fenced: bool,
    /// The node HAProxy sends writes to at the end.
    pub served_by: Option<u8>,
    /// From the power cut to the clients' way in answering again from a
    /// survivor (`Stack::served_by`: HAProxy routing to the new primary,
    /// or the VIP's HAProxy accepting connections), polled every 100 ms.
    pub frontend_again_ms: Option<u64>,
    /// From the power cut (its end: the node's processes killed, its links
    /// down) to the acknowledgement of the first write the client started
    /// after it.
    pub served_again_ms: Option<u64>,
    /// The longest time between two acknowledged writes around the cut.
    pub longest_gap_ms: u64,
}

/// Writes before the cut, and after it, for the scenario to go on.
const WRITES_BEFORE: usize = 20;
const WRITES_AFTER: usize = 10;

/// Waits for the stack to be ready, writes through HAProxy, cuts the
/// primary's node's power and writes on until the client is served again
/// (or `timeout` after the cut), then reads everything back.
pub fn power_loss(stack: &dyn Stack, timeout: Duration) -> Result<PowerLoss, LabError> {
    let cluster = stack.cluster();
    // Three brokers started one after the other take a minute on a
    // loaded machine.
    cluster.wait_for("the stack to be ready", Duration::from_secs(150), |_| {
        stack.ready().is_some()
    })?;
    let lost = stack
        .ready()
        .ok_or_else(|| not_ready("ready and then not"))?;
    let survivor = (1..=cluster.nodes())
        .find(|&i| i != lost)
        .ok_or_else(|| not_ready("a survivor"))?;
    let attempts = Mutex::new(Vec::<Attempt>::new());
    let two_primaries = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let cut_at = Mutex::new(None::<Instant>);
    let frontend_again = Mutex::new(None::<Instant>);
    let acked_since = |since: Option<Instant>| {
        attempts.lock().map_or(0, |a| {
            a.iter()
                .filter(|t| t.acked.is_some() && since.is_none_or(|s| t.started > s))
                .count()
        })
    };
    let mut cut = None;
    std::thread::scope(|s| {
        s.spawn(|| write_until(stack, &stop, &attempts));
        s.spawn(|| watch_primaries(stack, &stop, &two_primaries));
        s.spawn(|| watch_frontend(stack, lost, &stop, &cut_at, &frontend_again));
        let waited = cluster.wait_for("writes through HAProxy", Duration::from_secs(60), |_| {
            acked_since(None) >= WRITES_BEFORE
        });
        if waited.is_ok() {
            // The node is dead once its processes are killed and its
            // links down: a write started before may still have been
            // acknowledged by it (and is no outage).
            let off = cluster.lab.power_off(lost);
            let at = Instant::now();
            cut = Some(at);
            if let Ok(mut c) = cut_at.lock() {
                *c = Some(at);
            }
            if off.is_ok() {
                let _ = cluster.wait_for("writes after the power loss", timeout, |_| {
                    acked_since(Some(at)) >= WRITES_AFTER
                });
            }
        }
        stop.store(true, Ordering::SeqCst);
    });
    let cut = cut.ok_or_else(|| not_ready("writes through HAProxy before the cut"))?;
    let attempts = attempts.into_inner().unwrap_or_default();
    let present = cluster
        .wait_for(
            "the rows read back through HAProxy",
            Duration::from_secs(20),
            |_| stack.read_back().is_some(),
        )
        .ok()
        .and_then(|_| stack.read_back())
        .unwrap_or_default();
    let mut out = outcome(
        stack,
        lost,
        survivor,
        cut,
        &attempts,
        &present,
        two_primaries,
    );
    out.frontend_again_ms = frontend_again
        .into_inner()
        .ok()
        .flatten()
        .map(|t| t.saturating_duration_since(cut).as_millis() as u64);
    Ok(out)
}

fn outcome(
    stack: &dyn Stack,
    lost: u8,
    survivor: u8,
    cut: Instant,
    attempts: &[Attempt],
    present: &BTreeSet<u64>,
    two_primaries: Mutex<Vec<String>>,
) -> PowerLoss {
    let ms = |t: Instant| t.saturating_duration_since(cut).as_millis() as u64;
    let acked: Vec<&Attempt> = attempts.iter().filter(|a| a.acked.is_some()).collect();
    let mut acks: Vec<Instant> = acked.iter().filter_map(|a| a.acked).collect();
    acks.sort();
    PowerLoss {
        lost,
        survivor,
        acked_before_cut: acked.iter().filter(|a| a.started < cut).count(),
        acked_after_cut: acked.iter().filter(|a| a.started > cut).count(),
        missing: acked
            .iter()
            .map(|a| a.seq)
            .filter(|seq| !present.contains(seq))
            .collect(),
        two_primaries: two_primaries.into_inner().unwrap_or_default(),
        fenced: stack
            .cluster()
            .report(survivor)
            .is_some_and(|r| fenced(&r, &format!("node{lost}"))),
        served_by: stack.served_by(),
        frontend_again_ms: None,
        served_again_ms: acked
            .iter()
            .filter(|a| a.started > cut)
            .filter_map(|a| a.acked)
            .min()
            .map(ms),
        longest_gap_ms: acks
            .windows(2)
            .map(|w| w[1].saturating_duration_since(w[0]).as_millis() as u64)
            .max()
            .unwrap_or(0),
    }
}

fn not_ready(what: &str) -> LabError {
    LabError::Io {
        what: format!("the power-loss scenario: {what}"),
        source: std::io::Error::new(std::io::ErrorKind::TimedOut, "not reached"),
    }
}

/// The client: numbered writes through HAProxy, one after the other with
/// a pause of 50 ms, until told to stop.
fn write_until(stack: &dyn Stack, stop: &AtomicBool, attempts: &Mutex<Vec<Attempt>>) {
    let mut seq = 0u64;
    while !stop.load(Ordering::SeqCst) {
        seq += 1;
        let started = Instant::now();
        let acked = stack.write(seq).then(Instant::now);
        if let Ok(mut a) = attempts.lock() {
            a.push(Attempt {
                seq,
                started,
                acked,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ground truth: asks every powered node's server whether it takes
/// writes, every 100 ms; two at once is kept with the time.
fn watch_primaries(stack: &dyn Stack, stop: &AtomicBool, seen: &Mutex<Vec<String>>) {
    let cluster = stack.cluster();
    let power = cluster.lab.power();
    let start = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let primaries: Vec<u8> = (1..=cluster.nodes())
            .filter(|&i| power.powered(i) && stack.is_primary(i))
            .collect();
        if primaries.len() > 1
            && let Ok(mut v) = seen.lock()
        {
            v.push(format!(
                "primaries on nodes {primaries:?} at {} ms",
                start.elapsed().as_millis()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first time after the cut that the clients' way in answers from a
/// node other than the lost one (`Stack::served_by`), every 100 ms.
fn watch_frontend(
    stack: &dyn Stack,
    lost: u8,
    stop: &AtomicBool,
    cut: &Mutex<Option<Instant>>,
    seen: &Mutex<Option<Instant>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let after_cut = cut.lock().ok().and_then(|c| *c).is_some();
        if after_cut && stack.served_by().is_some_and(|n| n != lost) {
            if let Ok(mut s) = seen.lock() {
                *s = Some(Instant::now());
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
