//! Remedies about preflights: answering them, before auth and without redirects, with the methods, headers and cache lifetime the page needs.

use super::Snippets;
use crate::fix::Stack::*;
use crate::fix::template::with_defaults;

/// Answer the OPTIONS preflight with 2xx and the CORS headers.
pub(in crate::fix) static ANSWER_PREFLIGHT: Snippets = snippets![
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
pub(in crate::fix) static PREFLIGHT_BEFORE_AUTH: Snippets = snippets![
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
pub(in crate::fix) static NO_REDIRECT_ON_PREFLIGHT: Snippets = snippets![
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

/// List every method the page uses, upper case, as a comma-separated list of tokens.
pub(in crate::fix) static ALLOW_METHODS: Snippets = snippets![
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
pub(in crate::fix) static ALLOW_HEADERS: Snippets = snippets![
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

/// `Access-Control-Max-Age` within what browsers honour.
pub(in crate::fix) static MAX_AGE: Snippets = snippets![
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
