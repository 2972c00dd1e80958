import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolate } from './interpolate.js';
import { createSecretResolver, envSecrets } from './secrets.js';

const env = { HOST: 'example.com', EMPTY: '', TOKEN: 'tkn' };
const opts = { env, secrets: createSecretResolver([envSecrets(env)]) };
const run = (s: string) => interpolate(s, opts);

test('${NAME} and ${NAME:-default} follow sh', async () => {
  assert.equal((await run('https://${HOST}/x')).value, 'https://example.com/x');
  assert.equal((await run('${UNSET:-d}')).value, 'd');
  assert.equal((await run('${EMPTY:-d}')).value, 'd');
  assert.equal((await run('${HOST:-d}')).value, 'example.com');
  assert.equal((await run('${UNSET:-}')).value, '');
  assert.equal((await run('${EMPTY}')).value, '');
});

test('an unset variable is an error at the ${', async () => {
  const r = await run('a ${NOPE} b');
  assert.deepEqual(r.issues, [{ index: 2, severity: 'error', message: 'environment variable NOPE is not set (use ${NOPE:-default} for a default)' }]);
});

test('$${ is a literal ${ and other ${...} stay as written', async () => {
  assert.equal((await run('$${HOST}')).value, '${HOST}');
  assert.equal((await run('$$${HOST}')).value, '$${HOST}');
  assert.equal((await run('arn:${identity.sub}:${aws:username}')).value, 'arn:${identity.sub}:${aws:username}');
  assert.equal((await run('${lower}')).value, '${lower}');
  assert.equal((await run('${HOST')).value, '${HOST');
  const r = await run('${identity.sub}');
  assert.equal(r.changed, false);
});

test('sh operators we do not support are kept, with a warning', async () => {
  const r = await run('${HOST:?required}');
  assert.equal(r.value, '${HOST:?required}');
  assert.equal(r.issues[0]?.severity, 'warning');
});

test('secret references resolve and mark the value secret', async () => {
  const r = await run('Bearer ${secret:env:TOKEN}');
  assert.deepEqual([r.value, r.secret, r.issues], ['Bearer tkn', true, []]);
  const bad = await run('${secret:vault:x}');
  assert.match(bad.issues[0]!.message, /unknown secret provider "vault" \(expected one of: env\)/);
  const malformed = await run('${secret:env}');
  assert.match(malformed.issues[0]!.message, /malformed secret reference/);
});
