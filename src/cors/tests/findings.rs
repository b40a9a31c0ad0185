//! Security findings.

use super::*;

/// The finding of `kind`; without its text under [`Detail::Counts`], and otherwise the same.
fn finding_for(b: B, ctx: &Context<'_>, kind: Kind) -> Verdict {
    let ex = b.ex();
    let c = classify(&ex, ctx);
    let v = find(&c, kind).clone();
    assert!(!v.message.is_empty(), "{kind:?} without a message");
    let counts = Context {
        detail: Detail::Counts,
        ..*ctx
    };
    let bare = classify(&ex, &counts);
    let w = find(&bare, kind);
    assert!(w.message.is_empty() && w.evidence.is_empty(), "{w:?}");
    assert_eq!(
        bare.verdicts.iter().map(|v| v.kind).collect::<Vec<_>>(),
        c.verdicts.iter().map(|v| v.kind).collect::<Vec<_>>()
    );
    let without_text = Verdict {
        message: String::new(),
        evidence: Vec::new(),
        ..v.clone()
    };
    assert_eq!(*w, without_text);
    v
}

#[test]
fn sec_null_origin_trusted() {
    let v = finding_for(
        req("GET", API)
            .h("Origin", "null")
            .status(200)
            .rh("Access-Control-Allow-Origin", "null"),
        &Context::default(),
        Kind::SecNullOriginTrusted,
    );
    assert_eq!(v.class(), VerdictClass::Finding);
}

#[test]
fn sec_wildcard_plus_credentials_config() {
    finding_for(
        get()
            .status(200)
            .rh("Access-Control-Allow-Origin", "*")
            .rh("Access-Control-Allow-Credentials", "true"),
        &Context::default(),
        Kind::SecWildcardPlusCredentialsConfig,
    );
}

#[test]
fn sec_http_origin_trusted_by_https() {
    let c = run(&req("GET", API)
        .h("Origin", "http://app.example")
        .status(200)
        .rh("Access-Control-Allow-Origin", "http://app.example")
        .ex());
    assert!(c.blocked().is_none());
    assert!(has(&c, Kind::SecHttpOriginTrustedByHttps));
    let c = run(&req("GET", API)
        .h("Origin", "http://localhost:3000")
        .status(200)
        .rh("Access-Control-Allow-Origin", "http://localhost:3000")
        .ex());
    assert!(!has(&c, Kind::SecHttpOriginTrustedByHttps));
}

#[test]
fn sec_missing_vary_origin() {
    let ctx = Context {
        distinct_reflected_origins: 2,
        ..Context::default()
    };
    finding_for(
        get()
            .status(200)
            .rh("Access-Control-Allow-Origin", APP)
            .rh("Cache-Control", "public, max-age=600"),
        &ctx,
        Kind::SecMissingVaryOrigin,
    );
    let c = classify(
        &get()
            .status(200)
            .rh("Access-Control-Allow-Origin", APP)
            .rh("Cache-Control", "public, max-age=600")
            .rh("Vary", "Accept-Encoding, Origin")
            .ex(),
        &ctx,
    );
    assert!(!has(&c, Kind::SecMissingVaryOrigin));
}

#[test]
fn sec_wildcard_internal_or_sensitive() {
    finding_for(
        get()
            .status(200)
            .rh("Access-Control-Allow-Origin", "*")
            .ip("10.1.2.3"),
        &Context::default(),
        Kind::SecWildcardInternalOrSensitive,
    );
    let c = run(&get()
        .status(200)
        .rh("Access-Control-Allow-Origin", "*")
        .ip("93.184.216.34")
        .ex());
    assert!(!has(&c, Kind::SecWildcardInternalOrSensitive));
}

#[test]
fn sec_third_party_origin_trusted() {
    finding_for(
        req("GET", API)
            .h("Origin", "https://someone.github.io")
            .status(200)
            .rh("Access-Control-Allow-Origin", "https://someone.github.io"),
        &Context::default(),
        Kind::SecThirdPartyOriginTrusted,
    );
}

#[test]
fn sec_prefix_suffix_regex_match() {
    for o in [
        "https://api.example.evil.tld",
        "https://evilapi.example",
        "https://a_b.api.example",
    ] {
        let c = run(&req("GET", "https://www.api.example/data")
            .h("Origin", o)
            .status(200)
            .rh("Access-Control-Allow-Origin", o)
            .ex());
        assert!(has(&c, Kind::SecPrefixSuffixRegexMatch), "{o}");
    }
    // A legit subdomain echoed is not a finding.
    let c = run(&req("GET", "https://api.example/data")
        .h("Origin", "https://www.api.example")
        .status(200)
        .rh("Access-Control-Allow-Origin", "https://www.api.example")
        .ex());
    assert!(c.verdicts.is_empty(), "{c:#?}");
}

#[test]
fn sec_any_subdomain_trusted() {
    finding_for(
        req("GET", "https://api.example/data")
            .h("Origin", "https://x7k2q9z3.api.example")
            .status(200)
            .rh(
                "Access-Control-Allow-Origin",
                "https://x7k2q9z3.api.example",
            ),
        &Context::default(),
        Kind::SecAnySubdomainTrusted,
    );
}

#[test]
fn sec_origin_reflected_with_and_without_credentials() {
    let ctx = Context {
        distinct_reflected_origins: 5,
        ..Context::default()
    };
    let b = || {
        req("GET", API)
            .h("Origin", "https://random-attacker.tld")
            .status(200)
            .rh("Access-Control-Allow-Origin", "https://random-attacker.tld")
    };
    finding_for(
        b().rh("Access-Control-Allow-Credentials", "true"),
        &ctx,
        Kind::SecOriginReflectedWithCredentials,
    );
    finding_for(b(), &ctx, Kind::SecOriginReflectedNoCredentials);
    // Equality alone (few reflected origins) is no finding.
    let c = run(&b().ex());
    assert!(c.verdicts.is_empty(), "{c:#?}");
}

#[test]
fn sec_pna_opt_in_reflected() {
    finding_for(
        preflight("GET", "")
            .h("Access-Control-Request-Private-Network", "true")
            .status(204)
            .rh("Access-Control-Allow-Private-Network", "true")
            .rh("Access-Control-Allow-Origin", "*"),
        &Context::default(),
        Kind::SecPnaOptInReflected,
    );
}
