//! Configuration changes and what was acknowledged: each change sets
//! `node-action-limit` (harmless to placement) to a value of its own
//! through the API, as `paceline property set` does. An acknowledged
//! change may later be replaced only by a later change; a document
//! holding an older value, or a value nobody sent, lost one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::api::{self, Request, Response};
use crate::config::edit;

use super::stack::FIRST_LIMIT;

const PROPERTY: &str = "node-action-limit";

#[derive(Debug, Default)]
struct Entries {
    /// Every change sent, in order: (value, acknowledged).
    sent: Vec<(u64, bool)>,
}

/// The changes of a run; cheap to clone into the thread that makes one
/// while a fault is on.
#[derive(Debug, Clone, Default)]
pub struct Ledger(Arc<Mutex<Entries>>);

impl Ledger {
    /// Makes the next change through the daemon behind `socket` and
    /// records whether it was acknowledged.
    pub fn change(&self, socket: &Path) -> bool {
        let (index, value) = match self.0.lock() {
            Ok(mut e) => {
                let n = e.sent.len() as u64 + 1;
                // Within the property's range (0..=1024), new for 900 changes.
                let value = FIRST_LIMIT + 1 + n % 900;
                e.sent.push((value, false));
                (e.sent.len() - 1, value)
            }
            Err(_) => return false,
        };
        let acked = set_limit(socket, value).is_ok();
        if acked && let Ok(mut e) = self.0.lock() {
            e.sent[index].1 = true;
        }
        acked
    }

    pub fn change_in_background(&self, socket: PathBuf) -> JoinHandle<bool> {
        let ledger = self.clone();
        std::thread::spawn(move || ledger.change(&socket))
    }

    /// Changes sent and acknowledged so far.
    pub fn counts(&self) -> (usize, usize) {
        self.0
            .lock()
            .map(|e| (e.sent.len(), e.sent.iter().filter(|(_, a)| *a).count()))
            .unwrap_or_default()
    }

    /// Whether a node's document may hold `value`: the last acknowledged
    /// change's value, or one sent after it (acknowledged or not).
    pub fn allows(&self, value: u64) -> Result<(), String> {
        let Ok(e) = self.0.lock() else {
            return Ok(());
        };
        let last_acked = e.sent.iter().rposition(|(_, a)| *a);
        let from = last_acked.unwrap_or(0);
        let mut allowed: Vec<u64> = e.sent[from..].iter().map(|(v, _)| *v).collect();
        if last_acked.is_none() {
            allowed.push(FIRST_LIMIT);
        }
        if allowed.contains(&value) {
            return Ok(());
        }
        Err(format!(
            "{PROPERTY} is {value}; the last acknowledged change set {} (allowed now: {allowed:?})",
            last_acked.map_or(FIRST_LIMIT, |i| e.sent[i].0)
        ))
    }
}

/// ConfigShow, edit, ConfigLoad based on the version read (a concurrent
/// change is refused, never overwritten).
fn set_limit(socket: &Path, value: u64) -> Result<(), String> {
    let (text, version) = match api::call(socket, &Request::ConfigShow) {
        Ok(Response::Config { text, version }) => (text, version),
        other => return Err(format!("{other:?}")),
    };
    let text =
        edit::set_property(&text, PROPERTY, &value.to_string()).map_err(|e| e.to_string())?;
    let load = Request::ConfigLoad {
        text,
        file_name: "chaos".into(),
        based_on: version,
    };
    match api::call(socket, &load) {
        Ok(Response::ConfigApplied { .. }) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

/// The property's value in a node's running document, if it answers.
pub fn current(socket: &Path) -> Option<u64> {
    let Ok(Response::Config { text, .. }) = api::call(socket, &Request::ConfigShow) else {
        return None;
    };
    let doc: toml::Table = text.parse().ok()?;
    doc.get("properties")?
        .get(PROPERTY)?
        .as_integer()?
        .try_into()
        .ok()
}
