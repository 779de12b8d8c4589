//! The status file of `paceline simulate --config FILE --status STATUS`:
//! what runs where, failures and node states, written by hand in TOML and
//! turned into the same operation history a live cluster (or a CIB) has.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::duration::{as_ms, parse_duration};
use super::error::{ConfigError, Diagnostic, SourceMap};
use crate::model::{ClusterStatus, NodeState, OpRecord, ResourceHistory, Role};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusDoc {
    #[serde(default = "yes")]
    quorum: bool,
    #[serde(default)]
    node: Vec<NodeDoc>,
    #[serde(default)]
    resource: Vec<RunningDoc>,
    #[serde(default)]
    failure: Vec<FailureDoc>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeDoc {
    name: String,
    /// online | offline | unclean | pending
    state: Spanned<String>,
    #[serde(default)]
    attributes: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunningDoc {
    id: String,
    node: String,
    /// Started (default), Promoted or Unpromoted.
    #[serde(default)]
    role: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailureDoc {
    resource: String,
    node: String,
    operation: String,
    #[serde(default)]
    interval: Option<Spanned<String>>,
    /// The agent's exit code; 1 (generic error) unless told.
    #[serde(default)]
    rc: Option<i32>,
    /// Fail count; 1 unless told ("INFINITY" allowed).
    #[serde(default)]
    count: Option<toml::Value>,
    /// When it failed, seconds since the epoch (for failure-timeout).
    #[serde(default)]
    at: Option<i64>,
}

pub fn parse_status(text: &str, file: &str) -> Result<ClusterStatus, ConfigError> {
    let src = SourceMap { file, text };
    let doc: StatusDoc = toml::from_str(text).map_err(|e| {
        ConfigError::Invalid(vec![src.diag(
            e.span().unwrap_or(0..0),
            e.message().trim().to_string(),
            Some("see the STATUS FILE section of paceline.toml(5)".into()),
        )])
    })?;
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut st = ClusterStatus {
        have_quorum: doc.quorum,
        ..ClusterStatus::default()
    };
    let mut call_id = 1;
    for n in &doc.node {
        let mut ns = NodeState {
            uname: n.name.clone(),
            id: None,
            in_ccm: None,
            crmd: None,
            join: None,
            expected: None,
            unclean: false,
            has_state: true,
            transient_attributes: n
                .attributes
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        super::convert::value_to_string(v).unwrap_or_default(),
                    )
                })
                .collect(),
            resources: Vec::new(),
        };
        let (in_ccm, crmd, join, expected) = match n.state.get_ref().as_str() {
            "online" => (true, "online", "member", "member"),
            "offline" => (false, "offline", "down", "down"),
            "pending" => (true, "online", "pending", "member"),
            "unclean" => {
                ns.unclean = true;
                (false, "offline", "down", "member")
            }
            other => {
                diags.push(src.diag(
                    n.state.span(),
                    format!("unknown node state `{other}`"),
                    Some("use online, offline, unclean or pending".into()),
                ));
                continue;
            }
        };
        ns.in_ccm = Some(in_ccm);
        ns.crmd = Some(crmd.into());
        ns.join = Some(join.into());
        ns.expected = Some(expected.into());
        st.nodes.insert(n.name.clone(), ns);
    }
    let mut op = |rsc: &str, name: &str, interval_ms: u64, rc: i32, at: Option<i64>| {
        call_id += 1;
        OpRecord {
            id: format!("{rsc}_{name}_{interval_ms}"),
            operation: name.into(),
            interval_ms,
            call_id,
            rc_code: rc,
            op_status: if rc == 0 { 0 } else { 4 },
            target_rc: None,
            last_rc_change: at,
            last_run: at,
            exec_time_ms: None,
            queue_time_ms: None,
            on_node: None,
            migrate_source: None,
            migrate_target: None,
            digest: None,
            exit_reason: None,
        }
    };
    for r in &doc.resource {
        let role = match &r.role {
            None => Role::Started,
            Some(s) => match Role::parse(s.get_ref()) {
                Some(role @ (Role::Started | Role::Promoted | Role::Unpromoted)) => role,
                _ => {
                    diags.push(src.diag(
                        s.span(),
                        format!("bad role `{}` for a running resource", s.get_ref()),
                        Some("use Started, Promoted or Unpromoted".into()),
                    ));
                    continue;
                }
            },
        };
        let mut ops = vec![op(&r.id, "start", 0, 0, None)];
        if role == Role::Promoted {
            ops.push(op(&r.id, "promote", 0, 0, None));
        }
        history(&mut st, &r.node, &r.id).extend(ops);
    }
    for f in &doc.failure {
        let interval_ms = match &f.interval {
            None => 0,
            Some(i) => match parse_duration(i.get_ref()) {
                Ok(d) => as_ms(d),
                Err(e) => {
                    diags.push(src.diag(
                        i.span(),
                        format!("bad interval: {e}"),
                        Some("see DURATIONS in `man 5 paceline.toml`".into()),
                    ));
                    continue;
                }
            },
        };
        let rc = f.rc.unwrap_or(1);
        let record = op(&f.resource, &f.operation, interval_ms, rc, f.at);
        history(&mut st, &f.node, &f.resource).push(record);
        if let Some(ns) = st.nodes.get_mut(&f.node) {
            let count = f
                .count
                .as_ref()
                .and_then(super::convert::value_to_string)
                .unwrap_or_else(|| "1".into());
            let key = format!("{}#{}_{}", f.resource, f.operation, interval_ms);
            ns.transient_attributes
                .insert(format!("fail-count-{key}"), count);
            if let Some(at) = f.at {
                ns.transient_attributes
                    .insert(format!("last-failure-{key}"), at.to_string());
            }
        }
    }
    if diags.is_empty() {
        Ok(st)
    } else {
        Err(ConfigError::Invalid(diags))
    }
}

fn history<'a>(st: &'a mut ClusterStatus, node: &str, rsc: &str) -> &'a mut Vec<OpRecord> {
    let ns = st
        .nodes
        .entry(node.to_string())
        .or_insert_with(|| NodeState {
            uname: node.to_string(),
            id: None,
            in_ccm: Some(true),
            crmd: Some("online".into()),
            join: Some("member".into()),
            expected: Some("member".into()),
            unclean: false,
            has_state: true,
            transient_attributes: Default::default(),
            resources: Vec::new(),
        });
    let idx = match ns.resources.iter().position(|h| h.id == rsc) {
        Some(i) => i,
        None => {
            ns.resources.push(ResourceHistory {
                id: rsc.to_string(),
                class: None,
                provider: None,
                agent: None,
                container: None,
                ops: Vec::new(),
            });
            ns.resources.len() - 1
        }
    };
    &mut ns.resources[idx].ops
}
