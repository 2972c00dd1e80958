import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy } from './compile.js';
import { buildEvaluator } from './evaluate.js';
import { evaluatorFor, identity, request, type RequestSpec } from './fixtures.js';
import { POLICY_REASONS } from './types.js';

const allowAll = { Statement: { Effect: 'Allow', Action: 'http:*', Resource: '*' } };

test('explicit Deny in one policy beats an Allow in another', () => {
  const ev = evaluatorFor([allowAll, { Statement: [{ Sid: 'NoDelete', Effect: 'Deny', Action: 'http:DELETE', Resource: 'route/api/*' }] }]);
  const d = ev.evaluate(request({ method: 'DELETE', path: '/orders/1' }));
  assert.deepEqual({ ...d }, {
    allowed: false,
    reason: 'authz.explicit_deny',
    policy: 'p1',
    statement: 'NoDelete',
    condition: undefined,
    explanation: undefined,
    remediation: undefined,
  });
  assert.equal(ev.evaluate(request({ method: 'GET', path: '/orders/1' })).allowed, true);
  assert.equal(ev.evaluate(request({ method: 'GET' })).policy, 'p0');
});

test('implicit deny, NotAction and NotResource', () => {
  const ev = evaluatorFor([
    { Statement: [{ Effect: 'Allow', NotAction: ['http:DELETE', 'http:P*'], NotResource: ['route/api/admin/*', 'route/api/internal'] }] },
  ]);
  const cases: [RequestSpec, boolean][] = [
    [{ method: 'GET', path: '/orders' }, true],
    [{ method: 'get', path: '/orders' }, true], // unusual spelling takes the un-indexed path
    [{ method: 'DELETE', path: '/orders' }, false],
    [{ method: 'PUT', path: '/orders' }, false],
    [{ method: 'GET', path: '/admin/users' }, false],
    [{ method: 'GET', path: '/internal' }, false],
    [{ method: 'GET', path: '/internal/x' }, true],
    [{ method: 'PROPFIND', path: '/x' }, false], // P* matches it
    [{ method: 'MKCOL', path: '/x' }, true],
  ];
  for (const [spec, want] of cases) {
    const d = ev.evaluate(request(spec));
    assert.equal(d.allowed, want, JSON.stringify(spec));
    if (!want) assert.equal(d.reason, 'authz.no_matching_allow');
  }
});

test('Principal and NotPrincipal, including anonymous callers', () => {
  const anon = undefined;
  const admin = identity({ roles: ['staff', 'admin'] });
  const bob = identity({ subject: 'bob', kind: 'api_key', issuer: undefined });
  const cases: [principal: Record<string, unknown>, who: ReturnType<typeof identity> | undefined, allowed: boolean][] = [
    [{ Principal: '*' }, anon, true],
    [{ Principal: '*' }, bob, true],
    [{ Principal: { Role: 'admin' } }, admin, true],
    [{ Principal: { Role: 'adm*' } }, admin, true],
    [{ Principal: { Role: 'admin' } }, bob, false],
    [{ Principal: { Role: 'admin' } }, anon, false],
    [{ Principal: { Subject: ['carol', 'bob'] } }, bob, true],
    [{ Principal: { Issuer: 'https://idp.example' } }, admin, true],
    [{ Principal: { Issuer: 'https://idp.example' } }, bob, false],
    [{ Principal: { AuthMethod: 'api_key' } }, bob, true],
    // OR across keys
    [{ Principal: { Role: 'admin', Subject: 'bob' } }, bob, true],
    [{ NotPrincipal: { Role: 'admin' } }, bob, true],
    [{ NotPrincipal: { Role: 'admin' } }, admin, false],
    [{ NotPrincipal: { Role: 'admin' } }, anon, true],
    [{ NotPrincipal: '*' }, anon, false],
    [{}, anon, true],
  ];
  for (const [principal, who, want] of cases) {
    const ev = evaluatorFor([{ Statement: { Effect: 'Allow', Action: '*', Resource: '*', ...principal } }]);
    assert.equal(ev.evaluate(request({ identity: who })).allowed, want, `${JSON.stringify(principal)} / ${who?.subject ?? 'anonymous'}`);
  }
});

