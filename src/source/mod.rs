//! Everything that reads traffic: HAR files, pcap/pcapng files (read, or replayed with their
//! timestamps), live interfaces. Each yields into a [`Sender`]: packets for the decoder, or
//! whole exchanges (HAR), and the problems it finds on the way.

pub mod channel;
pub mod har;
pub mod live;
pub mod packets;
pub mod progress;
pub mod replay;

use crate::model::{Exchange, Timestamp};
use std::io::{BufReader, Read};
use std::sync::Arc;

/// A problem with one input. The place (entry index, packet number, byte offset) is always
/// named so that the user can find it; the rest of the input is still analysed unless
/// `fatal` says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The input could not be opened or read.
    #[error("{input}: cannot read: {message}")]
    Io {
        /// The input (file name or `-`).
        input: Arc<str>,
        /// The system's reason.
        message: String,
    },
    /// The first bytes are no known format.
    #[error("{input}: not a HAR, pcap or pcapng file (it starts with {start})")]
    UnknownFormat {
        /// The input.
        input: Arc<str>,
        /// What it starts with, for the message.
        start: String,
    },
    /// The HAR is not valid JSON at this byte; what came before was read.
    #[error("{input}: not valid HAR JSON at byte {offset}{}: {message}", entry.map(|e| format!(" (in entry {e})")).unwrap_or_default())]
    HarSyntax {
        /// The input.
        input: Arc<str>,
        /// Byte offset of the error.
        offset: u64,
        /// The entry being read, if inside one.
        entry: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// Valid JSON, but not the shape of a HAR (no `log.entries`).
    #[error("{input}: {message}")]
    HarShape {
        /// The input.
        input: Arc<str>,
        /// What is wrong.
        message: String,
    },
    /// One HAR entry could not be read; the others are.
    #[error("{input}: entry {index}: {message}")]
    HarEntry {
        /// The input.
        input: Arc<str>,
        /// The entry's index in `log.entries`.
        index: u64,
        /// What is wrong.
        message: String,
    },
    /// One packet (or block) could not be read.
    #[error("{input}: packet {packet}: {message}")]
    Packet {
        /// The input.
        input: Arc<str>,
        /// 1-based packet number.
        packet: u64,
        /// What is wrong.
        message: String,
    },
    /// A problem with the capture as a whole (its header, a link type, a failed live capture).
    #[error("{input}: {message}")]
    Capture {
        /// The input (or interface).
        input: Arc<str>,
        /// What is wrong.
        message: String,
    },
}

impl InputError {
    /// The input the problem is in.
    pub fn input(&self) -> &str {
        match self {
            InputError::Io { input, .. }
            | InputError::UnknownFormat { input, .. }
            | InputError::HarSyntax { input, .. }
            | InputError::HarShape { input, .. }
            | InputError::HarEntry { input, .. }
            | InputError::Packet { input, .. }
            | InputError::Capture { input, .. } => input,
        }
    }
}

/// The input formats, told apart by their first bytes (never by the file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// HAR (JSON).
    Har,
    /// Classic pcap (either byte order, µs or ns).
    Pcap,
    /// pcapng.
    PcapNg,
    /// gzip of one of the others.
    Gzip,
}

impl Format {
    /// The format the first bytes show, if any.
    pub fn detect(start: &[u8]) -> Option<Format> {
        match start {
            [0xd4, 0xc3, 0xb2, 0xa1, ..]
            | [0xa1, 0xb2, 0xc3, 0xd4, ..]
            | [0x4d, 0x3c, 0xb2, 0xa1, ..]
            | [0xa1, 0xb2, 0x3c, 0x4d, ..]
            // Kuznetzov's "modified pcap" (extra per-packet fields), which pcap-parser reads.
            | [0x34, 0xcd, 0xb2, 0xa1, ..]
            | [0xa1, 0xb2, 0xcd, 0x34, ..] => Some(Format::Pcap),
            [0x0a, 0x0d, 0x0d, 0x0a, ..] => Some(Format::PcapNg),
            [0x1f, 0x8b, ..] => Some(Format::Gzip),
            _ => {
                let s = start.strip_prefix(b"\xef\xbb\xbf").unwrap_or(start);
                let first = s.iter().find(|b| !b.is_ascii_whitespace());
                (first == Some(&b'{')).then_some(Format::Har)
            }
        }
    }

    /// How reports name the format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Har => "har",
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
            Format::Gzip => "gzip",
        }
    }
}

/// One captured frame, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Capture timestamp.
    pub time: Timestamp,
    /// pcap LINKTYPE of the frame.
    pub link: u32,
    /// The frame, from its link-layer header.
    pub data: &'a [u8],
    /// 1-based number within the input (what error messages and examples name).
    pub number: u64,
}

