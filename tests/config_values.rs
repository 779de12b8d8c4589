//! Every duration-, size- and enum-valued setting, in each accepted and
//! each refused form, through `paceline config check` (the verdict, and a
//! refusal names file:line:column), and for the accepted forms what the
//! loaded configuration gives the daemon, the fencing crate, the executor
//! and the scheduler: one reader, one grammar, the same value everywhere.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use paceline::config::{Cluster, load_cluster_str, load_node_str, load_runnable_str};

/// A runnable three-node cluster; `{SLOT}` lines are replaced per case.
const BASE: &str = r#"failover_budget = "20s"
[cluster]
name = "t"
[membership]
heartbeat = "200ms"
token_timeout = "2s"
[[node]]
name = "node1"
id = 1
links = ["198.18.0.1"]
[[node]]
name = "node2"
id = 2
links = ["198.18.0.2"]
[[node]]
name = "node3"
id = 3
links = ["198.18.0.3"]
[properties]
stonith-enabled = true
[rsc_defaults]
resource-stickiness = 100
[op_defaults]
record-pending = true
[fencing]
enabled = true
[[fencing.device]]
id = "bmc"
type = "redfish"
url = "https://198.18.2.1"
username = "admin"
password_file = "/etc/paceline/bmc.pass"
[[fencing.device]]
id = "wd"
type = "watchdog"
watchdog_timeout = "3s"
[[fencing.level]]
target = "node1"
index = 1
devices = ["bmc"]
[[fencing.level]]
target = "node2"
index = 1
devices = ["bmc"]
[[fencing.level]]
target = "node3"
index = 1
devices = ["wd"]
[[primitive]]
id = "vip"
agent = "builtin:ipaddr"
params = { ip = "198.18.0.100", nic = "eth0" }
ops = [{ name = "start", timeout = "20s" }, { name = "monitor", interval = "10s" }]
"#;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Dir {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("paceline-values-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

/// `base` with the line starting `key` (within the section after
/// `section`) replaced by `line`; the 1-based line number of the result.
fn with_line(section: &str, key: &str, line: &str) -> (String, usize) {
    let mut out = Vec::new();
    let mut in_section = section.is_empty();
    let mut at = None;
    for l in BASE.lines() {
        if l.starts_with('[') {
            in_section = l == section;
        }
        if in_section && at.is_none() && l.starts_with(key) {
            at = Some(out.len() + 1);
            out.push(line.to_string());
        } else {
            out.push(l.to_string());
        }
    }
    let at = at.unwrap_or_else(|| {
        // Not in BASE: insert right after the section header.
        let i = out.iter().position(|l| l == section).expect(section);
        out.insert(i + 1, line.to_string());
        i + 2
    });
    (out.join("\n") + "\n", at)
}

/// `paceline config check`: exit code and stderr.
fn check(dir: &Path, text: &str) -> (i32, String) {
    let file = dir.join("cluster.toml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What pacelined runs: the node loader's model, `[fencing]` and
/// runtime (the daemon hands them to the controller, the executor and the
/// fencing service; it reads no text itself). `config check`'s loader and
/// the model-only one (simulate, the simulator) see the very same.
fn loaded(text: &str) -> Cluster {
    let node = load_node_str(text, "cluster.toml").unwrap();
    let check = load_runnable_str(text, "cluster.toml").unwrap();
    let model_only = load_cluster_str(text, "cluster.toml").unwrap();
    assert_eq!(node.model, check.model);
    assert_eq!(node.model, model_only.model);
    assert_eq!(node.fencing, check.fencing);
    assert_eq!(node.runtime, check.runtime);
    node
}

type View = fn(&Cluster, &str) -> Option<Duration>;

struct DurationSetting {
    /// The section header the line belongs to ("" for top-level keys).
    section: &'static str,
    /// The start of the line to replace (inserted after the header when
    /// BASE has none).
    key: &'static str,
    /// The line, `{}` standing for the value.
    line: &'static str,
    /// (written, expected milliseconds) pairs `config check` must accept.
    accepted: &'static [(&'static str, u64)],
    /// What each consumer sees (name, view).
    views: &'static [(&'static str, View)],
}

