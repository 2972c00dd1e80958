// Cross-checks of the resilience config that JSON Schema cannot express, with key paths.
import type { Segment } from '../config/key-path.js';
import type { Issue } from '../config/yaml-tree.js';
import type { ClusterConfig, GatehouseConfig, RouteConfig } from '../config/schema.js';
import { formatKeyPath } from '../config/key-path.js';
import { parseDuration } from '../config/units.js';

export interface Issues {
  errors: Issue[];
  warnings: Issue[];
}

export function clusterResilienceIssues(c: ClusterConfig, path: Segment[]): Issues {
  const out: Issues = { errors: [], warnings: [] };
  const type = c.discovery?.type ?? 'static';
  if (type === 'static' && (c.endpoints === undefined || c.endpoints.length === 0)) {
    out.errors.push({ path: [...path, 'endpoints'], message: 'a cluster needs endpoints (or discovery of type dns or file)' });
  }
  if (type !== 'static' && c.endpoints !== undefined) {
    out.errors.push({ path: [...path, 'endpoints'], message: `endpoints cannot be listed when discovery is ${type} (the endpoints come from it)` });
  }
  const d = c.discovery;
  if (d !== undefined) {
    const fields: Record<string, string[]> = { static: [], dns: ['url', 'family', 'min_refresh', 'max_refresh'], file: ['path', 'poll_interval'] };
    for (const k of ['url', 'family', 'min_refresh', 'max_refresh', 'path', 'poll_interval'] as const) {
      if (d[k] !== undefined && !fields[d.type]!.includes(k)) out.errors.push({ path: [...path, 'discovery', k], at: 'key', message: `${k} does not apply to discovery of type ${d.type}` });
    }
    if (d.type === 'dns' && d.url === undefined) out.errors.push({ path: [...path, 'discovery'], message: 'discovery of type dns needs url (scheme://hostname:port)' });
    if (d.type === 'file' && d.path === undefined) out.errors.push({ path: [...path, 'discovery'], message: 'discovery of type file needs path' });
  }
  if (d?.type === 'dns' && d.url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(d.url);
    } catch {
      out.errors.push({ path: [...path, 'discovery', 'url'], message: `invalid URL "${d.url}"` });
    }
    if (url && (url.pathname !== '/' || url.search !== '' || url.username !== '' || url.password !== '')) {
      out.errors.push({ path: [...path, 'discovery', 'url'], message: 'must be scheme://hostname:port only' });
    }
    if (d.min_refresh !== undefined && d.max_refresh !== undefined && parseDuration(d.min_refresh) > parseDuration(d.max_refresh)) {
      out.errors.push({ path: [...path, 'discovery', 'min_refresh'], message: 'min_refresh must not exceed max_refresh' });
    }
    if (d.min_refresh !== undefined && parseDuration(d.min_refresh) < 100) {
      out.errors.push({ path: [...path, 'discovery', 'min_refresh'], message: 'min_refresh must be at least 100ms' });
    }
  }
  if (d?.type === 'file' && d.poll_interval !== undefined && parseDuration(d.poll_interval) < 50) {
    out.errors.push({ path: [...path, 'discovery', 'poll_interval'], message: 'poll_interval must be at least 50ms' });
  }
  if (c.hash_on !== undefined && c.lb_policy !== 'ring_hash') {
    out.warnings.push({ path: [...path, 'hash_on'], message: 'hash_on has no effect unless lb_policy is ring_hash' });
  }
  if (c.lb_policy === 'ring_hash' && c.hash_on === undefined) {
    out.errors.push({ path: [...path, 'hash_on'], message: 'lb_policy ring_hash needs hash_on (header, cookie or client_ip)' });
  }
  const hc = c.health_check;
  if (hc !== undefined) {
    const interval = hc.interval !== undefined ? parseDuration(hc.interval) : 10_000;
    const timeout = hc.timeout !== undefined ? parseDuration(hc.timeout) : 2_000;
    if (interval < 10) out.errors.push({ path: [...path, 'health_check', 'interval'], message: 'interval must be at least 10ms' });
    if (timeout < 1) out.errors.push({ path: [...path, 'health_check', 'timeout'], message: 'timeout must be at least 1ms' });
    if (/[\r\n\0]/.test(hc.host ?? '')) out.errors.push({ path: [...path, 'health_check', 'host'], message: 'must not contain CR, LF or NUL' });
  }
  const od = c.outlier_detection;
  if (od?.base_ejection_time !== undefined && parseDuration(od.base_ejection_time) < 1) {
    out.errors.push({ path: [...path, 'outlier_detection', 'base_ejection_time'], message: 'base_ejection_time must be at least 1ms' });
  }
  if (od?.consecutive_local_origin_failure !== undefined && od.split_external_local_origin_errors !== true) {
    out.warnings.push({ path: [...path, 'outlier_detection', 'consecutive_local_origin_failure'], message: 'has no effect unless split_external_local_origin_errors is true (local-origin failures then count as 5xx)' });
  }
  if (c.circuit_breakers?.max_retries !== undefined && c.circuit_breakers.retry_budget !== undefined) {
    out.warnings.push({ path: [...path, 'circuit_breakers', 'max_retries'], message: 'ignored: retry_budget replaces max_retries' });
  }
  if (c.circuit_breakers?.max_connections !== undefined && c.max_connections_per_endpoint !== undefined) {
    out.warnings.push({ path: [...path, 'max_connections_per_endpoint'], message: 'ignored: circuit_breakers.max_connections sets the pool size' });
  }
  if (c.aws_sigv4 !== undefined) {
    const urls = [...(c.endpoints ?? []).map((e) => (typeof e === 'string' ? e : e.url)), ...(c.discovery?.url !== undefined ? [c.discovery.url] : [])];
    if (urls.some((u) => u.startsWith('http:'))) {
      const what = c.aws_sigv4.session_token !== undefined ? 'them and the session token' : 'them';
      out.warnings.push({ path: [...path, 'aws_sigv4'], message: `signed requests go out over http://: anyone on the path can read ${what} and replay them for minutes; use https://` });
    }
  }
  return out;
}

