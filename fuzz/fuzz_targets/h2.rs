//! HTTP/2 frames and HPACK: arbitrary client and server bytes after the preface, cut where the
//! input says, through one connection; and the same bytes as one HPACK block. Oracles: no
//! panic; open streams and buffers stay bounded.
#![no_main]

use corswatch::model::{CaptureHealth, Timestamp};
use corswatch::net::h2::{H2Conn, PREFACE, hpack};
use corswatch::net::http::Ctx;
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let mut d = hpack::Decoder::new();
    let _ = d.decode(data, &mut |_, _| {});
    let _ = d.decode(data, &mut |_, _| {});

    let input: Arc<str> = Arc::from("fuzz");
    let mut out = VecDeque::new();
    let mut health = CaptureHealth::default();
    let mut not_http = 0;
    let mut cx = Ctx {
        input: &input,
        client: "10.0.0.1:40000".parse().unwrap(),
        server: "10.0.0.2:443".parse().unwrap(),
        conn: 1,
        max_head: 65536,
        out: &mut out,
        health: &mut health,
        not_http: &mut not_http,
        acked: None,
        scheme: "https",
    };
    let mut c = H2Conn::new(true, true);
    c.data(0, PREFACE, 1, Timestamp(0), &mut cx);
    // Pieces: [side and length byte, bytes...].
    let mut rest = data;
    let mut n = 1;
    while let [h, tail @ ..] = rest {
        let len = usize::from(h >> 1).min(tail.len());
        let (piece, next) = tail.split_at(len);
        n += 1;
        c.data(usize::from(h & 1), piece, n, Timestamp(n as i64), &mut cx);
        assert!(c.buffered() < 8 << 20, "{}", c.buffered());
        rest = next;
    }
    c.close(&mut cx);
});