/// Forms the grammar refuses whatever the setting.
const REFUSED: &[&str] = &["5 parsecs", "1.5s", "-1s", "P1M", "PT", "soon", "36501d"];

fn fencing(c: &Cluster) -> &paceline_fencing::config::FencingSection {
    c.fencing.as_ref().expect("[fencing]")
}

fn device<'a>(c: &'a Cluster, id: &str) -> &'a paceline_fencing::config::DeviceConfig {
    fencing(c).device(id).expect(id)
}

/// What pacelined runs by: the runtime of the node loader, the one the
/// daemon starts with.
fn daemon(text: &str) -> paceline::config::Runtime {
    paceline::config::load_node_str(text, "cluster.toml")
        .unwrap()
        .runtime
        .unwrap()
}

/// What the executor runs: the action of the model's primitive (the
/// executor reads no text since its own reader went away).
fn executor_action(c: &Cluster, action: &str) -> paceline::executor::ocf::OcfAction {
    paceline::executor::primitive::action(vip(c), action).unwrap()
}

fn vip(c: &Cluster) -> &paceline::model::Primitive {
    c.model.primitive("vip").expect("vip")
}

fn op_ms(
    c: &Cluster,
    name: &str,
    f: fn(&paceline::model::Operation) -> Option<u64>,
) -> Option<Duration> {
    vip(c)
        .operations
        .iter()
        .find(|o| o.name == name)
        .and_then(f)
        .map(Duration::from_millis)
}

