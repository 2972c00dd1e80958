// H1Pool against real sockets: pool limits and reuse, keep-alive hints, response framings, request
// validation and framing, timeouts, aborts and close. (Every upstream-facing integration test of
// the suite also runs through it, for plain-http upstreams.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { H1Pool, nativeParserAvailable } from './h1-pool.js';

interface Outcome {
  status: number;
  headers: string[];
  body: string;
  error: (Error & { code?: string }) | undefined;
  abort: ((err?: Error) => void) | undefined;
}

/** One request through the pool, with a handler that records everything. */
function send(pool: H1Pool, opts: Partial<Dispatcher.DispatchOptions> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const o: Outcome = { status: 0, headers: [], body: '', error: undefined, abort: undefined };
    const handler = {
      onConnect(abort: (err?: Error) => void) {
        o.abort = abort;
      },
      onHeaders(status: number, headers: string[]) {
        if (status >= 200) {
          o.status = status;
          o.headers = headers;
        }
        return true;
      },
      onData(chunk: Buffer) {
        o.body += chunk.toString('latin1');
        return true;
      },
      onComplete() {
        resolve(o);
      },
      onError(err: Error) {
        o.error = err;
        resolve(o);
      },
    };
    pool.dispatch({ path: '/', method: 'GET', headers: ['host', 'up.test'], ...opts } as Dispatcher.DispatchOptions, handler as unknown as Dispatcher.DispatchHandler);
  });
}

interface RawServer {
  port: number;
  origin: string;
  /** Connections accepted so far, and the most open at once. */
  accepted: number;
  maxOpen: number;
  /** Everything each connection received, in order. */
  received: string[];
  close(): Promise<void>;
}

/** A raw TCP upstream: `onRequest` gets the socket and the request text each time a head is complete. */
async function rawServer(onRequest: (s: net.Socket, request: string, index: number) => void): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  let requests = 0;
  const st: RawServer = { port: 0, origin: '', accepted: 0, maxOpen: 0, received: [], close: async () => {} };
  const server = net.createServer((s) => {
    st.accepted++;
    sockets.add(s);
    st.maxOpen = Math.max(st.maxOpen, sockets.size);
    const conn = st.received.push('') - 1;
    let pending = '';
    s.on('data', (d) => {
      st.received[conn] += d.toString('latin1');
      pending += d.toString('latin1');
      // One request per complete head (bodies in these tests are declared and small, or chunked).
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) break;
        const head = pending.slice(0, end + 4);
        const len = /\r\ncontent-length: (\d+)/i.exec(head);
        const chunked = /\r\ntransfer-encoding: chunked/i.test(head);
        let total = end + 4 + (len ? Number(len[1]) : 0);
        if (chunked) {
          const fin = pending.indexOf('0\r\n\r\n', end + 4);
          if (fin === -1) break;
          total = fin + 5;
        }
        if (pending.length < total) break;
        const request = pending.slice(0, total);
        pending = pending.slice(total);
        onRequest(s, request, requests++);
      }
    });
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  st.port = (server.address() as net.AddressInfo).port;
  st.origin = `http://127.0.0.1:${st.port}`;
  st.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r()));
  };
  return st;
}

const OPTS = { connections: 4, keepAliveTimeout: 4000, keepAliveMaxTimeout: 60_000, connectTimeoutMs: 2000 };
const ok = (body = 'ok', extra = '') => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;

/** A raw upstream and a pool on it for the length of `fn`; both are always closed. */
async function withPool(
  onRequest: (s: net.Socket, request: string, index: number) => void,
  opts: Partial<typeof OPTS>,
  fn: (pool: H1Pool, srv: RawServer) => Promise<void>,
): Promise<void> {
  const srv = await rawServer(onRequest);
  const pool = new H1Pool(srv.origin, { ...OPTS, ...opts });
  try {
    await fn(pool, srv);
  } finally {
    await pool.close();
    await srv.close();
  }
}

test('the native parser is usable on this Node', () => {
  assert.equal(nativeParserAvailable, true);
});

