//! Where Firefox decides differently from Chromium (taxonomy §3.2–3.4; the Firefox recording of
//! issue 16, `captures/firefox-*`). One function per behaviour, named after it; the checks call
//! them at the point of their order where the engines part. Each fires only for
//! [`Engine::Firefox`], and only on an exchange [`crate::cors::engine::may_differ`] admits.

use super::{LazyLine, base_evidence};
use crate::cors::message::firefox_line;
use crate::cors::{Confidence, Context, Engine, Kind, Verdict, VerdictClass};
use crate::model::{Exchange, Location, Response};
use crate::redact;

/// Firefox's reason code for a channel that failed (no HTTP response, or a redirect it refused).
pub(super) const DID_NOT_SUCCEED: &str = "CORSDidNotSucceed";

/// `network.http.redirection-limit`: Firefox fails the request at the 21st redirect.
pub(super) const REDIRECT_LIMIT: u32 = 20;

/// §3.3: the preflight channel is wrapped in a CORS listener of its own, so Firefox checks
/// `Access-Control-Allow-Origin` (and `-Credentials`) on a preflight's 3xx before it refuses the
/// redirect (`CORSMissingAllowOrigin … Status code: 307.`); Chromium refuses the redirect first
/// (`PreflightDisallowedRedirect`).
pub(super) fn checks_acao_on_preflight_redirect(engine: Engine) -> bool {
    engine == Engine::Firefox
}

/// A redirect Firefox does not follow, failing the channel (`CORSDidNotSucceed`, status
/// `(null)`), before its CORS check on the redirect runs: past the redirect limit
/// ([`stops_at_redirect_limit`]) or to a `data:` URL ([`refuses_redirect_to_data_url`]).
/// Chromium fails both with a `net::` error and no CORS error.
pub(super) fn refused_redirect(
    ex: &Exchange,
    ctx: &Context<'_>,
    resp: &Response,
    line: &LazyLine<'_, '_>,
) -> Option<Verdict> {
    if ctx.engine != Engine::Firefox || !super::is_redirect(resp.status) {
        return None;
    }
    let loc = resp.headers.get_str("location");
    let loc = loc.as_deref().map(str::trim);
    let why = if stops_at_redirect_limit(ctx) {
        format!("redirect {} of at most {REDIRECT_LIMIT}", ctx.redirects + 1)
    } else if loc.is_some_and(refuses_redirect_to_data_url) {
        "redirect to a data: URL".to_owned()
    } else {
        return None;
    };
    let mut evidence = base_evidence(ex);
    evidence.push((":status".into(), resp.status.to_string()));
    if let Some(l) = loc {
        evidence.push(("Location".into(), shown_location(l)));
    }
    Some(did_not_succeed(Kind::RedirectRefused, why, line).with(Confidence::Certain, evidence))
}

/// Firefox follows at most [`REDIRECT_LIMIT`] redirects; this response would be one more.
pub(super) fn stops_at_redirect_limit(ctx: &Context<'_>) -> bool {
    ctx.redirects >= REDIRECT_LIMIT
}

/// Firefox refuses a redirect to `data:` ("Redirecting to data: URI not allowed").
pub(super) fn refuses_redirect_to_data_url(location: &str) -> bool {
    location
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
}

/// §3.4: Firefox refuses a redirect to a URL with `user:pass@` by failing the channel
/// (`NS_ERROR_DOM_BAD_URI`), reported as `CORSDidNotSucceed`; Chromium raises
/// `RedirectContainsCredentials`. The kind stays `redirect_userinfo`.
pub(super) fn fails_redirect_with_userinfo(
    engine: Engine,
    v: Verdict,
    line: &LazyLine<'_, '_>,
) -> Verdict {
    if engine != Engine::Firefox {
        return v;
    }
    Verdict {
        evidence: v.evidence,
        ..did_not_succeed(v.kind, v.failed_parameter.unwrap_or_default(), line)
    }
}

