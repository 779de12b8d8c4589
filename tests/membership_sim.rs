//! Membership over the simulated network, across many seeds.

use std::collections::BTreeSet;
use std::time::Duration;

use paceline::membership::{Notice, QuorumConfig};
use paceline::sim::{MembershipSim, NetFaults, SimOptions, for_seeds};
use paceline::wire::NodeId;

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

/// Issue 15: a dead peer's datagrams, captured from the network (no key
/// needed) and replayed after the cluster restarted, made it a member again
/// and, on a cold start, satisfied wait_for_all: the lone node became
/// quorate. Now a peer counts only once its heartbeat echoes this node's
/// current incarnation with a recent stamp, which no recording contains.
#[test]
fn replayed_datagrams_of_a_dead_peer_do_not_make_it_a_member_after_a_restart() {
    for_seeds(1500, 20, |seed| {
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                nodes: 2,
                ..SimOptions::default()
            },
        );
        sim.record(2);
        sim.run_for(MS(3000));
        assert!(sim.machine(1).unwrap().quorum_status().quorate);
        // The whole cluster goes down; node 1 comes back alone (cold start).
        sim.crash(2);
        sim.crash(1);
        sim.start(1);
        let restarted = sim.now();
        let captured: Vec<(Duration, u16, Vec<u8>)> = std::mem::take(&mut sim.recorded);
        let first = captured.first().map(|c| c.0).unwrap_or_default();
        for (at, to, bytes) in captured {
            if to == 1 {
                sim.inject(at - first, 1, bytes);
            }
        }
        sim.run_for(MS(4000));
        let machine = sim.machine(1).unwrap();
        assert_eq!(sim.view(1).unwrap().members, [1].into(), "seed {seed}");
        let q = machine.quorum_status();
        assert!(!q.quorate && q.waiting_for_all, "seed {seed}: {q:?}");
        assert!(
            !sim.log.iter().any(|r| r.at >= restarted
                && r.node == 1
                && matches!(&r.notice, Notice::ViewInstalled(v) if v.members.contains(&2))),
            "seed {seed}: the replayed peer was a member at some point"
        );
    });
}

/// Issue 15: the incarnation was the start time, so a node restarted with a
/// lower one (its clock set back, or its state directory reset) was refused
/// by its peers for good. Now the peer proves liveness and is taken back
/// once the old process is gone.
#[test]
fn a_node_restarted_with_a_lower_incarnation_rejoins() {
    for_seeds(1600, 20, |seed| {
        let mut sim = MembershipSim::new(seed, SimOptions::default());
        sim.run_for(MS(3000));
        sim.crash(3);
        sim.run_for(MS(2000));
        sim.start_as(3, 1);
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2, 3]]);
    });
}

/// Issue 15: one authentic datagram with a huge incarnation made every
/// later datagram of its sender look like a replay: the node was cut off
/// for good. Now an incarnation is taken only on proof of liveness.
#[test]
fn one_packet_with_a_huge_incarnation_does_not_cut_a_node_off() {
    use paceline::wire::{Heartbeat, Message, ViewSummary};
    for_seeds(1700, 20, |seed| {
        let mut sim = MembershipSim::new(seed, SimOptions::default());
        sim.run_for(MS(3000));
        let hb = Message::Heartbeat(Heartbeat {
            link: 0,
            stamp: 1,
            heard: vec![],
            view: ViewSummary {
                id: 1,
                members: vec![2],
            },
            keys: vec![],
            speaks: paceline::wire::VersionRange::SPOKEN,
        });
        let bytes = sim.seal_as(2, u64::MAX, &hb);
        sim.inject(MS(0), 1, bytes);
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2, 3]]);
        assert!(
            !sim.log
                .iter()
                .any(|r| r.at >= MS(3000) && r.notice == Notice::NodeLost(2)),
            "seed {seed}"
        );
    });
}

