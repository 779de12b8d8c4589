//! bench/failover: time from the active node's power loss to the VIP
//! answering the client namespace again, over real daemons in the
//! namespace lab, with Redfish fencing through the emulator of
//! ../shared/peers (its resets cut a lab node's power). Runs RUNS (default
//! 10) failovers at the default timers and RUNS with token_timeout = 300ms,
//! prints min/median/max and where the time goes (detection, fencing, each
//! start), and ends with one JSON line. Needs root. DB_AGENT picks the
//! database: a promotable stand-in agent (default `ocf:pacemaker:Stateful`)
//! or `pgsql`, real PostgreSQL through resource-agents' pgsql in streaming
//! replication; with pgsql each run also times the promoted server
//! answering SQL on the VIP from the client namespace.
//! BENCH_LOG_DIR=DIR keeps each run's survivor log there.
//!
//! STACK=pgsql,mariadb,rabbitmq,rabbitmq-broker (a comma-separated list of
//! `lab::stacks`) times the seeds' stacks instead: per run, the primary's
//! node (for rabbitmq the VIP's; for rabbitmq-broker a node without the
//! VIP, the quorum queue's leader's when it is one) loses its power while a client writes through
//! HAProxy (`lab::stacks::power_loss`); reported are the times from the cut
//! to the way in answering again from a survivor (HAProxy routing to the
//! new primary; for rabbitmq, HAProxy on the VIP accepting connections)
//! and to the first acknowledged write (a confirmed publish for rabbitmq)
//! the client started after it; a run where an acknowledged write went
//! missing, two primaries were seen (for rabbitmq: two VIP holders), the
//! node was not fenced or no survivor served is a failed run.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use paceline::lab::cluster::{
    Database, Failover, FailoverTimeline, LabCluster, Prober, RedfishEmulator, ReferenceOptions,
    VIP, redfish_fencing, reference_config, runs_on, watch_failover, write_authkey,
};
use paceline::lab::stacks::{PowerLoss, Stack, mariadb, pgsql, power_loss, rabbitmq};
use paceline::lab::{Lab, LabOptions, postgres};

#[path = "../fencing/tests/support/mod.rs"]
mod peers;

const RESOURCES: [(&str, &str); 4] = [
    ("fs", "Started"),
    ("db", "Promoted"),
    ("vip", "Started"),
    ("worker", "Started"),
];

fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/examples/failover -> target/release/<name>
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join(name))
        .expect("target dir")
}

/// One failover's timeline, and with PostgreSQL when the promoted server
/// answered SQL on the VIP (ms after the power cut).
type RunResult = (FailoverTimeline, Option<u64>);

