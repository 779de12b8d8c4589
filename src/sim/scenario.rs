//! Scenarios as data: a list of timed faults and expectations for the
//! whole-cluster simulator (`tests/scenarios/<name>/faults.txt`).
//!
//! One statement per line; `#` starts a comment; times are durations from
//! virtual time zero (`10s`, `1500ms`, `2m`), in non-decreasing order:
//!
//! ```text
//! seed 7                          # the simulator's seed (default 1)
//! 10s power-off node1             # power loss: the node and what it runs stop
//! 25s power-on node1
//! 10s partition node1 | node2 node3
//! 20s heal                        # every link works again
//! 12s fail node1 vip              # the resource dies there (monitors notice)
//! 0s  break-start node2 vip       # starts of vip on node2 fail (rc 1)
//! 0s  break-fence node1           # the fence device of node1 fails every attempt
//! 30s repair-fence node1
//! 40s shutdown node2              # clean shutdown (resources move, then it leaves)
//! 15s config-change               # an operator changes the configuration
//! 8s  move service node2          # `resource move service node2`
//! 18s expect running vip node2    # vip runs exactly on these nodes
//! 18s expect stopped vip          # vip runs nowhere
//! 18s expect up node1             # powered on (or: expect down node1)
//! 60s end                         # the run stops here
//! ```

use std::time::Duration;

use super::cluster::ClusterSim;
use crate::config::parse_duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    PowerOff(String),
    PowerOn(String),
    Partition(Vec<Vec<String>>),
    Heal,
    Fail {
        node: String,
        resource: String,
    },
    BreakStart {
        node: String,
        resource: String,
    },
    BreakFence(String),
    RepairFence(String),
    Shutdown(String),
    ConfigChange,
    Move {
        resource: String,
        node: String,
    },
    ExpectRunning {
        resource: String,
        nodes: Vec<String>,
    },
    ExpectUp(String),
    ExpectDown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub seed: u64,
    pub end: Duration,
    pub steps: Vec<(Duration, usize, Action)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("faults.txt line {line}: {message}")]
pub struct ScenarioError {
    pub line: usize,
    pub message: String,
}

fn words<'a>(
    rest: &[&'a str],
    n: usize,
    what: &str,
    line: usize,
) -> Result<Vec<&'a str>, ScenarioError> {
    if rest.len() == n {
        Ok(rest.to_vec())
    } else {
        Err(ScenarioError {
            line,
            message: format!("`{what}` takes {n} word(s), got {}", rest.len()),
        })
    }
}

pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    let mut scenario = Scenario {
        seed: 1,
        end: Duration::ZERO,
        steps: Vec::new(),
    };
    let mut last = Duration::ZERO;
    let mut ended = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| ScenarioError { line, message };
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let parts: Vec<&str> = content.split_whitespace().collect();
        if parts[0] == "seed" {
            let [_, seed] = parts[..] else {
                return Err(err("`seed` takes one number".into()));
            };
            scenario.seed = seed
                .parse()
                .map_err(|_| err(format!("`{seed}` is not a seed number")))?;
            continue;
        }
        let at = parse_duration(parts[0]).map_err(|e| err(format!("not a time: {e}")))?;
        if at < last {
            return Err(err(format!(
                "time {} goes back (previous step at {last:?})",
                parts[0]
            )));
        }
        if ended {
            return Err(err("nothing may follow `end`".into()));
        }
        last = at;
        let Some(&verb) = parts.get(1) else {
            return Err(err("a time needs an action after it".into()));
        };
        let rest = &parts[2..];
        let action = match verb {
            "power-off" => Action::PowerOff(words(rest, 1, verb, line)?[0].into()),
            "power-on" => Action::PowerOn(words(rest, 1, verb, line)?[0].into()),
            "partition" => {
                let groups: Vec<Vec<String>> = rest
                    .split(|w| *w == "|")
                    .map(|g| g.iter().map(|s| s.to_string()).collect())
                    .collect();
                if groups.len() < 2 || groups.iter().any(|g| g.is_empty()) {
                    return Err(err(
                        "`partition` needs groups of nodes separated by `|`".into()
                    ));
                }
                Action::Partition(groups)
            }
            "heal" => {
                words(rest, 0, verb, line)?;
                Action::Heal
            }
            "fail" => {
                let w = words(rest, 2, verb, line)?;
                Action::Fail {
                    node: w[0].into(),
                    resource: w[1].into(),
                }
            }
            "break-start" => {
                let w = words(rest, 2, verb, line)?;
                Action::BreakStart {
                    node: w[0].into(),
                    resource: w[1].into(),
                }
            }
            "break-fence" => Action::BreakFence(words(rest, 1, verb, line)?[0].into()),
            "repair-fence" => Action::RepairFence(words(rest, 1, verb, line)?[0].into()),
            "shutdown" => Action::Shutdown(words(rest, 1, verb, line)?[0].into()),
            "config-change" => {
                words(rest, 0, verb, line)?;
                Action::ConfigChange
            }
            "move" => {
                let w = words(rest, 2, verb, line)?;
                Action::Move {
                    resource: w[0].into(),
                    node: w[1].into(),
                }
            }
            "expect" => match rest {
                ["running", resource, nodes @ ..] if !nodes.is_empty() => Action::ExpectRunning {
                    resource: resource.to_string(),
                    nodes: nodes.iter().map(|n| n.to_string()).collect(),
                },
                ["stopped", resource] => Action::ExpectRunning {
                    resource: resource.to_string(),
                    nodes: Vec::new(),
                },
                ["up", node] => Action::ExpectUp(node.to_string()),
                ["down", node] => Action::ExpectDown(node.to_string()),
                _ => {
                    return Err(err(
                        "use `expect running RSC NODE...`, `expect stopped RSC`, `expect up NODE` or `expect down NODE`".into(),
                    ));
                }
            },
            "end" => {
                words(rest, 0, verb, line)?;
                ended = true;
                scenario.end = at;
                continue;
            }
            other => return Err(err(format!("unknown action `{other}`"))),
        };
        scenario.steps.push((at, line, action));
    }
    if !ended {
        return Err(ScenarioError {
            line: text.lines().count(),
            message: "the scenario needs a final `TIME end`".into(),
        });
    }
    Ok(scenario)
}