test('at most `connections` sockets; further requests wait in order and all complete', async () => {
  await withPool((s, _r, i) => setTimeout(() => s.write(ok(`r${i}`)), 40), { connections: 2 }, async (pool, srv) => {
    const all = Array.from({ length: 6 }, (_, i) => send(pool, { path: `/${i}` }));
    assert.equal(pool.stats.running, 2);
    assert.equal(pool.stats.pending, 4);
    const out = await Promise.all(all);
    assert.deepEqual(out.map((o) => o.status), [200, 200, 200, 200, 200, 200]);
    assert.equal(srv.maxOpen, 2);
    assert.equal(srv.accepted, 2, 'the two connections were reused');
    const paths = srv.received.join('').match(/GET \/(\d) /g)!.map((m) => m.slice(5, 6));
    assert.deepEqual([...paths].sort(), ['0', '1', '2', '3', '4', '5']);
    assert.deepEqual(pool.stats, { connected: 2, free: 2, pending: 0, queued: 0, running: 0, size: 0 });
  });
});

test('keep-alive: reused by default; not after Connection: close or a Keep-Alive timeout within the margin', async () => {
  for (const [extra, expected] of [['', 1], ['connection: close\r\n', 2], ['keep-alive: timeout=2\r\n', 2], ['keep-alive: timeout=10\r\n', 1]] as const) {
    await withPool((s) => s.write(ok('x', extra)), {}, async (pool, srv) => {
      assert.equal((await send(pool)).status, 200);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal((await send(pool)).status, 200);
      assert.equal(srv.accepted, expected, `"${extra.trim()}": connections used`);
    });
  }
});

