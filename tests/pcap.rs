//! Integration tests: pcap. Captures are generated here (hard cases: reordering, duplicates,
//! drops, pipelining, split chunked bodies, mid-stream pickup, link types), and the corpus in
//! /work/shared/corpus/pcap is read when present.

use corswatch::drive::Driver;
use corswatch::model::{CaptureHealth, Exchange, Location};
use corswatch::net;
use corswatch::report::InputInfo;
use corswatch::source::InputError;
use proptest::prelude::*;
use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

// ---------------------------------------------------------------- writing captures

/// A classic little-endian microsecond pcap.
fn pcap(link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&link.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(1_700_000_000u32 + i as u32 / 1000).to_le_bytes());
        out.extend_from_slice(&((i as u32 % 1000) * 1000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const RST: u8 = 0x04;

fn tcp_header(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut t = Vec::with_capacity(20);
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(5 << 4);
    t.push(flags);
    t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    t
}

/// IPv4 or IPv6 packet carrying one TCP segment (checksums left at zero: not validated).
fn ip_packet(src: IpAddr, dst: IpAddr, tcp: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (20 + tcp.len() + payload.len()) as u16;
            p.extend_from_slice(&[0x45, 0]);
            p.extend_from_slice(&total.to_be_bytes());
            p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&((tcp.len() + payload.len()) as u16).to_be_bytes());
            p.extend_from_slice(&[6, 64]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed families"),
    }
    p.extend_from_slice(tcp);
    p.extend_from_slice(payload);
    p
}

#[derive(Clone, Copy, PartialEq)]
enum Link {
    Ethernet,
    Vlan,
    Sll,
    Sll2,
    Null,
    Raw,
}

impl Link {
    fn code(self) -> u32 {
        match self {
            Link::Ethernet | Link::Vlan => 1,
            Link::Sll => 113,
            Link::Sll2 => 276,
            Link::Null => 0,
            Link::Raw => 101,
        }
    }

    fn frame(self, ip: Vec<u8>) -> Vec<u8> {
        let v6 = ip[0] >> 4 == 6;
        let et: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
        let mut f = Vec::new();
        match self {
            Link::Ethernet => {
                f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
                f.extend_from_slice(&et);
            }
            Link::Vlan => {
                f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
                f.extend_from_slice(&[0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 42]);
                f.extend_from_slice(&et);
            }
            Link::Sll => {
                f.extend_from_slice(&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
                f.extend_from_slice(&et);
            }
            Link::Sll2 => {
                f.extend_from_slice(&et);
                f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            }
            Link::Null => {
                let af: u32 = if v6 { 30 } else { 2 };
                f.extend_from_slice(&af.to_le_bytes());
            }
            Link::Raw => {}
        }
        f.extend_from_slice(&ip);
        f
    }
}

/// One TCP connection, building frames with correct sequence numbers.
struct Conn {
    link: Link,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    /// Next sequence number of [client, server].
    seq: [u32; 2],
}

impl Conn {
    fn new(link: Link, v6: bool, cport: u16) -> Self {
        let (c, s): (IpAddr, IpAddr) = if v6 {
            (
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            )
        };
        Conn {
            link,
            client: (c, cport),
            server: (s, 8080),
            seq: [0xffff_ff00, 1_000_000],
        }
    }

    fn raw(&self, from_client: bool, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (src, dst) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        // Everything the other side sent so far is acknowledged.
        let ack = if flags & ACK != 0 {
            self.seq[usize::from(from_client)]
        } else {
            0
        };
        let tcp = tcp_header(src.1, dst.1, seq, ack, flags);
        self.link.frame(ip_packet(src.0, dst.0, &tcp, payload))
    }

    fn handshake(&mut self) -> Vec<Vec<u8>> {
        let a = self.raw(true, self.seq[0], SYN, b"");
        let b = self.raw(false, self.seq[1], SYN | ACK, b"");
        self.seq[0] = self.seq[0].wrapping_add(1);
        self.seq[1] = self.seq[1].wrapping_add(1);
        let c = self.raw(true, self.seq[0], ACK, b"");
        vec![a, b, c]
    }

    /// Segments of `bytes` from one side, cut at `cuts` (offsets into `bytes`).
    fn send(&mut self, from_client: bool, bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let d = usize::from(!from_client);
        let mut out = Vec::new();
        let mut start = 0;
        let mut points: Vec<usize> = cuts
            .iter()
            .copied()
            .filter(|&c| c > 0 && c < bytes.len())
            .collect();
        points.sort_unstable();
        points.dedup();
        points.push(bytes.len());
        for end in points {
            let seq = self.seq[d].wrapping_add(start as u32);
            out.push(self.raw(from_client, seq, ACK | PSH, &bytes[start..end]));
            start = end;
        }
        self.seq[d] = self.seq[d].wrapping_add(bytes.len() as u32);
        out
    }

    fn fin(&mut self, from_client: bool) -> Vec<u8> {
        let d = usize::from(!from_client);
        let f = self.raw(from_client, self.seq[d], FIN | ACK, b"");
        self.seq[d] = self.seq[d].wrapping_add(1);
        f
    }
}

// ---------------------------------------------------------------- reading captures

struct Run {
    exchanges: Vec<Exchange>,
    problems: Vec<InputError>,
    health: CaptureHealth,
}

/// Reads a capture through the driver and the decoder, collecting the exchanges.
fn decode(name: &str, reader: impl std::io::Read + Send + 'static) -> (Run, InputInfo) {
    let mut d = Driver::with_consumer(net::Limits::default(), Vec::new());
    d.read(name, Box::new(reader), None);
    let health = d.health();
    let problems = d.run().problems.clone();
    let info = d.run().inputs[0].clone();
    let exchanges = d.into_consumer();
    (
        Run {
            exchanges,
            problems,
            health,
        },
        info,
    )
}

fn read(bytes: Vec<u8>) -> Run {
    decode("test.pcap", Cursor::new(bytes)).0
}

/// (method, url, status) of an exchange.
type Summary = (String, String, Option<u16>);

/// Summaries of the exchanges, in order.
fn summary(r: &Run) -> Vec<Summary> {
    r.exchanges
        .iter()
        .map(|x| {
            (
                x.request.method.clone(),
                x.request.url.clone(),
                x.response.as_ref().map(|r| r.status),
            )
        })
        .collect()
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: api.test\r\nOrigin: https://app.test\r\n\r\n")
        .into_bytes()
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://app.test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn preflight(path: &str) -> Vec<u8> {
    format!(
        "OPTIONS {path} HTTP/1.1\r\nHost: api.test\r\nOrigin: https://app.test\r\n\
         Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type\r\n\r\n"
    )
    .into_bytes()
}

fn preflight_ok() -> Vec<u8> {
    b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: https://app.test\r\n\
      Access-Control-Allow-Methods: PUT\r\nAccess-Control-Allow-Headers: content-type\r\n\r\n"
        .to_vec()
}

fn put(path: &str, body: &str) -> Vec<u8> {
    format!(
        "PUT {path} HTTP/1.1\r\nHost: api.test\r\nOrigin: https://app.test\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn chunked(body_parts: &[&str]) -> Vec<u8> {
    let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for p in body_parts {
        r.extend_from_slice(format!("{:x}\r\n{p}\r\n", p.len()).as_bytes());
    }
    r.extend_from_slice(b"0\r\n\r\n");
    r
}

fn s(m: &str, u: &str, st: Option<u16>) -> Summary {
    (m.to_string(), u.to_string(), st)
}

/// A simple conversation: n GETs answered in turn.
fn conversation(link: Link, v6: bool, n: usize) -> Vec<Vec<u8>> {
    let mut c = Conn::new(link, v6, 40000);
    let mut frames = c.handshake();
    for i in 0..n {
        frames.extend(c.send(true, &get(&format!("/items/{i}")), &[]));
        frames.extend(c.send(false, &ok("{\"ok\":true}"), &[]));
    }
    frames.push(c.fin(true));
    frames.push(c.fin(false));
    frames
}

// ---------------------------------------------------------------- tests

#[test]
fn every_link_type_and_ip_version() {
    for link in [
        Link::Ethernet,
        Link::Vlan,
        Link::Sll,
        Link::Sll2,
        Link::Null,
        Link::Raw,
    ] {
        for v6 in [false, true] {
            let r = read(pcap(link.code(), &conversation(link, v6, 2)));
            assert!(r.problems.is_empty(), "{:?}", r.problems);
            assert_eq!(
                summary(&r),
                vec![
                    s("GET", "http://api.test/items/0", Some(200)),
                    s("GET", "http://api.test/items/1", Some(200)),
                ],
                "link {} v6 {v6}",
                link.code()
            );
            let x = &r.exchanges[0];
            assert_eq!(x.client.unwrap().port(), 40000);
            assert_eq!(x.server.unwrap().port(), 8080);
            assert_eq!(
                x.source.location,
                Location::Packets {
                    request: 4,
                    response: Some(5)
                }
            );
            assert_eq!(
                x.request.headers.get("origin"),
                Some(&b"https://app.test"[..])
            );
            assert_eq!(r.health.flows, 1);
            assert_eq!(r.health.unanswered_requests, 0);
        }
    }
}

#[test]
fn reordered_and_duplicated_segments() {
    let mut c = Conn::new(Link::Ethernet, false, 40001);
    let mut frames = c.handshake();
    let req = preflight("/v1/things");
    let mut segs = c.send(true, &req, &[10, 40, 90]);
    segs.swap(0, 2);
    segs.insert(1, segs[3].clone());
    frames.extend(segs);
    let mut resp = c.send(false, &preflight_ok(), &[5, 50]);
    resp.reverse();
    frames.extend(resp);
    frames.extend(c.send(true, &put("/v1/things", "{\"a\":1}"), &[3]));
    let r2 = c.send(false, &ok("done"), &[20]);
    frames.push(r2[1].clone());
    frames.push(r2[0].clone());
    frames.push(r2[1].clone());
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![
            s("OPTIONS", "http://api.test/v1/things", Some(204)),
            s("PUT", "http://api.test/v1/things", Some(200)),
        ]
    );
    assert!(r.exchanges[0].is_preflight());
    assert!(r.health.out_of_order_segments >= 3);
    assert!(r.health.retransmitted_segments >= 2);
    assert_eq!(r.health.gaps, 0);
}

#[test]
fn dropped_segment_loses_only_the_damaged_message() {
    let mut c = Conn::new(Link::Ethernet, false, 40002);
    let mut frames = c.handshake();
    for i in 0..5 {
        let req = c.send(true, &get(&format!("/r/{i}")), &[]);
        let resp = c.send(false, &ok("x"), &[]);
        frames.extend(req);
        if i != 2 {
            frames.extend(resp);
        }
    }
    frames.push(c.fin(true));
    frames.push(c.fin(false));
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![
            s("GET", "http://api.test/r/0", Some(200)),
            s("GET", "http://api.test/r/1", Some(200)),
            s("GET", "http://api.test/r/2", None),
            s("GET", "http://api.test/r/3", Some(200)),
            s("GET", "http://api.test/r/4", Some(200)),
        ]
    );
    assert_eq!(r.health.gaps, 1);
    assert_eq!(r.health.unanswered_requests, 1);
}

#[test]
fn dropped_request_segment_keeps_pairing_in_step() {
    let mut c = Conn::new(Link::Ethernet, false, 40003);
    let mut frames = c.handshake();
    for i in 0..4 {
        let req = c.send(true, &get(&format!("/q/{i}")), &[]);
        if i != 1 {
            frames.extend(req);
        }
        frames.extend(c.send(false, &ok(&format!("body{i}")), &[]));
    }
    frames.push(c.fin(true));
    frames.push(c.fin(false));
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![
            s("GET", "http://api.test/q/0", Some(200)),
            s("GET", "http://api.test/q/2", Some(200)),
            s("GET", "http://api.test/q/3", Some(200)),
        ]
    );
    // The response of the lost request is dropped with it (the gap is counted, not an orphan).
    assert_eq!(r.health.orphan_responses, 0);
    assert_eq!(r.health.gaps, 1);
    assert_eq!(
        r.exchanges[1].source.location,
        Location::Packets {
            request: 7,
            response: Some(8)
        }
    );
}

