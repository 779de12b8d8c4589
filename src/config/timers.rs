//! Membership timers derived from `failover_budget` where not written out.

use super::convert::parse_duration_ms;
use super::document::Document;

/// Default token timeout and heartbeat when neither a budget nor explicit
/// timers are given (the contract's defaults).
pub const DEFAULT_TOKEN_TIMEOUT_MS: u64 = 1000;
pub const DEFAULT_HEARTBEAT_MS: u64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub heartbeat_ms: u64,
    pub token_timeout_ms: u64,
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
        Timers {
            heartbeat_ms,
            token_timeout_ms,
        }
    }
}
