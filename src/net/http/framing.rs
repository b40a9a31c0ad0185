//! HTTP/1.x framing: where heads end, how bodies are delimited (Content-Length, chunked),
//! what a start line looks like (for resynchronising after a gap), and the exchange's URL.

use super::*;

/// The parsed lines of `head` (the bytes httparse read them from).
pub(super) fn to_headers(head: &[u8], h: &[httparse::Header]) -> Headers {
    Headers::from_head(head, h.iter().map(|h| (h.name.as_bytes(), h.value)))
}

/// The request asked to continue in cleartext HTTP/2 (`Upgrade: h2c`).
pub(super) fn wants_h2c(r: &Request) -> bool {
    r.headers.get_all("upgrade").any(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"h2c"))
    })
}

pub(super) fn make_url(
    method: &str,
    target: &str,
    headers: &Headers,
    server: SocketAddr,
    scheme: &str,
) -> String {
    let t = target.as_bytes();
    let starts = |p: &[u8]| t.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    if starts(b"http://") || starts(b"https://") {
        // Absolute form (a request to a proxy): already a URL.
        return target.to_string();
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        return format!("{scheme}://{target}");
    }
    let host: Cow<'_, str> = match headers.get("host") {
        Some(h) => crate::model::lossy(h.trim_ascii()),
        None => Cow::Owned(server.to_string()),
    };
    let mut url = String::with_capacity(8 + host.len() + target.len());
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(&host);
    if !target.starts_with('/') {
        url.push('/');
    }
    url.push_str(target);
    url
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    None,
    Chunked,
    Length(u64),
}

/// RFC 9112 §6.3: chunked as the final coding wins over Content-Length.
pub(super) fn body_framing(h: &[httparse::Header]) -> Framing {
    let mut chunked = false;
    let mut length = None;
    // The length first, inline: the library's case-insensitive compare is a call per line.
    for h in h {
        match h.name.len() {
            17 if h.name.eq_ignore_ascii_case("transfer-encoding") => {
                let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(&[]);
                chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            }
            14 if length.is_none() && h.name.eq_ignore_ascii_case("content-length") => {
                length = parse_length(h.value);
            }
            _ => {}
        }
    }
    if chunked {
        Framing::Chunked
    } else {
        length.map_or(Framing::None, Framing::Length)
    }
}

