//! The type and range of every named value of the cluster file
//! (properties, resource and operation meta attributes and their
//! defaults): the loader refuses a value of the wrong kind instead of
//! reading it as a default later, so what `config check` accepts is what
//! runs. Kinds follow Pacemaker's option tables (`pacemaker-schedulerd
//! metadata`, `crm_resource --list-options=primitive`); the ranges are
//! paceline's own bounds, documented in paceline.toml(5).

use super::duration::parse_duration;
use crate::model::{Attributes, MultipleActive, Requires, ResourceMeta, Role, Score};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Duration,
    Bool,
    Enum(&'static [&'static str]),
    /// A whole number within the bounds (both inclusive).
    Int(i64, i64),
    Score,
    /// A role name in any case (Pacemaker compares them so), or
    /// `#default`.
    Role,
    Text,
}

/// Largest number of clone instances (clone-max, clone-min, promoted-max
/// and per node): far beyond any cluster's size, small enough that what is
/// allocated per instance stays small.
pub const MAX_CLONE_INSTANCES: i64 = 1024;

/// Largest `node-action-limit`: actions run at once on one node, each a
/// thread and a process.
pub const MAX_NODE_ACTION_LIMIT: i64 = 1024;

const ROLES: &[&str] = &["Stopped", "Started", "Promoted", "Unpromoted"];
const ON_FAIL: &[&str] = &[
    "ignore", "block", "stop", "restart", "standby", "fence", "demote",
];

/// Cluster options (`[properties]`).
pub(crate) const PROPERTIES: &[(&str, Kind)] = &[
    ("stonith-enabled", Kind::Bool),
    ("stonith-action", Kind::Enum(&["reboot", "off", "poweroff"])),
    (
        "no-quorum-policy",
        Kind::Enum(&["stop", "freeze", "ignore", "demote", "suicide"]),
    ),
    ("symmetric-cluster", Kind::Bool),
    ("maintenance-mode", Kind::Bool),
    ("start-failure-is-fatal", Kind::Bool),
    ("stop-orphan-resources", Kind::Bool),
    ("stop-orphan-actions", Kind::Bool),
    ("startup-fencing", Kind::Bool),
    ("stop-all-resources", Kind::Bool),
    ("have-quorum", Kind::Bool),
    ("default-resource-stickiness", Kind::Score),
    ("is-managed-default", Kind::Bool),
    (
        "placement-strategy",
        Kind::Enum(&["default", "utilization", "minimal", "balanced"]),
    ),
    ("dc-deadtime", Kind::Duration),
    ("node-action-limit", Kind::Int(0, MAX_NODE_ACTION_LIMIT)),
];

/// What `paceline property list|describe` says of each of [`PROPERTIES`]
/// (name, default, meaning); the kind is [`PROPERTIES`]'s. A test keeps
/// the two tables naming the same properties.
pub const PROPERTY_DOCS: &[(&str, &str, &str)] = &[
    (
        "stonith-enabled",
        "true",
        "Fence nodes that are lost or fail to stop; false runs without fencing (unsafe with shared data).",
    ),
    (
        "stonith-action",
        "reboot",
        "What a fence does to a node: reboot or off (poweroff is an alias of off).",
    ),
    (
        "no-quorum-policy",
        "stop",
        "What a partition without quorum does with its resources: stop, freeze (keep running, start nothing), ignore, demote, or suicide (fence itself).",
    ),
    (
        "symmetric-cluster",
        "true",
        "Resources may run on any node unless a constraint says otherwise; false: only where a location constraint allows.",
    ),
    (
        "maintenance-mode",
        "false",
        "Leave every resource alone: nothing is started, stopped or monitored.",
    ),
    (
        "start-failure-is-fatal",
        "true",
        "A failed start bans the resource from that node until cleanup or failure-timeout; false counts it towards migration-threshold.",
    ),
    (
        "stop-orphan-resources",
        "true",
        "Stop resources running that are no longer in the configuration.",
    ),
    (
        "stop-orphan-actions",
        "true",
        "Cancel recurring operations that are no longer in the configuration.",
    ),
    (
        "startup-fencing",
        "true",
        "Fence nodes never seen since the cluster started (after dc-deadtime).",
    ),
    (
        "stop-all-resources",
        "false",
        "Stop every resource (and keep them stopped).",
    ),
    (
        "have-quorum",
        "(from membership)",
        "Override the quorum the scheduler plans with (for simulations; the membership decides in a running cluster).",
    ),
    (
        "default-resource-stickiness",
        "0",
        "Deprecated in Pacemaker: resource-stickiness for resources without one (prefer [rsc_defaults]).",
    ),
    (
        "is-managed-default",
        "true",
        "Deprecated in Pacemaker: is-managed for resources without one (prefer [rsc_defaults]).",
    ),
    (
        "placement-strategy",
        "default",
        "How nodes are chosen with utilization: default (ignore it), utilization, minimal, balanced.",
    ),
    (
        "dc-deadtime",
        "20s",
        "After startup, how long the membership may take to settle before a missing node is fenced.",
    ),
    (
        "node-action-limit",
        "0 (twice the cores)",
        "How many actions run at once on one node.",
    ),
];

