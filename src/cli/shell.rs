//! `paceline shell`: the one-shot commands, interactively, in crmsh's
//! spirit. One command table drives both: a line is parsed by the same clap
//! definition (`super::Cli`) and run by the same `super::run`, so the
//! shell, the man pages and the completions never disagree. A group name
//! alone (`resource`) enters that level, `up` leaves it; `help [WORDS]`
//! prints clap's help of the level or command; Tab completes commands,
//! flags and the cluster's names (resources, nodes, constraints, fence
//! devices, read from the daemon when the shell starts and after each
//! command); history is kept in a file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct ShellArgs {
    /// The local pacelined's API socket, passed to every command that
    /// talks to it (unless the line gives its own).
    #[arg(long, default_value = crate::api::DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Where the history is kept (default: ~/.paceline_history).
    #[arg(long)]
    history: Option<PathBuf>,
}

/// The shell's own words besides the commands.
const SHELL_WORDS: [&str; 4] = ["help", "up", "exit", "quit"];

/// What Tab completes from: the command table and the cluster's names.
struct ShellHelper {
    command: clap::Command,
    level: Vec<String>,
    names: Vec<String>,
}

impl ShellHelper {
    /// Candidates for `partial` after the complete words `before`.
    fn candidates(&self, before: &[&str], partial: &str) -> Vec<String> {
        let words: Vec<&str> = self
            .level
            .iter()
            .map(String::as_str)
            .chain(before.iter().copied())
            .collect();
        let cmd = walk(&self.command, &words);
        let mut out: Vec<String> = Vec::new();
        if before.is_empty() {
            out.extend(SHELL_WORDS.iter().map(|w| w.to_string()));
        }
        out.extend(
            cmd.get_subcommands()
                .filter(|c| !c.is_hide_set())
                .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_visible_aliases()))
                .map(str::to_string),
        );
        out.extend(
            cmd.get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long())
                .map(|l| format!("--{l}")),
        );
        if cmd.get_positionals().next().is_some() && !partial.starts_with('-') {
            out.extend(self.names.iter().cloned());
        }
        out.retain(|c| c.starts_with(partial));
        out.sort();
        out.dedup();
        out
    }
}

/// The command the words lead to (subcommands only; flags and values are
/// passed over).
fn walk<'a>(root: &'a clap::Command, words: &[&str]) -> &'a clap::Command {
    let mut cmd = root;
    for w in words {
        if let Some(sub) = cmd.find_subcommand(w) {
            cmd = sub;
        }
    }
    cmd
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = line.get(..pos).unwrap_or(line);
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let before: Vec<&str> = head[..start].split_whitespace().collect();
        let found = self
            .candidates(&before, &head[start..])
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: format!("{c} "),
            })
            .collect();
        Ok((start, found))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// Resources, nodes, constraint and fence device ids of the running
/// cluster (none while the daemon does not answer).
fn cluster_names(socket: &Path) -> Vec<String> {
    let Ok((text, _)) = super::configure::show(socket) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Ok(c) = crate::config::load_config_str(&text, "the cluster configuration") {
        for r in &c.resources {
            names.extend(super::resource::primitives_of(&c, r.id()));
            names.push(r.id().to_string());
        }
        names.extend(c.nodes.iter().map(|n| n.uname.clone()));
        names.extend(c.locations.iter().map(|l| l.id.clone()));
        names.extend(c.colocations.iter().map(|l| l.id.clone()));
        names.extend(c.orders.iter().map(|l| l.id.clone()));
    }
    if let Ok(f) = crate::config::load_fencing_str(&text, "the cluster configuration")
        && let Some(section) = f.section
    {
        names.extend(section.devices.iter().map(|d| d.id.clone()));
    }
    names.sort();
    names.dedup();
    names
}

fn history_file(args: &ShellArgs) -> Option<PathBuf> {
    args.history
        .clone()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".paceline_history")))
}

/// What one line asks of the shell.
enum Line {
    Nothing,
    Exit,
    Up,
    Enter(Vec<String>),
    Help(Vec<String>),
    Run(Vec<String>),
}

fn read(level: &[String], words: Vec<String>, root: &clap::Command) -> Line {
    match words.first().map(String::as_str) {
        None => Line::Nothing,
        Some("exit" | "quit") => Line::Exit,
        Some("up" | "..") => Line::Up,
        Some("help" | "?") => Line::Help(
            level
                .iter()
                .cloned()
                .chain(words.into_iter().skip(1))
                .collect(),
        ),
        Some(_) => {
            let path: Vec<String> = level.iter().cloned().chain(words).collect();
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            let cmd = walk(root, &refs);
            // A group named alone: enter it (crmsh's levels).
            let is_group = cmd.has_subcommands() && cmd.get_name() == refs[refs.len() - 1];
            if is_group && !cmd.get_positionals().any(|_| true) {
                Line::Enter(path)
            } else {
                Line::Run(path)
            }
        }
    }
}

