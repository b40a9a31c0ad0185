//! Request facts: origins, safelisted headers, tokens, whether a preflight is needed, address
//! spaces and sites. Everything here is a pure function of bytes; nothing panics on any input.

use crate::model::{Exchange, Headers};
use std::borrow::Cow;
use std::net::IpAddr;

/// A parsed, serialized origin (`scheme://host[:port]`, or the opaque `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Null,
    Tuple {
        /// Lowercase.
        scheme: String,
        /// Lowercase; IPv6 literals keep their brackets.
        host: String,
        /// `None` for the scheme's default port (a serialized origin never shows it).
        port: Option<u16>,
    },
}

impl Origin {
    /// Parses an `Origin` header value or the origin part of a URL (`scheme://host[:port]`, any
    /// path is ignored). `None` when there is no `scheme://host`.
    pub fn parse(s: &str) -> Option<Origin> {
        let s = s.trim_matches(is_ows_char);
        if s == "null" {
            return Some(Origin::Null);
        }
        let p = split_url(s)?;
        if p.host.is_empty() {
            return None;
        }
        let scheme = p.scheme.to_ascii_lowercase();
        let port = match p.port {
            Some(n) if Some(n) == default_port(&scheme) => None,
            other => other,
        };
        Some(Origin::Tuple {
            host: p.host.to_ascii_lowercase(),
            scheme,
            port,
        })
    }

    /// The ASCII serialization: `null` or `scheme://host[:port]`, no trailing slash.
    pub fn serialize(&self) -> String {
        match self {
            Origin::Null => "null".to_owned(),
            Origin::Tuple { scheme, host, port } => match port {
                Some(p) => format!("{scheme}://{host}:{p}"),
                None => format!("{scheme}://{host}"),
            },
        }
    }

    pub fn host(&self) -> Option<&str> {
        match self {
            Origin::Null => None,
            Origin::Tuple { host, .. } => Some(host),
        }
    }

    pub fn scheme(&self) -> Option<&str> {
        match self {
            Origin::Null => None,
            Origin::Tuple { scheme, .. } => Some(scheme),
        }
    }

    /// The port in use, the scheme default filled in.
    pub fn effective_port(&self) -> Option<u16> {
        match self {
            Origin::Null => None,
            Origin::Tuple { scheme, port, .. } => port.or_else(|| default_port(scheme)),
        }
    }
}

pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// The pieces of an absolute URL that origin logic needs, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UrlParts<'a> {
    pub scheme: &'a str,
    /// Without userinfo; IPv6 literals keep their brackets. May be empty.
    pub host: &'a str,
    /// The port as written (explicit default ports kept).
    pub port: Option<u16>,
    /// The port text was present (even if it did not parse).
    pub port_text: Option<&'a str>,
    /// Userinfo present (`user[:pass]@`).
    pub has_userinfo: bool,
    /// Path, query and fragment.
    pub rest: &'a str,
}

/// Splits `scheme://authority/rest`. `None` without `://` or with an invalid scheme or port.
pub(crate) fn split_url(s: &str) -> Option<UrlParts<'_>> {
    // The first `://`, found by its `:` (cheaper than a substring search on this hot path).
    let b = s.as_bytes();
    let colon = (0..b.len().saturating_sub(2))
        .find(|&i| b[i] == b':' && b[i + 1] == b'/' && b[i + 2] == b'/')?;
    let (scheme, after) = (&s[..colon], &s[colon + 3..]);
    if !is_scheme(scheme) {
        return None;
    }
    // One byte pass finds where the authority ends and its last `@` and `:` (all ASCII, so
    // every index is a char boundary).
    let (mut auth_end, mut last_at, mut last_colon) = (after.len(), None, None);
    for (i, c) in after.bytes().enumerate() {
        match c {
            b'/' | b'?' | b'#' | b'\\' => {
                auth_end = i;
                break;
            }
            b'@' => last_at = Some(i),
            b':' => last_colon = Some(i),
            _ => {}
        }
    }
    let (authority, rest) = after.split_at(auth_end);
    let hp_start = last_at.map_or(0, |at| at + 1);
    let (has_userinfo, hostport) = (last_at.is_some(), &authority[hp_start..]);
    let (host, port_text) = if hostport.starts_with('[') {
        match hostport.bytes().position(|c| c == b']') {
            Some(close) => {
                let host = &hostport[..=close];
                match &hostport[close + 1..] {
                    "" => (host, None),
                    p => (host, Some(p.strip_prefix(':')?)),
                }
            }
            None => return None,
        }
    } else {
        // The last `:` of the authority, unless it is in the userinfo.
        match last_colon.filter(|&i| i >= hp_start) {
            Some(i) => (&authority[hp_start..i], Some(&authority[i + 1..])),
            None => (hostport, None),
        }
    };
    let port = match port_text {
        None | Some("") => None,
        Some(p) => {
            if !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(p.parse::<u16>().ok()?)
        }
    };
    Some(UrlParts {
        scheme,
        host,
        port,
        port_text,
        has_userinfo,
        rest,
    })
}

