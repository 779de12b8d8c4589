//! Ties a Redfish emulator's power to lab nodes: the emulator (sushy-tools,
//! from ../shared/peers) only flips a flag, so this follows its request log
//! and, for every accepted ComputerSystem.Reset, cuts or restores the power
//! of the node that system stands for. The cut happens when the reset is
//! logged, before the fencing client can have read PowerState back.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::PowerHandle;

#[derive(Debug)]
pub struct RedfishPowerLink {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What a logged request does to a node's power, if anything:
/// Some(false) = off, Some(true) = on.
pub fn reset_effect(line: &str, systems: &[(String, u8)]) -> Option<(u8, bool)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["method"].as_str()? != "POST" {
        return None;
    }
    let status = v["status"].as_u64()?;
    if !(200..300).contains(&status) {
        return None;
    }
    let path = v["path"].as_str()?;
    let system = path
        .strip_suffix("/Actions/ComputerSystem.Reset")?
        .rsplit('/')
        .next()?;
    let node = systems
        .iter()
        .find(|(id, _)| id.rsplit('/').next() == Some(system))?
        .1;
    let body: serde_json::Value = serde_json::from_str(v["body"].as_str()?).ok()?;
    let on = match body["ResetType"].as_str()? {
        "On" | "ForceOn" => true,
        "ForceOff" | "GracefulShutdown" | "ForceRestart" | "GracefulRestart" | "PowerCycle" => {
            false
        }
        _ => return None,
    };
    Some((node, on))
}

impl RedfishPowerLink {
    pub fn start(
        power: PowerHandle,
        request_log: &Path,
        systems: Vec<(String, u8)>,
    ) -> std::io::Result<RedfishPowerLink> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(request_log)?;
        file.seek(SeekFrom::End(0))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut reader = BufReader::new(file);
            let mut partial = String::new();
            while !stopping.load(Ordering::SeqCst) {
                let mut chunk = String::new();
                match reader.read_line(&mut chunk) {
                    Ok(0) | Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    Ok(_) => {
                        partial.push_str(&chunk);
                        if !partial.ends_with('\n') {
                            continue;
                        }
                        if let Some((node, on)) = reset_effect(partial.trim(), &systems) {
                            let _ = if on {
                                power.power_on(node)
                            } else {
                                power.power_off(node)
                            };
                        }
                        partial.clear();
                    }
                }
            }
        });
        Ok(RedfishPowerLink {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for RedfishPowerLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_map_to_power_changes_of_their_node() {
        let systems = vec![
            (
                "/redfish/v1/Systems/00000000-0000-4000-8000-000000000001".to_string(),
                1,
            ),
            (
                "/redfish/v1/Systems/00000000-0000-4000-8000-000000000002".to_string(),
                2,
            ),
        ];
        let line = |path: &str, body: &str, status: u16| {
            serde_json::json!({"method": "POST", "path": path, "body": body, "status": status})
                .to_string()
        };
        let reset =
            "/redfish/v1/Systems/00000000-0000-4000-8000-000000000002/Actions/ComputerSystem.Reset";
        assert_eq!(
            reset_effect(&line(reset, r#"{"ResetType": "ForceOff"}"#, 204), &systems),
            Some((2, false))
        );
        assert_eq!(
            reset_effect(&line(reset, r#"{"ResetType": "On"}"#, 204), &systems),
            Some((2, true))
        );
        assert_eq!(
            reset_effect(&line(reset, r#"{"ResetType": "Nmi"}"#, 501), &systems),
            None,
            "a refused reset changes nothing"
        );
        assert_eq!(
            reset_effect(
                &line(
                    "/redfish/v1/Systems/x/Actions/ComputerSystem.Reset",
                    r#"{"ResetType": "ForceOff"}"#,
                    204
                ),
                &systems
            ),
            None
        );
        assert_eq!(reset_effect("not json", &systems), None);
    }
}
