// The corswatch lab (issue 9, items 4 and 5): real stacks, misconfigured per the troubleshooting
// guide, judged by real Chromium. For every scenario of scenarios.mjs:
//
//  1. broken pass: the stack runs with the misconfiguration; a page on another loopback origin
//     makes the request in Chromium. Chromium's own verdict (Network.loadingFailed
//     corsErrorStatus, DevTools issues) is recorded; the loopback traffic is captured (tcpdump)
//     and a DevTools-style HAR is built from the CDP events. corswatch's verdict from the pcap
//     (browser-facing hop only) and from the HAR must equal Chromium's.
//  2. fixed pass: for every scenario Chromium blocked (or warned about), the snippet that
//     `corswatch explain KIND --stack S --snippet --set ...` prints for the kind corswatch
//     reported replaces the misconfiguration, rendered with the lab's real origin, path and
//     upstream; the stack is restarted and Chromium must now allow the request. corswatch must
//     agree again.
//  3. proxy topology: nginx and Apache in front of an application, both hops in one capture.
//     Hop-aware assertions (no blocked verdict for a request Chromium allowed; a blocked request
//     counted once, as at the browser-facing hop; as many exchanges as that hop alone) are listed
//     in HOP_AWARE and fail the run (CW_LAB_HOP_AWARE=0 only reports them).
//
// Usage: node lab.mjs --corswatch BIN --work DIR --python VENV/bin/python [--only group,...]
// Every process it starts is stopped by PID; everything listens on 127.0.0.1 / localhost.
import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDevtoolsHar } from '../browser/devtools-har.mjs';
import { GROUPS, REQUESTS } from './scenarios.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const CORSWATCH = path.resolve(opt('--corswatch', path.join(HERE, '../../target/release/corswatch')));
const WORK = path.resolve(opt('--work', path.join(HERE, '../../target/lab')));
const PYTHON = path.resolve(opt('--python', path.join(WORK, 'venv/bin/python')));
const ONLY = opt('--only', null)?.split(',');
const HOP_STRICT = process.env.CW_LAB_HOP_AWARE !== '0';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Free ports, picked now (fixed ports collide with other suites running on the same machine).
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
const PORT = {};
for (const name of [
  'page', // http://localhost:PAGE serves the page (the requesting origin)
  'express',
  'nginx',
  'apache',
  'flask',
  'fastapi',
  'django',
  'backend', // the plain app behind nginx and Apache
  'closed', // nothing listens here
  'cookie', // 127.0.0.1: sets the cookie credentialed requests carry
  'nginx-front',
  'apache-front',
  'express-behind',
  'other', // a port in no allowlist (never connected to)
  'page2', // http://localhost:PAGE2: a second page origin, the one the policy group does not allow
]) {
  let p;
  do p = await freePort();
  while (Object.values(PORT).includes(p));
  PORT[name] = p;
}
const CAPTURE_PORTS = Object.entries(PORT)
  .filter(([n]) => n !== 'other' && n !== 'page2')
  .map(([, p]) => p);
const PAGE_ORIGIN = `http://localhost:${PORT.page}`;
const PAGE2_ORIGIN = `http://localhost:${PORT.page2}`;
const LAB_VALUES = {
  origin: PAGE_ORIGIN,
  other_origin: 'http://partner.lab.test',
  origin_https: `https://localhost:${PORT.page}`,
  origin_other_port: `http://localhost:${PORT.express}`,
  closed: `http://127.0.0.1:${PORT.closed}`,
  upstream: `http://127.0.0.1:${PORT.backend}`,
  methods: 'GET, POST, PUT, DELETE',
  headers: 'Authorization, Content-Type, X-Request-Id',
};

/// Hop-aware assertions (issue 9 item 1): corswatch judges only the browser-facing hop of a
/// request seen at two hops. They fail the run; CW_LAB_HOP_AWARE=0 only reports them.
const HOP_AWARE = [
  'allowed request, both hops captured: no blocked verdict',
  'blocked request, both hops captured: one blocked verdict, the browser-facing one',
  'any request, both hops captured: as many exchanges as the browser-facing hop alone',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error(...a);

// ------------------------------------------------------------------------------ processes

const started = new Map(); // pid -> {name, child}

function start(name, cmd, argv, opts = {}) {
  const out = fs.openSync(path.join(opts.logDir ?? WORK, `${name}.log`), 'a');
  const child = spawn(cmd, argv, { stdio: ['ignore', out, out], ...opts });
  fs.closeSync(out);
  started.set(child.pid, { name, child });
  child.exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
  child.exited.then(() => started.delete(child.pid));
  return child;
}

async function stop(child, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {}
  const done = await Promise.race([child.exited, sleep(5000).then(() => null)]);
  if (!done) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
    await child.exited;
  }
}

async function stopAll() {
  for (const { child } of [...started.values()].reverse()) await stop(child);
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function waitPort(port, child, what) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited while starting`);
    if (await portOpen(port)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port} within 15 s`);
}

async function waitClosed(port) {
  for (let i = 0; i < 100 && (await portOpen(port)); i++) await sleep(50);
}

// ------------------------------------------------------------------------------ templates

/// The lab's renderer for the scenarios' slots: {{name}} and {{name|re}} from `values`.
function renderSlot(text, values) {
  return text.replace(/\{\{(\w+)(\|re)?\}\}/g, (m, name, re) => {
    if (!(name in values)) throw new Error(`slot placeholder ${m} has no value`);
    const v = values[name];
    return re ? v.replace(/[.^$*+?()[\]{}|\\]/g, '\\$&') : v;
  });
}

