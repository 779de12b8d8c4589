//! Import of a Pacemaker CIB (XML) into the paceline model: the
//! configuration section (with id-ref reuse, old master/slave names) and the
//! status section (membership, transient attributes, operation history).

mod alerts;
mod dom;
mod extras;
mod tickets;

pub use extras::CibLevel;

use std::collections::HashMap;

use crate::config::duration::{as_ms, parse_duration};
use crate::config::values::meta_from;
use crate::model::*;
use dom::Element;

#[derive(Debug, thiserror::Error)]
pub enum CibError {
    #[error("line {line}: malformed XML: {message}")]
    Xml { line: usize, message: String },
    #[error("line {line}: <{element}>: {message}")]
    Invalid {
        line: usize,
        element: String,
        message: String,
    },
}

fn invalid(el: &Element, message: impl Into<String>) -> CibError {
    CibError::Invalid {
        line: el.line,
        element: el.name.clone(),
        message: message.into(),
    }
}

/// A CIB read into the model.
#[derive(Debug, Clone, Default)]
pub struct ImportedCib {
    pub config: ClusterConfig,
    pub status: ClusterStatus,
    /// Schema named by `validate-with`.
    pub validate_with: Option<String>,
    /// `<fencing-topology>`'s levels naming a node (`import-cib` writes them).
    pub fencing_levels: Vec<CibLevel>,
    /// What the configuration has that is not imported, one line each.
    pub not_imported: Vec<String>,
}

/// Pacemaker reads a location's `role` on the node form only: with rules,
/// each rule's own role counts and the constraint's is ignored (2.1.5, as
/// its maintainers describe it). The model keeps it for the node form only,
/// so that the TOML written from it (where a location's role applies to its
/// rules) means what the CIB meant; the import says so.
fn drop_roles_of_rule_locations(locations: &mut [Location], not_imported: &mut Vec<String>) {
    for l in locations {
        if let (LocationPlacement::Rules(_), Some(role)) = (&l.placement, l.role) {
            l.role = None;
            not_imported.push(format!(
                "rsc_location {}: role={role:?} (Pacemaker ignores a location's role when it has rules; put role on each rule)",
                l.id
            ));
        }
    }
}

