//! The JSON report. `schema_version` changes only with breaking changes to this shape; the
//! JSON Schema in `report.schema.json` describes it and tests validate real output against it.
//! The same structs read reports back (`corswatch merge`).

use super::ReportData;
use super::layers::{self, CauseReport, HopsReport};
use crate::aggregate::{Example, Ranked, Totals};
use crate::cors::engine::EngineCounts;
use crate::fix;
use crate::model::CaptureHealth;
use crate::pair::PairStats;
use crate::stack::StackRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the report's shape this corswatch writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
/// The JSON Schema of the report.
pub const SCHEMA: &str = include_str!("report.schema.json");

/// The JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The program that wrote it.
    pub tool: Tool,
    /// Every input read.
    pub inputs: Vec<Input>,
    /// Run-wide counts.
    pub totals: Totals,
    /// Blocked first, then warnings, findings, notes; most frequent first within each.
    pub kinds: Vec<KindReport>,
    /// What fails most.
    pub top: Top,
    /// Pairing outcomes.
    pub pairing: PairStats,
    /// Capture health counters.
    pub capture_health: CaptureHealth,
    /// Conditions that make verdicts from a capture doubtful.
    pub capture_warnings: Vec<String>,
    /// At most [`super::MAX_PROBLEMS`]; `problems_total` counts all.
    pub problems: Vec<String>,
    /// Every problem found, shown or not.
    pub problems_total: u64,
    /// Requests seen at two hops (browser→proxy→app) or only at the inner one, and which
    /// layer set each CORS header.
    #[serde(default)]
    pub hops: HopsReport,
    /// The server stacks the traffic shows (`Server`, `X-Powered-By`, header shapes), the
    /// layer to fix first first.
    #[serde(default)]
    pub stacks: Vec<StackRow>,
    /// Blocked exchanges Chromium and Firefox decide differently (each event's `engines`
    /// shows both verdicts). Absent when the engines agree everywhere.
    #[serde(default, skip_serializing_if = "EngineCounts::is_zero")]
    pub engines: EngineCounts,
    /// `analyze --policy`: which requests the proposed policy would let pass or break.
    /// Absent without `--policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_if: Option<super::policy::WhatIfReport>,
    /// `--declared`: where the server's answers depart from the declared policy. Absent
    /// without `--declared`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_drift: Option<super::policy::DriftReport>,
}

/// The program that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// One input read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// Its name.
    pub name: String,
    /// `har`, `pcap` or `pcapng`, once recognised.
    pub format: Option<String>,
    /// Bytes read.
    pub bytes: u64,
    /// Exchanges read.
    pub exchanges: u64,
    /// Problems found in it.
    pub problems: u64,
    /// Servers whose TLS connections stayed encrypted for want of keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_without_keys: Vec<crate::model::TlsPeer>,
}

/// One kind's counts, message, evidence and examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindReport {
    /// The stable kind id.
    pub kind: String,
    /// `blocked`, `warning`, `finding` or `note`.
    pub class: String,
    /// One-line title.
    pub title: String,
    /// Verdicts of this kind.
    pub count: u64,
    /// How many rest on an assumption.
    pub inferred: u64,
    /// Chromium's `CorsError`s behind it, counted.
    pub cors_errors: BTreeMap<String, u64>,
    /// Firefox's reason code.
    pub firefox_error: Option<String>,
    /// The first example's console message.
    pub message: String,
    /// The first example's deciding headers.
    pub evidence: Vec<Evidence>,
    /// The methods, headers or values that failed.
    pub failed_parameters: Vec<Ranked>,
    /// Origins, most frequent first.
    pub origins: Vec<Ranked>,
    /// Route templates, most frequent first.
    pub routes: Vec<Ranked>,
    /// Methods, most frequent first.
    pub methods: Vec<Ranked>,
    /// A few examples (redacted).
    pub examples: Vec<Example>,
    /// The server stacks these exchanges show, the layer to fix first first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stacks: Vec<StackRow>,
    /// The first example's hop note: which layer (app, proxy) set the CORS headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<String>,
    /// For `cors_blocked_unknown`: the likely causes, most likely first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub likely_causes: Vec<CauseReport>,
}

/// A header that decided a verdict (value redacted where sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Header name.
    pub header: String,
    /// Header value, redacted where sensitive.
    pub value: String,
}

