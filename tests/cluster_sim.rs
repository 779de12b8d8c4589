//! The whole cluster simulated: real membership, store and controller per
//! node over the faulty virtual network, simulated agents and fence
//! devices, checked against the safety invariants on many seeds.

use std::time::Duration;

use paceline::sim::{ClusterOptions, ClusterSim, for_seeds};

const TWO_NODE: &str = include_str!("sim/two-node.toml");

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn sim(text: &str, seed: u64) -> ClusterSim {
    ClusterSim::new(
        text,
        ClusterOptions {
            seed,
            ..ClusterOptions::default()
        },
    )
    .unwrap()
}

/// The membership network also loses and duplicates heartbeats.
fn lossy_sim(text: &str, seed: u64) -> ClusterSim {
    let mut options = ClusterOptions {
        seed,
        ..ClusterOptions::default()
    };
    options.faults.loss = 0.02;
    options.faults.duplicate = 0.02;
    ClusterSim::new(text, options).unwrap()
}

fn runs_on(sim: &ClusterSim, rsc: &str) -> Vec<String> {
    sim.running().get(rsc).cloned().unwrap_or_default()
}

#[test]
fn cold_start_then_power_loss_the_survivor_fences_and_takes_over() {
    let mut s = sim(TWO_NODE, 1);
    s.run_for(secs(10));
    s.assert_safe();
    for r in ["fs", "vip", "app"] {
        assert_eq!(runs_on(&s, r), ["node1"], "{r}\n{}", s.log_text());
    }
    assert_eq!(runs_on(&s, "agent"), ["node1", "node2"]);
    s.power_off("node1");
    s.run_for(secs(15));
    s.assert_safe();
    for r in ["fs", "vip", "app"] {
        assert_eq!(runs_on(&s, r), ["node2"], "{r}\n{}", s.log_text());
    }
    // The survivor's replicated document holds the fence of the lost node.
    let history = &s
        .document("node2")
        .expect("node2's document")
        .status
        .fencing_history;
    assert!(
        history
            .iter()
            .any(|e| e.target == "node1" && e.ok && e.origin == "node2" && e.delegate == "node2"),
        "{history:#?}"
    );
    s.run_for(secs(20));
    s.assert_safe();
    assert!(s.is_up("node1"), "rebooted by its fence");
    assert_eq!(runs_on(&s, "agent"), ["node1", "node2"], "{}", s.log_text());
    assert_eq!(runs_on(&s, "fs"), ["node2"], "stickiness keeps it");
    eprintln!("{}", s.log_text());
}

const THREE_NODE: &str = include_str!("sim/three-node.toml");

/// A small deterministic generator for the fault schedule (the simulator's
/// own RNG drives delays; this one picks faults).
struct Pick(u64);

