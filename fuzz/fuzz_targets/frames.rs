//! Arbitrary frames straight into the decoder, for every link type, with small caps so that
//! eviction and hole skipping run. Oracles: no panic; held bytes stay within the caps.
#![no_main]

use corswatch::model::Timestamp;
use corswatch::net::{Decoder, Limits};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

const LINKS: [u32; 10] = [0, 1, 12, 101, 108, 113, 228, 229, 239, 276];

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_flows: 4,
        max_held_per_direction: 2048,
        max_held_total: 4096,
        max_head: 1024,
        ..Limits::default()
    };
    let mut d = Decoder::new(Arc::from("fuzz"), limits.clone());
    // Frames: [link index, length, bytes...] repeated.
    let mut rest = data;
    let mut n = 0;
    while let [l, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (frame, next) = tail.split_at(len);
        n += 1;
        d.packet(
            Timestamp(n * 1_000_000_000),
            LINKS[usize::from(*l) % LINKS.len()],
            frame,
            n as u64,
        );
        while d.pop().is_some() {}
        assert!(d.held_bytes() <= limits.max_held_total + 2048);
        rest = next;
    }
    d.finish();
    while d.pop().is_some() {}
});
