//! TLS on one TCP connection, read passively: records reassembled across segments, the
//! handshake parsed with rusticata's `tls-parser` (randoms, suite, version, SNI, ALPN), then
//! records decrypted with the secrets of an NSS key log ([`keys::KeyStore`]).
//!
//! TLS 1.3: handshake records after the ServerHello are decrypted with the handshake traffic
//! secrets to read the ALPN (EncryptedExtensions) and find each side's Finished, where that
//! side switches to its application secret; KeyUpdate moves to the next secret. Without the
//! handshake secrets, records are tried with the application key (a handshake record simply
//! fails). TLS 1.2: AEAD suites only, keys from the `CLIENT_RANDOM` master secret through the
//! PRF, switched on at each side's ChangeCipherSpec.
//!
//! A connection whose keys are not known yet keeps a bounded number of records, so that a key
//! log written a moment after the handshake (a followed file in `watch`) still decrypts it.

pub mod crypto;
pub mod keys;
#[doc(hidden)]
#[cfg(any(test, feature = "testkit"))]
pub mod synth;

use crypto::{RecordKey, Suite};
use keys::{KeyStore, Secret, Secrets};

/// Largest record accepted: TLS 1.2 ciphertext limit (2^14 + 2048).
pub const MAX_RECORD: usize = 16384 + 2048;
/// Handshake messages larger than this (certificate chains) are skipped, not kept: only the
/// hellos, EncryptedExtensions, Finished and KeyUpdate are read.
const MAX_HANDSHAKE: usize = 16 * 1024;
/// Record bytes held per direction while the keys are not known.
const MAX_HELD: usize = 48 * 1024;
/// Consecutive records that fail to decrypt before a direction is given up.
const MAX_FAILURES: u32 = 8;

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// The SHA-256 of "HelloRetryRequest": a ServerHello with this random is a retry request.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What became of a TLS connection, counted once when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Records were decrypted.
    Decrypted,
    /// No secrets for its client random in the key log.
    NoKeys,
    /// Secrets were found but records did not authenticate (wrong secrets, or a gap).
    Failed,
    /// A version or cipher suite this reader does not decrypt (CBC, TLS 1.0/1.1...), or a
    /// record stream that is not TLS after all.
    Unsupported,
    /// The handshake or the encrypted records were not seen (capture started or ended early).
    Incomplete,
}

impl Outcome {
    /// How metrics and reports name the outcome.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Decrypted => "decrypted",
            Outcome::NoKeys => "no_keys",
            Outcome::Failed => "failed",
            Outcome::Unsupported => "unsupported",
            Outcome::Incomplete => "incomplete",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the ServerHello.
    Hello,
    /// ServerHello seen, secrets not found yet: records are held.
    WaitKeys,
    /// Held records overflowed (keys not found in time, or no ServerHello): this connection
    /// cannot be decrypted any more.
    NoKeys,
    Keys,
    Unsupported,
}

#[derive(Default)]
struct Dir {
    /// A partial record (header included).
    rec: Vec<u8>,
    /// Partial handshake messages.
    hs: Vec<u8>,
    /// Bytes of an oversized handshake message still to skip.
    hs_skip: usize,
    key: Option<Box<RecordKey>>,
    /// TLS 1.2: the key that ChangeCipherSpec turns on. TLS 1.3: the application key that
    /// this side's Finished turns on.
    next: Option<Box<RecordKey>>,
    /// TLS 1.3: the application secret of `key` once switched (for KeyUpdate), and of `next`.
    secret: Option<Secret>,
    next_secret: Option<Secret>,
    /// TLS 1.2: ChangeCipherSpec seen, records that follow are encrypted.
    ccs: bool,
    /// Handshake done on this side: application records follow.
    app: bool,
    failures: u32,
    /// Complete records kept while waiting for keys.
    held: Vec<u8>,
    /// Stopped: a gap, a malformed record, or too many failures.
    broken: bool,
}

impl Dir {
    fn bytes(&self) -> usize {
        self.rec.capacity() + self.hs.capacity() + self.held.capacity()
    }
}

