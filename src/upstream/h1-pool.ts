// A keep-alive HTTP/1.1 connection pool for upstreams (http and https), parsing responses with
// Node's native llhttp binding (the HTTPParser that node:http itself uses) instead of undici.
//
// Why not undici here: in paired runs (BENCHMARKS.md, "What undici costs") the reference proxy
// with this kind of client measured 1.19x the same proxy with undici's Pool.dispatch(), and
// Gatehouse with it 0.995x the undici reference against 0.77x: undici's request object, queue
// and WebAssembly parser are most of the gap issue 2 measures. It keeps undici's dispatch
// contract (the legacy handler object: onConnect, onHeaders, onData, onComplete, onError) and
// its error codes, so proxy.ts, retries and mirrors drive either. A cluster with
// `http_client: undici`, and every cluster on a Node whose HTTPParser does not pass the self-check
// below, gets undici's Pool.
//
// What it does and does not do (tests: h1-pool.test.ts, and every upstream-facing test of the
// suite, which runs against it):
// - one request per connection at a time (no pipelining); at most `connections` sockets, further
//   requests wait in FIFO order;
// - the request head is written by us, with every field name and value checked as undici does
//   (a token name, no CR/LF/NUL in values) and framing fields refused: the body's framing is ours
//   (Content-Length for a Buffer, the caller's Content-Length or chunked coding for a stream);
// - responses: strict parsing (no lenient flags), 1xx passed to onHeaders and skipped, HEAD and
//   204/304 without a body, bodies ended by EOF, `Connection: close` honoured, `Keep-Alive:
//   timeout=N` respected with a margin so an idle connection is dropped before the upstream does;
// - timeouts: headers (from the end of the request) and body (idle time between chunks), with
//   undici's error codes; a connect timeout that covers the TLS handshake;
// - https: the cluster's CA, client certificate and servername (SNI only for names, as undici),
//   certificates verified unless `insecure_skip_verify`; the last TLS session is resumed by new
//   connections;
// - an idempotent request whose reused connection the upstream had already dropped (no answer
//   byte) goes once more on a fresh connection;
// - a connection whose request body was not fully written, or whose exchange failed, is never
//   reused.
import net from 'node:net';
import tls from 'node:tls';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/** undici's PoolStats fields (the admin API shows them for either pool). */
export interface UpstreamPoolStats {
  connected: number;
  free: number;
  pending: number;
  queued: number;
  running: number;
  size: number;
}

/** What the data path needs from a connection pool: undici's Pool, or H1Pool below. */
export interface UpstreamPool {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  readonly stats: UpstreamPoolStats;
}

/** TLS for https: origins (the cluster's `tls` settings). */
export interface H1PoolTls {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  servername?: string | undefined;
  rejectUnauthorized: boolean;
}

export interface H1PoolOptions {
  connections: number;
  /** Required for https: origins. */
  tls?: H1PoolTls | undefined;
  keepAliveTimeout: number;
  keepAliveMaxTimeout: number;
  connectTimeoutMs: number;
  /** Largest response head accepted (bytes). */
  maxHeaderSize?: number;
}

type ResolvedOptions = Required<Omit<H1PoolOptions, 'tls'>> & { tls: H1PoolTls | undefined };

