// The Chrome-DevTools-style HAR builder shared by tests/browser/run.mjs and tests/lab/lab.mjs:
// a HAR built from the CDP Network events DevTools itself consumes (events as recorded by those
// drivers: {method, params}), following front_end/models/har/Log.ts.
// Chrome-DevTools-style HAR from CDP Network events, following front_end/models/har/Log.ts:
// one entry per request and per redirect hop; preflights are their own entries
// (_resourceType "preflight", _initiator {type: "preflight", url, requestId}); blocked responses
// keep the status and raw headers from Network.responseReceivedExtraInfo; failures carry
// response._error = loadingFailed.errorText.
function headersArray(obj) {
  const out = [];
  for (const [name, value] of Object.entries(obj || {})) {
    for (const v of String(value).split('\n')) out.push({ name, value: v });
  }
  return out;
}
function queryString(url) {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}
// DevTools' NetworkManager gives a request whose initiator is a preflight the "preflight" type.
function resourceType(rws) {
  if (rws.initiator?.type === 'preflight') return 'preflight';
  return rws.type ? rws.type.toLowerCase() : 'other';
}
function statusTextFrom(headersText) {
  const m = /^HTTP\/\S+\s+\d+\s*(.*?)\r?\n/.exec(headersText || '');
  return m ? m[1] : '';
}

