//! Membership over the simulated network, across many seeds.

use std::time::Duration;

use paceline::membership::Notice;
use paceline::sim::{MembershipSim, NetFaults, SimOptions, for_seeds};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn lossy() -> NetFaults {
    NetFaults {
        loss: 0.05,
        duplicate: 0.05,
        min_delay: MS(0),
        max_delay: MS(20),
    }
}

#[test]
fn partition_members_agree_after_formation_despite_loss_duplication_reordering() {
    for_seeds(0, 60, |seed| {
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                faults: lossy(),
                ..SimOptions::default()
            },
        );
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2, 3]]);
        for n in 1..=3 {
            assert!(
                sim.machine(n).unwrap().quorum_status().quorate,
                "seed {seed} node {n}"
            );
        }
    });
}

#[test]
fn crashed_node_is_removed_within_token_timeout_plus_one_heartbeat() {
    for_seeds(100, 60, |seed| {
        let opts = SimOptions::default();
        let bound = opts.token_timeout + opts.heartbeat + opts.faults.max_delay;
        let mut sim = MembershipSim::new(seed, opts);
        sim.run_for(MS(2000 + seed % 200));
        sim.assert_groups_agree(&[&[1, 2, 3]]);
        let crashed_at = sim.now();
        sim.crash(3);
        sim.run_for(MS(3000));
        for survivor in [1, 2] {
            let removed = sim
                .log
                .iter()
                .find(|r| {
                    r.node == survivor && r.at >= crashed_at && r.notice == Notice::NodeLost(3)
                })
                .unwrap_or_else(|| panic!("node {survivor} never noticed the crash"));
            assert!(
                removed.at - crashed_at <= bound,
                "took {:?} > {bound:?}",
                removed.at - crashed_at
            );
        }
        sim.assert_groups_agree(&[&[1, 2]]);
    });
}

#[test]
fn no_false_loss_while_messages_arrive_within_their_deadline() {
    for_seeds(200, 40, |seed| {
        // Delays up to 600 ms with reordering and duplicates, never loss:
        // every heartbeat arrives long before token_timeout.
        let faults = NetFaults {
            loss: 0.0,
            duplicate: 0.1,
            min_delay: MS(0),
            max_delay: MS(600),
        };
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                faults,
                ..SimOptions::default()
            },
        );
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2, 3]]);
        let formed = sim.now();
        sim.run_for(MS(10_000));
        let lost = sim
            .log
            .iter()
            .find(|r| r.at > formed && matches!(r.notice, Notice::NodeLost(_)));
        assert!(lost.is_none(), "false loss: {lost:?}");
    });
}

#[test]
fn partition_two_plus_one_keeps_quorum_on_the_majority_side_only() {
    for_seeds(300, 40, |seed| {
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                faults: lossy(),
                ..SimOptions::default()
            },
        );
        sim.run_for(MS(3000));
        sim.net.partition(&[&[1, 2], &[3]]);
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2], &[3]]);
        assert!(sim.machine(1).unwrap().quorum_status().quorate);
        assert!(sim.machine(2).unwrap().quorum_status().quorate);
        assert!(!sim.machine(3).unwrap().quorum_status().quorate);
        let before = sim.view(1).unwrap().id;
        sim.net.heal();
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2, 3]]);
        assert!(
            sim.view(3).unwrap().id > before,
            "the healed view must be newer"
        );
    });
}

#[test]
fn a_node_stays_alive_over_its_other_link() {
    for_seeds(400, 30, |seed| {
        let mut sim = MembershipSim::new(seed, SimOptions::default());
        sim.run_for(MS(2000));
        let formed = sim.now();
        sim.net.set_link(3, 0, false);
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2, 3]]);
        assert!(
            sim.log
                .iter()
                .any(|r| r.at > formed && r.notice == Notice::LinkDown { node: 3, link: 0 })
        );
        assert!(
            !sim.log
                .iter()
                .any(|r| r.at > formed && matches!(r.notice, Notice::NodeLost(_)))
        );
    });
}

#[test]
fn restarted_node_rejoins_through_a_new_view_and_clean_leave_is_not_a_loss() {
    for_seeds(500, 30, |seed| {
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                faults: lossy(),
                ..SimOptions::default()
            },
        );
        sim.run_for(MS(3000));
        let old = sim.view(1).unwrap().id;
        sim.crash(2);
        sim.start(2);
        sim.run_for(MS(4000));
        sim.assert_groups_agree(&[&[1, 2, 3]]);
        assert!(sim.view(2).unwrap().id > old);
        let before = sim.now();
        sim.leave(3);
        sim.run_for(MS(300));
        let saw_left = sim
            .log
            .iter()
            .any(|r| r.at >= before && r.notice == Notice::NodeLeft(3));
        let saw_lost = sim
            .log
            .iter()
            .any(|r| r.at >= before && r.notice == Notice::NodeLost(3));
        // Leave messages may be lost on a lossy network; then it is a loss later.
        assert!(saw_left || !saw_lost);
    });
}

#[test]
fn one_way_link_gives_symmetric_views_and_heals() {
    for_seeds(600, 30, |seed| {
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                nodes: 2,
                ..SimOptions::default()
            },
        );
        sim.run_for(MS(2000));
        sim.net.block_one_way(1, 2);
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1], &[2]]);
        sim.net.heal();
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2]]);
    });
}

#[test]
fn paused_node_drops_its_stale_view_and_rejoins() {
    for_seeds(700, 30, |seed| {
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                nodes: 2,
                ..SimOptions::default()
            },
        );
        sim.run_for(MS(2000));
        assert!(sim.machine(1).unwrap().quorum_status().quorate);
        let id = sim.view(1).unwrap().id;
        sim.pause(1, MS(2500));
        sim.run_for(MS(2600));
        assert!(
            sim.log
                .iter()
                .any(|r| r.node == 1 && matches!(r.notice, Notice::Paused { .. }))
        );
        assert!(
            !sim.machine(1).unwrap().quorum_status().quorate,
            "acted on a stale view"
        );
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2]]);
        assert!(sim.view(1).unwrap().id > id + 1);
        assert!(sim.machine(1).unwrap().quorum_status().quorate);
    });
}

#[test]
fn two_node_cluster_waits_for_all_then_survives_a_peer_loss() {
    for_seeds(800, 20, |seed| {
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                nodes: 2,
                ..SimOptions::default()
            },
        );
        sim.crash(2);
        sim.run_for(MS(3000));
        let q = sim.machine(1).unwrap().quorum_status();
        assert!(!q.quorate && q.waiting_for_all, "{q:?}");
        sim.start(2);
        sim.run_for(MS(2000));
        assert!(sim.machine(1).unwrap().quorum_status().quorate);
        sim.crash(2);
        sim.run_for(MS(2000));
        assert!(
            sim.machine(1).unwrap().quorum_status().quorate,
            "two_node keeps quorum with one"
        );
    });
}
