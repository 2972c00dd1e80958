// A RequestContext without sockets, for filter unit tests (Hono's app.request() habit).
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { RequestContext } from '../../src/pipeline/context.js';

export function makeCtx(opts: { method?: string; path?: string; query?: string; host?: string; headers?: Record<string, string>; clientIp?: string }): RequestContext {
  const req = new IncomingMessage(new Socket());
  req.method = opts.method ?? 'GET';
  req.url = opts.path ?? '/';
  req.headers = Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const res = new ServerResponse(req);
  return new RequestContext('test-request-id', performance.now(), opts.clientIp ?? '127.0.0.1', 'http', req.method, opts.host ?? 'example.com', opts.path ?? '/', opts.query ?? '', req, res);
}