/// The TLS state of one connection.
pub struct TlsConn {
    dirs: [Dir; 2],
    client_random: Option<[u8; 32]>,
    suite: Option<Suite>,
    server_random: [u8; 32],
    phase: Phase,
    /// Key log generation looked at last (`u64::MAX`: never).
    keys_seen: u64,
    sni: Option<Box<str>>,
    alpn: Option<Box<str>>,
    /// The client offered `h2` in its ALPN list.
    offered_h2: bool,
    decrypted: u64,
    failed: u64,
    malformed: bool,
}

impl Default for TlsConn {
    fn default() -> Self {
        Self::new()
    }
}

/// Where decrypted application bytes go: (direction 0 client / 1 server, bytes).
pub type PlainSink<'a> = dyn FnMut(usize, &[u8]) + 'a;

impl TlsConn {
    /// A connection whose ClientHello is next.
    pub fn new() -> Self {
        TlsConn {
            dirs: [Dir::default(), Dir::default()],
            client_random: None,
            suite: None,
            server_random: [0; 32],
            phase: Phase::Hello,
            keys_seen: u64::MAX,
            sni: None,
            alpn: None,
            offered_h2: false,
            decrypted: 0,
            failed: 0,
            malformed: false,
        }
    }

    /// The server name the client asked for.
    pub fn sni(&self) -> Option<&str> {
        self.sni.as_deref()
    }

    /// The protocol the server selected (TLS 1.3: read from the decrypted EncryptedExtensions).
    pub fn alpn(&self) -> Option<&str> {
        self.alpn.as_deref()
    }

    /// The client offered HTTP/2 (ALPN).
    pub fn offered_h2(&self) -> bool {
        self.offered_h2
    }

    /// Records that did not authenticate.
    pub fn failed_records(&self) -> u64 {
        self.failed
    }

    /// Bytes held for this connection (partial records, handshake messages, waiting records).
    pub fn buffered(&self) -> usize {
        self.dirs[0].bytes() + self.dirs[1].bytes()
    }

    /// What became of the connection so far.
    pub fn outcome(&self) -> Outcome {
        if self.decrypted > 0 {
            return Outcome::Decrypted;
        }
        match self.phase {
            _ if self.malformed => Outcome::Unsupported,
            Phase::Hello => Outcome::Incomplete,
            Phase::WaitKeys => Outcome::NoKeys,
            Phase::NoKeys if self.suite.is_some() => Outcome::NoKeys,
            Phase::NoKeys => Outcome::Incomplete,
            Phase::Unsupported => Outcome::Unsupported,
            Phase::Keys if self.failed > 0 => Outcome::Failed,
            Phase::Keys => Outcome::Incomplete,
        }
    }

    /// `len` bytes of direction `d` were never captured: record boundaries and sequence
    /// numbers are lost, so that direction stops.
    pub fn gap(&mut self, d: usize) {
        if let Some(dir) = self.dirs.get_mut(d) {
            dir.broken = true;
            dir.rec = Vec::new();
            dir.hs = Vec::new();
        }
    }

    /// Bytes of direction `d` (0: client to server). Decrypted application data goes to `out`.
    pub fn data(
        &mut self,
        d: usize,
        mut buf: &[u8],
        keys: &mut KeyStore,
        now_ns: i64,
        out: &mut PlainSink<'_>,
    ) {
        let d = d.min(1);
        while !buf.is_empty() {
            let dir = &mut self.dirs[d];
            if dir.broken {
                return;
            }
            // Whole records straight from `buf` when no partial one waits: one copy, into the
            // buffer that decryption works in.
            let have = dir.rec.len();
            let need = if have < 5 {
                5
            } else {
                5 + usize::from(u16::from_be_bytes([dir.rec[3], dir.rec[4]]))
            };
            let take = (need - have).min(buf.len());
            dir.rec.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if dir.rec.len() == 5 && have < 5 {
                let h = &dir.rec;
                let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
                if !(20..=24).contains(&h[0]) || h[1] != 3 || len > MAX_RECORD || len == 0 {
                    self.malformed(d);
                    return;
                }
                continue;
            }
            if dir.rec.len() < need {
                continue;
            }
            let mut rec = std::mem::take(&mut dir.rec);
            self.arrive(d, &mut rec, keys, now_ns, out);
            rec.clear();
            if rec.capacity() <= MAX_RECORD + 5 {
                self.dirs[d].rec = rec;
            }
        }
    }

