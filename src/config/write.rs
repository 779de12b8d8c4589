//! Model -> idiomatic TOML of the paceline format. Primitives inside groups
//! and clones are written as `[[primitive]]` entries that the group or clone
//! names, as a human would write them.

use toml::Spanned;

use super::convert::{KNOWN_META, KNOWN_PROPERTIES};
use super::document::*;
use crate::model::*;

fn s<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}

fn duration(ms: u64) -> String {
    if ms % 60_000 == 0 && ms >= 60_000 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Integers stay integers so the TOML reads naturally; all else is a string.
fn value(v: &str) -> toml::Value {
    match v.parse::<i64>() {
        Ok(i) if i.to_string() == v => toml::Value::Integer(i),
        _ => toml::Value::String(v.to_string()),
    }
}

fn attrs(a: &Attributes) -> AttrMap {
    a.iter().map(|(k, v)| (k.clone(), s(value(v)))).collect()
}

/// Keeps the keys paceline knows; the others (typos and obsolete names in
/// old CIBs, which Pacemaker ignores too) are reported in `dropped`.
fn known_attrs(a: &Attributes, known: &[&str], what: &str, dropped: &mut Vec<String>) -> AttrMap {
    let mut out = AttrMap::new();
    let kinds = if known == KNOWN_PROPERTIES {
        super::values::PROPERTIES
    } else {
        super::values::META
    };
    for (k, v) in a {
        if known.contains(&k.as_str()) {
            let v = super::values::normalized(kinds, k, v).unwrap_or_else(|| v.clone());
            out.insert(k.clone(), s(value(&v)));
        } else {
            dropped.push(format!("{what} `{k}` = \"{v}\""));
        }
    }
    out
}

fn score(sc: Score) -> Spanned<toml::Value> {
    if sc.is_infinite() {
        s(toml::Value::String(sc.to_string()))
    } else {
        s(toml::Value::Integer(sc.value()))
    }
}

fn role(r: Option<Role>) -> Option<Spanned<String>> {
    r.map(|r| s(r.name().to_string()))
}

/// The agent as paceline runs it: an LSB init script (`lsb:`, `service:`)
/// as the systemd unit systemd makes of it (noted in `dropped`).
fn agent(p: &Primitive, dropped: &mut Vec<String>) -> String {
    if matches!(p.class, ResourceClass::Lsb | ResourceClass::Service) {
        let unit = format!("systemd:{}", p.agent);
        dropped.push(format!(
            "agent of `{}`: {} is written as {unit} (paceline runs init scripts as their systemd units)",
            p.id,
            p.agent_spec()
        ));
        return unit;
    }
    p.agent_spec()
}

fn primitive(p: &Primitive, dropped: &mut Vec<String>) -> PrimitiveDoc {
    PrimitiveDoc {
        id: s(p.id.clone()),
        agent: s(agent(p, dropped)),
        params: attrs(&p.params),
        meta: known_attrs(
            &p.meta.raw,
            KNOWN_META,
            &format!("meta of `{}`:", p.id),
            dropped,
        ),
        ops: p
            .operations
            .iter()
            .enumerate()
            .filter(|(i, o)| {
                // Pacemaker ignores a repeated recurring operation (same
                // name and interval, whatever the role; with a
                // configuration error); the TOML loader refuses it.
                let repeated = o.interval_ms > 0
                    && p.operations[..*i]
                        .iter()
                        .any(|e| e.name == o.name && e.interval_ms == o.interval_ms);
                if repeated {
                    dropped.push(format!(
                        "repeated operation `{}` {} of `{}`",
                        o.name,
                        duration(o.interval_ms),
                        p.id
                    ));
                }
                !repeated
            })
            .map(|(_, o)| OpDoc {
                name: s(o.name.clone()),
                // A monitor without interval would get a derived one on
                // loading; interval 0 (the probe's settings) is written out.
                interval: if o.interval_ms > 0 {
                    Some(s(duration(o.interval_ms)))
                } else {
                    (o.name == "monitor").then(|| s("0".to_string()))
                },
                timeout: o.timeout_ms.map(|t| s(duration(t))),
                role: role(o.role),
                on_fail: o.on_fail.map(|f| s(on_fail_name(f).to_string())),
                enabled: (!o.enabled).then_some(false),
            })
            .collect(),
        utilization: attrs(&p.utilization),
    }
}

fn on_fail_name(f: OnFail) -> &'static str {
    match f {
        OnFail::Ignore => "ignore",
        OnFail::Block => "block",
        OnFail::Stop => "stop",
        OnFail::Restart => "restart",
        OnFail::Standby => "standby",
        OnFail::Fence => "fence",
        OnFail::Demote => "demote",
    }
}

