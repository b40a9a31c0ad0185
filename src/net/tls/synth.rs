//! A TLS writer for tests, benchmarks, fuzz seeds and synthetic captures: the records a client
//! and a server would exchange (hellos, encrypted handshake, application data, key updates)
//! under secrets it chose, and the key log line that decrypts them. No key exchange is
//! performed: the handshake messages only carry what a passive reader looks at.

use super::crypto::{self, RecordKey, Suite};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn u16be(n: usize) -> [u8; 2] {
    (n as u16).to_be_bytes()
}

fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn ext(typ: u16, body: &[u8]) -> Vec<u8> {
    let mut e = typ.to_be_bytes().to_vec();
    e.extend_from_slice(&u16be(body.len()));
    e.extend_from_slice(body);
    e
}

fn alpn_ext(protos: &[&str]) -> Vec<u8> {
    let mut list = Vec::new();
    for p in protos {
        list.push(p.len() as u8);
        list.extend_from_slice(p.as_bytes());
    }
    let mut body = u16be(list.len()).to_vec();
    body.extend_from_slice(&list);
    ext(0x0010, &body)
}

fn plain_record(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![typ, 3, 3];
    r.extend_from_slice(&u16be(body.len()));
    r.extend_from_slice(body);
    r
}

/// One side's protection state while writing.
struct Side {
    key: Option<RecordKey>,
    next: Option<RecordKey>,
    secret: Vec<u8>,
}

/// A TLS session written from chosen secrets.
pub struct Session {
    pub suite: Suite,
    pub client_random: [u8; 32],
    server_random: [u8; 32],
    sni: String,
    alpn: Option<String>,
    sides: [Side; 2],
    lines: String,
}

