//! Protocol versions a node speaks and the one a cluster speaks (sans-IO).
//!
//! Each node advertises the range of protocol versions it speaks in the
//! tail of its heartbeats (`Heartbeat::speaks`); a heartbeat without one
//! comes from release 0.1.0, which speaks exactly version 4. A view speaks
//! the highest version every member speaks (`negotiate`), and nothing newer
//! than that is sent to any member: channel frames are sealed with it and a
//! cluster message that needs more is not sent (`node::protocol`).
//!
//! The rule that keeps rolling upgrades possible: each release speaks the
//! version of the release before it (`SPOKEN.min` is the previous release's
//! `max`), so a cluster can always run one release and the next side by
//! side while its nodes are upgraded one at a time. A cluster mixes at most
//! two consecutive releases.

use serde::{Deserialize, Serialize};

/// An inclusive range of protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRange {
    pub min: u8,
    pub max: u8,
}

impl VersionRange {
    /// What this build speaks: the previous release's version (4, release
    /// 0.1.0) up to its own (`PROTOCOL_VERSION`).
    pub const SPOKEN: VersionRange = VersionRange {
        min: 4,
        max: super::codec::PROTOCOL_VERSION,
    };

    /// What a heartbeat without an advertised range speaks: release 0.1.0
    /// (commit 348a1ca, see `RELEASES`) sends none and speaks version 4 only.
    pub const RELEASE_0_1: VersionRange = VersionRange { min: 4, max: 4 };

    /// The versions both ranges speak, if any.
    pub fn common(self, other: VersionRange) -> Option<VersionRange> {
        let min = self.min.max(other.min);
        let max = self.max.min(other.max);
        (min <= max).then_some(VersionRange { min, max })
    }
}

impl Default for VersionRange {
    /// A heartbeat that advertises nothing is release 0.1.0's.
    fn default() -> Self {
        VersionRange::RELEASE_0_1
    }
}

impl std::fmt::Display for VersionRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..={}", self.min, self.max)
        }
    }
}

/// The version a group of nodes speaks: the highest one in every range, or
/// `None` when the ranges share none (more than two releases mixed).
pub fn negotiate(ranges: impl IntoIterator<Item = VersionRange>) -> Option<u8> {
    let mut ranges = ranges.into_iter();
    let first = ranges.next()?;
    ranges
        .try_fold(first, |acc, r| acc.common(r))
        .map(|r| r.max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn r(min: u8, max: u8) -> VersionRange {
        VersionRange { min, max }
    }

    #[test]
    fn a_view_speaks_the_highest_version_every_member_speaks() {
        // (members' ranges, the view's version)
        let cases: &[(&[VersionRange], Option<u8>)] = &[
            (&[VersionRange::SPOKEN], Some(VersionRange::SPOKEN.max)),
            (&[VersionRange::SPOKEN, VersionRange::SPOKEN], Some(5)),
            // A node of release 0.1.0 pulls the view down to 4.
            (&[VersionRange::SPOKEN, VersionRange::RELEASE_0_1], Some(4)),
            (&[r(4, 5), r(5, 6)], Some(5)),
            // Three releases mixed: nothing in common.
            (&[r(4, 4), r(4, 5), r(5, 6)], None),
            (&[r(6, 7), VersionRange::SPOKEN], None),
            (&[], None),
        ];
        for (ranges, expected) in cases {
            assert_eq!(negotiate(ranges.iter().copied()), *expected, "{ranges:?}");
        }
    }

    #[test]
    fn each_release_speaks_the_one_before() {
        assert_eq!(VersionRange::SPOKEN.min, VersionRange::RELEASE_0_1.max);
        assert!(
            VersionRange::SPOKEN
                .common(VersionRange::RELEASE_0_1)
                .is_some()
        );
        assert_eq!(VersionRange::default(), VersionRange::RELEASE_0_1);
        assert_eq!(r(4, 5).to_string(), "4..=5");
    }
}
