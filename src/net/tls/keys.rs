//! TLS secrets in the NSS key log format (what `SSLKEYLOGFILE` makes browsers, curl, Go and
//! Node write, and what a pcapng Decryption Secrets Block carries), indexed by client random.
//!
//! Secrets never leave this module in printable form: [`Secret`] has no `Display`, its `Debug`
//! prints a placeholder, and parse problems are counted, never quoted.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Client randoms kept; past it the oldest are forgotten (counted).
pub const MAX_ENTRIES: usize = 200_000;
/// Longest key log line accepted (the longest valid one is under 250 bytes).
const MAX_LINE: usize = 1024;
/// Bytes read from a followed file in one refresh.
const MAX_READ: u64 = 64 << 20;

/// A secret of up to 48 bytes (SHA-384).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    len: u8,
    bytes: [u8; 48],
}

impl Secret {
    /// A secret of 32 or 48 bytes; `None` for another length.
    pub fn new(b: &[u8]) -> Option<Secret> {
        if b.is_empty() || b.len() > 48 {
            return None;
        }
        let mut bytes = [0u8; 48];
        bytes[..b.len()].copy_from_slice(b);
        Some(Secret {
            len: b.len() as u8,
            bytes,
        })
    }
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret([redacted; {}])", self.len)
    }
}

/// The secrets known for one client random.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// TLS 1.2 (and earlier) master secret: `CLIENT_RANDOM`.
    pub master: Option<Secret>,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    pub client_handshake: Option<Secret>,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub server_handshake: Option<Secret>,
    /// `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`.
    pub client_traffic: Option<Secret>,
    /// `SERVER_TRAFFIC_SECRET_0`.
    pub server_traffic: Option<Secret>,
}

/// Counters about the key log itself (no contents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLogStats {
    /// Lines read.
    pub lines: u64,
    /// Lines that are not comments and not a known label with valid hex.
    pub bad_lines: u64,
    /// Labels we do not use (early traffic, exporter secrets, `RSA` pre-master keys...).
    pub ignored_lines: u64,
    /// Connections forgotten past the cap (oldest first).
    pub evicted: u64,
}

/// Secrets by client random, bounded.
#[derive(Default)]
pub struct KeyLog {
    map: HashMap<[u8; 32], Secrets>,
    order: VecDeque<[u8; 32]>,
    /// Counters about the log.
    pub stats: KeyLogStats,
    /// Bumped whenever a secret is added, so connections waiting for keys look again only
    /// when something changed.
    generation: u64,
    /// The end of the last chunk when it did not end with a newline.
    partial: Vec<u8>,
}

impl std::fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLog")
            .field("entries", &self.map.len())
            .field("stats", &self.stats)
            .finish()
    }
}

fn unhex(s: &[u8], out: &mut [u8]) -> Option<usize> {
    if !s.len().is_multiple_of(2) || s.len() / 2 > out.len() {
        return None;
    }
    let v = |c: u8| (c as char).to_digit(16);
    for (i, p) in s.chunks_exact(2).enumerate() {
        out[i] = (v(p[0])? * 16 + v(p[1])?) as u8;
    }
    Some(s.len() / 2)
}

impl KeyLog {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Connections with secrets.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No secrets.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Grows whenever secrets are added: a waiting connection looks again.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The secrets of the connection with this ClientHello random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.map.get(client_random)
    }

    /// Adds the lines in `text`; a last line without its newline waits for the next call
    /// (a file being appended to), or for [`KeyLog::end`].
    pub fn feed(&mut self, mut text: &[u8]) {
        while let Some(nl) = text.iter().position(|&b| b == b'\n') {
            let (line, rest) = text.split_at(nl);
            text = &rest[1..];
            if self.partial.is_empty() {
                self.line(line);
            } else {
                let mut l = std::mem::take(&mut self.partial);
                l.extend_from_slice(line);
                self.line(&l);
            }
        }
        if self.partial.len() + text.len() <= MAX_LINE {
            self.partial.extend_from_slice(text);
        } else {
            // An overlong line: dropped (counted when its newline comes).
            self.partial.clear();
            self.partial.push(b'!');
        }
    }

    /// The input ended: a last line without newline is taken as is.
    pub fn end(&mut self) {
        let l = std::mem::take(&mut self.partial);
        if !l.is_empty() {
            self.line(&l);
        }
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            return;
        }
        self.stats.lines += 1;
        let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
        let (Some(label), Some(random), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            self.stats.bad_lines += 1;
            return;
        };
        type Slot = fn(&mut Secrets) -> &mut Option<Secret>;
        let slot: Slot = match label {
            b"CLIENT_RANDOM" => |s| &mut s.master,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => |s| &mut s.client_handshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => |s| &mut s.server_handshake,
            b"CLIENT_TRAFFIC_SECRET_0" => |s| &mut s.client_traffic,
            b"SERVER_TRAFFIC_SECRET_0" => |s| &mut s.server_traffic,
            _ if label
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_') =>
            {
                self.stats.ignored_lines += 1;
                return;
            }
            _ => {
                self.stats.bad_lines += 1;
                return;
            }
        };
        let mut cr = [0u8; 32];
        let mut sb = [0u8; 48];
        let (Some(32), Some(n)) = (unhex(random, &mut cr), unhex(secret, &mut sb)) else {
            self.stats.bad_lines += 1;
            return;
        };
        let Some(secret) = Secret::new(&sb[..n]) else {
            self.stats.bad_lines += 1;
            return;
        };
        sb.fill(0);
        if !self.map.contains_key(&cr) {
            if self.map.len() >= MAX_ENTRIES
                && let Some(old) = self.order.pop_front()
            {
                self.map.remove(&old);
                self.stats.evicted += 1;
            }
            self.order.push_back(cr);
        }
        *slot(self.map.entry(cr).or_default()) = Some(secret);
        self.generation += 1;
    }
}

