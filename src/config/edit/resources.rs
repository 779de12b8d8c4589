//! `resource create|update|delete`: primitives with their params, meta and
//! operations, put in a group or a clone, and what names them removed with
//! them (as `pcs resource delete` removes the constraints of a resource).

use std::collections::BTreeSet;

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value, value};

use super::{EditError, parse, resource_table, set_in, typed};

/// A primitive to create, and what wraps it.
#[derive(Debug, Clone, Default)]
pub struct NewResource<'a> {
    pub id: &'a str,
    /// `class:provider:type` or `class:type`.
    pub agent: &'a str,
    pub params: &'a [(String, String)],
    pub meta: &'a [(String, String)],
    /// Each operation's name and attributes (`interval`, `timeout`, …).
    pub ops: &'a [(String, Vec<(String, String)>)],
    pub wrap: Wrap<'a>,
}

/// Where a new primitive goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wrap<'a> {
    /// Appended to this group (created if missing).
    pub group: Option<&'a str>,
    /// Cloned (the group if there is one) as `<id>-clone`; `Some(true)`:
    /// a promotable clone.
    pub clone: Option<bool>,
}

const KINDS: [&str; 3] = ["primitive", "group", "clone"];

fn tables<'a>(doc: &'a DocumentMut, kind: &str) -> impl Iterator<Item = &'a Table> {
    doc.get(kind)
        .and_then(Item::as_array_of_tables)
        .into_iter()
        .flat_map(|a| a.iter())
}

fn id_of(t: &Table) -> Option<&str> {
    t.get("id").and_then(Item::as_str)
}

/// The kind of resource `id` is, if it is one.
fn kind_of(doc: &DocumentMut, id: &str) -> Option<&'static str> {
    KINDS
        .into_iter()
        .find(|k| tables(doc, k).any(|t| id_of(t) == Some(id)))
}

pub(super) fn array<'a>(
    doc: &'a mut DocumentMut,
    kind: &'static str,
) -> Result<&'a mut ArrayOfTables, EditError> {
    doc.entry(kind)
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or(EditError::NotAnArray(kind))
}

fn inline(pairs: &[(String, String)], key: impl Fn(&str) -> String) -> InlineTable {
    let mut t = InlineTable::new();
    for (k, v) in pairs {
        if let Ok(v) = typed(v).into_value() {
            t.insert(key(k), v);
        }
    }
    t
}

/// An operation as written in `ops`: `name` first, attributes in TOML's
/// spelling (`on-fail` is `on_fail`).
fn op_table(name: &str, attrs: &[(String, String)]) -> InlineTable {
    let mut t = InlineTable::new();
    t.insert("name", name.into());
    t.extend(inline(attrs, |k| k.replace('-', "_")));
    t
}

/// `resource create ID AGENT ...`.
pub fn create_resource(text: &str, r: &NewResource) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    if kind_of(&doc, r.id).is_some() {
        return Err(EditError::Exists(r.id.to_string()));
    }
    let mut t = Table::new();
    t["id"] = value(r.id);
    t["agent"] = value(r.agent);
    if !r.params.is_empty() {
        t["params"] = value(inline(r.params, str::to_string));
    }
    if !r.meta.is_empty() {
        t["meta"] = value(inline(r.meta, str::to_string));
    }
    if !r.ops.is_empty() {
        let ops: Array = r
            .ops
            .iter()
            .map(|(name, attrs)| Value::InlineTable(op_table(name, attrs)))
            .collect();
        t["ops"] = value(ops);
    }
    array(&mut doc, "primitive")?.push(t);
    let mut cloned = r.id.to_string();
    if let Some(group) = r.wrap.group {
        add_to_group(&mut doc, group, r.id)?;
        cloned = group.to_string();
    }
    if let Some(promotable) = r.wrap.clone {
        let already = tables(&doc, "clone")
            .any(|c| c.get("resource").and_then(Item::as_str) == Some(cloned.as_str()));
        if !already {
            let id = format!("{cloned}-clone");
            if kind_of(&doc, &id).is_some() {
                return Err(EditError::Exists(id));
            }
            let mut c = Table::new();
            c["id"] = value(id);
            c["resource"] = value(cloned.as_str());
            if promotable {
                c["promotable"] = value(true);
            }
            array(&mut doc, "clone")?.push(c);
        }
    }
    Ok(doc.to_string())
}

