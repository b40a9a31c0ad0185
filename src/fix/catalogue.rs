//! One entry per kind: title, why the browser decides so, what to change, and where the
//! server snippets live (a shared table in `remedy`). Facts follow the CORS taxonomy
//! (Fetch Standard, Chromium network service, Firefox `nsCORSListenerProxy`).

use super::Fix;
use super::remedy as r;

const NO_STACKS: &[(super::Stack, &str)] = &[];

// ---------------------------------------------------------------- missing / wrong ACAO

pub(super) static ACAO_MISSING: Fix = Fix {
    title: "No Access-Control-Allow-Origin header",
    why: "The response to a cross-origin CORS request carried no `Access-Control-Allow-Origin`, \
          so the browser hides it from the page. Chromium reports `MissingAllowOriginHeader` \
          (\"No 'Access-Control-Allow-Origin' header is present\"); Firefox reports \
          `CORSMissingAllowOrigin` and prints the HTTP status. The request did reach the server: \
          only the answer was withheld from script.",
    summary: "Send `Access-Control-Allow-Origin` with the exact requesting origin (scheme, host, \
              port, no trailing slash) on every response of the endpoint, including errors and \
              redirects, and add `Vary: Origin` when the value depends on the request. Use `*` \
              only for public data fetched without credentials.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: None,
};

pub(super) static ACAO_MISSING_ERROR_PATH: Fix = Fix {
    title: "No Access-Control-Allow-Origin on an error response",
    why: "The server answered with a 4xx/5xx that lacks `Access-Control-Allow-Origin`, while \
          its successful answers carry it: the error was produced by a layer that runs outside \
          the CORS handling (error handler, auth middleware, proxy or gateway). The browser \
          applies the CORS check to error responses too, so the page sees a CORS error instead \
          of the real status; Firefox at least prints the status in its console message.",
    summary: "Make the CORS headers part of every answer, errors included: register the CORS \
              middleware outermost (before auth, routing and error handling), use `always` in \
              nginx and Apache, and add the header at the proxy for 502/504 it generates. Then \
              fix the underlying error, whose real status the page can now read.",
    stacks: &r::CORS_ON_ERRORS.rendered,
    client: None,
};

pub(super) static ACAO_MISSING_ON_REDIRECT: Fix = Fix {
    title: "No Access-Control-Allow-Origin on a redirect",
    why: "The browser runs the CORS check on every 3xx of a cross-origin request before \
          following it, so a redirect without `Access-Control-Allow-Origin` ends the request: \
          Chromium names the redirecting URL, Firefox prints `Status code: 30x`. The target of \
          the redirect was never requested.",
    summary: "Either call the final URL directly (the usual fix: https, trailing slash and API \
              version as the server wants them), or put `Access-Control-Allow-Origin` (and \
              `Access-Control-Allow-Credentials: true` for credentialed requests) on the 3xx as \
              well, and on the redirect target.",
    stacks: &r::CORS_ON_REDIRECTS.rendered,
    client: Some(
        "Request the final URL (scheme, host, path and trailing slash exactly as the server \
         serves it) so that no redirect happens.",
    ),
};

pub(super) static ACAO_MISMATCH: Fix = Fix {
    title: "Access-Control-Allow-Origin names another origin",
    why: "`Access-Control-Allow-Origin` must be byte-equal to the request's `Origin` (or `*` \
          without credentials); this response names a different origin, so the browser refuses \
          it (Chromium `AllowOriginMismatch`, Firefox `CORSAllowOriginNotMatchingOrigin`). \
          Typical causes are a hard-coded value for another environment or an allowlist that \
          does not contain this origin.",
    summary: "Add the requesting origin to the server's allowlist and answer with that exact \
              origin (the one in the request's `Origin` header), not a fixed value for another \
              site; add `Vary: Origin` when several origins are allowed.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: None,
};

pub(super) static ACAO_TRAILING_SLASH: Fix = Fix {
    title: "Access-Control-Allow-Origin has a trailing slash or path",
    why: "A serialized origin is scheme, host and port only: `https://app.example.com`, never \
          `https://app.example.com/`. The browser compares byte for byte, so the trailing \
          slash (or any path) makes the value differ from `Origin` and the response is refused \
          as a mismatch in both Chromium and Firefox.",
    summary: "Configure allowed origins without a trailing slash or path (`https://app.example.com`) \
              and echo the request's `Origin` value unchanged; do not build the value from a URL \
              setting such as `FRONTEND_URL=https://app.example.com/`.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: None,
};

pub(super) static ACAO_SCHEME_MISMATCH: Fix = Fix {
    title: "Access-Control-Allow-Origin has the wrong scheme",
    why: "The scheme is part of the origin: `http://app.example.com` and \
          `https://app.example.com` are different origins. The allowed value differs from \
          `Origin` only in `http` vs `https`, so both Chromium and Firefox reject it as a \
          mismatch.",
    summary: "Allow the origin with the scheme the page really uses (normally `https://`); if the \
              site is served over both during a migration, list both explicitly and move the \
              page to https. Do not allow `http://` origins for an https API in production.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: Some("Serve the page over https and make sure it does not load over http by accident."),
};

pub(super) static ACAO_PORT_MISMATCH: Fix = Fix {
    title: "Access-Control-Allow-Origin has the wrong port",
    why: "The port is part of the origin: `http://localhost:5173` and `http://localhost:3000` \
          differ, and a default port is never written (`https://app.example.com:443` does not \
          equal `https://app.example.com`). The allowed value differs from `Origin` only in the \
          port, so the browser rejects it as a mismatch.",
    summary: "Allow the origin with the port the page is served from, and without an explicit \
              default port (`:443`, `:80`); for local development list each dev-server port \
              explicitly rather than allowing every origin.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: None,
};

