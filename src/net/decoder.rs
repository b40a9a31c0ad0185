//! The sans-IO core: frames in, exchanges out. Time comes only from packet timestamps, so a
//! file replays the same way every time and live capture shares the code.

use super::http::{Ctx, HttpConn, Side};
use super::link::{self, Frame, Segment};
use super::tcp::{Reassembler, Seg, StreamSink, TcpStats};
use crate::model::{CaptureHealth, Exchange, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Bounds on what the decoder keeps.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections; past it the least recently seen are evicted.
    pub max_flows: usize,
    /// Out-of-order bytes held per direction before the first hole is declared lost.
    pub max_held_per_direction: usize,
    /// Out-of-order bytes held over all connections.
    pub max_held_total: usize,
    /// Longest HTTP head.
    pub max_head: usize,
    /// A connection with no packet for this long (by packet timestamps) is closed.
    pub idle_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_flows: 100_000,
            max_held_per_direction: 256 * 1024,
            max_held_total: 32 * 1024 * 1024,
            max_head: 64 * 1024,
            idle_timeout_secs: 120,
        }
    }
}

/// Normalised 4-tuple: both directions of a connection share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowKey(SocketAddr, SocketAddr);

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for a in [self.0, self.1] {
            let port = u64::from(a.port());
            match a.ip() {
                IpAddr::V4(ip) => h.write_u64((u64::from(u32::from(ip)) << 16) | port),
                IpAddr::V6(ip) => {
                    let v = u128::from(ip);
                    h.write_u64(v as u64);
                    h.write_u64(((v >> 64) as u64).rotate_left(16) ^ port);
                }
            }
        }
    }
}

/// A multiply-rotate hash with a per-process random seed: SipHash cost a sixth of the time per
/// packet, and the seed keeps collisions hard to aim at from the wire.
#[derive(Clone)]
struct FlowHash(u64);

impl FlowHash {
    fn new() -> Self {
        FlowHash(std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

impl BuildHasher for FlowHash {
    type Hasher = FlowHasher;
    fn build_hasher(&self) -> FlowHasher {
        FlowHasher(self.0)
    }
}

struct FlowHasher(u64);

impl Hasher for FlowHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, w: u64) {
        self.0 = (self.0 ^ w)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 32)
    }
}

impl FlowKey {
    fn of(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b { FlowKey(a, b) } else { FlowKey(b, a) }
    }
}

struct Flow {
    id: u64,
    client: SocketAddr,
    server: SocketAddr,
    /// [client → server, server → client]
    dirs: [Reassembler; 2],
    http: HttpConn,
    last_seen: Timestamp,
}

/// Frames in, [`Exchange`]s out.
pub struct Decoder {
    input: Arc<str>,
    limits: Limits,
    flows: HashMap<FlowKey, Flow, FlowHash>,
    next_id: u64,
    out: VecDeque<Exchange>,
    health: CaptureHealth,
    tcp: TcpStats,
    not_http: u64,
    held_total: usize,
    now: Timestamp,
    last_sweep: Timestamp,
}

/// Which kind of frame it was, for callers that report per-packet problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Tcp,
    Fragment,
    NotTcp,
    UnknownLink,
    Truncated,
    Malformed,
}

impl Decoder {
    /// `input` names the capture in each exchange's [`crate::model::SourceRef`].
    pub fn new(input: Arc<str>, limits: Limits) -> Self {
        Decoder {
            input,
            limits,
            flows: HashMap::with_hasher(FlowHash::new()),
            next_id: 1,
            out: VecDeque::new(),
            health: CaptureHealth::default(),
            tcp: TcpStats::default(),
            not_http: 0,
            held_total: 0,
            now: Timestamp(i64::MIN),
            last_sweep: Timestamp(i64::MIN),
        }
    }

    pub fn health(&self) -> CaptureHealth {
        let mut h = self.health;
        h.out_of_order_segments += self.tcp.out_of_order_segments;
        h.retransmitted_segments += self.tcp.retransmitted_segments;
        h.gaps += self.tcp.gaps;
        h.gap_bytes += self.tcp.gap_bytes;
        h
    }

    /// Connections that were skipped as not HTTP/1.x (TLS, HTTP/2, HTTP/0.9).
    pub fn non_http_flows(&self) -> u64 {
        self.not_http
    }

    /// Connections open now.
    pub fn open_flows(&self) -> usize {
        self.flows.len()
    }

    /// Out-of-order bytes held now.
    pub fn held_bytes(&self) -> usize {
        self.held_total
    }

