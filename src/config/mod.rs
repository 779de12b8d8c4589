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
//!   `op_defaults_timeout_ms`, `ClusterProperties::dc_deadtime_ms`), so
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
//! - `mod.rs`: `load_cluster_str/file` -> `Cluster` (the model and the typed
//!   fencing section, from one parse); `load_config_file/str` (the model
//!   only; the file variants also refuse inline fence passwords in files
//!   readable by others), `load_status_file`, `to_toml`.
//!
//! Not in the model (validated only): `[cluster]`, `[membership]`, `[quorum]`,
//! `[fencing]` devices/levels, node links/votes, `failover_budget`. Other
//! components read those sections with their own structs until the model grows
//! them. Documentation: `man/paceline.toml.5` (its EXAMPLE is a test).
//! Reference configurations: `policies/*.toml` (tests load each).

pub mod cib;
pub mod convert;
pub mod document;
pub mod duration;
pub mod edit;
pub mod error;
pub mod fencing;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod status;
pub mod timers;
pub mod values;
pub mod write;

use std::path::Path;

pub use convert::DEFAULT_FAILURE_TIMEOUT;
pub use duration::{DurationError, as_ms, parse_duration};
pub use error::{ConfigError, Diagnostic};
pub use fencing::load_fencing_str;
pub use write::to_toml;

use crate::model::{ClusterConfig, ClusterStatus};
use paceline_fencing::config::FencingSection;

/// The largest cluster file accepted, in bytes (1 MiB). A configuration
/// change travels to every node in one channel message together with the
/// cluster's status, and a channel message is at most 4 MiB
/// (`wire::ChannelLimits`); a change over it was applied by the DC and
/// never replicated. Bounding the text also bounds what the daemon's event
/// loop parses, checks and plans on for one change: a 50 MB file stalled
/// it for 1.15 s and its peer declared it lost. A real cluster file is a
/// few kB; 1 MiB holds some 15,000 resources.
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

/// Parses the document only (no semantic checks), mapping serde errors.
pub fn parse_document(text: &str, file_name: &str) -> Result<document::Document, ConfigError> {
    check_size(text.len(), file_name)?;
    parse_document_unchecked(text, file_name)
}

fn parse_document_unchecked(
    text: &str,
    file_name: &str,
) -> Result<document::Document, ConfigError> {
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
/// the controller plan on, and what the fencing crate takes.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub model: ClusterConfig,
    /// `None` when the file has no `[fencing]` section.
    pub fencing: Option<FencingSection>,
    /// `[cluster] state_dir`, when written.
    pub state_dir: Option<std::path::PathBuf>,
}

/// Reads and checks the whole cluster file once; every problem is in the
/// error, each with file:line:column and the fix.
pub fn load_cluster_str(text: &str, file_name: &str) -> Result<Cluster, ConfigError> {
    check_size(text.len(), file_name)?;
    load_cluster_unchecked(text, file_name)
}

fn load_cluster_unchecked(text: &str, file_name: &str) -> Result<Cluster, ConfigError> {
    let doc = parse_document_unchecked(text, file_name)?;
    let mut conv = convert::Converter::new(file_name, text);
    let model = conv.convert(&doc);
    if conv.diags.is_empty() {
        Ok(Cluster {
            model,
            fencing: conv.fencing,
            state_dir: doc
                .cluster
                .as_ref()
                .and_then(|c| c.state_dir.as_ref())
                .map(|d| d.get_ref().into()),
        })
    } else {
        Err(ConfigError::Invalid(conv.diags))
    }
}

pub fn load_cluster_file(path: &Path) -> Result<Cluster, ConfigError> {
    let text = read_bounded(path)?;
    let file = path.display().to_string();
    let cluster = load_cluster_str(&text, &file)?;
    check_inline_secrets(path, &text, &file)?;
    Ok(cluster)
}

/// A cluster file under the daemon's rule for a missing `[fencing]`: the
/// daemon runs such a file with fencing disabled (and says so in status),
/// `resource exec` runs one action of it; `config check` refuses it.
/// Without the section, [`Cluster::fencing`] is `None`.
pub fn load_cluster_str_fencing_optional(
    text: &str,
    file_name: &str,
) -> Result<Cluster, ConfigError> {
    let doc = parse_document(text, file_name)?;
    if doc.fencing.is_some() {
        return load_cluster_unchecked(text, file_name);
    }
    let with_fencing_off = format!("{text}\n[fencing]\nenabled = false\n");
    let mut cluster = load_cluster_unchecked(&with_fencing_off, file_name)?;
    cluster.fencing = None;
    Ok(cluster)
}

pub fn load_config_str(text: &str, file_name: &str) -> Result<ClusterConfig, ConfigError> {
    load_cluster_str(text, file_name).map(|c| c.model)
}

pub fn load_config_file(path: &Path) -> Result<ClusterConfig, ConfigError> {
    load_cluster_file(path).map(|c| c.model)
}

/// A password written into the file is only acceptable when nobody but the
/// owner can read the file.
fn check_inline_secrets(path: &Path, text: &str, file: &str) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let doc = parse_document(text, file)?;
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
