//! Which server stack answered, from the traffic: `Server` and `X-Powered-By`, the header
//! shapes each stack's CORS layer and defaults leave (header-name case, the `Vary` lists of
//! Spring and django-cors-headers, cors' preflight answer, Django's security headers), and,
//! where both hops of a request are seen, which layer is the proxy and which the app. Reports
//! show the fix for the detected stack first (`--stack` overrides).
//!
//! Bodies are never kept, so default error pages are recognised by their headers only.

use crate::fix::Stack;
use crate::hop::{HopFacts, Visible};
use crate::model::{Headers, Response};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Where a detected stack sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The only layer the response shows.
    Server,
    /// A reverse proxy in front of the app.
    Proxy,
    /// The application behind a proxy.
    App,
}

impl Role {
    /// As reports and metrics spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Proxy => "proxy",
            Role::App => "app",
        }
    }
}

/// The command-line and report id of a stack (`--stack` values).
pub fn id(s: Stack) -> &'static str {
    match s {
        Stack::Express => "express",
        Stack::Nginx => "nginx",
        Stack::FastApi => "fastapi",
        Stack::Flask => "flask",
        Stack::Django => "django",
        Stack::Spring => "spring",
        Stack::AspNetCore => "aspnetcore",
        Stack::Apache => "apache",
    }
}

/// The stack with this id.
pub fn from_id(s: &str) -> Option<Stack> {
    Stack::ALL.into_iter().find(|x| id(*x) == s)
}

/// One stack detected on an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detected {
    /// The stack, by its `--stack` id.
    #[serde(serialize_with = "ser_stack")]
    pub stack: Stack,
    /// Where it sits.
    pub role: Role,
    /// The header that told it (`Server: nginx/1.22.1`).
    pub evidence: String,
    /// This layer wrote the CORS headers (or the traffic cannot tell which layer did): its
    /// fix is the one to show.
    pub fix_here: bool,
}

fn ser_stack<S: serde::Serializer>(s: &Stack, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(id(*s))
}

/// Proxies that may also be the whole server.
fn is_proxy_capable(s: Stack) -> bool {
    matches!(s, Stack::Nginx | Stack::Apache)
}

/// The stacks one response's headers show, with the header that told each (at most one per
/// stack), in the order found.
pub fn from_headers(h: &Headers) -> Vec<(Stack, String)> {
    stacks_of(h, true)
}

/// [`from_headers`]; the evidence only when `evidence` (a clean pass is only counted, and
/// every response passes here).
fn stacks_of(h: &Headers, evidence: bool) -> Vec<(Stack, String)> {
    let mut out: Vec<(Stack, String)> = Vec::new();
    let mut add = |s: Stack, why: &dyn Fn() -> String| {
        if !out.iter().any(|(x, _)| *x == s) {
            out.push((s, if evidence { why() } else { String::new() }));
        }
    };
    let line = |name: &str, v: &str| -> String {
        let v = v.trim();
        let cut = v.char_indices().nth(60).map_or(v.len(), |(i, _)| i);
        format!("{name}: {}", &v[..cut])
    };
    let server = h.get_str("server");
    let powered = h.get_str("x-powered-by");
    let django = django_shape(h);
    if let Some(s) = server.as_deref() {
        let t = s.trim();
        let starts = |p: &str| t.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
        let found = if starts("nginx") || starts("openresty") {
            Some(Stack::Nginx)
        } else if starts("apache") && !starts("apache-coyote") {
            Some(Stack::Apache)
        } else if starts("kestrel") {
            Some(Stack::AspNetCore)
        } else if starts("werkzeug") {
            Some(Stack::Flask)
        } else if starts("wsgiserver") || starts("daphne") {
            Some(Stack::Django)
        } else if (starts("uvicorn") || starts("hypercorn")) && django.is_none() {
            Some(Stack::FastApi)
        } else {
            None
        };
        if let Some(stack) = found {
            add(stack, &|| line("Server", s));
        }
    }
    if let Some(p) = powered.as_deref() {
        let t = p.trim();
        if t.eq_ignore_ascii_case("express") {
            add(Stack::Express, &|| line("X-Powered-By", p));
        } else if t
            .get(..7)
            .is_some_and(|x| x.eq_ignore_ascii_case("asp.net"))
        {
            add(Stack::AspNetCore, &|| line("X-Powered-By", p));
        }
    }
    if let Some(why) = django {
        add(Stack::Django, &|| why.to_owned());
    }
    if let Some(why) = spring_shape(h) {
        add(Stack::Spring, &|| why.to_owned());
    }
    if let Some(methods) = express_cors_shape(h) {
        add(Stack::Express, &|| {
            format!("Access-Control-Allow-Methods: {} (cors)", methods.trim())
        });
    }
    out
}

