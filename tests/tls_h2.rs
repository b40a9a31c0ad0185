//! Integration tests: HTTPS and HTTP/2 on the wire. The same synthetic API traffic is written
//! as cleartext HTTP/1.1, HTTP/1.1 in TLS 1.2 and 1.3, HTTP/2 in TLS 1.3 and cleartext h2c;
//! decrypted with its key log (a file, or a pcapng Decryption Secrets Block), every wire must
//! give the same verdicts as the cleartext one.

use corswatch::aggregate::Limits;
use corswatch::drive::{Consumer, Driver};
use corswatch::event::Event;
use corswatch::model::{CaptureHealth, Exchange};
use corswatch::net::synth::{Wire, write_exchanges_as};
use corswatch::pair::PairConfig;
use corswatch::pipeline::Analyzer;
use corswatch::source::InputError;
use std::io::Cursor;
use std::sync::Arc;

/// The pipeline, noting each exchange's HTTP version on the way.
struct Tap<'a> {
    analyzer: Analyzer<'a>,
    versions: Vec<String>,
}

impl Consumer for Tap<'_> {
    fn exchange(&mut self, x: Box<Exchange>) {
        self.versions.push(x.request.http_version.clone());
        self.analyzer.push(x);
    }
}

struct Run {
    verdicts: Vec<String>,
    versions: Vec<String>,
    health: CaptureHealth,
    problems: Vec<InputError>,
    without_keys: Vec<corswatch::model::TlsPeer>,
}

fn analyse(capture: Vec<u8>, keylog: Option<&std::path::Path>) -> Run {
    let limits = corswatch::net::Limits {
        keylog: keylog.map(|p| p.to_path_buf()),
        ..Default::default()
    };
    let mut events: Vec<String> = Vec::new();
    let (health, problems, without_keys, mut versions);
    {
        let sink = |e: &Event| {
            // Same exchange, whatever the scheme: compare by path.
            let path = e.url.splitn(4, '/').nth(3).unwrap_or("").to_string();
            events.push(format!(
                "{} /{} {:?} {} {:?}",
                e.method, path, e.status, e.blocked, e.kind
            ));
        };
        let tap = Tap {
            analyzer: Analyzer::new(PairConfig::default(), Limits::default(), true, sink),
            versions: Vec::new(),
        };
        let mut d = Driver::with_consumer(limits, tap);
        d.read("t.pcap", Box::new(Cursor::new(capture)), None);
        health = d.health();
        problems = d.run().problems.clone();
        without_keys = d.run().inputs[0].tls_without_keys.clone();
        let tap = d.into_consumer();
        versions = tap.versions;
        tap.analyzer.finish();
    }
    events.sort();
    versions.sort();
    versions.dedup();
    Run {
        verdicts: events,
        versions,
        health,
        problems,
        without_keys,
    }
}

fn capture(wire: Wire) -> (Vec<u8>, String) {
    let mut out = Vec::new();
    let (_, keys) = write_exchanges_as(&mut out, 1500, 12, 7, wire).unwrap();
    (out, keys)
}

#[test]
fn every_wire_gives_the_cleartext_verdicts() {
    let (plain, none) = capture(Wire::Plain);
    assert!(none.is_empty());
    let base = analyse(plain, None);
    assert!(base.verdicts.len() > 500, "{}", base.verdicts.len());
    assert!(base.verdicts.iter().any(|v| v.contains(" true Some(")));
    let dir = tempfile::tempdir().unwrap();
    for (wire, version) in [
        (Wire::Tls12, "HTTP/1.1"),
        (Wire::Tls13, "HTTP/1.1"),
        (Wire::Tls13H2, "HTTP/2"),
        (Wire::H2c, "HTTP/2"),
    ] {
        let (cap, keys) = capture(wire);
        let path = dir.path().join("keys.log");
        std::fs::write(&path, &keys).unwrap();
        let r = analyse(cap, Some(&path));
        assert_eq!(r.versions, vec![version.to_string()], "{wire:?}");
        assert_eq!(r.verdicts.len(), base.verdicts.len(), "{wire:?}");
        assert_eq!(r.verdicts, base.verdicts, "{wire:?}");
        let h = r.health;
        assert_eq!(
            h.unanswered_requests, base.health.unanswered_requests,
            "{wire:?}"
        );
        assert_eq!(
            h.hpack_errors + h.h2_frame_errors + h.http_parse_errors,
            0,
            "{wire:?}"
        );
        if wire == Wire::H2c {
            assert_eq!(h.tls_connections, 0);
            assert_eq!(h.h2_connections, h.flows);
        } else {
            assert_eq!(h.tls_connections, h.flows, "{wire:?}");
            assert_eq!(h.tls_decrypted, h.tls_connections, "{wire:?}");
            assert_eq!(h.tls_record_failures, 0, "{wire:?}");
        }
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }
}

