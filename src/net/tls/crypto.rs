//! Record protection: the TLS 1.3 key schedule pieces a passive reader needs (HKDF-Expand-Label
//! for keys, IVs and key updates), the TLS 1.2 PRF key block, and AEAD record decryption.

//!
//! The primitives are `ring`'s (assembly AES-GCM and ChaCha20-Poly1305, HKDF, HMAC): the
//! decrypted path must stay within half the plaintext path's speed.

use ring::{aead, hkdf, hmac};

/// Hash of a suite's key schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl Hash {
    /// Output length in bytes.
    pub fn size(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// An AEAD of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
}

impl Cipher {
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm => 16,
            Cipher::Aes256Gcm | Cipher::ChaCha20Poly1305 => 32,
        }
    }
}

/// A cipher suite this reader can decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// IANA code point.
    pub id: u16,
    /// Its AEAD.
    pub cipher: Cipher,
    /// Its key-schedule hash.
    pub hash: Hash,
    /// A TLS 1.3 suite.
    pub tls13: bool,
}

impl Suite {
    /// The AEAD suites of TLS 1.3 and TLS 1.2; `None` for the rest (CBC, RC4, export...).
    pub fn from_id(id: u16) -> Option<Suite> {
        use Cipher::*;
        let (cipher, hash, tls13) = match id {
            0x1301 => (Aes128Gcm, Hash::Sha256, true),
            0x1302 => (Aes256Gcm, Hash::Sha384, true),
            0x1303 => (ChaCha20Poly1305, Hash::Sha256, true),
            // (EC)DHE/RSA with AES-GCM, RFC 5288 and RFC 5289.
            0xC02B | 0xC02F | 0x009C | 0x009E => (Aes128Gcm, Hash::Sha256, false),
            0xC02C | 0xC030 | 0x009D | 0x009F => (Aes256Gcm, Hash::Sha384, false),
            // RFC 7905.
            0xCCA8..=0xCCAA => (ChaCha20Poly1305, Hash::Sha256, false),
            _ => return None,
        };
        Some(Suite {
            id,
            cipher,
            hash,
            tls13,
        })
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context. `None` only for impossible
/// lengths.
pub fn expand_label(hash: Hash, secret: &[u8], label: &str, len: usize) -> Option<Vec<u8>> {
    struct Len(usize);
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let full = 6 + label.len();
    let mut info = Vec::with_capacity(4 + full);
    info.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
    info.push(u8::try_from(full).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(0);
    let alg = match hash {
        Hash::Sha256 => hkdf::HKDF_SHA256,
        Hash::Sha384 => hkdf::HKDF_SHA384,
    };
    let prk = hkdf::Prk::new_less_safe(alg, secret);
    let info = [info.as_slice()];
    let okm = prk.expand(&info, Len(len)).ok()?;
    let mut out = vec![0u8; len];
    okm.fill(&mut out).ok()?;
    Some(out)
}

/// The next traffic secret after a KeyUpdate.
pub fn next_secret(hash: Hash, secret: &[u8]) -> Option<Vec<u8>> {
    expand_label(hash, secret, "traffic upd", hash.size())
}

/// TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed) truncated to `len`.
pub fn prf12(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let alg = match hash {
        Hash::Sha256 => hmac::HMAC_SHA256,
        Hash::Sha384 => hmac::HMAC_SHA384,
    };
    let key = hmac::Key::new(alg, secret);
    let mut s = Vec::with_capacity(label.len() + seed.len());
    s.extend_from_slice(label);
    s.extend_from_slice(seed);
    let mut out = Vec::with_capacity(len + 48);
    let mut a = hmac::sign(&key, &s);
    while out.len() < len {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(a.as_ref());
        ctx.update(&s);
        out.extend_from_slice(ctx.sign().as_ref());
        a = hmac::sign(&key, a.as_ref());
    }
    out.truncate(len);
    out
}

/// One direction's record protection: an AEAD key, its IV and the record sequence number.
pub struct RecordKey {
    aead: aead::LessSafeKey,
    iv: [u8; 12],
    /// TLS 1.2 GCM: 4-byte implicit salt + 8-byte explicit nonce in each record.
    explicit_nonce: bool,
    tls13: bool,
    /// Sequence number of the next record.
    pub seq: u64,
}

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key or the IV.
        f.debug_struct("RecordKey").field("seq", &self.seq).finish()
    }
}

/// Why a record did not decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Too short for its AEAD.
    #[error("record too short for its AEAD")]
    Short,
    /// Did not authenticate.
    #[error("authentication failed")]
    Auth,
    /// TLS 1.3 inner plaintext all padding.
    #[error("TLS 1.3 inner plaintext is all padding")]
    NoContentType,
}

impl RecordKey {
    fn new(
        cipher: Cipher,
        key: &[u8],
        iv: &[u8],
        explicit_nonce: bool,
        tls13: bool,
    ) -> Option<Self> {
        let alg = match cipher {
            Cipher::Aes128Gcm => &aead::AES_128_GCM,
            Cipher::Aes256Gcm => &aead::AES_256_GCM,
            Cipher::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        };
        let aead = aead::LessSafeKey::new(aead::UnboundKey::new(alg, key).ok()?);
        let mut full = [0u8; 12];
        full.get_mut(..iv.len())?.copy_from_slice(iv);
        Some(RecordKey {
            aead,
            iv: full,
            explicit_nonce,
            tls13,
            seq: 0,
        })
    }

