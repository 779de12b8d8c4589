//! After a fault: the lab does what the hardware and the operator would
//! (power a fenced node back on once its fence is recorded, restart a
//! daemon that exited, clean up failures), and waits for the cluster to
//! be whole again with everything where the policy puts it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::api::{self, Request, StatusReport};

use super::super::cluster::{placements, runs_on};
use super::stack::worker_state;
use super::{Chaos, alive};

/// How long the settled state must hold before it counts.
const STABLE: Duration = Duration::from_millis(1500);
/// A node powered off is powered on again once a fence of it is recorded,
/// or after this long (it was not fenced: nobody needed to).
const BOOT_WITHOUT_FENCE: Duration = Duration::from_secs(20);
const CLEANUP_EVERY: Duration = Duration::from_secs(5);

pub(super) fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Chaos {
    /// Waits up to `within` for the settled state; returns when it was
    /// first reached (after `since`), or why it was not.
    pub(super) fn settle(&mut self, since: Instant, within: Duration) -> Result<Duration, String> {
        let deadline = Instant::now() + within;
        let mut first_ok: Option<Instant> = None;
        let mut why = String::new();
        while Instant::now() < deadline {
            self.revive();
            match self.settled() {
                Ok(_) => {
                    let at = *first_ok.get_or_insert_with(Instant::now);
                    if at.elapsed() >= STABLE {
                        return Ok(at.saturating_duration_since(since));
                    }
                }
                Err(e) => {
                    first_ok = None;
                    why = e;
                    self.clean_up_failures();
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(why)
    }

    /// Powers on a node that is off (once it was fenced) and starts a
    /// daemon that is not running on a powered node (unless the fault
    /// stopped it).
    fn revive(&mut self) {
        for node in 1..=2u8 {
            let k = usize::from(node - 1);
            if !self.cluster.lab.powered(node) {
                self.daemons[k] = None;
                if self.down_since[k].is_none() {
                    self.note(format!("node{node} is off"));
                }
                // A fence of it during the fault counts (it may have been fenced
                // while the fault was held, before this loop saw it off).
                let (since, epoch) =
                    *self.down_since[k].get_or_insert((Instant::now(), self.t0_epoch));
                let fenced = self.fenced_since(node, epoch);
                if fenced || since.elapsed() > BOOT_WITHOUT_FENCE {
                    self.note(format!(
                        "node{node} powered on ({})",
                        if fenced {
                            "its fence is recorded"
                        } else {
                            "not fenced"
                        }
                    ));
                    if let Err(e) = self.cluster.lab.power_on(node) {
                        self.note(format!("cannot power node{node} on: {e}"));
                        continue;
                    }
                    self.down_since[k] = None;
                    self.start_daemon(node);
                }
                continue;
            }
            if self.stopped[k] {
                continue;
            }
            if !self.daemons[k].is_some_and(alive) {
                self.note(format!(
                    "node{node}'s daemon was not running: started again"
                ));
                self.start_daemon(node);
            }
        }
    }

    /// A fence of `node` completed at `epoch` or later, per the other node.
    fn fenced_since(&self, node: u8, epoch: i64) -> bool {
        let name = format!("node{node}");
        self.cluster.report(3 - node).is_some_and(|r| {
            r.fencing_history.iter().any(|f| {
                f.target == name
                    && f.result == "ok"
                    && f.action != "on"
                    && f.completed.is_some_and(|t| t + 1 >= epoch)
            })
        })
    }

    /// The operator's `resource cleanup` of what failed, once both nodes
    /// are members again (an agent fault leaves failures that keep a
    /// resource off a node until cleaned up; so may other faults).
    fn clean_up_failures(&mut self) {
        if self
            .last_cleanup
            .is_some_and(|t| t.elapsed() < CLEANUP_EVERY)
        {
            return;
        }
        let Some(r) = self.cluster.report(1) else {
            return;
        };
        // A failure recovered from in place stays listed (as crm_mon
        // lists it) but is not what keeps the cluster from settling.
        if r.membership.members.len() != 2 || r.failed_actions.iter().all(|f| f.recovered) {
            return;
        }
        self.rebuild_old_primary(&r);
        for (resource, node) in self.cleanups_due(&r) {
            let cleanup = Request::Cleanup {
                resource: resource.clone(),
                node,
            };
            let _ = api::call(&self.cluster.socket(1), &cleanup);
            self.cleanups.push(resource);
        }
        self.last_cleanup = Some(Instant::now());
    }

    /// The resources whose failures to clean up (everywhere), but db's
    /// not on a node whose PostgreSQL waits for its rebuild (pgsql's lock,
    /// no server): an operator copies the data first. Cleaned up there,
    /// db started again and failed on the lock, before a primary was
    /// promoted or while its stop ran, every 5 s (seed 12 faults 32 and
    /// 45, 90 s).
    fn cleanups_due(&self, r: &StatusReport) -> Vec<(String, Option<String>)> {
        let failed: Vec<(String, String)> = r
            .failed_actions
            .iter()
            .filter(|f| !f.recovered)
            .map(|f| {
                let resource = f.resource.split(':').next().unwrap_or_default();
                (resource.to_string(), f.node.clone())
            })
            .collect();
        let locked: Vec<String> = (1..=2u8)
            .filter(|&n| self.pg_bindir.is_some() && super::pgsql::awaits_rebuild(&self.cluster, n))
            .map(|n| format!("node{n}"))
            .collect();
        let mut due: Vec<(String, Option<String>)> = failed
            .into_iter()
            .filter_map(
                |(resource, node)| match resource == "db" && !locked.is_empty() {
                    false => Some((resource, None)),
                    true => (!locked.contains(&node)).then_some((resource, Some(node))),
                },
            )
            .collect();
        due.sort();
        due.dedup();
        due
    }

    /// Both nodes up in one view with one DC and one document, nothing
    /// failed, and on one node (returned) the primary, the VIP and the
    /// worker, the other node's db an unpromoted instance. Else why not.
    pub(super) fn settled(&self) -> Result<u8, String> {
        let mut reports = Vec::new();
        for node in 1..=2u8 {
            if !self.cluster.lab.powered(node) {
                return Err(format!("node{node} is off"));
            }
            let r = self
                .cluster
                .report(node)
                .ok_or_else(|| format!("node{node} does not answer"))?;
            reports.push(r);
        }
        let (a, b) = (&reports[0], &reports[1]);
        whole(a, b)?;
        // A fence still running (its delay, the device) is not settled: seed
        // 10 fault 10 on 5bf80f1 counted the view both nodes were back in,
        // 1.4 s after a pause, while node2 waited out its fencing delay to
        // power node1 off, and fault 11 then hit the wrong node.
        for r in [a, b] {
            if let Some(f) = r.fencing_pending.first() {
                return Err(format!("{} is fencing {}", r.membership.node, f.target));
            }
        }
        if a.failed_actions.iter().any(|f| !f.recovered) {
            return Err(format!("failed actions: {:?}", a.failed_actions));
        }
        let active = placed(a, self.cluster.lab.dir())?;
        if self.pg_bindir.is_some() {
            streaming(&reports[usize::from(active - 1)], 3 - active)?;
        }
        Ok(active)
    }

    /// The pgsql stack: a node that ran the primary when it lost power (or
    /// was fenced) keeps pgsql's lock, and pgsql refuses to start there
    /// until an operator copies the primary's data afresh: done here, once
    /// the other node runs the primary, before the cleanup.
    fn rebuild_old_primary(&mut self, r: &StatusReport) {
        let Some(bindir) = self.pg_bindir.clone() else {
            return;
        };
        let Some(primary) =
            (1..=2u8).find(|&i| runs_on(r, "db", &format!("node{i}"), Some("Promoted")))
        else {
            return;
        };
        // As an operator would: once nothing of db runs there any more (a
        // rebuild under the agent's stop left the stop hanging until its
        // 60 s timeout, seed 8 fault 2).
        if runs_on(r, "db", &format!("node{}", 3 - primary), None) {
            return;
        }
        match super::pgsql::rebuild_locked(&self.cluster, &bindir, primary) {
            Some(Ok(node)) => self.note(format!(
                "node{node}'s PostgreSQL rebuilt from node{primary}'s (pgsql's lock)"
            )),
            Some(Err(e)) => self.note(format!("rebuilding a standby failed: {e}")),
            None => {}
        }
    }
}

fn whole(a: &StatusReport, b: &StatusReport) -> Result<(), String> {
    for r in [a, b] {
        if r.membership.members != ["node1", "node2"] {
            return Err(format!(
                "{} sees members {:?}",
                r.membership.node, r.membership.members
            ));
        }
    }
    if a.membership.view_id != b.membership.view_id || a.dc.is_none() || a.dc != b.dc {
        return Err(format!(
            "views {} / {}, DCs {:?} / {:?}",
            a.membership.view_id, b.membership.view_id, a.dc, b.dc
        ));
    }
    if a.config_version != b.config_version {
        return Err(format!(
            "documents {:?} / {:?}",
            a.config_version, b.config_version
        ));
    }
    Ok(())
}

/// The pgsql stack: the primary's report shows the standby on node
/// `standby` streaming in sync and promotable.
fn streaming(primary: &StatusReport, standby: u8) -> Result<(), String> {
    let name = format!("node{standby}");
    let status = primary.node_attribute(&name, "db-data-status");
    if status.is_some_and(|s| s == "STREAMING|SYNC")
        && super::super::postgres::standby_promotable(primary, &name)
    {
        Ok(())
    } else {
        Err(format!(
            "{name}'s standby: {status:?}, not streaming in sync"
        ))
    }
}

/// Where the policy puts the resources, in `r` and on the ground.
fn placed(r: &StatusReport, lab_dir: &std::path::Path) -> Result<u8, String> {
    let primaries: Vec<(String, String)> = placements(r, "db")
        .into_iter()
        .filter(|(_, role)| role == "Promoted")
        .collect();
    let [(primary, _)] = primaries.as_slice() else {
        return Err(format!("primaries: {primaries:?}"));
    };
    let active: u8 = if primary == "node1" { 1 } else { 2 };
    let other = format!("node{}", 3 - active);
    let ok = runs_on(r, "db", &other, None)
        && !runs_on(r, "db", &other, Some("Promoted"))
        && placements(r, "vip") == [(primary.clone(), "Started".to_string())]
        && placements(r, "worker") == [(primary.clone(), "Started".to_string())]
        && worker_state(lab_dir, active).exists()
        && !worker_state(lab_dir, 3 - active).exists();
    if ok {
        Ok(active)
    } else {
        Err(format!(
            "resources not where the policy puts them: {:?}",
            r.resources
        ))
    }
}
