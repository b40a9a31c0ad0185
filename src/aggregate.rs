//! Bounded counters over events: per kind, and the top origins, routes, methods and request
//! headers that fail. No map here grows with attacker-controlled text past its cap: what does
//! not fit goes to an explicit `other` bucket, and the overflow is counted.

use crate::cors::causes::{self, Cause};
use crate::cors::engine::EngineCounts;
use crate::cors::{Confidence, ExchangeType, NotCors, Verdict};
use crate::cors::{CorsError, Kind, VerdictClass};
use crate::event::Event;
use crate::hop::HopBook;
use crate::model::CaptureHealth;
use crate::pair::PairStats;
use crate::stack::StackTally;
use crate::timeline::Timeline;
use foldhash::fast::RandomState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Counts per key for at most `cap` distinct keys; later keys are counted in `other`.
#[derive(Debug, Clone)]
pub struct TopN {
    cap: usize,
    map: HashMap<String, u64, RandomState>,
    other: u64,
    /// Keys turned away by the cap (each time), for the memory budget's books.
    refused: u64,
}

/// Longest key kept, bytes: a longer one (an origin of kilobytes) is cut, so that a key's cost
/// is bounded whatever the wire sends.
pub const MAX_KEY: usize = 256;

/// `key` cut to at most [`MAX_KEY`] bytes on a character boundary, marked with `…`.
pub fn bounded_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.len() <= MAX_KEY {
        return key.into();
    }
    let mut end = MAX_KEY - '…'.len_utf8();
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &key[..end]).into()
}

/// One row of a top list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked {
    /// The value counted (an origin, a route, a method...), or `other`.
    pub value: String,
    /// How often.
    pub count: u64,
}

impl TopN {
    /// Counts for at most `cap` distinct keys.
    pub fn new(cap: usize) -> Self {
        TopN {
            cap,
            map: HashMap::default(),
            other: 0,
            refused: 0,
        }
    }

    /// Adds `n` to `key` (cut to [`MAX_KEY`] bytes), or to `other` once the cap is reached.
    pub fn add(&mut self, key: &str, n: u64) {
        let key = bounded_key(key);
        if let Some(c) = self.map.get_mut(key.as_ref()) {
            *c += n;
        } else if self.map.len() < self.cap {
            self.map.insert(key.into_owned(), n);
        } else {
            self.other += n;
            self.refused += 1;
        }
    }

    /// Keys turned away by the cap.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Counts that did not fit under the cap.
    pub fn other(&self) -> u64 {
        self.other
    }

    /// The `n` largest, ties broken by value so that output is deterministic; the rest,
    /// together with the overflow, as one `other` row.
    pub fn top(&self, n: usize) -> Vec<Ranked> {
        let mut v: Vec<(&String, &u64)> = self.map.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let rest: u64 = v.iter().skip(n).map(|(_, c)| **c).sum::<u64>() + self.other;
        let mut out: Vec<Ranked> = v
            .into_iter()
            .take(n)
            .map(|(k, c)| Ranked {
                value: k.clone(),
                count: *c,
            })
            .collect();
        if rest > 0 {
            out.push(Ranked {
                value: "other".into(),
                count: rest,
            });
        }
        out
    }

    /// Adds another list's counts.
    pub fn merge(&mut self, o: &TopN) {
        for (k, c) in &o.map {
            self.add(k, *c);
        }
        self.other += o.other;
        self.refused += o.refused;
    }
}

/// Per-kind statistics.
#[derive(Debug, Clone)]
pub struct KindStats {
    /// The kind counted.
    pub kind: Kind,
    /// How often.
    pub count: u64,
    /// Chromium's `CorsError`s behind this kind, counted.
    pub cors_errors: BTreeMap<CorsError, u64>,
    /// Firefox's reason code.
    pub firefox_error: Option<&'static str>,
    /// The first example's console message and evidence.
    pub message: String,
    /// The first example's deciding headers (redacted).
    pub evidence: Vec<(String, String)>,
    /// The methods, headers or values that failed.
    pub failed_parameters: TopN,
    /// Origins, counted.
    pub origins: TopN,
    /// Route templates, counted.
    pub routes: TopN,
    /// Methods, counted.
    pub methods: TopN,
    /// The first few exchanges of this kind.
    pub examples: Vec<Example>,
    /// How many of these verdicts rest on an assumption.
    pub inferred: u64,
    /// For `cors_blocked_unknown`: the likely causes, with their rank-weighted score.
    pub causes: Vec<(Cause, u64)>,
    /// The first example's hop note (which layer set the CORS headers), if it had one.
    pub hop: Option<String>,
    /// The server stacks detected on these exchanges.
    pub stacks: StackTally,
}

