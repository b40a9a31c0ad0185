// The lab's scenarios: for each stack, one misconfiguration per row of the troubleshooting guide
// that applies to it. `slot` is the stack's CORS section as a misconfigured project has it (the
// lab renders {{origin}}, {{path}}, {{upstream}}, {{other_origin}} and {{closed}} in it); the fix
// is not written here: it is whatever `corswatch explain KIND --stack S --snippet` prints for the
// kind corswatch reports, applied in place of the slot.
//
// `expect` is Chromium's CorsError the lab's premise predicts (null: not blocked): the facts of
// issue 9 and the stacks' documented behaviour. Chromium is the judge; a different answer fails
// the run as a broken premise, so that the facts stay checked.
//
// Fields: name, row (the guide's row, 1-13, or a named extra), req (a key of REQUESTS), expect,
// slot, values (placeholder values for this scenario's fix, on top of the lab's defaults), note.

export const REQUESTS = {
  get: { method: 'GET', endpoint: 'data' },
  get_creds: { method: 'GET', endpoint: 'data', credentials: true },
  delete: { method: 'DELETE', endpoint: 'data' },
  put_json: { method: 'PUT', endpoint: 'data', headers: { 'Content-Type': 'application/json' }, body: '{}' },
  custom_header: { method: 'GET', endpoint: 'data', headers: { 'X-Request-Id': 'lab-1' } },
  // lab:lab, accepted by the htpasswd of nginx and Apache and by every app's auth check.
  auth_put: { method: 'PUT', endpoint: 'data', headers: { Authorization: 'Basic bGFiOmxhYg==' } },
  auth_get: { method: 'GET', endpoint: 'data', headers: { Authorization: 'Basic bGFiOmxhYg==' } },
  report: { method: 'GET', endpoint: 'report' },
  // The app behind the proxy sets Access-Control-Allow-Origin itself on this endpoint.
  app_acao: { method: 'GET', endpoint: 'with-acao' },
  // A no-cors GET (no Origin) fills the browser cache, then the CORS GET of the same URL.
  stale: { method: 'GET', endpoint: 'cached', prime: true },
  // The URL without the trailing slash the server's route has.
  put_items: { method: 'PUT', endpoint: 'items', headers: { 'Content-Type': 'application/json' }, body: '{}' },
  fail: { method: 'GET', endpoint: 'fail' },
  bad_json: { method: 'POST', endpoint: 'echo', headers: { 'Content-Type': 'application/json' }, body: '{bad json' },
};

const MISSING = 'MissingAllowOriginHeader';
const STALE =
  'the CORS GET is answered from the browser cache, filled by a no-cors GET whose answer had no ACAO and no Vary: Origin';
const MISMATCH = 'AllowOriginMismatch';
const WILDCARD = 'WildcardOriginNotAllowed';
const ACAC = 'InvalidAllowCredentials';
const PF_MISSING = 'PreflightMissingAllowOriginHeader';
const PF_STATUS = 'PreflightInvalidStatus';
const HEADER = 'HeaderDisallowedByPreflightResponse';
const METHOD = 'MethodDisallowedByPreflightResponse';

// ------------------------------------------------------------------------------------- Express

const expressCors = (opts) => `const cors = require('cors');\napp.use(cors(${opts}));\napp.use('{{path}}', apiRouter);`;

