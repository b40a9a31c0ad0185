//! The command line: bad input, exit codes, redaction across every output format, the JSON
//! report against its schema.

use crate::util::{corswatch, run, stdout};
use std::io::Write;

pub(crate) fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    (dir, p)
}

pub(crate) fn entry(
    method: &str,
    url: &str,
    req: &[(&str, &str)],
    status: i64,
    resp: &[(&str, &str)],
    extra: &str,
) -> String {
    let hs = |h: &[(&str, &str)]| {
        h.iter()
            .map(|(n, v)| {
                format!(
                    r#"{{"name":{},"value":{}}}"#,
                    serde_json::json!(n),
                    serde_json::json!(v)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"startedDateTime":"2025-05-01T10:00:00.000Z","request":{{"method":"{method}","url":{},"headers":[{}]}},"response":{{"status":{status},"headers":[{}]{extra}}}}}"#,
        serde_json::json!(url),
        hs(req),
        hs(resp)
    )
}

pub(crate) fn har(entries: &[String]) -> String {
    format!(
        r#"{{"log":{{"version":"1.2","creator":{{"name":"test"}},"entries":[{}]}}}}"#,
        entries.join(",")
    )
}

/// A cross-origin GET whose response lacks ACAO: blocked in every browser.
fn blocked_get() -> String {
    entry(
        "GET",
        "https://api.example/data",
        &[
            ("Origin", "https://app.example"),
            ("Sec-Fetch-Mode", "cors"),
        ],
        200,
        &[("Content-Type", "application/json")],
        "",
    )
}

#[test]
fn bad_inputs_name_the_file_and_place_and_exit_2() {
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "not-json.har",
            b"{\"log\": {\"entries\": [ {\"request\": } ] }}",
            "not-json.har: entry 0: wrong shape",
        ),
        (
            "truncated.har",
            b"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\"",
            "truncated.har: not valid HAR JSON at byte",
        ),
        (
            "no-entries.har",
            b"{\"log\":{\"version\":\"1.2\"}}",
            "no-entries.har: not a HAR: `log.entries` is missing",
        ),
        (
            "binary.bin",
            b"\x00\x01\x02\x03\xff\xfe",
            "binary.bin: not a HAR, pcap or pcapng file (it starts with bytes 00 01 02 03 ff fe)",
        ),
        (
            "empty.har",
            b"",
            "empty.har: not a HAR, pcap or pcapng file (it starts with nothing: the file is empty)",
        ),
    ];
    for (name, bytes, expect) in cases {
        let (_d, p) = temp_file(name, bytes);
        let out = run(
            corswatch()
                .arg("analyze")
                .arg(&p)
                .args(["--format", "json"]),
            2,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{name}: stderr was {err}");
    }
}

#[test]
fn a_bad_entry_costs_only_itself() {
    let body = har(&[
        blocked_get(),
        r#"{"request":[]}"#.to_string(),
        blocked_get(),
    ]);
    let (_d, p) = temp_file("mixed.har", body.as_bytes());
    let out = run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--format", "json"]),
        2,
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["totals"]["exchanges"], 2);
    assert_eq!(j["problems_total"], 1);
    assert!(
        j["problems"][0]
            .as_str()
            .unwrap()
            .contains("mixed.har: entry 1:")
    );
    // --fail-on wins over the input problem's exit 2 when failures were found.
    run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--fail-on", "blocked"]),
        1,
    );
}

#[test]
fn fail_on_sets_the_exit_code() {
    let (_d, p) = temp_file("b.har", har(&[blocked_get()]).as_bytes());
    run(corswatch().arg("analyze").arg(&p), 0);
    run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--fail-on", "never"]),
        0,
    );
    run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--fail-on", "blocked"]),
        1,
    );
    run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--fail-on", "finding"]),
        1,
    );
    let ok = entry(
        "GET",
        "https://api.example/ok",
        &[("Origin", "https://app.example")],
        200,
        &[("Access-Control-Allow-Origin", "https://app.example")],
        "",
    );
    let (_d2, p2) = temp_file("ok.har", har(&[ok]).as_bytes());
    run(
        corswatch()
            .arg("analyze")
            .arg(&p2)
            .args(["--fail-on", "blocked"]),
        0,
    );
    // Usage errors exit 2.
    run(
        corswatch().args(["analyze", "--format", "yaml"]).arg(&p2),
        2,
    );
    run(corswatch().args(["explain", "no_such_kind"]), 2);
}

