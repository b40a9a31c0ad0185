//! HTTP/1.x on the two reassembled streams of one connection: request and response heads
//! through httparse, bodies framed and skipped without being stored, requests paired with
//! responses in order, and resynchronisation on the next start line after a gap.

use crate::model::{
    CaptureHealth, ClientHints, Exchange, Headers, Location, Request, Response, SourceRef,
    Timestamp,
};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::sync::Arc;

mod framing;

use framing::*;

const MAX_HEADERS: usize = 128;
/// Longest partial line kept while looking for a start line after a gap.
const MAX_RESYNC_LINE: usize = 8 * 1024;
/// Requests waiting for their response on one connection (pipelining depth).
const MAX_PENDING: usize = 1024;
const MAX_PENDING_BYTES: usize = 1 << 20;
/// A head buffer grown past this by one large head is released rather than kept.
const KEEP_HEAD_CAPACITY: usize = 16 * 1024;

/// Which stream of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Client to server: requests.
    Request,
    /// Server to client: responses.
    Response,
}

/// Where exchanges go and what they are told about their connection.
pub struct Ctx<'a> {
    /// The input, named in each exchange.
    pub input: &'a Arc<str>,
    /// The client's address.
    pub client: SocketAddr,
    /// The server's address.
    pub server: SocketAddr,
    /// The connection id.
    pub conn: u64,
    /// Longest head read.
    pub max_head: usize,
    /// Where completed exchanges go.
    pub out: &'a mut VecDeque<Exchange>,
    /// Where parse errors and unanswered requests are counted.
    pub health: &'a mut CaptureHealth,
    /// Connections that turned out not to be HTTP/1.x (TLS, HTTP/2, HTTP/0.9).
    pub not_http: &'a mut u64,
    /// For response bytes: the client-stream offset the carrying segment acknowledged.
    pub acked: Option<u64>,
    /// `https` inside TLS, else `http`: the scheme of URLs built from `Host`.
    pub scheme: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size (and ignoring extensions) up to LF.
    Size {
        value: u64,
        digits: u32,
        ext: bool,
    },
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    /// Trailer lines after the last chunk; `len` is the length of the current line.
    Trailer {
        len: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between messages (or accumulating a head in `head`).
    Head,
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    /// Looking for the next start line after a gap or a parse error, or at a mid-stream pickup.
    Resync,
    /// Not parsed any more (TLS, HTTP/2, after an upgrade or CONNECT).
    Opaque,
}

struct Half {
    state: State,
    /// A partial head (state Head) or a partial line (state Resync).
    head: Vec<u8>,
    head_packet: u64,
    head_ts: Timestamp,
    /// Where the search for the end of the head resumes.
    scan: usize,
    /// No message seen yet on a stream that started with its SYN.
    first: bool,
    /// Stream offset after the bytes received so far (gaps included), as the reassembler
    /// counts it.
    pos: u64,
    /// Stream offset where the head in `head` starts.
    head_pos: u64,
}

impl Half {
    fn new(synced: bool) -> Self {
        Half {
            state: if synced { State::Head } else { State::Resync },
            head: Vec::new(),
            head_packet: 0,
            head_ts: Timestamp(0),
            scan: 0,
            first: synced,
            pos: 0,
            head_pos: 0,
        }
    }

    fn resync(&mut self) {
        self.state = State::Resync;
        self.head.clear();
        self.scan = 0;
        self.first = false;
    }
}

struct Pending {
    /// `None`: a request was lost in a gap; its response is dropped.
    request: Option<Request>,
    head: bool,
    connect: bool,
    packet: u64,
    ts: Timestamp,
    /// Offset of the request in the client's stream.
    start: u64,
    /// Approximate memory held, for the caps.
    size: usize,
}

/// An HTTP/1.1 request answered with 101 to `Upgrade: h2c`: the connection goes on in HTTP/2,
/// where the response to this request comes on stream 1.
pub struct Upgrade {
    /// The request that asked for the upgrade.
    pub request: Request,
    /// The request's first packet.
    pub packet: u64,
    /// When the request started.
    pub ts: Timestamp,
    /// Server bytes after the 101 head (the first HTTP/2 frames).
    pub rest: Vec<u8>,
}

