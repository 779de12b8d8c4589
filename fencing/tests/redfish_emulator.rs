//! The native Redfish device against the sushy-tools emulator from
//! ../shared/peers: power changes, both auth modes, TLS, and every failure
//! the issue names gives a clear error and a failed result.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use paceline_fencing::config::{DURATION_KEYS, DeviceConfig};
use paceline_fencing::device::{self, DeviceError, PowerState};
use paceline_fencing::topology::FenceAction;

fn cfg(pairs: &[(&str, toml::Value)]) -> DeviceConfig {
    let mut settings = BTreeMap::new();
    let mut durations = BTreeMap::new();
    for (k, v) in pairs {
        // Durations arrive parsed (the config module reads the text):
        // the tests give them as integers of milliseconds.
        if let (true, Some(ms)) = (DURATION_KEYS.contains(k), v.as_integer()) {
            durations.insert(k.to_string(), Duration::from_millis(ms as u64));
            continue;
        }
        settings.insert(k.to_string(), v.clone());
    }
    DeviceConfig {
        id: "bmc".into(),
        kind: "redfish".into(),
        timeout: Some(std::time::Duration::from_secs(5)),
        retries: Some(0),
        delay: None,
        durations,
        settings,
    }
}

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.into())
}

fn base(peer: &support::Peer) -> Vec<(&'static str, toml::Value)> {
    let mut v = vec![
        ("url", s(peer.get("BASE_URL"))),
        ("username", s("admin")),
        ("password", s("secret")),
    ];
    if let Some(ca) = peer.env.get("CA_CERT") {
        v.push(("ca_file", s(ca)));
    }
    v
}

fn run(
    pairs: &[(&str, toml::Value)],
    action: FenceAction,
) -> Result<Option<PowerState>, DeviceError> {
    let mut dev = device::open(&cfg(pairs))?;
    dev.execute(action).map(|r| r.power)
}

fn emulated_power(peer: &support::Peer) -> String {
    // `state` prints "<Id> <Name> <PowerState>" per system.
    let state = peer.state(&[]);
    state
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or("")
        .to_string()
}

