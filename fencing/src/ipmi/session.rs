//! One RMCP+ session over UDP: discovery (Get Channel Authentication
//! Capabilities), Open Session, RAKP 1–4 with the RAKP 2 and RAKP 4 codes
//! verified, Set Session Privilege Level, authenticated and encrypted IPMI
//! commands, and Close Session. Blocking, with bounded retransmission.

use std::net::{ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use super::crypto::{CipherSuite, Handshake, Keys, user_key};
use super::packet::{self, PacketError, Response, payload};

pub mod netfn {
    pub const CHASSIS: u8 = 0x00;
    pub const APP: u8 = 0x06;
}

pub mod cmd {
    pub const GET_CHASSIS_STATUS: u8 = 0x01;
    pub const CHASSIS_CONTROL: u8 = 0x02;
    pub const GET_CHANNEL_AUTH_CAPABILITIES: u8 = 0x38;
    pub const SET_SESSION_PRIVILEGE: u8 = 0x3b;
    pub const CLOSE_SESSION: u8 = 0x3c;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpmiError {
    #[error(
        "no answer from the BMC at {addr} after {attempts} attempt(s); check host, port and that IPMI over LAN is enabled"
    )]
    NoAnswer { addr: String, attempts: u32 },
    #[error("cannot reach the BMC at {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("authentication failed at {addr}: {detail}; check username and password")]
    Authentication { addr: String, detail: String },
    #[error(
        "the BMC at {addr} refused cipher suite {suite} ({detail}); set cipher_suite to one it supports (3 is the most common)"
    )]
    CipherSuite {
        addr: String,
        suite: u8,
        detail: String,
    },
    #[error("the BMC at {addr} refused the session: {detail}")]
    Session { addr: String, detail: String },
    #[error("the BMC at {addr} does not speak IPMI 2.0 (RMCP+/lanplus)")]
    NoLanplus { addr: String },
    #[error("{what} failed with completion code {code:#04x} ({meaning})")]
    Completion {
        what: String,
        code: u8,
        meaning: &'static str,
    },
    #[error("malformed answer from the BMC at {addr}: {detail}")]
    Malformed { addr: String, detail: String },
}

/// RMCP+ status codes of Open Session and RAKP answers.
fn rmcp_status(code: u8) -> &'static str {
    match code {
        0x01 => "insufficient resources to create a session",
        0x02 => "invalid session ID",
        0x03 => "invalid payload type",
        0x04 => "invalid authentication algorithm",
        0x05 => "invalid integrity algorithm",
        0x06 => "no matching authentication payload",
        0x07 => "no matching integrity payload",
        0x08 => "inactive session ID",
        0x09 => "invalid role",
        0x0a => "unauthorized role or privilege level requested",
        0x0b => "insufficient resources at the requested role",
        0x0c => "invalid name length",
        0x0d => "unauthorized name",
        0x0e => "unauthorized GUID",
        0x0f => "invalid integrity check value",
        0x10 => "invalid confidentiality algorithm",
        0x11 => "no cipher suite match with the proposed algorithms",
        0x12 => "illegal or unrecognized parameter",
        _ => "unknown status",
    }
}

pub fn completion_meaning(code: u8) -> &'static str {
    match code {
        0xc0 => "node busy",
        0xc1 => "invalid command",
        0xc3 => "timeout while processing",
        0xc7 => "request data length invalid",
        0xc9 => "parameter out of range",
        0xcc => "invalid data field in request",
        0xce => "cannot respond",
        0xd4 => "insufficient privilege level",
        0xd5 => "not supported in present state",
        _ => "unspecified error",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    Operator = 3,
    Administrator = 4,
}

pub struct SessionParams<'a> {
    pub host: &'a str,
    pub port: u16,
    pub username: &'a str,
    pub password: &'a str,
    pub suite: CipherSuite,
    pub privilege: Privilege,
    /// How long to wait for one answer before retransmitting.
    pub attempt_timeout: Duration,
    pub attempts: u32,
}

