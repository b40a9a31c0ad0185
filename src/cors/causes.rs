//! The likely causes of a block a recording does not explain (`cors_blocked_unknown`), ranked by
//! what the recording does show of the request, each with what would tell it apart. Each cause
//! is a kind, so that its server-side fix is that kind's. A pure function, like the classifier.

use super::facts::request_facts;
use super::{Context, Kind};
use crate::model::Exchange;
use serde::Serialize;

/// Causes listed at most.
pub const MAX_CAUSES: usize = 4;

/// One likely cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// The kind it would be; its fix is the server-side fix.
    pub kind: Kind,
    /// What in the recording points to it.
    pub why: String,
    /// What would tell it apart from the others.
    pub tell: &'static str,
}

fn cause(kind: Kind, why: impl Into<String>) -> Cause {
    Cause {
        kind,
        why: why.into(),
        tell: tell(kind),
    }
}

/// What tells each cause apart.
fn tell(kind: Kind) -> &'static str {
    match kind {
        Kind::AcaoMissing | Kind::AcaoMissingErrorPath => {
            "the console line says \"No 'Access-Control-Allow-Origin' header is present\"; a Chrome DevTools HAR, or a capture beside the server, keeps the response headers"
        }
        Kind::AcaoMismatch => {
            "the console line quotes the value \"that is not equal to the supplied origin\""
        }
        Kind::AcacInvalid | Kind::WildcardWithCredentials => {
            "the console line names 'Access-Control-Allow-Credentials' or the wildcard; the page's fetch() uses credentials: 'include' (XHR: withCredentials)"
        }
        Kind::PreflightAcaoMissing | Kind::PreflightStatusNotOk | Kind::PreflightAuthRejected => {
            "the console line begins \"Response to preflight request doesn't pass access control check\"; a Chrome DevTools HAR keeps the OPTIONS entry (Playwright's does not)"
        }
        Kind::HeaderNotAllowed | Kind::MethodNotAllowed => {
            "the console line says the header or method \"is not allowed by Access-Control-Allow-…\" in preflight response"
        }
        Kind::AcaoStaleCache => {
            "it fails only after an earlier load of the same URL, and passes with the cache disabled (DevTools: Disable cache)"
        }
        _ => "the browser console names the reason",
    }
}

/// The likely causes of `ex`'s block, most likely first, at most [`MAX_CAUSES`]. `ctx` is what
/// the classifier was given.
pub fn likely_causes(ex: &Exchange, ctx: &Context<'_>) -> Vec<Cause> {
    let facts = request_facts(ex);
    let preflight = ctx.partner.filter(|p| p.is_preflight());
    let recorded = ex.response.as_ref().is_some_and(|r| !r.headers.is_empty());
    let auth = ex.request.headers.contains("authorization");
    let mut v = Vec::new();
    let what_needs_it = || {
        let mut parts = Vec::new();
        if !matches!(ex.request.method.as_str(), "GET" | "HEAD" | "POST") {
            parts.push(format!("method {}", ex.request.method));
        }
        if !facts.unsafe_headers.is_empty() {
            parts.push(format!("headers {}", facts.unsafe_headers.join(", ")));
        }
        parts.join(" and ")
    };
    if recorded {
        if facts.needs_preflight && preflight.is_none() {
            v.push(cause(
                Kind::PreflightAcaoMissing,
                format!(
                    "the request needs a preflight ({}) and the recording keeps none: the browser may have stopped at a failed preflight",
                    what_needs_it()
                ),
            ));
        }
        v.push(cause(
            Kind::AcaoStaleCache,
            "the recorded response passes every check: the browser may have judged another answer, one from its HTTP cache",
        ));
        v.push(cause(
            Kind::AcacInvalid,
            "a credentialed request needs Access-Control-Allow-Credentials: true and an exact origin; the recording may not show the credentials",
        ));
    } else if preflight.is_some() {
        v.push(cause(
            Kind::AcaoMissing,
            "its preflight passed, so the actual response failed: most often the route's handler sends no Access-Control-Allow-Origin while another layer answers OPTIONS",
        ));
        v.push(cause(
            Kind::AcaoMissingErrorPath,
            "the request failed on the server (4xx/5xx) and the error answer was written outside the CORS layer",
        ));
        v.push(cause(
            Kind::AcacInvalid,
            "the page sends credentials and the actual response lacks Access-Control-Allow-Credentials: true",
        ));
    } else if facts.needs_preflight {
        let needs = what_needs_it();
        if auth {
            v.push(cause(
                Kind::PreflightAuthRejected,
                "the request carries Authorization and needs a preflight: auth that answers the OPTIONS with 401/403 before CORS runs is the most common failure",
            ));
        }
        v.push(cause(
            Kind::PreflightAcaoMissing,
            format!(
                "the request needs a preflight ({needs}) and the recording keeps none (Playwright's HARs drop them): an OPTIONS answered without Access-Control-Allow-Origin stops it"
            ),
        ));
        v.push(cause(
            Kind::PreflightStatusNotOk,
            "the OPTIONS is answered with an error status (404/405 from a router without a CORS layer)",
        ));
        if !facts.unsafe_headers.is_empty() {
            v.push(cause(
                Kind::HeaderNotAllowed,
                format!(
                    "the preflight does not list {} in Access-Control-Allow-Headers",
                    facts.unsafe_headers.join(", ")
                ),
            ));
        } else {
            v.push(cause(
                Kind::MethodNotAllowed,
                format!(
                    "the preflight does not list {} in Access-Control-Allow-Methods",
                    ex.request.method
                ),
            ));
        }
    } else {
        v.push(cause(
            Kind::AcaoMissing,
            "a simple request with no response recorded: most often the answer lacks Access-Control-Allow-Origin (no CORS on the route, or the origin is not in the allowlist)",
        ));
        v.push(cause(
            Kind::AcaoMismatch,
            "Access-Control-Allow-Origin names another origin (a fixed value, a trailing slash, another scheme or port)",
        ));
        v.push(cause(
            Kind::AcacInvalid,
            "the page sends credentials (the recording's request headers do not show cookies) and the answer lacks Access-Control-Allow-Credentials: true",
        ));
        v.push(cause(
            Kind::AcaoMissingErrorPath,
            "the server failed (4xx/5xx) and its error answer was written outside the CORS layer",
        ));
    }
    v.truncate(MAX_CAUSES);
    v
}

/// Adds one exchange's ranked causes to a kind's tally: each cause scores by its rank (the
/// first [`MAX_CAUSES`] points, the last one).
pub fn tally(into: &mut Vec<(Cause, u64)>, causes: &[Cause]) {
    for (rank, c) in causes.iter().enumerate() {
        let score = (MAX_CAUSES - rank.min(MAX_CAUSES - 1)) as u64;
        match into.iter_mut().find(|(x, _)| x.kind == c.kind) {
            Some((_, s)) => *s += score,
            None => into.push((c.clone(), score)),
        }
    }
    into.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.kind.cmp(&b.0.kind)));
}
