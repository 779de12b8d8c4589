//! Timers derived from `failover_budget` where not written out: the
//! membership timers and fence timeouts here (`Document::timers`), monitor
//! intervals by the loader with [`monitor_interval_ms`] and
//! [`added_monitor_roles`] (the model carries them from there).

use std::time::Duration;

use super::document::Document;
use super::duration::{as_ms, parse_duration};
use crate::model::Role;

/// Default token timeout and heartbeat when neither a budget nor explicit
/// timers are given (the contract's defaults).
pub const DEFAULT_TOKEN_TIMEOUT_MS: u64 = 1000;
pub const DEFAULT_HEARTBEAT_MS: u64 = 200;

/// Default time one fence device may take when neither a budget nor the
/// device's `timeout` says otherwise (fence-agents' power_timeout).
pub const DEFAULT_FENCE_TIMEOUT_MS: u64 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub heartbeat: Duration,
    pub token_timeout: Duration,
    /// How long one fence device may take before the next level is tried,
    /// for devices without their own `timeout`.
    pub fence_timeout: Duration,
}

impl Document {
    /// `failover_budget` in milliseconds, when it is written and parses
    /// (the loader reports one that does not).
    pub fn failover_budget_ms(&self) -> Option<u64> {
        self.failover_budget
            .as_ref()
            .and_then(|b| parse_duration(b.get_ref()).ok())
            .map(as_ms)
    }

    /// Explicit timers win; otherwise detection gets half of the failover
    /// budget (the other half is for fencing and starting resources) and
    /// the heartbeat a fifth of the token timeout, so that a loss is seen
    /// after several missed heartbeats. Call after validation.
    pub fn timers(&self) -> Timers {
        let ms = |s: &Option<toml::Spanned<String>>| {
            s.as_ref()
                .and_then(|s| parse_duration(s.get_ref()).ok())
                .map(as_ms)
        };
        let budget = self.failover_budget_ms();
        let m = self.membership.as_ref();
        let token_timeout_ms = m
            .and_then(|m| ms(&m.token_timeout))
            .or(budget.map(|b| b / 2))
            .unwrap_or(DEFAULT_TOKEN_TIMEOUT_MS);
        let heartbeat_ms = m.and_then(|m| ms(&m.heartbeat)).unwrap_or(
            if budget.is_some() || m.and_then(|m| ms(&m.token_timeout)).is_some() {
                (token_timeout_ms / 5).max(1)
            } else {
                DEFAULT_HEARTBEAT_MS
            },
        );
        // Long enough for a BMC to confirm power-off, short enough that a
        // hung BMC hands over to the next level within a few budgets.
        let fence_timeout_ms = budget
            .map(|b| (2 * b).clamp(5_000, 60_000))
            .unwrap_or(DEFAULT_FENCE_TIMEOUT_MS);
        Timers {
            heartbeat: Duration::from_millis(heartbeat_ms),
            token_timeout: Duration::from_millis(token_timeout_ms),
            fence_timeout: Duration::from_millis(fence_timeout_ms),
        }
    }
}

/// Interval of a monitor written without one when no failover budget is
/// given (pcs's default).
pub const DEFAULT_MONITOR_INTERVAL_MS: u64 = 10_000;

/// Interval of a fence device's (`stonith:` primitive's) monitor written
/// without one: a device's health is not on the failover path, and asking
/// a BMC every second would only load it (pcs's default for devices).
pub const STONITH_MONITOR_INTERVAL_MS: u64 = 60_000;

/// What a primitive is, as far as its derived monitors go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorKind {
    /// A primitive on its own, in a group or in a plain clone.
    Plain,
    /// The primitive (or a member of the group) of a promotable clone.
    Promotable,
    /// A `stonith:` primitive.
    Stonith,
}

