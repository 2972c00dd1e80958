// The engine shared by the `rate_limit` and `quota` filters. Each filter compiles its limits (and
// the usage-plan limits it applies) once per route; per request it builds the counter keys and asks
// the store. When both filters are on a route, the first only gathers its limits and the last one
// decides everything in one store call, so a request refused by any limit is charged to none.
import type { Logger } from 'pino';
import { attr, type RequestContext } from '../../pipeline/context.js';
import type { Filter, FilterDeps, FilterScope, Reply } from '../../pipeline/filter.js';
import { IDENTITY, type Identity } from '../common/identity.js';
import type { CheckResult, LimitSpec, LimitStore, StoreUnavailable } from '../../store/limits.js';
import { createMemoryLimitStore } from '../../store/memory.js';
import { QuotaWindow, type QuotaPeriod } from '../../store/windows.js';
import { apiKeyOf, buildKey, compilePart, encodePart, parseOffset, type PartGetter } from './keys.js';
import { newTrafficMetrics, type TrafficMetrics } from './metrics.js';
import type { KeyPartConfig, UsagePlanConfig } from './config.js';

export type TrafficKind = 'rate_limit' | 'quota';
type LimitCode = 'ratelimit.exceeded' | 'quota.exhausted';

/** A limit as the engine uses it: the store's spec plus what answers and headers need. */
export interface CompiledLimit extends LimitSpec {
  readonly code: LimitCode;
  readonly filter: TrafficKind;
  readonly headers: boolean;
  /** Counted per caller (subject, key, claim, plan): reported by the usage endpoint. */
  readonly own: boolean;
  /** `"name"` as a Structured Fields string, for the RateLimit fields. */
  readonly sfName: string;
  /** Bucket: its whole RateLimit-Policy item (constant); window: undefined (the length varies). */
  readonly policyItem: string | undefined;
}

interface Rule {
  readonly limit: CompiledLimit;
  readonly prefix: string;
  readonly parts: readonly PartGetter[];
  readonly skipMissing: boolean;
}

interface PlanLimits {
  readonly limits: readonly CompiledLimit[];
  /** Key prefixes, parallel to limits; the caller id is appended. */
  readonly prefixes: readonly string[];
}

interface Pending {
  specs: CompiledLimit[];
  keys: string[];
}

/** Limits gathered by an earlier traffic filter on this request, decided by the last one. */
const PENDING = attr<Pending>('traffic.pending');
/** Marks traffic filters, so each can tell whether a later one on its route will decide. */
const TRAFFIC = Symbol('gatehouse.traffic');

const storesByDeps = new WeakMap<FilterDeps, LimitStore>();
/** Without a process-wide store (filter unit tests), one memory store per deps object. */
function storeOf(deps: FilterDeps): LimitStore {
  if (deps.limits) return deps.limits;
  let s = storesByDeps.get(deps);
  if (!s) storesByDeps.set(deps, (s = createMemoryLimitStore({ clock: deps.clock })));
  return s;
}

export interface LimitInput {
  name: string;
  key?: KeyPartConfig[] | undefined;
  when_missing?: 'shared' | 'skip' | undefined;
  mode?: 'enforce' | 'shadow' | undefined;
  on_store_error?: 'fail_open' | 'fail_closed' | undefined;
  fallback_share?: number | undefined;
  rate?: number;
  burst?: number;
  limit?: number;
  period?: QuotaPeriod;
  time_zone?: string | undefined;
  offset?: number | string | undefined;
}

export interface TrafficConfig {
  limits?: LimitInput[] | undefined;
  usage_plans?: boolean | undefined;
  default_usage_plan?: string | undefined;
  headers?: boolean | undefined;
  usage_path?: string | undefined;
}

export interface TrafficFilter extends Filter {
  readonly metrics: TrafficMetrics;
}

const OWN_PARTS = new Set(['subject', 'api_key', 'usage_plan']);

export function compileLimit(kind: TrafficKind, l: LimitInput, headers: boolean, own: boolean): CompiledLimit {
  const failOpen = (l.on_store_error ?? (kind === 'quota' ? 'fail_closed' : 'fail_open')) === 'fail_open';
  const share = l.fallback_share ?? 1;
  const base =
    kind === 'rate_limit'
      ? { kind: 'bucket' as const, ratePerMs: l.rate! / 1000, capacity: l.burst!, window: undefined }
      : { kind: 'window' as const, ratePerMs: 0, capacity: l.limit!, window: new QuotaWindow(l.period!, l.time_zone ?? 'UTC', parseOffset(l.offset)) };
  const fallback: LimitSpec | undefined =
    share >= 1
      ? undefined
      : { ...base, name: l.name, shadow: l.mode === 'shadow', failOpen, fallback: undefined, ratePerMs: base.ratePerMs * share, capacity: Math.max(1, Math.floor(base.capacity * share)) };
  return {
    ...base,
    name: l.name,
    shadow: l.mode === 'shadow',
    failOpen,
    fallback,
    code: kind === 'rate_limit' ? 'ratelimit.exceeded' : 'quota.exhausted',
    filter: kind,
    headers,
    own,
    sfName: `"${l.name}"`,
    policyItem: base.kind === 'bucket' ? `"${l.name}";q=${base.capacity};w=${Math.max(1, Math.ceil(Math.ceil(base.capacity / base.ratePerMs) / 1000))}` : undefined,
  };
}

