//! Suggest: the tightest policy under which every cross-origin request the traffic shows
//! from a legitimate origin succeeds. Per route prefix (the route templates' fixed part),
//! exact origins only (never `*`, never `null`, never a reflection), only the methods, request
//! headers and exposed headers seen, credentials only where the traffic needs them. Origins
//! that do not look like a page's (no `Origin`, `null`, not an origin, an `http` page calling
//! an `https` API) are left out and counted in a comment.

use super::{OriginPattern, Policy, Route, Rule, is_token_byte};
use crate::cors::{Classification, ExchangeType, Kind, VerdictClass, request_facts};
use crate::model::{Exchange, Timestamp};
use crate::url::route;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Distinct routes remembered (the rest is counted).
pub const ROUTES_CAP: usize = 2000;
/// Distinct origins remembered per route.
pub const ORIGINS_CAP: usize = 200;
/// Chromium's cap on `Access-Control-Max-Age`, seconds.
pub const MAX_AGE_CAP: u32 = 7200;

/// How often an origin was seen, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Requests (preflights that guard a seen request not counted twice).
    pub count: u64,
    /// First request.
    pub first: Timestamp,
    /// Last request.
    pub last: Timestamp,
}

impl Seen {
    fn add(&mut self, t: Timestamp, counted: bool) {
        self.count += u64::from(counted);
        self.first = self.first.min(t);
        self.last = self.last.max(t);
    }
}

/// What one route template needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Origins and how often.
    pub origins: BTreeMap<String, Seen>,
    /// Methods as sent.
    pub methods: BTreeSet<String>,
    /// Request header names, lowercase.
    pub headers: BTreeSet<String>,
    /// Response headers the page reads, lowercase.
    pub exposed: BTreeSet<String>,
    /// Credentialed requests seen.
    pub credentials: bool,
    /// The largest `Access-Control-Max-Age` seen (capped).
    pub max_age: Option<u32>,
    /// Private-network preflights seen.
    pub private_network: bool,
    /// Requests whose answer reflected the origin among many (the server echoes anything):
    /// their origins are listed because the traffic shows them, not because they are vetted.
    pub reflected: u64,
}

impl Needs {
    fn rule(&self) -> Rule {
        Rule {
            origins: self
                .origins
                .keys()
                .filter_map(|o| OriginPattern::parse(o).ok())
                .collect(),
            methods: self.methods.iter().cloned().collect(),
            request_headers: self.headers.iter().cloned().collect(),
            exposed_headers: self.exposed.iter().cloned().collect(),
            credentials: self.credentials,
            max_age: self.max_age,
            vary_origin: true,
            private_network: self.private_network,
        }
    }

    fn merge(&mut self, o: &Needs) {
        for (k, s) in &o.origins {
            let e = self.origins.entry(k.clone()).or_insert(*s);
            if e != s {
                e.count += s.count;
                e.first = e.first.min(s.first);
                e.last = e.last.max(s.last);
            }
        }
        self.methods.extend(o.methods.iter().cloned());
        self.headers.extend(o.headers.iter().cloned());
        self.exposed.extend(o.exposed.iter().cloned());
        self.credentials |= o.credentials;
        self.max_age = self.max_age.max(o.max_age);
        self.private_network |= o.private_network;
        self.reflected += o.reflected;
    }
}

/// What the traffic showed, per route template, for [`SuggestBook::suggest`].
#[derive(Debug, Clone, Default)]
pub struct SuggestBook {
    /// Per route template.
    pub routes: BTreeMap<String, Needs>,
    /// Requests left out, by why (`null origin`, `http page to https API: http://x`...).
    pub excluded: BTreeMap<String, u64>,
    /// Requests of routes past [`ROUTES_CAP`] or origins past [`ORIGINS_CAP`].
    pub overflow: u64,
}

