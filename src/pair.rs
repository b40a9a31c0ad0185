//! Preflight <-> actual request pairing, per client + origin + URL + method, across
//! connections, within a time window. Sans-IO: fed exchanges in time order, it hands back
//! units whose pairing is settled, and holds at most `max_pending` exchanges.

use crate::cors::Engine;
use crate::model::{Exchange, Location, Pairing, Timestamp};
use crate::url;
use foldhash::fast::RandomState;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::IpAddr;

/// Exchanges whose pairing is settled.
#[derive(Debug)]
pub enum Unit {
    /// An exchange settled alone.
    Single {
        /// The exchange.
        exchange: Box<Exchange>,
        /// What pairing concluded.
        pairing: Pairing,
    },
    /// A preflight and the actual request it guarded. `actual_sent` is false when a
    /// client-side recording lists the actual request but the browser never sent it (a failed
    /// entry with no response, after a failed preflight).
    Pair {
        /// The preflight.
        preflight: Box<Exchange>,
        /// The request it guarded.
        actual: Box<Exchange>,
        /// The browser sent the actual request.
        actual_sent: bool,
    },
}

/// Pairing outcomes, as the design names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairStats {
    /// Preflights seen.
    pub preflights: u64,
    /// Preflight answered and the actual request followed.
    pub preflight_then_actual: u64,
    /// Preflight with no actual request within the window (the browser stopped it, or the
    /// capture missed it).
    pub preflight_without_actual: u64,
    /// Actual request that needed a preflight with none visible (cached, or outside the capture).
    /// Counted by the analyzer, which learns from the classifier whether one was needed.
    pub actual_without_preflight: u64,
    /// Held exchanges pushed out by the `max_pending` cap.
    pub evicted: u64,
}

impl PairStats {
    /// Adds another run's outcomes (saturating: merged reports come from anywhere).
    pub fn add(&mut self, o: &PairStats) {
        let PairStats {
            preflights,
            preflight_then_actual,
            preflight_without_actual,
            actual_without_preflight,
            evicted,
        } = o;
        self.preflights = self.preflights.saturating_add(*preflights);
        self.preflight_then_actual = self
            .preflight_then_actual
            .saturating_add(*preflight_then_actual);
        self.preflight_without_actual = self
            .preflight_without_actual
            .saturating_add(*preflight_without_actual);
        self.actual_without_preflight = self
            .actual_without_preflight
            .saturating_add(*actual_without_preflight);
        self.evicted = self.evicted.saturating_add(*evicted);
    }
}

/// How pairing waits.
#[derive(Debug, Clone, Copy)]
pub struct PairConfig {
    /// How long after a preflight its actual request may start.
    pub window_ns: i64,
    /// Client-side recordings (HAR) may list the actual request just before its preflight:
    /// such an actual request is held this long for its preflight.
    pub hold_ns: i64,
    /// Exchanges held at most; past it, the one whose wait ends first is settled first.
    pub max_pending: usize,
    /// Bytes of held exchanges at most (the pairing part of `--max-memory`); past it, the one
    /// whose wait ends first is settled first.
    pub max_pending_bytes: usize,
}

impl Default for PairConfig {
    fn default() -> Self {
        PairConfig {
            window_ns: 10_000_000_000,
            hold_ns: 2_000_000_000,
            max_pending: 50_000,
            max_pending_bytes: 64 << 20,
        }
    }
}

/// What a preflight and its actual request share: client, URL (without fragment) and method
/// (the preflight's `Access-Control-Request-Method`). Borrowed from the exchange; the table
/// keeps only its hash, and a candidate is checked field by field before it pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key<'a> {
    client: Option<IpAddr>,
    url: &'a [u8],
    method: &'a [u8],
}