impl Pick {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Random power losses, partitions, resource deaths, broken fence devices
/// and config changes; then everything is repaired. Safety must hold all
/// along; the acknowledged config must survive.
fn chaos(text: &str, nodes: &[&str], seed: u64, steps: u32) {
    chaos_with(text, nodes, &["fs", "vip", "app", "agent"], seed, steps)
}

fn chaos_with(text: &str, nodes: &[&str], resources: &[&str], seed: u64, steps: u32) {
    chaos_of(text, nodes, resources, seed, steps, false)
}

/// `witness`: the schedule also cuts nodes off from the virtual etcd and
/// takes it down (the other faults are drawn as without).
fn chaos_of(text: &str, nodes: &[&str], resources: &[&str], seed: u64, steps: u32, witness: bool) {
    let mut s = if seed % 2 == 0 {
        lossy_sim(text, seed)
    } else {
        sim(text, seed)
    };
    let mut pick = Pick(seed);
    s.run_for(secs(5));
    let mut config_changes = 0;
    for _ in 0..steps {
        let node = nodes[pick.next(nodes.len() as u64) as usize];
        match pick.next(if witness { 11 } else { 9 }) {
            0 => s.power_off(node),
            1 => s.power_on(node),
            2 => {
                let (a, b): (Vec<String>, Vec<String>) =
                    nodes.iter().map(|n| n.to_string()).partition(|n| n == node);
                s.partition(&[a, b]);
            }
            3 => s.heal(),
            4 => {
                let rsc = resources[pick.next(resources.len() as u64) as usize];
                s.fail_resource(node, rsc);
            }
            5 => {
                let broken = pick.next(2) == 0;
                s.break_fence_device(node, broken);
            }
            6 => {
                let rsc = resources[pick.next(resources.len() as u64) as usize];
                s.break_start(node, rsc, pick.next(2) == 0);
            }
            7 => s.shutdown(node),
            8 => {
                if s.change_config() {
                    config_changes += 1;
                }
            }
            9 => {
                let id = nodes.iter().position(|n| n == &node).unwrap_or(0) as u16 + 1;
                if let Some(w) = s.witness()
                    && !w.cut_off.remove(&id)
                {
                    w.cut_off.insert(id);
                }
            }
            _ => {
                if let Some(w) = s.witness() {
                    w.down = !w.down;
                }
            }
        }
        s.run_for(Duration::from_millis(500 + pick.next(6_000)));
        s.check_exclusive();
        s.assert_safe();
    }
    s.heal();
    if let Some(w) = s.witness() {
        w.down = false;
        w.cut_off.clear();
    }
    for n in nodes {
        s.break_fence_device(n, false);
        for rsc in resources {
            s.break_start(n, rsc, false);
        }
        s.power_on(n);
    }
    s.run_for(secs(40));
    s.check_exclusive();
    s.assert_safe();
    // Settled: the DC has nothing left in flight and no transition running.
    let settled = |s: &ClusterSim| {
        nodes
            .iter()
            .any(|n| s.is_up(n) && s.controller(n).is_some_and(|c| c.is_dc() && c.is_idle()))
    };
    if !settled(&s) {
        s.run_for(secs(5));
    }
    if std::env::var_os("PACELINE_SIM_LOG").is_some() {
        eprintln!("{}", s.log_text());
    }
    assert!(
        settled(&s),
        "seed {seed}: no idle DC after the repairs ({config_changes} config changes)\n{}",
        s.log_text()
    );
    let unmonitored = s.unmonitored();
    assert!(
        unmonitored.is_empty(),
        "seed {seed}: settled with resources nobody watches:\n{}\n{}",
        unmonitored.join("\n"),
        s.log_text()
    );
}

#[test]
fn two_node_chaos_keeps_every_invariant() {
    for_seeds(100, 150, |seed| {
        chaos(TWO_NODE, &["node1", "node2"], seed, 12)
    });
}

#[test]
fn three_node_chaos_keeps_every_invariant() {
    for_seeds(500, 80, |seed| {
        chaos(THREE_NODE, &["node1", "node2", "node3"], seed, 12)
    });
}

/// Liveness where it must hold: one node of a two-node cluster loses
/// power, fencing works, so everything ends up on the survivor.
#[test]
fn after_a_single_node_loss_everything_runs_on_the_survivor() {
    for_seeds(1_000, 30, |seed| {
        // The fence reboots the victim; it stays down long enough to see
        // the survivor alone.
        let options = ClusterOptions {
            seed,
            reboot_ms: 3_600_000,
            ..ClusterOptions::default()
        };
        let mut s = ClusterSim::new(TWO_NODE, options).unwrap();
        s.run_for(Duration::from_millis(6_000 + seed % 4_000));
        let victim = if seed % 2 == 0 { "node1" } else { "node2" };
        let survivor = if victim == "node1" { "node2" } else { "node1" };
        s.power_off(victim);
        s.run_for(secs(12));
        s.check_exclusive();
        s.assert_safe();
        for r in ["fs", "vip", "app", "agent"] {
            assert_eq!(
                runs_on(&s, r),
                [survivor],
                "seed {seed} {r}\n{}",
                s.log_text()
            );
        }
    });
}

/// Every `tests/scenarios/<name>/`: `cluster.toml`, `faults.txt` (see
/// `paceline::sim::scenario` for the format) and `expected.log`, the event
/// log on virtual time. `PACELINE_REWRITE=1` regenerates the logs.
#[test]
fn scenarios_match_their_expected_logs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let rewrite = std::env::var_os("PACELINE_REWRITE").is_some();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 4, "{dirs:?}");
    let mut problems = Vec::new();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let config = std::fs::read_to_string(dir.join("cluster.toml")).unwrap();
        let faults = std::fs::read_to_string(dir.join("faults.txt")).unwrap();
        let scenario =
            paceline::sim::scenario::parse(&faults).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut s = sim(&config, scenario.seed);
        let failed = paceline::sim::scenario::run(&mut s, &scenario);
        let log = s.log_text();
        for f in failed {
            problems.push(format!("{name}: {f}"));
        }
        for v in &s.violations {
            problems.push(format!("{name}: invariant: {v}"));
        }
        let expected_path = dir.join("expected.log");
        if rewrite {
            std::fs::write(&expected_path, &log).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != log {
            problems.push(format!(
                "{name}: the event log differs from expected.log (PACELINE_REWRITE=1 regenerates it)\n--- expected\n{expected}--- actual\n{log}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The reference two-node policy (promotable PostgreSQL, filesystem, VIP
/// and worker following the primary): power loss of the primary, the
/// standby is promoted after the fence, and the rest follows in order.
#[test]
fn reference_policy_promotes_the_standby_after_fencing_the_primary() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/two-node-active-standby.toml"
    ))
    .unwrap();
    for_seeds(2_000, 10, |seed| {
        let options = ClusterOptions {
            seed,
            reboot_ms: 3_600_000,
            ..ClusterOptions::default()
        };
        let mut s = ClusterSim::new(&text, options).unwrap();
        s.run_for(secs(30));
        s.check_exclusive();
        s.assert_safe();
        let primary =
            |s: &ClusterSim, n: &str| s.role(n, "pgsql") == Some(paceline::model::Role::Promoted);
        assert!(primary(&s, "node1"), "seed {seed}\n{}", s.log_text());
        assert_eq!(runs_on(&s, "pgsql"), ["node1", "node2"]);
        for r in ["fs", "vip", "worker"] {
            assert_eq!(
                runs_on(&s, r),
                ["node1"],
                "seed {seed} {r}\n{}",
                s.log_text()
            );
        }
        s.power_off("node1");
        s.run_for(secs(30));
        s.check_exclusive();
        s.assert_safe();
        assert!(primary(&s, "node2"), "seed {seed}\n{}", s.log_text());
        for r in ["fs", "vip", "worker"] {
            assert_eq!(
                runs_on(&s, r),
                ["node2"],
                "seed {seed} {r}\n{}",
                s.log_text()
            );
        }
    });
}

#[test]
fn reference_policy_chaos_keeps_every_invariant() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/two-node-active-standby.toml"
    ))
    .unwrap();
    for_seeds(3_000, 40, |seed| {
        chaos_with(
            &text,
            &["node1", "node2"],
            &["fs", "vip", "worker", "pgsql"],
            seed,
            10,
        )
    });
}

