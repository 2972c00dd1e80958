// The policy engine's view of one request. Built lazily from the RequestContext: query parsing
// happens only when a statement reads request.query.*, so most requests pay for one small object.
import type { AuthzRequest, PolicyIdentity } from '../../policy/index.js';
import type { RequestContext } from '../../pipeline/context.js';
import { IDENTITY } from '../common/identity.js';

export class ContextRequest implements AuthzRequest {
  readonly method: string;
  readonly path: string;
  readonly route: string;
  readonly host: string;
  readonly ip: string;
  readonly scheme: 'http' | 'https';
  readonly time: number;
  readonly params: Readonly<Record<string, string>> | undefined;
  readonly identity: PolicyIdentity | undefined;
  readonly #ctx: RequestContext;
  #query: URLSearchParams | undefined;

  constructor(ctx: RequestContext, route: string, time: number) {
    this.#ctx = ctx;
    this.method = ctx.method;
    this.path = ctx.path;
    this.route = route;
    this.host = ctx.host;
    this.ip = ctx.clientIp;
    this.scheme = ctx.scheme;
    this.time = time;
    this.params = ctx.params;
    this.identity = ctx.get(IDENTITY);
  }

  header(lowerName: string): string | undefined {
    return this.#ctx.header(lowerName);
  }

  query(name: string): string | undefined {
    return (this.#query ??= new URLSearchParams(this.#ctx.query)).get(name) ?? undefined;
  }
}
