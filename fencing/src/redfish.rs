//! Native Redfish fence device: service root discovery, the target system,
//! `ComputerSystem.Reset` with a reset type the BMC advertises, and a bounded
//! poll of `PowerState` so that success means the BMC reports the new state.
//!
//! Unlike fence_redfish, every HTTP status is checked: a 401 is an
//! authentication error and a refused reset is a failure, never "Success".

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

use crate::config::DeviceConfig;
use crate::device::{ActionReport, DeviceError, FenceDevice, PowerState, device_timeout};
use crate::secret::{Secret, read_secret_file};
use crate::topology::FenceAction;

const ACCEPTED_KEYS: &[&str] = &[
    "url",
    "system",
    "username",
    "password",
    "password_file",
    "ca_file",
    "insecure",
    "auth",
    "power_timeout",
    "poll_interval",
    "off_reset_type",
    "reboot_method",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// HTTP basic authentication on every request.
    Basic,
    /// One Redfish session per action: fewer password checks on the BMC
    /// (some hash it with bcrypt on every request), deleted at the end.
    Session,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootMethod {
    /// ForceOff, verified Off, then On, verified On: every step is seen.
    OffOn,
    /// ForceRestart in one request; only the final On can be verified.
    Restart,
}

pub struct RedfishDevice {
    id: String,
    base_url: String,
    system: Option<String>,
    username: String,
    password: Secret,
    auth: AuthMode,
    client: Client,
    retries: u32,
    power_timeout: Duration,
    poll_interval: Duration,
    off_reset_type: String,
    reboot_method: RebootMethod,
}

impl std::fmt::Debug for RedfishDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedfishDevice")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .field("system", &self.system)
            .field("username", &self.username)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

fn setting_str<'a>(cfg: &'a DeviceConfig, key: &str) -> Result<Option<&'a str>, DeviceError> {
    match cfg.settings.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(DeviceError::new(format!(
            "device {:?}: `{key}` must be a string, not {other}",
            cfg.id
        ))),
    }
}

fn setting_duration(
    cfg: &DeviceConfig,
    key: &str,
    default: Duration,
) -> Result<Duration, DeviceError> {
    Ok(cfg.durations.get(key).copied().unwrap_or(default))
}

/// The state of one action's conversation with the BMC.
struct Conversation {
    token: Option<String>,
    session_path: Option<String>,
    /// The service root, fetched only when discovery needs it.
    root: Option<Value>,
    /// The HTTP status of the last answer (None after a transport error).
    last_status: Option<u16>,
    transcript: Vec<String>,
}

