//! The agents installed on this node as the config module's agent check
//! sees them (`config::agents`): `paceline config check` and `configure
//! load` check primitives against the meta-data of these.

use std::path::{Path, PathBuf};
use std::time::Duration;

use paceline_fencing::agent::agent_metadata;

use super::catalog::{self, CatalogError, FENCE_AGENT_DIR};
use super::ocf::{AgentId, DEFAULT_OCF_ROOT, OcfRunner};
use crate::config::agents::{AgentCatalog, Lookup};
use crate::config::error::nearest;

/// This node's agents: OCF ones under `$OCF_ROOT` (default
/// /usr/lib/ocf), the builtin ones, systemd units.
pub struct InstalledAgents {
    runner: OcfRunner,
}

impl Default for InstalledAgents {
    fn default() -> Self {
        let root = std::env::var("OCF_ROOT").unwrap_or_else(|_| DEFAULT_OCF_ROOT.into());
        Self::new(root)
    }
}

impl InstalledAgents {
    pub fn new(ocf_root: impl Into<PathBuf>) -> Self {
        InstalledAgents {
            runner: OcfRunner::new(ocf_root, std::env::temp_dir().join("paceline-rsctmp")),
        }
    }

    /// An OCF agent whose file is absent: a provider that is not installed
    /// here at all cannot be told from one that is not installed yet
    /// (unless its name is a near miss of an installed one).
    fn ocf_missing(&self, id: &AgentId) -> Lookup {
        let installed = self.runner.list();
        let provider = id.provider.as_deref().unwrap_or("");
        let same_provider: Vec<String> = installed
            .iter()
            .filter(|a| a.provider.as_deref() == Some(provider))
            .map(|a| a.to_string())
            .collect();
        if !same_provider.is_empty() {
            return Lookup::Missing(same_provider);
        }
        let providers: Vec<&str> = installed
            .iter()
            .filter_map(|a| a.provider.as_deref())
            .collect();
        if nearest(provider, providers.iter().copied()).is_some() {
            return Lookup::Missing(installed.iter().map(|a| a.to_string()).collect());
        }
        Lookup::NotHere(format!(
            "no OCF agents of provider `{provider}` are installed under {} on this node",
            self.runner.ocf_root.join("resource.d").display()
        ))
    }
}

/// How long a fence agent may take to print its meta-data.
const FENCE_METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// A fence agent (`stonith:fence_x`, or `stonith:/path/to/agent`) with its
/// parameters read as the fencing crate reads them when it builds the
/// device (`paceline_fencing::agent::agent_metadata`).
fn fence_agent(runner: &OcfRunner, name: &str) -> Lookup {
    let path = if name.contains('/') {
        PathBuf::from(name)
    } else {
        Path::new(FENCE_AGENT_DIR).join(name)
    };
    if path.is_file() {
        return match agent_metadata(&path, FENCE_METADATA_TIMEOUT) {
            Ok(spec) => Lookup::Fence(spec),
            Err(e) => Lookup::NotHere(format!(
                "fence agent `{name}` prints no valid meta-data here ({e}); its parameters are not checked"
            )),
        };
    }
    let known = catalog::list(runner, Some("stonith")).unwrap_or_default();
    if known.is_empty() {
        Lookup::NotHere(format!(
            "no fence agents are installed in {FENCE_AGENT_DIR} on this node (fence-agents)"
        ))
    } else {
        Lookup::Missing(known)
    }
}

impl AgentCatalog for InstalledAgents {
    fn lookup(&self, agent: &str) -> Lookup {
        if let Some(name) = agent.strip_prefix("stonith:") {
            return fence_agent(&self.runner, name);
        }
        let Ok(id) = AgentId::parse(agent) else {
            return Lookup::Missing(Vec::new());
        };
        match catalog::describe(&self.runner, &id) {
            Ok(meta) => Lookup::Installed(
                meta.parameters
                    .into_iter()
                    .map(|p| (p.name, p.required))
                    .collect(),
            ),
            Err(CatalogError::NotInstalled(_)) if id.class == "ocf" => self.ocf_missing(&id),
            // A service's unit comes with the service's package, often
            // installed only on the nodes that run it.
            Err(CatalogError::NotInstalled(_)) if id.class == "systemd" => Lookup::NotHere(
                format!("the systemd unit of `{agent}` is not installed on this machine"),
            ),
            Err(CatalogError::NotInstalled(_)) => {
                let known = catalog::list(&self.runner, Some(&id.class)).unwrap_or_default();
                if known.is_empty() {
                    Lookup::NotHere(format!("no {} agents are known on this node", id.class))
                } else {
                    Lookup::Missing(known)
                }
            }
            Err(CatalogError::BadMetadata(_)) => Lookup::NotHere(format!(
                "`{agent}` prints no valid meta-data here; its parameters are not checked"
            )),
            Err(CatalogError::UnknownClass(c)) => {
                Lookup::NotHere(format!("agents of class `{c}` are not checked"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_agents_are_always_here() {
        let agents = InstalledAgents::new("/nonexistent");
        match agents.lookup("builtin:ipaddr") {
            Lookup::Installed(p) => assert!(p.contains(&("ip".to_string(), true)), "{p:?}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(agents.lookup("builtin:ipadr"), Lookup::Missing(_)));
        assert!(matches!(
            agents.lookup("ocf:heartbeat:IPaddr2"),
            Lookup::NotHere(_)
        ));
    }
}