#[test]
fn pipelined_requests_pair_in_order() {
    let mut c = Conn::new(Link::Ethernet, false, 40004);
    let mut frames = c.handshake();
    let mut reqs = Vec::new();
    let mut resps = Vec::new();
    for i in 0..6 {
        reqs.extend(get(&format!("/p/{i}")));
        if i == 3 {
            resps.extend(chunked(&["abc", "defgh"]));
        } else {
            resps.extend(ok(&"z".repeat(i * 100)));
        }
    }
    let l = reqs.len();
    frames.extend(c.send(true, &reqs, &[l / 3, l / 2]));
    let l = resps.len();
    frames.extend(c.send(false, &resps, &[7, l / 2, l - 3]));
    let r = read(pcap(1, &frames));
    let want: Vec<_> = (0..6)
        .map(|i| s("GET", &format!("http://api.test/p/{i}"), Some(200)))
        .collect();
    assert_eq!(summary(&r), want);
}

#[test]
fn chunked_final_chunk_split_to_single_bytes() {
    let mut c = Conn::new(Link::Ethernet, false, 40005);
    let mut frames = c.handshake();
    frames.extend(c.send(true, &get("/a"), &[]));
    let body = chunked(&["hello", "world!"]);
    let n = body.len();
    // Every byte of the chunk framing near the end in its own segment, down to the lone "\n".
    let cuts: Vec<usize> = (n - 12..n).collect();
    frames.extend(c.send(false, &body, &cuts));
    frames.extend(c.send(true, &get("/b"), &[]));
    frames.extend(c.send(false, &ok("second"), &[]));
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![
            s("GET", "http://api.test/a", Some(200)),
            s("GET", "http://api.test/b", Some(200)),
        ]
    );
    assert_eq!(r.health.http_parse_errors, 0);
}