const EXPRESS = [
  { name: 'no_cors', row: 1, req: 'get', expect: MISSING, slot: `app.use('{{path}}', apiRouter);` },
  {
    name: 'origin_not_allowed',
    row: 2,
    req: 'get',
    expect: MISSING,
    slot: expressCors(`{ origin: ['{{other_origin}}'] }`),
    note: 'cors with an array omits ACAO for an origin it does not list',
  },
  {
    name: 'preflight_auth',
    row: 3,
    req: 'auth_put',
    expect: PF_MISSING,
    slot: `const cors = require('cors');\napp.use(requireAuth);\napp.use(cors({ origin: ['{{origin}}'] }));\napp.use('{{path}}', apiRouter);`,
    note: 'auth before cors(): 401 without CORS headers',
  },
  { name: 'wildcard_credentials', row: 4, req: 'get_creds', expect: WILDCARD, slot: expressCors('') },
  {
    name: 'header_blocked',
    row: 5,
    req: 'custom_header',
    expect: HEADER,
    slot: expressCors(`{ origin: ['{{origin}}'], allowedHeaders: ['Content-Type'] }`),
  },
  {
    name: 'method_blocked',
    row: 6,
    req: 'delete',
    expect: METHOD,
    slot: expressCors(`{ origin: ['{{origin}}'], methods: ['GET', 'POST'] }`),
  },
  { name: 'credentials_flag_missing', row: 7, req: 'get_creds', expect: ACAC, slot: expressCors(`{ origin: ['{{origin}}'] }`) },
  {
    name: 'trailing_slash',
    row: 8,
    req: 'get',
    expect: MISMATCH,
    slot: expressCors(`{ origin: '{{origin}}/' }`),
    note: 'a string origin is sent as it is',
  },
  { name: 'scheme', row: 9, req: 'get', expect: MISMATCH, slot: expressCors(`{ origin: '{{origin_https}}' }`) },
  { name: 'port', row: 10, req: 'get', expect: MISMATCH, slot: expressCors(`{ origin: '{{origin_other_port}}' }`) },
  {
    name: 'redirect',
    row: 11,
    req: 'report',
    expect: MISSING,
    slot: `app.get('{{path}}report', (req, res) => res.redirect(307, '{{path}}v2/report'));\nconst cors = require('cors');\napp.use(cors({ origin: ['{{origin}}'] }));\napp.use('{{path}}', apiRouter);`,
    note: 'the redirect is answered before cors() runs',
  },
  {
    name: 'error_path',
    row: 'error path',
    req: 'bad_json',
    expect: MISSING,
    slot: `const cors = require('cors');\napp.use(express.json());\napp.use(cors({ origin: ['{{origin}}'] }));\napp.use('{{path}}', apiRouter);`,
    note: "express.json() before cors(): its 400 for a malformed body has no CORS headers",
  },
  {
    name: 'authorization_wildcard',
    row: 13,
    req: 'auth_get',
    expect: null,
    warning: true,
    slot: expressCors(`{ origin: ['{{origin}}'], allowedHeaders: '*' }`),
  },
];

// ------------------------------------------------------------------------------------- FastAPI

const starlette = (opts) =>
  `from fastapi.middleware.cors import CORSMiddleware\n\napp.add_middleware(CORSMiddleware, ${opts})`;