/// An exchange shown as an example of a kind (already redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The input it came from.
    pub source: String,
    /// HAR entry index or first packet number.
    pub index: u64,
    /// Request start, RFC 3339.
    pub time: String,
    /// The method as sent.
    pub method: String,
    /// URL with query values redacted.
    pub url: String,
    /// Response status, when one was seen.
    pub status: Option<u16>,
    /// The request's `Origin`.
    pub origin: Option<String>,
}

/// Run-wide counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Every exchange read.
    pub exchanges: u64,
    /// Exchanges that are CORS requests (cross-origin, CORS mode).
    pub cross_origin: u64,
    /// Cross-origin requests that need no preflight.
    pub simple: u64,
    /// Preflights.
    pub preflight: u64,
    /// Requests that needed (or had) a preflight.
    pub actual: u64,
    /// Requests the browser refused (a failed preflight and its actual request count once).
    pub blocked: u64,
    /// Warning verdicts.
    pub warnings: u64,
    /// Security findings.
    pub findings: u64,
    /// Notes (lookalikes and explanations).
    pub notes: u64,
    /// Exchanges outside CORS, by reason.
    pub not_cors_no_origin: u64,
    /// `Origin` equal to the request URL's origin.
    pub not_cors_same_origin: u64,
    /// `no-cors`, `same-origin` and navigation modes.
    pub not_cors_mode: u64,
    /// WebSocket upgrades.
    pub not_cors_websocket: u64,
    /// Failed requests whose failure is not a CORS failure (ORB, connection refused...).
    pub not_cors_network_error: u64,
}

impl Totals {
    /// Adds another run's totals (saturating: merged reports come from anywhere).
    pub fn add(&mut self, o: &Totals) {
        self.exchanges = self.exchanges.saturating_add(o.exchanges);
        self.cross_origin = self.cross_origin.saturating_add(o.cross_origin);
        self.simple = self.simple.saturating_add(o.simple);
        self.preflight = self.preflight.saturating_add(o.preflight);
        self.actual = self.actual.saturating_add(o.actual);
        self.blocked = self.blocked.saturating_add(o.blocked);
        self.warnings = self.warnings.saturating_add(o.warnings);
        self.findings = self.findings.saturating_add(o.findings);
        self.notes = self.notes.saturating_add(o.notes);
        self.not_cors_no_origin = self.not_cors_no_origin.saturating_add(o.not_cors_no_origin);
        self.not_cors_same_origin = self
            .not_cors_same_origin
            .saturating_add(o.not_cors_same_origin);
        self.not_cors_mode = self.not_cors_mode.saturating_add(o.not_cors_mode);
        self.not_cors_websocket = self.not_cors_websocket.saturating_add(o.not_cors_websocket);
        self.not_cors_network_error = self
            .not_cors_network_error
            .saturating_add(o.not_cors_network_error);
    }
}

/// Limits that keep the aggregate bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Distinct keys remembered per top list.
    pub keys: usize,
    /// Examples kept per kind.
    pub examples: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            keys: 1000,
            examples: 3,
        }
    }
}

/// Everything a report shows, counted with bounded memory.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// The caps in force.
    pub limits: Limits,
    /// Run-wide counts.
    pub totals: Totals,
    /// Per kind.
    pub kinds: BTreeMap<Kind, KindStats>,
    /// Over blocked requests.
    pub origins: TopN,
    /// Route templates, counted.
    pub routes: TopN,
    /// Methods, counted.
    pub methods: TopN,
    /// Request header names named by header failures.
    pub request_headers: TopN,
    /// Pairing outcomes.
    pub pairing: PairStats,
    /// Capture health of the packet inputs.
    pub health: CaptureHealth,
    /// Cross-origin and blocked requests over time (bounded buckets).
    pub timeline: Timeline,
    /// Requests seen at two hops, or only at the inner one, and which layer set which CORS
    /// header.
    pub hops: HopBook,
    /// The server stacks detected on CORS exchanges.
    pub stacks: StackTally,
    /// Blocked exchanges the two browser engines decide differently.
    pub engines: EngineCounts,
    /// What-if, drift and suggestion books (`--policy`, `--declared`, `policy suggest`).
    pub policy: crate::policy::stage::PolicyBook,
}

