//! `cargo +nightly fuzz run cluster_message`: a reassembled channel payload (ClusterMessage).
//! The harness is `paceline::fuzz::cluster_message`, which the stable runner
//! (`cargo test --test fuzz cluster_message`) runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| paceline::fuzz::cluster_message(data));
