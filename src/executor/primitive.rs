//! The `[[primitive]]` entries of the cluster TOML, read leniently (other
//! keys ignored) until the config module provides the unified model.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::ExecError;
use super::ocf::{AgentId, DEFAULT_TIMEOUT, OcfAction};

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Float(f64),
}

impl Value {
    pub fn as_env(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Float(f) => f.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct OpConfig {
    pub name: String,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PrimitiveConfig {
    pub id: String,
    pub agent: String,
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    #[serde(default)]
    pub meta: BTreeMap<String, Value>,
    #[serde(default)]
    pub ops: Vec<OpConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClusterSection {
    pub state_dir: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExecutorConfig {
    #[serde(default)]
    pub cluster: ClusterSection,
    #[serde(default)]
    pub primitive: Vec<PrimitiveConfig>,
}

/// The primitives of a cluster file; when the whole file loads, with the
/// operations the loader made of them (see [`ExecutorConfig::use_model_ops`]).
pub fn load_primitives(path: &Path) -> Result<ExecutorConfig, ExecError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExecError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut cfg: ExecutorConfig = toml::from_str(&text).map_err(|e| ExecError::Config {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if let Ok(model) = crate::config::load_config_str(&text, &path.display().to_string()) {
        cfg.use_model_ops(&model);
    }
    Ok(cfg)
}

impl ExecutorConfig {
    /// Takes each primitive's operations from the loaded model instead of
    /// the text: the loader derives the interval of a monitor written
    /// without one and adds monitors under a failover_budget
    /// (`config::timers`), and the executor must run the same ones.
    pub fn use_model_ops(&mut self, model: &crate::model::ClusterConfig) {
        for p in &mut self.primitive {
            if let Some(m) = model.primitive(&p.id) {
                p.ops = m
                    .operations
                    .iter()
                    .map(|o| OpConfig {
                        name: o.name.clone(),
                        interval: (o.interval_ms > 0).then(|| format!("{}ms", o.interval_ms)),
                        timeout: o.timeout_ms.map(|t| format!("{t}ms")),
                        role: o.role.map(|r| r.name().to_string()),
                    })
                    .collect();
            }
        }
    }
}

fn duration(text: &str) -> Result<Duration, ExecError> {
    crate::config::parse_duration(text).map_err(|e| ExecError::BadDuration(e.to_string()))
}

impl PrimitiveConfig {
    /// The action as configured: timeout and interval from the matching op
    /// (a monitor with an interval is the recurring one; `probe` is a monitor
    /// with interval 0).
    pub fn action(&self, action: &str) -> Result<OcfAction, ExecError> {
        let agent = AgentId::parse(&self.agent)?;
        let (name, recurring) = match action {
            "probe" => ("monitor", false),
            a => (a, a == "monitor"),
        };
        let op = self.ops.iter().find(|o| {
            o.name == name && (!recurring || o.interval.as_deref().is_some_and(|i| i != "0"))
        });
        let timeout = match op.and_then(|o| o.timeout.as_deref()) {
            Some(t) => duration(t)?,
            None => DEFAULT_TIMEOUT,
        };
        let interval = match op.and_then(|o| o.interval.as_deref()) {
            Some(i) if recurring => duration(i)?,
            _ => Duration::ZERO,
        };
        let mut a = OcfAction::new(&self.id, agent, name);
        a.timeout = timeout;
        a.interval = interval;
        a.params = self
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.as_env()))
            .collect();
        a.meta = self
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), v.as_env()))
            .collect();
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_primitives_ignoring_other_keys() {
        let cfg: ExecutorConfig = toml::from_str(
            r#"
[cluster]
name = "c"
[[node]]
name = "n1"
id = 1
[[primitive]]
id = "d"
agent = "ocf:heartbeat:Dummy"
params = { fake = "x", n = 3 }
ops = [ { name = "monitor", interval = "10s", timeout = "5s" }, { name = "start", timeout = "7s" } ]
"#,
        )
        .unwrap();
        let p = &cfg.primitive[0];
        let m = p.action("monitor").unwrap();
        assert_eq!(m.interval, Duration::from_secs(10));
        assert_eq!(m.timeout, Duration::from_secs(5));
        assert_eq!(m.params["n"], "3");
        let probe = p.action("probe").unwrap();
        assert_eq!(probe.interval, Duration::ZERO);
        assert_eq!(p.action("start").unwrap().timeout, Duration::from_secs(7));
    }

    #[test]
    fn runs_the_monitors_the_loader_derived() {
        let text = r#"
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
"#;
        let mut cfg: ExecutorConfig = toml::from_str(text).unwrap();
        let model = crate::config::load_config_str(text, "t.toml").unwrap();
        cfg.use_model_ops(&model);
        let added = cfg.primitive[0].action("monitor").unwrap();
        assert_eq!(added.interval, Duration::from_secs(2));
        assert_eq!(added.timeout, DEFAULT_TIMEOUT);
        let derived = cfg.primitive[1].action("monitor").unwrap();
        assert_eq!(derived.interval, Duration::from_secs(2));
        assert_eq!(derived.timeout, Duration::from_secs(5));
        assert_eq!(
            cfg.primitive[1].action("probe").unwrap().interval,
            Duration::ZERO
        );
    }
}
