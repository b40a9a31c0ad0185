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

/// Normalised 4-tuple: both directions of a connection share it. The third field is the
/// replay round ([`super::Decoder::next_round`]): the same addresses in another round are another
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FlowKey(SocketAddr, SocketAddr, u32);

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // `write_u64` only: `write_u32` would take the hasher's byte path.
        h.write_u64(u64::from(self.2));
        for a in [self.0, self.1] {
            let port = u64::from(a.port());
            match a.ip() {
                IpAddr::V4(ip) => h.write_u64((u64::from(u32::from(ip)) << 16) | port),
                IpAddr::V6(ip) => {
                    let v = u128::from(ip);
                    h.write_u64(v as u64);
                    h.write_u64(((v >> 64) as u64).rotate_left(16) ^ port);
                }
            }
        }
    }
}

impl FlowKey {
    pub(super) fn of(a: SocketAddr, b: SocketAddr, round: u32) -> Self {
        if a <= b {
            FlowKey(a, b, round)
        } else {
            FlowKey(b, a, round)
        }
    }
}
