use super::hpack::Encoder;
use super::synth::*;
use super::*;
use crate::model::CaptureHealth;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::sync::Arc;

struct Out {
    ex: VecDeque<Exchange>,
    health: CaptureHealth,
}

/// Feeds (side, bytes) pieces through one connection.
fn run(pieces: &[(usize, Vec<u8>)], tls: bool) -> Out {
    let input: Arc<str> = Arc::from("t");
    let mut out = Out {
        ex: VecDeque::new(),
        health: CaptureHealth::default(),
    };
    let mut not_http = 0;
    let mut cx = Ctx {
        input: &input,
        client: "10.0.0.1:40000".parse().unwrap(),
        server: "10.0.0.2:443".parse().unwrap(),
        conn: 1,
        max_head: 65536,
        out: &mut out.ex,
        health: &mut out.health,
        not_http: &mut not_http,
        acked: None,
        scheme: if tls { "https" } else { "http" },
    };
    let mut c = H2Conn::new(tls, true);
    for (i, (side, b)) in pieces.iter().enumerate() {
        c.data(*side, b, i as u64 + 1, Timestamp(i as i64), &mut cx);
    }
    c.close(&mut cx);
    out
}

/// A browser-like conversation: a preflight and its actual request interleaved with another
/// stream, a blocked response reset by the client, a request left unanswered by GOAWAY.
fn conversation() -> Vec<(usize, Vec<u8>)> {
    let mut ce = Encoder::default();
    let mut se = Encoder::default();
    let origin = ("origin", "https://app.test");
    let mut v = vec![(0, client_start()), (1, server_start())];
    v.push((
        0,
        headers(
            &mut ce,
            1,
            &[
                (":method", "OPTIONS"),
                (":authority", "api.test"),
                (":scheme", "https"),
                (":path", "/v1/items?x=1"),
                ("accept", "*/*"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "x-token"),
                origin,
                ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156"),
            ],
            true,
            40,
        ),
    ));
    v.push((
        0,
        headers(
            &mut ce,
            3,
            &[
                (":method", "GET"),
                (":authority", "api.test"),
                (":scheme", "https"),
                (":path", "/v1/other"),
                origin,
            ],
            true,
            16384,
        ),
    ));
    v.push((
        1,
        headers(
            &mut se,
            1,
            &[
                (":status", "204"),
                ("access-control-allow-origin", "https://app.test"),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-headers", "x-token"),
            ],
            true,
            16384,
        ),
    ));
    v.push((
        0,
        headers(
            &mut ce,
            5,
            &[
                (":method", "PUT"),
                (":authority", "api.test"),
                (":scheme", "https"),
                (":path", "/v1/items?x=1"),
                ("x-token", "abc"),
                ("authorization", "Bearer secret-token"),
                origin,
            ],
            false,
            16384,
        ),
    ));
    v.push((0, data(5, b"{\"a\":1}", true)));
    // Stream 3: a response without CORS headers, with a body the client resets.
    v.push((
        1,
        headers(
            &mut se,
            3,
            &[(":status", "200"), ("content-type", "application/json")],
            false,
            16384,
        ),
    ));
    v.push((1, data(3, &[b'z'; 5000], false)));
    v.push((0, rst(3, 8)));
    v.push((
        1,
        headers(
            &mut se,
            5,
            &[(":status", "103"), ("link", "</style.css>; rel=preload")],
            false,
            16384,
        ),
    ));
    v.push((
        1,
        headers(
            &mut se,
            5,
            &[
                (":status", "200"),
                ("access-control-allow-origin", "https://app.test"),
                ("vary", "Origin"),
            ],
            false,
            16384,
        ),
    ));
    v.push((1, data(5, b"ok", false)));
    v.push((1, headers(&mut se, 5, &[("grpc-status", "0")], true, 16384)));
    v.push((
        0,
        headers(
            &mut ce,
            7,
            &[
                (":method", "DELETE"),
                (":authority", "api.test"),
                (":scheme", "https"),
                (":path", "/v1/items/9"),
                origin,
            ],
            true,
            16384,
        ),
    ));
    v.push((1, goaway(5, 0)));
    v
}

fn summary(o: &Out) -> Vec<String> {
    o.ex.iter()
        .map(|x| {
            format!(
                "{} {} {} {:?} {:?} {:?}",
                x.request.method,
                x.request.url,
                x.request.http_version,
                x.response.as_ref().map(|r| r.status),
                x.response
                    .as_ref()
                    .and_then(|r| r.headers.get_str("access-control-allow-origin")),
                x.hints
                    .h2_reset
                    .map(|r| (r.by_client, r.code, r.after_response)),
            )
        })
        .collect()
}

