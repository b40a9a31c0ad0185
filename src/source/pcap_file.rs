//! pcap and pcapng files, read in pure Rust. (Stub: filled in by the packet-capture work.)

use super::{Format, InputError, Source, SourceItem};
use std::io::Read;
use std::sync::Arc;

pub struct PcapSource {
    input: Arc<str>,
    done: bool,
}

impl PcapSource {
    pub fn new(input: Arc<str>, _reader: Box<dyn Read + Send>) -> Self {
        PcapSource { input, done: false }
    }
}

impl Iterator for PcapSource {
    type Item = SourceItem;
    fn next(&mut self) -> Option<SourceItem> {
        if self.done {
            return None;
        }
        self.done = true;
        Some(SourceItem::Problem(InputError::Capture {
            input: self.input.clone(),
            message: "packet captures are not supported yet".into(),
        }))
    }
}

impl Source for PcapSource {
    fn format(&self) -> Format {
        Format::Pcap
    }
}
