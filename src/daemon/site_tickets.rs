//! Site tickets on etcd (issue 19; `node::site_tickets` has the rules): a
//! task of its own carries out the DC's `SiteCommand`s and reports
//! `SiteEvent`s to the event loop, stamped with the daemon's clock; the
//! loop feeds the rules (`Daemon::site_step`) and records what they
//! change in the status through the store, as any status patch.
//!
//! One claim of ticket T by the DC, every `site_tickets::renew_every`:
//! read `<prefix>/tickets/T`; naming this site, keep alive the lease it
//! names (any node of the site may: a new DC takes over its
//! predecessor's); naming another site, say so; absent (or its lease
//! expired), grant a lease and create the key in a transaction that
//! checks it is still absent. Every other node follows as often: the same
//! read and, naming this site, the lease's remaining time (never kept
//! alive, never created). Each round is bounded by the renewal period; an
//! error or a timeout is reported as `Unreachable` and the ticket lapses
//! by itself.

use std::time::{Duration, Instant};

use etcd_client::{Client, Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};
use tokio::sync::mpsc;

use crate::api::TicketView;
use crate::config::site::Site;
use crate::node::site_tickets::{SiteCommand, SiteEvent, SiteTickets, renew_every};

/// The key's value: the site holding the ticket and its lease.
#[derive(serde::Serialize, serde::Deserialize)]
struct Value {
    site: String,
    lease: i64,
}

/// The rules and the task's command channel, on the daemon.
pub(super) struct SiteState {
    /// This site's name (`[site] name`).
    pub name: String,
    pub rules: SiteTickets,
    pub commands: mpsc::UnboundedSender<SiteCommand>,
    /// What the DC last could not record, while a 0.1.0 member is in the
    /// view (logged once).
    pub withheld: Option<String>,
}

impl SiteState {
    /// Adds etcd's view of the tickets this site manages to the report's
    /// (`paceline status`, `ticket list`): the last answer, and until when
    /// a held ticket counts here, on the wall clock (`now` on the
    /// daemon's, `wall_s` the same instant).
    pub fn describe(&self, tickets: &mut Vec<TicketView>, now: Duration, wall_s: i64) {
        for name in self.rules.tickets() {
            let i = match tickets.iter().position(|t| &t.ticket == name) {
                Some(i) => i,
                None => {
                    tickets.push(TicketView {
                        ticket: name.clone(),
                        granted: false,
                        standby: false,
                        last_granted: None,
                        resources: Vec::new(),
                        etcd: None,
                        counts_until: None,
                    });
                    tickets.len() - 1
                }
            };
            let said = self.rules.last().get(name).cloned();
            tickets[i].etcd = Some(match said {
                Some(s) if s == "held by this site" => format!("{s} ({})", self.name),
                Some(s) => s,
                None => "not asked yet".to_string(),
            });
            tickets[i].counts_until = self
                .rules
                .until()
                .get(name)
                .filter(|&&u| u > now)
                .and_then(|u| i64::try_from((*u - now).as_secs()).ok())
                .map(|left| wall_s.saturating_add(left));
        }
        tickets.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    }
}

/// Starts the task; commands go in, events come out on `events`.
pub(super) fn spawn(
    site: Site,
    start: Instant,
    events: mpsc::UnboundedSender<SiteEvent>,
) -> SiteState {
    let (tx, rx) = mpsc::unbounded_channel();
    let rules = SiteTickets::new(site.tickets.clone(), site.etcd.ttl);
    let name = site.name.clone();
    let task = Task {
        every: renew_every(site.etcd.ttl),
        site,
        start,
        client: None,
        tickets: Vec::new(),
        claiming: false,
    };
    let _ = tx.send(rules.first_command());
    tokio::spawn(task.run(rx, events));
    SiteState {
        name,
        rules,
        commands: tx,
        withheld: None,
    }
}

struct Task {
    site: Site,
    start: Instant,
    every: Duration,
    client: Option<Client>,
    /// The tickets claimed or followed.
    tickets: Vec<String>,
    /// Claiming (the DC), else following.
    claiming: bool,
}