#[test]
fn stream_picked_up_mid_response() {
    let mut c = Conn::new(Link::Ethernet, false, 40006);
    // No handshake: the capture starts in the middle of a response body.
    let first = ok(&"q".repeat(300));
    let frames_resp = c.send(false, &first, &[150]);
    let mut frames = vec![frames_resp[1].clone()];
    frames.extend(c.send(true, &get("/after"), &[]));
    frames.extend(c.send(false, &ok("{}"), &[]));
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![s("GET", "http://api.test/after", Some(200))]
    );
}

#[test]
fn continue_head_no_content_not_modified() {
    let mut c = Conn::new(Link::Ethernet, false, 40007);
    let mut frames = c.handshake();
    let post =
        b"POST /up HTTP/1.1\r\nHost: api.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    frames.extend(c.send(true, post, &[]));
    frames.extend(c.send(false, b"HTTP/1.1 100 Continue\r\n\r\n", &[]));
    frames.extend(c.send(true, b"hello", &[]));
    frames.extend(c.send(false, &ok("fine"), &[]));
    frames.extend(c.send(true, b"HEAD /h HTTP/1.1\r\nHost: api.test\r\n\r\n", &[]));
    // HEAD: Content-Length announces a body that is not sent.
    frames.extend(c.send(
        false,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
        &[],
    ));
    frames.extend(c.send(true, &get("/n"), &[]));
    frames.extend(c.send(
        false,
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
        &[],
    ));
    frames.extend(c.send(true, &get("/e"), &[]));
    frames.extend(c.send(false, b"HTTP/1.1 204 No Content\r\n\r\n", &[]));
    frames.extend(c.send(true, &get("/last"), &[]));
    frames.push(c.raw(false, c.seq[1], RST, b""));
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![
            s("POST", "http://api.test/up", Some(200)),
            s("HEAD", "http://api.test/h", Some(200)),
            s("GET", "http://api.test/n", Some(304)),
            s("GET", "http://api.test/e", Some(204)),
            s("GET", "http://api.test/last", None),
        ]
    );
    assert_eq!(r.health.unanswered_requests, 1);
    assert_eq!(r.health.orphan_responses, 0);
}

