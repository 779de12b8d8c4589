//! Fencing topology: per target node, ordered levels of devices. A level
//! succeeds only when every device in it succeeds; on any failure the next
//! level is tried. Kept free of I/O so the controller and the simulator can
//! drive it: the caller supplies the device runner, the clock-free delay
//! inputs and the random draw.

use std::time::Duration;

/// What the fencing operation asks a device to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceAction {
    Off,
    On,
    Reboot,
    Status,
    Monitor,
}

impl FenceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FenceAction::Off => "off",
            FenceAction::On => "on",
            FenceAction::Reboot => "reboot",
            FenceAction::Status => "status",
            FenceAction::Monitor => "monitor",
        }
    }
}

/// One level of the topology for a target node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub index: u32,
    pub devices: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopologyError {
    #[error(
        "no fencing level is configured for node {0:?}; add a [[fencing.level]] with target = {0:?}"
    )]
    NoLevels(String),
    #[error(
        "fencing level {index} for node {target:?} lists no devices; add at least one device id"
    )]
    EmptyLevel { target: String, index: u32 },
    #[error("every fencing level for node {target:?} failed: {failures:?}")]
    AllLevelsFailed {
        target: String,
        failures: Vec<(u32, String, String)>,
    },
}

/// The outcome of one successful topology run: which level did it and the
/// failures of the levels tried before it (level index, device, reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyOutcome {
    pub level: u32,
    pub earlier_failures: Vec<(u32, String, String)>,
}

/// Runs the levels in index order. `run_device` performs one device action and
/// returns `Err(reason)` on failure. Devices after the first failing one in a
/// level are skipped: the level has already failed and powering other feeds
/// off would only leave the node half-fenced.
pub fn run_levels<F>(
    target: &str,
    levels: &[Level],
    mut run_device: F,
) -> Result<TopologyOutcome, TopologyError>
where
    F: FnMut(&str) -> Result<(), String>,
{
    if levels.is_empty() {
        return Err(TopologyError::NoLevels(target.to_string()));
    }
    let mut ordered: Vec<&Level> = levels.iter().collect();
    ordered.sort_by_key(|l| l.index);
    let mut failures = Vec::new();
    for level in ordered {
        if level.devices.is_empty() {
            return Err(TopologyError::EmptyLevel {
                target: target.to_string(),
                index: level.index,
            });
        }
        let mut level_ok = true;
        for device in &level.devices {
            if let Err(reason) = run_device(device) {
                failures.push((level.index, device.clone(), reason));
                level_ok = false;
                break;
            }
        }
        if level_ok {
            return Ok(TopologyOutcome {
                level: level.index,
                earlier_failures: failures,
            });
        }
    }
    Err(TopologyError::AllLevelsFailed {
        target: target.to_string(),
        failures,
    })
}

/// Delay before fencing, so that in a two-node split exactly one side shoots
/// first. `random_unit` is a draw in [0, 1) supplied by the caller (seeded in
/// the simulator). The node that runs the higher-priority resources gets the
/// head start: its victim waits the extra `priority_delay`, so the survivor
/// is the node that matters more.
pub fn fencing_delay(
    static_delay: Duration,
    delay_max: Duration,
    priority_delay: Duration,
    target_has_higher_priority: bool,
    random_unit: f64,
) -> Duration {
    let unit = if random_unit.is_finite() {
        random_unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let random = delay_max.mul_f64(unit);
    let priority = if target_has_higher_priority {
        priority_delay
    } else {
        Duration::ZERO
    };
    static_delay + random + priority
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(index: u32, devices: &[&str]) -> Level {
        Level {
            index,
            devices: devices.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn first_level_failure_falls_through_to_second() {
        let levels = vec![lv(2, &["pdu-a", "pdu-b"]), lv(1, &["bmc"])];
        let mut ran = Vec::new();
        let out = run_levels("node1", &levels, |d| {
            ran.push(d.to_string());
            if d == "bmc" {
                Err("unreachable".into())
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(out.level, 2);
        assert_eq!(ran, vec!["bmc", "pdu-a", "pdu-b"]);
        assert_eq!(out.earlier_failures.len(), 1);
    }

    #[test]
    fn a_level_needs_all_devices() {
        let levels = vec![lv(1, &["a", "b"])];
        let err = run_levels("n", &levels, |d| {
            if d == "b" { Err("x".into()) } else { Ok(()) }
        })
        .unwrap_err();
        assert!(matches!(err, TopologyError::AllLevelsFailed { .. }));
    }

    #[test]
    fn no_levels_is_a_clear_error() {
        let err = run_levels("n", &[], |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("[[fencing.level]]"));
    }

    #[test]
    fn delay_adds_static_random_and_priority() {
        let s = Duration::from_secs(1);
        let m = Duration::from_secs(4);
        let p = Duration::from_secs(10);
        assert_eq!(fencing_delay(s, m, p, false, 0.5), Duration::from_secs(3));
        assert_eq!(fencing_delay(s, m, p, true, 0.0), Duration::from_secs(11));
        assert_eq!(fencing_delay(s, m, p, false, f64::NAN), s);
    }
}
