//! What the tests that run lone `pacelined` processes on loopback share:
//! a cluster key and free ports for their links.

use std::path::Path;
use std::process::Command;

/// Writes a new cluster key at `key` with `paceline cluster keygen`.
pub fn keygen(key: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_paceline"))
        .args(["cluster", "keygen", "--file"])
        .arg(key)
        .status()
        .unwrap();
    assert!(status.success(), "paceline cluster keygen: {status}");
}

/// A UDP port on loopback that was free a moment ago.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
