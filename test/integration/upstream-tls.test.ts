// HTTPS upstreams are verified by default: CA bundle, SNI/servername, and an optional client
// certificate for upstream mTLS. Certificates are made at test time (test/helpers/certs.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { makeCa, issue } from '../helpers/certs.js';
import { startGateway } from '../helpers/gateway.js';
import type { ClusterConfig } from '../../src/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-tls-'));
const ca = makeCa('Upstream Test CA');
const server = issue(ca, { subject: { CN: 'api.internal' }, sans: { dns: ['api.internal'], ip: ['127.0.0.1'] }, eku: 'server' });
const client = issue(ca, { subject: { CN: 'gatehouse' }, sans: { dns: ['gatehouse'] }, eku: 'client' });
const otherCa = makeCa('Someone Else');
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const caFile = write('ca.pem', ca.cert);
const otherCaFile = write('other-ca.pem', otherCa.cert);
const clientCert = write('client.pem', client.cert);
const clientKey = write('client-key.pem', client.key);

let plain: https.Server;
let mutual: https.Server;
let plainUrl: string;
let mutualUrl: string;
const seenClientCerts: string[] = [];

before(async () => {
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
    if (peer?.subject?.CN) seenClientCerts.push(String(peer.subject.CN));
    res.end(`hello over tls, sni=${(req.socket as import('node:tls').TLSSocket & { servername?: string }).servername ?? ''}`);
  };
  plain = https.createServer({ cert: server.cert, key: server.key }, handler);
  mutual = https.createServer({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, handler);
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => mutual.listen(0, '127.0.0.1', () => r()));
  plainUrl = `https://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  mutualUrl = `https://127.0.0.1:${(mutual.address() as AddressInfo).port}`;
});
after(async () => {
  plain.closeAllConnections();
  mutual.closeAllConnections();
  await new Promise<void>((r) => plain.close(() => r()));
  await new Promise<void>((r) => mutual.close(() => r()));
});

async function through(cluster: Omit<ClusterConfig, 'name'>): Promise<{ status: number; body: string; code?: string }> {
  const g = await startGateway({ routes: [{ name: 'r', cluster: 'up' }], clusters: [{ name: 'up', ...cluster }] });
  try {
    const res = await request(`${g.url}/x`);
    const body = await res.body.text();
    const code = res.statusCode >= 400 ? (JSON.parse(body) as { code: string }).code : undefined;
    return { status: res.statusCode, body, ...(code ? { code } : {}) };
  } finally {
    await g.stop();
  }
}

test('an HTTPS upstream with a private CA is refused unless its CA is configured', async () => {
  const refused = await through({ endpoints: [plainUrl] });
  assert.equal(refused.status, 502);
  assert.equal(refused.code, 'upstream.bad_response');
  const wrongCa = await through({ endpoints: [plainUrl], tls: { ca_file: otherCaFile } });
  assert.equal(wrongCa.status, 502);
  const ok = await through({ endpoints: [plainUrl], tls: { ca_file: caFile } });
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^hello over tls/);
});

test('servername sets SNI and the name verified in the certificate', async () => {
  const ok = await through({ endpoints: [plainUrl], tls: { ca_file: caFile, servername: 'api.internal' } });
  assert.equal(ok.status, 200);
  assert.match(ok.body, /sni=api\.internal/);
  const mismatch = await through({ endpoints: [plainUrl], tls: { ca_file: caFile, servername: 'other.internal' } });
  assert.equal(mismatch.status, 502);
});

test('upstream mTLS: the client certificate is presented when configured', async () => {
  const without = await through({ endpoints: [mutualUrl], tls: { ca_file: caFile } });
  assert.equal(without.status, 502);
  const withCert = await through({ endpoints: [mutualUrl], tls: { ca_file: caFile, cert_file: clientCert, key_file: clientKey } });
  assert.equal(withCert.status, 200);
  assert.ok(seenClientCerts.includes('gatehouse'));
});

test('insecure_skip_verify is an explicit opt-out', async () => {
  const ok = await through({ endpoints: [plainUrl], tls: { insecure_skip_verify: true } });
  assert.equal(ok.status, 200);
});

test('a TLS listener serves HTTPS with its configured certificate', async () => {
  const g = await startGateway({
    routes: [{ name: 'r', cluster: 'up' }],
    clusters: [{ name: 'up', endpoints: [plainUrl], tls: { ca_file: caFile } }],
    listenerTls: { cert_file: write('listener.pem', server.cert), key_file: write('listener-key.pem', server.key) },
  });
  const agent = new Agent({ connect: { ca: ca.cert } });
  try {
    const res = await request(`${g.url}/x`, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    const seen = await res.body.text();
    assert.match(seen, /^hello over tls/);
  } finally {
    await agent.close();
    await g.stop();
  }
});
