//! The daemon's side of a key rotation (`wire::KeyRing`): reloading the
//! authkey file and carrying each step out.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use anyhow::Context;

use super::{Daemon, log};
use crate::wire::{ClusterKey, KeyChange, KeyError, MAX_KEY_LEN, NodeId};

impl Daemon {
    /// Reads the authkey file again; a new key starts a rotation (see
    /// `wire::keyring`). Called on reload (SIGHUP, `reload.rs`); returns
    /// what happened, for the log and the caller.
    pub(super) fn reload_authkey(&mut self) -> anyhow::Result<String> {
        let path = &self.settings.authkey;
        let key = read_key(path, &self.settings.cluster_name)?;
        let said = match self.keyring.load(key) {
            Some(change) => {
                self.keyring.apply(&mut self.encoder, &mut self.decoder);
                describe(change)
            }
            None => format!(
                "authkey {} unchanged (key {:016x} in use)",
                path.display(),
                self.keyring.sending_id()
            ),
        };
        log(&said);
        Ok(said)
    }

    /// The members of the view but this node.
    pub(super) fn other_members(&self) -> BTreeSet<NodeId> {
        let mut members = self.machine.view().members.clone();
        members.remove(&self.own.id);
        members
    }

    /// Moves a rotation on once the view's members allow it.
    pub(super) fn settle_keys(&mut self) {
        let members = self.other_members();
        if let Some(change) = self.keyring.settle(&members) {
            self.keyring.apply(&mut self.encoder, &mut self.decoder);
            log(&describe(change));
        }
    }
}

/// Reads and derives the cluster key from the authkey file, refusing a
/// file that is not the owner's alone (its holder can forge and read the
/// cluster's traffic: ssh refuses a private key readable by others for
/// the same reason, corosync's manual installs it 0400 and
/// `paceline cluster keygen` writes it 0600) and, before reading it, one
/// longer than any key (`MAX_KEY_LEN`).
pub(super) fn read_key(path: &Path, cluster_name: &str) -> anyhow::Result<ClusterKey> {
    use std::os::unix::fs::PermissionsExt;
    let hint = "create it with `paceline cluster keygen`";
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the authkey {}; {hint}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("the authkey {} is not a regular file", path.display());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "the authkey {} is open to others (mode {mode:o}): whoever can read it can forge the cluster's traffic; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    if len > MAX_KEY_LEN {
        return Err(KeyError::TooLong(len)).with_context(|| path.display().to_string());
    }
    let mut authkey = Vec::with_capacity(len);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_LEN as u64 + 1).read_to_end(&mut authkey))
        .with_context(|| format!("cannot read the authkey {}", path.display()))?;
    ClusterKey::derive(&authkey, cluster_name).with_context(|| path.display().to_string())
}

fn describe(change: KeyChange) -> String {
    match change {
        KeyChange::Introduced { id } => format!(
            "new authkey {id:016x} accepted besides the one in use; it is sent with once every member has it"
        ),
        KeyChange::Withdrawn { id } => {
            format!("authkey {id:016x} withdrawn: the file holds the key in use again")
        }
        KeyChange::Switched { id } => {
            format!("every member accepts authkey {id:016x}: sending with it now")
        }
        KeyChange::Retired { id } => {
            format!(
                "every member sends with the new authkey: the old one ({id:016x}) is refused from now on"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn key_file(name: &str, bytes: &[u8], mode: u32) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pl-keys-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("authkey");
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_private_key_file_is_read() {
        let path = key_file("private", &[7; 64], 0o600);
        let key = read_key(&path, "c").unwrap();
        assert_eq!(key.id(), ClusterKey::derive(&[7; 64], "c").unwrap().id());
    }

    /// As ssh refuses a private key others can read: its holder can forge
    /// the cluster's datagrams.
    #[test]
    fn a_key_file_open_to_group_or_others_is_refused() {
        for mode in [0o640, 0o604, 0o660] {
            let path = key_file(&format!("open{mode:o}"), &[7; 64], mode);
            let err = format!("{:#}", read_key(&path, "c").unwrap_err());
            assert!(
                err.contains(&format!("mode {mode:o}")) && err.contains("chmod 600"),
                "{err}"
            );
        }
    }

    /// A 10 MB file is refused by its size before a byte is read.
    #[test]
    fn a_key_file_longer_than_any_key_is_refused() {
        let path = key_file("long", &[], 0o600);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(10 << 20)
            .unwrap();
        let err = format!("{:#}", read_key(&path, "c").unwrap_err());
        assert!(err.contains("10485760 bytes, at most 4096"), "{err}");
        let dir = path.parent().unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = format!("{:#}", read_key(dir, "c").unwrap_err());
        assert!(err.contains("not a regular file"), "{err}");
    }
}