fn settings() -> Vec<DurationSetting> {
    vec![
        DurationSetting {
            section: "",
            key: "failover_budget",
            line: "failover_budget = \"{}\"",
            // Seen as the derived timeout of a device without one: twice
            // the budget within [5s, 60s].
            accepted: &[("20s", 40_000), ("PT15S", 30_000), ("1min", 60_000)],
            views: &[("fencing", |c, _| device(c, "bmc").timeout)],
        },
        DurationSetting {
            section: "[membership]",
            key: "heartbeat",
            line: "heartbeat = \"{}\"",
            accepted: &[("200ms", 200), ("300msec", 300), ("500 ms", 500)],
            views: &[("daemon", |_, t| Some(daemon(t).heartbeat))],
        },
        DurationSetting {
            section: "[membership]",
            key: "token_timeout",
            line: "token_timeout = \"{}\"",
            accepted: &[("2s", 2000), ("PT3S", 3000), ("2500ms", 2500), ("3", 3000)],
            views: &[("daemon", |_, t| Some(daemon(t).token_timeout))],
        },
        DurationSetting {
            section: "[fencing]",
            key: "delay",
            line: "delay = \"{}\"",
            accepted: &[
                ("5min", 300_000),
                ("2s", 2000),
                ("PT1M", 60_000),
                ("3", 3000),
            ],
            views: &[("fencing", |c, _| fencing(c).delay)],
        },
        DurationSetting {
            section: "[fencing]",
            key: "delay_max",
            line: "delay_max = \"{}\"",
            accepted: &[("1min", 60_000), ("500ms", 500)],
            views: &[("fencing", |c, _| fencing(c).delay_max)],
        },
        DurationSetting {
            section: "[fencing]",
            key: "priority_delay",
            line: "priority_delay = \"{}\"",
            accepted: &[("5s", 5000), ("PT5S", 5000), ("1h", 3_600_000)],
            views: &[("fencing", |c, _| fencing(c).priority_delay)],
        },
        DurationSetting {
            section: "[[fencing.device]]",
            key: "timeout",
            line: "timeout = \"{}\"",
            accepted: &[("20s", 20_000), ("1min", 60_000), ("PT30S", 30_000)],
            views: &[("fencing", |c, _| device(c, "bmc").timeout)],
        },
        DurationSetting {
            section: "[[fencing.device]]",
            key: "delay",
            line: "delay = \"{}\"",
            accepted: &[("5min", 300_000), ("0", 0)],
            views: &[("fencing", |c, _| device(c, "bmc").delay)],
        },
        DurationSetting {
            section: "[[fencing.device]]",
            key: "poll_interval",
            line: "poll_interval = \"{}\"",
            accepted: &[("200ms", 200), ("1s", 1000)],
            views: &[("fencing", |c, _| {
                device(c, "bmc").durations.get("poll_interval").copied()
            })],
        },
        DurationSetting {
            section: "[[fencing.device]]",
            key: "power_timeout",
            line: "power_timeout = \"{}\"",
            accepted: &[("20s", 20_000), ("1min", 60_000)],
            views: &[("fencing", |c, _| {
                device(c, "bmc").durations.get("power_timeout").copied()
            })],
        },
        DurationSetting {
            section: "[[fencing.device]]",
            key: "watchdog_timeout",
            line: "watchdog_timeout = \"{}\"",
            accepted: &[("3s", 3000), ("PT4S", 4000), ("5000ms", 5000)],
            views: &[
                ("fencing", |c, _| {
                    device(c, "wd").durations.get("watchdog_timeout").copied()
                }),
                ("daemon", |_, t| {
                    daemon(t).watchdogs.first().map(|w| w.timeout)
                }),
            ],
        },
        DurationSetting {
            section: "[[primitive]]",
            key: "ops",
            line: r#"ops = [{ name = "start", timeout = "{}" }, { name = "monitor", interval = "10s" }]"#,
            accepted: &[
                ("20s", 20_000),
                ("2min", 120_000),
                ("PT1M", 60_000),
                ("90", 90_000),
            ],
            views: &[
                ("model", |c, _| op_ms(c, "start", |o| o.timeout_ms)),
                ("executor", |c, _| Some(executor_action(c, "start").timeout)),
            ],
        },
        DurationSetting {
            section: "[[primitive]]",
            key: "ops",
            line: r#"ops = [{ name = "start", timeout = "20s" }, { name = "monitor", interval = "{}" }]"#,
            accepted: &[
                ("10s", 10_000),
                ("1min", 60_000),
                ("PT30S", 30_000),
                ("1d", 86_400_000),
            ],
            views: &[
                ("model", |c, _| op_ms(c, "monitor", |o| Some(o.interval_ms))),
                ("executor", |c, _| {
                    Some(executor_action(c, "monitor").interval)
                }),
            ],
        },
        DurationSetting {
            section: "[[primitive]]",
            key: "meta",
            line: r#"meta = { failure-timeout = "{}" }"#,
            accepted: &[("10min", 600_000), ("1d", 86_400_000), ("PT1H", 3_600_000)],
            views: &[("model", |c, _| vip(c).meta.failure_timeout)],
        },
        DurationSetting {
            section: "[rsc_defaults]",
            key: "failure-timeout",
            line: "failure-timeout = \"{}\"",
            accepted: &[
                ("1d", 86_400_000),
                ("10m", 600_000),
                ("PT2H", 7_200_000),
                ("600", 600_000),
            ],
            views: &[("scheduler", |c, _| {
                c.model.rsc_defaults_meta.failure_timeout
            })],
        },
        DurationSetting {
            section: "[op_defaults]",
            key: "timeout",
            line: "timeout = \"{}\"",
            accepted: &[("30s", 30_000), ("2min", 120_000)],
            views: &[("scheduler", |c, _| c.model.op_defaults_timeout)],
        },
        DurationSetting {
            section: "[properties]",
            key: "dc-deadtime",
            line: "dc-deadtime = \"{}\"",
            accepted: &[("20s", 20_000), ("1min", 60_000)],
            views: &[("controller", |c, _| c.model.properties.dc_deadtime)],
        },
    ]
}

