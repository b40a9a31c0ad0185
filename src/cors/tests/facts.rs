//! Request facts, console messages, redaction, and classifier robustness (property tests).

use super::*;
use crate::cors::facts::request_facts;

#[test]
fn request_facts_unsafe_headers() {
    let ex = req("POST", API)
        .h("Origin", APP)
        .h("Cookie", "a=1")
        .h("X-B", "1")
        .h("Content-Type", "application/json")
        .h("Accept", "*/*")
        .h("x-b", "2")
        .h("Sec-Fetch-Mode", "cors")
        .h("User-Agent", "x")
        .ex();
    let f = request_facts(&ex);
    assert_eq!(f.unsafe_headers, vec!["content-type", "x-b"]);
    assert!(f.needs_preflight);
    let ex = req("POST", API)
        .h("Content-Type", "text/plain;charset=UTF-8")
        .ex();
    assert!(!request_facts(&ex).needs_preflight);
    assert!(request_facts(&req("patch", API).ex()).needs_preflight);
    // Over 1024 bytes of safelisted values: all of them become unsafe.
    let long = "a".repeat(120);
    let mut b = req("GET", API);
    for i in 0..9 {
        b = b.h(
            if i % 2 == 0 {
                "Accept"
            } else {
                "Accept-Language"
            },
            &long,
        );
    }
    assert_eq!(
        request_facts(&b.ex()).unsafe_headers,
        vec!["accept", "accept-language"]
    );
}

#[test]
fn resource_kinds_in_messages() {
    let c = run(&get().rt("stylesheet").status(200).ex());
    assert!(
        blocked(&c)
            .message
            .starts_with("Access to CSS stylesheet at 'https://api.example/data'")
    );
}

#[test]
fn hostile_input_does_not_panic() {
    let weird = [
        "",
        ":",
        "://",
        "http://[",
        "http://[::1",
        "https://a:99999",
        "\u{7f}",
        "é://x",
    ];
    for o in weird {
        for acao in weird {
            let ex = req("OPTIONS", o)
                .h("Origin", o)
                .h("Access-Control-Request-Method", acao)
                .h("Access-Control-Request-Headers", acao)
                .status(200)
                .rh("Access-Control-Allow-Origin", acao)
                .rh("Access-Control-Allow-Methods", acao)
                .rh("Location", o)
                .ex();
            let _ = run(&ex);
            let ex = req("GET", acao)
                .h("Origin", o)
                .status(302)
                .rh("Location", acao)
                .ex();
            let _ = run(&ex);
        }
    }
}

