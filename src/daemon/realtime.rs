//! The event loop's thread runs at a real-time priority (SCHED_RR), as
//! corosync's does (it runs SCHED_RR at the highest priority by default,
//! `-p` to opt out): heartbeats are sent and read there, and on a machine
//! whose cores are busy a loop at the normal priority waits its turn
//! behind every runnable process. Measured by `bench/soak` (token 300 ms,
//! stress-ng on both cores of a shared machine at load 15-28, 5% loss,
//! 0-40 ms delay, debug build): at the normal priority the peers lost each
//! other 139 times in an hour, with 265 loop holds over 100 ms (up to
//! 897 ms) that were waits for a CPU, not work; with this thread at
//! SCHED_RR, side by side on the same machine, 2 in an hour, both in
//! machine-wide stalls (ARCHITECTURE.md, "Scheduling").
//!
//! Only that thread: the policy is set with SCHED_RESET_ON_FORK, so every
//! thread and process started from it (the blocking pool that runs agents,
//! the document writer, the HTTP thread, and the agents themselves) runs
//! at the normal priority, and a busy agent cannot starve the machine.
//! The loop does its heavy work (planning, parsing, writing) elsewhere
//! already; the kernel's RT throttling (95% of each second by default)
//! bounds what a runaway loop could take.

/// The SCHED_RR priority: above every normal process, below the kernel's
/// threaded interrupts (50) and the watchdogs (99).
pub const PRIORITY: i32 = 10;

/// Puts the calling thread (the event loop's, before the runtime starts)
/// at SCHED_RR [`PRIORITY`]. Returns the line to log either way: without
/// CAP_SYS_NICE (or with an RT budget of 0 in its cgroup) the daemon runs
/// on at the normal priority and says what that risks.
pub fn raise_loop_priority() -> String {
    let param = libc::sched_param {
        sched_priority: PRIORITY,
    };
    // SAFETY: sched_setscheduler reads `param` only; pid 0 is this thread.
    let rc =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
    if rc == 0 {
        format!(
            "the event loop runs at SCHED_RR priority {PRIORITY} (agents and other threads at the normal priority)"
        )
    } else {
        format!(
            "the event loop runs at the normal priority: SCHED_RR refused ({}); on a busy machine heartbeats wait for a CPU and a short token_timeout can lose this node (give the daemon CAP_SYS_NICE)",
            std::io::Error::last_os_error()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As root the thread gets SCHED_RR, and a thread it starts does not
    /// (reset on fork); without the privilege the daemon says so and goes on.
    #[test]
    fn only_the_loop_thread_gets_the_real_time_policy() {
        let (note, mine, child) = std::thread::spawn(|| {
            let note = raise_loop_priority();
            // SAFETY: pid 0 is this thread.
            let mine = unsafe { libc::sched_getscheduler(0) };
            let child = std::thread::spawn(|| unsafe { libc::sched_getscheduler(0) })
                .join()
                .unwrap();
            (note, mine, child)
        })
        .join()
        .unwrap();
        if note.contains("refused") {
            eprintln!("not privileged here: {note}");
            assert_eq!(mine & !libc::SCHED_RESET_ON_FORK, libc::SCHED_OTHER);
            return;
        }
        assert_eq!(mine & !libc::SCHED_RESET_ON_FORK, libc::SCHED_RR, "{note}");
        assert_eq!(child, libc::SCHED_OTHER, "a thread it starts is normal");
    }
}
