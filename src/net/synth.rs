//! Synthetic captures for the benchmark and the generator example: keep-alive HTTP/1.1 API
//! traffic on loopback with preflights, CORS responses (some failing), and about 1% of
//! segments out of order and 1% retransmitted. Deterministic for a given seed.

use crate::net::h2::hpack::Encoder;
use std::io::{self, Write};

/// What was written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    /// Bytes written.
    pub bytes: u64,
    /// Packets written.
    pub packets: u64,
    /// Exchanges written.
    pub exchanges: u64,
    /// TCP connections written.
    pub connections: u64,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

struct Conn {
    client_ip: [u8; 4],
    client_port: u16,
    seq: [u32; 2],
    left: u32,
    tls: Option<Box<crate::net::tls::synth::Session>>,
    /// HPACK encoders [client, server] and the stream of the exchange in flight.
    h2: Option<Box<(Encoder, Encoder, u32)>>,
}

/// What the synthetic connections carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Cleartext HTTP/1.1 (port 8080).
    Plain,
    /// HTTP/1.1 in TLS 1.2 (ECDHE-RSA-AES128-GCM-SHA256), port 443.
    Tls12,
    /// HTTP/1.1 in TLS 1.3 (AES-128-GCM), port 443.
    Tls13,
    /// HTTP/2 in TLS 1.3 (AES-128-GCM, ALPN h2), port 443: what a browser sends.
    Tls13H2,
    /// Cleartext HTTP/2 with prior knowledge (h2c), port 8080.
    H2c,
}

impl Wire {
    fn tls_suite(self) -> Option<u16> {
        match self {
            Wire::Tls12 => Some(0xc02f),
            Wire::Tls13 | Wire::Tls13H2 => Some(0x1301),
            Wire::Plain | Wire::H2c => None,
        }
    }
    fn h2(self) -> bool {
        matches!(self, Wire::Tls13H2 | Wire::H2c)
    }
}

const SERVER_IP: [u8; 4] = [127, 0, 0, 1];
const SERVER_PORT: u16 = 8080;
const MSS: usize = 1448;
const ORIGINS: [&str; 4] = [
    "https://app.example.com",
    "https://admin.example.com",
    "http://localhost:3000",
    "https://evil.example.net",
];
const ROUTES: [&str; 6] = [
    "/api/v1/users/1842",
    "/api/v1/orders?page=3",
    "/api/v1/items/9f1c2e7a",
    "/api/v2/search?q=shoes",
    "/api/v1/cart",
    "/api/v1/profile",
];

struct Gen<W: Write> {
    wire: Wire,
    /// Key log lines of the TLS sessions written.
    keylog: String,
    w: W,
    /// Content: origins, routes, verdicts, bodies. Kept apart from `net` so that every wire
    /// carries the same exchanges.
    rng: Rng,
    /// Network effects: timing, reordering, retransmits, acks.
    net: Rng,
    ts_us: u64,
    out: Written,
    frame: Vec<u8>,
    /// Segments of the current burst (from client, seq, ack, payload), for reordering and
    /// retransmits. The ack is taken when queued: a stack never acknowledges unsent data.
    burst: Vec<(bool, u32, u32, Vec<u8>)>,
}

impl<W: Write> Gen<W> {
    fn record(&mut self, len: usize) -> io::Result<()> {
        self.ts_us += 3 + self.net.below(20);
        let sec = (1_767_225_600 + self.ts_us / 1_000_000) as u32;
        let usec = (self.ts_us % 1_000_000) as u32;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&sec.to_le_bytes());
        h[4..8].copy_from_slice(&usec.to_le_bytes());
        h[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(len as u32).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(&self.frame[..len])?;
        self.out.bytes += 16 + len as u64;
        self.out.packets += 1;
        Ok(())
    }

    fn packet(
        &mut self,
        c: &Conn,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        let port = if self.wire.tls_suite().is_some() {
            443
        } else {
            SERVER_PORT
        };
        let (sip, dip, sp, dp) = if from_client {
            (c.client_ip, SERVER_IP, c.client_port, port)
        } else {
            (SERVER_IP, c.client_ip, port, c.client_port)
        };
        let f = &mut self.frame;
        tcp_frame(f, (sip, sp), (dip, dp), seq, ack, flags, payload);
        let len = f.len();
        self.record(len)
    }

