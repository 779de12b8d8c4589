//! `cargo +nightly fuzz run status_file`: the status file of `simulate --status` (TOML or JSON).
//! The harness is `paceline::fuzz::status_file`, which the stable runner
//! (`cargo test --test fuzz status_file`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::status_file(data));