    /// The next completed exchange.
    pub fn pop(&mut self) -> Option<Exchange> {
        self.out.pop_front()
    }

    /// Completed exchanges waiting to be taken.
    pub fn ready(&self) -> usize {
        self.out.len()
    }

    /// Feeds one frame of link type `link`, numbered `number` (1-based) in its input.
    pub fn packet(&mut self, ts: Timestamp, link: u32, data: &[u8], number: u64) -> Outcome {
        self.health.packets += 1;
        self.health.bytes += data.len() as u64;
        if ts > self.now {
            self.now = ts;
        }
        if self.now.since(self.last_sweep) > 10_000_000_000 {
            self.last_sweep = self.now;
            self.sweep_idle();
        }
        match link::decode(link, data) {
            Frame::Tcp(seg) => {
                if seg.missing > 0 {
                    self.health.truncated_packets += 1;
                }
                self.segment(seg, ts, number);
                Outcome::Tcp
            }
            Frame::Fragment => {
                self.health.ip_fragments_skipped += 1;
                Outcome::Fragment
            }
            Frame::NotTcp => {
                self.health.non_tcp_packets += 1;
                Outcome::NotTcp
            }
            Frame::UnknownLink => {
                self.health.non_tcp_packets += 1;
                Outcome::UnknownLink
            }
            Frame::Truncated => {
                self.health.truncated_packets += 1;
                self.health.decode_errors += 1;
                Outcome::Truncated
            }
            Frame::Malformed => {
                self.health.decode_errors += 1;
                Outcome::Malformed
            }
        }
    }

    fn segment(&mut self, seg: Segment<'_>, ts: Timestamp, number: u64) {
        let key = FlowKey::of(seg.src, seg.dst);
        let opening = seg.syn() && !seg.has_ack();
        if opening
            && let Some(f) = self.flows.get(&key)
            && f.client == seg.src
            && f.dirs[0].isn().is_some_and(|isn| isn != seg.seq)
        {
            // A new SYN from the client with another ISN: the 4-tuple was reused.
            self.close(key, false);
        }
        let known = self.flows.contains_key(&key);
        if !known && !self.open(key, &seg, ts) {
            return;
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        flow.last_seen = ts;
        let d = usize::from(seg.src != flow.client);
        let Flow {
            id,
            client,
            server,
            dirs,
            http,
            ..
        } = flow;
        let mut cx = Ctx {
            input: &self.input,
            client: *client,
            server: *server,
            conn: *id,
            max_head: self.limits.max_head,
            out: &mut self.out,
            health: &mut self.health,
            not_http: &mut self.not_http,
        };
        let before = dirs[0].held_bytes() + dirs[1].held_bytes();
        if seg.has_ack() {
            let other = 1 - d;
            let mut sink = Sink {
                http,
                side: side_of(other),
                cx: &mut cx,
            };
            dirs[other].acked(seg.ack, &mut sink, &mut self.tcp);
        }
        let dir = &mut dirs[d];
        let mut sink = Sink {
            http,
            side: side_of(d),
            cx: &mut cx,
        };
        let s = Seg {
            seq: seg.seq,
            syn: seg.syn(),
            fin: seg.fin(),
            payload: seg.payload,
            missing: seg.missing,
            packet: number,
            ts,
        };
        dir.push(
            s,
            self.limits.max_held_per_direction,
            &mut self.tcp,
            &mut sink,
        );
        let after = dirs[0].held_bytes() + dirs[1].held_bytes();
        self.held_total = self.held_total.saturating_add(after).saturating_sub(before);
        let over = self.held_total > self.limits.max_held_total;
        let done = seg.rst() || (dirs[0].finished() && dirs[1].finished());
        if done || over {
            self.close(key, false);
        }
    }

    /// Starts tracking a connection first seen with `seg`; false for segments that cannot open
    /// one.
    fn open(&mut self, key: FlowKey, seg: &Segment<'_>, ts: Timestamp) -> bool {
        if seg.payload.is_empty() && !seg.syn() {
            // A pure ACK, FIN or RST of a connection we do not track.
            return false;
        }
        if self.flows.len() >= self.limits.max_flows {
            self.evict();
        }
        let (client, server) = orient(seg);
        let id = self.next_id;
        self.next_id += 1;
        self.health.flows += 1;
        // A direction is read from its first byte only if its SYN is the first segment.
        let opening = seg.syn() && !seg.has_ack();
        let client_synced = opening && seg.src == client;
        let server_synced = seg.syn() && seg.has_ack() && seg.src == server;
        self.flows.insert(
            key,
            Flow {
                id,
                client,
                server,
                dirs: [Reassembler::new(), Reassembler::new()],
                http: HttpConn::new(client_synced, server_synced || client_synced),
                last_seen: ts,
            },
        );
        true
    }

    /// Closes the least recently seen eighth of the flows.
    fn evict(&mut self) {
        let mut ages: Vec<(Timestamp, FlowKey)> =
            self.flows.iter().map(|(k, f)| (f.last_seen, *k)).collect();
        let n = (ages.len() / 8).max(1).min(ages.len());
        if n == 0 {
            return;
        }
        ages.select_nth_unstable_by_key(n - 1, |a| a.0);
        for (_, k) in ages.into_iter().take(n) {
            self.close(k, true);
        }
    }

    fn sweep_idle(&mut self) {
        let limit = i64::try_from(self.limits.idle_timeout_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        let now = self.now;
        let idle: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, f)| now.since(f.last_seen) > limit)
            .map(|(k, _)| *k)
            .collect();
        for k in idle {
            self.close(k, false);
        }
    }

