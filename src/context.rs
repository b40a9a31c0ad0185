//! What the rest of the traffic tells about an exchange: the redirect hop it follows, whether
//! the server echoes many origins. Bounded maps
//! only (oldest forgotten first), because every key here comes from the wire.

use crate::model::{Exchange, Timestamp};
use crate::url::{host_of, origin_of, resolve};
use foldhash::fast::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher as _;
use std::net::IpAddr;

const MAX_KEYS: usize = 10_000;
/// Distinct reflected origins remembered per server host.
const MAX_REFLECTED: usize = 16;
/// How long a redirect waits for its next hop.
const HOP_WINDOW_NS: i64 = 30_000_000_000;

/// A redirect waiting for its next hop.
#[derive(Debug)]
pub struct Hop {
    /// The redirecting exchange.
    pub previous: Box<Exchange>,
    /// The URL the redirect chain started at.
    pub first_url: String,
    /// The origin of the page that started the chain, when known.
    pub page_origin: Option<String>,
    /// Redirects followed up to and including this one (1 for the first).
    pub redirects: u32,
    deadline: Timestamp,
}

/// A map that forgets its oldest key past a cap.
#[derive(Debug)]
struct BoundedMap<K, V> {
    map: HashMap<K, V, RandomState>,
    order: VecDeque<K>,
}

impl<K, V> Default for BoundedMap<K, V> {
    fn default() -> Self {
        BoundedMap {
            map: HashMap::default(),
            order: VecDeque::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V> BoundedMap<K, V> {
    fn insert(&mut self, k: K, v: V) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back(k);
            if self.order.len() > MAX_KEYS
                && let Some(old) = self.order.pop_front()
            {
                self.map.remove(&old);
            }
        }
    }
}

/// What the traffic so far tells about later exchanges: redirects waiting for their next hop, origins each server echoed.
#[derive(Debug, Default)]
pub struct Observations {
    hops: BoundedMap<(Option<IpAddr>, String), Hop>,
    reflected: BoundedMap<String, HashSet<u64>>,
}

impl Observations {
    /// The redirect this exchange follows, if one was seen (consumed: a hop is used once).
    pub fn take_hop(&mut self, ex: &Exchange) -> Option<Hop> {
        // Most traffic has no redirect waiting: skip building the key.
        if self.hops.map.is_empty() {
            return None;
        }
        let key = (ex.client.map(|c| c.ip()), ex.request.url.clone());
        let hop = self.hops.map.remove(&key)?;
        (ex.time <= hop.deadline).then_some(hop)
    }

    /// Distinct origins this exchange's host has echoed in ACAO.
    pub fn reflected_origins(&self, ex: &Exchange) -> u32 {
        self.reflected
            .map
            .get(host_of(&ex.request.url))
            .map_or(0, |s| s.len() as u32)
    }

    /// Learns from an exchange after it was classified.
    pub fn observe(&mut self, ex: &Exchange, hop: Option<&Hop>) {
        let client = ex.client.map(|c| c.ip());
        let host = host_of(&ex.request.url);
        let Some(resp) = &ex.response else { return };
        // Compared as bytes first, the text (for the hash) only for an echo; a non-UTF-8 value
        // is no echo (as text it no longer matches the bytes).
        if let (Some(o), Some(acao)) = (
            ex.request.headers.get("origin"),
            resp.headers.get("access-control-allow-origin"),
        ) && o == acao
            && o != b"null"
            && let Ok(origin) = std::str::from_utf8(o)
        {
            let set = self.reflected.map.get_mut(host);
            match set {
                Some(s) if s.len() < MAX_REFLECTED => {
                    s.insert(hash(origin));
                }
                Some(_) => {}
                None => {
                    let mut s = HashSet::new();
                    s.insert(hash(origin));
                    self.reflected.insert(host.to_string(), s);
                }
            }
        }
        if (300..400).contains(&resp.status)
            && let Some(loc) = resp.headers.get_str("location")
        {
            let next = resolve(&ex.request.url, loc.trim());
            let redirects = hop.map_or(1, |h| h.redirects.saturating_add(1));
            let (first_url, page_origin) = match hop {
                Some(h) => (h.first_url.clone(), h.page_origin.clone()),
                None => (
                    ex.request.url.clone(),
                    ex.origin()
                        .filter(|o| o != "null")
                        .map(|o| o.into_owned())
                        .or_else(|| ex.hints.page_url.as_deref().and_then(origin_of)),
                ),
            };
            self.hops.insert(
                (client, next),
                Hop {
                    previous: Box::new(ex.clone()),
                    first_url,
                    page_origin,
                    redirects,
                    deadline: Timestamp(ex.time.0.saturating_add(HOP_WINDOW_NS)),
                },
            );
        }
    }
}

fn hash(s: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(s)
}
