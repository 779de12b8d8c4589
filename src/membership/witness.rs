//! The witness's vote, sans-IO: a quorum device on etcd (issue 19), the
//! rules only. Whatever talks to etcd (the daemon's task, the simulator's
//! virtual etcd) carries out the [`WitnessCommand`]s and reports
//! [`WitnessEvent`]s back with the time; this module decides who claims,
//! when the vote counts, and how often a claim is renewed.
//!
//! The rules (ARCHITECTURE.md, "The witness"), as corosync-qdevice's
//! ffsplit for two nodes, whose tie-breaker is here "the holder keeps it,
//! else the first claimant":
//! - The claimant of a partition is its DC (the lowest node id of the
//!   view, as `store::choose_dc`); the holder keeps claiming while it
//!   holds, so a split finds the vote where it was.
//! - The vote counts on the holder only, while the key names exactly the
//!   view's members and until [`valid_until`] of the request that last
//!   renewed the lease: a holder cut off from etcd loses it before etcd's
//!   lease expires and anyone else can take the key.
//! - A free witness is taken only by a partition sharing a member with
//!   the last one that held it ([`may_take`]): the wait_for_all of the
//!   witness. That partition acknowledged changes on all its members'
//!   disks (the store's two-node rule), so one of them brings the newest
//!   document; a node that slept through them never takes the vote alone,
//!   unless an operator says so (`paceline cluster unblock`, see
//!   [`Witness::unblock`]: refused while another partition holds the vote
//!   or etcd does not answer).

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::wire::NodeId;

/// What the membership asks of the witness's I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessCommand {
    /// Hold the witness for `members` (this node's view): create the key
    /// under this node's lease when it is absent, rewrite it when this
    /// node's lease holds it, and keep renewing and retrying every
    /// [`renew_every`] until told otherwise.
    Claim {
        view: u64,
        members: BTreeSet<NodeId>,
        /// Take a free key even when it last served a partition sharing
        /// no member with this one (an operator's `cluster unblock`).
        unblocked: bool,
    },
    /// Stop claiming and revoke this node's lease: sent only when this
    /// node does not count the vote (or is leaving), so nobody counts on
    /// a revoked lease.
    Release,
}

/// What the witness's I/O reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessEvent {
    /// The key names `members` under this node's lease, which etcd
    /// renewed (or granted) with `ttl` on a request sent at `sent_at`
    /// (this node's clock, read before the request left).
    Granted {
        members: BTreeSet<NodeId>,
        sent_at: Duration,
        ttl: Duration,
    },
    /// Another node's lease holds the key (`holder` as its value names
    /// it), or this node's lease is gone.
    HeldElsewhere { holder: String },
    /// etcd did not answer (the vote, if held, lapses by itself).
    Unreachable { why: String },
    /// The key is free, but it last served `last`, which shares no
    /// member with this partition ([`may_take`] refuses).
    LastServedOthers { last: BTreeSet<NodeId> },
}

/// The part of the lease's TTL kept back for clock rate and the time
/// between two ticks: the vote counts for 7/8 of the TTL after the
/// request that renewed it was sent. etcd counts its TTL from when it
/// received the request, which is later.
const TTL_KEPT_BACK_DIVISOR: u32 = 8;

/// Until when a grant of `ttl` renewed on a request sent at `sent_at`
/// counts.
pub fn valid_until(sent_at: Duration, ttl: Duration) -> Duration {
    sent_at + ttl - ttl / TTL_KEPT_BACK_DIVISOR
}

/// Whether a partition of `members` may take a free witness that last
/// served `last` (`None`: never held): only if they share a member.
/// Found by the simulator: a node that booted alone after its peer had
/// acknowledged changes by itself took the free witness and went on with
/// its older document, losing them.
pub fn may_take(last: Option<&BTreeSet<NodeId>>, members: &BTreeSet<NodeId>) -> bool {
    last.is_none_or(|l| !l.is_disjoint(members))
}

