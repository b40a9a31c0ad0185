//! HTTP/2 frame writing for tests, benchmarks and synthetic captures.

use super::hpack::{Encoder, Repr};

pub fn frame(typ: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(9 + payload.len());
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.push(typ);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The client's preface and an empty SETTINGS frame.
pub fn client_start() -> Vec<u8> {
    let mut v = super::PREFACE.to_vec();
    v.extend(frame(4, 0, 0, &[]));
    v
}

/// The server's SETTINGS frame and its ACK of the client's.
pub fn server_start() -> Vec<u8> {
    let mut v = frame(4, 0, 0, &[0, 3, 0, 0, 0, 100]);
    v.extend(frame(4, 1, 0, &[]));
    v
}

/// One header block, in a HEADERS frame and CONTINUATION frames of at most `max` bytes.
pub fn headers(
    enc: &mut Encoder,
    stream: u32,
    fields: &[(&str, &str)],
    end_stream: bool,
    max: usize,
) -> Vec<u8> {
    let mut block = Vec::new();
    for (n, v) in fields {
        let repr = if n.eq_ignore_ascii_case("authorization") || n.eq_ignore_ascii_case("cookie") {
            Repr::NeverIndexed
        } else {
            Repr::Indexed
        };
        enc.field(&mut block, n.as_bytes(), v.as_bytes(), repr);
    }
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = if block.is_empty() {
        vec![&[]]
    } else {
        block.chunks(max.max(1)).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let mut flags = if last { 0x4 } else { 0 };
        let typ = if i == 0 {
            if end_stream {
                flags |= 0x1;
            }
            1
        } else {
            9
        };
        out.extend(frame(typ, flags, stream, c));
    }
    out
}

pub fn data(stream: u32, body: &[u8], end_stream: bool) -> Vec<u8> {
    frame(0, u8::from(end_stream), stream, body)
}

pub fn rst(stream: u32, code: u32) -> Vec<u8> {
    frame(3, 0, stream, &code.to_be_bytes())
}

pub fn goaway(last: u32, code: u32) -> Vec<u8> {
    let mut p = last.to_be_bytes().to_vec();
    p.extend_from_slice(&code.to_be_bytes());
    frame(7, 0, 0, &p)
}
