//! Edits of the cluster's TOML text for the crm-like commands (move, ban,
//! clear, standby, properties, resource create/update/delete, constraints,
//! fencing devices and levels, node attributes), keeping the operator's comments and
//! layout (toml_edit). Pure text in, text out: the caller validates the
//! result with `config::load_config_str` and submits it with the version it read.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

mod constraints;
mod fencing;
mod nodes;
mod resources;
pub use constraints::{
    ColocationSpec, OrderSpec, add_colocation, add_location_node, add_location_rule, add_order,
    list_constraints, remove_constraint,
};
pub use fencing::{add_device, add_level, remove_device, remove_level, update_device};
pub use nodes::{add_node, remove_node};
pub use resources::{NewResource, Wrap, create_resource, delete_resource, update_resource};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the cluster configuration is not valid TOML: {0}")]
    Parse(String),
    #[error("no [[node]] named `{0}` in the configuration")]
    NoSuchNode(String),
    #[error("no [[primitive]], [[group]] or [[clone]] with id `{0}` in the configuration")]
    NoSuchResource(String),
    #[error("`{0}` in the configuration is not an array of tables")]
    NotAnArray(&'static str),
    #[error(
        "`{0}` is not a promotable clone (nor the primitive of one): --promoted moves or bans \
         the Promoted role of a [[clone]] with promotable = true"
    )]
    NotPromotable(String),
    #[error("`{0}` is already used as an id in the configuration")]
    Exists(String),
    #[error("no constraint with id `{0}` in the configuration")]
    NoSuchConstraint(String),
    #[error("no [[fencing.device]] with id `{0}` in the configuration")]
    NoSuchDevice(String),
    #[error("no [[fencing.level]] for `{0}` with index {1} in the configuration")]
    NoSuchLevel(String, i64),
    #[error("{0}")]
    Invalid(String),
}

/// Which role of a resource a move or ban is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The resource itself (every role).
    Anywhere,
    /// Only the Promoted role of a promotable clone (a switchover).
    Promoted,
}

/// Prefix of the ids of constraints these commands create; a lifetime is
/// written into the id (`...-until-<unix seconds>`) and enforced by the DC.
pub const MOVE_PREFIX: &str = "cli-prefer-";
pub const BAN_PREFIX: &str = "cli-ban-";
const UNTIL: &str = "-until-";

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Parse(e.to_string()))
}

