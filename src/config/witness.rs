//! `[quorum] witness`: an etcd cluster as the witness of a two-node
//! cluster (issue 19; ARCHITECTURE.md, "The witness"), typed. Refused at
//! file:line:column: no endpoint, an endpoint that is not an http(s) URL,
//! TLS files with plain http, a TTL etcd cannot grant (whole seconds),
//! a witness beside `two_node = true` (votequorum refuses two_node with a
//! qdevice) or for other than two nodes. The files themselves (present,
//! the key private) are checked when a file is loaded (`check_files`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::document::{Document, S};
use super::duration::parse_duration;
use super::error::{Diagnostic, SourceMap};

/// etcd endpoints at most.
pub const MAX_ENDPOINTS: usize = 16;
/// The lease's TTL when not written.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3);
/// etcd grants whole seconds, and at least about 1.5 election timeouts
/// (2 s with its defaults): a shorter TTL would be raised behind our back.
pub const TTL_MIN: Duration = Duration::from_secs(2);
pub const TTL_MAX: Duration = Duration::from_secs(60);
const PREFIX_MAX: usize = 256;

/// `[quorum] witness` as written.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSection {
    /// etcd's client URLs (`https://HOST:2379`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub etcd: Vec<S<String>>,
    /// Where this cluster's keys live; `/paceline/<cluster name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<S<String>>,
    /// PEM CA that signed etcd's server certificates (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<S<String>>,
    /// PEM client certificate and its key, when etcd asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<S<String>>,
    /// The lease's TTL (whole seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<S<String>>,
}

/// The witness a node claims the vote of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub endpoints: Vec<String>,
    /// The key is `<prefix>/witness`.
    pub prefix: String,
    pub tls: Option<WitnessTls>,
    pub ttl: Duration,
}

impl Witness {
    pub fn key(&self) -> String {
        format!("{}/witness", self.prefix.trim_end_matches('/'))
    }