fn add_to_group(doc: &mut DocumentMut, group: &str, member: &str) -> Result<(), EditError> {
    match kind_of(doc, group) {
        Some("group") => {
            let g = array(doc, "group")?
                .iter_mut()
                .find(|t| id_of(t) == Some(group))
                .ok_or_else(|| EditError::NoSuchResource(group.to_string()))?;
            let members = g
                .entry("members")
                .or_insert(value(Array::new()))
                .as_array_mut()
                .ok_or_else(|| {
                    EditError::Invalid(format!("group {group}'s members is not a list"))
                })?;
            members.push(member);
            Ok(())
        }
        Some(kind) => Err(EditError::Invalid(format!(
            "`{group}` is a {kind}, not a group"
        ))),
        None => {
            let mut g = Table::new();
            g["id"] = value(group);
            let mut members = Array::new();
            members.push(member);
            g["members"] = value(members);
            array(doc, "group")?.push(g);
            Ok(())
        }
    }
}

/// `resource update RES`: params and meta set (an empty value removes
/// the key), operations replaced by name and interval or added.
pub fn update_resource(
    text: &str,
    resource: &str,
    params: &[(String, String)],
    meta: &[(String, String)],
    ops: &[(String, Vec<(String, String)>)],
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let primitive = kind_of(&doc, resource) == Some("primitive");
    if !primitive && (!params.is_empty() || !ops.is_empty()) {
        return Err(EditError::Invalid(format!(
            "`{resource}` is not a primitive: only its meta attributes can be updated"
        )));
    }
    let table = resource_table(&mut doc, resource)
        .ok_or_else(|| EditError::NoSuchResource(resource.to_string()))?;
    for (sub, pairs) in [("params", params), ("meta", meta)] {
        for (k, v) in pairs {
            set_in(table, sub, k, (!v.is_empty()).then_some(v.as_str()))?;
        }
    }
    for (name, attrs) in ops {
        update_op(table, name, attrs)?;
    }
    Ok(doc.to_string())
}