fn locations(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, EditError> {
    let item = doc
        .entry("location")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    item.as_array_of_tables_mut()
        .ok_or(EditError::NotAnArray("location"))
}

fn with_lifetime(id: String, expires_at: Option<i64>) -> String {
    match expires_at {
        Some(t) => format!("{id}{UNTIL}{t}"),
        None => id,
    }
}

/// `resource move RES NODE`: RES prefers NODE with INFINITY (replacing an
/// earlier move of RES). With `Placement::Promoted` only RES's Promoted
/// role does (RES is then the promotable clone, or its primitive, whose
/// clone the constraint names), as `crm_resource --move --promoted`.
pub fn move_resource(
    text: &str,
    resource: &str,
    node: &str,
    expires_at: Option<i64>,
    placement: Placement,
) -> Result<String, EditError> {
    let target = constrained(text, resource, placement)?;
    let text = clear_resource(text, &target, true, false)?;
    add_location(
        &text,
        with_lifetime(format!("{MOVE_PREFIX}{target}"), expires_at),
        &target,
        node,
        "INFINITY",
        placement,
    )
}

/// `resource ban RES NODE`: RES (or, with `Placement::Promoted`, its
/// Promoted role) may not run on NODE.
pub fn ban_resource(
    text: &str,
    resource: &str,
    node: &str,
    expires_at: Option<i64>,
    placement: Placement,
) -> Result<String, EditError> {
    let resource = constrained(text, resource, placement)?;
    let resource = resource.as_str();
    let text = remove_locations(text, |id| {
        id == format!("{BAN_PREFIX}{resource}-on-{node}")
            || id.starts_with(&format!("{BAN_PREFIX}{resource}-on-{node}{UNTIL}"))
    })?;
    add_location(
        &text,
        with_lifetime(format!("{BAN_PREFIX}{resource}-on-{node}"), expires_at),
        resource,
        node,
        "-INFINITY",
        placement,
    )
}

/// The resource a move or ban constrains: `resource` itself, or for the
/// Promoted role the promotable clone it names (directly or through the
/// clone's primitive).
fn constrained(text: &str, resource: &str, placement: Placement) -> Result<String, EditError> {
    if placement == Placement::Anywhere {
        return Ok(resource.to_string());
    }
    let doc = parse(text)?;
    doc.get("clone")
        .and_then(Item::as_array_of_tables)
        .into_iter()
        .flat_map(|a| a.iter())
        .filter(|c| c.get("promotable").and_then(Item::as_bool) == Some(true))
        .find(|c| {
            [c.get("id"), c.get("resource")]
                .into_iter()
                .flatten()
                .any(|v| v.as_str() == Some(resource))
        })
        .and_then(|c| c.get("id").and_then(Item::as_str).map(str::to_string))
        .ok_or_else(|| EditError::NotPromotable(resource.to_string()))
}

fn add_location(
    text: &str,
    id: String,
    resource: &str,
    node: &str,
    score: &str,
    placement: Placement,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let mut t = Table::new();
    t["id"] = value(id);
    t["resource"] = value(resource);
    t["node"] = value(node);
    t["score"] = value(score);
    if placement == Placement::Promoted {
        t["role"] = value("Promoted");
    }
    locations(&mut doc)?.push(t);
    Ok(doc.to_string())
}

/// Whether `id` was made by move/ban for `resource`.
fn made_for(id: &str, resource: &str, moves: bool, bans: bool) -> bool {
    let prefer = format!("{MOVE_PREFIX}{resource}");
    (moves && (id == prefer || id.starts_with(&format!("{prefer}{UNTIL}"))))
        || (bans && id.starts_with(&format!("{BAN_PREFIX}{resource}-on-")))
}

/// `resource clear RES`: removes what move and ban made for RES.
pub fn clear_resource(
    text: &str,
    resource: &str,
    moves: bool,
    bans: bool,
) -> Result<String, EditError> {
    remove_locations(text, |id| made_for(id, resource, moves, bans))
}

/// `resource clear RES`: what move and ban made for RES, and when RES is
/// the primitive of a promotable clone, what `--promoted` made for the
/// clone on its behalf.
pub fn clear_resource_and_its_promoted_role(
    text: &str,
    resource: &str,
) -> Result<String, EditError> {
    let text = clear_resource(text, resource, true, true)?;
    match constrained(&text, resource, Placement::Promoted) {
        Ok(clone) if clone != resource => clear_resource(&text, &clone, true, true),
        _ => Ok(text),
    }
}

/// `resource clear RES --node NODE`: only what move and ban made for RES
/// (and its promotable clone) that names NODE.
pub fn clear_resource_on(text: &str, resource: &str, node: &str) -> Result<String, EditError> {
    let clone = constrained(text, resource, Placement::Promoted).ok();
    let mut doc = parse(text)?;
    let Some(array) = doc
        .get_mut("location")
        .and_then(Item::as_array_of_tables_mut)
    else {
        return Ok(text.to_string());
    };
    array.retain(|t| {
        let id = t.get("id").and_then(Item::as_str).unwrap_or_default();
        let ours = made_for(id, resource, true, true)
            || clone
                .as_deref()
                .is_some_and(|c| made_for(id, c, true, true));
        !(ours && t.get("node").and_then(Item::as_str) == Some(node))
    });
    if array.is_empty() {
        doc.remove("location");
    }
    Ok(doc.to_string())
}

fn remove_locations(text: &str, drop: impl Fn(&str) -> bool) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let Some(item) = doc.get_mut("location") else {
        return Ok(text.to_string());
    };
    let Some(array) = item.as_array_of_tables_mut() else {
        return Err(EditError::NotAnArray("location"));
    };
    array.retain(|t| !t.get("id").and_then(|v| v.as_str()).is_some_and(&drop));
    if array.is_empty() {
        doc.remove("location");
    }
    Ok(doc.to_string())
}

