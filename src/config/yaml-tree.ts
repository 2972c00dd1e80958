// Turns a parsed YAML document into plain JSON-like values while recording where every key and
// value sits in the file, so later errors can name file:line:col. Aliases are expanded here
// (yaml's own toJS would lose positions), under a budget that stops alias bombs ("billion
// laughs") long before they cost real memory.
import { isAlias, isMap, isScalar, isSeq, type Alias, type Document, type LineCounter, type Node as YamlNode, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { childKey, type Segment } from './key-path.js';
import type { Pos, SourceMap } from './issues.js';

export interface Issue {
  path: Segment[];
  /** Point at the key rather than the value (unknown keys, duplicates). */
  at?: 'key' | 'value';
  /** Explicit position, when more precise than the node's start. */
  pos?: Pos;
  message: string;
}

export interface TreeOptions {
  lineCounter: LineCounter;
  sourceMap: SourceMap;
  issues: Issue[];
  /**
   * Called for every string scalar (values only, never keys); returns the value to use, or a
   * promise of it (secret lookups). The walk itself stays synchronous: a large file costs no
   * more than a few milliseconds per 10k nodes.
   */
  onString(value: string, node: Scalar, path: Segment[]): unknown;
}

/** Nodes produced by expanding aliases. Real configs reuse a few blocks; bombs need millions. */
export const MAX_ALIAS_NODES = 50_000;
export const MAX_DEPTH = 64;

/** Aborts the walk: the document cannot be expanded safely. */
export class TreeLimitError extends Error {}

export async function yamlToPlain(doc: Document, opts: TreeOptions): Promise<unknown> {
  const w = new Walker(doc, opts);
  const root = { value: undefined as unknown };
  w.assign(root, 'value', w.value(doc.contents, [], '', undefined));
  await Promise.all(w.pending);
  return root.value;
}

class Walker {
  readonly pending: Promise<void>[] = [];
  #aliasDepth = 0;
  #aliasNodes = 0;
  readonly #active = new Set<unknown>();
  readonly #targets = new Map<Alias, YamlNode | undefined>();

  constructor(
    readonly doc: Document,
    readonly opts: TreeOptions,
  ) {}

  pos(node: unknown): Pos {
    const offset = (node as YamlNode | null)?.range?.[0] ?? 0;
    return this.opts.lineCounter.linePos(offset);
  }

  /** Sets obj[key], now or when a promised value arrives. defineProperty: "__proto__" stays data. */
  assign(obj: object, key: string | number, v: unknown): void {
    if (v instanceof Promise) {
      this.assign(obj, key, null); // hold the key's place: key order is part of the config
      this.pending.push(v.then((r) => this.assign(obj, key, r)));
      return;
    }
    if (key === '__proto__') Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
    else (obj as Record<string | number, unknown>)[key] = v;
  }

  value(node: unknown, path: Segment[], key: string, keyPos: Pos | undefined, at?: Pos): unknown {
    if (this.#aliasDepth > 0 && ++this.#aliasNodes > MAX_ALIAS_NODES) {
      throw new TreeLimitError(`aliases expand to more than ${MAX_ALIAS_NODES} nodes (an alias bomb?)`);
    }
    if (path.length > MAX_DEPTH) throw new TreeLimitError(`nesting deeper than ${MAX_DEPTH} levels`);
    // An alias is reported where it is written; what it expands to keeps the anchor's positions.
    this.opts.sourceMap.set(key, at ?? (node == null ? keyPos : undefined) ?? this.pos(node), keyPos);
    if (node == null) return null;
    if (isAlias(node)) {
      const target = this.#deref(node, path);
      if (target === undefined) return null;
      this.#aliasDepth++;
      try {
        return this.value(target, path, key, keyPos, at ?? this.pos(node));
      } finally {
        this.#aliasDepth--;
      }
    }
    if (isScalar(node)) return typeof node.value === 'string' ? this.opts.onString(node.value, node, path) : node.value;
    if (isMap(node)) return this.#enter(node, () => this.#map(node, path, key));
    if (isSeq(node)) {
      return this.#enter(node, () => {
        const out: unknown[] = [];
        node.items.forEach((item, i) => this.assign(out, i, this.value(item, [...path, i], childKey(key, i), undefined)));
        return out;
      });
    }
    this.opts.issues.push({ path, message: 'unsupported YAML node' });
    return null;
  }

  #map(node: YAMLMap, path: Segment[], key: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const pair of this.#pairs(node, path)) {
      const k = this.#key(pair, path);
      if (k === undefined || Object.hasOwn(out, k)) continue; // explicit keys beat merged ones
      this.assign(out, k, this.value(pair.value, [...path, k], childKey(key, k), this.pos(pair.key)));
    }
    return out;
  }

  /** A map's own pairs, then those pulled in by merge keys (<<), in precedence order. */
  #pairs(node: YAMLMap, path: Segment[], visiting = new Set<unknown>()): Pair[] {
    if (visiting.has(node)) throw new TreeLimitError('a merge key (<<) refers to a mapping that contains it');
    visiting.add(node);
    const own: Pair[] = [];
    const merged: Pair[] = [];
    for (const pair of node.items) {
      if (!(isScalar(pair.key) && typeof pair.key.value === 'symbol')) {
        own.push(pair);
        continue;
      }
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const src of sources) {
        const target = isAlias(src) ? this.#deref(src, path) : src;
        if (target === undefined) continue;
        if (!isMap(target)) {
          this.opts.issues.push({ path, pos: this.pos(src), message: 'a merge key (<<) takes a mapping or a list of mappings' });
          continue;
        }
        if (this.#active.has(target)) throw new TreeLimitError('a merge key (<<) refers to a mapping that contains it');
        this.#aliasNodes += target.items.length;
        merged.push(...this.#pairs(target, path, visiting));
      }
    }
    visiting.delete(node);
    return [...own, ...merged];
  }

  #key(pair: Pair, path: Segment[]): string | undefined {
    let k: unknown = pair.key;
    if (isAlias(k)) k = this.#deref(k, path);
    if (isScalar(k) && k.value !== null && typeof k.value !== 'object') return String(k.value);
    const pos = this.pos(pair.key ?? pair.value);
    this.opts.issues.push({ path, pos, message: k == null || isScalar(k) ? 'empty key' : 'keys must be plain strings' });
    return undefined;
  }

  #deref(alias: Alias, path: Segment[]): YamlNode | undefined {
    // resolve() scans the whole document each time; one alias node always means one target.
    let target = this.#targets.get(alias);
    if (!this.#targets.has(alias)) this.#targets.set(alias, (target = alias.resolve(this.doc) as YamlNode | undefined));
    if (!target) {
      this.opts.issues.push({ path, pos: this.pos(alias), message: `unknown alias *${alias.source} (an anchor must be defined before its alias)` });
      return undefined;
    }
    if (this.#active.has(target)) throw new TreeLimitError(`alias *${alias.source} refers to a node that contains it`);
    return target;
  }

  #enter<R>(node: unknown, fn: () => R): R {
    this.#active.add(node);
    try {
      return fn();
    } finally {
      this.#active.delete(node);
    }
  }
}
