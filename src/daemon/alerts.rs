//! Alert agents (Pacemaker's alerts): on a node, fencing, resource or
//! attribute event this node sees (a fencing event on every node, from the
//! replicated fencing history), every `[[alert]]` that selects its kind
//! runs once per recipient with Pacemaker's `CRM_alert_*` environment (and
//! the same values as `CRM_notify_*`, as Pacemaker sets for ClusterMon's
//! older scripts), so Pacemaker's sample agents work unmodified.
//!
//! The event loop only builds the environment and hands it over
//! (`try_send`, never waiting): the agents run on the `alerts` thread with
//! a runtime of their own, at most `MAX_RUNNING` at once, each killed (its
//! whole process group) after its timeout. A failing, hanging or missing
//! agent is logged and counted (`paceline_alerts_total`) and never delays
//! anything the cluster does; past `QUEUE` waiting runs, new ones are
//! dropped and logged.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, mpsc};

use super::log;
use crate::model::FenceEvent;
use crate::model::alert::{Alert, AlertKind, StampPiece, TimestampFormat};

/// Agents running at once.
const MAX_RUNNING: usize = 16;
/// Runs waiting for their turn; beyond, new ones are dropped.
const QUEUE: usize = 256;
/// What an agent may print that is kept for the log line of its failure.
const OUTPUT_KEPT: usize = 512;
/// `CRM_alert_version`: the Pacemaker release whose alert interface
/// this follows (the sample agents refuse to run without one).
pub(super) const PACEMAKER_VERSION: &str = "2.1.5";

/// One event, with its kind-specific variables (`node`, `desc`, `rsc`, ...
/// without the `CRM_alert_` prefix).
#[derive(Debug, Clone)]
pub(super) struct AlertEvent {
    pub kind: AlertKind,
    pub vars: Vec<(&'static str, String)>,
    /// An attribute event's attribute (for `select_attributes`).
    pub attribute: Option<String>,
}

/// One agent run.
#[derive(Debug)]
struct Run {
    alert: String,
    path: String,
    timeout: Duration,
    env: Vec<(String, String)>,
}

/// Runs by outcome, read by the metrics.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    pub timeout: AtomicU64,
    pub dropped: AtomicU64,
}

/// The event loop's end.
pub(super) struct Alerts {
    tx: mpsc::Sender<Run>,
    sequence: u64,
    pub tally: Arc<Tally>,
}

impl Alerts {
    /// Starts the `alerts` thread.
    pub fn start() -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let tally = Arc::new(Tally::default());
        let counts = tally.clone();
        std::thread::Builder::new()
            .name("alerts".into())
            .spawn(move || run_thread(rx, counts))?;
        Ok(Alerts {
            tx,
            sequence: 0,
            tally,
        })
    }

    /// Hands `event` to every alert that selects it, once per recipient.
    pub fn send(&mut self, alerts: &[Alert], own: &str, event: &AlertEvent) {
        let selected: Vec<&Alert> = alerts.iter().filter(|a| selects(a, event)).collect();
        if selected.is_empty() {
            return;
        }
        self.sequence += 1;
        let now = SystemTime::now();
        for alert in selected {
            for run in runs(alert, own, event, self.sequence, now) {
                if self.tx.try_send(run).is_err() {
                    self.tally.dropped.fetch_add(1, Ordering::Relaxed);
                    log(&format!(
                        "alert {}: dropped ({QUEUE} agent runs already wait)",
                        alert.id
                    ));
                }
            }
        }
    }
}

/// Which events of the replicated fencing history this node has alerted:
/// the highest id of each origin (an origin numbers its events upwards,
/// `controller::patch::next_fence_id`; a coalesced retry takes a new id
/// and is a new event). Events completed before this daemon started are
/// not alerted (Pacemaker alerts what happens while it runs; the history
/// a node syncs when it joins is its past): the history keeps whole
/// seconds, so an event of the very second the daemon started counts as
/// before it (a node fenced and restarted within that second must not
/// alert its own fence, while in its first second a daemon has not
/// joined a cluster that could fence anything).
#[derive(Debug, Default)]
pub(super) struct FenceAlerts {
    seen: std::collections::BTreeMap<String, u64>,
    /// The document's version last looked at.
    version: Option<crate::store::Version>,
    /// Wall-clock seconds this daemon started at.
    since: i64,
}

