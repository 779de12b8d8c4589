//! `cibadmin` as resource-agents' `rabbitmq-cluster` asks it, and nothing
//! more: `cibadmin -Q --xpath` for one transient node attribute on every
//! node (`//node_state//nvpair[@name='NAME']`) or on the nodes whose
//! controller is online (`//node_state[@crmd='online']//nvpair[...]`).
//! The agent keeps its broker's name in such an attribute and greps the
//! `nvpair` lines for the brokers to join. The answer comes from the
//! replicated status (this node's attribute file first for its own), one
//! `nvpair` element a line, wrapped in `<xpath-query>` when there are
//! several, as Pacemaker's cibadmin prints them; no match is Pacemaker's
//! "No such object" (105). paceline keeps no CIB, so any other query is
//! refused with a message naming what is supported.

use std::collections::BTreeMap;
use std::io::Write;

use crate::api::StatusReport;
use crate::executor::agent_env::Attributes;

const EXIT_USAGE: u8 = 64;
/// Pacemaker's CRM_EX_NOSUCH.
const EXIT_NO_SUCH: u8 = 105;
/// Pacemaker's CRM_EX_UNAVAILABLE: the cluster cannot be reached.
const EXIT_UNAVAILABLE: u8 = 69;

/// The one query understood: a transient attribute's nvpairs, of the
/// online nodes only or of all.
#[derive(Debug, PartialEq, Eq)]
struct AttributeQuery {
    name: String,
    online_only: bool,
}

fn parse(args: &[String]) -> Result<AttributeQuery, String> {
    let mut query = false;
    let mut xpath = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-Q" | "--query" => query = true,
            "-A" | "--xpath" => {
                i += 1;
                xpath = args.get(i).cloned();
            }
            a if a.starts_with("--xpath=") => xpath = Some(a["--xpath=".len()..].to_string()),
            // Options that change nothing in the answer here.
            "-l" | "--local" | "-s" | "--sync-call" | "--no-children" => {}
            other => return Err(format!("unsupported option {other}")),
        }
        i += 1;
    }
    let xpath = xpath
        .filter(|_| query)
        .ok_or("only -Q --xpath XPATH is supported")?;
    parse_xpath(&xpath).ok_or_else(|| {
        format!(
            "unsupported xpath {xpath} (supported: //node_state//nvpair[@name='NAME'] and //node_state[@crmd='online']//nvpair[@name='NAME'])"
        )
    })
}

