//! CORS scenario server for the real-browser ground truth (issue 3).
//!
//! Three loopback origins:
//! * page  `http://localhost:P1`  serves the test page (`/`), the scenario list (`/scenarios.json`)
//!   and same-origin controls;
//! * api   `http://127.0.0.1:P2`  the cross-origin API, one route per scenario (`/s/<name>`);
//! * third `http://127.0.0.2:P3`  a third origin for redirect chains.
//!
//! Every scenario has a fixed request (what the page does: fetch or XHR, method, headers,
//! credentials, mode) and a fixed response per step (`/s/<name>` is step 0, `/s/<name>/<i>` step i)
//! plus an optional preflight response (any `OPTIONS` with `Access-Control-Request-Method`).
//! Header values are templates: `{page}`, `{api}`, `{third}`, `{P1}`, `{P2}`, `{P3}`, `{origin}`
//! (the request's `Origin`, empty if none) and `{name}`.
//!
//! Usage:
//! `scenario_server [--page-port N] [--api-port N] [--third-port N] [--closed-port N] [--log FILE]`
//! (ports default to 0 = pick a free one; also `CW_PAGE_PORT`, `CW_API_PORT`, `CW_THIRD_PORT`,
//! `CW_CLOSED_PORT`, `CW_LOG`). Prints one JSON line with the ports, then serves until killed.
//! Every request it receives is appended to the log as a JSON line (time, listener, method, path,
//! headers).
//! `--list` prints the scenario table as JSON (with placeholder ports) and exits.
//!
//! Behind a TLS terminator (the HTTPS + HTTP/2 run, `tests/browser/run-https.sh`):
//! `CW_PUBLIC_ORIGINS=https://localhost:Q1,https://127.0.0.1:Q2,https://127.0.0.2:Q3` names the
//! origins the browser sees; templates, the scenario list and the closed port's URL use them (and
//! their scheme), while the listeners stay on their own plaintext ports. The ports line then also
//! gives the listeners' ports as `internal`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Api,
    Page,
    Third,
    Closed,
}

#[derive(Clone, Debug)]
struct Resp {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
}

fn r(status: u16) -> Resp {
    Resp {
        status,
        headers: Vec::new(),
    }
}