pub(super) static ACAO_HOST_SPELLING: Fix = Fix {
    title: "Access-Control-Allow-Origin spells the host differently",
    why: "The browser compares the origin byte for byte, so host spellings that reach the same \
          server still differ: `localhost` vs `127.0.0.1`, `www.` vs the bare domain, upper vs \
          lower case, or Unicode vs punycode. The value differs from `Origin` only in the host \
          spelling and is rejected as a mismatch.",
    summary: "Allow the host exactly as the browser sends it in `Origin` (lower case, punycode \
              for internationalised names, with or without `www.` as the page is really \
              served); list both spellings if the page is reachable under both, or redirect the \
              page to one canonical host.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: None,
};

pub(super) static ACAO_NULL_MISMATCH: Fix = Fix {
    title: "Access-Control-Allow-Origin is null, or the request's Origin is null",
    why: "Either the server answered the literal `null` to a page with a real origin (often a \
          failed allowlist lookup printed as a string), or the request went out with \
          `Origin: null` (sandboxed iframe, `file:` page, or a redirect across origins) and the \
          server named a real origin. Either way the value is not equal to `Origin` and the \
          browser refuses it.",
    summary: "Answer with the request's exact origin when it is allowed and send no \
              `Access-Control-Allow-Origin` at all otherwise — never the string `null`. If \
              requests arrive with `Origin: null` after a redirect, remove the cross-origin \
              redirect instead of allowing `null`, which any sandboxed page can send.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: Some(
        "If the page runs in a sandboxed iframe or from `file:`, serve it from a real https \
         origin; if a redirect changes origin, call the final URL directly.",
    ),
};

pub(super) static ACAO_MULTIPLE_VALUES: Fix = Fix {
    title: "Access-Control-Allow-Origin has several values",
    why: "The header may carry exactly one origin. Two header lines (typically the proxy and the \
          application both add it, even with the same value) or one line with a comma- or \
          space-separated list make Chromium fail with `MultipleAllowOriginValues`. Firefox \
          reports `CORSMultipleAllowOriginNotAllowed` for two lines and a mismatch for a list \
          in one line.",
    summary: "Let exactly one layer (application or proxy) write `Access-Control-Allow-Origin`, \
              and keep the list of allowed origins in its configuration: per request, echo the \
              one origin that matched and add `Vary: Origin`.",
    stacks: &r::SINGLE_ALLOW_ORIGIN.rendered,
    client: None,
};

pub(super) static ACAO_INVALID_VALUE: Fix = Fix {
    title: "Access-Control-Allow-Origin is not a valid origin",
    why: "The value is neither `*`, `null` nor a parseable origin — e.g. a bare host \
          `app.example.com`, a pattern `*.example.com`, or an empty value. Chromium reports \
          `InvalidAllowOriginValue`, Firefox a mismatch. Browsers never expand patterns: the \
          header is compared literally.",
    summary: "Send a full origin with scheme (`https://app.example.com`), computed per request \
              from an allowlist; patterns such as `*.example.com` belong in the server's matching \
              logic, never in the header value.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: None,
};

pub(super) static ACAO_STALE_CACHE: Fix = Fix {
    title: "Cached response served to the wrong origin (no Vary: Origin)",
    why: "The failing response came from a cache (browser, CDN or proxy) and was stored for \
          another request: one without `Origin` (a navigation or `<img>`, hence no ACAO) or one \
          from another allowed origin (hence the other origin in ACAO). Without `Vary: Origin` \
          the cache may reuse it for every origin, and the request may never reach the server.",
    summary: "Send `Vary: Origin` on every response whose CORS headers depend on the request \
              (reflected or list-based `Access-Control-Allow-Origin`), including responses to \
              requests without `Origin`; or, for public data, send a constant \
              `Access-Control-Allow-Origin: *` on all of them. Purge the cache afterwards.",
    stacks: &r::VARY_ORIGIN.rendered,
    client: None,
};

// ---------------------------------------------------------------- credentials

pub(super) static WILDCARD_WITH_CREDENTIALS: Fix = Fix {
    title: "Access-Control-Allow-Origin: * on a credentialed request",
    why: "The request carried credentials (cookies, `credentials: 'include'` or \
          `withCredentials = true`), and for such requests the wildcard `*` is not allowed: the \
          browser demands the exact origin. Chromium reports `WildcardOriginNotAllowed`, Firefox \
          `CORSNotSupportingCredentials`.",
    summary: "Replace `*` by the exact requesting origin taken from an allowlist, add \
              `Access-Control-Allow-Credentials: true` and `Vary: Origin`. If the endpoint needs \
              no cookies, keep `*` and stop sending credentials from the page instead.",
    stacks: &r::ALLOW_CREDENTIALS.rendered,
    client: Some(
        "If the call needs no cookies or HTTP auth, drop `credentials: 'include'` / \
         `withCredentials` so the wildcard applies.",
    ),
};

pub(super) static ACAC_INVALID: Fix = Fix {
    title: "Access-Control-Allow-Credentials missing or not true",
    why: "For a credentialed request the browser requires `Access-Control-Allow-Credentials` to \
          be exactly `true` (lower case, once, unquoted) in addition to an exact origin. It was \
          absent or had another value (`True`, `\"true\"`, `true, true`), so Chromium reports \
          `InvalidAllowCredentials` and Firefox `CORSMissingAllowCredentials`.",
    summary: "Send `Access-Control-Allow-Credentials: true` exactly once, together with the exact \
              origin (never `*`), on every response to credentialed requests, preflights \
              included.",
    stacks: &r::ALLOW_CREDENTIALS.rendered,
    client: None,
};

pub(super) static CREDENTIALS_NOT_SENT: Fix = Fix {
    title: "Cookies were not sent (not a CORS failure)",
    why: "The cross-origin request went out without the `Cookie` the same client sends \
          elsewhere, and the server answered 401/403. `fetch` defaults to \
          `credentials: 'same-origin'` and XHR to `withCredentials = false`; even with them, \
          `SameSite` rules and third-party cookie blocking (Safari, Firefox, Chrome settings) can \
          keep cookies off cross-site requests. CORS itself did not fail here.",
    summary: "Have the page send credentials, and the server accept them: exact origin plus \
              `Access-Control-Allow-Credentials: true`, and a session cookie usable from the \
              page's site (`SameSite=None; Secure` when the page is on another site). Hosting \
              page and API on the same site (app.example.com and api.example.com) avoids \
              third-party cookie blocking altogether.",
    stacks: &r::CROSS_SITE_COOKIES.rendered,
    client: Some(
        "Use `fetch(url, { credentials: 'include' })`, `xhr.withCredentials = true` or axios \
         `withCredentials: true`; or send a token in `Authorization` instead of relying on \
         cookies.",
    ),
};

