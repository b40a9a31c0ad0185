//! The endpoints' own health (issue 13): `corswatch_web_requests_refused_total{reason}` and
//! `corswatch_web_connections` (open). Reasons are a closed set and start at zero, so that an
//! alert on `increase(...) > 0` has a series before the first refusal.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Why the endpoints turned a request or a connection away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Basic auth is configured and the credentials were missing or wrong (401).
    Unauthorized,
    /// The web config's `rate_limit` was exceeded (429).
    RateLimited,
    /// A request did not finish within the request timeout (503).
    Timeout,
    /// A connection over `--web.max-connections`, closed at once.
    ConnectionLimit,
    /// A TLS handshake failed or timed out (no or a bad client certificate among the causes).
    TlsHandshake,
}

impl Refusal {
    /// Every reason, as the label spells it.
    pub const ALL: [Refusal; 5] = [
        Refusal::Unauthorized,
        Refusal::RateLimited,
        Refusal::Timeout,
        Refusal::ConnectionLimit,
        Refusal::TlsHandshake,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Unauthorized => "unauthorized",
            Refusal::RateLimited => "rate_limited",
            Refusal::Timeout => "timeout",
            Refusal::ConnectionLimit => "connection_limit",
            Refusal::TlsHandshake => "tls_handshake",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// The endpoint families.
#[derive(Debug)]
pub(super) struct WebMetrics {
    refused: Family<ReasonLabels, Counter>,
    connections: Gauge,
}

impl WebMetrics {
    /// Registers the families; every reason starts at zero.
    pub(super) fn register(r: &mut Registry) -> Self {
        let m = WebMetrics {
            refused: Family::default(),
            connections: Gauge::default(),
        };
        r.register(
            "web_requests_refused",
            "Requests and connections the endpoints turned away, by reason: unauthorized, rate_limited, timeout, connection_limit, tls_handshake",
            m.refused.clone(),
        );
        r.register(
            "web_connections",
            "Connections open to the endpoints",
            m.connections.clone(),
        );
        for reason in Refusal::ALL {
            let _ = m.refused.get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            });
        }
        m
    }

    pub(super) fn refused(&self, reason: Refusal) {
        self.refused
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }

    pub(super) fn connections(&self, delta: i64) {
        self.connections.inc_by(delta);
    }
}
