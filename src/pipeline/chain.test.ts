import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRequestFilters } from './chain.js';
import type { Filter, Reply } from './filter.js';
import { makeCtx } from '../../test/helpers/make-ctx.js';

const deny: Reply = { status: 403, code: 'authz.denied' as const, message: 'no' };

function recorder() {
  const errors: Array<{ err: unknown; index: number }> = [];
  return { errors, onError: (err: unknown, _ctx: unknown, index: number) => void errors.push({ err, index }) };
}

test('all-synchronous chains stay synchronous, in order, and stop at the first reply', () => {
  const seen: string[] = [];
  const filters: Filter[] = [
    { onRequest: () => void seen.push('a') },
    {},
    { onRequest: () => (seen.push('b'), deny) },
    { onRequest: () => void seen.push('never') },
  ];
  const { errors, onError } = recorder();
  const r = runRequestFilters(filters, makeCtx({}), onError);
  assert.equal(r, deny, 'a value, not a promise');
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(errors.length, 0);
  assert.equal(runRequestFilters([{ onRequest: () => undefined }], makeCtx({}), onError), undefined);
});

test('a promise is awaited only from the filter that returned it; later filters still run in order', async () => {
  const seen: string[] = [];
  const filters: Filter[] = [
    { onRequest: () => void seen.push('sync') },
    { onRequest: async () => void seen.push('async') },
    { onRequest: () => (seen.push('last'), deny) },
  ];
  const r = runRequestFilters(filters, makeCtx({}), recorder().onError);
  assert.ok(r instanceof Promise);
  assert.deepEqual(await r, deny);
  assert.deepEqual(seen, ['sync', 'async', 'last']);
});

test('a filter that throws gets the request a 500 with a reason code, and the error is reported', () => {
  const boom = new Error('bug');
  const { errors, onError } = recorder();
  const r = runRequestFilters([{ onRequest: () => undefined }, { onRequest: () => { throw boom; } }, { onRequest: () => deny }], makeCtx({}), onError);
  assert.deepEqual(r, { status: 500, code: 'gateway.internal_error', message: 'the gateway failed to handle the request' });
  assert.deepEqual(errors, [{ err: boom, index: 1 }]);
});

test('a filter that rejects (first or later in the async part) gets a 500 and never a rejected chain', async () => {
  const boom = new Error('async bug');
  for (const filters of [
    [{ onRequest: async () => { throw boom; } }] as Filter[],
    [{ onRequest: async () => undefined }, { onRequest: () => { throw boom; } }] as Filter[],
  ]) {
    const { errors, onError } = recorder();
    const r = await runRequestFilters(filters, makeCtx({}), onError);
    assert.equal(r?.status, 500);
    assert.equal(r?.code, 'gateway.internal_error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.err, boom);
    assert.equal(errors[0]!.index, filters.length - 1);
  }
});

test('every refusal is recorded once as a decision; a filter that recorded its own is not doubled', () => {
  const ctx = makeCtx({});
  const r = runRequestFilters([{ name: 'jwt', onRequest: () => ({ status: 401, code: 'authn.jwt.expired' as const }) }], ctx, recorder().onError);
  assert.equal((r as Reply).code, 'authn.jwt.expired');
  assert.deepEqual(ctx.decisions, [{ filter: 'jwt', allowed: false, code: 'authn.jwt.expired', enforced: true }]);

  const own = makeCtx({});
  const filter: Filter = {
    name: 'authz',
    onRequest: (c) => {
      c.recordDecision({ filter: 'authz', allowed: false, code: 'authz.explicit_deny', policy: 'p', statement: 's', enforced: true });
      return deny;
    },
  };
  runRequestFilters([filter], own, recorder().onError);
  assert.equal(own.decisions?.length, 1);
  assert.equal(own.decisions?.[0]?.policy, 'p');
});

test('shadow mode: the refusal is recorded as not enforced and the chain goes on (sync and async)', async () => {
  for (const async of [false, true]) {
    const seen: string[] = [];
    const ctx = makeCtx({});
    const shadow: Filter = { name: 'authz', shadow: true, onRequest: () => (async ? Promise.resolve(deny) : deny) };
    const r = await runRequestFilters([shadow, { onRequest: () => void seen.push('next') }], ctx, recorder().onError);
    assert.equal(r, undefined, `${async}: not enforced`);
    assert.deepEqual(seen, ['next']);
    assert.deepEqual(ctx.decisions, [{ filter: 'authz', allowed: false, code: deny.code, enforced: false }]);
  }
});
