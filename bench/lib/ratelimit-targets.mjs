// Rate-limited Gatehouse targets (issue 5's benchmark): the plain `gatehouse` catch-all route with
// a rate_limit filter whose bucket never runs dry (rate 10^6/s, burst 10^8, keyed by client
// address), each reported as a same-round req/s ratio to the unlimited `gatehouse` target.
//
//   gatehouse-ratelimit-memory  rate_limit_store: memory (the default): one Map lookup and update
//   gatehouse-ratelimit-redis   rate_limit_store: redis, a redis-server started here (persistence
//                               off) on the load core; one EVALSHA per request, auto-pipelined
//
// Targets (issue): memory >= 0.97, redis >= 0.70 of the unlimited route.
import net from 'node:net';
import path from 'node:path';
import { freePort, hasCommand, startPinned } from './processes.mjs';
import { gatehouseTarget } from './targets.mjs';

export const RATELIMIT_BASELINE = 'gatehouse';

const route = {
  filters: {
    rate_limit: { limits: [{ name: 'bench', rate: 1_000_000, burst: 100_000_000, key: ['client_ip'] }] },
  },
};

/** (g) Gatehouse + rate_limit on the memory store. */
export function gatehouseRateLimitMemoryTarget({ name = 'gatehouse-ratelimit-memory', label = '(g) Gatehouse + rate_limit (memory store)', ...opts } = {}) {
  return Object.assign(gatehouseTarget({ name, label, route, ...opts }), { baseline: RATELIMIT_BASELINE, measureAt1: false });
}

/** (h) Gatehouse + rate_limit on a local Redis (started and stopped with the target). */
export function gatehouseRateLimitRedisTarget({ name = 'gatehouse-ratelimit-redis', label = '(h) Gatehouse + rate_limit (redis store, auto-pipelined)', ...opts } = {}) {
  let redis = null;
  const t = gatehouseTarget({
    name,
    label,
    route,
    ...opts,
    config: async (env) => {
      if (!hasCommand('redis-server')) {
        const err = new Error('redis-server not installed (apt-get install redis-server)');
        throw err;
      }
      const port = await freePort();
      redis = startPinned({
        name: `${name}-redis`,
        argv: ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        cpu: env.cpus.load,
        cwd: env.dir,
        logFile: path.join(env.dir, `${name}-redis.out`),
      });
      await waitForRedis(port);
      return { rate_limit_store: { type: 'redis', redis: { url: `redis://127.0.0.1:${port}` } } };
    },
  });
  const stop = t.stop.bind(t);
  return Object.assign(t, {
    baseline: RATELIMIT_BASELINE,
    measureAt1: false,
    async stop() {
      await stop();
      await redis?.stop();
      redis = null;
    },
  });
}

async function waitForRedis(port, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        s.destroy();
        resolve(String(d).startsWith('+PONG'));
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`redis-server did not answer on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
