// OIDC / JWT bearer authentication. Per request: find the token (refusing ambiguity), answer from
// the verified-token cache when it can (sync: one hash, one lookup), otherwise run the pre-crypto
// checks (sync), pick the issuer by the unverified `iss`, verify the signature with that issuer's
// keys only, then the claims. Every refusal is a stable reason code with a generic message; the
// details go to the debug log, never the token.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compactVerify, type JWK } from 'jose';
import { defineFilter, type Filter, type Reply, type ReasonCode } from '../../pipeline/filter.js';
import type { RequestContext } from '../../pipeline/context.js';
import { IDENTITY, PREVIOUS_CREDENTIAL, makeIdentity, type Identity } from '../common/identity.js';
import { NO_PREVIOUS, type PreviousSecrets } from '../../secrets/history.js';
import { AMBIGUOUS } from '../common/credentials.js';
import { parseDuration, parseSize } from '../../config/units.js';
import { jwtSchema, type JwtConfig, type JwtIssuerConfig } from './config.js';
import { precheck, PrecheckFailure, normalizeTyp, type ParsedToken } from './token.js';
import { checkClaims, ClaimFailure, type ClaimPolicy } from './claims.js';
import { HMAC_MIN_BYTES, isHmacAlg, KeySet, keyFitsAlg, type HmacAlg } from './keys.js';
import { DEFAULT_FETCH_POLICY, isFetchableUrl, JwksRegistry, type FetchPolicy } from './jwks-cache.js';
import { discoveryUrl, RemoteKeys, SecretKeys, StaticKeys, type KeySource, type Lookup } from './key-source.js';
import { TokenCache, tokenHash } from './token-cache.js';
import { createCounters, type JwtCounters } from './metrics.js';
import { compileSources, type TokenSource } from './sources.js';

export const JWT_REASONS = [
  'authn.jwt.malformed',
  'authn.jwt.too_large',
  'authn.jwt.bad_signature',
  'authn.jwt.alg_not_allowed',
  'authn.jwt.unknown_issuer',
  'authn.jwt.unknown_kid',
  'authn.jwt.expired',
  'authn.jwt.not_yet_valid',
  'authn.jwt.issued_in_future',
  'authn.jwt.lifetime_too_long',
  'authn.jwt.audience_mismatch',
  'authn.jwt.issuer_mismatch',
  'authn.jwt.missing_claim',
  'authn.jwt.insufficient_scope',
  'authn.jwt.typ_mismatch',
  'authn.jwt.crit_unsupported',
  'authn.jwt.duplicate_member',
  'authn.jwt.keys_unavailable',
] as const;
export type JwtReason = (typeof JWT_REASONS)[number];

/** Generic, fixed text per code: it goes in the problem body and the RFC 6750 error_description. */
const DESCRIPTION: Record<JwtReason, string> = {
  'authn.jwt.malformed': 'the token is malformed',
  'authn.jwt.too_large': 'the token is too large',
  'authn.jwt.bad_signature': 'the token signature is invalid',
  'authn.jwt.alg_not_allowed': 'the token algorithm is not allowed',
  'authn.jwt.unknown_issuer': 'the token issuer is not trusted here',
  'authn.jwt.unknown_kid': 'the token signing key is unknown',
  'authn.jwt.expired': 'the token has expired',
  'authn.jwt.not_yet_valid': 'the token is not valid yet',
  'authn.jwt.issued_in_future': 'the token was issued in the future',
  'authn.jwt.lifetime_too_long': 'the token lifetime exceeds the limit',
  'authn.jwt.audience_mismatch': 'the token is not meant for this audience',
  'authn.jwt.issuer_mismatch': 'the token issuer does not exactly match a trusted issuer',
  'authn.jwt.missing_claim': 'the token lacks a required claim',
  'authn.jwt.insufficient_scope': 'the token lacks a required scope',
  'authn.jwt.typ_mismatch': 'the token type is not accepted',
  'authn.jwt.crit_unsupported': 'the token has critical header parameters',
  'authn.jwt.duplicate_member': 'the token repeats a member name',
  'authn.jwt.keys_unavailable': 'the signing keys cannot be fetched; try again later',
};

const REALM = 'Bearer realm="gatehouse"';
const DEFAULT_ALGS = ['RS256', 'ES256', 'EdDSA'] as const;
const MAX_SKEW_MS = 5 * 60_000;

function invalidToken(code: JwtReason): Reply {
  const message = DESCRIPTION[code];
  return Object.freeze({
    status: 401,
    code,
    message,
    headers: Object.freeze({ 'www-authenticate': `${REALM}, error="invalid_token", error_description="${message}"` }),
  });
}

