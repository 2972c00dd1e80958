// A compiled Condition block: one Clause per (operator, key). How a clause decides, in AWS terms:
//
// - Missing key (absent, or an empty multi-valued key such as no roles): a positive operator is
//   false; a negated one (StringNotEquals*, StringNotLike*, NumericNotEquals, DateNotEquals,
//   NotIpAddress) is true; any `...IfExists` is true; `Null: {k: true}` is true iff absent.
// - Several policy values for one key: OR. For a negated operator the request value must match
//   none of them.
// - Multi-valued request keys with a plain operator: a positive operator holds if any request value
//   matches; a negated one holds if no request value matches.
// - `ForAnyValue:` holds if at least one request value satisfies the operator (false when the key
//   is missing or empty). `ForAllValues:` holds if every request value does, and so it is TRUE when
//   the key is missing or empty. That is AWS's documented gotcha and is kept on purpose so
//   policies mean the same thing here as in IAM: pair ForAllValues with a `Null: {k: false}`
//   clause when an empty set must not pass.
// - A request value that cannot be read as the operator's type (non-numeric for Numeric*, not a
//   date, not an IP, not true/false) fails the comparison, negated operators included.
import type { IssueSink } from './errors.js';
import { cidrContains, parseCidr, parseIpInto, type Cidr } from './ip.js';
import { resolveKey, type KeyRef } from './keys.js';
import { parseOperator, type Compare, type Family, type SetQualifier } from './operators.js';
import { Pattern } from './pattern.js';
import { isPlainObject } from './shape.js';
import { parseTemplate } from './template.js';
import type { AuthzRequest } from './types.js';
import { toBool, toDateMs, toNumber, toText } from './values.js';

type PolicyValue = string | number | boolean;

const UNREADABLE = -1;
const NO = 0;
const YES = 1;

// Request IPs are parsed into this buffer: evaluation is synchronous, so sharing it is safe.
const ipScratch = new Uint8Array(16);

export class Clause {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  readonly key: KeyRef;
  /** `Operator key`, the form decisions and logs name a condition by. */
  readonly label: string;
  /** The policy values as written, for explain. */
  readonly values: readonly PolicyValue[];
  readonly #family: Family;
  readonly #negated: boolean;
  readonly #ifExists: boolean;
  readonly #set: SetQualifier;
  readonly #compare: Compare;
  readonly #isMs: boolean;
  readonly #patterns: readonly Pattern[];
  readonly #numbers: readonly number[];
  readonly #bools: readonly boolean[];
  readonly #cidrs: readonly Cidr[];

  constructor(
    operator: string,
    parsed: Exclude<ReturnType<typeof parseOperator>, string>,
    key: KeyRef,
    values: readonly PolicyValue[],
    compiled: { patterns?: Pattern[]; numbers?: number[]; bools?: boolean[]; cidrs?: Cidr[] },
  ) {
    this.operator = operator;
    this.key = key;
    this.label = `${operator} ${key.name}`;
    this.values = values;
    this.#family = parsed.spec.family;
    this.#negated = parsed.spec.negated;
    this.#ifExists = parsed.ifExists;
    this.#set = parsed.set;
    this.#compare = parsed.spec.compare;
    this.#isMs = key.kind === 'time';
    this.#patterns = compiled.patterns ?? [];
    this.#numbers = compiled.numbers ?? [];
    this.#bools = compiled.bools ?? [];
    this.#cidrs = compiled.cidrs ?? [];
  }

