//! What a connection carries, told from its first bytes: HTTP/1.x, HTTP/2 by prior knowledge
//! (the connection preface) or by `Upgrade: h2c`, or TLS around either. Inside TLS the same
//! choice is made on the decrypted bytes: h2 clients send the preface after ALPN `h2`, so the
//! preface decides even when the ALPN was in an EncryptedExtensions we could not read.

use super::h2::{self, H2Conn};
use super::http::{Ctx, HttpConn, Side};
use super::tls::{self, TlsConn, keys::KeyStore};
use crate::model::Timestamp;

/// Server bytes held while the client's first bytes have not said which protocol this is (a
/// TLS 1.3 server sends its HTTP/2 SETTINGS before the client's preface arrives).
const MAX_SNIFF_RESPONSE: usize = 64 * 1024;

/// The cleartext protocol of a connection (or of the inside of a TLS connection).
pub enum Proto {
    /// Undecided: client bytes so far (a prefix of the HTTP/2 preface) and server bytes so far.
    Sniff {
        req: Vec<u8>,
        resp: Vec<u8>,
    },
    Http1(HttpConn),
    H2(Box<H2Conn>),
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Request => 0,
        Side::Response => 1,
    }
}

impl Proto {
    /// `synced`: the stream is read from its first byte, so its start can be recognised.
    pub fn new(synced: bool) -> Self {
        if synced {
            Proto::Sniff {
                req: Vec::new(),
                resp: Vec::new(),
            }
        } else {
            Proto::Http1(HttpConn::new(false, false))
        }
    }

    pub fn buffered(&self) -> usize {
        match self {
            Proto::Sniff { req, resp } => req.capacity() + resp.capacity(),
            Proto::Http1(h) => h.buffered(),
            Proto::H2(c) => c.buffered(),
        }
    }

    pub fn data(&mut self, side: Side, buf: &[u8], packet: u64, ts: Timestamp, cx: &mut Ctx) {
        match self {
            Proto::Sniff { req, resp } => {
                match side {
                    Side::Request => {
                        req.extend_from_slice(buf);
                        if req.len() < h2::PREFACE.len() && h2::PREFACE.starts_with(req) {
                            return;
                        }
                    }
                    // Wait for the client, within bounds (a server that speaks first, as SMTP
                    // does, is then read as HTTP/1.x, which says it is not).
                    Side::Response if resp.len() + buf.len() <= MAX_SNIFF_RESPONSE => {
                        resp.extend_from_slice(buf);
                        return;
                    }
                    Side::Response => resp.extend_from_slice(buf),
                }
                let req = std::mem::take(req);
                let resp = std::mem::take(resp);
                *self = if req.starts_with(h2::PREFACE) {
                    cx.health.h2_connections += 1;
                    Proto::H2(Box::new(H2Conn::new(cx.scheme == "https", true)))
                } else {
                    Proto::Http1(HttpConn::new(true, true))
                };
                if !req.is_empty() {
                    self.data(Side::Request, &req, packet, ts, cx);
                }
                if !resp.is_empty() {
                    self.data(Side::Response, &resp, packet, ts, cx);
                }
            }
            Proto::Http1(h) => {
                h.data(side, buf, packet, ts, cx);
                if let Some(u) = h.take_upgrade() {
                    cx.health.h2_connections += 1;
                    let mut c = H2Conn::upgraded(u.request, u.packet, u.ts);
                    c.data(1, &u.rest, packet, ts, cx);
                    *self = Proto::H2(Box::new(c));
                }
            }
            Proto::H2(c) => c.data(side_index(side), buf, packet, ts, cx),
        }
    }

    pub fn gap(&mut self, side: Side, len: u64, cx: &mut Ctx) {
        match self {
            Proto::Sniff { .. } => {
                *self = Proto::Http1(HttpConn::new(false, false));
                self.gap(side, len, cx);
            }
            Proto::Http1(h) => h.gap(side, len, cx),
            Proto::H2(c) => c.gap(side_index(side)),
        }
    }

