use super::*;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

/// Raw IPv4 frame (link type 101) from 10.0.0.1:`cport` ↔ 10.0.0.2:80.
fn frame(from_client: bool, cport: u16, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    let (s, d, sp, dp) = if from_client {
        ([10, 0, 0, 1], [10, 0, 0, 2], cport, 80u16)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 80u16, cport)
    };
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&((40 + data.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    p.extend_from_slice(&s);
    p.extend_from_slice(&d);
    p.extend_from_slice(&sp.to_be_bytes());
    p.extend_from_slice(&dp.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(data);
    p
}

const REQ: &[u8] = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";

fn decoder(limits: Limits) -> Decoder {
    Decoder::new(Arc::from("t"), limits)
}

/// Opens a connection and sends one request; returns the packet count used.
fn open_with_request(d: &mut Decoder, cport: u16, t: i64, n: &mut u64) {
    let ts = Timestamp::from_secs(t);
    for f in [
        frame(true, cport, 100, 0, SYN, b""),
        frame(false, cport, 500, 101, SYN | ACK, b""),
        frame(true, cport, 101, 501, ACK | PSH, REQ),
    ] {
        *n += 1;
        d.packet(ts, 101, &f, *n);
    }
}

fn drain(d: &mut Decoder) -> Vec<Exchange> {
    std::iter::from_fn(|| d.pop()).collect()
}

#[test]
fn flow_cap_evicts_oldest_and_reports_their_requests() {
    let mut d = decoder(Limits {
        max_flows: 4,
        ..Limits::default()
    });
    let mut n = 0;
    for i in 0..10 {
        open_with_request(&mut d, 40000 + i, i64::from(i), &mut n);
    }
    assert!(d.open_flows() <= 4);
    let h = d.health();
    assert_eq!(h.flows, 10);
    assert_eq!(h.flows_evicted, 6);
    assert_eq!(h.evictions.flows, 6, "counted as the flow table's");
    assert_eq!(h.evictions.http_bytes, 0);
    let evicted = drain(&mut d);
    assert_eq!(evicted.len(), 6);
    assert!(evicted.iter().all(|x| x.response.is_none()));
    // The oldest went first.
    assert_eq!(evicted[0].client.map(|c| c.port()), Some(40000));
    d.finish();
    assert_eq!(drain(&mut d).len(), 4);
    assert_eq!(d.health().unanswered_requests, 10);
}

#[test]
fn idle_connections_close_by_packet_time() {
    let mut d = decoder(Limits::default());
    let mut n = 0;
    open_with_request(&mut d, 40000, 0, &mut n);
    open_with_request(&mut d, 40001, 100, &mut n);
    assert_eq!(d.ready(), 0);
    open_with_request(&mut d, 40002, 200, &mut n);
    let out = drain(&mut d);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].client.map(|c| c.port()), Some(40000));
    assert_eq!(d.open_flows(), 2);
}

/// Connections last used at the same instant close oldest first, whatever the hash seed of the
/// connection table (each decoder has its own): the order once followed the table's.
#[test]
fn ties_close_oldest_first_with_any_hash_seed() {
    let evicted = || {
        let mut d = decoder(Limits {
            max_flows: 16,
            ..Limits::default()
        });
        let mut n = 0;
        for i in 0..17 {
            open_with_request(&mut d, 40000 + i, 5, &mut n);
        }
        drain(&mut d)
            .iter()
            .map(|x| x.client.map(|c| c.port()))
            .collect::<Vec<_>>()
    };
    let idle = || {
        let mut d = decoder(Limits::default());
        let mut n = 0;
        for i in 0..12 {
            open_with_request(&mut d, 40000 + i, 0, &mut n);
        }
        open_with_request(&mut d, 41000, 200, &mut n);
        drain(&mut d)
            .iter()
            .map(|x| x.client.map(|c| c.port()))
            .collect::<Vec<_>>()
    };
    let want: Vec<_> = (40000..40012).map(Some).collect();
    for _ in 0..8 {
        // A seventeenth connection over a cap of 16 evicts an eighth: two.
        assert_eq!(evicted(), [Some(40000), Some(40001)]);
        assert_eq!(idle(), want);
    }
}

