//! `cargo +nightly fuzz run agent_metadata`: OCF resource agent and fence agent meta-data XML.
//! The harness is `paceline::fuzz::agent_metadata`, which the stable runner
//! (`cargo test --test fuzz agent_metadata`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::agent_metadata(data));
