//! Sans-IO feeding policy for watchdog self-fencing. The watchdog is fed
//! only while this node may keep running its resources; when it stops being
//! fed the hardware resets the node, which is what lets the survivor take
//! over after a bounded wait without a BMC.

use std::time::Duration;

/// What this node knows about itself at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeHealth {
    pub healthy: bool,
    pub quorate: bool,
    /// Two-node clusters only: the partner is visible. In a larger cluster
    /// a minority still sees peers, so callers must pass false there.
    pub sees_peer: bool,
    /// This node has not been in a quorate partition since its watchdog was
    /// armed in this boot, and runs nothing: it has started nothing (no
    /// quorum, no start), so a reset would stop nothing, and it would only
    /// loop a node that boots before its peers, reset after reset (sbd's
    /// "we do not have quorum yet"). The survivors' deadline is then
    /// harmless: whatever they assume stopped never ran here.
    pub never_quorate: bool,
}

/// Feed only while healthy and either quorate, still seeing the peer, or
/// not yet quorate since the start: a node that lost quorum (and its peer)
/// must die before the survivor's deadline passes.
pub fn should_feed(health: NodeHealth) -> bool {
    health.healthy && (health.quorate || health.sees_peer || health.never_quorate)
}

/// When the survivor may treat a lost, watchdog-fenced node as fenced. Twice
/// the timeout covers the last feed landing just before the loss plus the
/// hardware's own imprecision.
pub fn watchdog_fenced_at(lost_at: Duration, watchdog_timeout: Duration) -> Duration {
    lost_at + watchdog_timeout * 2
}

/// True once `now` has reached the deadline computed by `watchdog_fenced_at`.
pub fn is_watchdog_fenced(now: Duration, lost_at: Duration, watchdog_timeout: Duration) -> bool {
    now >= watchdog_fenced_at(lost_at, watchdog_timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeding_requires_health_and_quorum_or_peer() {
        let h = |healthy, quorate, sees_peer| NodeHealth {
            healthy,
            quorate,
            sees_peer,
            never_quorate: false,
        };
        assert!(should_feed(h(true, true, false)));
        assert!(should_feed(h(true, false, true)));
        assert!(!should_feed(h(true, false, false)));
        assert!(!should_feed(h(false, true, true)));
    }

    #[test]
    fn a_node_not_yet_quorate_since_its_start_keeps_feeding_unless_unhealthy() {
        let not_yet = |healthy| NodeHealth {
            healthy,
            quorate: false,
            sees_peer: false,
            never_quorate: true,
        };
        assert!(should_feed(not_yet(true)));
        assert!(!should_feed(not_yet(false)));
    }

    #[test]
    fn survivor_waits_twice_the_timeout() {
        let lost = Duration::from_secs(100);
        let t = Duration::from_secs(5);
        assert!(!is_watchdog_fenced(Duration::from_millis(109_999), lost, t));
        assert!(is_watchdog_fenced(Duration::from_secs(110), lost, t));
    }
}
