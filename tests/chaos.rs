//! The randomized fault lab (`paceline::lab::chaos`, `bench/chaos`) on a
//! short fixed seed: ten faults into two real daemons in network
//! namespaces; after each the cluster settles, and no check fails (never
//! two VIP holders, primaries or workers; nothing recovered before its
//! fence; no acknowledged configuration change lost; no panic). The bound
//! only ends a cluster that does not settle: recovery times are the
//! bench's. Needs root, iproute2, nftables and tc.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use paceline::lab::chaos::{self, ChaosOptions, ChaosStack, FaultOutcome};

/// Seed 4's first ten faults: power losses of either node (one while the
/// fence devices are out), splits with either node cut off, a one-way cut,
/// a pause past the token timeout, a failing restart of the worker, a
/// clean stop, congestion, and configuration changes meanwhile
/// (`bench/chaos --list --seed 4 --faults 10`).
const SEED: u64 = 4;
const FAULTS: usize = 10;

fn can_run() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    let tools = ["ip", "nft", "tc"]
        .iter()
        .all(|t| Command::new(t).arg("-V").output().is_ok());
    if !root || !tools {
        eprintln!("skipping: the chaos lab needs root, iproute2 (ip, tc) and nftables");
    }
    root && tools
}

#[test]
fn a_short_seed_of_faults_settles_every_time_and_breaks_no_rule() {
    if !can_run() {
        return;
    }
    let options = ChaosOptions {
        stack: ChaosStack::Dummy,
        faults: FAULTS,
        from: 1,
        seed: SEED,
        settle_within: Duration::from_secs(60),
        pacelined: PathBuf::from(env!("CARGO_BIN_EXE_pacelined")),
        paceline: PathBuf::from(env!("CARGO_BIN_EXE_paceline")),
        tag: "tch".into(),
        // Both nodes' logs of a fault that fails a check.
        keep_logs: Some(std::env::temp_dir().join("paceline-chaos-test")),
    };
    let mut outcomes: Vec<FaultOutcome> = Vec::new();
    let summary = chaos::run(&options, &mut |o| {
        eprintln!(
            "fault {}: {} [{:?}]: {:?} ms {:?} {:?}",
            o.index, o.fault, o.node, o.recovery_ms, o.unsettled, o.notes
        );
        outcomes.push(o.clone());
    })
    .expect("the chaos lab runs");
    eprintln!("{}", summary.json());
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.unsettled.is_some() || !o.violations.is_empty())
        .map(|o| {
            format!(
                "fault {} ({}): {:?} {:?}",
                o.index, o.fault, o.unsettled, o.violations
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{failed:#?}\nlogs in {}; replay one with bench/chaos --seed {SEED} --faults N --from N",
        std::env::temp_dir().join("paceline-chaos-test").display()
    );
    assert_eq!(summary.faults, FAULTS, "every fault ran");
}
