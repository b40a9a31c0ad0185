//! Preflights: Chromium's checks in order (redirect, ACAO/ACAC, status, ACAM/ACAH syntax,
//! method, headers), what a preflight that no actual request followed implies, and the
//! warnings and notes every preflight earns.

use super::access::{AccessFail, access_evidence, check_access};
use super::actual::blocked_unknown;
use super::scope::{NetError, net_error};
use super::{
    LazyLine, base_evidence, confidence, failure_text, firefox, has_headers, lna, push_header,
};
use crate::cors::facts::{
    self, ACAH, ACAM, ACAO, ACMA, ACRH, ACRM, is_token, list_elements, trim_ows,
    unsafe_header_names,
};
use crate::cors::message::{AUTHORIZATION_WILDCARD_DEPRECATION, Line};
use crate::cors::{Confidence, Context, CorsError, Credentials, Engine, Kind, Verdict};
use crate::model::{Exchange, Headers, Location, Pairing};
use crate::redact;

/// A preflight: its blocked verdict (if any), then the warnings and notes it earns.
pub(super) fn check(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    creds_assumption: Option<&str>,
    line: &LazyLine<'_, '_>,
    out: &mut Vec<Verdict>,
) {
    let include = creds == Credentials::Include;
    let engine = ctx.engine;
    let mut verdict = blocked(ex, ctx.partner, o, include, creds_assumption, engine, line);
    // No actual request followed, and only credentials explain it.
    // A recording that marks the preflight itself failed says as much.
    let failed = ex.failure.is_some();
    let alone = match ctx.pairing {
        Pairing::PreflightAlone { capture_open } => Some(capture_open),
        _ if failed || actual_never_sent(ctx) => Some(false),
        _ => None,
    };
    if verdict.is_none()
        && creds == Credentials::Unknown
        && let Some(capture_open) = alone
        && let Some(mut v) = blocked(ex, ctx.partner, o, true, None, engine, line)
    {
        v.confidence = Confidence::Inferred(if capture_open {
            "no actual request followed before the capture ended; assuming it was credentialed"
                .into()
        } else {
            "no actual request followed; assuming it was credentialed".into()
        });
        verdict = Some(v);
    }
    if verdict.is_none() && failed {
        verdict = Some(blocked_unknown(
            ex,
            line,
            "the recording marks the preflight failed, but its response passes every check that traffic shows",
        ));
    }
    if let Some(v) = verdict {
        push_preflight_blocked(out, ctx, v);
    }
    extras(ex, ctx, o, creds, line, out);
}

/// The partner actual request is a client recording's failed entry with no response: the
/// browser created it but never sent it (its preflight failed), whatever pairing concluded.
fn actual_never_sent(ctx: &Context<'_>) -> bool {
    ctx.partner.is_some_and(|a| {
        !a.is_preflight()
            && a.failure.is_some()
            && a.response
                .as_ref()
                .is_none_or(|r| r.headers.is_empty() && r.status == 0)
    })
}

/// Pushes a preflight's blocked verdict, unless the actual request followed: then the browser
/// accepted the preflight, and the failure becomes a note about the contradiction.
fn push_preflight_blocked(out: &mut Vec<Verdict>, ctx: &Context<'_>, v: Verdict) {
    let guessed_no_response =
        v.kind == Kind::PreflightNoResponse && v.confidence != Confidence::Certain;
    if guessed_no_response && ctx.pairing == (Pairing::PreflightAlone { capture_open: true }) {
        // The capture ended before the answer could be seen.
        return;
    }
    if ctx.pairing != Pairing::PreflightFollowed || actual_never_sent(ctx) {
        out.push(v);
        return;
    }
    if guessed_no_response {
        // The capture missed the answer; the browser evidently got one.
        return;
    }
    out.push(Verdict {
        kind: Kind::PreflightFollowedDespiteFailure,
        cors_error: None,
        firefox_error: None,
        failed_parameter: v.failed_parameter,
        // Concatenated rather than formatted: every failing preflight that was followed.
        message: [
            "The actual request followed this preflight although its response fails the browser's check (",
            v.kind.id(),
            ": ",
            &v.message,
            "); the pairing may be wrong, or the client was not a browser.",
        ]
        .concat(),
        confidence: Confidence::Inferred(
            "the actual request paired with this preflight came from the same browser".into(),
        ),
        evidence: v.evidence,
    });
}

