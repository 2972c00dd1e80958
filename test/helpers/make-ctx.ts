// A RequestContext without sockets, for filter unit tests (Hono's app.request() habit).
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { RequestContext } from '../../src/pipeline/context.js';

/** `rawHeaders` (flat name/value list) wins over `headers` and may repeat a field, as on the wire. */
export function makeCtx(opts: { method?: string; path?: string; query?: string; host?: string; headers?: Record<string, string>; rawHeaders?: string[]; clientIp?: string }): RequestContext {
  const req = new IncomingMessage(new Socket());
  req.method = opts.method ?? 'GET';
  req.url = opts.path ?? '/';
  const raw = opts.rawHeaders ?? Object.entries(opts.headers ?? {}).flat();
  req.rawHeaders = raw;
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    headers[k] = headers[k] === undefined ? raw[i + 1]! : `${headers[k]}, ${raw[i + 1]!}`;
  }
  req.headers = headers;
  const res = new ServerResponse(req);
  return new RequestContext('test-request-id', performance.now(), opts.clientIp ?? '127.0.0.1', 'http', req.method, opts.host ?? 'example.com', opts.path ?? '/', opts.query ?? '', req, res);
}
