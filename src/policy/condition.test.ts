import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluatorFor, identity, request, stmt, T0, type RequestSpec } from './fixtures.js';

type Case = [name: string, condition: Record<string, Record<string, unknown>>, req: RequestSpec, allowed: boolean];

function run(cases: Case[]): void {
  for (const [name, condition, spec, want] of cases) {
    const d = evaluatorFor([stmt({ Condition: condition })]).evaluate(request(spec));
    assert.equal(d.allowed, want, name);
    if (!want) assert.equal(d.reason, 'authz.condition_failed', name);
  }
}

const admin = identity({ roles: ['reader', 'admin'], scopes: ['orders:read'], claims: { tier: 'gold', level: 3, beta: true, groups: ['a', 'b'], org: { id: 'o1', teams: ['x'] }, 'https://ex.com/roles': ['r1'] } });
const noRoles = identity({ roles: [] });

test('string operators', () => {
  run([
    ['StringEquals hit', { StringEquals: { 'identity.sub': 'alice' } }, {}, true],
    ['StringEquals miss', { StringEquals: { 'identity.sub': 'Alice' } }, {}, false],
    ['StringEquals values OR', { StringEquals: { 'identity.sub': ['bob', 'alice'] } }, {}, true],
    ['StringEquals is literal', { StringEquals: { 'identity.sub': 'a*' } }, {}, false],
    ['StringNotEquals', { StringNotEquals: { 'identity.sub': ['bob', 'carol'] } }, {}, true],
    ['StringNotEquals matching one value', { StringNotEquals: { 'identity.sub': ['bob', 'alice'] } }, {}, false],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'identity.sub': 'ALICE' } }, {}, true],
    ['StringNotEqualsIgnoreCase', { StringNotEqualsIgnoreCase: { 'identity.sub': 'ALICE' } }, {}, false],
    ['StringLike', { StringLike: { 'request.host': '*.example.com' } }, {}, true],
    ['StringLike ?', { StringLike: { 'request.host': 'ap?.example.com' } }, {}, true],
    ['StringLike case-sensitive', { StringLike: { 'request.host': 'API.*' } }, {}, false],
    ['StringNotLike', { StringNotLike: { 'request.host': 'internal.*' } }, {}, true],
    ['StringLikeIgnoreCase', { StringLikeIgnoreCase: { 'request.host': 'API.*' } }, {}, true],
    ['StringNotLikeIgnoreCase', { StringNotLikeIgnoreCase: { 'request.host': 'API.*' } }, {}, false],
    ['variable in value', { StringEquals: { 'request.headers.x-user': '${identity.sub}' } }, { headers: { 'x-user': 'alice' } }, true],
    ['variable in value, other', { StringEquals: { 'request.headers.x-user': '${identity.sub}' } }, { headers: { 'x-user': 'bob' } }, false],
    ['missing variable never matches', { StringLike: { 'request.path': '*${identity.claims.nope}' } }, {}, false],
    ['header suffix lower-cased', { StringEquals: { 'request.headers.X-Env': 'prod' } }, { headers: { 'x-env': 'prod' } }, true],
    ['fixed part case-insensitive', { StringEquals: { 'Request.Method': 'GET' } }, {}, true],
    ['query', { StringEquals: { 'request.query.v': '2' } }, { query: { v: '2' } }, true],
    ['params', { StringEquals: { 'request.params.id': '9' } }, { params: { id: '9' } }, true],
    ['request.time as ISO string', { StringLike: { 'request.time': '2025-06-01T*' } }, {}, true],
    ['number claim as string', { StringEquals: { 'identity.claims.level': '3' } }, { identity: admin }, true],
    ['boolean claim as string', { StringEquals: { 'identity.claims.beta': 'true' } }, { identity: admin }, true],
    ['nested claim path', { StringEquals: { 'identity.claims.org.id': 'o1' } }, { identity: admin }, true],
    ['nested array claim', { StringEquals: { 'identity.claims.org.teams': 'x' } }, { identity: admin }, true],
    ['dotted claim name', { StringEquals: { 'identity.claims.https://ex.com/roles': 'r1' } }, { identity: admin }, true],
    ['claim suffix case-sensitive', { StringEquals: { 'identity.claims.Tier': 'gold' } }, { identity: admin }, false],
    ['prototype is not a claim', { StringLike: { 'identity.claims.constructor': '*' } }, { identity: admin }, false],
    ['tls keys', { StringEquals: { 'tls.client.san': 'svc.internal', 'tls.client.fingerprint': 'ab' } }, { identity: identity({ kind: 'mtls', tls: { sans: ['x', 'svc.internal'], fingerprint: 'ab', subject: 'CN=svc' } }) }, true],
    ['identity.method', { StringEquals: { 'identity.method': 'api_key', 'identity.key_id': 'k1', 'identity.usage_plan': 'free' } }, { identity: identity({ kind: 'api_key', keyId: 'k1', usagePlan: 'free' }) }, true],
    ['all keys AND', { StringEquals: { 'identity.sub': 'alice', 'request.method': 'POST' } }, {}, false],
    ['all operators AND', { StringEquals: { 'identity.sub': 'alice' }, Bool: { 'request.secure': false } }, {}, false],
  ]);
});