test('users read only their own resource via ${identity.sub}', () => {
  const ev = evaluatorFor([
    { Statement: { Effect: 'Allow', Action: 'http:GET', Resource: ['route/api/users/${identity.sub}', 'route/api/users/${identity.sub}/*'] } },
  ]);
  const cases: [string, ReturnType<typeof identity> | undefined, boolean][] = [
    ['/users/alice', identity({ subject: 'alice' }), true],
    ['/users/alice/orders', identity({ subject: 'alice' }), true],
    ['/users/bob', identity({ subject: 'alice' }), false],
    ['/users/alicex', identity({ subject: 'alice' }), false],
    // A subject containing `*` is a literal, not a wildcard.
    ['/users/*', identity({ subject: '*' }), true],
    ['/users/bob', identity({ subject: '*' }), false],
    ['/users/bob', identity({ subject: 'b?b' }), false],
    // No identity: the variable has no value, so the entry never matches (not even as "").
    ['/users/', undefined, false],
    ['/users//x', undefined, false],
  ];
  for (const [path, who, want] of cases) assert.equal(ev.evaluate(request({ path, identity: who })).allowed, want, `${path} as ${who?.subject}`);
});

test('variable defaults and escapes in resources', () => {
  const ev = evaluatorFor([
    { Statement: [{ Effect: 'Allow', Action: '*', Resource: "route/api/t/${identity.claims.tenant, 'public'}/*" }, { Effect: 'Allow', Action: '*', Resource: 'route/api/literal/${*}' }] },
  ]);
  assert.equal(ev.evaluate(request({ path: '/t/public/x', identity: undefined })).allowed, true);
  assert.equal(ev.evaluate(request({ path: '/t/acme/x', identity: identity({ claims: { tenant: 'acme' } }) })).allowed, true);
  assert.equal(ev.evaluate(request({ path: '/t/public/x', identity: identity({ claims: { tenant: 'acme' } }) })).allowed, false);
  assert.equal(ev.evaluate(request({ path: '/literal/*' })).allowed, true);
  assert.equal(ev.evaluate(request({ path: '/literal/x' })).allowed, false);
});

test('Deny resources ignore case (by default); Allow resources never do', () => {
  const docs = [allowAll, { Statement: { Effect: 'Deny', Action: '*', Resource: 'route/*/admin/*' } }];
  const on = evaluatorFor(docs);
  const off = evaluatorFor(docs, { caseInsensitiveDeny: false });
  assert.equal(on.evaluate(request({ path: '/admin/x' })).allowed, false);
  assert.equal(on.evaluate(request({ path: '/ADMIN/x' })).allowed, false);
  assert.equal(on.evaluate(request({ path: '/Admin/x' })).reason, 'authz.explicit_deny');
  assert.equal(off.evaluate(request({ path: '/ADMIN/x' })).allowed, true);

  const allowOnly = evaluatorFor([{ Statement: { Effect: 'Allow', Action: '*', Resource: 'route/api/public/*' } }]);
  assert.equal(allowOnly.evaluate(request({ path: '/public/x' })).allowed, true);
  assert.equal(allowOnly.evaluate(request({ path: '/PUBLIC/x' })).allowed, false);

  // NotResource keeps the same direction of safety: an Allow's exception ignores case...
  const allowExcept = evaluatorFor([{ Statement: { Effect: 'Allow', Action: '*', NotResource: 'route/api/admin/*' } }]);
  assert.equal(allowExcept.evaluate(request({ path: '/ADMIN/x' })).allowed, false);
  // ...and a Deny's exception does not.
  const denyExcept = evaluatorFor([allowAll, { Statement: { Effect: 'Deny', Action: '*', NotResource: 'route/api/public/*' } }]);
  assert.equal(denyExcept.evaluate(request({ path: '/public/x' })).allowed, true);
  assert.equal(denyExcept.evaluate(request({ path: '/PUBLIC/x' })).allowed, false);
});

test('role attachments apply only to callers holding one of the roles', () => {
  const p = compilePolicy('ops', allowAll);
  const ev = buildEvaluator({ route: 'api', attachments: [{ policy: p, roles: ['ops', 'sre'] }] });
  assert.equal(ev.evaluate(request({ identity: identity({ roles: ['sre'] }) })).allowed, true);
  assert.equal(ev.evaluate(request({ identity: identity({ roles: ['dev'] }) })).allowed, false);
  assert.equal(ev.evaluate(request({ identity: undefined })).allowed, false);
  // A role-attached Deny does not touch other callers.
  const deny = compilePolicy('contractors', { Statement: { Effect: 'Deny', Action: 'http:DELETE', Resource: '*' } });
  const ev2 = buildEvaluator({ route: 'api', attachments: [{ policy: compilePolicy('all', allowAll), roles: undefined }, { policy: deny, roles: ['contractor'] }] });
  assert.equal(ev2.evaluate(request({ method: 'DELETE', identity: identity({ roles: ['staff'] }) })).allowed, true);
  assert.equal(ev2.evaluate(request({ method: 'DELETE', identity: identity({ roles: ['contractor'] }) })).allowed, false);
});