fn parse_xpath(xpath: &str) -> Option<AttributeQuery> {
    let (nodes, rest) = xpath.split_once("//nvpair[@name=")?;
    let online_only = match nodes {
        "//node_state" => false,
        "//node_state[@crmd='online']" | "//node_state[@crmd=\"online\"]" => true,
        _ => return None,
    };
    let quoted = rest.strip_suffix(']')?;
    let name = quoted
        .strip_prefix('\'')
        .and_then(|q| q.strip_suffix('\''))
        .or_else(|| quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')))?;
    (!name.is_empty() && !name.contains(['\'', '"'])).then(|| AttributeQuery {
        name: name.to_string(),
        online_only,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The nvpairs answering `q`: each node's value, this node's from its
/// own attribute file (`local`) when it has one there.
fn matches(
    q: &AttributeQuery,
    report: &StatusReport,
    here: &str,
    local: &Attributes,
) -> Vec<String> {
    let mut values: BTreeMap<&str, &str> = BTreeMap::new();
    for (node, attrs) in &report.node_attributes {
        if let Some(v) = attrs.get(&q.name) {
            values.insert(node, v);
        }
    }
    match local.get(here).and_then(|a| a.get(&q.name)) {
        Some(v) => values.insert(here, v),
        None => values.remove(here),
    };
    let members = &report.membership.members;
    values
        .into_iter()
        .filter(|(node, _)| !q.online_only || members.iter().any(|m| m == node))
        .map(|(node, v)| {
            format!(
                "<nvpair id=\"status-{}-{}\" name=\"{}\" value=\"{}\"/>",
                escape(node),
                escape(&q.name),
                escape(&q.name),
                escape(v)
            )
        })
        .collect()
}

pub fn run(
    args: &[String],
    report: Option<&StatusReport>,
    here: &str,
    local: &Attributes,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let q = match parse(args) {
        Ok(q) => q,
        Err(e) => {
            let _ = writeln!(err, "cibadmin (paceline's shim): {e}");
            return EXIT_USAGE;
        }
    };
    let Some(report) = report else {
        let _ = writeln!(err, "cibadmin: no answer from pacelined (is it running?)");
        return EXIT_UNAVAILABLE;
    };
    let found = matches(&q, report, here, local);
    match found.as_slice() {
        [] => {
            let _ = writeln!(err, "cibadmin: Query failed: No such object");
            EXIT_NO_SUCH
        }
        [one] => {
            let _ = writeln!(out, "{one}");
            0
        }
        many => {
            let _ = writeln!(out, "<xpath-query>");
            for m in many {
                let _ = writeln!(out, "  {m}");
            }
            let _ = writeln!(out, "</xpath-query>");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::fixtures;
    use crate::membership::PeerState;

    const COOKIE: &str = "rmq-node-attr-rabbitmq";

    fn report() -> StatusReport {
        let mut r = fixtures::report(fixtures::membership(
            1,
            &[
                (1, "node1", PeerState::Online),
                (2, "node2", PeerState::Online),
                (3, "node3", PeerState::Offline),
            ],
            &["node1", "node2"],
            fixtures::quorum(true, 2, 3, 2),
        ));
        for (node, broker) in [
            ("node2", "rabbit@198.18.0.2"),
            ("node3", "rabbit@198.18.0.3"),
        ] {
            r.node_attributes
                .entry(node.into())
                .or_default()
                .insert(COOKIE.into(), broker.into());
        }
        r
    }

    fn call(xpath: &str, local: &Attributes) -> (u8, String) {
        let args: Vec<String> = ["-Q", "--xpath", xpath].map(String::from).to_vec();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let rc = run(&args, Some(&report()), "node1", local, &mut out, &mut err);
        (rc, String::from_utf8_lossy(&out).into_owned())
    }

    /// The agent's pipeline: `grep NAME | sed -n -e "s/^.*value=.\(.*\)\".*$/\1/p"`.
    fn values(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(COOKIE))
            .filter_map(|l| {
                let v = &l[l.find("value=")? + "value=".len() + 1..];
                Some(v[..v.rfind('"')?].to_string())
            })
            .collect()
    }

    /// rabbitmq-cluster's join list: the brokers of the online nodes; its
    /// fallback, every node that named one. This node's own attribute
    /// comes from its file (replication may lag behind its agent).
    #[test]
    fn the_rabbitmq_join_list_is_the_online_nodes_brokers() {
        let online = format!("//node_state[@crmd='online']//nvpair[@name='{COOKIE}']");
        let all = format!("//node_state//nvpair[@name='{COOKIE}']");
        let none = Attributes::new();
        let (rc, text) = call(&online, &none);
        assert_eq!((rc, values(&text)), (0, vec!["rabbit@198.18.0.2".into()]));
        let (rc, text) = call(&all, &none);
        assert_eq!(rc, 0);
        assert_eq!(values(&text), ["rabbit@198.18.0.2", "rabbit@198.18.0.3"]);
        assert!(text.starts_with("<xpath-query>\n"), "{text}");
        let mut mine = Attributes::new();
        mine.entry("node1".into())
            .or_default()
            .insert(COOKIE.into(), "rabbit@198.18.0.1".into());
        assert_eq!(
            values(&call(&online, &mine).1),
            ["rabbit@198.18.0.1", "rabbit@198.18.0.2"]
        );
        let other = format!("//node_state[@crmd='online']//nvpair[@name='{COOKIE}x']");
        assert_eq!(call(&other, &none), (EXIT_NO_SUCH, String::new()));
    }

    #[test]
    fn any_other_query_is_refused() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        for args in [
            vec!["-Q"],
            vec!["-Q", "--xpath", "//resources"],
            vec!["-R", "--xml-text", "<cib/>"],
        ] {
            let args: Vec<String> = args.into_iter().map(String::from).collect();
            let rc = run(
                &args,
                Some(&report()),
                "node1",
                &Attributes::new(),
                &mut out,
                &mut err,
            );
            assert_eq!(rc, EXIT_USAGE, "{args:?}");
        }
    }
}
