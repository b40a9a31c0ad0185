//! Server-side remedies, one snippet per stack. Many kinds share a remedy: each table is
//! written once here and kinds point at it (see `catalogue`). Every snippet allows
//! `https://app.example.com`; fragments assume the surrounding app (`app`, `builder`, ...).

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
// Exact origin: scheme + host + port, no trailing slash, no path.
// Registered before the routes, so every response carries the header.
app.use(cors({ origin: ['https://app.example.com'] }));"#,
    ),
    (
        Nginx,
        r#"location /api/ {
    # One fixed origin, spelled exactly as the browser sends it in Origin.
    # A location with its own add_header drops the server-level ones: repeat it there.
    add_header Access-Control-Allow-Origin "https://app.example.com" always;
    proxy_pass http://backend;
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.middleware.cors import CORSMiddleware

app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],  # exact: no trailing slash, no path
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Compared with the request's Origin byte for byte: same scheme, host and port.
CORS(app, origins=["https://app.example.com"])"#,
    ),
    (
        Django,
        r#"# settings.py
INSTALLED_APPS += ["corsheaders"]
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")  # first of all
CORS_ALLOWED_ORIGINS = ["https://app.example.com"]  # scheme://host[:port], no path"#,
    ),
    (
        Spring,
        r#"@RestController
@CrossOrigin(origins = "https://app.example.com") // exact origin, no trailing slash
class ReportController {
    @GetMapping("/api/report")
    Report report() { return reports.current(); }
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p =>
    p.WithOrigins("https://app.example.com")));   // exact origin, no trailing slash
var app = builder.Build();
app.UseRouting();
app.UseCors("app");   // after UseRouting, before UseAuthentication/UseAuthorization
app.MapControllers();"#,
    ),
    (
        Apache,
        r#"<Location "/api/">
    # mod_headers; exact origin, and "always" so non-2xx answers carry it too
    Header always set Access-Control-Allow-Origin "https://app.example.com"
</Location>"#,
    ),
];

/// Keep the CORS headers on 4xx/5xx answers: CORS runs outside error handling.
pub(super) static CORS_ON_ERRORS: Snippets = snippets![
    (
        Express,
        r#"app.use(cors({ origin: 'https://app.example.com' }));  // first, before routes and auth
app.use('/api', apiRouter);
// The error handler answers on the same res, so the headers set by cors() stay.
app.use((err, req, res, next) => {
  res.status(err.status || 500).json({ error: 'request failed' });
});"#,
    ),
    (
        Nginx,
        r#"location /api/ {
    proxy_pass http://backend;
    # Without "always", add_header skips 4xx/5xx, so every error from the
    # backend (or nginx's own 502/504) reaches the page as a CORS error.
    add_header Access-Control-Allow-Origin "https://app.example.com" always;
}"#,
    ),
    (
        FastApi,
        r#"from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

api = FastAPI()
# Unhandled exceptions become 500s in ServerErrorMiddleware, outside every
# add_middleware() layer. Wrapping the whole app puts CORS outside it instead:
app = CORSMiddleware(api, allow_origins=["https://app.example.com"])
# serve with: uvicorn main:app"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# r"/*" also covers 404s for unknown paths; intercept_exceptions (the default)
# adds the headers to Flask's own 500 answers.
CORS(app, resources={r"/*": {"origins": ["https://app.example.com"]}},
     intercept_exceptions=True)
# 502/504 from gunicorn or the proxy never reach Flask: set the header there too."#,
    ),
    (
        Django,
        r#"MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",  # outermost: sees every 4xx/5xx answer
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ...
]
CORS_ALLOWED_ORIGINS = ["https://app.example.com"]"#,
    ),
    (
        Spring,
        r#"@Bean
FilterRegistrationBean<CorsFilter> corsFilter(CorsConfigurationSource source) {
    // A servlet filter ahead of everything sets the headers before a controller,
    // an @ExceptionHandler or the /error page writes the response.
    var bean = new FilterRegistrationBean<>(new CorsFilter(source));
    bean.setOrder(Ordered.HIGHEST_PRECEDENCE);
    return bean;
}"#,
    ),
    (
        AspNetCore,
        r#"var app = builder.Build();
app.UseExceptionHandler("/error");  // exceptions become 500 answers
app.UseRouting();
app.UseCors("app");          // applies its headers when the response starts,
app.UseAuthentication();     // so 401, 403 and 500 answers keep them
app.UseAuthorization();
app.MapControllers();"#,
    ),
    (
        Apache,
        r#"# "Header set" (the onsuccess table) is not sent on error responses;
# "always" also covers 4xx/5xx, ErrorDocument pages and mod_proxy's 502/503.
Header always set Access-Control-Allow-Origin "https://app.example.com"
ProxyPass "/api/" "http://127.0.0.1:8080/api/""#,
    ),
];