test('numeric operators', () => {
  const lvl = (op: string, v: unknown, want: boolean): Case => [`${op} ${String(v)}`, { [op]: { 'identity.claims.level': v } }, { identity: admin }, want];
  run([
    lvl('NumericEquals', 3, true),
    lvl('NumericEquals', '3.0', true),
    lvl('NumericNotEquals', 3, false),
    lvl('NumericNotEquals', 4, true),
    lvl('NumericLessThan', 3, false),
    lvl('NumericLessThan', 4, true),
    lvl('NumericLessThanEquals', 3, true),
    lvl('NumericGreaterThan', 2, true),
    lvl('NumericGreaterThan', 3, false),
    lvl('NumericGreaterThanEquals', 3, true),
    ['numeric string request value', { NumericLessThan: { 'request.query.limit': 100 } }, { query: { limit: '50' } }, true],
    ['non-numeric request value is false', { NumericLessThan: { 'request.query.limit': 100 } }, { query: { limit: 'lots' } }, false],
    ['non-numeric request value is false for NotEquals too', { NumericNotEquals: { 'request.query.limit': 100 } }, { query: { limit: 'lots' } }, false],
    ['empty string is not zero', { NumericEquals: { 'request.query.limit': 0 } }, { query: { limit: '' } }, false],
  ]);
});

test('date operators: ISO and epoch seconds', () => {
  const before = '2025-05-01T00:00:00Z';
  const after = '2025-07-01';
  run([
    ['DateGreaterThan ISO', { DateGreaterThan: { 'request.time': before } }, {}, true],
    ['DateLessThan ISO date', { DateLessThan: { 'request.time': after } }, {}, true],
    ['DateLessThan past', { DateLessThan: { 'request.time': before } }, {}, false],
    ['DateEquals epoch seconds', { DateEquals: { 'request.time': T0 / 1000 } }, {}, true],
    ['DateEquals epoch seconds string', { DateEquals: { 'request.time': String(T0 / 1000) } }, {}, true],
    ['DateNotEquals', { DateNotEquals: { 'request.time': T0 / 1000 } }, {}, false],
    ['DateLessThanEquals', { DateLessThanEquals: { 'request.time': '2025-06-01T12:00:00Z' } }, {}, true],
    ['DateGreaterThanEquals with offset', { DateGreaterThanEquals: { 'request.time': '2025-06-01T14:00:00+02:00' } }, {}, true],
    ['zone-less is UTC', { DateEquals: { 'request.time': '2025-06-01T12:00:00' } }, {}, true],
    // A JWT NumericDate claim is epoch seconds.
    ['claim epoch seconds', { DateGreaterThan: { 'identity.claims.exp': '2025-06-01T00:00:00Z' } }, { identity: identity({ claims: { exp: T0 / 1000 + 60 } }) }, true],
    ['claim ISO string', { DateLessThan: { 'identity.claims.since': '2025-01-01' } }, { identity: identity({ claims: { since: '2024-03-04T05:06:07Z' } }) }, true],
    ['unparsable request date', { DateLessThan: { 'identity.claims.since': '2025-01-01' } }, { identity: identity({ claims: { since: 'yesterday' } }) }, false],
  ]);
});

