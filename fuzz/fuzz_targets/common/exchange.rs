//! Exchanges built from fuzz input with `arbitrary`'s `Unstructured`: mostly from the CORS
//! vocabulary (methods, origins, URLs, header names and values, statuses, client failure
//! texts), sometimes raw text. Shared by the `classify` and `merge` targets.

use corswatch::model::{
    ClientFailure, ClientHints, Exchange, Headers, Location, Request, Response, SourceRef,
    Timestamp,
};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use std::sync::Arc;

pub const METHODS: &[&str] = &[
    "GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH", "HEAD", "patch", "CONNECT", "TRACE",
];
pub const ORIGINS: &[&str] = &[
    "http://app.test",
    "https://app.test",
    "https://api.test",
    "http://localhost:3000",
    "null",
    "https://app.test:8443",
    "http://10.0.0.5",
    "https://*.test",
    "*",
    "",
];
pub const URLS: &[&str] = &[
    "https://api.test/v1/users/42?token=abc",
    "http://api.test/x",
    "https://app.test/page",
    "http://localhost:8080/api",
    "http://192.168.1.10/admin",
    "https://api.test:8443/",
    "ws://api.test/socket",
    "http://[::1]:9000/q",
    "data:text/plain,hi",
    "/relative",
];
pub const REQ_NAMES: &[&str] = &[
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "access-control-request-private-network",
    "sec-fetch-mode",
    "sec-fetch-site",
    "cookie",
    "authorization",
    "content-type",
    "host",
    "referer",
    "upgrade",
    "x-custom",
    "range",
    "accept",
    "accept-language",
];
pub const RESP_NAMES: &[&str] = &[
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-allow-private-network",
    "vary",
    "location",
    "content-type",
    "server",
    "x-powered-by",
    "cache-control",
    "set-cookie",
    "via",
    "age",
    "date",
    "expires",
];
pub const VALUES: &[&str] = &[
    "*",
    "true",
    "false",
    "GET, POST",
    "PUT",
    "x-custom, content-type",
    "application/json",
    "text/plain",
    "cors",
    "no-cors",
    "navigate",
    "same-origin",
    "cross-site",
    "Origin",
    "max-age=60",
    "https://app.test",
    "http://app.test",
    "null",
    "",
    " https://app.test ",
    "websocket",
    "nginx",
    "Express",
    "bytes=0-1",
    "TRUE",
    "*, x-custom",
];
pub const STATUSES: &[u16] = &[
    0, 200, 204, 301, 302, 304, 307, 400, 403, 404, 500, 502, 101,
];
pub const FAILURES: &[&str] = &[
    "net::ERR_FAILED",
    "CORS Missing Allow Origin",
    "net::ERR_BLOCKED_BY_ORB",
    "net::ERR_CONNECTION_REFUSED",
    "NS_ERROR_DOM_BAD_URI",
    "net::ERR_BLOCKED_BY_CLIENT",
    "CORS request did not succeed",
    "",
];

fn pick(u: &mut Unstructured, from: &[&str]) -> Result<String> {
    // Mostly the vocabulary, sometimes raw text from the input.
    if u.ratio(1, 6)? {
        Ok(u.arbitrary::<&str>()?.to_owned())
    } else {
        Ok(u.choose(from)?.to_string())
    }
}

fn headers(u: &mut Unstructured, names: &[&str]) -> Result<Headers> {
    let mut h = Headers::new();
    for _ in 0..u.int_in_range(0..=6)? {
        let name = pick(u, names)?;
        let value = if u.ratio(1, 3)? {
            pick(u, ORIGINS)?
        } else {
            pick(u, VALUES)?
        };
        h.push(name.as_bytes(), value.as_bytes());
    }
    Ok(h)
}

pub fn exchange(u: &mut Unstructured, index: u64) -> Result<Exchange> {
    let method = pick(u, METHODS)?;
    let url = pick(u, URLS)?;
    let mut rh = headers(u, REQ_NAMES)?;
    if u.ratio(3, 4)? {
        rh.push(b"origin", pick(u, ORIGINS)?.as_bytes());
    }
    let har = u.arbitrary::<bool>()?;
    let response = if u.ratio(4, 5)? {
        Some(Response {
            status: *u.choose(STATUSES)?,
            headers: headers(u, RESP_NAMES)?,
        })
    } else {
        None
    };
    let failure = if har && u.ratio(1, 3)? {
        Some(ClientFailure {
            error_text: if u.arbitrary()? {
                Some(pick(u, FAILURES)?)
            } else {
                None
            },
            status_field: *u.choose(&[0i64, -1, 200])?,
        })
    } else {
        None
    };
    let hints = if har {
        ClientHints {
            resource_type: if u.arbitrary()? {
                Some(pick(
                    u,
                    &["fetch", "xhr", "preflight", "document", "script"],
                )?)
            } else {
                None
            },
            from_cache: u.ratio(1, 8)?,
            page_url: if u.arbitrary()? {
                Some(pick(u, URLS)?)
            } else {
                None
            },
            sanitized: u.arbitrary()?,
            producer: if u.arbitrary()? {
                Some(pick(u, &["WebInspector", "Firefox", "Playwright"])?)
            } else {
                None
            },
            ..ClientHints::default()
        }
    } else {
        ClientHints::default()
    };
    Ok(Exchange {
        source: SourceRef {
            input: Arc::from(if har { "fuzz.har" } else { "fuzz.pcap" }),
            location: if har {
                Location::HarEntry(index)
            } else {
                Location::Packets {
                    request: index + 1,
                    response: Some(index + 2),
                }
            },
        },
        time: Timestamp(u.int_in_range(0..=4_000_000_000_000_000_000i64)?),
        client: None,
        server: None,
        connection: Some(index),
        request: Request {
            method,
            url,
            http_version: "HTTP/1.1".into(),
            headers: rh,
        },
        response,
        failure,
        hints,
    })
}
