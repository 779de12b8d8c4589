//! The action a configured primitive runs, from the model (the config
//! module is the one reader of the cluster file; the executor reads no
//! text): the agent, its parameters and meta attributes, and the op's
//! timeout and interval as the loader made them (derived monitor intervals
//! and added monitors included, so the executor runs what the scheduler
//! plans).

use std::time::Duration;

use super::ExecError;
use super::ocf::{AgentId, DEFAULT_TIMEOUT, OcfAction};
use crate::model::Primitive;

/// The action `action` of `p`: a monitor with an interval is the
/// recurring one; `probe` is a monitor with interval 0.
pub fn action(p: &Primitive, action: &str) -> Result<OcfAction, ExecError> {
    let agent = AgentId::parse(&p.agent_spec())?;
    let (name, recurring) = match action {
        "probe" => ("monitor", false),
        a => (a, a == "monitor"),
    };
    let op = p
        .operations
        .iter()
        .find(|o| o.name == name && (!recurring || o.interval_ms > 0));
    let mut a = OcfAction::new(&p.id, agent, name);
    a.timeout = op
        .and_then(|o| o.timeout_ms)
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    a.interval = match op {
        Some(o) if recurring => Duration::from_millis(o.interval_ms),
        _ => Duration::ZERO,
    };
    a.params = p.params.clone().into_iter().collect();
    a.meta = p.meta.raw.clone().into_iter().collect();
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(text: &str) -> crate::model::ClusterConfig {
        crate::config::load_config_str(text, "t.toml").unwrap()
    }

    #[test]
    fn ops_params_and_probe() {
        let m = model(
            r#"
[cluster]
name = "c"
[fencing]
enabled = false
[[node]]
name = "n1"
id = 1
[[primitive]]
id = "d"
agent = "ocf:heartbeat:Dummy"
params = { fake = "x", n = 3 }
ops = [ { name = "monitor", interval = "10s", timeout = "5s" }, { name = "start", timeout = "7s" } ]
"#,
        );
        let p = m.primitive("d").unwrap();
        let mon = action(p, "monitor").unwrap();
        assert_eq!(mon.interval, Duration::from_secs(10));
        assert_eq!(mon.timeout, Duration::from_secs(5));
        assert_eq!(mon.params["n"], "3");
        assert_eq!(action(p, "probe").unwrap().interval, Duration::ZERO);
        assert_eq!(action(p, "start").unwrap().timeout, Duration::from_secs(7));
    }

    #[test]
    fn runs_the_monitors_the_loader_derived() {
        let m = model(
            r#"
failover_budget = "4s"
[cluster]
name = "c"
[fencing]
enabled = false
[[node]]
name = "n1"
id = 1
[[primitive]]
id = "d"
agent = "ocf:heartbeat:Dummy"
[[primitive]]
id = "e"
agent = "ocf:heartbeat:Dummy"
ops = [ { name = "monitor", timeout = "5s" } ]
"#,
        );
        let added = action(m.primitive("d").unwrap(), "monitor").unwrap();
        assert_eq!(added.interval, Duration::from_secs(2));
        assert_eq!(added.timeout, DEFAULT_TIMEOUT);
        let e = m.primitive("e").unwrap();
        let derived = action(e, "monitor").unwrap();
        assert_eq!(derived.interval, Duration::from_secs(2));
        assert_eq!(derived.timeout, Duration::from_secs(5));
        assert_eq!(action(e, "probe").unwrap().interval, Duration::ZERO);
    }
}