function fill(file, slot, extra = {}) {
  let t = fs.readFileSync(path.join(HERE, 'stacks', file), 'utf8');
  const marker = /^([ \t]*)(#|\/\/) @@CORS@@$/m;
  const m = marker.exec(t);
  if (!m) throw new Error(`${file}: no @@CORS@@ line`);
  const indented = slot
    .split('\n')
    .map((l) => (l ? m[1] + l : l))
    .join('\n');
  t = t.slice(0, m.index) + indented + t.slice(m.index + m[0].length);
  for (const [k, v] of Object.entries(extra)) t = t.replaceAll(`@@${k}@@`, v);
  return t;
}

const HTPASSWD = () => {
  const r = spawnSync('htpasswd', ['-nbm', 'lab', 'lab'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr}`);
  return r.stdout.trim() + '\n';
};
let htpasswd = null;

/// Writes the stack's files with `slot` into `dir` and starts it on `port`; returns the child.
async function runStack(stack, slot, dir, port) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const logDir = dir;
  let child;
  switch (stack) {
    case 'express':
      fs.writeFileSync(path.join(dir, 'app.cjs'), fill('express.cjs', slot));
      child = start('express', process.execPath, ['app.cjs'], {
        cwd: dir,
        logDir,
        env: { ...process.env, PORT: String(port), NODE_PATH: path.join(HERE, 'node_modules') },
      });
      break;
    case 'fastapi':
      fs.writeFileSync(path.join(dir, 'main.py'), fill('fastapi_main.py', slot));
      child = start('fastapi', PYTHON, ['-m', 'uvicorn', 'main:app', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning'], {
        cwd: dir,
        logDir,
      });
      break;
    case 'flask':
      fs.writeFileSync(path.join(dir, 'app.py'), fill('flask_app.py', slot));
      child = start('flask', PYTHON, ['app.py'], { cwd: dir, logDir, env: { ...process.env, PORT: String(port) } });
      break;
    case 'django': {
      fs.cpSync(path.join(HERE, 'stacks/django'), dir, { recursive: true });
      // A snippet names its file in its first line ("# settings.py"); the lab's slots are
      // settings.
      const first = slot.split('\n')[0].trim();
      const file = /^# (\w+\.py)\b/.exec(first)?.[1] ?? 'settings.py';
      const target = path.join(dir, 'labsite', file);
      if (file === 'settings.py') {
        fs.writeFileSync(target, fill('django/labsite/settings.py', slot));
      } else {
        fs.appendFileSync(target, '\n' + slot + '\n');
      }
      child = start(
        'django',
        PYTHON,
        ['-m', 'uvicorn', 'labsite.asgi:application', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning'],
        { cwd: dir, logDir, env: { ...process.env, DJANGO_SETTINGS_MODULE: 'labsite.settings' } },
      );
      break;
    }
    case 'nginx':
      for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, 'tmp', t), { recursive: true });
      fs.writeFileSync(path.join(dir, 'api.htpasswd'), htpasswd);
      fs.writeFileSync(path.join(dir, 'nginx.conf'), fill('nginx.conf', slot, { DIR: dir, PORT: String(port) }));
      child = start('nginx', '/usr/sbin/nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { cwd: dir, logDir });
      break;
    case 'apache':
      fs.writeFileSync(path.join(dir, 'api.htpasswd'), htpasswd);
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(path.join(dir, 'api.htpasswd'), 0o644);
      fs.writeFileSync(path.join(dir, 'apache.conf'), fill('apache.conf', slot, { DIR: dir, PORT: String(port) }));
      child = start('apache', '/usr/sbin/apache2', ['-f', path.join(dir, 'apache.conf'), '-DFOREGROUND'], { cwd: dir, logDir });
      break;
    default:
      throw new Error(`unknown stack ${stack}`);
  }
  try {
    await waitPort(port, child, stack);
  } catch (e) {
    await stop(child);
    const logs = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    throw new Error(`${e.message}\n${logs.slice(-3000)}`);
  }
  return child;
}

// ------------------------------------------------------------------------------ capture

async function startCapture(file) {
  const child = start('tcpdump', 'tcpdump', ['-i', 'lo', '--immediate-mode', '-s', '0', '-U', '-w', file, CAPTURE_PORTS.map((p) => `tcp port ${p}`).join(' or ')]);
  const logf = path.join(WORK, 'tcpdump.log');
  for (let i = 0; i < 200; i++) {
    if (fs.existsSync(logf) && fs.readFileSync(logf, 'utf8').includes('listening on')) return child;
    await sleep(50);
  }
  throw new Error('tcpdump did not start');
}

async function stopCapture(child) {
  await sleep(300);
  await stop(child, 'SIGINT');
}

function filterPcap(src, dst, ports) {
  const r = spawnSync('tcpdump', ['-r', src, '-w', dst, ports.map((p) => `tcp port ${p}`).join(' or ')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tcpdump -r: ${r.stderr}`);
}

// ------------------------------------------------------------------------------ corswatch

function corswatchEvents(file) {
  const r = spawnSync(CORSWATCH, ['analyze', file, '--format', 'events'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0 && r.status !== 2) throw new Error(`corswatch analyze ${file}: exit ${r.status}\n${r.stderr}`);
  if (r.status === 2) log(`  corswatch reported input problems for ${path.basename(file)}: ${r.stderr.trim().slice(0, 500)}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

const pathOf = (url) => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};

/// corswatch's verdict for one scenario: its events (URL path under the scenario's prefix).
function verdictOf(events, prefix) {
  const mine = events.filter((e) => pathOf(e.url ?? '').startsWith(prefix));
  const blocked = mine.filter((e) => e.blocked);
  const first = blocked[0];
  return {
    events: mine.length,
    blockedEvents: blocked.length,
    blocked: blocked.length > 0,
    cors_error: first?.cors_error?.replace(/^k(?=[A-Z])/, '') ?? null,
    kind: first?.kind ?? null,
    inferred: first?.confidence?.level === 'inferred',
    warnings: [...new Set(mine.flatMap((e) => (e.warnings ?? []).map((w) => w.kind)))],
    summary: mine.map((e) => `${e.method} ${pathOf(e.url)} ${e.status ?? '-'} ${e.type} ${e.blocked ? `BLOCKED ${e.kind}/${e.cors_error}` : 'ok'}`),
  };
}

function snippet(kind, stack, values) {
  const sets = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const r = spawnSync(CORSWATCH, ['explain', kind, '--stack', stack, '--snippet', ...sets], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim() };
  return { text: r.stdout.replace(/\n$/, '') };
}

// ------------------------------------------------------------------------------ browser

function pageServer() {
  const page = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>corswatch lab</title><p>corswatch lab page</p>');
  });
  const cookie = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Set-Cookie': 'cw_lab=1; SameSite=None; Secure; Path=/' });
    res.end('cookie set');
  });
  const page2 = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>corswatch lab (other origin)</title><p>corswatch lab page, other origin</p>');
  });
  return Promise.all([
    new Promise((r) => page.listen(PORT.page, 'localhost', r)),
    new Promise((r) => page2.listen(PORT.page2, 'localhost', r)),
    new Promise((r) => cookie.listen(PORT.cookie, '127.0.0.1', r)),
  ]).then(() => [page, page2, cookie]);
}

async function launchBrowser() {
  const userDataDir = fs.mkdtempSync(path.join(WORK, 'chromium-'));
  fs.mkdirSync(path.join(userDataDir, 'Default'), { recursive: true });
  // Third-party cookies allowed (localhost and 127.0.0.1 are different sites), as in tests/browser.
  fs.writeFileSync(
    path.join(userDataDir, 'Default', 'Preferences'),
    JSON.stringify({ profile: { block_third_party_cookies: false, cookie_controls_mode: 0 } }),
  );
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  const cookiePage = await context.newPage();
  await cookiePage.goto(`http://127.0.0.1:${PORT.cookie}/setcookie`);
  await cookiePage.close();
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  const b = { context, page, cdp, events: [], userDataDir, version: context.browser()?.version() ?? null };
  for (const m of [
    'Network.requestWillBeSent',
    'Network.requestWillBeSentExtraInfo',
    'Network.responseReceived',
    'Network.responseReceivedExtraInfo',
    'Network.loadingFinished',
    'Network.loadingFailed',
    'Log.entryAdded',
    'Audits.issueAdded',
  ]) {
    cdp.on(m, (params) => b.events.push({ method: m, params }));
  }
  await cdp.send('Network.enable');
  await cdp.send('Log.enable');
  await cdp.send('Audits.enable');
  await page.goto(`${PAGE_ORIGIN}/`);
  return b;
}

// Runs in the page.
async function doRequest(r) {
  if (r.prime) {
    // Fill the HTTP cache with a no-cors answer (no Origin) for the same URL first.
    await fetch(r.url, { mode: 'no-cors' }).then((x) => x.text()).catch(() => '');
  }
  const init = { method: r.method, headers: r.headers ?? {} };
  if (r.credentials) init.credentials = 'include';
  if (r.body != null) init.body = r.body;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 8000);
  init.signal = ctl.signal;
  try {
    const res = await fetch(r.url, init);
    await res.text().catch(() => '');
    return { ok: true, status: res.status };
  } catch (e) {
    return { ok: false, error: `${e.name}: ${e.message}` };
  } finally {
    clearTimeout(timer);
  }
}

/// Makes the scenario's request in Chromium; returns Chromium's verdict.
async function judge(b, url, req, prefix, freshPage) {
  // Chromium reports a deprecation issue (Authorization under *) once per document: a scenario
  // that looks for one gets a freshly loaded page.
  if (freshPage) await b.page.goto(`${PAGE_ORIGIN}/?fresh=${encodeURIComponent(prefix)}`);
  const from = b.events.length;
  const js = await b.page.evaluate(doRequest, { ...req, url });
  // Let the network events of this request arrive.
  const mine = () => {
    const ids = new Map();
    for (const { method, params } of b.events.slice(from)) {
      if (method === 'Network.requestWillBeSent' && pathOf(params.request.url).startsWith(prefix)) {
        ids.set(params.requestId, { preflight: params.initiator?.type === 'preflight' || params.type === 'Preflight', done: false });
      } else if ((method === 'Network.loadingFinished' || method === 'Network.loadingFailed') && ids.has(params.requestId)) {
        const r = ids.get(params.requestId);
        r.done = true;
        if (method === 'Network.loadingFailed') r.failed = params;
      }
    }
    return ids;
  };
  for (let i = 0; i < 40 && [...mine().values()].some((r) => !r.done); i++) await sleep(50);
  await sleep(150);
  const reqs = [...mine().values()];
  const evs = b.events.slice(from);
  const corsFail = reqs.find((r) => !r.preflight && r.failed?.corsErrorStatus)?.failed;
  const issues = evs.filter((e) => e.method === 'Audits.issueAdded').map((e) => e.params.issue);
  const corsIssue = issues.find((i) => i.details?.corsIssueDetails?.corsErrorStatus);
  const code = corsFail?.corsErrorStatus?.corsError ?? corsIssue?.details?.corsIssueDetails?.corsErrorStatus?.corsError ?? null;
  const console_ = evs.filter((e) => e.method === 'Log.entryAdded').map((e) => e.params.entry.text);
  return {
    blocked: !!code || console_.some((t) => /blocked by CORS policy/.test(t)),
    cors_error: code,
    authz_wildcard: issues.some((i) => i.details?.deprecationIssueDetails?.type === 'AuthorizationCoveredByWildcard'),
    js,
    console: console_.filter((t) => /CORS/.test(t)).slice(0, 2),
  };
}

// ------------------------------------------------------------------------------ the run

function frontOf(g) {
  return g.front ? `${g.front}-front` : g.stack;
}

/// Starts what a scenario needs; returns the children to stop (front first).
async function bring(g, slot, dir) {
  if (!g.front) return [await runStack(g.stack, slot, dir, PORT[g.stack])];
  const app = await runStack(g.stack, slot, path.join(dir, 'app'), PORT['express-behind']);
  const upstream = `http://127.0.0.1:${PORT['express-behind']}`;
  const proxySlot =
    g.front === 'nginx' ? `location /s/ {\n    proxy_pass ${upstream};\n}` : `ProxyPass "/s/" "${upstream}/s/"`;
  const front = await runStack(g.front, proxySlot, path.join(dir, 'front'), PORT[frontOf(g)]);
  return [front, app];
}

async function pass(name, b, plan) {
  log(`\n== ${name} pass: ${plan.length} scenarios`);
  const pcap = path.join(WORK, `${name}.pcap`);
  b.events.length = 0;
  const cap = await startCapture(pcap);
  for (const item of plan) {
    const { g, sc } = item;
    const dir = path.join(WORK, 'runs', name, item.id);
    let children = [];
    try {
      children = await bring(g, item.slot, dir);
      const url = `http://127.0.0.1:${PORT[frontOf(g)]}${item.prefix}${REQUESTS[sc.req].endpoint}?lab=${name}`;
      item[name] = await judge(b, url, REQUESTS[sc.req], item.prefix, !!sc.warning);
    } catch (e) {
      item[name] = { error: String(e.message ?? e) };
      log(`  ${item.id}: ${item[name].error.split('\n')[0]}`);
    } finally {
      for (const c of children) await stop(c);
      for (const port of [PORT[frontOf(g)], PORT['express-behind']]) await waitClosed(port);
    }
    const v = item[name];
    if (!v.error) log(`  ${item.id}: chromium ${v.blocked ? v.cors_error ?? 'blocked' : 'allowed'}${v.authz_wildcard ? ' (Authorization under *)' : ''} [${v.js.ok ? v.js.status : v.js.error}]`);
  }
  await stopCapture(cap);
  const har = buildDevtoolsHar(b.events, new Map(), b.version, `${PAGE_ORIGIN}/`);
  const harFile = path.join(WORK, `${name}.har`);
  fs.writeFileSync(harFile, JSON.stringify(har));
  const harEvents = corswatchEvents(harFile);
  const byFront = new Map();
  const twoHop = new Map();
  for (const item of plan) {
    const front = PORT[frontOf(item.g)];
    if (!byFront.has(front)) {
      const f = path.join(WORK, `${name}-${front}.pcap`);
      filterPcap(pcap, f, [front]);
      byFront.set(front, corswatchEvents(f));
    }
    item[`${name}_pcap`] = verdictOf(byFront.get(front), item.prefix);
    item[`${name}_har`] = verdictOf(harEvents, item.prefix);
    if (item.g.front || item.g.behind) {
      const inner = item.g.front ? PORT['express-behind'] : PORT.backend;
      const key = `${front}+${inner}`;
      if (!twoHop.has(key)) {
        const f = path.join(WORK, `${name}-${front}-${inner}.pcap`);
        filterPcap(pcap, f, [front, inner]);
        twoHop.set(key, corswatchEvents(f));
      }
      item[`${name}_twohop`] = verdictOf(twoHop.get(key), item.prefix);
    }
  }
}

const same = (chrome, ours) =>
  chrome.blocked === ours.blocked && (!chrome.blocked || chrome.cors_error === ours.cors_error) && chrome.authz_wildcard === ours.warnings.includes('authorization_under_wildcard');

function describe(v) {
  if (!v) return '-';
  if (v.error) return `error: ${v.error.split('\n')[0]}`;
  if ('events' in v) return v.blocked ? `${v.cors_error} (${v.kind}${v.inferred ? ', inferred' : ''})` : `allowed${v.warnings.length ? ` + ${v.warnings.join(',')}` : ''} [${v.events} events]`;
  return v.blocked ? v.cors_error ?? 'blocked' : `allowed${v.authz_wildcard ? ' + Authorization under *' : ''}`;
}

// ------------------------------------------------------------------------------ policy group

// Issue 14: the rendered configuration of a suggested policy, applied to the real stack, and
// Chromium's verdicts compared with corswatch's what-if prediction (group `policy`).
const POLICY_STACKS = ['express', 'nginx', 'apache', 'fastapi', 'flask', 'django'];
// `allowed`: from the page origin (the policy is suggested from these); `other`: from the
// second page origin, which the misconfigured server allows and the policy does not.
const POLICY_REQUESTS = [
  { from: 'allowed', req: 'get' },
  { from: 'allowed', req: 'put_json' },
  { from: 'allowed', req: 'custom_header' },
  { from: 'allowed', req: 'delete' },
  { from: 'other', req: 'get' },
  { from: 'other', req: 'put_json' },
];
// The example upstream of the catalogue's proxy snippets (`{{upstream}}`'s default): the
// rendered configuration says to set it to the application's address, which the lab does.
const EXAMPLE_UPSTREAM = 'http://127.0.0.1:8080';

function corswatchRun(argv) {
  const r = spawnSync(CORSWATCH, argv, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`corswatch ${argv.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

async function pageAt(b, origin) {
  if (b.at === origin) return;
  await b.page.goto(`${origin}/?policy`);
  b.at = origin;
}

/// One pass of the policy group over `items` (each with `slot`): every request in Chromium;
/// returns nothing, stores the verdict and its CDP events in `r[name]`, `r[`${name}Events`]`.
async function policyPass(name, b, items) {
  for (const it of items) {
    const dir = path.join(WORK, 'runs', `policy-${name}`, it.stack);
    let children = [];
    try {
      children = await bring(it.g, it[`${name}Slot`], dir);
      for (const r of it.reqs) {
        await pageAt(b, r.origin);
        const from = b.events.length;
        // Another URL per pass: no preflight cached by the misconfigured run answers it.
        r[name] = await judge(b, `${r.url}&${name}`, REQUESTS[r.req], it.prefix, false);
        r[`${name}Events`] = b.events.slice(from);
      }
    } catch (e) {
      it[`${name}Error`] = String(e.message ?? e);
      log(`  policy ${it.stack} (${name}): ${it[`${name}Error`].split('\n')[0]}`);
    } finally {
      for (const c of children) await stop(c);
      await waitClosed(PORT[it.stack]);
    }
  }
  await pageAt(b, PAGE_ORIGIN);
}

async function policyGroup(b) {
  const t0 = Date.now();
  const dir = path.join(WORK, 'policy');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`\n== policy group: ${POLICY_STACKS.join(', ')}`);
  const items = POLICY_STACKS.map((stack) => {
    const g = GROUPS.find((x) => x.group === stack && x.stack === stack && !x.front);
    const sc = g.scenarios.find((x) => x.name === 'origin_not_allowed');
    const prefix = `/s/policy.${stack}/`;
    const values = { ...LAB_VALUES, other_origin: PAGE2_ORIGIN, path: prefix };
    const reqs = POLICY_REQUESTS.map((r, n) => ({
      ...r,
      n,
      origin: r.from === 'allowed' ? PAGE_ORIGIN : PAGE2_ORIGIN,
      // The query's name tells the requests apart in the HAR (values are redacted, names not).
      url: `http://127.0.0.1:${PORT[stack]}${prefix}${REQUESTS[r.req].endpoint}?cwreq${n}`,
    }));
    return { stack, g, sc, prefix, brokenSlot: renderSlot(sc.slot, values), reqs };
  });
  b.at = null;
  await policyPass('broken', b, items);

  const failures = [];
  const lines = [];
  const harOf = (events, file) => {
    fs.writeFileSync(file, JSON.stringify(buildDevtoolsHar(events, new Map(), b.version, `${PAGE_ORIGIN}/`)));
    return file;
  };
  for (const it of items) {
    try {
      if (it.brokenError) throw new Error(`misconfigured run: ${it.brokenError}`);
      // The recording of the misconfigured run (both origins), and the allowed origin's part of
      // it, from which the policy is suggested.
      const all = harOf(it.reqs.flatMap((r) => r.brokenEvents), path.join(dir, `${it.stack}-broken.har`));
      const allowedHar = harOf(
        it.reqs.filter((r) => r.from === 'allowed').flatMap((r) => r.brokenEvents),
        path.join(dir, `${it.stack}-allowed.har`),
      );
      it.policyFile = path.join(dir, `${it.stack}.toml`);
      corswatchRun(['policy', 'suggest', allowedHar, '-o', it.policyFile]);
      const policyText = fs.readFileSync(it.policyFile, 'utf8');
      if (!policyText.includes(`"${PAGE_ORIGIN}"`) || policyText.includes(`"${PAGE2_ORIGIN}"`)) {
        throw new Error(`suggested policy should allow ${PAGE_ORIGIN} and not ${PAGE2_ORIGIN}:\n${policyText}`);
      }
      const rendered = corswatchRun(['policy', 'render', it.policyFile, '--stack', it.stack]);
      it.policySlot = rendered.replace(/\n+$/, '').replaceAll(EXAMPLE_UPSTREAM, LAB_VALUES.upstream);
      fs.writeFileSync(path.join(dir, `${it.stack}.rendered`), it.policySlot + '\n');
      // The prediction: what-if on the misconfigured run's recording.
      const report = JSON.parse(corswatchRun(['analyze', all, '--policy', it.policyFile, '--format', 'json']));
      const wi = report.what_if;
      if (!wi) throw new Error('no what_if in the report');
      it.whatIf = { now_pass: wi.now_pass, now_break: wi.now_break, still_blocked: wi.still_blocked, still_pass: wi.still_pass };
      const entries = JSON.parse(fs.readFileSync(all, 'utf8')).log.entries;
      const reqOf = (index) => /[?&]cwreq(\d+)/.exec(entries[index]?.request?.url ?? '')?.[1];
      for (const [list, blocked] of [
        ['now_pass', false],
        ['now_break', true],
        ['still_blocked', true],
      ]) {
        for (const x of wi[`${list}_list`] ?? []) {
          const n = reqOf(x.index);
          if (n === undefined) throw new Error(`what_if ${list} entry ${x.index} (${x.method} ${x.route}) is none of the lab's requests`);
          const r = it.reqs[Number(n)];
          (r.lists ??= []).push(list);
          r.predictBlocked = (r.predictBlocked ?? false) || blocked;
        }
      }
      for (const r of it.reqs) {
        // Not listed: passing today and under the policy (still_pass).
        if (!r.lists) {
          if (r.broken.blocked) throw new Error(`request ${r.n} (${r.req} from ${r.from}) is blocked today and in no what_if list`);
          r.lists = ['still_pass'];
          r.predictBlocked = false;
        }
      }
    } catch (e) {
      it.error = String(e.message ?? e);
    }
  }
  const ready = items.filter((it) => !it.error);
  await policyPass('policy', b, ready);

  const summary = [];
  let agreedAll = 0;
  let disagreedAll = 0;
  for (const it of items) {
    const err = it.error ?? it.policyError;
    if (err) {
      failures.push(`policy render ${it.stack}: ${err}${it.policySlot ? `\n--- rendered configuration applied:\n${it.policySlot}\n---` : ''}`);
      lines.push(`policy render ${it.stack}: ${it.reqs.length} requests, not judged (${err.split('\n')[0]})`);
      summary.push({ stack: it.stack, error: err });
      continue;
    }
    let agreed = 0;
    const bad = [];
    for (const r of it.reqs) {
      const c = r.policy;
      const chromeBlocked = c.blocked || !c.js.ok;
      // A request predicted to pass must also reach the application (a 2xx): a configuration
      // that answers CORS but breaks the routing does not count as applied.
      const served = chromeBlocked || (c.js.status >= 200 && c.js.status < 300);
      if (chromeBlocked === r.predictBlocked && served) agreed++;
      else if (!served) bad.push(`request ${r.n} ${REQUESTS[r.req].method} ${r.req} from ${r.origin}: allowed, as predicted, but answered ${c.js.status}`);
      else bad.push(`request ${r.n} ${REQUESTS[r.req].method} ${r.req} from ${r.origin}: what-if ${r.lists.join('+')} (${r.predictBlocked ? 'blocked' : 'passes'}), Chromium ${describe(c)} [${c.js.ok ? c.js.status : c.js.error}]`);
    }
    const allowedPass = it.reqs.filter((r) => r.from === 'allowed' && !r.predictBlocked).length;
    const otherBlocked = it.reqs.filter((r) => r.from === 'other' && r.predictBlocked).length;
    // The premise: the policy lets the page origin's requests through and not the other's.
    if (allowedPass !== it.reqs.filter((r) => r.from === 'allowed').length || otherBlocked !== it.reqs.filter((r) => r.from === 'other').length) {
      bad.push(`premise: the what-if should pass every request from ${PAGE_ORIGIN} and block every one from ${PAGE2_ORIGIN}: ${it.reqs.map((r) => `${r.n}:${r.lists.join('+')}`).join(' ')}`);
    }
    agreedAll += agreed;
    disagreedAll += it.reqs.length - agreed;
    lines.push(`policy render ${it.stack}: ${it.reqs.length} requests, agreed ${agreed}, disagreed ${it.reqs.length - agreed} (what-if: now_pass ${it.whatIf.now_pass}, now_break ${it.whatIf.now_break}, still_blocked ${it.whatIf.still_blocked}, still_pass ${it.whatIf.still_pass})`);
    if (bad.length) failures.push(`policy render ${it.stack}:\n  ${bad.join('\n  ')}\n--- rendered configuration applied:\n${it.policySlot}\n---`);
    summary.push({
      stack: it.stack,
      policy: fs.readFileSync(it.policyFile, 'utf8'),
      rendered: it.policySlot,
      what_if: it.whatIf,
      requests: it.reqs.map((r) => ({ n: r.n, req: r.req, origin: r.origin, today: r.broken, what_if: r.lists, chromium: r.policy })),
    });
  }
  const seconds = Math.round((Date.now() - t0) / 1000);
  let out = `\n== policy group: suggested policy, rendered per stack, applied, judged by Chromium against the what-if\n`;
  out += lines.join('\n') + '\n';
  out += `policy: ${items.length} stacks, ${agreedAll + disagreedAll} requests judged, agreed ${agreedAll}, disagreed ${disagreedAll}, ${items.filter((it) => it.error || it.policyError).length} stacks not judged, in ${seconds} s\n`;
  console.log(out);
  fs.writeFileSync(path.join(WORK, 'policy-summary.json'), JSON.stringify({ seconds, stacks: summary, failures }, null, 1));
  return failures;
}

