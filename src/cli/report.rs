//! `paceline report` (crm_report, pcs cluster report): one archive of what
//! a supporter asks for first, from this node: the cluster's configuration
//! with its secrets redacted, the status (text and JSON), the fencing
//! history, the daemon's journal (or a log file) for a time window, and
//! the versions of paceline, the kernel and the agents' packages, and
//! this node's operation history. With `--all`, every node's (each node
//! runs `paceline report --dest -` through `cli::remote`, ssh), in one
//! archive with a directory per node, as crm_report collects.

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
    /// Where to write the archive (mode 0600; `-`: standard output);
    /// default ./paceline-report-HOST-UNIXTIME.tar.gz.
    #[arg(long)]
    pub dest: Option<PathBuf>,
    /// Every node's report in one archive (a directory per node), each
    /// collected on its node over ssh (see `cluster start --all`).
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub remote: super::remote::RemoteArgs,
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
/// redacted configuration, operation history, the configured agents'
/// meta-data), each with why when it does not answer.
fn from_daemon(socket: &Path) -> [(String, String); 6] {
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
    let (config, ops, agents) = match api::call(socket, &Request::ConfigShow) {
        Ok(Response::Config { text, .. }) => {
            (redact(&text), op_history(&text), agents_metadata(&text))
        }
        other => {
            let why = format!("# pacelined did not answer: {other:?}\n");
            (why.clone(), why.clone(), why)
        }
    };
    [
        ("agents.json".into(), agents),
        ("op-history.json".into(), ops),
        ("status.txt".into(), status),
        ("status.json".into(), json),
        ("fence-history.txt".into(), history),
        ("cluster.toml".into(), config),
    ]
}

/// The meta-data of every agent the configuration's primitives use, as
/// this node's agents describe themselves (a version that differs between
/// nodes shows here), by agent; an agent that cannot describe itself says why.
fn agents_metadata(config: &str) -> String {
    let Ok(cluster) = crate::config::load_node_str(config, "cluster.toml") else {
        return "(the configuration does not load)\n".into();
    };
    let mut specs: Vec<String> = cluster
        .model
        .resources
        .iter()
        .flat_map(|r| match r {
            crate::model::Resource::Primitive(p) => vec![p],
            crate::model::Resource::Group(g) => g.members.iter().collect(),
            crate::model::Resource::Clone(c) => match &c.child {
                crate::model::CloneChild::Primitive(p) => vec![p],
                crate::model::CloneChild::Group(g) => g.members.iter().collect(),
            },
        })
        .map(|p| p.agent_spec())
        .collect();
    specs.sort();
    specs.dedup();
    let runner = super::ra::runner();
    let described: serde_json::Map<String, serde_json::Value> = specs
        .into_iter()
        .map(|spec| {
            let meta = crate::executor::ocf::AgentId::parse(&spec)
                .map_err(|e| e.to_string())
                .and_then(|id| {
                    crate::executor::catalog::describe(&runner, &id).map_err(|e| e.to_string())
                });
            let value = match meta {
                Ok(m) => serde_json::to_value(m).unwrap_or_default(),
                Err(e) => serde_json::json!({ "error": e }),
            };
            (spec, value)
        })
        .collect();
    serde_json::to_string_pretty(&described).unwrap_or_default()
}

/// This node's executor's operation history (`<state_dir>/op-history.json`
/// of the configuration), or why it is missing.
fn op_history(config: &str) -> String {
    let dir = crate::config::load_node_str(config, "cluster.toml")
        .ok()
        .and_then(|c| c.runtime)
        .map_or_else(
            || PathBuf::from(crate::config::runtime::DEFAULT_STATE_DIR),
            |r| r.state_dir,
        );
    let file = dir.join("op-history.json");
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| format!("(cannot read {}: {e})\n", file.display()))
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "node".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = if args.all {
        format!("paceline-report-{now}")
    } else {
        format!("paceline-report-{host}-{now}")
    };
    let dest = args
        .dest
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.tar.gz")));
    let files = if args.all {
        every_node(&args)?
    } else {
        this_node(&args, &host)
    };
    if dest.as_os_str() == "-" {
        write_archive(std::io::stdout().lock(), &name, &files)
            .context("cannot write the archive to standard output")?;
        return Ok(ExitCode::SUCCESS);
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&dest)
        .and_then(|f| write_archive(f, &name, &files))
        .with_context(|| format!("cannot write {}", dest.display()));
    file?;
    println!("wrote {} ({} files)", dest.display(), files.len());
    Ok(ExitCode::SUCCESS)
}

/// This node's files.
fn this_node(args: &ReportArgs, host: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, String)> = from_daemon(&args.socket).into();
    files.push(("journal.txt".into(), log_lines(args)));
    files.push(("versions.txt".into(), versions()));
    files.push((
        "README.txt".into(),
        format!(
            "paceline report of {host}, log window {} to {}; secrets in cluster.toml are REDACTED.\nOnly this node: `paceline report --all` collects every node's.\n",
            args.from,
            args.to.as_deref().unwrap_or("now")
        ),
    ));
    files
        .into_iter()
        .map(|(path, text)| (path, text.into_bytes()))
        .collect()
}

/// Every node's report (`paceline report --dest -` on each, at once),
/// its files under a directory named after the node; a node that cannot
/// be reached gets `ERROR.txt` saying why.
fn every_node(args: &ReportArgs) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    use super::remote::{ClusterNodes, Remote, on_each, quote};
    let nodes = ClusterNodes::read(&args.remote)?;
    let remote = Remote::new(args.remote.ssh.as_deref());
    let mut command = format!(
        "paceline report --dest - --from {} --socket {}",
        quote(&args.from),
        quote(&nodes.socket().display().to_string())
    );
    if let Some(to) = &args.to {
        command.push_str(&format!(" --to {}", quote(to)));
    }
    if let Some(log) = &args.log {
        command.push_str(&format!(" --log {}", quote(&log.display().to_string())));
    }
    let outcomes = on_each(&nodes.targets, |t| {
        let archive = remote.check(t, &command, None)?;
        unpack(&archive).context("its archive does not unpack")
    });
    let mut files = Vec::new();
    let mut summary = String::new();
    for (t, outcome) in nodes.targets.iter().zip(outcomes) {
        match outcome {
            Ok(got) => {
                summary.push_str(&format!("{}: {} files\n", t.name, got.len()));
                files.extend(got.into_iter().map(|(p, b)| (format!("{}/{p}", t.name), b)));
            }
            Err(e) => {
                summary.push_str(&format!("{}: FAILED: {e:#}\n", t.name));
                files.push((
                    format!("{}/ERROR.txt", t.name),
                    format!("{e:#}\n").into_bytes(),
                ));
            }
        }
    }
    eprint!("{summary}");
    files.push((
        "README.txt".into(),
        format!(
            "paceline report of every node, log window {} to {}; a directory per node; secrets in cluster.toml are REDACTED.\n{summary}",
            args.from,
            args.to.as_deref().unwrap_or("now")
        )
        .into_bytes(),
    ));
    Ok(files)
}

/// The files of one node's archive, without its top directory.
fn unpack(archive: &[u8]) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    use std::io::Read;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut files = Vec::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let inner: PathBuf = path.components().skip(1).collect();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        files.push((inner.display().to_string(), bytes));
    }
    Ok(files)
}

/// A gzipped tar of `files` under the directory `name`, each 0600 (it
/// holds the configuration).
fn write_archive(out: impl Write, name: &str, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, format!("{name}/{path}"), text.as_slice())?;
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
