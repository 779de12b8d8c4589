//! The event loop: one thread serves every event (timers, packets, API
//! calls, agents' and fence devices' results, signals), so no machine is
//! ever touched from two threads; then the clean shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{UdpSocket, UnixListener};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};

use super::api_server::{self, ApiCall};
use super::executor_service::Finished;
use super::{Daemon, driver, log, notify};
use crate::controller::{FenceOutcome, Input, Planned};
use crate::membership::WitnessEvent;
use crate::node::shutdown;
use crate::node::site_tickets::SiteEvent;

/// How long a clean shutdown waits for this node's resources to be stopped.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(60);

/// How long the last messages get to be acknowledged before leaving.
const FLUSH_BOUND: Duration = Duration::from_secs(2);

/// One event that holds the loop longer than this is logged with what it
/// was: heartbeats wait meanwhile, and a loop held past the token timeout
/// makes this node look dead to its peers.
const SLOW_EVENT: Duration = Duration::from_millis(100);

/// A fencing readiness verdict: (generation, ready, blockers).
pub(super) type Readiness = (u64, bool, Vec<String>);

/// A plan made on a blocking thread, or why none came (the policy engine
/// panicked).
pub(super) type PlanOutcome = Result<Box<Planned>, String>;

/// The sending halves, kept by the daemon's parts that report back.
pub(super) struct EventSenders {
    pub exec: mpsc::UnboundedSender<Finished>,
    pub fence: mpsc::UnboundedSender<FenceOutcome>,
    pub readiness: mpsc::UnboundedSender<Readiness>,
    /// The document writer's completions.
    pub written: mpsc::UnboundedSender<super::writer::Written>,
    pub planned: mpsc::UnboundedSender<PlanOutcome>,
    /// Configurations loaded on a blocking thread (`ClusterStore::load`).
    pub loaded: mpsc::UnboundedSender<super::cluster::Loaded>,
    /// The shims' attribute file as the poller read it (`attributes.rs`).
    pub attributes: mpsc::UnboundedSender<super::attributes::Snapshot>,
    /// What the witness's etcd task reports (`daemon::witness`).
    pub witness: mpsc::UnboundedSender<WitnessEvent>,
    /// What the site tickets' etcd task reports (`daemon::site_tickets`).
    pub site: mpsc::UnboundedSender<SiteEvent>,
}

/// The sources of the daemon's events.
pub(super) struct Events {
    pub socket_path: PathBuf,
    packets: mpsc::Receiver<Vec<u8>>,
    packets_tx: mpsc::Sender<Vec<u8>>,
    api: mpsc::Receiver<ApiCall>,
    api_tx: mpsc::Sender<ApiCall>,
    exec: mpsc::UnboundedReceiver<Finished>,
    fence: mpsc::UnboundedReceiver<FenceOutcome>,
    readiness: mpsc::UnboundedReceiver<Readiness>,
    written: mpsc::UnboundedReceiver<super::writer::Written>,
    planned: mpsc::UnboundedReceiver<PlanOutcome>,
    loaded: mpsc::UnboundedReceiver<super::cluster::Loaded>,
    attributes: mpsc::UnboundedReceiver<super::attributes::Snapshot>,
    witness: mpsc::UnboundedReceiver<WitnessEvent>,
    site: mpsc::UnboundedReceiver<SiteEvent>,
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
    /// Membership ticks (heartbeat / 4).
    ticker: Interval,
    /// Channel retransmissions, controller ticks (50 ms).
    channel_ticker: Interval,
    /// systemd's watchdog (WATCHDOG=1), when the unit sets `WatchdogSec=`.
    systemd_watchdog: Option<Interval>,
}

/// One event, as the loop hands it to the daemon.
enum Event {
    MembershipTick,
    ChannelTick,
    Packet(Vec<u8>),
    Api(ApiCall),
    Finished(Finished),
    FenceOutcome(FenceOutcome),
    Readiness(Readiness),
    Written(super::writer::Written),
    Planned(PlanOutcome),
    Loaded(super::cluster::Loaded),
    Attributes(super::attributes::Snapshot),
    Witness(WitnessEvent),
    Site(SiteEvent),
    SystemdWatchdog,
    Reload,
    Stop,
}

impl Event {
    /// What the slow-event line names.
    fn kind(&self) -> &'static str {
        match self {
            Event::MembershipTick => "a membership tick",
            Event::ChannelTick => "a channel tick",
            Event::Packet(_) => "a datagram",
            Event::Api((request, _, _)) => request.name(),
            Event::Finished(_) => "an agent's result",
            Event::FenceOutcome(_) => "a fencing outcome",
            Event::Readiness(_) => "a fencing readiness verdict",
            Event::Written(_) => "a document write done",
            Event::Planned(_) => "a plan",
            Event::Loaded(_) => "a configuration loaded",
            Event::Attributes(_) => "the agents' attributes read",
            Event::Witness(_) => "the witness's answer",
            Event::Site(_) => "a site ticket's answer",
            Event::Reload => "a reload",
            Event::Stop => "a stop",
            Event::SystemdWatchdog => "systemd's watchdog ping",
        }
    }
}