// ---------------------------------------------------------------- preflight

pub(super) static PREFLIGHT_STATUS_NOT_OK: Fix = Fix {
    title: "Preflight answered with a non-2xx status",
    why: "The OPTIONS preflight carried valid CORS headers but its status was outside 200–299 \
          (typically 404/405 from a router that has no OPTIONS route, or an error). The \
          preflight must succeed with an ok status, so the browser never sends the actual \
          request: Chromium reports `PreflightInvalidStatus`, Firefox \
          `CORSPreflightDidNotSucceed` with the status.",
    summary: "Answer `OPTIONS` requests carrying `Access-Control-Request-Method` with 204 (or \
              200) and the CORS headers, in the CORS layer before routing, so that no route \
              lookup, method check or handler can turn it into 404/405/500.",
    stacks: &r::ANSWER_PREFLIGHT.rendered,
    client: None,
};

pub(super) static PREFLIGHT_ACAO_MISSING: Fix = Fix {
    title: "Preflight response has no Access-Control-Allow-Origin",
    why: "The OPTIONS preflight was answered (whatever its status) without \
          `Access-Control-Allow-Origin`. The browser checks the origin first, so even a 404 or \
          401 preflight is reported as a missing header (Chromium \
          `PreflightMissingAllowOriginHeader`; Firefox `CORSMissingAllowOrigin` with the \
          preflight's status, then \"CORS request did not succeed\"). The actual request is not \
          sent.",
    summary: "Make the CORS layer answer preflights itself: for an allowed origin, reply 204 with \
              `Access-Control-Allow-Origin`, `-Methods`, `-Headers` (and `-Credentials: true` \
              if the actual request is credentialed) before any routing or auth runs.",
    stacks: &r::ANSWER_PREFLIGHT.rendered,
    client: None,
};

pub(super) static PREFLIGHT_ACAO_MISMATCH: Fix = Fix {
    title: "Preflight's Access-Control-Allow-Origin does not match",
    why: "The preflight response's `Access-Control-Allow-Origin` is another origin, a list, or \
          not a valid origin (the same sub-cases as on actual responses: trailing slash, scheme, \
          port, host spelling). The preflight is checked like any CORS response, so it fails and \
          the actual request is not sent.",
    summary: "Give preflight responses the same single, exact origin as the actual responses — \
              usually by letting one CORS configuration answer both instead of a hand-written \
              OPTIONS handler with a fixed value.",
    stacks: &r::ALLOW_ORIGIN.rendered,
    client: None,
};

pub(super) static PREFLIGHT_CREDENTIALS_FAIL: Fix = Fix {
    title: "Preflight not valid for a credentialed request",
    why: "The actual request would carry credentials, and the preflight is checked with that \
          credentials mode: its `Access-Control-Allow-Origin` was `*`, or it lacked \
          `Access-Control-Allow-Credentials: true`. Chromium reports \
          `PreflightWildcardOriginNotAllowed` or `PreflightInvalidAllowCredentials`, Firefox \
          `CORSNotSupportingCredentials` or `CORSMissingAllowCredentials`.",
    summary: "Answer the preflight with the exact origin and `Access-Control-Allow-Credentials: \
              true`, exactly as the actual response does; preflights themselves carry no \
              cookies, so do not make these headers depend on a session.",
    stacks: &r::ALLOW_CREDENTIALS.rendered,
    client: None,
};

pub(super) static PREFLIGHT_AUTH_REJECTED: Fix = Fix {
    title: "Preflight rejected by authentication (401/403)",
    why: "Browsers never attach cookies or `Authorization` to a preflight, so authentication \
          middleware that runs before the CORS handling answers it with 401/403. Without CORS \
          headers this shows as a missing `Access-Control-Allow-Origin`, with them as a bad \
          preflight status; either way the actual, authenticated request is never sent.",
    summary: "Let preflights (`OPTIONS` with `Access-Control-Request-Method`) through without \
              authentication: put the CORS middleware before auth so it answers them, or exempt \
              OPTIONS in the auth layer. The actual request is still authenticated.",
    stacks: &r::PREFLIGHT_BEFORE_AUTH.rendered,
    client: None,
};

pub(super) static PREFLIGHT_REDIRECT: Fix = Fix {
    title: "Preflight was redirected",
    why: "A preflight may not be redirected: any 3xx to the OPTIONS request fails it (Chromium \
          `PreflightDisallowedRedirect`, DevTools shows `net::ERR_INVALID_REDIRECT`; Firefox \
          `CORSExternalRedirectNotAllowed`, though Firefox follows HSTS upgrades). Usual causes \
          are http→https upgrades, `/api` → `/api/` slash redirects and login redirects.",
    summary: "Call the final URL (https, exact path and trailing slash), and make sure the server \
              answers OPTIONS at that URL itself instead of redirecting: no slash normalisation, \
              https upgrade or login redirect for preflights.",
    stacks: &r::NO_REDIRECT_ON_PREFLIGHT.rendered,
    client: Some(
        "Use the exact final URL in the page: `https://`, the right host and the trailing \
         slash the server expects.",
    ),
};

pub(super) static PREFLIGHT_NO_RESPONSE: Fix = Fix {
    title: "Preflight got no response",
    why: "The OPTIONS preflight was sent but no HTTP response came back (connection reset, \
          timeout, TLS failure, or a firewall/WAF dropping OPTIONS). Chromium shows the \
          preflight with a `net::ERR_*` error and no CORS code; Firefox logs \"CORS request did \
          not succeed\" with status `(null)`.",
    summary: "Find where OPTIONS is dropped (load balancer, WAF rule, proxy allowing only \
              GET/POST, a crashing handler) and let the CORS layer answer it quickly with 204; \
              check with `curl -X OPTIONS -H 'Origin: https://app.example.com' -H \
              'Access-Control-Request-Method: PUT' -i <url>`.",
    stacks: &r::ANSWER_PREFLIGHT.rendered,
    client: None,
};

