//! `paceline ticket` on a live one-node daemon (crm_ticket's semantics):
//! a resource tied to a ticket starts only once it is granted; standby
//! stops it gracefully; revoking needs --force and applies the
//! loss-policy. Real pacelined on loopback with the Dummy agent.

use paceline::api::StatusReport;

#[path = "local/mod.rs"]
mod local;

use local::Lone;

fn started(r: &StatusReport) -> bool {
    r.resources
        .iter()
        .any(|v| v.id == "db" && v.role == "Started" && v.nodes == ["node1"])
}

fn stopped(r: &StatusReport) -> bool {
    !r.resources
        .iter()
        .any(|v| v.id == "db" && !v.nodes.is_empty())
}

fn ticket_line(d: &Lone) -> String {
    d.ok(&["ticket", "list"])
}

#[test]
fn a_ticket_grants_revokes_and_stands_by_its_resources() {
    let d = Lone::start("pltk");
    let file = d.dir.join("with-ticket.toml");
    let text = format!(
        "{}\n[[primitive]]\nid = \"db\"\nagent = \"ocf:heartbeat:Dummy\"\n\n\
         [[ticket]]\nid = \"db-east\"\nticket = \"east\"\nresources = [\"db\"]\n",
        d.config()
    );
    std::fs::write(&file, text).unwrap();
    d.ok(&["configure", "load", file.to_str().unwrap()]);
    d.until("db probed and left stopped", |r| {
        stopped(r) && r.dc_idle == Some(true)
    });
    assert!(ticket_line(&d).starts_with("east\trevoked\tneeded by: db (stop)"));

    // crm_ticket asks for --force before a grant or a revoke.
    let out = d.cli(&["ticket", "grant", "east"]);
    assert_eq!(out.status.code(), Some(2), "{}", local::text(&out));
    assert!(local::text(&out).contains("--force"));
    d.ok(&["ticket", "grant", "east", "--force"]);
    d.until("db started with the ticket", started);
    assert!(ticket_line(&d).starts_with("east\tgranted last-granted="));

    d.ok(&["ticket", "standby", "east"]);
    d.until("db stopped by standby", stopped);
    d.ok(&["ticket", "activate", "east"]);
    d.until("db started again", started);

    d.ok(&["ticket", "revoke", "east", "--force"]);
    d.until("db stopped by its loss-policy", stopped);
    assert!(ticket_line(&d).starts_with("east\trevoked"));
}
