// AWS Signature Version 4 authenticator. The verification itself is pure (verify.ts,
// canonical.ts); this file adapts a RequestContext to it, reads the body when the payload hash
// must be checked, and turns the outcome into an Identity or a 403 AWS SDKs understand.
//
// Body: a signed payload is verified against the bytes actually received before anything goes
// upstream. The body is buffered (up to the route's max_body_bytes), only after every check that
// needs no body passed, and the pipeline forwards exactly the buffered bytes (ctx.body). See
// README.md for why buffering and not "stream and abort before the last byte".
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../pipeline/context.js';
import { defineFilter, type Filter, type Reply, type ReasonCode } from '../../pipeline/filter.js';
import { bufferBody, requestHasBody } from '../../pipeline/body.js';
import { parseDuration } from '../../config/units.js';
import { createMemoryReplayCache, type ReplayCache } from '../../store/replay.js';
import { IDENTITY, PREVIOUS_CREDENTIAL, makeIdentity, type Identity } from '../common/identity.js';
import { NO_PREVIOUS } from '../../secrets/history.js';
import { pathsAgree, pctDecode, splitTarget } from './canonical.js';
import { sigv4Schema, type Sigv4Config } from './config.js';
import { createCounters, type Sigv4Counters } from './metrics.js';
import {
  ALGORITHM,
  EMPTY_SHA256,
  MAX_PRESIGN_SECONDS,
  PRESIGN_PARAMS,
  UNSIGNED_PAYLOAD,
  bodySha256,
  detect,
  matchingSecret,
  prepare,
  type Detected,
  type Failure,
  type KeyRecord,
  type Pending,
  type SecretUsed,
  type Sigv4Code,
  type VerifierPolicy,
} from './verify.js';

type Code = Sigv4Code | 'authn.sigv4.replayed' | 'authn.sigv4.path_mismatch';

/** AWS's error type per code, sent as x-amzn-ErrorType so SDK clients classify the failure. */
const ERROR_TYPE: Record<Code, string> = {
  'authn.ambiguous_credentials': 'IncompleteSignatureException',
  'authn.sigv4.malformed': 'IncompleteSignatureException',
  'authn.sigv4.unsigned_header': 'IncompleteSignatureException',
  'authn.sigv4.signature_mismatch': 'InvalidSignatureException',
  'authn.sigv4.payload_hash_mismatch': 'InvalidSignatureException',
  'authn.sigv4.request_expired': 'InvalidSignatureException',
  'authn.sigv4.scope_mismatch': 'InvalidSignatureException',
  'authn.sigv4.unknown_access_key': 'UnrecognizedClientException',
  'authn.sigv4.key_disabled': 'UnrecognizedClientException',
  'authn.sigv4.invalid_session_token': 'UnrecognizedClientException',
  'authn.sigv4.unsigned_payload_not_allowed': 'AccessDeniedException',
  'authn.sigv4.presign_disabled': 'AccessDeniedException',
  'authn.sigv4.presign_too_long': 'AccessDeniedException',
  'authn.sigv4.replayed': 'AccessDeniedException',
  'authn.sigv4.path_mismatch': 'BadRequestException',
};

const REASONS = Object.keys(ERROR_TYPE) as ReasonCode[];

/** 403 for every SigV4 failure (as AWS answers); 400 for ambiguity and path disagreement. */
function toReply(code: Code, message: string): Reply {
  const status = code === 'authn.ambiguous_credentials' || code === 'authn.sigv4.path_mismatch' ? 400 : 403;
  return { status, code, message, headers: { 'x-amzn-ErrorType': ERROR_TYPE[code] } };
}

const PATH_MISMATCH = Object.freeze(
  toReply('authn.sigv4.path_mismatch', 'the signed path and the path the gateway routes differ (dot segments, slashes or escapes); send the normalized path'),
);
const REPLAYED = Object.freeze(toReply('authn.sigv4.replayed', 'this signature was already used'));
const MISMATCH: Failure = { ok: false, code: 'authn.sigv4.signature_mismatch', message: 'the request signature does not match' };
const HASH_MISMATCH: Failure = { ok: false, code: 'authn.sigv4.payload_hash_mismatch', message: 'the body does not match x-amz-content-sha256' };

const PRESIGN_SET: ReadonlySet<string> = new Set(PRESIGN_PARAMS);
const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

/** The filter object, with its counters exposed for tests and, later, the metrics registry. */
export interface Sigv4Filter extends Filter {
  readonly counters: Sigv4Counters;
}

