//! External fence agents (`fence_*` from fence-agents) driven through their
//! stdin protocol: `key=value` lines, the action as `action=...`, exit code
//! 0 for success (and for `status`: 0 = on, 2 = off). The agent runs in its
//! own process group so a timeout kills everything it spawned (ipmitool,
//! ssh, ...), not just the Python interpreter.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::DeviceConfig;
use crate::device::{ActionReport, DeviceError, FenceDevice, PowerState, device_timeout};
use crate::secret::{Secret, read_secret_file};
use crate::topology::FenceAction;

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
    // An agent being replaced (a package upgrade), or written just before by
    // a thread another fork holds it open in, is briefly "text file busy":
    // that passes, so try again a few times before giving up.
    let mut attempts = 0;
    let mut child = loop {
        match Command::new(agent)
            // systemd's notify socket and watchdog are the daemon's own.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
        {
            Ok(child) => break child,
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 10 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(source) => {
                return Err(AgentError::Spawn {
                    agent: name.clone(),
                    source,
                });
            }
        }
    };
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

/// One parameter of an agent's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub required: bool,
    pub deprecated: bool,
    /// The older name this one replaces (`obsoletes="login"`).
    pub obsoletes: Option<String>,
}

/// Parses the `<parameters>` of an agent's `action=metadata` XML.
pub fn parse_metadata(xml: &str) -> Result<Vec<ParamSpec>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut params = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.name().as_ref() == b"parameter" => {
                let mut spec = ParamSpec {
                    name: String::new(),
                    required: false,
                    deprecated: false,
                    obsoletes: None,
                };
                for attr in e.attributes().flatten() {
                    let value = String::from_utf8_lossy(&attr.value).to_string();
                    match attr.key.as_ref() {
                        b"name" => spec.name = value,
                        b"required" => spec.required = value == "1",
                        b"deprecated" => spec.deprecated = value == "1",
                        b"obsoletes" => spec.obsoletes = Some(value),
                        _ => {}
                    }
                }
                if !spec.name.is_empty() {
                    params.push(spec);
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("metadata is not valid XML: {e}")),
        }
    }
    if params.is_empty() {
        return Err("metadata lists no parameters".into());
    }
    Ok(params)
}

/// Checks the configured parameter names against the metadata: unknown
/// names and missing required ones are errors. A required parameter is
/// satisfied by any of its names (fence-agents keeps old names as
/// deprecated aliases, e.g. `login` for `username`).
pub fn check_params(spec: &[ParamSpec], given: &[&str]) -> Result<(), String> {
    let known = |n: &str| spec.iter().any(|p| p.name == n);
    let unknown: Vec<&str> = given.iter().copied().filter(|n| !known(n)).collect();
    if !unknown.is_empty() {
        let valid: Vec<&str> = spec
            .iter()
            .filter(|p| !p.deprecated && p.name != "action")
            .map(|p| p.name.as_str())
            .collect();
        return Err(format!(
            "unknown parameter(s) {}; the agent accepts: {}",
            unknown.join(", "),
            valid.join(", ")
        ));
    }
    let aliases = |p: &ParamSpec| -> Vec<String> {
        let mut names = vec![p.name.clone()];
        if let Some(o) = &p.obsoletes {
            names.push(o.clone());
        }
        for q in spec {
            if q.obsoletes.as_deref() == Some(p.name.as_str()) {
                names.push(q.name.clone());
            }
        }
        names
    };
    let mut missing = Vec::new();
    for p in spec.iter().filter(|p| p.required && p.name != "action") {
        if !aliases(p).iter().any(|n| given.contains(&n.as_str())) {
            let preferred = spec
                .iter()
                .find(|q| q.obsoletes.as_deref() == Some(p.name.as_str()))
                .map(|q| q.name.clone())
                .unwrap_or_else(|| p.name.clone());
            if !missing.contains(&preferred) {
                missing.push(preferred);
            }
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "missing required parameter(s): {}",
            missing.join(", ")
        ));
    }
    Ok(())
}