/// Constraints whose lifetime is over at `now` (unix seconds), by id.
pub fn expired_constraints(text: &str, now: i64) -> Vec<String> {
    let Ok(doc) = parse(text) else {
        return Vec::new();
    };
    let Some(array) = doc.get("location").and_then(|i| i.as_array_of_tables()) else {
        return Vec::new();
    };
    expired_among(
        array
            .iter()
            .filter_map(|t| t.get("id").and_then(|v| v.as_str())),
        now,
    )
}

/// Of these location ids, the move/ban constraints whose lifetime is over
/// at `now` (unix seconds). The daemon passes its loaded model's ids:
/// parsing the whole text again every second held a DC's event loop for
/// hundreds of milliseconds with thousands of resources (issue 15).
pub fn expired_among<'a>(ids: impl IntoIterator<Item = &'a str>, now: i64) -> Vec<String> {
    ids.into_iter()
        .filter(|id| id.starts_with(MOVE_PREFIX) || id.starts_with(BAN_PREFIX))
        .filter(|id| {
            id.rsplit_once(UNTIL)
                .and_then(|(_, t)| t.parse::<i64>().ok())
                .is_some_and(|t| t <= now)
        })
        .map(str::to_string)
        .collect()
}

/// Removes the constraints named in `ids`.
pub fn remove_constraints(text: &str, ids: &[String]) -> Result<String, EditError> {
    remove_locations(text, |id| ids.iter().any(|i| i == id))
}

/// `node standby|online NODE`.
pub fn set_standby(text: &str, node: &str, standby: bool) -> Result<String, EditError> {
    set_node_flag(text, node, "standby", standby)
}

/// A boolean key of `[[node]] name = NODE`: written as `true`, or removed.
fn set_node_flag(text: &str, node: &str, key: &str, on: bool) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let nodes = doc
        .get_mut("node")
        .and_then(|i| i.as_array_of_tables_mut())
        .ok_or_else(|| EditError::NoSuchNode(node.to_string()))?;
    let entry = nodes
        .iter_mut()
        .find(|t| t.get("name").and_then(|v| v.as_str()) == Some(node))
        .ok_or_else(|| EditError::NoSuchNode(node.to_string()))?;
    if on {
        entry[key] = value(true);
    } else {
        entry.remove(key);
    }
    Ok(doc.to_string())
}

/// `node maintenance NODE [--off]`: the node's resources are left alone
/// (neither started, stopped nor monitored).
pub fn set_maintenance(text: &str, node: &str, on: bool) -> Result<String, EditError> {
    set_node_flag(text, node, "maintenance", on)
}

/// The table of resource `id`: a `[[primitive]]`, `[[group]]` or `[[clone]]`.
fn resource_table<'a>(doc: &'a mut DocumentMut, id: &str) -> Option<&'a mut Table> {
    let has = |doc: &DocumentMut, kind: &str| {
        doc.get(kind)
            .and_then(|i| i.as_array_of_tables())
            .and_then(|a| {
                a.iter()
                    .position(|t| t.get("id").and_then(|v| v.as_str()) == Some(id))
            })
    };
    let (kind, index) = ["primitive", "group", "clone"]
        .into_iter()
        .find_map(|k| has(doc, k).map(|i| (k, i)))?;
    doc.get_mut(kind)
        .and_then(|i| i.as_array_of_tables_mut())
        .and_then(|a| a.get_mut(index))
}

