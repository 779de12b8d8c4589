//! Pacemaker's scheduler regression cases with tickets (`ticket-*`: tier 3,
//! so not in ../shared/conformance) through the CIB importer and the
//! scheduler, judged by the shared checker as `tests/conformance.rs` does.
//! The cases are Pacemaker's (GPL): they are read from a Pacemaker source
//! tree named by PACELINE_PACEMAKER_CTS (its `cts/scheduler` directory, with
//! `xml/` and `summary/`), never copied here. Without it the test says why
//! and is ignored: run `PACELINE_PACEMAKER_CTS=... cargo test --test
//! conformance_tickets -- --ignored`. `scripts/test-all` (so `.ci/run`)
//! does, with the cases `scripts/fetch-pacemaker-cts` takes from Debian's
//! pacemaker source package.

use std::path::{Path, PathBuf};

#[path = "summaries/mod.rs"]
mod summaries;

/// Evaluated at any time: the ticket cases have no time-dependent input.
const NOW: &str = "2030-12-31T23:59:59Z";

#[test]
#[ignore = "needs PACELINE_PACEMAKER_CTS (a Pacemaker tree's cts/scheduler)"]
fn pacemaker_ticket_cases() {
    let Some(cts) = std::env::var_os("PACELINE_PACEMAKER_CTS").map(PathBuf::from) else {
        eprintln!("PACELINE_PACEMAKER_CTS is not set: nothing to run");
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(cts.join("xml"))
        .expect("PACELINE_PACEMAKER_CTS/xml")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| Some(n.strip_suffix(".xml")?.to_string()))
        .filter(|n| n.starts_with("ticket-"))
        .collect();
    names.sort();
    assert!(
        !names.is_empty(),
        "no ticket-* case under {}",
        cts.display()
    );
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-tickets");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    for name in &names {
        match summaries::run_case(&cts.join("xml").join(format!("{name}.xml")), NOW) {
            Ok(s) => std::fs::write(out_dir.join(format!("{name}.summary")), s).unwrap(),
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let passed = summaries::passing(&cts.join("summary"), &out_dir, &refs);
    let failed: Vec<&str> = refs
        .iter()
        .copied()
        .filter(|n| !passed.contains(*n))
        .collect();
    println!(
        "ticket cases: {} passed, {} failed",
        passed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "ticket cases failing: {failed:?}");
}
