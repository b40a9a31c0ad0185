//! Scope: what is not a CORS request, and never counted as a CORS failure.

use super::*;

#[test]
fn non_cors_network_errors_are_never_blocked() {
    for err in [
        "net::ERR_BLOCKED_BY_ORB",
        "net::ERR_BLOCKED_BY_RESPONSE.NotSameOrigin",
        "net::ERR_CONNECTION_REFUSED",
        "net::ERR_NAME_NOT_RESOLVED",
        "blocked:mixed-content",
        "NS_ERROR_CONNECTION_REFUSED",
        "ConnectionRefusedError: [Errno 111] Connection refused",
    ] {
        let c = run(&get().status(200).fail(err).ex());
        assert_eq!(
            c.scope,
            Scope::NotCors(NotCors::NetworkError(err.into())),
            "{err}"
        );
        assert!(c.blocked().is_none(), "{err}");
    }
}

#[test]
fn opaque_no_cors() {
    let c = run(&req("GET", API)
        .h("Sec-Fetch-Mode", "no-cors")
        .h("Sec-Fetch-Dest", "empty")
        .h("Sec-Fetch-Site", "cross-site")
        .status(200)
        .ex());
    assert_eq!(c.scope, Scope::NotCors(NotCors::Mode("no-cors".into())));
    assert!(c.blocked().is_none());
    assert_eq!(find(&c, Kind::OpaqueNoCors).class(), VerdictClass::Note);
    // An <img> is no-cors by nature: nothing to explain.
    let c = run(&req("GET", API)
        .h("Sec-Fetch-Mode", "no-cors")
        .h("Sec-Fetch-Dest", "image")
        .status(200)
        .ex());
    assert_eq!(c.scope, Scope::NotCors(NotCors::Mode("no-cors".into())));
    assert!(c.verdicts.is_empty());
}

#[test]
fn no_cors_headers_dropped() {
    let c = run(&req("POST", API)
        .h("Origin", APP)
        .h("Sec-Fetch-Mode", "no-cors")
        .h("Sec-Fetch-Dest", "empty")
        .h("Content-Type", "text/plain;charset=UTF-8")
        .status(415)
        .ex());
    let v = find(&c, Kind::NoCorsHeadersDropped);
    assert!(v.message.contains("the server answered 415"));
}

#[test]
fn scopes() {
    assert_eq!(
        run(&req("GET", API).status(200).ex()).scope,
        Scope::NotCors(NotCors::NoOrigin)
    );
    let ws = req("GET", "https://api.example/ws")
        .h("Origin", APP)
        .h("Upgrade", "websocket")
        .ex();
    assert_eq!(run(&ws).scope, Scope::NotCors(NotCors::WebSocket));
    let same = req("POST", "https://app.example/x")
        .h("Origin", APP)
        .status(200)
        .ex();
    assert_eq!(run(&same).scope, Scope::NotCors(NotCors::SameOrigin));
    let site = get().h("Sec-Fetch-Site", "same-origin").status(200).ex();
    assert_eq!(run(&site).scope, Scope::NotCors(NotCors::SameOrigin));
    // Packet capture: the URL scheme is a guess, so `https://api.x` vs `Host: api.x` is same-origin.
    let pk = req("POST", "http://api.x/login")
        .h("Origin", "https://api.x")
        .status(200)
        .packets()
        .ex();
    assert_eq!(run(&pk).scope, Scope::NotCors(NotCors::SameOrigin));
    let pk = req("POST", "http://api.x:8080/login")
        .h("Origin", "https://api.x")
        .status(200)
        .packets()
        .ex();
    assert_eq!(run(&pk).scope, Scope::Cors(ExchangeType::Simple));
    // Behind a reverse proxy that rewrites Host.
    for fwd in [
        ("X-Forwarded-Host", "app.example"),
        (
            "Forwarded",
            "for=1.2.3.4;host=\"app.example:443\";proto=https",
        ),
    ] {
        let pk = req("POST", "http://backend:8080/login")
            .h("Origin", APP)
            .h(fwd.0, fwd.1)
            .status(200)
            .packets()
            .ex();
        assert_eq!(
            run(&pk).scope,
            Scope::NotCors(NotCors::SameOrigin),
            "{fwd:?}"
        );
    }
}