/// HTTP state of one connection.
pub struct HttpConn {
    req: Half,
    resp: Half,
    /// Boxed so that an idle keep-alive connection keeps a few pointers, not a few requests'
    /// worth of slots.
    pending: VecDeque<Box<Pending>>,
    pending_bytes: usize,
    upgrade: Option<Box<Upgrade>>,
}

impl HttpConn {
    /// `synced_*`: whether that stream is read from its first byte (its SYN was seen).
    pub fn new(synced_req: bool, synced_resp: bool) -> Self {
        HttpConn {
            req: Half::new(synced_req),
            resp: Half::new(synced_resp),
            pending: VecDeque::new(),
            pending_bytes: 0,
            upgrade: None,
        }
    }

    /// The h2c upgrade that just happened, once.
    pub fn take_upgrade(&mut self) -> Option<Upgrade> {
        self.upgrade.take().map(|u| *u)
    }

    /// Bytes held for this connection: partial heads and requests waiting for a response.
    pub fn buffered(&self) -> usize {
        self.req.head.capacity() + self.resp.head.capacity() + self.pending_bytes
    }

    fn pop_pending(&mut self) -> Option<Pending> {
        let p = self.pending.pop_front()?;
        self.pending_bytes = self.pending_bytes.saturating_sub(p.size);
        Some(*p)
    }

    /// Bytes of one direction, in order; completed exchanges go to `cx`.
    pub fn data(&mut self, side: Side, mut buf: &[u8], packet: u64, ts: Timestamp, cx: &mut Ctx) {
        let half = self.half(side);
        half.pos = half.pos.saturating_add(buf.len() as u64);
        while !buf.is_empty() {
            let half = match side {
                Side::Request => &mut self.req,
                Side::Response => &mut self.resp,
            };
            match half.state {
                State::Opaque if side == Side::Response && self.upgrade.is_some() => {
                    if let Some(u) = &mut self.upgrade
                        && u.rest.len() + buf.len() <= 1 << 20
                    {
                        u.rest.extend_from_slice(buf);
                    }
                    return;
                }
                State::Opaque | State::UntilClose => return,
                State::Length(n) => {
                    let k = n.min(buf.len() as u64);
                    buf = buf.get(k as usize..).unwrap_or(&[]);
                    half.state = if n == k {
                        State::Head
                    } else {
                        State::Length(n - k)
                    };
                }
                State::Chunked(c) => match chunked(c, buf) {
                    Ok((used, next)) => {
                        buf = buf.get(used..).unwrap_or(&[]);
                        half.state = next.map_or(State::Head, State::Chunked);
                    }
                    Err(used) => {
                        cx.health.http_parse_errors += 1;
                        half.resync();
                        buf = buf.get(used..).unwrap_or(&[]);
                    }
                },
                State::Resync => buf = self.resync(side, buf, packet, ts),
                State::Head => buf = self.head(side, buf, packet, ts, cx),
            }
        }
    }

