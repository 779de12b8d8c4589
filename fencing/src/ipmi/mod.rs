//! Native IPMI-over-LAN fence device (IPMI 2.0, RMCP+ "lanplus"): chassis
//! power off/on/cycle through an authenticated, encrypted session, and a
//! bounded poll of Get Chassis Status so success means the BMC reports the
//! new state.

pub mod crypto;
pub mod packet;
pub mod session;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::DeviceConfig;
use crate::device::{ActionReport, DeviceError, FenceDevice, PowerState, device_timeout};
use crate::secret::{Secret, read_secret_file};
use crate::topology::FenceAction;
use crypto::CipherSuite;
use session::{IpmiError, Privilege, Session, SessionParams, cmd, netfn};

const ACCEPTED_KEYS: &[&str] = &[
    "host",
    "port",
    "username",
    "password",
    "password_file",
    "cipher_suite",
    "privilege",
    "power_timeout",
    "poll_interval",
    "reboot_method",
];

/// Chassis Control values.
mod control {
    pub const POWER_DOWN: u8 = 0x00;
    pub const POWER_UP: u8 = 0x01;
    pub const POWER_CYCLE: u8 = 0x02;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootMethod {
    /// Power down, verified off, power up, verified on.
    OnOff,
    /// One power cycle request; only the final on is verified.
    Cycle,
}

pub struct IpmiDevice {
    id: String,
    host: String,
    port: u16,
    username: String,
    password: Secret,
    suite: CipherSuite,
    privilege: Privilege,
    timeout: Duration,
    retries: u32,
    power_timeout: Duration,
    poll_interval: Duration,
    reboot_method: RebootMethod,
}

impl std::fmt::Debug for IpmiDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpmiDevice")
            .field("id", &self.id)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl IpmiDevice {
    pub fn from_config(cfg: &DeviceConfig) -> Result<Self, DeviceError> {
        let id = cfg.id.clone();
        let bad = |msg: String| DeviceError::new(format!("device {id:?}: {msg}"));
        if let Some(key) = cfg.keys().find(|k| !ACCEPTED_KEYS.contains(k)) {
            return Err(bad(format!(
                "unknown key `{key}` for an ipmi device; accepted keys: {}",
                ACCEPTED_KEYS.join(", ")
            )));
        }
        let text = |key: &str| -> Result<Option<String>, DeviceError> {
            match cfg.settings.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(bad(format!("`{key}` must be a string, not {other}"))),
            }
        };
        let int = |key: &str| -> Result<Option<i64>, DeviceError> {
            match cfg.settings.get(key) {
                None => Ok(None),
                Some(toml::Value::Integer(i)) => Ok(Some(*i)),
                Some(other) => Err(bad(format!("`{key}` must be a number, not {other}"))),
            }
        };
        let duration = |key: &str, default: Duration| -> Result<Duration, DeviceError> {
            Ok(cfg.durations.get(key).copied().unwrap_or(default))
        };
        let host = text("host")?.ok_or_else(|| bad("set `host = \"BMC-ADDRESS\"`".into()))?;
        let port = match int("port")? {
            None => 623,
            Some(p) => u16::try_from(p)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(format!("port {p} is not a UDP port (1-65535)")))?,
        };
        let username = text("username")?.ok_or_else(|| bad("set `username = \"...\"`".into()))?;
        if username.len() > 16 {
            return Err(bad("an IPMI user name has at most 16 bytes".into()));
        }
        let password = match (text("password")?, text("password_file")?) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "set either `password` or `password_file`, not both".into()
                ));
            }
            (Some(p), None) => Secret::new(p),
            (None, Some(file)) => read_secret_file(Path::new(&file))
                .map_err(|e| bad(format!("cannot use password_file: {e}")))?,
            (None, None) => {
                return Err(bad(
                    "set `password_file = \"/etc/paceline/BMC.pass\"` (mode 0600)".into(),
                ));
            }
        };
        if password.expose().len() > 20 {
            return Err(bad("an IPMI 2.0 password has at most 20 bytes".into()));
        }
        let suite = match int("cipher_suite")? {
            None => CipherSuite::Three,
            Some(n) => u8::try_from(n)
                .ok()
                .and_then(CipherSuite::from_id)
                .ok_or_else(|| {
                    bad(format!(
                        "cipher_suite = {n} is not supported; use 3 (HMAC-SHA1, AES-128) or 17 (HMAC-SHA256, AES-128). Suite 0 is refused: it lets any password in"
                    ))
                })?,
        };
        let privilege = match text("privilege")?.as_deref().unwrap_or("administrator") {
            "administrator" => Privilege::Administrator,
            "operator" => Privilege::Operator,
            other => {
                return Err(bad(format!(
                    "privilege = {other:?} is not known; use \"administrator\" or \"operator\""
                )));
            }
        };
        let reboot_method = match text("reboot_method")?.as_deref().unwrap_or("onoff") {
            "onoff" => RebootMethod::OnOff,
            "cycle" => RebootMethod::Cycle,
            other => {
                return Err(bad(format!(
                    "reboot_method = {other:?} is not known; use \"onoff\" or \"cycle\""
                )));
            }
        };
        Ok(IpmiDevice {
            id: id.clone(),
            host,
            port,
            username,
            password,
            suite,
            privilege,
            timeout: device_timeout(cfg)?,
            // UDP retransmissions of one request; whole-action retries
            // (`retries`) are applied around the device by device::open.
            retries: 2,
            power_timeout: duration("power_timeout", Duration::from_secs(20))?,
            poll_interval: duration("poll_interval", Duration::from_millis(200))?,
            reboot_method,
        })
    }

    fn open_session(&self) -> Result<Session, IpmiError> {
        let attempts = self.retries + 1;
        Session::open(&SessionParams {
            host: &self.host,
            port: self.port,
            username: &self.username,
            password: self.password.expose(),
            suite: self.suite,
            privilege: self.privilege,
            attempt_timeout: (self.timeout / attempts).max(Duration::from_millis(100)),
            attempts,
        })
    }

    fn power(&self, s: &mut Session) -> Result<PowerState, IpmiError> {
        let r = s.command(netfn::CHASSIS, cmd::GET_CHASSIS_STATUS, &[])?;
        s.check(&r, "Get Chassis Status")?;
        match r.data.first() {
            Some(b) if b & 0x01 != 0 => Ok(PowerState::On),
            Some(_) => Ok(PowerState::Off),
            None => Err(IpmiError::Malformed {
                addr: s.addr().to_string(),
                detail: "Get Chassis Status without data".into(),
            }),
        }
    }

    fn chassis_control(&self, s: &mut Session, value: u8, name: &str) -> Result<(), IpmiError> {
        let r = s.command(netfn::CHASSIS, cmd::CHASSIS_CONTROL, &[value])?;
        s.check(&r, &format!("Chassis Control {name}"))?;
        s.transcript
            .push(format!("Chassis Control {name}: accepted"));
        Ok(())
    }

    fn wait_for(&self, s: &mut Session, wanted: PowerState) -> Result<(), DeviceError> {
        let deadline = Instant::now() + self.power_timeout;
        loop {
            let state = self.power(s).map_err(|e| self.error(e))?;
            if state == wanted {
                s.transcript.push(format!("chassis power is {wanted:?}"));
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DeviceError::new(format!(
                    "device {:?}: the chassis did not reach power {wanted:?} within {:?}; last seen {state:?}",
                    self.id, self.power_timeout
                )));
            }
            std::thread::sleep(self.poll_interval);
        }
    }

    fn switch(&self, s: &mut Session, wanted: PowerState) -> Result<(), DeviceError> {
        let (value, name) = match wanted {
            PowerState::Off => (control::POWER_DOWN, "power down"),
            _ => (control::POWER_UP, "power up"),
        };
        self.chassis_control(s, value, name)
            .map_err(|e| self.error(e))?;
        self.wait_for(s, wanted)
    }

    fn error(&self, e: IpmiError) -> DeviceError {
        DeviceError::new(format!("device {:?}: {e}", self.id))
    }

    fn run(&self, s: &mut Session, action: FenceAction) -> Result<Option<PowerState>, DeviceError> {
        match action {
            FenceAction::Status | FenceAction::Monitor => {
                let p = self.power(s).map_err(|e| self.error(e))?;
                s.transcript.push(format!("chassis power is {p:?}"));
                Ok(Some(p))
            }
            FenceAction::Off => self
                .switch(s, PowerState::Off)
                .map(|_| Some(PowerState::Off)),
            FenceAction::On => self.switch(s, PowerState::On).map(|_| Some(PowerState::On)),
            FenceAction::Reboot => match self.reboot_method {
                RebootMethod::OnOff => {
                    self.switch(s, PowerState::Off)?;
                    self.switch(s, PowerState::On)?;
                    Ok(Some(PowerState::On))
                }
                RebootMethod::Cycle => {
                    self.chassis_control(s, control::POWER_CYCLE, "power cycle")
                        .map_err(|e| self.error(e))?;
                    s.transcript
                        .push("power cycle accepted; only the final on can be verified".into());
                    self.wait_for(s, PowerState::On)?;
                    Ok(Some(PowerState::On))
                }
            },
        }
    }
}