impl FenceAlerts {
    pub fn new(since: i64) -> Self {
        FenceAlerts {
            since,
            ..Default::default()
        }
    }

    /// The events of `history` (oldest first) not alerted yet that
    /// completed since the daemon started; each is returned once.
    fn fresh<'a>(&mut self, history: &'a [FenceEvent]) -> Vec<&'a FenceEvent> {
        let mut out = Vec::new();
        for e in history {
            let seen = self.seen.entry(e.origin.clone()).or_insert(0);
            if e.id <= *seen {
                continue;
            }
            *seen = e.id;
            if e.completed > self.since {
                out.push(e);
            }
        }
        out
    }
}

/// Pacemaker's fencing alert for one event of the history (its
/// description reads as Pacemaker's: "Operation ACTION of TARGET by
/// DELEGATE for CLIENT@ORIGIN: RESULT").
fn fence_alert(e: &FenceEvent) -> AlertEvent {
    let result = if e.ok {
        "OK".to_string()
    } else {
        format!("Error ({})", e.detail)
    };
    let desc = format!(
        "Operation {} of {} by {} for {}@{}: {result} (ref={})",
        e.action, e.target, e.delegate, e.client, e.origin, e.id
    );
    AlertEvent {
        kind: AlertKind::Fencing,
        vars: vec![
            ("node", e.target.clone()),
            ("task", e.action.clone()),
            ("rc", if e.ok { "0" } else { "1" }.to_string()),
            ("desc", desc),
        ],
        attribute: None,
    }
}

fn selects(alert: &Alert, event: &AlertEvent) -> bool {
    alert.selects(event.kind)
        && (alert.attributes.is_empty()
            || event
                .attribute
                .as_ref()
                .is_none_or(|a| alert.attributes.contains(a)))
}

/// The runs of one alert: one per recipient, or one without a recipient.
fn runs(alert: &Alert, own: &str, event: &AlertEvent, sequence: u64, now: SystemTime) -> Vec<Run> {
    let recipients: Vec<Option<&crate::model::alert::AlertRecipient>> =
        if alert.recipients.is_empty() {
            vec![None]
        } else {
            alert.recipients.iter().map(Some).collect()
        };
    recipients
        .into_iter()
        .map(|r| {
            let format = r
                .and_then(|r| r.timestamp_format.as_ref())
                .unwrap_or(&alert.timestamp_format);
            let mut env: Vec<(String, String)> = alert.params.clone().into_iter().collect();
            if let Some(r) = r {
                env.extend(r.params.clone());
            }
            let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
            let common = [
                ("kind", event.kind.name().to_string()),
                ("version", PACEMAKER_VERSION.to_string()),
                ("recipient", r.map(|r| r.value.clone()).unwrap_or_default()),
                ("node_sequence", sequence.to_string()),
                ("timestamp", format_timestamp(format, since)),
                ("timestamp_epoch", since.as_secs().to_string()),
                ("timestamp_usec", since.subsec_micros().to_string()),
            ];
            for (key, value) in common.iter().chain(&event.vars) {
                env.push((format!("CRM_alert_{key}"), value.clone()));
                env.push((format!("CRM_notify_{key}"), value.clone()));
            }
            if !event.vars.iter().any(|(k, _)| *k == "node") {
                env.push(("CRM_alert_node".into(), own.to_string()));
            }
            Run {
                alert: alert.id.clone(),
                path: alert.path.clone(),
                timeout: r.and_then(|r| r.timeout).unwrap_or(alert.timeout),
                env,
            }
        })
        .collect()
}

