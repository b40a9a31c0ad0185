use super::crypto::{self, Hash, RecordKey, Suite};
use super::keys::KeyStore;
use super::synth::Session;
use super::*;

fn vectors() -> std::collections::HashMap<String, Vec<u8>> {
    include_str!("testdata/rfc8448-simple-1rtt.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next().unwrap().to_string();
            (k, it.map(|h| u8::from_str_radix(h, 16).unwrap()).collect())
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn record(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![typ, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

#[test]
fn rfc8448_traffic_keys() {
    let v = vectors();
    for (secret, key, iv) in [
        ("server_hs_traffic", "server_hs_key", "server_hs_iv"),
        ("server_ap_traffic", "server_ap_key", "server_ap_iv"),
        ("client_hs_traffic", "client_hs_key", "client_hs_iv"),
    ] {
        assert_eq!(
            crypto::expand_label(Hash::Sha256, &v[secret], "key", 16).unwrap(),
            v[key],
            "{key}"
        );
        assert_eq!(
            crypto::expand_label(Hash::Sha256, &v[secret], "iv", 12).unwrap(),
            v[iv],
            "{iv}"
        );
    }
}

#[test]
fn rfc8448_server_flight_decrypts() {
    let v = vectors();
    let suite = Suite::from_id(0x1301).unwrap();
    let mut k = RecordKey::tls13(suite, &v["server_hs_traffic"]).unwrap();
    let mut rec = v["encrypted_record"].clone();
    let (h, payload) = rec.split_first_chunk_mut::<5>().unwrap();
    let header = *h;
    let (typ, range) = k.open(&header, payload).unwrap();
    assert_eq!(typ, 22);
    assert_eq!(&payload[range], &v["server_flight"][..]);
    // A flipped bit fails authentication and leaves the sequence number alone.
    let mut rec = v["encrypted_record"].clone();
    rec[100] ^= 1;
    let mut k = RecordKey::tls13(suite, &v["server_hs_traffic"]).unwrap();
    let (h, payload) = rec.split_first_chunk_mut::<5>().unwrap();
    let header = *h;
    assert!(k.open(&header, payload).is_err());
    assert_eq!(k.seq, 0);
}

fn rfc8448_keylog(v: &std::collections::HashMap<String, Vec<u8>>, with_hs: bool) -> String {
    let cr = hex(&v["client_hello"][6..38]);
    let mut s = String::new();
    if with_hs {
        s += &format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n",
            hex(&v["client_hs_traffic"])
        );
        s += &format!(
            "SERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n",
            hex(&v["server_hs_traffic"])
        );
    }
    s += &format!(
        "CLIENT_TRAFFIC_SECRET_0 {cr} {}\n",
        hex(&v["client_ap_traffic"])
    );
    s += &format!(
        "SERVER_TRAFFIC_SECRET_0 {cr} {}\n",
        hex(&v["server_ap_traffic"])
    );
    s
}

#[test]
fn rfc8448_connection_with_key_log() {
    let v = vectors();
    let mut keys = KeyStore::new();
    keys.add_block(rfc8448_keylog(&v, true).as_bytes());
    let mut t = TlsConn::new();
    let mut plain = Vec::new();
    let mut sink = |d: usize, b: &[u8]| plain.push((d, b.to_vec()));
    t.data(0, &record(22, &v["client_hello"]), &mut keys, 0, &mut sink);
    assert_eq!(t.sni(), Some("server"));
    let mut server = record(22, &v["server_hello"]);
    server.extend(record(20, &[1]));
    server.extend_from_slice(&v["encrypted_record"]);
    // One byte at a time: records are reassembled across segments.
    for b in &server {
        t.data(1, std::slice::from_ref(b), &mut keys, 0, &mut sink);
    }
    assert_eq!(t.outcome(), Outcome::Decrypted);
    assert_eq!(t.failed_records(), 0);
    // The server's Finished switched it to its application key.
    assert!(t.dirs[SERVER].app && t.dirs[SERVER].secret.is_some());
    assert!(plain.is_empty());
}

#[test]
fn rfc8448_without_handshake_secrets_is_not_a_failure() {
    let v = vectors();
    let mut keys = KeyStore::new();
    keys.add_block(rfc8448_keylog(&v, false).as_bytes());
    let mut t = TlsConn::new();
    let mut sink = |_: usize, _: &[u8]| {};
    t.data(0, &record(22, &v["client_hello"]), &mut keys, 0, &mut sink);
    let mut server = record(22, &v["server_hello"]);
    server.extend_from_slice(&v["encrypted_record"]);
    t.data(1, &server, &mut keys, 0, &mut sink);
    assert_eq!(t.failed_records(), 0);
    assert_eq!(t.outcome(), Outcome::Incomplete);
}

#[test]
fn tls12_prf_vectors() {
    let out = crypto::prf12(
        Hash::Sha256,
        &unhex("9bbe436ba940f017b17652849a71db35"),
        b"test label",
        &unhex("a0ba9f936cda311827a6f796ffd5198c"),
        100,
    );
    assert_eq!(
        hex(&out),
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a\
         6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab\
         4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701\
         87347b66"
    );
    let out = crypto::prf12(
        Hash::Sha384,
        &unhex("b80b733d6ceefcdc71566ea48e5567df"),
        b"test label",
        &unhex("cd665cf6a8447dd6ff8b27555edb7465"),
        148,
    );
    assert_eq!(
        hex(&out),
        "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd\
         e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd\
         8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425\
         9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6\
         91c8f3a26854308d5eaa3be85e0990703d73e56f"
    );
}

/// Both streams of a whole session, with application data and key updates.
fn session(suite: u16, alpn: Option<&str>) -> (Session, Vec<u8>, Vec<u8>) {
    let mut s = Session::new(suite, u64::from(suite), "api.test", alpn).unwrap();
    let mut c = s.client_hello();
    let mut v = s.server_flight();
    c.extend(s.client_finished());
    v.extend(s.server_finished());
    c.extend(s.app(0, b"GET / HTTP/1.1\r\nHost: api.test\r\n\r\n"));
    v.extend(s.app(1, b"HTTP/1.1 204 No Content\r\n\r\n"));
    if s.suite.tls13 {
        c.extend(s.key_update(0));
        v.extend(s.key_update(1));
    }
    c.extend(s.app(0, &vec![b'x'; 40_000]));
    v.extend(s.app(1, b"tail"));
    (s, c, v)
}

fn run(t: &mut TlsConn, keys: &mut KeyStore, c: &[u8], v: &[u8], cut: usize) -> [Vec<u8>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    let mut sink = |d: usize, b: &[u8]| out[d].extend_from_slice(b);
    for (d, bytes) in [(0, c), (1, v)] {
        for chunk in bytes.chunks(cut) {
            t.data(d, chunk, keys, 0, &mut sink);
        }
    }
    out
}

#[test]
fn every_suite_decrypts_across_any_segmentation() {
    for suite in [0x1301, 0x1302, 0x1303, 0xc02f, 0xc030, 0xcca8, 0x009c] {
        let (s, c, v) = session(suite, Some("http/1.1"));
        for cut in [1, 7, 100, 1460, 70_000] {
            let mut keys = KeyStore::new();
            keys.add_block(s.keylog().as_bytes());
            let mut t = TlsConn::new();
            let out = run(&mut t, &mut keys, &c, &v, cut);
            assert_eq!(
                t.outcome(),
                Outcome::Decrypted,
                "suite {suite:04x} cut {cut}"
            );
            assert_eq!(t.failed_records(), 0, "suite {suite:04x}");
            assert!(
                out[0].starts_with(b"GET / HTTP/1.1\r\n"),
                "suite {suite:04x}"
            );
            assert_eq!(out[0].len(), 34 + 40_000, "suite {suite:04x} cut {cut}");
            assert_eq!(out[1], b"HTTP/1.1 204 No Content\r\n\r\ntail");
            assert_eq!(t.alpn(), Some("http/1.1"));
            assert_eq!(t.sni(), Some("api.test"));
            assert!(t.offered_h2());
        }
    }
}

#[test]
fn missing_keys_are_reported_and_late_keys_still_decrypt() {
    let (s, c, v) = session(0x1301, Some("h2"));
    let mut keys = KeyStore::new();
    let mut t = TlsConn::new();
    let out = run(&mut t, &mut keys, &c, &v, 500);
    assert_eq!(t.outcome(), Outcome::NoKeys);
    assert!(out[0].is_empty() && out[1].is_empty());
    assert_eq!(t.sni(), Some("api.test"));
    // Keys arriving within the held window (a followed key log) decrypt what was held.
    let mut t = TlsConn::new();
    let mut keys = KeyStore::new();
    let mut out = [Vec::new(), Vec::new()];
    let mut sink = |d: usize, b: &[u8]| out[d].extend_from_slice(b);
    t.data(0, &c[..600], &mut keys, 0, &mut sink);
    t.data(1, &v, &mut keys, 0, &mut sink);
    keys.add_block(s.keylog().as_bytes());
    t.data(0, &c[600..], &mut keys, 0, &mut sink);
    assert_eq!(t.outcome(), Outcome::Decrypted);
    assert_eq!(t.alpn(), Some("h2"));
    assert_eq!(out[1], b"HTTP/1.1 204 No Content\r\n\r\ntail");
    assert_eq!(out[0].len(), 34 + 40_000);
}

#[test]
fn wrong_keys_fail_and_stop() {
    let (_, c, v) = session(0x1302, None);
    let (other, _, _) = session(0x1301, None);
    let mut keys = KeyStore::new();
    // The right client random with another session's secrets.
    let (s, ..) = session(0x1302, None);
    let cr = hex(&s.client_random);
    let forged = other
        .keylog()
        .lines()
        .map(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            format!("{} {cr} {}{}\n", p[0], p[2], p[2].get(..32).unwrap_or(""))
        })
        .collect::<String>();
    keys.add_block(forged.as_bytes());
    let mut t = TlsConn::new();
    let out = run(&mut t, &mut keys, &c, &v, 1000);
    assert_eq!(t.outcome(), Outcome::Failed);
    assert!(t.failed_records() > 0 && t.failed_records() <= 8 * u64::from(MAX_FAILURES));
    assert!(out[0].is_empty() && out[1].is_empty());
}

#[test]
fn unsupported_suite_and_garbage() {
    // TLS 1.2 with AES-CBC: ServerHello names 0x002f.
    let mut s = Session::new(0xc02f, 1, "x", None).unwrap();
    let c = s.client_hello();
    let mut v = s.server_flight();
    let at = 5 + 4 + 2 + 32 + 1 + 32;
    v[at..at + 2].copy_from_slice(&[0x00, 0x2f]);
    let mut keys = KeyStore::new();
    let mut t = TlsConn::new();
    run(&mut t, &mut keys, &c, &v, 50);
    assert_eq!(t.outcome(), Outcome::Unsupported);
    let mut t = TlsConn::new();
    run(
        &mut t,
        &mut keys,
        b"\x16\x03\x01\x00\x05hello\x99\x99\x99\x99\x99",
        b"",
        3,
    );
    assert_eq!(t.outcome(), Outcome::Unsupported);
}

#[test]
fn memory_stays_bounded_without_keys() {
    let (_, c, v) = session(0x1301, None);
    let mut keys = KeyStore::new();
    let mut t = TlsConn::new();
    let mut sink = |_: usize, _: &[u8]| {};
    t.data(0, &c, &mut keys, 0, &mut sink);
    t.data(1, &v, &mut keys, 0, &mut sink);
    for _ in 0..50 {
        t.data(0, &c[c.len() - 20_000..], &mut keys, 0, &mut sink);
        assert!(
            t.buffered() < 3 * MAX_HELD + 4 * MAX_RECORD,
            "{}",
            t.buffered()
        );
    }
}
