// Micro benchmark of the jwt filter: a verified-token cache hit (what a hot token costs) against a
// full verification (pre-checks + signature + claims) per algorithm, plus the parts of a hit.
// Build first (npx tsc -p .), then: node bench/micro/jwt.mjs [seconds-per-case]
import pino from 'pino';
import jwt from '../../dist/src/filters/jwt/index.js';
import { tokenHash } from '../../dist/src/filters/jwt/token-cache.js';
import { precheck } from '../../dist/src/filters/jwt/token.js';
import { makeCtx } from '../../dist/test/helpers/make-ctx.js';
import { makeKey, mint } from '../../dist/test/helpers/fake-idp.js';

import { bestNsPerOp, bestNsPerOpAsync, SECONDS, ROUNDS } from './timing.mjs';

let sink = 0;

function report(name, nsPerOp) {
  console.log(`${name.padEnd(52)} ${(1e9 / nsPerOp / 1e3).toFixed(1).padStart(9)} kops/s ${(nsPerOp / 1e3).toFixed(2).padStart(9)} µs/op`);
}

function benchSync(name, fn, warm = 20_000) {
  const best = bestNsPerOp(() => fn(), { warm });
  report(name, best);
  return best;
}

async function benchAsync(name, fn, warm = 300) {
  const best = await bestNsPerOpAsync(fn, { warm });
  report(name, best);
  return best;
}

const ISS = 'https://idp.example.com';
const keys = { RS256: await makeKey('RS256', 'rs'), ES256: await makeKey('ES256', 'es'), EdDSA: await makeKey('EdDSA', 'ed') };
const deps = { clock: { now: () => Date.now() }, log: pino({ level: 'silent' }) };
const cfg = (maxEntries) => ({ issuers: [{ issuer: ISS, jwks: { keys: Object.values(keys).map((k) => k.publicJwk) }, audiences: ['api'], roles_claim: 'groups' }], cache: { max_entries: maxEntries } });
const claims = { iss: ISS, aud: 'api', sub: 'alice', scope: 'orders:read orders:write', groups: ['a', 'b'], email: 'alice@example.com', exp: Math.floor(Date.now() / 1000) + 3600 };
const tokens = Object.fromEntries(await Promise.all(Object.entries(keys).map(async ([alg, k]) => [alg, await mint(k, claims)])));

console.log(`node ${process.version}, ${SECONDS}s per case, best of ${ROUNDS} rounds; token ${tokens.RS256.length} bytes (RS256)\n`);

// One context reused; what a filter appends to it per request is reset so nothing accumulates.
const hot = jwt.create(cfg(10_000), deps);
const ctx = makeCtx({ headers: { authorization: `Bearer ${tokens.RS256}` } });
await hot.onRequest(ctx);
const hit = benchSync('cache hit: onRequest (extract + sha256 + lookup)', () => {
  ctx.upstreamRemove = undefined;
  if (hot.onRequest(ctx) !== undefined) throw new Error('not a sync hit');
});
benchSync('  part: sha256 of the token', () => (sink += tokenHash(tokens.RS256).length));
benchSync('  part: pre-crypto checks (miss path, for scale)', () => (sink += precheck(tokens.RS256).alg.length));

const full = {};
for (const alg of Object.keys(tokens)) {
  const cold = jwt.create(cfg(0), deps); // cache off: every call verifies
  const c = makeCtx({ headers: { authorization: `Bearer ${tokens[alg]}` } });
  full[alg] = await benchAsync(`full verify ${alg} (cache off)`, async () => {
    c.upstreamRemove = undefined;
    if ((await cold.onRequest(c)) !== undefined) throw new Error('refused');
  });
}
console.log(`\nhit vs full verify: ${Object.entries(full).map(([a, ns]) => `${a} ${(ns / hit).toFixed(0)}x`).join(', ')}`);
if (sink === 42) console.log('');
