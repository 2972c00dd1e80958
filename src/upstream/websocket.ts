// WebSocket pass-through on routes that allow it. The client's socket becomes a tunnel only after
// the upstream answered 101; any other answer is relayed as a normal response and the connection
// closed. Either side going away closes the other.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { RequestContext } from '../pipeline/context.js';
import type { Endpoint } from './cluster.js';
import type { Reply } from '../pipeline/filter.js';
import { classify } from './proxy.js';

export interface UpgradeOptions {
  path: string;
  headers: string[];
  upgrade: string;
  timeoutMs: number;
  clientSocket: Socket;
  clientHead: Buffer;
  tls: https.RequestOptions | undefined;
  onFailure(ctx: RequestContext, reply: Reply): void;
}

export function proxyUpgrade(ctx: RequestContext, endpoint: Endpoint, opts: UpgradeOptions): void {
  const url = new URL(endpoint.origin);
  const headers: string[] = [...opts.headers, 'connection', 'upgrade', 'upgrade', opts.upgrade];
  ctx.endpoint = endpoint.origin;
  ctx.upstreamStart = performance.now();
  const mod = url.protocol === 'https:' ? https : http;
  const upReq = mod.request({
    host: url.hostname,
    port: url.port || (url.protocol === 'https:' ? 443 : 80),
    method: ctx.method,
    path: opts.path,
    headers,
    agent: false,
    timeout: opts.timeoutMs,
    ...(opts.tls ?? {}),
  });
  const client = opts.clientSocket;
  let settled = false;
  const fail = (reply: Reply) => {
    if (settled) return;
    settled = true;
    opts.onFailure(ctx, reply);
  };
  upReq.on('timeout', () => {
    upReq.destroy(Object.assign(new Error('upgrade timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
  });
  upReq.on('error', (err) => fail(classify(err)));
  client.once('close', () => upReq.destroy());
  upReq.on('response', (upRes) => {
    // No 101: relay as an ordinary response; the client connection closes after it.
    settled = true;
    ctx.upstreamHeadersAt = performance.now();
    ctx.status = upRes.statusCode ?? 502;
    const out: string[] = [];
    for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
      const n = upRes.rawHeaders[i]!.toLowerCase();
      if (n === 'connection' || n === 'upgrade' || n === 'keep-alive' || n === 'transfer-encoding' || n === 'x-request-id') continue;
      out.push(upRes.rawHeaders[i]!, upRes.rawHeaders[i + 1]!);
    }
    out.push('x-request-id', ctx.id);
    ctx.res.writeHead(ctx.status, out);
    upRes.on('data', (c: Buffer) => (ctx.bytesOut += c.length));
    upRes.pipe(ctx.res);
  });
  upReq.on('upgrade', (upRes, upSocket: Socket, upHead: Buffer) => {
    settled = true;
    ctx.upstreamHeadersAt = performance.now();
    ctx.status = 101;
    upReq.setTimeout(0);
    let head = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
      const n = upRes.rawHeaders[i]!.toLowerCase();
      if (n === 'x-request-id' || n === 'keep-alive' || n === 'transfer-encoding') continue;
      head += `${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}\r\n`;
    }
    head += `x-request-id: ${ctx.id}\r\n\r\n`;
    // The ServerResponse was only a vehicle for early replies; detach it so its close logic
    // doesn't fight the tunnel, and log the exchange when the tunnel ends.
    ctx.res.detachSocket(client);
    client.write(head);
    if (upHead.length) client.write(upHead);
    if (opts.clientHead.length) upSocket.write(opts.clientHead);
    upSocket.setNoDelay(true);
    client.setNoDelay(true);
    client.setTimeout(0);
    upSocket.on('data', (c: Buffer) => (ctx.bytesOut += c.length));
    client.on('data', (c: Buffer) => (ctx.bytesIn += c.length));
    upSocket.pipe(client);
    client.pipe(upSocket);
    const end = () => {
      upSocket.destroy();
      client.destroy();
    };
    upSocket.once('close', end);
    client.once('close', end);
    upSocket.on('error', end);
    client.on('error', end);
    client.once('close', () => ctx.res.emit('close'));
  });
  upReq.end();
}
