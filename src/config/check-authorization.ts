// Checks the authorization section and the routes' authz blocks: every policy compiles (errors
// name the statement index and key), and every policy name a role or route uses exists.
import { compilePolicyIssues } from '../policy/index.js';
import type { Segment } from './key-path.js';
import type { Issue } from './yaml-tree.js';
import type { GatehouseConfig } from './schema.js';
import { routeAuthenticators } from '../filters/registry.js';

interface Out {
  errors: Issue[];
  warnings: Issue[];
}

export function checkAuthorization(cfg: GatehouseConfig, out: Out): void {
  const auth = cfg.authorization;
  const defined = new Set(Object.keys(auth?.policies ?? {}));
  const used = new Set<string>();
  for (const [name, doc] of Object.entries(auth?.policies ?? {})) {
    for (const p of compilePolicyIssues(name, doc)) {
      // "unknown operator/key/member" problems are about the key itself: point the column there.
      const atKey = p.message.startsWith('unknown') && typeof p.path[p.path.length - 1] === 'string';
      out.errors.push({ path: ['authorization', 'policies', name, ...(p.path as Segment[])], message: p.message, ...(atKey ? { at: 'key' as const } : {}) });
    }
  }
  const unknown = (name: string) =>
    `unknown policy "${name}" ${defined.size ? `(defined policies: ${[...defined].join(', ')})` : '(authorization.policies defines none)'}`;
  for (const [role, names] of Object.entries(auth?.roles ?? {})) {
    names.forEach((n, j) => {
      used.add(n);
      if (!defined.has(n)) out.errors.push({ path: ['authorization', 'roles', role, j], message: unknown(n) });
    });
  }
  const anyRoles = Object.keys(auth?.roles ?? {}).length > 0;
  cfg.routes.forEach((r, i) => {
    const authz = r.filters?.authz as { policies?: string[]; roles?: string[]; allow?: string } | undefined;
    // Deny-by-default is the safe choice, but a route that can never admit anyone is a mistake.
    if (!anyRoles && routeAuthenticators(r.filters).length > 0 && !authz?.policies?.length && !authz?.roles?.length && authz?.allow === undefined) {
      out.warnings.push({
        path: ['routes', i, 'name'],
        message: `route "${r.name}" authenticates callers but no policy can allow them: every request gets 403 (add filters.authz with allow: authenticated, roles or policies)`,
      });
    }
    authz?.policies?.forEach((n, j) => {
      used.add(n);
      if (!defined.has(n)) out.errors.push({ path: ['routes', i, 'filters', 'authz', 'policies', j], message: unknown(n) });
    });
  });
  for (const name of defined) {
    if (!used.has(name)) {
      out.warnings.push({ path: ['authorization', 'policies', name], at: 'key', message: `policy "${name}" is attached to no role and no route` });
    }
  }
}
