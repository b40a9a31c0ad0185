//! The closed set of kinds (the `id` column of the taxonomy's final table, plus a few
//! extensions), and Chromium's `CorsError` names. Kinds are versioned: renaming one is a
//! breaking change for reports, metrics and alert rules.

use serde::{Serialize, Serializer};

/// How users act on a verdict. Kept apart everywhere (report, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictClass {
    /// The browser refuses the response: the app is broken.
    Blocked,
    /// Works today, but will break or misbehaves.
    Warning,
    /// Works, and is a security risk.
    Finding,
    /// Explains something (a lookalike, an unexpected preflight); not a failure.
    Note,
}

impl VerdictClass {
    /// The class as reports and metrics spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictClass::Blocked => "blocked",
            VerdictClass::Warning => "warning",
            VerdictClass::Finding => "finding",
            VerdictClass::Note => "note",
        }
    }
}

macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $class:ident; )*) => {
        /// A stable kind id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind { $( #[doc = concat!("`", $id, "` (", stringify!($class), ").")] $(#[$doc])* $variant, )* }

        impl Kind {
            /// Every kind, in the taxonomy's order.
            pub const ALL: &'static [Kind] = &[ $( Kind::$variant, )* ];

            /// The stable snake_case id.
            pub fn id(self) -> &'static str {
                match self { $( Kind::$variant => $id, )* }
            }

            /// How users act on it.
            pub fn class(self) -> VerdictClass {
                match self { $( Kind::$variant => VerdictClass::$class, )* }
            }

            /// The kind with this stable id.
            pub fn from_id(id: &str) -> Option<Kind> {
                match id { $( $id => Some(Kind::$variant), )* _ => None }
            }
        }
    };
}

