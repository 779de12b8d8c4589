//! `import-cib` = the CIB importer + `to_toml`: the TOML written for
//! Pacemaker's scheduler regression CIBs must load back and keep every
//! resource and constraint.

use std::path::{Path, PathBuf};

use paceline::config::cib::import_cib;
use paceline::config::{load_config_str, to_toml};
use paceline::model::Resource;

fn corpus() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let near = root.join("../shared/conformance/pacemaker-scheduler");
    if near.is_dir() {
        near
    } else {
        root.join("../../shared/conformance/pacemaker-scheduler")
    }
}

fn primitive_ids(r: &Resource, out: &mut Vec<String>) {
    match r {
        Resource::Primitive(p) => out.push(p.id.clone()),
        Resource::Group(g) => out.extend(g.members.iter().map(|m| m.id.clone())),
        Resource::Clone(c) => {
            out.push(c.id.clone());
            match &c.child {
                paceline::model::CloneChild::Primitive(p) => out.push(p.id.clone()),
                paceline::model::CloneChild::Group(g) => {
                    out.extend(g.members.iter().map(|m| m.id.clone()))
                }
            }
        }
    }
}

#[test]
fn imported_cibs_load_back() {
    let dir = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let (mut ok, mut failed) = (0, Vec::new());
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let Ok(cib) = import_cib(&text) else { continue };
        let mut cfg = cib.config;
        // Fence devices live outside the scheduler model; CIBs without
        // stonith primitives cannot name one.
        let has_stonith = cfg.resources.iter().any(|r| {
            matches!(r, Resource::Primitive(p) if p.class == paceline::model::ResourceClass::Stonith)
        });
        if !has_stonith {
            cfg.properties.stonith_enabled = false;
            cfg.properties.raw.remove("stonith-enabled");
        }
        let toml = to_toml(&cfg);
        match load_config_str(&toml, &f.display().to_string()) {
            Ok(back) => {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                cfg.resources.iter().for_each(|r| primitive_ids(r, &mut a));
                back.resources.iter().for_each(|r| primitive_ids(r, &mut b));
                a.sort();
                b.sort();
                assert_eq!(a, b, "{}", f.display());
                assert_eq!(cfg.orders.len(), back.orders.len(), "{}", f.display());
                assert_eq!(
                    cfg.colocations.len(),
                    back.colocations.len(),
                    "{}",
                    f.display()
                );
                ok += 1;
            }
            Err(e) => failed.push(format!("{}: {e}", f.display())),
        }
    }
    println!("import-cib: {ok} loaded back, {} failed", failed.len());
    for f in failed.iter() {
        println!("{f}\n");
    }
    assert!(ok > 0, "no CIB imported");
    assert!(
        failed.is_empty(),
        "{} imported CIBs do not load back",
        failed.len()
    );
}

