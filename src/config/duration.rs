//! The one duration grammar of paceline: every duration written by a human
//! (the cluster file, the CIB, a CLI flag) is read by [`parse_duration`] and
//! travels on as a [`Duration`]; nothing downstream reads duration text
//! again (`tests/one_duration_grammar.rs` checks that no other parser
//! exists in the workspace).
//!
//! Forms (Pacemaker's `crm_get_msec` plus days, and ISO 8601 durations as
//! Pacemaker's interval specifications accept them):
//! - a whole number and a unit: `ms`/`msec`, `us`/`usec` (rounded down to
//!   milliseconds), `s`/`sec`, `m`/`min`, `h`/`hr` (each also with a
//!   plural `s`, in any case), `d`; white space around and between is
//!   allowed ("10 s");
//! - a bare whole number: seconds (Pacemaker's rule);
//! - ISO 8601: `P[nW][nD][T[nH][nM][nS]]`, e.g. "PT1H30M", "P1D". Years and
//!   months are refused: their length is not fixed.
//!
//! Durations above [`MAX_DURATION_MS`] (100 years) are refused, so that a
//! deadline computed from any of them (`Instant + Duration`, unix seconds)
//! cannot overflow.

use std::time::Duration;

/// 100 years of 365 days, in milliseconds.
pub const MAX_DURATION_MS: u64 = 100 * 365 * 86_400_000;

const FORMS: &str = "write a whole number and a unit (ms, s, m or min, h, d), e.g. \"200ms\", \"10s\", \"5min\", \"1d\", a bare number of seconds, or ISO 8601 (\"PT1H30M\")";

/// Why a text is not a duration; the message names the text and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration; {FORMS}")]
    Malformed(String),
    #[error("unknown unit `{unit}` in `{text}`; {FORMS}")]
    UnknownUnit { text: String, unit: String },
    #[error(
        "`{0}`: ISO 8601 years and months have no fixed length; write weeks or days (\"P30D\")"
    )]
    Calendar(String),
    #[error("`{0}` is too long; a duration is at most 100 years (36500d)")]
    TooLong(String),
}

impl DurationError {
    /// The text that was refused.
    pub fn text(&self) -> &str {
        match self {
            DurationError::Malformed(t)
            | DurationError::Calendar(t)
            | DurationError::TooLong(t)
            | DurationError::UnknownUnit { text: t, .. } => t,
        }
    }
}

/// Turns duration text into a duration (see the module documentation for
/// the forms). The only function of the workspace that does.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let ms = match t.strip_prefix('P') {
        Some(iso) => iso_ms(text, iso)?,
        None => unit_ms(text, t)?,
    };
    if ms > MAX_DURATION_MS {
        return Err(DurationError::TooLong(text.to_string()));
    }
    Ok(Duration::from_millis(ms))
}

/// A duration in whole milliseconds, as the model and the wire carry it.
/// Every duration from [`parse_duration`] fits.
pub fn as_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn unit_ms(text: &str, t: &str) -> Result<u64, DurationError> {
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() {
        return Err(DurationError::Malformed(text.to_string()));
    }
    let too_long = || DurationError::TooLong(text.to_string());
    let n: u64 = number.parse().map_err(|_| too_long())?;
    let unit = unit.trim().to_ascii_lowercase();
    if matches!(unit.as_str(), "us" | "usec" | "usecs") {
        return Ok(n / 1000);
    }
    let scale = match unit.as_str() {
        "ms" | "msec" | "msecs" => 1,
        "" | "s" | "sec" | "secs" => 1000,
        "m" | "min" | "mins" => 60_000,
        "h" | "hr" | "hrs" => 3_600_000,
        "d" => 86_400_000,
        _ if unit.starts_with('.') => return Err(DurationError::Malformed(text.to_string())),
        _ => {
            return Err(DurationError::UnknownUnit {
                text: text.to_string(),
                unit: unit.trim().to_string(),
            });
        }
    };
    n.checked_mul(scale).ok_or_else(too_long)
}

