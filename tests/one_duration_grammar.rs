//! Exactly one function of the workspace turns duration text into a
//! duration: `paceline::config::duration::parse_duration`. A second parser
//! is a second grammar waiting to disagree (a `[fencing] delay = "5min"`
//! that `config check` accepted and the fencing crate refused left a
//! cluster that could fence nothing). This reads every source file and
//! fails on a function named like a duration parser, or on the unit
//! tables such a parser is made of, anywhere else.

use std::path::{Path, PathBuf};

const GRAMMAR: &str = "src/config/duration.rs";

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its `#[cfg(test)]` module (tests may name
/// units in their inputs) and without comments.
fn code(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or(text);
    body.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Files whose matches on unit letters are not about durations, with why.
const NOT_DURATIONS: &[(&str, &str)] = &[(
    "src/daemon/alerts.rs",
    "strftime conversions (%H, %S) of an alert's timestamp-format: it formats a time, it reads no duration",
)];

#[test]
fn one_function_reads_durations() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "fencing/src", "bench", "fuzz"] {
        sources(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 50,
        "the sources were not found under {root:?}"
    );
    // A unit table: a match arm or comparison on the unit words.
    let unit_tables = [
        "\"ms\" =>",
        "\"ms\" |",
        "\"msec\"",
        "\"min\" =>",
        "\"min\" |",
        "| \"min\"",
        "\"h\" =>",
        "\"hr\"",
        "'H' =>",
        "'S' =>",
    ];
    let mut definitions = Vec::new();
    let mut offenders = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = code(&std::fs::read_to_string(f).unwrap());
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.contains("fn parse_duration")
                || t.contains("fn parse_interval")
                || t.contains("duration_ms(s")
                || t.contains("duration_ms(text")
            {
                definitions.push(format!("{rel}:{}: {t}", n + 1));
            }
            if rel != GRAMMAR
                && !NOT_DURATIONS.iter().any(|(file, _)| rel == *file)
                && unit_tables.iter().any(|u| t.contains(u))
            {
                offenders.push(format!("{rel}:{}: {t}", n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "duration units read outside {GRAMMAR}; call config::parse_duration instead:\n{}",
        offenders.join("\n")
    );
    // No adapter either: the grammar is the one function that turns text
    // into a duration; the model carries durations typed, so nothing past
    // the config module reads one again.
    assert!(
        definitions.iter().all(|d| d.starts_with(GRAMMAR)),
        "duration parsers outside the grammar:\n{definitions:#?}"
    );
    assert_eq!(definitions.len(), 1, "{definitions:#?}");
}

/// Where outside text enters: the config module (the cluster file, the
/// CIB, the status file), the CLI's flags, the simulator's scenario files
/// and a builtin agent's own parameter. The scheduler, the controller,
/// the daemon and the rest take typed values from the model.
const EDGES: &[&str] = &[
    "src/config/",
    "src/cli/",
    "src/sim/scenario.rs",
    "src/executor/filesystem.rs",
];

#[test]
fn only_the_edges_call_the_grammar() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "fencing/src", "bench", "fuzz"] {
        sources(&root.join(dir), &mut files);
    }
    let mut callers = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if EDGES.iter().any(|e| rel.starts_with(e)) {
            continue;
        }
        let text = code(&std::fs::read_to_string(f).unwrap());
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.contains("parse_duration") || t.contains("duration_ms(") {
                callers.push(format!("{rel}:{}: {t}", n + 1));
            }
        }
    }
    assert!(
        callers.is_empty(),
        "duration text read past the config module; give the model a typed field instead:\n{}",
        callers.join("\n")
    );
}
