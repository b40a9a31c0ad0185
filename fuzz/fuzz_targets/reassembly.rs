//! TCP reassembly and capture reordering: one HTTP/1.1 keep-alive connection generated from the
//! input (requests, responses, bodies by length or chunked, ISNs, segment sizes), written as
//! raw IPv4 frames (link type 101) with SYN, ACK numbers and FINs, then reordered within a small
//! distance, duplicated and overlapped as the input says, nothing dropped.
//!
//! Segments move across and within both directions (finding 1 of `fuzz/README.md`).
//!
//! Oracles: the in-order feed gives the generated exchanges (method, URL, status, response
//! header names); the disturbed feed gives the same exchanges as the in-order feed (order
//! independence), with no gap declared.
#![no_main]

use corswatch::model::{Exchange, Timestamp};
use corswatch::net::{Decoder, Limits};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
/// Packets move at most this many places from their wire position.
const REORDER: usize = 3;

/// The input, read a byte at a time; zeros once it is used up.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
}

#[derive(Clone)]
struct Pkt {
    client: bool,
    seq: u32,
    ack: u32,
    flags: u8,
    data: Vec<u8>,
}

/// Raw IPv4 frame from 10.0.0.1:40000 ↔ 10.0.0.2:80.
fn frame(p: &Pkt) -> Vec<u8> {
    let (s, d, sp, dp) = if p.client {
        ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 80u16)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 80u16, 40000u16)
    };
    let mut f = vec![0x45, 0];
    f.extend_from_slice(&((40 + p.data.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&s);
    f.extend_from_slice(&d);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&p.seq.to_be_bytes());
    f.extend_from_slice(&p.ack.to_be_bytes());
    f.extend_from_slice(&[0x50, p.flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(&p.data);
    f
}

/// What the oracle compares: method, URL, status, response header names.
#[path = "common/seen.rs"]
mod seen;
use seen::Seen;

fn seen(out: &[Exchange]) -> Vec<Seen> {
    out.iter().map(seen::seen).collect()
}

fn run(pkts: &[&Pkt]) -> (Vec<Seen>, u64) {
    let mut d = Decoder::new(Arc::from("fuzz"), Limits::default());
    let mut out = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        // 1 ms apart: well inside the decoder's reorder window.
        d.packet(
            Timestamp(i as i64 * 1_000_000),
            101,
            &frame(p),
            i as u64 + 1,
        );
        out.extend(std::iter::from_fn(|| d.pop()));
    }
    d.finish();
    out.extend(std::iter::from_fn(|| d.pop()));
    (seen(&out), d.health().gaps)
}

const METHODS: [&str; 6] = ["GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH"];
const STATUSES: [u16; 8] = [200, 201, 204, 301, 304, 403, 404, 500];
const HEADERS: [&str; 8] = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "vary",
    "content-type",
    "cache-control",
    "access-control-allow-methods",
    "set-cookie",
    "x-request-id",
];

/// A chunked body: one chunk (none when empty) and the last chunk.
fn chunked(body: &str) -> String {
    if body.is_empty() {
        "0\r\n\r\n".into()
    } else {
        format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len())
    }
}

