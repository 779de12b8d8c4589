//! The one interface every fence device implements (native Redfish, native
//! IPMI lanplus, watchdog, external `fence_*` agent), and the dispatch from a
//! `[[fencing.device]]` table to the implementation. Devices are blocking:
//! the daemon runs them on a blocking thread, the CLI calls them directly.

use std::time::Duration;

use crate::config::{DeviceConfig, parse_duration};
use crate::topology::FenceAction;

/// The power state a device reports for its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    On,
    Off,
    Unknown,
}

/// What a successful action did: the verified power state afterwards (when
/// the device can tell) and a human-readable transcript of the steps taken
/// (requests sent, answers, polls), never containing a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionReport {
    pub power: Option<PowerState>,
    pub transcript: Vec<String>,
}

/// A failed action: a message that says what went wrong and what to check,
/// plus whatever the device or agent printed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct DeviceError {
    pub message: String,
    pub output: String,
}

impl DeviceError {
    pub fn new(message: impl Into<String>) -> Self {
        DeviceError {
            message: message.into(),
            output: String::new(),
        }
    }

    pub fn with_output(message: impl Into<String>, output: impl Into<String>) -> Self {
        DeviceError {
            message: message.into(),
            output: output.into(),
        }
    }
}

pub trait FenceDevice: Send {
    /// The configured device id, for messages and history.
    fn id(&self) -> &str;

    /// Performs one action. `Off`, `On` and `Reboot` succeed only once the
    /// device has confirmed the resulting power state; `Status` succeeds with
    /// the power state; `Monitor` succeeds when the device is reachable and
    /// the credentials work.
    fn execute(&mut self, action: FenceAction) -> Result<ActionReport, DeviceError>;
}

/// The per-action timeout of a device (`timeout = "20s"`, default 20 s).
pub fn device_timeout(cfg: &DeviceConfig) -> Result<Duration, DeviceError> {
    match &cfg.timeout {
        Some(t) => parse_duration("timeout", t).map_err(|e| DeviceError::new(e.to_string())),
        None => Ok(Duration::from_secs(20)),
    }
}

/// Builds the device a `[[fencing.device]]` table describes.
pub fn open(cfg: &DeviceConfig) -> Result<Box<dyn FenceDevice>, DeviceError> {
    match cfg.kind.as_str() {
        "redfish" => Ok(Box::new(crate::redfish::RedfishDevice::from_config(cfg)?)),
        "ipmi" => Ok(Box::new(crate::ipmi::IpmiDevice::from_config(cfg)?)),
        "watchdog" => Ok(Box::new(crate::watchdog::WatchdogFence::from_config(cfg)?)),
        "agent" => Err(DeviceError::new(format!(
            "device {:?}: external agents are run through agent::run_agent for now",
            cfg.id
        ))),
        other => Err(DeviceError::new(format!(
            "device {:?}: unknown type {other:?}; use redfish, ipmi, watchdog or agent",
            cfg.id
        ))),
    }
}
