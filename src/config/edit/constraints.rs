//! `constraint add|remove|list`: location (a node and score, or a rule),
//! colocation and order constraints, by id.

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value, value};

use super::resources::{array, remove_tables};
use super::{EditError, parse, typed};

const KINDS: [&str; 3] = ["location", "colocation", "order"];

/// Whether any constraint has this id.
fn exists(doc: &DocumentMut, id: &str) -> bool {
    KINDS.iter().any(|k| {
        doc.get(k)
            .and_then(Item::as_array_of_tables)
            .is_some_and(|a| {
                a.iter()
                    .any(|t| t.get("id").and_then(Item::as_str) == Some(id))
            })
    })
}

fn push(text: &str, kind: &'static str, t: Table) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let id = t
        .get("id")
        .and_then(Item::as_str)
        .unwrap_or_default()
        .to_string();
    if exists(&doc, &id) {
        return Err(EditError::Exists(id));
    }
    array(&mut doc, kind)?.push(t);
    Ok(doc.to_string())
}

/// `constraint add location ID RES --node NODE --score SCORE [--role R]`.
pub fn add_location_node(
    text: &str,
    id: &str,
    resource: &str,
    node: &str,
    score: &str,
    role: Option<&str>,
) -> Result<String, EditError> {
    let mut t = Table::new();
    t["id"] = value(id);
    t["resource"] = value(resource);
    t["node"] = value(node);
    t["score"] = typed(score);
    if let Some(role) = role {
        t["role"] = value(role);
    }
    push(text, "location", t)
}

/// `constraint add location ID RES --rule "ATTR OP VALUE [and ...]"
/// --score SCORE`: one rule of expressions joined by `and` or `or`
/// (crmsh's rule syntax; `defined ATTR` and `not_defined ATTR` too).
pub fn add_location_rule(
    text: &str,
    id: &str,
    resource: &str,
    rule: &str,
    score: &str,
    role: Option<&str>,
) -> Result<String, EditError> {
    let (op, expressions) = parse_rule(rule)?;
    let mut r = InlineTable::new();
    if let Ok(s) = typed(score).into_value() {
        r.insert("score", s);
    }
    if let Some(role) = role {
        r.insert("role", role.into());
    }
    if op == "or" {
        r.insert("op", "or".into());
    }
    r.insert("expressions", Value::Array(expressions));
    let mut rules = Array::new();
    rules.push(Value::InlineTable(r));
    let mut t = Table::new();
    t["id"] = value(id);
    t["resource"] = value(resource);
    t["rules"] = value(rules);
    push(text, "location", t)
}

const COMPARISONS: [&str; 6] = ["eq", "ne", "lt", "gt", "lte", "gte"];

/// The rule's joining word and its expressions.
fn parse_rule(rule: &str) -> Result<(&'static str, Array), EditError> {
    let bad = |why: &str| {
        EditError::Invalid(format!(
            "rule `{rule}`: {why} (write `ATTR OP VALUE [and|or ATTR OP VALUE]...`, OP one of {}, or `defined ATTR` / `not_defined ATTR`)",
            COMPARISONS.join(" ")
        ))
    };
    let words: Vec<&str> = rule.split_whitespace().collect();
    let mut joined = None;
    let mut out = Array::new();
    for part in words.split(|w| *w == "and" || *w == "or") {
        let mut e = InlineTable::new();
        match part {
            [op @ ("defined" | "not_defined"), attr] => {
                e.insert("attribute", (*attr).into());
                e.insert("op", (*op).into());
            }
            [attr, op, val] if COMPARISONS.contains(op) => {
                e.insert("attribute", (*attr).into());
                e.insert("op", (*op).into());
                e.insert("value", (*val).into());
            }
            [] => return Err(bad("an empty expression")),
            _ => return Err(bad(&format!("cannot read `{}`", part.join(" ")))),
        }
        out.push(Value::InlineTable(e));
    }
    for w in words.iter().filter(|w| **w == "and" || **w == "or") {
        let w = if *w == "and" { "and" } else { "or" };
        if joined.is_some_and(|j| j != w) {
            return Err(bad("mixes and with or"));
        }
        joined = Some(w);
    }
    Ok((joined.unwrap_or("and"), out))
}

/// A colocation: `resource` is placed where `with` runs.
#[derive(Debug, Clone, Default)]
pub struct ColocationSpec<'a> {
    pub id: &'a str,
    pub resource: &'a str,
    pub with: &'a str,
    pub score: &'a str,
    pub role: Option<&'a str>,
    pub with_role: Option<&'a str>,
}

/// `constraint add colocation ID RES WITH [--score S]`.
pub fn add_colocation(text: &str, c: &ColocationSpec) -> Result<String, EditError> {
    let mut t = Table::new();
    t["id"] = value(c.id);
    t["resource"] = value(c.resource);
    t["with"] = value(c.with);
    t["score"] = typed(c.score);
    if let Some(r) = c.role {
        t["role"] = value(r);
    }
    if let Some(r) = c.with_role {
        t["with_role"] = value(r);
    }
    push(text, "colocation", t)
}