impl<'a> Key<'a> {
    /// The key of an exchange in `role`.
    fn of(ex: &'a Exchange, role: Role) -> Key<'a> {
        let method: &[u8] = match role {
            Role::Preflight => ex
                .request
                .headers
                .get("access-control-request-method")
                .map_or(&[], <[u8]>::trim_ascii),
            Role::Actual => ex.request.method.as_bytes(),
            Role::InLine => &[],
        };
        let url = match role {
            Role::InLine => &[],
            _ => strip_fragment(&ex.request.url).as_bytes(),
        };
        Key {
            client: ex.client.map(|c| c.ip()),
            url,
            method,
        }
    }
}

/// The origin part of the match, kept beside the key: a recording's failed entry may lack
/// `Origin` (provisional headers), and after a tainting redirect its preflight says `null`.
#[derive(Debug, Clone, Copy)]
struct Side {
    /// Hash of the origin.
    origin: u64,
    /// Inferred from the page, not seen on the wire, or an actual request's `Origin: null`
    /// that Firefox's preflight does not share: matches any origin.
    recorded: bool,
}

impl Side {
    fn matches(&self, other: &Side) -> bool {
        self.recorded || other.recorded || self.origin == other.origin
    }
}

/// Firefox sends the preflight that follows a cross-origin redirect with the page's `Origin`,
/// while the actual request carries the tainted `Origin: null` (the Firefox recording of
/// issue 16): the two pair although their origins differ.
fn firefox_preflights_redirect_with_page_origin(ex: &Exchange, engine: Engine) -> bool {
    engine == Engine::Firefox
        && !ex.is_preflight()
        && ex
            .request
            .headers
            .get("origin")
            .is_some_and(|o| o.trim_ascii() == b"null")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Preflight,
    Actual,
    /// Held only to keep a recording's order; never paired.
    InLine,
}

#[derive(Debug)]
struct Held {
    seq: u64,
    role: Role,
    side: Side,
    /// What the exchange holds, counted in [`Pairer::bytes`].
    bytes: usize,
    exchange: Box<Exchange>,
}

/// [`Pairer::expiry`] queue of preflights waiting out their window.
const WINDOW: usize = 0;
/// [`Pairer::expiry`] queue of a recording's other entries waiting out their hold.
const HOLD: usize = 1;

/// The pairing stage (see the module docs).
pub struct Pairer {
    cfg: PairConfig,
    /// Held exchanges by key hash.
    held: HashMap<u64, VecDeque<Held>, RandomState>,
    /// (deadline, key hash, seq), one queue per wait (preflights: the window; a recording's
    /// other entries: the hold), each in arrival order and so in deadline order. One queue
    /// kept a lone preflight in front of every entry recorded after it for its whole window:
    /// a realistic HAR then held ten seconds of entries, not two, and evicted from them.
    /// Entries already paired are skipped lazily.
    expiry: [VecDeque<(Timestamp, u64, u64)>; 2],
    /// Seeded per process: keys come from the wire.
    hasher: RandomState,
    count: usize,
    /// Bytes of the held exchanges.
    bytes: usize,
    seq: u64,
    now: Timestamp,
    stats: PairStats,
    /// The engine the user stated, if any (see [`Engine::of`]).
    engine: Option<Engine>,
}

impl Pairer {
    /// An empty pairer.
    pub fn new(cfg: PairConfig) -> Self {
        Pairer {
            cfg,
            held: HashMap::default(),
            expiry: [VecDeque::new(), VecDeque::new()],
            hasher: RandomState::default(),
            count: 0,
            bytes: 0,
            seq: 0,
            now: Timestamp::default(),
            stats: PairStats::default(),
            engine: None,
        }
    }

    /// Pairs as `engine` sends preflights (`None`: as each recording's producer says).
    pub fn set_engine(&mut self, engine: Option<Engine>) {
        self.engine = engine;
    }

    /// Outcomes so far.
    pub fn stats(&self) -> PairStats {
        self.stats
    }

    /// Feeds one exchange; settled units are appended to `out`.
    pub fn push(&mut self, ex: Box<Exchange>, out: &mut Vec<Unit>) {
        if ex.time > self.now {
            self.now = ex.time;
        }
        self.expire(self.now, false, out);

        let side = match ex.request.headers.get("origin") {
            Some(o) => Side {
                origin: self.hasher.hash_one(o),
                recorded: firefox_preflights_redirect_with_page_origin(
                    &ex,
                    Engine::of(&ex, self.engine),
                ),
            },
            None => match recorded_origin(&ex) {
                Some(origin) => Side {
                    origin: self.hasher.hash_one(origin.as_bytes()),
                    recorded: true,
                },
                None if matches!(ex.source.location, Location::HarEntry(_)) => {
                    // Not pairable, but held in line so that a recording's entries come out
                    // in their order (a redirect's next hop after the redirect).
                    let deadline = Timestamp(ex.time.0.saturating_add(self.cfg.hold_ns));
                    let side = Side {
                        origin: 0,
                        recorded: false,
                    };
                    return self.hold(side, deadline, Role::InLine, ex, out);
                }
                None => return out.push(single(ex, Pairing::Unpaired)),
            },
        };

        if ex.is_preflight() {
            self.stats.preflights += 1;
            if let Some(actual) = self.take(&ex, Role::Preflight, side) {
                return out.push(self.pair(ex, actual));
            }
            let deadline = Timestamp(ex.time.0.saturating_add(self.cfg.window_ns));
            return self.hold(side, deadline, Role::Preflight, ex, out);
        }

        if let Some(preflight) = self.take(&ex, Role::Actual, side) {
            return out.push(self.pair(preflight, ex));
        }
        // A recording may list a request before its preflight, and a request that looks
        // simple may still have had one (XHR upload listeners force it): hold them briefly.
        if matches!(ex.source.location, Location::HarEntry(_)) {
            let deadline = Timestamp(ex.time.0.saturating_add(self.cfg.hold_ns));
            return self.hold(side, deadline, Role::Actual, ex, out);
        }
        // Whether it needed a preflight is the classifier's call (it computes the request's
        // facts anyway): the analyzer turns `Unpaired` into `ActualWithoutPreflight`.
        out.push(single(ex, Pairing::Unpaired));
    }

