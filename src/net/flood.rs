//! Flood captures for the memory-budget tests (`tests/floods.sh`, `examples/gen_flood.rs`):
//! traffic shaped to make an agent keep state, written as a classic pcap (Ethernet, IPv4,
//! microseconds) to any writer, so that a generator can pipe it straight into `analyze -`.
//! Deterministic: the n-th connection has the n-th client address and port. Loopback
//! addresses only (127.0.0.0/8), so that replaying a flood on `lo` for the live test puts no
//! other address on the wire.

use std::io::{self, Write};

/// What a flood sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    /// `n` SYNs from distinct clients, never answered.
    Syn,
    /// `n` connections, each handshaken and then sending `size` bytes of a request head that
    /// never ends.
    HalfOpen {
        /// Bytes of unfinished head per connection.
        size: usize,
    },
    /// `n` cross-origin GETs from distinct origins, each answered without
    /// `Access-Control-Allow-Origin` (blocked), on a few keep-alive connections.
    Origins,
    /// As `Origins`, one origin, `n` distinct routes.
    Routes,
    /// `conns` connections each trickling one byte of a request head per packet, round-robin,
    /// `n` packets in all; the heads never end.
    Slowloris {
        /// Connections open at once.
        conns: u32,
    },
    /// One connection, `n` pipelined requests, no response.
    Pipelined,
}

const SERVER: [u8; 4] = [127, 0, 0, 1];
const PORT: u16 = 8080;
/// Keep-alive connections the `Origins` and `Routes` floods spread their exchanges over.
const KEEPALIVE: u32 = 64;

struct Pcap<W: Write> {
    w: W,
    us: u64,
    frame: Vec<u8>,
    packets: u64,
}

impl<W: Write> Pcap<W> {
    fn new(mut w: W) -> io::Result<Self> {
        let mut hdr = Vec::with_capacity(24);
        hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        hdr.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        hdr.extend_from_slice(&65_535u32.to_le_bytes());
        hdr.extend_from_slice(&1u32.to_le_bytes());
        w.write_all(&hdr)?;
        Ok(Pcap {
            w,
            us: 0,
            frame: Vec::with_capacity(2048),
            packets: 0,
        })
    }

    /// One TCP segment; `client` is the n-th client, `to_server` its direction.
    fn tcp(
        &mut self,
        client: u32,
        to_server: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        // Clients 127.128.0.0/9 by index, ports 1024..65535: a million distinct 4-tuples.
        let ip = (0x7f80_0000 | (client / 60_000)).to_be_bytes();
        let port = 1024 + (client % 60_000) as u16;
        let (sip, dip, sp, dp) = if to_server {
            (ip, SERVER, port, PORT)
        } else {
            (SERVER, ip, PORT, port)
        };
        let f = &mut self.frame;
        super::synth::tcp_frame(f, (sip, sp), (dip, dp), seq, ack, flags, payload);
        // 10 µs a packet: a million packets span 10 s, inside the idle timeout.
        self.us += 10;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((1_767_225_600 + self.us / 1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((self.us % 1_000_000) as u32).to_le_bytes());
        let len = (f.len() as u32).to_le_bytes();
        h[8..12].copy_from_slice(&len);
        h[12..16].copy_from_slice(&len);
        self.w.write_all(&h)?;
        self.w.write_all(f)?;
        self.packets += 1;
        Ok(())
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const SYN_ACK: u8 = 0x12;
const ISN_C: u32 = 1000;
const ISN_S: u32 = 5000;

/// The handshake of client `c`.
fn handshake<W: Write>(p: &mut Pcap<W>, c: u32) -> io::Result<()> {
    p.tcp(c, true, ISN_C, 0, SYN, b"")?;
    p.tcp(c, false, ISN_S, ISN_C + 1, SYN_ACK, b"")?;
    p.tcp(c, true, ISN_C + 1, ISN_S + 1, ACK, b"")
}

/// A request head of `size` bytes that never reaches its blank line.
fn unfinished_head(size: usize) -> Vec<u8> {
    let mut h = b"GET /api/items HTTP/1.1\r\nHost: api.example\r\n".to_vec();
    while h.len() < size {
        h.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    h.truncate(size.max(1));
    h
}

/// Writes `n` units of `flood` to `w`; returns the packets written.
pub fn write<W: Write>(w: W, flood: Flood, n: u64) -> io::Result<u64> {
    let mut p = Pcap::new(w)?;
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    match flood {
        Flood::Syn => {
            for c in 0..n32 {
                p.tcp(c, true, ISN_C, 0, SYN, b"")?;
            }
        }
        Flood::HalfOpen { size } => {
            let head = unfinished_head(size);
            for c in 0..n32 {
                handshake(&mut p, c)?;
                let mut seq = ISN_C + 1;
                for chunk in head.chunks(1448) {
                    p.tcp(c, true, seq, ISN_S + 1, PSH_ACK, chunk)?;
                    seq = seq.wrapping_add(chunk.len() as u32);
                }
            }
        }
        Flood::Origins | Flood::Routes => {
            let mut seq = [[ISN_C + 1, ISN_S + 1]; KEEPALIVE as usize];
            for c in 0..KEEPALIVE.min(n32) {
                handshake(&mut p, c)?;
            }
            let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
            let mut req = Vec::with_capacity(160);
            for i in 0..n32 {
                let c = i % KEEPALIVE;
                let s = &mut seq[c as usize];
                req.clear();
                let (origin, route) = if flood == Flood::Origins {
                    (i, 0)
                } else {
                    (0, i)
                };
                write!(
                    req,
                    "GET /api/r{route} HTTP/1.1\r\nHost: api.example\r\nOrigin: https://o{origin}.example\r\n\r\n"
                )?;
                p.tcp(c, true, s[0], s[1], PSH_ACK, &req)?;
                s[0] = s[0].wrapping_add(req.len() as u32);
                p.tcp(c, false, s[1], s[0], PSH_ACK, resp)?;
                s[1] = s[1].wrapping_add(resp.len() as u32);
            }
        }
        Flood::Slowloris { conns } => {
            let conns = conns.max(1);
            // Long enough never to end within the flood.
            let head =
                unfinished_head(usize::try_from(n / u64::from(conns) + 2).unwrap_or(1 << 20));
            for c in 0..conns {
                handshake(&mut p, c)?;
            }
            for i in 0..n {
                let c = (i % u64::from(conns)) as u32;
                let at = usize::try_from(i / u64::from(conns)).unwrap_or(usize::MAX);
                let Some(b) = head.get(at) else { break };
                let seq = ISN_C + 1 + at as u32;
                p.tcp(c, true, seq, ISN_S + 1, PSH_ACK, std::slice::from_ref(b))?;
            }
        }
        Flood::Pipelined => {
            handshake(&mut p, 0)?;
            let mut seq = ISN_C + 1;
            let mut req = Vec::with_capacity(160);
            for i in 0..n {
                req.clear();
                write!(
                    req,
                    "GET /api/items/{i} HTTP/1.1\r\nHost: api.example\r\nOrigin: https://app.example\r\n\r\n"
                )?;
                p.tcp(0, true, seq, ISN_S + 1, PSH_ACK, &req)?;
                seq = seq.wrapping_add(req.len() as u32);
            }
        }
    }
    p.w.flush()?;
    Ok(p.packets)
}
