//! `paceline configure show | load FILE`: the cluster's replicated
//! configuration, read from and written through the local pacelined.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::{EXIT_FAILED, EXIT_USAGE, OutputFormat};
use crate::api::DEFAULT_SOCKET;
use crate::api::{self, Request, Response};
use crate::store::Version;

#[derive(Debug, Subcommand)]
pub enum ConfigureCommand {
    /// Print the configuration the cluster runs (the TOML as loaded).
    Show {
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Edit the running configuration in $VISUAL/$EDITOR, then load it: an
    /// invalid edit is shown with its line and column and reopened; an
    /// unchanged or emptied file changes nothing.
    Edit {
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Validate FILE, then make it the cluster's configuration. Refused if
    /// the configuration changed since it was read (no lost updates).
    Load {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
    },
}

pub fn run(cmd: ConfigureCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigureCommand::Show { output, socket } => {
            let (text, version) = show(&socket)?;
            match output {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "version": version, "config": text })
                    )?
                ),
                OutputFormat::Text => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        ConfigureCommand::Load {
            file,
            output,
            socket,
        } => load(&file, output, &socket),
        ConfigureCommand::Edit { output, socket } => edit(output, &socket),
    }
}

/// At most this many rounds of "invalid, edit again".
const EDIT_ROUNDS: usize = 5;

