//! The listener: at most `max_connections` at once (more are closed at once and counted), TLS
//! when the web config has it (the handshake bounded by the header timeout), HTTP/1.1 with a
//! header read timeout, connections closed gracefully at a maximum age (so that a client that
//! never reads cannot hold a slot for ever), and a graceful stop.

use super::guard::{Guard, Peer};
use crate::metrics::Refusal;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
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
    /// A connection's lifetime, after which it is closed between requests.
    pub max_connection_age: Duration,
    /// Time given to open connections to finish at a stop or at their maximum age.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            header_timeout: Duration::from_secs(10),
            max_connection_age: Duration::from_secs(300),
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
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        tower_service::Service::call(&mut app.clone(), req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let end = async {
        tokio::select! {
            () = tokio::time::sleep(limits.max_connection_age) => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
    };
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "web: connection ended");
            }
        }
        () = end => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(limits.grace, conn).await;
        }
    }
}
