//! Primitives against their agents' meta-data: the agent exists, every
//! parameter the agent requires is given, and no parameter is one the
//! agent does not have (`ipp` for `ip` is refused with "did you mean").
//!
//! The config module knows no agent: what is installed comes from an
//! [`AgentCatalog`] (the executor's, on this node). `paceline config
//! check` and `configure load` (the CLI and the daemon's API) run this;
//! the daemon does not at start, since an agent may be installed on some
//! nodes only (the scheduler keeps a resource off a node whose probe says
//! "not installed"). Where a class's agents are not installed at all (a
//! workstation without resource-agents), its primitives are not checked,
//! and the check says so ([`AgentCheck::unchecked`]).

use super::document::{Document, PrimitiveDoc};
use super::error::{Diagnostic, SourceMap, nearest};

/// What this node knows of one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Installed, with its parameters: (name, required).
    Installed(Vec<(String, bool)>),
    /// Not installed, though agents of its class (and provider) are: the
    /// names of those, for "did you mean".
    Missing(Vec<String>),
    /// No agent of its class (and provider) is installed here: nothing to
    /// check against.
    NotHere(String),
}

/// The agents installed on a node.
pub trait AgentCatalog {
    /// `agent` as written (`ocf:heartbeat:IPaddr2`, `systemd:x`, ...).
    fn lookup(&self, agent: &str) -> Lookup;
}

/// The outcome: the refusals, and why some primitives were not checked.
#[derive(Debug, Default)]
pub struct AgentCheck {
    pub diags: Vec<Diagnostic>,
    /// One line per class or provider not installed here.
    pub unchecked: Vec<String>,
}

/// Checks every `[[primitive]]` but fence devices (`stonith:`, which the
/// fencing service runs and checks).
pub fn check(doc: &Document, src: &SourceMap, catalog: &dyn AgentCatalog) -> AgentCheck {
    let mut out = AgentCheck::default();
    for p in &doc.primitive {
        let agent = p.agent.get_ref();
        if agent.starts_with("stonith:") {
            continue;
        }
        match catalog.lookup(agent) {
            Lookup::Installed(params) => check_params(p, &params, src, &mut out.diags),
            Lookup::Missing(known) => {
                let help = match nearest(agent, known.iter().map(String::as_str)) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "install it, or see `paceline ra list` for the agents here".into(),
                };
                out.diags.push(src.diag(
                    p.agent.span(),
                    format!("agent `{agent}` is not installed on this node"),
                    Some(help),
                ));
            }
            Lookup::NotHere(why) => {
                if !out.unchecked.contains(&why) {
                    out.unchecked.push(why);
                }
            }
        }
    }
    out
}

fn check_params(
    p: &PrimitiveDoc,
    params: &[(String, bool)],
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) {
    let agent = p.agent.get_ref();
    for (name, value) in &p.params {
        if params.iter().any(|(n, _)| n == name) {
            continue;
        }
        let help = match nearest(name, params.iter().map(|(n, _)| n.as_str())) {
            Some(n) => format!("did you mean `{n}`?"),
            None if params.is_empty() => format!("`{agent}` takes no parameters"),
            None => format!(
                "its parameters: {}",
                params
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        diags.push(src.diag(
            value.span(),
            format!("`{name}` is not a parameter of `{agent}`"),
            Some(help),
        ));
    }
    for (name, _) in params.iter().filter(|(_, required)| *required) {
        if !p.params.contains_key(name) {
            diags.push(src.diag(
                p.id.span(),
                format!(
                    "`{}` lacks `{name}`, which `{agent}` requires",
                    p.id.get_ref()
                ),
                Some(format!(
                    "add it: `params = {{ {name} = \"...\" }}` (see `paceline ra info {agent}`)"
                )),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node with one OCF provider installed.
    struct Node;

    impl AgentCatalog for Node {
        fn lookup(&self, agent: &str) -> Lookup {
            match agent {
                "ocf:heartbeat:IPaddr2" => {
                    Lookup::Installed(vec![("ip".into(), true), ("cidr_netmask".into(), false)])
                }
                a if a.starts_with("ocf:heartbeat:") => {
                    Lookup::Missing(vec!["ocf:heartbeat:IPaddr2".into()])
                }
                _ => Lookup::NotHere("no agents of provider `acme` here".into()),
            }
        }
    }

    fn checked(primitives: &str) -> AgentCheck {
        let doc = crate::config::parse_document(primitives, "c.toml").unwrap();
        let src = SourceMap {
            file: "c.toml",
            text: primitives,
        };
        check(&doc, &src, &Node)
    }

    #[test]
    fn parameters_are_the_agents_and_absent_providers_are_noted() {
        let ok = checked(
            "[[primitive]]\nid = \"vip\"\nagent = \"ocf:heartbeat:IPaddr2\"\nparams = { ip = \"198.18.0.9\" }\n",
        );
        assert!(ok.diags.is_empty() && ok.unchecked.is_empty());
        let bad = checked(
            "[[primitive]]\nid = \"vip\"\nagent = \"ocf:heartbeat:IPaddr2\"\nparams = { ipp = \"198.18.0.9\", cidr_netmask = 24 }\n",
        );
        let shown: Vec<String> = bad.diags.iter().map(|d| d.message.clone()).collect();
        assert_eq!(
            shown,
            [
                "`ipp` is not a parameter of `ocf:heartbeat:IPaddr2`",
                "`vip` lacks `ip`, which `ocf:heartbeat:IPaddr2` requires"
            ]
        );
        assert_eq!(bad.diags[0].help.as_deref(), Some("did you mean `ip`?"));
        let elsewhere = checked(
            "[[primitive]]\nid = \"w\"\nagent = \"ocf:acme:Widget\"\n[[primitive]]\nid = \"f\"\nagent = \"stonith:fence_x\"\n",
        );
        assert!(elsewhere.diags.is_empty());
        assert_eq!(elsewhere.unchecked, ["no agents of provider `acme` here"]);
    }
}
