// `${secret:vault:<path>#<field>}`: a value from HashiCorp Vault's KV version 2 engine over its
// HTTP API (GET <address>/v1/<mount>/data/<path>, X-Vault-Token). The field defaults to "value".
// Errors name the path and what went wrong, never the token. Within one config load each path
// is fetched once, however many references name it.
import { request } from 'undici';
import type { SecretProvider } from '../config/secrets.js';

export interface VaultOptions {
  address: string;
  token: string;
  /** KV v2 mount point (default "secret"). */
  mount: string;
  namespace: string | undefined;
  timeoutMs: number;
}

/** A KV response larger than this is not a secret. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const SAFE_PATH = /^[A-Za-z0-9._\-/]+$/;

export function vaultSecrets(o: VaultOptions): SecretProvider {
  const fetched = new Map<string, Promise<Record<string, unknown>>>();
  const base = o.address.replace(/\/+$/, '');
  const read = async (path: string): Promise<Record<string, unknown>> => {
    const headers: Record<string, string> = { 'x-vault-token': o.token, accept: 'application/json' };
    if (o.namespace) headers['x-vault-namespace'] = o.namespace;
    let res;
    try {
      res = await request(`${base}/v1/${o.mount}/data/${path}`, { headers, headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs });
    } catch (err) {
      throw new Error(`vault: cannot reach ${base}: ${(err as Error & { code?: string }).code ?? (err as Error).message}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_RESPONSE_BYTES) throw new Error(`vault: the answer for ${path} is larger than 1 MiB`);
      chunks.push(c);
    }
    if (res.statusCode === 404) throw new Error(`vault: no secret at ${o.mount}/${path}`);
    if (res.statusCode === 403) throw new Error(`vault: permission denied for ${o.mount}/${path} (check the token's policy)`);
    if (res.statusCode !== 200) throw new Error(`vault: ${o.mount}/${path} answered HTTP ${res.statusCode}`);
    let body: { data?: { data?: unknown } };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      throw new Error(`vault: the answer for ${o.mount}/${path} is not JSON`);
    }
    const data = body.data?.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error(`vault: ${o.mount}/${path} is not a KV v2 secret`);
    return data as Record<string, unknown>;
  };
  return {
    name: 'vault',
    async get(ref) {
      const hash = ref.indexOf('#');
      const path = hash < 0 ? ref : ref.slice(0, hash);
      const field = hash < 0 ? 'value' : ref.slice(hash + 1);
      if (!SAFE_PATH.test(path) || path.includes('..') || path.startsWith('/')) throw new Error(`vault: invalid secret path ${JSON.stringify(path)}`);
      let p = fetched.get(path);
      if (!p) fetched.set(path, (p = read(path)));
      const data = await p;
      const v = data[field];
      if (typeof v !== 'string') throw new Error(`vault: ${o.mount}/${path} has no string field "${field}"`);
      return v;
    },
  };
}