    /// The members the witness last served (no lease: it outlives them).
    pub fn last_key(&self) -> String {
        format!("{}/last", self.prefix.trim_end_matches('/'))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessTls {
    pub ca: PathBuf,
    /// A client certificate and key (both or neither).
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// `[quorum] witness` typed; `None` when not written or with problems
/// (each in `diags`).
pub(crate) fn witness(
    doc: &Document,
    cluster_name: &str,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<Witness> {
    let quorum = doc.quorum.as_ref()?;
    let section = quorum.witness.as_ref()?;
    let before = diags.len();
    let at = section.etcd.first().map_or(0..0, |e| e.span());
    if quorum.two_node == Some(true) {
        diags.push(src.diag(
            at.clone(),
            "[quorum] witness and `two_node = true` exclude each other",
            Some(
                "the witness is the third vote that two_node made up for: remove `two_node`".into(),
            ),
        ));
    }
    if doc.node.len() != 2 {
        diags.push(src.diag(
            at,
            format!(
                "[quorum] witness needs exactly two nodes (this file has {})",
                doc.node.len()
            ),
            Some("a witness decides the splits of a two-node cluster; more nodes decide by majority".into()),
        ));
    }
    let w = etcd(section, &format!("/paceline/{cluster_name}"), src, diags);
    (diags.len() == before).then_some(w)
}

/// The etcd connection a section names (endpoints, TLS, prefix, TTL),
/// also for `[site]` (`config::site`); problems go to `diags`.
pub(crate) fn etcd(
    section: &WitnessSection,
    default_prefix: &str,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Witness {
    let endpoints = endpoints(section, src, diags);
    let tls = tls(section, &endpoints, src, diags);
    let prefix = prefix(section, default_prefix, src, diags);
    let ttl = ttl(section, src, diags);
    Witness {
        endpoints,
        prefix,
        tls,
        ttl,
    }
}

fn endpoints(
    section: &WitnessSection,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    if section.etcd.is_empty() {
        diags.push(src.diag(
            0..0,
            "[quorum] witness names no etcd endpoint",
            Some("write `etcd = [\"https://HOST:2379\", ...]` (every member of the etcd cluster)".into()),
        ));
    }
    if section.etcd.len() > MAX_ENDPOINTS {
        diags.push(src.diag(
            section.etcd[MAX_ENDPOINTS].span(),
            format!("[quorum] witness names at most {MAX_ENDPOINTS} etcd endpoints"),
            None,
        ));
    }
    let mut out = Vec::new();
    for e in &section.etcd {
        let url = e.get_ref();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let port_ok = rest
            .and_then(|r| r.rsplit_once(':'))
            .is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
        if !port_ok || url.chars().any(char::is_whitespace) {
            diags.push(src.diag(
                e.span(),
                format!("`{url}` is not an etcd client URL"),
                Some("e.g. \"https://198.18.0.10:2379\" (scheme, host and port, no path)".into()),
            ));
        } else if out.contains(url) {
            diags.push(src.diag(e.span(), format!("{url} is listed twice"), None));
        } else {
            out.push(url.clone());
        }
    }
    let https = out.iter().filter(|u| u.starts_with("https://")).count();
    if https != 0 && https != out.len() {
        diags.push(src.diag(
            section.etcd[0].span(),
            "[quorum] witness mixes http:// and https:// endpoints",
            Some("one etcd cluster speaks one scheme".into()),
        ));
    }
    out
}

fn tls(
    section: &WitnessSection,
    endpoints: &[String],
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<WitnessTls> {
    let https = endpoints.first().is_some_and(|u| u.starts_with("https://"));
    let written = [&section.ca, &section.cert, &section.key];
    if !https {
        if let Some(f) = written.iter().copied().flatten().next()
            && !endpoints.is_empty()
        {
            diags.push(src.diag(
                f.span(),
                "[quorum] witness has TLS files but its endpoints are http://",
                Some("write https:// endpoints, or remove ca, cert and key".into()),
            ));
        }
        return None;
    }
    let Some(ca) = &section.ca else {
        diags.push(src.diag(
            section.etcd[0].span(),
            "[quorum] witness speaks https but names no `ca`",
            Some("write `ca = \"/etc/paceline/etcd-ca.pem\"` (the CA that signed etcd's certificates)".into()),
        ));
        return None;
    };
    let identity = match (&section.cert, &section.key) {
        (Some(c), Some(k)) => Some((c.get_ref().into(), k.get_ref().into())),
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => {
            diags.push(src.diag(
                one.span(),
                "[quorum] witness needs both `cert` and `key` (or neither)",
                None,
            ));
            None
        }
    };
    Some(WitnessTls {
        ca: ca.get_ref().into(),
        identity,
    })
}

fn prefix(
    section: &WitnessSection,
    default_prefix: &str,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> String {
    let Some(p) = &section.prefix else {
        return default_prefix.to_string();
    };
    let text = p.get_ref();
    if !text.starts_with('/')
        || text.len() > PREFIX_MAX
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        diags.push(src.diag(
            p.span(),
            format!("`{text}` is not a key prefix"),
            Some(format!(
                "a path from `/`, at most {PREFIX_MAX} characters, no spaces, e.g. \"{default_prefix}\""
            )),
        ));
    }
    text.clone()
}

fn ttl(section: &WitnessSection, src: &SourceMap, diags: &mut Vec<Diagnostic>) -> Duration {
    let Some(t) = &section.ttl else {
        return DEFAULT_TTL;
    };
    match parse_duration(t.get_ref()) {
        Ok(d) if d.subsec_nanos() == 0 && (TTL_MIN..=TTL_MAX).contains(&d) => d,
        Ok(_) => {
            diags.push(src.diag(
                t.span(),
                format!(
                    "the witness's ttl must be whole seconds from {} to {} s",
                    TTL_MIN.as_secs(),
                    TTL_MAX.as_secs()
                ),
                Some("etcd grants leases in whole seconds, at least 2 with its defaults".into()),
            ));
            DEFAULT_TTL
        }
        Err(e) => {
            diags.push(src.diag(t.span(), e.to_string(), None));
            DEFAULT_TTL
        }
    }
}

/// The witness's files as a loaded file names them: each present, the
/// key readable by its owner only (as the authkey).
pub(crate) fn check_files(doc: &Document, src: &SourceMap) -> Vec<Diagnostic> {
    use std::os::unix::fs::PermissionsExt;
    let Some(section) = doc.quorum.as_ref().and_then(|q| q.witness.as_ref()) else {
        return Vec::new();
    };
    let mut diags = Vec::new();
    for (what, file, private) in [
        ("ca", &section.ca, false),
        ("cert", &section.cert, false),
        ("key", &section.key, true),
    ] {
        let Some(file) = file else { continue };
        let path = Path::new(file.get_ref());
        match std::fs::metadata(path) {
            Err(e) => diags.push(src.diag(
                file.span(),
                format!("the witness's {what} {}: {e}", path.display()),
                None,
            )),
            Ok(meta) if !meta.is_file() => diags.push(src.diag(
                file.span(),
                format!("the witness's {what} {} is not a file", path.display()),
                None,
            )),
            Ok(meta) if private && meta.permissions().mode() & 0o077 != 0 => {
                diags.push(src.diag(
                    file.span(),
                    format!(
                        "the witness's key {} is readable by others (mode {:o})",
                        path.display(),
                        meta.permissions().mode() & 0o777
                    ),
                    Some(format!("run `chmod 600 {}`", path.display())),
                ));
            }
            Ok(_) => {}
        }
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[cluster]\nname = \"c\"\n[fencing]\nenabled = false\n";
    const NODES: &str = "[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n[[node]]\nname = \"n2\"\nid = 2\nlinks = [\"198.18.0.2\"]\n";

    fn load(quorum: &str, nodes: &str) -> Result<Option<Witness>, String> {
        let text = format!("{BASE}{quorum}{nodes}");
        crate::config::load_runnable_str(&text, "c.toml")
            .map(|c| c.runtime.and_then(|r| r.quorum.witness))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_witness_is_typed_with_its_defaults() {
        let w = load(
            "[quorum]\nwitness = { etcd = [\"http://198.18.0.10:2379\", \"http://198.18.0.11:2379\"] }\n",
            NODES,
        )
        .unwrap()
        .unwrap();
        assert_eq!(w.endpoints.len(), 2);
        assert_eq!(w.prefix, "/paceline/c");
        assert_eq!(w.key(), "/paceline/c/witness");
        assert_eq!(w.ttl, DEFAULT_TTL);
        assert_eq!(w.tls, None);
        let w = load(
            "[quorum.witness]\netcd = [\"https://e1:2379\"]\nprefix = \"/x/\"\nca = \"/ca.pem\"\ncert = \"/c.pem\"\nkey = \"/c.key\"\nttl = \"5s\"\n",
            NODES,
        )
        .unwrap()
        .unwrap();
        assert_eq!(w.key(), "/x/witness");
        assert_eq!(w.ttl, Duration::from_secs(5));
        assert_eq!(
            w.tls,
            Some(WitnessTls {
                ca: "/ca.pem".into(),
                identity: Some(("/c.pem".into(), "/c.key".into()))
            })
        );
        assert_eq!(load("", NODES), Ok(None));
    }

    #[test]
    fn bad_witnesses_are_refused_where_written() {
        let one_node = "[[node]]\nname = \"n1\"\nid = 1\nlinks = [\"198.18.0.1\"]\n";
        for (quorum, nodes, message) in [
            ("[quorum.witness]\n", NODES, "names no etcd endpoint"),
            (
                "[quorum.witness]\netcd = [\"198.18.0.10:2379\"]\n",
                NODES,
                "not an etcd client URL",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:0\"]\n",
                NODES,
                "not an etcd client URL",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:1\", \"http://e:1\"]\n",
                NODES,
                "listed twice",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:1\", \"https://f:1\"]\nca = \"/ca\"\n",
                NODES,
                "mixes http",
            ),
            (
                "[quorum.witness]\netcd = [\"https://e:1\"]\n",
                NODES,
                "names no `ca`",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:1\"]\nca = \"/ca\"\n",
                NODES,
                "endpoints are http://",
            ),
            (
                "[quorum.witness]\netcd = [\"https://e:1\"]\nca = \"/ca\"\ncert = \"/c\"\n",
                NODES,
                "both `cert` and `key`",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:1\"]\nttl = \"1s\"\n",
                NODES,
                "whole seconds from 2 to 60",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:1\"]\nttl = \"2500ms\"\n",
                NODES,
                "whole seconds",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:1\"]\nprefix = \"x\"\n",
                NODES,
                "not a key prefix",
            ),
            (
                "[quorum]\ntwo_node = true\n[quorum.witness]\netcd = [\"http://e:1\"]\n",
                NODES,
                "exclude each other",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:1\"]\n",
                one_node,
                "exactly two nodes",
            ),
            (
                "[quorum.witness]\netcd = [\"http://e:1\"]\nport = 1\n",
                NODES,
                "unknown field",
            ),
        ] {
            let err = load(quorum, nodes).unwrap_err();
            assert!(err.contains(message), "{quorum}: {err}");
            assert!(err.contains("c.toml:"), "{quorum}: {err}");
        }
    }

    #[test]
    fn the_files_must_exist_and_the_key_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("paceline-witness-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, cert, key) = (dir.join("ca.pem"), dir.join("c.pem"), dir.join("c.key"));
        for f in [&ca, &cert, &key] {
            std::fs::write(f, "x").unwrap();
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let file = dir.join("cluster.toml");
        let text = format!(
            "{BASE}[quorum.witness]\netcd = [\"https://e:2379\"]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n{NODES}",
            ca.display(),
            cert.display(),
            key.display()
        );
        std::fs::write(&file, &text).unwrap();
        let err = crate::config::load_runnable_file(&file, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("readable by others (mode 644)"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(crate::config::load_runnable_file(&file, None).is_ok());
        std::fs::remove_file(&ca).unwrap();
        let err = crate::config::load_runnable_file(&file, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the witness's ca"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
