//! Manual fence confirmation on live daemons (issue 17): node2 dies together
//! with its fence device, so the survivor's fences of it hang and fail and
//! nothing it ran is recovered; `paceline fence confirm node2` tells the DC
//! it is off, and the survivor recovers. The confirmation is refused for a
//! member and without `--yes` off a terminal, and it is in the replicated
//! fencing history with who confirmed it. Needs root, iproute2,
//! resource-agents' Dummy and fence-agents' `fence_dummy`; skipped with a
//! message otherwise. Assertions are on the order of events; timing belongs
//! in bench/.

use std::path::Path;
use std::time::Duration;

#[path = "netns/mod.rs"]
mod netns;
use netns::{Cluster, can_run, paceline, report};

/// How long a wait may take before the test fails (it only ends a hung test).
const WAIT: Duration = Duration::from_secs(90);

/// Where node1's view of the replicated status shows `rsc` running.
fn runs_on(c: &Cluster, rsc: &str) -> Vec<String> {
    report(c, 1)
        .and_then(|r| r.resources.into_iter().find(|x| x.id == rsc))
        .map(|x| x.nodes)
        .unwrap_or_default()
}

/// Each node fenced by its own `fence_dummy` (its power state in
/// `power<i>`), one Dummy preferring node2.
fn config(c: &Cluster) -> String {
    let mut text =
        String::from("[quorum]\ntwo_node = true\n[fencing]\nenabled = true\naction = \"off\"\n");
    for i in [1, 2] {
        text.push_str(&format!(
            "[[fencing.device]]\nid = \"bmc{i}\"\ntype = \"agent\"\nagent = \"fence_dummy\"\ntimeout = \"3s\"\nparams = {{ type = \"file\", status_file = \"{}\" }}\n[[fencing.level]]\ntarget = \"node{i}\"\nindex = 1\ndevices = [\"bmc{i}\"]\n",
            c.dir.join(format!("power{i}")).display()
        ));
    }
    text.push_str("[[primitive]]\nid = \"svc\"\nagent = \"ocf:heartbeat:Dummy\"\nops = [{ name = \"monitor\", interval = \"2s\" }]\n");
    text.push_str(
        "[[location]]\nid = \"prefer-node2\"\nresource = \"svc\"\nnode = \"node2\"\nscore = 50\n",
    );
    text
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_node_that_died_with_its_fence_device_is_recovered_once_an_operator_confirms_it_off() {
    if !can_run()
        || !Path::new("/usr/sbin/fence_dummy").exists()
        || !Path::new("/usr/lib/ocf/resource.d/heartbeat/Dummy").exists()
    {
        eprintln!("skipping: needs root, iproute2, fence_dummy and resource-agents' Dummy");
        return;
    }
    let mut c = Cluster::new(2, ("200ms", "1s"));
    for i in [1, 2] {
        std::fs::write(c.dir.join(format!("power{i}")), "on").unwrap();
    }
    c.append_config(&config(&c));
    for i in [1, 2] {
        let tmp = c.dir.join(format!("rsctmp{i}"));
        std::fs::create_dir_all(&tmp).unwrap();
        c.start_with_env(i, &[("HA_RSCTMP", &tmp)]);
    }
    c.until("svc running on node2", WAIT, || {
        runs_on(&c, "svc") == ["node2"]
    });

    // node2 loses power together with its BMC: the device no longer
    // answers (fence_dummy blocks opening a FIFO where its state file was,
    // until the fencing service's timeout kills it).
    let power2 = c.dir.join("power2");
    std::fs::remove_file(&power2).unwrap();
    nix::unistd::mkfifo(&power2, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    c.kill(2);
    c.until("a failed fence of node2", WAIT, || {
        c.log(1).contains("fencing of node2 FAILED")
    });
    let log = c.log(1);
    assert!(
        !log.contains("dispatched svc start (interval 0 ms) to node1"),
        "svc recovered before node2 was fenced:\n{log}"
    );

    // Refused: a member, and no terminal to ask on without --yes.
    let out = paceline(&["fence", "confirm", "node1", "--yes"], &c.socket(1));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("member of view"), "{}", text(&out));
    let out = paceline(&["fence", "confirm", "node2"], &c.socket(1));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--yes"), "{}", text(&out));
    assert!(
        !c.log(1)
            .contains("dispatched svc start (interval 0 ms) to node1"),
        "a refused confirmation recovered svc:\n{}",
        c.log(1)
    );

    let out = paceline(&["fence", "confirm", "node2", "--yes"], &c.socket(1));
    assert!(out.status.success(), "{}\n{}", text(&out), c.log(1));
    assert!(text(&out).contains("node2 confirmed off"), "{}", text(&out));
    c.until("svc recovered on node1", WAIT, || {
        runs_on(&c, "svc") == ["node1"]
    });

    let log = c.log(1);
    let confirmed = log
        .find("node2 confirmed off by hand by root (uid 0)")
        .unwrap_or_else(|| panic!("the confirmation is logged:\n{log}"));
    let start = log
        .find("dispatched svc start (interval 0 ms) to node1")
        .unwrap_or_else(|| panic!("svc started on node1:\n{log}"));
    assert!(
        confirmed < start,
        "recovered before the confirmation:\n{log}"
    );
    let r = report(&c, 1).expect("node1's report");
    let confirmation = r
        .fencing_history
        .iter()
        .find(|f| f.target == "node2" && f.result == "ok")
        .unwrap_or_else(|| panic!("no confirmation in {:#?}", r.fencing_history));
    assert_eq!(confirmation.client.as_deref(), Some("root (uid 0)"));
    assert!(confirmation.detail.contains("by hand"), "{confirmation:?}");
    assert!(confirmation.completed.is_some_and(|t| t > 0));
    // `fence history` reads it from the daemon, with who and when.
    let out = paceline(&["fence", "history"], &c.socket(1));
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    let line = shown
        .lines()
        .find(|l| l.contains("node2 successful"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        line.contains("client=root (uid 0)") && line.contains("completed='"),
        "{line}"
    );
}

/// Where node `i`'s view of the replicated status shows `rsc`, and as what.
fn placed_by(c: &Cluster, i: u8, rsc: &str) -> Option<(String, Vec<String>)> {
    report(c, i)
        .and_then(|r| r.resources.into_iter().find(|x| x.id == rsc))
        .map(|x| (x.role, x.nodes))
}

/// Off the DC (issue 17): `fence confirm` run on a member that is not the
/// DC is forwarded to the DC, which recovers; `--wait` run there returns
/// when the DC's controller has settled, not after a few quiet seconds (a
/// stop that takes 6 s is still in flight after 3 quiet ones).
#[test]
fn a_member_forwards_a_confirmation_to_the_dc_and_waits_for_the_dcs_settled_state() {
    if !can_run()
        || !Path::new("/usr/sbin/fence_dummy").exists()
        || !Path::new("/usr/lib/ocf/resource.d/pacemaker/Dummy").exists()
    {
        eprintln!("skipping: needs root, iproute2, fence_dummy and pacemaker's Dummy");
        return;
    }
    let mut c = Cluster::new(3, ("200ms", "1s"));
    let mut cfg = String::from("[fencing]\nenabled = true\naction = \"off\"\n");
    for i in [1, 2, 3] {
        std::fs::write(c.dir.join(format!("power{i}")), "on").unwrap();
        cfg.push_str(&format!(
            "[[fencing.device]]\nid = \"bmc{i}\"\ntype = \"agent\"\nagent = \"fence_dummy\"\ntimeout = \"3s\"\nparams = {{ type = \"file\", status_file = \"{}\" }}\n[[fencing.level]]\ntarget = \"node{i}\"\nindex = 1\ndevices = [\"bmc{i}\"]\n",
            c.dir.join(format!("power{i}")).display()
        ));
    }
    cfg.push_str(&format!(
        "[[primitive]]\nid = \"svc\"\nagent = \"ocf:pacemaker:Dummy\"\nparams = {{ state = \"{}/svc.state\" }}\n[[location]]\nid = \"prefer-node3\"\nresource = \"svc\"\nnode = \"node3\"\nscore = 50\n[[primitive]]\nid = \"slow\"\nagent = \"ocf:pacemaker:Dummy\"\nparams = {{ op_sleep = 6, state = \"{}/slow.state\" }}\n[[location]]\nid = \"slow-on-node1\"\nresource = \"slow\"\nnode = \"node1\"\nscore = 50\n",
        c.dir.display(),
        c.dir.display()
    ));
    c.append_config(&cfg);
    for i in [1, 2, 3] {
        let tmp = c.dir.join(format!("rsctmp{i}"));
        std::fs::create_dir_all(&tmp).unwrap();
        c.start_with_env(i, &[("HA_RSCTMP", &tmp)]);
    }
    c.until("svc on node3, slow on node1", WAIT, || {
        placed_by(&c, 1, "svc").is_some_and(|(_, n)| n == ["node3"])
            && placed_by(&c, 1, "slow").is_some_and(|(r, n)| r == "Started" && n == ["node1"])
    });
    let dc = report(&c, 2).and_then(|r| r.dc).expect("a DC");
    let member: u8 = if dc == "node1" { 2 } else { 1 };

    // node3 dies with its BMC: the DC's fences of it hang and fail.
    let power3 = c.dir.join("power3");
    std::fs::remove_file(&power3).unwrap();
    nix::unistd::mkfifo(&power3, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    c.kill(3);
    let dc_index: u8 = dc.trim_start_matches("node").parse().unwrap();
    c.until("a failed fence of node3", WAIT, || {
        c.log(dc_index).contains("fencing of node3 FAILED")
    });
    let out = paceline(&["fence", "confirm", "node3", "--yes"], &c.socket(member));
    assert!(out.status.success(), "{}\n{}", text(&out), c.log(member));
    assert!(text(&out).contains("node3 confirmed off"), "{}", text(&out));
    c.until("svc recovered off node3", WAIT, || {
        placed_by(&c, member, "svc").is_some_and(|(r, n)| r == "Started" && !n.is_empty())
    });
    assert!(
        c.log(dc_index).contains(&format!(
            "node3 confirmed off by hand by root (uid 0) on node{member}"
        )),
        "{}",
        c.log(dc_index)
    );

    // --wait on the member: back only once slow's 6 s stop is done.
    let out = paceline(
        &["resource", "disable", "slow", "--wait=40s"],
        &c.socket(member),
    );
    assert!(out.status.success(), "{}", text(&out));
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let shown = placed_by(&c, member, "slow");
        if shown
            .as_ref()
            .is_some_and(|(r, n)| r == "Stopped" && n.is_empty())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "--wait returned with slow {shown:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
