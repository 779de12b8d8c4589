//! What agents exist on this node and what they take, for `paceline ra`:
//! ocf agents under the OCF root, the builtin agents, systemd service units,
//! and stonith (fence) agents. Described with the same `AgentMetadata` the
//! OCF meta-data parser produces, so every class prints alike.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::metadata::{ActionSpec, AgentMetadata, Parameter};
use super::ocf::{AgentId, OcfRunner};

/// The classes paceline can list and run (stonith agents are run by the
/// fencing crate, not as resources).
pub const CLASSES: &[&str] = &["ocf", "builtin", "systemd", "stonith"];

/// Where systemd looks for unit files, highest precedence first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// Where fence agents are installed (fence-agents).
pub const FENCE_AGENT_DIR: &str = "/usr/sbin";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error(
        "unknown agent class {0:?}; classes: ocf, builtin, systemd, stonith (lsb init scripts: run them as systemd units)"
    )]
    UnknownClass(String),
    #[error("agent {0} is not installed")]
    NotInstalled(String),
    #[error("agent {0} did not print valid meta-data")]
    BadMetadata(String),
}

/// Every agent of `class` (or of every class), sorted.
pub fn list(runner: &OcfRunner, class: Option<&str>) -> Result<Vec<String>, CatalogError> {
    let classes: Vec<&str> = match class {
        None => CLASSES.to_vec(),
        Some(c) if CLASSES.contains(&c) => vec![c],
        Some(c) => return Err(CatalogError::UnknownClass(c.to_string())),
    };
    let mut out = Vec::new();
    for c in classes {
        match c {
            "ocf" => out.extend(runner.list().iter().map(|a| a.to_string())),
            "builtin" => out.extend([
                "builtin:dummy".to_string(),
                "builtin:filesystem".into(),
                "builtin:ipaddr".into(),
            ]),
            "systemd" => out.extend(systemd_units().into_iter().map(|u| format!("systemd:{u}"))),
            "stonith" => out.extend(fence_agents().into_iter().map(|a| format!("stonith:{a}"))),
            _ => {}
        }
    }
    Ok(out)
}

/// The description and parameters of one agent.
pub fn describe(runner: &OcfRunner, id: &AgentId) -> Result<AgentMetadata, CatalogError> {
    match id.class.as_str() {
        "ocf" => {
            if !runner.agent_path(id).is_file() {
                return Err(CatalogError::NotInstalled(id.to_string()));
            }
            runner
                .metadata(id)
                .ok_or_else(|| CatalogError::BadMetadata(id.to_string()))
        }
        "builtin" => builtin(&id.kind).ok_or_else(|| CatalogError::NotInstalled(id.to_string())),
        "systemd" => {
            let unit = if id.kind.contains('.') {
                id.kind.clone()
            } else {
                format!("{}.service", id.kind)
            };
            let path =
                unit_file(&unit).ok_or_else(|| CatalogError::NotInstalled(id.to_string()))?;
            Ok(systemd_metadata(&unit, &path))
        }
        "stonith" => {
            let path = Path::new(FENCE_AGENT_DIR).join(&id.kind);
            if !id.kind.starts_with("fence_") || !path.is_file() {
                return Err(CatalogError::NotInstalled(id.to_string()));
            }
            let out = Command::new(&path)
                .arg("--action=metadata")
                .output()
                .map_err(|_| CatalogError::NotInstalled(id.to_string()))?;
            AgentMetadata::parse(&String::from_utf8_lossy(&out.stdout))
                .map_err(|_| CatalogError::BadMetadata(id.to_string()))
        }
        other => Err(CatalogError::UnknownClass(other.to_string())),
    }
}

fn systemd_units() -> Vec<String> {
    let mut units = std::collections::BTreeSet::new();
    for dir in UNIT_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // Template units (foo@.service) need an instance to be run.
            if name.ends_with(".service") && !name.contains("@.") {
                units.insert(name);
            }
        }
    }
    units.into_iter().collect()
}

fn unit_file(unit: &str) -> Option<PathBuf> {
    UNIT_DIRS
        .iter()
        .map(|d| Path::new(d).join(unit))
        .find(|p| p.exists())
}

fn systemd_metadata(unit: &str, path: &Path) -> AgentMetadata {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let description = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Description="))
        .unwrap_or("")
        .to_string();
    AgentMetadata {
        name: unit.to_string(),
        version: None,
        shortdesc: description,
        longdesc: format!(
            "systemd unit {} (started and stopped through systemd's D-Bus API; it takes no parameters: configure the unit itself)",
            path.display()
        ),
        parameters: Vec::new(),
        actions: ["start", "stop", "monitor"]
            .iter()
            .map(|a| action(a, "100s"))
            .collect(),
    }
}

fn fence_agents() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(FENCE_AGENT_DIR) else {
        return Vec::new();
    };
    let mut agents: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("fence_"))
        .collect();
    agents.sort();
    agents
}

fn param(name: &str, required: bool, kind: &str, default: Option<&str>, desc: &str) -> Parameter {
    Parameter {
        name: name.into(),
        required,
        unique: false,
        shortdesc: desc.into(),
        content_type: kind.into(),
        default: default.map(str::to_string),
    }
}

