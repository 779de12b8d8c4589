//! The endpoint's answers, a pure function of the path and the snapshot
//! (Patroni's REST API is the model: 200 when this node is what the path
//! asks, 503 when it is not, so that HAProxy's `option httpchk` routes by
//! the status code alone).

use std::time::Instant;

use super::metrics;
use super::snapshot::{STALE_AFTER, Snapshot};

/// A status, a content type and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::daemon) struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
/// Prometheus' text exposition format.
const METRICS: &str = "text/plain; version=0.0.4; charset=utf-8";

fn json(status: u16, value: serde_json::Value) -> Answer {
    Answer {
        status,
        content_type: JSON,
        body: format!("{value}\n"),
    }
}

fn text(status: u16, body: impl Into<String>) -> Answer {
    Answer {
        status,
        content_type: TEXT,
        body: body.into(),
    }
}

/// The answer to `GET path` from the newest snapshot (None: none yet).
pub(in crate::daemon) fn answer(path: &str, snapshot: Option<&Snapshot>, now: Instant) -> Answer {
    let path = path.split('?').next().unwrap_or(path);
    let Some(s) = snapshot else {
        return text(503, "starting: no status yet\n");
    };
    let age = now.saturating_duration_since(s.taken);
    if age > STALE_AFTER {
        // The event loop stopped publishing: what the view says may no
        // longer be true, so no health check may pass on it.
        return text(
            503,
            format!("the daemon's status is {} s old\n", age.as_secs()),
        );
    }
    match path {
        "/metrics" => Answer {
            status: 200,
            content_type: METRICS,
            body: metrics::render(s),
        },
        "/status" => match serde_json::to_string_pretty(&s.report()) {
            Ok(body) => Answer {
                status: 200,
                content_type: JSON,
                body: body + "\n",
            },
            Err(e) => text(500, format!("{e}\n")),
        },
        "/health" => health(s),
        _ => by_resource(path, s).unwrap_or_else(|| text(404, "not found\n")),
    }
}

/// 200 while this node is a member of a quorate partition.
fn health(s: &Snapshot) -> Answer {
    let m = &s.base.membership;
    let status = if s.quorate_member() { 200 } else { 503 };
    json(
        status,
        serde_json::json!({
            "node": m.node,
            "quorate": m.quorum.quorate,
            "members": m.members,
            "dc": s.base.dc,
        }),
    )
}

/// `/primary/RES`, `/replica/RES`, `/resource/RES`: 200 when RES is
/// Promoted, Unpromoted, or active here, and this node is in a quorate
/// partition (a node cut off from the quorum still shows its last
/// replicated status: it must not keep attracting writes).
fn by_resource(path: &str, s: &Snapshot) -> Option<Answer> {
    let (kind, res) = path.strip_prefix('/')?.split_once('/')?;
    let roles: &[&str] = match kind {
        "primary" => &["Promoted"],
        "replica" => &["Unpromoted"],
        "resource" => &["Started", "Promoted", "Unpromoted"],
        _ => return None,
    };
    let node = &s.base.membership.node;
    let Some(nodes) = s.nodes_with_role(res, roles) else {
        return Some(text(
            404,
            format!("no resource `{res}` in the configuration\n"),
        ));
    };
    let here = nodes.iter().any(|n| n == node);
    let quorate = s.quorate_member();
    let status = if here && quorate { 200 } else { 503 };
    Some(json(
        status,
        serde_json::json!({
            "node": node,
            "resource": res,
            "here": here,
            "quorate": quorate,
            "nodes": nodes,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use std::sync::Arc;

    use super::super::snapshot::{Computed, Facts, Inputs, Snapshot};
    use super::answer;
    use crate::daemon::report::Derived;

    /// node1 of [node1, node2], quorate or not, running `db` Promoted.
    fn snapshot(quorate: bool, taken: Instant) -> Snapshot {
        let report = serde_json::json!({
            "cluster": "c", "node": "node1", "node_id": 1, "view_id": 4,
            "members": ["node1", "node2"], "nodes": [], "incompatible": [], "pauses": 0,
            "quorum": {"quorate": quorate, "total_votes": 2, "expected_votes": 2, "quorum": 2,
                       "waiting_for_all": false, "unblocked": null, "reason": ""},
            "wire": {"accepted": 0, "malformed": 0, "other_cluster": 0,
                     "incompatible_version": 0, "forged": 0, "replayed": 0},
            "resources": [
                {"id": "db", "agent": "ocf:pacemaker:Stateful", "role": "Promoted", "nodes": ["node1"]},
                {"id": "db", "agent": "ocf:pacemaker:Stateful", "role": "Unpromoted", "nodes": ["node2"]}
            ]
        });
        let base: crate::api::StatusReport = serde_json::from_value(report).unwrap();
        let computed = Computed {
            derived: Derived {
                resources: base.resources.clone(),
                ..Derived::default()
            },
            names: [("db-clone".to_string(), vec!["db".to_string()])].into(),
            facts: Facts::default(),
        };
        Snapshot {
            taken,
            base,
            inputs: Arc::new(Inputs::made(computed)),
            counters: Default::default(),
        }
    }

    fn status(path: &str, s: &Snapshot, now: Instant) -> u16 {
        answer(path, Some(s), now).status
    }

    #[test]
    fn roles_answer_200_here_503_elsewhere_404_unknown() {
        let now = Instant::now();
        let s = snapshot(true, now);
        assert_eq!(status("/primary/db-clone", &s, now), 200);
        assert_eq!(status("/replica/db-clone", &s, now), 503);
        assert_eq!(status("/resource/db-clone", &s, now), 200);
        assert_eq!(
            status("/primary/db", &s, now),
            404,
            "only names the config has"
        );
        assert_eq!(status("/health?verbose", &s, now), 200);
        assert_eq!(
            answer("/health", None, now).status,
            503,
            "before the first view"
        );
    }

    #[test]
    fn without_quorum_or_with_a_stale_view_no_check_passes() {
        let now = Instant::now();
        let alone = snapshot(false, now);
        assert_eq!(status("/health", &alone, now), 503);
        assert_eq!(status("/primary/db-clone", &alone, now), 503);
        let old = snapshot(true, now);
        let later = now + Duration::from_secs(6);
        assert_eq!(status("/primary/db-clone", &old, later), 503);
        assert_eq!(status("/metrics", &old, later), 503);
    }
}
