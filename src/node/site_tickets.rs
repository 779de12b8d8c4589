//! Tickets granted to at most one site through etcd, sans-IO (issue 19;
//! booth's automatic tickets). A site is one paceline cluster. The rules
//! only: whatever talks to etcd (the simulator's virtual etcd, a daemon's
//! task) carries out the [`SiteCommand`]s and reports [`SiteEvent`]s with
//! the time.
//!
//! - Who claims: the DC of the site, for every ticket the site manages,
//!   every [`renew_every`]. A claim keeps alive the lease the ticket's key
//!   names when the key names this site (any node of the site may keep a
//!   lease alive: a new DC takes over its predecessor's), and creates the
//!   key under a new lease when it is absent (a transaction: only if still
//!   absent). etcd's own quorum decides between two sites that each see
//!   part of it: only the majority's side answers.
//! - Every other node follows, as often: it reads the key and, when it
//!   names this site, how long its lease has left ([`SiteEvent::Remaining`];
//!   etcd truncates to whole seconds, so never more than it has). It
//!   neither creates the key nor keeps the lease alive: a site whose DC
//!   lost etcd must still lose the ticket, however many of its nodes see
//!   etcd.
//! - When the ticket counts here: for a claim, until [`valid_until`] of the
//!   request that last kept the lease alive, half its TTL after it was
//!   sent; for a read, until the lease's remaining time less half the TTL
//!   after it was sent. etcd expires the lease no earlier, so the site
//!   stops using the ticket at least half a TTL before another site can
//!   take it: the time its resources have to stop (or use loss-policy
//!   fence).
//! - The grant is the site's, not the DC's: a new DC starts from what it
//!   knew as a follower, so the ticket's resources run on through a DC
//!   change (a DC lost, a node back that becomes DC again). A node with
//!   no answer of its own revokes, as DC, what the status says granted,
//!   and grants it again once its claim keeps the lease alive: the
//!   simulator found a grace unsafe (a site back from a power loss, its
//!   status still saying granted, started the resources the other site
//!   ran since). That costs a restart only where no node of the site had
//!   an answer: a site back from a power loss, or a DC elected before its
//!   first read came back.
//! - What reaches the scheduler: [`SiteTickets::changes`] turns the
//!   difference between what counts and what the status says into
//!   `StatusPatch::Ticket` grants and revokes, which the DC records like
//!   any status change (a revoke applies the loss-policy).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::controller::{StatusPatch, TicketChange};
use crate::model::ClusterStatus;

/// What this node asks of etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteCommand {
    /// Claim these tickets every `renew_every` (this node is the DC).
    Claim { tickets: Vec<String> },
    /// Read these tickets every `renew_every`, claiming nothing (this node
    /// is not the DC). The lease is never revoked: the DC keeps it alive.
    Follow { tickets: Vec<String> },
}

/// What etcd answered for one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteEvent {
    /// The key names this site and its lease was kept alive (or granted)
    /// with `ttl` on a request sent at `sent_at` (this node's clock).
    Held {
        ticket: String,
        sent_at: Duration,
        ttl: Duration,
    },
    /// The key names this site and its lease had `remaining` left (at
    /// most: etcd truncates) when a read sent at `sent_at` reached etcd.
    Remaining {
        ticket: String,
        sent_at: Duration,
        remaining: Duration,
    },
    /// Another site's key holds it.
    HeldElsewhere { ticket: String, site: String },
    /// Nobody holds it (a follower's read; a claim creates the key).
    Free { ticket: String },
    /// etcd did not answer (a held ticket lapses by itself).
    Unreachable { ticket: String, why: String },
}

impl SiteEvent {
    pub fn ticket(&self) -> &str {
        match self {
            SiteEvent::Held { ticket, .. }
            | SiteEvent::Remaining { ticket, .. }
            | SiteEvent::HeldElsewhere { ticket, .. }
            | SiteEvent::Free { ticket }
            | SiteEvent::Unreachable { ticket, .. } => ticket,
        }
    }
}

/// Until when a lease kept alive on a request sent at `sent_at` lets the
/// ticket count here: half the TTL, the other half for the stop.
pub fn valid_until(sent_at: Duration, ttl: Duration) -> Duration {
    sent_at + ttl / 2
}

/// How often the DC claims: a sixth of the TTL, so that two rounds may
/// fail before the ticket lapses.
pub fn renew_every(ttl: Duration) -> Duration {
    (ttl / 6).max(Duration::from_millis(50))
}

/// Why `paceline ticket` is refused while `older` (members of release
/// 0.1.0, protocol version 4) are in the view: they know no tickets and
/// cannot read a ticket's change.
pub fn manual_refusal(older: &[String]) -> String {
    format!(
        "refused, nothing changed: {} runs release 0.1.0 (protocol version 4), which knows no tickets and cannot read a ticket's change; `paceline ticket` works once every member runs this release (finish the rolling upgrade: restart {} on it)",
        older.join(", "),
        older.join(", ")
    )
}

