//! The document's writer thread: the cluster's document is written and
//! fsynced here, off the event loop, so a slow disk (a busy database
//! server's fsync can take a second) delays what waits for the write (the
//! store's replies, acknowledgements and the messages after a Persist),
//! never the heartbeats (issue 21, disk faults).
//!
//! One write at a time: the store hands the newest document it holds when
//! the previous write is done (`ClusterStore` coalesces), so a slow disk
//! costs one write per fsync, whatever the rate of status patches.

use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::node::protocol::ClusterDocument;
use crate::store::persist;

/// A write that took longer than this is reported (log and status).
pub const SLOW_WRITE: Duration = Duration::from_millis(500);

/// One write done, as the writer thread reports it to the event loop.
#[derive(Debug)]
pub struct Written {
    /// The store's number of the Persist written (it covers the ones before).
    pub seq: u64,
    pub result: Result<WriteStats, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    pub bytes: usize,
    pub took: Duration,
}

/// How a document is made durable (the writer thread's job; a test may
/// pass its own).
pub type SaveFn = Box<dyn FnMut(&ClusterDocument) -> Result<usize, String> + Send>;

/// The sending half: documents to write, by their Persist number.
pub struct WriterHandle {
    tx: std_mpsc::Sender<(u64, ClusterDocument)>,
}

impl WriterHandle {
    /// Hands a document to the thread; false if the thread is gone.
    pub fn submit(&self, seq: u64, doc: ClusterDocument) -> bool {
        self.tx.send((seq, doc)).is_ok()
    }
}

/// Starts the writer thread; each write done comes back on `done`.
pub fn spawn(
    mut save: SaveFn,
    done: mpsc::UnboundedSender<Written>,
) -> std::io::Result<WriterHandle> {
    let (tx, rx) = std_mpsc::channel::<(u64, ClusterDocument)>();
    std::thread::Builder::new()
        .name("document-writer".into())
        .spawn(move || {
            while let Ok((seq, doc)) = rx.recv() {
                let started = Instant::now();
                let result = save(&doc).map(|bytes| WriteStats {
                    bytes,
                    took: started.elapsed(),
                });
                if done.send(Written { seq, result }).is_err() {
                    return;
                }
            }
        })?;
    Ok(WriterHandle { tx })
}

/// The daemon's way to write: `persist::save` (temp file, fsync, rename,
/// fsync the directory), with a failure said plainly. Only what changed
/// is written: the whole document to `path` when its configuration
/// differs from the last one written there, else the status alone to
/// `STATUS_FILE` beside it (with the version of the document file it
/// completes). Why not an append log of patches: the store hands whole
/// documents to persist (its Persist carries no patch), a status file
/// needs no replay or compaction on load, and coalescing already bounds
/// the writes to one per fsync; the status (operation history) remains
/// the bulk of a write.
pub fn save_to(path: PathBuf) -> SaveFn {
    let status_path = path.with_file_name(super::cluster::STATUS_FILE);
    let mut written: Option<(crate::store::Version, String)> = None;
    Box::new(move |doc| match &written {
        Some((base, config)) if *config == doc.config => {
            let status = super::cluster::StatusFile {
                base: *base,
                version: doc.version,
                promised: doc.promised,
                status: doc.status.clone(),
            };
            persist::save_counted(&status_path, &status).map_err(|e| explain(&status_path, &e))
        }
        _ => {
            let bytes = persist::save_counted(&path, doc).map_err(|e| explain(&path, &e))?;
            written = Some((doc.version, doc.config.clone()));
            Ok(bytes)
        }
    })
}

/// A write failure in words an operator acts on: a full or read-only state
/// directory named as such.
pub fn explain(path: &std::path::Path, e: &persist::PersistError) -> String {
    use std::io::ErrorKind;
    let dir = path.parent().unwrap_or(path).display();
    let kind = match e {
        persist::PersistError::Write { source, .. } => Some(source.kind()),
        _ => None,
    };
    match kind {
        Some(ErrorKind::StorageFull) => {
            format!("{e} (the state directory {dir} is full: ENOSPC; free space there)")
        }
        Some(ErrorKind::QuotaExceeded) => {
            format!("{e} (the state directory {dir} is over its quota: EDQUOT)")
        }
        Some(ErrorKind::ReadOnlyFilesystem) => {
            format!("{e} (the state directory {dir} is on a read-only filesystem: EROFS)")
        }
        _ => e.to_string(),
    }
}
