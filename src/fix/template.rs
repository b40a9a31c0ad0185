//! Placeholders in fix snippets, and rendering them with real values.
//!
//! Every snippet in [`super::remedy`] is a template: the values that depend on the user's
//! site are written as `{{name}}` or `{{name|form}}`, so that a report (or the lab under
//! `tests/lab/`) can substitute the origin, route and headers it actually saw, and a snippet
//! printed with the example values still reads naturally.
//!
//! | placeholder | what it stands for | example value (the default) |
//! |---|---|---|
//! | `{{origin}}` | the page origin to allow: scheme, host, port, no path | `https://app.example.com` |
//! | `{{origin2}}` | a second allowed origin, where a snippet shows a list | `https://admin.example.com` |
//! | `{{path}}` | the route prefix the fix covers, with leading and trailing `/` | `/api/` |
//! | `{{methods}}` | the methods the page uses | `GET, POST, PUT, PATCH, DELETE` |
//! | `{{headers}}` | the request headers the page sets | `Authorization, Content-Type, X-Request-Id` |
//! | `{{expose}}` | the response headers the page reads | `X-Total-Count, Content-Disposition` |
//! | `{{upstream}}` | the application behind a proxy (nginx, Apache) | `http://127.0.0.1:8080` |
//!
//! A value is one string; list values are comma-separated (`GET, PUT`). The form after `|`
//! says how it is spelled in the snippet's language:
//!
//! * none — as given: `GET, POST` (an HTTP header value, an nginx or Apache string);
//! * `dq` — each item double-quoted, comma-separated: `"GET", "POST"` (Python, Java, C#);
//! * `sq` — each item single-quoted: `'GET', 'POST'` (JavaScript);
//! * `re` — a regular expression matching the value literally: `https://app\.example\.com`.
//!
//! Nothing else in a snippet is a placeholder; `{{` never appears in a snippet otherwise.
//! The snippets stored in [`super::Fix::stacks`] are rendered with the defaults at compile
//! time ([`expand`]); [`render`] substitutes other values at run time.

use std::fmt;

/// The placeholders: name, default value, what it stands for.
pub const PLACEHOLDERS: [(&str, &str, &str); 7] = [
    (
        "origin",
        "https://app.example.com",
        "the page origin to allow (scheme://host[:port], no path)",
    ),
    (
        "origin2",
        "https://admin.example.com",
        "a second allowed origin, where a snippet shows a list",
    ),
    (
        "path",
        "/api/",
        "the route prefix the fix covers, with leading and trailing /",
    ),
    (
        "methods",
        "GET, POST, PUT, PATCH, DELETE",
        "the methods the page uses, comma-separated",
    ),
    (
        "headers",
        "Authorization, Content-Type, X-Request-Id",
        "the request headers the page sets, comma-separated",
    ),
    (
        "expose",
        "X-Total-Count, Content-Disposition",
        "the response headers the page reads, comma-separated",
    ),
    (
        "upstream",
        "http://127.0.0.1:8080",
        "the application behind a proxy (nginx, Apache)",
    ),
];

/// Values for the placeholders; unset ones keep their default (example) value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    set: Vec<(usize, String)>,
}

/// A placeholder problem: an unknown name or form, a bad value, an unclosed `{{`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

fn index_of(name: &str) -> Option<usize> {
    PLACEHOLDERS.iter().position(|(n, _, _)| *n == name)
}

fn known_names() -> String {
    PLACEHOLDERS
        .iter()
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Values {
    /// The defaults: every placeholder renders as its example value.
    pub fn new() -> Self {
        Values::default()
    }

    /// Sets one placeholder. Values may not contain a line break, a quote of either kind or
    /// a backslash: they go into configuration languages unescaped.
    pub fn set(&mut self, name: &str, value: &str) -> Result<&mut Self, TemplateError> {
        let Some(i) = index_of(name) else {
            return Err(TemplateError(format!(
                "unknown placeholder `{name}` (known: {})",
                known_names()
            )));
        };
        if value.trim().is_empty() {
            return Err(TemplateError(format!("empty value for `{name}`")));
        }
        if let Some(c) = value
            .chars()
            .find(|c| matches!(c, '\n' | '\r' | '"' | '\'' | '\\' | '{' | '}' | '`'))
        {
            return Err(TemplateError(format!(
                "value for `{name}` contains {c:?}, which snippets cannot carry unescaped"
            )));
        }
        let value = value.trim().to_string();
        match name {
            "origin" | "origin2" if value.ends_with('/') || !value.contains("://") => {
                return Err(TemplateError(format!(
                    "`{name}` must be an origin (scheme://host[:port], no trailing slash), not `{value}`"
                )));
            }
            "path" if !(value.starts_with('/') && value.ends_with('/')) => {
                return Err(TemplateError(format!(
                    "`path` must start and end with `/`, not `{value}`"
                )));
            }
            _ => {}
        }
        self.set.retain(|(j, _)| *j != i);
        self.set.push((i, value));
        Ok(self)
    }

    /// Sets placeholders from `name=value` assignments (the CLI's `--set`).
    pub fn parse_assignments<S: AsRef<str>>(items: &[S]) -> Result<Values, TemplateError> {
        let mut v = Values::new();
        for item in items {
            let item = item.as_ref();
            let Some((name, value)) = item.split_once('=') else {
                return Err(TemplateError(format!(
                    "`{item}`: expected NAME=VALUE (names: {})",
                    known_names()
                )));
            };
            v.set(name.trim(), value)?;
        }
        Ok(v)
    }

    /// The value of a placeholder: the one set, or the default.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = index_of(name)?;
        Some(
            self.set
                .iter()
                .find(|(j, _)| *j == i)
                .map_or(PLACEHOLDERS[i].1, |(_, v)| v.as_str()),
        )
    }
}