// ---------------------------------------------------------------- methods and headers

pub(super) static ACAM_UNPARSEABLE: Fix = Fix {
    title: "Access-Control-Allow-Methods cannot be parsed",
    why: "`Access-Control-Allow-Methods` must be a comma-separated list of method tokens. A \
          value such as `GET POST`, `GET;POST` or a quoted list fails to parse, and the browser \
          treats the whole preflight as failed (Chromium \
          `InvalidAllowMethodsPreflightResponse`, Firefox `CORSInvalidAllowMethod`).",
    summary: "Send the methods as one comma-separated list of bare tokens, e.g. \
              `Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE`.",
    stacks: &r::ALLOW_METHODS.rendered,
    client: None,
};

pub(super) static ACAH_UNPARSEABLE: Fix = Fix {
    title: "Access-Control-Allow-Headers cannot be parsed",
    why: "`Access-Control-Allow-Headers` must be a comma-separated list of header-name tokens. \
          A value with spaces between names, semicolons, quotes or other separators fails to \
          parse, and the whole preflight fails (Chromium \
          `InvalidAllowHeadersPreflightResponse`, Firefox `CORSInvalidAllowHeader`).",
    summary: "Send the header names as one comma-separated list of bare tokens, e.g. \
              `Access-Control-Allow-Headers: Authorization, Content-Type, X-Request-Id`.",
    stacks: &r::ALLOW_HEADERS.rendered,
    client: None,
};

pub(super) static METHOD_NOT_ALLOWED: Fix = Fix {
    title: "Method not allowed by the preflight",
    why: "The request uses a method other than GET, HEAD or POST, and the preflight's \
          `Access-Control-Allow-Methods` does not list it (nor `*` for a request without \
          credentials). Chromium reports `MethodDisallowedByPreflightResponse`, Firefox \
          `CORSMethodNotFound`; the actual request is not sent.",
    summary: "Add the method to `Access-Control-Allow-Methods` on the preflight response, spelled \
              exactly as the page sends it (upper case), e.g. `GET, POST, PUT, PATCH, DELETE`.",
    stacks: &r::ALLOW_METHODS.rendered,
    client: None,
};

pub(super) static METHOD_CASE_MISMATCH: Fix = Fix {
    title: "Method differs in case from Access-Control-Allow-Methods",
    why: "`fetch()` and XHR upper-case only DELETE, GET, HEAD, OPTIONS, POST and PUT; any other \
          method keeps the case the page wrote (`patch` stays `patch`), and browsers compare it \
          case-sensitively with `Access-Control-Allow-Methods`. So `PATCH` in the header does \
          not allow a `patch` request, in Chromium and Firefox alike.",
    summary: "Send the method upper case from the page (`PATCH`); on the server, list methods \
              upper case — adding a lower-case variant only papers over the client bug.",
    stacks: &r::ALLOW_METHODS.rendered,
    client: Some("Write the method in upper case: `fetch(url, { method: 'PATCH' })`."),
};

pub(super) static METHOD_WILDCARD_WITH_CREDENTIALS: Fix = Fix {
    title: "Access-Control-Allow-Methods: * on a credentialed request",
    why: "`*` in `Access-Control-Allow-Methods` is a wildcard only for requests without \
          credentials. For a credentialed request it is read as a method literally named `*`, \
          so the requested method is not allowed (Chromium \
          `MethodDisallowedByPreflightResponse`, Firefox `CORSMethodNotFound`).",
    summary: "List the methods explicitly (`GET, POST, PUT, PATCH, DELETE`) whenever the request \
              carries credentials.",
    stacks: &r::ALLOW_METHODS.rendered,
    client: None,
};

pub(super) static HEADER_NOT_ALLOWED: Fix = Fix {
    title: "Request header not allowed by the preflight",
    why: "The page set a header that is not CORS-safelisted (common: `Content-Type: \
          application/json`, `Authorization`, `X-Requested-With`, custom `X-…` headers), so the \
          browser sent a preflight listing it in `Access-Control-Request-Headers`; the answer's \
          `Access-Control-Allow-Headers` did not include it. Chromium reports \
          `HeaderDisallowedByPreflightResponse`, Firefox `CORSMissingAllowHeaderFromPreflight` \
          with the first missing name.",
    summary: "Add every header named in `Access-Control-Request-Headers` to \
              `Access-Control-Allow-Headers` on the preflight response (names are \
              case-insensitive), and name `Authorization` explicitly.",
    stacks: &r::ALLOW_HEADERS.rendered,
    client: None,
};

pub(super) static HEADER_WILDCARD_WITH_CREDENTIALS: Fix = Fix {
    title: "Access-Control-Allow-Headers: * on a credentialed request",
    why: "`*` in `Access-Control-Allow-Headers` is a wildcard only for requests without \
          credentials. With credentials it is read as a header literally named `*`, so the \
          page's headers are not allowed (Chromium `HeaderDisallowedByPreflightResponse`, \
          Firefox `CORSMissingAllowHeaderFromPreflight`).",
    summary: "List the request headers explicitly (`Authorization, Content-Type, …`) whenever the \
              request carries credentials.",
    stacks: &r::ALLOW_HEADERS.rendered,
    client: None,
};

pub(super) static AUTHORIZATION_UNDER_WILDCARD: Fix = Fix {
    title: "Authorization allowed only through Access-Control-Allow-Headers: *",
    why: "By the Fetch Standard `*` never covers `Authorization`, but browsers do not enforce \
          that yet: Chromium lets the request through and records a deprecation issue \
          (\"Authorization will not be covered by the wildcard symbol (*)\"), and Firefox 115+ \
          allows it with a \"Cross-Origin Request Warning\" unless a pref turns enforcement on. \
          It works today and will break once enforcement ships.",
    summary: "List `Authorization` explicitly in `Access-Control-Allow-Headers` (e.g. \
              `Authorization, *` or a full explicit list) so the request keeps working when \
              browsers stop covering it with `*`.",
    stacks: &r::ALLOW_HEADERS.rendered,
    client: None,
};