export function buildDevtoolsHar(events, bodies, browserVersion, pageUrl) {
  // Group by requestId, keep hops.
  const byId = new Map();
  const order = [];
  const get = (id) => {
    if (!byId.has(id)) {
      byId.set(id, { id, hops: [], reqExtra: [], resExtra: [], end: null });
      order.push(id);
    }
    return byId.get(id);
  };
  let pageStart = null;
  const pageTimes = { dcl: -1, load: -1 };
  for (const { method, params: p } of events) {
    switch (method) {
      case 'Network.requestWillBeSent': {
        const r = get(p.requestId);
        if (p.redirectResponse && r.hops.length) {
          const prev = r.hops[r.hops.length - 1];
          prev.response = p.redirectResponse;
          prev.endTs = p.timestamp;
        }
        r.hops.push({ rws: p, response: null, endTs: null });
        if (p.type === 'Document' && pageStart === null) pageStart = p;
        break;
      }
      case 'Network.requestWillBeSentExtraInfo':
        get(p.requestId).reqExtra.push(p);
        break;
      case 'Network.responseReceivedExtraInfo':
        get(p.requestId).resExtra.push(p);
        break;
      case 'Network.responseReceived': {
        const r = get(p.requestId);
        const hop = r.hops[r.hops.length - 1];
        if (hop) {
          hop.response = p.response;
          hop.responseTs = p.timestamp;
        }
        break;
      }
      case 'Network.loadingFinished':
      case 'Network.loadingFailed': {
        const r = get(p.requestId);
        r.end = { method, ...p };
        break;
      }
      case 'Page.domContentEventFired':
        if (pageTimes.dcl < 0) pageTimes.dcl = p.timestamp;
        break;
      case 'Page.loadEventFired':
        if (pageTimes.load < 0) pageTimes.load = p.timestamp;
        break;
    }
  }
  const entries = [];
  for (const id of order) {
    const r = byId.get(id);
    r.hops.forEach((hop, k) => {
      const last = k === r.hops.length - 1;
      const rws = hop.rws;
      const reqExtra = r.reqExtra[k];
      const resExtra = r.resExtra[k];
      const resp = hop.response;
      const failed = last && r.end?.method === 'Network.loadingFailed' ? r.end : null;
      // A canceled load (e.g. an ORB-blocked no-cors response) shows no raw headers in DevTools.
      const canceled = !!failed?.canceled;
      const reqHeaders = reqExtra && !canceled ? headersArray(reqExtra.headers) : headersArray(rws.request.headers);
      let status = 0;
      let statusText = '';
      let respHeaders = [];
      let headersText = '';
      if (resp) {
        status = resp.status;
        statusText = resp.statusText;
        respHeaders = headersArray(resp.headers);
      }
      if (canceled) respHeaders = [];
      if (resExtra && !canceled) {
        // DevTools' addExtraResponseInfo: raw headers and status win (they exist for blocked
        // responses, which never get responseReceived).
        respHeaders = headersArray(resExtra.headers);
        status = resExtra.statusCode ?? status;
        headersText = resExtra.headersText || '';
        if (!statusText) statusText = statusTextFrom(headersText);
      }
      const location = respHeaders.find((h) => h.name.toLowerCase() === 'location')?.value ?? '';
      const endTs = last ? r.end?.timestamp ?? rws.timestamp : hop.endTs ?? rws.timestamp;
      const timing = resp?.timing;
      const totalMs = Math.max(0, (endTs - rws.timestamp) * 1000);
      const timings = { blocked: -1, dns: -1, ssl: -1, connect: -1, send: 0, wait: 0, receive: 0, _blocked_queueing: -1 };
      if (timing) {
        const queued = Math.max(0, (timing.requestTime - rws.timestamp) * 1000);
        const starts = [timing.dnsStart, timing.connectStart, timing.sendStart].filter((x) => x >= 0);
        const blockedStart = starts.length ? Math.min(...starts) : 0;
        timings._blocked_queueing = queued;
        timings.blocked = queued + blockedStart;
        timings.dns = timing.dnsEnd >= 0 ? timing.dnsEnd - timing.dnsStart : -1;
        timings.connect = timing.connectEnd >= 0 ? timing.connectEnd - timing.connectStart : -1;
        timings.ssl = timing.sslEnd > 0 ? timing.sslEnd - timing.sslStart : -1;
        timings.send = Math.max(0, timing.sendEnd - timing.sendStart);
        timings.wait = Math.max(0, timing.receiveHeadersEnd - timing.sendEnd);
        const recvMs = (endTs - timing.requestTime) * 1000 - timing.receiveHeadersEnd;
        timings.receive = Math.max(0, recvMs);
        timings._workerStart = timing.workerStart;
        timings._workerReady = timing.workerReady;
        timings._workerFetchStart = timing.workerFetchStart;
        timings._workerRespondWithSettled = timing.workerRespondWithSettled;
      } else {
        timings.blocked = totalMs;
        timings._blocked_queueing = totalMs;
      }
      const time = [timings.blocked, timings.dns, timings.connect, timings.send, timings.wait, timings.receive].reduce(
        (a, t) => a + Math.max(0, t),
        0,
      );
      // DevTools keeps the chain's first initiator for every redirect hop.
      const init = r.hops[0].rws.initiator || rws.initiator || { type: 'other' };
      const exportedInit = { type: init.type };
      if (init.url !== undefined) exportedInit.url = init.url;
      if (init.lineNumber !== undefined) exportedInit.lineNumber = init.lineNumber;
      if (init.requestId !== undefined) exportedInit.requestId = init.requestId;
      if (init.stack) exportedInit.stack = { callFrames: (init.stack.callFrames || []).slice(0, 3) };
      const body = last && !failed ? bodies.get(id) : null;
      // Without responseReceived (blocked responses) DevTools knows no MIME type.
      const mime = resp?.mimeType || 'x-unknown';
      const content = { size: last && r.end?.encodedDataLength != null && !failed ? (body ? body.body.length : 0) : 0, mimeType: mime };
      if (body) {
        content.text = body.body;
        if (body.base64Encoded) content.encoding = 'base64';
      }
      const reqCookies = (reqExtra?.associatedCookies || [])
        .filter((c) => !c.blockedReasons?.length)
        .map((c) => ({ name: c.cookie.name, value: c.cookie.value, path: c.cookie.path, domain: c.cookie.domain, expires: null, httpOnly: c.cookie.httpOnly, secure: c.cookie.secure, ...(c.cookie.sameSite ? { sameSite: c.cookie.sameSite } : {}) }));
      const request = {
        method: rws.request.method,
        url: rws.request.url.split('#')[0],
        httpVersion: headersText ? headersText.split(' ')[0] : reqExtra || resp ? (resp?.protocol || 'http/1.1').toUpperCase() : '',
        headers: reqHeaders,
        queryString: queryString(rws.request.url),
        cookies: reqCookies,
        headersSize: -1,
        bodySize: rws.request.postData ? Buffer.byteLength(rws.request.postData) : 0,
      };
      if (rws.request.postData) {
        const ct = reqHeaders.find((h) => h.name.toLowerCase() === 'content-type')?.value || '';
        request.postData = { mimeType: ct, text: rws.request.postData };
      }
      const transfer = last && r.end?.method === 'Network.loadingFinished' ? r.end.encodedDataLength : resp ? headersText.length : 0;
      const response = {
        status,
        statusText,
        httpVersion: headersText ? headersText.split(' ')[0] : (resp?.protocol || '').toUpperCase(),
        headers: respHeaders,
        cookies: [],
        content,
        redirectURL: location,
        headersSize: headersText ? headersText.length : -1,
        bodySize: headersText && !failed ? Math.max(0, transfer - headersText.length) : -1,
        _transferSize: transfer,
        _error: failed ? failed.errorText : null,
        _fetchedViaServiceWorker: !!resp?.fromServiceWorker,
      };
      // DevTools: remoteAddress() is `${remoteIPAddress}:${remotePort}` (CDP already brackets IPv6);
      // Log.ts strips the port into `connection` and its /\[\]/g replace leaves the brackets.
      const remote = resp?.remoteIPAddress ?? '';
      const entry = {
        _initiator: exportedInit,
        _priority: rws.request.initialPriority,
        _resourceType: resourceType(rws),
        cache: {},
        ...(resp && resp.remotePort ? { connection: String(resp.remotePort) } : {}),
        ...(resp && resp.connectionId && String(resp.connectionId) !== '0' ? { _connectionId: String(resp.connectionId) } : {}),
        pageref: 'page_1',
        request,
        response,
        serverIPAddress: remote,
        startedDateTime: new Date(rws.wallTime * 1000).toISOString(),
        time,
        timings,
      };
      if (resp?.fromDiskCache) entry._fromCache = 'disk';
      entry._issueTs = rws.timestamp;
      entries.push(entry);
    });
  }
  // HAR.Writer sorts the requests by issue time before building the log: an actual request is
  // issued before its preflight, so it comes first.
  entries.sort((a, b) => a._issueTs - b._issueTs);
  for (const e of entries) delete e._issueTs;
  const startWall = pageStart ? pageStart.wallTime : entries.length ? Date.parse(entries[0].startedDateTime) / 1000 : Date.now() / 1000;
  const ms = (ts) => (ts < 0 || !pageStart ? -1 : (ts - pageStart.timestamp) * 1000);
  return {
    log: {
      version: '1.2',
      creator: { name: 'WebInspector', version: '537.36' },
      comment:
        `Chrome-DevTools-style HAR built by corswatch tests/browser/run.mjs from the CDP Network events of ` +
        `Chromium ${browserVersion}, following front_end/models/har/Log.ts; not exported by the DevTools front end itself.`,
      pages: [
        {
          startedDateTime: new Date(startWall * 1000).toISOString(),
          id: 'page_1',
          title: pageUrl,
          pageTimings: { onContentLoad: ms(pageTimes.dcl), onLoad: ms(pageTimes.load) },
        },
      ],
      entries,
    },
  };
}

