//! Document -> model conversion with validation. Every problem found is
//! collected so that one `config check` run shows all of them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use toml::Spanned;

use super::document::*;
use super::duration::{as_ms, parse_duration};
use super::error::{Diagnostic, SourceMap, nearest};
use super::timers::{MonitorKind, added_monitor_roles, monitor_interval_ms};
use super::values::{Kind, MAX_CLONE_INSTANCES, META, OP, PROPERTIES, kind_of, meta_from};
use crate::model::*;

/// Failures expire after this in native configs (Pacemaker's default is
/// never, which leaves operators with stale failures forever).
pub const DEFAULT_FAILURE_TIMEOUT: &str = "600";

/// The fix under every refused duration.
const DURATION_HELP: &str = "see DURATIONS in `man 5 paceline.toml`";

pub struct Converter<'a> {
    src: SourceMap<'a>,
    pub diags: Vec<Diagnostic>,
    /// `[fencing]` as the fencing crate takes it, once converted.
    pub fencing: Option<paceline_fencing::config::FencingSection>,
    /// A file without `[fencing]` runs with fencing off (the daemon's
    /// rule) instead of being refused (`config check`'s).
    pub fencing_optional: bool,
}

fn span<T>(s: &Spanned<T>) -> std::ops::Range<usize> {
    s.span()
}

pub fn value_to_string(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

pub fn properties_from(raw: &Attributes) -> ClusterProperties {
    let mut p = ClusterProperties::default();
    let b = |k: &str, d: bool| {
        raw.get(k)
            .map(|v| matches!(v.as_str(), "true" | "yes" | "1" | "on"))
            .unwrap_or(d)
    };
    p.stonith_enabled = b("stonith-enabled", p.stonith_enabled);
    if let Some(a) = raw.get("stonith-action") {
        // Pacemaker's deprecated alias; the daemon knows reboot and off
        // (anything else would be fenced as a reboot).
        p.stonith_action = if a == "poweroff" {
            "off".into()
        } else {
            a.clone()
        };
    }
    if let Some(v) = raw.get("no-quorum-policy") {
        p.no_quorum_policy = match v.as_str() {
            "ignore" => NoQuorumPolicy::Ignore,
            "freeze" => NoQuorumPolicy::Freeze,
            "demote" => NoQuorumPolicy::Demote,
            "suicide" => NoQuorumPolicy::Suicide,
            _ => NoQuorumPolicy::Stop,
        };
    }
    p.symmetric_cluster = b("symmetric-cluster", p.symmetric_cluster);
    p.maintenance_mode = b("maintenance-mode", p.maintenance_mode);
    p.start_failure_is_fatal = b("start-failure-is-fatal", p.start_failure_is_fatal);
    p.stop_orphan_resources = b("stop-orphan-resources", p.stop_orphan_resources);
    p.stop_orphan_actions = b("stop-orphan-actions", p.stop_orphan_actions);
    p.startup_fencing = b("startup-fencing", p.startup_fencing);
    p.stop_all_resources = b("stop-all-resources", p.stop_all_resources);
    p.have_quorum = raw.get("have-quorum").map(|_| b("have-quorum", false));
    p.default_resource_stickiness = raw
        .get("default-resource-stickiness")
        .and_then(|v| v.parse().ok());
    p.is_managed_default = raw
        .get("is-managed-default")
        .map(|_| b("is-managed-default", true));
    p.node_action_limit = raw
        .get("node-action-limit")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|&n| i64::from(n) <= super::values::MAX_NODE_ACTION_LIMIT);
    p.placement_strategy = raw
        .get("placement-strategy")
        .map(|v| PlacementStrategy::parse(v))
        .unwrap_or_default();
    p.dc_deadtime = raw.get("dc-deadtime").and_then(|v| parse_duration(v).ok());
    p.raw = raw.clone();
    p
}

/// The cluster options paceline acts on (`[properties]`). Every other
/// Pacemaker option is refused ([`NOT_ACTED_ON`]): accepting one would
/// accept a setting that changes nothing.
pub(crate) const KNOWN_PROPERTIES: &[&str] = &[
    "stonith-enabled",
    "stonith-action",
    "no-quorum-policy",
    "symmetric-cluster",
    "maintenance-mode",
    "start-failure-is-fatal",
    "stop-orphan-resources",
    "stop-orphan-actions",
    "startup-fencing",
    "stop-all-resources",
    "have-quorum",
    "default-resource-stickiness",
    "is-managed-default",
    "node-action-limit",
    "placement-strategy",
    "dc-deadtime",
];

/// Pacemaker cluster options paceline does not act on, each with what to
/// write instead (empty: nothing, remove it).
pub(crate) const NOT_ACTED_ON: &[(&str, &str)] = &[
    (
        "stonith-timeout",
        "set `timeout` on the [[fencing.device]] entries",
    ),
    ("cluster-recheck-interval", ""),
    ("node-health-strategy", ""),
    ("concurrent-fencing", ""),
    (
        "priority-fencing-delay",
        "set `priority_delay` under [fencing]",
    ),
    ("shutdown-lock", ""),
    ("cluster-name", "set `name` under [cluster]"),
    ("batch-limit", ""),
    ("migration-limit", ""),
    ("election-timeout", ""),
    ("enable-startup-probes", ""),
    ("pe-error-series-max", ""),
    ("pe-warn-series-max", ""),
    ("pe-input-series-max", ""),
    ("cluster-delay", ""),
    ("fence-reaction", ""),
    ("remove-after-stop", ""),
    ("dc-version", ""),
    ("cluster-infrastructure", ""),
    ("last-lrm-refresh", ""),
    (
        "stonith-max-attempts",
        "set `retries` on the [[fencing.device]] entries",
    ),
    (
        "stonith-watchdog-timeout",
        "configure a [[fencing.device]] of type \"watchdog\" with `watchdog_timeout`",
    ),
    ("transition-delay", ""),
    ("shutdown-escalation", ""),
    ("join-integration-timeout", ""),
    ("join-finalization-timeout", ""),
    ("load-threshold", ""),
    ("node-health-base", ""),
    ("node-health-green", ""),
    ("node-health-yellow", ""),
    ("node-health-red", ""),
    ("shutdown-lock-limit", ""),
    ("crmd-transition-delay", ""),
    (
        "expected-quorum-votes",
        "set `expected_votes` under [quorum]",
    ),
    (
        "have-watchdog",
        "configure a [[fencing.device]] of type \"watchdog\" with `watchdog_timeout`",
    ),
    ("enable-acl", ""),
    ("crmd-integration-timeout", ""),
    ("crmd-finalization-timeout", ""),
    ("transition-idle-timeout", ""),
    ("network-delay", ""),
];

