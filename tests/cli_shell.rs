//! `paceline shell` in a real terminal (issue 17): tmux runs it against a
//! lone live daemon, keys are typed with send-keys and the screen is read
//! with capture-pane. Tab completes a command and a resource's name read
//! from the cluster, a group alone enters its level, a command runs there,
//! `help` prints clap's help, the history file keeps the lines. Needs tmux
//! and resource-agents' Dummy; skipped with a message otherwise.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "local/mod.rs"]
mod local;

/// A tmux server of its own (its socket in the daemon's directory), killed
/// when dropped.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    /// Types `text` literally, then presses `key` (`Tab`, `Enter`). The
    /// text goes with `-l`: without it tmux reads a word such as `up` as a
    /// key name (the Up arrow, which recalled the previous line).
    fn keys(&self, text: &str, key: &str) {
        if !text.is_empty() {
            let out = self.cmd(&["send-keys", "-t", "shell", "-l", text]);
            assert!(out.status.success(), "{out:?}");
        }
        assert!(
            self.cmd(&["send-keys", "-t", "shell", key])
                .status
                .success()
        );
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", "shell", "-S", "-200"])
                .stdout,
        )
        .into_owned()
    }

    /// Waits until the screen satisfies `ok`: polled every 50 ms, so an
    /// idle machine waits no longer than the shell takes; the bound is
    /// generous (a loaded machine ran this beside other test binaries and
    /// took over 30 s) and only ends a hung test.
    fn until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "never showed {what}:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen shows `text` (capture-pane drops trailing
    /// blanks).
    fn shows(&self, text: &str) -> String {
        self.until(&format!("{text:?}"), |screen| screen.contains(text))
    }

    /// Waits until the shell reads a new line at `prompt` (its last line):
    /// keys typed before that may reach the line editor while it sets the
    /// terminal up, and be lost.
    fn prompt(&self, prompt: &str) {
        self.until(&format!("the prompt {prompt:?}"), |screen| {
            screen
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::trim_end)
                == Some(prompt)
        });
    }
}

#[test]
fn the_shell_completes_runs_and_keeps_history_in_a_terminal() {
    if Command::new("tmux").arg("-V").output().is_err()
        || !Path::new("/usr/lib/ocf/resource.d/heartbeat/Dummy").exists()
    {
        eprintln!("skipping: needs tmux and resource-agents' Dummy");
        return;
    }
    let d = local::Lone::start("plsh");
    d.ok(&[
        "resource",
        "create",
        "webserver",
        "ocf:heartbeat:Dummy",
        "--wait=30s",
    ]);
    let history = d.dir.join("history");
    let t = Tmux {
        socket: d.dir.join("tmux.sock"),
    };
    let shell = format!(
        "{} shell --socket {} --history {}",
        env!("CARGO_BIN_EXE_paceline"),
        d.socket().display(),
        history.display()
    );
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "shell",
        "-x",
        "160",
        "-y",
        "50",
        &shell,
    ]);
    assert!(out.status.success(), "{}", local::text(&out));
    t.prompt("paceline>");

    // Tab completes the group; alone, it enters the level.
    t.keys("reso", "Tab");
    t.shows("paceline> resource");
    t.keys("", "Enter");
    t.prompt("paceline resource>");
    // A command, and a resource's name from the running cluster.
    t.keys("sh", "Tab");
    t.shows("paceline resource> show");
    t.keys("web", "Tab");
    t.shows("paceline resource> show webserver");
    t.keys("", "Enter");
    t.shows("Placement:");
    t.prompt("paceline resource>");
    // A change through the same command table, then help of the level.
    t.keys("stop webserver --wait=30s", "Enter");
    t.shows("stop webserver: applied");
    t.prompt("paceline resource>");
    t.keys("help", "Enter");
    t.shows("Usage: resource <COMMAND>");
    t.prompt("paceline resource>");
    t.keys("up", "Enter");
    t.prompt("paceline>");
    t.keys("bogus", "Enter");
    t.shows("unrecognized subcommand 'bogus'");
    t.prompt("paceline>");
    t.keys("exit", "Enter");
    let deadline = Instant::now() + Duration::from_secs(60);
    while t.cmd(&["has-session", "-t", "shell"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "the shell did not exit:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let kept = std::fs::read_to_string(&history).unwrap();
    assert!(
        kept.contains("show webserver") && kept.contains("stop webserver --wait=30s"),
        "{kept}"
    );
    assert!(d.config().contains("target-role = \"Stopped\""));
}