#[test]
fn preflight_whose_har_actual_failed_unsent_is_not_followed() {
    let actual = req("PUT", API)
        .h("Origin", APP)
        .fail("net::ERR_FAILED")
        .ex();
    let pf = preflight("PUT", "").status(404).ex();
    let ctx = Context {
        partner: Some(&actual),
        pairing: crate::model::Pairing::PreflightFollowed,
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_eq!(blocked(&c).kind, Kind::PreflightAcaoMissing);
    // Credentials unknown, the preflight passes without them: only credentials explain it.
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .ex();
    let c = classify(&pf, &ctx);
    assert_eq!(blocked(&c).kind, Kind::PreflightCredentialsFail);
}

#[test]
fn tainted_hop_prints_the_page_origin_from_referer() {
    let prev = req("GET", "https://b.example/r").h("Origin", APP).ex();
    let ex = req("GET", "https://c.example/data")
        .h("Origin", "null")
        .h("Referer", "https://app.example/page?q=1")
        .status(200)
        .ex();
    let ctx = Context {
        previous_hop: Some(&prev),
        ..Context::default()
    };
    let c = classify(&ex, &ctx);
    assert_eq!(
        blocked(&c).message,
        "Access to fetch at 'https://c.example/data' from origin 'https://app.example' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource."
    );
}

#[test]
fn disallowed_by_mode() {
    let ex = req("GET", "https://app.example/api/me")
        .h("Sec-Fetch-Mode", "same-origin")
        .h("Referer", "https://app.example/")
        .status(302)
        .rh("Location", "https://login.example/?next=%2F")
        .ex();
    assert_blocked(
        &run(&ex),
        Kind::DisallowedByMode,
        Some(CorsError::DisallowedByMode),
        "Access to fetch at 'https://app.example/api/me' from origin 'https://app.example' has been blocked by CORS policy: Cross origin requests are not allowed by request mode.",
    );
    let ex = req("GET", "https://app.example/api/me")
        .h("Sec-Fetch-Mode", "same-origin")
        .status(302)
        .rh("Location", "/login")
        .ex();
    let c = run(&ex);
    assert_eq!(c.scope, Scope::NotCors(NotCors::Mode("same-origin".into())));
    assert!(c.verdicts.is_empty());
}

#[test]
fn cors_disabled_scheme() {
    let ex = req("GET", "file:///C:/site/data.json")
        .h("Origin", "null")
        .rt("xhr")
        .fail("net::ERR_FAILED")
        .ex();
    assert_blocked(
        &run(&ex),
        Kind::CorsDisabledScheme,
        Some(CorsError::CorsDisabledScheme),
        "Access to XMLHttpRequest at 'file:///C:/site/data.json' from origin 'null' has been blocked by CORS policy: Cross origin requests are only supported for protocol schemes: http, data, isolated-app, chrome-extension, chrome, https, chrome-untrusted.",
    );
}

#[test]
fn no_secret_reaches_the_output() {
    let actual = req("PUT", "https://api.example/data?token=CANARY1")
        .h("Origin", APP)
        .h("Cookie", "sid=CANARY2")
        .h("Authorization", "Bearer CANARY3")
        .h("X-Api-Key", "CANARY4")
        .ex();
    let pf = req("OPTIONS", "https://api.example/data?token=CANARY1")
        .h("Origin", APP)
        .h("Access-Control-Request-Method", "PUT")
        .h("Access-Control-Request-Headers", "authorization,x-api-key")
        .status(204)
        .rh("Access-Control-Allow-Origin", "*")
        .rh("Set-Cookie", "s=CANARY5")
        .ex();
    let ctx = Context {
        partner: Some(&actual),
        ..Context::default()
    };
    let c = classify(&pf, &ctx);
    assert_eq!(blocked(&c).kind, Kind::PreflightCredentialsFail);
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains("CANARY"), "{json}");
    let failed = req("GET", "https://api.example/data?token=CANARY1")
        .h("Origin", APP)
        .h("Cookie", "sid=CANARY2")
        .status(302)
        .rh("Access-Control-Allow-Origin", APP)
        .rh("Access-Control-Allow-Credentials", "true")
        .rh("Location", "https://u:CANARY6@b.example/?k=CANARY7")
        .ex();
    let json = serde_json::to_string(&run(&failed)).unwrap();
    assert!(json.contains("redirect_userinfo"), "{json}");
    assert!(!json.contains("CANARY"), "{json}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("https://app.example".to_owned()),
            Just("null".to_owned()),
            Just("*".to_owned()),
            "[ -~]{0,40}",
            "\\PC{0,20}",
        ]
    }

    proptest! {
        #[test]
        fn classify_never_panics(
            method in prop_oneof![Just("OPTIONS".to_owned()), Just("GET".to_owned()), "[a-zA-Z]{1,8}"],
            url in prop_oneof![Just(API.to_owned()), text()],
            origin in text(),
            acao in text(),
            acam in text(),
            acah in text(),
            acrh in text(),
            location in text(),
            status in 0u16..700,
            fail in prop_oneof![Just(None), Just(Some("net::ERR_FAILED".to_owned())), text().prop_map(Some)],
            cookie in any::<bool>(),
            packets in any::<bool>(),
        ) {
            let mut b = req(&method, &url)
                .h("Origin", &origin)
                .h("Access-Control-Request-Method", &acam)
                .h("Access-Control-Request-Headers", &acrh)
                .status(status)
                .rh("Access-Control-Allow-Origin", &acao)
                .rh("Access-Control-Allow-Methods", &acam)
                .rh("Access-Control-Allow-Headers", &acah)
                .rh("Location", &location)
                .rh("Access-Control-Max-Age", &acrh);
            if cookie {
                b = b.h("Cookie", "a=1");
            }
            if packets {
                b = b.packets();
            }
            if let Some(f) = &fail {
                b = b.fail(f);
            }
            let ex = b.ex();
            let partner = req("PUT", &url).h("Origin", &origin).h(&acrh, &acah).ex();
            for pairing in [
                crate::model::Pairing::Unpaired,
                crate::model::Pairing::PreflightFollowed,
                crate::model::Pairing::PreflightAlone { capture_open: true },
            ] {
                for engine in Engine::ALL {
                    let ctx = Context {
                        partner: Some(&partner),
                        pairing,
                        previous_hop: Some(&partner),
                        redirects: 20,
                        first_url: Some(&url),
                        page_origin: Some(&origin),
                        credentials_hint: None,
                        distinct_reflected_origins: 5,
                        cached_response: None,
                        engine,
                        detail: Detail::Full,
                    };
                    let c = classify(&ex, &ctx);
                    let blocked = c.verdicts.iter().filter(|v| v.class() == VerdictClass::Blocked).count();
                    prop_assert!(blocked <= 1);
                    // Without the findings' text, the same verdicts.
                    let bare = classify(&ex, &Context { detail: Detail::Counts, ..ctx });
                    let kinds = |c: &Classification| c.verdicts.iter().map(|v| (v.kind, v.failed_parameter.clone())).collect::<Vec<_>>();
                    prop_assert_eq!(kinds(&bare), kinds(&c));
                    let _ = classify(&partner, &ctx);
                }
            }
            let _ = request_facts(&ex);
        }
    }
}

