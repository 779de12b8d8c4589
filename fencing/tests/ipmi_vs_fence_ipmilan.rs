//! Side by side: paceline's native IPMI device and Debian's fence_ipmilan
//! (which runs ipmitool) on the same ipmi_sim give the same outcomes.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use paceline_fencing::config::DeviceConfig;
use paceline_fencing::device::{self, PowerState};
use paceline_fencing::topology::FenceAction;

const FENCE_IPMILAN: &str = "/usr/sbin/fence_ipmilan";

fn native(port: &str, password: &str, action: FenceAction) -> (bool, Option<PowerState>) {
    let mut settings = BTreeMap::new();
    settings.insert("host".into(), toml::Value::String("127.0.0.1".into()));
    settings.insert("port".into(), toml::Value::Integer(port.parse().unwrap()));
    settings.insert("username".into(), toml::Value::String("admin".into()));
    settings.insert("password".into(), toml::Value::String(password.into()));
    let cfg = DeviceConfig {
        id: "ipmi".into(),
        kind: "ipmi".into(),
        timeout: Some(std::time::Duration::from_secs(5)),
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

/// fence_ipmilan through its stdin protocol, lanplus with cipher suite 3
/// (ipmi_sim does not answer the cipher suite query ipmitool sends without
/// one, see the peers' README).
fn agent(port: &str, password: &str, action: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(FENCE_IPMILAN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run fence_ipmilan (Debian fence-agents)");
    let input = format!(
        "action={action}\nip=127.0.0.1\nipport={port}\nusername=admin\npassword={password}\nlanplus=1\ncipher=3\npower_wait=0\n"
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn same_outcomes_as_fence_ipmilan() {
    if !std::path::Path::new(FENCE_IPMILAN).exists() {
        panic!(
            "{FENCE_IPMILAN} is missing: install Debian's fence-agents (ci/packages.d/fencing.txt)"
        );
    }
    let peer = support::ipmi(&[]);
    let port = peer.get("PORT").to_string();
    let file = || peer.state(&["--file"]);

    assert_eq!(
        native(&port, "secret", FenceAction::Status),
        (true, Some(PowerState::On))
    );
    let (rc, out) = agent(&port, "secret", "status");
    assert_eq!(rc, 0, "{out}");

    let (rc, out) = agent(&port, "secret", "off");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(file(), "off");
    let (rc, out) = agent(&port, "secret", "status");
    assert_eq!(rc, 2, "fence_ipmilan status of an off chassis: {out}");
    assert_eq!(
        native(&port, "secret", FenceAction::Status),
        (true, Some(PowerState::Off))
    );

    let (rc, out) = agent(&port, "secret", "on");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(file(), "on");
    assert_eq!(
        native(&port, "secret", FenceAction::Off),
        (true, Some(PowerState::Off))
    );
    assert_eq!(file(), "off");
    assert_eq!(
        native(&port, "secret", FenceAction::On),
        (true, Some(PowerState::On))
    );
    assert_eq!(file(), "on");

    let (rc, out) = agent(&port, "secret", "reboot");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(file(), "on");
    assert_eq!(
        native(&port, "secret", FenceAction::Reboot),
        (true, Some(PowerState::On))
    );
    assert_eq!(file(), "on");

    let (rc, out) = agent(&port, "wrong", "off");
    assert_ne!(rc, 0, "{out}");
    assert_eq!(native(&port, "wrong", FenceAction::Off), (false, None));
    assert_eq!(file(), "on");
}
