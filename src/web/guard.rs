//! The middleware in front of every route: rate limit, basic auth, the request timeout and the
//! file's response headers. Every refusal is counted in
//! `corswatch_web_requests_refused_total{reason}` and logged at warn, at most once per reason
//! in [`LOG_EVERY`] (a scanner must not flood the log), with how many were not logged.

use super::{Credentials, Current, RateLimit};
use crate::metrics::{Metrics, Refusal};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most one warn line per refusal reason this often.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Paths served without credentials: liveness probes (Kubernetes) cannot always send them.
const OPEN_PATHS: [&str; 1] = ["/healthz"];

/// The peer of a connection, put into each request by the listener.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

#[derive(Debug)]
struct Bucket {
    settings: Option<RateLimit>,
    tokens: f64,
    last: Instant,
}

/// What the middleware shares: the config in force, the metrics, the limiter, the log limiter.
#[derive(Debug)]
pub struct Guard {
    current: Arc<Current>,
    metrics: Arc<Metrics>,
    request_timeout: Duration,
    bucket: Mutex<Bucket>,
    logged: Mutex<HashMap<Refusal, (Instant, u64)>>,
}

impl Guard {
    /// A guard applying `current`, counting into `metrics`.
    pub fn new(
        current: Arc<Current>,
        metrics: Arc<Metrics>,
        request_timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(Guard {
            current,
            metrics,
            request_timeout,
            bucket: Mutex::new(Bucket {
                settings: None,
                tokens: 0.0,
                last: Instant::now(),
            }),
            logged: Mutex::new(HashMap::new()),
        })
    }

    /// The config in force.
    pub fn current(&self) -> &Arc<Current> {
        &self.current
    }

    /// The metrics refusals go to.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Counts a refusal and logs it, rate-limited per reason.
    pub fn refuse(&self, reason: Refusal, peer: Option<SocketAddr>, detail: &str) {
        self.metrics.refused(reason);
        let mut logged = match self.logged.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        let entry = logged.entry(reason).or_insert((now - LOG_EVERY * 2, 0));
        if now.duration_since(entry.0) >= LOG_EVERY {
            let suppressed = entry.1;
            *entry = (now, 0);
            drop(logged);
            let peer = peer.map(|p| p.to_string()).unwrap_or_default();
            tracing::warn!(
                reason = reason.as_str(),
                peer,
                detail,
                suppressed,
                "web endpoint refused a request"
            );
        } else {
            entry.1 += 1;
        }
    }

    /// Takes a token; false when the bucket is empty.
    fn admit(&self, settings: Option<RateLimit>) -> bool {
        let Some(s) = settings else { return true };
        let mut b = match self.bucket.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        if b.settings != Some(s) {
            // New settings (first request, or a reload): a full bucket.
            *b = Bucket {
                settings: Some(s),
                tokens: f64::from(s.burst),
                last: now,
            };
        }
        let refill = now.duration_since(b.last).as_secs_f64() / s.interval.as_secs_f64();
        b.tokens = (b.tokens + refill).min(f64::from(s.burst));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// `router` behind the guard.
pub fn guard(router: Router, g: Arc<Guard>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(g, check))
}

async fn check(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let cfg = g.current.get();
    let peer = req.extensions().get::<Peer>().map(|p| p.0);
    let path = req.uri().path().to_string();
    let mut resp = if !g.admit(cfg.rate_limit) {
        g.refuse(Refusal::RateLimited, peer, &path);
        (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response()
    } else {
        // The bound covers the wait for a bcrypt slot too.
        let answer = async {
            let authorization = req.headers().get(header::AUTHORIZATION).cloned();
            if let Some(why) = denied(&cfg, &path, authorization).await {
                g.refuse(Refusal::Unauthorized, peer, &why);
                let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                r
            } else {
                next.run(req).await
            }
        };
        match tokio::time::timeout(g.request_timeout, answer).await {
            Ok(r) => r,
            Err(_) => {
                g.refuse(Refusal::Timeout, peer, &path);
                (StatusCode::SERVICE_UNAVAILABLE, "request timed out\n").into_response()
            }
        }
    };
    for (name, value) in &cfg.headers {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    resp
}

/// Why the request may not pass basic auth, or None.
async fn denied(
    cfg: &super::WebConfig,
    path: &str,
    authorization: Option<HeaderValue>,
) -> Option<String> {
    let users = cfg.users.as_ref()?;
    if OPEN_PATHS.contains(&path) {
        return None;
    }
    match Credentials::from_header(authorization.as_ref()) {
        Credentials::Given { user, password } => {
            if users.verify(user.clone(), password).await {
                None
            } else {
                let user: String = user.chars().take(64).collect();
                Some(format!("wrong password or unknown user {user:?}"))
            }
        }
        Credentials::Missing => Some("no credentials".to_string()),
        Credentials::Malformed => Some("malformed Basic credentials".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricsConfig;

    fn guard() -> Arc<Guard> {
        Guard::new(
            Arc::new(Current::new(super::super::WebConfig::default())),
            Arc::new(Metrics::new(&MetricsConfig::default())),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn the_bucket_admits_a_burst_then_one_per_interval() {
        let g = guard();
        assert!(g.admit(None), "no limit");
        let s = RateLimit {
            interval: Duration::from_millis(200),
            burst: 3,
        };
        assert_eq!((0..5).filter(|_| g.admit(Some(s))).count(), 3);
        std::thread::sleep(Duration::from_millis(250));
        assert!(g.admit(Some(s)), "a token back after an interval");
        assert!(!g.admit(Some(s)));
        let wider = RateLimit { burst: 5, ..s };
        assert_eq!(
            (0..6).filter(|_| g.admit(Some(wider))).count(),
            5,
            "new settings, full bucket"
        );
    }

    #[test]
    fn refusals_are_all_counted_but_logged_once_per_reason_and_period() {
        let g = guard();
        for _ in 0..5 {
            g.refuse(Refusal::Unauthorized, None, "no credentials");
        }
        g.refuse(Refusal::RateLimited, None, "/metrics");
        let logged = g.logged.lock().unwrap();
        assert_eq!(logged[&Refusal::Unauthorized].1, 4, "four held back");
        assert_eq!(logged[&Refusal::RateLimited].1, 0);
        drop(logged);
        let text = g.metrics.render_prometheus();
        assert!(
            text.contains("corswatch_web_requests_refused_total{reason=\"unauthorized\"} 5"),
            "{text}"
        );
    }
}