/// The first failing preflight check in `engine`'s order, with the actual request's credentials
/// mode (`include`). `actual` is the request it guards, when known.
pub(super) fn blocked(
    pf: &Exchange,
    actual: Option<&Exchange>,
    o: &str,
    include: bool,
    creds_assumption: Option<&str>,
    engine: Engine,
    line: &LazyLine<'_, '_>,
) -> Option<Verdict> {
    let Some(resp) = pf
        .response
        .as_ref()
        .filter(|r| has_headers(r, pf.failure.is_some()))
    else {
        return no_response(pf, engine, line);
    };
    let rh = &resp.headers;
    let status_ev = || {
        let mut ev = base_evidence(pf);
        ev.push((":status".into(), resp.status.to_string()));
        push_header(&mut ev, rh, "WWW-Authenticate");
        ev
    };
    let credentialed = || confidence(creds_assumption);
    let auth_rejected = matches!(resp.status, 401 | 403);

    // 1. Any redirect (Firefox: after step 2).
    let redirect = (300..400).contains(&resp.status);
    let redirected_ev = || {
        let mut ev = status_ev();
        push_header(&mut ev, rh, "Location");
        ev
    };
    if redirect && !firefox::checks_acao_on_preflight_redirect(engine) {
        return Some(redirected(line).with(Confidence::Certain, redirected_ev()));
    }

    // 2. ACAO / ACAC with the actual request's credentials mode, whatever the status.
    if let Err(f) = check_access(rh, o, include) {
        let kind = match &f {
            AccessFail::Missing if auth_rejected => Kind::PreflightAuthRejected,
            AccessFail::Missing => Kind::PreflightAcaoMissing,
            AccessFail::Multiple(..) | AccessFail::Invalid(_) | AccessFail::Mismatch(_) => {
                Kind::PreflightAcaoMismatch
            }
            AccessFail::Wildcard | AccessFail::Credentials(_) => Kind::PreflightCredentialsFail,
        };
        let (err, hint) = f.error(true);
        let mut ev = status_ev();
        ev.extend(access_evidence(pf, resp, &f).into_iter().skip(1));
        let conf = if f.rests_on_credentials() {
            if let Some(a) = actual {
                push_header(&mut ev, &a.request.headers, "Cookie");
            }
            credentialed()
        } else {
            Confidence::Certain
        };
        return Some(Verdict::blocked(kind, err, Some(f.firefox()), hint, line).with(conf, ev));
    }
    if redirect {
        return Some(redirected(line).with(Confidence::Certain, redirected_ev()));
    }

    // 3. Status.
    if !(200..300).contains(&resp.status) {
        let mut ev = status_ev();
        push_header(&mut ev, rh, ACAO);
        let kind = if auth_rejected {
            Kind::PreflightAuthRejected
        } else {
            Kind::PreflightStatusNotOk
        };
        let err = CorsError::PreflightInvalidStatus;
        let v = Verdict::blocked(kind, err, Some("CORSPreflightDidNotSucceed"), None, line);
        return Some(v.with(Confidence::Certain, ev));
    }

    // 4. ACAM and ACAH must be lists of tokens (empty elements skipped). Collected once: steps
    // 5 and 6 scan them again.
    let acam: Vec<&[u8]> = list_elements(rh, ACAM).collect();
    let acah: Vec<&[u8]> = list_elements(rh, ACAH).collect();
    if let Some(v) = unparseable_lists(pf, rh, &acam, &acah, line) {
        return Some(v);
    }
    // 5. The method; 6. the request headers.
    method_disallowed(pf, rh, &acam, include, credentialed, line)
        .or_else(|| header_disallowed(pf, actual, rh, &acah, include, credentialed, line))
}

