// The page side of the real-browser ground truth, shared by the Chromium driver (run.mjs) and the
// Firefox driver (firefox/run.mjs): what the page does for one scenario of
// examples/scenario_server.rs (the scenario list itself comes from the server's /scenarios.json),
// and how a URL is matched to its scenario (`/s/<name>` or `/s/<name>/<step>`).
// runScenario is serialized into the page by the drivers' evaluate: it must stay self-contained.

// Runs in the page. Returns one outcome per repetition.
export async function runScenario(sc) {
  const once = () =>
    new Promise((resolve) => {
      const headers = sc.headers;
      if (sc.client === 'xhr') {
        const x = new XMLHttpRequest();
        x.open(sc.method, sc.url);
        for (const [n, v] of headers) x.setRequestHeader(n, v);
        x.withCredentials = !!sc.credentials;
        x.timeout = 8000;
        x.onload = () =>
          resolve({
            ok: true,
            status: x.status,
            header: sc.read_header ? x.getResponseHeader(sc.read_header) : undefined,
            body_len: (x.responseText || '').length,
          });
        x.onerror = () => resolve({ ok: false, error: 'XMLHttpRequest error event', status: x.status });
        x.ontimeout = () => resolve({ ok: false, error: 'timeout' });
        if (sc.xhr_upload) x.upload.onprogress = () => {};
        x.send(sc.body ?? null);
        return;
      }
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), 8000);
      const init = { method: sc.method, headers, mode: sc.mode, signal: ctl.signal };
      if (sc.credentials) init.credentials = 'include';
      if (sc.body != null) init.body = sc.body;
      fetch(sc.url, init).then(
        async (res) => {
          const header = sc.read_header ? res.headers.get(sc.read_header) : undefined;
          let body_len = null;
          try {
            body_len = (await res.text()).length;
          } catch (e) {}
          clearTimeout(timer);
          resolve({ ok: true, status: res.status, type: res.type, header, body_len });
        },
        (e) => {
          clearTimeout(timer);
          resolve({ ok: false, error: `${e.name}: ${e.message}` });
        },
      );
    });
  const out = [];
  if (sc.prime_no_cors) {
    // Fill the HTTP cache with a no-cors response for the same URL.
    out.push(
      await fetch(sc.url, { mode: 'no-cors' }).then(
        async (r) => ({ prime: true, ok: true, type: r.type, body_len: (await r.text()).length }),
        (e) => ({ prime: true, ok: false, error: `${e.name}: ${e.message}` }),
      ),
    );
  }
  for (let i = 0; i < (sc.repeat || 1); i++) out.push(await once());
  return out;
}

export function pathOf(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}
export function matches(url, name) {
  const p = pathOf(url);
  return p === `/s/${name}` || p.startsWith(`/s/${name}/`);
}
