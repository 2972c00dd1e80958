// How request values and policy values are read by each operator family. Request values arrive in
// their natural type (string, number, boolean, array); policy values are strings, numbers or
// booleans from YAML/JSON.

const NUMERIC = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
// ISO 8601 as AWS accepts it: a date, optionally a time, optionally a zone.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** A number from a number or a numeric string; NaN otherwise (NaN never compares true). */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return NaN;
}

/**
 * Milliseconds since the epoch. `request.time` is already in ms; any other number (a JWT `exp`,
 * `iat`) and a numeric string are epoch seconds, as in AWS and JWT; other strings are ISO 8601.
 */
export function toDateMs(v: unknown, isMs: boolean): number {
  if (typeof v === 'number') return isMs ? v : v * 1000;
  if (typeof v !== 'string') return NaN;
  if (NUMERIC.test(v)) return Number(v) * 1000;
  if (!ISO_DATE.test(v)) return NaN;
  // A zone-less date-time is read as UTC, not as the gateway host's local time.
  const zoned = /(?:[Zz]|[+-]\d{2}:?\d{2})$/.test(v) || !/[Tt ]/.test(v) ? v : `${v}Z`;
  return Date.parse(zoned.replace(' ', 'T'));
}

/** true / false from a boolean or a case-insensitive "true" / "false"; undefined otherwise. */
export function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return undefined;
  const l = v.length;
  if (l === 4 && v.toLowerCase() === 'true') return true;
  if (l === 5 && v.toLowerCase() === 'false') return false;
  return undefined;
}

/** The string form of a scalar request value; undefined for objects. */
export function toText(v: unknown, isMs: boolean): string | undefined {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return isMs ? new Date(v).toISOString() : String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return undefined;
  }
}
