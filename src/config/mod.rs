//! TOML <-> model: the human-written cluster file, validated with errors that
//! name file:line:column and the fix. See man/paceline.toml.5.
//!
//! # Design notes
//!
//! (moved here from ARCHITECTURE.md, section "config (`src/config/`, except `src/config/cib/`)")
//!
//! The human-written cluster file (TOML) <-> the model (`src/model/`). The
//! only reader of the cluster file and the only place a duration, score or
//! enumeration is parsed.
//!
//! - `duration.rs`: THE duration grammar, `parse_duration` (ms, us, s, m/min,
//!   h, d, bare seconds, ISO 8601 `P…`/`PT…`, at most 100 years, overflow
//!   refused). The config, the CIB importer, the status file, the CLI flags
//!   and the simulator's scenarios call it; `tests/one_duration_grammar.rs`
//!   fails on any other duration parser in the workspace, and on a call of
//!   it past the edges (config, CLI flags, scenario files, a builtin
//!   agent's parameter). Both importers type what the scheduler and the
//!   controller fall back to (`ClusterConfig::rsc_defaults_meta`,
//!   `op_defaults_timeout`, `ClusterProperties::dc_deadtime`, as
//!   `Duration`s), so
//!   neither reads a duration, score or enumeration from text.
//! - `values.rs`: the type and range of every property, meta attribute and
//!   op default (boolean, duration, score, role, enumeration, bounded
//!   integer); the converter refuses a value of the wrong kind with its span
//!   (`tests/config_values.rs` feeds each setting its accepted and refused
//!   forms through `config check` and compares what the model, the daemon,
//!   the fencing crate and the executor see).
//! - `fencing.rs`: `[fencing]` as the fencing crate takes it (typed
//!   `FencingSection`, device timeouts derived from the budget where not
//!   written); `load_fencing_str` reads that section alone for `paceline fence`.
//!
//! - `document.rs`: serde structs of the file as written, each value kept with
//!   its byte span (`toml::Spanned`) so validation can point at it;
//!   `deny_unknown_fields` everywhere.
//! - `convert.rs`: document -> `ClusterConfig`, collecting every problem in one
//!   pass (duplicate ids, unknown resources/nodes/devices, order cycles, bad
//!   scores/durations/agents, self-colocation, cloning a group member, fencing
//!   not spelled out, inconsistent timers, two recurring ops with one name
//!   and interval whatever their roles). Native configs get
//!   `failure-timeout = 600` in rsc_defaults unless set.
//! - `error.rs`: `ConfigError` / `Diagnostic` (file, line, column, message,
//!   help) rendered like rustc with a caret under the value; nearest-key
//!   suggestions.
//! - `write.rs`: `to_toml(&ClusterConfig)`: model -> the same format (used by
//!   `paceline config import-cib`); round-trip tested.
//! - `edit.rs`: text edits of the cluster TOML for the crm-like commands
//!   (move, ban, clear, standby, property set) with toml_edit, comments kept;
//!   used by the CLI and by the daemon (expired `--lifetime` constraints).
//! - `status.rs`: the hand-written status file of `simulate --status`, turned
//!   into the operation history the scheduler reads.
//! - `timers.rs`: heartbeat/token timeout derived from `failover_budget`
//!   unless written out (`Document::timers`); monitor intervals
//!   (`monitor_interval_ms`: half the budget in [1s, 60s], else 10s; twice
//!   that for a promotable clone's non-Promoted monitors) and the monitors
//!   added under a budget to a primitive without one (`added_monitor_roles`;
//!   not for `stonith:`). The loader puts them into the model's operations
//!   (native TOML only; the CIB importer derives nothing), so scheduler,
//!   controller and executor (`ExecutorConfig::use_model_ops`) see the same
//!   ones; explicit monitor intervals are kept whatever their length (the
//!   budget is about node loss).
//! - `runtime.rs`: what a node runs by, typed (`Runtime`: cluster name,
//!   authkey and state paths, heartbeat and token timeout, quorum, nodes with
//!   resolved links, fencing mode, self-fencing watchdogs), and what a node
//!   cannot start with (no `[cluster]`, a node without links or with another
//!   number of links than the others, a heartbeat of 0, `[fencing]` without
//!   `enabled`, a watchdog without `watchdog_timeout`, no `[[node]]`).
//! - `mod.rs`: one parse per load, into `Cluster` (the model, the typed
//!   fencing section, the runtime). `load_runnable_str/file`: `config
//!   check`, everything the daemon needs; `load_node_str/file`: the daemon
//!   (start, SIGHUP, `configure load` over the API and the CLI's edits),
//!   the same checks with a missing `[fencing]` meaning fencing off;
//!   `load_cluster_str/file`: the model and fencing without the node's
//!   needs (the simulator, the scheduler's tests, `simulate`);
//!   `load_cluster_str_fencing_optional`: the daemon's reading of the
//!   replicated document and `resource exec`. The file variants also refuse
//!   inline fence passwords in files readable by others.
//!   `documents_parsed` counts parses per thread (the daemon's start test).
//!   `load_status_file`, `to_toml`.
//!
//! - `agents.rs`: primitives against their agents' meta-data (the agent
//!   exists; required parameters present; unknown ones refused with "did
//!   you mean"), through an `AgentCatalog` the executor implements for this
//!   node (`executor::installed`). `config check` (`load_runnable_file`
//!   with a catalog), the CLI's `configure load`/`edit` and the daemon's
//!   API for a configuration load (`load_new_config`, on a blocking
//!   thread) run it; a class or provider with no agent here is skipped
//!   with a note, and `config check --without-agents` skips it all (a
//!   workstation). Not the daemon's start or its reading of the
//!   replicated document: an agent may be installed on some nodes only.
//!
//! - `introduced.rs`: the sections and settings newer than release 0.1.0,
//!   each with the protocol version that introduced it (`INTRODUCED`, one
//!   table); the daemon refuses a new configuration using one the view's
//!   protocol version does not read (a rolling upgrade in progress).
//!
//! The daemon has no reader of its own: everything it runs by comes from
//! one load here. Documentation: `man/paceline.toml.5` (its EXAMPLE is a test).
//! Reference configurations: `policies/*.toml` (tests load each).