/** The legacy handler contract, as proxy.ts and traffic.ts implement it. */
interface Handler {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(status: number, rawHeaders: string[], resume: () => void, statusText?: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
}

interface ParserInstance {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  free(): void;
  [k: number]: unknown;
  conn?: Connection;
}
interface ParserClass {
  new (): ParserInstance;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

/** Node's HTTPParser, if this Node exposes one that parses a canned response the way we expect. */
const HTTPParser: ParserClass | undefined = loadParser();

function loadParser(): ParserClass | undefined {
  try {
    const P = (createRequire(import.meta.url)('_http_common') as { HTTPParser?: ParserClass }).HTTPParser;
    if (typeof P !== 'function') return undefined;
    const p = new P();
    let status = 0;
    let body = '';
    let done = false;
    p.initialize(P.RESPONSE, {}, 0, 0);
    p[P.kOnHeadersComplete | 0] = (_a: number, _b: number, headers: string[], _m: unknown, _u: unknown, st: number) => {
      status = headers[0] === 'Content-Length' ? st : -1;
      return 0;
    };
    p[P.kOnBody | 0] = (b: Buffer) => {
      body += b.toString('latin1');
    };
    p[P.kOnMessageComplete | 0] = () => {
      done = true;
    };
    const canned = Buffer.from('HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', 'latin1');
    const r = p.execute(canned);
    p.close();
    return r === canned.length && status === 201 && body === 'ok' && done ? P : undefined;
  } catch {
    return undefined;
  }
}

/** True when this Node can run H1Pool (otherwise clusters use undici's Pool). */
export const nativeParserAvailable = HTTPParser !== undefined;

/** RFC 9110 tchar, as a table: a loop over a short name is cheaper than a regex call. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** A field value as undici accepts it: HTAB, visible ASCII, obs-text; no CR, LF, NUL or other CTL. */
function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}
/** The request target must not be able to break the request line. */
const BAD_TARGET = /[\x00-\x20\x7f]/;
/** undici's margin below the upstream's announced keep-alive timeout. */
const KEEP_ALIVE_MARGIN_MS = 2000;
const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

const codeError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

/** Lower-case names the request head must not carry from the caller (framing is ours). */
function framingField(name: string): string | undefined {
  const n = name.length;
  if (n !== 4 && n !== 6 && n !== 7 && n !== 10 && n !== 14 && n !== 17) return undefined;
  const lower = name.toLowerCase();
  switch (lower) {
    case 'host':
    case 'expect':
    case 'upgrade':
    case 'connection':
    case 'keep-alive':
    case 'content-length':
    case 'transfer-encoding':
      return lower;
  }
  return undefined;
}

interface Pending {
  opts: Dispatcher.DispatchOptions;
  handler: Handler;
}

export class H1Pool implements UpstreamPool {
  readonly #host: string;
  readonly #port: number;
  readonly #hostHeader: string;
  readonly #o: ResolvedOptions;
  readonly #idle: Connection[] = [];
  readonly #queue: Pending[] = [];
  #queueHead = 0;
  #connected = 0;
  #running = 0;
  #closed = false;
  #closing: { resolve: () => void; promise: Promise<void> } | undefined;
  #sweep: NodeJS.Timeout | undefined;

  constructor(origin: string, opts: H1PoolOptions) {
    const u = new URL(origin);
    const secure = u.protocol === 'https:';
    if (!secure && u.protocol !== 'http:') throw new Error(`H1Pool serves http: and https: origins, not ${u.protocol}`);
    if (secure && opts.tls === undefined) throw new Error('an https: origin needs TLS options');
    if (HTTPParser === undefined) throw new Error('this Node has no usable HTTPParser');
    this.#host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.#port = Number(u.port || (secure ? 443 : 80));
    this.#hostHeader = u.host;
    this.#o = { maxHeaderSize: DEFAULT_MAX_HEADER_SIZE, ...opts, tls: secure ? opts.tls : undefined };
    // SNI names a host, never an address (as undici: Node warns about an IP servername).
    this.#servername = opts.tls?.servername ?? (net.isIP(this.#host) === 0 ? this.#host : undefined);
  }

  readonly #servername: string | undefined;
  /** The last TLS session an upstream gave us: new connections resume it instead of a full handshake. */
  tlsSession: Buffer | undefined;

  get servername(): string | undefined {
    return this.#servername;
  }