/// Where a source delivers what it reads. The driver implements it in the same thread
/// (`analyze`); the agent's channel ([`channel::ChannelSender`]) carries it to another thread
/// (`watch`). Sources know nothing else of their consumer.
pub trait Sender {
    /// The format of the input that follows.
    fn format(&mut self, format: Format);
    /// One frame; false when the receiver wants no more (the source stops reading).
    fn packet(&mut self, packet: Packet<'_>) -> bool;
    /// An exchange read whole (HAR); false to stop.
    fn exchange(&mut self, exchange: Box<Exchange>) -> bool;
    /// A problem found while reading; reading goes on unless the problem says otherwise.
    fn problem(&mut self, problem: InputError);
    /// Cumulative drop counts of a live capture (kernel, interface).
    fn drops(&mut self, _kernel: u64, _interface: u64) {}
    /// A replay starts its next round: the packets that follow are new connections, even on
    /// the addresses and ports of the previous round's.
    fn restart(&mut self) {}
    /// TLS key log text embedded in the capture (pcapng Decryption Secrets Block), for the
    /// packets that follow.
    fn secrets(&mut self, _key_log: &[u8]) {}
    /// Hands over whatever is batched (a live link went quiet, a paced replay waits).
    fn flush(&mut self) {}
    /// Threads the run may use (`--threads`): with two or more, a HAR is scanned in a
    /// thread of its own.
    fn threads(&self) -> usize {
        1
    }
}

/// Reads one input to its end into `tx`, picking the reader by the input's first bytes (HAR,
/// pcap, pcapng, or a gzip of one of them). An input that is none of these is a problem.
pub fn read(input: Arc<str>, reader: Box<dyn Read + Send>, tx: &mut dyn Sender) {
    read_depth(input, reader, tx, 0);
}

fn read_depth(input: Arc<str>, mut reader: Box<dyn Read + Send>, tx: &mut dyn Sender, depth: u8) {
    // The first bytes tell the format. A pipe may hand them over a few at a time: read until
    // there are enough (or the input ends), then put them back in front.
    let mut start = Vec::with_capacity(64);
    if let Err(e) = (&mut reader).take(64).read_to_end(&mut start) {
        return tx.problem(InputError::Io {
            input,
            message: e.to_string(),
        });
    }
    let r = BufReader::with_capacity(
        256 * 1024,
        std::io::Cursor::new(start.clone()).chain(reader),
    );
    match Format::detect(&start) {
        Some(Format::Har) => {
            tx.format(Format::Har);
            let threaded = tx.threads() > 1;
            let mut each = |item| match item {
                har::Item::Exchange(ex) => tx.exchange(ex),
                har::Item::Problem(p) => {
                    tx.problem(p);
                    true
                }
            };
            if threaded {
                har::read_threaded(input, r, &mut each);
            } else {
                for item in har::HarSource::new(input, r) {
                    if !each(item) {
                        return;
                    }
                }
            }
        }
        Some(Format::Pcap | Format::PcapNg) => {
            let mut packets = packets::PacketReader::new(input, Box::new(r));
            tx.format(packets.format());
            loop {
                let step = packets.read(&mut |p| tx.packet(p));
                // Paused for a problem or for secrets, or because the receiver wants no more.
                let stop = packets.problems.is_empty()
                    && packets.secrets.is_empty()
                    && step == packets::Step::Paused;
                while let Some(p) = packets.problems.pop_front() {
                    tx.problem(p);
                }
                while let Some(s) = packets.secrets.pop_front() {
                    tx.secrets(&s);
                }
                if step == packets::Step::Ended || stop {
                    return;
                }
            }
        }
        Some(Format::Gzip) if depth == 0 => {
            let dec = flate2::read::MultiGzDecoder::new(r);
            read_depth(input, Box::new(dec), tx, depth + 1);
        }
        _ => tx.problem(InputError::UnknownFormat {
            input,
            start: describe_start(&start),
        }),
    }
}

fn describe_start(start: &[u8]) -> String {
    if start.is_empty() {
        return "nothing: the file is empty".to_string();
    }
    let head = &start[..start.len().min(8)];
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(head))
    } else {
        let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic() {
        assert_eq!(Format::detect(b"\xd4\xc3\xb2\xa1"), Some(Format::Pcap));
        assert_eq!(Format::detect(b"\x4d\x3c\xb2\xa1"), Some(Format::Pcap));
        assert_eq!(Format::detect(b"\x0a\x0d\x0d\x0a"), Some(Format::PcapNg));
        assert_eq!(Format::detect(b"\xef\xbb\xbf  {\"log\""), Some(Format::Har));
        assert_eq!(Format::detect(b"\n{"), Some(Format::Har));
        assert_eq!(Format::detect(b"onInputData({"), None);
        assert_eq!(Format::detect(b""), None);
    }
}
