//! Where the wire is silent: a failed recording entry without response headers, judged from
//! what the rest of the recording holds (stale cache, Local Network Access), and the likely
//! causes of what stays unknown.

use super::*;

/// A failed HAR entry for the API with provisional headers only (no `Origin`), from the app.
fn failed_get(url: &str) -> B {
    req("GET", url)
        .h("Referer", &format!("{APP}/"))
        .fail("net::ERR_FAILED")
        .rt("fetch")
}

/// An earlier recording entry for `API` whose answer the cache may hold.
fn cached(headers: &[(&str, &str)]) -> Exchange {
    let mut b = req("GET", API).status(200);
    for (n, v) in headers {
        b = b.rh(n, v);
    }
    b.ex()
}

fn with_cache(ex: &Exchange, earlier: &Exchange) -> Classification {
    classify(
        ex,
        &Context {
            cached_response: Some(earlier),
            ..Context::default()
        },
    )
}

#[test]
fn stale_cache_from_an_earlier_cacheable_answer() {
    let ex = failed_get(API).ex();
    // No ACAO at all (filled by a no-cors request): MissingAllowOriginHeader.
    let earlier = cached(&[("Cache-Control", "public, max-age=600")]);
    let c = with_cache(&ex, &earlier);
    let v = blocked(&c);
    assert_eq!(v.kind, Kind::AcaoStaleCache);
    assert_eq!(v.cors_error, Some(CorsError::MissingAllowOriginHeader));
    assert!(
        matches!(&v.confidence, Confidence::Inferred(a) if a.contains("entry 0 earlier")),
        "{v:?}"
    );
    // Another origin's answer: AllowOriginMismatch, naming the cached value.
    let earlier = cached(&[
        ("Cache-Control", "max-age=60"),
        ("Access-Control-Allow-Origin", "https://other.example"),
    ]);
    let v = with_cache(&ex, &earlier).blocked().cloned().unwrap();
    assert_eq!(
        (v.kind, v.cors_error),
        (Kind::AcaoStaleCache, Some(CorsError::AllowOriginMismatch))
    );
    // A cached answer that allows this origin explains nothing.
    let earlier = cached(&[("Access-Control-Allow-Origin", APP)]);
    assert_eq!(
        blocked(&with_cache(&ex, &earlier)).kind,
        Kind::BlockedReasonUnknown
    );
}

#[test]
fn local_network_access_from_the_address_spaces() {
    let ex = failed_get("http://192.168.1.20/api").ex();
    let v = blocked(&run(&ex)).clone();
    assert_eq!(v.kind, Kind::LnaPermissionDenied);
    assert_eq!(
        v.cors_error,
        Some(CorsError::LocalNetworkAccessPermissionDenied)
    );
    assert!(matches!(&v.confidence, Confidence::Inferred(a) if a.contains("public address space")));
    // Same space (a loopback page calling loopback): not LNA, still unknown.
    let ex = req("GET", "http://127.0.0.1:8000/api")
        .h("Referer", "http://localhost:5173/")
        .fail("net::ERR_FAILED")
        .rt("fetch")
        .ex();
    assert_eq!(blocked(&run(&ex)).kind, Kind::BlockedReasonUnknown);
    // An ordinary host name says nothing of its address space.
    assert_eq!(
        blocked(&run(&failed_get(API).ex())).kind,
        Kind::BlockedReasonUnknown
    );
}

#[test]
fn likely_causes_ranked_by_what_the_recording_shows() {
    let kinds = |ex: &Exchange, ctx: &Context<'_>| -> Vec<Kind> {
        causes::likely_causes(ex, ctx)
            .into_iter()
            .map(|c| c.kind)
            .collect()
    };
    let ctx = Context::default();
    // A simple GET: the answer's ACAO first.
    let simple = failed_get(API).ex();
    assert_eq!(kinds(&simple, &ctx)[0], Kind::AcaoMissing);
    // A PUT with a custom header and Authorization, no preflight recorded: auth on OPTIONS first.
    let put = req("PUT", API)
        .h("Authorization", "Bearer x")
        .h("X-Request-Id", "1")
        .fail("net::ERR_FAILED")
        .ex();
    let k = kinds(&put, &ctx);
    assert_eq!(
        &k[..3],
        [
            Kind::PreflightAuthRejected,
            Kind::PreflightAcaoMissing,
            Kind::PreflightStatusNotOk
        ]
    );
    assert!(k.len() <= causes::MAX_CAUSES);
    // The preflight passed: the actual response's ACAO.
    let pf = pf_ok("PUT", "").ex();
    let ctx = Context {
        partner: Some(&pf),
        ..Context::default()
    };
    assert_eq!(kinds(&put, &ctx)[0], Kind::AcaoMissing);
    // Every cause says what tells it apart.
    for c in causes::likely_causes(&simple, &Context::default()) {
        assert!(!c.tell.is_empty() && !c.why.is_empty(), "{c:?}");
    }
}