    /// Ends a connection: holes are skipped, waiting requests reported without response.
    fn close(&mut self, key: FlowKey, evicted: bool) {
        let Some(mut flow) = self.flows.remove(&key) else {
            return;
        };
        if evicted {
            self.health.flows_evicted += 1;
        }
        let held = flow.dirs[0].held_bytes() + flow.dirs[1].held_bytes();
        self.held_total = self.held_total.saturating_sub(held);
        let Flow {
            id,
            client,
            server,
            dirs,
            http,
            ..
        } = &mut flow;
        let mut cx = Ctx {
            input: &self.input,
            client: *client,
            server: *server,
            conn: *id,
            max_head: self.limits.max_head,
            out: &mut self.out,
            health: &mut self.health,
            not_http: &mut self.not_http,
        };
        for (d, dir) in dirs.iter_mut().enumerate() {
            let side = if d == 0 {
                Side::Request
            } else {
                Side::Response
            };
            let mut sink = Sink {
                http,
                side,
                cx: &mut cx,
            };
            dir.flush(&mut sink, &mut self.tcp);
        }
        http.close(&mut cx);
    }

    /// End of input: every open connection is closed.
    pub fn finish(&mut self) {
        let mut keys: Vec<(u64, FlowKey)> = self.flows.iter().map(|(k, f)| (f.id, *k)).collect();
        // Oldest connection first, so the output order does not depend on the hash map.
        keys.sort_unstable_by_key(|k| k.0);
        for (_, k) in keys {
            self.close(k, false);
        }
    }
}

fn side_of(dir: usize) -> Side {
    if dir == 0 {
        Side::Request
    } else {
        Side::Response
    }
}

/// Client and server of a connection first seen with `seg`.
fn orient(seg: &Segment<'_>) -> (SocketAddr, SocketAddr) {
    let (s, d) = (seg.src, seg.dst);
    if seg.syn() {
        return if seg.has_ack() { (d, s) } else { (s, d) };
    }
    let p = seg.payload;
    if p.starts_with(b"HTTP/1.") {
        return (d, s);
    }
    if looks_like_request(p) {
        return (s, d);
    }
    // Fall back on ports: the well-known or lower one is the server.
    let well_known = |port: u16| {
        port < 1024
            || matches!(
                port,
                3000 | 5000 | 8000 | 8008 | 8080 | 8081 | 8443 | 8888 | 9000
            )
    };
    match (well_known(s.port()), well_known(d.port())) {
        (true, false) => (d, s),
        (false, true) => (s, d),
        _ if s.port() < d.port() => (d, s),
        _ => (s, d),
    }
}

fn looks_like_request(p: &[u8]) -> bool {
    let Some(sp) = p.iter().take(16).position(|&b| b == b' ') else {
        return false;
    };
    sp > 0 && p[..sp].iter().all(|b| b.is_ascii_alphabetic())
}

/// Adapts the reassembler's ordered stream to one side of the HTTP parser.
struct Sink<'a, 'c> {
    http: &'a mut HttpConn,
    side: Side,
    cx: &'a mut Ctx<'c>,
}

impl StreamSink for Sink<'_, '_> {
    fn data(&mut self, bytes: &[u8], packet: u64, ts: Timestamp) {
        self.http.data(self.side, bytes, packet, ts, self.cx);
    }
    fn gap(&mut self, len: u64) {
        self.http.gap(self.side, len, self.cx);
    }
}
