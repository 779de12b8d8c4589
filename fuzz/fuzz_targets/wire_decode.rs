//! `cargo +nightly fuzz run wire_decode`: the datagram decoder must never panic,
//! whatever arrives on a cluster port. Half the inputs get a valid header so
//! the fuzzer reaches authentication and payload decoding quickly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paceline::wire::{ClusterKey, Decoder, Encoder, Header, PROTOCOL_VERSION};

fuzz_target!(|data: &[u8]| {
    let Ok(key) = ClusterKey::derive(&[5u8; 32], "fuzz") else { return };
    let mut decoder = Decoder::new(key.clone(), 1);
    let _ = decoder.open(data);
    let _ = Header::parse(data);
    // Authentic envelopes around arbitrary payloads exercise postcard decoding.
    let mut encoder = Encoder::new(key, 2, 1);
    let _ = decoder.open(&encoder.seal_bytes(data, PROTOCOL_VERSION));
});
