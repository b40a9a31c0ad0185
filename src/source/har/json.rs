//! A small JSON reader over one entry's copy: the scanner made it compact (no whitespace
//! outside strings) and bounded, so a cursor walks it once, strings come out borrowed (decoded
//! only when they hold escapes), and values the reader does not use are skipped.

use std::borrow::Cow;

/// Why a copy is not the JSON it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum JsonError {
    #[error("not valid JSON at byte {0}")]
    Syntax(usize),
    #[error("a string is not valid UTF-8")]
    Utf8,
}

/// A scalar, borrowed from the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar<'a> {
    Null,
    Bool(bool),
    /// The number as written.
    Number(&'a [u8]),
    /// Between the quotes, escapes not yet decoded.
    String(&'a [u8]),
}

/// What the next value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Object,
    Array,
    Scalar,
}

/// A position in the copy.
pub(super) struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(s: &'a [u8]) -> Self {
        Cursor { s, i: 0 }
    }

    fn err(&self) -> JsonError {
        JsonError::Syntax(self.i)
    }

    fn eat(&mut self, b: u8) -> Result<(), JsonError> {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err())
        }
    }

    /// The kind of the next value.
    pub(super) fn kind(&self) -> Kind {
        match self.s.get(self.i) {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            _ => Kind::Scalar,
        }
    }

    /// After the opening quote: the body, up to the closing quote (consumed).
    fn string_body(&mut self) -> Result<&'a [u8], JsonError> {
        let start = self.i;
        loop {
            // Words at a time, as the scanner does: every header name and value comes here.
            let rest = self.s.get(self.i..).unwrap_or(&[]);
            let Some(k) = super::scanner::quote_or_backslash(rest) else {
                return Err(JsonError::Syntax(start));
            };
            self.i += k;
            if rest[k] == b'"' {
                let body = &self.s[start..self.i];
                self.i += 1;
                return Ok(body);
            }
            // A backslash: the next byte is escaped, whatever it is.
            self.i += 2;
        }
    }

    /// The next value, which must be a scalar.
    pub(super) fn scalar(&mut self) -> Result<Scalar<'a>, JsonError> {
        if self.s.get(self.i) == Some(&b'"') {
            self.i += 1;
            return self.string_body().map(Scalar::String);
        }
        let rest = self.s.get(self.i..).unwrap_or(&[]);
        let n = rest
            .iter()
            .position(|b| matches!(b, b',' | b'}' | b']' | b':'))
            .unwrap_or(rest.len());
        let word = &rest[..n];
        let v = match word {
            b"null" => Scalar::Null,
            b"true" => Scalar::Bool(true),
            b"false" => Scalar::Bool(false),
            w if w.first().is_some_and(|c| c.is_ascii_digit() || *c == b'-') => Scalar::Number(w),
            _ => return Err(self.err()),
        };
        self.i += n;
        Ok(v)
    }

    /// Skips the next value, whatever it is; returns its text.
    pub(super) fn skip(&mut self) -> Result<&'a [u8], JsonError> {
        let start = self.i;
        if self.kind() == Kind::Scalar {
            self.scalar()?;
            return Ok(&self.s[start..self.i]);
        }
        let mut depth = 0usize;
        while let Some(&b) = self.s.get(self.i) {
            self.i += 1;
            match b {
                b'"' => {
                    self.string_body()?;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1).ok_or(JsonError::Syntax(self.i))?;
                    if depth == 0 {
                        return Ok(&self.s[start..self.i]);
                    }
                }
                _ => {}
            }
        }
        Err(JsonError::Syntax(start))
    }

    /// Walks an object: `member(cursor, key)` must consume each value (read or skip it).
    pub(super) fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.eat(b'{')?;
        if self.eat(b'}').is_ok() {
            return Ok(());
        }
        loop {
            self.eat(b'"')?;
            let key = self.string_body()?;
            self.eat(b':')?;
            member(self, key)?;
            if self.eat(b',').is_err() {
                return self.eat(b'}');
            }
        }
    }

    /// Walks an array: `element(cursor)` must consume each element.
    pub(super) fn array(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.eat(b'[')?;
        if self.eat(b']').is_ok() {
            return Ok(());
        }
        loop {
            element(self)?;
            if self.eat(b',').is_err() {
                return self.eat(b']');
            }
        }
    }
}

