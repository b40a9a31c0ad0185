//! The sans-IO core: frames in, exchanges out. Time comes only from packet timestamps, so a
//! file replays the same way every time and live capture shares the code.

use super::app::App;
use super::http::{Ctx, Side};
use super::link::{self, Frame, Segment};
use super::tcp::{Reassembler, Seg, StreamSink, TcpStats};
use super::tls::{self, keys::KeyStore};
use crate::model::{CaptureHealth, Exchange, Timestamp, TlsPeer};
use hash::{FlowHash, FlowKey};
use reorder::{Early, LateAck, MAX_EARLY, Piece, REORDER_WINDOW_NS};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
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
    /// HTTP state (partial heads, requests waiting for a response) over all connections;
    /// past it the least recently seen connections are evicted.
    pub max_http_total: usize,
    /// Longest HTTP head.
    pub max_head: usize,
    /// A connection with no packet for this long (by packet timestamps) is closed.
    pub idle_timeout_secs: u64,
    /// An NSS key log (`SSLKEYLOGFILE`) to decrypt TLS with; read at the start and followed
    /// as it grows.
    pub keylog: Option<std::path::PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_flows: 100_000,
            max_held_per_direction: 256 * 1024,
            max_held_total: 32 * 1024 * 1024,
            max_http_total: 64 * 1024 * 1024,
            max_head: 64 * 1024,
            idle_timeout_secs: 120,
            keylog: None,
        }
    }
}

struct Flow {
    id: u64,
    client: SocketAddr,
    server: SocketAddr,
    /// [client → server, server → client]
    dirs: [Reassembler; 2],
    app: App,
    last_seen: Timestamp,
    /// Server segments that acknowledge request bytes the capture has not shown yet, in
    /// capture order, waiting for those bytes (see [`REORDER_WINDOW_NS`]).
    early: VecDeque<Early>,
    early_bytes: usize,
    /// The latest client acknowledgement of response bytes the capture has not shown yet: the
    /// request went on, the acknowledgement waits (to declare those bytes lost at the end of
    /// the window).
    late_ack: Option<LateAck>,
}

/// Server names of TLS connections that could not be decrypted for want of keys, kept for the
/// warning that tells the user which key log is missing. Bounded.
#[derive(Debug, Clone, Default)]
pub struct MissingKeys {
    /// The servers, by SNI (or address) and ALPN.
    pub names: Vec<TlsPeer>,
    /// Connections whose name did not fit.
    pub other: u64,
}

const MAX_MISSING_NAMES: usize = 32;

/// Frames in, [`Exchange`]s out.
pub struct Decoder {
    input: Arc<str>,
    limits: Limits,
    /// Boxed: a bucket of the table is then a pointer, not a 400-byte slot kept free.
    flows: HashMap<FlowKey, Box<Flow>, FlowHash>,
    next_id: u64,
    out: VecDeque<Exchange>,
    health: CaptureHealth,
    tcp: TcpStats,
    not_http: u64,
    held_total: usize,
    http_total: usize,
    /// The connection of the previous segment (known to be in `flows`).
    last: Option<FlowKey>,
    now: Timestamp,
    last_sweep: Timestamp,
    keys: KeyStore,
    keylog_error: Option<String>,
    missing: MissingKeys,
    /// When connections with waiting segments must stop waiting: (due, connection, its id).
    early_due: VecDeque<(Timestamp, FlowKey, u64)>,
    /// Connections that ended with both FINs, most recent last, so that a retransmission
    /// captured after the end is not taken for a new connection picked up mid-stream.
    ended: VecDeque<(FlowKey, Timestamp)>,
    /// The replay round of the packets now coming ([`Decoder::next_round`]).
    round: u32,
}

/// How many ended connections are remembered, and for how long (capture time).
const ENDED_KEPT: usize = 128;
const ENDED_FOR_NS: i64 = 10_000_000_000;

/// Which kind of frame it was, for callers that report per-packet problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A TCP segment, decoded.
    Tcp,
    /// An IP fragment (not reassembled).
    Fragment,
    /// Not TCP (ARP, UDP...).
    NotTcp,
    /// A link type the decoder does not read.
    UnknownLink,
    /// Cut before its headers ended.
    Truncated,
    /// Headers that do not decode.
    Malformed,
}