impl Resp {
    fn h(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
    /// `Access-Control-Allow-Origin: {page}`
    fn ok_origin(self) -> Self {
        self.h("Access-Control-Allow-Origin", "{page}")
    }
}

#[derive(Clone, Debug)]
struct Scn {
    name: &'static str,
    desc: &'static str,
    client: &'static str,
    method: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<&'static str>,
    credentials: bool,
    mode: &'static str,
    target: Target,
    read_header: Option<&'static str>,
    /// XHR with an upload progress listener (forces a preflight).
    xhr_upload: bool,
    /// A no-cors fetch of the same URL first (fills the HTTP cache).
    prime_no_cors: bool,
    repeat: u32,
    use_cache: bool,
    /// What `cors-taxonomy.md` predicts: None = passes CORS, Some(code) = blocked with that code.
    expect: Option<&'static str>,
    /// Taxonomy kind (§12 id) the scenario exercises.
    kind: &'static str,
    preflight: Option<Resp>,
    steps: Vec<Resp>,
}

fn s(name: &'static str, kind: &'static str, desc: &'static str) -> Scn {
    Scn {
        name,
        desc,
        client: "fetch",
        method: "GET",
        headers: Vec::new(),
        body: None,
        credentials: false,
        mode: "cors",
        target: Target::Api,
        read_header: None,
        xhr_upload: false,
        prime_no_cors: false,
        repeat: 1,
        use_cache: false,
        expect: None,
        kind,
        preflight: None,
        steps: vec![r(200).ok_origin()],
    }
}

impl Scn {
    fn xhr(mut self) -> Self {
        self.client = "xhr";
        self
    }
    fn method(mut self, m: &'static str) -> Self {
        self.method = m;
        self
    }
    fn hdr(mut self, n: &'static str, v: &'static str) -> Self {
        self.headers.push((n, v));
        self
    }
    fn body(mut self, b: &'static str) -> Self {
        self.body = Some(b);
        self
    }
    fn creds(mut self) -> Self {
        self.credentials = true;
        self
    }
    fn mode(mut self, m: &'static str) -> Self {
        self.mode = m;
        self
    }
    fn target(mut self, t: Target) -> Self {
        self.target = t;
        self
    }
    fn read(mut self, h: &'static str) -> Self {
        self.read_header = Some(h);
        self
    }
    fn upload(mut self) -> Self {
        self.client = "xhr";
        self.xhr_upload = true;
        self
    }
    fn prime(mut self) -> Self {
        self.prime_no_cors = true;
        self
    }
    fn twice(mut self) -> Self {
        self.repeat = 2;
        self.use_cache = true;
        self
    }
    fn expect(mut self, e: &'static str) -> Self {
        self.expect = Some(e);
        self
    }
    fn pf(mut self, p: Resp) -> Self {
        self.preflight = Some(p);
        self
    }
    fn resp(mut self, p: Resp) -> Self {
        self.steps = vec![p];
        self
    }
    fn steps(mut self, v: Vec<Resp>) -> Self {
        self.steps = v;
        self
    }
}

/// A permissive preflight answer for `PUT` / `x-custom`.
fn pf_ok() -> Resp {
    r(204)
        .ok_origin()
        .h("Access-Control-Allow-Methods", "GET, POST, PUT")
        .h("Access-Control-Allow-Headers", "x-custom")
}

fn pf_ok_creds() -> Resp {
    pf_ok().h("Access-Control-Allow-Credentials", "true")
}

fn ok_creds() -> Resp {
    r(200)
        .ok_origin()
        .h("Access-Control-Allow-Credentials", "true")
}

fn scenarios() -> Vec<Scn> {
    use Target::*;
    let mut v = vec![
        // ---- successes (controls) ----
        s("ok_acao_exact", "success", "ACAO equals the page origin"),
        s("ok_acao_star", "success", "ACAO *").resp(r(200).h("Access-Control-Allow-Origin", "*")),
        s(
            "ok_acao_reflect",
            "success",
            "ACAO reflects Origin, Vary: Origin",
        )
        .resp(
            r(200)
                .h("Access-Control-Allow-Origin", "{origin}")
                .h("Vary", "Origin"),
        ),
        s("ok_204", "success", "204 No Content with ACAO").resp(r(204).ok_origin()),
        s(
            "ok_post_text_plain",
            "success",
            "simple POST text/plain, no preflight",
        )
        .method("POST")
        .hdr("Content-Type", "text/plain;charset=UTF-8")
        .body("hello"),
        s("ok_post_form", "success", "simple POST form-urlencoded")
            .method("POST")
            .hdr("Content-Type", "application/x-www-form-urlencoded")
            .body("a=1&b=2"),
        s("ok_head", "success", "HEAD with ACAO").method("HEAD"),
        s(
            "ok_404_with_acao",
            "success",
            "404 with ACAO is readable (not a CORS failure)",
        )
        .resp(r(404).ok_origin()),
        s("ok_500_with_acao", "success", "500 with ACAO is readable").resp(r(500).ok_origin()),
        s("ok_xhr", "success", "XHR GET, ACAO page").xhr(),
        // ---- ACAO missing ----
        s("acao_missing_200", "acao_missing", "200 without ACAO")
            .resp(r(200))
            .expect("MissingAllowOriginHeader"),
        s(
            "acao_missing_401",
            "acao_missing_error_path",
            "401 without ACAO",
        )
        .resp(r(401).h("WWW-Authenticate", "Bearer"))
        .expect("MissingAllowOriginHeader"),
        s(
            "acao_missing_404",
            "acao_missing_error_path",
            "404 without ACAO",
        )
        .resp(r(404))
        .expect("MissingAllowOriginHeader"),
        s(
            "acao_missing_500",
            "acao_missing_error_path",
            "500 without ACAO",
        )
        .resp(r(500))
        .expect("MissingAllowOriginHeader"),
        s(
            "acao_missing_502",
            "acao_missing_error_path",
            "502 without ACAO",
        )
        .resp(r(502))
        .expect("MissingAllowOriginHeader"),
        s(
            "acao_missing_post",
            "acao_missing",
            "simple POST answered without ACAO",
        )
        .method("POST")
        .hdr("Content-Type", "text/plain")
        .body("x")
        .resp(r(200))
        .expect("MissingAllowOriginHeader"),
        s("acao_missing_xhr", "acao_missing", "XHR, 200 without ACAO")
            .xhr()
            .resp(r(200))
            .expect("MissingAllowOriginHeader"),
        // ---- ACAO wrong value ----
        s(
            "acao_trailing_slash",
            "acao_trailing_slash",
            "ACAO = page origin + /",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "{page}/"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_scheme",
            "acao_scheme_mismatch",
            "ACAO https:// instead of http://",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "https://localhost:{P1}"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_port_missing",
            "acao_port_mismatch",
            "ACAO without the port",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "http://localhost"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_port_other",
            "acao_port_mismatch",
            "ACAO with another port (the API's)",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "http://localhost:{P2}"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_host_ip",
            "acao_host_spelling",
            "ACAO 127.0.0.1 for a localhost page",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "http://127.0.0.1:{P1}"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_host_case",
            "acao_host_spelling",
            "ACAO LOCALHOST (case)",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "http://LOCALHOST:{P1}"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_null",
            "acao_null_mismatch",
            "ACAO null for a real origin",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "null"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_other_origin",
            "acao_mismatch",
            "ACAO names the API origin itself",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "{api}"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_list",
            "acao_multiple_values",
            "ACAO 'page, api' in one line",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "{page}, {api}"))
        .expect("MultipleAllowOriginValues"),
        s(
            "acao_list_space",
            "acao_multiple_values",
            "ACAO 'page api' separated by a space",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "{page} {api}"))
        .expect("MultipleAllowOriginValues"),
        s(
            "acao_two_lines_same",
            "acao_multiple_values",
            "two identical ACAO lines",
        )
        .resp(r(200).ok_origin().ok_origin())
        .expect("MultipleAllowOriginValues"),
        s(
            "acao_two_lines_star",
            "acao_multiple_values",
            "two ACAO: * lines",
        )
        .resp(
            r(200)
                .h("Access-Control-Allow-Origin", "*")
                .h("Access-Control-Allow-Origin", "*"),
        )
        .expect("MultipleAllowOriginValues"),
        s(
            "acao_invalid_bare_host",
            "acao_invalid_value",
            "ACAO example.com (no scheme)",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "example.com"))
        .expect("InvalidAllowOriginValue"),
        s(
            "acao_invalid_empty",
            "acao_invalid_value",
            "ACAO present but empty",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", ""))
        .expect("InvalidAllowOriginValue"),
        s(
            "acao_invalid_subdomain_wildcard",
            "acao_invalid_value",
            "ACAO *.localhost",
        )
        .resp(r(200).h("Access-Control-Allow-Origin", "*.localhost"))
        .expect("InvalidAllowOriginValue"),
        s(
            "acao_mismatch_xhr",
            "acao_mismatch",
            "XHR, ACAO names another origin",
        )
        .xhr()
        .resp(r(200).h("Access-Control-Allow-Origin", "{api}"))
        .expect("AllowOriginMismatch"),
        s(
            "acao_stale_cache",
            "acao_stale_cache",
            "a no-cors GET caches a response without ACAO (max-age, no Vary); the CORS GET is served from the cache",
        )
        .prime()
        .resp(
            r(200)
                .h("Access-Control-Allow-Origin", "{origin}")
                .h("Content-Type", "text/javascript")
                .h("Cache-Control", "max-age=600"),
        )
        .expect("MissingAllowOriginHeader"),
        s(
            "stale_cache_vary_origin",
            "success",
            "as acao_stale_cache with Vary: Origin: the CORS GET goes to the server and gets ACAO",
        )
        .prime()
        .resp(
            r(200)
                .h("Access-Control-Allow-Origin", "{origin}")
                .h("Content-Type", "text/javascript")
                .h("Cache-Control", "max-age=600")
                .h("Vary", "Origin"),
        ),
        // ---- credentials ----
        s(
            "cred_ok",
            "success",
            "credentialed fetch, ACAO page + ACAC true",
        )
        .creds()
        .resp(ok_creds()),
        s(
            "cred_wildcard",
            "wildcard_with_credentials",
            "credentialed fetch, ACAO * + ACAC true",
        )
        .creds()
        .resp(
            r(200)
                .h("Access-Control-Allow-Origin", "*")
                .h("Access-Control-Allow-Credentials", "true"),
        )
        .expect("WildcardOriginNotAllowed"),
        s(
            "cred_wildcard_no_acac",
            "wildcard_with_credentials",
            "credentialed fetch, ACAO * only",
        )
        .creds()
        .resp(r(200).h("Access-Control-Allow-Origin", "*"))
        .expect("WildcardOriginNotAllowed"),
        s(
            "cred_acac_missing",
            "acac_invalid",
            "credentialed fetch, ACAO page, no ACAC",
        )
        .creds()
        .expect("InvalidAllowCredentials"),
        s(
            "cred_acac_true_case",
            "acac_invalid",
            "ACAC True (wrong case)",
        )
        .creds()
        .resp(
            r(200)
                .ok_origin()
                .h("Access-Control-Allow-Credentials", "True"),
        )
        .expect("InvalidAllowCredentials"),
        s(
            "cred_acac_two_lines",
            "acac_invalid",
            "ACAC true on two lines (true, true)",
        )
        .creds()
        .resp(ok_creds().h("Access-Control-Allow-Credentials", "true"))
        .expect("InvalidAllowCredentials"),
        s(
            "cred_acao_missing",
            "acao_missing",
            "credentialed fetch, no ACAO",
        )
        .creds()
        .resp(r(200).h("Access-Control-Allow-Credentials", "true"))
        .expect("MissingAllowOriginHeader"),
        s(
            "cred_xhr_ok",
            "success",
            "XHR withCredentials, ACAO page + ACAC true",
        )
        .xhr()
        .creds()
        .resp(ok_creds()),
        s(
            "cred_xhr_wildcard",
            "wildcard_with_credentials",
            "XHR withCredentials, ACAO *",
        )
        .xhr()
        .creds()
        .resp(
            r(200)
                .h("Access-Control-Allow-Origin", "*")
                .h("Access-Control-Allow-Credentials", "true"),
        )
        .expect("WildcardOriginNotAllowed"),
        s(
            "cred_xhr_acac_missing",
            "acac_invalid",
            "XHR withCredentials, no ACAC",
        )
        .xhr()
        .creds()
        .expect("InvalidAllowCredentials"),
        s("cred_nocookie_wildcard", "wildcard_with_credentials", "credentials include to the third origin (no cookie there), ACAO *")
            .creds()
            .target(Third)
            .resp(r(200).h("Access-Control-Allow-Origin", "*"))
            .expect("WildcardOriginNotAllowed"),
        s("cred_nocookie_acac_missing", "acac_invalid", "credentials include to the third origin (no cookie there), no ACAC")
            .creds()
            .target(Third)
            .expect("InvalidAllowCredentials"),
        s("cred_nocookie_ok", "success", "credentials include to the third origin (no cookie there), ACAO page + ACAC true")
            .creds()
            .target(Third)
            .resp(ok_creds()),
        s(
            "nocred_acac_true_star",
            "success",
            "no credentials, ACAO * + ACAC true: passes",
        )
        .resp(
            r(200)
                .h("Access-Control-Allow-Origin", "*")
                .h("Access-Control-Allow-Credentials", "true"),
        ),
        // ---- preflight: successes ----
        s("pf_ok_put", "success", "PUT, preflight 204 allows it")
            .method("PUT")
            .body("x")
            .pf(pf_ok()),
        s(
            "pf_ok_header",
            "success",
            "GET with x-custom, preflight 200 allows it",
        )
        .hdr("X-Custom", "1")
        .pf(r(200)
            .ok_origin()
            .h("Access-Control-Allow-Headers", "x-custom")),
        s(
            "pf_ok_header_case",
            "success",
            "x-custom allowed as X-CUSTOM (case-insensitive)",
        )
        .hdr("x-custom", "1")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Headers", "X-CUSTOM")),
        s(
            "pf_ok_json",
            "success",
            "POST application/json, content-type allowed",
        )
        .method("POST")
        .hdr("Content-Type", "application/json")
        .body("{}")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Headers", "Content-Type")),
        s(
            "pf_ok_delete_lower",
            "success",
            "fetch method 'delete' is normalized to DELETE",
        )
        .method("delete")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Methods", "DELETE")),
        s("pf_ok_patch_upper", "success", "PATCH with ACAM PATCH")
            .method("PATCH")
            .body("x")
            .pf(r(204)
                .ok_origin()
                .h("Access-Control-Allow-Methods", "PATCH")),
        s(
            "pf_ok_creds",
            "success",
            "credentialed PUT, preflight with ACAC true",
        )
        .method("PUT")
        .body("x")
        .creds()
        .pf(pf_ok_creds())
        .resp(ok_creds()),
        s("pf_ok_xhr", "success", "XHR PUT with preflight")
            .xhr()
            .method("PUT")
            .body("x")
            .pf(pf_ok()),
        s(
            "pf_auth_under_star",
            "authorization_under_wildcard",
            "Authorization with ACAH * (no credentials)",
        )
        .hdr("Authorization", "Bearer abc")
        .pf(r(204).ok_origin().h("Access-Control-Allow-Headers", "*")),
        s("pf_auth_listed", "success", "Authorization listed in ACAH")
            .hdr("Authorization", "Bearer abc")
            .pf(r(204)
                .ok_origin()
                .h("Access-Control-Allow-Headers", "authorization")),
        s(
            "pf_acam_star_nocreds",
            "success",
            "PUT, ACAM * without credentials",
        )
        .method("PUT")
        .body("x")
        .pf(r(204).ok_origin().h("Access-Control-Allow-Methods", "*")),
        s(
            "pf_acah_star_nocreds",
            "success",
            "x-custom, ACAH * without credentials",
        )
        .hdr("X-Custom", "1")
        .pf(r(204).ok_origin().h("Access-Control-Allow-Headers", "*")),
        // ---- preflight: status / ACAO ----
        s(
            "pf_401_no_acao",
            "preflight_auth_rejected",
            "preflight 401 without ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(401).h("WWW-Authenticate", "Bearer"))
        .expect("PreflightMissingAllowOriginHeader"),
        s(
            "pf_401_acao",
            "preflight_status_not_ok",
            "preflight 401 with ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(401).ok_origin().h("WWW-Authenticate", "Bearer"))
        .expect("PreflightInvalidStatus"),
        s(
            "pf_403_no_acao",
            "preflight_auth_rejected",
            "preflight 403 without ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(403))
        .expect("PreflightMissingAllowOriginHeader"),
        s(
            "pf_403_acao",
            "preflight_status_not_ok",
            "preflight 403 with ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(403).ok_origin())
        .expect("PreflightInvalidStatus"),
        s(
            "pf_404_no_acao",
            "preflight_acao_missing",
            "preflight 404 without ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(404))
        .expect("PreflightMissingAllowOriginHeader"),
        s(
            "pf_404_acao",
            "preflight_status_not_ok",
            "preflight 404 with ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(404).ok_origin())
        .expect("PreflightInvalidStatus"),
        s(
            "pf_405_no_acao",
            "preflight_acao_missing",
            "preflight 405 without ACAO (OPTIONS not routed)",
        )
        .method("PUT")
        .body("x")
        .pf(r(405).h("Allow", "GET, PUT"))
        .expect("PreflightMissingAllowOriginHeader"),
        s(
            "pf_405_acao",
            "preflight_status_not_ok",
            "preflight 405 with ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(405).ok_origin().h("Allow", "GET, PUT"))
        .expect("PreflightInvalidStatus"),
        s(
            "pf_500_no_acao",
            "preflight_acao_missing",
            "preflight 500 without ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(500))
        .expect("PreflightMissingAllowOriginHeader"),
        s(
            "pf_500_acao",
            "preflight_status_not_ok",
            "preflight 500 with ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(500).ok_origin().h("Access-Control-Allow-Methods", "PUT"))
        .expect("PreflightInvalidStatus"),
        s(
            "pf_200_no_acao",
            "preflight_acao_missing",
            "preflight 200 with ACAM but no ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(200).h("Access-Control-Allow-Methods", "PUT"))
        .expect("PreflightMissingAllowOriginHeader"),
        s(
            "pf_redirect_301_acao",
            "preflight_redirect",
            "preflight answered 301 (with ACAO)",
        )
        .method("PUT")
        .body("x")
        .pf(r(301).ok_origin().h("Location", "{api}/s/{name}/1"))
        .expect("PreflightDisallowedRedirect"),
        s(
            "pf_redirect_307_no_acao",
            "preflight_redirect",
            "preflight answered 307 without ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(r(307).h("Location", "{api}/s/{name}/1"))
        .expect("PreflightDisallowedRedirect"),
        s(
            "pf_acao_mismatch",
            "preflight_acao_mismatch",
            "preflight ACAO with a trailing slash",
        )
        .method("PUT")
        .body("x")
        .pf(r(204)
            .h("Access-Control-Allow-Origin", "{page}/")
            .h("Access-Control-Allow-Methods", "PUT"))
        .expect("PreflightAllowOriginMismatch"),
        s(
            "pf_acao_multiple",
            "preflight_acao_mismatch",
            "preflight with two ACAO lines",
        )
        .method("PUT")
        .body("x")
        .pf(pf_ok().ok_origin())
        .expect("PreflightMultipleAllowOriginValues"),
        s(
            "pf_acao_invalid",
            "preflight_acao_mismatch",
            "preflight ACAO example.com",
        )
        .method("PUT")
        .body("x")
        .pf(r(204)
            .h("Access-Control-Allow-Origin", "example.com")
            .h("Access-Control-Allow-Methods", "PUT"))
        .expect("PreflightInvalidAllowOriginValue"),
        s(
            "pf_cred_wildcard",
            "preflight_credentials_fail",
            "credentialed PUT, preflight ACAO *",
        )
        .method("PUT")
        .body("x")
        .creds()
        .pf(r(204)
            .h("Access-Control-Allow-Origin", "*")
            .h("Access-Control-Allow-Methods", "PUT")
            .h("Access-Control-Allow-Credentials", "true"))
        .resp(ok_creds())
        .expect("PreflightWildcardOriginNotAllowed"),
        s(
            "pf_cred_acac_missing",
            "preflight_credentials_fail",
            "credentialed PUT, preflight without ACAC",
        )
        .method("PUT")
        .body("x")
        .creds()
        .pf(pf_ok())
        .resp(ok_creds())
        .expect("PreflightInvalidAllowCredentials"),
        // ---- preflight: methods / headers ----
        s(
            "pf_method_not_allowed",
            "method_not_allowed",
            "PUT, ACAM GET, POST",
        )
        .method("PUT")
        .body("x")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Methods", "GET, POST"))
        .expect("MethodDisallowedByPreflightResponse"),
        s(
            "pf_method_no_acam",
            "method_not_allowed",
            "DELETE, preflight without ACAM",
        )
        .method("DELETE")
        .pf(r(204).ok_origin())
        .expect("MethodDisallowedByPreflightResponse"),
        s(
            "pf_method_lower_patch",
            "method_case_mismatch",
            "fetch method 'patch' (kept lowercase), ACAM PATCH",
        )
        .method("patch")
        .body("x")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Methods", "PATCH"))
        .expect("MethodDisallowedByPreflightResponse"),
        s(
            "pf_method_xhr",
            "method_not_allowed",
            "XHR DELETE, ACAM GET",
        )
        .xhr()
        .method("DELETE")
        .pf(r(204).ok_origin().h("Access-Control-Allow-Methods", "GET"))
        .expect("MethodDisallowedByPreflightResponse"),
        s(
            "pf_acam_star_creds",
            "method_wildcard_with_credentials",
            "credentialed PUT, ACAM * only",
        )
        .method("PUT")
        .body("x")
        .creds()
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Credentials", "true")
            .h("Access-Control-Allow-Methods", "*"))
        .resp(ok_creds())
        .expect("MethodDisallowedByPreflightResponse"),
        s(
            "pf_header_json",
            "header_not_allowed",
            "POST application/json, ACAH missing",
        )
        .method("POST")
        .hdr("Content-Type", "application/json")
        .body("{}")
        .pf(r(204).ok_origin().h("Access-Control-Allow-Methods", "POST"))
        .expect("HeaderDisallowedByPreflightResponse"),
        s(
            "pf_header_xrw",
            "header_not_allowed",
            "X-Requested-With not allowed",
        )
        .hdr("X-Requested-With", "XMLHttpRequest")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Headers", "x-custom"))
        .expect("HeaderDisallowedByPreflightResponse"),
        s(
            "pf_header_order",
            "header_not_allowed",
            "headers X-B then X-A, neither allowed: which is named?",
        )
        .hdr("X-B", "1")
        .hdr("X-A", "1")
        .pf(r(204).ok_origin())
        .expect("HeaderDisallowedByPreflightResponse"),
        s(
            "pf_header_order_xhr",
            "header_not_allowed",
            "XHR sets X-B then X-A, neither allowed: which is named?",
        )
        .xhr()
        .hdr("X-B", "1")
        .hdr("X-A", "1")
        .pf(r(204).ok_origin())
        .expect("HeaderDisallowedByPreflightResponse"),
        s(
            "pf_header_xhr",
            "header_not_allowed",
            "XHR with x-custom, not allowed",
        )
        .xhr()
        .hdr("X-Custom", "1")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Headers", "x-other"))
        .expect("HeaderDisallowedByPreflightResponse"),
        s(
            "pf_acah_star_creds",
            "header_wildcard_with_credentials",
            "credentialed x-custom, ACAH * only",
        )
        .hdr("X-Custom", "1")
        .creds()
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Credentials", "true")
            .h("Access-Control-Allow-Headers", "*"))
        .resp(ok_creds())
        .expect("HeaderDisallowedByPreflightResponse"),
        s(
            "pf_acam_unparseable",
            "acam_unparseable",
            "ACAM 'GET POST PUT' (spaces, not a list)",
        )
        .method("PUT")
        .body("x")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Methods", "GET POST PUT"))
        .expect("InvalidAllowMethodsPreflightResponse"),
        s(
            "pf_acah_unparseable",
            "acah_unparseable",
            "ACAH 'x-custom x-other' (spaces)",
        )
        .hdr("X-Custom", "1")
        .pf(r(204)
            .ok_origin()
            .h("Access-Control-Allow-Headers", "x-custom x-other"))
        .expect("InvalidAllowHeadersPreflightResponse"),
        s(
            "pf_actual_acao_missing",
            "acao_missing",
            "preflight passes, the actual response lacks ACAO",
        )
        .method("PUT")
        .body("x")
        .pf(pf_ok())
        .resp(r(200))
        .expect("MissingAllowOriginHeader"),
        // ---- preflight cache ----
        s(
            "pf_cache_maxage",
            "success",
            "same PUT twice, Max-Age 600: one preflight expected",
        )
        .method("PUT")
        .body("x")
        .twice()
        .pf(pf_ok().h("Access-Control-Max-Age", "600")),
        s(
            "pf_cache_maxage0",
            "success",
            "same PUT twice, Max-Age 0: two preflights expected",
        )
        .method("PUT")
        .body("x")
        .twice()
        .pf(pf_ok().h("Access-Control-Max-Age", "0")),
        s(
            "pf_cache_default",
            "success",
            "same PUT twice, no Max-Age (5 s default): one preflight expected",
        )
        .method("PUT")
        .body("x")
        .twice()
        .pf(pf_ok()),
        s("pf_cache_maxage_invalid", "success", "same PUT twice, Max-Age 'abc' (treated as the 5 s default)")
            .method("PUT")
            .body("x")
            .twice()
            .pf(pf_ok().h("Access-Control-Max-Age", "abc")),
        s("pf_cache_maxage_negative", "success", "same PUT twice, Max-Age -1 (no caching)")
            .method("PUT")
            .body("x")
            .twice()
            .pf(pf_ok().h("Access-Control-Max-Age", "-1")),
        // ---- more preflight triggers and checks ----
        s("pf_xhr_upload_forced", "success", "XHR POST text/plain with an upload listener: forced preflight")
            .upload()
            .method("POST")
            .hdr("Content-Type", "text/plain")
            .body("hello")
            .pf(r(204).ok_origin()),
        s("pf_xhr_upload_forced_no_acao", "preflight_acao_missing", "forced preflight (upload listener) answered without ACAO")
            .upload()
            .method("POST")
            .hdr("Content-Type", "text/plain")
            .body("hello")
            .pf(r(204))
            .expect("PreflightMissingAllowOriginHeader"),
        s("pf_safelist_overflow_accept", "safelist_overflow_preflight", "Accept value over 128 bytes is not safelisted; ACAH lacks accept")
            .hdr("Accept", "application/json,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            .pf(r(204).ok_origin())
            .expect("HeaderDisallowedByPreflightResponse"),
        s("pf_range_suffix", "safelist_overflow_preflight", "Range bytes=-500 (suffix range, not safelisted); ACAH lacks range")
            .hdr("Range", "bytes=-500")
            .pf(r(204).ok_origin())
            .expect("HeaderDisallowedByPreflightResponse"),
        s("ok_range_safelisted", "success", "Range bytes=0-10 is safelisted: no preflight").hdr("Range", "bytes=0-10"),
        s("pf_acam_lowercase_put", "method_case_mismatch", "PUT with ACAM 'put' (case-sensitive match)")
            .method("PUT")
            .body("x")
            .pf(r(204).ok_origin().h("Access-Control-Allow-Methods", "put"))
            .expect("MethodDisallowedByPreflightResponse"),
        s("pf_acao_star_ok", "success", "PUT, preflight ACAO * without credentials")
            .method("PUT")
            .body("x")
            .pf(r(204).h("Access-Control-Allow-Origin", "*").h("Access-Control-Allow-Methods", "PUT"))
            .resp(r(200).h("Access-Control-Allow-Origin", "*")),
        s("pf_cred_acac_true_case", "preflight_credentials_fail", "credentialed PUT, preflight ACAC True")
            .method("PUT")
            .body("x")
            .creds()
            .pf(pf_ok().h("Access-Control-Allow-Credentials", "True"))
            .resp(ok_creds())
            .expect("PreflightInvalidAllowCredentials"),
        // ---- redirects of actual requests ----
        s(
            "redir_same_origin_ok",
            "success",
            "API 302 to the API, both with ACAO",
        )
        .steps(vec![
            r(302).ok_origin().h("Location", "{api}/s/{name}/1"),
            r(200).ok_origin(),
        ]),
        s(
            "redir_no_acao",
            "acao_missing_on_redirect",
            "API 302 without ACAO",
        )
        .steps(vec![
            r(302).h("Location", "{api}/s/{name}/1"),
            r(200).ok_origin(),
        ])
        .expect("MissingAllowOriginHeader"),
        s(
            "redir_target_no_acao",
            "acao_missing",
            "API 302 (ACAO) to the API whose 200 lacks ACAO",
        )
        .steps(vec![
            r(302).ok_origin().h("Location", "{api}/s/{name}/1"),
            r(200),
        ])
        .expect("MissingAllowOriginHeader"),
        s(
            "redir_taint_acao_page",
            "redirect_tainted_origin",
            "API→third: Origin becomes null, third answers ACAO page",
        )
        .steps(vec![
            r(302).ok_origin().h("Location", "{third}/s/{name}/1"),
            r(200).ok_origin(),
        ])
        .expect("AllowOriginMismatch"),
        s(
            "redir_taint_acao_null",
            "success",
            "API→third, third answers ACAO null",
        )
        .steps(vec![
            r(302).ok_origin().h("Location", "{third}/s/{name}/1"),
            r(200).h("Access-Control-Allow-Origin", "null"),
        ]),
        s(
            "redir_taint_acao_star",
            "success",
            "API→third, third answers ACAO *",
        )
        .steps(vec![
            r(302).ok_origin().h("Location", "{third}/s/{name}/1"),
            r(200).h("Access-Control-Allow-Origin", "*"),
        ]),
        s(
            "redir_taint_reflect",
            "success",
            "API→third, third reflects Origin (null)",
        )
        .steps(vec![
            r(302).ok_origin().h("Location", "{third}/s/{name}/1"),
            r(200).h("Access-Control-Allow-Origin", "{origin}"),
        ]),
        s(
            "redir_taint_back_to_api",
            "redirect_tainted_origin",
            "API→third→API, final ACAO page",
        )
        .steps(vec![
            r(302).ok_origin().h("Location", "{third}/s/{name}/1"),
            r(302)
                .h("Access-Control-Allow-Origin", "*")
                .h("Location", "{api}/s/{name}/2"),
            r(200).ok_origin(),
        ])
        .expect("AllowOriginMismatch"),
        s(
            "redir_taint_creds_null",
            "success",
            "credentialed API→third, third ACAO null + ACAC true",
        )
        .creds()
        .steps(vec![
            r(302)
                .ok_origin()
                .h("Access-Control-Allow-Credentials", "true")
                .h("Location", "{third}/s/{name}/1"),
            r(200)
                .h("Access-Control-Allow-Origin", "null")
                .h("Access-Control-Allow-Credentials", "true"),
        ]),
        s(
            "redir_to_page_origin",
            "redirect_tainted_origin",
            "API→page origin: tainted, page answers without ACAO",
        )
        .steps(vec![
            r(302).ok_origin().h("Location", "{page}/s/{name}/1"),
            r(200),
        ])
        .expect("MissingAllowOriginHeader"),
        s(
            "redir_same_to_cross_ok",
            "success",
            "same-origin URL 302 to the API (not tainted), API ACAO page",
        )
        .target(Page)
        .steps(vec![
            r(302).h("Location", "{api}/s/{name}/1"),
            r(200).ok_origin(),
        ]),
        s(
            "redir_same_to_cross_no_acao",
            "acao_missing",
            "same-origin URL 302 to the API, API without ACAO",
        )
        .target(Page)
        .steps(vec![r(302).h("Location", "{api}/s/{name}/1"), r(200)])
        .expect("MissingAllowOriginHeader"),
        s(
            "redir_userinfo",
            "redirect_userinfo",
            "API 302 to http://user:pass@third/...",
        )
        .steps(vec![
            r(302)
                .ok_origin()
                .h("Location", "http://user:pass@127.0.0.2:{P3}/s/{name}/1"),
            r(200).h("Access-Control-Allow-Origin", "*"),
        ])
        .expect("RedirectContainsCredentials"),
        s(
            "redir_preflight_again",
            "redirect_new_preflight",
            "PUT 307 API→third, third preflight reflects null",
        )
        .method("PUT")
        .body("x")
        .pf(r(204)
            .h("Access-Control-Allow-Origin", "{origin}")
            .h("Access-Control-Allow-Methods", "PUT"))
        .steps(vec![
            r(307).ok_origin().h("Location", "{third}/s/{name}/1"),
            r(200).h("Access-Control-Allow-Origin", "{origin}"),
        ]),
        s(
            "redir_preflight_again_fails",
            "redirect_new_preflight",
            "PUT 307 API→third, third preflight ACAO page (Origin null)",
        )
        .method("PUT")
        .body("x")
        .pf(r(204).ok_origin().h("Access-Control-Allow-Methods", "PUT"))
        .steps(vec![
            r(307).ok_origin().h("Location", "{third}/s/{name}/1"),
            r(200).ok_origin(),
        ])
        .expect("PreflightAllowOriginMismatch"),
        s(
            "redir_xhr_taint",
            "redirect_tainted_origin",
            "XHR API→third, third ACAO page",
        )
        .xhr()
        .steps(vec![
            r(302).ok_origin().h("Location", "{third}/s/{name}/1"),
            r(200).ok_origin(),
        ])
        .expect("AllowOriginMismatch"),
        s("redir_303_post", "success", "POST 303 API→API, followed as GET")
            .method("POST")
            .hdr("Content-Type", "text/plain")
            .body("x")
            .steps(vec![r(303).ok_origin().h("Location", "{api}/s/{name}/1"), r(200).ok_origin()]),
        s("redir_loop", "redirect_loop", "API redirects to itself forever (net::ERR_TOO_MANY_REDIRECTS)")
            .steps(vec![r(302).ok_origin().h("Location", "{api}/s/{name}")]),
        s("redir_to_data_url", "redirect_bad_scheme", "API 302 to a data: URL")
            .steps(vec![r(302).ok_origin().h("Location", "data:text/plain,hi")]),
        // ---- expose headers ----
        s(
            "expose_hidden",
            "expose_header_hidden",
            "fetch reads X-Secret, not exposed",
        )
        .read("X-Secret")
        .resp(r(200).ok_origin().h("X-Secret", "s3cr3t")),
        s(
            "expose_listed",
            "success",
            "fetch reads X-Secret, exposed by ACEH",
        )
        .read("X-Secret")
        .resp(
            r(200)
                .ok_origin()
                .h("X-Secret", "s3cr3t")
                .h("Access-Control-Expose-Headers", "X-Secret"),
        ),
        s(
            "expose_star_creds",
            "expose_header_hidden",
            "credentialed fetch reads X-Secret, ACEH * (literal with credentials)",
        )
        .creds()
        .read("X-Secret")
        .resp(
            ok_creds()
                .h("X-Secret", "s3cr3t")
                .h("Access-Control-Expose-Headers", "*"),
        ),
        s("expose_star_nocreds", "success", "fetch reads X-Secret, ACEH * without credentials")
            .read("X-Secret")
            .resp(r(200).ok_origin().h("X-Secret", "s3cr3t").h("Access-Control-Expose-Headers", "*")),
        s(
            "expose_hidden_xhr",
            "expose_header_hidden",
            "XHR getResponseHeader('X-Secret'), not exposed",
        )
        .xhr()
        .read("X-Secret")
        .resp(r(200).ok_origin().h("X-Secret", "s3cr3t")),
        // ---- non-CORS controls ----
        s("same_origin_get", "same_origin", "same-origin GET, no ACAO")
            .target(Page)
            .resp(r(200)),
        s(
            "same_origin_put_json",
            "same_origin",
            "same-origin PUT application/json, no preflight",
        )
        .target(Page)
        .method("PUT")
        .hdr("Content-Type", "application/json")
        .body("{}")
        .resp(r(200)),
        s("same_origin_xhr", "same_origin", "same-origin XHR")
            .xhr()
            .target(Page)
            .resp(r(200)),
        s(
            "no_cors_get",
            "opaque_no_cors",
            "no-cors GET to the API without ACAO",
        )
        .mode("no-cors")
        .resp(r(200)),
        s(
            "no_cors_post",
            "no_cors_headers_dropped",
            "no-cors POST with a JSON content type (dropped)",
        )
        .mode("no-cors")
        .method("POST")
        .hdr("Content-Type", "application/json")
        .body("{}")
        .resp(r(400)),
        s(
            "conn_refused",
            "connection_refused",
            "fetch to a closed port",
        )
        .target(Closed),
        s(
            "conn_refused_pf",
            "connection_refused",
            "PUT to a closed port (preflight gets no answer)",
        )
        .target(Closed)
        .method("PUT")
        .body("x"),
        s(
            "mode_same_origin",
            "disallowed_by_mode",
            "fetch mode same-origin to the API",
        )
        .mode("same-origin")
        .expect("DisallowedByMode"),
    ];
    // A third origin control: plain success from 127.0.0.2.
    v.push(
        s(
            "ok_third_origin",
            "success",
            "GET to the third origin with ACAO page",
        )
        .target(Third),
    );
    v
}

struct Ctx {
    page: String,
    api: String,
    third: String,
    /// `http`, or the scheme of `CW_PUBLIC_ORIGINS`.
    scheme: String,
    ports: [u16; 3],
    scn: HashMap<&'static str, Scn>,
    log: Option<Mutex<BufWriter<File>>>,
}

impl Ctx {
    fn expand(&self, tpl: &str, origin: &str, name: &str) -> String {
        tpl.replace("{page}", &self.page)
            .replace("{api}", &self.api)
            .replace("{third}", &self.third)
            .replace("{P1}", &self.ports[0].to_string())
            .replace("{P2}", &self.ports[1].to_string())
            .replace("{P3}", &self.ports[2].to_string())
            .replace("{origin}", origin)
            .replace("{name}", name)
    }

    fn scenario_json(&self, sc: &Scn, closed: u16) -> Value {
        let base = match sc.target {
            Target::Api => self.api.clone(),
            Target::Page => self.page.clone(),
            Target::Third => self.third.clone(),
            Target::Closed => format!("{}://127.0.0.1:{closed}", self.scheme),
        };
        let target = match sc.target {
            Target::Api => "api",
            Target::Page => "page",
            Target::Third => "third",
            Target::Closed => "closed",
        };
        let resp_json = |r: &Resp| {
            json!({
                "status": r.status,
                "headers": r.headers.iter().map(|(n, v)| json!([n, self.expand(v, "{origin}", sc.name)])).collect::<Vec<_>>(),
            })
        };
        json!({
            "name": sc.name,
            "kind": sc.kind,
            "desc": sc.desc,
            "url": format!("{base}/s/{}", sc.name),
            "target": target,
            "client": sc.client,
            "method": sc.method,
            "headers": sc.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "body": sc.body,
            "credentials": sc.credentials,
            "mode": sc.mode,
            "read_header": sc.read_header,
            "xhr_upload": sc.xhr_upload,
            "prime_no_cors": sc.prime_no_cors,
            "repeat": sc.repeat,
            "use_cache": sc.use_cache,
            "expect": {"blocked": sc.expect.is_some(), "cors_error": sc.expect},
            "server": {
                "preflight": sc.preflight.as_ref().map(resp_json),
                "steps": sc.steps.iter().map(resp_json).collect::<Vec<_>>(),
            },
        })
    }
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

const PAGE_HTML: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>corswatch scenarios</title>\
<link rel=\"icon\" href=\"data:,\"></head><body><h1>corswatch CORS scenarios</h1></body></html>";

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Builds the response for one request: (status, headers, body).
fn route(
    ctx: &Ctx,
    listener: &str,
    req: &Request,
    closed: u16,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let origin = req.header("Origin").unwrap_or("").to_string();
    let path = req.path.split('?').next().unwrap_or("").to_string();
    let text = |status: u16, ct: &str, body: String| {
        (
            status,
            vec![("Content-Type".to_string(), ct.to_string())],
            body.into_bytes(),
        )
    };
    if listener == "page" && path == "/" {
        return text(200, "text/html; charset=utf-8", PAGE_HTML.to_string());
    }
    if listener == "page" && path == "/scenarios.json" {
        let list: Vec<Value> = scenarios()
            .iter()
            .map(|s| ctx.scenario_json(s, closed))
            .collect();
        let doc = json!({
            "page": ctx.page, "api": ctx.api, "third": ctx.third,
            "closed": format!("{}://127.0.0.1:{closed}", ctx.scheme),
            "scenarios": list,
        });
        return text(200, "application/json", doc.to_string());
    }
    if listener == "api" && path == "/setcookie" {
        return (
            200,
            vec![
                ("Content-Type".into(), "text/html; charset=utf-8".into()),
                (
                    "Set-Cookie".into(),
                    "cw_none=1; Path=/; SameSite=None; Secure".into(),
                ),
                ("Set-Cookie".into(), "cw_lax=1; Path=/".into()),
            ],
            b"<!doctype html><title>cookie set</title>cookies set".to_vec(),
        );
    }
    if let Some(rest) = path.strip_prefix("/s/") {
        let mut parts = rest.splitn(2, '/');
        let name = parts.next().unwrap_or("");
        let step: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if let Some(sc) = ctx.scn.get(name) {
            let is_preflight =
                req.method == "OPTIONS" && req.header("Access-Control-Request-Method").is_some();
            let resp = if is_preflight {
                sc.preflight.clone().unwrap_or_else(|| r(404))
            } else {
                sc.steps.get(step).cloned().unwrap_or_else(|| r(404))
            };
            // A header whose whole template is `{origin}` is left out when the request has no
            // Origin (so a reflecting server sends no ACAO to a no-cors request).
            let mut headers: Vec<(String, String)> = resp
                .headers
                .iter()
                .filter(|(_, v)| !(*v == "{origin}" && origin.is_empty()))
                .map(|(n, v)| (n.to_string(), ctx.expand(v, &origin, name)))
                .collect();
            let has = |hs: &Vec<(String, String)>, n: &str| {
                hs.iter().any(|(h, _)| h.eq_ignore_ascii_case(n))
            };
            let body = if resp.status == 204 || resp.status == 304 {
                Vec::new()
            } else if headers
                .iter()
                .any(|(h, v)| h.eq_ignore_ascii_case("Content-Type") && v.contains("javascript"))
            {
                // A script body: opaque (no-cors) responses of it pass ORB, so they get cached.
                format!("// scenario {name} step {step} listener {listener}\n").into_bytes()
            } else {
                if !has(&headers, "Content-Type") {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                format!("{{\"scenario\":\"{name}\",\"step\":{step},\"listener\":\"{listener}\"}}")
                    .into_bytes()
            };
            if !has(&headers, "Cache-Control") {
                headers.push(("Cache-Control".into(), "no-store".into()));
            }
            return (resp.status, headers, body);
        }
    }
    text(404, "text/plain", "not found".into())
}

fn log_request(
    ctx: &Ctx,
    listener: &str,
    local: SocketAddr,
    peer: SocketAddr,
    req: &Request,
    body_len: usize,
) {
    if let Some(log) = &ctx.log {
        let line = json!({
            "t": now_ms(),
            "listener": listener,
            "local": local.to_string(),
            "peer": peer.to_string(),
            "method": req.method,
            "path": req.path,
            "headers": req.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "body_len": body_len,
        });
        if let Ok(mut w) = log.lock() {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }
}

fn handle(ctx: Arc<Ctx>, listener: &'static str, mut stream: TcpStream, closed: u16) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let local = match stream.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let peer = match stream.peer_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // Read until a full header block is available.
        let (req, header_len, content_len) = loop {
            let mut hdrs = [httparse::EMPTY_HEADER; 64];
            let mut preq = httparse::Request::new(&mut hdrs);
            match preq.parse(&buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let headers: Vec<(String, String)> = preq
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let req = Request {
                        method: preq.method.unwrap_or("").to_string(),
                        path: preq.path.unwrap_or("").to_string(),
                        headers,
                    };
                    let cl = req
                        .header("Content-Length")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (req, n, cl);
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return,
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        while buf.len() < header_len + content_len {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..header_len + content_len);
        log_request(&ctx, listener, local, peer, &req, content_len);
        let (status, headers, body) = route(&ctx, listener, &req, closed);
        let close = req
            .header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (n, v) in &headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        let body: &[u8] = if req.method == "HEAD" { &[] } else { &body };
        out.push_str(&format!(
            "Content-Length: {}\r\n",
            if req.method == "HEAD" { 0 } else { body.len() }
        ));
        if close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        if stream.write_all(&bytes).is_err() || close {
            return;
        }
    }
}

fn arg_or_env(args: &[String], flag: &str, env: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port = |flag, env| -> anyhow::Result<u16> {
        Ok(arg_or_env(&args, flag, env)
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or(0))
    };
    let bind = |ip: &str, p: u16| TcpListener::bind((ip, p));
    let page_l = bind("127.0.0.1", port("--page-port", "CW_PAGE_PORT")?)?;
    let api_l = bind("127.0.0.1", port("--api-port", "CW_API_PORT")?)?;
    let third_l = bind("127.0.0.2", port("--third-port", "CW_THIRD_PORT")?)?;
    // A port that nothing listens on: bind (a given one, or any), note, close.
    let closed = bind("127.0.0.1", port("--closed-port", "CW_CLOSED_PORT")?)?
        .local_addr()?
        .port();
    let ports = [
        page_l.local_addr()?.port(),
        api_l.local_addr()?.port(),
        third_l.local_addr()?.port(),
    ];
    // "localhost" may resolve to ::1 first; answer there too when IPv6 loopback exists, so Chromium
    // does not see a refused connection on the page origin.
    let page6 = TcpListener::bind(("::1", ports[0])).ok();
    let log = match arg_or_env(&args, "--log", "CW_LOG") {
        Some(p) => Some(Mutex::new(BufWriter::new(File::create(p)?))),
        None => None,
    };
    let mut scn = HashMap::new();
    for s in scenarios() {
        if scn.insert(s.name, s.clone()).is_some() {
            anyhow::bail!("duplicate scenario {}", s.name);
        }
    }
    let internal = ports;
    let mut origins = [
        format!("http://localhost:{}", ports[0]),
        format!("http://127.0.0.1:{}", ports[1]),
        format!("http://127.0.0.2:{}", ports[2]),
    ];
    let mut ports = ports;
    let mut scheme = "http".to_string();
    if let Ok(public) = std::env::var("CW_PUBLIC_ORIGINS") {
        let list: Vec<&str> = public.split(',').map(str::trim).collect();
        let [page, api, third] = list.as_slice() else {
            anyhow::bail!("CW_PUBLIC_ORIGINS: three origins (page, api, third), got {public}");
        };
        for (i, o) in [page, api, third].into_iter().enumerate() {
            let port = o.rsplit(':').next().and_then(|p| p.parse().ok());
            let Some(port) = port else {
                anyhow::bail!("CW_PUBLIC_ORIGINS: no port in {o}");
            };
            origins[i] = o.to_string();
            ports[i] = port;
        }
        scheme = page.split("://").next().unwrap_or("http").to_string();
    }
    let [page, api, third] = origins;
    let ctx = Arc::new(Ctx {
        page,
        api,
        third,
        scheme,
        ports,
        scn,
        log,
    });
    if args.iter().any(|a| a == "--list") {
        let list: Vec<Value> = scenarios()
            .iter()
            .map(|s| ctx.scenario_json(s, closed))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    println!(
        "{}",
        json!({"page": ports[0], "api": ports[1], "third": ports[2], "closed": closed,
               "page_origin": ctx.page, "api_origin": ctx.api, "third_origin": ctx.third,
               "closed_origin": format!("{}://127.0.0.1:{closed}/", ctx.scheme),
               "internal": {"page": internal[0], "api": internal[1], "third": internal[2]},
               "page_ipv6": page6.is_some(), "scenarios": ctx.scn.len()})
    );
    std::io::stdout().flush()?;
    let mut handles = Vec::new();
    let mut listeners: Vec<(&'static str, TcpListener)> =
        vec![("page", page_l), ("api", api_l), ("third", third_l)];
    if let Some(l) = page6 {
        listeners.push(("page", l));
    }
    for (name, l) in listeners {
        let ctx = ctx.clone();
        handles.push(std::thread::spawn(move || {
            // This loop must never end: a listener that dies turns every later scenario on its
            // origin into a connection refused. A failed spawn (EAGAIN on a busy machine) is
            // retried; accept errors are reported and skipped.
            for stream in l.incoming() {
                let stream = match stream {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("scenario_server: accept on {name}: {e}");
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                };
                let shared = Arc::new(Mutex::new(Some(stream)));
                for attempt in 0..100 {
                    let ctx = ctx.clone();
                    let slot = shared.clone();
                    let spawned = std::thread::Builder::new().spawn(move || {
                        let s = slot.lock().ok().and_then(|mut g| g.take());
                        if let Some(s) = s {
                            handle(ctx, name, s, closed);
                        }
                    });
                    match spawned {
                        Ok(_) => break,
                        Err(e) => {
                            eprintln!("scenario_server: spawn for {name} (attempt {attempt}): {e}");
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            }
        }));
    }
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}