test('Bool', () => {
  run([
    ['secure', { Bool: { 'request.secure': true } }, {}, true],
    ['secure string', { Bool: { 'request.secure': 'TRUE' } }, {}, true],
    ['insecure', { Bool: { 'request.secure': 'true' } }, { scheme: 'http' }, false],
    ['claim boolean', { Bool: { 'identity.claims.beta': true } }, { identity: admin }, true],
    ['claim string', { Bool: { 'identity.claims.flag': 'false' } }, { identity: identity({ claims: { flag: 'False' } }) }, true],
    ['not a boolean', { Bool: { 'identity.claims.flag': 'true' } }, { identity: identity({ claims: { flag: 'yes' } }) }, false],
  ]);
});

test('IpAddress / NotIpAddress', () => {
  run([
    ['v4 in', { IpAddress: { 'request.ip': '203.0.113.0/24' } }, {}, true],
    ['v4 out', { IpAddress: { 'request.ip': '10.0.0.0/8' } }, {}, false],
    ['list OR', { IpAddress: { 'request.ip': ['10.0.0.0/8', '203.0.113.7'] } }, {}, true],
    ['v6', { IpAddress: { 'request.ip': '2001:db8::/32' } }, { ip: '2001:db8::9' }, true],
    ['mapped', { IpAddress: { 'request.ip': '203.0.113.0/24' } }, { ip: '::ffff:203.0.113.9' }, true],
    ['NotIpAddress out', { NotIpAddress: { 'request.ip': '10.0.0.0/8' } }, {}, true],
    ['NotIpAddress in', { NotIpAddress: { 'request.ip': ['10.0.0.0/8', '203.0.113.0/24'] } }, {}, false],
    ['garbage request ip', { NotIpAddress: { 'request.ip': '10.0.0.0/8' } }, { ip: 'unknown' }, false],
  ]);
});

test('missing keys: positive false, negated true, IfExists true', () => {
  const anon = { identity: undefined };
  run([
    ['positive on missing', { StringEquals: { 'identity.sub': 'alice' } }, anon, false],
    ['StringNotEquals on missing', { StringNotEquals: { 'identity.sub': 'alice' } }, anon, true],
    ['StringNotLike on missing', { StringNotLike: { 'request.headers.x-a': '*' } }, {}, true],
    ['StringNotEqualsIgnoreCase on missing', { StringNotEqualsIgnoreCase: { 'request.headers.x-a': 'a' } }, {}, true],
    ['NumericNotEquals on missing', { NumericNotEquals: { 'request.query.n': 1 } }, {}, true],
    ['DateNotEquals on missing', { DateNotEquals: { 'identity.claims.exp': 1 } }, {}, true],
    ['NotIpAddress on missing', { NotIpAddress: { 'request.headers.x-real-ip': '10.0.0.0/8' } }, {}, true],
    ['NumericLessThan on missing', { NumericLessThan: { 'request.query.n': 1 } }, {}, false],
    ['IfExists on missing', { StringEqualsIfExists: { 'request.headers.x-env': 'prod' } }, {}, true],
    ['IfExists present, matching', { StringEqualsIfExists: { 'request.headers.x-env': 'prod' } }, { headers: { 'x-env': 'prod' } }, true],
    ['IfExists present, not matching', { StringEqualsIfExists: { 'request.headers.x-env': 'prod' } }, { headers: { 'x-env': 'dev' } }, false],
    ['NumericLessThanIfExists present', { NumericLessThanIfExists: { 'request.query.n': 5 } }, { query: { n: '9' } }, false],
    ['IpAddressIfExists on missing', { IpAddressIfExists: { 'request.headers.x-real-ip': '10.0.0.0/8' } }, {}, true],
    ['empty roles count as missing', { StringEquals: { 'identity.roles': 'admin' } }, { identity: noRoles }, false],
    ['params undefined', { StringEquals: { 'request.params.id': '1' } }, {}, false],
  ]);
});

