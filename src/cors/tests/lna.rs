//! Private and Local Network Access.

use super::*;

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
