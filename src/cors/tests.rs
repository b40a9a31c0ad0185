//! One test per kind the classifier produces, from small hand-made exchanges, asserting the kind,
//! the Chromium `CorsError` and the exact console message.

use super::*;
use crate::model::{
    ClientFailure, ClientHints, Exchange, Headers, Location, Request, Response, SourceRef,
    Timestamp,
};
use std::sync::Arc;

const API: &str = "https://api.example/data";
const APP: &str = "https://app.example";
const PREFIX: &str = "Access to fetch at 'https://api.example/data' from origin 'https://app.example' has been blocked by CORS policy: ";

struct B(Exchange);

fn req(method: &str, url: &str) -> B {
    B(Exchange {
        source: SourceRef {
            input: Arc::from("test.har"),
            location: Location::HarEntry(0),
        },
        time: Timestamp(0),
        client: None,
        server: None,
        connection: None,
        request: Request {
            method: method.into(),
            url: url.into(),
            http_version: "HTTP/1.1".into(),
            headers: Headers::new(),
        },
        response: None,
        failure: None,
        hints: ClientHints::default(),
    })
}

/// A cross-origin GET from the app to the API.
fn get() -> B {
    req("GET", API).h("Origin", APP)
}

/// A preflight for `method` with ACRH `acrh` (empty: none).
fn preflight(method: &str, acrh: &str) -> B {
    let b = req("OPTIONS", API)
        .h("Origin", APP)
        .h("Access-Control-Request-Method", method);
    if acrh.is_empty() {
        b
    } else {
        b.h("Access-Control-Request-Headers", acrh)
    }
}

impl B {
    fn h(mut self, n: &str, v: &str) -> Self {
        self.0.request.headers.push(n.as_bytes(), v.as_bytes());
        self
    }
    fn status(mut self, s: u16) -> Self {
        self.0.response = Some(Response {
            status: s,
            headers: Headers::new(),
        });
        self
    }
    fn rh(mut self, n: &str, v: &str) -> Self {
        if let Some(r) = self.0.response.as_mut() {
            r.headers.push(n.as_bytes(), v.as_bytes());
        }
        self
    }
    fn fail(mut self, text: &str) -> Self {
        self.0.failure = Some(ClientFailure {
            error_text: Some(text.into()),
            status_field: 0,
        });
        self
    }
    fn rt(mut self, t: &str) -> Self {
        self.0.hints.resource_type = Some(t.into());
        self
    }
    fn ip(mut self, ip: &str) -> Self {
        self.0.hints.server_ip = Some(ip.parse().unwrap());
        self
    }
    fn packets(mut self) -> Self {
        self.0.source.location = Location::Packets {
            request: 1,
            response: Some(2),
        };
        self
    }
    fn ex(self) -> Exchange {
        self.0
    }
}

fn run(ex: &Exchange) -> Classification {
    classify(ex, &Context::default())
}

fn blocked(c: &Classification) -> &Verdict {
    c.blocked()
        .unwrap_or_else(|| panic!("expected a blocked verdict: {c:#?}"))
}

fn assert_blocked(c: &Classification, kind: Kind, err: Option<CorsError>, message: &str) {
    let v = blocked(c);
    assert_eq!(v.kind, kind, "{c:#?}");
    assert_eq!(v.cors_error, err, "{c:#?}");
    assert_eq!(v.message, message);
    assert_eq!(
        c.verdicts
            .iter()
            .filter(|v| v.class() == VerdictClass::Blocked)
            .count(),
        1
    );
}

fn find(c: &Classification, kind: Kind) -> &Verdict {
    c.verdicts
        .iter()
        .find(|v| v.kind == kind)
        .unwrap_or_else(|| panic!("no {kind}: {c:#?}"))
}

fn has(c: &Classification, kind: Kind) -> bool {
    c.verdicts.iter().any(|v| v.kind == kind)
}

// ----- actual responses -----

#[test]
fn acao_missing() {
    let c = run(&get().status(200).ex());
    assert_eq!(c.scope, Scope::Cors(ExchangeType::Simple));
    assert_blocked(
        &c,
        Kind::AcaoMissing,
        Some(CorsError::MissingAllowOriginHeader),
        &format!(
            "{PREFIX}No 'Access-Control-Allow-Origin' header is present on the requested resource."
        ),
    );
    let v = blocked(&c);
    assert_eq!(v.firefox_error, Some("CORSMissingAllowOrigin"));
    assert_eq!(v.confidence, Confidence::Certain);
    assert_eq!(v.evidence, vec![("Origin".into(), APP.into())]);
}

#[test]
fn acao_missing_error_path() {
    let c = run(&get().status(502).ex());
    assert_blocked(
        &c,
        Kind::AcaoMissingErrorPath,
        Some(CorsError::MissingAllowOriginHeader),
        &format!(
            "{PREFIX}No 'Access-Control-Allow-Origin' header is present on the requested resource."
        ),
    );
}

#[test]
fn acao_missing_on_redirect_names_the_redirecting_url() {
    let ex = req("GET", "https://api.example/next?token=s3cret")
        .h("Origin", APP)
        .status(302)
        .rh("Location", "https://login.example/")
        .ex();
    let ctx = Context {
        first_url: Some("https://api.example/data"),
        ..Context::default()
    };
    let c = classify(&ex, &ctx);
    assert_blocked(
        &c,
        Kind::AcaoMissingOnRedirect,
        Some(CorsError::MissingAllowOriginHeader),
        "Access to fetch at 'https://api.example/next?token=[redacted]' (redirected from 'https://api.example/data') from origin 'https://app.example' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.",
    );
}

#[test]
fn not_modified_is_skipped() {
    let c = run(&get().status(304).ex());
    assert!(c.blocked().is_none());
}

fn mismatch(acao: &str) -> Classification {
    run(&get()
        .status(200)
        .rh("Access-Control-Allow-Origin", acao)
        .ex())
}

fn mismatch_msg(acao: &str) -> String {
    format!(
        "{PREFIX}The 'Access-Control-Allow-Origin' header has a value '{acao}' that is not equal to the supplied origin. Have the server send the header with a valid value."
    )
}

