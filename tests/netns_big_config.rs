//! A big accepted configuration must not take the cluster down (issue 15,
//! "never do large work on the event loop"): two real daemons in network
//! namespaces load thousands of `builtin:dummy` primitives, probe and start
//! them, and meanwhile neither loses the other (no new view, no "lost"
//! line, no pause of its own) and nobody is fenced. Before, the
//! configuration's parse on every node, the probes' intake and a copy of
//! the whole status per patch held a node's event loop past the token
//! timeout and its peer declared it lost.
//!
//! Needs root and iproute2 (skipped with a message otherwise) and
//! `fence_dummy` (fence-agents) to see a fence that would happen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use paceline::api::{self, Request, Response};

#[path = "netns/mod.rs"]
mod netns;
use netns::{Cluster, can_run, paceline};

/// How many primitives: 2,000 in a debug build lost the peer 154 times
/// before the loop's work was cut (42d7e65) and its thread ran at real-time
/// priority (efab0a3), and this stays within CI's time. `bench/big-config`
/// loads 6,000 and 9,000 in a release build.
const PRIMITIVES: usize = 2_000;

/// How long the nodes get to start them all (a debug build on a shared
/// machine; the time itself is `bench/big-config`'s).
const ALL_STARTED_WITHIN: Duration = Duration::from_secs(240);

/// Each node's power state as `fence_dummy` sees it: "off" once fenced.
fn power_file(c: &Cluster, i: u8) -> PathBuf {
    c.dir.join(format!("power{i}"))
}

fn fencing_section(c: &Cluster) -> String {
    let mut s =
        String::from("[quorum]\ntwo_node = true\n[fencing]\nenabled = true\naction = \"off\"\n");
    for i in [1u8, 2] {
        s.push_str(&format!(
            "[[fencing.device]]\nid = \"power{i}\"\ntype = \"agent\"\nagent = \"fence_dummy\"\nparams = {{ type = \"file\", status_file = \"{}\" }}\n[[fencing.level]]\ntarget = \"node{i}\"\nindex = 1\ndevices = [\"power{i}\"]\n",
            power_file(c, i).display()
        ));
    }
    s
}

/// node`i`'s membership (the cheap request: no resource is described).
fn view(c: &Cluster, i: u8) -> Option<(u64, usize, u64)> {
    match api::call(&c.socket(i), &Request::Status) {
        Ok(Response::Status(s)) => Some((s.view_id, s.members.len(), s.pauses)),
        _ => None,
    }
}

/// How many Dummies run on node `i`: their state files (reading them costs
/// the daemons nothing).
fn started_on(c: &Cluster, i: u8) -> usize {
    std::fs::read_dir(c.dir.join(format!("rsctmp{i}/dummy")))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn logs(c: &Cluster) -> String {
    format!("--- node1\n{}\n--- node2\n{}", c.log(1), c.log(2))
}

/// Waits until both nodes share one two-member view with node1 DC.
fn formed(c: &Cluster) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let (Some(a), Some(b)) = (view(c, 1), view(c, 2))
            && a.1 == 2
            && b.1 == 2
            && a.0 == b.0
            && c.log(1).contains("fencing ready")
        {
            return a.0;
        }
        assert!(Instant::now() < deadline, "never formed\n{}", logs(c));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn big_config(base: &str) -> String {
    let mut text = base.to_string();
    for i in 0..PRIMITIVES {
        text.push_str(&format!(
            "[[primitive]]\nid = \"d{i}\"\nagent = \"builtin:dummy\"\n"
        ));
    }
    text
}

#[test]
fn thousands_of_dummies_are_applied_probed_and_started_without_losing_a_node() {
    if !can_run() || !Path::new("/usr/sbin/fence_dummy").exists() {
        eprintln!("skipping: needs root, iproute2 and fence_dummy");
        return;
    }
    let mut c = Cluster::new(2, ("200ms", "1s"));
    let fencing = fencing_section(&c);
    c.append_config(&fencing);
    for i in [1u8, 2] {
        std::fs::write(power_file(&c, i), "on").unwrap();
        let dir = c.dir.join(format!("rsctmp{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        c.start_with_env(i, &[("HA_RSCTMP", &dir)]);
    }
    let first_view = formed(&c);
    // The DC's own file is the base: the loaded text differs only in
    // its primitives.
    let base = std::fs::read_to_string(c.dir.join("node1.toml")).unwrap();
    let text = big_config(&base);
    assert!(
        text.len() < paceline::config::MAX_CONFIG_BYTES,
        "{}",
        text.len()
    );
    let file = c.dir.join("big.toml");
    std::fs::write(&file, &text).unwrap();
    let out = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(2));
    assert!(
        out.status.success(),
        "configure load: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        logs(&c)
    );
    let deadline = Instant::now() + ALL_STARTED_WITHIN;
    loop {
        for i in [1u8, 2] {
            let v = view(&c, i);
            assert!(
                v.is_none_or(|(id, members, pauses)| id == first_view
                    && members == 2
                    && pauses == 0),
                "node{i} changed its view while the configuration was applied: {v:?} (first view {first_view})\n{}",
                logs(&c)
            );
        }
        let started = started_on(&c, 1) + started_on(&c, 2);
        if started == PRIMITIVES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{started} of {PRIMITIVES} started within {ALL_STARTED_WITHIN:?}\n{}",
            logs(&c)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let all = logs(&c);
    for line in all.lines() {
        assert!(
            !line.contains(" lost") && !line.contains("fencing of") && !line.contains("rejoining"),
            "{line}\n{all}"
        );
    }
    for i in [1u8, 2] {
        let power = std::fs::read_to_string(power_file(&c, i)).unwrap();
        assert_eq!(power.trim(), "on", "node{i} was fenced\n{all}");
    }
}
