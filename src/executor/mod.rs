//! Runs resource agent actions on this node: one action with its timeout
//! (killing the agent's whole process group when it overruns), several in
//! parallel with a limit, recurring monitors, and the operation history the
//! controller will publish. Resource classes live in their own modules.

pub mod agent_env;
pub mod builtin;
pub mod catalog;
pub mod dummy;
pub mod duration;
pub mod filesystem;
pub mod history;
pub mod ipaddr;
pub mod metadata;
pub mod monitor;
pub mod ocf;
pub mod parallel;
pub mod primitive;
pub mod process;
pub mod rc;
pub mod systemd;

pub use history::{OpHistory, OpRecord};
pub use ocf::{AgentId, OcfAction, OcfRunner};
pub use primitive::{PrimitiveConfig, load_primitives};
pub use process::{ProcessOutcome, ProcessStatus};
pub use rc::OcfRc;

use thiserror::Error;

/// Errors that prevent an action from being attempted at all (as opposed to
/// an agent that ran and failed, which is an [`OcfRc`]).
#[derive(Debug, Error)]
pub enum ExecError {
    #[error("cannot start agent {path}: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid agent name {0:?}: expected CLASS:PROVIDER:TYPE (e.g. ocf:heartbeat:Dummy)")]
    BadAgentName(String),
    #[error("invalid duration {0:?}: use e.g. \"200ms\", \"20s\", \"2m\"")]
    BadDuration(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Config { path: String, message: String },
    #[error("cannot parse meta-data of {agent}: {message}")]
    MetaData { agent: String, message: String },
}
