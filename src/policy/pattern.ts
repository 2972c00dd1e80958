// Wildcard patterns (`*` any run of characters, `?` exactly one) with optional policy variables.
// Everything is decided at compile time: a pattern without variables becomes a literal, prefix or
// anchored RegExp check; one with variables becomes a token program matched without building a
// RegExp per request, so a substituted value (a subject containing `*`) is always literal.
import { variableValue, type Token } from './template.js';
import type { AuthzRequest } from './types.js';

export interface PatternOptions {
  /** `*` and `?` in text are wildcards (Resource, Action, Principal, StringLike); else literal (StringEquals). */
  readonly wildcards: boolean;
  readonly ignoreCase: boolean;
}

const enum Kind {
  Any,
  Exact,
  Prefix,
  Affix,
  Regex,
  Program,
}

const enum Op {
  Text,
  Star,
  One,
  Var,
}

interface Step {
  readonly op: Op;
  /** Text: the literal (lower case when ignoring case). Var: unused. */
  readonly s: string;
  /** Var: the token, and its slot in the value scratch. */
  readonly v: Extract<Token, { t: 'var' }> | undefined;
  readonly slot: number;
}

export class Pattern {
  readonly source: string;
  readonly ignoreCase: boolean;
  /** Text before the first wildcard or variable; the route pre-filter compares it. */
  readonly literalPrefix: string;
  /** True when the pattern is a literal prefix followed by one `*` (or just `*`). */
  readonly isPrefixStar: boolean;
  readonly #kind: Kind;
  readonly #text: string;
  readonly #suffix: string;
  readonly #re: RegExp | undefined;
  readonly #steps: readonly Step[];
  // Variable values for the request being matched. Evaluation is synchronous and getters only
  // read the request, so one buffer per pattern is safe and saves an array per request.
  readonly #values: (string | undefined)[];

  /** `steps` is internal: withoutPrefix() passes already compiled steps (and no tokens). */
  constructor(tokens: readonly Token[], source: string, opts: PatternOptions, compiled?: readonly Step[]) {
    this.source = source;
    this.ignoreCase = opts.ignoreCase;
    const fold = (s: string) => (opts.ignoreCase ? s.toLowerCase() : s);
    const steps: Step[] = compiled ? [...compiled] : [];
    let slots = compiled ? compiled.reduce((n, st) => Math.max(n, st.op === Op.Var ? st.slot + 1 : 0), 0) : 0;
    for (const tok of tokens) {
      if (tok.t === 'var') steps.push({ op: Op.Var, s: '', v: tok, slot: slots++ });
      else if (tok.t === 'literal' || !opts.wildcards) pushText(steps, fold(tok.s));
      else {
        let run = '';
        for (const c of tok.s) {
          if (c !== '*' && c !== '?') {
            run += c;
            continue;
          }
          if (run) pushText(steps, fold(run));
          run = '';
          // `**` is the same as `*`; collapsing keeps the backtracking matcher linear-ish.
          if (c === '?') steps.push({ op: Op.One, s: '', v: undefined, slot: 0 });
          else if (steps.at(-1)?.op !== Op.Star) steps.push({ op: Op.Star, s: '', v: undefined, slot: 0 });
        }
        if (run) pushText(steps, fold(run));
      }
    }
    this.#steps = steps;
    this.#values = new Array<string | undefined>(slots);
    let prefix = '';
    for (const st of steps) {
      if (st.op !== Op.Text) break;
      prefix += st.s;
    }
    this.literalPrefix = prefix;
    const last = steps.at(-1);
    const onlyTrailingStar = last?.op === Op.Star && steps.slice(0, -1).every((s) => s.op === Op.Text);
    this.isPrefixStar = onlyTrailingStar;
    this.#text = prefix;
    this.#suffix = '';
    this.#re = undefined;
    const ops = steps.map((s) => s.op).join(',');
    if (slots > 0) this.#kind = Kind.Program;
    else if (steps.every((s) => s.op === Op.Text)) this.#kind = Kind.Exact;
    else if (onlyTrailingStar) this.#kind = prefix === '' ? Kind.Any : Kind.Prefix;
    else if (ops === `${Op.Star},${Op.Text}` || ops === `${Op.Text},${Op.Star},${Op.Text}`) {
      // `*.json`, `/*/x12`: a prefix and a suffix check, cheaper than a RegExp.
      this.#kind = Kind.Affix;
      this.#suffix = last!.s;
    } else {
      this.#kind = Kind.Regex;
      this.#re = toRegExp(steps, opts.ignoreCase);
    }
  }