pub mod agents;
pub mod alerts;
pub mod cib;
pub mod convert;
pub mod document;
pub mod duration;
pub mod edit;
pub mod error;
pub mod fencing;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod http;
pub mod introduced;
pub mod runtime;
pub mod site;
pub mod status;
pub mod tickets;
pub mod timers;
pub mod values;
pub mod witness;
pub mod write;
mod write_fencing;

use std::path::Path;

pub use convert::DEFAULT_FAILURE_TIMEOUT;
pub use duration::{DurationError, as_ms, parse_duration};
pub use error::{ConfigError, Diagnostic};
pub use fencing::load_fencing_str;
pub use runtime::Runtime;
pub use write::{cib_to_toml, to_toml};

use crate::model::{ClusterConfig, ClusterStatus};
use paceline_fencing::config::FencingSection;

/// The largest cluster file accepted, in bytes (1 MiB). A configuration
/// change travels to every node in one channel message together with the
/// cluster's status, and a channel message is at most 4 MiB
/// (`wire::ChannelLimits`); a change over it was applied by the DC and
/// never replicated. It also bounds what one change makes the daemon's
/// event loop parse, but not what it plans: the planning grows faster than
/// the file (release build, two daemons: 2,000 Dummies in 200 kB held the
/// DC's loop 0.49 s, 9,000 in 890 kB 5.1 s and the peer declared it lost).
/// A real cluster file is a few kB.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Refuses a text over [`MAX_CONFIG_BYTES`] before anything parses it.
pub fn check_size(bytes: usize, file_name: &str) -> Result<(), ConfigError> {
    if bytes <= MAX_CONFIG_BYTES {
        return Ok(());
    }
    Err(ConfigError::Invalid(vec![Diagnostic {
        file: file_name.to_string(),
        line: 1,
        column: 1,
        message: format!(
            "the configuration is {bytes} bytes; at most {MAX_CONFIG_BYTES} (1 MiB) are accepted"
        ),
        help: Some(
            "a configuration travels to every node in one message with the cluster's status; \
             keep it under 1 MiB (defaults in [rsc_defaults] and clones instead of copies)"
                .into(),
        ),
        source_line: String::new(),
        span_len: 0,
    }]))
}

