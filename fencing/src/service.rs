//! The fencing service: how pacelined's controller and `paceline fence`
//! fence a node through its topology (static, random and priority delays,
//! levels in order, per-device delays, one history record per device
//! attempt), and the readiness gate's monitor of every node's first level.
//! Blocking: the daemon runs it on a blocking thread. It knows only this
//! crate's types; the caller loads the `[fencing]` section.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{DeviceConfig, FencingSection};
use crate::device::{self, ActionReport, DeviceError, InvalidDevice};
use crate::history::{self, FenceResult, HistoryRecord};
use crate::readiness::Readiness;
use crate::topology::{FenceAction, TopologyError, TopologyOutcome, fencing_delay, run_levels};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Opens and runs one device; a device table that cannot be opened is a
/// configuration error, a device that fails is a failed operation.
fn run_device(dev: &DeviceConfig, action: FenceAction) -> Result<ActionReport, RunError> {
    let mut device = device::open(dev).map_err(InvalidDevice)?;
    device.execute(action).map_err(RunError::Failed)
}

/// Why one device's run did not succeed, worded for the history and the
/// readiness blockers.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Invalid(#[from] InvalidDevice),
    #[error("{}", failure_text(.0))]
    Failed(DeviceError),
}

/// The device's message, then what it printed (if anything).
fn failure_text(e: &DeviceError) -> String {
    if e.output.is_empty() {
        e.message.clone()
    } else {
        format!("{}\n{}", e.message, e.output)
    }
}

/// The transcript of a device's run and the power state it reported.
pub fn power_text(report: &ActionReport) -> String {
    let mut out = report.transcript.join("\n");
    if let Some(power) = report.power {
        out.push_str(&format!("\npower: {power:?}"));
    }
    out
}

/// Runs `monitor` on every device of every node's first fencing level
/// (the nodes given, plus any a level targets): the gate "no resource starts
/// until each node's first level has passed a monitor".
pub fn fencing_readiness(section: &FencingSection, node_names: &[String]) -> Readiness {
    let mut nodes = node_names.to_vec();
    for l in &section.levels {
        if !nodes.contains(&l.target) {
            nodes.push(l.target.clone());
        }
    }
    let mut first_levels = BTreeMap::new();
    for node in &nodes {
        let mut levels = section.levels_for(node);
        levels.sort_by_key(|l| l.index);
        first_levels.insert(
            node.clone(),
            levels
                .first()
                .map(|l| l.devices.clone())
                .unwrap_or_default(),
        );
    }
    let mut readiness = Readiness::new(first_levels.clone());
    for (node, devices) in &first_levels {
        for id in devices {
            let res = match section.device(id) {
                Some(dev) => run_device(dev, FenceAction::Monitor)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => Err(format!("device {id:?} is not defined")),
            };
            readiness.record(node, id, res);
        }
    }
    readiness
}

/// A draw in [0, 1) for the random fencing delay; no RNG dependency needed
/// for one number per run.
fn random_unit() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed =
        (nanos as u64 ^ (std::process::id() as u64) << 32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// Every device of the target's first level answers `status` with power
/// off. Any error or any other answer is "not known to be off".
fn first_level_reports_off(section: &FencingSection, target: &str) -> bool {
    let levels = section.levels_for(target);
    let Some(first) = levels.iter().min_by_key(|l| l.index) else {
        return false;
    };
    !first.devices.is_empty()
        && first.devices.iter().all(|id| {
            section.device(id).is_some_and(|dev| {
                run_device(dev, FenceAction::Status)
                    .is_ok_and(|r| r.power == Some(crate::device::PowerState::Off))
            })
        })
}

/// A device's own `delay`, waited before it fences (not before unfencing).
fn device_delay(
    dev: &DeviceConfig,
    action: FenceAction,
    no_delay: bool,
    progress: &mut dyn FnMut(String),
) -> Result<(), RunError> {
    if action == FenceAction::On || no_delay {
        return Ok(());
    }
    if let Some(d) = dev.delay {
        if !d.is_zero() {
            progress(format!(
                "waiting {} ms (delay of device {})",
                d.as_millis(),
                dev.id
            ));
            std::thread::sleep(d);
        }
    }
    Ok(())
}

/// One fencing of one node through its topology, as `paceline fence NODE`
/// and pacelined's fencing service run it.
#[derive(Debug, Clone)]
pub struct FenceJob {
    pub target: String,
    pub action: FenceAction,
    /// Who asked, for the history (`user@host`, `pacelined@node`).
    pub requester: String,
    pub history: PathBuf,
    /// Skip the delays (an operator's --no-delay, and unfencing).
    pub no_delay: bool,
    /// The target runs the resources that matter more: it gets the
    /// priority delay (known only to the controller).
    pub target_has_priority: bool,
}

/// Waits the configured delays (static + random, priority), then runs the
/// target's levels in order, one history record per device attempt.
/// `progress` gets each step for the operator.
pub fn fence_with_topology(
    section: &FencingSection,
    job: &FenceJob,
    progress: &mut dyn FnMut(String),
) -> Result<TopologyOutcome, TopologyError> {
    let action = job.action;
    // The delays settle a race between two live nodes that each want the
    // other off. A target whose first level already reports it off (a node
    // that lost power, or lost the race) cannot race: fence it at once.
    let already_off =
        action != FenceAction::On && !job.no_delay && first_level_reports_off(section, &job.target);
    if already_off {
        progress(format!(
            "{} already reports power off: no race to settle, no fencing delay",
            job.target
        ));
    }
    let no_delay = job.no_delay || already_off;
    // Unfencing and an operator's --no-delay skip the delays, which exist
    // to settle a race between two nodes, not to slow a human down.
    if action != FenceAction::On && !no_delay {
        let delay = fencing_delay(
            section.delay.unwrap_or_default(),
            section.delay_max.unwrap_or_default(),
            section.priority_delay.unwrap_or_default(),
            job.target_has_priority,
            random_unit(),
        );
        if !delay.is_zero() {
            progress(format!("waiting {} ms (fencing delay)", delay.as_millis()));
            std::thread::sleep(delay);
        }
    }
    let node = &job.target;
    let levels = section.levels_for(node);
    let mut history_error = None;
    let outcome = run_levels(node, &levels, |device_id| {
        let start_ms = now_ms();
        let res = match section.device(device_id) {
            Some(dev) => device_delay(dev, action, no_delay, progress)
                .and_then(|()| run_device(dev, action))
                .map_err(|e| e.to_string()),
            None => Err(format!("device {device_id:?} is not defined")),
        };
        let record = HistoryRecord {
            target: node.clone(),
            device: device_id.to_string(),
            action: action.as_str().to_string(),
            requester: job.requester.clone(),
            start_ms,
            end_ms: now_ms(),
            result: if res.is_ok() {
                FenceResult::Ok
            } else {
                FenceResult::Failed
            },
            output: match &res {
                Ok(r) => power_text(r),
                Err(e) => e.clone(),
            },
        };
        if let Err(e) = history::append(&job.history, &record) {
            history_error = Some(e);
        }
        res.map(|_| ())
    });
    if let Some(e) = history_error {
        progress(format!("warning: the fencing history was not written: {e}"));
    }
    outcome
}
