//! Runs Pacemaker's scheduler regression cases (../shared/conformance) through
//! the CIB importer and the scheduler, compares the Transition Summary with
//! the shared checker's normalization, and fails if a case listed in
//! tests/conformance/passing.txt regresses. PACELINE_UPDATE_PASSING=1
//! rewrites that list from the current results.

use std::collections::BTreeMap;
use std::path::Path;

#[path = "summaries/mod.rs"]
mod summaries;

#[test]
fn pacemaker_scheduler_conformance() {
    let shared = summaries::shared_dir();
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
        match summaries::run_case(&cases_dir.join(format!("{name}.xml")), now) {
            Ok(summary) => {
                std::fs::write(out_dir.join(format!("{name}.summary")), summary).unwrap()
            }
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    let names: Vec<&str> = tiers.keys().map(String::as_str).collect();
    let passed = summaries::passing(&cases_dir, &out_dir, &names);
    let mut per_tier: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for (name, tier) in &tiers {
        let e = per_tier.entry(tier).or_default();
        if passed.contains(name) {
            e.0 += 1;
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
