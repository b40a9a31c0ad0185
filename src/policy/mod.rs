//! CORS policies: what a server should answer, per route prefix. A policy is a TOML file
//! (`corswatch schema policy` prints its JSON Schema):
//!
//! ```toml
//! [default]                      # every path no route matches (omitted: allow nothing)
//! origins = []
//!
//! [[route]]
//! prefix = "/v1/things/"         # the longest matching prefix wins
//! origins = ["https://app.example.com", "https://*.example.com"]
//! methods = ["GET", "POST", "DELETE"]
//! request_headers = ["content-type", "x-api-key"]   # case-insensitive
//! exposed_headers = ["x-request-id"]
//! credentials = true
//! max_age = 600
//! vary_origin = true             # default true
//! private_network = false
//! ```
//!
//! A prefix matches a path at a segment boundary: `/v1/things` matches `/v1/things` and
//! `/v1/things/7`, not `/v1/thingsx`; a prefix ending in `/` matches what starts with it.
//!
//! This module parses and validates ([`Policy::parse`]); beside it: `pattern` (origin patterns),
//! `suggest` (the tightest policy the traffic allows), `whatif` (the traffic re-judged under a
//! policy), `drift` (the server's answers against a declared policy), `render` (a policy as a
//! server's configuration), `stage` (both in the pipeline).

pub mod drift;
pub mod pattern;
pub mod per_route;
pub mod render;
pub mod stage;
pub mod suggest;
pub mod whatif;

pub use pattern::{OriginPattern, PatternError};

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The JSON Schema of a policy file.
pub const SCHEMA: &str = include_str!("policy.schema.json");

/// What one route (or the default) allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Allowed origins.
    pub origins: Vec<OriginPattern>,
    /// Allowed methods, as written (`PATCH` is not `patch`).
    pub methods: Vec<String>,
    /// Allowed request headers, lowercase.
    pub request_headers: Vec<String>,
    /// Response headers exposed to the page, lowercase.
    pub exposed_headers: Vec<String>,
    /// `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// `Access-Control-Max-Age` on preflights.
    pub max_age: Option<u32>,
    /// `Vary: Origin` on every answer.
    pub vary_origin: bool,
    /// `Access-Control-Allow-Private-Network: true` on private-network preflights.
    pub private_network: bool,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            origins: Vec::new(),
            methods: Vec::new(),
            request_headers: Vec::new(),
            exposed_headers: Vec::new(),
            credentials: false,
            max_age: None,
            vary_origin: true,
            private_network: false,
        }
    }
}

impl Rule {
    /// The rule allows `origin` (an `Origin` header value).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|p| p.matches(origin))
    }

    /// The rule allows `method` (exactly as sent; safelisted methods always pass).
    pub fn allows_method(&self, method: &str) -> bool {
        matches!(method, "GET" | "HEAD" | "POST") || self.methods.iter().any(|m| m == method)
    }

    /// The rule allows the request header `name` (any case).
    pub fn allows_header(&self, name: &str) -> bool {
        self.request_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// A route prefix and its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The path prefix.
    pub prefix: String,
    /// What it allows.
    pub rule: Rule,
}

/// A parsed, validated policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// For paths no route matches.
    pub default: Rule,
    /// Routes, as written.
    pub routes: Vec<Route>,
}

impl Policy {
    /// The rule for `path` (a URL's path, or a whole URL): the longest matching prefix, else
    /// the default. Also returns the prefix (`None` for the default).
    pub fn rule_for(&self, path: &str) -> (Option<&str>, &Rule) {
        let path = url_path(path);
        self.routes
            .iter()
            .filter(|r| prefix_matches(&r.prefix, path))
            .max_by_key(|r| r.prefix.len())
            .map_or((None, &self.default), |r| (Some(&r.prefix), &r.rule))
    }

    /// Parses a policy file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, field) = e
                .span()
                .map_or((1, String::new()), |s| locate(text, s.start));
            let msg = e.message().trim().to_owned();
            let field = if field.is_empty() {
                field_in_message(&msg)
            } else {
                field
            };
            PolicyError::at(file, line, field, msg)
        })?;
        let at = |span: std::ops::Range<usize>, field: &str, msg: String| {
            PolicyError::at(file, locate(text, span.start).0, field.to_owned(), msg)
        };
        let default = match raw.default {
            Some(d) => {
                if let Some(p) = &d.prefix {
                    return Err(at(
                        p.span(),
                        "prefix",
                        "[default] takes no prefix (it is for paths no route matches)".into(),
                    ));
                }
                d.validate(&at)?
            }
            None => Rule::default(),
        };
        let mut routes: Vec<Route> = Vec::new();
        for (i, r) in raw.route.into_iter().enumerate() {
            let Some(prefix) = r.prefix.clone() else {
                let line = nth_route_line(text, i);
                return Err(PolicyError::at(
                    file,
                    line,
                    "prefix".into(),
                    "every [[route]] needs a prefix".into(),
                ));
            };
            let span = prefix.span();
            let prefix = prefix.into_inner();
            if !prefix.starts_with('/') {
                return Err(at(span, "prefix", format!("`{prefix}` must start with /")));
            }
            if routes.iter().any(|o| o.prefix == prefix) {
                return Err(at(span, "prefix", format!("`{prefix}` appears twice")));
            }
            routes.push(Route {
                rule: r.validate(&at)?,
                prefix,
            });
        }
        Ok(Policy { default, routes })
    }

    /// Reads and parses a policy file.
    pub fn load(path: &std::path::Path) -> Result<Policy, PolicyError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
            file: name.clone(),
            message: e.to_string(),
        })?;
        Policy::parse(&name, &text)
    }
}