/// Adds `--socket` when the command takes it and the line has none.
fn with_socket(root: &clap::Command, mut path: Vec<String>, socket: &Path) -> Vec<String> {
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    let takes = walk(root, &refs)
        .get_arguments()
        .any(|a| a.get_id() == "socket");
    if takes
        && !path
            .iter()
            .any(|w| w == "--socket" || w.starts_with("--socket="))
    {
        path.push("--socket".into());
        path.push(socket.display().to_string());
    }
    path
}

fn run_line(path: Vec<String>, args: &ShellArgs, root: &clap::Command) {
    let path = with_socket(root, path, &args.socket);
    let argv = std::iter::once("paceline".to_string()).chain(path);
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: super::Command::Shell(_),
        }) => eprintln!("paceline: already in the shell"),
        Ok(cli) => {
            let _ = super::exit_code(super::run(cli.command));
        }
        // clap's own words: usage, help or version.
        Err(e) => {
            let _ = e.print();
        }
    }
}

pub fn run(args: ShellArgs) -> anyhow::Result<ExitCode> {
    let root = Cli::command();
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(true)
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ShellHelper {
        command: root.clone(),
        level: Vec::new(),
        names: cluster_names(&args.socket),
    }));
    let history = history_file(&args);
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let mut level: Vec<String> = Vec::new();
    loop {
        let prompt = match level.is_empty() {
            true => "paceline> ".to_string(),
            false => format!("paceline {}> ", level.join(" ")),
        };
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let words = match shlex::split(&line) {
            Some(w) => w,
            None => {
                eprintln!("paceline: unbalanced quotes");
                continue;
            }
        };
        match read(&level, words, &root) {
            Line::Nothing => {}
            Line::Exit => break,
            Line::Up => {
                level.pop();
            }
            Line::Enter(path) => level = path,
            Line::Help(path) => {
                let refs: Vec<&str> = path.iter().map(String::as_str).collect();
                let mut cmd = walk(&root, &refs).clone();
                println!("{}", cmd.render_help());
                if refs.is_empty() || cmd.has_subcommands() {
                    println!("Shell: a group alone enters it, `up` leaves, `exit` or Ctrl-D ends.");
                }
            }
            Line::Run(path) => {
                run_line(path, &args, &root);
                if let Some(h) = editor.helper_mut() {
                    h.names = cluster_names(&args.socket);
                }
            }
        }
        if let Some(h) = editor.helper_mut() {
            h.level = level.clone();
        }
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(level: &[&str]) -> ShellHelper {
        ShellHelper {
            command: Cli::command(),
            level: level.iter().map(|s| s.to_string()).collect(),
            names: vec!["web".into(), "node1".into()],
        }
    }

    #[test]
    fn tab_completes_commands_flags_and_names_from_the_one_command_table() {
        let h = helper(&[]);
        assert_eq!(h.candidates(&[], "reso"), ["resource"]);
        assert!(
            h.candidates(&["resource"], "")
                .contains(&"create".to_string())
        );
        assert_eq!(h.candidates(&["resource", "show"], "w"), ["web"]);
        assert!(
            h.candidates(&["resource", "move"], "--l")
                .contains(&"--lifetime".to_string())
        );
        let inside = helper(&["resource"]);
        assert!(
            inside
                .candidates(&[], "dis")
                .contains(&"disable".to_string())
        );
        assert!(inside.candidates(&[], "").contains(&"up".to_string()));
    }

    #[test]
    fn a_group_alone_enters_its_level_and_a_command_runs() {
        let root = Cli::command();
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert!(matches!(read(&[], words("resource"), &root), Line::Enter(p) if p == ["resource"]));
        assert!(
            matches!(read(&["resource".into()], words("show web"), &root), Line::Run(p) if p == ["resource", "show", "web"])
        );
        assert!(matches!(read(&[], words("status"), &root), Line::Run(_)));
        assert!(matches!(read(&[], words("up"), &root), Line::Up));
        let p = with_socket(&root, words("resource show web"), Path::new("/s"));
        assert_eq!(p, words("resource show web --socket /s"));
        let p = with_socket(&root, words("simulate --config x"), Path::new("/s"));
        assert_eq!(p, words("simulate --config x"));
    }
}
