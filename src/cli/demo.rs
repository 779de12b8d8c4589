//! `paceline demo`: a two-node cluster in network namespaces on this
//! machine, running the reference active/standby policy; the active node
//! loses its power and the demo prints the failover as it happened.
//! Needs root, iproute2 and `pacelined` beside `paceline`; nothing else.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::lab::cluster::{
    Failover, LabCluster, LabFencing, Prober, ReferenceOptions, VIP, placements, reference_config,
    runs_on, watch_failover, write_authkey,
};
use crate::lab::{Lab, LabOptions, fence_agent};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Membership token timeout in milliseconds (default: the policy's 1s).
    #[arg(long)]
    pub token_timeout_ms: Option<u64>,
    /// The `pacelined` binary (default: beside this `paceline`).
    #[arg(long)]
    pub pacelined: Option<PathBuf>,
}

/// The resources of the policy and the role each has on the active node.
const RESOURCES: [(&str, &str); 4] = [
    ("fs", "Started"),
    ("db", "Promoted"),
    ("vip", "Started"),
    ("worker", "Started"),
];

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("paceline demo builds network namespaces: run it as root");
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    let paceline = std::env::current_exe().context("where is this paceline binary?")?;
    let pacelined = match args.pacelined {
        Some(p) => p,
        None => paceline.with_file_name("pacelined"),
    };
    if !pacelined.exists() {
        eprintln!(
            "paceline demo needs pacelined beside paceline ({} is missing); build both: cargo build --release --bins",
            pacelined.display()
        );
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }

    println!("Building two nodes and a client in network namespaces (198.18.0.0/15)...");
    let mut lab = Lab::new(&LabOptions {
        tag: "pldemo".into(),
        nodes: 2,
        links: 2,
        client: true,
    })?;
    let socket = lab.serve_power()?;
    let agent = fence_agent::install(lab.dir(), &paceline)?;
    let authkey = lab.dir().join("authkey");
    write_authkey(&authkey)?;
    std::fs::create_dir_all(lab.dir().join("srv"))?;
    let options = ReferenceOptions {
        cluster: "demo".into(),
        dir: lab.dir().to_path_buf(),
        authkey,
        fencing: LabFencing::PowerBoard { agent, socket },
        token_timeout_ms: args.token_timeout_ms,
        db: crate::lab::cluster::Database::stand_in("builtin:dummy"),
    };
    let cluster = LabCluster::new(lab, 2, &pacelined, |i| reference_config(&options, i))?;
    println!(
        "  node1 198.18.0.1 + 198.18.1.1, node2 198.18.0.2 + 198.18.1.2, client {}",
        crate::lab::CLIENT_ADDR
    );
    println!(
        "  policy: {} (the reference two-node policy, adapted: tmpfs for the shared mount,",
        cluster.config_path(1).display()
    );
    println!(
        "  builtin:dummy for PostgreSQL and the worker, fencing by cutting a namespace's power)"
    );
    cluster.start(1)?;
    cluster.start(2)?;
    println!("\nStarting both daemons; waiting for the resources...");
    let placed = |c: &LabCluster| -> Option<String> {
        let r = c.report(1)?;
        let active = placements(&r, "vip").first()?.0.clone();
        RESOURCES
            .iter()
            .all(|(res, role)| runs_on(&r, res, &active, Some(role)))
            .then_some(active)
    };
    let took = cluster.wait_for("every resource to run", Duration::from_secs(60), |c| {
        placed(c).is_some()
    })?;
    let active = placed(&cluster).unwrap_or_else(|| "node1".into());
    let active_id: u8 = if active == "node1" { 1 } else { 2 };
    let survivor_id = 3 - active_id;
    println!(
        "  running after {} ms; active node: {active}\n",
        took.as_millis()
    );
    // Right after startup the DC waits dc-deadtime (2s here) before it
    // fences a node missing from the first views; let that pass.
    std::thread::sleep(Duration::from_secs(2));
    print_status(&cluster, survivor_id)?;

    let vip: Ipv4Addr = VIP.parse()?;
    let prober = Prober::start(&cluster.lab.client_ns(), vip, Duration::from_millis(20))?;
    cluster.wait_for(
        "the VIP to answer the client",
        Duration::from_secs(10),
        |_| prober.state().answering,
    )?;

    println!("\nCutting {active}'s power (every process in its namespace killed, links down).");
    println!("Failover timeline, from the cut:");
    let start = Instant::now();
    cluster.lab.power_off(active_id)?;
    println!("{:>8} ms  {active} power cut", start.elapsed().as_millis());
    let timeline = watch_failover(
        &cluster,
        &Failover {
            survivor: survivor_id,
            lost: active_id,
            resources: &RESOURCES,
            cut: start,
            timeout: Duration::from_secs(60),
        },
        &prober,
        &mut |what, ms| println!("{ms:>8} ms  {what}"),
    );
    println!();
    print_status(&cluster, survivor_id)?;
    let ok = timeline.complete(RESOURCES.len());
    if !ok {
        println!("\nThe failover did not complete within 60 s; the survivor's log:");
        println!("{}", cluster.log(survivor_id));
    }
    drop(prober);
    println!("\nCleaning up the namespaces.");
    drop(cluster);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_FAILED)
    })
}

fn print_status(cluster: &LabCluster, node: u8) -> anyhow::Result<()> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["status", "--socket"])
        .arg(cluster.socket(node))
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}
