//! `cargo +nightly fuzz run cib_xml`: Pacemaker CIB XML (`config import-cib`, `simulate --cib`).
//! The harness is `paceline::fuzz::cib_xml`, which the stable runner
//! (`cargo test --test fuzz cib_xml`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::cib_xml(data));
