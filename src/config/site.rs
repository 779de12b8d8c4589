//! `[site]`: this cluster is one site of several sharing tickets through
//! etcd (issue 19; ARCHITECTURE.md, "The witness", site tickets), typed:
//!
//! ```toml
//! [site]
//! name = "dc-east"                 # this site, as etcd's keys name it
//! tickets = ["primary-dc"]         # granted to at most one site at a time
//! etcd = ["https://198.18.0.10:2379", "https://198.18.0.11:2379", "https://198.18.0.12:2379"]
//! prefix = "/paceline/sites"       # the same at every site
//! ca = "/etc/paceline/etcd-ca.pem"
//! cert = "/etc/paceline/etcd-client.pem"
//! key = "/etc/paceline/etcd-client.key"
//! ttl = "12s"
//! ```
//!
//! The etcd part reads as `[quorum] witness` does (`config::witness::etcd`).
//! The TTL must be at least four token timeouts: a site whose DC fails
//! must elect another, which revokes the ticket and stops what needs it,
//! before the lease can expire (`node::site_tickets`). For the ticket's
//! resources to run on through a DC change, what the new DC read as a
//! follower (the lease's time left less half the TTL, read every sixth
//! of it, in whole seconds) must outlast the election: about three times
//! (token timeout + 1 s), 6 s at the default token; the policies use 12 s.

use serde::{Deserialize, Serialize};

use super::document::{Document, S};
use super::error::{Diagnostic, SourceMap};
use super::tickets::valid_ticket_name;
use super::witness::{Witness, WitnessSection};

/// Where the sites' keys live unless `prefix` says otherwise.
pub const DEFAULT_PREFIX: &str = "/paceline/sites";
/// Tickets one site manages at most.
pub const MAX_TICKETS: usize = 32;

/// `[site]` as written.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSection {
    pub name: S<String>,
    #[serde(default)]
    pub tickets: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub etcd: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<S<String>>,
}

/// This site and the tickets it claims through etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    pub tickets: Vec<String>,
    /// The connection; the key of ticket T is `<prefix>/tickets/T`.
    pub etcd: Witness,
}

impl Site {
    pub fn ticket_key(&self, ticket: &str) -> String {
        format!(
            "{}/tickets/{ticket}",
            self.etcd.prefix.trim_end_matches('/')
        )
    }
}

/// `[site]` typed; `None` when not written or with problems (in `diags`).
pub(crate) fn site(
    doc: &Document,
    token_timeout: std::time::Duration,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<Site> {
    let section = doc.site.as_ref()?;
    let before = diags.len();
    let name = section.name.get_ref();
    if !valid_ticket_name(name) {
        diags.push(src.diag(
            section.name.span(),
            format!("site name `{name}` is not valid"),
            Some("letters, digits, `-`, `_` and `.`, at most 64".into()),
        ));
    }
    let mut tickets: Vec<String> = Vec::new();
    for t in &section.tickets {
        if !valid_ticket_name(t.get_ref()) || tickets.contains(t.get_ref()) {
            diags.push(src.diag(
                t.span(),
                format!(
                    "ticket `{}` is not valid here (or listed twice)",
                    t.get_ref()
                ),
                Some("letters, digits, `-`, `_` and `.`, at most 64, each once".into()),
            ));
        }
        tickets.push(t.get_ref().clone());
    }
    if tickets.len() > MAX_TICKETS {
        diags.push(src.diag(
            section.name.span(),
            format!("[site] manages at most {MAX_TICKETS} tickets"),
            None,
        ));
    }
    let as_witness = WitnessSection {
        etcd: section.etcd.clone(),
        prefix: section.prefix.clone(),
        ca: section.ca.clone(),
        cert: section.cert.clone(),
        key: section.key.clone(),
        ttl: section.ttl.clone(),
    };
    let etcd = super::witness::etcd(&as_witness, DEFAULT_PREFIX, src, diags);
    if etcd.ttl < token_timeout * 4 {
        let at = section
            .ttl
            .as_ref()
            .map_or(section.name.span(), |t| t.span());
        diags.push(src.diag(
            at,
            format!(
                "[site] ttl {:?} is under four token timeouts ({:?})",
                etcd.ttl,
                token_timeout * 4
            ),
            Some("a new DC must revoke the ticket and stop what needs it before the lease can expire: raise ttl".into()),
        ));
    }
    (diags.len() == before).then(|| Site {
        name: name.clone(),
        tickets,
        etcd,
    })
}

#[cfg(test)]
mod tests {
    const BASE: &str = "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n\
        [[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n";

    fn load(site: &str) -> Result<Option<super::Site>, String> {
        let text = format!("{BASE}{site}");
        crate::config::load_runnable_str(&text, "c.toml")
            .map(|c| c.runtime.and_then(|r| r.site))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_site_is_typed_with_its_defaults() {
        let s = load("[site]\nname = \"east\"\ntickets = [\"t1\"]\netcd = [\"http://198.18.0.9:2379\"]\nttl = \"10s\"\n")
            .unwrap()
            .unwrap();
        assert_eq!(s.tickets, ["t1"]);
        assert_eq!(s.ticket_key("t1"), "/paceline/sites/tickets/t1");
        assert_eq!(s.etcd.ttl, std::time::Duration::from_secs(10));
    }

    #[test]
    fn a_ttl_under_four_token_timeouts_is_refused() {
        let e = load(
            "[site]\nname = \"east\"\ntickets = [\"t1\"]\netcd = [\"http://198.18.0.9:2379\"]\n",
        )
        .unwrap_err();
        assert!(e.contains("under four token timeouts"), "{e}");
    }
}