/// Why the DC records none of `patches` while `older` (members of
/// release 0.1.0) are in the view. It keeps claiming meanwhile, so the
/// ticket stays with this site while the DC reaches etcd; only the
/// status waits (a grant, and a revoke: what runs runs on).
pub fn withheld(patches: &[StatusPatch], older: &[String]) -> String {
    let what: Vec<String> = patches
        .iter()
        .filter_map(|p| match p {
            StatusPatch::Ticket { ticket, change } => Some(format!("{change:?} of {ticket}")),
            _ => None,
        })
        .collect();
    format!(
        "ERROR: site tickets: {} not recorded: {} runs release 0.1.0 (protocol version 4), which cannot read a ticket's change. This site keeps its claim in etcd (the ticket stays here while this DC reaches etcd), but the status keeps what it said: a revoke waits too, so what needs the ticket runs on. Finish the upgrade, or stop those resources by hand if etcd stays out of reach",
        what.join(", "),
        older.join(", ")
    )
}

/// The site tickets as one node of a site sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTickets {
    ttl: Duration,
    tickets: Vec<String>,
    /// Per ticket: until when it counts here.
    until: BTreeMap<String, Duration>,
    /// This node claims (it is the DC); else it follows.
    claiming: bool,
    /// The last answer per ticket, in words.
    last: BTreeMap<String, String>,
}

impl SiteTickets {
    pub fn new(tickets: Vec<String>, ttl: Duration) -> Self {
        Self {
            ttl,
            tickets,
            until: BTreeMap::new(),
            claiming: false,
            last: BTreeMap::new(),
        }
    }

    pub fn tickets(&self) -> &[String] {
        &self.tickets
    }

    /// What to ask of etcd from the start: a node follows until it is DC.
    pub fn first_command(&self) -> SiteCommand {
        SiteCommand::Follow {
            tickets: self.tickets.clone(),
        }
    }

    /// This node became or stopped being its site's DC. What it knows of
    /// each ticket stays: it came from etcd, not from being the DC.
    pub fn set_dc(&mut self, dc: bool) -> Option<SiteCommand> {
        if dc == self.claiming {
            return None;
        }
        self.claiming = dc;
        let tickets = self.tickets.clone();
        Some(if dc {
            SiteCommand::Claim { tickets }
        } else {
            SiteCommand::Follow { tickets }
        })
    }

    /// An answer from etcd.
    pub fn event(&mut self, event: SiteEvent) {
        if !self.tickets.iter().any(|t| t == event.ticket()) {
            return;
        }
        let ticket = event.ticket().to_string();
        let (until, words) = match &event {
            SiteEvent::Held { sent_at, ttl, .. } => (
                Some(valid_until(*sent_at, *ttl)),
                "held by this site".to_string(),
            ),
            SiteEvent::Remaining {
                sent_at, remaining, ..
            } => (
                Some(*sent_at + remaining.saturating_sub(self.ttl / 2)),
                "held by this site".to_string(),
            ),
            SiteEvent::HeldElsewhere { site, .. } => (None, format!("held by site {site}")),
            SiteEvent::Free { .. } => (None, "held by no site".to_string()),
            SiteEvent::Unreachable { why, .. } => {
                self.last.insert(ticket, format!("etcd unreachable: {why}"));
                return;
            }
        };
        match until {
            Some(u) => {
                let e = self.until.entry(ticket.clone()).or_default();
                *e = (*e).max(u);
            }
            None => {
                self.until.remove(&ticket);
            }
        }
        self.last.insert(ticket, words);
    }

    /// Whether `ticket` counts here at `now`.
    pub fn holds(&self, ticket: &str, now: Duration) -> bool {
        self.until.get(ticket).is_some_and(|&u| now < u)
    }

    /// The status changes that make the status say what counts at `now`:
    /// a grant where the ticket counts and the status does not say so, a
    /// revoke where the status says granted and it does not count.
    /// Nothing unless this node claims (the DC).
    pub fn changes(&self, now: Duration, wall_s: i64, status: &ClusterStatus) -> Vec<StatusPatch> {
        if !self.claiming {
            return Vec::new();
        }
        let mut out = Vec::new();
        for t in &self.tickets {
            let granted = status.tickets.get(t).is_some_and(|s| s.granted);
            let change = match (self.holds(t, now), granted) {
                (true, false) => TicketChange::Grant { at: wall_s },
                (false, true) => TicketChange::Revoke,
                _ => continue,
            };
            out.push(StatusPatch::Ticket {
                ticket: t.clone(),
                change,
            });
        }
        out
    }

    /// When `changes` may next have something new without an event: the
    /// earliest lapse of a held ticket.
    pub fn next_deadline(&self, now: Duration) -> Option<Duration> {
        self.until.values().copied().filter(|&u| u > now).min()
    }

    /// Each ticket's last answer, for the status.
    pub fn last(&self) -> &BTreeMap<String, String> {
        &self.last
    }

