//! Writes `tests/releases/<release>/{cluster-messages,datagrams}.txt`: run
//! once with the release's own source, never with a later one (the bytes
//! must be the release's). How: copy this file and `samples.rs` into the
//! release's tree (`git archive <commit>`) as `tests/generate_fixtures.rs`
//! and `tests/releases/samples.rs`, copy `<release>/state` beside, and run
//! `PACELINE_FIXTURES=<dir of the release's fixtures> cargo test --test
//! generate_fixtures`. The state directory itself is what the release's
//! `pacelined` left after running a Dummy (paths rewritten).

#[path = "releases/samples.rs"]
mod samples;

use std::path::PathBuf;

#[test]
fn generate() {
    let dir = PathBuf::from(std::env::var("PACELINE_FIXTURES").unwrap());
    let messages: Vec<(&str, Vec<u8>)> = samples::cluster_messages(&dir)
        .into_iter()
        .map(|(name, m)| (name, m.encode()))
        .collect();
    std::fs::write(dir.join("cluster-messages.txt"), samples::hex_lines(&messages)).unwrap();
    let mut encoder = samples::encoder();
    let datagrams: Vec<(&str, Vec<u8>)> = samples::datagrams()
        .into_iter()
        .map(|(name, m)| (name, encoder.seal(&m)))
        .collect();
    std::fs::write(dir.join("datagrams.txt"), samples::hex_lines(&datagrams)).unwrap();
}