#[test]
fn without_keys_the_capture_says_which_connections_and_how_to_fix_it() {
    let (cap, _) = capture(Wire::Tls13H2);
    let r = analyse(cap, None);
    assert!(r.verdicts.is_empty());
    assert_eq!(r.health.tls_no_keys, r.health.tls_connections);
    assert!(r.health.tls_connections > 10);
    // Not an input problem (the exit code stays 0): the report names the servers and the fix.
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.without_keys.len(), 1, "{:?}", r.without_keys);
    assert_eq!(r.without_keys[0].sni, "api.example.com");
    assert_eq!(
        r.without_keys[0].alpn, "h2?",
        "TLS 1.3 hides the selected ALPN"
    );
    assert_eq!(r.without_keys[0].connections, r.health.tls_connections);
    let warnings = corswatch::report::json::capture_warnings(&r.health);
    assert!(
        warnings.iter().any(|w| w.contains("--keylog")),
        "{warnings:?}"
    );
}

#[test]
fn secrets_embedded_in_a_pcapng_decryption_secrets_block() {
    let (cap, keys) = capture(Wire::Tls13H2);
    let ng = to_pcapng(&cap, Some(keys.as_bytes()));
    let r = analyse(ng, None);
    assert_eq!(r.health.tls_decrypted, r.health.tls_connections);
    assert!(r.verdicts.len() > 500);
    // The secrets appear in no output.
    let secret = keys.split_whitespace().nth(2).unwrap();
    assert!(r.problems.iter().all(|p| !p.to_string().contains(secret)));
}

#[test]
fn unreadable_key_log_is_a_problem_not_a_crash() {
    let (cap, _) = capture(Wire::Tls13);
    let r = analyse(cap, Some(std::path::Path::new("/nonexistent/keys.log")));
    assert!(
        r.problems.iter().any(|p| p.to_string().contains("key log")),
        "{:?}",
        r.problems
    );
}

/// A classic pcap as pcapng (one Ethernet interface), with a Decryption Secrets Block of TLS
/// key log text after the interface, as `editcap --inject-secrets tls,FILE` writes it.
pub fn to_pcapng(pcap: &[u8], keylog: Option<&[u8]>) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, typ: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(0, pad));
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = vec![1, 0, 0, 0];
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    block(&mut out, 1, &idb);
    if let Some(k) = keylog {
        let mut dsb = 0x544c_534bu32.to_le_bytes().to_vec();
        dsb.extend_from_slice(&(k.len() as u32).to_le_bytes());
        dsb.extend_from_slice(k);
        dsb.extend(std::iter::repeat_n(0, (4 - k.len() % 4) % 4));
        block(&mut out, 0x0000_000a, &dsb);
    }
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let h = &pcap[at..at + 16];
        let sec = u64::from(u32::from_le_bytes(h[0..4].try_into().unwrap()));
        let usec = u64::from(u32::from_le_bytes(h[4..8].try_into().unwrap()));
        let len = u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
        let ts = sec * 1_000_000 + usec;
        let data = &pcap[at + 16..at + 16 + len];
        let mut epb = vec![0, 0, 0, 0];
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(len as u32).to_le_bytes());
        epb.extend_from_slice(&(len as u32).to_le_bytes());
        epb.extend_from_slice(data);
        epb.extend(std::iter::repeat_n(0, (4 - len % 4) % 4));
        block(&mut out, 6, &epb);
        at += 16 + len;
    }
    out
}