  get stats(): UpstreamPoolStats {
    const pending = this.#queue.length - this.#queueHead;
    // undici's meanings: pending = not yet sent (here: waiting for a connection, as queued).
    return { connected: this.#connected, free: this.#idle.length, pending, queued: pending, running: this.#running, size: pending + this.#running };
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const h = handler as unknown as Handler;
    if (this.#closed) {
      queueMicrotask(() => h.onError(codeError('UND_ERR_CLOSED', 'the pool is closed')));
      return false;
    }
    const conn = this.#idle.pop() ?? (this.#connected < this.#o.connections ? this.#connect() : undefined);
    if (conn === undefined) {
      this.#queue.push({ opts, handler: h });
      return false;
    }
    this.#running++;
    conn.start(opts, h);
    return true;
  }

  /** Waits for queued and running requests, then closes every connection. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing.promise;
    this.#closed = true;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#closing = { resolve, promise };
    this.#maybeClosed();
    return promise;
  }

  #connect(): Connection {
    this.#connected++;
    this.#sweep ??= setInterval(() => this.#sweepIdle(), 1000).unref();
    return new Connection(this, this.#host, this.#port, this.#o);
  }

  get hostHeader(): string {
    return this.#hostHeader;
  }

  /** A connection finished its exchange and can carry another one. */
  released(conn: Connection): void {
    this.#running--;
    const next = this.#next();
    if (next !== undefined) {
      this.#running++;
      conn.start(next.opts, next.handler);
      return;
    }
    if (this.#closed) {
      conn.destroy();
      return;
    }
    conn.idleSince = Date.now();
    this.#idle.push(conn);
  }

  /** A connection went away (error, close, or not reusable); `busy` when it carried a request.
   * `replay`: its request goes again, first, on a new connection. */
  gone(conn: Connection, busy: boolean, replay?: Pending): void {
    this.#connected--;
    if (busy) this.#running--;
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
    // A queued request takes the freed slot on a new connection.
    const next = replay ?? this.#next();
    if (next !== undefined) {
      this.#running++;
      this.#connect().start(next.opts, next.handler);
      return;
    }
    this.#maybeClosed();
  }

  #next(): Pending | undefined {
    if (this.#queueHead === this.#queue.length) return undefined;
    const p = this.#queue[this.#queueHead]!;
    this.#queue[this.#queueHead++] = undefined as unknown as Pending;
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    }
    return p;
  }

  #maybeClosed(): void {
    if (!this.#closed || this.#running > 0 || this.#queueHead !== this.#queue.length) return;
    for (const c of this.#idle.splice(0)) c.destroy();
    if (this.#connected === 0) {
      if (this.#sweep !== undefined) clearInterval(this.#sweep);
      this.#closing?.resolve();
    }
  }

  #sweepIdle(): void {
    const now = Date.now();
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const c = this.#idle[i]!;
      if (now - c.idleSince >= c.keepAliveMs) c.destroy();
    }
  }
}

const enum Phase {
  Connecting,
  Idle,
  Headers,
  Body,
}

class Connection {
  readonly #pool: H1Pool;
  readonly #socket: net.Socket;
  readonly #parser: ParserInstance;
  readonly #o: ResolvedOptions;
  #handler: Handler | undefined;
  /** Counted as running by the pool: from start() until released or gone. */
  #busy = false;
  #phase = Phase.Connecting;
  #connected = false;
  #dead = false;
  /** The current request's body is still being written. */
  #sending = false;
  #bodyStream: Readable | undefined;
  #head = false;
  #reusable = true;
  #informational = false;
  #headersTimeout = 0;
  #bodyTimeout = 0;
  #deadline = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When #timer fires (Date.now() scale). */
  #timerAt = 0;
  #partial: string[] | undefined;
  #paused = false;
  /** The current request, kept for a replay on a fresh connection (see #fail). */
  #opts: Dispatcher.DispatchOptions | undefined;
  /** Exchanges started on this connection: above 1, it is a reused keep-alive connection. */
  #exchanges = 0;
  /** Some response byte arrived for the current exchange. */
  #answered = false;
  /** Inside parser.execute()/finish(): the native parser must not be freed under its own feet
   * (that is a use-after-free; Node's own client frees parsers only after execute returns). */
  #executing = false;
  #parserClosed = false;
  idleSince = 0;
  keepAliveMs: number;
  readonly #resume = (): void => {
    if (this.#paused && !this.#dead) {
      this.#paused = false;
      this.#socket.resume();
    }
  };