#[test]
fn durations_read_alike_everywhere() {
    let dir = tempdir();
    for s in settings() {
        for (written, want) in s.accepted {
            let (text, _) = with_line(s.section, s.key, &s.line.replace("{}", written));
            let (code, err) = check(&dir.0, &text);
            assert_eq!(
                code, 0,
                "{} {} = {written:?} refused:\n{err}",
                s.section, s.key
            );
            let cluster = loaded(&text);
            for (who, view) in s.views {
                assert_eq!(
                    view(&cluster, &text),
                    Some(Duration::from_millis(*want)),
                    "{who} sees {} {} = {written:?}",
                    s.section,
                    s.key
                );
            }
        }
        for written in REFUSED {
            let (text, line) = with_line(s.section, s.key, &s.line.replace("{}", written));
            let (code, err) = check(&dir.0, &text);
            assert_eq!(code, 2, "{} {} = {written:?} accepted", s.section, s.key);
            assert!(
                err.contains(&format!("cluster.toml:{line}:")),
                "{} {} = {written:?}: no file:line {line} in\n{err}",
                s.section,
                s.key
            );
        }
    }
}

/// `--lifetime` takes the same forms; a bad one is a usage error (exit 2),
/// found before the daemon is asked anything.
#[test]
fn lifetime_takes_the_grammar_and_a_bad_one_exits_2() {
    let run = |lifetime: &str| {
        Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(["resource", "move", "vip", "node1"])
            .arg(format!("--lifetime={lifetime}"))
            .args(["--socket", "/nonexistent/paceline.sock"])
            .output()
            .unwrap()
    };
    for good in ["1d", "PT1H", "30min", "90"] {
        let out = run(good);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{good}: {err}");
        assert!(!err.contains("--lifetime"), "{good}: {err}");
    }
    for bad in ["1 fortnight", "P1Y", "-5m", "1.5h"] {
        let out = run(bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("--lifetime") && err.contains(bad),
            "{bad}: {err}"
        );
    }
}

type ValueView = fn(&Cluster) -> String;

/// Enum-, boolean- and number-valued settings.
struct ValueSetting {
    section: &'static str,
    key: &'static str,
    line: &'static str,
    /// (written, what the consumer sees, as `view` prints it).
    accepted: &'static [(&'static str, &'static str)],
    refused: &'static [&'static str],
    view: (&'static str, ValueView),
}

