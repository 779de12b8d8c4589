//! `<rsc_ticket>` constraints (one `TicketConstraint` per resource, sets
//! expanded) and the status section's `<tickets>` (`ticket_state`).

use std::collections::BTreeMap;

use super::dom::Element;
use super::{CibError, Ctx, invalid, truthy};
use crate::model::{LossPolicy, Role, TicketConstraint, TicketState};

impl<'a> Ctx<'a> {
    /// One `rsc_ticket`: `rsc` (with `rsc-role`) or `resource_set`s (each
    /// with its `role`), sharing the constraint's `loss-policy`.
    pub(super) fn rsc_ticket(
        &self,
        el: &'a Element,
        fencing: bool,
    ) -> Result<Vec<TicketConstraint>, CibError> {
        let id = el
            .attr("id")
            .ok_or_else(|| invalid(el, "an rsc_ticket without id"))?;
        let ticket = el
            .attr("ticket")
            .ok_or_else(|| invalid(el, format!("rsc_ticket {id:?} names no ticket")))?;
        let policy = match el.attr("loss-policy") {
            None => None,
            Some(p) => Some(LossPolicy::parse(p).ok_or_else(|| {
                invalid(
                    el,
                    format!("loss-policy {p:?} is not stop, demote, fence or freeze"),
                )
            })?),
        };
        let entry = |resource: &str, role: Option<Role>| TicketConstraint {
            id: id.to_string(),
            ticket: ticket.to_string(),
            resource: resource.to_string(),
            role,
            loss_policy: effective_policy(policy, role, fencing),
        };
        if let Some(rsc) = el.attr("rsc") {
            return Ok(vec![entry(rsc, el.attr("rsc-role").and_then(Role::parse))]);
        }
        let mut out = Vec::new();
        for set in el.children_named("resource_set") {
            let set = self.resolve(set)?;
            let role = set.attr("role").and_then(Role::parse);
            for r in set.children_named("resource_ref") {
                if let Some(rsc) = r.attr("id") {
                    out.push(entry(rsc, role));
                }
            }
        }
        if out.is_empty() {
            return Err(invalid(el, "rsc_ticket needs rsc or a resource_set"));
        }
        Ok(out)
    }
}

/// Pacemaker's rules: no policy means demote for the promoted role, else
/// stop; fence without fencing enabled falls back to stop.
fn effective_policy(policy: Option<LossPolicy>, role: Option<Role>, fencing: bool) -> LossPolicy {
    match policy {
        Some(LossPolicy::Fence) if !fencing => LossPolicy::Stop,
        Some(p) => p,
        None => LossPolicy::default_for(role),
    }
}

/// The status section's `<tickets>`: `granted`, `standby`, `last-granted`.
pub(super) fn ticket_states(status: &Element) -> BTreeMap<String, TicketState> {
    let mut out = BTreeMap::new();
    for tickets in status.children_named("tickets") {
        for t in tickets.children_named("ticket_state") {
            let Some(id) = t.attr("id").filter(|s| !s.is_empty()) else {
                continue;
            };
            let state = TicketState {
                granted: t.attr("granted").is_some_and(truthy),
                standby: t.attr("standby").is_some_and(truthy),
                last_granted: t.attr("last-granted").and_then(|v| v.trim().parse().ok()),
            };
            out.insert(id.to_string(), state);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::config::cib::import_cib;
    use crate::model::{LossPolicy, Role};

    const CIB: &str = r#"<cib><configuration><crm_config/><nodes/><resources>
        <primitive id="db" class="ocf" provider="heartbeat" type="Dummy"/>
        <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
        <primitive id="vip" class="ocf" provider="heartbeat" type="Dummy"/></resources>
      <constraints>
        <rsc_ticket id="t1" rsc="db" rsc-role="Promoted" ticket="siteA"/>
        <rsc_ticket id="t2" ticket="siteA" loss-policy="fence">
          <resource_set id="s"><resource_ref id="web"/><resource_ref id="vip"/></resource_set>
        </rsc_ticket>
      </constraints></configuration>
      <status><tickets><ticket_state id="siteA" granted="true" standby="false" last-granted="100"/></tickets></status></cib>"#;

    #[test]
    fn imports_rsc_ticket_with_pacemakers_defaults() {
        let cib = import_cib(CIB).unwrap();
        let t = &cib.config.tickets;
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[0].role, t[0].loss_policy),
            (Some(Role::Promoted), LossPolicy::Demote)
        );
        // No stonith resource, but stonith-enabled defaults to true.
        assert_eq!(t[1].resource, "web");
        assert_eq!(t[2].loss_policy, LossPolicy::Fence);
        let s = &cib.status.tickets["siteA"];
        assert!(s.granted && !s.standby && s.last_granted == Some(100));
    }

    #[test]
    fn fence_without_fencing_is_stop() {
        let off = CIB.replace(
            "<crm_config/>",
            r#"<crm_config><cluster_property_set id="o"><nvpair id="n" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>"#,
        );
        let cib = import_cib(&off).unwrap();
        assert_eq!(cib.config.tickets[1].loss_policy, LossPolicy::Stop);
        // import-cib writes them as [[ticket]], which loads back the same.
        let text = crate::config::write::to_toml(&cib.config);
        assert!(text.contains("[[ticket]]"), "{text}");
        let back = crate::config::load_config_str(&text, "t.toml").unwrap();
        assert_eq!(back.tickets, cib.config.tickets);
    }
}
