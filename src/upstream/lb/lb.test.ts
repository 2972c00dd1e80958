// Contract suite for the balancers, plus the properties each policy promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pool } from 'undici';
import { Endpoint, newEndpointStats } from '../endpoint.js';
import { Breaker, DEFAULT_BREAKER_LIMITS, newOverflowStats } from '../breaker.js';
import type { BalancerFactory } from './balancer.js';
import { roundRobin } from './round-robin.js';
import { random } from './random.js';
import { leastRequest } from './least-request.js';
import { hashKey, ringHash } from './ring-hash.js';
import { rng as prng } from '../../../test/helpers/prng.js';

const breaker = new Breaker(DEFAULT_BREAKER_LIMITS, newOverflowStats());
export function ep(port: number, weight = 1, priority = 0): Endpoint {
  return new Endpoint({ origin: `http://127.0.0.1:${port}`, weight, priority }, {} as Pool, breaker, undefined, newEndpointStats());
}

const POLICIES: [string, BalancerFactory][] = [['round_robin', roundRobin], ['random', random], ['least_request', leastRequest], ['ring_hash', ringHash]];

for (const [name, factory] of POLICIES) {
  test(`${name}: picks only from its hosts, nothing from an empty set`, () => {
    const hosts = [ep(1), ep(2), ep(3)];
    const b = factory(hosts, prng(1));
    for (let i = 0; i < 300; i++) assert.ok(hosts.includes(b.pick(hashKey(`k${i}`), undefined)!));
    assert.equal(factory([], prng(1)).pick(1, undefined), undefined);
  });

  test(`${name}: avoids endpoints already tried while another is left, uses them when none is`, () => {
    const hosts = [ep(1), ep(2), ep(3)];
    const b = factory(hosts, prng(2));
    for (let i = 0; i < 300; i++) {
      const e = b.pick(hashKey(`k${i}`), [hosts[0]!, hosts[1]!]);
      assert.equal(e, hosts[2]);
    }
    assert.ok(hosts.includes(b.pick(7, hosts)!));
  });
}

test('round_robin: follows weights exactly over a cycle', () => {
  const hosts = [ep(1, 1), ep(2, 3)];
  const b = roundRobin(hosts, prng(3));
  const counts = new Map<Endpoint, number>();
  for (let i = 0; i < 400; i++) {
    const e = b.pick(undefined, undefined)!;
    counts.set(e, (counts.get(e) ?? 0) + 1);
  }
  assert.equal(counts.get(hosts[0]!), 100);
  assert.equal(counts.get(hosts[1]!), 300);
});

test('random: follows weights (within 10% over 20k picks)', () => {
  const hosts = [ep(1, 1), ep(2, 3)];
  const b = random(hosts, prng(4));
  let heavy = 0;
  for (let i = 0; i < 20_000; i++) if (b.pick(undefined, undefined) === hosts[1]) heavy++;
  assert.ok(Math.abs(heavy / 20_000 - 0.75) < 0.075, `heavy share ${heavy / 20_000}`);
});

test('least_request: of two choices the one with fewer requests in flight wins', () => {
  const hosts = [ep(1), ep(2), ep(3)];
  hosts[0]!.active = 10;
  hosts[1]!.active = 10;
  hosts[2]!.active = 0;
  const b = leastRequest(hosts, prng(5));
  let idle = 0;
  for (let i = 0; i < 3000; i++) if (b.pick(undefined, undefined) === hosts[2]) idle++;
  // P2C with distinct choices: the idle host is one of the two with probability 2/3.
  assert.ok(idle / 3000 > 0.6, `idle share ${idle / 3000}`);
});

test('least_request: respects weights when loads are equal', () => {
  const hosts = [ep(1, 1), ep(2, 4)];
  const b = leastRequest(hosts, prng(6));
  let heavy = 0;
  for (let i = 0; i < 10_000; i++) if (b.pick(undefined, undefined) === hosts[1]) heavy++;
  assert.ok(heavy / 10_000 > 0.7, `heavy share ${heavy / 10_000}`);
});

test('ring_hash: spreads keys and, when an endpoint leaves, moves only its keys (bounded remapping)', () => {
  const hosts = [ep(1), ep(2), ep(3)];
  const before = ringHash(hosts, prng(7));
  const after = ringHash([hosts[0]!, hosts[2]!], prng(7));
  const N = 10_000;
  const share = new Map<Endpoint, number>();
  let moved = 0;
  for (let i = 0; i < N; i++) {
    const h = hashKey(`user-${i}`);
    const a = before.pick(h, undefined)!;
    const b = after.pick(h, undefined)!;
    share.set(a, (share.get(a) ?? 0) + 1);
    if (a !== hosts[1]) assert.equal(b, a, `key user-${i} moved although its endpoint stayed`);
    if (a !== b) moved++;
  }
  for (const h of hosts) {
    const s = share.get(h)! / N;
    assert.ok(s > 0.2 && s < 0.47, `share of ${h.origin}: ${s}`);
  }
  // Exactly the removed endpoint's keys moved: about a third, far from a full reshuffle.
  assert.equal(moved, share.get(hosts[1]!));
  assert.ok(moved / N < 0.47, `moved ${moved / N}`);
});

test('ring_hash: the same key always lands on the same endpoint; no key means random', () => {
  const hosts = [ep(1), ep(2), ep(3)];
  const b = ringHash(hosts, prng(8));
  const h = hashKey('session-abc');
  const first = b.pick(h, undefined);
  for (let i = 0; i < 50; i++) assert.equal(b.pick(h, undefined), first);
  const seen = new Set<Endpoint | undefined>();
  for (let i = 0; i < 200; i++) seen.add(b.pick(undefined, undefined));
  assert.equal(seen.size, 3);
});
