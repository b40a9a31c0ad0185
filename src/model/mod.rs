//! The narrow types between the pipeline stages: an [`Exchange`] is one HTTP request and its
//! response (or the absence of one), whatever source it came from.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

mod headers;
pub use headers::Headers;
pub(crate) use headers::name_key;

/// Nanoseconds since the Unix epoch, taken from the input (packet or HAR timestamps), never
/// from the wall clock, so that a run over a file is deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(1_000_000_000))
    }
    /// From microseconds.
    pub const fn from_micros(us: i64) -> Self {
        Timestamp(us.saturating_mul(1_000))
    }
    /// Seconds, fractional.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Signed difference in nanoseconds.
    pub fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
    /// `s` seconds later (saturating).
    pub fn plus_secs(self, s: u64) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add((s as i64).saturating_mul(1_000_000_000)),
        )
    }

    /// RFC 3339 in UTC with millisecond precision, as HAR writes it.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0.div_euclid(1_000_000_000);
        let millis = self.0.rem_euclid(1_000_000_000) / 1_000_000;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        )
    }

    /// Parses the RFC 3339 / ISO 8601 timestamps HAR producers write
    /// (`2024-05-01T10:00:00.123Z`, `2024-05-01T12:00:00.123+02:00`, fractional digits 0..9).
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(r)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let mut i = 19;
        let mut nanos = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            for _ in (i - start).min(9)..9 {
                nanos *= 10;
            }
        }
        let offset = match b.get(i) {
            None | Some(b'Z') | Some(b'z') => 0,
            Some(&sign @ (b'+' | b'-')) => {
                let oh = num(i + 1..i + 3)?;
                let om = if b.get(i + 3) == Some(&b':') {
                    num(i + 4..i + 6)?
                } else {
                    num(i + 3..i + 5).unwrap_or(0)
                };
                let off = oh * 3600 + om * 60;
                if sign == b'+' { off } else { -off }
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
        Some(Timestamp(
            secs.checked_mul(1_000_000_000)?.checked_add(nanos)?,
        ))
    }
}

// Howard Hinnant's civil-from-days algorithms (public domain).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `String::from_utf8_lossy`, quicker on the usual valid (ASCII) text: `Utf8Chunks` costs
/// several times a plain validation.
pub fn lossy(v: &[u8]) -> Cow<'_, str> {
    // `from_utf8` first: `from_utf8_lossy` walks valid text byte by byte.
    match std::str::from_utf8(v) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(v),
    }
}

/// An HTTP request as seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method exactly as sent (case matters: `patch` is not `PATCH`).
    pub method: String,
    /// Absolute URL where known (HAR, or `http://` + Host + target for packet captures).
    pub url: String,
    /// `HTTP/1.1`, `http/2.0`... as recorded.
    pub http_version: String,
    /// Header lines in order, repeats kept.
    pub headers: Headers,
}

/// An HTTP response as seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (0 when a recording kept none).
    pub status: u16,
    /// Header lines in order, repeats kept.
    pub headers: Headers,
}

/// What a client-side recorder (HAR) says happened when no usable response exists, or when the
/// browser refused a response it received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientFailure {
    /// `_error` (Chrome DevTools) or `_failureText` (Playwright), e.g. `net::ERR_FAILED`.
    pub error_text: Option<String>,
    /// The status field as written: 0 or -1 for a failed request.
    pub status_field: i64,
}

/// Facts only a client-side recording has (HAR fields prefixed with `_` and `pageref`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHints {
    /// `_resourceType`: `fetch`, `xhr`, `preflight`, `document`, `script`...
    pub resource_type: Option<String>,
    /// `_initiator.type`
    pub initiator_type: Option<String>,
    /// `_initiator.requestId` (set on preflight entries: the id of the actual request)
    pub initiator_request_id: Option<String>,
    /// `_initiator.url`
    pub initiator_url: Option<String>,
    /// `_requestId` where the producer writes one (chrome-har, some tools).
    pub request_id: Option<String>,
    /// `_fromCache` or a `cache.beforeRequest` hit.
    pub from_cache: bool,
    /// `serverIPAddress`
    pub server_ip: Option<IpAddr>,
    /// The page (document) URL the request belongs to, when the recording says.
    pub page_url: Option<String>,
    /// The recording was sanitized (cookies and Authorization stripped), so the absence of
    /// `Cookie` proves nothing about credentials.
    pub sanitized: bool,
    /// The producer, e.g. `WebInspector`, `Firefox`, `Playwright`.
    pub producer: Option<String>,
    /// The browser that made the recording (HAR `log.browser.name`), e.g. `Firefox`,
    /// `chromium`: with the producer, what tells the engine ([`crate::cors::Engine::of`]).
    pub browser: Option<String>,
    /// Seen on the wire, not recorded by a client: the HTTP/2 stream was reset. Chromium
    /// resets the stream of most blocked responses that carry a body: a hint, not a verdict.
    pub h2_reset: Option<H2Reset>,
    /// Headers the recording holds but corswatch did not read, cut for size (`request
    /// origin`, `response access-control-allow-origin`): verdicts that could depend on them
    /// are inferred.
    pub truncated: Vec<String>,
}