#[test]
fn three_node_postgresql_policy_chaos_keeps_every_invariant() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/postgresql-ha.toml"
    ))
    .unwrap();
    for_seeds(4_000, 25, |seed| {
        chaos_with(
            &text,
            &["pg1", "pg2", "pg3"],
            &["pgsql", "vip-write", "vip-read"],
            seed,
            10,
        )
    });
}

/// Two or three nodes with `[quorum]` and `votes` as written, fencing off.
fn quorum_toml(quorum: &str, votes: &[u32]) -> String {
    let mut text = format!(
        "[cluster]\nname = \"q\"\n[membership]\nheartbeat = \"200ms\"\ntoken_timeout = \"1s\"\n{quorum}\n[fencing]\nenabled = false\n"
    );
    for (i, v) in votes.iter().enumerate() {
        let id = i + 1;
        text.push_str(&format!(
            "[[node]]\nname = \"node{id}\"\nid = {id}\nvotes = {v}\nlinks = [\"198.18.0.{id}\"]\n"
        ));
    }
    text
}

fn quorate(s: &ClusterSim, id: u16) -> bool {
    s.membership
        .machine(id)
        .is_some_and(|m| m.quorum_status().quorate)
}

/// Issue 16: the simulator read `[quorum]` itself: every node had one
/// vote, and `two_node` did not set `wait_for_all` as it does in the
/// daemon. Now both take the quorum rules from the same loader
/// (`config::load_node_str`) through the same function.
#[test]
fn the_simulator_counts_quorum_from_the_file_as_the_daemon_does() {
    let daemon_rules = |text: &str| {
        let runtime = paceline::config::load_node_str(text, "t.toml")
            .unwrap()
            .runtime
            .unwrap();
        paceline::node::settings::quorum_config(&runtime)
    };
    // node1 has 3 of 5 votes: it is quorate alone, node2 and node3 are not.
    let text = quorum_toml("", &[3, 1, 1]);
    let mut s = sim(&text, 7);
    assert_eq!(s.membership.options.quorum, Some(daemon_rules(&text)));
    s.run_for(secs(3));
    assert!((1..=3).all(|id| quorate(&s, id)));
    s.partition(&[vec!["node1".into()], vec!["node2".into(), "node3".into()]]);
    s.run_for(secs(5));
    assert!(quorate(&s, 1), "{}", s.log_text());
    assert!(!quorate(&s, 2) && !quorate(&s, 3), "{}", s.log_text());
    // Two nodes, two_node off: wait_for_all is off too (it follows
    // two_node), so node1 with 2 of 3 votes is quorate without ever
    // having seen node2.
    let text = quorum_toml("[quorum]\ntwo_node = false", &[2, 1]);
    let mut s = sim(&text, 7);
    assert_eq!(s.membership.options.quorum, Some(daemon_rules(&text)));
    s.power_off("node2");
    s.run_for(secs(5));
    assert!(quorate(&s, 1), "{}", s.log_text());
    // two_node with wait_for_all written off: a lone node is quorate at
    // once; left to two_node, it waits for its peer.
    for (quorum, alone_quorate) in [
        ("[quorum]\ntwo_node = true\nwait_for_all = false", true),
        ("[quorum]\ntwo_node = true", false),
    ] {
        let text = quorum_toml(quorum, &[1, 1]);
        let mut s = sim(&text, 7);
        assert_eq!(s.membership.options.quorum, Some(daemon_rules(&text)));
        s.power_off("node2");
        s.run_for(secs(5));
        assert_eq!(quorate(&s, 1), alone_quorate, "{quorum}\n{}", s.log_text());
    }
}

