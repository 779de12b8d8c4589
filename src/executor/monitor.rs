//! Recurring monitors: one thread per monitored resource and interval,
//! stopped (and joined) when the resource stops.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;

use super::ocf::{ActionResult, OcfAction, OcfRunner};

pub struct RecurringMonitor {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RecurringMonitor {
    /// Starts monitoring; `on_result` sees every result (the controller
    /// reacts to failures from there).
    pub fn start<F>(runner: Arc<OcfRunner>, action: OcfAction, mut on_result: F) -> Self
    where
        F: FnMut(ActionResult) + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<()>();
        let interval = action.interval;
        let thread = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(interval) {
                on_result(runner.run(&action));
            }
        });
        Self {
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Stops the monitor and waits for a running check to end.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RecurringMonitor {
    fn drop(&mut self) {
        self.halt();
    }
}