impl Kind {
    /// The kind in words, for `property describe`.
    pub fn describe(&self) -> String {
        match self {
            Kind::Duration => "duration (e.g. 30s, 5min, 1h)".into(),
            Kind::Bool => "boolean (true or false)".into(),
            Kind::Enum(values) => format!("one of {}", values.join(", ")),
            Kind::Int(lo, hi) => format!("integer from {lo} to {hi}"),
            Kind::Score => "score (an integer, INFINITY or -INFINITY)".into(),
            Kind::Role => "role (Stopped, Started, Promoted, Unpromoted)".into(),
            Kind::Text => "text".into(),
        }
    }
}

/// A cluster property's kind in words, default and meaning, or None: not
/// a property paceline acts on.
pub fn describe_property(name: &str) -> Option<(String, &'static str, &'static str)> {
    let kind = kind_of(PROPERTIES, name)?;
    let (_, default, meaning) = PROPERTY_DOCS.iter().find(|(n, ..)| *n == name)?;
    Some((kind.describe(), default, meaning))
}

/// Every property paceline acts on, in [`PROPERTIES`]' order.
pub fn property_names() -> impl Iterator<Item = &'static str> {
    PROPERTIES.iter().map(|(n, _)| *n)
}

/// Resource meta attributes (`meta`, `[rsc_defaults]`).
pub(crate) const META: &[(&str, Kind)] = &[
    ("target-role", Kind::Role),
    ("target_role", Kind::Role),
    ("resource-stickiness", Kind::Score),
    ("resource_stickiness", Kind::Score),
    ("migration-threshold", Kind::Score),
    ("migration_threshold", Kind::Score),
    ("failure-timeout", Kind::Duration),
    ("failure_timeout", Kind::Duration),
    ("is-managed", Kind::Bool),
    ("is_managed", Kind::Bool),
    ("maintenance", Kind::Bool),
    ("priority", Kind::Score),
    (
        "requires",
        Kind::Enum(&["nothing", "quorum", "fencing", "unfencing"]),
    ),
    (
        "multiple-active",
        Kind::Enum(&["block", "stop_only", "stop_start", "stop_unexpected"]),
    ),
    ("allow-migrate", Kind::Bool),
    ("critical", Kind::Bool),
    ("clone-max", Kind::Int(0, MAX_CLONE_INSTANCES)),
    ("clone-node-max", Kind::Int(0, MAX_CLONE_INSTANCES)),
    ("clone-min", Kind::Int(0, MAX_CLONE_INSTANCES)),
    ("promotable", Kind::Bool),
    ("promoted-max", Kind::Int(0, MAX_CLONE_INSTANCES)),
    ("promoted-node-max", Kind::Int(0, MAX_CLONE_INSTANCES)),
    ("master-max", Kind::Int(0, MAX_CLONE_INSTANCES)),
    ("master-node-max", Kind::Int(0, MAX_CLONE_INSTANCES)),
    ("interleave", Kind::Bool),
    ("ordered", Kind::Bool),
    ("notify", Kind::Bool),
    ("globally-unique", Kind::Bool),
    ("remote-connect-timeout", Kind::Duration),
];

