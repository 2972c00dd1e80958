// The single list of built-in filters. Adding a filter = its folder + one line here.
import { Type as T, type TSchema } from '@sinclair/typebox';
import type { FilterFactory } from '../pipeline/filter.js';
import cors from './cors/index.js';
import authn from './authn/index.js';
import jwt from './jwt/index.js';
import apiKey from './api-key/index.js';
import mtls from './mtls/index.js';
import sigv4 from './sigv4/index.js';
import authz from './authz/index.js';
import rateLimit from './rate-limit/index.js';
import quota from './quota/index.js';

export const FILTERS: readonly FilterFactory<any>[] = [
  cors,
  authn,
  jwt,
  apiKey,
  mtls,
  sigv4,
  authz,
  rateLimit,
  quota,
];

/** The schema of a route's `filters` block: one optional key per registered filter. */
export function filtersSchema(): TSchema {
  const props: Record<string, TSchema> = {};
  for (const f of FILTERS) props[f.name] = T.Optional(f.schema);
  return T.Object(props, { additionalProperties: false, description: 'Filters applied to this route, run in a fixed order (cors first)' });
}

export function findFilter(name: string): FilterFactory<any> | undefined {
  return FILTERS.find((f) => f.name === name);
}

/** The authenticator filters a route's `filters` block configures (jwt, sigv4, api_key, mtls). */
export function routeAuthenticators(filters: Record<string, unknown> | undefined): string[] {
  if (!filters) return [];
  return FILTERS.filter((f) => f.authenticator && filters[f.name] !== undefined).map((f) => f.name);
}
