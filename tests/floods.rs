//! The memory budget, small: flood captures with a part's cap made tiny, so that each part
//! evicts or refuses, and the report counts it (the RSS figures at full size are
//! `tests/floods.sh`).

use crate::cli::{temp_file, validate};
use crate::util::{corswatch, run, stdout};
use corswatch::net::flood::{self, Flood};

fn capture(flood: Flood, n: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let mut bytes = Vec::new();
    flood::write(&mut bytes, flood, n).unwrap();
    temp_file("flood.pcap", &bytes)
}

#[test]
fn every_part_counts_what_it_evicts() {
    let cases: [(Flood, u64, &[&str], &str); 5] = [
        (Flood::Syn, 2000, &["--max-flows", "100"], "flows"),
        (
            Flood::HalfOpen { size: 2048 },
            500,
            &["--max-http-bytes", "256K"],
            "http_bytes",
        ),
        (Flood::Pipelined, 2000, &[], "pipelined"),
        (
            Flood::Origins,
            3000,
            &["--max-pairing-bytes", "64K"],
            "pairing",
        ),
        (
            Flood::Routes,
            3000,
            &["--max-aggregate-keys", "100"],
            "aggregate",
        ),
    ];
    for (flood, n, flags, part) in cases {
        let (_d, p) = capture(flood, n);
        let out = run(
            corswatch()
                .arg("analyze")
                .arg(&p)
                .args(["--format", "json"])
                .args(flags),
            0,
        );
        validate(&out.stdout);
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let e = &r["capture_health"]["evictions"];
        assert!(e[part].as_u64().unwrap_or(0) > 0, "{flood:?}: {e}");
    }
}

#[test]
fn the_text_report_says_what_the_budget_evicted() {
    let (_d, p) = capture(Flood::Syn, 500);
    let out = run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--max-flows", "50", "--color", "never"]),
        0,
    );
    let text = stdout(&out);
    assert!(
        text.contains("memory budget (--max-memory): ")
            && text.contains("connections evicted (flow table full, --max-flows)"),
        "{text}"
    );
    // Nothing evicted: no line, and no `evictions` in the JSON.
    let (_d, p) = capture(Flood::Syn, 10);
    let out = run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--format", "json"]),
        0,
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["capture_health"].get("evictions").is_none(), "{r}");
}

#[test]
fn budgets_parse_and_a_tiny_one_is_refused() {
    let (_d, p) = capture(Flood::Syn, 10);
    for ok in ["64M", "1G", "33554432", "48MiB"] {
        run(
            corswatch()
                .arg("analyze")
                .arg(&p)
                .args(["--max-memory", ok]),
            0,
        );
    }
    let out = run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--max-memory", "1M"]),
        2,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 MiB"));
    run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--max-memory", "lots"]),
        2,
    );
}
