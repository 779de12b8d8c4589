//! Derives each resource's current role and failures from its recorded
//! operation history.

use crate::model::{OpRecord, ResourceHistory, Role, rc};

/// What one node's history says about one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub role: Role,
    pub failed: bool,
    /// The failed operation's name, and whether it was a stop (which needs fencing or blocks).
    pub failed_op: Option<String>,
    pub failed_interval_ms: u64,
    /// Call id of the failed operation.
    pub failed_call_id: i64,
    /// The failure is one Pacemaker's check_recoverable looks at: invalid
    /// parameters, insufficient privileges, not installed, or a one-off
    /// operation unimplemented (rc 2, 4, 5; 3 at interval 0), as the
    /// executor finished it. A stop failing so where nobody can fence
    /// leaves the resource blocked.
    pub failed_unrecoverable: bool,
    /// A failure was ignored (on-fail=ignore): Pacemaker then disregards
    /// migration-threshold for the resource.
    pub failure_ignored: bool,
    pub pending: bool,
    pub last_failure: Option<i64>,
    /// A hard error (not installed, insufficient privileges, unimplemented) bans the node.
    pub hard_ban: bool,
    /// Some operation counted (not every one an expired failure): Pacemaker
    /// then knows the resource's state on the node (its `known_on`).
    pub known: bool,
}

/// Failures that failure-timeout has expired: those that changed at or
/// before `before`; a recurring operation's only where its node is online
/// and clean (elsewhere Pacemaker 2.1.5's unpack_rsc_op still counts it).
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    pub before: i64,
    pub recurring_too: bool,
}

/// Whether failure-timeout has expired `op`'s result, were it a failure.
fn expired(op: &OpRecord, expiry: Option<Expiry>) -> bool {
    let changed = op.last_rc_change.or(op.last_run);
    matches!((expiry, changed), (Some(e), Some(t)) if t <= e.before && (op.interval_ms == 0 || e.recurring_too))
}

fn expected_rc(op: &OpRecord) -> i32 {
    op.target_rc.unwrap_or(rc::OK)
}

/// Replays the history in call order; recurring monitors only matter when they failed.
pub fn observe(h: &ResourceHistory) -> Observed {
    observe_configured(h, &[], false, None, false)
}

