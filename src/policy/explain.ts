// explain(): the slow, exhaustive twin of evaluate(). It visits every statement of every attachment
// (no method index, no route pre-filter) and says why each one did or did not match, so
// `gatehouse explain` and the authz debug log can answer "why was I denied?". It reaches its
// decision from the trace alone, which lets the tests check the optimized path against it.
import type { Clause } from './condition.js';
import { ALLOWED_AUTHENTICATED, firstFailedClause, NO_MATCHING_ALLOW, type Entry } from './entry.js';
import { principalApplies } from './statement.js';
import type { AuthzRequest, Decision, PolicyIdentity, TraceEntry, TraceOutcome } from './types.js';

const MAX_VALUE_CHARS = 200;

export function explainRequest(
  entries: readonly Entry[],
  resource: string,
  allowAuthenticated: boolean,
  req: AuthzRequest,
): { decision: Decision; trace: TraceEntry[] } {
  const trace: TraceEntry[] = [];
  let deny: Decision | undefined;
  let allow: Decision | undefined;
  let failed: Decision | undefined;
  for (const e of entries) {
    const { outcome, detail, failedClause } = judge(e, resource, req);
    const st = e.stmt;
    trace.push({ policy: e.policy.name, statement: st.label, effect: st.effect, via: via(e, req.identity), outcome, detail });
    if (outcome === 'matched') {
      if (st.effect === 'Deny') deny ??= e.deny;
      else allow ??= e.allow;
    } else if (outcome === 'condition_failed' && st.effect === 'Allow') {
      failed ??= e.conditionFailed[failedClause];
    }
  }
  const decision =
    deny ?? allow ?? (allowAuthenticated && req.identity !== undefined ? ALLOWED_AUTHENTICATED : undefined) ?? failed ?? NO_MATCHING_ALLOW;
  return { decision, trace };
}

function judge(e: Entry, resource: string, req: AuthzRequest): { outcome: TraceOutcome; detail: string; failedClause: number } {
  const st = e.stmt;
  const out = (outcome: TraceOutcome, detail: string, failedClause = -1) => ({ outcome, detail, failedClause });
  if (e.gate.heldRole(req.identity) === undefined && e.gate.roles !== undefined) {
    const who = req.identity === undefined ? 'the caller is anonymous' : 'the caller holds none of them';
    return out('not_attached', `attached to role ${e.gate.roles.join(', ')}; ${who}`);
  }
  const action = `http:${req.method}`;
  if (!st.actions.matchesMethod(req.method)) {
    return out(
      'action_mismatch',
      st.actions.negated ? `${action} is excluded by NotAction ${list(st.actions.sources)}` : `${action} is not in Action ${list(st.actions.sources)}`,
    );
  }
  const r = st.resources;
  if (!r.matches(resource, req, e.ignoreCase)) {
    const how = e.ignoreCase ? ' (ignoring case)' : '';
    return out(
      'resource_mismatch',
      r.negated
        ? `${resource} is excluded by NotResource ${r.firstMatch(resource, req, e.ignoreCase)}${how}`
        : `${resource} does not match Resource ${list(r.entries.map((x) => x.source))}${how}`,
    );
  }
  if (!principalApplies(st, req)) {
    const p = st.principal!;
    return out('principal_mismatch', `caller ${describeCaller(req.identity)} ${p.negated ? 'is excluded by NotPrincipal' : 'does not match Principal'}`);
  }
  const f = firstFailedClause(st, req);
  if (f >= 0) return out('condition_failed', describeFailure(st.conditions[f]!, req), f);
  const held = st.conditions.length > 0 ? `; conditions held: ${st.conditions.map((c) => c.label).join(', ')}` : '';
  return out('matched', `${action} on ${resource} matched${held}`);
}

function via(e: Entry, id: PolicyIdentity | undefined): string {
  if (e.gate.roles === undefined) return 'route';
  return `role:${e.gate.heldRole(id) ?? e.gate.roles.join(',')}`;
}

function describeCaller(id: PolicyIdentity | undefined): string {
  if (id === undefined) return 'anonymous';
  const roles = id.roles.length > 0 ? `, roles ${id.roles.join(', ')}` : '';
  return `${JSON.stringify(id.subject)} (${id.kind}${id.issuer ? `, issuer ${id.issuer}` : ''}${roles})`;
}

function describeFailure(c: Clause, req: AuthzRequest): string {
  const raw = c.key.get(req);
  const absent = raw === undefined || (Array.isArray(raw) && raw.length === 0);
  let shown: string;
  if (absent) shown = 'absent';
  else if (c.key.secret) shown = '<redacted>';
  else shown = truncate(JSON.stringify(c.key.kind === 'time' && typeof raw === 'number' ? new Date(raw).toISOString() : raw) ?? String(raw));
  return `${c.label}: request value ${shown} does not satisfy ${list(c.values.map(String))}`;
}

const list = (xs: readonly string[]): string => (xs.length === 1 ? xs[0]! : `[${xs.join(', ')}]`);

const truncate = (s: string): string => (s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s);