pub(super) static SAFELIST_OVERFLOW_PREFLIGHT: Fix = Fix {
    title: "Preflight for a request that looks simple",
    why: "A header that is normally CORS-safelisted (`Accept`, `Accept-Language`, \
          `Content-Language`, `Content-Type`, `Range`) lost that status because its value is \
          over 128 bytes, all safelisted values together exceed 1024 bytes, it contains unsafe \
          bytes, the `Content-Type` is not form/multipart/text-plain, or `Range` is not a single \
          `bytes=start-[end]` range. The browser therefore sent a preflight; whether it passed \
          is reported separately.",
    summary: "Nothing is wrong by itself. Either keep those headers within the safelist limits \
              so no preflight is needed, or make sure the server answers the preflight and \
              lists these names in `Access-Control-Allow-Headers`.",
    stacks: NO_STACKS,
    client: Some(
        "Shorten long `Accept`/`Accept-Language` values, use a safelisted `Content-Type` if \
         the server accepts it, and request a single `bytes=start-end` range.",
    ),
};

// ---------------------------------------------------------------- redirects

pub(super) static REDIRECT_TAINTED_ORIGIN: Fix = Fix {
    title: "Redirect across origins turned the Origin into null",
    why: "The request was redirected from one cross origin to another (page A → B → C, or back \
          to A). From then on the browser sends `Origin: null`, and the final server must \
          answer `Access-Control-Allow-Origin: null` (or `*` without credentials); naming the \
          page's origin fails as a mismatch in Chromium and Firefox. The console still shows \
          the page's origin, which hides the cause.",
    summary: "Remove the multi-origin redirect chain: have the page call the final URL directly, \
              return that URL in a response body instead of redirecting, or proxy the other \
              origin server-side. Do not allow `Origin: null` to make it pass — any sandboxed \
              iframe can send it.",
    stacks: &r::PROXY_SAME_ORIGIN.rendered,
    client: Some("Call the final URL directly instead of following the redirect chain."),
};

pub(super) static REDIRECT_USERINFO: Fix = Fix {
    title: "Redirect to a URL with user:password",
    why: "A redirect of a cross-origin CORS request pointed at a URL with credentials in it \
          (`https://user:pass@host/`). Browsers refuse to follow it (Chromium \
          `RedirectContainsCredentials`; Firefox fails the request without a dedicated message), \
          and such URLs leak secrets into logs and history anyway.",
    summary: "Never put credentials in `Location`: authenticate to the upstream server-side \
              (proxy with an `Authorization` header), or have the page send a token in \
              `Authorization` to a URL without userinfo.",
    stacks: &r::PROXY_SAME_ORIGIN.rendered,
    client: None,
};

pub(super) static REDIRECT_REFUSED: Fix = Fix {
    title: "Redirect the browser refused to follow",
    why: "Firefox stops a CORS request at its 21st redirect and refuses a redirect to a `data:` \
          URL. It fails the request and reports `CORSDidNotSucceed` (Chromium fails it too, with \
          `net::ERR_TOO_MANY_REDIRECTS` or `net::ERR_UNSAFE_REDIRECT` and no CORS error).",
    summary: "Break the redirect loop (compare the target with the request URL, check the \
              proxy's scheme and host rewriting) and redirect only to http(s) URLs.",
    stacks: NO_STACKS,
    client: Some("Call the final URL directly."),
};

pub(super) static REDIRECT_NEW_PREFLIGHT: Fix = Fix {
    title: "A new preflight went to the redirect target",
    why: "After a cross-origin redirect, a request that needs a preflight gets a fresh one to \
          the new URL (with `Origin: null` if the redirect tainted the origin). This is normal \
          browser behaviour; whether the new preflight passed is reported on its own exchange.",
    summary: "Make the redirect target answer preflights like the original server, or better, \
              call the final URL directly so one preflight suffices.",
    stacks: NO_STACKS,
    client: Some("Call the final URL directly to save the redirect and the second preflight."),
};

// ---------------------------------------------------------------- client-side blocks

pub(super) static DISALLOWED_BY_MODE: Fix = Fix {
    title: "Cross-origin request in same-origin mode",
    why: "The page made a request with `mode: 'same-origin'` to another origin, or such a \
          request was redirected to another origin. The browser rejects it before or instead of \
          sending it (Chromium `DisallowedByMode`, Firefox a plain NetworkError); no server \
          header can allow it.",
    summary: "Fix the client: use the default `mode: 'cors'` for cross-origin calls (with CORS \
              configured on the server), or request a same-origin URL (e.g. through a proxy \
              path on the page's own origin).",
    stacks: NO_STACKS,
    client: Some(
        "Remove `mode: 'same-origin'` from the `fetch` call, or make the URL same-origin and \
         keep it from redirecting to another origin.",
    ),
};

pub(super) static CORS_DISABLED_SCHEME: Fix = Fix {
    title: "CORS request to a non-HTTP(S) URL",
    why: "CORS only works for http and https URLs. A request to `file:`, `data:`, \
          `chrome-extension:` or a custom scheme from a page (or from a `file:` page) is refused \
          before anything is sent: Chromium `CorsDisabledScheme` (\"Cross origin requests are \
          only supported for protocol schemes: …\"), Firefox `CORSRequestNotHttp`.",
    summary: "Serve both the page and the resource over http(s): run a local web server (e.g. \
              `python3 -m http.server`) instead of opening files with `file://`, and reference \
              resources by http(s) URL.",
    stacks: NO_STACKS,
    client: Some(
        "Open the page from `http://localhost:<port>` rather than `file://`, and load the \
         resource by its http(s) URL.",
    ),
};

// ---------------------------------------------------------------- response readability

