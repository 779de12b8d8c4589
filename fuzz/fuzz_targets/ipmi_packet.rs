//! `cargo +nightly fuzz run ipmi_packet`: an IPMI-over-LAN (RMCP/RMCP+) answer from a BMC.
//! The harness is `paceline::fuzz::ipmi_packet`, which the stable runner
//! (`cargo test --test fuzz ipmi_packet`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::ipmi_packet(data));
