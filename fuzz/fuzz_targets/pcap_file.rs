//! Arbitrary bytes as a capture file: pcap/pcapng reading, decoding, reassembly, HTTP.
//! Oracle: no panic, and reading ends.
//!
//! `cargo +stable fuzz run -s none pcap_file -- -max_total_time=30`
#![no_main]

use corswatch::drive::Driver;
use corswatch::model::Exchange;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let mut d = Driver::with_consumer(Default::default(), Vec::<Exchange>::new());
    d.read("fuzz", Box::new(Cursor::new(data.to_vec())), None);
    let _ = d.into_consumer();
});