fn request_log(peer: &support::Peer) -> Vec<serde_json::Value> {
    std::fs::read_to_string(peer.get("REQUEST_LOG"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The logged body is the raw request text.
fn reset_type(record: &serde_json::Value) -> Option<String> {
    let body: serde_json::Value = serde_json::from_str(record["body"].as_str()?).ok()?;
    body["ResetType"].as_str().map(str::to_string)
}

#[test]
fn off_on_reboot_and_status_over_https_with_basic_auth() {
    let peer = support::redfish(&["--tls", "--power-delay", "0"]);
    let b = base(&peer);
    assert_eq!(run(&b, FenceAction::Status).unwrap(), Some(PowerState::On));
    assert_eq!(run(&b, FenceAction::Off).unwrap(), Some(PowerState::Off));
    assert_eq!(emulated_power(&peer), "Off");
    assert_eq!(run(&b, FenceAction::Status).unwrap(), Some(PowerState::Off));
    assert_eq!(run(&b, FenceAction::On).unwrap(), Some(PowerState::On));
    assert_eq!(emulated_power(&peer), "On");
    assert_eq!(run(&b, FenceAction::Reboot).unwrap(), Some(PowerState::On));
    assert_eq!(emulated_power(&peer), "On");
    assert!(run(&b, FenceAction::Monitor).is_ok());
    // The reboot was really off then on: two resets, ForceOff before On.
    let resets: Vec<String> = request_log(&peer)
        .iter()
        .filter(|r| r["method"] == "POST")
        .filter_map(reset_type)
        .collect();
    assert_eq!(resets, ["ForceOff", "On", "ForceOff", "On"], "{resets:?}");
}

#[test]
fn off_waits_for_the_asynchronous_power_change() {
    let peer = support::redfish(&["--power-delay", "1"]);
    let b = base(&peer);
    let mut dev = device::open(&cfg(&b)).unwrap();
    let report = dev.execute(FenceAction::Off).unwrap();
    assert_eq!(report.power, Some(PowerState::Off));
    assert_eq!(emulated_power(&peer), "Off");
    assert!(
        report
            .transcript
            .iter()
            .any(|l| l.contains("PowerState is Off")),
        "{:?}",
        report.transcript
    );
}

#[test]
fn session_auth_creates_and_deletes_its_session() {
    let peer = support::redfish(&["--power-delay", "0"]);
    let mut b = base(&peer);
    b.push(("auth", s("session")));
    assert_eq!(run(&b, FenceAction::Off).unwrap(), Some(PowerState::Off));
    let log = request_log(&peer);
    assert!(log.iter().any(|r| r["method"] == "POST"
        && r["path"].as_str().is_some_and(|p| p.ends_with("/Sessions"))
        && r["status"] == 201));
    assert!(log.iter().any(|r| r["auth"] == "session"));
    assert!(
        log.iter()
            .any(|r| r["method"] == "DELETE" && r["status"].as_u64().is_some_and(|c| c < 300)),
        "session not deleted"
    );
    // No request after the session was made carries the password.
    let resets: Vec<&serde_json::Value> = log.iter().filter(|r| reset_type(r).is_some()).collect();
    assert!(!resets.is_empty());
    assert!(resets.iter().all(|r| r["auth"] == "session"), "{resets:?}");
}

#[test]
fn wrong_password_is_an_authentication_error() {
    let peer = support::redfish(&["--power-delay", "0"]);
    let mut b = base(&peer);
    b.retain(|(k, _)| *k != "password");
    b.push(("password", s("wrong")));
    let err = run(&b, FenceAction::Off).unwrap_err();
    assert!(
        err.message.contains("authentication failed"),
        "{}",
        err.message
    );
    assert!(err.message.contains("401"), "{}", err.message);
    assert_eq!(emulated_power(&peer), "On");
}

#[test]
fn unreachable_bmc_is_named() {
    let port = support::free_tcp_port();
    let b = vec![
        ("url", s(&format!("http://127.0.0.1:{port}"))),
        ("username", s("admin")),
        ("password", s("secret")),
    ];
    let err = run(&b, FenceAction::Status).unwrap_err();
    assert!(err.message.contains("unreachable"), "{}", err.message);
}

#[test]
fn untrusted_certificate_is_refused_unless_insecure() {
    let peer = support::redfish(&["--tls", "--power-delay", "0"]);
    let mut b = base(&peer);
    b.retain(|(k, _)| *k != "ca_file");
    let err = run(&b, FenceAction::Status).unwrap_err();
    assert!(err.message.contains("not trusted"), "{}", err.message);
    assert!(err.message.contains("ca_file"), "{}", err.message);
    b.push(("insecure", toml::Value::Boolean(true)));
    assert_eq!(run(&b, FenceAction::Status).unwrap(), Some(PowerState::On));
}

#[test]
fn a_refused_reset_type_fails() {
    let peer = support::redfish(&["--power-delay", "0"]);
    let mut b = base(&peer);
    // Advertised by the emulator (Nmi) but answered with 501; and one that
    // is not advertised at all.
    b.push(("off_reset_type", s("Nmi")));
    let err = run(&b, FenceAction::Off).unwrap_err();
    assert!(err.message.contains("501"), "{}", err.message);
    assert!(err.message.contains("Nmi"), "{}", err.message);
    b.retain(|(k, _)| *k != "off_reset_type");
    b.push(("off_reset_type", s("Explode")));
    let err = run(&b, FenceAction::Off).unwrap_err();
    assert!(err.message.contains("does not offer"), "{}", err.message);
    assert_eq!(emulated_power(&peer), "On");
}

#[test]
fn a_bmc_that_never_reaches_off_fails_with_the_last_state() {
    let peer = support::redfish(&["--power-delay", "5"]);
    let mut b = base(&peer);
    b.push(("power_timeout", toml::Value::Integer(1000)));
    let err = run(&b, FenceAction::Off).unwrap_err();
    assert!(
        err.message.contains("did not reach PowerState Off"),
        "{}",
        err.message
    );
    assert!(err.message.contains("last seen On"), "{}", err.message);
}

#[test]
fn several_systems_need_a_system_key() {
    let peer = support::redfish(&["--systems", "2", "--power-delay", "0"]);
    let b = base(&peer);
    let err = run(&b, FenceAction::Status).unwrap_err();
    assert!(err.message.contains("set `system`"), "{}", err.message);
    assert!(
        err.message.contains("00000000-0000-4000-8000-000000000002"),
        "{}",
        err.message
    );
    let mut by_name = b.clone();
    by_name.push(("system", s("node2")));
    assert_eq!(
        run(&by_name, FenceAction::Off).unwrap(),
        Some(PowerState::Off)
    );
    let state = peer.state(&[]);
    assert!(
        state
            .lines()
            .any(|l| l.contains("node2") && l.ends_with("Off")),
        "{state}"
    );
    assert!(
        state
            .lines()
            .any(|l| l.contains("node1") && l.ends_with("On")),
        "{state}"
    );
    let mut by_path = b.clone();
    by_path.push(("system", s(peer.get("SYSTEM_1"))));
    assert_eq!(
        run(&by_path, FenceAction::Off).unwrap(),
        Some(PowerState::Off)
    );
    let mut unknown = b;
    unknown.push(("system", s("node9")));
    let err = run(&unknown, FenceAction::Status).unwrap_err();
    assert!(
        err.message.contains("no system \"node9\""),
        "{}",
        err.message
    );
}