// A policy of two routes with different rules, rendered as one configuration per framework
// (the catalogue's one-fragment-per-route cannot stack there), applied, and judged by
// Chromium against what the policy says; the same answers, analysed with `--declared`, must
// show no drift.
const ROUTES_STACKS = ['express', 'fastapi', 'flask', 'django'];
const ROUTES_REQUESTS = [
  { from: 'allowed', method: 'GET', endpoint: 'data', blocked: false },
  { from: 'allowed', method: 'PUT', endpoint: 'data', headers: { 'Content-Type': 'application/json' }, body: '{}', blocked: false },
  { from: 'allowed', method: 'GET', endpoint: 'data', headers: { 'X-Request-Id': 'lab-1' }, blocked: false },
  { from: 'other', method: 'GET', endpoint: 'data', blocked: true },
  { from: 'other', method: 'GET', endpoint: 'v2/report', blocked: false },
  { from: 'allowed', method: 'GET', endpoint: 'v2/report', blocked: true },
  { from: 'other', method: 'GET', endpoint: 'v2/report', headers: { 'X-Request-Id': 'lab-2' }, blocked: true },
];

async function routesGroup(b) {
  const t0 = Date.now();
  const dir = path.join(WORK, 'routes');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`\n== routes group: ${ROUTES_STACKS.join(', ')}`);
  const failures = [];
  const lines = [];
  for (const stack of ROUTES_STACKS) {
    const g = GROUPS.find((x) => x.group === stack && x.stack === stack && !x.front);
    const prefix = `/s/routes.${stack}/`;
    const policyFile = path.join(dir, `${stack}.toml`);
    fs.writeFileSync(
      policyFile,
      `[[route]]\nprefix = "${prefix}data"\norigins = ["${PAGE_ORIGIN}"]\nmethods = ["PUT"]\nrequest_headers = ["content-type", "x-request-id"]\n\n` +
        `[[route]]\nprefix = "${prefix}v2/"\norigins = ["${PAGE2_ORIGIN}"]\nmethods = ["GET"]\n` +
        // Starlette allows Content-Type on every preflight: declared, so that drift stays 0.
        (stack === 'fastapi' ? 'request_headers = ["content-type"]\n' : ''),
    );
    let slot = '';
    let children = [];
    const results = [];
    try {
      slot = corswatchRun(['policy', 'render', policyFile, '--stack', stack]).replace(/\n+$/, '');
      // The rendered text configures CORS; the lab's Express app still needs its routes mounted.
      const applied = stack === 'express' ? `${slot}\napp.use('${prefix}', apiRouter);` : slot;
      fs.writeFileSync(path.join(dir, `${stack}.rendered`), applied + '\n');
      children = await bring(g, applied, path.join(WORK, 'runs', 'routes', stack));
      const from = b.events.length;
      for (const [n, r] of ROUTES_REQUESTS.entries()) {
        await pageAt(b, r.from === 'allowed' ? PAGE_ORIGIN : PAGE2_ORIGIN);
        const url = `http://127.0.0.1:${PORT[stack]}${prefix}${r.endpoint}?cwroute${n}`;
        results.push(await judge(b, url, r, prefix, false));
      }
      const har = path.join(dir, `${stack}.har`);
      fs.writeFileSync(har, JSON.stringify(buildDevtoolsHar(b.events.slice(from), new Map(), b.version, `${PAGE_ORIGIN}/`)));
      const report = JSON.parse(corswatchRun(['analyze', har, '--declared', policyFile, '--format', 'json']));
      const pd = report.policy_drift;
      if (!pd || !pd.checked) throw new Error(`--declared compared no exchange: ${JSON.stringify(pd)}`);
      const drift = pd.rules.reduce((a, r) => a + r.count, 0);
      const bad = [];
      for (const [n, r] of ROUTES_REQUESTS.entries()) {
        const c = results[n];
        const blocked = c.blocked || !c.js.ok;
        const served = blocked || (c.js.status >= 200 && c.js.status < 300);
        if (blocked !== r.blocked || !served) {
          bad.push(`request ${n} ${r.method} ${r.endpoint} from ${r.from}: policy says ${r.blocked ? 'blocked' : 'passes'}, Chromium ${describe(c)} [${c.js.ok ? c.js.status : c.js.error}]`);
        }
      }
      if (drift) bad.push(`--declared reports ${drift} drift finding(s) on the rendered configuration's answers: ${JSON.stringify(pd.examples)}`);
      lines.push(`routes render ${stack}: ${ROUTES_REQUESTS.length} requests, agreed ${ROUTES_REQUESTS.length - bad.filter((x) => x.startsWith('request')).length}, drift ${drift}`);
      if (bad.length) failures.push(`routes render ${stack}:\n  ${bad.join('\n  ')}\n--- rendered configuration applied:\n${applied}\n---`);
    } catch (e) {
      failures.push(`routes render ${stack}: ${e.message ?? e}\n--- rendered configuration:\n${slot}\n---`);
      lines.push(`routes render ${stack}: not judged (${String(e.message ?? e).split('\n')[0]})`);
    } finally {
      for (const c of children) await stop(c);
      await waitClosed(PORT[stack]);
    }
  }
  await pageAt(b, PAGE_ORIGIN);
  const seconds = Math.round((Date.now() - t0) / 1000);
  console.log(`\n== routes group: a two-route policy rendered per framework, applied, judged by Chromium\n${lines.join('\n')}\nroutes: ${ROUTES_STACKS.length} stacks, ${failures.length} failing, in ${seconds} s\n`);
  return failures;
}

