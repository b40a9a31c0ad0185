use super::*;

/// The committed fixtures (tests/web/make.sh).
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/web")
}

fn parse(text: &str) -> Result<WebConfig, WebConfigError> {
    WebConfig::parse(text, Path::new("/etc/web.yml"), &fixtures())
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// `htpasswd -nbBC 4 "" secret`
const HASH: &str = "$2y$04$OdxTqI/iwUV72/h/E3rEjerCA9uv8vVHrhTOJvQF30.598WI7wQO6";

#[test]
fn empty_file_is_plain_http_without_auth() {
    for text in ["", "# nothing\n", "{}"] {
        let c = parse(text).unwrap();
        assert!(c.tls.is_none() && c.users.is_none() && c.rate_limit.is_none());
        assert_eq!(c.describe(), "no TLS, no auth");
    }
}

#[test]
fn a_full_file_loads() {
    let c = parse(&format!(
        r#"
tls_server_config:
  cert_file: server.pem
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: {HASH}
rate_limit:
  interval: 100ms
  burst: 5
"#
    ))
    .unwrap();
    let tls = c.tls.as_ref().unwrap();
    assert!(!tls.ignore_client_order);
    assert_eq!(c.client_auth, ClientAuth::RequireAndVerifyClientCert);
    assert_eq!(c.users.as_ref().map(|u| u.len()), Some(1));
    assert_eq!(c.headers.len(), 2);
    assert_eq!(
        c.rate_limit,
        Some(RateLimit {
            interval: Duration::from_millis(100),
            burst: 5
        })
    );
    assert!(
        c.describe().contains("basic auth (1 users)"),
        "{}",
        c.describe()
    );
}

#[test]
fn inline_pem_and_every_client_auth_type() {
    let cert = std::fs::read_to_string(fixtures().join("server.pem")).unwrap();
    let key = std::fs::read_to_string(fixtures().join("server.key")).unwrap();
    let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
    for (mode, ca) in [
        ("NoClientCert", false),
        ("RequestClientCert", false),
        ("RequireAnyClientCert", false),
        ("RequireClientCert", false),
        ("VerifyClientCertIfGiven", true),
        ("RequireAndVerifyClientCert", true),
    ] {
        let text = format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}  client_auth_type: {mode}\n{}",
            indent(&cert),
            indent(&key),
            if ca { "  client_ca_file: ca.pem\n" } else { "" }
        );
        let c = parse(&text).unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert!(c.tls.is_some(), "{mode}");
    }
}

#[test]
fn errors_name_the_file_the_field_and_the_line() {
    let e = err("tls_server_config:\n  cert_file: server.pem\n  key_fille: server.key\n");
    assert!(e.contains("/etc/web.yml"), "{e}");
    assert!(e.contains("key_fille") && e.contains("line 3"), "{e}");

    let e = err("basic_auth_user:\n  a: b\n");
    assert!(e.contains("unknown field `basic_auth_user`"), "{e}");

    let e = err(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: Sometimes\n",
    );
    assert!(
        e.contains("client_auth_type") && e.contains("Sometimes") && e.contains("line 4"),
        "{e}"
    );

    let e = err(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS14\n",
    );
    assert!(e.contains("min_version") && e.contains("line 4"), "{e}");

    let e = err("rate_limit:\n  interval: soon\n  burst: 1\n");
    assert!(e.contains("rate_limit.interval"), "{e}");

    let e = err("tls_server_config: [1, 2]\n");
    assert!(e.contains("tls_server_config"), "{e}");
}

#[test]
fn bad_values_name_their_field() {
    for (text, field, says) in [
        (
            "tls_server_config:\n  cert_file: server.pem\n",
            "tls_server_config.key_file",
            "missing",
        ),
        (
            "tls_server_config:\n  key_file: server.key\n",
            "tls_server_config.cert_file",
            "missing",
        ),
        (
            "tls_server_config:\n  cert_file: nope.pem\n  key_file: server.key\n",
            "tls_server_config.cert_file",
            "nope.pem",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n",
            "tls_server_config.key_file",
            "does not fit",
        ),
        (
            "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n",
            "tls_server_config.cert_file",
            "CERTIFICATE",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.pem\n",
            "tls_server_config.key_file",
            "private key",
        ),
        (
            "tls_server_config:\n  cert: x\n  cert_file: server.pem\n  key_file: server.key\n",
            "tls_server_config.cert_file",
            "not both",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: ca.pem\n",
            "tls_server_config.client_auth_type",
            "without a client auth policy",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
            "tls_server_config.client_ca_file",
            "needs client_ca_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  max_version: TLS11\n",
            "tls_server_config.max_version",
            "TLS 1.0",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n",
            "tls_server_config.min_version",
            "above",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
            "tls_server_config.cipher_suites",
            "RC4",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  curve_preferences: [CurveP521]\n",
            "tls_server_config.curve_preferences",
            "CurveP521",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [scraper]\n",
            "tls_server_config.client_allowed_sans",
            "not supported",
        ),
        (
            "basic_auth_users:\n  alice: hunter2\n",
            "basic_auth_users.alice",
            "bcrypt",
        ),
        (
            "http_server_config:\n  headers:\n    Server: corswatch\n",
            "http_server_config.headers.Server",
            "cannot be set",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            "http_server_config.headers.X-Frame-Options",
            "deny",
        ),
    ] {
        let e = err(text);
        assert!(
            e.starts_with("web config file /etc/web.yml: ")
                && e.contains(&format!("{field}: "))
                && e.contains(says),
            "{text}\n-> {e}"
        );
    }
}

#[test]
fn paths_are_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("tls");
    std::fs::create_dir(&sub).unwrap();
    for f in ["server.pem", "server.key"] {
        std::fs::copy(fixtures().join(f), sub.join(f)).unwrap();
    }
    let file = dir.path().join("web.yml");
    std::fs::write(
        &file,
        "tls_server_config:\n  cert_file: tls/server.pem\n  key_file: tls/server.key\n",
    )
    .unwrap();
    assert!(WebConfig::load(&file).unwrap().tls.is_some());
    let e = WebConfig::load(&dir.path().join("missing.yml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.yml"), "{e}");
}

#[test]
fn durations_as_prometheus_writes_them() {
    assert_eq!(parse_duration("0"), Some(Duration::ZERO));
    assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
    assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    for bad in ["", "s", "1", "1.5s", "1x", "-1s"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn a_reload_keeps_the_old_config_on_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yml");
    std::fs::write(&file, format!("basic_auth_users:\n  a: {HASH}\n")).unwrap();
    let current = Current::new(WebConfig::load(&file).unwrap());
    std::fs::write(&file, "basic_auth_users: [\n").unwrap();
    assert!(current.reload().is_err());
    assert!(current.get().users.is_some());
    std::fs::write(&file, "{}\n").unwrap();
    current.reload().unwrap();
    assert!(current.get().users.is_none());
}

#[test]
fn the_deployment_example_is_of_the_format() {
    let f: FileFormat =
        serde_yaml_ng::from_str(include_str!("../../dashboards/deploy/web.yml")).unwrap();
    let tls = f.tls_server_config.unwrap();
    assert_eq!(tls.cert_file, Some(PathBuf::from("tls/server.pem")));
    let users = f.basic_auth_users.unwrap();
    assert!(Users::new(users).is_ok());
}
