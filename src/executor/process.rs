//! Runs one agent process in its own process group with a deadline. On
//! timeout the whole group is killed, because shell agents fork helpers that
//! would otherwise survive and keep holding resources.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Serialize;

use super::ExecError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessStatus {
    /// The process exited with this code.
    Exited(i32),
    /// The process was killed by a signal it did not ask for.
    Signaled(i32),
    /// The deadline passed and the process group was killed.
    TimedOut,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessOutcome {
    pub status: ProcessStatus,
    pub duration: Duration,
    pub stdout: String,
    pub stderr: String,
}

fn drain<R: Read + Send + 'static>(mut pipe: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
    });
    rx
}

/// Daemons started by an agent may inherit its stdout and never close it;
/// their output is not the agent's, so stop waiting for it shortly after the
/// agent itself is gone (the reader thread is abandoned).
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

/// Runs `cmd` to completion or until `timeout`, capturing its output.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<ProcessOutcome, ExecError> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let path = format!("{:?}", cmd.get_program());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    // "Text file busy" passes (an agent being replaced, or a script written
    // just before while another thread forked): try again a few times.
    let mut attempts = 0;
    let mut child = loop {
        match cmd.spawn() {
            Ok(child) => break child,
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 10 => {
                attempts += 1;
                thread::sleep(Duration::from_millis(20));
            }
            Err(source) => return Err(ExecError::Spawn { path, source }),
        }
    };
    let pid = child.id() as i32;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(timeout) {
        Ok(Ok(st)) => match (st.code(), st.signal()) {
            (Some(c), _) => ProcessStatus::Exited(c),
            (None, Some(s)) => ProcessStatus::Signaled(s),
            (None, None) => ProcessStatus::Exited(1),
        },
        Ok(Err(_)) => ProcessStatus::Exited(1),
        Err(_) => {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = rx.recv();
            ProcessStatus::TimedOut
        }
    };
    let duration = started.elapsed();
    let _ = waiter.join();
    let stdout = out
        .and_then(|rx| rx.recv_timeout(OUTPUT_GRACE).ok())
        .unwrap_or_default();
    let stderr = err
        .and_then(|rx| rx.recv_timeout(OUTPUT_GRACE).ok())
        .unwrap_or_default();
    Ok(ProcessOutcome {
        status,
        duration,
        stdout,
        stderr,
    })
}