pub(super) static EXPOSE_HEADER_HIDDEN: Fix = Fix {
    title: "Response header not exposed to the page",
    why: "The CORS response passed, but script can read only the safelisted response headers \
          (`Cache-Control`, `Content-Language`, `Content-Length`, `Content-Type`, `Expires`, \
          `Last-Modified`, `Pragma`) plus those in `Access-Control-Expose-Headers`. The header \
          the page reads is on the wire yet `headers.get()` returns null silently; Chromium's \
          XHR logs `Refused to get unsafe header`.",
    summary: "List the header in `Access-Control-Expose-Headers` (e.g. `X-Total-Count, \
              Content-Disposition`); `*` exposes all only for requests without credentials, and \
              `Set-Cookie` is never exposed.",
    stacks: &r::EXPOSE_HEADERS.rendered,
    client: None,
};

pub(super) static OPAQUE_NO_CORS: Fix = Fix {
    title: "no-cors request: the response is opaque (not a CORS error)",
    why: "The request used `mode: 'no-cors'` (or was an `<img>`/`<script>` load without \
          `crossorigin`). The browser sends it without CORS checks and hands script an opaque \
          response: status 0, no headers, no body, and no console error. On the wire the \
          exchange looks perfectly normal.",
    summary: "If the page needs the response, do not use `no-cors`: make a normal CORS request \
              and configure CORS on the server (or call the API through a same-origin proxy). \
              For fire-and-forget requests nothing needs fixing.",
    stacks: NO_STACKS,
    client: Some(
        "Remove `mode: 'no-cors'` from the `fetch` call; it silences the error but makes the \
         response unreadable.",
    ),
};

pub(super) static NO_CORS_HEADERS_DROPPED: Fix = Fix {
    title: "no-cors request: headers silently dropped",
    why: "In `mode: 'no-cors'` the browser drops every request header that is not \
          no-CORS-safelisted: `Authorization`, custom headers and a JSON `Content-Type` vanish \
          without an error, so the server receives e.g. a JSON body labelled \
          `text/plain;charset=UTF-8` and answers 4xx.",
    summary: "Send the request in the default `cors` mode and configure the server for CORS \
              (allow the origin, the method and the headers the page sets).",
    stacks: NO_STACKS,
    client: Some(
        "Remove `mode: 'no-cors'` so `Authorization`, custom headers and `Content-Type: \
         application/json` are actually sent.",
    ),
};

// ---------------------------------------------------------------- local network access

pub(super) static LNA_PERMISSION_DENIED: Fix = Fix {
    title: "Local Network Access permission denied",
    why: "Since Chrome 142, a public web page reaching a local or loopback address needs the \
          user's Local Network Access permission (this replaced Private Network Access \
          preflights). The user denied it, or could not be asked (e.g. an iframe without the \
          permission delegated), so Chromium fails the request when connecting, before any HTTP \
          request is written (`LocalNetworkAccessPermissionDenied`, \
          `net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS`). Firefox has its own LNA permission.",
    summary: "No response header fixes this. Ask the user to allow local network access for the \
              site (and explain why before the request), delegate the permission to iframes, or \
              avoid the cross-network call: serve the UI from the device itself, or let the \
              device talk to your public server instead.",
    stacks: NO_STACKS,
    client: Some(
        "Make the request from a top-level https page after explaining it to the user; in an \
         iframe add `allow=\"local-network; loopback-network\"` (Chrome 145+; \
         `local-network-access` before); managed browsers can pre-grant it by enterprise \
         policy.",
    ),
};

pub(super) static LNA_INSECURE_CONTEXT: Fix = Fix {
    title: "Local network request from a non-secure page",
    why: "Requests from a public page to a local or loopback address are allowed only from \
          secure contexts. This page was served over plain `http://`, so Chromium refuses the \
          connection without asking the user (`InsecureLocalNetwork`: \"The request client is \
          not a secure context and the resource is in more-private address space\"). This rule \
          predates LNA (Chrome 94, PNA) and stays.",
    summary: "Serve the calling page over https. Then Chrome asks the user for the Local Network \
              Access permission, and once granted it even relaxes mixed-content blocking for the \
              `http://` call to the local device.",
    stacks: NO_STACKS,
    client: Some("Load the page over `https://`; no server header can allow this from `http://`."),
};

pub(super) static LNA_TARGET_SPACE_MISMATCH: Fix = Fix {
    title: "Request reached another address space than declared",
    why: "The request declared a `targetAddressSpace` (`local` or `loopback`) but the host \
          resolved to an address in another space, or one request connected to two different \
          spaces. Chromium fails it (`InvalidLocalNetworkAccess`, \
          `net::ERR_INCONSISTENT_IP_ADDRESS_SPACE`) before sending anything.",
    summary: "Make the declaration match reality: use `targetAddressSpace: 'loopback'` for \
              127.0.0.1/::1 and `'local'` for private LAN addresses, and make the host name \
              resolve to one address space only (check DNS and split-horizon setups).",
    stacks: NO_STACKS,
    client: Some(
        "Fix the `targetAddressSpace` option of the `fetch` call, or use an IP literal / `.local` \
         name that resolves into the declared space.",
    ),
};

pub(super) static LNA_GRANTED: Fix = Fix {
    title: "Public page reached a local device (permission granted)",
    why: "A page from a public origin reached a loopback or local address and the request \
          arrived: the user granted the Local Network Access permission (Chrome 142+), possibly \
          over plain `http://` thanks to LNA's mixed-content exemption. Not a failure, but the \
          device is now reachable from that site.",
    summary: "Make sure the local service checks `Origin` against an exact allowlist and \
              authenticates requests; do not answer `Access-Control-Allow-Origin: *` or reflect \
              any origin from a device on the local network.",
    stacks: &r::TIGHTEN_ALLOWLIST.rendered,
    client: None,
};

