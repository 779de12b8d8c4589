//! What the conformance tests share: running a CIB through the importer and
//! the scheduler, and judging Transition Summaries with the shared checker's
//! own normalization (`../shared/conformance/compare.py`, via python3).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use paceline::config::cib::{import_cib, parse_datetime};
use paceline::scheduler::{format_summary, schedule};

/// `../shared/conformance`: beside the repo in CI, one level higher from a worktree.
pub fn shared_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let near = root.join("../shared/conformance");
    if near.is_dir() {
        near
    } else {
        root.join("../../shared/conformance")
    }
}

/// The Transition Summary paceline plans for one CIB file, evaluated at the
/// CIB's `execution-date`, else at `now`.
pub fn run_case(xml: &Path, now: &str) -> Result<String, String> {
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

/// The names (of `names`) whose `actual_dir/NAME.summary` equals
/// `expected_dir/NAME.summary` under the checker's plain normalization.
pub fn passing(expected_dir: &Path, actual_dir: &Path, names: &[&str]) -> BTreeSet<String> {
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
        .arg(shared_dir())
        .arg(expected_dir)
        .arg(actual_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed to run the shared checker");
    {
        use std::io::Write;
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
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("PASS "))
        .map(str::to_string)
        .collect()
}