/// The part after `P`: designators in order, `T` before the time part.
fn iso_ms(text: &str, iso: &str) -> Result<u64, DurationError> {
    let malformed = || DurationError::Malformed(text.to_string());
    let too_long = || DurationError::TooLong(text.to_string());
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut in_time = false;
    let mut designators = 0;
    // Each designator may appear once, in this order.
    let mut last_rank = 0;
    for ch in iso.chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        if ch == 'T' {
            if in_time || !number.is_empty() {
                return Err(malformed());
            }
            in_time = true;
            continue;
        }
        let (rank, scale) = match (in_time, ch) {
            (false, 'Y') | (false, 'M') => return Err(DurationError::Calendar(text.to_string())),
            (false, 'W') => (1, 7 * 86_400_000),
            (false, 'D') => (2, 86_400_000),
            // Pacemaker reads `P10S` and `P2H` (no `T`) as times: H and S
            // cannot mean a date part, and the regression corpus writes
            // op intervals that way (history-1, intervals).
            (false, 'H') => (3, 3_600_000),
            (false, 'S') => (5, 1000),
            (true, 'H') => (3, 3_600_000),
            (true, 'M') => (4, 60_000),
            (true, 'S') => (5, 1000),
            _ => return Err(malformed()),
        };
        if number.is_empty() || rank <= last_rank {
            return Err(malformed());
        }
        last_rank = rank;
        let n: u64 = number.parse().map_err(|_| too_long())?;
        number.clear();
        let part = n.checked_mul(scale).ok_or_else(too_long)?;
        total = total.checked_add(part).ok_or_else(too_long)?;
        designators += 1;
    }
    if !number.is_empty() || designators == 0 || (in_time && last_rank < 3) {
        return Err(malformed());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: &str) -> u64 {
        as_ms(parse_duration(t).unwrap_or_else(|e| panic!("{t}: {e}")))
    }

    #[test]
    fn units_bare_seconds_and_iso() {
        for (text, want) in [
            ("200ms", 200),
            ("200 msec", 200),
            ("1500us", 1),
            ("10", 10_000),
            (" 10 s ", 10_000),
            ("10sec", 10_000),
            ("2m", 120_000),
            ("5min", 300_000),
            ("1h", 3_600_000),
            ("2hr", 7_200_000),
            ("3 SECS", 3_000),
            ("1d", 86_400_000),
            ("PT1H", 3_600_000),
            ("PT1H30M", 5_400_000),
            ("PT10S", 10_000),
            ("P1D", 86_400_000),
            ("P1W", 604_800_000),
            ("P1DT1S", 86_401_000),
            ("0", 0),
            ("P10S", 10_000),
            ("P1H", 3_600_000),
            ("36500d", MAX_DURATION_MS),
        ] {
            assert_eq!(ms(text), want, "{text}");
        }
    }

    #[test]
    fn refusals_name_the_text_and_the_fix() {
        for text in [
            "",
            "s",
            "-1s",
            "1.5s",
            "10 parsecs",
            "PT",
            "P",
            "PT1",
            "PT1D",
            "PT1S1M",
            "PT1H1H",
            "P1DT",
            "soon",
            "1 2s",
        ] {
            let e = parse_duration(text).expect_err(text);
            assert_eq!(e.text(), text);
            assert!(
                e.to_string().contains("e.g.") || e.to_string().contains("P30D"),
                "{e}"
            );
        }
        assert!(matches!(
            parse_duration("P1Y"),
            Err(DurationError::Calendar(_))
        ));
        assert!(matches!(
            parse_duration("P1M"),
            Err(DurationError::Calendar(_))
        ));
        assert!(matches!(
            parse_duration("10 parsecs"),
            Err(DurationError::UnknownUnit { .. })
        ));
    }

    #[test]
    fn overflow_is_refused_not_wrapped() {
        for text in [
            "36501d",
            "18446744073709551616",
            "99999999999999999999999ms",
            "213503982334601d",
            "P99999999999999999W",
            "PT5124095576030431H",
        ] {
            assert!(
                matches!(parse_duration(text), Err(DurationError::TooLong(_))),
                "{text}"
            );
        }
    }
}