thread_local! {
    static DOCUMENTS_PARSED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many cluster documents this thread has parsed: the test of the
/// daemon's start counts them (it reads its file once).
pub fn documents_parsed() -> u64 {
    DOCUMENTS_PARSED.with(|n| n.get())
}

/// Parses the document only (no semantic checks), mapping serde errors.
pub fn parse_document(text: &str, file_name: &str) -> Result<document::Document, ConfigError> {
    check_size(text.len(), file_name)?;
    DOCUMENTS_PARSED.with(|n| n.set(n.get().saturating_add(1)));
    toml::from_str::<document::Document>(text).map_err(|e| {
        let src = error::SourceMap {
            file: file_name,
            text,
        };
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_string();
        let help = unknown_field_help(&msg)
            .unwrap_or_else(|| "see `man 5 paceline.toml` for the keys and their types".into());
        ConfigError::Invalid(vec![src.diag(span, msg, Some(help))])
    })
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" suggest the
/// nearest known key.
fn unknown_field_help(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    if field == "failover_budget" {
        // TOML puts a key written after a [table] header inside that table.
        return Some(
            "failover_budget is a top-level key: move it above the first [section] header".into(),
        );
    }
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    Some(match error::nearest(field, known.iter().copied()) {
        Some(n) => format!("did you mean `{n}`?"),
        None => format!("known keys here: {}", known.join(", ")),
    })
}

/// Everything the cluster file says, typed: the model the scheduler and
/// the controller plan on, what the fencing crate takes, and what a node
/// runs by.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub model: ClusterConfig,
    /// `None` when the file has no `[fencing]` section.
    pub fencing: Option<FencingSection>,
    /// `[cluster] state_dir`, when written.
    pub state_dir: Option<std::path::PathBuf>,
    /// What a node runs by; always there from the `load_node_*` and
    /// `load_runnable_*` loaders, `None` from the others when the file
    /// lacks something a node needs (the simulator and the scheduler's
    /// tests load files without links).
    pub runtime: Option<Runtime>,
    /// Why some primitives' agents were not checked (loaded with an agent
    /// catalog whose node lacks their class or provider).
    pub unchecked_agents: Vec<String>,
}

/// What a load requires besides a valid model.
#[derive(Clone, Copy)]
struct Checks<'a> {
    /// Primitives against these agents' meta-data (`agents.rs`).
    agents: Option<&'a dyn agents::AgentCatalog>,
    /// A missing `[fencing]` means fencing off (the daemon's rule).
    fencing_optional: bool,
    /// Everything a node needs to start (`[cluster]`, links, ...).
    runnable: bool,
}

/// Reads and checks the whole cluster file once; every problem is in the
/// error, each with file:line:column and the fix.
fn load_with(text: &str, file_name: &str, checks: Checks<'_>) -> Result<Cluster, ConfigError> {
    let doc = parse_document(text, file_name)?;
    load_document(&doc, text, file_name, checks)
}

