//! Security findings (taxonomy §7): misconfigurations that a response reveals whether or not
//! the browser let it through. Conservative on purpose: legitimate allowlists echo the
//! `Origin` too, so equality alone is never a finding.

use super::facts::{
    ACAC, ACAO, ACAPN, Space, has_ascii_uppercase, is_ip_literal, is_loopback_host, list_elements,
    lossy, server_space, site, trim_ows,
};
use super::{Confidence, Context, Detail, Kind, Verdict};
use crate::model::{Exchange, Headers, Location, Response};
use crate::redact;
use crate::url::{Origin, UrlParts, origin_parts};
use std::borrow::Cow;

/// Shared hosting where anyone can publish under the named origin (apex) or a subdomain.
const SHARED_APEX: &[&str] = &[
    "codepen.io",
    "cdpn.io",
    "jsfiddle.net",
    "fiddle.jshell.net",
    "jsbin.com",
    "null.jsbin.com",
    "plnkr.co",
    "run.plnkr.co",
    "stackblitz.io",
    "codesandbox.io",
    "csb.app",
    "replit.dev",
    "repl.co",
    "glitch.me",
];

/// The shared hosting `host` (any case) is on.
fn shared_hosting(host: &str) -> Option<&'static str> {
    let h = host.as_bytes();
    if let Some(a) = SHARED_APEX
        .iter()
        .find(|a| a.len() == h.len() && h.eq_ignore_ascii_case(a.as_bytes()))
    {
        return Some(a);
    }
    // The dot before the suffix first: it rules out most entries with one byte compare.
    super::facts::SHARED_HOSTING
        .iter()
        .find(|s| {
            h.len() > s.len()
                && h[h.len() - s.len() - 1] == b'.'
                && h[h.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
        })
        .copied()
}

