//! The rule that a cluster with fencing configured starts no resource until
//! every node can be fenced: each node's first topology level must have
//! passed a `monitor` of each of its devices. Sans-IO: the caller runs the
//! monitors and feeds the results in; the controller asks `verdict` before
//! its first start.

use std::collections::BTreeMap;

/// Shown wherever fencing is switched off, so nobody runs that way unaware.
pub const FENCING_DISABLED_WARNING: &str = "fencing is disabled (enabled = false): a lost node's resources will be recovered without fencing, which can run them twice";

/// The monitor results for the first level of every node.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    /// node -> device -> None (not yet run), Some(Ok) or Some(Err(reason))
    nodes: BTreeMap<String, BTreeMap<String, Option<Result<(), String>>>>,
    fencing_disabled: bool,
}

/// Why resources may not start yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    NoLevel {
        node: String,
    },
    NotMonitored {
        node: String,
        device: String,
    },
    MonitorFailed {
        node: String,
        device: String,
        reason: String,
    },
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocker::NoLevel { node } => write!(
                f,
                "node {node} has no fencing level; add a [[fencing.level]] with target = {node:?}"
            ),
            Blocker::NotMonitored { node, device } => {
                write!(
                    f,
                    "device {device} (first level of {node}) has not passed a monitor yet"
                )
            }
            Blocker::MonitorFailed {
                node,
                device,
                reason,
            } => write!(
                f,
                "device {device} (first level of {node}) failed its monitor: {reason}"
            ),
        }
    }
}

impl Readiness {
    /// `first_levels`: every cluster node with the devices of its first
    /// (lowest index) level; an empty list means the node has no level.
    pub fn new(first_levels: BTreeMap<String, Vec<String>>) -> Readiness {
        Readiness {
            nodes: first_levels
                .into_iter()
                .map(|(n, devs)| (n, devs.into_iter().map(|d| (d, None)).collect()))
                .collect(),
            fencing_disabled: false,
        }
    }

    /// Fencing explicitly switched off (`enabled = false`): nothing blocks,
    /// and `status` shows the warning instead.
    pub fn disabled() -> Readiness {
        Readiness {
            nodes: BTreeMap::new(),
            fencing_disabled: true,
        }
    }

    pub fn record(&mut self, node: &str, device: &str, result: Result<(), String>) {
        if let Some(devs) = self.nodes.get_mut(node)
            && let Some(slot) = devs.get_mut(device)
        {
            *slot = Some(result);
        }
    }

    /// Ok when resources may start; otherwise every reason they may not.
    pub fn verdict(&self) -> Result<(), Vec<Blocker>> {
        if self.fencing_disabled {
            return Ok(());
        }
        let mut blockers = Vec::new();
        for (node, devs) in &self.nodes {
            if devs.is_empty() {
                blockers.push(Blocker::NoLevel { node: node.clone() });
            }
            for (device, result) in devs {
                match result {
                    None => blockers.push(Blocker::NotMonitored {
                        node: node.clone(),
                        device: device.clone(),
                    }),
                    Some(Err(reason)) => blockers.push(Blocker::MonitorFailed {
                        node: node.clone(),
                        device: device.clone(),
                        reason: reason.clone(),
                    }),
                    Some(Ok(())) => {}
                }
            }
        }
        if blockers.is_empty() {
            Ok(())
        } else {
            Err(blockers)
        }
    }

    /// The per-node view: Ok or the node's blockers.
    pub fn per_node(&self) -> BTreeMap<String, Vec<Blocker>> {
        let all = self.verdict().err().unwrap_or_default();
        self.nodes
            .keys()
            .map(|n| {
                let mine = all
                    .iter()
                    .filter(|b| match b {
                        Blocker::NoLevel { node }
                        | Blocker::NotMonitored { node, .. }
                        | Blocker::MonitorFailed { node, .. } => node == n,
                    })
                    .cloned()
                    .collect();
                (n.clone(), mine)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([
            ("node1".to_string(), vec!["bmc1".to_string()]),
            (
                "node2".to_string(),
                vec!["bmc2".to_string(), "pdu2".to_string()],
            ),
        ])
    }

    #[test]
    fn nothing_starts_until_every_first_level_device_passed() {
        let mut r = Readiness::new(levels());
        assert_eq!(r.verdict().unwrap_err().len(), 3);
        r.record("node1", "bmc1", Ok(()));
        r.record("node2", "bmc2", Ok(()));
        r.record("node2", "pdu2", Err("no answer".into()));
        let b = r.verdict().unwrap_err();
        assert_eq!(b.len(), 1);
        assert!(b[0].to_string().contains("pdu2") && b[0].to_string().contains("no answer"));
        assert!(r.per_node()["node1"].is_empty());
        r.record("node2", "pdu2", Ok(()));
        assert!(r.verdict().is_ok());
        // A later failed monitor blocks again.
        r.record("node1", "bmc1", Err("401".into()));
        assert!(r.verdict().is_err());
    }

    #[test]
    fn a_node_without_a_level_blocks_and_disabled_fencing_does_not() {
        let r = Readiness::new(BTreeMap::from([("node3".to_string(), vec![])]));
        assert!(matches!(
            r.verdict().unwrap_err()[0],
            Blocker::NoLevel { .. }
        ));
        assert!(Readiness::disabled().verdict().is_ok());
    }
}
