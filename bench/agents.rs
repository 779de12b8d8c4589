//! Benchmark of the executor's agents (run through `bench/agents`, as root):
//! start+monitor+stop of builtin:ipaddr vs ocf:heartbeat:IPaddr2 in a network
//! namespace pair (median of N runs), and 100 Dummy resources started in
//! parallel. Last line: one JSON object.

use std::process::Command;
use std::time::{Duration, Instant};

use paceline::executor::ocf::{AgentId, OcfAction, OcfRunner};
use paceline::executor::parallel::run_parallel;

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

struct Netns(Vec<String>);
impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.0 {
            sh(&["ip", "netns", "del", n]);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn cycle(r: &OcfRunner, agent: &str, extra: &[(&str, &str)], dev: &str) -> Result<f64, String> {
    let t = Instant::now();
    for action in ["start", "monitor", "stop"] {
        let mut a = OcfAction::new(
            "vip",
            AgentId::parse(agent).map_err(|e| e.to_string())?,
            action,
        );
        a.params.insert("ip".into(), "198.18.7.100".into());
        a.params.insert("cidr_netmask".into(), "24".into());
        a.params.insert("nic".into(), dev.into());
        for (k, v) in extra {
            a.params.insert(k.to_string(), v.to_string());
        }
        a.timeout = Duration::from_secs(20);
        let res = r.run(&a);
        if res.rc.0 != 0 {
            return Err(format!("{agent} {action}: {res:?}"));
        }
    }
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

fn main() -> Result<(), String> {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let pid = std::process::id();
    let (a, b, va, vb) = (
        format!("plxb{pid}a"),
        format!("plxb{pid}b"),
        format!("plxb{pid}0"),
        format!("plxb{pid}1"),
    );
    let _ns = Netns(vec![a.clone(), b.clone()]);
    let ok = sh(&["ip", "netns", "add", &a])
        && sh(&["ip", "netns", "add", &b])
        && sh(&[
            "ip", "link", "add", &va, "netns", &a, "type", "veth", "peer", "name", &vb, "netns", &b,
        ])
        && sh(&["ip", "-n", &a, "addr", "add", "198.18.7.1/24", "dev", &va])
        && sh(&["ip", "-n", &b, "addr", "add", "198.18.7.2/24", "dev", &vb])
        && sh(&["ip", "-n", &a, "link", "set", &va, "up"])
        && sh(&["ip", "-n", &b, "link", "set", &vb, "up"]);
    if !ok {
        return Err("cannot create the network namespaces (run as root)".into());
    }
    // Everything from here (threads and agent processes) runs inside `a`.
    let f = std::fs::File::open(format!("/run/netns/{a}")).map_err(|e| e.to_string())?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| e.to_string())?;
    let tmp = std::env::temp_dir().join(format!("plxbench{pid}"));
    let r = OcfRunner::new("/usr/lib/ocf", tmp.join("rsctmp"));
    // Same announcement work for both: one gratuitous ARP before returning.
    let mut native = Vec::new();
    let mut native_nodad = Vec::new();
    let mut ipaddr2 = Vec::new();
    let mut ipaddr2_arping = Vec::new();
    for _ in 0..runs {
        native.push(cycle(&r, "builtin:ipaddr", &[("arp_count", "1")], &va)?);
        native_nodad.push(cycle(
            &r,
            "builtin:ipaddr",
            &[("arp_count", "1"), ("dad", "false")],
            &va,
        )?);
        ipaddr2.push(cycle(
            &r,
            "ocf:heartbeat:IPaddr2",
            &[("arp_count", "1")],
            &va,
        )?);
        // The same level of checking as the native default: IPaddr2's own
        // collision check (arping -D, off by default in IPaddr2).
        ipaddr2_arping.push(cycle(
            &r,
            "ocf:heartbeat:IPaddr2",
            &[("arp_count", "1"), ("run_arping", "true")],
            &va,
        )?);
    }
    let (n, nn, i) = (median(native), median(native_nodad), median(ipaddr2));
    let ia = median(ipaddr2_arping);
    println!(
        "vip start+monitor+stop, median of {runs}: builtin:ipaddr {n:.1} ms (default: 100 ms ARP duplicate probe), {nn:.1} ms with dad = false; IPaddr2 {i:.1} ms (default: no collision check), {ia:.1} ms with run_arping = true"
    );

    let dummies: Vec<OcfAction> = (0..100)
        .map(|k| {
            let mut x = OcfAction::new(
                &format!("d{k}"),
                AgentId::parse("ocf:heartbeat:Dummy").unwrap_or_else(|_| unreachable!()),
                "start",
            );
            x.params.insert(
                "state".into(),
                tmp.join(format!("d{k}.state")).display().to_string(),
            );
            x
        })
        .collect();
    let limit: usize = std::env::var("LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let t = Instant::now();
    let res = run_parallel(&r, &dummies, limit);
    let d100 = t.elapsed().as_secs_f64() * 1000.0;
    let failed = res.iter().filter(|x| x.rc.0 != 0).count();
    println!("100 Dummy starts, {limit} in parallel: {d100:.0} ms ({failed} failed)");
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "{}",
        serde_json::json!({
            "vip_native_ms": (n * 10.0).round() / 10.0,
            "vip_native_nodad_ms": (nn * 10.0).round() / 10.0,
            "vip_ipaddr2_ms": (i * 10.0).round() / 10.0,
            "vip_ipaddr2_arping_ms": (ia * 10.0).round() / 10.0,
            "vip_speedup_checked": (ia / n * 100.0).round() / 100.0,
            "vip_speedup": (i / n * 100.0).round() / 100.0,
            "vip_speedup_nodad": (i / nn * 100.0).round() / 100.0,
            "dummy100_ms": d100.round(),
            "dummy100_failed": failed,
            "dummy_parallel_limit": limit,
            "runs": runs,
        })
    );
    Ok(())
}
