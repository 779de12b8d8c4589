//! The systemd files the packages install (`packaging/pacelined.service`,
//! `packaging/sysusers.d/`, `packaging/tmpfiles.d/`; issue 20):
//! the unit passes `systemd-analyze verify` and says what a cluster node
//! needs; sysusers.d creates `haclient`; tmpfiles.d makes the socket's
//! directory and the state directory with private modes. The daemon's side
//! (READY, WATCHDOG, STOPPING) is `tests/daemon_systemd.rs`. Checks that
//! need systemd's tools say so and skip when they are absent.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn packaging(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("packaging")
        .join(file)
}

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        eprintln!("skipping: {tool} is not installed (apt-get install systemd)");
    }
    found
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("pl-pkg-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The unit's `Key=value` settings, in order.
fn settings(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn the_unit_is_a_notify_service_with_a_watchdog_and_time_to_stop() {
    let unit = std::fs::read_to_string(packaging("pacelined.service")).unwrap();
    let settings = settings(&unit);
    let get = |key: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get("Type"), ["notify"]);
    assert_eq!(get("Restart"), ["on-failure"]);
    assert!(get("WatchdogSec").len() == 1, "no WatchdogSec=");
    // A hung daemon is killed soon, not after TimeoutStopSec (which is
    // also the default of TimeoutAbortSec).
    assert_eq!(get("TimeoutAbortSec"), ["10s"]);
    assert!(
        get("LimitNOFILE")
            .iter()
            .any(|v| v.parse::<u64>().unwrap() >= 65536)
    );
    // Longer than the daemon's own bound (60 s for resources to stop) plus
    // the agents' stop timeouts.
    assert_eq!(get("TimeoutStopSec"), ["15min"]);
    for target in ["network-online.target", "time-sync.target"] {
        for key in ["After", "Wants"] {
            assert!(
                get(key)
                    .iter()
                    .any(|v| v.split_whitespace().any(|t| t == target)),
                "{key}= lacks {target}"
            );
        }
    }
    assert_eq!(
        get("ExecStart"),
        ["/usr/sbin/pacelined --config /etc/paceline/cluster.toml"]
    );
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    if !have("systemd-analyze") {
        return;
    }
    // verify checks that ExecStart= exists: point it at the built binary.
    let dir = TempDir::new("verify");
    let unit = std::fs::read_to_string(packaging("pacelined.service"))
        .unwrap()
        .replace("/usr/sbin/pacelined", env!("CARGO_BIN_EXE_pacelined"));
    let path = dir.0.join("pacelined.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // A setting it cannot parse is only a warning ("ignoring"): none.
    assert!(stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
}

#[test]
fn sysusers_and_tmpfiles_make_the_group_and_private_directories() {
    if !have("systemd-sysusers") || !have("systemd-tmpfiles") {
        return;
    }
    let root = TempDir::new("root");
    for dir in ["sysusers.d", "tmpfiles.d"] {
        let into = root.0.join("usr/lib").join(dir);
        std::fs::create_dir_all(&into).unwrap();
        let file = format!("{dir}/paceline.conf");
        std::fs::copy(packaging(&file), into.join("paceline.conf")).unwrap();
    }
    std::fs::create_dir_all(root.0.join("etc")).unwrap();
    for tool in ["systemd-sysusers", "systemd-tmpfiles"] {
        let mut command = Command::new(tool);
        command.arg(format!("--root={}", root.0.display()));
        if tool == "systemd-tmpfiles" {
            command.arg("--create");
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let group = std::fs::read_to_string(root.0.join("etc/group")).unwrap();
    let gid: u32 = group
        .lines()
        .find_map(|l| l.strip_prefix("haclient:x:"))
        .and_then(|rest| rest.split(':').next())
        .expect("no haclient group")
        .parse()
        .unwrap();
    // The daemon's defaults live there (`[cluster] socket`, `state_dir`).
    let socket = Path::new(paceline::api::DEFAULT_SOCKET);
    assert_eq!(socket.parent(), Some(Path::new("/run/paceline")));
    let run = std::fs::metadata(root.0.join("run/paceline")).unwrap();
    assert_eq!((run.mode() & 0o7777, run.uid(), run.gid()), (0o750, 0, gid));
    let state = std::fs::metadata(root.0.join("var/lib/paceline")).unwrap();
    assert_eq!((state.mode() & 0o7777, state.uid()), (0o700, 0));
}
