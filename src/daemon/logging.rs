//! Where the daemon's lines go. Under systemd (stderr is the stream named
//! by `$JOURNAL_STREAM`, systemd.exec(5)) each line is one journal entry,
//! sent with the `systemd-journal-logger` crate over the native protocol,
//! with a priority and, where a line is about one, the fields `NODE`,
//! `RESOURCE` and `OPERATION` (`journalctl -u pacelined RESOURCE=db`).
//! Elsewhere it is a line on stderr with a UTC timestamp. Logging never
//! stops the daemon: an entry the journal refuses goes to stderr instead,
//! and a closed stderr loses the line (no `eprintln!`, which panics).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use log::Level;
use systemd_journal_logger::JournalLog;

/// How important a line is. Journal priorities (syslog's): `Error` 3,
/// `Warning` 4, `Notice` 5 (the default: membership, fencing, results),
/// `Info` 6, `Debug` 7 (every API request; off unless asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// The least important priority written (`pacelined --log-level`,
/// changed at run time by `paceline cluster log-level`): Info by default.
static THRESHOLD: AtomicU8 = AtomicU8::new(Priority::Info as u8);

/// Writes lines up to `p` from now on; returns the previous threshold.
pub fn set_threshold(p: Priority) -> Priority {
    let before = THRESHOLD.swap(p as u8, Ordering::Relaxed);
    Priority::from_number(before).unwrap_or(Priority::Info)
}

/// Whether a line of priority `p` is written.
pub fn enabled(p: Priority) -> bool {
    p as u8 <= THRESHOLD.load(Ordering::Relaxed)
}

impl std::str::FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "error" | "err" => Ok(Priority::Error),
            "warning" | "warn" => Ok(Priority::Warning),
            "notice" => Ok(Priority::Notice),
            "info" => Ok(Priority::Info),
            "debug" => Ok(Priority::Debug),
            other => Err(format!(
                "`{other}` is not a log level (error, warning, notice, info, debug)"
            )),
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Priority::Error => "error",
            Priority::Warning => "warning",
            Priority::Notice => "notice",
            Priority::Info => "info",
            Priority::Debug => "debug",
        })
    }
}

impl Priority {
    /// A line's priority when the caller gave none: the daemon's warnings
    /// start with "WARNING".
    pub fn of_line(line: &str) -> Priority {
        if line.starts_with("WARNING") {
            Priority::Warning
        } else {
            Priority::Notice
        }
    }

    fn from_number(n: u8) -> Option<Priority> {
        [
            Priority::Error,
            Priority::Warning,
            Priority::Notice,
            Priority::Info,
            Priority::Debug,
        ]
        .into_iter()
        .find(|p| *p as u8 == n)
    }

    /// The `log` level the journal logger turns into this priority.
    fn level(self) -> Level {
        match self {
            Priority::Error => Level::Error,
            Priority::Warning => Level::Warn,
            Priority::Notice => Level::Info,
            Priority::Info => Level::Debug,
            Priority::Debug => Level::Trace,
        }
    }
}

/// What a line is about: the journal fields NODE, RESOURCE, OPERATION.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields<'a> {
    pub node: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub operation: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// The fields as the `log` crate's key-values (absent ones skipped).
    fn pairs(&self) -> [Option<(&'static str, &'a str)>; 3] {
        [
            self.node.map(|v| ("NODE", v)),
            self.resource.map(|v| ("RESOURCE", v)),
            self.operation.map(|v| ("OPERATION", v)),
        ]
    }
}

/// The journal, when stderr is connected to it (decided once).
fn journal() -> Option<&'static JournalLog> {
    static JOURNAL: OnceLock<Option<JournalLog>> = OnceLock::new();
    JOURNAL
        .get_or_init(|| {
            if !systemd_journal_logger::connected_to_journal() {
                return None;
            }
            JournalLog::new()
                .ok()
                .map(|j| j.with_syslog_identifier("pacelined".into()))
        })
        .as_ref()
}

/// Writes one line: a journal entry under systemd, else a timestamped
/// line on stderr.
pub fn write(priority: Priority, fields: &Fields, line: &str) {
    if !enabled(priority) {
        return;
    }
    if let Some(journal) = journal() {
        let pairs = fields.pairs();
        let sent = journal.journal_send(
            &log::Record::builder()
                .level(priority.level())
                .target("pacelined")
                .args(format_args!("{line}"))
                .key_values(&pairs)
                .build(),
        );
        if sent.is_ok() {
            return;
        }
    }
    super::say(&format!("{} pacelined: {line}", super::timestamp()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_warnings_and_other_lines_notices() {
        assert_eq!(
            Priority::of_line("WARNING: fencing is disabled"),
            Priority::Warning
        );
        assert_eq!(
            Priority::of_line("fencing node2 (reboot)"),
            Priority::Notice
        );
        assert_eq!(Priority::Error.level(), Level::Error);
        assert_eq!(Priority::Info.level(), Level::Debug);
        assert_eq!("Debug".parse::<Priority>(), Ok(Priority::Debug));
        assert!("loud".parse::<Priority>().is_err());
        assert_eq!(Priority::from_number(4), Some(Priority::Warning));
        assert!(Priority::Debug > Priority::Info && Priority::Error < Priority::Warning);
    }

    #[test]
    fn fields_become_journal_key_values() {
        use log::kv::Source;
        let fields = Fields {
            node: Some("node2"),
            resource: Some("db"),
            operation: None,
        };
        let pairs = fields.pairs();
        assert_eq!(pairs.count(), 2);
        let value = |key: &str| pairs.get(log::kv::Key::from(key)).map(|v| v.to_string());
        assert_eq!(value("NODE").as_deref(), Some("node2"));
        assert_eq!(value("RESOURCE").as_deref(), Some("db"));
        assert_eq!(value("OPERATION"), None);
    }
}
