//! RMCP / IPMI LAN framing: the IPMI message with its two checksums, the
//! session-less IPMI 1.5 wrapper used before a session exists, and the RMCP+
//! (IPMI 2.0) session wrapper with optional AES-CBC-128 confidentiality and
//! HMAC integrity trailer. Pure functions over bytes.

use super::crypto::Keys;

pub const RMCP_HEADER: [u8; 4] = [0x06, 0x00, 0xff, 0x07];
pub const BMC_ADDR: u8 = 0x20;
pub const CONSOLE_ADDR: u8 = 0x81;

/// RMCP+ payload types.
pub mod payload {
    pub const IPMI: u8 = 0x00;
    pub const OPEN_SESSION_REQUEST: u8 = 0x10;
    pub const OPEN_SESSION_RESPONSE: u8 = 0x11;
    pub const RAKP1: u8 = 0x12;
    pub const RAKP2: u8 = 0x13;
    pub const RAKP3: u8 = 0x14;
    pub const RAKP4: u8 = 0x15;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("datagram too short ({0} bytes)")]
    Short(usize),
    #[error("not an RMCP IPMI datagram")]
    NotRmcp,
    #[error("unexpected session format (auth type {0:#04x})")]
    AuthType(u8),
    #[error("IPMI message checksum mismatch")]
    Checksum,
    #[error("integrity check failed: the packet was not signed with this session's key")]
    Integrity,
    #[error("cannot decrypt the payload")]
    Decrypt,
    /// Inside an active session every answer must be signed (and encrypted
    /// when the session negotiated confidentiality): an unsigned one could
    /// come from anyone on the BMC's network, e.g. a forged "power off".
    #[error("unauthenticated answer inside an authenticated session")]
    Unauthenticated,
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |acc, b| acc.wrapping_add(*b))
        .wrapping_neg()
}

/// An IPMI request message as it travels inside a LAN packet.
pub fn encode_request(netfn: u8, cmd: u8, rq_seq: u8, data: &[u8]) -> Vec<u8> {
    let mut m = vec![BMC_ADDR, netfn << 2];
    m.push(checksum(&m));
    let start = m.len();
    m.extend_from_slice(&[CONSOLE_ADDR, (rq_seq & 0x3f) << 2, cmd]);
    m.extend_from_slice(data);
    let c = checksum(&m[start..]);
    m.push(c);
    m
}

/// A decoded IPMI response message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub netfn: u8,
    pub rq_seq: u8,
    pub cmd: u8,
    pub completion: u8,
    pub data: Vec<u8>,
}

pub fn decode_response(m: &[u8]) -> Result<Response, PacketError> {
    if m.len() < 8 {
        return Err(PacketError::Short(m.len()));
    }
    if checksum(&m[..2]) != m[2] || checksum(&m[3..m.len() - 1]) != m[m.len() - 1] {
        return Err(PacketError::Checksum);
    }
    Ok(Response {
        netfn: m[1] >> 2,
        rq_seq: m[4] >> 2,
        cmd: m[5],
        completion: m[6],
        data: m[7..m.len() - 1].to_vec(),
    })
}

/// An IPMI 1.5 session-less packet (auth type none, session 0).
pub fn wrap_v15(message: &[u8]) -> Vec<u8> {
    let mut p = RMCP_HEADER.to_vec();
    p.push(0x00);
    p.extend_from_slice(&[0; 8]);
    p.push(message.len() as u8);
    p.extend_from_slice(message);
    p
}

/// What an incoming datagram carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub payload_type: u8,
    pub session_id: u32,
    pub sequence: u32,
    pub payload: Vec<u8>,
}

