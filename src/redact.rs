//! Values that never leave the process: credentials and query strings.

use std::borrow::Cow;

/// Header names whose values are secrets. Names and the auth scheme stay; values do not.
pub fn is_sensitive_header(name: &str) -> bool {
    if name.len() > 64 {
        return true;
    }
    // Lower-cased on the stack: this runs for every header that reaches an evidence list.
    let mut buf = [0u8; 64];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    let n = std::str::from_utf8(lower).unwrap_or("");
    if n.starts_with("access-control-")
        || matches!(n, "origin" | "vary" | "content-type" | "location")
    {
        return false;
    }
    matches!(
        n,
        "cookie" | "set-cookie" | "set-cookie2" | "authorization" | "proxy-authorization"
    ) || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("api_key")
        || n.contains("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("session")
        || n.contains("csrf")
        || n.contains("xsrf")
        || n.contains("auth")
}

/// The value of a header as it may appear in any output.
pub fn header_value<'a>(name: &str, value: &'a [u8]) -> Cow<'a, str> {
    if !is_sensitive_header(name) {
        return std::str::from_utf8(value)
            .map_or_else(|_| String::from_utf8_lossy(value), Cow::Borrowed);
    }
    let lower = name.to_ascii_lowercase();
    if lower == "authorization" || lower == "proxy-authorization" {
        // Keep the scheme (`Bearer`, `Basic`): it tells which auth is in play, not the secret.
        let text = String::from_utf8_lossy(value);
        if let Some((scheme, _)) = text.trim().split_once(' ')
            && !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Cow::Owned(format!("{scheme} [redacted]"));
        }
    }
    Cow::Borrowed("[redacted]")
}

/// A URL with its query string and fragment values removed (names kept) and userinfo masked.
pub fn url(u: &str) -> Cow<'_, str> {
    // One vector scan for the three delimiters: most URLs have none of them (every event
    // passes here). Each is ASCII, so every cut is on a char boundary.
    let b = u.as_bytes();
    let Some(first) = memchr::memchr3(b'#', b'?', b'@', b) else {
        return Cow::Borrowed(u);
    };
    let before_frag = match memchr::memchr(b'#', &b[first..]) {
        Some(i) => &u[..first + i],
        None => u,
    };
    let (base, query) = match memchr::memchr(b'?', &before_frag.as_bytes()[first..]) {
        Some(i) => (&u[..first + i], Some(&u[first + i + 1..before_frag.len()])),
        None => (before_frag, None),
    };
    let base = mask_userinfo(base);
    if query.is_none() && before_frag.len() == u.len() && matches!(base, Cow::Borrowed(_)) {
        return Cow::Borrowed(u);
    }
    let mut out = base.into_owned();
    if let Some(q) = query {
        out.push('?');
        let mut first = true;
        for pair in q.split('&') {
            if !first {
                out.push('&');
            }
            first = false;
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            out.push_str(name);
            if pair.contains('=') {
                out.push_str("=[redacted]");
            }
        }
    }
    Cow::Owned(out)
}

fn mask_userinfo(base: &str) -> Cow<'_, str> {
    if !base.contains('@') {
        return Cow::Borrowed(base);
    }
    if let Some(scheme_end) = base.find("://") {
        let rest = &base[scheme_end + 3..];
        let auth_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            return Cow::Owned(format!(
                "{}[redacted]@{}",
                &base[..scheme_end + 3],
                &rest[at + 1..]
            ));
        }
    }
    Cow::Borrowed(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials_keeps_scheme() {
        assert_eq!(
            header_value("Authorization", b"Bearer abc.def"),
            "Bearer [redacted]"
        );
        assert_eq!(header_value("Cookie", b"sid=1"), "[redacted]");
        assert_eq!(header_value("X-API-Key", b"k"), "[redacted]");
        assert_eq!(
            header_value("Origin", b"https://a.example"),
            "https://a.example"
        );
    }

    #[test]
    fn redacts_query_values_and_userinfo() {
        assert_eq!(
            url("https://a.example/x?token=s3&b"),
            "https://a.example/x?token=[redacted]&b"
        );
        assert_eq!(
            url("https://u:p@a.example/x"),
            "https://[redacted]@a.example/x"
        );
        assert_eq!(url("https://a.example/x"), "https://a.example/x");
    }

    /// The `str`-splitting form [`url`] replaced, kept as the reference it must agree with.
    fn url_by_splits(u: &str) -> String {
        let before_frag = u.split_once('#').map_or(u, |(a, _)| a);
        let (base, query) = match before_frag.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (before_frag, None),
        };
        let mut out = mask_userinfo(base).into_owned();
        if let Some(q) = query {
            out.push('?');
            let names: Vec<String> = q
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((n, _)) => format!("{n}=[redacted]"),
                    None => pair.to_owned(),
                })
                .collect();
            out.push_str(&names.join("&"));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn url_agrees_with_the_splits(u in "[a-z:/@?#&=é.]{0,40}") {
            proptest::prop_assert_eq!(url(&u).into_owned(), url_by_splits(&u));
        }
    }
}