fn action(name: &str, timeout: &str) -> ActionSpec {
    ActionSpec {
        name: name.into(),
        timeout: Some(timeout.into()),
        interval: None,
        role: None,
    }
}

/// The builtin agents' parameters, kept beside the code that reads them.
fn builtin(kind: &str) -> Option<AgentMetadata> {
    let (shortdesc, longdesc, parameters) = match kind {
        "ipaddr" => (
            "Virtual IP address (IPv4 or IPv6), managed through netlink",
            "Adds the address to an interface, refuses to start when another host already uses it (IPv4: ARP probe; IPv6: the kernel's duplicate address detection), announces it with gratuitous ARP or unsolicited neighbour advertisements, and monitors that it is present and its link is up.",
            vec![
                param(
                    "ip",
                    true,
                    "string",
                    None,
                    "The virtual IPv4 or IPv6 address",
                ),
                param("nic", true, "string", None, "The interface to add it to"),
                param(
                    "cidr_netmask",
                    false,
                    "integer",
                    Some("32 / 128"),
                    "Prefix length",
                ),
                param(
                    "label",
                    false,
                    "string",
                    None,
                    "IPv4 address label (e.g. eth0:vip)",
                ),
                param(
                    "arp_count",
                    false,
                    "integer",
                    Some("5"),
                    "Announcements sent on start",
                ),
                param(
                    "arp_interval",
                    false,
                    "integer",
                    Some("200"),
                    "Milliseconds between announcements",
                ),
                param(
                    "dad",
                    false,
                    "boolean",
                    Some("true"),
                    "Check that no other host uses the address before starting",
                ),
                param(
                    "dad_wait",
                    false,
                    "integer",
                    Some("100"),
                    "IPv4: milliseconds to wait for an answer to the ARP probe",
                ),
                param(
                    "dad_timeout",
                    false,
                    "integer",
                    Some("5000"),
                    "IPv6: milliseconds to wait for duplicate address detection",
                ),
            ],
        ),
        "filesystem" => (
            "Mount a filesystem (local, NFS, GlusterFS, bind, tmpfs)",
            "Mounts on start, unmounts on stop after signalling the processes that still use the mount (TERM, then KILL); the monitor checks the mount table and that the directory answers within check_timeout (a hung NFS server fails the monitor instead of hanging it).",
            vec![
                param(
                    "device",
                    true,
                    "string",
                    None,
                    "Block device, server:/export, server:/volume, a directory (bind) or tmpfs",
                ),
                param("directory", true, "string", None, "Absolute mount point"),
                param(
                    "fstype",
                    false,
                    "string",
                    Some("auto"),
                    "ext4, xfs, nfs, nfs4, glusterfs, tmpfs, bind, ...",
                ),
                param(
                    "options",
                    false,
                    "string",
                    Some(""),
                    "Mount options, comma separated",
                ),
                param(
                    "check_timeout",
                    false,
                    "string",
                    Some("10s"),
                    "Deadline for the monitor's directory check",
                ),
                param(
                    "write_probe",
                    false,
                    "boolean",
                    Some("false"),
                    "Also write and remove a probe file on monitor",
                ),
            ],
        ),
        "dummy" => (
            "A resource that runs nothing, with roles (stands in for a service)",
            "Keeps its state (stopped, started, promoted) in a file per instance, like ocf:heartbeat:Dummy and ocf:pacemaker:Stateful: monitor answers 7 when stopped, 0 when started and 8 when promoted. For demonstrations and tests on machines without resource agents.",
            vec![param(
                "state_dir",
                false,
                "string",
                Some("$HA_RSCTMP/dummy, else /run/paceline/dummy"),
                "Directory of the state files",
            )],
        ),
        _ => return None,
    };
    let mut actions = vec![
        action("start", "20s"),
        action("stop", "20s"),
        action("monitor", "20s"),
        action("validate-all", "20s"),
    ];
    if kind == "dummy" {
        actions.extend([
            action("promote", "20s"),
            action("demote", "20s"),
            action("notify", "20s"),
        ]);
    }
    Some(AgentMetadata {
        name: kind.to_string(),
        version: Some(env!("CARGO_PKG_VERSION").to_string()),
        shortdesc: shortdesc.into(),
        longdesc: longdesc.into(),
        parameters,
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_agents_are_listed_and_described() {
        let r = OcfRunner::new("/nonexistent", std::env::temp_dir());
        let all = list(&r, Some("builtin")).unwrap();
        assert_eq!(
            all,
            ["builtin:dummy", "builtin:filesystem", "builtin:ipaddr"]
        );
        let id = AgentId::parse("builtin:ipaddr").unwrap();
        let m = describe(&r, &id).unwrap();
        assert!(m.parameters.iter().any(|p| p.name == "ip" && p.required));
        assert!(matches!(
            describe(&r, &AgentId::parse("builtin:nope").unwrap()),
            Err(CatalogError::NotInstalled(_))
        ));
        assert!(matches!(
            list(&r, Some("lsb")),
            Err(CatalogError::UnknownClass(_))
        ));
    }
}