    /// Queues one HTTP/1.1 message from one side, carried as the connection's wire says:
    /// as is, as HTTP/2 frames, inside TLS records.
    fn send(&mut self, c: &mut Conn, from_client: bool, msg: &[u8]) {
        let framed;
        let mut bytes = msg;
        if let Some(h) = c.h2.as_mut() {
            let (ce, se, stream) = &mut **h;
            if from_client {
                *stream = stream.wrapping_add(2);
            }
            let https = self.wire.tls_suite().is_some();
            framed = h1_to_h2(
                msg,
                from_client,
                *stream,
                if from_client { ce } else { se },
                https,
            );
            bytes = &framed;
        }
        let sealed;
        if let Some(t) = c.tls.as_mut() {
            sealed = t.app(usize::from(!from_client), bytes);
            bytes = &sealed;
        }
        let bytes = bytes.to_vec();
        self.queue(c, from_client, &bytes);
    }

    /// Queues `bytes` from one side as MSS-sized segments.
    fn queue(&mut self, c: &mut Conn, from_client: bool, bytes: &[u8]) {
        let d = usize::from(!from_client);
        for chunk in bytes.chunks(MSS) {
            let ack = c.seq[1 - d];
            self.burst
                .push((from_client, c.seq[d], ack, chunk.to_vec()));
            c.seq[d] = c.seq[d].wrapping_add(chunk.len() as u32);
        }
    }

    /// Writes the queued segments, reordering about 1% and retransmitting about 1%.
    fn flush(&mut self, c: &Conn) -> io::Result<()> {
        let mut burst = std::mem::take(&mut self.burst);
        let n = burst.len();
        for i in 0..n {
            if i + 1 < n && burst[i].0 == burst[i + 1].0 && self.net.chance(10) {
                burst.swap(i, i + 1);
            }
        }
        for i in 0..n {
            let (from_client, seq, ack, ref payload) = burst[i];
            self.packet(c, from_client, seq, ack, 0x18, payload)?;
            if self.net.chance(10) {
                self.packet(c, from_client, seq, ack, 0x18, payload)?;
            }
            // A pure ACK now and then, as real stacks send: cumulative, so never past a
            // segment of the same direction still to come.
            if i + 1 == n || self.net.chance(150) {
                let end = seq.wrapping_add(payload.len() as u32);
                let pending = burst[i + 1..]
                    .iter()
                    .filter(|b| b.0 == from_client)
                    .map(|b| b.1)
                    .min_by_key(|s| s.wrapping_sub(seq) as i32);
                let a = match pending {
                    Some(p) if (p.wrapping_sub(seq) as i32) < payload.len() as i32 => p,
                    _ => end,
                };
                let own = if from_client { c.seq[1] } else { c.seq[0] };
                self.packet(c, !from_client, own, a, 0x10, b"")?;
            }
        }
        burst.clear();
        self.burst = burst;
        Ok(())
    }

    fn exchange(&mut self, c: &mut Conn, body: &mut Vec<u8>) -> io::Result<()> {
        let origin = ORIGINS[self.rng.below(ORIGINS.len() as u64) as usize];
        let route = ROUTES[self.rng.below(ROUTES.len() as u64) as usize];
        let kind = self.rng.below(10);
        let mut req = Vec::with_capacity(512);
        let mut resp = Vec::with_capacity(2048);
        if kind < 3 {
            // Preflight then the actual request.
            write!(
                req,
                "OPTIONS {route} HTTP/1.1\r\nHost: api.example.com\r\nOrigin: {origin}\r\n\
                 Access-Control-Request-Method: PUT\r\n\
                 Access-Control-Request-Headers: content-type, authorization\r\n\
                 User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0\r\nAccept: */*\r\n\r\n"
            )?;
            let allow = if kind == 0 {
                "content-type"
            } else {
                "content-type, authorization"
            };
            write!(
                resp,
                "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: {origin}\r\n\
                 Access-Control-Allow-Methods: GET, PUT, POST\r\n\
                 Access-Control-Allow-Headers: {allow}\r\nAccess-Control-Max-Age: 600\r\n\
                 Vary: Origin\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n"
            )?;
            self.send(c, true, &req);
            self.send(c, false, &resp);
            self.flush(c)?;
            self.out.exchanges += 1;
            req.clear();
            resp.clear();
            let json = format!(
                "{{\"id\":{},\"name\":\"item\",\"qty\":3}}",
                self.rng.below(99999)
            );
            write!(
                req,
                "PUT {route} HTTP/1.1\r\nHost: api.example.com\r\nOrigin: {origin}\r\n\
                 Content-Type: application/json\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x\r\n\
                 Content-Length: {}\r\n\r\n{json}",
                json.len()
            )?;
        } else {
            write!(
                req,
                "GET {route} HTTP/1.1\r\nHost: api.example.com\r\nOrigin: {origin}\r\n\
                 Accept: application/json\r\nCookie: session=abc123\r\n\
                 User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0\r\n\r\n"
            )?;
        }
        body.clear();
        let size = 200 + self.rng.below(2600) as usize;
        body.resize(size, b'x');
        let cors = match self.rng.below(8) {
            0 => String::new(),
            1 => "Access-Control-Allow-Origin: https://other.example.com\r\n".to_string(),
            2 => "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\n"
                .to_string(),
            _ => format!(
                "Access-Control-Allow-Origin: {origin}\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n"
            ),
        };
        if self.rng.chance(150) {
            write!(
                resp,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{cors}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
                body.len()
            )?;
            resp.extend_from_slice(body);
            resp.extend_from_slice(b"\r\n0\r\n\r\n");
        } else {
            write!(
                resp,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{cors}\
                 Cache-Control: no-store\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )?;
            resp.extend_from_slice(body);
        }
        self.send(c, true, &req);
        self.send(c, false, &resp);
        self.flush(c)?;
        self.out.exchanges += 1;
        Ok(())
    }

