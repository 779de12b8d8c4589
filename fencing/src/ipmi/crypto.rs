//! The RMCP+ cipher suites paceline speaks (3: HMAC-SHA1 / HMAC-SHA1-96 /
//! AES-CBC-128, 17: HMAC-SHA256 / HMAC-SHA256-128 / AES-CBC-128), the RAKP
//! authentication codes, and the session keys SIK, K1 and K2 derived from
//! them. Suite 0 (no authentication) is deliberately absent: many BMCs then
//! accept any password.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherSuite {
    Three,
    Seventeen,
}

impl CipherSuite {
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            3 => Some(CipherSuite::Three),
            17 => Some(CipherSuite::Seventeen),
            _ => None,
        }
    }

    pub fn id(self) -> u8 {
        match self {
            CipherSuite::Three => 3,
            CipherSuite::Seventeen => 17,
        }
    }

    /// Authentication, integrity and confidentiality algorithm numbers as
    /// the Open Session Request proposes them.
    pub fn algorithms(self) -> (u8, u8, u8) {
        match self {
            CipherSuite::Three => (0x01, 0x01, 0x01),
            CipherSuite::Seventeen => (0x03, 0x04, 0x01),
        }
    }

    /// Length of the RAKP 4 integrity check value.
    pub fn rakp4_len(self) -> usize {
        match self {
            CipherSuite::Three => 12,
            CipherSuite::Seventeen => 16,
        }
    }

    fn digest_len(self) -> usize {
        match self {
            CipherSuite::Three => 20,
            CipherSuite::Seventeen => 32,
        }
    }

    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            CipherSuite::Three => {
                let mut m =
                    <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_key());
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            CipherSuite::Seventeen => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key)
                    .unwrap_or_else(|_| unreachable_key());
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }
}

/// HMAC accepts keys of any length, so construction cannot fail; this keeps
/// the signature total without an unwrap.
fn unreachable_key() -> ! {
    panic!("HMAC rejected a key although it accepts any length")
}

/// The user key Kuid: the password, zero-padded to 20 bytes.
pub fn user_key(password: &str) -> Vec<u8> {
    let mut k = password.as_bytes().to_vec();
    k.resize(20.max(k.len()), 0);
    k
}

/// What both sides know after RAKP 2, from which every code is computed.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub suite: CipherSuite,
    pub console_session: u32,
    pub bmc_session: u32,
    pub console_random: [u8; 16],
    pub bmc_random: [u8; 16],
    pub bmc_guid: [u8; 16],
    /// The privilege byte sent in RAKP 1 (with the name-only lookup bit).
    pub role: u8,
    pub username: Vec<u8>,
}

impl Handshake {
    fn name_part(&self) -> Vec<u8> {
        let mut v = vec![self.role, self.username.len() as u8];
        v.extend_from_slice(&self.username);
        v
    }

    /// The code the BMC must have put in RAKP 2.
    pub fn rakp2_code(&self, kuid: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&self.console_session.to_le_bytes());
        d.extend_from_slice(&self.bmc_session.to_le_bytes());
        d.extend_from_slice(&self.console_random);
        d.extend_from_slice(&self.bmc_random);
        d.extend_from_slice(&self.bmc_guid);
        d.extend(self.name_part());
        self.suite.hmac(kuid, &d)
    }

    /// The code the console sends in RAKP 3.
    pub fn rakp3_code(&self, kuid: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&self.bmc_random);
        d.extend_from_slice(&self.console_session.to_le_bytes());
        d.extend(self.name_part());
        self.suite.hmac(kuid, &d)
    }

    /// The session integrity key. `kg` is the BMC key, or Kuid when the BMC
    /// has none set (the common case).
    pub fn sik(&self, kg: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&self.console_random);
        d.extend_from_slice(&self.bmc_random);
        d.extend(self.name_part());
        self.suite.hmac(kg, &d)
    }

    /// The integrity check value the BMC must have put in RAKP 4.
    pub fn rakp4_code(&self, sik: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&self.console_random);
        d.extend_from_slice(&self.bmc_session.to_le_bytes());
        d.extend_from_slice(&self.bmc_guid);
        let mut code = self.suite.hmac(sik, &d);
        code.truncate(self.suite.rakp4_len());
        code
    }

    pub fn keys(&self, sik: &[u8]) -> Keys {
        let n = self.suite.digest_len();
        let k1 = self.suite.hmac(sik, &vec![0x01; n]);
        let k2 = self.suite.hmac(sik, &vec![0x02; n]);
        let mut aes_key = [0u8; 16];
        aes_key.copy_from_slice(&k2[..16]);
        Keys {
            suite: self.suite,
            k1,
            aes_key,
            confidential: true,
        }
    }
}

/// Per-session keys for integrity (K1) and confidentiality (first 16 bytes
/// of K2).
#[derive(Clone)]
pub struct Keys {
    pub suite: CipherSuite,
    k1: Vec<u8>,
    aes_key: [u8; 16],
    pub confidential: bool,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

impl Keys {
    pub fn auth_code_len(&self) -> usize {
        match self.suite {
            CipherSuite::Three => 12,
            CipherSuite::Seventeen => 16,
        }
    }

    pub fn auth_code(&self, signed: &[u8]) -> Vec<u8> {
        let mut code = self.suite.hmac(&self.k1, signed);
        code.truncate(self.auth_code_len());
        code
    }

