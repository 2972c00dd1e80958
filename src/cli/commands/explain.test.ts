// `gatehouse explain` and `gatehouse test-policies` as users run them: the real binary, real
// files, exit codes and output. Decisions come from the same evaluator the gateway runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { runCli } from '../../../test/helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-explain-'));
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

const CONFIG = file(
  'gatehouse.yaml',
  `listeners: [{ port: 8080 }]
authorization:
  policies:
    orders-read:
      remediation: ask for orders-reader in #access
      Statement:
        - Sid: Read
          Effect: Allow
          Action: [http:GET]
          Resource: route/orders/*
    no-admin:
      explanation: admins only
      Statement:
        - Sid: AdminOnly
          Effect: Deny
          Action: http:*
          Resource: route/*/admin/*
          Condition:
            StringNotEquals: { identity.roles: admin }
  roles:
    orders-reader: [orders-read]
routes:
  - name: orders
    match: { path: { prefix: /orders } }
    cluster: web
    filters:
      jwt: { issuers: [{ issuer: "https://idp.example.com", audiences: [api], roles_claim: groups, role_map: { g-readers: orders-reader } }] }
      authz: { policies: [no-admin] }
  - name: open
    match: { path: { prefix: /open } }
    cluster: web
clusters:
  - name: web
    endpoints: [http://127.0.0.1:9000]
`,
);
const READER = file('reader.json', JSON.stringify({ subject: 'alice', roles: ['orders-reader'] }));
const CLAIMS = file('claims.json', JSON.stringify({ iss: 'https://idp.example.com', sub: 'bob', groups: ['g-readers', 'g-unmapped'] }));

test('explain: an allow names the policy and statement, exit 0', async () => {
  const r = await runCli(['explain', '-c', CONFIG, '--path', '/orders/7', '--identity', READER]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^route: +orders$/m);
  assert.match(r.stdout, /^resource: route\/orders\/orders\/7$/m);
  assert.match(r.stdout, /^decision: ALLOW by policy "orders-read" statement Read$/m);
  assert.match(r.stdout, /^ {2}\+ orders-read Read Allow via role:orders-reader: matched/m);
});

test('explain: a deny shows the reason, the explanation and the trace, exit 1', async () => {
  const r = await runCli(['explain', '-c', CONFIG, '-X', 'DELETE', '--path', '/orders/admin/x', '--identity', READER]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^decision: DENY authz\.explicit_deny by policy "no-admin" statement AdminOnly/m);
  assert.match(r.stdout, /explanation: admins only/);
  assert.match(r.stdout, /- orders-read Read Allow via role:orders-reader: action_mismatch/);
});

test('explain: a bare claims set is mapped with the route jwt role_map; --token is decoded unverified', async () => {
  const viaClaims = await runCli(['explain', '-c', CONFIG, '--path', '/orders/7', '--identity', CLAIMS, '--json']);
  assert.equal(viaClaims.code, 0, viaClaims.stderr);
  const sim = JSON.parse(viaClaims.stdout) as { identity: { subject: string; roles: string[] }; decision: { allowed: boolean } };
  assert.equal(sim.identity.subject, 'bob');
  assert.deepEqual(sim.identity.roles, ['orders-reader']);
  assert.equal(sim.decision.allowed, true);

  const token = await new SignJWT({ iss: 'https://idp.example.com', sub: 'carol', groups: ['g-other'] })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode('not-a-real-secret-but-32-bytes-long!'));
  const viaToken = await runCli(['explain', '-c', CONFIG, '--path', '/orders/7', '--token', token]);
  assert.equal(viaToken.code, 1);
  assert.match(viaToken.stdout, /identity: carol \(jwt, issuer https:\/\/idp\.example\.com\) roles \[\]/);
  assert.match(viaToken.stdout, /NOT verified/);
  assert.match(viaToken.stdout, /DENY authz\.no_matching_allow/);
});

