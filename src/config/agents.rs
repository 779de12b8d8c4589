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
//!
//! Fence agents are checked too, against their meta-data as the fencing
//! crate reads it ([`Lookup::Fence`]): `stonith:` primitives under
//! Pacemaker's fencer rules (its `pcmk_*` parameters are the fencer's,
//! `action` and the target's `port`/`plug` it supplies itself), and
//! `type = "agent"` fence devices under the fencing crate's own
//! (`paceline_fencing::agent::check_params`: `action` is supplied, an old
//! name satisfies a requirement of its new one).

use std::ops::Range;

use paceline_fencing::agent::ParamSpec;

use super::document::{Document, FenceDeviceDoc, PrimitiveDoc};
use super::error::{Diagnostic, SourceMap, nearest};

/// What this node knows of one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Installed, with its parameters: (name, required).
    Installed(Vec<(String, bool)>),
    /// A fence agent installed, with its parameters as the fencing crate
    /// reads its meta-data (deprecated names and what they became).
    Fence(Vec<ParamSpec>),
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

/// Checks every `[[primitive]]` and every `type = "agent"` fence device.
pub fn check(doc: &Document, src: &SourceMap, catalog: &dyn AgentCatalog) -> AgentCheck {
    let mut out = AgentCheck::default();
    for p in &doc.primitive {
        let agent = p.agent.get_ref();
        match catalog.lookup(agent) {
            Lookup::Installed(params) => check_params(p, &params, src, &mut out.diags),
            Lookup::Fence(spec) => {
                let given: Vec<(&str, Range<usize>)> = p
                    .params
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.span()))
                    .collect();
                let checked = FenceUse {
                    what: p.id.get_ref(),
                    at: p.id.span(),
                    agent: agent.trim_start_matches("stonith:"),
                    rules: FenceRules::PacemakerFencer,
                };
                check_fence_params(&checked, &given, &spec, src, &mut out.diags);
            }
            other => unknown_agent(agent, p.agent.span(), other, src, &mut out),
        }
    }
    for d in doc.fencing.iter().flat_map(|f| &f.device) {
        check_agent_device(d, src, catalog, &mut out);
    }
    out
}

/// An agent that is not installed here, or not checked here.
fn unknown_agent(
    agent: &str,
    at: Range<usize>,
    lookup: Lookup,
    src: &SourceMap,
    out: &mut AgentCheck,
) {
    match lookup {
        Lookup::Missing(known) => {
            let help = match nearest(agent, known.iter().map(String::as_str)) {
                Some(n) => format!("did you mean `{n}`?"),
                None => "install it, or see `paceline ra list` for the agents here".into(),
            };
            out.diags.push(src.diag(
                at,
                format!("agent `{agent}` is not installed on this node"),
                Some(help),
            ));
        }
        Lookup::NotHere(why) => {
            if !out.unchecked.contains(&why) {
                out.unchecked.push(why);
            }
        }
        Lookup::Installed(_) | Lookup::Fence(_) => {}
    }
}

/// A `type = "agent"` fence device: its `params` (and a `password_file`,
/// which gives `password`) against the agent's meta-data.
fn check_agent_device(
    d: &FenceDeviceDoc,
    src: &SourceMap,
    catalog: &dyn AgentCatalog,
    out: &mut AgentCheck,
) {
    if d.kind.get_ref() != "agent" {
        return;
    }
    let Some(name) = d.rest.get("agent").and_then(|a| a.as_str()) else {
        return; // the converter says it is missing
    };
    let agent = format!("stonith:{name}");
    let at = super::fencing::key_span(src.text, d.id.span().start, "agent")
        .unwrap_or_else(|| d.id.span());
    let spec = match catalog.lookup(&agent) {
        Lookup::Fence(spec) => spec,
        other => return unknown_agent(&agent, at, other, src, out),
    };
    let params_at = super::fencing::key_span(src.text, d.id.span().start, "params")
        .unwrap_or_else(|| d.id.span());
    let mut given: Vec<(&str, Range<usize>)> = match d.rest.get("params") {
        Some(toml::Value::Table(t)) => t.keys().map(|k| (k.as_str(), params_at.clone())).collect(),
        _ => Vec::new(),
    };
    if d.rest.contains_key("password_file") {
        given.push(("password", params_at.clone()));
    }
    let checked = FenceUse {
        what: d.id.get_ref(),
        at: d.id.span(),
        agent: name,
        rules: FenceRules::FencingCrate,
    };
    check_fence_params(&checked, &given, &spec, src, &mut out.diags);
}

/// Whose rules a fence agent's parameters follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FenceRules {
    /// A `stonith:` primitive, as Pacemaker's fencer runs it.
    PacemakerFencer,
    /// A `type = "agent"` device, as the fencing crate runs it.
    FencingCrate,
}

/// Which resource or device uses a fence agent, and under which rules.
struct FenceUse<'a> {
    what: &'a str,
    at: Range<usize>,
    agent: &'a str,
    rules: FenceRules,
}

/// Unknown parameters refused with "did you mean"; required ones present
/// under any of their names. `action` is always the runner's; Pacemaker's
/// fencer also passes the target as `port`/`plug` and reads `pcmk_*`.
fn check_fence_params(
    u: &FenceUse<'_>,
    given: &[(&str, Range<usize>)],
    spec: &[ParamSpec],
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) {
    let fencer = u.rules == FenceRules::PacemakerFencer;
    let current: Vec<&str> = spec
        .iter()
        .filter(|p| !p.deprecated && p.name != "action")
        .map(|p| p.name.as_str())
        .collect();
    for (name, at) in given {
        if spec.iter().any(|p| p.name == *name) || (fencer && name.starts_with("pcmk_")) {
            continue;
        }
        let help = match nearest(name, current.iter().copied()) {
            Some(n) => format!("did you mean `{n}`?"),
            None => format!("its parameters: {}", current.join(", ")),
        };
        diags.push(src.diag(
            at.clone(),
            format!("`{name}` is not a parameter of fence agent `{}`", u.agent),
            Some(help),
        ));
    }
    let supplied = |n: &str| n == "action" || (fencer && matches!(n, "port" | "plug"));
    for p in spec.iter().filter(|p| p.required && !supplied(&p.name)) {
        let names: Vec<&str> = std::iter::once(p.name.as_str())
            .chain(p.obsoletes.as_deref())
            .chain(
                spec.iter()
                    .filter(|q| q.obsoletes.as_deref() == Some(p.name.as_str()))
                    .map(|q| q.name.as_str()),
            )
            .collect();
        if given.iter().any(|(n, _)| names.contains(n)) {
            continue;
        }
        // A deprecated name's requirement is met by the name that replaced it.
        let preferred = spec
            .iter()
            .find(|q| q.obsoletes.as_deref() == Some(p.name.as_str()))
            .map_or(p.name.as_str(), |q| q.name.as_str());
        let message = format!(
            "`{}` lacks `{preferred}`, which fence agent `{}` requires",
            u.what, u.agent
        );
        if !diags.iter().any(|d| d.message == message) {
            diags.push(src.diag(
                u.at.clone(),
                message,
                Some(format!(
                    "add it to its params (see `paceline ra info stonith:{}`)",
                    u.agent
                )),
            ));
        }
    }
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