impl Aggregate {
    /// An empty aggregate.
    pub fn new(limits: Limits) -> Self {
        Aggregate {
            limits,
            totals: Totals::default(),
            kinds: BTreeMap::new(),
            origins: TopN::new(limits.keys),
            routes: TopN::new(limits.keys),
            methods: TopN::new(limits.keys),
            request_headers: TopN::new(limits.keys),
            pairing: PairStats::default(),
            health: CaptureHealth::default(),
            timeline: Timeline::default(),
            hops: HopBook::new(limits.keys.min(100)),
            stacks: StackTally::default(),
            engines: EngineCounts::default(),
            policy: crate::policy::stage::PolicyBook::default(),
        }
    }

    /// Counts one exchange read (CORS or not).
    pub fn count_exchange(&mut self) {
        self.totals.exchanges += 1;
    }

    /// Counts an exchange outside CORS, by why.
    pub fn count_not_cors(&mut self, why: &NotCors) {
        let t = &mut self.totals;
        match why {
            NotCors::NoOrigin => t.not_cors_no_origin += 1,
            NotCors::SameOrigin => t.not_cors_same_origin += 1,
            NotCors::Mode(_) => t.not_cors_mode += 1,
            NotCors::WebSocket => t.not_cors_websocket += 1,
            NotCors::NetworkError(_) => t.not_cors_network_error += 1,
        }
    }

    /// Counts a CORS exchange that passes with no verdict of any class, started at `time`.
    pub fn count_pass(&mut self, t: &ExchangeType, time: crate::model::Timestamp) {
        self.count_type(t);
        self.timeline.add(time, None);
    }

    fn count_type(&mut self, t: &ExchangeType) {
        let totals = &mut self.totals;
        totals.cross_origin += 1;
        match t {
            ExchangeType::Simple => totals.simple += 1,
            ExchangeType::Preflight => totals.preflight += 1,
            ExchangeType::Actual => totals.actual += 1,
        }
    }

    /// Counts one event (a CORS exchange). A failed preflight whose blocked actual request is
    /// also an event is not `counted` as blocked, so that one refused request counts once.
    pub fn add(&mut self, ev: &Event) {
        self.stacks.add(&ev.stacks);
        if ev.counted
            && let Some(split) = &ev.engines
        {
            self.engines.record(split);
        }
        self.count_type(&ev.exchange_type);
        let counted = ev.counted;
        let origin = ev.origin.as_deref().unwrap_or("(none)");
        let method = ev.method.as_str();
        let route = ev.route.as_str();
        let blocked_kind = ev.kind.filter(|_| counted && ev.blocked);
        self.timeline.add(ev.time, blocked_kind);
        for v in ev.all_verdicts() {
            let class = v.class();
            match class {
                VerdictClass::Blocked if !counted => continue,
                VerdictClass::Blocked => {
                    self.totals.blocked += 1;
                    self.origins.add(origin, 1);
                    self.routes.add(route, 1);
                    self.methods.add(method, 1);
                    if matches!(
                        v.kind,
                        Kind::HeaderNotAllowed
                            | Kind::HeaderWildcardWithCredentials
                            | Kind::AcahUnparseable
                    ) && let Some(p) = &v.failed_parameter
                    {
                        self.request_headers.add(p, 1);
                    }
                }
                VerdictClass::Warning => self.totals.warnings += 1,
                VerdictClass::Finding => self.totals.findings += 1,
                VerdictClass::Note => self.totals.notes += 1,
            }
            self.add_kind(ev, v, origin, route, method);
        }
    }