impl SuggestBook {
    /// Records one CORS exchange from `origin`; `counted`: it is a request of its own (not a
    /// preflight guarding a request seen).
    pub fn record(
        &mut self,
        ex: &Exchange,
        origin: Option<&str>,
        c: &Classification,
        counted: bool,
    ) {
        let Some(origin) = origin.map(str::trim) else {
            *self.excluded.entry("no Origin".into()).or_default() += u64::from(counted);
            return;
        };
        if let Some(why) = illegitimate(origin, &ex.request.url) {
            *self.excluded.entry(why).or_default() += u64::from(counted);
            return;
        }
        let key = route(&ex.request.url);
        if !self.routes.contains_key(&key) && self.routes.len() >= ROUTES_CAP {
            self.overflow += u64::from(counted);
            return;
        }
        let needs = self.routes.entry(key).or_default();
        let full = needs.origins.len() >= ORIGINS_CAP;
        match needs.origins.get_mut(origin) {
            Some(s) => s.add(ex.time, counted),
            None if full => {
                self.overflow += u64::from(counted);
                return;
            }
            None => {
                needs.origins.insert(
                    origin.to_owned(),
                    Seen {
                        count: u64::from(counted),
                        first: ex.time,
                        last: ex.time,
                    },
                );
            }
        }
        let h = &ex.request.headers;
        let preflight = matches!(c.exchange_type(), Some(ExchangeType::Preflight));
        let method = if preflight {
            h.get_str("access-control-request-method")
                .map(|m| m.trim().to_owned())
        } else {
            Some(ex.request.method.clone())
        };
        if let Some(m) = method.filter(|m| token(m) && m != "OPTIONS") {
            needs.methods.insert(m);
        }
        for name in request_facts(ex).unsafe_headers {
            if token(&name) {
                needs.headers.insert(name);
            }
        }
        let resp = ex.response.as_ref().map(|r| &r.headers);
        if let Some(r) = resp {
            for v in r.get_all("access-control-expose-headers") {
                for e in v.split(|&b| b == b',') {
                    let e = String::from_utf8_lossy(e.trim_ascii()).to_ascii_lowercase();
                    if token(&e) && e != "*" {
                        needs.exposed.insert(e);
                    }
                }
            }
            if preflight
                && let Some(m) = r
                    .get_str("access-control-max-age")
                    .and_then(|v| v.trim().parse::<u32>().ok())
            {
                needs.max_age = needs.max_age.max(Some(m.min(MAX_AGE_CAP)));
            }
        }
        for v in &c.verdicts {
            if v.kind == Kind::ExposeHeaderHidden
                && let Some(p) = &v.failed_parameter
                && token(p)
            {
                needs.exposed.insert(p.to_ascii_lowercase());
            }
        }
        let blocked = c.blocked().map(|v| v.kind);
        let cookie = h.contains("cookie");
        let granted = c
            .verdicts
            .iter()
            .all(|v| v.class() != VerdictClass::Blocked)
            && resp.is_some_and(|r| {
                r.get_str("access-control-allow-credentials")
                    .is_some_and(|v| v.trim() == "true")
                    && r.get_str("access-control-allow-origin")
                        .is_some_and(|a| a.trim() == origin)
            });
        let refused_credentials = matches!(
            blocked,
            Some(
                Kind::AcacInvalid
                    | Kind::WildcardWithCredentials
                    | Kind::PreflightCredentialsFail
                    | Kind::MethodWildcardWithCredentials
                    | Kind::HeaderWildcardWithCredentials
            )
        );
        needs.credentials |= cookie || granted || refused_credentials;
        let pna = h
            .get("access-control-request-private-network")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
        needs.private_network |= pna;
        if c.verdicts.iter().any(|v| {
            matches!(
                v.kind,
                Kind::SecOriginReflectedWithCredentials | Kind::SecOriginReflectedNoCredentials
            )
        }) {
            needs.reflected += 1;
        }
    }

    /// The suggestion: one rule per route prefix, siblings with the same rule merged under
    /// their parent prefix; the default allows nothing.
    pub fn suggest(&self) -> Suggestion {
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for (r, needs) in &self.routes {
            let g = groups.entry(prefix_of(r)).or_default();
            g.needs.merge(needs);
            g.routes.push(r.clone());
        }
        // Siblings that need exactly the same go under their parent, until nothing changes.
        loop {
            let mut by_parent: BTreeMap<(String, Rule), Vec<String>> = BTreeMap::new();
            for (p, g) in &groups {
                if let Some(parent) = parent_of(p) {
                    by_parent
                        .entry((parent, g.needs.rule()))
                        .or_default()
                        .push(p.clone());
                }
            }
            // The largest set of identical siblings first (then the first in order).
            let Some(((parent, _), members)) = by_parent
                .into_iter()
                .filter(|((parent, _), m)| m.len() >= 2 && !groups.contains_key(parent))
                .rev()
                .max_by_key(|(_, m)| m.len())
            else {
                break;
            };
            let mut merged = Group::default();
            for m in members {
                if let Some(g) = groups.remove(&m) {
                    merged.needs.merge(&g.needs);
                    merged.routes.extend(g.routes);
                }
            }
            groups.insert(parent, merged);
        }
        Suggestion {
            routes: groups
                .into_iter()
                .map(|(prefix, g)| SuggestedRoute {
                    rule: g.needs.rule(),
                    prefix,
                    needs: g.needs,
                    routes: g.routes,
                })
                .collect(),
            excluded: self.excluded.clone(),
            overflow: self.overflow,
        }
    }
}