impl Events {
    pub fn new(heartbeat: Duration, socket_path: PathBuf) -> anyhow::Result<(EventSenders, Self)> {
        let (exec_tx, exec) = mpsc::unbounded_channel();
        let (fence_tx, fence) = mpsc::unbounded_channel();
        let (readiness_tx, readiness) = mpsc::unbounded_channel();
        let (written_tx, written) = mpsc::unbounded_channel();
        let (planned_tx, planned) = mpsc::unbounded_channel();
        let (loaded_tx, loaded) = mpsc::unbounded_channel();
        let (attributes_tx, attributes) = mpsc::unbounded_channel();
        let (witness_tx, witness) = mpsc::unbounded_channel();
        let (site_tx, site) = mpsc::unbounded_channel();
        let (packets_tx, packets) = mpsc::channel(1024);
        let (api_tx, api) = mpsc::channel(16);
        let mut ticker = tokio::time::interval(heartbeat / 4);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut channel_ticker = tokio::time::interval(Duration::from_millis(50));
        channel_ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let senders = EventSenders {
            exec: exec_tx,
            fence: fence_tx,
            readiness: readiness_tx,
            written: written_tx,
            planned: planned_tx,
            loaded: loaded_tx,
            attributes: attributes_tx,
            witness: witness_tx,
            site: site_tx,
        };
        let events = Events {
            socket_path,
            packets,
            packets_tx,
            api,
            api_tx,
            exec,
            fence,
            readiness,
            written,
            planned,
            loaded,
            attributes,
            witness,
            site,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
            ticker,
            channel_ticker,
            systemd_watchdog: notify::watchdog_interval().map(|every| {
                let mut interval = tokio::time::interval(every);
                interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
                interval
            }),
        };
        Ok((senders, events))
    }

    /// One receiving task per link feeds the loop its datagrams.
    pub fn receive_packets(&self, sockets: Vec<Arc<UdpSocket>>) {
        for socket in sockets {
            let tx = self.packets_tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    match socket.recv_from(&mut buf).await {
                        Ok((len, _)) => {
                            if tx.send(buf[..len].to_vec()).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => log(&format!("receive error: {e}")),
                    }
                }
            });
        }
    }

    /// The API server hands each client's request to the loop.
    pub fn serve_api(&self, listener: UnixListener) {
        tokio::spawn(api_server::serve_api(listener, self.api_tx.clone()));
    }

    async fn next(&mut self) -> Event {
        tokio::select! {
            _ = self.ticker.tick() => Event::MembershipTick,
            _ = self.channel_ticker.tick() => Event::ChannelTick,
            Some(packet) = self.packets.recv() => Event::Packet(packet),
            Some(call) = self.api.recv() => Event::Api(call),
            Some(finished) = self.exec.recv() => Event::Finished(finished),
            Some(outcome) = self.fence.recv() => Event::FenceOutcome(outcome),
            Some(verdict) = self.readiness.recv() => Event::Readiness(verdict),
            Some(written) = self.written.recv() => Event::Written(written),
            Some(plan) = self.planned.recv() => Event::Planned(plan),
            Some(loaded) = self.loaded.recv() => Event::Loaded(loaded),
            Some(snapshot) = self.attributes.recv() => Event::Attributes(snapshot),
            Some(answer) = self.witness.recv() => Event::Witness(answer),
            Some(answer) = self.site.recv() => Event::Site(answer),
            _ = tick_if_any(&mut self.systemd_watchdog) => Event::SystemdWatchdog,
            _ = self.terminate.recv() => Event::Stop,
            _ = self.interrupt.recv() => Event::Stop,
            _ = self.hangup.recv() => Event::Reload,
        }
    }
}

