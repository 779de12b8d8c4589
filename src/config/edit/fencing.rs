//! `fencing device add|remove` and `fencing level add|remove`: the
//! `[[fencing.device]]` and `[[fencing.level]]` tables.

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, value};

use super::{EditError, parse, set_in, typed};

/// `[fencing]`'s array `key` (`device`, `level`), created if missing.
fn fencing_array<'a>(
    doc: &'a mut DocumentMut,
    key: &'static str,
) -> Result<&'a mut ArrayOfTables, EditError> {
    let fencing = doc
        .entry("fencing")
        .or_insert(Item::Table(Table::new()))
        .as_table_mut()
        .ok_or(EditError::NotAnArray("fencing"))?;
    fencing
        .entry(key)
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or(EditError::NotAnArray("fencing"))
}

fn str_of<'a>(t: &'a Table, key: &str) -> Option<&'a str> {
    t.get(key).and_then(Item::as_str)
}

/// `fencing device add ID --type TYPE [--set K=V]... [--param K=V]...`:
/// `settings` are the device's own keys (url, host, username,
/// password_file, timeout, …), `params` a fence agent's parameters.
pub fn add_device(
    text: &str,
    id: &str,
    kind: &str,
    settings: &[(String, String)],
    params: &[(String, String)],
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let devices = fencing_array(&mut doc, "device")?;
    if devices.iter().any(|d| str_of(d, "id") == Some(id)) {
        return Err(EditError::Exists(id.to_string()));
    }
    let mut t = Table::new();
    t["id"] = value(id);
    t["type"] = value(kind);
    for (k, v) in settings {
        t[k.as_str()] = typed(v);
    }
    if !params.is_empty() {
        let mut p = InlineTable::new();
        for (k, v) in params {
            if let Ok(v) = typed(v).into_value() {
                p.insert(k, v);
            }
        }
        t["params"] = value(p);
    }
    devices.push(t);
    Ok(doc.to_string())
}

/// `fencing device update ID [--set K=V]... [--param K=V]...` (pcs
/// stonith update): sets the device's own keys and a fence agent's
/// parameters; an empty value removes the key. The id stays (the levels
/// name it).
pub fn update_device(
    text: &str,
    id: &str,
    settings: &[(String, String)],
    params: &[(String, String)],
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let devices = fencing_array(&mut doc, "device")?;
    let device = devices
        .iter_mut()
        .find(|d| str_of(d, "id") == Some(id))
        .ok_or_else(|| EditError::NoSuchDevice(id.to_string()))?;
    for (k, v) in settings {
        match (k.as_str(), v.is_empty()) {
            ("id", _) => {
                return Err(EditError::Invalid(format!(
                    "the id of device `{id}` cannot change (its levels name it): add a new device and move the levels"
                )));
            }
            ("params", _) => {
                return Err(EditError::Invalid(
                    "a fence agent's parameters are set with --param NAME=VALUE".into(),
                ));
            }
            (_, true) => {
                device.remove(k);
            }
            (_, false) => device[k.as_str()] = typed(v),
        }
    }
    for (k, v) in params {
        set_in(device, "params", k, (!v.is_empty()).then_some(v.as_str()))?;
    }
    Ok(doc.to_string())
}

/// `fencing device remove ID`: refused while a level uses it (remove the
/// level first: a node left without a level could not be fenced).
pub fn remove_device(text: &str, id: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let used: Vec<String> = fencing_array(&mut doc, "level")?
        .iter()
        .filter(|l| {
            l.get("devices")
                .and_then(Item::as_array)
                .is_some_and(|a| a.iter().any(|d| d.as_str() == Some(id)))
        })
        .map(|l| {
            format!(
                "{} index {}",
                str_of(l, "target").unwrap_or("?"),
                l.get("index").and_then(Item::as_integer).unwrap_or(0)
            )
        })
        .collect();
    if !used.is_empty() {
        return Err(EditError::Invalid(format!(
            "device `{id}` is used by the fencing level(s) {}: remove them first (`paceline fencing level remove NODE INDEX`)",
            used.join(", ")
        )));
    }
    let devices = fencing_array(&mut doc, "device")?;
    let before = devices.len();
    devices.retain(|d| str_of(d, "id") != Some(id));
    if devices.len() == before {
        return Err(EditError::NoSuchDevice(id.to_string()));
    }
    Ok(doc.to_string())
}

