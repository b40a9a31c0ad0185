//! One HAR entry as the reader sees it: the members corswatch uses, read from the entry copy
//! with the lenience producers need (a status as `"200"`, a `_fromCache` as `"disk"`, a
//! connection id as a number, `_initiator` as an object or a bare URL, headers that are null
//! or hold odd elements).

use super::EntryError;
use super::json::{self, Cursor, JsonError, Kind, Scalar};
use crate::model::Headers;
use std::borrow::Cow;

/// The entry's members that conversion reads.
#[derive(Default)]
pub(super) struct Entry<'a> {
    pub(super) started: Option<Cow<'a, str>>,
    pub(super) request: Option<Request<'a>>,
    pub(super) response: Option<Response<'a>>,
    pub(super) server_ip: Option<Cow<'a, str>>,
    pub(super) connection: Option<Lenient<'a>>,
    pub(super) pageref: Option<Cow<'a, str>>,
    pub(super) resource_type: Option<Cow<'a, str>>,
    pub(super) initiator: Initiator<'a>,
    pub(super) from_cache: Option<Lenient<'a>>,
    pub(super) request_id: Option<Lenient<'a>>,
}

#[derive(Default)]
pub(super) struct Request<'a> {
    pub(super) method: Option<Cow<'a, str>>,
    pub(super) url: Option<Cow<'a, str>>,
    pub(super) http_version: Option<Cow<'a, str>>,
    pub(super) headers: Headers,
    /// Headers whose name or value was over the size cap: left out, named here.
    pub(super) truncated: Vec<String>,
    /// How many cookies the request lists (the scanner writes the count).
    pub(super) cookies: u64,
    /// Header elements that could not be read (not an object, or without a string name).
    pub(super) unreadable: u32,
}

#[derive(Default)]
pub(super) struct Response<'a> {
    pub(super) status: Option<Lenient<'a>>,
    pub(super) headers: Headers,
    /// As the request's.
    pub(super) truncated: Vec<String>,
    /// As the request's.
    pub(super) unreadable: u32,
    pub(super) error: Option<Cow<'a, str>>,
    pub(super) failure_text: Option<Cow<'a, str>>,
}

/// `_initiator`: DevTools writes an object, WebPageTest and chrome-har a bare URL.
#[derive(Default)]
pub(super) struct Initiator<'a> {
    pub(super) kind: Option<Cow<'a, str>>,
    pub(super) url: Option<Cow<'a, str>>,
    pub(super) request_id: Option<Lenient<'a>>,
}

/// A scalar written with any JSON type, as text (`null` is empty; objects and arrays are kept
/// as their JSON).
pub(super) struct Lenient<'a>(pub(super) Cow<'a, str>);

impl Lenient<'_> {
    /// The value as an integer (`"204"`, `204`, `204.0`); 0 when it is none.
    pub(super) fn integer(&self) -> i64 {
        let t = self.0.trim();
        t.parse()
            .ok()
            .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
            .unwrap_or(0)
    }

    /// Anything but empty, `false` or `null`.
    pub(super) fn truthy(&self) -> bool {
        !matches!(self.0.as_ref(), "" | "false")
    }
}

impl<'a> Entry<'a> {
    /// Reads the entry copy.
    pub(super) fn read(copy: &'a [u8]) -> Result<Entry<'a>, EntryError> {
        let mut c = Cursor::new(copy);
        if c.kind() != Kind::Object {
            return Err(EntryError::Shape("the entry is not an object"));
        }
        let mut e = Entry::default();
        let mut shape = None;
        c.object(|c, key| {
            match key {
                b"startedDateTime" => e.started = string(c)?,
                b"request" => match c.kind() {
                    Kind::Object => e.request = Some(request(c)?),
                    _ => {
                        if c.scalar()? != Scalar::Null {
                            shape = Some("`request` is not an object");
                        }
                    }
                },
                b"response" => match c.kind() {
                    Kind::Object => e.response = Some(response(c)?),
                    _ => {
                        if c.scalar()? != Scalar::Null {
                            shape = Some("`response` is not an object");
                        }
                    }
                },
                b"serverIPAddress" => e.server_ip = string(c)?,
                b"connection" => e.connection = Some(lenient(c)?),
                b"pageref" => e.pageref = string(c)?,
                b"_resourceType" => e.resource_type = string(c)?,
                b"_initiator" => e.initiator = initiator(c)?,
                b"_fromCache" => e.from_cache = Some(lenient(c)?),
                b"_requestId" => e.request_id = Some(lenient(c)?),
                _ => {
                    c.skip()?;
                }
            }
            Ok(())
        })?;
        match shape {
            Some(why) => Err(EntryError::Shape(why)),
            None => Ok(e),
        }
    }
}

/// A string member; other types are as good as absent.
fn string<'a>(c: &mut Cursor<'a>) -> Result<Option<Cow<'a, str>>, JsonError> {
    if c.kind() != Kind::Scalar {
        c.skip()?;
        return Ok(None);
    }
    match c.scalar()? {
        Scalar::String(raw) => Ok(Some(json::text(raw)?)),
        _ => Ok(None),
    }
}

