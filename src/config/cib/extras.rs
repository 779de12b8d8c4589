//! What `config import-cib` carries over beyond the scheduler's model:
//! resource templates (expanded into the primitives that name them), tags
//! (expanded where constraints name them), the fencing topology, and the
//! list of everything in the CIB's configuration that is not imported, so
//! that nothing is dropped without a word.

use std::collections::HashMap;

use super::dom::Element;
use crate::model::*;

/// One `<fencing-level>` naming its target node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CibLevel {
    pub target: String,
    pub index: u32,
    pub devices: Vec<String>,
}

/// The configuration sections the importer reads.
const READ: &[&str] = &[
    "crm_config",
    "nodes",
    "resources",
    "constraints",
    "rsc_defaults",
    "op_defaults",
    "alerts",
    "fencing-topology",
    "tags",
];

/// What paceline has in place of a section it does not import.
fn instead(section: &str) -> &'static str {
    match section {
        "acls" => "paceline's local API gives root every command and `haclient` read access",
        _ => "paceline has no counterpart",
    }
}

/// Sections, resource kinds, constraint kinds and node types of the
/// configuration that are not imported, each with its line.
pub fn not_imported(configuration: &Element) -> Vec<String> {
    let mut out = Vec::new();
    for section in &configuration.children {
        if !READ.contains(&section.name.as_str()) {
            out.push(format!(
                "<{}> (line {}): {}",
                section.name,
                section.line,
                instead(&section.name)
            ));
        }
    }
    if let Some(resources) = configuration.child("resources") {
        for r in &resources.children {
            if !["primitive", "group", "clone", "master", "template"].contains(&r.name.as_str()) {
                out.push(format!(
                    "<{} id=\"{}\"> (line {}): {} resources are not supported",
                    r.name,
                    r.attr("id").unwrap_or(""),
                    r.line,
                    r.name
                ));
            }
        }
    }
    if let Some(constraints) = configuration.child("constraints") {
        for c in &constraints.children {
            if !["rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket"]
                .contains(&c.name.as_str())
            {
                out.push(format!(
                    "<{} id=\"{}\"> (line {}): unknown constraint",
                    c.name,
                    c.attr("id").unwrap_or(""),
                    c.line
                ));
            }
        }
    }
    if let Some(nodes) = configuration.child("nodes") {
        for n in nodes.children_named("node") {
            if n.attr("type")
                .is_some_and(|t| t != "member" && t != "normal")
            {
                out.push(format!(
                    "<node uname=\"{}\" type=\"{}\"> (line {}): remote and guest nodes are not supported",
                    n.attr("uname").unwrap_or(""),
                    n.attr("type").unwrap_or(""),
                    n.line
                ));
            }
        }
    }
    for kind in ["rsc_defaults", "op_defaults"] {
        for set in configuration
            .child(kind)
            .into_iter()
            .flat_map(|s| s.children_named("meta_attributes"))
            .filter(|s| s.child("rule").is_some())
        {
            out.push(format!(
                "<{kind}> set \"{}\" (line {}): sets with rules are not written (only unconditional defaults)",
                set.attr("id").unwrap_or(""),
                set.line
            ));
        }
    }
    out
}

/// `<fencing-topology>`: the levels naming a node; those naming nodes by a
/// pattern or an attribute go to `skipped`.
pub fn fencing_levels(configuration: &Element, skipped: &mut Vec<String>) -> Vec<CibLevel> {
    let mut out = Vec::new();
    let Some(topology) = configuration.child("fencing-topology") else {
        return out;
    };
    for level in topology.children_named("fencing-level") {
        let index = level
            .attr("index")
            .and_then(|i| i.trim().parse::<u32>().ok());
        match (level.attr("target"), index) {
            (Some(target), Some(index)) => out.push(CibLevel {
                target: target.to_string(),
                index,
                devices: level
                    .attr("devices")
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect(),
            }),
            _ => skipped.push(format!(
                "<fencing-level id=\"{}\"> (line {}): a level must name its target node and index (target-pattern and target-attribute are not supported); add it with `paceline fencing level add NODE INDEX DEVICE...`",
                level.attr("id").unwrap_or(""),
                level.line
            )),
        }
    }
    out
}

