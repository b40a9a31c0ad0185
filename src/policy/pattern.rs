//! Origin patterns of a policy: `*` (any origin, never with credentials), an exact origin
//! (`https://app.example.com`, `http://localhost:5173`), or a subdomain pattern
//! (`https://*.example.com`): `*` stands for one or more whole DNS labels in front of the
//! suffix, so it matches `https://a.example.com` and `https://a.b.example.com` but neither
//! `https://example.com` nor a lookalike such as `https://evilexample.com` or
//! `https://example.com.evil.net`. Scheme and port always have to match (the scheme's default
//! port when none is written).

use crate::url::{Origin, default_port};
use std::fmt;

/// One allowed-origin entry of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    /// `*`: every origin (refused with `credentials = true`).
    Any,
    /// One origin exactly.
    Exact {
        /// Lowercase scheme (`http` or `https`).
        scheme: String,
        /// Lowercase host.
        host: String,
        /// The port in use (the scheme's default filled in).
        port: u16,
    },
    /// `scheme://*.suffix[:port]`: one or more labels in front of `suffix`.
    Subdomains {
        /// Lowercase scheme.
        scheme: String,
        /// Lowercase suffix, without the leading dot (`example.com`).
        suffix: String,
        /// The port in use.
        port: u16,
    },
}

/// Why an origin pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// `null` is never an allowed origin.
    #[error("`null` is never allowed: sandboxed frames, file: pages and redirects all send it")]
    Null,
    /// Not `scheme://host[:port]`.
    #[error("`{0}` is not an origin (scheme://host[:port], no path, no trailing slash)")]
    NotAnOrigin(String),
    /// Not http or https.
    #[error("`{0}`: the scheme must be http or https")]
    Scheme(String),
    /// `*` somewhere else than as the whole first label.
    #[error("`{0}`: `*` may only stand for whole leading labels, as in https://*.example.com")]
    Wildcard(String),
    /// `*.com`, `*.co.uk`-like patterns: everything under a top-level domain.
    #[error("`{0}`: the suffix after `*.` needs at least two labels")]
    TooBroad(String),
}

