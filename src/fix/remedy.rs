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
//! Spring and ASP.NET Core snippets are not executed anywhere: their tests in `mod.rs` check
//! them against the frameworks' APIs (names that exist, required companion calls present,
//! traps absent), read from the frameworks' sources.

use super::Stack::{self, *};
use super::template::with_defaults;

/// One remedy's snippets, in [`Stack::ALL`] order: the templates (with `{{placeholders}}`,
/// see `template`) and the same rendered with the default values at compile time.
pub(super) struct Snippets {
    pub(super) templates: [(Stack, &'static str); 8],
    pub(super) rendered: [(Stack, &'static str); 8],
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

/// Send `Access-Control-Allow-Origin` with the exact origin on every response.
pub(super) static ALLOW_ORIGIN: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
// The exact origin: scheme + host + port, no trailing slash, no path. Registered
// before the routes, so that every answer of the API carries the header.
app.use(cors({ origin: ['{{origin}}'] }));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    if ($request_method = OPTIONS) {
        # add_header inside "if" replaces the location's own: repeat them here.
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        add_header Access-Control-Allow-Methods "{{methods}}" always;
        add_header Access-Control-Allow-Headers "{{headers}}" always;
        return 204;
    }
    # The origin exactly as the browser sends it in Origin: scheme, host, port.
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

app.add_middleware(
    CORSMiddleware,
    allow_origins=["{{origin}}"],  # exact: no trailing slash, no path
    allow_methods=[{{methods|dq}}],  # Starlette's default: GET only
    allow_headers=[{{headers|dq}}],  # default: none
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Compared with the request's Origin byte for byte: same scheme, host and port.
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}})"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")  # first of all
CORS_ALLOWED_ORIGINS = ["{{origin}}"]  # scheme://host[:port], no path"#,
    ),
    (
        Spring,
        r#"@Configuration
class ApiCors implements WebMvcConfigurer {
    @Override
    public void addCorsMappings(CorsRegistry registry) {
        registry.addMapping("{{path}}**")
                .allowedOrigins("{{origin}}")  // exact origin, no trailing slash
                .allowedMethods({{methods|dq}})  // default: GET, HEAD, POST
                .allowedHeaders({{headers|dq}});
    }
}
// With Spring Security also call http.cors(Customizer.withDefaults()) in the
// SecurityFilterChain: it ignores these mappings otherwise."#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}")   // exact origin, no trailing slash
    .WithMethods({{methods|dq}})   // none by default: preflights fail
    .WithHeaders({{headers|dq}})));
var app = builder.Build();
app.UseRouting();
app.UseCors("app");   // after UseRouting, before UseAuthentication/UseAuthorization
app.UseAuthentication();
app.UseAuthorization();
app.MapControllers();"#,
    ),
    (
        Apache,
        r#"<Location "{{path}}">
    # mod_headers: the exact origin, and "always" so that non-2xx answers carry it.
    Header always set Access-Control-Allow-Origin "{{origin}}"
    Header always set Access-Control-Allow-Methods "{{methods}}"
    Header always set Access-Control-Allow-Headers "{{headers}}"
    ProxyPass "{{upstream}}{{path}}"
</Location>
# Preflights get their 204 here; the application need not know OPTIONS.
RewriteEngine On
RewriteCond %{REQUEST_METHOD} =OPTIONS
RewriteRule "^{{path}}" - [R=204,L]"#,
    ),
];

/// Keep the CORS headers on 4xx/5xx answers: CORS runs outside error handling.
pub(super) static CORS_ON_ERRORS: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({ origin: ['{{origin}}'] }));  // first: before body parsers, auth, routes
app.use(express.json());  // its 400 for a malformed body now carries the headers
app.use('{{path}}', apiRouter);
// Error handlers answer on the same res, so the headers set by cors() stay.
app.use((err, req, res, next) => {
  res.status(err.status || 500).json({ error: 'request failed' });
});"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    # Without "always", add_header skips 4xx/5xx: every error of the application
    # (and nginx's own 502/504) reaches the page as a CORS error instead.
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from starlette.middleware.cors import CORSMiddleware