    fn pair(&mut self, preflight: Box<Exchange>, actual: Box<Exchange>) -> Unit {
        let actual_sent = !(actual.failure.is_some() && actual.response.is_none());
        if actual_sent {
            self.stats.preflight_then_actual += 1;
        } else {
            self.stats.preflight_without_actual += 1;
        }
        Unit::Pair {
            preflight,
            actual,
            actual_sent,
        }
    }

    /// Moves the clock forward without an exchange (a quiet live link), settling what expired.
    pub fn advance(&mut self, now: Timestamp, out: &mut Vec<Unit>) {
        if now > self.now {
            self.now = now;
        }
        self.expire(self.now, false, out);
    }

    /// End of input: everything held is settled. Preflights whose window had not closed yet
    /// are marked `capture_open`.
    pub fn finish(&mut self, out: &mut Vec<Unit>) {
        self.expire(Timestamp(i64::MAX), true, out);
    }

    fn hold(
        &mut self,
        side: Side,
        deadline: Timestamp,
        role: Role,
        ex: Box<Exchange>,
        out: &mut Vec<Unit>,
    ) {
        let bytes = ex.heap_bytes();
        while self.count > 0
            && (self.count >= self.cfg.max_pending
                || self.bytes.saturating_add(bytes) > self.cfg.max_pending_bytes)
        {
            // Evicting settles early what would settle first anyway.
            if !self.expire_one(Timestamp(i64::MAX), false, out) {
                break;
            }
            self.stats.evicted += 1;
        }
        let key = self.hasher.hash_one(Key::of(&ex, role));
        self.seq += 1;
        let seq = self.seq;
        let q = if role == Role::Preflight {
            WINDOW
        } else {
            HOLD
        };
        self.expiry[q].push_back((deadline, key, seq));
        self.held.entry(key).or_default().push_back(Held {
            seq,
            role,
            side,
            bytes,
            exchange: ex,
        });
        self.count += 1;
        self.bytes += bytes;
    }

    /// Takes the oldest held exchange that pairs with `ex` (of the role `ex` has: the other
    /// role is looked for) under the same key, whose origin matches.
    fn take(&mut self, ex: &Exchange, role: Role, side: Side) -> Option<Box<Exchange>> {
        let want = match role {
            Role::Preflight => Role::Actual,
            _ => Role::Preflight,
        };
        let key = Key::of(ex, role);
        let hash = self.hasher.hash_one(key);
        let q = self.held.get_mut(&hash)?;
        let i = q.iter().position(|h| {
            h.role == want && h.side.matches(&side) && Key::of(&h.exchange, want) == key
        })?;
        let h = q.remove(i)?;
        if q.is_empty() {
            self.held.remove(&hash);
        }
        self.count -= 1;
        self.bytes = self.bytes.saturating_sub(h.bytes);
        Some(h.exchange)
    }

    fn expire(&mut self, now: Timestamp, at_end: bool, out: &mut Vec<Unit>) {
        let due = if at_end { Timestamp(i64::MAX) } else { now };
        while self.expire_one(due, at_end, out) {}
    }

    /// The queue whose front is due first (the earlier arrival on a tie).
    fn next_due(&self) -> Option<usize> {
        match (self.expiry[WINDOW].front(), self.expiry[HOLD].front()) {
            (Some(w), Some(h)) => Some(if (h.0, h.2) < (w.0, w.2) {
                HOLD
            } else {
                WINDOW
            }),
            (Some(_), None) => Some(WINDOW),
            (None, Some(_)) => Some(HOLD),
            (None, None) => None,
        }
    }

