//! The TOML document as written by humans: serde structs that keep the
//! byte span of every value so that validation can point at it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

pub type S<T> = Spanned<T>;
pub type AttrMap = BTreeMap<String, S<toml::Value>>;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_budget: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<MembershipSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<QuorumSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fencing: Option<FencingSection>,
    /// The read-only HTTP endpoint (`config::http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<super::http::HttpSection>,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub properties: AttrMap,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub rsc_defaults: AttrMap,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub op_defaults: AttrMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node: Vec<NodeDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primitive: Vec<PrimitiveDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<GroupDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clone: Vec<CloneDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<LocationDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub colocation: Vec<ColocationDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<OrderDoc>,
    /// Alert agents (`config::alerts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert: Vec<super::alerts::AlertDoc>,
    /// This cluster as one site sharing tickets through etcd (`config::site`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<super::site::SiteSection>,
    /// Resources tied to tickets (`config::tickets`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ticket: Vec<super::tickets::TicketDoc>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    pub name: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authkey: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_timeout: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<S<u16>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuorumSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_node: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for_all: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_man_standing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_tie_breaker: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_votes: Option<S<u32>>,
    /// An etcd cluster as a third vote (issue 19).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<super::witness::WitnessSection>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FencingSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<S<bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_max: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_delay: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device: Vec<FenceDeviceDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub level: Vec<FenceLevelDoc>,
}

/// Device keys depend on the type; the fencing crate validates them in
/// depth, here only the shared keys are checked.
#[derive(Debug, Deserialize, Serialize)]
pub struct FenceDeviceDoc {
    pub id: S<String>,
    #[serde(rename = "type")]
    pub kind: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<S<String>>,
    #[serde(flatten)]
    pub rest: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FenceLevelDoc {
    pub target: S<String>,
    pub index: S<u32>,
    pub devices: Vec<S<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDoc {
    pub name: S<String>,
    pub id: S<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub attributes: AttrMap,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub utilization: AttrMap,
    #[serde(default, skip_serializing_if = "is_false")]
    pub standby: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub maintenance: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrimitiveDoc {
    pub id: S<String>,
    pub agent: S<String>,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub params: AttrMap,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub meta: AttrMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<OpDoc>,
    /// What it needs of a node's capacity (integers by name).
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub utilization: AttrMap,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpDoc {
    pub name: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_fail: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDoc {
    pub id: S<String>,
    /// Ids of `[[primitive]]` entries, in start order.
    pub members: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub meta: AttrMap,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloneDoc {
    pub id: S<String>,
    /// Id of the `[[primitive]]` or `[[group]]` that is cloned.
    pub resource: S<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub promotable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_node_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_node_max: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub interleave: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub ordered: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub notify: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub globally_unique: bool,
    #[serde(default, skip_serializing_if = "AttrMap::is_empty")]
    pub meta: AttrMap,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocationDoc {
    pub id: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<S<String>>,
    /// A regular expression over resource ids instead of `resource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_pattern: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<S<toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_discovery: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDoc>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<S<toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_attribute: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<S<String>>,
    /// "and" (default) or "or".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<S<String>>,
    pub expressions: Vec<ExprDoc>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExprDoc {
    pub attribute: S<String>,
    /// eq ne lt gt lte gte defined not_defined
    pub op: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<S<toml::Value>>,
    /// string (default), integer, number, version
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "type")]
    pub value_type: Option<S<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetDoc {
    pub resources: Vec<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_all: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<S<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColocationDoc {
    pub id: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<S<toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_role: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influence: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<SetDoc>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrderDoc {
    pub id: S<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_action: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then_action: Option<S<String>>,
    /// Mandatory (default), Optional or Serialize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<S<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symmetrical: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<SetDoc>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