pub struct Session {
    sock: UdpSocket,
    addr: String,
    keys: Keys,
    console_session: u32,
    bmc_session: u32,
    sequence: u32,
    rq_seq: u8,
    attempt_timeout: Duration,
    attempts: u32,
    closed: bool,
    pub transcript: Vec<String>,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // A failing OS RNG is not something a fence device can recover from;
    // fall back to time-derived bytes rather than a fixed value.
    if getrandom::getrandom(&mut b).is_err() {
        let t = Instant::now().elapsed().as_nanos() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> ((i % 8) * 8)) as u8 ^ i as u8;
        }
    }
    b
}

/// Sends `datagram` and returns the first answer `accept` takes, resending
/// after each attempt timeout.
fn exchange<T>(
    sock: &UdpSocket,
    addr: &str,
    datagram: &[u8],
    attempt_timeout: Duration,
    attempts: u32,
    mut accept: impl FnMut(&[u8]) -> Option<T>,
) -> Result<T, IpmiError> {
    let mut buf = [0u8; 1024];
    for _ in 0..attempts.max(1) {
        sock.send(datagram).map_err(|e| IpmiError::Unreachable {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
        let deadline = Instant::now() + attempt_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // set_read_timeout refuses zero; left is non-zero here.
            let _ = sock.set_read_timeout(Some(left));
            match sock.recv(&mut buf) {
                Ok(n) => {
                    if let Some(v) = accept(&buf[..n]) {
                        return Ok(v);
                    }
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(IpmiError::Unreachable {
                        addr: addr.to_string(),
                        reason: "connection refused (nothing listens on that UDP port)".into(),
                    });
                }
                Err(e) => {
                    return Err(IpmiError::Unreachable {
                        addr: addr.to_string(),
                        reason: e.to_string(),
                    });
                }
            }
        }
    }
    Err(IpmiError::NoAnswer {
        addr: addr.to_string(),
        attempts: attempts.max(1),
    })
}

impl Session {
    pub fn open(p: &SessionParams<'_>) -> Result<Session, IpmiError> {
        let addr = format!("{}:{}", p.host, p.port);
        let unreachable = |reason: String| IpmiError::Unreachable {
            addr: addr.clone(),
            reason,
        };
        let target = (p.host, p.port)
            .to_socket_addrs()
            .map_err(|e| unreachable(format!("cannot resolve: {e}")))?
            .next()
            .ok_or_else(|| unreachable("the name resolves to no address".into()))?;
        let bind = if target.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let sock = UdpSocket::bind(bind).map_err(|e| unreachable(e.to_string()))?;
        sock.connect(target)
            .map_err(|e| unreachable(e.to_string()))?;
        let mut transcript = Vec::new();
        let started = Instant::now();

        // Discovery: does the BMC speak IPMI 2.0 at all?
        let caps = packet::wrap_v15(&packet::encode_request(
            netfn::APP,
            cmd::GET_CHANNEL_AUTH_CAPABILITIES,
            0,
            &[0x8e, p.privilege as u8],
        ));
        let resp = exchange(&sock, &addr, &caps, p.attempt_timeout, p.attempts, |d| {
            packet::unwrap(d, None)
                .ok()
                .and_then(|i| packet::decode_response(&i.payload).ok())
                .filter(|r| r.cmd == cmd::GET_CHANNEL_AUTH_CAPABILITIES)
        })?;
        if resp.completion != 0 {
            return Err(IpmiError::Completion {
                what: "Get Channel Authentication Capabilities".into(),
                code: resp.completion,
                meaning: completion_meaning(resp.completion),
            });
        }
        let v20 = resp.data.get(1).is_some_and(|b| b & 0x80 != 0)
            && resp.data.get(3).is_some_and(|b| b & 0x02 != 0);
        if !v20 {
            return Err(IpmiError::NoLanplus { addr });
        }
        transcript.push(format!(
            "Get Channel Authentication Capabilities: IPMI 2.0 ({} ms)",
            started.elapsed().as_millis()
        ));

        // Open Session.
        let console_session = u32::from_le_bytes(random::<4>()) | 1;
        let (auth_alg, int_alg, conf_alg) = p.suite.algorithms();
        let tag = random::<1>()[0];
        let mut req = vec![tag, p.privilege as u8, 0, 0];
        req.extend_from_slice(&console_session.to_le_bytes());
        for (kind, alg) in [(0u8, auth_alg), (1, int_alg), (2, conf_alg)] {
            req.extend_from_slice(&[kind, 0, 0, 0x08, alg, 0, 0, 0]);
        }
        let pkt = packet::wrap_v20(payload::OPEN_SESSION_REQUEST, 0, 0, &req, None, [0; 16]);
        let open = exchange(&sock, &addr, &pkt, p.attempt_timeout, p.attempts, |d| {
            packet::unwrap(d, None)
                .ok()
                .filter(|i| {
                    i.payload_type == payload::OPEN_SESSION_RESPONSE
                        && i.payload.first() == Some(&tag)
                })
                .map(|i| i.payload)
        })?;
        let status = open.get(1).copied().unwrap_or(0xff);
        if status != 0 {
            let detail = format!("status {status:#04x}: {}", rmcp_status(status));
            return Err(match status {
                0x04..=0x07 | 0x10 | 0x11 => IpmiError::CipherSuite {
                    addr,
                    suite: p.suite.id(),
                    detail,
                },
                _ => IpmiError::Session { addr, detail },
            });
        }
        if open.len() < 36 {
            return Err(IpmiError::Malformed {
                addr,
                detail: format!("Open Session Response of {} bytes", open.len()),
            });
        }
        let bmc_session = u32::from_le_bytes([open[8], open[9], open[10], open[11]]);
        transcript.push(format!(
            "Open Session: cipher suite {} accepted ({} ms)",
            p.suite.id(),
            started.elapsed().as_millis()
        ));

        // RAKP 1 / 2.
        let console_random = random::<16>();
        let role = 0x10 | p.privilege as u8;
        let tag = random::<1>()[0];
        let mut rakp1 = vec![tag, 0, 0, 0];
        rakp1.extend_from_slice(&bmc_session.to_le_bytes());
        rakp1.extend_from_slice(&console_random);
        rakp1.extend_from_slice(&[role, 0, 0, p.username.len() as u8]);
        rakp1.extend_from_slice(p.username.as_bytes());
        let pkt = packet::wrap_v20(payload::RAKP1, 0, 0, &rakp1, None, [0; 16]);
        let rakp2 = exchange(&sock, &addr, &pkt, p.attempt_timeout, p.attempts, |d| {
            packet::unwrap(d, None)
                .ok()
                .filter(|i| i.payload_type == payload::RAKP2 && i.payload.first() == Some(&tag))
                .map(|i| i.payload)
        })?;
        let status = rakp2.get(1).copied().unwrap_or(0xff);
        if status != 0 {
            let detail = format!("RAKP 2 status {status:#04x}: {}", rmcp_status(status));
            return Err(match status {
                0x09 | 0x0a | 0x0d | 0x0f => IpmiError::Authentication { addr, detail },
                _ => IpmiError::Session { addr, detail },
            });
        }
        if rakp2.len() < 40 {
            return Err(IpmiError::Malformed {
                addr,
                detail: format!("RAKP 2 of {} bytes", rakp2.len()),
            });
        }
        let mut bmc_random = [0u8; 16];
        bmc_random.copy_from_slice(&rakp2[8..24]);
        let mut bmc_guid = [0u8; 16];
        bmc_guid.copy_from_slice(&rakp2[24..40]);
        let handshake = Handshake {
            suite: p.suite,
            console_session,
            bmc_session,
            console_random,
            bmc_random,
            bmc_guid,
            role,
            username: p.username.as_bytes().to_vec(),
        };
        let kuid = user_key(p.password);
        if handshake.rakp2_code(&kuid) != rakp2[40..] {
            // Tell the BMC the session is off, as the protocol expects.
            let mut rakp3 = vec![tag, 0x0f, 0, 0];
            rakp3.extend_from_slice(&bmc_session.to_le_bytes());
            let pkt = packet::wrap_v20(payload::RAKP3, 0, 0, &rakp3, None, [0; 16]);
            let _ = sock.send(&pkt);
            return Err(IpmiError::Authentication {
                addr,
                detail: "the BMC's RAKP 2 code does not match this password".into(),
            });
        }

        // RAKP 3 / 4.
        let tag = random::<1>()[0];
        let mut rakp3 = vec![tag, 0, 0, 0];
        rakp3.extend_from_slice(&bmc_session.to_le_bytes());
        rakp3.extend(handshake.rakp3_code(&kuid));
        let pkt = packet::wrap_v20(payload::RAKP3, 0, 0, &rakp3, None, [0; 16]);
        let rakp4 = exchange(&sock, &addr, &pkt, p.attempt_timeout, p.attempts, |d| {
            packet::unwrap(d, None)
                .ok()
                .filter(|i| i.payload_type == payload::RAKP4 && i.payload.first() == Some(&tag))
                .map(|i| i.payload)
        })?;
        let status = rakp4.get(1).copied().unwrap_or(0xff);
        if status != 0 {
            let detail = format!("RAKP 4 status {status:#04x}: {}", rmcp_status(status));
            return Err(IpmiError::Authentication { addr, detail });
        }
        let sik = handshake.sik(&kuid);
        if rakp4.get(8..) != Some(&handshake.rakp4_code(&sik)[..]) {
            return Err(IpmiError::Authentication {
                addr,
                detail: "the BMC's RAKP 4 integrity check value is wrong".into(),
            });
        }
        transcript.push(format!(
            "RAKP 1-4: authenticated as {:?} ({} ms)",
            p.username,
            started.elapsed().as_millis()
        ));

        let mut session = Session {
            sock,
            addr,
            keys: handshake.keys(&sik),
            console_session,
            bmc_session,
            sequence: 0,
            rq_seq: 0,
            attempt_timeout: p.attempt_timeout,
            attempts: p.attempts,
            closed: false,
            transcript,
        };
        let r = session.command(netfn::APP, cmd::SET_SESSION_PRIVILEGE, &[p.privilege as u8])?;
        session.check(&r, "Set Session Privilege Level")?;
        Ok(session)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one IPMI request in the session and returns its answer.
    pub fn command(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> Result<Response, IpmiError> {
        self.sequence = self.sequence.wrapping_add(1).max(1);
        self.rq_seq = (self.rq_seq + 1) & 0x3f;
        let rq_seq = self.rq_seq;
        let msg = packet::encode_request(netfn, cmd, rq_seq, data);
        let pkt = packet::wrap_v20(
            payload::IPMI,
            self.bmc_session,
            self.sequence,
            &msg,
            Some(&self.keys),
            random::<16>(),
        );
        let keys = self.keys.clone();
        let console = self.console_session;
        let mut integrity_failures = 0u32;
        let result = exchange(
            &self.sock,
            &self.addr,
            &pkt,
            self.attempt_timeout,
            self.attempts,
            |d| match packet::unwrap(d, Some(&keys)) {
                Ok(i) if i.session_id == console && i.payload_type == payload::IPMI => {
                    packet::decode_response(&i.payload)
                        .ok()
                        .filter(|r| r.rq_seq == rq_seq && r.cmd == cmd)
                }
                Err(PacketError::Integrity | PacketError::Unauthenticated) => {
                    integrity_failures += 1;
                    None
                }
                _ => None,
            },
        );
        match result {
            Err(IpmiError::NoAnswer { .. }) if integrity_failures > 0 => {
                Err(IpmiError::Malformed {
                    addr: self.addr.clone(),
                    detail: "answers failed the session's integrity check (or came unsigned)"
                        .into(),
                })
            }
            other => other,
        }
    }

    pub fn check(&self, r: &Response, what: &str) -> Result<(), IpmiError> {
        if r.completion == 0 {
            Ok(())
        } else {
            Err(IpmiError::Completion {
                what: what.to_string(),
                code: r.completion,
                meaning: completion_meaning(r.completion),
            })
        }
    }

    /// Ends the session; the BMC frees its slot. Errors are only noted: the
    /// fencing result does not depend on a polite goodbye.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let id = self.bmc_session.to_le_bytes();
        let saved = self.attempts;
        self.attempts = 1;
        match self.command(netfn::APP, cmd::CLOSE_SESSION, &id) {
            Ok(_) => self.transcript.push("Close Session".into()),
            Err(e) => self.transcript.push(format!("Close Session: {e}")),
        }
        self.attempts = saved;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}
