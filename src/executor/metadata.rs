//! OCF meta-data XML: the parameters an agent accepts (to validate a
//! configuration and to show them in `paceline ra info`) and its actions.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Serialize;

use super::ExecError;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub required: bool,
    pub unique: bool,
    pub shortdesc: String,
    pub content_type: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ActionSpec {
    pub name: String,
    pub timeout: Option<String>,
    pub interval: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AgentMetadata {
    pub name: String,
    pub version: Option<String>,
    pub shortdesc: String,
    pub longdesc: String,
    pub parameters: Vec<Parameter>,
    pub actions: Vec<ActionSpec>,
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn flag(v: Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "yes"))
}

/// Records what an opening tag says; returns its name.
fn open_element(
    meta: &mut AgentMetadata,
    e: &quick_xml::events::BytesStart<'_>,
    parent: Option<&str>,
) -> String {
    let tag = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    match tag.as_str() {
        "resource-agent" => {
            meta.name = attr(e, "name").unwrap_or_default();
            meta.version = attr(e, "version");
            // fence-agents put their one-line description here.
            if let Some(d) = attr(e, "shortdesc") {
                meta.shortdesc = d;
            }
        }
        "parameter" => meta.parameters.push(Parameter {
            name: attr(e, "name").unwrap_or_default(),
            required: flag(attr(e, "required")),
            unique: flag(attr(e, "unique")),
            ..Parameter::default()
        }),
        "content" if parent == Some("parameter") => {
            if let Some(p) = meta.parameters.last_mut() {
                p.content_type = attr(e, "type").unwrap_or_default();
                p.default = attr(e, "default");
            }
        }
        "action" => meta.actions.push(ActionSpec {
            name: attr(e, "name").unwrap_or_default(),
            timeout: attr(e, "timeout"),
            interval: attr(e, "interval"),
            role: attr(e, "role"),
        }),
        _ => {}
    }
    tag
}

impl AgentMetadata {
    pub fn parse(xml: &str) -> Result<Self, ExecError> {
        let mut reader = Reader::from_str(xml);
        let mut meta = AgentMetadata::default();
        let mut stack: Vec<String> = Vec::new();
        let mut text = String::new();
        loop {
            let ev = reader.read_event().map_err(|e| ExecError::MetaData {
                agent: meta.name.clone(),
                message: format!("at byte {}: {e}", reader.buffer_position()),
            })?;
            match ev {
                Event::Start(e) => {
                    let tag = open_element(&mut meta, &e, stack.last().map(String::as_str));
                    text.clear();
                    stack.push(tag);
                }
                Event::Empty(e) => {
                    open_element(&mut meta, &e, stack.last().map(String::as_str));
                }
                Event::Text(t) => {
                    if let Ok(s) = t.decode() {
                        text.push_str(&s);
                    }
                }
                Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
                Event::End(_) => {
                    let tag = stack.pop().unwrap_or_default();
                    let parent = stack.last().map(String::as_str);
                    let value = text.trim().to_string();
                    match (tag.as_str(), parent) {
                        ("shortdesc", Some("resource-agent")) => meta.shortdesc = value,
                        ("longdesc", Some("resource-agent")) => meta.longdesc = value,
                        ("shortdesc", Some("parameter")) => {
                            if let Some(p) = meta.parameters.last_mut() {
                                p.shortdesc = value;
                            }
                        }
                        _ => {}
                    }
                    text.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if meta.name.is_empty() {
            return Err(ExecError::MetaData {
                agent: String::new(),
                message: "no <resource-agent name=...> element".into(),
            });
        }
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parameters_and_actions() {
        let xml = r#"<?xml version="1.0"?>
<resource-agent name="Dummy" version="1.0">
<version>1.1</version>
<shortdesc lang="en">Example stateless resource agent</shortdesc>
<parameters>
<parameter name="state" unique="1" required="0">
<shortdesc lang="en">State file</shortdesc>
<content type="string" default="/run/x.state" />
</parameter>
<parameter name="ip" required="1"><content type="string"/></parameter>
</parameters>
<actions><action name="start" timeout="20s" /><action name="monitor" timeout="20s" interval="10s"/></actions>
</resource-agent>"#;
        let m = AgentMetadata::parse(xml).unwrap();
        assert_eq!(m.name, "Dummy");
        assert_eq!(m.shortdesc, "Example stateless resource agent");
        assert_eq!(m.parameters.len(), 2);
        assert_eq!(m.parameters[0].shortdesc, "State file");
        assert_eq!(m.parameters[0].default.as_deref(), Some("/run/x.state"));
        assert!(m.parameters[1].required);
        assert_eq!(m.actions[1].interval.as_deref(), Some("10s"));
    }
}
