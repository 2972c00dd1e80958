// mTLS through real TLS listeners (SECURITY.md row 23), with certificates made in the test
// (test/helpers/certs.ts: node:crypto only). A `require` listener refuses the handshake without a trusted
// certificate; on a `request` listener routes decide: 401 without a certificate, 403 for an
// untrusted, expired, unpinned or wrongly named one, 200 with identity headers upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { issue, makeCa, type Issued } from '../helpers/certs.js';
import { generateKey } from '../../src/filters/api-key/key-format.js';

const DAY = 86_400_000;
const now = Date.now();
const serverCa = makeCa('Server CA');
const clientCa = makeCa('Client CA');
const otherCa = makeCa('Other CA');
const server = issue(serverCa, { subject: { CN: 'localhost' }, sans: { dns: ['localhost'], ip: ['127.0.0.1'] }, eku: 'server' });
const WEB = 'spiffe://example.org/ns/prod/sa/web';
const good = issue(clientCa, { subject: { O: 'Acme', CN: 'web' }, sans: { uri: [WEB] }, eku: 'client' });
const good2 = issue(clientCa, { subject: { CN: 'web-2' }, sans: { uri: ['spiffe://example.org/ns/prod/sa/web2'] }, eku: 'client' });
const expired = issue(clientCa, { subject: { CN: 'old' }, sans: { uri: [WEB] }, notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY), eku: 'client' });
const foreign = issue(otherCa, { subject: { CN: 'web' }, sans: { uri: [WEB] }, eku: 'client' });
const wrongSan = issue(clientCa, { subject: { CN: 'dev' }, sans: { uri: ['spiffe://example.org/ns/dev/sa/web'] }, eku: 'client' });
const dnsOnly = issue(clientCa, { subject: { CN: 'batch' }, sans: { dns: ['batch.prod.example.org'] }, eku: 'client' });
const apiKey = generateKey();

