//! External fence agents as devices: Debian's fence_ipmilan on ipmi_sim,
//! parameters checked against the agent's own metadata.

mod support;

use std::collections::BTreeMap;

use paceline_fencing::config::DeviceConfig;
use paceline_fencing::device::{self, PowerState};
use paceline_fencing::topology::FenceAction;

fn agent_cfg(agent: &str, params: &[(&str, toml::Value)]) -> DeviceConfig {
    let mut table = toml::map::Map::new();
    for (k, v) in params {
        table.insert(k.to_string(), v.clone());
    }
    let mut settings = BTreeMap::new();
    settings.insert("agent".to_string(), toml::Value::String(agent.into()));
    settings.insert("params".to_string(), toml::Value::Table(table));
    DeviceConfig {
        id: "agent".into(),
        kind: "agent".into(),
        timeout: Some(std::time::Duration::from_secs(20)),
        retries: Some(0),
        delay: None,
        durations: BTreeMap::new(),
        settings,
    }
}

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.into())
}

#[test]
fn fence_ipmilan_runs_as_a_device() {
    let peer = support::ipmi(&[]);
    let params = [
        ("ip", s("127.0.0.1")),
        ("ipport", s(peer.get("PORT"))),
        ("username", s("admin")),
        ("password", s("secret")),
        ("lanplus", toml::Value::Boolean(true)),
        ("cipher", s("3")),
        ("power_wait", s("0")),
    ];
    let cfg = agent_cfg("fence_ipmilan", &params);
    let mut dev = device::open(&cfg).unwrap();
    assert_eq!(
        dev.execute(FenceAction::Status).unwrap().power,
        Some(PowerState::On)
    );
    let off = dev.execute(FenceAction::Off).unwrap();
    assert_eq!(off.power, Some(PowerState::Off));
    assert_eq!(peer.state(&["--file"]), "off");
    // status of an off node: exit code 2 is "off", not a failure.
    assert_eq!(
        dev.execute(FenceAction::Status).unwrap().power,
        Some(PowerState::Off)
    );
    // The password never appears in what is reported.
    assert!(!off.transcript.join("\n").contains("secret"));

    let mut wrong = params.to_vec();
    wrong.retain(|(k, _)| *k != "password");
    wrong.push(("password", s("wrong")));
    let err = device::open(&agent_cfg("fence_ipmilan", &wrong))
        .unwrap()
        .execute(FenceAction::On)
        .unwrap_err();
    assert!(err.message.contains("exit code 1"), "{}", err.message);
    assert!(!err.output.is_empty());
    assert!(
        !err.output.contains("wrong"),
        "password leaked: {}",
        err.output
    );
}

#[test]
fn parameters_are_checked_against_the_metadata() {
    let err = device::open(&agent_cfg(
        "fence_ipmilan",
        &[("ip", s("127.0.0.1")), ("usrname", s("admin"))],
    ))
    .err()
    .unwrap();
    assert!(
        err.message.contains("unknown parameter(s) usrname"),
        "{}",
        err.message
    );
    assert!(err.message.contains("username"), "{}", err.message);

    let err = device::open(&agent_cfg("fence_redfish", &[("ip", s("127.0.0.1"))]))
        .err()
        .unwrap();
    assert!(
        err.message
            .contains("missing required parameter(s): username"),
        "{}",
        err.message
    );

    let err = device::open(&agent_cfg("fence_nonexistent", &[]))
        .err()
        .unwrap();
    assert!(err.message.contains("installed"), "{}", err.message);
}
