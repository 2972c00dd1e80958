// The sigv4 filter's counters, in one place. Plain numbers until the observability issue wires a
// registry; names map to Prometheus as noted. Labels never carry key ids or signatures.
export interface Sigv4Counters {
  /** gatehouse_sigv4_accepted_total */
  accepted: number;
  /** gatehouse_sigv4_rejected_total{reason} */
  rejected: Record<string, number>;
  /** gatehouse_sigv4_signature_checks_total: HMAC verifications run (cheap refusals never add one) */
  signatureChecks: number;
  /** gatehouse_sigv4_bodies_buffered_total */
  bodiesBuffered: number;
  /** gatehouse_sigv4_buffered_bytes_total */
  bytesBuffered: number;
  /** gatehouse_sigv4_previous_credential_total: admitted with a rotated secret's previous value (secrets.overlap) */
  previousCredential: number;
}

export function createCounters(): Sigv4Counters {
  return { accepted: 0, rejected: Object.create(null) as Record<string, number>, signatureChecks: 0, bodiesBuffered: 0, bytesBuffered: 0, previousCredential: 0 };
}