/// §3.2 step 2: Firefox reports any failed channel of a CORS request (connection refused,
/// DNS, TLS, a refused redirect) as `CORSDidNotSucceed`, where Chromium shows only a `net::`
/// error. A blocked entry of which the recording keeps no response therefore carries that code,
/// if it was sent as a CORS request (with `Origin`): a request the same-origin policy stopped
/// before (`mode: 'same-origin'`) is recorded without one, and Firefox reports a Security Error.
pub(super) fn reports_failed_channel_as_cors(ex: &Exchange, engine: Engine, v: &mut Verdict) {
    if engine == Engine::Firefox
        && v.kind == Kind::BlockedReasonUnknown
        && v.firefox_error.is_none()
        && ex.request.headers.contains("origin")
        && ex
            .response
            .as_ref()
            .is_none_or(|r| r.status == 0 && r.headers.is_empty())
    {
        v.firefox_error = Some(DID_NOT_SUCCEED);
    }
}

/// Firefox's DevTools HAR keeps a blocked response as it came (status, headers) and marks
/// nothing as blocked: an entry without a response got none (the channel failed), and a pass
/// is only as sure as on the wire (the credentials mode is not in the recording).
pub(super) fn har_records_no_blocking(ex: &Exchange, engine: Engine) -> bool {
    engine == Engine::Firefox && matches!(ex.source.location, Location::HarEntry(_))
}

/// A preflight Firefox's recording keeps without status or headers got no response: the
/// preflight channel failed (connection refused…), `CORSDidNotSucceed`.
pub(super) fn preflight_failed_in_recording(
    pf: &Exchange,
    engine: Engine,
    line: &LazyLine<'_, '_>,
) -> Option<Verdict> {
    if !har_records_no_blocking(pf, engine) {
        return None;
    }
    let mut v = did_not_succeed(Kind::PreflightNoResponse, String::new(), line);
    v.failed_parameter = None;
    v.message = firefox_line(DID_NOT_SUCCEED, &line.url, None, "").unwrap_or_default();
    Some(v.with(
        Confidence::Inferred(
            "Firefox's recording keeps the response of a blocked preflight; this one has none, so the preflight got no answer (connection failed)".into(),
        ),
        base_evidence(pf),
    ))
}

/// Firefox's console line for each blocked verdict (§3.1), in place of Chromium's.
pub(super) fn console_lines(
    ex: &Exchange,
    ctx: &Context<'_>,
    line: &LazyLine<'_, '_>,
    verdicts: &mut [Verdict],
) {
    if ctx.engine != Engine::Firefox {
        return;
    }
    for v in verdicts
        .iter_mut()
        .filter(|v| v.class() == VerdictClass::Blocked)
    {
        let Some(code) = v.firefox_error else {
            continue;
        };
        // The status Firefox prints: of the response checked (the preflight's, for the actual
        // request behind a failed preflight); none for a failed channel.
        let status = (code != DID_NOT_SUCCEED)
            .then(|| {
                let own = ex.response.as_ref().map(|r| r.status).filter(|s| *s > 0);
                own.or_else(|| {
                    ctx.partner
                        .and_then(|p| p.response.as_ref())
                        .map(|r| r.status)
                        .filter(|s| *s > 0)
                })
            })
            .flatten();
        let param = v.failed_parameter.as_deref().unwrap_or("");
        if let Some(m) = firefox_line(code, &line.url, status, param) {
            v.message = m;
        }
    }
}

fn did_not_succeed(kind: Kind, param: String, line: &LazyLine<'_, '_>) -> Verdict {
    Verdict {
        kind,
        cors_error: None,
        firefox_error: Some(DID_NOT_SUCCEED),
        message: firefox_line(DID_NOT_SUCCEED, &line.url, None, "").unwrap_or_default(),
        failed_parameter: (!param.is_empty()).then_some(param),
        confidence: Confidence::Certain,
        evidence: Vec::new(),
    }
}

fn shown_location(loc: &str) -> String {
    if refuses_redirect_to_data_url(loc) {
        // A data: URL's payload is content, not a location: its scheme and type suffice.
        let head = loc.split([',', ';']).next().unwrap_or("data:");
        return format!("{head},…");
    }
    redact::url(loc).into_owned()
}