pub(super) static PNA_PREFLIGHT_MISSING_ACAPN: Fix = Fix {
    title: "Private Network Access preflight without the opt-in header",
    why: "Chrome (104 to about 141) sent preflights with `Access-Control-Request-Private-Network: \
          true` before public pages reached private addresses, expecting \
          `Access-Control-Allow-Private-Network: true`. Enforcement never shipped by default — \
          failures were DevTools warnings — and was paused in October 2024; since Chrome 142 \
          Local Network Access's permission prompt replaces these preflights entirely.",
    summary: "Nothing breaks in current browsers. For older Chrome builds with enforcement \
              switched on, answer such preflights with `Access-Control-Allow-Private-Network: \
              true` — but only for allowlisted origins — and plan for the LNA permission prompt \
              instead.",
    stacks: &r::PRIVATE_NETWORK_OPT_IN.rendered,
    client: None,
};

pub(super) static PNA_PERMISSION_HEADERS_MISSING: Fix = Fix {
    title: "PNA permission preflight without Private-Network-Access-ID/-Name",
    why: "Chrome's 2024 PNA permission experiment let a secure page `fetch` a private device \
          over http with `targetAddressSpace`, if the preflight answer carried \
          `Private-Network-Access-ID` and `Private-Network-Access-Name`. Those headers were \
          missing. The experiment has been superseded by Local Network Access (Chrome 142+), \
          which asks the user instead and needs no such headers.",
    summary: "Move to Local Network Access: current Chrome shows a permission prompt and ignores \
              these headers. Only for the Chrome builds of that experiment (about 124–141), add \
              `Private-Network-Access-ID` (a stable device id, e.g. a MAC-style \
              `01:23:45:67:89:AB`) and `Private-Network-Access-Name` (a short readable name) to \
              the preflight response.",
    stacks: NO_STACKS,
    client: Some(
        "Keep `targetAddressSpace: 'local'` on the `fetch` and rely on the LNA permission prompt \
         in Chrome 142+.",
    ),
};

// ---------------------------------------------------------------- preflight cache

pub(super) static MAX_AGE_ABOVE_CAP: Fix = Fix {
    title: "Access-Control-Max-Age above the browser cap",
    why: "Browsers cap how long they cache a preflight: Chromium at 7200 s (2 h), Firefox at \
          86400 s, Safari at 600 s. A larger value is silently cut, so preflights come back \
          sooner than the server expects; Firefox ignores values that are not plain digits \
          altogether.",
    summary: "Send at most `Access-Control-Max-Age: 7200` (digits only) and expect a preflight \
              at least every two hours in Chromium, every ten minutes in Safari.",
    stacks: &r::MAX_AGE.rendered,
    client: None,
};

// ---------------------------------------------------------------- security findings

pub(super) static SEC_ORIGIN_REFLECTED_WITH_CREDENTIALS: Fix = Fix {
    title: "Any origin reflected, with credentials",
    why: "The server echoed unrelated origins into `Access-Control-Allow-Origin` together with \
          `Access-Control-Allow-Credentials: true`. Any website a logged-in user visits can then \
          read authenticated responses from this API with the user's cookies — the classic \
          CORS data-theft misconfiguration.",
    summary: "Replace reflection with an exact allowlist of your own https origins; answer \
              unknown origins without any CORS headers; keep `Vary: Origin`. Audit what \
              authenticated data was exposed.",
    stacks: &r::ALLOW_CREDENTIALS.rendered,
    client: None,
};

pub(super) static SEC_ORIGIN_REFLECTED_NO_CREDENTIALS: Fix = Fix {
    title: "Any origin reflected (no credentials)",
    why: "The server echoes unrelated origins into `Access-Control-Allow-Origin` without \
          `Access-Control-Allow-Credentials`. Cookies are not usable, but any site can read \
          what the victim's browser can reach without them — data protected only by network \
          position or IP (intranets, VPN-only APIs).",
    summary: "If the data is public, send a constant `Access-Control-Allow-Origin: *` instead of \
              reflecting; otherwise use an exact allowlist of https origins with `Vary: Origin`.",
    stacks: &r::TIGHTEN_ALLOWLIST.rendered,
    client: None,
};

pub(super) static SEC_NULL_ORIGIN_TRUSTED: Fix = Fix {
    title: "Origin null trusted",
    why: "The server answered `Origin: null` with `Access-Control-Allow-Origin: null`. Any \
          attacker page can produce a null origin (sandboxed iframe, `data:` URL, cross-origin \
          redirect), so trusting `null` is close to trusting every site — and with credentials \
          it exposes users' data.",
    summary: "Remove `null` from the allowlist and never echo it; if a legitimate client sends \
              `null` (sandboxed iframe, `file:` page, redirect chain), fix that client instead.",
    stacks: &r::TIGHTEN_ALLOWLIST.rendered,
    client: None,
};

pub(super) static SEC_PREFIX_SUFFIX_REGEX_MATCH: Fix = Fix {
    title: "Origin check matches lookalike domains",
    why: "The server reflected origins such as `https://app.example.com.attacker.tld`, \
          `https://attackerexample.com` or `https://appXexample.com`: its check is a prefix, \
          suffix or substring test, or a regex with an unescaped dot or missing anchors. \
          Attackers simply register a matching domain.",
    summary: "Compare the origin exactly against a set of allowed origins; if a pattern is \
              unavoidable, anchor it at both ends (`^https://(app|admin)\\.example\\.com$`), \
              escape every dot, and require `https://`.",
    stacks: &r::TIGHTEN_ALLOWLIST.rendered,
    client: None,
};

pub(super) static SEC_ANY_SUBDOMAIN_TRUSTED: Fix = Fix {
    title: "Every subdomain trusted",
    why: "Arbitrary `https://<anything>.example.com` origins are reflected. Then one XSS, a \
          forgotten staging host or a dangling DNS record on any subdomain (subdomain takeover) \
          lets an attacker read this API cross-origin.",
    summary: "List the subdomains that really call the API (`https://app.example.com`, \
              `https://admin.example.com`) instead of a `*.example.com` rule, unless every \
              subdomain is under strict control.",
    stacks: &r::TIGHTEN_ALLOWLIST.rendered,
    client: None,
};

