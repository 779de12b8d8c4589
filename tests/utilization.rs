//! placement-strategy and utilization against Pacemaker 2.1.5: each
//! `tests/utilization/NAME.xml` is a small CIB (node capacities, resource
//! needs; strategies utilization, balanced, minimal and default; groups,
//! INFINITY colocations, clones, running resources, priority) and
//! `NAME.summary` what crm_simulate 2.1.5 planned for it. Every case must
//! agree under the shared checker's plain normalization.

use std::path::Path;

#[path = "summaries/mod.rs"]
mod summaries;

#[test]
fn utilization_cases_agree_with_crm_simulate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/utilization");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("utilization-actual");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".xml").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no cases in {}", dir.display());
    for name in &names {
        let summary = summaries::run_case(&dir.join(format!("{name}.xml")), "2026-01-01T00:00:00Z")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        std::fs::write(out.join(format!("{name}.summary")), summary).unwrap();
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let passed = summaries::passing(&dir, &out, &refs);
    let failing: Vec<&String> = names.iter().filter(|n| !passed.contains(*n)).collect();
    println!(
        "utilization cases: {} of {} agree",
        passed.len(),
        names.len()
    );
    assert!(
        failing.is_empty(),
        "disagree with crm_simulate: {failing:?}"
    );
}
