//! Atomic persistence of the document: write a temp file in the same
//! directory, fsync it, rename over the target, fsync the directory, so a
//! crash leaves either the old or the new state, never a torn one.

use serde::{Serialize, de::DeserializeOwned};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "state file {path} is corrupt ({reason}); it was kept as {kept} — inspect it, then restore a good copy or remove it to start from the peers' state"
    )]
    Corrupt {
        path: PathBuf,
        kept: PathBuf,
        reason: String,
    },
    #[error("cannot encode state for {path}: {source}")]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Writes `value` as compact JSON: the document is rewritten on every
/// status patch, and pretty printing doubled it (a two-node document with
/// 2,000 resources' history: 463 kB pretty, 234 kB compact), hence the
/// bytes written and fsynced each time (issue 21, disk faults). `jq .`
/// shows it indented.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), PersistError> {
    save_counted(path, value).map(|_| ())
}

/// `save`, returning how many bytes were written.
pub fn save_counted<T: Serialize>(path: &Path, value: &T) -> Result<usize, PersistError> {
    let werr = |source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec(value).map_err(|source| PersistError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    // The document holds the configuration, inline fence passwords too:
    // readable by root only, whatever the umask (and a temp file left
    // looser by an older build is tightened).
    let mut f = {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(werr)?;
        f.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(werr)?;
        f
    };
    f.write_all(&bytes).map_err(werr)?;
    f.sync_all().map_err(werr)?;
    drop(f);
    fs::rename(&tmp, path).map_err(werr)?;
    File::open(&dir).and_then(|d| d.sync_all()).map_err(werr)?;
    Ok(bytes.len())
}

/// Loads the state; `Ok(None)` when no file exists yet. A corrupt file is
/// renamed aside (never silently dropped) and reported.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, PersistError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            let mut kept_name = path.file_name().unwrap_or_default().to_os_string();
            kept_name.push(".corrupt");
            let kept = path.with_file_name(kept_name);
            fs::rename(path, &kept).map_err(|source| PersistError::Write {
                path: kept.clone(),
                source,
            })?;
            Err(PersistError::Corrupt {
                path: path.to_path_buf(),
                kept,
                reason: e.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Document;

    #[test]
    fn roundtrip_and_corrupt_kept_aside() {
        let dir = std::env::temp_dir().join(format!("paceline-store-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("state.json");
        assert!(load::<Document<u32, u32>>(&p).unwrap().is_none());
        let d = Document::new(5u32, 6u32);
        save(&p, &d).unwrap();
        assert_eq!(load::<Document<u32, u32>>(&p).unwrap(), Some(d));
        let written = fs::read_to_string(&p).unwrap();
        assert!(
            !written.contains('\n') && !written.contains(": "),
            "written compact: {written}"
        );
        fs::write(&p, b"{not json").unwrap();
        let err = load::<Document<u32, u32>>(&p).unwrap_err();
        assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
        assert!(dir.join("state.json.corrupt").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A `cluster.json` written before the status had a fencing history
    /// (the daemon's document type) still loads, with an empty history.
    #[test]
    fn a_document_without_the_fencing_history_loads() {
        use crate::model::{ClusterStatus, FenceEvent};
        let dir = std::env::temp_dir().join(format!("paceline-store-old-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("cluster.json");
        let mut status = ClusterStatus::default();
        status.fencing_history.push(FenceEvent {
            id: 1,
            target: "node2".into(),
            action: "off".into(),
            ok: true,
            devices: vec!["ipmi".into()],
            detail: String::new(),
            delegate: "node1".into(),
            origin: "node1".into(),
            client: "controller".into(),
            completed: 5,
            elapsed_ms: None,
            attempts: 1,
            first_completed: 5,
        });
        let d = Document::new("config text".to_string(), status);
        let mut json = serde_json::to_value(&d).unwrap();
        let obj = json["status"].as_object_mut().unwrap();
        assert!(obj.remove("fencing_history").is_some());
        fs::write(&p, serde_json::to_vec(&json).unwrap()).unwrap();
        let old = load::<Document<String, ClusterStatus>>(&p)
            .unwrap()
            .unwrap();
        assert!(old.status.fencing_history.is_empty());
        assert_eq!(old.config, "config text");
        // And the new field round-trips.
        save(&p, &d).unwrap();
        assert_eq!(
            load::<Document<String, ClusterStatus>>(&p).unwrap(),
            Some(d)
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
