//! `cargo +nightly fuzz run channel_frames`: a sequence of reliable-channel frames from several peers.
//! The harness is `paceline::fuzz::channel_frames`, which the stable runner
//! (`cargo test --test fuzz channel_frames`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::channel_frames(data));
