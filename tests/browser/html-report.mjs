// Opens corswatch's HTML reports in Debian's Chromium (playwright-core, no browser download), with
// JavaScript on and off, and checks what a person would see:
//   * the summary's rendered text says how many requests were blocked, of how many;
//   * a kind's section shows its title, the browser's console message and a fix tab;
//   * every chart drew (SVG with a non-empty box and shapes in it);
//   * nothing left the page: every request is recorded (Playwright routing and CDP Network
//     events); only the report's own file:// URL may appear;
//   * with JavaScript: sorting and filtering work and the page threw no error; without it, the
//     content is all there and the fix tabs still switch (CSS radio buttons).
// A full-page screenshot of each run is kept in --artifacts.
//
// Usage: node html-report.mjs --artifacts DIR REPORT.html:EXPECT.json [...]
//   EXPECT.json: {"blocked": N, "cross_origin": N, "kind": ID, "title": T, "message": M, "fix": bool}
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const ai = args.indexOf('--artifacts');
const artifacts = ai >= 0 ? args[ai + 1] : 'target/ci-artifacts/html';
const reports = args.filter((a, i) => a.includes('.html:') && i !== ai + 1);
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

let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) {
    passed++;
    console.log(`  ok   ${what}`);
  } else {
    failed++;
    console.log(`  FAIL ${what}`);
  }
}

