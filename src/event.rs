//! One event per CORS exchange: what `--format events` prints (one JSON object per line) and
//! what the aggregate and the metrics count. Everything in it is already redacted.

use crate::cors::causes::Cause;
use crate::cors::engine::EngineSplit;
use crate::cors::{
    Classification, Confidence, CorsError, ExchangeType, Kind, Scope, Verdict, VerdictClass,
};
use crate::hop::HopFacts;
use crate::model::{Exchange, Pairing, Timestamp};
use crate::policy::drift::Drift;
use crate::redact;
use crate::stack::Detected;
use crate::url::route;
use serde::Serialize;
use std::sync::Arc;

/// One CORS exchange, classified (preflights included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The input file (or `-` for stdin).
    pub source: Arc<str>,
    /// HAR entry index (0-based) or first packet number (1-based).
    pub index: u64,
    /// Request start, written as RFC 3339 UTC (formatted only when the event is written).
    #[serde(serialize_with = "rfc3339")]
    pub time: Timestamp,
    /// The request's `Origin` (or the page origin a recording implies).
    pub origin: Option<String>,
    /// The method as sent.
    pub method: String,
    /// The URL with query values redacted.
    pub url: String,
    /// The route template (`/users/{id}`).
    pub route: String,
    /// Response status; absent when no response was seen or the recorder kept none.
    pub status: Option<u16>,
    /// `simple`, `preflight` or `actual`.
    #[serde(rename = "type")]
    pub exchange_type: ExchangeType,
    /// The browser refuses it.
    pub blocked: bool,
    /// The blocking kind when `blocked`.
    pub kind: Option<Kind>,
    /// Chromium's `CorsError` when blocked.
    pub cors_error: Option<CorsError>,
    /// The method, header or value that failed, when blocked.
    pub failed_parameter: Option<String>,
    /// Confidence of the outcome: of the blocking verdict, or of the pass.
    pub confidence: Confidence,
    /// The console message when blocked.
    pub message: Option<String>,
    /// What pairing concluded (`preflight_then_actual`, `actual_without_preflight`...).
    pub pairing: &'static str,
    /// The index of the paired preflight or actual request in the same input.
    pub paired_with: Option<u64>,
    /// The blocking verdict in full.
    pub blocked_detail: Option<Verdict>,
    /// Warnings of this exchange.
    pub warnings: Vec<Verdict>,
    /// Security findings of this exchange.
    pub findings: Vec<Verdict>,
    /// Notes of this exchange.
    pub notes: Vec<Verdict>,
    /// False for a failed preflight whose refused actual request is counted instead.
    #[serde(skip)]
    pub counted: bool,
    /// What the request's hops tell (seen browser→proxy and proxy→app, or only the inner
    /// hop); absent for a request seen at one hop with no proxy in front.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop: Option<HopFacts>,
    /// For `cors_blocked_unknown`: the likely causes, most likely first, from what the
    /// recording shows (each a kind, whose fix applies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub likely_causes: Vec<Cause>,
    /// The server stacks the traffic shows (the layer to fix first first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stacks: Vec<Detected>,
    /// Chromium's and Firefox's decisions, where the two engines decide this exchange
    /// differently (absent where they agree). The fields above are the input's engine's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engines: Option<EngineSplit>,
    /// How the server's answer departs from the declared policy (`--declared`); absent
    /// without one, or where the answer keeps to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy_drift: Vec<Drift>,
    /// Headers the recording holds that were too large to read (`request origin`...): the
    /// outcome's confidence says what they could change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
}

impl Event {
    /// The event of a CORS exchange; `None` (and nothing built) for exchanges outside CORS.
    pub fn new(
        ex: &Exchange,
        c: Classification,
        pairing: Pairing,
        partner: Option<&Exchange>,
    ) -> Option<Event> {
        let Scope::Cors(exchange_type) = &c.scope else {
            return None;
        };
        let exchange_type = exchange_type.clone();
        let confidence = c.confidence();
        let mut blocked = None;
        let (mut warnings, mut findings, mut notes) = (Vec::new(), Vec::new(), Vec::new());
        for v in c.verdicts {
            match v.class() {
                VerdictClass::Blocked if blocked.is_none() => blocked = Some(v),
                VerdictClass::Blocked => {}
                VerdictClass::Warning => warnings.push(v),
                VerdictClass::Finding => findings.push(v),
                VerdictClass::Note => notes.push(v),
            }
        }
        Some(Event {
            source: ex.source.input.clone(),
            index: ex.source.index(),
            time: ex.time,
            origin: c.origin,
            method: ex.request.method.clone(),
            url: redact::url(&ex.request.url).into_owned(),
            route: route(&ex.request.url),
            status: ex.response.as_ref().map(|r| r.status).filter(|s| *s > 0),
            exchange_type,
            blocked: blocked.is_some(),
            kind: blocked.as_ref().map(|b| b.kind),
            cors_error: blocked.as_ref().and_then(|b| b.cors_error),
            failed_parameter: blocked.as_ref().and_then(|b| b.failed_parameter.clone()),
            confidence,
            message: blocked.as_ref().map(|b| b.message.clone()),
            pairing: pairing_name(pairing),
            paired_with: partner.map(|p| p.source.index()),
            warnings,
            findings,
            notes,
            blocked_detail: blocked,
            counted: true,
            hop: None,
            likely_causes: Vec::new(),
            stacks: Vec::new(),
            engines: None,
            policy_drift: Vec::new(),
            truncated: ex.hints.truncated.clone(),
        })
    }

    /// Every verdict: the blocking one first, then warnings, findings, notes.
    pub fn all_verdicts(&self) -> impl Iterator<Item = &Verdict> {
        self.blocked_detail
            .iter()
            .chain(&self.warnings)
            .chain(&self.findings)
            .chain(&self.notes)
    }
}

/// How events and reports name a pairing outcome.
pub fn pairing_name(p: Pairing) -> &'static str {
    match p {
        Pairing::Unpaired => "none",
        Pairing::PreflightFollowed => "preflight_then_actual",
        Pairing::PreflightAlone {
            capture_open: false,
        } => "preflight_without_actual",
        Pairing::PreflightAlone { capture_open: true } => "preflight_at_end_of_input",
        Pairing::ActualAfterPreflight => "actual_after_preflight",
        Pairing::ActualWithoutPreflight => "actual_without_preflight",
    }
}

fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}