fn group(g: &Group, doc: &mut Document, dropped: &mut Vec<String>) {
    for m in &g.members {
        doc.primitive.push(primitive(m, dropped));
    }
    doc.group.push(GroupDoc {
        id: s(g.id.clone()),
        members: g.members.iter().map(|m| s(m.id.clone())).collect(),
        meta: known_attrs(
            &g.meta.raw,
            KNOWN_META,
            &format!("meta of `{}`:", g.id),
            dropped,
        ),
    });
}

fn set(r: &ResourceSet) -> SetDoc {
    SetDoc {
        resources: r.resources.iter().map(|x| s(x.clone())).collect(),
        sequential: (!r.sequential).then_some(false),
        require_all: (!r.require_all).then_some(false),
        role: role(r.role),
        action: r.action.map(|a| s(a.name().to_string())),
    }
}

fn rule(r: &Rule) -> RuleDoc {
    RuleDoc {
        score: r.score.map(score),
        score_attribute: r.score_attribute.clone().map(s),
        role: role(r.role),
        op: (r.boolean_op == BoolOp::Or).then(|| s("or".to_string())),
        expressions: r
            .expressions
            .iter()
            .filter_map(|e| match e {
                Expression::Attr {
                    attribute,
                    op,
                    value: v,
                    value_type,
                } => Some(ExprDoc {
                    attribute: s(attribute.clone()),
                    op: s(match op {
                        ExprOp::Eq => "eq",
                        ExprOp::Ne => "ne",
                        ExprOp::Lt => "lt",
                        ExprOp::Gt => "gt",
                        ExprOp::Lte => "lte",
                        ExprOp::Gte => "gte",
                        ExprOp::Defined => "defined",
                        ExprOp::NotDefined => "not_defined",
                    }
                    .to_string()),
                    value: v.as_ref().map(|v| s(value(v))),
                    value_type: match value_type {
                        ValueType::String => None,
                        ValueType::Integer => Some(s("integer".into())),
                        ValueType::Number => Some(s("number".into())),
                        ValueType::Version => Some(s("version".into())),
                    },
                }),
                // Date and nested rules have no TOML form yet.
                _ => None,
            })
            .collect(),
    }
}

/// Writes the configuration in the paceline TOML format.
fn alert(a: &alert::Alert) -> super::alerts::AlertDoc {
    use crate::model::alert::{DEFAULT_ALERT_TIMEOUT, DEFAULT_TIMESTAMP_FORMAT};
    let stamp = |f: &alert::TimestampFormat| s(f.to_string());
    let timeout = |d: std::time::Duration| s(duration(d.as_millis() as u64));
    super::alerts::AlertDoc {
        id: s(a.id.clone()),
        path: s(a.path.clone()),
        select: a.select.iter().map(|k| s(k.name().to_string())).collect(),
        attributes: a.attributes.iter().cloned().map(s).collect(),
        timeout: (a.timeout != DEFAULT_ALERT_TIMEOUT).then(|| timeout(a.timeout)),
        timestamp_format: (a.timestamp_format.to_string() != DEFAULT_TIMESTAMP_FORMAT)
            .then(|| stamp(&a.timestamp_format)),
        params: a
            .params
            .iter()
            .map(|(k, v)| (k.clone(), s(toml::Value::String(v.clone()))))
            .collect(),
        recipient: a
            .recipients
            .iter()
            .map(|r| super::alerts::RecipientDoc {
                id: s(r.id.clone()),
                value: s(r.value.clone()),
                timeout: r.timeout.map(timeout),
                timestamp_format: r.timestamp_format.as_ref().map(stamp),
                params: r
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), s(toml::Value::String(v.clone()))))
                    .collect(),
            })
            .collect(),
    }
}

