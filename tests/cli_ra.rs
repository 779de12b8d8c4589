//! `paceline ra list|info` over every class: ocf (Debian's resource-agents),
//! builtin, systemd unit files and stonith (Debian's fence-agents).

use std::process::{Command, Output};

fn paceline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_class_is_listed_and_described() {
    let all = paceline(&["ra", "list"]);
    assert!(all.status.success());
    let all = stdout(&all);
    for agent in [
        "ocf:heartbeat:Dummy",
        "builtin:ipaddr",
        "builtin:filesystem",
        "stonith:fence_ipmilan",
    ] {
        assert!(all.lines().any(|l| l == agent), "{agent} missing");
    }
    let only = stdout(&paceline(&["ra", "list", "stonith"]));
    assert!(
        only.lines().all(|l| l.starts_with("stonith:fence_")),
        "{only}"
    );

    let info = paceline(&["ra", "info", "stonith:fence_ipmilan"]);
    assert!(info.status.success());
    let info = stdout(&info);
    assert!(info.contains("Fence agent for IPMI"), "{info}");
    assert!(info.contains("ipport"), "{info}");

    let json = paceline(&["ra", "info", "builtin:ipaddr", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let params = v["parameters"].as_array().unwrap();
    assert!(
        params
            .iter()
            .any(|p| p["name"] == "nic" && p["required"] == true)
    );

    let dummy = stdout(&paceline(&["ra", "info", "ocf:heartbeat:Dummy"]));
    assert!(dummy.contains("state"), "{dummy}");
}

#[test]
fn unknown_class_and_missing_agent_are_told_apart() {
    let lsb = paceline(&["ra", "list", "lsb"]);
    assert_eq!(lsb.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&lsb.stderr).contains("systemd units"));
    let missing = paceline(&["ra", "info", "ocf:heartbeat:NoSuchAgent"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not installed"));
    let fence = paceline(&["ra", "info", "stonith:fence_nosuch"]);
    assert_eq!(fence.status.code(), Some(1));
}
