//! Securing the endpoints (`watch --web.config.file`): TLS with the fixtures of tests/web
//! (make.sh), basic auth with bcrypt, client certificates, refusals counted in
//! `corswatch_web_requests_refused_total{reason}`, `--no-report-endpoint` and the connection
//! limit. A Rust TLS client (rustls, as the server) talks to a real `watch` process.

use crate::util::{corswatch, root};
use crate::watch::{Guard, free_port, get, metric, wait_for};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const REFUSED: &str = "corswatch_web_requests_refused_total";

fn fixture(name: &str) -> PathBuf {
    root().join("tests/web").join(name)
}

/// A web config in a temporary directory beside copies of the fixtures (relative paths, as a
/// deployment would write them). The password of user `prometheus` is `secret` (bcrypt cost 4:
/// a debug build's bcrypt is slow).
fn web_config(body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["server.pem", "server.key", "ca.pem"] {
        std::fs::copy(fixture(f), dir.path().join(f)).unwrap();
    }
    let hash = bcrypt::hash("secret", 4).unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        body.replace("HASH", &format!("'{hash}'")),
    )
    .unwrap();
    dir
}

fn start(port: u16, extra: &[&str]) -> Guard {
    crate::watch::start_replay(&root().join("captures/chromium-loopback.pcap"), port, extra)
}

struct Client {
    config: Arc<rustls::ClientConfig>,
}

impl Client {
    /// Trusts the test CA; presents `cert` (a fixture name without extension) when given.
    fn new(cert: Option<&str>) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(fixture("ca.pem")).unwrap())
            .unwrap();
        let b = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let config = match cert {
            None => b.with_no_client_auth(),
            Some(name) => b
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_file(fixture(&format!("{name}.pem"))).unwrap()],
                    PrivateKeyDer::from_pem_file(fixture(&format!("{name}.key"))).unwrap(),
                )
                .unwrap(),
        };
        Client {
            config: Arc::new(config),
        }
    }

    /// GET over TLS: (status, head, body), or the I/O or TLS error as text.
    fn get(
        &self,
        port: u16,
        path: &str,
        auth: Option<(&str, &str)>,
    ) -> Result<(u16, String, String), String> {
        use base64::Engine as _;
        let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = rustls::ClientConnection::new(
            self.config.clone(),
            ServerName::try_from("localhost").unwrap(),
        )
        .map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let authorization = auth
            .map(|(u, p)| {
                format!(
                    "Authorization: Basic {}\r\n",
                    base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
                )
            })
            .unwrap_or_default();
        write!(
            tls,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n{authorization}Connection: close\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        match tls.read_to_end(&mut buf) {
            Ok(_) => {}
            // The server closes without close_notify after a `Connection: close` answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => {}
            Err(e) => return Err(e.to_string()),
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or(format!("no head: {text:?}"))?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(format!("no status: {head}"))?;
        Ok((status, head.to_string(), body.to_string()))
    }
}

fn ready(client: &Client, port: u16) {
    assert!(
        wait_for(Duration::from_secs(30), || client
            .get(port, "/healthz", None)
            .is_ok()),
        "watch did not serve TLS on {port}"
    );
}

#[test]
fn tls_and_basic_auth_guard_every_endpoint_but_healthz() {
    let dir = web_config(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n\
         http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n\
         basic_auth_users:\n  prometheus: HASH\n",
    );
    let port = free_port();
    let cfg = dir.path().join("web.yml");
    let _w = start(port, &["--web.config.file", cfg.to_str().unwrap()]);
    let c = Client::new(None);
    ready(&c, port);

    // Liveness probes need no credentials (503 once the replay has ended).
    let (status, head, _) = c.get(port, "/healthz", None).unwrap();
    assert!(status == 200 || status == 503, "{status}");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-content-type-options: nosniff"),
        "{head}"
    );

    for path in ["/metrics", "/report", "/"] {
        let (status, head, _) = c.get(port, path, None).unwrap();
        assert_eq!(status, 401, "{path} without credentials");
        assert!(head.contains("www-authenticate: Basic"), "{head}");
        let (status, _, _) = c.get(port, path, Some(("prometheus", "wrong"))).unwrap();
        assert_eq!(status, 401, "{path} with a wrong password");
    }
    let (status, _, _) = c.get(port, "/metrics", Some(("nobody", "secret"))).unwrap();
    assert_eq!(status, 401, "unknown user");

    // Plain HTTP to the TLS port: no answer, a failed handshake. A connection closed without a
    // word (a TCP health check) is not counted.
    assert_eq!(get(port, "/healthz"), None);
    drop(TcpStream::connect(("127.0.0.1", port)).unwrap());

    let (status, _, report) = c
        .get(port, "/report", Some(("prometheus", "secret")))
        .unwrap();
    assert_eq!(status, 200);
    assert!(report.trim_start().starts_with('{'), "{report}");
    // Twice: the second is answered from the cache of verified credentials.
    for _ in 0..2 {
        let (status, _, text) = c
            .get(port, "/metrics", Some(("prometheus", "secret")))
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            metric(&text, REFUSED, &["reason=\"unauthorized\""]),
            7.0,
            "{text}"
        );
        assert_eq!(metric(&text, REFUSED, &["reason=\"tls_handshake\""]), 1.0);
        assert_eq!(
            metric(&text, REFUSED, &["reason=\"connection_limit\""]),
            0.0
        );
        assert!(metric(&text, "corswatch_web_connections", &[]) >= 1.0);
    }
}