fn value_settings() -> Vec<ValueSetting> {
    vec![
        ValueSetting {
            section: "[properties]",
            key: "no-quorum-policy",
            line: "no-quorum-policy = \"{}\"",
            accepted: &[
                ("stop", "Stop"),
                ("freeze", "Freeze"),
                ("ignore", "Ignore"),
                ("demote", "Demote"),
                ("suicide", "Suicide"),
            ],
            refused: &["sometimes", "", "stop "],
            view: ("scheduler", |c| {
                format!("{:?}", c.model.properties.no_quorum_policy)
            }),
        },
        ValueSetting {
            section: "[properties]",
            key: "placement-strategy",
            line: "placement-strategy = \"{}\"",
            accepted: &[
                ("default", "Default"),
                ("utilization", "Utilization"),
                ("balanced", "Balanced"),
                ("minimal", "Minimal"),
            ],
            refused: &["packed", ""],
            view: ("scheduler", |c| {
                format!("{:?}", c.model.properties.placement_strategy)
            }),
        },
        ValueSetting {
            section: "[properties]",
            key: "stonith-action",
            line: "stonith-action = \"{}\"",
            // `poweroff` was kept as written and the daemon, which knows
            // reboot and off, fenced it as a reboot.
            accepted: &[("reboot", "reboot"), ("off", "off"), ("poweroff", "off")],
            refused: &["explode", "on"],
            view: ("controller", |c| c.model.properties.stonith_action.clone()),
        },
        ValueSetting {
            section: "[properties]",
            key: "stonith-enabled",
            line: "stonith-enabled = \"{}\"",
            accepted: &[
                ("true", "true"),
                ("yes", "true"),
                ("on", "true"),
                ("1", "true"),
            ],
            refused: &["maybe", "truthy", "2"],
            view: ("scheduler", |c| {
                c.model.properties.stonith_enabled.to_string()
            }),
        },
        ValueSetting {
            section: "[properties]",
            key: "node-action-limit",
            line: "node-action-limit = {}",
            accepted: &[
                ("0", "Some(0)"),
                ("8", "Some(8)"),
                ("1024", "Some(1024)"),
                ("\"4\"", "Some(4)"),
            ],
            refused: &["1025", "2305843009213693952", "-1", "\"many\""],
            view: ("executor", |c| {
                format!("{:?}", c.model.properties.node_action_limit)
            }),
        },
        ValueSetting {
            section: "[properties]",
            key: "symmetric-cluster",
            line: "symmetric-cluster = {}",
            accepted: &[("true", "true"), ("false", "false"), ("\"no\"", "false")],
            refused: &["\"maybe\"", "3"],
            view: ("scheduler", |c| {
                c.model.properties.symmetric_cluster.to_string()
            }),
        },
        ValueSetting {
            section: "[[primitive]]",
            key: "meta",
            line: "meta = { target-role = \"{}\" }",
            accepted: &[
                ("Stopped", "Some(Stopped)"),
                ("started", "Some(Started)"),
                ("Promoted", "Some(Promoted)"),
            ],
            refused: &["Running", "off"],
            view: ("scheduler", |c| format!("{:?}", vip(c).meta.target_role)),
        },
        ValueSetting {
            section: "[[primitive]]",
            key: "meta",
            line: "meta = { requires = \"{}\" }",
            accepted: &[("nothing", "Some(Nothing)"), ("fencing", "Some(Fencing)")],
            refused: &["everything"],
            view: ("scheduler", |c| format!("{:?}", vip(c).meta.requires)),
        },
        ValueSetting {
            section: "[[primitive]]",
            key: "meta",
            line: "meta = { multiple-active = \"{}\" }",
            accepted: &[("block", "Some(Block)"), ("stop_only", "Some(StopOnly)")],
            refused: &["stop-only", "all"],
            view: ("scheduler", |c| {
                format!("{:?}", vip(c).meta.multiple_active)
            }),
        },
        ValueSetting {
            section: "[[primitive]]",
            key: "meta",
            line: "meta = { migration-threshold = \"{}\" }",
            accepted: &[("3", "Some(3)"), ("INFINITY", "Some(1000000)")],
            refused: &["three", "1.5"],
            view: ("scheduler", |c| {
                format!("{:?}", vip(c).meta.migration_threshold)
            }),
        },
        ValueSetting {
            section: "[fencing]",
            key: "action",
            line: "action = \"{}\"",
            accepted: &[("reboot", "reboot"), ("off", "off")],
            refused: &["explode", "Reboot"],
            view: ("fencing", |c| fencing(c).action.clone()),
        },
        ValueSetting {
            section: "[[fencing.device]]",
            key: "retries",
            line: "retries = {}",
            accepted: &[("0", "Some(0)"), ("3", "Some(3)"), ("10", "Some(10)")],
            refused: &["11", "4000000000", "-1", "\"2\""],
            view: ("fencing", |c| format!("{:?}", device(c, "bmc").retries)),
        },
    ]
}

