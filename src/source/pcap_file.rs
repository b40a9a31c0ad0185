//! pcap and pcapng files as a [`Source`]: packets from [`PacketReader`] fed to the sans-IO
//! [`Decoder`]. Exchanges come out as they complete, so memory follows the open connections,
//! not the file size.

use super::packets::{PacketReader, Step};
use super::{Format, InputError, Source, SourceItem};
use crate::model::{CaptureHealth, TlsPeer};
use crate::net::{Decoder, Limits};
use std::io::Read;
use std::sync::Arc;

pub struct PcapSource {
    packets: PacketReader,
    decoder: Decoder,
    stage: Stage,
}

enum Stage {
    Reading,
    /// Input ended: flush the decoder next.
    Ended,
    Done,
}

impl PcapSource {
    pub fn new(input: Arc<str>, reader: Box<dyn Read + Send>) -> Self {
        Self::with_limits(input, reader, Limits::default())
    }

    pub fn with_limits(input: Arc<str>, reader: Box<dyn Read + Send>, limits: Limits) -> Self {
        let mut decoder = Decoder::new(input.clone(), limits);
        let mut packets = PacketReader::new(input.clone(), reader);
        if let Some(e) = decoder.take_keylog_error() {
            packets
                .problems
                .push_back(InputError::Capture { input, message: e });
        }
        PcapSource {
            decoder,
            packets,
            stage: Stage::Reading,
        }
    }

    /// Bytes of the input read and decoded so far.
    pub fn bytes_consumed(&self) -> u64 {
        self.packets.bytes_consumed()
    }

    /// Connections skipped as not HTTP/1.x so far.
    pub fn non_http_flows(&self) -> u64 {
        self.decoder.non_http_flows()
    }
}

impl Iterator for PcapSource {
    type Item = SourceItem;
    fn next(&mut self) -> Option<SourceItem> {
        loop {
            if let Some(p) = self.packets.problems.pop_front() {
                return Some(SourceItem::Problem(p));
            }
            if let Some(x) = self.decoder.pop() {
                return Some(SourceItem::Exchange(Box::new(x)));
            }
            while let Some(text) = self.packets.secrets.pop_front() {
                self.decoder.add_secrets(&text);
            }
            match self.stage {
                Stage::Reading => {
                    let decoder = &mut self.decoder;
                    let step = self.packets.read(&mut |ts, link, data, n| {
                        decoder.packet(ts, link, data, n);
                        decoder.ready() == 0
                    });
                    if step == Step::Ended {
                        self.stage = Stage::Ended;
                    }
                }
                Stage::Ended => {
                    self.decoder.finish();
                    self.stage = Stage::Done;
                }
                Stage::Done => return None,
            }
        }
    }
}

impl Source for PcapSource {
    fn format(&self) -> Format {
        self.packets.format()
    }
    fn health(&self) -> CaptureHealth {
        self.decoder.health()
    }
    fn tls_without_keys(&self) -> Vec<TlsPeer> {
        self.decoder.tls_without_keys()
    }
}