/// Runs `s` in 5 ms steps until its log shows `text` (at most `within`).
fn run_until_logged(s: &mut ClusterSim, text: &str, within: Duration) -> bool {
    let end = s.now() + within;
    while s.now() < end {
        if s.log_text().contains(text) {
            return true;
        }
        s.run_for(Duration::from_millis(5));
    }
    false
}

/// Issue 21 item 1: the DC acts on a status (sends an action planned on a
/// fail count or a fence event) and answers a cleanup only once a quorum
/// holds it. The DC is killed at a random point of a failover (just after
/// a monitor failure: fail count, recovery) and just after a cleanup; the
/// simulator's checker finds every acknowledged status on a quorum of
/// disks when it was acted on, and the next DC holds it.
#[test]
fn nothing_acknowledged_is_lost_when_the_dc_dies() {
    for_seeds(0, 24, |seed| {
        let mut s = sim(THREE_NODE, seed);
        let mut pick = Pick(seed);
        s.run_for(secs(5));
        s.fail_resource("node3", "agent");
        assert!(
            run_until_logged(&mut s, "on node3 reports rc 7", secs(5)),
            "{}",
            s.log_text()
        );
        s.run_for(Duration::from_millis(pick.next(40)));
        let recovered = s
            .log_text()
            .lines()
            .any(|l| l.contains("stop agent") && l.contains("on node3"));
        s.power_off("node1");
        s.run_for(secs(25));
        s.assert_safe();
        if recovered {
            assert!(
                s.has_fail_count("node2", "agent"),
                "the recovery was sent, so its fail count is committed\n{}",
                s.log_text()
            );
        }
        // node1 is back and DC again: a cleanup, then the DC dies.
        assert!(s.is_up("node1"), "{}", s.log_text());
        assert!(s.cleanup("agent"), "{}", s.log_text());
        s.run_for(Duration::from_millis(pick.next(12)));
        let acknowledged = s.log_text().contains("cleanup of agent acknowledged");
        s.power_off("node1");
        s.run_for(secs(10));
        s.assert_safe();
        if acknowledged {
            assert!(
                !s.has_fail_count("node2", "agent"),
                "an acknowledged cleanup was lost\n{}",
                s.log_text()
            );
        }
    });
}

/// `crm_attribute -l forever` (resource-agents' pgsql keeps its
/// standby's `db-data-status` so) survives its node being fenced and
/// restarted, as Pacemaker's CIB `<nodes>` section does; a transient
/// attribute (`-l reboot`, `attrd_updater`) is erased with it. Before,
/// every attribute was transient: the fence erased `db-data-status`
/// and pgsql's monitor on the standby waited for it until it timed out.
#[test]
fn a_permanent_attribute_survives_its_node_being_fenced() {
    let attrs = |s: &ClusterSim, on: &str| {
        let status = &s.document(on).expect("a document").status;
        let permanent = status
            .permanent_attributes
            .get("node2")
            .and_then(|a| a.get("db-data-status"))
            .cloned();
        let transient = status
            .nodes
            .get("node2")
            .and_then(|n| n.transient_attributes.get("db-status"))
            .cloned();
        (permanent, transient)
    };
    let mut s = sim(TWO_NODE, 3);
    s.run_for(secs(10));
    assert!(s.set_attribute("node2", "db-data-status", Some("STREAMING|SYNC"), true));
    assert!(s.set_attribute("node2", "db-status", Some("HS:sync"), false));
    assert!(
        run_until_logged(
            &mut s,
            "permanent attribute db-data-status of node2 acknowledged",
            secs(5)
        ),
        "{}",
        s.log_text()
    );
    s.run_for(secs(1));
    let set = (
        Some("STREAMING|SYNC".to_string()),
        Some("HS:sync".to_string()),
    );
    assert_eq!(attrs(&s, "node1"), set, "{}", s.log_text());
    assert_eq!(attrs(&s, "node2"), set);
    s.power_off("node2");
    let end = s.now() + secs(20);
    while !fenced(&s, "node1", "node2") && s.now() < end {
        s.run_for(Duration::from_millis(50));
    }
    assert!(fenced(&s, "node1", "node2"), "{}", s.log_text());
    let kept = (Some("STREAMING|SYNC".to_string()), None);
    assert_eq!(attrs(&s, "node1"), kept, "{}", s.log_text());
    // Rebooted by its fence, node2 rejoins and syncs the document.
    s.run_for(secs(20));
    s.assert_safe();
    assert!(s.is_up("node2"), "{}", s.log_text());
    assert_eq!(attrs(&s, "node2"), kept, "{}", s.log_text());
    assert_eq!(attrs(&s, "node1"), kept);
}

