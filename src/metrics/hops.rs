//! The hop, layer and stack metrics (issue 9), brought up to the aggregate's cumulative books
//! like the exchange counter: `corswatch_hops_total{outcome}`,
//! `corswatch_cors_header_layers_total{header, layer}` and `corswatch_stack_info{stack, role}`.
//! Every label set is closed (outcomes, the CORS headers, the layers, the eight stacks and three
//! roles).

use crate::hop::facts::{CORS_HEADERS, Layer};
use crate::hop::{HopBook, book::LayerCounts};
use crate::stack::StackTally;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Mutex;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LayerLabels {
    header: &'static str,
    layer: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StackLabels {
    stack: String,
    role: String,
}

/// Hop outcomes, as `corswatch_hops_total{outcome}` spells them.
pub const OUTCOMES: [&str; 4] = ["both_seen", "inner_only", "app_only", "evicted"];

#[derive(Debug, Default)]
struct Last {
    outcomes: [u64; 4],
    layers: LayerCounts,
}

/// The hop, layer and stack families. Outcomes and (header, layer) are closed sets and start at
/// zero; a stack's series appears once it is seen.
#[derive(Debug)]
pub(super) struct HopMetrics {
    hops: Family<OutcomeLabels, Counter>,
    layers: Family<LayerLabels, Counter>,
    stacks: Family<StackLabels, Gauge>,
    last: Mutex<Last>,
}

impl HopMetrics {
    /// Registers the families; the hop outcomes start at zero.
    pub(super) fn register(r: &mut Registry) -> Self {
        let m = HopMetrics {
            hops: Family::default(),
            layers: Family::default(),
            stacks: Family::default(),
            last: Mutex::new(Last::default()),
        };
        r.register(
            "hops",
            "CORS requests by what was seen of their hops: both_seen (browser->proxy and proxy->app, judged once), inner_only (only proxy->app, judged as the browser's), app_only (only proxy->app with --proxy-sets-cors, not counted), evicted (let go by the hop table's cap)",
            m.hops.clone(),
        );
        r.register(
            "cors_header_layers",
            "Requests seen at two hops, by CORS response header and the layer that set it (app, proxy, both, proxy_changed, proxy_removed)",
            m.layers.clone(),
        );
        r.register(
            "stack_info",
            "Server stacks the traffic shows (1 once seen), by stack and role (server, proxy, app)",
            m.stacks.clone(),
        );
        for outcome in OUTCOMES {
            let _ = m.hops.get_or_create(&OutcomeLabels { outcome });
        }
        for header in CORS_HEADERS {
            for layer in Layer::ALL {
                let _ = m.layers.get_or_create(&LayerLabels {
                    header,
                    layer: layer.as_str(),
                });
            }
        }
        m
    }

    /// Brings the families up to the run's cumulative books.
    pub(super) fn update(&self, h: &HopBook, stacks: &StackTally) {
        let mut last = match self.last.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        let now = [h.both_seen, h.inner_only, h.app_only, h.evicted];
        for (i, outcome) in OUTCOMES.into_iter().enumerate() {
            let d = now[i].saturating_sub(last.outcomes[i]);
            if d > 0 {
                self.hops
                    .get_or_create(&OutcomeLabels { outcome })
                    .inc_by(d);
            }
            last.outcomes[i] = last.outcomes[i].max(now[i]);
        }
        for (hi, header) in CORS_HEADERS.into_iter().enumerate() {
            for (li, layer) in Layer::ALL.into_iter().enumerate() {
                let (n, before) = (h.layers[hi][li], last.layers[hi][li]);
                if n > before {
                    self.layers
                        .get_or_create(&LayerLabels {
                            header,
                            layer: layer.as_str(),
                        })
                        .inc_by(n - before);
                    last.layers[hi][li] = n;
                }
            }
        }
        for row in stacks.rows() {
            self.stacks
                .get_or_create(&StackLabels {
                    stack: row.stack,
                    role: row.role,
                })
                .set(1);
        }
    }
}
