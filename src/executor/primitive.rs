//! The `[[primitive]]` entries of the cluster TOML, read leniently (other
//! keys ignored) until the config module provides the unified model.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::ExecError;
use super::duration::parse_duration;
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

pub fn load_primitives(path: &Path) -> Result<ExecutorConfig, ExecError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExecError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ExecError::Config {
        path: path.display().to_string(),
        message: e.to_string(),
    })
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
            Some(t) => parse_duration(t)?,
            None => DEFAULT_TIMEOUT,
        };
        let interval = match op.and_then(|o| o.interval.as_deref()) {
            Some(i) if recurring => parse_duration(i)?,
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
}