/// Cuts `msg` into segments of sizes the input picks, appended to `pkts`.
fn segments(b: &mut Bytes, pkts: &mut Vec<Pkt>, client: bool, seq: &mut u32, ack: u32, msg: &[u8]) {
    let mut rest = msg;
    while !rest.is_empty() {
        let n = match b.byte() {
            0 => rest.len(),
            x => usize::from(x % 48) + 1,
        }
        .min(rest.len());
        let (now, later) = rest.split_at(n);
        pkts.push(Pkt {
            client,
            seq: *seq,
            ack,
            flags: ACK | PSH,
            data: now.to_vec(),
        });
        *seq = seq.wrapping_add(n as u32);
        rest = later;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let (cisn, sisn) = (b.u32(), b.u32());
    let exchanges = b.below(4) + 1;
    let mut want: Vec<Seen> = Vec::new();
    let mut pkts = vec![
        Pkt {
            client: true,
            seq: cisn,
            ack: 0,
            flags: SYN,
            data: vec![],
        },
        Pkt {
            client: false,
            seq: sisn,
            ack: cisn.wrapping_add(1),
            flags: SYN | ACK,
            data: vec![],
        },
        Pkt {
            client: true,
            seq: cisn.wrapping_add(1),
            ack: sisn.wrapping_add(1),
            flags: ACK,
            data: vec![],
        },
    ];
    let (mut cseq, mut sseq) = (cisn.wrapping_add(1), sisn.wrapping_add(1));
    let mut until_close = false;
    for i in 0..exchanges {
        let method = METHODS[b.below(METHODS.len())];
        let path: String = (0..b.below(6))
            .map(|_| char::from(b"abcxyz019-_."[b.below(12)]))
            .collect();
        let mut req = format!("{method} /{path} HTTP/1.1\r\nHost: h\r\nOrigin: http://o\r\n");
        let body_len = b.below(40);
        let req_body = if method == "POST" || method == "PUT" || body_len > 30 {
            if b.byte() & 1 == 0 {
                req.push_str(&format!("Content-Length: {body_len}\r\n\r\n"));
                "q".repeat(body_len)
            } else {
                req.push_str("Transfer-Encoding: chunked\r\n\r\n");
                chunked(&"q".repeat(body_len))
            }
        } else {
            req.push_str("\r\n");
            String::new()
        };
        req.push_str(&req_body);
        let status = STATUSES[b.below(STATUSES.len())];
        let mut resp = format!("HTTP/1.1 {status} X\r\n");
        let mut names = Vec::new();
        for _ in 0..b.below(4) {
            let h = HEADERS[b.below(HEADERS.len())];
            resp.push_str(&format!("{h}: v{}\r\n", b.byte()));
            names.push(h.to_string());
        }
        let len = b.below(60);
        let bodyless = status == 204 || status == 304;
        let last = i + 1 == exchanges;
        if bodyless {
            resp.push_str("\r\n");
        } else {
            match b.below(4) {
                0 => {
                    resp.push_str("transfer-encoding: chunked\r\n\r\n");
                    resp.push_str(&chunked(&"r".repeat(len)));
                    names.push("transfer-encoding".into());
                }
                1 if last => {
                    // Delimited by the server's FIN.
                    resp.push_str("connection: close\r\n\r\n");
                    resp.push_str(&"r".repeat(len));
                    names.push("connection".into());
                    until_close = true;
                }
                _ => {
                    resp.push_str(&format!("content-length: {len}\r\n\r\n"));
                    resp.push_str(&"r".repeat(len));
                    names.push("content-length".into());
                }
            }
        }
        want.push((
            method.to_string(),
            format!("http://h/{path}"),
            Some(status),
            names,
        ));
        segments(&mut b, &mut pkts, true, &mut cseq, sseq, req.as_bytes());
        segments(&mut b, &mut pkts, false, &mut sseq, cseq, resp.as_bytes());
        if b.byte() & 1 == 0 {
            pkts.push(Pkt {
                client: true,
                seq: cseq,
                ack: sseq,
                flags: ACK,
                data: vec![],
            });
        }
    }
    // Close: the server first when its FIN ends the body, else the client.
    let fin_c = Pkt {
        client: true,
        seq: cseq,
        ack: sseq,
        flags: FIN | ACK,
        data: vec![],
    };
    let fin_s = Pkt {
        client: false,
        seq: sseq,
        ack: cseq.wrapping_add(1),
        flags: FIN | ACK,
        data: vec![],
    };
    if until_close {
        let fin_s = Pkt { ack: cseq, ..fin_s };
        let fin_c = Pkt {
            ack: sseq.wrapping_add(1),
            ..fin_c
        };
        pkts.extend([fin_s, fin_c]);
    } else {
        pkts.extend([fin_c, fin_s]);
    }

    if std::env::var_os("FUZZ_DEBUG").is_some() {
        for p in &pkts {
            eprintln!(
                "{} seq={} ack={} flags={:#x} {:?}",
                if p.client { "C" } else { "S" },
                p.seq,
                p.ack,
                p.flags,
                String::from_utf8_lossy(&p.data)
            );
        }
    }
    let wire: Vec<&Pkt> = pkts.iter().collect();
    let (in_order, gaps) = run(&wire);
    assert_eq!(in_order, want, "in-order feed");
    assert_eq!(gaps, 0, "in-order feed declared a gap");

    // Disturbed: each packet after the SYN/SYN-ACK moves up to REORDER places later (a stable
    // sort on position + jitter), some are sent twice, and some neighbours of one direction
    // are sent again as one overlapping segment.
    let mut extra = Vec::new();
    for w in pkts.windows(2).skip(2) {
        if b.byte() % 8 == 0
            && w[0].client == w[1].client
            && !w[0].data.is_empty()
            && !w[1].data.is_empty()
            && w[0].seq.wrapping_add(w[0].data.len() as u32) == w[1].seq
        {
            let mut data = w[0].data.clone();
            data.extend_from_slice(&w[1].data);
            extra.push(Pkt {
                data,
                ..w[0].clone()
            });
        }
    }
    let mut keyed: Vec<(usize, &Pkt)> = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        let jitter = if i < 2 { 0 } else { b.below(REORDER + 1) };
        keyed.push((i + jitter, p));
        if i >= 2 && b.byte() % 16 == 0 {
            keyed.push((i + b.below(REORDER + 1), p));
        }
    }
    for (k, p) in extra.iter().enumerate() {
        // Next to the segments it covers.
        let at = pkts
            .iter()
            .position(|q| q.client == p.client && q.seq == p.seq && !q.data.is_empty())
            .unwrap_or(2);
        keyed.push((at + k % (REORDER + 1), p));
    }
    keyed.sort_by_key(|(k, _)| *k);
    let disturbed: Vec<&Pkt> = keyed.into_iter().map(|(_, p)| p).collect();
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!("disturbed:");
        for p in &disturbed {
            eprintln!(
                "{} seq={} ack={} flags={:#x} {:?}",
                if p.client { "C" } else { "S" },
                p.seq,
                p.ack,
                p.flags,
                String::from_utf8_lossy(&p.data)
            );
        }
    }
    let (out, gaps) = run(&disturbed);
    assert_eq!(out, in_order, "disturbed feed");
    assert_eq!(gaps, 0, "disturbed feed declared a gap");
});
