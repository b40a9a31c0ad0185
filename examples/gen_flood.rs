//! Writes a flood capture (pcap) for the memory-budget tests to a file or stdout (`-`).
//!
//! `cargo run --release --example gen_flood -- KIND N OUT`
//! KIND: syn | halfopen[:BYTES] | origins | routes | slowloris[:CONNS] | pipelined

use corswatch::net::flood::{self, Flood};
use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || {
        eprintln!(
            "usage: gen_flood syn|halfopen[:BYTES]|origins|routes|slowloris[:CONNS]|pipelined N OUT|-"
        );
        std::process::exit(2)
    };
    let (Some(kind), Some(n), Some(out)) = (args.first(), args.get(1), args.get(2)) else {
        usage()
    };
    let Ok(n) = n.parse::<u64>() else { usage() };
    let (name, arg) = kind.split_once(':').unwrap_or((kind, ""));
    let arg = arg.parse::<u64>().ok();
    let flood = match name {
        "syn" => Flood::Syn,
        "halfopen" => Flood::HalfOpen {
            size: arg.unwrap_or(2048) as usize,
        },
        "origins" => Flood::Origins,
        "routes" => Flood::Routes,
        "slowloris" => Flood::Slowloris {
            conns: arg.unwrap_or(10_000) as u32,
        },
        "pipelined" => Flood::Pipelined,
        _ => usage(),
    };
    let w: Box<dyn Write> = if out == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::fs::File::create(out)?)
    };
    let packets = flood::write(BufWriter::with_capacity(1 << 20, w), flood, n)?;
    eprintln!("{kind} x {n}: {packets} packets");
    Ok(())
}
