//! Starts the BMC emulators and the fake watchdog from `../shared/peers/` for
//! a test and stops them when the guard is dropped (also when the test
//! panics). Each peer gets a free loopback port so tests can run in parallel.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Command;

/// `../shared/peers` seen from the workspace root (this file is used by the
/// tests of both the fencing crate and the main crate).
pub fn peers_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    ["../shared/peers", "../../shared/peers"]
        .iter()
        .find_map(|rel| manifest.join(rel).canonicalize().ok())
        .expect("../shared/peers must exist beside the project")
}

pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free TCP port");
    l.local_addr().expect("local addr").port()
}

pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind a free UDP port");
    s.local_addr().expect("local addr").port()
}

/// A running peer; its `start` output (KEY=VALUE lines) is in `env`.
pub struct Peer {
    kind: &'static str,
    stop_args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Peer {
    /// Runs `<kind>/start ARGS...` and parses what it prints.
    pub fn start(kind: &'static str, args: &[&str], stop_args: &[&str]) -> Peer {
        let out = Command::new(peers_dir().join(kind).join("start"))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {kind}/start: {e}"));
        assert!(
            out.status.success(),
            "{kind}/start {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut env = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((k, v)) = line.split_once('=') {
                env.insert(k.to_string(), unquote(v));
            }
        }
        Peer {
            kind,
            stop_args: stop_args.iter().map(|s| s.to_string()).collect(),
            env,
        }
    }

    pub fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{} start printed no {key}: {:?}", self.kind, self.env))
    }

    /// Runs `<kind>/state ARGS...` and returns its trimmed output.
    pub fn state(&self, extra: &[&str]) -> String {
        let mut args = self.stop_args.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = Command::new(peers_dir().join(self.kind).join("state"))
            .args(&args)
            .output()
            .expect("run state");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new(peers_dir().join(self.kind).join("stop"))
            .args(&self.stop_args)
            .output();
    }
}

/// Undoes bash's `printf %q` for the simple cases `start` prints.
fn unquote(v: &str) -> String {
    let v = v.trim();
    if let Some(inner) = v.strip_prefix("$'").and_then(|s| s.strip_suffix('\'')) {
        return inner.replace("\\'", "'");
    }
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return inner.to_string();
    }
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A Redfish emulator on a free port.
pub fn redfish(extra: &[&str]) -> Peer {
    let port = free_tcp_port().to_string();
    let mut args = vec!["--port", port.as_str()];
    args.extend_from_slice(extra);
    Peer::start("redfish-bmc", &args, &["--port", port.as_str()])
}

/// An IPMI BMC simulator (ipmi_sim unless `--impl pyghmi` is passed).
pub fn ipmi(extra: &[&str]) -> Peer {
    let port = free_udp_port().to_string();
    let mut args = vec!["--port", port.as_str()];
    args.extend_from_slice(extra);
    Peer::start("ipmi-bmc", &args, &["--port", port.as_str()])
}

/// A fake watchdog device with a unique name.
pub fn watchdog(name: &str, extra: &[&str]) -> Peer {
    let mut args = vec!["--name", name];
    args.extend_from_slice(extra);
    Peer::start("watchdog", &args, &["--name", name])
}
