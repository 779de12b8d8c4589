//! Durations as written in the config ("200ms", "20s", "2m", "1h"; a bare
//! number is seconds as in Pacemaker).

use std::time::Duration;

use super::ExecError;

pub fn parse_duration(text: &str) -> Result<Duration, ExecError> {
    let t = text.trim();
    let bad = || ExecError::BadDuration(text.to_string());
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "ms" => n,
        "" | "s" | "sec" => n.checked_mul(1000).ok_or_else(bad)?,
        "m" | "min" => n.checked_mul(60_000).ok_or_else(bad)?,
        "h" | "hr" => n.checked_mul(3_600_000).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("20s").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("20").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("2x").is_err());
        assert!(parse_duration("").is_err());
    }
}