#[test]
fn acao_mismatch() {
    let c = mismatch("https://other.example");
    assert_blocked(
        &c,
        Kind::AcaoMismatch,
        Some(CorsError::AllowOriginMismatch),
        &mismatch_msg("https://other.example"),
    );
    let v = blocked(&c);
    assert_eq!(v.failed_parameter.as_deref(), Some("https://other.example"));
    assert_eq!(v.firefox_error, Some("CORSAllowOriginNotMatchingOrigin"));
    assert!(v.evidence.contains(&(
        "Access-Control-Allow-Origin".into(),
        "https://other.example".into()
    )));
}

#[test]
fn acao_trailing_slash() {
    for acao in ["https://app.example/", "https://app.example/app"] {
        let c = mismatch(acao);
        assert_blocked(
            &c,
            Kind::AcaoTrailingSlash,
            Some(CorsError::AllowOriginMismatch),
            &mismatch_msg(acao),
        );
    }
}

#[test]
fn acao_scheme_mismatch() {
    let c = mismatch("http://app.example");
    assert_blocked(
        &c,
        Kind::AcaoSchemeMismatch,
        Some(CorsError::AllowOriginMismatch),
        &mismatch_msg("http://app.example"),
    );
}

#[test]
fn acao_port_mismatch_including_explicit_default() {
    for acao in ["https://app.example:443", "https://app.example:8443"] {
        let c = mismatch(acao);
        assert_blocked(
            &c,
            Kind::AcaoPortMismatch,
            Some(CorsError::AllowOriginMismatch),
            &mismatch_msg(acao),
        );
    }
}

#[test]
fn acao_host_spelling() {
    for acao in ["https://App.Example", "https://www.app.example"] {
        let c = mismatch(acao);
        assert_blocked(
            &c,
            Kind::AcaoHostSpelling,
            Some(CorsError::AllowOriginMismatch),
            &mismatch_msg(acao),
        );
    }
    let ex = req("GET", API)
        .h("Origin", "http://localhost:3000")
        .status(200)
        .rh("Access-Control-Allow-Origin", "http://127.0.0.1:3000")
        .ex();
    assert_eq!(blocked(&run(&ex)).kind, Kind::AcaoHostSpelling);
}

#[test]
fn acao_null_mismatch() {
    let c = mismatch("null");
    assert_blocked(
        &c,
        Kind::AcaoNullMismatch,
        Some(CorsError::AllowOriginMismatch),
        &mismatch_msg("null"),
    );
}

#[test]
fn acao_multiple_values_from_two_identical_lines() {
    let c = run(&get()
        .status(200)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Access-Control-Allow-Origin", APP)
        .ex());
    assert_blocked(
        &c,
        Kind::AcaoMultipleValues,
        Some(CorsError::MultipleAllowOriginValues),
        &format!(
            "{PREFIX}The 'Access-Control-Allow-Origin' header contains multiple values 'https://app.example, https://app.example', but only one is allowed. Have the server send the header with a valid value."
        ),
    );
    assert_eq!(
        blocked(&c).firefox_error,
        Some("CORSMultipleAllowOriginNotAllowed")
    );
    // One line holding a list: Firefox calls it a mismatch.
    let c = mismatch("https://app.example https://b.example");
    assert_eq!(blocked(&c).kind, Kind::AcaoMultipleValues);
    assert_eq!(
        blocked(&c).firefox_error,
        Some("CORSAllowOriginNotMatchingOrigin")
    );
}

#[test]
fn acao_invalid_value() {
    for acao in ["app.example", "*.example.com"] {
        let c = mismatch(acao);
        assert_blocked(
            &c,
            Kind::AcaoInvalidValue,
            Some(CorsError::InvalidAllowOriginValue),
            &format!(
                "{PREFIX}The 'Access-Control-Allow-Origin' header contains the invalid value '{acao}'. Have the server send the header with a valid value."
            ),
        );
    }
}

#[test]
fn acao_stale_cache() {
    let mut b = get()
        .status(200)
        .rh("Access-Control-Allow-Origin", "https://other.example")
        .fail("net::ERR_FAILED");
    b.0.hints.from_cache = true;
    let c = run(&b.ex());
    assert_blocked(
        &c,
        Kind::AcaoStaleCache,
        Some(CorsError::AllowOriginMismatch),
        &mismatch_msg("https://other.example"),
    );
}

#[test]
fn wildcard_with_credentials_from_cookie() {
    let c = run(&get()
        .h("Cookie", "sid=1")
        .status(200)
        .rh("Access-Control-Allow-Origin", "*")
        .ex());
    assert_blocked(
        &c,
        Kind::WildcardWithCredentials,
        Some(CorsError::WildcardOriginNotAllowed),
        &format!(
            "{PREFIX}The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'."
        ),
    );
    let v = blocked(&c);
    assert_eq!(v.confidence, Confidence::Certain);
    assert!(v.evidence.contains(&("Cookie".into(), "[redacted]".into())));
}

#[test]
fn wildcard_with_credentials_inferred_from_a_har_failure() {
    let c = run(&get()
        .rt("xhr")
        .status(200)
        .rh("Access-Control-Allow-Origin", "*")
        .fail("net::ERR_FAILED")
        .ex());
    assert_blocked(
        &c,
        Kind::WildcardWithCredentials,
        Some(CorsError::WildcardOriginNotAllowed),
        "Access to XMLHttpRequest at 'https://api.example/data' from origin 'https://app.example' has been blocked by CORS policy: The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'. The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute.",
    );
    assert!(matches!(blocked(&c).confidence, Confidence::Inferred(_)));
    // Passed on the wire, no failure recorded: not credentialed, not blocked.
    let c = run(&get()
        .status(200)
        .rh("Access-Control-Allow-Origin", "*")
        .ex());
    assert!(c.blocked().is_none());
}

#[test]
fn acac_invalid() {
    let c = run(&get()
        .h("Cookie", "sid=1")
        .status(200)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Access-Control-Allow-Credentials", "True")
        .ex());
    assert_blocked(
        &c,
        Kind::AcacInvalid,
        Some(CorsError::InvalidAllowCredentials),
        &format!(
            "{PREFIX}The value of the 'Access-Control-Allow-Credentials' header in the response is 'True' which must be 'true' when the request's credentials mode is 'include'."
        ),
    );
    assert_eq!(blocked(&c).failed_parameter.as_deref(), Some("True"));
    assert_eq!(
        blocked(&c).firefox_error,
        Some("CORSMissingAllowCredentials")
    );
}

