//! Drift: what the server actually answered, compared with a declared policy. Each rule is a
//! closed enum value (it labels a metric); the detail says what was seen.

use super::{Counts, OriginPattern, Policy};
use crate::cors::{Classification, Kind};
use crate::model::Exchange;
use serde::Serialize;
use std::collections::BTreeMap;

/// Examples kept in the report, per rule.
pub const EXAMPLES_CAP: usize = 10;

/// One way an answer departs from the declared policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftRule {
    /// ACAO allowed an origin (or `*`) the policy does not list.
    OriginNotInPolicy,
    /// ACAO echoes any origin sent.
    ReflectedOrigin,
    /// Access-Control-Allow-Methods names methods beyond the policy's.
    MethodsBeyondPolicy,
    /// Access-Control-Allow-Headers names headers beyond the policy's.
    HeadersBeyondPolicy,
    /// Access-Control-Allow-Credentials: true where the policy says false.
    CredentialsBeyondPolicy,
    /// ACAO varies with the origin, without `Vary: Origin`.
    MissingVaryOrigin,
    /// An origin the policy allows was not allowed.
    PolicyOriginRefused,
}

impl DriftRule {
    /// Every rule, in label order.
    pub const ALL: [DriftRule; 7] = [
        DriftRule::OriginNotInPolicy,
        DriftRule::ReflectedOrigin,
        DriftRule::MethodsBeyondPolicy,
        DriftRule::HeadersBeyondPolicy,
        DriftRule::CredentialsBeyondPolicy,
        DriftRule::MissingVaryOrigin,
        DriftRule::PolicyOriginRefused,
    ];

    /// The stable id (the metric's `rule` label).
    pub fn id(self) -> &'static str {
        match self {
            DriftRule::OriginNotInPolicy => "origin_not_in_policy",
            DriftRule::ReflectedOrigin => "reflected_origin",
            DriftRule::MethodsBeyondPolicy => "methods_beyond_policy",
            DriftRule::HeadersBeyondPolicy => "headers_beyond_policy",
            DriftRule::CredentialsBeyondPolicy => "credentials_beyond_policy",
            DriftRule::MissingVaryOrigin => "missing_vary_origin",
            DriftRule::PolicyOriginRefused => "policy_origin_refused",
        }
    }
}

/// One departure seen on one exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Which rule.
    pub rule: DriftRule,
    /// What was seen (header values, the origin).
    pub detail: String,
}