/// A CIB as `cibadmin -Q` prints it, with what an admin's cluster has
/// beside resources: two IPMI fence devices and a PDU for both nodes in a
/// fencing topology, a template, tags in constraints, utilization, ACLs, a
/// bundle and a rule-based default.
const CIB: &str = r#"<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="42" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="o-stonith" name="stonith-enabled" value="true"/>
        <nvpair id="o-strategy" name="placement-strategy" value="balanced"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="node1">
        <utilization id="node1-u"><nvpair id="node1-u-cpu" name="cpu" value="8"/></utilization>
      </node>
      <node id="2" uname="node2">
        <utilization id="node2-u"><nvpair id="node2-u-cpu" name="cpu" value="4"/></utilization>
      </node>
    </nodes>
    <resources>
      <primitive id="ipmi-node1" class="stonith" type="fence_ipmilan">
        <instance_attributes id="ipmi-node1-ia">
          <nvpair id="ipmi-node1-ip" name="ip" value="198.18.10.1"/>
          <nvpair id="ipmi-node1-user" name="username" value="admin"/>
          <nvpair id="ipmi-node1-pass" name="password" value="s3cret"/>
          <nvpair id="ipmi-node1-hosts" name="pcmk_host_list" value="node1"/>
          <nvpair id="ipmi-node1-delay" name="pcmk_delay_base" value="5s"/>
        </instance_attributes>
        <operations><op id="ipmi-node1-mon" name="monitor" interval="60s"/></operations>
      </primitive>
      <primitive id="ipmi-node2" class="stonith" type="fence_ipmilan">
        <instance_attributes id="ipmi-node2-ia">
          <nvpair id="ipmi-node2-ip" name="ip" value="198.18.10.2"/>
          <nvpair id="ipmi-node2-user" name="username" value="admin"/>
          <nvpair id="ipmi-node2-pass" name="password" value="s3cret"/>
          <nvpair id="ipmi-node2-hosts" name="pcmk_host_list" value="node2"/>
        </instance_attributes>
      </primitive>
      <primitive id="pdu" class="stonith" type="fence_apc_snmp">
        <instance_attributes id="pdu-ia">
          <nvpair id="pdu-ip" name="ip" value="198.18.10.9"/>
          <nvpair id="pdu-map" name="pcmk_host_map" value="node1:3;node2:4"/>
          <nvpair id="pdu-check" name="pcmk_host_check" value="static-list"/>
        </instance_attributes>
      </primitive>
      <template id="web-template" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="web-template-ia">
          <nvpair id="web-template-fake" name="fake" value="template"/>
          <nvpair id="web-template-state" name="state" value="/run/web.state"/>
        </instance_attributes>
        <utilization id="web-template-u"><nvpair id="web-template-u-cpu" name="cpu" value="2"/></utilization>
        <operations>
          <op id="web-template-mon" name="monitor" interval="10s" timeout="20s"/>
          <op id="web-template-start" name="start" interval="0" timeout="30s"/>
        </operations>
      </template>
      <primitive id="web1" template="web-template">
        <instance_attributes id="web1-ia"><nvpair id="web1-fake" name="fake" value="web1"/></instance_attributes>
        <operations><op id="web1-mon" name="monitor" interval="10s" timeout="40s"/></operations>
      </primitive>
      <primitive id="web2" template="web-template"/>
      <primitive id="db" class="ocf" provider="heartbeat" type="Dummy">
        <utilization id="db-u"><nvpair id="db-u-cpu" name="cpu" value="3"/></utilization>
      </primitive>
      <bundle id="httpd-bundle">
        <docker image="httpd" replicas="2"/>
      </bundle>
    </resources>
    <constraints>
      <rsc_location id="web-prefers-node1" rsc="webs" node="node1" score="100"/>
      <rsc_colocation id="web-with-db" score="INFINITY">
        <resource_set id="web-with-db-0"><resource_ref id="webs"/></resource_set>
        <resource_set id="web-with-db-1"><resource_ref id="db"/></resource_set>
      </rsc_colocation>
      <rsc_order id="db-then-webs" first="db" then="webs"/>
    </constraints>
    <fencing-topology>
      <fencing-level id="fl-node1-1" target="node1" index="1" devices="ipmi-node1"/>
      <fencing-level id="fl-node1-2" target="node1" index="2" devices="pdu"/>
      <fencing-level id="fl-node2-1" target="node2" index="1" devices="ipmi-node2"/>
      <fencing-level id="fl-node2-2" target="node2" index="2" devices="pdu"/>
      <fencing-level id="fl-rack" target-pattern="rack.*" index="1" devices="pdu"/>
    </fencing-topology>
    <tags>
      <tag id="webs"><obj_ref id="web1"/><obj_ref id="web2"/></tag>
    </tags>
    <rsc_defaults>
      <meta_attributes id="rsc-defaults">
        <nvpair id="rsc-defaults-stick" name="resource-stickiness" value="100"/>
      </meta_attributes>
      <meta_attributes id="rsc-defaults-night">
        <rule id="night" score="INFINITY"><date_expression id="night-d" operation="gt" start="2026-01-01"/></rule>
        <nvpair id="rsc-defaults-night-stick" name="resource-stickiness" value="0"/>
      </meta_attributes>
    </rsc_defaults>
    <acls>
      <acl_role id="read-only"><acl_permission id="ro" kind="read" xpath="/cib"/></acl_role>
    </acls>
  </configuration>
  <status/>
</cib>
"#;