/// `fencing level add NODE INDEX DEVICE...`.
pub fn add_level(
    text: &str,
    target: &str,
    index: i64,
    devices: &[String],
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let levels = fencing_array(&mut doc, "level")?;
    if levels.iter().any(|l| {
        str_of(l, "target") == Some(target)
            && l.get("index").and_then(Item::as_integer) == Some(index)
    }) {
        return Err(EditError::Exists(format!(
            "fencing level {index} of {target}"
        )));
    }
    let mut t = Table::new();
    t["target"] = value(target);
    t["index"] = value(index);
    t["devices"] = value(devices.iter().map(String::as_str).collect::<Array>());
    levels.push(t);
    Ok(doc.to_string())
}

/// `fencing level remove NODE INDEX`.
pub fn remove_level(text: &str, target: &str, index: i64) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let levels = fencing_array(&mut doc, "level")?;
    let before = levels.len();
    levels.retain(|l| {
        !(str_of(l, "target") == Some(target)
            && l.get("index").and_then(Item::as_integer) == Some(index))
    });
    if levels.len() == before {
        return Err(EditError::NoSuchLevel(target.to_string(), index));
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[cluster]\nname = \"c\"\n[fencing]\nenabled = true # on\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[node]]\nname = \"n2\"\nid = 2\nlinks = [\"198.18.0.2\"]\n";

    fn fencing_of(text: &str) -> paceline_fencing::config::FencingSection {
        crate::config::load_fencing_str(text, "t.toml")
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .section
            .expect("[fencing]")
    }

    #[test]
    fn devices_and_levels_are_added_and_removed() {
        let s = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut t = BASE.to_string();
        for n in ["n1", "n2"] {
            t = add_device(
                &t,
                &format!("bmc-{n}"),
                "agent",
                &s(&[("agent", "fence_dummy"), ("timeout", "5s")]),
                &s(&[("type", "file"), ("status_file", "/tmp/x")]),
            )
            .unwrap();
            t = add_level(&t, n, 1, &[format!("bmc-{n}")]).unwrap();
        }
        assert!(t.contains("# on"), "{t}");
        let f = fencing_of(&t);
        assert_eq!((f.devices.len(), f.levels_for("n2").len()), (2, 1));
        assert!(matches!(
            add_level(&t, "n1", 1, &[]),
            Err(EditError::Exists(_))
        ));
        assert!(matches!(
            remove_device(&t, "bmc-n1"),
            Err(EditError::Invalid(_))
        ));
        let updated = update_device(
            &t,
            "bmc-n2",
            &s(&[("timeout", "9s"), ("delay", "")]),
            &s(&[("status_file", "/tmp/y"), ("type", "")]),
        )
        .unwrap();
        assert!(
            updated.contains("timeout = \"9s\"") && updated.contains("status_file = \"/tmp/y\""),
            "{updated}"
        );
        assert!(!updated.contains("type = \"file\"}"), "{updated}");
        assert!(updated.contains("# on"), "{updated}");
        assert_eq!(fencing_of(&updated).devices.len(), 2);
        assert_eq!(
            update_device(&t, "x", &[], &[]),
            Err(EditError::NoSuchDevice("x".into()))
        );
        assert!(matches!(
            update_device(&t, "bmc-n2", &s(&[("id", "b")]), &[]),
            Err(EditError::Invalid(_))
        ));
        let t = remove_level(&t, "n1", 1).unwrap();
        let t = remove_device(&t, "bmc-n1").unwrap();
        let f = fencing_of(&t);
        assert_eq!((f.devices.len(), f.levels_for("n1").len()), (1, 0));
        assert_eq!(
            remove_level(&t, "n1", 1),
            Err(EditError::NoSuchLevel("n1".into(), 1))
        );
        assert_eq!(
            remove_device(&t, "x"),
            Err(EditError::NoSuchDevice("x".into()))
        );
    }
}
