//! Evaluation of rules over node attributes and the time.

use crate::model::{Attributes, BoolOp, DateOp, ExprOp, Expression, Rule, Score, ValueType};

/// Whether `rule` holds on a node with `attrs` at `now`.
pub fn eval(rule: &Rule, attrs: &Attributes, uname: &str, now: i64) -> bool {
    let mut results = rule
        .expressions
        .iter()
        .map(|e| eval_expr(e, attrs, uname, now));
    match rule.boolean_op {
        BoolOp::And => results.all(|b| b),
        BoolOp::Or => results.any(|b| b),
    }
}

/// The score a matching rule contributes on a node.
pub fn rule_score(rule: &Rule, attrs: &Attributes) -> Score {
    if let Some(a) = &rule.score_attribute {
        return attrs
            .get(a)
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
    }
    rule.score.unwrap_or_default()
}

fn eval_expr(e: &Expression, attrs: &Attributes, uname: &str, now: i64) -> bool {
    match e {
        Expression::Attr {
            attribute,
            op,
            value,
            value_type,
        } => {
            let actual: Option<String> = match attribute.as_str() {
                "#uname" => Some(uname.to_string()),
                // The scheduler puts the node id in as "#id".
                "#id" => attrs
                    .get("#id")
                    .cloned()
                    .or_else(|| Some(uname.to_string())),
                _ => attrs.get(attribute).cloned(),
            };
            match op {
                ExprOp::Defined => actual.is_some(),
                ExprOp::NotDefined => actual.is_none(),
                _ => {
                    let (Some(a), Some(v)) = (actual, value) else {
                        return matches!(op, ExprOp::Ne);
                    };
                    let ord = compare(&a, v, *value_type);
                    match op {
                        ExprOp::Eq => ord == std::cmp::Ordering::Equal,
                        ExprOp::Ne => ord != std::cmp::Ordering::Equal,
                        ExprOp::Lt => ord == std::cmp::Ordering::Less,
                        ExprOp::Gt => ord == std::cmp::Ordering::Greater,
                        ExprOp::Lte => ord != std::cmp::Ordering::Greater,
                        ExprOp::Gte => ord != std::cmp::Ordering::Less,
                        _ => false,
                    }
                }
            }
        }
        Expression::Date(d) => match d {
            DateOp::Lt { end } => now < *end,
            DateOp::Gt { start } => now > *start,
            DateOp::InRange { start, end } => {
                start.is_none_or(|s| now >= s) && end.is_none_or(|e| now <= e)
            }
            DateOp::DateSpec(spec) => {
                let days = now.div_euclid(86400);
                let secs = now.rem_euclid(86400);
                let (y, m, d) = civil_from_days(days);
                let weekday = (days + 3).rem_euclid(7) + 1; // 1 = Monday
                spec.fields.iter().all(|(k, (lo, hi))| {
                    let v = match k.as_str() {
                        "hours" => secs / 3600,
                        "minutes" => secs / 60 % 60,
                        "seconds" => secs % 60,
                        "monthdays" => d,
                        "weekdays" => weekday,
                        "months" => m,
                        "years" => y,
                        "yeardays" => days - crate::config::cib::days_from_civil(y, 1, 1) + 1,
                        _ => return true,
                    };
                    v >= *lo && v <= *hi
                })
            }
        },
        Expression::Rule(r) => eval(r, attrs, uname, now),
        // Resource expressions mean nothing for a node.
        Expression::Resource { .. } | Expression::Unsupported(_) => false,
    }
}

/// The agent a resource expression is matched against.
pub struct AgentOf<'a> {
    pub class: &'a str,
    pub provider: Option<&'a str>,
    pub agent: &'a str,
}

/// Whether `rule` (of rsc_defaults) holds for a resource with agent
/// `rsc` at `now`: resource and date expressions count; node attribute
/// expressions have no node to look at and do not hold.
pub fn eval_for_resource(rule: &Rule, rsc: &AgentOf<'_>, now: i64) -> bool {
    let one = |e: &Expression| match e {
        Expression::Resource {
            class,
            provider,
            agent,
        } => {
            class.as_deref().is_none_or(|c| c == rsc.class)
                && provider.as_deref().is_none_or(|p| Some(p) == rsc.provider)
                && agent.as_deref().is_none_or(|a| a == rsc.agent)
        }
        Expression::Rule(r) => eval_for_resource(r, rsc, now),
        Expression::Date(_) => eval_expr(e, &Attributes::new(), "", now),
        Expression::Attr { .. } | Expression::Unsupported(_) => false,
    };
    match rule.boolean_op {
        BoolOp::And => rule.expressions.iter().all(one),
        BoolOp::Or => rule.expressions.iter().any(one),
    }
}

fn compare(a: &str, b: &str, t: ValueType) -> std::cmp::Ordering {
    match t {
        ValueType::Integer => {
            // Pacemaker reads integers leniently: "3.4" is 3.
            match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
                (Ok(x), Ok(y)) => (x.trunc() as i64).cmp(&(y.trunc() as i64)),
                _ => a.cmp(b),
            }
        }
        ValueType::Number => match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
            (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
            _ => a.cmp(b),
        },
        ValueType::Version => {
            let pa: Vec<i64> = a.split('.').map(|p| p.parse().unwrap_or(0)).collect();
            let pb: Vec<i64> = b.split('.').map(|p| p.parse().unwrap_or(0)).collect();
            pa.cmp(&pb)
        }
        ValueType::String => a.cmp(b),
    }
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// rsc-pattern matching: a small regex subset (anchors, '.', '*', '+', literal text).
pub fn pattern_matches(pattern: &str, id: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = id.chars().collect();
    let anchored = p.first() == Some(&'^');
    let body = if anchored { &p[1..] } else { &p[..] };
    if anchored {
        return match_here(body, &s);
    }
    (0..=s.len()).any(|i| match_here(body, &s[i..]))
}

fn match_here(p: &[char], s: &[char]) -> bool {
    if p.is_empty() {
        return true;
    }
    if p == ['$'] {
        return s.is_empty();
    }
    if p.len() >= 2 && (p[1] == '*' || p[1] == '+') {
        let min = if p[1] == '+' { 1 } else { 0 };
        let mut i = 0;
        loop {
            if i >= min && match_here(&p[2..], &s[i..]) {
                return true;
            }
            if i < s.len() && (p[0] == '.' || p[0] == s[i]) {
                i += 1;
            } else {
                return false;
            }
        }
    }
    !s.is_empty() && (p[0] == '.' || p[0] == s[0]) && match_here(&p[1..], &s[1..])
}
