// The per-route view of one statement through one attachment, built once by buildEvaluator: the
// attachment's role gate, the resource case mode for this statement, and the frozen Decisions
// the statement can produce, so that a request allocates nothing to report them.
import type { CompiledPolicy } from './compile.js';
import type { Pattern } from './pattern.js';
import type { CompiledStatement } from './statement.js';
import type { Attachment, AuthzRequest, Decision, PolicyIdentity } from './types.js';

/** Supplies `route/<route><path>` for the current request, built at most once. */
export interface ResourceSource {
  resource(req: AuthzRequest): string;
}

/** Whether an attachment applies to the caller; remembers the answer for the current request. */
export class RoleGate {
  readonly roles: readonly string[] | undefined;
  readonly #roles: ReadonlySet<string> | undefined;
  // A request is identified by the evaluator's counter, so 500 statements of one role-attached
  // policy check the caller's roles once, without a per-request cache object.
  #gen = -1;
  #applies = false;

  constructor(roles: readonly string[] | undefined) {
    this.roles = roles;
    this.#roles = roles === undefined ? undefined : new Set(roles);
  }

  applies(id: PolicyIdentity | undefined, gen: number): boolean {
    if (this.#roles === undefined) return true;
    if (this.#gen === gen) return this.#applies;
    this.#gen = gen;
    return (this.#applies = this.heldRole(id) !== undefined);
  }

  /** The first of the caller's roles this attachment is for. */
  heldRole(id: PolicyIdentity | undefined): string | undefined {
    if (this.#roles === undefined || id === undefined) return undefined;
    for (const r of id.roles) if (this.#roles.has(r)) return r;
    return undefined;
  }
}

export class Entry {
  readonly policy: CompiledPolicy;
  readonly stmt: CompiledStatement;
  readonly gate: RoleGate;
  readonly ignoreCase: boolean;
  /** False when the resources can never match this route; such entries are left out of the index. */
  readonly reachable: boolean;
  // Per Resource entry: the pattern applied to the path alone when its literal text covers
  // `route/<route>` (the common case), else undefined and `#full` is tested on the whole resource.
  readonly #onPath: readonly (Pattern | undefined)[];
  readonly #full: readonly Pattern[];
  readonly allow: Decision;
  readonly deny: Decision;
  /** One per condition clause: the denial when that clause is the first to fail. */
  readonly conditionFailed: readonly Decision[];

  constructor(policy: CompiledPolicy, stmt: CompiledStatement, gate: RoleGate, route: string, caseInsensitiveDeny: boolean) {
    this.policy = policy;
    this.stmt = stmt;
    this.gate = gate;
    this.ignoreCase = stmt.resources.ignoresCase(stmt.effect, caseInsensitiveDeny);
    this.reachable = stmt.resources.canApplyToRoute(route, this.ignoreCase);
    this.#full = stmt.resources.entries.map((e) => (this.ignoreCase ? e.folded : e.exact));
    this.#onPath = this.#full.map((p) => p.withoutPrefix(`route/${route}`));
    const explanation = stmt.explanation ?? policy.explanation;
    const remediation = stmt.remediation ?? policy.remediation;
    const named = { policy: policy.name, statement: stmt.label };
    this.allow = decision({ allowed: true, reason: undefined, ...named, condition: undefined, explanation: undefined, remediation: undefined });
    this.deny = decision({
      allowed: false,
      reason: 'authz.explicit_deny',
      ...named,
      // A conditional Deny names its first condition: it held, and it is usually the "why".
      condition: stmt.conditions[0]?.label,
      explanation,
      remediation,
    });
    this.conditionFailed = Object.freeze(
      stmt.conditions.map((c) =>
        decision({ allowed: false, reason: 'authz.condition_failed', ...named, condition: c.label, explanation, remediation }),
      ),
    );
  }

  /** The evaluator's resource test; explain() uses ResourceMatcher.matches on the full string instead. */
  matchesResource(req: AuthzRequest, src: ResourceSource): boolean {
    const onPath = this.#onPath;
    for (let i = 0; i < onPath.length; i++) {
      const p = onPath[i];
      if (p !== undefined ? p.test(req.path, req) : this.#full[i]!.test(src.resource(req), req)) return !this.stmt.resources.negated;
    }
    return this.stmt.resources.negated;
  }
}

export function buildEntries(attachments: readonly Attachment[], route: string, caseInsensitiveDeny: boolean): Entry[] {
  const out: Entry[] = [];
  for (const a of attachments) {
    const gate = new RoleGate(a.roles);
    for (const st of a.policy.statements) out.push(new Entry(a.policy, st, gate, route, caseInsensitiveDeny));
  }
  return out;
}

export const decision = (d: Decision): Decision => Object.freeze(d);

export const NO_MATCHING_ALLOW = decision({
  allowed: false,
  reason: 'authz.no_matching_allow',
  policy: undefined,
  statement: undefined,
  condition: undefined,
  explanation: undefined,
  remediation: undefined,
});

export const ALLOWED_AUTHENTICATED = decision({
  allowed: true,
  reason: undefined,
  policy: undefined,
  statement: undefined,
  condition: undefined,
  explanation: undefined,
  remediation: undefined,
});

/** Index of the first clause that fails, or -1 when all hold. */
export function firstFailedClause(stmt: CompiledStatement, req: Parameters<CompiledStatement['conditions'][number]['test']>[0]): number {
  const cs = stmt.conditions;
  for (let i = 0; i < cs.length; i++) if (!cs[i]!.test(req)) return i;
  return -1;
}
