// Resource / NotResource: `route/<route-name><normalized-path>` patterns with wildcards and policy
// variables.
//
// Case. Paths are matched case-sensitively, except where a case-insensitive upstream could turn
// a difference in case into a bypass. With the evaluator option `caseInsensitiveDeny` (default
// true), a Deny's Resource is matched ignoring case, so `/ADMIN/x` cannot slip past
// `Deny route/*/admin/*` to an upstream that treats `/ADMIN` as `/admin`; an Allow's Resource stays
// case-sensitive, so an Allow is never broadened. NotResource lists exceptions, so the rule
// flips to keep the same direction of safety: a Deny's NotResource is case-sensitive (the exception
// from the deny stays narrow) and an Allow's NotResource ignores case (the exception from the
// allow is wide).
import type { IssueSink } from './errors.js';
import { Pattern } from './pattern.js';
import { stringList } from './shape.js';
import { parseTemplate } from './template.js';
import type { AuthzRequest, Effect } from './types.js';

interface ResourceEntry {
  readonly source: string;
  readonly exact: Pattern;
  readonly folded: Pattern;
}

export class ResourceMatcher {
  readonly negated: boolean;
  readonly entries: readonly ResourceEntry[];

  constructor(negated: boolean, entries: readonly ResourceEntry[]) {
    this.negated = negated;
    this.entries = entries;
  }

  /** Whether the pattern list should ignore case for this statement (see the note at the top). */
  ignoresCase(effect: Effect, caseInsensitiveDeny: boolean): boolean {
    return caseInsensitiveDeny && (effect === 'Deny') !== this.negated;
  }

  /** Whether the statement applies to `resource` (NotResource already applied). */
  matches(resource: string, req: AuthzRequest, ignoreCase: boolean): boolean {
    const es = this.entries;
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      if ((ignoreCase ? e.folded : e.exact).test(resource, req)) return !this.negated;
    }
    return this.negated;
  }

  /** The first entry that matches, for explain. */
  firstMatch(resource: string, req: AuthzRequest, ignoreCase: boolean): string | undefined {
    return this.entries.find((e) => (ignoreCase ? e.folded : e.exact).test(resource, req))?.source;
  }

  /**
   * False only when the statement can never apply to any request on `route` (its resources are
   * all `route/<route>/...`). Conservative: anything after the first wildcard or variable counts
   * as "could match".
   */
  canApplyToRoute(route: string, ignoreCase: boolean): boolean {
    const head = `route/${route}/`;
    const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
    const h = fold(head);
    if (!this.negated) {
      return this.entries.some((e) => {
        const p = fold(e.exact.literalPrefix);
        return h.startsWith(p) || p.startsWith(h);
      });
    }
    // NotResource never applies when one entry covers the whole route: `<prefix of head>*`.
    return !this.entries.some((e) => e.exact.isPrefixStar && !e.exact.hasVariables && h.startsWith(fold(e.exact.literalPrefix)));
  }
}

/** Compiles Resource or NotResource (`member` names which); `sink` is at the statement. */
export function compileResources(raw: unknown, member: 'Resource' | 'NotResource', sink: IssueSink): ResourceMatcher | undefined {
  const list = stringList(raw, sink.at(member));
  if (list === undefined) return undefined;
  const before = sink.count;
  const entries: ResourceEntry[] = [];
  for (const { value, at } of list) {
    if (value !== '*' && !value.startsWith('route/')) {
      sink.report(`resource ${JSON.stringify(value)} must be "*" or "route/<route-name><path>"`, member, ...at);
      continue;
    }
    const tokens = parseTemplate(value);
    if (typeof tokens === 'string') {
      sink.report(tokens, member, ...at);
      continue;
    }
    entries.push({
      source: value,
      exact: new Pattern(tokens, value, { wildcards: true, ignoreCase: false }),
      folded: new Pattern(tokens, value, { wildcards: true, ignoreCase: true }),
    });
  }
  return sink.count === before ? new ResourceMatcher(member === 'NotResource', entries) : undefined;
}
