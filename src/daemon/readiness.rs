//! The fencing readiness poller: monitors every node's first fencing level
//! on a blocking thread and reports each verdict to the event loop; while a
//! level fails it checks again every `RECHECK_INTERVAL`. At most one poller
//! runs: a configuration change replaces it (the previous one is aborted),
//! so failing fencing plus many changes never piles pollers up.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::event_loop::Readiness;

/// How often a failing readiness check is repeated.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(5);

/// The one running poller, if any.
#[derive(Default)]
pub struct ReadinessPoller {
    running: Option<AbortHandle>,
}

impl ReadinessPoller {
    /// Stops the running poller and starts one for `generation`: `check`
    /// runs now and again every `interval` until it passes.
    pub fn replace<F>(
        &mut self,
        generation: u64,
        interval: Duration,
        check: F,
        tx: mpsc::UnboundedSender<Readiness>,
    ) where
        F: Fn() -> (bool, Vec<String>) + Send + Sync + 'static,
    {
        self.stop();
        let check = std::sync::Arc::new(check);
        let task = tokio::spawn(async move {
            loop {
                let run = std::sync::Arc::clone(&check);
                let Ok((ready, blockers)) = tokio::task::spawn_blocking(move || run()).await else {
                    return;
                };
                if tx.send((generation, ready, blockers)).is_err() || ready {
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        });
        self.running = Some(task.abort_handle());
    }

    /// Stops the running poller (a check already running on its blocking
    /// thread finishes, and its verdict is dropped).
    pub fn stop(&mut self) {
        if let Some(task) = self.running.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Issue 15: with fencing failing, every configuration change added a
    /// poller that never stopped (36 → 228 checks per 20 s after 8
    /// changes). Eight replacements leave one poller running.
    #[tokio::test(flavor = "current_thread")]
    async fn a_replaced_poller_stops_checking() {
        let runs: Arc<Vec<AtomicU64>> = Arc::new((0..=8).map(|_| AtomicU64::new(0)).collect());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut poller = ReadinessPoller::default();
        for generation in 1..=8u64 {
            let runs = Arc::clone(&runs);
            let failing = move || {
                runs[generation as usize].fetch_add(1, Ordering::SeqCst);
                (false, vec!["node2: device down".to_string()])
            };
            poller.replace(generation, Duration::from_millis(5), failing, tx.clone());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before: Vec<u64> = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after: Vec<u64> = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        for generation in 1..8 {
            assert!(before[generation] > 0, "generation {generation} never ran");
            assert_eq!(
                before[generation], after[generation],
                "the poller of generation {generation} still runs after being replaced"
            );
        }
        assert!(after[8] > before[8], "the current poller stopped");
        poller.stop();
        while rx.try_recv().is_ok() {}
    }
}
