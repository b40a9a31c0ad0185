// The application behind nginx and Apache in the lab: plain node http, no CORS handling at all
// (the proxy in front adds the CORS headers, or nothing does). Usage: node backend.mjs PORT
import http from 'node:http';

const port = Number(process.argv[2]);
http
  .createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const json = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // Like most routers: no OPTIONS route, so a preflight that reaches the app gets 405.
    if (req.method === 'OPTIONS') return json(405, { error: 'method not allowed' });
    req.resume();
    if (path.endsWith('/fail')) return json(500, { error: 'internal error' });
    if (path.endsWith('/with-acao')) {
      // An application that handles CORS itself (reflecting the origin).
      res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': req.headers.origin ?? '*' });
      return res.end(JSON.stringify({ ok: true }));
    }
    if (path.endsWith('/cached')) {
      // Script, so that the no-cors fetch that fills the cache is not cut off by ORB.
      res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'public, max-age=600' });
      return res.end('window.labCached = true;\n');
    }
    if (/\/(data|v2\/report|echo|items\/?)$/.test(path))
      return json(200, { ok: true, method: req.method, path });
    return json(404, { error: 'not found', path });
  })
  .listen(port, '127.0.0.1');