#[test]
fn reused_four_tuple_is_a_new_connection() {
    let mut d = decoder(Limits::default());
    let mut n = 0;
    open_with_request(&mut d, 40000, 0, &mut n);
    let resp = b"HTTP/1.1 204 No Content\r\n\r\n";
    n += 1;
    d.packet(
        Timestamp(0),
        101,
        &frame(false, 40000, 501, 101 + REQ.len() as u32, ACK, resp),
        n,
    );
    // Same ports, new ISN, no FIN seen for the first connection.
    let ts = Timestamp::from_secs(1);
    for f in [
        frame(true, 40000, 9000, 0, SYN, b""),
        frame(false, 40000, 7000, 9001, SYN | ACK, b""),
        frame(true, 40000, 9001, 7001, ACK | PSH, REQ),
        frame(false, 40000, 7001, 9001 + REQ.len() as u32, ACK, resp),
    ] {
        n += 1;
        d.packet(ts, 101, &f, n);
    }
    let out = drain(&mut d);
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|x| x.response.as_ref().map(|r| r.status) == Some(204))
    );
    assert_ne!(out[0].connection, out[1].connection);
    assert_eq!(d.health().flows, 2);
}

#[test]
fn held_bytes_stay_within_caps() {
    let limits = Limits {
        max_held_per_direction: 16 * 1024,
        max_held_total: 64 * 1024,
        ..Limits::default()
    };
    let mut d = decoder(limits.clone());
    let mut n = 0;
    let chunk = vec![b'a'; 1000];
    for c in 0..50u16 {
        open_with_request(&mut d, 41000 + c, 0, &mut n);
        // Segments far ahead of a hole that never fills.
        for k in 1..40u32 {
            n += 1;
            let f = frame(
                true,
                41000 + c,
                101 + REQ.len() as u32 + 5000 * k,
                501,
                ACK,
                &chunk,
            );
            d.packet(Timestamp(0), 101, &f, n);
            assert!(d.held_bytes() <= limits.max_held_total + chunk.len());
        }
    }
    assert!(d.health().gaps > 0);
    assert!(d.health().evictions.held_bytes > 0);
}

#[test]
fn handshake_seen_from_the_syn_ack_reads_from_the_first_byte() {
    let mut d = decoder(Limits::default());
    let req = b"PURGE /cache HTTP/1.1\r\nHost: h\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (n, f) in [
        frame(false, 40000, 500, 101, SYN | ACK, b""),
        frame(true, 40000, 101, 501, ACK | PSH, req),
        frame(false, 40000, 501, 101 + req.len() as u32, ACK | PSH, resp),
    ]
    .iter()
    .enumerate()
    {
        d.packet(Timestamp(0), 101, f, n as u64 + 1);
    }
    let out = drain(&mut d);
    assert_eq!(out.len(), 1);
    // A custom method is trusted only where the start of the stream is certain.
    assert_eq!(out[0].request.method, "PURGE");
    assert_eq!(out[0].client.map(|c| c.port()), Some(40000));
}

#[test]
fn waiting_requests_are_bounded() {
    let limits = Limits {
        max_http_total: 4 << 20,
        ..Limits::default()
    };
    let mut d = decoder(limits);
    let mut n = 0;
    let big = format!(
        "GET /{} HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "p".repeat(2000),
        "v".repeat(30_000)
    );
    for c in 0..20u16 {
        let cport = 42000 + c;
        open_with_request(&mut d, cport, 0, &mut n);
        let mut seq = 101 + REQ.len() as u32;
        // Pipelined requests that are never answered.
        for _ in 0..100 {
            n += 1;
            d.packet(
                Timestamp(0),
                101,
                &frame(true, cport, seq, 501, ACK, big.as_bytes()),
                n,
            );
            seq += big.len() as u32;
            assert!(
                d.http_bytes() <= (4 << 20) + (1 << 20),
                "{}",
                d.http_bytes()
            );
        }
        while d.pop().is_some() {}
    }
    assert!(d.health().unanswered_requests > 0);
}

