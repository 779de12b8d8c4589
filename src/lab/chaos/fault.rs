//! The faults the chaos lab injects, and how a seed draws them. The draw
//! depends on the seed alone, never on what the cluster did: the same seed
//! is the same sequence of faults (which node is "active" is looked up when
//! the fault is injected).

use std::fmt;

use super::rng::ChaosRng;

/// Which node a fault hits, by its role when the fault starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The node running the primary, the VIP and the worker.
    Active,
    /// The other one.
    Standby,
}

/// Which operation of the worker's agent fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentOp {
    /// The service dies: the next monitor finds it not running.
    Monitor,
    /// It dies and its restart in place fails (start-failure-is-fatal).
    Start,
    /// It dies and the stop before its restart fails: the node is fenced
    /// (a failed stop's on-fail is fence when fencing is on).
    Stop,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Every process of the node dies and its links go down.
    PowerLoss(Target),
    /// SIGTERM (the node moves its resources and leaves), then a start.
    CleanRestart(Target),
    /// One link of the node down for a while (the other carries on).
    LinkCut { target: Target, link: u8 },
    /// Both links of the node down: a split, settled by a fence race.
    BothLinksCut(Target),
    /// The node's datagrams to its peer are dropped (a blackhole route on
    /// both links); what the peer sends still arrives.
    OneWay(Target),
    /// A share of the node's packets dropped on both links (nftables).
    LossBurst { target: Target, percent: u8 },
    /// The node's links squeezed to 16 kbit/s (tc tbf): queueing delay of
    /// up to 400 ms and tail drops. The kernel here has no sch_netem;
    /// this is the delay burst it allows.
    Congestion(Target),
    /// SIGSTOP of the daemon, SIGCONT after the hold.
    Pause(Target),
    /// The worker's agent fails on the active node.
    AgentFailure(AgentOp),
    /// The fence devices do not answer for the hold; with a power loss of
    /// the active node during it, nothing may be recovered until they do.
    FenceOutage { power_loss: bool },
    /// A configuration change (node-action-limit) on a healthy cluster.
    ConfigChange { node: u8 },
}

/// One fault of a sequence: what, how long it is held before it is healed,
/// and whether a configuration change is made while it is on (to which
/// node it is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: Kind,
    pub hold_ms: u64,
    pub config_during: Option<u8>,
}

impl Fault {
    /// The next fault of a seed's sequence.
    pub fn draw(rng: &mut ChaosRng) -> Fault {
        let target = |rng: &mut ChaosRng| {
            if rng.percent(50) {
                Target::Active
            } else {
                Target::Standby
            }
        };
        let (kind, hold_ms) = match rng.between(0, 11) {
            0 | 1 => (Kind::PowerLoss(target(rng)), 0),
            2 => (Kind::CleanRestart(target(rng)), rng.between(500, 3000)),
            3 => (
                Kind::LinkCut {
                    target: target(rng),
                    link: rng.between(0, 1) as u8,
                },
                rng.between(1000, 5000),
            ),
            4 => (Kind::BothLinksCut(target(rng)), rng.between(2000, 4000)),
            5 => (Kind::OneWay(target(rng)), rng.between(2000, 4000)),
            6 => (
                Kind::LossBurst {
                    target: target(rng),
                    percent: rng.between(5, 40) as u8,
                },
                rng.between(3000, 8000),
            ),
            7 => (Kind::Congestion(target(rng)), rng.between(3000, 8000)),
            // Around the token timeout (1 s): some pauses pass unnoticed,
            // the longer ones get the node fenced.
            8 => (Kind::Pause(target(rng)), rng.between(300, 3000)),
            9 => {
                let op = match rng.between(0, 2) {
                    0 => AgentOp::Monitor,
                    1 => AgentOp::Start,
                    _ => AgentOp::Stop,
                };
                (Kind::AgentFailure(op), 6000)
            }
            10 => (
                Kind::FenceOutage {
                    power_loss: rng.percent(50),
                },
                rng.between(3000, 8000),
            ),
            _ => (
                Kind::ConfigChange {
                    node: rng.between(1, 2) as u8,
                },
                0,
            ),
        };
        let config_during = rng.percent(30).then(|| rng.between(1, 2) as u8);
        Fault {
            kind,
            hold_ms,
            config_during,
        }
    }

