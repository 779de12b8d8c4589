//! The randomized fault lab (as Pacemaker's CTS and Jepsen do): real
//! daemons on the namespace lab's two nodes (`stack.rs`), and a seeded
//! sequence of faults (`fault.rs`): power losses, clean stops and
//! restarts, link cuts (one link, both, one direction), packet loss and
//! congestion bursts, daemon pauses, agent failures, fence device outages
//! and configuration changes, also while another fault is on.
//!
//! Each fault is injected, held, healed (`inject.rs`), and then the
//! cluster must settle within a bound (`settle.rs`): both nodes members of
//! one view, one document, nothing failed, the primary, the VIP and the
//! worker together on one node. The time from the injection to the
//! settled state is the fault's recovery time. Checked:
//! - never two VIP holders, primaries or workers at once: ground truth
//!   sampled every 20 ms the whole run (`sampler.rs`);
//! - nothing of a node that lost power recovered before its fence was
//!   confirmed: the survivor's log lines since the fault (a paused or cut
//!   off node still holds what it ran, so for those the sampler sees an
//!   early recovery as two holders);
//! - no acknowledged configuration change lost (`ledger.rs`);
//! - no daemon panicked.
//!
//! The sequence depends on the seed alone (`Fault::sequence`): a failing
//! seed replays the same faults. `bench/chaos` runs it; `tests/chaos.rs`
//! runs a short seed.

mod fault;
mod inject;
mod ledger;
mod pgsql;
mod rng;
mod sampler;
mod settle;
mod stack;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use fault::{AgentOp, Fault, Kind, Target};

use super::LabError;
use super::cluster::LabCluster;
use ledger::Ledger;
use sampler::Sampler;

/// What plays the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChaosStack {
    /// A promotable `builtin:dummy`: nothing to install, fast.
    #[default]
    Dummy,
    /// Real PostgreSQL by resource-agents' pgsql, synchronous replication,
    /// a client writing numbered rows through the VIP (`pgsql.rs`).
    Pgsql,
}

