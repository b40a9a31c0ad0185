//! Remedies about which origin the server allows, and on which answers.

use super::Snippets;
use crate::fix::Stack::*;
use crate::fix::template::with_defaults;

/// Send `Access-Control-Allow-Origin` with the exact origin on every response.
pub(in crate::fix) static ALLOW_ORIGIN: Snippets = snippets![
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
pub(in crate::fix) static CORS_ON_ERRORS: Snippets = snippets![
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
pub(in crate::fix) static CORS_ON_REDIRECTS: Snippets = snippets![
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

/// Exactly one `Access-Control-Allow-Origin` value, written by exactly one layer.
pub(in crate::fix) static SINGLE_ALLOW_ORIGIN: Snippets = snippets![
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

/// `Vary: Origin` on every response whose CORS headers depend on the request's Origin.
pub(in crate::fix) static VARY_ORIGIN: Snippets = snippets![
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
pub(in crate::fix) static TIGHTEN_ALLOWLIST: Snippets = snippets![
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