impl Task {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<SiteCommand>,
        events: mpsc::UnboundedSender<SiteEvent>,
    ) {
        let mut next = tokio::time::Instant::now();
        loop {
            let due = tokio::time::sleep_until(next);
            tokio::select! {
                command = commands.recv() => match command {
                    None => return,
                    Some(SiteCommand::Claim { tickets }) => {
                        (self.tickets, self.claiming) = (tickets, true);
                        next = tokio::time::Instant::now();
                    }
                    Some(SiteCommand::Follow { tickets }) => {
                        (self.tickets, self.claiming) = (tickets, false);
                    }
                },
                () = due => {
                    next = tokio::time::Instant::now() + self.every;
                    for ticket in self.tickets.clone() {
                        let event = self.round(&ticket).await;
                        if events.send(event).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }

    async fn round(&mut self, ticket: &str) -> SiteEvent {
        let sent_at = self.start.elapsed();
        let bound = self.every;
        match tokio::time::timeout(bound, self.try_round(ticket, sent_at)).await {
            Ok(Ok(event)) => event,
            Ok(Err(e)) => {
                self.client = None;
                SiteEvent::Unreachable {
                    ticket: ticket.to_string(),
                    why: e.to_string(),
                }
            }
            Err(_) => {
                self.client = None;
                SiteEvent::Unreachable {
                    ticket: ticket.to_string(),
                    why: format!("no answer within {bound:?}"),
                }
            }
        }
    }

    async fn try_round(
        &mut self,
        ticket: &str,
        sent_at: Duration,
    ) -> Result<SiteEvent, etcd_client::Error> {
        let key = self.site.ticket_key(ticket);
        let ours = self.site.name.clone();
        let ttl_s = i64::try_from(self.site.etcd.ttl.as_secs()).unwrap_or(i64::MAX);
        let claiming = self.claiming;
        let client = self.connect().await?;
        let got = client.get(key.clone(), None).await?;
        if let Some(v) = got.kvs().first().and_then(|kv| value_of(kv.value())) {
            if v.site != ours {
                return Ok(elsewhere(ticket, v.site));
            }
            if !claiming {
                let left = client.lease_time_to_live(v.lease, None).await?.ttl();
                return Ok(remaining(ticket, sent_at, left));
            }
            let (mut keeper, mut stream) = client.lease_keep_alive(v.lease).await?;
            keeper.keep_alive().await?;
            if let Some(answer) = stream.message().await?
                && answer.ttl() > 0
            {
                return Ok(held(ticket, sent_at, answer.ttl()));
            }
            // The lease expired: the key went with it.
        }
        if !claiming {
            return Ok(SiteEvent::Free {
                ticket: ticket.to_string(),
            });
        }
        let lease = client.lease_grant(ttl_s, None).await?;
        let value = serde_json::to_string(&Value {
            site: ours,
            lease: lease.id(),
        })
        .unwrap_or_default();
        let create = Txn::new()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(
                key.clone(),
                value,
                Some(PutOptions::new().with_lease(lease.id())),
            )])
            .or_else([TxnOp::get(key, None)]);
        let answer = client.txn(create).await?;
        if answer.succeeded() {
            return Ok(held(ticket, sent_at, lease.ttl()));
        }
        let _ = client.lease_revoke(lease.id()).await;
        let holder = answer
            .op_responses()
            .iter()
            .find_map(|r| match r {
                TxnOpResponse::Get(g) => g.kvs().first().and_then(|kv| value_of(kv.value())),
                _ => None,
            })
            .map_or_else(|| "an unknown site".to_string(), |v| v.site);
        Ok(elsewhere(ticket, holder))
    }

    async fn connect(&mut self) -> Result<&mut Client, etcd_client::Error> {
        if self.client.is_none() {
            let options = super::witness::connect_options(&self.site.etcd, self.every)?;
            let client = Client::connect(&self.site.etcd.endpoints, Some(options)).await?;
            self.client = Some(client);
        }
        match self.client.as_mut() {
            Some(c) => Ok(c),
            None => Err(etcd_client::Error::InvalidArgs("no client".into())),
        }
    }
}

/// A value that does not parse names no site: it holds the ticket for
/// nobody until an operator deletes it (fail safe).
fn value_of(bytes: &[u8]) -> Option<Value> {
    Some(serde_json::from_slice(bytes).unwrap_or(Value {
        site: "an unreadable value".into(),
        lease: 0,
    }))
}

fn held(ticket: &str, sent_at: Duration, ttl_s: i64) -> SiteEvent {
    SiteEvent::Held {
        ticket: ticket.to_string(),
        sent_at,
        ttl: Duration::from_secs(u64::try_from(ttl_s).unwrap_or(0)),
    }
}

/// A follower's read: `left_s` whole seconds left (etcd truncates), -1
/// for a lease that expired (its key goes with it: nobody holds it).
fn remaining(ticket: &str, sent_at: Duration, left_s: i64) -> SiteEvent {
    match u64::try_from(left_s) {
        Ok(left) if left > 0 => SiteEvent::Remaining {
            ticket: ticket.to_string(),
            sent_at,
            remaining: Duration::from_secs(left),
        },
        _ => SiteEvent::Free {
            ticket: ticket.to_string(),
        },
    }
}

fn elsewhere(ticket: &str, site: String) -> SiteEvent {
    SiteEvent::HeldElsewhere {
        ticket: ticket.to_string(),
        site,
    }
}

impl super::Daemon {
    /// The site's rules after a tick or an answer: claim while this node
    /// is the DC, and record in the status what they change.
    pub(super) async fn site_step(&mut self) {
        let now = self.start.elapsed();
        // The DC claims whatever its view speaks: a claim is no cluster
        // message, and a lease left to lapse would hand the ticket to
        // another site while this one still runs what needs it.
        let dc = self.store.is_dc();
        let wall = super::driver::wall_now();
        let older = self.older_than_5();
        let mixed = self.machine.protocol_version() < 5;
        let Some(site) = self.site.as_mut() else {
            return;
        };
        if let Some(command) = site.rules.set_dc(dc) {
            let _ = site.commands.send(command);
        }
        let patches = site.rules.changes(now, wall, &self.store.doc().status);
        if mixed && !patches.is_empty() {
            // Release 0.1.0 (version 4) cannot read a ticket's patch.
            let why = crate::node::site_tickets::withheld(&patches, &older);
            if site.withheld.as_ref() != Some(&why) {
                super::log(&why);
                site.withheld = Some(why);
            }
            return;
        }
        site.withheld = None;
        for patch in patches {
            super::log(&format!("site ticket: {patch:?}"));
            let effects = self.store.record_status(self.now_ms(), patch);
            self.apply_store(effects).await;
        }
    }

    pub(super) async fn on_site_event(&mut self, event: SiteEvent) {
        if let Some(site) = self.site.as_mut() {
            let ticket = event.ticket().to_string();
            let before = site.rules.last().get(&ticket).cloned();
            site.rules.event(event);
            // Logged when it changes (every answer would flood the log).
            if let Some(now) = site.rules.last().get(&ticket)
                && before.as_ref() != Some(now)
            {
                super::log(&format!("site ticket {ticket}: {now}"));
            }
        }
        self.site_step().await;
    }
}