#[test]
fn h2c_upgrade_and_prior_knowledge() {
    use crate::net::h2::hpack::Encoder;
    use crate::net::h2::synth::{client_start, headers, server_start};
    let mut d = decoder(Limits::default());
    let req = b"GET /up HTTP/1.1\r\nHost: api.test\r\nConnection: Upgrade, HTTP2-Settings\r\n\
                Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nOrigin: https://app.test\r\n\r\n";
    let mut se = Encoder::default();
    let mut ce = Encoder::default();
    let mut resp =
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".to_vec();
    resp.extend(server_start());
    resp.extend(headers(
        &mut se,
        1,
        &[
            (":status", "200"),
            ("access-control-allow-origin", "https://app.test"),
        ],
        true,
        16384,
    ));
    let mut c2 = client_start();
    c2.extend(headers(
        &mut ce,
        3,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "api.test"),
            (":path", "/two"),
        ],
        true,
        16384,
    ));
    let r2 = headers(&mut se, 3, &[(":status", "204")], true, 16384);
    let mut n = 0;
    let mut send = |d: &mut Decoder, f: Vec<u8>| {
        n += 1;
        d.packet(Timestamp(0), 101, &f, n);
    };
    send(&mut d, frame(true, 40000, 100, 0, SYN, b""));
    send(&mut d, frame(false, 40000, 500, 101, SYN | ACK, b""));
    let c1 = 101 + req.len() as u32;
    send(&mut d, frame(true, 40000, 101, 501, ACK | PSH, req));
    // The 101, the server's SETTINGS and stream 1's response in one segment.
    send(&mut d, frame(false, 40000, 501, c1, ACK | PSH, &resp));
    let s1 = 501 + resp.len() as u32;
    // The preface split after two bytes.
    send(&mut d, frame(true, 40000, c1, s1, ACK | PSH, &c2[..2]));
    send(&mut d, frame(true, 40000, c1 + 2, s1, ACK | PSH, &c2[2..]));
    send(
        &mut d,
        frame(false, 40000, s1, c1 + c2.len() as u32, ACK | PSH, &r2),
    );
    d.finish();
    let out = drain(&mut d);
    let got: Vec<(String, String, String, Option<u16>)> = out
        .iter()
        .map(|x| {
            (
                x.request.method.clone(),
                x.request.url.clone(),
                x.request.http_version.clone(),
                x.response.as_ref().map(|r| r.status),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "GET".into(),
                "http://api.test/up".into(),
                "HTTP/1.1".into(),
                Some(200)
            ),
            (
                "GET".into(),
                "http://api.test/two".into(),
                "HTTP/2".into(),
                Some(204)
            ),
        ]
    );
    let h = d.health();
    assert_eq!(
        (h.h2_connections, h.non_http_flows, h.http_parse_errors),
        (1, 0, 0)
    );
    // Cleartext HTTP/2 by prior knowledge, its preface in pieces.
    let mut d = decoder(Limits::default());
    let mut n = 0;
    let mut send = |d: &mut Decoder, f: Vec<u8>| {
        n += 1;
        d.packet(Timestamp(0), 101, &f, n);
    };
    send(&mut d, frame(true, 40001, 100, 0, SYN, b""));
    send(&mut d, frame(false, 40001, 500, 101, SYN | ACK, b""));
    let mut ce = Encoder::default();
    let mut c = client_start();
    c.extend(headers(
        &mut ce,
        1,
        &[
            (":method", "PUT"),
            (":scheme", "http"),
            (":authority", "api.test"),
            (":path", "/p"),
        ],
        true,
        16384,
    ));
    let mut seq = 101u32;
    for piece in c.chunks(5) {
        send(&mut d, frame(true, 40001, seq, 501, ACK | PSH, piece));
        seq += piece.len() as u32;
    }
    d.finish();
    let out = drain(&mut d);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].request.method, "PUT");
    assert_eq!(out[0].request.http_version, "HTTP/2");
    assert!(out[0].response.is_none());
}

