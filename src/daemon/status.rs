//! What the daemon shows of itself: membership status and the full
//! report (`paceline status`), warnings, the state file, and the health
//! the watchdog policy judges.

use std::time::{Duration, Instant};

use super::{Daemon, log, report};
use crate::api::{ClusterStatusView, IncompatibleNode, NodeView, StatusReport};
use crate::config::runtime::FencingMode;
use crate::membership::PeerState;
use crate::scheduler::LeftAsIs;
use paceline_fencing::watchdog::FeedOutcome;
use paceline_fencing::watchdog_policy::NodeHealth;

impl Daemon {
    /// Whether any member still has unacknowledged channel messages from us.
    /// The replicated status says some resource is active on this node.
    pub(super) fn document_shows_active_here(&self) -> bool {
        self.document_shows_active_here_but(&LeftAsIs::default())
    }

    /// The replicated status says some resource is active on this node,
    /// counting none of `left` (what the cluster leaves as it is here).
    pub(super) fn document_shows_active_here_but(&self, left: &LeftAsIs) -> bool {
        !crate::node::shutdown::runs_nothing(&self.store.doc().status, &self.own.name, left)
    }

    /// What the cluster leaves as it is on this node (unmanaged, in
    /// maintenance): a clean shutdown leaves it running.
    pub(super) fn left_as_is_here(&self) -> LeftAsIs {
        self.parsed_config()
            .map(|config| {
                crate::scheduler::left_as_is(
                    config,
                    &self.store.doc().status,
                    &self.own.name,
                    super::driver::wall_now(),
                )
            })
            .unwrap_or_default()
    }

    /// The health the watchdog policy judges: this loop is running (it
    /// would not get here otherwise), the partition is quorate, a peer is
    /// still seen (two-node clusters), or this node has not been quorate
    /// since it armed the watchdog in this boot and runs nothing.
    pub(super) fn health(&self) -> NodeHealth {
        let status = self.machine.status();
        NodeHealth {
            healthy: true,
            quorate: status.quorum.quorate,
            // Seeing one peer proves nothing in a larger cluster (a 2 of 5
            // minority sees a peer); the policy counts it for two nodes only,
            // where watchdog fencing is refused at load anyway.
            sees_peer: self.settings.nodes.len() == 2
                && status.peers.iter().any(|p| p.state == PeerState::Online),
            never_quorate: self.watchdog.as_ref().is_some_and(|w| !w.ever_quorate)
                && !self.document_shows_active_here(),
        }
    }

    /// On a membership change: the first quorum since the watchdog was
    /// armed ends the grace of `NodeHealth::never_quorate`, and is written
    /// down before the store hears of the view (starts need quorum), so
    /// that a daemon restarted in this boot knows it may hold resources.
    pub(super) fn note_quorum_for_watchdog(&mut self) {
        let Some(wd) = self.watchdog.as_mut() else {
            return;
        };
        if wd.ever_quorate || !self.machine.status().quorum.quorate {
            return;
        }
        wd.ever_quorate = true;
        if let Err(e) = mark_quorate_in_this_boot(&wd.marker) {
            log(&format!(
                "cannot write {}: {e}; a restart of this daemon in this boot would keep feeding the watchdog until it is quorate again",
                wd.marker.display()
            ));
        }
    }

    pub(super) fn feed_watchdog(&mut self) {
        let health = self.health();
        let Some(wd) = self.watchdog.as_mut() else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(wd.last_tick) < wd.feeder.tick_interval() {
            return;
        }
        wd.last_tick = now;
        let was_starving = wd.feeder.starving_since().is_some();
        match wd.feeder.tick(health, now) {
            Ok(FeedOutcome::Fed) if was_starving => {
                log("quorum regained; feeding the watchdog again");
            }
            Ok(FeedOutcome::Starved) if !was_starving => log(&format!(
                "no quorum and no peer: no longer feeding the watchdog; this node resets within {:?}",
                wd.feeder.watchdog().timeout()
            )),
            Ok(_) => {}
            Err(e) => log(&e.to_string()),
        }
    }

