//! Fencing alerts on every node (Pacemaker runs alert agents on every
//! node, its fencer telling every controller of each result): three real
//! daemons in the namespace lab, fenced through the lab's power board, an
//! alert agent that appends each fencing alert to a file of its node. The
//! DC loses its power and is fenced by the new DC; it is powered on and
//! rejoins; the DC then loses its power too. Each node alerts each fence
//! that completed while its daemon ran, exactly once: none twice after
//! the DC changes, none from before the daemon started. Needs root and
//! iproute2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use paceline::lab::cluster::{LabCluster, write_authkey};
use paceline::lab::{Lab, LabOptions, fence_agent, node_addr};

const NODES: u8 = 3;

fn can_run() -> bool {
    let ok =
        nix::unistd::Uid::effective().is_root() && Command::new("ip").arg("-V").output().is_ok();
    if !ok {
        eprintln!("skipping: the lab needs root and iproute2");
    }
    ok
}

fn config(dir: &Path, agent: &Path, socket: &Path, node: u8) -> String {
    let node_dir = dir.join(format!("node{node}"));
    let mut text = format!(
        "[cluster]\nname = \"alerts\"\nauthkey = \"{}\"\nstate_dir = \"{}\"\nsocket = \"{}\"\n\n\
         [properties]\nstonith-enabled = true\ndc-deadtime = \"2s\"\n\n\
         [fencing]\nenabled = true\naction = \"off\"\n\n\
         [[primitive]]\nid = \"d\"\nagent = \"builtin:dummy\"\n\n\
         [[alert]]\nid = \"fence-log\"\npath = \"{}\"\nselect = [\"fencing\"]\n\
         [[alert.recipient]]\nid = \"file\"\nvalue = \"{}\"\n\n",
        dir.join("authkey").display(),
        node_dir.join("state").display(),
        node_dir.join("paceline.sock").display(),
        dir.join("fence-alert.sh").display(),
        dir.join("fence-alerts").display(),
    );
    for i in 1..=NODES {
        text.push_str(&format!(
            "[[node]]\nname = \"node{i}\"\nid = {i}\nlinks = [\"{}\"]\n\n\
             [[fencing.device]]\nid = \"power-node{i}\"\ntype = \"agent\"\nagent = \"{}\"\n\
             params = {{ plug = \"node{i}\", socket = \"{}\" }}\n\n\
             [[fencing.level]]\ntarget = \"node{i}\"\nindex = 1\ndevices = [\"power-node{i}\"]\n\n",
            node_addr(i, 0),
            agent.display(),
            socket.display()
        ));
    }
    text
}

/// The lines each node's agent wrote (by node number).
fn alerts(dir: &Path, lab: &Lab) -> BTreeMap<u8, Vec<String>> {
    (1..=NODES)
        .map(|i| {
            let file = dir.join(format!("fence-alerts.{}", lab.node_ns(i)));
            let text = std::fs::read_to_string(file).unwrap_or_default();
            (i, text.lines().map(String::from).collect())
        })
        .collect()
}

/// The DC every node names, once all three are members of one view and
/// the DC is idle (the cluster settled).
fn settled_dc(c: &LabCluster) -> Option<u8> {
    let reports: Vec<_> = (1..=NODES).map(|i| c.report(i)).collect::<Option<_>>()?;
    let dc = reports.first()?.dc.clone()?;
    let agreed = reports.iter().all(|r| {
        r.membership.members.len() == usize::from(NODES) && r.dc.as_deref() == Some(dc.as_str())
    });
    let idle = reports.iter().any(|r| r.dc_idle == Some(true));
    if !(agreed && idle) {
        return None;
    }
    dc.strip_prefix("node")?.parse().ok()
}

/// Successful fences of `target` in a node's report.
fn fences_of(c: &LabCluster, node: u8, target: &str) -> Option<usize> {
    let r = c.report(node)?;
    Some(
        r.fencing_history
            .iter()
            .filter(|f| f.target == target && f.result == "ok" && f.action != "on")
            .count(),
    )
}