kinds! {
    /// No `Access-Control-Allow-Origin` on a successful response.
    AcaoMissing = "acao_missing", Blocked;
    /// No ACAO on an error response (4xx/5xx): the real status is hidden behind "CORS error".
    AcaoMissingErrorPath = "acao_missing_error_path", Blocked;
    /// No ACAO on a 3xx of a CORS request.
    AcaoMissingOnRedirect = "acao_missing_on_redirect", Blocked;
    AcaoMismatch = "acao_mismatch", Blocked;
    AcaoTrailingSlash = "acao_trailing_slash", Blocked;
    AcaoSchemeMismatch = "acao_scheme_mismatch", Blocked;
    AcaoPortMismatch = "acao_port_mismatch", Blocked;
    AcaoHostSpelling = "acao_host_spelling", Blocked;
    AcaoNullMismatch = "acao_null_mismatch", Blocked;
    AcaoMultipleValues = "acao_multiple_values", Blocked;
    AcaoInvalidValue = "acao_invalid_value", Blocked;
    /// A cached response without `Vary: Origin` served to the wrong origin.
    AcaoStaleCache = "acao_stale_cache", Blocked;
    WildcardWithCredentials = "wildcard_with_credentials", Blocked;
    AcacInvalid = "acac_invalid", Blocked;
    /// Lookalike: the request went without cookies and the server answered 401/403.
    CredentialsNotSent = "credentials_not_sent", Note;
    PreflightStatusNotOk = "preflight_status_not_ok", Blocked;
    PreflightAcaoMissing = "preflight_acao_missing", Blocked;
    PreflightAcaoMismatch = "preflight_acao_mismatch", Blocked;
    PreflightCredentialsFail = "preflight_credentials_fail", Blocked;
    /// Preflight answered 401/403 by auth middleware that runs before CORS.
    PreflightAuthRejected = "preflight_auth_rejected", Blocked;
    PreflightRedirect = "preflight_redirect", Blocked;
    PreflightNoResponse = "preflight_no_response", Blocked;
    AcamUnparseable = "acam_unparseable", Blocked;
    AcahUnparseable = "acah_unparseable", Blocked;
    MethodNotAllowed = "method_not_allowed", Blocked;
    MethodCaseMismatch = "method_case_mismatch", Blocked;
    MethodWildcardWithCredentials = "method_wildcard_with_credentials", Blocked;
    HeaderNotAllowed = "header_not_allowed", Blocked;
    HeaderWildcardWithCredentials = "header_wildcard_with_credentials", Blocked;
    /// `Authorization` covered only by `Access-Control-Allow-Headers: *`: allowed today with a
    /// deprecation warning.
    AuthorizationUnderWildcard = "authorization_under_wildcard", Warning;
    /// Explains a preflight for a request that looks simple (safelisted header over its limits).
    SafelistOverflowPreflight = "safelist_overflow_preflight", Note;
    RedirectTaintedOrigin = "redirect_tainted_origin", Blocked;
    RedirectUserinfo = "redirect_userinfo", Blocked;
    /// Firefox did not follow a redirect (past its limit of 20, or to a `data:` URL) and failed
    /// the request: `CORSDidNotSucceed` (Chromium: a `net::` error, no CORS error).
    RedirectRefused = "redirect_refused", Blocked;
    /// After a cross-origin redirect, a new preflight went to the new URL.
    RedirectNewPreflight = "redirect_new_preflight", Note;
    DisallowedByMode = "disallowed_by_mode", Blocked;
    CorsDisabledScheme = "cors_disabled_scheme", Blocked;
    /// A response header the page reads is not exposed by `Access-Control-Expose-Headers`.
    ExposeHeaderHidden = "expose_header_hidden", Warning;
    /// Lookalike: a `no-cors` request; the response is opaque, no error.
    OpaqueNoCors = "opaque_no_cors", Note;
    /// Lookalike: a `no-cors` request whose app headers were silently dropped.
    NoCorsHeadersDropped = "no_cors_headers_dropped", Note;
    LnaPermissionDenied = "lna_permission_denied", Blocked;
    LnaInsecureContext = "lna_insecure_context", Blocked;
    LnaTargetSpaceMismatch = "lna_target_space_mismatch", Blocked;
    /// A public page reached a local address after the user granted permission.
    LnaGranted = "lna_granted", Note;
    /// Private Network Access preflight (2022–2025) answered without the opt-in header.
    PnaPreflightMissingAcapn = "pna_preflight_missing_acapn", Warning;
    PnaPermissionHeadersMissing = "pna_permission_headers_missing", Blocked;
    /// `Access-Control-Max-Age` above what the browsers honour (Chromium 7200 s, Firefox 86400 s).
    MaxAgeAboveCap = "max_age_above_cap", Warning;
    SecOriginReflectedWithCredentials = "sec_origin_reflected_with_credentials", Finding;
    SecOriginReflectedNoCredentials = "sec_origin_reflected_no_credentials", Finding;
    SecNullOriginTrusted = "sec_null_origin_trusted", Finding;
    SecPrefixSuffixRegexMatch = "sec_prefix_suffix_regex_match", Finding;
    SecAnySubdomainTrusted = "sec_any_subdomain_trusted", Finding;
    SecHttpOriginTrustedByHttps = "sec_http_origin_trusted_by_https", Finding;
    SecThirdPartyOriginTrusted = "sec_third_party_origin_trusted", Finding;
    SecWildcardInternalOrSensitive = "sec_wildcard_internal_or_sensitive", Finding;
    SecWildcardPlusCredentialsConfig = "sec_wildcard_plus_credentials_config", Finding;
    SecMissingVaryOrigin = "sec_missing_vary_origin", Finding;
    SecPnaOptInReflected = "sec_pna_opt_in_reflected", Finding;
    /// The browser blocked the request (`net::ERR_FAILED`) but the recording keeps neither the
    /// response headers nor a failing preflight, so the reason cannot be told.
    BlockedReasonUnknown = "cors_blocked_unknown", Blocked;
    /// A preflight response fails a check, yet the actual request followed: the pairing is
    /// doubtful or the client was not a browser. Replaces the blocked verdict it contradicts.
    PreflightFollowedDespiteFailure = "preflight_followed_despite_failure", Note;
    /// Both hops of a request seen (browser→proxy, proxy→app): the proxy added, changed or
    /// dropped CORS headers of the app's answer. Set by the pipeline's hop stage, not the
    /// classifier.
    ProxyChangedCorsHeaders = "proxy_changed_cors_headers", Note;
    /// Only the proxy→app hop of a request is visible (its forwarding headers say so): judged
    /// as the browser's by default. Set by the pipeline's hop stage, not the classifier.
    InnerHopOnly = "inner_hop_only", Note;
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

macro_rules! cors_errors {
    ($( $variant:ident ),* $(,)?) => {
        /// Chromium's `network::mojom::CorsError`, spelled as the DevTools protocol's
        /// `Network.CorsError` (the mojom name without the `k`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CorsError { $( #[doc = concat!("Chromium `", stringify!($variant), "`.")] $variant, )* }

        impl CorsError {
            /// The DevTools protocol spelling.
            pub fn as_str(self) -> &'static str {
                match self { $( CorsError::$variant => stringify!($variant), )* }
            }

            /// The error with this DevTools protocol name.
            pub fn from_name(s: &str) -> Option<CorsError> {
                match s { $( stringify!($variant) => Some(CorsError::$variant), )* _ => None }
            }
        }
    };
}

cors_errors! {
    DisallowedByMode,
    InvalidResponse,
    WildcardOriginNotAllowed,
    MissingAllowOriginHeader,
    MultipleAllowOriginValues,
    InvalidAllowOriginValue,
    AllowOriginMismatch,
    InvalidAllowCredentials,
    CorsDisabledScheme,
    PreflightInvalidStatus,
    PreflightDisallowedRedirect,
    PreflightWildcardOriginNotAllowed,
    PreflightMissingAllowOriginHeader,
    PreflightMultipleAllowOriginValues,
    PreflightInvalidAllowOriginValue,
    PreflightAllowOriginMismatch,
    PreflightInvalidAllowCredentials,
    PreflightMissingAllowPrivateNetwork,
    PreflightInvalidAllowPrivateNetwork,
    InvalidAllowMethodsPreflightResponse,
    InvalidAllowHeadersPreflightResponse,
    MethodDisallowedByPreflightResponse,
    HeaderDisallowedByPreflightResponse,
    RedirectContainsCredentials,
    InsecureLocalNetwork,
    InvalidLocalNetworkAccess,
    LocalNetworkAccessPermissionDenied,
    PreflightMissingPrivateNetworkAccessId,
    PreflightMissingPrivateNetworkAccessName,
}

impl Serialize for CorsError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for k in Kind::ALL {
            assert!(seen.insert(k.id()), "duplicate id {}", k.id());
            assert_eq!(Kind::from_id(k.id()), Some(*k));
        }
    }
}