/// An order: `then` after `first`.
#[derive(Debug, Clone, Default)]
pub struct OrderSpec<'a> {
    pub id: &'a str,
    pub first: &'a str,
    pub then: &'a str,
    pub first_action: Option<&'a str>,
    pub then_action: Option<&'a str>,
    /// Mandatory (the default), Optional or Serialize.
    pub kind: Option<&'a str>,
    pub symmetrical: Option<bool>,
}

/// `constraint add order ID FIRST THEN [--kind K]`.
pub fn add_order(text: &str, o: &OrderSpec) -> Result<String, EditError> {
    let mut t = Table::new();
    t["id"] = value(o.id);
    t["first"] = value(o.first);
    t["then"] = value(o.then);
    for (key, v) in [
        ("first_action", o.first_action),
        ("then_action", o.then_action),
        ("kind", o.kind),
    ] {
        if let Some(v) = v {
            t[key] = value(v);
        }
    }
    if let Some(s) = o.symmetrical {
        t["symmetrical"] = value(s);
    }
    push(text, "order", t)
}

/// `constraint remove ID`.
pub fn remove_constraint(text: &str, id: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    if !exists(&doc, id) {
        return Err(EditError::NoSuchConstraint(id.to_string()));
    }
    for kind in KINDS {
        remove_tables(&mut doc, kind, |t| {
            t.get("id").and_then(Item::as_str) == Some(id)
        });
    }
    Ok(doc.to_string())
}

/// `constraint list`: each constraint as (kind, id, its table as written
/// on one line).
pub fn list_constraints(text: &str) -> Result<Vec<(String, String, String)>, EditError> {
    let doc = parse(text)?;
    let mut out = Vec::new();
    for kind in KINDS {
        for t in doc
            .get(kind)
            .and_then(Item::as_array_of_tables)
            .into_iter()
            .flat_map(|a| a.iter())
        {
            let id = t
                .get("id")
                .and_then(Item::as_str)
                .unwrap_or_default()
                .to_string();
            let fields: Vec<String> = t
                .iter()
                .filter(|(k, _)| *k != "id")
                .map(|(k, v)| format!("{k} = {}", v.to_string().trim()))
                .collect();
            out.push((kind.to_string(), id, fields.join(", ")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\nattributes = { rack = \"a\" }\n[[node]]\nname = \"n2\"\nid = 2\nlinks = [\"198.18.0.2\"]\n[[primitive]]\nid = \"db\" # keep\nagent = \"ocf:heartbeat:Dummy\"\n[[primitive]]\nid = \"ip\"\nagent = \"ocf:heartbeat:Dummy\"\n";

    fn valid(text: &str) -> crate::model::ClusterConfig {
        crate::config::load_config_str(text, "t.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn constraints_are_added_listed_and_removed_by_id() {
        let t = add_location_node(BASE, "db-on-n1", "db", "n1", "100", None).unwrap();
        let t = add_location_rule(
            &t,
            "ip-rack",
            "ip",
            "rack eq a and #uname ne n2",
            "INFINITY",
            None,
        )
        .unwrap();
        let t = add_colocation(
            &t,
            &ColocationSpec {
                id: "ip-with-db",
                resource: "ip",
                with: "db",
                score: "INFINITY",
                ..ColocationSpec::default()
            },
        )
        .unwrap();
        let t = add_order(
            &t,
            &OrderSpec {
                id: "db-then-ip",
                first: "db",
                then: "ip",
                kind: Some("Optional"),
                ..OrderSpec::default()
            },
        )
        .unwrap();
        let cfg = valid(&t);
        assert!(t.contains("# keep"));
        assert_eq!(cfg.locations.len(), 2);
        assert_eq!((cfg.colocations.len(), cfg.orders.len()), (1, 1));
        assert_eq!(
            add_location_node(&t, "ip-with-db", "db", "n1", "1", None),
            Err(EditError::Exists("ip-with-db".into()))
        );
        let listed = list_constraints(&t).unwrap();
        let ids: Vec<&str> = listed.iter().map(|(_, id, _)| id.as_str()).collect();
        assert_eq!(ids, ["db-on-n1", "ip-rack", "ip-with-db", "db-then-ip"]);
        assert!(listed[1].2.contains("rack"), "{listed:?}");
        let t = remove_constraint(&t, "ip-rack").unwrap();
        let t = remove_constraint(&t, "db-then-ip").unwrap();
        let cfg = valid(&t);
        assert_eq!((cfg.locations.len(), cfg.orders.len()), (1, 0));
        assert_eq!(
            remove_constraint(&t, "nope"),
            Err(EditError::NoSuchConstraint("nope".into()))
        );
    }

    #[test]
    fn rules_read_as_crmsh_writes_them() {
        let (op, e) = parse_rule("defined rack or #uname eq n1").unwrap();
        assert_eq!((op, e.len()), ("or", 2));
        for bad in [
            "rack eq",
            "rack eq a and b eq c or d eq e",
            "",
            "rack like a",
        ] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
    }
}
