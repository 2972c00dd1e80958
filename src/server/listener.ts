// Client-facing sockets: node:http / node:https servers with the limits of SECURITY.md applied
// (Node's own defaults are not enough: it drops header fields past 2000 silently and checks slow
// headers only every 30 s). Errors the HTTP parser finds are answered here, as problem details.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { requestId } from './request-id.js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ListenerConfig } from '../config/schema.js';
import type { ResolvedLimits } from '../config/snapshot.js';
import type { Reply } from '../pipeline/filter.js';
import { writeRawReply, sendReply } from '../pipeline/reply.js';
import { exchangeClosed, handleRequest, type RequestServices } from './handle-request.js';
import { CLOSE_FORWARDED, CONN, GatehouseResponse } from './response.js';
import { handleUpgrade } from './upgrade.js';
import { unmapIp } from './cidr.js';

export interface Listener {
  readonly name: string;
  readonly server: http.Server;
  /** The bound port (useful with port 0). */
  port(): number;
  /** Open client connections right now. */
  connections(): number;
  address(): string;
  listen(): Promise<void>;
  /** Stop accepting; resolves when every connection is gone or the deadline passed. */
  drain(deadlineMs: number): Promise<void>;
}

/** Node's parser error codes → the status SECURITY.md asks for. */
function parserErrorReply(err: Error & { code?: string; reason?: string }): Reply {
  const reason = err.reason ?? '';
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'request.headers_too_large', message: 'the header section is too large', close: true };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request.timeout', message: 'the request was not received in time', close: true };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      // Row 6 / resource table: an oversize chunk line is a 413, not a generic framing error.
      return { status: 413, code: 'request.bad_framing', message: 'a chunk line is too long', close: true };
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_EOF_STATE':
      return { status: 400, code: 'request.bad_framing', message: 'the request framing is invalid', close: true };
    case 'HPE_STRICT':
    case 'HPE_CR_EXPECTED':
    case 'HPE_LF_EXPECTED':
      // The same codes serve header lines and chunk lines; llhttp's reason tells them apart.
      if (/chunk/i.test(reason)) return { status: 400, code: 'request.bad_framing', message: 'the request framing is invalid', close: true };
      break;
    case 'HPE_INVALID_VERSION':
      // Only a well-formed but unsupported version is a 505; "HTTP/1.1 \r\n" or a bare LF after
      // the version ("Expected CRLF after version") is a malformed request line.
      if (/^Invalid (HTTP|major|minor) version/.test(reason)) {
        return { status: 505, code: 'request.version_not_supported', message: 'only HTTP/1.0 and HTTP/1.1 are supported here', close: true };
      }
      break;
    case 'HPE_PAUSED_H2_UPGRADE':
      // The HTTP/2 connection preface (PRI * HTTP/2.0) sent to an HTTP/1.1 listener.
      return { status: 505, code: 'request.version_not_supported', message: 'only HTTP/1.0 and HTTP/1.1 are supported here', close: true };
  }
  return { status: 400, code: 'request.bad_request', message: 'the request could not be parsed', close: true };
}

const VERSION_NOT_SUPPORTED: Reply = {
  status: 505,
  code: 'request.version_not_supported',
  message: 'only HTTP/1.0 and HTTP/1.1 are supported here',
  close: true,
};

/** Per-connection bookkeeping so a parser error is answered in order (row 5). */
interface ConnState {
  /** Responses started on this connection and not yet closed. */
  pending: number;
  /** The most recent request the parser produced. */
  last: http.IncomingMessage | undefined;
  /** A parser error is waiting for earlier responses to finish. */
  onIdle: (() => void) | undefined;
  /** A parser error was answered (or is queued): later errors on this socket are ignored. */
  rejected: boolean;
  /** An answer on this connection ends it (refused framing, `Connection: close`): requests the
   * parser still finds after it are never processed (RFC 9112 9.6; rows 1-4). */
  closing: boolean;
  /** Requests seen on this connection. */
  requests: number;
}

/** The connection's ConnState, on its socket. */
const CONN_STATE = Symbol('gatehouse.connState');

type ResponseWithConn = GatehouseResponse & { [CONN]: ConnState | undefined };

/** Shared by every response (no closure per request): a parser error queued behind earlier
 * responses is answered once the last of them closed. */
function onResponseClosed(this: ResponseWithConn): void {
  const st = this[CONN];
  if (st === undefined) return;
  this[CONN] = undefined;
  if (--st.pending === 0 && st.onIdle !== undefined) {
    const f = st.onIdle;
    st.onIdle = undefined;
    f();
  }
  exchangeClosed(this);
}

