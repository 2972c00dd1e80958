// `gatehouse keys` as users meet it: a child process, its exit code and output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import pino from 'pino';
import apiKey from '../../filters/api-key/index.js';
import { IDENTITY } from '../../filters/common/identity.js';
import { makeCtx } from '../../../test/helpers/make-ctx.js';
import { runCli } from '../../../test/helpers/cli.js';

/** Runs `gatehouse ...args` with `stdin` (default empty) written and closed. */
const run = (args: string[], stdin?: string) => runCli(args, { stdin: stdin ?? '' });

test('keys create: the key once on line 1, then a YAML record the api_key filter accepts', async () => {
  const r = await run(['keys', 'create', '--owner', 'ci-bot', '--roles', 'reader, deployer', '--usage-plan', 'gold', '--expires', '2999-01-31']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const [key, ...rest] = r.stdout.split('\n');
  assert.match(key!, /^gh_[0-9a-z]{12}_[0-9A-Za-z]{38}$/);
  assert.equal(r.stdout.split(key!).length, 2, 'the key is printed more than once');
  const records = parse(rest.join('\n')) as Array<Record<string, unknown>>;
  assert.equal(records.length, 1);
  const rec = records[0]!;
  assert.equal(rec.id, key!.slice(3, 15));
  assert.match(String(rec.hash), /^sha256:[0-9a-f]{64}$/);
  assert.equal(rec.owner, 'ci-bot');
  assert.deepEqual(rec.roles, ['reader', 'deployer']);
  assert.equal(rec.usage_plan, 'gold');
  assert.equal(rec.expires_at, '2999-01-31T00:00:00.000Z');

  // The printed record, pasted into config, accepts the printed key.
  const f = apiKey.create({ keys: [rec as never] }, { clock: { now: () => Date.now() }, log: pino({ level: 'silent' }) });
  const ctx = makeCtx({ headers: { 'x-api-key': key! } });
  ctx.req.rawHeaders = ['x-api-key', key!];
  assert.equal(f.onRequest!(ctx), undefined);
  assert.equal(ctx.get(IDENTITY)?.subject, 'ci-bot');

  const j = await run(['keys', 'create', '--owner', 'x', '--json']);
  const out = JSON.parse(j.stdout) as { key: string; record: { id: string } };
  assert.equal(out.record.id, out.key.slice(3, 15));
});

test('keys hash: from the argument or stdin, same record fields; a malformed key is refused without echoing it', async () => {
  const created = await run(['keys', 'create', '--owner', 'o']);
  const key = created.stdout.split('\n')[0]!;
  const rec = (parse(created.stdout.split('\n').slice(1).join('\n')) as Array<{ id: string; hash: string }>)[0]!;
  const fromArg = await run(['keys', 'hash', key]);
  assert.equal(fromArg.code, 0, fromArg.stderr);
  assert.equal(fromArg.stdout, `id: ${rec.id}\nhash: ${rec.hash}\n`);
  const fromStdin = await run(['keys', 'hash', '-'], `${key}\n`);
  assert.equal(fromStdin.stdout, fromArg.stdout);

  const typo = key.slice(0, 20) + (key[20] === 'a' ? 'b' : 'a') + key.slice(21);
  const bad = await run(['keys', 'hash', '-'], typo);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^gatehouse keys hash: not a Gatehouse API key/);
  assert.ok(!bad.stderr.includes(typo));
});

test('keys: usage errors are one line, exit 2', async () => {
  for (const [args, msg] of [
    [['keys', 'create'], /--owner NAME is required/],
    [['keys', 'create', '--owner', 'x', '--expires', 'soon'], /is not an ISO date/],
    [['keys', 'create', '--owner', 'x', '--expires', '2001-01-01'], /is in the past/],
    [['keys', 'create', '--owner', 'x', '--bogus'], /unknown option --bogus/],
    [['keys', 'hash'], /give one KEY/],
    [['keys', 'rotate'], /unknown subcommand "rotate"/],
  ] as const) {
    const r = await run([...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const help = await run(['keys', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /gatehouse keys create --owner NAME/);
  assert.match((await run(['help', 'keys'])).stdout, /gatehouse keys hash KEY\|-/);
});
