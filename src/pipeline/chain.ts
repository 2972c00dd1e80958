// Runs a route's filters in order. Synchronous when every filter is: a promise is awaited only
// when a filter actually returned one, so routes with sync filters pay no microtask per request.
import type { Filter, Reply } from './filter.js';
import type { RequestContext } from './context.js';

export type ChainResult = Reply | undefined | Promise<Reply | undefined>;

export function runRequestFilters(filters: readonly Filter[], ctx: RequestContext): ChainResult {
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i]!;
    if (f.onRequest === undefined) continue;
    const r = f.onRequest(ctx);
    if (r === undefined) continue;
    if (r instanceof Promise) return continueAsync(filters, ctx, i, r);
    return r;
  }
  return undefined;
}

async function continueAsync(
  filters: readonly Filter[],
  ctx: RequestContext,
  at: number,
  pending: Promise<Reply | void>,
): Promise<Reply | undefined> {
  const first = await pending;
  if (first) return first;
  for (let i = at + 1; i < filters.length; i++) {
    const f = filters[i]!;
    if (f.onRequest === undefined) continue;
    const r = await f.onRequest(ctx);
    if (r) return r;
  }
  return undefined;
}
