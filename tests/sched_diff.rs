//! paceline's own conformance cases, found by the differential tester
//! (`bench/sched-diff`): random CIBs on which paceline and Pacemaker 2.1.5's
//! crm_simulate disagreed, minimised, with crm_simulate's output beside them.
//!
//! - `tests/sched-diff/NAME.xml` + `NAME.summary`: disagreements that were
//!   fixed; every one must agree (plain normalization of the shared checker).
//! - `tests/sched-diff/open/`: minimised disagreements not fixed yet; their
//!   figures are printed, a newly agreeing one is pointed out (move it up).
//! - `sched_diff_seeds`: the tester on a fixed seed range against the real
//!   crm_simulate; a seed listed in `tests/sched-diff/agreeing.txt` that no
//!   longer agrees fails the test. Skipped (with the reason) where
//!   crm_simulate is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "summaries/mod.rs"]
mod summaries;

/// The seeds `sched_diff_seeds` runs (bench/sched-diff syntax).
const SEEDS: &str = "0..300";

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sched-diff")
}

/// (names, names passing) of the cases in `dir`.
fn run_dir(dir: &Path, out: &Path) -> (Vec<String>, Vec<String>) {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".xml").map(str::to_string)
            })
            .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in &names {
        match summaries::run_case(&dir.join(format!("{name}.xml")), "") {
            Ok(summary) => std::fs::write(out.join(format!("{name}.summary")), summary).unwrap(),
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let passed = summaries::passing(dir, out, &refs);
    let passing = names
        .iter()
        .filter(|n| passed.contains(*n))
        .cloned()
        .collect();
    (names, passing)
}

#[test]
fn sched_diff_cases() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (names, passing) = run_dir(&cases_dir(), &tmp.join("sched-diff-actual"));
    println!("fixed cases: {} of {} agree", passing.len(), names.len());
    let (open, open_passing) = run_dir(&cases_dir().join("open"), &tmp.join("sched-diff-open"));
    println!(
        "open cases: {} of {} agree (move those to tests/sched-diff/): {open_passing:?}",
        open_passing.len(),
        open.len()
    );
    let failing: Vec<&String> = names.iter().filter(|n| !passing.contains(n)).collect();
    assert!(
        failing.is_empty(),
        "sched-diff cases disagree again: {failing:?}"
    );
}

#[test]
fn sched_diff_seeds() {
    if !Path::new("/usr/sbin/crm_simulate").exists() {
        println!("skipped: crm_simulate (Debian's pacemaker-cli-utils) is not installed");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("bench/sched-diff"))
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_paceline"))
        .arg("--show")
        .arg("1")
        .arg("--check")
        .arg(cases_dir().join("agreeing.txt"))
        .arg(SEEDS)
        .output()
        .expect("bench/sched-diff runs (python3)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "differential run regressed: {}{}",
        stdout
            .lines()
            .filter(|l| l.starts_with("REGRESSION"))
            .collect::<String>(),
        String::from_utf8_lossy(&out.stderr)
    );
}