    pub(super) fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        match self.settings.fencing {
            FencingMode::Enabled => {}
            FencingMode::Disabled => {
                w.push(paceline_fencing::readiness::FENCING_DISABLED_WARNING.to_string());
            }
            FencingMode::NotConfigured => w.push(
                "no [fencing] section: fencing is off; add one with enabled = true (or spell out enabled = false)".to_string(),
            ),
        }
        if let Some(writing) = self.store.writing_for()
            && writing >= super::writer::SLOW_WRITE
        {
            w.push(format!(
                "writing the cluster's document has taken {writing:?} so far ({} command(s) wait for it): the state directory's disk is slow or stuck",
                self.store.waiting()
            ));
        }
        if let Some((took, at)) = self.store.slow_write {
            let ago = at.elapsed().unwrap_or_default();
            if ago < Duration::from_secs(600) {
                w.push(format!(
                    "a write of the cluster's document took {took:?} ({}s ago): the state directory's disk is slow; replies and actions wait for it",
                    ago.as_secs()
                ));
            }
        }
        if let Some(wd) = &self.watchdog
            && wd.feeder.starving_since().is_some()
        {
            w.push(format!(
                "the watchdog {} is not being fed (no quorum, no peer): this node is about to reset",
                wd.device.display()
            ));
        }
        w
    }

    pub(super) fn status_view(&self) -> ClusterStatusView {
        let status = self.machine.status();
        let mut nodes = vec![NodeView {
            name: self.own.name.clone(),
            id: self.own.id,
            state: PeerState::Online,
            links: Vec::new(),
            local: true,
        }];
        for p in &status.peers {
            nodes.push(NodeView {
                name: self.settings.node_name(p.id),
                id: p.id,
                state: p.state,
                links: p
                    .links_up
                    .iter()
                    .map(|&u| if u { "up" } else { "down" }.to_string())
                    .collect(),
                local: false,
            });
        }
        nodes.sort_by_key(|n| n.id);
        ClusterStatusView {
            cluster: self.settings.cluster_name.clone(),
            node: self.own.name.clone(),
            node_id: self.own.id,
            view_id: status.view.id,
            members: status
                .view
                .members
                .iter()
                .map(|&m| self.settings.node_name(m))
                .collect(),
            nodes,
            quorum: status.quorum,
            wire: self.decoder.counters().clone(),
            incompatible: self
                .incompatible
                .iter()
                .map(|(&n, &version)| IncompatibleNode {
                    node: self.settings.node_name(n),
                    version,
                })
                .collect(),
            pauses: self.pauses,
            warnings: self.warnings(),
            keys: self.keyring.status(&self.other_members()),
            protocol_version: status.protocol_version,
            witness: status.witness,
        }
    }

    pub(super) fn report(&self) -> StatusReport {
        let derived = report::derived(
            self.parsed_config(),
            &self.store.doc().status,
            &self.fence_history_path(),
        );
        self.report_with(derived)
    }

    /// The report around what `report::derived` made of the configuration
    /// and the replicated status (the HTTP endpoint makes that part off
    /// the event loop: `daemon::http`).
    pub(super) fn report_with(&self, derived: report::Derived) -> StatusReport {
        let mut membership = self.status_view();
        if self.parsed_config().is_none() {
            membership.warnings.push(
                "the cluster configuration does not load (see the log); resources are not managed from it".into(),
            );
        }
        if self
            .store
            .loaded()
            .and_then(|c| c.runtime.as_ref())
            .is_some_and(|running| !running.same_membership(&self.settings))
        {
            membership.warnings.push(
                "the cluster configuration's [cluster]/[membership]/[quorum]/[[node]] settings differ from what this daemon runs with: install the file on every node and restart the nodes one at a time".into(),
            );
        }
        if let Some(why) = self
            .http_failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
        {
            membership.warnings.push(format!(
                "the cluster configuration's [http] is not served here: {why}"
            ));
        }
        if self.fencing_ready == Some(false) {
            membership.warnings.push(format!(
                "fencing not ready, no resource starts: {}",
                self.fencing_blockers.join("; ")
            ));
        }
        if self.store.dc().is_none() || !self.machine.status().quorum.quorate {
            membership
                .warnings
                .push("no quorum: no DC manages the cluster from this partition".into());
        }
        let mut tickets = derived.tickets;
        if let Some(site) = &self.site {
            site.describe(
                &mut tickets,
                self.start.elapsed(),
                super::driver::wall_now(),
            );
        }
        StatusReport {
            membership,
            dc: self.store.dc().map(|d| self.settings.node_name(d)),
            dc_idle: self.store.is_dc().then(|| self.store.dc_idle()),
            config_version: self.store.doc().version,
            resources: derived.resources,
            failed_actions: derived.failed_actions,
            cli_constraints: derived.cli_constraints,
            standby: derived.standby,
            maintenance: derived.maintenance,
            node_attributes: derived.node_attributes,
            permanent_attributes: derived.permanent_attributes,
            fencing_history: derived.fencing_history,
            fencing_pending: self.fencing_now.values().cloned().collect(),
            tickets,
            channel: self.channel.counters().clone(),
            instances: derived.instances,
            last_change: self.last_change.clone(),
        }
    }

    /// Writes the state atomically so readers never see half a file.
    pub(super) fn write_state(&self) {
        let dir = &self.settings.state_dir;
        let result = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!("membership.json.{}.tmp", std::process::id()));
            let text =
                serde_json::to_vec_pretty(&self.status_view()).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, dir.join("membership.json"))
        })();
        if let Err(e) = result {
            log(&format!("cannot write state to {}: {e}", dir.display()));
        }
    }
}

/// The state directory's record that this node was quorate with its
/// watchdog armed, tagged with the kernel's boot id: a daemon restarted in
/// the same boot (a crash, systemd's restart) may still hold what it ran,
/// so it gets no grace before its first quorum; a new boot (the watchdog
/// or a fence reset the machine, or a clean leave removed the file) does.
pub(super) const WATCHDOG_MARKER: &str = "watchdog-quorate-boot";

const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

fn boot_id() -> std::io::Result<String> {
    Ok(std::fs::read_to_string(BOOT_ID)?.trim().to_string())
}

/// Whether `marker` names this boot. Unreadable counts as yes: no grace
/// is the safe side.
pub(super) fn quorate_earlier_in_this_boot(marker: &std::path::Path) -> bool {
    match std::fs::read_to_string(marker) {
        Ok(text) => boot_id().map_or(true, |id| text.trim() == id),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => true,
    }
}

fn mark_quorate_in_this_boot(marker: &std::path::Path) -> std::io::Result<()> {
    std::fs::write(marker, format!("{}\n", boot_id()?))
}

/// A clean leave: the peers know this node is gone and run nothing of it.
pub(super) fn forget_quorate_in_this_boot(marker: &std::path::Path) {
    if let Err(e) = std::fs::remove_file(marker)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        log(&format!("cannot remove {}: {e}", marker.display()));
    }
}
