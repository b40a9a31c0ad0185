//! Everything that yields [`Exchange`]s: HAR files, pcap/pcapng files, live interfaces.

pub mod har;
pub mod live;
pub mod packets;
pub mod pcap_file;

use crate::model::{CaptureHealth, Exchange};
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

/// A problem with one input. The place (entry index, packet number, byte offset) is always
/// named so that the user can find it; the rest of the input is still analysed unless
/// `fatal` says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{input}: cannot read: {message}")]
    Io { input: Arc<str>, message: String },
    #[error("{input}: not a HAR, pcap or pcapng file (it starts with {start})")]
    UnknownFormat { input: Arc<str>, start: String },
    #[error("{input}: not valid HAR JSON at byte {offset}{}: {message}", entry.map(|e| format!(" (in entry {e})")).unwrap_or_default())]
    HarSyntax {
        input: Arc<str>,
        offset: u64,
        entry: Option<u64>,
        message: String,
    },
    #[error("{input}: {message}")]
    HarShape { input: Arc<str>, message: String },
    #[error("{input}: entry {index}: {message}")]
    HarEntry {
        input: Arc<str>,
        index: u64,
        message: String,
    },
    #[error("{input}: packet {packet}: {message}")]
    Packet {
        input: Arc<str>,
        packet: u64,
        message: String,
    },
    #[error("{input}: {message}")]
    Capture { input: Arc<str>, message: String },
}

impl InputError {
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

/// One item from a source: an exchange, or a problem found while reading.
#[derive(Debug)]
pub enum SourceItem {
    Exchange(Box<Exchange>),
    Problem(InputError),
}

/// The input formats, told apart by their first bytes (never by the file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Har,
    Pcap,
    PcapNg,
    Gzip,
}

impl Format {
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

    pub fn name(self) -> &'static str {
        match self {
            Format::Har => "har",
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
            Format::Gzip => "gzip",
        }
    }
}

/// A source of exchanges.
pub trait Source: Iterator<Item = SourceItem> {
    fn format(&self) -> Format;
    /// Capture health so far (zero for HAR).
    fn health(&self) -> CaptureHealth {
        CaptureHealth::default()
    }
    /// Servers whose TLS connections stayed encrypted for want of keys (packet sources).
    fn tls_without_keys(&self) -> Vec<crate::model::TlsPeer> {
        Vec::new()
    }
}

/// Opens `reader` (named `input` in messages) and picks the reader by its magic bytes.
pub fn open(
    input: Arc<str>,
    reader: Box<dyn Read + Send>,
) -> Result<Box<dyn Source + Send>, InputError> {
    open_with(input, reader, &crate::net::Limits::default())
}

/// As [`open`], with the packet decoder's limits and key log.
pub fn open_with(
    input: Arc<str>,
    reader: Box<dyn Read + Send>,
    net: &crate::net::Limits,
) -> Result<Box<dyn Source + Send>, InputError> {
    open_depth(input, reader, 0, net)
}

fn open_depth(
    input: Arc<str>,
    reader: Box<dyn Read + Send>,
    depth: u8,
    net: &crate::net::Limits,
) -> Result<Box<dyn Source + Send>, InputError> {
    let mut r = BufReader::with_capacity(256 * 1024, reader);
    let start = peek(&mut r, 64).map_err(|e| InputError::Io {
        input: input.clone(),
        message: e.to_string(),
    })?;
    match Format::detect(&start) {
        Some(Format::Har) => Ok(Box::new(har::HarSource::new(input, r))),
        Some(Format::Pcap | Format::PcapNg) => Ok(Box::new(pcap_file::PcapSource::with_limits(
            input,
            Box::new(r),
            net.clone(),
        ))),
        Some(Format::Gzip) if depth == 0 => {
            let dec = flate2::read::MultiGzDecoder::new(r);
            open_depth(input, Box::new(dec), depth + 1, net)
        }
        _ => Err(InputError::UnknownFormat {
            input,
            start: describe_start(&start),
        }),
    }
}

/// Reads up to `n` bytes without consuming them.
fn peek<R: BufRead>(r: &mut R, n: usize) -> std::io::Result<Vec<u8>> {
    let buf = r.fill_buf()?;
    Ok(buf[..buf.len().min(n)].to_vec())
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