/// An RST_STREAM that ended an HTTP/2 exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2Reset {
    /// Sent by the client (else by the server).
    pub by_client: bool,
    /// The HTTP/2 error code (RFC 9113 §7), e.g. 8 for CANCEL.
    pub code: u32,
    /// The response head had arrived when the stream was reset.
    pub after_response: bool,
}

/// Where an exchange came from, for error messages and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    /// The input file (or `-`).
    pub input: Arc<str>,
    /// Where in it.
    pub location: Location,
}

/// A place within an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Index into `log.entries` (0-based).
    HarEntry(u64),
    /// 1-based packet numbers of the request's first packet and the response's first packet.
    Packets {
        /// The request's first packet.
        request: u64,
        /// The response's first packet, when seen.
        response: Option<u64>,
    },
}

impl SourceRef {
    /// A single number to identify the exchange within its input: entry index or first packet.
    pub fn index(&self) -> u64 {
        match self.location {
            Location::HarEntry(i) => i,
            Location::Packets { request, .. } => request,
        }
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::HarEntry(i) => write!(f, "{}: entry {}", self.input, i),
            Location::Packets { request, .. } => write!(f, "{}: packet {}", self.input, request),
        }
    }
}

/// One HTTP request and its response (or its absence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Where it came from.
    pub source: SourceRef,
    /// When the request started.
    pub time: Timestamp,
    /// The client's address, when known.
    pub client: Option<SocketAddr>,
    /// The server's address, when known.
    pub server: Option<SocketAddr>,
    /// Connection id where known (TCP flow number, HAR `connection`).
    pub connection: Option<u64>,
    /// The request.
    pub request: Request,
    /// `None`: no response was seen (capture ended, connection reset, or the browser never
    /// exposed one).
    pub response: Option<Response>,
    /// Set when a client-side recording marks the request as failed.
    pub failure: Option<ClientFailure>,
    /// What only a client-side recording knows.
    pub hints: ClientHints,
}

impl Exchange {
    /// OPTIONS carrying `Access-Control-Request-Method`.
    pub fn is_preflight(&self) -> bool {
        self.request.method.eq_ignore_ascii_case("OPTIONS")
            && self
                .request
                .headers
                .contains("access-control-request-method")
    }

    /// The `Origin` request header.
    pub fn origin(&self) -> Option<Cow<'_, str>> {
        self.request.headers.get_str("origin")
    }

    /// Asks the CPU to load the start of what judging reads (the heads and the URL) while
    /// other work goes on: an exchange comes out of the hop window cold, and reading it after
    /// the wait stalled on one cache miss after another (issue 11). Only a hint.
    #[inline]
    pub fn prefetch(&self) {
        let r = &self.request;
        prefetch(r.url.as_ptr());
        prefetch(r.method.as_ptr());
        r.headers.prefetch();
        if let Some(resp) = &self.response {
            resp.headers.prefetch();
        }
    }

    /// Asks the CPU to load the exchange's own bytes (the addresses of the rest), ahead of
    /// [`Exchange::prefetch`].
    #[inline]
    pub fn prefetch_self(&self) {
        let at = (self as *const Exchange).cast::<u8>();
        for off in (0..std::mem::size_of::<Exchange>()).step_by(64) {
            prefetch(at.wrapping_add(off));
        }
    }

    /// About what the exchange holds in memory, for the byte caps of the stages that keep
    /// exchanges waiting.
    pub fn heap_bytes(&self) -> usize {
        let r = &self.request;
        std::mem::size_of::<Exchange>()
            + r.method.capacity()
            + r.url.capacity()
            + r.http_version.capacity()
            + r.headers.heap_bytes()
            + self.response.as_ref().map_or(0, |r| r.headers.heap_bytes())
            + self.failure.as_ref().map_or(0, |_| 256)
    }
}

