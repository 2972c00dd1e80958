// The jwt filter's counters, in one place (Envoy ALL_JWT_AUTHN_FILTER_STATS). Plain numbers until
// the observability issue wires a registry; names map to Prometheus as noted.
export interface JwtCounters {
  /** gatehouse_jwt_cache_hits_total */
  cacheHits: number;
  /** gatehouse_jwt_cache_misses_total */
  cacheMisses: number;
  /** gatehouse_jwt_signature_checks_total: full verifications attempted (a hot token never adds one) */
  signatureChecks: number;
  /** gatehouse_jwt_accepted_total */
  accepted: number;
  /** gatehouse_jwt_rejected_total{reason} */
  rejected: Record<string, number>;
  /** gatehouse_jwt_previous_credential_total: verified only by a rotated HMAC secret's previous value (secrets.overlap) */
  previousCredential: number;
}

export function createCounters(): JwtCounters {
  return { cacheHits: 0, cacheMisses: 0, signatureChecks: 0, accepted: 0, rejected: Object.create(null) as Record<string, number>, previousCredential: 0 };
}
