//! `[[alert]]` (Pacemaker's `<alerts>`): the TOML as written, its checks,
//! and the one parser of `timestamp-format` (the CIB importer calls it too).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::convert::value_to_string;
use super::document::{AttrMap, S};
use super::error::{Diagnostic, SourceMap};
use crate::model::Attributes;
use crate::model::alert::{
    Alert, AlertKind, AlertRecipient, DEFAULT_ALERT_TIMEOUT, DEFAULT_TIMESTAMP_FORMAT, StampPiece,
    TimestampFormat,
};

/// Alerts at most, and recipients per alert: each event runs one agent
/// per recipient.
pub const MAX_ALERTS: usize = 32;
pub const MAX_RECIPIENTS: usize = 32;

/// The strftime conversions a `timestamp-format` may use (date(1)'s common
/// ones); `N` is handled apart (sub-second digits).
pub const STAMP_FIELDS: &str = "aAbBdDeFHIjmMpsSTyYzZ";

/// One `[[alert]]` as written.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertDoc {
    pub id: S<String>,
    pub path: S<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub select: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<S<String>>,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub params: AttrMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipient: Vec<RecipientDoc>,
}

/// One `[[alert.recipient]]` as written.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientDoc {
    pub id: S<String>,
    pub value: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<S<String>>,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub params: AttrMap,
}

/// Why a `timestamp-format` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    #[error("`%{0}` is not a conversion a timestamp-format may use")]
    Unknown(char),
    #[error("a timestamp-format ends with a lone `%`")]
    Trailing,
    #[error("`%{0}N` keeps 1 to 9 digits")]
    Digits(String),
}

/// Parses a `timestamp-format` (date(1)'s conversions, and `%N` with
/// Pacemaker's digit count: `%06N` microseconds, `%3N` milliseconds).
pub fn parse_timestamp_format(text: &str) -> Result<TimestampFormat, StampError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        let conversion = chars.next().ok_or(StampError::Trailing)?;
        let piece = match conversion {
            '%' if digits.is_empty() => {
                literal.push('%');
                continue;
            }
            'N' => StampPiece::Fraction(fraction_digits(&digits)?),
            c if digits.is_empty() && STAMP_FIELDS.contains(c) => StampPiece::Field(c),
            c => return Err(StampError::Unknown(c)),
        };
        if !literal.is_empty() {
            pieces.push(StampPiece::Text(std::mem::take(&mut literal)));
        }
        pieces.push(piece);
    }
    if !literal.is_empty() {
        pieces.push(StampPiece::Text(literal));
    }
    Ok(TimestampFormat(pieces))
}

fn fraction_digits(digits: &str) -> Result<u8, StampError> {
    if digits.is_empty() {
        return Ok(9);
    }
    match digits.parse::<u8>() {
        Ok(n @ 1..=9) => Ok(n),
        _ => Err(StampError::Digits(digits.to_string())),
    }
}