test('response framings: EOF-delimited body, chunked body, HEAD with a length, 204, 1xx before the answer', async () => {
  await withPool((s, req) => {
    if (req.startsWith('GET /eof')) s.end('HTTP/1.1 200 OK\r\n\r\nuntil the end');
    else if (req.startsWith('GET /chunked')) s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    else if (req.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n');
    else if (req.startsWith('GET /204')) s.write('HTTP/1.1 204 No Content\r\n\r\n');
    else s.write('HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal');
  }, { connections: 1 }, async (pool, srv) => {
    const eof = await send(pool, { path: '/eof' });
    assert.deepEqual([eof.status, eof.body, eof.error], [200, 'until the end', undefined]);
    const ch = await send(pool, { path: '/chunked' });
    assert.deepEqual([ch.status, ch.body], [200, 'abcde']);
    const head = await send(pool, { method: 'HEAD' });
    assert.deepEqual([head.status, head.body, head.error], [200, '', undefined]);
    const none = await send(pool, { path: '/204' });
    assert.deepEqual([none.status, none.body], [204, '']);
    const hints = await send(pool, { path: '/hints' });
    assert.deepEqual([hints.status, hints.body], [200, 'final']);
    // The EOF body cost its connection; chunked, HEAD, 204 and the 1xx exchange shared the next.
    assert.equal(srv.accepted, 2);
  });
});

test('the request head: validated fields, our framing, a Host when none is given', async () => {
  await withPool((s) => s.write(ok()), {}, async (pool, srv) => {
    for (const [label, headers] of [
      ['CRLF in a value', ['x-a', 'v\r\nx-injected: 1']],
      ['NUL in a value', ['x-a', 'v\u0000']],
      ['a name that is no token', ['x a', 'v']],
      ['transfer-encoding from the caller', ['transfer-encoding', 'chunked']],
      ['connection from the caller', ['connection', 'close']],
      ['a repeated host', ['host', 'a', 'host', 'b']],
      ['a bad content-length', ['content-length', '1, 1']],
    ] as const) {
      const o = await send(pool, { headers: [...headers] });
      assert.equal(o.error?.code, 'UND_ERR_INVALID_ARG', label);
    }
    const bad = await send(pool, { path: '/a b' });
    assert.equal(bad.error?.code, 'UND_ERR_INVALID_ARG', 'a space in the path');
    assert.equal(srv.received.join(''), '', 'nothing was written for any refused request');

    await send(pool, { headers: ['x-a', '1'] });
    assert.match(srv.received.join(''), new RegExp(`^GET / HTTP/1\\.1\\r\\nx-a: 1\\r\\nhost: 127\\.0\\.0\\.1:${srv.port}\\r\\n\\r\\n$`));
  });
});

test('request bodies: a Buffer gets its Content-Length, a stream without one goes chunked, a short stream fails', async () => {
  await withPool((s) => s.write(ok()), { connections: 1 }, async (pool, srv) => {
    await send(pool, { method: 'POST', body: Buffer.from('buffered') });
    await send(pool, { method: 'POST', body: Readable.from([Buffer.from('ab'), Buffer.from('cde')]) });
    const all = srv.received.join('');
    assert.match(all, /POST \/ HTTP\/1\.1\r\nhost: up\.test\r\ncontent-length: 8\r\n\r\nbuffered/);
    assert.match(all, /POST \/ HTTP\/1\.1\r\nhost: up\.test\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n/);
    const short = await send(pool, { method: 'POST', headers: ['host', 'up.test', 'content-length', '10'], body: Readable.from([Buffer.from('abc')]) });
    assert.equal(short.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
    const none = await send(pool, { method: 'POST', headers: ['host', 'up.test', 'content-length', '3'], body: null });
    assert.equal(none.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'a declared length without a body');
  });
});

test('timeouts: headers and body, with undici\'s codes; the connection is not reused', async () => {
  await withPool((s, req) => {
    if (req.startsWith('GET /stall-body')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
    // GET /silent: no answer at all.
  }, {}, async (pool, srv) => {
    const silent = await send(pool, { path: '/silent', headersTimeout: 150, bodyTimeout: 5000 });
    assert.equal(silent.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
    const stalled = await send(pool, { path: '/stall-body', headersTimeout: 5000, bodyTimeout: 150 });
    assert.equal(stalled.error?.code, 'UND_ERR_BODY_TIMEOUT');
    assert.equal(stalled.body, 'abc');
    assert.equal(pool.stats.connected, 0);
  });
});

test('errors: refused connection, garbage, an unrequested 101, an upstream that hangs up mid-body; an abort after completion is a no-op', async () => {
  const refused = new H1Pool('http://127.0.0.1:1', OPTS);
  assert.equal((await send(refused)).error?.code, 'ECONNREFUSED');
  await refused.close();

  await withPool((s, req) => {
    if (req.startsWith('GET /garbage')) s.write('NOT HTTP\r\n\r\n');
    else if (req.startsWith('GET /switch')) s.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: other\r\n\r\n');
    else if (req.startsWith('GET /cut')) s.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
    else s.write(ok('fine'));
  }, { connections: 1 }, async (pool, srv) => {
    assert.match(String((await send(pool, { path: '/garbage' })).error?.code), /^HPE_/);
    // Nobody asked to switch protocols: an unrequested 101 is a broken upstream, never a tunnel.
    const switched = await send(pool, { path: '/switch' });
    assert.deepEqual([switched.status, switched.error?.code], [0, 'UND_ERR_SOCKET']);
    const cut = await send(pool, { path: '/cut' });
    assert.equal(cut.error?.code, 'UND_ERR_SOCKET');
    const first = await send(pool);
    const second = send(pool);
    first.abort!(new Error('late'));
    const o = await second;
    assert.deepEqual([o.status, o.body, o.error], [200, 'fine', undefined], 'a stale abort does not touch the next exchange');
  });
});

test('an idle connection the upstream closed is dropped; the next request opens a new one', async () => {
  await withPool((s) => {
    s.write(ok());
    setTimeout(() => s.destroy(), 10);
  }, {}, async (pool, srv) => {
    assert.equal((await send(pool)).status, 200);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pool.stats.connected, 0);
    assert.equal((await send(pool)).status, 200);
    assert.equal(srv.accepted, 2);
  });
});

test('close() lets running and queued requests finish, then refuses new ones', async () => {
  await withPool((s) => setTimeout(() => s.write(ok()), 50), { connections: 1 }, async (pool) => {
    const a = send(pool);
    const b = send(pool);
    const closed = pool.close();
    const late = await send(pool);
    assert.equal(late.error?.code, 'UND_ERR_CLOSED');
    assert.deepEqual([(await a).status, (await b).status], [200, 200]);
    await closed;
    assert.deepEqual(pool.stats, { connected: 0, free: 0, pending: 0, queued: 0, running: 0, size: 0 });
  });
});

test('a reused connection the upstream drops under a request: GET goes again on a fresh one, POST fails', async () => {
  for (const [method, replayed] of [['GET', true], ['POST', false]] as const) {
    // The second request (the first on a reused connection) is met with a hang-up and no answer.
    await withPool((s, _r, i) => (i === 1 ? s.destroy() : s.write(ok(`r${i}`))), { connections: 1 }, async (pool, srv) => {
      assert.equal((await send(pool)).status, 200);
      const o = await send(pool, { method, body: method === 'POST' ? Buffer.from('once') : null });
      if (replayed) {
        assert.deepEqual([o.status, o.body, o.error], [200, 'r2', undefined], 'answered on a new connection');
        assert.equal(srv.accepted, 2);
      } else {
        assert.equal(o.error?.code !== undefined && ['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(o.error.code), true, String(o.error?.code));
        assert.equal(srv.accepted, 1, 'a POST is never sent twice');
      }
    });
  }
});

test('an answer before the whole upload: delivered, the rest of the body drained, the connection not reused', async () => {
  let answered = false;
  const server = net.createServer((s) => {
    s.once('data', () => {
      if (!answered) s.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 4\r\n\r\nbig!');
      else s.once('data', () => undefined);
      answered = true;
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const pool = new H1Pool(origin, { ...OPTS, connections: 1 });
  let pulled = 0;
  const body = new Readable({
    read() {
      // 20 chunks of 16 KiB, one per tick: still uploading when the answer comes.
      if (pulled++ === 20) this.push(null);
      else setImmediate(() => this.push(Buffer.alloc(16 * 1024, 120)));
    },
  });
  try {
    const o = await send(pool, { method: 'PUT', headers: ['host', 'up.test', 'content-length', String(20 * 16 * 1024)], body });
    assert.deepEqual([o.status, o.body, o.error], [413, 'big!', undefined]);
    await new Promise<void>((resolve) => (body.readableEnded ? resolve() : body.once('end', resolve)));
    assert.equal(pool.stats.connected, 0, 'the connection was dropped, not returned to the pool');
  } finally {
    await pool.close();
    await new Promise((r) => server.close(r));
  }
});

test('https: verified against the given CA, refused otherwise; later connections resume the TLS session', async () => {
  const { makeCa, issue } = await import('../../test/helpers/certs.js');
  const tlsMod = await import('node:tls');
  const ca = makeCa('H1Pool Test CA');
  const leaf = issue(ca, { subject: { CN: 'up.internal' }, sans: { dns: ['up.internal'], ip: ['127.0.0.1'] }, eku: 'server' });
  const reused: boolean[] = [];
  const server = tlsMod.createServer({ cert: leaf.cert, key: leaf.key }, (s) => {
    reused.push(s.isSessionReused());
    // One exchange per connection, so every request needs a new one.
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const trusted = new H1Pool(origin, { ...OPTS, tls: { ca: Buffer.from(ca.cert), servername: 'up.internal', rejectUnauthorized: true } });
  const other = makeCa('Someone Else');
  const untrusted = new H1Pool(origin, { ...OPTS, tls: { ca: Buffer.from(other.cert), servername: 'up.internal', rejectUnauthorized: true } });
  try {
    for (let i = 0; i < 3; i++) {
      const o = await send(trusted);
      assert.deepEqual([o.status, o.body, o.error], [200, 'ok', undefined]);
    }
    assert.equal(reused[0], false);
    assert.ok(reused.slice(1).some(Boolean), `a later connection resumed the session (${reused.join(',')})`);
    const bad = await send(untrusted);
    assert.match(String(bad.error?.code), /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/, String(bad.error?.code));
  } finally {
    await trusted.close();
    await untrusted.close();
    await new Promise((r) => server.close(r));
  }
});

test('https: a TLS handshake the upstream never answers ends in the connect timeout', async () => {
  // A plain TCP server that accepts and stays silent: the ClientHello gets no answer.
  const held: net.Socket[] = [];
  const server = net.createServer((sock) => {
    held.push(sock);
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const pool = new H1Pool(origin, { ...OPTS, connectTimeoutMs: 200, tls: { rejectUnauthorized: true } });
  try {
    const o = await send(pool, { headersTimeout: 10_000 });
    assert.equal(o.error?.code, 'UND_ERR_CONNECT_TIMEOUT');
    assert.equal(pool.stats.connected, 0);
  } finally {
    await pool.close();
    for (const sock of held) sock.destroy();
    await new Promise((r) => server.close(r));
  }
});
