//! The verdicts, events and reports are the same with one thread and with several: on the real
//! recordings, and on generated traffic whose preflights and actual requests travel on
//! different connections (made by the shared benchmark generators, small).

use crate::util::{capture, corswatch, run, shared};
use std::path::{Path, PathBuf};

fn output(input: &Path, format: &str, threads: usize) -> Vec<u8> {
    run(
        corswatch().arg("analyze").arg(input).args([
            "--format",
            format,
            "--threads",
            &threads.to_string(),
        ]),
        0,
    )
    .stdout
}

fn same_with_any_threads(input: &Path) {
    for format in ["events", "json"] {
        let one = output(input, format, 1);
        assert!(!one.is_empty(), "{}: no {format} output", input.display());
        for threads in [2, 4] {
            let many = output(input, format, threads);
            assert!(
                one == many,
                "{}: --format {format} differs with {threads} threads",
                input.display()
            );
        }
    }
}

/// Runs a generator of `../shared/bench` into `dir`.
fn generate(dir: &Path, script: &str, args: &[&str], out: &str) -> PathBuf {
    let path = dir.join(out);
    let status = std::process::Command::new("python3")
        .arg(shared().join("bench").join(script))
        .args(args)
        .arg("--out")
        .arg(&path)
        .status()
        .unwrap_or_else(|e| panic!("python3 {script}: {e}"));
    assert!(status.success(), "{script} failed");
    path
}

#[test]
fn recordings_give_the_same_results_with_any_number_of_threads() {
    for name in [
        "chromium-devtools.har",
        "chromium-playwright.har",
        "chromium-loopback.pcap",
        // Both hops of each request (nginx, Caddy, Envoy in front of real apps): with two
        // threads or more the hops are matched beside the decoder.
        "lab/proxies.pcap",
        "lab/proxies-inner.pcap",
    ] {
        same_with_any_threads(&capture(name));
    }
}

#[test]
fn generated_traffic_gives_the_same_results_with_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = generate(
        dir.path(),
        "gen_pcap.py",
        &["--flows", "400", "--seed", "7"],
        "g.pcap",
    );
    let har = generate(
        dir.path(),
        "gen_har.py",
        &["--size-mb", "2", "--seed", "7"],
        "g.har",
    );
    for input in [&pcap, &har] {
        same_with_any_threads(input);
    }
    // The capture really has preflights and actual requests on different connections.
    let events = String::from_utf8(output(&pcap, "events", 2)).unwrap();
    assert!(events.contains("\"pairing\":\"actual_after_preflight\""));
}

/// A HAR from a pipe (`<(zcat …)`) is read whole with several threads: only regular files are
/// sniffed ahead of reading, so no byte of the pipe is lost to the sniffing.
#[test]
fn a_har_from_a_pipe_is_read_whole_with_any_threads() {
    let har = capture("chromium-devtools.har");
    let bin = corswatch().get_program().to_owned();
    let totals = |input: &str| {
        let out = run(
            std::process::Command::new("bash").arg("-c").arg(format!(
                "{:?} analyze {input} --threads 2 --format json",
                bin
            )),
            0,
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["totals"].clone()
    };
    let whole = totals(&format!("{:?}", har));
    assert!(whole["exchanges"].as_u64().unwrap() > 100, "{whole}");
    assert_eq!(totals(&format!("<(cat {:?})", har)), whole);
}

/// What the metrics read of an event: its labels and its verdicts' kinds.
fn labels(e: &corswatch::event::Event) -> String {
    let kinds: Vec<_> = e.all_verdicts().map(|v| (v.kind, v.class())).collect();
    format!(
        "{} {:?} {} {:?} {} {kinds:?}",
        e.url, e.exchange_type, e.counted, e.origin, e.route
    )
}

/// `watch` without an event stream builds every event for the metrics but none of their text
/// (`event_text: false`): the same events, labels, kinds and totals as with the text.
#[test]
fn events_without_their_text_count_and_label_the_same() {
    use corswatch::drive::{Config, Driver};
    let run = |event_text: bool| {
        let cfg = Config {
            event_text,
            ..Config::default()
        };
        let mut seen = Vec::new();
        let outcome = {
            let mut d = Driver::new(&cfg, |e| seen.push(labels(e)));
            d.read_paths(&[
                capture("chromium-loopback.pcap"),
                capture("chromium-devtools.har"),
            ])
            .unwrap();
            d.finish()
        };
        (seen, format!("{:?}", outcome.aggregate.totals))
    };
    let (with_text, totals) = run(true);
    let (without, totals_without) = run(false);
    assert!(with_text.len() > 100, "{}", with_text.len());
    assert_eq!(with_text, without);
    assert_eq!(totals, totals_without);
}