/// Runs a scenario; returns the expectations that did not hold.
pub fn run(sim: &mut ClusterSim, scenario: &Scenario) -> Vec<String> {
    let mut failed = Vec::new();
    for (at, line, action) in &scenario.steps {
        if *at > sim.now() {
            let gap = *at - sim.now();
            sim.run_for(gap);
        }
        sim.check_exclusive();
        match action {
            Action::PowerOff(n) => sim.power_off(n),
            Action::PowerOn(n) => sim.power_on(n),
            Action::Partition(groups) => sim.partition(groups),
            Action::Heal => sim.heal(),
            Action::Fail { node, resource } => sim.fail_resource(node, resource),
            Action::BreakStart { node, resource } => sim.break_start(node, resource, true),
            Action::BreakFence(n) => sim.break_fence_device(n, true),
            Action::RepairFence(n) => sim.break_fence_device(n, false),
            Action::Shutdown(n) => sim.shutdown(n),
            Action::ConfigChange => {
                sim.change_config();
            }
            Action::Move { resource, node } => {
                if !sim.move_resource(resource, node) {
                    failed.push(format!("line {line} at {at:?}: no ready DC took the move"));
                }
            }
            Action::ExpectRunning { resource, nodes } => {
                let actual = sim.running().get(resource).cloned().unwrap_or_default();
                let mut want = nodes.clone();
                want.sort();
                if actual != want {
                    failed.push(format!(
                        "line {line} at {at:?}: {resource} runs on {actual:?}, expected {want:?}"
                    ));
                }
            }
            Action::ExpectUp(n) | Action::ExpectDown(n) => {
                let want = matches!(action, Action::ExpectUp(_));
                if sim.is_up(n) != want {
                    failed.push(format!(
                        "line {line} at {at:?}: {n} is {}",
                        if want { "down" } else { "up" }
                    ));
                }
            }
        }
    }
    if scenario.end > sim.now() {
        let gap = scenario.end - sim.now();
        sim.run_for(gap);
    }
    sim.check_exclusive();
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_statement_and_reports_mistakes_by_line() {
        let s = parse(
            "seed 3\n# c\n1s power-off node1\n2s partition a b | c\n2s expect running vip a b\n3s expect stopped x\n3s end\n",
        )
        .unwrap();
        assert_eq!(s.seed, 3);
        assert_eq!(s.end, Duration::from_secs(3));
        assert_eq!(s.steps.len(), 4);
        assert_eq!(
            s.steps[1].2,
            Action::Partition(vec![vec!["a".into(), "b".into()], vec!["c".into()]])
        );
        let e = parse("1s power-off\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert_eq!(parse("2s heal\n1s heal\n1s end").unwrap_err().line, 2);
        assert!(
            parse("1s jump node1\n2s end")
                .unwrap_err()
                .message
                .contains("unknown")
        );
        assert!(parse("1s heal\n").unwrap_err().message.contains("end"));
    }
}
