//! The engine-specific branches (`check/firefox.rs`): each one's Firefox verdict (kind, Firefox
//! code, console line) beside Chromium's on the same exchange, from the taxonomy (§3.2–3.4) and
//! the Firefox recording of issue 16. Every exchange here also passes `engine::may_differ`, the
//! gate the pipeline classifies a second time behind.

use super::*;
use crate::cors::engine::{self, EngineCounts, EngineSplit, EngineVerdict};

const FF: &str = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example/data. ";
const DID_NOT_SUCCEED: &str = "(Reason: CORS request did not succeed). Status code: (null).";

fn as_engine(ex: &Exchange, engine: Engine, redirects: u32) -> Classification {
    assert!(
        engine::may_differ(ex),
        "an engine branch fired outside the gate: {ex:?}"
    );
    classify(
        ex,
        &Context {
            engine,
            redirects,
            ..Context::default()
        },
    )
}

fn firefox(ex: &Exchange) -> Classification {
    as_engine(ex, Engine::Firefox, 0)
}

fn chromium(ex: &Exchange) -> Classification {
    as_engine(ex, Engine::Chromium, 0)
}

fn assert_firefox(c: &Classification, kind: Kind, err: Option<CorsError>, code: &str, msg: &str) {
    let v = blocked(c);
    assert_eq!(v.kind, kind, "{c:#?}");
    assert_eq!(v.cors_error, err, "{c:#?}");
    assert_eq!(v.firefox_error, Some(code), "{c:#?}");
    assert_eq!(v.message, [FF, msg].concat());
}

/// A redirect of a simple GET that passes the CORS check on the 3xx.
fn redirect_to(location: &str) -> Exchange {
    get()
        .status(302)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Location", location)
        .ex()
}

#[test]
fn firefox_checks_acao_on_preflight_redirect() {
    let ex = preflight("PUT", "").status(307).rh("Location", "/x").ex();
    let c = chromium(&ex);
    assert_eq!(blocked(&c).kind, Kind::PreflightRedirect);
    assert_eq!(
        blocked(&c).cors_error,
        Some(CorsError::PreflightDisallowedRedirect)
    );
    assert_firefox(
        &firefox(&ex),
        Kind::PreflightAcaoMissing,
        Some(CorsError::PreflightMissingAllowOriginHeader),
        "CORSMissingAllowOrigin",
        "(Reason: CORS header 'Access-Control-Allow-Origin' missing). Status code: 307.",
    );
    // With ACAO, Firefox refuses the redirect, as Chromium does.
    let ex = pf_ok("PUT", "").status(307).rh("Location", "/x").ex();
    let ex = Exchange {
        response: ex.response.map(|mut r| {
            r.status = 307;
            r.headers
                .push(b"Access-Control-Allow-Origin", APP.as_bytes());
            r
        }),
        ..ex
    };
    assert_firefox(
        &firefox(&ex),
        Kind::PreflightRedirect,
        Some(CorsError::PreflightDisallowedRedirect),
        "CORSExternalRedirectNotAllowed",
        "(Reason: CORS request external redirect not allowed).",
    );
}

#[test]
fn firefox_stops_at_redirect_limit() {
    let ex = redirect_to(API);
    // The 20th redirect is followed; the 21st is not.
    assert!(as_engine(&ex, Engine::Firefox, 19).blocked().is_none());
    let c = as_engine(&ex, Engine::Firefox, 20);
    assert_firefox(
        &c,
        Kind::RedirectRefused,
        None,
        "CORSDidNotSucceed",
        DID_NOT_SUCCEED,
    );
    assert_eq!(
        blocked(&c).failed_parameter.as_deref(),
        Some("redirect 21 of at most 20")
    );
    // Chromium: net::ERR_TOO_MANY_REDIRECTS, no CORS error.
    assert!(as_engine(&ex, Engine::Chromium, 20).blocked().is_none());
}

#[test]
fn firefox_refuses_redirect_to_data_url() {
    let ex = redirect_to("data:text/plain,hi");
    let c = firefox(&ex);
    assert_firefox(
        &c,
        Kind::RedirectRefused,
        None,
        "CORSDidNotSucceed",
        DID_NOT_SUCCEED,
    );
    assert!(
        blocked(&c)
            .evidence
            .contains(&("Location".into(), "data:text/plain,…".into()))
    );
    // Chromium: net::ERR_UNSAFE_REDIRECT, no CORS error.
    assert!(chromium(&ex).blocked().is_none());
    // An http(s) target is followed by both.
    assert!(
        firefox(&redirect_to("https://api.example/next"))
            .blocked()
            .is_none()
    );
}

#[test]
fn firefox_fails_redirect_with_userinfo() {
    let ex = redirect_to("https://user:secret@api.example/next");
    let c = chromium(&ex);
    assert_eq!(blocked(&c).kind, Kind::RedirectUserinfo);
    assert_eq!(
        blocked(&c).cors_error,
        Some(CorsError::RedirectContainsCredentials)
    );
    assert_eq!(blocked(&c).firefox_error, None);
    let c = firefox(&ex);
    assert_firefox(
        &c,
        Kind::RedirectUserinfo,
        None,
        "CORSDidNotSucceed",
        DID_NOT_SUCCEED,
    );
    assert!(!format!("{c:?}").contains("secret"), "{c:#?}");
}

/// A Firefox HAR entry of a request that got no response: status 0, no headers.
fn failed_entry(b: B) -> Exchange {
    let mut ex = b.status(0).ex();
    ex.failure = Some(ClientFailure {
        error_text: None,
        status_field: 0,
    });
    ex
}