/** The caller a usage plan counts: its API key when it used one, else its subject. */
function callerOf(id: Identity): string {
  const k = apiKeyOf(id);
  return k !== undefined ? `:k${encodePart(k)}` : `:s${encodePart(id.subject)}`;
}

export function createTrafficFilter(kind: TrafficKind, cfg: TrafficConfig, deps: FilterDeps, scope: FilterScope | undefined): TrafficFilter {
  const store = storeOf(deps);
  const log: Logger = deps.log;
  const metrics = newTrafficMetrics();
  const headers = cfg.headers !== false;
  const rules: Rule[] = (cfg.limits ?? []).map((l) => {
    const parts = l.key ?? [];
    const own = parts.some((p) => (typeof p === 'string' ? OWN_PARTS.has(p) : 'claim' in p));
    return {
      limit: compileLimit(kind, l, headers, own),
      prefix: `${kind === 'rate_limit' ? 't' : 'q'}:${l.name}`,
      parts: parts.map(compilePart),
      skipMissing: l.when_missing === 'skip',
    };
  });

  // Usage plans: the limits this filter applies for each plan, and who is attached by subject.
  const plans = new Map<string, PlanLimits>();
  const bySubject = new Map<string, string>();
  const planCfgs = ((scope?.config as { usage_plans?: UsagePlanConfig[] } | undefined)?.usage_plans ?? []) as UsagePlanConfig[];
  const usePlans = cfg.usage_plans !== false;
  const routeName = scope?.route;
  for (const p of planCfgs) {
    for (const s of p.subjects ?? []) if (!bySubject.has(s)) bySubject.set(s, p.name);
    const limits: CompiledLimit[] = [];
    const prefixes: string[] = [];
    if (kind === 'rate_limit') {
      if (p.throttle) {
        limits.push(compileLimit(kind, { name: `${p.name}.throttle`, ...p.throttle }, headers, true));
        prefixes.push(`p:${p.name}:t`);
      }
      const rt = routeName !== undefined ? p.route_throttles?.[routeName] : undefined;
      if (rt) {
        limits.push(compileLimit(kind, { name: `${p.name}.${routeName}.throttle`, ...rt }, headers, true));
        prefixes.push(`p:${p.name}:r:${routeName}`);
      }
    } else if (p.quota) {
      limits.push(compileLimit(kind, { name: `${p.name}.quota`, ...p.quota }, headers, true));
      prefixes.push(`p:${p.name}:q`);
    }
    plans.set(p.name, { limits, prefixes });
  }
  const defaultPlan = cfg.default_usage_plan;
  const warnedPlans = new Set<string>();
  const planOf = (id: Identity | undefined): string | undefined => {
    const named = id?.usagePlan ?? (id !== undefined ? bySubject.get(id.subject) : undefined);
    if (named !== undefined && !plans.has(named)) {
      // A keys_file may name a plan the config does not define: say so once, apply the default.
      if (!warnedPlans.has(named) && warnedPlans.size < 100) {
        warnedPlans.add(named);
        log.warn({ filter: kind, usage_plan: named }, `${kind}: unknown usage plan; the default plan applies`);
      }
      return defaultPlan;
    }
    return named ?? defaultPlan;
  };

  const usagePath = cfg.usage_path;
  let decides: boolean | undefined;

  function gather(ctx: RequestContext, id: Identity | undefined, into: Pending): void {
    const plan = planOf(id);
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const key = buildKey(r.prefix, r.parts, r.skipMissing, ctx, id, plan);
      if (key === undefined) continue;
      into.specs.push(r.limit);
      into.keys.push(key);
    }
    if (usePlans && plan !== undefined && id !== undefined) {
      const pl = plans.get(plan);
      if (pl !== undefined && pl.limits.length > 0) {
        const caller = callerOf(id);
        for (let i = 0; i < pl.limits.length; i++) {
          into.specs.push(pl.limits[i]!);
          into.keys.push(pl.prefixes[i]! + caller);
        }
      }
    }
  }

  function finish(ctx: RequestContext, p: Pending, r: CheckResult | StoreUnavailable): Reply | undefined {
    if ('unavailable' in r) {
      metrics.unavailable++;
      return { status: 503, code: 'ratelimit.store_unavailable', message: 'the rate limit store is unavailable', headers: { 'retry-after': '1' } };
    }
    if (r.source === 'fallback') metrics.fallback++;
    const specs = p.specs;
    const outcomes = r.outcomes;
    let policy = '';
    let state = '';
    let worst = -1;
    for (let i = 0; i < specs.length; i++) {
      const l = specs[i]!;
      const o = outcomes[i]!;
      if (!o.ok) {
        if (l.shadow) {
          metrics.shadowRefused++;
          ctx.recordDecision({ filter: l.filter, allowed: false, code: l.code, policy: l.name, enforced: false });
          log.info({ filter: l.filter, limit: l.name, request_id: ctx.id, mode: 'shadow' }, `${l.filter}: shadow limit would refuse`);
        } else if (worst < 0 || o.waitMs > outcomes[worst]!.waitMs) {
          worst = i;
        }
      }
      if (!l.headers || l.shadow) continue;
      const sep = policy === '' ? '' : ', ';
      policy += l.policyItem !== undefined ? sep + l.policyItem : `${sep}${l.sfName};q=${l.capacity};w=${Math.max(1, Math.ceil(o.windowMs / 1000))}`;
      state += `${sep}${l.sfName};r=${o.remaining};t=${Math.ceil(o.resetMs / 1000)}`;
    }
    if (policy !== '') {
      ctx.addResponseHeader('ratelimit-policy', policy);
      ctx.addResponseHeader('ratelimit', state);
    }
    if (r.admitted) {
      metrics.admitted++;
      return undefined;
    }
    metrics.refused++;
    const l = specs[worst]!;
    const seconds = Math.max(1, Math.ceil(outcomes[worst]!.waitMs / 1000));
    ctx.recordDecision({ filter: l.filter, allowed: false, code: l.code, policy: l.name, enforced: true });
    return {
      status: 429,
      code: l.code,
      message: l.kind === 'bucket' ? `rate limit "${l.name}" exceeded; retry in ${seconds} s` : `quota "${l.name}" exhausted; retry in ${seconds} s`,
      headers: { 'retry-after': String(seconds) },
    };
  }

  function usage(ctx: RequestContext, id: Identity | undefined, p: Pending): Reply | Promise<Reply> {
    metrics.usage++;
    if (id === undefined) return { status: 401, code: 'authn.missing_credentials', message: 'the usage report needs an authenticated caller' };
    // Only what is counted by this caller: never another caller's or a shared counter.
    const specs: CompiledLimit[] = [];
    const keys: string[] = [];
    for (let i = 0; i < p.specs.length; i++) {
      if (!p.specs[i]!.own) continue;
      specs.push(p.specs[i]!);
      keys.push(p.keys[i]!);
    }
    const render = (r: CheckResult | StoreUnavailable): Reply => {
      if ('unavailable' in r) return { status: 503, code: 'ratelimit.store_unavailable', message: 'the rate limit store is unavailable', headers: { 'retry-after': '1' } };
      const limits = specs.map((l, i) => {
        const o = r.outcomes[i]!;
        return l.kind === 'bucket'
          ? { name: l.name, type: 'throttle', rate: l.ratePerMs * 1000, burst: l.capacity, remaining: o.remaining, reset_seconds: Math.ceil(o.resetMs / 1000), shadow: l.shadow }
          : {
              name: l.name,
              type: 'quota',
              limit: l.capacity,
              period: l.window!.period,
              used: l.capacity - o.remaining,
              remaining: o.remaining,
              reset_seconds: Math.ceil(o.resetMs / 1000),
              window_seconds: Math.round(o.windowMs / 1000),
              shadow: l.shadow,
            };
      });
      const text = JSON.stringify({ subject: id.subject, key_id: apiKeyOf(id) ?? null, usage_plan: planOf(id) ?? null, route: ctx.route?.name ?? null, limits });
      return { status: 200, code: 'ratelimit.usage', body: { contentType: 'application/json', text } };
    };
    const r = store.check(specs, keys, { dryRun: true, requestId: ctx.id });
    return r instanceof Promise ? r.then(render) : render(r);
  }

  const filter: TrafficFilter & { [TRAFFIC]: true } = {
    [TRAFFIC]: true,
    metrics,
    onRequest: function trafficOnRequest(ctx): Reply | undefined | Promise<Reply | undefined> {
      const id = ctx.get(IDENTITY);
      const pending = ctx.get(PENDING) ?? { specs: [], keys: [] };
      gather(ctx, id, pending);
      // Decided once per route: is a later traffic filter on it going to decide for both of us?
      decides ??= isLastTraffic(filter, ctx);
      if (!decides) {
        ctx.set(PENDING, pending);
        return undefined;
      }
      if (usagePath !== undefined && ctx.path === usagePath && (ctx.method === 'GET' || ctx.method === 'HEAD')) return usage(ctx, id, pending);
      if (pending.specs.length === 0) return undefined;
      const r = store.check(pending.specs, pending.keys, { requestId: ctx.id });
      if (r instanceof Promise) return r.then((res) => finish(ctx, pending, res));
      return finish(ctx, pending, r);
    },
  };
  return filter;
}

function isLastTraffic(self: Filter, ctx: RequestContext): boolean {
  const fs = ctx.route?.filters;
  if (fs === undefined) return true;
  const at = fs.indexOf(self);
  for (let i = at + 1; i < fs.length; i++) if (TRAFFIC in fs[i]!) return false;
  return true;
}