impl std::str::FromStr for ChaosStack {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "dummy" => Ok(ChaosStack::Dummy),
            "pgsql" => Ok(ChaosStack::Pgsql),
            other => Err(format!("no stack {other:?} (dummy, pgsql)")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChaosOptions {
    pub stack: ChaosStack,
    pub faults: usize,
    /// The first fault run (1-based): a failing fault of a long seed
    /// replays alone, from a fresh cluster, with `from` = its index.
    pub from: usize,
    pub seed: u64,
    /// How long the cluster has to settle after a fault is healed.
    pub settle_within: Duration,
    pub pacelined: PathBuf,
    pub paceline: PathBuf,
    /// Short tag in the lab's namespace names.
    pub tag: String,
    /// Where the nodes' logs of a fault that failed a check are copied.
    pub keep_logs: Option<PathBuf>,
}

/// What became of one fault.
#[derive(Debug, Clone)]
pub struct FaultOutcome {
    /// 1-based.
    pub index: usize,
    pub fault: Fault,
    /// The node it hit (its target role resolved at injection).
    pub node: Option<u8>,
    /// Injection to settled; None: not settled within the bound.
    pub recovery_ms: Option<u64>,
    /// Why it did not settle.
    pub unsettled: Option<String>,
    pub violations: Vec<String>,
    /// What the lab did or saw besides (cleanups, restarts).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub seed: u64,
    pub faults: usize,
    pub violations: usize,
    pub recovery_ms_median: u64,
    pub recovery_ms_p99: u64,
    pub unsettled: usize,
    pub config_changes: usize,
    pub config_acknowledged: usize,
}

impl Summary {
    /// The bench's last line.
    pub fn json(&self) -> String {
        format!(
            "{{\"seed\":{},\"faults\":{},\"violations\":{},\"recovery_ms_median\":{},\"recovery_ms_p99\":{},\"unsettled\":{},\"config_changes\":{},\"config_acknowledged\":{}}}",
            self.seed,
            self.faults,
            self.violations,
            self.recovery_ms_median,
            self.recovery_ms_p99,
            self.unsettled,
            self.config_changes,
            self.config_acknowledged
        )
    }
}

/// A running lab and what the faults did to it.
struct Chaos {
    cluster: LabCluster,
    sampler: Sampler,
    /// The power board's socket: renamed away for a fence device outage.
    board: PathBuf,
    /// Each node's daemon pid while it runs.
    daemons: [Option<u32>; 2],
    /// A node whose daemon the current fault stopped on purpose.
    stopped: [bool; 2],
    /// Since when a node is off, and the epoch second from which a fence
    /// of it counts (the fault's injection).
    down_since: [Option<(Instant, i64)>; 2],
    ledger: Ledger,
    /// The pgsql stack's PostgreSQL programs and its writing client.
    pg_bindir: Option<PathBuf>,
    writer: Option<pgsql::Writer>,
    last_cleanup: Option<Instant>,
    cleanups: Vec<String>,
    notes: Vec<String>,
    /// When the current fault was injected (notes carry the time since).
    t0: Instant,
    /// The same in seconds since the epoch (fence records carry those).
    t0_epoch: i64,
}

/// Whether a process is running (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Runs `options.faults` faults of `options.seed`, telling `report` of
/// each as it ends.
pub fn run(
    options: &ChaosOptions,
    report: &mut dyn FnMut(&FaultOutcome),
) -> Result<Summary, LabError> {
    let start = Instant::now();
    let (cluster, pg_bindir) = stack::build(
        &options.tag,
        &options.pacelined,
        &options.paceline,
        options.stack,
    )?;
    let sampler = Sampler::start(&cluster, start, pg_bindir.as_deref())?;
    let mut chaos = Chaos {
        pg_bindir,
        writer: None,
        board: cluster.lab.dir().join("power.sock"),
        cluster,
        sampler,
        daemons: [None, None],
        stopped: [false, false],
        down_since: [None, None],
        ledger: Ledger::default(),
        last_cleanup: None,
        cleanups: Vec::new(),
        notes: Vec::new(),
        t0: Instant::now(),
        t0_epoch: settle::now_epoch(),
    };
    for node in 1..=2 {
        chaos.start_daemon(node);
    }
    // The first start: wait_for_all, dc-deadtime, probes, the first plan.
    if let Err(why) = chaos.settle(Instant::now(), Duration::from_secs(90)) {
        chaos.keep_logs(options, 0);
        return Err(LabError::Io {
            what: format!("the chaos lab's cluster never settled: {why}"),
            source: std::io::Error::other("unsettled at start"),
        });
    }
    if let Some(bindir) = &chaos.pg_bindir {
        chaos.writer = Some(pgsql::Writer::start(
            bindir,
            &chaos.cluster.lab.client_ns(),
        )?);
    }
    let mut outcomes = Vec::new();
    let sequence = Fault::sequence(options.seed, options.faults).into_iter();
    for (k, fault) in sequence.enumerate().skip(options.from.saturating_sub(1)) {
        let outcome = chaos.one(k + 1, fault, options);
        report(&outcome);
        let stuck = outcome.unsettled.is_some();
        outcomes.push(outcome);
        if stuck && chaos.settle(Instant::now(), options.settle_within).is_err() {
            // Not even a second bound: the rest would measure this fault.
            break;
        }
    }
    chaos.keep_logs(options, usize::MAX);
    let (config_changes, config_acknowledged) = chaos.ledger.counts();
    Ok(summary(
        options.seed,
        &outcomes,
        config_changes,
        config_acknowledged,
    ))
}

impl Chaos {
    /// A note with the time since the fault's injection.
    fn note(&mut self, what: String) {
        let ms = self.t0.elapsed().as_millis();
        self.notes.push(format!("+{ms} ms {what}"));
    }

    fn one(&mut self, index: usize, fault: Fault, options: &ChaosOptions) -> FaultOutcome {
        self.notes.clear();
        self.cleanups.clear();
        let marks: Vec<usize> = (1..=2).map(|i| self.cluster.log(i).len()).collect();
        let active = self.settled().unwrap_or(1);
        let node = fault.target().map(|t| match t {
            Target::Active => active,
            Target::Standby => 3 - active,
        });
        let at = node.unwrap_or(active);
        let t0 = Instant::now();
        self.t0 = t0;
        self.t0_epoch = settle::now_epoch();
        let mut violations = Vec::new();
        if let Err(e) = self.inject(&fault.kind, at) {
            self.note(format!("injection failed: {e}"));
        }
        let during = fault
            .config_during
            .map(|n| self.ledger.change_in_background(self.cluster.socket(n)));
        std::thread::sleep(Duration::from_millis(fault.hold_ms));
        self.heal(&fault.kind, at);
        if let Some(change) = during {
            let _ = change.join();
        }
        let settled = self.settle(t0, options.settle_within);
        violations.extend(self.sampler.take());
        if matches!(
            fault.kind,
            Kind::PowerLoss(_) | Kind::FenceOutage { power_loss: true }
        ) {
            violations.extend(self.recovered_before_fence(at, marks[usize::from(2 - at)]));
        }
        violations.extend(self.config_lost());
        violations.extend(self.writes_lost(settled.is_ok()));
        violations.extend(self.panics(&marks));
        if !self.cleanups.is_empty() {
            self.note(format!("cleaned up: {:?}", self.cleanups));
        }
        let outcome = FaultOutcome {
            index,
            fault,
            node,
            recovery_ms: settled.as_ref().ok().map(|d| d.as_millis() as u64),
            unsettled: settled.err(),
            violations,
            notes: self.notes.clone(),
        };
        if outcome.unsettled.is_some() || !outcome.violations.is_empty() {
            self.keep_logs(options, index);
        }
        outcome
    }

    /// In the survivor's log since the fault: nothing of `lost` started or
    /// promoted there before "fencing of <lost> confirmed".
    fn recovered_before_fence(&self, lost: u8, mark: usize) -> Vec<String> {
        let survivor = 3 - lost;
        let log = self.cluster.log(survivor);
        let since = log.get(mark..).unwrap_or_default();
        let confirmed = format!("fencing of node{lost} confirmed");
        let on = format!(" on node{survivor}: rc 0 ");
        let mut out = Vec::new();
        for line in since.lines() {
            if line.contains(&confirmed) {
                break;
            }
            let recovery = ["result vip start", "result worker start"]
                .iter()
                .any(|s| line.contains(s))
                || (line.contains("result db") && line.contains(" promote "));
            if recovery && line.contains(&on) {
                out.push(format!(
                    "node{survivor} recovered before node{lost}'s fence: {line}"
                ));
            }
        }
        out
    }

    /// Each node's document holds the last acknowledged configuration
    /// change (or a later one).
    fn config_lost(&self) -> Vec<String> {
        (1..=2u8)
            .filter_map(|i| {
                let value = ledger::current(&self.cluster.socket(i))?;
                self.ledger
                    .allows(value)
                    .err()
                    .map(|e| format!("node{i}: acknowledged configuration change lost: {e}"))
            })
            .collect()
    }

    /// The pgsql stack: acknowledged rows the primary lacks, once settled.
    fn writes_lost(&mut self, settled: bool) -> Vec<String> {
        let Some(writer) = self.writer.as_mut().filter(|_| settled) else {
            return Vec::new();
        };
        match writer.lost() {
            Ok(lost) if lost.is_empty() => Vec::new(),
            Ok(lost) => vec![format!(
                "acknowledged writes lost ({} of {}): {lost:?}",
                lost.len(),
                writer.acked()
            )],
            Err(why) => {
                let why = format!("the client's rows not read back: {why}");
                self.note(why);
                Vec::new()
            }
        }
    }

    fn panics(&self, marks: &[usize]) -> Vec<String> {
        (1..=2u8)
            .filter_map(|i| {
                let log = self.cluster.log(i);
                let since = log.get(marks[usize::from(i - 1)]..).unwrap_or_default();
                since
                    .lines()
                    .find(|l| l.contains("panicked"))
                    .map(|l| format!("node{i}'s daemon panicked: {l}"))
            })
            .collect()
    }

    fn keep_logs(&self, options: &ChaosOptions, index: usize) {
        let Some(dir) = &options.keep_logs else {
            return;
        };
        let _ = std::fs::create_dir_all(dir);
        for i in 1..=2u8 {
            let name = if index == usize::MAX {
                format!("seed{}-end-node{i}.log", options.seed)
            } else {
                format!("seed{}-fault{index}-node{i}.log", options.seed)
            };
            let to = dir.join(name);
            let _ = std::fs::write(to, self.cluster.log(i));
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() as u64 * p).div_ceil(100).max(1);
    sorted[(rank as usize - 1).min(sorted.len() - 1)]
}

fn summary(seed: u64, outcomes: &[FaultOutcome], changes: usize, acked: usize) -> Summary {
    let mut recovery: Vec<u64> = outcomes.iter().filter_map(|o| o.recovery_ms).collect();
    recovery.sort_unstable();
    Summary {
        seed,
        faults: outcomes.len(),
        violations: outcomes.iter().map(|o| o.violations.len()).sum(),
        recovery_ms_median: percentile(&recovery, 50),
        recovery_ms_p99: percentile(&recovery, 99),
        unsettled: outcomes.iter().filter(|o| o.unsettled.is_some()).count(),
        config_changes: changes,
        config_acknowledged: acked,
    }
}

/// Every fault of a seed as the bench prints it (`--list`).
pub fn describe(seed: u64, n: usize) -> Vec<String> {
    Fault::sequence(seed, n)
        .iter()
        .enumerate()
        .map(|(k, f)| format!("{:>4} {f}", k + 1))
        .collect()
}
