//! Where the wire is silent: a failed recording entry without response headers or preflight,
//! judged from what the rest of the recording holds (issue 9, item 2). Each verdict is
//! `inferred` and names what it rests on; what none of these explains stays
//! `cors_blocked_unknown`.

use super::access::check_access;
use super::lna;
use super::scope::Lna;
use super::{LazyLine, base_evidence, push_header};
use crate::cors::facts::{Space, ip_space, is_loopback_host};
use crate::cors::{Confidence, Context, Credentials, Kind, Verdict};
use crate::model::{Exchange, Location};
use crate::url::Origin;

/// The browser answered this request from its HTTP cache: an earlier response to the same URL
/// ([`Context::cached_response`]: cacheable, fresh, no `Vary: Origin`) carries an
/// `Access-Control-Allow-Origin` that does not allow this request's origin.
pub(super) fn stale_cache(
    ex: &Exchange,
    ctx: &Context<'_>,
    o: &str,
    creds: Credentials,
    line: &LazyLine<'_, '_>,
) -> Option<Verdict> {
    let earlier = ctx.cached_response?;
    let resp = earlier.response.as_ref()?;
    let include = creds == Credentials::Include;
    // Only a cached answer that fails whatever the credentials says the cache is to blame: one
    // that fails only a credentialed request would fail it fresh from the server too.
    let f = check_access(&resp.headers, o, include).err()?;
    let (err, hint) = f.error(false);
    let at = match earlier.source.location {
        Location::HarEntry(i) => format!("entry {i}"),
        Location::Packets { request, .. } => format!("packet {request}"),
    };
    let acao = resp
        .headers
        .get_str("access-control-allow-origin")
        .map_or_else(|| "none".to_owned(), |v| format!("'{}'", v.trim()));
    let mut evidence = base_evidence(ex);
    evidence.push(("cached response".into(), at.clone()));
    for name in ["Access-Control-Allow-Origin", "Cache-Control", "Vary"] {
        if resp.headers.contains(name) {
            push_header(&mut evidence, &resp.headers, name);
        } else {
            evidence.push((name.to_owned(), "(none)".to_owned()));
        }
    }
    let assumption = format!(
        "the recording keeps no response for this request, and {at} earlier got a cacheable answer for the same URL without Vary: Origin, whose Access-Control-Allow-Origin ({acao}) does not allow this origin: the browser reused it from its HTTP cache"
    );
    Some(
        Verdict::blocked(Kind::AcaoStaleCache, err, Some(f.firefox()), hint, line)
            .with(Confidence::Inferred(assumption), evidence),
    )
}

/// Local Network Access: the page's address space is less private than the target's (a
/// public page calling a private or loopback address), as the recording's URLs show. Chrome
/// (142+) asks the user first; a denied or dismissed prompt fails the request with nothing on
/// the wire.
pub(super) fn local_network(ex: &Exchange, ctx: &Context<'_>, o: &str) -> Option<Verdict> {
    let page = ctx.page_origin.unwrap_or(o);
    let page_space = origin_space(page)?;
    let target = ex
        .hints
        .server_ip
        .map(ip_space)
        .or_else(|| host_space(crate::url::split_url(&ex.request.url)?.host))?;
    if rank(target) <= rank(page_space) {
        return None;
    }
    let mut v = lna::verdict(ex, ctx, Lna::Checks { pna: false }, Some(o));
    v.confidence = Confidence::Inferred(format!(
        "the page ({page}, {} address space) requested a {} address and the recording holds no response: Chrome asks the user before such a request (Local Network Access), and a denied or dismissed prompt fails it this way",
        space_word(page_space),
        space_word(target)
    ));
    Some(v)
}

fn rank(s: Space) -> u8 {
    match s {
        Space::Public => 0,
        Space::Local => 1,
        Space::Loopback => 2,
    }
}

fn space_word(s: Space) -> &'static str {
    match s {
        Space::Public => "public",
        Space::Local => "local",
        Space::Loopback => "loopback",
    }
}

/// The address space an origin's host shows by itself: IP literals and `localhost` say it; a
/// DNS name under a local-only suffix is local; any other name is taken as public.
fn origin_space(origin: &str) -> Option<Space> {
    let o = Origin::parse(origin)?;
    let host = o.host()?;
    Some(host_space(host).unwrap_or(Space::Public))
}

/// The address space a URL host shows without a DNS lookup; `None` for an ordinary name.
fn host_space(host: &str) -> Option<Space> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if is_loopback_host(h) {
        return Some(Space::Loopback);
    }
    if let Ok(ip) = h.parse() {
        return Some(ip_space(ip));
    }
    let lower = h.to_ascii_lowercase();
    [".local", ".internal", ".lan", ".home.arpa"]
        .iter()
        .any(|s| lower.ends_with(s))
        .then_some(Space::Local)
}
