//! The builtin resource classes (`builtin:ipaddr`, `builtin:filesystem`,
//! `builtin:dummy`):
//! in-process agents with OCF semantics, run on a thread the executor can
//! abandon when the action overruns its timeout.

use std::collections::BTreeMap;

use super::rc::OcfRc;

#[derive(Debug, Clone)]
pub struct Outcome {
    pub rc: OcfRc,
    pub reason: Option<String>,
}

impl Outcome {
    pub fn ok() -> Self {
        Self {
            rc: OcfRc::SUCCESS,
            reason: None,
        }
    }
    pub fn fail(rc: OcfRc, reason: impl Into<String>) -> Self {
        Self {
            rc,
            reason: Some(reason.into()),
        }
    }
}

/// Runs `action` of builtin agent `kind` for the resource instance
/// `instance` (`db:0` for a clone instance), with the action's meta
/// attributes (Pacemaker's names, no `CRM_meta_` prefix).
pub fn run(
    kind: &str,
    action: &str,
    instance: &str,
    params: &BTreeMap<String, String>,
    meta: &BTreeMap<String, String>,
) -> Outcome {
    if action == "notify" {
        // Clone notifications concern agents that coordinate their
        // instances; the builtin ones have nothing to learn from them.
        return Outcome::ok();
    }
    match kind {
        "ipaddr" => super::ipaddr::run(action, params, meta),
        "filesystem" => super::filesystem::run(action, params),
        "dummy" => super::dummy::run(action, instance, params),
        other => Outcome::fail(
            OcfRc::ERR_INSTALLED,
            format!("no builtin agent {other:?}; builtin agents: dummy, filesystem, ipaddr"),
        ),
    }
}
