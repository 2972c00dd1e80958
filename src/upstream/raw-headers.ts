// Response header lists as the two upstream clients hand them over: undici's Pool gives Buffers,
// H1Pool (Node's own parser) gives strings. Both are flat [name, value, ...] lists.
export type RawHeaders = readonly (Buffer | string)[];

/** A raw header name or value as a latin1 string (header bytes round-trip through latin1). */
export function latin1(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}