    /// TLS 1.3 key and IV from a traffic secret.
    pub fn tls13(suite: Suite, secret: &[u8]) -> Option<Self> {
        let key = expand_label(suite.hash, secret, "key", suite.cipher.key_len())?;
        let iv = expand_label(suite.hash, secret, "iv", 12)?;
        Self::new(suite.cipher, &key, &iv, false, true)
    }

    /// TLS 1.2 client and server write keys from the master secret (RFC 5246 §6.3).
    pub fn tls12_pair(
        suite: Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Option<(Self, Self)> {
        let key_len = suite.cipher.key_len();
        let (iv_len, explicit) = match suite.cipher {
            Cipher::ChaCha20Poly1305 => (12, false),
            _ => (4, true),
        };
        let mut seed = [0u8; 64];
        seed[..32].copy_from_slice(server_random);
        seed[32..].copy_from_slice(client_random);
        let block = prf12(
            suite.hash,
            master,
            b"key expansion",
            &seed,
            2 * (key_len + iv_len),
        );
        let (ck, rest) = block.split_at_checked(key_len)?;
        let (sk, rest) = rest.split_at_checked(key_len)?;
        let (civ, siv) = rest.split_at_checked(iv_len)?;
        Some((
            Self::new(suite.cipher, ck, civ, explicit, false)?,
            Self::new(suite.cipher, sk, siv, explicit, false)?,
        ))
    }

    fn xor_nonce(&self) -> [u8; 12] {
        let mut n = self.iv;
        for (b, s) in n[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *b ^= s;
        }
        n
    }

    /// Decrypts one record in place. `header` is the 5-byte record header as received.
    /// Returns the content type and the plaintext's range within `payload`. The sequence
    /// number advances only on success; on failure `payload` may be overwritten.
    pub fn open(
        &mut self,
        header: &[u8; 5],
        payload: &mut [u8],
    ) -> Result<(u8, std::ops::Range<usize>), RecordError> {
        let (nonce, start) = if self.explicit_nonce {
            let mut n = self.iv;
            n[4..].copy_from_slice(payload.get(..8).ok_or(RecordError::Short)?);
            (n, 8)
        } else {
            (self.xor_nonce(), 0)
        };
        let end = payload
            .len()
            .checked_sub(16)
            .filter(|&e| e >= start)
            .ok_or(RecordError::Short)?;
        let body_len = end - start;
        let mut aad12 = [0u8; 13];
        let aad: &[u8] = if self.tls13 {
            header
        } else {
            aad12[..8].copy_from_slice(&self.seq.to_be_bytes());
            aad12[8..11].copy_from_slice(&header[..3]);
            aad12[11..].copy_from_slice(&(body_len as u16).to_be_bytes());
            &aad12
        };
        // On failure ring may have written over the record: a caller that wants to try another
        // key keeps a copy.
        let body = self
            .aead
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                &mut payload[start..],
            )
            .map_err(|_| RecordError::Auth)?;
        let body_len = body.len();
        self.seq = self.seq.wrapping_add(1);
        if !self.tls13 {
            return Ok((header[0], start..start + body_len));
        }
        // TLSInnerPlaintext: content, content type, zero padding.
        let body = &payload[start..start + body_len];
        let last = body
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(RecordError::NoContentType)?;
        Ok((body[last], start..start + last))
    }

    /// Encrypts one record (tests, benchmarks and synthetic captures only): returns the
    /// payload that follows `header`, whose length field must already count the tag.
    pub fn seal(&mut self, header: &[u8; 5], content_type: u8, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + 32);
        let nonce = if self.explicit_nonce {
            let explicit = self.seq.to_be_bytes();
            out.extend_from_slice(&explicit);
            let mut n = self.iv;
            n[4..].copy_from_slice(&explicit);
            n
        } else {
            self.xor_nonce()
        };
        let start = out.len();
        out.extend_from_slice(plain);
        if self.tls13 {
            out.push(content_type);
        }
        let body_len = out.len() - start;
        let mut aad12 = [0u8; 13];
        let aad: &[u8] = if self.tls13 {
            header
        } else {
            aad12[..8].copy_from_slice(&self.seq.to_be_bytes());
            aad12[8] = content_type;
            aad12[9..11].copy_from_slice(&header[1..3]);
            aad12[11..].copy_from_slice(&(body_len as u16).to_be_bytes());
            &aad12
        };
        let mut body = out.split_off(start);
        let sealed = self.aead.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut body,
        );
        if sealed.is_ok() {
            out.extend_from_slice(&body);
        }
        self.seq = self.seq.wrapping_add(1);
        out
    }

    /// Ciphertext overhead of one record: explicit nonce, tag and (TLS 1.3) content type.
    pub fn overhead(&self) -> usize {
        16 + if self.explicit_nonce { 8 } else { 0 } + usize::from(self.tls13)
    }
}