export default defineFilter<Sigv4Config>({
  name: 'sigv4',
  order: 220,
  schema: sigv4Schema,
  body: 'buffered',
  authenticator: true,
  reasons: REASONS,
  create(cfg, deps): Sigv4Filter {
    const clock = deps.clock;
    const maxSkewMs = cfg.max_skew === undefined ? 300_000 : parseDuration(cfg.max_skew);
    if (maxSkewMs < 1000 || maxSkewMs > 3_600_000) throw new Error('sigv4.max_skew: must be between 1s and 1h');
    const maxExpiresMs = cfg.presigned?.max_expires === undefined ? 3_600_000 : parseDuration(cfg.presigned.max_expires);
    if (maxExpiresMs < 1000 || maxExpiresMs > MAX_PRESIGN_SECONDS * 1000) throw new Error('sigv4.presigned.max_expires: must be between 1s and 7 days (AWS maximum)');

    const keys = new Map<string, KeyRecord>();
    const identities = new Map<string, Identity>();
    // Previous values of rotated secrets and session tokens (secrets.overlap); their deadlines are
    // checked per request against the clock.
    const previous = deps.previousSecrets ?? NO_PREVIOUS;
    const sha256 = (t: string) => createHash('sha256').update(t, 'utf8').digest();
    for (const [i, k] of cfg.access_keys.entries()) {
      if (keys.has(k.id)) throw new Error(`sigv4.access_keys[${i}].id: duplicate access key id "${k.id}"`);
      const previousSecrets = previous(k.secret).map((p) => ({ secret: p.value, until: p.until, signingKeys: new Map<string, Buffer>() }));
      const previousTokens = (k.session_tokens ?? []).flatMap((t) => previous(t).map((p) => ({ digest: sha256(p.value), until: p.until })));
      keys.set(k.id, {
        id: k.id,
        secret: k.secret,
        enabled: k.enabled !== false,
        sessionTokens: (k.session_tokens ?? []).map(sha256),
        signingKeys: new Map(),
        ...(previousSecrets.length > 0 ? { previousSecrets } : {}),
        ...(previousTokens.length > 0 ? { previousTokens } : {}),
      });
      identities.set(
        k.id,
        makeIdentity({
          kind: 'sigv4',
          subject: k.subject ?? k.id,
          roles: k.roles ?? [],
          keyId: k.id,
          usagePlan: k.usage_plan,
          claims: { region: cfg.region, service: cfg.service },
        }),
      );
    }
    const s3 = cfg.s3_style_paths === true;
    const policy: VerifierPolicy = {
      region: cfg.region,
      service: cfg.service,
      maxSkewMs,
      presigned: cfg.presigned?.enabled !== false,
      maxExpiresS: Math.floor(maxExpiresMs / 1000),
      unsignedPayload: cfg.unsigned_payload === true,
      s3,
      requireSigned: [...new Set((cfg.signed_headers ?? []).map((h) => h.toLowerCase()))],
      keys,
    };
    const forward = cfg.forward_credentials === true;
    const replay: ReplayCache | undefined = cfg.replay_protection === true ? (deps.replay ?? createMemoryReplayCache({ clock })) : undefined;
    const counters = createCounters();
    const log = deps.log;

    const refuse = (ctx: RequestContext, code: Code, message: string, keyId?: string): Reply => {
      counters.rejected[code] = (counters.rejected[code] ?? 0) + 1;
      if (log.isLevelEnabled('debug')) log.debug({ request_id: ctx.id, route: ctx.route?.name, code, key_id: keyId }, 'sigv4: request refused');
      return code === 'authn.sigv4.path_mismatch' ? PATH_MISMATCH : code === 'authn.sigv4.replayed' ? REPLAYED : toReply(code, message);
    };
    const deny = (ctx: RequestContext, f: Failure, keyId?: string) => refuse(ctx, f.code, f.message, keyId);

    /** Access keys whose previous value was already reported in the log (once per key per compiled filter). */
    const reported = new Set<string>();
    const grant = (ctx: RequestContext, p: Pending, d: Detected, used: SecretUsed): void => {
      counters.accepted++;
      // Any-of: the first authenticator to succeed names the caller; a later one does not replace it.
      if (ctx.get(IDENTITY) === undefined) {
        ctx.set(IDENTITY, identities.get(p.key.id)!);
        if (used === 'previous' || p.previousToken) previousUsed(ctx, p);
      }
      if (forward) return;
      if (d.form === 'presigned') ctx.upstreamQuery = stripPresignParams(ctx.query);
      else ctx.removeUpstreamHeader('authorization');
      ctx.removeUpstreamHeader('x-amz-security-token');
    };

    /** Admitted with a rotated secret's (or session token's) previous value: counted, marked for the authn decision, logged once. */
    const previousUsed = (ctx: RequestContext, p: Pending): void => {
      counters.previousCredential++;
      ctx.set(PREVIOUS_CREDENTIAL, true);
      if (reported.has(p.key.id)) return;
      reported.add(p.key.id);
      log.warn(
        { route: ctx.route?.name, key_id: p.key.id, request_id: ctx.id },
        'sigv4: a request was signed with the previous secret (or session token) of a rotated access key; accepted during secrets.overlap',
      );
    };

    /** Last step: the replay cache, then the identity. */
    const accept = (ctx: RequestContext, p: Pending, d: Detected, used: SecretUsed): Reply | void | Promise<Reply | void> => {
      if (replay !== undefined) {
        const now = clock.now();
        // Remember the signature for as long as it could be accepted again (+1 s for rounding).
        const seen = replay.seen(`sigv4:${p.signature}`, Math.max(1000, p.acceptableUntil - now + 1000));
        if (seen instanceof Promise) {
          return seen.then((s) => (s ? refuse(ctx, 'authn.sigv4.replayed', '', p.key.id) : grant(ctx, p, d, used)));
        }
        if (seen) return refuse(ctx, 'authn.sigv4.replayed', '', p.key.id);
      }
      grant(ctx, p, d, used);
    };

    /** The current secret first; a rotated secret's previous values only on mismatch, while their overlap lasts. */
    const check = (ctx: RequestContext, p: Pending, payloadHash: string): SecretUsed | undefined => {
      counters.signatureChecks++;
      return matchingSecret(p, payloadHash, policy, clock.now());
    };

    const withBody = (ctx: RequestContext, p: Pending, d: Detected, then: (body: Buffer) => Failure | SecretUsed): Promise<Reply | void> =>
      bufferBody(ctx, ctx.route?.maxBodyBytes ?? DEFAULT_BODY_LIMIT).then((b) => {
        if (!Buffer.isBuffer(b)) return b;
        counters.bodiesBuffered++;
        counters.bytesBuffered += b.length;
        const f = then(b);
        return typeof f === 'string' ? accept(ctx, p, d, f) : deny(ctx, f, p.key.id);
      });

    const filter: Sigv4Filter = {
      challenge: ALGORITHM,
      counters,
      onRequest: function sigv4OnRequest(ctx) {
        const req = ctx.req;
        const input = { method: ctx.method, rawPath: '', rawQuery: ctx.query, rawHeaders: req.rawHeaders };
        const d = detect(input);
        if (!d.ok) return deny(ctx, d);
        if (d.form === 'none') return;
        // The signature covers the path as sent; routing and policy used ctx.path. They must agree.
        const rawPath = splitTarget(req.url ?? '/').path;
        if (!pathsAgree(rawPath, ctx.path, s3)) return refuse(ctx, 'authn.sigv4.path_mismatch', '');
        const p = prepare({ ...input, rawPath }, d, policy, clock.now());
        if (!p.ok) return deny(ctx, p);
        const payload = p.payload;
        if (payload.kind === 'unsigned') {
          // Allowed by config (prepare refused it otherwise): the body is not covered and streams.
          const used = check(ctx, p, UNSIGNED_PAYLOAD);
          return used !== undefined ? accept(ctx, p, d, used) : deny(ctx, MISMATCH, p.key.id);
        }
        const hasBody = requestHasBody(ctx);
        if (payload.kind === 'claimed') {
          // The claimed hash is signed: a wrong signature is refused before a byte of body is read.
          const used = check(ctx, p, payload.hash);
          if (used === undefined) return deny(ctx, MISMATCH, p.key.id);
          if (!hasBody) return payload.hash === EMPTY_SHA256 ? accept(ctx, p, d, used) : deny(ctx, HASH_MISMATCH, p.key.id);
          return withBody(ctx, p, d, (b) => (bodySha256(b) === payload.hash ? used : HASH_MISMATCH));
        }
        // No x-amz-content-sha256: the signature covers the body's hash, so it needs the body.
        if (!hasBody) {
          const used = check(ctx, p, EMPTY_SHA256);
          return used !== undefined ? accept(ctx, p, d, used) : deny(ctx, MISMATCH, p.key.id);
        }
        return withBody(ctx, p, d, (b) => check(ctx, p, b.length === 0 ? EMPTY_SHA256 : bodySha256(b)) ?? MISMATCH);
      },
    };
    return filter;
  },
});

/** The raw query without the presigned-URL parameters (names compared decoded), order kept. */
export function stripPresignParams(rawQuery: string): string {
  let out = '';
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = pctDecode(eq === -1 ? piece : piece.slice(0, eq));
    if (name !== undefined && PRESIGN_SET.has(name)) continue;
    out += (out === '' ? '' : '&') + piece;
  }
  return out;
}