impl RedfishDevice {
    pub fn from_config(cfg: &DeviceConfig) -> Result<Self, DeviceError> {
        let id = cfg.id.clone();
        let bad = |msg: String| DeviceError::new(format!("device {id:?}: {msg}"));
        if let Some(key) = cfg.keys().find(|k| !ACCEPTED_KEYS.contains(k)) {
            return Err(bad(format!(
                "unknown key `{key}` for a redfish device; accepted keys: {}",
                ACCEPTED_KEYS.join(", ")
            )));
        }
        let url = setting_str(cfg, "url")?
            .ok_or_else(|| bad("set `url = \"https://BMC-ADDRESS[:PORT]\"`".into()))?;
        let base_url = url.trim_end_matches('/').to_string();
        let scheme_ok = base_url.starts_with("https://") || base_url.starts_with("http://");
        let has_host = base_url
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty() && !rest.contains('/'));
        if !scheme_ok || !has_host {
            return Err(bad(format!(
                "url {url:?} is not a BMC address; write \"https://HOST[:PORT]\" (no path: the service root /redfish/v1 is found by itself)"
            )));
        }
        let username = setting_str(cfg, "username")?
            .ok_or_else(|| bad("set `username = \"...\"` for the BMC".into()))?
            .to_string();
        let password = match (
            setting_str(cfg, "password")?,
            setting_str(cfg, "password_file")?,
        ) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "set either `password` or `password_file`, not both".into()
                ));
            }
            (Some(p), None) => Secret::new(p),
            (None, Some(file)) => read_secret_file(Path::new(file))
                .map_err(|e| bad(format!("cannot use password_file: {e}")))?,
            (None, None) => {
                return Err(bad(
                    "set `password_file = \"/etc/paceline/BMC.pass\"` (mode 0600)".into(),
                ));
            }
        };
        let auth = match setting_str(cfg, "auth")?.unwrap_or("basic") {
            "basic" => AuthMode::Basic,
            "session" => AuthMode::Session,
            other => {
                return Err(bad(format!(
                    "auth = {other:?} is not known; use \"basic\" or \"session\""
                )));
            }
        };
        let insecure = match cfg.settings.get("insecure") {
            None => false,
            Some(toml::Value::Boolean(b)) => *b,
            Some(other) => {
                return Err(bad(format!(
                    "`insecure` must be true or false, not {other}"
                )));
            }
        };
        let reboot_method = match setting_str(cfg, "reboot_method")?.unwrap_or("onoff") {
            "onoff" => RebootMethod::OffOn,
            "restart" => RebootMethod::Restart,
            other => {
                return Err(bad(format!(
                    "reboot_method = {other:?} is not known; use \"onoff\" or \"restart\""
                )));
            }
        };
        let timeout = device_timeout(cfg)?;
        let mut builder = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("paceline/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = setting_str(cfg, "ca_file")? {
            let pem =
                std::fs::read(ca).map_err(|e| bad(format!("cannot read ca_file {ca}: {e}")))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| bad(format!("ca_file {ca} is not a PEM certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        if insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder
            .build()
            .map_err(|e| bad(format!("cannot build the HTTP client: {e}")))?;
        Ok(RedfishDevice {
            id: id.clone(),
            base_url,
            system: setting_str(cfg, "system")?.map(str::to_string),
            username,
            password,
            auth,
            client,
            // Transport-level: one more try of an idempotent GET. Whole-action
            // retries (`retries`) are applied around the device by device::open.
            retries: 1,
            power_timeout: setting_duration(cfg, "power_timeout", Duration::from_secs(20))?,
            poll_interval: setting_duration(cfg, "poll_interval", Duration::from_millis(200))?,
            off_reset_type: setting_str(cfg, "off_reset_type")?
                .unwrap_or("ForceOff")
                .to_string(),
            reboot_method,
        })
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base_url, path)
        }
    }

    fn authorize(&self, conv: &Conversation, req: RequestBuilder) -> RequestBuilder {
        let req = req
            .header("Accept", "application/json")
            .header("OData-Version", "4.0");
        match &conv.token {
            Some(token) => req.header("X-Auth-Token", token),
            None => req.basic_auth(&self.username, Some(self.password.expose())),
        }
    }

    fn transport_error(&self, method: &str, path: &str, e: &reqwest::Error) -> DeviceError {
        let chain = error_chain(e);
        let msg = if chain.contains("certificate") || chain.contains("UnknownIssuer") {
            format!(
                "TLS: the certificate of {} is not trusted ({chain}); set `ca_file` to the CA that signed it, or knowingly `insecure = true`",
                self.base_url
            )
        } else if e.is_timeout() {
            format!(
                "BMC at {} did not answer {method} {path} in time; check the address and that the BMC is up",
                self.base_url
            )
        } else if e.is_connect() {
            format!(
                "BMC unreachable at {} ({chain}); check url, port and the management network",
                self.base_url
            )
        } else {
            format!("{method} {path} on {} failed: {chain}", self.base_url)
        };
        DeviceError::new(format!("device {:?}: {msg}", self.id))
    }

    /// Sends one request; idempotent GETs are retried on transport errors and
    /// 5xx answers. Every status is checked here so no caller can forget it.
    fn send(
        &self,
        conv: &mut Conversation,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value, Option<String>, Option<String>), DeviceError> {
        let attempts = if method == reqwest::Method::GET {
            self.retries + 1
        } else {
            1
        };
        let mut last_err = None;
        for attempt in 0..attempts {
            let started = Instant::now();
            let mut req = self.client.request(method.clone(), self.url(path));
            req = self.authorize(conv, req);
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send() {
                Ok(resp) => {
                    let status = resp.status();
                    conv.last_status = Some(status.as_u16());
                    conv.transcript.push(format!(
                        "{method} {path} -> {} ({} ms)",
                        status.as_u16(),
                        started.elapsed().as_millis()
                    ));
                    let (value, token, location) = read_body(resp);
                    if status.is_server_error() && attempt + 1 < attempts {
                        last_err = Some(self.status_error(status, &method, path, &value));
                        continue;
                    }
                    if !status.is_success() {
                        return Err(self.status_error(status, &method, path, &value));
                    }
                    return Ok((status, value, token, location));
                }
                Err(e) => {
                    conv.last_status = None;
                    conv.transcript.push(format!(
                        "{method} {path} -> error after {} ms: {}",
                        started.elapsed().as_millis(),
                        error_chain(&e)
                    ));
                    last_err = Some(self.transport_error(method.as_str(), path, &e));
                }
            }
        }
        Err(last_err.unwrap_or_else(|| DeviceError::new("no request was sent")))
    }

    fn status_error(
        &self,
        status: StatusCode,
        method: &reqwest::Method,
        path: &str,
        body: &Value,
    ) -> DeviceError {
        let detail = redfish_message(body);
        let msg = match status.as_u16() {
            401 | 403 => format!(
                "authentication failed at {} (HTTP {}); check username and password/password_file",
                self.base_url,
                status.as_u16()
            ),
            404 => format!(
                "{path} not found on the BMC (HTTP 404){}",
                if path.contains("/Systems/") {
                    "; check `system`"
                } else {
                    ""
                }
            ),
            code => format!("BMC answered {method} {path} with HTTP {code}"),
        };
        let msg = if detail.is_empty() {
            msg
        } else {
            format!("{msg}: {detail}")
        };
        DeviceError::with_output(format!("device {:?}: {msg}", self.id), body.to_string())
    }

    fn get(&self, conv: &mut Conversation, path: &str) -> Result<Value, DeviceError> {
        self.send(conv, reqwest::Method::GET, path, None)
            .map(|(_, v, _, _)| v)
    }

    /// The service root, fetched once per action and only when needed:
    /// with `system` given as a path, a fence needs no discovery at all.
    fn root(&self, conv: &mut Conversation) -> Result<Value, DeviceError> {
        if let Some(r) = &conv.root {
            return Ok(r.clone());
        }
        let r = self.get(conv, "/redfish/v1")?;
        conv.root = Some(r.clone());
        Ok(r)
    }

    fn open_conversation(&self) -> Result<Conversation, DeviceError> {
        let mut conv = Conversation {
            token: None,
            session_path: None,
            root: None,
            last_status: None,
            transcript: Vec::new(),
        };
        if self.auth == AuthMode::Session {
            let body = serde_json::json!({
                "UserName": self.username,
                "Password": self.password.expose(),
            });
            // The standard collection first; the root's link when the BMC
            // keeps its sessions elsewhere.
            let standard = "/redfish/v1/SessionService/Sessions";
            let created = match self.send(&mut conv, reqwest::Method::POST, standard, Some(&body)) {
                Ok(r) => r,
                Err(e) if matches!(conv.last_status, Some(404 | 405)) => {
                    let root = self.root(&mut conv)?;
                    let linked = root
                        .pointer("/Links/Sessions/@odata.id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or(e)?;
                    self.send(&mut conv, reqwest::Method::POST, &linked, Some(&body))?
                }
                Err(e) => return Err(e),
            };
            let (_, _, token, location) = created;
            let token = token.ok_or_else(|| {
                DeviceError::new(format!(
                    "device {:?}: the BMC created a session but sent no X-Auth-Token; use auth = \"basic\"",
                    self.id
                ))
            })?;
            conv.token = Some(token);
            conv.session_path = location.map(|l| strip_base(&l, &self.base_url));
        }
        Ok(conv)
    }

    fn close_conversation(&self, conv: &mut Conversation) {
        if let Some(path) = conv.session_path.take() {
            // A failed logout is not a fencing failure; the transcript says it.
            let _ = self.send(conv, reqwest::Method::DELETE, &path, None);
        }
    }

    /// The system's path, resolved from `system` or the Systems collection.
    fn system_path(&self, conv: &mut Conversation) -> Result<String, DeviceError> {
        if let Some(sys) = &self.system
            && sys.starts_with('/')
        {
            return Ok(sys.clone());
        }
        let root = self.root(conv)?;
        let systems = root
            .pointer("/Systems/@odata.id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                DeviceError::new(format!(
                    "device {:?}: the service root lists no Systems collection; set `system` to the system's path",
                    self.id
                ))
            })?
            .to_string();
        let collection = self.get(conv, &systems)?;
        let members = system_members(&collection, &self.base_url);
        match &self.system {
            None => match members.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(DeviceError::new(format!(
                    "device {:?}: the BMC lists no system in {systems}",
                    self.id
                ))),
                many => Err(DeviceError::new(format!(
                    "device {:?}: the BMC manages {} systems; set `system` to one of: {}",
                    self.id,
                    many.len(),
                    many.iter()
                        .filter_map(|p| last_segment(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            },
            Some(wanted) => {
                if let Some(p) = members
                    .iter()
                    .find(|p| last_segment(p).as_deref() == Some(wanted.as_str()))
                {
                    return Ok(p.clone());
                }
                // Not an Id in the URL: match the members' Id or Name.
                for p in &members {
                    let sys = self.get(conv, p)?;
                    let matches = |key: &str| sys.get(key).and_then(Value::as_str) == Some(wanted);
                    if matches("Id") || matches("Name") {
                        return Ok(p.clone());
                    }
                }
                Err(DeviceError::new(format!(
                    "device {:?}: no system {wanted:?} on the BMC; it has: {}",
                    self.id,
                    members
                        .iter()
                        .filter_map(|p| last_segment(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }

    fn power_state(
        &self,
        conv: &mut Conversation,
        system: &str,
    ) -> Result<PowerState, DeviceError> {
        let sys = self.get(conv, system)?;
        Ok(parse_power(&sys))
    }

    /// Posts a reset. The fast path posts straight to the action URI the
    /// Redfish specification prescribes (`{system}/Actions/ComputerSystem.Reset`)
    /// without reading the system first; only when the BMC refuses is the
    /// system read, to use the target and reset types it advertises or to
    /// say which ones it offers.
    fn reset(
        &self,
        conv: &mut Conversation,
        system: &str,
        reset_type: &str,
    ) -> Result<(), DeviceError> {
        let conventional = format!("{system}/Actions/ComputerSystem.Reset");
        let body = serde_json::json!({ "ResetType": reset_type });
        let first = match self.send(conv, reqwest::Method::POST, &conventional, Some(&body)) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if conv.last_status.is_none() || matches!(conv.last_status, Some(401 | 403)) {
            return Err(first);
        }
        let doc = self.get(conv, system)?;
        let advertised_target = doc
            .pointer("/Actions/#ComputerSystem.Reset/target")
            .and_then(Value::as_str)
            .map(|t| strip_base(t, &self.base_url));
        let mut wanted = reset_type.to_string();
        if let Some(allowed) = advertised_reset_types(&doc)
            && !allowed.contains(&wanted)
        {
            if wanted == "On" && allowed.iter().any(|a| a == "ForceOn") {
                wanted = "ForceOn".into();
            } else {
                return Err(DeviceError::with_output(
                    format!(
                        "device {:?}: the BMC does not offer ResetType {reset_type:?}; it offers: {} ({})",
                        self.id,
                        allowed.join(", "),
                        first.message
                    ),
                    first.output,
                ));
            }
        }
        let target = advertised_target.unwrap_or(conventional.clone());
        if target == conventional && wanted == reset_type {
            return Err(DeviceError {
                message: format!("{} (refused ResetType {reset_type:?})", first.message),
                output: first.output,
            });
        }
        let body = serde_json::json!({ "ResetType": wanted });
        self.send(conv, reqwest::Method::POST, &target, Some(&body))
            .map(|_| ())
            .map_err(|e| DeviceError {
                message: format!("{} (refused ResetType {wanted:?})", e.message),
                output: e.output,
            })
    }

    /// Polls until the system reports `wanted`, bounded by power_timeout.
    fn wait_for(
        &self,
        conv: &mut Conversation,
        system: &str,
        wanted: PowerState,
    ) -> Result<(), DeviceError> {
        let deadline = Instant::now() + self.power_timeout;
        loop {
            let state = self.power_state(conv, system)?;
            if state == wanted {
                conv.transcript.push(format!("PowerState is {wanted:?}"));
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DeviceError::new(format!(
                    "device {:?}: the system did not reach PowerState {wanted:?} within {:?}; last seen {state:?}",
                    self.id, self.power_timeout
                )));
            }
            std::thread::sleep(self.poll_interval);
        }
    }

    fn switch(
        &self,
        conv: &mut Conversation,
        system: &str,
        wanted: PowerState,
    ) -> Result<(), DeviceError> {
        let reset_type = match wanted {
            PowerState::Off => self.off_reset_type.as_str(),
            _ => "On",
        };
        self.reset(conv, system, reset_type)?;
        self.wait_for(conv, system, wanted)
    }

    fn run(
        &self,
        conv: &mut Conversation,
        action: FenceAction,
    ) -> Result<Option<PowerState>, DeviceError> {
        let system = self.system_path(conv)?;
        match action {
            FenceAction::Status | FenceAction::Monitor => self.power_state(conv, &system).map(Some),
            FenceAction::Off => self
                .switch(conv, &system, PowerState::Off)
                .map(|_| Some(PowerState::Off)),
            FenceAction::On => self
                .switch(conv, &system, PowerState::On)
                .map(|_| Some(PowerState::On)),
            FenceAction::Reboot => match self.reboot_method {
                RebootMethod::OffOn => {
                    self.switch(conv, &system, PowerState::Off)?;
                    self.switch(conv, &system, PowerState::On)?;
                    Ok(Some(PowerState::On))
                }
                RebootMethod::Restart => {
                    self.reset(conv, &system, "ForceRestart")?;
                    conv.transcript.push(
                        "ForceRestart accepted; only the final On can be verified".to_string(),
                    );
                    self.wait_for(conv, &system, PowerState::On)?;
                    Ok(Some(PowerState::On))
                }
            },
        }
    }
}

impl FenceDevice for RedfishDevice {
    fn id(&self) -> &str {
        &self.id
    }

    fn execute(&mut self, action: FenceAction) -> Result<ActionReport, DeviceError> {
        let mut conv = self.open_conversation()?;
        let result = self.run(&mut conv, action);
        self.close_conversation(&mut conv);
        match result {
            Ok(power) => Ok(ActionReport {
                power,
                transcript: conv.transcript,
            }),
            Err(mut e) => {
                let transcript = conv.transcript.join("\n");
                e.output = if e.output.is_empty() {
                    transcript
                } else {
                    format!("{transcript}\n{}", e.output)
                };
                Err(e)
            }
        }
    }
}

fn read_body(resp: Response) -> (Value, Option<String>, Option<String>) {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let token = header("X-Auth-Token");
    let location = header("Location");
    let text = resp.text().unwrap_or_default();
    (parse_body(text), token, location)
}

/// A body that is not JSON is kept as text, for the error message.
pub(crate) fn parse_body(text: String) -> Value {
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// The members' paths of a Systems collection.
pub(crate) fn system_members(collection: &Value, base_url: &str) -> Vec<String> {
    collection
        .get("Members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|v| v.get("@odata.id").and_then(Value::as_str))
                .map(|s| strip_base(s, base_url))
                .collect()
        })
        .unwrap_or_default()
}

/// A system's Id as its path ends.
pub(crate) fn last_segment(path: &str) -> Option<String> {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .map(str::to_string)
}

pub(crate) fn parse_power(system: &Value) -> PowerState {
    match system.get("PowerState").and_then(Value::as_str) {
        Some("On") | Some("PoweringOff") => PowerState::On,
        Some("Off") => PowerState::Off,
        // PoweringOn is not On yet: a fenced node that is coming back must
        // not count as on, and one that is powering on is no longer off.
        _ => PowerState::Unknown,
    }
}

pub(crate) fn advertised_reset_types(system: &Value) -> Option<Vec<String>> {
    system
        .pointer("/Actions/#ComputerSystem.Reset/ResetType@Redfish.AllowableValues")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
}

/// The human part of a Redfish error body.
pub(crate) fn redfish_message(body: &Value) -> String {
    if let Some(m) = body
        .pointer("/error/@Message.ExtendedInfo/0/Message")
        .and_then(Value::as_str)
    {
        return m.to_string();
    }
    if let Some(m) = body.pointer("/error/message").and_then(Value::as_str) {
        return m.to_string();
    }
    match body {
        Value::String(s) => s.chars().take(300).collect(),
        _ => String::new(),
    }
}

fn strip_base(url: &str, base: &str) -> String {
    url.strip_prefix(base).unwrap_or(url).to_string()
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn device(settings: &[(&str, toml::Value)]) -> Result<RedfishDevice, DeviceError> {
        let mut map = BTreeMap::new();
        for (k, v) in settings {
            map.insert(k.to_string(), v.clone());
        }
        RedfishDevice::from_config(&DeviceConfig {
            id: "bmc".into(),
            kind: "redfish".into(),
            timeout: None,
            retries: None,
            delay: None,
            durations: BTreeMap::new(),
            settings: map,
        })
    }

    fn s(v: &str) -> toml::Value {
        toml::Value::String(v.into())
    }

    #[test]
    fn config_errors_name_the_fix() {
        let base = [
            ("url", s("https://127.0.0.1:1")),
            ("username", s("admin")),
            ("password", s("pw")),
        ];
        assert!(device(&base).is_ok());
        let e = device(&[("url", s("ftp://x"))]).unwrap_err().message;
        assert!(e.contains("https://HOST"), "{e}");
        let mut typo = base.to_vec();
        typo.push(("pasword", s("x")));
        let e = device(&typo).unwrap_err().message;
        assert!(e.contains("unknown key `pasword`"), "{e}");
        let mut both = base.to_vec();
        both.push(("password_file", s("/nonexistent")));
        assert!(device(&both).unwrap_err().message.contains("not both"));
        let mut auth = base.to_vec();
        auth.push(("auth", s("digest")));
        assert!(device(&auth).unwrap_err().message.contains("\"basic\""));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let d = device(&[
            ("url", s("https://127.0.0.1:1")),
            ("username", s("admin")),
            ("password", s("hunter2")),
        ])
        .unwrap();
        assert!(!format!("{d:?}").contains("hunter2"));
    }

    #[test]
    fn power_and_messages_are_read_from_redfish_bodies() {
        assert_eq!(
            parse_power(&serde_json::json!({"PowerState": "Off"})),
            PowerState::Off
        );
        assert_eq!(
            parse_power(&serde_json::json!({"PowerState": "PoweringOn"})),
            PowerState::Unknown
        );
        let err = serde_json::json!({"error": {"code": "x", "message": "General",
            "@Message.ExtendedInfo": [{"Message": "Reset type Nmi not supported"}]}});
        assert_eq!(redfish_message(&err), "Reset type Nmi not supported");
        let sys = serde_json::json!({"Actions": {"#ComputerSystem.Reset": {
            "target": "/x", "ResetType@Redfish.AllowableValues": ["On", "ForceOff"]}}});
        assert_eq!(
            advertised_reset_types(&sys).unwrap(),
            vec!["On", "ForceOff"]
        );
    }
}