/// `timestamp-format` in local time, as date(1) would print it.
pub(super) fn format_timestamp(format: &TimestampFormat, since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which lives on this stack.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    let mut out = String::new();
    for piece in &format.0 {
        match piece {
            StampPiece::Text(t) => out.push_str(t),
            StampPiece::Fraction(digits) => {
                let nanos = format!("{:09}", since_epoch.subsec_nanos());
                out.push_str(&nanos[..usize::from(*digits).min(9)]);
            }
            StampPiece::Field(c) if ok => out.push_str(&field(*c, &tm, since_epoch.as_secs())),
            StampPiece::Field(_) => {}
        }
    }
    out
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One strftime conversion of `config::alerts::STAMP_FIELDS`.
fn field(c: char, tm: &libc::tm, epoch: u64) -> String {
    let year = i64::from(tm.tm_year) + 1900;
    let day = DAYS
        .get(usize::try_from(tm.tm_wday).unwrap_or(0))
        .copied()
        .unwrap_or("");
    let month = MONTHS
        .get(usize::try_from(tm.tm_mon).unwrap_or(0))
        .copied()
        .unwrap_or("");
    let hour12 = match tm.tm_hour % 12 {
        0 => 12,
        h => h,
    };
    let offset_min = tm.tm_gmtoff / 60;
    match c {
        'Y' => year.to_string(),
        'y' => format!("{:02}", year.rem_euclid(100)),
        'm' => format!("{:02}", tm.tm_mon + 1),
        'd' => format!("{:02}", tm.tm_mday),
        'e' => format!("{:2}", tm.tm_mday),
        'H' => format!("{:02}", tm.tm_hour),
        'I' => format!("{hour12:02}"),
        'M' => format!("{:02}", tm.tm_min),
        'S' => format!("{:02}", tm.tm_sec),
        'p' => if tm.tm_hour < 12 { "AM" } else { "PM" }.to_string(),
        'j' => format!("{:03}", tm.tm_yday + 1),
        'a' => day.chars().take(3).collect(),
        'A' => day.to_string(),
        'b' => month.chars().take(3).collect(),
        'B' => month.to_string(),
        's' => epoch.to_string(),
        'z' => format!(
            "{}{:02}{:02}",
            if offset_min < 0 { '-' } else { '+' },
            offset_min.abs() / 60,
            offset_min.abs() % 60
        ),
        'Z' => zone_name(tm),
        'F' => format!("{year}-{:02}-{:02}", tm.tm_mon + 1, tm.tm_mday),
        'T' => format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec),
        'D' => format!(
            "{:02}/{:02}/{:02}",
            tm.tm_mon + 1,
            tm.tm_mday,
            year.rem_euclid(100)
        ),
        _ => String::new(),
    }
}

fn zone_name(tm: &libc::tm) -> String {
    if tm.tm_zone.is_null() {
        return String::new();
    }
    // SAFETY: localtime_r set tm_zone to a static, NUL-terminated name.
    unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
        .to_string_lossy()
        .into_owned()
}

fn run_thread(mut rx: mpsc::Receiver<Run>, tally: Arc<Tally>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return log(&format!("ERROR: alert agents cannot run: {e}")),
    };
    runtime.block_on(async move {
        let limit = Arc::new(Semaphore::new(MAX_RUNNING));
        while let Some(run) = rx.recv().await {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                return;
            };
            let tally = tally.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let outcome = run_agent(&run).await;
                let counter = match &outcome {
                    Outcome::Ok => &tally.ok,
                    Outcome::Failed(_) => &tally.failed,
                    Outcome::TimedOut => &tally.timeout,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                match outcome {
                    Outcome::Ok => {}
                    Outcome::Failed(why) => {
                        log(&format!("alert {} ({}): {why}", run.alert, run.path))
                    }
                    Outcome::TimedOut => log(&format!(
                        "alert {} ({}): killed after its timeout of {:?}",
                        run.alert, run.path, run.timeout
                    )),
                }
            });
        }
    });
}

enum Outcome {
    Ok,
    Failed(String),
    TimedOut,
}

async fn run_agent(run: &Run) -> Outcome {
    let mut command = tokio::process::Command::new(&run.path);
    command
        .envs(run.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::Failed(format!("cannot run: {e}")),
    };
    let pid = child.id();
    match tokio::time::timeout(run.timeout, child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => Outcome::Ok,
        Ok(Ok(out)) => {
            let mut said = String::from_utf8_lossy(&out.stderr).to_string();
            said.push_str(&String::from_utf8_lossy(&out.stdout));
            let said: String = said.trim().chars().take(OUTPUT_KEPT).collect();
            Outcome::Failed(format!("{}: {said}", out.status))
        }
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(_) => {
            // The agent and whatever it started (the future dropped the
            // child, whose kill_on_drop reaches only the agent itself).
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            Outcome::TimedOut
        }
    }
}

/// OCF exit codes as Pacemaker's resource alerts describe them.
pub(super) fn rc_text(rc: i32) -> &'static str {
    match rc {
        0 => "ok",
        1 => "error",
        2 => "invalid parameter",
        3 => "unimplemented feature",
        4 => "insufficient privileges",
        5 => "not installed",
        6 => "not configured",
        7 => "not running",
        8 => "promoted",
        9 => "promoted (failed)",
        _ => "unknown",
    }
}