#[test]
fn credentials_not_sent() {
    let c = run(&get()
        .status(401)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("WWW-Authenticate", "Bearer")
        .ex());
    assert!(c.blocked().is_none());
    let v = find(&c, Kind::CredentialsNotSent);
    assert_eq!(v.cors_error, None);
    assert!(v.message.starts_with("The server answered 401"));
}

#[test]
fn redirect_tainted_origin() {
    let prev = req("GET", "https://b.example/r").h("Origin", APP).ex();
    let ex = req("GET", "https://c.example/data")
        .h("Origin", "null")
        .status(200)
        .rh("Access-Control-Allow-Origin", APP)
        .ex();
    let ctx = Context {
        previous_hop: Some(&prev),
        first_url: Some("https://b.example/r"),
        page_origin: Some(APP),
        ..Context::default()
    };
    let c = classify(&ex, &ctx);
    assert_blocked(
        &c,
        Kind::RedirectTaintedOrigin,
        Some(CorsError::AllowOriginMismatch),
        "Access to fetch at 'https://c.example/data' (redirected from 'https://b.example/r') from origin 'https://app.example' has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value 'https://app.example' that is not equal to the supplied origin. Have the server send the header with a valid value.",
    );
    // `Origin: null` with no redirect in sight: a sandboxed page, plain null mismatch.
    let ex = req("GET", API)
        .h("Origin", "null")
        .status(200)
        .rh("Access-Control-Allow-Origin", APP)
        .ex();
    assert_eq!(blocked(&run(&ex)).kind, Kind::AcaoNullMismatch);
}

#[test]
fn redirect_userinfo() {
    let c = run(&get()
        .status(302)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Location", "https://user:pw@other.example/x")
        .ex());
    assert_blocked(
        &c,
        Kind::RedirectUserinfo,
        Some(CorsError::RedirectContainsCredentials),
        &format!(
            "{PREFIX}Redirect location 'https://[redacted]@other.example/x' contains a username and password, which is disallowed for cross-origin requests."
        ),
    );
}

#[test]
fn cors_blocked_unknown_without_headers_or_preflight() {
    // Playwright: status -1, no headers, `_failureText: net::ERR_FAILED`.
    let ex = req("PUT", API)
        .h("Origin", APP)
        .h("Content-Type", "application/json")
        .fail("net::ERR_FAILED")
        .rt("fetch")
        .ex();
    let c = run(&ex);
    assert_eq!(c.scope, Scope::Cors(ExchangeType::Actual));
    assert_blocked(
        &c,
        Kind::BlockedReasonUnknown,
        None,
        "The browser blocked the fetch request to 'https://api.example/data' from origin 'https://app.example' (net::ERR_FAILED), and the recording does not show why.",
    );
    assert!(matches!(blocked(&c).confidence, Confidence::Inferred(_)));
}

#[test]
fn failed_actual_reports_its_preflight_failure() {
    let pf = preflight("PUT", "content-type")
        .rt("preflight")
        .status(200)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Access-Control-Allow-Methods", "GET, POST")
        .ex();
    let actual = req("PUT", API)
        .h("Origin", APP)
        .h("Content-Type", "application/json")
        .rt("fetch")
        .fail("net::ERR_FAILED")
        .ex();
    let ctx = Context {
        partner: Some(&pf),
        pairing: crate::model::Pairing::ActualAfterPreflight,
        ..Context::default()
    };
    let c = classify(&actual, &ctx);
    assert_blocked(
        &c,
        Kind::MethodNotAllowed,
        Some(CorsError::MethodDisallowedByPreflightResponse),
        &format!(
            "{PREFIX}Method PUT is not allowed by Access-Control-Allow-Methods in preflight response."
        ),
    );
}

// ----- preflights -----

fn pf_ok(method: &str, acrh: &str) -> B {
    preflight(method, acrh)
        .status(204)
        .rh("Access-Control-Allow-Origin", APP)
}

#[test]
fn preflight_204_passes() {
    let c = run(&pf_ok("PUT", "content-type")
        .rh("Access-Control-Allow-Methods", "PUT")
        .rh("Access-Control-Allow-Headers", "Content-Type")
        .ex());
    assert_eq!(c.scope, Scope::Cors(ExchangeType::Preflight));
    assert!(c.blocked().is_none(), "{c:#?}");
}

#[test]
fn preflight_acao_missing_regardless_of_status() {
    for status in [200, 404, 405, 500] {
        let c = run(&preflight("PUT", "").status(status).ex());
        assert_blocked(
            &c,
            Kind::PreflightAcaoMissing,
            Some(CorsError::PreflightMissingAllowOriginHeader),
            &format!(
                "{PREFIX}Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Origin' header is present on the requested resource."
            ),
        );
    }
}

#[test]
fn preflight_auth_rejected() {
    let c = run(&preflight("GET", "authorization").status(401).ex());
    assert_blocked(
        &c,
        Kind::PreflightAuthRejected,
        Some(CorsError::PreflightMissingAllowOriginHeader),
        &format!(
            "{PREFIX}Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Origin' header is present on the requested resource."
        ),
    );
    let c = run(&preflight("GET", "authorization")
        .status(403)
        .rh("Access-Control-Allow-Origin", APP)
        .ex());
    assert_blocked(
        &c,
        Kind::PreflightAuthRejected,
        Some(CorsError::PreflightInvalidStatus),
        &format!(
            "{PREFIX}Response to preflight request doesn't pass access control check: It does not have HTTP ok status."
        ),
    );
}

#[test]
fn preflight_status_not_ok() {
    let c = run(&preflight("PUT", "")
        .status(405)
        .rh("Access-Control-Allow-Origin", APP)
        .ex());
    assert_blocked(
        &c,
        Kind::PreflightStatusNotOk,
        Some(CorsError::PreflightInvalidStatus),
        &format!(
            "{PREFIX}Response to preflight request doesn't pass access control check: It does not have HTTP ok status."
        ),
    );
    assert_eq!(
        blocked(&c).firefox_error,
        Some("CORSPreflightDidNotSucceed")
    );
}

