//! The agents' attribute file (the shims' `attributes.json` in the state
//! directory), read off the event loop: on a slow disk a read there can
//! wait as long as an fsync (a second on a busy database server; with the
//! directory being fsynced, a lookup in it waits for that fsync), and the
//! loop sends the heartbeats (issue 21, disk faults: the read on every
//! 500 ms channel tick held the loop 0.4-1 s and node1 lost node2, with
//! token 1 s, over a filesystem whose fsync takes 1 s; tests/netns_disk.rs).
//!
//! Reads happen on the agents' threads (after an agent exits, before its
//! result is sent: attributes precede results, as attrd's updates do in
//! Pacemaker) and on a poller thread (every [`POLL`], for attributes set
//! outside an action). Each read is numbered under a lock, in the order
//! the file was read, so the loop applies a snapshot only when it is newer
//! than the last one it applied and never goes back to an older file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::executor::agent_env::{self, Attributes};

/// How often the poller reads the file (attributes set outside an action:
/// an operator's `attrd_updater`, an agent's background job).
pub const POLL: Duration = Duration::from_millis(500);

/// The file as read at one moment, numbered in the order of the reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub seq: u64,
    pub attributes: Attributes,
    /// Nodes whose entries were removed from the file just before this
    /// read (`AttributeReader::forget`): the loop forgets them too.
    pub forgotten: Vec<String>,
}

/// Reads the attribute file, one read at a time, numbering each.
#[derive(Debug)]
pub struct AttributeReader {
    path: PathBuf,
    /// The number of the last read (taken and read under the lock).
    last: Mutex<u64>,
}

impl AttributeReader {
    pub fn new(path: PathBuf) -> Arc<AttributeReader> {
        Arc::new(AttributeReader {
            path,
            last: Mutex::new(0),
        })
    }

    /// Reads the file now (may block on the disk: never on the loop).
    pub fn read(&self) -> Snapshot {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        *last = last.saturating_add(1);
        Snapshot {
            seq: *last,
            attributes: agent_env::read_attributes(&self.path),
            forgotten: Vec::new(),
        }
    }

    /// Removes what this node's agents set for `nodes` (transient
    /// attributes of other nodes, e.g. pgsql's primary sets its standby's
    /// promotion score) and reads the file: the status erased them when
    /// those nodes were fenced or left, and attrd forgets a lost peer's
    /// values too. Kept here, they would answer the agent's next query
    /// (`crm_attribute -N peer -G` reads this file first), so it would
    /// never set them again. Under the read lock, so a read from before
    /// is older than the snapshot returned and is never applied after it.
    pub fn forget(&self, nodes: &[String]) -> std::io::Result<Snapshot> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        agent_env::update_attributes(&self.path, |a| {
            for node in nodes {
                a.remove(node);
            }
        })?;
        *last = last.saturating_add(1);
        Ok(Snapshot {
            seq: *last,
            attributes: agent_env::read_attributes(&self.path),
            forgotten: nodes.to_vec(),
        })
    }
}

/// Reads the file every [`POLL`] on a thread of its own and sends each
/// read to the loop, until the loop is gone.
pub fn spawn_poller(
    reader: Arc<AttributeReader>,
    to_loop: mpsc::UnboundedSender<Snapshot>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("attribute-poller".into())
        .spawn(move || {
            loop {
                std::thread::sleep(POLL);
                if to_loop.send(reader.read()).is_err() {
                    return;
                }
            }
        })
        .map(|_| ())
}

/// What the loop keeps: the number of the last snapshot applied.
#[derive(Debug, Default)]
pub struct Applied(u64);

impl Applied {
    /// Whether `s` is newer than everything applied so far (then it counts
    /// as applied).
    pub fn take(&mut self, s: &Snapshot) -> bool {
        if s.seq <= self.0 {
            return false;
        }
        self.0 = s.seq;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pl-attrs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_are_numbered_in_order_and_an_older_one_is_never_applied() {
        let dir = temp("order");
        let file = dir.join("attributes.json");
        let reader = AttributeReader::new(file.clone());
        let before = reader.read();
        agent_env::update_attributes(&file, |a| {
            a.entry("n1".into())
                .or_default()
                .insert("master-db".into(), "100".into());
        })
        .unwrap();
        let after = reader.read();
        assert!(after.seq > before.seq);
        assert_eq!(after.attributes["n1"]["master-db"], "100");
        let mut applied = Applied::default();
        // The newer read arrives first (the agent's thread), the poller's
        // older one after it: the older one is not applied.
        assert!(applied.take(&after));
        assert!(!applied.take(&before));
        assert!(!applied.take(&after), "the same read twice");
        assert!(applied.take(&reader.read()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_forgotten_node_leaves_the_file_and_an_older_read_is_not_applied() {
        let dir = temp("forget");
        let file = dir.join("attributes.json");
        let reader = AttributeReader::new(file.clone());
        agent_env::update_attributes(&file, |a| {
            a.entry("n1".into())
                .or_default()
                .insert("x".into(), "1".into());
            a.entry("n2".into())
                .or_default()
                .insert("master-db".into(), "100".into());
        })
        .unwrap();
        let before = reader.read();
        let forgot = reader.forget(&["n2".to_string()]).unwrap();
        assert!(forgot.seq > before.seq);
        assert_eq!(forgot.forgotten, ["n2"]);
        assert!(!forgot.attributes.contains_key("n2"));
        assert_eq!(agent_env::read_attributes(&file)["n1"]["x"], "1");
        let mut applied = Applied::default();
        assert!(applied.take(&forgot));
        assert!(!applied.take(&before), "n2's value never comes back");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_poller_sends_reads_until_the_loop_is_gone() {
        let dir = temp("poller");
        let reader = AttributeReader::new(dir.join("attributes.json"));
        let (tx, mut rx) = mpsc::unbounded_channel();
        spawn_poller(reader, tx).unwrap();
        let first = rx.blocking_recv().unwrap();
        let second = rx.blocking_recv().unwrap();
        assert!(second.seq > first.seq);
        assert!(first.attributes.is_empty(), "no file: no attributes");
        drop(rx);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
