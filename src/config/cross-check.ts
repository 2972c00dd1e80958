// Checks a schema-valid config for what JSON Schema cannot say: references between sections,
// uniqueness, and the syntax of strings the runtime parses (templates, CIDRs, hosts, URLs).
import { isIP } from 'node:net';
import { compileMatch } from '../routing/match.js';
import type { Segment } from './key-path.js';
import type { Issue } from './yaml-tree.js';
import { lowerFirst } from './issues.js';
import { checkAuthorization } from './check-authorization.js';
import { checkAudit } from './check-audit.js';
import { checkSecrets } from './check-secrets.js';
import { trafficIssues } from '../filters/rate-limit/cross-check.js';
import { clusterResilienceIssues, routeResilienceIssues } from '../upstream/cross-check.js';
import type { ClusterConfig, GatehouseConfig, HeaderOpsConfig, RouteConfig, StringMatchConfig } from './schema.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DEFAULT_ADDRESS = '127.0.0.1';
const ADMIN_DEFAULT_PORT = 9901;

export interface CrossCheckResult {
  errors: Issue[];
  warnings: Issue[];
}

export function crossCheck(cfg: GatehouseConfig): CrossCheckResult {
  const out: CrossCheckResult = { errors: [], warnings: [] };
  checkListeners(cfg, out);
  cfg.trusted_proxies?.forEach((c, i) => {
    const problem = cidrProblem(c);
    if (problem) out.errors.push({ path: ['trusted_proxies', i], message: `invalid CIDR "${c}": ${problem}` });
  });
  firstOfEach(cfg.clusters, (c) => c.name, (i, first) =>
    out.errors.push({ path: ['clusters', i, 'name'], message: `duplicate cluster name "${cfg.clusters[i]!.name}" (first used by clusters[${first}])` }),
  );
  cfg.clusters.forEach((c, i) => checkCluster(c, ['clusters', i], out));
  firstOfEach(cfg.routes, (r) => r.name, (i, first) =>
    out.errors.push({ path: ['routes', i, 'name'], message: `duplicate route name "${cfg.routes[i]!.name}" (first used by routes[${first}])` }),
  );
  const clusters = new Set(cfg.clusters.map((c) => c.name));
  cfg.routes.forEach((r, i) => checkRoute(r, ['routes', i], clusters, out));
  const traffic = trafficIssues(cfg);
  out.errors.push(...traffic.errors);
  out.warnings.push(...traffic.warnings);
  checkAuthorization(cfg, out);
  checkAudit(cfg, out);
  checkSecrets(cfg, out);
  return out;
}

/** Calls dup(i, firstIndex) for every item whose key was already seen. */
function firstOfEach<T>(items: readonly T[], key: (t: T) => string, dup: (i: number, first: number) => void): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else dup(i, first);
  });
}

function checkListeners(cfg: GatehouseConfig, out: CrossCheckResult): void {
  // Binding the same port twice fails at startup with EADDRINUSE; say which entries collide now.
  const bound: { address: string; port: number; who: string }[] = [];
  if (cfg.admin?.enabled !== false) {
    bound.push({ address: cfg.admin?.address ?? DEFAULT_ADDRESS, port: cfg.admin?.port ?? ADMIN_DEFAULT_PORT, who: 'the admin listener' });
  }
  cfg.listeners.forEach((l, i) => {
    const address = l.address ?? DEFAULT_ADDRESS;
    if (l.port !== 0) {
      const clash = bound.find((b) => b.port === l.port && addressesOverlap(b.address, address));
      if (clash) {
        const message =
          clash.address === address
            ? `${hostPort(address, l.port)} is already used by ${clash.who}`
            : `${hostPort(address, l.port)} overlaps ${hostPort(clash.address, clash.port)} of ${clash.who}`;
        out.errors.push({ path: ['listeners', i, 'port'], message });
      }
      bound.push({ address, port: l.port, who: `listeners[${i}]` });
    }
  });
  const names = new Map<string, number>();
  cfg.listeners.forEach((l, i) => {
    if (l.name === undefined) return;
    const first = names.get(l.name);
    if (first === undefined) names.set(l.name, i);
    else out.errors.push({ path: ['listeners', i, 'name'], message: `duplicate listener name "${l.name}" (first used by listeners[${first}])` });
  });
}

function addressesOverlap(a: string, b: string): boolean {
  const wildcard = (x: string) => x === '0.0.0.0' || x === '::' || x === '';
  return a.toLowerCase() === b.toLowerCase() || wildcard(a) || wildcard(b);
}

const hostPort = (address: string, port: number) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

/** Undefined when `s` is an IPv4/IPv6 address with an optional /prefix; otherwise the reason. */
export function cidrProblem(s: string): string | undefined {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const family = isIP(addr);
  if (family === 0 || addr.includes('%')) return 'expected an IPv4 or IPv6 address with an optional /prefix, such as 10.0.0.0/8 or fd00::/8';
  if (slash < 0) return undefined;
  const prefix = s.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix) || Number(prefix) > max) return `the prefix length must be 0 to ${max} for IPv${family}`;
  return undefined;
}

function checkCluster(c: ClusterConfig, path: Segment[], out: CrossCheckResult): void {
  let https = false;
  const issues = clusterResilienceIssues(c, path);
  out.errors.push(...issues.errors);
  out.warnings.push(...issues.warnings);
  if (c.discovery?.type === 'dns' && c.discovery.url?.startsWith('https:') === true) https = true;
  c.endpoints?.forEach((e, j) => {
    const url = typeof e === 'string' ? e : e.url;
    const at: Segment[] = typeof e === 'string' ? [...path, 'endpoints', j] : [...path, 'endpoints', j, 'url'];
    const problem = endpointProblem(url);
    if (problem) out.errors.push({ path: at, message: `invalid endpoint "${url}": ${problem}` });
    if (url.startsWith('https:')) https = true;
  });
  const tls = c.tls;
  if (tls && (tls.cert_file === undefined) !== (tls.key_file === undefined)) {
    out.errors.push({ path: [...path, 'tls'], message: 'cert_file and key_file must be set together' });
  }
  if (tls && !https) out.warnings.push({ path: [...path, 'tls'], message: 'tls has no effect: no endpoint uses https://' });
}

