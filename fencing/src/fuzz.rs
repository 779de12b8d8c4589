//! Fuzz harnesses of what a BMC sends back (shared by paceline's cargo-fuzz
//! targets and its stable runner; see `paceline::fuzz`): Redfish JSON
//! bodies and IPMI-over-LAN datagrams. The network is not fuzzed, the
//! parsers of its answers are.

use std::sync::OnceLock;

use crate::ipmi::crypto::{CipherSuite, Handshake, Keys};
use crate::ipmi::packet::{self, payload};
use crate::redfish;

/// A Redfish answer body, through everything the client reads from one:
/// power state, advertised reset types, the error message, the Systems
/// collection's members.
pub fn redfish_response(data: &[u8]) {
    let body = redfish::parse_body(String::from_utf8_lossy(data).into_owned());
    let _ = redfish::parse_power(&body);
    let _ = redfish::advertised_reset_types(&body);
    let _ = redfish::redfish_message(&body);
    for member in redfish::system_members(&body, "https://bmc.example") {
        let _ = redfish::last_segment(&member);
    }
}

/// Session keys of a fixed handshake, one set per cipher suite.
fn keys() -> &'static [Keys; 2] {
    static KEYS: OnceLock<[Keys; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [CipherSuite::Three, CipherSuite::Seventeen].map(|suite| {
            let h = handshake(suite);
            let kuid = crate::ipmi::crypto::user_key("secret");
            h.keys(&h.sik(&kuid))
        })
    })
}

fn handshake(suite: CipherSuite) -> Handshake {
    Handshake {
        suite,
        console_session: 0x0a0b_0c0d,
        bmc_session: 0x1122_3344,
        console_random: [1; 16],
        bmc_random: [2; 16],
        bmc_guid: [3; 16],
        role: 0x14,
        username: b"admin".to_vec(),
    }
}

/// A datagram from the BMC's port: unwrapped without a session and inside
/// one of either suite, its IPMI message decoded; and the input sealed
/// with the session's keys must open to itself (integrity, AES-CBC and
/// its padding).
pub fn ipmi_packet(data: &[u8]) {
    let keys = keys();
    for k in [None, Some(&keys[0]), Some(&keys[1])] {
        if let Ok(incoming) = packet::unwrap(data, k) {
            let _ = packet::decode_response(&incoming.payload);
        }
    }
    let _ = packet::decode_response(data);
    for k in keys {
        let _ = k.decrypt(data);
        let sealed = packet::wrap_v20(payload::IPMI, 7, 1, data, Some(k), [9; 16]);
        let opened = packet::unwrap(&sealed, Some(k)).map(|i| i.payload);
        assert_eq!(opened.as_deref(), Ok(data), "sealed with {:?}", k.suite);
    }
}

/// An IPMI response message (the BMC's answer to `cmd`).
fn response(netfn: u8, cmd: u8, rq_seq: u8, completion: u8, data: &[u8]) -> Vec<u8> {
    let sum = |b: &[u8]| b.iter().fold(0u8, |a, x| a.wrapping_add(*x)).wrapping_neg();
    let mut m = vec![packet::CONSOLE_ADDR, ((netfn | 1) << 2) & 0xfc];
    m.push(sum(&m));
    let start = m.len();
    m.extend_from_slice(&[packet::BMC_ADDR, rq_seq << 2, cmd, completion]);
    m.extend_from_slice(data);
    let c = sum(&m[start..]);
    m.push(c);
    m
}

/// What a BMC answers through a session's opening and a power query.
pub fn ipmi_seeds() -> Vec<Vec<u8>> {
    let h = handshake(CipherSuite::Three);
    let kuid = crate::ipmi::crypto::user_key("secret");
    let caps = response(0x06, 0x38, 0, 0, &[1, 0x80, 0x14, 0x02, 0, 0, 0, 0]);
    let mut open = vec![0x42, 0, 4, 0];
    open.extend_from_slice(&h.console_session.to_le_bytes());
    open.extend_from_slice(&h.bmc_session.to_le_bytes());
    for (kind, alg) in [(0u8, 1u8), (1, 1), (2, 1)] {
        open.extend_from_slice(&[kind, 0, 0, 8, alg, 0, 0, 0]);
    }
    let mut rakp2 = vec![0x43, 0, 0, 0];
    rakp2.extend_from_slice(&h.console_session.to_le_bytes());
    rakp2.extend_from_slice(&h.bmc_random);
    rakp2.extend_from_slice(&h.bmc_guid);
    rakp2.extend(h.rakp2_code(&kuid));
    let mut rakp4 = vec![0x44, 0, 0, 0];
    rakp4.extend_from_slice(&h.console_session.to_le_bytes());
    rakp4.extend(h.rakp4_code(&h.sik(&kuid)));
    let chassis = response(0x00, 0x01, 2, 0, &[0x01, 0, 0, 0]);
    let mut seeds = vec![
        packet::wrap_v15(&caps),
        packet::wrap_v20(payload::OPEN_SESSION_RESPONSE, 0, 0, &open, None, [0; 16]),
        packet::wrap_v20(payload::RAKP2, 0, 0, &rakp2, None, [0; 16]),
        packet::wrap_v20(payload::RAKP4, 0, 0, &rakp4, None, [0; 16]),
        packet::wrap_v20(payload::IPMI, h.console_session, 1, &chassis, None, [0; 16]),
    ];
    for k in keys() {
        seeds.push(packet::wrap_v20(
            payload::IPMI,
            h.console_session,
            2,
            &chassis,
            Some(k),
            [7; 16],
        ));
    }
    seeds
}