fn metadata_cache() -> &'static std::sync::Mutex<std::collections::HashMap<PathBuf, Vec<ParamSpec>>>
{
    static CACHE: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<PathBuf, Vec<ParamSpec>>>,
    > = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The agent's parameters, read once per process.
pub fn agent_metadata(agent: &Path, timeout: Duration) -> Result<Vec<ParamSpec>, String> {
    if let Ok(cache) = metadata_cache().lock()
        && let Some(spec) = cache.get(agent)
    {
        return Ok(spec.clone());
    }
    let run = run_agent(agent, "metadata", &AgentParams::default(), timeout)
        .map_err(|e| e.to_string())?;
    let spec = parse_metadata(&run.output)?;
    if let Ok(mut cache) = metadata_cache().lock() {
        cache.insert(agent.to_path_buf(), spec.clone());
    }
    Ok(spec)
}

const AGENT_KEYS: &[&str] = &["agent", "params", "password_file"];

/// A `type = "agent"` device: an external fence agent run through its
/// stdin protocol, its parameters checked against its metadata.
#[derive(Debug)]
pub struct AgentDevice {
    id: String,
    agent: PathBuf,
    params: AgentParams,
    timeout: Duration,
}

impl AgentDevice {
    pub fn from_config(cfg: &DeviceConfig) -> Result<AgentDevice, DeviceError> {
        let bad = |msg: String| DeviceError::new(format!("device {:?}: {msg}", cfg.id));
        if let Some(key) = cfg.keys().find(|k| !AGENT_KEYS.contains(k)) {
            return Err(bad(format!(
                "unknown key `{key}` for an agent device; accepted keys: {} (agent parameters go in `params = {{ ... }}`)",
                AGENT_KEYS.join(", ")
            )));
        }
        let agent = cfg
            .settings
            .get("agent")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("set `agent = \"fence_...\"`".into()))?;
        let agent = if agent.contains('/') {
            PathBuf::from(agent)
        } else {
            PathBuf::from("/usr/sbin").join(agent)
        };
        let mut params = AgentParams::default();
        match cfg.settings.get("params") {
            None => {}
            Some(toml::Value::Table(table)) => {
                for (k, v) in table {
                    let value = match v {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
                        other => other.to_string(),
                    };
                    if k == "password" || k == "passwd" {
                        params.secret.push((k.clone(), Secret::new(value)));
                    } else {
                        params.plain.push((k.clone(), value));
                    }
                }
            }
            Some(other) => return Err(bad(format!("`params` must be a table, not {other}"))),
        }
        if let Some(file) = cfg.settings.get("password_file").and_then(|v| v.as_str()) {
            let secret = read_secret_file(Path::new(file))
                .map_err(|e| bad(format!("cannot use password_file: {e}")))?;
            params.secret.push(("password".into(), secret));
        }
        let timeout = device_timeout(cfg)?;
        let spec = agent_metadata(&agent, timeout).map_err(|e| {
            bad(format!(
                "cannot read the metadata of {}: {e}",
                agent.display()
            ))
        })?;
        let given: Vec<&str> = params
            .plain
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(params.secret.iter().map(|(k, _)| k.as_str()))
            .collect();
        check_params(&spec, &given).map_err(|e| bad(format!("{}: {e}", agent.display())))?;
        Ok(AgentDevice {
            id: cfg.id.clone(),
            agent,
            params,
            timeout,
        })
    }
}

impl FenceDevice for AgentDevice {
    fn id(&self) -> &str {
        &self.id
    }

    fn execute(&mut self, action: FenceAction) -> Result<ActionReport, DeviceError> {
        match run_agent(&self.agent, action.as_str(), &self.params, self.timeout) {
            Ok(run) => {
                let power = match (action, &run.outcome) {
                    (_, AgentOutcome::PoweredOff) | (FenceAction::Off, _) => Some(PowerState::Off),
                    (FenceAction::On | FenceAction::Reboot | FenceAction::Status, _) => {
                        Some(PowerState::On)
                    }
                    (FenceAction::Monitor, _) => None,
                };
                let mut transcript = vec![format!(
                    "{} action={} exited {} in {} ms",
                    self.agent.display(),
                    action.as_str(),
                    if run.outcome == AgentOutcome::PoweredOff {
                        2
                    } else {
                        0
                    },
                    run.elapsed.as_millis()
                )];
                transcript.extend(run.output.lines().map(str::to_string));
                Ok(ActionReport { power, transcript })
            }
            Err(AgentError::Failed { code, output, .. }) => Err(DeviceError::with_output(
                format!(
                    "device {:?}: {} action={} failed with exit code {code}",
                    self.id,
                    self.agent.display(),
                    action.as_str()
                ),
                output,
            )),
            Err(e) => Err(DeviceError::new(format!("device {:?}: {e}", self.id))),
        }
    }
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
    fn metadata_aliases_and_required_parameters() {
        let xml = r#"<resource-agent name="fence_x"><parameters>
            <parameter name="action" required="1"/>
            <parameter name="ip" required="0" obsoletes="ipaddr"/>
            <parameter name="ipaddr" required="0" deprecated="1"/>
            <parameter name="login" required="1" deprecated="1"/>
            <parameter name="username" required="1" obsoletes="login"/>
            <parameter name="password" required="0"/>
        </parameters></resource-agent>"#;
        let spec = parse_metadata(xml).unwrap();
        assert!(check_params(&spec, &["ip", "username", "password"]).is_ok());
        assert!(check_params(&spec, &["ipaddr", "login"]).is_ok());
        let e = check_params(&spec, &["ip"]).unwrap_err();
        assert_eq!(e, "missing required parameter(s): username");
        let e = check_params(&spec, &["ip", "username", "pasword"]).unwrap_err();
        assert!(
            e.contains("unknown parameter(s) pasword") && e.contains("username"),
            "{e}"
        );
        assert!(
            !e.contains("ipaddr"),
            "deprecated names are not advertised: {e}"
        );
        assert!(parse_metadata("<x/>").is_err());
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
