//! `import-cib`'s fencing: a CIB's `stonith:` primitives become
//! `[[fencing.device]]`s of `type = "agent"` (paceline's fencing runs
//! those; a stonith primitive would only be listed), and its topology or,
//! without one, each device's `pcmk_host_list` / `pcmk_host_map`, becomes
//! `[[fencing.level]]`s. A paceline agent device fences one node, so a
//! Pacemaker device for several nodes becomes one device per node
//! (`ID-NODE`) with the node's `plug` (its `pcmk_host_map` entry, else the
//! node's name, which Pacemaker passes as the agent's plug by default).

use std::collections::BTreeMap;

use toml::Spanned;

use super::cib::CibLevel;
use super::document::{FenceDeviceDoc, FenceLevelDoc};
use crate::model::*;

fn s<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}

/// The fencer's own parameters (`pcmk_*`) that are read here; the others
/// are listed as not imported.
const READ: &[&str] = &["pcmk_host_list", "pcmk_host_map", "pcmk_delay_base"];

/// `pcmk_host_map` ("node1:plug1;node2:plug2", also separated by commas
/// or spaces) as (node, plug) pairs.
fn host_map(text: &str) -> Vec<(String, String)> {
    text.split([';', ',', ' '])
        .filter_map(|e| e.split_once([':', '=']))
        .map(|(n, p)| (n.trim().to_string(), p.trim().to_string()))
        .filter(|(n, _)| !n.is_empty())
        .collect()
}

/// The nodes a device fences, with the plug for each (None: its own).
fn targets(p: &Primitive, levels: &[CibLevel]) -> Vec<(String, Option<String>)> {
    if let Some(map) = p.params.get("pcmk_host_map") {
        return host_map(map)
            .into_iter()
            .map(|(n, plug)| (n, Some(plug)))
            .collect();
    }
    let mut nodes: Vec<String> = match p.params.get("pcmk_host_list") {
        Some(list) => list
            .split([',', ' ', ';'])
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect(),
        None => levels
            .iter()
            .filter(|l| l.devices.contains(&p.id))
            .map(|l| l.target.clone())
            .collect(),
    };
    nodes.dedup();
    let several = nodes.len() > 1;
    nodes
        .into_iter()
        .map(|n| {
            let plug = several.then(|| n.clone());
            (n, plug)
        })
        .collect()
}

/// The devices and levels of `stonith` (top-level stonith primitives) and
/// `levels` (the CIB's topology); what cannot be carried over goes to
/// `skipped`.
pub fn fencing(
    stonith: &[Primitive],
    levels: &[CibLevel],
    skipped: &mut Vec<String>,
) -> (Vec<FenceDeviceDoc>, Vec<FenceLevelDoc>) {
    let mut devices = Vec::new();
    // (CIB device, node) -> paceline device id.
    let mut ids: BTreeMap<(String, String), String> = BTreeMap::new();
    // node -> its devices in CIB order (levels when there is no topology).
    let mut capable: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in stonith {
        note_unread(p, skipped);
        let nodes = targets(p, levels);
        if nodes.is_empty() {
            skipped.push(format!(
                "fence device `{}` names no node (no pcmk_host_list, pcmk_host_map or fencing level): written without a level; add `paceline fencing level add NODE 1 {}` for each node it fences",
                p.id, p.id
            ));
            devices.push(device(p, p.id.clone(), None));
        }
        let one = nodes.len() == 1;
        for (node, plug) in nodes {
            let id = if one {
                p.id.clone()
            } else {
                format!("{}-{node}", p.id)
            };
            devices.push(device(p, id.clone(), plug));
            ids.insert((p.id.clone(), node.clone()), id.clone());
            capable.entry(node).or_default().push(id);
        }
    }
    let out_levels = if levels.is_empty() {
        capable
            .into_iter()
            .flat_map(|(node, devs)| {
                devs.into_iter()
                    .zip(1u32..)
                    .map(move |(d, index)| FenceLevelDoc {
                        target: s(node.clone()),
                        index: s(index),
                        devices: vec![s(d)],
                    })
            })
            .collect()
    } else {
        levels
            .iter()
            .map(|l| FenceLevelDoc {
                target: s(l.target.clone()),
                index: s(l.index),
                devices: l
                    .devices
                    .iter()
                    .map(|d| {
                        s(ids
                            .get(&(d.clone(), l.target.clone()))
                            .cloned()
                            .unwrap_or_else(|| d.clone()))
                    })
                    .collect(),
            })
            .collect()
    };
    (devices, out_levels)
}

fn note_unread(p: &Primitive, skipped: &mut Vec<String>) {
    if let Some(d) = p.params.get("pcmk_delay_base")
        && super::duration::parse_duration(d).is_err()
    {
        skipped.push(format!(
            "fence device `{}`: pcmk_delay_base = \"{d}\" (only one duration for every node is carried over)",
            p.id
        ));
    }
    for (k, v) in &p.params {
        if k.starts_with("pcmk_") && !READ.contains(&k.as_str()) {
            skipped.push(format!("fence device `{}`: {k} = \"{v}\"", p.id));
        }
    }
    if !p.meta.raw.is_empty() {
        let keys: Vec<&str> = p.meta.raw.keys().map(String::as_str).collect();
        skipped.push(format!(
            "fence device `{}`: meta attributes {} (a fence device is not a resource in paceline)",
            p.id,
            keys.join(", ")
        ));
    }
    if !p.operations.is_empty() {
        skipped.push(format!(
            "fence device `{}`: its operations (paceline checks fence devices itself: `paceline fence check`)",
            p.id
        ));
    }
}

/// One agent device: the agent, its parameters without the fencer's, the
/// node's plug when it has one, `pcmk_delay_base` as its delay.
fn device(p: &Primitive, id: String, plug: Option<String>) -> FenceDeviceDoc {
    let mut params = toml::map::Map::new();
    for (k, v) in p.params.iter().filter(|(k, _)| !k.starts_with("pcmk_")) {
        params.insert(k.clone(), toml::Value::String(v.clone()));
    }
    if let Some(plug) = plug {
        params.insert("plug".into(), toml::Value::String(plug));
    }
    let mut rest = BTreeMap::new();
    rest.insert("agent".to_string(), toml::Value::String(p.agent.clone()));
    if !params.is_empty() {
        rest.insert("params".to_string(), toml::Value::Table(params));
    }
    FenceDeviceDoc {
        id: s(id),
        kind: s("agent".into()),
        timeout: None,
        delay: p
            .params
            .get("pcmk_delay_base")
            .filter(|d| super::duration::parse_duration(d).is_ok())
            .map(|d| s(d.clone())),
        rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_map_is_read_with_any_separator() {
        assert_eq!(
            host_map("node1:1;node2:2, node3=3"),
            [
                ("node1".to_string(), "1".to_string()),
                ("node2".into(), "2".into()),
                ("node3".into(), "3".into())
            ]
        );
    }
}