fn items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn quoted(value: &str, q: char) -> String {
    items(value)
        .map(|i| format!("{q}{i}{q}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Characters escaped by the `re` form.
const RE_SPECIAL: &[u8] = b".^$*+?()[]{}|\\/";

fn regex_escaped(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        // `/` needs no escape in the engines the snippets use (PCRE, Python `re`).
        if c != '/' && c.is_ascii() && RE_SPECIAL.contains(&(c as u8)) {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Renders a snippet template with `values` (defaults for those not set).
pub fn render(template: &str, values: &Values) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError("unclosed `{{` in snippet".to_string()));
        };
        let inner = &after[..end];
        let (name, form) = match inner.split_once('|') {
            Some((n, f)) => (n, Some(f)),
            None => (inner, None),
        };
        let Some(value) = values.get(name) else {
            return Err(TemplateError(format!(
                "unknown placeholder `{{{{{inner}}}}}`"
            )));
        };
        match form {
            None => out.push_str(value),
            Some("dq") => out.push_str(&quoted(value, '"')),
            Some("sq") => out.push_str(&quoted(value, '\'')),
            Some("re") => out.push_str(&regex_escaped(value)),
            Some(f) => {
                return Err(TemplateError(format!(
                    "unknown form `{f}` in `{{{{{inner}}}}}`"
                )));
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholders a template uses, as written (`origin`, `methods|dq`), in order.
pub fn placeholders_in(template: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        found.push(&after[..end]);
        rest = &after[end + 2..];
    }
    found
}

// ---------------------------------------------------------------- compile-time defaults

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn find_close(t: &[u8], from: usize) -> usize {
    let mut i = from;
    while i + 1 < t.len() {
        if t[i] == b'}' && t[i + 1] == b'}' {
            return i;
        }
        i += 1;
    }
    panic!("unclosed `{{` in a snippet")
}

/// Writes one byte at `*n` (if it fits) and advances `*n`.
const fn put<const N: usize>(out: &mut [u8; N], n: &mut usize, b: u8) {
    if *n < N {
        out[*n] = b;
    }
    *n += 1;
}

const fn put_all<const N: usize>(out: &mut [u8; N], n: &mut usize, s: &[u8]) {
    let mut i = 0;
    while i < s.len() {
        put(out, n, s[i]);
        i += 1;
    }
}

/// The default value of the placeholder `name`; panics (a compile error in a const) for an
/// unknown one.
const fn default_of(name: &[u8]) -> &'static [u8] {
    let mut i = 0;
    while i < PLACEHOLDERS.len() {
        if bytes_eq(PLACEHOLDERS[i].0.as_bytes(), name) {
            return PLACEHOLDERS[i].1.as_bytes();
        }
        i += 1;
    }
    panic!("unknown placeholder in a snippet")
}

const fn put_quoted<const N: usize>(out: &mut [u8; N], n: &mut usize, v: &[u8], q: u8) {
    // Items separated by commas; spaces around them dropped; joined by ", ".
    let mut i = 0;
    let mut first = true;
    while i < v.len() {
        while i < v.len() && (v[i] == b' ' || v[i] == b',') {
            i += 1;
        }
        if i >= v.len() {
            break;
        }
        let start = i;
        while i < v.len() && v[i] != b',' {
            i += 1;
        }
        let mut end = i;
        while end > start && v[end - 1] == b' ' {
            end -= 1;
        }
        if !first {
            put(out, n, b',');
            put(out, n, b' ');
        }
        first = false;
        put(out, n, q);
        let mut k = start;
        while k < end {
            put(out, n, v[k]);
            k += 1;
        }
        put(out, n, q);
    }
}

const fn put_regex<const N: usize>(out: &mut [u8; N], n: &mut usize, v: &[u8]) {
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        let mut special = false;
        let mut k = 0;
        while k < RE_SPECIAL.len() {
            if RE_SPECIAL[k] == c && c != b'/' {
                special = true;
            }
            k += 1;
        }
        if special {
            put(out, n, b'\\');
        }
        put(out, n, c);
        i += 1;
    }
}

/// Renders `template` with the default values at compile time: the bytes (the first `N`) and
/// the full length. Call with `N = 0` for the length, then with that length.
pub const fn expand<const N: usize>(template: &str) -> ([u8; N], usize) {
    let t = template.as_bytes();
    let mut out = [0u8; N];
    let mut n = 0;
    let mut i = 0;
    while i < t.len() {
        if i + 1 < t.len() && t[i] == b'{' && t[i + 1] == b'{' {
            let close = find_close(t, i + 2);
            let (inner, _) = t.split_at(close);
            let (_, inner) = inner.split_at(i + 2);
            let mut bar = 0;
            while bar < inner.len() && inner[bar] != b'|' {
                bar += 1;
            }
            let (name, form) = inner.split_at(bar);
            let value = default_of(name);
            if form.is_empty() {
                put_all(&mut out, &mut n, value);
            } else if bytes_eq(form, b"|dq") {
                put_quoted(&mut out, &mut n, value, b'"');
            } else if bytes_eq(form, b"|sq") {
                put_quoted(&mut out, &mut n, value, b'\'');
            } else if bytes_eq(form, b"|re") {
                put_regex(&mut out, &mut n, value);
            } else {
                panic!("unknown placeholder form in a snippet");
            }
            i = close + 2;
        } else {
            put(&mut out, &mut n, t[i]);
            i += 1;
        }
    }
    (out, n)
}

/// A snippet template rendered with the default values, as a `&'static str`, at compile time.
macro_rules! with_defaults {
    ($template:expr) => {{
        const SNIPPET_TEMPLATE: &str = $template;
        const SNIPPET_LEN: usize = $crate::fix::template::expand::<0>(SNIPPET_TEMPLATE).1;
        const SNIPPET_BYTES: [u8; SNIPPET_LEN] =
            $crate::fix::template::expand::<SNIPPET_LEN>(SNIPPET_TEMPLATE).0;
        const SNIPPET: &str = match ::core::str::from_utf8(&SNIPPET_BYTES) {
            Ok(s) => s,
            Err(_) => panic!("snippet is not UTF-8 after rendering"),
        };
        SNIPPET
    }};
}
pub(crate) use with_defaults;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_render_the_examples() {
        let v = Values::new();
        assert_eq!(
            render("add_header X \"{{origin}}\" always;", &v).unwrap(),
            "add_header X \"https://app.example.com\" always;"
        );
        assert_eq!(
            render("methods: [{{methods|sq}}]", &v).unwrap(),
            "methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']"
        );
        assert_eq!(
            render("[{{headers|dq}}]", &v).unwrap(),
            "[\"Authorization\", \"Content-Type\", \"X-Request-Id\"]"
        );
        assert_eq!(
            render("^{{origin|re}}$", &v).unwrap(),
            "^https://app\\.example\\.com$"
        );
    }

    #[test]
    fn values_replace_defaults() {
        let v = Values::parse_assignments(&[
            "origin=http://localhost:47201",
            "path=/s/x/",
            "methods=PUT",
            "headers=X-A,X-B",
        ])
        .unwrap();
        assert_eq!(
            render(
                "{{origin}} {{path}} [{{methods|dq}}] {{headers}} {{headers|sq}} {{origin|re}}",
                &v
            )
            .unwrap(),
            "http://localhost:47201 /s/x/ [\"PUT\"] X-A,X-B 'X-A', 'X-B' http://localhost:47201"
        );
        // Unset placeholders keep their default.
        assert_eq!(
            render("{{origin2}}", &v).unwrap(),
            "https://admin.example.com"
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let v = Values::new();
        assert!(render("{{nope}}", &v).is_err());
        assert!(render("{{origin|xx}}", &v).is_err());
        assert!(render("{{origin", &v).is_err());
        assert!(Values::parse_assignments(&["origin"]).is_err());
        assert!(Values::parse_assignments(&["nope=1"]).is_err());
        assert!(Values::parse_assignments(&["origin=https://a.example/"]).is_err());
        assert!(Values::parse_assignments(&["origin=a.example"]).is_err());
        assert!(Values::parse_assignments(&["path=/api"]).is_err());
        assert!(Values::parse_assignments(&["headers=X-A\"; drop"]).is_err());
        assert!(Values::parse_assignments(&["methods="]).is_err());
    }

    #[test]
    fn compile_time_rendering_equals_run_time() {
        const TPL: &str =
            "a {{origin}} b [{{methods|dq}}] c {{headers|sq}} d ^{{origin|re}}$ {{path}}";
        let at_compile = with_defaults!(TPL);
        assert_eq!(at_compile, render(TPL, &Values::new()).unwrap());
        assert_eq!(
            placeholders_in(TPL),
            ["origin", "methods|dq", "headers|sq", "origin|re", "path"]
        );
    }
}