async function main() {
  fs.mkdirSync(WORK, { recursive: true });
  fs.rmSync(path.join(WORK, 'runs'), { recursive: true, force: true });
  fs.rmSync(path.join(WORK, 'tcpdump.log'), { force: true });
  if (!fs.existsSync(CORSWATCH)) throw new Error(`no corswatch binary at ${CORSWATCH}`);
  htpasswd = HTPASSWD();
  const t0 = Date.now();
  const servers = await pageServer();
  const backend = start('backend', process.execPath, [path.join(HERE, 'stacks/backend.mjs'), String(PORT.backend)]);
  await waitPort(PORT.backend, backend, 'backend');
  const b = await launchBrowser();
  log(`chromium ${b.version}, page ${PAGE_ORIGIN}, corswatch ${CORSWATCH}`);

  const plan = [];
  for (const g of GROUPS) {
    if (ONLY && !ONLY.includes(g.group)) continue;
    for (const sc of g.scenarios) {
      const id = `${g.group}.${sc.name}`;
      const prefix = `/s/${id}/`;
      const values = { ...LAB_VALUES, path: prefix };
      for (const [k, v] of Object.entries(sc.values ?? {})) values[k] = renderSlot(v, LAB_VALUES);
      plan.push({ g, sc, id, prefix, values, slot: renderSlot(sc.slot, values) });
    }
  }
  const failures = [];
  // Scenarios marked `pending` (a corswatch gap another item of issue 9 closes): their failures
  // are reported, not counted; one that passes completely fails the run until unmarked.
  const pending = [];
  const fail = (item, what) => (item.sc.pending ? pending : failures).push(`${item.id}: ${what}`);

  if (plan.length) await pass('broken', b, plan);

  // Verdicts, premises, and the fixes to apply.
  const toFix = [];
  for (const item of plan) {
    const c = item.broken;
    if (c.error) {
      fail(item, `broken pass: ${c.error}`);
      continue;
    }
    const expect = item.sc.expect;
    if ((expect ?? null) !== (c.blocked ? c.cors_error : null) || !!item.sc.warning !== c.authz_wildcard) {
      fail(item, `premise: expected Chromium ${expect ?? 'allowed'}${item.sc.warning ? ' + Authorization under *' : ''}, got ${describe(c)}`);
    }
    for (const input of ['pcap', 'har']) {
      const v = item[`broken_${input}`];
      item[`agree_${input}`] = same(c, v);
      // An input that cannot carry the evidence (the request never reached the wire): counted
      // apart, and corswatch may not claim a confident verdict that differs.
      const absent = item.sc.no_evidence?.[input];
      if (absent) {
        item[`agree_${input}`] = null;
        if (!same(c, v) && v.blocked && !v.inferred) fail(item, `${input} (no evidence: ${absent}): confident verdict ${describe(v)}`);
        continue;
      }
      if (!item[`agree_${input}`]) fail(item, `${input}: corswatch ${describe(v)} / Chromium ${describe(c)}\n      ${v.summary.join('\n      ')}`);
    }
    if (c.blocked || c.authz_wildcard) {
      const ours = item.broken_pcap.blocked || item.broken_pcap.warnings.length ? item.broken_pcap : item.broken_har;
      const kind = c.blocked ? ours.kind : ours.warnings.includes('authorization_under_wildcard') ? 'authorization_under_wildcard' : null;
      item.kind = kind;
      if (!kind) {
        fail(item, 'no corswatch kind to take a fix from');
        continue;
      }
      const values = { origin: item.values.origin, path: item.prefix, methods: item.values.methods, headers: item.values.headers, upstream: item.values.upstream };
      let s = snippet(kind, item.g.stack, values);
      if (s.error) {
        item.fix = { error: s.error };
        fail(item, `no fix for ${kind} on ${item.g.stack}: ${s.error}`);
        // A pending scenario names the kind corswatch should report: its snippet is still
        // applied and judged, so that it is known to work when the gap closes.
        if (!item.sc.pending_kind) continue;
        item.kind = item.sc.pending_kind;
        item.kindFromScenario = true;
        s = snippet(item.kind, item.g.stack, values);
        if (s.error) {
          fail(item, `no fix for ${item.kind} on ${item.g.stack}: ${s.error}`);
          continue;
        }
      }
      item.snippetText = s.text;
      toFix.push({ ...item, slot: s.text, parent: item });
    }
  }

  if (toFix.length) await pass('fixed', b, toFix);
  for (const f of toFix) {
    const item = f.parent;
    item.fixed = f.fixed;
    item.fixed_pcap = f.fixed_pcap;
    item.fixed_har = f.fixed_har;
    item.fixed_twohop = f.fixed_twohop;
    const c = f.fixed;
    item.proven = !c.error && !c.blocked && !c.authz_wildcard && c.js.ok;
    if (!item.proven) fail(item, `fix for ${item.kind} (${item.g.stack}) did not make Chromium allow the request: ${describe(c)} ${c.js ? JSON.stringify(c.js) : ''}\n--- snippet applied:\n${item.snippetText}\n---`);
    if (!c.error) {
      for (const input of ['pcap', 'har']) {
        const ok = same(c, f[`fixed_${input}`]);
        item[`fixed_agree_${input}`] = ok;
        if (!ok) fail(item, `after the fix, ${input}: corswatch ${describe(f[`fixed_${input}`])} / Chromium ${describe(c)}`);
      }
    }
  }

  // Issue 14: suggested policies, rendered, applied and judged (group `policy`).
  const policyFailures = !ONLY || ONLY.includes('policy') ? await policyGroup(b) : [];
  failures.push(...policyFailures);
  if (!ONLY || ONLY.includes('policy')) failures.push(...(await routesGroup(b)));

  // Hop-aware assertions on the two-hop captures.
  const hop = Object.fromEntries(HOP_AWARE.map((h) => [h, []]));
  for (const item of plan) {
    for (const [p, c, v, front] of [
      ['broken', item.broken, item.broken_twohop, item.broken_pcap],
      ['fixed', item.fixed, item.fixed_twohop, item.fixed_pcap],
    ]) {
      if (!v || !c || c.error) continue;
      const got = `${v.blockedEvents} blocked of ${v.events} exchanges (browser-facing hop alone: ${front.blockedEvents} of ${front.events}): ${v.summary.join('; ')}`;
      const id = `${item.id} (${p})`;
      if (!c.blocked) {
        hop[HOP_AWARE[0]].push({ id, ok: v.blockedEvents === 0, got });
      } else if (item.sc.no_evidence?.pcap) {
        // The blocked request never reached the wire (e.g. the browser's cache answered it):
        // no hop can show it, so the two hops must say what the browser-facing one alone says.
        hop[HOP_AWARE[1]].push({ id, ok: v.blockedEvents === front.blockedEvents && v.kind === front.kind, got });
      } else {
        hop[HOP_AWARE[1]].push({ id, ok: v.blockedEvents === 1 && v.kind === front.kind && v.cors_error === c.cors_error, got });
      }
      hop[HOP_AWARE[2]].push({ id, ok: v.events === front.events, got });
    }
  }

  // ---------------------------------------------------------------------------- the report
  const rows = [];
  const groups = [...new Set(plan.map((i) => i.g.group))];
  for (const gname of groups) {
    // Pending scenarios (a corswatch gap another item closes) are counted apart.
    const all = plan.filter((i) => i.g.group === gname);
    const items = all.filter((i) => !i.sc.pending);
    const blocked = items.filter((i) => i.broken && (i.broken.blocked || i.broken.authz_wildcard));
    rows.push([
      gname,
      items.length,
      blocked.length,
      `${items.filter((i) => i.agree_pcap).length}/${items.filter((i) => i.agree_pcap !== null).length}`,
      `${items.filter((i) => i.agree_har).length}/${items.filter((i) => i.agree_har !== null).length}`,
      `${blocked.filter((i) => i.proven).length}/${blocked.length}`,
      `${blocked.filter((i) => i.fixed_agree_pcap && i.fixed_agree_har).length}/${blocked.length}`,
      all.length - items.length,
    ]);
  }
  const head = ['stack', 'scenarios', 'blocked/warned', 'agree pcap', 'agree HAR', 'fixes proven', 'agree after fix', 'pending'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  const table = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');

  let out = `\n== scenarios\n`;
  for (const i of plan) {
    out += `${i.id.padEnd(42)} row ${String(i.sc.row).padEnd(10)} chromium ${describe(i.broken).padEnd(38)} pcap ${describe(i.broken_pcap).padEnd(50)} har ${describe(i.broken_har)}`;
    if (i.kind) out += `\n${''.padEnd(42)} fix: ${i.kind}${i.kindFromScenario ? ' (kind from the scenario: corswatch does not report it yet)' : ''} (${i.g.stack}) → chromium ${describe(i.fixed)}`;
    out += '\n';
  }
  out += `\n== per stack (verdicts from the broken pass; fixes proven by Chromium in the fixed pass)\n${table}\n`;
  out += `\n== proxy topology: hop-aware assertions (${HOP_AWARE_STATE()})\n`;
  let hopFailed = 0;
  for (const [name, list] of Object.entries(hop)) {
    const bad = list.filter((x) => !x.ok);
    hopFailed += bad.length;
    out += `${name}: ${list.length - bad.length}/${list.length} hold\n`;
    for (const x of bad) out += `  FAILS ${x.id}: ${x.got}\n`;
  }
  console.log(out);
  const summary = {
    chromium: b.version,
    seconds: Math.round((Date.now() - t0) / 1000),
    table: rows,
    failures,
    pending,
    hop_aware_pending: !HOP_AWARE_STRICT(),
    hop,
    scenarios: plan.map((i) => ({
      id: i.id,
      row: i.sc.row,
      expect: i.sc.expect,
      chromium: i.broken,
      pcap: i.broken_pcap,
      har: i.broken_har,
      twohop: i.broken_twohop,
      kind: i.kind,
      snippet: i.snippetText,
      fixed: i.fixed,
      fixed_pcap: i.fixed_pcap,
      fixed_har: i.fixed_har,
      fixed_twohop: i.fixed_twohop,
    })),
  };
  fs.writeFileSync(path.join(WORK, 'lab-summary.json'), JSON.stringify(summary, null, 1));

  await b.context.close().catch(() => {});
  fs.rmSync(b.userDataDir, { recursive: true, force: true });
  for (const s of servers) s.close();
  await stopAll();

  for (const item of plan.filter((i) => i.sc.pending)) {
    const mine = pending.filter((p) => p.startsWith(`${item.id}: `));
    if (!mine.length) failures.push(`${item.id}: passes now; drop its \`pending\` mark (${item.sc.pending})`);
  }
  if (pending.length) {
    console.log(`\n== pending (known corswatch gaps, not failing the run)`);
    for (const p of pending) console.log(`- ${p}`);
  }
  if (failures.length) {
    console.log(`\n== ${failures.length} FAILURES`);
    for (const f of failures) console.log(`- ${f}`);
  }
  if (hopFailed && HOP_AWARE_STRICT()) console.log(`\n== ${hopFailed} hop-aware assertions fail (CW_LAB_HOP_AWARE=1)`);
  console.log(`\nlab: ${plan.length} scenarios in ${summary.seconds} s; ${failures.length} failures; ${pending.length} pending; ${hopFailed} hop-aware assertions failing${HOP_AWARE_STRICT() ? '' : ' (CW_LAB_HOP_AWARE=0: not failing the run)'}`);
  return failures.length || (hopFailed && HOP_AWARE_STRICT()) ? 1 : 0;
}

const HOP_AWARE_STRICT = () => HOP_STRICT;
function HOP_AWARE_STATE() {
  return HOP_STRICT ? 'enforced' : 'reported only (CW_LAB_HOP_AWARE=0)';
}

process.on('SIGINT', () => stopAll().then(() => process.exit(130)));
process.on('SIGTERM', () => stopAll().then(() => process.exit(143)));
main().then(
  (code) => process.exit(code),
  async (e) => {
    console.error(e);
    await stopAll();
    process.exit(1);
  },
);
