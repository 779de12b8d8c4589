//! `builtin:dummy`: a resource that runs nothing, with OCF semantics and
//! roles (as `ocf:heartbeat:Dummy` and `ocf:pacemaker:Stateful` together),
//! kept in a state file per instance. It stands in for a real service where
//! a cluster must be shown or tested on a machine that has nothing but
//! paceline (`paceline demo`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::builtin::Outcome;
use super::rc::OcfRc;

pub const DEFAULT_STATE_DIR: &str = "/run/paceline/dummy";

fn state_file(instance: &str, params: &BTreeMap<String, String>) -> Result<PathBuf, Outcome> {
    if instance.is_empty() || instance.contains('/') {
        return Err(Outcome::fail(
            OcfRc::ERR_CONFIGURED,
            format!("builtin:dummy needs a plain instance name, not {instance:?}"),
        ));
    }
    // Like the OCF agents' state files, the default lives under the
    // daemon's HA_RSCTMP, so that nodes sharing one filesystem (the
    // namespace lab) keep separate state.
    let from_env = std::env::var("HA_RSCTMP")
        .ok()
        .filter(|d| d.starts_with('/'))
        .map(|d| format!("{d}/dummy"));
    let dir = params
        .get("state_dir")
        .cloned()
        .or(from_env)
        .unwrap_or_else(|| DEFAULT_STATE_DIR.to_string());
    if !dir.starts_with('/') {
        return Err(Outcome::fail(
            OcfRc::ERR_CONFIGURED,
            format!("state_dir must be an absolute path, not {dir:?}"),
        ));
    }
    Ok(PathBuf::from(dir).join(format!("{}.state", instance.replace(':', "-"))))
}

fn write_state(path: &std::path::Path, state: &str) -> Outcome {
    let written = path
        .parent()
        .map(std::fs::create_dir_all)
        .transpose()
        .and_then(|_| std::fs::write(path, state));
    match written {
        Ok(()) => Outcome::ok(),
        Err(e) => Outcome::fail(
            OcfRc::ERR_GENERIC,
            format!("cannot write {}: {e}", path.display()),
        ),
    }
}

pub fn run(action: &str, instance: &str, params: &BTreeMap<String, String>) -> Outcome {
    let path = match state_file(instance, params) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let current = std::fs::read_to_string(&path).ok();
    match action {
        "start" => match current.as_deref() {
            Some(_) => Outcome::ok(),
            None => write_state(&path, "started"),
        },
        "stop" => match std::fs::remove_file(&path) {
            Ok(()) => Outcome::ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::ok(),
            Err(e) => Outcome::fail(
                OcfRc::ERR_GENERIC,
                format!("cannot remove {}: {e}", path.display()),
            ),
        },
        "monitor" => match current.as_deref().map(str::trim) {
            None => Outcome {
                rc: OcfRc::NOT_RUNNING,
                reason: None,
            },
            Some("promoted") => Outcome {
                rc: OcfRc::RUNNING_PROMOTED,
                reason: None,
            },
            Some(_) => Outcome::ok(),
        },
        "promote" => match current {
            None => Outcome::fail(
                OcfRc::NOT_RUNNING,
                "promote of an instance that is not running",
            ),
            Some(_) => write_state(&path, "promoted"),
        },
        "demote" => match current {
            None => Outcome::fail(
                OcfRc::NOT_RUNNING,
                "demote of an instance that is not running",
            ),
            Some(_) => write_state(&path, "started"),
        },
        "notify" | "validate-all" => Outcome::ok(),
        other => Outcome::fail(
            OcfRc::ERR_UNIMPLEMENTED,
            format!(
                "builtin:dummy has no action {other:?} (start, stop, monitor, promote, demote, notify, validate-all)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_with_roles() {
        let dir = std::env::temp_dir().join(format!("paceline-dummy-{}", std::process::id()));
        let params = BTreeMap::from([("state_dir".to_string(), dir.display().to_string())]);
        let rc = |action: &str| run(action, "db:0", &params).rc;
        assert_eq!(rc("monitor"), OcfRc::NOT_RUNNING);
        assert_eq!(rc("promote"), OcfRc::NOT_RUNNING);
        assert_eq!(rc("start"), OcfRc::SUCCESS);
        assert_eq!(rc("monitor"), OcfRc::SUCCESS);
        assert_eq!(rc("promote"), OcfRc::SUCCESS);
        assert_eq!(rc("monitor"), OcfRc::RUNNING_PROMOTED);
        assert_eq!(rc("demote"), OcfRc::SUCCESS);
        assert_eq!(rc("monitor"), OcfRc::SUCCESS);
        assert_eq!(rc("stop"), OcfRc::SUCCESS);
        assert_eq!(rc("stop"), OcfRc::SUCCESS, "stop is idempotent");
        assert_eq!(rc("monitor"), OcfRc::NOT_RUNNING);
        let bad = BTreeMap::from([("state_dir".to_string(), "relative".to_string())]);
        assert_eq!(run("start", "x", &bad).rc, OcfRc::ERR_CONFIGURED);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
