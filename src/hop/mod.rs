//! Hops: beside API servers one browser request is often seen twice, browser→proxy and
//! proxy→app. This stage, between the sources and pairing, recognises the two (or more) hops of
//! one request so that it is judged once, where the browser stands, with the inner hops kept as
//! evidence of which layer set which CORS header ([`facts`]).
//!
//! Two exchanges are hops of one request when they carry the same method, `Origin` and target
//! (the inner one's path may lack a prefix the proxy strips), start within
//! [`HopConfig::window_ns`] of each other on different connections to different servers, and
//! the traffic shows a proxy between them: the inner hop's client is the outer hop's server
//! address, or the inner hop carries more forwarding headers (`Forwarded`, `X-Forwarded-For`,
//! `X-Real-IP`, `Via`, …; nginx's default HTTP/1.0 upstream request with a browser's fetch
//! metadata counts as one). The browser-facing hop is the one that started first: a proxy sends
//! its request only after the browser's arrived.
//!
//! An exchange whose request shows a proxy in front and no outer hop is an inner hop seen alone
//! (TLS outside, a capture filter on the app port): [`facts`] judges it as the browser's by
//! default, or as the app's only when the proxy is declared to set the CORS headers
//! ([`HopConfig::proxy_sets_cors`]).
//!
//! Sans-IO and bounded: exchanges of a packet input wait at most `window_ns` of input time (in
//! arrival order, so nothing is reordered), at most `max_pending` of them (the oldest is let go
//! past that, counted in [`HopStage::evicted`]). Client-side recordings (HAR) have one hop and
//! pass straight through; hops are not matched across inputs.

// Exchanges travel boxed through the pipeline (as the driver sends them): unboxing here would
// mean a new allocation at the pairing stage.
#![allow(clippy::vec_box)]

pub mod book;
pub mod facts;

pub use book::HopBook;
pub use facts::{HeaderLayer, HopFacts, InnerHop, Layer, Visible};

use crate::model::{Exchange, Location, Request, Timestamp};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// How hops are recognised and judged.
#[derive(Debug, Clone, Copy)]
pub struct HopConfig {
    /// How far apart (input time) the hops of one request may start, and how long an exchange
    /// waits for its other hop.
    pub window_ns: i64,
    /// Exchanges held at most while they wait; the oldest is let go first past it.
    pub max_pending: usize,
    /// Bytes of the exchanges held at most (with pairing, the `pairing` part of
    /// `--max-memory`); the oldest is let go first past it.
    pub max_pending_bytes: usize,
    /// Declared: the proxy in front sets the CORS headers, so an inner hop seen alone shows
    /// the app's answer, not the browser's (`--proxy-sets-cors`). Ignored where both hops are
    /// visible: the traffic says who set what.
    pub proxy_sets_cors: bool,
}

impl Default for HopConfig {
    fn default() -> Self {
        HopConfig {
            window_ns: 2_000_000_000,
            max_pending: 20_000,
            max_pending_bytes: 32 << 20,
            proxy_sets_cors: false,
        }
    }
}

/// The hop stage (see the module docs): the [`HopMatcher`], and the inner hops it found until
/// the pipeline judges their browser-facing exchange.
#[derive(Debug)]
pub struct HopStage {
    matcher: HopMatcher,
    /// What the matcher let go, before it goes on.
    released: Vec<Released>,
    /// Inner hops of released browser-facing exchanges, until the pipeline judges them.
    evidence: HashMap<EvidenceKey, Vec<Box<Exchange>>>,
    /// Inner hops dropped past the evidence cap.
    evicted: u64,
}

/// Recognises the hops of one request (see the module docs). Runs before pairing, in the
/// pipeline ([`HopStage`]), whatever the number of threads.
#[derive(Debug)]
pub struct HopMatcher {
    cfg: HopConfig,
    /// Waiting groups in the arrival order of their first member.
    queue: VecDeque<Slot>,
    /// Sequence number of `queue[0]`.
    first_seq: u64,
    /// Match key -> the groups waiting under it, chained through [`Slot::next`] oldest first
    /// (the queue lets go of the oldest first, so removal is at the head). A chain, not a list
    /// per key: no allocation for each new key, nothing cold to read but the slots.
    index: HashMap<u64, Chain, foldhash::fast::RandomState>,
    /// Exchanges in `queue`.
    held: usize,
    /// Their bytes ([`Exchange::heap_bytes`]).
    held_bytes: usize,
    /// The latest request start seen (input time).
    now: Timestamp,
    /// The input the waiting exchanges came from.
    input: Option<Arc<str>>,
    evicted: u64,
}