const FASTAPI = [
  { name: 'no_cors', row: 1, req: 'get', expect: MISSING, slot: `# no CORS handling` },
  {
    name: 'origin_not_allowed',
    row: 2,
    req: 'get',
    expect: MISSING,
    slot: starlette(`allow_origins=["{{other_origin}}"]`),
    note: 'Starlette omits ACAO for an origin it does not list',
  },
  {
    name: 'preflight_unhandled',
    row: 3,
    req: 'put_json',
    expect: PF_STATUS,
    slot: `@app.middleware("http")\nasync def add_cors(request, call_next):\n    response = await call_next(request)\n    response.headers["Access-Control-Allow-Origin"] = "{{origin}}"\n    return response`,
    note: 'a hand-written header middleware: OPTIONS reaches the router, 405',
  },
  {
    name: 'preflight_auth',
    row: 3,
    req: 'auth_put',
    expect: PF_MISSING,
    slot: `${starlette(`allow_origins=["{{origin}}"], allow_methods=["*"], allow_headers=["Authorization"]`)}\napp.add_middleware(AuthMiddleware)`,
    note: 'auth added last runs first: 401 without CORS headers',
  },
  { name: 'wildcard_credentials', row: 4, req: 'get_creds', expect: WILDCARD, slot: starlette(`allow_origins=["*"]`) },
  {
    name: 'header_blocked',
    row: 5,
    req: 'custom_header',
    expect: PF_STATUS,
    slot: starlette(`allow_origins=["{{origin}}"], allow_headers=["Content-Type"]`),
    note: 'Starlette answers a disallowed header with its own 400',
  },
  {
    name: 'method_blocked',
    row: 6,
    req: 'delete',
    expect: PF_STATUS,
    slot: starlette(`allow_origins=["{{origin}}"], allow_methods=["GET", "POST"]`),
    note: 'Starlette answers a disallowed method with its own 400',
  },
  { name: 'credentials_flag_missing', row: 7, req: 'get_creds', expect: ACAC, slot: starlette(`allow_origins=["{{origin}}"]`) },
  { name: 'trailing_slash', row: 8, req: 'get', expect: MISSING, slot: starlette(`allow_origins=["{{origin}}/"]`) },
  { name: 'scheme', row: 9, req: 'get', expect: MISSING, slot: starlette(`allow_origins=["{{origin_https}}"]`) },
  { name: 'port', row: 10, req: 'get', expect: MISSING, slot: starlette(`allow_origins=["{{origin_other_port}}"]`) },
  {
    name: 'redirect',
    row: 11,
    req: 'report',
    expect: MISSING,
    slot: `${starlette(`allow_origins=["{{origin}}"]`)}\nfrom starlette.responses import RedirectResponse\n\n@app.middleware("http")\nasync def legacy_redirects(request, call_next):\n    if request.url.path == "{{path}}report":\n        return RedirectResponse("{{path}}v2/report", status_code=307)\n    return await call_next(request)`,
    note: 'a redirecting middleware added after CORS runs outside it',
  },
  {
    name: 'error_path',
    row: 'error path',
    req: 'fail',
    expect: MISSING,
    slot: starlette(`allow_origins=["{{origin}}"]`),
    note: 'an unhandled exception: ServerErrorMiddleware answers 500 outside CORSMiddleware',
  },
];

// --------------------------------------------------------------------------------------- Flask

const flaskCors = (opts) => `from flask_cors import CORS\n\nCORS(app${opts ? ', ' + opts : ''})`;

const FLASK = [
  { name: 'no_cors', row: 1, req: 'get', expect: MISSING, slot: `# no CORS handling` },
  {
    name: 'origin_not_allowed',
    row: 2,
    req: 'get',
    expect: MISSING,
    slot: flaskCors(`origins=["{{other_origin}}"]`),
    note: 'flask-cors omits ACAO for an origin it does not list',
  },
  {
    name: 'preflight_auth',
    row: 3,
    req: 'auth_put',
    expect: PF_STATUS,
    slot: `${flaskCors(`origins=["{{origin}}"]`)}\n\n@app.before_request\ndef require_login():\n    return authenticate()`,
    note: 'auth before CORS: Flask answers 401 and flask-cors still adds its headers',
  },
  {
    name: 'wildcard_credentials',
    row: 4,
    req: 'get_creds',
    expect: ACAC,
    slot: flaskCors(''),
    note: "flask-cors's default origins='*' echoes the request's origin (send_wildcard=False): what fails is the missing credentials flag",
  },
  {
    name: 'header_blocked',
    row: 5,
    req: 'custom_header',
    expect: HEADER,
    slot: flaskCors(`origins=["{{origin}}"], allow_headers=["Content-Type"]`),
  },
  {
    name: 'method_blocked',
    row: 6,
    req: 'delete',
    expect: METHOD,
    slot: flaskCors(`origins=["{{origin}}"], methods=["GET", "POST"]`),
  },
  { name: 'credentials_flag_missing', row: 7, req: 'get_creds', expect: ACAC, slot: flaskCors(`origins=["{{origin}}"]`) },
  { name: 'trailing_slash', row: 8, req: 'get', expect: MISSING, slot: flaskCors(`origins=["{{origin}}/"]`) },
  { name: 'scheme', row: 9, req: 'get', expect: MISSING, slot: flaskCors(`origins=["{{origin_https}}"]`) },
  { name: 'port', row: 10, req: 'get', expect: MISSING, slot: flaskCors(`origins=["{{origin_other_port}}"]`) },
  {
    name: 'preflight_redirect',
    row: 11,
    req: 'put_items',
    expect: 'PreflightDisallowedRedirect',
    slot: flaskCors(`resources={r"{{path}}*": {"origins": ["{{origin}}"]}}`),
    note: 'the route ends in a slash: Werkzeug answers the preflight to the bare URL with 308',
  },
  {
    name: 'redirect',
    row: 11,
    req: 'report',
    expect: MISSING,
    slot: `from flask import redirect\n\n@app.get("{{path}}report")\ndef old_report():\n    return redirect("{{path}}v2/report", code=307)\n\n${flaskCors(`resources={r"{{path}}v2/*": {"origins": ["{{origin}}"]}}`)}`,
    note: 'CORS configured for the new URLs only, not the redirecting one',
  },
];