#[test]
fn tls_and_upgrade_stop_parsing() {
    let mut c = Conn::new(Link::Ethernet, false, 40008);
    let mut frames = c.handshake();
    frames.extend(c.send(true, &[0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5], &[]));
    frames.extend(c.send(false, &[0x16, 3, 3, 0, 1, 0], &[]));
    let mut w = Conn::new(Link::Ethernet, false, 40009);
    frames.extend(w.handshake());
    frames.extend(w.send(
        true,
        b"GET /ws HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        &[],
    ));
    frames.extend(w.send(
        false,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        &[],
    ));
    frames.extend(w.send(true, b"\x81\x85GET / HTTP/1.1\r\n\r\n", &[]));
    let r = read(pcap(1, &frames));
    assert_eq!(summary(&r), vec![s("GET", "http://api.test/ws", Some(101))]);
    assert_eq!(r.health.http_parse_errors, 0);
}

#[test]
fn absolute_form_and_missing_host() {
    let mut c = Conn::new(Link::Ethernet, false, 40010);
    let mut frames = c.handshake();
    frames.extend(c.send(
        true,
        b"GET http://proxy.test/x?y=1 HTTP/1.1\r\nHost: other\r\n\r\n",
        &[],
    ));
    frames.extend(c.send(false, &ok(""), &[]));
    frames.extend(c.send(true, b"GET /nohost HTTP/1.0\r\n\r\n", &[]));
    frames.extend(c.send(false, b"HTTP/1.0 200 OK\r\n\r\nclose-delimited", &[]));
    frames.push(c.fin(false));
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![
            s("GET", "http://proxy.test/x?y=1", Some(200)),
            s("GET", "http://10.0.0.2:8080/nohost", Some(200)),
        ]
    );
    assert_eq!(r.exchanges[1].request.http_version, "HTTP/1.0");
}

#[test]
fn headers_keep_order_bytes_and_repeats() {
    let mut c = Conn::new(Link::Ethernet, false, 40011);
    let mut frames = c.handshake();
    frames.extend(c.send(true, &get("/h"), &[]));
    frames.extend(c.send(
        false,
        b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nX-B: \xff\r\naccess-control-allow-origin: https://app.test\r\nContent-Length: 0\r\n\r\n",
        &[],
    ));
    let r = read(pcap(1, &frames));
    let h = &r.exchanges[0].response.as_ref().unwrap().headers;
    let lines: Vec<(String, Vec<u8>)> =
        h.iter().map(|(n, v)| (n.to_string(), v.to_vec())).collect();
    assert_eq!(
        lines,
        vec![
            ("Access-Control-Allow-Origin".into(), b"*".to_vec()),
            ("X-B".into(), b"\xff".to_vec()),
            (
                "access-control-allow-origin".into(),
                b"https://app.test".to_vec()
            ),
            ("Content-Length".into(), b"0".to_vec()),
        ]
    );
    assert_eq!(h.count("access-control-allow-origin"), 2);
}

