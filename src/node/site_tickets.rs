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
//! - When the ticket counts here: until [`valid_until`] of the request
//!   that last kept the lease alive, half its TTL after it was sent. etcd
//!   expires the lease a TTL after it received that request, so the site
//!   stops using the ticket at least half a TTL before another site can
//!   take it: the time its resources have to stop (or use loss-policy
//!   fence).
//! - A new DC has no grant of its own: a ticket the status says granted
//!   is revoked at once, and granted again when its first claim keeps the
//!   lease alive. A grace while that claim is answered would let the DC
//!   plan starts on a grant it does not hold: the simulator found a site
//!   that came back from a power loss, its status still saying granted,
//!   starting the resources the other site ran since. The price: the
//!   resources of a ticket stop and start again when their site's DC
//!   changes (their loss-policy applies).
//! - What reaches the scheduler: [`SiteTickets::changes`] turns the
//!   difference between what counts and what the status says into
//!   `StatusPatch::Ticket` grants and revokes, which the DC records like
//!   any status change (a revoke applies the loss-policy).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::controller::{StatusPatch, TicketChange};
use crate::model::ClusterStatus;

/// What the site's DC asks of etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteCommand {
    /// Keep claiming these tickets every `renew_every` until `Stop`.
    Claim { tickets: Vec<String> },
    /// Stop claiming (this node is no longer the DC). The lease is not
    /// revoked: the site's next DC keeps it alive.
    Stop,
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
    /// Another site's key holds it.
    HeldElsewhere { ticket: String, site: String },
    /// etcd did not answer (a held ticket lapses by itself).
    Unreachable { ticket: String, why: String },
}

impl SiteEvent {
    fn ticket(&self) -> &str {
        match self {
            SiteEvent::Held { ticket, .. }
            | SiteEvent::HeldElsewhere { ticket, .. }
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

/// The site tickets as the DC of one site sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTickets {
    ttl: Duration,
    tickets: Vec<String>,
    /// Per ticket: until when it counts here.
    until: BTreeMap<String, Duration>,
    /// Since when this node claims (it is the DC), if it does.
    claiming_since: Option<Duration>,
    /// The last answer per ticket, in words.
    last: BTreeMap<String, String>,
}

impl SiteTickets {
    pub fn new(tickets: Vec<String>, ttl: Duration) -> Self {
        Self {
            ttl,
            tickets,
            until: BTreeMap::new(),
            claiming_since: None,
            last: BTreeMap::new(),
        }
    }

    pub fn tickets(&self) -> &[String] {
        &self.tickets
    }

    /// This node became or stopped being its site's DC at `now`.
    pub fn set_dc(&mut self, now: Duration, dc: bool) -> Option<SiteCommand> {
        match (dc, self.claiming_since) {
            (true, None) => {
                self.claiming_since = Some(now);
                Some(SiteCommand::Claim {
                    tickets: self.tickets.clone(),
                })
            }
            (false, Some(_)) => {
                self.claiming_since = None;
                self.until.clear();
                Some(SiteCommand::Stop)
            }
            _ => None,
        }
    }

    /// An answer from etcd.
    pub fn event(&mut self, event: SiteEvent) {
        if self.claiming_since.is_none() || !self.tickets.iter().any(|t| t == event.ticket()) {
            return;
        }
        let ticket = event.ticket().to_string();
        let words = match &event {
            SiteEvent::Held { sent_at, ttl, .. } => {
                let until = valid_until(*sent_at, *ttl);
                let e = self.until.entry(ticket.clone()).or_default();
                *e = (*e).max(until);
                "held by this site".to_string()
            }
            SiteEvent::HeldElsewhere { site, .. } => {
                self.until.remove(&ticket);
                format!("held by site {site}")
            }
            SiteEvent::Unreachable { why, .. } => format!("etcd unreachable: {why}"),
        };
        self.last.insert(ticket, words);
    }

    /// Whether `ticket` counts here at `now`.
    pub fn holds(&self, ticket: &str, now: Duration) -> bool {
        self.until.get(ticket).is_some_and(|&u| now < u)
    }

    /// The status changes that make the status say what counts at `now`:
    /// a grant where the ticket counts and the status does not say so, a
    /// revoke where the status says granted and it does not count (after a
    /// new DC's grace). Nothing unless this node claims.
    pub fn changes(&self, now: Duration, wall_s: i64, status: &ClusterStatus) -> Vec<StatusPatch> {
        let Some(since) = self.claiming_since else {
            return Vec::new();
        };
        let _ = since;
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

    #[test]
    fn the_dc_claims_and_a_held_ticket_counts_for_half_its_ttl() {
        let mut t = SiteTickets::new(vec!["east".into()], TTL);
        let claim = t.set_dc(s(0), true);
        assert_eq!(
            claim,
            Some(SiteCommand::Claim {
                tickets: vec!["east".into()]
            })
        );
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
    fn a_ticket_held_elsewhere_is_revoked_here() {
        let mut t = SiteTickets::new(vec!["east".into()], TTL);
        t.set_dc(s(0), true);
        t.event(held(s(1)));
        t.event(SiteEvent::HeldElsewhere {
            ticket: "east".into(),
            site: "west".into(),
        });
        assert_eq!(
            t.changes(s(2), 0, &status(true)),
            change(TicketChange::Revoke)
        );
    }

    #[test]
    fn a_new_dc_revokes_a_grant_it_does_not_hold_yet() {
        let mut t = SiteTickets::new(vec!["east".into()], TTL);
        t.set_dc(s(10), true);
        let revoke = change(TicketChange::Revoke);
        assert_eq!(t.changes(s(10), 0, &status(true)), revoke);
        t.event(held(s(10)));
        let grant = change(TicketChange::Grant { at: 5 });
        assert_eq!(t.changes(s(10), 5, &status(false)), grant);
    }

    #[test]
    fn a_node_that_is_not_the_dc_changes_nothing() {
        let mut t = SiteTickets::new(vec!["east".into()], TTL);
        t.set_dc(s(0), true);
        t.event(held(s(0)));
        assert_eq!(t.set_dc(s(1), false), Some(SiteCommand::Stop));
        t.event(held(s(1)));
        assert!(t.changes(s(1), 0, &status(false)).is_empty());
        assert!(!t.holds("east", s(1)));
    }
}