  test(req: AuthzRequest): boolean {
    const raw = this.key.get(req);
    const isArray = Array.isArray(raw);
    const missing = raw === undefined || (isArray && (raw as unknown[]).length === 0);
    if (this.#family === 'null') return missing === this.#bools[0];
    if (missing) {
      if (this.#ifExists) return true;
      if (this.#set === 'any') return false;
      if (this.#set === 'all') return true;
      return this.#negated;
    }
    if (!isArray) return this.#satisfies(raw, req);
    const list = raw as readonly unknown[];
    // "Every value must satisfy": ForAllValues, and a plain negated operator ("no value matches").
    if (this.#set === 'all' || (this.#set === 'none' && this.#negated)) {
      for (let i = 0; i < list.length; i++) if (!this.#satisfies(list[i], req)) return false;
      return true;
    }
    for (let i = 0; i < list.length; i++) if (this.#satisfies(list[i], req)) return true;
    return false;
  }

  #satisfies(v: unknown, req: AuthzRequest): boolean {
    const m = this.#match(v, req);
    return this.#negated ? m === NO : m === YES;
  }

  // Whether v equals / is like / is in (the positive form of the operator) any policy value.
  #match(v: unknown, req: AuthzRequest): number {
    switch (this.#family) {
      case 'string': {
        const s = toText(v, this.#isMs);
        if (s === undefined) return UNREADABLE;
        const ps = this.#patterns;
        for (let i = 0; i < ps.length; i++) if (ps[i]!.test(s, req)) return YES;
        return NO;
      }
      case 'numeric':
        return this.#compareAll(toNumber(v));
      case 'date':
        return this.#compareAll(toDateMs(v, this.#isMs));
      case 'bool': {
        const b = toBool(v);
        if (b === undefined) return UNREADABLE;
        return this.#bools.includes(b) ? YES : NO;
      }
      case 'ip': {
        if (typeof v !== 'string') return UNREADABLE;
        const family = parseIpInto(v, ipScratch);
        if (family === 0) return UNREADABLE;
        const cs = this.#cidrs;
        for (let i = 0; i < cs.length; i++) if (cidrContains(cs[i]!, family, ipScratch)) return YES;
        return NO;
      }
      case 'null':
        return NO;
    }
  }

  #compareAll(n: number): number {
    if (Number.isNaN(n)) return UNREADABLE;
    const ns = this.#numbers;
    for (let i = 0; i < ns.length; i++) if (compare(n, this.#compare, ns[i]!)) return YES;
    return NO;
  }
}

function compare(a: number, how: Compare, b: number): boolean {
  switch (how) {
    case 'eq':
      return a === b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
  }
}

/** Compiles a statement's Condition member; problems go to `sink` (already at `Condition`). */
export function compileCondition(raw: unknown, sink: IssueSink): Clause[] {
  const clauses: Clause[] = [];
  if (!isPlainObject(raw)) {
    sink.report('must be an object of { Operator: { key: value } }');
    return clauses;
  }
  for (const [operator, block] of Object.entries(raw)) {
    const parsed = parseOperator(operator);
    if (typeof parsed === 'string') {
      sink.report(parsed, operator);
      continue;
    }
    if (!isPlainObject(block) || Object.keys(block).length === 0) {
      sink.report('must be a non-empty object of { key: value | [values] }', operator);
      continue;
    }
    for (const [keyName, rawValues] of Object.entries(block)) {
      const at = sink.at(operator, keyName);
      const key = resolveKey(keyName);
      if (typeof key === 'string') {
        sink.report(key, operator, keyName);
        continue;
      }
      const values = readValues(rawValues, at);
      if (values === undefined) continue;
      const compiled = compileValues(parsed, values, at);
      if (compiled !== undefined) clauses.push(new Clause(operator, parsed, key, values, compiled));
    }
  }
  return clauses;
}

function readValues(raw: unknown, sink: IssueSink): PolicyValue[] | undefined {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) {
    sink.report('needs at least one value');
    return undefined;
  }
  const before = sink.count;
  list.forEach((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      sink.report('must be a string, number or boolean', ...(Array.isArray(raw) ? [i] : []));
    }
  });
  return sink.count === before ? (list as PolicyValue[]) : undefined;
}

type Compiled = ConstructorParameters<typeof Clause>[4];

function compileValues(parsed: Exclude<ReturnType<typeof parseOperator>, string>, values: PolicyValue[], sink: IssueSink): Compiled | undefined {
  const before = sink.count;
  const where = (i: number) => (values.length > 1 ? [i] : []);
  const out: Required<Compiled> = { patterns: [], numbers: [], bools: [], cidrs: [] };
  const { family, like, ignoreCase } = parsed.spec;
  values.forEach((v, i) => {
    switch (family) {
      case 'string': {
        const src = String(v);
        const tokens = parseTemplate(src);
        if (typeof tokens === 'string') sink.report(tokens, ...where(i));
        else out.patterns.push(new Pattern(tokens, src, { wildcards: like, ignoreCase }));
        break;
      }
      case 'numeric': {
        const n = toNumber(v);
        if (Number.isNaN(n)) sink.report(`${JSON.stringify(v)} is not a number`, ...where(i));
        else out.numbers.push(n);
        break;
      }
      case 'date': {
        const ms = toDateMs(v, false);
        if (Number.isNaN(ms)) sink.report(`${JSON.stringify(v)} is not an ISO 8601 date or epoch seconds`, ...where(i));
        else out.numbers.push(ms);
        break;
      }
      case 'bool':
      case 'null': {
        const b = toBool(v);
        if (b === undefined) sink.report(`${JSON.stringify(v)} must be true or false`, ...where(i));
        else out.bools.push(b);
        break;
      }
      case 'ip': {
        const c = typeof v === 'string' ? parseCidr(v) : `${JSON.stringify(v)} is not an IP address or CIDR block`;
        if (typeof c === 'string') sink.report(c, ...where(i));
        else out.cidrs.push(c);
        break;
      }
    }
  });
  if (family === 'null' && values.length > 1) sink.report('Null takes a single true or false');
  return sink.count === before ? out : undefined;
}
