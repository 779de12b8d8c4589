//! The native IPMI lanplus device against OpenIPMI's ipmi_sim and pyghmi's
//! BMC from ../shared/peers: power changes proven by the simulated chassis'
//! event log, and each failure gives a clear error and a failed result.

mod support;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use paceline_fencing::config::{DURATION_KEYS, DeviceConfig};
use paceline_fencing::device::{self, DeviceError, PowerState};
use paceline_fencing::topology::FenceAction;

fn cfg(port: &str, extra: &[(&str, toml::Value)]) -> DeviceConfig {
    let mut settings = BTreeMap::new();
    let mut durations = BTreeMap::new();
    settings.insert("host".into(), toml::Value::String("127.0.0.1".into()));
    settings.insert(
        "port".into(),
        toml::Value::Integer(port.parse().expect("port")),
    );
    settings.insert("username".into(), toml::Value::String("admin".into()));
    settings.insert("password".into(), toml::Value::String("secret".into()));
    for (k, v) in extra {
        // Durations arrive parsed (the config module reads the text):
        // the tests give them as integers of milliseconds.
        if let (true, Some(ms)) = (DURATION_KEYS.contains(k), v.as_integer()) {
            durations.insert(k.to_string(), Duration::from_millis(ms as u64));
            continue;
        }
        settings.insert(k.to_string(), v.clone());
    }
    DeviceConfig {
        id: "ipmi".into(),
        kind: "ipmi".into(),
        timeout: Some(std::time::Duration::from_secs(3)),
        retries: Some(0),
        delay: None,
        durations,
        settings,
    }
}

fn run(cfg: &DeviceConfig, action: FenceAction) -> Result<Option<PowerState>, DeviceError> {
    device::open(cfg)?.execute(action).map(|r| r.power)
}

fn events(peer: &support::Peer) -> Vec<String> {
    std::fs::read_to_string(peer.get("EVENTS_LOG"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("state "))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn status_off_on_reboot_against_ipmi_sim() {
    let peer = support::ipmi(&[]);
    let c = cfg(peer.get("PORT"), &[]);
    assert_eq!(run(&c, FenceAction::Status).unwrap(), Some(PowerState::On));
    assert_eq!(run(&c, FenceAction::Off).unwrap(), Some(PowerState::Off));
    assert_eq!(peer.state(&["--file"]), "off");
    assert_eq!(run(&c, FenceAction::Status).unwrap(), Some(PowerState::Off));
    assert_eq!(run(&c, FenceAction::On).unwrap(), Some(PowerState::On));
    assert_eq!(peer.state(&["--file"]), "on");
    assert_eq!(run(&c, FenceAction::Reboot).unwrap(), Some(PowerState::On));
    assert!(run(&c, FenceAction::Monitor).is_ok());
    // off, on, then the reboot really went off and on again.
    let ev = events(&peer);
    assert_eq!(
        ev,
        ["state off", "state on", "state off", "state on"],
        "{ev:?}"
    );
}

#[test]
fn reboot_by_power_cycle() {
    let peer = support::ipmi(&[]);
    let c = cfg(
        peer.get("PORT"),
        &[("reboot_method", toml::Value::String("cycle".into()))],
    );
    assert_eq!(run(&c, FenceAction::Reboot).unwrap(), Some(PowerState::On));
    let log = std::fs::read_to_string(peer.get("EVENTS_LOG")).unwrap();
    assert!(log.contains("state off"), "{log}");
}

#[test]
fn pyghmi_bmc_too() {
    let peer = support::ipmi(&["--impl", "pyghmi"]);
    let c = cfg(peer.get("PORT"), &[]);
    assert_eq!(run(&c, FenceAction::Off).unwrap(), Some(PowerState::Off));
    assert_eq!(peer.state(&["--file"]), "off");
    assert_eq!(run(&c, FenceAction::On).unwrap(), Some(PowerState::On));
    assert_eq!(peer.state(&["--file"]), "on");
}

#[test]
fn wrong_password_is_an_authentication_error() {
    let peer = support::ipmi(&[]);
    let c = cfg(
        peer.get("PORT"),
        &[("password", toml::Value::String("wrong".into()))],
    );
    let err = run(&c, FenceAction::Off).unwrap_err();
    assert!(
        err.message.contains("authentication failed"),
        "{}",
        err.message
    );
    assert_eq!(peer.state(&["--file"]), "on");
}

#[test]
fn suite_17_is_refused_by_ipmi_sim_with_a_clear_error() {
    let peer = support::ipmi(&[]);
    let c = cfg(
        peer.get("PORT"),
        &[("cipher_suite", toml::Value::Integer(17))],
    );
    let err = run(&c, FenceAction::Status).unwrap_err();
    assert!(err.message.contains("cipher suite 17"), "{}", err.message);
}

#[test]
fn closed_port_and_silent_bmc_fail_in_bounded_time() {
    let closed = support::free_udp_port().to_string();
    let err = run(&cfg(&closed, &[]), FenceAction::Status).unwrap_err();
    assert!(err.message.contains("cannot reach"), "{}", err.message);

    // A socket that receives and never answers: a BMC that is hung.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let started = Instant::now();
    let err = run(&cfg(&port, &[]), FenceAction::Status).unwrap_err();
    assert!(err.message.contains("no answer"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_chassis_that_never_reaches_off_fails_with_the_last_state() {
    let peer = support::ipmi(&["--power-delay", "3"]);
    let c = cfg(
        peer.get("PORT"),
        &[("power_timeout", toml::Value::Integer(1000))],
    );
    let err = run(&c, FenceAction::Off).unwrap_err();
    assert!(
        err.message.contains("did not reach power Off"),
        "{}",
        err.message
    );
    assert!(err.message.contains("last seen On"), "{}", err.message);
}