interface CompiledIssuer {
  readonly index: number;
  readonly issuer: string;
  readonly algorithms: ReadonlySet<string>;
  /** Normalized expected typ. */
  readonly typ: string | undefined;
  readonly policy: ClaimPolicy;
  readonly keys: KeySource;
  /** Previous values of a rotated HMAC secret (secrets.overlap), tried only after the current one failed, while `until` is ahead. */
  readonly previousSecrets: readonly { readonly key: Uint8Array; readonly until: number }[];
  /** The 403 for this issuer's required scopes (RFC 6750 §3.1: error="insufficient_scope", scope="..."). */
  readonly scopeReply: Reply;
}

/** The filter object, with its counters exposed for tests and, later, the metrics registry. */
export interface JwtFilter extends Filter {
  readonly counters: JwtCounters;
  /** Verified tokens currently cached. */
  cacheSize(): number;
}

interface CompileCtx {
  registry: JwksRegistry;
  policy: FetchPolicy;
  skewS: number;
  baseDir: string;
  remote: RemoteKeys[];
  previous: PreviousSecrets;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

function compileIssuer(ic: JwtIssuerConfig, index: number, c: CompileCtx): CompiledIssuer {
  const where = `jwt: issuers[${index}] (${ic.issuer})`;
  const given = (['jwks_uri', 'jwks', 'jwks_file', 'secret'] as const).filter((k) => ic[k] !== undefined);
  if (given.length > 1) throw new Error(`${where}: choose one key source, not ${given.join(' and ')}`);
  if (ic.discovery === true && given.length > 0) throw new Error(`${where}: discovery cannot be combined with ${given[0]}`);
  let algorithms: readonly string[];
  let keys: KeySource;
  let previousSecrets: CompiledIssuer['previousSecrets'] = [];
  if (ic.secret !== undefined) {
    algorithms = ic.algorithms ?? ['HS256'];
    const notHmac = algorithms.filter((a) => !isHmacAlg(a));
    if (notHmac.length) throw new Error(`${where}: an issuer with a secret accepts HS256/HS384/HS512 only, not ${notHmac.join(', ')}`);
    const secret = new Uint8Array(Buffer.from(ic.secret, 'utf8'));
    for (const a of algorithms as HmacAlg[]) {
      if (secret.length < HMAC_MIN_BYTES[a]) throw new Error(`${where}: secret: ${a} needs at least ${HMAC_MIN_BYTES[a]} bytes`);
    }
    keys = new SecretKeys(secret);
    // A previous value met the same length rules when it was current; one that would not now is skipped.
    previousSecrets = c.previous(ic.secret)
      .map((p) => ({ key: new Uint8Array(Buffer.from(p.value, 'utf8')), until: p.until }))
      .filter((p) => (algorithms as HmacAlg[]).every((a) => p.key.length >= HMAC_MIN_BYTES[a]));
  } else {
    algorithms = ic.algorithms ?? DEFAULT_ALGS;
    const hmac = algorithms.filter((a) => isHmacAlg(a));
    if (hmac.length) throw new Error(`${where}: ${hmac.join(', ')} need a secret; an issuer with public keys never accepts HMAC (no RS/HS confusion)`);
    if (ic.jwks !== undefined || ic.jwks_file !== undefined) {
      let doc: unknown = ic.jwks;
      if (ic.jwks_file !== undefined) {
        const file = resolve(c.baseDir, ic.jwks_file);
        try {
          doc = JSON.parse(readFileSync(file, 'utf8'));
        } catch (err) {
          throw new Error(`${where}: jwks_file: cannot read ${file}: ${(err as Error).message}`);
        }
      }
      let set: KeySet;
      try {
        set = KeySet.fromJwks(doc);
      } catch (err) {
        throw new Error(`${where}: ${ic.jwks_file !== undefined ? 'jwks_file' : 'jwks'}: ${(err as Error).message}`);
      }
      if (!algorithms.some((a) => set.fits(a))) {
        throw new Error(`${where}: no key in the key set fits the allowed algorithms (${algorithms.join(', ')})`);
      }
      keys = new StaticKeys(set);
    } else if (ic.jwks_uri !== undefined) {
      if (!isFetchableUrl(ic.jwks_uri)) throw new Error(`${where}: jwks_uri must be https (http only for loopback addresses)`);
      keys = new RemoteKeys(c.registry, ic.issuer, ic.jwks_uri, c.policy);
    } else {
      if (ic.discovery === false) throw new Error(`${where}: no key source: set jwks_uri, jwks, jwks_file or secret, or enable discovery`);
      if (!isFetchableUrl(discoveryUrl(ic.issuer))) throw new Error(`${where}: discovery needs an https issuer URL (http only for loopback addresses)`);
      keys = new RemoteKeys(c.registry, ic.issuer, undefined, c.policy);
    }
    if (keys instanceof RemoteKeys) c.remote.push(keys);
  }
  const maxLifetimeMs = ic.max_lifetime !== undefined ? parseDuration(ic.max_lifetime) : 24 * 3_600_000;
  if (maxLifetimeMs <= 0) throw new Error(`${where}: max_lifetime must be positive`);
  const requiredScopes = ic.required_scopes ?? [];
  const scopeMessage = DESCRIPTION['authn.jwt.insufficient_scope'];
  return {
    index,
    issuer: ic.issuer,
    algorithms: new Set(algorithms),
    typ: ic.typ !== undefined ? normalizeTyp(ic.typ) : undefined,
    keys,
    previousSecrets,
    policy: {
      issuer: ic.issuer,
      audiences: new Set(ic.audiences),
      skewS: c.skewS,
      maxLifetimeS: maxLifetimeMs / 1000,
      requiredClaims: ic.required_claims ?? [],
      requiredScopes,
      subjectClaim: ic.subject_claim ?? 'sub',
      rolesPath: ic.roles_claim?.split('.'),
      roleMap: ic.role_map ? new Map(Object.entries(ic.role_map)) : undefined,
    },
    scopeReply: Object.freeze({
      status: 403,
      code: 'authn.jwt.insufficient_scope',
      message: scopeMessage,
      headers: Object.freeze({
        'www-authenticate': `${REALM}, error="insufficient_scope", error_description="${scopeMessage}", scope="${requiredScopes.join(' ').replace(/["\\]/g, '')}"`,
      }),
    }),
  };
}

function compileFetchPolicy(j: JwtConfig['jwks']): FetchPolicy {
  const d = DEFAULT_FETCH_POLICY;
  const dur = (v: number | string | undefined, def: number) => (v === undefined ? def : parseDuration(v));
  const p: FetchPolicy = {
    timeoutMs: dur(j?.fetch_timeout, d.timeoutMs),
    maxBytes: j?.max_bytes !== undefined ? parseSize(j.max_bytes) : d.maxBytes,
    cooldownMs: dur(j?.cooldown, d.cooldownMs),
    ttlMinMs: dur(j?.cache_ttl_min, d.ttlMinMs),
    ttlMaxMs: dur(j?.cache_ttl_max, d.ttlMaxMs),
    ttlDefaultMs: dur(j?.cache_ttl_default, d.ttlDefaultMs),
    maxStaleMs: dur(j?.max_stale, d.maxStaleMs),
  };
  if (p.timeoutMs <= 0) throw new Error('jwt: jwks.fetch_timeout must be positive');
  if (p.ttlMinMs <= 0 || p.ttlMinMs > p.ttlMaxMs) throw new Error('jwt: jwks.cache_ttl_min must be positive and at most cache_ttl_max');
  if (p.ttlDefaultMs < p.ttlMinMs || p.ttlDefaultMs > p.ttlMaxMs) throw new Error('jwt: jwks.cache_ttl_default must lie between cache_ttl_min and cache_ttl_max');
  return p;
}

/** Loosely equal issuers (case, trailing slashes): a near miss gets its own, actionable code. */
const looseIssuer = (s: string) => s.toLowerCase().replace(/\/+$/, '');

export default defineFilter<JwtConfig>({
  name: 'jwt',
  order: 210,
  schema: jwtSchema,
  authenticator: true,
  reasons: [...JWT_REASONS, 'authn.ambiguous_credentials'],
  create(cfg, deps): JwtFilter {
    const { clock, log } = deps;
    const skewMs = cfg.clock_skew !== undefined ? parseDuration(cfg.clock_skew) : 60_000;
    if (skewMs > MAX_SKEW_MS) throw new Error('jwt: clock_skew must be at most 5m');
    const maxBytes = cfg.max_token_bytes !== undefined ? parseSize(cfg.max_token_bytes) : 8 * 1024;
    const sources: readonly TokenSource[] = compileSources(cfg.from);
    const forward = cfg.forward_token === true;
    const registry = deps.jwks ?? new JwksRegistry(clock, log);
    const c: CompileCtx = { registry, policy: compileFetchPolicy(cfg.jwks), skewS: skewMs / 1000, baseDir: deps.baseDir ?? process.cwd(), remote: [], previous: deps.previousSecrets ?? NO_PREVIOUS };
    let issuers: CompiledIssuer[];
    try {
      issuers = cfg.issuers.map((ic, i) => compileIssuer(ic, i, c));
    } catch (err) {
      for (const r of c.remote) r.close();
      throw err;
    }
    const byIssuer = new Map<string, CompiledIssuer>();
    const loose = new Set<string>();
    for (const i of issuers) {
      if (byIssuer.has(i.issuer)) {
        for (const r of c.remote) r.close();
        throw new Error(`jwt: issuers: "${i.issuer}" is listed twice`);
      }
      byIssuer.set(i.issuer, i);
      loose.add(looseIssuer(i.issuer));
    }
    for (const r of c.remote) r.start(); // non-blocking: the first request usually finds keys
    const cache = new TokenCache(cfg.cache?.max_entries ?? 10_000);
    const caching = (cfg.cache?.max_entries ?? 10_000) > 0;
    const counters = createCounters();
    const replies = Object.fromEntries(JWT_REASONS.map((code) => [code, invalidToken(code)])) as Record<JwtReason, Reply>;
    replies['authn.jwt.too_large'] = Object.freeze({ status: 431, code: 'authn.jwt.too_large', message: DESCRIPTION['authn.jwt.too_large'] });
    replies['authn.jwt.keys_unavailable'] = Object.freeze({
      status: 503,
      code: 'authn.jwt.keys_unavailable',
      message: DESCRIPTION['authn.jwt.keys_unavailable'],
      headers: Object.freeze({ 'retry-after': String(Math.max(1, Math.ceil(c.policy.cooldownMs / 1000))) }),
    });

    const reject = (ctx: RequestContext, reply: Reply, detail?: string, parsed?: ParsedToken): Reply => {
      counters.rejected[reply.code] = (counters.rejected[reply.code] ?? 0) + 1;
      if (log.isLevelEnabled('debug')) {
        const iss = parsed?.payload.iss;
        log.debug(
          { request_id: ctx.id, route: ctx.route?.name, code: reply.code, detail, kid: parsed?.kid?.slice(0, 128), iss: typeof iss === 'string' ? iss.slice(0, 200) : undefined },
          'jwt: token refused',
        );
      }
      return reply;
    };
    const refuse = (ctx: RequestContext, code: ReasonCode & JwtReason, detail?: string, parsed?: ParsedToken) => reject(ctx, replies[code], detail, parsed);

    /** Issuers whose previous secret was already reported in the log (once per issuer per compiled filter). */
    const reported = new Set<number>();
    const accept = (ctx: RequestContext, identity: Identity, source: TokenSource, previous?: CompiledIssuer): void => {
      counters.accepted++;
      // The first authenticator to succeed names the caller; a later valid credential does not replace it.
      if (ctx.get(IDENTITY) === undefined) {
        ctx.set(IDENTITY, identity);
        if (previous !== undefined) {
          counters.previousCredential++;
          ctx.set(PREVIOUS_CREDENTIAL, true);
          if (!reported.has(previous.index)) {
            reported.add(previous.index);
            log.warn(
              { route: ctx.route?.name, iss: previous.issuer, request_id: ctx.id },
              'jwt: a token was verified by the previous value of a rotated issuer secret; accepted during secrets.overlap',
            );
          }
        }
      }
      if (!forward) source.strip(ctx);
    };

    /** The previous HMAC secret (still inside its overlap) that verifies the token, if any. */
    async function verifyPrevious(token: string, alg: string, issuer: CompiledIssuer): Promise<Uint8Array | undefined> {
      for (const p of issuer.previousSecrets) {
        if (clock.now() >= p.until) continue;
        counters.signatureChecks++;
        try {
          await compactVerify(token, p.key, { algorithms: [alg] });
          return p.key;
        } catch {
          // not this one
        }
      }
      return undefined;
    }

    async function verifyToken(ctx: RequestContext, token: string, key: string | undefined, parsed: ParsedToken, issuer: CompiledIssuer, first: Lookup, source: TokenSource): Promise<Reply | void> {
      let found = first;
      if (typeof found === 'string') {
        // Unknown kid or no keys yet: one fetch, if the cooldown allows (or join the one in flight).
        await issuer.keys.refetch();
        found = issuer.keys.lookup(parsed.kid, parsed.alg);
        if (typeof found === 'string') return refuse(ctx, found === 'keys_unavailable' ? 'authn.jwt.keys_unavailable' : 'authn.jwt.unknown_kid', found, parsed);
      }
      if (!(found instanceof Uint8Array) && !keyFitsAlg(found, parsed.alg)) return refuse(ctx, 'authn.jwt.unknown_kid', 'key type does not fit alg', parsed);
      counters.signatureChecks++;
      let previous = false;
      try {
        await compactVerify(token, found instanceof Uint8Array ? found : (found as JWK), { algorithms: [parsed.alg] });
      } catch (err) {
        // An HMAC issuer's rotated secret: its previous values, only after the current one failed.
        const prev = found instanceof Uint8Array && issuer.previousSecrets.length > 0 ? await verifyPrevious(token, parsed.alg, issuer) : undefined;
        if (prev === undefined) return refuse(ctx, 'authn.jwt.bad_signature', (err as { code?: string }).code ?? (err as Error).name, parsed);
        previous = true;
      }
      const claims = checkClaims(parsed.payload, issuer.policy, clock.now());
      if (claims instanceof ClaimFailure) {
        return reject(ctx, claims.code === 'authn.jwt.insufficient_scope' ? issuer.scopeReply : replies[claims.code], claims.detail, parsed);
      }
      const identity: Identity = Object.freeze(
        makeIdentity({
          kind: 'jwt',
          subject: claims.subject,
          issuer: issuer.issuer,
          roles: Object.freeze(claims.roles),
          scopes: Object.freeze(claims.scopes),
          claims: deepFreeze(parsed.payload),
          keyId: parsed.kid,
        }),
      );
      // A token inside its exp skew is accepted but not cached: the entry would already be dead. Nor
      // is one verified by a previous secret: its overlap must be checked on every request.
      if (key !== undefined && !previous && claims.exp * 1000 > clock.now()) cache.set(key, { identity, expiresAt: claims.exp * 1000, key: found, issuerIndex: issuer.index });
      accept(ctx, identity, source, previous ? issuer : undefined);
    }

    const filter: JwtFilter = {
      challenge: REALM,
      counters,
      cacheSize: () => cache.size,
      onRequest: function jwtOnRequest(ctx): Reply | void | Promise<Reply | void> {
        let token: string | undefined;
        let source: TokenSource | undefined;
        for (let i = 0; i < sources.length; i++) {
          const e = sources[i]!.extract(ctx);
          if (e === undefined) continue;
          if ('ambiguous' in e || token !== undefined) return reject(ctx, AMBIGUOUS, 'token in more than one place');
          token = e.value;
          source = sources[i]!;
        }
        if (token === undefined || source === undefined) return; // not our credential: the next authenticator may have one
        if (token.length > maxBytes) return refuse(ctx, 'authn.jwt.too_large', `${token.length} bytes`);
        if (token === '') return refuse(ctx, 'authn.jwt.malformed', 'empty token');

        const key = caching ? tokenHash(token) : undefined;
        if (key !== undefined) {
          const hit = cache.get(key, clock.now());
          if (hit !== undefined) {
            if (issuers[hit.issuerIndex]!.keys.trusts(hit.key)) {
              counters.cacheHits++;
              accept(ctx, hit.identity, source);
              return;
            }
            cache.delete(key); // its key was rotated out: verify again against the current set
          }
        }
        counters.cacheMisses++;

        const parsed = precheck(token);
        if (parsed instanceof PrecheckFailure) return refuse(ctx, parsed.code, parsed.detail);
        const iss = Object.hasOwn(parsed.payload, 'iss') ? parsed.payload.iss : undefined;
        if (iss === undefined) return refuse(ctx, 'authn.jwt.missing_claim', 'iss', parsed);
        if (typeof iss !== 'string') return refuse(ctx, 'authn.jwt.malformed', 'iss is not a string', parsed);
        const issuer = byIssuer.get(iss);
        if (issuer === undefined) return refuse(ctx, loose.has(looseIssuer(iss)) ? 'authn.jwt.issuer_mismatch' : 'authn.jwt.unknown_issuer', 'iss', parsed);
        if (!issuer.algorithms.has(parsed.alg)) return refuse(ctx, 'authn.jwt.alg_not_allowed', `alg ${parsed.alg.slice(0, 16)}`, parsed);
        if (issuer.typ !== undefined && (parsed.typ === undefined || normalizeTyp(parsed.typ) !== issuer.typ)) return refuse(ctx, 'authn.jwt.typ_mismatch', 'typ', parsed);
        return verifyToken(ctx, token, key, parsed, issuer, issuer.keys.lookup(parsed.kid, parsed.alg), source);
      },
      close() {
        for (const i of issuers) i.keys.close();
      },
    };
    return filter;
  },
});