    fn malformed(&mut self, d: usize) {
        self.malformed = self.decrypted == 0;
        self.gap(d);
    }

    /// A complete record: decrypted now, or held until its keys are known.
    fn arrive(
        &mut self,
        d: usize,
        rec: &mut [u8],
        keys: &mut KeyStore,
        now_ns: i64,
        out: &mut PlainSink<'_>,
    ) {
        let phase = self.phase;
        match phase {
            Phase::WaitKeys if !self.ready(keys, now_ns, out) => return self.hold(d, rec),
            // Protected records before the ServerHello was read (the client's direction can be
            // delivered first): kept until the keys are known.
            // Once one is held, the ones after it wait too, in order.
            Phase::Hello if rec.first() != Some(&22) || !self.dirs[d].held.is_empty() => {
                return self.hold(d, rec);
            }
            Phase::NoKeys => return,
            _ => {}
        }
        self.record(d, rec, out);
        if self.phase == Phase::WaitKeys {
            // The ServerHello just came: the keys may be known already.
            self.ready(keys, now_ns, out);
        }
    }

    fn hold(&mut self, d: usize, rec: &[u8]) {
        let dir = &mut self.dirs[d];
        if dir.held.len() + rec.len() <= MAX_HELD {
            dir.held.extend_from_slice(rec);
        } else {
            // Too much to keep: this connection will not be decrypted.
            self.phase = Phase::NoKeys;
            self.dirs[0].held = Vec::new();
            self.dirs[1].held = Vec::new();
        }
    }

    /// Keys found: the held records are decrypted, client side first.
    fn ready(&mut self, keys: &mut KeyStore, now_ns: i64, out: &mut PlainSink<'_>) -> bool {
        if !self.find_keys(keys, now_ns) {
            return false;
        }
        self.phase = Phase::Keys;
        for side in [CLIENT, SERVER] {
            let mut held = std::mem::take(&mut self.dirs[side].held);
            let mut at = 0;
            while let Some(h) = held.get(at..at + 5) {
                let n = 5 + usize::from(u16::from_be_bytes([h[3], h[4]]));
                let Some(r) = held.get_mut(at..at + n) else {
                    break;
                };
                self.record(side, r, out);
                at += n;
            }
        }
        true
    }

    /// Looks the client random up in the key log (again only when it changed) and sets the
    /// keys up. True when some key was found.
    fn find_keys(&mut self, keys: &mut KeyStore, now_ns: i64) -> bool {
        let (Some(cr), Some(suite)) = (self.client_random, self.suite) else {
            return false;
        };
        if keys.log.generation() == self.keys_seen && !keys.refresh(now_ns) {
            return false;
        }
        self.keys_seen = keys.log.generation();
        let Some(s) = keys.log.get(&cr) else {
            return false;
        };
        self.install(suite, &cr, s)
    }

    fn install(&mut self, suite: Suite, cr: &[u8; 32], s: &Secrets) -> bool {
        if suite.tls13 {
            // Both application secrets, or wait: a key log being written may have only the
            // handshake lines yet, and installing half the keys would lose the rest.
            if s.client_traffic.is_none() || s.server_traffic.is_none() {
                return false;
            }
            let mut any = false;
            for (d, hs, app) in [
                (CLIENT, &s.client_handshake, &s.client_traffic),
                (SERVER, &s.server_handshake, &s.server_traffic),
            ] {
                let dir = &mut self.dirs[d];
                if let Some(hs) = hs {
                    dir.key = RecordKey::tls13(suite, hs.as_bytes()).map(Box::new);
                    any |= dir.key.is_some();
                }
                if let Some(app) = app {
                    dir.next = RecordKey::tls13(suite, app.as_bytes()).map(Box::new);
                    dir.next_secret = Some(app.clone());
                    any |= dir.next.is_some();
                }
            }
            any
        } else {
            let Some(m) = &s.master else {
                return false;
            };
            let Some((c, sv)) = RecordKey::tls12_pair(suite, m.as_bytes(), cr, &self.server_random)
            else {
                return false;
            };
            self.dirs[CLIENT].next = Some(Box::new(c));
            self.dirs[SERVER].next = Some(Box::new(sv));
            true
        }
    }

