// The filter contract (see DESIGN.md): a factory runs once per route at config compile time and
// returns a filter shared by every request on that route. Per request a filter either continues
// (returns nothing) or ends the request with a Reply.
import type { TSchema } from '@sinclair/typebox';
import type { RequestContext } from './context.js';
import type { Logger } from 'pino';
import type { JwksRegistry } from '../filters/jwt/jwks-cache.js';
import type { ReplayCache } from '../store/replay.js';
import type { LimitStore } from '../store/limits.js';
import type { GatehouseConfig } from '../config/schema.js';
import type { PreviousSecrets } from '../secrets/history.js';

export type MaybePromise<T> = T | Promise<T>;
export type ReasonCode = `${string}.${string}`;

/** Ends a request. Rendered only by pipeline/reply.ts as RFC 9457 problem details. */
export interface Reply {
  status: number;
  code: ReasonCode;
  /** Human-readable detail; generic, never secret material. */
  message?: string;
  headers?: Readonly<Record<string, string>>;
  /** Close the client connection after the reply (framing errors, smuggling attempts). */
  close?: boolean;
  /** Send no body (a successful local answer such as a CORS preflight's 204). */
  empty?: boolean;
  /** A successful local answer with a body of its own (the quota usage endpoint's JSON) instead of a problem. */
  body?: { readonly contentType: string; readonly text: string };
  /** RFC 9457 extension members, e.g. an operator-written `remediation`; never policy internals. */
  extensions?: Readonly<Record<string, string>>;
}

/** The response head a filter may inspect or amend before it is sent downstream. */
export interface ResponseHead {
  status: number;
  /** Flat [name, value, name, value, ...] list; names as the upstream sent them. */
  headers: string[];
}

export interface Filter {
  /** The factory's name; set by the compiler. Names the filter in decision records and logs. */
  name?: string;
  /**
   * Shadow mode, applied by the chain: a Reply this filter returns is recorded as a decision that
   * would have been enforced, and the request continues. Lets teams roll out a policy safely.
   */
  readonly shadow?: boolean;
  /** This filter answers CORS preflights itself, so routing matches them by the requested method. */
  readonly handlesPreflight?: boolean;
  /** An authenticator's WWW-Authenticate challenge, offered when no credential was presented. */
  readonly challenge?: string;
  onRequest?(ctx: RequestContext): MaybePromise<Reply | void>;
  onResponse?(ctx: RequestContext, res: ResponseHead): MaybePromise<void>;
  close?(): MaybePromise<void>;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface FilterDeps {
  clock: Clock;
  log: Logger;
  /** Directory relative file paths in filter config resolve against (the config file's); default cwd. */
  baseDir?: string;
  /** Process-wide JWKS / discovery documents, shared across routes and reloads (jwt filter). */
  jwks?: JwksRegistry;
  /** Process-wide replay cache (outlives config reloads); a filter makes its own when absent. */
  replay?: ReplayCache;
  /** Process-wide counters of rate limits and quotas (memory or Redis; outlives reloads). */
  limits?: LimitStore;
  /**
   * Previous values of a rotated secret, by its current value (secrets.overlap). Inbound verifiers
   * try them only after the current value failed, and only while `until` is ahead of the clock.
   */
  previousSecrets?: PreviousSecrets;
}

/** Where a filter instance lives: its route, and the whole config for cross-route sections. */
export interface FilterScope {
  readonly route: string;
  readonly config: GatehouseConfig;
}

export interface FilterFactory<C = unknown> {
  /** The key used in config (`cors`, `jwt`, `rate_limit`) and in metric labels. */
  readonly name: string;
  /** Position in every chain; lower runs first (cors 100, authn 200, authz 300, limits 400...). */
  readonly order: number;
  /** The config schema; its descriptions are the user documentation. */
  readonly schema: TSchema;
  readonly body?: 'none' | 'buffered' | 'streamed';
  /** An authenticator (jwt, sigv4, api_key, mtls): routes using one get the `authn` gate too. */
  readonly authenticator?: boolean;
  /** Every reason code this filter may emit; a test checks each is registered. */
  readonly reasons: readonly ReasonCode[];
  create(config: C, deps: FilterDeps, scope?: FilterScope): Filter;
}

/** Identity function for type inference, as Hono's createMiddleware. */
export const defineFilter = <C>(f: FilterFactory<C>): FilterFactory<C> => f;
