//! The witness's etcd I/O (issue 19; ARCHITECTURE.md, "The witness"): a
//! task of its own carries out the membership's `WitnessCommand`s on etcd
//! and reports `WitnessEvent`s to the event loop, stamped with the
//! daemon's clock (`Daemon::start`). The rules (who claims, when the vote
//! counts, how often to renew) are the membership's; this only talks.
//!
//! A claim, every `witness::renew_every`: renew this process's lease (or
//! grant one), then one transaction: rewrite the key (and `last`) if this
//! lease holds it; else read `last`, and if `witness::may_take` allows
//! (or the operator's `cluster unblock` lifted it), create the key in a
//! transaction that also checks `last` did not move; else say who holds
//! it. Each round is
//! bounded by the renewal period; an error or a timeout is reported as
//! `Unreachable` and the vote lapses by itself.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, Identity, LeaseKeepAliveStream,
    LeaseKeeper, PutOptions, TlsOptions, Txn, TxnOp, TxnOpResponse,
};
use tokio::sync::mpsc;

use crate::config::witness::Witness;
use crate::membership::witness::{may_take, renew_every};
use crate::membership::{WitnessCommand, WitnessEvent};
use crate::wire::NodeId;

/// What the key's value says (for `paceline status` and the other node's
/// log): the holder and the members it claims for.
#[derive(serde::Serialize, serde::Deserialize)]
struct Value {
    cluster: String,
    holder: String,
    members: Vec<NodeId>,
    view: u64,
}

/// Starts the task; commands go in, events come out on `events`.
pub(super) fn spawn(
    config: Witness,
    cluster: String,
    own: String,
    token_timeout: Duration,
    start: Instant,
    events: mpsc::UnboundedSender<WitnessEvent>,
) -> mpsc::UnboundedSender<WitnessCommand> {
    let (tx, rx) = mpsc::unbounded_channel();
    let every = renew_every(config.ttl, token_timeout);
    let task = Task {
        config,
        cluster,
        own,
        start,
        every,
        client: None,
        lease: None,
        keeper: None,
        claim: None,
        unblocked: false,
    };
    tokio::spawn(task.run(rx, events));
    tx
}

struct Task {
    config: Witness,
    cluster: String,
    own: String,
    start: Instant,
    every: Duration,
    client: Option<Client>,
    /// This process's lease, kept across errors: it may still hold the key.
    lease: Option<i64>,
    /// Its keep-alive stream, dropped on an error or a timeout.
    keeper: Option<(LeaseKeeper, LeaseKeepAliveStream)>,
    /// (view, members) claimed.
    claim: Option<(u64, BTreeSet<NodeId>)>,
    /// The claim takes a free key whatever `last` says (`cluster unblock`).
    unblocked: bool,
}