#[test]
fn tls_state_without_keys_is_capped_over_all_connections() {
    use crate::net::tls::synth::Session;
    let cap = 1 << 20;
    let mut d = decoder(Limits {
        max_http_total: cap,
        ..Limits::default()
    });
    let mut n = 0;
    for c in 0..60u16 {
        let cport = 43000 + c;
        let mut s = Session::new(0x1301, u64::from(c), "api.test", Some("h2")).unwrap();
        let mut client = s.client_hello();
        let server = s.server_flight();
        client.extend(s.client_finished());
        // Records held while no key is known (this decoder has no key log).
        client.extend(s.app(0, &vec![b'x'; 40_000]));
        n += 1;
        d.packet(Timestamp(0), 101, &frame(true, cport, 100, 0, SYN, b""), n);
        n += 1;
        d.packet(
            Timestamp(0),
            101,
            &frame(false, cport, 500, 101, SYN | ACK, b""),
            n,
        );
        let mut seq = 101u32;
        for chunk in client.chunks(1400) {
            n += 1;
            d.packet(
                Timestamp(0),
                101,
                &frame(true, cport, seq, 501, ACK | PSH, chunk),
                n,
            );
            seq += chunk.len() as u32;
            assert!(d.http_bytes() <= cap + (256 << 10), "{}", d.http_bytes());
        }
        let mut sseq = 501u32;
        for chunk in server.chunks(1400) {
            n += 1;
            d.packet(
                Timestamp(0),
                101,
                &frame(false, cport, sseq, seq, ACK | PSH, chunk),
                n,
            );
            sseq += chunk.len() as u32;
        }
    }
    let h = d.health();
    assert!(h.flows_evicted > 0, "{h:?}");
    assert_eq!(
        h.evictions.http_bytes, h.flows_evicted,
        "counted as the HTTP part's"
    );
    d.finish();
    let h = d.health();
    assert_eq!(h.tls_connections, 60);
    assert_eq!(h.tls_no_keys + h.tls_incomplete, 60, "{h:?}");
}

#[test]
fn arbitrary_segments_do_not_panic() {
    let pieces: [&[u8]; 8] = [
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"ffffffffffffffffffff\r\n",
        b"0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"Content-Length: 99999999999999999999\r\n\r\n",
        b"\r\n\r\n\n\n",
        b"HTTP/1.1 101 Switching\r\n\r\n",
    ];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut d = decoder(Limits {
        max_flows: 8,
        max_held_per_direction: 4096,
        max_held_total: 16384,
        ..Limits::default()
    });
    for n in 1..20_000u64 {
        let r = rnd();
        let data = pieces[(r % 8) as usize];
        let cut = (r >> 8) as usize % (data.len() + 1);
        let f = frame(
            r & (1 << 20) != 0,
            40000 + ((r >> 21) % 12) as u16,
            (r >> 32) as u32 % 3000,
            (r >> 40) as u32 % 3000,
            (r >> 50) as u8,
            &data[..cut],
        );
        d.packet(Timestamp((n as i64) * 1_000_000), 101, &f, n);
        while d.pop().is_some() {}
        assert!(d.held_bytes() <= 16384 + 64);
    }
    d.finish();
    while d.pop().is_some() {}
    assert_eq!(d.open_flows(), 0);
}

/// Sequence numbers of a keep-alive connection (client ISN 100, server 500) carrying request
/// a, response a, request b, response b: the client's before each request and after the last,
/// then the server's.
fn offsets([req_a, resp_a, req_b, resp_b]: [&[u8]; 4]) -> [u32; 6] {
    let (c0, s0) = (101u32, 501u32);
    let c1 = c0 + req_a.len() as u32;
    let s1 = s0 + resp_a.len() as u32;
    [
        c0,
        c1,
        c1 + req_b.len() as u32,
        s0,
        s1,
        s1 + resp_b.len() as u32,
    ]
}