/// Builds an RMCP+ packet. With `keys`, the payload is encrypted (when the
/// session negotiated confidentiality) and an integrity trailer is added.
pub fn wrap_v20(
    payload_type: u8,
    session_id: u32,
    sequence: u32,
    payload: &[u8],
    keys: Option<&Keys>,
    iv: [u8; 16],
) -> Vec<u8> {
    let (body, flags) = match keys {
        Some(k) => {
            let body = if k.confidential {
                k.encrypt(payload, iv)
            } else {
                payload.to_vec()
            };
            let enc = if k.confidential { 0x80 } else { 0 };
            (body, enc | 0x40)
        }
        None => (payload.to_vec(), 0),
    };
    let mut p = RMCP_HEADER.to_vec();
    let session_start = p.len();
    p.push(0x06);
    p.push(payload_type | flags);
    p.extend_from_slice(&session_id.to_le_bytes());
    p.extend_from_slice(&sequence.to_le_bytes());
    p.extend_from_slice(&(body.len() as u16).to_le_bytes());
    p.extend_from_slice(&body);
    if let Some(k) = keys {
        // Pad so that the signed part (session header to next header) is a
        // multiple of four bytes.
        let signed_len = p.len() - session_start + 2;
        let pad = (4 - signed_len % 4) % 4;
        p.extend(std::iter::repeat_n(0xff, pad));
        p.push(pad as u8);
        p.push(0x07);
        let code = k.auth_code(&p[session_start..]);
        p.extend_from_slice(&code);
    }
    p
}

