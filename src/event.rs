//! One event per CORS exchange: what `--format events` prints (one JSON object per line) and
//! what the aggregate and the metrics count. Everything in it is already redacted.

use crate::aggregate::route;
use crate::cors::{
    Classification, Confidence, CorsError, ExchangeType, Kind, Verdict, VerdictClass,
};
use crate::model::{Exchange, Pairing};
use crate::redact;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictEvent {
    pub kind: Kind,
    pub class: VerdictClass,
    pub cors_error: Option<CorsError>,
    pub firefox_error: Option<&'static str>,
    pub failed_parameter: Option<String>,
    pub message: String,
    pub confidence: Confidence,
    pub evidence: Vec<(String, String)>,
}

impl VerdictEvent {
    pub fn inferred(&self) -> bool {
        matches!(self.confidence, Confidence::Inferred(_))
    }
}

impl From<&Verdict> for VerdictEvent {
    fn from(v: &Verdict) -> Self {
        VerdictEvent {
            kind: v.kind,
            class: v.class(),
            cors_error: v.cors_error,
            firefox_error: v.firefox_error,
            failed_parameter: v.failed_parameter.clone(),
            message: v.message.clone(),
            confidence: v.confidence.clone(),
            evidence: v.evidence.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The input file (or `-` for stdin).
    pub source: String,
    /// HAR entry index (0-based) or first packet number (1-based).
    pub index: u64,
    /// Request start, RFC 3339 UTC.
    pub time: String,
    pub origin: Option<String>,
    pub method: String,
    /// The URL with query values redacted.
    pub url: String,
    pub route: String,
    /// Response status; absent when no response was seen or the recorder kept none.
    pub status: Option<u16>,
    #[serde(rename = "type")]
    pub exchange_type: ExchangeType,
    pub blocked: bool,
    /// The blocking kind when `blocked`.
    pub kind: Option<Kind>,
    pub cors_error: Option<CorsError>,
    pub failed_parameter: Option<String>,
    /// Confidence of the outcome: of the blocking verdict, or of the pass.
    pub confidence: Confidence,
    /// The console message when blocked.
    pub message: Option<String>,
    pub pairing: &'static str,
    /// The index of the paired preflight or actual request in the same input.
    pub paired_with: Option<u64>,
    pub blocked_detail: Option<VerdictEvent>,
    pub warnings: Vec<VerdictEvent>,
    pub findings: Vec<VerdictEvent>,
    pub notes: Vec<VerdictEvent>,
    /// False for a failed preflight whose refused actual request is counted instead.
    #[serde(skip)]
    pub counted: bool,
}

impl Event {
    /// `None` for exchanges outside CORS.
    pub fn new(
        ex: &Exchange,
        c: &Classification,
        pairing: Pairing,
        partner: Option<&Exchange>,
    ) -> Option<Event> {
        let exchange_type = c.exchange_type()?.clone();
        let blocked = c.blocked().map(VerdictEvent::from);
        let by_class = |class: VerdictClass| -> Vec<VerdictEvent> {
            c.verdicts
                .iter()
                .filter(|v| v.class() == class)
                .map(VerdictEvent::from)
                .collect()
        };
        Some(Event {
            source: ex.source.input.to_string(),
            index: ex.source.index(),
            time: ex.time.to_rfc3339(),
            origin: c.origin.clone(),
            method: ex.request.method.clone(),
            url: redact::url(&ex.request.url).into_owned(),
            route: route(&ex.request.url),
            status: ex.response.as_ref().map(|r| r.status).filter(|s| *s > 0),
            exchange_type,
            blocked: blocked.is_some(),
            kind: blocked.as_ref().map(|b| b.kind),
            cors_error: blocked.as_ref().and_then(|b| b.cors_error),
            failed_parameter: blocked.as_ref().and_then(|b| b.failed_parameter.clone()),
            confidence: c.confidence(),
            message: blocked.as_ref().map(|b| b.message.clone()),
            pairing: pairing_name(pairing),
            paired_with: partner.map(|p| p.source.index()),
            warnings: by_class(VerdictClass::Warning),
            findings: by_class(VerdictClass::Finding),
            notes: by_class(VerdictClass::Note),
            blocked_detail: blocked,
            counted: true,
        })
    }

    pub fn all_verdicts(&self) -> impl Iterator<Item = &VerdictEvent> {
        self.blocked_detail
            .iter()
            .chain(&self.warnings)
            .chain(&self.findings)
            .chain(&self.notes)
    }
}

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