/// How often a claim is renewed (and a refused one retried): a third of
/// the TTL, and at least every half token timeout, so that a lapse is
/// seen within the time a lost node is.
pub fn renew_every(ttl: Duration, token_timeout: Duration) -> Duration {
    (ttl / 3)
        .min(token_timeout / 2)
        .max(Duration::from_millis(50))
}

/// The witness as `paceline status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessStatus {
    /// This node counts the witness's vote now.
    pub held: bool,
    /// This node is claiming it (the DC of its partition, or the holder).
    pub claiming: bool,
    /// The last thing the witness's I/O said, in a sentence.
    pub last: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    members: BTreeSet<NodeId>,
    until: Duration,
}

/// One node's view of the witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    own: NodeId,
    grant: Option<Grant>,
    /// The members of the last `Claim` sent, while claiming.
    claiming: Option<BTreeSet<NodeId>>,
    last: String,
    /// What the I/O said last, for `cluster unblock`.
    answer: Answer,
    /// The operator's `cluster unblock` lifted the last-partition rule
    /// for the next grant.
    unblocked: bool,
}

/// The kind of the I/O's last answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    None,
    Granted,
    HeldElsewhere,
    Unreachable,
    LastServedOthers,
}

impl Witness {
    pub fn new(own: NodeId) -> Self {
        Self {
            own,
            grant: None,
            claiming: None,
            last: "not asked yet".to_string(),
            answer: Answer::None,
            unblocked: false,
        }
    }

    /// The vote counts for a view of `members` at `now`.
    pub fn counts(&self, now: Duration, members: &BTreeSet<NodeId>) -> bool {
        self.grant
            .as_ref()
            .is_some_and(|g| &g.members == members && now < g.until)
    }

    /// Forgets a grant past its time.
    pub fn expire(&mut self, now: Duration) {
        if self.grant.as_ref().is_some_and(|g| now >= g.until) {
            self.grant = None;
            self.last = "the lease lapsed (etcd did not renew it in time)".to_string();
        }
    }

    /// What this node asks for in view `view` of `members` at `now`
    /// (`None`: nothing changes). View 0 gathers: nobody claims in it.
    pub fn on_view(
        &mut self,
        now: Duration,
        view: u64,
        members: &BTreeSet<NodeId>,
    ) -> Option<WitnessCommand> {
        self.expire(now);
        let claimant = view > 0 && members.first() == Some(&self.own);
        let wants = claimant || self.grant.is_some();
        match (&self.claiming, wants) {
            (Some(m), true) if m == members => None,
            (_, true) => {
                self.claiming = Some(members.clone());
                Some(WitnessCommand::Claim {
                    view,
                    members: members.clone(),
                    unblocked: self.unblocked,
                })
            }
            (Some(_), false) => {
                self.claiming = None;
                Some(WitnessCommand::Release)
            }
            (None, false) => None,
        }
    }

    /// Takes what the I/O reports. A grant for members other than the
    /// ones claimed last is stale (the view moved on meanwhile) and kept
    /// as it is: it counts for no other view.
    pub fn on_event(&mut self, event: WitnessEvent) {
        match event {
            WitnessEvent::Granted {
                members,
                sent_at,
                ttl,
            } => {
                if self.claiming.is_none() {
                    return;
                }
                (self.answer, self.unblocked) = (Answer::Granted, false);
                self.last = format!("held for {} (lease TTL {ttl:?})", names(&members));
                self.grant = Some(Grant {
                    members,
                    until: valid_until(sent_at, ttl),
                });
            }
            WitnessEvent::HeldElsewhere { holder } => {
                self.grant = None;
                self.answer = Answer::HeldElsewhere;
                self.last = format!("held by another partition ({holder})");
            }
            WitnessEvent::Unreachable { why } => {
                self.answer = Answer::Unreachable;
                self.last = format!("etcd unreachable: {why}");
            }
            WitnessEvent::LastServedOthers { last } => {
                self.grant = None;
                self.answer = Answer::LastServedOthers;
                self.last = format!(
                    "held by nobody, but it last served {}, absent here: their changes may be newer than this node's (start them, or `paceline cluster unblock`)",
                    names(&last)
                );
            }
        }
    }