/// Parses CIB XML text.
pub fn import_cib(text: &str) -> Result<ImportedCib, CibError> {
    let root = dom::parse(text)?;
    if root.name != "cib" {
        return Err(invalid(&root, "the root element must be <cib>"));
    }
    let mut ids: HashMap<String, &Element> = HashMap::new();
    let mut all = Vec::new();
    root.walk(&mut all);
    for el in &all {
        if let Some(id) = el.attr("id") {
            if el.attr("id-ref").is_none() {
                ids.entry(id.to_string()).or_insert(el);
            }
        }
    }
    let cx = Ctx { ids };
    let mut out = ImportedCib {
        validate_with: root.attr("validate-with").map(str::to_string),
        ..Default::default()
    };
    out.status.have_quorum = root.attr("have-quorum").map(truthy).unwrap_or(false);
    out.status.dc_uuid = root.attr("dc-uuid").map(str::to_string);
    out.status.execution_date = root.attr("execution-date").and_then(|s| s.parse().ok());
    out.status.no_quorum_panic = root
        .attr("no-quorum-panic")
        .is_some_and(|v| truthy(v) || v.trim().parse::<i64>().is_ok_and(|n| n != 0));
    let configuration = root
        .child("configuration")
        .ok_or_else(|| invalid(&root, "missing <configuration>"))?;
    if let Some(crm) = configuration.child("crm_config") {
        let mut raw = Attributes::new();
        for set in crm.children_named("cluster_property_set") {
            let set = cx.resolve(set)?;
            cx.nvpairs_into(set, &mut raw)?;
        }
        out.config.properties = properties(&raw);
    }
    out.config.properties.have_quorum = root.attr("have-quorum").map(truthy);
    if let Some(nodes) = configuration.child("nodes") {
        for n in nodes.children_named("node") {
            let node = cx.node(n)?;
            let mut sets = Vec::new();
            for set in n.children_named("instance_attributes") {
                sets.push(cx.nvset(cx.resolve(set)?)?);
            }
            if sets.iter().any(|s| s.rule.is_some()) {
                out.config
                    .node_attribute_sets
                    .insert(node.uname.clone(), sets);
            }
            out.config.nodes.push(node);
        }
    }
    if let Some(resources) = configuration.child("resources") {
        for r in &resources.children {
            if let Some(res) = cx.resource(r)? {
                out.config.resources.push(res);
            }
        }
    }
    if let Some(constraints) = configuration.child("constraints") {
        for c in &constraints.children {
            match c.name.as_str() {
                "rsc_location" => out.config.locations.push(cx.location(c)?),
                "rsc_colocation" => out.config.colocations.push(cx.colocation(c)?),
                "rsc_order" => out.config.orders.push(cx.order(c)?),
                "rsc_ticket" => {
                    let fencing = out.config.properties.stonith_enabled;
                    out.config.tickets.extend(cx.rsc_ticket(c, fencing)?)
                }
                _ => {}
            }
        }
    }
    if let Some(alerts) = configuration.child("alerts") {
        out.config.alerts = cx.alerts(alerts)?;
    }
    out.not_imported = extras::not_imported(configuration);
    drop_roles_of_rule_locations(&mut out.config.locations, &mut out.not_imported);
    out.fencing_levels = extras::fencing_levels(configuration, &mut out.not_imported);
    let tags = extras::tags(configuration);
    extras::expand_tags(&mut out.config, &tags, &mut out.not_imported);
    for (section, flat, sets) in [
        (
            "rsc_defaults",
            &mut out.config.rsc_defaults,
            &mut out.config.rsc_defaults_sets,
        ),
        (
            "op_defaults",
            &mut out.config.op_defaults,
            &mut out.config.op_defaults_sets,
        ),
    ] {
        if let Some(sec) = configuration.child(section) {
            for set in sec.children_named("meta_attributes") {
                let set = cx.resolve(set)?;
                let nv = cx.nvset(set)?;
                if nv.rule.is_none() {
                    flat.extend(nv.values.clone());
                }
                sets.push(nv);
            }
        }
    }
    let props = &out.config.properties;
    let watchdog = props.raw.get("have-watchdog").is_some_and(|v| truthy(v));
    out.config.properties.no_fence_device =
        props.stonith_enabled && !watchdog && !has_stonith_resource(&out.config.resources);
    // Typed at import: the scheduler and the controller read no text.
    out.config.rsc_defaults_meta = meta_from(&out.config.rsc_defaults);
    out.config.op_defaults_timeout = out
        .config
        .op_defaults
        .get("timeout")
        .and_then(|v| parse_duration(v).ok());
    if let Some(status) = root.child("status") {
        out.status.tickets = tickets::ticket_states(status);
        for ns in status.children_named("node_state") {
            let st = cx.node_state(ns)?;
            out.status.node_order.push(st.uname.clone());
            out.status.nodes.insert(st.uname.clone(), st);
        }
    }
    Ok(out)
}

/// Whether a `stonith`-class primitive is configured anywhere (Pacemaker's
/// "have STONITH resource", which fencing needs).
fn has_stonith_resource(resources: &[Resource]) -> bool {
    let stonith = |p: &Primitive| p.class == ResourceClass::Stonith;
    resources.iter().any(|r| match r {
        Resource::Primitive(p) => stonith(p),
        Resource::Group(g) => g.members.iter().any(stonith),
        Resource::Clone(c) => match &c.child {
            CloneChild::Primitive(p) => stonith(p),
            CloneChild::Group(g) => g.members.iter().any(stonith),
        },
    })
}

fn truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "on" | "1" | "y"
    )
}

fn properties(raw: &Attributes) -> ClusterProperties {
    let mut p = ClusterProperties {
        raw: raw.clone(),
        ..Default::default()
    };
    let get = |k: &str| {
        raw.get(k)
            .or_else(|| raw.get(&k.replace('-', "_")))
            .map(String::as_str)
    };
    if let Some(v) = get("stonith-enabled") {
        p.stonith_enabled = truthy(v);
    }
    if let Some(v) = get("stonith-action") {
        p.stonith_action = if v == "poweroff" {
            "off".into()
        } else {
            v.to_string()
        };
    }
    if let Some(v) = get("no-quorum-policy") {
        p.no_quorum_policy = match v {
            "ignore" => NoQuorumPolicy::Ignore,
            "freeze" => NoQuorumPolicy::Freeze,
            "demote" => NoQuorumPolicy::Demote,
            "suicide" => NoQuorumPolicy::Suicide,
            _ => NoQuorumPolicy::Stop,
        };
    }
    let flag = |k: &str, d: bool| get(k).map(truthy).unwrap_or(d);
    p.symmetric_cluster = flag("symmetric-cluster", true);
    p.maintenance_mode = flag("maintenance-mode", false);
    p.start_failure_is_fatal = flag("start-failure-is-fatal", true);
    p.stop_orphan_resources = flag("stop-orphan-resources", true);
    p.stop_orphan_actions = flag("stop-orphan-actions", true);
    p.startup_fencing = flag("startup-fencing", true);
    p.stop_all_resources = flag("stop-all-resources", false);
    p.default_resource_stickiness = get("default-resource-stickiness").and_then(|v| v.parse().ok());
    p.is_managed_default = get("is-managed-default").map(truthy);
    p.node_action_limit = get("node-action-limit")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|&n| i64::from(n) <= crate::config::values::MAX_NODE_ACTION_LIMIT);
    p.placement_strategy = get("placement-strategy")
        .map(PlacementStrategy::parse)
        .unwrap_or_default();
    p.dc_deadtime = get("dc-deadtime").and_then(|v| parse_duration(v).ok());
    p
}