/// `s` lowercased, copied only when it has uppercase letters.
fn lowercase(s: &str) -> Cow<'_, str> {
    if has_ascii_uppercase(s.as_bytes()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// A finding; its message and evidence built only when `ctx` wants the text.
fn finding(
    ctx: &Context<'_>,
    kind: Kind,
    message: impl FnOnce() -> String,
    evidence: impl FnOnce() -> Vec<(String, String)>,
) -> Verdict {
    let (message, evidence) = match ctx.detail {
        Detail::Full => (message(), evidence()),
        Detail::Counts => (String::new(), Vec::new()),
    };
    Verdict {
        kind,
        cors_error: None,
        firefox_error: None,
        failed_parameter: None,
        message,
        confidence: Confidence::Certain,
        evidence,
    }
}

fn push(ev: &mut Vec<(String, String)>, h: &Headers, name: &str) {
    for v in h.get_all(name) {
        ev.push((
            name.to_owned(),
            redact::header_value(name, trim_ows(v)).into_owned(),
        ));
    }
}

/// A label that looks machine-made (`a8f3k29x`): scanners and attackers use such subdomains,
/// real deployments rarely do.
fn random_label(label: &str) -> bool {
    let b = label.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    b.len() >= 8 && digits + letters == b.len() && digits >= 2 && letters >= 2
}

/// Cacheable by some cache: not `no-store`, with a freshness lifetime or `public`.
fn cacheable(h: &Headers) -> bool {
    let mut fresh = false;
    // Directive names compare case-insensitively; the numbers are ASCII digits either way.
    for e in list_elements(h, "cache-control") {
        if e.eq_ignore_ascii_case(b"no-store") {
            return false;
        }
        if e.eq_ignore_ascii_case(b"public") {
            fresh = true;
        }
        for p in [&b"max-age="[..], b"s-maxage="] {
            if let Some(n) = e
                .get(..p.len())
                .filter(|head| head.eq_ignore_ascii_case(p))
                .map(|_| &e[p.len()..])
                && std::str::from_utf8(n)
                    .is_ok_and(|n| n.trim_matches('"').parse::<u64>().is_ok_and(|n| n > 0))
            {
                fresh = true;
            }
        }
    }
    fresh
}

pub(super) fn security(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    o_parts: Option<UrlParts<'_>>,
    url: Option<UrlParts<'_>>,
    resp: &Response,
    out: &mut Vec<Verdict>,
) {
    let rh = &resp.headers;
    let Some(acao) = rh.get(ACAO).map(|v| lossy(trim_ows(v))) else {
        return;
    };
    let acao = acao.as_ref();
    let acac_true = rh
        .get(ACAC)
        .is_some_and(|v| trim_ows(v).eq_ignore_ascii_case(b"true"));
    // Most responses earn no finding, and most of the rest one: evidence is built for each
    // finding made (a cached copy cost a clone on top of the build).
    let ev = || {
        let mut ev = Vec::with_capacity(3);
        push(&mut ev, &ex.request.headers, "Origin");
        push(&mut ev, rh, ACAO);
        push(&mut ev, rh, ACAC);
        ev
    };

    let packets = matches!(ex.source.location, Location::Packets { .. });
    let reflected = acao == o && o != "null";

    if o == "null" && acao == "null" {
        out.push(finding(
            ctx,
            Kind::SecNullOriginTrusted,
            || "The server trusts the origin 'null' (Access-Control-Allow-Origin: null): any page can get that origin from a sandboxed iframe or a data: URL and read the response.".into(),
            ev,
        ));
    }
    if acao == "*" && acac_true {
        out.push(finding(
            ctx,
            Kind::SecWildcardPlusCredentialsConfig,
            || "The server sends Access-Control-Allow-Origin: * with Access-Control-Allow-Credentials: true: browsers refuse the pair, but it shows the intent to let any site read credentialed responses.".into(),
            ev,
        ));
    }
    // A packet capture's scheme is a guess (TLS may end before the capture point).
    let https = !packets && url.is_some_and(|u| u.scheme.eq_ignore_ascii_case("https"));
    if https
        && acao
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
    {
        let host = Origin::parse(acao).and_then(|x| x.host().map(str::to_owned));
        if !host.as_deref().is_some_and(is_loopback_host) {
            out.push(finding(
                ctx,
                Kind::SecHttpOriginTrustedByHttps,
                || format!(
                    "An https resource trusts the plain-http origin '{acao}': a network attacker can inject script into that origin and read this response."
                ),
                ev,
            ));
        }
    }
    if acao == "*" {
        let internal = matches!(server_space(ex), Some(Space::Loopback | Space::Local));
        let sets_cookie = rh.contains("set-cookie");
        if internal || sets_cookie {
            out.push(finding(
                ctx,
                Kind::SecWildcardInternalOrSensitive,
                || if internal {
                    "Access-Control-Allow-Origin: * on a server at a private or loopback address: any public page opened inside the network can read it.".into()
                } else {
                    "Access-Control-Allow-Origin: * on a response that sets a cookie: any site can read this response.".into()
                },
                || {
                    let mut ev = ev();
                    if let Some(ip) = ex.hints.server_ip.or_else(|| ex.server.map(|s| s.ip())) {
                        ev.push(("server".into(), ip.to_string()));
                    }
                    push(&mut ev, rh, "Set-Cookie");
                    ev
                },
            ));
        }
    }
    if reflected
        && !ex.is_preflight()
        && ctx.distinct_reflected_origins >= 2
        && cacheable(rh)
        && !list_elements(rh, "vary").any(|e| e.eq_ignore_ascii_case(b"origin") || e == b"*")
    {
        out.push(finding(
            ctx,
            Kind::SecMissingVaryOrigin,
            || "Access-Control-Allow-Origin changes with the request Origin, the response is cacheable, and Vary lacks Origin: a cache can serve one origin's answer to another (cache poisoning, CORS failures).".into(),
            || {
                let mut ev = ev();
                push(&mut ev, rh, "Vary");
                push(&mut ev, rh, "Cache-Control");
                ev
            },
        ));
    }
    // An app and its API both on the same hosting are one owner's, not a third party.
    // The host `Origin::parse` finds, as written; the origin's own parts when they are the same text.
    let acao_host = if acao == o {
        o_parts
    } else {
        origin_parts(acao)
    }
    .map(|p| p.host);
    if let Some(acao_host) = acao_host
        && let Some(hosting) = shared_hosting(acao_host)
        && shared_hosting(url.map_or("", |u| u.host)) != Some(hosting)
    {
        out.push(finding(
            ctx,
            Kind::SecThirdPartyOriginTrusted,
            || format!(
                "The server trusts '{acao}', an origin on shared hosting ({hosting}) where others can publish code."
            ),
            ev,
        ));
    }
    if !reflected {
        return pna_opt_in(ctx, acao, reflected, rh, ev, out);
    }
    // Reflected: `o` is `acao`.
    let o_host = acao_host.map(lowercase).unwrap_or_default();
    let req_host = lowercase(url.map_or("", |u| u.host));
    let req_site = site(&req_host);
    if !o_host.is_empty() && !req_site.is_empty() {
        // `o_host` is `req_site` or ends with `.{req_site}`.
        let same_site = o_host
            .strip_suffix(req_site)
            .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'));
        let named_site = req_site.contains('.') && !is_ip_literal(&req_host);
        let odd_chars = o.contains('`') || o.contains("%60") || o_host.contains('_');
        let mut specific = false;
        if odd_chars || (named_site && !same_site && o_host.contains(req_site)) {
            specific = true;
            out.push(finding(
                ctx,
                Kind::SecPrefixSuffixRegexMatch,
                || format!(
                    "The server reflected the origin '{o}', which only imitates '{req_site}': its origin check matches a prefix, suffix or unescaped pattern."
                ),
                ev,
            ));
        } else if named_site && same_site && o_host != req_site {
            let first = o_host.split('.').next().unwrap_or("");
            if random_label(first) {
                specific = true;
                out.push(finding(
                    ctx,
                    Kind::SecAnySubdomainTrusted,
                    || format!(
                        "The server reflected the random-looking subdomain origin '{o}': it trusts any subdomain of {req_site}, so one XSS or takeover on any of them reads this API."
                    ),
                    ev,
                ));
            }
        }
        if !specific
            && !same_site
            && ctx.distinct_reflected_origins >= 3
            && !is_loopback_host(&o_host)
        {
            let (kind, what) = if acac_true {
                (
                    Kind::SecOriginReflectedWithCredentials,
                    "with Access-Control-Allow-Credentials: true, so any site can read users' authenticated data",
                )
            } else {
                (
                    Kind::SecOriginReflectedNoCredentials,
                    "without credentials, so any site can read what this endpoint serves to the user's network position",
                )
            };
            out.push(finding(
                ctx,
                kind,
                || {
                    [
                        "The server reflects unrelated origins ('",
                        o,
                        "' among ",
                        &ctx.distinct_reflected_origins.to_string(),
                        " distinct ones) ",
                        what,
                        ".",
                    ]
                    .concat()
                },
                ev,
            ));
        }
    }
    pna_opt_in(ctx, acao, reflected, rh, ev, out);
}

fn pna_opt_in(
    ctx: &Context<'_>,
    acao: &str,
    reflected: bool,
    rh: &Headers,
    ev: impl FnOnce() -> Vec<(String, String)>,
    out: &mut Vec<Verdict>,
) {
    if (acao == "*" || (reflected && ctx.distinct_reflected_origins >= 3))
        && rh
            .get(ACAPN)
            .is_some_and(|v| trim_ows(v).eq_ignore_ascii_case(b"true"))
    {
        out.push(finding(
            ctx,
            Kind::SecPnaOptInReflected,
            || "The device answers Access-Control-Allow-Private-Network: true to any origin: every public site may reach it.".into(),
            || {
                let mut ev = ev();
                push(&mut ev, rh, ACAPN);
                ev
            },
        ));
    }
}
