//! Throughput of the packet path (pcap reading, link/IP/TCP decoding, reassembly, HTTP/1.x)
//! on a synthetic capture; prints figures rather than timing a test.
//!
//! `cargo bench --bench throughput` (env `BENCH_MB`, default 256: size of the capture, made
//! once under `bench-data/` and reused; `BENCH_CONCURRENT`, default 64: connections open at a
//! time).
//!
//! Then the decrypted path beside it (unless `BENCH_TLS=0`): the same exchanges written by
//! `net::synth::write_exchanges_as` as HTTP/2 in TLS 1.3 (AES-128-GCM), HTTP/1.1 in TLS 1.3 and
//! in TLS 1.2 (ECDHE-RSA-AES128-GCM-SHA256), and cleartext h2c, each with its key log, read through
//! `net::Limits::keylog` as `--keylog` does. Exchanges per CPU second are compared, since the
//! byte counts differ.

#[path = "common/mod.rs"]
mod common;
use common::{peak_rss_kib, thread_cpu_secs};
use corswatch::drive::{Consumer, Driver};
use corswatch::model::{CaptureHealth, Exchange};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Counts exchanges (and answered ones) without keeping them.
#[derive(Default)]
struct Count {
    exchanges: u64,
    answered: u64,
}

impl Consumer for Count {
    fn exchange(&mut self, x: Box<Exchange>) {
        self.exchanges += 1;
        self.answered += u64::from(x.response.is_some());
    }
}

/// (wall s, cpu s, exchanges, answered, problems, health) of the quietest of three runs.
type Figures = (f64, f64, u64, u64, u64, CaptureHealth);

