//! Watchdog self-fencing, the device side: arming `/dev/watchdog` (or any
//! path speaking the Linux watchdog API) with a timeout, feeding it while the
//! sans-IO policy in `watchdog_policy` says this node may keep running, and
//! the magic close that disarms it on a clean shutdown.
//!
//! Also the `type = "watchdog"` fence device a survivor runs against a lost
//! peer: it cannot switch anything off, it waits until the peer's watchdog
//! must have fired (twice its timeout since the loss) and then reports Off.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::DeviceConfig;
use crate::device::{ActionReport, DeviceError, FenceDevice, PowerState};
use crate::topology::FenceAction;
use crate::watchdog_policy::{NodeHealth, should_feed, watchdog_fenced_at};

// Linux <linux/watchdog.h>: _IOR('W', 5, int), _IOWR('W', 6, int), _IOR('W', 7, int).
const WDIOC_KEEPALIVE: libc::c_ulong = 0x8004_5705;
const WDIOC_SETTIMEOUT: libc::c_ulong = 0xC004_5706;
const WDIOC_GETTIMEOUT: libc::c_ulong = 0x8004_5707;

#[derive(Debug, thiserror::Error)]
pub enum WatchdogError {
    #[error(
        "cannot open watchdog {path}: {source}; is the driver loaded (e.g. softdog or the board's) and is no other program (sbd, watchdog) holding it?"
    )]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("watchdog {path}: {what} failed: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("watchdog timeout must be between 1 and 3600 seconds, not {0:?}")]
    Timeout(Duration),
}

/// An armed watchdog. Dropping it without `disarm` leaves it armed on
/// purpose: a crashed daemon must still get its node reset.
#[derive(Debug)]
pub struct Watchdog {
    file: Option<File>,
    path: PathBuf,
    timeout: Duration,
    pings: u64,
}

impl Watchdog {
    /// Opens (which arms) the device and sets its timeout. The driver may
    /// round it; `timeout()` tells what it accepted.
    pub fn arm(path: &Path, timeout: Duration) -> Result<Watchdog, WatchdogError> {
        let secs = timeout.as_secs();
        if !(1..=3600).contains(&secs) {
            return Err(WatchdogError::Timeout(timeout));
        }
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|source| WatchdogError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let mut wd = Watchdog {
            file: Some(file),
            path: path.to_path_buf(),
            timeout,
            pings: 0,
        };
        let mut value: libc::c_int = secs as libc::c_int;
        wd.ioctl(WDIOC_SETTIMEOUT, &mut value, "WDIOC_SETTIMEOUT")?;
        let mut accepted: libc::c_int = 0;
        wd.ioctl(WDIOC_GETTIMEOUT, &mut accepted, "WDIOC_GETTIMEOUT")?;
        if accepted > 0 {
            wd.timeout = Duration::from_secs(accepted as u64);
        }
        wd.feed()?;
        Ok(wd)
    }