/// Cuts the DC's power once the cluster settled and waits until a
/// survivor reports one more fence of it.
fn fence_the_dc(c: &LabCluster) -> u8 {
    // A node that just rejoined is fenced when lost only once the DC has
    // taken it in: the same idle DC twice, 3 s apart.
    let mut target = None;
    for _ in 0..20 {
        c.wait_for("three members, one idle DC", Duration::from_secs(60), |c| {
            settled_dc(c).is_some()
        })
        .expect("the cluster settles");
        let dc = settled_dc(c);
        std::thread::sleep(Duration::from_secs(3));
        if dc.is_some() && settled_dc(c) == dc {
            target = dc;
            break;
        }
    }
    let target = target.expect("a DC that stays");
    let name = format!("node{target}");
    let survivor = (1..=NODES).find(|&i| i != target).expect("a survivor");
    let before = fences_of(c, survivor, &name).expect("the survivor's report");
    c.lab.power_off(target).expect("power off");
    c.wait_for(&format!("{name} fenced"), Duration::from_secs(60), |c| {
        fences_of(c, survivor, &name).is_some_and(|n| n > before)
    })
    .expect("the DC fenced");
    target
}

#[test]
fn every_node_alerts_each_fence_once_across_dc_changes() {
    if !can_run() {
        return;
    }
    let pacelined = Path::new(env!("CARGO_BIN_EXE_pacelined"));
    let paceline = Path::new(env!("CARGO_BIN_EXE_paceline"));
    let mut lab = Lab::new(&LabOptions {
        tag: "alf".into(),
        nodes: NODES,
        links: 1,
        client: false,
    })
    .expect("lab");
    let socket = lab.serve_power().expect("power board");
    let dir: PathBuf = lab.dir().to_path_buf();
    let agent = fence_agent::install(&dir, paceline).expect("fence agent");
    write_authkey(&dir.join("authkey")).expect("authkey");
    let script = dir.join("fence-alert.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"$CRM_alert_kind $CRM_alert_node $CRM_alert_task rc=$CRM_alert_rc $CRM_alert_desc\" \
         >> \"$CRM_alert_recipient.$(ip netns identify $$)\"\n",
    )
    .expect("alert agent");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let c = LabCluster::new(lab, NODES, pacelined, |i| config(&dir, &agent, &socket, i))
        .expect("cluster");
    for i in 1..=NODES {
        c.start(i).expect("start");
    }
    let first = fence_the_dc(&c);
    c.lab.power_on(first).expect("power on");
    c.start(first).expect("restart");
    let second = fence_the_dc(&c);
    // A node alerts a fence that completed while its daemon ran: not its
    // own (it was off), and not the first for the restarted node.
    let expected = |n: u8| u8::from(n != first) + u8::from(n != second);
    let complete = |seen: &BTreeMap<u8, Vec<String>>| {
        (1..=NODES).all(|n| seen[&n].len() >= usize::from(expected(n)))
    };
    let waited = c.wait_for("every node's alerts", Duration::from_secs(20), |c| {
        complete(&alerts(c.lab.dir(), &c.lab))
    });
    if let Err(e) = waited {
        panic!("{e}\nalerts: {:#?}", alerts(c.lab.dir(), &c.lab));
    }
    // Late duplicates would come within a few document versions.
    std::thread::sleep(Duration::from_secs(3));
    let seen = alerts(c.lab.dir(), &c.lab);
    eprintln!("fenced node{first}, then node{second}; alerts: {seen:#?}");
    for n in 1..=NODES {
        let lines = &seen[&n];
        assert_eq!(lines.len(), usize::from(expected(n)), "node{n}: {lines:?}");
        let unique: std::collections::BTreeSet<&String> = lines.iter().collect();
        assert_eq!(unique.len(), lines.len(), "node{n} alerted one fence twice");
        for line in lines {
            assert!(line.starts_with("fencing node"), "{line}");
            assert!(line.contains(" off rc=0 Operation off of node"), "{line}");
        }
    }
    let target_of = |n: u8| {
        seen[&n]
            .iter()
            .map(|l| l.split(' ').nth(1).unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    for n in (1..=NODES).filter(|&n| n != first && n != second) {
        assert_eq!(
            target_of(n),
            [format!("node{first}"), format!("node{second}")],
            "node{n} alerts both fences in order"
        );
    }
}
