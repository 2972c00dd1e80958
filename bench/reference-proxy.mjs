// Reference proxy: the practical ceiling for a Node reverse proxy (see /work/shared/PERFORMANCE.md).
//
// node:http in front of ONE undici Pool driven through pool.dispatch() with a plain handler object
// (the legacy handler API) and raw header arrays. It deliberately does nothing else: no routing,
// no X-Forwarded-*, no logging, no upstream abort on client disconnect. Gatehouse is judged against
// it, so anything added here would flatter Gatehouse.
//
// Usage: node bench/reference-proxy.mjs --port 8080 --upstream http://127.0.0.1:9000
//        [--address 127.0.0.1] [--connections 128]
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    address: { type: 'string', default: '127.0.0.1' },
    upstream: { type: 'string' },
    // Same default as Gatehouse's max_connections_per_endpoint, so neither side gets a bigger pool.
    connections: { type: 'string', default: '128' },
  },
});
if (!args.upstream) {
  console.error('usage: reference-proxy.mjs --port N --upstream http://host:port');
  process.exit(2);
}

const origin = args.upstream;
const pool = new Pool(origin, { connections: Number(args.connections) });

// Hop-by-hop fields must not be forwarded (RFC 9110 §7.6.1), and undici rejects several of them
// outright (transfer-encoding, keep-alive, upgrade, expect). Names are matched lower-cased; the
// length pre-check keeps the common case (no hop-by-hop name) free of toLowerCase() allocations.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect',
]);
const HOP_LENGTHS = new Set([...HOP_BY_HOP].map((n) => n.length));
const isHopByHop = (name) => HOP_LENGTHS.has(name.length) && HOP_BY_HOP.has(name.toLowerCase());

// One small object per request instead of closures: the class shape stays monomorphic and the
// methods are shared. This is the legacy undici handler API, which Pool.dispatch() calls directly
// (the newer onRequestStart/onResponse* API goes through an UnwrapHandler adapter).
class ProxyHandler {
  constructor(res) {
    this.res = res;
    this.resume = null;
  }

  onConnect(_abort) {}

  onHeaders(statusCode, rawHeaders, resume) {
    // rawHeaders is a flat [name, value, ...] array of Buffers; writeHead accepts the same flat
    // shape with strings, so no header object is ever built. latin1 round-trips header bytes.
    const out = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i].toString('latin1');
      if (isHopByHop(name)) continue;
      out.push(name, rawHeaders[i + 1].toString('latin1'));
    }
    this.res.writeHead(statusCode, out);
    this.resume = resume;
    return true;
  }

  onData(chunk) {
    // Returning false pauses the upstream socket; resume on 'drain'. The listener is only added
    // when the client is actually slow, so the fast path costs no EventEmitter work.
    const ok = this.res.write(chunk);
    if (ok) return true;
    // A client that left (wrk cuts its connections at the end of every run) never drains: the
    // paused upstream connection would stay out of the pool for good, and after enough runs the
    // pool is empty and the proxy answers nothing. Keep reading and discard instead.
    if (this.res.destroyed) return true;
    this.res.once('drain', this.resume);
    return false;
  }

  onComplete(_trailers) {
    this.res.end();
  }

  onError(_err) {
    const res = this.res;
    if (!res.headersSent) {
      res.writeHead(502, ['content-length', '0']);
      res.end();
    } else {
      // Mid-body failure: the only honest signal left is to cut the client connection.
      res.destroy();
    }
  }
}

const server = http.createServer((req, res) => {
  const raw = req.rawHeaders; // already a flat [name, value, ...] array of strings
  const headers = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!isHopByHop(raw[i])) headers.push(raw[i], raw[i + 1]);
  }
  // An HTTP/1.1 request has a body only if it says so (RFC 9112 §6.3); streaming `req` otherwise
  // would make undici send an empty chunked body.
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch(
    { origin, path: req.url, method: req.method, headers, body: hasBody ? req : null },
    new ProxyHandler(res),
  );
});

server.listen(Number(args.port), args.address, () => {
  const { address, port } = server.address();
  console.log(`reference proxy listening on http://${address}:${port} -> ${origin}`);
});

const shutdown = () => {
  server.close();
  pool.close().finally(() => process.exit(0));
  // Keep-alive clients would hold server.close() open forever; the harness wants a prompt exit.
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
