//! URLs and origins: the one place that splits a URL, serializes an origin, resolves a
//! `Location` and turns a path into a route template. Low in the tree (beside `model`) so that
//! the context, the pairing, the classifier and the aggregate all read URLs the same way.
//! Pure functions of text; nothing here panics on any input.

use crate::model::Exchange;

/// A parsed, serialized origin (`scheme://host[:port]`, or the opaque `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The opaque origin `null`.
    Null,
    /// `scheme://host[:port]`.
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

    /// The host, lowercase (none for `null`).
    pub fn host(&self) -> Option<&str> {
        match self {
            Origin::Null => None,
            Origin::Tuple { host, .. } => Some(host),
        }
    }

    /// The scheme, lowercase (none for `null`).
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

/// The scheme's default port (lowercase schemes).
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// The pieces of an absolute URL that origin logic needs, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// As written (not lowercased).
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
pub fn split_url(s: &str) -> Option<UrlParts<'_>> {
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
pub fn origin_parts(s: &str) -> Option<UrlParts<'_>> {
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
pub fn gurl_parseable(v: &str) -> bool {
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

fn is_ows_char(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `scheme://authority` of an absolute URL, or "" when it has none.
pub fn host_of(url: &str) -> &str {
    match scheme_sep(url) {
        Some(i) => {
            let rest = &url[i + 3..];
            let end = memchr::memchr3(b'/', b'?', b'#', rest.as_bytes()).unwrap_or(rest.len());
            &rest[..end]
        }
        None => "",
    }
}

/// The serialized origin of an http(s) URL: `scheme://host[:port]`, default port dropped.
pub fn origin_of(url: &str) -> Option<String> {
    let o = Origin::parse(url)?;
    matches!(o.scheme(), Some("http" | "https")).then(|| o.serialize())
}

/// The origin of the page a client-side recording says the request came from: `Referer`'s,
/// else the recording's page URL's. Provisional request headers (all a HAR keeps of a request
/// that never got a response) lack `Origin`; this is what stands in for it.
pub fn recorded_page_origin(ex: &Exchange) -> Option<String> {
    let referer = ex.request.headers.get_str("referer");
    referer
        .as_deref()
        .or(ex.hints.page_url.as_deref())
        .and_then(Origin::parse)
        .map(|o| o.serialize())
}

/// The origin of the page that sent `ex`, worked out once per exchange by the pipeline and
/// passed down to the classifier. `first_page` is the page of the redirect chain's first
/// request when `ex` follows a redirect (`redirected`). Else the wire `Origin`: the page's
/// own, unless it is `null` (an opaque page, or a redirect that tainted it), where the
/// recording's page URL names the real page; else the recording's page ([`recorded_page_origin`]).
pub fn page_origin(ex: &Exchange, first_page: Option<&str>, redirected: bool) -> Option<String> {
    if let Some(p) = first_page {
        return Some(p.to_owned());
    }
    let wire = ex.request.headers.get_str("origin");
    match wire.as_deref().map(|o| o.trim_matches(is_ows_char)) {
        Some("null") => {
            if let Some(p) = ex.hints.page_url.as_deref().and_then(origin_of) {
                return Some(p);
            }
            if !redirected {
                return Some("null".to_owned());
            }
        }
        Some(o) => return Some(o.to_owned()),
        None => {}
    }
    recorded_page_origin(ex)
}

/// Resolves a `Location` against the request URL (absolute, scheme-relative, absolute-path
/// and relative forms).
pub fn resolve(base: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let scheme_end = scheme_sep(base).map_or(0, |i| i + 3);
    if let Some(rest) = loc.strip_prefix("//") {
        return format!("{}{}", &base[..scheme_end], rest);
    }
    let authority_end = scheme_end + host_of(base).len();
    if loc.starts_with('/') {
        return format!("{}{}", &base[..authority_end], loc);
    }
    let path = &base[authority_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    format!("{}{}{}", &base[..authority_end], dir, loc)
}

/// Where the first `://` of `s` starts: `s.find("://")`, without the substring searcher's setup
/// (it ran several times for every exchange).
pub fn scheme_sep(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b':', b.get(from..)?) {
        let at = from + i;
        if b.get(at + 1..at + 3) == Some(b"//") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Turns a URL or path into a route template: ids, UUIDs, hashes and tokens become `{id}`,
/// the query string is dropped, and long paths are cut, so routes stay few and carry no
/// secrets.
pub fn route(url: &str) -> String {
    let path = match scheme_sep(url) {
        Some(i) => {
            let rest = &url[i + 3..];
            find_byte(rest, b'/').map_or("/", |p| &rest[p..])
        }
        None => url,
    };
    // Bytes, not `char` patterns: this runs for every event, its segments are short, and the
    // `str` searchers' set-up cost more than the scan (every delimiter is ASCII, so every cut
    // is a char boundary).
    let b = path.as_bytes();
    let end = memchr::memchr2(b'?', b'#', b).unwrap_or(b.len());
    let mut out = String::with_capacity(end.min(128));
    // Segments after the leading one (a path starts with `/`; text before it is skipped, as
    // `split('/').skip(1)` did).
    let Some(first) = b[..end].iter().position(|&c| c == b'/') else {
        out.push('/');
        return out;
    };
    let mut start = first + 1;
    for i in 0.. {
        if i >= 8 {
            out.push_str("/…");
            break;
        }
        let seg_end = b[start..end]
            .iter()
            .position(|&c| c == b'/')
            .map_or(end, |p| start + p);
        let seg = &path[start..seg_end];
        out.push('/');
        if is_identifier(seg) {
            out.push_str("{id}");
        } else if seg.len() > 48 {
            out.push_str("{long}");
        } else {
            out.push_str(seg);
        }
        if seg_end == end {
            break;
        }
        start = seg_end + 1;
    }
    out
}

/// Where the first `byte` (ASCII) of `s` is: `s.find(char)` without the `str` searcher's
/// set-up, and a vector scan over the long URLs where a byte loop cost 3 instructions a byte.
pub fn find_byte(s: &str, byte: u8) -> Option<usize> {
    memchr::memchr(byte, s.as_bytes())
}

/// `s` up to its first `byte` (ASCII), or all of it: `s.split(char).next()` without the
/// searcher.
pub fn before_byte(s: &str, byte: u8) -> &str {
    find_byte(s, byte).map_or(s, |i| &s[..i])
}

/// Byte classes of [`is_identifier`], one table lookup per byte (it runs on every segment of
/// every event's path).
const DIGIT: u8 = 1;
const HEX_OR_DASH: u8 = 2;
const TOKEN: u8 = 4;
const UPPER: u8 = 8;
const LOWER: u8 = 16;
const AT: u8 = 32;
const DOT: u8 = 64;

const SEGMENT_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut k = 0;
        if c.is_ascii_digit() {
            k |= DIGIT;
        }
        if c.is_ascii_hexdigit() || c == b'-' {
            k |= HEX_OR_DASH;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'=' | b'.') {
            k |= TOKEN;
        }
        if c.is_ascii_uppercase() {
            k |= UPPER;
        }
        if c.is_ascii_lowercase() {
            k |= LOWER;
        }
        if c == b'@' {
            k |= AT;
        }
        if c == b'.' {
            k |= DOT;
        }
        t[i] = k;
        i += 1;
    }
    t
};

fn is_identifier(seg: &str) -> bool {
    let b = seg.as_bytes();
    if b.is_empty() {
        return false;
    }
    // One pass: what every byte is (`all`), what some byte is (`any`), and the digits.
    let (mut all, mut any, mut digits) = (u8::MAX, 0u8, 0usize);
    for &c in b {
        let k = SEGMENT_CLASS[usize::from(c)];
        all &= k;
        any |= k;
        digits += usize::from(k & DIGIT);
    }
    if digits == b.len() {
        return true;
    }
    if all & HEX_OR_DASH != 0 && b.len() >= 8 && digits > 0 {
        return true; // UUIDs, hashes, hex ids
    }
    if any & AT != 0 && any & DOT != 0 {
        return true; // e-mail addresses
    }
    // Opaque tokens: long, with digits, and either mixed-case (base64) or digit-heavy; a
    // snake_case name with a number in it (`report_2024`) stays a name.
    b.len() >= 16
        && digits >= 2
        && ((any & UPPER != 0 && any & LOWER != 0) || digits * 4 >= b.len())
        && all & TOKEN != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_identifier` as it was written with one flag per class.
    fn is_identifier_by_flags(seg: &str) -> bool {
        let b = seg.as_bytes();
        if b.is_empty() {
            return false;
        }
        let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
        let hexish = b.iter().all(|&c| c.is_ascii_hexdigit() || c == b'-');
        let token = b
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'=' | b'.'));
        let (upper, lower) = (
            b.iter().any(u8::is_ascii_uppercase),
            b.iter().any(u8::is_ascii_lowercase),
        );
        let (at, dot) = (b.contains(&b'@'), b.contains(&b'.'));
        digits == b.len()
            || (hexish && b.len() >= 8 && digits > 0)
            || (at && dot)
            || (b.len() >= 16
                && digits >= 2
                && ((upper && lower) || digits * 4 >= b.len())
                && token)
    }

    /// `route` as it was written with `str::split`, before the byte scan.
    fn route_by_split(url: &str) -> String {
        let path = match url.find("://") {
            Some(i) => url[i + 3..].find('/').map_or("/", |p| &url[i + 3 + p..]),
            None => url,
        };
        let path = path.split(['?', '#']).next().unwrap_or("");
        let mut out = String::new();
        for (i, seg) in path.split('/').skip(1).enumerate() {
            if i >= 8 {
                out.push_str("/…");
                break;
            }
            out.push('/');
            out.push_str(if is_identifier_by_flags(seg) {
                "{id}"
            } else if seg.len() > 48 {
                "{long}"
            } else {
                seg
            });
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn route_is_the_split_route(s in "(https?://[a-z.]{0,6})?[a-z0-9/?#é]{0,40}") {
            proptest::prop_assert_eq!(route(&s), route_by_split(&s));
        }

        #[test]
        fn segment_classes_are_the_flags(s in "[a-zA-Z0-9@._=/é-]{0,40}") {
            proptest::prop_assert_eq!(is_identifier(&s), is_identifier_by_flags(&s));
        }

        #[test]
        fn scheme_sep_is_find(s in "[a-z:/é]{0,12}") {
            proptest::prop_assert_eq!(scheme_sep(&s), s.find("://"));
        }
    }

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
    fn resolves_locations() {
        let b = "https://a.example/x/y?q=1";
        assert_eq!(resolve(b, "https://b.example/z"), "https://b.example/z");
        assert_eq!(resolve(b, "//c.example/z"), "https://c.example/z");
        assert_eq!(resolve(b, "/z"), "https://a.example/z");
        assert_eq!(resolve(b, "z"), "https://a.example/x/z");
        assert_eq!(host_of(b), "a.example");
        assert_eq!(
            origin_of("HTTPS://A.example:443/p").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(
            origin_of("http://a.example:8080").as_deref(),
            Some("http://a.example:8080")
        );
        assert_eq!(origin_of("ws://a.example"), None);
        assert_eq!(origin_of("about:blank"), None);
    }

    #[test]
    fn routes_are_templated() {
        assert_eq!(route("https://a.example/users/123?x=1"), "/users/{id}");
        assert_eq!(
            route("https://a.example/u/9f1c2d3e-aaaa-bbbb-cccc-123456789abc/posts"),
            "/u/{id}/posts"
        );
        assert_eq!(route("https://a.example"), "/");
        assert_eq!(route("/api/v1/items/42/tags"), "/api/v1/items/{id}/tags");
        assert_eq!(
            route("https://a.example/t/eyJhbGciOiJIUzI1NiJ9x12"),
            "/t/{id}"
        );
        assert_eq!(
            route("https://a.example/a/b/c/d/e/f/g/h/i/j"),
            "/a/b/c/d/e/f/g/h/…"
        );
        assert_eq!(route("https://a.example/api/v2/graphql"), "/api/v2/graphql");
        assert_eq!(
            route("https://a.example/s/acao_missing_200"),
            "/s/acao_missing_200"
        );
        assert_eq!(route("https://a.example/k/a1b2c3d4e5f6g7h8i9"), "/k/{id}");
    }
}
