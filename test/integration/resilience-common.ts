// Shared pieces of the resilience suites: upstreams whose behaviour a test switches at will,
// the admin /clusters view, and a bounded parallel request runner.
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import type http from 'node:http';

export type Mode = 'ok' | '503' | 'slow503' | 'hang' | 'slow';

export interface Switchable extends TestUpstream {
  mode: Mode;
  /** /healthz answers this status. */
  health: number;
  /** Requests other than health checks. */
  served(): number;
  healthChecks(): number;
  /** Ends every hung request with a 200. */
  release(): void;
  slowMs: number;
}

export async function switchable(name: string): Promise<Switchable> {
  const hung: http.ServerResponse[] = [];
  const s = {} as Switchable;
  const answer = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-upstream': name });
    res.end(body);
  };
  const up = await startUpstream((req, res) => {
    if (req.url === '/healthz') return answer(res, s.health, 'health');
    switch (s.mode) {
      case '503':
        return answer(res, 503, 'down');
      case 'slow503':
        setTimeout(() => answer(res, 503, 'down'), s.slowMs);
        return;
      case 'hang':
        hung.push(res);
        return;
      case 'slow':
        setTimeout(() => answer(res, 200, name), s.slowMs);
        return;
      default:
        return answer(res, 200, name);
    }
  });
  return Object.assign(s, up, {
    mode: 'ok' as Mode,
    health: 200,
    slowMs: 100,
    served: () => up.requests.filter((r) => r.url !== '/healthz').length,
    healthChecks: () => up.requests.filter((r) => r.url === '/healthz').length,
    release: () => {
      for (const r of hung.splice(0)) if (!r.writableEnded) answer(r, 200, name);
    },
  });
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; upstream: string | undefined; headers: Record<string, unknown> }> {
  const res = await request(url, { headers });
  const body = await res.body.text();
  return { status: res.statusCode, body, upstream: res.headers['x-upstream'] as string | undefined, headers: res.headers };
}

/** Runs `n` calls of `fn` with at most `concurrency` in flight; results in call order. */
export async function parallel<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

export interface EndpointView {
  endpoint: string;
  active_requests: number;
  attempts: number;
  health: { healthy: boolean; ejected: boolean; ejections: Record<string, number> };
}
export interface ClusterView {
  name: string;
  panic: boolean;
  retries: number;
  circuit_breakers: { overflow: Record<string, number>; active_requests: number };
  endpoints: EndpointView[];
}

export async function clusters(adminUrl: string): Promise<ClusterView[]> {
  const res = await request(`${adminUrl}/clusters`);
  return ((await res.body.json()) as { clusters: ClusterView[] }).clusters;
}

export async function metricsText(adminUrl: string): Promise<string> {
  const res = await request(`${adminUrl}/metrics`);
  return res.body.text();
}
