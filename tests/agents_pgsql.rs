//! agents/pgsql (ocf:paceline:pgsql) with two real PostgreSQL instances
//! (Debian's postgresql; binaries under /usr/lib/postgresql/*/bin), run as the
//! postgres user on loopback ports, through the executor and the shims.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use paceline::executor::agent_env::{install_shims, read_attributes};
use paceline::executor::ocf::{ActionResult, AgentId, OcfAction, OcfRunner};

struct Setup {
    tmp: PathBuf,
    runners: Vec<(OcfRunner, PathBuf, u16)>,
    peers_include_self: bool,
}
impl Drop for Setup {
    fn drop(&mut self) {
        for (r, _, _) in &self.runners {
            r.run(&act(self, r, "stop"));
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

fn bindir() -> Option<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    v.sort();
    v.pop()
}

fn as_pg(args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .unwrap()
}

fn act(s: &Setup, r: &OcfRunner, name: &str) -> OcfAction {
    let (_, data, port) = s
        .runners
        .iter()
        .find(|(x, _, _)| std::ptr::eq(x, r))
        .unwrap();
    let peers: Vec<String> = s
        .runners
        .iter()
        .filter(|(_, _, p)| s.peers_include_self || p != port)
        .map(|(_, _, p)| format!("127.0.0.1:{p}"))
        .collect();
    let mut a = OcfAction::new("pg", AgentId::parse("ocf:paceline:pgsql").unwrap(), name);
    a.params.insert("pgdata".into(), data.display().to_string());
    a.params.insert("pgport".into(), port.to_string());
    a.params
        .insert("socketdir".into(), s.tmp.display().to_string());
    a.params.insert("peers".into(), peers.join(" "));
    a.timeout = Duration::from_secs(60);
    a
}

fn sql(s: &Setup, port: u16, q: &str) -> String {
    let bin = bindir().unwrap();
    let out = as_pg(&[
        bin.join("psql").to_str().unwrap(),
        "-h",
        s.tmp.to_str().unwrap(),
        "-p",
        &port.to_string(),
        "-d",
        "postgres",
        "-Atqc",
        q,
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn score(s: &Setup, node: &str) -> i64 {
    read_attributes(&s.tmp.join("attributes.json"))
        .get(node)
        .and_then(|m| m.get("master-pg"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// Two data directories (a: initdb'd, b: empty) with a runner each, or None
/// (printing why) where PostgreSQL is not installed. `peers_include_self`
/// lists every instance in each one's `peers`, as one config shared by all
/// nodes does (the VM lab's).
fn setup(tag: &str, slot: u16, peers_include_self: bool) -> Option<(Setup, PathBuf, u16)> {
    let Some(bin) = bindir() else {
        eprintln!("SKIP: postgresql is not installed (ci/packages.d/executor.txt)");
        return None;
    };
    if Command::new("id")
        .arg("postgres")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("SKIP: no postgres user");
        return None;
    }
    let pid = std::process::id();
    let tmp = std::env::temp_dir().join(format!("plx{pid}-{tag}"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    Command::new("chown")
        .args(["postgres", tmp.to_str().unwrap()])
        .status()
        .unwrap();
    let root = tmp.join("ocf");
    std::fs::create_dir_all(root.join("resource.d/paceline")).unwrap();
    let agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("agents/pgsql");
    std::os::unix::fs::symlink(&agent, root.join("resource.d/paceline/pgsql")).unwrap();
    let shims = tmp.join("shims");
    install_shims(&shims, Path::new(env!("CARGO_BIN_EXE_paceline"))).unwrap();
    // Each test (slot 0..3) takes its own pair of ports.
    let base = 15400 + (pid % 40) as u16 * 6 + slot * 2;
    let mk = |node: &str| {
        let mut r = OcfRunner::new(&root, tmp.join("rsctmp"));
        r.shim_dir = Some(shims.clone());
        r.attr_file = Some(tmp.join("attributes.json"));
        r.node_name = node.into();
        r
    };
    let (da, db) = (tmp.join("a"), tmp.join("b"));
    let s = Setup {
        tmp: tmp.clone(),
        runners: vec![
            (mk("n1"), da.clone(), base),
            (mk("n2"), db.clone(), base + 1),
        ],
        peers_include_self,
    };
    // Data checksums, as pg_rewind needs them (or wal_log_hints, which a
    // copy of an initdb never started has not recorded).
    let init = as_pg(&[
        bin.join("initdb").to_str().unwrap(),
        "-k",
        "-A",
        "trust",
        "-D",
        da.to_str().unwrap(),
    ]);
    assert!(init.status.success(), "{init:?}");
    Some((s, bin, base))
}

fn run(s: &Setup, i: usize, name: &str) -> (i32, ActionResult) {
    let r = &s.runners[i].0;
    let res = r.run(&act(s, r, name));
    (res.rc.0, res)
}

/// Takes a base backup of n1 (running as the primary) into n2's directory.
fn base_backup(s: &Setup, bin: &Path, base: u16) {
    let bb = as_pg(&[
        bin.join("pg_basebackup").to_str().unwrap(),
        "-h",
        "127.0.0.1",
        "-p",
        &base.to_string(),
        "-D",
        s.runners[1].1.to_str().unwrap(),
        "-X",
        "stream",
    ]);
    assert!(bb.status.success(), "{bb:?}");
}

#[test]
fn pgsql_standby_follows_promote_demote_and_score() {
    let Some((mut s, bin, base)) = setup("pg", 0, false) else {
        return;
    };
    let db = s.runners[1].1.clone();
    // n1: started (as an unpromoted standby without an upstream), then promoted.
    assert_eq!(run(&s, 0, "start").0, 0);
    assert_eq!(run(&s, 0, "monitor").0, 0);
    assert_eq!(run(&s, 0, "promote").0, 0);
    assert_eq!(run(&s, 0, "monitor").0, 8);
    sql(&s, base, "create table t(x int); insert into t values (1)");
    // n2: a base backup of n1, started as a standby that finds and follows n1.
    base_backup(&s, &bin, base);
    let (rc, res) = run(&s, 1, "start");
    assert_eq!(rc, 0, "{res:?}");
    assert_eq!(run(&s, 1, "monitor").0, 0);
    sql(&s, base, "insert into t values (2)");
    wait_for("n2 to replicate", || {
        sql(&s, base + 1, "select count(*) from t") == "2"
    });
    assert_eq!(score(&s, "n1"), 1001);
    assert_eq!(score(&s, "n2"), 1000);

    // n2 falls behind (stopped), n1 writes on and is demoted: two standbys,
    // and the score must prefer n1, which has the newer data.
    assert_eq!(run(&s, 1, "stop").0, 0);
    assert_eq!(score(&s, "n2"), -1, "stop clears the score");
    sql(&s, base, "insert into t select generate_series(3, 20000)");
    assert_eq!(run(&s, 0, "demote").0, 0);
    assert_eq!(run(&s, 0, "monitor").0, 0);
    assert_eq!(run(&s, 1, "start").0, 0);
    assert_eq!(run(&s, 0, "monitor").0, 0);
    assert_eq!(run(&s, 1, "monitor").0, 0);
    let (s1, s2) = (score(&s, "n1"), score(&s, "n2"));
    assert!(
        s1 > s2,
        "up-to-date standby n1 ({s1}) must outscore n2 ({s2})"
    );

    // Promote the winner; n2 re-points to it on its next monitor.
    assert_eq!(run(&s, 0, "promote").0, 0);
    assert_eq!(run(&s, 0, "monitor").0, 8);
    wait_for("n2 to follow the new primary", || {
        run(&s, 1, "monitor");
        sql(&s, base + 1, "select count(*) from t") == "20000"
    });

    // Switchover: demote n1, promote n2; n1 follows n2.
    assert_eq!(run(&s, 0, "demote").0, 0);
    let (rc, res) = run(&s, 1, "promote");
    assert_eq!(rc, 0, "{res:?}");
    assert_eq!(run(&s, 1, "monitor").0, 8);
    sql(&s, base + 1, "insert into t values (0)");
    wait_for("n1 to follow n2", || {
        run(&s, 0, "monitor");
        sql(&s, base, "select count(*) from t") == "20001"
    });
    assert_eq!(run(&s, 0, "monitor").0, 0);

    // Failover after a crash, with diverged histories: n1 (standby) is
    // down while the primary n2 commits rows n1 never receives, then n2
    // loses power. n1 is promoted. n2 comes back as a standby: its WAL has
    // the lost commits past the fork, so it can only follow n1 after a
    // pg_rewind, which its start must do.
    assert_eq!(run(&s, 0, "stop").0, 0);
    sql(&s, base + 1, "insert into t select generate_series(1, 50)");
    let crash = as_pg(&[
        bin.join("pg_ctl").to_str().unwrap(),
        "-D",
        db.to_str().unwrap(),
        "-m",
        "immediate",
        "stop",
    ]);
    assert!(crash.status.success(), "{crash:?}");
    assert_eq!(run(&s, 0, "start").0, 0);
    assert_eq!(run(&s, 0, "promote").0, 0);
    sql(&s, base, "insert into t values (-1)");
    let (rc, res) = run(&s, 1, "start");
    assert_eq!(rc, 0, "{res:?}");
    let log = std::fs::read_to_string(db.join("paceline.log")).unwrap_or_default();
    assert!(
        log.contains("pg_rewind from"),
        "start did not rewind:\n{log}"
    );
    wait_for("the rewound n2 to follow n1", || {
        run(&s, 1, "monitor");
        sql(&s, base + 1, "select count(*) from t") == "20002"
    });
    assert_eq!(
        sql(&s, base + 1, "select count(*) from t where x = -1"),
        "1",
        "n2 has n1's new row"
    );
    assert_eq!(run(&s, 1, "monitor").0, 0);
    s.runners.reverse(); // stop the standby first
}

/// The VM lab's sequence: a planned switchover that stops the old primary
/// (demote, then stop, as a leaving node's daemon does), its rejoin as a
/// standby watched by monitors for a while, then the new primary's crash.
/// The old primary must still be following, so that it can be promoted with
/// every row the crashed primary committed before the crash. Each instance's
/// `peers` lists both, itself included, as one shared config does.
#[test]
fn pgsql_after_a_switchover_by_stop_the_old_primary_follows_and_takes_over() {
    let Some((mut s, bin, base)) = setup("pgsw", 1, true) else {
        return;
    };
    let (n1, n2) = (0, 1);
    // Both start from copies of one initdb, as standbys with no primary
    // yet (the VM lab's nodes do), and the cluster then promotes n1.
    let copy = Command::new("cp")
        .args([
            "-a",
            s.runners[n1].1.to_str().unwrap(),
            s.runners[n2].1.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(copy.success());
    assert_eq!(run(&s, n1, "start").0, 0);
    let (rc, res) = run(&s, n2, "start");
    assert_eq!(rc, 0, "{res:?}");
    assert_eq!(run(&s, n1, "promote").0, 0);
    sql(&s, base, "create table t(x int); insert into t values (1)");
    wait_for("n2 to replicate", || {
        run(&s, n2, "monitor");
        sql(&s, base + 1, "select count(*) from t") == "1"
    });

    // The switchover: n1 leaves (demote, stop), n2 is promoted and writes.
    assert_eq!(run(&s, n1, "demote").0, 0);
    assert_eq!(run(&s, n1, "stop").0, 0);
    let (rc, res) = run(&s, n2, "promote");
    assert_eq!(rc, 0, "{res:?}");
    assert_eq!(run(&s, n2, "monitor").0, 8);
    sql(&s, base + 1, "insert into t values (2)");

    // n1 rejoins as a standby; its monitors run while n2 keeps writing.
    let (rc, res) = run(&s, n1, "start");
    assert_eq!(rc, 0, "{res:?}");
    for i in 3..13 {
        assert_eq!(
            run(&s, n1, "monitor").0,
            0,
            "monitor {i} of the rejoined n1"
        );
        sql(&s, base + 1, &format!("insert into t values ({i})"));
        std::thread::sleep(Duration::from_millis(700));
    }
    wait_for("the rejoined n1 to have every row n2 wrote", || {
        run(&s, n1, "monitor");
        sql(&s, base, "select count(*) from t") == "12"
    });

    // n2 crashes; n1 is promoted with all 12 rows.
    let crash = as_pg(&[
        bin.join("pg_ctl").to_str().unwrap(),
        "-D",
        s.runners[n2].1.to_str().unwrap(),
        "-m",
        "immediate",
        "stop",
    ]);
    assert!(crash.status.success(), "{crash:?}");
    let (rc, res) = run(&s, n1, "promote");
    let log = std::fs::read_to_string(s.runners[n1].1.join("paceline.log")).unwrap_or_default();
    assert_eq!(rc, 0, "{res:?}\nn1's log:\n{log}");
    assert_eq!(sql(&s, base, "select count(*) from t"), "12");
    s.runners.reverse();
}

fn raw_score(s: &Setup, node: &str) -> Option<String> {
    read_attributes(&s.tmp.join("attributes.json"))
        .get(node)
        .and_then(|m| m.get("master-pg"))
        .cloned()
}

/// A standby that cannot stream from the primary (here the primary refuses
/// its replication connections; in the VM lab it never connected) misses
/// that primary's writes: it is never promotable, also after the primary is
/// gone, rather than being promoted into a timeline beside the primary's.
#[test]
fn pgsql_a_standby_not_streaming_from_the_primary_is_never_promotable() {
    let Some((mut s, _bin, base)) = setup("pgnf", 2, true) else {
        return;
    };
    let (n1, n2) = (0, 1);
    let (d1, d2) = (s.runners[n1].1.clone(), s.runners[n2].1.clone());
    let copy = Command::new("cp")
        .args(["-a", d1.to_str().unwrap(), d2.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(copy.success());
    // n1 accepts queries from n2 but no replication connection.
    let hba = d1.join("pg_hba.conf");
    let kept: String = std::fs::read_to_string(&hba)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("replication"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&hba, kept).unwrap();
    assert_eq!(run(&s, n1, "start").0, 0);
    assert_eq!(run(&s, n1, "promote").0, 0);
    // Over a MiB of WAL (max_lag_on_failover's default) that n2 never gets;
    // n1's monitor publishes its position.
    sql(
        &s,
        base,
        "create table t(x int); insert into t select generate_series(1, 100000)",
    );
    assert_eq!(run(&s, n1, "monitor").0, 8);
    let (rc, res) = run(&s, n2, "start");
    let log = std::fs::read_to_string(d2.join("paceline.log")).unwrap_or_default();
    assert_eq!(rc, 0, "{res:?}\nn2's log:\n{log}");
    assert_eq!(run(&s, n2, "monitor").0, 0);
    assert_eq!(raw_score(&s, "n2").as_deref(), Some("-INFINITY"));
    // The primary leaves: n2 still has none of its writes, and stays out.
    assert_eq!(run(&s, n1, "demote").0, 0);
    assert_eq!(run(&s, n1, "stop").0, 0);
    assert_eq!(run(&s, n2, "monitor").0, 0);
    assert_eq!(raw_score(&s, "n2").as_deref(), Some("-INFINITY"));
    // Asked anyway, it refuses, and stays a standby.
    let (rc, res) = run(&s, n2, "promote");
    assert_eq!(rc, 1, "{res:?}");
    assert!(
        res.exit_reason
            .unwrap_or_default()
            .contains("behind the last primary")
    );
    assert_eq!(sql(&s, base + 1, "select pg_is_in_recovery()"), "t");
    // A lag that is not a number would turn the guard off: refused.
    let r = &s.runners[n2].0;
    let mut bad = act(&s, r, "validate-all");
    bad.params
        .insert("max_lag_on_failover".into(), "1MB".into());
    let res = r.run(&bad);
    assert_eq!(res.rc.0, 6, "{res:?}");
    s.runners.reverse();
}
