//! Request facts: origins, safelisted headers, tokens, whether a preflight is needed, address
//! spaces and sites. Everything here is a pure function of bytes; nothing panics on any input.

use crate::model::{Exchange, Headers, name_key};
use foldhash::fast::FixedState;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::LazyLock;

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
    CORS_UNSAFE_BYTE[usize::from(b)]
}

/// Fetch's CORS-unsafe request-header bytes, by byte: every safelisted value is scanned.
static CORS_UNSAFE_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = (c < 0x20 && c != b'\t')
            || matches!(
                c,
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
            || c == 0x7f;
        b += 1;
    }
    t
};

/// Whether (name, value) is a CORS-safelisted request header. `name` must be lowercase.
pub(crate) fn is_safelisted(name: &str, value: &[u8]) -> bool {
    safelisted(class_of(name.as_bytes()), value)
}

/// Whether a line of this name class and `value` is CORS-safelisted.
fn safelisted(class: Option<NameClass>, value: &[u8]) -> bool {
    if value.len() > 128 {
        return false;
    }
    match class {
        Some(NameClass::Accept) => !value.iter().any(|&b| is_cors_unsafe_byte(b)),
        Some(NameClass::Language) => value.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b' ' | b'*' | b',' | b'-' | b'.' | b';' | b'=')
        }),
        Some(NameClass::ContentType) => {
            !value.iter().any(|&b| is_cors_unsafe_byte(b)) && safelisted_content_type(value)
        }
        Some(NameClass::Range) => simple_range(value),
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
    browser_set(name.as_bytes(), class_of(name.as_bytes()), value)
}

/// [`is_browser_set`] for a name in any case, of this class.
fn browser_set(name: &[u8], class: Option<NameClass>, value: &[u8]) -> bool {
    let prefix = |p: &[u8]| {
        name.get(..p.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(p))
    };
    let prefixed = match name.first() {
        Some(b':') => true,
        Some(b's' | b'S') => prefix(b"sec-"),
        Some(b'p' | b'P') => prefix(b"proxy-"),
        _ => false,
    };
    if prefixed {
        return true;
    }
    match class {
        Some(NameClass::BrowserSet) => true,
        Some(NameClass::NoCache) => {
            let v = trim_ows(value);
            v.eq_ignore_ascii_case(b"no-cache") || v.eq_ignore_ascii_case(b"max-age=0")
        }
        _ => false,
    }
}

/// What a request header's name alone says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameClass {
    /// Forbidden, or added by the browser below the CORS layer.
    BrowserSet,
    /// Added by DevTools' "Disable cache" and reloads with `no-cache` or `max-age=0`.
    NoCache,
    /// Safelisted `Accept`.
    Accept,
    /// Safelisted `Accept-Language`, `Content-Language`.
    Language,
    /// Safelisted `Content-Type`.
    ContentType,
    /// Safelisted `Range`.
    Range,
}

/// The names with a class (lowercase); any other name is CORS-unsafe, except the `sec-`,
/// `proxy-` and `:` ones.
const CLASSED: [(&[u8], NameClass); 45] = {
    use NameClass::*;
    [
        (b"accept-charset", BrowserSet),
        (b"accept-encoding", BrowserSet),
        (b"access-control-request-headers", BrowserSet),
        (b"access-control-request-method", BrowserSet),
        (b"access-control-request-private-network", BrowserSet),
        (b"connection", BrowserSet),
        (b"content-length", BrowserSet),
        (b"cookie", BrowserSet),
        (b"cookie2", BrowserSet),
        (b"date", BrowserSet),
        (b"dnt", BrowserSet),
        (b"expect", BrowserSet),
        (b"host", BrowserSet),
        (b"keep-alive", BrowserSet),
        (b"origin", BrowserSet),
        (b"referer", BrowserSet),
        (b"set-cookie", BrowserSet),
        (b"te", BrowserSet),
        (b"trailer", BrowserSet),
        (b"transfer-encoding", BrowserSet),
        (b"upgrade", BrowserSet),
        (b"via", BrowserSet),
        (b"user-agent", BrowserSet),
        (b"priority", BrowserSet),
        (b"purpose", BrowserSet),
        (b"upgrade-insecure-requests", BrowserSet),
        (b"x-client-data", BrowserSet),
        // Client hints and interventions Chromium safelists with its own value rules.
        (b"save-data", BrowserSet),
        (b"device-memory", BrowserSet),
        (b"dpr", BrowserSet),
        (b"width", BrowserSet),
        (b"viewport-width", BrowserSet),
        (b"rtt", BrowserSet),
        (b"downlink", BrowserSet),
        (b"ect", BrowserSet),
        (b"intervention", BrowserSet),
        // Chromium adds these on revalidation of a cached CORS response without a preflight.
        (b"if-modified-since", BrowserSet),
        (b"if-none-match", BrowserSet),
        (b"cache-control", NoCache),
        (b"pragma", NoCache),
        (b"accept", Accept),
        (b"accept-language", Language),
        (b"content-language", Language),
        (b"content-type", ContentType),
        (b"range", Range),
    ]
};