/// A preflight without a usable response: redirected (how DevTools shows one), failed in a
/// recording that kept no headers, or unanswered on the wire.
fn no_response(pf: &Exchange, engine: Engine, line: &LazyLine<'_, '_>) -> Option<Verdict> {
    if failure_text(pf).is_some_and(|t| net_error(t) == NetError::InvalidRedirect) {
        let ev = vec![("error".into(), "net::ERR_INVALID_REDIRECT".into())];
        return Some(redirected(line).with(Confidence::Certain, ev));
    }
    if pf.failure.is_some() {
        if let Some(v) = firefox::preflight_failed_in_recording(pf, engine, line) {
            return Some(v);
        }
        // A failed preflight entry without headers: the reason is not in the recording.
        return Some(blocked_unknown(
            pf,
            line,
            "the recording keeps no response headers for this preflight",
        ));
    }
    if !matches!(pf.source.location, Location::Packets { .. }) {
        return None;
    }
    Some(Verdict {
        kind: Kind::PreflightNoResponse,
        cors_error: None,
        firefox_error: Some("CORSDidNotSucceed"),
        failed_parameter: None,
        message: format!(
            "The preflight request to '{}' got no response, so the browser fails the actual request with a network error.",
            line.url
        ),
        confidence: Confidence::Inferred(
            "no response was seen; the connection failed, or the capture missed it".into(),
        ),
        evidence: base_evidence(pf),
    })
}

fn redirected(line: &Line) -> Verdict {
    Verdict::blocked(
        Kind::PreflightRedirect,
        CorsError::PreflightDisallowedRedirect,
        Some("CORSExternalRedirectNotAllowed"),
        None,
        line,
    )
}

/// Step 4: an element of ACAM or ACAH that is not a token.
fn unparseable_lists(
    pf: &Exchange,
    rh: &Headers,
    acam: &[&[u8]],
    acah: &[&[u8]],
    line: &Line,
) -> Option<Verdict> {
    for (name, list, kind, err, ff) in [
        (
            ACAM,
            acam,
            Kind::AcamUnparseable,
            CorsError::InvalidAllowMethodsPreflightResponse,
            "CORSInvalidAllowMethod",
        ),
        (
            ACAH,
            acah,
            Kind::AcahUnparseable,
            CorsError::InvalidAllowHeadersPreflightResponse,
            "CORSInvalidAllowHeader",
        ),
    ] {
        if let Some(bad) = list.iter().find(|e| !is_token(e)) {
            let mut ev = base_evidence(pf);
            push_header(&mut ev, rh, name);
            let mut v = Verdict::blocked(kind, err, Some(ff), None, line);
            // Chromium gives no hint here; Firefox names the bad token.
            v.failed_parameter = Some(String::from_utf8_lossy(bad).into_owned());
            return Some(v.with(Confidence::Certain, ev));
        }
    }
    None
}

/// Step 5: the method is safelisted, listed (case-sensitive), or `*` without credentials.
/// Raw bytes compare as the text would: ACAM holds only tokens (step 4), all ASCII.
fn method_disallowed(
    pf: &Exchange,
    rh: &Headers,
    acam: &[&[u8]],
    include: bool,
    credentialed: impl Fn() -> Confidence,
    line: &Line,
) -> Option<Verdict> {
    let method = pf.request.headers.get(ACRM).map_or(&b""[..], trim_ows);
    let has_star = acam.iter().any(|m| *m == b"*");
    let safelisted = ["GET", "HEAD", "POST"]
        .iter()
        .any(|m| m.as_bytes().eq_ignore_ascii_case(method));
    if safelisted || acam.contains(&method) || (has_star && !include) {
        return None;
    }
    let kind = if acam.iter().any(|m| m.eq_ignore_ascii_case(method)) {
        Kind::MethodCaseMismatch
    } else if has_star {
        Kind::MethodWildcardWithCredentials
    } else {
        Kind::MethodNotAllowed
    };
    let mut ev = base_evidence(pf);
    push_header(&mut ev, &pf.request.headers, ACRM);
    push_header(&mut ev, rh, ACAM);
    let conf = if kind == Kind::MethodWildcardWithCredentials {
        credentialed()
    } else {
        Confidence::Certain
    };
    let err = CorsError::MethodDisallowedByPreflightResponse;
    let hint = Some(String::from_utf8_lossy(method).into_owned());
    Some(Verdict::blocked(kind, err, Some("CORSMethodNotFound"), hint, line).with(conf, ev))
}

