//! `paceline ticket ...`: a ticket's state here, by hand (crm_ticket).
//! Granting or revoking by hand cannot know whether another site holds the
//! ticket, and revoking applies the loss-policy of every resource tied to
//! it (a stop, a demote, a fence): both ask for `--force`, as crm_ticket
//! does. Standby and activate are graceful.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;

use super::resource::Client;
use super::{EXIT_FAILED, EXIT_USAGE, OutputFormat};
use crate::api::{self, Request, Response, TicketView};
use crate::config::tickets::valid_ticket_name;
use crate::controller::TicketChange;

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Grant TICKET to this cluster: resources tied to it may run here.
    Grant {
        ticket: String,
        /// Grant although another site may hold it.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        client: Client,
    },
    /// Revoke TICKET here: its resources get their loss-policy.
    Revoke {
        ticket: String,
        /// Revoke although it stops, demotes or fences what needs it.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        client: Client,
    },
    /// Keep TICKET granted but stop (or demote) what needs it, gracefully.
    Standby {
        ticket: String,
        #[command(flatten)]
        client: Client,
    },
    /// Bring TICKET out of standby.
    Activate {
        ticket: String,
        #[command(flatten)]
        client: Client,
    },
    /// Every ticket the configuration or the status names, with its state.
    List {
        #[command(flatten)]
        client: Client,
    },
}

pub fn run(cmd: TicketCommand) -> anyhow::Result<ExitCode> {
    let (ticket, change, force, client) = match cmd {
        TicketCommand::List { client } => return list(&client),
        TicketCommand::Grant {
            ticket,
            force,
            client,
        } => (ticket, TicketChange::Grant { at: now() }, force, client),
        TicketCommand::Revoke {
            ticket,
            force,
            client,
        } => (ticket, TicketChange::Revoke, force, client),
        TicketCommand::Standby { ticket, client } => (ticket, TicketChange::Standby, true, client),
        TicketCommand::Activate { ticket, client } => {
            (ticket, TicketChange::Activate, true, client)
        }
    };
    if !valid_ticket_name(&ticket) {
        eprintln!("ticket name {ticket:?} is not valid: letters, digits, `-`, `_` and `.`");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    if !force {
        eprintln!("{}", why_force(&ticket, change));
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    match api::call(&client.socket, &Request::Ticket { ticket, change })? {
        Response::Accepted { what } => {
            println!("{what}");
            Ok(ExitCode::SUCCESS)
        }
        Response::Error { message } => {
            eprintln!("pacelined refused: {message}");
            Ok(ExitCode::from(EXIT_FAILED))
        }
        other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
    }
}

fn why_force(ticket: &str, change: TicketChange) -> String {
    match change {
        TicketChange::Revoke => format!(
            "revoking {ticket} applies the loss-policy of every resource tied to it \
             (stop, demote, fence or freeze); add --force to do it"
        ),
        _ => format!(
            "paceline cannot tell whether another site holds {ticket}: granting it here \
             may run its resources at two sites; add --force to do it"
        ),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn list(client: &Client) -> anyhow::Result<ExitCode> {
    let report = super::resource::report(client)?;
    match client.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report.tickets)?),
        OutputFormat::Text => print!("{}", table(&report.tickets)),
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per ticket, as crm_ticket --info shows them.
fn table(tickets: &[TicketView]) -> String {
    let mut out = String::new();
    for t in tickets {
        out.push_str(&line(t));
        out.push('\n');
    }
    if tickets.is_empty() {
        out.push_str("no tickets\n");
    }
    out
}

/// A ticket in one line: its state here, who needs it and, with
/// `[site]`, what etcd says of it (`paceline status` shows it too).
pub(super) fn line(t: &TicketView) -> String {
    let state = if t.granted { "granted" } else { "revoked" };
    let standby = if t.standby { " standby" } else { "" };
    let since = t
        .last_granted
        .map(|s| format!(" last-granted={}", api::utc_seconds(s)))
        .unwrap_or_default();
    let mut out = format!("{}\t{state}{standby}{since}", t.ticket);
    if !t.resources.is_empty() {
        out.push_str(&format!("\tneeded by: {}", t.resources.join(", ")));
    }
    if let Some(etcd) = &t.etcd {
        out.push_str(&format!("\tetcd: {etcd}"));
    }
    if let Some(until) = t.counts_until {
        out.push_str(&format!(", counts here until {}", api::utc_seconds(until)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_shows_state_and_who_needs_it() {
        let t = TicketView {
            ticket: "east".into(),
            granted: true,
            standby: true,
            last_granted: Some(0),
            resources: vec!["db (demote)".into()],
            etcd: None,
            counts_until: None,
        };
        assert_eq!(
            table(std::slice::from_ref(&t)),
            "east\tgranted standby last-granted=1970-01-01 00:00:00Z\tneeded by: db (demote)\n"
        );
        // With [site]: etcd's view, and until when it counts here.
        let site = TicketView {
            etcd: Some("held by this site (dc-east)".into()),
            counts_until: Some(60),
            ..t
        };
        assert!(
            line(&site).ends_with(
                "\tetcd: held by this site (dc-east), counts here until 1970-01-01 00:01:00Z"
            ),
            "{}",
            line(&site)
        );
    }

    #[test]
    fn grant_and_revoke_say_why_they_need_force() {
        assert!(why_force("east", TicketChange::Revoke).contains("loss-policy"));
        assert!(why_force("east", TicketChange::Grant { at: 0 }).contains("two sites"));
    }
}