/// `resource start|stop RES`: the resource's `target-role` meta attribute
/// (None removes it: the resource may run in any role).
pub fn set_target_role(
    text: &str,
    resource: &str,
    role: Option<&str>,
) -> Result<String, EditError> {
    set_meta(text, resource, "target-role", role)
}

/// One meta attribute of resource RES (`resource manage|unmanage`,
/// `resource maintenance`): set, or removed with None.
pub fn set_meta(
    text: &str,
    resource: &str,
    key: &str,
    val: Option<&str>,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let table = resource_table(&mut doc, resource)
        .ok_or_else(|| EditError::NoSuchResource(resource.to_string()))?;
    set_in(table, "meta", key, val)?;
    Ok(doc.to_string())
}

/// `key` of the sub-table `sub` of `table` (`meta`, `params`,
/// `attributes`), created inline if missing; None removes it, and the
/// sub-table once empty.
fn set_in(table: &mut Table, sub: &str, key: &str, val: Option<&str>) -> Result<(), EditError> {
    match val {
        Some(v) => {
            let entry = table
                .entry(sub)
                .or_insert(toml_edit::value(toml_edit::InlineTable::new()));
            let Some(entry) = entry.as_table_like_mut() else {
                return Err(EditError::Invalid(format!("`{sub}` is not a table")));
            };
            entry.insert(key, typed(v));
        }
        None => {
            if let Some(entry) = table.get_mut(sub).and_then(|m| m.as_table_like_mut()) {
                entry.remove(key);
                if entry.is_empty() {
                    table.remove(sub);
                }
            }
        }
    }
    Ok(())
}

/// A value given on the command line: numbers and booleans keep their
/// type (as `property set` writes them); everything else is a string.
fn typed(val: &str) -> Item {
    if let Ok(n) = val.parse::<i64>() {
        value(n)
    } else if let Ok(b) = val.parse::<bool>() {
        value(b)
    } else {
        value(val)
    }
}

/// The resource's `target-role`, if set.
pub fn target_role(text: &str, resource: &str) -> Result<Option<String>, EditError> {
    let mut doc = parse(text)?;
    let table = resource_table(&mut doc, resource)
        .ok_or_else(|| EditError::NoSuchResource(resource.to_string()))?;
    Ok(table
        .get("meta")
        .and_then(|m| m.as_table_like())
        .and_then(|m| m.get("target-role"))
        .and_then(|v| v.as_str())
        .map(str::to_string))
}

/// The resource's own table as written (for `resource show`).
pub fn resource_text(text: &str, resource: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    for kind in ["primitive", "group", "clone"] {
        if let Some(t) = doc
            .get_mut(kind)
            .and_then(|i| i.as_array_of_tables_mut())
            .and_then(|a| {
                a.iter()
                    .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(resource))
                    .cloned()
            })
        {
            let mut out = DocumentMut::new();
            let mut array = ArrayOfTables::new();
            array.push(t);
            out.insert(kind, Item::ArrayOfTables(array));
            return Ok(out.to_string());
        }
    }
    Err(EditError::NoSuchResource(resource.to_string()))
}

/// `property set NAME VALUE` (`[properties]`, created if missing).
pub fn set_property(text: &str, name: &str, val: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let props = doc.entry("properties").or_insert(Item::Table(Table::new()));
    let Some(table) = props.as_table_like_mut() else {
        return Err(EditError::NotAnArray("properties"));
    };
    table.insert(name, typed(val));
    Ok(doc.to_string())
}

