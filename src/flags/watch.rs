//! `corswatch watch` flags.

use anyhow::{Result, bail};
use clap::ValueEnum;
use corswatch::metrics::MetricsConfig;
use corswatch::pair::PairConfig;
use corswatch::source::live::LiveOptions;
use corswatch::source::replay::Pace;
use corswatch::watch::{WatchConfig, WatchInput};
use std::path::PathBuf;

pub const EXAMPLES: &str = "\
Examples:
  corswatch watch -i eth0                                  beside an API server (needs CAP_NET_RAW)
  corswatch watch -i any --filter 'tcp port 8080'          the `any` device, one port
  corswatch watch --replay capture.pcap --speed 10         replay with timestamps, 10x
  corswatch watch --replay big.pcap --fast --exit-when-done --report-out r.json
Unprivileged: sudo setcap cap_net_raw,cap_net_admin=eip $(which corswatch)";

#[derive(clap::Args)]
pub struct WatchArgs {
    /// Interface to capture on (`any` for all); needs the `live` feature
    #[arg(
        short = 'i',
        long,
        env = "CORSWATCH_INTERFACE",
        conflicts_with = "replay",
        required_unless_present = "replay"
    )]
    interface: Option<String>,
    /// Replay a pcap/pcapng or HAR file through the live path instead of capturing
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Replay at N times the recorded speed
    #[arg(long, default_value_t = 1.0, conflicts_with = "fast")]
    speed: f64,
    /// Replay as fast as possible
    #[arg(long)]
    fast: bool,
    /// Replay the file this many times
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Stop when the replay ends (default: keep serving until SIGINT/SIGTERM)
    #[arg(long)]
    exit_when_done: bool,
    /// BPF capture filter
    #[arg(
        long,
        env = "CORSWATCH_FILTER",
        default_value = "tcp port 80 or tcp port 8080 or tcp port 3000 or tcp port 5000 or tcp port 8000"
    )]
    filter: String,
    /// Bytes captured per packet
    #[arg(long, default_value_t = 262_144)]
    snaplen: i32,
    /// Kernel capture buffer, bytes
    #[arg(long, default_value_t = 16 << 20)]
    buffer_size: i32,
    /// Put the interface in promiscuous mode
    #[arg(long)]
    promiscuous: bool,
    /// Address for /metrics, /report, /healthz
    #[arg(long, env = "CORSWATCH_LISTEN", default_value = "127.0.0.1:9477")]
    listen: std::net::SocketAddr,
    /// Origins that keep their own metric series (the first N seen otherwise)
    #[arg(long, value_delimiter = ',', env = "CORSWATCH_ORIGINS")]
    origins: Option<Vec<String>>,
    /// Distinct origin label values before folding into `other`
    #[arg(long, default_value_t = 50)]
    top_origins: usize,
    /// Distinct route label values before folding into `other`
    #[arg(long, default_value_t = 100)]
    top_routes: usize,
    /// Write the final JSON report here when stopping
    #[arg(long)]
    report_out: Option<PathBuf>,
    /// NSS key log to decrypt TLS with (SSLKEYLOGFILE), followed as it grows
    #[arg(long, value_name = "FILE")]
    keylog: Option<PathBuf>,
    /// Threads for decoding and analysis (default: the number of cores)
    #[arg(long, default_value_t = corswatch::drive::default_threads())]
    threads: usize,
    /// Log format on stderr
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl WatchArgs {
    /// The agent's configuration; bad combinations are usage errors.
    pub fn into_config(self) -> Result<WatchConfig> {
        if !(self.speed > 0.0 && self.speed.is_finite()) {
            bail!("--speed must be a positive number");
        }
        let input = match (self.replay, self.interface) {
            (Some(path), _) => WatchInput::Replay {
                path,
                pace: if self.fast {
                    Pace::Fast
                } else {
                    Pace::Speed(self.speed)
                },
                repeat: self.repeat,
            },
            (None, Some(interface)) => WatchInput::Live(LiveOptions {
                interface,
                filter: self.filter,
                snaplen: self.snaplen,
                buffer_size: self.buffer_size,
                promiscuous: self.promiscuous,
            }),
            (None, None) => bail!("give -i INTERFACE or --replay FILE"),
        };
        Ok(WatchConfig {
            input,
            listen: self.listen,
            metrics: MetricsConfig {
                top_origins: self.top_origins,
                top_routes: self.top_routes,
                origins: self.origins,
            },
            pairing: PairConfig::default(),
            threads: self.threads.max(1),
            keylog: self.keylog,
            report_out: self.report_out,
            exit_when_done: self.exit_when_done,
        })
    }
}
