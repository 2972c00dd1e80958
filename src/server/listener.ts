// Client-facing sockets: node:http / node:https servers with the limits of SECURITY.md applied
// (Node's own defaults are not enough: it drops header fields past 2000 silently and checks slow
// headers only every 30 s). Errors the HTTP parser finds are answered here, as problem details.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ListenerConfig } from '../config/schema.js';
import type { ResolvedLimits } from '../config/snapshot.js';
import type { Reply } from '../pipeline/filter.js';
import { writeRawReply, sendReply } from '../pipeline/reply.js';
import { handleRequest, type RequestServices } from './handle-request.js';
import { handleUpgrade } from './upgrade.js';
import { unmapIp } from './cidr.js';

export interface Listener {
  readonly name: string;
  readonly server: http.Server;
  /** The bound port (useful with port 0). */
  port(): number;
  address(): string;
  listen(): Promise<void>;
  /** Stop accepting; resolves when every connection is gone or the deadline passed. */
  drain(deadlineMs: number): Promise<void>;
}

/** Node's parser error codes → the status SECURITY.md asks for. */
function parserErrorReply(err: Error & { code?: string }): Reply {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'request.headers_too_large', message: 'the header section is too large', close: true };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request.timeout', message: 'the request was not received in time', close: true };
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
    case 'HPE_INVALID_EOF_STATE':
      return { status: 400, code: 'request.bad_framing', message: 'the request framing is invalid', close: true };
    case 'HPE_INVALID_VERSION':
      return { status: 505, code: 'request.version_not_supported', message: 'only HTTP/1.0 and HTTP/1.1 are supported here', close: true };
    default:
      return { status: 400, code: 'request.bad_request', message: 'the request could not be parsed', close: true };
  }
}

export function createListener(cfg: ListenerConfig, baseDir: string, limits: ResolvedLimits, svc: RequestServices): Listener {
  const scheme = cfg.tls ? 'https' : 'http';
  const options: http.ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    // Node's default is to accept and carry on; we want the request refused (RFC 9112 2.2).
    insecureHTTPParser: false,
    requireHostHeader: true,
    joinDuplicateHeaders: false,
    keepAliveTimeout: limits.idleTimeoutMs,
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks header/request timeouts on this interval; its default (30 s) lets slowloris
    // clients hold sockets far past the configured limits.
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4))),
  };
  const server = cfg.tls
    ? https.createServer({ ...options, cert: readFileSync(resolveFrom(baseDir, cfg.tls.cert_file)), key: readFileSync(resolveFrom(baseDir, cfg.tls.key_file)) })
    : http.createServer(options);
  // One more than the limit so that "too many fields" is visible instead of silently truncated.
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  server.maxRequestsPerSocket = limits.maxRequestsPerConnection;
  server.maxConnections = limits.maxConnections;
  const listenerInfo = { scheme, port: cfg.port } as const;
  const info = { scheme: scheme as 'http' | 'https', port: cfg.port };

  server.on('request', (req, res) => {
    if (svc.draining()) res.shouldKeepAlive = false;
    handleRequest(req, res, info, svc);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => handleUpgrade(req, socket, head, info, svc));
  server.on('connect', (_req: http.IncomingMessage, socket: Socket) => {
    writeRawReply(socket, { status: 405, code: 'request.method_not_allowed', message: 'CONNECT is not allowed' }, randomUUID());
  });
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    sendReply(res, { status: 417, code: 'request.expectation_failed', message: 'only Expect: 100-continue is supported', close: true }, randomUUID());
    req.socket.destroySoon();
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A response already started on this socket (error mid-body): a cut is the only safe answer.
    const inFlight = (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    writeRawReply(socket, parserErrorReply(err), randomUUID());
  });

  // Per-IP connection cap: one address cannot take all of max_connections.
  const perIp = new Map<string, number>();
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
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
  void listenerInfo;

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

function resolveFrom(baseDir: string, file: string): string {
  return file.startsWith('/') ? file : `${baseDir}/${file}`;
}