fn one_run(run: usize, token_timeout_ms: Option<u64>, db_agent: &str) -> Option<RunResult> {
    let pg_bindir =
        (db_agent == "pgsql").then(|| postgres::bindir().expect("PostgreSQL installed"));
    let bmc = peers::redfish(&["--tls", "--systems", "2", "--power-delay", "0"]);
    let mut lab = Lab::new(&LabOptions {
        tag: format!("bfo{run}"),
        nodes: 2,
        links: 2,
        client: true,
    })
    .expect("lab");
    let emulator = RedfishEmulator::from_start_output(|k| bmc.get(k).to_string(), "secret")
        .expect("the emulator's start output");
    let systems = emulator.systems.clone();
    let fencing = redfish_fencing(&mut lab, &emulator).expect("fencing");
    let dir = lab.dir().to_path_buf();
    write_authkey(&dir.join("authkey")).expect("authkey");
    std::fs::create_dir_all(dir.join("srv")).expect("srv");
    let options = ReferenceOptions {
        cluster: format!("bench{run}"),
        dir: dir.clone(),
        authkey: dir.join("authkey"),
        fencing,
        token_timeout_ms,
        db: match &pg_bindir {
            Some(bindir) => Database::Postgres {
                params: postgres::agent_params(bindir, &dir.join("pg"), VIP),
                worker: postgres::queue_worker(bindir, &dir, &dir.join("pg"), VIP)
                    .expect("the queue worker"),
            },
            None => Database::stand_in(db_agent),
        },
    };
    let mut cluster = LabCluster::new(lab, 2, &bin("pacelined"), |i| reference_config(&options, i))
        .expect("cluster");
    if let Some(bindir) = &pg_bindir {
        cluster = postgres::provision(cluster, bindir, &dir.join("pg")).expect("PostgreSQL");
    }
    cluster.start(1).expect("start");
    cluster.start(2).expect("start");
    let active_of = |c: &LabCluster| {
        let r = c.report(1)?;
        (1..=2u8).find(|&i| {
            RESOURCES
                .iter()
                .all(|(res, role)| runs_on(&r, res, &format!("node{i}"), Some(role)))
        })
    };
    if let Err(e) = cluster.wait_for("the cluster to start", Duration::from_secs(60), |c| {
        active_of(c).is_some()
    }) {
        eprintln!("run {run}: {e}");
        keep_logs(&cluster, run, token_timeout_ms, &[1, 2]);
        return None;
    }
    std::thread::sleep(Duration::from_millis(2500));
    let active = active_of(&cluster)?;
    let survivor = 3 - active;
    if pg_bindir.is_some() {
        // The standby must stream (and so be promotable) before the cut.
        let standby = format!("node{survivor}");
        let streaming = cluster.wait_for("the standby to stream", Duration::from_secs(60), |c| {
            c.report(active)
                .is_some_and(|r| postgres::standby_promotable(&r, &standby))
        });
        if let Err(e) = streaming {
            eprintln!("run {run}: {e}");
            return None;
        }
    }
    let prober = Prober::start(
        &cluster.lab.client_ns(),
        VIP.parse::<Ipv4Addr>().expect("vip"),
        Duration::from_millis(10),
    )
    .expect("prober");
    cluster
        .wait_for("the VIP", Duration::from_secs(10), |_| {
            prober.state().answering
        })
        .ok()?;
    // Power loss: the node dies, and its BMC reports it off.
    let cut = Instant::now();
    cluster.lab.power_off(active).expect("cut");
    let config = dir.join("host.toml");
    std::fs::write(
        &config,
        format!(
            "[cluster]\nname = \"h\"\n[[node]]\nname = \"node1\"\n[[node]]\nname = \"node2\"\n[fencing]\nenabled = true\naction = \"off\"\n[[fencing.device]]\nid = \"bmc\"\ntype = \"redfish\"\nurl = \"{}\"\nca_file = \"{}\"\nsystem = \"{}\"\nusername = \"admin\"\npassword = \"secret\"\n[[fencing.level]]\ntarget = \"node{active}\"\nindex = 1\ndevices = [\"bmc\"]\n",
            bmc.get("BASE_URL"),
            bmc.get("CA_CERT"),
            systems[usize::from(active) - 1]
        ),
    )
    .expect("host config");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let _ = Command::new(bin("paceline"))
        .args(["fence", "test", "--config"])
        .arg(&config)
        .args(["--device", "bmc", "--action", "off"])
        .output();
    let t = watch_failover(
        &cluster,
        &Failover {
            survivor,
            lost: active,
            resources: &RESOURCES,
            cut,
            timeout: Duration::from_secs(30),
        },
        &prober,
        &mut |_, _| {},
    );
    if !t.complete(RESOURCES.len()) {
        eprintln!(
            "run {run}: incomplete failover {t:?}\n{}",
            cluster.log(survivor)
        );
        return None;
    }
    let sql_ms = pg_bindir.as_ref().and_then(|bindir| {
        let client = cluster.lab.client_ns();
        let deadline = cut + Duration::from_secs(30);
        while Instant::now() < deadline {
            let answer = postgres::query(
                bindir,
                &client,
                VIP,
                "select pg_is_in_recovery()",
                Duration::from_secs(1),
            );
            if answer.as_deref() == Some("f") {
                return Some(cut.elapsed().as_millis() as u64);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    });
    // Where the time went, for a closer look: the survivor's log.
    keep_logs(&cluster, run, token_timeout_ms, &[survivor]);
    Some((t, sql_ms))
}

/// With BENCH_LOG_DIR set, copies the logs of `nodes` there.
fn keep_logs(cluster: &LabCluster, run: usize, token_timeout_ms: Option<u64>, nodes: &[u8]) {
    let Some(dir) = std::env::var_os("BENCH_LOG_DIR") else {
        return;
    };
    for &node in nodes {
        let to = Path::new(&dir).join(format!(
            "run{run}-token{}-node{node}.log",
            token_timeout_ms.unwrap_or(1000)
        ));
        if let Err(e) = std::fs::write(&to, cluster.log(node)) {
            eprintln!("run {run}: cannot keep the log in {}: {e}", to.display());
        }
    }
}

fn stats(values: &mut [u64]) -> (u64, u64, u64) {
    values.sort_unstable();
    if values.is_empty() {
        return (0, 0, 0);
    }
    let median = if values.len() % 2 == 1 {
        values[values.len() / 2]
    } else {
        (values[values.len() / 2 - 1] + values[values.len() / 2]) / 2
    };
    (values[0], median, values[values.len() - 1])
}

fn series(
    label: &str,
    runs: usize,
    token: Option<u64>,
    db_agent: &str,
) -> (Vec<FailoverTimeline>, (u64, u64, u64)) {
    let mut timelines = Vec::new();
    let mut sql = Vec::new();
    for run in 0..runs {
        if let Some((t, sql_ms)) = one_run(run, token, db_agent) {
            timelines.push(t);
            sql.extend(sql_ms);
        }
    }
    let mut vip: Vec<u64> = timelines.iter().filter_map(|t| t.vip_answers_ms).collect();
    let s = stats(&mut vip);
    println!(
        "{label}: {} of {runs} runs; power loss -> VIP answers: min {} ms, median {} ms, max {} ms",
        timelines.len(),
        s.0,
        s.1,
        s.2
    );
    let median_of = |f: &dyn Fn(&FailoverTimeline) -> Option<u64>| {
        let mut v: Vec<u64> = timelines.iter().filter_map(f).collect();
        stats(&mut v).1
    };
    println!(
        "  median: loss detected {} ms, fence confirmed {} ms, then:",
        median_of(&|t| t.loss_detected_ms),
        median_of(&|t| t.fence_confirmed_ms)
    );
    for (res, role) in RESOURCES {
        println!(
            "    {res} {role} {} ms",
            median_of(&|t| t
                .started
                .iter()
                .find(|(r, _, _)| r == res)
                .map(|(_, _, ms)| *ms))
        );
    }
    if !sql.is_empty() {
        let q = stats(&mut sql);
        println!(
            "  PostgreSQL primary answering SQL on the VIP: min {} ms, median {} ms, max {} ms ({} runs)",
            q.0,
            q.1,
            q.2,
            sql.len()
        );
    }
    (timelines, s)
}

/// One stack's power loss, on a fresh lab.
fn stack_run(stack: &str, run: usize) -> Result<PowerLoss, String> {
    let tag = format!("bst{run}");
    let (pacelined, paceline) = (bin("pacelined"), bin("paceline"));
    let built: Box<dyn Stack> = match stack {
        "pgsql" => Box::new(pgsql::start(&tag, &pacelined, &paceline).map_err(|e| e.to_string())?),
        "mariadb" => {
            Box::new(mariadb::start(&tag, &pacelined, &paceline).map_err(|e| e.to_string())?)
        }
        "rabbitmq" => {
            Box::new(rabbitmq::start(&tag, &pacelined, &paceline).map_err(|e| e.to_string())?)
        }
        "rabbitmq-broker" => Box::new(
            rabbitmq::start_cutting(&tag, &pacelined, &paceline, rabbitmq::Cut::Broker)
                .map_err(|e| e.to_string())?,
        ),
        other => {
            return Err(format!(
                "no stack {other:?} (pgsql, mariadb, rabbitmq, rabbitmq-broker)"
            ));
        }
    };
    let out = power_loss(built.as_ref(), Duration::from_secs(60)).map_err(|e| e.to_string())?;
    let served = out.served_by.is_some_and(|n| n != out.lost);
    if !out.missing.is_empty() || !out.two_primaries.is_empty() || !out.fenced || !served {
        return Err(format!("failed: {out:?}"));
    }
    Ok(out)
}

fn ms_or_none(ms: Option<u64>) -> String {
    ms.map_or("(not seen)".into(), |ms| ms.to_string())
}

/// Times each stack of `stacks` over `runs` power losses; its figures as
/// one JSON member.
fn stack_series(stack: &str, runs: usize) -> String {
    let mut served = Vec::new();
    let mut frontend = Vec::new();
    let mut failed = 0;
    for run in 0..runs {
        match stack_run(stack, run) {
            Ok(out) => {
                println!(
                    "{stack} run {run}: node{} lost power; way in answering from {} after {} ms, first acknowledged write after {} ms ({} writes acknowledged before, {} after, none lost)",
                    out.lost,
                    out.served_by
                        .map_or("no node".into(), |n| format!("node{n}")),
                    ms_or_none(out.frontend_again_ms),
                    ms_or_none(out.served_again_ms),
                    out.acked_before_cut,
                    out.acked_after_cut
                );
                served.extend(out.served_again_ms);
                frontend.extend(out.frontend_again_ms);
            }
            Err(e) => {
                failed += 1;
                eprintln!("{stack} run {run}: {e}");
            }
        }
    }
    let ok = served.len();
    let (min, median, max) = stats(&mut served);
    let (fmin, fmedian, fmax) = stats(&mut frontend);
    println!(
        "{stack}: {ok} of {runs} runs; power loss -> {}: min {fmin} ms, median {fmedian} ms, max {fmax} ms ({} runs); -> first acknowledged write: min {min} ms, median {median} ms, max {max} ms",
        if stack.starts_with("rabbitmq") {
            "HAProxy on the VIP accepting"
        } else {
            "HAProxy routing to the new primary"
        },
        frontend.len()
    );
    format!(
        "\"{stack}\":{{\"runs\":{runs},\"ok\":{ok},\"failed\":{failed},\"frontend_again_median_ms\":{fmedian},\"frontend_again_min_ms\":{fmin},\"frontend_again_max_ms\":{fmax},\"served_again_min_ms\":{min},\"served_again_median_ms\":{median},\"served_again_max_ms\":{max}}}"
    )
}

fn main() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("bench/failover needs root (network namespaces)");
        std::process::exit(2);
    }
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    if let Ok(stacks) = std::env::var("STACK") {
        println!(
            "bench/failover: the seeds' stacks behind HAProxy in the namespace lab, power loss of the primary's node, fencing by the lab's power board"
        );
        let members: Vec<String> = stacks
            .split(',')
            .map(|s| stack_series(s.trim(), runs))
            .collect();
        println!("{{{}}}", members.join(","));
        return;
    }
    let db_agent = std::env::var("DB_AGENT").unwrap_or_else(|_| "ocf:pacemaker:Stateful".into());
    println!(
        "bench/failover: reference two-node policy in the namespace lab, Redfish fencing through the emulator (power delay 0), db = {db_agent}, release build"
    );
    let (default_runs, d) = series(
        "default timers (token 1s, heartbeat 200ms)",
        runs,
        None,
        &db_agent,
    );
    let (fast_runs, f) = series(
        "token_timeout 300ms (heartbeat 60ms)",
        runs,
        Some(300),
        &db_agent,
    );
    println!(
        "{{\"runs\":{runs},\"ok_default\":{},\"ok_fast\":{},\"min_ms\":{},\"median_ms\":{},\"max_ms\":{},\"min_ms_fast\":{},\"median_ms_fast\":{},\"max_ms_fast\":{}}}",
        default_runs.len(),
        fast_runs.len(),
        d.0,
        d.1,
        d.2,
        f.0,
        f.1,
        f.2
    );
}