/// What `Origin::parse` reads of an origin (or URL), borrowed and not lowercased: `None` for
/// `null` or without `scheme://host`.
pub(crate) fn origin_parts(s: &str) -> Option<UrlParts<'_>> {
    let s = s.trim_matches(is_ows_char);
    if s == "null" {
        return None;
    }
    split_url(s).filter(|p| !p.host.is_empty())
}

fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// Whether Chromium's `GURL` would call the value a valid URL. Only used to tell
/// `InvalidAllowOriginValue` from `AllowOriginMismatch`, so it follows GURL where that matters:
/// a scheme is required (`example.com`, `*.example.com` and the empty string fail); the special
/// schemes need a host and a numeric port; any other scheme is accepted (`localhost:3000` is the
/// scheme `localhost` with the path `3000`).
pub(crate) fn gurl_parseable(v: &str) -> bool {
    let v = v.trim_matches(|c: char| c <= ' ');
    let Some((scheme, rest)) = v.split_once(':') else {
        return false;
    };
    if !is_scheme(scheme) {
        return false;
    }
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "ws" | "wss" | "ftp") {
        return true;
    }
    // Special schemes: GURL accepts any number of slashes or backslashes before the host.
    let rest = rest.trim_start_matches(['/', '\\']);
    let auth_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let hostport = authority
        .rfind('@')
        .map_or(authority, |at| &authority[at + 1..]);
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(close) => (&hostport[..=close], hostport[close + 1..].strip_prefix(':')),
            None => return false,
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty()
        || host.bytes().any(|b| {
            b <= b' '
                || matches!(
                    b,
                    b'<' | b'>' | b'^' | b'|' | b'"' | b'`' | b'{' | b'}' | 0x7f
                )
        })
    {
        return false;
    }
    match port {
        None | Some("") => true,
        Some(p) => p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok(),
    }
}

/// An RFC 9110 token (`tchar`s only, non-empty).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

fn is_ows_char(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `String::from_utf8_lossy`, quicker on the usual valid (ASCII) text: `Utf8Chunks` costs
/// several times a plain validation.
pub(crate) fn lossy(v: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(v) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(v),
    }
}

/// A header value without leading and trailing spaces and tabs (HTTP parsers strip them).
pub(crate) fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| b != b' ' && b != b'\t');
    let Some(start) = start else {
        return &[];
    };
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or(&[])
}

/// The elements of a comma-separated list header (all lines), trimmed, empty ones skipped.
pub(crate) fn list_elements<'a>(h: &'a Headers, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
    h.get_all(name)
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

// ----- CORS-safelisted request headers (Fetch #cors-safelisted-request-header) -----

fn is_cors_unsafe_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t')
        || matches!(
            b,
            b'"' | b'('
                | b')'
                | b':'
                | b'<'
                | b'>'
                | b'?'
                | b'@'
                | b'['
                | b'\\'
                | b']'
                | b'{'
                | b'}'
        )
        || b == 0x7f
}

/// Whether (name, value) is a CORS-safelisted request header. `name` must be lowercase.
pub(crate) fn is_safelisted(name: &str, value: &[u8]) -> bool {
    safelisted_lower(name.as_bytes(), value)
}

