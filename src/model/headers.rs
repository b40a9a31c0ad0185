//! Header lines as a message carries them: one buffer, spans into it, a name filter for the
//! lookups that every check makes.

use super::lossy;
use std::borrow::Cow;
use std::fmt;

/// Header lines in wire order, with their original bytes and repetitions. Stored in one buffer
/// so that a message costs two allocations however many headers it has.
#[derive(Clone, Default)]
pub struct Headers {
    buf: Vec<u8>,
    spans: Vec<Span>,
    /// A two-word Bloom filter of the names present ([`name_bits`]): most lookups are for
    /// headers a message does not have (CORS headers on most responses), and they end here
    /// without a scan. Two bits of 128 per name: with the 20-30 headers of a browser's
    /// request, one bit of 64 let a third of the absent names through to a scan.
    names: [u64; 2],
}

/// One line's name and value, as offsets into [`Headers::buf`]: a parsed head is copied whole,
/// with its separators between the two.
#[derive(Clone, Copy, Debug)]
struct Span {
    name: u32,
    name_end: u32,
    value: u32,
    value_end: u32,
    /// [`name_key`] of the name: a scan compares it before the name's bytes.
    key: u32,
}

impl Span {
    fn name<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.name as usize..self.name_end as usize)
            .unwrap_or_default()
    }
    fn value<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.value as usize..self.value_end as usize)
            .unwrap_or_default()
    }
}

/// The same lines in the same order, however they are laid out.
impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter_raw().eq(other.iter_raw())
    }
}

impl Eq for Headers {}

/// A header name's key, the same for any ASCII case: its length and its first, middle and
/// last bytes (`| 0x20` folds ASCII case; other bytes only collide more). Names that differ
/// in it differ. Inlined: for the literal names of lookups it folds to a constant.
#[inline(always)]
pub(crate) const fn name_key(name: &[u8]) -> u32 {
    let len = name.len();
    let [first, middle, last] = match name {
        [] => [0; 3],
        [a, ..] => [*a | 0x20, name[len / 2] | 0x20, name[len - 1] | 0x20],
    };
    (len as u32 & 0xff) ^ ((first as u32) << 8) ^ ((middle as u32) << 16) ^ ((last as u32) << 24)
}

/// The filter bits of a name's key.
#[inline(always)]
fn name_bits(key: u32) -> [u64; 2] {
    let h = key.wrapping_mul(0x9E37_79B1);
    // Two words, not a u128: its 16-byte alignment would pad every exchange. Each bit goes to
    // its word by a mask, not an index: an indexed array lives in memory, and reading it back
    // whole stalled on the two stores just made (a tenth of `to_headers`' time).
    let (a, b) = (h >> 25, (h >> 18) & 127);
    let (ma, mb) = (1u64 << (a & 63), 1u64 << (b & 63));
    let (ha, hb) = (
        0u64.wrapping_sub(u64::from(a >> 6)),
        0u64.wrapping_sub(u64::from(b >> 6)),
    );
    [(ma & !ha) | (mb & !hb), (ma & ha) | (mb & hb)]
}