/// Put the CORS headers on 3xx answers to CORS requests too.
pub(super) static CORS_ON_REDIRECTS: Snippets = snippets![
    (
        Express,
        r#"app.use(cors({ origin: 'https://app.example.com', credentials: true }));
// Declared after cors(), so this 3xx carries Access-Control-Allow-Origin/-Credentials.
app.get('/api/report', (req, res) => res.redirect(307, '/api/v2/report'));"#,
    ),
    (
        Nginx,
        r#"server {
    # Server-level add_header also applies to "return 30x" in locations that have
    # no add_header of their own.
    add_header Access-Control-Allow-Origin "https://app.example.com" always;
    location = /api/report { return 308 /api/v2/report; }
}"#,
    ),
    (
        FastApi,
        r#"from fastapi.responses import RedirectResponse

# CORSMiddleware wraps the routes, so this 307 carries the CORS headers; middleware
# added after it (outer) must not answer CORS requests with its own redirects.
@app.get("/api/report")
def old_report():
    return RedirectResponse("/api/v2/report", status_code=307)"#,
    ),
    (
        Flask,
        r#"from flask import redirect
from flask_cors import CORS

CORS(app, origins=["https://app.example.com"])  # its after_request also sees 3xx

@app.get("/api/report")
def old_report():
    return redirect("/api/v2/report", code=307)"#,
    ),
    (
        Django,
        r#"from django.shortcuts import redirect

def old_report(request):
    # With CorsMiddleware first in MIDDLEWARE this 302 gets the CORS headers like
    # any other answer; the redirect target must allow the origin as well.
    return redirect("/api/v2/report/")"#,
    ),
    (
        Spring,
        r#"@GetMapping("/api/report")
ResponseEntity<Void> oldReport() {
    // The CORS mapping that covers this handler also covers its 3xx answer.
    return ResponseEntity.status(HttpStatus.PERMANENT_REDIRECT)
            .location(URI.create("/api/v2/report"))
            .build();
}"#,
    ),
    (
        AspNetCore,
        r#"app.UseCors("app");          // before the middleware that redirects:
app.UseHttpsRedirection();   // their 307/308 answers then carry the CORS headers
app.UseRewriter(new RewriteOptions()
    .AddRedirect("^api/report$", "api/v2/report", StatusCodes.Status308PermanentRedirect));"#,
    ),
    (
        Apache,
        r#"# Redirects are sent like error responses: only the "always" table goes out.
Header always set Access-Control-Allow-Origin "https://app.example.com"
Redirect 308 "/api/report" "https://api.example.com/api/v2/report""#,
    ),
];