fn lenient<'a>(c: &mut Cursor<'a>) -> Result<Lenient<'a>, JsonError> {
    if c.kind() != Kind::Scalar {
        let raw = c.skip()?;
        let text = std::str::from_utf8(raw).map_err(|_| JsonError::Utf8)?;
        return Ok(Lenient(Cow::Borrowed(text)));
    }
    let text = match c.scalar()? {
        Scalar::Null => Cow::Borrowed(""),
        Scalar::Bool(true) => Cow::Borrowed("true"),
        Scalar::Bool(false) => Cow::Borrowed("false"),
        Scalar::String(raw) => json::text(raw)?,
        Scalar::Number(raw) => {
            Cow::Borrowed(std::str::from_utf8(raw).map_err(|_| JsonError::Utf8)?)
        }
    };
    Ok(Lenient(text))
}

fn request<'a>(c: &mut Cursor<'a>) -> Result<Request<'a>, JsonError> {
    let mut r = Request::default();
    c.object(|c, key| {
        match key {
            b"method" => r.method = string(c)?,
            b"url" => r.url = string(c)?,
            b"httpVersion" => r.http_version = string(c)?,
            b"headers" => r.headers = headers(c, &mut r.truncated, &mut r.unreadable)?,
            b"cookies" => {
                r.cookies = match c.kind() {
                    Kind::Scalar => match c.scalar()? {
                        Scalar::Number(n) => std::str::from_utf8(n)
                            .ok()
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0),
                        _ => 0,
                    },
                    _ => {
                        c.skip()?;
                        0
                    }
                }
            }
            _ => {
                c.skip()?;
            }
        }
        Ok(())
    })?;
    Ok(r)
}

fn response<'a>(c: &mut Cursor<'a>) -> Result<Response<'a>, JsonError> {
    let mut r = Response::default();
    c.object(|c, key| {
        match key {
            b"status" => r.status = Some(lenient(c)?),
            b"headers" => r.headers = headers(c, &mut r.truncated, &mut r.unreadable)?,
            b"_error" => r.error = string(c)?,
            b"_failureText" => r.failure_text = string(c)?,
            _ => {
                c.skip()?;
            }
        }
        Ok(())
    })?;
    Ok(r)
}

fn initiator<'a>(c: &mut Cursor<'a>) -> Result<Initiator<'a>, JsonError> {
    let mut i = Initiator::default();
    match c.kind() {
        Kind::Object => c.object(|c, key| {
            match key {
                b"type" => i.kind = string(c)?,
                b"url" => i.url = string(c)?,
                b"requestId" => i.request_id = Some(lenient(c)?),
                _ => {
                    c.skip()?;
                }
            }
            Ok(())
        })?,
        Kind::Scalar => {
            if let Scalar::String(raw) = c.scalar()? {
                i.url = Some(json::text(raw)?).filter(|u| !u.is_empty());
            }
        }
        Kind::Array => {
            c.skip()?;
        }
    }
    Ok(i)
}

/// A headers array: HTTP/2 and HTTP/3 pseudo-headers (framing, not headers) left out. Names
/// and values stay bytes: nothing needs them as text. A header whose name or value the scanner
/// cut for size is left out and named in `truncated` (lowercase; `(a header name)` when the
/// name itself was cut); an element that is not an object with a string name is skipped and
/// counted in `unreadable`.
fn headers(
    c: &mut Cursor<'_>,
    truncated: &mut Vec<String>,
    unreadable: &mut u32,
) -> Result<Headers, JsonError> {
    let mut hs = Headers::with_capacity(16, 512);
    if c.kind() != Kind::Array {
        c.skip()?;
        return Ok(hs);
    }
    c.array(|c| {
        if c.kind() != Kind::Object {
            c.skip()?;
            *unreadable += 1;
            return Ok(());
        }
        let (mut name, mut value) = (None, Cow::Borrowed(&b""[..]));
        c.object(|c, key| {
            match (key, c.kind()) {
                (b"name", Kind::Scalar) => {
                    if let Scalar::String(raw) = c.scalar()? {
                        name = Some(json::unescape(raw)?);
                    }
                }
                (b"value", Kind::Scalar) => {
                    value = match c.scalar()? {
                        Scalar::String(raw) => json::unescape(raw)?,
                        Scalar::Number(raw) => Cow::Borrowed(raw),
                        Scalar::Bool(true) => Cow::Borrowed(&b"true"[..]),
                        Scalar::Bool(false) => Cow::Borrowed(&b"false"[..]),
                        Scalar::Null => Cow::Borrowed(&b""[..]),
                    }
                }
                (b"value", _) => value = Cow::Borrowed(c.skip()?),
                _ => {
                    c.skip()?;
                }
            }
            Ok(())
        })?;
        match name {
            None => *unreadable += 1,
            Some(n) if n.is_empty() => *unreadable += 1,
            Some(n) if *n == *super::TRUNCATED => truncated.push("(a header name)".into()),
            Some(n) if *value == *super::TRUNCATED => {
                truncated.push(String::from_utf8_lossy(&n).to_ascii_lowercase());
            }
            Some(n) if !n.starts_with(b":") => hs.push(&n, &value),
            Some(_) => {}
        }
        Ok(())
    })?;
    Ok(hs)
}