test('explain: public routes, unknown paths and bad input', async () => {
  const open = await runCli(['explain', '-c', CONFIG, '--path', '/open/x']);
  assert.equal(open.code, 0);
  assert.match(open.stdout, /ALLOW \(public route/);
  const none = await runCli(['explain', '-c', CONFIG, '--path', '/nowhere']);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /404 route\.not_found/);
  const noPath = await runCli(['explain', '-c', CONFIG]);
  assert.equal(noPath.code, 2);
  assert.match(noPath.stderr, /--path is required/);
  const badId = await runCli(['explain', '-c', CONFIG, '--path', '/orders/1', '--identity', file('bad.json', '{"subject": 7}')]);
  assert.equal(badId.code, 2);
  assert.match(badId.stderr, /^gatehouse explain: identity subject must be a string$/m);
  assert.doesNotMatch(badId.stderr, /\n\s+at /);
  const notJson = await runCli(['explain', '-c', CONFIG, '--path', '/orders/1', '--identity', file('bad2.json', '{')]);
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /is not valid JSON/);
});

test('test-policies: passing and failing cases, exit codes, file:line of each failure', async () => {
  const dir = mkdtempSync(join(tmp, 'cases-'));
  writeFileSync(
    join(dir, 'orders.policy-test.yaml'),
    `tests:
  - name: readers read
    request: { method: GET, path: /orders/1 }
    identity: { subject: alice, roles: [orders-reader] }
    expect: allow
    policy: orders-read
  - name: admin area denied
    request: { method: GET, path: /orders/admin/1 }
    identity: { subject: alice, roles: [orders-reader] }
    expect: deny
    reason: authz.explicit_deny
  - name: wrong on purpose
    request: { method: POST, path: /orders/1 }
    identity: { subject: alice, roles: [orders-reader] }
    expect: allow
`,
  );
  const r = await runCli(['test-policies', '-c', CONFIG, dir]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /FAIL {2}.*orders\.policy-test\.yaml:12: wrong on purpose: expected allow, got deny authz\.no_matching_allow/);
  assert.match(r.stdout, /^2 passed, 1 failed$/m);

  writeFileSync(join(dir, 'orders.policy-test.yaml'), 'tests:\n  - name: ok\n    request: { path: /orders/1 }\n    identity: { subject: a, roles: [orders-reader] }\n    expect: allow\n');
  const green = await runCli(['test-policies', '-c', CONFIG, dir, '--verbose']);
  assert.equal(green.code, 0, green.stdout + green.stderr);
  assert.match(green.stdout, /^ok {4}.*: ok$/m);

  writeFileSync(join(dir, 'orders.policy-test.yaml'), 'tests:\n  - name: typo\n    request: { path: /orders/1 }\n    expect: maybe\n    identiy: {}\n');
  const broken = await runCli(['test-policies', '-c', CONFIG, dir]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /orders\.policy-test\.yaml:4:13: tests\[0\]\.expect: must be allow or deny/);
  assert.match(broken.stderr, /tests\[0\]\.identiy: unknown key/);

  writeFileSync(join(dir, 'orders.policy-test.yaml'), 'tests:\n  - name: t\n    request: { path: /orders/1 }\n    token: 42\n    expect: deny\n  - name: i\n    request: { path: /orders/1 }\n    identity: [a]\n    expect: deny\n');
  const typed = await runCli(['test-policies', '-c', CONFIG, dir]);
  assert.equal(typed.code, 2);
  assert.match(typed.stderr, /tests\[0\]\.token: must be a JWT string/);
  assert.match(typed.stderr, /tests\[1\]\.identity: must be a mapping/);
});

test('the quickstart policy tests pass', async () => {
  const r = await runCli(['test-policies', '-c', 'examples/quickstart.yaml']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^5 passed, 0 failed$/m);
});

test('validate refuses a broken policy with the statement index and key, and lists public routes', async () => {
  const bad = file(
    'bad-policy.yaml',
    `listeners: [{ port: 8080 }]
authorization:
  policies:
    p:
      Statement:
        - Effect: Allow
          Action: http:GET
          Resource: route/*
        - Effect: Allow
          Action: http:GET
          Resource: route/*
          Condition:
            StringEqulas: { identity.sub: a }
  roles:
    r: [p, nope]
routes:
  - name: open
    cluster: web
clusters:
  - name: web
    endpoints: [http://127.0.0.1:9000]
`,
  );
  const r = await runCli(['validate', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad-policy\.yaml:13:13: authorization\.policies\.p\.Statement\[1\]\.Condition\.StringEqulas: .*StringEquals/);
  assert.match(r.stderr, /authorization\.roles\.r\[1\]: unknown policy "nope"/);
  const ok = await runCli(['validate', CONFIG]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^routes: 2, authenticated: 1, public: 1 \(open\)$/m);
});
