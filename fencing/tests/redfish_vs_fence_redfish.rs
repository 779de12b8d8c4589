//! Side by side: paceline's native Redfish device and Debian's fence_redfish
//! on the same emulator give the same outcomes. Where fence_redfish does not
//! look at HTTP status codes, paceline's stricter result is asserted.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use paceline_fencing::config::DeviceConfig;
use paceline_fencing::device::{self, PowerState};
use paceline_fencing::topology::FenceAction;

const FENCE_REDFISH: &str = "/usr/sbin/fence_redfish";

fn native(peer: &support::Peer, password: &str, action: FenceAction) -> (bool, Option<PowerState>) {
    let mut settings = BTreeMap::new();
    for (k, v) in [
        ("url", peer.get("BASE_URL")),
        ("username", "admin"),
        ("password", password),
        ("ca_file", peer.get("CA_CERT")),
        ("system", peer.get("SYSTEM_1")),
    ] {
        settings.insert(k.to_string(), toml::Value::String(v.to_string()));
    }
    let cfg = DeviceConfig {
        id: "bmc".into(),
        kind: "redfish".into(),
        timeout: Some(std::time::Duration::from_secs(10)),
        retries: Some(0),
        delay: None,
        durations: BTreeMap::new(),
        settings,
    };
    match device::open(&cfg).and_then(|mut d| d.execute(action)) {
        Ok(r) => (true, r.power),
        Err(_) => (false, None),
    }
}

/// fence_redfish's exit code and its "Status: ON|OFF" answer.
fn agent(peer: &support::Peer, password: &str, action: &str) -> (i32, String) {
    let port = peer
        .get("BASE_URL")
        .rsplit(':')
        .next()
        .unwrap_or("")
        .to_string();
    let out = Command::new(FENCE_REDFISH)
        .args([
            "--ip=127.0.0.1",
            &format!("--ipport={port}"),
            "--username=admin",
            &format!("--password={password}"),
            "--ssl-secure",
            &format!("--systems-uri={}", peer.get("SYSTEM_1")),
            &format!("--action={action}"),
        ])
        .env("REQUESTS_CA_BUNDLE", peer.get("CA_CERT"))
        .output()
        .expect("run fence_redfish (Debian fence-agents)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn emulated(peer: &support::Peer) -> String {
    peer.state(&[])
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or("")
        .to_string()
}

#[test]
fn same_outcomes_as_fence_redfish() {
    if !std::path::Path::new(FENCE_REDFISH).exists() {
        panic!(
            "{FENCE_REDFISH} is missing: install Debian's fence-agents (ci/packages.d/fencing.txt)"
        );
    }
    let peer = support::redfish(&["--tls", "--power-delay", "0"]);

    // status, system on: both say on (fence_redfish exits 0 for ON).
    assert_eq!(
        native(&peer, "secret", FenceAction::Status),
        (true, Some(PowerState::On))
    );
    let (rc, out) = agent(&peer, "secret", "status");
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("ON"), "{out}");

    // off: both succeed and the system is off afterwards.
    let (rc, out) = agent(&peer, "secret", "off");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(emulated(&peer), "Off");
    let (rc, out) = agent(&peer, "secret", "on");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(emulated(&peer), "On");
    assert_eq!(
        native(&peer, "secret", FenceAction::Off),
        (true, Some(PowerState::Off))
    );
    assert_eq!(emulated(&peer), "Off");

    // status, system off: fence_redfish exits 2, paceline reports Off.
    let (rc, out) = agent(&peer, "secret", "status");
    assert_eq!(rc, 2, "{out}");
    assert_eq!(
        native(&peer, "secret", FenceAction::Status),
        (true, Some(PowerState::Off))
    );

    // on, reboot: both end with the system on.
    assert_eq!(
        native(&peer, "secret", FenceAction::On),
        (true, Some(PowerState::On))
    );
    assert_eq!(emulated(&peer), "On");
    let (rc, out) = agent(&peer, "secret", "reboot");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(emulated(&peer), "On");
    assert_eq!(
        native(&peer, "secret", FenceAction::Reboot),
        (true, Some(PowerState::On))
    );
    assert_eq!(emulated(&peer), "On");

    // Wrong password: both fail and nothing is switched. fence_redfish
    // never looks at the 401 and dies on the missing JSON key; paceline
    // says it was the credentials (see redfish_emulator.rs).
    let (rc, out) = agent(&peer, "wrong", "off");
    assert_ne!(rc, 0, "{out}");
    assert_eq!(native(&peer, "wrong", FenceAction::Off), (false, None));
    assert_eq!(emulated(&peer), "On");
}
