// Issue 4's benchmark: the `gatehouse-jwt` route (hot ES256 token) with 50 policies / 500
// statements attached, reported as a same-round ratio to `gatehouse-jwt` itself (whose authz
// filter only checks `allow: authenticated`), so the ratio is the cost of policy evaluation.
//
// The policy set is built so evaluation is real work, not a lookup that prunes everything:
// per policy, 7 statements name other routes (pruned when the route's evaluator is built, as
// they would be in a real multi-team config), 1 names this route for DELETE only (indexed out by
// method), and 2 are evaluated on every GET: a Deny on /admin/* (resource mismatch) and an Allow
// whose tenant-claim condition fails. So every request evaluates 100 statements and their
// resource patterns or conditions before one final policy allows it by scope.
import { gatehouseJwtTarget } from './auth-targets.mjs';

export const POLICY_COUNT = 50;
export const STATEMENTS_PER_POLICY = 10;

export function benchPolicies(route = 'bench') {
  const policies = {};
  for (let p = 0; p < POLICY_COUNT; p++) {
    const Statement = [];
    for (let s = 0; s < 7; s++) {
      Statement.push({ Sid: `Team${p}Svc${s}`, Effect: 'Allow', Action: ['http:GET', 'http:POST'], Resource: `route/svc-${p}-${s}/*` });
    }
    Statement.push({ Sid: `NoDelete${p}`, Effect: 'Deny', Action: 'http:DELETE', Resource: `route/${route}/*` });
    Statement.push({ Sid: `Admin${p}`, Effect: 'Deny', Action: 'http:*', Resource: `route/${route}/admin/*` });
    Statement.push({
      Sid: `Tenant${p}`,
      Effect: 'Allow',
      Action: 'http:GET',
      Resource: `route/${route}/tenants/*`,
      Condition: { StringEquals: { 'identity.claims.tenant': `tenant-${p}` } },
    });
    policies[`team-${p}`] = { Statement };
  }
  // The one that allows the benchmark's token (scope bench:read); it comes last on purpose.
  policies['team-49'].Statement[9] = {
    Sid: 'BenchRead',
    Effect: 'Allow',
    Action: 'http:GET',
    Resource: `route/${route}/*`,
    Condition: { 'ForAnyValue:StringEquals': { 'identity.scopes': 'bench:read' } },
  };
  return policies;
}

export function gatehouseAuthzTarget() {
  const policies = benchPolicies();
  const t = gatehouseJwtTarget({
    name: 'gatehouse-authz',
    label: `(g) Gatehouse + jwt + authz (${POLICY_COUNT} policies / ${POLICY_COUNT * STATEMENTS_PER_POLICY} statements)`,
    authz: { authz: { policies: Object.keys(policies) } },
    config: { authorization: { policies } },
  });
  return Object.assign(t, { baseline: 'gatehouse-jwt' });
}