impl Session {
    /// `suite`: a TLS 1.3 (0x1301..0x1303) or TLS 1.2 AEAD suite id. `seed` picks the randoms
    /// and secrets. `alpn`: the protocol the server selects (offered with `http/1.1`).
    pub fn new(suite: u16, seed: u64, sni: &str, alpn: Option<&str>) -> Option<Session> {
        let suite = Suite::from_id(suite)?;
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut fill = |b: &mut [u8]| {
            for v in b {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = x as u8;
            }
        };
        let mut cr = [0u8; 32];
        let mut sr = [0u8; 32];
        fill(&mut cr);
        fill(&mut sr);
        let n = suite.hash.size();
        let mut secrets = [vec![0u8; n], vec![0u8; n], vec![0u8; n], vec![0u8; n]];
        let mut master = [0u8; 48];
        for s in &mut secrets {
            fill(s);
        }
        fill(&mut master);
        let mut lines = String::new();
        let sides = if suite.tls13 {
            for (label, s) in [
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &secrets[0]),
                ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &secrets[1]),
                ("CLIENT_TRAFFIC_SECRET_0", &secrets[2]),
                ("SERVER_TRAFFIC_SECRET_0", &secrets[3]),
            ] {
                lines.push_str(&format!("{label} {} {}\n", hex(&cr), hex(s)));
            }
            [
                Side {
                    key: RecordKey::tls13(suite, &secrets[0]),
                    next: RecordKey::tls13(suite, &secrets[2]),
                    secret: secrets[2].clone(),
                },
                Side {
                    key: RecordKey::tls13(suite, &secrets[1]),
                    next: RecordKey::tls13(suite, &secrets[3]),
                    secret: secrets[3].clone(),
                },
            ]
        } else {
            lines.push_str(&format!("CLIENT_RANDOM {} {}\n", hex(&cr), hex(&master)));
            let (c, s) = RecordKey::tls12_pair(suite, &master, &cr, &sr)?;
            [
                Side {
                    key: None,
                    next: Some(c),
                    secret: Vec::new(),
                },
                Side {
                    key: None,
                    next: Some(s),
                    secret: Vec::new(),
                },
            ]
        };
        Some(Session {
            suite,
            client_random: cr,
            server_random: sr,
            sni: sni.to_string(),
            alpn: alpn.map(str::to_string),
            sides,
            lines,
        })
    }

    /// The NSS key log lines of this session (secret: tests only).
    pub fn keylog(&self) -> &str {
        &self.lines
    }

    fn seal(&mut self, d: usize, typ: u8, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in plain.chunks(16384) {
            let Some(k) = self.sides[d].key.as_mut() else {
                return out;
            };
            let outer = if self.suite.tls13 { 23 } else { typ };
            let len = chunk.len() + k.overhead();
            let header = [outer, 3, 3, (len >> 8) as u8, len as u8];
            out.extend_from_slice(&header);
            out.extend_from_slice(&k.seal(&header, typ, chunk));
        }
        out
    }

    /// The client's first flight: the ClientHello.
    pub fn client_hello(&self) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&self.client_random);
        b.push(32);
        b.extend_from_slice(&[7; 32]);
        let suites: [u16; 3] = [self.suite.id, 0x1301, 0xc02f];
        b.extend_from_slice(&u16be(suites.len() * 2));
        for s in suites {
            b.extend_from_slice(&s.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut exts = Vec::new();
        let name = self.sni.as_bytes();
        let mut sni = u16be(name.len() + 3).to_vec();
        sni.push(0);
        sni.extend_from_slice(&u16be(name.len()));
        sni.extend_from_slice(name);
        exts.extend(ext(0x0000, &sni));
        exts.extend(alpn_ext(&["h2", "http/1.1"]));
        if self.suite.tls13 {
            exts.extend(ext(0x002b, &[2, 3, 4]));
        }
        b.extend_from_slice(&u16be(exts.len()));
        b.extend_from_slice(&exts);
        plain_record(22, &handshake(1, &b))
    }

    /// The server's flight up to its Finished (TLS 1.3: ServerHello, then EncryptedExtensions,
    /// a certificate and Finished under the handshake key; TLS 1.2: ServerHello, certificate,
    /// ServerHelloDone). After it the server writes with its application key (TLS 1.3).
    pub fn server_flight(&mut self) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&self.server_random);
        b.push(32);
        b.extend_from_slice(&[7; 32]);
        b.extend_from_slice(&self.suite.id.to_be_bytes());
        b.push(0);
        let mut exts = Vec::new();
        let alpn = self.alpn.clone();
        if self.suite.tls13 {
            exts.extend(ext(0x002b, &[3, 4]));
        } else if let Some(a) = &alpn {
            exts.extend(alpn_ext(&[a]));
        }
        b.extend_from_slice(&u16be(exts.len()));
        b.extend_from_slice(&exts);
        let mut out = plain_record(22, &handshake(2, &b));
        let cert = handshake(11, &[0x5a; 3000]);
        if self.suite.tls13 {
            out.extend(plain_record(20, &[1]));
            let mut ee_exts = Vec::new();
            if let Some(a) = &alpn {
                ee_exts.extend(alpn_ext(&[a]));
            }
            let mut ee = u16be(ee_exts.len()).to_vec();
            ee.extend_from_slice(&ee_exts);
            let mut flight = handshake(8, &ee);
            flight.extend(cert);
            flight.extend(handshake(20, &vec![0xf1; self.suite.hash.size()]));
            out.extend(self.seal(1, 22, &flight));
            self.switch(1);
        } else {
            out.extend(plain_record(22, &cert));
            out.extend(plain_record(22, &handshake(14, &[])));
        }
        out
    }

    fn switch(&mut self, d: usize) {
        let s = &mut self.sides[d];
        s.key = s.next.take();
    }

    /// The client's second flight: (TLS 1.2: ClientKeyExchange,) ChangeCipherSpec, Finished.
    pub fn client_finished(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.suite.tls13 {
            out.extend(plain_record(22, &handshake(16, &[32; 33])));
            out.extend(plain_record(20, &[1]));
            self.switch(0);
            out.extend(self.seal(0, 22, &handshake(20, &[0xf0; 12])));
        } else {
            out.extend(plain_record(20, &[1]));
            out.extend(self.seal(0, 22, &handshake(20, &vec![0xf0; self.suite.hash.size()])));
            self.switch(0);
        }
        out
    }

    /// TLS 1.2: the server's ChangeCipherSpec and Finished (nothing for TLS 1.3).
    pub fn server_finished(&mut self) -> Vec<u8> {
        if self.suite.tls13 {
            return Vec::new();
        }
        let mut out = plain_record(20, &[1]);
        self.switch(1);
        out.extend(self.seal(1, 22, &handshake(20, &[0xf2; 12])));
        out
    }

    /// Application data from side `d` (0 client, 1 server), in records of at most 16 KiB.
    pub fn app(&mut self, d: usize, data: &[u8]) -> Vec<u8> {
        self.seal(d.min(1), 23, data)
    }

    /// TLS 1.3: a KeyUpdate from side `d`, after which it writes with the next secret.
    pub fn key_update(&mut self, d: usize) -> Vec<u8> {
        let d = d.min(1);
        let out = self.seal(d, 22, &handshake(24, &[0]));
        if let Some(next) = crypto::next_secret(self.suite.hash, &self.sides[d].secret) {
            self.sides[d].key = RecordKey::tls13(self.suite, &next);
            self.sides[d].secret = next;
        }
        out
    }
}
