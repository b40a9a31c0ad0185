//! Live capture through libpcap (the `live` feature). libpcap's read timeout cannot make a read
//! return while no traffic arrives, so the handle is non-blocking and the capture thread polls
//! its descriptor with a short timeout, checking the stop flag in between.

use crate::watch::LiveOptions;
#[cfg(feature = "live")]
use crate::watch::Producer;

/// An opened capture handle, ready to read.
#[cfg(feature = "live")]
pub struct LiveCapture {
    cap: pcap::Capture<pcap::Active>,
    link: u32,
    interface: String,
}

#[cfg(not(feature = "live"))]
pub struct LiveCapture {
    _private: (),
}

#[cfg(not(feature = "live"))]
pub fn open(o: &LiveOptions) -> Result<LiveCapture, String> {
    Err(format!(
        "cannot capture on {}: this corswatch was built without live capture. Rebuild with `cargo build --release --features live` (needs libpcap: `apt-get install libpcap-dev`), or use `watch --replay FILE`",
        o.interface
    ))
}

#[cfg(not(feature = "live"))]
pub fn capture(_c: LiveCapture, _p: &crate::watch::Producer) {}

/// Live capture reports DLT values; the decoder speaks LINKTYPE values (they differ for raw IP).
#[cfg_attr(not(feature = "live"), allow(dead_code))]
fn dlt_to_linktype(dlt: i32) -> u32 {
    match dlt {
        12 | 14 => 101,
        other => u32::try_from(other).unwrap_or(u32::MAX),
    }
}

#[cfg(feature = "live")]
pub fn open(o: &LiveOptions) -> Result<LiveCapture, String> {
    let why = |e: pcap::Error| format!("cannot capture on {}: {e}", o.interface);
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
        .map_err(|e| {
            let hint = if matches!(e, pcap::Error::PcapError(ref m) if m.contains("ermission")) {
                " (run as root, or grant the binary CAP_NET_RAW: `setcap cap_net_raw,cap_net_admin=eip $(which corswatch)`)"
            } else {
                ""
            };
            format!("cannot capture on {}: {e}{hint}", o.interface)
        })?;
    cap.filter(&o.filter, true)
        .map_err(|e| format!("bad capture filter `{}`: {e}", o.filter))?;
    let link = dlt_to_linktype(cap.get_datalink().0);
    let cap = cap.setnonblock().map_err(why)?;
    Ok(LiveCapture {
        cap,
        link,
        interface: o.interface.clone(),
    })
}

#[cfg(feature = "live")]
pub fn capture(mut c: LiveCapture, p: &Producer) {
    use crate::model::Timestamp;
    use crate::watch::{Batch, Feed};
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    let fd = c.cap.as_raw_fd();
    let mut batch = Batch::with_capacity(256 * 1024);
    let mut number = 0u64;
    let mut last_flush = Instant::now();
    let mut last_stats = Instant::now();
    tracing::info!(interface = %c.interface, link = c.link, "capture started");
    loop {
        if p.stopped() {
            break;
        }
        match c.cap.next_packet() {
            Ok(pkt) => {
                number += 1;
                let tv = pkt.header.ts;
                // time_t and suseconds_t are i64 here but narrower on other targets.
                #[allow(clippy::useless_conversion)]
                let ts = Timestamp(
                    i64::from(tv.tv_sec)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(tv.tv_usec).saturating_mul(1000)),
                );
                batch.push(ts, c.link, pkt.data, number);
            }
            Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => {
                if !batch.packets.is_empty() {
                    let b = std::mem::replace(&mut batch, Batch::with_capacity(256 * 1024));
                    if !p.send(Feed::Packets(b)) {
                        break;
                    }
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
                p.send(Feed::Problem(crate::source::InputError::Capture {
                    input: std::sync::Arc::from(c.interface.as_str()),
                    message: format!("capture failed: {e}"),
                }));
                break;
            }
        }
        if batch.data.len() >= 240 * 1024
            || (!batch.packets.is_empty() && last_flush.elapsed() > Duration::from_millis(50))
        {
            let b = std::mem::replace(&mut batch, Batch::with_capacity(256 * 1024));
            if !p.send(Feed::Packets(b)) {
                break;
            }
            last_flush = Instant::now();
        }
        if last_stats.elapsed() > Duration::from_secs(1) {
            if let Ok(s) = c.cap.stats() {
                p.send(Feed::Drops {
                    kernel: u64::from(s.dropped),
                    interface: u64::from(s.if_dropped),
                });
            }
            last_stats = Instant::now();
        }
    }
    if !batch.packets.is_empty() {
        p.send(Feed::Packets(batch));
    }
    if let Ok(s) = c.cap.stats() {
        p.send(Feed::Drops {
            kernel: u64::from(s.dropped),
            interface: u64::from(s.if_dropped),
        });
    }
    tracing::info!("capture stopped");
}

/// Gives up every capability once the capture is open (file capabilities or root), and sets
/// no-new-privileges so nothing can regain them. Returns whether anything was dropped.
#[cfg(all(feature = "live", target_os = "linux"))]
pub fn drop_privileges() -> Result<bool, String> {
    use caps::CapSet;
    let had = caps::read(None, CapSet::Permitted).map_err(|e| e.to_string())?;
    if had.is_empty() {
        return Ok(false);
    }
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(|e| e.to_string())?;
    }
    // SAFETY: prctl with PR_SET_NO_NEW_PRIVS takes plain integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }
    Ok(true)
}

#[cfg(not(all(feature = "live", target_os = "linux")))]
pub fn drop_privileges() -> Result<bool, String> {
    Ok(false)
}
