// Drives Debian's firefox-esr through every scenario of examples/scenario_server.rs and records
// Firefox's own verdict per scenario.
//
// Two channels into one browser:
// * WebDriver BiDi (puppeteer-core, `browser: "firefox"`): launches Firefox, runs each scenario in
//   the page (tests/browser/scenario-page.mjs, shared with the Chromium driver), and records
//   `log.entryAdded` (puppeteer's `console` and `pageerror` events).
// * Firefox's remote debugging protocol (`--start-debugger-server`, the protocol of Firefox's own
//   DevTools; client in ./rdp.mjs): the tab's `error-message` resources carry each CORS error with
//   its message key (`category`) and MDN page (`exceptionDocURL`), `network-event` resources carry
//   the channel's `blockedReason` (nsILoadInfo BLOCKING_REASON_*). Through the parent process (chrome
//   privileges, `devtools.chrome.enabled`) the driver opens a real DevTools toolbox on the Network
//   panel before the page loads and, at the end, exports the panel's requests with Firefox's own HAR
//   code (what "Save All As HAR" writes), and reads back versions, prefs, the CORS message templates
//   and the blocking-reason table of the Firefox under test.
//
// Usage: node run.mjs --ports PORTS.json --server-log LOG.jsonl --scenarios SCENARIOS.json --out DIR
// Writes DIR/ground-truth.json, DIR/firefox-devtools.har, DIR/rdp-events.jsonl (raw resources).
import puppeteer from 'puppeteer-core';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Rdp, gripText } from './rdp.mjs';
import { runScenario, matches } from '../scenario-page.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const outDir = opt('--out', '.');
const ports = JSON.parse(fs.readFileSync(opt('--ports'), 'utf8'));
const serverLog = opt('--server-log');
const only = opt('--only', null); // comma-separated scenario names, for debugging
const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const PAGE = ports.page_origin;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Prefs set on top of puppeteer's own profile defaults (which switch off updates, Normandy,
// safe-browsing lists, health reports, the new-tab page, ... and set `fission.webContentIsolationStrategy`
// 0; the file puppeteer wrote is read back into meta.profile_user_js). Only two of ours change what is
// judged, both stated in captures/README.md: third-party cookies allowed (as in the Chromium run), and
// HTTP/3 off. The rest keep Firefox on loopback and quiet, or enable the debugging server.
const PREFS = {
  // What is judged.
  'network.cookie.cookieBehavior': 0, // accept third-party cookies (default 5: Total Cookie Protection)
  'network.http.http3.enable': false,
  // Remote debugging protocol with chrome privileges, no prompt.
  'devtools.debugger.remote-enabled': true,
  'devtools.chrome.enabled': true,
  'devtools.debugger.prompt-connection': false,
  // The Network panel keeps its log over navigations, and shows only this tab's requests.
  'devtools.netmonitor.persistlog': true,
  'devtools.webconsole.persistlog': true,
  'devtools.toolbox.selectedTool': 'netmonitor',
  'devtools.netmonitor.har.includeResponseBodies': true, // Firefox's default, stated
  // Nothing leaves the machine: every host name resolves to loopback, no proxy fallback, no
  // DNS-over-HTTPS, no telemetry, captive-portal or connectivity checks, no prefetching.
  'network.dns.native-is-localhost': true,
  'network.proxy.type': 0,
  'network.proxy.failover_direct': false,
  'network.trr.mode': 5,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.predictor.enabled': false,
  'network.prefetch-next': false,
  'network.dns.disablePrefetch': true,
  'browser.urlbar.speculativeConnect.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.server': '',
  'toolkit.telemetry.archive.enabled': false,
  'datareporting.usage.uploadEnabled': false,
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'app.update.auto': false,
  'app.update.enabled': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.provider.google.updateURL': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.newtabpage.activity-stream.feeds.topsites': false,
  'browser.newtabpage.activity-stream.feeds.section.topstories': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.topsites.contile.enabled': false,
  'browser.ping-centre.telemetry': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'extensions.getAddons.showPane': false,
  'geo.provider.network.url': '',
  'identity.fxaccounts.enabled': false,
  'dom.push.connection.enabled': false,
  'media.gmp-manager.url': '',
  'services.sync.engine.addons': false,
  'browser.contentblocking.report.lockwise.enabled': false,
  'privacy.query_stripping.enabled': false,
};
// Prefs whose effective value is read back into meta (they decide CORS, cookies or what leaves).
const REPORTED_PREFS = [
  'network.cookie.cookieBehavior',
  'network.cookie.sameSite.laxByDefault',
  'network.cookie.sameSite.noneRequiresSecure',
  'network.cookie.sameSite.schemeful',
  'network.cors_preflight.authorization_covered_by_wildcard',
  'network.cors_preflight.block_userpass_uri',
  'content.cors.disable',
  'network.http.http3.enable',
  'network.lna.enabled',
  'network.lna.blocking',
  'network.http.redirection-limit',
  'browser.contentblocking.category',
  'privacy.trackingprotection.enabled',
  'fission.webContentIsolationStrategy',
  'fission.autostart',
  'network.dns.native-is-localhost',
  'network.proxy.type',
  'network.trr.mode',
];

