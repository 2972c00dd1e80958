// The running config as /config shows it: every value that came from a ${secret:...} reference,
// and every field whose name marks it as secret material, is replaced by "[redacted]".
import { formatKeyPath, type Segment } from '../config/key-path.js';
import type { GatehouseConfig } from '../config/schema.js';

/** Field names that hold secrets or secret-derived material wherever they appear. */
const SENSITIVE = new Set(['secret', 'secrets', 'password', 'token', 'session_tokens', 'hash', 'client_secret', 'private_key', 'secret_access_key', 'session_token', 'hmac_key']);
/** Static credentials sent upstream or to a collector (request_headers.set/add, tracing.headers). */
const SENSITIVE_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'x-amz-security-token']);
export const REDACTED = '[redacted]';

export function redactConfig(config: GatehouseConfig, secretPaths: readonly string[]): unknown {
  const secret = new Set(secretPaths);
  const walk = (v: unknown, path: Segment[]): unknown => {
    if (path.length > 0) {
      const last = path[path.length - 1]!;
      if (secret.has(formatKeyPath(path)) || (typeof last === 'string' && SENSITIVE.has(last))) return REDACTED;
      if (typeof last === 'string' && (path.includes('request_headers') || path.includes('headers')) && SENSITIVE_HEADERS.has(last.toLowerCase())) return REDACTED;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  return walk(config, []);
}
