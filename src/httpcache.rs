//! What the browser's HTTP cache may hold, as a client recording (HAR) shows it: the last
//! cacheable response per URL. A later request to the same URL that failed with no response
//! recorded may have been answered from it; if that response's `Access-Control-Allow-Origin`
//! does not allow the later request's origin and it does not vary on `Origin`, the browser
//! blocked a stale answer (`acao_stale_cache`, judged by the classifier from
//! [`crate::cors::Context::cached_response`]).
//!
//! Bounded: at most [`MAX_URLS`] URLs, the oldest forgotten first. Packet captures need none
//! of it (a request answered from the cache never reaches the wire; the risk is reported where
//! the response is seen, as `sec_missing_vary_origin`).

use crate::model::{Exchange, Headers, Location};
use std::collections::{HashMap, VecDeque};

/// URLs remembered at most.
pub const MAX_URLS: usize = 10_000;

/// The last cacheable response per URL of a client recording.
#[derive(Debug, Default)]
pub struct HttpCache {
    entries: HashMap<String, Box<Exchange>>,
    order: VecDeque<String>,
}

impl HttpCache {
    /// The response the browser may have answered `ex` with from its cache: `ex` is a failed
    /// recording entry without a response, a `GET` or `HEAD`; the cached response is still
    /// fresh at `ex`'s start.
    pub fn for_failed(&self, ex: &Exchange) -> Option<&Exchange> {
        if self.entries.is_empty()
            || ex.failure.is_none()
            || ex.response.as_ref().is_some_and(|r| !r.headers.is_empty())
            || !is_get_or_head(&ex.request.method)
        {
            return None;
        }
        let earlier = self.entries.get(key(&ex.request.url))?;
        let resp = earlier.response.as_ref()?;
        let age_ns = ex.time.since(earlier.time);
        let fresh_ns = max_age(&resp.headers)?.saturating_mul(1_000_000_000);
        (age_ns >= 0 && (age_ns as u64) < fresh_ns).then_some(&**earlier)
    }

    /// Learns from a recording entry: a cacheable answer is remembered for its URL; any other
    /// answer to the URL replaces what the cache held (the browser stores or drops it).
    pub fn observe(&mut self, ex: &Exchange) {
        if !matches!(ex.source.location, Location::HarEntry(_))
            || !is_get_or_head(&ex.request.method)
        {
            return;
        }
        let Some(resp) = ex.response.as_ref().filter(|r| !r.headers.is_empty()) else {
            return;
        };
        let k = key(&ex.request.url);
        if !cacheable(resp.status, &resp.headers) {
            self.entries.remove(k);
            return;
        }
        let mut stored = Box::new(ex.clone());
        // Only the response's headers matter; the request's are dropped to save memory.
        stored.request.headers = Default::default();
        if self.entries.insert(k.to_owned(), stored).is_none() {
            self.order.push_back(k.to_owned());
            while self.order.len() > MAX_URLS {
                if let Some(old) = self.order.pop_front() {
                    self.entries.remove(&old);
                }
            }
        }
    }
}

fn key(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
}

fn is_get_or_head(m: &str) -> bool {
    m == "GET" || m == "HEAD"
}

/// Storable and reusable for another request of another origin without revalidation: an
/// explicit freshness lifetime, no `no-store`/`no-cache`, and no `Vary` on `Origin`, `*` or
/// the fetch metadata (which differs between a no-cors and a CORS request).
fn cacheable(status: u16, h: &Headers) -> bool {
    matches!(
        status,
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    ) && max_age(h).is_some_and(|a| a > 0)
        && !list_has(h, "cache-control", |e| {
            e.eq_ignore_ascii_case("no-store") || e.eq_ignore_ascii_case("no-cache")
        })
        && !list_has(h, "vary", |e| {
            e.eq_ignore_ascii_case("origin")
                || e == "*"
                || e.to_ascii_lowercase().starts_with("sec-fetch-")
        })
}

/// The elements of a comma-separated header, over all its lines, trimmed.
fn list_has(h: &Headers, name: &str, pred: impl Fn(&str) -> bool) -> bool {
    h.get_all(name).any(|v| {
        String::from_utf8_lossy(v)
            .split(',')
            .any(|e| pred(e.trim()))
    })
}

/// `Cache-Control: max-age=N` in seconds (the browser's private cache ignores `s-maxage`).
fn max_age(h: &Headers) -> Option<u64> {
    h.get_all("cache-control").find_map(|v| {
        String::from_utf8_lossy(v).split(',').find_map(|d| {
            let (k, val) = d.trim().split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| val.trim().trim_matches('"').parse().ok())?
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientFailure, Request, Response, SourceRef, Timestamp};
    use std::sync::Arc;

    fn entry(i: u64, t: i64, resp: Option<&[(&str, &str)]>) -> Exchange {
        Exchange {
            source: SourceRef {
                input: Arc::from("s.har"),
                location: Location::HarEntry(i),
            },
            time: Timestamp::from_secs(t),
            client: None,
            server: None,
            connection: None,
            request: Request {
                method: "GET".into(),
                url: "https://api.example/c#x".into(),
                http_version: "HTTP/1.1".into(),
                headers: Headers::new(),
            },
            response: Some(Response {
                status: if resp.is_some() { 200 } else { 0 },
                headers: resp.unwrap_or(&[]).iter().copied().collect(),
            }),
            failure: resp.is_none().then(|| ClientFailure {
                error_text: Some("net::ERR_FAILED".into()),
                status_field: 0,
            }),
            hints: Default::default(),
        }
    }

    #[test]
    fn fresh_cacheable_answer_serves_a_later_failed_request() {
        let mut c = HttpCache::default();
        c.observe(&entry(
            0,
            0,
            Some(&[("Cache-Control", "public, max-age=600")]),
        ));
        assert_eq!(
            c.for_failed(&entry(1, 10, None)).map(|e| e.source.index()),
            Some(0)
        );
        // Expired, or not failed.
        assert!(c.for_failed(&entry(1, 601, None)).is_none());
        assert!(c.for_failed(&entry(1, 10, Some(&[]))).is_none());
    }

    #[test]
    fn uncacheable_or_varying_answers_are_not_kept() {
        for h in [
            [("Cache-Control", "no-store, max-age=600"), ("X", "y")],
            [
                ("Cache-Control", "max-age=600"),
                ("Vary", "Accept-Encoding, Origin"),
            ],
            [("Cache-Control", "max-age=600"), ("Vary", "Sec-Fetch-Mode")],
            [("Cache-Control", "max-age=0"), ("X", "y")],
        ] {
            let mut c = HttpCache::default();
            c.observe(&entry(0, 0, Some(&h)));
            assert!(c.for_failed(&entry(1, 1, None)).is_none(), "{h:?}");
        }
        // A later uncacheable answer replaces the cached one.
        let mut c = HttpCache::default();
        c.observe(&entry(0, 0, Some(&[("Cache-Control", "max-age=600")])));
        c.observe(&entry(1, 1, Some(&[("Cache-Control", "no-store")])));
        assert!(c.for_failed(&entry(2, 2, None)).is_none());
    }
}