/// The interval of a `monitor` op written without `interval`. Resource
/// failure detection gets half of the failover budget (as membership does
/// with token_timeout), at least 1s and at most 60s; 10s without a budget.
/// In a promotable clone only the Promoted monitor gets that: the others
/// (Unpromoted, or without a role, which run on unpromoted instances) get
/// twice as much, as Pacemaker needs the intervals to differ and the
/// unpromoted instance is not what clients use.
pub fn monitor_interval_ms(budget_ms: Option<u64>, kind: MonitorKind, role: Option<Role>) -> u64 {
    let base = budget_ms
        .map(|b| (b / 2).clamp(1_000, 60_000))
        .unwrap_or(DEFAULT_MONITOR_INTERVAL_MS);
    match kind {
        MonitorKind::Stonith => STONITH_MONITOR_INTERVAL_MS,
        MonitorKind::Promotable if role != Some(Role::Promoted) => 2 * base,
        _ => base,
    }
}

/// The roles of the monitors a primitive without any recurring monitor
/// gets (each with [`monitor_interval_ms`], its timeout from op_defaults,
/// else 20s): none without a budget or for a fence device, one per role
/// in a promotable clone, else one.
pub fn added_monitor_roles(budget_ms: Option<u64>, kind: MonitorKind) -> &'static [Option<Role>] {
    match (budget_ms, kind) {
        (None, _) | (_, MonitorKind::Stonith) => &[],
        (_, MonitorKind::Promotable) => &[Some(Role::Promoted), Some(Role::Unpromoted)],
        (_, MonitorKind::Plain) => &[None],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_config_str;
    use crate::model::{ClusterConfig, Operation};

    const BASE: &str = "[cluster]\nname = \"t\"\n[[node]]\nname = \"n1\"\nid = 1\n[[node]]\nname = \"n2\"\nid = 2\n[fencing]\nenabled = false\n";

    fn load(budget: Option<&str>, rest: &str) -> Result<ClusterConfig, crate::config::ConfigError> {
        let top = budget
            .map(|b| format!("failover_budget = \"{b}\"\n"))
            .unwrap_or_default();
        load_config_str(&format!("{top}{BASE}{rest}"), "t.toml")
    }

    fn monitors<'a>(cfg: &'a ClusterConfig, id: &str) -> Vec<&'a Operation> {
        let p = cfg.primitive(id).expect("primitive");
        p.operations
            .iter()
            .filter(|o| o.name == "monitor")
            .collect()
    }

    fn intervals(cfg: &ClusterConfig, id: &str) -> Vec<(Option<Role>, u64)> {
        monitors(cfg, id)
            .iter()
            .map(|o| (o.role, o.interval_ms))
            .collect()
    }

    /// Every operation's interval, monitors or not.
    fn op_intervals(cfg: &ClusterConfig, id: &str) -> Vec<u64> {
        cfg.primitive(id)
            .map(|p| p.operations.iter().map(|o| o.interval_ms).collect())
            .unwrap_or_default()
    }

    const DUMMY: &str = "[[primitive]]\nid = \"d\"\nagent = \"ocf:heartbeat:Dummy\"\n";

    fn promotable(ops: &str) -> String {
        format!(
            "[[primitive]]\nid = \"db\"\nagent = \"ocf:pacemaker:Stateful\"\n{ops}[[clone]]\nid = \"db-ha\"\nresource = \"db\"\npromotable = true\n"
        )
    }

    #[test]
    fn interval_is_half_the_budget_within_1s_and_60s() {
        use MonitorKind::Plain;
        assert_eq!(monitor_interval_ms(None, Plain, None), 10_000);
        assert_eq!(monitor_interval_ms(Some(4_000), Plain, None), 2_000);
        assert_eq!(monitor_interval_ms(Some(600), Plain, None), 1_000);
        assert_eq!(monitor_interval_ms(Some(600_000), Plain, None), 60_000);
        let p = MonitorKind::Promotable;
        assert_eq!(
            monitor_interval_ms(Some(4_000), p, Some(Role::Promoted)),
            2_000
        );
        assert_eq!(
            monitor_interval_ms(Some(4_000), p, Some(Role::Unpromoted)),
            4_000
        );
        assert_eq!(monitor_interval_ms(Some(4_000), p, None), 4_000);
        assert_eq!(monitor_interval_ms(None, p, Some(Role::Promoted)), 10_000);
        assert_eq!(monitor_interval_ms(None, p, Some(Role::Unpromoted)), 20_000);
        let s = MonitorKind::Stonith;
        assert_eq!(monitor_interval_ms(Some(2_000), s, None), 60_000);
    }

    #[test]
    fn a_monitor_without_interval_gets_one() {
        let ops = "ops = [{ name = \"monitor\", timeout = \"5s\" }, { name = \"start\" }]\n";
        let none = load(None, &format!("{DUMMY}{ops}")).unwrap();
        assert_eq!(intervals(&none, "d"), [(None, 10_000)]);
        assert_eq!(monitors(&none, "d")[0].timeout_ms, Some(5_000));
        assert_eq!(monitors(&none, "d")[0].id, "d-monitor-10000");
        // start keeps interval 0: only monitors are derived.
        let start = none.primitive("d").unwrap().operations[1].interval_ms;
        assert_eq!(start, 0);
        let b = load(Some("4s"), &format!("{DUMMY}{ops}")).unwrap();
        assert_eq!(intervals(&b, "d"), [(None, 2_000)]);
        let small = load(Some("1s"), &format!("{DUMMY}{ops}")).unwrap();
        assert_eq!(intervals(&small, "d"), [(None, 1_000)]);
        let large = load(Some("10m"), &format!("{DUMMY}{ops}")).unwrap();
        assert_eq!(intervals(&large, "d"), [(None, 60_000)]);
    }

    #[test]
    fn promoted_and_unpromoted_monitors_get_different_intervals() {
        let ops = "ops = [{ name = \"monitor\", role = \"Promoted\" }, { name = \"monitor\", role = \"Unpromoted\" }]\n";
        let b = load(Some("4s"), &promotable(ops)).unwrap();
        let want = [
            (Some(Role::Promoted), 2_000),
            (Some(Role::Unpromoted), 4_000),
        ];
        assert_eq!(intervals(&b, "db"), want);
        let none = load(None, &promotable(ops)).unwrap();
        let want = [
            (Some(Role::Promoted), 10_000),
            (Some(Role::Unpromoted), 20_000),
        ];
        assert_eq!(intervals(&none, "db"), want);
    }

    #[test]
    fn with_a_budget_a_primitive_without_monitor_gets_one() {
        let grouped = "[[primitive]]\nid = \"g1\"\nagent = \"ocf:pacemaker:Stateful\"\n[[group]]\nid = \"g\"\nmembers = [\"g1\"]\n[[clone]]\nid = \"g-ha\"\nresource = \"g\"\npromotable = true\n";
        let fence = "[[primitive]]\nid = \"f\"\nagent = \"stonith:fence_dummy\"\n";
        let rest = format!("{DUMMY}{}{grouped}{fence}", promotable(""));
        let cfg = load(Some("2s"), &rest).unwrap();
        assert_eq!(intervals(&cfg, "d"), [(None, 1_000)]);
        let m = monitors(&cfg, "d")[0];
        assert_eq!((m.timeout_ms, m.enabled), (None, true));
        assert_eq!(m.id, "d-monitor-1000");
        let pair = [
            (Some(Role::Promoted), 1_000),
            (Some(Role::Unpromoted), 2_000),
        ];
        assert_eq!(intervals(&cfg, "db"), pair);
        assert_eq!(intervals(&cfg, "g1"), pair);
        // A fence device is not failed over: nothing is added.
        assert!(monitors(&cfg, "f").is_empty());
        // The timeout is op_defaults', else 20s, as for any op without one.
        let p = cfg.primitive("d");
        let t = crate::scheduler::transition::op_timeout_ms(&cfg, p, "monitor", 1_000);
        assert_eq!(t, 20_000);
        let with_defaults = load(
            Some("2s"),
            &format!("[op_defaults]\ntimeout = \"30s\"\n{DUMMY}"),
        );
        let cfg = with_defaults.unwrap();
        let p = cfg.primitive("d");
        let t = crate::scheduler::transition::op_timeout_ms(&cfg, p, "monitor", 1_000);
        assert_eq!(t, 30_000);
    }

    #[test]
    fn without_a_budget_nothing_is_added() {
        let cfg = load(None, &format!("{DUMMY}{}", promotable(""))).unwrap();
        assert!(monitors(&cfg, "d").is_empty());
        assert!(monitors(&cfg, "db").is_empty());
    }

    #[test]
    fn a_written_monitor_overrides_the_added_one() {
        // Disabled: the opt-out. Interval 0 only sets the probe's timeout.
        let off = "ops = [{ name = \"monitor\", enabled = false }]\n";
        let cfg = load(Some("2s"), &format!("{DUMMY}{off}")).unwrap();
        let m = monitors(&cfg, "d");
        assert_eq!(m.len(), 1);
        assert!(!m[0].enabled);
        let ops = "ops = [{ name = \"monitor\", interval = \"0\", timeout = \"60s\" }]\n";
        let cfg = load(Some("2s"), &format!("{DUMMY}{ops}")).unwrap();
        assert_eq!(intervals(&cfg, "d"), [(None, 0), (None, 1_000)]);
        // One role written in a promotable clone: only that one.
        let ops = "ops = [{ name = \"monitor\", role = \"Promoted\", interval = \"1s\" }]\n";
        let cfg = load(Some("2s"), &promotable(ops)).unwrap();
        assert_eq!(intervals(&cfg, "db"), [(Some(Role::Promoted), 1_000)]);
    }

    #[test]
    fn an_explicit_interval_longer_than_the_budget_is_the_operators_choice() {
        let ops = "ops = [{ name = \"monitor\", interval = \"10s\" }]\n";
        let config = load(Some("2s"), &format!("{DUMMY}{ops}")).unwrap();
        let text = format!("{config:?}");
        assert!(
            text.contains("10000"),
            "the written interval is kept: {text}"
        );
    }

    #[test]
    fn equal_intervals_are_refused_whatever_the_role() {
        let ops = "ops = [{ name = \"monitor\", interval = \"5s\", role = \"Promoted\" }, { name = \"monitor\", interval = \"5s\", role = \"Unpromoted\" }]\n";
        let err = load(None, &promotable(ops)).unwrap_err();
        let d = &err.diagnostics()[0];
        assert!(
            d.message
                .contains("`db` has two `monitor` operations with the same interval"),
            "{err}"
        );
        assert!(
            d.help
                .as_deref()
                .unwrap_or_default()
                .contains("whatever their role")
        );
        // A derived interval that meets a written one is named.
        let ops = "ops = [{ name = \"monitor\", interval = \"4s\", role = \"Promoted\" }, { name = \"monitor\" }]\n";
        let err = load(Some("4s"), &promotable(ops)).unwrap_err();
        let d = &err.diagnostics()[0];
        assert!(d.message.contains("interval is derived: 4000ms"), "{err}");
    }

    #[test]
    fn cib_imports_keep_their_operations() {
        let cib = r#"<cib validate-with="pacemaker-3.0">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="a" class="ocf" provider="heartbeat" type="Dummy">
        <operations>
          <op id="a-probe" name="monitor" interval="0" timeout="60s"/>
          <op id="a-start" name="start" interval="0" timeout="20s"/>
        </operations>
      </primitive>
      <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
      <master id="ms"><primitive id="db" class="ocf" provider="pacemaker" type="Stateful">
        <operations>
          <op id="db-m1" name="monitor" interval="10s" role="Master"/>
          <op id="db-m2" name="monitor" interval="10s" role="Slave"/>
        </operations>
      </primitive></master>
    </resources>
  </configuration>
</cib>"#;
        let imported = crate::config::cib::import_cib(cib).unwrap().config;
        // The importer itself derives and adds nothing.
        assert_eq!(op_intervals(&imported, "a"), [0, 0]);
        assert!(imported.primitive("b").unwrap().operations.is_empty());
        assert_eq!(imported.primitive("db").unwrap().operations.len(), 2);
        // Written as TOML and loaded back: the probe's interval 0 stays,
        // nothing is added, and the repeated interval Pacemaker ignores is
        // left out (and listed).
        let text = crate::config::to_toml(&imported);
        assert!(text.contains("interval = \"0\""), "{text}");
        let back =
            load_config_str(&text, "imported.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(op_intervals(&back, "a"), [0, 0]);
        assert!(back.primitive("b").unwrap().operations.is_empty());
        assert_eq!(intervals(&back, "db"), [(Some(Role::Promoted), 10_000)]);
    }
}
