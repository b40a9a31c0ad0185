//! `corswatch watch` flags.

use super::memory::{MemoryArgs, Size};
use anyhow::{Context as _, Result, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, ValueEnum};
use corswatch::eventlog::{self, EventLogConfig, Target};
use corswatch::hop::HopConfig;
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
  corswatch watch -i eth0 --events /var/log/corswatch/events.jsonl   JSON Lines for log pipelines
  corswatch watch --config /etc/corswatch.toml             settings from a file (flags win)
Unprivileged: sudo setcap cap_net_raw,cap_net_admin=eip $(which corswatch)";

#[derive(clap::Args)]
pub struct WatchArgs {
    /// Interface to capture on (`any` for all); needs the `live` feature
    #[arg(
        short = 'i',
        long,
        env = "CORSWATCH_INTERFACE",
        conflicts_with = "replay"
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
    /// Replay the file this many times, as traffic that goes on: each round a second after the
    /// last, on new connections, while the last round's open ones age out
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
    /// Kernel capture buffer, bytes (default: an eighth of --max-memory, at most 16 MiB: it is
    /// part of the agent's memory once a burst fills it)
    #[arg(long)]
    buffer_size: Option<i32>,
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
    /// Settings from this TOML file: its keys are the long flag names (`top-origins = 20`);
    /// flags and environment variables override it
    #[arg(long, value_name = "FILE", env = "CORSWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Write a JSON line for every blocked request, warning and finding to PATH (`-`: stdout),
    /// rate-limited per (kind, origin, route); the file is reopened on SIGHUP
    #[arg(long, value_name = "PATH", env = "CORSWATCH_EVENTS")]
    events: Option<PathBuf>,
    /// Event lines a (kind, origin, route) may write at once
    #[arg(long, default_value_t = 10)]
    events_burst: u32,
    /// Event lines a second per (kind, origin, route) once the burst is spent
    #[arg(long, default_value_t = 1.0)]
    events_rate: f64,
    /// The `host` field of event lines (default: this machine's host name)
    #[arg(long, env = "CORSWATCH_HOST")]
    events_host: Option<String>,
    /// The reverse proxy in front sets the CORS headers: a request seen only at the proxy→app
    /// hop shows the app's answer, not the browser's, and is not counted as blocked. Where both
    /// hops are captured the traffic decides
    #[arg(long, env = "CORSWATCH_PROXY_SETS_CORS")]
    proxy_sets_cors: bool,
    /// The declared CORS policy (TOML, `corswatch schema policy`): answers that depart from
    /// it are counted in corswatch_policy_drift_total{rule,route}, carried by events
    /// (`policy_drift`) and listed in /report
    #[arg(long, value_name = "FILE", env = "CORSWATCH_DECLARED")]
    declared: Option<PathBuf>,
    #[command(flatten)]
    memory: MemoryArgs,
    /// Metric series with `origin` or `route` labels, together; a new combination past it is
    /// counted under `other` values (default: --max-memory / 10 KiB)
    #[arg(long, value_name = "N", help_heading = "Memory budget")]
    max_series: Option<usize>,
    /// TLS, client certificates, basic auth, response headers and a rate limit for the
    /// endpoints: a Prometheus exporter-toolkit web config file (YAML), reread on SIGHUP
    #[arg(
        long = "web.config.file",
        value_name = "FILE",
        env = "CORSWATCH_WEB_CONFIG_FILE"
    )]
    web_config_file: Option<PathBuf>,
    /// Connections to the endpoints open at once; more are closed and counted in
    /// corswatch_web_requests_refused_total{reason="connection_limit"}
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 64)]
    web_max_connections: usize,
    /// Do not serve /report (it names the origins and routes seen); /metrics and /healthz stay
    #[arg(long)]
    no_report_endpoint: bool,
}

/// The `web.*` keys of the config file: `web.config.file = "..."` reads as the flag does.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct WebKeys {
    config: Option<WebConfigKeys>,
    max_connections: Option<usize>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WebConfigKeys {
    file: Option<PathBuf>,
}

