//! Pacemaker-style scores: integers clamped to ±INFINITY where -INFINITY wins.

use std::fmt;
use std::ops::{Add, AddAssign};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The magnitude Pacemaker treats as infinite.
pub const INFINITY: i64 = 1_000_000;

/// A placement score. Sums saturate at ±INFINITY and a -INFINITY term
/// dominates any +INFINITY term, so a ban can never be outvoted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "ScoreRepr", into = "ScoreRepr")]
pub struct Score(i64);

impl Score {
    pub const ZERO: Score = Score(0);
    pub const INFINITY: Score = Score(INFINITY);
    pub const MINUS_INFINITY: Score = Score(-INFINITY);

    pub fn new(value: i64) -> Score {
        Score(value.clamp(-INFINITY, INFINITY))
    }
    pub fn value(self) -> i64 {
        self.0
    }
    pub fn is_infinite(self) -> bool {
        self.0.abs() >= INFINITY
    }
    pub fn is_plus_infinity(self) -> bool {
        self.0 >= INFINITY
    }
    pub fn is_minus_infinity(self) -> bool {
        self.0 <= -INFINITY
    }
    /// Scale by a factor (used for colocation influence); infinite scores
    /// stay infinite.
    pub fn scaled(self, num: i64, den: i64) -> Score {
        if self.is_infinite() || den == 0 {
            return self;
        }
        Score::new(self.0.saturating_mul(num) / den)
    }
}

impl Add for Score {
    type Output = Score;
    fn add(self, rhs: Score) -> Score {
        if self.is_minus_infinity() || rhs.is_minus_infinity() {
            Score::MINUS_INFINITY
        } else if self.is_plus_infinity() || rhs.is_plus_infinity() {
            Score::INFINITY
        } else {
            Score::new(self.0.saturating_add(rhs.0))
        }
    }
}

impl AddAssign for Score {
    fn add_assign(&mut self, rhs: Score) {
        *self = *self + rhs;
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid score {0:?}: expected an integer, INFINITY, +INFINITY or -INFINITY")]
pub struct ScoreParseError(pub String);

impl FromStr for Score {
    type Err = ScoreParseError;
    fn from_str(s: &str) -> Result<Score, ScoreParseError> {
        let t = s.trim();
        match t.to_ascii_uppercase().as_str() {
            "INFINITY" | "+INFINITY" | "INF" | "+INF" => return Ok(Score::INFINITY),
            "-INFINITY" | "-INF" => return Ok(Score::MINUS_INFINITY),
            _ => {}
        }
        let digits = t.strip_prefix('+').unwrap_or(t);
        digits
            .parse::<i128>()
            .map(|v| Score::new(v.clamp(-(INFINITY as i128), INFINITY as i128) as i64))
            .map_err(|_| ScoreParseError(s.to_string()))
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_plus_infinity() {
            f.write_str("INFINITY")
        } else if self.is_minus_infinity() {
            f.write_str("-INFINITY")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Scores serialize as an integer or as "INFINITY"/"-INFINITY".
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ScoreRepr {
    Int(i64),
    Text(String),
}

impl TryFrom<ScoreRepr> for Score {
    type Error = ScoreParseError;
    fn try_from(r: ScoreRepr) -> Result<Score, ScoreParseError> {
        match r {
            ScoreRepr::Int(v) => Ok(Score::new(v)),
            ScoreRepr::Text(s) => s.parse(),
        }
    }
}

impl From<Score> for ScoreRepr {
    fn from(s: Score) -> ScoreRepr {
        if s.is_infinite() {
            ScoreRepr::Text(s.to_string())
        } else {
            ScoreRepr::Int(s.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinity_arithmetic() {
        assert_eq!(
            Score::INFINITY + Score::MINUS_INFINITY,
            Score::MINUS_INFINITY
        );
        assert_eq!(Score::INFINITY + Score::new(5), Score::INFINITY);
        assert_eq!(Score::new(999_999) + Score::new(5), Score::INFINITY);
        assert_eq!("-INFINITY".parse::<Score>(), Ok(Score::MINUS_INFINITY));
        assert_eq!("+INFINITY".parse::<Score>(), Ok(Score::INFINITY));
        assert_eq!("42".parse::<Score>(), Ok(Score::new(42)));
        assert!("x".parse::<Score>().is_err());
    }
}
