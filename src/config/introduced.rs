//! Which protocol version introduced each section or setting newer than
//! release 0.1.0 (protocol version 4), and the check that keeps a
//! configuration a member's release cannot read out of a mixed cluster.
//!
//! Why: release 0.1.0's reader refuses what it does not know
//! (`deny_unknown_fields`), so a configuration using `[http]` loaded while
//! a 0.1.0 node is a member would leave that node without a configuration
//! it can load. A view speaks the highest protocol version every member
//! speaks (`Membership::protocol_version`); a setting introduced with a
//! newer version is refused until every member speaks it, as Pacemaker
//! refuses a CIB feature newer than the lowest `feature-set` of the
//! cluster's nodes until the last one is upgraded.
//!
//! How to add a setting: one row in [`INTRODUCED`] with the new
//! `PROTOCOL_VERSION` (bump it if this release has not yet); a test below
//! fails while a top-level section of `Document` is neither in release
//! 0.1.0's list nor in the table.

/// A section or setting the previous release does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Introduced {
    /// Its path in the TOML document: a top-level key (`http`, `alert`)
    /// or a dotted one (`membership.some_setting`); a path through an
    /// array of tables matches in any of its tables.
    pub path: &'static str,
    /// How it is written in the file, for messages (`[http]`).
    pub written: &'static str,
    /// The protocol version whose releases read it.
    pub version: u8,
}

/// Every section and setting added since release 0.1.0 (commit 348a1ca,
/// protocol version 4), oldest first.
pub const INTRODUCED: &[Introduced] = &[
    Introduced {
        path: "http",
        written: "[http]",
        version: 5,
    },
    Introduced {
        path: "alert",
        written: "[[alert]]",
        version: 5,
    },
    Introduced {
        path: "quorum.witness",
        written: "[quorum] witness",
        version: 5,
    },
    Introduced {
        path: "site",
        written: "[site]",
        version: 5,
    },
    Introduced {
        path: "ticket",
        written: "[[ticket]]",
        version: 5,
    },
];

/// The rows of [`INTRODUCED`] that `text` uses and protocol version
/// `speaks` does not read. A text that does not parse as TOML uses none
/// (the configuration's own check reports it).
pub fn newer_than(text: &str, speaks: u8) -> Vec<&'static Introduced> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    INTRODUCED
        .iter()
        .filter(|i| i.version > speaks && uses(&doc, i.path))
        .collect()
}

/// `path` (dotted) is set in `table`, in any table of an array on the way.
fn uses(table: &toml::Table, path: &str) -> bool {
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    match (table.get(head), rest) {
        (None, _) => false,
        (Some(_), "") => true,
        (Some(toml::Value::Table(t)), rest) => uses(t, rest),
        (Some(toml::Value::Array(items)), rest) => items.iter().any(|v| match v {
            toml::Value::Table(t) => uses(t, rest),
            _ => false,
        }),
        (Some(_), _) => false,
    }
}

/// Why a configuration using `newer` is refused while the view speaks
/// `speaks` because of `older` (the members' names that speak no newer).
pub fn refusal(newer: &[&Introduced], speaks: u8, older: &[String]) -> String {
    let settings: Vec<&str> = newer.iter().map(|i| i.written).collect();
    let needs = newer.iter().map(|i| i.version).max().unwrap_or(speaks);
    let who = if older.is_empty() {
        "a member".to_string()
    } else {
        older.join(", ")
    };
    format!(
        "refused: the configuration uses {} (protocol version {needs}), which {who} cannot read: \
         it runs an older release (the cluster speaks protocol version {speaks}). \
         Finish the upgrade first (upgrade {who}, then load it again), or leave {} out until then",
        settings.join(" and "),
        settings.join(" and "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Release 0.1.0's top-level sections (its `Document`, commit 348a1ca).
    const RELEASE_0_1_SECTIONS: &[&str] = &[
        "failover_budget",
        "cluster",
        "membership",
        "quorum",
        "fencing",
        "properties",
        "rsc_defaults",
        "op_defaults",
        "node",
        "primitive",
        "group",
        "clone",
        "location",
        "colocation",
        "order",
    ];

    const HTTP: &str = "[cluster]\nname = \"c\"\n\n[http]\nlisten = \"127.0.0.1:8080\"\n";

    #[test]
    fn a_section_newer_than_the_view_is_named() {
        let names = |text: &str, v: u8| -> Vec<&str> {
            newer_than(text, v).iter().map(|i| i.written).collect()
        };
        assert_eq!(names(HTTP, 4), ["[http]"]);
        assert!(names(HTTP, 5).is_empty());
        let alert = "[[alert]]\nid = \"a\"\npath = \"/bin/true\"\n";
        assert_eq!(names(&format!("{HTTP}{alert}"), 4), ["[http]", "[[alert]]"]);
        assert!(names("[cluster]\nname = \"c\"\n", 4).is_empty());
        assert!(names("not = [toml", 4).is_empty());
    }

    #[test]
    fn a_dotted_path_is_found_in_tables_and_arrays_of_tables() {
        let doc: toml::Table = "[membership]\nport = 1\n[[primitive]]\nid = \"x\"\n[[primitive]]\nid = \"y\"\nclass = \"ocf\"\n"
            .parse()
            .unwrap();
        assert!(uses(&doc, "membership.port"));
        assert!(!uses(&doc, "membership.heartbeat"));
        assert!(uses(&doc, "primitive.class"));
        assert!(!uses(&doc, "primitive.provider"));
        assert!(!uses(&doc, "membership.port.deeper"));
    }

    #[test]
    fn the_refusal_names_the_setting_the_members_and_the_fix() {
        let newer = newer_than(HTTP, 4);
        let message = refusal(&newer, 4, &["node1".into()]);
        for part in [
            "[http]",
            "node1",
            "protocol version 4",
            "Finish the upgrade first",
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }
    }

    /// Every top-level section this build reads is release 0.1.0's or has
    /// a row in [`INTRODUCED`] (read from the reader's own list of fields,
    /// which serde gives in the error for an unknown one).
    #[test]
    fn every_section_newer_than_release_0_1_is_in_the_table() {
        let err = toml::from_str::<super::super::document::Document>("zz_unknown = 1\n")
            .unwrap_err()
            .to_string();
        let expected = err.split("expected one of").nth(1).expect(&err);
        let fields: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        assert!(
            fields.contains(&"cluster") && fields.contains(&"http"),
            "{err}"
        );
        for field in fields {
            let known =
                RELEASE_0_1_SECTIONS.contains(&field) || INTRODUCED.iter().any(|i| i.path == field);
            assert!(known, "section `{field}` is missing from INTRODUCED");
        }
        // Release 0.1.0 speaks 4; a row at 4 or below would gate nothing.
        assert!(INTRODUCED.iter().all(|row| row.version > 4));
    }
}
