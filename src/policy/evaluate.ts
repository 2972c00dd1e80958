// buildEvaluator: once per route per config load, statements that can never match the route are
// dropped and the rest are indexed by HTTP method, so a request only visits statements whose
// Action already matched. Decision rules (AWS IAM): an applicable Deny that matches wins; else a
// matching Allow; else (allowAuthenticated) any identified caller; else an implicit deny, reported
// as condition_failed when an Allow failed only on its condition.
import { ALLOWED_AUTHENTICATED, buildEntries, firstFailedClause, NO_MATCHING_ALLOW, type Entry, type ResourceSource } from './entry.js';
import { explainRequest } from './explain.js';
import { principalApplies } from './statement.js';
import type { AuthzRequest, Decision, Evaluator, EvaluatorOptions, TraceEntry } from './types.js';

const COMMON_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'];

interface Bucket {
  readonly denies: readonly Entry[];
  readonly allows: readonly Entry[];
  /** Only the fallback bucket (methods not indexed) tests actions per request. */
  readonly checkAction: boolean;
}

class PolicyEvaluator implements Evaluator, ResourceSource {
  readonly #entries: readonly Entry[];
  readonly #byMethod: ReadonlyMap<string, Bucket>;
  readonly #fallback: Bucket;
  readonly #resourceHead: string;
  readonly #allowAuthenticated: boolean;
  #gen = 0;
  #resource = '';
  #resourceGen = -1;

  constructor(opts: EvaluatorOptions) {
    // Resources are built from the evaluator's route, the same one the pre-filter assumed.
    this.#resourceHead = `route/${opts.route}`;
    this.#allowAuthenticated = opts.allowAuthenticated ?? false;
    this.#entries = buildEntries(opts.attachments, opts.route, opts.caseInsensitiveDeny ?? true);
    const live = this.#entries.filter((e) => e.reachable);
    const methods = new Set(COMMON_METHODS);
    for (const e of live) for (const m of e.stmt.actions.literalMethods()) methods.add(m);
    const byMethod = new Map<string, Bucket>();
    for (const m of methods) byMethod.set(m, bucket(live.filter((e) => e.stmt.actions.matchesMethod(m)), false));
    this.#byMethod = byMethod;
    this.#fallback = bucket(live, true);
  }

  evaluate(req: AuthzRequest): Decision {
    const b = this.#byMethod.get(req.method) ?? this.#fallback;
    const gen = ++this.#gen;
    const id = req.identity;
    const denies = b.denies;
    for (let i = 0; i < denies.length; i++) {
      const e = denies[i]!;
      if (!e.gate.applies(id, gen)) continue;
      if (b.checkAction && !e.stmt.actions.matchesMethod(req.method)) continue;
      if (!principalApplies(e.stmt, req)) continue;
      if (!e.matchesResource(req, this)) continue;
      if (firstFailedClause(e.stmt, req) >= 0) continue;
      return e.deny;
    }
    let failed: Decision | undefined;
    const allows = b.allows;
    for (let i = 0; i < allows.length; i++) {
      const e = allows[i]!;
      if (!e.gate.applies(id, gen)) continue;
      if (b.checkAction && !e.stmt.actions.matchesMethod(req.method)) continue;
      if (!principalApplies(e.stmt, req)) continue;
      if (!e.matchesResource(req, this)) continue;
      const f = firstFailedClause(e.stmt, req);
      if (f < 0) return e.allow;
      failed ??= e.conditionFailed[f];
    }
    if (this.#allowAuthenticated && id !== undefined) return ALLOWED_AUTHENTICATED;
    return failed ?? NO_MATCHING_ALLOW;
  }

  // Most patterns are tested on the path alone; the few that are not (`route/*`, `*`-led) share
  // one resource string per request, remembered by the request counter.
  resource(req: AuthzRequest): string {
    if (this.#resourceGen !== this.#gen) {
      this.#resource = this.#resourceHead + req.path;
      this.#resourceGen = this.#gen;
    }
    return this.#resource;
  }

  explain(req: AuthzRequest): { decision: Decision; trace: TraceEntry[] } {
    return explainRequest(this.#entries, this.#resourceHead + req.path, this.#allowAuthenticated, req);
  }
}

function bucket(entries: readonly Entry[], checkAction: boolean): Bucket {
  return {
    denies: entries.filter((e) => e.stmt.effect === 'Deny'),
    allows: entries.filter((e) => e.stmt.effect === 'Allow'),
    checkAction,
  };
}

export function buildEvaluator(opts: EvaluatorOptions): Evaluator {
  return new PolicyEvaluator(opts);
}
