//! Preflights: every step of Chromium's check, and the warnings and notes they earn.

use super::*;

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
