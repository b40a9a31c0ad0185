//! One frame → one TCP segment (or the reason it is not one). Link headers etherparse does not
//! know (Linux SLL/SLL2, BSD NULL/LOOP) are stripped by hand; IP through etherparse's lax
//! slicer, which keeps what parsed and tells a snaplen cut apart from a malformed header.

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Link-layer header types (LINKTYPE values in files, a few DLT aliases from live capture).
pub mod linktype {
    /// BSD loopback (a 4-byte address family).
    pub const NULL: u32 = 0;
    /// Ethernet.
    pub const ETHERNET: u32 = 1;
    /// DLT_RAW on most systems (live capture).
    pub const DLT_RAW: u32 = 12;
    /// DLT_RAW on OpenBSD.
    pub const DLT_RAW_OPENBSD: u32 = 14;
    /// Raw IP (LINKTYPE_RAW).
    pub const RAW: u32 = 101;
    /// OpenBSD loopback (network-order family).
    pub const LOOP: u32 = 108;
    /// Linux cooked capture.
    pub const LINUX_SLL: u32 = 113;
    /// Linux netfilter log.
    pub const NFLOG: u32 = 239;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

/// Whether [`decode`] understands frames of this link type.
pub fn supported(link: u32) -> bool {
    use linktype::*;
    matches!(
        link,
        NULL | ETHERNET
            | DLT_RAW
            | DLT_RAW_OPENBSD
            | RAW
            | LOOP
            | LINUX_SLL
            | IPV4
            | IPV6
            | LINUX_SLL2
            | NFLOG
    )
}

/// TCP FIN.
pub const FLAG_FIN: u8 = 0x01;
/// TCP SYN.
pub const FLAG_SYN: u8 = 0x02;
/// TCP RST.
pub const FLAG_RST: u8 = 0x04;
/// TCP ACK.
pub const FLAG_ACK: u8 = 0x10;

/// A decoded TCP segment, borrowing its payload from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// TCP flags (`FLAG_*`).
    pub flags: u8,
    /// The payload bytes present in the frame.
    pub payload: &'a [u8],
    /// Payload bytes the IP header announced but the snapshot length cut off.
    pub missing: u32,
}

impl Segment<'_> {
    /// SYN set.
    pub fn syn(&self) -> bool {
        self.flags & FLAG_SYN != 0
    }
    /// FIN set.
    pub fn fin(&self) -> bool {
        self.flags & FLAG_FIN != 0
    }
    /// RST set.
    pub fn rst(&self) -> bool {
        self.flags & FLAG_RST != 0
    }
    /// ACK set.
    pub fn has_ack(&self) -> bool {
        self.flags & FLAG_ACK != 0
    }
}

/// What one frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A TCP segment.
    Tcp(Segment<'a>),
    /// An IPv4 or IPv6 fragment: not reassembled (unbounded memory for no CORS value).
    Fragment,
    /// ARP, UDP, ICMP, an unknown EtherType...
    NotTcp,
    /// A QUIC long-header datagram to or from UDP port 443 (HTTP/3 that TCP decoding cannot
    /// see): counted so the report can say traffic went by unseen.
    Quic,
    /// A link type [`decode`] does not know.
    UnknownLink,
    /// The frame ended inside the link, IP or TCP header.
    Truncated,
    /// A header that does not decode.
    Malformed,
}

/// Decodes one frame of link type `link`.
pub fn decode(link: u32, data: &[u8]) -> Frame<'_> {
    use linktype::*;
    match link {
        ETHERNET => ethernet(data),
        LINUX_SLL => {
            // 16-byte header; the protocol (EtherType for IP) is its last two bytes.
            match (data.get(14..16), data.get(16..)) {
                (Some(h), Some(rest)) => by_ether_type(u16::from_be_bytes([h[0], h[1]]), rest),
                _ => Frame::Truncated,
            }
        }
        LINUX_SLL2 => {
            // 20-byte header that starts with the protocol.
            match (data.get(0..2), data.get(20..)) {
                (Some(h), Some(rest)) => by_ether_type(u16::from_be_bytes([h[0], h[1]]), rest),
                _ => Frame::Truncated,
            }
        }
        NULL | LOOP => {
            // A 4-byte address family in the writer's byte order (NULL) or network order
            // (LOOP); files from other hosts mix them up, so accept both.
            let (Some(af), Some(rest)) = (data.get(0..4), data.get(4..)) else {
                return Frame::Truncated;
            };
            let le = u32::from_le_bytes([af[0], af[1], af[2], af[3]]);
            let af = if le > 0xffff { le.swap_bytes() } else { le };
            match af {
                // AF_INET everywhere; AF_INET6 on BSDs (24), FreeBSD (28), macOS (30).
                2 | 24 | 28 | 30 => ip(rest),
                _ => Frame::NotTcp,
            }
        }
        RAW | DLT_RAW | DLT_RAW_OPENBSD | IPV4 | IPV6 => ip(data),
        NFLOG => nflog(data),
        _ => Frame::UnknownLink,
    }
}

