//! Arbitrary bytes as a HAR file, through the whole pipeline: the streaming reader, pairing,
//! the classifier, events and the aggregate. Oracle: no panic, the source ends, and every event
//! serializes.
//!
//! `cargo +stable fuzz run -s none har captures/ -- -max_total_time=30` (seeded from captures/)
#![no_main]

use corswatch::aggregate::Limits;
use corswatch::pair::PairConfig;
use corswatch::pipeline::Analyzer;
use corswatch::source::har::{HarSource, Item};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let mut analyzer = Analyzer::new(PairConfig::default(), Limits::default(), true, |ev| {
        let _ = serde_json::to_string(ev);
    });
    for item in HarSource::new(Arc::from("fuzz.har"), data) {
        if let Item::Exchange(ex) = item {
            analyzer.push(ex);
        }
    }
    let _ = analyzer.finish();
});