#[test]
fn enums_booleans_and_numbers_read_alike_everywhere() {
    let dir = tempdir();
    for s in value_settings() {
        for (written, want) in s.accepted {
            let (text, _) = with_line(s.section, s.key, &s.line.replace("{}", written));
            let (code, err) = check(&dir.0, &text);
            assert_eq!(
                code, 0,
                "{} {} = {written:?} refused:\n{err}",
                s.section, s.key
            );
            let cluster = loaded(&text);
            let (who, view) = s.view;
            assert_eq!(view(&cluster), *want, "{who} sees {} = {written:?}", s.key);
        }
        for written in s.refused {
            let (text, line) = with_line(s.section, s.key, &s.line.replace("{}", written));
            let (code, err) = check(&dir.0, &text);
            assert_eq!(code, 2, "{} {} = {written:?} accepted", s.section, s.key);
            assert!(
                err.contains(&format!("cluster.toml:{line}:")),
                "{} = {written:?}: no file:line {line} in\n{err}",
                s.key
            );
        }
    }
}

/// Instance counts are bounded: 4,000,000,000 aborted every daemon on
/// allocation.
#[test]
fn clone_counts_are_bounded() {
    let dir = tempdir();
    let clone = |n: &str| {
        format!("{BASE}[[clone]]\nid = \"vip-clone\"\nresource = \"vip\"\nclone_max = {n}\n")
    };
    assert_eq!(check(&dir.0, &clone("3")).0, 0);
    let (code, err) = check(&dir.0, &clone("4000000000"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("clone_max = 4000000000 is above 1024"),
        "{err}"
    );
}

/// Issue 16: `config check` said "ok: 0 nodes" to files `pacelined`
/// refused, passed `lsb:` agents the executor refuses, and accepted
/// properties nothing acts on. Each file here is refused by both, with the
/// same diagnostic at the same file:line:column (the daemon calls the same
/// loader).
#[test]
fn config_check_refuses_what_pacelined_refuses() {
    let dir = tempdir();
    let no_links = BASE.replace("links = [\"198.18.0.2\"]\n", "");
    let property = |line: &str| with_line("[properties]", line, line).0;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "lsb agent",
            BASE.replace("builtin:ipaddr", "lsb:httpd"),
            "run it as \"systemd:httpd\"",
        ),
        (
            "a property nothing acts on",
            property("cluster-recheck-interval = \"5min\""),
            "property `cluster-recheck-interval` is a Pacemaker option paceline does not act on",
        ),
        (
            "a property set elsewhere",
            property("priority-fencing-delay = \"5s\""),
            "set `priority_delay` under [fencing] instead",
        ),
        (
            "no [cluster]",
            BASE.replace("[cluster]\nname = \"t\"\n", ""),
            "no [cluster] section",
        ),
        ("no links", no_links, "cluster.toml:12:8"),
        (
            "links differ",
            BASE.replace("[\"198.18.0.3\"]", "[\"198.18.0.3\", \"198.18.1.3\"]"),
            "node `node3` has 2 links but node `node1` has 1",
        ),
        (
            "fencing unsaid",
            BASE.replace("enabled = true\n[[fencing.device]]", "[[fencing.device]]"),
            "does not say whether fencing is on",
        ),
        (
            "no nodes",
            BASE.split("[[node]]").next().unwrap().to_string() + "[fencing]\nenabled = false\n",
            "no [[node]]",
        ),
    ];
    for (what, text, want) in cases {
        let (code, err) = check(&dir.0, &text);
        assert_eq!(code, 2, "{what}: config check accepted it:\n{err}");
        assert!(err.contains(want), "{what}: config check said\n{err}");
        let file = dir.0.join("cluster.toml");
        let out = Command::new(env!("CARGO_BIN_EXE_pacelined"))
            .arg("--config")
            .arg(&file)
            .args(["--node", "node1"])
            .output()
            .unwrap();
        let daemon_err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{what}: pacelined said\n{daemon_err}"
        );
        assert!(
            daemon_err.contains(want),
            "{what}: pacelined said\n{daemon_err}"
        );
    }
}