    /// An operator's `cluster unblock` (votequorum's override of
    /// wait_for_all) in view `view` of `members`: Ok with the claim to
    /// send when it lifts the witness's own wait_for_all (the key is free
    /// but last served a partition absent here: this one takes it, and
    /// what that one acknowledged alone is lost, as with votequorum's
    /// unblock); refused while another partition holds the vote (it runs
    /// and may fence this one: both would run) or etcd does not answer
    /// (the vote cannot be replaced: the other node may hold it).
    pub fn unblock(
        &mut self,
        view: u64,
        members: &BTreeSet<NodeId>,
    ) -> Result<Option<WitnessCommand>, String> {
        match self.answer {
            Answer::HeldElsewhere => Err(format!(
                "refused: the witness's vote is {}; that partition is quorate and runs resources (it may fence this node), so unblocking here would run both sides. Stop that partition, or wait until its lease expires in etcd",
                self.last
            )),
            Answer::Unreachable | Answer::None => Err(format!(
                "refused: the witness did not answer ({}); without its vote this node is not quorate, and unblock cannot stand in for it: the other node may hold it",
                self.last
            )),
            Answer::Granted => Ok(None),
            Answer::LastServedOthers => {
                self.unblocked = true;
                let claimant = view > 0 && members.first() == Some(&self.own);
                Ok(claimant.then(|| {
                    self.claiming = Some(members.clone());
                    WitnessCommand::Claim {
                        view,
                        members: members.clone(),
                        unblocked: true,
                    }
                }))
            }
        }
    }

    /// A clean leave gives the vote up (the peer may take it at once).
    pub fn leave(&mut self) -> Option<WitnessCommand> {
        self.grant = None;
        self.claiming.take().map(|_| WitnessCommand::Release)
    }

    pub fn status(&self, now: Duration) -> WitnessStatus {
        WitnessStatus {
            held: self.grant.as_ref().is_some_and(|g| now < g.until),
            claiming: self.claiming.is_some(),
            last: self.last.clone(),
        }
    }
}

