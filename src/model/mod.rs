//! The cluster model: plain data shared by the config loaders, the CIB
//! importer, the scheduler and the CLI. No behaviour beyond small helpers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod alert;
pub mod score;
pub mod status;

pub use score::{INFINITY, Score, ScoreParseError};
pub use status::*;

/// Identifier of a node (its uname).
pub type NodeId = String;
/// Identifier of a resource (primitive, group or clone).
pub type ResourceId = String;

/// The meta attribute (`OCF_RESKEY_CRM_meta_paceline_fenced_holder` for an
/// OCF agent) a start carries when the instance last ran on a node whose
/// fencing was confirmed since: that node's name. An agent may skip a check
/// against the previous holder, which can hold nothing any more
/// (`builtin:ipaddr`'s ARP probe). Set by the DC that saw the fence.
pub const FENCED_HOLDER_META: &str = "paceline_fenced_holder";

/// Resource roles, with Pacemaker's legacy names accepted on input.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum Role {
    #[default]
    Unknown,
    Stopped,
    Started,
    Unpromoted,
    Promoted,
}

impl Role {
    /// Parses a role name, mapping Master/Slave to Promoted/Unpromoted.
    /// Case does not matter, as for Pacemaker (`target-role=stopped`).
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "stopped" => Some(Role::Stopped),
            "started" => Some(Role::Started),
            "unpromoted" | "slave" => Some(Role::Unpromoted),
            "promoted" | "master" => Some(Role::Promoted),
            "unknown" => Some(Role::Unknown),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Role::Unknown => "Unknown",
            Role::Stopped => "Stopped",
            Role::Started => "Started",
            Role::Unpromoted => "Unpromoted",
            Role::Promoted => "Promoted",
        }
    }
}

/// Ordered name/value pairs (instance attributes, meta attributes, options).
pub type Attributes = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceClass {
    #[default]
    Ocf,
    Systemd,
    Lsb,
    Service,
    Builtin,
    Stonith,
}

impl ResourceClass {
    pub fn parse(s: &str) -> Option<ResourceClass> {
        match s {
            "ocf" => Some(ResourceClass::Ocf),
            "systemd" => Some(ResourceClass::Systemd),
            "lsb" => Some(ResourceClass::Lsb),
            "service" => Some(ResourceClass::Service),
            "builtin" => Some(ResourceClass::Builtin),
            "stonith" => Some(ResourceClass::Stonith),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            ResourceClass::Ocf => "ocf",
            ResourceClass::Systemd => "systemd",
            ResourceClass::Lsb => "lsb",
            ResourceClass::Service => "service",
            ResourceClass::Builtin => "builtin",
            ResourceClass::Stonith => "stonith",
        }
    }
}

/// What to do when an operation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFail {
    Ignore,
    Block,
    Stop,
    Restart,
    Standby,
    Fence,
    Demote,
}

impl OnFail {
    pub fn parse(s: &str) -> Option<OnFail> {
        match s {
            "ignore" => Some(OnFail::Ignore),
            "block" => Some(OnFail::Block),
            "stop" => Some(OnFail::Stop),
            "restart" => Some(OnFail::Restart),
            "standby" => Some(OnFail::Standby),
            "fence" => Some(OnFail::Fence),
            "demote" => Some(OnFail::Demote),
            _ => None,
        }
    }
}

/// What a resource needs before it may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requires {
    Nothing,
    Quorum,
    Fencing,
    Unfencing,
}

/// What to do when a resource is found active on several nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MultipleActive {
    #[default]
    StopStart,
    StopOnly,
    Block,
    StopUnexpected,
}

/// One configured operation (monitor, start, stop, promote...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    pub name: String,
    /// Interval in milliseconds; 0 for non-recurring operations.
    pub interval_ms: u64,
    pub timeout_ms: Option<u64>,
    pub role: Option<Role>,
    pub on_fail: Option<OnFail>,
    pub enabled: bool,
    #[serde(default)]
    pub meta: Attributes,
}

/// Resource meta attributes that the scheduler interprets. Values absent
/// here fall back to rsc_defaults and then to the cluster defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResourceMeta {
    pub target_role: Option<Role>,
    pub stickiness: Option<Score>,
    pub migration_threshold: Option<i64>,
    /// How long after which a failure is forgotten (`failure-timeout`).
    pub failure_timeout: Option<Duration>,
    pub is_managed: Option<bool>,
    pub maintenance: Option<bool>,
    pub priority: Option<i64>,
    pub requires: Option<Requires>,
    pub multiple_active: Option<MultipleActive>,
    pub allow_migrate: Option<bool>,
    /// Every meta attribute as written, including those interpreted above.
    #[serde(default)]
    pub raw: Attributes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Primitive {
    pub id: ResourceId,
    pub class: ResourceClass,
    pub provider: Option<String>,
    pub agent: String,
    #[serde(default)]
    pub params: Attributes,
    #[serde(default)]
    pub meta: ResourceMeta,
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// What it needs of a node's capacity (`utilization` attributes:
    /// integers by name), checked when placement-strategy is not default.
    #[serde(default)]
    pub utilization: Attributes,
}

