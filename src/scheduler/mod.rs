//! The policy engine: a pure function from configuration, status and the
//! current time to a plan (summary changes, actions and their ordering
//! graph) plus the scores and reasons that explain it. No I/O, no clock.
//!
//! One rule per file, in the order a run goes through them:
//! `plan` (the entry `schedule` and the placement loop), `nodes` (node
//! availability and conditions), `failures` (failure expiry, fail counts,
//! on-fail), `units` (what gets placed), `scores` (a unit's own node
//! scores and the choice of node), `locations`, `colocations`, `orders`
//! (constraints, resource sets expanded), `clones` (instances), `promotion`,
//! `utilization` (placement-strategy and capacities), `outcome` (placements
//! into summary decisions), `probes` (probes that cannot run on pending
//! nodes) and `output` (summary lines, actions, orphans).
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "Policy engine (model, CIB import, scheduler, simulate) — area "sched"")
//!
//! - `src/model/` — plain data shared by everything: `Score` (Pacemaker's ±INFINITY
//!   arithmetic, -INFINITY wins), `Role`, nodes, primitives/groups/clones (promotable),
//!   location/colocation/order constraints (with rules and resource sets),
//!   `ClusterProperties` (crm_config options with Pacemaker's defaults), `ClusterConfig`,
//!   and `ClusterStatus` (`status.rs`: node membership flags, transient attributes, the
//!   per-node operation history, fail-count helpers).
//! - `src/config/cib/` — Pacemaker CIB XML → model. `dom.rs` builds a small element tree
//!   with quick-xml (keeping line numbers for errors); `mod.rs` converts it: id-ref reuse,
//!   nvpair sets (a name repeated in a set keeps its first value), `master`/`Master`/`Slave`
//!   legacy names, rules, date and `rsc_expression` expressions, nodes' rule-bearing
//!   attribute sets (`ClusterConfig::node_attribute_sets`), `no-quorum-panic`,
//!   `lrm_rsc_op` history. Durations through `config::duration` (history
//!   intervals are whole milliseconds); also the date parser.
//! - `src/scheduler/` — PURE `schedule(&ClusterConfig, &ClusterStatus, now) -> Plan`,
//!   one rule per file. `mod.rs` holds the output types (`Plan`,
//!   `Change`, `Verb`, `PlanAction`) and the module list. In the order a run goes:
//!   `plan.rs` is the entry: reads history and node conditions, indexes constraints by
//!   resource id (so each unit only looks at the constraints naming it), places units in
//!   priority + colocation order (`place`: own scores, colocations, clone rules, best
//!   node, vetoes, commit; a unit left alone, every member unmanaged or blocked by a
//!   failure, stays on its node and counts there; a group whose first member is so goes
//!   with it, its later members running there unless banned or the group's scores
//!   forbid the node), promotes, emits. `history.rs` replays each resource's
//!   operation history into a current role and failure (`observe_configured`:
//!   on-fail=ignore ops, on-fail=block demotes, expired failures and unmanaged
//!   resources change the replay); `rules.rs` evaluates rules (node attributes, #uname,
//!   #is_dc, dates, rsc-pattern; `eval_for_resource` for rsc_defaults rules).
//!   A failed operation leaves its resource thought active (a failed monitor
//!   with no start record is a recovery, not a start).
//!   `nodes.rs`: node conditions (online/offline/unclean → fencing; node attribute rule
//!   sets evaluated at `now`; no-quorum-policy=suicide; an unclean node in our
//!   membership is fenced even without quorum; a cleanly offline node whose history
//!   shows a managed resource active is fenced, "thought to be active there"; failures on
//!   a node unclean as found are cleared by its fencing: moved, not recovered, and so are
//!   those of resources after, in the node's status order, the one whose failure made it
//!   unclean, as Pacemaker reads a node's history in order). `failures.rs`: failure-timeout expiry
//!   (against last-rc-change, disabled by a recorded on-fail=block failure, as
//!   Pacemaker), fail counts vs migration-threshold (all instance numbers for anonymous
//!   clones, inherited from group/clone, ignored after an on-fail=ignore failure, and
//!   not applied where the last failure's recorded parameter digest differs from the
//!   resource's now: Pacemaker clears that fail count first), hard
//!   errors, and escalation: a failed stop, or a failure of an op with on-fail=fence,
//!   makes its node unclean, on-fail=standby puts it in standby, while the failure
//!   stands — on-fail=fence without fencing blocks instead (`on_fail_tests.rs`).
//!   A stop that failed beyond recovery (rc 2, 4, 5, or 3 as a one-off) where its
//!   node cannot be fenced (no quorum and not in our membership, or no fence
//!   device) unmanages its resource, even on an unclean node (Pacemaker's
//!   check_recoverable): no action is listed for it. A CIB with fencing enabled
//!   and no `stonith` resource nor `have-watchdog` (`no_fence_device`) manages
//!   nothing and fences nobody ("Resource start-up disabled").
//!   `units.rs`: placement units (primitive, group, clone instance) and their members'
//!   meta (target-role, is-managed, multiple-active, stickiness through parent and
//!   rsc_defaults). `scores.rs`: a unit's own scores (symmetry, locations, unhostable
//!   nodes, stickiness, INFINITY where an unmanaged member is active, failure bans; later group members' bans merged with rollback)
//!   and the node choice (score, fewer assigned, current node, name). `locations.rs`
//!   (incl. opt-in clusters and role=Promoted locations), `colocations.rs` (set
//!   expansion `flat_colocations`: set chains, negative-score sets, between sets;
//!   primaries before dependents (a loop broken at a clone as a whole, not at one
//!   instance), but a finite or INFINITY colocation of a group's later member
//!   neither moves the group nor comes before it: its primary is placed right after the
//!   group, pulled to the group's node when positive (rolled back if that leaves it no
//!   node), and an INFINITY one whose primary runs elsewhere leaves that member and
//!   the ones after it no node; the pull of dependents (clones too, with the
//!   clone's own scores: no instance stickiness; a clone whose assignment
//!   began, with its table: its own scores and its dependents' pull where
//!   that leaves them nonnegative, as `pcmk__clone_allocate` leaves it, also
//!   when a chain comes back to the clone of the instance being placed; a
//!   dependent placed already, with its scores at its placement, unless
//!   it is a later group member, which Pacemaker assigns later), rolled back when it would
//!   leave no node; the late "dependent cannot stay without its primary" pass) and
//!   `orders.rs` (set expansion `flat_orders`: sequential sets, between-set orders,
//!   require-all=false "one-or-more": `then` follows the set's pseudo action,
//!   never interleaved with a clone in the set; mandatory orders on outcomes: blocked/unrunnable
//!   starts, restarts (through symmetrical orders only; a primitive or group after a
//!   clone restarts when an instance starts on its node, or an order stops one
//!   there (not when one is placed elsewhere or nowhere); an instance of
//!   a clone after a clone when an instance of `first` starts anywhere, or on
//!   its node with interleave), interleave,
//!   clone-min, stop-stop; a placed instance that cannot start is listed blocked,
//!   while an interleaved instance without an instance of `first` placed on its
//!   node is not placed at all, as Pacemaker "inhibits" it; a "start, then stop"
//!   order pairs instances by `first`'s interleave, and a stopping instance of
//!   `then` has none to pair with: its stop is plain). `clones.rs`: instance
//!   numbering (anonymous renumbered in status order, node by node whichever group
//!   member runs; orphan surplus copies and instances numbered clone-max or above), the
//!   instances' assignment order once the clone's primaries are placed (Pacemaker's
//!   pcmk__cmp_instance: banned-where-active last, active first, failed later,
//!   colocation score on the current node, number; it stays the order of the
//!   clone's instance list, in which a finite colocation with the clone meets its
//!   instances and rolls one back, re-sorted by promotion priority once a
//!   promotable clone's roles are set), instances that would stay anyway
//!   pre-assigned to their node (at most clone-max / available nodes per node;
//!   a cloned group's instance whose pre-assignment ends on another node is
//!   not counted there nor against clone-max, as 2.1.5's failed
//!   "unassignment" of a group), the
//!   others placed like any resource (an instance whose node goes moves: no
//!   "anonymous instances never move" rule), clone-node-max, clone-max; a clone whose
//!   instances go to every available node takes only its negative and INFINITY
//!   colocations into its instances' placement, and only the pull of its
//!   dependents through negative colocations (`colocations.rs`); nodes
//!   full of instances (clone-node-max), and nodes where the clone's own
//!   locations sum below 0 (whatever the instance's stickiness), are banned
//!   before an instance's colocations apply, so one that would leave only
//!   those is rolled back (allocate_instance's can_run_instance). `promotion.rs`: the promotion score attribute added to an instance's node scores
//!   before placement where it applies (active there, history known there, or no
//!   history at all; anonymous history filed under instances in status order) and
//!   raising the instance's priority (pcmk__add_promotion_scores); promotion scores (attribute
//!   where it applies, as for placement, read under the name the history knows an
//!   anonymous instance by; role=Promoted locations,
//!   colocated dependents, role colocations; a score that counts then takes the clone's
//!   own weight of the node: its locations and its dependents' pull, whatever their role,
//!   as set_sort_index_to_node_weight), promoted-max/-node-max (without quorum under freeze
//!   only an instance Promoted now may be chosen, the others skipped without
//!   taking a slot, so one without a score is demoted), on-fail=demote,
//!   and how promotable lines show roles. `utilization.rs`: placement-strategy
//!   (utilization, balanced, minimal) with node capacities and primitives'
//!   `utilization` (`tests/utilization/`: cases with crm_simulate 2.1.5's output).
//!   `outcome.rs`: placements into per-member
//!   outcomes (multiple-active stop_only/block, no-quorum-policy stop/freeze/demote
//!   (freeze promotes nothing: a stopped instance chosen for promotion is a blocked start),
//!   stops stuck on unfenceable nodes, group stop order). `probes.rs`: with
//!   fencing, a start waits "blocked" for its probe on a pending node that has
//!   no history of it; a clone's probes come before the clone's start, so one
//!   that cannot run, of an instance active nowhere, blocks every instance's
//!   start and stops the running ones (a unique clone probes every instance,
//!   an anonymous one the instance known on the node, else its first). `output.rs`: fencing lines,
//!   outcomes into summary changes and actions, orphans (stop-orphan-resources), and
//!   crm_simulate's summary text. Every decision leaves a line in `Plan::reasons`
//!   (used by `explain`) and every node score in `Plan::scores` (`--scores`).
//! - `src/cli/simulate.rs` — `paceline simulate --cib FILE | --config FILE [--status FILE]
//!   [--scores] [--output json] [--now RFC3339]` (`--scores` prints allocation and
//!   promotion scores, `Plan::promotion_scores`) and `paceline explain RSC` on the same
//!   inputs (text or JSON: the reasons per placed unit and the planned summary lines).
//!   `simulate(config, status,
//!   opts) -> SimReport` (the plan and its transition; `--steps` prints the transition).
//! - `tests/conformance.rs` — runs every case of `../shared/conformance/pacemaker-scheduler`,
//!   normalizes with the shared checker (`compare.py`, via python3), prints per-tier
//!   figures and fails if a case in `tests/conformance/passing.txt` regresses
//!   (`PACELINE_UPDATE_PASSING=1` rewrites the list).
//! - `bench/scheduler` — synthetic 1k/5k/10k-primitive CIBs; time and peak RSS.
//! - `bench/sched-diff SEEDS` — the differential tester against Pacemaker 2.1.5's
//!   `crm_simulate` (Debian's `pacemaker-cli-utils`). `bench/sched_diff/generator.py`
//!   writes a random CIB per seed (deterministic: one `random.Random(seed)`; 1–16
//!   nodes, mostly two; standby/offline/unclean/maintenance/pending/shutting-down
//!   nodes; primitives, groups, anonymous/unique/promotable clones, clones of groups;
//!   location with scores and rules, colocations and orders with roles, actions, kinds
//!   and sets; stickiness, priority, target-role, is-managed, migration-threshold,
//!   failure-timeout, on-fail; failed/pending operations with fail counts; promotion
//!   scores; utilization with each placement-strategy; quorum loss and
//!   no-quorum-policy), all evaluated at one pinned `execution-date`. A CIB counts
//!   only if `crm_verify` reports no error. `runner.py` compares the two Transition
//!   Summaries with the shared checker (`exact`: its plain normalization;
//!   `normalised`: instance numbers and roles/blocked ignored) and classes each
//!   disagreement by the verbs paceline lacks (-) and adds (+); `minimise.py` drops
//!   nodes, resources, constraints, history and attributes while the same
//!   disagreement persists (several at once with `--jobs`). `SCHED_DIFF_CACHE=DIR`
//!   keeps crm_verify's and crm_simulate's answers by the CIB's bytes (a rerun
//!   of 1,000 seeds then takes about a minute instead of six). Every tool run is bounded
//!   (`runner.TIMEOUT_S`), so a CIB on which either scheduler loops cannot hang a
//!   run. Last line: JSON with `runs`, `exact`, `normalised`, `disagreements`.
//! - `tests/sched_diff.rs` — the minimised disagreements as paceline's own conformance
//!   cases: `tests/sched-diff/*.xml` (fixed: must agree with the `.summary` beside
//!   them, crm_simulate's output) and `tests/sched-diff/open/` (not fixed yet; figures
//!   printed); `sched_diff_seeds` runs the tester on seeds 0..300 against the real
//!   `crm_simulate` and fails if a seed of `tests/sched-diff/agreeing.txt` disagrees
//!   (skipped, with the reason, where crm_simulate is missing). `tests/summaries/`
//!   holds what it shares with `tests/conformance.rs`.
//!   Rules the differential run taught (Pacemaker 2.1.5, `colocations.rs`): a finite
//!   colocation is applied once per instance of its primary (each clone instance,
//!   else the resource), adding its score where the instance is placed, and a
//!   positive one takes its score off every node for an instance placed nowhere;
//!   each step that would leave the dependent no available node is rolled back
//!   (an optional colocation never keeps a resource stopped). A dependent's pull
//!   on its primary is scaled by its own colocation's score only (the sign of the
//!   chain carries), rounded, never vanishing to 0 (±1 with the factor's sign), and
//!   checked for leaving no node before its own dependents join; dependents merge
//!   in Pacemaker's order (priority, groups first, id, later colocation first).
//!   An unordered colocation set colocates nothing within itself. An unmanaged
//!   active resource stays on its node and counts there for balancing; so does
//!   a single member of a group or cloned group left alone (unmanaged, or
//!   blocked by a failure) where the unit is placed elsewhere or not at all,
//!   unless it belongs to an instance beyond clone-max (never assigned). A
//!   failed stop bans the member itself from its node (`__stop_fail__`; a later
//!   member's ban merges into its group's scores); a cloned group's instance
//!   is not ordered last for a member's failed stop (the group's own table
//!   does not hold it). Nothing
//!   is fenced while no resource is managed (maintenance-mode). A unique clone's
//!   instance numbered clone-max or above is an orphan and stops; a healthy
//!   anonymous instance on a node about to be fenced moves to the best node (a
//!   failed one stops there and another instance starts). A cloned group is
//!   active where any member is (for the instances' assignment order), and a
//!   failure of any member of an anonymous clone bans the whole instance from
//!   the node (Pacemaker bans the clone). With no-quorum-policy=demote an
//!   inactive promotable instance's start is listed blocked, and an active
//!   one is scheduled as with quorum, its role capped at Unpromoted (one
//!   banned by its failure stops). A group's (also a cloned group's)
//!   later member that cannot stop blocks the stop of the member just
//!   before it when that one stops, and the chain goes on through members
//!   that stop (one not active, or staying, ends it); only a primitive `then` blocked by a failure blocks the stop of its
//!   `first`, and only a primitive `first` (merely unmanaged, or a group,
//!   it does not; a group's or clone's stop is a pseudo action). A failed
//!   member whose stop waits for a later member that cannot stop is listed
//!   as a blocked Stop, not a recovery (its start waits for that stop).
//!   A member after an unmanaged active one goes to its node even when the
//!   members before cannot run: a stopped one is a blocked start, an active
//!   one stays (or stops, its start unrunnable, when one before stops);
//!   when the group runs elsewhere, the members after it still go to its
//!   node (each is colocated with the one before): they start or stay
//!   there, listed blocked when that member's start cannot run (blocked
//!   by a failure, or a member before it cannot start), and one that
//!   cannot run on that node (in maintenance, banned) and those after it
//!   are assigned nowhere. A member blocked by a failure blocks the starts
//!   after it even where the members before it run.
//!   "first start, then stop" with a `first` that cannot start blocks the
//!   stop of `then`; with symmetrical=false that stop is also required, so
//!   a running `then` is listed as a blocked Stop
//!   (handle_asymmetric_ordering); with a `first` that starts (a group or
//!   clone: on a primitive `then`'s node; anywhere for a group or clone
//!   `then`, every member or instance of which restarts, unless the clones
//!   interleave) a symmetrical one restarts a `then` that
//!   stays, and so does "first stop, then stop" with a `first` that stops
//!   (between clones paired by `first`'s interleave, only on its node);
//!   "first promote, then stop" with a `first` that cannot promote (not a
//!   promotable clone, or no instance ends Promoted) blocks a stopping
//!   `then`'s stop, as an unrunnable start does;
//!   a `first` that cannot stop blocks the stops of `then` only when a
//!   failure blocks it (merely unmanaged it does not); an asymmetrical
//!   "stop, then stop" after a clone with no active instance (its stop is
//!   unrunnable) lists every active member or instance of `then` as a
//!   blocked stop, and a group's later members as blocked starts (unless
//!   `first`'s interleave pairs the clones' instances). An asymmetrical
//!   start order leaves a `then` that runs and stays, whatever `first`
//!   does. A `then` restarted by its `first` turns a promotion or demotion
//!   in place into a restart into the new role (a restart's line shows the
//!   instance's roles, as a stop's does). Pacemaker keeps one ordering per pair of actions (order_actions
//!   drops a later one sharing a flag, and every ordering carries
//!   "optional"): the first order between two actions, an optional or
//!   serializing one too, decides them, and a later mandatory one on the
//!   same pair only adds its inverse. Within a group, a member after one
//!   whose start is blocked (also by its probe) cannot start (a recovery,
//!   restart or move there is a stop, and so is staying, with quorum or
//!   under freeze), nor can one after a member whose restart or recovery
//!   waits for the blocked stop of a later one (through an unmanaged
//!   member too: its start waits for the one before), nor one after a
//!   first member a failure blocks (a stopped one is a blocked start). A
//!   plain group's later member's locations are its own (the group's go
//!   to its first member): each is merged into the group's scores like a
//!   colocation, rolled back with those after it where it would leave no
//!   node, and a later member whose own scores are below zero where the
//!   group runs stays stopped there. A mandatory colocation's dependent
//!   whose primary is placed but cannot start keeps its node, its start
//!   unrunnable (pcmk__block_colocation_dependents): a stopped one is a
//!   blocked start, a moving one stops, one that stays is left; a
//!   member recovered under no-quorum-policy=freeze restarts those after
//!   it. A `first` whose start is required but cannot run (blocked by its
//!   probe, or a failure that needs recovery on a resource left alone)
//!   stops a running `then`; a new instance of a cloned `first` restarts
//!   the instance of a cloned `then` on its node. A promotable
//!   instance's recovery or restart elsewhere shows its roles, as a move's.
//!   A monitor finding a resource stopped is no failure when the resource or
//!   a parent (group, clone) is unmanaged; an unmanaged group counts where
//!   its active members run, whichever member is first. A failed promote
//!   makes the instance's next role Unpromoted (the promote's default role
//!   after failure): it is recovered as Unpromoted and another instance is
//!   promoted. A clone's role colocations reach its instances' promotion
//!   priority only as 2.1.5 appends the clone's colocations to each
//!   instance (negative and INFINITY ones, all of them when some node gets
//!   no instance; twice for an instance whose pre-assignment failed): the
//!   Unpromoted role with a resource lowers it by the score once per
//!   instance of that resource on the node, INFINITY forbids promotion there;
//!   a finite Promoted one adds its score where the resource runs, and
//!   merges the resource's node score at its factor into the clone's weight
//!   either way. A stopped instance chosen for promotion whose start cannot
//!   run is listed as a blocked Promote. A failure of an operation with
//!   on-fail=stop sets its resource's next role to Stopped as the history
//!   is read: placed nowhere, it counts on no node for the ties. A
//!   colocation of a promotable clone's Unpromoted role places its
//!   instances when negative (a positive one only where target-role is
//!   Unpromoted): their next role is undecided while they are placed.
//!   A dependent pulls its primary whatever the colocation's roles (a
//!   resource kept off the Promoted role pushes every instance away).
//!   An instance is not pre-assigned to a node short of the capacity it
//!   needs (placement-strategy): it is placed again with the others.
//!   Nodes are sorted as Pacemaker sorts a resource's allowed-node table
//!   (`hash_order`: its iteration order from the node ids, GLib's merge
//!   sort), which decides between nodes when balanced's intransitive
//!   capacity comparison is involved, and the most free node is the first
//!   met among equals; among nodes of the same positive score the one a
//!   resource is active on wins whatever is assigned there. An instance
//!   counts its clone's INFINITY dependents' needs only when some node
//!   gets no instance. A finite colocation with a resource left alone
//!   (unmanaged, or blocked by a failure) adds its score on that
//!   resource's node, where Pacemaker assigns it even when banned there;
//!   so does one with a group (a cloned group's instance too) whose first
//!   member is so left active (Pacemaker colocates an optional
//!   colocation with a group's first member).
//!   A chain of dependents that comes back to the unit being placed
//!   merges that unit's own scores (Pacemaker marks only the resources it
//!   merges against loops); a unique clone's table, merged as a
//!   dependent, has no instance's failure bans. The primary of a later
//!   group member's finite colocation is assigned before that member:
//!   the members from it on do not count on the group's node yet.
//!   Along a chain, a group whose assignment has not begun passes on only
//!   the dependents of its last member, not those colocated with the
//!   group (Pacemaker moves them to the last member when it begins).
//!   An unmanaged resource whose recurring monitor found it not running
//!   is stopped even once that failure has expired (the result is read
//!   as "stopped" before its expiry is looked at). A resource's primaries
//!   are placed in the order of its colocation list (priority, clones
//!   before groups before primitives, promotable first, then id). In
//!   the instances' assignment order, the colocation score on an
//!   instance's node starts from the node's own weight: -INFINITY where
//!   it is not online or is shutting down (a standby node keeps its own).