/// Answer the OPTIONS preflight with 2xx and the CORS headers.
pub(super) static ANSWER_PREFLIGHT: Snippets = snippets![
    (
        Express,
        r#"// cors() ends every OPTIONS preflight with 204 before any route runs;
// do not add app.options() handlers that answer 404/405 themselves.
app.use(cors({
  origin: 'https://app.example.com',
  methods: ['GET', 'POST', 'PUT', 'DELETE'],
}));"#,
    ),
    (
        Nginx,
        r#"location /api/ {
    if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "https://app.example.com";
        add_header Access-Control-Allow-Methods "GET, POST, PUT, DELETE";
        add_header Access-Control-Allow-Headers "Content-Type, Authorization";
        return 204;
    }
    add_header Access-Control-Allow-Origin "https://app.example.com" always;
    proxy_pass http://backend;
}"#,
    ),
    (
        FastApi,
        r#"# CORSMiddleware answers preflights itself: 200 when origin, method and headers
# are allowed, 400 otherwise. List what the page really sends.
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],
    allow_methods=["GET", "POST", "PUT", "DELETE"],
    allow_headers=["Content-Type", "Authorization"],
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Flask answers OPTIONS for every route by itself; flask-cors adds the CORS
# headers to that answer for the paths in `resources`.
CORS(app, resources={r"/api/*": {"origins": ["https://app.example.com"]}},
     methods=["GET", "POST", "PUT", "DELETE"],
     allow_headers=["Content-Type", "Authorization"])"#,
    ),
    (
        Django,
        r#"# corsheaders answers a preflight (OPTIONS + Access-Control-Request-Method) by
# itself, before URL routing and views, when it is first in MIDDLEWARE.
MIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
CORS_ALLOW_METHODS = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]"#,
    ),
    (
        Spring,
        r#"@Configuration
class ApiCors implements WebMvcConfigurer {
    @Override
    public void addCorsMappings(CorsRegistry registry) {
        // Spring MVC answers matching preflights from this mapping.
        registry.addMapping("/api/**")
                .allowedOrigins("https://app.example.com")
                .allowedMethods("GET", "POST", "PUT", "DELETE");
    }
}"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("https://app.example.com")
    .WithMethods("GET", "POST", "PUT", "DELETE")
    .WithHeaders("Content-Type", "Authorization")));
// UseCors ends the preflight with 204 itself, before any endpoint runs.
app.UseCors("app");"#,
    ),
    (
        Apache,
        r#"RewriteEngine On
# Answer preflights here with 204 instead of passing them to the application.
RewriteCond %{REQUEST_METHOD} OPTIONS
RewriteRule ^ - [R=204,L]
Header always set Access-Control-Allow-Origin "https://app.example.com"
Header always set Access-Control-Allow-Methods "GET, POST, PUT, DELETE"
Header always set Access-Control-Allow-Headers "Content-Type, Authorization""#,
    ),
];

/// Let preflights through before authentication: they never carry credentials.
pub(super) static PREFLIGHT_BEFORE_AUTH: Snippets = snippets![
    (
        Express,
        r#"app.use(cors({ origin: 'https://app.example.com', credentials: true })); // ends OPTIONS
app.use(requireSession);     // never sees a preflight (they carry no cookies)
app.use('/api', apiRouter);"#,
    ),
    (
        Nginx,
        r#"location /api/ {
    # "return" runs in the rewrite phase, before auth_basic/auth_request (access phase).
    if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin "https://app.example.com";
        add_header Access-Control-Allow-Credentials "true";
        add_header Access-Control-Allow-Methods "GET, POST, PUT, DELETE";
        add_header Access-Control-Allow-Headers "Authorization, Content-Type";
        return 204;
    }
    auth_request /auth;
    proxy_pass http://backend;
}"#,
    ),
    (
        FastApi,
        r#"app.add_middleware(SessionAuthMiddleware)
# The middleware added last runs first: CORS must be added after auth so that it
# answers preflights before auth can reject them with 401.
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   allow_credentials=True)
# Auth as a route dependency (Depends) never sees OPTIONS at all."#,
    ),
    (
        Flask,
        r#"@app.before_request
def require_login():
    if request.method == "OPTIONS":  # preflight: no cookies, no Authorization
        return None                  # let Flask and flask-cors answer it
    if "user_id" not in session:
        abort(401)"#,
    ),
    (
        Django,
        r#"MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",  # answers preflights and stops there
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",  # never sees OPTIONS
]"#,
    ),
    (
        Spring,
        r#"@Bean
SecurityFilterChain api(HttpSecurity http) throws Exception {
    return http
        .cors(Customizer.withDefaults())  // CorsFilter before authentication: preflights pass
        .authorizeHttpRequests(a -> a.anyRequest().authenticated())
        .httpBasic(Customizer.withDefaults())
        .build();
}"#,
    ),
    (
        AspNetCore,
        r#"app.UseRouting();
app.UseCors("app");          // must precede auth: it ends preflights with 204
app.UseAuthentication();
app.UseAuthorization();
app.MapControllers().RequireAuthorization();"#,
    ),
    (
        Apache,
        r#"<Location "/api/">
    AuthType Basic
    AuthName "api"
    AuthUserFile "/etc/apache2/api.htpasswd"
    <If "%{REQUEST_METHOD} == 'OPTIONS'">
        Require all granted
    </If>
    <Else>
        Require valid-user
    </Else>
</Location>"#,
    ),
];

