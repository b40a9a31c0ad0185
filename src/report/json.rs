//! The JSON report. `schema_version` changes only with breaking changes to this shape; the
//! JSON Schema in `report.schema.json` describes it and tests validate real output against it.

use super::ReportData;
use crate::aggregate::{Example, Ranked, Totals};
use crate::fix;
use crate::model::CaptureHealth;
use crate::pair::PairStats;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: u32 = 1;
/// The JSON Schema of the report.
pub const SCHEMA: &str = include_str!("report.schema.json");

#[derive(Serialize)]
pub struct Report<'a> {
    pub schema_version: u32,
    pub tool: Tool,
    pub inputs: Vec<Input<'a>>,
    pub totals: Totals,
    pub kinds: Vec<KindReport<'a>>,
    pub top: Top,
    pub pairing: PairStats,
    pub capture_health: CaptureHealth,
    pub capture_warnings: Vec<String>,
    pub problems: Vec<String>,
    pub problems_total: u64,
}

#[derive(Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Serialize)]
pub struct Input<'a> {
    pub name: &'a str,
    pub format: Option<&'static str>,
    pub bytes: u64,
    pub exchanges: u64,
    pub problems: u64,
    /// Servers whose TLS connections stayed encrypted for want of keys.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tls_without_keys: &'a [crate::model::TlsPeer],
}

#[derive(Serialize)]
pub struct KindReport<'a> {
    pub kind: &'static str,
    pub class: &'static str,
    pub title: &'static str,
    pub count: u64,
    pub inferred: u64,
    pub cors_errors: BTreeMap<&'static str, u64>,
    pub firefox_error: Option<&'static str>,
    pub message: &'a str,
    pub evidence: Vec<Evidence<'a>>,
    pub failed_parameters: Vec<Ranked>,
    pub origins: Vec<Ranked>,
    pub routes: Vec<Ranked>,
    pub methods: Vec<Ranked>,
    pub examples: &'a [Example],
}

#[derive(Serialize)]
pub struct Evidence<'a> {
    pub header: &'a str,
    pub value: &'a str,
}

#[derive(Serialize)]
pub struct Top {
    pub origins: Vec<Ranked>,
    pub routes: Vec<Ranked>,
    pub methods: Vec<Ranked>,
    pub request_headers: Vec<Ranked>,
}

pub fn build<'a>(d: &ReportData<'a>) -> Report<'a> {
    let a = d.aggregate;
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "corswatch",
            version: env!("CARGO_PKG_VERSION"),
        },
        inputs: d
            .run
            .inputs
            .iter()
            .map(|i| Input {
                name: &i.name,
                format: i.format,
                bytes: i.bytes,
                exchanges: i.exchanges,
                problems: i.problems,
                tls_without_keys: &i.tls_without_keys,
            })
            .collect(),
        totals: a.totals,
        kinds: a
            .ranked_kinds()
            .into_iter()
            .map(|k| KindReport {
                kind: k.kind.id(),
                class: k.kind.class().as_str(),
                title: fix::fix(k.kind).title,
                count: k.count,
                inferred: k.inferred,
                cors_errors: k
                    .cors_errors
                    .iter()
                    .map(|(e, n)| (e.as_str(), *n))
                    .collect(),
                firefox_error: k.firefox_error,
                message: &k.message,
                evidence: k
                    .evidence
                    .iter()
                    .map(|(h, v)| Evidence {
                        header: h,
                        value: v,
                    })
                    .collect(),
                failed_parameters: k.failed_parameters.top(d.top),
                origins: k.origins.top(d.top),
                routes: k.routes.top(d.top),
                methods: k.methods.top(d.top),
                examples: &k.examples,
            })
            .collect(),
        top: Top {
            origins: a.origins.top(d.top),
            routes: a.routes.top(d.top),
            methods: a.methods.top(d.top),
            request_headers: a.request_headers.top(d.top),
        },
        pairing: a.pairing,
        capture_health: a.health,
        capture_warnings: capture_warnings(&a.health, &a.pairing),
        problems: d.run.problems.iter().map(|p| p.to_string()).collect(),
        problems_total: d.run.problems_total,
    }
}

/// Conditions that make verdicts from a packet capture doubtful.
pub fn capture_warnings(h: &CaptureHealth, _p: &PairStats) -> Vec<String> {
    let mut w = Vec::new();
    let requests = h.unanswered_requests + h.orphan_responses;
    if h.packets > 0
        && h.unanswered_requests > 0
        && h.orphan_responses == 0
        && h.unanswered_requests * 2 > requests.max(1)
    {
        w.push(format!(
            "{} requests have no response: if the capture missed the server's direction, missing-header verdicts cannot be made",
            h.unanswered_requests
        ));
    }
    if h.orphan_responses > 0 {
        w.push(format!(
            "{} responses have no request: the capture may have missed the client's direction or started mid-connection",
            h.orphan_responses
        ));
    }
    if h.gaps > 0 {
        w.push(format!(
            "{} TCP gaps ({} bytes never captured): messages across them were lost",
            h.gaps, h.gap_bytes
        ));
    }
    if h.non_http_flows > 0 {
        w.push(format!(
            "{} connections are not HTTP (another protocol, or a WebSocket after its upgrade): their traffic is not judged",
            h.non_http_flows
        ));
    }
    if h.tls_no_keys > 0 {
        w.push(format!(
            "{} of {} TLS connections were not decrypted for want of keys: record the browser or client with SSLKEYLOGFILE set and pass --keylog FILE (or embed the key log with editcap --inject-secrets tls,FILE)",
            h.tls_no_keys, h.tls_connections
        ));
    }
    if h.tls_failed > 0 || h.tls_record_failures > 0 {
        w.push(format!(
            "{} TLS connections did not decrypt with the key log given ({} records failed): is it the key log of this capture?",
            h.tls_failed, h.tls_record_failures
        ));
    }
    if h.tls_unsupported > 0 {
        w.push(format!(
            "{} TLS connections use a version or cipher suite that is not decrypted (only TLS 1.3 and TLS 1.2 AEAD suites are)",
            h.tls_unsupported
        ));
    }
    if h.hpack_errors > 0 || h.h2_frame_errors > 0 {
        w.push(format!(
            "{} HTTP/2 header blocks did not decode and {} framing errors were seen: the rest of those connections was lost",
            h.hpack_errors, h.h2_frame_errors
        ));
    }
    if h.quic_packets > 0 {
        w.push(format!(
            "{} QUIC (HTTP/3) packets on UDP port 443 were seen and cannot be read: make the browser use TCP (Chromium: --disable-quic), or use a HAR",
            h.quic_packets
        ));
    }
    if h.flows_evicted > 0 {
        w.push(format!(
            "{} flows evicted by the memory caps",
            h.flows_evicted
        ));
    }
    if h.truncated_packets > 0 {
        w.push(format!(
            "{} packets cut by the snapshot length: capture with a larger snaplen (-s 0)",
            h.truncated_packets
        ));
    }
    w
}

pub fn render(d: &ReportData<'_>) -> serde_json::Result<String> {
    let mut s = serde_json::to_string_pretty(&build(d))?;
    s.push('\n');
    Ok(s)
}
