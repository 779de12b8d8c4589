//! `cluster node add|remove`: the `[[node]]` tables, and `[quorum]
//! two_node` kept true only for two nodes (votequorum's rule, which the
//! loader enforces; pcs drops and sets it the same way on node add/remove).

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};

use super::{EditError, parse};

fn nodes(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, EditError> {
    doc.entry("node")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or(EditError::NotAnArray("node"))
}

fn name_of(t: &Table) -> Option<&str> {
    t.get("name").and_then(Item::as_str)
}

/// An explicit `two_node = true` is removed when the cluster will not
/// have two nodes; what is not written follows the node count.
fn fix_two_node(doc: &mut DocumentMut, count: usize) {
    if count == 2 {
        return;
    }
    if let Some(q) = doc.get_mut("quorum").and_then(Item::as_table_mut)
        && q.get("two_node").and_then(Item::as_bool) == Some(true)
    {
        q.remove("two_node");
    }
}

/// `cluster node add NAME ADDR[,ADDR2]`: a `[[node]]` with the next free
/// id and one address per link, in the order of the links.
pub fn add_node(text: &str, name: &str, links: &[String]) -> Result<String, EditError> {
    if name.is_empty() || links.is_empty() || links.iter().any(String::is_empty) {
        return Err(EditError::Invalid(format!(
            "a node needs a name and one address per link (NAME=ADDR[,ADDR2]), got `{name}`"
        )));
    }
    let mut doc = parse(text)?;
    let list = nodes(&mut doc)?;
    if list.iter().any(|t| name_of(t) == Some(name)) {
        return Err(EditError::Exists(name.to_string()));
    }
    let id = list
        .iter()
        .filter_map(|t| t.get("id").and_then(Item::as_integer))
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    let mut t = Table::new();
    t["name"] = value(name);
    t["id"] = value(id);
    t["links"] = value(links.iter().map(String::as_str).collect::<Array>());
    list.push(t);
    let count = list.len();
    fix_two_node(&mut doc, count);
    Ok(doc.to_string())
}

/// `cluster node remove NAME`: its `[[node]]` table (constraints or
/// fencing levels naming it are left for the loader to report).
pub fn remove_node(text: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let list = nodes(&mut doc)?;
    let index = list
        .iter()
        .position(|t| name_of(t) == Some(name))
        .ok_or_else(|| EditError::NoSuchNode(name.to_string()))?;
    list.remove(index);
    let count = list.len();
    fix_two_node(&mut doc, count);
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "[cluster]\nname = \"c\"\n[quorum]\ntwo_node = true # two\n\n# the nodes\n[[node]]\nname = \"node1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n\n[[node]]\nname = \"node2\"\nid = 2\nlinks = [\"198.18.0.2\"]\n";

    #[test]
    fn a_third_node_takes_the_next_id_and_drops_two_node() {
        let out = add_node(TWO, "node3", &["198.18.0.3".into(), "198.18.1.3".into()]).unwrap();
        assert!(
            out.contains("name = \"node3\"\nid = 3\nlinks = [\"198.18.0.3\", \"198.18.1.3\"]"),
            "{out}"
        );
        assert!(!out.contains("two_node"), "{out}");
        assert!(out.contains("# the nodes"), "{out}");
        assert_eq!(
            add_node(TWO, "node2", &["198.18.0.9".into()]),
            Err(EditError::Exists("node2".into()))
        );
    }

    #[test]
    fn removing_a_node_keeps_the_others_and_two_node_for_two() {
        let three = add_node(TWO, "node3", &["198.18.0.3".into()]).unwrap();
        let out = remove_node(&three, "node3").unwrap();
        assert!(!out.contains("node3") && out.contains("node2"), "{out}");
        let out = remove_node(TWO, "node2").unwrap();
        assert!(!out.contains("two_node") && !out.contains("node2"), "{out}");
        assert_eq!(
            remove_node(TWO, "node9"),
            Err(EditError::NoSuchNode("node9".into()))
        );
    }
}
