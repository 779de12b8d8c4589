//! `paceline fence` end to end with the real binary, native devices and the
//! BMC emulators: a failing first level falls through to the second, the
//! history shows both, unfencing powers back on, `fence check` says which
//! node cannot be fenced, and a bad device table is a configuration error.

#[path = "../fencing/tests/support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(tag: &str) -> Dir {
    let p = std::env::temp_dir().join(format!("plfence-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    Dir(p)
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("cluster.toml");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn paceline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn config(redfish: &support::Peer, redfish_password: &str, ipmi_port: &str) -> String {
    format!(
        r#"
[cluster]
name = "t"
[[node]]
name = "node1"
[[node]]
name = "node2"
[fencing]
enabled = true
action = "off"
[[fencing.device]]
id = "bmc-node1"
type = "redfish"
url = "{url}"
username = "admin"
password = "{redfish_password}"
retries = 0
[[fencing.device]]
id = "ipmi-node1"
type = "ipmi"
host = "127.0.0.1"
port = {ipmi_port}
username = "admin"
password = "secret"
[[fencing.device]]
id = "bmc-node2"
type = "redfish"
url = "http://127.0.0.1:{closed}"
username = "admin"
password = "secret"
timeout = "2s"
retries = 0
[[fencing.level]]
target = "node1"
index = 1
devices = ["bmc-node1"]
[[fencing.level]]
target = "node1"
index = 2
devices = ["ipmi-node1"]
[[fencing.level]]
target = "node2"
index = 1
devices = ["bmc-node2"]
"#,
        url = redfish.get("BASE_URL"),
        closed = support::free_tcp_port(),
    )
}

#[test]
fn a_failing_first_level_falls_through_to_the_second() {
    let redfish = support::redfish(&["--power-delay", "0"]);
    let ipmi = support::ipmi(&[]);
    let dir = tempdir("levels");
    let cfg = write_config(&dir.0, &config(&redfish, "wrong", ipmi.get("PORT")));
    let hist = dir.0.join("history.jsonl");
    let (cfg_s, hist_s) = (cfg.to_str().unwrap(), hist.to_str().unwrap());

    let out = paceline(&[
        "fence",
        "node1",
        "--direct",
        "--config",
        cfg_s,
        "--history",
        hist_s,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("level 1 device bmc-node1 failed"), "{t}");
    assert!(t.contains("authentication failed"), "{t}");
    assert!(t.contains("fenced node1 (off) at level 2"), "{t}");
    assert_eq!(ipmi.state(&["--file"]), "off");

    let out = paceline(&["fence", "history", "--history", hist_s, "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["device"], "bmc-node1");
    assert_eq!(records[0]["result"], "failed");
    assert!(records[0]["output"].as_str().unwrap().contains("401"));
    assert_eq!(records[1]["device"], "ipmi-node1");
    assert_eq!(records[1]["result"], "ok");
    assert_eq!(records[1]["target"], "node1");
    assert!(records[1]["requester"].as_str().unwrap().contains('@'));

    // Unfencing powers the node back on through the same topology.
    let out = paceline(&[
        "fence",
        "node1",
        "--direct",
        "--action",
        "on",
        "--config",
        cfg_s,
        "--history",
        hist_s,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("unfenced node1 (on) at level 2"),
        "{}",
        text(&out)
    );
    assert_eq!(ipmi.state(&["--file"]), "on");

    // Every level failing is a failed operation.
    let out = paceline(&[
        "fence",
        "node2",
        "--direct",
        "--config",
        cfg_s,
        "--history",
        hist_s,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("unreachable"), "{}", text(&out));
}

#[test]
fn fence_check_names_the_node_that_cannot_be_fenced() {
    let redfish = support::redfish(&["--power-delay", "0"]);
    let ipmi = support::ipmi(&[]);
    let dir = tempdir("check");
    let cfg = write_config(&dir.0, &config(&redfish, "secret", ipmi.get("PORT")));
    let out = paceline(&["fence", "check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("node1: can be fenced"), "{t}");
    assert!(
        t.contains("node2: CANNOT be fenced") && t.contains("bmc-node2"),
        "{t}"
    );
    let out = paceline(&[
        "fence",
        "check",
        "--config",
        cfg.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["nodes"]["node1"]["ok"], true);
    // Nothing was switched by a monitor.
    assert_eq!(ipmi.state(&["--file"]), "on");
}

#[test]
fn fence_test_reports_and_bad_tables_are_configuration_errors() {
    let ipmi = support::ipmi(&[]);
    let redfish = support::redfish(&["--power-delay", "0"]);
    let dir = tempdir("test");
    let text_cfg = config(&redfish, "secret", ipmi.get("PORT"));
    let cfg = write_config(&dir.0, &text_cfg);
    let out = paceline(&[
        "fence",
        "test",
        "--config",
        cfg.to_str().unwrap(),
        "--device",
        "ipmi-node1",
        "--action",
        "status",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["power"], "on");
    assert!(v["transcript"].as_array().unwrap().len() >= 3);

    let typo = text_cfg.replace("host = \"127.0.0.1\"", "hostname = \"127.0.0.1\"");
    let cfg = write_config(&dir.0, &typo);
    let out = paceline(&[
        "fence",
        "test",
        "--config",
        cfg.to_str().unwrap(),
        "--device",
        "ipmi-node1",
        "--action",
        "status",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown key `hostname`"),
        "{}",
        text(&out)
    );

    // A world-readable config with a password in it is refused.
    let cfg = write_config(&dir.0, &text_cfg);
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = paceline(&[
        "fence",
        "test",
        "--config",
        cfg.to_str().unwrap(),
        "--device",
        "ipmi-node1",
        "--action",
        "status",
    ]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("0600"), "{}", text(&out));
}

#[test]
fn disabled_fencing_is_spelled_out_and_warned_about() {
    let dir = tempdir("disabled");
    let cfg = write_config(
        &dir.0,
        "[cluster]\nname = \"t\"\n[fencing]\nenabled = false\n",
    );
    let out = paceline(&["fence", "check", "--config", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("WARNING: fencing is disabled"),
        "{}",
        text(&out)
    );
    let cfg = write_config(&dir.0, "[cluster]\nname = \"t\"\n");
    let out = paceline(&["fence", "check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("enabled = false"), "{}", text(&out));
}

/// The fencing delays settle races between live nodes; a target whose BMC
/// already reports it off cannot race and is fenced at once. One that is on
/// waits its delay.
#[test]
fn a_target_already_off_is_fenced_without_the_race_delay() {
    let redfish = support::redfish(&["--power-delay", "0"]);
    let dir = tempdir("nodelay");
    let text_cfg = format!(
        r#"
[cluster]
name = "t"
[[node]]
name = "node1"
[[node]]
name = "node2"
[fencing]
enabled = true
action = "off"
[[fencing.device]]
id = "bmc-node1"
type = "redfish"
url = "{url}"
username = "admin"
password = "secret"
delay = "1s"
[[fencing.level]]
target = "node1"
index = 1
devices = ["bmc-node1"]
"#,
        url = redfish.get("BASE_URL"),
    );
    let cfg = write_config(&dir.0, &text_cfg);
    let hist = dir.0.join("history.jsonl");
    let (cfg_s, hist_s) = (cfg.to_str().unwrap(), hist.to_str().unwrap());

    // Powered on: the device's delay applies.
    let out = paceline(&[
        "fence",
        "node1",
        "--direct",
        "--config",
        cfg_s,
        "--history",
        hist_s,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("delay"), "{}", text(&out));
    assert!(!text(&out).contains("no race to settle"), "{}", text(&out));

    // Now off: fenced again at once, saying why.
    let out = paceline(&[
        "fence",
        "node1",
        "--direct",
        "--config",
        cfg_s,
        "--history",
        hist_s,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("node1 already reports power off: no race to settle, no fencing delay"),
        "{}",
        text(&out)
    );
    assert!(redfish.state(&[]).contains("Off"));
}
