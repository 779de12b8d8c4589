//! `[fencing]` as the fencing crate takes it: typed values (durations read
//! by the one grammar, device timeouts derived from `failover_budget` where
//! not written), so the crate never reads text.

use std::collections::BTreeMap;
use std::time::Duration;

use paceline_fencing::config::{DURATION_KEYS, DeviceConfig, FencingSection, LevelConfig};
use serde::Deserialize;

use super::document::{FenceDeviceDoc, FencingSection as FencingDoc, S};
use super::duration::parse_duration;
use super::error::{ConfigError, Diagnostic, SourceMap};

/// A failed action is tried again at most this often per device (each
/// attempt can take the device's timeout).
pub const MAX_RETRIES: u32 = 10;

/// The fix under every refused fencing duration.
const HELP: &str = "see DURATIONS in `man 5 paceline.toml`";

/// Builds the typed section; every value that does not convert leaves a
/// diagnostic (the structural checks, with spans, are the converter's).
pub(crate) fn typed_section(
    f: &FencingDoc,
    fence_timeout: Duration,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> FencingSection {
    let mut duration = |v: &Option<S<String>>, key: &str| -> Option<Duration> {
        let v = v.as_ref()?;
        match parse_duration(v.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                diags.push(src.diag(
                    v.span(),
                    format!("bad duration for {key}: {e}"),
                    Some(HELP.into()),
                ));
                None
            }
        }
    };
    let delay = duration(&f.delay, "delay");
    let delay_max = duration(&f.delay_max, "delay_max");
    let priority_delay = duration(&f.priority_delay, "priority_delay");
    let devices = f
        .device
        .iter()
        .map(|d| device(d, fence_timeout, src, diags))
        .collect();
    let levels = f
        .level
        .iter()
        .map(|l| LevelConfig {
            target: l.target.get_ref().clone(),
            index: *l.index.get_ref(),
            devices: l.devices.iter().map(|d| d.get_ref().clone()).collect(),
        })
        .collect();
    FencingSection {
        enabled: f.enabled.as_ref().is_some_and(|e| *e.get_ref()),
        action: f
            .action
            .as_ref()
            .map_or_else(|| "reboot".to_string(), |a| a.get_ref().clone()),
        delay,
        delay_max,
        priority_delay,
        devices,
        levels,
    }
}

fn device(
    d: &FenceDeviceDoc,
    fence_timeout: Duration,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> DeviceConfig {
    let mut bad = |at: std::ops::Range<usize>, msg: String| {
        diags.push(src.diag(at, msg, Some(HELP.into())));
    };
    let mut typed = |v: &Option<S<String>>, key: &str| -> Option<Duration> {
        let v = v.as_ref()?;
        parse_duration(v.get_ref())
            .map_err(|e| bad(v.span(), format!("bad duration for {key}: {e}")))
            .ok()
    };
    let timeout = typed(&d.timeout, "timeout").or(Some(fence_timeout));
    let delay = typed(&d.delay, "delay");
    let mut durations = BTreeMap::new();
    let mut settings = BTreeMap::new();
    for (k, v) in &d.rest {
        if k == "retries" {
            continue;
        }
        if !DURATION_KEYS.contains(&k.as_str()) {
            settings.insert(k.clone(), v.clone());
            continue;
        }
        let at = key_span(src.text, d.id.span().start, k).unwrap_or_else(|| d.id.span());
        match v.as_str().map(parse_duration) {
            Some(Ok(dur)) => {
                durations.insert(k.clone(), dur);
            }
            Some(Err(e)) => bad(
                at,
                format!("device `{}`: bad duration for {k}: {e}", d.id.get_ref()),
            ),
            None => bad(
                at,
                format!(
                    "device `{}`: {k} must be a duration string such as \"5s\", not {v}",
                    d.id.get_ref()
                ),
            ),
        }
    }
    let retries = match d.rest.get("retries") {
        None => None,
        Some(v) => match v.as_integer().map(u32::try_from) {
            Some(Ok(r)) if r <= MAX_RETRIES => Some(r),
            _ => {
                bad(
                    key_span(src.text, d.id.span().start, "retries").unwrap_or_else(|| d.id.span()),
                    format!(
                        "device `{}`: retries must be a whole number 0..={MAX_RETRIES}, not {v}",
                        d.id.get_ref()
                    ),
                );
                None
            }
        },
    };
    DeviceConfig {
        id: d.id.get_ref().clone(),
        kind: d.kind.get_ref().clone(),
        timeout,
        retries,
        delay,
        durations,
        settings,
    }
}

/// Where `key = value` of the table that holds offset `from` is: the
/// device table's own keys are read through serde's flatten, which keeps
/// no spans, so the line is found in the text (the value's span).
pub(crate) fn key_span(text: &str, from: usize, key: &str) -> Option<std::ops::Range<usize>> {
    let table_start = text.get(..from)?.rfind("\n[").map_or(0, |i| i + 1);
    let mut offset = table_start;
    for (i, line) in text.get(table_start..)?.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if i > 0 && trimmed.starts_with('[') {
            return None;
        }
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            let eq = line.find('=')?;
            let value = line[eq + 1..].trim();
            let start = offset + eq + 1 + line[eq + 1..].find(value).unwrap_or(0);
            return Some(start..start + value.len());
        }
        offset += line.len();
    }
    None
}

/// What `paceline fence` reads: `[fencing]` and the budget its timeouts
/// derive from, and nothing else, so an operator can fence with a file
/// whose other sections would be refused.
#[derive(Deserialize)]
struct FencingOnly {
    #[serde(default)]
    failover_budget: Option<S<String>>,
    #[serde(default)]
    fencing: Option<FencingDoc>,
    #[serde(default)]
    node: Vec<NodeName>,
}

#[derive(Deserialize)]
struct NodeName {
    name: String,
}

/// What [`load_fencing_str`] reads.
#[derive(Debug, Clone)]
pub struct FencingFile {
    /// `None` without a `[fencing]` section.
    pub section: Option<FencingSection>,
    /// The `[[node]]` names, in file order.
    pub node_names: Vec<String>,
}

/// `[fencing]` of a cluster file read on its own (see [`FencingOnly`]).
pub fn load_fencing_str(text: &str, file: &str) -> Result<FencingFile, ConfigError> {
    super::check_size(text.len(), file)?;
    let src = SourceMap { file, text };
    let doc: FencingOnly = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        ConfigError::Invalid(vec![src.diag(
            span,
            e.message().trim().to_string(),
            Some("see [fencing] in `man 5 paceline.toml`".into()),
        )])
    })?;
    let node_names = doc.node.into_iter().map(|n| n.name).collect();
    let Some(f) = doc.fencing else {
        return Ok(FencingFile {
            section: None,
            node_names,
        });
    };
    let mut diags = Vec::new();
    if let Some(b) = &doc.failover_budget
        && let Err(e) = parse_duration(b.get_ref())
    {
        diags.push(src.diag(
            b.span(),
            format!("bad duration for failover_budget: {e}"),
            Some(HELP.into()),
        ));
    }
    let budget = super::document::Document {
        failover_budget: doc.failover_budget,
        ..Default::default()
    };
    let fence_timeout = budget.timers().fence_timeout;
    let section = typed_section(&f, fence_timeout, &src, &mut diags);
    if let Err(e) = section.validate() {
        diags.push(src.diag(0..0, e.to_string(), None));
    }
    if diags.is_empty() {
        Ok(FencingFile {
            section: Some(section),
            node_names,
        })
    } else {
        Err(ConfigError::Invalid(diags))
    }
}