#[test]
fn stdin_and_several_inputs() {
    let body = har(&[blocked_get()]);
    let (_d, p) = temp_file("a.har", body.as_bytes());
    let mut cmd = corswatch();
    cmd.arg("analyze")
        .arg(&p)
        .arg("-")
        .args(["--format", "json"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(j["inputs"][1]["name"], "-");
    assert_eq!(j["totals"]["exchanges"], 2);
}

/// Canary values in every sensitive place must not appear in any output format.
#[test]
fn no_secret_reaches_any_output() {
    const CANARIES: &[&str] = &[
        "CANARY_COOKIE_1",
        "CANARY_BEARER_2",
        "CANARY_APIKEY_3",
        "CANARY_QUERY_4",
        "CANARY_SETCOOKIE_5",
        "CANARY_PROXY_6",
        "CANARY_USERINFO_7",
    ];
    let req = [
        ("Origin", "https://app.example"),
        ("Cookie", "sid=CANARY_COOKIE_1"),
        ("Authorization", "Bearer CANARY_BEARER_2"),
        ("X-API-Key", "CANARY_APIKEY_3"),
        ("Proxy-Authorization", "Basic CANARY_PROXY_6"),
    ];
    let resp = [
        ("Access-Control-Allow-Origin", "*"),
        ("Set-Cookie", "s=CANARY_SETCOOKIE_5; Secure"),
    ];
    let entries = vec![
        entry(
            "GET",
            "https://api.example/x?token=CANARY_QUERY_4&a=1",
            &req,
            200,
            &resp,
            r#","_error":"net::ERR_FAILED""#,
        ),
        entry(
            "GET",
            "https://user:CANARY_USERINFO_7@api.example/y?k=CANARY_QUERY_4",
            &req,
            302,
            &[(
                "Location",
                "https://user:CANARY_USERINFO_7@b.example/z?q=CANARY_QUERY_4",
            )],
            "",
        ),
        entry(
            "OPTIONS",
            "https://api.example/p?sig=CANARY_QUERY_4",
            &[
                ("Origin", "https://app.example"),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Headers", "authorization,x-api-key"),
            ],
            403,
            &[],
            "",
        ),
    ];
    let (_d, p) = temp_file("canary.har", har(&entries).as_bytes());
    for format in ["text", "json", "events", "html"] {
        let out = run(
            corswatch()
                .arg("analyze")
                .arg(&p)
                .args(["--format", format, "--notes"]),
            0,
        );
        let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        for c in CANARIES {
            assert!(!all.contains(c), "{format} output leaks {c}:\n{all}");
        }
    }
}

#[test]
fn json_report_matches_its_schema() {
    let entries = vec![
        blocked_get(),
        entry(
            "GET",
            "https://api.example/ok",
            &[("Origin", "https://app.example")],
            200,
            &[("Access-Control-Allow-Origin", "https://app.example")],
            "",
        ),
    ];
    let (_d, p) = temp_file("s.har", har(&entries).as_bytes());
    let out = run(
        corswatch()
            .arg("analyze")
            .arg(&p)
            .args(["--format", "json"]),
        0,
    );
    validate(&out.stdout);
    let schema = run(corswatch().arg("schema"), 0);
    assert_eq!(stdout(&schema), corswatch::report::json::SCHEMA);
}

/// Validates a JSON report against `report.schema.json`.
pub fn validate(report: &[u8]) {
    let instance: serde_json::Value = serde_json::from_slice(report).expect("report is JSON");
    let schema: serde_json::Value = serde_json::from_str(corswatch::report::json::SCHEMA).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("report.schema.json", schema).unwrap();
    let id = compiler
        .compile("report.schema.json", &mut schemas)
        .unwrap();
    if let Err(e) = schemas.validate(&instance, id) {
        panic!("report does not match the schema: {e:#}");
    }
}

#[test]
fn explain_and_kinds() {
    let out = run(corswatch().args(["explain", "preflight_acao_missing"]), 0);
    assert!(stdout(&out).starts_with("preflight_acao_missing (blocked)"));
    let out = run(corswatch().arg("kinds"), 0);
    for k in corswatch::cors::Kind::ALL {
        assert!(stdout(&out).contains(k.id()), "{} not listed", k.id());
    }
    let out = run(corswatch().arg("--help"), 0);
    assert!(stdout(&out).contains("Examples:"));
}

#[test]
fn explain_renders_one_snippet_with_placeholders_set() {
    let out = run(
        corswatch().args([
            "explain",
            "acao_missing",
            "--stack",
            "nginx",
            "--snippet",
            "--set",
            "origin=http://localhost:5173",
            "--set",
            "path=/v1/",
            "--set",
            "upstream=http://127.0.0.1:9000",
        ]),
        0,
    );
    let text = stdout(&out);
    assert!(text.starts_with("location /v1/ {"), "{text}");
    assert!(text.contains("\"http://localhost:5173\" always;"), "{text}");
    assert!(text.contains("proxy_pass http://127.0.0.1:9000;"), "{text}");
    assert!(
        !text.contains("{{") && !text.contains("example.com"),
        "{text}"
    );
    // Without --set, the example values; the full explanation too.
    let out = run(
        corswatch().args(["explain", "acao_missing", "--stack", "flask"]),
        0,
    );
    assert!(stdout(&out).contains("https://app.example.com"));
    // Refused: an unknown placeholder, a path without slashes, --snippet without one stack,
    // a kind without a server-side snippet.
    for bad in [
        &[
            "explain",
            "acao_missing",
            "--stack",
            "nginx",
            "--snippet",
            "--set",
            "nope=1",
        ][..],
        &[
            "explain",
            "acao_missing",
            "--stack",
            "nginx",
            "--snippet",
            "--set",
            "path=api",
        ],
        &[
            "explain",
            "acao_missing",
            "--stack",
            "nginx",
            "--stack",
            "flask",
            "--snippet",
        ],
        &["explain", "opaque_no_cors", "--stack", "nginx", "--snippet"],
    ] {
        run(corswatch().args(bad), 2);
    }
}

/// The README's kinds table lists every kind, and its set-up section has exactly the two
/// commands a new user runs.
#[test]
fn readme_is_in_step_with_the_code() {
    let readme = std::fs::read_to_string(crate::util::root().join("README.md")).unwrap();
    for k in corswatch::cors::Kind::ALL {
        assert!(
            readme.contains(&format!("| `{}` |", k.id())),
            "README lacks kind {}",
            k.id()
        );
    }
    let setup = readme
        .split("## Set-up")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let block = setup
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let commands: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo run --release -- analyze captures/chromium-devtools.har",
            "cargo test"
        ]
    );
}

