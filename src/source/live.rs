//! Live capture through libpcap (the `live` feature). libpcap's read timeout cannot make a read
//! return while no traffic arrives, so the handle is non-blocking and the capture thread polls
//! its descriptor with a short timeout, checking the stop flag in between.

#[cfg(feature = "live")]
use super::{InputError, Packet, Sender};

/// What to capture, and how.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Interface name (`any` for all).
    pub interface: String,
    /// BPF filter.
    pub filter: String,
    /// Bytes captured per packet.
    pub snaplen: i32,
    /// Kernel capture buffer, bytes.
    pub buffer_size: i32,
    /// Promiscuous mode.
    pub promiscuous: bool,
}

/// Why a capture could not be opened or a privilege not dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// Built without the `live` feature.
    #[error(
        "cannot capture on {interface}: this corswatch was built without live capture. Rebuild with `cargo build --release --features live` (needs libpcap: `apt-get install libpcap-dev`), or use `watch --replay FILE`"
    )]
    NotBuilt {
        /// The interface asked for.
        interface: String,
    },
    /// libpcap refused to open the interface.
    #[error("cannot capture on {interface}: {message}{hint}")]
    Open {
        /// The interface.
        interface: String,
        /// libpcap's reason.
        message: String,
        /// How to get the permission, when that was the reason.
        hint: &'static str,
    },
    /// The BPF filter did not compile.
    #[error("bad capture filter `{filter}`: {message}")]
    Filter {
        /// The filter as given.
        filter: String,
        /// libpcap's reason.
        message: String,
    },
    /// Capabilities could not be read or cleared.
    #[error("cannot drop capabilities: {0}")]
    Privileges(String),
}

/// An opened capture handle, ready to read.
#[cfg(feature = "live")]
pub struct LiveCapture {
    cap: pcap::Capture<pcap::Active>,
    link: u32,
    interface: String,
}

/// An opened capture handle, ready to read.
#[cfg(not(feature = "live"))]
pub struct LiveCapture {
    _private: (),
}

/// Opens the capture (needs the `live` feature).
#[cfg(not(feature = "live"))]
pub fn open(o: &LiveOptions) -> Result<LiveCapture, LiveError> {
    Err(LiveError::NotBuilt {
        interface: o.interface.clone(),
    })
}

/// Captures until `stopped()` (nothing to do without the `live` feature).
#[cfg(not(feature = "live"))]
pub fn capture(_c: LiveCapture, _tx: &mut dyn super::Sender, _stopped: &dyn Fn() -> bool) {}

/// Live capture reports DLT values; the decoder speaks LINKTYPE values (they differ for raw IP).
#[cfg_attr(not(feature = "live"), allow(dead_code))]
fn dlt_to_linktype(dlt: i32) -> u32 {
    match dlt {
        12 | 14 => 101,
        other => u32::try_from(other).unwrap_or(u32::MAX),
    }
}

/// Opens the capture on `o.interface` with its filter, non-blocking.
#[cfg(feature = "live")]
pub fn open(o: &LiveOptions) -> Result<LiveCapture, LiveError> {
    let why = |e: pcap::Error| LiveError::Open {
        interface: o.interface.clone(),
        message: e.to_string(),
        hint: "",
    };
    let mut cap = pcap::Capture::from_device(o.interface.as_str())
        .map_err(why)?
        .promisc(o.promiscuous)
        .snaplen(o.snaplen)
        .buffer_size(o.buffer_size)
        // Not immediate: the kernel hands over blocks of packets (TPACKET_V3), far cheaper at high
        // rates; the 100 ms buffer timeout bounds the delay on a quiet link.
        .immediate_mode(false)
        .timeout(100)
        .open()
        .map_err(|e| LiveError::Open {
            interface: o.interface.clone(),
            hint: if matches!(e, pcap::Error::PcapError(ref m) if m.contains("ermission")) {
                " (run as root, or grant the binary CAP_NET_RAW: `setcap cap_net_raw,cap_net_admin=eip $(which corswatch)`)"
            } else {
                ""
            },
            message: e.to_string(),
        })?;
    cap.filter(&o.filter, true).map_err(|e| LiveError::Filter {
        filter: o.filter.clone(),
        message: e.to_string(),
    })?;
    let link = dlt_to_linktype(cap.get_datalink().0);
    let cap = cap.setnonblock().map_err(why)?;
    Ok(LiveCapture {
        cap,
        link,
        interface: o.interface.clone(),
    })
}

/// Captures into `tx` until `stopped()` or a capture error; hands over what is batched when the
/// link goes quiet, and reports libpcap's drop counters every second.
#[cfg(feature = "live")]
pub fn capture(mut c: LiveCapture, tx: &mut dyn Sender, stopped: &dyn Fn() -> bool) {
    use crate::model::Timestamp;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    let fd = c.cap.as_raw_fd();
    let mut pending = false;
    let mut number = 0u64;
    let mut last_flush = Instant::now();
    let mut last_stats = Instant::now();
    tracing::info!(interface = %c.interface, link = c.link, "capture started");
    loop {
        if stopped() {
            break;
        }
        match c.cap.next_packet() {
            Ok(pkt) => {
                number += 1;
                let tv = pkt.header.ts;
                // time_t and suseconds_t are i64 here but narrower on other targets.
                #[allow(clippy::useless_conversion)]
                let time = Timestamp(
                    i64::from(tv.tv_sec)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(tv.tv_usec).saturating_mul(1000)),
                );
                let packet = Packet {
                    time,
                    link: c.link,
                    data: pkt.data,
                    number,
                };
                if !tx.packet(packet) {
                    break;
                }
                pending = true;
            }
            Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => {
                if pending {
                    tx.flush();
                    pending = false;
                    last_flush = Instant::now();
                }
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd for the duration of the call.
                unsafe {
                    libc::poll(&mut pfd, 1, 100);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "capture failed");
                tx.problem(InputError::Capture {
                    input: std::sync::Arc::from(c.interface.as_str()),
                    message: format!("capture failed: {e}"),
                });
                break;
            }
        }
        if pending && last_flush.elapsed() > Duration::from_millis(50) {
            tx.flush();
            pending = false;
            last_flush = Instant::now();
        }
        if last_stats.elapsed() > Duration::from_secs(1) {
            if let Ok(s) = c.cap.stats() {
                tx.drops(u64::from(s.dropped), u64::from(s.if_dropped));
            }
            last_stats = Instant::now();
        }
    }
    tx.flush();
    if let Ok(s) = c.cap.stats() {
        tx.drops(u64::from(s.dropped), u64::from(s.if_dropped));
    }
    tracing::info!("capture stopped");
}

/// Gives up every capability once the capture is open (file capabilities or root), and sets
/// no-new-privileges so nothing can regain them. Returns whether anything was dropped.
#[cfg(all(feature = "live", target_os = "linux"))]
pub fn drop_privileges() -> Result<bool, LiveError> {
    use caps::CapSet;
    let why = |e: caps::errors::CapsError| LiveError::Privileges(e.to_string());
    let had = caps::read(None, CapSet::Permitted).map_err(why)?;
    if had.is_empty() {
        return Ok(false);
    }
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(why)?;
    }
    // SAFETY: prctl with PR_SET_NO_NEW_PRIVS takes plain integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }
    Ok(true)
}

/// Nothing to drop without the `live` feature.
#[cfg(not(all(feature = "live", target_os = "linux")))]
pub fn drop_privileges() -> Result<bool, LiveError> {
    Ok(false)
}
