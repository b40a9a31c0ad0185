//! The command-line conventions: completions, the manual page, `--version` with the commit,
//! `--quiet`, `--color` for every command, and the config file of `watch` under flags and
//! environment variables.

use crate::util::{capture, corswatch, run, stdout};

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef corswatch"),
        ("fish", "complete -c corswatch"),
    ] {
        let out = stdout(&run(corswatch().args(["completions", shell]), 0));
        assert!(out.contains(marker), "{shell}: {marker} missing");
        for word in [
            "analyze",
            "watch",
            "format",
            "html",
            "events-burst",
            "config",
        ] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    run(corswatch().args(["completions", "tcsh"]), 2);
}

#[test]
fn bash_accepts_its_completion_script() {
    let Ok(bash) = which("bash") else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("c.bash");
    std::fs::write(
        &script,
        run(corswatch().args(["completions", "bash"]), 0).stdout,
    )
    .unwrap();
    let st = std::process::Command::new(bash)
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success());
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn manual_pages() {
    let page = stdout(&run(corswatch().arg("man"), 0));
    assert!(
        page.starts_with(".ie") || page.contains(".TH corswatch"),
        "{page}"
    );
    for word in ["analyze", "watch", "completions"] {
        assert!(page.contains(word), "man page lacks {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&run(corswatch().args(["man", "--dir"]).arg(dir.path()), 0));
    for name in ["corswatch.1", "corswatch-analyze.1", "corswatch-watch.1"] {
        let p = dir.path().join(name);
        assert!(out.contains(name), "{out}");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(".TH"), "{name}");
    }
    let watch = std::fs::read_to_string(dir.path().join("corswatch-watch.1")).unwrap();
    assert!(watch.contains("events\\-burst") || watch.contains("events-burst"));
    // Rendered by man(1), where it exists: no warnings from groff.
    if let Ok(man) = which("man") {
        let o = std::process::Command::new(man)
            .args(["-l", "-Tutf8"])
            .arg(dir.path().join("corswatch-watch.1"))
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        if o.status.success() {
            assert!(String::from_utf8_lossy(&o.stdout).contains("events"));
        }
    }
}

#[test]
fn version_names_the_commit() {
    let v = stdout(&run(corswatch().arg("--version"), 0));
    assert!(
        v.starts_with(&format!("corswatch {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let commit = v
        .split("(commit ")
        .nth(1)
        .unwrap()
        .trim_end()
        .trim_end_matches(')');
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
}

#[test]
fn color_is_global_and_consistent() {
    let har = capture("chromium-devtools.har");
    let colored = |args: &[&str]| {
        let out = run(corswatch().args(args).arg("analyze").arg(&har), 0);
        stdout(&out).contains("\x1b[")
    };
    assert!(colored(&["--color", "always"]));
    assert!(!colored(&["--color", "never"]));
    // Not a terminal: auto means none.
    assert!(!colored(&[]));
    // After the subcommand too.
    let out = run(
        corswatch().args(["analyze", "--color", "always"]).arg(&har),
        0,
    );
    assert!(stdout(&out).contains("\x1b["));
    run(corswatch().args(["--color", "sometimes", "kinds"]), 2);
}

#[test]
fn quiet_watch_says_nothing_on_success() {
    let out = run(
        corswatch()
            .args([
                "--quiet",
                "watch",
                "--fast",
                "--exit-when-done",
                "--listen",
                "127.0.0.1:0",
            ])
            .arg("--replay")
            .arg(capture("chromium-loopback.pcap")),
        0,
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        corswatch()
            .args([
                "watch",
                "--fast",
                "--exit-when-done",
                "--listen",
                "127.0.0.1:0",
            ])
            .arg("--replay")
            .arg(capture("chromium-loopback.pcap")),
        0,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped after"));
}

/// The listen address, from the file, the environment and the flag: flag > env > file.
#[test]
fn config_file_under_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("corswatch.toml");
    let report = dir.path().join("r.json");
    std::fs::write(
        &cfg,
        format!(
            "# every key is a long flag\nreplay = {:?}\nfast = true\nexit-when-done = true\nlisten = \"127.0.0.1:0\"\nreport-out = {:?}\ntop-routes = 3\n",
            capture("chromium-loopback.pcap"),
            report
        ),
    )
    .unwrap();
    let started = |extra: &[&str], env: Option<&str>| -> String {
        let mut c = corswatch();
        c.args(["watch", "--config"]).arg(&cfg).args(extra);
        c.env_remove("CORSWATCH_LISTEN");
        if let Some(e) = env {
            c.env("CORSWATCH_LISTEN", e);
        }
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        err
    };
    // The file alone: it replays, and writes the report it names.
    let err = started(&[], None);
    assert!(err.contains("serving http://127.0.0.1:0/"), "{err}");
    assert!(report.is_file());
    // The environment beats the file; the flag beats both.
    let err = started(&[], Some("127.0.0.2:0"));
    assert!(err.contains("serving http://127.0.0.2:0/"), "{err}");
    let err = started(&["--listen", "127.0.0.3:0"], Some("127.0.0.2:0"));
    assert!(err.contains("serving http://127.0.0.3:0/"), "{err}");
    // CORSWATCH_CONFIG names the file too.
    let out = corswatch()
        .arg("watch")
        .env("CORSWATCH_CONFIG", &cfg)
        .env_remove("CORSWATCH_LISTEN")
        .output()
        .unwrap();
    assert!(out.status.success());
    // Mistakes are usage errors that name the file and the key.
    std::fs::write(&cfg, "top_routes = 3\n").unwrap();
    let out = corswatch()
        .args(["watch", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corswatch.toml") && err.contains("top_routes"),
        "{err}"
    );
}
