//! Server-side remedies, one snippet per stack. Many kinds share a remedy: each table is
//! written once here and kinds point at it (see `catalogue`).
//!
//! Every snippet is a template (placeholders such as `{{origin}}`, `{{path}}`, see `template`)
//! and a complete fragment for one place of its stack's configuration: put there as it is
//! (rendered), it replaces whatever CORS handling was there and yields a working setup. The
//! lab under `tests/lab/` applies them that way, mechanically, for the stacks it runs.
//!
//! | stack | where the snippet goes | what the surrounding code provides |
//! |---|---|---|
//! | Express | `app.js`, after `const app = express();`, replacing the middleware and route wiring | `app`, `express`, `apiRouter` (the API's routes), `requireAuth` (middleware answering 401) |
//! | nginx | inside the API's `server { }` block | the application at `{{upstream}}`; relative file names are relative to nginx's configuration directory |
//! | FastAPI | the end of `main.py`, after `app = FastAPI()` and the routes | `app`, `AuthMiddleware` (Starlette middleware answering 401) |
//! | Flask | the end of `app.py`, after `app = Flask(__name__)` and the routes | `app`, `authenticate()` (returns `None`, or a 401 response) |
//! | Django | the end of the file its first line names (`# settings.py`) | `INSTALLED_APPS` and `MIDDLEWARE` lists without corsheaders; `api.auth.AuthMiddleware` |
//! | Spring | a `@Configuration` class (or the file its first line names) | Spring Boot 3 / Spring Framework 6.2, Spring Security 6 where `http` appears |
//! | ASP.NET Core | `Program.cs` (minimal hosting) | `builder`; the policy name `"app"` |
//! | Apache | inside the API's `<VirtualHost>` | mod_headers, mod_rewrite, mod_proxy_http, mod_auth_basic; the application at `{{upstream}}`; relative file names are relative to ServerRoot |
//!
//! Spring and ASP.NET Core snippets are not executed anywhere: their tests in `fix/review.rs` check
//! them against the frameworks' APIs (names that exist, required companion calls present,
//! traps absent), read from the frameworks' sources.

use super::Stack;

/// One remedy's snippets, in [`Stack::ALL`] order: the templates (with `{{placeholders}}`,
/// see `template`) and the same rendered with the default values at compile time.
pub(in crate::fix) struct Snippets {
    pub(in crate::fix) templates: [(Stack, &'static str); 8],
    pub(in crate::fix) rendered: [(Stack, &'static str); 8],
}

/// `snippets![(Stack, template), ...]`: both tables of a [`Snippets`] from one list.
macro_rules! snippets {
    ($(($stack:ident, $text:expr $(,)?)),* $(,)?) => {
        Snippets {
            templates: [$(($stack, $text)),*],
            rendered: [$(($stack, with_defaults!($text))),*],
        }
    };
}

mod access;
mod origin;
mod preflight;

pub(super) use access::{
    ALLOW_CREDENTIALS, CROSS_SITE_COOKIES, EXPOSE_HEADERS, PRIVATE_NETWORK_OPT_IN,
    PROXY_SAME_ORIGIN,
};
pub(super) use origin::{
    ALLOW_ORIGIN, CORS_ON_ERRORS, CORS_ON_REDIRECTS, SINGLE_ALLOW_ORIGIN, TIGHTEN_ALLOWLIST,
    VARY_ORIGIN,
};
pub(super) use preflight::{
    ALLOW_HEADERS, ALLOW_METHODS, ANSWER_PREFLIGHT, MAX_AGE, NO_REDIRECT_ON_PREFLIGHT,
    PREFLIGHT_BEFORE_AUTH,
};

/// Every remedy table, by id (used by reports to group kinds and by the tests).
pub(super) static ALL: [(&str, &Snippets); 17] = [
    ("allow_origin", &ALLOW_ORIGIN),
    ("cors_on_errors", &CORS_ON_ERRORS),
    ("cors_on_redirects", &CORS_ON_REDIRECTS),
    ("answer_preflight", &ANSWER_PREFLIGHT),
    ("preflight_before_auth", &PREFLIGHT_BEFORE_AUTH),
    ("no_redirect_on_preflight", &NO_REDIRECT_ON_PREFLIGHT),
    ("allow_credentials", &ALLOW_CREDENTIALS),
    ("allow_methods", &ALLOW_METHODS),
    ("allow_headers", &ALLOW_HEADERS),
    ("single_allow_origin", &SINGLE_ALLOW_ORIGIN),
    ("expose_headers", &EXPOSE_HEADERS),
    ("vary_origin", &VARY_ORIGIN),
    ("tighten_allowlist", &TIGHTEN_ALLOWLIST),
    ("max_age", &MAX_AGE),
    ("private_network_opt_in", &PRIVATE_NETWORK_OPT_IN),
    ("proxy_same_origin", &PROXY_SAME_ORIGIN),
    ("cross_site_cookies", &CROSS_SITE_COOKIES),
];