/// The typed alerts; every problem goes to `diags` at its span.
pub(crate) fn convert(
    docs: &[AlertDoc],
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Alert> {
    if docs.len() > MAX_ALERTS {
        diags.push(src.diag(
            docs[MAX_ALERTS].id.span(),
            format!("at most {MAX_ALERTS} alerts"),
            None,
        ));
    }
    docs.iter().map(|d| alert(d, src, diags)).collect()
}

fn alert(d: &AlertDoc, src: &SourceMap, diags: &mut Vec<Diagnostic>) -> Alert {
    if !d.path.get_ref().starts_with('/') {
        diags.push(
            src.diag(
                d.path.span(),
                format!("alert `{}`: path must be absolute", d.id.get_ref()),
                Some(
                    "the agent's full path, e.g. /usr/share/pacemaker/alerts/alert_file.sh.sample"
                        .into(),
                ),
            ),
        );
    }
    if d.recipient.len() > MAX_RECIPIENTS {
        let at = d.recipient[MAX_RECIPIENTS].id.span();
        diags.push(src.diag(
            at,
            format!("at most {MAX_RECIPIENTS} recipients per alert"),
            None,
        ));
    }
    let timeout = timeout(d.timeout.as_ref(), src, diags).unwrap_or(DEFAULT_ALERT_TIMEOUT);
    let stamp = d.timestamp_format.as_ref();
    Alert {
        id: d.id.get_ref().clone(),
        path: d.path.get_ref().clone(),
        timeout,
        timestamp_format: timestamp_format(stamp, src, diags).unwrap_or_else(default_format),
        select: select(&d.select, src, diags),
        attributes: d.attributes.iter().map(|a| a.get_ref().clone()).collect(),
        params: params(&d.params, src, diags),
        recipients: d
            .recipient
            .iter()
            .map(|r| recipient(r, src, diags))
            .collect(),
    }
}

fn recipient(r: &RecipientDoc, src: &SourceMap, diags: &mut Vec<Diagnostic>) -> AlertRecipient {
    AlertRecipient {
        id: r.id.get_ref().clone(),
        value: r.value.get_ref().clone(),
        timeout: timeout(r.timeout.as_ref(), src, diags),
        timestamp_format: timestamp_format(r.timestamp_format.as_ref(), src, diags),
        params: params(&r.params, src, diags),
    }
}

/// Pacemaker's default format, parsed.
pub fn default_format() -> TimestampFormat {
    parse_timestamp_format(DEFAULT_TIMESTAMP_FORMAT).unwrap_or(TimestampFormat(Vec::new()))
}

fn timeout(
    t: Option<&S<String>>,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<std::time::Duration> {
    let t = t?;
    match super::parse_duration(t.get_ref()) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            diags.push(src.diag(t.span(), "an alert's timeout must be more than 0", None));
            None
        }
        Err(e) => {
            diags.push(src.diag(t.span(), e.to_string(), Some("e.g. \"30s\"".into())));
            None
        }
    }
}