impl Headers {
    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.spans.capacity() * std::mem::size_of::<Span>()
    }

    /// Hints the CPU to load the first lines of the spans and the bytes
    /// ([`super::Exchange::prefetch`]).
    /// Every line of both, up to a few KiB: a lookup scans the spans and compares a name
    /// anywhere in the bytes.
    #[inline]
    pub(crate) fn prefetch(&self) {
        let spans = std::mem::size_of_val(self.spans.as_slice());
        for (at, len) in [
            (self.spans.as_ptr().cast::<u8>(), spans.min(1 << 10)),
            (self.buf.as_ptr(), self.buf.len().min(2 << 10)),
        ] {
            for off in (0..len).step_by(64) {
                super::prefetch(at.wrapping_add(off));
            }
        }
    }

    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `lines` headers of `bytes` in all.
    pub fn with_capacity(lines: usize, bytes: usize) -> Self {
        Headers {
            buf: Vec::with_capacity(bytes),
            spans: Vec::with_capacity(lines),
            names: [0; 2],
        }
    }

    /// Appends one header line. Lines that would push the block past 4 GiB are dropped.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let start = self.buf.len();
        let Some(end) = start
            .checked_add(name.len())
            .and_then(|n| n.checked_add(value.len()))
        else {
            return;
        };
        if u32::try_from(end).is_err() {
            return;
        }
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(value);
        let mid = (start + name.len()) as u32;
        self.add_span(
            name,
            Span {
                name: start as u32,
                name_end: mid,
                value: mid,
                value_end: end as u32,
                key: 0,
            },
        );
    }

    /// Adds the line at `span` (its key left to this) and `name` to the filter.
    #[inline(always)]
    fn add_span(&mut self, name: &[u8], mut span: Span) {
        span.key = name_key(name);
        let bits = name_bits(span.key);
        self.names[0] |= bits[0];
        self.names[1] |= bits[1];
        self.spans.push(span);
    }

    /// The lines of a parsed head, `lines` as (name, value) slices of `head`: the block from
    /// the first name to the last value is copied once, not line by line (this runs for every
    /// HTTP/1 message). Lines that are not slices of `head` are appended as by [`Headers::push`].
    pub fn from_head<'h>(
        head: &'h [u8],
        lines: impl ExactSizeIterator<Item = (&'h [u8], &'h [u8])> + DoubleEndedIterator + Clone,
    ) -> Headers {
        let base = head.as_ptr() as usize;
        // Where a slice of `head` lies in it; `None` for a slice of anything else.
        let at = |s: &[u8]| {
            let off = (s.as_ptr() as usize).checked_sub(base)?;
            let end = off.checked_add(s.len())?;
            (end <= head.len() && u32::try_from(end).is_ok()).then_some((off, end))
        };
        // A parser's lines lie in order: the block runs from the first name to the last value.
        let first = lines
            .clone()
            .next()
            .and_then(|(n, _)| at(n))
            .map_or(0, |p| p.0);
        let last = lines
            .clone()
            .next_back()
            .and_then(|(_, v)| at(v))
            .map_or(0, |p| p.1);
        let block = head.get(first..last).unwrap_or_default();
        let mut h = Headers::with_capacity(lines.len(), block.len());
        h.buf.extend_from_slice(block);
        // Where a slice lies in the block: one subtraction and two compares (the block's
        // length fits in u32, so do offsets within it).
        let lo = base.wrapping_add(first);
        let within = |s: &[u8]| {
            let off = (s.as_ptr() as usize).wrapping_sub(lo);
            (off <= block.len() && s.len() <= block.len() - off).then_some(off as u32)
        };
        for (n, v) in lines {
            match (within(n), within(v)) {
                (Some(a), Some(c)) => h.add_span(
                    n,
                    Span {
                        name: a,
                        name_end: a + n.len() as u32,
                        value: c,
                        value_end: c + v.len() as u32,
                        key: 0,
                    },
                ),
                _ => h.push(n, v),
            }
        }
        h
    }

    /// Header lines.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// No header lines.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Header lines as (name, raw value) in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.spans.iter().map(move |s| {
            let name = std::str::from_utf8(s.name(&self.buf)).unwrap_or("");
            (name, s.value(&self.buf))
        })
    }

    /// Header lines as (name, raw value) in wire order, the name as bytes: for scans over
    /// every line that compare names as bytes (no UTF-8 check per name).
    pub fn iter_raw(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans
            .iter()
            .map(move |s| (s.name(&self.buf), s.value(&self.buf)))
    }

    /// [`Headers::iter_raw`] with each name's [`name_key`].
    pub(crate) fn iter_keyed(&self) -> impl Iterator<Item = (&[u8], &[u8], u32)> + '_ {
        self.spans
            .iter()
            .map(move |s| (s.name(&self.buf), s.value(&self.buf), s.key))
    }

    /// All values of `name` (ASCII case-insensitive), in wire order.
    #[inline]
    pub fn get_all<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        // Compares bytes: this runs for every header lookup of every exchange. Inlined, so
        // that a literal name's key and filter bits are constants at the call site.
        let want = name.as_bytes();
        let key = name_key(want);
        let spans = if self.may_have(key) {
            &self.spans[..]
        } else {
            &[][..]
        };
        // The key first: most lines of a present name's message are other names.
        spans
            .iter()
            .filter(move |s| s.key == key && s.name(&self.buf).eq_ignore_ascii_case(want))
            .map(move |s| s.value(&self.buf))
    }

    /// The filter lets a name of this key through: most lookups are for names a message
    /// does not have, and end here.
    #[inline(always)]
    fn may_have(&self, key: u32) -> bool {
        let bits = name_bits(key);
        self.names[0] & bits[0] == bits[0] && self.names[1] & bits[1] == bits[1]
    }

    /// The first value of a name with `key` (a present one: the filter let it through).
    fn first(&self, key: u32, want: &[u8]) -> Option<&[u8]> {
        self.spans
            .iter()
            .find(|s| s.key == key && s.name(&self.buf).eq_ignore_ascii_case(want))
            .map(|s| s.value(&self.buf))
    }

    /// The first value of `name`.
    #[inline(always)]
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let want = name.as_bytes();
        let key = name_key(want);
        if self.may_have(key) {
            self.first(key, want)
        } else {
            None
        }
    }

    /// The first value of `name` as text (lossy for non-UTF-8 bytes).
    #[inline(always)]
    pub fn get_str(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(lossy)
    }

    /// A line named `name` (any case) exists.
    #[inline(always)]
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Lines named `name` (any case).
    #[inline(always)]
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// All lines of `name` joined with ", ", the way Chromium's `GetNormalizedHeader` and the
    /// Fetch standard combine repeated headers. `None` when the header is absent.
    pub fn combined(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        let mut it = self.get_all(name);
        let first = it.next()?;
        match it.next() {
            None => Some(Cow::Borrowed(first)),
            Some(second) => {
                let mut out = first.to_vec();
                for v in std::iter::once(second).chain(it) {
                    out.extend_from_slice(b", ");
                    out.extend_from_slice(v);
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// As [`Headers::combined`], as text.
    pub fn combined_str(&self, name: &str) -> Option<String> {
        self.combined(name)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for (n, v) in self.iter() {
            l.entry(&(n, crate::redact::header_value(n, v)));
        }
        l.finish()
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> FromIterator<(N, V)> for Headers {
    fn from_iter<T: IntoIterator<Item = (N, V)>>(iter: T) -> Self {
        let mut h = Headers::new();
        for (n, v) in iter {
            h.push(n.as_ref(), v.as_ref());
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::{Headers, name_bits};
    use proptest::prelude::*;

    proptest! {
        /// The masks set the two bits an indexed array would: bit `b` of the 128, word `b / 64`.
        #[test]
        fn name_bits_are_the_two_indexed_bits(key in any::<u32>()) {
            let h = key.wrapping_mul(0x9E37_79B1);
            let mut want = [0u64; 2];
            for b in [h >> 25, (h >> 18) & 127] {
                want[(b >> 6) as usize] |= 1 << (b & 63);
            }
            prop_assert_eq!(name_bits(key), want);
        }

        /// The name filter never hides a header: any ASCII case of a pushed name finds it, and
        /// an absent name finds nothing.
        #[test]
        fn lookups_find_every_case_of_a_name(
            names in proptest::collection::vec("[A-Za-z0-9!#$%&'*+.^_`|~-]{0,12}", 0..12),
            flips in any::<u64>(),
            other in "[a-z-]{1,12}",
        ) {
            let h: Headers = names.iter().map(|n| (n.as_bytes(), b"v".as_slice())).collect();
            for (i, n) in names.iter().enumerate() {
                let asked: String = n
                    .chars()
                    .enumerate()
                    .map(|(j, c)| if (flips >> ((i + j) % 64)) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                    .collect();
                prop_assert_eq!(h.count(&asked), names.iter().filter(|m| m.eq_ignore_ascii_case(n)).count());
            }
            let present = names.iter().any(|m| m.eq_ignore_ascii_case(&other));
            prop_assert_eq!(h.contains(&other), present);
        }

        /// A head copied whole holds the same lines as one built line by line, and finds them
        /// the same way; a line that is not a slice of the head is kept too.
        #[test]
        fn a_head_copied_whole_is_the_lines_pushed(
            lines in proptest::collection::vec(("[A-Za-z-]{1,10}", "[ -~]{0,20}"), 0..10),
            sep in "(: ?|:  )",
            foreign in any::<bool>(),
        ) {
            let mut head = b"GET / HTTP/1.1\r\n".to_vec();
            let mut at = Vec::new();
            for (n, v) in &lines {
                let a = head.len();
                head.extend_from_slice(n.as_bytes());
                head.extend_from_slice(sep.as_bytes());
                let c = head.len();
                head.extend_from_slice(v.as_bytes());
                at.push((a..a + n.len(), c..head.len()));
                head.extend_from_slice(b"\r\n");
            }
            head.extend_from_slice(b"\r\n");
            let extra = (&b"X-Extra"[..], &b"1"[..]);
            let mut parsed: Vec<(&[u8], &[u8])> =
                at.iter().map(|(n, v)| (&head[n.clone()], &head[v.clone()])).collect();
            if foreign {
                parsed.insert(parsed.len() / 2, extra);
            }
            let whole = Headers::from_head(&head, parsed.iter().copied());
            let pushed: Headers = parsed.iter().copied().collect();
            prop_assert_eq!(&whole, &pushed);
            prop_assert!(whole.iter_raw().eq(pushed.iter_raw()));
            for (n, _) in &parsed {
                let n = String::from_utf8_lossy(n).to_ascii_uppercase();
                prop_assert_eq!(whole.get_all(&n).collect::<Vec<_>>(), pushed.get_all(&n).collect::<Vec<_>>());
            }
        }
    }
}