fn update_op(table: &mut Table, name: &str, attrs: &[(String, String)]) -> Result<(), EditError> {
    let ops = table
        .entry("ops")
        .or_insert(value(Array::new()))
        .as_array_mut()
        .ok_or_else(|| EditError::Invalid("`ops` is not a list".into()))?;
    let interval = |t: &InlineTable| {
        t.get("interval")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let new = op_table(name, attrs);
    let same = ops.iter().position(|v| {
        v.as_inline_table().is_some_and(|t| {
            t.get("name").and_then(|n| n.as_str()) == Some(name) && interval(t) == interval(&new)
        })
    });
    match same {
        Some(i) => {
            ops.replace(i, Value::InlineTable(new));
        }
        None => ops.push(Value::InlineTable(new)),
    }
    Ok(())
}

/// `resource delete RES`: a primitive (out of its group, whose emptied
/// group and clone go too), a group with its members, or a clone with
/// what it clones; and every constraint naming what was removed.
pub fn delete_resource(text: &str, resource: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let mut gone = BTreeSet::new();
    let mut todo = vec![resource.to_string()];
    if kind_of(&doc, resource).is_none() {
        return Err(EditError::NoSuchResource(resource.to_string()));
    }
    while let Some(id) = todo.pop() {
        if !gone.insert(id.clone()) {
            continue;
        }
        match kind_of(&doc, &id) {
            Some("group") => todo.extend(members(&doc, &id)),
            Some("clone") => todo.extend(
                tables(&doc, "clone")
                    .find(|t| id_of(t) == Some(id.as_str()))
                    .and_then(|t| t.get("resource").and_then(Item::as_str))
                    .map(str::to_string),
            ),
            _ => {}
        }
        // A clone of it goes with it; so does a group it empties.
        todo.extend(
            tables(&doc, "clone")
                .filter(|t| t.get("resource").and_then(Item::as_str) == Some(id.as_str()))
                .filter_map(id_of)
                .map(str::to_string),
        );
        todo.extend(
            tables(&doc, "group")
                .filter(|g| {
                    let m = members(&doc, id_of(g).unwrap_or_default());
                    m.contains(&id) && m.iter().all(|x| x == &id || gone.contains(x))
                })
                .filter_map(id_of)
                .map(str::to_string),
        );
    }
    for kind in KINDS {
        remove_tables(&mut doc, kind, |t| {
            id_of(t).is_some_and(|i| gone.contains(i))
        });
    }
    for g in array(&mut doc, "group")?.iter_mut() {
        if let Some(m) = g.get_mut("members").and_then(Item::as_array_mut) {
            m.retain(|v| !v.as_str().is_some_and(|s| gone.contains(s)));
        }
    }
    remove_tables(&mut doc, "group", |_| false);
    let names = |t: &Table, keys: &[&str]| {
        keys.iter().any(|k| {
            t.get(k)
                .and_then(Item::as_str)
                .is_some_and(|v| gone.contains(v))
        })
    };
    remove_tables(&mut doc, "location", |t| names(t, &["resource"]));
    remove_tables(&mut doc, "colocation", |t| names(t, &["resource", "with"]));
    remove_tables(&mut doc, "order", |t| names(t, &["first", "then"]));
    Ok(doc.to_string())
}

fn members(doc: &DocumentMut, group: &str) -> Vec<String> {
    tables(doc, "group")
        .find(|t| id_of(t) == Some(group))
        .and_then(|t| t.get("members").and_then(Item::as_array))
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the tables of `kind` that `drop` selects, and the array once
/// empty.
pub(super) fn remove_tables(doc: &mut DocumentMut, kind: &str, drop: impl Fn(&Table) -> bool) {
    let Some(array) = doc.get_mut(kind).and_then(Item::as_array_of_tables_mut) else {
        return;
    };
    array.retain(|t| !drop(t));
    if array.is_empty() {
        doc.remove(kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "# the cluster\n[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[node]]\nname = \"n2\"\nid = 2\nlinks = [\"198.18.0.2\"]\n[[primitive]]\nid = \"db\" # the database\nagent = \"ocf:heartbeat:Dummy\"\n";

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn valid(text: &str) -> crate::model::ClusterConfig {
        crate::config::load_config_str(text, "t.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn create_update_delete_keep_comments_and_validate() {
        let params = pairs(&[("fake", "x")]);
        let meta = pairs(&[("resource-stickiness", "100")]);
        let ops = vec![(
            "monitor".to_string(),
            pairs(&[("interval", "10s"), ("on-fail", "restart")]),
        )];
        let new = NewResource {
            id: "web",
            agent: "ocf:heartbeat:Dummy",
            params: &params,
            meta: &meta,
            ops: &ops,
            wrap: Wrap {
                group: Some("app"),
                clone: None,
            },
        };
        let created = create_resource(BASE, &new).unwrap();
        assert!(created.contains("# the database"), "{created}");
        let cfg = valid(&created);
        assert!(cfg.primitive("web").is_some());
        assert_eq!(
            create_resource(&created, &new),
            Err(EditError::Exists("web".into()))
        );
        let ip = NewResource {
            id: "ip",
            agent: "ocf:heartbeat:Dummy",
            wrap: Wrap {
                group: Some("app"),
                clone: Some(false),
            },
            ..NewResource::default()
        };
        let both = create_resource(&created, &ip).unwrap();
        valid(&both);
        assert!(both.contains("members = [\"web\", \"ip\"]"), "{both}");
        assert!(both.contains("id = \"app-clone\""), "{both}");
        let updated = update_resource(
            &both,
            "web",
            &pairs(&[("fake", "y")]),
            &pairs(&[("resource-stickiness", "")]),
            &[(
                "monitor".into(),
                pairs(&[("interval", "10s"), ("timeout", "30s")]),
            )],
        )
        .unwrap();
        valid(&updated);
        assert!(updated.contains("fake = \"y\""), "{updated}");
        assert!(!updated.contains("resource-stickiness"), "{updated}");
        assert_eq!(
            updated.matches("name = \"monitor\"").count(),
            1,
            "{updated}"
        );
        assert!(updated.contains("timeout = \"30s\""), "{updated}");
        // Deleting the group's last members takes the group and its clone.
        let one = delete_resource(&updated, "web").unwrap();
        valid(&one);
        assert!(one.contains("app-clone"), "{one}");
        let none = delete_resource(&one, "ip").unwrap();
        let cfg = valid(&none);
        assert_eq!(cfg.resources.len(), 1, "{none}");
        assert!(none.contains("# the database"));
        assert_eq!(
            delete_resource(BASE, "nope"),
            Err(EditError::NoSuchResource("nope".into()))
        );
    }

    #[test]
    fn deleting_a_resource_removes_the_constraints_that_name_it() {
        let text = format!(
            "{BASE}[[primitive]]\nid = \"ip\"\nagent = \"ocf:heartbeat:Dummy\"\n[[location]]\nid = \"l\"\nresource = \"db\"\nnode = \"n1\"\nscore = 5\n[[colocation]]\nid = \"c\"\nresource = \"ip\"\nwith = \"db\"\n[[order]]\nid = \"o\"\nfirst = \"db\"\nthen = \"ip\"\n"
        );
        valid(&text);
        let out = delete_resource(&text, "db").unwrap();
        let cfg = valid(&out);
        assert!(cfg.locations.is_empty() && cfg.colocations.is_empty() && cfg.orders.is_empty());
        assert!(cfg.primitive("ip").is_some());
    }
}