    fn open(&mut self, n: u64) -> io::Result<Conn> {
        let mut c = Conn {
            client_ip: [127, 0, (1 + (n >> 8) % 250) as u8, (1 + n % 250) as u8],
            client_port: 1024 + (n % 60000) as u16,
            seq: [self.rng.next() as u32, self.rng.next() as u32],
            left: 20 + self.rng.below(200) as u32,
            tls: None,
            h2: None,
        };
        self.packet(&c, true, c.seq[0], 0, 0x02, b"")?;
        self.packet(&c, false, c.seq[1], c.seq[0].wrapping_add(1), 0x12, b"")?;
        c.seq[0] = c.seq[0].wrapping_add(1);
        c.seq[1] = c.seq[1].wrapping_add(1);
        self.packet(&c, true, c.seq[0], c.seq[1], 0x10, b"")?;
        self.out.connections += 1;
        if let Some(suite) = self.wire.tls_suite() {
            let alpn = if self.wire.h2() { "h2" } else { "http/1.1" };
            let seed = n ^ 0x243f_6a88_85a3_08d3;
            let mut t =
                crate::net::tls::synth::Session::new(suite, seed, "api.example.com", Some(alpn))
                    .ok_or_else(|| io::Error::other("unknown suite"))?;
            self.keylog.push_str(t.keylog());
            let ch = t.client_hello();
            let sf = t.server_flight();
            let cf = t.client_finished();
            let sfin = t.server_finished();
            self.queue(&mut c, true, &ch);
            self.queue(&mut c, false, &sf);
            self.flush(&c)?;
            self.queue(&mut c, true, &cf);
            self.queue(&mut c, false, &sfin);
            self.flush(&c)?;
            c.tls = Some(Box::new(t));
        }
        if self.wire.h2() {
            let mut start = crate::net::h2::synth::client_start();
            if let Some(t) = c.tls.as_mut() {
                start = t.app(0, &start);
            }
            self.queue(&mut c, true, &start);
            let mut start = crate::net::h2::synth::server_start();
            if let Some(t) = c.tls.as_mut() {
                start = t.app(1, &start);
            }
            self.queue(&mut c, false, &start);
            self.flush(&c)?;
            c.h2 = Some(Box::new((Encoder::default(), Encoder::default(), u32::MAX)));
        }
        Ok(c)
    }

    fn close(&mut self, c: &mut Conn) -> io::Result<()> {
        self.packet(c, true, c.seq[0], c.seq[1], 0x11, b"")?;
        c.seq[0] = c.seq[0].wrapping_add(1);
        self.packet(c, false, c.seq[1], c.seq[0], 0x11, b"")?;
        c.seq[1] = c.seq[1].wrapping_add(1);
        self.packet(c, true, c.seq[0], c.seq[1], 0x10, b"")
    }
}

/// An Ethernet + IPv4 + TCP frame (no options, checksums left zero) into `f`.
pub(crate) fn tcp_frame(
    f: &mut Vec<u8>,
    (sip, sp): ([u8; 4], u16),
    (dip, dp): ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) {
    f.clear();
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00]);
    let total = (40 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&sip);
    f.extend_from_slice(&dip);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
}

/// Writes a classic pcap (Ethernet, microseconds) of about `target_bytes` to `w`, with
/// `concurrent` connections open at a time.
pub fn write_capture<W: Write>(
    w: W,
    target_bytes: u64,
    concurrent: usize,
    seed: u64,
) -> io::Result<Written> {
    write_capture_as(w, target_bytes, concurrent, seed, Wire::Plain).map(|(w, _)| w)
}

