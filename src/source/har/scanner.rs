//! The structural scanner under the HAR reader: walks the JSON bytes without building values,
//! copies one entry at a time, and drops the contents of huge strings on the way.

use super::{MAX_ENTRY, MAX_STRING};
use std::io::{self, Read};

/// Why scanning stopped.
#[derive(Debug)]
pub(super) enum ScanError {
    Io(io::Error),
    Eof,
    Unexpected(u8),
    TooLarge,
}

/// The members of an object that the reader needs; the values of all others are skipped
/// without being copied.
pub(super) struct Keep(pub(super) &'static [(&'static [u8], Member)]);

/// What to copy of a member that is kept.
pub(super) enum Member {
    /// The whole value.
    Value,
    /// The number of elements of an array (0 for anything else), written as a number.
    Count,
    /// An object, itself selectively; any other value is copied whole.
    Object(&'static Keep),
}

pub(super) struct Scanner<R> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Bytes consumed before `buf[0]`.
    base: u64,
}

impl<R: Read> Scanner<R> {
    pub(super) fn new(r: R) -> Self {
        Scanner {
            r,
            buf: vec![0; 1 << 20],
            pos: 0,
            len: 0,
            base: 0,
        }
    }

    pub(super) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Makes at least one byte available; `Eof` at the end of input.
    pub(super) fn fill(&mut self) -> Result<(), ScanError> {
        if self.pos < self.len {
            return Ok(());
        }
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        loop {
            match self.r.read(&mut self.buf) {
                Ok(0) => return Err(ScanError::Eof),
                Ok(n) => {
                    self.len = n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ScanError::Io(e)),
            }
        }
    }

    pub(super) fn peek(&mut self) -> Result<u8, ScanError> {
        self.fill()?;
        Ok(self.buf[self.pos])
    }

    pub(super) fn bump(&mut self) {
        self.pos += 1;
    }

    pub(super) fn skip_ws(&mut self) -> Result<(), ScanError> {
        // Most calls find a token at once (compact JSON, or after a skipped run).
        if let Some(&b) = self.buf.get(self.pos).filter(|_| self.pos < self.len)
            && !matches!(b, b' ' | b'\n' | b'\r' | b'\t')
        {
            return Ok(());
        }
        loop {
            self.fill()?;
            let avail = &self.buf[self.pos..self.len];
            let mut i = 0;
            while i < avail.len() && matches!(avail[i], b' ' | b'\n' | b'\r' | b'\t') {
                i = skip_spaces(avail, i + 1);
            }
            self.pos += i;
            if self.pos < self.len {
                return Ok(());
            }
        }
    }

    pub(super) fn skip_bom(&mut self) -> Result<(), ScanError> {
        for &b in b"\xef\xbb\xbf" {
            if self.peek()? != b {
                return Ok(());
            }
            self.bump();
        }
        Ok(())
    }

    /// Inside an object: reads the next key (raw bytes, escapes kept) and the `:` after it.
    /// Returns false at the closing `}`.
    pub(super) fn next_key(&mut self, key: &mut Vec<u8>) -> Result<bool, ScanError> {
        self.skip_ws()?;
        let mut b = self.peek()?;
        if b == b',' {
            self.bump();
            self.skip_ws()?;
            b = self.peek()?;
        }
        match b {
            b'}' => {
                self.bump();
                Ok(false)
            }
            b'"' => {
                key.clear();
                self.bump();
                self.string_body(Some(key), 1024)?;
                key.pop(); // the closing quote
                self.skip_ws()?;
                match self.peek()? {
                    b':' => {
                        self.bump();
                        Ok(true)
                    }
                    b => Err(ScanError::Unexpected(b)),
                }
            }
            b => Err(ScanError::Unexpected(b)),
        }
    }

