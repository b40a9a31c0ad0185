//! The browser's CORS decision, as a pure function of what traffic shows.
//!
//! [`classify`] takes one [`Exchange`] plus what pairing and the rest of the traffic know about it
//! ([`Context`]) and returns what the browser engine named in the context ([`Engine`]: Chromium
//! or Firefox) would conclude: zero or one blocking failure, warnings, security findings and
//! notes. No I/O, no clock, no globals.

pub mod causes;
mod check;
pub mod engine;
mod facts;
mod findings;
mod kind;
mod message;
#[cfg(test)]
mod tests;

pub use engine::Engine;
pub use facts::{RequestFacts, request_facts};
pub use kind::{CorsError, Kind, VerdictClass};
pub use message::firefox_line;

use crate::model::{Exchange, Pairing};
use serde::Serialize;

/// Credentials mode of the request as far as traffic can prove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentials {
    /// `Cookie` (or HTTP auth) seen on the request: credentials mode "include".
    Include,
    /// Nothing proves it either way (no cookie seen, or the recording was sanitized).
    Unknown,
}

/// How sure a verdict is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "level", content = "assumption", rename_all = "snake_case")]
pub enum Confidence {
    /// Traffic proves it.
    Certain,
    /// The verdict rests on the stated assumption.
    Inferred(String),
}

/// Where an exchange stands with respect to CORS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeType {
    /// A cross-origin request that needs no preflight.
    Simple,
    /// An OPTIONS request carrying `Access-Control-Request-Method`.
    Preflight,
    /// A cross-origin request that needs (or had) a preflight.
    Actual,
}

/// Why an exchange is outside CORS (and so is never counted as a CORS failure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotCors {
    /// No `Origin` header and no other sign of a CORS-mode request.
    NoOrigin,
    /// `Origin` equals the request URL's origin.
    SameOrigin,
    /// `Sec-Fetch-Mode` is `no-cors`, `navigate`, `same-origin` or `websocket`.
    Mode(String),
    /// A WebSocket upgrade (not subject to CORS).
    WebSocket,
    /// The request failed for a reason that is not CORS (a `net::` error such as
    /// `ERR_BLOCKED_BY_ORB`, connection refused, mixed content, blocked by client).
    NetworkError(String),
}

/// Whether CORS applies to an exchange, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A CORS request of this type.
    Cors(ExchangeType),
    /// Outside CORS, and why.
    NotCors(NotCors),
}

/// One conclusion about an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The stable kind id.
    pub kind: Kind,
    /// Chromium `CorsError` as the DevTools protocol spells it (e.g. `AllowOriginMismatch`);
    /// `None` where Chromium raises no CORS error (network errors, warnings, findings).
    pub cors_error: Option<CorsError>,
    /// Firefox reason code as MDN names it (e.g. `CORSMissingAllowOrigin`).
    pub firefox_error: Option<&'static str>,
    /// The method, header name or header value that failed (Chromium's "hint").
    pub failed_parameter: Option<String>,
    /// The console message Chromium prints (for blocked verdicts), the DevTools issue text for
    /// warnings, or our one-line statement for findings and notes.
    pub message: String,
    /// Whether traffic proves it, or the assumption it rests on.
    pub confidence: Confidence,
    /// The headers that decided it, as (name, value) with sensitive values redacted.
    pub evidence: Vec<(String, String)>,
}

impl Verdict {
    /// The kind's class (blocked, warning, finding, note).
    pub fn class(&self) -> VerdictClass {
        self.kind.class()
    }
}

/// The outcome of [`classify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// Whether CORS applies.
    pub scope: Scope,
    /// The request's `Origin` as sent (may be `null`). For a failed request that a client
    /// recording kept with provisional headers only (no `Origin`), the page origin.
    pub origin: Option<String>,
    /// At most one blocked verdict (the first check that fails, in the browser's order),
    /// followed by warnings, findings and notes.
    pub verdicts: Vec<Verdict>,
    /// When nothing blocks, but only because the request looks uncredentialed: the browser
    /// would block a credentialed one, and no `Cookie` on the wire cannot prove
    /// `credentials: 'omit'` (a credentialed fetch to a site without cookies sends none).
    pub pass_assumption: Option<String>,
}

impl Classification {
    /// How sure the outcome is: the blocking verdict's confidence, or the assumption a pass
    /// rests on.
    pub fn confidence(&self) -> Confidence {
        match (self.blocked(), &self.pass_assumption) {
            (Some(v), _) => v.confidence.clone(),
            (None, Some(a)) => Confidence::Inferred(a.clone()),
            (None, None) => Confidence::Certain,
        }
    }

    /// The blocking verdict, if any.
    pub fn blocked(&self) -> Option<&Verdict> {
        self.verdicts
            .iter()
            .find(|v| v.class() == VerdictClass::Blocked)
    }

    /// The CORS request type, for a CORS request.
    pub fn exchange_type(&self) -> Option<&ExchangeType> {
        match &self.scope {
            Scope::Cors(t) => Some(t),
            Scope::NotCors(_) => None,
        }
    }
}

/// How much text a classification carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Every verdict with its message and evidence.
    #[default]
    Full,
    /// Security findings without their message and evidence (both left empty); everything
    /// else as [`Detail::Full`] gives it. On realistic traffic most classified exchanges carry
    /// a finding, and a run that only counts them (a report keeps the text of a kind's first
    /// verdict) need not build the text of every one.
    Counts,
}

/// What the rest of the traffic tells about an exchange.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// For an actual request: the preflight that guarded it. For a preflight: the actual
    /// request that followed it.
    pub partner: Option<&'a Exchange>,
    /// What pairing concluded about the exchange.
    pub pairing: Pairing,
    /// The previous hop when this request follows a redirect.
    pub previous_hop: Option<&'a Exchange>,
    /// How many redirects the browser followed before sending this request (0 when it
    /// follows none).
    pub redirects: u32,
    /// The first URL of the redirect chain (for "(redirected from '…')").
    pub first_url: Option<&'a str>,
    /// The origin of the page that sent the request, worked out once by the pipeline
    /// ([`crate::url::page_origin`]): the console names it, and it stands in for a missing or
    /// redirect-tainted `Origin`.
    pub page_origin: Option<&'a str>,
    /// Credentials seen elsewhere: the same client sent `Cookie` to the same host.
    pub credentials_hint: Option<Credentials>,
    /// How many distinct `Origin` values this server has echoed in ACAO so far (bounded count,
    /// kept by the pipeline): many unrelated origins reflected means "reflects anything".
    pub distinct_reflected_origins: u32,
    /// For a failed request a client recording keeps no response for: an earlier response to
    /// the same URL that the browser may have answered it with from its HTTP cache
    /// (cacheable, still fresh, not varying on `Origin`), found by the pipeline.
    pub cached_response: Option<&'a Exchange>,
    /// The engine whose decision is wanted (see [`engine`]): its order of checks, its codes,
    /// its console line.
    pub engine: Engine,
    /// The text wanted (see [`Detail`]); the verdicts' kinds, codes, failed parameters and
    /// confidence do not depend on it.
    pub detail: Detail,
}

/// Classifies one exchange as the browser would.
pub fn classify(exchange: &Exchange, ctx: &Context<'_>) -> Classification {
    check::classify(exchange, ctx)
}