# Unhandled exceptions become 500s in ServerErrorMiddleware, outside every
# add_middleware() layer. Wrapping the finished app puts CORS outside it instead:
# the last line of main.py, still served as main:app.
app = CORSMiddleware(app, allow_origins=["{{origin}}"],
                     allow_methods=[{{methods|dq}}], allow_headers=[{{headers|dq}}])"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# r"/*" also covers 404s for unknown paths; intercept_exceptions (the default)
# adds the headers to Flask's own 500 answers. 502/504 from gunicorn or the
# proxy never reach Flask: set the header there as well.
CORS(app, resources={r"/*": {"origins": ["{{origin}}"]}}, intercept_exceptions=True)"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
# Outermost, so that it also sees the 4xx/5xx answers of every later middleware.
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = ["{{origin}}"]"#,
    ),
    (
        Spring,
        r#"// A servlet filter ahead of everything sets the headers before a controller, an
// @ExceptionHandler or /error writes the answer. Not named "corsFilter": Spring
// Security looks that bean up as a CorsFilter (with Security, http.cors() suffices).
@Bean
FilterRegistrationBean<CorsFilter> corsFilterRegistration(CorsConfigurationSource corsConfigurationSource) {
    var registration = new FilterRegistrationBean<>(new CorsFilter(corsConfigurationSource));
    registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
    return registration;
}
@Bean
UrlBasedCorsConfigurationSource corsConfigurationSource() {
    var config = new CorsConfiguration();
    config.setAllowedOrigins(List.of("{{origin}}"));
    config.setAllowedMethods(List.of({{methods|dq}}));
    config.setAllowedHeaders(List.of({{headers|dq}}));
    var source = new UrlBasedCorsConfigurationSource();
    source.registerCorsConfiguration("{{path}}**", config);
    return source;
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}").WithMethods({{methods|dq}}).WithHeaders({{headers|dq}})));
var app = builder.Build();
app.UseExceptionHandler("/error");  // exceptions become 500 answers
app.UseRouting();
app.UseCors("app");          // adds its headers when the answer starts,
app.UseAuthentication();     // so 401, 403 and 500 answers keep them
app.UseAuthorization();
app.MapControllers();"#,
    ),
    (
        Apache,
        r#"<Location "{{path}}">
    # "Header set" writes the onsuccess table, which Apache leaves out of answers
    # it makes itself: its 503 when the application is down, 502, ErrorDocument
    # pages, redirects. "always" covers those as well.
    Header always set Access-Control-Allow-Origin "{{origin}}"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// Put the CORS headers on 3xx answers to CORS requests too.
pub(super) static CORS_ON_REDIRECTS: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({ origin: ['{{origin}}'] }));
// Declared after cors(), so this 307 carries Access-Control-Allow-Origin, and
// so does its target.
app.get('{{path}}report', (req, res) => res.redirect(307, '{{path}}v2/report'));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location = {{path}}report {
    # A location with an add_header of its own ignores the server-level ones:
    # the redirect needs its own line, as does its target.
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    return 307 {{path}}v2/report;
}
location {{path}} {
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse

# CORSMiddleware wraps the routes, so this 307 carries the CORS headers; middleware
# added after it (outer) must not answer CORS requests with redirects of its own.
@app.get("{{path}}report")
def old_report():
    return RedirectResponse("{{path}}v2/report", status_code=307)

app.add_middleware(CORSMiddleware, allow_origins=["{{origin}}"])"#,
    ),
    (
        Flask,
        r#"from flask import redirect
from flask_cors import CORS

@app.get("{{path}}report")
def old_report():
    return redirect("{{path}}v2/report", code=307)

# Cover the redirecting URL as well as its target: flask-cors's after_request
# then adds the headers to the 307 too.
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}})"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")  # sees 3xx answers too
CORS_ALLOWED_ORIGINS = ["{{origin}}"]
# A CORS_URLS_REGEX must cover the redirecting URL as well as its target.
CORS_URLS_REGEX = r"^{{path|re}}.*$""#,
    ),
    (
        Spring,
        r#"@GetMapping("{{path}}report")
ResponseEntity<Void> oldReport() {
    // The CORS configuration that covers this handler also covers its 3xx answer;
    // the target URL must be covered as well.
    return ResponseEntity.status(HttpStatus.TEMPORARY_REDIRECT)
            .location(URI.create("{{path}}v2/report"))
            .build();
}"#,
    ),
    (
        AspNetCore,
        r#"var app = builder.Build();
app.UseRouting();
app.UseCors("app");          // before the middleware that redirects: their
app.UseHttpsRedirection();   // 307/308 answers then carry the CORS headers
app.UseRewriter(new RewriteOptions()
    .AddRedirect("^api/report$", "api/v2/report", StatusCodes.Status307TemporaryRedirect));"#,
    ),
    (
        Apache,
        r#"# Redirects are answers Apache makes itself: only the "always" table is sent.
Header always set Access-Control-Allow-Origin "{{origin}}"
Redirect 307 "{{path}}report" "{{path}}v2/report"
ProxyPass "{{path}}report" "!"
ProxyPass "{{path}}" "{{upstream}}{{path}}""#,
    ),
];

/// Answer the OPTIONS preflight with 2xx and the CORS headers.
pub(super) static ANSWER_PREFLIGHT: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
// cors() ends every OPTIONS preflight with 204 before any route runs; do not
// add app.options() handlers that answer 404/405 themselves.
app.use(cors({
  origin: ['{{origin}}'],
  methods: [{{methods|sq}}],
  allowedHeaders: [{{headers|sq}}],
}));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    if ($request_method = OPTIONS) {
        # An add_header here replaces the location's add_header lines instead of
        # adding to them: every CORS header of the preflight goes here.
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        add_header Access-Control-Allow-Methods "{{methods}}" always;
        add_header Access-Control-Allow-Headers "{{headers}}" always;
        add_header Access-Control-Max-Age 7200 always;
        return 204;
    }
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

# CORSMiddleware answers preflights itself: 200 when origin, method and headers
# are allowed, 400 otherwise. List what the page really sends.
app.add_middleware(
    CORSMiddleware,
    allow_origins=["{{origin}}"],
    allow_methods=[{{methods|dq}}],
    allow_headers=[{{headers|dq}}],
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Flask answers OPTIONS for every route by itself; flask-cors adds the CORS
# headers to that answer for the paths in `resources`.
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}},
     methods=[{{methods|dq}}], allow_headers=[{{headers|dq}}])"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
# corsheaders answers a preflight (OPTIONS + Access-Control-Request-Method) by
# itself, before URL routing and views, when it is first in MIDDLEWARE.
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = ["{{origin}}"]
CORS_ALLOW_METHODS = [{{methods|dq}}]
CORS_ALLOW_HEADERS = [{{headers|dq}}]"#,
    ),
    (
        Spring,
        r#"@Bean
UrlBasedCorsConfigurationSource corsConfigurationSource() {
    var config = new CorsConfiguration();  // empty: allows nothing until set
    config.setAllowedOrigins(List.of("{{origin}}"));
    config.setAllowedMethods(List.of({{methods|dq}}));  // unset: GET and HEAD only
    config.setAllowedHeaders(List.of({{headers|dq}}));  // unset: no request header
    var source = new UrlBasedCorsConfigurationSource();
    source.registerCorsConfiguration("{{path}}**", config);
    return source;
}
// With Spring Security, http.cors(Customizer.withDefaults()) picks this bean up by
// its name and answers preflights before authentication."#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}")
    .WithMethods({{methods|dq}})
    .WithHeaders({{headers|dq}})));
var app = builder.Build();
app.UseRouting();
// UseCors ends the preflight with 204 itself, before any endpoint runs.
app.UseCors("app");"#,
    ),
    (
        Apache,
        r#"# Answer preflights here with 204 instead of passing them to the application.
RewriteEngine On
RewriteCond %{REQUEST_METHOD} =OPTIONS
RewriteRule "^{{path}}" - [R=204,L]
<Location "{{path}}">
    Header always set Access-Control-Allow-Origin "{{origin}}"
    Header always set Access-Control-Allow-Methods "{{methods}}"
    Header always set Access-Control-Allow-Headers "{{headers}}"
    Header always set Access-Control-Max-Age "7200"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// Let preflights through before authentication: they never carry credentials.
pub(super) static PREFLIGHT_BEFORE_AUTH: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({ origin: ['{{origin}}'], allowedHeaders: [{{headers|sq}}] }));  // ends preflights
app.use(requireAuth);  // after cors(): never sees a preflight (they carry no credentials)
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    # "return" acts in the rewrite phase, before auth_basic/auth_request (access
    # phase). Keep auth out of limit_except: for the methods it does not list
    # (OPTIONS among them) nginx uses the inner block, where this "if" never runs.
    if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        add_header Access-Control-Allow-Methods "{{methods}}" always;
        add_header Access-Control-Allow-Headers "{{headers}}" always;
        return 204;
    }
    auth_basic "api";
    auth_basic_user_file api.htpasswd;  # relative to nginx's conf directory
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

app.add_middleware(AuthMiddleware)
# The middleware added last runs first: add CORS after auth, so that it answers
# preflights before auth can reject them with 401. (Auth as a route dependency,
# Depends(...), never sees OPTIONS at all.)
app.add_middleware(CORSMiddleware, allow_origins=["{{origin}}"],
                   allow_methods=[{{methods|dq}}], allow_headers=[{{headers|dq}}])"#,
    ),
    (
        Flask,
        r#"from flask import request
from flask_cors import CORS

CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}},
     allow_headers=[{{headers|dq}}])

@app.before_request
def require_login():
    if request.method == "OPTIONS":  # preflight: no cookies, no Authorization
        return None                  # let Flask and flask-cors answer it
    return authenticate()            # your check: None, or a 401 response"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",  # first: answers preflights, then stops
    *MIDDLEWARE,                              # sessions, authentication, ...
    "api.auth.AuthMiddleware",                # your 401: never sees a preflight
]
CORS_ALLOWED_ORIGINS = ["{{origin}}"]
CORS_ALLOW_HEADERS = [{{headers|dq}}]"#,
    ),
    (
        Spring,
        r#"@Bean
SecurityFilterChain api(HttpSecurity http) throws Exception {
    return http
        // CorsFilter ahead of authentication: preflights are answered, not challenged.
        .cors(Customizer.withDefaults())  // uses the corsConfigurationSource bean
        .authorizeHttpRequests(a -> a.anyRequest().authenticated())
        .httpBasic(Customizer.withDefaults())
        .build();
}
@Bean
UrlBasedCorsConfigurationSource corsConfigurationSource() {
    var config = new CorsConfiguration();
    config.setAllowedOrigins(List.of("{{origin}}"));
    config.setAllowedMethods(List.of({{methods|dq}}));
    config.setAllowedHeaders(List.of({{headers|dq}}));
    var source = new UrlBasedCorsConfigurationSource();
    source.registerCorsConfiguration("{{path}}**", config);
    return source;
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}")
    .WithMethods({{methods|dq}})
    .WithHeaders({{headers|dq}})));
var app = builder.Build();
app.UseRouting();
app.UseCors("app");          // must precede auth: it ends preflights with 204
app.UseAuthentication();
app.UseAuthorization();
app.MapControllers().RequireAuthorization();"#,
    ),
    (
        Apache,
        r#"# mod_rewrite answers preflights while translating the URL, before any
# authentication runs: they carry no credentials and must not be challenged.
RewriteEngine On
RewriteCond %{REQUEST_METHOD} =OPTIONS
RewriteRule "^{{path}}" - [R=204,L]
<Location "{{path}}">
    AuthType Basic
    AuthName "api"
    AuthUserFile "api.htpasswd"
    Require valid-user
    Header always set Access-Control-Allow-Origin "{{origin}}"
    Header always set Access-Control-Allow-Methods "{{methods}}"
    Header always set Access-Control-Allow-Headers "{{headers}}"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// Keep preflights out of redirects (https upgrade, trailing slash, login page).
pub(super) static NO_REDIRECT_ON_PREFLIGHT: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({ origin: ['{{origin}}'] }));  // ends preflights with 204...
app.use((req, res, next) =>  // ...so this https redirect never meets one
  req.secure ? next() : res.redirect(308, `https://${req.hostname}${req.originalUrl}`));
// express.static answers "/docs" with 301 to "/docs/"; switch that off.
app.use(express.static('public', { redirect: false }));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"# With only "location {{path}}items/", nginx answers "{{path}}items" with 301 to
# the slashed URL, preflights included, and a redirected preflight fails. One
# location for both spellings, answering preflights itself:
location ~ ^{{path|re}}items/?$ {
    if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        add_header Access-Control-Allow-Methods "{{methods}}" always;
        add_header Access-Control-Allow-Headers "{{headers}}" always;
        return 204;
    }
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware

# Middleware added later runs first: with HTTPSRedirectMiddleware outside
# CORSMiddleware, preflights would get a 307 before CORS could answer them.
app.add_middleware(HTTPSRedirectMiddleware)
app.add_middleware(CORSMiddleware, allow_origins=["{{origin}}"])
# Better still: the page calls the https:// URL, so that nothing redirects."#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Werkzeug answers "{{path}}items" with 308 to "{{path}}items/" when the rule ends in
# a slash, preflights included, and a redirected preflight fails. Match both
# spellings instead; the rules made above this line keep their own setting:
app.url_map.strict_slashes = False
for rule in app.url_map.iter_rules():
    rule.strict_slashes = False
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}})"#,
    ),
    (
        Django,
        r#"# urls.py: CommonMiddleware's APPEND_SLASH answers "api/items" with 301 to
# "api/items/". Accept the URL the page calls, with or without the slash.
urlpatterns += [
    re_path(r"^api/items/?$", views.items),
]"#,
    ),
    (
        Spring,
        r#"@Bean
SecurityFilterChain api(HttpSecurity http) throws Exception {
    return http
        .cors(Customizer.withDefaults())  // preflights answered before authentication
        .authorizeHttpRequests(a -> a.anyRequest().authenticated())
        // Unauthenticated API calls get 401 instead of a 302 to the login page.
        .exceptionHandling(e -> e.authenticationEntryPoint(
                new HttpStatusEntryPoint(HttpStatus.UNAUTHORIZED)))
        .build();
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
    .AddCookie(o => o.Events.OnRedirectToLogin = ctx =>
    {
        ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;  // no 302 to a login page
        return Task.CompletedTask;
    });  // with ASP.NET Identity, set the same event in ConfigureApplicationCookie
var app = builder.Build();
app.UseCors("app");          // ends preflights before the https redirect below
app.UseHttpsRedirection();"#,
    ),
    (
        Apache,
        r#"RewriteEngine On
# Keep preflights out of the https / canonical-URL redirects.
RewriteCond %{REQUEST_METHOD} !=OPTIONS
RewriteCond %{HTTPS} off
RewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=308,L]"#,
    ),
];

/// Echo one allowed origin (never `*`) and send `Access-Control-Allow-Credentials: true`.
pub(super) static ALLOW_CREDENTIALS: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({
  origin: ['{{origin}}'],  // echoed back exactly; never '*' with cookies
  credentials: true,       // Access-Control-Allow-Credentials: true
}));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    # The allowed origin itself (never "*" with credentials), plus the flag.
    if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        add_header Access-Control-Allow-Credentials "true" always;
        add_header Access-Control-Allow-Methods "{{methods}}" always;
        add_header Access-Control-Allow-Headers "{{headers}}" always;
        return 204;
    }
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    add_header Access-Control-Allow-Credentials "true" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

app.add_middleware(
    CORSMiddleware,
    allow_origins=["{{origin}}"],  # a list, not ["*"]
    allow_credentials=True,        # Access-Control-Allow-Credentials: true
    allow_methods=[{{methods|dq}}],
    allow_headers=[{{headers|dq}}],
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Echoes the matching origin and sends Access-Control-Allow-Credentials: true.
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}},
     supports_credentials=True)"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = ["{{origin}}"]  # never CORS_ALLOW_ALL_ORIGINS here
CORS_ALLOW_CREDENTIALS = True
# Cross-site pages also need the session cookie marked SameSite=None; Secure."#,
    ),
    (
        Spring,
        r#"@Bean
UrlBasedCorsConfigurationSource corsConfigurationSource() {
    var config = new CorsConfiguration();
    config.setAllowedOrigins(List.of("{{origin}}"));  // "*" is rejected with credentials
    config.setAllowCredentials(true);
    config.setAllowedMethods(List.of({{methods|dq}}));
    config.setAllowedHeaders(List.of({{headers|dq}}));
    var source = new UrlBasedCorsConfigurationSource();
    source.registerCorsConfiguration("{{path}}**", config);
    return source;
}
// Spring Security: http.cors(Customizer.withDefaults()) in the SecurityFilterChain."#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}")  // AllowAnyOrigin() cannot go with credentials
    .WithMethods({{methods|dq}})
    .WithHeaders({{headers|dq}})
    .AllowCredentials()));
var app = builder.Build();
app.UseRouting();
app.UseCors("app");"#,
    ),
    (
        Apache,
        r#"RewriteEngine On
RewriteCond %{REQUEST_METHOD} =OPTIONS
RewriteRule "^{{path}}" - [R=204,L]
<Location "{{path}}">
    # The allowed origin itself, never "*", plus the credentials flag.
    Header always set Access-Control-Allow-Origin "{{origin}}"
    Header always set Access-Control-Allow-Credentials "true"
    Header always set Access-Control-Allow-Methods "{{methods}}"
    Header always set Access-Control-Allow-Headers "{{headers}}"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// List every method the page uses, upper case, as a comma-separated list of tokens.
pub(super) static ALLOW_METHODS: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({
  origin: ['{{origin}}'],
  // Upper case as the page sends them; an array, never 'GET POST'.
  methods: [{{methods|sq}}],
}));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        # Comma-separated tokens; methods are compared case-sensitively.
        add_header Access-Control-Allow-Methods "{{methods}}" always;
        add_header Access-Control-Allow-Headers "{{headers}}" always;
        return 204;
    }
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

# Starlette allows GET only by default, and answers a preflight for any other
# method with 400: list every method the page uses, upper case.
app.add_middleware(CORSMiddleware, allow_origins=["{{origin}}"],
                   allow_methods=[{{methods|dq}}], allow_headers=[{{headers|dq}}])"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}},
     methods=[{{methods|dq}}])  # upper case, as fetch() sends them"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = ["{{origin}}"]
# Default: DELETE, GET, OPTIONS, PATCH, POST, PUT; list custom verbs explicitly.
CORS_ALLOW_METHODS = [{{methods|dq}}]"#,
    ),
    (
        Spring,
        r#"@Configuration
class ApiCors implements WebMvcConfigurer {
    @Override
    public void addCorsMappings(CorsRegistry registry) {
        registry.addMapping("{{path}}**")
                .allowedOrigins("{{origin}}")
                .allowedMethods({{methods|dq}});  // default: GET, HEAD, POST only
    }
}
// With Spring Security also http.cors(Customizer.withDefaults()), or preflights
// for these methods are rejected before these mappings are consulted."#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}")
    // An explicit list: a policy without WithMethods sends no
    // Access-Control-Allow-Methods, so every preflighted method fails.
    .WithMethods({{methods|dq}})
    .WithHeaders({{headers|dq}})));"#,
    ),
    (
        Apache,
        r#"RewriteEngine On
RewriteCond %{REQUEST_METHOD} =OPTIONS
RewriteRule "^{{path}}" - [R=204,L]
<Location "{{path}}">
    Header always set Access-Control-Allow-Origin "{{origin}}"
    # One comma-separated list; upper case, as fetch() sends them.
    Header always set Access-Control-Allow-Methods "{{methods}}"
    Header always set Access-Control-Allow-Headers "{{headers}}"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// List every request header the page sets, `Authorization` by name.
pub(super) static ALLOW_HEADERS: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({
  origin: ['{{origin}}'],
  // Every header the page sets; '*' never covers Authorization.
  allowedHeaders: [{{headers|sq}}],
}));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        add_header Access-Control-Allow-Methods "{{methods}}" always;
        # Name Authorization explicitly: "*" does not cover it (and means a
        # header literally named "*" for credentialed requests).
        add_header Access-Control-Allow-Headers "{{headers}}" always;
        return 204;
    }
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

app.add_middleware(
    CORSMiddleware,
    allow_origins=["{{origin}}"],
    allow_methods=[{{methods|dq}}],
    allow_headers=[{{headers|dq}}],  # default: none; a disallowed one gets a 400
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Name each header the page sets; keep Authorization explicit.
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}},
     allow_headers=[{{headers|dq}}])"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = ["{{origin}}"]
# Every header the page sets, by name; not ["*"], which never covers Authorization.
CORS_ALLOW_HEADERS = [{{headers|dq}}]"#,
    ),
    (
        Spring,
        r#"@Bean
UrlBasedCorsConfigurationSource corsConfigurationSource() {
    var config = new CorsConfiguration();
    config.setAllowedOrigins(List.of("{{origin}}"));
    config.setAllowedMethods(List.of({{methods|dq}}));
    // Explicit names: unset allows no request header at all, "*" is not usable
    // with credentials and never covers Authorization.
    config.setAllowedHeaders(List.of({{headers|dq}}));
    var source = new UrlBasedCorsConfigurationSource();
    source.registerCorsConfiguration("{{path}}**", config);
    return source;
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}")
    .WithMethods({{methods|dq}})
    // Without WithHeaders no Access-Control-Allow-Headers is sent at all.
    .WithHeaders({{headers|dq}})));"#,
    ),
    (
        Apache,
        r#"RewriteEngine On
RewriteCond %{REQUEST_METHOD} =OPTIONS
RewriteRule "^{{path}}" - [R=204,L]
<Location "{{path}}">
    Header always set Access-Control-Allow-Origin "{{origin}}"
    Header always set Access-Control-Allow-Methods "{{methods}}"
    # Authorization must be named; "*" never covers it.
    Header always set Access-Control-Allow-Headers "{{headers}}"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// Exactly one `Access-Control-Allow-Origin` value, written by exactly one layer.
pub(super) static SINGLE_ALLOW_ORIGIN: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
// List the origins in the config: cors() echoes the one that matched. Remove
// manual res.set('Access-Control-Allow-Origin', ...) calls and proxy copies.
app.use(cors({ origin: ['{{origin}}', '{{origin2}}'] }));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    proxy_pass {{upstream}};
    # The application sends it too: hide its copy so only one line reaches the browser.
    proxy_hide_header Access-Control-Allow-Origin;
    add_header Access-Control-Allow-Origin "{{origin}}" always;
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

# CORSMiddleware answers with the one origin of this list that matched; do not
# also set the header by hand (response.headers[...]) or in the reverse proxy.
app.add_middleware(CORSMiddleware, allow_origins=["{{origin}}", "{{origin2}}"])"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# flask-cors sends the single origin that matched; a list in one header is invalid.
# Delete hand-written resp.headers["Access-Control-Allow-Origin"] lines.
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}", "{{origin2}}"]}})"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
# corsheaders answers with the one matching origin. Remove hand-written
# response["Access-Control-Allow-Origin"] lines and the proxy's copy.
CORS_ALLOWED_ORIGINS = ["{{origin}}", "{{origin2}}"]"#,
    ),
    (
        Spring,
        r#"# application.yml of a Spring Cloud Gateway in front of services that send CORS
# headers themselves (4.3+; before 4.3 the prefix was spring.cloud.gateway).
spring:
  cloud:
    gateway:
      server:
        webflux:
          default-filters:
            - DedupeResponseHeader=Access-Control-Allow-Origin Access-Control-Allow-Credentials, RETAIN_FIRST"#,
    ),
    (
        AspNetCore,
        r#"// UseCors writes one origin from this list. Remove <customHeaders> entries for
// Access-Control-Allow-Origin in web.config and Response.Headers.Append(...) calls.
builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}", "{{origin2}}")
    .WithMethods({{methods|dq}})
    .WithHeaders({{headers|dq}})));"#,
    ),
    (
        Apache,
        r#"# A proxied application's copy sits in the onsuccess table, and "Header always
# set" writes the always table: both get sent. Drop the copy, then set one.
<Location "{{path}}">
    Header unset Access-Control-Allow-Origin
    Header always set Access-Control-Allow-Origin "{{origin}}"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// Name the response headers the page reads in `Access-Control-Expose-Headers`.
pub(super) static EXPOSE_HEADERS: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({
  origin: ['{{origin}}'],
  exposedHeaders: [{{expose|sq}}],  // readable by the page
}));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    add_header Access-Control-Expose-Headers "{{expose}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

# Response headers script may read besides the CORS-safelisted ones.
app.add_middleware(CORSMiddleware, allow_origins=["{{origin}}"],
                   expose_headers=[{{expose|dq}}])"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}},
     expose_headers=[{{expose|dq}}])"#,
    ),
    (
        Django,
        r#"# settings.py: response headers script may read besides the safelisted ones
# (Cache-Control, Content-Language, Content-Length, Content-Type, Expires, ...).
CORS_EXPOSE_HEADERS = [{{expose|dq}}]"#,
    ),
    (
        Spring,
        r#"@Configuration
class ApiCors implements WebMvcConfigurer {
    @Override
    public void addCorsMappings(CorsRegistry registry) {
        registry.addMapping("{{path}}**")
                .allowedOrigins("{{origin}}")
                .exposedHeaders({{expose|dq}});
    }
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}")
    .WithExposedHeaders({{expose|dq}})));"#,
    ),
    (
        Apache,
        r#"<Location "{{path}}">
    Header always set Access-Control-Allow-Origin "{{origin}}"
    Header always set Access-Control-Expose-Headers "{{expose}}"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// `Vary: Origin` on every response whose CORS headers depend on the request's Origin.
pub(super) static VARY_ORIGIN: Snippets = snippets![
    (
        Express,
        r#"// cors() with a list or function adds Vary: Origin itself; hand-made CORS
// headers (and responses cached in front of Express) need it as well.
app.use((req, res, next) => {
  res.vary('Origin');
  next();
});
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    # The answer depends on Origin: say so on every answer, those to requests
    # without Origin included, so that no cache reuses one for another origin.
    set $cors_origin "";
    if ($http_origin = "{{origin}}") {
        set $cors_origin $http_origin;
    }
    add_header Access-Control-Allow-Origin $cors_origin always;  # empty: not sent
    add_header Vary Origin always;
    # proxy_cache honours Vary; keying the cache on Origin makes it explicit.
    proxy_cache_key "$scheme$host$request_uri$http_origin";
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"@app.middleware("http")
async def vary_on_origin(request, call_next):
    response = await call_next(request)
    response.headers.add_vary_header("Origin")  # merges with an existing Vary
    return response"#,
    ),
    (
        Flask,
        r#"# flask-cors adds Vary: Origin when it echoes an origin (vary_header=True);
# responses built or cached outside it need it as well.
@app.after_request
def vary_on_origin(resp):
    resp.vary.add("Origin")
    return resp"#,
    ),
    (
        Django,
        r#"# views.py
from django.views.decorators.vary import vary_on_headers

@vary_on_headers("Origin")  # caches (cache_page, CDNs) keep one copy per Origin
def report(request):
    return JsonResponse(build_report())"#,
    ),
    (
        Spring,
        r#"// Spring's CORS processing adds Vary: Origin; responses written outside it
// (filters, cached static files) need it too.
@GetMapping("{{path}}report")
ResponseEntity<Report> report() {
    return ResponseEntity.ok().varyBy("Origin").body(reports.current());
}"#,
    ),
    (
        AspNetCore,
        r#"app.Use(async (ctx, next) =>
{
    ctx.Response.Headers.Append(HeaderNames.Vary, "Origin");
    await next();
});"#,
    ),
    (
        Apache,
        r#"<Location "{{path}}">
    # The answer depends on Origin: say so on every answer, those to requests
    # without Origin included; "merge" adds to an existing Vary. mod_cache honours
    # Vary; check that your CDN does too, or add Origin to its cache key.
    SetEnvIf Origin "^({{origin|re}})$" CORS_ORIGIN=$1
    Header always set Access-Control-Allow-Origin "%{CORS_ORIGIN}e" env=CORS_ORIGIN
    Header always merge Vary "Origin"
    ProxyPass "{{upstream}}{{path}}"
</Location>"#,
    ),
];

/// Replace reflection, `null`, loose regexes and wildcards with an exact https allowlist.
/// No credentials: the kinds using it may have none; those with credentials use
/// `allow_credentials`.
pub(super) static TIGHTEN_ALLOWLIST: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
const ALLOWED = new Set(['{{origin}}', '{{origin2}}']);
// Exact https origins only: not `origin: true` (reflects anything), not 'null',
// no substring checks or unanchored regexes. Add credentials: true only if the
// page really sends cookies.
app.use(cors({ origin: (origin, cb) => cb(null, ALLOWED.has(origin)) }));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    # Anchored, dots escaped, https only; never "null", never "~example\.com".
    set $cors_origin "";
    if ($http_origin ~ "^({{origin|re}}|{{origin2|re}})$") {
        set $cors_origin $http_origin;
    }
    add_header Access-Control-Allow-Origin $cors_origin always;  # empty: not sent
    add_header Vary Origin always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

app.add_middleware(
    CORSMiddleware,
    # Exact origins, never ["*"]. A pattern, if you need one, must match the whole
    # origin with dots escaped: allow_origin_regex=r"https://(app|admin)\.example\.com"
    allow_origins=["{{origin}}", "{{origin2}}"],
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Plain strings compare exactly. Patterns go through re.match (anchored at the
# start only): end them with $, escape the dots; never list "null" or "*".
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}", r"^{{origin2|re}}$"]}})"#,
    ),
    (
        Django,
        r#"# settings.py
CORS_ALLOWED_ORIGINS = ["{{origin}}", "{{origin2}}"]
CORS_ALLOW_ALL_ORIGINS = False  # True plus credentials = any site reads your users' data
# Patterns: anchored at both ends, dots escaped, https only, no "null".
CORS_ALLOWED_ORIGIN_REGEXES = [r"^{{origin2|re}}$"]"#,
    ),
    (
        Spring,
        r#"@Bean
UrlBasedCorsConfigurationSource corsConfigurationSource() {
    var config = new CorsConfiguration();
    // Exact origins. No setAllowedOriginPatterns("*"), no "https://*.example.com"
    // unless every subdomain is trusted, never "null" or http:// origins; no
    // setAllowCredentials(true) unless the page sends cookies.
    config.setAllowedOrigins(List.of("{{origin}}", "{{origin2}}"));
    config.setAllowedMethods(List.of({{methods|dq}}));
    config.setAllowedHeaders(List.of({{headers|dq}}));
    var source = new UrlBasedCorsConfigurationSource();
    source.registerCorsConfiguration("{{path}}**", config);
    return source;
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    // Not SetIsOriginAllowed(_ => true); SetIsOriginAllowedToAllowWildcardSubdomains()
    // only if every subdomain is trusted; https only, never "null"; AllowCredentials()
    // only if the page sends cookies.
    .WithOrigins("{{origin}}", "{{origin2}}")
    .WithMethods({{methods|dq}})
    .WithHeaders({{headers|dq}})));"#,
    ),
    (
        Apache,
        r#"# Anchored at both ends, dots escaped, https only; never a bare "example.com" match.
SetEnvIf Origin "^({{origin|re}}|{{origin2|re}})$" CORS_ORIGIN=$1
Header always set Access-Control-Allow-Origin "%{CORS_ORIGIN}e" env=CORS_ORIGIN
Header always merge Vary "Origin""#,
    ),
];

/// `Access-Control-Max-Age` within what browsers honour.
pub(super) static MAX_AGE: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use(cors({
  origin: ['{{origin}}'],
  maxAge: 7200,  // seconds; Chromium caps at 7200, Firefox at 86400
}));
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        add_header Access-Control-Allow-Methods "{{methods}}" always;
        add_header Access-Control-Max-Age 7200 always;  # digits only
        return 204;
    }
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

# Starlette's default is 600 seconds; Chromium honours up to 7200.
app.add_middleware(CORSMiddleware, allow_origins=["{{origin}}"], max_age=7200)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}}, max_age=7200)"#,
    ),
    (
        Django,
        r#"# settings.py: django-cors-headers defaults to 86400, above Chromium's 7200-second cap.
CORS_PREFLIGHT_MAX_AGE = 7200
CORS_ALLOWED_ORIGINS = ["{{origin}}"]"#,
    ),
    (
        Spring,
        r#"@Configuration
class ApiCors implements WebMvcConfigurer {
    @Override
    public void addCorsMappings(CorsRegistry registry) {
        registry.addMapping("{{path}}**")
                .allowedOrigins("{{origin}}")
                .allowedMethods({{methods|dq}})
                .maxAge(7200);  // the mapping's default is 1800
    }
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("{{origin}}")
    .WithMethods({{methods|dq}})
    .WithHeaders({{headers|dq}})
    .SetPreflightMaxAge(TimeSpan.FromHours(2))));  // Chromium caps at 2 hours"#,
    ),
    (
        Apache,
        r#"<If "%{REQUEST_METHOD} == 'OPTIONS'">
    Header always set Access-Control-Max-Age "7200"
</If>"#,
    ),
];

/// Answer the historical PNA opt-in only for trusted origins.
pub(super) static PRIVATE_NETWORK_OPT_IN: Snippets = snippets![
    (
        Express,
        r#"const cors = require('cors');
app.use((req, res, next) => {
  // Opt in only when the preflight asks and the Origin is trusted, never for all.
  if (req.get('Access-Control-Request-Private-Network') === 'true' && req.get('Origin') === '{{origin}}') {
    res.set('Access-Control-Allow-Private-Network', 'true');
  }
  next();
});
app.use(cors({ origin: ['{{origin}}'] }));  // after: cors() ends the preflight
app.use('{{path}}', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    # Opt in only when the preflight asks for it and the origin is trusted.
    set $pna "$http_origin|$http_access_control_request_private_network";
    if ($pna = "{{origin}}|true") {
        add_header Access-Control-Allow-Origin "{{origin}}" always;
        add_header Access-Control-Allow-Private-Network "true" always;
        return 204;
    }
    add_header Access-Control-Allow-Origin "{{origin}}" always;
    proxy_pass {{upstream}};
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

app.add_middleware(
    CORSMiddleware,
    allow_origins=["{{origin}}"],  # only these origins get the opt-in
    allow_private_network=True,    # Starlette 0.45+
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Off by default since flask-cors 4.0.2; enable it only with an explicit origin list.
CORS(app, resources={r"{{path}}*": {"origins": ["{{origin}}"]}}, allow_private_network=True)"#,
    ),
    (
        Django,
        r#"# settings.py
CORS_ALLOWED_ORIGINS = ["{{origin}}"]
# Answers Access-Control-Request-Private-Network only for the origins above.
CORS_ALLOW_PRIVATE_NETWORK = True"#,
    ),
    (
        Spring,
        r#"@Bean
UrlBasedCorsConfigurationSource corsConfigurationSource() {
    var config = new CorsConfiguration();
    config.setAllowedOrigins(List.of("{{origin}}"));  // only these get the opt-in
    config.setAllowedMethods(List.of({{methods|dq}}));
    config.setAllowedHeaders(List.of({{headers|dq}}));
    config.setAllowPrivateNetwork(true);  // Spring Framework 6.1.3+
    var source = new UrlBasedCorsConfigurationSource();
    source.registerCorsConfiguration("{{path}}**", config);
    return source;
}"#,
    ),
    (
        AspNetCore,
        r#"app.Use(async (ctx, next) =>
{
    if (ctx.Request.Headers["Access-Control-Request-Private-Network"] == "true"
        && ctx.Request.Headers.Origin == "{{origin}}")
        ctx.Response.Headers["Access-Control-Allow-Private-Network"] = "true";
    await next();
});
app.UseCors("app");  // after: UseCors ends the preflight"#,
    ),
    (
        Apache,
        r#"# Opt in only for the trusted origin, and only when the preflight asks for it.
Header always set Access-Control-Allow-Private-Network "true" \
    "expr=%{req:Origin} == '{{origin}}' && %{req:Access-Control-Request-Private-Network} == 'true'""#,
    ),
];

/// Fetch the other origin server-side instead of sending the browser through a redirect.
pub(super) static PROXY_SAME_ORIGIN: Snippets = snippets![
    (
        Express,
        r#"const { createProxyMiddleware } = require('http-proxy-middleware');
// The browser stays on one origin: no cross-origin redirect, no Origin: null,
// and the upstream credentials never appear in a Location header.
app.use('/files', createProxyMiddleware({
  target: 'https://files.example.net',
  changeOrigin: true,
  headers: { Authorization: `Basic ${process.env.FILES_BASIC_AUTH}` },
}));"#,
    ),
    (
        Nginx,
        r#"location /files/ {
    # Instead of: return 302 https://user:pass@files.example.net/...;
    proxy_pass https://files.example.net/;
    proxy_ssl_server_name on;
    proxy_set_header Host files.example.net;
    proxy_set_header Authorization "Basic <base64 of user:password>";
}"#,
    ),
    (
        FastApi,
        r#"import httpx
from fastapi import Response

@app.get("/files/{name}")
async def files(name: str):
    # Fetched here: the browser never follows a redirect to another origin.
    async with httpx.AsyncClient(auth=(FILES_USER, FILES_PASSWORD)) as client:
        upstream = await client.get(f"https://files.example.net/{name}")
    return Response(upstream.content, status_code=upstream.status_code,
                    media_type=upstream.headers.get("content-type"))"#,
    ),
    (
        Flask,
        r#"import requests
from flask import Response

@app.get("/files/<name>")
def files(name):
    upstream = requests.get(f"https://files.example.net/{name}",
                            auth=(FILES_USER, FILES_PASSWORD), timeout=10)
    return Response(upstream.content, status=upstream.status_code,
                    content_type=upstream.headers.get("Content-Type"))"#,
    ),
    (
        Django,
        r#"import requests
from django.http import HttpResponse

def files(request, name):
    # Proxy instead of redirect: one origin for the page, credentials stay here.
    upstream = requests.get(f"https://files.example.net/{name}",
                            auth=(FILES_USER, FILES_PASSWORD), timeout=10)
    return HttpResponse(upstream.content, status=upstream.status_code,
                        content_type=upstream.headers.get("Content-Type"))"#,
    ),
    (
        Spring,
        r#"@GetMapping("/files/{name}")
ResponseEntity<byte[]> file(@PathVariable String name) {
    // Server-side fetch instead of a redirect to another origin.
    return restClient.get()
            .uri("https://files.example.net/{name}", name)
            .headers(h -> h.setBasicAuth(filesUser, filesPassword))
            .retrieve()
            .toEntity(byte[].class);
}"#,
    ),
    (
        AspNetCore,
        r#"app.MapGet("/files/{name}", async (string name, IHttpClientFactory factory) =>
{
    // "files": BaseAddress and Authorization set once in AddHttpClient("files", ...).
    var upstream = await factory.CreateClient("files").GetAsync(name);
    return Results.Stream(await upstream.Content.ReadAsStreamAsync(),
        upstream.Content.Headers.ContentType?.ToString());
});"#,
    ),
    (
        Apache,
        r#"SSLProxyEngine on
# Instead of: Redirect "/files/" "https://user:pass@files.example.net/"
ProxyPass        "/files/" "https://files.example.net/"
ProxyPassReverse "/files/" "https://files.example.net/"
RequestHeader set Authorization "Basic <base64 of user:password>""#,
    ),
];

/// Session cookies that a cross-site page's `credentials: 'include'` request may carry.
pub(super) static CROSS_SITE_COOKIES: Snippets = snippets![
    (
        Express,
        r#"// Only needed when page and API are on different sites; app.example.com and
// api.example.com are the same site, where the default SameSite=Lax works.
res.cookie('session', token, { httpOnly: true, secure: true, sameSite: 'none' });"#,
    ),
    (
        Nginx,
        r#"location {{path}} {
    proxy_pass {{upstream}};
    # nginx 1.19.3+: mark the backend's session cookie for cross-site requests.
    proxy_cookie_flags session secure samesite=none;
}"#,
    ),
    (
        FastApi,
        r#"from fastapi import Response

@app.post("/login")
def login(response: Response):
    response.set_cookie("session", new_session_token(), httponly=True,
                        secure=True, samesite="none")
    return {"ok": True}"#,
    ),
    (
        Flask,
        r#"# Flask's session cookie; only when the page is on another site.
app.config.update(
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_SAMESITE="None",
)"#,
    ),
    (
        Django,
        r#"# settings.py
SESSION_COOKIE_SAMESITE = "None"  # page on another site; same-site pages keep "Lax"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SAMESITE = "None"
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = ["{{origin}}"]"#,
    ),
    (
        Spring,
        r#"# application.properties
server.servlet.session.cookie.same-site=none
server.servlet.session.cookie.secure=true
server.servlet.session.cookie.http-only=true"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
    .AddCookie(o =>
    {
        // The cookie handler's own options: ConfigureApplicationCookie only reaches
        // ASP.NET Identity's cookie (set the same two there when using Identity).
        o.Cookie.SameSite = SameSiteMode.None;
        o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
    });"#,
    ),
    (
        Apache,
        r#"# Add the attributes to the backend's session cookie (the onsuccess table,
# where proxied Set-Cookie headers live).
Header edit Set-Cookie "^(session=.*)$" "$1; SameSite=None; Secure""#,
    ),
];

/// Every remedy table, by id (used by reports to group kinds and by the tests).
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
