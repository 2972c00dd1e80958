// secrets.overlap: after a rotation the previous value of an inbound credential (sigv4 secret and
// session token, jwt HS256 secret, admin.token) still verifies until the rotation time plus the
// overlap, on the gateway's clock; the new value verifies throughout; with overlap 0 the old value
// is refused at once. Secrets live in files behind ${secret:file:...} references and rotate the
// way operators rotate them: the file changes, the refresh check (or a SIGHUP reload) applies it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignJWT } from 'jose';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { loadConfigFile } from '../../src/config/index.js';
import { waitFor } from '../helpers/wait.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
let now = NOW;
const clock = { now: () => now };
const MIN = 60_000;

const ISSUER = 'https://issuer.test';
const AUD = 'orders';
const PATHS = {
  'sigv4-secret': 'routes[0].filters.sigv4.access_keys[0].secret',
  'temp-token': 'routes[0].filters.sigv4.access_keys[1].session_tokens[0]',
  'jwt-secret': 'routes[1].filters.jwt.issuers[0].secret',
  'admin-token': 'admin.token',
} as const;
type SecretName = keyof typeof PATHS | 'temp-secret';

/** Every value any test writes, so the leak check can look for all of them. */
const written = new Set<string>();
const v = (name: string, n: number) => {
  const value = `${name}-v${n}-${'x'.repeat(32)}`;
  written.add(value);
  return value;
};

let up: TestUpstream;
before(async () => {
  up = await startUpstream();
});
after(async () => {
  await up.close();
});

interface Rig {
  gw: Gateway;
  url: string;
  adminUrl: string;
  configPath: string;
  dir: string;
  lines: string[];
  /** The current value of each secret file. */
  values: Record<SecretName, string>;
  /** Writes a secret file (atomically) and waits for the refresh check to apply it. */
  rotate(name: SecretName, value: string): Promise<void>;
  /** SIGHUP: load the file again and reload. */
  reload(): Promise<void>;
  accessLog(until: (lines: Array<Record<string, unknown>>) => boolean): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

async function startRig(opts: { overlap?: string; refresh?: boolean } = {}): Promise<Rig> {
  now = NOW;
  const dir = mkdtempSync(join(tmpdir(), 'gh-overlap-'));
  const values: Record<SecretName, string> = {
    'sigv4-secret': v('sigv4-secret', 1),
    'temp-secret': v('temp-secret', 1),
    'temp-token': v('temp-token', 1),
    'jwt-secret': v('jwt-secret', 1),
    'admin-token': v('admin-token', 1),
  };
  const put = (name: string, value: string) => {
    writeFileSync(join(dir, `${name}.tmp`), value);
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
  };
  for (const [k, val] of Object.entries(values)) put(k, val);
  const secrets = [
    ...(opts.refresh !== false ? ['refresh_interval: 50ms'] : []),
    ...(opts.overlap !== undefined ? [`overlap: ${opts.overlap}`] : []),
  ];
  const configPath = join(dir, 'gatehouse.yaml');
  writeFileSync(
    configPath,
    `listeners: [{ port: 0 }]
admin: { port: 0, token: "\${secret:file:admin-token}" }
access_log: { path: ${join(dir, 'access.log')} }
${secrets.length ? `secrets: { ${secrets.join(', ')} }` : ''}
routes:
  - name: signed
    match: { path: { prefix: /signed } }
    cluster: up
    filters:
      authz: { allow: authenticated }
      sigv4:
        region: eu-west-1
        service: execute-api
        access_keys:
          - { id: AKIDROTATE, secret: "\${secret:file:sigv4-secret}", subject: rotating }
          - { id: ASIATEMP, secret: "\${secret:file:temp-secret}", session_tokens: ["\${secret:file:temp-token}"] }
  - name: tokens
    match: { path: { prefix: /tokens } }
    cluster: up
    filters:
      authz: { allow: authenticated }
      jwt: { issuers: [{ issuer: "${ISSUER}", audiences: [${AUD}], secret: "\${secret:file:jwt-secret}" }] }
clusters:
  - name: up
    endpoints: [${up.url}]
`,
  );
  const lines: string[] = [];
  const loaded = await loadConfigFile(configPath);
  const gw = await createGateway(loaded.config, { configPath, secretPaths: loaded.secretPaths, clock, say: (l) => void lines.push(l) });
  const accessLogPath = join(dir, 'access.log');
  return {
    gw,
    url: `http://127.0.0.1:${gw.ports()[0]}`,
    adminUrl: `http://127.0.0.1:${gw.adminPort()}`,
    configPath,
    dir,
    lines,
    values,
    async rotate(name, value) {
      const before = lines.length;
      values[name] = value;
      put(name, value);
      await waitFor(() => lines.slice(before).some((l) => l === 'secret references changed: new values applied'), 5000, `the rotation of ${name}`);
    },
    async reload() {
      const l = await loadConfigFile(configPath);
      await gw.reload(l.config, l.secretPaths);
    },
    async accessLog(until) {
      const read = () =>
        existsSync(accessLogPath) ? readFileSync(accessLogPath, 'utf8').split('\n').filter(Boolean).map((x) => JSON.parse(x) as Record<string, unknown>) : [];
      for (let i = 0; i < 100 && !until(read()); i++) await new Promise((r) => setTimeout(r, 50));
      return read();
    },
    stop: () => gw.stop(),
  };
}

interface Answer {
  status: number;
  code: string | undefined;
  requestId: string;
}

async function answer(res: Awaited<ReturnType<typeof request>>): Promise<Answer> {
  const text = await res.body.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {
    code = undefined;
  }
  return { status: res.statusCode, code, requestId: String(res.headers['x-request-id']) };
}

/** A GET signed by the AWS SDK signer at the gateway's current time. */
async function signedGet(rig: Rig, key: { id: string; secret: string; token?: string }, path = '/signed/x'): Promise<Answer> {
  const port = Number(new URL(rig.url).port);
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.id, secretAccessKey: key.secret, ...(key.token ? { sessionToken: key.token } : {}) },
    region: 'eu-west-1',
    service: 'execute-api',
    sha256: Sha256,
  });
  const req = new HttpRequest({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } });
  const s = await signer.sign(req, { signingDate: new Date(now) });
  return answer(await request(`${rig.url}${path}`, { headers: s.headers as Record<string, string> }));
}

