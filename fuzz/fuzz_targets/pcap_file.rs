//! Arbitrary bytes as a capture file: pcap/pcapng reading, decoding, reassembly, HTTP.
//! Oracle: no panic, and the iterator ends.
//!
//! `cargo +stable fuzz run -s none pcap_file -- -max_total_time=30`
#![no_main]

use corswatch::source::pcap_file::PcapSource;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let src = PcapSource::new(Arc::from("fuzz"), Box::new(Cursor::new(data.to_vec())));
    for _ in src {}
});