/// [`is_safelisted`] for a lowercase name as bytes.
fn safelisted_lower(name: &[u8], value: &[u8]) -> bool {
    if value.len() > 128 {
        return false;
    }
    match name {
        b"accept" => !value.iter().any(|&b| is_cors_unsafe_byte(b)),
        b"accept-language" | b"content-language" => value.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b' ' | b'*' | b',' | b'-' | b'.' | b';' | b'=')
        }),
        b"content-type" => {
            !value.iter().any(|&b| is_cors_unsafe_byte(b)) && safelisted_content_type(value)
        }
        b"range" => simple_range(value),
        _ => false,
    }
}

/// The MIME essence is one of the three form types (parameters allowed).
pub(crate) fn safelisted_content_type(value: &[u8]) -> bool {
    let essence = value.split(|&b| b == b';').next().unwrap_or(&[]);
    let essence = trim_ows(essence);
    let Some(slash) = essence.iter().position(|&b| b == b'/') else {
        return false;
    };
    let (ty, sub) = (&essence[..slash], &essence[slash + 1..]);
    if !is_token(ty) || !is_token(sub) {
        return false;
    }
    [
        &b"application/x-www-form-urlencoded"[..],
        b"multipart/form-data",
        b"text/plain",
    ]
    .iter()
    .any(|e| essence.eq_ignore_ascii_case(e))
}

/// `bytes=start-` or `bytes=start-end` (start <= end), no whitespace, one range.
fn simple_range(value: &[u8]) -> bool {
    let Some(rest) = value.strip_prefix(b"bytes=") else {
        return false;
    };
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return false;
    };
    let (start, end) = (&rest[..dash], &rest[dash + 1..]);
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(start) {
        return false;
    }
    if end.is_empty() {
        return true;
    }
    if !digits(end) {
        return false;
    }
    let num = |s: &[u8]| {
        std::str::from_utf8(s)
            .ok()
            .and_then(|t| t.parse::<u128>().ok())
    };
    match (num(start), num(end)) {
        (Some(a), Some(b)) => a <= b,
        _ => false,
    }
}

/// Headers that the page cannot set (forbidden) or that the browser adds itself below the CORS
/// layer. None of them can make a request CORS-unsafe, so they never count. `name` lowercase.
pub(crate) fn is_browser_set(name: &str, value: &[u8]) -> bool {
    browser_set_lower(name.as_bytes(), value)
}

/// [`is_browser_set`] for a lowercase name as bytes.
fn browser_set_lower(name: &[u8], value: &[u8]) -> bool {
    if name.starts_with(b"sec-") || name.starts_with(b"proxy-") || name.starts_with(b":") {
        return true;
    }
    match name {
        b"accept-charset"
        | b"accept-encoding"
        | b"access-control-request-headers"
        | b"access-control-request-method"
        | b"access-control-request-private-network"
        | b"connection"
        | b"content-length"
        | b"cookie"
        | b"cookie2"
        | b"date"
        | b"dnt"
        | b"expect"
        | b"host"
        | b"keep-alive"
        | b"origin"
        | b"referer"
        | b"set-cookie"
        | b"te"
        | b"trailer"
        | b"transfer-encoding"
        | b"upgrade"
        | b"via"
        | b"user-agent"
        | b"priority"
        | b"purpose"
        | b"upgrade-insecure-requests"
        | b"x-client-data"
        // Client hints and interventions Chromium safelists with its own value rules.
        | b"save-data"
        | b"device-memory"
        | b"dpr"
        | b"width"
        | b"viewport-width"
        | b"rtt"
        | b"downlink"
        | b"ect"
        | b"intervention"
        // Chromium adds these on revalidation of a cached CORS response without a preflight.
        | b"if-modified-since"
        | b"if-none-match" => true,
        // DevTools "Disable cache" (and reloads) add these in the network layer.
        b"cache-control" | b"pragma" => {
            let v = trim_ows(value);
            v.eq_ignore_ascii_case(b"no-cache") || v.eq_ignore_ascii_case(b"max-age=0")
        }
        _ => false,
    }
}