/// [`CLASSED`] by a hash of the name's key, open addressing: an index + 1, 0 for none. Every
/// line of every request is looked up here, so the name is compared once, never lowercased.
static CLASS_SLOTS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < CLASSED.len() {
        let mut s = class_slot(name_key(CLASSED[i].0));
        while t[s] != 0 {
            s = (s + 1) % 256;
        }
        t[s] = i as u8 + 1;
        i += 1;
    }
    t
};

const fn class_slot(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> 24) as usize
}

/// The class of a name in any case.
fn class_of(name: &[u8]) -> Option<NameClass> {
    class_by_key(name, name_key(name))
}

/// [`class_of`] with the name's [`name_key`] known.
fn class_by_key(name: &[u8], key: u32) -> Option<NameClass> {
    let mut s = class_slot(key);
    loop {
        let i = usize::from(*CLASS_SLOTS.get(s)?);
        let (n, class) = CLASSED.get(i.checked_sub(1)?)?;
        if eq_lowercase(name, n) {
            return Some(*class);
        }
        s = (s + 1) % 256;
    }
}

/// `name` is the lowercase ASCII `known` in any case. A word at a time (the library's
/// byte-wise comparison was most of a lookup): OR-ing 0x20 folds case only where `known` has a
/// letter, and only `A`-`Z` and `a`-`z` fold onto a letter.
fn eq_lowercase(name: &[u8], known: &[u8]) -> bool {
    let len = name.len();
    if len != known.len() {
        return false;
    }
    if len < 8 {
        return name.eq_ignore_ascii_case(known);
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map_or(0, u64::from_le_bytes)
    };
    // Eight bytes at 0, 8, ... and the last eight (overlapping the one before).
    let mut at = 0;
    loop {
        let at_ = at.min(len - 8);
        let k = word(known, at_);
        if word(name, at_) | lowercase_letters(k) != k {
            return false;
        }
        if at_ + 8 >= len {
            return true;
        }
        at += 8;
    }
}

/// 0x20 in each byte of `k` that is `a`-`z` (the bytes of `k` are ASCII: no carries).
const fn lowercase_letters(k: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    let at_least_a = k.wrapping_add(ONES * (0x80 - b'a' as u64)) & HIGH;
    let past_z = k.wrapping_add(ONES * (0x80 - b'z' as u64 - 1)) & HIGH;
    (at_least_a & !past_z) >> 2
}

/// Whether `s` has an ASCII uppercase letter, 8 bytes at a time: hosts and origins pass here
/// for every reflected origin, and are lowercase nearly always.
pub(crate) fn has_ascii_uppercase(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // An uppercase letter is a lowercase one with 0x20 clear; a byte with its high bit
        // set (moved onto 0x20 by the shift) is no ASCII letter.
        let x = k & (ONES * 0x7f);
        if lowercase_letters(x | (ONES * 0x20)) & !x & !(k >> 2) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(u8::is_ascii_uppercase)
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
    for (name, value, key) in h.iter_keyed() {
        if name.is_empty() {
            continue;
        }
        let value = trim_ows(value);
        let class = class_by_key(name, key);
        if browser_set(name, class, value) {
            continue;
        }
        if safelisted(class, value) {
            safelisted_bytes += value.len();
            continue;
        }
        // Lowercased on the stack, and only here: most names are safe.
        let mut buf = [0u8; 64];
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
        if !on_unsafe(lower) {
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
    let b = h.as_bytes();
    if b.eq_ignore_ascii_case(b"localhost")
        || b.len()
            .checked_sub(10)
            .is_some_and(|at| b[at..].eq_ignore_ascii_case(b".localhost"))
    {
        return true;
    }
    // Only an address can be loopback: a name (no `:`, not ending in a digit) is not parsed.
    (h.ends_with(|c: char| c.is_ascii_digit()) || h.contains(':'))
        && h.parse::<IpAddr>()
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
    // A set, not a scan of the 70 suffixes: this runs for every reflected origin.
    static SUFFIXES: LazyLock<HashSet<&'static str, FixedState>> = LazyLock::new(|| {
        TWO_LABEL_SUFFIXES
            .iter()
            .chain(SHARED_HOSTING)
            .copied()
            .collect()
    });
    site_with(host, |two| {
        if has_ascii_uppercase(two.as_bytes()) {
            SUFFIXES.contains(two.to_ascii_lowercase().as_str())
        } else {
            SUFFIXES.contains(two)
        }
    })
}