impl FenceDevice for IpmiDevice {
    fn id(&self) -> &str {
        &self.id
    }

    fn execute(&mut self, action: FenceAction) -> Result<ActionReport, DeviceError> {
        let mut s = self.open_session().map_err(|e| self.error(e))?;
        let result = self.run(&mut s, action);
        s.close();
        let transcript = std::mem::take(&mut s.transcript);
        match result {
            Ok(power) => Ok(ActionReport { power, transcript }),
            Err(mut e) => {
                e.output = transcript.join("\n");
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn device(pairs: &[(&str, toml::Value)]) -> Result<IpmiDevice, DeviceError> {
        let mut settings = BTreeMap::new();
        for (k, v) in pairs {
            settings.insert(k.to_string(), v.clone());
        }
        IpmiDevice::from_config(&DeviceConfig {
            id: "ipmi".into(),
            kind: "ipmi".into(),
            timeout: None,
            retries: None,
            delay: None,
            durations: BTreeMap::new(),
            settings,
        })
    }

    fn s(v: &str) -> toml::Value {
        toml::Value::String(v.into())
    }

    #[test]
    fn config_is_validated_with_the_fix_named() {
        let base = vec![
            ("host", s("127.0.0.1")),
            ("username", s("admin")),
            ("password", s("secret")),
        ];
        let d = device(&base).unwrap();
        assert_eq!(d.port, 623);
        assert!(!format!("{d:?}").contains("secret"));
        let mut zero = base.clone();
        zero.push(("cipher_suite", toml::Value::Integer(0)));
        let e = device(&zero).unwrap_err().message;
        assert!(
            e.contains("use 3") && e.contains("Suite 0 is refused"),
            "{e}"
        );
        let mut typo = base.clone();
        typo.push(("cipher", toml::Value::Integer(3)));
        assert!(
            device(&typo)
                .unwrap_err()
                .message
                .contains("unknown key `cipher`")
        );
        let mut port = base;
        port.push(("port", toml::Value::Integer(70000)));
        assert!(
            device(&port)
                .unwrap_err()
                .message
                .contains("not a UDP port")
        );
    }
}