/// CORS-unsafe request-header names in the request's own order, lowercased, de-duplicated, not
/// sorted (Chromium names the first one missing from ACAH in this order).
pub(crate) fn unsafe_header_names(h: &Headers) -> Vec<String> {
    let mut unsafe_names: Vec<String> = Vec::new();
    let mut safelisted_bytes = 0usize;
    // Names are lowercased on the stack: this runs for every request, most names are safe.
    let mut buf = [0u8; 64];
    for (name, value) in h.iter() {
        let value = trim_ows(value);
        let long;
        let lower: &[u8] = match buf.get_mut(..name.len()) {
            Some(dst) => {
                dst.copy_from_slice(name.as_bytes());
                dst.make_ascii_lowercase();
                dst
            }
            None => {
                long = name.to_ascii_lowercase();
                long.as_bytes()
            }
        };
        if lower.is_empty() || browser_set_lower(lower, value) {
            continue;
        }
        if safelisted_lower(lower, value) {
            safelisted_bytes += value.len();
        } else if !unsafe_names.iter().any(|n| n.as_bytes() == lower) {
            unsafe_names.push(name.to_ascii_lowercase());
        }
    }
    if safelisted_bytes > 1024 {
        // Rare: over the total limit, the safelisted names count too (second pass, same order).
        for (name, value) in h.iter() {
            let value = trim_ows(value);
            let lower = name.to_ascii_lowercase();
            if !lower.is_empty()
                && !is_browser_set(&lower, value)
                && is_safelisted(&lower, value)
                && !unsafe_names.contains(&lower)
            {
                unsafe_names.push(lower);
            }
        }
    }
    unsafe_names
}

/// What the request itself says about CORS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestFacts {
    /// Lower-cased names of the request headers that are not CORS-safelisted.
    pub unsafe_headers: Vec<String>,
    /// The request would need a preflight.
    pub needs_preflight: bool,
}

/// For an ordinary request: its CORS-unsafe header names (sorted, as ACRH lists them) and whether
/// it needs a preflight (method not `GET`/`HEAD`/`POST` byte-exact, or unsafe headers). For a
/// preflight: the facts of the request it guards (ACRH names, always needing a preflight).
pub fn request_facts(ex: &Exchange) -> RequestFacts {
    if ex.is_preflight() {
        let mut names: Vec<String> =
            list_elements(&ex.request.headers, "access-control-request-headers")
                .map(|e| String::from_utf8_lossy(e).to_ascii_lowercase())
                .collect();
        names.sort();
        names.dedup();
        return RequestFacts {
            unsafe_headers: names,
            needs_preflight: true,
        };
    }
    let mut names = unsafe_header_names(&ex.request.headers);
    names.sort();
    let needs_preflight =
        !matches!(ex.request.method.as_str(), "GET" | "HEAD" | "POST") || !names.is_empty();
    RequestFacts {
        unsafe_headers: names,
        needs_preflight,
    }
}

// ----- Address spaces and sites -----

/// Local Network Access address spaces (WICG LNA §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    Loopback,
    Local,
    Public,
}

pub(crate) fn ip_space(ip: IpAddr) -> Space {
    match ip {
        IpAddr::V4(v4) => v4_space(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_space(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() || v6.is_unspecified() {
                Space::Loopback
            } else if (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] & 0xfff0) == 0x3ff0
            {
                Space::Local
            } else {
                Space::Public
            }
        }
    }
}

fn v4_space(ip: std::net::Ipv4Addr) -> Space {
    let o = ip.octets();
    if o[0] == 127 || ip.is_unspecified() || (o[0] == 198 && (o[1] & 0xfe) == 18) {
        Space::Loopback
    } else if o[0] == 10
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
        || (o[0] == 172 && (o[1] & 0xf0) == 16)
        || (o[0] == 192 && o[1] == 168)
        || (o[0] == 169 && o[1] == 254)
        || o[0] == 0
    {
        Space::Local
    } else {
        Space::Public
    }
}

/// `localhost`, `*.localhost`, or a loopback literal.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    h.parse::<IpAddr>()
        .is_ok_and(|ip| ip_space(ip) == Space::Loopback)
}

/// Two-label public suffixes common enough to matter; without them `example.co.uk` would be
/// taken for the site `co.uk`.
const TWO_LABEL_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "com.au", "net.au",
    "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "co.jp", "ne.jp", "or.jp", "ac.jp", "com.br",
    "net.br", "org.br", "gov.br", "com.cn", "net.cn", "org.cn", "gov.cn", "co.in", "net.in",
    "org.in", "co.za", "org.za", "com.mx", "com.ar", "com.tr", "com.sg", "com.hk", "co.kr",
    "or.kr", "com.tw", "co.il", "com.my", "co.id", "com.ua", "com.pl", "co.th", "com.vn",
];

