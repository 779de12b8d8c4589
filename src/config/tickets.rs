//! `[[ticket]]`: resources that run only while this cluster holds a
//! ticket (Pacemaker's `rsc_ticket`), typed. One entry per resource:
//!
//! ```toml
//! [[ticket]]
//! id = "db-needs-site"
//! ticket = "dc-east"
//! resources = ["db-clone"]
//! role = "Promoted"        # optional: only this role needs the ticket
//! loss_policy = "demote"   # stop, demote, fence or freeze
//! ```
//!
//! Pacemaker's defaults: `demote` for the promoted role, else `stop`;
//! `fence` is refused when fencing is off (Pacemaker resets it to stop and
//! logs a configuration error; here the file says it).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::document::S;
use super::error::{Diagnostic, SourceMap, nearest};
use crate::model::{LossPolicy, Role, TicketConstraint};

/// The longest ticket name (an etcd key and a status map key).
pub const MAX_TICKET_NAME: usize = 64;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TicketDoc {
    pub id: S<String>,
    pub ticket: S<String>,
    pub resources: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_policy: Option<S<String>>,
}

/// Whether `name` may name a ticket: letters, digits, `-`, `_`, `.`.
pub fn valid_ticket_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TICKET_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The typed constraints; every problem goes to `diags` at its span.
pub(crate) fn convert(
    docs: &[TicketDoc],
    resources: &BTreeSet<String>,
    fencing: bool,
    src: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Vec<TicketConstraint> {
    let mut out = Vec::new();
    for d in docs {
        let mut err = |span, msg: String, help: &str| {
            diags.push(src.diag(span, msg, Some(help.to_string())));
        };
        if !valid_ticket_name(d.ticket.get_ref()) {
            err(
                d.ticket.span(),
                format!("ticket name `{}` is not valid", d.ticket.get_ref()),
                "letters, digits, `-`, `_` and `.`, at most 64",
            );
        }
        if d.resources.is_empty() {
            err(
                d.id.span(),
                format!("ticket `{}` names no resource", d.id.get_ref()),
                "list them: resources = [\"db\"]",
            );
        }
        let role = d.role.as_ref().and_then(|r| {
            let role = Role::parse(r.get_ref());
            if role.is_none() {
                err(
                    r.span(),
                    format!("unknown role `{}`", r.get_ref()),
                    "use one of Started, Stopped, Promoted, Unpromoted",
                );
            }
            role
        });
        let policy = d.loss_policy.as_ref().and_then(|p| {
            let policy = LossPolicy::parse(p.get_ref());
            match policy {
                None => err(
                    p.span(),
                    format!("unknown loss_policy `{}`", p.get_ref()),
                    "use one of stop, demote, fence, freeze",
                ),
                Some(LossPolicy::Fence) if !fencing => err(
                    p.span(),
                    "loss_policy `fence` needs fencing".into(),
                    "configure [fencing], or use stop",
                ),
                Some(_) => {}
            }
            policy
        });
        for r in &d.resources {
            if !resources.contains(r.get_ref()) {
                let help = match nearest(r.get_ref(), resources.iter().map(String::as_str)) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "define it as a [[primitive]], [[group]] or [[clone]] first".into(),
                };
                err(
                    r.span(),
                    format!("unknown resource `{}`", r.get_ref()),
                    &help,
                );
            }
            out.push(TicketConstraint {
                id: d.id.get_ref().clone(),
                ticket: d.ticket.get_ref().clone(),
                resource: r.get_ref().clone(),
                role,
                loss_policy: policy.unwrap_or(LossPolicy::default_for(role)),
            });
        }
    }
    out
}