/// An exchange the matcher let go: browser-facing (or alone), with the inner hops of the same
/// request, outermost first.
#[derive(Debug)]
pub struct Released {
    /// The exchange to pair and judge.
    pub exchange: Box<Exchange>,
    /// Its inner hops (none, mostly).
    pub inner: Vec<Box<Exchange>>,
}

#[derive(Debug)]
struct Slot {
    key: Option<u64>,
    deadline: Timestamp,
    /// The members' [`Exchange::heap_bytes`], counted as they came: the release does not read
    /// exchanges that went cold while they waited.
    bytes: usize,
    /// What every later exchange under the same key reads of the first member: the member
    /// itself went cold while it waited (a cache miss a look, measured in issue 11).
    glance: Glance,
    /// The next group waiting under the same key (its sequence number).
    next: Option<u64>,
    /// The first member, and the others (none, mostly: no allocation for them).
    first: Box<Exchange>,
    more: Vec<Box<Exchange>>,
}

/// The first and last group waiting under one key (sequence numbers).
#[derive(Debug, Clone, Copy)]
struct Chain {
    head: u64,
    tail: u64,
}

/// What hop matching reads of an exchange most often: its start, addresses and
/// [`forwarded_weight`].
#[derive(Debug, Clone, Copy)]
struct Glance {
    time: Timestamp,
    weight: u32,
    server: Option<SocketAddr>,
    client: Option<SocketAddr>,
}

impl Glance {
    fn of(ex: &Exchange) -> Self {
        Glance {
            time: ex.time,
            weight: forwarded_weight(&ex.request),
            server: ex.server,
            client: ex.client,
        }
    }

    /// The two are on the same connection or server: not two hops of one request.
    fn clashes(&self, other: &Glance) -> bool {
        self.server == other.server || self.client == other.client
    }
}

impl Slot {
    fn new(
        key: Option<u64>,
        deadline: Timestamp,
        bytes: usize,
        ex: Box<Exchange>,
        glance: Glance,
    ) -> Self {
        Slot {
            key,
            deadline,
            bytes,
            glance,
            next: None,
            first: ex,
            more: Vec::new(),
        }
    }

    /// The members with their glances (the later ones' taken now: few groups have them).
    fn members(&self) -> impl Iterator<Item = (&Exchange, Glance)> {
        std::iter::once((&*self.first, self.glance))
            .chain(self.more.iter().map(|m| (&**m, Glance::of(m))))
    }
}

/// An exchange's identity while it travels through pairing: its input, place and start.
type EvidenceKey = (usize, u64, i64);

fn evidence_key(ex: &Exchange) -> EvidenceKey {
    (
        Arc::as_ptr(&ex.source.input) as *const u8 as usize,
        ex.source.index(),
        ex.time.0,
    )
}

/// What the stage knows of an exchange the pipeline is about to judge.
#[derive(Debug)]
pub enum Seen {
    /// One hop, nothing says a proxy forwarded it.
    Alone,
    /// The browser-facing hop; the inner hops of the same request, outermost first.
    Both(Vec<Box<Exchange>>),
    /// Only a proxy→app hop is visible.
    InnerOnly(Box<facts::InnerOnly>),
}

impl Seen {
    /// The exchange to classify in place of the one seen: an inner hop as the browser sent
    /// it (proxy headers taken off, the browser-facing URL where forwarding headers name it).
    pub fn view(&self) -> Option<&Exchange> {
        match self {
            Seen::InnerOnly(i) => Some(&i.view),
            _ => None,
        }
    }

    /// The app's own answer, where an inner hop was seen: the innermost hop's response.
    pub fn app_response(&self) -> Option<&crate::model::Response> {
        match self {
            Seen::Both(inner) => inner.last().and_then(|e| e.response.as_ref()),
            _ => None,
        }
    }
}