#[test]
fn garbage_then_recovery_and_unknown_link() {
    let mut c = Conn::new(Link::Ethernet, false, 40012);
    let mut frames = c.handshake();
    frames.extend(c.send(true, &get("/first"), &[]));
    frames.extend(c.send(false, &ok("1"), &[]));
    frames.extend(c.send(true, b"\x00\x01garbage that is not http\r\n\r\n", &[]));
    frames.extend(c.send(
        false,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        &[],
    ));
    frames.extend(c.send(true, &get("/fine"), &[]));
    frames.extend(c.send(false, &ok("ok"), &[]));
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![
            s("GET", "http://api.test/first", Some(200)),
            s("GET", "http://api.test/fine", Some(200)),
        ]
    );
    assert_eq!(r.health.http_parse_errors, 1);
    // A connection whose first bytes are not HTTP/1.x is skipped whole.
    let mut c = Conn::new(Link::Ethernet, false, 40014);
    let mut frames = c.handshake();
    frames.extend(c.send(true, b"\x00\x01garbage that is not http\r\n\r\n", &[]));
    frames.extend(c.send(true, &get("/ignored"), &[]));
    frames.extend(c.send(false, &ok("ok"), &[]));
    assert!(read(pcap(1, &frames)).exchanges.is_empty());
    let r = read(pcap(147, &[vec![1, 2, 3], vec![4, 5, 6]]));
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(r.health.non_tcp_packets, 2);
}

#[test]
fn truncated_file_and_bad_input() {
    let mut bytes = pcap(1, &conversation(Link::Ethernet, false, 3));
    let full = read(bytes.clone());
    assert_eq!(full.exchanges.len(), 3);
    bytes.truncate(bytes.len() - 30);
    let r = read(bytes);
    assert!(r.exchanges.len() >= 2);
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, InputError::Packet { packet, .. } if *packet > 1)),
        "{:?}",
        r.problems
    );
    // Corrupt record length: a problem, no panic, no huge allocation.
    let mut bytes = pcap(1, &conversation(Link::Ethernet, false, 1));
    bytes[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let r = read(bytes);
    assert!(!r.problems.is_empty());
    // Bad magic.
    let r = read(b"\x01\x02\x03\x04 not a capture at all........".to_vec());
    assert_eq!(r.problems.len(), 1);
    // Snaplen shorter than the headers.
    let mut frames = conversation(Link::Ethernet, false, 1);
    frames[3].truncate(30);
    let r = read(pcap(1, &frames));
    assert!(r.health.truncated_packets >= 1);
}

#[test]
fn snaplen_cut_payload_is_a_gap() {
    let mut c = Conn::new(Link::Ethernet, false, 40013);
    let mut frames = c.handshake();
    frames.extend(c.send(true, &get("/one"), &[]));
    let mut big = c.send(false, &ok(&"b".repeat(1000)), &[]);
    // Cut the frame inside the body; the IP header still says 1000+ bytes.
    big[0].truncate(400);
    frames.extend(big);
    frames.extend(c.send(true, &get("/two"), &[]));
    frames.extend(c.send(false, &ok("2"), &[]));
    let r = read(pcap(1, &frames));
    assert_eq!(
        summary(&r),
        vec![
            s("GET", "http://api.test/one", Some(200)),
            s("GET", "http://api.test/two", Some(200)),
        ]
    );
    assert_eq!(r.health.truncated_packets, 1);
}

#[test]
fn pcapng_with_two_link_types_and_resolutions() {
    // SHB, IDB(Ethernet, µs), IDB(raw IP, ns with if_tsresol=9), EPBs on both.
    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut b = t.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }
    fn epb(ifid: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = ifid.to_le_bytes().to_vec();
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        block(6, &body)
    }
    let mut f = block(
        0x0a0d_0d0a,
        &[
            0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
    );
    f.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
    f.extend(block(
        1,
        &[101, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0],
    ));
    let eth = conversation(Link::Ethernet, false, 1);
    let mut raw = Conn::new(Link::Raw, true, 40100);
    let mut rawf = raw.handshake();
    rawf.extend(raw.send(true, &get("/raw"), &[]));
    rawf.extend(raw.send(false, &ok("r"), &[]));
    for (i, fr) in eth.iter().enumerate() {
        f.extend(epb(0, 1_700_000_000_000_000 + i as u64, fr));
    }
    for (i, fr) in rawf.iter().enumerate() {
        f.extend(epb(1, 1_700_000_001_000_000_000 + i as u64, fr));
    }
    let (run, info) = decode("t.pcapng", Cursor::new(f));
    assert_eq!(info.format, Some("pcapng"));
    assert!(run.problems.is_empty(), "{:?}", run.problems);
    let mut xs = run.exchanges;
    xs.sort_by_key(|x| x.time);
    assert_eq!(xs.len(), 2);
    assert_eq!(xs[0].time.0, 1_700_000_000_000_003_000);
    assert_eq!(xs[1].time.0, 1_700_000_001_000_000_003);
    assert_eq!(xs[1].request.url, "http://api.test/raw");
}