/// A keep-alive connection carrying `/a` then `/b`, answered 201 then 202, as the wire sent it.
fn two_exchanges(cport: u16) -> Vec<Vec<u8>> {
    let req_a = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    let req_b = b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    let resp_a = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    let resp_b = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
    let [c0, c1, c2, s0, s1, s2] = offsets([req_a, resp_a, req_b, resp_b]);
    vec![
        frame(true, cport, 100, 0, SYN, b""),
        frame(false, cport, 500, 101, SYN | ACK, b""),
        frame(true, cport, c0, s0, ACK | PSH, req_a),
        frame(false, cport, s0, c1, ACK | PSH, resp_a),
        frame(true, cport, c1, s1, ACK | PSH, req_b),
        frame(false, cport, s1, c2, ACK | PSH, resp_b),
        frame(true, cport, c2, s2, ACK, b""),
    ]
}

fn statuses(out: &[Exchange]) -> Vec<(String, Option<u16>)> {
    out.iter()
        .map(|x| {
            let path = x.request.url.rsplit('/').next().unwrap_or("").to_string();
            (path, x.response.as_ref().map(|r| r.status))
        })
        .collect()
}

fn run_frames(frames: &[Vec<u8>], gap_ns: i64) -> (Vec<Exchange>, CaptureHealth) {
    let mut d = decoder(Limits::default());
    for (i, f) in frames.iter().enumerate() {
        d.packet(Timestamp(i as i64 * gap_ns), 101, f, i as u64 + 1);
    }
    d.finish();
    (drain(&mut d), d.health())
}

#[test]
fn response_captured_before_its_request_still_pairs() {
    let want = vec![("a".to_string(), Some(201)), ("b".to_string(), Some(202))];
    // Every adjacent swap (a capture taking packets on two CPUs writes them so).
    let base = two_exchanges(40100);
    for i in 2..base.len() - 1 {
        let mut frames = base.clone();
        frames.swap(i, i + 1);
        let (out, h) = run_frames(&frames, 1_000_000);
        assert_eq!(statuses(&out), want, "packets {i} and {} swapped", i + 1);
        assert_eq!(h.gaps, 0, "swap {i}");
    }
    // The first response written after both requests and the second response.
    let frames: Vec<Vec<u8>> = [0, 1, 2, 4, 5, 3, 6]
        .iter()
        .map(|&i| base[i].clone())
        .collect();
    let (out, _) = run_frames(&frames, 1_000_000);
    assert_eq!(statuses(&out), want);
}

#[test]
fn lost_bytes_are_declared_after_the_window() {
    // `/a` never reached the capture: its response waits for it, then the request bytes are
    // declared lost and a placeholder takes the response, so `/b` still gets its own. The same
    // for a lost response: `/a` is reported without one.
    let base = two_exchanges(40101);
    let b = ("b".to_string(), Some(202));
    for (kept, want) in [
        (vec![0, 1, 3, 4, 5, 6], vec![b.clone()]),
        (
            vec![0, 1, 2, 4, 5, 6],
            vec![("a".to_string(), None), b.clone()],
        ),
    ] {
        let frames: Vec<Vec<u8>> = kept.iter().map(|&i| base[i].clone()).collect();
        for gap_ns in [1_000_000, 2 * REORDER_WINDOW_NS] {
            let (out, h) = run_frames(&frames, gap_ns);
            assert_eq!(statuses(&out), want, "{kept:?}, packets {gap_ns} ns apart");
            assert_eq!(h.gaps, 1);
        }
    }
}