/// A hint to load the cache line at `p` (any address: a prefetch reads nothing the program
/// sees and cannot fault).
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 only hints the cache; it neither dereferences `p` for the program
    // nor faults on any address. SSE is part of every x86_64 target.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// What pairing learned about the preflight / actual-request relation of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pairing {
    /// Not a preflight, and pairing had nothing to say (simple request, or not CORS).
    #[default]
    Unpaired,
    /// A preflight whose actual request followed (the browser accepted the preflight).
    PreflightFollowed,
    /// A preflight with no actual request seen within the window. `capture_open` is true when
    /// the input ended before the window closed, so the absence proves less.
    PreflightAlone {
        /// The input ended before the window closed.
        capture_open: bool,
    },
    /// An actual request preceded by its preflight.
    ActualAfterPreflight,
    /// A request that needs a preflight but none was visible (cached by Max-Age, or outside the
    /// capture, or a recorder that drops preflights).
    ActualWithoutPreflight,
}

/// A server whose TLS connections were left encrypted for want of keys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TlsPeer {
    /// The server name the client asked for (`(no SNI)` when it sent none).
    pub sni: String,
    /// The protocol the server selected, or `h2?` when only the client's offer of h2 was seen.
    pub alpn: String,
    /// Connections to it left encrypted.
    pub connections: u64,
}

/// Capture health counters from packet sources, so that a spike of failures can be told apart
/// from a capture problem. HAR inputs leave them at zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct CaptureHealth {
    /// Packets read.
    pub packets: u64,
    /// Bytes of packets read.
    pub bytes: u64,
    /// TCP connections seen.
    pub flows: u64,
    /// Holes in a TCP stream that were skipped (segments never captured).
    pub gaps: u64,
    /// Bytes in those holes.
    pub gap_bytes: u64,
    /// Segments that arrived before earlier ones (reordered, then put back in order).
    pub out_of_order_segments: u64,
    /// Segments seen again (dropped as duplicates).
    pub retransmitted_segments: u64,
    /// Packets cut by the snapshot length before the end of their TCP payload.
    pub truncated_packets: u64,
    /// IP fragments are not reassembled: counted and skipped.
    pub ip_fragments_skipped: u64,
    /// Frames that are not IPv4/IPv6 TCP (ARP, UDP, unknown link types...).
    pub non_tcp_packets: u64,
    /// Frames whose link/IP/TCP headers did not decode.
    pub decode_errors: u64,
    /// HTTP/1.x messages that did not parse (the stream resynchronises).
    pub http_parse_errors: u64,
    /// Flows dropped by the flow or memory caps (oldest first).
    pub flows_evicted: u64,
    /// Requests whose response was never seen (reset, capture ended).
    pub unanswered_requests: u64,
    /// Responses with no request seen (the capture started mid-exchange or missed a direction).
    pub orphan_responses: u64,
    /// Connections skipped as not HTTP (HTTP/0.9, WebSocket after its upgrade, other
    /// protocols). TLS and HTTP/2 connections have their own counters below.
    pub non_http_flows: u64,
    // The TLS, HTTP/2 and QUIC counters are left out of the JSON while zero: reports of
    // cleartext captures keep their shape.
    /// TLS connections seen, and what became of each when it ended.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_connections: u64,
    /// Decrypted to their end (keys found, every record authenticated).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_decrypted: u64,
    /// No secrets for the connection in the key log (`--keylog`, `SSLKEYLOGFILE`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_no_keys: u64,
    /// Secrets found but records did not authenticate.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_failed: u64,
    /// A version or cipher suite that is not decrypted (CBC suites, TLS 1.0/1.1), or not TLS.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_unsupported: u64,
    /// Handshake or encrypted records not seen (capture started or ended mid-connection).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_incomplete: u64,
    /// Encrypted records that did not authenticate.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_record_failures: u64,
    /// HTTP/2 connections read (over TLS or cleartext h2c).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub h2_connections: u64,
    /// Header blocks that did not decode: the rest of that connection is lost.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hpack_errors: u64,
    /// HTTP/2 framing errors (bad preface, CONTINUATION out of place...).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub h2_frame_errors: u64,
    /// HTTP/2 streams ended by RST_STREAM.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub h2_streams_reset: u64,
    /// QUIC long-header datagrams on UDP port 443: HTTP/3 that a TCP capture cannot read.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub quic_packets: u64,
    /// Header values a recording holds but corswatch did not read, cut for size (each named
    /// in the input's problems; verdicts that could depend on them are inferred).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated_values: u64,
    /// What the memory budget (`--max-memory`) evicted or refused, by part; left out while
    /// nothing was.
    #[serde(default, skip_serializing_if = "Evictions::is_empty")]
    pub evictions: Evictions,
}

