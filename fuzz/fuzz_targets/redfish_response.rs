//! `cargo +nightly fuzz run redfish_response`: a Redfish BMC's JSON answer.
//! The harness is `paceline::fuzz::redfish_response`, which the stable runner
//! (`cargo test --test fuzz redfish_response`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::redfish_response(data));
