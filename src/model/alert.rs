//! Alerts (Pacemaker's `<alerts>`): agents run on cluster events with the
//! `CRM_alert_*` environment. Typed here; `config` parses them (both the
//! TOML and the CIB), the daemon runs them.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Attributes;

/// An alert agent's default timeout (Pacemaker's).
pub const DEFAULT_ALERT_TIMEOUT: Duration = Duration::from_secs(30);
/// Pacemaker's default `timestamp-format`.
pub const DEFAULT_TIMESTAMP_FORMAT: &str = "%H:%M:%S.%06N";

/// What an alert can be sent for (`select`; none selected means all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AlertKind {
    Node,
    Fencing,
    Resource,
    Attribute,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] = [
        AlertKind::Node,
        AlertKind::Fencing,
        AlertKind::Resource,
        AlertKind::Attribute,
    ];

    /// The name in `select`, and `CRM_alert_kind`'s value.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::Node => "node",
            AlertKind::Fencing => "fencing",
            AlertKind::Resource => "resource",
            AlertKind::Attribute => "attribute",
        }
    }
}

/// One piece of a `timestamp-format` (date(1)'s conversions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StampPiece {
    Text(String),
    /// A strftime conversion character (`Y`, `m`, `d`, `H`, `M`, `S`, ...).
    Field(char),
    /// `%N` (nanoseconds) with this many leading digits kept (`%06N`,
    /// `%3N`: Pacemaker's extension for sub-second precision).
    Fraction(u8),
}

/// A `timestamp-format`, parsed by `config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampFormat(pub Vec<StampPiece>);

impl fmt::Display for TimestampFormat {
    /// The format as written (for `config import-cib`'s TOML).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.0 {
            match piece {
                StampPiece::Text(t) => write!(f, "{}", t.replace('%', "%%"))?,
                StampPiece::Field(c) => write!(f, "%{c}")?,
                StampPiece::Fraction(9) => write!(f, "%N")?,
                StampPiece::Fraction(d) => write!(f, "%0{d}N")?,
            }
        }
        Ok(())
    }
}

/// One `[[alert]]` (a CIB `<alert>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    /// The agent: an executable run with the `CRM_alert_*` environment.
    pub path: String,
    pub timeout: Duration,
    pub timestamp_format: TimestampFormat,
    /// Kinds sent; empty: all.
    pub select: Vec<AlertKind>,
    /// With attribute alerts: only these attributes (empty: all).
    pub attributes: Vec<String>,
    /// Passed to the agent as environment variables (instance attributes).
    pub params: Attributes,
    /// The agent runs once per recipient (once without one when none).
    pub recipients: Vec<AlertRecipient>,
}

/// One recipient of an alert, with what it overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecipient {
    pub id: String,
    /// `CRM_alert_recipient`: a file, an address, whatever the agent takes.
    pub value: String,
    pub timeout: Option<Duration>,
    pub timestamp_format: Option<TimestampFormat>,
    pub params: Attributes,
}

impl Alert {
    /// Whether events of `kind` are sent to this alert.
    pub fn selects(&self, kind: AlertKind) -> bool {
        self.select.is_empty() || self.select.contains(&kind)
    }
}
