// The authentication gate. Authenticators (jwt, sigv4, api_key, mtls) run before it as "any of":
// each either finds no credential of its kind (continue), sets IDENTITY, or refuses. The gate then
// refuses a request nobody authenticated, offering every scheme's challenge, and sends the
// identity upstream in headers the client cannot forge (the header scan stripped their copies).
import { defineFilter, type Reply } from '../../pipeline/filter.js';
import { IDENTITY, PREVIOUS_CREDENTIAL, PREVIOUS_CREDENTIAL_CODE } from '../common/identity.js';
import { headerSafe } from '../common/credentials.js';
import { authnSchema, type AuthnConfig } from './config.js';

const DEFAULT_HEADERS = {
  subject: 'x-gatehouse-subject',
  issuer: 'x-gatehouse-issuer',
  roles: 'x-gatehouse-roles',
  scopes: 'x-gatehouse-scopes',
  method: 'x-gatehouse-auth-method',
  key_id: 'x-gatehouse-key-id',
};

export default defineFilter<AuthnConfig>({
  name: 'authn',
  order: 290,
  schema: authnSchema,
  reasons: ['authn.missing_credentials', PREVIOUS_CREDENTIAL_CODE],
  create(cfg) {
    const optional = cfg.optional === true;
    const hdr = cfg.identity_headers === false ? undefined : { ...DEFAULT_HEADERS, ...(cfg.identity_headers ?? {}) };
    const claimHeaders = hdr && cfg.identity_headers ? Object.entries(cfg.identity_headers.claims ?? {}) : [];
    return {
      onRequest: function authnGate(ctx): Reply | void {
        const id = ctx.get(IDENTITY);
        if (id === undefined) {
          if (optional) return;
          const challenges = ctx.route!.filters.map((f) => f.challenge).filter((c): c is string => c !== undefined);
          return {
            status: 401,
            code: 'authn.missing_credentials',
            message: 'this route requires authentication',
            headers: challenges.length ? { 'www-authenticate': challenges.join(', ') } : undefined,
          };
        }
        // An allow whose credential verified only against a rotated secret's previous value says so.
        const code = ctx.get(PREVIOUS_CREDENTIAL) === true ? PREVIOUS_CREDENTIAL_CODE : undefined;
        ctx.recordDecision({ filter: 'authn', allowed: true, code, authMethod: id.kind, subject: id.subject, enforced: true });
        if (hdr === undefined) return;
        ctx.addUpstreamHeader(hdr.subject, headerSafe(id.subject));
        if (id.issuer !== undefined) ctx.addUpstreamHeader(hdr.issuer, headerSafe(id.issuer));
        if (id.roles.length) ctx.addUpstreamHeader(hdr.roles, headerSafe(id.roles.join(',')));
        if (id.scopes.length) ctx.addUpstreamHeader(hdr.scopes, headerSafe(id.scopes.join(' ')));
        ctx.addUpstreamHeader(hdr.method, id.kind);
        if (id.keyId !== undefined) ctx.addUpstreamHeader(hdr.key_id, headerSafe(id.keyId));
        for (const [claim, header] of claimHeaders) {
          const v = id.claims[claim];
          if (v === undefined || v === null) continue;
          ctx.addUpstreamHeader(header, headerSafe(typeof v === 'string' ? v : JSON.stringify(v)));
        }
      },
    };
  },
});
