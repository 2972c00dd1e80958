// Buffering a request body for a filter that must see all of it before the request may go
// upstream (SigV4 payload hashes). The filter asks only after its cheap checks passed; the bytes
// land in ctx.body, which the pipeline then forwards instead of the client stream, so the upstream
// receives exactly what was checked, and nothing at all when the check fails.
import type { RequestContext } from './context.js';
import type { Reply } from './filter.js';

const TOO_LARGE: Reply = { status: 413, code: 'request.body_too_large', message: 'the request body exceeds the limit', close: true };
const CUT_SHORT: Reply = { status: 400, code: 'request.bad_framing', message: 'the request body was cut short', close: true };

/** True when the request has body bytes to come (chunked, or a non-zero Content-Length). */
export function requestHasBody(ctx: RequestContext): boolean {
  const h = ctx.req.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const cl = h['content-length'];
  return cl !== undefined && Number(cl) > 0;
}

/**
 * Reads the whole body (at most `limit` bytes, else 413 and close) into ctx.body. A client that
 * stops sending is caught by the listener's request timeout, which ends the read with a 400.
 */
export function bufferBody(ctx: RequestContext, limit: number): Promise<Buffer | Reply> {
  if (ctx.body !== undefined) return Promise.resolve(ctx.body);
  const req = ctx.req;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const settle = (v: Buffer | Reply) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onCut);
      req.off('close', onClose);
      resolve(v);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) return settle(TOO_LARGE);
      chunks.push(c);
    };
    const onEnd = () => {
      const body = Buffer.concat(chunks, size);
      ctx.body = body;
      ctx.bytesIn = size;
      settle(body);
    };
    const onCut = () => settle(CUT_SHORT);
    const onClose = () => {
      if (!req.complete) settle(CUT_SHORT);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onCut);
    req.on('close', onClose);
  });
}