impl Decoder {
    /// `input` names the capture in each exchange's [`crate::model::SourceRef`].
    pub fn new(input: Arc<str>, limits: Limits) -> Self {
        let (keys, keylog_error) = match &limits.keylog {
            None => (KeyStore::new(), None),
            Some(p) => match KeyStore::open(p) {
                Ok(k) => (k, None),
                Err(e) => (KeyStore::new(), Some(e.to_string())),
            },
        };
        Decoder {
            keys,
            keylog_error,
            missing: MissingKeys::default(),
            early_due: VecDeque::new(),
            ended: VecDeque::new(),
            round: 0,
            input,
            limits,
            flows: HashMap::with_hasher(FlowHash::new()),
            next_id: 1,
            out: VecDeque::new(),
            health: CaptureHealth::default(),
            tcp: TcpStats::default(),
            not_http: 0,
            held_total: 0,
            http_total: 0,
            last: None,
            now: Timestamp(i64::MIN),
            last_sweep: Timestamp(i64::MIN),
        }
    }

    /// The capture starts again (a replay's next round, shifted in time): the packets that
    /// follow belong to new connections, even on the addresses and ports of open ones. Those
    /// stay, and end as connections do (FIN, idle timeout, eviction), so a looped replay
    /// holds the steady state of continuous traffic instead of emptying at each round.
    pub fn next_round(&mut self) {
        self.round = self.round.wrapping_add(1);
    }

    /// Capture health so far.
    pub fn health(&self) -> CaptureHealth {
        let mut h = self.health;
        h.out_of_order_segments += self.tcp.out_of_order_segments;
        h.retransmitted_segments += self.tcp.retransmitted_segments;
        h.gaps += self.tcp.gaps;
        h.gap_bytes += self.tcp.gap_bytes;
        h.non_http_flows = self.not_http;
        h
    }

    /// Connections that were skipped as not HTTP (HTTP/0.9, WebSocket, other protocols).
    pub fn non_http_flows(&self) -> u64 {
        self.not_http
    }

    /// Secrets handed over in-band: the NSS key log text of a pcapng Decryption Secrets Block.
    pub fn add_secrets(&mut self, keylog: &[u8]) {
        self.keys.add_block(keylog);
    }

    /// Why the key log given in [`Limits::keylog`] could not be read, once.
    pub fn take_keylog_error(&mut self) -> Option<String> {
        self.keylog_error.take()
    }

    /// TLS connections left encrypted for want of keys, by server name.
    pub fn missing_keys(&self) -> &MissingKeys {
        &self.missing
    }

    /// The same as a list for the report: most connections first, the rest as one row.
    pub fn tls_without_keys(&self) -> Vec<TlsPeer> {
        let m = &self.missing;
        let mut v = m.names.clone();
        v.sort_by(|a, b| {
            b.connections
                .cmp(&a.connections)
                .then_with(|| a.sni.cmp(&b.sni))
        });
        if m.other > 0 {
            v.push(TlsPeer {
                sni: "(other servers)".into(),
                alpn: String::new(),
                connections: m.other,
            });
        }
        v
    }

    /// Connections open now.
    pub fn open_flows(&self) -> usize {
        self.flows.len()
    }

    /// Out-of-order bytes held now.
    pub fn held_bytes(&self) -> usize {
        self.held_total
    }

