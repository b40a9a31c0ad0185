// Drives Debian's Chromium (playwright-core, executablePath /usr/bin/chromium) through every
// scenario of examples/scenario_server.rs and records Chromium's own verdict per scenario.
//
// Usage: node run.mjs --ports PORTS.json --server-log LOG.jsonl --out DIR
//   PORTS.json: the JSON line the scenario server printed at start.
// Writes DIR/ground-truth.json, DIR/playwright.har (recordHar), DIR/devtools.har (built from the
// CDP Network events DevTools itself consumes), DIR/cdp-events.jsonl (raw events, for debugging).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { runScenario, matches } from './scenario-page.mjs';
import { buildDevtoolsHar } from './devtools-har.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const outDir = opt('--out', '.');
const ports = JSON.parse(fs.readFileSync(opt('--ports'), 'utf8'));
const serverLog = opt('--server-log');
const only = opt('--only', null); // comma-separated scenario names, for debugging
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

// Extra flags for one run, as a JSON array (tests/browser/run-https.sh: the certificate's SPKI hash
// and --ssl-key-log-file). Recorded in meta.extra_flags.
const EXTRA_FLAGS = process.env.CW_CHROMIUM_ARGS ? JSON.parse(process.env.CW_CHROMIUM_ARGS) : [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PAGE = ports.page_origin;

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  // The scenario list: from a file run.sh fetched before the capture started, or from the server.
  const doc = opt('--scenarios')
    ? JSON.parse(fs.readFileSync(opt('--scenarios'), 'utf8'))
    : await (await fetch(`${PAGE}/scenarios.json`)).json();
  let scenarios = doc.scenarios;
  if (only) scenarios = scenarios.filter((s) => only.split(',').includes(s.name));

  // Fresh profile. Allow third-party cookies explicitly (localhost and 127.0.0.1 are different
  // sites, so every credentialed scenario sends a third-party cookie).
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'corswatch-chromium-'));
  fs.mkdirSync(path.join(userDataDir, 'Default'), { recursive: true });
  // Without these prefs a fresh Chromium 156 profile sends no third-party cookies (observed; set
  // CW_NO_COOKIE_PREFS=1 to see it).
  if (process.env.CW_NO_COOKIE_PREFS !== '1') {
    fs.writeFileSync(
      path.join(userDataDir, 'Default', 'Preferences'),
      JSON.stringify({ profile: { block_third_party_cookies: false, cookie_controls_mode: 0 } }),
    );
  }
  const harPath = path.join(outDir, 'playwright.har');
  // Playwright adds its own --disable-features/--enable-features (among them
  // AvoidCorsURLLoaderRestartOnRedirect and ThirdPartyStoragePartitioning). The ground truth is
  // stock Chromium with only FLAGS, so those two arguments are left out unless CW_PLAYWRIGHT_FEATURES=1.
  const ignoreDefaultArgs = process.env.CW_PLAYWRIGHT_FEATURES === '1' ? [] : await playwrightFeatureArgs();
  // The real DevTools front end (bundled in Chromium, served by its remote-debugging server on
  // loopback) attaches to the page from a second browser and exports the HAR with its own code.
  const useFrontend = process.env.CW_DEVTOOLS_FRONTEND !== '0';
  const dtPort = useFrontend ? await freePort() : 0;
  const dtArgs = useFrontend ? [`--remote-debugging-port=${dtPort}`, `--remote-allow-origins=http://127.0.0.1:${dtPort}`] : [];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...EXTRA_FLAGS, ...dtArgs],
    ignoreDefaultArgs,
    recordHar: { path: harPath, content: 'embed' },
  });
  const browserVersion = context.browser()?.version() ?? null;
  const commandLine = browserCommandLine(userDataDir);

  // Set the API origin's cookies by a first-party navigation in a separate tab.
  const cookiePage = await context.newPage();
  await cookiePage.goto(`${ports.api_origin}/setcookie`);
  await cookiePage.close();
  const cookies = await context.cookies();

  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  const events = []; // every CDP event, in order
  const rec = (method) => cdp.on(method, (params) => events.push({ method, params, wall: Date.now() }));
  for (const m of [
    'Network.requestWillBeSent',
    'Network.requestWillBeSentExtraInfo',
    'Network.responseReceived',
    'Network.responseReceivedExtraInfo',
    'Network.loadingFinished',
    'Network.loadingFailed',
    'Network.requestServedFromCache',
    'Log.entryAdded',
    'Runtime.consoleAPICalled',
    'Runtime.exceptionThrown',
    'Audits.issueAdded',
    'Page.domContentEventFired',
    'Page.loadEventFired',
    'Page.frameNavigated',
  ]) {
    rec(m);
  }
  // Bodies of successful responses, fetched as DevTools does when exporting with content.
  const bodies = new Map();
  const typeOf = new Map();
  cdp.on('Network.requestWillBeSent', (e) => typeOf.set(e.requestId, e.initiator?.type === 'preflight' ? 'Preflight' : e.type));
  cdp.on('Network.loadingFinished', (e) => {
    if (typeOf.get(e.requestId) === 'Preflight') return;
    cdp
      .send('Network.getResponseBody', { requestId: e.requestId })
      .then((b) => bodies.set(e.requestId, b))
      .catch(() => {});
  });
  const pwConsole = [];
  page.on('console', (m) => pwConsole.push({ wall: Date.now(), type: m.type(), text: m.text() }));
  await cdp.send('Network.enable');
  await cdp.send('Page.enable');
  await cdp.send('Log.enable');
  await cdp.send('Runtime.enable');
  await cdp.send('Audits.enable');
  await page.goto(`${PAGE}/`);
  // Attached after the navigation, like DevTools opened on a loaded page (a navigation while it
  // is attached resets its log).
  let frontend = null;
  if (useFrontend) {
    try {
      frontend = await attachFrontend(dtPort, cdp);
      // The first requests after attaching can be lost while the front end settles: send same-origin
      // warm-up requests until one shows up in its log and stays there.
      let seen = false;
      for (let i = 0; i < 20 && !seen; i++) {
        await page.evaluate((n) => fetch(`/?warmup=${n}`).then((r) => r.text()), i);
        await sleep(300);
        seen = await frontend.page.evaluate(async (n) => {
          const Logs = await import('./models/logs/logs.js');
          return Logs.NetworkLog.NetworkLog.instance().requests().some((r) => r.url().endsWith(`/?warmup=${n}`));
        }, i);
      }
      if (!seen) throw new Error('warm-up request never reached the front end log');
    } catch (e) {
      console.error(`DevTools front end not attached (${e}); devtools-frontend.har will be missing`);
    }
  }

  const results = [];
  for (const sc of scenarios) {
    const t0 = Date.now();
    const evStart = events.length;
    let js;
    try {
      js = await page.evaluate(runScenario, sc);
    } catch (e) {
      js = [{ ok: false, error: `evaluate: ${e}` }];
    }
    // Let the network events and console messages of this scenario arrive.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      await sleep(100);
      const mine = scenarioRequests(events.slice(evStart), sc.name);
      const open = [...mine.values()].filter((r) => !r.done);
      if (open.length === 0) break;
    }
    await sleep(250);
    if (frontend && process.env.CW_DEBUG_FRONTEND)
      console.error(sc.name, await frontend.page.evaluate(async () => {
        const Logs = await import('./models/logs/logs.js');
        const Common = await import('./core/common/common.js');
        const SDK = await import('./core/sdk/sdk.js');
        const S = Common.Settings.Settings.instance();
        return [typeof S.resolve, S.resolve?.(SDK.SDKSettings.preserveNetworkLogSettingDescriptor)?.get(), Logs.NetworkLog.NetworkLog.instance().requests().map((r) => r.url().slice(-30))];
      }));
    const t1 = Date.now();
    results.push({ sc, js, t0, t1, evStart, evEnd: events.length });
  }
  await sleep(300);
  const cdpPage = page.url();
  let frontendHar = null;
  if (frontend) {
    try {
      frontendHar = await exportFrontendHar(frontend.page);
    } catch (e) {
      console.error(`DevTools front end HAR export failed: ${e}`);
    }
    await frontend.browser.close().catch(() => {});
  }
  await cdp.detach().catch(() => {});
  await context.close(); // writes playwright.har
  fs.rmSync(userDataDir, { recursive: true, force: true });

  fs.writeFileSync(path.join(outDir, 'cdp-events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const log = fs
    .readFileSync(serverLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

  const truth = results.map((r) => groundTruth(r, events, log, pwConsole));
  // A refused connection to a live origin means the scenario server was not answering: the run is
  // not ground truth. Fail instead of writing a misleading file.
  const refused = truth.filter((t) => t.net_error === 'net::ERR_CONNECTION_REFUSED' && !t.url.startsWith(ports.closed_origin ?? `http://127.0.0.1:${ports.closed}/`));
  if (refused.length) {
    throw new Error(`scenario server refused connections in ${refused.length} scenarios (${refused.slice(0, 5).map((t) => t.scenario).join(', ')}...): run is invalid`);
  }
  const meta = {
    generated_by: 'tests/browser/run.mjs',
    date: new Date().toISOString(),
    browser: 'chromium',
    browser_version: browserVersion,
    executable: CHROMIUM,
    flags: FLAGS,
    ...(EXTRA_FLAGS.length ? { extra_flags: EXTRA_FLAGS } : {}),
    command_line: commandLine,
    playwright_feature_args_removed: ignoreDefaultArgs,
    playwright_core: JSON.parse(fs.readFileSync(new URL('./node_modules/playwright-core/package.json', import.meta.url))).version,
    page_origin: ports.page_origin,
    api_origin: ports.api_origin,
    third_origin: ports.third_origin,
    closed_port: ports.closed,
    cookies_in_profile: cookies.map((c) => ({ name: c.name, domain: c.domain, sameSite: c.sameSite, secure: c.secure })),
    notes:
      'blocked = Chromium reported a CORS error (Network.loadingFailed.corsErrorStatus or a renderer-side CORS console message); ' +
      'failed = the request failed for any reason (net error). One object per scenario, in run order.',
  };
  fs.writeFileSync(path.join(outDir, 'ground-truth.json'), JSON.stringify({ meta, scenarios: truth }, null, 1) + '\n');
  const har = buildDevtoolsHar(events, bodies, browserVersion, cdpPage);
  // Compact JSON (DevTools indents by 2): keeps the committed capture small.
  fs.writeFileSync(path.join(outDir, 'devtools.har'), JSON.stringify(har) + '\n');
  if (frontendHar) fs.writeFileSync(path.join(outDir, 'devtools-frontend.har'), frontendHar);
  const blocked = truth.filter((t) => t.blocked).length;
  const surprises = truth.filter((t) => t.expected.cors_error !== t.cors_error || t.expected.blocked !== t.blocked);
  console.error(`corswatch browser: ${truth.length} scenarios, ${blocked} blocked, ${surprises.length} differ from the taxonomy's prediction`);
  for (const s of surprises) {
    console.error(`  ${s.scenario}: expected ${s.expected.cors_error ?? 'pass'}, chromium ${s.cors_error ?? (s.blocked ? 'blocked' : 'pass')}`);
  }
}

// The --disable-features/--enable-features arguments Playwright adds by default, read off the
// command line of a probe browser.
async function playwrightFeatureArgs() {
  const b = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  let argv = [];
  for (const p of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const a = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (/chrom/.test(a[0]) && !a.some((x) => x.startsWith('--type='))) argv = a;
    } catch {}
  }
  await b.close();
  return argv.filter((a) => a.startsWith('--disable-features=') || a.startsWith('--enable-features='));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Opens Chromium's bundled DevTools front end (inspector.html from the remote-debugging server) in
// a second headless browser, pointed at the scenario page's target, and waits until its NetworkLog
// records that target.
async function attachFrontend(port, cdp) {
  const { targetInfo } = await cdp.send('Target.getTargetInfo');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/devtools/inspector.html?ws=127.0.0.1:${port}/devtools/page/${targetInfo.targetId}`);
  await page.waitForFunction(
    async () => {
      const SDK = await import('./core/sdk/sdk.js');
      const Logs = await import('./models/logs/logs.js');
      const Common = await import('./core/common/common.js');
      // "Preserve log", so the page's navigation does not clear the log.
      const S = Common.Settings.Settings.instance();
      const d = SDK.SDKSettings?.preserveNetworkLogSettingDescriptor;
      const st = d && typeof S.resolve === 'function' ? S.resolve(d) : S.createSetting('network-log.preserve-log', false);
      st.set(true);
      Logs.NetworkLog.NetworkLog.instance();
      const t = SDK.TargetManager.TargetManager.instance().primaryPageTarget();
      return !!(t && t.model(SDK.NetworkManager.NetworkManager));
    },
    null,
    { timeout: 20000, polling: 200 },
  );
  return { browser, page, targetId: targetInfo.targetId };
}

// HAR.Writer.harStringForRequests over NetworkLog.requests(): what "Export HAR (with sensitive
// data)" writes, bodies included.
async function exportFrontendHar(page) {
  return page.evaluate(async () => {
    const Logs = await import('./models/logs/logs.js');
    const HAR = await import('./models/har/har.js');
    const requests = Logs.NetworkLog.NetworkLog.instance().requests().slice();
    const progress = { createSubProgress: () => ({ title: '', totalWork: 0, worked: 0, done: false, canceled: false }) };
    return HAR.Writer.Writer.harStringForRequests(requests, { sanitize: false }, progress);
  });
}

// The browser process's command line (the chromium process with our profile and no --type=).
function browserCommandLine(userDataDir) {
  for (const p of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.some((a) => a.includes(userDataDir)) && !argv.some((a) => a.startsWith('--type=')) && /chrom/.test(argv[0]))
        return argv.slice(1).filter((a) => !a.startsWith('--user-data-dir=')).map((a) => (a.length > 200 ? a.slice(0, 200) + '…' : a));
    } catch {}
  }
  return null;
}

// requestId -> {urls, type, done, failed, ...} for the requests of one scenario.
function scenarioRequests(evs, name) {
  const reqs = new Map();
  for (const { method, params } of evs) {
    if (method === 'Network.requestWillBeSent' && matches(params.request.url, name)) {
      const r = reqs.get(params.requestId) ?? { id: params.requestId, urls: [], type: params.type, initiator: params.initiator, done: false };
      r.urls.push(params.request.url);
      reqs.set(params.requestId, r);
    } else if ((method === 'Network.loadingFinished' || method === 'Network.loadingFailed') && reqs.has(params.requestId)) {
      const r = reqs.get(params.requestId);
      r.done = true;
      if (method === 'Network.loadingFailed') r.failed = params;
    }
  }
  return reqs;
}

function groundTruth(r, events, log, pwConsole) {
  const { sc, js, t0, t1, evStart, evEnd } = r;
  const evs = events.slice(evStart, evEnd);
  const reqs = scenarioRequests(evs, sc.name);
  const ids = new Set(reqs.keys());
  const isPreflight = (q) => q.type === 'Preflight' || q.initiator?.type === 'preflight';
  const main = [...reqs.values()].filter((q) => !isPreflight(q));
  const pre = [...reqs.values()].filter(isPreflight);
  const fails = main.filter((q) => q.failed).map((q) => q.failed);
  const corsFail = fails.find((f) => f.corsErrorStatus);
  // Raw statuses the network service saw (ExtraInfo), per request id, in order.
  const extra = evs
    .filter((e) => e.method === 'Network.responseReceivedExtraInfo' && ids.has(e.params.requestId))
    .map((e) => ({ requestId: e.params.requestId, status: e.params.statusCode, preflight: isPreflight(reqs.get(e.params.requestId)) }));
  const console_ = [];
  for (const e of evs) {
    if (e.method === 'Log.entryAdded') console_.push({ source: e.params.entry.source, level: e.params.entry.level, text: e.params.entry.text });
    if (e.method === 'Runtime.consoleAPICalled')
      console_.push({ source: 'console-api', level: e.params.type, text: e.params.args.map((a) => a.value ?? a.description).join(' ') });
    if (e.method === 'Runtime.exceptionThrown') console_.push({ source: 'exception', level: 'error', text: e.params.exceptionDetails.text });
  }
  const issues = evs
    .filter((e) => e.method === 'Audits.issueAdded')
    .map((e) => {
      const i = e.params.issue;
      const d = i.details || {};
      const cors = d.corsIssueDetails;
      return {
        code: i.code,
        cors_error: cors?.corsErrorStatus?.corsError,
        failed_parameter: cors?.corsErrorStatus?.failedParameter,
        deprecation: d.deprecationIssueDetails?.type,
        cookie: d.cookieIssueDetails
          ? { name: d.cookieIssueDetails.cookie?.name, warnings: d.cookieIssueDetails.cookieWarningReasons, exclusions: d.cookieIssueDetails.cookieExclusionReasons }
          : undefined,
        url: cors?.request?.url ?? d.deprecationIssueDetails?.sourceCodeLocation?.url,
      };
    });
  const corsConsole = console_.find((c) => /blocked by CORS policy/.test(c.text));
  const corsIssue = issues.find((i) => i.cors_error);
  const server = log.filter((l) => matches(`http://x${l.path}`, sc.name));
  const serverPre = server.filter((l) => l.method === 'OPTIONS' && l.headers.some(([n]) => /^access-control-request-method$/i.test(n)));
  const hdr = (l, name) => l.headers.find(([n]) => n.toLowerCase() === name)?.[1];
  // The no-cors priming request (no Origin) of a cache scenario is not the request under test.
  const isPrime = (l) => sc.prime_no_cors && !hdr(l, 'origin');
  const serverActual = server.filter((l) => !serverPre.includes(l) && !isPrime(l));
  let corsError = corsFail?.corsErrorStatus?.corsError ?? null;
  let failedParameter = corsFail?.corsErrorStatus?.failedParameter ?? null;
  let source = corsFail ? 'Network.loadingFailed.corsErrorStatus' : null;
  if (!corsError && corsIssue) {
    corsError = corsIssue.cors_error;
    failedParameter = corsIssue.failed_parameter ?? null;
    source = 'Audits.issueAdded.corsIssueDetails';
  }
  const blocked = !!corsError || !!corsConsole;
  if (blocked && !source) source = 'console';
  return {
    scenario: sc.name,
    kind: sc.kind,
    desc: sc.desc,
    url: sc.url,
    method: sc.method,
    client: sc.client,
    mode: sc.mode,
    credentials: sc.credentials,
    request_headers: sc.headers,
    blocked,
    cors_error: corsError,
    failed_parameter: failedParameter,
    verdict_source: source,
    failed: fails.length > 0 || js.some((o) => !o.ok),
    net_error: fails[0]?.errorText ?? null,
    console: console_.map((c) => c.text),
    issues,
    reached_server: serverActual.length > 0,
    preflight_sent: serverPre.length > 0 || pre.length > 0,
    preflights_on_wire: serverPre.length,
    preflights_in_cdp: pre.length,
    actual_requests_on_wire: serverActual.length,
    priming_requests_on_wire: server.filter(isPrime).length,
    cookie_sent: server.some((l) => hdr(l, 'cookie')),
    server_requests: server.map((l) => ({
      listener: l.listener,
      method: l.method,
      path: l.path,
      origin: hdr(l, 'origin') ?? null,
      cookie: hdr(l, 'cookie') ?? null,
      acrm: hdr(l, 'access-control-request-method') ?? null,
      acrh: hdr(l, 'access-control-request-headers') ?? null,
      sec_fetch_mode: hdr(l, 'sec-fetch-mode') ?? null,
    })),
    extra_info_status: extra,
    js,
    expected: sc.expect,
    window_ms: [t0, t1],
  };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
