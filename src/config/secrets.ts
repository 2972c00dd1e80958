// Secret references in config values: ${secret:provider:ref}. The loader only needs "give me the
// value of this ref"; richer providers (secret managers, rotation) plug in behind the same shape.
import { open } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/** Resolves `${secret:<provider>:<ref>}`. Rejects with a lowercase, one-line message. */
export interface SecretResolver {
  readonly providers: readonly string[];
  resolve(provider: string, ref: string): Promise<string>;
}

export interface SecretProvider {
  readonly name: string;
  get(ref: string): Promise<string>;
}

/** A secret file larger than this is surely the wrong file. */
const MAX_SECRET_FILE_BYTES = 1024 * 1024;

/** `${secret:env:NAME}`: like ${NAME}, but the key path is recorded as secret (redacted later). */
export function envSecrets(env: Env): SecretProvider {
  return {
    name: 'env',
    async get(ref) {
      const v = env[ref];
      if (v === undefined) throw new Error(`environment variable ${ref} is not set`);
      return v;
    },
  };
}

/**
 * `${secret:file:/run/secrets/token}`: the file's contents minus one trailing newline (the one
 * `echo` and editors add). Relative paths are taken from the config file's folder.
 */
export function fileSecrets(baseDir: string): SecretProvider {
  return {
    name: 'file',
    async get(ref) {
      if (ref === '') throw new Error('empty file path');
      const path = isAbsolute(ref) ? ref : resolve(baseDir, ref);
      const text = await readSmallFile(path, MAX_SECRET_FILE_BYTES).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot read secret file ${JSON.stringify(ref)}: ${describeFsError(err)}`);
      });
      return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
    },
  };
}

export function createSecretResolver(providers: readonly SecretProvider[]): SecretResolver {
  const byName = new Map(providers.map((p) => [p.name, p]));
  return {
    providers: [...byName.keys()],
    resolve(provider, ref) {
      const p = byName.get(provider);
      if (!p) {
        const known = [...byName.keys()].join(', ');
        return Promise.reject(new Error(`unknown secret provider "${provider}" (expected one of: ${known})`));
      }
      return p.get(ref);
    },
  };
}

/**
 * Reads at most `limit` bytes and fails beyond, without trusting stat(): pipes and
 * /proc files report size 0, and /dev/zero never ends.
 */
export async function readSmallFile(path: string, limit: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) throw Object.assign(new Error('file is too large'), { code: 'GH_TOO_LARGE', limit });
      chunks.push(buf.subarray(0, bytesRead));
    }
    return decodeUtf8(Buffer.concat(chunks));
  } finally {
    await fh.close();
  }
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw Object.assign(new Error('not valid UTF-8'), { code: 'GH_BAD_UTF8' });
  }
}

export function describeFsError(err: NodeJS.ErrnoException & { limit?: number }): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'GH_TOO_LARGE':
      return `file is larger than ${formatBytes(err.limit ?? 0)}`;
    case 'GH_BAD_UTF8':
      return 'file is not valid UTF-8';
    default:
      return err.message;
  }
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}
