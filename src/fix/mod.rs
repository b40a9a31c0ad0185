//! How to fix each kind, per server stack.
//!
//! [`fix`] maps every [`Kind`] to a [`Fix`]: a title, why the browser decides so, what to
//! change (stack-independent), client-side advice where the page is at fault, and per-stack
//! snippets. Kinds that share a remedy point at one shared snippet table (see
//! [`Fix::remedy`] and [`remedies`]), so each snippet is written once.
//!
//! Snippets are templates with explicit placeholders (`{{origin}}`, `{{path}}`, ...; see
//! [`template`]): [`Fix::stacks`] holds them rendered with the example values, and
//! [`Fix::render`] substitutes real ones (the origin, route and headers a report observed, or
//! the lab's own in `tests/lab/`).
//!
//! Each snippet is a complete fragment for one place in the stack's configuration, so that it
//! can be applied as it is (the lab under `tests/lab/` does so, mechanically, for the stacks
//! that run on CI machines); the conventions per stack are at the top of `remedy.rs`.

mod catalogue;
mod hops;
mod remedy;
#[cfg(test)]
mod review;
pub mod template;

use crate::cors::Kind;
pub use template::{TemplateError, Values};

/// A server stack the fixes cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stack {
    /// Node.js Express with the `cors` package.
    Express,
    /// nginx as the server or reverse proxy.
    Nginx,
    /// FastAPI / Starlette's `CORSMiddleware`.
    FastApi,
    /// Flask with `flask-cors`.
    Flask,
    /// Django with `django-cors-headers`.
    Django,
    /// Spring Framework / Spring Security.
    Spring,
    /// ASP.NET Core CORS middleware.
    AspNetCore,
    /// Apache httpd with `mod_headers`.
    Apache,
}

impl Stack {
    /// Every stack, in the order reports list them.
    pub const ALL: [Stack; 8] = [
        Stack::Express,
        Stack::Nginx,
        Stack::FastApi,
        Stack::Flask,
        Stack::Django,
        Stack::Spring,
        Stack::AspNetCore,
        Stack::Apache,
    ];

    /// How reports name the stack.
    pub fn name(self) -> &'static str {
        match self {
            Stack::Express => "Express",
            Stack::Nginx => "nginx",
            Stack::FastApi => "FastAPI",
            Stack::Flask => "Flask",
            Stack::Django => "Django",
            Stack::Spring => "Spring",
            Stack::AspNetCore => "ASP.NET Core",
            Stack::Apache => "Apache",
        }
    }
}

/// What to do about one kind.
#[derive(Debug)]
pub struct Fix {
    /// One-line title of the kind, for report headings.
    pub title: &'static str,
    /// Why the browser decides this way, in a few sentences.
    pub why: &'static str,
    /// What to change, independent of the stack.
    pub summary: &'static str,
    /// Per-stack snippets; empty for kinds that no server setting fixes.
    pub stacks: &'static [(Stack, &'static str)],
    /// What to change in the page's code, where the client is (also) at fault.
    pub client: Option<&'static str>,
}

impl Fix {
    /// The snippet for one stack, if this kind has server snippets.
    pub fn snippet(&self, stack: Stack) -> Option<&'static str> {
        self.stacks
            .iter()
            .find(|(s, _)| *s == stack)
            .map(|(_, text)| *text)
    }

    /// The id of the shared remedy whose snippets this kind uses (e.g. `allow_origin`), so
    /// that reports can group kinds with the same fix; `None` for client-side kinds.
    pub fn remedy(&self) -> Option<&'static str> {
        self.table().map(|(id, _)| id)
    }

    fn table(&self) -> Option<(&'static str, &'static remedy::Snippets)> {
        remedy::ALL
            .iter()
            .find(|(_, table)| std::ptr::eq(table.rendered.as_ptr(), self.stacks.as_ptr()))
            .map(|(id, table)| (*id, *table))
    }

    /// The snippet for one stack as a template, placeholders unrendered.
    pub fn template(&self, stack: Stack) -> Option<&'static str> {
        let (_, table) = self.table()?;
        table
            .templates
            .iter()
            .find(|(s, _)| *s == stack)
            .map(|(_, text)| *text)
    }

    /// The snippet for one stack rendered with `values` (see [`template`]); `None` when this
    /// kind has no snippet for it.
    pub fn render(&self, stack: Stack, values: &Values) -> Option<Result<String, TemplateError>> {
        self.template(stack).map(|t| template::render(t, values))
    }
}

