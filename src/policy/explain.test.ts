import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy } from './compile.js';
import { buildEvaluator } from './evaluate.js';
import { evaluatorFor, identity, request, type RequestSpec } from './fixtures.js';
import type { Attachment } from './types.js';

test('the trace names every statement and why it did or did not match', () => {
  const ops = compilePolicy('ops', { Statement: { Effect: 'Allow', Action: '*', Resource: '*' } });
  const main = compilePolicy('main', {
    Statement: [
      { Sid: 'Writes', Effect: 'Allow', Action: 'http:POST', Resource: '*' },
      { Sid: 'Billing', Effect: 'Allow', Action: 'http:GET', Resource: 'route/billing/*' },
      { Sid: 'Admins', Effect: 'Allow', Action: 'http:GET', Resource: '*', Principal: { Role: 'admin' } },
      { Sid: 'Keyed', Effect: 'Allow', Action: 'http:GET', Resource: '*', Condition: { StringEquals: { 'request.headers.authorization': 'Bearer s3cret' } } },
      { Sid: 'Open', Effect: 'Allow', Action: 'http:GET', Resource: 'route/api/public/*' },
    ],
  });
  const ev = buildEvaluator({ route: 'api', attachments: [{ policy: ops, roles: ['ops'] }, { policy: main, roles: undefined }] });
  const req = request({ path: '/public/x', headers: { authorization: 'Bearer hunter2' } });
  const { decision, trace } = ev.explain(req);
  assert.deepEqual(decision, ev.evaluate(req));
  assert.equal(decision.statement, 'Open');
  assert.deepEqual(
    trace.map((t) => [t.policy, t.statement, t.via, t.outcome]),
    [
      ['ops', '#0', 'role:ops', 'not_attached'],
      ['main', 'Writes', 'route', 'action_mismatch'],
      ['main', 'Billing', 'route', 'resource_mismatch'],
      ['main', 'Admins', 'route', 'principal_mismatch'],
      ['main', 'Keyed', 'route', 'condition_failed'],
      ['main', 'Open', 'route', 'matched'],
    ],
  );
  const detail = (sid: string) => trace.find((t) => t.statement === sid)!.detail;
  assert.match(detail('Writes'), /http:GET is not in Action http:POST/);
  assert.match(detail('Billing'), /route\/api\/public\/x does not match Resource route\/billing\/\*/);
  assert.match(detail('Admins'), /"alice" .*does not match Principal/);
  // Credentials never reach the trace, whatever the policy compares them with.
  assert.match(detail('Keyed'), /StringEquals request\.headers\.authorization: request value <redacted>/);
  assert.doesNotMatch(JSON.stringify(trace), /hunter2/);
  assert.equal(ev.explain(request({ identity: identity({ roles: ['ops'] }) })).trace[0]!.outcome, 'matched');
});

// mulberry32: a tiny seeded PRNG, so a failure reproduces from its seed.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACTIONS = ['*', 'http:*', 'http:GET', 'http:g*', 'http:P?T', ['http:DELETE', 'http:POST'], 'http:PROPFIND'];
const RESOURCES = ['*', 'route/*', 'route/api/*', 'route/API/*', 'route/billing/*', 'route/ap*', 'route/*/admin/*', 'route/api/users/${identity.sub}', 'route/api', 'route/api/?'];
const PRINCIPALS = [undefined, '*', { Role: 'admin' }, { Subject: 'bob' }, { AuthMethod: 'api_key', Role: 'ops*' }];
const CONDITIONS = [
  undefined,
  { StringEquals: { 'identity.roles': 'admin' } },
  { StringNotEquals: { 'request.headers.x-env': 'prod' } },
  { 'ForAllValues:StringLike': { 'identity.scopes': 'read:*' } },
  { IpAddress: { 'request.ip': '10.0.0.0/8' } },
  { Null: { 'identity.sub': 'false' } },
  { NumericLessThanIfExists: { 'request.query.n': 5 } },
];

test('evaluate() and explain() agree over a randomized table', () => {
  const rnd = prng(20250601);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const people = [undefined, identity(), identity({ subject: 'bob', roles: ['admin'] }), identity({ kind: 'api_key', roles: ['ops1'], scopes: ['read:a', 'write:b'] })];
  let denies = 0;
  let allows = 0;
  for (let round = 0; round < 150; round++) {
    const attachments: Attachment[] = [];
    const nPolicies = 1 + Math.floor(rnd() * 4);
    for (let p = 0; p < nPolicies; p++) {
      const statements = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => {
        const s: Record<string, unknown> = { Effect: rnd() < 0.3 ? 'Deny' : 'Allow' };
        s[rnd() < 0.2 ? 'NotAction' : 'Action'] = pick(ACTIONS);
        s[rnd() < 0.2 ? 'NotResource' : 'Resource'] = pick(RESOURCES);
        const principal = pick(PRINCIPALS);
        if (principal !== undefined) s[rnd() < 0.2 ? 'NotPrincipal' : 'Principal'] = principal;
        const condition = pick(CONDITIONS);
        if (condition !== undefined) s.Condition = condition;
        return s;
      });
      attachments.push({ policy: compilePolicy(`p${p}`, { Statement: statements }), roles: rnd() < 0.3 ? [pick(['admin', 'ops1', 'x'])] : undefined });
    }
    const route = pick(['api', 'billing']);
    const ev = buildEvaluator({ route, attachments, allowAuthenticated: rnd() < 0.2, caseInsensitiveDeny: rnd() < 0.8 });
    for (let r = 0; r < 20; r++) {
      const spec: RequestSpec = {
        route,
        method: pick(['GET', 'POST', 'PUT', 'DELETE', 'PROPFIND', 'PATCH']),
        path: pick(['/', '/x', '/admin/y', '/ADMIN/y', '/users/alice', '/users/bob', '/a/b/c']),
        ip: pick(['10.1.1.1', '::ffff:10.2.2.2', '192.0.2.1']),
        headers: rnd() < 0.5 ? { 'x-env': pick(['prod', 'dev']) } : {},
        query: rnd() < 0.5 ? { n: pick(['1', '9', 'x']) } : {},
        identity: pick(people),
      };
      const req = request(spec);
      const fast = ev.evaluate(req);
      const slow = ev.explain(req).decision;
      assert.deepEqual(fast, slow, `round ${round} ${JSON.stringify(spec)} ${JSON.stringify(attachments.map((a) => a.roles))}`);
      if (fast.allowed) allows++;
      else if (fast.reason === 'authz.explicit_deny') denies++;
    }
  }
  // The table must exercise both outcomes, or the agreement above proves little.
  assert.ok(allows > 200 && denies > 200, `allows ${allows}, denies ${denies}`);
});

test('explain on a statement set with no attachments is a plain implicit deny', () => {
  const ev = evaluatorFor([]);
  const { decision, trace } = ev.explain(request());
  assert.equal(decision.reason, 'authz.no_matching_allow');
  assert.deepEqual(trace, []);
});
