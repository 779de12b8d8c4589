//! The virtual network: per-packet loss, delay (hence reordering), duplication,
//! partitions, one-way cuts and per-link cuts.

use std::collections::BTreeSet;
use std::time::Duration;

use super::rng::SimRng;
use crate::wire::NodeId;

#[derive(Debug, Clone, Default)]
pub struct NetFaults {
    pub loss: f64,
    pub duplicate: f64,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Network {
    pub faults: NetFaults,
    /// Directed (from, to) pairs whose packets are dropped on every link.
    blocked: BTreeSet<(NodeId, NodeId)>,
    /// (node, link) whose link is down in both directions.
    links_down: BTreeSet<(NodeId, u8)>,
}

impl Network {
    pub fn new(faults: NetFaults) -> Self {
        Self {
            faults,
            ..Self::default()
        }
    }

    /// Splits the nodes into groups that cannot reach each other.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.blocked.clear();
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i != j {
                    for &x in *a {
                        for &y in *b {
                            self.blocked.insert((x, y));
                        }
                    }
                }
            }
        }
    }

    pub fn block_one_way(&mut self, from: NodeId, to: NodeId) {
        self.blocked.insert((from, to));
    }

    pub fn set_link(&mut self, node: NodeId, link: u8, up: bool) {
        if up {
            self.links_down.remove(&(node, link));
        } else {
            self.links_down.insert((node, link));
        }
    }

    pub fn heal(&mut self) {
        self.blocked.clear();
        self.links_down.clear();
    }

    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        !self.blocked.contains(&(from, to))
    }

    /// Delivery delays of one send: empty if lost, two entries if duplicated.
    pub fn route(&self, rng: &mut SimRng, from: NodeId, to: NodeId, link: u8) -> Vec<Duration> {
        if self.blocked.contains(&(from, to))
            || self.links_down.contains(&(from, link))
            || self.links_down.contains(&(to, link))
            || rng.chance(self.faults.loss)
        {
            return Vec::new();
        }
        let copies = if rng.chance(self.faults.duplicate) {
            2
        } else {
            1
        };
        (0..copies)
            .map(|_| {
                let lo = self.faults.min_delay.as_micros() as u64;
                let hi = self.faults.max_delay.as_micros() as u64;
                Duration::from_micros(rng.between(lo, hi))
            })
            .collect()
    }
}