    /// Settles the held exchange due first, if it is due by `due` (entries already paired are
    /// skipped); false when none was. `at_end`: the input ended, and a preflight whose window
    /// was still open is marked so.
    fn expire_one(&mut self, due: Timestamp, at_end: bool, out: &mut Vec<Unit>) -> bool {
        while let Some(q) = self.next_due() {
            let Some(&(deadline, key, seq)) = self.expiry[q].front() else {
                break;
            };
            if deadline > due {
                break;
            }
            self.expiry[q].pop_front();
            let Some(held) = self.held.get_mut(&key) else {
                continue;
            };
            let Some(i) = held.iter().position(|h| h.seq == seq) else {
                continue;
            };
            let Some(h) = held.remove(i) else { continue };
            if held.is_empty() {
                self.held.remove(&key);
            }
            self.count -= 1;
            self.bytes = self.bytes.saturating_sub(h.bytes);
            let pairing = if h.role == Role::Preflight {
                self.stats.preflight_without_actual += 1;
                Pairing::PreflightAlone {
                    capture_open: at_end && deadline > self.now,
                }
            } else {
                Pairing::Unpaired
            };
            out.push(single(h.exchange, pairing));
            return true;
        }
        false
    }
}

fn single(exchange: Box<Exchange>, pairing: Pairing) -> Unit {
    Unit::Single { exchange, pairing }
}

/// The origin a client-side recording implies for a failed request whose headers lack
/// `Origin`, for the pairing key. Chromium's provisional request headers (all a HAR keeps for a
/// request that never got a response) do not include it: the network service adds it on the
/// wire. `None` when that is the request's own origin. (The classifier makes the finer call on
/// such entries itself.)
fn recorded_origin(ex: &Exchange) -> Option<String> {
    if !matches!(ex.source.location, Location::HarEntry(_))
        || ex.failure.is_none()
        || ex.request.headers.contains("origin")
    {
        return None;
    }
    let page = url::recorded_page_origin(ex)?;
    (Some(&page) != url::origin_of(&ex.request.url).as_ref()).then_some(page)
}

fn strip_fragment(url: &str) -> &str {
    crate::url::before_byte(url, b'#')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Headers, Request, SourceRef};
    use std::sync::Arc;

    fn ex(i: u64, t: i64, method: &str, headers: &[(&str, &str)]) -> Box<Exchange> {
        Box::new(Exchange {
            source: SourceRef {
                input: Arc::from("t"),
                location: Location::Packets {
                    request: i,
                    response: None,
                },
            },
            time: Timestamp::from_secs(t),
            client: None,
            server: None,
            connection: None,
            request: Request {
                method: method.into(),
                url: "https://api.example/x".into(),
                http_version: "HTTP/1.1".into(),
                headers: headers.iter().copied().collect::<Headers>(),
            },
            response: None,
            failure: None,
            hints: Default::default(),
        })
    }

    const O: (&str, &str) = ("Origin", "https://app.example");

    #[test]
    fn firefox_preflights_redirect_with_page_origin_pairs() {
        // After a cross-origin redirect Firefox's preflight says the page's Origin, the actual
        // request `null`: they pair for Firefox, not for Chromium (whose preflight says `null`).
        for (engine, pairs) in [(Engine::Firefox, true), (Engine::Chromium, false)] {
            let mut p = Pairer::new(PairConfig::default());
            p.set_engine(Some(engine));
            let mut out = Vec::new();
            let pf = [O, ("Access-Control-Request-Method", "PUT")];
            p.push(ex(1, 0, "OPTIONS", &pf), &mut out);
            p.push(ex(2, 0, "PUT", &[("Origin", "null")]), &mut out);
            p.finish(&mut out);
            let paired = out.iter().any(|u| matches!(u, Unit::Pair { .. }));
            assert_eq!(paired, pairs, "{engine}");
        }
    }

    #[test]
    fn preflight_then_actual_pairs() {
        let mut p = Pairer::new(PairConfig::default());
        let mut out = Vec::new();
        p.push(
            ex(
                1,
                0,
                "OPTIONS",
                &[O, ("Access-Control-Request-Method", "PUT")],
            ),
            &mut out,
        );
        assert!(out.is_empty());
        p.push(ex(2, 1, "PUT", &[O]), &mut out);
        assert!(matches!(out.as_slice(), [Unit::Pair { .. }]));
        assert_eq!(p.stats().preflight_then_actual, 1);
    }