/// As [`write_capture`], the same exchanges carried as `wire` says. Returns also the NSS key
/// log that decrypts the TLS sessions (empty for cleartext).
pub fn write_capture_as<W: Write>(
    w: W,
    target_bytes: u64,
    concurrent: usize,
    seed: u64,
    wire: Wire,
) -> io::Result<(Written, String)> {
    write(w, Stop::Bytes(target_bytes), concurrent, seed, wire)
}

/// As [`write_capture_as`], stopping after `exchanges` exchanges (at least), so that captures
/// of different wires carry exactly the same exchanges.
pub fn write_exchanges_as<W: Write>(
    w: W,
    exchanges: u64,
    concurrent: usize,
    seed: u64,
    wire: Wire,
) -> io::Result<(Written, String)> {
    write(w, Stop::Exchanges(exchanges), concurrent, seed, wire)
}

enum Stop {
    Bytes(u64),
    Exchanges(u64),
}

fn write<W: Write>(
    w: W,
    stop: Stop,
    concurrent: usize,
    seed: u64,
    wire: Wire,
) -> io::Result<(Written, String)> {
    let mut g = Gen {
        wire,
        keylog: String::new(),
        w,
        rng: Rng(seed | 1),
        net: Rng(seed.rotate_left(29) ^ 0x6a09_e667_f3bc_c909 | 1),
        ts_us: 0,
        out: Written::default(),
        frame: Vec::with_capacity(2048),
        burst: Vec::new(),
    };
    let mut hdr = Vec::with_capacity(24);
    hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    hdr.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    hdr.extend_from_slice(&262_144u32.to_le_bytes());
    hdr.extend_from_slice(&1u32.to_le_bytes());
    g.w.write_all(&hdr)?;
    g.out.bytes = 24;
    let mut conns = Vec::new();
    let mut n = 0u64;
    for _ in 0..concurrent.max(1) {
        conns.push(g.open(n)?);
        n += 1;
    }
    let mut body = Vec::new();
    while match stop {
        Stop::Bytes(b) => g.out.bytes < b,
        Stop::Exchanges(n) => g.out.exchanges < n,
    } {
        let i = g.rng.below(conns.len() as u64) as usize;
        let mut c = conns.swap_remove(i);
        g.exchange(&mut c, &mut body)?;
        c.left -= 1;
        if c.left == 0 {
            g.close(&mut c)?;
            c = g.open(n)?;
            n += 1;
        }
        conns.push(c);
    }
    for mut c in conns {
        g.close(&mut c)?;
    }
    g.w.flush()?;
    Ok((g.out, g.keylog))
}

/// One generated HTTP/1.1 message as HTTP/2 frames on `stream` (hop-by-hop headers dropped,
/// `Host` as `:authority`, chunked framing left to DATA).
fn h1_to_h2(msg: &[u8], request: bool, stream: u32, enc: &mut Encoder, https: bool) -> Vec<u8> {
    use crate::net::h2::synth::{data, headers};
    let mut hdrs = [httparse::EMPTY_HEADER; 32];
    let mut fields: Vec<(String, String)> = Vec::new();
    let head_len;
    if request {
        let mut r = httparse::Request::new(&mut hdrs);
        head_len = match r.parse(msg) {
            Ok(httparse::Status::Complete(n)) => n,
            _ => return Vec::new(),
        };
        let host = r
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("host"))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
            .unwrap_or_default();
        fields.push((":method".into(), r.method.unwrap_or("GET").into()));
        fields.push((":authority".into(), host));
        fields.push((
            ":scheme".into(),
            if https { "https" } else { "http" }.into(),
        ));
        fields.push((":path".into(), r.path.unwrap_or("/").into()));
        for h in r.headers.iter() {
            fields.push((
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            ));
        }
    } else {
        let mut r = httparse::Response::new(&mut hdrs);
        head_len = match r.parse(msg) {
            Ok(httparse::Status::Complete(n)) => n,
            _ => return Vec::new(),
        };
        fields.push((":status".into(), r.code.unwrap_or(200).to_string()));
        for h in r.headers.iter() {
            fields.push((
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            ));
        }
    }
    fields.retain(|(n, _)| !matches!(n.as_str(), "host" | "connection" | "transfer-encoding"));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = msg.get(head_len..).unwrap_or(&[]);
    let mut out = headers(enc, stream, &refs, body.is_empty(), 16384);
    if !body.is_empty() {
        out.extend(data(stream, body, true));
    }
    out
}