    fn record(&mut self, d: usize, rec: &mut [u8], out: &mut PlainSink<'_>) {
        let Some((h, payload)) = rec.split_first_chunk_mut::<5>() else {
            return;
        };
        let header = *h;
        let tls13 = self.suite.is_some_and(|s| s.tls13);
        match header[0] {
            // ChangeCipherSpec: TLS 1.2 turns encryption on; a TLS 1.3 compatibility no-op.
            20 if !tls13 && self.phase != Phase::Hello => {
                let dir = &mut self.dirs[d];
                dir.ccs = true;
                if let Some(k) = dir.next.take() {
                    dir.key = Some(k);
                }
            }
            22 if !self.dirs[d].ccs => self.handshake(d, payload),
            22 | 23 => {
                if self.phase != Phase::Keys {
                    return;
                }
                match self.open(d, tls13, &header, payload) {
                    Some((22, r)) => {
                        if let Some(p) = payload.get(r) {
                            self.handshake(d, p);
                        }
                    }
                    Some((23, r)) => {
                        if let Some(p) = payload.get(r)
                            && !p.is_empty()
                        {
                            out(d, p);
                        }
                    }
                    _ => {}
                }
            }
            // Alerts (encrypted or not) and heartbeats carry nothing we read.
            _ => {}
        }
    }

    /// Decrypts a protected record; for TLS 1.3 the application key is tried when the
    /// handshake key fails (its Finished was missed, or no handshake secrets were logged).
    fn open(
        &mut self,
        d: usize,
        tls13: bool,
        header: &[u8; 5],
        payload: &mut [u8],
    ) -> Option<(u8, std::ops::Range<usize>)> {
        let dir = &mut self.dirs[d];
        if dir.broken {
            return None;
        }
        // A failed open may overwrite the record: keep it when another key may be tried (TLS 1.3
        // before this side's Finished, a few records per connection).
        let second = tls13 && !dir.app && dir.next.is_some() && dir.key.is_some();
        let copy = second.then(|| payload.to_vec());
        if let Some(k) = &mut dir.key
            && let Ok(r) = k.open(header, payload)
        {
            dir.failures = 0;
            self.decrypted += 1;
            return Some(r);
        }
        if let Some(c) = &copy {
            payload.copy_from_slice(c);
        }
        if tls13
            && !dir.app
            && let Some(k) = &mut dir.next
            && let Ok(r) = k.open(header, payload)
        {
            dir.key = dir.next.take();
            dir.secret = dir.next_secret.take();
            dir.app = true;
            dir.failures = 0;
            self.decrypted += 1;
            return Some(r);
        }
        // In the TLS 1.3 handshake without its secrets, failures are expected.
        let expected = tls13 && !dir.app && dir.key.is_none();
        if !expected && (dir.key.is_some() || dir.next.is_some()) {
            self.failed += 1;
            dir.failures += 1;
            // Only once application data flows: before that, early data (0-RTT, under a secret
            // browsers do not log) fails and the handshake goes on.
            if dir.failures >= MAX_FAILURES && (dir.app || dir.failures >= 4 * MAX_FAILURES) {
                dir.broken = true;
            }
        }
        None
    }

