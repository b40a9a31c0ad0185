//! Prometheus metrics. Names are the contract the dashboards and alert rules use (design.md):
//! extend, never rename. Label values are bounded: `kind`, `type`, `outcome`, `where` are
//! closed sets; `origin` and `route` admit the first N values (or an allowlist) and fold the
//! rest into `other`, counting each fold in `corswatch_label_overflow_total{label}`.

mod hops;
mod web;

pub use web::Refusal;

use crate::aggregate::Totals;
use crate::cors::{ExchangeType, Kind, VerdictClass};
use crate::event::Event;
use crate::model::CaptureHealth;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

impl EncodeLabelValue for Kind {
    fn encode(&self, e: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        e.write_str(self.id())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BlockedLabels {
    kind: Kind,
    origin: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: Kind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    kind: Kind,
    origin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WhereLabels {
    r#where: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LabelLabels {
    label: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftLabels {
    rule: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartLabels {
    part: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

/// Admits the first `cap` values of a label (plus an allowlist); the rest become `other`.
#[derive(Debug)]
struct Bounded {
    cap: usize,
    allow: Option<HashSet<String>>,
    seen: Mutex<HashSet<String>>,
}

impl Bounded {
    fn fold(&self, value: &str, overflow: &Counter) -> String {
        if let Some(allow) = &self.allow {
            if allow.contains(value) {
                return value.to_string();
            }
            overflow.inc();
            return "other".to_string();
        }
        let mut seen = match self.seen.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        // Cut like the report's keys: a label value's cost is bounded whatever the wire sends.
        let value = crate::aggregate::bounded_key(value);
        if seen.contains(value.as_ref()) {
            return value.into_owned();
        }
        if seen.len() < self.cap {
            seen.insert(value.to_string());
            return value.into_owned();
        }
        overflow.inc();
        "other".to_string()
    }
}

/// Label bounds, from the command line.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// Distinct `origin` label values before folding into `other`.
    pub top_origins: usize,
    /// Distinct `route` label values before folding into `other`.
    pub top_routes: usize,
    /// When set, only these origins keep their own series.
    pub origins: Option<Vec<String>>,
    /// Series of the families with `origin` or `route` labels, together; past it a new
    /// combination is counted under `other` values (the `labels` part of `--max-memory`).
    pub max_series: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            top_origins: 50,
            top_routes: 100,
            origins: None,
            max_series: crate::budget::Budget::default().series,
        }
    }
}

/// The agent's Prometheus registry, with the metric names of `design.md`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<TypeLabels, Counter>,
    blocked: Family<BlockedLabels, Counter>,
    warnings: Family<KindLabels, Counter>,
    findings: Family<FindingLabels, Counter>,
    notes: Family<KindLabels, Counter>,
    preflights: Family<OutcomeLabels, Counter>,
    exchanges: Counter,
    packets: Counter,
    bytes: Counter,
    dropped: Family<WhereLabels, Counter>,
    gaps: Counter,
    flows: Gauge,
    parse_errors: Counter,
    evicted: Counter,
    unanswered: Counter,
    tls: Family<OutcomeLabels, Counter>,
    tls_record_failures: Counter,
    h2_connections: Counter,
    hpack_errors: Counter,
    h2_frame_errors: Counter,
    h2_streams_reset: Counter,
    quic_packets: Counter,
    overflow: Family<LabelLabels, Counter>,
    events_written: Family<ClassLabels, Counter>,
    events_suppressed: Family<ClassLabels, Counter>,
    drift: Family<DriftLabels, Counter>,
    origins: Bounded,
    routes: Bounded,
    evictions: Family<PartLabels, Counter>,
    max_series: usize,
    /// New series turned into `other` ones by `max_series`.
    series_refused: AtomicU64,
    /// Series of the families under `max_series`.
    series: std::sync::atomic::AtomicUsize,
    /// Last totals seen, to turn cumulative source counters into increments.
    last_health: Mutex<CaptureHealth>,
    last_drops: Mutex<[u64; 3]>,
    last_exchanges: AtomicU64,
    /// Hops, layers and detected stacks (`metrics/hops.rs`).
    hops: hops::HopMetrics,
    /// The endpoints' refusals and connections (`metrics/web.rs`).
    web: web::WebMetrics,
}

impl Metrics {
    /// Registers every metric; closed label sets start at zero.
    pub fn new(cfg: &MetricsConfig) -> Self {
        let mut registry = Registry::with_prefix("corswatch");
        let m = Metrics {
            requests: Family::default(),
            blocked: Family::default(),
            warnings: Family::default(),
            findings: Family::default(),
            notes: Family::default(),
            preflights: Family::default(),
            exchanges: Counter::default(),
            packets: Counter::default(),
            bytes: Counter::default(),
            dropped: Family::default(),
            gaps: Counter::default(),
            flows: Gauge::default(),
            parse_errors: Counter::default(),
            evicted: Counter::default(),
            unanswered: Counter::default(),
            tls: Family::default(),
            tls_record_failures: Counter::default(),
            h2_connections: Counter::default(),
            hpack_errors: Counter::default(),
            h2_frame_errors: Counter::default(),
            h2_streams_reset: Counter::default(),
            quic_packets: Counter::default(),
            overflow: Family::default(),
            events_written: Family::default(),
            events_suppressed: Family::default(),
            drift: Family::default(),
            origins: Bounded {
                cap: cfg.top_origins,
                allow: cfg.origins.as_ref().map(|o| o.iter().cloned().collect()),
                seen: Mutex::new(HashSet::new()),
            },
            routes: Bounded {
                cap: cfg.top_routes,
                allow: None,
                seen: Mutex::new(HashSet::new()),
            },
            evictions: Family::default(),
            max_series: cfg.max_series.max(1),
            series_refused: AtomicU64::new(0),
            series: std::sync::atomic::AtomicUsize::new(0),
            last_health: Mutex::new(CaptureHealth::default()),
            last_drops: Mutex::new([0; 3]),
            last_exchanges: AtomicU64::new(0),
            hops: hops::HopMetrics::register(&mut registry),
            web: web::WebMetrics::register(&mut registry),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "requests",
            "Cross-origin requests seen, by type (simple, preflight, actual)",
            m.requests.clone(),
        );
        r.register(
            "blocked",
            "Requests a browser would block, by kind, origin and route",
            m.blocked.clone(),
        );
        r.register(
            "warnings",
            "Requests that pass today but misbehave or will break, by kind",
            m.warnings.clone(),
        );
        r.register(
            "findings",
            "CORS security findings, by kind and origin",
            m.findings.clone(),
        );
        r.register(
            "notes",
            "Explanations and lookalikes (not failures), by kind",
            m.notes.clone(),
        );
        r.register(
            "preflights",
            "Preflight pairing outcomes",
            m.preflights.clone(),
        );
        r.register(
            "exchanges",
            "HTTP exchanges analysed (CORS or not)",
            m.exchanges.clone(),
        );
        r.register("packets", "Packets read", m.packets.clone());
        r.register("capture_bytes", "Bytes of packets read", m.bytes.clone());
        r.register(
            "packets_dropped",
            "Packets dropped, by where: kernel, interface (libpcap stats) or queue (corswatch)",
            m.dropped.clone(),
        );
        r.register(
            "tcp_gaps",
            "Holes in TCP streams skipped (segments never captured)",
            m.gaps.clone(),
        );
        r.register("tcp_flows", "TCP flows open", m.flows.clone());
        r.register(
            "http_parse_errors",
            "HTTP/1.x messages that did not parse",
            m.parse_errors.clone(),
        );
        r.register(
            "flows_evicted",
            "TCP flows dropped by the memory caps",
            m.evicted.clone(),
        );
        r.register(
            "unanswered_requests",
            "Requests whose response was never seen",
            m.unanswered.clone(),
        );
        r.register(
            "tls_connections",
            "TLS connections that ended, by outcome: decrypted, no_keys, failed, unsupported, incomplete",
            m.tls.clone(),
        );
        r.register(
            "tls_record_failures",
            "TLS records that did not authenticate with the key log's secrets",
            m.tls_record_failures.clone(),
        );
        r.register(
            "http2_connections",
            "HTTP/2 connections read (in TLS, or cleartext h2c)",
            m.h2_connections.clone(),
        );
        r.register(
            "hpack_errors",
            "HTTP/2 header blocks that did not decode (the rest of the connection is lost)",
            m.hpack_errors.clone(),
        );
        r.register(
            "http2_frame_errors",
            "HTTP/2 framing errors (bad preface, CONTINUATION out of place)",
            m.h2_frame_errors.clone(),
        );
        r.register(
            "http2_streams_reset",
            "HTTP/2 streams ended by RST_STREAM",
            m.h2_streams_reset.clone(),
        );
        r.register(
            "quic_packets",
            "QUIC (HTTP/3) packets on UDP port 443: traffic a TCP capture cannot read",
            m.quic_packets.clone(),
        );
        r.register(
            "label_overflow",
            "Label values folded into `other` to bound cardinality, by label",
            m.overflow.clone(),
        );
        r.register(
            "events_written",
            "Lines written to the event stream (watch --events), by class",
            m.events_written.clone(),
        );
        r.register(
            "events_suppressed",
            "Event lines held back by the event stream's rate limit, by class",
            m.events_suppressed.clone(),
        );
        r.register(
            "policy_drift",
            "Answers departing from the declared CORS policy (--declared), by rule and route",
            m.drift.clone(),
        );
        r.register(
            "evictions",
            "State evicted or refused to stay within --max-memory, by part: flows, held_bytes, \
             http_bytes, pipelined, pairing, aggregate, labels (flows and http_bytes are the \
             connections also counted in corswatch_flows_evicted_total)",
            m.evictions.clone(),
        );
        let build: Family<VersionLabels, Gauge> = Family::default();
        build
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        r.register("build_info", "corswatch version", build);
        // Closed label sets start at zero, so that rate() and ratios have series from the
        // first scrape.
        for t in ["simple", "preflight", "actual"] {
            let _ = m.requests.get_or_create(&TypeLabels { r#type: t });
        }
        for outcome in [
            "decrypted",
            "no_keys",
            "failed",
            "unsupported",
            "incomplete",
        ] {
            let _ = m.tls.get_or_create(&OutcomeLabels { outcome });
        }
        for outcome in [
            "failed",
            "followed",
            "no_actual",
            "actual_without_preflight",
        ] {
            let _ = m.preflights.get_or_create(&OutcomeLabels { outcome });
        }
        for w in ["kernel", "interface", "queue"] {
            let _ = m.dropped.get_or_create(&WhereLabels { r#where: w });
        }
        for label in ["origin", "route"] {
            let _ = m.overflow.get_or_create(&LabelLabels { label });
        }
        for part in PARTS {
            let _ = m.evictions.get_or_create(&PartLabels { part });
        }
        for class in ["blocked", "warning", "finding", "drift"] {
            let _ = m.events_written.get_or_create(&ClassLabels { class });
            let _ = m.events_suppressed.get_or_create(&ClassLabels { class });
        }
        Metrics { registry, ..m }
    }

    /// Counts one event.
    pub fn event(&self, ev: &Event) {
        let counted = ev.counted;
        let t = match ev.exchange_type {
            ExchangeType::Simple => "simple",
            ExchangeType::Preflight => "preflight",
            ExchangeType::Actual => "actual",
        };
        self.requests.get_or_create(&TypeLabels { r#type: t }).inc();
        let origin = || {
            self.origins.fold(
                ev.origin.as_deref().unwrap_or("(none)"),
                &self
                    .overflow
                    .get_or_create(&LabelLabels { label: "origin" }),
            )
        };
        for v in ev.all_verdicts() {
            match v.class() {
                VerdictClass::Blocked if counted => {
                    let route = self.routes.fold(
                        &ev.route,
                        &self.overflow.get_or_create(&LabelLabels { label: "route" }),
                    );
                    let l = BlockedLabels {
                        kind: v.kind,
                        origin: origin(),
                        route,
                    };
                    let l = self.admit(&self.blocked, l, |l| {
                        l.origin = "other".into();
                        l.route = "other".into();
                    });
                    self.blocked.get_or_create(&l).inc();
                }
                VerdictClass::Blocked => {}
                VerdictClass::Warning => {
                    self.warnings
                        .get_or_create(&KindLabels { kind: v.kind })
                        .inc();
                }
                VerdictClass::Finding => {
                    let l = FindingLabels {
                        kind: v.kind,
                        origin: origin(),
                    };
                    let l = self.admit(&self.findings, l, |l| l.origin = "other".into());
                    self.findings.get_or_create(&l).inc();
                }
                VerdictClass::Note => {
                    self.notes.get_or_create(&KindLabels { kind: v.kind }).inc();
                }
            }
        }
        for d in &ev.policy_drift {
            let route = self.routes.fold(
                &ev.route,
                &self.overflow.get_or_create(&LabelLabels { label: "route" }),
            );
            let l = DriftLabels {
                rule: d.rule.id(),
                route,
            };
            let l = self.admit(&self.drift, l, |l| l.route = "other".into());
            self.drift.get_or_create(&l).inc();
        }
        let outcome = match (ev.exchange_type.clone(), ev.pairing) {
            (ExchangeType::Preflight, _) if ev.blocked => Some("failed"),
            (ExchangeType::Preflight, "preflight_then_actual") => Some("followed"),
            (ExchangeType::Preflight, _) => Some("no_actual"),
            (_, "actual_without_preflight") => Some("actual_without_preflight"),
            _ => None,
        };
        if let Some(outcome) = outcome {
            self.preflights
                .get_or_create(&OutcomeLabels { outcome })
                .inc();
        }
    }

    /// The series of `family` to count `labels` in: itself while the series cap allows a new
    /// series, else (counted as refused) `labels` folded by `fold` into `other` values.
    fn admit<S>(&self, family: &Family<S, Counter>, mut labels: S, fold: impl FnOnce(&mut S)) -> S
    where
        S: Clone + std::hash::Hash + Eq,
    {
        if family.get(&labels).is_some() {
            return labels;
        }
        if self.series.load(Ordering::Relaxed) >= self.max_series {
            self.series_refused.fetch_add(1, Ordering::Relaxed);
            fold(&mut labels);
            if family.get(&labels).is_some() {
                return labels;
            }
        }
        self.series.fetch_add(1, Ordering::Relaxed);
        labels
    }

    /// New series refused by the series cap so far.
    pub fn label_evictions(&self) -> u64 {
        self.series_refused.load(Ordering::Relaxed)
    }

    /// Counts what the event stream did with one event.
    pub fn event_line(&self, outcome: crate::eventlog::Outcome) {
        use crate::eventlog::Outcome;
        let (family, class) = match outcome {
            Outcome::Written(c) => (&self.events_written, c),
            Outcome::Suppressed(c) => (&self.events_suppressed, c),
            Outcome::Skipped | Outcome::Failed(_) => return,
        };
        family
            .get_or_create(&ClassLabels {
                class: class.as_str(),
            })
            .inc();
    }

    /// Brings the exchange counter up to the run's cumulative total.
    pub fn totals(&self, t: &Totals) {
        let before = self.last_exchanges.swap(t.exchanges, Ordering::Relaxed);
        self.exchanges.inc_by(t.exchanges.saturating_sub(before));
    }

    /// Brings the hop, layer and detected-stack metrics up to the run's cumulative books.
    pub fn hops(&self, a: &crate::aggregate::Aggregate) {
        self.hops.update(&a.hops, &a.stacks);
    }

    /// Brings the capture-health counters up to the source's cumulative totals.
    pub fn health(&self, h: &CaptureHealth, open_flows: usize) {
        let mut last = match self.last_health.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        let d = |now: u64, before: u64| now.saturating_sub(before);
        self.packets.inc_by(d(h.packets, last.packets));
        self.bytes.inc_by(d(h.bytes, last.bytes));
        self.gaps.inc_by(d(h.gaps, last.gaps));
        self.parse_errors
            .inc_by(d(h.http_parse_errors, last.http_parse_errors));
        self.evicted.inc_by(d(h.flows_evicted, last.flows_evicted));
        self.unanswered
            .inc_by(d(h.unanswered_requests, last.unanswered_requests));
        for (outcome, now, before) in [
            ("decrypted", h.tls_decrypted, last.tls_decrypted),
            ("no_keys", h.tls_no_keys, last.tls_no_keys),
            ("failed", h.tls_failed, last.tls_failed),
            ("unsupported", h.tls_unsupported, last.tls_unsupported),
            ("incomplete", h.tls_incomplete, last.tls_incomplete),
        ] {
            self.tls
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(d(now, before));
        }
        self.tls_record_failures
            .inc_by(d(h.tls_record_failures, last.tls_record_failures));
        self.h2_connections
            .inc_by(d(h.h2_connections, last.h2_connections));
        self.hpack_errors
            .inc_by(d(h.hpack_errors, last.hpack_errors));
        self.h2_frame_errors
            .inc_by(d(h.h2_frame_errors, last.h2_frame_errors));
        self.h2_streams_reset
            .inc_by(d(h.h2_streams_reset, last.h2_streams_reset));
        self.quic_packets
            .inc_by(d(h.quic_packets, last.quic_packets));
        for ((part, now), (_, before)) in
            parts(&h.evictions).into_iter().zip(parts(&last.evictions))
        {
            self.evictions
                .get_or_create(&PartLabels { part })
                .inc_by(d(now, before));
        }
        *last = *h;
        self.flows
            .set(i64::try_from(open_flows).unwrap_or(i64::MAX));
    }

    /// Drop counters, cumulative: kernel and interface from libpcap, queue from corswatch.
    pub fn drops(&self, kernel: u64, interface: u64, queue: u64) {
        let mut last = match self.last_drops.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        for (i, (w, now)) in [
            ("kernel", kernel),
            ("interface", interface),
            ("queue", queue),
        ]
        .into_iter()
        .enumerate()
        {
            let c = self.dropped.get_or_create(&WhereLabels { r#where: w });
            c.inc_by(now.saturating_sub(last[i]));
            last[i] = last[i].max(now);
        }
    }

    /// Counts a request or connection the endpoints turned away.
    pub fn refused(&self, reason: Refusal) {
        self.web.refused(reason);
    }

    /// Moves the open-connections gauge of the endpoints by `delta`.
    pub fn web_connections(&self, delta: i64) {
        self.web.connections(delta);
    }

    /// Prometheus text format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut s, &self.registry);
        s
    }

    /// OpenMetrics 1.0 text.
    pub fn render_openmetrics(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }
}

/// The parts of the memory budget, as `corswatch_evictions_total{part}` names them.
const PARTS: [&str; 7] = [
    "flows",
    "held_bytes",
    "http_bytes",
    "pipelined",
    "pairing",
    "aggregate",
    "labels",
];

/// Each part's count, in the order of [`PARTS`].
fn parts(e: &crate::model::Evictions) -> [(&'static str, u64); 7] {
    let v = [
        e.flows,
        e.held_bytes,
        e.http_bytes,
        e.pipelined,
        e.pairing,
        e.aggregate,
        e.labels,
    ];
    std::array::from_fn(|i| (PARTS[i], v[i]))
}

/// Content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// Content type of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        let m = Metrics::new(&MetricsConfig::default());
        let text = m.render_prometheus();
        for name in [
            "corswatch_requests_total",
            "corswatch_preflights_total",
            "corswatch_packets_total",
            "corswatch_packets_dropped_total",
            "corswatch_tcp_gaps_total",
            "corswatch_tcp_flows",
            "corswatch_http_parse_errors_total",
            "corswatch_flows_evicted_total",
            "corswatch_label_overflow_total",
            "corswatch_events_written_total",
            "corswatch_events_suppressed_total",
            "corswatch_build_info",
            "corswatch_tls_connections_total",
            "corswatch_tls_record_failures_total",
            "corswatch_http2_connections_total",
            "corswatch_hpack_errors_total",
            "corswatch_http2_frame_errors_total",
            "corswatch_http2_streams_reset_total",
            "corswatch_quic_packets_total",
            "corswatch_hops_total",
            "corswatch_web_requests_refused_total",
            "corswatch_web_connections",
            "corswatch_evictions_total",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing in\n{text}"
            );
        }
    }

    #[test]
    fn origins_are_bounded() {
        let m = Metrics::new(&MetricsConfig {
            top_origins: 2,
            ..MetricsConfig::default()
        });
        let c = Counter::default();
        assert_eq!(m.origins.fold("a", &c), "a");
        assert_eq!(m.origins.fold("b", &c), "b");
        assert_eq!(m.origins.fold("c", &c), "other");
        assert_eq!(m.origins.fold("a", &c), "a");
        assert_eq!(c.get(), 1);
    }

    #[test]
    fn series_are_capped_and_counted() {
        let m = Metrics::new(&MetricsConfig {
            top_origins: 1000,
            top_routes: 1000,
            max_series: 3,
            ..MetricsConfig::default()
        });
        let c = Counter::default();
        for i in 0..10 {
            let l = BlockedLabels {
                kind: Kind::AcaoMissing,
                origin: m.origins.fold(&format!("https://o{i}.example"), &c),
                route: "/".into(),
            };
            let l = m.admit(&m.blocked, l, |l| {
                l.origin = "other".into();
                l.route = "other".into();
            });
            m.blocked.get_or_create(&l).inc();
        }
        assert_eq!(
            m.series.load(Ordering::Relaxed),
            4,
            "three series and the `other` one"
        );
        assert_eq!(m.label_evictions(), 7);
        let long = "x".repeat(5000);
        assert!(m.origins.fold(&long, &c).len() <= crate::aggregate::MAX_KEY);
    }
}
