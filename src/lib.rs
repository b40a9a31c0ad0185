//! corswatch reads HTTP traffic and says, for every cross-origin request, whether a browser
//! would block it, why (in the browser's own words) and how to fix it.
//!
//! The pipeline runs one way:
//!
//! ```text
//! source (HAR | pcap/pcapng | live) -> net (frames -> TCP -> HTTP/1.x) -> Exchange
//!   -> pair (preflight <-> actual) -> cors::classify -> Event -> aggregate -> report / metrics
//! ```

pub mod aggregate;
pub mod context;
pub mod cors;
pub mod event;
pub mod fix;
pub mod metrics;
pub mod model;
pub mod net;
pub mod pair;
pub mod redact;
pub mod report;
pub mod serve;
pub mod source;
pub mod url;
pub mod watch;

use aggregate::{Aggregate, Limits};
use context::Observations;
use cors::Context;
use event::Event;
use model::{Exchange, Pairing};
use pair::{PairConfig, Pairer, Unit};

/// The pipeline from exchanges to events and the aggregate. Sans-IO: sources push exchanges
/// in, `sink` receives each event as its pairing settles.
pub struct Analyzer<'s> {
    pairer: Pairer,
    observations: Observations,
    aggregate: Aggregate,
    units: Vec<Unit>,
    actual_without_preflight: u64,
    sink: Box<dyn FnMut(&Event) + 's>,
}

impl<'s> Analyzer<'s> {
    pub fn new(pairing: PairConfig, limits: Limits, sink: impl FnMut(&Event) + 's) -> Self {
        Analyzer {
            pairer: Pairer::new(pairing),
            observations: Observations::default(),
            aggregate: Aggregate::new(limits),
            units: Vec::new(),
            actual_without_preflight: 0,
            sink: Box::new(sink),
        }
    }

    pub fn push(&mut self, exchange: Box<Exchange>) {
        self.aggregate.totals.exchanges += 1;
        self.pairer.push(exchange, &mut self.units);
        self.drain();
    }

    /// Moves the clock forward on a quiet link, so that lone preflights settle in time.
    pub fn advance(&mut self, now: model::Timestamp) {
        self.pairer.advance(now, &mut self.units);
        self.drain();
    }

    pub fn add_health(&mut self, h: &model::CaptureHealth) {
        self.aggregate.health.add(h);
    }

    /// The aggregate so far (pairing statistics included), for a running report.
    pub fn snapshot(&self) -> Aggregate {
        let mut a = self.aggregate.clone();
        a.pairing = self.pair_stats();
        a
    }

    /// Settles everything still held and returns the aggregate.
    pub fn finish(mut self) -> Aggregate {
        self.pairer.finish(&mut self.units);
        self.drain();
        self.aggregate.pairing = self.pair_stats();
        self.aggregate
    }

    fn pair_stats(&self) -> pair::PairStats {
        pair::PairStats {
            actual_without_preflight: self.actual_without_preflight,
            ..self.pairer.stats()
        }
    }

    fn drain(&mut self) {
        let units = std::mem::take(&mut self.units);
        for unit in &units {
            match unit {
                Unit::Single { exchange, pairing } => {
                    self.one(exchange, *pairing, None, true);
                }
                Unit::Pair {
                    preflight,
                    actual,
                    actual_sent,
                } => {
                    let p = if *actual_sent {
                        Pairing::PreflightFollowed
                    } else {
                        Pairing::PreflightAlone {
                            capture_open: false,
                        }
                    };
                    // Classify the actual request first: when both are blocked, the refused
                    // request counts once, on the actual request.
                    let actual_blocked =
                        self.one(actual, Pairing::ActualAfterPreflight, Some(preflight), true);
                    self.one(preflight, p, Some(actual), !actual_blocked);
                }
            }
        }
        self.units = units;
        self.units.clear();
    }

    /// Classifies, emits and counts one exchange. Returns whether it was blocked.
    fn one(
        &mut self,
        ex: &Exchange,
        pairing: Pairing,
        partner: Option<&Exchange>,
        count_block: bool,
    ) -> bool {
        let hop = self.observations.take_hop(ex);
        let page_origin = url::page_origin(
            ex,
            hop.as_ref().and_then(|h| h.page_origin.as_deref()),
            hop.is_some(),
        );
        let ctx = Context {
            partner,
            pairing,
            previous_hop: hop.as_ref().map(|h| h.previous.as_ref()),
            first_url: hop.as_ref().map(|h| h.first_url.as_str()),
            page_origin: page_origin.as_deref(),
            // Cookies on other requests of the same client say nothing reliable about this
            // one (real Chromium runs showed wrong inferences): the classifier infers from the
            // preflight's own outcome instead.
            credentials_hint: None,
            distinct_reflected_origins: self.observations.reflected_origins(ex),
        };
        let classification = cors::classify(ex, &ctx);
        self.observations.observe(ex, hop.as_ref());
        if let cors::Scope::NotCors(why) = &classification.scope {
            self.count_not_cors(why);
            return false;
        }
        let pairing = match (pairing, classification.exchange_type()) {
            (Pairing::Unpaired, Some(cors::ExchangeType::Actual)) => {
                self.actual_without_preflight += 1;
                Pairing::ActualWithoutPreflight
            }
            (p, _) => p,
        };
        let Some(mut event) = Event::new(ex, classification, pairing, partner) else {
            return false;
        };
        let t = &mut self.aggregate.totals;
        t.cross_origin += 1;
        match event.exchange_type {
            cors::ExchangeType::Simple => t.simple += 1,
            cors::ExchangeType::Preflight => t.preflight += 1,
            cors::ExchangeType::Actual => t.actual += 1,
        }
        event.counted = count_block;
        self.aggregate.add(&event);
        (self.sink)(&event);
        event.blocked
    }

    fn count_not_cors(&mut self, why: &cors::NotCors) {
        let t = &mut self.aggregate.totals;
        match why {
            cors::NotCors::NoOrigin => t.not_cors_no_origin += 1,
            cors::NotCors::SameOrigin => t.not_cors_same_origin += 1,
            cors::NotCors::Mode(_) => t.not_cors_mode += 1,
            cors::NotCors::WebSocket => t.not_cors_websocket += 1,
            cors::NotCors::NetworkError(_) => t.not_cors_network_error += 1,
        }
    }
}
