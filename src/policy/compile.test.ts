import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, compilePolicyIssues } from './compile.js';
import { PolicyError } from './errors.js';
import { CONDITION_KEYS } from './keys.js';

const ok = { Effect: 'Allow', Action: 'http:GET', Resource: 'route/api/*' };
const doc = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: [ok, ...statements] });

test('compile errors carry the exact path and a useful message', () => {
  const cases: [name: string, statement: unknown, path: (string | number)[], message: RegExp][] = [
    ['unknown operator', { ...ok, Condition: { StringEqulas: { 'identity.sub': 'a' } } }, ['Statement', 1, 'Condition', 'StringEqulas'], /unknown condition operator "StringEqulas" \(did you mean "StringEquals"\?\)/],
    ['unknown qualifier', { ...ok, Condition: { 'ForAnyValues:StringEquals': { 'identity.sub': 'a' } } }, ['Statement', 1, 'Condition', 'ForAnyValues:StringEquals'], /did you mean "ForAnyValue"/],
    ['Null with IfExists', { ...ok, Condition: { NullIfExists: { 'identity.sub': true } } }, ['Statement', 1, 'Condition', 'NullIfExists'], /Null/],
    ['unknown key with hint', { ...ok, Condition: { StringEquals: { 'identity.role': 'a' } } }, ['Statement', 1, 'Condition', 'StringEquals', 'identity.role'], /unknown condition key "identity.role" \(did you mean "identity.roles"\?\)/],
    ['prefix key hint', { ...ok, Condition: { StringEquals: { 'request.header.x-env': 'a' } } }, ['Statement', 1, 'Condition', 'StringEquals', 'request.header.x-env'], /did you mean "request.headers.x-env"/],
    ['bad CIDR', { ...ok, Condition: { IpAddress: { 'request.ip': ['10.0.0.0/8', '10.0.0.0/40'] } } }, ['Statement', 1, 'Condition', 'IpAddress', 'request.ip', 1], /invalid prefix length/],
    ['bad date', { ...ok, Condition: { DateLessThan: { 'request.time': 'next tuesday' } } }, ['Statement', 1, 'Condition', 'DateLessThan', 'request.time'], /not an ISO 8601 date/],
    ['non-numeric Numeric', { ...ok, Condition: { NumericLessThan: { 'request.query.n': 'ten' } } }, ['Statement', 1, 'Condition', 'NumericLessThan', 'request.query.n'], /not a number/],
    ['bad Bool', { ...ok, Condition: { Bool: { 'request.secure': 'yes' } } }, ['Statement', 1, 'Condition', 'Bool', 'request.secure'], /true or false/],
    ['both Action and NotAction', { ...ok, NotAction: 'http:POST' }, ['Statement', 1, 'NotAction'], /Action or NotAction, not both/],
    ['neither Action nor NotAction', { Effect: 'Allow', Resource: '*' }, ['Statement', 1], /needs Action or NotAction/],
    ['both Resource and NotResource', { ...ok, NotResource: '*' }, ['Statement', 1, 'NotResource'], /not both/],
    ['neither Resource nor NotResource', { Effect: 'Allow', Action: '*' }, ['Statement', 1], /needs Resource or NotResource/],
    ['bad Effect', { ...ok, Effect: 'allow' }, ['Statement', 1, 'Effect'], /Effect must be "Allow" or "Deny"/],
    ['non-http action prefix', { ...ok, Action: ['http:GET', 's3:GetObject'] }, ['Statement', 1, 'Action', 1], /must be "\*" or "http:<METHOD>"/],
    ['resource outside route/', { ...ok, Resource: 'orders/*' }, ['Statement', 1, 'Resource'], /route\/<route-name><path>/],
    ['bad variable', { ...ok, Resource: 'route/api/${identity.nope}' }, ['Statement', 1, 'Resource'], /unknown policy variable/],
    ['unknown member', { ...ok, Conditon: {} }, ['Statement', 1, 'Conditon'], /did you mean "Condition"/],
    ['principal key', { ...ok, Principal: { Roles: 'admin' } }, ['Statement', 1, 'Principal', 'Roles'], /did you mean "Role"/],
    ['principal method', { ...ok, Principal: { AuthMethod: 'oauth' } }, ['Statement', 1, 'Principal', 'AuthMethod'], /unknown auth method/],
    ['empty values', { ...ok, Condition: { StringEquals: { 'identity.sub': [] } } }, ['Statement', 1, 'Condition', 'StringEquals', 'identity.sub'], /at least one value/],
  ];
  for (const [name, statement, path, message] of cases) {
    const issues = compilePolicyIssues('p', doc(statement));
    assert.equal(issues.length, 1, `${name}: ${JSON.stringify(issues)}`);
    assert.deepEqual(issues[0]!.path, path, name);
    assert.match(issues[0]!.message, message, name);
    assert.throws(
      () => compilePolicy('p', doc(statement)),
      (e: unknown) => e instanceof PolicyError && JSON.stringify(e.path) === JSON.stringify(path) && e.policy === 'p',
      name,
    );
  }
});

test('compilePolicyIssues reports every problem, not just the first', () => {
  const issues = compilePolicyIssues('p', {
    Statement: [
      { Effect: 'Maybe', Action: 'ftp:GET', Resource: '*' },
      { Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEquals: { 'nope.key': 'x' } } },
    ],
  });
  assert.deepEqual(
    issues.map((i) => i.path),
    [['Statement', 0, 'Effect'], ['Statement', 0, 'Action'], ['Statement', 1, 'Condition', 'StringEquals', 'nope.key']],
  );
});

test('document-level checks', () => {
  assert.deepEqual(compilePolicyIssues('p', { Statement: [] })[0]!.path, ['Statement']);
  assert.deepEqual(compilePolicyIssues('p', { Version: '2008-10-17', Statement: ok })[0]!.path, ['Version']);
  assert.match(compilePolicyIssues('p', { Statment: [ok] })[0]!.message, /did you mean "Statement"/);
  assert.match(compilePolicyIssues('p', 'Allow everything')[0]!.message, /must be an object/);
  const dup = compilePolicyIssues('p', { Statement: [{ ...ok, Sid: 'A' }, { ...ok, Sid: 'A' }] });
  assert.deepEqual(dup[0]!.path, ['Statement', 1, 'Sid']);
  // A single statement object (not a list) has no index in its paths.
  assert.deepEqual(compilePolicyIssues('p', { Statement: { ...ok, Effect: 'Nope' } })[0]!.path, ['Statement', 'Effect']);
});

test('a valid document compiles, with labels and explanations', () => {
  const p = compilePolicy('orders', {
    Statement: [ok, { ...ok, Sid: 'Named', explanation: 'why' }],
    explanation: 'policy why',
  });
  assert.equal(p.name, 'orders');
  assert.deepEqual(p.statements.map((s) => s.label), ['#0', 'Named']);
  assert.equal(p.explanation, 'policy why');
  assert.ok(Object.isFrozen(p));
});

test('CONDITION_KEYS documents every prefix family', () => {
  for (const k of ['identity.sub', 'identity.claims.<name>', 'request.headers.<lower-name>', 'request.time', 'tls.client.san']) {
    assert.ok(CONDITION_KEYS.includes(k), k);
  }
});