test('allowAuthenticated lets any identified caller through when nothing denies', () => {
  const deny = { Statement: { Effect: 'Deny', Action: 'http:DELETE', Resource: '*' } };
  const ev = evaluatorFor([deny], { allowAuthenticated: true });
  const d = ev.evaluate(request());
  assert.equal(d.allowed, true);
  assert.equal(d.policy, undefined);
  assert.equal(d.statement, undefined);
  assert.equal(ev.evaluate(request({ identity: undefined })).reason, 'authz.no_matching_allow');
  assert.equal(ev.evaluate(request({ method: 'DELETE' })).reason, 'authz.explicit_deny');
});

test('reason codes, condition names and the explanation fallback', () => {
  const ev = evaluatorFor([
    {
      explanation: 'orders are for staff',
      remediation: 'ask for the staff role',
      Statement: [
        { Sid: 'StaffOnly', Effect: 'Allow', Action: 'http:GET', Resource: 'route/api/orders/*', Condition: { Bool: { 'request.secure': true }, StringEquals: { 'identity.roles': 'staff' } } },
        { Sid: 'NoNight', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateGreaterThan: { 'request.time': '2030-01-01' } }, explanation: 'closed', remediation: 'come back' },
      ],
    },
  ]);
  const failed = ev.evaluate(request({ path: '/orders/1' }));
  assert.equal(failed.reason, 'authz.condition_failed');
  assert.equal(failed.statement, 'StaffOnly');
  assert.equal(failed.condition, 'StringEquals identity.roles');
  assert.equal(failed.explanation, 'orders are for staff');
  assert.equal(failed.remediation, 'ask for the staff role');
  const insecure = ev.evaluate(request({ path: '/orders/1', scheme: 'http' }));
  assert.equal(insecure.condition, 'Bool request.secure');

  const denied = ev.evaluate(request({ path: '/orders/1', time: Date.parse('2031-01-01') }));
  assert.equal(denied.reason, 'authz.explicit_deny');
  assert.equal(denied.condition, 'DateGreaterThan request.time');
  assert.equal(denied.explanation, 'closed');
  assert.equal(denied.remediation, 'come back');

  const allowed = ev.evaluate(request({ path: '/orders/1', identity: identity({ roles: ['staff'] }) }));
  assert.deepEqual([allowed.allowed, allowed.reason, allowed.policy, allowed.statement], [true, undefined, 'p0', 'StaffOnly']);
  assert.ok(Object.isFrozen(allowed));
  assert.equal(ev.evaluate(request({ path: '/other' })).reason, 'authz.no_matching_allow');
  assert.deepEqual([...POLICY_REASONS].sort(), ['authz.condition_failed', 'authz.explicit_deny', 'authz.no_matching_allow']);
});

test('statements for other routes are dropped, conservatively', () => {
  const doc = {
    Statement: [
      { Sid: 'Other', Effect: 'Allow', Action: 'http:DELETE', Resource: 'route/billing/*' },
      { Sid: 'Prefix', Effect: 'Allow', Action: 'http:GET', Resource: 'route/ap*' },
      { Sid: 'Mine', Effect: 'Allow', Action: 'http:POST', Resource: 'route/api/*' },
      { Sid: 'NotMine', Effect: 'Allow', Action: 'http:PUT', NotResource: 'route/api/*' },
    ],
  };
  const ev = evaluatorFor([doc]);
  assert.equal(ev.evaluate(request({ method: 'GET' })).statement, 'Prefix');
  assert.equal(ev.evaluate(request({ method: 'POST' })).statement, 'Mine');
  assert.equal(ev.evaluate(request({ method: 'PUT' })).allowed, false);
  assert.equal(ev.evaluate(request({ method: 'DELETE' })).allowed, false);
  const billing = buildEvaluator({ route: 'billing', attachments: [{ policy: compilePolicy('p0', doc), roles: undefined }] });
  assert.equal(billing.evaluate(request({ method: 'DELETE', route: 'billing' })).statement, 'Other');
  assert.equal(billing.evaluate(request({ method: 'PUT', route: 'billing' })).statement, 'NotMine');
});