/// How the answer to `ex` (from `origin`) departs from `policy`. `c` is the classifier's
/// judgement of the observed exchange (its reflection and `Vary` findings are reused).
pub fn check(
    policy: &Policy,
    ex: &Exchange,
    origin: Option<&str>,
    c: &Classification,
) -> Vec<Drift> {
    let Some(resp) = ex.response.as_ref().filter(|r| r.status > 0) else {
        return Vec::new();
    };
    let (_, rule) = policy.rule_for(&ex.request.url);
    let h = &resp.headers;
    let mut out = Vec::new();
    let mut push = |rule: DriftRule, detail: String| {
        if !out.iter().any(|d: &Drift| d.rule == rule) {
            out.push(Drift { rule, detail });
        }
    };
    let acao = h
        .combined_str("access-control-allow-origin")
        .map(|v| v.trim().to_owned());
    let origin = origin.map(str::trim).filter(|o| !o.is_empty());
    let allowed = origin.is_some_and(|o| rule.allows_origin(o));
    let grants = match (acao.as_deref(), origin) {
        (Some("*"), Some(_)) => true,
        (Some(a), Some(o)) => a == o,
        _ => false,
    };
    let reflected = c.verdicts.iter().any(|v| {
        matches!(
            v.kind,
            Kind::SecOriginReflectedWithCredentials | Kind::SecOriginReflectedNoCredentials
        )
    });
    if reflected {
        push(
            DriftRule::ReflectedOrigin,
            format!(
                "Access-Control-Allow-Origin echoes any origin (here {})",
                origin.unwrap_or("(none)")
            ),
        );
    }
    let star_allowed = rule.origins.iter().any(OriginPattern::is_any);
    if grants && !allowed && !(acao.as_deref() == Some("*") && star_allowed) {
        push(
            DriftRule::OriginNotInPolicy,
            format!(
                "Access-Control-Allow-Origin: {} for {}",
                acao.as_deref().unwrap_or(""),
                origin.unwrap_or("(none)")
            ),
        );
    }
    if allowed && !grants {
        push(
            DriftRule::PolicyOriginRefused,
            match acao.as_deref() {
                Some(a) => format!(
                    "Access-Control-Allow-Origin: {a} for {}",
                    origin.unwrap_or("")
                ),
                None => format!(
                    "no Access-Control-Allow-Origin for {} (status {})",
                    origin.unwrap_or(""),
                    resp.status
                ),
            },
        );
    }
    if grants {
        let acac = h
            .combined_str("access-control-allow-credentials")
            .is_some_and(|v| v.trim() == "true");
        if acac && !rule.credentials {
            push(
                DriftRule::CredentialsBeyondPolicy,
                "Access-Control-Allow-Credentials: true".into(),
            );
        }
        if ex.is_preflight() {
            let extra: Vec<String> = elements(h, "access-control-allow-methods")
                .filter(|m| {
                    !matches!(m.as_str(), "GET" | "HEAD" | "POST")
                        && !rule.methods.iter().any(|p| p.eq_ignore_ascii_case(m))
                })
                .collect();
            if !extra.is_empty() {
                push(DriftRule::MethodsBeyondPolicy, extra.join(", "));
            }
            // Accept, Accept-Language and Content-Language are safelisted by name (only odd
            // values need a listing) and Starlette lists them on every preflight: not drift.
            // Content-Type is: listed, it lets JSON bodies through.
            let extra: Vec<String> = elements(h, "access-control-allow-headers")
                .filter(|n| {
                    !rule.allows_header(n)
                        && !["accept", "accept-language", "content-language"]
                            .iter()
                            .any(|s| n.eq_ignore_ascii_case(s))
                })
                .collect();
            if !extra.is_empty() {
                push(DriftRule::HeadersBeyondPolicy, extra.join(", "));
            }
        }
    }
    let varies = rule.origins.len() > 1
        || rule
            .origins
            .iter()
            .any(|p| matches!(p, OriginPattern::Subdomains { .. }))
        || reflected;
    let vary_origin = h
        .get_all("vary")
        .flat_map(|v| v.split(|&b| b == b','))
        .any(|t| {
            let t = t.trim_ascii();
            t.eq_ignore_ascii_case(b"origin") || t == b"*"
        });
    let missing_vary_finding = c
        .verdicts
        .iter()
        .any(|v| v.kind == Kind::SecMissingVaryOrigin);
    if acao.as_deref().is_some_and(|a| a != "*") && !vary_origin && (varies || missing_vary_finding)
    {
        push(
            DriftRule::MissingVaryOrigin,
            format!(
                "Access-Control-Allow-Origin: {} without Vary: Origin",
                acao.as_deref().unwrap_or("")
            ),
        );
    }
    out
}

/// The comma-separated elements of header `name`, trimmed, non-empty.
fn elements<'a>(h: &'a crate::model::Headers, name: &'a str) -> impl Iterator<Item = String> + 'a {
    h.get_all(name)
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|e| String::from_utf8_lossy(e.trim_ascii()).into_owned())
        .filter(|e| !e.is_empty())
}

/// One drifting exchange, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftExample {
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
    /// The rule.
    pub rule: DriftRule,
    /// What was seen.
    pub detail: String,
}