    fn ioctl(
        &mut self,
        request: libc::c_ulong,
        value: &mut libc::c_int,
        what: &'static str,
    ) -> Result<(), WatchdogError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        // SAFETY: the three watchdog requests used here take a pointer to
        // one int, which `value` is, for the duration of the call.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as _, value as *mut libc::c_int) };
        if rc < 0 {
            return Err(WatchdogError::Io {
                path: self.path.clone(),
                what,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn pings(&self) -> u64 {
        self.pings
    }

    /// One keepalive.
    pub fn feed(&mut self) -> Result<(), WatchdogError> {
        let mut dummy: libc::c_int = 0;
        self.ioctl(WDIOC_KEEPALIVE, &mut dummy, "WDIOC_KEEPALIVE")?;
        self.pings += 1;
        Ok(())
    }

    /// Clean shutdown: the magic 'V' then close disarms drivers without
    /// nowayout. With nowayout the node will still be reset; that is the
    /// operator's choice in the kernel, not ours to undo.
    pub fn disarm(mut self) -> Result<(), WatchdogError> {
        if let Some(mut file) = self.file.take() {
            file.write_all(b"V").map_err(|source| WatchdogError::Io {
                path: self.path.clone(),
                what: "magic close",
                source,
            })?;
        }
        Ok(())
    }
}

/// What one tick of the feeder did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOutcome {
    Fed,
    /// The policy refused: the node is on its way to being reset.
    Starved,
}

/// Feeds an armed watchdog on each tick only while the policy allows it.
/// The caller ticks at most every timeout/3 so one late tick is harmless.
#[derive(Debug)]
pub struct Feeder {
    watchdog: Watchdog,
    starving_since: Option<Instant>,
}

impl Feeder {
    pub fn new(watchdog: Watchdog) -> Feeder {
        Feeder {
            watchdog,
            starving_since: None,
        }
    }

    /// The interval at which to tick.
    pub fn tick_interval(&self) -> Duration {
        (self.watchdog.timeout() / 3).max(Duration::from_millis(100))
    }

    pub fn tick(&mut self, health: NodeHealth, now: Instant) -> Result<FeedOutcome, WatchdogError> {
        if should_feed(health) {
            self.watchdog.feed()?;
            self.starving_since = None;
            Ok(FeedOutcome::Fed)
        } else {
            self.starving_since.get_or_insert(now);
            Ok(FeedOutcome::Starved)
        }
    }

    pub fn starving_since(&self) -> Option<Instant> {
        self.starving_since
    }

    pub fn watchdog(&self) -> &Watchdog {
        &self.watchdog
    }

    pub fn disarm(self) -> Result<(), WatchdogError> {
        self.watchdog.disarm()
    }
}

/// The survivor's side of watchdog fencing for one target.
#[derive(Debug)]
pub struct WatchdogFence {
    id: String,
    /// The target's watchdog timeout (every node uses the cluster's).
    watchdog_timeout: Duration,
    /// The local device path, checked by `monitor`.
    device: PathBuf,
    /// When the target was lost; when run by hand, the moment of the call.
    lost_at: Option<Instant>,
}

const ACCEPTED_KEYS: &[&str] = &["device", "watchdog_timeout"];

impl WatchdogFence {
    pub fn from_config(cfg: &DeviceConfig) -> Result<WatchdogFence, DeviceError> {
        let bad = |msg: String| DeviceError::new(format!("device {:?}: {msg}", cfg.id));
        if let Some(key) = cfg.keys().find(|k| !ACCEPTED_KEYS.contains(k)) {
            return Err(bad(format!(
                "unknown key `{key}` for a watchdog device; accepted keys: {}",
                ACCEPTED_KEYS.join(", ")
            )));
        }
        let text = |key: &str| match cfg.settings.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad(format!("`{key}` must be a string, not {other}"))),
        };
        let watchdog_timeout = match cfg.durations.get("watchdog_timeout") {
            Some(v) => *v,
            None => {
                return Err(bad(
                    "set `watchdog_timeout = \"5s\"`: the survivor waits twice this long before it treats the node as fenced".into(),
                ));
            }
        };
        if watchdog_timeout < Duration::from_secs(1) {
            return Err(bad("watchdog_timeout must be at least 1s".into()));
        }
        Ok(WatchdogFence {
            id: cfg.id.clone(),
            watchdog_timeout,
            device: PathBuf::from(text("device")?.unwrap_or_else(|| "/dev/watchdog".into())),
            lost_at: None,
        })
    }

    /// Sets when the target was lost, so the wait counts from then.
    pub fn lost_at(&mut self, at: Instant) {
        self.lost_at = Some(at);
    }

    pub fn watchdog_timeout(&self) -> Duration {
        self.watchdog_timeout
    }
}

impl FenceDevice for WatchdogFence {
    fn id(&self) -> &str {
        &self.id
    }

    fn execute(&mut self, action: FenceAction) -> Result<ActionReport, DeviceError> {
        match action {
            FenceAction::Off | FenceAction::Reboot => {
                let start = Instant::now();
                let lost = self.lost_at.unwrap_or(start);
                let deadline = lost + (watchdog_fenced_at(Duration::ZERO, self.watchdog_timeout));
                std::thread::sleep(deadline.saturating_duration_since(start));
                Ok(ActionReport {
                    power: Some(PowerState::Off),
                    transcript: vec![format!(
                        "waited until 2 x watchdog_timeout ({:?}) after the loss: the node's own watchdog has reset it (self-fencing, nothing was switched)",
                        self.watchdog_timeout
                    )],
                })
            }
            FenceAction::On => Err(DeviceError::new(format!(
                "device {:?}: a watchdog cannot power a node on; start it by hand or through its BMC",
                self.id
            ))),
            FenceAction::Status => Ok(ActionReport {
                power: Some(PowerState::Unknown),
                transcript: vec!["a watchdog cannot report a remote node's power".into()],
            }),
            FenceAction::Monitor => {
                if self.device.exists() {
                    Ok(ActionReport {
                        power: None,
                        transcript: vec![format!("{} is present", self.device.display())],
                    })
                } else {
                    Err(DeviceError::new(format!(
                        "device {:?}: {} does not exist on this node; load the watchdog driver (e.g. `modprobe softdog`) or set `device`",
                        self.id,
                        self.device.display()
                    )))
                }
            }
        }
    }
}
