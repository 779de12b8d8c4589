//! What the cluster leaves as it is on a node: resources it neither starts,
//! stops nor recovers there (unmanaged, in maintenance: their own, a
//! parent's, the node's or the whole cluster's). A node shutting down
//! cleanly waits for everything else to stop, never for these: they keep
//! running after it leaves, as Pacemaker's "detach" (maintenance-mode, then
//! stop the cluster on a node to upgrade it) relies on.

use std::collections::HashSet;

use super::nodes::node_views;
use super::transition::primitive_of;
use super::units::{configured_managed, parents_by_id, primitives_by_id};
use crate::model::{ClusterConfig, ClusterStatus};

/// The resources left as they are on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftAsIs {
    /// The node itself is in maintenance: everything on it is left.
    whole_node: bool,
    /// Primitives whose configuration leaves them (by primitive id).
    primitives: HashSet<String>,
}

impl LeftAsIs {
    /// Whether a history or action id (a primitive's, or an instance's
    /// `prim:N`) is one of those left as they are.
    pub fn covers(&self, id: &str) -> bool {
        self.whole_node || self.primitives.contains(primitive_of(id))
    }
}

/// What the cluster leaves as it is on `node` at `now` (seconds since the
/// epoch, for node attributes set by rules).
pub fn left_as_is(
    config: &ClusterConfig,
    status: &ClusterStatus,
    node: &str,
    now: i64,
) -> LeftAsIs {
    let whole_node = node_views(config, status, now)
        .iter()
        .any(|v| v.uname == node && v.maintenance);
    let parents = parents_by_id(config);
    let primitives = primitives_by_id(config)
        .into_iter()
        .filter(|(id, p)| {
            let theirs = parents.get(id).copied().unwrap_or([None, None]);
            !configured_managed(config, &p.meta, &theirs)
        })
        .map(|(id, _)| id.to_string())
        .collect();
    LeftAsIs {
        whole_node,
        primitives,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ClusterConfig {
        let base = "[cluster]\nname = \"t\"\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n\
                    [[node]]\nname = \"n2\"\nid = 2\nlinks = [\"198.18.0.2\"]\n[fencing]\nenabled = false\n";
        crate::config::load_config_str(&format!("{base}{text}"), "t.toml").expect("valid config")
    }

    #[test]
    fn unmanaged_and_maintenance_primitives_are_left_with_their_instances() {
        let c = config(
            "[[primitive]]\nid = \"a\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = { is-managed = false }\n\
             [[primitive]]\nid = \"b\"\nagent = \"ocf:heartbeat:Dummy\"\n\
             [[primitive]]\nid = \"m\"\nagent = \"ocf:heartbeat:Dummy\"\nmeta = { maintenance = true }\n\
             [[primitive]]\nid = \"c\"\nagent = \"ocf:heartbeat:Dummy\"\n\
             [[clone]]\nid = \"cl\"\nresource = \"c\"\nmeta = { is-managed = false }\n",
        );
        let left = left_as_is(&c, &ClusterStatus::default(), "n1", 0);
        assert!(left.covers("a"));
        assert!(left.covers("m"));
        assert!(left.covers("c:1"), "a clone's unmanaged instance");
        assert!(!left.covers("b"));
        assert!(!left.covers("x"), "unknown to the configuration");
    }

    #[test]
    fn maintenance_mode_or_a_node_in_maintenance_leaves_everything() {
        let mode = config(
            "[properties]\nmaintenance-mode = true\n[[primitive]]\nid = \"b\"\nagent = \"ocf:heartbeat:Dummy\"\n",
        );
        assert!(left_as_is(&mode, &ClusterStatus::default(), "n1", 0).covers("b"));
        let node = config("[[primitive]]\nid = \"b\"\nagent = \"ocf:heartbeat:Dummy\"\n");
        let mut status = ClusterStatus::default();
        status
            .nodes
            .entry("n2".into())
            .or_default()
            .transient_attributes
            .insert("maintenance".into(), "true".into());
        assert!(left_as_is(&node, &status, "n2", 0).covers("b"));
        assert!(!left_as_is(&node, &status, "n1", 0).covers("b"));
    }
}