// Firefox's default cookie policy (5, Total Cookie Protection: third-party cookies partitioned) is
// kept with CW_FIREFOX_DEFAULT_COOKIES=1, to see that the credentialed scenarios then send no cookie.
if (process.env.CW_FIREFOX_DEFAULT_COOKIES === '1') delete PREFS['network.cookie.cookieBehavior'];

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

// Chrome-privileged JavaScript in Firefox's parent process, through the RDP parent-process target.
// `body` is the body of an async function; its return value must be JSON-serializable.
async function chromeEval(rdp, consoleActor, body) {
  // A rejection comes back as `topLevelAwaitRejected` without its reason: catch it here instead.
  const text = `(async () => { try { const __r = await (async () => { ${body} })(); return JSON.stringify({ ok: __r === undefined ? null : __r }); } catch (e) { return JSON.stringify({ error: String(e) + "\\n" + (e && e.stack || "") }); } })()`;
  const grip = await rdp.evaluate(consoleActor, text, 120000);
  if (grip && typeof grip === 'object' && grip.type !== 'longString') throw new Error(`chrome eval returned ${gripText(grip)}`);
  const r = JSON.parse(await rdp.fullText(grip));
  if ('error' in r) throw new Error(`chrome eval threw: ${r.error}`);
  return r.ok;
}

const DEVTOOLS_PRELUDE = `
  const { require } = ChromeUtils.importESModule("resource://devtools/shared/loader/Loader.sys.mjs");
  const { gDevTools } = require("devtools/client/framework/devtools");
  const win = Services.wm.getMostRecentWindow("navigator:browser");
`;