/// Keep preflights out of redirects (https upgrade, trailing slash, login page).
pub(super) static NO_REDIRECT_ON_PREFLIGHT: Snippets = snippets![
    (
        Express,
        r#"app.use(cors({ origin: 'https://app.example.com' }));  // ends preflights with 204...
app.use((req, res, next) =>  // ...so this https redirect never meets one
  req.secure ? next() : res.redirect(308, `https://${req.hostname}${req.originalUrl}`));
// express.static answers "/docs" with 301 to "/docs/"; switch that off.
app.use(express.static('public', { redirect: false }));"#,
    ),
    (
        Nginx,
        r#"# "location /api/" makes nginx answer "/api" with 301 to "/api/", and a
# preflight to "/api" then fails. Serve the bare path instead of redirecting:
location = /api {
    proxy_pass http://backend;
}
location /api/ {
    proxy_pass http://backend;
}"#,
    ),
    (
        FastApi,
        r#"from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware

# Middleware added later runs first: with HTTPSRedirectMiddleware outside
# CORSMiddleware, preflights get a 307 before CORS can answer them.
app.add_middleware(HTTPSRedirectMiddleware)
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
# Better still: the page calls the https:// URL, so nothing redirects."#,
    ),
    (
        Flask,
        r#"# Werkzeug answers "/api/items" with 308 to "/api/items/" when the rule ends in
# a slash. Match both spellings instead of redirecting:
app.url_map.strict_slashes = False

@app.post("/api/items/")
def create_item(): ..."#,
    ),
    (
        Django,
        r#"# CommonMiddleware's APPEND_SLASH answers "/api/items" with 301 to "/api/items/".
# urls.py: accept the URL the page calls, with or without the slash.
urlpatterns = [
    re_path(r"^api/items/?$", views.items),
]"#,
    ),
    (
        Spring,
        r#"// An unauthenticated request must not be sent to a login page (302 to /login).
http.cors(Customizer.withDefaults())
    .exceptionHandling(e -> e.authenticationEntryPoint(
            new HttpStatusEntryPoint(HttpStatus.UNAUTHORIZED)));  // 401 instead of 302"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.ConfigureApplicationCookie(o => o.Events.OnRedirectToLogin = ctx =>
{
    ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;  // no 302 to /Account/Login
    return Task.CompletedTask;
});
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
        r#"app.use(cors({
  origin: ['https://app.example.com'],  // echoed back exactly; never '*' with cookies
  credentials: true,                    // Access-Control-Allow-Credentials: true
}));"#,
    ),
    (
        Nginx,
        r#"map $http_origin $cors_origin {
    default "";
    "https://app.example.com" $http_origin;
}
server {
    add_header Access-Control-Allow-Origin $cors_origin always;  # empty = not sent
    add_header Access-Control-Allow-Credentials "true" always;
    add_header Vary Origin always;
}"#,
    ),
    (
        FastApi,
        r#"app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],  # a list, not ["*"]
    allow_credentials=True,                     # Access-Control-Allow-Credentials: true
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Echoes the matching origin and sends Access-Control-Allow-Credentials: true.
CORS(app, origins=["https://app.example.com"], supports_credentials=True)"#,
    ),
    (
        Django,
        r#"CORS_ALLOWED_ORIGINS = ["https://app.example.com"]  # never CORS_ALLOW_ALL_ORIGINS here
CORS_ALLOW_CREDENTIALS = True
# Cross-site pages also need the session cookie marked SameSite=None; Secure."#,
    ),
    (
        Spring,
        r#"CorsConfiguration config = new CorsConfiguration();
config.setAllowedOrigins(List.of("https://app.example.com")); // "*" is rejected with credentials
config.setAllowCredentials(true);
var source = new UrlBasedCorsConfigurationSource();
source.registerCorsConfiguration("/api/**", config);"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("https://app.example.com")  // AllowAnyOrigin() cannot go with credentials
    .AllowCredentials()));"#,
    ),
    (
        Apache,
        r#"# The allowed origin itself, never "*", plus the credentials flag.
<If "%{req:Origin} == 'https://app.example.com'">
    Header always set Access-Control-Allow-Origin "https://app.example.com"
    Header always set Access-Control-Allow-Credentials "true"
</If>
Header always merge Vary "Origin""#,
    ),
];

