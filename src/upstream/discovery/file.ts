// File discovery: a JSON or YAML file holding a list of endpoints (or { endpoints: [...] }), read
// at start and again whenever it changes (stat polling: robust to editors and tools that replace
// the file by rename). An unreadable or invalid file keeps the last good list.
import { readFileSync, watchFile, unwatchFile, type Stats } from 'node:fs';
import YAML from 'yaml';
import type { EndpointSpec } from '../endpoint.js';
import { parseEndpointEntries } from './endpoints.js';

export function readEndpointFile(path: string): EndpointSpec[] {
  const text = readFileSync(path, 'utf8');
  const doc: unknown = path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  const list = Array.isArray(doc) ? doc : (doc as { endpoints?: unknown } | null)?.endpoints;
  return parseEndpointEntries(list, path);
}

export class FileDiscovery {
  readonly #path: string;
  readonly #pollMs: number;
  readonly #update: (specs: EndpointSpec[]) => void;
  readonly #onError: (err: Error) => void;
  readonly #listener: (cur: Stats, prev: Stats) => void;
  loads = 0;
  lastError: string | undefined;

  constructor(path: string, pollMs: number, update: (specs: EndpointSpec[]) => void, onError: (err: Error) => void) {
    this.#path = path;
    this.#pollMs = pollMs;
    this.#update = update;
    this.#onError = onError;
    this.#listener = (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) this.load();
    };
  }

  /** Reads the file now; false (and the last list kept) when it cannot be used. */
  load(): boolean {
    try {
      const specs = readEndpointFile(this.#path);
      this.loads++;
      this.lastError = undefined;
      this.#update(specs);
      return true;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.#onError(err as Error);
      return false;
    }
  }

  start(): void {
    this.load();
    watchFile(this.#path, { interval: this.#pollMs, persistent: false }, this.#listener);
  }

  close(): void {
    unwatchFile(this.#path, this.#listener);
  }
}