/// Issue 15: changing the authkey partitioned the cluster. Each node
/// reloads the new key in turn; both keys are accepted meanwhile, the new
/// one is sent with once every member has it, the old one retired after.
#[test]
fn a_two_node_cluster_stays_up_through_a_key_rotation() {
    use paceline::wire::ClusterKey;
    for_seeds(1800, 20, |seed| {
        let mut sim = MembershipSim::new(
            seed,
            SimOptions {
                nodes: 2,
                faults: lossy(),
                ..SimOptions::default()
            },
        );
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2]]);
        let view = sim.view(1).unwrap();
        let old = sim.key_ids(1)[0];
        let new = ClusterKey::derive(&[43u8; 32], "sim").unwrap();
        sim.reload_key(1, new.clone());
        sim.run_for(MS(2000));
        assert_eq!(sim.key_ids(1), vec![old, new.id()], "node 2 lacks it yet");
        sim.reload_key(2, new.clone());
        sim.run_for(MS(3000));
        for n in [1, 2] {
            assert_eq!(sim.key_ids(n), vec![new.id()], "seed {seed} node {n}");
            assert_eq!(sim.view(n).unwrap(), view, "seed {seed}: the view changed");
        }
        // A node restarted afterwards reads the new file and rejoins.
        sim.crash(2);
        sim.start(2);
        sim.run_for(MS(3000));
        sim.assert_groups_agree(&[&[1, 2]]);
    });
}

// ----- The witness (issue 19): two nodes and a virtual etcd -----

fn with_witness(seed: u64, faults: NetFaults) -> MembershipSim {
    let mut quorum = QuorumConfig::with_defaults([(1, 1), (2, 1)].into());
    quorum.witness = true;
    quorum.two_node = false;
    quorum.wait_for_all = false;
    MembershipSim::new(
        seed,
        SimOptions {
            nodes: 2,
            faults,
            quorum: Some(quorum),
            witness_ttl: Duration::from_secs(2),
            ..SimOptions::default()
        },
    )
}

fn quorate(sim: &MembershipSim, n: NodeId) -> bool {
    sim.machine(n).is_some_and(|m| m.quorum_status().quorate)
}

/// Both halves of a split are never quorate at once: two running nodes
/// (not paused, whose state is stale until they run) with views that
/// share no member.
fn assert_one_quorate_side(sim: &MembershipSim, seed: u64) {
    let sides: Vec<(NodeId, BTreeSet<NodeId>)> = [1, 2]
        .into_iter()
        .filter(|&n| !sim.paused(n) && quorate(sim, n))
        .filter_map(|n| sim.view(n).map(|v| (n, v.members)))
        .collect();
    if let [(_, a), (_, b)] = sides.as_slice() {
        assert!(
            !a.is_disjoint(b) || a.is_empty(),
            "seed {seed}: both sides quorate at {:?}: {sides:?}",
            sim.now()
        );
    }
}

/// Runs `duration` in 5 ms steps, checking at each.
fn run_checked(sim: &mut MembershipSim, duration: Duration, seed: u64) {
    let end = sim.now() + duration;
    while sim.now() < end {
        sim.run_for(MS(5));
        assert_one_quorate_side(sim, seed);
    }
}

fn holder(sim: &MembershipSim) -> Option<NodeId> {
    let w = sim.witness.as_ref()?;
    w.key(sim.now()).map(|k| k.holder)
}

#[test]
fn witness_split_only_the_holders_side_is_quorate() {
    for_seeds(1900, 20, |seed| {
        let mut sim = with_witness(seed, lossy());
        run_checked(&mut sim, MS(3000), seed);
        assert!(quorate(&sim, 1) && quorate(&sim, 2));
        assert_eq!(holder(&sim), Some(1), "the DC holds the witness");
        sim.net.partition(&[&[1], &[2]]);
        run_checked(&mut sim, MS(6000), seed);
        sim.assert_groups_agree(&[&[1], &[2]]);
        assert!(quorate(&sim, 1), "seed {seed}: the holder keeps quorum");
        assert!(!quorate(&sim, 2), "seed {seed}: the other side has none");
        sim.net.heal();
        run_checked(&mut sim, MS(3000), seed);
        assert!(quorate(&sim, 1) && quorate(&sim, 2));
    });
}

#[test]
fn witness_holder_cut_off_in_a_split_hands_over_after_its_lease() {
    for_seeds(2000, 20, |seed| {
        let mut sim = with_witness(seed, lossy());
        run_checked(&mut sim, MS(3000), seed);
        let split = sim.now();
        sim.net.partition(&[&[1], &[2]]);
        if let Some(w) = sim.witness.as_mut() {
            w.cut_off.insert(1);
        }
        run_checked(&mut sim, MS(8000), seed);
        assert!(!quorate(&sim, 1), "seed {seed}: node 1's vote lapsed");
        assert!(quorate(&sim, 2), "seed {seed}: node 2 took the witness");
        let took = sim
            .log
            .iter()
            .find(|r| r.node == 2 && r.at > split && r.notice == Notice::QuorumChanged(true))
            .map(|r| r.at - split)
            .expect("node 2 became quorate");
        assert!(
            took >= MS(1000),
            "seed {seed}: node 2 quorate {took:?} after the split, before node 1's lease could expire"
        );
    });
}

