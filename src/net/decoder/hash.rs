//! The connection table's key and hash.

use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

/// A multiply-rotate hash with a per-process random seed: SipHash cost a sixth of the time per
/// packet, and the seed keeps collisions hard to aim at from the wire.
#[derive(Clone)]
pub(super) struct FlowHash(u64);

impl FlowHash {
    pub(super) fn new() -> Self {
        FlowHash(std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

impl BuildHasher for FlowHash {
    type Hasher = FlowHasher;
    fn build_hasher(&self) -> FlowHasher {
        FlowHasher(self.0)
    }
}

pub(super) struct FlowHasher(u64);

impl Hasher for FlowHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, w: u64) {
        self.0 = (self.0 ^ w)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 32)
    }
}

/// Normalised 4-tuple: both directions of a connection share it. Addresses as plain words
/// (compared and hashed for every packet: `SocketAddr`'s enum cost a few dozen instructions a
/// comparison). `meta` holds the replay round ([`super::Decoder::next_round`]: the same
/// addresses in another round are another connection) and the address family.
#[derive(Debug, Clone, Copy)]
pub(super) struct FlowKey {
    /// Each end: address (IPv4 in the low word), then port.
    ends: [[u64; 3]; 2],
    meta: u64,
}

/// Word by word, without a branch: the derived comparison of the arrays called `memcmp`
/// (two calls a packet, 3 % of the time of a capture's run).
impl PartialEq for FlowKey {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        let ([a, b], [c, d]) = (self.ends, o.ends);
        let mut diff = self.meta ^ o.meta;
        for i in 0..3 {
            diff |= (a[i] ^ c[i]) | (b[i] ^ d[i]);
        }
        diff == 0
    }
}

impl Eq for FlowKey {}

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // `write_u64` only: `write_u32` would take the hasher's byte path.
        h.write_u64(self.meta);
        for [hi, lo, port] in self.ends {
            h.write_u64(lo ^ port.rotate_left(48));
            if self.meta & 1 != 0 {
                h.write_u64(hi);
            }
        }
    }
}

impl FlowKey {
    pub(super) fn of(a: SocketAddr, b: SocketAddr, round: u32) -> Self {
        let end = |s: SocketAddr| match s.ip() {
            IpAddr::V4(ip) => [0, u64::from(u32::from(ip)), u64::from(s.port())],
            IpAddr::V6(ip) => {
                let v = u128::from(ip);
                [(v >> 64) as u64, v as u64, u64::from(s.port())]
            }
        };
        let (x, y) = (end(a), end(b));
        let v6 = u64::from(a.is_ipv6() || b.is_ipv6());
        FlowKey {
            ends: if x <= y { [x, y] } else { [y, x] },
            meta: (u64::from(round) << 1) | v6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_one_key_and_every_field_counts() {
        let a: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        assert_eq!(FlowKey::of(a, b, 0), FlowKey::of(b, a, 0));
        assert_ne!(FlowKey::of(a, b, 0), FlowKey::of(a, b, 1));
        let c: SocketAddr = "10.0.0.1:40001".parse().unwrap();
        assert_ne!(FlowKey::of(a, b, 0), FlowKey::of(c, b, 0));
        // The same 32 bits as an IPv4 address and as the low bits of an IPv6 one.
        let a6: SocketAddr = "[::a00:1]:40000".parse().unwrap();
        let b6: SocketAddr = "[::a00:2]:80".parse().unwrap();
        assert_ne!(FlowKey::of(a, b, 0), FlowKey::of(a6, b6, 0));
        let h = FlowHash::new();
        assert_eq!(
            h.hash_one(FlowKey::of(a6, b6, 3)),
            h.hash_one(FlowKey::of(b6, a6, 3))
        );
    }

    proptest::proptest! {
        /// Equal exactly when every word is (values from a small range, so that keys meet).
        #[test]
        fn eq_is_the_fields_eq(
            x in proptest::array::uniform2(proptest::array::uniform3(0u64..3)),
            y in proptest::array::uniform2(proptest::array::uniform3(0u64..3)),
            mx in 0u64..2,
            my in 0u64..2,
        ) {
            let (p, q) = (FlowKey { ends: x, meta: mx }, FlowKey { ends: y, meta: my });
            proptest::prop_assert_eq!(p == q, x == y && mx == my);
        }
    }
}
