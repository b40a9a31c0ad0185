//! What the rest of the traffic tells about an exchange: the redirect hop it follows, whether
//! the server echoes many origins. Bounded maps
//! only (oldest forgotten first), because every key here comes from the wire.

use crate::model::{Exchange, Timestamp};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;

const MAX_KEYS: usize = 10_000;
/// Distinct reflected origins remembered per server host.
const MAX_REFLECTED: usize = 16;
/// How long a redirect waits for its next hop.
const HOP_WINDOW_NS: i64 = 30_000_000_000;

/// A redirect waiting for its next hop.
#[derive(Debug)]
pub struct Hop {
    pub previous: Box<Exchange>,
    pub first_url: String,
    pub page_origin: Option<String>,
    deadline: Timestamp,
}

/// A map that forgets its oldest key past a cap.
#[derive(Debug)]
struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K, V> Default for BoundedMap<K, V> {
    fn default() -> Self {
        BoundedMap {
            map: HashMap::new(),
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
        if let (Some(origin), Some(acao)) =
            (ex.origin(), resp.headers.get("access-control-allow-origin"))
            && origin.as_bytes() == acao
            && origin != "null"
        {
            let set = self.reflected.map.get_mut(host);
            match set {
                Some(s) if s.len() < MAX_REFLECTED => {
                    s.insert(hash(&origin));
                }
                Some(_) => {}
                None => {
                    let mut s = HashSet::new();
                    s.insert(hash(&origin));
                    self.reflected.insert(host.to_string(), s);
                }
            }
        }
        if (300..400).contains(&resp.status)
            && let Some(loc) = resp.headers.get_str("location")
        {
            let next = resolve(&ex.request.url, loc.trim());
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
                    deadline: Timestamp(ex.time.0.saturating_add(HOP_WINDOW_NS)),
                },
            );
        }
    }
}

fn hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// `scheme://authority` of an absolute URL, or "" when it has none.
pub fn host_of(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]
        }
        None => "",
    }
}

/// The origin a client-side recording implies for a failed request whose headers lack
/// `Origin`, for the pairing key. Chromium's provisional request headers (all a HAR keeps for a
/// request that never got a response) do not include it: the network service adds it on the
/// wire. Taken from `Referer` or the page URL; `None` when that is the request's own origin.
/// (The classifier makes the finer call on such entries itself.)
pub fn recorded_origin(ex: &Exchange) -> Option<String> {
    if !matches!(ex.source.location, crate::model::Location::HarEntry(_))
        || ex.failure.is_none()
        || ex.request.headers.contains("origin")
    {
        return None;
    }
    let referer = ex.request.headers.get_str("referer");
    let page = referer
        .as_deref()
        .or(ex.hints.page_url.as_deref())
        .and_then(origin_of)?;
    (Some(&page) != origin_of(&ex.request.url).as_ref()).then_some(page)
}

/// The serialized origin of an http(s) URL: `scheme://host[:port]`, default port dropped.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = host_of(url);
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    if host_port.is_empty() {
        return None;
    }
    let default = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let host_port = host_port.to_ascii_lowercase();
    let host_port = host_port.strip_suffix(default).unwrap_or(&host_port);
    Some(format!("{scheme}://{host_port}"))
}

/// Resolves a `Location` against the request URL (absolute, scheme-relative, absolute-path
/// and relative forms).
pub fn resolve(base: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    if let Some(rest) = loc.strip_prefix("//") {
        return format!("{}{}", &base[..scheme_end], rest);
    }
    let authority_end = scheme_end + host_of(base).len();
    if loc.starts_with('/') {
        return format!("{}{}", &base[..authority_end], loc);
    }
    let path = &base[authority_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    format!("{}{}{}", &base[..authority_end], dir, loc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_locations() {
        let b = "https://a.example/x/y?q=1";
        assert_eq!(resolve(b, "https://b.example/z"), "https://b.example/z");
        assert_eq!(resolve(b, "//c.example/z"), "https://c.example/z");
        assert_eq!(resolve(b, "/z"), "https://a.example/z");
        assert_eq!(resolve(b, "z"), "https://a.example/x/z");
        assert_eq!(host_of(b), "a.example");
        assert_eq!(
            origin_of("HTTPS://A.example:443/p").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(
            origin_of("http://a.example:8080").as_deref(),
            Some("http://a.example:8080")
        );
    }
}