async function run(browser, file, expect, js) {
  const url = pathToFileURL(path.resolve(file)).href;
  const label = `${path.basename(file)} (JavaScript ${js ? 'on' : 'off'})`;
  console.log(label);
  const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1100, height: 900 } });
  const requested = [];
  // Every request the page makes goes through here; anything but the report itself is refused.
  await context.route('**/*', (route) => {
    const u = route.request().url();
    requested.push(u);
    return u === url ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const cdpRequests = [];
  cdp.on('Network.requestWillBeSent', (e) => cdpRequests.push(e.request.url));
  cdp.on('Network.webSocketCreated', (e) => cdpRequests.push(e.url));
  await cdp.send('Network.enable');
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const started = Date.now();
  await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  check(Date.now() - started < 10000, `loads in ${Date.now() - started} ms`);

  // The summary, as rendered.
  const summary = await page.locator('#summary').innerText();
  const blockedLine = new RegExp(`${expect.blocked}\\s+blocked`);
  check(blockedLine.test(summary), `summary shows "${expect.blocked} blocked"`);
  if (expect.blocked > 0) {
    check(
      summary.includes(`blocked ${expect.blocked} of ${expect.cross_origin} cross-origin requests`),
      `summary says "blocked ${expect.blocked} of ${expect.cross_origin} cross-origin requests"`,
    );
  }
  // One kind's section.
  const kind = page.locator(`#kind-${expect.kind}`);
  const kindText = await kind.innerText();
  check(kindText.includes(expect.kind) && kindText.includes(expect.title), `kind ${expect.kind}: id and title "${expect.title}"`);
  const firstLine = expect.message.split('\n')[0];
  check(kindText.includes(firstLine.slice(0, 80)), `kind ${expect.kind}: the console message is shown`);
  if (expect.fix) {
    const panels = kind.locator('.tabs .panel');
    const visible = [];
    for (let i = 0; i < (await panels.count()); i++) visible.push(await panels.nth(i).isVisible());
    check(visible.filter(Boolean).length === 1 && visible[0], `kind ${expect.kind}: exactly the first fix tab is shown (${visible.length} tabs)`);
    if (visible.length > 1) {
      await kind.locator('.tabs > label').nth(1).click();
      const second = await panels.nth(1).isVisible();
      const first = await panels.nth(0).isVisible();
      check(second && !first, `kind ${expect.kind}: clicking the second tab shows its snippet`);
      check((await panels.nth(1).innerText()).trim().length > 0, `kind ${expect.kind}: the second snippet has text`);
    }
  }
  // Charts: SVG with a drawn box and shapes.
  const charts = await page.$$eval('svg.chart', (svgs) =>
    svgs.map((s) => {
      const b = s.getBoundingClientRect();
      return { cls: s.getAttribute('class'), w: b.width, h: b.height, shapes: s.querySelectorAll('rect').length };
    }),
  );
  check(charts.length >= 3, `${charts.length} charts on the page`);
  check(charts.every((c) => c.w > 100 && c.h > 20), 'every chart has a drawn box');
  const timeline = charts.find((c) => c.cls.includes('timeline'));
  check(!!timeline && timeline.shapes > 0, `the timeline drew ${timeline ? timeline.shapes : 0} bars`);
  check(charts.filter((c) => c.cls.includes('bars')).every((c) => c.shapes > 0), 'every bar chart drew bars');

  if (js) {
    check(await page.evaluate(() => document.documentElement.classList.contains('js')), 'the script ran');
    // Sort the kinds by count, ascending, then descending.
    const counts = () => page.$$eval('#kind-table tbody tr td:nth-child(3)', (tds) => tds.map((t) => +t.textContent));
    const header = page.locator('#kind-table thead th').nth(2);
    await header.click();
    const asc = await counts();
    check(asc.every((v, i) => i === 0 || asc[i - 1] <= v), `kinds sort by count ascending (${asc.length} rows)`);
    await header.click();
    const desc = await counts();
    check(desc.every((v, i) => i === 0 || desc[i - 1] >= v), 'and descending');
    // Filter the kinds table.
    const filter = page.locator('#summary input.filter');
    if ((await filter.count()) > 0) {
      await filter.fill(expect.kind);
      const shown = await page.$$eval('#kind-table tbody tr', (rows) => rows.filter((r) => !r.hidden).length);
      check(shown >= 1 && shown < asc.length, `filtering the kinds by "${expect.kind}" leaves ${shown} row(s)`);
    } else {
      check(asc.length < 4, 'small tables need no filter box');
    }
  } else {
    check(await page.locator('input.filter').count() === 0, 'no filter boxes without JavaScript');
    check(!(await page.evaluate(() => document.documentElement.classList.contains('js'))), 'no script ran');
  }
  check(errors.length === 0, `no page errors${errors.length ? ': ' + errors.join(' | ') : ''}`);

  fs.mkdirSync(artifacts, { recursive: true });
  const shot = path.join(artifacts, `${path.basename(file, '.html')}-js-${js ? 'on' : 'off'}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`  screenshot: ${shot}`);

  // Nothing but the file itself was requested.
  const others = [...requested, ...cdpRequests].filter((u) => u !== url);
  check(others.length === 0, `no request left the page${others.length ? ': ' + others.slice(0, 5).join(', ') : ''}`);
  check(requested.includes(url) || cdpRequests.includes(url), 'the report itself was the one request');
  await context.close();
}

// The recorder catches what it must: a page (without the report's CSP) that loads an image and
// fetches from loopback shows up as requests other than the file itself.
async function control(browser) {
  console.log('control: a page that does reach out');
  const file = path.join(artifacts, 'control.html');
  fs.writeFileSync(file, '<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><script>fetch("http://127.0.0.1:9/y").catch(()=>{})</script>');
  const url = pathToFileURL(path.resolve(file)).href;
  const context = await browser.newContext();
  const requested = [];
  await context.route('**/*', (route) => {
    requested.push(route.request().url());
    return route.request().url() === url ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(300);
  const others = requested.filter((u) => u !== url);
  check(others.length >= 2, `the recorder sees the control page's ${others.length} outgoing requests`);
  await context.close();
  fs.unlinkSync(file);
}

async function main() {
  if (reports.length === 0) {
    console.error('usage: node html-report.mjs --artifacts DIR REPORT.html:EXPECT.json [...]');
    process.exit(2);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  console.log(`Chromium ${browser.version()}`);
  try {
    fs.mkdirSync(artifacts, { recursive: true });
    await control(browser);
    for (const spec of reports) {
      const [file, expectFile] = spec.split(/:(?=[^:]*$)/);
      const expect = JSON.parse(fs.readFileSync(expectFile, 'utf8'));
      for (const js of [true, false]) await run(browser, file, expect, js);
    }
  } finally {
    await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