// -------------------------------------------------------------------------------------- Django

const corsheaders = (lines) =>
  `INSTALLED_APPS += ["corsheaders"]\nMIDDLEWARE.insert(0, "corsheaders.middleware.CorsMiddleware")\n${lines}`;

const DJANGO = [
  { name: 'no_cors', row: 1, req: 'get', expect: MISSING, slot: `# no CORS handling` },
  {
    name: 'origin_not_allowed',
    row: 2,
    req: 'get',
    expect: MISSING,
    slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{other_origin}}"]`),
    note: 'django-cors-headers omits ACAO for an origin it does not list',
  },
  {
    name: 'preflight_auth',
    row: 3,
    req: 'auth_put',
    expect: PF_MISSING,
    slot: `INSTALLED_APPS += ["corsheaders"]\nMIDDLEWARE = ["api.auth.AuthMiddleware", "corsheaders.middleware.CorsMiddleware", *MIDDLEWARE]\nCORS_ALLOWED_ORIGINS = ["{{origin}}"]`,
    note: 'auth middleware before CorsMiddleware: 401 without CORS headers',
  },
  { name: 'wildcard_credentials', row: 4, req: 'get_creds', expect: WILDCARD, slot: corsheaders(`CORS_ALLOW_ALL_ORIGINS = True`) },
  {
    name: 'header_blocked',
    row: 5,
    req: 'custom_header',
    expect: HEADER,
    slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{origin}}"]\nCORS_ALLOW_HEADERS = ["content-type"]`),
  },
  {
    name: 'method_blocked',
    row: 6,
    req: 'delete',
    expect: METHOD,
    slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{origin}}"]\nCORS_ALLOW_METHODS = ["GET", "POST"]`),
  },
  {
    name: 'credentials_flag_missing',
    row: 7,
    req: 'get_creds',
    expect: ACAC,
    slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{origin}}"]`),
  },
  {
    name: 'trailing_slash',
    row: 8,
    req: 'get',
    expect: null,
    slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{origin}}/"]`),
    note: 'django-cors-headers compares scheme and host:port only: the trailing slash is harmless at run time',
  },
  { name: 'scheme', row: 9, req: 'get', expect: MISSING, slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{origin_https}}"]`) },
  { name: 'port', row: 10, req: 'get', expect: MISSING, slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{origin_other_port}}"]`) },
  {
    name: 'redirect',
    row: 11,
    req: 'report',
    expect: MISSING,
    slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{origin}}"]\nCORS_URLS_REGEX = r"^{{path}}v2/.*$"`),
    note: 'CORS_URLS_REGEX covers the new URLs only, not the redirecting one',
  },
  {
    name: 'authorization_wildcard',
    row: 13,
    req: 'auth_get',
    expect: null,
    warning: true,
    slot: corsheaders(`CORS_ALLOWED_ORIGINS = ["{{origin}}"]\nCORS_ALLOW_HEADERS = ["*"]`),
  },
];

// --------------------------------------------------------------------------------------- nginx

const ngx = (body) => `location {{path}} {\n${body}\n    proxy_pass {{upstream}};\n}`;
const ngxPreflight = (acah, acam = 'GET, POST, PUT, DELETE') =>
  ngx(
    `    if ($request_method = OPTIONS) {\n        add_header Access-Control-Allow-Origin "{{origin}}" always;\n        add_header Access-Control-Allow-Methods "${acam}" always;\n        add_header Access-Control-Allow-Headers "${acah}" always;\n        return 204;\n    }\n    add_header Access-Control-Allow-Origin "{{origin}}" always;`,
  );

