//! SIGHUP: what a running daemon can take from its files without a
//! restart, and what it says about the rest. Pacemaker's daemons take no
//! SIGHUP reload either; the cluster's configuration changes through the
//! cluster (`paceline configure load`), never by editing one node's file.

use super::{Daemon, log};

impl Daemon {
    /// Re-reads the cluster file: says whether it differs from the
    /// cluster's configuration (and how to apply it) and whether it changes
    /// what only a restart applies; checks fencing readiness again (a
    /// device's password file or its BMC may have been fixed); loads the
    /// authkey file again (a new key starts a rotation).
    pub(super) fn reload(&mut self) {
        // The authkey first: a rotation (`wire::keyring`) must not wait on
        // a cluster file that does not load.
        if let Err(e) = self.reload_authkey() {
            log(&format!("SIGHUP: {e:#}; the key in use is kept"));
        }
        let path = self.config_path.clone();
        log(&format!("SIGHUP: reading {} again", path.display()));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                log(&format!("SIGHUP: cannot read {}: {e}", path.display()));
                return;
            }
        };
        match crate::config::load_node_str(&text, &path.display().to_string()) {
            Err(e) => log(&format!("SIGHUP: the file does not load: {e}")),
            Ok(cluster) => {
                if text != self.store.doc().config {
                    log(&format!(
                        "SIGHUP: {} differs from the cluster's configuration (epoch {}); apply it to the whole cluster with `paceline configure load {}`",
                        path.display(),
                        self.store.doc().version.epoch,
                        path.display()
                    ));
                }
                let runtime = cluster.runtime.as_ref();
                if runtime.is_some_and(|s| {
                    !s.same_membership(&self.settings) || s.socket != self.settings.socket
                }) {
                    log(
                        "SIGHUP: [cluster]/[membership]/[quorum]/[[node]] changed; they apply at the next restart of this node",
                    );
                }
                if runtime.is_some_and(|s| s.http != self.settings.http) {
                    log(
                        "SIGHUP: [http] differs from what this node serves; `paceline configure load` applies it on every node, without a restart",
                    );
                }
            }
        }
        self.check_fencing_readiness();
        log("SIGHUP: authkey and fencing readiness checked again; nothing else is reloaded");
    }
}