    fn add_kind(&mut self, ev: &Event, v: &Verdict, origin: &str, route: &str, method: &str) {
        let limits = self.limits;
        // A kind's lists are short (the report shows ten rows): they shrink only with a budget
        // below the default.
        let per_kind = (limits.keys / 8).clamp(8, 100);
        let ks = self.kinds.entry(v.kind).or_insert_with(|| KindStats {
            kind: v.kind,
            count: 0,
            cors_errors: BTreeMap::new(),
            firefox_error: v.firefox_error,
            message: v.message.clone(),
            evidence: v.evidence.clone(),
            failed_parameters: TopN::new(per_kind),
            origins: TopN::new(per_kind),
            routes: TopN::new(per_kind),
            methods: TopN::new(32),
            examples: Vec::new(),
            inferred: 0,
            causes: Vec::new(),
            hop: None,
            stacks: StackTally::default(),
        });
        ks.count += 1;
        if let Some(e) = v.cors_error {
            *ks.cors_errors.entry(e).or_default() += 1;
        }
        if let Some(p) = &v.failed_parameter {
            ks.failed_parameters.add(p, 1);
        }
        if matches!(v.confidence, Confidence::Inferred(_)) {
            ks.inferred += 1;
        }
        if v.class() == VerdictClass::Blocked {
            causes::tally(&mut ks.causes, &ev.likely_causes);
        }
        ks.stacks.add(&ev.stacks);
        if ks.hop.is_none() {
            ks.hop = ev.hop.as_ref().map(|h| h.note.clone());
        }
        ks.origins.add(origin, 1);
        ks.routes.add(route, 1);
        ks.methods.add(method, 1);
        if ks.examples.len() < limits.examples {
            ks.examples.push(Example {
                source: ev.source.to_string(),
                index: ev.index,
                time: ev.time.to_rfc3339(),
                method: ev.method.clone(),
                url: ev.url.clone(),
                status: ev.status,
                origin: ev.origin.clone(),
            });
        }
    }

    /// Keys the run's top lists (sized by the budget) turned away, for the capture health's
    /// `evictions.aggregate`. A kind's own short lists fold into `other` by design and are not
    /// counted.
    pub fn refused(&self) -> u64 {
        [
            &self.origins,
            &self.routes,
            &self.methods,
            &self.request_headers,
        ]
        .into_iter()
        .map(TopN::refused)
        .sum()
    }

    /// Copies the evictions of the stages after the decoder (pairing and hop matching, the
    /// top lists) into the capture health, beside the decoder's own.
    pub fn book_evictions(&mut self) {
        let refused = self.refused();
        let e = &mut self.health.evictions;
        e.pairing = self.pairing.evicted.saturating_add(self.hops.evicted);
        e.aggregate = refused;
    }

    /// Kinds sorted for reports: class (blocked first), then count, then id.
    pub fn ranked_kinds(&self) -> Vec<&KindStats> {
        let mut v: Vec<&KindStats> = self.kinds.values().collect();
        v.sort_by(|a, b| {
            a.kind
                .class()
                .cmp(&b.kind.class())
                .then(b.count.cmp(&a.count))
                .then(a.kind.id().cmp(b.kind.id()))
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_n_is_bounded_with_other() {
        let mut t = TopN::new(2);
        t.add("a", 5);
        t.add("b", 1);
        t.add("c", 7);
        t.add("a", 1);
        let top = t.top(10);
        assert_eq!(
            top[0],
            Ranked {
                value: "a".into(),
                count: 6
            }
        );
        assert_eq!(top.last().map(|r| r.count), Some(7));
        assert_eq!(t.other(), 7);
        let top1 = t.top(1);
        assert_eq!(top1.len(), 2);
        assert_eq!(top1[1].count, 8);
        assert_eq!(t.refused(), 1, "`c` was turned away once");
    }

    #[test]
    fn keys_are_cut_so_their_cost_is_bounded() {
        let mut t = TopN::new(10);
        let long = format!("https://{}.example", "é".repeat(3000));
        t.add(&long, 1);
        t.add(&long, 1);
        let top = t.top(10);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].count, 2);
        assert!(top[0].value.len() <= MAX_KEY && top[0].value.ends_with('…'));
        assert_eq!(bounded_key("https://a.example"), "https://a.example");
    }
}