    #[test]
    fn lone_preflight_expires_and_method_must_match() {
        let mut p = Pairer::new(PairConfig::default());
        let mut out = Vec::new();
        p.push(
            ex(
                1,
                0,
                "OPTIONS",
                &[O, ("Access-Control-Request-Method", "PUT")],
            ),
            &mut out,
        );
        p.push(ex(2, 1, "DELETE", &[O]), &mut out);
        p.push(ex(3, 60, "GET", &[]), &mut out);
        let alone = out.iter().any(|u| {
            matches!(
                u,
                Unit::Single {
                    pairing: Pairing::PreflightAlone {
                        capture_open: false
                    },
                    ..
                }
            )
        });
        assert!(alone, "{out:?}");
        assert_eq!(p.stats().preflight_without_actual, 1);
    }

    #[test]
    fn preflight_still_open_at_end_of_capture() {
        let mut p = Pairer::new(PairConfig::default());
        let mut out = Vec::new();
        p.push(
            ex(
                1,
                0,
                "OPTIONS",
                &[O, ("Access-Control-Request-Method", "PUT")],
            ),
            &mut out,
        );
        p.finish(&mut out);
        assert!(matches!(
            out.as_slice(),
            [Unit::Single {
                pairing: Pairing::PreflightAlone { capture_open: true },
                ..
            }]
        ));
    }

    #[test]
    fn cap_evicts_oldest() {
        let mut p = Pairer::new(PairConfig {
            max_pending: 2,
            ..PairConfig::default()
        });
        let mut out = Vec::new();
        for i in 0..5 {
            p.push(
                ex(
                    i,
                    0,
                    "OPTIONS",
                    &[O, ("Access-Control-Request-Method", "PUT")],
                ),
                &mut out,
            );
        }
        assert_eq!(out.len(), 3);
        assert_eq!(p.stats().evicted, 3);
        p.finish(&mut out);
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn byte_cap_evicts_oldest() {
        let one = ex(
            0,
            0,
            "OPTIONS",
            &[O, ("Access-Control-Request-Method", "PUT")],
        )
        .heap_bytes();
        let mut p = Pairer::new(PairConfig {
            max_pending_bytes: one * 3,
            ..PairConfig::default()
        });
        let mut out = Vec::new();
        for i in 0..10 {
            let e = ex(
                i,
                0,
                "OPTIONS",
                &[O, ("Access-Control-Request-Method", "PUT")],
            );
            p.push(e, &mut out);
            assert!(p.bytes <= one * 3);
        }
        assert_eq!(out.len(), 7);
        assert_eq!(p.stats().evicted, 7);
        p.finish(&mut out);
        assert_eq!(out.len(), 10);
        assert_eq!(p.bytes, 0);
    }

    /// A HAR entry: held for the recording's order and for a preflight listed after it.
    fn har(i: u64, ms: i64, method: &str, headers: &[(&str, &str)]) -> Box<Exchange> {
        let mut e = ex(i, 0, method, headers);
        e.source.location = Location::HarEntry(i);
        e.time = Timestamp(ms * 1_000_000);
        e
    }

    #[test]
    fn a_lone_preflight_does_not_hold_later_entries_past_their_hold() {
        let pf = [O, ("Access-Control-Request-Method", "PUT")];
        let mut p = Pairer::new(PairConfig::default());
        let mut out = Vec::new();
        // A preflight no request follows, a request that waits for a preflight that never
        // comes, and a preflight for another URL listed after it.
        p.push(har(0, 0, "OPTIONS", &pf), &mut out);
        p.push(har(1, 100, "GET", &[O]), &mut out);
        let mut late = har(2, 1_500, "OPTIONS", &pf);
        late.request.url = "https://api.example/y".into();
        p.push(late, &mut out);
        assert!(out.is_empty(), "{out:?}");
        // Past the request's 2 s hold, inside the preflight's 10 s window: the request
        // settles, the preflight still waits.
        p.push(har(3, 2_200, "GET", &[]), &mut out);
        let settled: Vec<_> = out
            .iter()
            .filter_map(|u| match u {
                Unit::Single { exchange, pairing } => Some((exchange.source.location, *pairing)),
                Unit::Pair { .. } => None,
            })
            .collect();
        assert_eq!(settled, [(Location::HarEntry(1), Pairing::Unpaired)]);
        // The later preflight, still in its window, pairs with its request.
        let mut put = har(4, 2_300, "PUT", &[O]);
        put.request.url = "https://api.example/y".into();
        p.push(put, &mut out);
        assert!(matches!(out.last(), Some(Unit::Pair { .. })), "{out:?}");
        p.finish(&mut out);
        assert_eq!(p.stats().evicted, 0);
        assert_eq!(p.count, 0);
    }
}
