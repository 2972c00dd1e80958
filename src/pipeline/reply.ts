// The one renderer of Reply → HTTP response: RFC 9457 problem details with the stable reason
// `code` and the `request_id`. Never a stack trace; `detail` is generic text chosen by the code
// that built the Reply.
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Reply } from './filter.js';
import { reasonTitle } from './reasons.js';

export function problemBody(reply: Reply, requestId: string): string {
  const body: Record<string, unknown> = {
    type: `urn:gatehouse:problem:${reply.code}`,
    title: reasonTitle(reply.code),
    status: reply.status,
    detail: reply.message ?? STATUS_CODES[reply.status] ?? 'Error',
    code: reply.code,
    request_id: requestId,
  };
  // Extension members (RFC 9457 §3.2) follow the standard ones and can never replace them.
  if (reply.extensions) for (const k in reply.extensions) if (!(k in body)) body[k] = reply.extensions[k];
  return JSON.stringify(body);
}

/** Send a Reply on a live ServerResponse. Extra headers (CORS, Retry-After) come in `extra`. */
export function sendReply(res: ServerResponse, reply: Reply, requestId: string, extra?: readonly string[]): void {
  if (res.headersSent) {
    // Too late for a clean answer: the only honest signal left is to cut the connection.
    res.destroy();
    return;
  }
  if (reply.body !== undefined) return sendOwnBody(res, reply, requestId, extra);
  const body = reply.empty ? '' : problemBody(reply, requestId);
  const headers: string[] = reply.empty
    ? reply.status === 204 || reply.status === 304
      ? ['x-request-id', requestId] // RFC 9110 8.6: no Content-Length on 204
      : ['content-length', '0', 'x-request-id', requestId]
    : ['content-type', 'application/problem+json', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', requestId, 'cache-control', 'no-store'];
  if (reply.headers) for (const k in reply.headers) headers.push(k, reply.headers[k]!);
  if (extra) for (let i = 0; i < extra.length; i++) headers.push(extra[i]!);
  if (reply.close) {
    headers.push('connection', 'close');
    res.shouldKeepAlive = false;
  }
  res.writeHead(reply.status, headers);
  res.end(res.req?.method === 'HEAD' || reply.empty ? undefined : body);
}

/** A local answer that carries its own body (Reply.body), e.g. the quota usage report. */
function sendOwnBody(res: ServerResponse, reply: Reply, requestId: string, extra: readonly string[] | undefined): void {
  const text = reply.body!.text;
  const headers = ['content-type', reply.body!.contentType, 'content-length', String(Buffer.byteLength(text)), 'x-request-id', requestId, 'cache-control', 'no-store'];
  if (reply.headers) for (const k in reply.headers) headers.push(k, reply.headers[k]!);
  if (extra) for (let i = 0; i < extra.length; i++) headers.push(extra[i]!);
  res.writeHead(reply.status, headers);
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

/** Write a Reply straight onto a socket (errors found by the HTTP parser, before any request). */
export function writeRawReply(socket: Socket, reply: Reply, requestId: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = problemBody(reply, requestId);
  const head =
    `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Error'}\r\n` +
    `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n`;
  socket.end(head + body);
}