pub fn unwrap(datagram: &[u8], keys: Option<&Keys>) -> Result<Incoming, PacketError> {
    if datagram.len() < 5 {
        return Err(PacketError::Short(datagram.len()));
    }
    if datagram[..4] != RMCP_HEADER {
        return Err(PacketError::NotRmcp);
    }
    let s = &datagram[4..];
    match s[0] {
        0x00 if keys.is_some() => Err(PacketError::Unauthenticated),
        0x00 => {
            // IPMI 1.5 session-less answer.
            if s.len() < 10 {
                return Err(PacketError::Short(datagram.len()));
            }
            let len = s[9] as usize;
            let msg = s
                .get(10..10 + len)
                .ok_or(PacketError::Short(datagram.len()))?;
            Ok(Incoming {
                payload_type: payload::IPMI,
                session_id: u32::from_le_bytes([s[5], s[6], s[7], s[8]]),
                sequence: u32::from_le_bytes([s[1], s[2], s[3], s[4]]),
                payload: msg.to_vec(),
            })
        }
        0x06 => {
            if s.len() < 12 {
                return Err(PacketError::Short(datagram.len()));
            }
            let flags = s[1];
            let session_id = u32::from_le_bytes([s[2], s[3], s[4], s[5]]);
            let sequence = u32::from_le_bytes([s[6], s[7], s[8], s[9]]);
            let len = u16::from_le_bytes([s[10], s[11]]) as usize;
            let body = s
                .get(12..12 + len)
                .ok_or(PacketError::Short(datagram.len()))?;
            let authenticated = flags & 0x40 != 0;
            let encrypted = flags & 0x80 != 0;
            let keys_needed = authenticated || encrypted;
            let payload = match (keys_needed, keys) {
                (false, None) => body.to_vec(),
                (true, None) => return Err(PacketError::Integrity),
                (_, Some(k)) if !authenticated || (k.confidential && !encrypted) => {
                    return Err(PacketError::Unauthenticated);
                }
                (_, Some(k)) => {
                    if authenticated {
                        let code_len = k.auth_code_len();
                        if s.len() < code_len {
                            return Err(PacketError::Short(datagram.len()));
                        }
                        let (signed, code) = s.split_at(s.len() - code_len);
                        if !k.verify(signed, code) {
                            return Err(PacketError::Integrity);
                        }
                    }
                    if encrypted {
                        k.decrypt(body).ok_or(PacketError::Decrypt)?
                    } else {
                        body.to_vec()
                    }
                }
            };
            Ok(Incoming {
                payload_type: flags & 0x3f,
                session_id,
                sequence,
                payload,
            })
        }
        other => Err(PacketError::AuthType(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_checksums_sum_to_zero() {
        let m = encode_request(0x06, 0x38, 1, &[0x8e, 0x04]);
        assert_eq!(m[..2], [0x20, 0x18]);
        assert_eq!(m[..3].iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
        assert_eq!(m[3..].iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0);
    }

    #[test]
    fn response_decodes_and_rejects_bad_checksums() {
        // A Get Chassis Status answer: power on.
        let mut m = vec![CONSOLE_ADDR, 0x01 << 2];
        m.push(checksum(&m));
        let body = [BMC_ADDR, 5 << 2, 0x01, 0x00, 0x01, 0x00, 0x00];
        m.extend_from_slice(&body);
        m.push(checksum(&m[3..]));
        let r = decode_response(&m).unwrap();
        assert_eq!((r.netfn, r.rq_seq, r.cmd, r.completion), (0x01, 5, 0x01, 0));
        assert_eq!(r.data, vec![0x01, 0x00, 0x00]);
        let last = m.len() - 1;
        m[last] ^= 1;
        assert_eq!(decode_response(&m), Err(PacketError::Checksum));
    }

    fn session_keys() -> Keys {
        use super::super::crypto::{CipherSuite, Handshake, user_key};
        let h = Handshake {
            suite: CipherSuite::Seventeen,
            console_session: 0x0a0b0c0d,
            bmc_session: 0x11223344,
            console_random: [0x01; 16],
            bmc_random: [0x02; 16],
            bmc_guid: [0x03; 16],
            role: 0x14,
            username: b"admin".to_vec(),
        };
        h.keys(&h.sik(&user_key("secret")))
    }

    #[test]
    fn unauthenticated_answers_inside_a_session_are_refused() {
        let keys = session_keys();
        let msg = encode_request(0x00, 0x02, 3, &[0x00]);
        let signed = wrap_v20(payload::IPMI, 7, 1, &msg, Some(&keys), [5; 16]);
        assert_eq!(unwrap(&signed, Some(&keys)).unwrap().payload, msg);
        // Neither signed nor encrypted, as an attacker on the BMC's
        // network would forge it: refused, not decoded.
        let plain = wrap_v20(payload::IPMI, 7, 1, &msg, None, [5; 16]);
        assert_eq!(
            unwrap(&plain, Some(&keys)),
            Err(PacketError::Unauthenticated)
        );
        // Encrypted-flagged but unsigned: still refused.
        let mut enc_only = plain.clone();
        enc_only[5] = payload::IPMI | 0x80;
        assert_eq!(
            unwrap(&enc_only, Some(&keys)),
            Err(PacketError::Unauthenticated)
        );
        // Signed but in clear although the session negotiated AES.
        let mut clear_keys = keys.clone();
        clear_keys.confidential = false;
        let signed_clear = wrap_v20(payload::IPMI, 7, 1, &msg, Some(&clear_keys), [5; 16]);
        assert_eq!(
            unwrap(&signed_clear, Some(&keys)),
            Err(PacketError::Unauthenticated)
        );
        // A session-less IPMI 1.5 answer is no session answer either.
        assert_eq!(
            unwrap(&wrap_v15(&msg), Some(&keys)),
            Err(PacketError::Unauthenticated)
        );
    }

    #[test]
    fn v15_round_trip_and_garbage_is_refused() {
        let msg = encode_request(0x06, 0x38, 0, &[0x8e, 0x04]);
        let p = wrap_v15(&msg);
        let inc = unwrap(&p, None).unwrap();
        assert_eq!(inc.payload, msg);
        assert_eq!(unwrap(&[1, 2, 3], None), Err(PacketError::Short(3)));
        assert_eq!(unwrap(&[0, 0, 0, 0, 0], None), Err(PacketError::NotRmcp));
        let mut truncated = p.clone();
        truncated.truncate(p.len() - 3);
        assert!(unwrap(&truncated, None).is_err());
    }
}