    /// The first `n` faults of `seed`.
    pub fn sequence(seed: u64, n: usize) -> Vec<Fault> {
        let mut rng = ChaosRng::new(seed);
        (0..n).map(|_| Fault::draw(&mut rng)).collect()
    }

    /// The node the fault hits, if any, by role.
    pub fn target(&self) -> Option<Target> {
        match self.kind {
            Kind::PowerLoss(t)
            | Kind::CleanRestart(t)
            | Kind::LinkCut { target: t, .. }
            | Kind::BothLinksCut(t)
            | Kind::OneWay(t)
            | Kind::LossBurst { target: t, .. }
            | Kind::Congestion(t)
            | Kind::Pause(t) => Some(t),
            Kind::AgentFailure(_) | Kind::FenceOutage { power_loss: true } => Some(Target::Active),
            Kind::FenceOutage { power_loss: false } | Kind::ConfigChange { .. } => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Active => "the active node",
            Target::Standby => "the standby node",
        })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hold = self.hold_ms;
        match &self.kind {
            Kind::PowerLoss(t) => write!(f, "power loss of {t}")?,
            Kind::CleanRestart(t) => write!(f, "clean stop of {t}, start after {hold} ms")?,
            Kind::LinkCut { target, link } => {
                write!(f, "link {link} of {target} down for {hold} ms")?
            }
            Kind::BothLinksCut(t) => write!(f, "both links of {t} down for {hold} ms")?,
            Kind::OneWay(t) => write!(f, "{t} cannot send to its peer for {hold} ms")?,
            Kind::LossBurst { target, percent } => {
                write!(f, "{percent}% packet loss on {target} for {hold} ms")?
            }
            Kind::Congestion(t) => write!(f, "links of {t} squeezed to 16 kbit/s for {hold} ms")?,
            Kind::Pause(t) => write!(f, "daemon of {t} paused (SIGSTOP) for {hold} ms")?,
            Kind::AgentFailure(op) => {
                let op = match op {
                    AgentOp::Monitor => "monitor (the worker dies)",
                    AgentOp::Start => "start (the worker dies, its restart fails)",
                    AgentOp::Stop => "stop (the worker dies, its stop fails)",
                };
                write!(f, "agent failure on the active node: {op}")?
            }
            Kind::FenceOutage { power_loss } => {
                write!(f, "fence devices out for {hold} ms")?;
                if *power_loss {
                    write!(f, ", with a power loss of the active node")?;
                }
            }
            Kind::ConfigChange { node } => write!(f, "configuration change through node{node}")?,
        }
        if let Some(node) = self.config_during {
            write!(f, "; a configuration change through node{node} meanwhile")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_is_one_sequence_and_another_seed_another() {
        let a = Fault::sequence(42, 50);
        assert_eq!(a, Fault::sequence(42, 50), "a seed replays exactly");
        assert_ne!(a, Fault::sequence(43, 50));
        // A longer run starts with the shorter one's faults.
        assert_eq!(a[..10], Fault::sequence(42, 10)[..]);
    }

    #[test]
    fn every_kind_of_fault_is_drawn() {
        let faults = Fault::sequence(1, 400);
        let has = |p: &dyn Fn(&Kind) -> bool| faults.iter().any(|f| p(&f.kind));
        assert!(has(&|k| matches!(k, Kind::PowerLoss(_))));
        assert!(has(&|k| matches!(k, Kind::CleanRestart(_))));
        assert!(has(&|k| matches!(k, Kind::LinkCut { .. })));
        assert!(has(&|k| matches!(k, Kind::BothLinksCut(_))));
        assert!(has(&|k| matches!(k, Kind::OneWay(_))));
        assert!(has(&|k| matches!(k, Kind::LossBurst { .. })));
        assert!(has(&|k| matches!(k, Kind::Congestion(_))));
        assert!(has(&|k| matches!(k, Kind::Pause(_))));
        for op in [AgentOp::Monitor, AgentOp::Start, AgentOp::Stop] {
            assert!(has(&|k| *k == Kind::AgentFailure(op)));
        }
        assert!(has(&|k| *k == Kind::FenceOutage { power_loss: true }));
        assert!(has(&|k| *k == Kind::FenceOutage { power_loss: false }));
        assert!(has(&|k| matches!(k, Kind::ConfigChange { .. })));
        assert!(faults.iter().any(|f| f.config_during.is_some()));
    }
}