// The open toolbox's Network panel: its API object (store and connector) and its module loader.
const PANEL_PRELUDE = `
  const toolbox = gDevTools.getToolboxForTab(win.gBrowser.selectedTab);
  const panel = toolbox && toolbox.getPanel("netmonitor");
  if (!panel) throw new Error("no Network panel");
  const api = await toolbox.getNetMonitorAPI();
  const wreq = panel.panelWin.windowRequire ?? require;
  const { getDisplayedRequests } = wreq("devtools/client/netmonitor/src/selectors/index");
`;

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const doc = opt('--scenarios')
    ? JSON.parse(fs.readFileSync(opt('--scenarios'), 'utf8'))
    : await (await fetch(`${PAGE}/scenarios.json`)).json();
  let scenarios = doc.scenarios;
  if (only) scenarios = scenarios.filter((s) => only.split(',').includes(s.name));

  const rdpPort = await freePort();
  const ARGS = ['--start-debugger-server', String(rdpPort)];
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    args: ARGS,
    extraPrefsFirefox: PREFS,
  });
  // run.sh kills it by this PID if the driver itself is killed.
  if (browser.process()?.pid) fs.writeFileSync(path.join(outDir, 'firefox.pid'), `${browser.process().pid}\n`);
  const browserVersion = await browser.version();
  const commandLine = firefoxCommandLine(browser.process()?.pid);
  const profileDir = profileOf(commandLine);
  const profileUserJs = profileDir && fs.existsSync(path.join(profileDir, 'user.js')) ? fs.readFileSync(path.join(profileDir, 'user.js'), 'utf8') : null;

  const rdp = await Rdp.connect(rdpPort);
  const proc = await rdp.request('root', 'getProcess', { id: 0 });
  const parent = await rdp.request(proc.processDescriptor.actor, 'getTarget');
  const chrome = (body) => chromeEval(rdp, parent.process.consoleActor, body);

  const facts = await chrome(`
    // Effective values, and Firefox's own defaults (null: no such pref, or no default value).
    const read = (branch, name) => {
      try {
        const t = branch.getPrefType(name);
        return t === branch.PREF_BOOL ? branch.getBoolPref(name)
          : t === branch.PREF_INT ? branch.getIntPref(name)
          : t === branch.PREF_STRING ? branch.getStringPref(name) : null;
      } catch (e) {
        return null;
      }
    };
    const prefs = {}, defaults = {};
    for (const name of ${JSON.stringify(REPORTED_PREFS)}) {
      prefs[name] = read(Services.prefs, name);
      defaults[name] = read(Services.prefs.getDefaultBranch(""), name);
    }
    const reasons = {};
    for (const k in Ci.nsILoadInfo) if (k.startsWith("BLOCKING_REASON_")) reasons[Ci.nsILoadInfo[k]] = k.slice(16);
    const templates = {};
    const bundle = Services.strings.createBundle("chrome://global/locale/security/security.properties");
    for (const s of bundle.getSimpleEnumeration()) if (/^CORS/.test(s.key)) templates[s.key] = s.value;
    return {
      version: Services.appinfo.version,
      build_id: Services.appinfo.appBuildID,
      platform_version: Services.appinfo.platformVersion,
      user_agent: Services.wm.getMostRecentWindow("navigator:browser").navigator.userAgent,
      prefs, defaults, blocking_reasons: reasons, cors_message_templates: templates,
    };`);
  const templates = facts.cors_message_templates;
  const blockingReasons = facts.blocking_reasons;

  // The API origin's cookies, set by a first-party navigation in a separate tab.
  const cookiePage = await browser.newPage();
  await cookiePage.goto(`${ports.api_origin}/setcookie`);
  await cookiePage.close();
  const cookies = await chrome(`
    return Services.cookies.cookies.filter((c) => c.host === "127.0.0.1").map((c) => ({
      name: c.name, host: c.host,
      sameSite: Object.keys(Ci.nsICookie).find((k) => k.startsWith("SAMESITE_") && Ci.nsICookie[k] === c.sameSite)?.slice(9).toLowerCase() ?? c.sameSite,
      secure: c.isSecure, partitionKey: c.originAttributes.partitionKey || "" }));`);

  // A real DevTools toolbox, Network panel selected, on the tab the scenarios run in.
  const page = (await browser.pages())[0];
  await page.goto('about:blank');
  const toolboxInfo = await chrome(`${DEVTOOLS_PRELUDE}
    if (win.gBrowser.tabs.length !== 1) throw new Error("expected one tab, have " + win.gBrowser.tabs.length);
    const toolbox = await gDevTools.showToolboxForTab(win.gBrowser.selectedTab, { toolId: "netmonitor" });
    await toolbox.selectTool("netmonitor");
    return { tool: toolbox.currentToolId, url: win.gBrowser.selectedTab.linkedBrowser.currentURI.spec };`);
  if (toolboxInfo.tool !== 'netmonitor') throw new Error(`toolbox did not open the Network panel: ${JSON.stringify(toolboxInfo)}`);

  // The same tab, watched over RDP: every error/console message and network event.
  const rdpEvents = [];
  rdp.on((p) => {
    if (p.type === 'resources-available-array' || p.type === 'resources-updated-array') rdpEvents.push({ wall: Date.now(), type: p.type, from: p.from, array: p.array });
  });
  const { tabs } = await rdp.request('root', 'listTabs');
  if (tabs.length !== 1) throw new Error(`RDP lists ${tabs.length} tabs`);
  const watcher = await rdp.request(tabs[0].actor, 'getWatcher', { isServerTargetSwitchingEnabled: true, isPopupDebuggingEnabled: false });
  await rdp.request(watcher.actor, 'watchTargets', { targetType: 'frame' });
  await rdp.request(watcher.actor, 'watchResources', { resourceTypes: ['error-message', 'console-message', 'network-event'] });

  // WebDriver BiDi log.entryAdded, as puppeteer reports it.
  const bidiLog = [];
  page.on('console', (m) => bidiLog.push({ wall: Date.now(), kind: 'console', type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => bidiLog.push({ wall: Date.now(), kind: 'javascript', text: String(e?.message ?? e) }));

  await page.goto(`${PAGE}/`);
  // Make sure the Network panel records: same-origin warm-up requests until one is in its store.
  let seen = false;
  for (let i = 0; i < 20 && !seen; i++) {
    await page.evaluate((n) => fetch(`/?warmup=${n}`).then((r) => r.text()), i);
    await sleep(300);
    seen = await chrome(`${DEVTOOLS_PRELUDE}${PANEL_PRELUDE}
      return getDisplayedRequests(api.store.getState()).some((r) => r.url.endsWith("/?warmup=${i}"));`);
  }
  if (!seen) throw new Error('the Network panel never recorded a warm-up request');

  const results = [];
  for (const sc of scenarios) {
    const t0 = Date.now();
    let js;
    try {
      js = await page.evaluate(runScenario, sc);
    } catch (e) {
      js = [{ ok: false, error: `evaluate: ${e}` }];
    }
    // Let this scenario's network events finish and its messages arrive.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      await sleep(100);
      const open = [...netEvents(rdpEvents).values()].filter((e) => matches(e.url, sc.name) && e.wall >= t0 && !e.done);
      if (open.length === 0) break;
    }
    await sleep(400);
    results.push({ sc, js, t0, t1: Date.now() });
  }
  await sleep(500);

  // Firefox's own HAR export of the Network panel: HarMenuUtils.saveAllAsHar(displayedRequests,
  // connector) writes HarExporter.fetchHarData(getDefaultHarOptions(...)) to a file chosen in a
  // dialog; the same call, without the dialog.
  const harText = await chrome(`${DEVTOOLS_PRELUDE}${PANEL_PRELUDE}
    const { HarMenuUtils } = wreq("devtools/client/netmonitor/src/har/har-menu-utils");
    const { HarExporter } = wreq("devtools/client/netmonitor/src/har/har-exporter");
    const requests = getDisplayedRequests(api.store.getState());
    return await HarExporter.fetchHarData(HarMenuUtils.getDefaultHarOptions(requests, api.connector));`);
  if (typeof harText !== 'string' || !harText.includes('"entries"')) throw new Error(`HAR export returned ${String(harText).slice(0, 200)}`);
  fs.writeFileSync(path.join(outDir, 'firefox-devtools.har'), harText);

  rdp.close();
  await browser.close();

  fs.writeFileSync(path.join(outDir, 'rdp-events.jsonl'), rdpEvents.map((e) => JSON.stringify(e)).join('\n') + '\n');
  fs.writeFileSync(path.join(outDir, 'bidi-log.jsonl'), bidiLog.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const log = fs
    .readFileSync(serverLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

  const events = netEvents(rdpEvents);
  const messages = errorMessages(rdpEvents, templates);
  // The resource a BiDi log line is about: the %1$S of its CORS template, else the last URL in it.
  for (const b of bidiLog) {
    const key = Object.keys(templates).find((k) => templateParams(templates[k], b.text));
    b.url = key ? templateParams(templates[key], b.text)[1] : lastUrl(b.text);
  }
  const truth = results.map((r) => groundTruth(r, events, messages, bidiLog, log, blockingReasons));
  const meta = {
    generated_by: 'tests/browser/firefox/run.mjs',
    date: new Date().toISOString(),
    browser: 'firefox',
    browser_version: facts.version,
    browser_build_id: facts.build_id,
    webdriver_bidi_version_string: browserVersion,
    user_agent: facts.user_agent,
    executable: FIREFOX,
    command_line: commandLine,
    puppeteer_core: JSON.parse(fs.readFileSync(new URL('./node_modules/puppeteer-core/package.json', import.meta.url))).version,
    protocols: {
      driver: 'WebDriver BiDi (puppeteer-core, browser: "firefox")',
      verdict: 'Firefox remote debugging protocol: tab watcher resources error-message (category = message key, exceptionDocURL = MDN page), network-event (blockedReason)',
      har: 'DevTools toolbox Network panel: HarExporter.fetchHarData(HarMenuUtils.getDefaultHarOptions(getDisplayedRequests(state), connector)), i.e. Save All As HAR without the file dialog',
    },
    prefs_set: PREFS,
    prefs_effective: facts.prefs,
    prefs_default: facts.defaults,
    profile_user_js: profileUserJs,
    cors_message_templates: templates,
    blocking_reasons: blockingReasons,
    page_origin: ports.page_origin,
    api_origin: ports.api_origin,
    third_origin: ports.third_origin,
    closed_port: ports.closed,
    cookies_in_profile: cookies,
    notes:
      'blocked = Firefox reported a CORS error for the scenario (an error-message resource whose category is a CORS* key, ' +
      'warnings excluded) or a network event of the scenario carries a CORS blockedReason (1001-1099). ' +
      'cors_error = the MDN name of the first CORS error (from exceptionDocURL), the follow-up CORSDidNotSucceed "(null)" ' +
      'line of a failed preflight counted only when nothing else was reported. failed_parameter = the %2$S value the ' +
      'message names (ACAO value, token, header name), null when the message has none. One object per scenario, in run order.',
  };
  fs.writeFileSync(path.join(outDir, 'ground-truth.json'), JSON.stringify({ meta, scenarios: truth }, null, 1) + '\n');
  const blocked = truth.filter((t) => t.blocked).length;
  console.error(`corswatch firefox: Firefox ${facts.version}, ${truth.length} scenarios, ${blocked} blocked`);
  const refused = truth.filter((t) => t.server_requests.length === 0 && t.js.some((o) => !o.ok) && !t.url.includes(`:${ports.closed}/`) && !t.blocked && t.mode !== 'same-origin');
  if (refused.length) console.error(`  (${refused.length} scenarios failed in JS without reaching the server or a CORS error: ${refused.map((t) => t.scenario).join(', ')})`);
}

// The browser process's command line, profile path elided.
function firefoxCommandLine(pid) {
  if (!pid) return null;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}
function profileOf(argv) {
  if (!argv) return null;
  const i = argv.findIndex((a) => a === '--profile' || a === '-profile');
  return i >= 0 ? argv[i + 1] : null;
}

// resourceId -> network event, folded from the RDP resources (first form + updates).
function netEvents(rdpEvents) {
  const byId = new Map();
  for (const e of rdpEvents) {
    for (const [type, list] of e.array) {
      if (type !== 'network-event') continue;
      for (const r of list) {
        if (e.type === 'resources-available-array') {
          byId.set(r.resourceId, { ...r, wall: e.wall, updates: {}, done: false });
        } else {
          const ev = byId.get(r.resourceId);
          if (!ev) continue;
          Object.assign(ev.updates, r.resourceUpdates);
          const u = r.resourceUpdates;
          if (u.eventTimingsAvailable || u.totalTime !== undefined || u.blockedReason) ev.done = true;
        }
      }
    }
  }
  return byId;
}

// Error and warning messages (error-message resources), each with its code, the URL it names and
// the parameter its template puts in %2$S.
function errorMessages(rdpEvents, templates) {
  const out = [];
  for (const e of rdpEvents) {
    if (e.type !== 'resources-available-array') continue;
    for (const [type, list] of e.array) {
      if (type === 'error-message') {
        for (const r of list) {
          const pe = r.pageError;
          const text = pe.errorMessage;
          const key = pe.category || '';
          const doc = pe.exceptionDocURL || '';
          const code = /\/CORS\/Errors\/([A-Za-z]+)/.exec(doc)?.[1] ?? (key.startsWith('CORS') ? key.replace(/\d+$/, '') : null);
          const params = templateParams(templates[key], text);
          // In the "… Status code: %2$S." templates the second value is the HTTP status, not a
          // failing parameter.
          const statusTemplate = /Status code: %2\$S/.test(templates[key] ?? '');
          out.push({
            wall: e.wall,
            source: 'error-message',
            key,
            code: key.startsWith('CORS') ? code : null,
            warning: !!pe.warning,
            error: !!pe.error,
            text,
            url: params?.[1] ?? lastUrl(text),
            param: statusTemplate ? null : params?.[2] ?? null,
            status: statusTemplate ? params?.[2] ?? null : null,
            doc_url: doc.split('?')[0],
          });
        }
      } else if (type === 'console-message') {
        for (const r of list) {
          const m = r.message ?? r;
          out.push({ wall: e.wall, source: 'console-message', key: null, code: null, warning: m.level === 'warn', error: m.level === 'error', text: (m.arguments ?? []).map((a) => (typeof a === 'string' ? a : gripText(a))).join(' '), url: m.filename ?? null, param: null });
        }
      }
    }
  }
  return out;
}

// The last URL a message names (Firefox's messages put the resource last, e.g. SOP's "Content at
// PAGE may not load data from URL.").
function lastUrl(text) {
  const all = [...String(text).matchAll(/https?:\/\/[^\s‘’'"()]+/g)].map((m) => m[0].replace(/[.,;:]+$/, ''));
  return all.length ? all[all.length - 1] : null;
}

// Matches a message against its security.properties template (`%1$S` … `%N$S` placeholders, the
// whole line is the template's text) and returns the placeholder values by number.
function templateParams(template, text) {
  if (!template) return null;
  const order = [];
  const re = template
    .split(/(%\d\$S)/)
    .map((part) => {
      const m = /^%(\d)\$S$/.exec(part);
      if (m) {
        order.push(Number(m[1]));
        return '(.*?)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const m = new RegExp(`^${re}$`, 's').exec(text);
  if (!m) return null;
  const out = {};
  order.forEach((n, i) => (out[n] = m[i + 1]));
  return out;
}

function groundTruth(r, events, messages, bidiLog, log, blockingReasons) {
  const { sc, js, t0, t1 } = r;
  const mine = [...events.values()].filter((e) => matches(e.url, sc.name));
  const isPreflight = (e) => e.method === 'OPTIONS' && sc.method !== 'OPTIONS';
  const pre = mine.filter(isPreflight);
  // Messages of this scenario: naming one of its URLs, or (naming none) issued during its window.
  const msgs = messages.filter((m) => (m.url ? matches(m.url, sc.name) : m.wall >= t0 && m.wall <= t1));
  const corsMsgs = msgs.filter((m) => m.code);
  const corsErrors = corsMsgs.filter((m) => !m.warning);
  const followUp = (m) => m.code === 'CORSDidNotSucceed' && /Status code: \(null\)/.test(m.text);
  const first = corsErrors.find((m) => !followUp(m)) ?? corsErrors[0] ?? null;
  const reasons = mine
    .filter((e) => e.updates.blockedReason)
    .map((e) => ({ method: e.method, url: e.url, status: e.updates.status ?? null, blocked_reason: e.updates.blockedReason, name: blockingReasons[e.updates.blockedReason] ?? null }));
  const corsReason = reasons.find((x) => x.blocked_reason > 1000 && x.blocked_reason < 1100);
  // A cross-origin fetch in mode "same-origin" is refused with the same-origin policy's own message
  // (category SOP, "Security Error: Content at … may not load data from …"): blocked, no CORS code.
  const sop = msgs.find((m) => m.source === 'error-message' && m.key === 'SOP' && !m.warning);
  const blocked = !!first || !!corsReason || !!sop;
  const server = log.filter((l) => matches(`http://x${l.path}`, sc.name));
  const hdr = (l, name) => l.headers.find(([n]) => n.toLowerCase() === name)?.[1];
  const serverPre = server.filter((l) => l.method === 'OPTIONS' && hdr(l, 'access-control-request-method'));
  const isPrime = (l) => sc.prime_no_cors && !hdr(l, 'origin');
  const serverActual = server.filter((l) => !serverPre.includes(l) && !isPrime(l));
  const bidi = bidiLog.filter((b) => (b.url ? matches(b.url, sc.name) : b.wall >= t0 && b.wall <= t1));
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
    cors_error: first?.code ?? (corsReason ? reasonCode(corsReason.name) : null),
    message_key: first?.key ?? sop?.key ?? null,
    failed_parameter: first ? first.param : null,
    status_in_message: first?.status ?? null,
    verdict_source: first ? 'rdp:error-message' : corsReason ? 'rdp:network-event.blockedReason' : sop ? 'rdp:error-message (SOP, no CORS code)' : null,
    cors_errors: corsErrors.map((m) => ({ code: m.code, key: m.key, url: m.url, param: m.param, text: m.text })),
    cors_warnings: corsMsgs.filter((m) => m.warning).map((m) => ({ code: m.code, key: m.key, url: m.url, text: m.text })),
    blocked_reasons: reasons,
    failed: js.some((o) => !o.ok),
    console: msgs.map((m) => m.text),
    bidi_log: bidi.map((b) => `${b.kind}: ${b.text}`),
    reached_server: serverActual.length > 0,
    preflight_sent: serverPre.length > 0 || pre.length > 0,
    preflights_on_wire: serverPre.length,
    preflights_in_devtools: pre.length,
    actual_requests_on_wire: serverActual.length,
    priming_requests_on_wire: server.filter(isPrime).length,
    cookie_sent: server.some((l) => hdr(l, 'cookie')),
    network_events: mine.map((e) => ({
      method: e.method,
      url: e.url,
      status: e.updates.status ?? null,
      blocked_reason: e.updates.blockedReason ?? null,
      from_cache: e.fromCache ?? e.updates.fromCache ?? null,
      cause: e.cause?.type ?? null,
    })),
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
    js,
    expected_chromium: sc.expect,
    window_ms: [t0, t1],
  };
}

// BLOCKING_REASON_CORSMISSINGALLOWORIGIN -> the MDN name, for a verdict known only from the reason.
function reasonCode(name) {
  const table = {
    CORSDISABLED: 'CORSDisabled',
    CORSDIDNOTSUCCEED: 'CORSDidNotSucceed',
    CORSREQUESTNOTHTTP: 'CORSRequestNotHttp',
    CORSMULTIPLEALLOWORIGINNOTALLOWED: 'CORSMultipleAllowOriginNotAllowed',
    CORSMISSINGALLOWORIGIN: 'CORSMissingAllowOrigin',
    CORSNOTSUPPORTINGCREDENTIALS: 'CORSNotSupportingCredentials',
    CORSALLOWORIGINNOTMATCHINGORIGIN: 'CORSAllowOriginNotMatchingOrigin',
    CORSMISSINGALLOWCREDENTIALS: 'CORSMissingAllowCredentials',
    CORSORIGINHEADERNOTADDED: 'CORSOriginHeaderNotAdded',
    CORSEXTERNALREDIRECTNOTALLOWED: 'CORSExternalRedirectNotAllowed',
    CORSPREFLIGHTDIDNOTSUCCEED: 'CORSPreflightDidNotSucceed',
    CORSINVALIDALLOWMETHOD: 'CORSInvalidAllowMethod',
    CORSMETHODNOTFOUND: 'CORSMethodNotFound',
    CORSINVALIDALLOWHEADER: 'CORSInvalidAllowHeader',
    CORSMISSINGALLOWHEADERFROMPREFLIGHT: 'CORSMissingAllowHeaderFromPreflight',
  };
  return table[name] ?? name;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
