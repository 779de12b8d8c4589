//! A rolling upgrade (issue 21 item 3): a two-node cluster of the previous
//! release's real binaries (the last line of `RELEASES`, built from its
//! commit) runs a group of a VIP and a Dummy; each node in turn is put in
//! standby, stopped cleanly, started on this build's `pacelined` on the
//! same state directory, rejoins the other, still of the previous release,
//! and is put online again, as the README's "Upgrading without downtime"
//! says. Meanwhile a thread looks at the ground truth every 50 ms (the
//! address on each namespace's eth0, the Dummy's state file on each node):
//! the VIP and the Dummy are never on two nodes, are down only during the
//! planned moves (one stop → start each), and nothing is fenced.
//!
//! The previous release is built once with its own source (`git archive`
//! of its commit) into `target/previous-release/<commit>/`, its target
//! directory seeded with hard links to this build's dependencies so that
//! only paceline's own crates compile (about 2 minutes on 2 cores; cached
//! afterwards). A custom harness, so that it reports itself ignored, with
//! the reason, when it cannot run: not root, no iproute2, no Dummy agent,
//! or the release's commit is not in this checkout (a shallow clone).

#[path = "netns/mod.rs"]
mod netns;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netns::{Cluster, report};

const NAME: &str = "a_cluster_of_the_previous_release_is_upgraded_node_by_node_without_downtime";
/// How long a wait may take before the test fails (it only ends a hung test).
const WAIT: Duration = Duration::from_secs(60);
const VIP: &str = "198.18.0.100";
const DUMMY: &str = "/usr/lib/ocf/resource.d/heartbeat/Dummy";

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// (version, commit) of the last release listed in `RELEASES`.
fn previous_release() -> (String, String) {
    let text = std::fs::read_to_string(manifest().join("RELEASES")).expect("RELEASES");
    let line = text
        .lines()
        .rfind(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .expect("a release in RELEASES");
    let mut fields = line.split_whitespace();
    let version = fields.next().unwrap_or_default().to_string();
    let commit = fields.next().unwrap_or_default().to_string();
    (version, commit)
}

/// Where the previous release is built and kept.
fn cache_dir(commit: &str) -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_pacelined"));
    let target = exe.parent().and_then(Path::parent).expect("target dir");
    target
        .join("previous-release")
        .join(&commit[..commit.len().min(12)])
}

fn built(commit: &str) -> bool {
    let bin = cache_dir(commit).join("bin");
    bin.join("pacelined").exists() && bin.join("paceline").exists()
}