/// `property unset NAME`: back to its default.
/// `resource defaults set|unset NAME [VALUE] [--op]` (pcs resource
/// [op] defaults update, crm configure rsc_defaults|op_defaults): one key
/// of `[rsc_defaults]` or `[op_defaults]`; None removes it (and the table
/// once empty).
pub fn set_default(
    text: &str,
    table: &'static str,
    name: &str,
    val: Option<&str>,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    match val {
        Some(v) => {
            let item = doc.entry(table).or_insert(Item::Table(Table::new()));
            let t = item
                .as_table_like_mut()
                .ok_or(EditError::NotAnArray(table))?;
            t.insert(name, typed(v));
        }
        None => {
            if let Some(t) = doc.get_mut(table).and_then(|p| p.as_table_like_mut()) {
                t.remove(name);
                if t.is_empty() {
                    doc.remove(table);
                }
            }
        }
    }
    Ok(doc.to_string())
}

pub fn unset_property(text: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    if let Some(table) = doc
        .get_mut("properties")
        .and_then(|p| p.as_table_like_mut())
    {
        table.remove(name);
        if table.is_empty() {
            doc.remove("properties");
        }
    }
    Ok(doc.to_string())
}

/// `node attribute set|delete NODE NAME [VALUE]`: a permanent node
/// attribute (`[[node]] attributes`, read by location rules).
pub fn set_node_attribute(
    text: &str,
    node: &str,
    name: &str,
    val: Option<&str>,
) -> Result<String, EditError> {
    set_node_table(text, node, "attributes", name, val)
}

/// `node utilization set|delete NODE NAME [VALUE]` (pcs node
/// utilization): the node's capacity NAME, as placement-strategy reads it.
pub fn set_node_utilization(
    text: &str,
    node: &str,
    name: &str,
    val: Option<&str>,
) -> Result<String, EditError> {
    set_node_table(text, node, "utilization", name, val)
}

