//! TOML <-> model: the human-written cluster file, validated with errors that
//! name file:line:column and the fix. See man/paceline.toml.5.

pub mod cib;
pub mod convert;
pub mod document;
pub mod edit;
pub mod error;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod status;
pub mod timers;
pub mod write;

use std::path::Path;

pub use convert::{DEFAULT_FAILURE_TIMEOUT, parse_duration_ms};
pub use error::{ConfigError, Diagnostic};
pub use write::to_toml;

use crate::model::{ClusterConfig, ClusterStatus};

/// Parses the document only (no semantic checks), mapping serde errors.
pub fn parse_document(text: &str, file_name: &str) -> Result<document::Document, ConfigError> {
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

pub fn load_config_str(text: &str, file_name: &str) -> Result<ClusterConfig, ConfigError> {
    let doc = parse_document(text, file_name)?;
    let mut conv = convert::Converter::new(file_name, text);
    let cfg = conv.convert(&doc);
    if conv.diags.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError::Invalid(conv.diags))
    }
}

pub fn load_config_file(path: &Path) -> Result<ClusterConfig, ConfigError> {
    let text = read(path)?;
    let file = path.display().to_string();
    let cfg = load_config_str(&text, &file)?;
    check_inline_secrets(path, &text, &file)?;
    Ok(cfg)
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

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}
