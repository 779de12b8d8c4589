//! Several actions at once, at most `limit` agents running at a time
//! (Pacemaker's node-action-limit).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::ocf::{ActionResult, OcfAction, OcfRunner};

/// Runs every action and returns their results in the input order.
pub fn run_parallel(runner: &OcfRunner, actions: &[OcfAction], limit: usize) -> Vec<ActionResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ActionResult>>> = Mutex::new(vec![None; actions.len()]);
    std::thread::scope(|s| {
        for _ in 0..limit.max(1).min(actions.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(a) = actions.get(i) else { break };
                    let r = runner.run(a);
                    if let Ok(mut v) = results.lock() {
                        v[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