const dir = mkdtempSync(join(tmpdir(), 'gh-mtls-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const serverTls = { cert_file: file('server.pem', server.cert), key_file: file('server.key', server.key) };
const clientCaFile = file('client-ca.pem', clientCa.cert);

let up: TestUpstream;
let requestGw: TestGateway;
let requireGw: TestGateway;
const agents: Agent[] = [];

before(async () => {
  up = await startUpstream();
  const clusters = [{ name: 'up', endpoints: [up.url] }];
  const requestTls = { ...serverTls, client_auth: 'request', client_ca_file: clientCaFile };
  requestGw = await startGateway({
    listenerTls: requestTls,
    routes: [
      { name: 'open', match: { path: { prefix: '/open' } }, cluster: 'up' },
      {
        name: 'mtls', match: { path: { prefix: '/mtls' } }, cluster: 'up',
        filters: {
          authz: { allow: 'authenticated' },
          mtls: {
            allowed_sans: ['spiffe://example.org/ns/prod/sa/*', '*.prod.example.org'],
            roles_by_san: { 'spiffe://example.org/ns/prod/sa/*': ['prod'], [WEB]: ['web'] },
            cert_headers: true,
          },
        },
      },
      { name: 'pinned', match: { path: { prefix: '/pinned' } }, cluster: 'up', filters: { authz: { allow: 'authenticated' }, mtls: { pinned_fingerprints: [good.fingerprint] } } },
      {
        name: 'either', match: { path: { prefix: '/either' } }, cluster: 'up',
        filters: { authz: { allow: 'authenticated' }, mtls: { require: false }, api_key: { keys: [{ id: apiKey.id, hash: apiKey.hash, owner: 'key-owner' }] } },
      },
    ],
    clusters,
  });
  const requireTls = { ...serverTls, client_auth: 'require', client_ca_file: clientCaFile };
  requireGw = await startGateway({ listenerTls: requireTls, routes: [{ name: 'open', match: { path: { prefix: '/' } }, cluster: 'up' }], clusters });
});
after(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await requestGw.stop();
  await requireGw.stop();
  await up.close();
});

/** An HTTPS client that trusts the test server CA and presents `cert`, if any. */
function client(cert?: Issued): Agent {
  const a = new Agent({ connect: { ca: serverCa.cert, ...(cert ? { cert: cert.cert, key: cert.key } : {}) } });
  agents.push(a);
  return a;
}
const noCert = client();

async function get(gw: TestGateway, path: string, dispatcher: Agent, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url}${path}`, { dispatcher, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, code: res.statusCode === 200 ? undefined : (JSON.parse(text) as { code: string }).code };
}

async function nothingForwarded<T>(fn: () => Promise<T>): Promise<T> {
  const n = up.requests.length;
  const r = await fn();
  assert.equal(up.requests.length, n, 'a refused request reached the upstream');
  return r;
}

/** A raw TLS connection that sends one request: what came back, and the error, if any. */
function rawTls(port: number, cert?: Issued): Promise<{ data: string; error: string | undefined; handshake: boolean }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: serverCa.cert, ...(cert ? { cert: cert.cert, key: cert.key } : {}) });
    let data = '';
    let error: string | undefined;
    let handshake = false;
    s.on('secureConnect', () => {
      handshake = true;
      s.write('GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', (e: Error & { code?: string }) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ data, error, handshake }));
  });
}

test('require listener: no certificate gets the TLS alert, an untrusted or expired one a closed connection; never an HTTP byte', async () => {
  const n = up.requests.length;
  // TLS 1.3: the client finishes its side of the handshake first, then reads the server's alert 116.
  const none = await rawTls(requireGw.port);
  assert.equal(none.error, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  assert.equal(none.data, '');
  // A certificate the CA bundle does not verify: Node checks it right after the handshake and
  // destroys the connection (it sends no alert of its own here).
  for (const cert of [foreign, expired]) {
    const r = await rawTls(requireGw.port, cert);
    assert.equal(r.data, '', 'an HTTP answer came back');
  }
  await assert.rejects(request(`${requireGw.url}/x`, { dispatcher: noCert }).then((r) => r.body.text()));
  assert.equal(up.requests.length, n, 'something reached the upstream');
  const ok = await rawTls(requireGw.port, good);
  assert.match(ok.data, /^HTTP\/1\.1 200 /);
  assert.equal((await get(requireGw, '/x', client(good))).status, 200);
});

test('request listener: a route without mtls works without a certificate', async () => {
  assert.equal((await get(requestGw, '/open', noCert)).status, 200);
});

test('request listener, mtls route: 401 without a certificate, nothing forwarded', async () => {
  const r = await nothingForwarded(() => get(requestGw, '/mtls', noCert));
  assert.equal(r.status, 401);
  assert.equal(r.code, 'authn.mtls.cert_required');
  assert.equal(r.headers['www-authenticate'], 'ClientCertificate');
});

test('request listener, mtls route: 403 for untrusted, expired, wrong SAN, unpinned; nothing forwarded', async () => {
  const cases: Array<[string, Issued, string]> = [
    ['/mtls', foreign, 'authn.mtls.cert_untrusted'],
    ['/mtls', expired, 'authn.mtls.cert_expired'],
    ['/mtls', wrongSan, 'authn.mtls.san_not_allowed'],
    ['/pinned', good2, 'authn.mtls.fingerprint_mismatch'],
    // Present but refused: refused even where the certificate is optional (no fall-through).
    ['/either', foreign, 'authn.mtls.cert_untrusted'],
  ];
  for (const [path, cert, code] of cases) {
    const r = await nothingForwarded(() => get(requestGw, path, client(cert)));
    assert.equal(r.status, 403, `${path} ${code}`);
    assert.equal(r.code, code);
  }
});

test('a good certificate: 200, identity and certificate facts upstream; client-sent cert headers stripped', async () => {
  const a = client(good);
  const r = await get(requestGw, '/mtls', a, {
    'x-forwarded-client-cert': `By=spiffe://evil;URI=spiffe://example.org/ns/prod/sa/admin`,
    'x-ssl-client-verify': 'SUCCESS',
    'x-ssl-client-s-dn': 'CN=admin',
    'x-gatehouse-client-cert-fingerprint': 'f'.repeat(64),
    'x-gatehouse-subject': 'admin',
  });
  assert.equal(r.status, 200);
  const h = up.requests.at(-1)!.headers;
  assert.equal(h['x-gatehouse-subject'], WEB);
  assert.equal(h['x-gatehouse-auth-method'], 'mtls');
  assert.equal(h['x-gatehouse-roles'], 'prod,web');
  assert.equal(h['x-gatehouse-issuer'], 'O=Gatehouse Tests, CN=Client CA');
  assert.equal(h['x-gatehouse-client-cert-fingerprint'], good.fingerprint);
  assert.equal(h['x-gatehouse-client-cert-subject'], 'O=Acme, CN=web');
  assert.equal(h['x-gatehouse-client-cert-sans'], WEB);
  assert.equal(h['x-forwarded-client-cert'], undefined);
  assert.equal(h['x-ssl-client-verify'], undefined);
  assert.equal(h['x-ssl-client-s-dn'], undefined);
  // Keep-alive: a second request on the same connection is served from the cached certificate.
  assert.equal((await get(requestGw, '/mtls', a)).status, 200);
  assert.equal((await get(requestGw, '/pinned', a)).status, 200);
});