/// A classic pcap in either byte order and timestamp precision.
fn pcap_variant(big_endian: bool, nanos: bool, link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend_from_slice(&u16b(2));
    out.extend_from_slice(&u16b(4));
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&u32b(65535));
    out.extend_from_slice(&u32b(link));
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&u32b(1_700_000_000));
        out.extend_from_slice(&u32b(if nanos { 123_456_789 } else { 123_456 } + i as u32));
        out.extend_from_slice(&u32b(f.len() as u32));
        out.extend_from_slice(&u32b(f.len() as u32));
        out.extend_from_slice(f);
    }
    out
}

#[test]
fn classic_pcap_byte_orders_and_precisions() {
    for be in [false, true] {
        for ns in [false, true] {
            let r = read(pcap_variant(
                be,
                ns,
                1,
                &conversation(Link::Ethernet, false, 1),
            ));
            assert!(r.problems.is_empty(), "{:?}", r.problems);
            assert_eq!(r.exchanges.len(), 1, "be {be} ns {ns}");
            let frac = if ns {
                123_456_789 + 3
            } else {
                (123_456 + 3) * 1000
            };
            assert_eq!(r.exchanges[0].time.0, 1_700_000_000_000_000_000 + frac);
        }
    }
}

fn ng_block(t: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len()) as u32;
    let mut b = t.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn ng_shb() -> Vec<u8> {
    ng_block(
        0x0a0d_0d0a,
        &[
            0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
    )
}

/// An interface description with optional if_tsresol and if_tsoffset.
fn ng_idb(link: u16, tsresol: Option<u8>, tsoffset: Option<i64>) -> Vec<u8> {
    let mut body = link.to_le_bytes().to_vec();
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    if let Some(r) = tsresol {
        body.extend_from_slice(&[9, 0, 1, 0, r, 0, 0, 0]);
    }
    if let Some(o) = tsoffset {
        body.extend_from_slice(&[14, 0, 8, 0]);
        body.extend_from_slice(&o.to_le_bytes());
    }
    if tsresol.is_some() || tsoffset.is_some() {
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    ng_block(1, &body)
}

fn ng_epb(ifid: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut body = ifid.to_le_bytes().to_vec();
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    ng_block(6, &body)
}

fn ng_spb(data: &[u8]) -> Vec<u8> {
    let mut body = (data.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(data);
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    ng_block(3, &body)
}

#[test]
fn pcapng_sections_offsets_simple_packets_and_bad_blocks() {
    // Section 1: one Ethernet interface with a 1000 s offset, packets as EPBs.
    let mut f = ng_shb();
    f.extend(ng_idb(1, None, Some(1000)));
    let first = conversation(Link::Ethernet, false, 1);
    for (i, fr) in first.iter().enumerate() {
        f.extend(ng_epb(0, 5_000_000 + i as u64, fr));
    }
    // Section 2 resets the interfaces: raw IP, simple packet blocks (no timestamp).
    f.extend(ng_shb());
    f.extend(ng_idb(101, Some(9), None));
    let mut c = Conn::new(Link::Raw, false, 40200);
    let mut frames = c.handshake();
    frames.extend(c.send(true, &get("/spb"), &[]));
    frames.extend(c.send(false, &ok("s"), &[]));
    for fr in &frames {
        f.extend(ng_spb(fr));
    }
    // A packet on an interface that was never described.
    f.extend(ng_epb(7, 0, &frames[0]));
    let r = read(f.clone());
    let urls: Vec<_> = summary(&r).into_iter().map(|x| x.1).collect();
    assert_eq!(urls, ["http://api.test/items/0", "http://api.test/spb"]);
    assert_eq!(r.exchanges[0].time.0, (1005 * 1_000_000 + 3) * 1000);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(
        matches!(&r.problems[0], InputError::Packet { packet, .. } if *packet as usize == first.len() + frames.len() + 1)
    );

    // A corrupt block length: a problem naming the packet, what came before still reported.
    let mut bad = ng_shb();
    bad.extend(ng_idb(1, None, None));
    let conv = conversation(Link::Ethernet, false, 2);
    for (i, fr) in conv.iter().enumerate() {
        bad.extend(ng_epb(0, i as u64, fr));
    }
    let mut broken = ng_epb(0, 99, &conv[0]);
    broken[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    bad.extend(broken);
    let r = read(bad);
    assert_eq!(r.exchanges.len(), 2);
    assert!(
        matches!(&r.problems[..], [InputError::Packet { packet, .. }] if *packet as usize == conv.len() + 1),
        "{:?}",
        r.problems
    );
}

/// A reader that returns at most `n` bytes per call, like a slow pipe.
struct Trickle(Cursor<Vec<u8>>, usize);

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn short_reads_from_a_pipe() {
    for chunk in [1, 3, 7, 100] {
        for bytes in [pcap(1, &conversation(Link::Ethernet, false, 2)), {
            let mut f = ng_shb();
            f.extend(ng_idb(1, None, None));
            for (i, fr) in conversation(Link::Ethernet, false, 2).iter().enumerate() {
                f.extend(ng_epb(0, i as u64, fr));
            }
            f
        }] {
            let len = bytes.len() as u64;
            let (run, info) = decode("pipe", Trickle(Cursor::new(bytes), chunk));
            assert_eq!(info.bytes, len);
            assert!(run.problems.is_empty(), "chunk {chunk}: {:?}", run.problems);
            assert_eq!(run.exchanges.len(), 2, "chunk {chunk}");
        }
    }
}

// ---------------------------------------------------------------- property test

/// The messages of a keep-alive connection with preflights: (request, response, expected).
/// Each response carries `X-Seq: i`, the index in its request's path, to catch mispairing.
fn messages(n: usize) -> Vec<(Vec<u8>, Vec<u8>, Summary)> {
    let seq = |r: Vec<u8>, i: usize| -> Vec<u8> {
        // Insert the X-Seq header after the status line.
        let at = r
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(r.len(), |p| p + 2);
        let mut out = r[..at].to_vec();
        out.extend_from_slice(format!("X-Seq: {i}\r\n").as_bytes());
        out.extend_from_slice(&r[at..]);
        out
    };
    let mut out = Vec::new();
    for i in 0..n {
        let path = format!("/api/{i}");
        let url = format!("http://api.test{path}");
        match i % 3 {
            0 => {
                out.push((
                    preflight(&path),
                    seq(preflight_ok(), i),
                    s("OPTIONS", &url, Some(204)),
                ));
                out.push((
                    put(&path, &"j".repeat(i * 7)),
                    seq(chunked(&["a", &"b".repeat(i * 5 + 1)]), i),
                    s("PUT", &url, Some(200)),
                ));
            }
            1 => out.push((
                get(&path),
                seq(ok(&"x".repeat(i * 11)), i),
                s("GET", &url, Some(200)),
            )),
            _ => out.push((
                get(&path),
                seq(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
                    i,
                ),
                s("GET", &url, Some(404)),
            )),
        }
    }
    out
}

/// Requests and responses of a keep-alive connection with preflights, as two byte streams.
fn streams(n: usize) -> (Vec<u8>, Vec<u8>, Vec<Summary>) {
    let (mut rq, mut rs, mut want) = (Vec::new(), Vec::new(), Vec::new());
    for (q, r, w) in messages(n) {
        rq.extend(q);
        rs.extend(r);
        want.push(w);
    }
    (rq, rs, want)
}

/// Every answered exchange is paired with the response meant for it.
fn paired_right(x: &Exchange) -> bool {
    let Some(r) = &x.response else {
        return true;
    };
    let idx = x.request.url.rsplit('/').next().unwrap_or("");
    r.headers.get_str("x-seq").as_deref() == Some(idx)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn segmentation_order_and_duplicates_do_not_matter(
        n in 1usize..6,
        cuts_q in proptest::collection::vec(0usize..4000, 0..25),
        cuts_s in proptest::collection::vec(0usize..4000, 0..25),
        order_q in proptest::collection::vec(any::<u32>(), 30),
        order_s in proptest::collection::vec(any::<u32>(), 30),
        dups in proptest::collection::vec(0usize..30, 0..6),
    ) {
        let (rq, rs, want) = streams(n);
        let mut c = Conn::new(Link::Ethernet, false, 45000);
        let mut frames = c.handshake();
        let shuffle = |mut segs: Vec<Vec<u8>>, keys: &[u32]| {
            let mut keyed: Vec<(u32, Vec<u8>)> = segs.drain(..).enumerate().map(|(i, s)| (keys.get(i).copied().unwrap_or(i as u32), s)).collect();
            keyed.sort_by_key(|k| k.0);
            let mut out: Vec<Vec<u8>> = keyed.into_iter().map(|k| k.1).collect();
            for &d in &dups {
                if let Some(x) = out.get(d % out.len().max(1)).cloned() {
                    out.push(x);
                }
            }
            out
        };
        let cuts_q: Vec<usize> = cuts_q.iter().map(|c| c % rq.len()).collect();
        let cuts_s: Vec<usize> = cuts_s.iter().map(|c| c % rs.len()).collect();
        let q = c.send(true, &rq, &cuts_q);
        let r = c.send(false, &rs, &cuts_s);
        frames.extend(shuffle(q, &order_q));
        frames.extend(shuffle(r, &order_s));
        frames.push(c.fin(true));
        frames.push(c.fin(false));
        let run = read(pcap(1, &frames));
        prop_assert_eq!(summary(&run), want);
        prop_assert!(run.exchanges.iter().all(paired_right));
        prop_assert_eq!(run.health.gaps, 0);
        prop_assert_eq!(run.health.http_parse_errors, 0);
    }

    /// One segment never captured: only the message it belonged to is lost, and no response
    /// is ever paired with the wrong request.
    #[test]
    fn a_dropped_segment_loses_one_message_at_most(
        n in 1usize..7,
        cuts in proptest::collection::vec(0usize..400, 0..4),
        drop in any::<prop::sample::Index>(),
    ) {
        let msgs = messages(n);
        let want: Vec<Summary> = msgs.iter().map(|m| m.2.clone()).collect();
        let mut c = Conn::new(Link::Ethernet, false, 46000);
        let mut frames = c.handshake();
        let mut data = Vec::new();
        for (q, r, _) in &msgs {
            let cq: Vec<usize> = cuts.iter().map(|x| x % q.len()).collect();
            let cr: Vec<usize> = cuts.iter().map(|x| x % r.len()).collect();
            data.extend(c.send(true, q, &cq));
            data.extend(c.send(false, r, &cr));
        }
        let dropped = drop.index(data.len());
        data.remove(dropped);
        frames.extend(data);
        frames.push(c.fin(true));
        frames.push(c.fin(false));
        let run = read(pcap(1, &frames));
        prop_assert!(run.exchanges.iter().all(paired_right), "{:?}", summary(&run));
        let got = summary(&run);
        let answered = run.exchanges.iter().filter(|x| x.response.is_some()).count();
        prop_assert!(answered + 1 >= want.len(), "{:?}", got);
        // What is reported keeps the order of the requests.
        let mut it = want.iter();
        for g in &got {
            prop_assert!(it.any(|w| w.0 == g.0 && w.1 == g.1), "{:?}", got);
        }
        prop_assert_eq!(run.health.gaps, 1);
    }
}

// ---------------------------------------------------------------- corpus

/// Every capture of the shared corpus reads without a panic; counts are printed for the
/// report (`cargo test --test tests pcap::corpus -- --nocapture`). The corpus lives beside the
/// repository (`../shared/corpus`); missing, the test fails (CI always has it), unless
/// `CORSWATCH_NO_SHARED=1` says this checkout has no `../shared` on purpose.
/// The shared corpus's captures, sorted; `None` where `CORSWATCH_NO_SHARED=1` says this
/// checkout has no `../shared` on purpose (missing otherwise, the test fails).
fn corpus_pcaps() -> Option<Vec<std::path::PathBuf>> {
    let dir = crate::util::shared().join("corpus/pcap");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(_) if std::env::var_os("CORSWATCH_NO_SHARED").is_some() => return None,
        Err(e) => panic!("{}: {e} (set CORSWATCH_NO_SHARED=1 to skip)", dir.display()),
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Some(paths)
}

#[test]
fn corpus_reads_without_panic() {
    let dir = crate::util::shared().join("corpus/pcap");
    let Some(paths) = corpus_pcaps() else { return };
    assert!(
        paths.len() >= 10,
        "{}: only {} files",
        dir.display(),
        paths.len()
    );
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let file = std::fs::File::open(&p).unwrap();
        let (run, _) = decode(&name, file);
        let answered = run
            .exchanges
            .iter()
            .filter(|x| x.response.is_some())
            .count();
        let problems: Vec<String> = run.problems.iter().map(|p| p.to_string()).collect();
        let h = run.health;
        eprintln!(
            "{name}: exchanges {} (answered {answered}), orphans {}, unanswered {}, pkts {}, flows {}, gaps {}, ooo {}, retx {}, trunc {}, frag {}, nontcp {}, decode_err {}, parse_err {}; problems {:?}",
            run.exchanges.len(),
            h.orphan_responses,
            h.unanswered_requests,
            h.packets,
            h.flows,
            h.gaps,
            h.out_of_order_segments,
            h.retransmitted_segments,
            h.truncated_packets,
            h.ip_fragments_skipped,
            h.non_tcp_packets,
            h.decode_errors,
            h.http_parse_errors,
            problems
        );
    }
}

/// Exchanges come out in the same order whatever the connection table's hash seed (new for
/// each decoder, so each run of these decodes differs). Connections closed as idle, or evicted,
/// once came out in the hash map's order: in `pcapplusplus_4KHttpRequests-preflights.pcap` that
/// changed which preflights paired, and the report said 5 or 7 blocked from run to run.
#[test]
fn corpus_exchanges_come_out_in_the_same_order_on_every_run() {
    let Some(paths) = corpus_pcaps() else { return };
    let order = |p: &Path| -> Vec<(u64, Summary)> {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let run = decode(&name, std::fs::File::open(p).unwrap()).0;
        let summaries = summary(&run);
        run.exchanges
            .iter()
            .map(|x| x.source.index())
            .zip(summaries)
            .collect()
    };
    let mut moved = 0;
    for p in &paths {
        let first = order(p);
        for _ in 0..3 {
            assert_eq!(order(p), first, "{}: another order", p.display());
        }
        moved += usize::from(!first.is_empty());
    }
    assert!(moved >= 10, "only {moved} captures had exchanges");
}