fn edit(output: OutputFormat, socket: &Path) -> anyhow::Result<ExitCode> {
    let (original, based_on) = show(socket)?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let file = std::env::temp_dir().join(format!("paceline-edit-{}.toml", std::process::id()));
    std::fs::write(&file, &original)?;
    let result = (|| -> anyhow::Result<ExitCode> {
        for _ in 0..EDIT_ROUNDS {
            // The editor may carry arguments ("code --wait").
            let mut words = editor.split_whitespace();
            let program = words.next().unwrap_or("vi");
            let status = std::process::Command::new(program)
                .args(words)
                .arg(&file)
                .status()
                .map_err(|e| anyhow::anyhow!("cannot run the editor `{editor}`: {e}"))?;
            if !status.success() {
                eprintln!("paceline: the editor failed ({status}); nothing was changed");
                return Ok(ExitCode::from(EXIT_FAILED));
            }
            let text = std::fs::read_to_string(&file)?;
            if text == original || text.trim().is_empty() {
                eprintln!("paceline: no change");
                return Ok(ExitCode::SUCCESS);
            }
            if let Err(e) = check_new(&text, &file.display().to_string()) {
                eprintln!("{e}");
                eprintln!("paceline: the edit is not valid; opening it again");
                continue;
            }
            return match submit_settled(socket, &text, "the edited configuration", based_on)? {
                Ok(version) => {
                    print_applied("configure edit", version, output)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(message) => {
                    eprintln!("paceline: {message}");
                    eprintln!("paceline: your edit is kept in {}", file.display());
                    Ok(ExitCode::from(EXIT_FAILED))
                }
            };
        }
        eprintln!(
            "paceline: still not valid after {EDIT_ROUNDS} rounds; nothing was changed (your edit is in {})",
            file.display()
        );
        Ok(ExitCode::from(EXIT_USAGE))
    })();
    if matches!(&result, Ok(code) if *code == ExitCode::SUCCESS) {
        let _ = std::fs::remove_file(&file);
    }
    result
}

/// The cluster's configuration text and its version.
pub fn show(socket: &Path) -> anyhow::Result<(String, Version)> {
    match api::call(socket, &Request::ConfigShow)? {
        Response::Config { text, version } => Ok((text, version)),
        Response::Error { message } => anyhow::bail!("pacelined refused: {message}"),
        other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
    }
}

/// Submits `text`; when a view change leaves the outcome open, looks and
/// submits again only if it was not applied and nothing else was.
pub fn submit_settled(
    socket: &Path,
    text: &str,
    file_name: &str,
    based_on: Version,
) -> anyhow::Result<Result<Version, String>> {
    let mut outcome = submit(socket, text.to_string(), file_name, based_on)?;
    // Right after a view change the DC collects the members' documents
    // before it takes changes (a few heartbeats): nothing was applied, so
    // the same change is simply submitted again.
    for _ in 0..20 {
        match &outcome {
            Err(m) if m.contains("still collecting") => {}
            _ => break,
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        outcome = submit(socket, text.to_string(), file_name, based_on)?;
    }
    for _ in 0..3 {
        match &outcome {
            Err(m) if m.contains("view changed") => {}
            _ => break,
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let (current, version) = show(socket)?;
        if current == text && version.epoch > based_on.epoch {
            outcome = Ok(version);
        } else if version.epoch == based_on.epoch {
            outcome = submit(socket, text.to_string(), file_name, version)?;
        } else {
            break;
        }
    }
    Ok(outcome)
}

/// Submits `text` based on `based_on` (the caller validated it).
pub fn submit(
    socket: &Path,
    text: String,
    file_name: &str,
    based_on: Version,
) -> anyhow::Result<Result<Version, String>> {
    let request = Request::ConfigLoad {
        text,
        file_name: file_name.to_string(),
        based_on,
    };
    match api::call(socket, &request)? {
        Response::ConfigApplied { version, warning } => {
            if let Some(warning) = warning {
                eprintln!("paceline: WARNING: {warning}");
            }
            Ok(Ok(version))
        }
        Response::Error { message } => Ok(Err(message)),
        other => anyhow::bail!("unexpected answer from pacelined: {other:?}"),
    }
}

/// A new configuration as `config check` checks a file: what the daemon
/// checks (`config::load_node_str`, which it runs again on receipt) and
/// every resource against its agent's meta-data on this node (here, not
/// in the daemon, whose event loop must not wait on agents' meta-data).
fn check_new(text: &str, what: &str) -> Result<(), crate::config::ConfigError> {
    let agents = crate::executor::installed::InstalledAgents::default();
    let cluster = crate::config::load_new_config(text, what, &agents)?;
    for why in &cluster.unchecked_agents {
        eprintln!("note: {why}: those resources' agents and parameters were not checked");
    }
    Ok(())
}

fn load(file: &Path, output: OutputFormat, socket: &Path) -> anyhow::Result<ExitCode> {
    let text = match crate::config::read_bounded(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("paceline: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    // Nothing is sent unless the file is valid.
    if let Err(e) = check_new(&text, &file.display().to_string()) {
        eprintln!("{e}");
        eprintln!(
            "paceline: {} rejected; the cluster keeps its configuration",
            file.display()
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let (old_text, mut based_on) = show(socket)?;
    let mut outcome = submit_settled(socket, &text, &file.display().to_string(), based_on)?;
    // A new term (a DC change) restamps the version without changing the
    // configuration: when the text is still the one read, submit again on
    // the new stamp; a real concurrent change is refused.
    for _ in 0..5 {
        match &outcome {
            Err(m) if m.contains("changed since you read it") => {}
            _ => break,
        }
        let (current, version) = show(socket)?;
        if current != old_text {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        based_on = version;
        outcome = submit_settled(socket, &text, &file.display().to_string(), based_on)?;
    }
    let restart_note = membership_changed(&old_text, &text);
    match outcome {
        Ok(version) => {
            if let Some(note) = &restart_note {
                eprintln!("paceline: note: {note}");
            }
            match output {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "version": version }))?
                ),
                OutputFormat::Text => println!(
                    "configuration applied: epoch {} (was {})",
                    version.epoch, based_on.epoch
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("paceline: {message}");
            Ok(ExitCode::from(EXIT_FAILED))
        }
    }
}

/// Reads the cluster's configuration, applies `edit`, validates the result
/// and submits it based on the version read; a concurrent change makes it
/// read and edit again (a few times). Returns the new version.
pub fn edit_cluster(
    socket: &Path,
    what: &str,
    edit: impl Fn(&str) -> Result<String, crate::config::edit::EditError>,
) -> anyhow::Result<Version> {
    let mut last_error = String::new();
    for _ in 0..12 {
        let (text, based_on) = show(socket)?;
        let edited = edit(&text)?;
        if edited == text {
            return Ok(based_on);
        }
        if let Err(e) = crate::config::load_node_str(&edited, what) {
            return Err(anyhow::Error::new(e).context(format!(
                "{what} would make the configuration invalid; nothing was changed"
            )));
        }
        match submit(socket, edited, what, based_on)? {
            Ok(version) => return Ok(version),
            Err(m)
                if m.contains("changed since")
                    || m.contains("view changed")
                    || m.contains("still collecting") =>
            {
                last_error = m;
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            Err(m) => anyhow::bail!("{what}: {m}"),
        }
    }
    anyhow::bail!("{what}: the configuration kept changing underneath: {last_error}")
}

/// Prints the outcome of an edit in the chosen format.
pub fn print_applied(what: &str, version: Version, output: OutputFormat) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "applied": what, "version": version })
            )?
        ),
        OutputFormat::Text => println!("{what}: applied (configuration epoch {})", version.epoch),
    }
    Ok(())
}

/// The sections pacelined reads from its own file at start (`[cluster]`,
/// `[membership]`, `[quorum]`, `[[node]]`) take effect only on restart.
fn membership_changed(old: &str, new: &str) -> Option<String> {
    let runtime = |text| {
        crate::config::load_node_str(text, "cluster.toml")
            .ok()
            .and_then(|c| c.runtime)
    };
    let (a, b) = (runtime(old)?, runtime(new)?);
    (!a.same_membership(&b)).then(|| {
        "the [cluster]/[membership]/[quorum]/[[node]] settings changed: pacelined reads them from its config file at start; install the file on every node and restart the nodes one at a time".to_string()
    })
}