#[test]
fn credentials_hint_makes_credential_verdicts_inferred() {
    let ctx = Context {
        credentials_hint: Some(Credentials::Include),
        ..Context::default()
    };
    let c = classify(
        &get()
            .status(200)
            .rh("Access-Control-Allow-Origin", "*")
            .ex(),
        &ctx,
    );
    assert_eq!(blocked(&c).kind, Kind::WildcardWithCredentials);
    assert!(matches!(blocked(&c).confidence, Confidence::Inferred(_)));
    let c = classify(&get().status(200).ex(), &ctx);
    assert_eq!(blocked(&c).kind, Kind::AcaoMissing);
    assert_eq!(blocked(&c).confidence, Confidence::Certain);
}

#[test]
fn extension_origins_are_inferred() {
    let ex = req("GET", API)
        .h("Origin", "chrome-extension://abcdefghijklmnop")
        .status(200)
        .ex();
    let v = blocked(&run(&ex)).clone();
    assert_eq!(v.kind, Kind::AcaoMissing);
    assert!(matches!(v.confidence, Confidence::Inferred(_)));
}

#[test]
fn failed_preflight_entry_with_passing_headers() {
    // ACAO = Origin without ACAC: only a credentialed actual request fails it.
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .fail("net::ERR_FAILED")
        .ex();
    let c = run(&pf);
    assert_eq!(blocked(&c).kind, Kind::PreflightCredentialsFail);
    assert!(matches!(blocked(&c).confidence, Confidence::Inferred(_)));
    let pf = pf_ok("PUT", "")
        .rh("Access-Control-Allow-Methods", "PUT")
        .rh("Access-Control-Allow-Credentials", "true")
        .fail("net::ERR_FAILED")
        .ex();
    assert_eq!(blocked(&run(&pf)).kind, Kind::BlockedReasonUnknown);
}

#[test]
fn provisional_headers_without_origin() {
    // DevTools/Playwright keep only provisional request headers for a blocked request.
    let ex = req("GET", API)
        .h("Referer", "https://app.example/page")
        .rt("fetch")
        .fail("net::ERR_FAILED")
        .ex();
    let c = run(&ex);
    assert_eq!(c.origin.as_deref(), Some(APP));
    assert_blocked(
        &c,
        Kind::BlockedReasonUnknown,
        None,
        "The browser blocked the fetch request to 'https://api.example/data' from origin 'https://app.example' (net::ERR_FAILED), and the recording does not show why.",
    );
    // An image is no-cors by nature: nothing is concluded.
    let ex = req("GET", API)
        .h("Referer", "https://app.example/page")
        .rt("image")
        .fail("net::ERR_FAILED")
        .ex();
    assert_eq!(run(&ex).scope, Scope::NotCors(NotCors::NoOrigin));
}

#[test]
fn idn_spelling_and_hint_encoding() {
    let ex = req("GET", API)
        .h("Origin", "https://xn--bcher-kva.example")
        .status(200)
        .rh("Access-Control-Allow-Origin", "https://bücher.example")
        .ex();
    let c = run(&ex);
    assert_blocked(
        &c,
        Kind::AcaoHostSpelling,
        Some(CorsError::AllowOriginMismatch),
        "Access to fetch at 'https://api.example/data' from origin 'https://xn--bcher-kva.example' has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header has a value 'https://b\\u00FCcher.example' that is not equal to the supplied origin. Have the server send the header with a valid value.",
    );
}
