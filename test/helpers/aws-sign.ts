// Independent check of upstream SigV4 signatures: the AWS SDK's own signer (@smithy/signature-v4
// with @aws-crypto/sha256-js) recomputes the Authorization of a request as the upstream received
// it, over the headers the gateway is expected to sign (chosen here by the rule, not read from the
// request's SignedHeaders), at the given date.
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as received (req.url). */
  url: string;
  /** req.rawHeaders. */
  rawHeaders: readonly string[];
  body: Buffer;
}

/** Names the gateway must sign: host, x-amz-*, content-type, content-md5 (authorization aside). */
export const expectedSignedHeaders = (rawHeaders: readonly string[]): string[] => {
  const names = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const n = rawHeaders[i]!.toLowerCase();
    if (n === 'host' || n === 'content-type' || n === 'content-md5' || n.startsWith('x-amz-')) names.add(n);
  }
  return [...names].sort();
};

/** The Authorization header the AWS SDK computes for the received request. */
export async function sdkAuthorization(
  r: ReceivedRequest,
  o: { credentials: AwsCredentials; region: string; service: string; date: number; s3?: boolean },
): Promise<string> {
  const signed = new Set(expectedSignedHeaders(r.rawHeaders));
  const headers: Record<string, string> = {};
  let payloadClaim: string | undefined;
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    const n = r.rawHeaders[i]!.toLowerCase();
    const v = r.rawHeaders[i + 1]!;
    // The SDK writes x-amz-date and the token itself; it hashes the body itself unless the
    // request claims UNSIGNED-PAYLOAD.
    if (!signed.has(n) || n === 'x-amz-date' || n === 'x-amz-security-token') continue;
    if (n === 'x-amz-content-sha256') {
      if (v === 'UNSIGNED-PAYLOAD') payloadClaim = v;
      continue;
    }
    headers[n] = headers[n] === undefined ? v : `${headers[n]},${v}`;
  }
  if (payloadClaim !== undefined) headers['x-amz-content-sha256'] = payloadClaim;
  const q = r.url.indexOf('?');
  const path = q === -1 ? r.url : r.url.slice(0, q);
  const query: Record<string, string | string[]> = {};
  if (q !== -1) {
    for (const piece of r.url.slice(q + 1).split('&')) {
      if (piece === '') continue;
      const eq = piece.indexOf('=');
      const k = decodeURIComponent(eq === -1 ? piece : piece.slice(0, eq));
      const v = decodeURIComponent(eq === -1 ? '' : piece.slice(eq + 1));
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  }
  const signer = new SignatureV4({
    credentials: o.credentials,
    region: o.region,
    service: o.service,
    sha256: Sha256,
    applyChecksum: true,
    uriEscapePath: o.s3 !== true,
  });
  const req = new HttpRequest({
    method: r.method,
    protocol: 'https:',
    hostname: headers.host!.replace(/:\d+$/, ''),
    path,
    query,
    headers,
    body: r.body.length > 0 ? r.body : undefined,
  });
  const out = await signer.sign(req, { signingDate: new Date(o.date) });
  return out.headers.authorization!;
}
