// AWS's SigV4 test suite as test data: finding the cases, parsing their .req/.sreq files, and the
// key, clock and policy the suite assumes. Used by src/filters/sigv4/vectors.test.ts and
// test/integration/sigv4-vectors.test.ts.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { KeyRecord, SigV4Request, VerifierPolicy } from '../../src/filters/sigv4/verify.js';
import { splitTarget } from '../../src/filters/sigv4/canonical.js';

export const SUITE = new URL('../../../test/fixtures/aws-sig-v4-test-suite/', import.meta.url);
export const VECTOR_TIME = Date.UTC(2015, 7, 30, 12, 36, 0);
export const VECTOR_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
export const VECTOR_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

/** Every case folder (a folder holding <name>.req), relative to the suite. */
export function vectorCases(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(new URL(rel, SUITE))) {
      if (!statSync(new URL(rel + n, SUITE)).isDirectory()) continue;
      const r = rel + n + '/';
      if (existsSync(new URL(`${r}${n}.req`, SUITE))) out.push(r);
      else walk(r);
    }
  };
  walk('');
  return out.sort();
}

export function readCase(rel: string, ext: string): string {
  const name = rel.split('/').filter(Boolean).pop()!;
  return readFileSync(new URL(`${rel}${name}.${ext}`, SUITE), 'latin1');
}

export interface ParsedVector extends SigV4Request {
  target: string;
  body: Buffer;
}

/**
 * A .req/.sreq file as a request. The files use bare LF; a line starting with whitespace continues
 * the previous field (obs-fold), and the suite expects each folded line as a separate value.
 */
export function parseVector(text: string): ParsedVector {
  const lines = text.split('\n');
  const first = lines[0]!;
  const method = first.slice(0, first.indexOf(' '));
  const target = first.slice(method.length + 1, first.lastIndexOf(' '));
  const rawHeaders: string[] = [];
  let i = 1;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const l = lines[i]!;
    if (l[0] === ' ' || l[0] === '\t') {
      rawHeaders.push(rawHeaders[rawHeaders.length - 2]!, l.trim());
      continue;
    }
    const colon = l.indexOf(':');
    rawHeaders.push(l.slice(0, colon), l.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ''));
  }
  const body = Buffer.from(i < lines.length ? lines.slice(i + 1).join('\n') : '', 'latin1');
  const { path, query } = splitTarget(target);
  return { method, target, rawPath: path, rawQuery: query, rawHeaders, body };
}

export function vectorPolicy(opts: { sessionToken?: boolean; now?: number } = {}): VerifierPolicy {
  const key: KeyRecord = {
    id: 'AKIDEXAMPLE',
    secret: VECTOR_SECRET,
    enabled: true,
    sessionTokens: opts.sessionToken ? [createHash('sha256').update(VECTOR_TOKEN).digest()] : [],
    signingKeys: new Map(),
  };
  return {
    region: 'us-east-1',
    service: 'service',
    maxSkewMs: 300_000,
    presigned: true,
    maxExpiresS: 3600,
    unsignedPayload: false,
    s3: false,
    requireSigned: [],
    keys: new Map([[key.id, key]]),
  };
}

export const carriesToken = (r: SigV4Request) => r.rawHeaders.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-amz-security-token');
