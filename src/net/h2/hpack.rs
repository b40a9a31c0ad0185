//! HPACK (RFC 7541) header block decoding for one direction of an HTTP/2 connection: static
//! and dynamic tables, integer and string literals, Huffman. Every block of a connection must
//! be decoded in order (even blocks we do not keep) or the dynamic table goes out of step, so
//! an error is final for the connection. Also a small encoder for tests and synthetic traffic.

use super::huffman;
use std::collections::VecDeque;

/// Largest dynamic table accepted from a size update (peers advertise 4 KiB to 64 KiB).
pub const MAX_TABLE: usize = 256 * 1024;
/// Longest decoded string.
const MAX_STRING: usize = 256 * 1024;

/// The static table (RFC 7541 Appendix A), 1-based in the protocol.
pub static STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Why a header block did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HpackError {
    /// The block ends inside a representation.
    #[error("the block ends inside a representation")]
    Truncated,
    /// An integer overflows.
    #[error("integer too large")]
    Integer,
    /// An index past both tables.
    #[error("index {0} is not in the tables")]
    Index(u64),
    /// A string over the limit.
    #[error("string longer than the limit")]
    StringTooLong,
    /// A Huffman string that does not decode.
    #[error("Huffman: {0}")]
    Huffman(#[from] huffman::HuffmanError),
    /// A table size update over the limit.
    #[error("dynamic table size update to {0} above the limit")]
    TableSize(u64),
    /// A table size update after a field.
    #[error("dynamic table size update after a header field")]
    LateSizeUpdate,
}

/// The decoding state of one direction.
pub struct Decoder {
    /// The dynamic table's bytes, oldest entry first from `start` (name, then value, of each):
    /// one buffer rather than an allocation per entry, compacted when the evicted prefix grows.
    arena: Vec<u8>,
    start: usize,
    /// (offset in `arena`, name length, value length), newest first.
    table: VecDeque<(usize, u32, u32)>,
    size: usize,
    max: usize,
    scratch_name: Vec<u8>,
    scratch_value: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

fn integer(buf: &[u8], at: &mut usize, prefix: u8) -> Result<u64, HpackError> {
    let mask = (1u16 << prefix) - 1;
    let first = *buf.get(*at).ok_or(HpackError::Truncated)?;
    *at += 1;
    let mut v = u64::from(first) & u64::from(mask);
    if v < u64::from(mask) {
        return Ok(v);
    }
    let mut shift = 0u32;
    loop {
        let b = *buf.get(*at).ok_or(HpackError::Truncated)?;
        *at += 1;
        if shift > 28 {
            return Err(HpackError::Integer);
        }
        v += u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
}

/// A string literal into `out` (cleared first).
fn string(buf: &[u8], at: &mut usize, out: &mut Vec<u8>) -> Result<(), HpackError> {
    out.clear();
    let huff = buf.get(*at).ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = integer(buf, at, 7)?;
    let len = usize::try_from(len).map_err(|_| HpackError::StringTooLong)?;
    if len > MAX_STRING {
        return Err(HpackError::StringTooLong);
    }
    let end = at.checked_add(len).ok_or(HpackError::Truncated)?;
    let raw = buf.get(*at..end).ok_or(HpackError::Truncated)?;
    *at = end;
    if huff {
        huffman::decode(raw, out)?;
        if out.len() > MAX_STRING {
            return Err(HpackError::StringTooLong);
        }
    } else {
        out.extend_from_slice(raw);
    }
    Ok(())
}

impl Decoder {
    /// Tables at their initial size.
    pub fn new() -> Self {
        Decoder {
            arena: Vec::new(),
            start: 0,
            table: VecDeque::new(),
            size: 0,
            max: 4096,
            scratch_name: Vec::new(),
            scratch_value: Vec::new(),
        }
    }

    /// Memory held (table entries and scratch buffers).
    pub fn bytes(&self) -> usize {
        self.arena.capacity()
            + self.table.capacity() * 16
            + self.scratch_name.capacity()
            + self.scratch_value.capacity()
    }

    /// Current dynamic table size (RFC 7541 §4.1) and its maximum.
    pub fn table_size(&self) -> (usize, usize) {
        (self.size, self.max)
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            let Some((_, n, v)) = self.table.pop_back() else {
                self.size = 0;
                break;
            };
            self.size -= n as usize + v as usize + 32;
        }
        self.start = self.table.back().map_or(self.arena.len(), |e| e.0);
        if self.table.is_empty() {
            self.arena.clear();
            self.start = 0;
        }
    }

    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let n = name.len() + value.len() + 32;
        if n > self.max {
            // Larger than the table: the table is emptied (RFC 7541 §4.4).
            self.table.clear();
            self.arena.clear();
            self.start = 0;
            self.size = 0;
            return;
        }
        self.evict_to(self.max - n);
        if self.start > 4096 && self.start * 2 > self.arena.len() {
            self.arena.drain(..self.start);
            let shift = self.start;
            for e in &mut self.table {
                e.0 -= shift;
            }
            self.start = 0;
        }
        let off = self.arena.len();
        self.arena.extend_from_slice(name);
        self.arena.extend_from_slice(value);
        self.table
            .push_front((off, name.len() as u32, value.len() as u32));
        self.size += n;
    }

    fn get(&self, index: u64) -> Result<(&[u8], &[u8]), HpackError> {
        let i = usize::try_from(index).map_err(|_| HpackError::Index(index))?;
        if i == 0 {
            return Err(HpackError::Index(index));
        }
        if let Some((n, v)) = STATIC.get(i - 1) {
            return Ok((n.as_bytes(), v.as_bytes()));
        }
        let &(off, n, v) = self
            .table
            .get(i - 1 - STATIC.len())
            .ok_or(HpackError::Index(index))?;
        let (n, v) = (n as usize, v as usize);
        let name = self
            .arena
            .get(off..off + n)
            .ok_or(HpackError::Index(index))?;
        let value = self
            .arena
            .get(off + n..off + n + v)
            .ok_or(HpackError::Index(index))?;
        Ok((name, value))
    }

    /// Decodes one complete header block, calling `field(name, value)` for each field in
    /// order.
    pub fn decode(
        &mut self,
        block: &[u8],
        field: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(), HpackError> {
        let mut at = 0;
        let mut seen_field = false;
        while let Some(&b) = block.get(at) {
            if b & 0x80 != 0 {
                let i = integer(block, &mut at, 7)?;
                let (n, v) = self.get(i)?;
                field(n, v);
                seen_field = true;
            } else if b & 0xe0 == 0x20 {
                if seen_field {
                    return Err(HpackError::LateSizeUpdate);
                }
                let size = integer(block, &mut at, 5)?;
                if size > MAX_TABLE as u64 {
                    return Err(HpackError::TableSize(size));
                }
                self.max = size as usize;
                self.evict_to(self.max);
            } else {
                let (prefix, index) = if b & 0xc0 == 0x40 {
                    (6, true)
                } else {
                    (4, false)
                };
                let i = integer(block, &mut at, prefix)?;
                let mut name = std::mem::take(&mut self.scratch_name);
                let mut value = std::mem::take(&mut self.scratch_value);
                let r = (|| {
                    if i == 0 {
                        string(block, &mut at, &mut name)?;
                    } else {
                        name.clear();
                        name.extend_from_slice(self.get(i)?.0);
                    }
                    string(block, &mut at, &mut value)
                })();
                if r.is_ok() {
                    field(&name, &value);
                    if index {
                        self.insert(&name, &value);
                    }
                }
                self.scratch_name = name;
                self.scratch_value = value;
                r?;
                seen_field = true;
            }
        }
        if self.scratch_value.capacity() > 16 * 1024 {
            self.scratch_value = Vec::new();
        }
        Ok(())
    }
}

/// How [`Encoder`] writes a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// Literal with incremental indexing (or indexed when already in a table).
    Indexed,
    /// Literal without indexing.
    WithoutIndexing,
    /// Literal never indexed (sensitive values).
    NeverIndexed,
}

/// An HPACK encoder for tests, benchmarks and synthetic captures: exact static/dynamic
/// matches are indexed, Huffman where shorter.
pub struct Encoder {
    table: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    max: usize,
    /// Huffman-code the strings.
    pub huffman: bool,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            table: VecDeque::new(),
            size: 0,
            max: 4096,
            huffman: true,
        }
    }
}

