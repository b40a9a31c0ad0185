//! The container image recipe (`Containerfile`), checked structurally: no container engine
//! runs on the project's machines. Multi-stage, pinned bases, the `live` feature, a non-root
//! user with only the capture capability, and the binary where the Kubernetes examples run it.

use crate::util::root;

fn read(p: &str) -> String {
    std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The instructions, continuation lines joined, comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && cur.is_empty()) {
            continue;
        }
        if let Some(body) = t.strip_suffix('\\') {
            cur.push_str(body);
            cur.push(' ');
            continue;
        }
        cur.push_str(t);
        let s = std::mem::take(&mut cur);
        if let Some((op, rest)) = s.split_once(' ') {
            out.push((op.to_ascii_uppercase(), rest.trim().to_string()));
        }
    }
    out
}

#[test]
fn containerfile_is_multi_stage_non_root_with_the_capture_capability() {
    let text = read("Containerfile");
    let ins = instructions(&text);
    let froms: Vec<(usize, &String)> = ins
        .iter()
        .enumerate()
        .filter(|(_, (op, _))| op == "FROM")
        .map(|(i, (_, a))| (i, a))
        .collect();
    assert_eq!(froms.len(), 2, "two stages: build and run");
    let (build_at, build) = froms[0];
    let (run_at, run) = froms[1];
    assert!(
        build.starts_with("docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS build"),
        "{build}"
    );
    assert_eq!(run, "docker.io/library/debian:bookworm-slim");
    // The Rust of the build stage is the crate's minimum.
    let cargo = read("Cargo.toml");
    let msrv = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        ins.iter()
            .any(|(op, a)| op == "ARG" && a == &format!("RUST_VERSION={msrv}")),
        "RUST_VERSION is not the crate's rust-version {msrv}"
    );
    let stage = |from: usize, to: usize| &ins[from + 1..to];
    let build_stage = stage(build_at, run_at);
    let run_stage = stage(run_at, ins.len());
    let has = |st: &[(String, String)], op: &str, needle: &str| {
        st.iter().any(|(o, a)| o == op && a.contains(needle))
    };
    assert!(has(build_stage, "RUN", "libpcap-dev"));
    assert!(has(
        build_stage,
        "RUN",
        "cargo build --release --locked --features live"
    ));
    assert!(
        has(run_stage, "RUN", "libpcap0.8"),
        "the runtime needs libpcap"
    );
    assert!(has(
        run_stage,
        "COPY",
        "--from=build /corswatch /usr/local/bin/corswatch"
    ));
    assert!(has(
        run_stage,
        "RUN",
        "setcap cap_net_raw+ep /usr/local/bin/corswatch"
    ));
    assert!(
        !has(run_stage, "RUN", "cap_sys_admin") && !has(run_stage, "RUN", "cap_net_admin"),
        "only CAP_NET_RAW"
    );
    // A numeric non-root user, last word on who runs it.
    let user: Vec<&String> = run_stage
        .iter()
        .filter(|(o, _)| o == "USER")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(user.len(), 1);
    let uid: u32 = user[0]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric uid");
    assert!(uid >= 1000, "uid {uid}");
    assert!(has(
        run_stage,
        "RUN",
        &format!("useradd --system --uid {uid}")
    ));
    let entry = run_stage
        .iter()
        .find(|(o, _)| o == "ENTRYPOINT")
        .map(|(_, a)| a.as_str())
        .expect("ENTRYPOINT");
    assert_eq!(entry, r#"["/usr/local/bin/corswatch"]"#);
    assert!(has(run_stage, "EXPOSE", "9477"));
    // The build context leaves the build output and node_modules out.
    for ignore in [".containerignore", ".dockerignore"] {
        let t = read(ignore);
        assert!(t.lines().any(|l| l.trim() == "target/"), "{ignore}");
        assert!(t.contains("node_modules"), "{ignore}");
    }
}

#[test]
fn kubernetes_examples_run_the_image_binary() {
    for m in [
        "dashboards/deploy/k8s-sidecar.yaml",
        "dashboards/deploy/k8s-daemonset.yaml",
    ] {
        let text = read(m);
        assert!(
            text.contains("Containerfile"),
            "{m} does not say how its image is built"
        );
        assert!(
            text.contains(r#"command: ["/usr/local/bin/corswatch"]"#),
            "{m}: the binary path of the image"
        );
        assert!(text.contains(r#"add: ["NET_RAW""#), "{m}: NET_RAW");
        assert!(text.contains(r#"drop: ["ALL"]"#), "{m}: drop ALL");
    }
    let readme = read("README.md");
    assert!(
        readme.contains("podman build -f Containerfile"),
        "README: how to build the image"
    );
}
