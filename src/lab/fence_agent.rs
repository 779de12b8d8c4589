//! The lab's fence agent, `paceline lab fence-agent`, speaking the
//! fence-agents stdin protocol (key=value lines) so that paceline runs it
//! as an ordinary `type = "agent"` device: `plug` names the node,
//! `socket` the lab's power board. Exit codes as fence-agents: 0 ok (status:
//! on), 2 off (status), 1 failure.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

const METADATA: &str = r#"<?xml version="1.0" ?>
<resource-agent name="fence_paceline_lab" shortdesc="Fence agent for paceline's namespace lab: cuts a lab node's power">
<longdesc>Reaches the power board of a paceline lab (paceline demo, the end-to-end tests) over its unix socket. A power cut kills every process in the node's network namespace and takes its links down.</longdesc>
<parameters>
  <parameter name="action" unique="0" required="0"><content type="string" default="reboot"/><shortdesc lang="en">Fencing action</shortdesc></parameter>
  <parameter name="plug" unique="0" required="1"><content type="string"/><shortdesc lang="en">The lab node to fence (node1, node2, ...)</shortdesc></parameter>
  <parameter name="port" unique="0" required="0" obsoletes="plug" deprecated="1"><content type="string"/><shortdesc lang="en">Old name of plug</shortdesc></parameter>
  <parameter name="socket" unique="0" required="1"><content type="string"/><shortdesc lang="en">The lab's power board socket</shortdesc></parameter>
</parameters>
<actions>
  <action name="on"/><action name="off"/><action name="reboot"/><action name="status"/><action name="monitor"/><action name="metadata"/>
</actions>
</resource-agent>
"#;

/// Runs one agent invocation: reads the request from `input`, writes what it
/// did to `output`, returns the exit code.
pub fn run(input: impl BufRead, mut output: impl Write) -> i32 {
    let mut action = "reboot".to_string();
    let mut plug = None;
    let mut socket = None;
    for line in input.lines().map_while(Result::ok) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim() {
            "action" | "option" => action = value.trim().to_string(),
            "plug" | "port" => plug = Some(value.trim().to_string()),
            "socket" => socket = Some(PathBuf::from(value.trim())),
            _ => {}
        }
    }
    if action == "metadata" {
        let _ = output.write_all(METADATA.as_bytes());
        return 0;
    }
    let Some(socket) = socket else {
        let _ = writeln!(
            output,
            "failed: no socket= given (the lab's power board socket)"
        );
        return 1;
    };
    if action == "monitor" {
        return match super::power::request(&socket, "ping") {
            Ok(answer) if answer == "pong" => {
                let _ = writeln!(output, "power board at {} answers", socket.display());
                0
            }
            Ok(answer) => {
                let _ = writeln!(
                    output,
                    "failed: {} is not a power board: {answer}",
                    socket.display()
                );
                1
            }
            Err(e) => {
                let _ = writeln!(output, "failed: power board {}: {e}", socket.display());
                1
            }
        };
    }
    let Some(plug) = plug else {
        let _ = writeln!(output, "failed: no plug= given (the node to fence)");
        return 1;
    };
    let request = match action.as_str() {
        "status" => format!("status {plug}"),
        // The lab has no boot: a rebooted node stays off until the test
        // brings it back, which is what fencing needs from a reboot.
        "off" | "reboot" => format!("off {plug}"),
        "on" => format!("on {plug}"),
        other => {
            let _ = writeln!(output, "failed: unsupported action {other}");
            return 1;
        }
    };
    match super::power::request(&socket, &request) {
        Ok(answer) if answer.starts_with("error:") => {
            let _ = writeln!(output, "failed: {answer}");
            1
        }
        Ok(answer) => {
            let _ = writeln!(output, "{plug} is {answer}");
            if action == "status" && answer == "off" {
                2
            } else {
                0
            }
        }
        Err(e) => {
            let _ = writeln!(output, "failed: power board {}: {e}", socket.display());
            1
        }
    }
}

/// Writes the agent as an executable script `fence_paceline_lab` in `dir`
/// that runs `paceline lab fence-agent`, and returns its path.
pub fn install(dir: &Path, paceline: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fence_paceline_lab");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nexec '{}' lab fence-agent\n",
            paceline.display().to_string().replace('\'', "'\\''")
        ),
    )?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lists_the_parameters_paceline_checks() {
        let mut out = Vec::new();
        assert_eq!(run("action=metadata\n".as_bytes(), &mut out), 0);
        let xml = String::from_utf8(out).unwrap();
        let spec = paceline_fencing::agent::parse_metadata(&xml).unwrap();
        let names: Vec<&str> = spec.iter().map(|p| p.name.as_str()).collect();
        assert!(
            names.contains(&"plug") && names.contains(&"socket"),
            "{names:?}"
        );
        assert!(paceline_fencing::agent::check_params(&spec, &["plug", "socket"]).is_ok());
    }

    #[test]
    fn missing_socket_or_plug_fails_clearly() {
        let mut out = Vec::new();
        assert_eq!(run("action=off\nplug=node2\n".as_bytes(), &mut out), 1);
        assert!(String::from_utf8_lossy(&out).contains("no socket"));
        let mut out = Vec::new();
        assert_eq!(
            run("action=off\nsocket=/nonexistent\n".as_bytes(), &mut out),
            1
        );
        assert!(String::from_utf8_lossy(&out).contains("no plug"));
    }
}
