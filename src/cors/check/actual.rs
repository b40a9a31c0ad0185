//! Actual and simple requests: the response's CORS check, redirects, and what a failed
//! recording entry without headers implies.

use super::access::{AccessFail, access_evidence, check_access, mismatch_kind};
use super::{
    LazyLine, base_evidence, confidence, failure_text, firefox, has_headers, is_redirect,
    preflight, push_header, vary_has_origin,
};
use crate::cors::facts::{lossy, trim_ows};
use crate::cors::{Confidence, Context, CorsError, Credentials, Kind, Verdict};
use crate::model::{Exchange, Response};
use crate::{redact, url};

/// The actual (or simple) request's response, or what a failed recording entry without one
/// implies. `None` when the browser lets the page read it.
pub(super) fn check(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    creds_assumption: Option<&str>,
    line: &LazyLine<'_, '_>,
) -> Option<Verdict> {
    let har_failed = ex.failure.is_some();
    let resp = ex.response.as_ref().filter(|r| has_headers(r, har_failed));
    let Some(resp) = resp else {
        return if har_failed {
            Some(blocked_without_headers(
                ex,
                ctx,
                o,
                creds,
                creds_assumption,
                line,
            ))
        } else {
            None
        };
    };
    if resp.status == 304 {
        return None;
    }
    // Redirects Firefox refuses before its CORS check on them runs.
    if let Some(v) = firefox::refused_redirect(ex, ctx, resp, line) {
        return Some(v);
    }
    let include = creds == Credentials::Include;
    match check_access(&resp.headers, o, include) {
        Err(f) => Some(actual_access_verdict(
            ex,
            ctx,
            o,
            resp,
            &f,
            line,
            // Only the credential failures rest on the credentials assumption.
            if f.rests_on_credentials() {
                confidence(creds_assumption)
            } else {
                Confidence::Certain
            },
        )),
        Ok(()) => {
            if is_redirect(resp.status)
                && let Some(v) = redirect_userinfo(ex, resp, line)
            {
                return Some(firefox::fails_redirect_with_userinfo(ctx.engine, v, line));
            }
            if har_failed && creds == Credentials::Unknown {
                // The browser refused a response that passes without credentials: it must
                // have been credentialed.
                if let Err(f) = check_access(&resp.headers, o, true) {
                    return Some(actual_access_verdict(
                        ex,
                        ctx,
                        o,
                        resp,
                        &f,
                        line,
                        Confidence::Inferred(
                            "the browser blocked a response that passes without credentials, so the request was credentialed (credentials: 'include' or withCredentials); no Cookie is visible".into(),
                        ),
                    ));
                }
            }
            if har_failed {
                return Some(blocked_unknown(
                    ex,
                    line,
                    "the recording marks the request failed, but its response headers pass every CORS check that traffic shows",
                ));
            }
            None
        }
    }
}

fn actual_access_verdict(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    resp: &Response,
    f: &AccessFail,
    line: &LazyLine<'_, '_>,
    confidence: Confidence,
) -> Verdict {
    let kind = access_kind(ex, ctx, o, resp, f);
    let (err, hint) = f.error(false);
    let mut evidence = access_evidence(ex, resp, f);
    if kind == Kind::AcaoStaleCache {
        push_header(&mut evidence, &resp.headers, "Vary");
        push_header(&mut evidence, &resp.headers, "Age");
    }
    Verdict::blocked(kind, err, Some(f.firefox()), hint, line).with(confidence, evidence)
}

/// Which kind an actual request's failed ACAO/ACAC check is.
fn access_kind(ex: &Exchange, ctx: &Context<'_>, o: &str, resp: &Response, f: &AccessFail) -> Kind {
    // Only a seen redirect explains `Origin: null`; a sandboxed or file: page sends it too.
    let redirected =
        ctx.previous_hop.is_some() || ctx.first_url.is_some_and(|u| u != ex.request.url);
    let stale = ex.hints.from_cache && !vary_has_origin(&resp.headers);
    match f {
        AccessFail::Wildcard => Kind::WildcardWithCredentials,
        AccessFail::Missing if stale => Kind::AcaoStaleCache,
        AccessFail::Missing if is_redirect(resp.status) => Kind::AcaoMissingOnRedirect,
        AccessFail::Missing if resp.status >= 400 => Kind::AcaoMissingErrorPath,
        AccessFail::Missing => Kind::AcaoMissing,
        AccessFail::Multiple(..) => Kind::AcaoMultipleValues,
        AccessFail::Invalid(_) => Kind::AcaoInvalidValue,
        AccessFail::Mismatch(_) if stale && o != "null" => Kind::AcaoStaleCache,
        AccessFail::Mismatch(v) => mismatch_kind(o, v, redirected),
        AccessFail::Credentials(_) => Kind::AcacInvalid,
    }
}

