// API keys. The key (gh_<id>_<secret><checksum>) is read from one header, or a query parameter
// where a route enables it; its id picks the record, and the SHA-256 of the presented key is
// compared with the stored hash in constant time. An unknown id and a wrong secret give the same
// answer (no enumeration); "revoked" and "expired" are said only to a caller who holds the real
// key. The key is removed before forwarding unless `forward_key` is set, and never logged: logs
// name the key id.
import { timingSafeEqual } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { defineFilter, type FilterDeps, type Reply } from '../../pipeline/filter.js';
import type { RequestContext } from '../../pipeline/context.js';
import { IDENTITY } from '../common/identity.js';
import { AMBIGUOUS, singleHeader, singleQueryParam, stripQueryParam } from '../common/credentials.js';
import { apiKeySchema, type ApiKeyConfig } from './config.js';
import { digestKey, parseKey } from './key-format.js';
import { compileKeys, type KeyIndex } from './key-set.js';
import { KeyFile } from './key-file.js';

export const DEFAULT_HEADER = 'x-api-key';
/** Compared against when the id is unknown, so both failures cost the same work. */
const DUMMY_DIGEST = Buffer.alloc(32);

export default defineFilter<ApiKeyConfig>({
  name: 'api_key',
  order: 230,
  schema: apiKeySchema,
  authenticator: true,
  reasons: ['authn.api_key.invalid', 'authn.api_key.revoked', 'authn.api_key.expired', 'authn.ambiguous_credentials'],
  create(cfg, deps) {
    if (cfg.keys === undefined && cfg.keys_file === undefined) throw new Error('api_key: give keys, keys_file, or both');
    const header = (cfg.header ?? DEFAULT_HEADER).toLowerCase();
    // The CGI/WSGI twin (X_Api_Key) reaches some backends as the same variable: drop it as well.
    const headerTwin = header.replace(/-/g, '_');
    const queryName = cfg.query;
    const forward = cfg.forward_key === true;
    const clock = deps.clock;
    const log = deps.log;
    const challenge = queryName === undefined ? `ApiKey header="${header}"` : `ApiKey header="${header}", query="${queryName}"`;
    const refuse = (code: 'authn.api_key.invalid' | 'authn.api_key.revoked' | 'authn.api_key.expired', message: string): Reply => ({
      status: 401,
      code,
      message,
      headers: { 'www-authenticate': challenge },
    });
    const INVALID = refuse('authn.api_key.invalid', 'the API key is not valid');
    const REVOKED = refuse('authn.api_key.revoked', 'the API key has been revoked');
    const EXPIRED = refuse('authn.api_key.expired', 'the API key has expired');

    const inline = { where: 'api_key.keys', records: cfg.keys ?? [] };
    let index: KeyIndex;
    let file: KeyFile | undefined;
    if (cfg.keys_file === undefined) {
      index = compileKeys([inline]);
    } else {
      const path = resolveFrom(deps, cfg.keys_file);
      file = new KeyFile({
        path,
        log,
        // One reference assignment: a request sees the old table or the new one, never a mix.
        apply: (records) => void (index = compileKeys([inline, { where: 'keys_file', records }])),
      });
      let records;
      try {
        records = file.loadSync();
      } catch (err) {
        throw new Error(`api_key.keys_file: ${cfg.keys_file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      index = compileKeys([inline, { where: 'keys_file', records }]);
      file.start();
    }

    return {
      challenge,
      onRequest: function apiKeyOnRequest(ctx): Reply | void {
        const fromHeader = singleHeader(ctx, header);
        const fromQuery = queryName === undefined ? undefined : singleQueryParam(ctx, queryName);
        if (fromHeader === undefined && fromQuery === undefined) return; // no credential of this kind
        if (fromHeader !== undefined && fromQuery !== undefined) return AMBIGUOUS;
        const got = (fromHeader ?? fromQuery)!;
        if ('ambiguous' in got) return AMBIGUOUS;
        const presented = got.value;
        // A comma means a list (`k1, k2`, or two fields joined by an intermediary): never pick one.
        if (presented.includes(',')) return AMBIGUOUS;
        if (!forward) {
          if (fromHeader !== undefined) {
            ctx.removeUpstreamHeader(header);
            if (headerTwin !== header) ctx.removeUpstreamHeader(headerTwin);
          } else {
            stripQueryParam(ctx, queryName!);
          }
        }
        const parsed = parseKey(presented);
        if (parsed === undefined) return INVALID;
        const entry = index.get(parsed.id);
        const match = timingSafeEqual(digestKey(presented), entry?.digest ?? DUMMY_DIGEST);
        if (entry === undefined || !match) return INVALID;
        if (!entry.enabled) {
          log.info({ filter: 'api_key', key_id: entry.id, request_id: ctx.id }, 'api_key: revoked key presented');
          return REVOKED;
        }
        if (entry.expiresAt !== undefined && clock.now() >= entry.expiresAt) {
          log.info({ filter: 'api_key', key_id: entry.id, request_id: ctx.id }, 'api_key: expired key presented');
          return EXPIRED;
        }
        // Any-of: the first authenticator that accepted the request names the caller; a valid key
        // after it adds nothing (an invalid one still refuses, above).
        if (ctx.get(IDENTITY) === undefined) ctx.set(IDENTITY, entry.identity);
      },
      close() {
        file?.close();
      },
    };
  },
});

/** Relative paths follow the config file's folder, as every other path in the config does. */
function resolveFrom(deps: FilterDeps, file: string): string {
  return isAbsolute(file) ? file : resolve(deps.baseDir ?? process.cwd(), file);
}