#[derive(Default)]
struct Group {
    needs: Needs,
    routes: Vec<String>,
}

// A `Rule` is only compared and ordered to group siblings.
impl PartialOrd for Rule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rule {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let key = |r: &Rule| {
            (
                r.origins
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                r.methods.clone(),
                r.request_headers.clone(),
                r.exposed_headers.clone(),
                (r.credentials, r.max_age, r.vary_origin, r.private_network),
            )
        };
        key(self).cmp(&key(other))
    }
}

/// Why `origin` is not one to allow, for a request to `url`.
fn illegitimate(origin: &str, url: &str) -> Option<String> {
    if origin.eq_ignore_ascii_case("null") {
        return Some("Origin: null (sandboxed frame, file: page or redirect)".into());
    }
    if !matches!(
        OriginPattern::parse(origin),
        Ok(OriginPattern::Exact { .. })
    ) {
        return Some("Origin is not a serialized http(s) origin".into());
    }
    if origin.starts_with("http://") && url.starts_with("https://") {
        return Some(format!("http page calling an https API: {origin}"));
    }
    None
}

fn token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// The fixed part of a route template: up to its first `{id}`/`{long}`/`…` segment (ending in
/// `/`), or the whole route.
fn prefix_of(route: &str) -> String {
    match route.find("/{").or_else(|| route.find("/…")) {
        Some(i) => route[..=i].to_owned(),
        None => route.to_owned(),
    }
}

/// `/a/b/` and `/a/b` -> `/a/`; `/a` -> `/`; `/` -> none.
fn parent_of(prefix: &str) -> Option<String> {
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    let i = trimmed.rfind('/')?;
    Some(trimmed[..=i].to_owned())
}

/// One suggested route.
#[derive(Debug, Clone)]
pub struct SuggestedRoute {
    /// The prefix.
    pub prefix: String,
    /// What it allows.
    pub rule: Rule,
    /// What the traffic showed.
    pub needs: Needs,
    /// The route templates it covers.
    pub routes: Vec<String>,
}

/// A suggested policy, with what it rests on.
#[derive(Debug, Clone)]
pub struct Suggestion {
    /// Per prefix.
    pub routes: Vec<SuggestedRoute>,
    /// Requests left out, by why.
    pub excluded: BTreeMap<String, u64>,
    /// Requests past the caps.
    pub overflow: u64,
}

impl Suggestion {
    /// The policy.
    pub fn policy(&self) -> Policy {
        Policy {
            default: Rule::default(),
            routes: self
                .routes
                .iter()
                .map(|r| Route {
                    prefix: r.prefix.clone(),
                    rule: r.rule.clone(),
                })
                .collect(),
        }
    }

    /// The policy as TOML, the evidence as comments.
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        s.push_str(
            "# CORS policy suggested by corswatch from the traffic: the tightest that lets every\n\
             # cross-origin request from a legitimate origin succeed. Review before use.\n",
        );
        for (why, n) in &self.excluded {
            let _ = writeln!(s, "# left out: {n} request(s): {why}");
        }
        if self.overflow > 0 {
            let _ = writeln!(s, "# left out: {} request(s) past the caps", self.overflow);
        }
        s.push_str("\n[default]\norigins = []  # paths no route matches: allow nothing\n");
        for r in &self.routes {
            s.push_str("\n[[route]]\n");
            let _ = writeln!(s, "# routes: {}", r.routes.join(", "));
            if r.needs.reflected > 0 {
                let _ = writeln!(
                    s,
                    "# WARNING: the server reflected any origin on {} request(s) here: the origins below are what the traffic shows, not a vetted list; remove the ones that are not yours",
                    r.needs.reflected
                );
            }
            for (o, seen) in &r.needs.origins {
                let _ = writeln!(
                    s,
                    "# {o}: {} request(s), first {}, last {}",
                    seen.count,
                    seen.first.to_rfc3339(),
                    seen.last.to_rfc3339()
                );
            }
            let _ = writeln!(s, "prefix = {}", toml_str(&r.prefix));
            let list =
                |v: Vec<String>| v.iter().map(|x| toml_str(x)).collect::<Vec<_>>().join(", ");
            let rule = &r.rule;
            let _ = writeln!(
                s,
                "origins = [{}]",
                list(rule.origins.iter().map(ToString::to_string).collect())
            );
            let _ = writeln!(s, "methods = [{}]", list(rule.methods.clone()));
            let _ = writeln!(
                s,
                "request_headers = [{}]",
                list(rule.request_headers.clone())
            );
            if !rule.exposed_headers.is_empty() {
                let _ = writeln!(
                    s,
                    "exposed_headers = [{}]",
                    list(rule.exposed_headers.clone())
                );
            }
            let _ = writeln!(s, "credentials = {}", rule.credentials);
            if let Some(m) = rule.max_age {
                let _ = writeln!(s, "max_age = {m}");
            }
            let _ = writeln!(s, "vary_origin = {}", rule.vary_origin);
            if rule.private_network {
                s.push_str("private_network = true\n");
            }
        }
        s
    }
}