pub(super) static SEC_HTTP_ORIGIN_TRUSTED_BY_HTTPS: Fix = Fix {
    title: "https API trusts an http origin",
    why: "An https response allows an `http://` origin. Anyone who can tamper with plain-http \
          traffic (public Wi-Fi, a compromised router) can inject script into that http origin \
          and read the https API with the user's credentials, undoing TLS.",
    summary: "Allow only `https://` origins on https APIs; move the http site to https (with \
              HSTS) and drop its `http://` entry from the allowlist.",
    stacks: &r::TIGHTEN_ALLOWLIST.rendered,
    client: None,
};

pub(super) static SEC_THIRD_PARTY_ORIGIN_TRUSTED: Fix = Fix {
    title: "Shared-hosting origin trusted",
    why: "`Access-Control-Allow-Origin` names an origin on shared hosting (e.g. `*.github.io`, \
          CodePen, other multi-tenant hosts) where anyone can publish pages; every tenant of \
          that host gains the API access meant for one page.",
    summary: "Trust only origins you control: serve the calling page from your own domain, or \
              allow the one exact origin on the shared host rather than a pattern covering all \
              of it.",
    stacks: &r::TIGHTEN_ALLOWLIST.rendered,
    client: None,
};

pub(super) static SEC_WILDCARD_INTERNAL_OR_SENSITIVE: Fix = Fix {
    title: "Wildcard on an internal or sensitive API",
    why: "`Access-Control-Allow-Origin: *` on a private/loopback address, an intranet host, or \
          responses with personal data or `Set-Cookie`. Any website can make a visitor's browser \
          fetch and read it, relaying data from inside the network (LNA's permission prompt now \
          limits this for public sites in Chrome, not everywhere).",
    summary: "Replace `*` by an exact allowlist of the internal origins that need access, and \
              keep `*` only for genuinely public, non-personal data.",
    stacks: &r::TIGHTEN_ALLOWLIST.rendered,
    client: None,
};

pub(super) static SEC_WILDCARD_PLUS_CREDENTIALS_CONFIG: Fix = Fix {
    title: "Access-Control-Allow-Origin: * together with Allow-Credentials: true",
    why: "Browsers refuse this combination for credentialed requests, so it does not leak \
          data by itself. But it shows the intent to allow credentials from anywhere, and the \
          usual \"fix\" — reflecting any origin — turns it into a real vulnerability.",
    summary: "Decide: if credentials are needed, allow an exact list of origins (echo the \
              matching one, `Vary: Origin`) with `Access-Control-Allow-Credentials: true`; if \
              not, drop `Access-Control-Allow-Credentials`.",
    stacks: &r::ALLOW_CREDENTIALS.rendered,
    client: None,
};

pub(super) static SEC_MISSING_VARY_ORIGIN: Fix = Fix {
    title: "Origin-dependent CORS headers without Vary: Origin",
    why: "`Access-Control-Allow-Origin` varies with the request's `Origin`, the response is \
          cacheable, and `Vary` lacks `Origin`. A shared cache can then serve one origin's CORS \
          headers to another — leaking responses across origins or breaking them (stale or \
          missing ACAO) — and can be poisoned deliberately.",
    summary: "Add `Vary: Origin` to every response whose CORS headers depend on the request, \
              including responses to requests without `Origin`; or mark such responses \
              `Cache-Control: private`/`no-store`.",
    stacks: &r::VARY_ORIGIN.rendered,
    client: None,
};

pub(super) static SEC_PNA_OPT_IN_REFLECTED: Fix = Fix {
    title: "Private-network opt-in granted to every origin",
    why: "The device answers `Access-Control-Allow-Private-Network: true` to any origin, so in \
          browsers that enforced PNA preflights every public website could reach it. Some \
          libraries sent it by default (flask-cors before 4.0.2, CVE-2024-6221).",
    summary: "Send `Access-Control-Allow-Private-Network: true` only when the preflight asks for \
              it and the origin is on an exact allowlist; update libraries that send it by \
              default.",
    stacks: &r::PRIVATE_NETWORK_OPT_IN.rendered,
    client: None,
};

pub(super) static PREFLIGHT_FOLLOWED_DESPITE_FAILURE: Fix = Fix {
    title: "Actual request sent although its preflight fails",
    why: "A preflight response fails a CORS check, yet the actual request followed it. A \
          browser never does that, so either the two were paired wrongly (another client or \
          tab, an earlier preflight still cached) or the client is not a browser (curl, a \
          server, a mobile app) or fakes preflights (Playwright with request routing). The \
          blocked verdict it contradicts is withdrawn.",
    summary: "Check who sent the request (`User-Agent`, `Sec-Fetch-Mode`): CORS does not apply \
              to non-browser clients. If browsers call this endpoint too, fix the preflight \
              failure anyway, since a real browser would stop there, and capture again to \
              confirm the pairing.",
    stacks: NO_STACKS,
    client: Some(
        "Test CORS without request interception: Playwright's `page.route` answers \
         preflights itself and hides their failures.",
    ),
};

// ---------------------------------------------------------------- fallback

/// For `cors_blocked_unknown` (blocked, reason not in the recording) and any kind added
/// later without an entry of its own.
pub(super) static BLOCKED_UNKNOWN: Fix = Fix {
    title: "Blocked by CORS, reason not in the recording",
    why: "The browser blocked the request, but the recording lacks what decided it: the \
          preflight entry, the blocked response's headers, or the credentials (sanitized HARs \
          drop `Cookie` and `Authorization`). HAR exports never carry the CORS reason itself, \
          and Playwright's HARs drop blocked responses and answer preflights itself when \
          routing is on.",
    summary: "The recording does not say which check failed: the report lists the likely \
              causes, ranked by what the recording shows of the request, each with what tells it \
              apart and its own server-side fix (`corswatch explain KIND`). To know for sure, read \
              the console line, export the HAR from Chrome DevTools (Network → Export HAR with \
              sensitive data, which keeps preflight entries and the blocked response's headers), \
              or record the traffic with corswatch beside the server (pcap or live capture).",
    stacks: NO_STACKS,
    client: Some(
        "Reproduce with DevTools open, Preserve log and Disable cache on (so every preflight \
         is sent and recorded), and copy the console's CORS message along with the HAR.",
    ),
};
