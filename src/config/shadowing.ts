// Warns about routes that can never match because an earlier route takes all their requests.
// The analysis belongs to the router (it knows the matching rules); this only reports it.
import { findShadowedRoutes } from '../routing/router.js';
import type { Issue } from './yaml-tree.js';
import type { GatehouseConfig } from './schema.js';

/** The analysis compares every pair of routes; beyond this many it would delay every start. */
export const MAX_ROUTES_FOR_SHADOW_CHECK = 2000;

export function shadowWarnings(cfg: GatehouseConfig): Issue[] {
  if (cfg.routes.length > MAX_ROUTES_FOR_SHADOW_CHECK) {
    return [{ path: ['routes'], message: `not checked for shadowed routes: more than ${MAX_ROUTES_FOR_SHADOW_CHECK} routes` }];
  }
  const entries = cfg.routes.map((r, i) => ({ match: r.match, value: i }));
  return findShadowedRoutes(entries).map(({ index, shadowedBy }) => ({
    path: ['routes', index],
    message: `route "${cfg.routes[index]?.name}" is never matched: route "${cfg.routes[shadowedBy]?.name}" (routes[${shadowedBy}]) matches every request it would`,
  }));
}
