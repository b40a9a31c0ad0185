// A minimal client of Firefox's remote debugging protocol (the protocol Firefox's own DevTools
// speak; server started with `--start-debugger-server PORT`). Packets are `LENGTH:JSON` over TCP.
// Every request goes to an actor and is answered by that actor, in order; packets that carry a
// `type` are notifications (events), not answers.
import net from 'node:net';

export class Rdp {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.pending = new Map(); // actor -> [{resolve, reject, packet}]
    this.listeners = new Set(); // (packet) => void, for every event
    this.closed = false;
    socket.on('data', (d) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
      for (const q of this.pending.values()) for (const p of q) p.reject(new Error('RDP connection closed'));
      this.pending.clear();
    });
  }

  static connect(port, host = '127.0.0.1', timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const s = net.connect(port, host);
        let greeted = false;
        s.once('error', (e) => {
          s.destroy();
          if (Date.now() > deadline) reject(new Error(`RDP connect ${host}:${port}: ${e}`));
          else setTimeout(attempt, 200);
        });
        s.once('connect', () => {
          const c = new Rdp(s);
          // The root actor greets first.
          c.pending.set('root', [
            {
              resolve: (hello) => {
                greeted = true;
                c.hello = hello;
                resolve(c);
              },
              reject,
            },
          ]);
          setTimeout(() => greeted || reject(new Error('RDP: no greeting')), 10000);
        });
      };
      attempt();
    });
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a); // ':'
      if (colon < 0) return;
      const head = this.buf.subarray(0, colon).toString('latin1');
      if (head.startsWith('bulk ')) throw new Error('RDP bulk packets are not supported');
      const len = Number(head);
      if (!Number.isInteger(len)) throw new Error(`RDP: bad packet header ${JSON.stringify(head.slice(0, 40))}`);
      if (this.buf.length < colon + 1 + len) return;
      const body = this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8');
      this.buf = this.buf.subarray(colon + 1 + len);
      this.dispatch(JSON.parse(body));
    }
  }

  dispatch(p) {
    const q = this.pending.get(p.from);
    // Notifications carry a `type`; answers do not (errors carry `error`).
    if (p.type !== undefined) {
      for (const l of this.listeners) {
        try {
          l(p);
        } catch (e) {
          console.error('RDP listener:', e);
        }
      }
      return;
    }
    if (!q || !q.length) return; // an unsolicited packet without a type: ignore
    const w = q.shift();
    if (p.error) w.reject(Object.assign(new Error(`RDP ${p.from}: ${p.error}: ${p.message ?? ''}`), { packet: p }));
    else w.resolve(p);
  }

  request(to, type, args = {}) {
    if (this.closed) return Promise.reject(new Error('RDP connection closed'));
    return new Promise((resolve, reject) => {
      if (!this.pending.has(to)) this.pending.set(to, []);
      this.pending.get(to).push({ resolve, reject });
      const json = Buffer.from(JSON.stringify({ to, type, ...args }), 'utf8');
      this.socket.write(Buffer.concat([Buffer.from(`${json.length}:`, 'latin1'), json]));
    });
  }

  on(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close() {
    this.socket.destroy();
  }

  // Evaluates JavaScript through a console actor (`evaluateJSAsync`: the answer only carries a
  // resultID, the value comes in a later `evaluationResult` notification). Returns the grip.
  async evaluate(consoleActor, text, timeoutMs = 60000) {
    if (!this.evalResults) {
      this.evalResults = new Map(); // resultID -> packet that arrived before its waiter
      this.evalWaiters = new Map(); // resultID -> callback
      this.on((p) => {
        if (p.type !== 'evaluationResult') return;
        const w = this.evalWaiters.get(p.resultID);
        if (w) {
          this.evalWaiters.delete(p.resultID);
          w(p);
        } else this.evalResults.set(p.resultID, p);
      });
    }
    const { resultID } = await this.request(consoleActor, 'evaluateJSAsync', { text, mapped: { await: true } });
    const p = await new Promise((resolve, reject) => {
      if (this.evalResults.has(resultID)) {
        const early = this.evalResults.get(resultID);
        this.evalResults.delete(resultID);
        resolve(early);
        return;
      }
      const timer = setTimeout(() => {
        this.evalWaiters.delete(resultID);
        reject(new Error(`RDP evaluate timed out: ${text.slice(0, 80)}`));
      }, timeoutMs);
      this.evalWaiters.set(resultID, (packet) => {
        clearTimeout(timer);
        resolve(packet);
      });
    });
    if (p.topLevelAwaitRejected) throw new Error('evaluation: the awaited promise was rejected');
    if (p.hasException) throw new Error(`evaluation threw: ${gripText(p.exception)} ${p.exceptionMessage ?? ''}`);
    return p.result;
  }

  // The full text of a value that may be a longString grip.
  async fullText(grip) {
    if (typeof grip === 'string') return grip;
    if (grip && grip.type === 'longString') {
      const { substring } = await this.request(grip.actor, 'substring', { start: 0, end: grip.length });
      return substring;
    }
    return gripText(grip);
  }
}

export function gripText(g) {
  if (g === null || g === undefined) return String(g);
  if (typeof g !== 'object') return String(g);
  if (g.type === 'undefined' || g.type === 'null') return g.type;
  if (g.type === 'longString') return g.initial + '…';
  if (g.preview?.message) return `${g.class}: ${g.preview.message}`;
  return JSON.stringify(g);
}
