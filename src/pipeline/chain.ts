// Runs a route's filters in order. Synchronous when every filter is: a promise is awaited only
// when a filter actually returned one, so routes with sync filters pay no microtask per request.
// A filter in shadow mode is run and its refusals recorded, but never enforced (one implementation
// for every filter that offers `mode: shadow`).
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
    if (f.shadow) {
      shadowed(f, ctx, r);
      continue;
    }
    return refused(f, ctx, r);
  }
  return undefined;
}

/** Every refusal is an edge decision on record, whether or not the filter recorded its own. */
function refused(f: Filter, ctx: RequestContext, r: Reply): Reply {
  const name = f.name ?? 'filter';
  const ds = ctx.decisions;
  if (ds === undefined || !ds.some((d) => d.filter === name && !d.allowed)) {
    ctx.recordDecision({ filter: name, allowed: r.status < 400, code: r.code, enforced: true });
  }
  return r;
}

/** A shadow-mode filter refused: keep the refusal on record as not enforced, and go on. */
function shadowed(f: Filter, ctx: RequestContext, r: Reply): void {
  const name = f.name ?? 'filter';
  let marked = false;
  if (ctx.decisions) {
    for (const d of ctx.decisions) {
      if (d.filter === name && !d.allowed) {
        d.enforced = false;
        marked = true;
      }
    }
  }
  if (!marked) ctx.recordDecision({ filter: name, allowed: false, code: r.code, enforced: false });
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
    if (first) {
      if (!filters[at]!.shadow) return refused(filters[at]!, ctx, first);
      shadowed(filters[at]!, ctx, first);
    }
    for (i = at + 1; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.onRequest === undefined) continue;
      const r = await f.onRequest(ctx);
      if (r) {
        if (!f.shadow) return refused(f, ctx, r);
        shadowed(f, ctx, r);
      }
    }
    return undefined;
  } catch (err) {
    onError(err, ctx, i);
    return FILTER_FAILED;
  }
}
