//! From exchanges to events and the aggregate: pairing, the context of the rest of the traffic,
//! the classifier, events, counts. Sans-IO: the driver pushes exchanges in time order, and each
//! event goes to the sink as its pairing settles.

use crate::aggregate::{Aggregate, Limits};
use crate::context::Observations;
use crate::cors::engine::{self, EngineSplit};
use crate::cors::{self, Context, Detail, Engine};
use crate::event::Event;
use crate::hop::{self, HopConfig, HopStage};
use crate::httpcache::HttpCache;
use crate::model::{self, Exchange, Pairing};
use crate::pair::{self, PairConfig, Pairer, Unit};
use crate::policy::stage::{self as policy_stage, PolicyConfig};
use crate::{stack, url};

/// The pipeline from exchanges to events and the aggregate. Sans-IO: sources push exchanges
/// in, `sink` receives each event as its pairing settles.
pub struct Analyzer<'s> {
    pairer: Pairer,
    observations: Observations,
    aggregate: Aggregate,
    units: Vec<Unit>,
    actual_without_preflight: u64,
    every_event: bool,
    /// How much text a finding carries: [`Detail::Full`] when a sink shows each event's text,
    /// else [`Detail::Counts`] (the report's first of a kind is still written in full).
    detail: Detail,
    sink: Box<dyn FnMut(&Event) + 's>,
    /// Hops of one request (browser→proxy, proxy→app): before pairing, so that only the
    /// browser-facing hop is paired and judged.
    hops: HopStage,
    #[allow(clippy::vec_box)] // boxed as the pairer holds them
    hop_out: Vec<Box<Exchange>>,
    /// What a client recording says the browser's HTTP cache holds (stale-cache inference).
    http_cache: HttpCache,
    /// The engine the user stated (`--browser`); else each input's recording names it.
    engine: Option<Engine>,
    /// What-if, drift and suggestion (`--policy`, `--declared`, `policy suggest`).
    policy: PolicyConfig,
}

impl<'s> Analyzer<'s> {
    /// A pipeline whose events go to `sink` as their pairing settles. Events of exchanges that
    /// pass clean, and the text of every security finding (not only of a kind's first, which
    /// the report keeps), are built only when `every_event` (the sink shows them, or counts
    /// them).
    pub fn new(
        pairing: PairConfig,
        limits: Limits,
        every_event: bool,
        sink: impl FnMut(&Event) + 's,
    ) -> Self {
        Analyzer {
            pairer: Pairer::new(pairing),
            observations: Observations::default(),
            aggregate: Aggregate::new(limits),
            units: Vec::new(),
            actual_without_preflight: 0,
            every_event,
            detail: if every_event {
                Detail::Full
            } else {
                Detail::Counts
            },
            sink: Box::new(sink),
            hops: HopStage::new(HopConfig::default()),
            hop_out: Vec::new(),
            http_cache: HttpCache::default(),
            engine: None,
            policy: PolicyConfig::default(),
        }
    }

    /// Sets how much text findings and stack evidence carry: a sink that takes every event
    /// but shows none of its text (metrics alone) wants [`Detail::Counts`].
    pub fn with_detail(mut self, detail: Detail) -> Self {
        self.detail = detail;
        self
    }

    /// Re-judges, compares or collects per `cfg` (see [`crate::policy::stage`]).
    pub fn with_policy(mut self, cfg: PolicyConfig) -> Self {
        self.policy = cfg;
        self
    }

    /// Judges every exchange as `engine` does (the user said which browser made the traffic);
    /// `None`: as the recording's producer says, Chromium for packet captures.
    pub fn with_engine(mut self, engine: Option<Engine>) -> Self {
        self.engine = engine;
        self.pairer.set_engine(engine);
        self
    }

    /// Recognises hops with `cfg` (the default: [`HopConfig::default`]).
    pub fn with_hops(mut self, cfg: HopConfig) -> Self {
        self.hops = HopStage::new(cfg);
        self
    }

    /// Feeds one exchange, in time order.
    pub fn push(&mut self, exchange: Box<Exchange>) {
        self.aggregate.count_exchange();
        self.hops.push(exchange, &mut self.hop_out);
        self.pair_hops();
        self.drain();
    }

    /// Moves the clock forward on a quiet link, so that lone preflights settle in time.
    pub fn advance(&mut self, now: model::Timestamp) {
        self.hops.advance(now, &mut self.hop_out);
        self.pair_hops();
        self.pairer.advance(now, &mut self.units);
        self.drain();
    }

    /// The aggregate so far (pairing statistics included), for a running report.
    pub fn snapshot(&self) -> Aggregate {
        let mut a = self.aggregate.clone();
        a.pairing = self.pair_stats();
        a.hops.evicted = self.hops.evicted();
        a
    }

