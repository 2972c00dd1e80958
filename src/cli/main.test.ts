// The CLI as users meet it: a child process, its exit code and its output. Argument handling of
// `start` runs in-process with a fake gateway, so no sockets are opened here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';
import { ConfigError } from '../config/index.js';
import { renderJsonSchema } from '../config/json-schema.js';
import type { CliContext } from './context.js';
import { root, runCli } from '../../test/helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));

const VALID = `listeners:
  - port: 8080
routes:
  - name: api
    match: { path: { prefix: /api } }
    cluster: web
  - name: api-v1
    match: { path: { prefix: /api/v1 } }
    cluster: web
clusters:
  - name: web
    endpoints: [http://127.0.0.1:9000]
`;
const INVALID = `listeners:
  - port: 8080
routes:
  - name: api
    cluster: nowhere
    timeout: soon
clusters: []
`;
const validFile = join(tmp, 'valid.yaml');
const invalidFile = join(tmp, 'invalid.yaml');
writeFileSync(validFile, VALID);
writeFileSync(invalidFile, INVALID);

const run = (...args: string[]) => runCli(args);

const noStack = (s: string) => assert.doesNotMatch(s, /^\s+at /m, `stack trace in output:\n${s}`);

test('validate: a valid file prints FILE: ok, warnings on stderr, exit 0', async () => {
  const r = await run('validate', '-c', validFile);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${validFile}: ok\nroutes: 2, authenticated: 0, public: 2 (api, api-v1)\n`);
  assert.match(r.stderr, /^warning: .*valid\.yaml:7:5: routes\[1\]: route "api-v1" is never matched/m);
});

test('validate: an invalid file prints one file:line:col line per error, exit 2', async () => {
  const r = await run('validate', invalidFile);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `${invalidFile}:6:14: routes[0].timeout: expected a duration such as 250ms, 10s, 5m or integer milliseconds\n`);
  noStack(r.stderr);
});

test('validate: a missing file is one line, exit 2', async () => {
  const r = await run('validate', join(tmp, 'nope.yaml'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^.*nope\.yaml: cannot read config file: no such file\n$/);
});

test('--version prints package.json version', async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  for (const r of await Promise.all([run('--version'), run('-v')])) {
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  }
});

test('unknown flags and commands are one line, exit 2', async () => {
  const cases = [['validate', '--frobnicate', validFile], ['--frobnicate'], ['frobnicate'], ['schema', 'extra']];
  const results = await Promise.all(cases.map((args) => run(...args)));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, cases[i]!.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    noStack(r.stderr);
  });
  assert.equal(results[0]!.stderr, 'gatehouse validate: unknown option --frobnicate (see gatehouse validate --help)\n');
});

test('help: --help, -h, COMMAND --help and help COMMAND', async () => {
  const [long, short, command, topic, none] = await Promise.all([
    run('--help'),
    run('-h'),
    run('validate', '--help'),
    run('help', 'start'),
    run(),
  ]);
  assert.match(long.stdout, /^Usage: gatehouse <command>/);
  assert.match(short.stdout, /Commands:/);
  assert.match(command.stdout, /^Usage: gatehouse validate/);
  assert.match(topic.stdout, /--demo-upstream/);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^Usage:/);
});

test('schema prints the generated JSON Schema', async () => {
  const r = await run('schema');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, renderJsonSchema());
});

// In-process: start's argument handling and error reporting, with a fake gateway.

function fakeContext(startGateway: CliContext['startGateway'] = async () => ({ stop: async () => {} })) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), startGateway };
  return { ctx, out, err };
}

test('start: -c FILE, FILE and --demo-upstream reach startGateway', async () => {
  const calls: unknown[] = [];
  const { ctx } = fakeContext(async (opts) => {
    calls.push(opts);
    return { stop: async () => {} };
  });
  assert.equal(await main(['start', '-c', 'a.yaml'], ctx), 0);
  assert.equal(await main(['start', 'b.yaml', '--demo-upstream'], ctx), 0);
  assert.equal(await main(['start', '--config=c.yaml'], ctx), 0);
  assert.deepEqual(calls, [
    { configPath: 'a.yaml', demoUpstream: false },
    { configPath: 'b.yaml', demoUpstream: true },
    { configPath: 'c.yaml', demoUpstream: false },
  ]);
});

test('start: bad arguments are usage errors, exit 2', async () => {
  for (const [args, message] of [
    [['start'], 'gatehouse start: missing config file (use -c FILE)\n'],
    [['start', '-c', 'a.yaml', 'b.yaml'], 'gatehouse start: give the config file once, either as -c FILE or as FILE\n'],
    [['start', 'a.yaml', 'b.yaml'], 'gatehouse start: unexpected argument "b.yaml"\n'],
    [['start', '--demo'], 'gatehouse start: unknown option --demo (see gatehouse start --help)\n'],
  ] as const) {
    const { ctx, err } = fakeContext(async () => assert.fail('must not start'));
    assert.equal(await main([...args], ctx), 2, args.join(' '));
    assert.deepEqual(err, [message]);
  }
});

test('start: a startup failure is one line, exit 1', async () => {
  const { ctx, err } = fakeContext(async () => {
    throw Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE' });
  });
  assert.equal(await main(['start', 'a.yaml'], ctx), 1);
  assert.deepEqual(err, ['gatehouse: listen EADDRINUSE: address already in use 127.0.0.1:8080\n']);
});

test('start: an invalid config prints its error lines, exit 2', async () => {
  const { ctx, err } = fakeContext(async () => {
    throw new ConfigError(['a.yaml:3:5: routes[0].cluster: unknown cluster "x"', 'a.yaml:4:5: routes[1]: missing required key "name"']);
  });
  assert.equal(await main(['start', 'a.yaml'], ctx), 2);
  assert.deepEqual(err, ['a.yaml:3:5: routes[0].cluster: unknown cluster "x"\n', 'a.yaml:4:5: routes[1]: missing required key "name"\n']);
});

test('an unexpected error is one internal-error line, exit 70', async () => {
  const { ctx, err } = fakeContext();
  ctx.stdout = () => {
    throw new TypeError('boom\nsecond line');
  };
  assert.equal(await main(['--version'], ctx), 70);
  assert.deepEqual(err, ['gatehouse: internal error: boom; second line\n']);
});