/// List every method the page uses, upper case, as a comma-separated list of tokens.
pub(super) static ALLOW_METHODS: Snippets = snippets![
    (
        Express,
        r#"app.use(cors({
  origin: 'https://app.example.com',
  // Upper case as the page sends them; an array, never 'GET POST' or '*' with cookies.
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
}));"#,
    ),
    (
        Nginx,
        r#"if ($request_method = OPTIONS) {
    # Comma-separated tokens; methods are compared case-sensitively.
    add_header Access-Control-Allow-Origin "https://app.example.com";
    add_header Access-Control-Allow-Methods "GET, POST, PUT, PATCH, DELETE";
    return 204;
}"#,
    ),
    (
        FastApi,
        r#"# Starlette's default is GET only: list every method the page uses, upper case.
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"])"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

CORS(app, origins=["https://app.example.com"],
     methods=["GET", "POST", "PUT", "PATCH", "DELETE"])"#,
    ),
    (
        Django,
        r#"from corsheaders.defaults import default_methods

# default_methods: DELETE, GET, OPTIONS, PATCH, POST, PUT; add custom verbs explicitly.
CORS_ALLOW_METHODS = (*default_methods, "PROPFIND")"#,
    ),
    (
        Spring,
        r#"registry.addMapping("/api/**")
        .allowedOrigins("https://app.example.com")
        // Spring's default is GET, HEAD and POST only.
        .allowedMethods("GET", "POST", "PUT", "PATCH", "DELETE");"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("https://app.example.com")
    // An explicit list; AllowAnyMethod() echoes whatever the preflight asks for.
    .WithMethods("GET", "POST", "PUT", "PATCH", "DELETE")));"#,
    ),
    (
        Apache,
        r#"<If "%{REQUEST_METHOD} == 'OPTIONS'">
    # One comma-separated list; upper case, as fetch() sends them.
    Header always set Access-Control-Allow-Methods "GET, POST, PUT, PATCH, DELETE"
</If>"#,
    ),
];

/// List every request header the page sets, `Authorization` by name.
pub(super) static ALLOW_HEADERS: Snippets = snippets![
    (
        Express,
        r#"app.use(cors({
  origin: 'https://app.example.com',
  // Every header the page sets; '*' never covers Authorization.
  allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
}));"#,
    ),
    (
        Nginx,
        r#"if ($request_method = OPTIONS) {
    add_header Access-Control-Allow-Origin "https://app.example.com";
    # Name Authorization explicitly; "*" does not cover it and means nothing with cookies.
    add_header Access-Control-Allow-Headers "Authorization, Content-Type, X-Request-Id";
    return 204;
}"#,
    ),
    (
        FastApi,
        r#"app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],
    allow_methods=["GET", "POST"],
    allow_headers=["Authorization", "Content-Type", "X-Request-Id"],  # default: none
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Name each header the page sets; keep Authorization explicit.
CORS(app, origins=["https://app.example.com"],
     allow_headers=["Authorization", "Content-Type", "X-Request-Id"])"#,
    ),
    (
        Django,
        r#"from corsheaders.defaults import default_headers

# The defaults already include authorization and content-type; add your own:
CORS_ALLOW_HEADERS = (*default_headers, "x-request-id")"#,
    ),
    (
        Spring,
        r#"CorsConfiguration config = new CorsConfiguration();
config.setAllowedOrigins(List.of("https://app.example.com"));
// Explicit names: "*" is not usable with credentials.
config.setAllowedHeaders(List.of("Authorization", "Content-Type", "X-Request-Id"));"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("https://app.example.com")
    .WithHeaders("Authorization", "Content-Type", "X-Request-Id")));"#,
    ),
    (
        Apache,
        r#"<If "%{REQUEST_METHOD} == 'OPTIONS'">
    # Authorization must be named; "*" never covers it.
    Header always set Access-Control-Allow-Headers "Authorization, Content-Type, X-Request-Id"
</If>"#,
    ),
];

