// EXPERIMENT, not Gatehouse code and not a usable proxy: the reference proxy's server side with
// undici replaced by a minimal keep-alive HTTP/1.1 client on net sockets that parses responses with
// Node's native llhttp binding (HTTPParser from _http_common, the parser node:http's own client
// uses). It answers one question for issue 2: how much of the reference's CPU per request is
// undici? (BENCHMARKS.md, "What undici costs".) It forwards GET/HEAD without bodies only and has
// no timeouts, no connection cap, no retry of a request that meets a closing keep-alive connection,
// and no TLS; everything a real upstream client needs is missing.
//
// Usage: BENCH_EXTRA_PROXY=bench/experiments/native-parser-proxy.mjs \
//          BENCH_PAIRS=reference:extra-proxy:gatehouse node bench/run.mjs --paired
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { HTTPParser } = require('_http_common');
const kOnHeaders = HTTPParser.kOnHeaders | 0;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0;
const kOnBody = HTTPParser.kOnBody | 0;
const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0;

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '0' }, address: { type: 'string', default: '127.0.0.1' }, upstream: { type: 'string' } } });
const up = new URL(args.upstream);
const upHost = up.host;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);
const HOP_LENGTHS = new Set([...HOP_BY_HOP].map((n) => n.length));
const isHopByHop = (name) => HOP_LENGTHS.has(name.length) && HOP_BY_HOP.has(name.toLowerCase());

const idle = [];
class Conn {
  constructor() {
    this.res = null;
    this.keepAlive = true;
    this.socket = net.connect(Number(up.port), up.hostname);
    this.socket.setNoDelay(true);
    const p = (this.parser = new HTTPParser());
    p.initialize(HTTPParser.RESPONSE, {}, 0, 0);
    p.conn = this;
    p[kOnHeaders] = function (headers) { (this.conn.partial ??= []).push(...headers); };
    p[kOnHeadersComplete] = function (maj, min, headers, method, url, status, msg, upgrade, keepAlive) {
      const c = this.conn;
      if (headers === undefined) { headers = c.partial; c.partial = undefined; }
      c.keepAlive = keepAlive;
      const out = [];
      for (let i = 0; i < headers.length; i += 2) if (!isHopByHop(headers[i])) out.push(headers[i], headers[i + 1]);
      c.res.writeHead(status, out);
      return c.head ? 1 : 0;
    };
    p[kOnBody] = function (b) { this.conn.res.write(b); };
    p[kOnMessageComplete] = function () {
      const c = this.conn;
      const res = c.res;
      c.res = null;
      res.end();
      if (c.keepAlive) idle.push(c); else c.socket.destroy();
    };
    this.socket.on('data', (d) => {
      const r = this.parser.execute(d);
      if (r instanceof Error) { this.fail(); }
    });
    this.socket.on('error', () => this.fail());
    this.socket.on('close', () => this.fail());
  }
  fail() {
    const res = this.res;
    this.res = null;
    const i = idle.indexOf(this);
    if (i !== -1) idle.splice(i, 1);
    if (res && !res.headersSent) { res.writeHead(502, ['content-length', '0']); res.end(); } else if (res) res.destroy();
    this.socket.destroy();
  }
  send(req, res) {
    this.res = res;
    this.head = req.method === 'HEAD';
    const raw = req.rawHeaders;
    let h = `${req.method} ${req.url} HTTP/1.1\r\nhost: ${upHost}\r\n`;
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i];
      if (n.length === 4 && n.toLowerCase() === 'host') continue;
      if (!isHopByHop(n)) h += `${n}: ${raw[i + 1]}\r\n`;
    }
    this.socket.write(h + '\r\n', 'latin1');
  }
}

const server = http.createServer((req, res) => {
  const c = idle.pop() ?? new Conn();
  c.send(req, res);
});
server.listen(Number(args.port), args.address, () => {
  const { address, port } = server.address();
  console.log(`raw proxy listening on http://${address}:${port} -> ${args.upstream}`);
});
const shutdown = () => { server.close(); setTimeout(() => process.exit(0), 300).unref(); };
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
