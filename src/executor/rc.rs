//! OCF exit codes and what they mean to an operator.

use serde::Serialize;

/// An agent's exit code, kept as the raw number so that nonstandard codes
/// survive; helper methods give the OCF meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OcfRc(pub i32);

impl OcfRc {
    pub const SUCCESS: OcfRc = OcfRc(0);
    pub const ERR_GENERIC: OcfRc = OcfRc(1);
    pub const ERR_ARGS: OcfRc = OcfRc(2);
    pub const ERR_UNIMPLEMENTED: OcfRc = OcfRc(3);
    pub const ERR_PERM: OcfRc = OcfRc(4);
    pub const ERR_INSTALLED: OcfRc = OcfRc(5);
    pub const ERR_CONFIGURED: OcfRc = OcfRc(6);
    pub const NOT_RUNNING: OcfRc = OcfRc(7);
    pub const RUNNING_PROMOTED: OcfRc = OcfRc(8);
    pub const FAILED_PROMOTED: OcfRc = OcfRc(9);

    pub fn meaning(self) -> &'static str {
        match self.0 {
            0 => "success",
            1 => "generic error",
            2 => "invalid parameter",
            3 => "unimplemented feature",
            4 => "insufficient privileges",
            5 => "not installed",
            6 => "not configured",
            7 => "not running",
            8 => "running promoted",
            9 => "failed promoted",
            190 => "degraded",
            191 => "degraded promoted",
            _ => "unknown error",
        }
    }

    /// Pacemaker's symbolic name, for logs and JSON.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "OCF_SUCCESS",
            1 => "OCF_ERR_GENERIC",
            2 => "OCF_ERR_ARGS",
            3 => "OCF_ERR_UNIMPLEMENTED",
            4 => "OCF_ERR_PERM",
            5 => "OCF_ERR_INSTALLED",
            6 => "OCF_ERR_CONFIGURED",
            7 => "OCF_NOT_RUNNING",
            8 => "OCF_RUNNING_PROMOTED",
            9 => "OCF_FAILED_PROMOTED",
            190 => "OCF_DEGRADED",
            191 => "OCF_DEGRADED_PROMOTED",
            _ => "OCF_UNKNOWN",
        }
    }
}