/// [`site`] with `listed` saying whether the last two labels are a public suffix.
fn site_with(host: &str, listed: impl Fn(&str) -> bool) -> &str {
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
    if listed(two) { last_n(3) } else { two }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The class a name has by a scan of [`CLASSED`]: what the slot table must answer.
    fn class_by_scan(name: &[u8]) -> Option<NameClass> {
        CLASSED
            .iter()
            .find(|(n, _)| name.eq_ignore_ascii_case(n))
            .map(|&(_, c)| c)
    }

    #[test]
    fn every_classed_name_is_found_in_any_case() {
        for (n, class) in CLASSED {
            let upper = n.to_ascii_uppercase();
            assert_eq!(class_of(n), Some(class), "{}", String::from_utf8_lossy(n));
            assert_eq!(
                class_of(&upper),
                Some(class),
                "{}",
                String::from_utf8_lossy(n)
            );
        }
        assert_eq!(class_of(b"x-api-key"), None);
        assert_eq!(class_of(b""), None);
        // Same key (length, first, middle and last bytes) as `accept`, another name.
        assert_eq!(name_key(b"axxext"), name_key(b"accept"));
        assert_eq!(class_of(b"axxext"), None);
    }

    /// [`site`] as it was written before the suffix set: a scan of both lists.
    fn site_by_scan(host: &str) -> &str {
        site_with(host, |two| {
            TWO_LABEL_SUFFIXES
                .iter()
                .chain(SHARED_HOSTING)
                .any(|s| s.len() == two.len() && two.eq_ignore_ascii_case(s))
        })
    }

    #[test]
    fn site_finds_listed_suffixes_in_any_case() {
        for s in TWO_LABEL_SUFFIXES.iter().chain(SHARED_HOSTING) {
            for host in [
                format!("a.b.{s}"),
                format!("X.Y.{}", s.to_ascii_uppercase()),
            ] {
                assert_eq!(site(&host), site_by_scan(&host), "{host}");
                if s.matches('.').count() == 1 {
                    // Two-label suffixes: the site is one label more.
                    assert_eq!(site(&host).matches('.').count(), 2, "{host}");
                }
            }
        }
    }

    #[test]
    fn lowercase_letters_marks_a_to_z() {
        for b in 0u8..0x80 {
            let w = u64::from_le_bytes([b; 8]);
            let want = if b.is_ascii_lowercase() { 0x20 } else { 0 };
            assert_eq!(
                lowercase_letters(w),
                u64::from_le_bytes([want; 8]),
                "{b:#x}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn is_loopback_host_is_the_lowercasing_form(
            host in "\\[?(127\\.0\\.0\\.[0-9]{1,3}|::1|::ffff:127\\.0\\.0\\.1|[a-zA-Z0-9.:-]{0,12}(\\.?[lL][oO][cC][aA][lL][hH][oO][sS][tT])?)\\]?",
        ) {
            let h = host.trim_start_matches('[').trim_end_matches(']');
            let old = h.eq_ignore_ascii_case("localhost")
                || h.to_ascii_lowercase().ends_with(".localhost")
                || h.parse::<IpAddr>().is_ok_and(|ip| ip_space(ip) == Space::Loopback);
            proptest::prop_assert_eq!(is_loopback_host(&host), old);
        }

        #[test]
        fn has_ascii_uppercase_is_the_byte_scan(s in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            proptest::prop_assert_eq!(has_ascii_uppercase(&s), s.iter().any(u8::is_ascii_uppercase));
        }

        #[test]
        fn site_is_the_scan(host in "[a-zA-Z0-9.:\\[\\]-]{0,30}(\\.(co\\.uk|github\\.io|Com\\.AU|example\\.com))?") {
            proptest::prop_assert_eq!(site(&host), site_by_scan(&host));
        }

        #[test]
        fn eq_lowercase_is_eq_ignore_ascii_case(
            known in "[a-z0-9:-]{0,40}",
            name in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            flips in proptest::collection::vec(proptest::bool::ANY, 40),
            use_known in proptest::bool::ANY,
        ) {
            let mut name = if use_known { known.clone().into_bytes() } else { name };
            for (b, flip) in name.iter_mut().zip(flips) {
                if flip {
                    *b ^= if b.is_ascii_alphabetic() { 0x20 } else { 0x0d };
                }
            }
            let known = known.as_bytes();
            proptest::prop_assert_eq!(eq_lowercase(&name, known), name.eq_ignore_ascii_case(known));
        }

        #[test]
        fn class_table_is_the_scan(
            pick in 0usize..CLASSED.len(),
            flips in proptest::collection::vec(proptest::bool::ANY, 40),
            other in "[a-zA-Z:-]{0,40}",
            use_other in proptest::bool::ANY,
        ) {
            let mut name = if use_other { other.into_bytes() } else { CLASSED[pick].0.to_vec() };
            for (b, flip) in name.iter_mut().zip(flips) {
                if flip {
                    *b = b.to_ascii_uppercase();
                }
            }
            proptest::prop_assert_eq!(class_of(&name), class_by_scan(&name));
        }
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
