//! What-if: every observed exchange re-judged as if the server had answered per a policy. The
//! CORS response headers the policy would produce for the request replace the observed ones
//! ([`synthesize`]), and the same classifier decides; [`WhatIfBook`] counts which blocked
//! requests would pass, which passing ones would break and which stay blocked.

use super::{Counts, OriginPattern, Policy};
use crate::cors::{Classification, Kind, VerdictClass};
use crate::model::{Exchange, Headers, Response};
use serde::Serialize;
use std::collections::BTreeMap;

/// Changes kept per list of the report.
pub const LIST_CAP: usize = 50;

/// `ex` as the server would have answered it under `policy`, for a request from `origin` (the
/// `Origin` header, or the page origin the recording implies). Every `Access-Control-*` and
/// `Vary` response header is replaced by the policy's; an absent or unrecorded response
/// becomes a `200` (`204` for a preflight, which the CORS layer answers itself, as it does a
/// preflight the server refused); the recording's failure marks are dropped, since the
/// browser's decision is what is being re-made.
pub fn synthesize(policy: &Policy, ex: &Exchange, origin: Option<&str>) -> Exchange {
    let preflight = ex.is_preflight();
    let mut out = ex.clone();
    // A request the browser kept back (its preflight failed) is recorded without the `Origin`
    // it would have carried (DevTools' provisional headers): without it, and without the
    // failure mark dropped below, the re-judged request would look same-origin and pass.
    if let Some(o) = origin.map(str::trim).filter(|o| !o.is_empty())
        && ex.origin().is_none()
    {
        out.request.headers.push(b"Origin", o.as_bytes());
    }
    out.failure = None;
    out.hints.h2_reset = None;
    let (status, kept) = match &ex.response {
        Some(r) if r.status > 0 => (r.status, Some(&r.headers)),
        Some(r) => (0, Some(&r.headers)),
        None => (0, None),
    };
    let status = match (preflight, status) {
        (true, s) if !(200..300).contains(&s) => 204,
        (false, 0) => 200,
        (_, s) => s,
    };
    let mut headers = Headers::new();
    for (name, value) in kept.into_iter().flat_map(|h| h.iter()) {
        let lower = name.to_ascii_lowercase();
        if !lower.starts_with("access-control-") && lower != "vary" {
            headers.push(name.as_bytes(), value);
        }
    }
    for (name, value) in cors_headers(policy, ex, origin) {
        headers.push(name.as_bytes(), value.as_bytes());
    }
    out.response = Some(Response { status, headers });
    out
}

/// The CORS response headers `policy` answers `ex` with, for a request from `origin`.
pub fn cors_headers(
    policy: &Policy,
    ex: &Exchange,
    origin: Option<&str>,
) -> Vec<(&'static str, String)> {
    let (_, rule) = policy.rule_for(&ex.request.url);
    let mut out = Vec::new();
    let origin = origin.map(str::trim).filter(|o| !o.is_empty());
    let explicit = origin.filter(|o| {
        rule.origins
            .iter()
            .any(|p| !matches!(p, OriginPattern::Any) && p.matches(o))
    });
    let acao = match explicit {
        Some(o) => Some(o.to_owned()),
        None if rule.origins.iter().any(OriginPattern::is_any) && origin.is_some() => {
            Some("*".to_owned())
        }
        None => None,
    };
    let star = acao.as_deref() == Some("*");
    if rule.vary_origin && !star {
        out.push(("Vary", "Origin".to_owned()));
    }
    let Some(acao) = acao else {
        return out;
    };
    out.push(("Access-Control-Allow-Origin", acao));
    if rule.credentials {
        out.push(("Access-Control-Allow-Credentials", "true".to_owned()));
    }
    if ex.is_preflight() {
        if !rule.methods.is_empty() {
            out.push(("Access-Control-Allow-Methods", rule.methods.join(", ")));
        }
        if !rule.request_headers.is_empty() {
            out.push((
                "Access-Control-Allow-Headers",
                rule.request_headers.join(", "),
            ));
        }
        if let Some(m) = rule.max_age {
            out.push(("Access-Control-Max-Age", m.to_string()));
        }
        let pna = ex
            .request
            .headers
            .get("access-control-request-private-network")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
        if pna && rule.private_network {
            out.push(("Access-Control-Allow-Private-Network", "true".to_owned()));
        }
    } else if !rule.exposed_headers.is_empty() {
        out.push((
            "Access-Control-Expose-Headers",
            rule.exposed_headers.join(", "),
        ));
    }
    out
}

