//! `cargo +nightly fuzz run config_toml`: the cluster configuration TOML (every reader of it).
//! The harness is `paceline::fuzz::config_toml`, which the stable runner
//! (`cargo test --test fuzz config_toml`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::config_toml(data));
