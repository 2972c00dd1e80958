// The admin listener (127.0.0.1 by default). Subsystems contribute routes; this file only mounts
// them. JSON answers; unknown paths get the same problem+json shape as the data path.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { sendReply } from '../pipeline/reply.js';
import type { AdminToken } from './token.js';

export type AdminRoute = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface AdminServer {
  port(): number;
  listen(): Promise<void>;
  close(): Promise<void>;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Endpoints probes call without credentials. */
const OPEN = new Set(['/healthz', '/ready']);

/** `token`: admin.token (it follows reloads; see token.ts); without one, or while it is unset, no credential is asked for. */
export function createAdminServer(address: string, port: number, routes: ReadonlyMap<string, AdminRoute>, token?: Pick<AdminToken, 'required' | 'check'>): AdminServer {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (token?.required === true && !OPEN.has(path)) {
      if (!token.check(req.headers.authorization)) {
        req.resume();
        return sendReply(
          res,
          { status: 401, code: 'authn.missing_credentials', message: 'the admin API requires its bearer token', headers: { 'www-authenticate': 'Bearer realm="gatehouse-admin"' } },
          randomUUID(),
        );
      }
    }
    // Routes are keyed by path (GET and HEAD) or by "METHOD /path" for the few that take a body.
    const special = routes.get(`${req.method} ${path}`);
    if (special) return special(req, res);
    const route = routes.get(path);
    if (!route) {
      const allowed = [...routes.keys()].filter((k) => k.endsWith(` ${path}`)).map((k) => k.split(' ')[0]!);
      if (allowed.length) {
        return sendReply(res, { status: 405, code: 'request.method_not_allowed', message: `use ${allowed.join(', ')}`, headers: { allow: allowed.join(', ') } }, randomUUID());
      }
      return sendReply(res, { status: 404, code: 'route.not_found', message: 'unknown admin path' }, randomUUID());
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendReply(res, { status: 405, code: 'request.method_not_allowed', message: 'this admin endpoint is read-only', headers: { allow: 'GET, HEAD' } }, randomUUID());
    }
    route(req, res);
  });
  return {
    port: () => {
      const a = server.address();
      return typeof a === 'object' && a ? a.port : port;
    },
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: address }, () => {
          server.off('error', reject);
          resolve();
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
