//! Paths the classifier shortcuts for speed must agree with the full checks.

use super::*;

#[test]
fn packet_pass_states_the_credentials_assumption() {
    // No Cookie on the wire: passes, but `*` would block a credentialed request.
    let ex = get()
        .status(200)
        .rh("Access-Control-Allow-Origin", "*")
        .packets()
        .ex();
    let c = run(&ex);
    assert!(c.blocked().is_none(), "{c:#?}");
    assert_eq!(
        c.pass_assumption.as_deref(),
        Some(
            "passes because no Cookie shows the request was credentialed; with credentials: 'include' the browser blocks it (wildcard_with_credentials)"
        )
    );
    // Echoed origin without ACAC: the credentialed request fails on ACAC.
    let ex = get()
        .status(200)
        .rh("Access-Control-Allow-Origin", APP)
        .packets()
        .ex();
    let c = run(&ex);
    assert!(
        c.pass_assumption
            .as_deref()
            .unwrap()
            .ends_with("(acac_invalid)")
    );
    // ACAC true: nothing to assume.
    let ex = get()
        .status(200)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Access-Control-Allow-Credentials", "true")
        .packets()
        .ex();
    assert_eq!(run(&ex).pass_assumption, None);
}

#[test]
fn missing_header_named_in_the_actual_requests_order() {
    let pf = preflight("PUT", "x-b, X-A")
        .status(204)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Access-Control-Allow-Methods", "PUT")
        .rh("Access-Control-Allow-Headers", "x-c")
        .ex();
    let actual = req("PUT", API)
        .h("Origin", APP)
        .h("X-A", "1")
        .h("x-b", "2")
        .ex();
    let ctx = Context {
        partner: Some(&actual),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_eq!(blocked(&c).failed_parameter.as_deref(), Some("x-a"));
    // All allowed, in any case: no verdict.
    let pf = preflight("PUT", "x-b, X-A")
        .status(204)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Access-Control-Allow-Methods", "PUT")
        .rh("Access-Control-Allow-Headers", "X-B, x-a")
        .ex();
    assert!(classify(&pf, &ctx).blocked().is_none());
}

#[test]
fn same_origin_compares_scheme_host_and_port_case_insensitively() {
    let ex = req("GET", "HTTPS://API.example:443/data")
        .h("Origin", "https://api.EXAMPLE")
        .status(200)
        .ex();
    assert_eq!(run(&ex).scope, Scope::NotCors(NotCors::SameOrigin));
    let ex = req("GET", "http://api.example/data")
        .h("Origin", "https://api.example")
        .status(200)
        .ex();
    assert_eq!(run(&ex).scope, Scope::Cors(ExchangeType::Simple));
    // Packets: host and port only (the captured scheme is a guess), or a forwarded host.
    let ex = req("GET", "http://backend:8080/data")
        .h("Origin", "https://api.example")
        .h("X-Forwarded-Host", "API.example")
        .status(200)
        .packets()
        .ex();
    assert_eq!(run(&ex).scope, Scope::NotCors(NotCors::SameOrigin));
}

#[test]
fn packet_request_without_response_is_not_a_certain_pass() {
    // The capture lost the response (or the connection ended first): nothing was checked.
    let c = run(&get().packets().ex());
    assert!(c.blocked().is_none(), "{c:#?}");
    assert_eq!(
        c.pass_assumption.as_deref(),
        Some(crate::cors::check::NO_RESPONSE_ON_WIRE)
    );
    // A recording without a response and without a failure says nothing of the kind.
    assert_eq!(run(&get().ex()).pass_assumption, None);
}
