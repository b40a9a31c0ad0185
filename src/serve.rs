//! The read-only HTTP endpoints of `watch`: `/metrics`, `/report` (unless turned off),
//! `/healthz`. Nothing can be changed through them. TLS, auth and limits are `web`'s.

use crate::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// State shared between the processing thread and the endpoints.
pub struct Shared {
    /// The Prometheus registry (shared with the endpoints' guard, which counts refusals).
    pub metrics: Arc<Metrics>,
    /// The JSON report so far, re-rendered by the processing thread; every answer shares it
    /// (no copy per request: twenty scrapers made the resident memory swing by a fifth).
    pub report: Mutex<Bytes>,
    /// False once the capture failed or stopped on an error.
    pub capturing: AtomicBool,
    /// Packets or exchanges seen so far (for /healthz).
    pub seen: AtomicU64,
}

impl Shared {
    /// State with an empty report.
    pub fn new(metrics: Metrics) -> Self {
        Shared {
            metrics: Arc::new(metrics),
            report: Mutex::new(Bytes::from_static(b"{}\n")),
            capturing: AtomicBool::new(true),
            seen: AtomicU64::new(0),
        }
    }

    /// Replaces the report `/report` serves.
    pub fn set_report(&self, json: String) {
        let mut r = match self.report.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        *r = Bytes::from(json);
    }

    /// The report `/report` serves.
    pub fn report(&self) -> Bytes {
        match self.report.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// The routes: `/metrics`, `/report` (when `report`), `/healthz`.
pub fn router(shared: Arc<Shared>, report: bool) -> Router {
    let r = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz));
    let r = if report {
        r.route("/report", get(self::report)).route("/", get(index))
    } else {
        r.route("/", get(index_without_report))
    };
    r.with_state(shared)
}

async fn metrics(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    let (body, ct) = if wants_openmetrics {
        (s.metrics.render_openmetrics(), OPENMETRICS_CONTENT_TYPE)
    } else {
        (s.metrics.render_prometheus(), PROMETHEUS_CONTENT_TYPE)
    };
    ([(header::CONTENT_TYPE, ct)], body).into_response()
}

async fn report(State(s): State<Arc<Shared>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], s.report()).into_response()
}

async fn healthz(State(s): State<Arc<Shared>>) -> Response {
    let seen = s.seen.load(Ordering::Relaxed);
    if s.capturing.load(Ordering::Relaxed) {
        (StatusCode::OK, format!("ok: capturing, {seen} seen\n")).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not capturing ({seen} seen)\n"),
        )
            .into_response()
    }
}

async fn index() -> &'static str {
    "corswatch: /metrics (Prometheus), /report (JSON report so far), /healthz\n"
}

async fn index_without_report() -> &'static str {
    "corswatch: /metrics (Prometheus), /healthz\n"
}