/// Evictions and refusals of each part of the memory budget (`crate::budget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Evictions {
    /// Connections closed because the flow table was full (least recently seen first).
    pub flows: u64,
    /// Connections whose holes were skipped because out-of-order bytes were over the cap.
    pub held_bytes: u64,
    /// Connections closed because HTTP state (partial heads, waiting requests) was over the
    /// cap (least recently seen first).
    pub http_bytes: u64,
    /// Requests pushed out of a connection's pipelining queue, reported without response.
    pub pipelined: u64,
    /// Exchanges settled early (unpaired) because pairing or hop matching held too much.
    pub pairing: u64,
    /// Origins, routes, methods or headers turned away by a full top list of the run, each time
    /// (counted in its `other` row).
    pub aggregate: u64,
    /// Metric series refused by the series cap (counted under `origin="other", route="other"`).
    pub labels: u64,
}

impl Evictions {
    /// Nothing evicted or refused.
    pub fn is_empty(&self) -> bool {
        *self == Evictions::default()
    }

    /// Adds another run's counts (saturating).
    pub fn add(&mut self, o: &Evictions) {
        self.flows = self.flows.saturating_add(o.flows);
        self.held_bytes = self.held_bytes.saturating_add(o.held_bytes);
        self.http_bytes = self.http_bytes.saturating_add(o.http_bytes);
        self.pipelined = self.pipelined.saturating_add(o.pipelined);
        self.pairing = self.pairing.saturating_add(o.pairing);
        self.aggregate = self.aggregate.saturating_add(o.aggregate);
        self.labels = self.labels.saturating_add(o.labels);
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl CaptureHealth {
    /// Adds another source's counters (saturating: merged reports come from anywhere).
    pub fn add(&mut self, o: &CaptureHealth) {
        self.packets = self.packets.saturating_add(o.packets);
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.flows = self.flows.saturating_add(o.flows);
        self.gaps = self.gaps.saturating_add(o.gaps);
        self.gap_bytes = self.gap_bytes.saturating_add(o.gap_bytes);
        self.out_of_order_segments = self
            .out_of_order_segments
            .saturating_add(o.out_of_order_segments);
        self.retransmitted_segments = self
            .retransmitted_segments
            .saturating_add(o.retransmitted_segments);
        self.truncated_packets = self.truncated_packets.saturating_add(o.truncated_packets);
        self.truncated_values = self.truncated_values.saturating_add(o.truncated_values);
        self.ip_fragments_skipped = self
            .ip_fragments_skipped
            .saturating_add(o.ip_fragments_skipped);
        self.non_tcp_packets = self.non_tcp_packets.saturating_add(o.non_tcp_packets);
        self.decode_errors = self.decode_errors.saturating_add(o.decode_errors);
        self.http_parse_errors = self.http_parse_errors.saturating_add(o.http_parse_errors);
        self.flows_evicted = self.flows_evicted.saturating_add(o.flows_evicted);
        self.unanswered_requests = self
            .unanswered_requests
            .saturating_add(o.unanswered_requests);
        self.orphan_responses = self.orphan_responses.saturating_add(o.orphan_responses);
        self.non_http_flows = self.non_http_flows.saturating_add(o.non_http_flows);
        self.tls_connections = self.tls_connections.saturating_add(o.tls_connections);
        self.tls_decrypted = self.tls_decrypted.saturating_add(o.tls_decrypted);
        self.tls_no_keys = self.tls_no_keys.saturating_add(o.tls_no_keys);
        self.tls_failed = self.tls_failed.saturating_add(o.tls_failed);
        self.tls_unsupported = self.tls_unsupported.saturating_add(o.tls_unsupported);
        self.tls_incomplete = self.tls_incomplete.saturating_add(o.tls_incomplete);
        self.tls_record_failures = self
            .tls_record_failures
            .saturating_add(o.tls_record_failures);
        self.h2_connections = self.h2_connections.saturating_add(o.h2_connections);
        self.hpack_errors = self.hpack_errors.saturating_add(o.hpack_errors);
        self.h2_frame_errors = self.h2_frame_errors.saturating_add(o.h2_frame_errors);
        self.h2_streams_reset = self.h2_streams_reset.saturating_add(o.h2_streams_reset);
        self.quic_packets = self.quic_packets.saturating_add(o.quic_packets);
        self.evictions.add(&o.evictions);
    }
}