    /// Scans for a start line; returns the bytes that follow it (or nothing).
    fn resync<'b>(
        &mut self,
        side: Side,
        mut buf: &'b [u8],
        packet: u64,
        ts: Timestamp,
    ) -> &'b [u8] {
        let half = match side {
            Side::Request => &mut self.req,
            Side::Response => &mut self.resp,
        };
        loop {
            let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
                if half.head.is_empty() {
                    half.head_packet = packet;
                    half.head_ts = ts;
                    half.head_pos = half.pos.saturating_sub(buf.len() as u64);
                }
                if half.head.len().saturating_add(buf.len()) <= MAX_RESYNC_LINE {
                    half.head.extend_from_slice(buf);
                } else {
                    half.head.clear();
                }
                return &[];
            };
            let (line, rest) = buf.split_at(nl + 1);
            let partial = half.head.len();
            if partial == 0 {
                half.head_pos = half.pos.saturating_sub(buf.len() as u64);
                half.head_packet = packet;
                half.head_ts = ts;
            }
            half.head.extend_from_slice(line);
            // The line may hold the tail of a body before the start line (a body without a
            // final newline, or the rest of a message damaged by a gap).
            if let Some(p) = find_start(side, &half.head) {
                if p >= partial {
                    half.head_packet = packet;
                    half.head_ts = ts;
                }
                half.head.drain(..p);
                half.head_pos = half.head_pos.saturating_add(p as u64);
                half.state = State::Head;
                half.scan = 0;
                return rest;
            }
            half.head.clear();
            buf = rest;
        }
    }

    /// Parses a head (from `buf` directly when it holds a whole one); returns what follows.
    fn head<'b>(
        &mut self,
        side: Side,
        buf: &'b [u8],
        packet: u64,
        ts: Timestamp,
        cx: &mut Ctx,
    ) -> &'b [u8] {
        let half = match side {
            Side::Request => &mut self.req,
            Side::Response => &mut self.resp,
        };
        if half.head.is_empty() {
            if half.first {
                half.first = false;
                if not_http1(side, buf) {
                    *cx.not_http += 1;
                    self.req.state = State::Opaque;
                    self.resp.state = State::Opaque;
                    return &[];
                }
            }
            // Blank lines between messages are tolerated (RFC 9112 §2.2).
            let skip = buf
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .unwrap_or(buf.len());
            let buf = buf.get(skip..).unwrap_or(&[]);
            if buf.is_empty() {
                return buf;
            }
            let at = half.pos.saturating_sub(buf.len() as u64);
            return match self.parse(side, buf, packet, ts, at, cx) {
                Parsed::Done(n) => buf.get(n..).unwrap_or(&[]),
                Parsed::Partial => {
                    let half = self.half(side);
                    if buf.len() > cx.max_head {
                        cx.health.http_parse_errors += 1;
                        self.damaged(side, cx);
                        return &[];
                    }
                    half.head.extend_from_slice(buf);
                    half.head_packet = packet;
                    half.head_ts = ts;
                    half.head_pos = at;
                    half.scan = 0;
                    &[]
                }
                Parsed::Error => {
                    cx.health.http_parse_errors += 1;
                    self.damaged(side, cx);
                    // Look for the next start line after the one that failed.
                    buf.get(1..).unwrap_or(&[])
                }
            };
        }
        // Accumulate until the blank line that ends the head, then parse once.
        let old = half.head.len();
        if old.saturating_add(buf.len()) > cx.max_head {
            let room = cx.max_head.saturating_sub(old);
            half.head.extend_from_slice(buf.get(..room).unwrap_or(buf));
        } else {
            half.head.extend_from_slice(buf);
        }
        let Some(end) = head_end(&half.head, half.scan) else {
            if half.head.len() >= cx.max_head {
                cx.health.http_parse_errors += 1;
                self.damaged(side, cx);
                return &[];
            }
            half.scan = half.head.len();
            return &[];
        };
        let mut head = std::mem::take(&mut half.head);
        let (hp, hts, hpos) = (half.head_packet, half.head_ts, half.head_pos);
        let result = self.parse(side, head.get(..end).unwrap_or(&[]), hp, hts, hpos, cx);
        head.clear();
        if head.capacity() > KEEP_HEAD_CAPACITY {
            head = Vec::new();
        }
        let half = self.half(side);
        half.head = head;
        half.scan = 0;
        // The bytes after the head in the buffer came from `buf`.
        let used_from_buf = end.saturating_sub(old);
        match result {
            Parsed::Done(_) => buf.get(used_from_buf..).unwrap_or(&[]),
            Parsed::Partial | Parsed::Error => {
                cx.health.http_parse_errors += 1;
                self.damaged(side, cx);
                buf.get(used_from_buf..).unwrap_or(&[])
            }
        }
    }

    fn half(&mut self, side: Side) -> &mut Half {
        match side {
            Side::Request => &mut self.req,
            Side::Response => &mut self.resp,
        }
    }

    /// Parses one head that starts at stream offset `start`.
    fn parse(
        &mut self,
        side: Side,
        buf: &[u8],
        packet: u64,
        ts: Timestamp,
        start: u64,
        cx: &mut Ctx,
    ) -> Parsed {
        // Left uninitialised: httparse writes the lines it returns, and filling 128 empty
        // headers cost more than parsing a head's dozen lines.
        let mut hdrs = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        match side {
            Side::Request => {
                let mut r = httparse::Request::new(&mut []);
                let n = match httparse::ParserConfig::default()
                    .allow_multiple_spaces_in_request_line_delimiters(true)
                    .parse_request_with_uninit_headers(&mut r, buf, &mut hdrs)
                {
                    Ok(httparse::Status::Complete(n)) => n,
                    Ok(httparse::Status::Partial) => return Parsed::Partial,
                    Err(_) => return Parsed::Error,
                };
                let (Some(method), Some(target), Some(version)) = (r.method, r.path, r.version)
                else {
                    return Parsed::Error;
                };
                let framing = body_framing(r.headers);
                let headers = to_headers(buf, r.headers);
                let url = make_url(method, target, &headers, cx.server, cx.scheme);
                let head = method.eq_ignore_ascii_case("HEAD");
                let size = n + url.len() + 16 * r.headers.len() + std::mem::size_of::<Pending>();
                let connect = method.eq_ignore_ascii_case("CONNECT");
                let request = Request {
                    method: method.to_string(),
                    url,
                    http_version: if version == 0 { "HTTP/1.0" } else { "HTTP/1.1" }.to_string(),
                    headers,
                };
                self.req.state = match framing {
                    Framing::Chunked => State::Chunked(Chunk::Size {
                        value: 0,
                        digits: 0,
                        ext: false,
                    }),
                    Framing::Length(l) if l > 0 => State::Length(l),
                    // A request without framing has no body (RFC 9112 §6.3 item 7).
                    _ => State::Head,
                };
                self.push_pending(
                    Pending {
                        request: Some(request),
                        head,
                        connect,
                        packet,
                        ts,
                        start,
                        size,
                    },
                    cx,
                );
                Parsed::Done(n)
            }
            Side::Response => {
                let mut r = httparse::Response::new(&mut []);
                let n = match httparse::ParserConfig::default()
                    .allow_spaces_after_header_name_in_responses(true)
                    .allow_obsolete_multiline_headers_in_responses(true)
                    .allow_multiple_spaces_in_response_status_delimiters(true)
                    .ignore_invalid_headers_in_responses(true)
                    .parse_response_with_uninit_headers(&mut r, buf, &mut hdrs)
                {
                    Ok(httparse::Status::Complete(n)) => n,
                    Ok(httparse::Status::Partial) => return Parsed::Partial,
                    Err(_) => return Parsed::Error,
                };
                let Some(status) = r.code else {
                    return Parsed::Error;
                };
                let framing = body_framing(r.headers);
                if (100..200).contains(&status) && status != 101 {
                    // Interim response (100 Continue, 103 Early Hints): the request still
                    // waits for its final response.
                    self.resp.state = State::Head;
                    return Parsed::Done(n);
                }
                // The server had received only `acked` bytes of requests when it sent this
                // response: a request starting at or past that cannot be the one answered (its
                // own request was lost), so the response is not paired with it.
                let answerable = match (self.pending.front(), cx.acked) {
                    (Some(p), Some(acked)) => p.request.is_none() || p.start < acked,
                    _ => true,
                };
                let next = if answerable { self.pop_pending() } else { None };
                let (head, connect) = match next {
                    Some(p) => {
                        let flags = (p.head, p.connect);
                        // A placeholder (its request was lost in a gap or a parse error, both
                        // counted already) takes the response with it.
                        if let Some(request) = p.request {
                            if status == 101 && wants_h2c(&request) {
                                self.upgrade = Some(Box::new(Upgrade {
                                    request,
                                    packet: p.packet,
                                    ts: p.ts,
                                    rest: Vec::new(),
                                }));
                            } else {
                                let response = Response {
                                    status,
                                    headers: to_headers(buf, r.headers),
                                };
                                emit(cx, request, p.packet, p.ts, Some((response, packet)));
                            }
                        }
                        flags
                    }
                    None => {
                        cx.health.orphan_responses += 1;
                        (false, false)
                    }
                };
                if status == 101 || (connect && (200..300).contains(&status)) {
                    // The connection now carries another protocol.
                    self.req.state = State::Opaque;
                    self.resp.state = State::Opaque;
                    return Parsed::Done(n);
                }
                self.resp.state = if head || status == 204 || status == 304 {
                    State::Head
                } else {
                    match framing {
                        Framing::Chunked => State::Chunked(Chunk::Size {
                            value: 0,
                            digits: 0,
                            ext: false,
                        }),
                        Framing::Length(0) => State::Head,
                        Framing::Length(l) => State::Length(l),
                        Framing::None => State::UntilClose,
                    }
                };
                Parsed::Done(n)
            }
        }
    }

    fn push_pending(&mut self, p: Pending, cx: &mut Ctx) {
        // Bounded pipelining: the oldest requests are reported without a response.
        while (self.pending.len() >= MAX_PENDING
            || self.pending_bytes.saturating_add(p.size) > MAX_PENDING_BYTES)
            && let Some(old) = self.pop_pending()
        {
            cx.health.evictions.pipelined += 1;
            if let Some(request) = old.request {
                emit(cx, request, old.packet, old.ts, None);
            }
        }
        self.pending_bytes = self.pending_bytes.saturating_add(p.size);
        self.pending.push_back(Box::new(p));
    }

    /// A message on `side` was lost (gap or parse error at its start): keep the pairing in
    /// step, then look for the next start line.
    fn damaged(&mut self, side: Side, cx: &mut Ctx) {
        match side {
            Side::Request => {
                // Its response will still come: a placeholder absorbs it.
                self.push_pending(
                    Pending {
                        request: None,
                        head: false,
                        connect: false,
                        packet: 0,
                        ts: Timestamp(0),
                        start: 0,
                        size: 0,
                    },
                    cx,
                );
            }
            Side::Response => {
                // The oldest request's response was lost.
                if let Some(p) = self.pop_pending()
                    && let Some(request) = p.request
                {
                    emit(cx, request, p.packet, p.ts, None);
                }
            }
        }
        self.half(side).resync();
    }

    /// `len` bytes of `side` were never captured.
    pub fn gap(&mut self, side: Side, len: u64, cx: &mut Ctx) {
        let half = self.half(side);
        half.pos = half.pos.saturating_add(len);
        match half.state {
            State::Opaque | State::UntilClose => {}
            State::Resync => half.head.clear(),
            // A hole inside a body of known length loses nothing we keep.
            State::Length(n) if len < n => half.state = State::Length(n - len),
            State::Length(n) if len == n => half.state = State::Head,
            State::Chunked(Chunk::Data(n)) if len < n => {
                half.state = State::Chunked(Chunk::Data(n - len));
            }
            State::Head => self.damaged(side, cx),
            // The hole ran past the end of the body: the next message was hit.
            State::Length(_) | State::Chunked(_) => self.damaged(side, cx),
        }
    }

    /// End of the connection: requests still waiting are reported without a response.
    pub fn close(&mut self, cx: &mut Ctx) {
        while let Some(p) = self.pop_pending() {
            if let Some(request) = p.request {
                emit(cx, request, p.packet, p.ts, None);
            }
        }
        self.req.state = State::Opaque;
        self.resp.state = State::Opaque;
        self.req.head = Vec::new();
        self.resp.head = Vec::new();
    }
}

enum Parsed {
    Done(usize),
    Partial,
    Error,
}

fn emit(
    cx: &mut Ctx,
    request: Request,
    packet: u64,
    ts: Timestamp,
    response: Option<(Response, u64)>,
) {
    let (response, resp_packet) = match response {
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
                request: packet,
                response: resp_packet,
            },
        },
        time: ts,
        client: Some(cx.client),
        server: Some(cx.server),
        connection: Some(cx.conn),
        request,
        response,
        failure: None,
        hints: ClientHints {
            server_ip: Some(cx.server.ip()),
            ..ClientHints::default()
        },
    });
}

#[cfg(test)]
mod tests;