test('Null', () => {
  run([
    ['Null true when absent', { Null: { 'request.headers.x-a': 'true' } }, {}, true],
    ['Null true when present', { Null: { 'request.headers.x-a': true } }, { headers: { 'x-a': '' } }, false],
    ['Null false when present', { Null: { 'request.headers.x-a': 'false' } }, { headers: { 'x-a': '1' } }, true],
    ['Null false when absent', { Null: { 'request.headers.x-a': false } }, {}, false],
    ['Null on empty roles', { Null: { 'identity.roles': true } }, { identity: noRoles }, true],
    ['Null on anonymous', { Null: { 'identity.sub': true } }, { identity: undefined }, true],
  ]);
});

test('multi-valued keys with plain operators', () => {
  run([
    ['positive: any value matches', { StringEquals: { 'identity.roles': 'admin' } }, { identity: admin }, true],
    ['positive: none matches', { StringEquals: { 'identity.roles': 'owner' } }, { identity: admin }, false],
    ['positive: like', { StringLike: { 'identity.scopes': 'orders:*' } }, { identity: admin }, true],
    ['negated: true only if no value matches', { StringNotEquals: { 'identity.roles': 'admin' } }, { identity: admin }, false],
    ['negated: no value matches', { StringNotEquals: { 'identity.roles': ['owner', 'root'] } }, { identity: admin }, true],
    ['array claim', { StringEquals: { 'identity.claims.groups': 'b' } }, { identity: admin }, true],
    ['array claim negated', { StringNotLike: { 'identity.claims.groups': 'b*' } }, { identity: admin }, false],
  ]);
});

test('ForAnyValue / ForAllValues, including the empty-set gotcha', () => {
  run([
    ['ForAnyValue hit', { 'ForAnyValue:StringEquals': { 'identity.roles': ['admin', 'x'] } }, { identity: admin }, true],
    ['ForAnyValue miss', { 'ForAnyValue:StringEquals': { 'identity.roles': 'x' } }, { identity: admin }, false],
    ['ForAnyValue on empty is false', { 'ForAnyValue:StringEquals': { 'identity.roles': 'admin' } }, { identity: noRoles }, false],
    ['ForAnyValue negated: some value is not listed', { 'ForAnyValue:StringNotEquals': { 'identity.roles': 'admin' } }, { identity: admin }, true],
    ['ForAllValues all listed', { 'ForAllValues:StringEquals': { 'identity.roles': ['reader', 'admin', 'x'] } }, { identity: admin }, true],
    ['ForAllValues one not listed', { 'ForAllValues:StringEquals': { 'identity.roles': ['reader'] } }, { identity: admin }, false],
    // AWS's documented gotcha: every value of an empty set satisfies anything.
    ['ForAllValues on empty is TRUE', { 'ForAllValues:StringEquals': { 'identity.roles': 'reader' } }, { identity: noRoles }, true],
    ['ForAllValues on missing key is TRUE', { 'ForAllValues:StringLike': { 'identity.claims.groups': 'a*' } }, { identity: undefined }, true],
    ['...unless paired with Null false', { 'ForAllValues:StringEquals': { 'identity.roles': 'reader' }, Null: { 'identity.roles': false } }, { identity: noRoles }, false],
    ['ForAllValues negated', { 'ForAllValues:StringNotLike': { 'identity.scopes': 'admin:*' } }, { identity: admin }, true],
    ['ForAnyValue IfExists on missing', { 'ForAnyValue:StringEqualsIfExists': { 'identity.roles': 'admin' } }, { identity: noRoles }, true],
    ['ForAllValues on a single value', { 'ForAllValues:NumericLessThan': { 'identity.claims.level': 5 } }, { identity: admin }, true],
  ]);
});
