//! Man pages and shell completions generated from the clap definitions of
//! `paceline` and `pacelined` (clap_mangen, clap_complete), so that what
//! they document is what the binaries parse. Shared by the generator
//! (`cargo run --example gen-docs -- OUT`, called by `packaging/build`)
//! and by `tests/man_pages.rs`.
//!
//! OUT receives `man8/` (paceline(8), one page per command group and per
//! command, pacelined(8)), `man5/paceline.toml.5` (the hand-written page
//! of `man/`), and `completions/` (bash, zsh, fish for both binaries).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap_complete::Shell;

/// The files installed under the usual names, relative to OUT.
pub struct Generated {
    pub man_pages: Vec<PathBuf>,
    pub completions: Vec<PathBuf>,
}

/// Where the installed files live (FILES sections).
const FILES: &[(&str, &str)] = &[
    (
        "/etc/paceline/cluster.toml",
        "the cluster configuration (paceline.toml(5)); the package installs a commented example",
    ),
    (
        "/etc/paceline/authkey",
        "the cluster key (paceline cluster keygen), the same on every node, mode 0600",
    ),
    (
        "/var/lib/paceline/",
        "the daemon's state: the replicated cluster document, operation and fencing history (mode 0700)",
    ),
    (
        "/run/paceline/paceline.sock",
        "the daemon's local API socket (root:haclient 0660)",
    ),
    (
        "/usr/share/paceline/policies/",
        "reference cluster configurations",
    ),
];

const SECTION: &str = "8";
const MANUAL: &str = "paceline Manual";

/// Writes every page and completion script under `out`.
pub fn generate(out: &Path) -> std::io::Result<Generated> {
    let man8 = out.join("man8");
    let man5 = out.join("man5");
    let completions = out.join("completions");
    for dir in [&man8, &man5, &completions] {
        std::fs::create_dir_all(dir)?;
    }
    let mut man_pages = Vec::new();
    let mut paceline = without_help(<paceline::cli::Cli as clap::CommandFactory>::command());
    paceline.build();
    let groups: Vec<String> = visible(&paceline)
        .map(|c| format!("paceline-{}", c.get_name()))
        .collect();
    let mut see_also: Vec<(String, &str)> =
        vec![("pacelined".into(), "8"), ("paceline.toml".into(), "5")];
    see_also.extend(groups.iter().map(|g| (g.clone(), SECTION)));
    let top = page(paceline.clone(), &top_extra(&see_also))?;
    man_pages.push(write(&man8, "paceline.8", &top)?);
    for group in visible(&paceline) {
        pages_of(group, "paceline", &man8, &mut man_pages)?;
    }
    let mut daemon = paceline::daemon::command();
    daemon.build();
    let daemon_page = page(daemon.clone(), &daemon_extra())?;
    man_pages.push(write(&man8, "pacelined.8", &daemon_page)?);
    let config_page =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/paceline.toml.5"))?;
    man_pages.push(write(&man5, "paceline.toml.5", &config_page)?);
    let mut scripts = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        for (cmd, name) in [(&paceline, "paceline"), (&daemon, "pacelined")] {
            let mut cmd = cmd.clone();
            scripts.push(clap_complete::generate_to(
                shell,
                &mut cmd,
                name,
                &completions,
            )?);
        }
    }
    Ok(Generated {
        man_pages,
        completions: scripts,
    })
}

/// No `help` subcommand in pages and completions (`-h` stays): it would
/// be listed as a command with no page of its own.
fn without_help(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help)
}

/// Subcommands a user sees (not `lab`, the tests' hidden helper, nor `help`).
fn visible(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

/// The page of a command group (or command) and of each of its commands:
/// `paceline-resource.8`, `paceline-resource-move.8`, …
fn pages_of(
    cmd: &clap::Command,
    parent: &str,
    dir: &Path,
    pages: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let name = format!("{parent}-{}", cmd.get_name());
    let children: Vec<String> = visible(cmd)
        .map(|c| format!("{name}-{}", c.get_name()))
        .collect();
    let mut see_also: Vec<(String, &str)> = vec![(parent.to_string(), SECTION)];
    see_also.extend(children.iter().map(|c| (c.clone(), SECTION)));
    let extra = see_also_section(&see_also);
    let text = page(cmd.clone().display_name(name.clone()), &extra)?;
    pages.push(write(dir, &format!("{name}.{SECTION}"), &text)?);
    for child in visible(cmd) {
        pages_of(child, &name, dir, pages)?;
    }
    Ok(())
}

/// clap_mangen's page (NAME, SYNOPSIS, DESCRIPTION, OPTIONS, SUBCOMMANDS,
/// VERSION) followed by hand-written sections in roff.
fn page(cmd: clap::Command, extra: &str) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .section(SECTION)
        .manual(MANUAL)
        .source(format!("paceline {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)?;
    out.write_all(extra.as_bytes())?;
    Ok(out)
}

fn see_also_section(pages: &[(String, &str)]) -> String {
    let refs: Vec<String> = pages
        .iter()
        .map(|(name, section)| format!(".BR {} ({})", name.replace('-', "\\-"), section))
        .collect();
    format!(".SH \"SEE ALSO\"\n{}\n", refs.join(",\n"))
}

fn files_section() -> String {
    let mut text = String::from(".SH FILES\n");
    for (path, what) in FILES {
        text.push_str(&format!(".TP\n.I {path}\n{what}\n"));
    }
    text
}

fn top_extra(see_also: &[(String, &str)]) -> String {
    format!(
        ".SH \"EXIT STATUS\"\n0 success, 1 the operation failed, 2 a usage or configuration error.\n\
         .SH \"PACEMAKER TOOLS\"\nCalled as \\fBcrm_attribute\\fR, \\fBcrm_master\\fR, \
         \\fBattrd_updater\\fR, \\fBcrm_node\\fR, \\fBcrm_mon\\fR, \\fBcibadmin\\fR (one query) or \\fBpacemakerd\\fR \
         (the daemon links them for resource agents), paceline answers as that tool.\n{}{}",
        files_section(),
        see_also_section(see_also)
    )
}

fn daemon_extra() -> String {
    format!(
        ".SH SIGNALS\n.TP\n.B SIGTERM, SIGINT\nclean shutdown: the cluster moves this node's \
         resources away, then the node leaves (a second signal leaves at once).\n\
         .TP\n.B SIGHUP\nreads the configuration file again and says whether it differs from \
         the cluster's (apply it with \\fBpaceline configure load\\fR).\n\
         .SH SYSTEMD\nRun by \\fBpacelined.service\\fR (Type=notify): READY=1 once serving, \
         STOPPING=1 on shutdown, WATCHDOG=1 from the event loop every half of WatchdogSec=. \
         Under systemd each log line is a journal entry with a priority and, where it is about \
         one, the fields NODE, RESOURCE and OPERATION (\\fBjournalctl -u pacelined RESOURCE=db\\fR).\n\
         A package upgrade does not restart the daemon: restarting a cluster node is the \
         operator's decision.\n{}{}",
        files_section(),
        see_also_section(&[
            ("paceline".into(), SECTION),
            ("paceline.toml".into(), "5"),
            ("systemd.service".into(), "5"),
        ])
    )
}

fn write(dir: &Path, name: &str, text: &[u8]) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}
