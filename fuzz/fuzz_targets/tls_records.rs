//! The TLS record layer and handshake reader: a valid synthetic session (suite picked by the
//! input) whose byte streams the input edits (XOR at offsets it chooses) and cuts into segments
//! it chooses, decrypted with the session's key log. Oracles: no panic; memory held stays
//! within the caps whatever the damage.
#![no_main]

use corswatch::net::tls::TlsConn;
use corswatch::net::tls::keys::KeyStore;
use corswatch::net::tls::synth::Session;
use libfuzzer_sys::fuzz_target;

const SUITES: [u16; 7] = [0x1301, 0x1302, 0x1303, 0xc02f, 0xc030, 0xcca8, 0x009d];

fuzz_target!(|data: &[u8]| {
    let [suite, flags, rest @ ..] = data else {
        return;
    };
    let Some(mut s) = Session::new(
        SUITES[usize::from(*suite) % SUITES.len()],
        1,
        "fuzz.test",
        Some("h2"),
    ) else {
        return;
    };
    let mut streams = [s.client_hello(), s.server_flight()];
    streams[0].extend(s.client_finished());
    streams[1].extend(s.server_finished());
    streams[0].extend(s.app(0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    if flags & 1 != 0 && s.suite.tls13 {
        streams[1].extend(s.key_update(1));
    }
    streams[1].extend(s.app(1, &[0u8; 300]));
    // Edits: (side+offset high, offset low, xor).
    let (edits, cuts) = rest.split_at(rest.len() / 2);
    for e in edits.chunks_exact(3) {
        let side = usize::from(e[0] >> 7);
        let at = (usize::from(e[0] & 0x7f) << 8 | usize::from(e[1])) % streams[side].len().max(1);
        if let Some(b) = streams[side].get_mut(at) {
            *b ^= e[2];
        }
    }
    let mut keys = KeyStore::new();
    if flags & 2 == 0 {
        keys.add_block(s.keylog().as_bytes());
    }
    let mut t = TlsConn::new();
    let mut plain = 0usize;
    let mut pos = [0usize; 2];
    let mut k = 0;
    while pos[0] < streams[0].len() || pos[1] < streams[1].len() {
        let c = cuts.get(k).copied().unwrap_or(255);
        k += 1;
        let side = usize::from(c & 1);
        let n = usize::from(c >> 1) + 1;
        let (a, b) = (pos[side], (pos[side] + n).min(streams[side].len()));
        if a < b {
            t.data(side, &streams[side][a..b], &mut keys, 0, &mut |_, p| {
                plain += p.len()
            });
            pos[side] = b;
        } else {
            pos[1 - side] = streams[1 - side].len().min(pos[1 - side] + n);
        }
        assert!(t.buffered() < 512 * 1024, "{}", t.buffered());
    }
    let _ = (t.outcome(), t.sni(), t.alpn());
});
