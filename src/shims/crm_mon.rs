//! The `crm_mon -1` that Pacemaker-aware agents parse: PostgreSQL's `pgsql`
//! agent greps `crm_mon -1 --output-as=xml` for the node holding the
//! promoted instance and for whether a peer is online. The answer is
//! rendered from pacelined's status report, in the element and attribute
//! order of Pacemaker's own XML (agents match it with line regexes).

use std::fmt::Write as _;
use std::io::Write;

use crate::api::StatusReport;
use crate::membership::PeerState;

const EXIT_USAGE: u8 = 64;
/// Pacemaker's CRM_EX_UNAVAILABLE: the cluster cannot be reached.
const EXIT_UNAVAILABLE: u8 = 69;

#[derive(Debug, PartialEq, Eq)]
enum Format {
    Text,
    Xml,
}

fn parse(args: &[String]) -> Result<Format, String> {
    let mut format = Format::Text;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        match arg {
            "--as-xml" | "-X" => format = Format::Xml,
            "--output-as=xml" => format = Format::Xml,
            "--output-as=text" => format = Format::Text,
            "--output-as" => {
                i += 1;
                format = match args.get(i).map(String::as_str) {
                    Some("xml") => Format::Xml,
                    Some("text") => Format::Text,
                    other => {
                        return Err(format!(
                            "crm_mon: --output-as takes xml or text, not {}",
                            other.unwrap_or("nothing")
                        ));
                    }
                }
            }
            // One-shot is the only mode an agent can use; the rest only
            // add sections that are always shown here.
            "-1" | "--one-shot" | "-r" | "--inactive" | "-A" | "--show-detail" | "-n"
            | "--group-by-node" | "-f" | "--failcounts" | "-Q" | "--quiet" => {}
            s if s.starts_with('-') && s.chars().skip(1).all(|c| "1rAnfQ".contains(c)) => {}
            other => {
                return Err(format!(
                    "crm_mon: unsupported option {other} (supported: -1, -r, -A, -n, -f, --output-as=xml|text, --as-xml)"
                ));
            }
        }
        i += 1;
    }
    Ok(format)
}

/// Runs the shim with the report pacelined answered (None: not running).
pub fn run(
    args: &[String],
    report: Option<&StatusReport>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let format = match parse(args) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return EXIT_USAGE;
        }
    };
    let Some(report) = report else {
        let _ = writeln!(
            err,
            "crm_mon: pacelined does not answer (is it running? PACELINE_SOCKET names its socket)"
        );
        return EXIT_UNAVAILABLE;
    };
    let text = match format {
        Format::Xml => render_xml(report),
        Format::Text => render_text(report),
    };
    let _ = out.write_all(text.as_bytes());
    0
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn node_id(report: &StatusReport, name: &str) -> String {
    report
        .membership
        .nodes
        .iter()
        .find(|n| n.name == name)
        .map(|n| n.id.to_string())
        .unwrap_or_default()
}

