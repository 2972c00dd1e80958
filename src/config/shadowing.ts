// Warns about routes that can never match because an earlier route takes all their requests.
// The analysis belongs to the router (it knows the matching rules); this only reports it.
import * as routing from '../routing/router.js';
import type { Issue } from './yaml-tree.js';
import type { GatehouseConfig, RouteMatchConfig } from './schema.js';

type FindShadowedRoutes = (
  entries: { match: RouteMatchConfig | undefined; value: number }[],
) => Array<{ index: number; shadowedBy: number }>;

/** Looked up at call time: routing/router.ts gains findShadowedRoutes in parallel work. */
function finder(): FindShadowedRoutes | undefined {
  const fn = (routing as Record<string, unknown>).findShadowedRoutes;
  return typeof fn === 'function' ? (fn as FindShadowedRoutes) : undefined;
}

export const canFindShadowedRoutes = (): boolean => finder() !== undefined;

export function shadowWarnings(cfg: GatehouseConfig): Issue[] {
  const find = finder();
  if (!find) return [];
  const entries = cfg.routes.map((r, i) => ({ match: r.match, value: i }));
  return find(entries).map(({ index, shadowedBy }) => ({
    path: ['routes', index],
    message: `route "${cfg.routes[index]?.name}" is never matched: route "${cfg.routes[shadowedBy]?.name}" (routes[${shadowedBy}]) matches every request it would`,
  }));
}
