//! Timers derived from `failover_budget` where not written out.

use super::convert::parse_duration_ms;
use super::document::Document;

/// Default token timeout and heartbeat when neither a budget nor explicit
/// timers are given (the contract's defaults).
pub const DEFAULT_TOKEN_TIMEOUT_MS: u64 = 1000;
pub const DEFAULT_HEARTBEAT_MS: u64 = 200;

/// Default time one fence device may take when neither a budget nor the
/// device's `timeout` says otherwise (fence-agents' power_timeout).
pub const DEFAULT_FENCE_TIMEOUT_MS: u64 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub heartbeat_ms: u64,
    pub token_timeout_ms: u64,
    /// How long one fence device may take before the next level is tried,
    /// for devices without their own `timeout`.
    pub fence_timeout_ms: u64,
}

impl Document {
    /// Explicit timers win; otherwise detection gets half of the failover
    /// budget (the other half is for fencing and starting resources) and
    /// the heartbeat a fifth of the token timeout, so that a loss is seen
    /// after several missed heartbeats. Call after validation.
    pub fn timers(&self) -> Timers {
        let ms = |s: &Option<toml::Spanned<String>>| {
            s.as_ref().and_then(|s| parse_duration_ms(s.get_ref()))
        };
        let budget = ms(&self.failover_budget);
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
            heartbeat_ms,
            token_timeout_ms,
            fence_timeout_ms,
        }
    }
}