struct Ctx<'a> {
    ids: HashMap<String, &'a Element>,
}

impl<'a> Ctx<'a> {
    /// Follows an `id-ref` to the element it reuses.
    fn resolve(&self, el: &'a Element) -> Result<&'a Element, CibError> {
        match el.attr("id-ref") {
            Some(r) => {
                self.ids.get(r).copied().ok_or_else(|| {
                    invalid(el, format!("id-ref {r:?} names no element with that id"))
                })
            }
            None => Ok(el),
        }
    }

    fn nvpairs_into(&self, set: &'a Element, out: &mut Attributes) -> Result<(), CibError> {
        for nv in &set.children {
            if nv.name != "nvpair" {
                continue;
            }
            let nv = self.resolve(nv)?;
            let name = nv
                .attr("name")
                .ok_or_else(|| invalid(nv, "nvpair without name"))?;
            let value = nv.attr("value").unwrap_or("");
            // A name repeated within one set: the first one counts, as in
            // Pacemaker (which never overwrites while unpacking a set).
            out.entry(name.to_string())
                .or_insert_with(|| value.to_string());
        }
        Ok(())
    }

    fn nvset(&self, set: &'a Element) -> Result<NvSet, CibError> {
        let mut values = Attributes::new();
        self.nvpairs_into(set, &mut values)?;
        let rule = match set.child("rule") {
            Some(r) => Some(self.rule(r)?),
            None => None,
        };
        Ok(NvSet {
            id: set.attr("id").unwrap_or("").to_string(),
            score: set
                .attr("score")
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            rule,
            values,
        })
    }

    /// Merges all rule-less sets of the given kind; earlier sets win, as in Pacemaker.
    fn attr_sets(&self, el: &'a Element, kind: &str) -> Result<Attributes, CibError> {
        let mut out = Attributes::new();
        for set in el.children_named(kind) {
            let set = self.resolve(set)?;
            if set.child("rule").is_some() {
                continue;
            }
            let mut vals = Attributes::new();
            self.nvpairs_into(set, &mut vals)?;
            for (k, v) in vals {
                out.entry(k).or_insert(v);
            }
        }
        Ok(out)
    }

    fn node(&self, n: &'a Element) -> Result<Node, CibError> {
        let id = n
            .attr("id")
            .ok_or_else(|| invalid(n, "node without id"))?
            .to_string();
        let uname = n.attr("uname").unwrap_or(&id).to_string();
        let attributes = self.attr_sets(n, "instance_attributes")?;
        let utilization = self.attr_sets(n, "utilization")?;
        Ok(Node {
            standby: attributes
                .get("standby")
                .map(|v| truthy(v))
                .unwrap_or(false),
            maintenance: attributes
                .get("maintenance")
                .map(|v| truthy(v))
                .unwrap_or(false),
            score: n
                .attr("score")
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            id,
            uname,
            attributes,
            utilization,
        })
    }

    fn meta(&self, el: &'a Element) -> Result<ResourceMeta, CibError> {
        let raw = self.attr_sets(el, "meta_attributes")?;
        Ok(meta_from(&raw))
    }

    fn operation(&self, op: &'a Element) -> Result<Operation, CibError> {
        let op = self.resolve(op)?;
        let name = op
            .attr("name")
            .ok_or_else(|| invalid(op, "op without name"))?
            .to_string();
        let interval_ms = match op.attr("interval") {
            Some(v) => parse_duration(v)
                .map(as_ms)
                .map_err(|e| invalid(op, format!("bad interval: {e}")))?,
            None => 0,
        };
        let mut meta = self.attr_sets(op, "meta_attributes")?;
        for (k, v) in &op.attrs {
            meta.entry(k.clone()).or_insert(v.clone());
        }
        Ok(Operation {
            id: op.attr("id").unwrap_or("").to_string(),
            name,
            interval_ms,
            timeout_ms: op
                .attr("timeout")
                .and_then(|v| parse_duration(v).ok())
                .map(as_ms),
            role: op.attr("role").and_then(Role::parse),
            on_fail: meta.get("on-fail").and_then(|v| OnFail::parse(v)),
            enabled: meta.get("enabled").map(|v| truthy(v)).unwrap_or(true),
            meta,
        })
    }

    fn primitive(&self, el: &'a Element) -> Result<Primitive, CibError> {
        let id = el
            .attr("id")
            .ok_or_else(|| invalid(el, "primitive without id"))?
            .to_string();
        // A template gives what the primitive does not say itself
        // (Pacemaker's resource templates: the primitive's own values win).
        let template = extras::template_of(el, &self.ids);
        let attr = |key: &str| el.attr(key).or_else(|| template.and_then(|t| t.attr(key)));
        let class_s = attr("class").unwrap_or("ocf");
        let class = ResourceClass::parse(class_s).unwrap_or(ResourceClass::Service);
        let mut operations = self.operations(el)?;
        if let Some(t) = template {
            operations = extras::merge_ops(self.operations(t)?, operations);
        }
        let sets = |kind: &str| -> Result<Attributes, CibError> {
            let mut own = self.attr_sets(el, kind)?;
            if let Some(t) = template {
                for (k, v) in self.attr_sets(t, kind)? {
                    own.entry(k).or_insert(v);
                }
            }
            Ok(own)
        };
        Ok(Primitive {
            id,
            class,
            provider: attr("provider").map(str::to_string),
            agent: attr("type").unwrap_or("").to_string(),
            params: sets("instance_attributes")?,
            meta: meta_from(&sets("meta_attributes")?),
            operations,
            utilization: sets("utilization")?,
        })
    }

    fn operations(&self, el: &'a Element) -> Result<Vec<Operation>, CibError> {
        let mut operations = Vec::new();
        if let Some(ops) = el.child("operations") {
            let ops = self.resolve(ops)?;
            for op in ops.children_named("op") {
                operations.push(self.operation(op)?);
            }
        }
        Ok(operations)
    }

    fn group(&self, el: &'a Element) -> Result<Group, CibError> {
        let id = el
            .attr("id")
            .ok_or_else(|| invalid(el, "group without id"))?
            .to_string();
        let mut members = Vec::new();
        for p in el.children_named("primitive") {
            members.push(self.primitive(p)?);
        }
        Ok(Group {
            id,
            members,
            meta: self.meta(el)?,
        })
    }

    fn resource(&self, el: &'a Element) -> Result<Option<Resource>, CibError> {
        Ok(Some(match el.name.as_str() {
            "primitive" => Resource::Primitive(self.primitive(el)?),
            "group" => Resource::Group(self.group(el)?),
            "clone" | "master" => {
                let id = el
                    .attr("id")
                    .ok_or_else(|| invalid(el, "clone without id"))?
                    .to_string();
                let meta = self.meta(el)?;
                let child = if let Some(p) = el.child("primitive") {
                    CloneChild::Primitive(self.primitive(p)?)
                } else if let Some(g) = el.child("group") {
                    CloneChild::Group(self.group(g)?)
                } else {
                    return Err(invalid(el, "clone holds neither a primitive nor a group"));
                };
                for key in CLONE_COUNTS {
                    clone_count_in_range(el, &meta.raw, key)?;
                }
                let m = &meta.raw;
                let num = |k: &str| m.get(k).and_then(|v| v.trim().parse::<u32>().ok());
                let flag = |k: &str| m.get(k).map(|v| truthy(v)).unwrap_or(false);
                let promotable = el.name == "master" || flag("promotable");
                Resource::Clone(Clone {
                    id,
                    child,
                    clone_max: num("clone-max"),
                    clone_node_max: num("clone-node-max").unwrap_or(1),
                    clone_min: num("clone-min").unwrap_or(0),
                    interleave: flag("interleave"),
                    ordered: flag("ordered"),
                    globally_unique: flag("globally-unique"),
                    notify: flag("notify"),
                    promotable,
                    promoted_max: num("promoted-max")
                        .or_else(|| num("master-max"))
                        .unwrap_or(1),
                    promoted_node_max: num("promoted-node-max")
                        .or_else(|| num("master-node-max"))
                        .unwrap_or(1),
                    meta,
                })
            }
            _ => return Ok(None),
        }))
    }

    fn rule(&self, el: &'a Element) -> Result<Rule, CibError> {
        let el = self.resolve(el)?;
        let mut expressions = Vec::new();
        for c in &el.children {
            let c = self.resolve(c)?;
            expressions.push(match c.name.as_str() {
                "expression" => {
                    let op = match c.attr("operation").unwrap_or("") {
                        "eq" => ExprOp::Eq,
                        "ne" => ExprOp::Ne,
                        "lt" => ExprOp::Lt,
                        "gt" => ExprOp::Gt,
                        "lte" => ExprOp::Lte,
                        "gte" => ExprOp::Gte,
                        "defined" => ExprOp::Defined,
                        "not_defined" => ExprOp::NotDefined,
                        other => return Err(invalid(c, format!("unknown operation {other:?}"))),
                    };
                    Expression::Attr {
                        attribute: c.attr("attribute").unwrap_or("").to_string(),
                        op,
                        value: c.attr("value").map(str::to_string),
                        value_type: match c.attr("type") {
                            Some("integer") => ValueType::Integer,
                            Some("number") => ValueType::Number,
                            Some("version") => ValueType::Version,
                            // Pacemaker compares untyped lt/gt/lte/gte as
                            // numbers, everything else as strings.
                            None if matches!(
                                op,
                                ExprOp::Lt | ExprOp::Gt | ExprOp::Lte | ExprOp::Gte
                            ) =>
                            {
                                ValueType::Number
                            }
                            _ => ValueType::String,
                        },
                    }
                }
                "date_expression" => Expression::Date(date_op(c)?),
                "rule" => Expression::Rule(Box::new(self.rule(c)?)),
                "rsc_expression" => Expression::Resource {
                    class: c.attr("class").map(str::to_string),
                    provider: c.attr("provider").map(str::to_string),
                    agent: c.attr("type").map(str::to_string),
                },
                other => Expression::Unsupported(other.to_string()),
            });
        }
        Ok(Rule {
            id: el.attr("id").unwrap_or("").to_string(),
            score: el.attr("score").and_then(|s| s.parse().ok()),
            score_attribute: el.attr("score-attribute").map(str::to_string),
            role: el.attr("role").and_then(Role::parse),
            boolean_op: if el.attr("boolean-op") == Some("or") {
                BoolOp::Or
            } else {
                BoolOp::And
            },
            expressions,
        })
    }

    fn resource_sets(&self, el: &'a Element) -> Result<Vec<ResourceSet>, CibError> {
        let mut sets = Vec::new();
        for s in el.children_named("resource_set") {
            let s = self.resolve(s)?;
            let resources = s
                .children_named("resource_ref")
                .filter_map(|r| r.attr("id").map(str::to_string))
                .collect();
            sets.push(ResourceSet {
                id: s.attr("id").unwrap_or("").to_string(),
                resources,
                sequential: s.attr("sequential").map(truthy).unwrap_or(true),
                require_all: s.attr("require-all").map(truthy).unwrap_or(true),
                role: s.attr("role").and_then(Role::parse),
                action: s.attr("action").and_then(Action::parse),
                ordering_kind: s.attr("kind").map(order_kind),
                score: s.attr("score").and_then(|v| v.parse().ok()),
            });
        }
        Ok(sets)
    }

    fn location(&self, el: &'a Element) -> Result<Location, CibError> {
        let id = el.attr("id").unwrap_or("").to_string();
        let target = if let Some(r) = el.attr("rsc") {
            LocationTarget::Resource(r.to_string())
        } else if let Some(p) = el.attr("rsc-pattern") {
            LocationTarget::Pattern(p.to_string())
        } else {
            let sets = self.resource_sets(el)?;
            if sets.is_empty() {
                return Err(invalid(
                    el,
                    "rsc_location needs rsc, rsc-pattern or a resource_set",
                ));
            }
            LocationTarget::Sets(sets)
        };
        let placement = if let Some(node) = el.attr("node") {
            let score = score_attr(el)?.unwrap_or_default();
            LocationPlacement::Node {
                node: node.to_string(),
                score,
            }
        } else {
            let mut rules = Vec::new();
            for r in el.children_named("rule") {
                rules.push(self.rule(r)?);
            }
            LocationPlacement::Rules(rules)
        };
        Ok(Location {
            id,
            target,
            placement,
            role: el.attr("role").and_then(Role::parse),
            resource_discovery: el.attr("resource-discovery").map(str::to_string),
        })
    }

    fn colocation(&self, el: &'a Element) -> Result<Colocation, CibError> {
        Ok(Colocation {
            id: el.attr("id").unwrap_or("").to_string(),
            score: score_attr(el)?.unwrap_or_default(),
            rsc: el.attr("rsc").map(str::to_string),
            with_rsc: el.attr("with-rsc").map(str::to_string),
            rsc_role: el.attr("rsc-role").and_then(Role::parse),
            with_rsc_role: el.attr("with-rsc-role").and_then(Role::parse),
            node_attribute: el.attr("node-attribute").map(str::to_string),
            influence: el.attr("influence").map(truthy),
            sets: self.resource_sets(el)?,
        })
    }

    fn order(&self, el: &'a Element) -> Result<Order, CibError> {
        let kind = match el.attr("kind") {
            Some(k) => order_kind(k),
            None => match score_attr(el)? {
                Some(s) if s.value() == 0 => OrderKind::Optional,
                _ => OrderKind::Mandatory,
            },
        };
        let action = |k: &str| -> Result<Action, CibError> {
            match el.attr(k) {
                None => Ok(Action::Start),
                Some(a) => Action::parse(a).ok_or_else(|| {
                    invalid(
                        el,
                        format!("{k} {a:?} is not start, stop, promote or demote"),
                    )
                }),
            }
        };
        let first_action = action("first-action")?;
        Ok(Order {
            id: el.attr("id").unwrap_or("").to_string(),
            kind,
            first: el.attr("first").map(str::to_string),
            then: el.attr("then").map(str::to_string),
            first_action,
            then_action: match el.attr("then-action") {
                None => first_action,
                Some(_) => action("then-action")?,
            },
            symmetrical: el.attr("symmetrical").map(truthy),
            require_all: el.attr("require-all").map(truthy),
            sets: self.resource_sets(el)?,
        })
    }

    fn node_state(&self, ns: &'a Element) -> Result<NodeState, CibError> {
        let uname = ns
            .attr("uname")
            .or(ns.attr("id"))
            .ok_or_else(|| invalid(ns, "node_state without uname"))?
            .to_string();
        let mut transient = Attributes::new();
        if let Some(t) = ns.child("transient_attributes") {
            for set in t.children_named("instance_attributes") {
                self.nvpairs_into(set, &mut transient)?;
            }
        }
        let mut resources = Vec::new();
        if let Some(lrm) = ns.child("lrm") {
            if let Some(lr) = lrm.child("lrm_resources") {
                for r in lr.children_named("lrm_resource") {
                    let mut ops = Vec::new();
                    for op in r.children_named("lrm_rsc_op") {
                        ops.push(op_record(op));
                    }
                    resources.push(ResourceHistory {
                        id: r.attr("id").unwrap_or("").to_string(),
                        class: r.attr("class").map(str::to_string),
                        provider: r.attr("provider").map(str::to_string),
                        agent: r.attr("type").map(str::to_string),
                        container: r.attr("container").map(str::to_string),
                        ops,
                    });
                }
            }
        }
        Ok(NodeState {
            id: ns.attr("id").map(str::to_string),
            in_ccm: ns
                .attr("in_ccm")
                .map(|v| truthy(v) || v.parse::<i64>().is_ok_and(|n| n > 0)),
            crmd: ns.attr("crmd").map(str::to_string),
            join: ns.attr("join").map(str::to_string),
            expected: ns.attr("expected").map(str::to_string),
            unclean: false,
            has_state: true,
            transient_attributes: transient,
            resources,
            uname,
        })
    }
}

fn op_record(op: &Element) -> OpRecord {
    let num = |k: &str| op.attr(k).and_then(|v| v.trim().parse::<i64>().ok());
    OpRecord {
        id: op.attr("id").unwrap_or("").to_string(),
        operation: op.attr("operation").unwrap_or("").to_string(),
        interval_ms: op
            .attr("interval")
            .and_then(interval_ms_of_record)
            .unwrap_or(0),
        call_id: num("call-id").unwrap_or(0),
        rc_code: num("rc-code").unwrap_or(0) as i32,
        op_status: num("op-status").unwrap_or(0) as i32,
        target_rc: op.attr("transition-key").and_then(target_rc_of_key),
        last_rc_change: num("last-rc-change"),
        last_run: num("last-run"),
        exec_time_ms: num("exec-time").map(|v| v.max(0) as u64),
        queue_time_ms: num("queue-time").map(|v| v.max(0) as u64),
        on_node: op.attr("on_node").map(str::to_string),
        migrate_source: op.attr("migrate_source").map(str::to_string),
        migrate_target: op.attr("migrate_target").map(str::to_string),
        digest: op.attr("op-digest").map(str::to_string),
        exit_reason: op
            .attr("exit-reason")
            .filter(|r| !r.is_empty())
            .map(str::to_string),
    }
}

/// History intervals are plain milliseconds (Pacemaker writes them so).
fn interval_ms_of_record(s: &str) -> Option<u64> {
    s.trim().parse::<u64>().ok()
}

/// The transition key is "action:transition:target-rc:uuid".
fn target_rc_of_key(key: &str) -> Option<i32> {
    key.split(':').nth(2).and_then(|v| v.parse().ok())
}

/// A clone's instance counts, whose range the cluster file's loader checks
/// too (`config::values`).
const CLONE_COUNTS: [&str; 7] = [
    "clone-max",
    "clone-node-max",
    "clone-min",
    "promoted-max",
    "promoted-node-max",
    "master-max",
    "master-node-max",
];

/// A count written as a number beyond `MAX_CLONE_INSTANCES` is refused:
/// `clone-max = 4000000000` made `simulate` allocate an instance each
/// until memory ran out. Other spellings keep their old reading (no
/// number: the default), as Pacemaker's corpus has them.
fn clone_count_in_range(el: &Element, meta: &Attributes, key: &str) -> Result<(), CibError> {
    use crate::config::values::MAX_CLONE_INSTANCES;
    let Some(value) = meta.get(key) else {
        return Ok(());
    };
    let digits = value.trim();
    let is_number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let too_many = digits
        .parse::<i64>()
        .map_or(true, |n| n > MAX_CLONE_INSTANCES);
    if is_number && too_many {
        return Err(invalid(
            el,
            format!("{key} = {value:?}: at most {MAX_CLONE_INSTANCES} instances"),
        ));
    }
    Ok(())
}

fn order_kind(k: &str) -> OrderKind {
    match k {
        "Optional" => OrderKind::Optional,
        "Serialize" => OrderKind::Serialize,
        _ => OrderKind::Mandatory,
    }
}

fn score_attr(el: &Element) -> Result<Option<Score>, CibError> {
    match el.attr("score") {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e: ScoreParseError| invalid(el, e.to_string())),
    }
}

