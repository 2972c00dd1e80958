// A watched keys file. Two triggers, because neither is enough alone:
//  - fs.watch on the file's folder (not the file: editors and `mv` replace the inode, and
//    Kubernetes swaps a `..data` symlink in the folder), debounced by DEBOUNCE_MS;
//  - a stat poll every POLL_MS, for file systems where fs.watch says nothing (NFS, some container
//    mounts) or cannot be set up at all.
// So a change applies within POLL_MS + DEBOUNCE_MS + one read: "within 2 s" is the documented
// bound. A file that cannot be read, parsed or validated is logged (without values) and the last
// good set stays in force; a deleted file too (deleting the file is not how keys are revoked).
import { watch, readFileSync, statSync, type FSWatcher, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { MAX_KEYS_FILE_BYTES, parseKeysFile } from './key-set.js';
import type { KeyRecord } from './config.js';

export const POLL_MS = 1000;
export const DEBOUNCE_MS = 50;

export interface KeyFileOptions {
  path: string;
  log: Logger;
  /** Called with the new records; throw to refuse them (e.g. a duplicate id): the old set stays. */
  apply(records: KeyRecord[]): void;
  pollMs?: number;
  /** Use fs.watch as well as polling (default true; tests turn it off to prove the poll path). */
  watch?: boolean;
}

const signature = (s: Stats) => `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class KeyFile {
  readonly #o: KeyFileOptions;
  #sig = '';
  #hash = '';
  /** Hash of the last refused content, so a bad file is logged once, not on every poll. */
  #badHash = '';
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #againForce = false;
  #closed = false;

  constructor(o: KeyFileOptions) {
    this.#o = o;
  }

  /** The initial read, at config load: a bad file here fails the load (no last good set yet). */
  loadSync(): KeyRecord[] {
    const st = statSync(this.#o.path);
    if (st.size > MAX_KEYS_FILE_BYTES) throw new Error(`larger than ${MAX_KEYS_FILE_BYTES} bytes`);
    const buf = readFileSync(this.#o.path);
    const records = parseKeysFile(buf.toString('utf8'));
    this.#sig = signature(st);
    this.#hash = digest(buf);
    return records;
  }

  start(): void {
    const pollMs = this.#o.pollMs ?? POLL_MS;
    this.#poll = setInterval(() => this.#check(false), pollMs);
    this.#poll.unref();
    if (this.#o.watch === false) return;
    const name = basename(this.#o.path);
    try {
      this.#watcher = watch(dirname(this.#o.path), { persistent: false }, (_event, file) => {
        // Any event in the folder may be a symlink swap; our own name forces a read even when
        // the stat signature looks unchanged (a rewrite within one mtime tick).
        this.#schedule(file === null || file === name);
      });
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      // No inotify watches left, unsupported file system: the poll alone keeps the bound.
      this.#watcher = undefined;
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #schedule(force: boolean): void {
    this.#againForce ||= force;
    if (this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      const f = this.#againForce;
      this.#againForce = false;
      this.#check(f);
    }, DEBOUNCE_MS);
    this.#debounce.unref();
  }

  #check(force: boolean): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      this.#againForce ||= force;
      return;
    }
    this.#running = true;
    void this.#reload(force).finally(() => {
      this.#running = false;
      if (this.#again && !this.#closed) {
        this.#again = false;
        const f = this.#againForce;
        this.#againForce = false;
        this.#check(f);
      }
    });
  }

  async #reload(force: boolean): Promise<void> {
    const path = this.#o.path;
    let st: Stats;
    try {
      st = await stat(path);
    } catch (err) {
      this.#refuse(`cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, `stat:${(err as NodeJS.ErrnoException).code}`);
      return;
    }
    const sig = signature(st);
    if (!force && sig === this.#sig) return;
    this.#sig = sig;
    if (st.size > MAX_KEYS_FILE_BYTES) {
      this.#refuse(`larger than ${MAX_KEYS_FILE_BYTES} bytes`, sig);
      return;
    }
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      this.#refuse(`cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, sig);
      return;
    }
    if (this.#closed) return;
    const h = digest(buf);
    if (h === this.#hash) return;
    try {
      const records = parseKeysFile(buf.toString('utf8'));
      this.#o.apply(records);
      this.#hash = h;
      this.#badHash = '';
      this.#o.log.info({ filter: 'api_key', keys_file: path, keys: records.length }, 'api_key: keys_file reloaded');
    } catch (err) {
      this.#refuse((err as Error).message, h);
    }
  }

  #refuse(reason: string, id: string): void {
    if (id === this.#badHash) return;
    this.#badHash = id;
    this.#o.log.error({ filter: 'api_key', keys_file: this.#o.path, reason }, 'api_key: keys_file refused, keeping the last good set');
  }
}
