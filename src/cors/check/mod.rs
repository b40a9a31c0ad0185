//! The checks, in Chromium's order (taxonomy §1.4 and §9). `classify` below is the order;
//! each room holds one part of the decision:
//!
//! - [`scope`]: is this a CORS request at all (mode, same origin, network errors)?
//! - [`access`]: the `Access-Control-Allow-Origin` / `-Credentials` check both paths share;
//! - [`actual`]: actual and simple requests;
//! - [`preflight`]: preflights, and the warnings and notes they earn;
//! - [`lna`]: Private and Local Network Access;
//! - [`inferred`]: a failed recording entry with no response, from the rest of the recording
//!   (stale cache, Local Network Access);
//! - [`no_cors`]: `no-cors` lookalikes;
//! - [`firefox`]: where Firefox decides differently (the context's engine says which).
//!
//! Then security findings (`super::findings`) run on whatever passed or failed.

mod access;
mod actual;
mod firefox;
mod inferred;
mod lna;
mod no_cors;
mod preflight;
mod scope;

use super::facts::{list_elements, lossy, trim_ows};
use super::findings;
use super::message::{Line, resource_word};
use super::{
    Classification, Confidence, Context, CorsError, Credentials, Kind, NotCors, Scope, Verdict,
    VerdictClass,
};
use crate::model::{Exchange, Headers, Location, Response};
use crate::{redact, url};
use scope::failure_text;

/// The assumption of a request the capture shows no response to.
pub(crate) const NO_RESPONSE_ON_WIRE: &str = "no response was captured for this request (the connection ended first, or the capture lost it): no CORS check could run, so whether the browser let the page read it is not known";

/// Classifies one exchange; see [`super::classify`].
pub(super) fn classify(ex: &Exchange, ctx: &Context<'_>) -> Classification {
    let mut c = judge(ex, ctx);
    if !ex.hints.truncated.is_empty() {
        // A value the recording holds and corswatch did not read may be the one that decides.
        let reason = format!(
            "the recording's {} {} too large to read, and the outcome could depend on {}",
            ex.hints.truncated.join(", "),
            if ex.hints.truncated.len() == 1 {
                "was"
            } else {
                "were"
            },
            if ex.hints.truncated.len() == 1 {
                "it"
            } else {
                "them"
            },
        );
        match c
            .verdicts
            .iter_mut()
            .find(|v| v.class() == VerdictClass::Blocked)
        {
            Some(v) => {
                if v.confidence == Confidence::Certain {
                    v.confidence = Confidence::Inferred(reason);
                }
                for t in &ex.hints.truncated {
                    v.evidence
                        .push((t.clone(), "[truncated: too large to read]".into()));
                }
            }
            None if c.pass_assumption.is_none() => c.pass_assumption = Some(reason),
            None => {}
        }
    }
    c
}

fn judge(ex: &Exchange, ctx: &Context<'_>) -> Classification {
    let origin = ex
        .request
        .headers
        .get("origin")
        .map(|v| lossy(trim_ows(v)).into_owned());
    let mut c = Classification {
        scope: Scope::NotCors(NotCors::NoOrigin),
        origin,
        verdicts: Vec::new(),
        pass_assumption: None,
    };
    // 1. Scope: WebSocket, no-cors, same-origin and navigation modes, network errors.
    if scope::settled_before_origin(ex, ctx, &mut c) {
        return c;
    }
    // 2. The origin (a recording's provisional headers may lack it), and same origin.
    if c.origin.is_none() {
        c.origin = scope::provisional_origin(ex, ctx);
    }
    let Some(o) = c.origin.as_deref() else {
        return c;
    };
    // The request URL and the origin, split once for the checks that need their parts.
    let url = url::split_url(&ex.request.url);
    let o_parts = url::origin_parts(o);
    if scope::is_same_origin(ex, o_parts, url) {
        c.scope = Scope::NotCors(NotCors::SameOrigin);
        return c;
    }
    let is_preflight = ex.is_preflight();
    c.scope = Scope::Cors(scope::exchange_type(ex, ctx, is_preflight));
    let line = LazyLine::new(ex, ctx, o);
    // 3. The scheme CORS covers.
    if let Some(v) = scope::cors_disabled_scheme(ex, &line) {
        c.verdicts.push(v);
        return c;
    }
    let (creds, creds_assumption) = credentials(ex, ctx, is_preflight);

    // 4. The preflight's checks, or the actual response's.
    if is_preflight {
        preflight::check(ex, ctx, o, creds, creds_assumption, &line, &mut c.verdicts);
    } else if let Some(mut v) = actual::check(ex, ctx, o, creds, creds_assumption, &line) {
        firefox::reports_failed_channel_as_cors(ex, ctx.engine, &mut v);
        if har_shows_success(ex) && v.confidence == Confidence::Certain {
            v.confidence = Confidence::Inferred(
                "the recording shows no error for this entry, so the browser may not have applied CORS to it (a no-cors load)".into(),
            );
        }
        c.verdicts.push(v);
    } else if ex.response.is_none() && matches!(ex.source.location, Location::Packets { .. }) {
        // Nothing answered on the wire: no check ran, so "passes" is only the default.
        c.pass_assumption = Some(NO_RESPONSE_ON_WIRE.into());
    } else if creds == Credentials::Unknown
        // A recording says whether the browser failed the request; the wire does not, nor
        // does Firefox's recording.
        && (matches!(ex.source.location, Location::Packets { .. })
            || firefox::har_records_no_blocking(ex, ctx.engine))
        && let Some(kind) = actual::fails_with_credentials(ex, ctx, o)
    {
        c.pass_assumption = Some(
            [
                "passes because no Cookie shows the request was credentialed; with credentials: 'include' the browser blocks it (",
                kind.id(),
                ")",
            ]
            .concat(),
        );
    }
    if scope::is_extension_origin(o) {
        // Extension pages and workers with host permissions are exempt from CORS.
        for v in c.verdicts.iter_mut() {
            if v.class() == VerdictClass::Blocked && v.confidence == Confidence::Certain {
                v.confidence = Confidence::Inferred(
                    "the extension lacks host permissions for this URL (with them, CORS does not apply)".into(),
                );
            }
        }
    }

    // 5. Security findings, and the cookie lookalike, on whatever came back.
    if let Some(resp) = ex.response.as_ref() {
        findings::security(ex, ctx, o, o_parts, url, resp, &mut c.verdicts);
        if !is_preflight && c.blocked().is_none() {
            actual::credentials_not_sent(ex, ctx, resp, &mut c.verdicts);
        }
    }
    // Blocked first, then warnings, findings, notes; stable, so check order is kept within each.
    c.verdicts.sort_by_key(Verdict::class);
    firefox::console_lines(ex, ctx, &line, &mut c.verdicts);
    c
}