/// Issue 16: an agent that does not exist, or a parameter the agent does
/// not have (`ipp` for `ip`), passed `config check`. They are checked
/// against the meta-data of the agents installed here (the builtin ones
/// always are); `--without-agents` says this machine has none.
#[test]
fn config_check_holds_resources_to_their_agents_meta_data() {
    let dir = tempdir();
    let typo = BASE.replace("params = { ip = ", "params = { ipp = ");
    let (code, err) = check(&dir.0, &typo);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`ipp` is not a parameter of `builtin:ipaddr`")
            && err.contains("did you mean `ip`?")
            && err.contains("lacks `ip`, which `builtin:ipaddr` requires")
            && err.contains("cluster.toml:52:18"),
        "{err}"
    );
    let (code, err) = check(&dir.0, &BASE.replace("builtin:ipaddr", "builtin:ipadr"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("did you mean `builtin:ipaddr`?"), "{err}");
    let file = dir.0.join("cluster.toml");
    std::fs::write(&file, &typo).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["config", "check", "--without-agents"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The reference configurations pass `config check` on this machine, the
/// agents' meta-data included: they gave `builtin:ipaddr` no `nic`, which
/// the agent requires, so their VIPs could never have started.
#[test]
fn the_reference_policies_pass_config_check() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for e in std::fs::read_dir(root.join("policies")).unwrap().flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {err}", path.display());
        checked += 1;
    }
    assert!(checked >= 3, "{checked} policies");
}

/// Fence agents are held to their meta-data like resource agents: a
/// `stonith:` primitive (Pacemaker's fencer rules: `pcmk_*` are the
/// fencer's, it passes `action` and the target's `port`) and a `type =
/// "agent"` device (the fencing crate's rules) with a parameter the agent
/// lacks, or without one it requires, are refused with "did you mean";
/// `--without-agents` skips them. Uses Debian's fence-agents.
#[test]
fn config_check_holds_fence_agents_to_their_meta_data() {
    if !Path::new("/usr/sbin/fence_ipmilan").is_file() {
        eprintln!("skipping: needs fence-agents' fence_ipmilan (apt-get install fence-agents)");
        return;
    }
    let dir = tempdir();
    let primitive = |params: &str| {
        format!(
            "{BASE}[[primitive]]\nid = \"ipmi1\"\nagent = \"stonith:fence_ipmilan\"\nparams = {{ {params} }}\n"
        )
    };
    // A stonith: primitive fences nothing in paceline: refused, with the
    // [[fencing.device]] form that does (its parameters are still checked).
    let good = primitive("ip = \"198.18.2.1\", username = \"admin\", pcmk_host_list = \"node1\"");
    let (code, err) = check(&dir.0, &good);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`ipmi1` is a stonith: primitive, which fences nothing here")
            && err.contains("agent = \"fence_ipmilan\"")
            && !err.contains("is not a parameter"),
        "{err}"
    );
    let (code, err) = check(
        &dir.0,
        &primitive("ipp = \"198.18.2.1\", username = \"admin\""),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`ipp` is not a parameter of fence agent `fence_ipmilan`")
            && err.contains("did you mean `ip`?"),
        "{err}"
    );
    let (code, err) = check(&dir.0, &BASE.replace("ipmi1", "x").replace(
        "[[fencing.device]]\nid = \"wd\"",
        "[[fencing.device]]\nid = \"dummy\"\ntype = \"agent\"\nagent = \"fence_dummy\"\nparams = { type = \"file\", staus_file = \"/tmp/x\" }\n[[fencing.device]]\nid = \"wd\"",
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`staus_file` is not a parameter of fence agent `fence_dummy`")
            && err.contains("did you mean `status_file`?"),
        "{err}"
    );
    let (code, err) = check(
        &dir.0,
        &primitive("").replace("fence_ipmilan", "fence_ipmilam"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("did you mean `stonith:fence_ipmilan`?"),
        "{err}"
    );
    let file = dir.0.join("cluster.toml");
    std::fs::write(&file, primitive("ipp = \"x\"")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["config", "check", "--without-agents"])
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Without agents the parameters go unchecked; the primitive is still
    // no fence device.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("fences nothing here") && !err.contains("`ipp`"),
        "{err}"
    );
}
