//! Writes a synthetic capture of keep-alive HTTP/1.1 API traffic with preflights and CORS
//! responses (some failing), about 1% of segments reordered and 1% retransmitted, on loopback.
//!
//! `cargo run --release --example gen_capture -- OUT.pcap [MEGABYTES] [CONCURRENT] [SEED]`

use corswatch::net::synth;
use std::io::BufWriter;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: gen_capture OUT.pcap [MEGABYTES=200] [CONCURRENT=64] [SEED=1]");
        std::process::exit(2);
    };
    let mb: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let concurrent: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let file = std::fs::File::create(path)?;
    let w = synth::write_capture(
        BufWriter::with_capacity(1 << 20, file),
        mb << 20,
        concurrent,
        seed,
    )?;
    eprintln!(
        "{path}: {} bytes, {} packets, {} exchanges, {} connections",
        w.bytes, w.packets, w.exchanges, w.connections
    );
    Ok(())
}
