// What the JSON Schema cannot say about rate limits, quotas and usage plans: references to plans
// and routes, time zones, and limits that share a name (hence counters) but not their settings.
import { formatKeyPath, type Segment } from '../../config/key-path.js';
import type { Issue } from '../../config/yaml-tree.js';
import type { GatehouseConfig } from '../../config/schema.js';
import { isTimeZone } from '../../store/windows.js';
import type { UsagePlanConfig } from './config.js';
import type { LimitInput, TrafficConfig } from './engine.js';

const AUTHENTICATORS = ['jwt', 'sigv4', 'api_key', 'mtls'];

export function trafficIssues(cfg: GatehouseConfig): { errors: Issue[]; warnings: Issue[] } {
  const errors: Issue[] = [];
  const warnings: Issue[] = [];
  const plans = ((cfg as { usage_plans?: UsagePlanConfig[] }).usage_plans ?? []) as UsagePlanConfig[];
  const planDefined = (cfg as { usage_plans?: unknown }).usage_plans !== undefined;
  const planNames = new Map<string, number>();
  const routeNames = new Set(cfg.routes.map((r) => r.name));
  plans.forEach((p, i) => {
    const first = planNames.get(p.name);
    if (first !== undefined) errors.push({ path: ['usage_plans', i, 'name'], message: `duplicate usage plan name "${p.name}" (first used by usage_plans[${first}])` });
    else planNames.set(p.name, i);
    if (p.quota?.time_zone !== undefined && !isTimeZone(p.quota.time_zone)) {
      errors.push({ path: ['usage_plans', i, 'quota', 'time_zone'], message: `unknown time zone "${p.quota.time_zone}" (expected an IANA name such as Europe/Berlin)` });
    }
    for (const r of Object.keys(p.route_throttles ?? {})) {
      if (!routeNames.has(r)) errors.push({ path: ['usage_plans', i, 'route_throttles', r], at: 'key', message: `unknown route "${r}"` });
    }
    if (!p.throttle && !p.quota && !p.route_throttles) warnings.push({ path: ['usage_plans', i], message: 'usage plan has no throttle, route_throttles or quota: it limits nothing' });
  });
  const known = [...planNames.keys()].join(', ');
  const checkPlanRef = (name: string | undefined, path: Segment[], hard: boolean) => {
    if (name === undefined || planNames.has(name)) return;
    const message = `unknown usage plan "${name}" ${known ? `(defined usage plans: ${known})` : '(no usage_plans are defined)'}`;
    (hard ? errors : warnings).push({ path, message });
  };

  // Limits sharing a name share counters across routes: their settings must agree.
  const byName = new Map<string, { sig: string; path: Segment[] }>();
  cfg.routes.forEach((r, ri) => {
    const f = (r.filters ?? {}) as Record<string, unknown>;
    const seen = new Map<string, Segment[]>();
    for (const kind of ['rate_limit', 'quota'] as const) {
      const tc = f[kind] as TrafficConfig | undefined;
      if (tc === undefined) continue;
      const base: Segment[] = ['routes', ri, 'filters', kind];
      checkPlanRef(tc.default_usage_plan, [...base, 'default_usage_plan'], true);
      if (tc.usage_path !== undefined && !AUTHENTICATORS.some((a) => f[a] !== undefined)) {
        warnings.push({ path: [...base, 'usage_path'], message: 'the usage endpoint answers only authenticated callers, and this route has no authenticator (jwt, sigv4, api_key, mtls): it will answer 401' });
      }
      (tc.limits ?? []).forEach((l: LimitInput, li) => {
        const at: Segment[] = [...base, 'limits', li];
        if (l.time_zone !== undefined && !isTimeZone(l.time_zone)) {
          errors.push({ path: [...at, 'time_zone'], message: `unknown time zone "${l.time_zone}" (expected an IANA name such as Europe/Berlin)` });
        }
        const dup = seen.get(l.name);
        if (dup) errors.push({ path: [...at, 'name'], message: `duplicate limit name "${l.name}" on this route (first at ${formatKeyPath(dup)})` });
        else seen.set(l.name, at);
        if ((l.key ?? []).includes('route')) return;
        const sig = JSON.stringify({ kind, ...l, mode: undefined });
        const prev = byName.get(`${kind}:${l.name}`);
        if (prev === undefined) byName.set(`${kind}:${l.name}`, { sig, path: at });
        else if (prev.sig !== sig) {
          errors.push({
            path: [...at, 'name'],
            message: `limit "${l.name}" is also defined at ${formatKeyPath(prev.path)} with other settings; limits sharing a name share counters (add route to key to count routes apart, or rename)`,
          });
        }
      });
    }
    // Key records naming a plan: an error once plans are defined, a warning before.
    const ak = f.api_key as { keys?: { usage_plan?: string }[] } | undefined;
    ak?.keys?.forEach((k, ki) => checkPlanRef(k.usage_plan, ['routes', ri, 'filters', 'api_key', 'keys', ki, 'usage_plan'], planDefined));
    const sv = f.sigv4 as { access_keys?: { usage_plan?: string }[] } | undefined;
    sv?.access_keys?.forEach((k, ki) => checkPlanRef(k.usage_plan, ['routes', ri, 'filters', 'sigv4', 'access_keys', ki, 'usage_plan'], planDefined));
  });

  const store = (cfg as { rate_limit_store?: { type?: string; redis?: { url?: string; sentinel?: unknown; cluster?: unknown } } }).rate_limit_store;
  const r = store?.redis;
  if (r) {
    const set = (['url', 'sentinel', 'cluster'] as const).filter((k) => r[k] !== undefined);
    if (set.length > 1) errors.push({ path: ['rate_limit_store', 'redis'], message: `set only one of url, sentinel or cluster (found ${set.join(' and ')})` });
    if ((store?.type ?? 'memory') === 'memory') warnings.push({ path: ['rate_limit_store', 'redis'], message: 'redis has no effect: type is memory (set type: redis)' });
  }
  return { errors, warnings };
}
