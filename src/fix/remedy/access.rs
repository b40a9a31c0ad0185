//! Remedies about what a cross-origin page may send and read: credentials and cookies, response headers, private networks, or no cross-origin request at all.

use super::Snippets;
use crate::fix::Stack::*;
use crate::fix::template::with_defaults;

/// Echo one allowed origin (never `*`) and send `Access-Control-Allow-Credentials: true`.
pub(in crate::fix) static ALLOW_CREDENTIALS: Snippets = snippets![
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

/// Name the response headers the page reads in `Access-Control-Expose-Headers`.
pub(in crate::fix) static EXPOSE_HEADERS: Snippets = snippets![
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

/// Answer the historical PNA opt-in only for trusted origins.
pub(in crate::fix) static PRIVATE_NETWORK_OPT_IN: Snippets = snippets![
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
pub(in crate::fix) static PROXY_SAME_ORIGIN: Snippets = snippets![
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
pub(in crate::fix) static CROSS_SITE_COOKIES: Snippets = snippets![
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
