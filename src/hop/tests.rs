//! The hop stage on hand-made exchanges: which exchanges are two hops of one request, which
//! one is judged, what the inner hop tells, and the bounds.

use super::facts::layers;
use super::*;
use crate::aggregate::Limits;
use crate::cors::Kind;
use crate::event::Event;
use crate::model::{Headers, Location, Request, Response, SourceRef};
use crate::pair::PairConfig;
use crate::pipeline::Analyzer;
use std::net::SocketAddr;

const ORIGIN: &str = "https://app.example";
const BROWSER: &str = "10.0.0.9:51000";
const PROXY: &str = "10.0.0.2:443";
const PROXY_OUT: &str = "10.0.0.2:40000";
const APP: &str = "10.0.0.3:8080";

struct X(Exchange);

fn addr(s: &str) -> Option<SocketAddr> {
    s.parse().ok()
}

/// A packet exchange `method url` from `client` to `server`, `t_ms` into the capture.
fn ex(n: u64, t_ms: i64, method: &str, url: &str, client: &str, server: &str) -> X {
    X(Exchange {
        source: SourceRef {
            input: Arc::from("cap.pcap"),
            location: Location::Packets {
                request: n,
                response: Some(n + 1),
            },
        },
        time: Timestamp(t_ms * 1_000_000),
        client: addr(client),
        server: addr(server),
        connection: None,
        request: Request {
            method: method.into(),
            url: url.into(),
            http_version: "HTTP/1.1".into(),
            headers: [("Origin", ORIGIN), ("Sec-Fetch-Mode", "cors")]
                .into_iter()
                .collect(),
        },
        response: Some(Response {
            status: 200,
            headers: Headers::new(),
        }),
        failure: None,
        hints: Default::default(),
    })
}

impl X {
    fn h(mut self, n: &str, v: &str) -> Self {
        self.0.request.headers.push(n.as_bytes(), v.as_bytes());
        self
    }
    fn rh(mut self, n: &str, v: &str) -> Self {
        if let Some(r) = self.0.response.as_mut() {
            r.headers.push(n.as_bytes(), v.as_bytes());
        }
        self
    }
    fn version(mut self, v: &str) -> Self {
        self.0.request.http_version = v.into();
        self
    }
    fn b(self) -> Box<Exchange> {
        Box::new(self.0)
    }
}

/// The browser's GET through the proxy: outer (browser→proxy) and inner (proxy→app) hops.
fn outer() -> X {
    ex(10, 0, "GET", "https://api.example/api/data", BROWSER, PROXY)
}
fn inner() -> X {
    ex(
        20,
        3,
        "GET",
        "http://10.0.0.3:8080/api/data",
        PROXY_OUT,
        APP,
    )
}

/// Everything through the stage, in the order given; what comes out.
fn run(xs: Vec<Box<Exchange>>, cfg: HopConfig) -> (Vec<Box<Exchange>>, HopStage) {
    let mut st = HopStage::new(cfg);
    let mut out = Vec::new();
    for x in xs {
        st.push(x, &mut out);
    }
    st.finish(&mut out);
    (out, st)
}

/// Everything through the whole pipeline; the events.
fn events(xs: Vec<Box<Exchange>>, cfg: HopConfig) -> (Vec<Event>, crate::aggregate::Aggregate) {
    let mut evs = Vec::new();
    let agg = {
        let mut a = Analyzer::new(
            PairConfig::default(),
            Limits::default(),
            true,
            |e: &Event| evs.push(e.clone()),
        )
        .with_hops(cfg);
        for x in xs {
            a.push(x);
        }
        a.finish()
    };
    (evs, agg)
}