/// Step 6: every requested header name is in ACAH (case-insensitive), or `*` without
/// credentials. Usually every requested name is allowed: that is checked on the raw bytes, which
/// compare as the lowercased text would since ACAH holds only tokens (step 4).
fn header_disallowed(
    pf: &Exchange,
    actual: Option<&Exchange>,
    rh: &Headers,
    acah: &[&[u8]],
    include: bool,
    credentialed: impl Fn() -> Confidence,
    line: &Line,
) -> Option<Verdict> {
    let star = acah.contains(&&b"*"[..]);
    let all_allowed = || {
        list_elements(&pf.request.headers, ACRH)
            .all(|r| acah.iter().any(|a| a.eq_ignore_ascii_case(r)))
    };
    if (star && !include) || all_allowed() {
        return None;
    }
    let allowed: Vec<String> = acah
        .iter()
        .map(|e| String::from_utf8_lossy(e).to_ascii_lowercase())
        .collect();
    let missing = first_missing_header(pf, actual, &allowed)?;
    let kind = if star {
        Kind::HeaderWildcardWithCredentials
    } else {
        Kind::HeaderNotAllowed
    };
    let mut ev = base_evidence(pf);
    push_header(&mut ev, &pf.request.headers, ACRH);
    push_header(&mut ev, rh, ACAH);
    let conf = if star {
        credentialed()
    } else {
        Confidence::Certain
    };
    let err = CorsError::HeaderDisallowedByPreflightResponse;
    let ff = Some("CORSMissingAllowHeaderFromPreflight");
    Some(Verdict::blocked(kind, err, ff, Some(missing), line).with(conf, ev))
}

/// The first header name the preflight asked for that `allowed` (lowercase) lacks, in the order
/// Chromium checks them: the actual request's own header order when it is known, then whatever
/// else ACRH names.
fn first_missing_header(
    pf: &Exchange,
    actual: Option<&Exchange>,
    allowed: &[String],
) -> Option<String> {
    let acrh: Vec<String> = list_elements(&pf.request.headers, ACRH)
        .map(|e| String::from_utf8_lossy(e).to_ascii_lowercase())
        .collect();
    let missing = |n: &String| !allowed.contains(n);
    if let Some(actual) = actual
        && let Some(n) = unsafe_header_names(&actual.request.headers)
            .into_iter()
            .find(|n| acrh.contains(n) && missing(n))
    {
        return Some(n);
    }
    // Names in both lists were checked above, and were allowed.
    acrh.into_iter().find(missing)
}

