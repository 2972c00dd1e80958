// Policies are compiled once per loaded config (shared by every route's evaluator), and each
// route's evaluator is built from the same inputs by the filter, `gatehouse explain`,
// `gatehouse test-policies` and the admin API — so what they explain is what the gateway enforces.
import { buildEvaluator, compilePolicy, type Attachment, type CompiledPolicy, type Evaluator } from '../../policy/index.js';
import type { GatehouseConfig } from '../../config/schema.js';
import type { AuthzConfig } from './config.js';

type Authorization = NonNullable<GatehouseConfig['authorization']>;

const compiled = new WeakMap<Authorization, Map<string, CompiledPolicy>>();
const EMPTY: Authorization = {};

function policiesOf(auth: Authorization): Map<string, CompiledPolicy> {
  let m = compiled.get(auth);
  if (!m) {
    m = new Map();
    for (const [name, doc] of Object.entries(auth.policies ?? {})) m.set(name, compilePolicy(name, doc));
    compiled.set(auth, m);
  }
  return m;
}

/** The policy a route's `roles:` shorthand stands for, named so explain output can show it. */
function rolesShorthand(route: string, roles: readonly string[]): Attachment {
  const policy = compilePolicy(`route:${route}:roles`, {
    Statement: [{ Sid: 'RouteRoles', Effect: 'Allow', Action: 'http:*', Resource: `route/${route}/*`, Principal: { Role: [...roles] } }],
  });
  return { policy, roles: undefined };
}

export function routeEvaluator(config: GatehouseConfig, route: string, cfg: AuthzConfig): Evaluator {
  const auth = config.authorization ?? EMPTY;
  const policies = policiesOf(auth);
  const byPolicy = new Map<string, { policy: CompiledPolicy; roles: string[] | undefined }>();
  for (const name of cfg.policies ?? []) {
    const policy = policies.get(name);
    if (!policy) throw new Error(`routes "${route}": authz.policies names unknown policy "${name}"`);
    byPolicy.set(name, { policy, roles: undefined });
  }
  for (const [role, names] of Object.entries(auth.roles ?? {})) {
    for (const name of names) {
      const policy = policies.get(name);
      if (!policy) throw new Error(`authorization.roles.${role} names unknown policy "${name}"`);
      const a = byPolicy.get(name);
      if (!a) byPolicy.set(name, { policy, roles: [role] });
      else if (a.roles) a.roles.push(role); // a route attachment already applies to everyone
    }
  }
  const attachments: Attachment[] = [...byPolicy.values()];
  if (cfg.roles?.length) attachments.push(rolesShorthand(route, cfg.roles));
  return buildEvaluator({
    route,
    attachments,
    allowAuthenticated: cfg.allow === 'authenticated',
    caseInsensitiveDeny: auth.case_insensitive_deny !== false,
  });
}