/// The config file of `watch`: every key is a long flag's name, and means what the flag means.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileConfig {
    interface: Option<String>,
    replay: Option<PathBuf>,
    speed: Option<f64>,
    fast: Option<bool>,
    repeat: Option<u32>,
    exit_when_done: Option<bool>,
    filter: Option<String>,
    snaplen: Option<i32>,
    buffer_size: Option<i32>,
    promiscuous: Option<bool>,
    listen: Option<std::net::SocketAddr>,
    origins: Option<Vec<String>>,
    top_origins: Option<usize>,
    top_routes: Option<usize>,
    report_out: Option<PathBuf>,
    keylog: Option<PathBuf>,
    threads: Option<usize>,
    log_format: Option<LogFormat>,
    events: Option<PathBuf>,
    events_burst: Option<u32>,
    events_rate: Option<f64>,
    events_host: Option<String>,
    proxy_sets_cors: Option<bool>,
    declared: Option<PathBuf>,
    /// `web.config.file` and `web.max-connections`: TOML reads the dots as tables.
    web: Option<WebKeys>,
    no_report_endpoint: Option<bool>,
    max_memory: Option<Size>,
    max_flows: Option<usize>,
    max_held_bytes: Option<Size>,
    max_http_bytes: Option<Size>,
    max_pairing_bytes: Option<Size>,
    max_aggregate_keys: Option<usize>,
    max_series: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Whether the value of argument `id` came from the command line or the environment (which
/// override the config file), rather than from its default.
fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

impl WatchArgs {
    /// Applies the `--config` file under the flags and environment variables that `m` (this
    /// command's matches) says were given: flags > environment > file > defaults.
    pub fn apply_config_file(&mut self, m: &ArgMatches) -> Result<()> {
        let Some(path) = self.config.clone() else {
            return Ok(());
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        let f: FileConfig =
            toml::from_str(&text).with_context(|| format!("config file {}", path.display()))?;
        self.layer(f, |id| given(m, id));
        Ok(())
    }

    /// Takes each value of `f` whose flag was not `given`.
    fn layer(&mut self, mut f: FileConfig, given: impl Fn(&str) -> bool) {
        // A source named on the command line (or in the environment) replaces the file's
        // source of the other kind too: `--replay` wins over the file's `interface`.
        if given("interface") || given("replay") {
            f.interface = None;
            f.replay = None;
        }
        macro_rules! layer {
            ($($field:ident $(=> $wrap:expr)?),* $(,)?) => {$(
                if let Some(v) = f.$field {
                    if !given(stringify!($field)) {
                        self.$field = layer!(@wrap v $(, $wrap)?);
                    }
                }
            )*};
            (@wrap $v:ident) => { $v };
            (@wrap $v:ident, $wrap:expr) => { $wrap($v) };
        }
        layer!(
            interface => Some,
            replay => Some,
            speed,
            fast,
            repeat,
            exit_when_done,
            filter,
            snaplen,
            buffer_size => Some,
            promiscuous,
            listen,
            origins => Some,
            top_origins,
            top_routes,
            report_out => Some,
            keylog => Some,
            threads,
            log_format,
            events => Some,
            events_burst,
            events_rate,
            events_host => Some,
            proxy_sets_cors,
            declared => Some,
            no_report_endpoint,
            max_series => Some,
        );
        // The budget's flags live in their own group (shared with `analyze`).
        let m = &mut self.memory;
        macro_rules! memory {
            ($($field:ident => $wrap:expr),* $(,)?) => {$(
                if let Some(v) = f.$field {
                    if !given(stringify!($field)) {
                        m.$field = $wrap(v);
                    }
                }
            )*};
        }
        memory!(
            max_memory => |v: Size| v.0,
            max_flows => Some,
            max_held_bytes => |v: Size| Some(v.0),
            max_http_bytes => |v: Size| Some(v.0),
            max_pairing_bytes => |v: Size| Some(v.0),
            max_aggregate_keys => Some,
        );
        if let Some(w) = f.web {
            if let Some(file) = w.config.and_then(|c| c.file)
                && !given("web_config_file")
            {
                self.web_config_file = Some(file);
            }
            if let Some(n) = w.max_connections
                && !given("web_max_connections")
            {
                self.web_max_connections = n;
            }
        }
    }

    /// The agent's configuration; bad combinations are usage errors.
    pub fn into_config(self, quiet: bool) -> Result<WatchConfig> {
        if !(self.events_rate >= 0.0 && self.events_rate.is_finite()) {
            bail!("--events-rate must be a number of lines a second, 0 or more");
        }
        let events = self.events.map(|p| EventLogConfig {
            target: if p.as_os_str() == "-" {
                Target::Stdout
            } else {
                Target::File(p)
            },
            burst: self.events_burst.max(1),
            per_second: self.events_rate,
            host: self.events_host.unwrap_or_else(eventlog::hostname),
            ..EventLogConfig::default()
        });
        if !(self.speed > 0.0 && self.speed.is_finite()) {
            bail!("--speed must be a positive number");
        }
        let mut budget = self.memory.budget()?;
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
                buffer_size: self.buffer_size.unwrap_or_else(|| budget.capture_buffer()),
                promiscuous: self.promiscuous,
            }),
            (None, None) => bail!("give -i INTERFACE or --replay FILE"),
        };
        if let Some(n) = self.max_series {
            budget.series = n.max(1);
        }
        let declared = match &self.declared {
            Some(p) => Some(std::sync::Arc::new(corswatch::policy::Policy::load(p)?)),
            None => None,
        };
        let web_config = match &self.web_config_file {
            Some(p) => Some(corswatch::web::WebConfig::load(p)?),
            None => None,
        };
        if self.web_max_connections == 0 {
            bail!("--web.max-connections must be 1 or more");
        }
        Ok(WatchConfig {
            web: corswatch::web::WebOptions {
                config: web_config,
                limits: corswatch::web::Limits {
                    max_connections: self.web_max_connections,
                    ..corswatch::web::Limits::default()
                },
                report_endpoint: !self.no_report_endpoint,
                ..corswatch::web::WebOptions::default()
            },
            policy: corswatch::policy::stage::PolicyConfig {
                declared,
                ..Default::default()
            },
            input,
            listen: self.listen,
            metrics: MetricsConfig {
                top_origins: self.top_origins,
                top_routes: self.top_routes,
                origins: self.origins,
                max_series: budget.series,
            },
            budget,
            pairing: PairConfig::default(),
            hops: HopConfig {
                proxy_sets_cors: self.proxy_sets_cors,
                ..HopConfig::default()
            },
            threads: self.threads.max(1),
            keylog: self.keylog,
            report_out: self.report_out,
            exit_when_done: self.exit_when_done,
            events,
            quiet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cli, Command};
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    /// Parses `watch ARGS` with `env` as the only environment variables clap may read.
    fn parse(args: &[&str], file: &str) -> WatchArgs {
        let m = Cli::command()
            .try_get_matches_from(std::iter::once("corswatch").chain(args.iter().copied()))
            .unwrap();
        let cli = Cli::from_arg_matches(&m).unwrap();
        let Command::Watch(mut w) = cli.command else {
            panic!("not watch")
        };
        let sub = m.subcommand_matches("watch").unwrap();
        let f: FileConfig = toml::from_str(file).unwrap();
        w.layer(f, |id| given(sub, id));
        w
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let file = r#"
            replay = "x.pcap"
            listen = "127.0.0.1:9999"
            top-origins = 7
            top-routes = 8
            origins = ["https://a.example", "https://b.example"]
            events = "/tmp/events.jsonl"
            events-burst = 3
            log-format = "json"
            fast = true
            max-memory = "128M"
            max-flows = 5000
            max-http-bytes = 1048576
        "#;
        let w = parse(&["watch", "--top-routes", "9"], file);
        assert_eq!(w.listen.port(), 9999);
        assert_eq!(w.top_origins, 7);
        assert_eq!(w.top_routes, 9, "the flag wins");
        assert_eq!(w.events_burst, 3);
        assert!(w.fast);
        assert!(w.log_format == LogFormat::Json);
        assert_eq!(w.origins.as_deref().map(<[String]>::len), Some(2));
        assert_eq!(w.events_rate, 1.0, "not in the file: the default");
        assert_eq!(w.memory.max_memory, 128 << 20);
        let c = w.into_config(false).unwrap();
        assert_eq!(c.budget.flows, 5000);
        assert_eq!(c.budget.http_bytes, 1 << 20);
        assert_eq!(
            c.budget.held_bytes,
            corswatch::budget::Budget::split(128 << 20).held_bytes
        );
        assert!(matches!(
            c.input,
            corswatch::watch::WatchInput::Replay { .. }
        ));
        assert_eq!(c.events.map(|e| e.burst), Some(3));
    }

    #[test]
    fn a_source_on_the_command_line_replaces_the_files() {
        let w = parse(&["watch", "--replay", "y.pcap"], "interface = \"eth0\"");
        let c = w.into_config(true).unwrap();
        assert!(matches!(
            c.input,
            corswatch::watch::WatchInput::Replay { .. }
        ));
        let w = parse(&["watch", "-i", "lo"], "replay = \"z.pcap\"");
        assert!(matches!(
            w.into_config(true).unwrap().input,
            corswatch::watch::WatchInput::Live(_)
        ));
        // Nothing anywhere: a usage error, not a panic.
        assert!(parse(&["watch"], "").into_config(true).is_err());
    }

    /// Every long flag of `watch` is a key of the file and a row of the README's table; the
    /// example file parses.
    #[test]
    fn every_flag_is_a_documented_key() {
        let readme = include_str!("../../README.md");
        let table = readme
            .split("<!-- config-keys")
            .nth(1)
            .and_then(|t| t.split("<!-- /config-keys -->").next())
            .unwrap_or_default();
        let cmd = Cli::command();
        let watch = cmd.find_subcommand("watch").unwrap();
        let mut n = 0;
        for arg in watch.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "config" | "help") {
                continue;
            }
            n += 1;
            // A value of the wrong type is a type error, an unknown key an "unknown field".
            let err = toml::from_str::<FileConfig>(&format!("{long} = []"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                !err.contains("unknown field"),
                "--{long} is not a key: {err}"
            );
            assert!(
                table.contains(&format!("| `{long}` |")),
                "README lacks `{long}`"
            );
        }
        assert_eq!(
            table.matches("\n| `").count(),
            n,
            "README lists keys that are no flags"
        );
        let example: FileConfig =
            toml::from_str(include_str!("../../dashboards/deploy/corswatch.toml")).unwrap();
        assert_eq!(example.events_burst, Some(10));
    }

    #[test]
    fn web_keys_read_as_the_flags() {
        let file = "web.config.file = \"/etc/corswatch/web.yml\"\n\
                    web.max-connections = 8\nno-report-endpoint = true\n";
        let w = parse(&["watch"], file);
        assert_eq!(
            w.web_config_file.as_deref(),
            Some(std::path::Path::new("/etc/corswatch/web.yml"))
        );
        assert_eq!(w.web_max_connections, 8);
        assert!(w.no_report_endpoint);
        let w = parse(&["watch", "--web.max-connections", "3"], file);
        assert_eq!(w.web_max_connections, 3, "the flag wins");
        let w = parse(
            &["watch", "--replay", "x.pcap"],
            "[web]\nmax-connections = 5\n",
        );
        assert_eq!(w.web_max_connections, 5, "a [web] table is the same key");
        let c = w.into_config(true).unwrap();
        assert!(c.web.report_endpoint && c.web.config.is_none());
        assert_eq!(c.web.limits.max_connections, 5);
        assert!(toml::from_str::<FileConfig>("web.config.path = \"x\"").is_err());
        assert!(toml::from_str::<FileConfig>("web.timeout = 3").is_err());
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<FileConfig>("top_origin = 3").is_err());
        assert!(toml::from_str::<FileConfig>("listen = \"not an address\"").is_err());
    }
}
