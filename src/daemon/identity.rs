//! This node's identity on the wire: its incarnation, persisted and
//! monotonically increasing, and the rate-limited log of what peers'
//! traffic was refused for.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::membership::Refusal;
use crate::store::persist;
use crate::wire::NodeId;

/// The file under the state directory holding the last incarnation used.
pub const INCARNATION_FILE: &str = "incarnation.json";

/// The incarnation after `persisted`; without one (first start, or an
/// upgrade from a build that used the start time), the wall clock in
/// microseconds, which is above any such build's incarnation. `None` when
/// the counter is exhausted.
pub fn next_incarnation(persisted: Option<u64>, wall_micros: u64) -> Option<u64> {
    match persisted {
        Some(last) => last.checked_add(1),
        None => Some(wall_micros.max(1)),
    }
}

/// Takes the next incarnation and makes it durable before it is used: a
/// reused incarnation would repeat AEAD nonces and let peers take the new
/// process's packets for replays. The wall clock is read only on the first
/// start, so a clock set back no longer makes a node look older than itself.
pub fn take_incarnation(state_dir: &Path) -> anyhow::Result<u64> {
    let path = state_dir.join(INCARNATION_FILE);
    let persisted: Option<u64> = persist::load(&path)?;
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let next = next_incarnation(persisted, wall).with_context(|| {
        format!(
            "{} holds the largest incarnation there is; remove it (peers must then be restarted to forget this node's)",
            path.display()
        )
    })?;
    persist::save(&path, &next)?;
    Ok(next)
}

/// What a log line is about; each kind of refusal of each node is limited
/// on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    UnknownNode(NodeId),
    Refused(NodeId, RefusalKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    OlderBuild,
    OlderIncarnation,
    ViewIdOutOfRange,
    NoCommonVersion,
}

impl From<Refusal> for RefusalKind {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::OlderBuild => RefusalKind::OlderBuild,
            Refusal::OlderIncarnation { .. } => RefusalKind::OlderIncarnation,
            Refusal::ViewIdOutOfRange(_) => RefusalKind::ViewIdOutOfRange,
            Refusal::NoCommonVersion(_) => RefusalKind::NoCommonVersion,
        }
    }
}

/// One line per topic per `every`; the next line says how many were
/// suppressed, so a flood neither fills the log nor goes unseen.
#[derive(Debug)]
pub struct RateLimitedLog {
    every: Duration,
    /// Per topic: when it was last logged and how many were held back since.
    topics: HashMap<Topic, (Instant, u64)>,
}

/// Topics remembered at most (node ids are 16 bits; kinds are few).
const MAX_TOPICS: usize = 4096;

impl RateLimitedLog {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            topics: HashMap::new(),
        }
    }

    /// The line to log now for `topic`, if any: `line` with the count of
    /// lines suppressed since the last one.
    pub fn admit(&mut self, now: Instant, topic: Topic, line: String) -> Option<String> {
        if self.topics.len() >= MAX_TOPICS && !self.topics.contains_key(&topic) {
            let every = self.every;
            self.topics
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < every);
        }
        match self.topics.get_mut(&topic) {
            Some((at, held)) if now.saturating_duration_since(*at) < self.every => {
                *held = held.saturating_add(1);
                None
            }
            Some((at, held)) => {
                let suppressed = std::mem::take(held);
                *at = now;
                Some(if suppressed > 0 {
                    format!("{line} ({suppressed} more since the last such line)")
                } else {
                    line
                })
            }
            None => {
                self.topics.insert(topic, (now, 0));
                Some(line)
            }
        }
    }
}

/// The log line for a refused heartbeat of the configured node `name`.
pub fn describe_refusal(name: &str, why: Refusal) -> String {
    match why {
        Refusal::OlderBuild => format!(
            "node {name} runs an older build (heartbeats of protocol version 3 or less prove no liveness); it is not counted as a member until it is upgraded"
        ),
        Refusal::OlderIncarnation { theirs, known } => format!(
            "node {name} answers from incarnation {theirs} while incarnation {known} of it is alive: two processes claim its id (or its state directory was reset); the lower one is refused"
        ),
        Refusal::ViewIdOutOfRange(id) => format!(
            "node {name} announces view id {id}, beyond the largest accepted ({}); its heartbeats are refused",
            crate::membership::MAX_VIEW_ID
        ),
        Refusal::NoCommonVersion(theirs) => format!(
            "node {name} speaks protocol versions {theirs}, this node {}: none in common (more than one release apart); upgrade one release at a time",
            crate::wire::VersionRange::SPOKEN
        ),
    }
}

impl super::Daemon {
    /// Logs `line` unless a line of the same topic was logged within
    /// `PEER_LOG_EVERY` (then it is counted for the next one).
    pub(super) fn log_limited(&mut self, topic: Topic, line: String) {
        if let Some(line) = self.peer_log.admit(Instant::now(), topic, line) {
            super::log(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incarnation_grows_by_one_and_ignores_the_wall_clock_once_persisted() {
        // Before: the start time, so a node restarted with its clock an hour
        // behind had a lower incarnation and was refused by its peers.
        let hour_behind = 1_000_000u64;
        assert_eq!(
            next_incarnation(Some(5_000_000_000), hour_behind),
            Some(5_000_000_001)
        );
        assert_eq!(next_incarnation(None, 0), Some(1));
        assert_eq!(next_incarnation(None, 77), Some(77));
        assert_eq!(next_incarnation(Some(u64::MAX), 77), None);
    }

    #[test]
    fn the_incarnation_is_durable_before_it_is_used() {
        let dir = std::env::temp_dir().join(format!("pl-incarnation-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let first = take_incarnation(&dir).unwrap();
        let second = take_incarnation(&dir).unwrap();
        assert_eq!(second, first + 1);
        let stored: u64 = persist::load(&dir.join(INCARNATION_FILE)).unwrap().unwrap();
        assert_eq!(stored, second);
        persist::save(&dir.join(INCARNATION_FILE), &u64::MAX).unwrap();
        assert!(take_incarnation(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn log_lines_are_limited_per_topic_and_count_what_was_held_back() {
        let mut log = RateLimitedLog::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let topic = Topic::UnknownNode(9);
        assert!(log.admit(t0, topic, "a".into()).is_some());
        for i in 1..1000 {
            assert_eq!(
                log.admit(t0 + Duration::from_millis(i), topic, "a".into()),
                None
            );
        }
        // Another topic is not held back by the first.
        let other = Topic::Refused(2, RefusalKind::OlderBuild);
        assert!(log.admit(t0, other, "b".into()).is_some());
        let later = log.admit(t0 + Duration::from_secs(61), topic, "a".into());
        assert_eq!(
            later.as_deref(),
            Some("a (999 more since the last such line)")
        );
    }
}
