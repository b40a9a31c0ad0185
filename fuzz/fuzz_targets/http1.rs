//! The HTTP/1.x parser on its own: arbitrary request-side and response-side bytes, given to one
//! connection's parser whole (each side in one piece, requests first: a pipelined connection),
//! then again cut into pieces of 1 to 16 bytes at places drawn from the input.
//!
//! Two modes, by the first byte's low bit:
//! - valid traffic generated from the input (see [`valid`]). Oracles: the whole streams give
//!   the generated exchanges (method, URL, status, response header names) with no parse error,
//!   and so does every cut (split invariance);
//! - arbitrary bytes: two bytes of request length (little endian, clamped), the request bytes,
//!   the response bytes. Oracles: no panic; buffers stay bounded; where both feeds read clean
//!   (no parse error, not judged "not HTTP") they give the same exchanges. Damaged streams
//!   need not split-invariant: whether a first piece is judged "not HTTP", and where the parser
//!   resynchronises after an error, depend on where the pieces end (see `fuzz/README.md`).
//!
//! The cut points come from a hash of the whole input.
#![no_main]

use corswatch::model::{CaptureHealth, Timestamp};
use corswatch::net::http::{Ctx, HttpConn, Side};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

#[path = "common/seen.rs"]
mod seen;
use seen::{Seen, seen};

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    exchanges: Vec<Seen>,
    parse_errors: u64,
    not_http: u64,
}

impl Outcome {
    fn clean(&self) -> bool {
        self.parse_errors == 0 && self.not_http == 0
    }
}

/// Feeds both streams, each in the pieces `cut` gives (`None`: whole).
fn run(req: &[u8], resp: &[u8], mut cut: Option<u64>) -> Outcome {
    let input: Arc<str> = Arc::from("fuzz");
    let mut out = VecDeque::new();
    let mut health = CaptureHealth::default();
    let mut not_http = 0;
    let mut cx = Ctx {
        input: &input,
        client: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000),
        server: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80),
        conn: 1,
        max_head: 65536,
        out: &mut out,
        health: &mut health,
        not_http: &mut not_http,
        acked: None,
        scheme: "http",
    };
    let mut c = HttpConn::new(true, true);
    let mut packet = 0;
    for (side, mut bytes) in [(Side::Request, req), (Side::Response, resp)] {
        while !bytes.is_empty() {
            let n = match &mut cut {
                None => bytes.len(),
                Some(x) => {
                    *x ^= *x << 13;
                    *x ^= *x >> 7;
                    *x ^= *x << 17;
                    (*x % 16) as usize + 1
                }
            }
            .min(bytes.len());
            let (piece, rest) = bytes.split_at(n);
            packet += 1;
            c.data(side, piece, packet, Timestamp(packet as i64), &mut cx);
            assert!(c.buffered() < 4 << 20, "{}", c.buffered());
            bytes = rest;
        }
    }
    c.close(&mut cx);
    Outcome {
        exchanges: out.iter().map(seen).collect(),
        parse_errors: health.http_parse_errors,
        not_http,
    }
}

/// Valid HTTP/1.1 traffic from the input: requests (some with bodies, by length or chunked
/// with extensions and trailers, blank lines before them), responses (interim 100s, bodies by
/// length or chunked, none for HEAD, 204 and 304, folded and odd-case header lines). Returns
/// the two streams and the exchanges they hold.
fn valid(data: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<Seen>) {
    let mut it = data.iter().copied();
    let mut b = move || it.next().unwrap_or(0);
    let (mut req, mut resp, mut want) = (String::new(), String::new(), Vec::new());
    for _ in 0..(b() % 4 + 1) {
        let method = ["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE"][usize::from(b() % 6)];
        let path: String = (0..b() % 5)
            .map(|_| char::from(b"az09-._~%"[usize::from(b() % 9)]))
            .collect();
        if b() % 8 == 0 {
            req.push_str("\r\n");
        }
        req.push_str(&format!("{method} /{path} HTTP/1.1\r\nHost: h\r\n"));
        if b() % 2 == 0 {
            req.push_str("Origin: http://o\r\n");
        }
        match b() % 4 {
            0 => {
                let n = usize::from(b() % 20);
                req.push_str(&format!("Content-Length: {n}\r\n\r\n{}", "q".repeat(n)));
            }
            1 => {
                let n = usize::from(b() % 20) + 1;
                req.push_str(&format!("Transfer-Encoding: chunked\r\n\r\n{n:X};ext=1\r\n{}\r\n0\r\nX-Trailer: t\r\n\r\n", "q".repeat(n)));
            }
            _ => req.push_str("\r\n"),
        }
        let status = [200u16, 201, 204, 304, 404, 500, 302][usize::from(b() % 7)];
        if b() % 8 == 0 {
            resp.push_str("HTTP/1.1 100 Continue\r\n\r\n");
        }
        resp.push_str(&format!("HTTP/1.1 {status} Whatever it says\r\n"));
        let mut names = Vec::new();
        for _ in 0..b() % 4 {
            let name = [
                "Access-Control-Allow-Origin",
                "vary",
                "X-Long",
                "Set-Cookie",
            ][usize::from(b() % 4)];
            if b() % 4 == 0 {
                resp.push_str(&format!("{name}: a\r\n  folded\r\n"));
            } else {
                resp.push_str(&format!("{name}: v\r\n"));
            }
            names.push(name.to_ascii_lowercase());
        }
        let n = usize::from(b() % 30);
        if method == "HEAD" || status == 204 || status == 304 {
            if status != 204 && b() % 2 == 0 {
                resp.push_str(&format!("Content-Length: {n}\r\n"));
                names.push("content-length".into());
            }
            resp.push_str("\r\n");
        } else if b() % 2 == 0 {
            resp.push_str(&format!("Content-Length: {n}\r\n\r\n{}", "r".repeat(n)));
            names.push("content-length".into());
        } else {
            resp.push_str("Transfer-Encoding: chunked\r\n\r\n");
            if n > 0 {
                resp.push_str(&format!("{n:x}\r\n{}\r\n", "r".repeat(n)));
            }
            resp.push_str("0\r\n\r\n");
            names.push("transfer-encoding".into());
        }
        want.push((
            method.to_string(),
            format!("http://h/{path}"),
            Some(status),
            names,
        ));
    }
    (req.into_bytes(), resp.into_bytes(), want)
}

fn seed(data: &[u8]) -> u64 {
    // FNV-1a of the input: the cut points, reproducible from the input alone.
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    }) | 1
}

fuzz_target!(|data: &[u8]| {
    let [mode, a, b, rest @ ..] = data else {
        return;
    };
    let seed = seed(data);
    if mode % 2 == 0 {
        // Valid traffic: every cut gives the generated exchanges, with no error.
        let (req, resp, want) = valid(rest);
        let whole = run(&req, &resp, None);
        let expected = Outcome {
            exchanges: want,
            parse_errors: 0,
            not_http: 0,
        };
        assert_eq!(whole, expected, "whole streams");
        let cut = run(&req, &resp, Some(seed));
        assert_eq!(cut, expected, "split invariance (seed {seed:#x})");
        return;
    }
    // Arbitrary bytes: no panic, bounded; the same exchanges where both feeds read clean.
    let split = usize::from(u16::from_le_bytes([*a, *b])).min(rest.len());
    let (req, resp) = rest.split_at(split);
    let whole = run(req, resp, None);
    let cut = run(req, resp, Some(seed));
    if whole.clean() && cut.clean() {
        assert_eq!(
            whole.exchanges, cut.exchanges,
            "split invariance (seed {seed:#x})"
        );
    }
});
