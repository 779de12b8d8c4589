//! What a node runs by, from the one load of the cluster file: the
//! membership's quorum rules and the node core's settings, built here once
//! from `config::Runtime` for the daemon and the simulator alike (the
//! simulator used to read `[quorum]` itself and forgot that `two_node`
//! sets `wait_for_all`, and the nodes' `votes`).

use crate::config::Runtime;
use crate::config::runtime::ClusterNode;
use crate::controller::ControllerSettings;
use crate::membership::QuorumConfig;

use super::NodeSettings;

/// How long the DC waits for a dispatched step beyond its own timeout.
pub const RESULT_GRACE_MS: u64 = 5_000;
/// First retry delay of a failed fence (it doubles up to the next).
pub const FENCE_RETRY_MS: u64 = 1_000;
pub const FENCE_RETRY_MAX_MS: u64 = 30_000;

/// The membership's quorum rules: votequorum's defaults for the nodes'
/// votes, then what `[quorum]` says (`two_node` also sets `wait_for_all`
/// unless that is written too, as votequorum(5) says).
pub fn quorum_config(runtime: &Runtime) -> QuorumConfig {
    let votes = runtime.nodes.iter().map(|n| (n.id, n.votes)).collect();
    let mut quorum = QuorumConfig::with_defaults(votes);
    let q = &runtime.quorum;
    if let Some(t) = q.two_node {
        quorum.two_node = t;
        quorum.wait_for_all = t;
    }
    if let Some(w) = q.wait_for_all {
        quorum.wait_for_all = w;
    }
    quorum.last_man_standing = q.last_man_standing;
    quorum.auto_tie_breaker = q.auto_tie_breaker;
    quorum.expected_votes = q.expected_votes;
    if q.witness.is_some() {
        // The witness is the third vote two_node made up for (config
        // refuses both written); wait_for_all then follows two_node, off.
        quorum.witness = true;
        quorum.two_node = false;
        quorum.wait_for_all = q.wait_for_all.unwrap_or(false);
    }
    quorum
}

impl NodeSettings {
    /// The node core's settings for `own` among the runtime's nodes, with
    /// the daemon's controller timers; the controller waits for fencing to
    /// be ready before it starts anything (the simulator, whose fence
    /// devices are always ready, clears that).
    pub fn from_runtime(runtime: &Runtime, own: &ClusterNode) -> Self {
        NodeSettings {
            own: own.id,
            // A lone member may be quorate (two_node, or two nodes and a
            // witness): the store's lone-DC rule (written once the peer is
            // settled) holds in both.
            two_node: {
                let q = quorum_config(runtime);
                q.two_node || q.witness
            },
            controller: ControllerSettings {
                own: own.name.clone(),
                nodes: runtime
                    .nodes
                    .iter()
                    .map(|n| (n.name.clone(), u32::from(n.id)))
                    .collect(),
                result_grace_ms: RESULT_GRACE_MS,
                fence_retry_ms: FENCE_RETRY_MS,
                fence_retry_max_ms: FENCE_RETRY_MAX_MS,
                require_fencing_ready: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(quorum: &str, votes: &[u32]) -> Runtime {
        let mut text = String::from("[cluster]\nname = \"t\"\n[fencing]\nenabled = false\n");
        text.push_str(quorum);
        for (i, v) in votes.iter().enumerate() {
            let id = i + 1;
            text.push_str(&format!(
                "[[node]]\nname = \"n{id}\"\nid = {id}\nvotes = {v}\nlinks = [\"198.18.0.{id}\"]\n"
            ));
        }
        crate::config::load_node_str(&text, "t.toml")
            .unwrap()
            .runtime
            .unwrap()
    }

    #[test]
    fn two_node_sets_wait_for_all_unless_written_and_votes_count() {
        let q = quorum_config(&runtime("[quorum]\ntwo_node = false\n", &[1, 1]));
        assert!(!q.two_node && !q.wait_for_all);
        let q = quorum_config(&runtime(
            "[quorum]\ntwo_node = true\nwait_for_all = false\n",
            &[1, 1],
        ));
        assert!(q.two_node && !q.wait_for_all);
        let q = quorum_config(&runtime("", &[3, 1, 1]));
        assert_eq!(q.votes.values().copied().collect::<Vec<_>>(), [3, 1, 1]);
        assert!(!q.two_node && !q.wait_for_all);
    }

    #[test]
    fn a_witness_replaces_two_node_and_keeps_the_lone_dc_rule() {
        let witness = "[quorum]\nwitness = { etcd = [\"http://198.18.0.10:2379\"] }\n";
        let rt = runtime(witness, &[1, 1]);
        let q = quorum_config(&rt);
        assert!(q.witness && !q.two_node && !q.wait_for_all);
        let own = rt.nodes[0].clone();
        assert!(NodeSettings::from_runtime(&rt, &own).two_node);
        let q = quorum_config(&runtime(
            "[quorum]\nwait_for_all = true\nwitness = { etcd = [\"http://e:1\"] }\n",
            &[1, 1],
        ));
        assert!(
            q.witness && q.wait_for_all,
            "a written wait_for_all is obeyed"
        );
    }
}