/// Exactly one `Access-Control-Allow-Origin` value, written by exactly one layer.
pub(super) static SINGLE_ALLOW_ORIGIN: Snippets = snippets![
    (
        Express,
        r#"// List the origins in the config: cors() echoes the one that matched.
// Remove manual res.set('Access-Control-Allow-Origin', ...) calls and proxy copies.
app.use(cors({ origin: ['https://app.example.com', 'https://admin.example.com'] }));"#,
    ),
    (
        Nginx,
        r#"location /api/ {
    proxy_pass http://backend;
    # The backend sends it too: hide its copy so only one line reaches the browser.
    proxy_hide_header Access-Control-Allow-Origin;
    add_header Access-Control-Allow-Origin "https://app.example.com" always;
}"#,
    ),
    (
        FastApi,
        r#"# CORSMiddleware answers with the one origin of this list that matched; do not
# also set the header by hand (response.headers[...]) or in the reverse proxy.
app.add_middleware(CORSMiddleware,
                   allow_origins=["https://app.example.com", "https://admin.example.com"])"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# flask-cors sends the single origin that matched; a list in one header is invalid.
CORS(app, origins=["https://app.example.com", "https://admin.example.com"])
# Delete hand-written resp.headers["Access-Control-Allow-Origin"] lines."#,
    ),
    (
        Django,
        r#"CORS_ALLOWED_ORIGINS = ["https://app.example.com", "https://admin.example.com"]
# corsheaders answers with the one matching origin. Remove hand-written
# response["Access-Control-Allow-Origin"] lines and the proxy's copy."#,
    ),
    (
        Spring,
        r#"# Spring Cloud Gateway in front of services that send CORS headers themselves:
spring:
  cloud:
    gateway:
      default-filters:
        - DedupeResponseHeader=Access-Control-Allow-Origin Access-Control-Allow-Credentials, RETAIN_FIRST"#,
    ),
    (
        AspNetCore,
        r#"// UseCors writes one origin from this list. Remove <customHeaders> entries for
// Access-Control-Allow-Origin in web.config and Response.Headers.Append(...) calls.
builder.Services.AddCors(o => o.AddPolicy("app", p =>
    p.WithOrigins("https://app.example.com", "https://admin.example.com")));"#,
    ),
    (
        Apache,
        r#"# A proxied backend's copy sits in the onsuccess table and "Header always set"
# writes the always table: both get sent. Drop the backend's copy, then set one.
Header unset Access-Control-Allow-Origin
Header always set Access-Control-Allow-Origin "https://app.example.com""#,
    ),
];

/// Name the response headers the page reads in `Access-Control-Expose-Headers`.
pub(super) static EXPOSE_HEADERS: Snippets = snippets![
    (
        Express,
        r#"app.use(cors({
  origin: 'https://app.example.com',
  exposedHeaders: ['X-Total-Count', 'Content-Disposition'],  // readable by the page
}));"#,
    ),
    (
        Nginx,
        r#"location /api/ {
    add_header Access-Control-Allow-Origin "https://app.example.com" always;
    add_header Access-Control-Expose-Headers "X-Total-Count, Content-Disposition" always;
    proxy_pass http://backend;
}"#,
    ),
    (
        FastApi,
        r#"# Response headers script may read besides the CORS-safelisted ones.
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   expose_headers=["X-Total-Count", "Content-Disposition"])"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

