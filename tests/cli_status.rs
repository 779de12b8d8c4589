//! `paceline status` reads like crm_mon on a live daemon (issue 17): a
//! group and a promotable clone drawn as trees, instance roles per node,
//! disabled and unmanaged marks, the counts, "Last change" by whom, and a
//! failed monitor that stays listed after the resource recovered in place
//! (until cleanup), as crm_mon lists it. `--output json` carries the same.

use std::path::Path;

#[path = "local/mod.rs"]
mod local;

#[test]
fn status_draws_groups_and_clones_as_trees_with_marks_and_kept_failures() {
    if !Path::new("/usr/lib/ocf/resource.d/pacemaker/Stateful").exists() {
        eprintln!("skipping: needs pacemaker's Stateful and Dummy agents");
        return;
    }
    let d = local::Lone::start("plstatus");
    let web_state = d.dir.join("web.state");
    let web_param = format!("state={}", web_state.display());
    for (id, extra) in [
        (
            "web",
            &[
                "--group",
                "app",
                "--op",
                "monitor interval=1s",
                "--param",
                &web_param,
            ][..],
        ),
        ("ip", &["--group", "app"][..]),
        ("off", &[][..]),
        ("keep", &[][..]),
    ] {
        let mut args = vec!["resource", "create", id, "ocf:pacemaker:Dummy"];
        args.extend(extra);
        d.ok(&args);
    }
    d.ok(&[
        "resource",
        "create",
        "state",
        "ocf:pacemaker:Stateful",
        "--promotable",
    ]);
    d.ok(&["resource", "disable", "off"]);
    d.ok(&["resource", "unmanage", "keep", "--wait=30s"]);
    d.until("web, ip, keep started and state promoted", |r| {
        let role = |id: &str| {
            r.resources
                .iter()
                .find(|v| v.id == id)
                .map(|v| v.role.clone())
        };
        ["web", "ip", "keep"]
            .iter()
            .all(|id| role(id).as_deref() == Some("Started"))
            && role("state").as_deref() == Some("Promoted")
    });
    let text = d.ok(&["status"]);
    let want = [
        "View 1: members [node1]",
        "1 node configured, 5 resource instances configured (1 DISABLED)",
        "Last change: ",
        "via paceline on node1",
        "Full List of Resources:\n",
        "  * Resource Group: app:\n    * web\t(ocf:pacemaker:Dummy):\t Started node1\n    * ip\t(ocf:pacemaker:Dummy):\t Started node1\n",
        "  * off\t(ocf:pacemaker:Dummy):\t Stopped (disabled)\n",
        "  * keep\t(ocf:pacemaker:Dummy):\t Started node1 (unmanaged)\n",
        "  * Clone Set: state-clone [state] (promotable):\n    * Promoted: [ node1 ]\n",
    ];
    for w in want {
        assert!(text.contains(w), "no {w:?} in:\n{text}");
    }

    // web's monitor finds it stopped (its state file gone): it is
    // recovered in place, and the failure stays listed until cleanup.
    std::fs::remove_file(&web_state).unwrap();
    d.until("web recovered, its failure still listed", |r| {
        r.resources
            .iter()
            .any(|v| v.id == "web" && v.role == "Started")
            && r.failed_actions
                .iter()
                .any(|f| f.resource == "web" && f.recovered && f.fail_count == 1)
    });
    std::thread::sleep(std::time::Duration::from_secs(3));
    let text = d.ok(&["status"]);
    assert!(
        text.contains(
            "  * web_monitor_1000 on node1 failed, recovered since: fail-count=1, last-rc-change='"
        ),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&d.ok(&["status", "--output", "json"])).unwrap();
    let web = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "web")
        .unwrap();
    assert_eq!(
        (&web["group"], &web["role"]),
        (&"app".into(), &"Started".into())
    );
    let keep = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "keep")
        .unwrap();
    assert_eq!(keep["flags"], serde_json::json!(["unmanaged"]));
    assert_eq!(json["instances"]["configured"], 5);
    d.ok(&["resource", "cleanup", "web"]);
    d.until("no failure after cleanup", |r| r.failed_actions.is_empty());
}

/// A fence that takes a while shows as crm_mon's "pending" line in
/// `status` and `fence history` while it runs, then as done: node1 of a
/// two-node cluster whose node2 never starts, fencing node2 through the
/// daemon through a level of two `fence_dummy`s sleeping 1-2 s each.
#[test]
fn a_fence_in_progress_is_listed_as_pending() {
    if !Path::new("/usr/sbin/fence_dummy").exists() {
        eprintln!("skipping: needs fence-agents' fence_dummy");
        return;
    }
    let dir = std::env::temp_dir().join(format!("plpending{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
    let key = dir.join("authkey");
    local::keygen(&key);
    let power = dir.join("power");
    std::fs::write(&power, "on").unwrap();
    let config = format!(
        "[cluster]\nname = \"pending\"\nauthkey = \"{}\"\nstate_dir = \"{}\"\n\
         [membership]\nheartbeat = \"100ms\"\ntoken_timeout = \"1s\"\n\
         [[node]]\nname = \"node1\"\nid = 1\nlinks = [\"127.0.0.1:{}\"]\n\
         [[node]]\nname = \"node2\"\nid = 2\nlinks = [\"127.0.0.2:{}\"]\n\
         [fencing]\nenabled = true\n\
         [[fencing.device]]\nid = \"slow\"\ntype = \"agent\"\nagent = \"fence_dummy\"\n\
         params = {{ type = \"file\", status_file = \"{p}\", random_sleep_range = \"2\" }}\n\
         [[fencing.device]]\nid = \"slower\"\ntype = \"agent\"\nagent = \"fence_dummy\"\n\
         params = {{ type = \"file\", status_file = \"{p}\", random_sleep_range = \"2\" }}\n\
         [[fencing.level]]\ntarget = \"node2\"\nindex = 1\ndevices = [\"slow\", \"slower\"]\n\
         [[fencing.level]]\ntarget = \"node1\"\nindex = 1\ndevices = [\"slow\"]\n",
        key.display(),
        dir.join("state").display(),
        local::free_udp_port(),
        local::free_udp_port(),
        p = power.display()
    );
    let child = local::start_node1(&dir, &config, false, std::process::Stdio::null());
    let d = local::Running { dir, child };
    let socket = d.dir.join("api.sock");
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .output()
            .unwrap()
    };
    let start = std::time::Instant::now();
    while !cli(&["status"]).status.success() {
        assert!(start.elapsed().as_secs() < 30, "pacelined never answered");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let fence = std::process::Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["fence", "node2", "--socket"])
        .arg(&socket)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The level takes at least two seconds: the line is there meanwhile.
    let start = std::time::Instant::now();
    let pending = loop {
        let status = local::text(&cli(&["status"]));
        if status.contains("of node2 pending") {
            break status;
        }
        assert!(start.elapsed().as_secs() < 20, "no pending line:\n{status}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        pending.contains("pending: delegate=node1, client=pacelined, origin=node1, started='"),
        "{pending}"
    );
    let history = local::text(&cli(&["fence", "history"]));
    let out = fence.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", local::text(&out));
    assert!(history.contains("of node2 pending"), "{history}");
    // Done: the pending line is gone (without quorum the outcome is not
    // replicated, so the history does not list it here).
    let status = local::text(&cli(&["status"]));
    assert!(!status.contains("of node2 pending"), "{status}");
}
