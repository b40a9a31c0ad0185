//! One frame → one TCP segment (or the reason it is not one). Link headers etherparse does not
//! know (Linux SLL/SLL2, BSD NULL/LOOP) are stripped by hand; IP through etherparse's lax
//! slicer, which keeps what parsed and tells a snaplen cut apart from a malformed header.

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket};
use std::net::{IpAddr, SocketAddr};

/// Link-layer header types (LINKTYPE values in files, a few DLT aliases from live capture).
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    /// DLT_RAW on most systems (live capture).
    pub const DLT_RAW: u32 = 12;
    /// DLT_RAW on OpenBSD.
    pub const DLT_RAW_OPENBSD: u32 = 14;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
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
    )
}

pub const FLAG_FIN: u8 = 0x01;
pub const FLAG_SYN: u8 = 0x02;
pub const FLAG_RST: u8 = 0x04;
pub const FLAG_ACK: u8 = 0x10;

/// A decoded TCP segment, borrowing its payload from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// The payload bytes present in the frame.
    pub payload: &'a [u8],
    /// Payload bytes the IP header announced but the snapshot length cut off.
    pub missing: u32,
}

impl Segment<'_> {
    pub fn syn(&self) -> bool {
        self.flags & FLAG_SYN != 0
    }
    pub fn fin(&self) -> bool {
        self.flags & FLAG_FIN != 0
    }
    pub fn rst(&self) -> bool {
        self.flags & FLAG_RST != 0
    }
    pub fn has_ack(&self) -> bool {
        self.flags & FLAG_ACK != 0
    }
}

/// What one frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    Tcp(Segment<'a>),
    /// An IPv4 or IPv6 fragment: not reassembled (unbounded memory for no CORS value).
    Fragment,
    /// ARP, UDP, ICMP, an unknown EtherType...
    NotTcp,
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
    let sliced = match link {
        ETHERNET => match LaxSlicedPacket::from_ethernet(data) {
            Ok(p) => p,
            Err(_) => return Frame::Truncated,
        },
        LINUX_SLL => {
            // 16-byte header; the protocol (EtherType for IP) is its last two bytes.
            let (Some(hdr), Some(rest)) = (data.get(14..16), data.get(16..)) else {
                return Frame::Truncated;
            };
            LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([hdr[0], hdr[1]])), rest)
        }
        LINUX_SLL2 => {
            // 20-byte header that starts with the protocol.
            let (Some(hdr), Some(rest)) = (data.get(0..2), data.get(20..)) else {
                return Frame::Truncated;
            };
            LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([hdr[0], hdr[1]])), rest)
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
                2 | 24 | 28 | 30 => match LaxSlicedPacket::from_ip(rest) {
                    Ok(p) => p,
                    Err(_) => return Frame::Malformed,
                },
                _ => return Frame::NotTcp,
            }
        }
        RAW | DLT_RAW | DLT_RAW_OPENBSD | IPV4 | IPV6 => match LaxSlicedPacket::from_ip(data) {
            Ok(p) => p,
            Err(_) => return Frame::Malformed,
        },
        _ => return Frame::UnknownLink,
    };
    from_sliced(&sliced)
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
    if ip.ip_number != etherparse::IpNumber::TCP {
        return Frame::NotTcp;
    }
    let b = ip.payload;
    let Some(h) = b.get(0..20) else {
        return Frame::Truncated;
    };
    let doff = usize::from(h[12] >> 4) * 4;
    if doff < 20 {
        return Frame::Malformed;
    }
    let Some(payload) = b.get(doff..) else {
        return if ip.incomplete {
            Frame::Truncated
        } else {
            Frame::Malformed
        };
    };
    let missing = if ip.incomplete {
        // End of the frame's payload vs. the end the IP header announced.
        let have_end = (payload.as_ptr() as usize).saturating_add(payload.len());
        declared_end.map_or(0, |end| end.saturating_sub(have_end))
    } else {
        0
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