#[test]
fn two_hops_judged_once_at_the_browser_facing_one() {
    // The inner hop completes first (the proxy answers after the app did).
    let (out, mut st) = run(vec![inner().b(), outer().b()], HopConfig::default());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].client, addr(BROWSER));
    match st.take(&out[0]) {
        Seen::Both(inner) => assert_eq!(inner[0].server, addr(APP)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn proxy_added_acao_no_blocked_verdict() {
    let (evs, agg) = events(
        vec![
            inner().b(),
            outer()
                .rh("Server", "nginx/1.22.1")
                .rh("Access-Control-Allow-Origin", ORIGIN)
                .b(),
        ],
        HopConfig::default(),
    );
    assert_eq!(evs.len(), 1, "{evs:#?}");
    let e = &evs[0];
    assert!(!e.blocked);
    let hop = e.hop.as_ref().expect("hop facts");
    assert_eq!(hop.visible, Visible::Both);
    assert_eq!(hop.proxy.as_deref(), Some("nginx/1.22.1"));
    assert_eq!(hop.layers[0].set_by, Layer::Proxy);
    assert!(
        hop.note.starts_with(
            "The app answered without Access-Control-Allow-Origin; the proxy added it"
        ),
        "{}",
        hop.note
    );
    assert_eq!(e.notes[0].kind, Kind::ProxyChangedCorsHeaders);
    assert_eq!(agg.hops.both_seen, 1);
    assert_eq!(agg.hops.inner_hops, 1);
    assert_eq!(agg.totals.cross_origin, 1);
    assert_eq!(agg.totals.blocked, 0);
    let rows = agg.hops.rows(10);
    assert_eq!(
        (rows[0].header.as_str(), rows[0].set_by.as_str()),
        ("Access-Control-Allow-Origin", "proxy")
    );
}

#[test]
fn blocked_request_counted_once_and_duplicate_lines_attributed() {
    let (evs, agg) = events(
        vec![
            inner().rh("Access-Control-Allow-Origin", ORIGIN).b(),
            outer()
                .rh("Access-Control-Allow-Origin", ORIGIN)
                .rh("Access-Control-Allow-Origin", ORIGIN)
                .b(),
        ],
        HopConfig::default(),
    );
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].kind, Some(Kind::AcaoMultipleValues));
    assert_eq!(agg.totals.blocked, 1);
    let hop = evs[0].hop.as_ref().expect("hop");
    assert_eq!(hop.layers[0].set_by, Layer::Both);
    assert!(
        hop.note.contains("the proxy added another line"),
        "{}",
        hop.note
    );
}

#[test]
fn forwarding_headers_tell_hops_apart_when_addresses_do_not() {
    // Loopback: every address is 127.0.0.1, and Apache's forwarding headers mark the inner hop.
    let o = ex(
        1,
        0,
        "GET",
        "http://127.0.0.1:8081/s/x",
        "127.0.0.1:50000",
        "127.0.0.1:8081",
    );
    let i = ex(
        2,
        0,
        "GET",
        "http://127.0.0.1:9000/s/x",
        "127.0.0.1:50001",
        "127.0.0.1:9000",
    )
    .h("X-Forwarded-For", "127.0.0.1")
    .h("X-Forwarded-Host", "127.0.0.1:8081");
    let (out, mut st) = run(vec![i.b(), o.b()], HopConfig::default());
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].source.index(),
        1,
        "same start: the unforwarded one is outer"
    );
    assert!(matches!(st.take(&out[0]), Seen::Both(_)));
}

#[test]
fn a_proxy_stripping_a_path_prefix_still_matches() {
    let i = ex(20, 3, "GET", "http://10.0.0.3:8080/data", PROXY_OUT, APP);
    let (out, _) = run(vec![i.b(), outer().b()], HopConfig::default());
    assert_eq!(out.len(), 1);
}

#[test]
fn unrelated_requests_are_not_merged() {
    // Two identical requests from the browser to the same server: parallel, not hops.
    let a = outer();
    let b = ex(
        30,
        1,
        "GET",
        "https://api.example/api/data",
        "10.0.0.9:51001",
        PROXY,
    );
    let (out, _) = run(vec![a.b(), b.b()], HopConfig::default());
    assert_eq!(out.len(), 2);
    // Too far apart.
    let late = ex(
        20,
        5_000,
        "GET",
        "http://10.0.0.3:8080/api/data",
        PROXY_OUT,
        APP,
    );
    let (out, _) = run(vec![outer().b(), late.b()], HopConfig::default());
    assert_eq!(out.len(), 2);
    // Another method, another target, another origin.
    let put = ex(
        20,
        3,
        "PUT",
        "http://10.0.0.3:8080/api/data",
        PROXY_OUT,
        APP,
    );
    let other = ex(
        20,
        3,
        "GET",
        "http://10.0.0.3:8080/api/other",
        PROXY_OUT,
        APP,
    );
    let mut foreign = inner();
    foreign.0.request.headers = [("Origin", "https://evil.example")].into_iter().collect();
    for x in [put, other, foreign] {
        let (out, _) = run(vec![x.b(), outer().b()], HopConfig::default());
        assert_eq!(out.len(), 2);
    }
    // No proxy between them: neither address nor forwarding headers say so.
    let stranger = ex(
        20,
        3,
        "GET",
        "http://10.0.0.3:8080/api/data",
        "10.0.0.7:40000",
        APP,
    );
    let (out, _) = run(vec![stranger.b(), outer().b()], HopConfig::default());
    assert_eq!(out.len(), 2);
}