/** aws_sigv4 credentials written as values rather than secret references (`secretPaths` from the loader). */
export function literalSecretIssues(cfg: GatehouseConfig, secretPaths: ReadonlySet<string>): Issue[] {
  const out: Issue[] = [];
  cfg.clusters.forEach((c, i) => {
    const a = c.aws_sigv4;
    if (a === undefined) return;
    for (const key of ['secret_access_key', 'session_token'] as const) {
      const path = ['clusters', i, 'aws_sigv4', key];
      if (a[key] !== undefined && !secretPaths.has(formatKeyPath(path))) {
        out.push({ path, message: 'write a secret reference (${secret:env:NAME}, ${secret:file:/path} or ${secret:vault:path#field}), not the value: a value in the file is not rotated and is easy to leak' });
      }
    }
  });
  return out;
}

export function routeResilienceIssues(r: RouteConfig, path: Segment[], clusters: ReadonlySet<string>): Issues {
  const out: Issues = { errors: [], warnings: [] };
  trafficIssues(r, path, clusters, out);
  const p = r.retry_policy;
  if (p === undefined) return out;
  const at = [...path, 'retry_policy'];
  const on = new Set(p.retry_on);
  if (on.has('retriable-status-codes') && (p.retriable_status_codes ?? []).length === 0) {
    out.errors.push({ path: [...at, 'retriable_status_codes'], message: 'retry_on has retriable-status-codes: list the status codes' });
  }
  if (!on.has('retriable-status-codes') && p.retriable_status_codes !== undefined) {
    out.warnings.push({ path: [...at, 'retriable_status_codes'], message: 'has no effect unless retry_on has retriable-status-codes' });
  }
  const b = p.backoff;
  if (b?.base_interval !== undefined && parseDuration(b.base_interval) < 1) {
    out.errors.push({ path: [...at, 'backoff', 'base_interval'], message: 'base_interval must be at least 1ms' });
  }
  if (b?.base_interval !== undefined && b.max_interval !== undefined && parseDuration(b.max_interval) < parseDuration(b.base_interval)) {
    out.errors.push({ path: [...at, 'backoff', 'max_interval'], message: 'max_interval must not be less than base_interval' });
  }
  const timeout = r.timeout !== undefined ? parseDuration(r.timeout) : 30_000;
  if (p.per_try_timeout !== undefined && parseDuration(p.per_try_timeout) > timeout) {
    out.warnings.push({ path: [...at, 'per_try_timeout'], message: `longer than the route timeout (${timeout} ms), which covers all attempts` });
  }
  if (r.websocket === true) out.warnings.push({ path: at, message: 'WebSocket upgrades are never retried' });
  return out;
}

function trafficIssues(r: RouteConfig, path: Segment[], clusters: ReadonlySet<string>, out: Issues): void {
  const unknown = (name: string) => {
    const known = [...clusters].join(', ');
    return `unknown cluster "${name}" ${known ? `(defined clusters: ${known})` : '(no clusters are defined)'}`;
  };
  if (r.cluster === undefined && r.clusters === undefined) out.errors.push({ path, message: 'set cluster (or clusters, for a weighted split)' });
  if (r.cluster !== undefined && r.clusters !== undefined) out.errors.push({ path: [...path, 'clusters'], at: 'key', message: 'set cluster or clusters, not both' });
  if (r.clusters !== undefined) {
    const seen = new Set<string>();
    r.clusters.forEach((w, j) => {
      if (!clusters.has(w.name)) out.errors.push({ path: [...path, 'clusters', j, 'name'], message: unknown(w.name) });
      if (seen.has(w.name)) out.errors.push({ path: [...path, 'clusters', j, 'name'], message: `cluster "${w.name}" is listed twice` });
      seen.add(w.name);
    });
    if (r.clusters.every((w) => w.weight === 0)) out.errors.push({ path: [...path, 'clusters'], message: 'at least one weight must be above 0' });
  }
  if (r.cluster_header !== undefined && r.clusters === undefined) {
    out.warnings.push({ path: [...path, 'cluster_header'], message: 'has no effect without clusters (a weighted split)' });
  }
  if (r.mirror !== undefined && !clusters.has(r.mirror.cluster)) out.errors.push({ path: [...path, 'mirror', 'cluster'], message: unknown(r.mirror.cluster) });
  const f = r.fault;
  if (f !== undefined && f.delay === undefined && f.abort === undefined && f.header_control !== true) {
    out.errors.push({ path: [...path, 'fault'], message: 'set delay, abort or header_control' });
  }
}