/// The shared remedies: (id, snippets rendered with the example values, in [`Stack::ALL`]
/// order).
pub fn remedies() -> impl Iterator<Item = (&'static str, &'static [(Stack, &'static str)])> {
    remedy::ALL
        .iter()
        .map(|(id, table)| (*id, &table.rendered[..] as &'static [(Stack, &'static str)]))
}

/// The shared remedies as templates: (id, snippets with placeholders, in [`Stack::ALL`] order).
pub fn remedy_templates() -> impl Iterator<Item = (&'static str, &'static [(Stack, &'static str)])>
{
    remedy::ALL.iter().map(|(id, table)| {
        (
            *id,
            &table.templates[..] as &'static [(Stack, &'static str)],
        )
    })
}

/// What to do about `kind`.
pub fn fix(kind: Kind) -> &'static Fix {
    use catalogue as c;
    match kind {
        Kind::AcaoMissing => &c::ACAO_MISSING,
        Kind::AcaoMissingErrorPath => &c::ACAO_MISSING_ERROR_PATH,
        Kind::AcaoMissingOnRedirect => &c::ACAO_MISSING_ON_REDIRECT,
        Kind::AcaoMismatch => &c::ACAO_MISMATCH,
        Kind::AcaoTrailingSlash => &c::ACAO_TRAILING_SLASH,
        Kind::AcaoSchemeMismatch => &c::ACAO_SCHEME_MISMATCH,
        Kind::AcaoPortMismatch => &c::ACAO_PORT_MISMATCH,
        Kind::AcaoHostSpelling => &c::ACAO_HOST_SPELLING,
        Kind::AcaoNullMismatch => &c::ACAO_NULL_MISMATCH,
        Kind::AcaoMultipleValues => &c::ACAO_MULTIPLE_VALUES,
        Kind::AcaoInvalidValue => &c::ACAO_INVALID_VALUE,
        Kind::AcaoStaleCache => &c::ACAO_STALE_CACHE,
        Kind::WildcardWithCredentials => &c::WILDCARD_WITH_CREDENTIALS,
        Kind::AcacInvalid => &c::ACAC_INVALID,
        Kind::CredentialsNotSent => &c::CREDENTIALS_NOT_SENT,
        Kind::PreflightStatusNotOk => &c::PREFLIGHT_STATUS_NOT_OK,
        Kind::PreflightAcaoMissing => &c::PREFLIGHT_ACAO_MISSING,
        Kind::PreflightAcaoMismatch => &c::PREFLIGHT_ACAO_MISMATCH,
        Kind::PreflightCredentialsFail => &c::PREFLIGHT_CREDENTIALS_FAIL,
        Kind::PreflightAuthRejected => &c::PREFLIGHT_AUTH_REJECTED,
        Kind::PreflightRedirect => &c::PREFLIGHT_REDIRECT,
        Kind::PreflightNoResponse => &c::PREFLIGHT_NO_RESPONSE,
        Kind::AcamUnparseable => &c::ACAM_UNPARSEABLE,
        Kind::AcahUnparseable => &c::ACAH_UNPARSEABLE,
        Kind::MethodNotAllowed => &c::METHOD_NOT_ALLOWED,
        Kind::MethodCaseMismatch => &c::METHOD_CASE_MISMATCH,
        Kind::MethodWildcardWithCredentials => &c::METHOD_WILDCARD_WITH_CREDENTIALS,
        Kind::HeaderNotAllowed => &c::HEADER_NOT_ALLOWED,
        Kind::HeaderWildcardWithCredentials => &c::HEADER_WILDCARD_WITH_CREDENTIALS,
        Kind::AuthorizationUnderWildcard => &c::AUTHORIZATION_UNDER_WILDCARD,
        Kind::SafelistOverflowPreflight => &c::SAFELIST_OVERFLOW_PREFLIGHT,
        Kind::RedirectTaintedOrigin => &c::REDIRECT_TAINTED_ORIGIN,
        Kind::RedirectUserinfo => &c::REDIRECT_USERINFO,
        Kind::RedirectRefused => &c::REDIRECT_REFUSED,
        Kind::RedirectNewPreflight => &c::REDIRECT_NEW_PREFLIGHT,
        Kind::DisallowedByMode => &c::DISALLOWED_BY_MODE,
        Kind::CorsDisabledScheme => &c::CORS_DISABLED_SCHEME,
        Kind::ExposeHeaderHidden => &c::EXPOSE_HEADER_HIDDEN,
        Kind::OpaqueNoCors => &c::OPAQUE_NO_CORS,
        Kind::NoCorsHeadersDropped => &c::NO_CORS_HEADERS_DROPPED,
        Kind::LnaPermissionDenied => &c::LNA_PERMISSION_DENIED,
        Kind::LnaInsecureContext => &c::LNA_INSECURE_CONTEXT,
        Kind::LnaTargetSpaceMismatch => &c::LNA_TARGET_SPACE_MISMATCH,
        Kind::LnaGranted => &c::LNA_GRANTED,
        Kind::PnaPreflightMissingAcapn => &c::PNA_PREFLIGHT_MISSING_ACAPN,
        Kind::PnaPermissionHeadersMissing => &c::PNA_PERMISSION_HEADERS_MISSING,
        Kind::MaxAgeAboveCap => &c::MAX_AGE_ABOVE_CAP,
        Kind::SecOriginReflectedWithCredentials => &c::SEC_ORIGIN_REFLECTED_WITH_CREDENTIALS,
        Kind::SecOriginReflectedNoCredentials => &c::SEC_ORIGIN_REFLECTED_NO_CREDENTIALS,
        Kind::SecNullOriginTrusted => &c::SEC_NULL_ORIGIN_TRUSTED,
        Kind::SecPrefixSuffixRegexMatch => &c::SEC_PREFIX_SUFFIX_REGEX_MATCH,
        Kind::SecAnySubdomainTrusted => &c::SEC_ANY_SUBDOMAIN_TRUSTED,
        Kind::SecHttpOriginTrustedByHttps => &c::SEC_HTTP_ORIGIN_TRUSTED_BY_HTTPS,
        Kind::SecThirdPartyOriginTrusted => &c::SEC_THIRD_PARTY_ORIGIN_TRUSTED,
        Kind::SecWildcardInternalOrSensitive => &c::SEC_WILDCARD_INTERNAL_OR_SENSITIVE,
        Kind::SecWildcardPlusCredentialsConfig => &c::SEC_WILDCARD_PLUS_CREDENTIALS_CONFIG,
        Kind::SecMissingVaryOrigin => &c::SEC_MISSING_VARY_ORIGIN,
        Kind::SecPnaOptInReflected => &c::SEC_PNA_OPT_IN_REFLECTED,
        Kind::BlockedReasonUnknown => &c::BLOCKED_UNKNOWN,
        Kind::PreflightFollowedDespiteFailure => &c::PREFLIGHT_FOLLOWED_DESPITE_FAILURE,
        Kind::ProxyChangedCorsHeaders => &hops::PROXY_CHANGED_CORS_HEADERS,
        Kind::InnerHopOnly => &hops::INNER_HOP_ONLY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::VerdictClass;
    use std::collections::BTreeMap;

    /// Kinds that no server setting fixes: the page, the user or the capture must change.
    /// Everything else must have snippets for all eight stacks.
    const NO_SERVER_FIX: &[&str] = &[
        "opaque_no_cors",
        "no_cors_headers_dropped",
        "disallowed_by_mode",
        "cors_disabled_scheme",
        "lna_permission_denied",
        "lna_insecure_context",
        "lna_target_space_mismatch",
        // Chrome's 2024 PNA permission experiment, superseded by LNA's prompt (Chrome 142+);
        // the two legacy headers are given in the summary.
        "pna_permission_headers_missing",
        "safelist_overflow_preflight",
        "redirect_new_preflight",
        // A redirect loop or a data: target: no CORS header fixes it (the summary says what does).
        "redirect_refused",
        "cors_blocked_unknown",
        "preflight_followed_despite_failure",
        // Notes of the hop stage: which layer answered.
        "proxy_changed_cors_headers",
        "inner_hop_only",
    ];

    fn server_fixable(kind: Kind) -> bool {
        !NO_SERVER_FIX.contains(&kind.id())
    }

    #[test]
    fn every_kind_has_title_why_and_summary() {
        for &kind in Kind::ALL {
            let f = fix(kind);
            assert!(!f.title.trim().is_empty(), "{kind}: empty title");
            assert!(!f.why.trim().is_empty(), "{kind}: empty why");
            assert!(!f.summary.trim().is_empty(), "{kind}: empty summary");
            assert!(
                f.client.is_none_or(|c| !c.trim().is_empty()),
                "{kind}: empty client"
            );
            assert!(f.title.len() <= 80, "{kind}: title too long for a heading");
            let sentences = f.why.matches(". ").count() + 1;
            assert!(
                (2..=5).contains(&sentences),
                "{kind}: why has {sentences} sentences"
            );
        }
    }

    #[test]
    fn every_kind_has_its_own_entry() {
        let mut titles = BTreeMap::new();
        for &kind in Kind::ALL {
            let f = fix(kind);
            if kind.id() != "cors_blocked_unknown" {
                assert!(
                    !std::ptr::eq(f, &catalogue::BLOCKED_UNKNOWN),
                    "{kind} falls through to the fallback entry"
                );
            }
            if let Some(other) = titles.insert(f.title, kind) {
                panic!("{kind} and {other} share the title {:?}", f.title);
            }
        }
    }

    #[test]
    fn unknown_and_followed_kinds_get_their_entries() {
        let unknown = fix(Kind::BlockedReasonUnknown);
        assert!(std::ptr::eq(unknown, &catalogue::BLOCKED_UNKNOWN));
        assert!(unknown.title.contains("reason not in the recording"));
        assert!(unknown.summary.contains("HAR") && unknown.summary.contains("corswatch"));
        let followed = fix(Kind::PreflightFollowedDespiteFailure);
        assert!(!std::ptr::eq(followed, unknown));
        for f in [unknown, followed] {
            assert!(!f.why.is_empty() && !f.summary.is_empty() && f.client.is_some());
            assert!(f.stacks.is_empty());
        }
    }

    #[test]
    fn server_fixable_kinds_have_all_stacks_and_others_client_advice() {
        for &kind in Kind::ALL {
            let f = fix(kind);
            if server_fixable(kind) {
                let stacks: Vec<Stack> = f.stacks.iter().map(|(s, _)| *s).collect();
                assert_eq!(stacks, Stack::ALL, "{kind}: needs all 8 stacks, in order");
                assert!(
                    f.remedy().is_some(),
                    "{kind}: snippets must come from a remedy table"
                );
            } else {
                assert!(f.stacks.is_empty(), "{kind}: listed as not server-fixable");
                assert!(f.client.is_some(), "{kind}: needs client-side advice");
            }
        }
    }

    #[test]
    fn blocked_kinds_a_server_fixes_have_all_stacks() {
        let blocked: Vec<Kind> = Kind::ALL
            .iter()
            .copied()
            .filter(|k| k.class() == VerdictClass::Blocked && server_fixable(*k))
            .collect();
        assert!(blocked.len() >= 30, "only {} blocked kinds", blocked.len());
        for kind in blocked {
            for stack in Stack::ALL {
                let snippet = fix(kind).snippet(stack);
                assert!(
                    snippet.is_some_and(|s| !s.is_empty()),
                    "{kind}: no {}",
                    stack.name()
                );
            }
        }
    }

    #[test]
    fn no_snippet_appears_twice() {
        let mut seen: BTreeMap<&str, (&str, Stack)> = BTreeMap::new();
        for (id, table) in remedies() {
            for &(stack, text) in table {
                let key = text.trim();
                if let Some((other, other_stack)) = seen.insert(key, (id, stack)) {
                    panic!("{id}/{stack:?} repeats {other}/{other_stack:?}");
                }
            }
        }
        let ids: Vec<&str> = remedies().map(|(id, _)| id).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(ids.len(), unique.len(), "remedy ids must be unique");
    }

    #[test]
    fn snippets_are_short_and_complete() {
        for (id, table) in remedies() {
            let stacks: Vec<Stack> = table.iter().map(|(s, _)| *s).collect();
            assert_eq!(stacks, Stack::ALL, "{id}: stacks out of order");
            for &(stack, text) in table {
                // Complete fragments (imports, the route wiring, the preflight answer)
                // take more lines than a hint would; Spring's beans the most.
                let max = if stack == Stack::Spring { 20 } else { 16 };
                let lines = text.lines().count();
                assert!((3..=max).contains(&lines), "{id}/{stack:?}: {lines} lines");
                assert_eq!(text, text.trim(), "{id}/{stack:?}: stray whitespace");
                assert!(!text.contains('\t'), "{id}/{stack:?}: tab");
            }
        }
    }

    #[test]
    fn every_remedy_is_used() {
        for (id, _) in remedies() {
            assert!(
                Kind::ALL.iter().any(|&k| fix(k).remedy() == Some(id)),
                "remedy {id} is not used by any kind"
            );
        }
    }

    #[test]
    fn snippets_allow_the_example_origin_only() {
        // Origin-related remedies must show the documented example origin, and no snippet
        // may allow a wildcard origin or `null`.
        for (id, table) in remedies() {
            for &(stack, text) in table {
                assert!(
                    !text.contains("Allow-Origin \"*\"") && !text.contains("Allow-Origin *"),
                    "{id}/{stack:?}: wildcard origin"
                );
            }
        }
        for id in [
            "allow_origin",
            "allow_credentials",
            "tighten_allowlist",
            "answer_preflight",
        ] {
            let (_, table) = remedies()
                .find(|(r, _)| *r == id)
                .unwrap_or_else(|| panic!("{id}"));
            for &(stack, text) in table {
                // Regex spellings (`app\.example\.com`, `(app|admin)\.example\.com`) count.
                let plain = text.replace('\\', "").replace("(app|admin)", "app");
                assert!(
                    plain.contains("app.example.com"),
                    "{id}/{stack:?}: example origin"
                );
                assert!(
                    !text.contains("app.example.com/\""),
                    "{id}/{stack:?}: trailing slash"
                );
            }
        }
    }

    #[test]
    fn templates_render_to_the_stored_snippets() {
        // The compile-time rendering (what reports print) equals the run-time one.
        let templates: Vec<_> = remedy_templates().collect();
        for ((id, rendered), (tid, tpl)) in remedies().zip(templates) {
            assert_eq!(id, tid);
            for (&(stack, text), &(tstack, ttext)) in rendered.iter().zip(tpl) {
                assert_eq!(stack, tstack);
                let r = template::render(ttext, &Values::new())
                    .unwrap_or_else(|e| panic!("{id}/{stack:?}: {e}"));
                assert_eq!(r, text, "{id}/{stack:?}");
                assert!(!text.contains("{{"), "{id}/{stack:?}: placeholder left");
            }
        }
    }

    #[test]
    fn snippets_take_the_observed_values() {
        // What a report (or the lab) substitutes reaches every snippet that names it, and
        // no example value is left where a placeholder belongs.
        let values = Values::parse_assignments(&[
            "origin=http://localhost:47200",
            "origin2=http://localhost:47299",
            "path=/s/lab/",
            "methods=GET, DELETE",
            "headers=X-Lab",
            "expose=X-Lab-Out",
            "upstream=http://127.0.0.1:47207",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        for (id, table) in remedy_templates() {
            for &(stack, tpl) in table {
                let out = template::render(tpl, &values).unwrap_or_else(|e| panic!("{e}"));
                let used = template::placeholders_in(tpl);
                if used.iter().any(|p| p.starts_with("origin")) {
                    assert!(out.contains("localhost"), "{id}/{stack:?}");
                }
                if matches!(stack, Stack::Nginx | Stack::Apache)
                    && id != "proxy_same_origin"
                    && (out.contains("proxy_pass") || out.contains("ProxyPass \""))
                {
                    assert!(out.contains("127.0.0.1:47207"), "{id}/{stack:?}: upstream");
                }
                for example in ["https://app.example.com", "http://127.0.0.1:8080"] {
                    assert!(
                        !out.contains(example),
                        "{id}/{stack:?}: literal {example} instead of a placeholder"
                    );
                }
            }
        }
        // Every remedy that names an origin lets the report substitute it.
        for (id, table) in remedy_templates() {
            if id == "proxy_same_origin" {
                continue;
            }
            for &(stack, tpl) in table {
                for host in ["app", "admin"] {
                    for q in ['"', '\'', ')'] {
                        let literal = format!("://{host}.example.com{q}");
                        assert!(
                            !tpl.contains(&literal),
                            "{id}/{stack:?}: example origin not a placeholder"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn explain_snippet_renders_for_every_stack() {
        let values = Values::parse_assignments(&["origin=http://localhost:1", "path=/p/"])
            .unwrap_or_else(|e| panic!("{e}"));
        for &kind in Kind::ALL {
            let f = fix(kind);
            for stack in Stack::ALL {
                match f.render(stack, &values) {
                    Some(r) => {
                        let r = r.unwrap_or_else(|e| panic!("{kind}/{stack:?}: {e}"));
                        assert_eq!(Some(r.is_empty()), Some(false));
                    }
                    None => assert!(f.stacks.is_empty(), "{kind}/{stack:?}"),
                }
            }
        }
    }

    #[test]
    fn security_findings_get_tightening_advice() {
        for &kind in Kind::ALL {
            if kind.class() != VerdictClass::Finding {
                continue;
            }
            let remedy = fix(kind).remedy();
            assert!(
                matches!(
                    remedy,
                    Some(
                        "tighten_allowlist"
                            | "vary_origin"
                            | "allow_credentials"
                            | "private_network_opt_in"
                    )
                ),
                "{kind}: {remedy:?}"
            );
        }
    }

    /// The 13 rows of the troubleshooting guide's Quick Reference, and the kinds that report
    /// each of them.
    const QUICK_REFERENCE: [(&str, &[&str]); 13] = [
        (
            "No 'Access-Control-Allow-Origin' header",
            &[
                "acao_missing",
                "acao_missing_error_path",
                "preflight_acao_missing",
            ],
        ),
        (
            "Origin not allowed",
            &[
                "acao_mismatch",
                "acao_host_spelling",
                "acao_null_mismatch",
                "acao_invalid_value",
                "acao_multiple_values",
                "preflight_acao_mismatch",
            ],
        ),
        (
            "Preflight (OPTIONS) fails",
            &[
                "preflight_status_not_ok",
                "preflight_acao_missing",
                "preflight_auth_rejected",
                "preflight_no_response",
            ],
        ),
        (
            "Wildcard + credentials",
            &[
                "wildcard_with_credentials",
                "preflight_credentials_fail",
                "method_wildcard_with_credentials",
                "header_wildcard_with_credentials",
            ],
        ),
        (
            "Custom header blocked",
            &["header_not_allowed", "acah_unparseable"],
        ),
        (
            "Method blocked",
            &[
                "method_not_allowed",
                "method_case_mismatch",
                "acam_unparseable",
            ],
        ),
        (
            "Cookie not sent cross-origin",
            &["credentials_not_sent", "acac_invalid"],
        ),
        ("Trailing slash mismatch", &["acao_trailing_slash"]),
        ("HTTP vs HTTPS mismatch", &["acao_scheme_mismatch"]),
        ("Port mismatch", &["acao_port_mismatch"]),
        (
            "Redirect changes origin",
            &[
                "acao_missing_on_redirect",
                "redirect_tainted_origin",
                "preflight_redirect",
                "redirect_userinfo",
            ],
        ),
        (
            "Private Network Access blocked",
            &[
                "lna_permission_denied",
                "lna_insecure_context",
                "lna_target_space_mismatch",
                "pna_preflight_missing_acapn",
            ],
        ),
        (
            "Authorization header not allowed under *",
            &["authorization_under_wildcard"],
        ),
    ];

    #[test]
    fn quick_reference_rows_are_covered() {
        for (row, ids) in QUICK_REFERENCE {
            assert!(!ids.is_empty(), "{row}: no kinds");
            let mut has_server_fix = false;
            for id in ids {
                let kind = Kind::from_id(id).unwrap_or_else(|| panic!("{row}: unknown kind {id}"));
                let f = fix(kind);
                assert!(!f.summary.is_empty(), "{row}: {id} has no summary");
                if server_fixable(kind) {
                    assert_eq!(
                        f.stacks.len(),
                        Stack::ALL.len(),
                        "{row}: {id} lacks snippets"
                    );
                    has_server_fix = true;
                } else {
                    assert!(f.client.is_some(), "{row}: {id} lacks client advice");
                }
            }
            assert!(has_server_fix, "{row}: no kind with a server fix");
        }
        // The guide's PNA advice is superseded: the summaries must say so.
        let pna = fix(Kind::PnaPreflightMissingAcapn);
        assert!(pna.why.contains("Chrome 142") && pna.why.contains("paused"));
        assert_eq!(
            Kind::AuthorizationUnderWildcard.class(),
            VerdictClass::Warning
        );
        assert!(
            fix(Kind::AuthorizationUnderWildcard)
                .why
                .contains("deprecation")
        );
    }
}
