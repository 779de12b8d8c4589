//! The executor running Debian's real OCF agents (resource-agents:
//! ocf:heartbeat:Dummy; pacemaker-resource-agents: ocf:pacemaker:Stateful),
//! plus a test agent of our own for the timeout case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use paceline::executor::agent_env::{install_shims, read_attributes};
use paceline::executor::monitor::RecurringMonitor;
use paceline::executor::ocf::{AgentId, OcfAction, OcfRunner};
use paceline::executor::parallel::run_parallel;

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("plx{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn have_agent(path: &str) -> bool {
    if Path::new(path).is_file() {
        return true;
    }
    eprintln!("SKIP: {path} is not installed (see ci/packages.d/executor.txt)");
    false
}

fn dummy(tmp: &Path, id: &str, action: &str) -> OcfAction {
    let mut a = OcfAction::new(id, AgentId::parse("ocf:heartbeat:Dummy").unwrap(), action);
    a.params.insert(
        "state".into(),
        tmp.join(format!("{id}.state")).display().to_string(),
    );
    a
}

fn runner(tmp: &Path) -> OcfRunner {
    OcfRunner::new("/usr/lib/ocf", tmp.join("rsctmp"))
}

#[test]
fn dummy_lifecycle_with_history() {
    if !have_agent("/usr/lib/ocf/resource.d/heartbeat/Dummy") {
        return;
    }
    let t = TempDir::new("dummy");
    let r = runner(&t.0);
    assert_eq!(
        r.run(&dummy(&t.0, "d1", "monitor")).rc.0,
        7,
        "probe before start"
    );
    let start = r.run(&dummy(&t.0, "d1", "start"));
    assert_eq!(start.rc.0, 0, "{start:?}");
    assert_eq!(r.run(&dummy(&t.0, "d1", "monitor")).rc.0, 0);
    assert_eq!(r.run(&dummy(&t.0, "d1", "stop")).rc.0, 0);
    let after = r.run(&dummy(&t.0, "d1", "monitor"));
    assert_eq!((after.rc.0, after.meaning), (7, "not running"));
    let hist = r.history.for_resource("d1");
    assert_eq!(hist.len(), 3, "latest per action: {hist:?}");
    let mon = hist.iter().find(|h| h.action == "monitor").unwrap();
    assert_eq!(mon.rc, 7);
    assert!(mon.call_id > hist.iter().find(|h| h.action == "start").unwrap().call_id);
}

#[test]
fn not_installed_and_bad_parameters() {
    if !have_agent("/usr/lib/ocf/resource.d/heartbeat/Dummy") {
        return;
    }
    let t = TempDir::new("bad");
    let r = runner(&t.0);
    let missing = OcfAction::new(
        "x",
        AgentId::parse("ocf:heartbeat:NoSuchAgent").unwrap(),
        "start",
    );
    let res = r.run(&missing);
    assert_eq!((res.rc.0, res.meaning), (5, "not installed"));
    assert!(res.exit_reason.unwrap().contains("NoSuchAgent"));

    let mut bad = dummy(&t.0, "d2", "start");
    bad.params.insert("no_such_param".into(), "1".into());
    let res = r.run(&bad);
    assert_eq!((res.rc.0, res.meaning), (2, "invalid parameter"));
    assert!(res.exit_reason.unwrap().contains("no_such_param"));
}