impl OriginPattern {
    /// Parses one entry of `origins`.
    pub fn parse(s: &str) -> Result<OriginPattern, PatternError> {
        let s = s.trim();
        if s == "*" {
            return Ok(OriginPattern::Any);
        }
        if s.eq_ignore_ascii_case("null") {
            return Err(PatternError::Null);
        }
        let not = || PatternError::NotAnOrigin(s.to_owned());
        let (scheme, rest) = s.split_once("://").ok_or_else(not)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(PatternError::Scheme(s.to_owned()));
        }
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(not());
        }
        let (host, port) = split_port(rest).ok_or_else(not)?;
        let port = match port {
            Some(p) => p,
            None => default_port(&scheme).ok_or_else(not)?,
        };
        let host = host.to_ascii_lowercase();
        if let Some(suffix) = host.strip_prefix("*.") {
            if suffix.contains('*') {
                return Err(PatternError::Wildcard(s.to_owned()));
            }
            if !valid_dns(suffix) {
                return Err(not());
            }
            if suffix.split('.').count() < 2 {
                return Err(PatternError::TooBroad(s.to_owned()));
            }
            return Ok(OriginPattern::Subdomains {
                scheme,
                suffix: suffix.to_owned(),
                port,
            });
        }
        if host.contains('*') {
            return Err(PatternError::Wildcard(s.to_owned()));
        }
        if !(valid_dns(&host) || (host.starts_with('[') && host.ends_with(']'))) {
            return Err(not());
        }
        Ok(OriginPattern::Exact { scheme, host, port })
    }

    /// The pattern allows the serialized origin `origin` (an `Origin` header value).
    pub fn matches(&self, origin: &str) -> bool {
        let Some(Origin::Tuple { scheme, host, port }) = Origin::parse(origin) else {
            return false;
        };
        // An Origin header is exactly an origin: reject values with a path or a trailing slash.
        if origin
            .trim()
            .split_once("://")
            .is_none_or(|(_, rest)| rest.contains(['/', '?', '#']))
        {
            return false;
        }
        let Some(port) = port.or_else(|| default_port(&scheme)) else {
            return false;
        };
        match self {
            OriginPattern::Any => true,
            OriginPattern::Exact {
                scheme: s,
                host: h,
                port: p,
            } => *s == scheme && *h == host && *p == port,
            OriginPattern::Subdomains {
                scheme: s,
                suffix,
                port: p,
            } => {
                *s == scheme
                    && *p == port
                    && host
                        .strip_suffix(suffix.as_str())
                        .and_then(|front| front.strip_suffix('.'))
                        .is_some_and(|labels| !labels.is_empty() && valid_dns(labels))
            }
        }
    }

    /// For a subdomain pattern, a regular expression (PCRE, Python `re`, JavaScript) that
    /// matches exactly the `Origin` values the pattern allows; `None` for the other patterns.
    pub fn regex(&self) -> Option<String> {
        let OriginPattern::Subdomains {
            scheme,
            suffix,
            port,
        } = self
        else {
            return None;
        };
        let port = match default_port(scheme) {
            Some(p) if p == *port => String::new(),
            _ => format!(":{port}"),
        };
        // One or more labels as `valid_dns` has them, then the suffix with its dots escaped.
        Some(format!(
            "^{scheme}://([a-z0-9_]([a-z0-9_-]{{0,61}}[a-z0-9_])?\\.)+{}{port}$",
            suffix.replace('.', "\\.")
        ))
    }

    /// `*`.
    pub fn is_any(&self) -> bool {
        matches!(self, OriginPattern::Any)
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, host, port, star) = match self {
            OriginPattern::Any => return f.write_str("*"),
            OriginPattern::Exact { scheme, host, port } => (scheme, host, *port, ""),
            OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            } => (scheme, suffix, *port, "*."),
        };
        write!(f, "{scheme}://{star}{host}")?;
        if default_port(scheme) != Some(port) {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// `host[:port]` (IPv6 literals in brackets); `None` for a bad port.
fn split_port(s: &str) -> Option<(&str, Option<u16>)> {
    let colon = if s.starts_with('[') {
        let close = s.find(']')?;
        match &s[close + 1..] {
            "" => return Some((s, None)),
            r if r.starts_with(':') => close + 1,
            _ => return None,
        }
    } else {
        match s.rfind(':') {
            Some(i) => i,
            None => return Some((s, None)),
        }
    };
    let port: u16 = s[colon + 1..].parse().ok()?;
    Some((&s[..colon], Some(port)))
}

/// Dot-separated labels of letters, digits, `-` and `_`, none empty, none starting or ending
/// with `-`.
fn valid_dns(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> OriginPattern {
        OriginPattern::parse(s).unwrap()
    }

    #[test]
    fn exact_matches_scheme_host_and_port() {
        let e = p("https://App.Example.com");
        assert!(e.matches("https://app.example.com"));
        assert!(e.matches("https://app.example.com:443"));
        assert!(!e.matches("http://app.example.com"));
        assert!(!e.matches("https://app.example.com:8443"));
        assert!(!e.matches("https://app.example.com/"));
        assert!(!e.matches("https://app.example.com.evil.net"));
        assert!(!e.matches("null"));
        let l = p("http://localhost:5173");
        assert!(l.matches("http://localhost:5173"));
        assert!(!l.matches("http://localhost:5174"));
        assert!(!l.matches("http://localhost"));
    }

    #[test]
    fn subdomain_star_is_whole_labels_never_a_lookalike() {
        let s = p("https://*.example.com");
        assert!(s.matches("https://a.example.com"));
        assert!(s.matches("https://a.b.example.com"));
        assert!(!s.matches("https://example.com"));
        assert!(!s.matches("https://evilexample.com"));
        assert!(!s.matches("https://.example.com"));
        assert!(!s.matches("https://a..example.com"));
        assert!(!s.matches("https://example.com.evil.net"));
        assert!(!s.matches("https://a.example.com.evil.net"));
        assert!(!s.matches("http://a.example.com"));
        assert!(!s.matches("https://a.example.com:8443"));
        assert!(p("https://*.example.com:8443").matches("https://a.example.com:8443"));
        assert_eq!(s.to_string(), "https://*.example.com");
    }

    #[test]
    fn refused_patterns() {
        assert_eq!(OriginPattern::parse("null"), Err(PatternError::Null));
        for bad in [
            "https://app.example.com/",
            "https://app.example.com/path",
            "app.example.com",
            "https://",
            "https://app.example.com:99999",
        ] {
            assert!(
                matches!(OriginPattern::parse(bad), Err(PatternError::NotAnOrigin(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            OriginPattern::parse("ftp://a.example.com"),
            Err(PatternError::Scheme(_))
        ));
        assert!(matches!(
            OriginPattern::parse("https://api-*.example.com"),
            Err(PatternError::Wildcard(_))
        ));
        assert!(matches!(
            OriginPattern::parse("https://*.com"),
            Err(PatternError::TooBroad(_))
        ));
        assert!(p("*").is_any());
        assert!(p("*").matches("https://anything.example"));
    }
}