export function createListener(cfg: ListenerConfig, baseDir: string, limits: ResolvedLimits, svc: RequestServices): Listener {
  const scheme = cfg.tls ? 'https' : 'http';
  const options: http.ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    // Node's default is to accept and carry on; we want the request refused (RFC 9112 2.2).
    insecureHTTPParser: false,
    // Host is checked by our own header scan, which answers with a problem body; Node's check
    // would answer a bare 400 of its own before we see the request.
    requireHostHeader: false,
    joinDuplicateHeaders: false,
    keepAliveTimeout: limits.idleTimeoutMs,
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks header/request timeouts on this interval; its default (30 s) lets slowloris
    // clients hold sockets far past the configured limits.
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4))),
  };
  const server = cfg.tls
    ? https.createServer({ ...options, ServerResponse: GatehouseResponse, ...tlsOptions(cfg.tls, baseDir) })
    : http.createServer({ ...options, ServerResponse: GatehouseResponse });
  const clientCerts = cfg.tls !== undefined && (cfg.tls.client_auth ?? 'none') !== 'none';
  // One more than the limit so that "too many fields" is visible instead of silently truncated.
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  server.maxRequestsPerSocket = limits.maxRequestsPerConnection;
  server.maxConnections = limits.maxConnections;
  const info = { scheme: scheme as 'http' | 'https', port: cfg.port };

  // Answers forced before the pipeline runs still get a request id and an access-log line, so
  // every refusal a client sees can be found in the log.
  const refuseRaw = (socket: Socket, reply: Reply, method: string | undefined) => {
    const id = requestId();
    writeRawReply(socket, reply, id);
    svc.accessLog.writeRefusal({ id, clientIp: unmapIp(socket.remoteAddress ?? ''), method, status: reply.status, code: reply.code });
    svc.metrics?.refusal(reply.status);
  };
  const refuseOnResponse = (req: http.IncomingMessage, res: http.ServerResponse, reply: Reply) => {
    const id = requestId();
    sendReply(res, reply, id);
    svc.accessLog.writeRefusal({ id, clientIp: unmapIp(req.socket.remoteAddress ?? ''), method: req.method, status: reply.status, code: reply.code });
    svc.metrics?.refusal(reply.status);
  };
  // Kept on the socket itself (one property added per connection) rather than in a WeakMap: the
  // lookup runs on every request, and an ephemeron-table lookup costs more than a property load.
  const connState = (socket: Socket): ConnState => {
    const s = socket as Socket & { [CONN_STATE]?: ConnState };
    let st = s[CONN_STATE];
    if (st === undefined) {
      st = { pending: 0, last: undefined, onIdle: undefined, rejected: false, closing: false, requests: 0 };
      s[CONN_STATE] = st;
    }
    return st;
  };

  server.on('request', (req, res) => {
    const st = connState(req.socket);
    // Bytes after a request whose answer closes the connection (a refused body may be the
    // "request" that follows it) are not a request of their own: leave it unanswered, the
    // connection closes after the earlier answer.
    if (st.closing) return;
    st.pending++;
    st.last = req;
    (res as ResponseWithConn)[CONN] = st;
    (res as ResponseWithConn)[CLOSE_FORWARDED] = true;
    res.on('close', onResponseClosed);
    if (svc.draining()) res.shouldKeepAlive = false;
    // Node's maxRequestsPerSocket only adds `Connection: close` to the last answer and leaves the
    // socket open until the idle timeout; with keep-alive off the answer also closes it.
    if (++st.requests >= limits.maxRequestsPerConnection && limits.maxRequestsPerConnection > 0) res.shouldKeepAlive = false;
    // llhttp accepts HTTP/2.0 (for the PRI preface) and version-less HTTP/0.9 request lines and
    // hands them on as requests; neither may be proxied as HTTP/1.1 (row 8).
    if (req.httpVersionMajor !== 1) {
      st.closing = true;
      res.once('finish', () => req.socket.destroySoon());
      refuseOnResponse(req, res, VERSION_NOT_SUPPORTED);
      return;
    }
    handleRequest(req, res, info, svc);
    // Refusals that close the connection are decided synchronously (header scan, Host, path,
    // GET with a body, declared body too large); so is a client's `Connection: close`.
    if (!res.shouldKeepAlive) st.closing = true;
  });
  const onUpgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (req.httpVersionMajor !== 1) {
      socket.on('error', () => socket.destroy());
      refuseRaw(socket, VERSION_NOT_SUPPORTED, req.method);
      return;
    }
    handleUpgrade(req, socket, head, info, svc);
  };
  // Node detaches its parser from a connection once an 'upgrade' listener takes a request, so
  // the connection cannot carry another request. Listen only while some route passes WebSocket
  // upgrades: otherwise `Upgrade: h2c` and friends are served as ordinary requests on a
  // connection that stays usable (row 14). Re-checked on every new connection (config reload).
  const syncUpgradeListener = () => {
    const want = svc.snapshot().websocket;
    const has = server.listenerCount('upgrade') > 0;
    if (want && !has) server.on('upgrade', onUpgrade);
    else if (!want && has) server.off('upgrade', onUpgrade);
  };
  syncUpgradeListener();
  server.on('connect', (req: http.IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    refuseRaw(socket, { status: 405, code: 'request.method_not_allowed', message: 'CONNECT is not allowed', close: true }, req.method);
  });
  const expectationFailed = (req: http.IncomingMessage, res: http.ServerResponse) => {
    connState(req.socket).closing = true;
    refuseOnResponse(req, res, { status: 417, code: 'request.expectation_failed', message: 'only Expect: 100-continue is supported', close: true });
    req.socket.destroySoon();
  };
  server.on('checkExpectation', expectationFailed);
  // Node takes any Expect value that contains the token 100-continue ("100-continue, foo") as
  // 100-continue; only the exact expectation is met, anything else is a 417.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.headers.expect?.trim().toLowerCase() !== '100-continue') return expectationFailed(req, res);
    res.writeContinue();
    server.emit('request', req, res);
  });
  server.on('clientError', (err: Error & { code?: string; reason?: string }, socket: Socket) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const st = connState(socket);
    // llhttp stays in its error state and reports again on every later read: answer once.
    if (st.rejected) return;
    st.rejected = true;
    const reply = () => {
      if (socket.destroyed) return;
      refuseRaw(socket, parserErrorReply(err), undefined);
      // Close once the answer is flushed, so an upstream exchange still tied to this
      // connection is aborted now rather than at the next timeout.
      if (!socket.destroyed) socket.once('finish', () => socket.destroy());
    };
    const last = st.last;
    if (last !== undefined && !last.complete) {
      // The error is inside the body of the request in flight (chunk framing, body timeout).
      // If its response already started, a cut is the only safe answer.
      const inFlight = (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
      if (inFlight?.headersSent) {
        socket.destroy();
        return;
      }
      reply();
      return;
    }
    // Bytes after an answer that closes the connection are not a request: no second answer, the
    // connection ends after the first one.
    if (st.closing && st.pending > 0) return;
    // The error is in a later pipelined request: earlier requests were complete and are answered
    // first, in order; then the error, then the connection closes (row 5).
    if (st.pending > 0) st.onIdle = reply;
    else reply();
  });

  // Per-IP connection cap: one address cannot take all of max_connections.
  const perIp = new Map<string, number>();
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    // The mtls filter caches a connection's client certificate; a TLS 1.2 renegotiation could
    // swap it under the cache (and renegotiation is a CPU sink anyway).
    if (clientCerts) (socket as TLSSocket).disableRenegotiation();
    syncUpgradeListener();
    const ip = unmapIp(socket.remoteAddress ?? '');
    const n = (perIp.get(ip) ?? 0) + 1;
    if (n > limits.maxConnectionsPerIp) {
      socket.destroy();
      return;
    }
    perIp.set(ip, n);
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
  };
  server.on(cfg.tls ? 'secureConnection' : 'connection', onConnection);

  const host = cfg.address ?? '127.0.0.1';
  const name = cfg.name ?? `${host}:${cfg.port}`;
  return {
    name,
    server,
    port: () => {
      const a = server.address();
      return typeof a === 'object' && a ? a.port : cfg.port;
    },
    address: () => host,
    connections: () => sockets.size,
    listen: () =>
      new Promise((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        server.once('error', onError);
        server.listen({ port: cfg.port, host }, () => {
          server.off('error', onError);
          resolve();
        });
      }),
    drain: (deadlineMs) =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Keep-alive sockets that finish their last response become idle: close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        const hard = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, deadlineMs);
        hard.unref();
        server.once('close', () => {
          clearInterval(sweep);
          clearTimeout(hard);
        });
      }),
  };
}