const VLAN_TAGS: [u16; 3] = [0x8100, 0x88a8, 0x9100];

fn ethernet(data: &[u8]) -> Frame<'_> {
    ethernet_at(data, 0)
}

fn ethernet_at(data: &[u8], depth: u8) -> Frame<'_> {
    // Fast path by hand for IP, untagged or behind up to three VLAN tags; anything else
    // (MACsec, ARP, odd tags) goes through etherparse.
    let mut off = 12;
    for _ in 0..4 {
        let Some(et) = data.get(off..off + 2) else {
            return Frame::Truncated;
        };
        let et = u16::from_be_bytes([et[0], et[1]]);
        if VLAN_TAGS.contains(&et) {
            off += 4;
            continue;
        }
        if et == 0x0800 || et == 0x86dd {
            return ip_at(data.get(off + 2..).unwrap_or(&[]), depth);
        }
        break;
    }
    match LaxSlicedPacket::from_ethernet(data) {
        Ok(p) => from_sliced(&p),
        Err(_) => Frame::Truncated,
    }
}

/// Linux NFLOG (`tcpdump -i nflog`): a 4-byte header, then TLVs (length and type in the
/// writer's byte order, little-endian in practice) of which type 9 holds the IP packet.
fn nflog(data: &[u8]) -> Frame<'_> {
    let mut off = 4;
    while let Some(h) = data.get(off..off + 4) {
        let len = usize::from(u16::from_le_bytes([h[0], h[1]]));
        let kind = u16::from_le_bytes([h[2], h[3]]);
        if len < 4 {
            return Frame::Malformed;
        }
        if kind == 9 {
            return match data.get(off + 4..off + len) {
                Some(p) => ip(p),
                None => ip(data.get(off + 4..).unwrap_or(&[])),
            };
        }
        // Values are padded to four bytes.
        off = off.saturating_add((len + 3) & !3);
    }
    if data.len() < 4 {
        Frame::Truncated
    } else {
        Frame::NotTcp
    }
}

/// A UDP datagram (header included): VXLAN, QUIC on port 443, or nothing we read.
fn udp(udp: &[u8], depth: u8) -> Frame<'_> {
    if let Some(f) = vxlan(udp, depth) {
        return f;
    }
    let port = |at: usize| udp.get(at..at + 2) == Some(&443u16.to_be_bytes()[..]);
    // Long header: form and fixed bits set (RFC 9000 §17.2); short headers carry no version
    // and are not told apart from other UDP.
    match udp.get(8) {
        Some(&b) if b & 0xc0 == 0xc0 && (port(0) || port(2)) => Frame::Quic,
        _ => Frame::NotTcp,
    }
}

/// VXLAN (UDP port 4789): the inner Ethernet frame, decoded one level deep only.
fn vxlan(udp: &[u8], depth: u8) -> Option<Frame<'_>> {
    if depth > 0 || udp.get(2..4)? != 4789u16.to_be_bytes() {
        return None;
    }
    let inner = udp.get(16..)?;
    Some(ethernet_at(inner, depth + 1))
}

fn by_ether_type(et: u16, rest: &[u8]) -> Frame<'_> {
    if et == 0x0800 || et == 0x86dd {
        ip(rest)
    } else {
        from_sliced(&LaxSlicedPacket::from_ether_type(EtherType(et), rest))
    }
}

/// An IP packet: plain IPv4 and IPv6 without extension headers by hand (the common case, at
/// line rate), the rest (IPv6 extension headers, IPsec AH, jumbograms) through etherparse.
fn ip(d: &[u8]) -> Frame<'_> {
    ip_at(d, 0)
}