/// An operation's execution status as Pacemaker's alerts describe it.
pub(super) fn op_status_text(op_status: i32) -> &'static str {
    match op_status {
        1 => "Cancelled",
        2 => "Timed Out",
        3 => "NOT SUPPORTED",
        5 => "Hard error",
        6 => "Fatal error",
        7 => "NOT INSTALLED",
        _ => "Error",
    }
}

impl super::Daemon {
    /// Runs the alerts of the cluster's configuration for `event`.
    pub(super) fn alert(&mut self, event: AlertEvent) {
        let Some(config) = self.store.loaded().map(|c| &c.model) else {
            return;
        };
        if config.alerts.is_empty() {
            return;
        }
        if self.alerts.is_none() {
            match Alerts::start() {
                Ok(a) => self.alerts = Some(a),
                Err(e) => return log(&format!("ERROR: cannot start the alerts thread: {e}")),
            }
        }
        if let Some(runner) = self.alerts.as_mut() {
            runner.send(&config.alerts, &self.own.name, &event);
        }
    }

    /// Node alerts for the members that joined or left this node's view.
    pub(super) fn alert_view(&mut self) {
        let now: std::collections::BTreeSet<u16> =
            self.machine.status().view.members.iter().copied().collect();
        let joined: Vec<u16> = now.difference(&self.alert_members).copied().collect();
        let lost: Vec<u16> = self.alert_members.difference(&now).copied().collect();
        self.alert_members = now;
        for (ids, desc) in [(joined, "member"), (lost, "lost")] {
            for id in ids {
                let event = AlertEvent {
                    kind: AlertKind::Node,
                    vars: vec![
                        ("node", self.settings.node_name(id)),
                        ("nodeid", id.to_string()),
                        ("desc", desc.to_string()),
                    ],
                    attribute: None,
                };
                self.alert(event);
            }
        }
    }

    /// A resource alert for an action this node ran; not for a recurring
    /// monitor's expected first result (Pacemaker alerts on a recurring
    /// monitor only when its result changes).
    pub(super) fn alert_result(&mut self, r: &crate::controller::ActionResult, from_monitor: bool) {
        let target = self.target_rc(r);
        if r.interval_ms > 0 && !from_monitor && r.rc == target && r.op_status == 0 {
            return;
        }
        let desc = if r.op_status == 0 {
            rc_text(r.rc)
        } else {
            op_status_text(r.op_status)
        };
        let event = AlertEvent {
            kind: AlertKind::Resource,
            vars: vec![
                ("node", r.node.clone()),
                ("rsc", r.resource.clone()),
                ("task", r.operation.clone()),
                ("interval", r.interval_ms.to_string()),
                ("rc", r.rc.to_string()),
                ("target_rc", target.to_string()),
                ("status", r.op_status.to_string()),
                ("desc", desc.to_string()),
            ],
            attribute: None,
        };
        self.alert(event);
    }

    /// What the operation was expected to return (Pacemaker's target-rc):
    /// 7 for a probe, 8 for a monitor of the Promoted role, else 0.
    fn target_rc(&self, r: &crate::controller::ActionResult) -> i32 {
        if r.operation != "monitor" {
            return 0;
        }
        if r.interval_ms == 0 {
            return 7;
        }
        let promoted = self
            .parsed_config()
            .and_then(|c| c.primitive(&r.resource))
            .is_some_and(|p| {
                p.operations.iter().any(|op| {
                    op.name == "monitor"
                        && op.interval_ms == r.interval_ms
                        && op.role == Some(crate::model::Role::Promoted)
                })
            });
        if promoted { 8 } else { 0 }
    }

    /// Fencing alerts from the replicated fencing history, on every node:
    /// Pacemaker runs alert agents on every node, its fencer telling every
    /// node's controller of each result. Each event once per node
    /// (`FenceAlerts`), whichever node recorded it: after a DC change the
    /// new DC's history carries the old one's events with their ids.
    /// Checked when the document's version changes.
    pub(super) fn alert_fence_history(&mut self) {
        let doc = self.store.doc();
        if self.fence_alerts.version == Some(doc.version) {
            return;
        }
        self.fence_alerts.version = Some(doc.version);
        let events: Vec<AlertEvent> = self
            .fence_alerts
            .fresh(&doc.status.fencing_history)
            .into_iter()
            .map(fence_alert)
            .collect();
        for event in events {
            self.alert(event);
        }
    }