/// How the policy changes one request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Blocked today, passes under the policy.
    NowPass,
    /// Passes today, blocked under the policy.
    NowBreak,
    /// Blocked today and under the policy.
    StillBlocked,
    /// Passes today and under the policy.
    StillPass,
}

impl Change {
    /// From the blocking kinds before and after.
    pub fn of(before: Option<Kind>, after: Option<Kind>) -> Change {
        match (before.is_some(), after.is_some()) {
            (true, false) => Change::NowPass,
            (false, true) => Change::NowBreak,
            (true, true) => Change::StillBlocked,
            (false, false) => Change::StillPass,
        }
    }
}

/// One request whose fate the policy changes (or leaves blocked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The input.
    pub source: String,
    /// HAR entry index or first packet number.
    pub index: u64,
    /// The request's origin.
    pub origin: Option<String>,
    /// The method as sent.
    pub method: String,
    /// The route template.
    pub route: String,
    /// The blocking kind today.
    pub before: Option<Kind>,
    /// The blocking kind under the policy.
    pub after: Option<Kind>,
}

/// One list of the what-if: a count, the origins, the first requests.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// Requests.
    pub count: u64,
    /// By origin.
    pub origins: Counts,
    /// The first [`LIST_CAP`].
    pub items: Vec<Item>,
}

impl Bucket {
    fn add(&mut self, item: Item) {
        self.count += 1;
        self.origins
            .add(item.origin.as_deref().unwrap_or("(none)"), 1000);
        if self.items.len() < LIST_CAP {
            self.items.push(item);
        }
    }
}

/// The what-if of a run: requests by how the policy changes them, and the security findings
/// the policy would bring that the observed answers did not have.
#[derive(Debug, Clone, Default)]
pub struct WhatIfBook {
    /// Blocked today, pass under the policy.
    pub now_pass: Bucket,
    /// Pass today, blocked under the policy.
    pub now_break: Bucket,
    /// Blocked either way.
    pub still_blocked: Bucket,
    /// Requests that pass either way.
    pub still_pass: u64,
    /// Findings (by kind) the policy's answers raise and the observed ones did not.
    pub new_findings: BTreeMap<Kind, u64>,
}