    pub fn verify(&self, signed: &[u8], code: &[u8]) -> bool {
        let expected = self.auth_code(signed);
        // Constant time is not needed against a BMC, but costs nothing.
        expected.len() == code.len()
            && expected
                .iter()
                .zip(code)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// IV, then the payload padded with 1, 2, 3… and the pad length,
    /// encrypted with AES-CBC-128.
    pub fn encrypt(&self, payload: &[u8], iv: [u8; 16]) -> Vec<u8> {
        let mut plain = payload.to_vec();
        let pad = (16 - (payload.len() + 1) % 16) % 16;
        plain.extend((1..=pad as u8).collect::<Vec<u8>>());
        plain.push(pad as u8);
        let len = plain.len();
        let enc = Aes128CbcEnc::new(&self.aes_key.into(), &iv.into());
        let mut out = iv.to_vec();
        match enc.encrypt_padded_mut::<NoPadding>(&mut plain, len) {
            Ok(ct) => out.extend_from_slice(ct),
            // The length is a multiple of 16 by construction.
            Err(_) => out.clear(),
        }
        out
    }

    pub fn decrypt(&self, body: &[u8]) -> Option<Vec<u8>> {
        if body.len() < 32 || body.len() % 16 != 0 {
            return None;
        }
        let (iv, ct) = body.split_at(16);
        let mut iv_arr = [0u8; 16];
        iv_arr.copy_from_slice(iv);
        let mut buf = ct.to_vec();
        let dec = Aes128CbcDec::new(&self.aes_key.into(), &iv_arr.into());
        let plain = dec.decrypt_padded_mut::<NoPadding>(&mut buf).ok()?;
        let pad = *plain.last()? as usize;
        if pad + 1 > plain.len() {
            return None;
        }
        Some(plain[..plain.len() - 1 - pad].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(suite: CipherSuite) -> Handshake {
        Handshake {
            suite,
            console_session: 0x0a0b0c0d,
            bmc_session: 0x11223344,
            console_random: [0x01; 16],
            bmc_random: [0x02; 16],
            bmc_guid: [0x03; 16],
            role: 0x14,
            username: b"admin".to_vec(),
        }
    }

    // Reference values computed independently with Python's hmac/hashlib
    // from the same inputs (see the byte layouts in the doc comments):
    //   kuid = b"secret".ljust(20, b"\0")
    //   rakp2 = struct.pack("<II", 0x0a0b0c0d, 0x11223344) + b"\1"*16 + b"\2"*16
    //           + b"\3"*16 + bytes([0x14, 5]) + b"admin"
    //   hmac.new(kuid, rakp2, sha1 / sha256).hexdigest()
    #[test]
    fn rakp2_codes_match_reference_values() {
        let kuid = user_key("secret");
        let h3 = handshake(CipherSuite::Three);
        assert_eq!(
            hex(&h3.rakp2_code(&kuid)),
            "8c3d079c19959ff9120e976686c2f51dbf58c2fa"
        );
        let h17 = handshake(CipherSuite::Seventeen);
        assert_eq!(
            hex(&h17.rakp2_code(&kuid)),
            "a260ecda883952d28762a49091e490cb201273bc13afb267bdb59124b94ebd22"
        );
    }

    //   sik = hmac.new(kuid, b"\1"*16 + b"\2"*16 + bytes([0x14, 5]) + b"admin", sha1)
    //   rakp4 = hmac.new(sik, b"\1"*16 + struct.pack("<I", 0x11223344) + b"\3"*16, sha1)[:12]
    #[test]
    fn sik_and_rakp4_match_reference_values() {
        let h = handshake(CipherSuite::Three);
        let sik = h.sik(&user_key("secret"));
        assert_eq!(hex(&sik), "d2ad27ab615095d49b3b74991c46dff22fc25aed");
        assert_eq!(hex(&h.rakp4_code(&sik)), "fc236fecde61678c3d05dd17");
    }

    #[test]
    fn suite_17_derives_longer_keys_and_codes() {
        let kuid = user_key("secret");
        let h = handshake(CipherSuite::Seventeen);
        let sik = h.sik(&kuid);
        assert_eq!(sik.len(), 32);
        assert_eq!(h.rakp4_code(&sik).len(), 16);
        let keys = h.keys(&sik);
        assert_eq!(keys.auth_code(b"abc").len(), 16);
        let h3 = handshake(CipherSuite::Three);
        assert_eq!(h3.rakp4_code(&h3.sik(&kuid)).len(), 12);
    }

    #[test]
    fn aes_round_trip_with_ipmi_padding() {
        let h = handshake(CipherSuite::Three);
        let keys = h.keys(&h.sik(&user_key("secret")));
        for len in [0usize, 1, 7, 15, 16, 17, 40] {
            let data: Vec<u8> = (0..len as u8).collect();
            let ct = keys.encrypt(&data, [9; 16]);
            assert_eq!(ct.len() % 16, 0);
            assert_eq!(keys.decrypt(&ct).unwrap(), data, "len {len}");
        }
        assert!(keys.decrypt(&[0; 20]).is_none());
    }

    #[test]
    fn integrity_detects_tampering() {
        let h = handshake(CipherSuite::Three);
        let keys = h.keys(&h.sik(&user_key("secret")));
        let code = keys.auth_code(b"signed part");
        assert!(keys.verify(b"signed part", &code));
        assert!(!keys.verify(b"signed parT", &code));
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
