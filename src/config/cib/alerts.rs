//! `<alerts>`: each `<alert>` with its `<select>`, meta attributes
//! (`timeout`, `timestamp-format`), instance attributes (the agent's
//! environment) and `<recipient>`s, typed with the TOML's own parsers.

use std::time::Duration;

use super::dom::Element;
use super::{CibError, Ctx, invalid};
use crate::config::alerts::{default_format, parse_timestamp_format};
use crate::config::duration::parse_duration;
use crate::model::Attributes;
use crate::model::alert::{
    Alert, AlertKind, AlertRecipient, DEFAULT_ALERT_TIMEOUT, TimestampFormat,
};

impl<'a> Ctx<'a> {
    pub(super) fn alerts(&self, alerts: &'a Element) -> Result<Vec<Alert>, CibError> {
        alerts
            .children_named("alert")
            .map(|a| self.alert(self.resolve(a)?))
            .collect()
    }

    fn alert(&self, el: &'a Element) -> Result<Alert, CibError> {
        let id = el
            .attr("id")
            .ok_or_else(|| invalid(el, "an alert without id"))?;
        let path = el
            .attr("path")
            .ok_or_else(|| invalid(el, "an alert without path"))?;
        let meta = self.attr_sets(el, "meta_attributes")?;
        let (select, attributes) = select(el);
        let mut recipients = Vec::new();
        for r in el.children_named("recipient") {
            recipients.push(self.recipient(self.resolve(r)?)?);
        }
        Ok(Alert {
            id: id.to_string(),
            path: path.to_string(),
            timeout: timeout(el, &meta)?.unwrap_or(DEFAULT_ALERT_TIMEOUT),
            timestamp_format: stamp(el, &meta)?.unwrap_or_else(default_format),
            select,
            attributes,
            params: self.attr_sets(el, "instance_attributes")?,
            recipients,
        })
    }

    fn recipient(&self, el: &'a Element) -> Result<AlertRecipient, CibError> {
        let meta = self.attr_sets(el, "meta_attributes")?;
        Ok(AlertRecipient {
            id: el
                .attr("id")
                .ok_or_else(|| invalid(el, "a recipient without id"))?
                .to_string(),
            value: el.attr("value").unwrap_or("").to_string(),
            timeout: timeout(el, &meta)?,
            timestamp_format: stamp(el, &meta)?,
            params: self.attr_sets(el, "instance_attributes")?,
        })
    }
}

/// `<select>`'s kinds (none: all) and `<select_attributes>`' names.
fn select(el: &Element) -> (Vec<AlertKind>, Vec<String>) {
    let Some(select) = el.child("select") else {
        return (Vec::new(), Vec::new());
    };
    let mut kinds = Vec::new();
    for (name, kind) in [
        ("select_nodes", AlertKind::Node),
        ("select_fencing", AlertKind::Fencing),
        ("select_resources", AlertKind::Resource),
        ("select_attributes", AlertKind::Attribute),
    ] {
        if select.child(name).is_some() {
            kinds.push(kind);
        }
    }
    let attributes = select
        .child("select_attributes")
        .map(|s| {
            s.children_named("attribute")
                .filter_map(|a| a.attr("name").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (kinds, attributes)
}

fn timeout(el: &Element, meta: &Attributes) -> Result<Option<Duration>, CibError> {
    meta.get("timeout")
        .map(|t| {
            parse_duration(t)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| invalid(el, format!("timeout {t:?} is not a duration over 0")))
        })
        .transpose()
}

fn stamp(el: &Element, meta: &Attributes) -> Result<Option<TimestampFormat>, CibError> {
    meta.get("timestamp-format")
        .map(|f| {
            parse_timestamp_format(f)
                .map_err(|e| invalid(el, format!("timestamp-format {f:?}: {e}")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use crate::model::alert::AlertKind;

    const CIB: &str = r#"<cib validate-with="pacemaker-3.9"><configuration><crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config><nodes/><resources/><constraints/>
<alerts>
  <alert id="file" path="/usr/share/pacemaker/alerts/alert_file.sh.sample">
    <meta_attributes id="file-meta"><nvpair id="file-t" name="timeout" value="15s"/></meta_attributes>
    <instance_attributes id="file-ia"><nvpair id="file-d" name="debug_exec_order" value="false"/></instance_attributes>
    <select><select_resources/><select_attributes><attribute id="file-a" name="master-db"/></select_attributes></select>
    <recipient id="file-log" value="/var/log/alerts.log">
      <meta_attributes id="file-log-meta"><nvpair id="file-log-f" name="timestamp-format" value="%Y-%m-%d %H:%M:%S"/></meta_attributes>
    </recipient>
  </alert>
</alerts></configuration><status/></cib>"#;

    #[test]
    fn alerts_are_imported_and_written_as_alert_tables() {
        let cib = super::super::import_cib(CIB).unwrap();
        let a = &cib.config.alerts[0];
        assert_eq!(a.timeout, std::time::Duration::from_secs(15));
        assert_eq!(a.select, vec![AlertKind::Resource, AlertKind::Attribute]);
        assert_eq!(a.attributes, vec!["master-db".to_string()]);
        assert_eq!(
            a.params.get("debug_exec_order").map(String::as_str),
            Some("false")
        );
        let r = &a.recipients[0];
        assert_eq!(r.value, "/var/log/alerts.log");
        let toml = crate::config::to_toml(&cib.config);
        assert!(toml.contains("[[alert]]\nid = \"file\""), "{toml}");
        assert!(
            toml.contains("[[alert.recipient]]\nid = \"file-log\""),
            "{toml}"
        );
        // What import-cib writes loads back to the same alerts.
        let back = crate::config::load_cluster_str(&toml, "imported.toml").unwrap();
        assert_eq!(back.model.alerts, cib.config.alerts);
    }

    #[test]
    fn a_bad_timestamp_format_is_refused_with_its_line() {
        let bad = CIB.replace("%Y-%m-%d", "%Q");
        let err = super::super::import_cib(&bad).unwrap_err().to_string();
        assert!(
            err.contains("line 7: <recipient>") && err.contains("%Q"),
            "{err}"
        );
    }
}