function endpointProblem(s: string): string | undefined {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return 'not a valid URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'the scheme must be http or https';
  if (url.hostname === '') return 'no host';
  if (url.username !== '' || url.password !== '') return 'credentials in the URL would leak into logs; use request_headers instead';
  // The cluster sends to the origin only; a path here would be silently ignored.
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return "must not have a path, query or fragment (use the route's rewrite.prefix)";
  return undefined;
}

function checkRoute(r: RouteConfig, path: Segment[], clusters: ReadonlySet<string>, out: CrossCheckResult): void {
  const before = out.errors.length;
  if (r.cluster !== undefined && !clusters.has(r.cluster)) {
    const known = [...clusters].join(', ');
    out.errors.push({
      path: [...path, 'cluster'],
      message: `unknown cluster "${r.cluster}" ${known ? `(defined clusters: ${known})` : '(no clusters are defined)'}`,
    });
  }
  const m = r.match;
  if (m?.path) {
    const set = (['exact', 'prefix', 'template'] as const).filter((k) => m.path![k] !== undefined);
    if (set.length !== 1) {
      const message = set.length === 0 ? 'set exactly one of exact, prefix or template' : `set only one of exact, prefix or template (found ${set.join(' and ')})`;
      out.errors.push({ path: [...path, 'match', 'path'], message });
    }
    if (m.path.template !== undefined) {
      const problem = templateProblem(m.path.template);
      if (problem) out.errors.push({ path: [...path, 'match', 'path', 'template'], message: `invalid template "${m.path.template}": ${problem}` });
    }
  }
  m?.host?.forEach((h, j) => {
    const problem = hostProblem(h);
    if (problem) out.errors.push({ path: [...path, 'match', 'host', j], message: `invalid host pattern "${h}": ${problem}` });
  });
  m?.headers?.forEach((s, j) => checkStringMatch(s, [...path, 'match', 'headers', j], out));
  m?.query?.forEach((s, j) => checkStringMatch(s, [...path, 'match', 'query', j], out));
  if (out.errors.length === before) {
    // The router has the last word: whatever it would refuse at startup, validate refuses now.
    try {
      compileMatch(m);
    } catch (err) {
      out.errors.push({ path: [...path, 'match'], message: lowerFirst((err as Error).message) });
    }
  }
  checkHeaderOps(r.request_headers, [...path, 'request_headers'], out);
  checkHeaderOps(r.response_headers, [...path, 'response_headers'], out);
  const resilience = routeResilienceIssues(r, path, clusters);
  out.errors.push(...resilience.errors);
  out.warnings.push(...resilience.warnings);
}

function checkStringMatch(s: StringMatchConfig, path: Segment[], out: CrossCheckResult): void {
  const set = (['exact', 'prefix', 'present'] as const).filter((k) => s[k] !== undefined);
  if (set.length > 1) out.errors.push({ path, message: `set at most one of exact, prefix or present (found ${set.join(' and ')})` });
}

/** Placeholders are whole segments ({id}); only the last may capture the rest ({path*}). */
export function templateProblem(t: string): string | undefined {
  const segments = t.split('/').slice(1);
  const names = new Set<string>();
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (!seg.includes('{') && !seg.includes('}')) continue;
    const m = /^\{([A-Za-z_][A-Za-z0-9_]*)(\*)?\}$/.exec(seg);
    if (!m) return `"${seg}" must be a whole segment placeholder such as {id} or {rest*}`;
    if (m[2] && i !== segments.length - 1) return `{${m[1]}*} must be the last segment`;
    if (names.has(m[1]!)) return `{${m[1]}} appears twice`;
    names.add(m[1]!);
  }
  return undefined;
}

/** example.com, *.example.com, *, an IPv4 address or a bracketed IPv6 address; no port. */
export function hostProblem(h: string): string | undefined {
  if (h.startsWith('[')) return h.endsWith(']') && isIP(h.slice(1, -1)) === 6 ? undefined : 'expected a bracketed IPv6 address such as [::1]';
  if (h.includes(':')) return 'must not include a port (ports are ignored when matching)';
  const labels = h.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label === '*') {
      if (i !== 0) return '"*." is allowed only as the leftmost label';
      continue; // "*" alone means any host
    }
    if (label.includes('*')) return '"*" must be a whole label, as in *.example.com';
    if (label === '') return 'empty label';
    if (!/^[A-Za-z0-9_~]([A-Za-z0-9_~-]{0,61}[A-Za-z0-9_~])?$/.test(label)) return `invalid label "${label}"`;
  }
  return undefined;
}

function checkHeaderOps(ops: HeaderOpsConfig | undefined, path: Segment[], out: CrossCheckResult): void {
  for (const kind of ['set', 'add'] as const) {
    for (const [name, value] of Object.entries(ops?.[kind] ?? {})) {
      const at = [...path, kind, name];
      if (!HEADER_NAME.test(name)) out.errors.push({ path: at, at: 'key', message: `invalid header name "${name}"` });
      // A CR or LF here would let config inject extra header lines into every request.
      else if (/[\r\n\0]/.test(value)) out.errors.push({ path: at, message: 'header value must not contain CR, LF or NUL' });
    }
  }
}

