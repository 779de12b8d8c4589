//! `cargo +nightly fuzz run wire_decode`: a cluster datagram (UDP, any sender).
//! The harness is `paceline::fuzz::wire_decode`, which the stable runner
//! (`cargo test --test fuzz wire_decode`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::wire_decode(data));