/// A string's bytes with its escapes decoded (borrowed when it has none). `\u` escapes become
/// UTF-8; a lone surrogate becomes U+FFFD.
pub(super) fn unescape(raw: &[u8]) -> Result<Cow<'_, [u8]>, JsonError> {
    if !raw.contains(&b'\\') {
        return Ok(Cow::Borrowed(raw));
    }
    let bad = JsonError::Syntax(0);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let Some(k) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            break;
        };
        out.extend_from_slice(&raw[i..i + k]);
        i += k + 1;
        let c = *raw.get(i).ok_or(bad.clone())?;
        i += 1;
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex = |at: usize| -> Option<u32> {
                    let h = raw.get(at..at + 4)?;
                    u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
                };
                let mut cp = hex(i).ok_or(bad.clone())?;
                i += 4;
                if (0xd800..0xdc00).contains(&cp)
                    && raw.get(i..i + 2) == Some(b"\\u")
                    && let Some(lo) = hex(i + 2).filter(|lo| (0xdc00..0xe000).contains(lo))
                {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                }
                let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                let mut b = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                continue;
            }
            _ => return Err(bad),
        };
        out.push(byte);
    }
    Ok(Cow::Owned(out))
}

/// A string as text; `Utf8` when it is not valid UTF-8.
pub(super) fn text(raw: &[u8]) -> Result<Cow<'_, str>, JsonError> {
    match unescape(raw)? {
        Cow::Borrowed(b) => std::str::from_utf8(b)
            .map(Cow::Borrowed)
            .map_err(|_| JsonError::Utf8),
        Cow::Owned(v) => String::from_utf8(v)
            .map(Cow::Owned)
            .map_err(|_| JsonError::Utf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_arrays_scalars_and_escapes() {
        let doc = br#"{"a":1,"b\"c":"x\"y","d":[true,null,{"e":"]"}],"f":-2.5e3,"g":{}}"#;
        let mut c = Cursor::new(doc);
        let mut seen = Vec::new();
        c.object(|c, key| match key {
            b"d" => c.array(|c| {
                let k = c.kind();
                let v = c.skip()?;
                seen.push((k, v.to_vec()));
                Ok(())
            }),
            b"f" => {
                assert_eq!(c.scalar()?, Scalar::Number(b"-2.5e3"));
                Ok(())
            }
            _ => c.skip().map(|_| ()),
        })
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2], (Kind::Object, br#"{"e":"]"}"#.to_vec()));
        assert_eq!(text(br#"x\"y"#).unwrap(), "x\"y");
        assert_eq!(text(br"\u00e9\ud83d\ude00\n").unwrap(), "é😀\n");
        assert_eq!(text(br"\ud800x").unwrap(), "\u{fffd}x");
        assert!(text(br"\q").is_err());
        assert!(text(&[0xff]).is_err());
    }

    #[test]
    fn broken_input_is_an_error_not_a_panic() {
        for s in [
            &b""[..],
            b"{",
            b"[1,",
            b"\"abc",
            b"{\"a\"}",
            b"{\"a\":}",
            b"nope",
            b"]",
            b"\"\\",
            b"{\"a\":1,}",
            b"[[[",
        ] {
            let mut c = Cursor::new(s);
            let r = match c.kind() {
                Kind::Object => c.object(|c, _| c.skip().map(|_| ())),
                Kind::Array => c.array(|c| c.skip().map(|_| ())),
                Kind::Scalar => c.scalar().map(|_| ()),
            };
            assert!(r.is_err(), "{:?}", String::from_utf8_lossy(s));
        }
    }
}
