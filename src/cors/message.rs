//! Console messages as Chromium prints them (Blink `cors_error_string.cc`, current code), and the
//! Firefox console line for the same failure.

use super::CorsError;
use std::fmt::Write as _;

/// The `{kind}` word of Chromium's console line, from the HAR `_resourceType`. Packet captures
/// carry no resource type: `fetch` is the common case.
pub(crate) fn resource_word(resource_type: Option<&str>) -> &'static str {
    match resource_type.map(str::to_ascii_lowercase).as_deref() {
        Some("xhr") => "XMLHttpRequest",
        Some("script") => "script",
        Some("image") => "image",
        Some("font") => "font",
        Some("stylesheet") => "CSS stylesheet",
        Some("media") => "video",
        Some("texttrack") => "text track",
        Some("manifest") => "manifest",
        _ => "fetch",
    }
}

/// What one console line needs besides the error.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// `fetch`, `XMLHttpRequest`, `image`…
    pub kind: &'static str,
    /// The failing URL, already redacted.
    pub url: String,
    /// The first URL of the redirect chain when it differs, already redacted.
    pub first_url: Option<String>,
    /// The page origin (`null` for opaque pages).
    pub origin: String,
}

impl Line {
    fn is_xhr(&self) -> bool {
        self.kind == "XMLHttpRequest"
    }

    /// `Access to {kind} at '{url}' [(redirected from '{first}') ]from origin '{origin}' has been
    /// blocked by CORS policy: [Response to preflight request doesn't pass access control
    /// check: ]{reason}`
    pub fn chromium(&self, err: CorsError, hint: &str) -> String {
        // Plain appends: one verdict in three prints this, and `write!` costs more.
        let mut s = String::with_capacity(200 + self.url.len());
        for part in ["Access to ", self.kind, " at '", &self.url, "' "] {
            s.push_str(part);
        }
        if let Some(first) = &self.first_url
            && first != &self.url
        {
            for part in ["(redirected from '", first, "') "] {
                s.push_str(part);
            }
        }
        for part in [
            "from origin '",
            &self.origin,
            "' has been blocked by CORS policy: ",
        ] {
            s.push_str(part);
        }
        if has_preflight_prefix(err) {
            s.push_str("Response to preflight request doesn't pass access control check: ");
        }
        write_reason(
            &mut s,
            err,
            &encode_hint(hint),
            self.kind == "fetch",
            self.is_xhr(),
        );
        s
    }
}

fn has_preflight_prefix(err: CorsError) -> bool {
    use CorsError::*;
    matches!(
        err,
        PreflightWildcardOriginNotAllowed
            | PreflightMissingAllowOriginHeader
            | PreflightMultipleAllowOriginValues
            | PreflightInvalidAllowOriginValue
            | PreflightAllowOriginMismatch
            | PreflightInvalidAllowCredentials
            | PreflightInvalidStatus
            | PreflightDisallowedRedirect
            | PreflightMissingAllowPrivateNetwork
            | PreflightInvalidAllowPrivateNetwork
    )
}

/// Chromium's `EncodeHint`: non-printable and non-ASCII characters as `\uXXXX`.
fn encode_hint(hint: &str) -> std::borrow::Cow<'_, str> {
    if hint.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return hint.into();
    }
    let mut out = String::with_capacity(hint.len() + 8);
    for c in hint.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                let _ = write!(out, "\\u{unit:04X}");
            }
        }
    }
    out.into()
}

/// Appends the reason text after `has been blocked by CORS policy: `. `hint` is the failed parameter
/// (for the address-space errors: the space words, `target|resource`).
fn write_reason(out: &mut String, err: CorsError, hint: &str, fetch: bool, xhr: bool) {
    use CorsError::*;
    const VALID_VALUE: &str = " Have the server send the header with a valid value.";
    const XHR_CREDS: &str = " The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute.";
    let valid = if fetch { VALID_VALUE } else { "" };
    let xhr_creds = if xhr { XHR_CREDS } else { "" };
    let _ = match err {
        DisallowedByMode => out.write_str("Cross origin requests are not allowed by request mode."),
        InvalidResponse => out.write_str("The response is invalid."),
        WildcardOriginNotAllowed | PreflightWildcardOriginNotAllowed => write!(out,
            "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.{xhr_creds}"
        ),
        MissingAllowOriginHeader | PreflightMissingAllowOriginHeader => {
            out.write_str("No 'Access-Control-Allow-Origin' header is present on the requested resource.")
        }
        MultipleAllowOriginValues | PreflightMultipleAllowOriginValues => write!(out,
            "The 'Access-Control-Allow-Origin' header contains multiple values '{hint}', but only one is allowed.{valid}"
        ),
        InvalidAllowOriginValue | PreflightInvalidAllowOriginValue => write!(out,
            "The 'Access-Control-Allow-Origin' header contains the invalid value '{hint}'.{valid}"
        ),
        AllowOriginMismatch | PreflightAllowOriginMismatch => write!(out,
            "The 'Access-Control-Allow-Origin' header has a value '{hint}' that is not equal to the supplied origin.{valid}"
        ),
        InvalidAllowCredentials | PreflightInvalidAllowCredentials => write!(out,
            "The value of the 'Access-Control-Allow-Credentials' header in the response is '{hint}' which must be 'true' when the request's credentials mode is 'include'.{xhr_creds}"
        ),
        CorsDisabledScheme => {
            write!(out, "Cross origin requests are only supported for protocol schemes: {hint}.")
        }
        PreflightInvalidStatus => out.write_str("It does not have HTTP ok status."),
        PreflightDisallowedRedirect => out.write_str("Redirect is not allowed for a preflight request."),
        PreflightMissingAllowPrivateNetwork => write!(out,
            "No 'Access-Control-Allow-Private-Network' header was present in the preflight response for this private network request targeting the `{hint}` address space."
        ),
        PreflightInvalidAllowPrivateNetwork => {
            let (value, space) = hint.split_once('|').unwrap_or((hint, "private"));
            write!(out,
                "The 'Access-Control-Allow-Private-Network' header in the preflight response for this private network request targeting the `{space}` address space had a value of '{value}',  not 'true'."
            )
        }
        InvalidAllowMethodsPreflightResponse => {
            out.write_str("Cannot parse Access-Control-Allow-Methods response header field in preflight response.")
        }
        InvalidAllowHeadersPreflightResponse => {
            out.write_str("Cannot parse Access-Control-Allow-Headers response header field in preflight response.")
        }
        MethodDisallowedByPreflightResponse => write!(out,
            "Method {hint} is not allowed by Access-Control-Allow-Methods in preflight response."
        ),
        HeaderDisallowedByPreflightResponse => write!(out,
            "Request header field {hint} is not allowed by Access-Control-Allow-Headers in preflight response."
        ),
        RedirectContainsCredentials => write!(out,
            "Redirect location '{hint}' contains a username and password, which is disallowed for cross-origin requests."
        ),
        InsecureLocalNetwork => write!(out,
            "The request client is not a secure context and the resource is in more-private address space `{hint}`."
        ),
        InvalidLocalNetworkAccess => {
            let (target, resource) = hint.split_once('|').unwrap_or(("unknown", hint));
            write!(out,
                "Request had a target IP address space of `{target}` yet the resource is in address space `{resource}`."
            )
        }
        LocalNetworkAccessPermissionDenied => {
            write!(out, "Permission was denied for this request to access the `{hint}` address space.")
        }
        PreflightMissingPrivateNetworkAccessId => write!(out,
            "No 'Private-Network-Access-Id' header was present in the preflight response for this private network request targeting the `{hint}` address space."
        ),
        PreflightMissingPrivateNetworkAccessName => write!(out,
            "No 'Private-Network-Access-Name' header was present in the preflight response for this private network request targeting the `{hint}` address space."
        ),
    };
}

