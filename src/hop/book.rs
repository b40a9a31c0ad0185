//! The hop counts of a run, bounded: how many CORS requests were seen at two hops, judged from
//! an inner hop alone, or let go by the cap; and per route, which layer set each CORS header.

use super::facts::{CORS_HEADERS, HopFacts, Layer, Visible};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per header (in [`CORS_HEADERS`] order), per layer (in [`Layer::ALL`] order).
pub type LayerCounts = [[u64; 5]; 8];

/// Hop counts of a run (the aggregate's `hops`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HopBook {
    /// CORS requests seen at two hops or more, judged once at the browser-facing one.
    pub both_seen: u64,
    /// Inner-hop exchanges folded into them (not judged on their own).
    pub inner_hops: u64,
    /// CORS requests seen only at a proxy→app hop, judged as the browser's (`inferred`).
    pub inner_only: u64,
    /// Inner hops seen alone while the proxy is declared to set the CORS headers: the app's
    /// answer, not counted as the browser's.
    pub app_only: u64,
    /// Exchanges the hop stage let go past its cap before their other hop could be looked for.
    pub evicted: u64,
    /// Run-wide: which layer set each CORS header, over requests seen at two hops.
    pub layers: LayerCounts,
    /// The same per route template, for at most `cap` routes (the rest under `other`).
    pub routes: BTreeMap<String, LayerCounts>,
    cap: usize,
}

/// One row of the per-route layer table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRow {
    /// The route template (or `other`; `*` for the run-wide rows).
    pub route: String,
    /// The CORS header.
    pub header: String,
    /// `app`, `proxy`, `both`, `proxy_changed` or `proxy_removed`.
    pub set_by: String,
    /// Requests seen at two hops where it was so.
    pub count: u64,
}

impl HopBook {
    /// An empty book keeping at most `routes` routes apart.
    pub fn new(routes: usize) -> Self {
        HopBook {
            cap: routes,
            ..HopBook::default()
        }
    }

    /// Counts one judged CORS exchange's hop facts.
    pub fn record(&mut self, f: &HopFacts, route: &str) {
        match f.visible {
            Visible::Both => {
                self.both_seen += 1;
                self.inner_hops += f.inner.len() as u64;
            }
            Visible::InnerOnly if f.counted => self.inner_only += 1,
            Visible::InnerOnly => self.app_only += 1,
        }
        if f.layers.is_empty() {
            return;
        }
        let key = if self.routes.contains_key(route) || self.routes.len() < self.cap {
            route
        } else {
            "other"
        };
        let per_route = self.routes.entry(key.to_owned()).or_insert([[0; 5]; 8]);
        for l in &f.layers {
            let (Some(h), Some(i)) = (
                CORS_HEADERS.iter().position(|x| *x == l.header),
                Layer::ALL.iter().position(|x| *x == l.set_by),
            ) else {
                continue;
            };
            self.layers[h][i] += 1;
            per_route[h][i] += 1;
        }
    }

    /// The per-route rows, most frequent first (routes with the proxy writing first), at most
    /// `n` rows.
    pub fn rows(&self, n: usize) -> Vec<LayerRow> {
        let mut v = Vec::new();
        for (route, counts) in &self.routes {
            for (h, per) in counts.iter().enumerate() {
                for (i, &count) in per.iter().enumerate() {
                    if count > 0 {
                        v.push(LayerRow {
                            route: route.clone(),
                            header: CORS_HEADERS[h].to_owned(),
                            set_by: Layer::ALL[i].as_str().to_owned(),
                            count,
                        });
                    }
                }
            }
        }
        v.sort_by(|a, b| {
            (a.set_by == "app")
                .cmp(&(b.set_by == "app"))
                .then(b.count.cmp(&a.count))
                .then_with(|| a.route.cmp(&b.route))
                .then_with(|| header_rank(&a.header).cmp(&header_rank(&b.header)))
        });
        v.truncate(n);
        v
    }

    /// Whether anything hop-related was seen.
    pub fn is_empty(&self) -> bool {
        self.both_seen + self.inner_only + self.app_only + self.evicted == 0
    }
}

fn header_rank(h: &str) -> usize {
    CORS_HEADERS.iter().position(|x| *x == h).unwrap_or(99)
}
