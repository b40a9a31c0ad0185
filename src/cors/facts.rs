//! Request facts: origins, safelisted headers, tokens, whether a preflight is needed, address
//! spaces and sites. Everything here is a pure function of bytes; nothing panics on any input.

use crate::model::{Exchange, Headers};
use std::net::IpAddr;

// ----- Header names -----

pub(super) const ACAO: &str = "Access-Control-Allow-Origin";
pub(super) const ACAC: &str = "Access-Control-Allow-Credentials";
pub(super) const ACAM: &str = "Access-Control-Allow-Methods";
pub(super) const ACAH: &str = "Access-Control-Allow-Headers";
pub(super) const ACRM: &str = "Access-Control-Request-Method";
pub(super) const ACRH: &str = "Access-Control-Request-Headers";
pub(super) const ACMA: &str = "Access-Control-Max-Age";
pub(super) const ACRPN: &str = "Access-Control-Request-Private-Network";
pub(super) const ACAPN: &str = "Access-Control-Allow-Private-Network";

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

pub(crate) use crate::model::lossy;

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
    let safelisted_bytes = scan_unsafe(h, |lower| {
        if !unsafe_names.iter().any(|n| n.as_bytes() == lower) {
            // A name that is not UTF-8 is skipped, as `Headers::iter` (which names it "") did.
            if let Ok(n) = std::str::from_utf8(lower) {
                unsafe_names.push(n.to_owned());
            }
        }
        true
    });
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

/// The request lists a header that makes it need a preflight: [`unsafe_header_names`] would
/// not be empty. Stops at the first one, without allocating (this runs for every request).
pub(crate) fn has_unsafe_header(h: &Headers) -> bool {
    let mut found = false;
    let safelisted_bytes = scan_unsafe(h, |lower| {
        found = std::str::from_utf8(lower).is_ok();
        !found
    });
    found || safelisted_bytes > 1024
}

/// Calls `on_unsafe` with the lowercase name of each line that is neither set by the browser
/// nor safelisted (repeats included) while it returns true; returns the bytes of the
/// safelisted values seen.
fn scan_unsafe(h: &Headers, mut on_unsafe: impl FnMut(&[u8]) -> bool) -> usize {
    let mut safelisted_bytes = 0usize;
    // Names are lowercased on the stack: this runs for every request, most names are safe.
    let mut buf = [0u8; 64];
    for (name, value) in h.iter_raw() {
        let value = trim_ows(value);
        let long;
        let lower: &[u8] = match buf.get_mut(..name.len()) {
            Some(dst) => {
                dst.copy_from_slice(name);
                dst.make_ascii_lowercase();
                dst
            }
            None => {
                long = name.to_ascii_lowercase();
                &long
            }
        };
        if lower.is_empty() || browser_set_lower(lower, value) {
            continue;
        }
        if safelisted_lower(lower, value) {
            safelisted_bytes += value.len();
        } else if !on_unsafe(lower) {
            break;
        }
    }
    safelisted_bytes
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

/// The address space of the server the request reached (recorded IP, else the wire's).
pub(crate) fn server_space(ex: &Exchange) -> Option<Space> {
    ex.hints
        .server_ip
        .or_else(|| ex.server.map(|s| s.ip()))
        .map(ip_space)
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
