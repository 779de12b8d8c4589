//! The daemon's side of a key rotation (`wire::KeyRing`): reloading the
//! authkey file and carrying each step out.

use anyhow::Context;

use super::{Daemon, log};
use crate::wire::{ClusterKey, KeyChange};

impl Daemon {
    /// Reads the authkey file again; a new key starts a rotation (see
    /// `wire::keyring`). Called on reload (SIGHUP, `reload.rs`); returns
    /// what happened, for the log and the caller.
    pub(super) fn reload_authkey(&mut self) -> anyhow::Result<String> {
        let path = &self.settings.authkey;
        let authkey = std::fs::read(path)
            .with_context(|| format!("cannot read the authkey {}", path.display()))?;
        let key = ClusterKey::derive(&authkey, &self.settings.cluster_name)?;
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

    /// Moves a rotation on once the view's members allow it.
    pub(super) fn settle_keys(&mut self) {
        let mut members = self.machine.view().members.clone();
        members.remove(&self.own.id);
        if let Some(change) = self.keyring.settle(&members) {
            self.keyring.apply(&mut self.encoder, &mut self.decoder);
            log(&describe(change));
        }
    }
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
