//! Actual and simple requests: every kind their response can fail with.

use super::*;

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
