// The authz filter: evaluates the route's compiled policies against the caller's identity and the
// normalized request, answers 403 with a stable reason code (plus the operator's explanation and
// remediation when the deciding statement has them), and records which policy and statement
// decided for the access log. Runs after authentication (order 300), before limits.
import { defineFilter, type Filter, type FilterScope, type Reply } from '../../pipeline/filter.js';
import type { RequestContext } from '../../pipeline/context.js';
import { POLICY_REASONS, type AuthzRequest, type Decision, type TraceEntry } from '../../policy/index.js';
import { authzSchema, type AuthzConfig } from './config.js';
import { routeEvaluator } from './catalog.js';
import { ContextRequest } from './request.js';

const DEFAULT_DETAIL: Record<string, string> = {
  'authz.explicit_deny': 'access to this resource is denied by policy',
  'authz.no_matching_allow': 'no policy allows this request',
  'authz.condition_failed': 'a condition of the policy that would allow this request is not met',
};

export interface AuthzFilter extends Filter {
  /** The same evaluation as a request gets, with the statement-by-statement trace (admin /explain). */
  explain(req: AuthzRequest): { decision: Decision; trace: TraceEntry[] };
  readonly stats: { allowed: number; denied: number; shadowDenied: number };
}

export function denyReply(d: Decision): Reply {
  return {
    status: 403,
    code: d.reason ?? 'authz.no_matching_allow',
    message: d.explanation ?? DEFAULT_DETAIL[d.reason ?? 'authz.no_matching_allow'],
    extensions: d.remediation === undefined ? undefined : { remediation: d.remediation },
  };
}

export default defineFilter<AuthzConfig>({
  name: 'authz',
  order: 300,
  schema: authzSchema,
  reasons: POLICY_REASONS,
  create(cfg, deps, scope?: FilterScope): AuthzFilter {
    if (!scope) throw new Error('the authz filter needs its route scope');
    const evaluator = routeEvaluator(scope.config, scope.route, cfg);
    const shadow = cfg.mode === 'shadow';
    const clock = deps.clock;
    const route = scope.route;
    const stats = { allowed: 0, denied: 0, shadowDenied: 0 };
    return {
      shadow,
      stats,
      explain: (req) => evaluator.explain(req),
      onRequest: function authz(ctx: RequestContext): Reply | void {
        const d = evaluator.evaluate(new ContextRequest(ctx, route, clock.now()));
        ctx.recordDecision({
          filter: 'authz',
          allowed: d.allowed,
          code: d.reason,
          policy: d.policy,
          statement: d.statement,
          condition: d.condition,
          enforced: true,
        });
        if (d.allowed) {
          stats.allowed++;
          return;
        }
        if (shadow) stats.shadowDenied++;
        else stats.denied++;
        return denyReply(d);
      },
    };
  },
});