mod clones;
mod colocations;
mod failures;
mod hash_order;
mod history;
mod left_as_is;
mod locations;
mod nodes;
#[cfg(test)]
mod on_fail_tests;
mod orders;
mod outcome;
mod output;
mod plan;
mod probes;
mod promotion;
mod rules;
mod scores;
mod tickets;
pub mod transition;
mod units;
mod utilization;

use std::collections::BTreeMap;

use petgraph::graph::DiGraph;
use serde::Serialize;

use crate::model::*;
pub use history::{Observed, observe};
pub use left_as_is::{LeftAsIs, left_as_is};
pub use output::{format_change, format_summary};
pub use plan::schedule;

/// One line of the transition summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub verb: Verb,
    /// Resource (or instance) id, or the node for Fence.
    pub subject: String,
    pub from: Option<NodeId>,
    pub to: Option<NodeId>,
    pub from_role: Option<Role>,
    pub to_role: Option<Role>,
    pub reason: Option<String>,
    pub blocked: bool,
    /// Fence action (reboot/off).
    pub fence_action: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verb {
    Start,
    Stop,
    Move,
    Recover,
    Restart,
    Promote,
    Demote,
    Fence,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Start => "Start",
            Verb::Stop => "Stop",
            Verb::Move => "Move",
            Verb::Recover => "Recover",
            Verb::Restart => "Restart",
            Verb::Promote => "Promote",
            Verb::Demote => "Demote",
            Verb::Fence => "Fence",
        }
    }
}

/// An executable step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanAction {
    pub resource: String,
    pub action: String,
    pub node: NodeId,
}

/// The scheduler's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub actions: Vec<PlanAction>,
    /// Edges "a before b" between indices of `actions`.
    #[serde(skip)]
    pub graph: DiGraph<usize, ()>,
    /// Allocation scores: (resource, node, score).
    pub scores: Vec<(String, NodeId, Score)>,
    /// Promotion scores of promotable clone instances where they are
    /// placed: (instance, node, score).
    pub promotion_scores: Vec<(String, NodeId, Score)>,
    /// Why each resource (or node) ended where it did.
    pub reasons: BTreeMap<String, Vec<String>>,
}