/// One `[[ticket]]` per constraint (an `rsc_ticket`'s sets joined); a
/// constraint whose sets differ in role becomes several, with numbered ids.
fn tickets(list: &[TicketConstraint]) -> Vec<super::tickets::TicketDoc> {
    let mut out: Vec<super::tickets::TicketDoc> = Vec::new();
    let mut last: Option<&TicketConstraint> = None;
    let mut used = std::collections::BTreeSet::new();
    for t in list {
        let same = last.is_some_and(|l| {
            (&l.id, &l.ticket, l.role, l.loss_policy) == (&t.id, &t.ticket, t.role, t.loss_policy)
        });
        last = Some(t);
        if let (true, Some(doc)) = (same, out.last_mut()) {
            doc.resources.push(s(t.resource.clone()));
            continue;
        }
        let mut id = t.id.clone();
        let mut n = 1;
        while !used.insert(id.clone()) {
            n += 1;
            id = format!("{}-{n}", t.id);
        }
        out.push(super::tickets::TicketDoc {
            id: s(id),
            ticket: s(t.ticket.clone()),
            resources: vec![s(t.resource.clone())],
            role: role(t.role),
            loss_policy: (t.loss_policy != LossPolicy::default_for(t.role))
                .then(|| s(t.loss_policy.name().to_string())),
        });
    }
    out
}

/// The model as TOML (stonith primitives stay `[[primitive]]`s).
pub fn to_toml(cfg: &ClusterConfig) -> String {
    render(cfg, None, Vec::new()).0
}

/// `config import-cib`: the CIB's configuration as TOML, its stonith
/// primitives and topology as `[[fencing.device]]`s and
/// `[[fencing.level]]`s (`write_fencing`), and the list of what is not
/// imported (also at the top of the TOML), never dropped without a word.
pub fn cib_to_toml(cib: &super::cib::ImportedCib) -> (String, Vec<String>) {
    let mut cfg = cib.config.clone();
    let mut skipped = cib.not_imported.clone();
    let mut stonith = Vec::new();
    cfg.resources.retain(|r| match r {
        Resource::Primitive(p) if p.class == ResourceClass::Stonith => {
            stonith.push(p.clone());
            false
        }
        _ => true,
    });
    let fencing = super::write_fencing::fencing(&stonith, &cib.fencing_levels, &mut skipped);
    render(&cfg, Some(fencing), skipped)
}

