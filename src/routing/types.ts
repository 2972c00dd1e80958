// Contracts of the routing layer, shared by the config compiler and the server.
import type { RouteMatchConfig } from '../config/schema.js';

/** What a route match may look at. Everything here is already normalized. */
export interface MatchInput {
  /** Lower-cased, no port, no trailing dot. */
  host: string;
  method: string;
  /** The normalized path (see normalize-path.ts). */
  path: string;
  /** Raw query string without '?', '' when none. */
  query: string;
  /** Request header by lower-case name (repeated fields comma-joined), undefined when absent. */
  header(name: string): string | undefined;
}

export interface RouteEntry<R> {
  match: RouteMatchConfig | undefined;
  value: R;
}

export interface RouteHit<R> {
  value: R;
  /** Template parameters, undefined when the route has no template. */
  params: Record<string, string> | undefined;
}

export type NormalizeResult =
  | { ok: true; path: string; query: string }
  | { ok: false; code: 'request.bad_path' | 'request.uri_too_long'; message: string };