#[test]
fn streams_become_exchanges() {
    let o = run(&conversation(), true);
    assert_eq!(
        summary(&o),
        vec![
            "OPTIONS https://api.test/v1/items?x=1 HTTP/2 Some(204) Some(\"https://app.test\") None",
            "GET https://api.test/v1/other HTTP/2 Some(200) None Some((true, 8, true))",
            "PUT https://api.test/v1/items?x=1 HTTP/2 Some(200) Some(\"https://app.test\") None",
            "DELETE https://api.test/v1/items/9 HTTP/2 None None None",
        ]
    );
    let pre = &o.ex[0].request.headers;
    // Lower-case names as the browser sent them; pseudo-headers are not headers.
    assert_eq!(
        pre.get_str("Access-Control-Request-Method").as_deref(),
        Some("PUT")
    );
    assert!(pre.iter().all(|(n, _)| !n.starts_with(':')));
    assert_eq!(
        o.ex[2].request.headers.get_str("authorization").as_deref(),
        Some("Bearer secret-token")
    );
    assert_eq!(o.health.h2_streams_reset, 1);
    assert_eq!(o.health.hpack_errors, 0);
    assert_eq!(o.health.h2_frame_errors, 0);
    assert_eq!(o.health.unanswered_requests, 1);
}

fn regroup(pieces: &[(usize, Vec<u8>)], cuts: &[usize]) -> Vec<(usize, Vec<u8>)> {
    // Each side's bytes concatenated, then cut at the given offsets, keeping the original
    // interleaving of whole pieces between the sides.
    let mut out = Vec::new();
    let mut k = 0;
    for (side, b) in pieces {
        let mut at = 0;
        while at < b.len() {
            let step = cuts
                .get(k)
                .copied()
                .unwrap_or(b.len())
                .clamp(1, b.len() - at);
            k += 1;
            out.push((*side, b[at..at + step].to_vec()));
            at += step;
        }
    }
    out
}

proptest! {
    #[test]
    fn any_segmentation_gives_the_same_exchanges(cuts in prop::collection::vec(1usize..200, 0..400)) {
        let base = conversation();
        let want = summary(&run(&base, true));
        let got = summary(&run(&regroup(&base, &cuts), true));
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_do_not_panic(
        c in prop::collection::vec(any::<u8>(), 0..600),
        s in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut a = client_start();
        a.extend_from_slice(&c);
        let o = run(&[(0, a), (1, s)], false);
        prop_assert!(o.ex.len() <= 600);
    }
}

#[test]
fn hpack_error_stops_the_connection_and_is_counted() {
    let mut v = vec![(0, client_start())];
    v.push((0, frame(1, 0x5, 1, &[0x80])));
    v.push((0, frame(1, 0x5, 3, &[0x82, 0x86, 0x84])));
    let o = run(&v, false);
    assert_eq!(o.health.hpack_errors, 1);
    assert!(o.ex.is_empty());
}

#[test]
fn padded_and_priority_headers() {
    let mut ce = Encoder::default();
    let mut block = Vec::new();
    for (n, val) in [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/p"),
        (":authority", "h"),
    ] {
        ce.field(
            &mut block,
            n.as_bytes(),
            val.as_bytes(),
            hpack::Repr::Indexed,
        );
    }
    let mut p = vec![3u8];
    p.extend_from_slice(&[0x80, 0, 0, 1, 16]);
    p.extend_from_slice(&block);
    p.extend_from_slice(&[0, 0, 0]);
    let v = vec![
        (0, client_start()),
        (0, frame(1, 0x1 | 0x4 | 0x8 | 0x20, 1, &p)),
        (1, frame(1, 0x5, 1, &[0x89])),
    ];
    let o = run(&v, false);
    assert_eq!(
        summary(&o),
        vec!["GET http://h/p HTTP/2 Some(204) None None"]
    );
}

#[test]
fn open_streams_are_bounded() {
    let mut ce = Encoder::default();
    let mut v = vec![(0, client_start())];
    let mut c = H2Conn::new(false, true);
    let input: Arc<str> = Arc::from("t");
    let mut out = VecDeque::new();
    let mut health = CaptureHealth::default();
    let mut nh = 0;
    let mut cx = Ctx {
        input: &input,
        client: "10.0.0.1:1".parse().unwrap(),
        server: "10.0.0.2:80".parse().unwrap(),
        conn: 1,
        max_head: 65536,
        out: &mut out,
        health: &mut health,
        not_http: &mut nh,
        acked: None,
        scheme: "http",
    };
    c.data(0, &v.remove(0).1, 1, Timestamp(0), &mut cx);
    for i in 0..5000u32 {
        let path = format!("/{i}");
        let f = headers(
            &mut ce,
            2 * i + 1,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", &path),
                (":authority", "h"),
            ],
            true,
            16384,
        );
        c.data(0, &f, 2, Timestamp(0), &mut cx);
        assert!(c.buffered() < 1 << 20, "{}", c.buffered());
    }
    assert!(cx.out.len() >= 5000 - MAX_STREAMS);
}
