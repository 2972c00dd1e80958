// Runs a route's filters in order. Synchronous when every filter is: a promise is awaited only
// when a filter actually returned one, so routes with sync filters pay no microtask per request.
// A filter that throws or rejects never escapes the chain: the request gets a 500 with a reason
// code and the error goes to `onError` (a bug in one filter must not take the process down).
import type { Filter, Reply } from './filter.js';
import type { RequestContext } from './context.js';

export type ChainResult = Reply | undefined | Promise<Reply | undefined>;
export type FilterErrorHandler = (err: unknown, ctx: RequestContext, filterIndex: number) => void;

const FILTER_FAILED: Reply = { status: 500, code: 'gateway.internal_error', message: 'the gateway failed to handle the request' };

export function runRequestFilters(filters: readonly Filter[], ctx: RequestContext, onError: FilterErrorHandler): ChainResult {
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i]!;
    if (f.onRequest === undefined) continue;
    let r: Reply | void | Promise<Reply | void>;
    try {
      r = f.onRequest(ctx);
    } catch (err) {
      onError(err, ctx, i);
      return FILTER_FAILED;
    }
    if (r === undefined) continue;
    if (r instanceof Promise) return continueAsync(filters, ctx, i, r, onError);
    return r;
  }
  return undefined;
}

async function continueAsync(
  filters: readonly Filter[],
  ctx: RequestContext,
  at: number,
  pending: Promise<Reply | void>,
  onError: FilterErrorHandler,
): Promise<Reply | undefined> {
  let i = at;
  try {
    const first = await pending;
    if (first) return first;
    for (i = at + 1; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.onRequest === undefined) continue;
      const r = await f.onRequest(ctx);
      if (r) return r;
    }
    return undefined;
  } catch (err) {
    onError(err, ctx, i);
    return FILTER_FAILED;
  }
}