impl WhatIfBook {
    /// Records one request judged today (`before`) and under the policy (`after`).
    pub fn record(&mut self, item: Item, before: &Classification, after: &Classification) {
        for v in &after.verdicts {
            if v.class() == VerdictClass::Finding
                && !before.verdicts.iter().any(|b| b.kind == v.kind)
            {
                *self.new_findings.entry(v.kind).or_default() += 1;
            }
        }
        match Change::of(item.before, item.after) {
            Change::NowPass => self.now_pass.add(item),
            Change::NowBreak => self.now_break.add(item),
            Change::StillBlocked => self.still_blocked.add(item),
            Change::StillPass => self.still_pass += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::parse(
            "p.toml",
            r#"
[[route]]
prefix = "/api/"
origins = ["https://app.example.com"]
methods = ["PUT"]
request_headers = ["x-token"]
exposed_headers = ["x-total"]
credentials = true
max_age = 600
"#,
        )
        .unwrap()
    }

    fn ex(method: &str, req: &[(&str, &str)], resp: Option<(u16, &[(&str, &str)])>) -> Exchange {
        super::super::test_exchange(method, "https://api.example.com/api/x", req, resp)
    }

    fn header(e: &Exchange, n: &str) -> Option<String> {
        e.response.as_ref().and_then(|r| r.headers.combined_str(n))
    }

    #[test]
    fn a_request_recorded_without_origin_is_re_judged_with_the_origin_it_implies() {
        // The actual request of a failed preflight, as DevTools records it: no Origin header.
        let p = policy();
        let kept_back = ex("PUT", &[("Content-Type", "application/json")], None);
        for (origin, allowed) in [
            ("https://app.example.com", true),
            ("https://evil.example.net", false),
        ] {
            let s = synthesize(&p, &kept_back, Some(origin));
            assert_eq!(s.origin().as_deref(), Some(origin));
            assert_eq!(
                header(&s, "access-control-allow-origin").is_some(),
                allowed,
                "{origin}"
            );
        }
        // An Origin recorded stays the only one.
        let sent = ex("GET", &[("Origin", "https://app.example.com")], None);
        let s = synthesize(&p, &sent, Some("https://other.example.com"));
        assert_eq!(s.request.headers.get_all("origin").count(), 1);
    }

    #[test]
    fn preflight_gets_the_policy_headers_and_a_2xx() {
        let p = policy();
        let pre = ex(
            "OPTIONS",
            &[
                ("Origin", "https://app.example.com"),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Headers", "x-token"),
            ],
            Some((
                405,
                &[
                    ("Access-Control-Allow-Origin", "*"),
                    ("Vary", "Accept-Encoding"),
                    ("Content-Type", "text/plain"),
                ],
            )),
        );
        let s = synthesize(&p, &pre, Some("https://app.example.com"));
        assert_eq!(s.response.as_ref().unwrap().status, 204);
        assert_eq!(
            header(&s, "access-control-allow-origin").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            header(&s, "access-control-allow-credentials").as_deref(),
            Some("true")
        );
        assert_eq!(
            header(&s, "access-control-allow-methods").as_deref(),
            Some("PUT")
        );
        assert_eq!(
            header(&s, "access-control-allow-headers").as_deref(),
            Some("x-token")
        );
        assert_eq!(header(&s, "access-control-max-age").as_deref(), Some("600"));
        assert_eq!(header(&s, "vary").as_deref(), Some("Origin"));
        assert_eq!(header(&s, "content-type").as_deref(), Some("text/plain"));
        assert_eq!(header(&s, "access-control-expose-headers"), None);
    }

    #[test]
    fn refused_origin_gets_no_cors_headers_and_actual_gets_expose() {
        let p = policy();
        let get = ex(
            "GET",
            &[("Origin", "https://evil.example")],
            Some((
                200,
                &[("Access-Control-Allow-Origin", "https://evil.example")],
            )),
        );
        let s = synthesize(&p, &get, Some("https://evil.example"));
        assert_eq!(header(&s, "access-control-allow-origin"), None);
        assert_eq!(header(&s, "vary").as_deref(), Some("Origin"));
        let ok = ex("GET", &[("Origin", "https://app.example.com")], None);
        let s = synthesize(&p, &ok, Some("https://app.example.com"));
        assert_eq!(s.response.as_ref().unwrap().status, 200);
        assert_eq!(
            header(&s, "access-control-expose-headers").as_deref(),
            Some("x-total")
        );
        // Outside every route: the default allows nothing.
        let mut other = ok.clone();
        other.request.url = "https://api.example.com/other".into();
        let s = synthesize(&p, &other, Some("https://app.example.com"));
        assert_eq!(header(&s, "access-control-allow-origin"), None);
    }

    #[test]
    fn wildcard_policy_answers_star_without_vary() {
        let p = Policy::parse("p.toml", "[default]\norigins = [\"*\"]\n").unwrap();
        let get = ex("GET", &[("Origin", "https://a.example")], None);
        let h = cors_headers(&p, &get, Some("https://a.example"));
        assert_eq!(h, vec![("Access-Control-Allow-Origin", "*".to_owned())]);
    }
}
