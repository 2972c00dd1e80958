// Action / NotAction: `http:<METHOD>` with `*` and `?`, compared case-insensitively as AWS does.
// The evaluator resolves these per HTTP method once, at build time; requests with an unusual
// method fall back to matchesMethod().
import type { IssueSink } from './errors.js';
import { Pattern } from './pattern.js';
import { stringList } from './shape.js';

export class ActionMatcher {
  readonly negated: boolean;
  readonly sources: readonly string[];
  readonly #methods: readonly Pattern[];

  constructor(negated: boolean, sources: readonly string[], methods: readonly Pattern[]) {
    this.negated = negated;
    this.sources = sources;
    this.#methods = methods;
  }

  /** Whether the statement applies to requests with this method (NotAction already applied). */
  matchesMethod(method: string): boolean {
    let hit = false;
    // Action patterns have no variables, so no request is needed to test them.
    for (const p of this.#methods) if (p.test(method, undefined as never)) hit = true;
    return hit !== this.negated;
  }

  /** Literal method names the statement mentions (for the evaluator's method index). */
  literalMethods(): string[] {
    return this.#methods.filter((p) => !/[*?]/.test(p.source)).map((p) => p.source.toUpperCase());
  }
}

/** Compiles Action or NotAction (`member` names which); `sink` is at the statement. */
export function compileActions(raw: unknown, member: 'Action' | 'NotAction', sink: IssueSink): ActionMatcher | undefined {
  const list = stringList(raw, sink.at(member));
  if (list === undefined) return undefined;
  const before = sink.count;
  const methods: Pattern[] = [];
  for (const { value, at } of list) {
    if (value === '*') {
      methods.push(new Pattern([{ t: 'text', s: '*' }], '*', { wildcards: true, ignoreCase: true }));
      continue;
    }
    const colon = value.indexOf(':');
    const service = colon < 0 ? '' : value.slice(0, colon);
    const method = value.slice(colon + 1);
    if (service.toLowerCase() !== 'http') {
      sink.report(`action ${JSON.stringify(value)} must be "*" or "http:<METHOD>" (the only service is "http")`, member, ...at);
    } else if (!/^[A-Za-z0-9*?!#$%&'+.^_`|~-]+$/.test(method)) {
      sink.report(`action ${JSON.stringify(value)} has an invalid method pattern`, member, ...at);
    } else {
      methods.push(new Pattern([{ t: 'text', s: method }], method, { wildcards: true, ignoreCase: true }));
    }
  }
  return sink.count === before ? new ActionMatcher(member === 'NotAction', list.map((l) => l.value), methods) : undefined;
}