/// Waits for the next tick of a timer that may not exist (then forever).
async fn tick_if_any(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl Daemon {
    /// Serves events until SIGTERM or SIGINT (SIGHUP reloads: `reload.rs`).
    pub(super) async fn serve(&mut self, events: &mut Events) {
        loop {
            let event = events.next().await;
            if !self.handle(event).await {
                return;
            }
        }
    }

    /// Carries out one event; false when it asks the daemon to stop (a
    /// signal, or a store that can no longer persist).
    async fn handle(&mut self, event: Event) -> bool {
        let started = Instant::now();
        let what = event.kind();
        match event {
            Event::MembershipTick => {
                let now = self.start.elapsed();
                let out = self.machine.tick(now);
                self.apply(out).await;
                self.feed_watchdog();
                self.site_step().await;
            }
            Event::ChannelTick => self.on_channel_tick().await,
            Event::Packet(packet) => self.on_packet(&packet).await,
            Event::Api((request, uid, reply)) => self.answer(request, uid, reply).await,
            Event::Finished(finished) => self.on_exec_finished(finished).await,
            Event::FenceOutcome(outcome) => self.on_fence_outcome(outcome),
            Event::Readiness((generation, ready, blockers)) => {
                self.on_readiness(generation, ready, blockers);
            }
            Event::Written(written) => {
                let effects = self.store.on_written(self.now_ms(), written);
                self.apply_store(effects).await;
            }
            Event::Planned(outcome) => self.on_planned(outcome),
            Event::Attributes(snapshot) => self.apply_attributes(snapshot).await,
            Event::Witness(answer) => {
                let now = self.start.elapsed();
                let out = self.machine.witness(now, answer);
                self.apply(out).await;
            }
            Event::Site(answer) => self.on_site_event(answer).await,
            Event::Loaded(loaded) => {
                let effects = self.store.on_loaded(self.now_ms(), loaded);
                self.apply_store(effects).await;
            }
            // Sent from the loop itself: a handler that hangs stops the
            // pings and systemd restarts the daemon (on-failure).
            Event::SystemdWatchdog => notify::watchdog(),
            Event::Reload => self.reload(),
            Event::Stop => return false,
        }
        self.drain().await;
        let held = started.elapsed();
        if held > SLOW_EVENT {
            log(&format!(
                "the event loop was held {held:?} by {what} (heartbeats wait meanwhile; the token timeout is {:?})",
                self.settings.token_timeout
            ));
        }
        self.fatal.is_none()
    }

    /// Clean shutdown: ask the DC to move everything away (the `shutdown`
    /// attribute, as Pacemaker), keep serving until this node runs nothing
    /// or the bound passes, then leave. A second signal leaves at once.
    pub(super) async fn shut_down(&mut self, events: &mut Events) {
        notify::stopping("moving resources away, then leaving");
        let request = shutdown::request(&self.own.name, driver::wall_now());
        self.record_status(request).await;
        self.controller_input(Input::Tick);
        self.drain().await;
        self.wait_until_stopped_here(events).await;
        if self.fatal.is_some() {
            return;
        }
        self.executor.stop_all();
        self.flush_channel(events).await;
        self.leave(events).await;
    }

    /// Serves events (status stays available) until this node runs nothing
    /// and the cluster's document says so too: a stop's result must have
    /// reached the DC before this node leaves, or the DC would count the
    /// resource as possibly active and fence us.
    /// What the cluster leaves as it is here (unmanaged, in maintenance)
    /// is not waited for: it is never stopped, and keeps running (with its
    /// monitors until the executor stops) after the node leaves.
    async fn wait_until_stopped_here(&mut self, events: &mut Events) {
        let left = self.left_as_is_here();
        let busy = self.executor.busy_but(&left);
        if busy > 0 {
            log(&format!(
                "shutting down: waiting up to {SHUTDOWN_BOUND:?} for the {busy} action(s) and monitor(s) of this node to be stopped"
            ));
        }
        let bound = tokio::time::sleep(SHUTDOWN_BOUND);
        tokio::pin!(bound);
        loop {
            let left = self.left_as_is_here();
            if self.executor.busy_but(&left) == 0
                && !self.document_shows_active_here_but(&left)
                && self.store.quiescent()
            {
                break;
            }
            let event = tokio::select! {
                event = events.next() => event,
                _ = &mut bound => {
                    log("shutting down: resources still active here after the bound; leaving anyway");
                    return;
                }
            };
            if !self.handle(event).await {
                return;
            }
        }
    }

    /// Lets the last messages (results, the shutdown attribute) be
    /// acknowledged before leaving, briefly.
    async fn flush_channel(&mut self, events: &mut Events) {
        let flush_until = Instant::now() + FLUSH_BOUND;
        while self.channel_pending() && Instant::now() < flush_until {
            tokio::select! {
                _ = events.channel_ticker.tick() => self.on_channel_tick().await,
                Some(packet) = events.packets.recv() => self.on_packet(&packet).await,
            }
        }
    }

    async fn leave(&mut self, events: &Events) {
        let out = self.machine.leave();
        self.apply(out).await;
        if let Some(wd) = self.watchdog.take() {
            // A clean leave: the peers know we are gone, so nobody will wait
            // for our watchdog; disarm it with the magic close.
            super::status::forget_quorate_in_this_boot(&wd.marker);
            match wd.feeder.disarm() {
                Ok(()) => log(&format!("watchdog {} disarmed", wd.device.display())),
                Err(e) => log(&e.to_string()),
            }
        }
        let _ = std::fs::remove_file(&events.socket_path);
        log("left the cluster cleanly");
    }
}