fn why_not(commit: &str, version: &str) -> Option<String> {
    let root = nix::unistd::Uid::effective().is_root();
    let ip = Command::new("ip").arg("-V").output().is_ok();
    if !root || !ip {
        return Some("needs root and iproute2 (network namespaces)".into());
    }
    if !Path::new(DUMMY).exists() {
        return Some("needs resource-agents' Dummy".into());
    }
    if built(commit) {
        return None;
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(manifest())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let object = format!("{commit}^{{commit}}");
    // A shallow clone (CI's default) lacks it: one fetch of that commit.
    let present = git(&["cat-file", "-e", &object])
        || (git(&["fetch", "--quiet", "--depth", "1", "origin", commit])
            && git(&["cat-file", "-e", &object]));
    if !present {
        return Some(format!(
            "release {version}'s commit {commit} (RELEASES) is not in this checkout \
             and fetching it from origin failed (a shallow clone? `git fetch --unshallow`), and \
             no build of it is cached"
        ));
    }
    None
}

fn run(what: &str, cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
    Err(format!(
        "{what} failed ({}):\n{}",
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// Builds the release's binaries (once) and returns their directory.
fn build_previous(commit: &str) -> Result<PathBuf, String> {
    let cache = cache_dir(commit);
    let bin = cache.join("bin");
    if built(commit) {
        return Ok(bin);
    }
    let src = cache.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
    let archive = format!(
        "git -C '{}' archive {commit} | tar -x -C '{}'",
        manifest().display(),
        src.display()
    );
    run("git archive", Command::new("sh").args(["-c", &archive]))?;
    // Its target directory starts with this build's dependencies (hard
    // links, the fingerprints copied): the same Cargo.lock gives the same
    // artifacts, so only paceline and its fencing crate compile.
    let profile = Path::new(env!("CARGO_BIN_EXE_pacelined"))
        .parent()
        .expect("profile dir");
    let target = cache.join("target");
    let seeded = target.join("debug");
    if !seeded.exists() {
        std::fs::create_dir_all(&seeded).map_err(|e| e.to_string())?;
        for dir in ["deps", "build"] {
            run(
                "seeding the release's target",
                Command::new("cp")
                    .arg("-al")
                    .arg(profile.join(dir))
                    .arg(&seeded),
            )?;
        }
        run(
            "seeding the release's fingerprints",
            Command::new("cp")
                .arg("-a")
                .arg(profile.join(".fingerprint"))
                .arg(&seeded),
        )?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    run(
        "building the previous release",
        Command::new(cargo)
            .args(["build", "--bins", "--locked"])
            .current_dir(&src)
            .env("CARGO_TARGET_DIR", &target)
            // A build made once: incremental caches only cost time.
            .env("CARGO_INCREMENTAL", "0")
            .env_remove("MAKEFLAGS")
            .env_remove("CARGO_MAKEFLAGS")
            .env_remove("MFLAGS"),
    )?;
    eprintln!(
        "built the previous release ({commit}) in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    for exe in ["paceline", "pacelined"] {
        let tmp = bin.join(format!("{exe}.tmp"));
        std::fs::copy(target.join("debug").join(exe), &tmp).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, bin.join(exe)).map_err(|e| e.to_string())?;
    }
    Ok(bin)
}

fn config(power: Option<&Path>) -> String {
    let mut text = String::from("[quorum]\ntwo_node = true\n");
    match power {
        None => text.push_str("[fencing]\nenabled = false\n"),
        Some(power) => {
            text.push_str("[fencing]\nenabled = true\naction = \"off\"\n[[fencing.device]]\nid = \"dummy\"\ntype = \"agent\"\nagent = \"fence_dummy\"\n");
            text.push_str(&format!(
                "params = {{ type = \"file\", status_file = \"{}\" }}\n",
                power.display()
            ));
            for n in ["node1", "node2"] {
                text.push_str(&format!(
                    "[[fencing.level]]\ntarget = \"{n}\"\nindex = 1\ndevices = [\"dummy\"]\n"
                ));
            }
        }
    }
    text.push_str(&format!(
        "[[primitive]]\nid = \"vip\"\nagent = \"builtin:ipaddr\"\nparams = {{ ip = \"{VIP}\", cidr_netmask = 24, nic = \"eth0\" }}\nops = [{{ name = \"monitor\", interval = \"2s\" }}]\n"
    ));
    text.push_str("[[primitive]]\nid = \"dummy\"\nagent = \"ocf:heartbeat:Dummy\"\nops = [{ name = \"monitor\", interval = \"2s\" }]\n");
    text.push_str("[[group]]\nid = \"service\"\nmembers = [\"vip\", \"dummy\"]\n");
    text.push_str("[[location]]\nid = \"prefer-node1\"\nresource = \"service\"\nnode = \"node1\"\nscore = 50\n");
    text
}

/// Where node `from`'s replicated status shows `rsc` running.
fn runs_on(c: &Cluster, from: u8, rsc: &str) -> Vec<String> {
    report(c, from)
        .and_then(|r| r.resources.into_iter().find(|x| x.id == rsc))
        .map(|x| x.nodes)
        .unwrap_or_default()
}

fn service_on(c: &Cluster, from: u8, node: &str) -> bool {
    ["vip", "dummy"]
        .iter()
        .all(|r| runs_on(c, from, r) == [node])
}

/// One look at the ground truth: which nodes hold the VIP, the Dummy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Holders {
    vip: u8,
    dummy: u8,
}

fn look(namespaces: &[String], rsctmps: &[PathBuf]) -> Holders {
    let vip = namespaces
        .iter()
        .filter(|ns| {
            Command::new("ip")
                .args(["-n", ns, "-o", "-4", "addr", "show", "dev", "eth0"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{VIP}/")))
        })
        .count();
    let dummy = rsctmps
        .iter()
        .filter(|d| d.join("Dummy-dummy.state").exists())
        .count();
    Holders {
        vip: vip as u8,
        dummy: dummy as u8,
    }
}

/// Samples the ground truth until stopped.
struct Watch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(Instant, Holders)>>,
}

impl Watch {
    fn start(namespaces: Vec<String>, rsctmps: Vec<PathBuf>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                samples.push((Instant::now(), look(&namespaces, &rsctmps)));
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        });
        Watch { stop, thread }
    }

    fn finish(self) -> Vec<(Instant, Holders)> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("watch thread")
    }
}

/// The spans during which `count` said 0 holders: (start, length).
fn outages(
    samples: &[(Instant, Holders)],
    count: impl Fn(&Holders) -> u8,
) -> Vec<(Instant, Duration)> {
    let mut out = Vec::new();
    let mut down_since: Option<Instant> = None;
    for (at, h) in samples {
        match (count(h), down_since) {
            (0, None) => down_since = Some(*at),
            (n, Some(since)) if n > 0 => {
                out.push((since, at.duration_since(since)));
                down_since = None;
            }
            _ => {}
        }
    }
    if let Some(since) = down_since {
        out.push((since, Duration::MAX));
    }
    out
}

/// Runs `paceline ARGS` against `socket`; a DC still syncing after the
/// view change asks to retry, which it does (bounded by `WAIT`).
fn cli(exe: &Path, args: &[&str], socket: &Path) {
    let deadline = Instant::now() + WAIT;
    loop {
        let out = Command::new(exe)
            .args(args)
            .arg("--socket")
            .arg(socket)
            .output()
            .expect("paceline");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return;
        }
        assert!(
            stderr.contains("retry") && Instant::now() < deadline,
            "paceline {args:?}: {stderr}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Writes the cluster's configuration plus an `[http]` section (newer
/// than release 0.1.0) to a file for `configure load`.
fn config_with_http(c: &Cluster) -> PathBuf {
    let show = paceline::api::call(&c.socket(1), &paceline::api::Request::ConfigShow);
    let Ok(paceline::api::Response::Config { text, .. }) = show else {
        panic!("configure show: {show:?}");
    };
    let file = c.dir.join("with-http.toml");
    std::fs::write(
        &file,
        format!("{text}\n[http]\nlisten = [\"127.0.0.1:9980\"]\n"),
    )
    .unwrap();
    file
}

/// A `configure load` using `[http]` while node2 runs release 0.1.0 is
/// refused by name (exit 1), and nothing changes.
fn newer_section_refused_in_the_mixed_phase(c: &Cluster) -> PathBuf {
    let file = config_with_http(c);
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["configure", "load"])
        .arg(&file)
        .arg("--socket")
        .arg(c.socket(1))
        .output()
        .expect("paceline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "configure load: {stderr}");
    for part in ["[http]", "node2", "Finish the upgrade first"] {
        assert!(stderr.contains(part), "{part} not in: {stderr}");
    }
    file
}

/// `paceline ticket` while node2 runs release 0.1.0 (which knows no
/// tickets) is refused, naming it and what to do (exit 1).
fn ticket_refused_in_the_mixed_phase(c: &Cluster) {
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["ticket", "standby", "east", "--socket"])
        .arg(c.socket(1))
        .output()
        .expect("paceline");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "ticket standby: {stderr}");
    for part in ["node2 runs release 0.1.0", "finish the rolling upgrade"] {
        assert!(stderr.contains(part), "{part} not in: {stderr}");
    }
}

fn protocol_version(c: &Cluster, i: u8) -> u8 {
    c.status(i).map(|s| s.protocol_version).unwrap_or_default()
}

/// Upgrades node `node` (its peer `other` keeps running) as the README
/// says; `standby_cli` is the `paceline` that puts it in standby (either
/// release's: a package upgrade replaces the CLI before the daemon restarts).
fn upgrade_node(c: &mut Cluster, node: u8, other: u8, standby_cli: &Path, env: &[(&str, &Path)]) {
    let name = format!("node{node}");
    cli(standby_cli, &["node", "standby", &name], &c.socket(node));
    c.until(&format!("nothing on {name}"), WAIT, || {
        ["vip", "dummy"]
            .iter()
            .all(|r| runs_on(c, other, r) == [format!("node{other}")])
    });
    c.terminate(node);
    c.until(&format!("{name} left"), WAIT, || {
        c.log(other).contains(&format!("node {name} left cleanly"))
    });
    c.start_exe(node, Path::new(env!("CARGO_BIN_EXE_pacelined")), env);
    c.agree(&[1, 2], &["node1", "node2"]);
    let new = Path::new(env!("CARGO_BIN_EXE_paceline"));
    cli(new, &["node", "online", &name], &c.socket(node));
    c.until("the service back on node1", WAIT, || {
        service_on(c, node, "node1") && service_on(c, other, "node1")
    });
}

fn upgrade(old_bin: &Path) {
    let started = Instant::now();
    let mut c = Cluster::new(2, ("200ms", "1s"));
    let power = c.dir.join("power");
    std::fs::write(&power, "on").unwrap();
    let fencing = Path::new("/usr/sbin/fence_dummy").exists();
    c.append_config(&config(fencing.then_some(power.as_path())));
    let rsctmps: Vec<PathBuf> = (1..=2).map(|i| c.dir.join(format!("rsctmp{i}"))).collect();
    for (i, tmp) in (1..=2).zip(&rsctmps) {
        std::fs::create_dir_all(tmp).unwrap();
        c.start_exe(i, &old_bin.join("pacelined"), &[("HA_RSCTMP", tmp)]);
    }
    c.agree(&[1, 2], &["node1", "node2"]);
    c.until("the service on node1", WAIT, || service_on(&c, 1, "node1"));
    let namespaces = vec![c.ns("n1"), c.ns("n2")];
    // The status may show a start dispatched before it ran: the ground
    // truth is watched once it holds.
    let both = Holders { vip: 1, dummy: 1 };
    c.until("the VIP and the Dummy up", WAIT, || {
        look(&namespaces, &rsctmps) == both
    });
    let watch = Watch::start(namespaces, rsctmps.clone());
    // node1 holds the service: it moves to node2 and back. This build's
    // CLI asks release 0.1.0's daemon; then 0.1.0's CLI asks its own
    // daemon, which forwards to the DC, node1, now of this build.
    let new_cli = Path::new(env!("CARGO_BIN_EXE_paceline"));
    upgrade_node(&mut c, 1, 2, new_cli, &[("HA_RSCTMP", &rsctmps[0])]);
    // A mixed view speaks the previous release's version.
    let mixed = (
        protocol_version(&c, 1),
        c.status(2).map(|s| s.protocol_version),
    );
    // Release 0.1.0's CLI reads this build's daemon (and the other way
    // round above: `report`, `status` and `online` are this build's).
    let with_http = newer_section_refused_in_the_mixed_phase(&c);
    ticket_refused_in_the_mixed_phase(&c);
    let old_cli = old_bin.join("paceline");
    cli(&old_cli, &["status"], &c.socket(1));
    upgrade_node(&mut c, 2, 1, &old_cli, &[("HA_RSCTMP", &rsctmps[1])]);
    let samples = watch.finish();
    c.until("both nodes speak this build's version", WAIT, || {
        protocol_version(&c, 1) == paceline::wire::PROTOCOL_VERSION
            && protocol_version(&c, 2) == paceline::wire::PROTOCOL_VERSION
    });
    // Upgraded, the cluster takes it.
    cli(
        new_cli,
        &["configure", "load", with_http.to_str().unwrap()],
        &c.socket(2),
    );
    assert_eq!(
        mixed,
        (4, Some(0)),
        "node1 (new) speaks 4; node2 (0.1.0) does not say"
    );
    if let Err(e) = check_ground_truth(&samples) {
        panic!("{e}\n--- node1\n{}\n--- node2\n{}", c.log(1), c.log(2));
    }
    for i in [1, 2] {
        let log = c.log(i);
        assert!(
            !log.contains("fencing of") && !log.contains("fencing node"),
            "node{i} fenced during the upgrade:\n{log}"
        );
        for refusal in [
            "which this node cannot understand",
            "none in common",
            "runs an older build",
        ] {
            assert!(!log.contains(refusal), "node{i} refused its peer:\n{log}");
        }
    }
    assert_eq!(std::fs::read_to_string(&power).unwrap().trim(), "on");
    for i in [1, 2] {
        for line in c.log(i).lines().filter(|l| {
            l.contains("protocol version") || l.contains("is the DC") || l.contains("left cleanly")
        }) {
            eprintln!("node{i}: {line}");
        }
    }
    eprintln!(
        "upgrade of two nodes, fencing {}: {:.1} s",
        if fencing { "on" } else { "off" },
        started.elapsed().as_secs_f64()
    );
}

/// Never on two nodes; down only during the planned moves (node1's
/// standby and its return: two, each one stop → start).
fn check_ground_truth(samples: &[(Instant, Holders)]) -> Result<(), String> {
    assert!(samples.len() > 20, "too few samples: {}", samples.len());
    let doubles: Vec<_> = samples
        .iter()
        .filter(|(_, h)| h.vip > 1 || h.dummy > 1)
        .collect();
    assert!(doubles.is_empty(), "on two nodes at once: {doubles:?}");
    let first = samples[0].0;
    for (what, count) in [
        ("vip", (|h: &Holders| h.vip) as fn(&Holders) -> u8),
        ("dummy", |h: &Holders| h.dummy),
    ] {
        let gaps = outages(samples, count);
        let shown: Vec<String> = gaps
            .iter()
            .map(|(at, len)| {
                format!(
                    "at {:.1} s for {} ms",
                    at.duration_since(first).as_secs_f64(),
                    len.as_millis()
                )
            })
            .collect();
        eprintln!("{what} down: {}", shown.join(", "));
        if gaps.len() > 2 || gaps.iter().any(|(_, len)| *len >= Duration::from_secs(10)) {
            return Err(format!(
                "{what} was down outside the two planned moves: {shown:?}"
            ));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected = filters.is_empty() || filters.iter().any(|f| NAME.contains(f.as_str()));
    if args.iter().any(|a| a == "--list") {
        if selected {
            println!("{NAME}: test");
        }
        return ExitCode::SUCCESS;
    }
    if !selected || args.iter().any(|a| a == "--ignored") {
        println!(
            "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out\n"
        );
        return ExitCode::SUCCESS;
    }
    println!("\nrunning 1 test");
    let (version, commit) = previous_release();
    if let Some(why) = why_not(&commit, &version) {
        println!("test {NAME} ... ignored, {why}");
        eprintln!("SKIPPED (not passed): {NAME}: {why}");
        println!("\ntest result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out\n");
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let passed = match build_previous(&commit) {
        Ok(bin) => std::panic::catch_unwind(|| upgrade(&bin)).is_ok(),
        Err(e) => {
            eprintln!("cannot build release {version} ({commit}): {e}");
            false
        }
    };
    eprintln!(
        "{NAME}: {:.1} s with the build",
        started.elapsed().as_secs_f64()
    );
    println!("test {NAME} ... {}", if passed { "ok" } else { "FAILED" });
    println!(
        "\ntest result: {}. {} passed; {} failed; 0 ignored; 0 measured; 0 filtered out\n",
        if passed { "ok" } else { "FAILED" },
        u8::from(passed),
        u8::from(!passed)
    );
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