/// The DevTools deprecation issue for `Authorization` covered only by `*` (taxonomy 2.4).
pub(crate) const AUTHORIZATION_WILDCARD_DEPRECATION: &str = "Authorization will not be covered by the wildcard symbol (*) in CORS `Access-Control-Allow-Headers` handling.";

/// The Firefox console line for a Firefox reason code (MDN name), with ASCII quotes as MDN and
/// most pasted logs print them. `status` is the HTTP status (or `(null)`), `param` the header
/// value or name the reason quotes.
pub fn firefox_line(code: &str, url: &str, status: Option<u16>, param: &str) -> Option<String> {
    let status = status.map_or_else(|| "(null)".to_owned(), |s| s.to_string());
    let reason = match code {
        "CORSDidNotSucceed" => {
            format!("(Reason: CORS request did not succeed). Status code: {status}.")
        }
        "CORSRequestNotHttp" => "(Reason: CORS request not http).".to_owned(),
        "CORSExternalRedirectNotAllowed" => {
            "(Reason: CORS request external redirect not allowed).".to_owned()
        }
        "CORSMissingAllowOrigin" => format!(
            "(Reason: CORS header 'Access-Control-Allow-Origin' missing). Status code: {status}."
        ),
        "CORSMultipleAllowOriginNotAllowed" => {
            "(Reason: Multiple CORS header 'Access-Control-Allow-Origin' not allowed).".to_owned()
        }
        "CORSAllowOriginNotMatchingOrigin" => {
            format!("(Reason: CORS header 'Access-Control-Allow-Origin' does not match '{param}').")
        }
        "CORSNotSupportingCredentials" => {
            return Some(format!(
                "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at '{url}'. (Reason: Credential is not supported if the CORS header 'Access-Control-Allow-Origin' is '*')."
            ));
        }
        "CORSMethodNotFound" => {
            "(Reason: Did not find method in CORS header 'Access-Control-Allow-Methods')."
                .to_owned()
        }
        "CORSMissingAllowCredentials" => {
            "(Reason: expected 'true' in CORS header 'Access-Control-Allow-Credentials')."
                .to_owned()
        }
        "CORSPreflightDidNotSucceed" => {
            format!("(Reason: CORS preflight response did not succeed). Status code: {status}.")
        }
        "CORSInvalidAllowMethod" => format!(
            "(Reason: invalid token '{param}' in CORS header 'Access-Control-Allow-Methods')."
        ),
        "CORSInvalidAllowHeader" => format!(
            "(Reason: invalid token '{param}' in CORS header 'Access-Control-Allow-Headers')."
        ),
        "CORSMissingAllowHeaderFromPreflight" => format!(
            "(Reason: header '{param}' is not allowed according to header 'Access-Control-Allow-Headers' from CORS preflight response)."
        ),
        _ => return None,
    };
    Some(format!(
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at {url}. {reason}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_encoding() {
        assert_eq!(encode_hint("https://a.example"), "https://a.example");
        assert_eq!(encode_hint("a\u{7}é"), "a\\u0007\\u00E9");
    }

    #[test]
    fn firefox_lines() {
        assert_eq!(
            firefox_line(
                "CORSMissingAllowOrigin",
                "https://api.example/x",
                Some(404),
                ""
            )
            .unwrap(),
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example/x. (Reason: CORS header 'Access-Control-Allow-Origin' missing). Status code: 404."
        );
        assert!(firefox_line("nope", "u", None, "").is_none());
    }
}
