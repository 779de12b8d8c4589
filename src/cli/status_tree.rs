//! `paceline status`'s resource list as crm_mon draws it: groups and
//! clones as trees, a clone's instances by role with their nodes, marks
//! (disabled, unmanaged, maintenance, blocked) and the failed actions,
//! which stay listed until cleanup or failure-timeout.

use crate::api::{FailedActionView, ResourceView, StatusReport, utc_seconds};

/// "Full List of Resources:" and its tree, in configuration order.
pub fn render(report: &StatusReport) -> String {
    let mut out = String::from("Full List of Resources:\n");
    if report.resources.is_empty() {
        out.push_str("  * No resources\n");
    }
    let nodes: Vec<&str> = report
        .membership
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    let mut i = 0;
    while let Some(first) = report.resources.get(i) {
        // The views of one clone (or one group outside a clone) follow
        // each other in configuration order.
        let len = report.resources[i..]
            .iter()
            .take_while(|v| same_parent(first, v))
            .count()
            .max(1);
        let views = &report.resources[i..i + len];
        match (&first.clone, &first.group) {
            (Some(clone), _) => out.push_str(&clone_set(clone, views, &nodes)),
            (None, Some(group)) => {
                out.push_str(&format!("  * Resource Group: {group}:\n"));
                for v in views {
                    out.push_str(&format!("    {}", primitive_line(v)));
                }
            }
            (None, None) => {
                for v in views {
                    out.push_str(&format!("  {}", primitive_line(v)));
                }
            }
        }
        i += len;
    }
    out
}

fn same_parent(a: &ResourceView, b: &ResourceView) -> bool {
    match (&a.clone, &a.group) {
        (Some(c), _) => b.clone.as_ref() == Some(c),
        (None, Some(g)) => b.clone.is_none() && b.group.as_ref() == Some(g),
        (None, None) => b.clone.is_none() && b.group.is_none() && a.id == b.id,
    }
}

fn marks(flags: &[String]) -> String {
    flags.iter().map(|f| format!(" ({f})")).collect()
}

/// crm_mon's "* db\t(ocf:heartbeat:Dummy):\t Started node1 (unmanaged)".
fn primitive_line(v: &ResourceView) -> String {
    let on = if v.nodes.is_empty() {
        String::new()
    } else {
        format!(" {}", v.nodes.join(" "))
    };
    format!(
        "* {}\t({}):\t {}{on}{}\n",
        v.id,
        v.agent,
        v.role,
        marks(&v.flags)
    )
}

/// "* Clone Set: db-clone [db] (promotable):" with one line per role
/// ("* Promoted: [ node1 ]"), and the nodes where no instance runs
/// ("* Stopped: [ node2 ]"); a cloned group's lines name the member.
fn clone_set(clone: &str, views: &[ResourceView], nodes: &[&str]) -> String {
    let Some(first) = views.first() else {
        return String::new();
    };
    let child = first.group.as_deref().unwrap_or(&first.id);
    let mut out = format!(
        "  * Clone Set: {clone} [{child}]{}{}:\n",
        if first.promotable {
            " (promotable)"
        } else {
            ""
        },
        marks(&first.flags)
    );
    let members = {
        let mut ids: Vec<&str> = views.iter().map(|v| v.id.as_str()).collect();
        ids.dedup();
        ids
    };
    for member in members {
        let prefix = if first.group.is_some() {
            format!("{member}: ")
        } else {
            String::new()
        };
        let mine: Vec<&ResourceView> = views.iter().filter(|v| v.id == member).collect();
        for v in mine.iter().filter(|v| !v.nodes.is_empty()) {
            let blocked = if v.flags.iter().any(|f| f == "blocked") {
                " (blocked)"
            } else {
                ""
            };
            out.push_str(&format!(
                "    * {prefix}{}: [ {} ]{blocked}\n",
                v.role,
                v.nodes.join(" ")
            ));
        }
        let stopped: Vec<&str> = nodes
            .iter()
            .copied()
            .filter(|n| !mine.iter().any(|v| v.nodes.iter().any(|m| m == n)))
            .collect();
        if !stopped.is_empty() {
            let disabled = if first.flags.iter().any(|f| f == "disabled") {
                " (disabled)"
            } else {
                ""
            };
            out.push_str(&format!(
                "    * {prefix}Stopped{disabled}: [ {} ]\n",
                stopped.join(" ")
            ));
        }
    }
    out
}

/// crm_mon's "Failed Resource Actions:": "* web_monitor_2000 on node1 'not
/// running' (7): exitreason='…', last-rc-change='…'", with when it clears;
/// a failure the resource recovered from stays listed with its fail count.
pub fn failed_actions(report: &StatusReport, now: i64) -> String {
    if report.failed_actions.is_empty() {
        return String::new();
    }
    let mut out = String::from("Failed Resource Actions:\n");
    for f in &report.failed_actions {
        out.push_str(&failed_action(f, now));
    }
    out
}

fn failed_action(f: &FailedActionView, now: i64) -> String {
    let what = if f.recovered {
        "failed, recovered since".to_string()
    } else {
        format!(
            "'{}' ({})",
            crate::executor::rc::OcfRc(f.rc).meaning(),
            f.rc
        )
    };
    let mut parts = Vec::new();
    if f.fail_count > 0 {
        let count = if f.fail_count == u32::MAX {
            "INFINITY".to_string()
        } else {
            f.fail_count.to_string()
        };
        parts.push(format!("fail-count={count}"));
    }
    if let Some(t) = f.at {
        parts.push(format!("last-rc-change='{}'", utc_seconds(t)));
    }
    parts.push(match f.clears_at {
        Some(t) if t > now => format!("clears in {}s (failure-timeout)", t - now),
        Some(_) => "expired, forgotten at the next check".to_string(),
        None => "stays until `paceline resource cleanup`".to_string(),
    });
    let mut line = format!(
        "  * {}_{}_{} on {} {what}: {}\n",
        f.resource,
        f.operation,
        f.interval_ms,
        f.node,
        parts.join(", ")
    );
    if let Some(why) = &f.exit_reason {
        // The agent's own words, one line each, as crm_mon's exitreason.
        for l in why.lines().filter(|l| !l.trim().is_empty()) {
            line.push_str(&format!("      {}\n", l.trim()));
        }
    }
    line
}
