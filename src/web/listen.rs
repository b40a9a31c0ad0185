//! The listener: at most `max_connections` at once (more are closed at once and counted), TLS
//! when the web config has it (the handshake bounded by the header timeout), HTTP/1.1 with a
//! header read timeout, connections closed gracefully at a maximum age (so that a client that
//! never reads cannot hold a slot for ever), and a graceful stop. Past its age a connection's
//! next response says `Connection: close`, so a keep-alive client (Prometheus) does not reuse
//! a connection the agent is closing.

use super::guard::{Guard, Peer};
use crate::metrics::Refusal;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, watch};

/// The listener's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; more are closed on accept.
    pub max_connections: usize,
    /// Time for a TLS handshake, and for a request's headers to arrive.
    pub header_timeout: Duration,
    /// A connection's lifetime, after which its next response says `Connection: close`.
    pub max_connection_age: Duration,
    /// How long an aged connection may stay idle waiting for that next request before it is
    /// closed anyway.
    pub last_call: Duration,
    /// Time given to open connections to finish at a stop or at their maximum age.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            header_timeout: Duration::from_secs(10),
            max_connection_age: Duration::from_secs(300),
            last_call: Duration::from_secs(120),
            grace: Duration::from_secs(5),
        }
    }
}

/// Serves `app` (already behind [`super::guard`]) on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    guard: Arc<Guard>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "web: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            guard.refuse(Refusal::ConnectionLimit, Some(peer), "too many connections");
            drop(tcp);
            continue;
        };
        let (app, guard, stopped) = (app.clone(), guard.clone(), stopped.clone());
        tokio::spawn(async move {
            guard.metrics().web_connections(1);
            connection(tcp, peer, app, &guard, limits, stopped).await;
            guard.metrics().web_connections(-1);
            drop(slot);
        });
    }
    let _ = stop.send(true);
    // Every slot back means every connection ended.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.grace * 2, slots.acquire_many(all)).await;
    Ok(())
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    guard: &Guard,
    limits: Limits,
    stopped: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let tls = guard.current().get().tls.clone();
    match tls {
        None => http(tcp, peer, app, limits, stopped).await,
        Some(cfg) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
            match tokio::time::timeout(limits.header_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => http(stream, peer, app, limits, stopped).await,
                // Closed before or during the hello without a word: a TCP health check or a
                // port scan, not a client turned away.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    tracing::debug!(%peer, "web: connection closed in the TLS handshake");
                }
                Ok(Err(e)) => guard.refuse(Refusal::TlsHandshake, Some(peer), &e.to_string()),
                Err(_) => guard.refuse(Refusal::TlsHandshake, Some(peer), "handshake timed out"),
            }
        }
    }
}

async fn http<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let aged = Arc::new(AtomicBool::new(false));
    let closing = aged.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        let answer = tower_service::Service::call(&mut app.clone(), req);
        let closing = closing.clone();
        async move {
            let mut resp = answer.await?;
            if closing.load(Ordering::Relaxed) {
                resp.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
            }
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let ended = |r: Result<(), hyper::Error>| {
        if let Err(e) = r {
            tracing::debug!(%peer, error = %e, "web: connection ended");
        }
    };
    let old = tokio::select! {
        r = conn.as_mut() => return ended(r),
        () = tokio::time::sleep(limits.max_connection_age) => true,
        _ = stopped.wait_for(|s| *s) => false,
    };
    if old {
        // The next response closes it; a client that sends nothing more is closed below.
        aged.store(true, Ordering::Relaxed);
        tokio::select! {
            r = conn.as_mut() => return ended(r),
            () = tokio::time::sleep(limits.last_call) => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(limits.grace, conn).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, MetricsConfig};
    use std::io::{Read, Write};

    /// Reads one response with a `Content-Length` body; its head in lowercase.
    fn response(s: &mut std::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut b = [0u8; 1024];
        loop {
            let n = s.read(&mut b).unwrap();
            assert!(n > 0, "closed before a response: {buf:?}");
            buf.extend_from_slice(&b[..n]);
            let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
            if let Some(end) = text.find("\r\n\r\n")
                && let Some(len) = text[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                && buf.len() >= end + 4 + len.trim().parse::<usize>().unwrap()
            {
                return text[..end].to_string();
            }
        }
    }

    #[test]
    fn an_aged_connection_announces_its_close() {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                let guard = Guard::new(
                    Arc::new(super::super::Current::new(
                        super::super::WebConfig::default(),
                    )),
                    Arc::new(Metrics::new(&MetricsConfig::default())),
                    Duration::from_secs(5),
                );
                let app = Router::new().route("/x", axum::routing::get(|| async { "ok" }));
                let limits = Limits {
                    max_connection_age: Duration::from_millis(300),
                    last_call: Duration::from_secs(30),
                    ..Limits::default()
                };
                serve(listener, app, guard, limits, async {
                    let _ = stopped.await;
                })
                .await
            })
        });
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let req = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
        c.write_all(req).unwrap();
        let first = response(&mut c);
        assert!(!first.contains("connection: close"), "{first}");
        // Past its age, idle: kept until the next request, whose answer says it closes.
        std::thread::sleep(Duration::from_millis(500));
        c.write_all(req).unwrap();
        let second = response(&mut c);
        assert!(second.contains("connection: close"), "{second}");
        let mut rest = Vec::new();
        assert_eq!(
            c.read_to_end(&mut rest).unwrap(),
            0,
            "closed after that response"
        );
        let _ = stop.send(());
        server.join().unwrap().unwrap();
    }
}
