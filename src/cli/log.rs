//! `paceline log`: the daemon's log lines, followed as they come (what
//! `journalctl -u pacemaker -f` is to a Pacemaker admin), narrowed to a
//! resource, a node or an operation by the journal fields pacelined writes
//! under systemd (RESOURCE, NODE, OPERATION: `daemon::logging`). The
//! journal is read by journalctl itself, not parsed here. A daemon that
//! does not run under systemd writes a file: `--file` follows that, and the
//! narrowing becomes a match on the line's text.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Print the lines and exit instead of following new ones.
    #[arg(long)]
    pub no_follow: bool,
    /// How many of the latest lines to show first.
    #[arg(short = 'n', long, default_value_t = 50)]
    pub lines: u32,
    /// Start at this time instead, as journalctl's --since reads it
    /// ("2026-12-01 18:00", "-2h", "today").
    #[arg(long, allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Only lines about this resource (journal field RESOURCE).
    #[arg(long)]
    pub resource: Option<String>,
    /// Only lines about this node (journal field NODE).
    #[arg(long)]
    pub node: Option<String>,
    /// Only lines about this operation: start, stop, monitor, promote…
    /// (journal field OPERATION).
    #[arg(long)]
    pub operation: Option<String>,
    /// Only lines of this priority or more urgent (journalctl -p: err,
    /// warning, notice, info, debug).
    #[arg(short = 'p', long)]
    pub priority: Option<String>,
    /// pacelined's log file, when it does not run under systemd: its lines,
    /// narrowed by the text of --resource, --node and --operation.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

pub fn run(args: LogArgs) -> anyhow::Result<ExitCode> {
    match &args.file {
        Some(file) => follow_file(&args, file),
        None => {
            let status = Command::new("journalctl")
                .args(journalctl_args(&args))
                .status()
                .context("cannot run journalctl (pacelined not under systemd? use --file)")?;
            Ok(if status.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(super::EXIT_FAILED)
            })
        }
    }
}

/// journalctl's arguments: the unit, the window, and one match per field
/// (journalctl ANDs matches of different fields).
fn journalctl_args(args: &LogArgs) -> Vec<String> {
    let mut out: Vec<String> = [
        "-u",
        "pacelined.service",
        "--no-pager",
        "-o",
        "short-iso-precise",
    ]
    .map(String::from)
    .to_vec();
    match &args.since {
        Some(since) => out.extend(["--since".to_string(), since.clone()]),
        None => out.extend(["-n".to_string(), args.lines.to_string()]),
    }
    if !args.no_follow {
        out.push("-f".into());
    }
    if let Some(p) = &args.priority {
        out.extend(["-p".to_string(), p.clone()]);
    }
    for (field, value) in fields(args) {
        out.push(format!("{field}={value}"));
    }
    out
}

fn fields(args: &LogArgs) -> Vec<(&'static str, &str)> {
    [
        ("RESOURCE", args.resource.as_deref()),
        ("NODE", args.node.as_deref()),
        ("OPERATION", args.operation.as_deref()),
    ]
    .into_iter()
    .filter_map(|(f, v)| Some((f, v?)))
    .collect()
}

/// A line of the file passes when it contains every narrowing's text.
fn wanted(args: &LogArgs, line: &str) -> bool {
    fields(args).iter().all(|(_, v)| line.contains(v))
}

/// The file's last lines (tail, which also follows a rotated file), the
/// narrowing applied here. --since needs the journal's timestamps: refused.
fn follow_file(args: &LogArgs, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.since.is_none() && args.priority.is_none(),
        "--since and --priority need the journal; with --file, use -n"
    );
    let mut tail_args = vec!["-n".to_string(), args.lines.to_string()];
    if !args.no_follow {
        tail_args.push("-F".into());
    }
    tail_args.push(file.display().to_string());
    let mut child = Command::new("tail")
        .args(&tail_args)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run tail")?;
    let stdout = child.stdout.take().context("tail has no output")?;
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading the log")?;
        if wanted(args, &line) && writeln!(out, "{line}").is_err() {
            break; // the reader went away (a pager quit)
        }
    }
    // Following, tail runs until killed; with --no-follow it ends by itself
    // after its last line, and killing it then would race with its exit
    // (a SIGKILL'd tail reads as a failure).
    if !args.no_follow {
        let _ = child.kill();
    }
    let status = child.wait().context("tail")?;
    Ok(if status.success() || !args.no_follow {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_FAILED)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: LogArgs,
    }

    fn parse(argv: &[&str]) -> LogArgs {
        Wrap::parse_from(std::iter::once("log").chain(argv.iter().copied())).args
    }

    #[test]
    fn journal_fields_narrow_the_unit_s_lines_and_follow_by_default() {
        let a = parse(&[
            "--resource",
            "db",
            "--operation",
            "promote",
            "-p",
            "warning",
        ]);
        let j = journalctl_args(&a);
        assert_eq!(
            &j[..5],
            [
                "-u",
                "pacelined.service",
                "--no-pager",
                "-o",
                "short-iso-precise"
            ]
        );
        for want in [
            "-n",
            "50",
            "-f",
            "-p",
            "warning",
            "RESOURCE=db",
            "OPERATION=promote",
        ] {
            assert!(j.iter().any(|x| x == want), "{want} missing from {j:?}");
        }
        assert!(!j.iter().any(|x| x.starts_with("NODE=")));
    }

    #[test]
    fn a_window_replaces_the_line_count_and_no_follow_stops() {
        let j = journalctl_args(&parse(&["--since", "-2h", "--no-follow"]));
        assert!(j.windows(2).any(|w| w == ["--since", "-2h"]));
        assert!(!j.iter().any(|x| x == "-f" || x == "-n"));
    }

    #[test]
    fn a_file_line_passes_only_with_every_narrowing() {
        let a = parse(&["--file", "/x", "--resource", "vip", "--node", "node2"]);
        assert!(wanted(&a, "result vip start on node2: rc 0"));
        assert!(!wanted(&a, "result vip start on node1: rc 0"));
        assert!(wanted(&parse(&["--file", "/x"]), "anything"));
    }
}
