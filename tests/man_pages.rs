//! The man pages and completions that `packaging/build` installs are
//! generated from the clap definitions (`packaging/docs.rs`, issue 20):
//! every visible command has a page, paceline(8) names every command group,
//! each completion script knows every command, and paceline.toml(5)'s
//! SEE ALSO and FILES name what is installed.

#[path = "../packaging/docs.rs"]
#[allow(dead_code)]
mod docs;

use std::path::{Path, PathBuf};

struct Out(PathBuf);

impl Drop for Out {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Each test its own directory: tests run in parallel.
fn generated(tag: &str) -> (Out, docs::Generated) {
    let dir = std::env::temp_dir().join(format!("pl-man-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let generated = docs::generate(&dir).unwrap();
    (Out(dir), generated)
}

/// Every visible command as its page name: paceline-resource-move, …
fn command_pages(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let name = format!("{prefix}-{}", sub.get_name());
        command_pages(sub, &name, out);
        out.push(name);
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_command_has_a_page_and_the_top_page_names_every_group() {
    let (out, generated) = generated("pages");
    let cli = <paceline::cli::Cli as clap::CommandFactory>::command();
    let mut pages = Vec::new();
    command_pages(&cli, "paceline", &mut pages);
    assert!(pages.len() > 20, "{pages:?}");
    for page in &pages {
        let path = out.0.join("man8").join(format!("{page}.8"));
        assert!(generated.man_pages.contains(&path), "no page {page}(8)");
        assert!(read(&path).contains(".TH"), "{page}(8) is no man page");
    }
    let top = read(&out.0.join("man8/paceline.8"));
    for group in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = group.get_name();
        assert!(
            top.contains(&format!("paceline\\-{name} (8)")),
            "paceline(8) does not name paceline-{name}(8)"
        );
    }
    assert!(!top.contains("lab"), "the hidden lab command is documented");
    let daemon = read(&out.0.join("man8/pacelined.8"));
    for option in ["\\-\\-config", "\\-\\-node", "\\-\\-socket", "WATCHDOG=1"] {
        assert!(daemon.contains(option), "pacelined(8) lacks {option}");
    }
}

#[test]
fn completions_name_every_command() {
    let (out, generated) = generated("completions");
    let dir = out.0.join("completions");
    let scripts = ["paceline.bash", "_paceline", "paceline.fish"];
    for script in scripts {
        assert!(
            generated.completions.contains(&dir.join(script)),
            "{script}"
        );
    }
    let cli = <paceline::cli::Cli as clap::CommandFactory>::command();
    for script in scripts {
        let text = read(&dir.join(script));
        for group in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
            assert!(
                text.contains(group.get_name()),
                "{script} lacks {}",
                group.get_name()
            );
            for sub in group.get_subcommands() {
                assert!(
                    text.contains(sub.get_name()),
                    "{script} lacks {} {}",
                    group.get_name(),
                    sub.get_name()
                );
            }
        }
    }
}

#[test]
fn the_configuration_page_refers_to_installed_pages_and_files() {
    let (out, generated) = generated("config");
    let page = read(&out.0.join("man5/paceline.toml.5"));
    let see_also = page
        .split(".SH SEE ALSO")
        .nth(1)
        .expect("a SEE ALSO section");
    let installed: Vec<String> = generated
        .man_pages
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut refs = 0;
    for line in see_also.lines().filter(|l| l.starts_with(".BR ")) {
        let mut words = line.split_whitespace().skip(1);
        let (Some(name), Some(section)) = (words.next(), words.next()) else {
            continue;
        };
        let section = section.trim_matches(|c: char| !c.is_ascii_digit());
        let file = format!("{}.{section}", name.replace("\\-", "-"));
        if file.starts_with("paceline") {
            assert!(
                installed.contains(&file),
                "SEE ALSO names {file}, not installed"
            );
            refs += 1;
        }
    }
    assert!(
        refs >= 2,
        "SEE ALSO names neither paceline(8) nor pacelined(8)"
    );
    let files = page
        .split(".SH FILES")
        .nth(1)
        .and_then(|s| s.split(".SH ").next())
        .expect("a FILES section");
    for path in [
        "/etc/paceline/cluster.toml",
        "/etc/paceline/authkey",
        "/var/lib/paceline",
        "/run/paceline/paceline.sock",
        "/usr/share/paceline/policies/",
    ] {
        assert!(files.contains(path), "FILES lacks {path}");
    }
}
