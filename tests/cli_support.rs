//! The support commands on a live daemon (issue 17): `paceline cluster
//! log-level` changes what the daemon logs without a restart, and
//! `paceline report` packs what a supporter asks for into one archive.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[path = "local/mod.rs"]
mod local;

/// pacelined as node1, killed and its directory removed when dropped.
use local::Running as Daemon;

impl Daemon {
    fn start(tag: &str) -> Daemon {
        let dir = std::env::temp_dir().join(format!("plsupport{}{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
        local::keygen(&dir.join("authkey"));
        let d = dir.display();
        let config = format!(
            "[cluster]\nname = \"support\"\nauthkey = \"{d}/authkey\"\nstate_dir = \"{d}/state\"\n\
             [membership]\nheartbeat = \"100ms\"\ntoken_timeout = \"1s\"\n\
             [[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n\
             [fencing]\nenabled = false\n\
             [[fencing.device]]\nid = \"bmc\"\ntype = \"ipmi\"\nhost = \"198.18.0.9\"\nusername = \"admin\"\npassword = \"s3cret-pw\"\n",
            local::free_udp_port()
        );
        // Private before it is written: the inline password is allowed.
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dir.join("cluster.toml"))
            .unwrap();
        let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
        let child = local::start_node1(&dir, &config, false, log);
        let d = Daemon { dir, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !d.cli(&["status"]).status.success() {
            assert!(Instant::now() < deadline, "no daemon: {}", d.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        // The status names the DC from the view before the controller has
        // logged taking the role: the report's journal needs that line.
        while !d.log().contains("controller: this node is the DC") {
            assert!(Instant::now() < deadline, "no DC: {}", d.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(args)
            .arg("--socket")
            .arg(self.dir.join("api.sock"))
            .output()
            .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }
}

#[test]
fn the_log_level_changes_while_the_daemon_runs() {
    let d = Daemon::start("level");
    d.cli(&["status"]);
    assert!(!d.log().contains("api: report request"), "{}", d.log());
    let out = d.cli(&["cluster", "log-level", "debug"]);
    assert!(out.status.success(), "{}", local::text(&out));
    assert!(local::text(&out).contains("log level debug (was info)"));
    d.cli(&["status"]);
    assert!(
        d.log().contains("api: report request from root"),
        "{}",
        d.log()
    );
    // Back to warnings only: a notice (a config change) is no longer logged.
    d.cli(&["cluster", "log-level", "warning"]);
    let out = d.cli(&["property", "set", "no-quorum-policy", "ignore"]);
    assert!(out.status.success(), "{}", local::text(&out));
    std::thread::sleep(Duration::from_millis(500));
    let log = d.log();
    let after = &log[log.find("log level warning").unwrap_or(0)..];
    assert!(!after.contains("configuration now at epoch"), "{after}");
    let out = d.cli(&["cluster", "log-level", "loud"]);
    assert_eq!(out.status.code(), Some(1), "{}", local::text(&out));
}

#[test]
fn a_report_is_one_private_archive_without_the_secrets() {
    let d = Daemon::start("report");
    let dest = d.dir.join("r.tar.gz");
    let out = d.cli(&[
        "report",
        "--from",
        "-10min",
        "--dest",
        dest.to_str().unwrap(),
        "--log",
        d.dir.join("daemon.log").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", local::text(&out));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let unpacked = d.dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&dest)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success());
    let top = std::fs::read_dir(&unpacked)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let read =
        |f: &str| std::fs::read_to_string(top.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let config = read("cluster.toml");
    assert!(
        config.contains("id = \"bmc\"") && config.contains("REDACTED"),
        "{config}"
    );
    assert!(!config.contains("s3cret-pw"), "{config}");
    assert!(read("status.txt").contains("Current DC: node1"));
    assert!(read("status.json").contains("\"cluster\": \"support\""));
    assert!(read("journal.txt").contains("controller: this node is the DC"));
    assert!(read("versions.txt").contains("paceline 0."));
    read("fence-history.txt");
    assert!(!exists(&top.join("authkey")));
}

fn exists(p: &Path) -> bool {
    p.exists()
}

#[test]
fn cluster_setup_writes_a_configuration_that_checks_and_a_private_key() {
    let dir = std::env::temp_dir().join(format!("plsetup{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let paceline = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(args)
            .output()
            .unwrap()
    };
    let d = dir.to_str().unwrap();
    let out = paceline(&[
        "cluster",
        "setup",
        "web",
        "node1=198.18.0.1,198.18.1.1",
        "node2=198.18.0.2,198.18.1.2",
        "--dir",
        d,
    ]);
    assert!(out.status.success(), "{}", local::text(&out));
    let config = dir.join("cluster.toml");
    let out = paceline(&[
        "config",
        "check",
        "--without-agents",
        config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", local::text(&out));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("two_node = true")
            && text.contains("links = [\"198.18.0.2\", \"198.18.1.2\"]"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    let key = std::fs::metadata(dir.join("authkey")).unwrap();
    assert_eq!((key.len(), key.permissions().mode() & 0o777), (64, 0o600));
    // Not over existing files; a malformed node is a usage error.
    let out = paceline(&["cluster", "setup", "web", "node1=198.18.0.1", "--dir", d]);
    assert_eq!(out.status.code(), Some(1), "{}", local::text(&out));
    let out = paceline(&["cluster", "setup", "web", "node1", "--dir", d, "--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", local::text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn import_cib_writes_an_owner_only_file_and_fails_when_it_does_not_validate() {
    let dir = std::env::temp_dir().join(format!("plimport{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ok = r#"<cib admin_epoch="0" epoch="1" num_updates="0"><configuration><crm_config><cluster_property_set id="o"><nvpair id="s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config><nodes><node id="1" uname="node1"/></nodes><resources><primitive id="d" class="ocf" provider="heartbeat" type="Dummy"/></resources><constraints/></configuration><status/></cib>"#;
    let bad = ok.replace(
        "<constraints/>",
        r#"<constraints><rsc_colocation id="c" rsc="d" with-rsc="ghost" score="INFINITY"/></constraints>"#,
    );
    let import = |name: &str, cib: &str| {
        let xml = dir.join(format!("{name}.xml"));
        std::fs::write(&xml, cib).unwrap();
        let toml = dir.join(format!("{name}.toml"));
        let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(["config", "import-cib"])
            .arg(&xml)
            .arg("-o")
            .arg(&toml)
            .output()
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&toml).unwrap().permissions().mode() & 0o777;
        (out.status.code(), mode, local::text(&out))
    };
    let (code, mode, text) = import("ok", ok);
    assert_eq!((code, mode), (Some(0), 0o600), "{text}");
    let (code, mode, text) = import("bad", &bad);
    assert_eq!((code, mode), (Some(2), 0o600), "{text}");
    assert!(text.contains("unknown resource `ghost`"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `paceline log --file` (a daemon not under systemd): the last lines,
/// narrowed by a node's or resource's name, and new lines as they come.
#[test]
fn the_log_shows_the_daemon_s_lines_narrowed_and_follows_new_ones() {
    let d = Daemon::start("log");
    let file = d.dir.join("daemon.log");
    let log = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_paceline"))
            .arg("log")
            .arg("--file")
            .arg(&file)
            .args(args)
            .output()
            .unwrap()
    };
    let all = log(&["--no-follow", "-n", "1000"]);
    assert!(all.status.success(), "{}", local::text(&all));
    let all = String::from_utf8_lossy(&all.stdout).to_string();
    assert!(all.lines().count() > 1, "{all}");
    let mine =
        String::from_utf8_lossy(&log(&["--no-follow", "-n", "1000", "--node", "node1"]).stdout)
            .to_string();
    assert!(
        !mine.is_empty() && mine.lines().all(|l| l.contains("node1")),
        "{mine}"
    );
    let none = log(&["--no-follow", "--resource", "no-such-resource"]);
    assert!(
        none.status.success() && none.stdout.is_empty(),
        "{}",
        local::text(&none)
    );
    // The journal's options have no meaning for a file: refused, usage.
    assert!(!log(&["--since", "-1h"]).status.success());

    // Followed: a change made now shows up while `log` runs.
    let mut follow = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["log", "-n", "0", "--file"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let changed = d.cli(&["cluster", "log-level", "debug"]);
    assert!(changed.status.success(), "{}", local::text(&changed));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("log level")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(
        seen.iter().any(|l| l.contains("log level")),
        "followed lines: {seen:?}\nthe log: {}",
        d.log()
    );
}