/// Content-Length as a number; never used to allocate, only to count bytes to skip.
pub(super) fn parse_length(v: &[u8]) -> Option<u64> {
    // Repeated values joined by commas must agree (RFC 9110 §8.6); take the first.
    let first = v.split(|&b| b == b',').next()?.trim_ascii();
    if first.is_empty() || !first.iter().all(u8::is_ascii_digit) {
        return None;
    }
    first.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Advances the chunked-body state machine over `buf`, byte by byte where needed so that any
/// split works. Returns bytes used and the next state (`None`: message done), or on a framing
/// error the bytes used before it.
pub(super) fn chunked(mut c: Chunk, buf: &[u8]) -> Result<(usize, Option<Chunk>), usize> {
    let mut i = 0;
    while i < buf.len() {
        if let Chunk::Data(n) = c {
            let k = n.min((buf.len() - i) as u64);
            i += k as usize;
            c = if k == n {
                Chunk::DataEnd
            } else {
                Chunk::Data(n - k)
            };
            continue;
        }
        let b = buf[i];
        i += 1;
        c = match c {
            Chunk::Size { value, digits, ext } => match b {
                b'\n' if digits == 0 => return Err(i),
                b'\n' if value == 0 => Chunk::Trailer { len: 0 },
                b'\n' => Chunk::Data(value),
                b'\r' => c,
                _ if ext => c,
                b';' | b' ' | b'\t' => Chunk::Size {
                    value,
                    digits,
                    ext: true,
                },
                _ => {
                    let Some(d) = (b as char).to_digit(16) else {
                        return Err(i);
                    };
                    let Some(value) = value
                        .checked_mul(16)
                        .and_then(|v| v.checked_add(u64::from(d)))
                    else {
                        return Err(i);
                    };
                    Chunk::Size {
                        value,
                        digits: digits + 1,
                        ext,
                    }
                }
            },
            Chunk::DataEnd => match b {
                b'\r' => c,
                b'\n' => Chunk::Size {
                    value: 0,
                    digits: 0,
                    ext: false,
                },
                _ => return Err(i),
            },
            Chunk::Trailer { len } => match b {
                b'\r' => c,
                b'\n' if len == 0 => return Ok((i, None)),
                b'\n' => Chunk::Trailer { len: 0 },
                _ => Chunk::Trailer {
                    len: len.saturating_add(1),
                },
            },
            Chunk::Data(_) => c,
        };
    }
    Ok((i, Some(c)))
}

/// Offset just past the blank line ending a head, searching from `from`.
pub(super) fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    let mut i = start;
    while let Some(p) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + p;
        match (buf.get(nl + 1), buf.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// The first bytes of a stream that starts with its SYN say it is not HTTP/1.x.
pub(super) fn not_http1(side: Side, buf: &[u8]) -> bool {
    match buf.first() {
        // TLS handshake record.
        Some(0x16) => return true,
        None => return false,
        _ => {}
    }
    match side {
        Side::Request => {
            if buf.starts_with(b"PRI * HTTP/2.0") {
                return true;
            }
            // HTTP/0.9 (or another protocol): a complete first line without any HTTP version.
            // A malformed version is left to the parser, which counts it. Blank lines before
            // the request line are tolerated, as between messages (RFC 9112 §2.2).
            let start = buf.iter().position(|&b| b != b'\r' && b != b'\n');
            let buf = buf.get(start.unwrap_or(buf.len())..).unwrap_or(&[]);
            if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                let line = buf.get(..nl).unwrap_or(&[]);
                return !line.windows(6).any(|w| w == b" HTTP/");
            }
            false
        }
        // A server that speaks first with something else (SSH, SMTP, MySQL banners).
        Side::Response => {
            let b = buf.trim_ascii_start();
            b.len() >= 5 && !b.starts_with(b"HTTP/")
        }
    }
}

pub(super) fn ends_with_version(line: &[u8]) -> bool {
    line.len() >= 9 && {
        let v = &line[line.len() - 9..];
        v.starts_with(b" HTTP/1.") && v[8].is_ascii_digit()
    }
}

/// A request line (`TOKEN SP target SP HTTP/1.x`) or a status line (`HTTP/1.x NNN`).
pub(super) fn is_start_line(side: Side, line: &[u8]) -> bool {
    let line = line.trim_ascii_end();
    match side {
        Side::Request => {
            if !ends_with_version(line) {
                return false;
            }
            let Some(sp) = line.iter().position(|&b| b == b' ') else {
                return false;
            };
            sp > 0 && line[..sp].iter().all(|&b| is_tchar(b)) && line.len() > sp + 10
        }
        Side::Response => {
            line.len() >= 12
                && line.starts_with(b"HTTP/1.")
                && line[7].is_ascii_digit()
                && line[8] == b' '
                && line[9..12].iter().all(u8::is_ascii_digit)
        }
    }
}

/// Where a start line begins in `line` (which ends with its newline). After a gap the start of
/// a line is unknown, so a request line must begin with a standard method (`PTIONS / HTTP/1.1`
/// is what is left of a request that lost its first byte), and a status line with `HTTP/1.`.
pub(super) fn find_start(side: Side, line: &[u8]) -> Option<usize> {
    match side {
        Side::Response => find_status_line(line),
        Side::Request => {
            if !ends_with_version(line.trim_ascii_end()) {
                return None;
            }
            (0..line.len()).find(|&p| {
                line.get(p..)
                    .is_some_and(|l| known_method(l) && is_start_line(Side::Request, l))
            })
        }
    }
}

/// Offset of a status line that starts inside `line`.
pub(super) fn find_status_line(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = line.get(from..)?.windows(7).position(|w| w == b"HTTP/1.") {
        let at = from + p;
        if is_start_line(Side::Response, line.get(at..)?) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The request line starts with a standard method (custom ones are trusted only where the
/// line start is certain).
pub(super) fn known_method(line: &[u8]) -> bool {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"DELETE ",
        b"PATCH ",
        b"HEAD ",
        b"OPTIONS ",
        b"CONNECT ",
        b"TRACE ",
    ];
    METHODS.iter().any(|m| line.starts_with(m))
}

pub(super) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
