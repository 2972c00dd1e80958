// Upstream SigV4 signing (cluster `aws_sigv4`, Envoy's aws_request_signing): every attempt sent to
// the cluster is signed with credentials the gateway holds. The canonicalisation is the verifier's
// (filters/sigv4/canonical.ts, verify.ts), so what the gateway signs is exactly what it would
// accept. Pure apart from the clock: the request path calls prepare() once per request (path and
// query, which every attempt shares) and sign() once per attempt (host and time may differ).
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { Clock, Reply } from '../pipeline/filter.js';
import type { ClusterConfig } from '../config/schema.js';
import { canonicalHeaders, canonicalQuery, canonicalRequest, canonicalUri, parseQuery, stringToSign } from '../filters/sigv4/canonical.js';
import { ALGORITHM, EMPTY_SHA256, UNSIGNED_PAYLOAD, deriveSigningKey, formatAmzDate, hmac, sha256Hex } from '../filters/sigv4/verify.js';

export type AwsSigv4Config = NonNullable<ClusterConfig['aws_sigv4']>;

/** Fields the signer writes: a client's copy is never forwarded to a signing cluster. */
const REPLACED: ReadonlySet<string> = new Set(['host', 'authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']);

const BAD_QUERY: Reply = Object.freeze({ status: 400, code: 'request.bad_request', message: 'the query contains a malformed percent-escape, so the request cannot be signed for the upstream' });

/** One request's signing state: what every attempt shares. */
export interface AwsSigning {
  readonly signer: AwsSigner;
  /** Canonical URI and query of the path sent on the wire. */
  readonly uri: string;
  readonly query: string;
  /** The last body hashed and its hash: a retry of the same bytes is not hashed again. */
  hashed: Buffer | undefined;
  hash: string;
}

export class AwsSigner {
  /** payload: signed → the request path buffers a streaming body before the first attempt. */
  readonly buffersBody: boolean;
  readonly #region: string;
  readonly #service: string;
  readonly #accessKeyId: string;
  readonly #secret: string;
  readonly #token: string | undefined;
  readonly #host: string | undefined;
  readonly #s3: boolean;
  readonly #clock: Clock;
  /** The derived signing key of #keyDate (it changes once a day; AWS's own cache is per day). */
  #keyDate = '';
  #key: Buffer | undefined;

  /** `defaultHost`: the Host to sign when the config sets none and endpoints are addresses (dns discovery). */
  constructor(cfg: AwsSigv4Config, clock: Clock, defaultHost?: string) {
    this.#region = cfg.region;
    this.#service = cfg.service;
    this.#accessKeyId = cfg.access_key_id;
    this.#secret = cfg.secret_access_key;
    this.#token = cfg.session_token;
    this.#host = cfg.host ?? defaultHost;
    this.#s3 = cfg.s3_style_paths === true;
    this.buffersBody = cfg.payload !== 'unsigned';
    this.#clock = clock;
  }

  /** The canonical URI and query of a wire target (path?query), or a 400 when it cannot be signed. */
  prepare(target: string): AwsSigning | Reply {
    const q = target.indexOf('?');
    const uri = canonicalUri(q === -1 ? target : target.slice(0, q), this.#s3);
    const params = q === -1 ? [] : parseQuery(target.slice(q + 1));
    if (uri === undefined || params === undefined) return BAD_QUERY;
    return { signer: this, uri, query: canonicalQuery(params), hashed: undefined, hash: '' };
  }

  /**
   * The header list for one attempt to the endpoint `origin` (scheme://host[:port]): `headers`
   * (left untouched; every attempt starts from it) without Host and the client's SigV4 fields, then
   * host, x-amz-date, x-amz-content-sha256, x-amz-security-token and authorization. `body` is what
   * this attempt sends: a Buffer is hashed, none hashes as the empty string, a stream (payload:
   * unsigned) is UNSIGNED-PAYLOAD.
   */
  sign(method: string, s: AwsSigning, headers: readonly string[], origin: string, body: Buffer | Readable | null): string[] {
    const amzDate = formatAmzDate(this.#clock.now());
    const scopeDate = amzDate.slice(0, 8);
    const host = this.#host ?? origin.slice(origin.indexOf('//') + 2);
    let payloadHash: string;
    if (!this.buffersBody || (body !== null && !Buffer.isBuffer(body))) payloadHash = UNSIGNED_PAYLOAD;
    else if (body === null || body.length === 0) payloadHash = EMPTY_SHA256;
    else {
      if (s.hashed !== body) {
        s.hash = createHash('sha256').update(body).digest('hex');
        s.hashed = body;
      }
      payloadHash = s.hash;
    }
    const token = this.#token;
    const out: string[] = [];
    const signed = token === undefined ? ['host', 'x-amz-content-sha256', 'x-amz-date'] : ['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token'];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const lower = name.toLowerCase();
      if (REPLACED.has(lower)) continue;
      out.push(name, headers[i + 1]!);
      // The signed set stays small and deterministic: what AWS requires plus what a service reads
      // as part of the operation. Proxy-added fields (via, x-forwarded-*, x-request-id, traceparent)
      // are never signed, so adding them after signing is safe.
      if ((lower.startsWith('x-amz-') || lower === 'content-type' || lower === 'content-md5') && !signed.includes(lower)) signed.push(lower);
    }
    out.push('host', host, 'x-amz-date', amzDate, 'x-amz-content-sha256', payloadHash);
    if (token !== undefined) out.push('x-amz-security-token', token);
    signed.sort();
    const signedHeaders = signed.join(';');
    // Every signed name is in `out`, so canonicalHeaders cannot report one missing.
    const canonical = canonicalHeaders(out, signed) as string;
    const scope = `${scopeDate}/${this.#region}/${this.#service}/aws4_request`;
    const creq = canonicalRequest(method, s.uri, s.query, canonical, signedHeaders, payloadHash);
    const signature = hmac(this.#signingKey(scopeDate), stringToSign(amzDate, scope, sha256Hex(creq))).toString('hex');
    out.push('authorization', `${ALGORITHM} Credential=${this.#accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`);
    return out;
  }

  #signingKey(scopeDate: string): Buffer {
    if (this.#keyDate !== scopeDate || this.#key === undefined) {
      this.#key = deriveSigningKey(this.#secret, scopeDate, this.#region, this.#service);
      this.#keyDate = scopeDate;
    }
    return this.#key;
  }

  /** Never the credentials: a signer that ends up in a log or an error shows its scope only. */
  toJSON(): { region: string; service: string } {
    return { region: this.#region, service: this.#service };
  }
}

/** True when prepare() refused the target. */
export const isReply = (v: AwsSigning | Reply): v is Reply => 'status' in v;
