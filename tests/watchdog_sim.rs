//! The watchdog feeding policy driven by real membership machines in the
//! simulator: random partitions and crashes of 3- and 5-node clusters, each
//! node with a simulated watchdog fed by `should_feed`. Safety: whenever a
//! quorate survivor has seen a node gone for 2 x watchdog_timeout (the moment
//! it may treat it as fenced), that node must have been reset by its watchdog
//! (or have crashed), or never have been quorate (then it started nothing:
//! it keeps feeding, as sbd does before its first quorum). Replays with
//! PACELINE_SIM_SEED=<seed>.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use paceline::membership::PeerState;
use paceline::sim::{MembershipSim, NetFaults, SimOptions, SimRng, for_seeds};
use paceline::wire::NodeId;
use paceline_fencing::watchdog_policy::{NodeHealth, is_watchdog_fenced, should_feed};

const STEP: Duration = Duration::from_millis(20);
const WATCHDOG: Duration = Duration::from_secs(2);

struct Run {
    sim: MembershipSim,
    nodes: u16,
    last_fed: BTreeMap<NodeId, Duration>,
    /// Nodes the watchdog reset or the scenario crashed, with when.
    dead: BTreeMap<NodeId, Duration>,
    /// Nodes that have been in a quorate partition (only they can have
    /// started anything).
    ever_quorate: BTreeSet<NodeId>,
    /// (survivor, lost node) -> since when the survivor, while quorate, has
    /// not had it in its view.
    lost_since: BTreeMap<(NodeId, NodeId), Duration>,
    /// The (survivor, lost node) pairs already judged at the deadline.
    counted: BTreeSet<(NodeId, NodeId)>,
    resets: u32,
}

impl Run {
    fn new(seed: u64, nodes: u16) -> Run {
        let sim = MembershipSim::new(
            seed,
            SimOptions {
                nodes,
                faults: NetFaults {
                    min_delay: Duration::from_micros(100),
                    max_delay: Duration::from_millis(20),
                    loss: 0.05,
                    ..NetFaults::default()
                },
                ..SimOptions::default()
            },
        );
        Run {
            sim,
            nodes,
            last_fed: (1..=nodes).map(|n| (n, Duration::ZERO)).collect(),
            dead: BTreeMap::new(),
            ever_quorate: BTreeSet::new(),
            lost_since: BTreeMap::new(),
            counted: BTreeSet::new(),
            resets: 0,
        }
    }