  constructor(pool: H1Pool, host: string, port: number, o: ResolvedOptions) {
    this.#pool = pool;
    this.#o = o;
    this.keepAliveMs = o.keepAliveTimeout;
    const t = o.tls;
    const s = (this.#socket =
      t === undefined
        ? net.connect({ host, port, noDelay: true })
        : tls.connect({
            host, port, servername: pool.servername, ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: t.rejectUnauthorized,
            ALPNProtocols: ['http/1.1'], session: pool.tlsSession,
          }));
    if (t !== undefined) {
      s.setNoDelay(true);
      s.on('session', (session: Buffer) => (pool.tlsSession = session));
    }
    const P = HTTPParser!;
    const p = (this.#parser = new P());
    p.initialize(P.RESPONSE, {}, o.maxHeaderSize, 0);
    p.conn = this;
    p[P.kOnHeaders | 0] = onParserHeaders;
    p[P.kOnHeadersComplete | 0] = onParserHeadersComplete;
    p[P.kOnBody | 0] = onParserBody;
    p[P.kOnMessageComplete | 0] = onParserMessageComplete;
    s.setTimeout(o.connectTimeoutMs);
    s.once(t === undefined ? 'connect' : 'secureConnect', () => {
      this.#connected = true;
      s.setTimeout(0);
    });
    s.on('timeout', () => {
      if (!this.#connected) this.#fail(codeError('UND_ERR_CONNECT_TIMEOUT', 'connect timeout'));
    });
    s.on('data', (d: Buffer) => this.#onData(d));
    s.on('end', () => this.#onEnd());
    s.on('error', (err) => this.#fail(err));
    s.on('close', () => this.#fail(codeError('UND_ERR_SOCKET', 'the upstream closed the connection')));
    s.on('drain', () => this.#bodyStream?.resume());
  }

  start(opts: Dispatcher.DispatchOptions, h: Handler): void {
    this.#handler = h;
    this.#opts = opts;
    this.#exchanges++;
    this.#answered = false;
    this.#busy = true;
    this.#reusable = true;
    this.#head = opts.method === 'HEAD';
    this.#headersTimeout = opts.headersTimeout ?? 300_000;
    this.#bodyTimeout = opts.bodyTimeout ?? 300_000;
    // Per request, so that a late abort can never reach a later exchange on this connection.
    h.onConnect((err?: Error) => {
      if (this.#handler === h) this.#fail(err ?? codeError('UND_ERR_ABORTED', 'request aborted'));
    });
    if (this.#handler !== h) return; // aborted inside onConnect
    const head = this.#buildHead(opts);
    if (typeof head !== 'string') return this.#fail(head);
    this.#phase = Phase.Headers;
    const body = opts.body as Buffer | Readable | string | null | undefined;
    const s = this.#socket;
    if (body == null) {
      this.#arm(this.#headersTimeout);
      s.write(head, 'latin1');
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      this.#arm(this.#headersTimeout);
      s.cork();
      s.write(head, 'latin1');
      if (body.length > 0) s.write(body);
      s.uncork();
    } else {
      // The head waits for the first body bytes (as with undici): a client body that turns out to
      // be malformed before its first chunk sends the upstream nothing at all (SECURITY.md row 6).
      // The headers timeout starts once the body is sent: a slow client is the server's request
      // timeout's business, not an upstream timeout.
      this.#streamBody(body, head);
    }
  }

  /** Set by #buildHead: the caller's Content-Length, or -1 (a stream body then goes chunked). */
  #declaredLength = -1;

  #buildHead(opts: Dispatcher.DispatchOptions): string | Error {
    const path = opts.path;
    if (BAD_TARGET.test(path) || path.length === 0) return codeError('UND_ERR_INVALID_ARG', 'invalid request path');
    const method = opts.method;
    if (!isToken(method)) return codeError('UND_ERR_INVALID_ARG', 'invalid method');
    let head = `${method} ${path} HTTP/1.1\r\n`;
    let host: string | undefined;
    let length = -1;
    const hs = opts.headers as string[] | null | undefined;
    if (hs != null) {
      if (!Array.isArray(hs)) return codeError('UND_ERR_INVALID_ARG', 'headers must be a flat array');
      for (let i = 0; i < hs.length; i += 2) {
        const name = hs[i]!;
        const value = hs[i + 1]!;
        if (typeof name !== 'string' || typeof value !== 'string' || !isToken(name) || !isFieldValue(value)) {
          return codeError('UND_ERR_INVALID_ARG', `invalid header ${typeof name === 'string' ? name : ''}`);
        }
        const special = framingField(name);
        if (special !== undefined) {
          if (special === 'host') {
            if (host !== undefined) return codeError('UND_ERR_INVALID_ARG', 'duplicate host header');
            host = value;
          } else if (special === 'content-length') {
            if (length !== -1 || !/^[0-9]{1,15}$/.test(value)) return codeError('UND_ERR_INVALID_ARG', 'invalid content-length header');
            length = Number(value);
            continue;
          } else {
            // Framing and connection management belong to this client (undici refuses these too).
            return codeError('UND_ERR_INVALID_ARG', `invalid ${special} header`);
          }
        }
        head += `${name}: ${value}\r\n`;
      }
    }
    if (host === undefined) head += `host: ${this.#pool.hostHeader}\r\n`;
    const body = opts.body as Buffer | Readable | string | null | undefined;
    this.#declaredLength = length;
    if (body == null) {
      // A declared length without a body would leave the upstream waiting for bytes never sent.
      if (length > 0) return codeError('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'content-length without a body');
      // As undici: methods that expect a payload say it is empty (some servers answer 411 otherwise).
      if (length === 0 || method === 'POST' || method === 'PUT' || method === 'PATCH') head += 'content-length: 0\r\n';
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const n = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      if (length !== -1 && length !== n) return codeError('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'content-length does not match the body');
      head += `content-length: ${n}\r\n`;
    } else if (length !== -1) {
      head += `content-length: ${length}\r\n`;
    } else {
      head += 'transfer-encoding: chunked\r\n';
    }
    return `${head}\r\n`;
  }

  #streamBody(body: Readable, head: string): void {
    this.#sending = true;
    this.#bodyStream = body;
    const s = this.#socket;
    let written = 0;
    let pendingHead: string | undefined = head;
    const declared = this.#declaredLength;
    const chunked = declared === -1;
    const onData = (chunk: Buffer): void => {
      if (this.#dead || this.#bodyStream !== body) return;
      written += chunk.length;
      if (!chunked && written > declared) {
        cleanup();
        this.#fail(codeError('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'the request body is longer than its content-length'));
        return;
      }
      if (chunk.length === 0) return;
      let ok: boolean;
      s.cork();
      if (pendingHead !== undefined) {
        s.write(pendingHead, 'latin1');
        pendingHead = undefined;
      }
      if (chunked) {
        s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        s.write(chunk);
        ok = s.write('\r\n', 'latin1');
      } else {
        ok = s.write(chunk);
      }
      s.uncork();
      if (!ok) body.pause();
    };
    const onEnd = (): void => {
      cleanup();
      if (this.#dead) return;
      if (!chunked && written !== declared) {
        this.#fail(codeError('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'the request body is shorter than its content-length'));
        return;
      }
      s.cork();
      if (pendingHead !== undefined) s.write(pendingHead, 'latin1');
      if (chunked) s.write('0\r\n\r\n', 'latin1');
      s.uncork();
      this.#sending = false;
      this.#bodyStream = undefined;
      // (An answer that came before the whole body destroyed the connection: see messageComplete.)
      if (this.#phase === Phase.Headers) this.#arm(this.#headersTimeout);
    };
    const onError = (err: Error): void => {
      cleanup();
      this.#fail(err);
    };
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
  }

  #buildKeepAlive(headers: string[]): void {
    for (let i = 0; i < headers.length; i += 2) {
      const n = headers[i]!;
      if (n.length !== 10 || n.toLowerCase() !== 'keep-alive') continue;
      const m = /timeout\s*=\s*(\d+)/i.exec(headers[i + 1]!);
      if (m === null) continue;
      const hinted = Number(m[1]) * 1000 - KEEP_ALIVE_MARGIN_MS;
      this.keepAliveMs = Math.min(hinted, this.#o.keepAliveMaxTimeout);
    }
  }

  /** Parser callback: a response head. Returns 1 to tell llhttp the response has no body (HEAD). */
  headersComplete(headers: string[] | undefined, status: number, statusText: string, upgrade: boolean, keepAlive: boolean): number {
    const h = this.#handler;
    if (headers === undefined) {
      headers = this.#partial ?? [];
      this.#partial = undefined;
    }
    if (h === undefined || upgrade) {
      this.#fail(codeError('UND_ERR_SOCKET', upgrade ? 'the upstream switched protocols' : 'a response without a request'));
      return 1;
    }
    this.#informational = status < 200;
    if (this.#informational) {
      h.onHeaders(status, headers, this.#resume, statusText);
      return 0;
    }
    if (!keepAlive) this.#reusable = false;
    else this.#buildKeepAlive(headers);
    this.#phase = Phase.Body;
    this.#arm(this.#bodyTimeout);
    if (h.onHeaders(status, headers, this.#resume, statusText) === false) this.#pause();
    return this.#head ? 1 : 0;
  }

  partialHeaders(headers: string[]): void {
    (this.#partial ??= []).push(...headers);
  }

  body(chunk: Buffer): void {
    const h = this.#handler;
    if (h === undefined) return;
    this.#deadline = Date.now() + this.#bodyTimeout;
    if (h.onData(chunk) === false) this.#pause();
  }

  messageComplete(): void {
    if (this.#informational) {
      this.#informational = false;
      return;
    }
    const h = this.#handler;
    if (h === undefined) return;
    this.#handler = undefined;
    this.#opts = undefined;
    this.#phase = Phase.Idle;
    this.#disarm();
    if (this.#sending) {
      // The upstream answered before the whole request body went out: the connection is left in
      // an unknown state, so it is never reused.
      this.#reusable = false;
    }
    h.onComplete(null);
    if (this.#dead) return;
    if (!this.#reusable || this.keepAliveMs <= 0) {
      this.destroy();
      return;
    }
    this.#release();
  }

  #release(): void {
    this.#busy = false;
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
    this.#pool.released(this);
  }

  #pause(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #onData(d: Buffer): void {
    if (this.#dead) return;
    if (this.#handler === undefined && this.#phase === Phase.Idle) {
      // Bytes nobody asked for: the connection is out of step; drop it.
      this.#fail(codeError('UND_ERR_SOCKET', 'the upstream sent data without a request'));
      return;
    }
    this.#answered = true;
    this.#executing = true;
    const r = this.#parser.execute(d);
    this.#executing = false;
    if (this.#dead) this.#closeParser();
    else if (r instanceof Error) {
      // Reported on the next tick, as undici does: body bytes the handler relayed in this same
      // pass are corked on the client socket until then, and must reach the client before the
      // cut that signals the truncation (SECURITY.md row 24).
      this.#socket.pause();
      const err = Object.assign(r, { code: (r as Error & { code?: string }).code ?? 'HPE_INVALID' });
      process.nextTick(() => this.#fail(err));
    }
  }

  #closeParser(): void {
    if (this.#executing || this.#parserClosed) return;
    this.#parserClosed = true;
    this.#parser.close();
  }

  #onEnd(): void {
    if (this.#dead) return;
    // A body delimited by the connection's end completes here.
    this.#executing = true;
    const r = this.#parser.finish();
    this.#executing = false;
    if (this.#dead) return this.#closeParser();
    // The message was cut short (llhttp's HPE_INVALID_EOF_STATE): undici's code for it.
    if (r instanceof Error) return this.#fail(codeError('UND_ERR_SOCKET', 'the upstream closed the connection mid-response'));
    this.#fail(codeError('UND_ERR_SOCKET', 'the upstream closed the connection'));
  }

  /** A new deadline `ms` from now. A timer that fires before it stays (it re-arms for the rest
   * when it fires); one that would fire after it is replaced. */
  #arm(ms: number): void {
    const now = Date.now();
    this.#deadline = now + ms;
    if (this.#timer !== undefined && this.#timerAt <= this.#deadline) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(onConnectionTimer, ms, this);
    this.#timerAt = this.#deadline;
  }

  #disarm(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** The timer fired: time out, or wait for the rest of a deadline that moved (body chunks). */
  timer(): void {
    this.#timer = undefined;
    if (this.#dead || this.#handler === undefined) return;
    const left = this.#deadline - Date.now();
    if (left > 0) {
      this.#arm(left);
      return;
    }
    if (this.#paused) {
      // A paused response waits for the client, not for the upstream.
      this.#arm(this.#bodyTimeout);
      return;
    }
    this.#fail(this.#phase === Phase.Headers
      ? codeError('UND_ERR_HEADERS_TIMEOUT', 'the upstream did not send a response head in time')
      : codeError('UND_ERR_BODY_TIMEOUT', 'the upstream response body stalled'));
  }

  #fail(err: Error): void {
    if (this.#dead) return;
    const h = this.#handler;
    this.#handler = undefined;
    const busy = this.#teardown();
    const opts = this.#opts;
    if (h !== undefined && opts !== undefined && this.#replayable(err, opts)) {
      // A reused keep-alive connection the upstream had already closed (its FIN crossed our
      // request): nothing was answered and nothing can have been processed, so the request goes
      // once more on a fresh connection (as Go's transport does), instead of a 502.
      this.#pool.gone(this, busy, { opts, handler: h });
      return;
    }
    this.#pool.gone(this, busy);
    h?.onError(err);
  }

  /** Safe to send again: a reused connection, no response byte, a connection-level error, an
   * idempotent method, and a body we still hold (none, or a Buffer). */
  #replayable(err: Error & { code?: string }, opts: Dispatcher.DispatchOptions): boolean {
    if (this.#exchanges < 2 || this.#answered || this.#phase !== Phase.Headers) return false;
    const code = err.code;
    if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET' && code !== 'EPIPE') return false;
    const m = opts.method;
    if (m !== 'GET' && m !== 'HEAD' && m !== 'OPTIONS' && m !== 'PUT' && m !== 'DELETE') return false;
    return opts.body == null || Buffer.isBuffer(opts.body) || typeof opts.body === 'string';
  }

  destroy(): void {
    if (this.#dead) return;
    this.#pool.gone(this, this.#teardown());
  }

  /** Closes the socket and the parser; returns whether the pool counted this connection as running. */
  #teardown(): boolean {
    this.#dead = true;
    this.#disarm();
    const body = this.#bodyStream;
    this.#bodyStream = undefined;
    // A request body no longer sent (a failure, or an answer that came before the whole upload)
    // is drained, so its producer (the client) is not left stalled.
    if (body !== undefined && !body.destroyed) body.resume();
    this.#socket.destroy();
    this.#closeParser();
    const busy = this.#busy;
    this.#busy = false;
    return busy;
  }
}

function onConnectionTimer(conn: Connection): void {
  conn.timer();
}
function onParserHeaders(this: ParserInstance, headers: string[]): void {
  this.conn!.partialHeaders(headers);
}
function onParserHeadersComplete(
  this: ParserInstance, _major: number, _minor: number, headers: string[] | undefined, _method: unknown, _url: unknown,
  status: number, statusText: string, upgrade: boolean, keepAlive: boolean,
): number {
  return this.conn!.headersComplete(headers, status, statusText, upgrade, keepAlive);
}
function onParserBody(this: ParserInstance, chunk: Buffer): void {
  this.conn!.body(chunk);
}
function onParserMessageComplete(this: ParserInstance): void {
  this.conn!.messageComplete();
}