#[test]
fn client_certificates_are_verified_when_required() {
    let dir = web_config(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  min_version: TLS13\n",
    );
    let port = free_port();
    let cfg = dir.path().join("web.yml");
    let _w = start(port, &["--web.config.file", cfg.to_str().unwrap()]);
    let good = Client::new(Some("client"));
    ready(&good, port);
    // Refused in the handshake (the client sees an alert or a closed connection; the server's
    // count below says why).
    assert!(Client::new(None).get(port, "/metrics", None).is_err());
    assert!(
        Client::new(Some("rogue"))
            .get(port, "/metrics", None)
            .is_err()
    );
    let (status, _, text) = good.get(port, "/metrics", None).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        metric(&text, REFUSED, &["reason=\"tls_handshake\""]),
        2.0,
        "{text}"
    );
}

#[test]
fn the_report_endpoint_can_be_turned_off() {
    let port = free_port();
    let _w = start(port, &["--no-report-endpoint"]);
    assert!(wait_for(Duration::from_secs(30), || get(port, "/healthz").is_some()));
    assert_eq!(get(port, "/report").map(|r| r.0), Some(404));
    assert_eq!(get(port, "/metrics").map(|r| r.0), Some(200));
    let (_, index) = get(port, "/").unwrap();
    assert!(!index.contains("/report"), "{index}");
}

#[test]
fn connections_over_the_limit_are_closed_and_counted() {
    let port = free_port();
    let _w = start(port, &["--web.max-connections", "2"]);
    assert!(wait_for(Duration::from_secs(30), || get(port, "/healthz").is_some()));
    // Two idle connections hold both slots (well within the 10 s header timeout).
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = third.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = Vec::new();
    let _ = third.read_to_end(&mut buf);
    assert!(
        buf.is_empty(),
        "answered over the limit: {:?}",
        String::from_utf8_lossy(&buf)
    );
    drop(held);
    let mut text = String::new();
    assert!(wait_for(Duration::from_secs(5), || {
        get(port, "/metrics").is_some_and(|(_, t)| {
            text = t;
            true
        })
    }));
    // At least the third; a first try of the scrape may meet the slots not yet given back.
    assert!(
        metric(&text, REFUSED, &["reason=\"connection_limit\""]) >= 1.0,
        "{text}"
    );
}

#[test]
fn a_bad_web_config_stops_watch_before_it_starts() {
    let dir = web_config("tls_server_config:\n  cert_file: server.pem\n  key_file: missing.key\n");
    let cfg = dir.path().join("web.yml");
    let out = corswatch()
        .args(["watch", "--listen", "127.0.0.1:0", "--replay"])
        .arg(root().join("captures/chromium-loopback.pcap"))
        .args(["--web.config.file", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&cfg.display().to_string()) && err.contains("tls_server_config.key_file"),
        "{err}"
    );
}
