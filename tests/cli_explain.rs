//! `paceline explain`: the chain of reasons behind a placement, from a TOML
//! cluster definition or a Pacemaker CIB.

use std::path::PathBuf;
use std::process::{Command, Output};

fn paceline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run paceline")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paceline-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

#[test]
fn explains_a_colocated_resource_of_the_reference_policy() {
    let out = paceline(&[
        "explain",
        "vip",
        "--config",
        "policies/two-node-active-standby.toml",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("colocation vip-with-primary"),
        "names the colocation: {text}"
    );
    assert!(
        text.contains("planned: * Start      vip      ( node1 )"),
        "{text}"
    );
}

#[test]
fn explains_a_clone_through_its_instances_as_json() {
    let out = paceline(&[
        "explain",
        "pgsql-ha",
        "--config",
        "policies/two-node-active-standby.toml",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let planned: Vec<&str> = v["planned"]
        .as_array()
        .expect("planned")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        planned
            .iter()
            .any(|p| p.contains("Promote") && p.contains("node1")),
        "{planned:?}"
    );
    let reasons = v["reasons"]["pgsql-ha"].as_array().expect("reasons");
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("promotion score 50"))),
        "the location prefer-node1 (Promoted, 50) is the reason: {reasons:?}"
    );
}

#[test]
fn says_why_a_resource_cannot_run() {
    let config = scratch(
        "banned.toml",
        r#"
[cluster]
name = "t"
[[node]]
name = "n1"
id = 1
[[node]]
name = "n2"
id = 2
[properties]
stonith-enabled = false
[fencing]
enabled = false
[[primitive]]
id = "web"
agent = "ocf:heartbeat:Dummy"
[[location]]
id = "no-n1"
resource = "web"
node = "n1"
score = "-INFINITY"
[[location]]
id = "no-n2"
resource = "web"
node = "n2"
score = "-INFINITY"
"#,
    );
    let out = paceline(&["explain", "web", "--config", config.to_str().expect("path")]);
    let _ = std::fs::remove_file(&config);
    let text = stdout(&out);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("location no-n1 gives -INFINITY on n1"),
        "{text}"
    );
    assert!(
        text.contains("location no-n2 gives -INFINITY on n2"),
        "{text}"
    );
    assert!(text.contains("no node can run it"), "{text}");
}

#[test]
fn explains_from_a_cib() {
    let cib = "../shared/conformance/pacemaker-scheduler/simple1.xml";
    if !std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(cib)
        .exists()
    {
        panic!("conformance corpus missing at {cib}");
    }
    let out = paceline(&["explain", "rsc1", "--cib", cib]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("rsc1"), "{}", stdout(&out));
}

#[test]
fn an_unknown_resource_is_a_usage_error_listing_the_known_ones() {
    let out = paceline(&[
        "explain",
        "nope",
        "--config",
        "policies/two-node-active-standby.toml",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no resource \"nope\""), "{err}");
    assert!(err.contains("vip"), "lists known resources: {err}");
}

#[test]
fn simulate_steps_show_the_transition_in_order() {
    let out = paceline(&[
        "simulate",
        "--config",
        "policies/two-node-active-standby.toml",
        "--steps",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{out:?}");
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {text}"))
            .to_string()
    };
    let number = |l: &str| -> String { l.trim().split('.').next().unwrap_or("").to_string() };
    let fs = number(&line("start fs on node1"));
    let promote = line("promote pgsql:0 on node1");
    assert!(
        promote.contains("after") && promote.contains(&fs),
        "the promote waits for the filesystem (order fs-then-promote): {promote}"
    );
    let vip = line("start vip on node1");
    assert!(
        vip.contains(&format!("after {}", number(&promote))),
        "{vip}"
    );
    let json = paceline(&[
        "simulate",
        "--config",
        "policies/two-node-active-standby.toml",
        "--output",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert!(
        !v["transition"]["steps"]
            .as_array()
            .expect("steps")
            .is_empty()
    );
    assert!(
        !v["transition"]["edges"]
            .as_array()
            .expect("edges")
            .is_empty()
    );
}