fn timestamp_format(
    t: Option<&S<String>>,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<TimestampFormat> {
    let t = t?;
    match parse_timestamp_format(t.get_ref()) {
        Ok(f) => Some(f),
        Err(e) => {
            let help = format!(
                "date(1)'s %{} and %N (%06N: microseconds)",
                STAMP_FIELDS
                    .chars()
                    .collect::<Vec<_>>()
                    .iter()
                    .map(char::to_string)
                    .collect::<Vec<_>>()
                    .join(" %")
            );
            diags.push(src.diag(t.span(), e.to_string(), Some(help)));
            None
        }
    }
}

fn select(written: &[S<String>], src: &SourceMap, diags: &mut Vec<Diagnostic>) -> Vec<AlertKind> {
    let mut kinds = BTreeSet::new();
    for s in written {
        match AlertKind::ALL.iter().find(|k| k.name() == s.get_ref()) {
            Some(k) => {
                kinds.insert(*k);
            }
            None => diags.push(src.diag(
                s.span(),
                format!("`{}` is not a kind of alert", s.get_ref()),
                Some("select among \"node\", \"fencing\", \"resource\" and \"attribute\"".into()),
            )),
        }
    }
    kinds.into_iter().collect()
}

fn params(map: &AttrMap, src: &SourceMap, diags: &mut Vec<Diagnostic>) -> Attributes {
    let mut out = Attributes::new();
    for (k, v) in map {
        let name_ok = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match value_to_string(v.get_ref()) {
            Some(value) if name_ok => {
                out.insert(k.clone(), value);
            }
            _ => diags.push(src.diag(
                v.span(),
                format!("alert parameter `{k}` must be a NAME (letters, digits, _) with a string, number or boolean"),
                Some("alert parameters become the agent's environment variables".into()),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_formats_parse_and_print_back() {
        for text in [
            "%H:%M:%S.%06N",
            "%Y-%m-%d %H:%M:%S",
            "%s.%03N",
            "100%% at %T",
            "%N",
        ] {
            let f = parse_timestamp_format(text).unwrap();
            assert_eq!(f.to_string(), text);
        }
        assert_eq!(parse_timestamp_format("%Q"), Err(StampError::Unknown('Q')));
        assert_eq!(parse_timestamp_format("%H:%"), Err(StampError::Trailing));
        assert_eq!(
            parse_timestamp_format("%012N"),
            Err(StampError::Digits("012".into()))
        );
        assert_eq!(parse_timestamp_format("%3H"), Err(StampError::Unknown('H')));
    }

    const BASE: &str = "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n";

    fn load(alerts: &str) -> Result<Vec<Alert>, String> {
        crate::config::load_runnable_str(&format!("{BASE}{alerts}"), "c.toml")
            .map(|c| c.model.alerts)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn alerts_are_typed_with_pacemakers_defaults() {
        let alerts = load(
            "[[alert]]\nid = \"file\"\npath = \"/usr/share/pacemaker/alerts/alert_file.sh.sample\"\n\
             select = [\"resource\", \"node\"]\nparams = { debug_exec_order = true }\n\
             [[alert.recipient]]\nid = \"file-1\"\nvalue = \"/var/log/a.log\"\ntimeout = \"5s\"\ntimestamp_format = \"%s\"\n",
        )
        .unwrap();
        let a = &alerts[0];
        assert_eq!(a.timeout, DEFAULT_ALERT_TIMEOUT);
        assert_eq!(a.timestamp_format.to_string(), DEFAULT_TIMESTAMP_FORMAT);
        assert_eq!(a.select, vec![AlertKind::Node, AlertKind::Resource]);
        assert!(a.selects(AlertKind::Resource) && !a.selects(AlertKind::Fencing));
        assert_eq!(
            a.params.get("debug_exec_order").map(String::as_str),
            Some("true")
        );
        let r = &a.recipients[0];
        assert_eq!(
            (r.value.as_str(), r.timeout),
            ("/var/log/a.log", Some(std::time::Duration::from_secs(5)))
        );
        assert_eq!(
            r.timestamp_format
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("%s")
        );
    }

    #[test]
    fn bad_alerts_are_refused_where_written() {
        for (alert, message, line) in [
            (
                "[[alert]]\nid = \"a\"\npath = \"alert.sh\"\n",
                "path must be absolute",
                11,
            ),
            (
                "[[alert]]\nid = \"a\"\npath = \"/a\"\nselect = [\"nodes\"]\n",
                "not a kind of alert",
                12,
            ),
            (
                "[[alert]]\nid = \"a\"\npath = \"/a\"\ntimeout = \"soon\"\n",
                "",
                12,
            ),
            (
                "[[alert]]\nid = \"a\"\npath = \"/a\"\ntimeout = \"0s\"\n",
                "more than 0",
                12,
            ),
            (
                "[[alert]]\nid = \"a\"\npath = \"/a\"\ntimestamp_format = \"%Q\"\n",
                "`%Q`",
                12,
            ),
            (
                "[[alert]]\nid = \"a\"\npath = \"/a\"\nparams = { \"a-b\" = \"x\" }\n",
                "NAME",
                12,
            ),
            (
                "[[alert]]\nid = \"a\"\npath = \"/a\"\n[[alert]]\nid = \"a\"\npath = \"/b\"\n",
                "duplicate id",
                13,
            ),
            (
                "[[alert]]\nid = \"a\"\npath = \"/a\"\n[[alert.recipient]]\nid = \"a\"\nvalue = \"x\"\n",
                "duplicate id",
                13,
            ),
            (
                "[[alert]]\nid = \"a\"\npath = \"/a\"\n[[alert.recipient]]\nid = \"r\"\n",
                "missing field `value`",
                12,
            ),
        ] {
            let err = load(alert).unwrap_err();
            assert!(err.contains(message), "{alert}: {err}");
            assert!(err.contains(&format!("c.toml:{line}:")), "{alert}: {err}");
        }
    }
}