    /// Until when each ticket counts here (this node's clock), for the
    /// status.
    pub fn until(&self) -> &BTreeMap<String, Duration> {
        &self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TicketState;

    const TTL: Duration = Duration::from_secs(6);

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn held(sent_at: Duration) -> SiteEvent {
        SiteEvent::Held {
            ticket: "east".into(),
            sent_at,
            ttl: TTL,
        }
    }

    fn status(granted: bool) -> ClusterStatus {
        let mut st = ClusterStatus::default();
        let state = TicketState {
            granted,
            ..TicketState::default()
        };
        st.tickets.insert("east".into(), state);
        st
    }

    fn change(c: TicketChange) -> Vec<StatusPatch> {
        vec![StatusPatch::Ticket {
            ticket: "east".into(),
            change: c,
        }]
    }

    /// Issue 19: while release 0.1.0 is in the view, ticket changes are
    /// refused or withheld, each saying who and why.
    #[test]
    fn a_member_on_release_0_1_is_named_in_refusals_and_withheld_changes() {
        let older = ["node2".to_string()];
        let refused = manual_refusal(&older);
        assert!(
            refused.contains("node2 runs release 0.1.0") && refused.contains("restart node2"),
            "{refused}"
        );
        let why = withheld(&change(TicketChange::Revoke), &older);
        assert!(
            why.contains("Revoke of east not recorded: node2 runs release 0.1.0")
                && why.contains("keeps its claim"),
            "{why}"
        );
    }

    #[test]
    fn the_dc_claims_and_a_held_ticket_counts_for_half_its_ttl() {
        let mut t = SiteTickets::new(vec!["east".into()], TTL);
        let tickets = vec!["east".to_string()];
        assert_eq!(
            t.first_command(),
            SiteCommand::Follow {
                tickets: tickets.clone()
            }
        );
        assert_eq!(t.set_dc(true), Some(SiteCommand::Claim { tickets }));
        assert_eq!(t.set_dc(true), None);
        t.event(held(s(1)));
        assert!(t.holds("east", s(3)) && !t.holds("east", s(4)));
        assert_eq!(
            t.changes(s(2), 7, &status(false)),
            change(TicketChange::Grant { at: 7 })
        );
        assert_eq!(
            t.changes(s(4), 7, &status(true)),
            change(TicketChange::Revoke)
        );
        assert_eq!(t.next_deadline(s(2)), Some(s(4)));
    }

    #[test]
    fn a_ticket_held_elsewhere_or_by_nobody_is_revoked_here() {
        for answer in [
            SiteEvent::HeldElsewhere {
                ticket: "east".into(),
                site: "west".into(),
            },
            SiteEvent::Free {
                ticket: "east".into(),
            },
        ] {
            let mut t = SiteTickets::new(vec!["east".into()], TTL);
            t.set_dc(true);
            t.event(held(s(1)));
            t.event(answer);
            assert_eq!(
                t.changes(s(2), 0, &status(true)),
                change(TicketChange::Revoke)
            );
        }
    }

    #[test]
    fn a_new_dc_with_no_answer_of_its_own_revokes_the_grant() {
        let mut t = SiteTickets::new(vec!["east".into()], TTL);
        t.set_dc(true);
        let revoke = change(TicketChange::Revoke);
        assert_eq!(t.changes(s(10), 0, &status(true)), revoke);
        t.event(held(s(10)));
        let grant = change(TicketChange::Grant { at: 5 });
        assert_eq!(t.changes(s(10), 5, &status(false)), grant);
    }

    /// Issue 19: a DC change at a site stopped and restarted the ticket's
    /// resources (the new DC revoked until its first claim came back).
    /// A follower reads the lease's remaining time, so as the new DC it
    /// keeps the grant for as long as etcd keeps the lease, less half
    /// the TTL for the stop.
    #[test]
    fn a_follower_that_becomes_dc_keeps_the_grant_while_the_lease_lasts() {
        let mut t = SiteTickets::new(vec!["east".into()], TTL);
        t.event(SiteEvent::Remaining {
            ticket: "east".into(),
            sent_at: s(10),
            remaining: s(5),
        });
        assert!(
            t.changes(s(10), 0, &status(false)).is_empty(),
            "a follower writes nothing"
        );
        assert!(
            t.holds("east", s(11)) && !t.holds("east", s(12)),
            "10 + 5 - 3"
        );
        t.set_dc(true);
        assert!(t.changes(s(11), 0, &status(true)).is_empty(), "kept");
        assert_eq!(
            t.changes(s(12), 0, &status(true)),
            change(TicketChange::Revoke),
            "lapsed without a claim answered"
        );
    }

    #[test]
    fn a_node_that_is_not_the_dc_changes_nothing_and_keeps_what_it_knows() {
        let mut t = SiteTickets::new(vec!["east".into()], TTL);
        t.set_dc(true);
        t.event(held(s(0)));
        assert_eq!(
            t.set_dc(false),
            Some(SiteCommand::Follow {
                tickets: vec!["east".into()]
            })
        );
        assert!(t.changes(s(1), 0, &status(false)).is_empty());
        assert!(t.holds("east", s(1)), "the lease outlives the DC role");
    }
}