    fn handshake(&mut self, d: usize, mut bytes: &[u8]) {
        let dir = &mut self.dirs[d];
        if dir.hs_skip > 0 {
            let k = dir.hs_skip.min(bytes.len());
            dir.hs_skip -= k;
            bytes = &bytes[k..];
        }
        dir.hs.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let dir = &mut self.dirs[d];
            let Some(&[typ, a, b, c]) = dir.hs.get(at..at + 4) else {
                break;
            };
            let len = (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c);
            if len > MAX_HANDSHAKE {
                let have = dir.hs.len() - at - 4;
                dir.hs_skip = len.saturating_sub(have);
                at = dir.hs.len();
                break;
            }
            if dir.hs.len() < at + 4 + len {
                break;
            }
            let msg = std::mem::take(&mut dir.hs);
            self.message(d, typ, msg.get(at + 4..at + 4 + len).unwrap_or(&[]));
            self.dirs[d].hs = msg;
            at += 4 + len;
        }
        let dir = &mut self.dirs[d];
        dir.hs.drain(..at.min(dir.hs.len()));
        if dir.hs.is_empty() && dir.hs.capacity() > 4096 {
            dir.hs = Vec::new();
        }
    }

    fn message(&mut self, d: usize, typ: u8, body: &[u8]) {
        use tls_parser::TlsExtension;
        match (d, typ) {
            (CLIENT, 1) => {
                let Ok((_, ch)) = tls_parser::parse_tls_handshake_client_hello(body) else {
                    self.malformed = true;
                    return;
                };
                let Ok(random) = <[u8; 32]>::try_from(ch.random) else {
                    return;
                };
                self.client_random = Some(random);
                let exts = ch
                    .ext
                    .and_then(|e| tls_parser::parse_tls_client_hello_extensions(e).ok())
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                for e in exts {
                    match e {
                        TlsExtension::SNI(names) => {
                            if let Some((_, n)) = names.first() {
                                self.sni = Some(printable(n));
                            }
                        }
                        TlsExtension::ALPN(protos) => {
                            self.offered_h2 = protos.iter().any(|p| *p == b"h2");
                        }
                        _ => {}
                    }
                }
            }
            (SERVER, 2) if self.phase == Phase::Hello => {
                let Ok((_, sh)) = tls_parser::parse_tls_handshake_server_hello(body) else {
                    self.malformed = true;
                    return;
                };
                if sh.random == HRR_RANDOM {
                    // HelloRetryRequest: the real ServerHello follows.
                    return;
                }
                let Ok(random) = <[u8; 32]>::try_from(sh.random) else {
                    return;
                };
                self.server_random = random;
                let mut version = sh.version.0;
                let exts = sh
                    .ext
                    .and_then(|e| tls_parser::parse_tls_server_hello_extensions(e).ok())
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                for e in exts {
                    match e {
                        TlsExtension::SupportedVersions(v) => {
                            if let Some(v) = v.first() {
                                version = v.0;
                            }
                        }
                        TlsExtension::ALPN(p) => {
                            self.alpn = p.first().map(|p| printable(p));
                        }
                        _ => {}
                    }
                }
                self.suite = Suite::from_id(sh.cipher.0)
                    .filter(|s| (version == 0x0304) == s.tls13 && version >= 0x0303);
                self.phase = if self.suite.is_some() {
                    Phase::WaitKeys
                } else {
                    Phase::Unsupported
                };
            }
            // EncryptedExtensions (TLS 1.3): the selected ALPN.
            (SERVER, 8) => {
                let exts = body
                    .get(2..)
                    .and_then(|e| tls_parser::parse_tls_extensions(e).ok())
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                for e in exts {
                    if let TlsExtension::ALPN(p) = e {
                        self.alpn = p.first().map(|p| printable(p));
                    }
                }
            }
            // Finished: TLS 1.3 switches this side to its application key.
            (_, 20) => {
                let dir = &mut self.dirs[d];
                if self.suite.is_some_and(|s| s.tls13)
                    && !dir.app
                    && let Some(k) = dir.next.take()
                {
                    dir.key = Some(k);
                    dir.secret = dir.next_secret.take();
                }
                dir.app = true;
            }
            // KeyUpdate (TLS 1.3).
            (_, 24) => {
                let Some(suite) = self.suite.filter(|s| s.tls13) else {
                    return;
                };
                let dir = &mut self.dirs[d];
                let Some(next) = dir
                    .secret
                    .as_ref()
                    .and_then(|s| crypto::next_secret(suite.hash, s.as_bytes()))
                else {
                    return;
                };
                dir.key = RecordKey::tls13(suite, &next).map(Box::new);
                dir.secret = Secret::new(&next);
            }
            _ => {}
        }
    }
}

/// A name from the wire, kept printable and short (it goes into warnings and logs).
fn printable(b: &[u8]) -> Box<str> {
    b.iter()
        .take(255)
        .map(|&c| if c.is_ascii_graphic() { c as char } else { '?' })
        .collect::<String>()
        .into_boxed_str()
}

#[cfg(test)]
mod tests;