/// django-cors-headers writes `Vary: origin` in lower case and lists `x-csrftoken` in its
/// default allowed headers; Django's SecurityMiddleware sends `X-Frame-Options: DENY` with
/// `Referrer-Policy: same-origin`.
fn django_shape(h: &Headers) -> Option<&'static str> {
    if h.get_all("vary")
        .any(|v| v.split(|b| *b == b',').any(|e| e.trim_ascii() == b"origin"))
    {
        return Some("Vary: origin (django-cors-headers)");
    }
    if h.get_str("access-control-allow-headers")
        .is_some_and(|v| v.contains("x-csrftoken"))
    {
        return Some("Access-Control-Allow-Headers: …x-csrftoken (django-cors-headers)");
    }
    let deny = h
        .get_str("x-frame-options")
        .is_some_and(|v| v.trim() == "DENY");
    let same_origin = h
        .get_str("referrer-policy")
        .is_some_and(|v| v.trim() == "same-origin");
    (deny && same_origin).then_some("X-Frame-Options: DENY, Referrer-Policy: same-origin")
}

/// Spring's CORS processor varies on exactly `Origin`, `Access-Control-Request-Method` and
/// `Access-Control-Request-Headers`.
fn spring_shape(h: &Headers) -> Option<&'static str> {
    // Runs for every response: the elements are compared in place, nothing is copied.
    let mut seen = [false; 3];
    for e in h.get_all("vary").flat_map(|v| v.split(|b| *b == b',')) {
        let e = e.trim_ascii();
        for (i, n) in [
            &b"Origin"[..],
            b"Access-Control-Request-Method",
            b"Access-Control-Request-Headers",
        ]
        .iter()
        .enumerate()
        {
            seen[i] |= e == *n;
        }
    }
    (seen == [true; 3]).then_some(
        "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers (Spring)",
    )
}

/// The `cors` package answers a preflight 204 with methods joined without spaces
/// (`GET,HEAD,PUT,PATCH,POST,DELETE`) and `Vary: Origin, Access-Control-Request-Headers`.
/// Returns the methods.
fn express_cors_shape(h: &Headers) -> Option<Cow<'_, str>> {
    let methods = h.get_str("access-control-allow-methods")?;
    let vary = h.get_str("vary")?;
    (methods.contains(',')
        && !methods.contains(", ")
        && vary.trim() == "Origin, Access-Control-Request-Headers")
        .then_some(methods)
}

/// The stacks of a judged exchange: its response's, and where an inner hop was seen, the
/// app's (the inner hop's) and the proxy's (what only the browser-facing answer shows). The
/// layer to fix is the one that wrote the CORS headers when the hops tell it; where they do not
/// (no CORS header at either hop, or one answer showing both a proxy and an app), both are
/// marked, the app first (the common case: the app handles CORS).
pub fn detect(
    browser: Option<&Response>,
    inner: Option<&Response>,
    hop: Option<&HopFacts>,
) -> Vec<Detected> {
    detect_with(browser, inner, hop, true)
}

/// [`detect`]; without `evidence`, every `evidence` empty: for a tally ([`StackTally::add`]),
/// which reads none.
pub fn detect_with(
    browser: Option<&Response>,
    inner: Option<&Response>,
    hop: Option<&HopFacts>,
    evidence: bool,
) -> Vec<Detected> {
    let outer = browser
        .map(|r| stacks_of(&r.headers, evidence))
        .unwrap_or_default();
    let mut out = Vec::new();
    let d = |stack, role, evidence, fix_here| Detected {
        stack,
        role,
        evidence,
        fix_here,
    };
    match inner {
        Some(app) => {
            let layers = hop.map_or(&[][..], |h| &h.layers[..]);
            let proxy_wrote = layers.iter().any(|l| l.set_by.by_proxy());
            let app_wrote = !proxy_wrote && !layers.is_empty();
            let app_stacks = stacks_of(&app.headers, evidence);
            for (s, why) in &app_stacks {
                out.push(d(*s, Role::App, why.clone(), !proxy_wrote));
            }
            for (s, why) in outer {
                if !app_stacks.iter().any(|(x, _)| *x == s) {
                    out.push(d(s, Role::Proxy, why, !app_wrote));
                }
            }
            if proxy_wrote {
                out.sort_by_key(|d| d.role != Role::Proxy);
            }
        }
        None => {
            let two = outer.iter().any(|(s, _)| is_proxy_capable(*s))
                && outer.iter().any(|(s, _)| !is_proxy_capable(*s));
            let behind_proxy = hop.is_some_and(|h| h.visible == Visible::InnerOnly);
            for (s, why) in outer {
                let role = if behind_proxy {
                    Role::App
                } else if !two {
                    Role::Server
                } else if is_proxy_capable(s) {
                    Role::Proxy
                } else {
                    Role::App
                };
                out.push(d(s, role, why, true));
            }
            out.sort_by_key(|d| d.role == Role::Proxy);
        }
    }
    out
}