fn ip_at(d: &[u8], depth: u8) -> Frame<'_> {
    if let Some(f) = fast_ip(d, depth) {
        return f;
    }
    match LaxSlicedPacket::from_ip(d) {
        Ok(p) => from_sliced(&p),
        Err(_) if d.len() < 20 => Frame::Truncated,
        Err(_) => Frame::Malformed,
    }
}

fn fast_ip(d: &[u8], depth: u8) -> Option<Frame<'_>> {
    match d.first()? >> 4 {
        4 => {
            let h = d.get(..20)?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            if ihl < 20 || total < ihl || d.len() < ihl {
                return None;
            }
            if u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0 {
                // More-fragments flag or a fragment offset.
                return Some(Frame::Fragment);
            }
            match h[9] {
                6 => {}
                17 => {
                    let end = total.min(d.len());
                    return Some(d.get(ihl..end).map_or(Frame::NotTcp, |u| udp(u, depth)));
                }
                51 => return None,
                _ => return Some(Frame::NotTcp),
            }
            let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
            let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
            let end = total.min(d.len());
            let missing = total - end;
            Some(tcp(src, dst, d.get(ihl..end)?, missing))
        }
        6 => {
            let h = d.get(..40)?;
            let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            if h[6] != 6 || plen == 0 {
                return None;
            }
            let mut a = [0u8; 16];
            a.copy_from_slice(&h[8..24]);
            let src = IpAddr::V6(Ipv6Addr::from(a));
            a.copy_from_slice(&h[24..40]);
            let dst = IpAddr::V6(Ipv6Addr::from(a));
            let total = 40 + plen;
            let end = total.min(d.len());
            Some(tcp(src, dst, d.get(40..end)?, total - end))
        }
        _ => None,
    }
}