fn main() -> std::io::Result<()> {
    let mb: u64 = std::env::var("BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let concurrent: usize = std::env::var("BENCH_CONCURRENT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench-data");
    std::fs::create_dir_all(&dir)?;
    let path = if concurrent == 64 {
        dir.join(format!("api-{mb}mb.pcap"))
    } else {
        dir.join(format!("api-{mb}mb-{concurrent}conn.pcap"))
    };
    if !path.exists() {
        let t = Instant::now();
        let tmp = path.with_extension("tmp");
        let f = std::fs::File::create(&tmp)?;
        let w = corswatch::net::synth::write_capture(
            BufWriter::with_capacity(1 << 20, f),
            mb << 20,
            concurrent,
            1,
        )?;
        std::fs::rename(&tmp, &path)?;
        eprintln!(
            "generated {} ({} packets, {} exchanges) in {:.1}s",
            path.display(),
            w.packets,
            w.exchanges,
            t.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&path)?.len();
    let rss_before = peak_rss_kib();
    let Some((wall, cpu, exchanges, answered, problems, h)) = measure(&path, None)? else {
        return Ok(());
    };
    println!(
        "wall time          {wall:.3} s ({:.0} MB/s)",
        size as f64 / 1e6 / wall
    );
    println!("cpu time (1 core)  {cpu:.3} s: figures below are per CPU second");
    let secs = cpu;
    println!(
        "capture            {} ({:.1} MB)",
        path.display(),
        size as f64 / 1e6
    );
    println!("throughput         {:.0} MB/s", size as f64 / 1e6 / secs);
    println!(
        "packets            {} ({:.2} M/s)",
        h.packets,
        h.packets as f64 / 1e6 / secs
    );
    println!(
        "exchanges          {exchanges} ({:.2} M/s), answered {answered}",
        exchanges as f64 / 1e6 / secs
    );
    println!(
        "health             flows {} gaps {} ooo {} retx {} parse_err {} unanswered {} orphans {} problems {problems}",
        h.flows,
        h.gaps,
        h.out_of_order_segments,
        h.retransmitted_segments,
        h.http_parse_errors,
        h.unanswered_requests,
        h.orphan_responses
    );
    println!(
        "peak RSS (VmHWM)   {} KiB (before decoding: {} KiB)",
        peak_rss_kib().unwrap_or(0),
        rss_before.unwrap_or(0)
    );
    if std::env::var("BENCH_TLS").as_deref() != Ok("0") {
        decrypted(&dir, mb, concurrent, exchanges, cpu)?;
    }
    Ok(())
}

/// Best of three runs over `path`: the machine is shared, so the quietest run is the
/// decoder's cost.
fn measure(path: &Path, keylog: Option<&Path>) -> std::io::Result<Option<Figures>> {
    // Warm the page cache so the figure is the decoder's, not the disk's.
    std::io::copy(&mut std::fs::File::open(path)?, &mut std::io::sink())?;
    let mut best: Option<Figures> = None;
    for _ in 0..3 {
        let file = std::fs::File::open(path)?;
        let cpu0 = thread_cpu_secs();
        let t = Instant::now();
        let limits = corswatch::net::Limits {
            keylog: keylog.map(Path::to_path_buf),
            ..Default::default()
        };
        let mut d = Driver::with_consumer(limits, Count::default());
        d.read(&path.to_string_lossy(), Box::new(file), None);
        let problems = d.run().problems_total;
        let health = d.health();
        let Count {
            exchanges,
            answered,
        } = d.into_consumer();
        let wall = t.elapsed().as_secs_f64();
        let cpu = match (cpu0, thread_cpu_secs()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => wall,
        };
        if best.as_ref().is_none_or(|b| cpu < b.1) {
            best = Some((wall, cpu, exchanges, answered, problems, health));
        }
    }
    Ok(best)
}

/// The same exchanges in TLS (HTTP/2 in TLS 1.3, HTTP/1.1 in TLS 1.2), decrypted with their
/// key logs, beside the plaintext figures.
fn decrypted(
    dir: &Path,
    mb: u64,
    concurrent: usize,
    plain_exchanges: u64,
    plain_cpu: f64,
) -> std::io::Result<()> {
    use corswatch::net::synth::{Wire, write_exchanges_as};
    let plain_rate = plain_exchanges as f64 / plain_cpu;
    println!();
    println!(
        "decrypted path, same exchanges (per CPU second; plaintext {plain_rate:.0} exchanges/s)"
    );
    for (wire, tag) in [
        (Wire::Tls13H2, "tls13-h2"),
        (Wire::Tls13, "tls13-h1"),
        (Wire::Tls12, "tls12-h1"),
        (Wire::H2c, "h2c"),
    ] {
        // BENCH_ONLY=tls13-h2 (say) measures one wire, for a profiler.
        if std::env::var("BENCH_ONLY").is_ok_and(|o| o != tag) {
            continue;
        }
        let path = dir.join(format!("api-{mb}mb-{concurrent}conn-{tag}.pcap"));
        let keys = path.with_extension("keys");
        if !path.exists() || !keys.exists() {
            let t = Instant::now();
            let tmp = path.with_extension("tmp");
            let f = std::fs::File::create(&tmp)?;
            let (w, keylog) = write_exchanges_as(
                BufWriter::with_capacity(1 << 20, f),
                plain_exchanges,
                concurrent,
                1,
                wire,
            )?;
            std::fs::write(&keys, keylog)?;
            std::fs::rename(&tmp, &path)?;
            eprintln!(
                "generated {} ({} packets, {} exchanges) in {:.1}s",
                path.display(),
                w.packets,
                w.exchanges,
                t.elapsed().as_secs_f64()
            );
        }
        let size = std::fs::metadata(&path)?.len();
        let Some((_, cpu, exchanges, answered, _, h)) = measure(&path, Some(&keys))? else {
            continue;
        };
        let rate = exchanges as f64 / cpu;
        println!(
            "  {tag:9} {:7.1} MB {cpu:7.3} s cpu {:5.0} MB/s {rate:9.0} exchanges/s = {:.2}x plaintext",
            size as f64 / 1e6,
            size as f64 / 1e6 / cpu,
            rate / plain_rate,
        );
        println!(
            "            answered {answered}/{exchanges}; TLS decrypted {}/{}, record failures {}; \
             h2 connections {}, HPACK errors {}",
            h.tls_decrypted,
            h.tls_connections,
            h.tls_record_failures,
            h.h2_connections,
            h.hpack_errors,
        );
    }
    println!("peak RSS (VmHWM)   {} KiB", peak_rss_kib().unwrap_or(0));
    Ok(())
}