/// One key of a `[[node]]`'s inline table `table` (None removes it).
fn set_node_table(
    text: &str,
    node: &str,
    table: &'static str,
    name: &str,
    val: Option<&str>,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let entry = doc
        .get_mut("node")
        .and_then(|i| i.as_array_of_tables_mut())
        .and_then(|a| {
            a.iter_mut()
                .find(|t| t.get("name").and_then(|v| v.as_str()) == Some(node))
        })
        .ok_or_else(|| EditError::NoSuchNode(node.to_string()))?;
    set_in(entry, table, name, val)?;
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_role_and_maintenance_edits_keep_comments() {
        let text = "# mine\n[[node]]\nname = \"n1\"\n[[primitive]]\nid = \"web\" # the site\nagent = \"builtin:dummy\"\n";
        let stopped = set_target_role(text, "web", Some("Stopped")).unwrap();
        assert!(
            stopped.contains("# the site") && stopped.contains("# mine"),
            "{stopped}"
        );
        assert_eq!(
            target_role(&stopped, "web").unwrap().as_deref(),
            Some("Stopped")
        );
        let started = set_target_role(&stopped, "web", None).unwrap();
        assert_eq!(target_role(&started, "web").unwrap(), None);
        assert!(!started.contains("meta"), "{started}");
        assert!(matches!(
            set_target_role(text, "nope", Some("Stopped")),
            Err(EditError::NoSuchResource(_))
        ));
        let m = set_maintenance(text, "n1", true).unwrap();
        assert!(m.contains("maintenance = true"), "{m}");
        assert!(
            !set_maintenance(&m, "n1", false)
                .unwrap()
                .contains("maintenance")
        );
        assert!(
            resource_text(text, "web")
                .unwrap()
                .contains("builtin:dummy")
        );
    }

    const BASE: &str = "# the cluster\n[cluster]\nname = \"c\" # keep me\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[node]]\nname = \"n2\"\nid = 2\nlinks = [\"198.18.0.2\"]\n[[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\n";

    fn valid(text: &str) {
        crate::config::load_config_str(text, "t.toml").unwrap();
    }

    #[test]
    fn move_ban_clear_keep_comments_and_validate() {
        let moved = move_resource(BASE, "db", "n2", None, Placement::Anywhere).unwrap();
        assert!(moved.contains("# keep me") && moved.contains("# the cluster"));
        assert!(moved.contains("id = \"cli-prefer-db\""));
        valid(&moved);
        let again = move_resource(&moved, "db", "n1", Some(100), Placement::Anywhere).unwrap();
        assert_eq!(again.matches("[[location]]").count(), 1, "{again}");
        assert!(again.contains("cli-prefer-db-until-100"));
        let banned = ban_resource(&again, "db", "n2", None, Placement::Anywhere).unwrap();
        valid(&banned);
        assert_eq!(expired_constraints(&banned, 99), Vec::<String>::new());
        assert_eq!(
            expired_constraints(&banned, 100),
            vec!["cli-prefer-db-until-100"]
        );
        let model = crate::config::load_config_str(&banned, "t.toml").unwrap();
        let ids = model.locations.iter().map(|l| l.id.as_str());
        assert_eq!(expired_among(ids, 100), vec!["cli-prefer-db-until-100"]);
        let cleared = clear_resource(&banned, "db", true, true).unwrap();
        assert!(!cleared.contains("[[location]]"), "{cleared}");
        valid(&cleared);
        // --node: only what names that node.
        let on_n2 = clear_resource_on(&banned, "db", "n2").unwrap();
        assert!(on_n2.contains("cli-prefer-db-until-100"), "{on_n2}");
        assert!(!on_n2.contains("cli-ban-db-on-n2"), "{on_n2}");
        let on_n1 = clear_resource_on(&banned, "db", "n1").unwrap();
        assert!(!on_n1.contains("cli-prefer-db"), "{on_n1}");
        assert!(on_n1.contains("cli-ban-db-on-n2"), "{on_n1}");
    }

    #[test]
    fn promoted_moves_and_bans_name_the_promotable_clone_and_its_role() {
        let text =
            format!("{BASE}[[clone]]\nid = \"db-ha\"\nresource = \"db\"\npromotable = true\n");
        let moved = move_resource(&text, "db", "n2", None, Placement::Promoted).unwrap();
        valid(&moved);
        let doc = parse(&moved).unwrap();
        let loc = &doc["location"]
            .as_array_of_tables()
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(loc["id"].as_str(), Some("cli-prefer-db-ha"));
        assert_eq!(loc["resource"].as_str(), Some("db-ha"));
        assert_eq!(loc["role"].as_str(), Some("Promoted"));
        let banned = ban_resource(&moved, "db-ha", "n1", None, Placement::Promoted).unwrap();
        valid(&banned);
        assert!(banned.contains("cli-ban-db-ha-on-n1"), "{banned}");
        assert!(
            !clear_resource(&banned, "db-ha", true, true)
                .unwrap()
                .contains("[[location]]")
        );
        // Cleared through the primitive it was moved by.
        let cleared = clear_resource_and_its_promoted_role(&banned, "db").unwrap();
        assert!(!cleared.contains("[[location]]"), "{cleared}");
        // A resource that is not promotable has no Promoted role to move.
        assert_eq!(
            move_resource(BASE, "db", "n2", None, Placement::Promoted),
            Err(EditError::NotPromotable("db".into()))
        );
    }

    #[test]
    fn standby_and_properties() {
        let s = set_standby(BASE, "n2", true).unwrap();
        valid(&s);
        let cfg = crate::config::load_config_str(&s, "t").unwrap();
        assert!(cfg.node("n2").unwrap().standby);
        assert!(!set_standby(&s, "n2", false).unwrap().contains("standby"));
        assert_eq!(
            set_standby(BASE, "n9", true),
            Err(EditError::NoSuchNode("n9".into()))
        );
        let p = set_property(BASE, "no-quorum-policy", "ignore").unwrap();
        valid(&p);
        let p = set_property(&p, "stonith-enabled", "false").unwrap();
        let cfg = crate::config::load_config_str(&p, "t").unwrap();
        assert_eq!(cfg.properties.raw["no-quorum-policy"], "ignore");
        assert!(!cfg.properties.stonith_enabled);
    }
}