#[test]
fn firefox_reports_failed_channel_as_cors() {
    let ex = failed_entry(get());
    let c = chromium(&ex);
    assert_eq!(blocked(&c).kind, Kind::BlockedReasonUnknown);
    assert_eq!(blocked(&c).firefox_error, None);
    let c = firefox(&ex);
    assert_firefox(
        &c,
        Kind::BlockedReasonUnknown,
        None,
        "CORSDidNotSucceed",
        DID_NOT_SUCCEED,
    );
    assert!(matches!(c.confidence(), Confidence::Inferred(_)));
    // Recorded without `Origin`: the same-origin policy stopped it before (a Security Error).
    let ex = failed_entry(req("GET", API).h("Referer", "https://app.example/"));
    if let Some(v) = firefox(&ex).blocked() {
        assert_eq!(v.firefox_error, None, "{v:#?}");
    }
}

#[test]
fn firefox_preflight_failed_in_recording() {
    let ex = failed_entry(preflight("PUT", ""));
    assert_eq!(blocked(&chromium(&ex)).kind, Kind::BlockedReasonUnknown);
    let c = firefox(&ex);
    assert_firefox(
        &c,
        Kind::PreflightNoResponse,
        None,
        "CORSDidNotSucceed",
        DID_NOT_SUCCEED,
    );
    // The actual request behind it, listed first in Firefox's HAR, carries the same verdict.
    let actual = failed_entry(req("PUT", API).h("Origin", APP));
    let ctx = Context {
        partner: Some(&ex),
        pairing: crate::model::Pairing::ActualAfterPreflight,
        engine: Engine::Firefox,
        ..Context::default()
    };
    let c = classify(&actual, &ctx);
    assert_eq!(blocked(&c).kind, Kind::PreflightNoResponse);
    assert_eq!(blocked(&c).firefox_error, Some("CORSDidNotSucceed"));
}

#[test]
fn firefox_har_records_no_blocking() {
    // Passes without credentials, fails with them: Firefox's HAR would look the same either way.
    let ex = get()
        .status(200)
        .rh("Access-Control-Allow-Origin", "*")
        .ex();
    let as_ff = |ex: &Exchange| {
        classify(
            ex,
            &Context {
                engine: Engine::Firefox,
                ..Context::default()
            },
        )
    };
    let c = as_ff(&ex);
    assert!(c.blocked().is_none());
    assert!(
        c.pass_assumption
            .as_deref()
            .is_some_and(|a| a.contains("wildcard_with_credentials")),
        "{c:#?}"
    );
    // Chromium's HAR marks a blocked entry failed: its pass is certain.
    assert_eq!(run(&ex).pass_assumption, None);
}

#[test]
fn firefox_console_line_replaces_chromium_s() {
    let ex = get()
        .status(200)
        .rh("Access-Control-Allow-Origin", "https://other.example")
        .ex();
    let c = classify(
        &ex,
        &Context {
            engine: Engine::Firefox,
            ..Context::default()
        },
    );
    assert_firefox(
        &c,
        Kind::AcaoMismatch,
        Some(CorsError::AllowOriginMismatch),
        "CORSAllowOriginNotMatchingOrigin",
        "(Reason: CORS header 'Access-Control-Allow-Origin' does not match 'https://other.example').",
    );
    assert!(run(&ex).verdicts[0].message.starts_with(PREFIX));
}

#[test]
fn engine_names_and_detection() {
    assert_eq!(Engine::from_name("Firefox"), Some(Engine::Firefox));
    assert_eq!(Engine::from_name("WebInspector"), Some(Engine::Chromium));
    assert_eq!(Engine::from_name("chromium"), Some(Engine::Chromium));
    assert_eq!(Engine::from_name("Playwright"), None);
    assert_eq!("firefox".parse::<Engine>(), Ok(Engine::Firefox));
    assert!("webkit".parse::<Engine>().is_err());
    let mut ex = get().ex();
    assert_eq!(Engine::of(&ex, None), Engine::Chromium);
    ex.hints.producer = Some("Playwright".into());
    ex.hints.browser = Some("firefox".into());
    assert_eq!(Engine::of(&ex, None), Engine::Firefox);
    // What the user states wins.
    assert_eq!(Engine::of(&ex, Some(Engine::Chromium)), Engine::Chromium);
    // Only a response that is a redirect, or none, can part the engines.
    assert!(!engine::may_differ(&get().status(200).ex()));
}

#[test]
fn split_only_where_engines_decide_differently() {
    let ex = redirect_to("data:text/plain,hi");
    let (cr, ff) = (chromium(&ex), firefox(&ex));
    let split = EngineSplit::of(Engine::Chromium, &cr, &ff).expect("a split");
    assert_eq!(split.only(), Some(Engine::Firefox));
    assert_eq!(split.firefox.code.as_deref(), Some("CORSDidNotSucceed"));
    assert_eq!(
        EngineSplit::of(Engine::Firefox, &ff, &cr),
        Some(split.clone())
    );
    let mut counts = EngineCounts::default();
    counts.record(&split);
    assert_eq!(counts.only_firefox, 1);
    // The same verdict under both engines (each with its own console line): no split.
    let ex = get().status(302).rh("Location", API).ex();
    let (cr, ff) = (chromium(&ex), firefox(&ex));
    assert_ne!(blocked(&cr).message, blocked(&ff).message);
    assert_eq!(EngineSplit::of(Engine::Chromium, &cr, &ff), None);
    let v = EngineVerdict::of(Engine::Firefox, &ff);
    assert_eq!(v.code.as_deref(), Some("CORSMissingAllowOrigin"));
}