fn load_document(
    doc: &document::Document,
    text: &str,
    file_name: &str,
    checks: Checks<'_>,
) -> Result<Cluster, ConfigError> {
    let mut conv = convert::Converter::new(file_name, text);
    conv.fencing_optional = checks.fencing_optional;
    let model = conv.convert(doc);
    let src = error::SourceMap {
        file: file_name,
        text,
    };
    let mut node_diags = Vec::new();
    let runtime = runtime::runtime(doc, conv.fencing.as_ref(), &src, &mut node_diags);
    if checks.runnable {
        conv.diags.extend(node_diags);
    }
    if checks.runnable && !checks.fencing_optional {
        // `config check` only, for now: the daemon still starts such a
        // file and says in status why nothing starts.
        let fencing = conv.fencing.as_ref();
        conv.diags.extend(runtime::fencing_runs(doc, fencing, &src));
    }
    let mut unchecked_agents = Vec::new();
    if let Some(catalog) = checks.agents {
        let checked = agents::check(doc, &src, catalog);
        conv.diags.extend(checked.diags);
        unchecked_agents = checked.unchecked;
    }
    if !conv.diags.is_empty() {
        return Err(ConfigError::Invalid(conv.diags));
    }
    Ok(Cluster {
        model,
        fencing: conv.fencing,
        state_dir: doc
            .cluster
            .as_ref()
            .and_then(|c| c.state_dir.as_ref())
            .map(|d| d.get_ref().into()),
        runtime,
        unchecked_agents,
    })
}

/// The model and fencing of a cluster file (`[fencing]` required); what a
/// node needs is not required (see [`Cluster::runtime`]).
pub fn load_cluster_str(text: &str, file_name: &str) -> Result<Cluster, ConfigError> {
    let checks = Checks {
        agents: None,
        fencing_optional: false,
        runnable: false,
    };
    load_with(text, file_name, checks)
}

pub fn load_cluster_file(path: &Path) -> Result<Cluster, ConfigError> {
    let text = read_bounded(path)?;
    let checks = Checks {
        agents: None,
        fencing_optional: false,
        runnable: false,
    };
    load_file_text(path, &text, checks)
}

/// What `paceline config check` accepts: a file a node starts with, with
/// `[fencing]` spelled out. Everything the daemon refuses at start is
/// refused here, at file:line:column.
pub fn load_runnable_str(text: &str, file_name: &str) -> Result<Cluster, ConfigError> {
    let checks = Checks {
        agents: None,
        fencing_optional: false,
        runnable: true,
    };
    load_with(text, file_name, checks)
}

/// `paceline config check FILE`: [`load_runnable_str`] of a file, and,
/// given the agents installed here, every primitive against its agent's
/// meta-data.
pub fn load_runnable_file(
    path: &Path,
    agents: Option<&dyn agents::AgentCatalog>,
) -> Result<Cluster, ConfigError> {
    let text = read_bounded(path)?;
    let checks = Checks {
        agents,
        fencing_optional: false,
        runnable: true,
    };
    load_file_text(path, &text, checks)
}

/// What `pacelined` runs: a runnable file where a missing `[fencing]`
/// means fencing off (the daemon has always run such a file, with a
/// warning in status; `config check` refuses it). The daemon's start,
/// SIGHUP, `configure load` (API and CLI) and the crm-like edits check a
/// file with this and nothing else.
pub fn load_node_str(text: &str, file_name: &str) -> Result<Cluster, ConfigError> {
    let checks = Checks {
        agents: None,
        fencing_optional: true,
        runnable: true,
    };
    load_with(text, file_name, checks)
}

/// A new configuration for the running cluster (`configure load`, over
/// the API and from the CLI): [`load_node_str`] and every primitive
/// against the meta-data of the agents installed on this node.
pub fn load_new_config(
    text: &str,
    file_name: &str,
    agents: &dyn agents::AgentCatalog,
) -> Result<Cluster, ConfigError> {
    let checks = Checks {
        agents: Some(agents),
        fencing_optional: true,
        runnable: true,
    };
    load_with(text, file_name, checks)
}

/// [`load_node_str`] of a file already read, which must also keep inline
/// passwords from other readers.
pub fn load_node_file(path: &Path, text: &str) -> Result<Cluster, ConfigError> {
    let checks = Checks {
        agents: None,
        fencing_optional: true,
        runnable: true,
    };
    load_file_text(path, text, checks)
}

