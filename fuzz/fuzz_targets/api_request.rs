//! `cargo +nightly fuzz run api_request`: a request line on the local API socket (and the daemon's answer).
//! The harness is `paceline::fuzz::api_request`, which the stable runner
//! (`cargo test --test fuzz api_request`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::api_request(data));