    pub fn close(&mut self, cx: &mut Ctx) {
        match self {
            Proto::Sniff { req, resp } => {
                // Closed undecided: what there is, is read as HTTP/1.x.
                let (req, resp) = (std::mem::take(req), std::mem::take(resp));
                if !req.is_empty() || !resp.is_empty() {
                    let mut h = HttpConn::new(true, true);
                    let (packet, ts) = (0, Timestamp(0));
                    h.data(Side::Request, &req, packet, ts, cx);
                    h.data(Side::Response, &resp, packet, ts, cx);
                    h.close(cx);
                }
            }
            Proto::Http1(h) => h.close(cx),
            Proto::H2(c) => c.close(cx),
        }
    }
}

/// TLS and what it carries.
pub struct TlsApp {
    pub tls: TlsConn,
    inner: Proto,
}

/// The application layer of one TCP connection. The cleartext variant is not boxed: most
/// connections are cleartext, and a flow is boxed already.
#[allow(clippy::large_enum_variant)]
pub enum App {
    Clear(Proto),
    Tls(Box<TlsApp>),
}

impl App {
    pub fn new(synced: bool) -> Self {
        App::Clear(Proto::new(synced))
    }

    pub fn buffered(&self) -> usize {
        match self {
            App::Clear(p) => p.buffered(),
            App::Tls(t) => t.tls.buffered() + t.inner.buffered(),
        }
    }

    pub fn data(
        &mut self,
        side: Side,
        buf: &[u8],
        packet: u64,
        ts: Timestamp,
        cx: &mut Ctx,
        keys: &mut KeyStore,
    ) {
        if let App::Clear(Proto::Sniff { req, resp }) = self
            && req.is_empty()
            && resp.is_empty()
            && side == Side::Request
            && buf.first() == Some(&0x16)
            && buf.get(1).is_none_or(|&v| v == 3)
        {
            // A TLS handshake record opens the client's stream.
            cx.health.tls_connections += 1;
            *self = App::Tls(Box::new(TlsApp {
                tls: TlsConn::new(),
                inner: Proto::new(true),
            }));
        }
        match self {
            App::Clear(p) => p.data(side, buf, packet, ts, cx),
            App::Tls(t) => {
                let TlsApp { tls, inner } = &mut **t;
                let scheme = std::mem::replace(&mut cx.scheme, "https");
                tls.data(side_index(side), buf, keys, ts.0, &mut |d, plain| {
                    let s = if d == 0 {
                        Side::Request
                    } else {
                        Side::Response
                    };
                    inner.data(s, plain, packet, ts, cx);
                });
                cx.scheme = scheme;
            }
        }
    }

    pub fn gap(&mut self, side: Side, len: u64, cx: &mut Ctx) {
        match self {
            App::Clear(p) => p.gap(side, len, cx),
            App::Tls(t) => {
                t.tls.gap(side_index(side));
                // The plaintext length lost is unknown: the inner parser resynchronises.
                t.inner.gap(side, u64::MAX / 2, cx);
            }
        }
    }

    /// Ends the connection; a TLS connection's outcome is returned for the counters.
    pub fn close(&mut self, cx: &mut Ctx) -> Option<tls::Outcome> {
        match self {
            App::Clear(p) => {
                p.close(cx);
                None
            }
            App::Tls(t) => {
                let scheme = std::mem::replace(&mut cx.scheme, "https");
                t.inner.close(cx);
                cx.scheme = scheme;
                let o = t.tls.outcome();
                let h = &mut *cx.health;
                h.tls_record_failures += t.tls.failed_records();
                match o {
                    tls::Outcome::Decrypted => h.tls_decrypted += 1,
                    tls::Outcome::NoKeys => h.tls_no_keys += 1,
                    tls::Outcome::Failed => h.tls_failed += 1,
                    tls::Outcome::Unsupported => h.tls_unsupported += 1,
                    tls::Outcome::Incomplete => h.tls_incomplete += 1,
                }
                Some(o)
            }
        }
    }
}