test('client-sent certificate headers are stripped on a TLS listener without any mtls route too', async () => {
  const r = await get(requestGw, '/open', noCert, { 'x-forwarded-client-cert': 'Hash=abc', 'X-SSL-Client-Cert': 'x', 'x-client-cert': 'y' });
  assert.equal(r.status, 200);
  const h = up.requests.at(-1)!.headers;
  assert.equal(h['x-forwarded-client-cert'], undefined);
  assert.equal(h['x-ssl-client-cert'], undefined);
  assert.equal(h['x-client-cert'], undefined);
});

test('subject falls back to the DNS SAN; wildcard allow-list on DNS names', async () => {
  assert.equal((await get(requestGw, '/mtls', client(dnsOnly))).status, 200);
  assert.equal(up.requests.at(-1)!.headers['x-gatehouse-subject'], 'batch.prod.example.org');
});

test('any-of with require: false: certificate or API key; neither is 401 with both challenges', async () => {
  assert.equal((await get(requestGw, '/either', client(good))).status, 200);
  assert.equal(up.requests.at(-1)!.headers['x-gatehouse-auth-method'], 'mtls');
  assert.equal((await get(requestGw, '/either', noCert, { 'x-api-key': apiKey.key })).status, 200);
  assert.equal(up.requests.at(-1)!.headers['x-gatehouse-subject'], 'key-owner');
  const none = await nothingForwarded(() => get(requestGw, '/either', noCert));
  assert.equal(none.status, 401);
  assert.equal(none.code, 'authn.missing_credentials');
  assert.equal(none.headers['www-authenticate'], 'ClientCertificate, ApiKey header="x-api-key"');
});

test('listener config: client_auth request/require needs client_ca_file; a CA file without client_auth is a mistake', async () => {
  const clusters = [{ name: 'up', endpoints: [up.url] }];
  const routes = [{ name: 'open', match: { path: { prefix: '/' } }, cluster: 'up' }];
  for (const mode of ['request', 'require']) {
    await assert.rejects(startGateway({ listenerTls: { ...serverTls, client_auth: mode } as typeof serverTls, routes, clusters }), new RegExp(`client_auth ${mode} needs tls.client_ca_file`));
  }
  await assert.rejects(startGateway({ listenerTls: { ...serverTls, client_ca_file: clientCaFile } as typeof serverTls, routes, clusters }), /client_ca_file is set but tls.client_auth is none/);
});
