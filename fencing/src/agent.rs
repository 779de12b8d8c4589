//! External fence agents (`fence_*` from fence-agents) driven through their
//! stdin protocol: `key=value` lines, the action as `action=...`, exit code
//! 0 for success (and for `status`: 0 = on, 2 = off). The agent runs in its
//! own process group so a timeout kills everything it spawned (ipmitool,
//! ssh, ...), not just the Python interpreter.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentOutcome {
    Success,
    /// `status` reported the target powered off (exit code 2).
    PoweredOff,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot start fence agent {agent}: {source}; is it installed and executable?")]
    Spawn {
        agent: String,
        source: std::io::Error,
    },
    #[error("fence agent {agent} action {action} failed with exit code {code}: {output}")]
    Failed {
        agent: String,
        action: String,
        code: i32,
        output: String,
    },
    #[error(
        "fence agent {agent} action {action} did not finish within {timeout:?}; its process group was killed"
    )]
    Timeout {
        agent: String,
        action: String,
        timeout: Duration,
    },
    #[error(
        "fence agent {agent}: parameter {key:?} contains a newline, which the stdin protocol cannot carry"
    )]
    BadParam { agent: String, key: String },
    #[error("fence agent {agent}: {source}")]
    Io {
        agent: String,
        source: std::io::Error,
    },
}

/// Parameters passed to the agent; secret values are kept apart so they are
/// never part of a Debug print.
#[derive(Debug, Clone, Default)]
pub struct AgentParams {
    pub plain: Vec<(String, String)>,
    pub secret: Vec<(String, Secret)>,
}

/// The agent's combined output, with secret values masked.
#[derive(Debug, Clone)]
pub struct AgentRun {
    pub outcome: AgentOutcome,
    pub output: String,
    pub elapsed: Duration,
}

fn mask(text: &str, params: &AgentParams) -> String {
    let mut out = text.to_string();
    for (_, s) in &params.secret {
        if !s.expose().is_empty() {
            out = out.replace(s.expose(), "<redacted>");
        }
    }
    out
}

pub fn run_agent(
    agent: &Path,
    action: &str,
    params: &AgentParams,
    timeout: Duration,
) -> Result<AgentRun, AgentError> {
    let name = agent.display().to_string();
    let mut input = format!("action={action}\n");
    let all = params
        .plain
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(params.secret.iter().map(|(k, v)| (k.as_str(), v.expose())));
    for (k, v) in all {
        if k.contains('\n') || v.contains('\n') {
            return Err(AgentError::BadParam {
                agent: name,
                key: k.to_string(),
            });
        }
        input.push_str(&format!("{k}={v}\n"));
    }
    let started = Instant::now();
    let mut child = Command::new(agent)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| AgentError::Spawn {
            agent: name.clone(),
            source,
        })?;
    let io_err = |source| AgentError::Io {
        agent: name.clone(),
        source,
    };
    if let Some(mut stdin) = child.stdin.take() {
        // An agent may exit without reading stdin; that is its business.
        let _ = stdin.write_all(input.as_bytes());
    }
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let pgid = child.id() as i32;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io_err)? {
            break status;
        }
        if started.elapsed() >= timeout {
            // SAFETY: killpg only sends a signal to the group we created.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            return Err(AgentError::Timeout {
                agent: name,
                action: action.to_string(),
                timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = format!(
        "{}{}",
        out_reader.join().unwrap_or_default(),
        err_reader.join().unwrap_or_default()
    );
    let output = mask(&output, params);
    let code = status.code().unwrap_or(-1);
    let outcome = match (code, action) {
        (0, _) => AgentOutcome::Success,
        (2, "status") => AgentOutcome::PoweredOff,
        _ => {
            return Err(AgentError::Failed {
                agent: name,
                action: action.to_string(),
                code,
                output,
            });
        }
    };
    Ok(AgentRun {
        outcome,
        output,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(name: &str, body: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("paceline-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn stdin_protocol_exit_codes_and_masking() {
        let agent = script(
            "fence_echo",
            "while read l; do echo \"$l\"; case $l in action=status) st=1;; esac; done; [ -n \"$st\" ] && exit 2; exit 0",
        );
        let params = AgentParams {
            plain: vec![("ip".into(), "127.0.0.1".into())],
            secret: vec![("password".into(), Secret::new("s3cret"))],
        };
        let run = run_agent(&agent, "off", &params, Duration::from_secs(5)).unwrap();
        assert_eq!(run.outcome, AgentOutcome::Success);
        assert!(run.output.contains("ip=127.0.0.1"));
        assert!(run.output.contains("password=<redacted>"));
        let st = run_agent(&agent, "status", &params, Duration::from_secs(5)).unwrap();
        assert_eq!(st.outcome, AgentOutcome::PoweredOff);
    }

    #[test]
    fn failure_and_timeout_are_reported() {
        let bad = script("fence_bad", "echo 'Failed: unable to connect' >&2; exit 1");
        let err = run_agent(&bad, "off", &AgentParams::default(), Duration::from_secs(5))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exit code 1") && err.contains("unable to connect"),
            "{err}"
        );
        let slow = script("fence_slow", "sleep 30 & sleep 30");
        let t = Instant::now();
        let err = run_agent(
            &slow,
            "off",
            &AgentParams::default(),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(err, AgentError::Timeout { .. }));
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
