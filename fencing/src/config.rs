//! The fencing configuration as typed values: the cluster file is read by
//! paceline's config module (the one reader of it, with the one duration
//! grammar), which hands this crate [`FencingSection`] and [`DeviceConfig`]
//! with durations already parsed. Nothing here reads text durations.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::topology::Level;

/// Device settings that are durations, for every device type: the config
/// module parses these and puts them in [`DeviceConfig::durations`].
pub const DURATION_KEYS: &[&str] = &["power_timeout", "poll_interval", "watchdog_timeout"];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
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

#[derive(Debug, Clone, PartialEq)]
pub struct FencingSection {
    pub enabled: bool,
    /// "reboot" or "off".
    pub action: String,
    pub delay: Option<Duration>,
    pub delay_max: Option<Duration>,
    pub priority_delay: Option<Duration>,
    pub devices: Vec<DeviceConfig>,
    pub levels: Vec<LevelConfig>,
}

impl Default for FencingSection {
    fn default() -> Self {
        FencingSection {
            enabled: false,
            action: "reboot".into(),
            delay: None,
            delay_max: None,
            priority_delay: None,
            devices: Vec::new(),
            levels: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceConfig {
    pub id: String,
    pub kind: String,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    /// Static delay before this device fences (settles two-node races:
    /// give it to the device that fences the node which should survive).
    pub delay: Option<Duration>,
    /// The device-specific settings of [`DURATION_KEYS`] that are given.
    pub durations: BTreeMap<String, Duration>,
    /// Other device-specific keys (url, host, username, password_file, ...).
    /// A plain `password` is kept here too; callers must not print this map.
    pub settings: BTreeMap<String, toml::Value>,
}

impl DeviceConfig {
    /// Whether `key` is a setting of this device (plain or a duration).
    pub fn has(&self, key: &str) -> bool {
        self.settings.contains_key(key) || self.durations.contains_key(key)
    }

    /// The keys given, plain and durations.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.settings
            .keys()
            .chain(self.durations.keys())
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LevelConfig {
    pub target: String,
    pub index: u32,
    pub devices: Vec<String>,
}

impl FencingSection {
    /// Device ids are unique and every level names defined devices (the
    /// config module reports both with file:line:column; this is the
    /// crate's own guard for sections built elsewhere).
    pub fn validate(&self) -> Result<(), ConfigError> {
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

    fn sample() -> FencingSection {
        FencingSection {
            enabled: true,
            action: "off".into(),
            devices: vec![DeviceConfig {
                id: "bmc-node1".into(),
                kind: "redfish".into(),
                timeout: Some(Duration::from_secs(20)),
                ..Default::default()
            }],
            levels: vec![LevelConfig {
                target: "node1".into(),
                index: 1,
                devices: vec!["bmc-node1".into()],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn levels_and_devices_are_found() {
        let f = sample();
        f.validate().unwrap();
        assert_eq!(f.device("bmc-node1").unwrap().kind, "redfish");
        assert_eq!(f.levels_for("node1")[0].devices, vec!["bmc-node1"]);
    }

    #[test]
    fn unknown_device_in_level_is_named() {
        let mut f = sample();
        f.levels[0].devices = vec!["pdu".into()];
        let err = f.validate().unwrap_err().to_string();
        assert!(err.contains("\"pdu\""), "{err}");
    }
}