/// The kind a request that passes [`check`] without credentials would fail with under
/// `credentials: 'include'`. Only the ACAO/ACAC check depends on the credentials mode, and the
/// rest of [`check`] already passed, so only that check reruns (no verdict is built).
pub(super) fn fails_with_credentials(ex: &Exchange, ctx: &Context<'_>, o: &str) -> Option<Kind> {
    let resp = ex
        .response
        .as_ref()
        .filter(|r| has_headers(r, ex.failure.is_some()))?;
    if resp.status == 304 {
        return None;
    }
    let f = check_access(&resp.headers, o, true).err()?;
    Some(access_kind(ex, ctx, o, resp, &f))
}

fn redirect_userinfo(ex: &Exchange, resp: &Response, line: &LazyLine<'_, '_>) -> Option<Verdict> {
    let loc = resp.headers.get_str("location")?;
    let parts = url::split_url(loc.trim())?;
    if !parts.has_userinfo {
        return None;
    }
    let shown = redact::url(loc.trim()).into_owned();
    let mut evidence = base_evidence(ex);
    evidence.push(("Location".into(), shown.clone()));
    Some(Verdict {
        kind: Kind::RedirectUserinfo,
        cors_error: Some(CorsError::RedirectContainsCredentials),
        firefox_error: None,
        message: line.chromium(CorsError::RedirectContainsCredentials, &shown),
        failed_parameter: Some(shown),
        confidence: Confidence::Certain,
        evidence,
    })
}

/// A failed entry with no response headers: the preflight (when known) tells why; otherwise
/// nothing does.
fn blocked_without_headers(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    creds_assumption: Option<&str>,
    line: &LazyLine<'_, '_>,
) -> Verdict {
    if let Some(pf) = ctx.partner.filter(|p| p.is_preflight()) {
        // The preflight's own `Origin` is what its ACAO was checked against: after a tainting
        // redirect it is `null`, while this entry's (provisional) headers name none.
        let pf_origin = pf
            .request
            .headers
            .get("origin")
            .map(|v| lossy(trim_ows(v)).into_owned());
        let o = pf_origin.as_deref().unwrap_or(o);
        let include = creds == Credentials::Include;
        let engine = ctx.engine;
        if let Some(v) =
            preflight::blocked(pf, Some(ex), o, include, creds_assumption, engine, line)
        {
            return v;
        }
        if creds == Credentials::Unknown
            && let Some(mut v) = preflight::blocked(pf, Some(ex), o, true, None, engine, line)
        {
            v.confidence = Confidence::Inferred(
                "the browser blocked the request although its preflight passes without credentials, so the request was credentialed; no Cookie is visible".into(),
            );
            return v;
        }
        return blocked_unknown(
            ex,
            line,
            "the recording keeps no response headers for this request, and its preflight passes every check that traffic shows",
        );
    }
    // Nothing recorded of this request: what the rest of the recording shows (issue 9).
    if let Some(v) = super::inferred::stale_cache(ex, ctx, o, creds, line)
        .or_else(|| super::inferred::local_network(ex, ctx, o))
    {
        return v;
    }
    blocked_unknown(
        ex,
        line,
        "the recording keeps neither the response headers nor the preflight of this request, so the browser's reason is not visible",
    )
}

pub(super) fn blocked_unknown(ex: &Exchange, line: &LazyLine<'_, '_>, assumption: &str) -> Verdict {
    let err = failure_text(ex).unwrap_or("net::ERR_FAILED");
    Verdict {
        kind: Kind::BlockedReasonUnknown,
        cors_error: None,
        firefox_error: None,
        failed_parameter: None,
        message: format!(
            "The browser blocked the {} request to '{}' from origin '{}' ({err}), and the recording does not show why.",
            line.kind, line.url, line.origin
        ),
        confidence: Confidence::Inferred(assumption.to_owned()),
        evidence: base_evidence(ex),
    }
}

pub(super) fn credentials_not_sent(
    ex: &Exchange,
    ctx: &Context<'_>,
    resp: &Response,
    out: &mut Vec<Verdict>,
) {
    // With an Authorization header the 401 is about the token, not cookies.
    if !matches!(resp.status, 401 | 403)
        || ex.request.headers.contains("cookie")
        || ex.request.headers.contains("authorization")
        || ex.hints.sanitized
    {
        return;
    }
    let confidence = if ctx.credentials_hint == Some(Credentials::Include) {
        Confidence::Certain
    } else {
        Confidence::Inferred("the endpoint expects cookies that this request did not carry".into())
    };
    let mut evidence = base_evidence(ex);
    push_header(&mut evidence, &resp.headers, "WWW-Authenticate");
    out.push(Verdict {
        kind: Kind::CredentialsNotSent,
        cors_error: None,
        firefox_error: None,
        failed_parameter: None,
        message: format!(
            "The server answered {} to a cross-origin request that carried no cookies; CORS passed. fetch() sends cookies cross-origin only with credentials: 'include' (XMLHttpRequest: withCredentials), and SameSite or third-party cookie blocking can drop them.",
            resp.status
        ),
        confidence,
        evidence,
    });
}