/// Warnings and notes a preflight earns whatever its outcome.
fn extras(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    line: &LazyLine<'_, '_>,
    out: &mut Vec<Verdict>,
) {
    let rq = &ex.request.headers;
    // Compared with ASCII names only, so raw bytes do (no lowercased copies).
    let requested = || list_elements(rq, ACRH);

    if let Some(resp) = ex
        .response
        .as_ref()
        .filter(|r| (200..300).contains(&r.status))
    {
        let rh = &resp.headers;
        // Authorization covered only by `*`: allowed today, with a deprecation warning.
        let allowed = || list_elements(rh, ACAH);
        if creds != Credentials::Include
            && requested().any(|n| n.eq_ignore_ascii_case(b"authorization"))
            && allowed().any(|a| a == b"*")
            && !allowed().any(|a| a.eq_ignore_ascii_case(b"authorization"))
        {
            let mut ev = base_evidence(ex);
            push_header(&mut ev, rq, ACRH);
            push_header(&mut ev, rh, ACAH);
            out.push(Verdict {
                kind: Kind::AuthorizationUnderWildcard,
                cors_error: None,
                firefox_error: Some("CORSAllowHeaderFromPreflightDeprecation"),
                failed_parameter: Some("authorization".into()),
                message: AUTHORIZATION_WILDCARD_DEPRECATION.into(),
                confidence: Confidence::Certain,
                evidence: ev,
            });
        }
        // Max-Age above the browsers' caps.
        if let Some(v) = rh.get(ACMA) {
            let v = trim_ows(v);
            let secs = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            if let Some(secs) = secs.filter(|s| *s > 7200) {
                let firefox = if secs > 86_400 {
                    " and Firefox at 86400 s (24 hours)"
                } else {
                    ""
                };
                let mut ev = Vec::new();
                push_header(&mut ev, rh, ACMA);
                out.push(Verdict {
                    kind: Kind::MaxAgeAboveCap,
                    cors_error: None,
                    firefox_error: None,
                    failed_parameter: Some(secs.to_string()),
                    message: format!(
                        "Access-Control-Max-Age is {secs} s, but Chromium caps the preflight cache at 7200 s (2 hours){firefox}: preflights repeat sooner than the server intends."
                    ),
                    confidence: Confidence::Certain,
                    evidence: ev,
                });
            }
        }
        lna::pna(ex, resp, line, out);
    }

    // Safelisted names in ACRH: a value over the limits or a non-safelisted MIME type.
    let overflow: Vec<&str> = requested()
        .filter_map(|n| {
            SAFELISTED_NAMES
                .into_iter()
                .find(|s| n.eq_ignore_ascii_case(s.as_bytes()))
        })
        .collect();
    if !overflow.is_empty() {
        let why = ctx
            .partner
            .and_then(|a| overflow_reason(&a.request.headers, &overflow))
            .unwrap_or_else(|| {
                "a value over 128 bytes, over 1024 bytes of safelisted values in total, a forbidden byte, a Content-Type other than form/text-plain, or a Range that is not one simple range".into()
            });
        let mut ev = base_evidence(ex);
        push_header(&mut ev, rq, ACRH);
        out.push(Verdict {
            kind: Kind::SafelistOverflowPreflight,
            cors_error: None,
            firefox_error: None,
            failed_parameter: Some(overflow.join(",")),
            message: [
                "This preflight was sent for normally safelisted header(s) ",
                &overflow.join(", "),
                ": ",
                &why,
                ".",
            ]
            .concat(),
            confidence: Confidence::Certain,
            evidence: ev,
        });
    }

    if ctx.previous_hop.is_some() {
        let mut ev = base_evidence(ex);
        if let Some(prev) = ctx.previous_hop {
            ev.push((
                "previous".into(),
                redact::url(&prev.request.url).into_owned(),
            ));
        }
        out.push(Verdict {
            kind: Kind::RedirectNewPreflight,
            cors_error: None,
            firefox_error: None,
            failed_parameter: None,
            message: format!(
                "After a cross-origin redirect the browser sent a new preflight to '{}'{}.",
                line.url,
                if o == "null" {
                    " with Origin: null (the redirect tainted the origin)"
                } else {
                    ""
                }
            ),
            confidence: Confidence::Certain,
            evidence: ev,
        });
    }
}

/// The request-header names that can be CORS-safelisted (lowercase).
const SAFELISTED_NAMES: [&str; 5] = [
    "accept",
    "accept-language",
    "content-language",
    "content-type",
    "range",
];

fn overflow_reason(h: &Headers, names: &[&str]) -> Option<String> {
    let mut reasons = Vec::new();
    let mut total = 0usize;
    for (name, value) in h.iter() {
        // Only the safelistable names matter here: no lowercased copy of the others.
        let Some(lower) = SAFELISTED_NAMES
            .into_iter()
            .find(|s| s.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let value = trim_ows(value);
        if !names.contains(&lower) {
            if facts::is_safelisted(lower, value) {
                total += value.len();
            }
            continue;
        }
        total += value.len();
        let shown = || redact::header_value(name, value);
        if value.len() > 128 {
            reasons.push(format!("{lower} is {} bytes (limit 128)", value.len()));
        } else if lower == "content-type" && !facts::safelisted_content_type(value) {
            reasons.push(
                [
                    "content-type '",
                    &shown(),
                    "' is not application/x-www-form-urlencoded, multipart/form-data or text/plain",
                ]
                .concat(),
            );
        } else if !facts::is_safelisted(lower, value) {
            reasons.push(format!("{lower} '{}' is not a safelisted value", shown()));
        }
    }
    if reasons.is_empty() && total > 1024 {
        reasons.push(format!(
            "the safelisted header values add up to {total} bytes (limit 1024)"
        ));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}
