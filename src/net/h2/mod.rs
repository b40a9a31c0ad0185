//! HTTP/2 (RFC 9113) on the two streams of one connection, read passively: frames parsed
//! across any segmentation, header blocks (HEADERS + CONTINUATION, PUSH_PROMISE) decoded in
//! order with HPACK, streams turned into [`Exchange`]s with the pseudo-headers mapped
//! (`:method`, `:scheme`, `:authority`, `:path` to the request line and URL, `:status` to the
//! status). Bodies are skipped by length and never stored. An exchange is emitted when its
//! stream ends (END_STREAM from the server, RST_STREAM from either side, GOAWAY, or the end of
//! the connection), so a reset after the response head is kept as a hint.

pub mod hpack;
pub mod huffman;
#[doc(hidden)]
pub mod synth;

use super::http::Ctx;
use crate::model::{
    ClientHints, Exchange, H2Reset, Headers, Location, Request, Response, SourceRef, Timestamp,
};

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Largest header block (HEADERS plus CONTINUATIONs) kept for decoding.
const MAX_BLOCK: usize = 256 * 1024;
/// Open streams waiting for their end, per connection; past it the oldest are emitted.
const MAX_STREAMS: usize = 1024;

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const PUSH_PROMISE: u8 = 5;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Client side: this many preface bytes still to check.
    Preface(usize),
    /// Reading a 9-byte frame header into `buf`.
    Header,
    /// Reading a payload to keep (header blocks, RST_STREAM, GOAWAY) into `buf`.
    Keep {
        typ: u8,
        flags: u8,
        stream: u32,
        len: usize,
    },
    /// Skipping a payload (DATA and frames we do not read).
    Skip {
        left: usize,
        end_stream: Option<u32>,
    },
    /// Not HTTP/2 after all, or HPACK out of step: nothing more is read.
    Dead,
}

struct Dir {
    state: State,
    buf: Vec<u8>,
    hpack: hpack::Decoder,
    /// A header block waiting for CONTINUATION frames.
    block: Vec<u8>,
    block_stream: u32,
    block_end_stream: bool,
    block_push: bool,
    /// Packet and time where the frame being read started.
    packet: u64,
    ts: Timestamp,
}

impl Dir {
    fn new(client: bool) -> Self {
        Dir {
            state: if client {
                State::Preface(PREFACE.len())
            } else {
                State::Header
            },
            buf: Vec::new(),
            hpack: hpack::Decoder::new(),
            block: Vec::new(),
            block_stream: 0,
            block_end_stream: false,
            block_push: false,
            packet: 0,
            ts: Timestamp(0),
        }
    }
}

struct Stream {
    request: Request,
    req_packet: u64,
    req_ts: Timestamp,
    response: Option<(Response, u64)>,
    reset: Option<H2Reset>,
    size: usize,
}

/// The HTTP/2 state of one connection.
pub struct H2Conn {
    dirs: [Dir; 2],
    /// Open streams in the order they opened (for the cap and a stable output order). A few
    /// are open at a time: a scan from the newest beats hashing.
    streams: std::collections::VecDeque<(u32, Stream)>,
    bytes: usize,
    /// The scheme when `:scheme` is absent (http over cleartext, https over TLS).
    tls: bool,
}

/// Which stream of the connection: 0 client to server, 1 server to client.
pub type Side = usize;

impl H2Conn {
    /// `preface`: the client stream starts with the connection preface (not yet read).
    pub fn new(tls: bool, preface: bool) -> Self {
        let mut dirs = [Dir::new(true), Dir::new(false)];
        if !preface {
            dirs[0].state = State::Header;
        }
        H2Conn {
            dirs,
            streams: std::collections::VecDeque::new(),
            bytes: 0,
            tls,
        }
    }

    /// After `Upgrade: h2c` and a 101: the HTTP/1.1 request becomes stream 1, whose response
    /// comes as HTTP/2 (RFC 7540 §3.2); the client then sends the preface.
    pub fn upgraded(request: Request, packet: u64, ts: Timestamp) -> Self {
        let mut c = H2Conn::new(false, true);
        c.open(
            1,
            Stream {
                size: request.url.len() + request.headers.len() * 32 + 64,
                request,
                req_packet: packet,
                req_ts: ts,
                response: None,
                reset: None,
            },
        );
        c
    }