/// Real TLS from other implementations (tests/tls-interop/record.sh): curl (OpenSSL, nghttp2)
/// against nginx, SSLKEYLOGFILE, one connection per suite, TLS 1.3 (AES-128-GCM, AES-256-GCM,
/// ChaCha20-Poly1305) and TLS 1.2 (ECDHE-ECDSA and ECDHE-RSA with AES-128-GCM, AES-256-GCM,
/// ChaCha20-Poly1305), each as HTTP/1.1 (connections 1..9) and HTTP/2 (10..18).
#[test]
fn curl_and_nginx_every_suite_both_protocols() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls-interop");
    let cap = std::fs::read(dir.join("curl-nginx.pcap")).unwrap();
    let r = analyse(cap, Some(&dir.join("curl-nginx.keys")));
    let h = r.health;
    assert_eq!((h.tls_connections, h.tls_decrypted), (18, 18), "{h:?}");
    assert_eq!(h.tls_record_failures, 0);
    assert_eq!(h.h2_connections, 9);
    assert_eq!(
        r.versions,
        vec!["HTTP/1.1".to_string(), "HTTP/2".to_string()]
    );
    assert_eq!(r.verdicts.len(), 36, "{:?}", r.verdicts);
    // The same exchange gives the same verdict over HTTP/1.1 and over HTTP/2.
    let by_conn = |n: usize| -> Vec<String> {
        r.verdicts
            .iter()
            .filter(|v| v.contains(&format!(" /s/{n}/")))
            .map(|v| v.replace(&format!("/s/{n}/"), "/s/N/"))
            .collect()
    };
    for n in 1..=9 {
        let (h1, h2) = (by_conn(n), by_conn(n + 9));
        assert_eq!(h1.len(), 2, "{h1:?}");
        assert_eq!(h1, h2, "connection {n} vs {}", n + 9);
    }
    // Without the key log nothing is read, and every connection is named.
    let cap = std::fs::read(dir.join("curl-nginx.pcap")).unwrap();
    let r = analyse(cap, None);
    assert_eq!(r.health.tls_no_keys, 18);
    assert_eq!(
        r.without_keys.iter().map(|p| p.connections).sum::<u64>(),
        18
    );
}

/// `watch --keylog FILE`: the browser appends a line per connection as it goes; a connection
/// whose line is written after its first records still decrypts (records are held, bounded).
#[test]
fn key_log_followed_as_it_grows() {
    use corswatch::model::Timestamp;
    use corswatch::net::{Decoder, Limits};
    use corswatch::source::packets::{PacketReader, Step};
    let mut out = Vec::new();
    let (_, keys) = write_exchanges_as(&mut out, 40, 2, 11, Wire::Tls13H2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.log");
    std::fs::write(&path, "").unwrap();
    let mut d = Decoder::new(
        Arc::from("t"),
        Limits {
            keylog: Some(path.clone()),
            ..Limits::default()
        },
    );
    let mut frames = Vec::new();
    let mut r = PacketReader::new(Arc::from("t"), Box::new(Cursor::new(out)));
    while r.read(&mut |p| {
        frames.push((p.link, p.data.to_vec(), p.number));
        true
    }) == Step::Paused
    {}
    let lines: Vec<&str> = keys.lines().collect();
    let mut written = 0;
    let mut exchanges = 0;
    for (i, (link, data, n)) in frames.iter().enumerate() {
        // One key log line every ten packets: the keys come while the traffic flows, one
        // moment late (packets 10 ms apart, the file looked at every 200 ms).
        if i % 10 == 0 && written < lines.len() {
            let text: String = lines[..=written].iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(&path, text).unwrap();
            written += 1;
        }
        d.packet(Timestamp(i as i64 * 10_000_000), *link, data, *n);
        while d.pop().is_some() {
            exchanges += 1;
        }
    }
    std::fs::write(&path, &keys).unwrap();
    d.finish();
    while d.pop().is_some() {
        exchanges += 1;
    }
    let h = d.health();
    assert_eq!(h.tls_decrypted, h.tls_connections, "{h:?}");
    assert_eq!(exchanges, 40);
}