#[test]
fn preflight_acao_mismatch() {
    let c = run(&preflight("PUT", "")
        .status(204)
        .rh("Access-Control-Allow-Origin", "https://app.example/")
        .ex());
    assert_blocked(
        &c,
        Kind::PreflightAcaoMismatch,
        Some(CorsError::PreflightAllowOriginMismatch),
        &format!(
            "{PREFIX}Response to preflight request doesn't pass access control check: The 'Access-Control-Allow-Origin' header has a value 'https://app.example/' that is not equal to the supplied origin. Have the server send the header with a valid value."
        ),
    );
    let c = run(&preflight("PUT", "")
        .status(204)
        .rh("Access-Control-Allow-Origin", "app.example")
        .ex());
    assert_eq!(
        blocked(&c).cors_error,
        Some(CorsError::PreflightInvalidAllowOriginValue)
    );
    let c = run(&preflight("PUT", "")
        .status(204)
        .rh("Access-Control-Allow-Origin", "*")
        .rh("Access-Control-Allow-Origin", "*")
        .ex());
    assert_eq!(
        blocked(&c).cors_error,
        Some(CorsError::PreflightMultipleAllowOriginValues)
    );
}

#[test]
fn preflight_credentials_fail_with_known_cookie() {
    let actual = req("PUT", API).h("Origin", APP).h("Cookie", "sid=1").ex();
    let pf = preflight("PUT", "")
        .status(204)
        .rh("Access-Control-Allow-Origin", "*")
        .rh("Access-Control-Allow-Methods", "PUT")
        .ex();
    let ctx = Context {
        partner: Some(&actual),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_blocked(
        &c,
        Kind::PreflightCredentialsFail,
        Some(CorsError::PreflightWildcardOriginNotAllowed),
        &format!(
            "{PREFIX}Response to preflight request doesn't pass access control check: The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'."
        ),
    );
    assert_eq!(blocked(&c).confidence, Confidence::Certain);
}

#[test]
fn preflight_credentials_fail_inferred_when_no_actual_followed() {
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .ex();
    let ctx = Context {
        pairing: crate::model::Pairing::PreflightAlone {
            capture_open: false,
        },
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_blocked(
        &c,
        Kind::PreflightCredentialsFail,
        Some(CorsError::PreflightInvalidAllowCredentials),
        &format!(
            "{PREFIX}Response to preflight request doesn't pass access control check: The value of the 'Access-Control-Allow-Credentials' header in the response is '' which must be 'true' when the request's credentials mode is 'include'."
        ),
    );
    assert_eq!(
        blocked(&c).confidence,
        Confidence::Inferred("no actual request followed; assuming it was credentialed".into())
    );
    // Without pairing information nothing is inferred.
    assert!(run(&pf).blocked().is_none());
}

#[test]
fn preflight_followed_despite_failure() {
    let pf = preflight("PUT", "").status(404).ex();
    let ctx = Context {
        pairing: crate::model::Pairing::PreflightFollowed,
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert!(c.blocked().is_none());
    let v = find(&c, Kind::PreflightFollowedDespiteFailure);
    assert!(v.message.contains("preflight_acao_missing"));
}

#[test]
fn preflight_redirect() {
    let c = run(&preflight("PUT", "")
        .status(301)
        .rh("Location", "https://api.example/data/")
        .ex());
    assert_blocked(
        &c,
        Kind::PreflightRedirect,
        Some(CorsError::PreflightDisallowedRedirect),
        &format!(
            "{PREFIX}Response to preflight request doesn't pass access control check: Redirect is not allowed for a preflight request."
        ),
    );
    // DevTools: the redirected preflight completes with net::ERR_INVALID_REDIRECT.
    let c = run(&preflight("PUT", "").fail("net::ERR_INVALID_REDIRECT").ex());
    assert_eq!(blocked(&c).kind, Kind::PreflightRedirect);
}

#[test]
fn preflight_no_response() {
    // A recorded transport failure is what Chromium reports: a net error, not a CORS one.
    let c = run(&preflight("PUT", "").fail("net::ERR_CONNECTION_RESET").ex());
    assert_eq!(
        c.scope,
        Scope::NotCors(NotCors::NetworkError("net::ERR_CONNECTION_RESET".into()))
    );
    assert!(c.blocked().is_none());
    // On the wire, an OPTIONS without an answer is the server's problem to look at.
    let c = run(&preflight("PUT", "").packets().ex());
    assert_eq!(blocked(&c).kind, Kind::PreflightNoResponse);
}

#[test]
fn acam_unparseable() {
    let c = run(&pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "GET POST")
        .ex());
    assert_blocked(
        &c,
        Kind::AcamUnparseable,
        Some(CorsError::InvalidAllowMethodsPreflightResponse),
        &format!(
            "{PREFIX}Cannot parse Access-Control-Allow-Methods response header field in preflight response."
        ),
    );
    // Empty elements are skipped.
    let c = run(&pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT,,GET,")
        .ex());
    assert!(c.blocked().is_none());
}

#[test]
fn acah_unparseable() {
    let c = run(&pf_ok("GET", "x-a")
        .rh("Access-Control-Allow-Headers", "x-a; x-b")
        .ex());
    assert_blocked(
        &c,
        Kind::AcahUnparseable,
        Some(CorsError::InvalidAllowHeadersPreflightResponse),
        &format!(
            "{PREFIX}Cannot parse Access-Control-Allow-Headers response header field in preflight response."
        ),
    );
}

#[test]
fn method_not_allowed() {
    let c = run(&pf_ok("DELETE", "")
        .rh("Access-Control-Allow-Methods", "GET, POST")
        .ex());
    assert_blocked(
        &c,
        Kind::MethodNotAllowed,
        Some(CorsError::MethodDisallowedByPreflightResponse),
        &format!(
            "{PREFIX}Method DELETE is not allowed by Access-Control-Allow-Methods in preflight response."
        ),
    );
    assert_eq!(blocked(&c).failed_parameter.as_deref(), Some("DELETE"));
}

#[test]
fn method_case_mismatch() {
    let c = run(&pf_ok("patch", "")
        .rh("Access-Control-Allow-Methods", "GET, PATCH")
        .ex());
    assert_blocked(
        &c,
        Kind::MethodCaseMismatch,
        Some(CorsError::MethodDisallowedByPreflightResponse),
        &format!(
            "{PREFIX}Method patch is not allowed by Access-Control-Allow-Methods in preflight response."
        ),
    );
    let c = run(&pf_ok("PATCH", "")
        .rh("Access-Control-Allow-Methods", "GET, PATCH")
        .ex());
    assert!(c.blocked().is_none());
}

#[test]
fn method_wildcard_with_credentials() {
    let actual = req("PUT", API).h("Origin", APP).h("Cookie", "sid=1").ex();
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Credentials", "true")
        .rh("Access-Control-Allow-Methods", "*")
        .ex();
    let ctx = Context {
        partner: Some(&actual),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_blocked(
        &c,
        Kind::MethodWildcardWithCredentials,
        Some(CorsError::MethodDisallowedByPreflightResponse),
        &format!(
            "{PREFIX}Method PUT is not allowed by Access-Control-Allow-Methods in preflight response."
        ),
    );
    // Without credentials `*` covers it.
    assert!(run(&pf).blocked().is_none());
}

#[test]
fn header_not_allowed_and_names_are_case_insensitive() {
    let c = run(&pf_ok("GET", "content-type,x-api-key")
        .rh("Access-Control-Allow-Headers", "Content-Type")
        .ex());
    assert_blocked(
        &c,
        Kind::HeaderNotAllowed,
        Some(CorsError::HeaderDisallowedByPreflightResponse),
        &format!(
            "{PREFIX}Request header field x-api-key is not allowed by Access-Control-Allow-Headers in preflight response."
        ),
    );
    let c = run(&pf_ok("GET", "content-type")
        .rh("Access-Control-Allow-Headers", "CONTENT-TYPE")
        .ex());
    assert!(c.blocked().is_none());
}

#[test]
fn header_not_allowed_names_the_first_in_request_order() {
    let actual = req("POST", API)
        .h("Origin", APP)
        .h("X-Zeta", "1")
        .h("X-Alpha", "1")
        .ex();
    let pf = pf_ok("POST", "x-alpha,x-zeta").ex();
    let ctx = Context {
        partner: Some(&actual),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_eq!(blocked(&c).failed_parameter.as_deref(), Some("x-zeta"));
    assert_eq!(
        blocked(&run(&pf)).failed_parameter.as_deref(),
        Some("x-alpha")
    );
}

#[test]
fn header_wildcard_with_credentials() {
    let actual = req("GET", API)
        .h("Origin", APP)
        .h("Cookie", "sid=1")
        .h("X-Token", "t")
        .ex();
    let pf = pf_ok("GET", "x-token")
        .rh("Access-Control-Allow-Credentials", "true")
        .rh("Access-Control-Allow-Headers", "*")
        .ex();
    let ctx = Context {
        partner: Some(&actual),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_blocked(
        &c,
        Kind::HeaderWildcardWithCredentials,
        Some(CorsError::HeaderDisallowedByPreflightResponse),
        &format!(
            "{PREFIX}Request header field x-token is not allowed by Access-Control-Allow-Headers in preflight response."
        ),
    );
}

#[test]
fn authorization_under_wildcard_is_a_warning_not_a_block() {
    let c = run(&pf_ok("GET", "authorization")
        .rh("Access-Control-Allow-Headers", "*")
        .ex());
    assert!(c.blocked().is_none());
    let v = find(&c, Kind::AuthorizationUnderWildcard);
    assert_eq!(v.class(), VerdictClass::Warning);
    assert_eq!(
        v.message,
        "Authorization will not be covered by the wildcard symbol (*) in CORS `Access-Control-Allow-Headers` handling."
    );
    assert_eq!(v.failed_parameter.as_deref(), Some("authorization"));
}

#[test]
fn safelist_overflow_preflight() {
    let actual = req("POST", API)
        .h("Origin", APP)
        .h("Content-Type", "application/json")
        .ex();
    let pf = pf_ok("POST", "content-type")
        .rh("Access-Control-Allow-Headers", "content-type")
        .ex();
    let ctx = Context {
        partner: Some(&actual),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    let v = find(&c, Kind::SafelistOverflowPreflight);
    assert_eq!(
        v.message,
        "This preflight was sent for normally safelisted header(s) content-type: content-type 'application/json' is not application/x-www-form-urlencoded, multipart/form-data or text/plain."
    );
}

#[test]
fn redirect_new_preflight() {
    let prev = req("GET", "https://b.example/r").h("Origin", APP).ex();
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .ex();
    let ctx = Context {
        previous_hop: Some(&prev),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    let v = find(&c, Kind::RedirectNewPreflight);
    assert_eq!(
        v.message,
        "After a cross-origin redirect the browser sent a new preflight to 'https://api.example/data'."
    );
}

#[test]
fn max_age_above_cap() {
    let c = run(&pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .rh("Access-Control-Max-Age", "86401")
        .ex());
    let v = find(&c, Kind::MaxAgeAboveCap);
    assert_eq!(
        v.message,
        "Access-Control-Max-Age is 86401 s, but Chromium caps the preflight cache at 7200 s (2 hours) and Firefox at 86400 s (24 hours): preflights repeat sooner than the server intends."
    );
    let c = run(&pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .rh("Access-Control-Max-Age", "600")
        .ex());
    assert!(!has(&c, Kind::MaxAgeAboveCap));
}

// ----- Private / Local Network Access -----

#[test]
fn pna_preflight_missing_acapn() {
    let c = run(&pf_ok("GET", "")
        .h("Access-Control-Request-Private-Network", "true")
        .ip("192.168.1.10")
        .ex());
    assert!(c.blocked().is_none());
    let v = find(&c, Kind::PnaPreflightMissingAcapn);
    assert_eq!(
        v.cors_error,
        Some(CorsError::PreflightMissingAllowPrivateNetwork)
    );
    assert_eq!(
        v.message,
        format!(
            "{PREFIX}Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Private-Network' header was present in the preflight response for this private network request targeting the `private` address space."
        )
    );
}

#[test]
fn pna_permission_headers_missing() {
    let c = run(&pf_ok("GET", "")
        .h("Access-Control-Request-Private-Network", "true")
        .rh("Access-Control-Allow-Private-Network", "true")
        .rh("Private-Network-Access-ID", "01:02:03:04:05:06")
        .ip("127.0.0.1")
        .ex());
    assert_blocked(
        &c,
        Kind::PnaPermissionHeadersMissing,
        Some(CorsError::PreflightMissingPrivateNetworkAccessName),
        &format!(
            "{PREFIX}No 'Private-Network-Access-Name' header was present in the preflight response for this private network request targeting the `loopback` address space."
        ),
    );
}

#[test]
fn lna_permission_denied() {
    let c = run(&get()
        .fail("net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS")
        .ip("192.168.0.2")
        .ex());
    assert_blocked(
        &c,
        Kind::LnaPermissionDenied,
        Some(CorsError::LocalNetworkAccessPermissionDenied),
        &format!(
            "{PREFIX}Permission was denied for this request to access the `local` address space."
        ),
    );
}

#[test]
fn lna_insecure_context() {
    let ex = req("GET", "http://127.0.0.1/")
        .h("Origin", "http://riccardo.example")
        .fail("net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS")
        .ip("127.0.0.1")
        .ex();
    assert_blocked(
        &run(&ex),
        Kind::LnaInsecureContext,
        Some(CorsError::InsecureLocalNetwork),
        "Access to fetch at 'http://127.0.0.1/' from origin 'http://riccardo.example' has been blocked by CORS policy: The request client is not a secure context and the resource is in more-private address space `loopback`.",
    );
}

#[test]
fn lna_target_space_mismatch() {
    let c = run(&get()
        .fail("net::ERR_INCONSISTENT_IP_ADDRESS_SPACE")
        .ip("10.0.0.1")
        .ex());
    assert_blocked(
        &c,
        Kind::LnaTargetSpaceMismatch,
        Some(CorsError::InvalidLocalNetworkAccess),
        &format!(
            "{PREFIX}Request had a target IP address space of `unknown` yet the resource is in address space `local`."
        ),
    );
}

// ----- not CORS -----

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

// ----- security findings -----

fn finding_for(b: B, ctx: &Context<'_>, kind: Kind) -> Verdict {
    let c = classify(&b.ex(), ctx);
    find(&c, kind).clone()
}

#[test]
fn sec_null_origin_trusted() {
    let v = finding_for(
        req("GET", API)
            .h("Origin", "null")
            .status(200)
            .rh("Access-Control-Allow-Origin", "null"),
        &Context::default(),
        Kind::SecNullOriginTrusted,
    );
    assert_eq!(v.class(), VerdictClass::Finding);
}

#[test]
fn sec_wildcard_plus_credentials_config() {
    finding_for(
        get()
            .status(200)
            .rh("Access-Control-Allow-Origin", "*")
            .rh("Access-Control-Allow-Credentials", "true"),
        &Context::default(),
        Kind::SecWildcardPlusCredentialsConfig,
    );
}

#[test]
fn sec_http_origin_trusted_by_https() {
    let c = run(&req("GET", API)
        .h("Origin", "http://app.example")
        .status(200)
        .rh("Access-Control-Allow-Origin", "http://app.example")
        .ex());
    assert!(c.blocked().is_none());
    assert!(has(&c, Kind::SecHttpOriginTrustedByHttps));
    let c = run(&req("GET", API)
        .h("Origin", "http://localhost:3000")
        .status(200)
        .rh("Access-Control-Allow-Origin", "http://localhost:3000")
        .ex());
    assert!(!has(&c, Kind::SecHttpOriginTrustedByHttps));
}

#[test]
fn sec_missing_vary_origin() {
    let ctx = Context {
        distinct_reflected_origins: 2,
        ..Context::default()
    };
    finding_for(
        get()
            .status(200)
            .rh("Access-Control-Allow-Origin", APP)
            .rh("Cache-Control", "public, max-age=600"),
        &ctx,
        Kind::SecMissingVaryOrigin,
    );
    let c = classify(
        &get()
            .status(200)
            .rh("Access-Control-Allow-Origin", APP)
            .rh("Cache-Control", "public, max-age=600")
            .rh("Vary", "Accept-Encoding, Origin")
            .ex(),
        &ctx,
    );
    assert!(!has(&c, Kind::SecMissingVaryOrigin));
}

#[test]
fn sec_wildcard_internal_or_sensitive() {
    finding_for(
        get()
            .status(200)
            .rh("Access-Control-Allow-Origin", "*")
            .ip("10.1.2.3"),
        &Context::default(),
        Kind::SecWildcardInternalOrSensitive,
    );
    let c = run(&get()
        .status(200)
        .rh("Access-Control-Allow-Origin", "*")
        .ip("93.184.216.34")
        .ex());
    assert!(!has(&c, Kind::SecWildcardInternalOrSensitive));
}

#[test]
fn sec_third_party_origin_trusted() {
    finding_for(
        req("GET", API)
            .h("Origin", "https://someone.github.io")
            .status(200)
            .rh("Access-Control-Allow-Origin", "https://someone.github.io"),
        &Context::default(),
        Kind::SecThirdPartyOriginTrusted,
    );
}

#[test]
fn sec_prefix_suffix_regex_match() {
    for o in [
        "https://api.example.evil.tld",
        "https://evilapi.example",
        "https://a_b.api.example",
    ] {
        let c = run(&req("GET", "https://www.api.example/data")
            .h("Origin", o)
            .status(200)
            .rh("Access-Control-Allow-Origin", o)
            .ex());
        assert!(has(&c, Kind::SecPrefixSuffixRegexMatch), "{o}");
    }
    // A legit subdomain echoed is not a finding.
    let c = run(&req("GET", "https://api.example/data")
        .h("Origin", "https://www.api.example")
        .status(200)
        .rh("Access-Control-Allow-Origin", "https://www.api.example")
        .ex());
    assert!(c.verdicts.is_empty(), "{c:#?}");
}

#[test]
fn sec_any_subdomain_trusted() {
    finding_for(
        req("GET", "https://api.example/data")
            .h("Origin", "https://x7k2q9z3.api.example")
            .status(200)
            .rh(
                "Access-Control-Allow-Origin",
                "https://x7k2q9z3.api.example",
            ),
        &Context::default(),
        Kind::SecAnySubdomainTrusted,
    );
}

#[test]
fn sec_origin_reflected_with_and_without_credentials() {
    let ctx = Context {
        distinct_reflected_origins: 5,
        ..Context::default()
    };
    let b = || {
        req("GET", API)
            .h("Origin", "https://random-attacker.tld")
            .status(200)
            .rh("Access-Control-Allow-Origin", "https://random-attacker.tld")
    };
    finding_for(
        b().rh("Access-Control-Allow-Credentials", "true"),
        &ctx,
        Kind::SecOriginReflectedWithCredentials,
    );
    finding_for(b(), &ctx, Kind::SecOriginReflectedNoCredentials);
    // Equality alone (few reflected origins) is no finding.
    let c = run(&b().ex());
    assert!(c.verdicts.is_empty(), "{c:#?}");
}

#[test]
fn sec_pna_opt_in_reflected() {
    finding_for(
        preflight("GET", "")
            .h("Access-Control-Request-Private-Network", "true")
            .status(204)
            .rh("Access-Control-Allow-Private-Network", "true")
            .rh("Access-Control-Allow-Origin", "*"),
        &Context::default(),
        Kind::SecPnaOptInReflected,
    );
}

// ----- request facts and messages -----

#[test]
fn request_facts_unsafe_headers() {
    let ex = req("POST", API)
        .h("Origin", APP)
        .h("Cookie", "a=1")
        .h("X-B", "1")
        .h("Content-Type", "application/json")
        .h("Accept", "*/*")
        .h("x-b", "2")
        .h("Sec-Fetch-Mode", "cors")
        .h("User-Agent", "x")
        .ex();
    let f = request_facts(&ex);
    assert_eq!(f.unsafe_headers, vec!["content-type", "x-b"]);
    assert!(f.needs_preflight);
    let ex = req("POST", API)
        .h("Content-Type", "text/plain;charset=UTF-8")
        .ex();
    assert!(!request_facts(&ex).needs_preflight);
    assert!(request_facts(&req("patch", API).ex()).needs_preflight);
    // Over 1024 bytes of safelisted values: all of them become unsafe.
    let long = "a".repeat(120);
    let mut b = req("GET", API);
    for i in 0..9 {
        b = b.h(
            if i % 2 == 0 {
                "Accept"
            } else {
                "Accept-Language"
            },
            &long,
        );
    }
    assert_eq!(
        request_facts(&b.ex()).unsafe_headers,
        vec!["accept", "accept-language"]
    );
}

#[test]
fn resource_kinds_in_messages() {
    let c = run(&get().rt("stylesheet").status(200).ex());
    assert!(
        blocked(&c)
            .message
            .starts_with("Access to CSS stylesheet at 'https://api.example/data'")
    );
}

#[test]
fn hostile_input_does_not_panic() {
    let weird = [
        "",
        ":",
        "://",
        "http://[",
        "http://[::1",
        "https://a:99999",
        "\u{7f}",
        "é://x",
    ];
    for o in weird {
        for acao in weird {
            let ex = req("OPTIONS", o)
                .h("Origin", o)
                .h("Access-Control-Request-Method", acao)
                .h("Access-Control-Request-Headers", acao)
                .status(200)
                .rh("Access-Control-Allow-Origin", acao)
                .rh("Access-Control-Allow-Methods", acao)
                .rh("Location", o)
                .ex();
            let _ = run(&ex);
            let ex = req("GET", acao)
                .h("Origin", o)
                .status(302)
                .rh("Location", acao)
                .ex();
            let _ = run(&ex);
        }
    }
}

#[test]
fn preflight_whose_har_actual_failed_unsent_is_not_followed() {
    let actual = req("PUT", API)
        .h("Origin", APP)
        .fail("net::ERR_FAILED")
        .ex();
    let pf = preflight("PUT", "").status(404).ex();
    let ctx = Context {
        partner: Some(&actual),
        pairing: crate::model::Pairing::PreflightFollowed,
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_eq!(blocked(&c).kind, Kind::PreflightAcaoMissing);
    // Credentials unknown, the preflight passes without them: only credentials explain it.
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .ex();
    let c = classify(&pf, &ctx);
    assert_eq!(blocked(&c).kind, Kind::PreflightCredentialsFail);
}

#[test]
fn tainted_hop_prints_the_page_origin_from_referer() {
    let prev = req("GET", "https://b.example/r").h("Origin", APP).ex();
    let ex = req("GET", "https://c.example/data")
        .h("Origin", "null")
        .h("Referer", "https://app.example/page?q=1")
        .status(200)
        .ex();
    let ctx = Context {
        previous_hop: Some(&prev),
        ..Context::default()
    };
    let c = classify(&ex, &ctx);
    assert_eq!(
        blocked(&c).message,
        "Access to fetch at 'https://c.example/data' from origin 'https://app.example' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource."
    );
}

#[test]
fn disallowed_by_mode() {
    let ex = req("GET", "https://app.example/api/me")
        .h("Sec-Fetch-Mode", "same-origin")
        .h("Referer", "https://app.example/")
        .status(302)
        .rh("Location", "https://login.example/?next=%2F")
        .ex();
    assert_blocked(
        &run(&ex),
        Kind::DisallowedByMode,
        Some(CorsError::DisallowedByMode),
        "Access to fetch at 'https://app.example/api/me' from origin 'https://app.example' has been blocked by CORS policy: Cross origin requests are not allowed by request mode.",
    );
    let ex = req("GET", "https://app.example/api/me")
        .h("Sec-Fetch-Mode", "same-origin")
        .status(302)
        .rh("Location", "/login")
        .ex();
    let c = run(&ex);
    assert_eq!(c.scope, Scope::NotCors(NotCors::Mode("same-origin".into())));
    assert!(c.verdicts.is_empty());
}

#[test]
fn cors_disabled_scheme() {
    let ex = req("GET", "file:///C:/site/data.json")
        .h("Origin", "null")
        .rt("xhr")
        .fail("net::ERR_FAILED")
        .ex();
    assert_blocked(
        &run(&ex),
        Kind::CorsDisabledScheme,
        Some(CorsError::CorsDisabledScheme),
        "Access to XMLHttpRequest at 'file:///C:/site/data.json' from origin 'null' has been blocked by CORS policy: Cross origin requests are only supported for protocol schemes: http, data, isolated-app, chrome-extension, chrome, https, chrome-untrusted.",
    );
}

#[test]
fn no_secret_reaches_the_output() {
    let actual = req("PUT", "https://api.example/data?token=CANARY1")
        .h("Origin", APP)
        .h("Cookie", "sid=CANARY2")
        .h("Authorization", "Bearer CANARY3")
        .h("X-Api-Key", "CANARY4")
        .ex();
    let pf = req("OPTIONS", "https://api.example/data?token=CANARY1")
        .h("Origin", APP)
        .h("Access-Control-Request-Method", "PUT")
        .h("Access-Control-Request-Headers", "authorization,x-api-key")
        .status(204)
        .rh("Access-Control-Allow-Origin", "*")
        .rh("Set-Cookie", "s=CANARY5")
        .ex();
    let ctx = Context {
        partner: Some(&actual),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_eq!(blocked(&c).kind, Kind::PreflightCredentialsFail);
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains("CANARY"), "{json}");
    let failed = req("GET", "https://api.example/data?token=CANARY1")
        .h("Origin", APP)
        .h("Cookie", "sid=CANARY2")
        .status(302)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Access-Control-Allow-Credentials", "true")
        .rh("Location", "https://u:CANARY6@b.example/?k=CANARY7")
        .ex();
    let json = serde_json::to_string(&run(&failed)).unwrap();
    assert!(json.contains("redirect_userinfo"), "{json}");
    assert!(!json.contains("CANARY"), "{json}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("https://app.example".to_owned()),
            Just("null".to_owned()),
            Just("*".to_owned()),
            "[ -~]{0,40}",
            "\\PC{0,20}",
        ]
    }

    proptest! {
        #[test]
        fn classify_never_panics(
            method in prop_oneof![Just("OPTIONS".to_owned()), Just("GET".to_owned()), "[a-zA-Z]{1,8}"],
            url in prop_oneof![Just(API.to_owned()), text()],
            origin in text(),
            acao in text(),
            acam in text(),
            acah in text(),
            acrh in text(),
            location in text(),
            status in 0u16..700,
            fail in prop_oneof![Just(None), Just(Some("net::ERR_FAILED".to_owned())), text().prop_map(Some)],
            cookie in any::<bool>(),
            packets in any::<bool>(),
        ) {
            let mut b = req(&method, &url)
                .h("Origin", &origin)
                .h("Access-Control-Request-Method", &acam)
                .h("Access-Control-Request-Headers", &acrh)
                .status(status)
                .rh("Access-Control-Allow-Origin", &acao)
                .rh("Access-Control-Allow-Methods", &acam)
                .rh("Access-Control-Allow-Headers", &acah)
                .rh("Location", &location)
                .rh("Access-Control-Max-Age", &acrh);
            if cookie {
                b = b.h("Cookie", "a=1");
            }
            if packets {
                b = b.packets();
            }
            if let Some(f) = &fail {
                b = b.fail(f);
            }
            let ex = b.ex();
            let partner = req("PUT", &url).h("Origin", &origin).h(&acrh, &acah).ex();
            for pairing in [
                crate::model::Pairing::Unpaired,
                crate::model::Pairing::PreflightFollowed,
                crate::model::Pairing::PreflightAlone { capture_open: true },
            ] {
                let ctx = Context {
                    partner: Some(&partner),
                    pairing,
                    previous_hop: Some(&partner),
                    first_url: Some(&url),
                    page_origin: Some(&origin),
                    credentials_hint: None,
                    distinct_reflected_origins: 5,
                };
                let c = classify(&ex, &ctx);
                let blocked = c.verdicts.iter().filter(|v| v.class() == VerdictClass::Blocked).count();
                prop_assert!(blocked <= 1);
                let _ = classify(&partner, &ctx);
            }
            let _ = request_facts(&ex);
        }
    }
}

#[test]
fn credentials_hint_makes_credential_verdicts_inferred() {
    let ctx = Context {
        credentials_hint: Some(Credentials::Include),
        ..Context::default()
    };
    let c = classify(
        &get()
            .status(200)
            .rh("Access-Control-Allow-Origin", "*")
            .ex(),
        &ctx,
    );
    assert_eq!(blocked(&c).kind, Kind::WildcardWithCredentials);
    assert!(matches!(blocked(&c).confidence, Confidence::Inferred(_)));
    let c = classify(&get().status(200).ex(), &ctx);
    assert_eq!(blocked(&c).kind, Kind::AcaoMissing);
    assert_eq!(blocked(&c).confidence, Confidence::Certain);
}

#[test]
fn extension_origins_are_inferred() {
    let ex = req("GET", API)
        .h("Origin", "chrome-extension://abcdefghijklmnop")
        .status(200)
        .ex();
    let v = blocked(&run(&ex)).clone();
    assert_eq!(v.kind, Kind::AcaoMissing);
    assert!(matches!(v.confidence, Confidence::Inferred(_)));
}

#[test]
fn failed_preflight_entry_with_passing_headers() {
    // ACAO = Origin without ACAC: only a credentialed actual request fails it.
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .fail("net::ERR_FAILED")
        .ex();
    let c = run(&pf);
    assert_eq!(blocked(&c).kind, Kind::PreflightCredentialsFail);
    assert!(matches!(blocked(&c).confidence, Confidence::Inferred(_)));
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .rh("Access-Control-Allow-Credentials", "true")
        .fail("net::ERR_FAILED")
        .ex();
    assert_eq!(blocked(&run(&pf)).kind, Kind::BlockedReasonUnknown);
}

#[test]
fn provisional_headers_without_origin() {
    // DevTools/Playwright keep only provisional request headers for a blocked request.
    let ex = req("GET", API)
        .h("Referer", "https://app.example/page")
        .rt("fetch")
        .fail("net::ERR_FAILED")
        .ex();
    let c = run(&ex);
    assert_eq!(c.origin.as_deref(), Some(APP));
    assert_blocked(
        &c,
        Kind::BlockedReasonUnknown,
        None,
        "The browser blocked the fetch request to 'https://api.example/data' from origin 'https://app.example' (net::ERR_FAILED), and the recording does not show why.",
    );
    // An image is no-cors by nature: nothing is concluded.
    let ex = req("GET", API)
        .h("Referer", "https://app.example/page")
        .rt("image")
        .fail("net::ERR_FAILED")
        .ex();
    assert_eq!(run(&ex).scope, Scope::NotCors(NotCors::NoOrigin));
}

#[test]
fn idn_spelling_and_hint_encoding() {
    let ex = req("GET", API)
        .h("Origin", "https://xn--bcher-kva.example")
        .status(200)
        .rh("Access-Control-Allow-Origin", "https://bücher.example")
        .ex();
    let c = run(&ex);
    assert_blocked(
        &c,
        Kind::AcaoHostSpelling,
        Some(CorsError::AllowOriginMismatch),
        "Access to fetch at 'https://api.example/data' from origin 'https://xn--bcher-kva.example' has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value 'https://b\\u00FCcher.example' that is not equal to the supplied origin. Have the server send the header with a valid value.",
    );
}

// ----- paths the classifier shortcuts for speed -----

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