const NGINX = [
  { name: 'no_cors', row: 1, req: 'get', expect: MISSING, slot: `location {{path}} {\n    proxy_pass {{upstream}};\n}` },
  {
    name: 'origin_not_allowed',
    row: 2,
    req: 'get',
    expect: MISMATCH,
    slot: ngx(`    add_header Access-Control-Allow-Origin "{{other_origin}}" always;`),
  },
  {
    name: 'preflight_guide_block',
    row: 3,
    req: 'put_json',
    expect: PF_MISSING,
    slot: ngx(
      `    add_header 'Access-Control-Allow-Origin' '{{origin}}' always;\n    add_header 'Access-Control-Allow-Methods' 'GET, POST, PUT, DELETE, OPTIONS' always;\n    add_header 'Access-Control-Allow-Headers' 'Content-Type, Authorization' always;\n    add_header 'Vary' 'Origin' always;\n    if ($request_method = 'OPTIONS') {\n        add_header 'Access-Control-Max-Age' '86400';\n        add_header 'Content-Length' '0';\n        return 204;\n    }`,
    ),
    note: "the guide's own block: add_header inside if replaces the location's, the 204 carries only Max-Age",
  },
  {
    name: 'preflight_auth',
    row: 3,
    req: 'auth_put',
    expect: PF_STATUS,
    slot: ngx(`    auth_basic "api";\n    auth_basic_user_file api.htpasswd;\n    add_header Access-Control-Allow-Origin "{{origin}}" always;`),
    note: 'auth_basic answers the preflight 401 (with the always header)',
  },
  {
    name: 'preflight_auth_limit_except',
    row: 3,
    req: 'auth_put',
    expect: PF_STATUS,
    slot: ngx(
      `    if ($request_method = OPTIONS) {\n        add_header Access-Control-Allow-Origin "{{origin}}" always;\n        add_header Access-Control-Allow-Methods "GET, POST, PUT, DELETE" always;\n        add_header Access-Control-Allow-Headers "Authorization, Content-Type" always;\n        return 204;\n    }\n    limit_except GET {\n        auth_basic "api";\n        auth_basic_user_file api.htpasswd;\n    }\n    add_header Access-Control-Allow-Origin "{{origin}}" always;`,
    ),
    note: "corswatch's previous advice (OPTIONS answered in an if) on a limit_except config: the if never runs for OPTIONS",
  },
  {
    name: 'wildcard_credentials',
    row: 4,
    req: 'get_creds',
    expect: WILDCARD,
    slot: ngx(`    add_header Access-Control-Allow-Origin "*" always;`),
  },
  { name: 'header_blocked', row: 5, req: 'custom_header', expect: HEADER, slot: ngxPreflight('Content-Type') },
  { name: 'method_blocked', row: 6, req: 'delete', expect: METHOD, slot: ngxPreflight('Content-Type', 'GET, POST') },
  {
    name: 'credentials_flag_missing',
    row: 7,
    req: 'get_creds',
    expect: ACAC,
    slot: ngx(`    add_header Access-Control-Allow-Origin "{{origin}}" always;`),
  },
  { name: 'trailing_slash', row: 8, req: 'get', expect: MISMATCH, slot: ngx(`    add_header Access-Control-Allow-Origin "{{origin}}/" always;`) },
  { name: 'scheme', row: 9, req: 'get', expect: MISMATCH, slot: ngx(`    add_header Access-Control-Allow-Origin "{{origin_https}}" always;`) },
  { name: 'port', row: 10, req: 'get', expect: MISMATCH, slot: ngx(`    add_header Access-Control-Allow-Origin "{{origin_other_port}}" always;`) },
  {
    name: 'redirect',
    row: 11,
    req: 'report',
    expect: MISSING,
    slot: `location = {{path}}report {\n    return 307 {{path}}v2/report;\n}\n${ngx(`    add_header Access-Control-Allow-Origin "{{origin}}" always;`)}`,
    note: 'the redirecting location has no add_header of its own and does not inherit the other location\'s',
  },
  {
    name: 'preflight_redirect',
    row: 11,
    req: 'put_items',
    expect: 'PreflightDisallowedRedirect',
    slot: ngxPreflight('Content-Type').replace('location {{path}} {', 'location {{path}}items/ {'),
    note: 'only the slashed location exists: nginx answers the bare URL (the preflight too) with 301',
  },
  {
    name: 'error_path',
    row: 'error path',
    req: 'fail',
    expect: MISSING,
    slot: ngx(`    add_header Access-Control-Allow-Origin "{{origin}}";`),
    note: 'add_header without always skips the application\'s 500',
  },
  {
    name: 'authorization_wildcard',
    row: 13,
    req: 'auth_get',
    expect: null,
    warning: true,
    slot: ngxPreflight('*'),
  },
  {
    name: 'double_acao',
    row: 2,
    req: 'app_acao',
    expect: 'MultipleAllowOriginValues',
    slot: ngx(`    add_header Access-Control-Allow-Origin "{{origin}}" always;`),
    note: 'the application sets the header too: two lines reach the browser',
  },
  {
    name: 'stale_cache',
    row: 'cache',
    req: 'stale',
    expect: MISSING,
    slot: ngx(`    add_header Access-Control-Allow-Origin $http_origin always;`),
    no_evidence: { pcap: 'the blocked request never reached the wire (browser cache)' },
    note: STALE,
  },
];