fn date_op(c: &Element) -> Result<DateOp, CibError> {
    let t = |k: &str| c.attr(k).and_then(parse_datetime);
    Ok(match c.attr("operation").unwrap_or("in_range") {
        "lt" => DateOp::Lt {
            end: t("end").ok_or_else(|| invalid(c, "lt needs a valid end"))?,
        },
        "gt" => DateOp::Gt {
            start: t("start").ok_or_else(|| invalid(c, "gt needs a valid start"))?,
        },
        "date_spec" => {
            let mut spec = DateSpec::default();
            if let Some(ds) = c.child("date_spec") {
                for (k, v) in &ds.attrs {
                    if k == "id" {
                        continue;
                    }
                    let (a, b) = match v.split_once('-') {
                        Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(0)),
                        None => {
                            let n = v.parse().unwrap_or(0);
                            (n, n)
                        }
                    };
                    spec.fields.insert(k.clone(), (a, b));
                }
            }
            DateOp::DateSpec(spec)
        }
        _ => {
            let start = t("start");
            let mut end = t("end");
            if end.is_none() {
                if let (Some(s), Some(d)) = (start, c.child("duration")) {
                    let mut secs = 0i64;
                    for (k, v) in &d.attrs {
                        let n: i64 = v.parse().unwrap_or(0);
                        secs += n * match k.as_str() {
                            "seconds" => 1,
                            "minutes" => 60,
                            "hours" => 3600,
                            "days" => 86400,
                            "weeks" => 604800,
                            "months" => 2_592_000,
                            "years" => 31_536_000,
                            _ => 0,
                        };
                    }
                    end = Some(s + secs);
                }
            }
            DateOp::InRange { start, end }
        }
    })
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses "2005-01-20 11:30", "2030-12-31T23:59:59Z" and similar to epoch seconds (UTC).
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, t),
        None => (s, "00:00:00"),
    };
    let mut dp = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, d) = (
        dp.next()?.ok()?,
        dp.next().and_then(Result::ok).unwrap_or(1),
        dp.next().and_then(Result::ok).unwrap_or(1),
    );
    let time = time.split(['+', 'Z']).next().unwrap_or("");
    let mut tp = time.split(':').map(|p| p.trim().parse::<f64>().ok());
    let h = tp.next().flatten().unwrap_or(0.0) as i64;
    let mi = tp.next().flatten().unwrap_or(0.0) as i64;
    let se = tp.next().flatten().unwrap_or(0.0) as i64;
    Some(days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIB: &str = r#"<cib validate-with="pacemaker-3.0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2">
        <meta_attributes id="m"><nvpair id="m1" name="resource-stickiness" value="INFINITY"/></meta_attributes>
      </primitive>
      <master id="ms"><primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/></master>
    </resources>
    <constraints><rsc_location id="l" rsc="ip" node="n2" score="100"/></constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

    #[test]
    fn fencing_without_a_stonith_resource_is_no_fence_device() {
        let no_device = |xml: &str| import_cib(xml).unwrap().config.properties.no_fence_device;
        let on = CIB.replace(r#"value="false""#, r#"value="true""#);
        assert!(no_device(&on));
        assert!(!no_device(CIB));
        let device = on.replace(
            "<resources>",
            r#"<resources><primitive id="f" class="stonith" type="fence_xvm"/>"#,
        );
        assert!(!no_device(&device));
        let watchdog = on.replace(
            r#"<nvpair id="o1""#,
            r#"<nvpair id="o2" name="have-watchdog" value="true"/><nvpair id="o1""#,
        );
        assert!(!no_device(&watchdog));
    }

    #[test]
    fn imports_and_schedules() {
        let cib = import_cib(CIB).unwrap();
        assert!(!cib.config.properties.stonith_enabled);
        assert_eq!(cib.config.resources.len(), 2);
        match &cib.config.resources[1] {
            Resource::Clone(c) => assert!(c.promotable),
            other => panic!("expected a clone, got {other:?}"),
        }
        let plan = crate::scheduler::schedule(&cib.config, &cib.status, 0);
        let summary = crate::scheduler::format_summary(&plan);
        assert!(summary.contains("Start      ip       ( n2 )"), "{summary}");
    }

    /// Found by the `cib_xml` fuzz target: a duration beyond u64
    /// milliseconds overflowed; it is now no duration at all.
    #[test]
    fn durations_beyond_u64_milliseconds_are_refused() {
        let ms = |t: &str| parse_duration(t).ok().map(as_ms);
        assert_eq!(ms("35843009213693952s"), None);
        assert_eq!(ms("PT5124095576030432H"), None);
        assert_eq!(ms("PT5124095576030431H9223372036854775807S"), None);
        assert_eq!(ms("PT1M30S"), Some(90_000));
        assert_eq!(ms("2min"), Some(120_000));
    }

    /// The fuzzer's `cib_xml`: a clone of four billion instances was
    /// accepted and `simulate` ran out of memory placing them.
    #[test]
    fn clone_counts_beyond_the_documented_range_are_refused() {
        let cib = |count: &str| {
            CIB.replace(
                r#"<master id="ms">"#,
                &format!(
                    r#"<master id="ms"><meta_attributes id="mm"><nvpair id="mm1" name="clone-max" value="{count}"/></meta_attributes>"#
                ),
            )
        };
        let err = import_cib(&cib("4000000000")).unwrap_err().to_string();
        assert!(
            err.contains("clone-max") && err.contains("at most 1024"),
            "{err}"
        );
        assert!(import_cib(&cib("1025")).is_err());
        let ok = import_cib(&cib("1024")).unwrap();
        match &ok.config.resources[1] {
            Resource::Clone(c) => assert_eq!(c.clone_max, Some(1024)),
            other => panic!("expected a clone, got {other:?}"),
        }
    }

    /// 100,000 nested rules overflowed the stack (reading, converting and
    /// dropping the tree are recursive); the depth is bounded as read.
    #[test]
    fn elements_nested_past_the_bound_are_refused() {
        let nested = |depth: usize| {
            let rules = format!("{}{}", "<rule>".repeat(depth), "</rule>".repeat(depth));
            CIB.replace(
                r#"<rsc_location id="l" rsc="ip" node="n2" score="100"/>"#,
                &format!(r#"<rsc_location id="l" rsc="ip">{rules}</rsc_location>"#),
            )
        };
        let err = import_cib(&nested(100_000)).unwrap_err().to_string();
        assert!(err.contains("nested more than 256 deep"), "{err}");
        assert!(import_cib(&nested(200)).is_ok());
    }

    #[test]
    fn errors_name_the_line() {
        let bad = "<cib>\n<configuration>\n<constraints>\n<rsc_location id=\"l\" rsc=\"a\" node=\"n\" score=\"lots\"/>\n</constraints></configuration></cib>";
        let err = import_cib(bad).unwrap_err().to_string();
        assert!(
            err.contains("line 4") && err.contains("rsc_location") && err.contains("lots"),
            "{err}"
        );
    }
}