// ----- The witness (issue 19) -----

/// The two-node cluster with an etcd witness instead of two_node, and no
/// fence delay: no race to arrange.
fn witness_toml() -> String {
    let text = TWO_NODE
        .replace(
            "two_node = true\nwait_for_all = true\n",
            "witness = { etcd = [\"http://198.18.3.1:2379\"] }\n",
        )
        .replace("delay = \"3s\"\n", "");
    assert!(text.contains("witness") && !text.contains("delay ="));
    text
}

fn fenced(s: &ClusterSim, on: &str, target: &str) -> bool {
    s.document(on).is_some_and(|d| {
        d.status
            .fencing_history
            .iter()
            .any(|e| e.target == target && e.ok)
    })
}

#[test]
fn witness_split_the_holder_fences_the_other_side_and_nobody_races() {
    for_seeds(3000, 8, |seed| {
        let mut s = sim(&witness_toml(), seed);
        s.run_for(secs(10));
        s.assert_safe();
        for r in ["fs", "vip", "app"] {
            assert_eq!(runs_on(&s, r), ["node1"], "{r}\n{}", s.log_text());
        }
        s.partition(&[vec!["node1".into()], vec!["node2".into()]]);
        s.run_for(secs(15));
        s.assert_safe();
        for r in ["fs", "vip", "app"] {
            assert_eq!(
                runs_on(&s, r),
                ["node1"],
                "seed {seed} {r}\n{}",
                s.log_text()
            );
        }
        assert!(
            fenced(&s, "node1", "node2"),
            "seed {seed}\n{}",
            s.log_text()
        );
        assert!(
            !fenced(&s, "node1", "node1"),
            "seed {seed}\n{}",
            s.log_text()
        );
    });
}

#[test]
fn witness_a_node_cold_started_alone_runs_with_the_witness_only() {
    for_seeds(3100, 6, |seed| {
        let mut s = sim(&witness_toml(), seed);
        s.power_off("node2");
        s.run_for(secs(20));
        s.assert_safe();
        assert_eq!(
            runs_on(&s, "app"),
            ["node1"],
            "seed {seed}\n{}",
            s.log_text()
        );
        let mut s = sim(&witness_toml(), seed);
        if let Some(w) = s.witness() {
            w.down = true;
        }
        s.power_off("node2");
        s.run_for(secs(20));
        s.assert_safe();
        assert!(
            runs_on(&s, "app").is_empty(),
            "seed {seed}\n{}",
            s.log_text()
        );
    });
}

#[test]
fn witness_lost_while_both_nodes_are_up_moves_nothing() {
    let mut s = sim(&witness_toml(), 3200);
    s.run_for(secs(10));
    if let Some(w) = s.witness() {
        w.down = true;
    }
    s.run_for(secs(15));
    s.assert_safe();
    for r in ["fs", "vip", "app"] {
        assert_eq!(runs_on(&s, r), ["node1"], "{r}\n{}", s.log_text());
    }
    assert_eq!(runs_on(&s, "agent"), ["node1", "node2"]);
    assert!(!fenced(&s, "node1", "node2") && !fenced(&s, "node2", "node1"));
}

#[test]
fn two_node_witness_chaos_keeps_every_invariant() {
    let text = witness_toml();
    for_seeds(3300, 20, |seed| {
        chaos_of(
            &text,
            &["node1", "node2"],
            &["fs", "vip", "app", "agent"],
            seed,
            12,
            true,
        )
    });
}