#[test]
fn order_is_kept_and_har_passes_through() {
    let mut har = outer();
    har.0.source.location = Location::HarEntry(0);
    har.0.source.input = Arc::from("s.har");
    let no_origin = {
        let mut x = ex(5, 1, "GET", "https://api.example/x", BROWSER, PROXY);
        x.0.request.headers = Headers::new();
        x
    };
    let (out, _) = run(
        vec![inner().b(), no_origin.b(), outer().b(), har.b()],
        HopConfig::default(),
    );
    let idx: Vec<u64> = out.iter().map(|e| e.source.index()).collect();
    // The merged request takes the place of its first hop seen; nothing overtakes it.
    assert_eq!(idx, vec![10, 5, 0]);
}

#[test]
fn three_hops_one_request() {
    let cdn = ex(
        1,
        0,
        "GET",
        "https://api.example/api/data",
        BROWSER,
        "10.0.0.1:443",
    );
    let lb = ex(
        2,
        1,
        "GET",
        "http://10.0.0.2/api/data",
        "10.0.0.1:30000",
        "10.0.0.2:80",
    )
    .h("X-Forwarded-For", "10.0.0.9");
    let app = ex(
        3,
        2,
        "GET",
        "http://10.0.0.3:8080/api/data",
        "10.0.0.2:40000",
        APP,
    )
    .h("X-Forwarded-For", "10.0.0.9, 10.0.0.1");
    let (out, mut st) = run(vec![app.b(), lb.b(), cdn.b()], HopConfig::default());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].source.index(), 1);
    match st.take(&out[0]) {
        Seen::Both(inner) => {
            let idx: Vec<u64> = inner.iter().map(|e| e.source.index()).collect();
            assert_eq!(idx, vec![2, 3]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cap_lets_the_oldest_go_and_counts_it() {
    let cfg = HopConfig {
        max_pending: 2,
        ..HopConfig::default()
    };
    let xs = (0..5)
        .map(|i| {
            ex(
                i,
                i as i64,
                "GET",
                &format!("https://api.example/r{i}"),
                BROWSER,
                PROXY,
            )
            .b()
        })
        .collect();
    let (out, st) = run(xs, cfg);
    assert_eq!(out.len(), 5);
    assert_eq!(st.evicted(), 3);
}

#[test]
fn byte_cap_lets_the_oldest_go_and_counts_it() {
    let xs: Vec<_> = (0..5)
        .map(|i| {
            ex(
                i,
                i as i64,
                "GET",
                &format!("https://api.example/r{i}"),
                BROWSER,
                PROXY,
            )
            .b()
        })
        .collect();
    let one = xs[0].heap_bytes();
    let cfg = HopConfig {
        max_pending_bytes: one * 2 + one / 2,
        ..HopConfig::default()
    };
    let (out, st) = run(xs, cfg);
    assert_eq!(out.len(), 5);
    assert_eq!(st.evicted(), 3);
}

#[test]
fn inner_hop_alone_judged_as_the_browsers_inferred() {
    let i = inner()
        .h("X-Forwarded-For", "10.0.0.9")
        .h("X-Forwarded-Proto", "https")
        .h("X-Forwarded-Host", "api.example")
        .h("Via", "1.1 edge-proxy");
    let (evs, agg) = events(vec![i.b()], HopConfig::default());
    assert_eq!(evs.len(), 1);
    let e = &evs[0];
    // Judged as the browser sent it: a simple GET to the browser-facing URL.
    assert_eq!(e.url, "https://api.example/api/data");
    assert_eq!(e.exchange_type, crate::cors::ExchangeType::Simple);
    assert_eq!(e.kind, Some(Kind::AcaoMissing));
    assert!(e.counted);
    assert!(
        matches!(&e.confidence, crate::cors::Confidence::Inferred(a) if a.contains("only the proxy→app hop is visible")),
        "{:?}",
        e.confidence
    );
    let hop = e.hop.as_ref().expect("hop");
    assert_eq!(hop.visible, Visible::InnerOnly);
    assert_eq!(hop.proxy.as_deref(), Some("edge-proxy (Via)"));
    assert_eq!(e.notes[0].kind, Kind::InnerHopOnly);
    assert_eq!((agg.totals.blocked, agg.hops.inner_only), (1, 1));
}

#[test]
fn inner_hop_alone_with_proxy_sets_cors_is_the_apps_answer() {
    let cfg = HopConfig {
        proxy_sets_cors: true,
        ..HopConfig::default()
    };
    let (evs, agg) = events(vec![inner().h("X-Real-IP", "10.0.0.9").b()], cfg);
    assert_eq!(evs.len(), 1);
    assert!(!evs[0].counted);
    assert!(!evs[0].hop.as_ref().expect("hop").counted);
    assert_eq!((agg.totals.blocked, agg.hops.app_only), (0, 1));
    // Both hops visible: the traffic decides, the option does not matter.
    let cfg = HopConfig {
        proxy_sets_cors: true,
        ..HopConfig::default()
    };
    let (evs, agg) = events(
        vec![inner().h("X-Real-IP", "10.0.0.9").b(), outer().b()],
        cfg,
    );
    assert_eq!(evs.len(), 1);
    assert!(evs[0].counted && evs[0].blocked);
    assert_eq!((agg.totals.blocked, agg.hops.both_seen), (1, 1));
}

#[test]
fn nginx_default_upstream_request_is_an_inner_hop() {
    let i = inner().version("HTTP/1.0");
    let (evs, _) = events(vec![i.b()], HopConfig::default());
    let hop = evs[0].hop.as_ref().expect("hop");
    assert_eq!(hop.visible, Visible::InnerOnly);
    assert!(hop.note.contains("HTTP/1.0"), "{}", hop.note);
}

#[test]
fn inner_preflight_is_not_paired_with_the_outer_actual() {
    // Apache forwards a simple GET with X-Forwarded-* (non-safelisted): alone, that inner hop
    // would look like a request needing a preflight.
    let o = outer().rh("Access-Control-Allow-Origin", ORIGIN);
    let i = inner()
        .h("X-Forwarded-For", "10.0.0.9")
        .rh("Access-Control-Allow-Origin", ORIGIN);
    let (evs, agg) = events(vec![i.b(), o.b()], HopConfig::default());
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].exchange_type, crate::cors::ExchangeType::Simple);
    assert_eq!(agg.pairing.actual_without_preflight, 0);
}

#[test]
fn layers_name_every_change() {
    let app = Response {
        status: 200,
        headers: [
            ("Access-Control-Allow-Origin", "https://a.example"),
            ("Access-Control-Allow-Credentials", "true"),
            ("Vary", "Origin"),
        ]
        .into_iter()
        .collect(),
    };
    let browser = Response {
        status: 200,
        headers: [
            ("Access-Control-Allow-Origin", "*"),
            ("Vary", "Origin"),
            ("Access-Control-Max-Age", "600"),
        ]
        .into_iter()
        .collect(),
    };
    let l: Vec<(&str, Layer)> = layers(&app, &browser)
        .iter()
        .map(|l| (l.header, l.set_by))
        .collect();
    assert_eq!(
        l,
        vec![
            ("Access-Control-Allow-Origin", Layer::ProxyChanged),
            ("Access-Control-Allow-Credentials", Layer::ProxyRemoved),
            ("Access-Control-Max-Age", Layer::Proxy),
            ("Vary", Layer::App),
        ]
    );
}

#[test]
fn groups_under_one_key_stay_chained_as_the_oldest_go() {
    // Six browsers send the same request to the proxy 400 ms apart (one key, six groups: they
    // share the server), each followed 3 ms later by its inner hop, which the request 400 ms
    // before could also be. With a 1 s window the oldest groups go while later ones wait, so
    // the chain under the key loses its head while it grows at its tail.
    let cfg = HopConfig {
        window_ns: 1_000_000_000,
        ..HopConfig::default()
    };
    let url = "https://api.example/api/data";
    let mut xs = Vec::new();
    for i in 0..6_i64 {
        let t = i * 400;
        let n = 100 + 10 * i as u64;
        xs.push(ex(n, t, "GET", url, &format!("10.0.0.{}:51000", 10 + i), PROXY).b());
        let out = format!("10.0.0.2:{}", 40000 + i);
        xs.push(
            ex(
                n + 5,
                t + 3,
                "GET",
                "http://10.0.0.3:8080/api/data",
                &out,
                APP,
            )
            .b(),
        );
    }
    let (out, mut st) = run(xs, cfg);
    assert_eq!(out.len(), 6);
    for (i, o) in out.iter().enumerate() {
        assert_eq!(o.time, Timestamp(i as i64 * 400_000_000));
        match st.take(o) {
            Seen::Both(inner) => {
                assert_eq!(inner.len(), 1);
                assert_eq!(inner[0].time.0 - o.time.0, 3_000_000, "request {i}");
            }
            other => panic!("request {i}: {other:?}"),
        }
    }
    assert!(st.matcher.index.is_empty());
    assert_eq!(st.evicted(), 0);
}
