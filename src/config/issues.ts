// One line per problem: FILE:LINE:COL: KEYPATH: MESSAGE, the shape compilers and editors
// understand (click-to-jump), with the key path for readers who search the file instead.
import { formatKeyPath, pathKey, type Segment } from './key-path.js';

export interface Pos {
  line: number;
  col: number;
}

interface NodePos {
  key: Pos | undefined;
  value: Pos;
}

/** Where each key path sits in the source file. */
export class SourceMap {
  readonly #byPath = new Map<string, NodePos>();

  /** `at` is pathKey(path), built incrementally by the caller while it walks the document. */
  set(at: string, value: Pos, key?: Pos): void {
    this.#byPath.set(at, { key, value });
  }

  /** The position of the key (if asked and known) or value at path, else of the nearest ancestor. */
  locate(path: readonly Segment[], prefer: 'key' | 'value' = 'value'): Pos | undefined {
    for (let n = path.length; n >= 0; n--) {
      const hit = this.#byPath.get(pathKey(path.slice(0, n)));
      if (hit) return (n === path.length && prefer === 'key' ? hit.key : undefined) ?? hit.value;
    }
    return undefined;
  }
}

export function formatIssue(file: string, pos: Pos | undefined, path: readonly Segment[], message: string): string {
  const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
  const keyPath = formatKeyPath(path);
  return keyPath ? `${where}: ${keyPath}: ${message}` : `${where}: ${message}`;
}

/** Messages are lowercase (STYLE.md); "An HTTP field" → "an HTTP field", acronyms keep their case. */
export function lowerFirst(s: string): string {
  return /^[A-Z][^A-Z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

/** Sorts lines by file position so output follows the file top to bottom. */
export function sortIssues(lines: string[]): string[] {
  const at = (l: string) => {
    const m = /^.*?:(\d+):(\d+): /.exec(l);
    return m ? [Number(m[1]), Number(m[2])] : [0, 0];
  };
  return lines
    .map((l, i) => ({ l, i, p: at(l) }))
    .sort((a, b) => a.p[0]! - b.p[0]! || a.p[1]! - b.p[1]! || a.i - b.i)
    .map((x) => x.l);
}

/** Thrown for any invalid config; `errors` holds every problem found, one full line each. */
export class ConfigError extends Error {
  readonly code = 'GH_ERR_CONFIG_INVALID';
  readonly errors: string[];

  constructor(errors: string[]) {
    const first = errors[0] ?? 'invalid config';
    super(errors.length > 1 ? `${first} (and ${errors.length - 1} more)` : first);
    this.name = 'ConfigError';
    this.errors = errors;
  }
}