/// As `observe`, with the operations whose failures are configured to be
/// ignored (`on-fail=ignore`, as (name, interval)): such a failure leaves the
/// resource as the operation would have on success.
/// `demote_blocks`: the demote has on-fail=block, so a failed demote leaves
/// the resource Promoted. `expired_before`: failures that changed at or
/// before this time have expired (failure-timeout) and are ignored.
/// `unmanaged`: the resource is not managed (a monitor finding it stopped
/// just means it is stopped).
pub fn observe_configured(
    h: &ResourceHistory,
    ignored: &[(String, u64)],
    demote_blocks: bool,
    expiry: Option<Expiry>,
    unmanaged: bool,
) -> Observed {
    let mut ops: Vec<&OpRecord> = h.ops.iter().collect();
    // Pending operations (call-id -1) happened last.
    ops.sort_by_key(|o| (o.call_id < 0, o.call_id, o.last_rc_change.unwrap_or(0)));
    let mut obs = Observed {
        role: Role::Stopped,
        failed: false,
        failed_op: None,
        failed_interval_ms: 0,
        failed_call_id: 0,
        failed_unrecoverable: false,
        failure_ignored: false,
        pending: false,
        last_failure: None,
        hard_ban: false,
        known: false,
    };
    // Pacemaker starts from an unknown role: until some result says where
    // the resource stands, "not running" from a monitor is a failure.
    let mut seen_any = false;
    for op in ops {
        let known = seen_any;
        seen_any = true;
        let pending = op.op_status == -1 || op.rc_code == rc::PENDING || op.call_id < 0;
        let name = op.operation.as_str();
        // A pending result is not the expected one either: once
        // failure-timeout has passed it is ignored like a failure.
        if pending && expired(op, expiry) {
            continue;
        }
        if pending {
            obs.known = true;
            obs.pending = true;
            match name {
                "start" | "migrate_from" => obs.role = Role::Started,
                "promote" => obs.role = Role::Promoted,
                _ => {}
            }
            continue;
        }
        // Degraded results count as success (OCF 190/191).
        let code = match op.rc_code {
            190 => rc::OK,
            191 => rc::RUNNING_PROMOTED,
            c => c,
        };
        // An expired failure is as if it never happened: any result other
        // than the one expected, a recurring monitor's "not running"
        // included, but never a probe's finding (check_operation_expiry and
        // unpack_rsc_op).
        let probe = name == "monitor" && op.interval_ms == 0;
        let is_failure = code != expected_rc(op)
            && !(probe && matches!(code, rc::OK | rc::NOT_RUNNING | rc::RUNNING_PROMOTED))
            && !(name != "monitor" && code == rc::OK);
        if is_failure && expired(op, expiry) {
            // An unmanaged resource's monitor finding it stopped is read
            // as "stopped" before the expiry is looked at (remap_operation
            // comes first in 2.1.5's unpack_rsc_op).
            if unmanaged && name == "monitor" && code == rc::NOT_RUNNING {
                obs.role = Role::Stopped;
                obs.failed = false;
            }
            continue;
        }
        obs.known = true;
        // Hard errors (invalid or missing configuration, not installed) are
        // never ignored: Pacemaker recovers from them whatever on-fail says.
        // A tool the agent needs reported missing (rc 5) by a recurring
        // monitor is ignored too ("failure ignored"); a missing agent
        // (op-status 7) and configuration errors are not.
        let hard = matches!(code, 2 | 6) || (code == 5 && op.interval_ms == 0) || op.op_status == 7;
        if code != expected_rc(op)
            && !hard
            && ignored
                .iter()
                .any(|(n, i)| n == name && *i == op.interval_ms)
        {
            obs.failure_ignored = true;
            match name {
                "stop" | "migrate_to" => obs.role = Role::Stopped,
                "start" | "migrate_from" => obs.role = Role::Started,
                "promote" => obs.role = Role::Promoted,
                "demote" => obs.role = Role::Unpromoted,
                _ => {}
            }
            continue;
        }
        if matches!(code, 3..=5) {
            obs.hard_ban = true;
        }
        let ok = code == expected_rc(op)
            || (code == rc::OK && name != "monitor")
            || (code == rc::RUNNING_PROMOTED && matches!(name, "monitor" | "promote"));
        match name {
            "monitor" if op.interval_ms == 0 => match code {
                rc::OK => {
                    obs.role = Role::Started;
                    obs.failed = false;
                }
                rc::NOT_RUNNING => {
                    obs.role = Role::Stopped;
                    obs.failed = false;
                }
                rc::RUNNING_PROMOTED => {
                    obs.role = Role::Promoted;
                    obs.failed = false;
                }
                // Not installed: certainly not running there.
                5 => {
                    obs.role = Role::Stopped;
                }
                _ => {
                    obs.role = if code == rc::FAILED_PROMOTED {
                        Role::Promoted
                    } else {
                        Role::Started
                    };
                    fail(&mut obs, op);
                }
            },
            "monitor" => {
                if code == rc::OK || code == rc::RUNNING_PROMOTED {
                    // A recurring monitor that found it running proves it
                    // runs, whatever the (possibly cleaned) start record says.
                    if obs.role == Role::Stopped {
                        obs.role = if code == rc::OK {
                            Role::Started
                        } else {
                            Role::Promoted
                        };
                    }
                    // A later successful monitor does not clear a past
                    // failure (Pacemaker clears them only on a completed
                    // start, stop, promote or demote), except a newer result
                    // of the very same call (its last-failure record is a
                    // copy of an older result).
                    if !ok {
                        // A monitor expected to find the resource in another role.
                        fail(&mut obs, op);
                    } else if obs.failed_op.as_deref() == Some("monitor")
                        && obs.failed_interval_ms == op.interval_ms
                        && obs.failed_call_id == op.call_id
                    {
                        obs.failed = false;
                    }
                } else {
                    // "Not running" is no failure when the history already
                    // says it is stopped, nor for an unmanaged resource
                    // (which is then simply stopped).
                    if code == rc::NOT_RUNNING
                        && ((known && obs.role == Role::Stopped) || unmanaged)
                    {
                        obs.role = Role::Stopped;
                        obs.failed = false;
                        continue;
                    }
                    // Any other failed monitor leaves the resource thought
                    // active there (Pacemaker marks a failed operation's
                    // resource active), so an offline node that had it is
                    // fenced and an online one recovers it.
                    if code == rc::FAILED_PROMOTED {
                        obs.role = Role::Promoted;
                    } else if obs.role == Role::Stopped {
                        obs.role = Role::Started;
                    }
                    fail(&mut obs, op);
                }
            }
            "start" | "migrate_from" => {
                obs.role = Role::Started;
                if code == rc::OK {
                    obs.failed = false;
                } else {
                    fail(&mut obs, op);
                }
            }
            "stop" | "migrate_to" => {
                if code == rc::OK {
                    obs.role = Role::Stopped;
                    obs.failed = false;
                } else {
                    // A stop that failed leaves the resource active there.
                    if obs.role == Role::Stopped {
                        obs.role = Role::Started;
                    }
                    fail(&mut obs, op);
                }
            }
            "promote" => {
                obs.role = Role::Promoted;
                if code == rc::OK {
                    obs.failed = false;
                } else {
                    fail(&mut obs, op);
                }
            }
            "demote" => {
                if code == rc::OK {
                    obs.role = Role::Unpromoted;
                    obs.failed = false;
                } else {
                    // As Pacemaker: staying Promoted after a failed demote
                    // would loop; the recovery stops it anyway, and any
                    // promotion is ordered after that stop.
                    obs.role = if demote_blocks {
                        Role::Promoted
                    } else {
                        Role::Unpromoted
                    };
                    fail(&mut obs, op);
                }
            }
            _ => {}
        }
    }
    obs
}

fn fail(obs: &mut Observed, op: &OpRecord) {
    obs.failed = true;
    obs.failed_op = Some(op.operation.clone());
    obs.failed_interval_ms = op.interval_ms;
    obs.failed_call_id = op.call_id;
    obs.failed_unrecoverable = matches!(op.op_status, 0 | 4)
        && (matches!(op.rc_code, 2 | 4 | 5) || (op.rc_code == 3 && op.interval_ms == 0));
    obs.last_failure = op.last_rc_change.or(op.last_run).or(obs.last_failure);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::transition::tests::op;

    fn history(ops: Vec<OpRecord>) -> ResourceHistory {
        ResourceHistory {
            id: "db".into(),
            class: None,
            provider: None,
            agent: None,
            container: None,
            ops,
        }
    }

    #[test]
    fn a_failed_monitor_alone_leaves_the_resource_active() {
        let obs = observe(&history(vec![op("monitor", 10_000, 5, rc::NOT_RUNNING)]));
        assert_eq!(obs.role, Role::Started);
        assert!(obs.failed);
    }

    #[test]
    fn a_recurring_monitor_not_running_after_a_stop_is_no_failure() {
        let obs = observe(&history(vec![
            op("stop", 0, 4, rc::OK),
            op("monitor", 10_000, 5, rc::NOT_RUNNING),
        ]));
        assert_eq!(obs.role, Role::Stopped);
        assert!(!obs.failed);
    }
}