pub fn render_xml(report: &StatusReport) -> String {
    let m = &report.membership;
    let mut x = String::new();
    let _ = writeln!(x, r#"<?xml version="1.0"?>"#);
    let _ = writeln!(
        x,
        r#"<pacemaker-result api-version="2.30" request="crm_mon -1 --output-as=xml">"#
    );
    let _ = writeln!(x, "  <summary>");
    let _ = writeln!(x, r#"    <stack type="paceline"/>"#);
    match &report.dc {
        Some(dc) => {
            let _ = writeln!(
                x,
                r#"    <current_dc present="true" name="{}" id="{}" with_quorum="{}"/>"#,
                escape(dc),
                node_id(report, dc),
                m.quorum.quorate
            );
        }
        None => {
            let _ = writeln!(x, r#"    <current_dc present="false"/>"#);
        }
    }
    let _ = writeln!(x, r#"    <nodes_configured number="{}"/>"#, m.nodes.len());
    let _ = writeln!(x, "  </summary>");
    let _ = writeln!(x, "  <nodes>");
    for n in &m.nodes {
        let online = n.state == PeerState::Online && m.members.contains(&n.name);
        let running = report
            .resources
            .iter()
            .filter(|r| r.nodes.contains(&n.name))
            .count();
        let _ = writeln!(
            x,
            r#"    <node name="{name}" id="{id}" online="{online}" standby="{standby}" standby_onfail="false" maintenance="{maint}" pending="false" unclean="false" shutdown="{shutdown}" expected_up="{online}" is_dc="{dc}" resources_running="{running}" type="member"/>"#,
            name = escape(&n.name),
            id = n.id,
            standby = report.standby.contains(&n.name),
            maint = report.maintenance.contains(&n.name),
            shutdown = n.state == PeerState::Left,
            dc = report.dc.as_deref() == Some(n.name.as_str()),
        );
    }
    let _ = writeln!(x, "  </nodes>");
    let _ = writeln!(x, "  <resources>");
    for r in &report.resources {
        // An operation in flight keeps the role it has until it is done
        // (what an agent's check for role="Promoted" must see), and is
        // named in `pending`, as crm_mon does.
        // A FAILED instance keeps its role, marked failed="true", as
        // Pacemaker's (pgsql's standby greps for role="Promoted").
        let failed = r.role == "FAILED";
        let (role, pending) = match r.role.as_str() {
            "Starting" | "Stopping" => ("Started", Some(r.role.as_str())),
            "Promoting" => ("Unpromoted", Some("Promoting")),
            "Demoting" => ("Promoted", Some("Demoting")),
            "FAILED" => (r.failed_role.as_deref().unwrap_or("Started"), None),
            role => (role, None),
        };
        let common = format!(
            r#"id="{}" resource_agent="{}" role="{}"{}"#,
            escape(&r.id),
            escape(&r.agent),
            escape(role),
            pending
                .map(|p| format!(r#" pending="{p}""#))
                .unwrap_or_default()
        );
        if r.nodes.is_empty() {
            let _ = writeln!(
                x,
                r#"    <resource {common} active="false" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="0"/>"#
            );
            continue;
        }
        // One element per running instance, as Pacemaker lists clone
        // instances: an agent's line regex sees the role and its node.
        for node in &r.nodes {
            let _ = writeln!(
                x,
                r#"    <resource {common} active="true" orphaned="false" blocked="false" managed="true" failed="{failed}" failure_ignored="false" nodes_running_on="1">"#
            );
            let _ = writeln!(
                x,
                r#"      <node name="{}" id="{}" cached="true"/>"#,
                escape(node),
                node_id(report, node)
            );
            let _ = writeln!(x, "    </resource>");
        }
    }
    let _ = writeln!(x, "  </resources>");
    let _ = writeln!(x, "  <node_attributes>");
    for (node, attrs) in &report.node_attributes {
        let _ = writeln!(x, r#"    <node name="{}">"#, escape(node));
        for (k, v) in attrs {
            let _ = writeln!(
                x,
                r#"      <attribute name="{}" value="{}"/>"#,
                escape(k),
                escape(v)
            );
        }
        let _ = writeln!(x, "    </node>");
    }
    let _ = writeln!(x, "  </node_attributes>");
    render_fence_history(&mut x, report);
    let _ = writeln!(x, r#"  <status code="0" message="OK"/>"#);
    let _ = writeln!(x, "</pacemaker-result>");
    x
}

/// crm_mon's `<fence_history>`: one `<fence_event>` per record, newest
/// first, status success or failed (with the reason as exit-reason).
fn render_fence_history(x: &mut String, report: &StatusReport) {
    if report.fencing_history.is_empty() {
        return;
    }
    let _ = writeln!(x, "  <fence_history>");
    for f in &report.fencing_history {
        let status = if f.result == "ok" {
            r#"status="success""#.to_string()
        } else {
            format!(r#"status="failed" exit-reason="{}""#, escape(&f.detail))
        };
        let delegate = f
            .delegate
            .as_deref()
            .map(|d| format!(r#" delegate="{}""#, escape(d)))
            .unwrap_or_default();
        let _ = writeln!(
            x,
            r#"    <fence_event action="{}" target="{}" client="{}" origin="{}" {status}{delegate} completed="{}"/>"#,
            escape(&f.action),
            escape(&f.target),
            escape(f.client.as_deref().unwrap_or("")),
            escape(f.origin.as_deref().unwrap_or(&report.membership.node)),
            escape(&f.at)
        );
    }
    let _ = writeln!(x, "  </fence_history>");
}

pub fn render_text(report: &StatusReport) -> String {
    let m = &report.membership;
    let mut t = String::new();
    let _ = writeln!(t, "Cluster Summary:");
    let _ = writeln!(t, "  * Stack: paceline");
    let _ = writeln!(
        t,
        "  * Current DC: {} - partition {} quorum",
        report.dc.as_deref().unwrap_or("NONE"),
        if m.quorum.quorate { "with" } else { "WITHOUT" }
    );
    let online: Vec<&str> = m
        .nodes
        .iter()
        .filter(|n| n.state == PeerState::Online && m.members.contains(&n.name))
        .map(|n| n.name.as_str())
        .collect();
    let offline: Vec<&str> = m
        .nodes
        .iter()
        .filter(|n| !online.contains(&n.name.as_str()))
        .map(|n| n.name.as_str())
        .collect();
    let _ = writeln!(t, "\nNode List:");
    let _ = writeln!(t, "  * Online: [ {} ]", online.join(" "));
    if !offline.is_empty() {
        let _ = writeln!(t, "  * OFFLINE: [ {} ]", offline.join(" "));
    }
    let _ = writeln!(t, "\nFull List of Resources:");
    for r in &report.resources {
        // crm_mon's "FAILED Promoted node1".
        let role = match &r.failed_role {
            Some(was) if r.role == "FAILED" => format!("FAILED {was}"),
            _ => r.role.clone(),
        };
        let _ = writeln!(
            t,
            "  * {}\t({}):\t {} {}",
            r.id,
            r.agent,
            role,
            r.nodes.join(" ")
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ResourceView, fixtures};

    fn report() -> StatusReport {
        let membership = fixtures::membership(
            3,
            &[
                (1, "node1", PeerState::Offline),
                (2, "node2", PeerState::Online),
            ],
            &["node2"],
            fixtures::quorum(true, 1, 2, 1),
        );
        StatusReport {
            resources: vec![
                ResourceView {
                    id: "pgsql".into(),
                    agent: "ocf:heartbeat:pgsql".into(),
                    role: "Promoted".into(),
                    nodes: vec!["node2".into()],
                    ..Default::default()
                },
                ResourceView {
                    id: "vip".into(),
                    agent: "builtin:ipaddr".into(),
                    role: "Stopped".into(),
                    nodes: Vec::new(),
                    ..Default::default()
                },
            ],
            node_attributes: [(
                "node2".to_string(),
                [("master-pgsql".to_string(), "1000".to_string())].into(),
            )]
            .into(),
            ..fixtures::report(membership)
        }
    }

    fn call(args: &[&str], report: Option<&StatusReport>) -> (u8, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let rc = run(&args, report, &mut out, &mut err);
        (
            rc,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    /// The line regexes of resource-agents' pgsql, applied as it applies
    /// them (grep -E over the whole output).
    #[test]
    fn pgsql_finds_the_promoted_instance_and_online_nodes_in_the_xml() {
        let r = report();
        let (rc, xml, _) = call(&["-1", "--output-as=xml"], Some(&r));
        assert_eq!(rc, 0);
        let promoted = regex_line(&xml, r#"<resource id="pgsql" "#, r#" role="Promoted""#);
        assert!(promoted, "{xml}");
        assert!(regex_line(
            &xml,
            r#"<node name="node2" "#,
            r#" online="true""#
        ));
        assert!(!regex_line(
            &xml,
            r#"<node name="node1" "#,
            r#" online="true""#
        ));
        assert!(xml.contains(r#"<attribute name="master-pgsql" value="1000"/>"#));
        assert!(
            xml.contains(r#"<resource id="vip" resource_agent="builtin:ipaddr" role="Stopped""#)
        );
    }

    /// A FAILED instance keeps its role: pgsql's standby, grepping for
    /// role="Promoted" on a probe, knows a primary exists (before:
    /// role="FAILED", and it claimed the promotion; bench/chaos --stack
    /// pgsql, seed 98 at start).
    #[test]
    fn a_failed_promoted_instance_is_promoted_and_failed_in_the_xml() {
        let mut r = report();
        r.resources[0].role = "FAILED".into();
        r.resources[0].failed_role = Some("Promoted".into());
        let (rc, xml, _) = call(&["-1", "--output-as=xml"], Some(&r));
        assert_eq!(rc, 0);
        assert!(
            regex_line(&xml, r#"<resource id="pgsql" "#, r#" role="Promoted""#),
            "{xml}"
        );
        assert!(
            regex_line(&xml, r#"<resource id="pgsql" "#, r#" failed="true""#),
            "{xml}"
        );
        let (_, text, _) = call(&["-1"], Some(&r));
        assert!(text.contains("FAILED Promoted node2"), "{text}");
    }

    #[test]
    fn the_xml_lists_the_fencing_history_as_fence_events() {
        let mut r = report();
        let view = |result: &str, at: &str, detail: &str| crate::api::FenceView {
            target: "node1".into(),
            action: "reboot".into(),
            device: String::new(),
            result: result.into(),
            at: at.into(),
            completed: None,
            delegate: Some("node2".into()),
            origin: Some("node2".into()),
            client: Some("controller".into()),
            detail: detail.into(),
            attempts: 1,
            first_at: at.into(),
            elapsed_ms: None,
            source: "cluster".into(),
        };
        let (_, xml, _) = call(&["-1", "--output-as=xml"], Some(&r));
        assert!(!xml.contains("fence_history"), "nothing to list: {xml}");
        r.fencing_history = vec![
            view("ok", "2026-12-01 18:40:05Z", "fenced at level 1"),
            view("failed", "2026-12-01 18:40:00Z", "ipmi: \"timed out\""),
        ];
        let (rc, xml, _) = call(&["-1", "--output-as=xml"], Some(&r));
        assert_eq!(rc, 0);
        assert!(xml.contains(
            r#"<fence_event action="reboot" target="node1" client="controller" origin="node2" status="success" delegate="node2" completed="2026-12-01 18:40:05Z"/>"#
        ), "{xml}");
        assert!(xml.contains(
            r#"status="failed" exit-reason="ipmi: &quot;timed out&quot;" delegate="node2" completed="2026-12-01 18:40:00Z"/>"#
        ), "{xml}");
        let (open, success, close) = (
            xml.find("<fence_history>").unwrap(),
            xml.find(r#"status="success""#).unwrap(),
            xml.find("</fence_history>").unwrap(),
        );
        assert!(open < success && success < close);
        assert!(close < xml.find("<status code=").unwrap());
    }

    /// `grep "<prefix>.*<suffix>"` on one line.
    fn regex_line(text: &str, prefix: &str, suffix: &str) -> bool {
        text.lines().any(|l| {
            l.find(prefix)
                .is_some_and(|at| l[at + prefix.len() - 1..].contains(suffix))
        })
    }

    #[test]
    fn text_and_errors() {
        let r = report();
        let (rc, text, _) = call(&["-1"], Some(&r));
        assert_eq!(rc, 0);
        assert!(text.contains("Online: [ node2 ]") && text.contains("OFFLINE: [ node1 ]"));
        assert!(text.contains("pgsql\t(ocf:heartbeat:pgsql):\t Promoted node2"));
        let (rc, _, err) = call(&["-1", "--bogus"], Some(&r));
        assert_eq!(rc, EXIT_USAGE);
        assert!(err.contains("--bogus"));
        let (rc, _, err) = call(&["-1", "--as-xml"], None);
        assert_eq!(rc, EXIT_UNAVAILABLE);
        assert!(err.contains("pacelined"));
    }
}
