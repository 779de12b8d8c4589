//! Every fuzz target of `paceline::fuzz::TARGETS` on the stable toolchain:
//! its seeds (`fuzz/seeds/<target>/` and generated ones), then seeded
//! random mutations for a bounded time. CI runs this; developers run the
//! same harnesses under libFuzzer with `cargo +nightly fuzz` (fuzz/README.md).
//!
//! Settings (environment):
//! - `PACELINE_FUZZ_SECS`: seconds of mutations per target (default 8).
//! - `PACELINE_FUZZ_SEED`: the mutations' seed (default: from the clock;
//!   every report prints it).
//! - `PACELINE_FUZZ_TARGET`: only these targets (comma-separated).
//! - `PACELINE_FUZZ_INPUT`: run this file or directory's inputs only (replay).
//! - `PACELINE_FUZZ_EXTRA`: a directory of more seeds.
//! - `PACELINE_FUZZ_TIMEOUT_SECS`: longest run of one input (default 30: a debug build on a loaded CI machine parses a 100 kB TOML key in up to 8 s, issue 15).
//! - `PACELINE_FUZZ_MALLOC_MB`: largest single allocation (default 512);
//!   above it the process aborts and the input is saved.
//! - `PACELINE_FUZZ_ARTIFACTS`: where failing inputs go (default target/tmp/fuzz-artifacts).

mod fuzzing;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Refuses single allocations above the cap, so an input that makes a
/// parser reserve gigabytes is reported (and saved) instead of exhausting
/// the machine.
struct Capped;

static CAP_BYTES: AtomicUsize = AtomicUsize::new(0);

fn cap() -> usize {
    match CAP_BYTES.load(Ordering::Relaxed) {
        0 => {
            let mb = std::env::var("PACELINE_FUZZ_MALLOC_MB")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(512);
            let bytes = mb.saturating_mul(1 << 20).max(1);
            CAP_BYTES.store(bytes, Ordering::Relaxed);
            bytes
        }
        n => n,
    }
}

// SAFETY: delegates to the system allocator, refusing (null) above the cap.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > cap() {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > cap() {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > cap() {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                fuzzing::run(stringify!($name));
            }
        )*
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

targets!(
    wire_decode,
    channel_frames,
    cluster_message,
    api_request,
    config_toml,
    cib_xml,
    status_file,
    state_files,
    agent_metadata,
    redfish_response,
    ipmi_packet,
);

/// Every target has a test here, seed files, and a cargo-fuzz binary that
/// calls the same harness.
#[test]
fn every_target_has_a_test_seeds_and_a_cargo_fuzz_binary() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let names: Vec<&str> = paceline::fuzz::TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(names, TESTED, "tests/fuzz.rs lists every target, in order");
    for name in names {
        let dir = fuzzing::seed_dir(name);
        let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert!(files > 0, "no seed files in {}", dir.display());
        let binary = root.join("fuzz_targets").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&binary)
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        assert!(
            source.contains(&format!("paceline::fuzz::{name}")),
            "{} runs paceline::fuzz::{name}",
            binary.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has a [[bin]] {name}"
        );
    }
}

/// Writes the generated seeds into the seed directories (`gen-N.bin`),
/// for cargo-fuzz, which only reads files: run it after a protocol change.
#[test]
#[ignore = "writes into fuzz/seeds; run by hand after a protocol change"]
fn write_generated_seeds() {
    for target in paceline::fuzz::TARGETS {
        let dir = fuzzing::seed_dir(target.name);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in (target.generated)().iter().enumerate() {
            std::fs::write(dir.join(format!("gen-{i}.bin")), seed).unwrap();
        }
    }
}

// Failures the fuzzer found in `src/config` (issue 15), replayed in a
// child process: each aborted or panicked before its fix.

/// The reference CIB with `rsc_location` `l` replaced by `location`.
fn cib_with(location: &str, clone_max: &str) -> String {
    format!(
        r#"<cib validate-with="pacemaker-3.0" have-quorum="1"><configuration>
<crm_config/><nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
<resources><primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2"/>
<clone id="c"><meta_attributes id="cm"><nvpair id="cm1" name="clone-max" value="{clone_max}"/></meta_attributes>
<primitive id="d" class="ocf" provider="heartbeat" type="Dummy"/></clone></resources>
<constraints>{location}</constraints></configuration>
<status><node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/></status></cib>"#
    )
}

#[test]
fn config_toml_error_past_column_65535() {
    fuzzing::isolated("config_toml_error_past_column_65535", || {
        let text = format!("[cluster]\n{}nam = \"c\"\n", " ".repeat(65_536));
        paceline::fuzz::config_toml(text.as_bytes());
    });
}

/// The nesting is refused at 256 levels (`config::cib::dom::MAX_DEPTH`).
#[test]
fn cib_xml_nested_rules_do_not_overflow_the_stack() {
    fuzzing::isolated("cib_xml_nested_rules_do_not_overflow_the_stack", || {
        let rules = format!("{}{}", "<rule>".repeat(100_000), "</rule>".repeat(100_000));
        let location = format!(r#"<rsc_location id="l" rsc="ip">{rules}</rsc_location>"#);
        paceline::fuzz::cib_xml(cib_with(&location, "2").as_bytes());
    });
}

/// clone-max is refused beyond 1024 (`config::values::MAX_CLONE_INSTANCES`).
#[test]
fn cib_xml_clone_max_4000000000_is_refused() {
    fuzzing::isolated("cib_xml_clone_max_4000000000_is_refused", || {
        let text = cib_with("", "4000000000");
        let imported = paceline::config::cib::import_cib(&text);
        assert!(imported.is_err(), "clone-max = 4000000000 was accepted");
        if let Ok(cib) = imported {
            let opts = paceline::cli::simulate::SimOptions {
                transition: true,
                ..Default::default()
            };
            paceline::cli::simulate::simulate(&cib.config, &cib.status, &opts);
        }
    });
}