/// Detected stacks counted: per (stack, role), how often, and how often as the layer to fix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackTally {
    counts: BTreeMap<(Stack, Role), (u64, u64)>,
}

/// One row of a stack tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRow {
    /// The stack's `--stack` id.
    pub stack: String,
    /// `server`, `proxy` or `app`.
    pub role: String,
    /// Exchanges it was detected on.
    pub count: u64,
    /// Exchanges where it is the layer to fix (it wrote the CORS headers, or the traffic
    /// cannot tell which layer did).
    pub fix_here: u64,
}

impl StackTally {
    /// Counts one exchange's detections.
    pub fn add(&mut self, d: &[Detected]) {
        for x in d {
            let c = self.counts.entry((x.stack, x.role)).or_default();
            c.0 += 1;
            if x.fix_here {
                c.1 += 1;
            }
        }
    }

    /// Nothing detected.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Rows, the stack to fix first first.
    pub fn rows(&self) -> Vec<StackRow> {
        let mut v: Vec<StackRow> = self
            .counts
            .iter()
            .map(|((s, r), (count, fix_here))| StackRow {
                stack: id(*s).to_owned(),
                role: r.as_str().to_owned(),
                count: *count,
                fix_here: *fix_here,
            })
            .collect();
        v.sort_by(|a, b| {
            b.fix_here
                .cmp(&a.fix_here)
                .then(b.count.cmp(&a.count))
                .then_with(|| a.stack.cmp(&b.stack))
        });
        v
    }

    /// The stacks to show fixes for, the layer to fix first (each once): those marked as the
    /// layer to fix on some exchange.
    pub fn stacks(&self) -> Vec<(Stack, Role)> {
        let mut out: Vec<(Stack, Role)> = Vec::new();
        for r in self.rows().into_iter().filter(|r| r.fix_here > 0) {
            if let Some(s) = from_id(&r.stack)
                && !out.iter().any(|(x, _)| *x == s)
            {
                let role = match r.role.as_str() {
                    "proxy" => Role::Proxy,
                    "app" => Role::App,
                    _ => Role::Server,
                };
                out.push((s, role));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(h: &[(&str, &str)]) -> Response {
        Response {
            status: 200,
            headers: h.iter().copied().collect(),
        }
    }

    fn ids(d: &[Detected]) -> Vec<(&'static str, &'static str)> {
        d.iter().map(|x| (id(x.stack), x.role.as_str())).collect()
    }

    #[test]
    fn servers_and_frameworks() {
        for (h, want) in [
            (vec![("Server", "nginx/1.22.1")], "nginx"),
            (vec![("Server", "Apache/2.4.62 (Debian)")], "apache"),
            (vec![("X-Powered-By", "Express")], "express"),
            (
                vec![("server", "uvicorn"), ("content-type", "application/json")],
                "fastapi",
            ),
            (vec![("Server", "Werkzeug/3.0.1 Python/3.11.2")], "flask"),
            (vec![("Server", "Kestrel")], "aspnetcore"),
            (
                vec![
                    ("server", "uvicorn"),
                    ("Vary", "origin"),
                    ("X-Frame-Options", "DENY"),
                ],
                "django",
            ),
            (
                vec![
                    ("Vary", "Origin"),
                    ("Vary", "Access-Control-Request-Method"),
                    ("Vary", "Access-Control-Request-Headers"),
                ],
                "spring",
            ),
            (
                vec![
                    (
                        "Access-Control-Allow-Methods",
                        "GET,HEAD,PUT,PATCH,POST,DELETE",
                    ),
                    ("Vary", "Origin, Access-Control-Request-Headers"),
                ],
                "express",
            ),
        ] {
            let d = detect(Some(&resp(&h)), None, None);
            assert_eq!(ids(&d), vec![(want, "server")], "{h:?}");
        }
        assert!(detect(Some(&resp(&[("Server", "cloudflare")])), None, None).is_empty());
        assert!(detect(Some(&resp(&[("Server", "Apache-Coyote/1.1")])), None, None).is_empty());
    }

    #[test]
    fn proxy_and_app_in_one_answer_app_first() {
        let d = detect(
            Some(&resp(&[("Server", "nginx"), ("X-Powered-By", "Express")])),
            None,
            None,
        );
        assert_eq!(ids(&d), vec![("express", "app"), ("nginx", "proxy")]);
    }
}