impl Task {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<WitnessCommand>,
        events: mpsc::UnboundedSender<WitnessEvent>,
    ) {
        let mut next = tokio::time::Instant::now();
        loop {
            let due = async {
                if self.claim.is_some() {
                    tokio::time::sleep_until(next).await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                command = commands.recv() => match command {
                    None => return,
                    Some(WitnessCommand::Claim { view, members, unblocked }) => {
                        self.claim = Some((view, members));
                        self.unblocked = unblocked;
                        next = tokio::time::Instant::now();
                    }
                    Some(WitnessCommand::Release) => {
                        self.claim = None;
                        self.release().await;
                    }
                },
                () = due => {
                    next = tokio::time::Instant::now() + self.every;
                    let event = match tokio::time::timeout(self.every, self.round()).await {
                        Ok(event) => event,
                        Err(_) => {
                            // A keep-alive stream cut mid-answer is not reused.
                            self.keeper = None;
                            WitnessEvent::Unreachable { why: format!("no answer within {:?}", self.every) }
                        }
                    };
                    if events.send(event).is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// One claim: the lease renewed (or granted), then the key.
    async fn round(&mut self) -> WitnessEvent {
        let Some((view, members)) = self.claim.clone() else {
            return WitnessEvent::Unreachable {
                why: "not claiming".into(),
            };
        };
        match self.try_round(view, &members).await {
            Ok(event) => event,
            Err(e) => {
                self.keeper = None;
                WitnessEvent::Unreachable { why: e.to_string() }
            }
        }
    }

    async fn try_round(
        &mut self,
        view: u64,
        members: &BTreeSet<NodeId>,
    ) -> Result<WitnessEvent, etcd_client::Error> {
        let sent_at = self.start.elapsed();
        let ttl = self.renew().await?;
        let Some(lease) = self.lease else {
            return Ok(WitnessEvent::HeldElsewhere {
                holder: "nobody (the lease was lost)".into(),
            });
        };
        let key = self.config.key();
        let value = serde_json::to_string(&Value {
            cluster: self.cluster.clone(),
            holder: self.own.clone(),
            members: members.iter().copied().collect(),
            view,
        })
        .unwrap_or_default();
        let last_key = self.config.last_key();
        let puts = [
            TxnOp::put(
                key.clone(),
                value.clone(),
                Some(PutOptions::new().with_lease(lease)),
            ),
            TxnOp::put(last_key.clone(), value, None),
        ];
        let unblocked = self.unblocked;
        let client = self.connect().await?;
        let ours = Txn::new()
            .when([Compare::lease(key.clone(), CompareOp::Equal, lease)])
            .and_then(puts.clone());
        if client.txn(ours).await?.succeeded() {
            return Ok(granted(members, sent_at, ttl));
        }
        let taken = take_free(client, [key, last_key], puts, members, unblocked).await?;
        Ok(taken.unwrap_or_else(|| granted(members, sent_at, ttl)))
    }

    async fn connect(&mut self) -> Result<&mut Client, etcd_client::Error> {
        if self.client.is_none() {
            let client = Client::connect(&self.config.endpoints, Some(self.options()?)).await?;
            self.client = Some(client);
        }
        match self.client.as_mut() {
            Some(c) => Ok(c),
            None => Err(etcd_client::Error::InvalidArgs("no client".into())),
        }
    }

    fn options(&self) -> Result<ConnectOptions, etcd_client::Error> {
        connect_options(&self.config, self.every)
    }
}

/// The key is not this lease's: take it if it is free and `may_take`
/// allows (or `unblocked`), in a transaction that checks both again
/// (`puts` writes the key and `last`). None: taken; else who holds it,
/// or the absent partition it last served.
async fn take_free(
    client: &mut Client,
    [key, last_key]: [String; 2],
    puts: [TxnOp; 2],
    members: &BTreeSet<NodeId>,
    unblocked: bool,
) -> Result<Option<WitnessEvent>, etcd_client::Error> {
    // Held by another lease: say whose (`last` names the holder's
    // partition then, not an absent one).
    if let Some(kv) = client.get(key.clone(), None).await?.kvs().first() {
        let holder = holder_in(kv.value());
        return Ok(Some(WitnessEvent::HeldElsewhere { holder }));
    }
    let got = client.get(last_key.clone(), None).await?;
    let (last, unchanged) = match got.kvs().first() {
        Some(kv) => (
            Some(members_of(kv.value_str().unwrap_or_default())),
            Compare::mod_revision(last_key, CompareOp::Equal, kv.mod_revision()),
        ),
        None => (
            None,
            Compare::create_revision(last_key, CompareOp::Equal, 0),
        ),
    };
    if !unblocked && !may_take(last.as_ref(), members) {
        let last = last.unwrap_or_default();
        return Ok(Some(WitnessEvent::LastServedOthers { last }));
    }
    let absent = Txn::new()
        .when([
            Compare::create_revision(key.clone(), CompareOp::Equal, 0),
            unchanged,
        ])
        .and_then(puts)
        .or_else([TxnOp::get(key, None)]);
    let answer = client.txn(absent).await?;
    if answer.succeeded() {
        return Ok(None);
    }
    let holder = holder_of(&answer.op_responses());
    Ok(Some(WitnessEvent::HeldElsewhere { holder }))
}

/// How to reach the etcd of `config` (also the site tickets'), each
/// request bounded by `every`.
pub(super) fn connect_options(
    config: &Witness,
    every: Duration,
) -> Result<ConnectOptions, etcd_client::Error> {
    {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(every)
            .with_timeout(every);
        if let Some(tls) = &config.tls {
            let read = |p: &std::path::Path| {
                std::fs::read(p).map_err(|e| {
                    etcd_client::Error::InvalidArgs(format!("cannot read {}: {e}", p.display()))
                })
            };
            let mut t = TlsOptions::new().ca_certificate(Certificate::from_pem(read(&tls.ca)?));
            if let Some((cert, key)) = &tls.identity {
                t = t.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            options = options.with_tls(t);
        }
        Ok(options)
    }
}

impl Task {
    /// Renews this process's lease, or grants one; the TTL etcd gave.
    async fn renew(&mut self) -> Result<Duration, etcd_client::Error> {
        if let Some(id) = self.lease {
            if self.keeper.is_none() {
                let pair = self.connect().await?.lease_keep_alive(id).await?;
                self.keeper = Some(pair);
            }
            if let Some((keeper, stream)) = self.keeper.as_mut() {
                keeper.keep_alive().await?;
                if let Some(answer) = stream.message().await?
                    && answer.ttl() > 0
                {
                    return Ok(ttl_of(answer.ttl()));
                }
            }
            // The lease expired in etcd: its key went with it.
            self.lease = None;
            self.keeper = None;
        }
        let ttl_s = i64::try_from(self.config.ttl.as_secs()).unwrap_or(i64::MAX);
        let granted = self.connect().await?.lease_grant(ttl_s, None).await?;
        // Kept before anything else can fail: it may hold the key soon.
        self.lease = Some(granted.id());
        let pair = self.connect().await?.lease_keep_alive(granted.id()).await?;
        self.keeper = Some(pair);
        Ok(ttl_of(granted.ttl()))
    }

    /// Revokes this process's lease (the key goes with it when it held
    /// it): the membership asks only when it does not count the vote.
    async fn release(&mut self) {
        self.keeper = None;
        let Some(lease) = self.lease.take() else {
            return;
        };
        let every = self.every;
        if let Ok(client) = self.connect().await {
            let _ = tokio::time::timeout(every, client.lease_revoke(lease)).await;
        }
    }
}

fn ttl_of(seconds: i64) -> Duration {
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

fn granted(members: &BTreeSet<NodeId>, sent_at: Duration, ttl: Duration) -> WitnessEvent {
    WitnessEvent::Granted {
        members: members.clone(),
        sent_at,
        ttl,
    }
}

/// The members a value names. A value that does not parse names nobody:
/// it refuses every partition until an operator deletes it (fail safe).
fn members_of(value: &str) -> BTreeSet<NodeId> {
    serde_json::from_str::<Value>(value)
        .map(|v| v.members.into_iter().collect())
        .unwrap_or_default()
}

/// Who the key's value names as holder.
fn holder_of(responses: &[TxnOpResponse]) -> String {
    responses
        .iter()
        .find_map(|r| match r {
            TxnOpResponse::Get(get) => get.kvs().first().map(|kv| holder_in(kv.value())),
            _ => None,
        })
        .unwrap_or_else(|| "nobody (the key went meanwhile)".to_string())
}

/// The holder the key's value names.
fn holder_in(value: &[u8]) -> String {
    serde_json::from_slice::<Value>(value)
        .map_or_else(|_| "an unknown holder".to_string(), |v| v.holder)
}
