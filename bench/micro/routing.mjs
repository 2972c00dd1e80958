// Micro benchmark of the routing layer: path normalization (fast and slow path) and Router.match
// over a 50-route config, compared with a plain linear scan to check that the host index pays.
// Build first (npx tsc -p .), then: node bench/micro/routing.mjs [seconds-per-case]
import { normalizePath } from '../../dist/src/routing/normalize-path.js';
import { normalizeHost } from '../../dist/src/routing/host.js';
import { Router } from '../../dist/src/routing/router.js';
import { compileMatch, matchRoute } from '../../dist/src/routing/match.js';

import { bestNsPerOp, SECONDS, ROUNDS } from './timing.mjs';

let sink = 0; // results feed this so the JIT cannot drop the work

function bench(name, inputs, fn) {
  const n = inputs.length;
  const best = bestNsPerOp((i) => fn(inputs[i % n]), { warm: 50_000, batch: 10_000 });
  console.log(`${name.padEnd(56)} ${(1e3 / best).toFixed(2).padStart(7)} Mops/s ${best.toFixed(1).padStart(8)} ns/op`);
}

// --- normalizePath ---
const LIMIT = 16 * 1024;
const fast = ['/api/v1/users/42', '/static/js/app.3f9a1c.min.js', '/api/v1/orders?limit=10&offset=20', '/'];
const slow = ['/api/v1/../v1/users/%34%32', '//api//v1/users/', '/files/caf%c3%a9/r%C3%A9sum%C3%A9.pdf', '/a/./b/../c/'];
for (const t of [...fast, ...slow]) if (!normalizePath(t, LIMIT).ok) throw new Error(`bench input rejected: ${t}`);

console.log(`node ${process.version}, ${SECONDS}s per case, best of ${ROUNDS} rounds\n`);
// Calibration: the machine's speed for the least any path scan must do (read each char, return an
// object), so figures from different machines can be compared as multiples of it.
const scanOnly = (t) => {
  let h = 0;
  for (let i = 0; i < t.length; i++) h += t.charCodeAt(i);
  return { ok: true, path: t, h };
};
bench('baseline: charCodeAt scan + result object (fast set)', fast, (t) => (sink += scanOnly(t).h));
bench('normalizePath fast path (4 common paths)', fast, (t) => (sink += normalizePath(t, LIMIT).ok ? 1 : 0));
bench('normalizePath slow path (%, //, dot segments)', slow, (t) => (sink += normalizePath(t, LIMIT).ok ? 1 : 0));
bench('normalizePath reject (%2f)', ['/a/b%2fc/d'], (t) => (sink += normalizePath(t, LIMIT).ok ? 1 : 0));
bench('normalizeHost', ['api.example.com', 'API.Example.com:8443', 'www.example.com.'], (h) => (sink += normalizeHost(h).length));

// --- Router.match over 50 routes ---
const routes = [];
const add = (match) => routes.push({ match, value: routes.length });
add({ path: { exact: '/healthz' } });
add({ host: ['admin.example.com'], path: { prefix: '/' }, headers: [{ name: 'x-admin-token' }] });
for (const svc of ['users', 'orders', 'items', 'carts', 'payments', 'invoices', 'search', 'reviews', 'shipping']) {
  add({ host: ['api.example.com'], methods: ['GET'], path: { template: `/v1/${svc}/{id}` } });
  add({ host: ['api.example.com'], methods: ['POST', 'PUT', 'PATCH'], path: { template: `/v1/${svc}/{id}` } });
  add({ host: ['api.example.com'], path: { exact: `/v1/${svc}` } });
  add({ host: ['api.example.com'], path: { prefix: `/v2/${svc}` }, query: [{ name: 'beta', present: false }] });
}
for (const area of ['docs', 'blog', 'static', 'assets', 'images', 'help', 'careers', 'press']) add({ host: ['www.example.com'], path: { prefix: `/${area}` } });
add({ host: ['*.tenants.example.com'], path: { template: '/t/{tenant}/{rest*}' } });
add({ host: ['*.tenants.example.com'], path: { prefix: '/' } });
add({ host: ['www.example.com'], path: { prefix: '/' } });
add({ path: { prefix: '/' }, methods: ['GET', 'HEAD'] });

const input = (host, method, path, query = '', headers = {}) => ({ host, method, path, query, header: (n) => headers[n] });
const requests = {
  'first route (exact /healthz)': [input('api.example.com', 'GET', '/healthz')],
  'api template, early (users/{id})': [input('api.example.com', 'GET', '/v1/users/42')],
  'api prefix + query matcher, late (v2/reviews)': [input('api.example.com', 'GET', '/v2/reviews/9', 'sort=asc')],
  'www prefix (other host)': [input('www.example.com', 'GET', '/static/app.js')],
  'wildcard host template': [input('acme.tenants.example.com', 'GET', '/t/acme/a/b')],
  'unknown host, catch-all (last route)': [input('other.test', 'GET', '/x')],
  'miss (POST to unknown host)': [input('other.test', 'POST', '/x')],
};

const router = new Router(routes);
const linear = routes.map((r) => ({ match: compileMatch(r.match), value: r.value }));
const linearMatch = (req) => {
  for (const r of linear) {
    const params = matchRoute(r.match, req, undefined);
    if (params !== null) return { value: r.value, params };
  }
  return undefined;
};

console.log(`\nRouter.match, ${routes.length} routes (indexed Router vs linear scan)`);
for (const [name, reqs] of Object.entries(requests)) {
  if (router.match(reqs[0])?.value !== linearMatch(reqs[0])?.value) throw new Error(`router and linear scan disagree: ${name}`);
  bench(`  Router  ${name}`, reqs, (q) => (sink += router.match(q)?.value ?? -1));
  bench(`  linear  ${name}`, reqs, (q) => (sink += linearMatch(q)?.value ?? -1));
}
const mixed = Object.values(requests).flat();
bench('  Router  mixed', mixed, (q) => (sink += router.match(q)?.value ?? -1));
bench('  linear  mixed', mixed, (q) => (sink += linearMatch(q)?.value ?? -1));

if (sink === 0.5) console.log(sink);
