//! bench/chaos: the randomized fault lab (`paceline::lab::chaos`) on real
//! daemons in the namespace lab. `--faults N --seed S` injects the first N
//! faults of seed S, prints each with its recovery time (injection to the
//! cluster settled again) and what broke, and ends with one JSON line:
//! faults, violations, recovery_ms_median, recovery_ms_p99, unsettled.
//! A seed is one sequence of faults: a failing seed replays (`--list`
//! prints the sequence without running it). `--stack pgsql` runs real
//! PostgreSQL (resource-agents' pgsql, synchronous replication) with a
//! client writing numbered rows through the VIP, and checks that none it
//! had acknowledged is lost. Needs root.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use paceline::lab::chaos::{self, ChaosOptions, ChaosStack, FaultOutcome};

#[derive(Parser)]
#[command(name = "bench/chaos", about = "The randomized fault lab")]
struct Args {
    /// What plays the database: dummy (a promotable builtin:dummy) or
    /// pgsql (real PostgreSQL, a client writing through the VIP).
    #[arg(long, default_value = "dummy")]
    stack: ChaosStack,
    /// How many faults.
    #[arg(long, default_value_t = 20)]
    faults: usize,
    /// Start at this fault of the sequence (1-based), from a fresh cluster.
    #[arg(long, default_value_t = 1)]
    from: usize,
    /// The sequence's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds the cluster has to settle after each fault.
    #[arg(long, default_value_t = 90)]
    settle: u64,
    /// Copy both nodes' logs of a fault that failed a check here.
    #[arg(long)]
    keep_logs: Option<PathBuf>,
    /// Print the seed's faults and exit.
    #[arg(long)]
    list: bool,
}

/// A binary next to this example's directory: target/<profile>/<name>.
fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join(name))
        .expect("target dir")
}

fn print(o: &FaultOutcome) {
    let on = o.node.map(|n| format!(" [node{n}]")).unwrap_or_default();
    let result = match (o.recovery_ms, &o.unsettled) {
        (Some(ms), _) => format!("settled in {ms} ms"),
        (None, Some(why)) => format!("UNSETTLED: {why}"),
        (None, None) => "UNSETTLED".into(),
    };
    println!("fault {:>4}: {}{on}: {result}", o.index, o.fault);
    for v in &o.violations {
        println!("  VIOLATION: {v}");
    }
    for n in &o.notes {
        println!("  note: {n}");
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for line in chaos::describe(args.seed, args.faults) {
            println!("{line}");
        }
        return ExitCode::SUCCESS;
    }
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("bench/chaos needs root (network namespaces)");
        return ExitCode::from(2);
    }
    let options = ChaosOptions {
        stack: args.stack,
        faults: args.faults,
        from: args.from,
        seed: args.seed,
        settle_within: Duration::from_secs(args.settle),
        pacelined: bin("pacelined"),
        paceline: bin("paceline"),
        tag: "cha".into(),
        keep_logs: args.keep_logs,
    };
    println!(
        "bench/chaos: seed {}, {} faults, stack {:?}, two nodes of the namespace lab, power-board fencing",
        args.seed, args.faults, args.stack
    );
    match chaos::run(&options, &mut print) {
        Ok(summary) => {
            println!("{}", summary.json());
            if summary.violations == 0 && summary.unsettled == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("bench/chaos: {e}");
            ExitCode::FAILURE
        }
    }
}