impl Primitive {
    /// "ocf:heartbeat:IPaddr2" style agent name.
    pub fn agent_spec(&self) -> String {
        match &self.provider {
            Some(p) => format!("{}:{}:{}", self.class.name(), p, self.agent),
            None => format!("{}:{}", self.class.name(), self.agent),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: ResourceId,
    pub members: Vec<Primitive>,
    #[serde(default)]
    pub meta: ResourceMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloneChild {
    Primitive(Primitive),
    Group(Group),
}

impl CloneChild {
    pub fn id(&self) -> &str {
        match self {
            CloneChild::Primitive(p) => &p.id,
            CloneChild::Group(g) => &g.id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clone {
    pub id: ResourceId,
    pub child: CloneChild,
    pub clone_max: Option<u32>,
    pub clone_node_max: u32,
    pub clone_min: u32,
    pub interleave: bool,
    pub ordered: bool,
    pub globally_unique: bool,
    pub notify: bool,
    pub promotable: bool,
    pub promoted_max: u32,
    pub promoted_node_max: u32,
    #[serde(default)]
    pub meta: ResourceMeta,
}

/// A top-level resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resource {
    Primitive(Primitive),
    Group(Group),
    Clone(Clone),
}

impl Resource {
    pub fn id(&self) -> &str {
        match self {
            Resource::Primitive(p) => &p.id,
            Resource::Group(g) => &g.id,
            Resource::Clone(c) => &c.id,
        }
    }
    pub fn meta(&self) -> &ResourceMeta {
        match self {
            Resource::Primitive(p) => &p.meta,
            Resource::Group(g) => &g.meta,
            Resource::Clone(c) => &c.meta,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub uname: NodeId,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub utilization: Attributes,
    pub standby: bool,
    pub maintenance: bool,
    /// Node-level score added to every resource (the `score` node attribute).
    #[serde(default)]
    pub score: Score,
}

/// Comparison operators of rule expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExprOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Lte,
    Gte,
    Defined,
    NotDefined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ValueType {
    #[default]
    String,
    Integer,
    Number,
    Version,
}

/// A date_spec: each field is an optional inclusive range.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DateSpec {
    pub fields: BTreeMap<String, (i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateOp {
    /// now is before `end`.
    Lt {
        end: i64,
    },
    /// now is after `start`.
    Gt {
        start: i64,
    },
    /// start <= now <= end (end may come from a duration).
    InRange {
        start: Option<i64>,
        end: Option<i64>,
    },
    DateSpec(DateSpec),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expression {
    Attr {
        attribute: String,
        op: ExprOp,
        value: Option<String>,
        value_type: ValueType,
    },
    /// Times are seconds since the Unix epoch, UTC.
    Date(DateOp),
    Rule(Box<Rule>),
    /// `rsc_expression` (rules of rsc_defaults): matches primitives by
    /// agent class, provider and type (each only when given).
    Resource {
        class: Option<String>,
        provider: Option<String>,
        agent: Option<String>,
    },
    /// An expression kind this build cannot evaluate (kept for errors).
    Unsupported(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BoolOp {
    #[default]
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub score: Option<Score>,
    /// score-attribute: take the score from this node attribute.
    pub score_attribute: Option<String>,
    pub role: Option<Role>,
    pub boolean_op: BoolOp,
    pub expressions: Vec<Expression>,
}

/// A set of name/value pairs that applies when its rule (if any) holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NvSet {
    pub id: String,
    pub score: Score,
    pub rule: Option<Rule>,
    pub values: Attributes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSet {
    pub id: String,
    pub resources: Vec<ResourceId>,
    pub sequential: bool,
    pub require_all: bool,
    pub role: Option<Role>,
    pub action: Option<Action>,
    pub ordering_kind: Option<OrderKind>,
    pub score: Option<Score>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocationTarget {
    Resource(ResourceId),
    /// rsc-pattern: a regular expression over resource ids.
    Pattern(String),
    Sets(Vec<ResourceSet>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocationPlacement {
    Node { node: NodeId, score: Score },
    Rules(Vec<Rule>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub id: String,
    pub target: LocationTarget,
    pub placement: LocationPlacement,
    pub role: Option<Role>,
    pub resource_discovery: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Colocation {
    pub id: String,
    pub score: Score,
    /// Two-resource form: `rsc` is placed relative to `with_rsc`.
    pub rsc: Option<ResourceId>,
    pub with_rsc: Option<ResourceId>,
    pub rsc_role: Option<Role>,
    pub with_rsc_role: Option<Role>,
    pub node_attribute: Option<String>,
    pub influence: Option<bool>,
    #[serde(default)]
    pub sets: Vec<ResourceSet>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Start,
    Stop,
    Promote,
    Demote,
    Monitor,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            "promote" => Some(Action::Promote),
            "demote" => Some(Action::Demote),
            "monitor" => Some(Action::Monitor),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Promote => "promote",
            Action::Demote => "demote",
            Action::Monitor => "monitor",
        }
    }
    /// The action that undoes this one (for symmetrical orders).
    pub fn inverse(self) -> Action {
        match self {
            Action::Start => Action::Stop,
            Action::Stop => Action::Start,
            Action::Promote => Action::Demote,
            Action::Demote => Action::Promote,
            Action::Monitor => Action::Monitor,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OrderKind {
    #[default]
    Mandatory,
    Optional,
    Serialize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub kind: OrderKind,
    pub first: Option<ResourceId>,
    pub then: Option<ResourceId>,
    pub first_action: Action,
    pub then_action: Action,
    pub symmetrical: Option<bool>,
    /// `require-all=false` on a two-resource order of clones: `then` may
    /// start once any instance of `first` runs (Pacemaker's clone-min 1).
    #[serde(default)]
    pub require_all: Option<bool>,
    #[serde(default)]
    pub sets: Vec<ResourceSet>,
}

/// What happens to a resource running where its ticket is lost
/// (Pacemaker's `rsc_ticket` `loss-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossPolicy {
    /// Stop the resource (the default, save for `rsc-role=Promoted`).
    Stop,
    /// Demote it (the default for `rsc-role=Promoted`).
    Demote,
    /// Fence the nodes it runs on ("deadman"); stop without fencing.
    Fence,
    /// Leave it as it is, unmanaged.
    Freeze,
}

impl LossPolicy {
    pub fn parse(s: &str) -> Option<LossPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "stop" => Some(LossPolicy::Stop),
            "demote" => Some(LossPolicy::Demote),
            "fence" => Some(LossPolicy::Fence),
            "freeze" => Some(LossPolicy::Freeze),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            LossPolicy::Stop => "stop",
            LossPolicy::Demote => "demote",
            LossPolicy::Fence => "fence",
            LossPolicy::Freeze => "freeze",
        }
    }
    /// Pacemaker's default: demote for a ticket on the promoted role, else stop.
    pub fn default_for(role: Option<Role>) -> LossPolicy {
        if role == Some(Role::Promoted) {
            LossPolicy::Demote
        } else {
            LossPolicy::Stop
        }
    }
}

/// A resource that may run only while this cluster holds a ticket
/// (Pacemaker's `rsc_ticket`; one entry per resource, sets expanded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketConstraint {
    pub id: String,
    pub ticket: String,
    pub resource: ResourceId,
    /// `rsc-role`: only this role needs the ticket.
    pub role: Option<Role>,
    pub loss_policy: LossPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NoQuorumPolicy {
    #[default]
    Stop,
    Ignore,
    Freeze,
    Demote,
    Suicide,
}

/// How utilization decides placement (the `placement-strategy` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlacementStrategy {
    /// Utilization is ignored.
    #[default]
    Default,
    /// A node must have the capacity a resource needs.
    Utilization,
    /// As utilization, and among equal scores the node with the most free
    /// capacity first.
    Balanced,
    /// As utilization, and among equal scores the first node by name (so
    /// resources pack onto few nodes).
    Minimal,
}

impl PlacementStrategy {
    /// Pacemaker's values, case-insensitive; anything else is the default.
    pub fn parse(s: &str) -> PlacementStrategy {
        match s.to_ascii_lowercase().as_str() {
            "utilization" => PlacementStrategy::Utilization,
            "balanced" => PlacementStrategy::Balanced,
            "minimal" => PlacementStrategy::Minimal,
            _ => PlacementStrategy::Default,
        }
    }
}

/// Cluster-wide options (crm_config), with Pacemaker's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterProperties {
    pub stonith_enabled: bool,
    pub stonith_action: String,
    pub no_quorum_policy: NoQuorumPolicy,
    pub symmetric_cluster: bool,
    pub maintenance_mode: bool,
    pub start_failure_is_fatal: bool,
    pub stop_orphan_resources: bool,
    pub stop_orphan_actions: bool,
    pub startup_fencing: bool,
    pub stop_all_resources: bool,
    pub have_quorum: Option<bool>,
    pub default_resource_stickiness: Option<Score>,
    pub is_managed_default: Option<bool>,
    /// Actions run at once on one node (`node-action-limit`; `None` or 0:
    /// twice the cores), within `config::values::MAX_NODE_ACTION_LIMIT`.
    #[serde(default)]
    pub node_action_limit: Option<u32>,
    #[serde(default)]
    pub placement_strategy: PlacementStrategy,
    /// How long a node waits for a DC before it elects one, and the DC for
    /// the members' reports (`dc-deadtime`); `None`: the controller's default.
    #[serde(default)]
    pub dc_deadtime: Option<Duration>,
    /// Fencing is enabled but nothing can fence: a Pacemaker CIB with no
    /// `stonith` resource and no `have-watchdog` (a paceline file with
    /// fencing and no device is refused by `config check`). Pacemaker then
    /// manages no resource and fences no node.
    #[serde(default)]
    pub no_fence_device: bool,
    /// Every option as written, including those interpreted above.
    #[serde(default)]
    pub raw: Attributes,
}

impl Default for ClusterProperties {
    fn default() -> Self {
        ClusterProperties {
            stonith_enabled: true,
            stonith_action: "reboot".into(),
            no_quorum_policy: NoQuorumPolicy::Stop,
            symmetric_cluster: true,
            maintenance_mode: false,
            start_failure_is_fatal: true,
            stop_orphan_resources: true,
            stop_orphan_actions: true,
            startup_fencing: true,
            stop_all_resources: false,
            have_quorum: None,
            default_resource_stickiness: None,
            is_managed_default: None,
            node_action_limit: None,
            placement_strategy: PlacementStrategy::Default,
            dc_deadtime: None,
            no_fence_device: false,
            raw: Attributes::new(),
        }
    }
}

/// The whole configuration the scheduler works from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterConfig {
    pub properties: ClusterProperties,
    pub nodes: Vec<Node>,
    pub resources: Vec<Resource>,
    pub locations: Vec<Location>,
    pub colocations: Vec<Colocation>,
    pub orders: Vec<Order>,
    /// rsc_defaults meta attributes (already evaluated if they had rules).
    #[serde(default)]
    pub rsc_defaults: Attributes,
    /// `rsc_defaults` typed (rule-less sets), as the importer read them:
    /// what a resource without its own setting falls back to.
    #[serde(default)]
    pub rsc_defaults_meta: ResourceMeta,
    #[serde(default)]
    pub op_defaults: Attributes,
    /// `op_defaults` `timeout`, typed: an operation's timeout when it sets
    /// none.
    #[serde(default)]
    pub op_defaults_timeout: Option<Duration>,
    /// Option sets whose rules must be evaluated per resource/time.
    #[serde(default)]
    pub rsc_defaults_sets: Vec<NvSet>,
    #[serde(default)]
    pub op_defaults_sets: Vec<NvSet>,
    /// Nodes' instance_attributes sets, in document order, kept when some
    /// of them have rules (evaluated against the time by the scheduler).
    #[serde(default)]
    pub node_attribute_sets: BTreeMap<NodeId, Vec<NvSet>>,
    /// Alert agents run on cluster events (`[[alert]]`, CIB `<alerts>`).
    #[serde(default)]
    pub alerts: Vec<alert::Alert>,
    /// Resources tied to tickets (`[[ticket]]`, CIB `rsc_ticket`).
    #[serde(default)]
    pub tickets: Vec<TicketConstraint>,
}

impl ClusterConfig {
    pub fn node(&self, uname: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.uname == uname)
    }

    /// The primitive `id`, also inside a group or a clone.
    pub fn primitive(&self, id: &str) -> Option<&Primitive> {
        let in_group = |g: &'_ Group| -> bool { g.members.iter().any(|p| p.id == id) };
        self.resources.iter().find_map(|r| match r {
            Resource::Primitive(p) if p.id == id => Some(p),
            Resource::Group(g) if in_group(g) => g.members.iter().find(|p| p.id == id),
            Resource::Clone(c) => match &c.child {
                CloneChild::Primitive(p) if p.id == id => Some(p),
                CloneChild::Group(g) => g.members.iter().find(|p| p.id == id),
                _ => None,
            },
            _ => None,
        })
    }
}