/**
 * Certificate, key and client-certificate options. `request` asks for a certificate and verifies
 * it, but accepts the connection either way (socket.authorized tells the mtls filter); `require`
 * fails the handshake. Client certificates are verified against client_ca_file only: Node would
 * otherwise use the public roots, and any certificate from any public CA would be "authorized".
 */
function tlsOptions(tls: NonNullable<ListenerConfig['tls']>, baseDir: string): https.ServerOptions {
  const base = { cert: readPem(baseDir, tls.cert_file, 'tls.cert_file'), key: readPem(baseDir, tls.key_file, 'tls.key_file') };
  const mode = tls.client_auth ?? 'none';
  if (mode === 'none') {
    if (tls.client_ca_file !== undefined) throw new Error('listener tls.client_ca_file is set but tls.client_auth is none: set client_auth to request or require');
    return base;
  }
  if (tls.client_ca_file === undefined) throw new Error(`listener tls.client_auth ${mode} needs tls.client_ca_file`);
  return { ...base, ca: readPem(baseDir, tls.client_ca_file, 'tls.client_ca_file'), requestCert: true, rejectUnauthorized: mode === 'require' };
}

function readPem(baseDir: string, file: string, key: string): Buffer {
  try {
    return readFileSync(resolveFrom(baseDir, file));
  } catch (err) {
    throw new Error(`listener ${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function resolveFrom(baseDir: string, file: string): string {
  return file.startsWith('/') ? file : `${baseDir}/${file}`;
}
