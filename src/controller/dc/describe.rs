//! How the DC puts its decisions and failures into words: the plan's
//! changes in `Notice::TransitionStarted` (what `paceline status` and the
//! daemon's log show) and the text of a failed action.

use crate::controller::ActionResult;
use crate::controller::patch::op_status;
use crate::scheduler::{Change, Plan};

/// One decision of the plan, as the log shows it.
fn describe_change(c: &Change) -> String {
    let role = |r: Option<crate::model::Role>| r.map(|r| format!(" ({r:?})")).unwrap_or_default();
    let place = match (&c.from, &c.to) {
        (Some(a), Some(b)) if a != b => {
            format!("{a}{} -> {b}{}", role(c.from_role), role(c.to_role))
        }
        (Some(a), _) | (None, Some(a)) => format!(
            "on {a}{}{}",
            role(c.from_role),
            match (c.from_role, c.to_role) {
                (Some(x), Some(y)) if x != y => format!(" -> {y:?}"),
                (None, Some(y)) => format!(" -> {y:?}"),
                _ => String::new(),
            }
        ),
        (None, None) => String::new(),
    };
    let mut s = format!("{} {} {place}", c.verb.name(), c.subject);
    if let Some(why) = &c.reason {
        s.push_str(": ");
        s.push_str(why);
    }
    s.trim_end().to_string()
}

pub(super) fn failure_text(r: &ActionResult) -> String {
    let what = if r.op_status == op_status::TIMED_OUT {
        "timed out".to_string()
    } else {
        format!("rc {}", r.rc)
    };
    let mut s = format!(
        "{} of {} on {} failed ({what})",
        op_label(&r.operation, r.interval_ms),
        r.instance,
        r.node
    );
    if !r.output.is_empty() {
        s.push_str(": ");
        s.push_str(&r.output);
    }
    s
}

pub(super) fn op_label(operation: &str, interval_ms: u64) -> String {
    match (operation, interval_ms) {
        ("monitor", 0) => "probe".to_string(),
        (op, 0) => op.to_string(),
        (op, i) => format!("{op} (every {i} ms)"),
    }
}

/// The plan's changes for `Notice::TransitionStarted` (blocked ones left
/// out), and its promotion scores when it has any.
pub(in crate::controller) fn plan_changes(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| !c.blocked)
        .map(describe_change)
        .chain((!plan.promotion_scores.is_empty()).then(|| {
            let scores: Vec<String> = plan
                .promotion_scores
                .iter()
                .map(|(i, n, s)| format!("{i} on {n} {s:?}"))
                .collect();
            format!("promotion scores: {}", scores.join(", "))
        }))
        .collect()
}