/// Found by the `reassembly` fuzz target (`fuzz/README.md`, findings): the client's FIN, or a
/// later request segment, captured before the request it follows, and the response before
/// both. A response now waits for request bytes up to their first hole
/// (`Reassembler::contiguous_end`), so the late request is not declared lost.
#[test]
fn client_fin_captured_before_its_request() {
    const FIN: u8 = 0x01;
    let req = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let (c0, s0) = (101u32, 501u32);
    let c1 = c0 + req.len() as u32;
    let s1 = s0 + resp.len() as u32;
    let cport = 40103;
    let syn = frame(true, cport, 100, 0, SYN, b"");
    let syn_ack = frame(false, cport, 500, 101, SYN | ACK, b"");
    let ack = frame(true, cport, c0, s0, ACK, b"");
    let request = frame(true, cport, c0, s0, ACK | PSH, req);
    let response = frame(false, cport, s0, c1, ACK | PSH, resp);
    let fin_c = frame(true, cport, c1, s1, FIN | ACK, b"");
    let fin_s = frame(false, cport, s1, c1 + 1, FIN | ACK, b"");
    let want = vec![("a".to_string(), Some(200))];
    let wire = [&syn, &syn_ack, &ack, &request, &response, &fin_c, &fin_s];
    let frames: Vec<Vec<u8>> = wire.iter().map(|f| f.to_vec()).collect();
    assert_eq!(
        statuses(&run_frames(&frames, 1_000_000).0),
        want,
        "wire order"
    );
    // The request in two segments, the second captured first.
    let (req_a, req_b) = req.split_at(10);
    let part_a = frame(true, cport, c0, s0, ACK | PSH, req_a);
    let part_b = frame(true, cport, c0 + 10, s0, ACK | PSH, req_b);
    let mut failed = Vec::new();
    for (i, order) in [
        vec![&syn, &syn_ack, &ack, &response, &fin_c, &request, &fin_s],
        vec![
            &syn, &syn_ack, &ack, &part_b, &response, &part_a, &fin_c, &fin_s,
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let frames: Vec<Vec<u8>> = order.iter().map(|f| f.to_vec()).collect();
        let (out, h) = run_frames(&frames, 1_000_000);
        if statuses(&out) != want || h.gaps != 0 {
            failed.push((i, statuses(&out), h.gaps));
        }
    }
    assert!(failed.is_empty(), "(order, exchanges, gaps): {failed:?}");
}

/// The mirror of the case above (finding 1 of `fuzz/README.md`): a response segment captured
/// after a later one of the same response and after the request that acknowledges both. The
/// request's acknowledgement counts response bytes only up to their first hole, so the late
/// segment is waited for instead of declared lost; held bytes keep their own acknowledgement, so
/// the next response still pairs with its own request. A retransmission captured after both
/// FINs is not a new connection.
#[test]
fn response_segment_captured_after_a_later_one_and_its_acknowledgement() {
    const FIN: u8 = 0x01;
    let (req_a, req_b) = (
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    let resp_a = b"HTTP/1.1 201 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    let resp_b = b"HTTP/1.1 202 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let [c0, c1, c2, s0, s1, s2] = offsets([req_a, resp_a, req_b, resp_b]);
    let cport = 40104;
    let syn = frame(true, cport, 100, 0, SYN, b"");
    let syn_ack = frame(false, cport, 500, 101, SYN | ACK, b"");
    let ack = frame(true, cport, c0, s0, ACK, b"");
    let qa = frame(true, cport, c0, s0, ACK | PSH, req_a);
    let (ra1, ra2) = resp_a.split_at(20);
    let ra_1 = frame(false, cport, s0, c1, ACK | PSH, ra1);
    let ra_2 = frame(false, cport, s0 + 20, c1, ACK | PSH, ra2);
    let qb = frame(true, cport, c1, s1, ACK | PSH, req_b);
    let (rb1, rb2) = resp_b.split_at(30);
    let rb_1 = frame(false, cport, s1, c2, ACK | PSH, rb1);
    let rb_2 = frame(false, cport, s1 + 30, c2, ACK | PSH, rb2);
    let fin_c = frame(true, cport, c2, s2, FIN | ACK, b"");
    let fin_s = frame(false, cport, s2, c2 + 1, FIN | ACK, b"");
    let want = vec![("a".to_string(), Some(201)), ("b".to_string(), Some(202))];
    let mut failed = Vec::new();
    for (i, order) in [
        vec![&qa, &ra_1, &ra_2, &qb, &rb_1, &rb_2, &fin_c, &fin_s],
        vec![&qa, &ra_2, &qb, &ra_1, &rb_1, &rb_2, &fin_c, &fin_s],
        vec![&qa, &ra_2, &qb, &rb_1, &ra_1, &rb_2, &fin_c, &fin_s],
        vec![&qa, &ra_1, &qb, &rb_2, &fin_c, &ra_2, &rb_1, &fin_s],
        vec![&qa, &ra_1, &ra_2, &qb, &rb_1, &fin_s, &fin_c, &rb_2],
        // Retransmissions after both FINs.
        vec![
            &qa, &ra_1, &ra_2, &qb, &rb_1, &rb_2, &fin_c, &fin_s, &rb_2, &fin_c,
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let frames: Vec<Vec<u8>> = [&syn, &syn_ack, &ack]
            .into_iter()
            .chain(order)
            .map(|f| f.to_vec())
            .collect();
        let (out, h) = run_frames(&frames, 1_000_000);
        if statuses(&out) != want || h.gaps != 0 || h.flows != 1 {
            failed.push((i, statuses(&out), h.gaps, h.flows));
        }
    }
    assert!(
        failed.is_empty(),
        "(order, exchanges, gaps, flows): {failed:?}"
    );
}

/// One connection pipelining requests that are never answered: past the per-connection queue the
/// oldest go out unanswered, each counted.
#[test]
fn unanswered_pipelines_are_bounded_and_counted() {
    let mut d = decoder(Limits::default());
    let mut n = 0;
    let port = 44000;
    n += 1;
    d.packet(Timestamp(0), 101, &frame(true, port, 100, 0, SYN, b""), n);
    n += 1;
    d.packet(
        Timestamp(0),
        101,
        &frame(false, port, 500, 101, SYN | ACK, b""),
        n,
    );
    let mut seq = 101u32;
    for _ in 0..3000 {
        n += 1;
        d.packet(
            Timestamp(0),
            101,
            &frame(true, port, seq, 501, ACK | PSH, REQ),
            n,
        );
        seq += REQ.len() as u32;
        assert!(d.http_bytes() <= 1 << 20, "{}", d.http_bytes());
    }
    let pushed = drain(&mut d).len() as u64;
    assert!(pushed >= 3000 - 1024, "{pushed}");
    assert_eq!(d.health().evictions.pipelined, pushed);
}

#[test]
fn a_replay_round_is_new_connections_beside_the_open_ones() {
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    // One exchange on a connection picked up mid-stream, that never ends.
    let exchange = |d: &mut Decoder, t: i64, n: &mut u64| {
        let req_end = 101 + REQ.len() as u32;
        for f in [
            frame(true, 40000, 101, 501, ACK | PSH, REQ),
            frame(false, 40000, 501, req_end, ACK | PSH, OK),
        ] {
            *n += 1;
            d.packet(Timestamp::from_secs(t), 101, &f, *n);
        }
    };
    let mut d = decoder(Limits::default());
    let mut n = 0;
    exchange(&mut d, 1, &mut n);
    // The same bytes again, in the same round, are retransmissions.
    exchange(&mut d, 2, &mut n);
    assert_eq!(drain(&mut d).len(), 1);
    assert_eq!(d.open_flows(), 1);
    // In the next round they are a new connection, and the first one stays open.
    d.next_round();
    exchange(&mut d, 3, &mut n);
    let second = drain(&mut d);
    assert_eq!(second.len(), 1);
    assert!(second[0].response.is_some());
    assert_eq!(d.open_flows(), 2);
}