/// Operation defaults (`[op_defaults]`).
pub(crate) const OP: &[(&str, Kind)] = &[
    ("timeout", Kind::Duration),
    ("interval", Kind::Duration),
    ("start-delay", Kind::Duration),
    ("interval-origin", Kind::Text),
    ("record-pending", Kind::Bool),
    ("enabled", Kind::Bool),
    ("on-fail", Kind::Enum(ON_FAIL)),
    ("role", Kind::Role),
    (
        "requires",
        Kind::Enum(&["nothing", "quorum", "fencing", "unfencing"]),
    ),
];

pub(crate) fn kind_of(table: &[(&str, Kind)], key: &str) -> Option<Kind> {
    table.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind)
}

/// A value of another spelling the loader would refuse, written as it
/// reads (for `import-cib`): Pacemaker reads a score such as "2.0" as 2.
pub(crate) fn normalized(table: &[(&str, Kind)], key: &str, value: &str) -> Option<String> {
    match kind_of(table, key)? {
        Kind::Score if Kind::Score.check(value).is_err() => {
            let n: f64 = value.trim().parse().ok()?;
            (n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15).then(|| format!("{}", n as i64))
        }
        _ => None,
    }
}

/// Pacemaker's `crm_str_to_boolean`: these spellings, in any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "y" | "1" => Some(true),
        "false" | "off" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// A resource's meta attributes, typed: the one reading of them, for the
/// cluster file and the CIB alike (the file's values were checked against
/// `META`; the CIB's are taken as Pacemaker takes them: trimmed, a boolean
/// that is not one is false, a value of another kind is not set). The
/// underscore spellings `META` accepts count as the hyphenated ones.
pub fn meta_from(raw: &Attributes) -> ResourceMeta {
    let get = |key: &str| {
        raw.get(key)
            .or_else(|| raw.get(&key.replace('-', "_")))
            .map(|v| v.trim())
    };
    let flag = |key: &str| get(key).map(|v| parse_bool(v).unwrap_or(false));
    let score = |key: &str| get(key).and_then(|v| v.parse::<Score>().ok());
    ResourceMeta {
        target_role: get("target-role").and_then(Role::parse),
        stickiness: score("resource-stickiness"),
        migration_threshold: score("migration-threshold").map(|s| s.value()),
        failure_timeout: get("failure-timeout").and_then(|v| parse_duration(v).ok()),
        is_managed: flag("is-managed"),
        maintenance: flag("maintenance"),
        priority: score("priority").map(|s| s.value()),
        requires: get("requires").and_then(|v| match v {
            "nothing" => Some(Requires::Nothing),
            "quorum" => Some(Requires::Quorum),
            "fencing" => Some(Requires::Fencing),
            "unfencing" => Some(Requires::Unfencing),
            _ => None,
        }),
        multiple_active: get("multiple-active").and_then(|v| match v {
            "stop_start" => Some(MultipleActive::StopStart),
            "stop_only" => Some(MultipleActive::StopOnly),
            "block" => Some(MultipleActive::Block),
            "stop_unexpected" => Some(MultipleActive::StopUnexpected),
            _ => None,
        }),
        allow_migrate: flag("allow-migrate"),
        raw: raw.clone(),
    }
}

