// Turns a parsed YAML document into plain JSON-like values while recording where every key and
// value sits in the file, so later errors can name file:line:col. Aliases are expanded here
// (yaml's own toJS would lose positions), under a node budget that stops alias bombs
// ("billion laughs") long before they cost real memory.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node as YamlNode, type Pair, type Scalar, type YAMLMap } from 'yaml';
import type { Segment } from './key-path.js';
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
  /** Called for every string scalar (values only, never keys); returns the value to use. */
  onString(value: string, node: Scalar, path: Segment[]): Promise<unknown>;
}

/** Far above any real config (thousands of routes), far below what hurts. */
export const MAX_NODES = 250_000;
export const MAX_DEPTH = 64;

/** Aborts the walk: the document cannot be expanded safely. */
export class TreeLimitError extends Error {}

export async function yamlToPlain(doc: Document, opts: TreeOptions): Promise<unknown> {
  const w = new Walker(doc, opts);
  return w.value(doc.contents, [], undefined);
}

class Walker {
  #nodes = 0;
  readonly #active = new Set<unknown>();

  constructor(
    readonly doc: Document,
    readonly opts: TreeOptions,
  ) {}

  pos(node: unknown): Pos {
    const offset = (node as YamlNode | null)?.range?.[0] ?? 0;
    return this.opts.lineCounter.linePos(offset);
  }

  async value(node: unknown, path: Segment[], keyPos: Pos | undefined, at?: Pos): Promise<unknown> {
    if (++this.#nodes > MAX_NODES) {
      throw new TreeLimitError(`document expands to more than ${MAX_NODES} nodes (alias bomb?)`);
    }
    if (path.length > MAX_DEPTH) throw new TreeLimitError(`nesting deeper than ${MAX_DEPTH} levels`);
    // An alias is reported where it is written; what it expands to keeps the anchor's positions.
    this.opts.sourceMap.set(path, at ?? (node == null ? keyPos : undefined) ?? this.pos(node), keyPos);
    if (node == null) return null;
    if (isAlias(node)) {
      const target = this.#deref(node, path);
      return target === undefined ? null : this.value(target, path, keyPos, at ?? this.pos(node));
    }
    if (isScalar(node)) {
      return typeof node.value === 'string' ? this.opts.onString(node.value, node, path) : node.value;
    }
    if (isMap(node)) return this.#enter(node, () => this.#map(node, path));
    if (isSeq(node)) {
      return this.#enter(node, async () => {
        const out: unknown[] = [];
        for (const item of node.items) out.push(await this.value(item, [...path, out.length], undefined));
        return out;
      });
    }
    this.opts.issues.push({ path, message: 'unsupported YAML node' });
    return null;
  }

  async #map(node: YAMLMap, path: Segment[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const pair of this.#pairs(node, path)) {
      const key = this.#key(pair, path);
      if (key === undefined || Object.hasOwn(out, key)) continue; // explicit keys beat merged ones
      const v = await this.value(pair.value, [...path, key], this.pos(pair.key));
      // defineProperty: a key named __proto__ must stay data, not become the prototype
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
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
        this.#nodes += target.items.length;
        if (this.#nodes > MAX_NODES) throw new TreeLimitError(`document expands to more than ${MAX_NODES} nodes (alias bomb?)`);
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

  #deref(alias: YamlNode & { source: string; resolve(doc: Document): unknown }, path: Segment[]): YamlNode | undefined {
    const target = alias.resolve(this.doc) as YamlNode | undefined;
    if (!target) {
      this.opts.issues.push({ path, pos: this.pos(alias), message: `unknown alias *${alias.source} (an anchor must be defined before its alias)` });
      return undefined;
    }
    if (this.#active.has(target)) throw new TreeLimitError(`alias *${alias.source} refers to a node that contains it`);
    return target;
  }

  async #enter<R>(node: unknown, fn: () => Promise<R>): Promise<R> {
    this.#active.add(node);
    try {
      return await fn();
    } finally {
      this.#active.delete(node);
    }
  }
}