  /** `s` is the request value; `req` supplies variable values. */
  test(s: string, req: AuthzRequest): boolean {
    switch (this.#kind) {
      case Kind.Any:
        return true;
      case Kind.Exact:
        return this.ignoreCase ? s.length === this.#text.length && regionEquals(s, 0, this.#text, true) : s === this.#text;
      case Kind.Prefix:
        return this.ignoreCase ? s.length >= this.#text.length && regionEquals(s, 0, this.#text, true) : s.startsWith(this.#text);
      case Kind.Affix: {
        const p = this.#text;
        const x = this.#suffix;
        if (s.length < p.length + x.length) return false;
        return this.ignoreCase
          ? regionEquals(s, 0, p, true) && regionEquals(s, s.length - x.length, x, true)
          : s.startsWith(p) && s.endsWith(x);
      }
      case Kind.Regex:
        return this.#re!.test(s);
      case Kind.Program:
        return this.#run(s, req);
    }
  }

  /**
   * The same pattern for strings that follow `head`, when the pattern's literal text starts with
   * all of `head`; else undefined. The evaluator matches `route/<route>` + path by testing only the
   * path, which saves building that string per request.
   */
  withoutPrefix(head: string): Pattern | undefined {
    const h = this.ignoreCase ? head.toLowerCase() : head;
    if (!this.literalPrefix.startsWith(h)) return undefined;
    const steps: Step[] = [];
    let left = h.length;
    for (const st of this.#steps) {
      if (left > 0 && st.op === Op.Text) {
        const cut = Math.min(left, st.s.length);
        left -= cut;
        if (cut < st.s.length) steps.push({ ...st, s: st.s.slice(cut) });
        continue;
      }
      steps.push(st);
    }
    return new Pattern([], this.source, { wildcards: true, ignoreCase: this.ignoreCase }, steps);
  }

  get hasVariables(): boolean {
    return this.#kind === Kind.Program;
  }

  // Glob matching with backtracking to the most recent `*` only, which is sufficient for `*`/`?`
  // patterns and keeps the worst case at O(len(s) * steps).
  #run(s: string, req: AuthzRequest): boolean {
    // Reject on the literal head before resolving any variable: most candidates fail right there.
    const head = this.literalPrefix;
    if (s.length < head.length || !regionEquals(s, 0, head, this.ignoreCase)) return false;
    const steps = this.#steps;
    const values = this.#values;
    for (const st of steps) {
      if (st.op !== Op.Var) continue;
      const v = variableValue(st.v!, req);
      // A variable with no value never matches, not even as the empty string.
      if (v === undefined) return false;
      values[st.slot] = v;
    }
    const ci = this.ignoreCase;
    let pi = 0;
    let si = 0;
    let starPi = -1;
    let starSi = 0;
    for (;;) {
      if (pi < steps.length) {
        const st = steps[pi]!;
        if (st.op === Op.Star) {
          starPi = pi++;
          starSi = si;
          continue;
        }
        if (st.op === Op.One) {
          if (si < s.length) {
            si += codePointWidth(s, si);
            pi++;
            continue;
          }
        } else {
          const t = st.op === Op.Text ? st.s : values[st.slot]!;
          if (s.length - si >= t.length && regionEquals(s, si, t, ci)) {
            si += t.length;
            pi++;
            continue;
          }
        }
      } else if (si === s.length) {
        return true;
      }
      if (starPi < 0 || starSi >= s.length) return false;
      starSi++;
      si = starSi;
      pi = starPi + 1;
    }
  }
}

function pushText(steps: Step[], s: string): void {
  const last = steps.at(-1);
  if (last?.op === Op.Text) steps[steps.length - 1] = { ...last, s: last.s + s };
  else if (s) steps.push({ op: Op.Text, s, v: undefined, slot: 0 });
}

function toRegExp(steps: readonly Step[], ignoreCase: boolean): RegExp {
  let src = '^';
  for (const st of steps) {
    if (st.op === Op.Star) src += '.*';
    else if (st.op === Op.One) src += '.';
    else src += st.s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }
  return new RegExp(src + '$', ignoreCase ? 'isu' : 'su');
}

function codePointWidth(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/** s[at..] starts with t; with ignoreCase, t may be in any case too (variable values are not pre-folded). */
export function regionEquals(s: string, at: number, t: string, ignoreCase: boolean): boolean {
  if (!ignoreCase) return s.startsWith(t, at);
  for (let i = 0; i < t.length; i++) {
    const a = s.charCodeAt(at + i);
    const b = t.charCodeAt(i);
    if (a === b) continue;
    if (a < 128 && b < 128) {
      // ASCII letters differ only in bit 0x20.
      if ((a | 0x20) !== (b | 0x20) || (a | 0x20) < 97 || (a | 0x20) > 122) return false;
      continue;
    }
    if (s[at + i]!.toLowerCase() !== t[i]!.toLowerCase()) return false;
  }
  return true;
}