fn render(
    cfg: &ClusterConfig,
    fencing: Option<(Vec<FenceDeviceDoc>, Vec<FenceLevelDoc>)>,
    mut dropped: Vec<String>,
) -> (String, Vec<String>) {
    let mut doc = Document::default();
    let mut props = cfg.properties.raw.clone();
    let stonith_devices = match &fencing {
        Some((devices, _)) => !devices.is_empty(),
        None => cfg.resources.iter().any(|r| match r {
            Resource::Primitive(p) => p.class == ResourceClass::Stonith,
            _ => false,
        }),
    };
    let (device, level) = fencing.unwrap_or_default();
    props.remove("stonith-enabled");
    doc.fencing = Some(FencingSection {
        enabled: Some(s(cfg.properties.stonith_enabled)),
        action: (cfg.properties.stonith_action != "reboot"
            && !props.contains_key("stonith-action"))
        .then(|| s(cfg.properties.stonith_action.clone())),
        device,
        level,
        ..FencingSection::default()
    });
    doc.properties = known_attrs(&props, KNOWN_PROPERTIES, "property", &mut dropped);
    let mut rsc_defaults = cfg.rsc_defaults.clone();
    // Native configs expire failures after DEFAULT_FAILURE_TIMEOUT; a model
    // without one (a CIB import) keeps Pacemaker's "never" explicitly.
    rsc_defaults
        .entry("failure-timeout".into())
        .or_insert_with(|| "0".into());
    doc.rsc_defaults = known_attrs(&rsc_defaults, KNOWN_META, "rsc_defaults", &mut dropped);
    doc.op_defaults = attrs(&cfg.op_defaults);
    for (i, n) in cfg.nodes.iter().enumerate() {
        let id =
            n.id.parse::<u32>()
                .ok()
                .filter(|id| (1..=65535).contains(id))
                .unwrap_or(i as u32 + 1);
        doc.node.push(NodeDoc {
            name: s(n.uname.clone()),
            id: s(id),
            votes: None,
            links: Vec::new(),
            attributes: attrs(&n.attributes),
            utilization: attrs(&n.utilization),
            standby: n.standby,
            maintenance: n.maintenance,
        });
    }
    for r in &cfg.resources {
        match r {
            Resource::Primitive(p) => doc.primitive.push(primitive(p, &mut dropped)),
            Resource::Group(g) => group(g, &mut doc, &mut dropped),
            Resource::Clone(c) => {
                match &c.child {
                    CloneChild::Primitive(p) => doc.primitive.push(primitive(p, &mut dropped)),
                    CloneChild::Group(g) => group(g, &mut doc, &mut dropped),
                }
                doc.clone.push(CloneDoc {
                    id: s(c.id.clone()),
                    resource: s(c.child.id().to_string()),
                    promotable: c.promotable,
                    clone_max: c.clone_max,
                    clone_node_max: (c.clone_node_max != 1).then_some(c.clone_node_max),
                    clone_min: (c.clone_min != 0).then_some(c.clone_min),
                    promoted_max: (c.promoted_max != 1).then_some(c.promoted_max),
                    promoted_node_max: (c.promoted_node_max != 1).then_some(c.promoted_node_max),
                    interleave: c.interleave,
                    ordered: c.ordered,
                    notify: c.notify,
                    globally_unique: c.globally_unique,
                    meta: known_attrs(
                        &c.meta.raw,
                        KNOWN_META,
                        &format!("meta of `{}`:", c.id),
                        &mut dropped,
                    ),
                });
            }
        }
    }
    for l in &cfg.locations {
        let (resource, resource_pattern) = match &l.target {
            LocationTarget::Resource(r) => (Some(s(r.clone())), None),
            LocationTarget::Pattern(p) => (None, Some(s(p.clone()))),
            // Location sets have no TOML form yet: one location per member.
            LocationTarget::Sets(_) => continue,
        };
        let (node, sc, rules) = match &l.placement {
            LocationPlacement::Node { node, score: sc } => {
                (Some(s(node.clone())), Some(score(*sc)), Vec::new())
            }
            LocationPlacement::Rules(rs) => (None, None, rs.iter().map(rule).collect()),
        };
        doc.location.push(LocationDoc {
            id: s(l.id.clone()),
            resource,
            resource_pattern,
            node,
            score: sc,
            role: role(l.role),
            resource_discovery: l.resource_discovery.clone().map(s),
            rules,
        });
    }
    for c in &cfg.colocations {
        doc.colocation.push(ColocationDoc {
            id: s(c.id.clone()),
            score: (c.score != Score::INFINITY).then(|| score(c.score)),
            resource: c.rsc.clone().map(s),
            with: c.with_rsc.clone().map(s),
            role: role(c.rsc_role),
            with_role: role(c.with_rsc_role),
            node_attribute: c.node_attribute.clone(),
            influence: c.influence,
            sets: c.sets.iter().map(set).collect(),
        });
    }
    for o in &cfg.orders {
        doc.order.push(OrderDoc {
            id: s(o.id.clone()),
            first: o.first.clone().map(s),
            then: o.then.clone().map(s),
            first_action: (o.first_action != Action::Start)
                .then(|| s(o.first_action.name().to_string())),
            then_action: (o.then_action != o.first_action)
                .then(|| s(o.then_action.name().to_string())),
            kind: match o.kind {
                OrderKind::Mandatory => None,
                OrderKind::Optional => Some(s("Optional".into())),
                OrderKind::Serialize => Some(s("Serialize".into())),
            },
            symmetrical: o.symmetrical,
            sets: o.sets.iter().map(set).collect(),
        });
    }
    doc.alert = cfg.alerts.iter().map(alert).collect();
    doc.ticket = tickets(&cfg.tickets);
    let mut body = toml::to_string(&doc).unwrap_or_else(|e| format!("# cannot write TOML: {e}\n"));
    if !dropped.is_empty() {
        let mut head = String::from(
            "# Not imported as written (unknown to paceline, obsolete, or not acted on):\n",
        );
        for d in &dropped {
            head.push_str(&format!("#   {d}\n"));
        }
        body = format!("{head}\n{body}");
    }
    let text = if cfg.properties.stonith_enabled && !stonith_devices {
        // The model has no fence devices: say so where the operator looks.
        format!(
            "# Fencing is enabled but this configuration names no fence device:\n\
             # add [[fencing.device]] and [[fencing.level]] entries under [fencing]\n\
             # (`paceline config check` refuses the file until you do).\n{body}"
        )
    } else {
        body
    };
    (text, dropped)
}
