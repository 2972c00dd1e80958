// Authenticated Gatehouse targets (issue 3's benchmark): the plain `gatehouse` catch-all route with
// one authenticator added, each reported as a same-round req/s ratio to the no-auth `gatehouse`.
//
//   gatehouse-jwt              jwt filter, inline JWKS with one ES256 key generated here; wrk sends
//                              one token (minted at start-up) on every request, so after the first
//                              request every verification is a verified-token cache hit ("hot").
//   gatehouse-sigv4            sigv4 filter; wrk replays one header-signed GET (Authorization +
//                              X-Amz-Date + X-Amz-Content-Sha256), signed with the AWS SDK signer
//                              (@smithy/signature-v4) right before each run. Replay protection is
//                              off, so the same signature is accepted for max_skew (5 min) and
//                              every request pays the full verification (no signature cache).
//   gatehouse-sigv4-presigned  the same, but a presigned GET URL (query-string form). Not in
//                              the default list; select it with BENCH_TARGETS.
//
// Everything else (access log on, defaults) is as in the `gatehouse` target, so the ratio is the
// cost of the filter alone. The credentials are generated per harness run and never leave the
// temp dir.
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { gatehouseTarget } from './targets.mjs';

export const AUTH_BASELINE = 'gatehouse';

// The auth targets measure only the high-concurrency level by default (the issue's figure is
// req/s; this keeps `npm run bench` under ~10 minutes). BENCH_AUTH_AT1=1 adds the 1-connection runs.
const measureAt1 = () => process.env.BENCH_AUTH_AT1 === '1';

const JWT_ISSUER = 'https://bench.example';
const JWT_AUDIENCE = 'bench';
const JWT_ALG = 'ES256';
// exp - iat must stay within the filter's max_lifetime (default 24h); 12 h outlasts any sane run.
const JWT_LIFETIME_SECONDS = 12 * 3600;

/** (e) Gatehouse with the jwt filter and one hot ES256 token. */
export function gatehouseJwtTarget({
  name = 'gatehouse-jwt',
  label = '(e) Gatehouse + jwt (ES256, hot token)',
  // Authenticated routes deny unless a policy allows: the plain jwt target admits any caller.
  authz = { authz: { allow: 'authenticated' } },
  ...opts
} = {}) {
  let token = null;
  const t = gatehouseTarget({
    name,
    label,
    ...opts,
    route: async () => {
      const { publicKey, privateKey } = await generateKeyPair(JWT_ALG);
      const kid = `bench-${randomBytes(4).toString('hex')}`;
      const jwk = { ...(await exportJWK(publicKey)), kid, alg: JWT_ALG, use: 'sig' };
      const iat = Math.floor(Date.now() / 1000);
      token = await new SignJWT({ scope: 'bench:read' })
        .setProtectedHeader({ alg: JWT_ALG, kid, typ: 'JWT' })
        .setIssuer(JWT_ISSUER)
        .setAudience(JWT_AUDIENCE)
        .setSubject('bench-client')
        .setIssuedAt(iat)
        .setExpirationTime(iat + JWT_LIFETIME_SECONDS)
        .sign(privateKey);
      return {
        filters: {
          jwt: { issuers: [{ issuer: JWT_ISSUER, jwks: { keys: [jwk] }, audiences: [JWT_AUDIENCE], algorithms: [JWT_ALG] }] },
          ...authz,
        },
      };
    },
  });
  return Object.assign(t, {
    baseline: AUTH_BASELINE,
    measureAt1: measureAt1(),
    requiresCredential: true,
    async request() {
      return { url: this.url, headers: { Authorization: `Bearer ${token}` } };
    },
  });
}

const SIGV4_REGION = 'eu-west-1';
const SIGV4_SERVICE = 'execute-api';
// The filter's default max_skew: a header signature is accepted for |now - X-Amz-Date| <= 5 min.
const SIGV4_WINDOW_SECONDS = 300;
// Headroom between signing and the end of the run (harness scheduling, wrk start-up and exit).
const SIGV4_MARGIN_SECONDS = 30;

// AWS's URI encoding (RFC 3986 unreserved kept), for building the presigned query string.
const awsEscape = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * (f) Gatehouse with the sigv4 filter. form 'header' (default): an Authorization-header signed
 * GET, replayed by wrk; 'presigned': a presigned GET URL. Either way the request is signed by the
 * AWS SDK's signer right before each run, so it stays inside the validity window.
 */
export function gatehouseSigv4Target({ form = 'header', name, label, ...opts } = {}) {
  if (form !== 'header' && form !== 'presigned') throw new Error(`sigv4 form must be header or presigned, got "${form}"`);
  name ??= form === 'header' ? 'gatehouse-sigv4' : 'gatehouse-sigv4-presigned';
  label ??= form === 'header' ? '(f) Gatehouse + sigv4 (header-signed GET, replayed)' : '(f) Gatehouse + sigv4 (presigned GET URL, replayed)';
  const key = { id: `AKIABENCH${randomBytes(6).toString('hex').toUpperCase()}`, secret: randomBytes(30).toString('base64') };
  let signerMod = null;
  const t = gatehouseTarget({
    name,
    label,
    ...opts,
    route: async () => {
      // Imported here, not at the top: these are devDependencies, and if they are missing only this
      // target should fail ("failed to start"), not the whole harness.
      const [{ SignatureV4 }, { HttpRequest }, { Sha256 }] = await Promise.all([
        import('@smithy/signature-v4'),
        import('@smithy/protocol-http'),
        import('@aws-crypto/sha256-js'),
      ]);
      signerMod = {
        HttpRequest,
        signer: new SignatureV4({
          credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
          region: SIGV4_REGION,
          service: SIGV4_SERVICE,
          sha256: Sha256,
        }),
      };
      return {
        filters: {
          sigv4: {
            region: SIGV4_REGION,
            service: SIGV4_SERVICE,
            access_keys: [{ id: key.id, secret: key.secret, subject: 'bench-client' }],
            // Explicit: wrk sends the same signature over and over.
            replay_protection: false,
          },
          authz: { allow: 'authenticated' },
        },
      };
    },
  });
  return Object.assign(t, {
    baseline: AUTH_BASELINE,
    measureAt1: measureAt1(),
    requiresCredential: true,
    async request({ seconds = 0 } = {}) {
      if (seconds + SIGV4_MARGIN_SECONDS > SIGV4_WINDOW_SECONDS) {
        throw new Error(`${name}: a ${seconds} s run outlasts the ${SIGV4_WINDOW_SECONDS} s SigV4 window (keep runs under ${SIGV4_WINDOW_SECONDS - SIGV4_MARGIN_SECONDS} s)`);
      }
      const u = new URL(this.url);
      const host = u.host; // 127.0.0.1:PORT, exactly the Host header wrk and node:http send
      const req = new signerMod.HttpRequest({
        method: 'GET',
        protocol: 'http:',
        hostname: u.hostname,
        port: Number(u.port),
        path: u.pathname,
        query: {},
        headers: { host },
      });
      const signingDate = new Date();
      if (form === 'header') {
        const s = await signerMod.signer.sign(req, { signingDate });
        return { url: this.url, headers: { ...s.headers } };
      }
      const s = await signerMod.signer.presign(req, { signingDate, expiresIn: SIGV4_WINDOW_SECONDS });
      const query = Object.entries(s.query)
        .map(([k, v]) => `${awsEscape(k)}=${awsEscape(String(v))}`)
        .join('&');
      return { url: `${u.origin}${u.pathname}?${query}`, headers: { ...s.headers } };
    },
  });
}
