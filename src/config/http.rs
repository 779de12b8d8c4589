//! `[http]`: the daemon's read-only HTTP endpoint (health checks for
//! HAProxy, the status as JSON, Prometheus metrics), typed. Off unless the
//! section is written; `config check` refuses at file:line:column what the
//! daemon could not listen on as written.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::document::{Document, S};
use super::error::{Diagnostic, SourceMap};

/// Addresses one node listens on at most.
pub const MAX_LISTEN: usize = 16;

/// `[http]` as written.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<S<String>>,
    /// PEM certificate chain: with `key`, the endpoint speaks TLS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<S<String>>,
    /// PEM private key of `cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<S<String>>,
}

/// What the daemon serves HTTP on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http {
    pub listen: Vec<SocketAddr>,
    pub tls: Option<HttpTls>,
}

/// The certificate chain and key files of an HTTPS endpoint (read by the
/// daemon at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[http]` typed; `None` when it is not written (or has problems, each in
/// `diags`).
pub(crate) fn http(doc: &Document, src: &SourceMap, diags: &mut Vec<Diagnostic>) -> Option<Http> {
    let section = doc.http.as_ref()?;
    let before = diags.len();
    if section.listen.is_empty() {
        diags.push(src.diag(
            0..0,
            "[http] has no `listen` address",
            Some("write `listen = [\"0.0.0.0:8008\"]` (or remove [http] to serve no HTTP)".into()),
        ));
    }
    if section.listen.len() > MAX_LISTEN {
        diags.push(src.diag(
            section.listen[MAX_LISTEN].span(),
            format!("[http] listens on at most {MAX_LISTEN} addresses"),
            None,
        ));
    }
    let listen = listen_addresses(&section.listen, src, diags);
    let tls = tls(section, src, diags);
    (diags.len() == before).then_some(Http { listen, tls })
}

fn listen_addresses(
    written: &[S<String>],
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Vec<SocketAddr> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for a in written {
        let Ok(addr) = a.get_ref().parse::<SocketAddr>() else {
            diags.push(src.diag(
                a.span(),
                format!("`{}` is not an ADDRESS:PORT to listen on", a.get_ref()),
                Some("e.g. \"0.0.0.0:8008\", \"198.18.0.1:8008\" or \"[::]:8008\"".into()),
            ));
            continue;
        };
        if addr.port() == 0 {
            diags.push(src.diag(
                a.span(),
                "an HTTP listen address needs a port",
                Some("health checks and scrapers need a known port, e.g. 8008".into()),
            ));
        } else if !seen.insert(addr) {
            diags.push(src.diag(a.span(), format!("{addr} is listed twice"), None));
        } else {
            out.push(addr);
        }
    }
    out
}

fn tls(section: &HttpSection, src: &SourceMap, diags: &mut Vec<Diagnostic>) -> Option<HttpTls> {
    match (&section.cert, &section.key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(HttpTls {
            cert: cert.get_ref().into(),
            key: key.get_ref().into(),
        }),
        (Some(one), None) | (None, Some(one)) => {
            diags.push(src.diag(
                one.span(),
                "[http] TLS needs both `cert` and `key`",
                Some("write both PEM files (the chain and its private key), or neither to serve plain HTTP".into()),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n";

    fn load(http: &str) -> Result<Option<Http>, String> {
        let text = format!("{BASE}{http}");
        crate::config::load_runnable_str(&text, "c.toml")
            .map(|c| c.runtime.and_then(|r| r.http))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn http_is_off_unless_written() {
        assert_eq!(load(""), Ok(None));
    }

    #[test]
    fn listen_addresses_and_tls_are_typed() {
        let http = load("[http]\nlisten = [\"0.0.0.0:8008\", \"[::1]:9100\"]\ncert = \"/etc/paceline/http.pem\"\nkey = \"/etc/paceline/http.key\"\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            http.listen,
            vec![
                "0.0.0.0:8008".parse::<SocketAddr>().unwrap(),
                "[::1]:9100".parse().unwrap()
            ]
        );
        assert_eq!(
            http.tls,
            Some(HttpTls {
                cert: "/etc/paceline/http.pem".into(),
                key: "/etc/paceline/http.key".into()
            })
        );
    }

    #[test]
    fn bad_http_sections_are_refused_where_written() {
        for (section, message, line) in [
            ("[http]\n", "has no `listen` address", 1),
            (
                "[http]\nlisten = [\"8008\"]\n",
                "is not an ADDRESS:PORT",
                10,
            ),
            ("[http]\nlisten = [\"0.0.0.0:0\"]\n", "needs a port", 10),
            (
                "[http]\nlisten = [\"0.0.0.0:1\", \"0.0.0.0:1\"]\n",
                "listed twice",
                10,
            ),
            (
                "[http]\nlisten = [\"0.0.0.0:1\"]\ncert = \"/c.pem\"\n",
                "needs both `cert` and `key`",
                11,
            ),
            (
                "[http]\nlisten = [\"0.0.0.0:1\"]\nport = 1\n",
                "unknown field",
                11,
            ),
        ] {
            let err = load(section).unwrap_err();
            assert!(err.contains(message), "{section}: {err}");
            assert!(err.contains(&format!("c.toml:{line}:")), "{section}: {err}");
        }
    }
}