/// A TCP segment in `b`; `missing` bytes of the IP payload were cut off after `b`.
fn tcp(src: IpAddr, dst: IpAddr, b: &[u8], missing: usize) -> Frame<'_> {
    let Some(h) = b.get(0..20) else {
        return if missing > 0 {
            Frame::Truncated
        } else {
            Frame::Malformed
        };
    };
    let doff = usize::from(h[12] >> 4) * 4;
    if doff < 20 {
        return Frame::Malformed;
    }
    let Some(payload) = b.get(doff..) else {
        return if missing > 0 {
            Frame::Truncated
        } else {
            Frame::Malformed
        };
    };
    let sport = u16::from_be_bytes([h[0], h[1]]);
    let dport = u16::from_be_bytes([h[2], h[3]]);
    Frame::Tcp(Segment {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        flags: h[13],
        payload,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}

fn from_sliced<'a>(p: &LaxSlicedPacket<'a>) -> Frame<'a> {
    let (src, dst, declared_end, ip) = match &p.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let start = h.slice().as_ptr() as usize;
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                start.checked_add(usize::from(h.total_len())),
                v4.payload(),
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let start = h.slice().as_ptr() as usize;
            let plen = usize::from(h.payload_length());
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                // Payload length 0 means a jumbogram: no declared end to compare with.
                (plen != 0).then(|| start.saturating_add(40).saturating_add(plen)),
                v6.payload(),
            )
        }
        Some(LaxNetSlice::Arp(_)) => return Frame::NotTcp,
        None => {
            return match &p.stop_err {
                Some((etherparse::err::packet::SliceError::Len(_), _)) => Frame::Truncated,
                Some(_) => Frame::Malformed,
                None => Frame::NotTcp,
            };
        }
    };
    if ip.fragmented {
        return Frame::Fragment;
    }
    if ip.ip_number == etherparse::IpNumber::UDP {
        return udp(ip.payload, 1);
    }
    if ip.ip_number != etherparse::IpNumber::TCP {
        return Frame::NotTcp;
    }
    let missing = if ip.incomplete {
        // End of the frame's payload vs. the end the IP header announced.
        let have_end = (ip.payload.as_ptr() as usize).saturating_add(ip.payload.len());
        declared_end.map_or(0, |end| end.saturating_sub(have_end))
    } else {
        0
    };
    tcp(src, dst, ip.payload, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp(payload: &[u8], frag: u16) -> Vec<u8> {
        let total = (40 + payload.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 1]);
        p.extend_from_slice(&frag.to_be_bytes());
        p.extend_from_slice(&[64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&[0x9c, 0x40, 0, 80, 0, 0, 0, 7, 0, 0, 0, 9, 0x50, 0x18, 1, 0]);
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(payload);
        p
    }

    fn ipv4_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let total = (28 + payload.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn quic_long_headers_on_port_443_are_told_apart() {
        // Initial packet, version 1: form and fixed bits set.
        let initial = [0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            decode(linktype::RAW, &ipv4_udp(51000, 443, &initial)),
            Frame::Quic
        );
        assert_eq!(
            decode(linktype::RAW, &ipv4_udp(443, 51000, &initial)),
            Frame::Quic
        );
        // A short header carries no version: not told apart from other UDP.
        assert_eq!(
            decode(linktype::RAW, &ipv4_udp(51000, 443, &[0x41, 1, 2])),
            Frame::NotTcp
        );
        assert_eq!(
            decode(linktype::RAW, &ipv4_udp(51000, 53, &initial)),
            Frame::NotTcp
        );
        assert_eq!(
            decode(linktype::RAW, &ipv4_udp(51000, 443, &[])),
            Frame::NotTcp
        );
    }

    fn ipv6_hbh_tcp(payload: &[u8]) -> Vec<u8> {
        // IPv6 with a hop-by-hop options header before TCP: the etherparse path.
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&((8 + 20 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 64]);
        p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&[0x9c, 0x40, 0, 80, 0, 0, 0, 7, 0, 0, 0, 9, 0x50, 0x18, 1, 0]);
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(payload);
        p
    }

    fn tcp_of(f: Frame<'_>) -> Segment<'_> {
        match f {
            Frame::Tcp(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn qinq_ethernet() {
        let mut f = vec![0; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x08, 0]);
        f.extend(ipv4_tcp(b"GET", 0));
        // Ethernet padding after the IP packet is not payload.
        f.extend_from_slice(&[0; 6]);
        let s = tcp_of(decode(linktype::ETHERNET, &f));
        assert_eq!(s.payload, b"GET");
        assert_eq!(s.src.port(), 40000);
        assert_eq!((s.seq, s.ack), (7, 9));
        assert_eq!(s.missing, 0);
    }

    #[test]
    fn fragments_and_truncation() {
        assert_eq!(
            decode(linktype::RAW, &ipv4_tcp(b"x", 0x2000)),
            Frame::Fragment
        );
        assert_eq!(
            decode(linktype::RAW, &ipv4_tcp(b"x", 0x0010)),
            Frame::Fragment
        );
        let mut p = ipv4_tcp(b"hello world", 0);
        p.truncate(45);
        let s = tcp_of(decode(linktype::RAW, &p));
        assert_eq!((s.payload, s.missing), (&b"hello"[..], 6));
        p.truncate(30);
        assert_eq!(decode(linktype::RAW, &p), Frame::Truncated);
        assert_eq!(decode(linktype::ETHERNET, &[0; 5]), Frame::Truncated);
        assert_eq!(decode(147, &[0; 50]), Frame::UnknownLink);
    }

    #[test]
    fn ipv6_extension_headers_and_null_byte_orders() {
        let p = ipv6_hbh_tcp(b"HTTP/1.1");
        let s = tcp_of(decode(linktype::IPV6, &p));
        assert_eq!(s.payload, b"HTTP/1.1");
        for af in [
            30u32.to_le_bytes(),
            30u32.to_be_bytes(),
            24u32.to_le_bytes(),
        ] {
            let mut f = af.to_vec();
            f.extend_from_slice(&p);
            assert_eq!(tcp_of(decode(linktype::NULL, &f)).payload, b"HTTP/1.1");
        }
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0; 18]);
        sll2.extend_from_slice(&p);
        assert_eq!(
            tcp_of(decode(linktype::LINUX_SLL2, &sll2)).payload,
            b"HTTP/1.1"
        );
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for len in 0..400 {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(x as u8);
            }
            for link in [0, 1, 12, 101, 108, 113, 228, 229, 276] {
                let _ = decode(link, &buf);
                if len > 20 {
                    // Make the IP version plausible so the IP paths run too.
                    let mut b = buf.clone();
                    b[0] = 0x45;
                    let _ = decode(link, &b);
                    b[0] = 0x60;
                    let _ = decode(link, &b);
                }
            }
        }
    }
}
