//! Tickets granted to at most one site through etcd (issue 19), in the
//! simulator: two sites of two nodes running `node::site_tickets`' rules
//! against a virtual etcd, under DC crashes (and the crashed node's
//! return), site power losses, sites cut off from etcd (as the minority
//! side of etcd's own quorum is) and etcd outages. Never active at two
//! sites at once; after the faults heal, one site runs the ticket's
//! resources; a DC change does not stop them.

use std::time::Duration;

use paceline::sim::sites::{SitesOptions, SitesSim};

#[test]
fn one_site_takes_the_ticket_and_keeps_it() {
    let mut sim = SitesSim::new(1, SitesOptions::default());
    sim.run(Duration::from_secs(30), false).unwrap();
    assert_eq!(sim.runs.len(), 1, "{:?}", sim.runs);
    assert!(sim.running().is_some());
}

#[test]
fn the_ticket_is_never_active_at_two_sites_under_chaos() {
    let seeds = std::env::var("PACELINE_SITE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200u64);
    let mut moves = 0;
    for seed in 0..seeds {
        let mut sim = SitesSim::new(seed, SitesOptions::default());
        if let Err(e) = sim.run(Duration::from_secs(120), true) {
            panic!("seed {seed}: {e}");
        }
        sim.heal();
        sim.run(Duration::from_secs(30), false)
            .unwrap_or_else(|e| panic!("seed {seed} healing: {e}"));
        assert!(
            sim.running().is_some(),
            "seed {seed}: nobody runs it after healing; faults {:?}",
            sim.log
        );
        moves += sim.runs.len();
    }
    println!("{seeds} seeds, {moves} starts in all");
}

#[test]
fn the_ticket_moves_when_its_site_is_lost() {
    // No faults but one: the holder is cut off from etcd for good.
    let mut sim = SitesSim::new(7, SitesOptions::default());
    sim.run(Duration::from_secs(10), false).unwrap();
    let first = sim.running().unwrap().to_string();
    sim.cut_off(&first);
    sim.run(Duration::from_secs(20), false).unwrap();
    let second = sim.running().unwrap().to_string();
    assert_ne!(first, second, "{:?}", sim.runs);
}

/// Issue 19: a DC change at a site stopped and restarted the ticket's
/// resources (the new DC revoked until its first claim was answered).
/// The new DC followed the ticket before, so they run on: when the DC
/// crashes, and again when the crashed node (the lowest id) comes back
/// and becomes DC again.
#[test]
fn a_dc_change_does_not_restart_the_ticket_s_resources() {
    let mut sim = SitesSim::new(3, SitesOptions::default());
    sim.run(Duration::from_secs(10), false).unwrap();
    let holder = sim.running().unwrap().to_string();
    assert_eq!(sim.runs.len(), 1, "{:?}", sim.runs);
    let election = Duration::from_millis(1_500);
    sim.crash_dc(&holder, election, Duration::from_secs(5));
    sim.run(Duration::from_secs(20), false).unwrap();
    assert_eq!(sim.running(), Some(holder.as_str()));
    assert_eq!(sim.runs.len(), 1, "restarted: {:?}", sim.runs);
}