/// The keys `[op_defaults]` may set.
const OP_KEYS: [&str; 9] = [
    "timeout",
    "interval",
    "start-delay",
    "interval-origin",
    "record-pending",
    "enabled",
    "on-fail",
    "role",
    "requires",
];

pub(crate) const KNOWN_META: &[&str] = &[
    "target-role",
    "resource-stickiness",
    "migration-threshold",
    "failure-timeout",
    "is-managed",
    "maintenance",
    "priority",
    "requires",
    "multiple-active",
    "allow-migrate",
    "critical",
    "container-attribute-target",
    "remote-node",
    "description",
    "clone-max",
    "clone-node-max",
    "clone-min",
    "promotable",
    "promoted-max",
    "promoted-node-max",
    "master-max",
    "master-node-max",
    "interleave",
    "ordered",
    "notify",
    "globally-unique",
    "restart-type",
    "container",
    "remote-port",
    "remote-addr",
    "remote-connect-timeout",
    "target_role",
    "resource_stickiness",
    "migration_threshold",
    "failure_timeout",
    "is_managed",
    "collocated",
];

impl<'a> Converter<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Converter {
            src: SourceMap { file, text },
            diags: Vec::new(),
            fencing: None,
            fencing_optional: false,
        }
    }

    fn err(&mut self, at: std::ops::Range<usize>, msg: impl Into<String>, help: impl Into<String>) {
        let d = self.src.diag(at, msg, Some(help.into()));
        self.diags.push(d);
    }

    fn attrs(
        &mut self,
        map: &AttrMap,
        known: Option<&[&str]>,
        kinds: &[(&str, Kind)],
        what: &str,
    ) -> Attributes {
        let mut out = Attributes::new();
        for (k, v) in map {
            if let Some(known) = known {
                if !known.contains(&k.as_str()) {
                    let help = match nearest(k, known.iter().copied()) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => format!("known {what} keys: {}", known.join(", ")),
                    };
                    self.err(span(v), format!("unknown {what} `{k}`"), help);
                    continue;
                }
            }
            match value_to_string(v.get_ref()) {
                Some(s) => {
                    if let Some(Err(why)) = kind_of(kinds, k).map(|kind| kind.check(&s)) {
                        self.err(
                            span(v),
                            format!("{what} `{k}`: {why}"),
                            "see its type and range in `man 5 paceline.toml`",
                        );
                        continue;
                    }
                    out.insert(k.clone(), s);
                }
                None => self.err(
                    span(v),
                    format!("{what} `{k}` must be a string, integer or boolean"),
                    "write a plain value, e.g. `key = \"value\"`",
                ),
            }
        }
        out
    }

    /// Refuses the Pacemaker options paceline does not act on, with what
    /// to write instead; returns the others.
    fn not_acted_on(&mut self, props: &AttrMap) -> AttrMap {
        let mut rest = AttrMap::new();
        for (k, v) in props {
            match NOT_ACTED_ON.iter().find(|(name, _)| name == k) {
                Some((_, instead)) => {
                    let help = if instead.is_empty() {
                        "remove it: paceline has no such behaviour to tune".to_string()
                    } else {
                        format!("{instead} instead")
                    };
                    self.err(
                        span(v),
                        format!("property `{k}` is a Pacemaker option paceline does not act on"),
                        help,
                    );
                }
                None => {
                    rest.insert(k.clone(), v.clone());
                }
            }
        }
        rest
    }

    fn duration(&mut self, s: &Spanned<String>, what: &str) -> Option<u64> {
        match parse_duration(s.get_ref()) {
            Ok(d) => Some(as_ms(d)),
            Err(e) => {
                self.err(
                    span(s),
                    format!("bad duration for {what}: {e}"),
                    DURATION_HELP,
                );
                None
            }
        }
    }

    fn score(&mut self, v: &Spanned<toml::Value>) -> Option<Score> {
        let text = match v.get_ref() {
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        match text.parse::<Score>() {
            Ok(s) => Some(s),
            Err(_) => {
                self.err(
                    span(v),
                    format!("bad score `{}`", v.get_ref()),
                    "a score is an integer or \"INFINITY\" / \"-INFINITY\"",
                );
                None
            }
        }
    }

    fn role(&mut self, s: &Option<Spanned<String>>) -> Option<Role> {
        let s = s.as_ref()?;
        let r = Role::parse(s.get_ref());
        if r.is_none() {
            self.err(
                span(s),
                format!("unknown role `{}`", s.get_ref()),
                "use one of Started, Stopped, Promoted, Unpromoted",
            );
        }
        r
    }

    /// A location's `role` with `rules` applies to each rule that names
    /// none: Pacemaker (2.1.5, and 2.1.x since) ignores a constraint's
    /// role once it has rules and reads each rule's own, which would make a
    /// `role` this file accepts silently do nothing. A rule naming another
    /// role contradicts it and is refused.
    fn location_role_on_rules(
        &mut self,
        id: &str,
        role: &Option<Spanned<String>>,
        mut rules: Vec<Rule>,
    ) -> Vec<Rule> {
        let Some(wanted) = self.role(role) else {
            return rules;
        };
        for r in &mut rules {
            match r.role {
                None => r.role = Some(wanted),
                Some(own) if own == wanted => {}
                Some(own) => self.err(
                    role.as_ref().map(span).unwrap_or_default(),
                    format!(
                        "location `{id}` has role `{wanted:?}` but its rule `{}` has role `{own:?}`",
                        r.id
                    ),
                    "put the role on each rule only, or make them the same",
                ),
            }
        }
        rules
    }

    fn action(&mut self, s: &Option<Spanned<String>>) -> Option<Action> {
        let s = s.as_ref()?;
        let r = Action::parse(s.get_ref());
        if r.is_none() {
            self.err(
                span(s),
                format!("unknown action `{}`", s.get_ref()),
                "use one of start, stop, promote, demote",
            );
        }
        r
    }

    fn agent(&mut self, s: &Spanned<String>) -> Option<(ResourceClass, Option<String>, String)> {
        let parts: Vec<&str> = s.get_ref().split(':').collect();
        let bad = |c: &mut Self, msg: String| {
            c.err(
                span(s),
                msg,
                "write `ocf:PROVIDER:TYPE` (e.g. \"ocf:heartbeat:IPaddr2\"), \"systemd:UNIT\", \"builtin:ipaddr\" or \"stonith:fence_x\"",
            );
        };
        let Some(class) = ResourceClass::parse(parts[0]) else {
            let known = ["ocf", "systemd", "lsb", "service", "builtin", "stonith"];
            let hint = nearest(parts[0], known)
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            bad(self, format!("unknown agent class `{}`{hint}", parts[0]));
            return None;
        };
        // The executor runs ocf, systemd and builtin agents (and the
        // fencing service stonith ones); an LSB init script runs as the
        // systemd unit systemd generates for it.
        if matches!(class, ResourceClass::Lsb | ResourceClass::Service) {
            let name = parts.get(1).copied().unwrap_or("NAME");
            self.err(
                span(s),
                format!("agent class `{}` is not run by paceline", parts[0]),
                format!("run it as \"systemd:{name}\" (systemd wraps init scripts as units), or use an OCF agent (\"ocf:PROVIDER:TYPE\")"),
            );
            return None;
        }
        match (class, parts.as_slice()) {
            (ResourceClass::Ocf, [_, p, t]) if !p.is_empty() && !t.is_empty() => {
                Some((class, Some(p.to_string()), t.to_string()))
            }
            (ResourceClass::Ocf, _) => {
                bad(
                    self,
                    format!("agent `{}` lacks a provider or type", s.get_ref()),
                );
                None
            }
            (_, [_, t]) if !t.is_empty() => Some((class, None, t.to_string())),
            _ => {
                bad(self, format!("agent `{}` lacks its type", s.get_ref()));
                None
            }
        }
    }

    fn primitive(
        &mut self,
        p: &PrimitiveDoc,
        budget_ms: Option<u64>,
        kind: MonitorKind,
    ) -> Option<Primitive> {
        let agent = self.agent(&p.agent);
        let params = self.attrs(&p.params, None, &[], "param");
        let meta = self.attrs(&p.meta, Some(KNOWN_META), META, "meta attribute");
        let utilization = self.attrs(&p.utilization, None, &[], "utilization");
        let id = p.id.get_ref();
        let mut operations = Vec::new();
        for op in &p.ops {
            let name = op.name.get_ref();
            let role = self.role(&op.role);
            let interval_ms = match &op.interval {
                Some(i) => self.duration(i, "interval").unwrap_or(0),
                // A monitor needs an interval to be one; derive it.
                None if name == "monitor" => monitor_interval_ms(budget_ms, kind, role),
                None => 0,
            };
            let timeout_ms = op
                .timeout
                .as_ref()
                .and_then(|t| self.duration(t, "timeout"));
            let on_fail = op.on_fail.as_ref().and_then(|f| {
                let r = OnFail::parse(f.get_ref());
                if r.is_none() {
                    self.err(
                        span(f),
                        format!("unknown on_fail `{}`", f.get_ref()),
                        "use one of ignore, block, stop, restart, standby, fence, demote",
                    );
                }
                r
            });
            let enabled = op.enabled.unwrap_or(true);
            // An explicit interval longer than the budget is the operator's
            // call: the budget is about a node's loss (membership, fencing,
            // starts), which monitors are not on the path of.
            // Pacemaker tells recurring operations apart by name and
            // interval only (not role): two equal ones would be one
            // monitor, run twice or in the wrong role.
            if interval_ms > 0
                && operations
                    .iter()
                    .any(|o: &Operation| o.name == *name && o.interval_ms == interval_ms)
            {
                let derived = if op.interval.is_none() {
                    format!(" (this one's interval is derived: {interval_ms}ms)")
                } else {
                    String::new()
                };
                self.err(
                    op.interval.as_ref().map(span).unwrap_or_else(|| span(&op.name)),
                    format!(
                        "`{id}` has two `{name}` operations with the same interval{derived}"
                    ),
                    "Pacemaker tells recurring operations apart by interval, whatever their role: give each its own interval (e.g. Promoted \"5s\", Unpromoted \"10s\")",
                );
            }
            operations.push(Operation {
                id: format!("{id}-{name}-{interval_ms}"),
                name: name.clone(),
                interval_ms,
                timeout_ms,
                role,
                on_fail,
                enabled,
                meta: Attributes::new(),
            });
        }
        // A primitive nothing watches fails unnoticed: with a budget, one
        // that has no recurring monitor gets one (per role).
        let has_monitor = operations
            .iter()
            .any(|o| o.name == "monitor" && o.interval_ms > 0);
        if !has_monitor {
            for &role in added_monitor_roles(budget_ms, kind) {
                let interval_ms = monitor_interval_ms(budget_ms, kind, role);
                operations.push(Operation {
                    id: format!("{id}-monitor-{interval_ms}"),
                    name: "monitor".into(),
                    interval_ms,
                    timeout_ms: None,
                    role,
                    on_fail: None,
                    enabled: true,
                    meta: Attributes::new(),
                });
            }
        }
        let (class, provider, agent) = agent?;
        Some(Primitive {
            id: p.id.get_ref().clone(),
            class,
            provider,
            agent,
            params,
            meta: meta_from(&meta),
            operations,
            utilization,
        })
    }

    /// Instance counts are bounded: the scheduler allocates per instance
    /// (4,000,000,000 aborted every daemon on allocation).
    fn clone_counts(&mut self, c: &CloneDoc) {
        let max = MAX_CLONE_INSTANCES;
        for (key, v) in [
            ("clone_max", c.clone_max),
            ("clone_node_max", c.clone_node_max),
            ("clone_min", c.clone_min),
            ("promoted_max", c.promoted_max),
            ("promoted_node_max", c.promoted_node_max),
        ] {
            if let Some(n) = v.filter(|&n| i64::from(n) > max) {
                self.err(
                    span(&c.id),
                    format!("clone `{}`: {key} = {n} is above {max}", c.id.get_ref()),
                    format!("write a number in 0..={max}"),
                );
            }
        }
    }

    fn set(&mut self, s: &SetDoc, i: usize, owner: &str) -> ResourceSet {
        ResourceSet {
            id: format!("{owner}-set-{i}"),
            resources: s.resources.iter().map(|r| r.get_ref().clone()).collect(),
            sequential: s.sequential.unwrap_or(true),
            require_all: s.require_all.unwrap_or(true),
            role: self.role(&s.role),
            action: self.action(&s.action),
            ordering_kind: None,
            score: None,
        }
    }

    pub fn convert(&mut self, doc: &Document) -> ClusterConfig {
        let mut cfg = ClusterConfig::default();

        // Ids share one namespace, as in Pacemaker's CIB.
        let mut ids: HashMap<String, std::ops::Range<usize>> = HashMap::new();
        let mut all_ids: Vec<&Spanned<String>> = Vec::new();
        all_ids.extend(doc.primitive.iter().map(|p| &p.id));
        all_ids.extend(doc.group.iter().map(|p| &p.id));
        all_ids.extend(doc.clone.iter().map(|p| &p.id));
        all_ids.extend(doc.location.iter().map(|p| &p.id));
        all_ids.extend(doc.colocation.iter().map(|p| &p.id));
        all_ids.extend(doc.order.iter().map(|p| &p.id));
        all_ids.extend(doc.ticket.iter().map(|p| &p.id));
        for a in &doc.alert {
            all_ids.push(&a.id);
            all_ids.extend(a.recipient.iter().map(|r| &r.id));
        }
        for id in all_ids {
            if let Some(first) = ids.get(id.get_ref()).cloned() {
                let f = self.src.diag(first, "", None);
                self.err(
                    span(id),
                    format!("duplicate id `{}`", id.get_ref()),
                    format!(
                        "first defined at {}:{}:{}; give each a unique id",
                        f.file, f.line, f.column
                    ),
                );
            } else {
                ids.insert(id.get_ref().clone(), span(id));
            }
        }

        // Nodes.
        let mut node_names: HashMap<String, std::ops::Range<usize>> = HashMap::new();
        let mut node_ids: HashMap<u32, std::ops::Range<usize>> = HashMap::new();
        for n in &doc.node {
            if let Some(first) = node_names.get(n.name.get_ref()).cloned() {
                let f = self.src.diag(first, "", None);
                self.err(
                    span(&n.name),
                    format!("duplicate node `{}`", n.name.get_ref()),
                    format!("first defined at {}:{}:{}", f.file, f.line, f.column),
                );
            }
            node_names.insert(n.name.get_ref().clone(), span(&n.name));
            let nid = *n.id.get_ref();
            if !(1..=65535).contains(&nid) {
                self.err(
                    span(&n.id),
                    format!("node id {nid} out of range"),
                    "node ids are 1..=65535",
                );
            }
            if let Some(first) = node_ids.get(&nid).cloned() {
                let f = self.src.diag(first, "", None);
                self.err(
                    span(&n.id),
                    format!("duplicate node id {nid}"),
                    format!(
                        "first used at {}:{}:{}; give each node a unique id",
                        f.file, f.line, f.column
                    ),
                );
            }
            node_ids.insert(nid, span(&n.id));
            for l in &n.links {
                let ok = l.get_ref().parse::<std::net::IpAddr>().is_ok()
                    || l.get_ref().parse::<std::net::SocketAddr>().is_ok();
                if !ok {
                    self.err(
                        span(l),
                        format!("link `{}` is not an IP address", l.get_ref()),
                        "write an address such as \"198.18.0.1\" or \"198.18.0.1:5405\"",
                    );
                }
            }
            if n.links.len() > 8 {
                self.err(
                    span(&n.links[8]),
                    "more than 8 links",
                    "keep at most 8 addresses per node",
                );
            }
            let attributes = self.attrs(&n.attributes, None, &[], "node attribute");
            let utilization = self.attrs(&n.utilization, None, &[], "utilization");
            cfg.nodes.push(Node {
                id: nid.to_string(),
                uname: n.name.get_ref().clone(),
                attributes,
                utilization,
                standby: n.standby,
                maintenance: n.maintenance,
                score: Score::ZERO,
            });
        }

        if let Some(q) = &doc.quorum {
            if q.two_node == Some(true) && doc.node.len() != 2 {
                let at = doc.node.first().map(|n| span(&n.name)).unwrap_or(0..0);
                self.err(
                    at,
                    format!(
                        "quorum.two_node = true but {} nodes are configured",
                        doc.node.len()
                    ),
                    "two_node is for clusters of exactly two nodes; remove it",
                );
            }
            if let Some(ev) = &q.expected_votes {
                let total: u32 = doc.node.iter().map(|n| n.votes.unwrap_or(1)).sum();
                if *ev.get_ref() == 0 || *ev.get_ref() > total.max(1) * 2 {
                    self.err(
                        span(ev),
                        format!(
                            "expected_votes = {} does not fit the {total} votes of the nodes",
                            ev.get_ref()
                        ),
                        "leave expected_votes out to use the sum of the nodes' votes",
                    );
                }
            }
        }

        // Properties and defaults.
        let acted_on = self.not_acted_on(&doc.properties);
        let props = self.attrs(&acted_on, Some(KNOWN_PROPERTIES), PROPERTIES, "property");
        cfg.rsc_defaults = self.attrs(
            &doc.rsc_defaults,
            Some(KNOWN_META),
            META,
            "rsc_defaults key",
        );
        cfg.op_defaults = self.attrs(&doc.op_defaults, Some(&OP_KEYS), OP, "op_defaults key");
        cfg.rsc_defaults
            .entry("failure-timeout".into())
            .or_insert_with(|| DEFAULT_FAILURE_TIMEOUT.into());
        cfg.properties = properties_from(&props);
        cfg.rsc_defaults_meta = meta_from(&cfg.rsc_defaults);
        cfg.op_defaults_timeout = cfg
            .op_defaults
            .get("timeout")
            .and_then(|v| parse_duration(v).ok());

        // Fencing: `stonith:` primitives (as CIB imports have them) count
        // as devices too.
        let stonith_primitives = doc
            .primitive
            .iter()
            .filter(|p| p.agent.get_ref().starts_with("stonith:"))
            .count();
        self.fencing(doc, &node_names, &props, stonith_primitives);
        if doc.fencing.is_none() && self.fencing_optional {
            cfg.properties.stonith_enabled = false;
        }
        if let Some(f) = &doc.fencing {
            if f.enabled.as_ref().map(|e| *e.get_ref()) == Some(false) {
                cfg.properties.stonith_enabled = false;
            }
            if let (Some(a), None) = (&f.action, props.get("stonith-action")) {
                cfg.properties.stonith_action = a.get_ref().clone();
            }
        }
        self.timers(doc);
        self.watchdog_timers(doc);

        // Resources: primitives first, then groups and clones take theirs.
        // A monitor's derived interval depends on the budget and on whether
        // a promotable clone holds the primitive (directly or in a group).
        let budget_ms = doc.failover_budget_ms();
        let mut monitor_kind: HashMap<&str, MonitorKind> = HashMap::new();
        for c in doc.clone.iter().filter(|c| c.promotable) {
            let rid = c.resource.get_ref().as_str();
            match doc.group.iter().find(|g| g.id.get_ref() == rid) {
                Some(g) => monitor_kind.extend(
                    g.members
                        .iter()
                        .map(|m| (m.get_ref().as_str(), MonitorKind::Promotable)),
                ),
                None => {
                    monitor_kind.insert(rid, MonitorKind::Promotable);
                }
            }
        }
        let mut prims: BTreeMap<String, Primitive> = BTreeMap::new();
        let mut order_of: Vec<String> = Vec::new();
        for p in &doc.primitive {
            let kind = if p.agent.get_ref().starts_with("stonith:") {
                MonitorKind::Stonith
            } else {
                let k = monitor_kind.get(p.id.get_ref().as_str()).copied();
                k.unwrap_or(MonitorKind::Plain)
            };
            if let Some(prim) = self.primitive(p, budget_ms, kind) {
                order_of.push(prim.id.clone());
                prims.insert(prim.id.clone(), prim);
            }
        }
        let prim_span: HashMap<&str, _> = doc
            .primitive
            .iter()
            .map(|p| (p.id.get_ref().as_str(), span(&p.id)))
            .collect();
        let mut used: HashMap<String, String> = HashMap::new();
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for g in &doc.group {
            let mut members = Vec::new();
            for m in &g.members {
                if let Some(owner) = used.get(m.get_ref()) {
                    self.err(
                        span(m),
                        format!("`{}` is already a member of `{owner}`", m.get_ref()),
                        "a primitive can be in only one group or clone",
                    );
                    continue;
                }
                match prims.get(m.get_ref()) {
                    Some(p) => {
                        members.push(p.clone());
                        used.insert(m.get_ref().clone(), g.id.get_ref().clone());
                    }
                    None => self.unknown_resource(m, prim_span.keys().copied(), "a [[primitive]]"),
                }
            }
            let raw = self.attrs(&g.meta, Some(KNOWN_META), META, "meta attribute");
            groups.insert(
                g.id.get_ref().clone(),
                Group {
                    id: g.id.get_ref().clone(),
                    members,
                    meta: meta_from(&raw),
                },
            );
        }
        let mut clones: Vec<Clone> = Vec::new();
        let mut cloned: BTreeSet<String> = BTreeSet::new();
        for c in &doc.clone {
            let rid = c.resource.get_ref();
            if let Some(owner) = used.get(rid) {
                let what = if groups.contains_key(owner) {
                    "group"
                } else {
                    "clone"
                };
                self.err(
                    span(&c.resource),
                    format!("`{rid}` is a member of {what} `{owner}` and cannot be cloned itself"),
                    format!("clone the {what} `{owner}` instead"),
                );
                continue;
            }
            let child = if let Some(p) = prims.get(rid) {
                CloneChild::Primitive(p.clone())
            } else if let Some(g) = groups.get(rid) {
                CloneChild::Group(g.clone())
            } else {
                let known: Vec<&str> = prims
                    .keys()
                    .chain(groups.keys())
                    .map(|s| s.as_str())
                    .collect();
                self.unknown_resource(&c.resource, known, "a [[primitive]] or [[group]]");
                continue;
            };
            used.insert(rid.clone(), c.id.get_ref().clone());
            cloned.insert(rid.clone());
            let raw = self.attrs(&c.meta, Some(KNOWN_META), META, "meta attribute");
            self.clone_counts(c);
            clones.push(Clone {
                id: c.id.get_ref().clone(),
                child,
                clone_max: c.clone_max,
                clone_node_max: c.clone_node_max.unwrap_or(1),
                clone_min: c.clone_min.unwrap_or(0),
                interleave: c.interleave,
                ordered: c.ordered,
                globally_unique: c.globally_unique,
                notify: c.notify,
                promotable: c.promotable,
                promoted_max: c.promoted_max.unwrap_or(1),
                promoted_node_max: c.promoted_node_max.unwrap_or(1),
                meta: meta_from(&raw),
            });
        }
        for id in &order_of {
            if !used.contains_key(id) {
                if let Some(p) = prims.get(id) {
                    cfg.resources.push(Resource::Primitive(p.clone()));
                }
            }
        }
        for g in &doc.group {
            if !cloned.contains(g.id.get_ref()) {
                if let Some(g) = groups.get(g.id.get_ref()) {
                    cfg.resources.push(Resource::Group(g.clone()));
                }
            }
        }
        cfg.resources
            .extend(clones.into_iter().map(Resource::Clone));

        // Every resource id a constraint may name (members of groups too).
        let mut rsc_ids: BTreeSet<String> = prims.keys().cloned().collect();
        rsc_ids.extend(groups.keys().cloned());
        rsc_ids.extend(doc.clone.iter().map(|c| c.id.get_ref().clone()));
        self.constraints(doc, &mut cfg, &rsc_ids, &node_names);
        cfg.tickets = super::tickets::convert(
            &doc.ticket,
            &rsc_ids,
            cfg.properties.stonith_enabled,
            &self.src,
            &mut self.diags,
        );
        cfg.alerts = super::alerts::convert(&doc.alert, &self.src, &mut self.diags);
        cfg
    }

    fn unknown_resource<'k>(
        &mut self,
        r: &Spanned<String>,
        known: impl IntoIterator<Item = &'k str>,
        what: &str,
    ) {
        let help = match nearest(r.get_ref(), known) {
            Some(n) => format!("did you mean `{n}`?"),
            None => format!("define it as {what} first"),
        };
        self.err(span(r), format!("unknown resource `{}`", r.get_ref()), help);
    }

    fn check_rsc(&mut self, r: &Spanned<String>, rsc_ids: &BTreeSet<String>) {
        if !rsc_ids.contains(r.get_ref()) {
            self.unknown_resource(
                r,
                rsc_ids.iter().map(|s| s.as_str()),
                "a [[primitive]], [[group]] or [[clone]]",
            );
        }
    }

    fn check_node(&mut self, n: &Spanned<String>, nodes: &HashMap<String, std::ops::Range<usize>>) {
        if !nodes.contains_key(n.get_ref()) {
            let help = match nearest(n.get_ref(), nodes.keys().map(|s| s.as_str())) {
                Some(k) => format!("did you mean `{k}`?"),
                None => "add a [[node]] with this name".into(),
            };
            self.err(span(n), format!("unknown node `{}`", n.get_ref()), help);
        }
    }

    fn rule(&mut self, r: &RuleDoc, id: String) -> Rule {
        let boolean_op = match r.op.as_ref().map(|o| o.get_ref().as_str()) {
            None | Some("and") => BoolOp::And,
            Some("or") => BoolOp::Or,
            Some(other) => {
                let o = r.op.as_ref().map(span).unwrap_or_default();
                self.err(
                    o,
                    format!("unknown rule op `{other}`"),
                    "use \"and\" or \"or\"",
                );
                BoolOp::And
            }
        };
        let mut expressions = Vec::new();
        for e in &r.expressions {
            let op = match e.op.get_ref().as_str() {
                "eq" => ExprOp::Eq,
                "ne" => ExprOp::Ne,
                "lt" => ExprOp::Lt,
                "gt" => ExprOp::Gt,
                "lte" => ExprOp::Lte,
                "gte" => ExprOp::Gte,
                "defined" => ExprOp::Defined,
                "not_defined" => ExprOp::NotDefined,
                other => {
                    let known = [
                        "eq",
                        "ne",
                        "lt",
                        "gt",
                        "lte",
                        "gte",
                        "defined",
                        "not_defined",
                    ];
                    let help = nearest(other, known)
                        .map(|n| format!("did you mean `{n}`?"))
                        .unwrap_or_else(|| format!("use one of {}", known.join(", ")));
                    self.err(
                        span(&e.op),
                        format!("unknown expression op `{other}`"),
                        help,
                    );
                    continue;
                }
            };
            let needs_value = !matches!(op, ExprOp::Defined | ExprOp::NotDefined);
            if needs_value && e.value.is_none() {
                self.err(
                    span(&e.op),
                    format!("op `{}` needs a value", e.op.get_ref()),
                    "add `value = ...`",
                );
            }
            let value_type = match e.value_type.as_ref().map(|t| t.get_ref().as_str()) {
                // As in Pacemaker: untyped lt/gt/lte/gte compare numbers.
                None if matches!(op, ExprOp::Lt | ExprOp::Gt | ExprOp::Lte | ExprOp::Gte) => {
                    ValueType::Number
                }
                None | Some("string") => ValueType::String,
                Some("integer") => ValueType::Integer,
                Some("number") => ValueType::Number,
                Some("version") => ValueType::Version,
                Some(other) => {
                    let at = e.value_type.as_ref().map(span).unwrap_or_default();
                    self.err(
                        at,
                        format!("unknown type `{other}`"),
                        "use string, integer, number or version",
                    );
                    ValueType::String
                }
            };
            expressions.push(Expression::Attr {
                attribute: e.attribute.get_ref().clone(),
                op,
                value: e.value.as_ref().and_then(|v| value_to_string(v.get_ref())),
                value_type,
            });
        }
        Rule {
            id,
            score: r.score.as_ref().and_then(|s| self.score(s)),
            score_attribute: r.score_attribute.as_ref().map(|s| s.get_ref().clone()),
            role: self.role(&r.role),
            boolean_op,
            expressions,
        }
    }

    fn constraints(
        &mut self,
        doc: &Document,
        cfg: &mut ClusterConfig,
        rsc_ids: &BTreeSet<String>,
        nodes: &HashMap<String, std::ops::Range<usize>>,
    ) {
        for l in &doc.location {
            let id = l.id.get_ref().clone();
            let target = match (&l.resource, &l.resource_pattern) {
                (Some(r), None) => {
                    self.check_rsc(r, rsc_ids);
                    LocationTarget::Resource(r.get_ref().clone())
                }
                (None, Some(p)) => LocationTarget::Pattern(p.get_ref().clone()),
                _ => {
                    self.err(
                        span(&l.id),
                        format!(
                            "location `{id}` needs exactly one of `resource` or `resource_pattern`"
                        ),
                        "add `resource = \"ID\"`",
                    );
                    continue;
                }
            };
            let placement = match (&l.node, l.rules.is_empty()) {
                (Some(n), true) => {
                    self.check_node(n, nodes);
                    let score = match &l.score {
                        Some(s) => self.score(s).unwrap_or_default(),
                        None => {
                            self.err(
                                span(n),
                                format!("location `{id}` has a node but no score"),
                                "add `score = 100` (or \"INFINITY\" / \"-INFINITY\")",
                            );
                            Score::ZERO
                        }
                    };
                    LocationPlacement::Node {
                        node: n.get_ref().clone(),
                        score,
                    }
                }
                (None, false) => {
                    let rules = l
                        .rules
                        .iter()
                        .enumerate()
                        .map(|(i, r)| self.rule(r, format!("{id}-rule-{i}")))
                        .collect();
                    LocationPlacement::Rules(self.location_role_on_rules(&id, &l.role, rules))
                }
                _ => {
                    self.err(
                        span(&l.id),
                        format!("location `{id}` needs either `node` and `score`, or `rules`"),
                        "write `node = \"node1\"` with `score = 100`, or a `rules = [...]` list",
                    );
                    continue;
                }
            };
            // A location with rules has its roles on them (see
            // location_role_on_rules): the model keeps the constraint's
            // role for the node form only, as Pacemaker reads it.
            let role = match placement {
                LocationPlacement::Node { .. } => self.role(&l.role),
                LocationPlacement::Rules(_) => None,
            };
            cfg.locations.push(Location {
                id,
                target,
                placement,
                role,
                resource_discovery: l.resource_discovery.as_ref().map(|s| s.get_ref().clone()),
            });
        }
        for c in &doc.colocation {
            let id = c.id.get_ref().clone();
            let score = match &c.score {
                Some(s) => self.score(s).unwrap_or_default(),
                None => Score::INFINITY,
            };
            for s in &c.sets {
                for r in &s.resources {
                    self.check_rsc(r, rsc_ids);
                }
            }
            match (&c.resource, &c.with) {
                (Some(a), Some(b)) => {
                    self.check_rsc(a, rsc_ids);
                    self.check_rsc(b, rsc_ids);
                    if a.get_ref() == b.get_ref() {
                        self.err(
                            span(b),
                            format!("colocation `{id}` places `{}` with itself", a.get_ref()),
                            "name two different resources",
                        );
                    }
                }
                (None, None) if !c.sets.is_empty() => {}
                _ => {
                    self.err(
                        span(&c.id),
                        format!("colocation `{id}` needs `resource` and `with`, or `sets`"),
                        "write `resource = \"A\"` and `with = \"B\"` (A is placed where B runs)",
                    );
                    continue;
                }
            }
            let sets = c
                .sets
                .iter()
                .enumerate()
                .map(|(i, s)| self.set(s, i, &id))
                .collect();
            cfg.colocations.push(Colocation {
                id,
                score,
                rsc: c.resource.as_ref().map(|s| s.get_ref().clone()),
                with_rsc: c.with.as_ref().map(|s| s.get_ref().clone()),
                rsc_role: self.role(&c.role),
                with_rsc_role: self.role(&c.with_role),
                node_attribute: c.node_attribute.clone(),
                influence: c.influence,
                sets,
            });
        }
        let mut edges: Vec<(String, String, std::ops::Range<usize>)> = Vec::new();
        for o in &doc.order {
            let id = o.id.get_ref().clone();
            let kind = match o.kind.as_ref().map(|k| k.get_ref().as_str()) {
                None | Some("Mandatory") => OrderKind::Mandatory,
                Some("Optional") => OrderKind::Optional,
                Some("Serialize") => OrderKind::Serialize,
                Some(other) => {
                    let at = o.kind.as_ref().map(span).unwrap_or_default();
                    self.err(
                        at,
                        format!("unknown order kind `{other}`"),
                        "use Mandatory, Optional or Serialize",
                    );
                    OrderKind::Mandatory
                }
            };
            for s in &o.sets {
                for r in &s.resources {
                    self.check_rsc(r, rsc_ids);
                }
            }
            match (&o.first, &o.then) {
                (Some(a), Some(b)) => {
                    self.check_rsc(a, rsc_ids);
                    self.check_rsc(b, rsc_ids);
                    if kind == OrderKind::Mandatory {
                        edges.push((a.get_ref().clone(), b.get_ref().clone(), span(&o.id)));
                    }
                }
                (None, None) if !o.sets.is_empty() => {}
                _ => {
                    self.err(
                        span(&o.id),
                        format!("order `{id}` needs `first` and `then`, or `sets`"),
                        "write `first = \"A\"` and `then = \"B\"`",
                    );
                    continue;
                }
            }
            let first_action = self.action(&o.first_action).unwrap_or(Action::Start);
            let then_action = match &o.then_action {
                Some(_) => self.action(&o.then_action).unwrap_or(first_action),
                None => first_action,
            };
            let sets = o
                .sets
                .iter()
                .enumerate()
                .map(|(i, s)| self.set(s, i, &id))
                .collect();
            cfg.orders.push(Order {
                id,
                kind,
                first: o.first.as_ref().map(|s| s.get_ref().clone()),
                then: o.then.as_ref().map(|s| s.get_ref().clone()),
                first_action,
                then_action,
                symmetrical: o.symmetrical,
                require_all: None,
                sets,
            });
        }
        self.order_cycles(&edges);
    }

    fn order_cycles(&mut self, edges: &[(String, String, std::ops::Range<usize>)]) {
        let mut adj: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
        for (i, (a, b, _)) in edges.iter().enumerate() {
            adj.entry(a).or_default().push((b, i));
        }
        // Report each cycle once, at the order that closes it.
        let mut reported: BTreeSet<usize> = BTreeSet::new();
        for (start, _, _) in edges {
            let mut stack: Vec<(&str, Vec<usize>)> = vec![(start.as_str(), vec![])];
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            while let Some((n, path)) = stack.pop() {
                for (next, ei) in adj.get(n).cloned().unwrap_or_default() {
                    let mut p = path.clone();
                    p.push(ei);
                    if next == start {
                        let key = *p.iter().max().unwrap_or(&0);
                        if reported.insert(key) {
                            let chain: Vec<&str> = p.iter().map(|i| edges[*i].0.as_str()).collect();
                            self.err(
                                edges[key].2.clone(),
                                format!("order cycle: {} -> {}", chain.join(" -> "), start),
                                "remove or reverse one of these orders",
                            );
                        }
                    } else if seen.insert(next) {
                        stack.push((next, p));
                    }
                }
            }
        }
    }

    fn fencing(
        &mut self,
        doc: &Document,
        nodes: &HashMap<String, std::ops::Range<usize>>,
        props: &Attributes,
        stonith_primitives: usize,
    ) {
        let Some(f) = &doc.fencing else {
            if !self.fencing_optional {
                self.err(0..0, "no [fencing] section", "configure fence devices under [[fencing.device]], or write `enabled = false` under [fencing] to run without fencing (unsafe for shared data)");
            } else if props.get("stonith-enabled").map(String::as_str) == Some("true") {
                self.err(0..0, "no [fencing] section, which turns fencing off, but `properties.stonith-enabled = true`",
                    "configure fence devices under [[fencing.device]] with `enabled = true` under [fencing]");
            }
            return;
        };
        let enabled = f.enabled.as_ref().map(|e| *e.get_ref());
        let mut dev_ids: HashMap<String, std::ops::Range<usize>> = HashMap::new();
        for d in &f.device {
            if let Some(first) = dev_ids.get(d.id.get_ref()).cloned() {
                let fd = self.src.diag(first, "", None);
                self.err(
                    span(&d.id),
                    format!("duplicate fence device `{}`", d.id.get_ref()),
                    format!("first defined at {}:{}:{}", fd.file, fd.line, fd.column),
                );
            }
            dev_ids.insert(d.id.get_ref().clone(), span(&d.id));
            let kinds = ["redfish", "ipmi", "watchdog", "agent"];
            if !kinds.contains(&d.kind.get_ref().as_str()) {
                let help = nearest(d.kind.get_ref(), kinds)
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "use redfish, ipmi, watchdog or agent".into());
                self.err(
                    span(&d.kind),
                    format!("unknown fence device type `{}`", d.kind.get_ref()),
                    help,
                );
            }
            // Watchdog self-fencing is only as safe as the quorum that decides
            // who stops feeding: with two nodes both halves of a split keep
            // quorum (two_node), both keep feeding and both would run the
            // resources once the other counts as fenced.
            if d.kind.get_ref() == "watchdog" && nodes.len() == 2 {
                self.err(
                    span(&d.kind),
                    "watchdog fencing is unsafe in a two-node cluster",
                    "both halves of a split keep quorum there and neither would reset; fence two-node clusters through a BMC (redfish or ipmi), or add a third node",
                );
            }
        }
        let mut levels: HashMap<(String, u32), std::ops::Range<usize>> = HashMap::new();
        for l in &f.level {
            let key = (l.target.get_ref().clone(), *l.index.get_ref());
            if let Some(first) = levels.insert(key, span(&l.index)) {
                let fd = self.src.diag(first, "", None);
                self.err(
                    span(&l.index),
                    format!(
                        "two fencing levels {} for `{}`",
                        l.index.get_ref(),
                        l.target.get_ref()
                    ),
                    format!(
                        "the other is at {}:{}:{}; list all devices of one level in its `devices`",
                        fd.file, fd.line, fd.column
                    ),
                );
            }
            self.check_node(&l.target, nodes);
            for d in &l.devices {
                if !dev_ids.contains_key(d.get_ref()) {
                    let help = nearest(d.get_ref(), dev_ids.keys().map(|s| s.as_str()))
                        .map(|n| format!("did you mean `{n}`?"))
                        .unwrap_or_else(|| "define it under [[fencing.device]]".into());
                    self.err(
                        span(d),
                        format!("unknown fence device `{}`", d.get_ref()),
                        help,
                    );
                }
            }
        }
        let fence_timeout = doc.timers().fence_timeout;
        self.fencing = Some(super::fencing::typed_section(
            f,
            fence_timeout,
            &self.src,
            &mut self.diags,
        ));
        if let Some(a) = &f.action {
            if !["reboot", "off"].contains(&a.get_ref().as_str()) {
                self.err(
                    span(a),
                    format!("unknown fencing action `{}`", a.get_ref()),
                    "use \"reboot\" or \"off\"",
                );
            }
        }
        match enabled {
            None if f.device.is_empty() && stonith_primitives == 0 => {
                self.err(0..0, "fencing has no devices and is not disabled explicitly",
                    "add [[fencing.device]] entries, or write `enabled = false` under [fencing] to accept running without fencing");
            }
            Some(true) if f.device.is_empty() && stonith_primitives == 0 => {
                let at = f.enabled.as_ref().map(span).unwrap_or_default();
                self.err(at, "fencing is enabled but no [[fencing.device]] is configured",
                    "add a fence device (redfish, ipmi, watchdog or agent) or set `enabled = false`");
            }
            _ => {}
        }
        if enabled == Some(false)
            && props.get("stonith-enabled").map(|s| s.as_str()) == Some("true")
        {
            let at = f.enabled.as_ref().map(span).unwrap_or_default();
            self.err(
                at,
                "`fencing.enabled = false` contradicts `properties.stonith-enabled = true`",
                "keep one of the two; [fencing] enabled is the one to set",
            );
        }
    }

    fn timers(&mut self, doc: &Document) {
        let budget = doc
            .failover_budget
            .as_ref()
            .and_then(|b| self.duration(b, "failover_budget"));
        let Some(m) = &doc.membership else { return };
        // An explicit heartbeat against a token timeout derived from the
        // budget must be consistent too.
        if let (Some(hs), None, Some(b)) = (&m.heartbeat, &m.token_timeout, budget) {
            if let Some(hb) = parse_duration(hs.get_ref()).ok().map(as_ms) {
                let tok = as_ms(doc.timers().token_timeout);
                if tok <= 2 * hb {
                    self.err(
                        span(hs),
                        format!(
                            "heartbeat ({hb}ms) is too slow for failover_budget ({b}ms): the derived token_timeout is {tok}ms and must be more than twice the heartbeat"
                        ),
                        format!("lower heartbeat below {}ms, or drop it to derive it from the budget", tok / 2),
                    );
                }
            }
        }
        let hb = m
            .heartbeat
            .as_ref()
            .and_then(|h| self.duration(h, "heartbeat"));
        let tok = m
            .token_timeout
            .as_ref()
            .and_then(|t| self.duration(t, "token_timeout"));
        if let (Some(hb), Some(tok), Some(ts)) = (hb, tok, m.token_timeout.as_ref()) {
            if tok <= 2 * hb {
                self.err(
                    span(ts),
                    format!(
                        "token_timeout ({tok}ms) must be more than twice the heartbeat ({hb}ms)"
                    ),
                    format!("raise token_timeout above {}ms or lower heartbeat", 2 * hb),
                );
            }
        }
        if let (Some(b), Some(tok), Some(ts)) = (budget, tok, m.token_timeout.as_ref()) {
            if tok >= b {
                self.err(span(ts), format!("token_timeout ({tok}ms) leaves nothing of failover_budget ({b}ms) for fencing and recovery"),
                    "lower token_timeout or raise failover_budget; or drop token_timeout to derive it from the budget");
            }
        }
    }

    /// Watchdog fencing against the membership timers: the survivor counts
    /// a lost node as fenced 2 x watchdog_timeout after it saw the loss,
    /// and the lost node stops feeding only once it has seen the loss
    /// itself, which can be up to a token_timeout later. So the watchdog
    /// must not be shorter than the token timeout, and the whole wait has
    /// to fit in the failover budget.
    fn watchdog_timers(&mut self, doc: &Document) {
        let Some(f) = &doc.fencing else { return };
        let timers = doc.timers();
        let tok = as_ms(timers.token_timeout);
        let budget = doc.failover_budget_ms();
        for d in f.device.iter().filter(|d| d.kind.get_ref() == "watchdog") {
            let Some(wd) = d
                .rest
                .get("watchdog_timeout")
                .and_then(|v| v.as_str())
                .and_then(|t| parse_duration(t).ok())
                .map(as_ms)
            else {
                continue;
            };
            let at = span(&d.kind);
            if wd < tok {
                self.err(
                    at.clone(),
                    format!(
                        "watchdog_timeout ({wd}ms) of `{}` is shorter than token_timeout ({tok}ms)",
                        d.id.get_ref()
                    ),
                    format!(
                        "a lost node may notice its loss a token_timeout after the survivor does, and the survivor takes over 2 x watchdog_timeout after the loss; raise watchdog_timeout to at least {tok}ms or lower token_timeout"
                    ),
                );
            }
            if let Some(b) = budget
                && tok + 2 * wd > b
            {
                self.err(
                    at,
                    format!(
                        "watchdog fencing through `{}` needs token_timeout + 2 x watchdog_timeout = {}ms, more than failover_budget ({b}ms)",
                        d.id.get_ref(),
                        tok + 2 * wd
                    ),
                    "raise failover_budget, lower watchdog_timeout (not below token_timeout), or fence through a BMC (redfish or ipmi)",
                );
            }
        }
    }
}