fn put_int(out: &mut Vec<u8>, first: u8, prefix: u8, mut v: u64) {
    let mask = (1u64 << prefix) - 1;
    if v < mask {
        out.push(first | v as u8);
        return;
    }
    out.push(first | mask as u8);
    v -= mask;
    while v >= 128 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Encoder {
    fn put_str(&self, out: &mut Vec<u8>, s: &[u8]) {
        let hl = huffman::encoded_len(s);
        if self.huffman && hl < s.len() {
            put_int(out, 0x80, 7, hl as u64);
            huffman::encode(s, out);
        } else {
            put_int(out, 0, 7, s.len() as u64);
            out.extend_from_slice(s);
        }
    }

    /// Signals a new dynamic table size at the start of the next block.
    pub fn size_update(&mut self, out: &mut Vec<u8>, max: usize) {
        self.max = max;
        while self.size > self.max {
            if let Some((n, v)) = self.table.pop_back() {
                self.size -= n.len() + v.len() + 32;
            }
        }
        put_int(out, 0x20, 5, max as u64);
    }

    /// Appends one field to `out` in representation `repr`.
    pub fn field(&mut self, out: &mut Vec<u8>, name: &[u8], value: &[u8], repr: Repr) {
        let find = |n: &[u8], v: Option<&[u8]>| -> Option<usize> {
            STATIC
                .iter()
                .position(|(sn, sv)| sn.as_bytes() == n && v.is_none_or(|v| sv.as_bytes() == v))
                .map(|i| i + 1)
                .or_else(|| {
                    self.table
                        .iter()
                        .position(|(tn, tv)| tn == n && v.is_none_or(|v| tv == v))
                        .map(|i| i + 1 + STATIC.len())
                })
        };
        if repr == Repr::Indexed
            && let Some(i) = find(name, Some(value))
        {
            put_int(out, 0x80, 7, i as u64);
            return;
        }
        let name_index = find(name, None).unwrap_or(0);
        match repr {
            Repr::Indexed => put_int(out, 0x40, 6, name_index as u64),
            Repr::WithoutIndexing => put_int(out, 0x00, 4, name_index as u64),
            Repr::NeverIndexed => put_int(out, 0x10, 4, name_index as u64),
        }
        if name_index == 0 {
            self.put_str(out, name);
        }
        self.put_str(out, value);
        if repr == Repr::Indexed {
            let n = name.len() + value.len() + 32;
            if n > self.max {
                self.table.clear();
                self.size = 0;
                return;
            }
            while self.size + n > self.max {
                if let Some((a, b)) = self.table.pop_back() {
                    self.size -= a.len() + b.len() + 32;
                }
            }
            self.table.push_front((name.to_vec(), value.to_vec()));
            self.size += n;
        }
    }
}

#[cfg(test)]
impl Decoder {
    /// Sets the table maximum as a SETTINGS exchange would have (tests of Appendix C.5/C.6).
    fn size_for_test(&mut self, max: usize) {
        self.max = max;
        self.evict_to(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        s.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    fn decode_all(d: &mut Decoder, hex: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        d.decode(&unhex(hex), &mut |n, v| {
            out.push((
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            ))
        })
        .unwrap();
        out
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn c2_field_representations() {
        // C.2.1 literal with indexing.
        let mut d = Decoder::new();
        assert_eq!(
            decode_all(
                &mut d,
                "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"
            ),
            pairs(&[("custom-key", "custom-header")])
        );
        assert_eq!(d.table_size().0, 55);
        // C.2.2 literal without indexing.
        let mut d = Decoder::new();
        assert_eq!(
            decode_all(&mut d, "040c 2f73 616d 706c 652f 7061 7468"),
            pairs(&[(":path", "/sample/path")])
        );
        assert_eq!(d.table_size().0, 0);
        // C.2.3 never indexed.
        let mut d = Decoder::new();
        assert_eq!(
            decode_all(&mut d, "1008 7061 7373 776f 7264 0673 6563 7265 74"),
            pairs(&[("password", "secret")])
        );
        // C.2.4 indexed.
        assert_eq!(decode_all(&mut d, "82"), pairs(&[(":method", "GET")]));
    }

    const REQ1: [(&str, &str); 4] = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ];
    const REQ2: [(&str, &str); 5] = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ];
    const REQ3: [(&str, &str); 5] = [
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ];

    #[test]
    fn c3_requests_without_huffman() {
        let mut d = Decoder::new();
        assert_eq!(
            decode_all(&mut d, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
            pairs(&REQ1)
        );
        assert_eq!(d.table_size().0, 57);
        assert_eq!(
            decode_all(&mut d, "8286 84be 5808 6e6f 2d63 6163 6865"),
            pairs(&REQ2)
        );
        assert_eq!(d.table_size().0, 110);
        assert_eq!(
            decode_all(
                &mut d,
                "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"
            ),
            pairs(&REQ3)
        );
        assert_eq!(d.table_size().0, 164);
    }

    #[test]
    fn c4_requests_with_huffman() {
        let mut d = Decoder::new();
        assert_eq!(
            decode_all(&mut d, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
            pairs(&REQ1)
        );
        assert_eq!(
            decode_all(&mut d, "8286 84be 5886 a8eb 1064 9cbf"),
            pairs(&REQ2)
        );
        assert_eq!(
            decode_all(
                &mut d,
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"
            ),
            pairs(&REQ3)
        );
        assert_eq!(d.table_size().0, 164);
    }

    const RESP1: [(&str, &str); 4] = [
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    const RESP2: [(&str, &str); 4] = [
        (":status", "307"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    const RESP3: [(&str, &str); 6] = [
        (":status", "200"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"),
        ("content-encoding", "gzip"),
        (
            "set-cookie",
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ),
    ];

    #[test]
    fn c5_responses_with_eviction() {
        let mut d = Decoder::new();
        let mut size = Vec::new();
        d.size_for_test(256);
        assert_eq!(
            decode_all(
                &mut d,
                "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 \
                 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 \
                 6c65 2e63 6f6d"
            ),
            pairs(&RESP1)
        );
        size.push(d.table_size().0);
        assert_eq!(decode_all(&mut d, "4803 3330 37c1 c0bf"), pairs(&RESP2));
        size.push(d.table_size().0);
        assert_eq!(
            decode_all(
                &mut d,
                "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d \
                 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 \
                 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e \
                 3d31"
            ),
            pairs(&RESP3)
        );
        size.push(d.table_size().0);
        assert_eq!(size, vec![222, 222, 215]);
    }

    #[test]
    fn c6_responses_with_huffman() {
        let mut d = Decoder::new();
        d.size_for_test(256);
        assert_eq!(
            decode_all(
                &mut d,
                "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
                 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"
            ),
            pairs(&RESP1)
        );
        assert_eq!(decode_all(&mut d, "4883 640e ffc1 c0bf"), pairs(&RESP2));
        assert_eq!(
            decode_all(
                &mut d,
                "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab \
                 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f \
                 9587 3160 65c0 03ed 4ee5 b106 3d50 07"
            ),
            pairs(&RESP3)
        );
        assert_eq!(d.table_size().0, 215);
    }

    #[test]
    fn errors_are_errors_not_panics() {
        let mut d = Decoder::new();
        let mut f = |_: &[u8], _: &[u8]| {};
        assert_eq!(d.decode(&[0x80], &mut f), Err(HpackError::Index(0)));
        assert_eq!(d.decode(&[0xbe], &mut f), Err(HpackError::Index(62)));
        assert_eq!(d.decode(&[0x41], &mut f), Err(HpackError::Truncated));
        assert_eq!(
            d.decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], &mut f),
            Err(HpackError::Integer)
        );
        assert!(matches!(
            d.decode(&[0x3f, 0xe1, 0xff, 0x7f], &mut f),
            Err(HpackError::TableSize(_))
        ));
        assert_eq!(
            d.decode(&[0x82, 0x20], &mut f),
            Err(HpackError::LateSizeUpdate)
        );
        assert_eq!(
            d.decode(&[0x00, 0x81, 0x00, 0x00], &mut f),
            Err(HpackError::Huffman(huffman::HuffmanError::Padding))
        );
    }

    #[test]
    fn encoder_round_trip_with_dynamic_table() {
        let mut e = Encoder::default();
        let mut d = Decoder::new();
        for round in 0..50 {
            let mut block = Vec::new();
            let fields: Vec<(String, String)> = (0..8)
                .map(|k| {
                    (
                        format!("x-h{}", (round + k) % 11),
                        format!("v{}-{}", k, round % 5),
                    )
                })
                .collect();
            for (n, v) in &fields {
                e.field(&mut block, n.as_bytes(), v.as_bytes(), Repr::Indexed);
            }
            e.field(
                &mut block,
                b"authorization",
                b"Bearer t",
                Repr::NeverIndexed,
            );
            let mut got = Vec::new();
            d.decode(&block, &mut |n, v| got.push((n.to_vec(), v.to_vec())))
                .unwrap();
            assert_eq!(got.len(), 9);
            for ((n, v), (gn, gv)) in fields.iter().zip(&got) {
                assert_eq!((n.as_bytes(), v.as_bytes()), (&gn[..], &gv[..]));
            }
            assert!(d.table_size().0 <= 4096);
        }
    }
}