CORS(app, origins=["https://app.example.com"],
     expose_headers=["X-Total-Count", "Content-Disposition"])"#,
    ),
    (
        Django,
        r#"# settings.py: response headers script may read besides the safelisted ones
# (Cache-Control, Content-Language, Content-Length, Content-Type, Expires, ...).
CORS_EXPOSE_HEADERS = ["X-Total-Count", "Content-Disposition"]"#,
    ),
    (
        Spring,
        r#"registry.addMapping("/api/**")
        .allowedOrigins("https://app.example.com")
        .exposedHeaders("X-Total-Count", "Content-Disposition");"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("https://app.example.com")
    .WithExposedHeaders("X-Total-Count", "Content-Disposition")));"#,
    ),
    (
        Apache,
        r#"<Location "/api/">
    Header always set Access-Control-Expose-Headers "X-Total-Count, Content-Disposition"
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
});"#,
    ),
    (
        Nginx,
        r#"add_header Vary Origin always;
# nginx's proxy_cache honours Vary; keying the cache on Origin is explicit:
proxy_cache_key "$scheme$host$request_uri$http_origin";"#,
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
        r#"from django.views.decorators.vary import vary_on_headers

@vary_on_headers("Origin")  # caches (cache_page, CDNs) keep one copy per Origin
def report(request):
    return JsonResponse(build_report())"#,
    ),
    (
        Spring,
        r#"// Spring's CORS processing adds Vary: Origin; responses written outside it
// (filters, cached static files) need it too.
@GetMapping("/api/report")
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
        r#"# "merge" adds Origin to an existing Vary instead of replacing or repeating it.
Header always merge Vary "Origin"
# mod_cache honours Vary; check that your CDN does too, or add Origin to its cache key."#,
    ),
];

/// Replace reflection, `null`, loose regexes and wildcards with an exact https allowlist.
pub(super) static TIGHTEN_ALLOWLIST: Snippets = snippets![
    (
        Express,
        r#"const ALLOWED = new Set(['https://app.example.com', 'https://admin.example.com']);
app.use(cors({
  // Exact https origins only: not `origin: true` (reflects anything), not 'null',
  // no substring checks or unanchored regexes.
  origin: (origin, cb) => cb(null, ALLOWED.has(origin)),
  credentials: true,
}));"#,
    ),
    (
        Nginx,
        r#"map $http_origin $cors_origin {
    default "";
    # Anchored, dots escaped, https only; never "null", never "~example\.com".
    "~^https://(app|admin)\.example\.com$" $http_origin;
}
add_header Access-Control-Allow-Origin $cors_origin always;
add_header Vary Origin always;"#,
    ),
    (
        FastApi,
        r#"app.add_middleware(
    CORSMiddleware,
    # Never ["*"] with allow_credentials=True: then any Origin that sends cookies is echoed.
    allow_origins=["https://app.example.com", "https://admin.example.com"],
    # A pattern, if you need one, must match the whole origin with dots escaped:
    # allow_origin_regex=r"https://(app|admin)\.example\.com",
    allow_credentials=True,
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Plain strings compare exactly. Patterns go through re.match (anchored at the
# start only): end them with $, escape the dots; never list "null" or "*".
CORS(app, origins=["https://app.example.com", r"https://(app|admin)\.example\.com$"],
     supports_credentials=True)"#,
    ),
    (
        Django,
        r#"CORS_ALLOWED_ORIGINS = ["https://app.example.com", "https://admin.example.com"]
CORS_ALLOW_ALL_ORIGINS = False  # True plus credentials = any site reads your users' data
# Patterns: anchored at both ends, dots escaped, https only, no "null".
CORS_ALLOWED_ORIGIN_REGEXES = [r"^https://(app|admin)\.example\.com$"]"#,
    ),
    (
        Spring,
        r#"CorsConfiguration config = new CorsConfiguration();
// Exact origins. No setAllowedOriginPatterns("*"), no "https://*.example.com" unless
// every subdomain is trusted, never "null" or http:// origins.
config.setAllowedOrigins(List.of("https://app.example.com", "https://admin.example.com"));
config.setAllowCredentials(true);"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    // Not SetIsOriginAllowed(_ => true); SetIsOriginAllowedToAllowWildcardSubdomains()
    // only if every subdomain is trusted; https only, never "null".
    .WithOrigins("https://app.example.com", "https://admin.example.com")
    .AllowCredentials()));"#,
    ),
    (
        Apache,
        r#"# Anchored at both ends, dots escaped, https only; never a bare "example.com" match.
SetEnvIf Origin "^(https://(app|admin)\.example\.com)$" CORS_ORIGIN=$1
Header always set Access-Control-Allow-Origin "%{CORS_ORIGIN}e" env=CORS_ORIGIN
Header always merge Vary "Origin""#,
    ),
];

