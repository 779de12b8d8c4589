//! `cargo +nightly fuzz run state_files`: the state directory's JSON (cluster.json, op-history.json, attributes.json, fencing history).
//! The harness is `paceline::fuzz::state_files`, which the stable runner
//! (`cargo test --test fuzz state_files`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::state_files(data));
