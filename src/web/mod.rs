//! Securing the endpoints of `watch` (`--web.config.file`): the Prometheus exporter-toolkit web
//! configuration (YAML: `tls_server_config`, `http_server_config`, `basic_auth_users`,
//! `rate_limit`), TLS termination with rustls, basic auth with bcrypt, and a listener with a
//! connection limit and timeouts. The file format is the toolkit's so that one file serves
//! every exporter on a host, and the Prometheus docs on it apply.
//!
//! Paths in the file are relative to the file's directory, as in the toolkit. Unknown keys are
//! errors; every error names the file and the field (and the line, where the YAML parser has
//! it). The file is read at start and again on SIGHUP (a bad file is logged and the old one
//! kept), not on every request as the toolkit does.

mod auth;
mod guard;
mod listen;
mod tls;

pub use auth::{Credentials, Users};
pub use guard::{Guard, LOG_EVERY, Peer, guard};
pub use listen::{Limits, serve};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Why a web config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file cannot be read.
    #[error("cannot read the web config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not YAML, or not of the format: the message names the field and the line.
    #[error("web config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML parser's message.
        message: String,
    },
    /// A field's value cannot be used.
    #[error("web config file {path}: {field}: {message}")]
    Field {
        /// The file.
        path: PathBuf,
        /// The field, dotted (`tls_server_config.cert_file`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The file as written (field names and meanings of exporter-toolkit's docs/web-configuration.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    tls_server_config: Option<TlsServerConfig>,
    http_server_config: Option<HttpServerConfig>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RateLimitFormat>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsServerConfig {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_auth_type: Option<ClientAuth>,
    client_ca_file: Option<PathBuf>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<TlsVersion>,
    max_version: Option<TlsVersion>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

/// Go's `tls.ClientAuthType`, by the names the toolkit accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum ClientAuth {
    /// No certificate asked for.
    #[default]
    NoClientCert,
    /// Asked for, not required, not verified.
    RequestClientCert,
    /// Required, not verified.
    #[serde(alias = "RequireClientCert")]
    RequireAnyClientCert,
    /// Verified against the client CA when given.
    VerifyClientCertIfGiven,
    /// Required and verified against the client CA.
    RequireAndVerifyClientCert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
enum TlsVersion {
    TLS10,
    TLS11,
    TLS12,
    TLS13,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpServerConfig {
    /// HTTP/2 is not served (HTTP/1.1 only): accepted so that shared files load.
    #[allow(dead_code)]
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFormat {
    interval: String,
    burst: u32,
}

/// The headers the toolkit lets a file set, and the values it allows (None: any).
const SETTABLE_HEADERS: [(&str, Option<&[&str]>); 5] = [
    ("Content-Security-Policy", None),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-XSS-Protection", None),
    ("Strict-Transport-Security", None),
];

/// A token bucket's settings: one request every `interval`, bursts of `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Time between two requests.
    pub interval: Duration,
    /// Requests allowed at once.
    pub burst: u32,
}

/// A loaded web config: what the listener and the guard apply.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// TLS, when `tls_server_config` names a certificate.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The client certificate policy (for the start line).
    pub client_auth: ClientAuth,
    /// Basic-auth users, when any.
    pub users: Option<Arc<Users>>,
    /// Headers added to every response.
    pub headers: Vec<(axum::http::HeaderName, axum::http::HeaderValue)>,
    /// Requests over this are answered 429.
    pub rate_limit: Option<RateLimit>,
}

impl WebConfig {
    /// Reads and checks `path`, and the certificate and key files it names.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, path, dir)
    }

    /// Checks `text` as the file `path`, with relative paths taken from `dir`.
    pub fn parse(text: &str, path: &Path, dir: &Path) -> Result<WebConfig, WebConfigError> {
        // An empty file (or one of comments) is the toolkit's "no TLS, no auth".
        let file: Option<FileFormat> =
            serde_yaml_ng::from_str(text).map_err(|e| WebConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let file = file.unwrap_or_default();
        let field = |field: &str, message: String| WebConfigError::Field {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        let mut cfg = WebConfig {
            path: path.to_path_buf(),
            ..WebConfig::default()
        };
        if let Some(t) = &file.tls_server_config {
            cfg.client_auth = t.client_auth_type.unwrap_or_default();
            cfg.tls = tls::server_config(t, dir, &field)?;
        }
        if let Some(users) = file.basic_auth_users.filter(|u| !u.is_empty()) {
            cfg.users =
                Some(Arc::new(Users::new(users).map_err(|(user, e)| {
                    field(&format!("basic_auth_users.{user}"), e)
                })?));
        }
        if let Some(headers) = file.http_server_config.and_then(|h| h.headers) {
            for (name, value) in headers {
                let f = format!("http_server_config.headers.{name}");
                let Some((canonical, allowed)) = SETTABLE_HEADERS
                    .iter()
                    .find(|(h, _)| h.eq_ignore_ascii_case(&name))
                else {
                    return Err(field(&f, "this header cannot be set".into()));
                };
                if value.is_empty() {
                    continue;
                }
                if let Some(allowed) = allowed
                    && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value))
                {
                    return Err(field(&f, format!("must be one of {}", allowed.join(", "))));
                }
                let value = axum::http::HeaderValue::from_str(&value)
                    .map_err(|e| field(&f, e.to_string()))?;
                cfg.headers.push((
                    axum::http::HeaderName::from_static(canonical_lower(canonical)),
                    value,
                ));
            }
        }
        if let Some(r) = file.rate_limit {
            let interval = parse_duration(&r.interval).ok_or_else(|| {
                field(
                    "rate_limit.interval",
                    format!("not a duration: {:?}", r.interval),
                )
            })?;
            // The toolkit: an interval of 0 turns the limiter off.
            if !interval.is_zero() {
                cfg.rate_limit = Some(RateLimit {
                    interval,
                    burst: r.burst.max(1),
                });
            }
        }
        Ok(cfg)
    }

    /// What the start line says of it: `TLS, client certificates required, basic auth (2 users)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.tls.is_some() {
            parts.push(match self.client_auth {
                ClientAuth::NoClientCert => "TLS".to_string(),
                c => format!("TLS ({c:?})"),
            });
        }
        if let Some(u) = &self.users {
            parts.push(format!("basic auth ({} users)", u.len()));
        }
        if let Some(r) = &self.rate_limit {
            parts.push(format!("rate limit 1/{:?} burst {}", r.interval, r.burst));
        }
        if parts.is_empty() {
            "no TLS, no auth".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// The header names of [`SETTABLE_HEADERS`], lower case (what `HeaderName::from_static` wants).
fn canonical_lower(name: &str) -> &'static str {
    match name {
        "Content-Security-Policy" => "content-security-policy",
        "X-Frame-Options" => "x-frame-options",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "strict-transport-security",
    }
}

/// A Prometheus duration: `1h30m`, `500ms`, `10s`, `0` (units y w d h m s ms).
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return None,
        };
        total = total.checked_add(Duration::from_millis(n.checked_mul(ms)?))?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// The endpoints' settings from the command line.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// The `--web.config.file`, loaded.
    pub config: Option<WebConfig>,
    /// Connections and timeouts.
    pub limits: Limits,
    /// Time for a request to be answered once its headers are in.
    pub request_timeout: Duration,
    /// Whether `/report` is served.
    pub report_endpoint: bool,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            config: None,
            limits: Limits::default(),
            request_timeout: Duration::from_secs(30),
            report_endpoint: true,
        }
    }
}

/// The web config in force: swapped whole on SIGHUP, read by each new connection and request.
#[derive(Debug)]
pub struct Current {
    inner: RwLock<Arc<WebConfig>>,
}

impl Current {
    /// Starts with `cfg`.
    pub fn new(cfg: WebConfig) -> Self {
        Current {
            inner: RwLock::new(Arc::new(cfg)),
        }
    }

    /// The config in force now.
    pub fn get(&self) -> Arc<WebConfig> {
        match self.inner.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reads the file again; on an error the config in force stays.
    pub fn reload(&self) -> Result<(), WebConfigError> {
        let path = self.get().path.clone();
        if path.as_os_str().is_empty() {
            return Ok(());
        }
        let cfg = Arc::new(WebConfig::load(&path)?);
        match self.inner.write() {
            Ok(mut c) => *c = cfg,
            Err(p) => *p.into_inner() = cfg,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