/// The drift of a run: counts per rule and per (rule, route), and the first examples.
#[derive(Debug, Clone, Default)]
pub struct DriftBook {
    /// Exchanges drifting, per rule.
    pub rules: BTreeMap<DriftRule, u64>,
    /// Per rule, the routes (bounded).
    pub routes: BTreeMap<DriftRule, Counts>,
    /// The first [`EXAMPLES_CAP`] of each rule.
    pub examples: Vec<DriftExample>,
    /// Exchanges compared with the policy.
    pub checked: u64,
}

impl DriftBook {
    /// Records the drift of one exchange.
    pub fn record(&mut self, base: &DriftExample, drift: &[Drift]) {
        self.checked += 1;
        for d in drift {
            *self.rules.entry(d.rule).or_default() += 1;
            self.routes.entry(d.rule).or_default().add(&base.route, 100);
            if self.examples.iter().filter(|e| e.rule == d.rule).count() < EXAMPLES_CAP {
                self.examples.push(DriftExample {
                    rule: d.rule,
                    detail: d.detail.clone(),
                    ..base.clone()
                });
            }
        }
    }

    /// Exchanges drifting, all rules.
    pub fn total(&self) -> u64 {
        self.rules.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::Scope;

    fn ex(method: &str, req: &[(&str, &str)], resp: &[(&str, &str)]) -> Exchange {
        super::super::test_exchange(
            method,
            "https://api.example.com/api/x",
            req,
            Some((200, resp)),
        )
    }

    fn clean() -> Classification {
        Classification {
            scope: Scope::Cors(crate::cors::ExchangeType::Simple),
            origin: None,
            verdicts: Vec::new(),
            pass_assumption: None,
        }
    }

    fn rules(d: &[Drift]) -> Vec<&'static str> {
        d.iter().map(|d| d.rule.id()).collect()
    }

    #[test]
    fn answers_beyond_the_policy_drift() {
        let p = Policy::parse(
            "p.toml",
            "[[route]]\nprefix = \"/api\"\norigins = [\"https://a.example\", \"https://b.example\"]\nmethods = [\"PUT\"]\nrequest_headers = [\"x-token\"]\n",
        )
        .unwrap();
        let e = ex(
            "GET",
            &[("Origin", "https://evil.example")],
            &[("Access-Control-Allow-Origin", "https://evil.example")],
        );
        assert_eq!(
            rules(&check(&p, &e, Some("https://evil.example"), &clean())),
            ["origin_not_in_policy", "missing_vary_origin"]
        );
        let e = ex(
            "OPTIONS",
            &[
                ("Origin", "https://a.example"),
                ("Access-Control-Request-Method", "PUT"),
            ],
            &[
                ("Access-Control-Allow-Origin", "https://a.example"),
                ("Access-Control-Allow-Methods", "PUT, DELETE"),
                // Starlette's: the three safelisted by name are not drift, Content-Type is.
                (
                    "Access-Control-Allow-Headers",
                    "Accept, Accept-Language, Content-Language, Content-Type, X-Token, X-Debug",
                ),
                ("Access-Control-Allow-Credentials", "true"),
                ("Vary", "Origin"),
            ],
        );
        let d = check(&p, &e, Some("https://a.example"), &clean());
        assert_eq!(
            rules(&d),
            [
                "credentials_beyond_policy",
                "methods_beyond_policy",
                "headers_beyond_policy"
            ]
        );
        assert_eq!(d[1].detail, "DELETE");
        assert_eq!(d[2].detail, "Content-Type, X-Debug");
        let e = ex(
            "GET",
            &[("Origin", "https://b.example")],
            &[("Vary", "Origin")],
        );
        assert_eq!(
            rules(&check(&p, &e, Some("https://b.example"), &clean())),
            ["policy_origin_refused"]
        );
        let e = ex(
            "GET",
            &[("Origin", "https://b.example")],
            &[
                ("Access-Control-Allow-Origin", "https://b.example"),
                ("Vary", "Accept, origin"),
            ],
        );
        assert!(check(&p, &e, Some("https://b.example"), &clean()).is_empty());
    }
}
