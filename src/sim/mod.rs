//! Deterministic simulator: virtual time, a virtual network with faults, and a
//! seeded RNG. It drives the membership machines today; the cluster-wide
//! machines (store, controller) plug in as further per-node components.

mod acknowledged;
pub mod cluster;
pub mod membership;
pub mod net;
pub mod rng;
pub mod scenario;
pub mod sites;
pub mod witness;

pub use cluster::{ClusterOptions, ClusterSim};
pub use membership::{MembershipSim, SimOptions};
pub use net::{NetFaults, Network};
pub use rng::SimRng;

/// Runs `check` for `count` seeds starting at `first`, or only for the seed in
/// `PACELINE_SIM_SEED` if set. A failure names the seed so it replays exactly.
pub fn for_seeds(first: u64, count: u64, check: impl Fn(u64) + std::panic::RefUnwindSafe) {
    let seeds: Vec<u64> = match std::env::var("PACELINE_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => (first..first + count).collect(),
    };
    for seed in seeds {
        if let Err(panic) = std::panic::catch_unwind(|| check(seed)) {
            eprintln!("simulation failed for seed {seed}; replay with PACELINE_SIM_SEED={seed}");
            std::panic::resume_unwind(panic);
        }
    }
}
