//! What the executor gives Pacemaker-aware agents so the compatibility
//! shims (`src/shims/`) work under them: the shims' symlinks to the
//! paceline binary (a directory put first on the agents' PATH), the
//! environment variables naming the attribute file, the node and the API
//! socket, and the attribute file itself (written by the shims, polled by
//! pacelined, which replicates it through the DC).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::ExecError;

pub const SHIM_NAMES: [&str; 7] = [
    "crm_attribute",
    "crm_master",
    "attrd_updater",
    "crm_node",
    "crm_mon",
    "cibadmin",
    "pacemakerd",
];

/// The Pacemaker release whose agent interface the shims speak (its
/// feature set is the `crm_feature_set` agents are given).
pub const PACEMAKER_COMPAT_VERSION: &str = "2.1.7";
/// Environment variable naming the attribute file (set by the executor).
pub const ATTR_FILE_ENV: &str = "PACELINE_ATTR_FILE";
/// Environment variable naming the local node (set by the executor).
pub const NODE_ENV: &str = "PACELINE_NODE";
pub const DEFAULT_ATTR_FILE: &str = "/var/lib/paceline/attributes.json";

/// Environment variable naming pacelined's API socket (for `crm_node`).
pub const SOCKET_ENV: &str = "PACELINE_SOCKET";

/// node -> attribute -> value.
pub type Attributes = BTreeMap<String, BTreeMap<String, String>>;

pub fn read_attributes(path: &Path) -> Attributes {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Changes the attribute file under an exclusive lock (`flock` on
/// `<file>.lock`: the file itself is replaced by rename, so it cannot carry
/// the lock): agents run concurrently, and a read-modify-write without it
/// lost 95 of 300 concurrent updates. Readers need no lock: the rename
/// shows them the old file or the new one, whole.
pub fn update_attributes(path: &Path, change: impl FnOnce(&mut Attributes)) -> std::io::Result<()> {
    use nix::fcntl::{Flock, FlockArg};
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut lock_name = path.as_os_str().to_os_string();
    lock_name.push(".lock");
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(std::path::PathBuf::from(lock_name))?;
    let _locked = Flock::lock(lock_file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| std::io::Error::from(errno))?;
    let mut attrs = read_attributes(path);
    change(&mut attrs);
    write_attributes(path, &attrs)
}

fn write_attributes(path: &Path, attrs: &Attributes) -> std::io::Result<()> {
    static NEXT_TMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = NEXT_TMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}.{unique}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(
        serde_json::to_string_pretty(attrs)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Creates the shim symlinks to `exe` in `dir`.
pub fn install_shims(dir: &Path, exe: &Path) -> Result<(), ExecError> {
    let err = |source| ExecError::Read {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    for name in SHIM_NAMES {
        let link = dir.join(name);
        if std::fs::read_link(&link).ok().as_deref() == Some(exe) {
            continue;
        }
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(exe, &link).map_err(err)?;
    }
    Ok(())
}
