// One Statement of a policy document, compiled. Matching order (cheapest first) is the evaluator's
// business; a statement only knows how to test each part.
import { compileActions, type ActionMatcher } from './action.js';
import { compileCondition, type Clause } from './condition.js';
import type { IssueSink } from './errors.js';
import { compilePrincipal, type PrincipalMatcher } from './principal.js';
import { compileResources, type ResourceMatcher } from './resource.js';
import { isPlainObject } from './shape.js';
import { didYouMean } from './suggest.js';
import type { AuthzRequest, Effect } from './types.js';

export interface CompiledStatement {
  /** Position in the policy's Statement list (0-based). */
  readonly index: number;
  readonly sid: string | undefined;
  /** The Sid, else `#<index>`: how decisions and traces name the statement. */
  readonly label: string;
  readonly effect: Effect;
  readonly actions: ActionMatcher;
  readonly resources: ResourceMatcher;
  /** Undefined: any caller, anonymous included. */
  readonly principal: { readonly negated: boolean; readonly matcher: PrincipalMatcher } | undefined;
  readonly conditions: readonly Clause[];
  readonly explanation: string | undefined;
  readonly remediation: string | undefined;
}

const MEMBERS = [
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Principal',
  'NotPrincipal',
  'Condition',
  'explanation',
  'remediation',
];

/** `sink` is at the statement (`Statement[i]`, or `Statement` when it is a single object). */
export function compileStatement(raw: unknown, index: number, sink: IssueSink): CompiledStatement | undefined {
  if (!isPlainObject(raw)) {
    sink.report('a statement must be an object');
    return undefined;
  }
  const before = sink.count;
  for (const k of Object.keys(raw)) {
    if (!MEMBERS.includes(k)) sink.report(`unknown statement member ${JSON.stringify(k)}${didYouMean(k, MEMBERS)}`, k);
  }
  const sid = optionalString(raw, 'Sid', sink);
  if (sid !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(sid)) sink.report('a Sid may hold only letters, digits and _ . : -', 'Sid');
  const effect = raw.Effect;
  if (effect !== 'Allow' && effect !== 'Deny') {
    sink.report(`Effect must be "Allow" or "Deny", got ${JSON.stringify(effect)}`, 'Effect');
  }
  const actions = exactlyOne(raw, 'Action', 'NotAction', sink, (m) => compileActions(raw[m], m, sink));
  const resources = exactlyOne(raw, 'Resource', 'NotResource', sink, (m) => compileResources(raw[m], m, sink));
  let principal: CompiledStatement['principal'];
  if ('Principal' in raw && 'NotPrincipal' in raw) sink.report('use Principal or NotPrincipal, not both', 'NotPrincipal');
  else if ('Principal' in raw || 'NotPrincipal' in raw) {
    const m = 'Principal' in raw ? 'Principal' : 'NotPrincipal';
    const matcher = compilePrincipal(raw[m], sink.at(m));
    if (matcher) principal = { negated: m === 'NotPrincipal', matcher };
  }
  const conditions = 'Condition' in raw ? compileCondition(raw.Condition, sink.at('Condition')) : [];
  const explanation = optionalString(raw, 'explanation', sink);
  const remediation = optionalString(raw, 'remediation', sink);
  if (sink.count !== before || !actions || !resources) return undefined;
  return {
    index,
    sid,
    label: sid ?? `#${index}`,
    effect: effect as Effect,
    actions,
    resources,
    principal,
    conditions,
    explanation,
    remediation,
  };
}

function exactlyOne<M extends string, T>(raw: Record<string, unknown>, a: M, notA: M, sink: IssueSink, compile: (m: M) => T | undefined): T | undefined {
  const hasA = a in raw;
  const hasNot = notA in raw;
  if (hasA && hasNot) {
    sink.report(`use ${a} or ${notA}, not both`, notA);
    return undefined;
  }
  if (!hasA && !hasNot) {
    sink.report(`a statement needs ${a} or ${notA}`);
    return undefined;
  }
  return compile(hasA ? a : notA);
}

export function optionalString(raw: Record<string, unknown>, key: string, sink: IssueSink): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string' && v !== '') return v;
  sink.report('must be a non-empty string', key);
  return undefined;
}

/** The statement's principal test on its own (Principal / NotPrincipal applied). */
export function principalApplies(st: CompiledStatement, req: AuthzRequest): boolean {
  const p = st.principal;
  return p === undefined || p.matcher.matches(req.identity) !== p.negated;
}