/// Shared-hosting suffixes: each name under them belongs to a different tenant, so they are
/// public suffixes for `site`, and an origin under them is anyone's (a finding when trusted).
pub(crate) const SHARED_HOSTING: &[&str] = &[
    "github.io",
    "gitlab.io",
    "herokuapp.com",
    "netlify.app",
    "vercel.app",
    "pages.dev",
    "workers.dev",
    "web.app",
    "firebaseapp.com",
    "glitch.me",
    "repl.co",
    "replit.dev",
    "csb.app",
    "codesandbox.io",
    "stackblitz.io",
    "webcontainer.io",
    "surge.sh",
    "onrender.com",
    "fly.dev",
    "ngrok.io",
    "ngrok-free.app",
    "azurewebsites.net",
    "appspot.com",
    "now.sh",
    "cloudfront.net",
    "s3.amazonaws.com",
    "blogspot.com",
];

/// `s.parse::<IpAddr>().is_ok()`, without the parse for the usual names: an IPv4 address ends
/// with a digit and an IPv6 one contains `:`.
pub(crate) fn is_ip_literal(s: &str) -> bool {
    (s.ends_with(|c: char| c.is_ascii_digit()) || s.contains(':')) && s.parse::<IpAddr>().is_ok()
}

/// Approximate registrable domain ("site") of a host: the last two labels, or three under a
/// known two-label public suffix. IP literals and single labels are their own site.
pub(crate) fn site(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    if host.starts_with('[') || is_ip_literal(host) {
        return host;
    }
    let last_n = |n: usize| -> &str {
        // The suffix made of the last `n` labels (the whole host when it has fewer).
        let mut start = host.len();
        for _ in 0..n {
            match host.as_bytes()[..start].iter().rposition(|&c| c == b'.') {
                Some(dot) => start = dot,
                None => return host,
            }
        }
        &host[start + 1..]
    };
    let two = last_n(2);
    if TWO_LABEL_SUFFIXES
        .iter()
        .chain(SHARED_HOSTING)
        .any(|s| s.len() == two.len() && two.eq_ignore_ascii_case(s))
    {
        last_n(3)
    } else {
        two
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_serialize_without_default_port_or_slash() {
        let o = Origin::parse("HTTPS://App.Example:443/").unwrap();
        assert_eq!(o.serialize(), "https://app.example");
        assert_eq!(
            Origin::parse("http://a.example:8080").unwrap().serialize(),
            "http://a.example:8080"
        );
        assert_eq!(Origin::parse("null"), Some(Origin::Null));
        assert_eq!(Origin::parse("example.com"), None);
        assert_eq!(
            Origin::parse("http://[::1]:3000").unwrap().serialize(),
            "http://[::1]:3000"
        );
    }

    #[test]
    fn gurl_validity() {
        assert!(!gurl_parseable("example.com"));
        assert!(!gurl_parseable("*.example.com"));
        assert!(!gurl_parseable(""));
        assert!(!gurl_parseable("https://"));
        assert!(!gurl_parseable("https://a.example:99999"));
        assert!(gurl_parseable("https://a.example/"));
        assert!(gurl_parseable("localhost:3000"));
        assert!(gurl_parseable("http:a.example"));
    }

    #[test]
    fn safelist_rules() {
        assert!(is_safelisted("content-type", b"text/plain;charset=UTF-8"));
        assert!(!is_safelisted("content-type", b"application/json"));
        assert!(is_safelisted("range", b"bytes=0-99"));
        assert!(!is_safelisted("range", b"bytes=-500"));
        assert!(!is_safelisted("range", b"bytes=5-1"));
        assert!(!is_safelisted("accept", &[b'a'; 129]));
        assert!(!is_safelisted("accept-language", b"en(US)"));
    }

    #[test]
    fn sites() {
        assert_eq!(site("api.example.com"), "example.com");
        assert_eq!(site("www.example.co.uk"), "example.co.uk");
        assert_eq!(site("me.github.io"), "me.github.io");
        assert_eq!(site("localhost"), "localhost");
        assert_eq!(site("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn tokens_and_trim() {
        assert!(is_token(b"PATCH"));
        assert!(!is_token(b"GET POST"));
        assert!(!is_token(b""));
        assert_eq!(trim_ows(b"  a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
    }
}