#[test]
fn topology_templates_tags_and_utilization_are_imported_and_the_rest_listed() {
    let cib = import_cib(CIB).unwrap();
    let (toml, not_imported) = paceline::config::cib_to_toml(&cib);
    // It loads as it is: the devices and levels are consistent.
    let cfg = load_config_str(&toml, "imported.toml").unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let doc: toml::Value = toml::from_str(&toml).unwrap();
    let fencing = &doc["fencing"];
    let devices: Vec<(String, String)> = fencing["device"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().into(),
                d["agent"].as_str().unwrap().into(),
            )
        })
        .collect();
    // One device per node for the PDU, with the node's outlet as its plug.
    assert_eq!(
        devices,
        [
            ("ipmi-node1".to_string(), "fence_ipmilan".to_string()),
            ("ipmi-node2".into(), "fence_ipmilan".into()),
            ("pdu-node1".into(), "fence_apc_snmp".into()),
            ("pdu-node2".into(), "fence_apc_snmp".into()),
        ]
    );
    let pdu1 = &fencing["device"][2];
    assert_eq!(pdu1["params"]["plug"].as_str(), Some("3"));
    assert!(pdu1["params"].get("pcmk_host_map").is_none());
    let ipmi1 = &fencing["device"][0];
    assert_eq!(ipmi1["params"]["password"].as_str(), Some("s3cret"));
    assert_eq!(ipmi1["delay"].as_str(), Some("5s"));
    let levels: Vec<(String, i64, Vec<String>)> = fencing["level"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["target"].as_str().unwrap().into(),
                l["index"].as_integer().unwrap(),
                l["devices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            ("node1".to_string(), 1, vec!["ipmi-node1".to_string()]),
            ("node1".into(), 2, vec!["pdu-node1".into()]),
            ("node2".into(), 1, vec!["ipmi-node2".into()]),
            ("node2".into(), 2, vec!["pdu-node2".into()]),
        ]
    );
    // The template: its agent, its values under the primitive's own, its
    // operations with the primitive's monitor instead of its own.
    let web1 = cfg.primitive("web1").unwrap();
    assert_eq!(web1.agent_spec(), "ocf:heartbeat:Dummy");
    assert_eq!(web1.params["fake"], "web1");
    assert_eq!(web1.params["state"], "/run/web.state");
    assert_eq!(web1.utilization["cpu"], "2");
    let monitors: Vec<_> = web1
        .operations
        .iter()
        .filter(|o| o.name == "monitor")
        .collect();
    assert_eq!(monitors.len(), 1);
    assert_eq!(monitors[0].timeout_ms, Some(40_000));
    assert!(web1.operations.iter().any(|o| o.name == "start"));
    let web2 = cfg.primitive("web2").unwrap();
    assert_eq!(web2.params["fake"], "template");
    // Utilization of nodes and resources.
    assert_eq!(cfg.nodes[0].utilization["cpu"], "8");
    assert_eq!(cfg.primitive("db").unwrap().utilization["cpu"], "3");
    // The tag: a location per member, the set's members in place.
    let locations: Vec<&str> = cfg.locations.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        locations,
        ["web-prefers-node1-web1", "web-prefers-node1-web2"]
    );
    assert_eq!(cfg.colocations[0].sets[0].resources, ["web1", "web2"]);
    // Listed, never silently dropped: the order naming the tag, the tag,
    // the fencer's parameter, the device's monitor, the pattern level, the
    // bundle, the ACLs and the rule-based default.
    let all = not_imported.join("\n");
    for what in [
        "order `db-then-webs` names a tag",
        "tag `webs` (web1, web2)",
        "pcmk_host_check",
        "fence device `ipmi-node1`: its operations",
        "fl-rack",
        "<bundle id=\"httpd-bundle\">",
        "<acls>",
        "rsc-defaults-night",
    ] {
        assert!(all.contains(what), "`{what}` not listed:\n{all}");
    }
    // The list heads the TOML too.
    assert!(toml.contains("#   <acls>"), "{toml}");
}

/// A CIB location with rules and a role: Pacemaker reads only the rules'
/// roles, so the import drops the constraint's (the TOML written from it
/// would otherwise apply it to the rules) and lists it.
#[test]
fn a_rule_location_s_own_role_is_dropped_and_listed() {
    let cib = r##"<cib validate-with="pacemaker-3.9"><configuration><crm_config><cluster_property_set id="o"><nvpair id="s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config><nodes>
<node id="1" uname="n1"/><node id="2" uname="n2"/></nodes><resources>
<primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints>
<rsc_location id="l" rsc="a" role="Promoted"><rule id="r" score="50">
<expression id="e" attribute="#uname" operation="eq" value="n2"/></rule></rsc_location>
</constraints></configuration><status/></cib>"##;
    let imported = import_cib(cib).unwrap();
    assert_eq!(imported.config.locations[0].role, None);
    let (toml, not_imported) = paceline::config::cib_to_toml(&imported);
    assert!(
        not_imported
            .iter()
            .any(|l| l.contains("rsc_location l: role=Promoted")),
        "{not_imported:?}"
    );
    let cfg = load_config_str(&toml, "imported.toml").unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let paceline::model::LocationPlacement::Rules(rules) = &cfg.locations[0].placement else {
        panic!("{toml}")
    };
    assert_eq!(rules[0].role, None, "{toml}");
}