/// Why a key log file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyLogError {
    /// The file could not be read.
    #[error("cannot read the key log {path}: {source}")]
    Io {
        /// The key log.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A key log file followed as it grows (browsers append a line per connection).
#[derive(Debug)]
struct Follow {
    path: PathBuf,
    offset: u64,
    /// Packet time of the last look at the file.
    last_look: i64,
}

/// The secrets a decoder decrypts with: a key log file (followed as it grows), plus secrets
/// handed over in-band (pcapng Decryption Secrets Blocks).
#[derive(Debug, Default)]
pub struct KeyStore {
    /// The secrets known.
    pub log: KeyLog,
    follow: Option<Follow>,
}

/// A followed file is looked at again at most this often (packet time, nanoseconds).
const LOOK_EVERY_NS: i64 = 200_000_000;

impl KeyStore {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `path` now and follows it afterwards.
    pub fn open(path: &Path) -> Result<KeyStore, KeyLogError> {
        let mut s = KeyStore {
            log: KeyLog::new(),
            follow: Some(Follow {
                path: path.to_path_buf(),
                offset: 0,
                last_look: i64::MIN,
            }),
        };
        s.read_more().map_err(|source| KeyLogError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(s)
    }

    /// Secrets from a pcapng Decryption Secrets Block (NSS key log text).
    pub fn add_block(&mut self, text: &[u8]) {
        self.log.feed(text);
        self.log.end();
    }

    /// Whether a followed file may still bring new secrets.
    pub fn following(&self) -> bool {
        self.follow.is_some()
    }

    /// Looks for lines appended to the followed file, at most every 200 ms of packet time.
    /// Returns whether new secrets arrived.
    pub fn refresh(&mut self, now_ns: i64) -> bool {
        let Some(f) = &mut self.follow else {
            return false;
        };
        if now_ns.saturating_sub(f.last_look) < LOOK_EVERY_NS && f.last_look != i64::MIN {
            return false;
        }
        f.last_look = now_ns;
        let before = self.log.generation();
        // A file that cannot be read now may be readable later (rotated, recreated).
        let _ = self.read_more();
        self.log.generation() != before
    }

    fn read_more(&mut self) -> std::io::Result<()> {
        let Some(f) = &mut self.follow else {
            return Ok(());
        };
        let mut file = std::fs::File::open(&f.path)?;
        let len = file.metadata()?.len();
        if len < f.offset {
            // Truncated or replaced: read it again from the start (known secrets stay).
            f.offset = 0;
        }
        if len == f.offset {
            return Ok(());
        }
        file.seek(SeekFrom::Start(f.offset))?;
        let mut buf = Vec::new();
        file.take(MAX_READ).read_to_end(&mut buf)?;
        f.offset += buf.len() as u64;
        self.log.feed(&buf);
        buf.fill(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_and_skips_the_rest() {
        let mut k = KeyLog::new();
        let cr = "11".repeat(32);
        k.feed(format!("# comment\nCLIENT_RANDOM {cr} {}\n", "ab".repeat(48)).as_bytes());
        k.feed(format!("SERVER_TRAFFIC_SECRET_0 {cr} {}\r\n", "cd".repeat(32)).as_bytes());
        k.feed(format!("EXPORTER_SECRET {cr} {}\n", "cd".repeat(32)).as_bytes());
        k.feed(b"CLIENT_RANDOM zz 00\ngarbage\n");
        k.feed(format!("CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}", "ef".repeat(32)).as_bytes());
        let s = k.get(&[0x11; 32]).unwrap();
        assert_eq!(s.master.as_ref().unwrap().as_bytes(), &[0xab; 48]);
        assert_eq!(s.server_traffic.as_ref().unwrap().as_bytes(), &[0xcd; 32]);
        assert!(s.client_handshake.is_none(), "waits for the newline");
        k.end();
        let s = k.get(&[0x11; 32]).unwrap();
        assert!(s.client_handshake.is_some());
        assert_eq!(k.stats.bad_lines, 2);
        assert_eq!(k.stats.ignored_lines, 1);
        // Secrets never print.
        let dbg = format!("{s:?} {k:?}");
        assert!(!dbg.contains("ab, ab") && !dbg.contains("171"), "{dbg}");
    }

    #[test]
    fn line_split_anywhere() {
        let cr = "0f".repeat(32);
        let text = format!("CLIENT_RANDOM {cr} {}\n", "01".repeat(48));
        for cut in 0..text.len() {
            let mut k = KeyLog::new();
            k.feed(&text.as_bytes()[..cut]);
            k.feed(&text.as_bytes()[cut..]);
            assert!(k.get(&[0x0f; 32]).is_some(), "cut {cut}");
            assert_eq!(k.stats.bad_lines, 0);
        }
    }

    #[test]
    fn followed_file_grows_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.log");
        let line = |b: u8| {
            format!(
                "CLIENT_RANDOM {} {}\n",
                format!("{b:02x}").repeat(32),
                "01".repeat(48)
            )
        };
        std::fs::write(&p, line(1)).unwrap();
        let mut s = KeyStore::open(&p).unwrap();
        assert_eq!(s.log.len(), 1);
        std::fs::write(&p, line(1) + &line(2)).unwrap();
        assert!(s.refresh(1_000_000_000));
        assert_eq!(s.log.len(), 2);
        assert!(!s.refresh(1_100_000_000), "rate limited");
        std::fs::write(&p, line(3)).unwrap();
        assert!(s.refresh(2_000_000_000));
        assert_eq!(s.log.len(), 3);
        assert!(KeyStore::open(&dir.path().join("missing")).is_err());
    }
}