    fn step(&mut self) {
        self.sim.run_for(STEP);
        let now = self.sim.now();
        for n in 1..=self.nodes {
            if self.dead.contains_key(&n) {
                continue;
            }
            let Some(m) = self.sim.machine(n) else {
                continue;
            };
            let status = m.status();
            if status.quorum.quorate {
                self.ever_quorate.insert(n);
            }
            let health = NodeHealth {
                healthy: true,
                quorate: status.quorum.quorate,
                sees_peer: self.nodes == 2
                    && status.peers.iter().any(|p| p.state == PeerState::Online),
                never_quorate: !self.ever_quorate.contains(&n),
            };
            if should_feed(health) {
                self.last_fed.insert(n, now);
            } else if now.saturating_sub(self.last_fed[&n]) > WATCHDOG {
                self.sim.crash(n);
                self.dead.insert(n, now);
                self.resets += 1;
            }
        }
        for s in 1..=self.nodes {
            if self.dead.contains_key(&s) {
                continue;
            }
            let Some(m) = self.sim.machine(s) else {
                continue;
            };
            let quorate = m.quorum_status().quorate;
            let members: BTreeSet<NodeId> = self
                .sim
                .view(s)
                .map(|v| v.members.iter().copied().collect())
                .unwrap_or_default();
            for x in 1..=self.nodes {
                if x == s {
                    continue;
                }
                if quorate && !members.contains(&x) {
                    let since = *self.lost_since.entry((s, x)).or_insert(now);
                    // Judged when the survivor may first count it fenced:
                    // a node never quorate until then started nothing, and
                    // may join later as any node does.
                    if is_watchdog_fenced(now, since, WATCHDOG) && self.counted.insert((s, x)) {
                        assert!(
                            self.dead.contains_key(&x) || !self.ever_quorate.contains(&x),
                            "node {s} may treat node {x} as fenced at {now:?} (lost since {since:?}) but node {x} is alive and was fed at {:?}",
                            self.last_fed[&x]
                        );
                    }
                } else {
                    self.lost_since.remove(&(s, x));
                    self.counted.remove(&(s, x));
                }
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.sim.now() + d;
        while self.sim.now() < end {
            self.step();
        }
    }
}

fn random_split(rng: &mut SimRng, nodes: u16) -> Vec<Vec<NodeId>> {
    let mut a = Vec::new();
    let mut b = Vec::new();
    for n in 1..=nodes {
        if rng.next_u64() % 2 == 0 {
            a.push(n);
        } else {
            b.push(n);
        }
    }
    vec![a, b]
}

fn scenario(seed: u64, nodes: u16) -> u32 {
    let mut run = Run::new(seed, nodes);
    let mut rng = SimRng::new(seed ^ 0x5eed);
    run.run_for(Duration::from_secs(3));
    for _ in 0..4 {
        match rng.next_u64() % 3 {
            0 => {
                let groups = random_split(&mut rng, nodes);
                let refs: Vec<&[NodeId]> = groups.iter().map(|g| g.as_slice()).collect();
                run.sim.net.partition(&refs);
            }
            1 => {
                let n = (rng.next_u64() % u64::from(nodes)) as NodeId + 1;
                if !run.dead.contains_key(&n) {
                    run.sim.crash(n);
                    run.dead.insert(n, run.sim.now());
                }
            }
            _ => run.sim.net.heal(),
        }
        let hold = Duration::from_millis(500 + rng.next_u64() % 6000);
        run.run_for(hold);
    }
    run.sim.net.heal();
    run.run_for(Duration::from_secs(6));
    run.resets
}

#[test]
fn a_node_counted_as_watchdog_fenced_has_really_reset_three_nodes() {
    let resets = std::sync::atomic::AtomicU32::new(0);
    for_seeds(9000, 25, |seed| {
        resets.fetch_add(scenario(seed, 3), std::sync::atomic::Ordering::Relaxed);
    });
    // The scenarios must actually exercise resets, or the check proves nothing.
    assert!(resets.into_inner() > 5);
}

#[test]
fn a_node_counted_as_watchdog_fenced_has_really_reset_five_nodes() {
    let resets = std::sync::atomic::AtomicU32::new(0);
    for_seeds(9500, 15, |seed| {
        resets.fetch_add(scenario(seed, 5), std::sync::atomic::Ordering::Relaxed);
    });
    assert!(resets.into_inner() > 5);
}

/// A node cut off from the others from its start (it boots while its
/// links are down) never gets quorum: it keeps feeding its watchdog, so it
/// is not reset over and over, and it starts nothing; the others, quorate,
/// count it fenced at their deadline. Once the links heal it joins, and
/// from then on losing quorum resets it.
#[test]
fn a_node_cut_off_from_its_start_is_not_reset_until_it_has_been_quorate() {
    for_seeds(9700, 10, |seed| {
        let mut run = Run::new(seed, 3);
        run.sim.net.partition(&[&[1, 2], &[3]]);
        run.run_for(WATCHDOG * 5);
        assert!(
            !run.dead.contains_key(&3),
            "node 3 was reset before it was ever quorate"
        );
        assert!(!run.ever_quorate.contains(&3));
        run.sim.net.heal();
        run.run_for(Duration::from_secs(3));
        assert!(run.ever_quorate.contains(&3), "node 3 never joined");
        run.sim.net.partition(&[&[1, 2], &[3]]);
        run.run_for(WATCHDOG * 3);
        assert!(
            run.dead.contains_key(&3),
            "node 3 lost quorum and was not reset"
        );
    });
}
