// The lab's Express 4 app (tests/lab/stacks/express.cjs). The line "// @@CORS@@" is replaced by
// the scenario's CORS section: first the misconfiguration, then the snippet corswatch prints.
// Provides what the Express snippets assume: app, express, apiRouter, requireAuth.
const express = require('express');
const app = express();
const apiRouter = express.Router();
const ok = (req, res) => res.json({ ok: true, method: req.method });
apiRouter.route('/data').get(ok).post(ok).put(ok).delete(ok);
// The router mounted at the resource itself (a policy route `/s/policy.express/data`).
apiRouter.route('/').get(ok).post(ok).put(ok).delete(ok);
apiRouter.post('/echo', (req, res) => res.json({ got: req.body ?? null }));
apiRouter.get('/v2/report', ok);
apiRouter.get('/fail', () => {
  throw new Error('lab: failing route');
});
// Auth the lab can satisfy: any Authorization header.
const requireAuth = (req, res, next) =>
  req.get('authorization') ? next() : res.status(401).json({ error: 'unauthorized' });

// @@CORS@@

app.listen(Number(process.env.PORT), '127.0.0.1');