const alice = (secret: string) => ({ id: 'AKIDROTATE', secret });

/** An HS256 token minted now (valid for an hour). */
function hs256(secret: string): Promise<string> {
  return new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUD)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + 3600)
    .sign(new TextEncoder().encode(secret));
}

async function bearerGet(rig: Rig, secret: string): Promise<Answer> {
  return answer(await request(`${rig.url}/tokens/x`, { headers: { authorization: `Bearer ${await hs256(secret)}` } }));
}

async function adminGet(rig: Rig, token: string, path = '/routes'): Promise<Answer & { text: string }> {
  const res = await request(`${rig.adminUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.body.text();
  return { status: res.statusCode, code: undefined, requestId: '', text };
}

/** The authn decision the access log recorded for a request. */
async function authnDecision(rig: Rig, requestId: string): Promise<Record<string, unknown> | undefined> {
  const lines = await rig.accessLog((ls) => ls.some((l) => l.request_id === requestId));
  const line = lines.find((l) => l.request_id === requestId);
  return (line?.decisions as Array<Record<string, unknown>> | undefined)?.find((d) => d.filter === 'authn');
}

/** Starts a rig, runs `body` with it and always stops it. */
async function withRig(opts: Parameters<typeof startRig>[0], body: (rig: Rig) => Promise<void>): Promise<void> {
  const rig = await startRig(opts);
  try {
    await body(rig);
  } finally {
    await rig.stop();
  }
}

/** Rotates `name` to its second value and checks the gateway said until when the previous one is
 * accepted; returns the values before and after. */
async function rotateWithOverlap(rig: Rig, name: keyof typeof PATHS): Promise<{ old: string; next: string }> {
  const old = rig.values[name];
  const next = v(name, 2);
  await rig.rotate(name, next);
  assert.ok(announcedOverlap(rig, name), rig.lines.join('\n'));
  return { old, next };
}

/** The gateway said that `name` rotated and until when its previous value is accepted. */
const announcedOverlap = (rig: Rig, name: keyof typeof PATHS) =>
  rig.lines.some((l) => l.startsWith(`secret at ${PATHS[name]} rotated; previous value accepted until`));

test('sigv4: with secrets.overlap 5m the previous secret still verifies until the window closes; the new one throughout', async () => {
  await withRig({ overlap: '5m' }, async (rig) => {
    const old = rig.values['sigv4-secret'];
    assert.equal((await signedGet(rig, alice(old))).status, 200);
    const next = v('sigv4-secret', 2);
    await rig.rotate('sigv4-secret', next);
    const until = new Date(NOW + 5 * MIN).toISOString();
    assert.ok(rig.lines.includes(`secret at ${PATHS['sigv4-secret']} rotated; previous value accepted until ${until}`), rig.lines.join('\n'));

    const viaOld = await signedGet(rig, alice(old));
    assert.equal(viaOld.status, 200, 'the previous secret verifies inside the window');
    assert.deepEqual(await authnDecision(rig, viaOld.requestId), {
      filter: 'authn', allowed: true, code: 'authn.previous_credential', auth_method: 'sigv4', subject: 'rotating', enforced: true,
    });
    const viaNew = await signedGet(rig, alice(next));
    assert.equal(viaNew.status, 200);
    assert.equal((await authnDecision(rig, viaNew.requestId))?.code, null, 'the current secret is not marked');

    now = NOW + 5 * MIN - 1000;
    assert.equal((await signedGet(rig, alice(old))).status, 200, 'still inside the window');
    now = NOW + 5 * MIN;
    const late = await signedGet(rig, alice(old));
    assert.equal(late.status, 403, 'the window closed: refused');
    assert.equal(late.code, 'authn.sigv4.signature_mismatch');
    assert.equal((await signedGet(rig, alice(next))).status, 200, 'the new secret verifies throughout');
    assert.equal((await signedGet(rig, alice(v('sigv4-secret', 99)))).status, 403, 'an unrelated secret never does');

    const metrics = await adminGet(rig, rig.values['admin-token'], '/metrics');
    assert.match(metrics.text, /gatehouse_authn_previous_credential_total\{route="signed",method="sigv4"\} 2/);
  });
});

test('sigv4: a rotated session token keeps verifying with its previous value during the overlap, not after', async () => {
  await withRig({ overlap: '5m' }, async (rig) => {
    const temp = (token: string) => ({ id: 'ASIATEMP', secret: rig.values['temp-secret'], token });
    const { old, next } = await rotateWithOverlap(rig, 'temp-token');
    assert.equal((await signedGet(rig, temp(old))).status, 200);
    assert.equal((await signedGet(rig, temp(next))).status, 200);
    now = NOW + 5 * MIN + 1;
    const late = await signedGet(rig, temp(old));
    assert.equal(late.status, 403);
    assert.equal(late.code, 'authn.sigv4.invalid_session_token');
    assert.equal((await signedGet(rig, temp(next))).status, 200);
  });
});

test('jwt HS256: tokens signed with the previous secret verify during the overlap, 401 after; new ones throughout', async () => {
  await withRig({ overlap: '5m' }, async (rig) => {
    const { old, next } = await rotateWithOverlap(rig, 'jwt-secret');
    const viaOld = await bearerGet(rig, old);
    assert.equal(viaOld.status, 200);
    assert.equal((await authnDecision(rig, viaOld.requestId))?.code, 'authn.previous_credential');
    // The same token again: never served from the verified-token cache past the window.
    const sameToken = await hs256(old);
    const once = await answer(await request(`${rig.url}/tokens/x`, { headers: { authorization: `Bearer ${sameToken}` } }));
    assert.equal(once.status, 200);
    assert.equal((await bearerGet(rig, next)).status, 200);

    now = NOW + 5 * MIN;
    const late = await bearerGet(rig, old);
    assert.equal(late.status, 401);
    assert.equal(late.code, 'authn.jwt.bad_signature');
    const cached = await answer(await request(`${rig.url}/tokens/x`, { headers: { authorization: `Bearer ${sameToken}` } }));
    assert.equal(cached.status, 401, 'a token verified by the previous secret was not cached beyond its window');
    assert.equal((await bearerGet(rig, next)).status, 200);
  });
});

test('admin.token: the previous token is accepted during the overlap (and said once), refused after; the new one throughout', async () => {
  await withRig({ overlap: '5m' }, async (rig) => {
    const { old, next } = await rotateWithOverlap(rig, 'admin-token');
    assert.equal((await adminGet(rig, old)).status, 200);
    assert.equal((await adminGet(rig, old)).status, 200);
    assert.equal(rig.lines.filter((l) => l.startsWith('admin: a request used the previous admin.token')).length, 1, 'said once, not per request');
    assert.equal((await adminGet(rig, next)).status, 200, 'the rotated token took effect without a restart');
    assert.equal((await adminGet(rig, 'not-the-token-at-all')).status, 401);
    now = NOW + 5 * MIN;
    assert.equal((await adminGet(rig, old)).status, 401);
    assert.equal((await adminGet(rig, next)).status, 200);
  });
});

test('with overlap 0 (the default) every previous value is refused at once', async () => {
  await withRig({}, async (rig) => {
    const old = { sigv4: rig.values['sigv4-secret'], jwt: rig.values['jwt-secret'], admin: rig.values['admin-token'] };
    await rig.rotate('sigv4-secret', v('sigv4-secret', 2));
    await rig.rotate('jwt-secret', v('jwt-secret', 2));
    await rig.rotate('admin-token', v('admin-token', 2));
    assert.ok(rig.lines.includes(`secret at ${PATHS['sigv4-secret']} rotated; previous value refused at once (secrets.overlap is 0)`));
    assert.equal((await signedGet(rig, alice(old.sigv4))).status, 403);
    assert.equal((await bearerGet(rig, old.jwt)).status, 401);
    assert.equal((await adminGet(rig, old.admin)).status, 401);
    assert.equal((await signedGet(rig, alice(rig.values['sigv4-secret']))).status, 200);
    assert.equal((await bearerGet(rig, rig.values['jwt-secret'])).status, 200);
    assert.equal((await adminGet(rig, rig.values['admin-token'])).status, 200);
  });
});

test('a third rotation keeps both earlier values valid, each until its own deadline', async () => {
  await withRig({ overlap: '5m' }, async (rig) => {
    const s1 = rig.values['sigv4-secret'];
    const s2 = v('sigv4-secret', 2);
    const s3 = v('sigv4-secret', 3);
    await rig.rotate('sigv4-secret', s2); // at 0: s1 until 5m
    now = NOW + 2 * MIN;
    await rig.rotate('sigv4-secret', s3); // at 2m: s2 until 7m
    now = NOW + 4 * MIN;
    for (const s of [s1, s2, s3]) assert.equal((await signedGet(rig, alice(s))).status, 200);
    now = NOW + 5 * MIN;
    assert.equal((await signedGet(rig, alice(s1))).status, 403, 's1 ran out 5m after its rotation');
    assert.equal((await signedGet(rig, alice(s2))).status, 200, 's2 has 2m left');
    now = NOW + 7 * MIN;
    assert.equal((await signedGet(rig, alice(s2))).status, 403);
    assert.equal((await signedGet(rig, alice(s3))).status, 200);
  });
});

test('a SIGHUP reload whose only change is secret values opens the window too; one that also edits the file does not', async () => {
  await withRig({ overlap: '5m', refresh: false }, async (rig) => {
    const s1 = rig.values['sigv4-secret'];
    const s2 = v('sigv4-secret', 2);
    writeFileSync(join(rig.dir, 'sigv4-secret'), s2);
    await rig.reload();
    assert.ok(announcedOverlap(rig, 'sigv4-secret'));
    assert.equal((await signedGet(rig, alice(s1))).status, 200);
    assert.equal((await signedGet(rig, alice(s2))).status, 200);

    // A secret that changes in a reload that also edits the file: key paths of the two configs need
    // not correspond, so nothing is recorded and both earlier values are refused at once.
    const s3 = v('sigv4-secret', 3);
    writeFileSync(join(rig.dir, 'sigv4-secret'), s3);
    writeFileSync(rig.configPath, readFileSync(rig.configPath, 'utf8').replace('listeners: [{ port: 0 }]', 'listeners: [{ port: 0 }]\ntrusted_proxies: [10.0.0.0/8]'));
    const before = rig.lines.length;
    await rig.reload();
    assert.ok(!rig.lines.slice(before).some((l) => l.startsWith('secret at ')), 'no rotation reported');
    assert.equal((await signedGet(rig, alice(s2))).status, 403);
    assert.equal((await signedGet(rig, alice(s1))).status, 403);
    assert.equal((await signedGet(rig, alice(s3))).status, 200);
  });
});

test('rotated values never appear in operational messages, the access log, /config or /metrics', async () => {
  await withRig({ overlap: '5m' }, async (rig) => {
    const old = { sigv4: rig.values['sigv4-secret'], jwt: rig.values['jwt-secret'], admin: rig.values['admin-token'], token: rig.values['temp-token'] };
    await rig.rotate('sigv4-secret', v('sigv4-secret', 2));
    await rig.rotate('jwt-secret', v('jwt-secret', 2));
    await rig.rotate('temp-token', v('temp-token', 2));
    await rig.rotate('admin-token', v('admin-token', 2));
    const a = await signedGet(rig, alice(old.sigv4));
    const b = await bearerGet(rig, old.jwt);
    const c = await signedGet(rig, { id: 'ASIATEMP', secret: rig.values['temp-secret'], token: old.token });
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 200]);
    assert.equal((await adminGet(rig, old.admin)).status, 200);
    const config = (await adminGet(rig, rig.values['admin-token'], '/config')).text;
    const metrics = (await adminGet(rig, rig.values['admin-token'], '/metrics')).text;
    const access = JSON.stringify(await rig.accessLog((ls) => ls.some((l) => l.request_id === c.requestId)));
    await rig.stop();
    const said = rig.lines.join('\n');
    for (const value of written) {
      for (const [where, text] of [['operational messages', said], ['/config', config], ['/metrics', metrics], ['access log', access]] as const) {
        assert.ok(!text.includes(value), `${where} must not contain a secret value`);
      }
    }
    assert.ok(said.includes('previous value accepted until'), 'the rotations were reported (by key path)');
  });
});