    /// Consumes one JSON value into `out`, keeping of an object only the members `keep` names,
    /// without whitespace. Anything but an object is copied whole (the reader then reports its
    /// shape). Past [`MAX_ENTRY`] bytes the copy is dropped, the value is still consumed to
    /// its end, and the result is `TooLarge`.
    pub(super) fn object(&mut self, out: &mut Vec<u8>, keep: &Keep) -> Result<(), ScanError> {
        self.skip_ws()?;
        if self.peek()? != b'{' {
            return self.value(Some(out));
        }
        self.bump();
        out.push(b'{');
        let mut key = Vec::new();
        let mut first = true;
        let mut too_large = false;
        while self.next_key(&mut key)? {
            let Some((_, member)) = keep.0.iter().find(|(k, _)| *k == key.as_slice()) else {
                self.value(None)?;
                continue;
            };
            if too_large {
                self.value(None)?;
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            out.extend_from_slice(&key);
            out.extend_from_slice(b"\":");
            self.skip_ws()?;
            if matches!(self.peek()?, b',' | b'}') {
                // No value: copied as it is, for the reader to report the entry's shape.
                continue;
            }
            let r = match member {
                Member::Value => self.value(Some(out)),
                Member::Count => self.count().map(|n| {
                    out.extend_from_slice(n.to_string().as_bytes());
                }),
                Member::Object(k) => self.object(out, k),
            };
            match r {
                Err(ScanError::TooLarge) => too_large = true,
                other => other?,
            }
            if out.len() > MAX_ENTRY {
                too_large = true;
            }
            if too_large {
                out.clear();
            }
        }
        if too_large {
            return Err(ScanError::TooLarge);
        }
        out.push(b'}');
        Ok(())
    }

    /// Consumes one value: the number of elements when it is an array, else 0.
    fn count(&mut self) -> Result<u64, ScanError> {
        self.skip_ws()?;
        if self.peek()? != b'[' {
            self.value(None)?;
            return Ok(0);
        }
        self.bump();
        let mut n = 0u64;
        loop {
            self.skip_ws()?;
            match self.peek()? {
                b']' => {
                    self.bump();
                    return Ok(n);
                }
                b',' if n > 0 => self.bump(),
                _ => {
                    self.value(None)?;
                    n += 1;
                }
            }
        }
    }

    /// Consumes one JSON value, copying it into `out` when given (huge strings emptied).
    pub(super) fn value(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), ScanError> {
        self.skip_ws()?;
        if !matches!(self.peek()?, b'{' | b'[' | b'"') {
            return self.scalar(out);
        }
        let mut depth = 0usize;
        let mut too_large = false;
        loop {
            self.fill()?;
            // Structure and whitespace up to the next string, a byte at a time over what is
            // buffered; whitespace is not copied.
            let avail = &self.buf[self.pos..self.len];
            let copy = if too_large { None } else { out.as_deref_mut() };
            let (mut i, mut closed, mut quote) = (0, false, false);
            match copy {
                Some(o) => {
                    while i < avail.len() {
                        let b = avail[i];
                        match b {
                            b'"' => {
                                quote = true;
                                break;
                            }
                            b' ' | b'\n' | b'\r' | b'\t' => {
                                i = skip_spaces(avail, i + 1);
                                continue;
                            }
                            b'{' | b'[' => {
                                depth += 1;
                                o.push(b);
                            }
                            b'}' | b']' => {
                                depth = depth.checked_sub(1).ok_or(ScanError::Unexpected(b))?;
                                o.push(b);
                                if depth == 0 {
                                    i += 1;
                                    closed = true;
                                    break;
                                }
                            }
                            _ => o.push(b),
                        }
                        i += 1;
                    }
                }
                None => {
                    while i < avail.len() {
                        let b = avail[i];
                        match b {
                            b'"' => {
                                quote = true;
                                break;
                            }
                            b' ' | b'\n' | b'\r' | b'\t' => {
                                i = skip_spaces(avail, i + 1);
                                continue;
                            }
                            b'{' | b'[' => depth += 1,
                            b'}' | b']' => {
                                depth = depth.checked_sub(1).ok_or(ScanError::Unexpected(b))?;
                                if depth == 0 {
                                    i += 1;
                                    closed = true;
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                }
            }
            self.pos += i;
            if let Some(o) = out.as_deref_mut()
                && !too_large
                && o.len() > MAX_ENTRY
            {
                // Keep scanning to the end of the value so the caller can go on.
                too_large = true;
                o.clear();
            }
            if closed {
                break;
            }
            if quote {
                self.bump();
                match out.as_deref_mut().filter(|_| !too_large) {
                    Some(o) => {
                        o.push(b'"');
                        self.string_body(Some(o), MAX_STRING)?;
                    }
                    None => self.string_body(None, 0)?,
                }
                if depth == 0 {
                    break;
                }
            }
        }
        if too_large {
            return Err(ScanError::TooLarge);
        }
        Ok(())
    }

    /// A number, `true`, `false` or `null`: up to the next delimiter.
    fn scalar(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), ScanError> {
        if matches!(self.peek()?, b'}' | b']') {
            return Err(ScanError::Unexpected(self.buf[self.pos]));
        }
        loop {
            let c = self.buf[self.pos];
            if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                return Ok(());
            }
            if let Some(o) = out.as_deref_mut() {
                o.push(c);
            }
            self.bump();
            if self.fill().is_err() {
                return Ok(());
            }
        }
    }

    /// After an opening quote: consumes the string up to and including its closing quote,
    /// copying it (with the quote) into `out`. A string longer than `cap` is copied as
    /// [`super::TRUNCATED_JSON`], so that the reader can say which value it lost.
    pub(super) fn string_body(
        &mut self,
        mut out: Option<&mut Vec<u8>>,
        cap: usize,
    ) -> Result<(), ScanError> {
        let start = out.as_ref().map_or(0, |o| o.len());
        let mut dropped = false;
        loop {
            self.fill()?;
            let avail = &self.buf[self.pos..self.len];
            let found = quote_or_backslash(avail);
            let take = found.unwrap_or(avail.len());
            if let Some(o) = out.as_deref_mut()
                && !dropped
            {
                if o.len() - start + take > cap {
                    o.truncate(start);
                    o.extend_from_slice(super::TRUNCATED_JSON);
                    dropped = true;
                } else {
                    o.extend_from_slice(&avail[..take]);
                }
            }
            self.pos += take;
            let Some(_) = found else { continue };
            let c = self.buf[self.pos];
            self.pos += 1;
            if c == b'"' {
                if let Some(o) = out.as_deref_mut() {
                    o.push(b'"');
                }
                return Ok(());
            }
            // A backslash: the next byte is escaped, whatever it is.
            self.fill()?;
            let e = self.buf[self.pos];
            self.pos += 1;
            if let Some(o) = out.as_deref_mut()
                && !dropped
            {
                o.push(b'\\');
                o.push(e);
            }
        }
    }
}

/// The first `"` or `\\` in `s`. Most strings are short: eight bytes at a time in a word
/// (no setup) over the first 64, then memchr for the long ones.
pub(super) fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const SLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    // Bytes equal to zero get their high bit set; the lowest set bit is exact (borrows only
    // run upwards), which is the one wanted.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while let Some(w) = s.get(i..i + 8).filter(|_| i < 64) {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let x = u64::from_le_bytes(b);
        let m = zero(x ^ QUOTES) | zero(x ^ SLASHES);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i < 64 {
        return s[i..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\')
            .map(|p| p + i);
    }
    memchr::memchr2(b'"', b'\\', &s[i..]).map(|p| p + i)
}

/// The index past the run of spaces at `i` (indentation: eight at a time, the end of the run
/// found in the last word by its first non-space byte).
fn skip_spaces(s: &[u8], mut i: usize) -> usize {
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    while let Some(w) = s.get(i..i + 8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let x = u64::from_le_bytes(b) ^ SPACES;
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while s.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_spaces_stops_at_the_first_other_byte() {
        for n in 0..40 {
            for tail in [&b"x   "[..], b"\n", b""] {
                let mut v = vec![b' '; n];
                v.extend_from_slice(tail);
                for start in 0..=n.min(3) {
                    assert_eq!(
                        skip_spaces(&v, start),
                        n,
                        "{n} spaces then {tail:?} from {start}"
                    );
                }
            }
        }
    }

    #[test]
    fn quote_or_backslash_finds_the_first() {
        for n in 0..150 {
            for c in [b'"', b'\\'] {
                let mut v = vec![b'a'; n];
                v.push(c);
                v.extend_from_slice(b"x\"y\\");
                assert_eq!(quote_or_backslash(&v), Some(n), "{n}");
                // The bytes next to the wanted ones, and bytes with the high bit set.
                v[..n].fill(c.wrapping_add(1));
                assert_eq!(quote_or_backslash(&v), Some(n), "{n} +1");
                v[..n].fill(c.wrapping_sub(1));
                assert_eq!(quote_or_backslash(&v), Some(n), "{n} -1");
                v[..n].fill(c | 0x80);
                assert_eq!(quote_or_backslash(&v), Some(n), "{n} high");
            }
            assert_eq!(quote_or_backslash(&vec![0u8; n]), None);
            assert_eq!(quote_or_backslash(&vec![0xffu8; n]), None);
        }
    }
}
