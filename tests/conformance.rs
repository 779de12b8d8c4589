//! Runs Pacemaker's scheduler regression cases (../shared/conformance) through
//! the CIB importer and the scheduler, compares the Transition Summary with
//! the shared checker's normalization, and fails if a case listed in
//! tests/conformance/passing.txt regresses. PACELINE_UPDATE_PASSING=1
//! rewrites that list from the current results.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use paceline::config::cib::{import_cib, parse_datetime};
use paceline::scheduler::{format_summary, schedule};

fn shared_dir() -> PathBuf {
    // The repo sits beside shared/ in CI; a worktree one level deeper.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let near = root.join("../shared/conformance");
    if near.is_dir() {
        near
    } else {
        root.join("../../shared/conformance")
    }
}

fn run_case(xml: &Path, now: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(xml).map_err(|e| e.to_string())?;
    let cib = import_cib(&text).map_err(|e| e.to_string())?;
    let now = cib
        .status
        .execution_date
        .or_else(|| parse_datetime(now))
        .ok_or("bad now")?;
    std::panic::catch_unwind(|| format_summary(&schedule(&cib.config, &cib.status, now)))
        .map_err(|_| "scheduler panicked".to_string())
}

#[test]
fn pacemaker_scheduler_conformance() {
    let shared = shared_dir();
    let cases_dir = shared.join("pacemaker-scheduler");
    let index = std::fs::read_to_string(cases_dir.join("tests.tsv"))
        .expect("../shared/conformance/pacemaker-scheduler/tests.tsv must exist");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-actual");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut tiers: BTreeMap<String, String> = BTreeMap::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 4 {
            continue;
        }
        let (name, tier, now) = (cols[0], cols[1], cols[3]);
        tiers.insert(name.to_string(), tier.to_string());
        match run_case(&cases_dir.join(format!("{name}.xml")), now) {
            Ok(summary) => {
                std::fs::write(out_dir.join(format!("{name}.summary")), summary).unwrap()
            }
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    // One python3 run of the shared checker's own normalization.
    let script = r#"
import sys, os
sys.path.insert(0, sys.argv[1])
import compare
exp, act = sys.argv[2], sys.argv[3]
for name in sys.stdin.read().split():
    e = os.path.join(exp, name + ".summary")
    a = os.path.join(act, name + ".summary")
    if not os.path.isfile(a):
        print("FAIL", name); continue
    fe, ea = compare.actions_of(e)
    fa, aa = compare.actions_of(a)
    print("PASS" if fa and ea == aa else "FAIL", name)
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&shared)
        .arg(&cases_dir)
        .arg(&out_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is needed to run the shared checker");
    {
        use std::io::Write;
        let names: Vec<&str> = tiers.keys().map(String::as_str).collect();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(names.join("\n").as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "checker failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut passed: BTreeSet<String> = BTreeSet::new();
    let mut per_tier: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((verdict, name)) = line.split_once(' ') else {
            continue;
        };
        let tier = tiers.get(name).cloned().unwrap_or_default();
        let e = per_tier.entry(tier).or_default();
        if verdict == "PASS" {
            e.0 += 1;
            passed.insert(name.to_string());
        } else {
            e.1 += 1;
        }
    }
    for (tier, (p, f)) in &per_tier {
        println!("tier {tier}: {p} passed, {f} failed");
    }
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/passing.txt");
    if std::env::var("PACELINE_UPDATE_PASSING").is_ok_and(|v| v == "1") {
        let text: String = passed.iter().map(|n| format!("{n}\n")).collect();
        std::fs::write(&list, text).unwrap();
        println!("wrote {} names to {}", passed.len(), list.display());
        return;
    }
    let expected = std::fs::read_to_string(&list).unwrap_or_default();
    let regressed: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && !passed.contains(*n))
        .collect();
    assert!(
        regressed.is_empty(),
        "conformance regressions (listed in passing.txt, now failing): {regressed:?}"
    );
}