fn names(members: &BTreeSet<NodeId>) -> String {
    let ids: Vec<String> = members.iter().map(|m| format!("node {m}")).collect();
    ids.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn set(ids: &[NodeId]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    fn granted(members: &[NodeId], sent_at: Duration) -> WitnessEvent {
        WitnessEvent::Granted {
            members: set(members),
            sent_at,
            ttl: 2 * S,
        }
    }

    #[test]
    fn the_dc_claims_and_the_other_node_does_not() {
        let mut one = Witness::new(1);
        let mut two = Witness::new(2);
        let both = set(&[1, 2]);
        assert_eq!(
            one.on_view(S, 3, &both),
            Some(WitnessCommand::Claim {
                view: 3,
                members: both.clone(),
                unblocked: false,
            })
        );
        assert_eq!(two.on_view(S, 3, &both), None);
        // Nobody claims in view 0 (gathering).
        assert_eq!(Witness::new(1).on_view(S, 0, &set(&[1])), None);
        // A repeat of the same members asks nothing new.
        assert_eq!(one.on_view(S, 4, &both), None);
    }

    #[test]
    fn the_vote_counts_for_the_claimed_members_until_seven_eighths_of_the_ttl() {
        let mut w = Witness::new(2);
        w.on_view(S, 5, &set(&[2]));
        w.on_event(granted(&[2], S));
        let until = S + 2 * S - 2 * S / 8;
        assert!(w.counts(until - Duration::from_millis(1), &set(&[2])));
        assert!(!w.counts(until, &set(&[2])));
        // Not for another member set (a stale grant of an older view).
        assert!(!w.counts(S, &set(&[1, 2])));
        w.expire(until);
        assert!(!w.status(until).held);
    }

    #[test]
    fn the_holder_keeps_claiming_in_a_view_it_is_not_the_dc_of() {
        let mut w = Witness::new(2);
        w.on_view(S, 5, &set(&[2]));
        w.on_event(granted(&[2], S));
        // Node 1 rejoins: node 2 keeps the key, now naming both.
        assert_eq!(
            w.on_view(S, 6, &set(&[1, 2])),
            Some(WitnessCommand::Claim {
                view: 6,
                members: set(&[1, 2]),
                unblocked: false,
            })
        );
        // Once its lease is gone it stops claiming (node 1 is the DC).
        w.on_event(WitnessEvent::HeldElsewhere {
            holder: "node 1".into(),
        });
        assert_eq!(
            w.on_view(S, 6, &set(&[1, 2])),
            Some(WitnessCommand::Release)
        );
    }

    #[test]
    fn a_grant_arriving_after_release_counts_nothing_and_leave_releases() {
        let mut w = Witness::new(2);
        w.on_event(granted(&[2], S));
        assert!(!w.counts(S, &set(&[2])));
        w.on_view(S, 5, &set(&[2]));
        assert_eq!(w.leave(), Some(WitnessCommand::Release));
        assert_eq!(w.leave(), None);
    }

    #[test]
    fn a_free_witness_goes_only_to_a_partition_sharing_a_member_with_the_last() {
        assert!(may_take(None, &set(&[2])));
        assert!(may_take(Some(&set(&[1, 2])), &set(&[2])));
        assert!(!may_take(Some(&set(&[1])), &set(&[2])));
        assert!(may_take(Some(&set(&[1])), &set(&[1, 2])));
    }

    /// Issue 19: what `cluster unblock` does with a witness. A node alone
    /// after a cold start: its unblock lifts the witness's own
    /// wait_for_all (the key free, last serving its absent peer), and is
    /// refused while another partition holds the vote or etcd is silent.
    #[test]
    fn unblock_lifts_the_last_partition_rule_and_never_takes_a_held_vote() {
        let alone = set(&[2]);
        let mut w = Witness::new(2);
        w.on_view(S, 5, &alone);
        let silent = w.unblock(5, &alone).unwrap_err();
        assert!(silent.contains("did not answer"), "{silent}");
        w.on_event(WitnessEvent::HeldElsewhere {
            holder: "node 1".into(),
        });
        let held = w.unblock(5, &alone).unwrap_err();
        assert!(
            held.contains("both sides") && held.contains("node 1"),
            "{held}"
        );
        w.on_event(WitnessEvent::LastServedOthers { last: set(&[1]) });
        assert!(w.status(S).last.contains("cluster unblock"));
        let claim = WitnessCommand::Claim {
            view: 5,
            members: alone.clone(),
            unblocked: true,
        };
        assert_eq!(w.unblock(5, &alone), Ok(Some(claim.clone())));
        // Until it is granted, every claim lifts the rule; then none.
        assert_eq!(w.on_view(S, 6, &alone), None, "same members");
        w.on_event(granted(&[2], S));
        assert!(w.counts(S, &alone));
        w.on_event(WitnessEvent::Unreachable { why: "x".into() });
        let mut again = Witness::new(2);
        again.on_view(S, 7, &alone);
        again.on_event(WitnessEvent::LastServedOthers { last: set(&[1]) });
        again.unblock(7, &alone).unwrap();
        again.on_event(granted(&[2], S));
        assert_eq!(
            again.on_view(S, 8, &set(&[1, 2])),
            Some(WitnessCommand::Claim {
                view: 8,
                members: set(&[1, 2]),
                unblocked: false,
            }),
            "one grant per unblock"
        );
        // A node that is not its partition's claimant asks nothing.
        let mut two = Witness::new(2);
        two.on_event(WitnessEvent::LastServedOthers { last: set(&[3]) });
        assert_eq!(two.unblock(9, &set(&[1, 2])), Ok(None));
    }

    #[test]
    fn renewal_is_a_third_of_the_ttl_at_most_half_the_token_timeout() {
        assert_eq!(
            renew_every(3 * S, 10 * S),
            S,
            "a third of the TTL when the token timeout is long"
        );
        assert_eq!(renew_every(3 * S, S), S / 2);
    }
}
