//! The fencing history: one JSON object per line, appended per device
//! operation, so `paceline fence history` can show who fenced whom, how and
//! with what result, even after a crash mid-write (a torn last line is
//! reported, earlier lines stay readable).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FenceResult {
    Ok,
    Failed,
    Timeout,
}

/// One device operation against one target. Times are milliseconds since
/// the Unix epoch, supplied by the caller (no clock in here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub target: String,
    pub device: String,
    pub action: String,
    pub requester: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub result: FenceResult,
    /// What the device or agent said; credentials must be stripped before.
    pub output: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot write fencing history {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read fencing history {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fencing history {path} line {line} is not a valid record: {source}")]
    Parse {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("cannot encode fencing history record: {0}")]
    Encode(serde_json::Error),
}

/// The default history file under the state directory.
pub fn default_history_path(state_dir: &Path) -> PathBuf {
    state_dir.join("fencing-history.jsonl")
}

pub fn append(path: &Path, record: &HistoryRecord) -> Result<(), HistoryError> {
    let write_err = |source| HistoryError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(write_err)?;
        }
    }
    let mut line = serde_json::to_string(record).map_err(HistoryError::Encode)?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(write_err)?;
    // One write per record keeps concurrent appenders from interleaving.
    file.write_all(line.as_bytes()).map_err(write_err)?;
    file.sync_data().map_err(write_err)
}

/// Reads all records; a missing file is an empty history.
pub fn read_all(path: &Path) -> Result<Vec<HistoryRecord>, HistoryError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(HistoryError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| HistoryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|source| HistoryError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?;
        out.push(record);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_lines_are_named() {
        let dir = std::env::temp_dir().join(format!("paceline-history-{}", std::process::id()));
        let path = default_history_path(&dir);
        let _ = std::fs::remove_file(&path);
        assert!(read_all(&path).unwrap().is_empty());
        let rec = HistoryRecord {
            target: "node2".into(),
            device: "bmc-node2".into(),
            action: "off".into(),
            requester: "node1".into(),
            start_ms: 1,
            end_ms: 250,
            result: FenceResult::Ok,
            output: "power is off".into(),
        };
        append(&path, &rec).unwrap();
        append(&path, &rec).unwrap();
        assert_eq!(read_all(&path).unwrap(), vec![rec.clone(), rec]);
        std::fs::write(&path, "{not json\n").unwrap();
        let err = read_all(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
