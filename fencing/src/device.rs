//! The one interface every fence device implements (native Redfish, native
//! IPMI lanplus, watchdog, external `fence_*` agent), and the dispatch from a
//! `[[fencing.device]]` table to the implementation. Devices are blocking:
//! the daemon runs them on a blocking thread, the CLI calls them directly.

use std::time::Duration;

use crate::config::DeviceConfig;
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
    Ok(cfg.timeout.unwrap_or(Duration::from_secs(20)))
}

/// A device table that cannot be turned into a device: a configuration
/// error (exit code 2 in the CLI), as opposed to a device that failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(transparent)]
pub struct InvalidDevice(pub DeviceError);

/// Builds the device a `[[fencing.device]]` table describes, wrapped so a
/// failed action is retried `retries` times (default 1).
pub fn open(cfg: &DeviceConfig) -> Result<Box<dyn FenceDevice>, DeviceError> {
    let inner: Box<dyn FenceDevice> = match cfg.kind.as_str() {
        "redfish" => Box::new(crate::redfish::RedfishDevice::from_config(cfg)?),
        "ipmi" => Box::new(crate::ipmi::IpmiDevice::from_config(cfg)?),
        "watchdog" => Box::new(crate::watchdog::WatchdogFence::from_config(cfg)?),
        "agent" => Box::new(crate::agent::AgentDevice::from_config(cfg)?),
        other => {
            return Err(DeviceError::new(format!(
                "device {:?}: unknown type {other:?}; use redfish, ipmi, watchdog or agent",
                cfg.id
            )));
        }
    };
    let retries = cfg.retries.unwrap_or(1);
    if retries == 0 {
        return Ok(inner);
    }
    Ok(Box::new(Retrying {
        inner,
        retries,
        pause: Duration::from_millis(500),
    }))
}

/// Re-runs a failed action; every attempt's error stays in the output so
/// the history shows what happened each time.
struct Retrying {
    inner: Box<dyn FenceDevice>,
    retries: u32,
    pause: Duration,
}

impl FenceDevice for Retrying {
    fn id(&self) -> &str {
        self.inner.id()
    }

    fn execute(&mut self, action: FenceAction) -> Result<ActionReport, DeviceError> {
        let mut failures: Vec<DeviceError> = Vec::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                std::thread::sleep(self.pause);
            }
            match self.inner.execute(action) {
                Ok(mut report) => {
                    if !failures.is_empty() {
                        let mut t: Vec<String> = failures
                            .iter()
                            .enumerate()
                            .map(|(i, e)| format!("attempt {} failed: {}", i + 1, e.message))
                            .collect();
                        t.push(format!("attempt {} succeeded", attempt + 1));
                        t.append(&mut report.transcript);
                        report.transcript = t;
                    }
                    return Ok(report);
                }
                Err(e) => failures.push(e),
            }
        }
        let attempts = failures.len();
        let output = failures
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut s = format!("attempt {}: {}", i + 1, e.message);
                if !e.output.is_empty() {
                    s.push('\n');
                    s.push_str(&e.output);
                }
                s
            })
            .collect::<Vec<_>>()
            .join("\n");
        let last = failures
            .pop()
            .unwrap_or_else(|| DeviceError::new("no attempt was made"));
        Err(DeviceError::with_output(
            format!("{} (after {attempts} attempts)", last.message),
            output,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Flaky {
        failures_left: u32,
        calls: u32,
    }

    impl FenceDevice for Flaky {
        fn id(&self) -> &str {
            "flaky"
        }
        fn execute(&mut self, _: FenceAction) -> Result<ActionReport, DeviceError> {
            self.calls += 1;
            if self.failures_left > 0 {
                self.failures_left -= 1;
                return Err(DeviceError::with_output("boom", "device said no"));
            }
            Ok(ActionReport {
                power: Some(PowerState::Off),
                transcript: vec!["done".into()],
            })
        }
    }

    fn retrying(failures: u32, retries: u32) -> Retrying {
        Retrying {
            inner: Box::new(Flaky {
                failures_left: failures,
                calls: 0,
            }),
            retries,
            pause: Duration::ZERO,
        }
    }

    #[test]
    fn a_failure_is_retried_and_shown() {
        let r = retrying(1, 1).execute(FenceAction::Off).unwrap();
        assert_eq!(r.transcript[0], "attempt 1 failed: boom");
        assert_eq!(r.transcript[1], "attempt 2 succeeded");
        let e = retrying(5, 2).execute(FenceAction::Off).unwrap_err();
        assert_eq!(e.message, "boom (after 3 attempts)");
        assert!(
            e.output.contains("attempt 3: boom\ndevice said no"),
            "{}",
            e.output
        );
    }
}