// -------------------------------------------------------------------------------------- Apache

const apacheLoc = (lines) => `<Location "{{path}}">\n${lines}\n    ProxyPass "{{upstream}}{{path}}"\n</Location>`;
const apachePreflight = (acah, acam = 'GET, POST, PUT, DELETE') =>
  `RewriteEngine On\nRewriteCond %{REQUEST_METHOD} =OPTIONS\nRewriteRule "^{{path}}" - [R=204,L]\n${apacheLoc(
    `    Header always set Access-Control-Allow-Origin "{{origin}}"\n    Header always set Access-Control-Allow-Methods "${acam}"\n    Header always set Access-Control-Allow-Headers "${acah}"`,
  )}`;

const APACHE = [
  { name: 'no_cors', row: 1, req: 'get', expect: MISSING, slot: `ProxyPass "{{path}}" "{{upstream}}{{path}}"` },
  {
    name: 'origin_not_allowed',
    row: 2,
    req: 'get',
    expect: MISMATCH,
    slot: apacheLoc(`    Header always set Access-Control-Allow-Origin "{{other_origin}}"`),
  },
  {
    name: 'preflight_unhandled',
    row: 3,
    req: 'put_json',
    expect: PF_STATUS,
    slot: apacheLoc(
      `    Header always set Access-Control-Allow-Origin "{{origin}}"\n    Header always set Access-Control-Allow-Methods "GET, POST, PUT, DELETE"\n    Header always set Access-Control-Allow-Headers "Content-Type"`,
    ),
    note: 'OPTIONS passed to the application, which answers 405',
  },
  {
    name: 'preflight_auth',
    row: 3,
    req: 'auth_put',
    expect: PF_STATUS,
    slot: apacheLoc(
      `    AuthType Basic\n    AuthName "api"\n    AuthUserFile "api.htpasswd"\n    Require valid-user\n    Header always set Access-Control-Allow-Origin "{{origin}}"`,
    ),
    note: 'Require valid-user answers the preflight 401 (with the always header)',
  },
  {
    name: 'wildcard_credentials',
    row: 4,
    req: 'get_creds',
    expect: WILDCARD,
    slot: apacheLoc(`    Header always set Access-Control-Allow-Origin "*"`),
  },
  { name: 'header_blocked', row: 5, req: 'custom_header', expect: HEADER, slot: apachePreflight('Content-Type') },
  { name: 'method_blocked', row: 6, req: 'delete', expect: METHOD, slot: apachePreflight('Content-Type', 'GET, POST') },
  {
    name: 'credentials_flag_missing',
    row: 7,
    req: 'get_creds',
    expect: ACAC,
    slot: apacheLoc(`    Header always set Access-Control-Allow-Origin "{{origin}}"`),
  },
  { name: 'trailing_slash', row: 8, req: 'get', expect: MISMATCH, slot: apacheLoc(`    Header always set Access-Control-Allow-Origin "{{origin}}/"`) },
  { name: 'scheme', row: 9, req: 'get', expect: MISMATCH, slot: apacheLoc(`    Header always set Access-Control-Allow-Origin "{{origin_https}}"`) },
  { name: 'port', row: 10, req: 'get', expect: MISMATCH, slot: apacheLoc(`    Header always set Access-Control-Allow-Origin "{{origin_other_port}}"`) },
  {
    name: 'redirect',
    row: 11,
    req: 'report',
    expect: MISSING,
    slot: `Header set Access-Control-Allow-Origin "{{origin}}"\nRedirect 307 "{{path}}report" "{{path}}v2/report"\nProxyPass "{{path}}report" "!"\nProxyPass "{{path}}" "{{upstream}}{{path}}"`,
    note: '"Header set" (onsuccess) is not sent on the redirect Apache makes itself',
  },
  {
    name: 'error_path',
    row: 'error path',
    req: 'fail',
    expect: MISSING,
    slot: apacheLoc(`    Header set Access-Control-Allow-Origin "{{origin}}"`),
    values: { upstream: '{{closed}}' },
    note: 'the application is down: Apache answers its own 503, and "Header set" misses it',
  },
  {
    name: 'authorization_wildcard',
    row: 13,
    req: 'auth_get',
    expect: null,
    warning: true,
    slot: apachePreflight('*'),
  },
  {
    name: 'double_acao',
    row: 2,
    req: 'app_acao',
    expect: 'MultipleAllowOriginValues',
    slot: apacheLoc(`    Header always set Access-Control-Allow-Origin "{{origin}}"`),
    note: 'the proxied answer keeps the application\'s copy (onsuccess table) beside the always one',
  },
  {
    name: 'stale_cache',
    row: 'cache',
    req: 'stale',
    expect: MISSING,
    slot: `SetEnvIf Origin "^(.+)$" CORS_ORIGIN=$1\n${apacheLoc(`    Header always set Access-Control-Allow-Origin "%{CORS_ORIGIN}e" env=CORS_ORIGIN`)}`,
    no_evidence: { pcap: 'the blocked request never reached the wire (browser cache)' },
    note: STALE,
  },
];

