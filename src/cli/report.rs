//! `paceline report` (crm_report, pcs cluster report): one archive of what
//! a supporter asks for first, from this node: the cluster's configuration
//! with its secrets redacted, the status (text and JSON), the fencing
//! history, the daemon's journal (or a log file) for a time window, and
//! the versions of paceline, the kernel and the agents' packages.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;
use clap::Args;

use crate::api::{self, DEFAULT_SOCKET, Request, Response};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Start of the log window, as journalctl's --since reads it
    /// ("2026-12-01 18:00", "-2h", "yesterday").
    #[arg(long, default_value = "-1h", allow_hyphen_values = true)]
    pub from: String,
    /// End of the log window (journalctl's --until); default: now.
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Where to write the archive (mode 0600); default
    /// ./paceline-report-HOST-UNIXTIME.tar.gz.
    #[arg(long)]
    pub dest: Option<PathBuf>,
    /// A log file of pacelined to include whole instead of the journal
    /// (when it does not run under systemd).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Local API socket of pacelined.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// The keys whose values are secrets, wherever they appear (a device's
/// own `password`, a fence agent's `passwd` parameter, a token).
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["pass", "secret", "token", "community"]
        .iter()
        .any(|s| k.contains(s))
        && !k.ends_with("_file")
}

/// The configuration with every secret's value replaced by "REDACTED"
/// (comments and layout kept). Unparsable text is left out entirely.
pub fn redact(text: &str) -> String {
    let Ok(mut doc) = text.parse::<toml_edit::DocumentMut>() else {
        return "# the configuration does not parse; left out of the report\n".into();
    };
    redact_table(doc.as_table_mut());
    doc.to_string()
}

fn redact_table(t: &mut dyn toml_edit::TableLike) {
    for (key, item) in t.iter_mut() {
        if is_secret(key.get()) && item.is_value() {
            *item = toml_edit::value("REDACTED");
            continue;
        }
        redact_item(item);
    }
}

fn redact_item(item: &mut toml_edit::Item) {
    match item {
        toml_edit::Item::Table(t) => redact_table(t),
        toml_edit::Item::ArrayOfTables(a) => {
            for t in a.iter_mut() {
                redact_table(t);
            }
        }
        toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => redact_table(t),
        toml_edit::Item::Value(toml_edit::Value::Array(a)) => {
            for v in a.iter_mut() {
                if let toml_edit::Value::InlineTable(t) = v {
                    redact_table(t);
                }
            }
        }
        _ => {}
    }
}

/// A command's output, or why there is none.
fn output_of(program: &str, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("({program} not run: {e})\n"),
    }
}

fn versions() -> String {
    let mut out = format!("paceline {}\n", env!("CARGO_PKG_VERSION"));
    out.push_str(&output_of("uname", &["-a"]));
    out.push_str(&std::fs::read_to_string("/etc/os-release").unwrap_or_default());
    out.push_str(&output_of(
        "sh",
        &[
            "-c",
            "dpkg-query -W resource-agents fence-agents pacemaker-cli-utils 2>/dev/null || rpm -q resource-agents fence-agents-common 2>/dev/null || true",
        ],
    ));
    out
}

/// The daemon's lines of the window: the journal's, or the given file.
fn log_lines(args: &ReportArgs) -> String {
    if let Some(file) = &args.log {
        return std::fs::read_to_string(file)
            .unwrap_or_else(|e| format!("(cannot read {}: {e})\n", file.display()));
    }
    let mut jargs = vec!["-u", "pacelined", "--no-pager", "-o", "short-iso-precise"];
    jargs.extend(["--since", args.from.as_str()]);
    if let Some(to) = &args.to {
        jargs.extend(["--until", to.as_str()]);
    }
    output_of("journalctl", &jargs)
}

/// What the daemon says: (status text, status JSON, fence history,
/// redacted configuration), each with why when it does not answer.
fn from_daemon(socket: &Path) -> [(String, String); 4] {
    let (status, json, history) = match api::call(socket, &Request::Report) {
        Ok(Response::Report(r)) => (
            super::status::render(&r),
            serde_json::to_string_pretty(&r).unwrap_or_default(),
            r.fencing_history
                .iter()
                .map(super::status::render_fence)
                .collect::<String>(),
        ),
        other => {
            let why = format!("(pacelined did not answer: {other:?})\n");
            (why.clone(), why.clone(), why)
        }
    };
    let config = match api::call(socket, &Request::ConfigShow) {
        Ok(Response::Config { text, .. }) => redact(&text),
        other => format!("# pacelined did not answer: {other:?}\n"),
    };
    [
        ("status.txt".into(), status),
        ("status.json".into(), json),
        ("fence-history.txt".into(), history),
        ("cluster.toml".into(), config),
    ]
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "node".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = format!("paceline-report-{host}-{now}");
    let dest = args
        .dest
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.tar.gz")));
    let mut files: Vec<(String, String)> = from_daemon(&args.socket).into();
    files.push(("journal.txt".into(), log_lines(&args)));
    files.push(("versions.txt".into(), versions()));
    files.push((
        "README.txt".into(),
        format!(
            "paceline report of {host}, log window {} to {}; secrets in cluster.toml are REDACTED.\nOnly this node: run it on every node for theirs.\n",
            args.from,
            args.to.as_deref().unwrap_or("now")
        ),
    ));
    write_archive(&dest, &name, &files)
        .with_context(|| format!("cannot write {}", dest.display()))?;
    println!("wrote {} ({} files)", dest.display(), files.len());
    Ok(ExitCode::SUCCESS)
}

/// A gzipped tar of `files` under the directory `name`, created 0600 (it
/// holds the configuration).
fn write_archive(dest: &Path, name: &str, files: &[(String, String)]) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dest)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, format!("{name}/{path}"), text.as_bytes())?;
    }
    tar.into_inner()?.finish()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_wherever_they_are_and_comments_kept() {
        let text = "# keep\n[[fencing.device]]\nid = \"bmc\"\npassword = \"s3cret\" # inline\npassword_file = \"/etc/p\"\nparams = { passwd = \"hunter2\", ip = \"198.18.0.9\" }\n[http]\ntoken = \"t0k\"\n";
        let out = redact(text);
        for secret in ["s3cret", "hunter2", "t0k"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(
            out.contains("# keep") && out.contains("password_file = \"/etc/p\""),
            "{out}"
        );
        assert!(out.contains("ip = \"198.18.0.9\""), "{out}");
        assert_eq!(out.matches("REDACTED").count(), 3, "{out}");
    }
}
