//! systemd's service protocol for a `Type=notify` unit, through the
//! `sd-notify` crate (sd_notify(3)): READY=1 once the node serves,
//! STOPPING=1 when a clean shutdown begins, and WATCHDOG=1 from the event
//! loop every half of `WatchdogSec=` (WATCHDOG_USEC, as sd_watchdog_enabled(3)
//! advises), so that a loop that hangs, not only a process that dies, is
//! caught and restarted by systemd. Without `$NOTIFY_SOCKET` nothing is sent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sd_notify::NotifyState;

/// Tells systemd the node serves.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Tells systemd a clean shutdown began (resources move away first).
pub fn stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// Tells systemd the event loop is alive.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often the loop must send WATCHDOG=1: half of WATCHDOG_USEC, or
/// None when systemd watches nothing (no `WatchdogSec=`, or another PID's).
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .map(|usec| usec / 2)
        .filter(|d| !d.is_zero())
}

/// Only the first failure is logged: the watchdog pings twice per period.
static FAILED_ONCE: AtomicBool = AtomicBool::new(false);

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states)
        && !FAILED_ONCE.swap(true, Ordering::Relaxed)
    {
        let what: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        super::log(&format!("cannot notify systemd ({}): {e}", what.join(", ")));
    }
}
