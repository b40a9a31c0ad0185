//! The HPACK Huffman code (RFC 7541 §5.2, Appendix B). It is canonical, so the whole code
//! follows from the code lengths; decoding compares the next bits with the first code of each
//! length, shortest first.

use std::sync::OnceLock;

/// Code lengths of the HPACK Huffman code (RFC 7541 Appendix B), by symbol (256 is EOS).
/// The code is canonical: codes follow from the lengths.
pub const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const EOS: u16 = 256;

struct Table {
    /// By length: the first code, how many codes, where their symbols start in `syms`.
    first: [u32; 31],
    count: [u32; 31],
    offset: [u32; 31],
    syms: [u16; 257],
    /// By symbol: (code, length), for the encoder.
    codes: [(u32, u8); 257],
    /// By the next 8 bits: the symbol whose code of at most 8 bits they start with, and that
    /// length (`len << 8 | symbol`), or 0 when the code is longer. Most header text is in
    /// codes of 5 to 8 bits, so most symbols take one lookup.
    fast: [u16; 256],
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table {
            first: [0; 31],
            count: [0; 31],
            offset: [0; 31],
            syms: [0; 257],
            codes: [(0, 0); 257],
            fast: [0; 256],
        };
        let mut order: Vec<u16> = (0..257).collect();
        order.sort_by_key(|&s| (LENGTHS[usize::from(s)], s));
        let mut code = 0u32;
        let mut prev = 0u8;
        for (k, &s) in order.iter().enumerate() {
            let len = LENGTHS[usize::from(s)];
            if k > 0 {
                code = (code + 1) << (len - prev);
            }
            prev = len;
            let l = usize::from(len);
            if t.count[l] == 0 {
                t.first[l] = code;
                t.offset[l] = k as u32;
            }
            t.count[l] += 1;
            t.syms[k] = s;
            t.codes[usize::from(s)] = (code, len);
            if len <= 8 {
                let first = (code << (8 - len)) as usize;
                for e in &mut t.fast[first..first + (1 << (8 - len))] {
                    *e = (u16::from(len) << 8) | s;
                }
            }
        }
        t
    })
}

/// Why a Huffman string did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HuffmanError {
    /// The end-of-string symbol inside a string.
    #[error("EOS symbol inside a string")]
    Eos,
    /// Padding longer than 7 bits, or not all ones.
    #[error("padding longer than 7 bits or not all ones")]
    Padding,
}

/// Appends the decoded `src` to `out`.
pub fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let t = table();
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    let mut i = 0;
    out.reserve(src.len() + src.len() / 2);
    'sym: loop {
        while bits <= 56 && i < src.len() {
            acc = (acc << 8) | u64::from(src[i]);
            bits += 8;
            i += 1;
        }
        if bits == 0 {
            return Ok(());
        }
        let mut shortest = 5;
        if bits >= 8 {
            let e = t.fast[((acc >> (bits - 8)) & 0xff) as usize];
            if e != 0 {
                out.push(e as u8);
                bits -= u32::from(e >> 8);
                continue 'sym;
            }
            shortest = 9;
        }
        for l in shortest..=30u32.min(bits) {
            let v = ((acc >> (bits - l)) & ((1u64 << l) - 1)) as u32;
            let off = v.wrapping_sub(t.first[l as usize]);
            if off < t.count[l as usize] {
                let s = t.syms[(t.offset[l as usize] + off) as usize];
                if s == EOS {
                    return Err(HuffmanError::Eos);
                }
                out.push(s as u8);
                bits -= l;
                continue 'sym;
            }
        }
        // No code fits in what is left: it must be the padding, a prefix of EOS (all ones)
        // shorter than a byte.
        let mask = (1u64 << bits) - 1;
        return if i >= src.len() && bits < 8 && acc & mask == mask {
            Ok(())
        } else {
            Err(HuffmanError::Padding)
        };
    }
}

/// Appends the Huffman encoding of `src` to `out` (tests and synthetic traffic).
pub fn encode(src: &[u8], out: &mut Vec<u8>) {
    let t = table();
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &b in src {
        let (code, len) = t.codes[usize::from(b)];
        acc = (acc << len) | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) as u8);
    }
}

/// Length of the Huffman encoding of `src`.
pub fn encoded_len(src: &[u8]) -> usize {
    let t = table();
    let bits: usize = src
        .iter()
        .map(|&b| usize::from(t.codes[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        let t = table();
        // Appendix B: '0' is 00000 (5 bits), 'a' 00011, EOS is 30 ones.
        assert_eq!(t.codes[usize::from(b'0')], (0, 5));
        assert_eq!(t.codes[usize::from(b'a')], (0x3, 5));
        assert_eq!(t.codes[256], (0x3fff_ffff, 30));
        assert_eq!(t.codes[usize::from(b'&')], (0xf8, 8));
    }

    #[test]
    fn round_trip_every_byte() {
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let mut enc = Vec::new();
        encode(&all, &mut enc);
        assert_eq!(enc.len(), encoded_len(&all));
        let mut dec = Vec::new();
        decode(&enc, &mut dec).unwrap();
        assert_eq!(dec, all);
    }

    #[test]
    fn bad_padding_and_eos() {
        let mut out = Vec::new();
        // 'a' (00011) padded with zeros instead of ones.
        assert_eq!(decode(&[0b0001_1000], &mut out), Err(HuffmanError::Padding));
        // A whole byte of padding.
        out.clear();
        assert_eq!(
            decode(&[0b0001_1111, 0xff], &mut out),
            Err(HuffmanError::Padding)
        );
        // EOS itself.
        assert!(decode(&[0xff, 0xff, 0xff, 0xff], &mut out).is_err());
    }
}