/// Counts per key for at most a cap of distinct keys; later keys count in `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Per key.
    pub map: BTreeMap<String, u64>,
    /// Past the cap.
    pub other: u64,
}

impl Counts {
    /// Adds one to `key`, or to `other` when `cap` keys are already counted.
    pub fn add(&mut self, key: &str, cap: usize) {
        if let Some(c) = self.map.get_mut(key) {
            *c += 1;
        } else if self.map.len() < cap {
            self.map.insert(key.to_owned(), 1);
        } else {
            self.other += 1;
        }
    }

    /// Most frequent first (then by key), `other` last when non-zero.
    pub fn ranked(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.map.iter().map(|(k, n)| (k.clone(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if self.other > 0 {
            v.push(("other".into(), self.other));
        }
        v
    }
}

/// Why a policy file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A syntax or value error, located.
    #[error("{file}:{line}: {field}: {message}")]
    At {
        /// The file's name.
        file: String,
        /// 1-based line.
        line: usize,
        /// The key (or table) at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The file cannot be read.
    #[error("cannot read {file}: {message}")]
    Read {
        /// The file's name.
        file: String,
        /// The I/O error.
        message: String,
    },
}

impl PolicyError {
    fn at(file: &str, line: usize, field: String, message: String) -> Self {
        PolicyError::At {
            file: file.to_owned(),
            line,
            field: if field.is_empty() {
                "(file)".into()
            } else {
                field
            },
            message,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    default: Option<RawRule>,
    #[serde(default)]
    route: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    prefix: Option<Spanned<String>>,
    #[serde(default)]
    origins: Vec<Spanned<String>>,
    #[serde(default)]
    methods: Vec<Spanned<String>>,
    #[serde(default)]
    request_headers: Vec<Spanned<String>>,
    #[serde(default)]
    exposed_headers: Vec<Spanned<String>>,
    #[serde(default)]
    credentials: bool,
    max_age: Option<u32>,
    vary_origin: Option<bool>,
    #[serde(default)]
    private_network: bool,
}

type At<'a> = dyn Fn(std::ops::Range<usize>, &str, String) -> PolicyError + 'a;

impl RawRule {
    fn validate(self, at: &At<'_>) -> Result<Rule, PolicyError> {
        let mut origins = Vec::new();
        for o in &self.origins {
            let p = OriginPattern::parse(o.get_ref())
                .map_err(|e| at(o.span(), "origins", e.to_string()))?;
            if p.is_any() && self.credentials {
                return Err(at(
                    o.span(),
                    "origins",
                    "`*` with credentials = true: browsers refuse it; list the origins".into(),
                ));
            }
            if !origins.contains(&p) {
                origins.push(p);
            }
        }
        let tokens = |list: &[Spanned<String>], field: &str, lower: bool| {
            let mut out: Vec<String> = Vec::new();
            for t in list {
                let v = t.get_ref().trim();
                if v == "*" {
                    return Err(at(
                        t.span(),
                        field,
                        "`*` is not allowed in a policy: list the names".into(),
                    ));
                }
                if v.is_empty() || !v.bytes().all(is_token_byte) {
                    return Err(at(t.span(), field, format!("`{v}` is not a token")));
                }
                let v = if lower {
                    v.to_ascii_lowercase()
                } else {
                    v.to_owned()
                };
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(out)
        };
        Ok(Rule {
            methods: tokens(&self.methods, "methods", false)?,
            request_headers: tokens(&self.request_headers, "request_headers", true)?,
            exposed_headers: tokens(&self.exposed_headers, "exposed_headers", true)?,
            origins,
            credentials: self.credentials,
            max_age: self.max_age,
            vary_origin: self.vary_origin.unwrap_or(true),
            private_network: self.private_network,
        })
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The path of a URL (or the path itself), without query or fragment.
fn url_path(s: &str) -> &str {
    let path = match crate::url::scheme_sep(s) {
        Some(i) => {
            let rest = &s[i + 3..];
            rest.find('/').map_or("/", |p| &rest[p..])
        }
        None => s,
    };
    path.split(['?', '#']).next().unwrap_or("/")
}

/// `prefix` matches `path` at a segment boundary.
pub fn prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        None => false,
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
    }
}

/// The 1-based line of byte `offset`, and the key written on that line (or the table header).
fn locate(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line_no = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text
        .get(start..)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .trim();
    let field = if let Some((key, _)) = line.split_once('=') {
        key.trim().trim_matches('"').to_owned()
    } else if line.starts_with('[') {
        line.trim_matches(['[', ']']).trim().to_owned()
    } else {
        // Inside a multi-line array: the key of the closest line above with one.
        before
            .lines()
            .rev()
            .find_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
            .unwrap_or_default()
    };
    (line_no, field)
}

/// `unknown field `x``, `missing field `x``: the field named in a serde message.
fn field_in_message(msg: &str) -> String {
    msg.split('`').nth(1).unwrap_or_default().to_owned()
}

/// The line of the `i`-th `[[route]]` header.
fn nth_route_line(text: &str, i: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[route]]"))
        .nth(i)
        .map_or(1, |(n, _)| n + 1)
}

/// An exchange for the unit tests of this module's parts: `req` and `resp` headers, status.
#[cfg(test)]
fn test_exchange(
    method: &str,
    url: &str,
    req: &[(&str, &str)],
    resp: Option<(u16, &[(&str, &str)])>,
) -> crate::model::Exchange {
    use crate::model::{Location, Request, Response, SourceRef, Timestamp};
    crate::model::Exchange {
        source: SourceRef {
            input: std::sync::Arc::from("t"),
            location: Location::HarEntry(0),
        },
        time: Timestamp(1_000_000_000),
        client: None,
        server: None,
        connection: None,
        request: Request {
            method: method.into(),
            url: url.into(),
            http_version: "HTTP/1.1".into(),
            headers: req.iter().map(|(n, v)| (*n, *v)).collect(),
        },
        response: resp.map(|(status, h)| Response {
            status,
            headers: h.iter().map(|(n, v)| (*n, *v)).collect(),
        }),
        failure: None,
        hints: Default::default(),
    }
}

/// `s` as a regular expression matching it literally: PCRE (nginx, Apache) and Python's `re`
/// (the per-route renderings) escape the same characters.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ".^$*+?()[]{}|\\".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[default]
origins = []

[[route]]
prefix = "/v1/things/"
origins = ["https://app.example.com", "https://*.example.com"]
methods = ["GET", "DELETE"]
request_headers = ["Content-Type", "X-Api-Key"]
exposed_headers = ["X-Request-Id"]
credentials = true
max_age = 600

[[route]]
prefix = "/v1"
origins = ["http://localhost:5173"]
vary_origin = false
"#;

    #[test]
    fn parses_and_picks_the_longest_prefix() {
        let p = Policy::parse("policy.toml", GOOD).unwrap();
        assert_eq!(p.routes.len(), 2);
        let (prefix, r) = p.rule_for("https://api.example.com/v1/things/7?x=1");
        assert_eq!(prefix, Some("/v1/things/"));
        assert!(r.credentials);
        assert_eq!(r.request_headers, ["content-type", "x-api-key"]);
        assert!(r.allows_header("X-API-KEY"));
        assert!(r.allows_method("DELETE") && !r.allows_method("delete"));
        assert_eq!(p.rule_for("/v1/other").0, Some("/v1"));
        assert!(!p.rule_for("/v1/other").1.vary_origin);
        assert_eq!(p.rule_for("/v1x").0, None);
        assert_eq!(p.rule_for("/").0, None);
    }

    fn err(text: &str) -> (usize, String, String) {
        match Policy::parse("policy.toml", text) {
            Err(PolicyError::At {
                line,
                field,
                message,
                ..
            }) => (line, field, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let (line, field, msg) = err("[[route]]\nprefix = \"/a\"\ncolour = 1\n");
        assert_eq!((line, field.as_str()), (3, "colour"), "{msg}");
        let (line, field, _) = err("[[route]]\nprefix = \"/a\"\ncredentials = \"yes\"\n");
        assert_eq!((line, field.as_str()), (3, "credentials"));
        let (line, field, msg) = err(
            "[[route]]\nprefix = \"/a\"\norigins = [\n  \"https://a.example\",\n  \"null\",\n]\n",
        );
        assert_eq!((line, field.as_str()), (5, "origins"), "{msg}");
        let (line, field, _) =
            err("[[route]]\nprefix = \"/a\"\ncredentials = true\norigins = [\"*\"]\n");
        assert_eq!((line, field.as_str()), (4, "origins"));
        let (line, field, _) = err("[default]\nprefix = \"/a\"\n");
        assert_eq!((line, field.as_str()), (2, "prefix"));
        let (line, field, _) = err("\n[[route]]\norigins = []\n");
        assert_eq!((line, field.as_str()), (2, "prefix"));
        let (line, field, _) = err("[[route]]\nprefix = \"/a\"\nmethods = [\"GET\", \"*\"]\n");
        assert_eq!((line, field.as_str()), (3, "methods"));
        let (line, _, _) = err("[default]\norigins = [\n");
        assert!(line >= 2);
        let e = Policy::parse("p.toml", "[[route]]\nprefix = \"a\"\n").unwrap_err();
        assert!(e.to_string().starts_with("p.toml:2: prefix: "), "{e}");
    }

    #[test]
    fn schema_is_json() {
        let v: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(v["type"], "object");
    }
}