/// One parse of a file's text: the loader's checks, then its inline
/// passwords against its mode.
fn load_file_text(path: &Path, text: &str, checks: Checks<'_>) -> Result<Cluster, ConfigError> {
    let file = path.display().to_string();
    let doc = parse_document(text, &file)?;
    let cluster = load_document(&doc, text, &file, checks)?;
    inline_secrets(path, &doc, text, &file)?;
    let src = error::SourceMap { file: &file, text };
    let missing = witness::check_files(&doc, &src);
    if !missing.is_empty() {
        return Err(ConfigError::Invalid(missing));
    }
    Ok(cluster)
}

/// A cluster file under the daemon's rule for a missing `[fencing]`, with
/// what a node needs not required: `resource exec` runs one action of it,
/// and the daemon reads the cluster's replicated document with it (that
/// document was checked with [`load_node_str`] on its way in).
/// Without the section, [`Cluster::fencing`] is `None`.
pub fn load_cluster_str_fencing_optional(
    text: &str,
    file_name: &str,
) -> Result<Cluster, ConfigError> {
    let checks = Checks {
        agents: None,
        fencing_optional: true,
        runnable: false,
    };
    load_with(text, file_name, checks)
}

pub fn load_config_str(text: &str, file_name: &str) -> Result<ClusterConfig, ConfigError> {
    load_cluster_str(text, file_name).map(|c| c.model)
}

pub fn load_config_file(path: &Path) -> Result<ClusterConfig, ConfigError> {
    load_cluster_file(path).map(|c| c.model)
}

/// A password written into the file is only acceptable when nobody but the
/// owner can read the file.
fn inline_secrets(
    path: &Path,
    doc: &document::Document,
    text: &str,
    file: &str,
) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let src = error::SourceMap { file, text };
    let diags: Vec<Diagnostic> = doc
        .fencing
        .iter()
        .flat_map(|f| f.device.iter())
        .filter(|d| d.rest.contains_key("password"))
        .map(|d| {
            src.diag(
                d.id.span(),
                format!(
                    "fence device `{}` has an inline password but {file} is readable by others (mode {mode:o})",
                    d.id.get_ref()
                ),
                Some(format!(
                    "move it to a 0600 file named by `password_file`, or run `chmod 600 {file}`"
                )),
            )
        })
        .collect();
    if diags.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(diags))
    }
}

/// A status file: the human TOML form (see paceline.toml(5), STATUS FILE),
/// or, for a `.json` file, the JSON of [`ClusterStatus`] itself.
pub fn load_status_file(path: &Path) -> Result<ClusterStatus, ConfigError> {
    let text = read(path)?;
    let file = path.display().to_string();
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let src = error::SourceMap {
            file: &file,
            text: &text,
        };
        serde_json::from_str(&text).map_err(|e| {
            let off = offset_of(&text, e.line(), e.column());
            ConfigError::Invalid(vec![src.diag(
                off..off,
                e.to_string(),
                Some("fix the status JSON".into()),
            )])
        })
    } else {
        status::parse_status(&text, &file)
    }
}

fn offset_of(text: &str, line: usize, col: usize) -> usize {
    let mut off = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return off + col.saturating_sub(1).min(l.len());
        }
        off += l.len();
    }
    text.len()
}

/// Reads a cluster file, at most one byte past [`MAX_CONFIG_BYTES`]: a
/// file named by mistake (a disk image, `/dev/zero`) is refused, not read.
pub fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() > MAX_CONFIG_BYTES {
        let bytes = std::fs::metadata(path).map_or(text.len(), |m| {
            usize::try_from(m.len())
                .unwrap_or(usize::MAX)
                .max(text.len())
        });
        check_size(bytes, &path.display().to_string())?;
    }
    Ok(text)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}