/// `<tags>`: each tag's members.
pub fn tags(configuration: &Element) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    for tag in configuration
        .child("tags")
        .into_iter()
        .flat_map(|t| t.children_named("tag"))
    {
        let members = tag
            .children_named("obj_ref")
            .filter_map(|r| r.attr("id").map(str::to_string))
            .collect();
        out.insert(tag.attr("id").unwrap_or("").to_string(), members);
    }
    out
}

/// Tags named by constraints, expanded as Pacemaker does for the forms
/// paceline writes: a location for a tag is one location per member (ids
/// `ID-MEMBER`), a tag inside a resource set is its members in place. A
/// simple colocation or order naming a tag is left out and listed.
pub fn expand_tags(
    cfg: &mut ClusterConfig,
    tags: &HashMap<String, Vec<String>>,
    skipped: &mut Vec<String>,
) {
    if tags.is_empty() {
        return;
    }
    let expand_sets = |sets: &mut Vec<ResourceSet>| {
        for set in sets {
            set.resources = set
                .resources
                .iter()
                .flat_map(|r| tags.get(r).cloned().unwrap_or_else(|| vec![r.clone()]))
                .collect();
        }
    };
    let mut locations = Vec::new();
    for mut l in std::mem::take(&mut cfg.locations) {
        match &mut l.target {
            LocationTarget::Resource(r) if tags.contains_key(r.as_str()) => {
                for m in &tags[r.as_str()] {
                    let mut one = l.clone();
                    one.id = format!("{}-{m}", l.id);
                    one.target = LocationTarget::Resource(m.clone());
                    locations.push(one);
                }
                continue;
            }
            LocationTarget::Sets(sets) => expand_sets(sets),
            _ => {}
        }
        locations.push(l);
    }
    cfg.locations = locations;
    let named = |r: &Option<String>| r.as_ref().is_some_and(|r| tags.contains_key(r));
    cfg.colocations.retain_mut(|c| {
        expand_sets(&mut c.sets);
        let keep = !named(&c.rsc) && !named(&c.with_rsc);
        if !keep {
            skipped.push(format!(
                "colocation `{}` names a tag: write it with a resource set of the tag's members",
                c.id
            ));
        }
        keep
    });
    cfg.orders.retain_mut(|o| {
        expand_sets(&mut o.sets);
        let keep = !named(&o.first) && !named(&o.then);
        if !keep {
            skipped.push(format!(
                "order `{}` names a tag: write it with a resource set of the tag's members",
                o.id
            ));
        }
        keep
    });
    let mut names: Vec<&String> = tags.keys().collect();
    names.sort();
    for t in names {
        skipped.push(format!(
            "tag `{t}` ({}): paceline has no tags; constraints naming it were expanded to its members",
            tags[t].join(", ")
        ));
    }
}

/// A primitive's template (`<primitive template="T">`), if it names one.
pub fn template_of<'a>(el: &Element, ids: &HashMap<String, &'a Element>) -> Option<&'a Element> {
    el.attr("template")
        .and_then(|t| ids.get(t).copied())
        .filter(|t| t.name == "template")
}

/// The template's operations, with the primitive's replacing those of the
/// same name, role and interval, then the primitive's others.
pub fn merge_ops(template: Vec<Operation>, own: Vec<Operation>) -> Vec<Operation> {
    let same = |a: &Operation, b: &Operation| {
        a.name == b.name && a.interval_ms == b.interval_ms && a.role == b.role
    };
    let mut out: Vec<Operation> = template
        .into_iter()
        .filter(|t| !own.iter().any(|o| same(t, o)))
        .collect();
    out.extend(own);
    out
}