/// A TOML basic string.
pub(crate) fn toml_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(s, "\\u{:04X}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::{Context, classify};

    fn ex(method: &str, url: &str, req: &[(&str, &str)], resp: &[(&str, &str)]) -> Exchange {
        super::super::test_exchange(method, url, req, Some((200, resp)))
    }

    fn record(b: &mut SuggestBook, e: &Exchange) {
        let c = classify(e, &Context::default());
        let o = e.origin().map(|o| o.into_owned());
        b.record(e, o.as_deref(), &c, true);
    }

    #[test]
    fn tightest_policy_per_prefix_without_null_or_lookalikes() {
        let mut b = SuggestBook::default();
        let app = "https://app.example.com";
        record(
            &mut b,
            &ex(
                "OPTIONS",
                "https://api.example.com/v1/things/42",
                &[
                    ("Origin", app),
                    ("Access-Control-Request-Method", "DELETE"),
                    ("Access-Control-Request-Headers", "x-token"),
                ],
                &[("Access-Control-Max-Age", "86400")],
            ),
        );
        record(
            &mut b,
            &ex(
                "GET",
                "https://api.example.com/v1/things/7",
                &[("Origin", app), ("Cookie", "a=b")],
                &[("Access-Control-Expose-Headers", "X-Total")],
            ),
        );
        record(
            &mut b,
            &ex(
                "GET",
                "https://api.example.com/v1/things/8",
                &[("Origin", "null")],
                &[],
            ),
        );
        record(
            &mut b,
            &ex(
                "GET",
                "https://api.example.com/v1/things/8",
                &[("Origin", "http://app.example.com")],
                &[],
            ),
        );
        let s = b.suggest();
        assert_eq!(s.routes.len(), 1);
        let r = &s.routes[0];
        assert_eq!(r.prefix, "/v1/things/");
        assert_eq!(r.rule.origins.len(), 1);
        assert!(r.rule.allows_origin(app));
        assert!(!r.rule.allows_origin("https://evilapp.example.com"));
        assert_eq!(r.rule.methods, ["DELETE", "GET"]);
        assert_eq!(r.rule.request_headers, ["x-token"]);
        assert_eq!(r.rule.exposed_headers, ["x-total"]);
        assert!(r.rule.credentials);
        assert_eq!(r.rule.max_age, Some(MAX_AGE_CAP));
        assert_eq!(s.excluded.len(), 2);
        let toml = s.to_toml();
        let back = Policy::parse("s.toml", &toml).unwrap();
        assert_eq!(back, s.policy());
        assert!(!toml.contains("\"*\"") && !toml.contains("\"null\""));
    }

    #[test]
    fn identical_siblings_merge_under_their_parent() {
        let mut b = SuggestBook::default();
        for path in ["/s/a", "/s/b"] {
            record(
                &mut b,
                &ex(
                    "GET",
                    &format!("http://api.test{path}"),
                    &[("Origin", "http://web.test")],
                    &[],
                ),
            );
        }
        record(
            &mut b,
            &ex(
                "PUT",
                "http://api.test/s/c",
                &[("Origin", "http://web.test")],
                &[],
            ),
        );
        let s = b.suggest();
        let prefixes: Vec<&str> = s.routes.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(prefixes, ["/s/", "/s/c"]);
        assert_eq!(s.routes[0].routes, ["/s/a", "/s/b"]);
        assert_eq!(prefix_of("/v1/{id}/x"), "/v1/");
        assert_eq!(parent_of("/"), None);
    }
}