impl HopStage {
    /// An empty stage.
    pub fn new(cfg: HopConfig) -> Self {
        HopStage {
            matcher: HopMatcher::new(cfg),
            released: Vec::new(),
            evidence: HashMap::new(),
            evicted: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HopConfig {
        &self.matcher.cfg
    }

    /// Exchanges let go by the caps before their other hop could be looked for.
    pub fn evicted(&self) -> u64 {
        self.matcher.evicted + self.evicted
    }

    /// Feeds one exchange (in the order the decoder completed them); exchanges whose hops are
    /// settled go to `out`, browser-facing ones only, in arrival order.
    pub fn push(&mut self, ex: Box<Exchange>, out: &mut Vec<Box<Exchange>>) {
        self.matcher.push(ex, &mut self.released);
        self.keep_released(out);
    }

    /// Moves the clock on a quiet link, letting go of what waited long enough.
    pub fn advance(&mut self, now: Timestamp, out: &mut Vec<Box<Exchange>>) {
        self.matcher.advance(now, &mut self.released);
        self.keep_released(out);
    }

    /// End of input: everything waiting goes.
    pub fn finish(&mut self, out: &mut Vec<Box<Exchange>>) {
        self.matcher.finish(&mut self.released);
        self.keep_released(out);
    }

    fn keep_released(&mut self, out: &mut Vec<Box<Exchange>>) {
        let mut released = std::mem::take(&mut self.released);
        for r in released.drain(..) {
            out.push(self.keep(r));
        }
        self.released = released;
    }

    /// What the matcher let go: keeps its inner hops for [`HopStage::take`], returns the
    /// exchange.
    fn keep(&mut self, r: Released) -> Box<Exchange> {
        if !r.inner.is_empty() {
            // Bounded like the rest: past the cap the inner hops are dropped unseen (the
            // outer one is still judged once).
            if self.evidence.len() < self.matcher.cfg.max_pending {
                self.evidence.insert(evidence_key(&r.exchange), r.inner);
            } else {
                self.evicted += r.inner.len() as u64;
            }
        }
        r.exchange
    }

    /// What is known of `ex`'s other hops, once, when the pipeline judges it.
    pub fn take(&mut self, ex: &Exchange) -> Seen {
        if !self.evidence.is_empty()
            && let Some(inner) = self.evidence.remove(&evidence_key(ex))
        {
            return Seen::Both(inner);
        }
        if !matches!(ex.source.location, Location::Packets { .. }) {
            return Seen::Alone;
        }
        match facts::inner_only(ex) {
            Some(i) => Seen::InnerOnly(Box::new(i)),
            None => Seen::Alone,
        }
    }
}

impl HopMatcher {
    /// An empty matcher.
    pub fn new(cfg: HopConfig) -> Self {
        HopMatcher {
            cfg,
            queue: VecDeque::new(),
            first_seq: 0,
            index: HashMap::default(),
            held: 0,
            held_bytes: 0,
            now: Timestamp::default(),
            input: None,
            evicted: 0,
        }
    }

    /// Exchanges let go by the `max_pending` caps before their other hop could be looked for.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Feeds one exchange (in the order the decoder completed them); exchanges whose hops are
    /// settled go to `out`, browser-facing ones only, in arrival order.
    pub fn push(&mut self, ex: Box<Exchange>, out: &mut Vec<Released>) {
        let same_input = self
            .input
            .as_ref()
            .is_some_and(|i| Arc::ptr_eq(i, &ex.source.input) || **i == *ex.source.input);
        if !same_input {
            self.release_all(out);
            self.input = Some(ex.source.input.clone());
        }
        if ex.time > self.now {
            self.now = ex.time;
        }
        let key = candidate_key(&ex);
        if key.is_none() && self.queue.is_empty() {
            out.push(Released {
                exchange: ex,
                inner: Vec::new(),
            });
            return;
        }
        let seq = self.first_seq + self.queue.len() as u64;
        let bytes = ex.heap_bytes();
        self.held_bytes += bytes;
        match key {
            Some(k) => {
                let glance = Glance::of(&ex);
                if let Some(at) = self.best_group(k, &ex, &glance) {
                    let slot = &mut self.queue[at];
                    let until = Timestamp(ex.time.0.saturating_add(self.cfg.window_ns));
                    slot.deadline = slot.deadline.max(until);
                    slot.bytes += bytes;
                    slot.more.push(ex);
                } else {
                    let deadline = Timestamp(ex.time.0.saturating_add(self.cfg.window_ns));
                    match self.index.entry(k) {
                        Entry::Occupied(mut e) => {
                            let tail = e.get().tail;
                            if let Some(t) = tail
                                .checked_sub(self.first_seq)
                                .and_then(|at| self.queue.get_mut(at as usize))
                            {
                                t.next = Some(seq);
                            }
                            e.get_mut().tail = seq;
                        }
                        Entry::Vacant(e) => {
                            e.insert(Chain {
                                head: seq,
                                tail: seq,
                            });
                        }
                    }
                    self.queue
                        .push_back(Slot::new(Some(k), deadline, bytes, ex, glance));
                }
            }
            None => {
                // Never looked at under a key: the weight is not needed.
                let glance = Glance {
                    time: ex.time,
                    weight: 0,
                    server: ex.server,
                    client: ex.client,
                };
                let slot = Slot::new(None, Timestamp(i64::MIN), bytes, ex, glance);
                self.queue.push_back(slot);
            }
        }
        self.held += 1;
        while self.held > self.cfg.max_pending
            || (self.held_bytes > self.cfg.max_pending_bytes && !self.queue.is_empty())
        {
            self.evicted += self.queue.front().map_or(0, |s| 1 + s.more.len() as u64);
            self.release_front(out);
        }
        self.release_ready(out);
    }

    /// Moves the clock on a quiet link, letting go of what waited long enough.
    pub fn advance(&mut self, now: Timestamp, out: &mut Vec<Released>) {
        if now > self.now {
            self.now = now;
        }
        self.release_ready(out);
    }

    /// End of input: everything waiting goes.
    pub fn finish(&mut self, out: &mut Vec<Released>) {
        self.release_all(out);
    }

    /// The waiting group `ex` belongs to, as an index into `queue`: one under the same key
    /// with a member `ex` is a hop of, none of them on `ex`'s connection or server; the one
    /// whose nearest member started closest to `ex`.
    fn best_group(&self, key: u64, ex: &Exchange, glance: &Glance) -> Option<usize> {
        let chain = self.index.get(&key)?;
        let mut best: Option<(usize, i64)> = None;
        let mut next = Some(chain.head);
        while let Some(seq) = next {
            let Some((at, slot)) = seq
                .checked_sub(self.first_seq)
                .map(|at| at as usize)
                .and_then(|at| Some((at, self.queue.get(at)?)))
            else {
                break;
            };
            next = slot.next;
            if slot.glance.clashes(glance)
                || slot
                    .more
                    .iter()
                    .any(|m| m.server == ex.server || m.client == ex.client)
            {
                continue;
            }
            let near = slot
                .members()
                .filter(|(m, g)| hops_of_one_request((m, g), (ex, glance), self.cfg.window_ns))
                .map(|(m, _)| m.time.since(ex.time).saturating_abs())
                .min();
            if let Some(d) = near
                && best.is_none_or(|(_, bd)| d < bd)
            {
                best = Some((at, d));
            }
        }
        best.map(|(at, _)| at)
    }

    fn release_ready(&mut self, out: &mut Vec<Released>) {
        while self
            .queue
            .front()
            .is_some_and(|s| s.deadline <= self.now || s.key.is_none())
        {
            self.release_front(out);
        }
    }

    fn release_all(&mut self, out: &mut Vec<Released>) {
        while !self.queue.is_empty() {
            self.release_front(out);
        }
    }

    fn release_front(&mut self, out: &mut Vec<Released>) {
        let Some(slot) = self.queue.pop_front() else {
            return;
        };
        // The next two to go: the first's heads, the second's own bytes (where the heads are).
        if let Some(next) = self.queue.front() {
            next.first.prefetch();
        }
        if let Some(after) = self.queue.get(1) {
            after.first.prefetch_self();
        }
        let seq = self.first_seq;
        self.first_seq += 1;
        self.held -= 1 + slot.more.len();
        self.held_bytes = self.held_bytes.saturating_sub(slot.bytes);
        // The oldest group of all is the oldest under its key: the head of its chain.
        if let Some(k) = slot.key
            && let Some(chain) = self.index.get_mut(&k)
            && chain.head == seq
        {
            match slot.next {
                Some(n) => chain.head = n,
                None => {
                    self.index.remove(&k);
                }
            }
        }
        if slot.more.is_empty() {
            out.push(Released {
                exchange: slot.first,
                inner: Vec::new(),
            });
            return;
        }
        let mut members = slot.more;
        members.insert(0, slot.first);
        // The browser-facing hop started first; ties go to the one fewer proxies forwarded.
        members.sort_by_key(|m| (m.time, forwarded_weight(&m.request)));
        let mut it = members.into_iter();
        let Some(exchange) = it.next() else { return };
        out.push(Released {
            exchange,
            inner: it.collect(),
        });
    }
}

/// The match key of an exchange that may be one hop of several: packet inputs, requests with
/// `Origin`. Hashes the method, the origin, the query and the last path segment (a proxy may
/// strip a path prefix; the rest of the target is compared in [`hops_of_one_request`]).
fn candidate_key(ex: &Exchange) -> Option<u64> {
    if !matches!(ex.source.location, Location::Packets { .. }) {
        return None;
    }
    let origin = ex.request.headers.get("origin")?;
    let target = target(&ex.request.url);
    let (path, query) = match crate::url::find_byte(target, b'?') {
        Some(q) => (&target[..q], &target[q + 1..]),
        None => (target, ""),
    };
    let last = &path[path.bytes().rposition(|c| c == b'/').map_or(0, |i| i + 1)..];
    // Fixed seed: the key only groups exchanges within one run.
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    ex.request.method.hash(&mut h);
    origin.hash(&mut h);
    last.hash(&mut h);
    query.hash(&mut h);
    Some(h.finish())
}

/// Path and query of a URL (no fragment).
fn target(url: &str) -> &str {
    let rest = match crate::url::scheme_sep(url) {
        Some(i) => {
            let after = &url[i + 3..];
            crate::url::find_byte(after, b'/').map_or("/", |p| &after[p..])
        }
        None => url,
    };
    crate::url::before_byte(rest, b'#')
}

/// Whether `a` and `b` (same match key, different connections and servers) are two hops of
/// one browser request.
fn hops_of_one_request(
    (a, ga): (&Exchange, &Glance),
    (b, gb): (&Exchange, &Glance),
    window_ns: i64,
) -> bool {
    let (outer, inner) = if (ga.time, ga.weight) <= (gb.time, gb.weight) {
        ((a, ga), (b, gb))
    } else {
        ((b, gb), (a, ga))
    };
    let ip = |s: Option<SocketAddr>| s.map(|s| s.ip());
    // The inner hop's client is the proxy, which is the outer hop's server, or its forwarding
    // headers say so. Asked first from the glances: the exchanges themselves are cold, and
    // without a proxy (most traffic) the answer is no. A weight of 0 means no forwarding
    // header, so nothing for `names_client` to find.
    let linked = ip(inner.1.client).is_some() && ip(inner.1.client) == ip(outer.1.server);
    if !linked
        && inner.1.weight <= outer.1.weight
        && (inner.1.weight == 0 || outer.1.client.is_none())
    {
        return false;
    }
    if a.request.method != b.request.method
        || a.time.since(b.time).saturating_abs() > window_ns
        || a.request.headers.get("origin") != b.request.headers.get("origin")
    {
        return false;
    }
    let (ta, tb) = (target(&a.request.url), target(&b.request.url));
    let (long, short) = if ta.len() >= tb.len() {
        (ta, tb)
    } else {
        (tb, ta)
    };
    if !(long == short || (short.starts_with('/') && long.ends_with(short))) {
        return false;
    }
    // The header parse last: it is the dearest.
    linked
        || inner.1.weight > outer.1.weight
        || outer
            .1
            .client
            .is_some_and(|c| names_client(&inner.0.request, c.ip()))
}

/// How many proxies a request's headers say it crossed (forwarding list elements and the
/// other forwarding headers); nginx's default upstream request (HTTP/1.0 with a browser's
/// fetch metadata: no browser speaks HTTP/1.0) counts as one.
pub(crate) fn forwarded_weight(r: &Request) -> u32 {
    // Every request passes here. Each name written out, not looped over: a literal name's key
    // and filter bits fold to constants, and the filter ends most lookups at once.
    let h = &r.headers;
    let list = |name| {
        h.get_all(name)
            .map(|v| v.split(|b| *b == b',').count() as u32)
            .sum::<u32>()
    };
    let mut n = list("x-forwarded-for") + list("via") + list("forwarded");
    n += (h.count("x-real-ip")
        + h.count("x-forwarded-host")
        + h.count("x-forwarded-proto")
        + h.count("x-forwarded-server")
        + h.count("x-forwarded-port")
        + h.count("x-envoy-external-address")) as u32;
    if r.http_version.eq_ignore_ascii_case("HTTP/1.0") && r.headers.contains("sec-fetch-mode") {
        n += 1;
    }
    n
}

/// The request's forwarding headers name `ip` as the client the proxy served (the last
/// element a proxy appended).
fn names_client(r: &Request, ip: IpAddr) -> bool {
    let last = |v: &str| {
        v.rsplit(',')
            .next()
            .map(|s| s.trim().trim_matches('"').to_owned())
    };
    let matches = |s: &str| {
        let s = s.trim_start_matches('[');
        let s = s.split(']').next().unwrap_or(s);
        s.parse::<IpAddr>().is_ok_and(|a| a == ip)
    };
    if r.headers
        .get_str("x-forwarded-for")
        .and_then(|v| last(&v))
        .is_some_and(|s| matches(&s))
        || r.headers
            .get_str("x-real-ip")
            .is_some_and(|v| matches(v.trim()))
    {
        return true;
    }
    r.headers.get_str("forwarded").is_some_and(|v| {
        v.rsplit(',').next().is_some_and(|el| {
            el.split(';').any(|p| {
                p.trim()
                    .strip_prefix("for=")
                    .or_else(|| p.trim().strip_prefix("For="))
                    .is_some_and(|f| matches(f.trim_matches('"')))
            })
        })
    })
}

#[cfg(test)]
mod tests;