/// `Access-Control-Max-Age` within what browsers honour.
pub(super) static MAX_AGE: Snippets = snippets![
    (
        Express,
        r#"app.use(cors({
  origin: 'https://app.example.com',
  maxAge: 7200,  // seconds; Chromium caps at 7200, Firefox at 86400
}));"#,
    ),
    (
        Nginx,
        r#"if ($request_method = OPTIONS) {
    add_header Access-Control-Allow-Origin "https://app.example.com";
    add_header Access-Control-Max-Age 7200;  # digits only
    return 204;
}"#,
    ),
    (
        FastApi,
        r#"# Starlette's default is 600 seconds; Chromium honours up to 7200.
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   max_age=7200)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

CORS(app, origins=["https://app.example.com"], max_age=7200)"#,
    ),
    (
        Django,
        r#"# django-cors-headers defaults to 86400, above Chromium's 7200-second cap.
CORS_PREFLIGHT_MAX_AGE = 7200
CORS_ALLOWED_ORIGINS = ["https://app.example.com"]"#,
    ),
    (
        Spring,
        r#"registry.addMapping("/api/**")
        .allowedOrigins("https://app.example.com")
        .maxAge(7200);  // Spring's default is 1800"#,
    ),
    (
        AspNetCore,
        r#"builder.Services.AddCors(o => o.AddPolicy("app", p => p
    .WithOrigins("https://app.example.com")
    .SetPreflightMaxAge(TimeSpan.FromHours(2))));"#,
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
        r#"const TRUSTED = new Set(['https://app.example.com']);
app.use((req, res, next) => {
  // Opt in only when the preflight asks and the Origin is trusted, never for all.
  if (req.get('Access-Control-Request-Private-Network') === 'true' && TRUSTED.has(req.get('Origin'))) {
    res.set('Access-Control-Allow-Private-Network', 'true');
  }
  next();
});
app.use(cors({ origin: [...TRUSTED] }));  // after: cors() ends the preflight"#,
    ),
    (
        Nginx,
        r#"map "$http_origin|$http_access_control_request_private_network" $allow_pna {
    default "";
    "https://app.example.com|true" "true";
}
add_header Access-Control-Allow-Private-Network $allow_pna always;  # empty = not sent"#,
    ),
    (
        FastApi,
        r#"app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],  # only these origins get the opt-in
    allow_private_network=True,                 # recent Starlette versions
)"#,
    ),
    (
        Flask,
        r#"from flask_cors import CORS

# Off by default since flask-cors 4.0.2; enable it only with an explicit origin list.
CORS(app, origins=["https://app.example.com"], allow_private_network=True)"#,
    ),
    (
        Django,
        r#"CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
# Answers Access-Control-Request-Private-Network only for the origins above.
CORS_ALLOW_PRIVATE_NETWORK = True"#,
    ),
    (
        Spring,
        r#"CorsConfiguration config = new CorsConfiguration();
config.setAllowedOrigins(List.of("https://app.example.com"));
config.setAllowPrivateNetwork(true);  // Spring Framework 6.1.3+"#,
    ),
    (
        AspNetCore,
        r#"app.Use(async (ctx, next) =>
{
    if (ctx.Request.Headers["Access-Control-Request-Private-Network"] == "true"
        && ctx.Request.Headers.Origin == "https://app.example.com")
        ctx.Response.Headers["Access-Control-Allow-Private-Network"] = "true";
    await next();
});
app.UseCors("app");  // after: UseCors ends the preflight"#,
    ),
    (
        Apache,
        r#"# Opt in only for the trusted origin, and only when the preflight asks for it.
Header always set Access-Control-Allow-Private-Network "true" \
    "expr=%{req:Origin} == 'https://app.example.com' && %{req:Access-Control-Request-Private-Network} == 'true'""#,
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
        r#"location /api/ {
    proxy_pass http://backend;
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
        r#"app.config.update(
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_SAMESITE="None",  # only when the page is on another site
)"#,
    ),
    (
        Django,
        r#"SESSION_COOKIE_SAMESITE = "None"  # page on another site; same-site pages keep "Lax"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SAMESITE = "None"
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]"#,
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
        r#"builder.Services.ConfigureApplicationCookie(o =>
{
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