// ------------------------------------------------------------------------------ proxy topology

// A plain reverse proxy in front of an Express app that handles CORS itself. The proxy's config
// is fixed; the scenario's slot (and the fix) is the app's.
const BEHIND = [
  {
    name: 'app_cors_ok',
    row: 'proxy',
    req: 'get',
    expect: null,
    slot: expressCors(`{ origin: ['{{origin}}'] }`),
    note: 'correctly configured app behind the proxy',
  },
  {
    name: 'app_origin_not_allowed',
    row: 'proxy',
    req: 'get',
    expect: MISSING,
    slot: expressCors(`{ origin: ['{{other_origin}}'] }`),
    note: 'misconfigured app behind the proxy',
  },
  {
    name: 'app_method_blocked',
    row: 'proxy',
    req: 'delete',
    expect: METHOD,
    slot: expressCors(`{ origin: ['{{origin}}'], methods: ['GET', 'POST'] }`),
    note: 'misconfigured app behind the proxy, preflighted',
  },
];

// group: the scenarios' id prefix; stack: whose config the slot is (and whose snippet fixes it);
// front: what the browser talks to (its port is the browser-facing hop).
export const GROUPS = [
  { group: 'express', stack: 'express', scenarios: EXPRESS },
  { group: 'nginx', stack: 'nginx', scenarios: NGINX, behind: 'backend' },
  { group: 'apache', stack: 'apache', scenarios: APACHE, behind: 'backend' },
  { group: 'fastapi', stack: 'fastapi', scenarios: FASTAPI },
  { group: 'flask', stack: 'flask', scenarios: FLASK },
  { group: 'django', stack: 'django', scenarios: DJANGO },
  { group: 'nginx-express', stack: 'express', front: 'nginx', scenarios: BEHIND },
  { group: 'apache-express', stack: 'express', front: 'apache', scenarios: BEHIND },
];
