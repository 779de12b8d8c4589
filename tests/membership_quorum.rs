//! Data-driven quorum cases in `tests/quorum/*.txt` (raft-rs testdata style):
//! each case is `command args`, a `----` line, the expected output, a blank line.
//! Run with `PACELINE_REWRITE=1` to regenerate expectations after a deliberate change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use paceline::membership::{QuorumConfig, QuorumState, Unblock};

fn run_command(state: &mut Option<QuorumState>, line: &str) -> String {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    match command {
        "config" => {
            let mut votes = BTreeMap::new();
            let mut config = QuorumConfig::with_defaults(BTreeMap::new());
            let mut flags = Vec::new();
            for arg in &args {
                match arg.split_once('=') {
                    Some(("votes", list)) => {
                        for pair in list.split(',') {
                            let (n, v) = pair.split_once(':').expect("votes=node:votes,...");
                            votes.insert(n.parse().unwrap(), v.parse().unwrap());
                        }
                    }
                    Some(("expected", n)) => config.expected_votes = Some(n.parse().unwrap()),
                    None => flags.push(*arg),
                    Some((k, _)) => panic!("unknown config key {k}"),
                }
            }
            let defaults = QuorumConfig::with_defaults(votes);
            config.votes = defaults.votes;
            config.two_node = flags.contains(&"two_node");
            config.wait_for_all = flags.contains(&"wait_for_all");
            config.last_man_standing = flags.contains(&"last_man_standing");
            config.auto_tie_breaker = flags.contains(&"auto_tie_breaker");
            config.witness = flags.contains(&"witness");
            *state = Some(QuorumState::new(config));
            "ok".to_string()
        }
        "view" => {
            let q = state.as_mut().expect("config first");
            let members: BTreeSet<u16> = args
                .first()
                .map(|l| {
                    l.split(',')
                        .filter(|s| !s.is_empty())
                        .map(|n| n.parse().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            q.view_changed(&members);
            describe(q)
        }
        "lms-window" => {
            let q = state.as_mut().expect("config first");
            q.apply_last_man_standing();
            describe(q)
        }
        "witness-vote" => {
            let q = state.as_mut().expect("config first");
            q.set_witness_vote(args.first() == Some(&"held"));
            describe(q)
        }
        "unblock" => {
            let q = state.as_mut().expect("config first");
            q.unblock(Unblock {
                by: args.first().unwrap_or(&"root").to_string(),
                at_unix_ms: 0,
            });
            describe(q)
        }
        other => panic!("unknown command {other}"),
    }
}

fn describe(q: &QuorumState) -> String {
    let s = q.status();
    format!(
        "quorate={} votes={} expected={} quorum={} waiting_for_all={}\nreason: {}",
        s.quorate, s.total_votes, s.expected_votes, s.quorum, s.waiting_for_all, s.reason
    )
}

fn run_file(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    let mut state = None;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with('#') || line.trim().is_empty() {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        assert_eq!(
            lines.next(),
            Some("----"),
            "{}: `----` expected after `{line}`",
            path.display()
        );
        while lines.peek().is_some_and(|l| !l.trim().is_empty()) {
            lines.next();
        }
        out.push_str(line);
        out.push_str("\n----\n");
        out.push_str(&run_command(&mut state, line));
        out.push('\n');
    }
    (text, out)
}

#[test]
fn quorum_testdata() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/quorum");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let (expected, actual) = run_file(&path);
        if std::env::var_os("PACELINE_REWRITE").is_some() {
            std::fs::write(&path, &actual).unwrap();
        } else {
            assert_eq!(
                actual,
                expected,
                "{} differs (PACELINE_REWRITE=1 regenerates)",
                path.display()
            );
        }
    }
}