// ----- shared helpers -----

impl Verdict {
    /// A blocked verdict with Chromium's console line for `err` and `hint`; certain, without
    /// evidence until [`Verdict::with`] adds it.
    fn blocked(
        kind: Kind,
        err: CorsError,
        firefox: Option<&'static str>,
        hint: Option<String>,
        line: &Line,
    ) -> Verdict {
        Verdict {
            kind,
            cors_error: Some(err),
            firefox_error: firefox,
            message: line.chromium(err, hint.as_deref().unwrap_or("")),
            failed_parameter: hint,
            confidence: Confidence::Certain,
            evidence: Vec::new(),
        }
    }

    /// The same verdict with this confidence and evidence.
    fn with(mut self, confidence: Confidence, evidence: Vec<(String, String)>) -> Verdict {
        self.confidence = confidence;
        self.evidence = evidence;
        self
    }
}

/// The console line, built on first use: most exchanges pass and never print one, and building
/// it redacts and copies URLs.
struct LazyLine<'a, 'c> {
    ex: &'a Exchange,
    ctx: &'a Context<'c>,
    wire_origin: &'a str,
    line: std::cell::OnceCell<Line>,
}

impl<'a, 'c> LazyLine<'a, 'c> {
    fn new(ex: &'a Exchange, ctx: &'a Context<'c>, wire_origin: &'a str) -> Self {
        LazyLine {
            ex,
            ctx,
            wire_origin,
            line: std::cell::OnceCell::new(),
        }
    }
}

impl std::ops::Deref for LazyLine<'_, '_> {
    type Target = Line;

    fn deref(&self) -> &Line {
        self.line
            .get_or_init(|| line_for(self.ex, self.ctx, self.wire_origin))
    }
}

fn line_for(ex: &Exchange, ctx: &Context<'_>, wire_origin: &str) -> Line {
    // A preflight entry's own type is `preflight`: the console names the actual request's type.
    let own = ex
        .hints
        .resource_type
        .as_deref()
        .filter(|t| !t.eq_ignore_ascii_case("preflight"));
    let rt = own.or_else(|| ctx.partner.and_then(|p| p.hints.resource_type.as_deref()));
    Line {
        kind: resource_word(rt),
        url: redact::url(&ex.request.url).into_owned(),
        first_url: ctx.first_url.map(|u| redact::url(u).into_owned()),
        origin: ctx
            .page_origin
            .map_or_else(|| wire_origin.to_owned(), str::to_owned),
    }
}

fn credentials(
    ex: &Exchange,
    ctx: &Context<'_>,
    is_preflight: bool,
) -> (Credentials, Option<&'static str>) {
    // A preflight never carries cookies; the actual request's credentials mode is what counts.
    let carrier = if is_preflight { ctx.partner } else { Some(ex) };
    if carrier.is_some_and(|e| e.request.headers.contains("cookie")) {
        return (Credentials::Include, None);
    }
    match ctx.credentials_hint {
        Some(Credentials::Include) => (
            Credentials::Include,
            Some(
                "credentials mode taken from other requests of this client to this host, which carried cookies",
            ),
        ),
        _ => (Credentials::Unknown, None),
    }
}

fn confidence(assumption: Option<&str>) -> Confidence {
    match assumption {
        Some(a) => Confidence::Inferred(a.to_owned()),
        None => Confidence::Certain,
    }
}

fn push_header(out: &mut Vec<(String, String)>, h: &Headers, name: &str) {
    for v in h.get_all(name) {
        out.push((
            name.to_owned(),
            redact::header_value(name, trim_ows(v)).into_owned(),
        ));
    }
}

fn base_evidence(ex: &Exchange) -> Vec<(String, String)> {
    let mut ev = Vec::with_capacity(4);
    push_header(&mut ev, &ex.request.headers, "Origin");
    ev
}

/// A response whose headers can be checked. A failed recording entry without headers (Playwright,
/// old DevTools, an unsent request) has a status at most, which proves nothing.
fn has_headers(r: &Response, failed: bool) -> bool {
    !r.headers.is_empty() || (r.status > 0 && !failed)
}

fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status) && status != 304
}

/// A recording that writes errors (Chromium's `_resourceType` marks one) shows this entry as a
/// success: the browser did not block it.
fn har_shows_success(ex: &Exchange) -> bool {
    matches!(ex.source.location, Location::HarEntry(_))
        && ex.failure.is_none()
        && ex.hints.resource_type.is_some()
}

fn vary_has_origin(h: &Headers) -> bool {
    list_elements(h, "vary").any(|e| e.eq_ignore_ascii_case(b"origin") || e == b"*")
}