#[test]
fn witness_lost_while_both_nodes_are_up_changes_nothing() {
    for_seeds(2100, 10, |seed| {
        let mut sim = with_witness(seed, lossy());
        sim.run_for(MS(3000));
        let since = sim.now();
        if let Some(w) = sim.witness.as_mut() {
            w.down = true;
        }
        run_checked(&mut sim, MS(6000), seed);
        assert!(quorate(&sim, 1) && quorate(&sim, 2));
        assert!(
            !sim.log
                .iter()
                .any(|r| r.at > since && r.notice == Notice::QuorumChanged(false)),
            "seed {seed}: quorum wavered"
        );
    });
}

#[test]
fn witness_lets_a_node_start_alone_and_only_with_it() {
    for_seeds(2200, 10, |seed| {
        let mut sim = with_witness(seed, lossy());
        sim.crash(2);
        sim.run_for(MS(3000));
        assert!(quorate(&sim, 1), "seed {seed}: alone with the witness");
        let mut sim = with_witness(seed, lossy());
        if let Some(w) = sim.witness.as_mut() {
            w.down = true;
        }
        sim.crash(2);
        sim.run_for(MS(3000));
        assert!(!quorate(&sim, 1), "seed {seed}: alone without it");
    });
}

#[test]
fn witness_out_of_reach_of_both_sides_of_a_split_makes_neither_quorate() {
    for_seeds(2300, 10, |seed| {
        let mut sim = with_witness(seed, lossy());
        sim.run_for(MS(3000));
        sim.net.partition(&[&[1], &[2]]);
        if let Some(w) = sim.witness.as_mut() {
            w.down = true;
        }
        run_checked(&mut sim, MS(6000), seed);
        assert!(!quorate(&sim, 1) && !quorate(&sim, 2), "seed {seed}");
    });
}

/// Random splits, heals, etcd cut-offs and outages, pauses, crashes and
/// restarts: never both sides quorate.
#[test]
fn witness_never_gives_both_sides_of_a_split_quorum() {
    for_seeds(2400, 15, |seed| {
        let mut sim = with_witness(seed, lossy());
        let mut rng = paceline::sim::SimRng::new(seed);
        for _ in 0..25 {
            match rng.between(0, 7) {
                0 => sim.net.partition(&[&[1], &[2]]),
                1 => sim.net.heal(),
                2 | 3 => {
                    let n = 1 + rng.between(0, 2) as NodeId;
                    if let Some(w) = sim.witness.as_mut()
                        && !w.cut_off.remove(&n)
                    {
                        w.cut_off.insert(n);
                    }
                }
                4 => {
                    if let Some(w) = sim.witness.as_mut() {
                        w.down = !w.down;
                    }
                }
                5 => sim.pause(1 + rng.between(0, 2) as NodeId, MS(rng.between(500, 4000))),
                _ => {
                    let n = 1 + rng.between(0, 2) as NodeId;
                    if sim.machine(n).is_some() {
                        sim.crash(n);
                    } else {
                        sim.start(n);
                    }
                }
            }
            run_checked(&mut sim, MS(rng.between(200, 3000)), seed);
        }
    });
}

/// The witness's wait_for_all: a node that slept while its peer ran alone
/// (and acknowledged changes alone) does not take the free witness after
/// a cold start; one that was in the last holding partition does.
#[test]
fn witness_goes_to_a_lone_node_only_if_it_was_in_the_last_holding_partition() {
    for_seeds(2500, 10, |seed| {
        let mut sim = with_witness(seed, lossy());
        sim.run_for(MS(3000));
        sim.crash(2);
        sim.run_for(MS(4000));
        assert!(quorate(&sim, 1), "seed {seed}: node 1 alone holds it");
        sim.crash(1);
        sim.start(2);
        run_checked(&mut sim, MS(8000), seed);
        assert!(
            !quorate(&sim, 2),
            "seed {seed}: node 2 slept through node 1's changes"
        );
        sim.start(1);
        run_checked(&mut sim, MS(3000), seed);
        assert!(quorate(&sim, 1) && quorate(&sim, 2), "seed {seed}");
        // Both were in the last partition: after a power outage of both,
        // either may start alone (once the old lease expired).
        sim.crash(1);
        sim.crash(2);
        sim.start(2);
        run_checked(&mut sim, MS(8000), seed);
        assert!(
            quorate(&sim, 2),
            "seed {seed}: node 2 was in the last partition"
        );
    });
}