    /// Memory held: partial frames, header blocks, HPACK tables, open streams.
    pub fn buffered(&self) -> usize {
        self.dirs
            .iter()
            .map(|d| d.buf.capacity() + d.block.capacity() + d.hpack.bytes())
            .sum::<usize>()
            + self.bytes
    }

    fn open(&mut self, id: u32, s: Stream) {
        self.bytes += s.size;
        if let Some(i) = self.index(id) {
            let old = std::mem::replace(&mut self.streams[i].1, s);
            self.bytes = self.bytes.saturating_sub(old.size);
        } else {
            self.streams.push_back((id, s));
        }
    }

    fn index(&self, id: u32) -> Option<usize> {
        self.streams.iter().rposition(|s| s.0 == id)
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut Stream> {
        let i = self.index(id)?;
        self.streams.get_mut(i).map(|s| &mut s.1)
    }

    /// Bytes of one direction, in order; completed exchanges go to `cx`.
    pub fn data(&mut self, side: Side, mut buf: &[u8], packet: u64, ts: Timestamp, cx: &mut Ctx) {
        let d = side.min(1);
        while !buf.is_empty() {
            let dir = &mut self.dirs[d];
            match dir.state {
                State::Dead => return,
                State::Preface(left) => {
                    let at = PREFACE.len() - left;
                    let n = left.min(buf.len());
                    if buf[..n] != PREFACE[at..at + n] {
                        cx.health.h2_frame_errors += 1;
                        dir.state = State::Dead;
                        return;
                    }
                    buf = &buf[n..];
                    dir.state = if n == left {
                        State::Header
                    } else {
                        State::Preface(left - n)
                    };
                }
                State::Header => {
                    if dir.buf.is_empty() {
                        dir.packet = packet;
                        dir.ts = ts;
                    }
                    let n = (9 - dir.buf.len()).min(buf.len());
                    dir.buf.extend_from_slice(&buf[..n]);
                    buf = &buf[n..];
                    if dir.buf.len() < 9 {
                        continue;
                    }
                    let h = &dir.buf;
                    let len =
                        (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
                    let (typ, flags) = (h[3], h[4]);
                    let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
                    dir.buf.clear();
                    let keep = matches!(
                        typ,
                        HEADERS | CONTINUATION | PUSH_PROMISE | RST_STREAM | GOAWAY
                    );
                    // A header block must be followed by its CONTINUATIONs (RFC 9113 §6.10).
                    if !dir.block.is_empty() && typ != CONTINUATION {
                        cx.health.h2_frame_errors += 1;
                        dir.state = State::Dead;
                        return;
                    }
                    dir.state = if keep && dir.block.len() + len <= MAX_BLOCK {
                        State::Keep {
                            typ,
                            flags,
                            stream,
                            len,
                        }
                    } else if keep && matches!(typ, HEADERS | CONTINUATION | PUSH_PROMISE) {
                        // A block too large to keep: HPACK cannot stay in step.
                        cx.health.hpack_errors += 1;
                        dir.state = State::Dead;
                        return;
                    } else {
                        State::Skip {
                            left: len,
                            end_stream: (typ == DATA && flags & END_STREAM != 0).then_some(stream),
                        }
                    };
                    if len == 0 {
                        self.frame_done(d, cx);
                    }
                }
                State::Keep { len, .. } => {
                    let n = (len - dir.buf.len()).min(buf.len());
                    dir.buf.extend_from_slice(&buf[..n]);
                    buf = &buf[n..];
                    if dir.buf.len() == len {
                        self.frame_done(d, cx);
                    }
                }
                State::Skip { left, end_stream } => {
                    let n = left.min(buf.len());
                    buf = &buf[n..];
                    if n == left {
                        dir.state = State::Header;
                        if let Some(s) = end_stream {
                            self.end_stream(d, s, cx);
                        }
                    } else {
                        dir.state = State::Skip {
                            left: left - n,
                            end_stream,
                        };
                    }
                }
            }
        }
    }

    /// A frame's payload is complete (in `buf` for kept frames).
    fn frame_done(&mut self, d: usize, cx: &mut Ctx) {
        let dir = &mut self.dirs[d];
        let state = std::mem::replace(&mut dir.state, State::Header);
        let payload = std::mem::take(&mut dir.buf);
        match state {
            State::Keep {
                typ, flags, stream, ..
            } => self.frame(d, typ, flags, stream, &payload, cx),
            State::Skip {
                end_stream: Some(s),
                ..
            } => self.end_stream(d, s, cx),
            _ => {}
        }
        let dir = &mut self.dirs[d];
        dir.buf = payload;
        dir.buf.clear();
        if dir.buf.capacity() > 64 * 1024 {
            dir.buf = Vec::new();
        }
    }

    fn frame(&mut self, d: usize, typ: u8, flags: u8, stream: u32, p: &[u8], cx: &mut Ctx) {
        match typ {
            HEADERS | PUSH_PROMISE => {
                let mut at = 0;
                let mut end = p.len();
                if flags & PADDED != 0 {
                    let pad = usize::from(p.first().copied().unwrap_or(0));
                    at = 1;
                    end = end.saturating_sub(pad);
                }
                if typ == HEADERS && flags & PRIORITY != 0 {
                    at += 5;
                }
                if typ == PUSH_PROMISE {
                    at += 4;
                }
                let Some(frag) = p.get(at..end.max(at)).filter(|_| at <= end) else {
                    cx.health.h2_frame_errors += 1;
                    self.dirs[d].state = State::Dead;
                    return;
                };
                let dir = &mut self.dirs[d];
                dir.block_stream = stream;
                dir.block_end_stream = typ == HEADERS && flags & END_STREAM != 0;
                dir.block_push = typ == PUSH_PROMISE;
                if flags & END_HEADERS != 0 {
                    // The whole block in this frame: decoded where it is.
                    self.block_done(d, frag, cx);
                } else {
                    dir.block.clear();
                    dir.block.extend_from_slice(frag);
                }
            }
            CONTINUATION => {
                let dir = &mut self.dirs[d];
                if dir.block_stream != stream {
                    cx.health.h2_frame_errors += 1;
                    dir.state = State::Dead;
                    return;
                }
                dir.block.extend_from_slice(p);
                if flags & END_HEADERS != 0 {
                    let mut block = std::mem::take(&mut dir.block);
                    self.block_done(d, &block, cx);
                    block.clear();
                    if block.capacity() <= 64 * 1024 {
                        self.dirs[d].block = block;
                    }
                }
            }
            RST_STREAM => {
                let code = p
                    .get(..4)
                    .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                if let Some(s) = self.get_mut(stream) {
                    s.reset = Some(H2Reset {
                        by_client: d == 0,
                        code,
                        after_response: s.response.is_some(),
                    });
                    cx.health.h2_streams_reset += 1;
                    self.finish(stream, cx);
                }
            }
            GOAWAY => {
                let last = p.get(..4).map_or(u32::MAX, |b| {
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff
                });
                // Streams the sender never processed end without a response.
                let gone: Vec<u32> = self
                    .streams
                    .iter()
                    .map(|s| s.0)
                    .filter(|&id| id > last && (id % 2 == 1) == (d == 1))
                    .collect();
                for id in gone {
                    self.finish(id, cx);
                }
            }
            _ => {}
        }
    }

    /// A complete header block of side `d` (every block is decoded, to keep HPACK in step).
    fn block_done(&mut self, d: usize, block: &[u8], cx: &mut Ctx) {
        let dir = &mut self.dirs[d];
        let (stream, end_stream, push) = (dir.block_stream, dir.block_end_stream, dir.block_push);
        let (packet, ts) = (dir.packet, dir.ts);
        // Pseudo-header values in one buffer: (start, end) by :method, :scheme, :authority,
        // :path, :status.
        let mut pbuf: Vec<u8> = Vec::with_capacity(256);
        let mut pseudo: [Option<(usize, usize)>; 5] = [None; 5];
        // Indexed fields decode to far more than their one byte.
        let mut headers = Headers::with_capacity(24, block.len() * 4 + 256);
        let r = dir.hpack.decode(block, &mut |n, v| {
            if let Some(p) = n.strip_prefix(b":") {
                let i = match p {
                    b"method" => 0,
                    b"scheme" => 1,
                    b"authority" => 2,
                    b"path" => 3,
                    b"status" => 4,
                    _ => return,
                };
                pseudo[i] = Some((pbuf.len(), pbuf.len() + v.len()));
                pbuf.extend_from_slice(v);
            } else {
                headers.push(n, v);
            }
        });
        let value = |i: usize| pseudo[i].and_then(|(a, b)| pbuf.get(a..b));
        if r.is_err() {
            cx.health.hpack_errors += 1;
            self.dirs[0].state = State::Dead;
            self.dirs[1].state = State::Dead;
            return;
        }
        if push {
            // Server push: not a request the page made.
            return;
        }
        if d == 0 {
            if self.index(stream).is_some() {
                // Trailers.
                if end_stream {
                    self.end_stream(0, stream, cx);
                }
                return;
            }
            let text = |i: usize| value(i).map(|v| String::from_utf8_lossy(v).into_owned());
            let method = text(0).unwrap_or_default();
            let scheme = text(1).unwrap_or_else(|| if self.tls { "https" } else { "http" }.into());
            let authority = text(2)
                .or_else(|| headers.get_str("host").map(|h| h.into_owned()))
                .unwrap_or_else(|| cx.server.to_string());
            let path = text(3).unwrap_or_default();
            let url = if method.eq_ignore_ascii_case("CONNECT") {
                format!("{scheme}://{authority}")
            } else {
                format!("{scheme}://{authority}{path}")
            };
            let size = url.len() + headers.len() * 48 + 128;
            let request = Request {
                method,
                url,
                http_version: "HTTP/2".to_string(),
                headers,
            };
            self.open(
                stream,
                Stream {
                    request,
                    req_packet: packet,
                    req_ts: ts,
                    response: None,
                    reset: None,
                    size,
                },
            );
            while self.streams.len() > MAX_STREAMS
                && let Some(old) = self.streams.front().map(|s| s.0)
            {
                self.finish(old, cx);
            }
        } else {
            let status = value(4)
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.parse::<u16>().ok());
            let Some(s) = self.get_mut(stream) else {
                // Even streams are server pushes, whose promised requests are not kept.
                let final_status = status.is_some_and(|s| s >= 200);
                cx.health.orphan_responses += u64::from(final_status && stream % 2 == 1);
                return;
            };
            match status {
                // Interim (100, 103): the final response follows.
                Some(st) if (100..200).contains(&st) => {}
                Some(st) if s.response.is_none() => {
                    s.response = Some((
                        Response {
                            status: st,
                            headers,
                        },
                        packet,
                    ));
                }
                // Trailers, or a block without :status.
                _ => {}
            }
            if end_stream {
                self.end_stream(1, stream, cx);
            }
        }
    }

    fn end_stream(&mut self, d: usize, stream: u32, cx: &mut Ctx) {
        // The exchange is complete when the server ends its side.
        if d == 1 {
            self.finish(stream, cx);
        }
    }

    fn finish(&mut self, id: u32, cx: &mut Ctx) {
        let Some((_, s)) = self.index(id).and_then(|i| self.streams.remove(i)) else {
            return;
        };
        self.bytes = self.bytes.saturating_sub(s.size);
        emit(cx, s);
    }

    /// End of the connection: open streams are emitted as they are, in the order they opened.
    pub fn close(&mut self, cx: &mut Ctx) {
        while let Some(id) = self.streams.front().map(|s| s.0) {
            self.finish(id, cx);
        }
        for d in &mut self.dirs {
            d.state = State::Dead;
            d.buf = Vec::new();
            d.block = Vec::new();
        }
    }

    /// A gap on `side`: frame boundaries and HPACK state are lost, so the connection stops.
    pub fn gap(&mut self, _side: Side) {
        self.dirs[0].state = State::Dead;
        self.dirs[1].state = State::Dead;
    }
}

fn emit(cx: &mut Ctx, s: Stream) {
    let (response, resp_packet) = match s.response {
        Some((r, p)) => (Some(r), Some(p)),
        None => {
            cx.health.unanswered_requests += 1;
            (None, None)
        }
    };
    cx.out.push_back(Exchange {
        source: SourceRef {
            input: cx.input.clone(),
            location: Location::Packets {
                request: s.req_packet,
                response: resp_packet,
            },
        },
        time: s.req_ts,
        client: Some(cx.client),
        server: Some(cx.server),
        connection: Some(cx.conn),
        request: s.request,
        response,
        failure: None,
        hints: ClientHints {
            server_ip: Some(cx.server.ip()),
            h2_reset: s.reset,
            ..ClientHints::default()
        },
    });
}

#[cfg(test)]
mod tests;
