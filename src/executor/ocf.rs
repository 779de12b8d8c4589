//! The ocf class, run as Pacemaker runs OCF 1.1 agents: the script
//! `$OCF_ROOT/resource.d/<provider>/<type>` with the action as its argument
//! and everything else in the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::ExecError;
use super::history::{OpHistory, OpRecord, OpResult};
use super::metadata::AgentMetadata;
use super::process::{ProcessStatus, run_with_timeout};
use super::rc::OcfRc;

pub const DEFAULT_OCF_ROOT: &str = "/usr/lib/ocf";
/// Pacemaker's default resource timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// What systemd gives pacelined for itself, never passed on to agents.
const SERVICE_MANAGER_ENV: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// `class:provider:type`, or `class:type` for classes without providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentId {
    pub class: String,
    pub provider: Option<String>,
    pub kind: String,
}

impl AgentId {
    pub fn parse(text: &str) -> Result<Self, ExecError> {
        let parts: Vec<&str> = text.split(':').collect();
        let bad = || ExecError::BadAgentName(text.to_string());
        let ok = |s: &&str| !s.is_empty() && !s.contains('/') && *s != "..";
        if !parts.iter().all(ok) {
            return Err(bad());
        }
        match parts.as_slice() {
            ["ocf", p, t] => Ok(Self {
                class: "ocf".into(),
                provider: Some(p.to_string()),
                kind: t.to_string(),
            }),
            [c, t] if *c != "ocf" => Ok(Self {
                class: c.to_string(),
                provider: None,
                kind: t.to_string(),
            }),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.provider {
            Some(p) => write!(f, "{}:{}:{}", self.class, p, self.kind),
            None => write!(f, "{}:{}", self.class, self.kind),
        }
    }
}

/// One action of one resource.
#[derive(Debug, Clone)]
pub struct OcfAction {
    pub resource: String,
    pub agent: AgentId,
    pub action: String,
    pub params: BTreeMap<String, String>,
    /// Meta attributes by their Pacemaker names (e.g. `clone-max`, `notify`).
    pub meta: BTreeMap<String, String>,
    /// Zero for one-shot actions and probes.
    pub interval: Duration,
    pub timeout: Duration,
}

impl OcfAction {
    pub fn new(resource: &str, agent: AgentId, action: &str) -> Self {
        Self {
            resource: resource.to_string(),
            agent,
            action: action.to_string(),
            params: BTreeMap::new(),
            meta: BTreeMap::new(),
            interval: Duration::ZERO,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionResult {
    pub resource: String,
    pub action: String,
    pub rc: OcfRc,
    pub meaning: &'static str,
    pub timed_out: bool,
    pub duration_ms: u64,
    pub stdout: String,
    pub stderr: String,
    pub exit_reason: Option<String>,
    pub call_id: u64,
}

/// Runs ocf actions and records them in the history.
#[derive(Debug)]
pub struct OcfRunner {
    pub ocf_root: PathBuf,
    /// HA_RSCTMP: agents keep their state files here (cleared on boot).
    pub rsctmp: PathBuf,
    /// Directory with the compat shims, put first on the agents' PATH.
    pub shim_dir: Option<PathBuf>,
    /// Local node-attribute file read and written by the shims.
    pub attr_file: Option<PathBuf>,
    pub node_name: String,
    pub history: Arc<OpHistory>,
    metadata_cache: Mutex<BTreeMap<String, Option<AgentMetadata>>>,
}

pub fn local_node_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

impl OcfRunner {
    pub fn new(ocf_root: impl Into<PathBuf>, rsctmp: impl Into<PathBuf>) -> Self {
        Self {
            ocf_root: ocf_root.into(),
            rsctmp: rsctmp.into(),
            shim_dir: None,
            attr_file: None,
            node_name: local_node_name(),
            history: Arc::new(OpHistory::new()),
            metadata_cache: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn agent_path(&self, agent: &AgentId) -> PathBuf {
        let provider = agent.provider.as_deref().unwrap_or("heartbeat");
        self.ocf_root
            .join("resource.d")
            .join(provider)
            .join(&agent.kind)
    }

    fn command(&self, a: &OcfAction, path: &Path) -> Command {
        let mut cmd = Command::new(path);
        cmd.arg(&a.action);
        cmd.env("OCF_ROOT", &self.ocf_root)
            .env("OCF_RA_VERSION_MAJOR", "1")
            .env("OCF_RA_VERSION_MINOR", "1")
            .env("OCF_RESOURCE_INSTANCE", &a.resource)
            .env("OCF_RESOURCE_TYPE", &a.agent.kind)
            .env(
                "OCF_RESOURCE_PROVIDER",
                a.agent.provider.as_deref().unwrap_or(""),
            )
            .env("HA_RSCTMP", &self.rsctmp)
            .env("OCF_RESKEY_crm_feature_set", "3.19.0")
            .env("OCF_RESKEY_CRM_meta_on_node", &self.node_name)
            .env(
                "OCF_RESKEY_CRM_meta_timeout",
                a.timeout.as_millis().to_string(),
            )
            .env(
                "OCF_RESKEY_CRM_meta_interval",
                a.interval.as_millis().to_string(),
            );
        for (k, v) in &a.params {
            cmd.env(format!("OCF_RESKEY_{k}"), v);
        }
        for (k, v) in &a.meta {
            cmd.env(format!("OCF_RESKEY_CRM_meta_{}", k.replace('-', "_")), v);
        }
        if let Some(dir) = &self.shim_dir {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir.clone()];
            dirs.extend(std::env::split_paths(&path));
            if let Ok(joined) = std::env::join_paths(dirs) {
                cmd.env("PATH", joined);
            }
            // Pacemaker's own agents call "${HA_SBIN_DIR}/crm_attribute".
            cmd.env("HA_SBIN_DIR", dir);
        }
        if let Some(f) = &self.attr_file {
            cmd.env(super::agent_env::ATTR_FILE_ENV, f);
        }
        cmd.env(super::agent_env::NODE_ENV, &self.node_name);
        // systemd's notify socket and watchdog are the daemon's own: an
        // agent (or a daemon it starts) that finds them would speak for
        // pacelined to systemd.
        for var in SERVICE_MANAGER_ENV {
            cmd.env_remove(var);
        }
        cmd
    }

    /// The agent's meta-data, cached; None when the agent cannot produce it.
    pub fn metadata(&self, agent: &AgentId) -> Option<AgentMetadata> {
        let key = agent.to_string();
        if let Ok(cache) = self.metadata_cache.lock()
            && let Some(m) = cache.get(&key)
        {
            return m.clone();
        }
        let path = self.agent_path(agent);
        let a = OcfAction {
            timeout: Duration::from_secs(10),
            ..OcfAction::new(&agent.kind, agent.clone(), "meta-data")
        };
        let meta = run_with_timeout(self.command(&a, &path), a.timeout)
            .ok()
            .filter(|o| o.status == ProcessStatus::Exited(0))
            .and_then(|o| AgentMetadata::parse(&o.stdout).ok());
        if let Ok(mut cache) = self.metadata_cache.lock() {
            cache.insert(key, meta.clone());
        }
        meta
    }

    /// Checks the parameters against the agent's meta-data; returns the
    /// reason when they are unusable.
    pub fn validate_params(&self, a: &OcfAction) -> Option<String> {
        let meta = self.metadata(&a.agent)?;
        let unknown: Vec<&str> = a
            .params
            .keys()
            .filter(|k| !meta.parameters.iter().any(|p| &p.name == *k))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let known: Vec<&str> = meta.parameters.iter().map(|p| p.name.as_str()).collect();
            return Some(format!(
                "unknown parameter(s) {} for {}; it accepts: {}",
                unknown.join(", "),
                a.agent,
                known.join(", ")
            ));
        }
        let missing: Vec<&str> = meta
            .parameters
            .iter()
            .filter(|p| p.required && !a.params.contains_key(&p.name))
            .map(|p| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Some(format!(
                "missing required parameter(s) {} for {} (see `paceline ra info {}`)",
                missing.join(", "),
                a.agent,
                a.agent
            ));
        }
        None
    }

    /// Runs the action; never fails: every problem becomes an OCF rc with an
    /// exit reason, as the controller needs a result for every action.
    pub fn run(&self, a: &OcfAction) -> ActionResult {
        let finish = |rc: OcfRc, timed_out, duration: Duration, out, err, reason| {
            let rec: OpRecord = self.history.record(OpResult {
                resource: &a.resource,
                action: &a.action,
                interval: a.interval,
                rc: rc.0,
                timed_out,
                exec_time: duration,
                exit_reason: reason,
            });
            ActionResult {
                resource: a.resource.clone(),
                action: a.action.clone(),
                rc,
                meaning: if timed_out { "timed out" } else { rc.meaning() },
                timed_out,
                duration_ms: duration.as_millis() as u64,
                stdout: out,
                stderr: err,
                exit_reason: rec.exit_reason,
                call_id: rec.call_id,
            }
        };
        if a.agent.class == "builtin" || a.agent.class == "systemd" {
            return self.run_builtin(a, finish);
        }
        if a.agent.class != "ocf" {
            return finish(
                OcfRc::ERR_UNIMPLEMENTED,
                false,
                Duration::ZERO,
                String::new(),
                String::new(),
                Some(format!(
                    "resource class {:?} is not supported by this executor",
                    a.agent.class
                )),
            );
        }
        let path = self.agent_path(&a.agent);
        if !path.is_file() {
            return finish(
                OcfRc::ERR_INSTALLED,
                false,
                Duration::ZERO,
                String::new(),
                String::new(),
                Some(format!(
                    "agent {} is not installed: {} does not exist (install its package, e.g. resource-agents)",
                    a.agent,
                    path.display()
                )),
            );
        }
        let needs_params = !matches!(a.action.as_str(), "meta-data" | "stop");
        if needs_params && let Some(reason) = self.validate_params(a) {
            return finish(
                OcfRc::ERR_ARGS,
                false,
                Duration::ZERO,
                String::new(),
                String::new(),
                Some(reason),
            );
        }
        if let Err(e) = std::fs::create_dir_all(&self.rsctmp) {
            return finish(
                OcfRc::ERR_PERM,
                false,
                Duration::ZERO,
                String::new(),
                String::new(),
                Some(format!(
                    "cannot create HA_RSCTMP {}: {e}",
                    self.rsctmp.display()
                )),
            );
        }
        match run_with_timeout(self.command(a, &path), a.timeout) {
            Err(e) => finish(
                OcfRc::ERR_PERM,
                false,
                Duration::ZERO,
                String::new(),
                String::new(),
                Some(e.to_string()),
            ),
            Ok(o) => {
                let reason = exit_reason(&o.stderr);
                let (rc, timed_out, reason) = match o.status {
                    ProcessStatus::Exited(c) => (OcfRc(c), false, reason),
                    ProcessStatus::Signaled(s) => (
                        OcfRc::ERR_GENERIC,
                        false,
                        reason.or(Some(format!("agent killed by signal {s}"))),
                    ),
                    ProcessStatus::TimedOut => (
                        OcfRc::ERR_GENERIC,
                        true,
                        Some(format!(
                            "{} of {} timed out after {}ms; its process group was killed{}",
                            a.action,
                            a.resource,
                            a.timeout.as_millis(),
                            last_words(&o.stderr, &o.stdout)
                        )),
                    ),
                };
                finish(rc, timed_out, o.duration, o.stdout, o.stderr, reason)
            }
        }
    }

    fn run_builtin<F>(&self, a: &OcfAction, finish: F) -> ActionResult
    where
        F: Fn(OcfRc, bool, Duration, String, String, Option<String>) -> ActionResult,
    {
        let started = std::time::Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        let (class, kind, action, instance, params, meta) = (
            a.agent.class.clone(),
            a.agent.kind.clone(),
            a.action.clone(),
            a.resource.clone(),
            a.params.clone(),
            a.meta.clone(),
        );
        let timeout = a.timeout;
        // A thread, not a task: a stuck syscall (stale NFS) must not block
        // the caller past the timeout; the thread is abandoned then.
        std::thread::spawn(move || {
            let outcome = if class == "systemd" {
                super::systemd::run(&kind, &action, timeout)
            } else {
                super::builtin::run(&kind, &action, &instance, &params, &meta)
            };
            let _ = tx.send(outcome);
        });
        match rx.recv_timeout(a.timeout) {
            Ok(o) => finish(
                o.rc,
                false,
                started.elapsed(),
                String::new(),
                String::new(),
                o.reason,
            ),
            Err(_) => finish(
                OcfRc::ERR_GENERIC,
                true,
                started.elapsed(),
                String::new(),
                String::new(),
                Some(format!(
                    "{} of {} timed out after {}ms",
                    a.action,
                    a.resource,
                    a.timeout.as_millis()
                )),
            ),
        }
    }

    /// Lists the installed ocf agents as `ocf:provider:type`.
    pub fn list(&self) -> Vec<AgentId> {
        let mut out = Vec::new();
        let Ok(providers) = std::fs::read_dir(self.ocf_root.join("resource.d")) else {
            return out;
        };
        for p in providers.flatten() {
            let provider = p.file_name().to_string_lossy().into_owned();
            let Ok(agents) = std::fs::read_dir(p.path()) else {
                continue;
            };
            for a in agents.flatten() {
                let name = a.file_name().to_string_lossy().into_owned();
                if a.path().is_file() && !name.starts_with('.') {
                    out.push(AgentId {
                        class: "ocf".into(),
                        provider: Some(provider.clone()),
                        kind: name,
                    });
                }
            }
        }
        out.sort_by_key(|a| a.to_string());
        out
    }
}

/// The last `ocf-exit-reason:` line an agent wrote to stderr.
pub fn exit_reason(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .rev()
        .filter_map(|l| l.split_once("ocf-exit-reason:").map(|(_, r)| r.trim()))
        .find(|r| !r.is_empty())
        .map(str::to_string)
}

/// What a killed agent printed last (where it was stuck), for the
/// timeout's reason: at most its last five lines.
fn last_words(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!("; its last output: {}", tail.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_agent_ids() {
        let a = AgentId::parse("ocf:heartbeat:Dummy").unwrap();
        assert_eq!(a.provider.as_deref(), Some("heartbeat"));
        assert_eq!(a.to_string(), "ocf:heartbeat:Dummy");
        assert_eq!(
            AgentId::parse("systemd:foo.service").unwrap().kind,
            "foo.service"
        );
        assert!(AgentId::parse("ocf:Dummy").is_err());
        assert!(AgentId::parse("ocf:../x:y").is_err());
    }

    #[test]
    fn agents_do_not_inherit_the_daemons_notify_socket_or_watchdog() {
        let ex = OcfRunner::new("/usr/lib/ocf", "/run/resource-agents");
        let a = OcfAction::new("r", AgentId::parse("ocf:heartbeat:Dummy").unwrap(), "start");
        let cmd = ex.command(&a, Path::new("/bin/true"));
        let removed: Vec<_> = cmd
            .get_envs()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        for var in SERVICE_MANAGER_ENV {
            assert!(removed.iter().any(|k| k == var), "{var} is passed on");
        }
    }

    #[test]
    fn finds_exit_reason() {
        let e = "x\nocf-exit-reason:first\nocf-exit-reason: Bad ip\n";
        assert_eq!(exit_reason(e).as_deref(), Some("Bad ip"));
    }
}