#[test]
fn merge_adds_reports_and_names_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let report = |name: &str| {
        let out = run(
            corswatch()
                .current_dir(crate::util::root())
                .args(["analyze", name, "--format", "json"]),
            0,
        );
        out.stdout
    };
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(&a, report("captures/chromium-devtools.har")).unwrap();
    std::fs::write(&b, report("captures/chromium-loopback.pcap")).unwrap();
    let out = run(corswatch().arg("merge").arg(&a).arg(&b), 0);
    validate(&out.stdout);
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ja: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    let jb: serde_json::Value = serde_json::from_slice(&std::fs::read(&b).unwrap()).unwrap();
    for k in ["exchanges", "cross_origin", "blocked", "findings"] {
        assert_eq!(
            m["totals"][k].as_u64().unwrap(),
            ja["totals"][k].as_u64().unwrap() + jb["totals"][k].as_u64().unwrap(),
            "{k}"
        );
    }
    assert_eq!(m["inputs"].as_array().unwrap().len(), 2);

    let bad = dir.path().join("old.json");
    std::fs::write(&bad, r#"{"schema_version": 99}"#).unwrap();
    let out = run(corswatch().arg("merge").arg(&a).arg(&bad), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("old.json") && err.contains("schema_version 99"),
        "{err}"
    );
}
