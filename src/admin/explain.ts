// POST /explain on the admin listener: the `gatehouse explain` answer for the running config.
// Body: {"request": {"method", "path", "host", "headers", "ip", "time"}, "identity": {...}} or
// {"request": ..., "token": "JWT"} (decoded, never verified). Answers the decision and the trace.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { GatehouseConfig } from '../config/schema.js';
import { claimsOfToken, simulate, SimulationError, type IdentityInput, type SimulatedRequest } from '../filters/authz/simulate.js';
import { sendReply } from '../pipeline/reply.js';
import { sendJson, type AdminRoute } from './server.js';

const MAX_BODY = 64 * 1024;

export function explainRoute(config: () => GatehouseConfig): AdminRoute {
  return (req, res) => {
    readJson(req, res, (body) => {
      const bad = (message: string) => sendReply(res, { status: 400, code: 'request.bad_request', message }, randomUUID());
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('expected a JSON object with "request"');
      const b = body as { request?: SimulatedRequest; identity?: IdentityInput; token?: unknown };
      const r = b.request;
      if (typeof r !== 'object' || r === null || typeof r.path !== 'string' || !r.path.startsWith('/')) {
        return bad('"request.path" must be a path starting with /');
      }
      if (r.method !== undefined && typeof r.method !== 'string') return bad('"request.method" must be a string');
      if (b.identity !== undefined && b.token !== undefined) return bad('give "identity" or "token", not both');
      try {
        const identity = typeof b.token === 'string' ? claimsOfToken(b.token) : b.identity;
        sendJson(res, 200, simulate(config(), { ...r, method: r.method ?? 'GET' }, identity));
      } catch (err) {
        if (err instanceof SimulationError) return bad(err.message);
        // Never let a bug here take the gateway down from an event callback.
        sendReply(res, { status: 500, code: 'gateway.internal_error', message: 'explain failed' }, randomUUID());
      }
    });
  };
}

function readJson(req: IncomingMessage, res: ServerResponse, then: (body: unknown) => void): void {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    req.resume();
    return sendReply(res, { status: 415, code: 'request.bad_request', message: 'send the body as application/json' }, randomUUID());
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) over = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    if (over) return sendReply(res, { status: 413, code: 'request.body_too_large', message: `the body is limited to ${MAX_BODY} bytes` }, randomUUID());
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendReply(res, { status: 400, code: 'request.bad_request', message: 'the body is not valid JSON' }, randomUUID());
    }
    then(body);
  });
}