    /// Settles everything still held and returns the aggregate.
    pub fn finish(mut self) -> Aggregate {
        self.hops.finish(&mut self.hop_out);
        self.pair_hops();
        self.pairer.finish(&mut self.units);
        self.drain();
        self.aggregate.pairing = self.pair_stats();
        self.aggregate.hops.evicted = self.hops.evicted();
        self.aggregate
    }

    /// Hands what the hop stage let go (browser-facing hops) to pairing.
    fn pair_hops(&mut self) {
        for ex in self.hop_out.drain(..) {
            self.pairer.push(ex, &mut self.units);
        }
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
        // An inner hop seen alone is judged as the browser sent it (see `hop::facts`).
        let seen = self.hops.take(ex);
        let ex = seen.view().unwrap_or(ex);
        let hop = self.observations.take_hop(ex);
        let page_origin = url::page_origin(
            ex,
            hop.as_ref().and_then(|h| h.page_origin.as_deref()),
            hop.is_some(),
        );
        let mut ctx = Context {
            partner,
            pairing,
            previous_hop: hop.as_ref().map(|h| h.previous.as_ref()),
            redirects: hop.as_ref().map_or(0, |h| h.redirects),
            first_url: hop.as_ref().map(|h| h.first_url.as_str()),
            page_origin: page_origin.as_deref(),
            // Cookies on other requests of the same client say nothing reliable about this
            // one (real Chromium runs showed wrong inferences): the classifier infers from the
            // preflight's own outcome instead.
            credentials_hint: None,
            distinct_reflected_origins: self.observations.reflected_origins(ex),
            cached_response: self.http_cache.for_failed(ex),
            engine: Engine::of(ex, self.engine),
            // A sink that shows events wants every finding's text; the report keeps only a
            // kind's first.
            detail: self.detail,
        };
        let mut classification = cors::classify(ex, &ctx);
        if ctx.detail == Detail::Counts
            && classification.verdicts.iter().any(|v| {
                v.class() == cors::VerdictClass::Finding
                    && !self.aggregate.kinds.contains_key(&v.kind)
            })
        {
            // A kind the report has not seen: its text is the one the report keeps.
            ctx.detail = Detail::Full;
            classification = cors::classify(ex, &ctx);
        }
        // The other engine's decision, where the engines can part (see `engine::may_differ`).
        let engines = engine::may_differ(ex)
            .then(|| {
                let other = Context {
                    engine: ctx.engine.other(),
                    ..ctx
                };
                EngineSplit::of(ctx.engine, &classification, &cors::classify(ex, &other))
            })
            .flatten();
        // What the recording does show, ranked, when it does not show why the browser blocked.
        let likely_causes = match classification.blocked() {
            Some(v) if v.kind == cors::Kind::BlockedReasonUnknown => {
                cors::causes::likely_causes(ex, &ctx)
            }
            _ => Vec::new(),
        };
        let hop_facts = hop::facts::judge(self.hops.config(), &seen, ex, &mut classification);
        // Under a proposed or declared policy (nothing without one); before the context's
        // books learn this exchange.
        let drift = policy_stage::observe(
            &self.policy,
            ex,
            &ctx,
            &classification,
            &mut self.aggregate.policy,
        );
        self.observations.observe(ex, hop.as_ref());
        self.http_cache.observe(ex);
        if let cors::Scope::NotCors(why) = &classification.scope {
            self.aggregate.count_not_cors(why);
            return false;
        }
        let pairing = match (pairing, classification.exchange_type()) {
            (Pairing::Unpaired, Some(cors::ExchangeType::Actual)) => {
                self.actual_without_preflight += 1;
                Pairing::ActualWithoutPreflight
            }
            (p, _) => p,
        };
        if !self.every_event
            && hop_facts.is_none()
            && engines.is_none()
            && drift.is_empty()
            && classification.verdicts.is_empty()
            && let Some(t) = classification.exchange_type()
        {
            // A clean pass that no sink shows: counted (and its stack tallied), no event built.
            self.aggregate.count_pass(t, ex.time);
            let stacks = stack::detect_with(ex.response.as_ref(), seen.app_response(), None, false);
            self.aggregate.stacks.add(&stacks);
            return false;
        }
        let Some(mut event) = Event::new(ex, classification, pairing, partner) else {
            return false;
        };
        event.counted = count_block;
        event.engines = engines;
        event.policy_drift = drift;
        event.likely_causes = likely_causes;
        // Evidence is text for a sink that shows events; the report only tallies stacks.
        event.stacks = stack::detect_with(
            ex.response.as_ref(),
            seen.app_response(),
            hop_facts.as_ref(),
            self.detail == Detail::Full,
        );
        if let Some(f) = hop_facts {
            // With `--proxy-sets-cors`, an inner hop seen alone shows the app's answer only.
            event.counted &= f.counted;
            self.aggregate.hops.record(&f, &event.route);
            event.hop = Some(f);
        }
        self.aggregate.add(&event);
        (self.sink)(&event);
        event.blocked
    }
}