    /// Attribute alerts for the agents' attributes that changed (a removed
    /// one is updated to the empty value).
    pub(super) fn alert_attributes(
        &mut self,
        before: &crate::executor::agent_env::Attributes,
        now: &crate::executor::agent_env::Attributes,
    ) {
        let empty = std::collections::BTreeMap::new();
        let nodes: std::collections::BTreeSet<&String> = before.keys().chain(now.keys()).collect();
        for node in nodes {
            let (old, new) = (
                before.get(node).unwrap_or(&empty),
                now.get(node).unwrap_or(&empty),
            );
            let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            for name in names.into_iter().filter(|n| old.get(*n) != new.get(*n)) {
                let event = AlertEvent {
                    kind: AlertKind::Attribute,
                    vars: vec![
                        ("node", node.clone()),
                        ("attribute_name", name.clone()),
                        (
                            "attribute_value",
                            new.get(name).cloned().unwrap_or_default(),
                        ),
                    ],
                    attribute: Some(name.clone()),
                };
                self.alert(event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::alerts::parse_timestamp_format;

    #[test]
    fn timestamps_follow_the_format() {
        let at = Duration::new(951_782_400, 123_456_789); // 2000-02-29 00:00:00 UTC
        let f = |text: &str| format_timestamp(&parse_timestamp_format(text).unwrap(), at);
        assert_eq!(f("%s.%06N"), "951782400.123456");
        assert_eq!(f("%3N|%N"), "123|123456789");
        assert_eq!(f("100%%"), "100%");
        let date = f("%F %T");
        assert_eq!(date.len(), "2000-02-29 00:00:00".len(), "{date}");
    }

    fn event(origin: &str, id: u64, target: &str, completed: i64) -> FenceEvent {
        FenceEvent {
            id,
            target: target.into(),
            action: "off".into(),
            ok: true,
            devices: vec!["power".into()],
            detail: String::new(),
            delegate: origin.into(),
            origin: origin.into(),
            client: "controller".into(),
            completed,
            elapsed_ms: None,
            attempts: 1,
            first_completed: completed,
        }
    }

    fn ids(events: Vec<&FenceEvent>) -> Vec<(String, u64)> {
        events
            .into_iter()
            .map(|e| (e.origin.clone(), e.id))
            .collect()
    }

    /// Every node alerts each event of the replicated history once: as it
    /// arrives, never again when the history comes back (another version,
    /// a retry coalesced into its entry with a new id is new, a DC change
    /// brings the old DC's events with their ids), and not the events of
    /// before the daemon started.
    #[test]
    fn each_fencing_event_is_alerted_once_per_node() {
        let mut f = FenceAlerts::new(1_000);
        let old = event("node1", 900_000, "node3", 900);
        let mut history = vec![old.clone(), event("node1", 1_000_000, "node2", 1_000)];
        assert!(f.fresh(&history).is_empty(), "before the daemon started");
        history.push(event("node1", 1_001_000, "node2", 1_001));
        assert_eq!(ids(f.fresh(&history)), [("node1".into(), 1_001_000)]);
        assert!(f.fresh(&history).is_empty(), "the same history again");
        // node1 (the DC) is lost; node2, the new DC, fences it: its history
        // holds node1's events and its own.
        history.push(event("node2", 1_005_000, "node1", 1_005));
        assert_eq!(ids(f.fresh(&history)), [("node2".into(), 1_005_000)]);
        // A failed attempt, then a retry coalesced into its entry.
        let mut failed = event("node2", 1_006_000, "node3", 1_006);
        failed.ok = false;
        history.push(failed.clone());
        assert_eq!(ids(f.fresh(&history)), [("node2".into(), 1_006_000)]);
        failed.id = 1_007_000;
        failed.attempts = 2;
        *history.last_mut().unwrap() = failed;
        assert_eq!(ids(f.fresh(&history)), [("node2".into(), 1_007_000)]);
        assert!(f.fresh(&history).is_empty());
        let alert = fence_alert(&history[3]);
        assert!(alert.vars.contains(&("node", "node1".to_string())));
        assert!(
            alert.vars.contains(&(
                "desc",
                "Operation off of node1 by node2 for controller@node2: OK (ref=1005000)"
                    .to_string()
            )),
            "{alert:?}"
        );
    }
}