#[test]
fn monitor_timeout_kills_the_process_group() {
    let t = TempDir::new("timeout");
    let dir = t.0.join("ocf/resource.d/plxtest");
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = t.0.join("child.pid");
    let agent = dir.join("Hang");
    // The monitor forks a helper that would outlive a kill of the agent alone.
    std::fs::write(
        &agent,
        format!(
            "#!/bin/sh\ncase \"$1\" in\nmonitor) sleep 60 & echo $! > {}; wait ;;\n*) exit 0 ;;\nesac\n",
            pidfile.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = OcfRunner::new(t.0.join("ocf"), t.0.join("rsctmp"));
    let mut a = OcfAction::new("h", AgentId::parse("ocf:plxtest:Hang").unwrap(), "monitor");
    a.timeout = Duration::from_millis(500);
    let res = r.run(&a);
    assert!(res.timed_out, "{res:?}");
    assert_eq!(res.meaning, "timed out");
    assert!(res.duration_ms < 5000);
    let child: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let alive = Path::new(&format!("/proc/{child}")).exists()
        && !std::fs::read_to_string(format!("/proc/{child}/stat"))
            .unwrap_or_default()
            .contains(") Z ");
    assert!(!alive, "helper {child} of the timed-out agent survived");
}

#[test]
fn parallel_starts_and_recurring_monitor() {
    if !have_agent("/usr/lib/ocf/resource.d/heartbeat/Dummy") {
        return;
    }
    let t = TempDir::new("par");
    let r = Arc::new(runner(&t.0));
    let starts: Vec<OcfAction> = (0..10)
        .map(|i| dummy(&t.0, &format!("p{i}"), "start"))
        .collect();
    let res = run_parallel(&r, &starts, 4);
    assert_eq!(res.len(), 10);
    assert!(res.iter().all(|x| x.rc.0 == 0), "{res:?}");

    let mut mon = dummy(&t.0, "p0", "monitor");
    mon.interval = Duration::from_millis(200);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let m = RecurringMonitor::start(r.clone(), mon, move |x| s2.lock().unwrap().push(x.rc.0));
    // Two runs at least (a loaded machine may take long over each one:
    // waited for, not timed).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    m.stop();
    let n = seen.lock().unwrap().len();
    assert!(n >= 2, "monitor ran {n} times");
    assert!(seen.lock().unwrap().iter().all(|rc| *rc == 0));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        seen.lock().unwrap().len(),
        n,
        "monitor kept running after stop"
    );
    let stops: Vec<OcfAction> = (0..10)
        .map(|i| dummy(&t.0, &format!("p{i}"), "stop"))
        .collect();
    assert!(run_parallel(&r, &stops, 4).iter().all(|x| x.rc.0 == 0));
}

#[test]
fn stateful_promote_demote_through_shims() {
    if !have_agent("/usr/lib/ocf/resource.d/pacemaker/Stateful") {
        return;
    }
    let t = TempDir::new("stateful");
    let mut r = runner(&t.0);
    let shims = t.0.join("shims");
    install_shims(&shims, Path::new(env!("CARGO_BIN_EXE_paceline"))).unwrap();
    r.shim_dir = Some(shims);
    let attrs = t.0.join("attributes.json");
    r.attr_file = Some(attrs.clone());
    r.node_name = "n1".into();
    let act = |name: &str| {
        let mut a = OcfAction::new(
            "st:0",
            AgentId::parse("ocf:pacemaker:Stateful").unwrap(),
            name,
        );
        a.params = BTreeMap::from([(
            "state".to_string(),
            t.0.join("st.state").display().to_string(),
        )]);
        a.meta.insert("clone-max".into(), "1".into());
        a.meta.insert("promotable".into(), "true".into());
        a
    };
    let score = || {
        read_attributes(&attrs)
            .get("n1")
            .and_then(|m| m.get("master-st").cloned())
    };
    assert_eq!(r.run(&act("start")).rc.0, 0);
    assert_eq!(
        score().as_deref(),
        Some("5"),
        "unpromoted score via crm_attribute --promotion"
    );
    assert_eq!(r.run(&act("monitor")).rc.0, 0);
    assert_eq!(r.run(&act("promote")).rc.0, 0);
    assert_eq!(score().as_deref(), Some("10"));
    let m = r.run(&act("monitor"));
    assert_eq!((m.rc.0, m.meaning), (8, "running promoted"));
    assert_eq!(r.run(&act("demote")).rc.0, 0);
    assert_eq!(r.run(&act("monitor")).rc.0, 0);
    assert_eq!(r.run(&act("stop")).rc.0, 0);
    assert_eq!(score(), None, "score removed on stop");
    assert_eq!(r.run(&act("monitor")).rc.0, 7);
}

/// A shim linked to `pacelined` (what the daemon falls back to when it finds
/// no `paceline` CLI) answers as the CLI's does: before, pacelined parsed
/// `crm_master -l reboot -v 1000` as its own options and failed, so a
/// packaged node's agents never set a promotion score.
#[test]
fn shims_linked_to_the_daemon_set_promotion_scores() {
    let t = TempDir::new("daemon-shims");
    let shims = t.0.join("shims");
    install_shims(&shims, Path::new(env!("CARGO_BIN_EXE_pacelined"))).unwrap();
    let attrs = t.0.join("attributes.json");
    let out = std::process::Command::new(shims.join("crm_master"))
        .args(["-l", "reboot", "-v", "1000"])
        .env("OCF_RESOURCE_INSTANCE", "db:0")
        .env("PACELINE_ATTR_FILE", &attrs)
        .env("PACELINE_NODE", "n1")
        .env("PACELINE_SOCKET", t.0.join("nobody-listens"))
        .output()
        .unwrap();
    assert!(out.status.success(), "crm_master: {out:?}");
    assert_eq!(
        read_attributes(&attrs)
            .get("n1")
            .and_then(|m| m.get("master-db").cloned())
            .as_deref(),
        Some("1000")
    );
}

#[test]
fn resource_exec_cli() {
    if !have_agent("/usr/lib/ocf/resource.d/heartbeat/Dummy") {
        return;
    }
    let t = TempDir::new("cli");
    let cfg = t.0.join("cluster.toml");
    std::fs::write(
        &cfg,
        format!(
            "[cluster]\nname = \"c\"\nstate_dir = \"{}\"\n[[primitive]]\nid = \"d\"\nagent = \"ocf:heartbeat:Dummy\"\nparams = {{ state = \"{}\" }}\nops = [ {{ name = \"start\", timeout = \"10s\" }} ]\n",
            t.0.display(),
            t.0.join("d.state").display()
        ),
    )
    .unwrap();
    let run = |action: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(["resource", "exec", "--config"])
            .arg(&cfg)
            .args(["d", action, "--output", "json"])
            .env("HA_RSCTMP", t.0.join("rsctmp"))
            .output()
            .unwrap()
    };
    let out = run("start");
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rc"], 0);
    assert_eq!(v["meaning"], "success");
    let v: serde_json::Value = serde_json::from_slice(&run("monitor").stdout).unwrap();
    assert_eq!(v["rc"], 0);
    assert!(run("stop").status.success());
    let v: serde_json::Value = serde_json::from_slice(&run("probe").stdout).unwrap();
    assert_eq!(
        (v["rc"].as_i64(), v["meaning"].as_str()),
        (Some(7), Some("not running"))
    );
    let out = run("nosuch-resource-action");
    assert!(!out.status.success());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["resource", "exec", "--config"])
        .arg(&cfg)
        .args(["missing", "start"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configured: d"));
}
