// A real OIDC provider for tests: a node:http server on 127.0.0.1:0 serving a discovery document
// and a JWKS whose keys the test switches at will, counting every request (so a test can prove a
// fetch did or did not happen), and able to go down. Tokens are minted at test time with jose.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyObject, sign as nodeSign, createHmac } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type JWTHeaderParameters } from 'jose';

export type TestAlg = 'RS256' | 'ES256' | 'EdDSA' | 'PS256';
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface TestKey {
  kid: string;
  alg: TestAlg;
  privateKey: PrivateKey;
  publicJwk: JWK;
}

export type IdpMode = 'up' | 'error' | 'hang' | 'reset';

export interface FakeIdp {
  /** The issuer URL (http://127.0.0.1:port). */
  issuer: string;
  jwksUri: string;
  /** Requests by path, in arrival order. */
  requests: string[];
  count(path: '/.well-known/openid-configuration' | '/jwks' | string): number;
  /** Resolves on the next request to `path`. */
  nextRequest(path: string): Promise<void>;
  /** A new key; published unless `publish: false`. */
  addKey(alg: TestAlg, opts?: { kid?: string; publish?: boolean }): Promise<TestKey>;
  /** Publish exactly these keys. */
  publish(keys: TestKey[]): void;
  /** Replace the discovery document (e.g. to report another issuer). */
  discovery: Record<string, unknown>;
  /** Cache-Control sent with the JWKS (default none). */
  jwksCacheControl: string | undefined;
  setMode(mode: IdpMode): void;
  close(): Promise<void>;
}

let kidCounter = 0;

export async function makeKey(alg: TestAlg, kid = `k${++kidCounter}-${alg.toLowerCase()}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export async function startFakeIdp(): Promise<FakeIdp> {
  const requests: string[] = [];
  const waiters: { path: string; resolve: () => void }[] = [];
  let published: TestKey[] = [];
  let mode: IdpMode = 'up';
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    requests.push(path);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.path === path) {
        waiters[i]!.resolve();
        waiters.splice(i, 1);
      }
    }
    if (mode === 'hang') return;
    if (mode === 'reset') return req.socket.destroy();
    if (mode === 'error') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      return res.end('down');
    }
    const send = (obj: unknown, extra: Record<string, string> = {}) => {
      const body = JSON.stringify(obj);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
      res.end(body);
    };
    if (path === '/.well-known/openid-configuration') return send(idp.discovery);
    if (path === '/jwks') return send({ keys: published.map((k) => k.publicJwk) }, idp.jwksCacheControl ? { 'cache-control': idp.jwksCacheControl } : {});
    res.writeHead(404);
    res.end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const idp: FakeIdp = {
    issuer,
    jwksUri: `${issuer}/jwks`,
    requests,
    count: (p) => requests.filter((r) => r === p).length,
    nextRequest: (p) => new Promise<void>((resolve) => waiters.push({ path: p, resolve })),
    async addKey(alg, opts = {}) {
      const k = await makeKey(alg, opts.kid);
      if (opts.publish !== false) published = [...published, k];
      return k;
    },
    publish(keys) {
      published = [...keys];
    },
    discovery: { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'] },
    jwksCacheControl: undefined,
    setMode(m) {
      mode = m;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  return idp;
}

/** Seconds since the epoch. */
export const nowS = () => Math.floor(Date.now() / 1000);

/** A well-formed, correctly signed token (jose). Claims default to a valid 5-minute token. */
export async function mint(
  key: TestKey,
  claims: JWTPayload & Record<string, unknown>,
  header: Partial<JWTHeaderParameters> & Record<string, unknown> = {},
): Promise<string> {
  const now = nowS();
  const body: Record<string, unknown> = { iat: now, exp: now + 300, ...claims };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return new SignJWT(body).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header } as JWTHeaderParameters).sign(key.privateKey);
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/**
 * A token built from raw JSON text (so duplicate members and odd spellings survive), signed with
 * node:crypto: RS256 with an RSA key, HS256 with a byte secret, or left unsigned.
 */
export function rawToken(headerJson: string, payloadJson: string, signer?: { rs256: TestKey } | { hs256: Buffer } | { signature: string }): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  if (signer === undefined) return `${input}.`;
  if ('signature' in signer) return `${input}.${signer.signature}`;
  if ('hs256' in signer) return `${input}.${createHmac('sha256', signer.hs256).update(input).digest('base64url')}`;
  const sig = nodeSign('sha256', Buffer.from(input), KeyObject.from(signer.rs256.privateKey as Parameters<typeof KeyObject.from>[0]));
  return `${input}.${sig.toString('base64url')}`;
}