impl Kind {
    /// Why `value` is not of this kind: the message says what is expected.
    pub(crate) fn check(self, value: &str) -> Result<(), String> {
        let v = value.trim();
        match self {
            Kind::Text => Ok(()),
            Kind::Duration => parse_duration(v).map(|_| ()).map_err(|e| e.to_string()),
            Kind::Bool => parse_bool(v)
                .map(|_| ())
                .ok_or_else(|| format!("`{value}` is not a boolean; write true or false")),
            // Compared as written: the model matches the exact words.
            Kind::Enum(allowed) => {
                if allowed.contains(&value) {
                    Ok(())
                } else {
                    Err(format!("`{value}` is not one of {}", allowed.join(", ")))
                }
            }
            Kind::Int(min, max) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!("`{value}` is not a whole number in {min}..={max}")),
            },
            Kind::Score => v.parse::<Score>().map(|_| ()).map_err(|_| {
                format!("`{value}` is not a score; write an integer or INFINITY / -INFINITY")
            }),
            Kind::Role => {
                if v == "#default" || crate::model::Role::parse(v).is_some() {
                    Ok(())
                } else {
                    Err(format!(
                        "`{value}` is not a role; write one of {}",
                        ROLES.join(", ")
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 16: the cluster file's meta attributes were read by a
    /// stricter twin of the CIB's reader: `is-managed = "Yes"` passed
    /// `config check` and ran managed = false, `priority = "INFINITY"` and
    /// the underscore spellings (`resource_stickiness`) were accepted and
    /// ignored. One reader now, and the file and the CIB agree.
    #[test]
    fn the_file_and_the_cib_read_meta_attributes_alike() {
        let toml = "[[primitive]]\nid = \"a\"\nagent = \"ocf:pacemaker:Dummy\"\nmeta = { is-managed = \"Yes\", priority = \"INFINITY\", resource_stickiness = \"50\", failure_timeout = \"1d\" }\n[fencing]\nenabled = false\n";
        let from_file = crate::config::load_config_str(toml, "t.toml").unwrap();
        let crate::model::Resource::Primitive(p) = &from_file.resources[0] else {
            panic!("a primitive");
        };
        assert_eq!(p.meta.is_managed, Some(true));
        assert_eq!(p.meta.priority, Some(Score::INFINITY.value()));
        assert_eq!(p.meta.stickiness, Some(Score::new(50)));
        assert_eq!(
            p.meta.failure_timeout,
            Some(std::time::Duration::from_secs(86_400))
        );
        let cib = r#"<cib><configuration><crm_config/><nodes/><resources>
          <primitive id="a" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="m">
            <nvpair id="m1" name="is-managed" value="Yes"/><nvpair id="m2" name="priority" value="INFINITY"/>
            <nvpair id="m3" name="resource_stickiness" value="50"/><nvpair id="m4" name="failure_timeout" value="1d"/>
          </meta_attributes></primitive></resources><constraints/></configuration><status/></cib>"#;
        let from_cib = crate::config::cib::import_cib(cib).unwrap().config;
        let crate::model::Resource::Primitive(q) = &from_cib.resources[0] else {
            panic!("a primitive");
        };
        assert_eq!(
            (
                q.meta.is_managed,
                q.meta.priority,
                q.meta.stickiness,
                q.meta.failure_timeout
            ),
            (
                p.meta.is_managed,
                p.meta.priority,
                p.meta.stickiness,
                p.meta.failure_timeout
            )
        );
    }

    #[test]
    fn each_kind_accepts_and_refuses() {
        assert!(Kind::Bool.check("yes").is_ok() && Kind::Bool.check("maybe").is_err());
        let nqp = kind_of(PROPERTIES, "no-quorum-policy").unwrap();
        assert!(nqp.check("freeze").is_ok());
        assert!(nqp.check("sometimes").unwrap_err().contains("stop, freeze"));
        let limit = kind_of(PROPERTIES, "node-action-limit").unwrap();
        assert!(limit.check("8").is_ok());
        assert!(limit.check("2305843009213693952").is_err());
        assert!(
            kind_of(META, "clone-max")
                .unwrap()
                .check("4000000000")
                .is_err()
        );
        assert!(Kind::Score.check("-INFINITY").is_ok() && Kind::Score.check("lots").is_err());
        assert!(Kind::Duration.check("1d").is_ok() && Kind::Duration.check("1 fortnight").is_err());
    }

    /// Every key the loader knows has a kind (and no kind is for a key it
    /// does not know).
    #[test]
    fn the_tables_cover_the_known_keys() {
        for k in super::super::convert::KNOWN_PROPERTIES {
            assert!(kind_of(PROPERTIES, k).is_some(), "property {k}");
        }
        for (k, _) in PROPERTIES {
            assert!(super::super::convert::KNOWN_PROPERTIES.contains(k), "{k}");
        }
        for (k, _) in META {
            assert!(super::super::convert::KNOWN_META.contains(k), "{k}");
        }
    }

    #[test]
    fn every_property_is_described_once() {
        let named: Vec<&str> = PROPERTY_DOCS.iter().map(|(n, ..)| *n).collect();
        let kinds: Vec<&str> = property_names().collect();
        assert_eq!(named, kinds);
        for n in kinds {
            assert!(describe_property(n).is_some(), "{n}");
        }
        assert!(describe_property("cluster-recheck-interval").is_none());
    }
}