/// What fails most, over blocked requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Top {
    /// Origins, most frequent first.
    pub origins: Vec<Ranked>,
    /// Route templates, most frequent first.
    pub routes: Vec<Ranked>,
    /// Methods, most frequent first.
    pub methods: Vec<Ranked>,
    /// Request headers that preflights refused.
    pub request_headers: Vec<Ranked>,
}

/// The report of a run.
pub fn build(d: &ReportData<'_>) -> Report {
    let a = d.aggregate;
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "corswatch".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        inputs: d
            .run
            .inputs
            .iter()
            .map(|i| Input {
                name: i.name.clone(),
                format: i.format.map(str::to_owned),
                bytes: i.bytes,
                exchanges: i.exchanges,
                problems: i.problems,
                tls_without_keys: i.tls_without_keys.clone(),
            })
            .collect(),
        totals: a.totals,
        kinds: a
            .ranked_kinds()
            .into_iter()
            .map(|k| KindReport {
                kind: k.kind.id().into(),
                class: k.kind.class().as_str().into(),
                title: fix::fix(k.kind).title.into(),
                count: k.count,
                inferred: k.inferred,
                cors_errors: k
                    .cors_errors
                    .iter()
                    .map(|(e, n)| (e.as_str().to_owned(), *n))
                    .collect(),
                firefox_error: k.firefox_error.map(str::to_owned),
                message: k.message.clone(),
                evidence: k
                    .evidence
                    .iter()
                    .map(|(h, v)| Evidence {
                        header: h.clone(),
                        value: v.clone(),
                    })
                    .collect(),
                failed_parameters: k.failed_parameters.top(d.top),
                origins: k.origins.top(d.top),
                routes: k.routes.top(d.top),
                methods: k.methods.top(d.top),
                examples: k.examples.clone(),
                stacks: k.stacks.rows(),
                hop: k.hop.clone(),
                likely_causes: layers::causes(k),
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
        capture_warnings: capture_warnings(&a.health),
        problems: d.run.problems.iter().map(|p| p.to_string()).collect(),
        problems_total: d.run.problems_total,
        hops: layers::hops(a),
        stacks: a.stacks.rows(),
        engines: a.engines,
        what_if: a.policy.what_if.as_ref().map(super::policy::what_if),
        policy_drift: a.policy.drift.as_ref().map(super::policy::drift),
    }
}
/// Conditions that make verdicts from a packet capture doubtful.
pub fn capture_warnings(h: &CaptureHealth) -> Vec<String> {
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
    if let Some(line) = evictions_line(&h.evictions) {
        w.push(line);
    } else if h.flows_evicted > 0 {
        // Reports of older versions: no parts.
        w.push(format!(
            "{} flows evicted by the memory caps",
            h.flows_evicted
        ));
    }
    if h.truncated_values > 0 {
        w.push(format!(
            "{} header value(s) too large to read (the problems name each entry): verdicts that could depend on them are inferred",
            h.truncated_values
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

/// What the memory budget evicted or refused, part by part, and what to do about it; `None`
/// while nothing was.
fn evictions_line(e: &crate::model::Evictions) -> Option<String> {
    let parts = [
        (
            e.flows,
            "connections evicted (flow table full, --max-flows)",
        ),
        (
            e.held_bytes,
            "connections gave up out-of-order bytes (--max-held-bytes)",
        ),
        (
            e.http_bytes,
            "connections evicted for their HTTP state (--max-http-bytes)",
        ),
        (e.pipelined, "pipelined requests pushed out unanswered"),
        (
            e.pairing,
            "exchanges settled unpaired (--max-pairing-bytes)",
        ),
        (
            e.aggregate,
            "top-list values counted as `other` (--max-aggregate-keys)",
        ),
        (e.labels, "metric series folded into `other` (--max-series)"),
    ];
    let said: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    (!said.is_empty()).then(|| {
        format!(
            "memory budget (--max-memory): {}; exchanges on evicted connections are lost, the rest is only less detailed: raise the budget or the part's flag to keep more",
            said.join(", ")
        )
    })
}

/// The report as pretty JSON, with a final newline.
pub fn render(d: &ReportData<'_>) -> serde_json::Result<String> {
    let mut s = serde_json::to_string_pretty(&build(d))?;
    s.push('\n');
    Ok(s)
}
