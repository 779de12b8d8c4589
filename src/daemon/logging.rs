//! Where the daemon's lines go. Under systemd (stderr is the stream named
//! by `$JOURNAL_STREAM`, systemd.exec(5)) each line is one journal entry,
//! sent with the `systemd-journal-logger` crate over the native protocol,
//! with a priority and, where a line is about one, the fields `NODE`,
//! `RESOURCE` and `OPERATION` (`journalctl -u pacelined RESOURCE=db`).
//! Elsewhere it is a line on stderr with a UTC timestamp. Logging never
//! stops the daemon: an entry the journal refuses goes to stderr instead,
//! and a closed stderr loses the line (no `eprintln!`, which panics).

use std::sync::OnceLock;

use log::Level;
use systemd_journal_logger::JournalLog;

/// How important a line is. Journal priorities (syslog's): `Error` 3,
/// `Warning` 4, `Notice` 5 (the default: membership, fencing, results),
/// `Info` 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Error,
    Warning,
    Notice,
    Info,
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

    /// The `log` level the journal logger turns into this priority.
    fn level(self) -> Level {
        match self {
            Priority::Error => Level::Error,
            Priority::Warning => Level::Warn,
            Priority::Notice => Level::Info,
            Priority::Info => Level::Debug,
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
