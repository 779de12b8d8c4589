//! Lenient reader of the `[fencing]` section of the cluster TOML (other keys
//! are ignored) until the main config unifies it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::topology::Level;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid cluster config: {0}")]
    Toml(#[from] toml::de::Error),
    #[error(
        "[fencing] {key} = {value:?} is not a duration; write e.g. \"500ms\", \"5s\" or \"2m\""
    )]
    Duration { key: String, value: String },
    #[error(
        "[fencing] is missing; add `[fencing]` with `enabled = true` (or `enabled = false` to run without fencing)"
    )]
    Missing,
    #[error(
        "fencing level {index} for {target:?} names unknown device {device:?}; define it with [[fencing.device]] id = {device:?}"
    )]
    UnknownDevice {
        target: String,
        index: u32,
        device: String,
    },
    #[error("fencing device id {0:?} is defined twice; device ids must be unique")]
    DuplicateDevice(String),
}

#[derive(Debug, Deserialize)]
struct ClusterFile {
    fencing: Option<FencingSection>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FencingSection {
    pub enabled: bool,
    #[serde(default = "default_action")]
    pub action: String,
    #[serde(default)]
    pub delay: Option<String>,
    #[serde(default)]
    pub delay_max: Option<String>,
    #[serde(default)]
    pub priority_delay: Option<String>,
    #[serde(default, rename = "device")]
    pub devices: Vec<DeviceConfig>,
    #[serde(default, rename = "level")]
    pub levels: Vec<LevelConfig>,
}

fn default_action() -> String {
    "reboot".to_string()
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeviceConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub retries: Option<u32>,
    /// Static delay before this device fences (settles two-node races:
    /// give it to the device that fences the node which should survive).
    #[serde(default)]
    pub delay: Option<String>,
    /// Device-specific keys (url, host, username, password_file, ...). A
    /// plain `password` is kept here too; callers must not print this map.
    #[serde(flatten)]
    pub settings: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LevelConfig {
    pub target: String,
    pub index: u32,
    pub devices: Vec<String>,
}

/// Parses "200ms", "1s", "2m", "1h" (integers only).
pub fn parse_duration(key: &str, value: &str) -> Result<Duration, ConfigError> {
    let err = || ConfigError::Duration {
        key: key.to_string(),
        value: value.to_string(),
    };
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().map_err(|_| err())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(err()),
    }
}

impl FencingSection {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let file: ClusterFile = toml::from_str(text)?;
        let section = file.fencing.ok_or(ConfigError::Missing)?;
        section.validate()?;
        Ok(section)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.devices {
            if !seen.insert(d.id.as_str()) {
                return Err(ConfigError::DuplicateDevice(d.id.clone()));
            }
        }
        for l in &self.levels {
            for dev in &l.devices {
                if !seen.contains(dev.as_str()) {
                    return Err(ConfigError::UnknownDevice {
                        target: l.target.clone(),
                        index: l.index,
                        device: dev.clone(),
                    });
                }
            }
        }
        for (key, value) in [
            ("delay", &self.delay),
            ("delay_max", &self.delay_max),
            ("priority_delay", &self.priority_delay),
        ] {
            if let Some(v) = value {
                parse_duration(key, v)?;
            }
        }
        Ok(())
    }

    pub fn device(&self, id: &str) -> Option<&DeviceConfig> {
        self.devices.iter().find(|d| d.id == id)
    }

    /// The topology levels for one target node.
    pub fn levels_for(&self, target: &str) -> Vec<Level> {
        self.levels
            .iter()
            .filter(|l| l.target == target)
            .map(|l| Level {
                index: l.index,
                devices: l.devices.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[cluster]
name = "c"
[fencing]
enabled = true
action = "off"
delay_max = "2s"
[[fencing.device]]
id = "bmc-node1"
type = "redfish"
url = "https://127.0.0.1:18443"
username = "admin"
timeout = "20s"
[[fencing.level]]
target = "node1"
index = 1
devices = ["bmc-node1"]
"#;

    #[test]
    fn parses_the_contract_shape() {
        let f = FencingSection::parse(SAMPLE).unwrap();
        assert_eq!(f.action, "off");
        assert_eq!(f.device("bmc-node1").unwrap().kind, "redfish");
        assert_eq!(f.levels_for("node1")[0].devices, vec!["bmc-node1"]);
        assert_eq!(
            parse_duration("d", "200ms").unwrap(),
            Duration::from_millis(200)
        );
        assert!(parse_duration("d", "soon").is_err());
    }

    #[test]
    fn unknown_device_in_level_is_named() {
        let text = SAMPLE.replace("devices = [\"bmc-node1\"]", "devices = [\"pdu\"]");
        let err = FencingSection::parse(&text).unwrap_err().to_string();
        assert!(err.contains("\"pdu\""), "{err}");
    }
}