    /// Bytes of HTTP state (partial heads, waiting requests) held now.
    pub fn http_bytes(&self) -> usize {
        self.http_total
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
        self.advance(ts);
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
            Frame::Quic => {
                self.health.non_tcp_packets += 1;
                self.health.quic_packets += 1;
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
        let key = FlowKey::of(seg.src, seg.dst, self.round);
        let opening = seg.syn() && !seg.has_ack();
        if opening
            && let Some(f) = self.flows.get(&key)
            && f.client == seg.src
            && f.dirs[0].isn().is_some_and(|isn| isn != seg.seq)
        {
            // A new SYN from the client with another ISN: the 4-tuple was reused.
            self.close(key, false);
        }
        // Consecutive packets often belong to one connection: skip the second lookup then.
        let known = self.last == Some(key) || self.flows.contains_key(&key);
        if !known && !self.open(key, &seg, ts) {
            return;
        }
        self.last = Some(key);
        let (flows, mut parts) = self.split();
        let Some(flow) = flows.get_mut(&key) else {
            return;
        };
        flow.last_seen = ts;
        let p = Piece {
            d: usize::from(seg.src != flow.client),
            seq: seg.seq,
            ack: seg.has_ack().then_some(seg.ack),
            flags: seg.flags,
            payload: seg.payload,
            missing: seg.missing,
            packet: number,
            ts,
        };
        if flow.must_wait(&p) {
            if flow.waiting_since().is_none() {
                let due = Timestamp(parts.now.0.saturating_add(REORDER_WINDOW_NS));
                parts.early_due.push_back((due, key, flow.id));
            }
            flow.early_bytes += p.payload.len();
            *parts.held_total = parts.held_total.saturating_add(p.payload.len());
            flow.early.push_back(Early {
                d: p.d,
                seq: p.seq,
                ack: p.ack,
                flags: p.flags,
                payload: p.payload.into(),
                missing: p.missing,
                packet: p.packet,
                ts: p.ts,
                held_at: parts.now,
            });
            if (flow.early.len() > MAX_EARLY
                || flow.early_bytes > parts.limits.max_held_per_direction)
                && self.expire(key)
            {
                self.close(key, false);
            }
        } else if feed(key, flow, &mut parts, &p, false) {
            self.close(key, false);
        } else if flow.waiting_since().is_some() {
            // What waited may have what it waited for now.
            self.release(key);
        }
        if self.held_total > self.limits.max_held_total {
            self.relieve();
        }
        if self.http_total > self.limits.max_http_total {
            let n = self.evict();
            self.health.evictions.http_bytes += n;
        }
    }

    /// Feeds one segment to connection `key`; true when it ended the connection. A request
    /// segment's acknowledgement of response bytes not seen yet waits unless `force_ack`.
    fn feed(&mut self, key: FlowKey, p: &Piece<'_>, force_ack: bool) -> bool {
        let (flows, mut parts) = self.split();
        match flows.get_mut(&key) {
            Some(flow) => feed(key, flow, &mut parts, p, force_ack),
            None => false,
        }
    }

    /// The connection table, and the rest of the decoder beside it.
    fn split(&mut self) -> (&mut HashMap<FlowKey, Box<Flow>, FlowHash>, Parts<'_>) {
        (
            &mut self.flows,
            Parts {
                input: &self.input,
                limits: &self.limits,
                out: &mut self.out,
                health: &mut self.health,
                not_http: &mut self.not_http,
                keys: &mut self.keys,
                tcp: &mut self.tcp,
                held_total: &mut self.held_total,
                http_total: &mut self.http_total,
                early_due: &mut self.early_due,
                now: self.now,
            },
        )
    }

    /// Over the global cap on held bytes: the connections holding the most skip their holes
    /// until the total is back under half the cap (so the scan is rare).
    fn relieve(&mut self) {
        let mut holders: Vec<(usize, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| {
                let held = f.dirs[0].held_bytes() + f.dirs[1].held_bytes() + f.early_bytes;
                (held, *k)
            })
            .filter(|h| h.0 > 0)
            .collect();
        holders.sort_unstable_by_key(|h| std::cmp::Reverse(h.0));
        for (_, key) in holders {
            if self.held_total <= self.limits.max_held_total / 2 {
                break;
            }
            self.health.evictions.held_bytes += 1;
            self.skip_holes(key);
        }
    }

    fn skip_holes(&mut self, key: FlowKey) {
        if self.expire(key) {
            self.close(key, false);
            return;
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let before = flow.dirs[0].held_bytes() + flow.dirs[1].held_bytes();
        let http_before = flow.app.buffered();
        let Flow {
            id,
            client,
            server,
            dirs,
            app,
            ..
        } = &mut **flow;
        let mut cx = Ctx {
            input: &self.input,
            client: *client,
            server: *server,
            conn: *id,
            max_head: self.limits.max_head,
            out: &mut self.out,
            health: &mut self.health,
            not_http: &mut self.not_http,
            acked: None,
            scheme: "http",
        };
        for (i, dir) in dirs.iter_mut().enumerate() {
            let mut sink = Sink {
                app,
                side: side_of(i),
                cx: &mut cx,
                keys: &mut self.keys,
            };
            dir.skip_holes(&mut sink, &mut self.tcp);
        }
        let after = dirs[0].held_bytes() + dirs[1].held_bytes();
        self.held_total = self.held_total.saturating_sub(before.saturating_sub(after));
        self.http_total = self
            .http_total
            .saturating_add(app.buffered())
            .saturating_sub(http_before);
    }

    /// Lets time pass without a packet (live capture on a quiet link): idle connections close.
    pub fn advance(&mut self, now: Timestamp) {
        if now > self.now {
            self.now = now;
        }
        while let Some(&(due, key, id)) = self.early_due.front() {
            if due > self.now {
                break;
            }
            self.early_due.pop_front();
            let Some(flow) = self.flows.get(&key).filter(|f| f.id == id) else {
                continue;
            };
            match flow.waiting_since() {
                // Emptied and refilled since: wait from the new start.
                Some(at) if at.0.saturating_add(REORDER_WINDOW_NS) > self.now.0 => {
                    let due = Timestamp(at.0.saturating_add(REORDER_WINDOW_NS));
                    self.early_due.push_back((due, key, id));
                }
                Some(_) if self.expire(key) => self.close(key, false),
                _ => {}
            }
        }
        if self.now.since(self.last_sweep) > 10_000_000_000 {
            self.last_sweep = self.now;
            self.sweep_idle();
        }
    }

    /// Starts tracking a connection first seen with `seg`; false for segments that cannot open
    /// one.
    fn open(&mut self, key: FlowKey, seg: &Segment<'_>, ts: Timestamp) -> bool {
        if seg.payload.is_empty() && !seg.syn() {
            // A pure ACK, FIN or RST of a connection we do not track.
            return false;
        }
        if !seg.syn()
            && self
                .ended
                .iter()
                .any(|(k, at)| *k == key && ts.since(*at) < ENDED_FOR_NS)
        {
            self.tcp.retransmitted_segments += 1;
            return false;
        }
        if self.flows.len() >= self.limits.max_flows {
            let n = self.evict();
            self.health.evictions.flows += n;
        }
        let (client, server) = orient(seg);
        let id = self.next_id;
        self.next_id += 1;
        self.health.flows += 1;
        // A stream is read from its first byte when the handshake is seen: the client's SYN
        // (the server's SYN-ACK follows), or the SYN-ACK, whose ACK gives the client's first
        // sequence number.
        let mut dirs = [Reassembler::new(), Reassembler::new()];
        let synced = if seg.syn() && !seg.has_ack() && seg.src == client {
            true
        } else if seg.syn() && seg.has_ack() && seg.src == server {
            dirs[0].start_at(seg.ack);
            true
        } else {
            false
        };
        self.flows.insert(
            key,
            Box::new(Flow {
                id,
                client,
                server,
                dirs,
                app: App::new(synced),
                last_seen: ts,
                early: VecDeque::new(),
                early_bytes: 0,
                late_ack: None,
            }),
        );
        true
    }

    /// Closes the least recently seen eighth of the flows; returns how many.
    fn evict(&mut self) -> u64 {
        // Ties in last use broken by age, and the evicted closed in that order: not in the hash
        // map's order, which changes from run to run.
        let mut ages: Vec<(Timestamp, u64, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.last_seen, f.id, *k))
            .collect();
        let n = (ages.len() / 8).max(1).min(ages.len());
        if n == 0 {
            return 0;
        }
        ages.select_nth_unstable_by_key(n - 1, |a| (a.0, a.1));
        ages.truncate(n);
        ages.sort_unstable_by_key(|a| (a.0, a.1));
        for (_, _, k) in ages {
            self.close(k, true);
        }
        n as u64
    }

    fn sweep_idle(&mut self) {
        let limit = i64::try_from(self.limits.idle_timeout_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        let now = self.now;
        let mut idle: Vec<(u64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, f)| now.since(f.last_seen) > limit)
            .map(|(k, f)| (f.id, *k))
            .collect();
        // Oldest connection first, as at the end of input: the hash map's order (seeded per
        // process) decided which exchanges came out first, and so how they paired.
        idle.sort_unstable_by_key(|k| k.0);
        for (_, k) in idle {
            self.close(k, false);
        }
    }

    /// Ends a connection: holes are skipped, waiting requests reported without response.
    fn close(&mut self, key: FlowKey, evicted: bool) {
        // What still waits goes in first, in capture order; what it waits for will not come.
        self.expire(key);
        let Some(mut flow) = self.flows.remove(&key) else {
            return;
        };
        if self.last == Some(key) {
            self.last = None;
        }
        if flow.dirs[0].finished() && flow.dirs[1].finished() {
            if self.ended.len() >= ENDED_KEPT {
                self.ended.pop_front();
            }
            self.ended.push_back((key, self.now));
        }
        if evicted {
            self.health.flows_evicted += 1;
        }
        let held = flow.dirs[0].held_bytes() + flow.dirs[1].held_bytes();
        self.held_total = self.held_total.saturating_sub(held);
        self.http_total = self.http_total.saturating_sub(flow.app.buffered());
        let Flow {
            id,
            client,
            server,
            dirs,
            app,
            ..
        } = &mut *flow;
        let mut cx = Ctx {
            input: &self.input,
            client: *client,
            server: *server,
            conn: *id,
            max_head: self.limits.max_head,
            out: &mut self.out,
            health: &mut self.health,
            not_http: &mut self.not_http,
            acked: None,
            scheme: "http",
        };
        for (d, dir) in dirs.iter_mut().enumerate() {
            let side = if d == 0 {
                Side::Request
            } else {
                Side::Response
            };
            let mut sink = Sink {
                app,
                side,
                cx: &mut cx,
                keys: &mut self.keys,
            };
            dir.flush(&mut sink, &mut self.tcp);
        }
        if app.close(&mut cx) == Some(tls::Outcome::NoKeys)
            && let App::Tls(t) = app
        {
            // Clients send no SNI for an IP address: the server's address names it then.
            let sni = match t.tls.sni() {
                Some(n) => n.to_string(),
                None => format!("{} (no SNI)", server),
            };
            let alpn = t
                .tls
                .alpn()
                .or(t.tls.offered_h2().then_some("h2?"))
                .unwrap_or("")
                .to_string();
            let m = &mut self.missing;
            if let Some(e) = m.names.iter_mut().find(|e| e.sni == sni && e.alpn == alpn) {
                e.connections += 1;
            } else if m.names.len() < MAX_MISSING_NAMES {
                m.names.push(TlsPeer {
                    sni,
                    alpn,
                    connections: 1,
                });
            } else {
                m.other += 1;
            }
        }
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

/// What feeding a segment to one connection touches besides the connection.
struct Parts<'a> {
    input: &'a Arc<str>,
    limits: &'a Limits,
    out: &'a mut VecDeque<Exchange>,
    health: &'a mut CaptureHealth,
    not_http: &'a mut u64,
    keys: &'a mut KeyStore,
    tcp: &'a mut TcpStats,
    held_total: &'a mut usize,
    http_total: &'a mut usize,
    early_due: &'a mut VecDeque<(Timestamp, FlowKey, u64)>,
    now: Timestamp,
}

/// [`Decoder::feed`] on a connection already looked up.
fn feed(
    key: FlowKey,
    flow: &mut Flow,
    parts: &mut Parts<'_>,
    p: &Piece<'_>,
    force_ack: bool,
) -> bool {
    let d = p.d;
    let defer_ack = d == 0 && !force_ack && (!flow.early.is_empty() || flow.ahead(p));
    if defer_ack && let Some(ack) = p.ack {
        if flow.waiting_since().is_none() {
            let due = Timestamp(parts.now.0.saturating_add(REORDER_WINDOW_NS));
            parts.early_due.push_back((due, key, flow.id));
        }
        let held_at = flow.late_ack.map_or(parts.now, |l| l.held_at);
        flow.late_ack = Some(LateAck {
            seq: p.seq,
            ack,
            packet: p.packet,
            ts: p.ts,
            held_at,
        });
    }
    let Flow {
        id,
        client,
        server,
        dirs,
        app,
        ..
    } = flow;
    let mut cx = Ctx {
        input: parts.input,
        client: *client,
        server: *server,
        conn: *id,
        max_head: parts.limits.max_head,
        out: &mut *parts.out,
        health: &mut *parts.health,
        not_http: &mut *parts.not_http,
        acked: None,
        scheme: "http",
    };
    let before = dirs[0].held_bytes() + dirs[1].held_bytes();
    let http_before = app.buffered();
    // A response's acknowledgement first, so that the HTTP layer learns of a lost request
    // before it pairs the response; a request first, so that it waits in the queue before
    // a lost response's hole releases the responses after it.
    let ack = p.ack.filter(|_| !defer_ack);
    // What the sender had received of the other direction: bytes held out of order and
    // delivered late keep their own, so a response is never paired with a request its server
    // had not received when it answered.
    let seg_ack = p.ack.and_then(|a| dirs[1 - d].offset_of(a));
    if d == 1
        && let Some(a) = ack
    {
        acked(dirs, 0, a, app, &mut cx, parts.keys, parts.tcp);
    }
    let s = Seg {
        seq: p.seq,
        syn: p.flags & link::FLAG_SYN != 0,
        fin: p.flags & link::FLAG_FIN != 0,
        payload: p.payload,
        missing: p.missing,
        packet: p.packet,
        ts: p.ts,
        ack: seg_ack,
    };
    let mut sink = Sink {
        app,
        side: side_of(d),
        cx: &mut cx,
        keys: &mut *parts.keys,
    };
    dirs[d].push(
        s,
        parts.limits.max_held_per_direction,
        &mut *parts.tcp,
        &mut sink,
    );
    if d == 0
        && let Some(a) = ack
    {
        acked(dirs, 1, a, app, &mut cx, parts.keys, parts.tcp);
    }
    let after = dirs[0].held_bytes() + dirs[1].held_bytes();
    *parts.held_total = parts
        .held_total
        .saturating_add(after)
        .saturating_sub(before);
    *parts.http_total = parts
        .http_total
        .saturating_add(app.buffered())
        .saturating_sub(http_before);
    p.flags & link::FLAG_RST != 0 || (dirs[0].finished() && dirs[1].finished())
}

/// Direction `o` was acknowledged up to `ack`: what it never showed before that is lost.
fn acked(
    dirs: &mut [Reassembler; 2],
    o: usize,
    ack: u32,
    app: &mut App,
    cx: &mut Ctx<'_>,
    keys: &mut KeyStore,
    tcp: &mut TcpStats,
) {
    let mut sink = Sink {
        app,
        side: side_of(o),
        cx,
        keys,
    };
    dirs[o].acked(ack, &mut sink, tcp);
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

/// Adapts the reassembler's ordered stream to one side of the application layer.
struct Sink<'a, 'c> {
    app: &'a mut App,
    side: Side,
    cx: &'a mut Ctx<'c>,
    keys: &'a mut KeyStore,
}

impl StreamSink for Sink<'_, '_> {
    fn data(&mut self, bytes: &[u8], packet: u64, ts: Timestamp, ack: Option<u64>) {
        if self.side == Side::Response {
            self.cx.acked = ack;
        }
        self.app
            .data(self.side, bytes, packet, ts, self.cx, self.keys);
    }
    fn gap(&mut self, len: u64) {
        self.app.gap(self.side, len, self.cx);
    }
}

mod hash;
mod reorder;
#[cfg(test)]
mod tests;
